/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log's table; see vmctl-table.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macros.h"
#include "printable.h"
#include "util.h"
#include "vmctl-table.h"
#include "vmctl-time.h"

enum {
        C_ID, C_START, C_END, C_USER, C_LOGIN_UID, C_PLATFORM_USER, C_OPERATION, C_ENDPOINT, C_HOST, C_VM,
        C_BEFORE, C_AFTER, C_RESULT, C_FAULT, C_SOURCE, C_SEEN, C_MAX,
};

/*
 * A view column, or (column NULL) a cell made from the row.  width is the
 * natural width, least what it may be narrowed to (= width: never), drop
 * the order in which a default column is left out on a narrow terminal
 * (0: never).
 */
struct column {
        const char *name, *column, *title;
        int width, least, drop;
        void (*make)(const struct trail_row *row, char *buf, size_t len);
};

static int min_int(int a, int b) {
        return a < b ? a : b;
}

/* Start and end in UTC, or local time (log --local), from the ms columns. */
static void time_cell(const struct trail_value *v, char *buf, size_t len) {
        buf[0] = '\0';
        if (v->type != TRAIL_NULL)
                vmctl_format_time(v->integer, buf, len);
}

static void start_cell(const struct trail_row *row, char *buf, size_t len) {
        time_cell(trail_row_get(row, "start_ms"), buf, len);
}

static void end_cell(const struct trail_row *row, char *buf, size_t len) {
        time_cell(trail_row_get(row, "end_ms"), buf, len);
}

/*
 * An out-of-band row's window, "FROM .. TO": the change happened after
 * the first (last seen unchanged) and before the second.  "" on
 * vmtraced's own rows, which have none.
 */
static void seen_cell(const struct trail_row *row, char *buf, size_t len) {
        const struct trail_value *from = trail_row_get(row, "seen_from_ms"), *to = trail_row_get(row, "seen_to_ms");
        char a[48], b[48];

        buf[0] = '\0';
        if (from->type == TRAIL_NULL && to->type == TRAIL_NULL)
                return;
        time_cell(from, a, sizeof a);
        time_cell(to, b, sizeof b);
        snprintf(buf, len, "%s .. %s", a, b);
}

static const struct column columns[C_MAX] = {
#define COL(i, n, c, t, w, l, d) [i] = { .name = n, .column = c, .title = t, .width = w, .least = l, .drop = d }
#define MADE(i, n, f, t, w, d) [i] = { .name = n, .make = f, .title = t, .width = w, .least = w, .drop = d }
        COL(C_ID, "id", "id", "ID", 6, 6, 0),
        MADE(C_START, "start", start_cell, "START", 24, 0),
        MADE(C_END, "end", end_cell, "END", 24, 6),
        COL(C_USER, "user", "user", "USER", 10, 5, 0),
        COL(C_LOGIN_UID, "login-uid", "login_uid", "LOGIN UID", 9, 9, 3),
        COL(C_PLATFORM_USER, "platform-user", "platform_user", "PLATFORM USER", 16, 8, 4),
        COL(C_OPERATION, "operation", "operation", "OPERATION", 14, 9, 0),
        COL(C_ENDPOINT, "endpoint", "endpoint", "ENDPOINT", 10, 5, 8),
        COL(C_HOST, "host", "host", "HOST", 14, 5, 7),
        COL(C_VM, "vm", "vm_name", "VM", 16, 6, 0),
        COL(C_BEFORE, "before", "before", "BEFORE", 16, 6, 0),
        COL(C_AFTER, "after", "after", "AFTER", 16, 6, 0),
        COL(C_RESULT, "result", "result", "RESULT", 7, 7, 0),
        COL(C_FAULT, "fault", "fault", "FAULT", 16, 6, 5),
        COL(C_SOURCE, "source", "source", "SOURCE", 11, 11, 2),
        MADE(C_SEEN, "seen", seen_cell, "SEEN BETWEEN", 52, 1),
#undef COL
#undef MADE
};

static struct {
        int shown[C_MAX];          /* the columns, in order */
        int n;
        int width[C_MAX];          /* each shown column's width now */
        bool chosen;               /* --columns: none is left out */
        const char *mark;          /* a cut value ends in it */
        bool cut;                  /* on a terminal: values are cut to their column */
} table = {
        .shown = { C_ID, C_START, C_END, C_USER, C_LOGIN_UID, C_PLATFORM_USER, C_OPERATION, C_ENDPOINT, C_HOST,
                   C_VM, C_BEFORE, C_AFTER, C_RESULT, C_FAULT, C_SOURCE, C_SEEN },
        .n = C_MAX,
};

const char *vmctl_table_column_names(void) {
        static char names[256];

        if (!names[0])
                for (int c = 0; c < C_MAX; c++)
                        strbuf_append(names, sizeof names, ",", "%s", columns[c].name);
        return names;
}

static int column_named(const char *name, size_t n) {
        for (int c = 0; c < C_MAX; c++)
                if (strlen(columns[c].name) == n && strncmp(columns[c].name, name, n) == 0)
                        return c;
        return -1;
}

int vmctl_table_set_columns(const char *spec) {
        int n = 0;

        for (const char *p = spec; *p;) {
                size_t len = strcspn(p, ",");
                int c = column_named(p, len);
                if (c < 0 || n == C_MAX) {
                        log_error("Unknown column \"%.*s\": use %s.", (int) len, p, vmctl_table_column_names());
                        return -EINVAL;
                }
                table.shown[n++] = c;
                p += len + (p[len] == ',');
        }
        if (n == 0) {
                log_error("--columns needs at least one of %s.", vmctl_table_column_names());
                return -EINVAL;
        }
        table.n = n;
        table.chosen = true;
        return 0;
}

/* The locale's charset is UTF-8 when its name says so (vmctl does not call setlocale()). */
static bool utf8_locale(void) {
        const char *v = getenv("LC_ALL");

        if (!v || !*v)
                v = getenv("LC_CTYPE");
        if (!v || !*v)
                v = getenv("LANG");
        return v && (strcasestr(v, "utf-8") || strcasestr(v, "utf8"));
}

static int total_width(void) {
        int w = table.n - 1;   /* one space between columns */

        for (int i = 0; i < table.n; i++)
                w += table.width[i];
        return w;
}

static int least_width(void) {
        int w = table.n - 1;

        for (int i = 0; i < table.n; i++)
                w += min_int(columns[table.shown[i]].least, table.width[i]);
        return w;
}

/* Leave out the default column that is needed least, or return false. */
static bool drop_one(bool keep_source) {
        int best = -1;

        for (int i = 0; i < table.n; i++) {
                int d = columns[table.shown[i]].drop;
                bool kept = keep_source && (table.shown[i] == C_SOURCE || table.shown[i] == C_SEEN);
                if (d && !kept && (best < 0 || d < columns[table.shown[best]].drop))
                        best = i;
        }
        if (best < 0)
                return false;
        memmove(&table.shown[best], &table.shown[best + 1], (size_t) (table.n - best - 1) * sizeof table.shown[0]);
        memmove(&table.width[best], &table.width[best + 1], (size_t) (table.n - best - 1) * sizeof table.width[0]);
        table.n--;
        return true;
}

/* Narrow the widest column that may be narrowed by one, until it all fits. */
static void narrow(int width) {
        while (total_width() > width) {
                int widest = -1;
                for (int i = 0; i < table.n; i++)
                        if (table.width[i] > columns[table.shown[i]].least &&
                            (widest < 0 || table.width[i] > table.width[widest]))
                                widest = i;
                if (widest < 0)
                        return;
                table.width[widest]--;
        }
}

void vmctl_table_fit(int width, bool keep_source) {
        table.mark = utf8_locale() ? "\u2026" : "+";
        for (int i = 0; i < table.n; i++) {
                const struct column *c = &columns[table.shown[i]];
                /* Local times carry their offset: "+01:00" where UTC has "Z". */
                table.width[i] = c->make && c != &columns[C_SEEN] && vmctl_time_is_local() ? c->width + 5 : c->width;
                if (table.shown[i] == C_SEEN && vmctl_time_is_local())
                        table.width[i] += 10;
        }
        table.cut = width > 0;
        if (width <= 0)
                return;
        while (!table.chosen && least_width() > width && drop_one(keep_source))
                ;
        narrow(width);
}

/* UTF-8 characters in s[0..n) (escaped text: no control characters), and where the first `keep` end. */
static size_t characters(const char *s, size_t n, size_t keep, size_t *cut) {
        size_t chars = 0;

        *cut = n;
        for (size_t i = 0; i < n; i++)
                if (((unsigned char) s[i] & 0xc0) != 0x80 && chars++ == keep)
                        *cut = i;
        return chars;
}

/* A cell: escaped, cut to width characters with the mark, padded unless it is the last. */
static void cell(const char *text, size_t len, int width, bool last) {
        _cleanup_free_ char *e = text ? printable_dup(text, len, "") : NULL;
        const char *s = e ? e : "";
        size_t cut, n = characters(s, strlen(s), width > 1 ? (size_t) width - 1 : 0, &cut);

        if (n > (size_t) width && table.cut) {
                fwrite(s, 1, cut, stdout);
                fputs(table.mark, stdout);
                n = (size_t) width;
        } else
                fputs(s, stdout);
        if (!last)
                printf("%*s", n < (size_t) width ? width - (int) n + 1 : 1, "");
}

static void header_line(void) {
        for (int i = 0; i < table.n; i++) {
                int c = table.shown[i];
                char title[32];
                bool timed = c == C_START || c == C_END || c == C_SEEN;

                snprintf(title, sizeof title, "%s%s", columns[c].title,
                         !timed ? "" : vmctl_time_is_local() ? " (local)" : " (UTC)");
                cell(title, strlen(title), table.width[i], i + 1 == table.n);
        }
        putchar('\n');
}

void vmctl_table_row(const struct trail_row *row, bool header) {
        char buf[160];

        if (header)
                header_line();
        for (int i = 0; i < table.n; i++) {
                const struct column *c = &columns[table.shown[i]];
                bool last = i + 1 == table.n;

                if (c->make) {
                        c->make(row, buf, sizeof buf);
                        cell(buf, strlen(buf), table.width[i], last);
                } else {
                        const struct trail_value *v = trail_row_get(row, c->column);
                        cell(v->text, v->len, table.width[i], last);
                }
        }
        putchar('\n');
}
