/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Forwarding the trail to log engines ([forward "NAME"] in vmtraced.conf):
 * every completed row and checkpoint goes to each target as an RFC 5424
 * message (common/trail_syslog.h) over RELP, which acknowledges each one,
 * or over TLS as RFC 5425 says (forward_tls.h), which acknowledges none.
 *
 * Each target has a thread of its own with its own SQLite connection: it
 * reads the rows with seq above what the target acknowledged, sends them,
 * and records the acknowledged seq in table forward_state.  A thread,
 * because both clients block (connect, send, waiting for the ack): in
 * the sd-event loop a target that is slow or down would stall every
 * operation.  Here it stalls only its own thread, which retries with
 * backoff; operations never wait for a target.  Delivery is at least once:
 * after an outage or a restart the rows after the last acknowledged seq
 * are sent again, and the receiver drops duplicates by seq.
 */
#ifndef VMT_FORWARD_H
#define VMT_FORWARD_H

#include <json-c/json.h>

struct config;
struct forward_set;

/* Start a thread per [forward] of c, reading the trail at c->database.  No forwards: *out is NULL. */
int forward_set_start(const struct config *c, struct forward_set **out);
/* Stop the threads (each sends a last checkpoint when it can) and free. */
void forward_set_stop(struct forward_set *s);

/*
 * Per target: name, target, protocol, state, acked_seq, head_seq, backlog (rows
 * after acked_seq up to head, the trail's head seq), oldest_unacked_age_s
 * (null when the backlog is empty) and error.
 */
struct json_object *forward_set_status(struct forward_set *s, int64_t head);

#endif
