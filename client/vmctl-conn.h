/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One request to the daemon, and what a reply says: connect to the control
 * socket, send a versioned request, and read a reply's exit status and its
 * string fields.  Both the core's exchange (vmctl.c) and the cancel request
 * sent after Ctrl-C (vmctl-wait.c) use it; it uses neither, which keeps
 * the dependencies between vmctl's files one-way.
 */
#ifndef VMT_VMCTL_CONN_H
#define VMT_VMCTL_CONN_H

#include <json-c/json.h>
#include <stdint.h>

/*
 * Connect and send one request (takes ownership of args); returns the
 * connected fd or a negative errno (-EILSEQ: arguments not UTF-8).
 */
int vmctl_send(const char *socket_path, const char *command, struct json_object *args);

/* The exit status a reply stands for (EXIT_* of proto.h). */
int vmctl_reply_status(struct json_object *reply);

/* The string value of o's key; NULL when there is none or it is JSON null. */
const char *vmctl_jstr(struct json_object *o, const char *key);
/* The integer value of o's key; -1 when there is none. */
int64_t vmctl_jint(struct json_object *o, const char *key);
/* o's member key, or NULL (o may be NULL too). */
struct json_object *vmctl_jget(struct json_object *o, const char *key);

#endif
