/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Rows of the trail as text, shared by vmctl (log --format trace) and the
 * daemon's forwarder (daemon/forward.c), which sends the same classic
 * trace line as the MSG of each RFC 5424 message: one implementation, so
 * the two never drift apart.
 */
#ifndef VMT_TRAIL_FORMAT_H
#define VMT_TRAIL_FORMAT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>

#include "trail_read.h"

/* The current row of s into values (n columns); each type is read before any conversion can change it. */
void trail_row_read(sqlite3_stmt *s, struct trail_value *values, size_t n);

/* "2010/08/03 15:53:09 898" (UTC, with the separators given) from ms since the epoch; "" for NULL. */
void trail_trace_time(char *buf, size_t len, const struct trail_value *v, const char *date_sep, const char *ms_sep);

/* The classic trace line of row, without its newline (see vmctl(1), log --format trace). */
void trail_trace_fput(FILE *f, const struct trail_row *row);

#endif
