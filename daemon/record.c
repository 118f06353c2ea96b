/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The trail record builder; see record.h. */
#include <unistd.h>

#include "backend.h"
#include "config.h"
#include "control.h"
#include "record.h"
#include "util.h"

struct audit_record record_by_peer(const struct peer *peer, const char *operation) {
        return (struct audit_record) {
                .start_ms = now_ms(),
                .operation = operation,
                .uid = peer->uid,
                .gid = peer->gid,
                .pid = peer->pid,
                .user = peer->user,
                .login_uid = peer_login_uid(peer),
                .session_id = peer_session_id(peer),
        };
}

void record_daemon_peer(struct peer *self) {
        /* The daemon's own act: no login session, so both are stored as NULL. */
        *self = (struct peer) {
                .uid = geteuid(), .gid = getegid(), .pid = getpid(), .loginuid = PEER_UNSET, .sessionid = PEER_UNSET,
        };
        uid_to_name(self->uid, self->user, sizeof self->user);
}

void record_set_endpoint(struct audit_record *r, const struct endpoint_config *ep) {
        r->endpoint = ep ? ep->name : NULL;
        r->endpoint_url = ep ? ep->url : NULL;
}

void record_set_target(struct audit_record *r, const struct vm_target *t, const char *fallback_name) {
        r->host = t->host;
        r->vm_name = t->name ? t->name : fallback_name;
        r->vm_id = t->id;
        r->vm_uuid = t->uuid;
}

void record_set_platform_user(struct audit_record *r, const char *platform_user) {
        r->platform_user = platform_user;
}

void record_set_out_of_band(struct audit_record *r, int64_t seen_from_ms, int64_t seen_to_ms) {
        r->source = AUDIT_SOURCE_OUT_OF_BAND;
        r->seen_from_ms = seen_from_ms;
        r->seen_to_ms = seen_to_ms;
        /* Nobody asked vmtraced: a 0 left by an initialiser would read as root. */
        r->uid = (uid_t) -1;
        r->gid = (gid_t) -1;
        r->pid = 0;
        r->user = NULL;
        r->login_uid = -1;
        r->session_id = -1;
}

void record_set_result(struct audit_record *r, const char *result, const char *fault, const char *message) {
        if (!r->end_ms)
                r->end_ms = now_ms();
        r->result = result;
        r->fault = fault;
        r->message = message;
}

struct audit_record record_settled_by_peer(const struct peer *peer, const char *operation, const char *result,
                                           const char *fault, const char *message) {
        struct audit_record r = record_by_peer(peer, operation);

        r.end_ms = r.start_ms;
        record_set_result(&r, result, fault, message);
        return r;
}

struct audit_record record_completion_of(const struct audit_record *pending) {
        return (struct audit_record) {
                .id = pending->id,
                .operation = pending->operation,
                /* not rewritten by audit_finish(); kept for the log */
                .login_uid = pending->login_uid,
                .session_id = pending->session_id,
                .platform_user = pending->platform_user,
                .source = pending->source,
                .seen_from_ms = pending->seen_from_ms,
                .seen_to_ms = pending->seen_to_ms,
                .task = pending->task,
        };
}
