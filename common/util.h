/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers both programs need: clocks and the user database. */
#ifndef VMT_UTIL_H
#define VMT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Wall-clock time in milliseconds since the Unix epoch (UTC). */
int64_t now_ms(void);

/*
 * The user name of uid from the system databases, or the decimal uid when
 * it has none (a uid without a passwd entry is still somebody).
 */
void uid_to_name(uid_t uid, char *buf, size_t len);
void gid_to_name(gid_t gid, char *buf, size_t len);

#endif
