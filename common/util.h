/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers both programs need: clocks, the user database, string lists. */
#ifndef VMT_UTIL_H
#define VMT_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Wall-clock time in milliseconds since the Unix epoch (UTC). */
int64_t now_ms(void);
/* CLOCK_MONOTONIC in ms: for intervals, which a wall clock stepped back must not stretch. */
int64_t monotonic_ms(void);

/*
 * pthread_create() of a thread that takes no signals: they belong to the
 * daemon's event loop (and a SIGPIPE stays pending there).  0 or -errno.
 */
int thread_start_unsignalled(pthread_t *t, void *(*fn)(void *), void *arg);
/* Sleep ms milliseconds, whatever signals come meanwhile. */
void sleep_ms(long ms);

/*
 * The user name of uid from the system databases, or the decimal uid when
 * it has none (a uid without a passwd entry is still somebody).
 */
void uid_to_name(uid_t uid, char *buf, size_t len);
void gid_to_name(gid_t gid, char *buf, size_t len);

/*
 * Append to the string in buf (of size len): sep first unless buf is
 * empty, then the formatted text, cut at the buffer's end.  For lists
 * built into fixed buffers ("vc1:web (vm-1), vc2:web (vm-7)").
 */
void strbuf_append(char *buf, size_t len, const char *sep, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * A size in MiB, as vmctl and vmtraced.conf take it: a number of MiB, or a
 * number with a suffix M/MB/MiB, G/GB/GiB or T/TB/TiB (binary units, as
 * vSphere's MiB are), case-insensitive.  -EINVAL if it is not one, -ERANGE
 * for 0 or too large.
 */
int parse_size_mib(const char *s, int64_t *mib);

/*
 * The number of single-character edits (insert, delete, substitute) from a
 * to b, for "did you mean" suggestions; words longer than 63 bytes count
 * as too far apart (SIZE_MAX).
 */
size_t edit_distance(const char *a, const char *b);

/*
 * How near word is to candidate, to suggest it: 0 when word is its start
 * ("snap" for snapshot), 1 for a typo (one edit in short words, two in
 * longer ones: "lsit" for list), -1 when it is another word.  Suggest the
 * candidates of the lowest level found.
 */
int word_nearness(const char *word, const char *candidate);

#endif
