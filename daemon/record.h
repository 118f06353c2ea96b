/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one builder of trail records.  Every row the daemon writes, an
 * operation's, a refusal's, a session's Login/Logout and a recovered one,
 * starts here, so who, when and where are filled the same way everywhere;
 * audit.c only stores what it is given.  Strings stay borrowed, as in
 * struct audit_record.
 */
#ifndef VMT_RECORD_H
#define VMT_RECORD_H

#include "audit.h"

struct endpoint_config;
struct peer;
struct vm_target;

/* A row begun now, by the operator peer (uid, pid, names, login uid and session from the kernel). */
struct audit_record record_by_peer(const struct peer *peer, const char *operation);

/*
 * The daemon itself as the one who acts (Login, Logout rows), for
 * record_by_peer(): its own uid, gid, pid and user, and no login session.
 */
void record_daemon_peer(struct peer *self);

/* Where: the endpoint's name and URL (ep may be NULL: nothing). */
void record_set_endpoint(struct audit_record *r, const struct endpoint_config *ep);

/* Which target: host, name (fallback when the platform gave none), id, uuid. */
void record_set_target(struct audit_record *r, const struct vm_target *t, const char *fallback_name);

/*
 * The platform principal: the name the endpoint's session logged in as
 * (pool_session_user()).  NULL, the default, when no session acted.
 */
void record_set_platform_user(struct audit_record *r, const char *platform_user);

/*
 * A change vmtraced did not make, seen by watching the platform: source
 * AUDIT_SOURCE_OUT_OF_BAND and the window it happened in, after
 * seen_from_ms (the value last seen unchanged) and before seen_to_ms
 * (first seen changed).  No operator asked for it, so the row's who is
 * cleared (uid, gid, pid, user, login_uid, session_id stored as NULL);
 * name whom the platform saw act with record_set_platform_user(), when it
 * says.
 */
void record_set_out_of_band(struct audit_record *r, int64_t seen_from_ms, int64_t seen_to_ms);

/* The result, with fault and message (both may be NULL); end time now unless already set. */
void record_set_result(struct audit_record *r, const char *result, const char *fault, const char *message);

/* A refusal or a request settled at once: begun and ended now. */
struct audit_record record_settled_by_peer(const struct peer *peer, const char *operation, const char *result,
                                           const char *fault, const char *message);

/* The completion of a row an earlier run left PENDING: its id, operation and identities kept. */
struct audit_record record_completion_of(const struct audit_record *pending);

#endif
