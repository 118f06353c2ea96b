/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The trail as RFC 5424 messages, and a received copy read back into a
 * trail file (see trail_syslog.h).  Reading goes through SQLite and the
 * schema's own migrations, so a copy becomes a trail file like any other
 * and trail_reader_verify() checks its chain with the very code that
 * checks the daemon's file; nothing about the chain is re-implemented.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "macros.h"
#include "printable.h"
#include "trail_format.h"
#include "trail_hash.h"
#include "trail_schema.h"
#include "trail_syslog.h"


/* authpriv: the trail says who did what, as sudo's and sshd's messages do. */
#define SYSLOG_FACILITY_AUTHPRIV (10 << 3)
#define SYSLOG_NOTICE 5
#define SYSLOG_INFO 6

#define SD_NAME_MAX 32

/* ---------- writing ---------- */

/* Text a receiver passes on unchanged: UTF-8 without control characters. */
static bool sd_plain(const char *s, size_t n) {
        if (!printable_utf8_valid(s, n))
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        return true;
}

static void put_hex(FILE *f, const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%02x", (unsigned char) s[i]);
}

/* A PARAM-VALUE: '"', '\' and ']' escaped (RFC 5424, 6.3.3). */
static void put_escaped(FILE *f, const char *s, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '"' || s[i] == '\\' || s[i] == ']')
                        fputc('\\', f);
                fputc(s[i], f);
        }
}

static void put_param(FILE *f, const char *name, const struct trail_value *v) {
        switch (v->type) {
        case TRAIL_NULL:
                return;
        case TRAIL_INTEGER:
                fprintf(f, " %s=\"%" PRId64 "\"", name, v->integer);
                return;
        case TRAIL_BLOB:
                fprintf(f, " %s.blob=\"", name);
                put_hex(f, v->text, v->len);
                break;
        default:
                if (sd_plain(v->text, v->len)) {
                        fprintf(f, " %s=\"", name);
                        put_escaped(f, v->text, v->len);
                } else {
                        fprintf(f, " %s.hex=\"", name);
                        put_hex(f, v->text, v->len);
                }
        }
        fputc('"', f);
}

/* RFC 3339 in UTC with milliseconds, or "-" (the NILVALUE) without a time. */
static void put_time(FILE *f, int64_t ms) {
        time_t t = (time_t) (ms / 1000);
        struct tm tm;
        char buf[32];

        if (ms <= 0 || !gmtime_r(&t, &tm) || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
                fputc('-', f);
                return;
        }
        fprintf(f, "%s.%03dZ", buf, (int) (ms % 1000));
}

static void put_header(FILE *f, int severity, int64_t ms, const char *hostname, long pid, const char *msgid) {
        fprintf(f, "<%d>1 ", SYSLOG_FACILITY_AUTHPRIV | severity);
        put_time(f, ms);
        fprintf(f, " %s vmtraced %ld %s ", hostname && *hostname ? hostname : "-", pid, msgid);
}

void trail_syslog_row(FILE *f, const struct trail_row *row, const char *hostname, long pid) {
        const char *result = trail_row_get(row, "result")->text;

        put_header(f, result && strcmp(result, "OK") == 0 ? SYSLOG_INFO : SYSLOG_NOTICE,
                   trail_row_get(row, "end_ms")->integer, hostname, pid, "row");
        fputs("[" TRAIL_SYSLOG_SD_ROW, f);
        for (size_t i = 0; i < row->n; i++)
                put_param(f, row->names[i], &row->values[i]);
        fputs("] ", f);
        trail_trace_fput(f, row);
}

void trail_syslog_checkpoint(FILE *f, int64_t now_ms, int64_t seq, const char *hash_hex, const char *reason,
                             const char *hostname, long pid) {
        put_header(f, SYSLOG_NOTICE, now_ms, hostname, pid, "checkpoint");
        fprintf(f, "[" TRAIL_SYSLOG_SD_CHECKPOINT " seq=\"%" PRId64 "\" hash=\"%s\" reason=\"%s\"] "
                   "vmtraced trail checkpoint (%s): %" PRId64 ":%s", seq, hash_hex, reason, reason, seq, hash_hex);
}

void trail_syslog_signed(FILE *f, int64_t now_ms, const struct trail_signed *c, const char *public_key,
                         const char *signature, const char *hostname, long pid) {
        char hex[TRAIL_HASH_HEX_SIZE];

        trail_hash_to_hex(c->hash, hex);
        put_header(f, SYSLOG_NOTICE, now_ms, hostname, pid, "signed");
        /* Hex only: nothing in it needs escaping. */
        fprintf(f, "[" TRAIL_SYSLOG_SD_SIGNED " seq=\"%" PRId64 "\" hash=\"%s\" prev=\"%" PRId64 "\" time=\"%" PRId64
                   "\" key=\"%s\" sig=\"%s\"] vmtraced signed checkpoint: %" PRId64 ":%s", c->seq, hex, c->prev_seq,
                c->signed_ms, public_key, signature, c->seq, hex);
}

/* ---------- reading ---------- */

struct sd_param {
        char name[SD_NAME_MAX + 1];
        char *value;               /* unescaped, NUL-terminated; points into the line */
        size_t len;
};

struct sd_element {
        const char *id_start, *start, *end; /* the SD-ID, and the element from '[' to past ']' */
        const char *raw;           /* the element as received, before unescaping: what a resend repeats */
        size_t id_len;
        struct sd_param params[TRAIL_HASH_NCOLUMNS + 8];
        size_t n;
};

/* Past the header's six fields (PRI and VERSION, TIMESTAMP, HOSTNAME, APP-NAME, PROCID, MSGID). */
static char *skip_header(char *line) {
        if (*line != '<')
                return NULL;
        for (int i = 0; i < 6; i++) {
                line = strchr(line, ' ');
                if (!line)
                        return NULL;
                line++;
        }
        return line;
}

/* A PARAM-VALUE from *p (past its opening quote), unescaped in place. */
static int parse_value(char **p, struct sd_param *par) {
        char *in = *p, *out = *p;

        par->value = out;
        for (; *in && *in != '"'; in++) {
                if (*in == '\\' && (in[1] == '"' || in[1] == '\\' || in[1] == ']'))
                        in++;
                *out++ = *in;
        }
        if (*in != '"')
                return -EBADMSG;
        par->len = (size_t) (out - par->value);
        *out = '\0';           /* may overwrite the closing quote: in is past it below */
        *p = in + 1;
        return 0;
}

static int parse_param(char **p, struct sd_element *e) {
        char *q = *p, *eq = strchr(q, '=');
        struct sd_param par = {};

        if (!eq || eq == q || eq - q > SD_NAME_MAX || eq[1] != '"' || memchr(q, ' ', (size_t) (eq - q)) ||
            memchr(q, ']', (size_t) (eq - q)))
                return -EBADMSG;
        memcpy(par.name, q, (size_t) (eq - q));
        *p = eq + 2;
        if (parse_value(p, &par) < 0)
                return -EBADMSG;
        if (e->n >= ELEMENTSOF(e->params))
                return -E2BIG;
        e->params[e->n++] = par;
        return 0;
}

/* One SD-ELEMENT at *p: its id and parameters. */
static int parse_element(char **p, struct sd_element *e) {
        char *q = *p;

        *e = (struct sd_element) { .start = q };
        if (*q != '[')
                return -EBADMSG;
        e->id_start = ++q;
        while (*q && *q != ' ' && *q != ']')
                q++;
        e->id_len = (size_t) (q - e->id_start);
        while (*q == ' ') {
                q++;
                int r = parse_param(&q, e);
                if (r < 0)
                        return r;
        }
        if (*q != ']')
                return -EBADMSG;
        e->end = ++q;
        *p = q;
        return 0;
}

static bool element_is(const struct sd_element *e, const char *id) {
        return e->id_len == strlen(id) && memcmp(e->id_start, id, e->id_len) == 0;
}

static const struct sd_param *element_get(const struct sd_element *e, const char *name) {
        for (size_t i = 0; i < e->n; i++)
                if (strcmp(e->params[i].name, name) == 0)
                        return &e->params[i];
        return NULL;
}

struct importer {
        const char *path;
        unsigned line;
        sqlite3 *db;
        sqlite3_stmt *insert, *seen, *remember;
        const char *columns[TRAIL_HASH_NCOLUMNS + 1]; /* the insert's, in order: TRAIL_HASH_COLUMNS, hash */
        char *column_text;
        struct trail_forwarded *out;
        trail_problem_fn fn;
        void *userdata;
};

static void problem(struct importer *im, const char *fmt, ...) _printf_(2, 3);
static void problem(struct importer *im, const char *fmt, ...) {
        _cleanup_free_ char *text = NULL, *full = NULL;
        va_list ap;
        int k;

        im->out->problems++;
        va_start(ap, fmt);
        k = vasprintf(&text, fmt, ap);
        va_end(ap);
        if (k >= 0 && asprintf(&full, "%s:%u: %s", im->path, im->line, text) >= 0)
                im->fn(full, im->userdata);
}

static int unhex(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Hex digits in place into bytes; -EBADMSG for anything else. */
static int decode_hex(struct sd_param *par) {
        if (par->len % 2)
                return -EBADMSG;
        for (size_t i = 0; i < par->len / 2; i++) {
                int hi = unhex(par->value[2 * i]), lo = unhex(par->value[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return -EBADMSG;
                par->value[i] = (char) (hi << 4 | lo);
        }
        par->len /= 2;
        return 0;
}

static int column_index(const struct importer *im, const char *name, size_t n) {
        for (size_t i = 0; i < ELEMENTSOF(im->columns); i++)
                if (strlen(im->columns[i]) == n && memcmp(im->columns[i], name, n) == 0)
                        return (int) i;
        return -1;
}

/* Bind one parameter to the insert by its column: as text (which the column's type converts, as it did when stored) or blob. */
static int bind_param(struct importer *im, struct sd_param *par) {
        char *dot = strchr(par->name, '.');
        size_t n = dot ? (size_t) (dot - par->name) : strlen(par->name);
        int i = column_index(im, par->name, n);

        if (i < 0 || (dot && strcmp(dot, ".hex") != 0 && strcmp(dot, ".blob") != 0)) {
                problem(im, "unknown parameter %s", par->name);
                return -EBADMSG;
        }
        if (dot && decode_hex(par) < 0) {
                problem(im, "parameter %s is not hex", par->name);
                return -EBADMSG;
        }
        if (dot && strcmp(dot, ".blob") == 0)
                return sqlite3_bind_blob(im->insert, i + 1, par->value, (int) par->len, SQLITE_STATIC);
        return sqlite3_bind_text(im->insert, i + 1, par->value, (int) par->len, SQLITE_STATIC);
}

static bool parse_seq(const struct sd_param *par, int64_t *seq) {
        char *end;

        if (!par)
                return false;
        errno = 0;
        *seq = strtoll(par->value, &end, 10);
        return errno == 0 && *end == '\0' && end != par->value && *seq > 0;
}

/* Has seq been read before?  1 (same contents), 0 (no), or a problem reported and -EBADMSG. */
static int seen_before(struct importer *im, int64_t seq, const struct sd_element *e) {
        sqlite3_stmt *s = im->seen;
        int k = 0;

        sqlite3_bind_int64(s, 1, seq);
        if (sqlite3_step(s) == SQLITE_ROW) {
                const void *was = sqlite3_column_blob(s, 0);
                size_t len = (size_t) (e->end - e->start);

                k = was && (size_t) sqlite3_column_bytes(s, 0) == len && memcmp(was, e->raw, len) == 0 ? 1 : -EBADMSG;
                if (k < 0)
                        problem(im, "seq %" PRId64 " was received before with other contents", seq);
        }
        sqlite3_reset(s);
        return k;
}

static void import_row(struct importer *im, struct sd_element *e) {
        int64_t seq;
        int k;

        if (!parse_seq(element_get(e, "seq"), &seq)) {
                problem(im, "a row without a valid seq");
                return;
        }
        k = seen_before(im, seq, e);
        if (k != 0) {
                im->out->duplicates += k > 0;
                return;
        }
        sqlite3_reset(im->insert);
        sqlite3_clear_bindings(im->insert);
        for (size_t i = 0; i < e->n; i++)
                if (bind_param(im, &e->params[i]) < 0)
                        return;
        if (sqlite3_step(im->insert) != SQLITE_DONE) {
                problem(im, "seq %" PRId64 " cannot be a row of the trail: %s", seq, sqlite3_errmsg(im->db));
                return;
        }
        sqlite3_reset(im->remember);
        sqlite3_bind_int64(im->remember, 1, seq);
        sqlite3_bind_blob(im->remember, 2, e->raw, (int) (e->end - e->start), SQLITE_STATIC);
        if (sqlite3_step(im->remember) == SQLITE_DONE)
                im->out->rows++;
}

static void import_checkpoint(struct importer *im, const struct sd_element *e) {
        const struct sd_param *hash = element_get(e, "hash");
        struct trail_checkpoint cp = {};
        struct trail_checkpoint *l;

        if (!parse_seq(element_get(e, "seq"), &cp.seq) || !hash || trail_hash_from_hex(hash->value, cp.hash) < 0) {
                problem(im, "a malformed checkpoint");
                return;
        }
        l = reallocarray(im->out->checkpoints, im->out->n_checkpoints + 1, sizeof *l);
        if (!l)
                return;
        im->out->checkpoints = l;
        l[im->out->n_checkpoints++] = cp;
}

/* A number that may be 0 (prev, time). */
static bool parse_int(const struct sd_param *par, int64_t *v) {
        char *end;

        if (!par)
                return false;
        errno = 0;
        *v = strtoll(par->value, &end, 10);
        return errno == 0 && *end == '\0' && end != par->value && *v >= 0;
}

/* The six columns of signed_checkpoints, from a vmtracedSigned element, bound to ?1..?6 of s. */
static bool bind_signed(sqlite3_stmt *s, const struct sd_element *e) {
        static const char *const text[] = { "hash", "key", "sig" };
        static const int text_at[] = { 2, 5, 6 };
        int64_t seq, prev, time;

        if (!parse_seq(element_get(e, "seq"), &seq) || !parse_int(element_get(e, "prev"), &prev) ||
            !parse_int(element_get(e, "time"), &time) || sqlite3_bind_int64(s, 1, seq) != SQLITE_OK ||
            sqlite3_bind_int64(s, 3, prev) != SQLITE_OK || sqlite3_bind_int64(s, 4, time) != SQLITE_OK)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(text); i++) {
                const struct sd_param *par = element_get(e, text[i]);

                if (!par || sqlite3_bind_text(s, text_at[i], par->value, (int) par->len, SQLITE_STATIC) != SQLITE_OK)
                        return false;
        }
        return true;
}

/*
 * A signed checkpoint, into the copy's signed_checkpoints, where vmctl
 * verify --forwarded --key checks it as in a trail file.  Received again
 * (at least once), it must be the same.
 */
static void import_signed(struct importer *im, const struct sd_element *e) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *add = NULL, *same = NULL;

        if (sqlite3_prepare_v2(im->db, "INSERT INTO signed_checkpoints (seq, hash, prev_seq, signed_ms, public_key, "
                               "signature) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(seq) DO NOTHING", -1, &add,
                               NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(im->db, "SELECT 1 FROM signed_checkpoints WHERE seq = ?1 AND hash = ?2 AND prev_seq = ?3 "
                               "AND signed_ms = ?4 AND public_key = ?5 AND signature = ?6", -1, &same, NULL) != SQLITE_OK)
                problem(im, "a signed checkpoint that cannot be stored: %s", sqlite3_errmsg(im->db));
        else if (!bind_signed(add, e) || !bind_signed(same, e))
                problem(im, "a malformed signed checkpoint");
        else if (sqlite3_step(add) != SQLITE_DONE || sqlite3_step(same) != SQLITE_ROW)
                problem(im, "a signed checkpoint was received before with other contents");
}

/* One received line: ours are the messages whose first SD-ELEMENT is a row or a checkpoint. */
static void import_line(struct importer *im, char *line) {
        char *p = skip_header(line);
        struct sd_element e;

        if (!p || *p != '[') {
                im->out->ignored++;
                return;
        }
        bool ours = strncmp(p + 1, TRAIL_SYSLOG_SD_ROW, strlen(TRAIL_SYSLOG_SD_ROW)) == 0 ||
                    strncmp(p + 1, TRAIL_SYSLOG_SD_CHECKPOINT, strlen(TRAIL_SYSLOG_SD_CHECKPOINT)) == 0 ||
                    strncmp(p + 1, TRAIL_SYSLOG_SD_SIGNED, strlen(TRAIL_SYSLOG_SD_SIGNED)) == 0;
        _cleanup_free_ char *raw = strdup(p);
        if (!raw)
                return;
        if (parse_element(&p, &e) < 0) {
                if (ours)
                        problem(im, "malformed structured data");
                else
                        im->out->ignored++;
                return;
        }
        e.raw = raw;
        if (element_is(&e, TRAIL_SYSLOG_SD_ROW))
                import_row(im, &e);
        else if (element_is(&e, TRAIL_SYSLOG_SD_CHECKPOINT))
                import_checkpoint(im, &e);
        else if (element_is(&e, TRAIL_SYSLOG_SD_SIGNED))
                import_signed(im, &e);
        else
                im->out->ignored++;
}

/* The insert names TRAIL_HASH_COLUMNS and hash, numbered in that order. */
static int prepare_insert(struct importer *im) {
        _cleanup_free_ char *sql = NULL;
        size_t n = 0;

        im->column_text = strdup(TRAIL_HASH_COLUMNS ", hash");
        if (!im->column_text)
                return -ENOMEM;
        for (char *save = NULL, *w = strtok_r(im->column_text, ", ", &save); w && n < ELEMENTSOF(im->columns);
             w = strtok_r(NULL, ", ", &save))
                im->columns[n++] = w;
        char marks[2 * ELEMENTSOF(im->columns)] = "?";
        for (size_t i = 1; i < ELEMENTSOF(im->columns); i++)
                strcat(marks, ",?");
        if (n != ELEMENTSOF(im->columns) ||
            asprintf(&sql, "INSERT INTO records (" TRAIL_HASH_COLUMNS ", hash) VALUES (%s)", marks) < 0)
                return -ENOMEM;
        if (sqlite3_prepare_v2(im->db, sql, -1, &im->insert, NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(im->db, "SELECT sd FROM temp.received WHERE seq = ?1", -1, &im->seen, NULL) !=
                    SQLITE_OK ||
            sqlite3_prepare_v2(im->db, "INSERT INTO temp.received (seq, sd) VALUES (?1, ?2)", -1, &im->remember,
                               NULL) != SQLITE_OK)
                return -EIO;
        return 0;
}

/* A new file at this build's schema, made by the migrations themselves, and the importer's statements. */
static int create_trail(struct importer *im, const char *db_path) {
        int r = 0;

        if (sqlite3_open_v2(db_path, &im->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
                return -EIO;
        if (sqlite3_exec(im->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
                return -EIO;
        for (int v = 0; r >= 0 && v < TRAIL_SCHEMA_VERSION; v++)
                r = trail_schema_migrate(im->db, v);
        if (r < 0)
                return r;
        if (sqlite3_exec(im->db, "CREATE TEMP TABLE received (seq INTEGER PRIMARY KEY, sd BLOB NOT NULL)", NULL, NULL,
                         NULL) != SQLITE_OK)
                return -EIO;
        return prepare_insert(im);
}

static int read_lines(struct importer *im, FILE *f) {
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        ssize_t n;

        while ((n = getline(&line, &size, f)) >= 0) {
                im->line++;
                while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                        line[--n] = '\0';
                import_line(im, line);
        }
        return ferror(f) ? -EIO : 0;
}

int trail_forwarded_import(const char *path, const char *db_path, struct trail_forwarded *out,
                           trail_problem_fn fn, void *userdata) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        struct importer im = { .path = path, .out = out, .fn = fn, .userdata = userdata };
        int r;

        *out = (struct trail_forwarded) {};
        if (!f)
                return log_error_errno(negative_errno(), "Cannot open %s: %m", path);
        r = create_trail(&im, db_path);
        if (r >= 0)
                r = read_lines(&im, f);
        if (r >= 0 && sqlite3_exec(im.db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
                r = -EIO;
        if (r < 0)
                log_error_errno(r, "Cannot read %s into %s: %s", path, db_path,
                                im.db ? sqlite3_errmsg(im.db) : "cannot open");
        sqlite3_finalize(im.insert);
        sqlite3_finalize(im.seen);
        sqlite3_finalize(im.remember);
        sqlite3_close(im.db);
        free(im.column_text);
        return r;
}
