/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logging to stderr; see log.h for the idiom. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "printable.h"

/* The longest message, its NUL included; longer ones are cut. */
#define LOG_LINE_MAX 2048

static const char *log_progname = "vmtraced";
static int log_max_level = LOG_INFO;
static bool log_prefix_priority;
static bool log_printable;

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

void log_set_printable(bool on) {
        log_printable = on;
}

static void log_write(int level, const char *msg, const char *file, int line) {
        if (log_prefix_priority)
                fprintf(stderr, "<%d>%s\n", level, msg);
        else if (log_max_level >= LOG_DEBUG)
                fprintf(stderr, "%s: %s (%s:%d)\n", log_progname, msg, file, line);
        else
                fprintf(stderr, "%s: %s\n", log_progname, msg);
}

/* Escaped on the stack, not the heap: "Out of memory." must still get out. */
static void log_write_printable(int level, const char *msg, const char *file, int line) {
        char shown[PRINTABLE_SIZE(LOG_LINE_MAX)];

        printable_escape(shown, sizeof shown, msg, strlen(msg), "");
        log_write(level, shown, file, line);
}

int log_internal(int level, int error, const char *file, int line, const char *fmt, ...) {
        int saved = errno;
        if (error < 0)
                error = -error;

        if (level <= log_max_level) {
                char buf[LOG_LINE_MAX];
                va_list ap;

                /* Make %m expand to the error passed in, not whatever errno is. */
                errno = error ? error : saved;
                va_start(ap, fmt);
                vsnprintf(buf, sizeof buf, fmt, ap);
                va_end(ap);

                (log_printable ? log_write_printable : log_write)(level, buf, file, line);
        }

        errno = saved;
        return -error;
}
