/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Out-of-band changes (watch.c): the endpoints watched for changes made
 * behind vmtraced's back, and the notes operations leave so that their own
 * changes are not recorded twice.
 */
#ifndef VMT_WATCH_H
#define VMT_WATCH_H

#include <stdbool.h>
#include <stdint.h>

struct audit;
struct config;
struct endpoint_config;
struct watch_set;

/* Start a watcher on every endpoint that has "watch = yes" and a backend that can watch. */
int watch_set_new(const struct config *c, struct audit *audit, struct watch_set **out);
/* Stop them all; no sink call happens after it returns. */
void watch_set_free(struct watch_set *set);
/* Is ep watched (for status)?  False also when its watcher could not start. */
bool watch_set_watches(const struct watch_set *set, const struct endpoint_config *ep);

/*
 * An operation of trail name operation on VM vm_id of endpoint is about to
 * be sent (begin), and has settled with value after (end).  A watched change
 * it explains is then not recorded as out-of-band.  set may be NULL.
 */
void watch_note_begin(struct watch_set *set, const char *endpoint, const char *vm_id, const char *operation,
                      int64_t start_ms);
void watch_note_end(struct watch_set *set, const char *endpoint, const char *vm_id, const char *operation,
                    const char *after, int64_t end_ms);

#endif
