/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmctl's auditor commands, "log" and "verify".  Unlike every other command
 * they never talk to the daemon: they open the trail database read-only, so
 * they work on a copy handed to an auditor, and with the daemon stopped.
 * The schema, the hash chain and the escaping rules are in vmtraced-trail(5).
 *
 * log builds its query from fixed fragments, one per filter given; every
 * value is bound, never pasted.  Each fragment is a plain comparison on an
 * indexed column, so SQLite answers from the indexes.
 */
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "defaults.h"
#include "macros.h"
#include "proto.h"
#include "trail_hash.h"
#include "util.h"
#include "vmctl.h"

#define DEFAULT_CONFIG VMT_DEFAULT_CONFIG
#define DEFAULT_DATABASE VMT_DEFAULT_DATABASE
/* verify's exit status when the chain is broken (0 intact, 2 usage, 5 unreadable). */
#define EXIT_TAMPERED 1
/* Problems listed before verify stops counting them. */
#define VERIFY_MAX_REPORTS 20
/* Full passes over the chain spent on telling a moved row from an edited one. */
#define VERIFY_MAX_SEARCHES 3

DEFINE_TRIVIAL_CLEANUP_FUNC(sqlite3_stmt *, sqlite3_finalize);
DEFINE_TRIVIAL_CLEANUP_FUNC(sqlite3 *, sqlite3_close);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct trail_hasher *, trail_hasher_free);

static int find_database(void *user, const char *section, const char *name, const char *value) {
        char **out = user;

        if (strcmp(section, "vmtraced") == 0 && strcmp(name, "database") == 0 && !*out)
                *out = strdup(value);
        return 1;
}

/*
 * The trail the daemon writes: $VMTRACED_DB, else "database" of the
 * daemon's configuration when it is readable, else the built-in default.
 * Only that one key is read; the daemon validates the rest.
 */
static const char *default_database(void) {
        static char *configured;
        const char *e = getenv("VMTRACED_DB");

        if (e && *e)
                return e;
        if (!configured)
                (void) ini_parse(DEFAULT_CONFIG, find_database, &configured);
        return configured ? configured : DEFAULT_DATABASE;
}

/*
 * Read-only, and never creating the file: a mistyped path must not leave an
 * empty trail behind.  min_version: 1 to read rows, 2 for the hash chain.
 */
static int open_db(const char *path, int min_version, sqlite3 **out, int *version) {
        _cleanup_(sqlite3_closep) sqlite3 *db = NULL;
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        int rc;

        if (access(path, R_OK) < 0)
                return log_error_errno(-errno, "Cannot read %s: %m", path);
        /* One thread: no mutexes, which is a fifth of verify's time otherwise. */
        rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
        /* The daemon may hold a write lock for a moment; wait as it does. */
        if (rc == SQLITE_OK)
                rc = sqlite3_busy_timeout(db, 5000);
        if (rc == SQLITE_OK)
                rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);
        if (rc == SQLITE_OK && sqlite3_step(s) != SQLITE_ROW)
                rc = sqlite3_errcode(db);
        if (rc != SQLITE_OK) {
                log_error("Cannot open %s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
                return -EIO;
        }
        if (sqlite3_column_int(s, 0) < min_version) {
                log_error("%s has schema version %d: no hash chain yet (vmtraced migrates it at start-up).", path,
                          sqlite3_column_int(s, 0));
                return -EPROTONOSUPPORT;
        }
        if (version)
                *version = sqlite3_column_int(s, 0);
        *out = TAKE_PTR(db);
        return 0;
}

/* ---------- escaping ---------- */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
        size_t len;
        uint32_t c;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2, c = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                len = 3, c = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                len = 4, c = s[0] & 0x07;
        else
                return 0;
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                c = c << 6 | (s[i] & 0x3f);
        }
        /* Overlong forms, surrogates, beyond U+10FFFF. */
        if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
                return 0;
        return len;
}

static bool utf8_valid(const char *s, size_t n) {
        for (size_t i = 0, l; i < n; i += l)
                if ((l = utf8_seq((const unsigned char *) s + i, n - i)) == 0)
                        return false;
        return true;
}

/*
 * Write n bytes of v to f, escaping as "\xHH" (two lowercase hex digits)
 * every control byte (0x00-0x1f, 0x7f), the backslash, every byte that is
 * not part of valid UTF-8, and each byte in specials.  Reversible: replace
 * each \xHH by its byte.
 */
static void put_escaped(FILE *f, const char *v, size_t n, const char *specials) {
        const unsigned char *s = (const unsigned char *) v;

        for (size_t i = 0; i < n;) {
                size_t l = utf8_seq(s + i, n - i);

                if (l == 0 || s[i] < 0x20 || s[i] == 0x7f || s[i] == '\\' || (s[i] && l == 1 && strchr(specials, s[i]))) {
                        fprintf(f, "\\x%02x", s[i]);
                        i++;
                        continue;
                }
                fwrite(s + i, 1, l, f);
                i += l;
        }
}

/* ---------- log ---------- */

enum format { FORMAT_TABLE, FORMAT_JSON, FORMAT_CSV, FORMAT_TRACE };

static const char *const format_names[] = {
        [FORMAT_TABLE] = "table", [FORMAT_JSON] = "json", [FORMAT_CSV] = "csv", [FORMAT_TRACE] = "trace",
};

/* A filter: its option, the query fragment it adds, and the value bound to :v<index>. */
static const struct filter {
        const char *option;
        const char *sql;
} filters[] = {
        { "user", " AND user = :user" },
        { "vm", " AND (vm_name = :vm OR vm_id = :vm)" },
        { "op", " AND operation = :op" },
        { "result", " AND result = :result" },
        { "host", " AND host = :host" },
        { "endpoint", " AND endpoint = :endpoint" },
};

struct log_args {
        const char *db;
        enum format format;
        bool has_since, has_until;
        int64_t since, until;
        const char *values[ELEMENTSOF(filters)];
        int64_t limit;
};

/*
 * A point in time as ms since the epoch: relative to now ("30s", "30m",
 * "1h", "2d", "1w": that long ago) or absolute UTC ("2026-01-02",
 * "2026-01-02T03:04", "2026-01-02 03:04:05", "...05.678Z").
 */
static int parse_time(const char *s, int64_t now, int64_t *out) {
        static const struct {
                char unit;
                int64_t ms;
        } units[] = { { 's', 1000 }, { 'm', 60000 }, { 'h', 3600000 }, { 'd', 86400000 }, { 'w', 604800000 } };
        struct tm tm = {};
        const char *p;
        char *end;
        int64_t ms = 0;

        errno = 0;
        long long n = strtoll(s, &end, 10);
        if (end != s && end[0] && !end[1] && errno == 0 && n >= 0 && s[0] != '-' && s[0] != '+')
                for (size_t i = 0; i < ELEMENTSOF(units); i++)
                        if (units[i].unit == end[0] && n <= INT64_MAX / units[i].ms) {
                                *out = now - n * units[i].ms;
                                return 0;
                        }

        p = strptime(s, "%Y-%m-%d", &tm);
        if (!p)
                return -EINVAL;
        if (*p == 'T' || *p == ' ') {
                p = strptime(p + 1, "%H:%M", &tm);
                if (!p)
                        return -EINVAL;
                if (*p == ':') {
                        p = strptime(p + 1, "%S", &tm);
                        if (!p)
                                return -EINVAL;
                        if (*p == '.') {
                                int digits = 0;
                                for (p++; *p >= '0' && *p <= '9'; p++, digits++)
                                        if (digits < 3)
                                                ms = ms * 10 + (*p - '0');
                                if (digits == 0)
                                        return -EINVAL;
                                for (; digits < 3; digits++)
                                        ms *= 10;
                        }
                }
        }
        if (*p == 'Z')
                p++;
        if (*p)
                return -EINVAL;
        *out = (int64_t) timegm(&tm) * 1000 + ms;
        return 0;
}

static const char *col(sqlite3_stmt *s, int i) {
        return (const char *) sqlite3_column_text(s, i);
}

static int col_index(sqlite3_stmt *s, const char *name) {
        for (int i = 0; i < sqlite3_column_count(s); i++)
                if (strcmp(sqlite3_column_name(s, i), name) == 0)
                        return i;
        return -1;
}

static void print_json(sqlite3_stmt *s) {
        _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

        if (!o)
                return;
        for (int i = 0; i < sqlite3_column_count(s); i++) {
                struct json_object *v = NULL;
                const char *t;
                size_t n;

                switch (sqlite3_column_type(s, i)) {
                case SQLITE_NULL:
                        break;
                case SQLITE_INTEGER:
                        v = json_object_new_int64(sqlite3_column_int64(s, i));
                        break;
                default:
                        t = col(s, i);
                        n = (size_t) sqlite3_column_bytes(s, i);
                        if (utf8_valid(t, n))
                                v = json_object_new_string_len(t, (int) n);
                        else {
                                /* JSON text is Unicode: bytes that are not UTF-8 go as {"hex": "..."}. */
                                _cleanup_free_ char *hex = malloc(2 * n + 1);
                                if (!hex)
                                        return;
                                for (size_t k = 0; k < n; k++)
                                        sprintf(hex + 2 * k, "%02x", (unsigned char) t[k]);
                                hex[2 * n] = 0;
                                v = json_object_new_object();
                                if (v)
                                        json_object_object_add(v, "hex", json_object_new_string(hex));
                        }
                        break;
                }
                json_object_object_add(o, sqlite3_column_name(s, i), v);
        }
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* RFC 4180: quote a field that holds a comma, quote, CR or LF; double the quotes. */
static void put_csv_field(FILE *f, const char *v, size_t n) {
        if (!v)
                return;
        if (!memchr(v, ',', n) && !memchr(v, '"', n) && !memchr(v, '\r', n) && !memchr(v, '\n', n)) {
                fwrite(v, 1, n, f);
                return;
        }
        fputc('"', f);
        for (size_t i = 0; i < n; i++) {
                if (v[i] == '"')
                        fputc('"', f);
                fputc(v[i], f);
        }
        fputc('"', f);
}

static void print_csv(sqlite3_stmt *s, bool header) {
        int n = sqlite3_column_count(s);

        if (header) {
                for (int i = 0; i < n; i++)
                        printf("%s%s", i ? "," : "", sqlite3_column_name(s, i));
                fputs("\r\n", stdout);
        }
        for (int i = 0; i < n; i++) {
                if (i)
                        fputc(',', stdout);
                put_csv_field(stdout, col(s, i), (size_t) sqlite3_column_bytes(s, i));
        }
        fputs("\r\n", stdout);
}

/* "2010/08/03 15:53:09 898" (UTC) from ms since the epoch; "" for NULL. */
static void trace_time(char *buf, size_t len, sqlite3_stmt *s, int i, const char *date_sep, const char *ms_sep) {
        time_t t;
        struct tm tm;
        int64_t ms;
        char fmt[32];

        buf[0] = '\0';
        if (i < 0 || sqlite3_column_type(s, i) == SQLITE_NULL)
                return;
        ms = sqlite3_column_int64(s, i);
        t = (time_t) (ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
        if (!gmtime_r(&t, &tm))
                return;
        snprintf(fmt, sizeof fmt, "%%Y%s%%m%s%%d %%H:%%M:%%S", date_sep, date_sep);
        size_t n = strftime(buf, len, fmt, &tm);
        snprintf(buf + n, len - n, "%s%03d", ms_sep, (int) (ms - (int64_t) t * 1000));
}

/* One value of a trace field: escaped so it cannot end the field, the record or the line. */
static void trace_value(sqlite3_stmt *s, int i) {
        if (i >= 0 && sqlite3_column_type(s, i) != SQLITE_NULL)
                put_escaped(stdout, col(s, i), (size_t) sqlite3_column_bytes(s, i), ";=[]");
}

/*
 * The classic trace line, e.g.
 *   2010-08-03 15:53:22,342  INFO - [STR=2010/08/03 15:53:09 898;END=2010/08/03 15:53:22 340;
 *   OPR=RenameVM;USR=tester1;HST=129.60.19.31;BEF=test1;AFT=test2;RST=OK]
 * (one line).  The leading time is the end time (the start time while
 * PENDING).  For operations other than a rename, BEF and AFT carry the VM
 * name first: BEF=test2;1;AFT=test2;2.
 */
static void print_trace(sqlite3_stmt *s) {
        int i_start = col_index(s, "start_ms"), i_end = col_index(s, "end_ms"), i_op = col_index(s, "operation"),
            i_user = col_index(s, "user"), i_host = col_index(s, "host"), i_vm = col_index(s, "vm_name"),
            i_before = col_index(s, "before"), i_after = col_index(s, "after"), i_result = col_index(s, "result");
        const char *op = col(s, i_op), *result = col(s, i_result);
        bool pending = sqlite3_column_type(s, i_end) == SQLITE_NULL;
        bool prefix_vm = sqlite3_column_type(s, i_vm) != SQLITE_NULL && !(op && strcmp(op, "RenameVM") == 0);
        char lead[64], str[64], end[64];

        trace_time(lead, sizeof lead, s, pending ? i_start : i_end, "-", ",");
        trace_time(str, sizeof str, s, i_start, "/", " ");
        trace_time(end, sizeof end, s, i_end, "/", " ");
        printf("%s %5s - [STR=%s;END=%s;OPR=", lead, result && strcmp(result, "OK") == 0 ? "INFO" : "WARN", str, end);
        trace_value(s, i_op);
        fputs(";USR=", stdout);
        trace_value(s, i_user);
        fputs(";HST=", stdout);
        trace_value(s, i_host);
        for (int k = 0; k < 2; k++) {
                fputs(k == 0 ? ";BEF=" : ";AFT=", stdout);
                if (prefix_vm) {
                        trace_value(s, i_vm);
                        fputc(';', stdout);
                }
                trace_value(s, k == 0 ? i_before : i_after);
        }
        fputs(";RST=", stdout);
        trace_value(s, i_result);
        fputs("]\n", stdout);
}

static void table_cell(sqlite3_stmt *s, int i, int width) {
        char buf[256];
        _cleanup_free_ char *esc = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&esc, &len);

        if (!f)
                return;
        if (i >= 0 && sqlite3_column_type(s, i) != SQLITE_NULL)
                put_escaped(f, col(s, i), (size_t) sqlite3_column_bytes(s, i), "");
        fclose(f);
        snprintf(buf, sizeof buf, "%s", esc);
        printf("%-*s ", width, buf);
}

static void print_table(sqlite3_stmt *s, bool header) {
        static const struct {
                const char *column, *title;
                int width;
        } cols[] = {
                { "id", "ID", 6 },          { "start_time", "START (UTC)", 24 }, { "user", "USER", 10 },
                { "login_uid", "LOGIN UID", 9 },
                { "operation", "OPERATION", 12 }, { "vm_name", "VM", 16 },        { "before", "BEFORE", 16 },
                { "after", "AFTER", 16 },   { "result", "RESULT", 7 },
        };

        if (header) {
                for (size_t c = 0; c < ELEMENTSOF(cols); c++)
                        printf("%-*s ", cols[c].width, cols[c].title);
                putchar('\n');
        }
        for (size_t c = 0; c < ELEMENTSOF(cols); c++)
                table_cell(s, col_index(s, cols[c].column), cols[c].width);
        putchar('\n');
}

static int build_query(const struct log_args *la, char **out) {
        char *q = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&q, &len);

        if (!f)
                return -ENOMEM;
        /* Only fixed fragments go into the text; values are bound by name below. */
        fputs("SELECT * FROM trail WHERE 1", f);
        if (la->has_since)
                fputs(" AND start_ms >= :since", f);
        if (la->has_until)
                fputs(" AND start_ms <= :until", f);
        for (size_t i = 0; i < ELEMENTSOF(filters); i++)
                if (la->values[i])
                        fputs(filters[i].sql, f);
        fputs(" ORDER BY start_ms, id", f);
        if (la->limit > 0)
                fputs(" LIMIT :limit", f);
        if (fclose(f) != 0) {
                free(q);
                return -ENOMEM;
        }
        *out = q;
        return 0;
}

static int bind_query(sqlite3_stmt *s, const struct log_args *la) {
        int rc = SQLITE_OK;

        if (la->has_since)
                rc = sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":since"), la->since);
        if (rc == SQLITE_OK && la->has_until)
                rc = sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":until"), la->until);
        if (rc == SQLITE_OK && la->limit > 0)
                rc = sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":limit"), la->limit);
        for (size_t i = 0; rc == SQLITE_OK && i < ELEMENTSOF(filters); i++) {
                char name[32];

                if (!la->values[i])
                        continue;
                snprintf(name, sizeof name, ":%s", filters[i].option);
                rc = sqlite3_bind_text(s, sqlite3_bind_parameter_index(s, name), la->values[i], -1, SQLITE_STATIC);
        }
        return rc;
}

static int run_query(const struct log_args *la) {
        _cleanup_(sqlite3_closep) sqlite3 *db = NULL;
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        _cleanup_free_ char *q = NULL;
        bool first = true;
        int rc;

        if (open_db(la->db, 1, &db, NULL) < 0)
                return EXIT_INTERNAL;
        if (build_query(la, &q) < 0)
                return log_oom(), EXIT_INTERNAL;
        rc = sqlite3_prepare_v2(db, q, -1, &s, NULL);
        if (rc == SQLITE_OK)
                rc = bind_query(s, la);
        if (rc != SQLITE_OK) {
                log_error("Cannot query %s: %s", la->db, sqlite3_errmsg(db));
                return EXIT_INTERNAL;
        }
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                switch (la->format) {
                case FORMAT_TABLE:
                        print_table(s, first);
                        break;
                case FORMAT_JSON:
                        print_json(s);
                        break;
                case FORMAT_CSV:
                        print_csv(s, first);
                        break;
                case FORMAT_TRACE:
                        print_trace(s);
                        break;
                }
                first = false;
        }
        if (rc != SQLITE_DONE) {
                log_error("Cannot read %s: %s", la->db, sqlite3_errmsg(db));
                return EXIT_INTERNAL;
        }
        if (fflush(stdout) != 0)
                return EXIT_INTERNAL;
        return EXIT_OK;
}

static int run_log(const struct vmctl_options *o _unused_, const struct vmctl_command *cmd, int argc, char **argv) {
        enum { OPT_SINCE = 0x100, OPT_UNTIL, OPT_LIMIT, OPT_FILTER };
        static const struct option options[] = {
                { "db", required_argument, NULL, 'd' },
                { "format", required_argument, NULL, 'f' },
                { "since", required_argument, NULL, OPT_SINCE },
                { "until", required_argument, NULL, OPT_UNTIL },
                { "limit", required_argument, NULL, OPT_LIMIT },
                { "user", required_argument, NULL, OPT_FILTER + 0 },
                { "vm", required_argument, NULL, OPT_FILTER + 1 },
                { "op", required_argument, NULL, OPT_FILTER + 2 },
                { "result", required_argument, NULL, OPT_FILTER + 3 },
                { "host", required_argument, NULL, OPT_FILTER + 4 },
                { "endpoint", required_argument, NULL, OPT_FILTER + 5 },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        struct log_args la = { .db = default_database(), .format = isatty(STDOUT_FILENO) ? FORMAT_TABLE : FORMAT_JSON };
        int64_t now = now_ms();
        bool known;
        int c;

        while ((c = getopt_long(argc, argv, "d:f:h", options, NULL)) >= 0) {
                switch (c) {
                case 'd':
                        la.db = optarg;
                        break;
                case 'f':
                        known = false;
                        for (size_t i = 0; i < ELEMENTSOF(format_names); i++)
                                if (strcmp(optarg, format_names[i]) == 0) {
                                        la.format = (enum format) i;
                                        known = true;
                                }
                        if (!known) {
                                log_error("Unknown format \"%s\": use table, json, csv or trace.", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case OPT_SINCE:
                case OPT_UNTIL:
                        if (parse_time(optarg, now, c == OPT_SINCE ? &la.since : &la.until) < 0) {
                                log_error("Bad time \"%s\": use e.g. 30m, 2h, 1d, 2026-01-02 or 2026-01-02T03:04:05Z.",
                                          optarg);
                                return EXIT_USAGE;
                        }
                        *(c == OPT_SINCE ? &la.has_since : &la.has_until) = true;
                        break;
                case OPT_LIMIT: {
                        char *end;
                        errno = 0;
                        la.limit = strtoll(optarg, &end, 10);
                        if (errno || *end || la.limit <= 0) {
                                log_error("Bad limit \"%s\": a positive number.", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                }
                case 'h':
                        vmctl_usage(cmd, stdout);
                        fputs("\nOptions:\n"
                              "  --db FILE          the trail (default $VMTRACED_DB, the database of\n"
                              "                     " DEFAULT_CONFIG ", or " DEFAULT_DATABASE ")\n"
                              "  --format FORMAT    table (default on a terminal), json (JSON Lines), csv, trace\n"
                              "  --limit N          at most N rows\n"
                              "Filters (all must match):\n"
                              "  --since TIME, --until TIME  start time range; TIME is 30s, 30m, 2h, 1d, 1w ago,\n"
                              "                     or UTC: 2026-01-02, 2026-01-02T03:04, 2026-01-02 03:04:05.678Z\n"
                              "  --user NAME, --vm NAME-OR-ID, --op OPERATION, --result RESULT,\n"
                              "  --host HOST, --endpoint ENDPOINT\n"
                              "See vmtraced-trail(5).\n", stdout);
                        return EXIT_OK;
                default:
                        if (c >= OPT_FILTER && c < OPT_FILTER + (int) ELEMENTSOF(filters)) {
                                la.values[c - OPT_FILTER] = optarg;
                                break;
                        }
                        return vmctl_usage(cmd, stderr);
                }
        }
        if (optind < argc) {
                log_error("Unexpected argument \"%s\".", argv[optind]);
                return vmctl_usage(cmd, stderr);
        }
        return run_query(&la);
}

/* ---------- verify ---------- */

struct checkpoint {
        int64_t seq;
        unsigned char hash[TRAIL_HASH_SIZE];
        bool seen;
};

struct verifier {
        sqlite3 *db;
        struct trail_hasher *h;
        sqlite3_stmt *as_seq;   /* a row encoded as if it had another seq */
        bool schema2;           /* a table not yet migrated to schema 3: no hash_version, all encoding 1 */
        unsigned problems;
        unsigned searches;      /* full passes made by find_owner() */
        struct checkpoint *cps;
        size_t n_cps;
};

static void problem(struct verifier *v, const char *fmt, ...) _printf_(2, 3);
static void problem(struct verifier *v, const char *fmt, ...) {
        va_list ap;

        if (++v->problems > VERIFY_MAX_REPORTS)
                return;
        fputs("TAMPERED: ", stdout);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
}

/* Would row rowid, placed at seq after prev, carry the hash want?  (Tells reordering from editing.) */
static bool fits_at(struct verifier *v, int64_t rowid, int64_t seq, const unsigned char prev[TRAIL_HASH_SIZE],
                    const char *want_hex) {
        unsigned char got[TRAIL_HASH_SIZE], want[TRAIL_HASH_SIZE];
        sqlite3_stmt *s = v->as_seq;
        bool fits = false;

        if (!want_hex || trail_hash_from_hex(want_hex, want) < 0)
                return false;
        sqlite3_reset(s);
        if (sqlite3_bind_int64(s, 1, seq) == SQLITE_OK && sqlite3_bind_int64(s, 2, rowid) == SQLITE_OK &&
            sqlite3_step(s) == SQLITE_ROW && trail_hash_row(v->h, prev, s, 0, got) >= 0)
                fits = memcmp(got, want, sizeof got) == 0;
        sqlite3_reset(s);
        return fits;
}

/* Does row rowid, at seq after prev, hash to want?  Like fits_at() with a binary hash. */
static bool follows(struct verifier *v, int64_t rowid, int64_t seq, const unsigned char prev[TRAIL_HASH_SIZE],
                    const unsigned char want[TRAIL_HASH_SIZE]) {
        char hex[TRAIL_HASH_HEX_SIZE];

        trail_hash_to_hex(want, hex);
        return fits_at(v, rowid, seq, prev, hex);
}

/*
 * Which chained row's stored hash does row rowid (at seq) follow?  A full
 * pass over the chain, so done at most VERIFY_MAX_SEARCHES times: it tells
 * a row moved far away from an edited one.
 */
static bool find_owner(struct verifier *v, int64_t rowid, int64_t seq, const unsigned char want[TRAIL_HASH_SIZE],
                       int64_t *owner, int64_t *owner_seq, unsigned char owner_hash[TRAIL_HASH_SIZE]) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *all = NULL;
        unsigned char p[TRAIL_HASH_SIZE], got[TRAIL_HASH_SIZE];
        sqlite3_stmt *s = v->as_seq;
        bool found = false;

        if (v->searches++ >= VERIFY_MAX_SEARCHES)
                return false;
        sqlite3_reset(s);
        if (sqlite3_bind_int64(s, 1, seq) != SQLITE_OK || sqlite3_bind_int64(s, 2, rowid) != SQLITE_OK ||
            sqlite3_step(s) != SQLITE_ROW ||
            sqlite3_prepare_v2(v->db, "SELECT rowid, seq, hash FROM records WHERE seq IS NOT NULL", -1, &all, NULL) !=
                    SQLITE_OK) {
                sqlite3_reset(s);
                return false;
        }
        while (!found && sqlite3_step(all) == SQLITE_ROW)
                if (trail_hash_from_hex(col(all, 2), p) >= 0 && trail_hash_row(v->h, p, s, 0, got) >= 0 &&
                    memcmp(got, want, sizeof got) == 0) {
                        *owner = sqlite3_column_int64(all, 0);
                        *owner_seq = sqlite3_column_int64(all, 1);
                        memcpy(owner_hash, p, TRAIL_HASH_SIZE);
                        found = true;
                }
        sqlite3_reset(s);
        return found;
}

static void check_checkpoints(struct verifier *v, int64_t seq, const unsigned char hash[TRAIL_HASH_SIZE]) {
        for (size_t i = 0; i < v->n_cps; i++)
                if (v->cps[i].seq == seq) {
                        v->cps[i].seen = true;
                        if (memcmp(v->cps[i].hash, hash, TRAIL_HASH_SIZE) != 0)
                                problem(v, "seq %" PRId64 " does not match the checkpoint: the rows up to it were "
                                        "rewritten consistently (or the checkpoint is from another trail)", seq);
                }
}

/*
 * Walk the chain in seq order.  The hash is recomputed from the stored row;
 * after a mismatch the walk goes on from the stored hash, so independent
 * changes further on are reported too.
 */
static int walk_chain(struct verifier *v, int64_t *last_seq, unsigned char head[TRAIL_HASH_SIZE]) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL, *next = NULL;
        unsigned char prev[TRAIL_HASH_SIZE] = {}, got[TRAIL_HASH_SIZE], stored[TRAIL_HASH_SIZE];
        unsigned char explained_prev[TRAIL_HASH_SIZE] = {};
        int64_t expect = 1, prev_id = 0, explained = 0, newest_version = 0;
        int rc, r;

        rc = sqlite3_prepare_v2(v->db,
                                v->schema2 ? "SELECT rowid, hash, " TRAIL_HASH_SCHEMA2_COLUMNS " FROM records"
                                             " WHERE seq IS NOT NULL ORDER BY seq, rowid"
                                           : "SELECT rowid, hash, " TRAIL_HASH_COLUMNS " FROM records"
                                             " WHERE seq IS NOT NULL ORDER BY seq, rowid",
                                -1, &s, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_prepare_v2(v->db, "SELECT rowid, hash FROM records WHERE seq = ?1 + 1 ORDER BY rowid LIMIT 1",
                                        -1, &next, NULL);
        if (rc != SQLITE_OK)
                return log_error("Cannot read the chain: %s", sqlite3_errmsg(v->db)), -EIO;

        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                int64_t rowid = sqlite3_column_int64(s, 0), seq = sqlite3_column_int64(s, 2);
                const char *hex = col(s, 1);

                if (sqlite3_column_type(s, 2) != SQLITE_INTEGER || seq < expect) {
                        problem(v, "row id %" PRId64 " claims seq %s, which row id %" PRId64 " already holds: "
                                "inserted or copied", rowid, strempty(col(s, 2)), prev_id);
                        continue;
                }
                if (seq > expect) {
                        if (seq == expect + 1)
                                problem(v, "seq %" PRId64 " is missing (between row id %" PRId64 " and row id %" PRId64
                                        "): deleted", expect, prev_id, rowid);
                        else
                                problem(v, "seq %" PRId64 "..%" PRId64 " are missing (between row id %" PRId64
                                        " and row id %" PRId64 "): deleted", expect, seq - 1, prev_id, rowid);
                        /* Resynchronise on the stored hash of the row before the gap: already in prev. */
                }
                /* hash_version is the last column read. */
                int64_t version = sqlite3_column_int64(s, 2 + TRAIL_HASH_NCOLUMNS - 1);
                if (version < newest_version)
                        problem(v, "row id %" PRId64 " (seq %" PRId64 ") claims hash encoding %" PRId64
                                " after rows with encoding %" PRId64 ": modified", rowid, seq, version, newest_version);
                else
                        newest_version = version;
                r = trail_hash_row(v->h, prev, s, 2, got);
                if (r == -EBADMSG)
                        memset(got, 0, sizeof got); /* no known encoding: it cannot match, reported below */
                else if (r < 0)
                        return log_oom();
                /* The stored text must be the canonical lowercase hex; comparing text is the fast path. */
                char got_hex[TRAIL_HASH_HEX_SIZE];
                trail_hash_to_hex(got, got_hex);
                if (hex && rowid != explained && strcmp(hex, got_hex) == 0) {
                        check_checkpoints(v, seq, got);
                        memcpy(prev, got, sizeof prev);
                        prev_id = rowid;
                        expect = seq + 1;
                        continue;
                }
                bool valid = hex && trail_hash_from_hex(hex, stored) >= 0;
                if (rowid == explained && valid) {
                        /* The second half of a swap already reported: the chain goes on from its partner. */
                        memcpy(got, explained_prev, sizeof got);
                } else {
                        int64_t other = 0, owner = 0, owner_seq = 0;
                        unsigned char other_hash[TRAIL_HASH_SIZE], owner_hash[TRAIL_HASH_SIZE];
                        bool next_fits = false;

                        /* Does the next row belong here?  Then rows were reordered, or this one slipped in. */
                        sqlite3_reset(next);
                        if (seq == expect && valid && sqlite3_bind_int64(next, 1, seq) == SQLITE_OK &&
                            sqlite3_step(next) == SQLITE_ROW && trail_hash_from_hex(col(next, 1), other_hash) >= 0) {
                                other = sqlite3_column_int64(next, 0);
                                next_fits = fits_at(v, other, seq, prev, col(next, 1));
                        }
                        sqlite3_reset(next);
                        if (next_fits && fits_at(v, rowid, seq + 1, other_hash, hex)) {
                                problem(v, "row id %" PRId64 " (seq %" PRId64 ") and row id %" PRId64 " (seq %" PRId64
                                        ") were swapped: reordered", rowid, seq, other, seq + 1);
                                explained = other;
                                memcpy(explained_prev, stored, sizeof stored);
                                memcpy(stored, other_hash, sizeof stored);
                        } else if (next_fits)
                                problem(v, "row id %" PRId64 " (seq %" PRId64 ") does not belong before row id %" PRId64
                                        ": inserted", rowid, seq, other);
                        else if (seq == expect && valid && other != 0 && !follows(v, other, seq + 1, stored, other_hash) &&
                                 find_owner(v, other, seq + 1, other_hash, &owner, &owner_seq, owner_hash)) {
                                /* The next row follows another row's hash: that row was moved from here. */
                                problem(v, "row id %" PRId64 " (seq %" PRId64 ") is out of place: row id %" PRId64
                                        " (seq %" PRId64 ") belongs there: reordered", rowid, seq, owner, owner_seq);
                                explained = owner;
                                memcpy(explained_prev, stored, sizeof stored);
                                memcpy(stored, owner_hash, sizeof stored);
                        } else if (seq == expect)
                                problem(v, "row id %" PRId64 " (seq %" PRId64 ") does not match its hash: modified",
                                        rowid, seq);
                        /* else: the gap reported above explains the mismatch. */
                        if (valid)
                                memcpy(got, stored, sizeof got);
                        else
                                memset(got, 0, sizeof got);
                }
                check_checkpoints(v, seq, got);
                memcpy(prev, got, sizeof prev);
                prev_id = rowid;
                expect = seq + 1;
        }
        if (rc != SQLITE_DONE)
                return log_error("Cannot read the chain: %s", sqlite3_errmsg(v->db)), -EIO;
        *last_seq = expect - 1;
        memcpy(head, prev, TRAIL_HASH_SIZE);
        return 0;
}

/* Completed rows outside the chain were written by something other than vmtraced. */
static int check_unchained(struct verifier *v, int64_t *pending) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        int rc;

        rc = sqlite3_prepare_v2(v->db,
                                "SELECT rowid, result IS 'PENDING' FROM records WHERE seq IS NULL ORDER BY rowid",
                                -1, &s, NULL);
        if (rc != SQLITE_OK)
                return log_error("Cannot read %s", sqlite3_errmsg(v->db)), -EIO;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                if (sqlite3_column_int(s, 1))
                        (*pending)++;
                else
                        problem(v, "row id %" PRId64 " is complete but not in the chain: inserted "
                                "(or its seq removed)", (int64_t) sqlite3_column_int64(s, 0));
        }
        return rc == SQLITE_DONE ? 0 : -EIO;
}

static int parse_checkpoint(const char *arg, struct checkpoint *cp) {
        const char *colon = strchr(arg, ':');
        char *end;

        if (!colon)
                return -EINVAL;
        errno = 0;
        cp->seq = strtoll(arg, &end, 10);
        if (errno || end != colon || cp->seq <= 0)
                return -EINVAL;
        return trail_hash_from_hex(colon + 1, cp->hash);
}

static int run_verify(const struct vmctl_options *o _unused_, const struct vmctl_command *cmd, int argc, char **argv) {
        static const struct option options[] = {
                { "db", required_argument, NULL, 'd' },
                { "checkpoint", required_argument, NULL, 'c' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(sqlite3_closep) sqlite3 *db = NULL;
        _cleanup_(trail_hasher_freep) struct trail_hasher *h = NULL;
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *as_seq = NULL;
        _cleanup_free_ struct checkpoint *cps = NULL;
        const char *path = default_database();
        unsigned char head[TRAIL_HASH_SIZE];
        char hex[TRAIL_HASH_HEX_SIZE];
        int64_t last = 0, pending = 0;
        size_t n_cps = 0;
        int c, version = 0;

        while ((c = getopt_long(argc, argv, "d:c:h", options, NULL)) >= 0) {
                switch (c) {
                case 'd':
                        path = optarg;
                        break;
                case 'c': {
                        struct checkpoint *l = reallocarray(cps, n_cps + 1, sizeof *cps);
                        if (!l)
                                return log_oom(), EXIT_INTERNAL;
                        cps = l;
                        cps[n_cps] = (struct checkpoint) {};
                        if (parse_checkpoint(optarg, &cps[n_cps]) < 0) {
                                log_error("Bad checkpoint \"%s\": use SEQ:HASH (64 hex digits).", optarg);
                                return EXIT_USAGE;
                        }
                        n_cps++;
                        break;
                }
                case 'h':
                        vmctl_usage(cmd, stdout);
                        fputs("\nOptions:\n"
                              "  --db FILE              the trail (default as for vmctl log)\n"
                              "  --checkpoint SEQ:HASH  the chain must reach SEQ with HASH (repeatable)\n"
                              "Exit status: 0 intact, 1 altered, 2 usage, 5 unreadable.  See vmtraced-trail(5).\n",
                              stdout);
                        return EXIT_OK;
                default:
                        return vmctl_usage(cmd, stderr);
                }
        }
        if (optind < argc) {
                log_error("Unexpected argument \"%s\".", argv[optind]);
                return vmctl_usage(cmd, stderr);
        }

        if (open_db(path, 2, &db, &version) < 0)
                return EXIT_INTERNAL;
        if (trail_hasher_new(&h) < 0)
                return log_oom(), EXIT_INTERNAL;
        if (sqlite3_prepare_v2(db,
                               version < 3 ? "SELECT ?1, " TRAIL_HASH_SCHEMA2_AFTER_SEQ " FROM records WHERE rowid = ?2"
                                           : "SELECT ?1, " TRAIL_HASH_COLUMNS_AFTER_SEQ " FROM records WHERE rowid = ?2",
                               -1, &as_seq, NULL) != SQLITE_OK) {
                log_error("Cannot read %s: %s", path, sqlite3_errmsg(db));
                return EXIT_INTERNAL;
        }
        struct verifier v = { .db = db, .h = h, .as_seq = as_seq, .cps = cps, .n_cps = n_cps,
                              .schema2 = version < 3 };

        /* One read transaction: a daemon writing meanwhile cannot make the walk see half a change. */
        if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK || walk_chain(&v, &last, head) < 0 ||
            check_unchained(&v, &pending) < 0)
                return EXIT_INTERNAL;
        (void) sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);

        for (size_t i = 0; i < n_cps; i++)
                if (!cps[i].seen)
                        problem(&v, "the chain ends at seq %" PRId64 " but a checkpoint names seq %" PRId64
                                ": rows at the end were removed", last, cps[i].seq);
        trail_hash_to_hex(head, hex);
        if (v.problems > VERIFY_MAX_REPORTS)
                printf("TAMPERED: ... and %u more problem(s)\n", v.problems - VERIFY_MAX_REPORTS);
        if (v.problems) {
                printf("%s: the trail was altered (%u problem(s)); %" PRId64 " rows in the chain.\n", path,
                       v.problems, last);
                return EXIT_TAMPERED;
        }
        printf("%s: intact: %" PRId64 " rows chained, %" PRId64 " pending, %zu checkpoint(s) matched.\n"
               "head %" PRId64 ":%s\n", path, last, pending, n_cps, last, hex);
        return EXIT_OK;
}

const struct vmctl_command vmctl_trail_commands[] = {
        { "log", "log [OPTIONS] [FILTERS]", "Show trail rows from the database file (no daemon needed).", run_log },
        { "verify", "verify [--db F] [--checkpoint S:H]", "Check the trail's hash chain; exit 0 only if intact.",
          run_verify },
        {},
};
