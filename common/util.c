/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Clocks, user database and string helpers; see util.h. */
#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "macros.h"
#include "util.h"

int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t monotonic_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int thread_start_unsignalled(pthread_t *t, void *(*fn)(void *), void *arg) {
        sigset_t all, old;
        int r;

        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r = -pthread_create(t, NULL, fn, arg);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return r;
}

void sleep_ms(long ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

void uid_to_name(uid_t uid, char *buf, size_t len) {
        struct passwd pw, *res = NULL;
        char tmp[4096];

        if (getpwuid_r(uid, &pw, tmp, sizeof tmp, &res) == 0 && res)
                snprintf(buf, len, "%s", res->pw_name);
        else
                snprintf(buf, len, "%u", (unsigned) uid);
}

void gid_to_name(gid_t gid, char *buf, size_t len) {
        struct group gr, *res = NULL;
        char tmp[8192];

        if (getgrgid_r(gid, &gr, tmp, sizeof tmp, &res) == 0 && res)
                snprintf(buf, len, "%s", res->gr_name);
        else
                snprintf(buf, len, "%u", (unsigned) gid);
}

void strbuf_append(char *buf, size_t len, const char *sep, const char *fmt, ...) {
        size_t used = strlen(buf);
        va_list ap;

        if (used + 1 >= len)
                return;
        if (used)
                used += (size_t) snprintf(buf + used, len - used, "%s", sep);
        if (used + 1 >= len)
                return;
        va_start(ap, fmt);
        vsnprintf(buf + used, len - used, fmt, ap);
        va_end(ap);
}

size_t edit_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b), row[64];

        if (la >= ELEMENTSOF(row) || lb >= ELEMENTSOF(row))
                return SIZE_MAX;
        /* One row of the Wagner-Fischer table at a time. */
        for (size_t j = 0; j <= lb; j++)
                row[j] = j;
        for (size_t i = 1; i <= la; i++) {
                size_t diag = row[0];
                row[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t up = row[j];
                        size_t best = diag + (a[i - 1] != b[j - 1]);
                        if (up + 1 < best)
                                best = up + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        row[j] = best;
                        diag = up;
                }
        }
        return row[lb];
}

int word_nearness(const char *word, const char *candidate) {
        size_t n = strlen(word);

        if (n >= 2 && strncmp(word, candidate, n) == 0)
                return 0;
        return edit_distance(word, candidate) <= (strlen(candidate) > 3 ? 2u : 1u) ? 1 : -1;
}

/*
 * A size in MiB: a number of MiB, or a number with a suffix M/MB/MiB,
 * G/GB/GiB or T/TB/TiB (binary units, as vSphere's MiB are).
 */
int parse_size_mib(const char *s, int64_t *mib) {
        static const struct { const char *suffix; int64_t factor; } units[] = {
                { "", 1 }, { "m", 1 }, { "mb", 1 }, { "mib", 1 },
                { "g", 1024 }, { "gb", 1024 }, { "gib", 1024 },
                { "t", 1024 * 1024 }, { "tb", 1024 * 1024 }, { "tib", 1024 * 1024 },
        };
        int64_t n = 0;
        const char *p = s;

        for (; *p >= '0' && *p <= '9'; p++) {
                if (n > (INT64_MAX - 9) / 10)
                        return -ERANGE;
                n = n * 10 + (*p - '0');
        }
        if (p == s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (strcasecmp(p, units[i].suffix) == 0) {
                        if (n > INT64_MAX / units[i].factor)
                                return -ERANGE;
                        *mib = n * units[i].factor;
                        return *mib > 0 ? 0 : -ERANGE;
                }
        return -EINVAL;
}
