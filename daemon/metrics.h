/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the daemon counts for vmctl status (and its OpenMetrics form, for a
 * node_exporter textfile collector): the trail rows completed since start,
 * by operation, result and source, each with a histogram of how long the
 * operation took (start to end).  The audit counts every row it completes,
 * from whichever thread completes it, so the counters have a lock of their
 * own.  Counting never fails an operation: once the table is full, new
 * series are counted in its last, under operation "other".
 */
#ifndef VMT_METRICS_H
#define VMT_METRICS_H

#include <stdint.h>

struct json_object;
struct metrics;

#define METRICS_MAX_SERIES 128

int metrics_new(struct metrics **out);
void metrics_free(struct metrics *m);

/* One completed row; source NULL for vmtraced's own. */
void metrics_count(struct metrics *m, const char *operation, const char *result, const char *source,
                   int64_t duration_ms);

/*
 * {"duration_buckets_ms": [bound...], "operations": [{"operation",
 * "result", "source", "count", "duration_ms_sum", "buckets": [cumulative
 * counts, one per bound]}]}.
 */
struct json_object *metrics_json(struct metrics *m);

#endif
