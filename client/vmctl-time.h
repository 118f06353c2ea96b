/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Times as people write them, for log's --since and --until (and report's):
 * "now", "today", "yesterday"; that long ago ("30s", "-2h", "1d", "1w");
 * a date with an optional time and zone ("2026-01-02", "2026-01-02T03:04",
 * "2026-01-02 03:04:05.678Z", "2026-01-02T04:04+01:00").  A time without a
 * zone, and today and yesterday, are UTC, or local time once
 * vmctl_time_set_local() asked for it (log --local), which also makes
 * vmctl_format_time() print local time with its offset.
 */
#ifndef VMCTL_TIME_H
#define VMCTL_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void vmctl_time_set_local(bool local);
bool vmctl_time_is_local(void);

/* What a bad time is told, for log and report alike. */
#define VMCTL_TIME_HINT "use e.g. now, today, yesterday, 30m, -2h, 1d, 2026-01-02, 2026-01-02T03:04:05Z or 2026-01-02T04:04+01:00."

/* s as ms since the epoch into *out; -EINVAL if it is not a time. */
int vmctl_parse_time(const char *s, int64_t now, int64_t *out);

/* "2026-01-02T03:04:05.678Z", or in local time "2026-01-02T04:04:05.678+01:00". */
void vmctl_format_time(int64_t ms, char *buf, size_t len);

#endif
