/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Rows as text: see trail_format.h. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "printable.h"
#include "trail_format.h"

static enum trail_type value_type(int sqlite_type) {
        switch (sqlite_type) {
        case SQLITE_INTEGER:
                return TRAIL_INTEGER;
        case SQLITE_FLOAT:
                return TRAIL_FLOAT;
        case SQLITE_TEXT:
                return TRAIL_TEXT;
        case SQLITE_BLOB:
                return TRAIL_BLOB;
        default:
                return TRAIL_NULL;
        }
}

void trail_row_read(sqlite3_stmt *s, struct trail_value *values, size_t n) {
        for (size_t i = 0; i < n; i++) {
                struct trail_value *v = &values[i];

                v->type = value_type(sqlite3_column_type(s, (int) i));
                v->text = (const char *) sqlite3_column_text(s, (int) i);
                v->len = (size_t) sqlite3_column_bytes(s, (int) i);
                v->integer = sqlite3_column_int64(s, (int) i);
        }
}

static bool is_null(const struct trail_value *v) {
        return v->type == TRAIL_NULL;
}

void trail_trace_time(char *buf, size_t len, const struct trail_value *v, const char *date_sep, const char *ms_sep) {
        time_t t;
        struct tm tm;
        int64_t ms;
        char fmt[32];

        buf[0] = '\0';
        if (is_null(v))
                return;
        ms = v->integer;
        t = (time_t) (ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
        if (!gmtime_r(&t, &tm))
                return;
        snprintf(fmt, sizeof fmt, "%%Y%s%%m%s%%d %%H:%%M:%%S", date_sep, date_sep);
        size_t n = strftime(buf, len, fmt, &tm);
        snprintf(buf + n, len - n, "%s%03d", ms_sep, (int) (ms - (int64_t) t * 1000));
}

/* One value of a trace field: escaped so it cannot end the field, the record or the line. */
static void trace_value(FILE *f, const struct trail_value *v) {
        if (!is_null(v))
                printable_fput(f, v->text, v->len, ";=[]");
}

/*
 * The classic trace line, e.g.
 *   2010-08-03 15:53:22,342  INFO - [STR=2010/08/03 15:53:09 898;END=2010/08/03 15:53:22 340;
 *   OPR=RenameVM;USR=tester1;HST=129.60.19.31;BEF=test1;AFT=test2;RST=OK]
 * (one line).  The leading time is the end time (the start time while
 * PENDING).  For operations other than a rename, BEF and AFT carry the VM
 * name first: BEF=test2;1;AFT=test2;2.
 */
void trail_trace_fput(FILE *f, const struct trail_row *row) {
        const struct trail_value *start = trail_row_get(row, "start_ms"), *end = trail_row_get(row, "end_ms"),
                                 *vm = trail_row_get(row, "vm_name");
        const char *op = trail_row_get(row, "operation")->text, *result = trail_row_get(row, "result")->text;
        bool prefix_vm = !is_null(vm) && !(op && strcmp(op, "RenameVM") == 0);
        char lead[64], str[64], stop[64];

        trail_trace_time(lead, sizeof lead, is_null(end) ? start : end, "-", ",");
        trail_trace_time(str, sizeof str, start, "/", " ");
        trail_trace_time(stop, sizeof stop, end, "/", " ");
        fprintf(f, "%s %5s - [STR=%s;END=%s;OPR=", lead, result && strcmp(result, "OK") == 0 ? "INFO" : "WARN", str,
                stop);
        trace_value(f, trail_row_get(row, "operation"));
        fputs(";USR=", f);
        trace_value(f, trail_row_get(row, "user"));
        fputs(";HST=", f);
        trace_value(f, trail_row_get(row, "host"));
        for (int k = 0; k < 2; k++) {
                fputs(k == 0 ? ";BEF=" : ";AFT=", f);
                if (prefix_vm) {
                        trace_value(f, vm);
                        fputc(';', f);
                }
                trace_value(f, trail_row_get(row, k == 0 ? "before" : "after"));
        }
        fputs(";RST=", f);
        trace_value(f, trail_row_get(row, "result"));
        fputc(']', f);
}
