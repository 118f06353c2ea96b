/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The project's one error-reporting idiom.  Functions return 0 (or a
 * positive value) on success and a negative errno on failure; the failing
 * call and its report sit together:
 *
 *         r = f();
 *         if (r < 0)
 *                 return log_error_errno(r, "Failed to frob %s: %m", name);
 *
 * "%m" prints strerror(-r).  Messages go to stderr with a sd-daemon(3)
 * "<N>" priority prefix when the daemon runs under systemd (the journal
 * parses it), and with a plain "vmtraced: " style prefix otherwise.
 */
#ifndef VMT_LOG_H
#define VMT_LOG_H

#include <stdbool.h>
#include <syslog.h>

#include "macros.h"

/* Program name used as prefix; set once at start-up. */
void log_init(const char *progname);
/* Drop messages less important than this syslog priority (default LOG_INFO). */
void log_set_max_level(int level);
/*
 * Escape each message as printable.h does before it is written: for the
 * programs whose stderr is a person's terminal (vmctl) or the journal (the
 * daemon), where a message quoting a VM name must not act on it or split
 * into two entries.  Off by default.
 */
void log_set_printable(bool on);

/* Returns -abs(error) (or 0 if error is 0) so callers can "return log_..." */
int log_internal(int level, int error, const char *file, int line, const char *fmt, ...) _printf_(5, 6);

#define log_full_errno(level, error, ...) \
        log_internal((level), (error), __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...)   (void) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)    (void) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)  (void) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) (void) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)   (void) log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, (error), __VA_ARGS__)
#define log_error_errno(error, ...)   log_full_errno(LOG_ERR, (error), __VA_ARGS__)
#define log_oom() log_error_errno(-ENOMEM, "Out of memory.")

#endif
