/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket.  control.c is the only code that touches it: it
 * takes the listening socket (from systemd or bound by itself), accepts,
 * reads the peer's credentials from the kernel once per connection, frames
 * and decodes messages, enforces limits, and dispatches each request through
 * the command table it is given (commands.h), after the one authorizer has
 * let it pass.  Handlers never see a file descriptor; they answer with
 * control_reply(), at once or later from the event loop.
 */
#ifndef VMT_CONTROL_H
#define VMT_CONTROL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "proto.h"

struct command;
struct json_object;
struct control;
struct control_request;

#define PEER_MAX_GROUPS 64
/* /proc/PID/loginuid and sessionid hold this when the process has none (daemons, early boot). */
#define PEER_UNSET ((uint32_t) 4294967295U)

/*
 * Who is asking, read at accept time and never from the request: uid, gid
 * and pid from the kernel (SO_PEERCRED); names and supplementary groups
 * from the system databases; and the audit login uid and session id from
 * /proc, which survive sudo and su, so they still name the human behind a
 * service account.
 */
struct peer {
        uid_t uid;
        gid_t gid;
        pid_t pid;
        char user[64];
        char group[64];
        uint32_t loginuid;         /* PEER_UNSET if none */
        uint32_t sessionid;        /* PEER_UNSET if none */
        gid_t groups[PEER_MAX_GROUPS]; /* the uid's groups (getgrouplist), the primary gid first */
        int n_groups;
};

/* The login uid and session id as the trail stores them: -1 (NULL) when unset. */
static inline int64_t peer_login_uid(const struct peer *p) {
        return p->loginuid == PEER_UNSET ? -1 : (int64_t) p->loginuid;
}

static inline int64_t peer_session_id(const struct peer *p) {
        return p->sessionid == PEER_UNSET ? -1 : (int64_t) p->sessionid;
}

struct control_limits {
        size_t max_message;        /* bytes per request line */
        uint64_t idle_timeout_usec;
        unsigned max_connections;
        unsigned max_connections_per_uid;
        unsigned max_operations;   /* requests in flight, all connections together */
};

/*
 * table: the commands, ended by an entry with a NULL name (the daemon's is
 * commands[]; control.c reads only their names and handlers).  userdata
 * goes to the handlers and the authorizer.
 */
int control_new(sd_event *event, const char *path, const struct control_limits *limits,
                const struct command *table, void *userdata, struct control **out);
/*
 * Called before every request is dispatched, whatever its command, so that
 * no command can forget the check; control_request_command() tells which.
 * Returns true to go on; false after it has answered req itself (a
 * refusal).  Without an authorizer every request is refused.
 */
typedef bool (*control_authorize_fn)(struct control_request *req, void *userdata);
void control_set_authorizer(struct control *c, control_authorize_fn fn);
/* New limits (after a reload) apply to new connections and requests. */
void control_set_limits(struct control *c, const struct control_limits *limits);
/* Mode and group of a socket we bound ourselves (gid -1: keep); nothing under socket activation. */
int control_socket_access(struct control *c, mode_t mode, gid_t gid);
/* Requests in flight right now. */
unsigned control_operations_in_flight(const struct control *c);

/* Stop accepting new connections; requests in flight still get their replies. */
void control_stop(struct control *c);
void control_free(struct control *c);
unsigned control_connection_count(const struct control *c);

const struct peer *control_request_peer(const struct control_request *req);
/*
 * The line of the command table the request was dispatched by; never NULL.
 * The line belongs to the table, not to req, so it may be kept after req
 * is answered.
 */
const struct command *control_request_command(const struct control_request *req);
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
