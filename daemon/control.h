/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket.  control.c is the only code that touches it: it
 * takes the listening socket (from systemd or bound by itself), accepts,
 * reads the peer's credentials from the kernel once per connection, frames
 * and decodes messages, enforces limits, and dispatches each request through
 * a command table.  Handlers never see a file descriptor; they answer with
 * control_reply(), at once or later from the event loop.
 */
#ifndef VMT_CONTROL_H
#define VMT_CONTROL_H

#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "proto.h"

struct json_object;
struct control;
struct control_request;

/* Who is asking, as the kernel says (SO_PEERCRED), read at accept time. */
struct peer {
        uid_t uid;
        gid_t gid;
        pid_t pid;
        char user[64];
        char group[64];
};

struct control_command {
        const char *name;
        void (*handler)(struct control_request *req, void *userdata);
};

struct control_limits {
        size_t max_message;        /* bytes per request line */
        uint64_t idle_timeout_usec;
        unsigned max_connections;
};

/*
 * tables: NULL-terminated list of command tables, each ended by an entry
 * with a NULL name (one table per area: core, operations, ...).
 */
int control_new(sd_event *event, const char *path, const struct control_limits *limits,
                const struct control_command *const *tables, void *userdata, struct control **out);
/* Stop accepting new connections; requests in flight still get their replies. */
void control_stop(struct control *c);
void control_free(struct control *c);
unsigned control_connection_count(const struct control *c);

const struct peer *control_request_peer(const struct control_request *req);
struct json_object *control_request_args(const struct control_request *req);

/*
 * Send an interim message for a request still in flight (a progress event):
 * {"version":1,"id":N,"type":"progress", ...members of event...}.  Loop
 * thread only; dropped silently when the client has gone.
 */
void control_progress(struct control_request *req, struct json_object *event);

/* Answer a request and release it.  Loop thread only.  record may be NULL. */
void control_reply(struct control_request *req, enum proto_error e, const char *message,
                   struct json_object *record);

#endif
