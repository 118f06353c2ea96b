/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers both programs need: clocks, the user database, string lists. */
#ifndef VMT_UTIL_H
#define VMT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Wall-clock time in milliseconds since the Unix epoch (UTC). */
int64_t now_ms(void);
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

#endif
