/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logging to stderr; see log.h for the idiom. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char *log_progname = "vmtraced";
static int log_max_level = LOG_INFO;
static bool log_prefix_priority;

void log_init(const char *progname) {
        log_progname = progname;
        /* systemd sets JOURNAL_STREAM when stderr is connected to the journal. */
        log_prefix_priority = getenv("JOURNAL_STREAM") != NULL;
        const char *lvl = getenv("VMTRACED_DEBUG");
        if (lvl && *lvl)
                log_max_level = LOG_DEBUG;
}

void log_set_max_level(int level) {
        log_max_level = level;
}

int log_internal(int level, int error, const char *file, int line, const char *fmt, ...) {
        int saved = errno;
        if (error < 0)
                error = -error;

        if (level <= log_max_level) {
                char buf[2048];
                va_list ap;

                /* Make %m expand to the error passed in, not whatever errno is. */
                errno = error ? error : saved;
                va_start(ap, fmt);
                vsnprintf(buf, sizeof buf, fmt, ap);
                va_end(ap);

                if (log_prefix_priority)
                        fprintf(stderr, "<%d>%s\n", level, buf);
                else if (log_max_level >= LOG_DEBUG)
                        fprintf(stderr, "%s: %s (%s:%d)\n", log_progname, buf, file, line);
                else
                        fprintf(stderr, "%s: %s\n", log_progname, buf);
        }

        errno = saved;
        return -error;
}
