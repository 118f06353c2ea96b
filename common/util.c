/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Clocks, user database and string helpers; see util.h. */
#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"

int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
