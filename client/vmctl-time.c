/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Parsing and printing times for the trail's readers; see vmctl-time.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "macros.h"
#include "vmctl-time.h"

#define DAY_MS INT64_C(86400000)

static bool local_time;

void vmctl_time_set_local(bool local) {
        local_time = local;
}

bool vmctl_time_is_local(void) {
        return local_time;
}

/* "30s", "30m", "1h", "2d", "1w", or with a leading '-': that long before now. */
static bool parse_relative(const char *s, int64_t now, int64_t *out) {
        static const struct {
                char unit;
                int64_t ms;
        } units[] = { { 's', 1000 }, { 'm', 60000 }, { 'h', 3600000 }, { 'd', DAY_MS }, { 'w', 7 * DAY_MS } };
        char *end;

        if (*s == '-')
                s++;
        if (*s < '0' || *s > '9')
                return false;
        errno = 0;
        long long n = strtoll(s, &end, 10);
        if (end == s || !end[0] || end[1] || errno != 0 || n < 0)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (units[i].unit == end[0] && n <= INT64_MAX / units[i].ms) {
                        *out = now - n * units[i].ms;
                        return true;
                }
        return false;
}

/* tm (a date and time of day, no zone) as seconds since the epoch: UTC, or local time. */
static int64_t tm_seconds(struct tm *tm, bool local) {
        if (!local)
                return (int64_t) timegm(tm);
        tm->tm_isdst = -1;
        return (int64_t) mktime(tm);
}

/* "today" and "yesterday": the start of that day, in UTC or local time. */
static bool parse_day(const char *s, int64_t now, int64_t *out) {
        int back = strcmp(s, "today") == 0 ? 0 : strcmp(s, "yesterday") == 0 ? 1 : -1;
        time_t t = (time_t) (now / 1000);
        struct tm tm;

        if (back < 0)
                return false;
        if (!(local_time ? localtime_r(&t, &tm) : gmtime_r(&t, &tm)))
                return false;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        tm.tm_mday -= back;   /* timegm and mktime normalise the day before the 1st */
        *out = tm_seconds(&tm, local_time) * 1000;
        return true;
}

/* The digits after a second's point as milliseconds (past three they are dropped); where they end, or NULL. */
static const char *parse_fraction(const char *p, int64_t *ms) {
        int digits = 0;

        for (; *p >= '0' && *p <= '9'; p++, digits++)
                if (digits < 3)
                        *ms = *ms * 10 + (*p - '0');
        if (digits == 0)
                return NULL;
        for (; digits < 3; digits++)
                *ms *= 10;
        return p;
}

/* "03:04", "03:04:05" or "03:04:05.678" into tm and ms; where it ends, or NULL. */
static const char *parse_clock(const char *p, struct tm *tm, int64_t *ms) {
        p = strptime(p, "%H:%M", tm);
        if (!p || *p != ':')
                return p;
        p = strptime(p + 1, "%S", tm);
        if (!p || *p != '.')
                return p;
        return parse_fraction(p + 1, ms);
}

static int two_digits(const char *p) {
        return p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' ? (p[0] - '0') * 10 + (p[1] - '0') : -1;
}

/* A zone: "Z", "+01:00", "-0530", "+01"; *offset_s east of UTC.  false if p is none. */
static bool parse_zone(const char *p, int64_t *offset_s) {
        int sign = *p == '+' ? 1 : *p == '-' ? -1 : 0;
        int h, m = 0;

        if (strcmp(p, "Z") == 0) {
                *offset_s = 0;
                return true;
        }
        if (!sign || (h = two_digits(p + 1)) < 0 || h > 23)
                return false;
        p += 3;
        if (*p == ':')
                p++;
        if (*p && ((m = two_digits(p)) < 0 || m > 59 || p[2]))
                return false;
        *offset_s = sign * (h * 3600 + m * 60);
        return true;
}

static int parse_absolute(const char *s, int64_t *out) {
        struct tm tm = {};
        int64_t ms = 0, offset = 0;
        const char *p = strptime(s, "%Y-%m-%d", &tm);

        if (p && (*p == 'T' || *p == ' '))
                p = parse_clock(p + 1, &tm, &ms);
        if (!p)
                return -EINVAL;
        if (!*p) {
                *out = tm_seconds(&tm, local_time) * 1000 + ms;
                return 0;
        }
        if (!parse_zone(p, &offset))
                return -EINVAL;
        *out = ((int64_t) timegm(&tm) - offset) * 1000 + ms;
        return 0;
}

int vmctl_parse_time(const char *s, int64_t now, int64_t *out) {
        if (strcmp(s, "now") == 0) {
                *out = now;
                return 0;
        }
        if (parse_relative(s, now, out) || parse_day(s, now, out))
                return 0;
        return parse_absolute(s, out);
}

void vmctl_format_time(int64_t ms, char *buf, size_t len) {
        time_t t = (time_t) (ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
        int frac = (int) (ms - (int64_t) t * 1000);
        struct tm tm;
        char zone[16] = "Z";

        if (!(local_time ? localtime_r(&t, &tm) : gmtime_r(&t, &tm))) {
                snprintf(buf, len, "%" PRId64, ms);
                return;
        }
        if (local_time) {
                int off = (int) (tm.tm_gmtoff / 60);   /* a zone is less than a day off UTC */
                snprintf(zone, sizeof zone, "%c%02d:%02d", off < 0 ? '-' : '+', abs(off) / 60 % 24, abs(off) % 60);
        }
        size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf + n, len - n, ".%03d%s", frac, zone);
}
