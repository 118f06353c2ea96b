/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The trail database's health for "vmctl status" and "vmctl metrics":
 * PRAGMA quick_check, run on a read-only connection of its own in a thread
 * of its own, its last result kept.
 *
 * Why not on demand: quick_check reads every page, about a second for a
 * million rows, ten for ten million.  Run from status, it held the event
 * loop (every client waited) and the trail's lock (every operation's row
 * waited) for that long, once per status call or metrics scrape.  Now a
 * status call reads the kept result and, when it is older than the
 * configured interval, starts a fresh check for the next call.
 */
#ifndef VMT_HEALTH_H
#define VMT_HEALTH_H

#include <stddef.h>
#include <stdint.h>

struct health;

/* Start the first check of the file at path; later ones after interval_s; -errno if no thread can start. */
int health_new(const char *path, unsigned interval_s, struct health **out);

/* Stop a check in progress (sqlite3_interrupt) and wait for its thread. */
void health_free(struct health *h);

/*
 * The last result into buf: 0 with "ok", -EIO with SQLite's words, or
 * -EAGAIN with "being checked" before the first check has ended.
 * *checked_ms: when that result was read (UTC ms; 0 before the first).
 * Never waits for a check.
 */
int health_get(struct health *h, char *buf, size_t len, int64_t *checked_ms);

#endif
