/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading the trail (see trail_read.h): the queries of vmctl log and the
 * chain walk of vmctl verify.  The statements that differ between schema
 * versions come from trail_schema.c; the hash is trail_hash.c's, the same
 * code the daemon extends the chain with.
 *
 * The log query is built from fixed fragments, one per filter given; every
 * value is bound, never pasted.  Each fragment is a plain comparison on an
 * indexed column, so SQLite answers from the indexes.
 *
 * The walk recomputes each row's hash from the stored row.  After a
 * mismatch it goes on from the stored hash, so independent changes further
 * on are reported too; a few extra lookups tell a moved row from an edited
 * one.
 */
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "macros.h"
#include "trail_format.h"
#include "trail_read.h"
#include "trail_schema.h"
#include "util.h"

/* As long as the daemon may hold its write lock (its own busy timeout). */
#define READ_BUSY_TIMEOUT_MS 5000
/* Full passes over the chain spent on telling a moved row from an edited one. */
#define VERIFY_MAX_SEARCHES 3

DEFINE_TRIVIAL_CLEANUP_FUNC(struct trail_hasher *, trail_hasher_free);

struct trail_reader {
        sqlite3 *db;
        char *path;
        int version;
        bool had_wal;              /* a -wal with frames beside the file before we opened it */
        char *vm_endpoint;         /* --vm ENDPOINT:NAME's endpoint, for the query (resolve_query()) */
};

void trail_reader_free(struct trail_reader *r) {
        if (!r)
                return;
        sqlite3_close(r->db);
        free(r->path);
        free(r->vm_endpoint);
        free(r);
}

const char *trail_reader_path(const struct trail_reader *r) {
        return r->path;
}

int trail_reader_version(const struct trail_reader *r) {
        return r->version;
}

sqlite3 *trail_reader_db(struct trail_reader *r) {
        return r->db;
}

/*
 * Does path's -wal hold anything?  An empty one holds no rows: SQLite
 * leaves one behind after a read-only look at a WAL-mode file.
 */
static bool has_wal(const char *path) {
        _cleanup_free_ char *p = NULL;
        struct stat st;

        return asprintf(&p, "%s-wal", path) >= 0 && stat(p, &st) == 0 && st.st_size > 0;
}

/* Is the file in WAL mode?  Bytes 18 and 19 of its header are 2 (SQLite's file format). */
static bool wal_mode(const char *path) {
        unsigned char h[20];
        _cleanup_fclose_ FILE *f = fopen(path, "re");

        return f && fread(h, 1, sizeof h, f) == sizeof h && h[18] == 2 && h[19] == 2;
}

/* "file:" and path, absolute, with what a URI would take for its own escaped. */
static char *immutable_uri(const char *path) {
        _cleanup_free_ char *abs = realpath(path, NULL);
        char *uri = NULL;
        size_t len = 0;
        FILE *f;

        if (!abs || !(f = open_memstream(&uri, &len)))
                return NULL;
        fputs("file:", f);
        for (const char *c = abs; *c; c++)
                if (*c == '%' || *c == '?' || *c == '#')
                        fprintf(f, "%%%02x", (unsigned char) *c);
                else
                        fputc(*c, f);
        fputs("?immutable=1", f);
        if (fclose(f) != 0) {
                free(uri);
                return NULL;
        }
        return uri;
}

static int open_and_read_version(struct trail_reader *r, const char *name, int flags) {
        /* One thread: no mutexes, which is a fifth of verify's time otherwise. */
        int rc = sqlite3_open_v2(name, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | flags, NULL);

        if (rc == SQLITE_OK)
                rc = sqlite3_busy_timeout(r->db, READ_BUSY_TIMEOUT_MS);
        if (rc == SQLITE_OK && trail_schema_version(r->db, &r->version) < 0)
                rc = sqlite3_extended_errcode(r->db) ?: SQLITE_ERROR;
        return rc;
}

/*
 * A WAL-mode file on read-only media (a .backup copy, a live trail's file
 * copied to a DVD) cannot be opened as usual: SQLite wants to create its
 * -shm.  With no -wal next to it there is nothing SQLite would read from
 * one, so the file is opened as immutable; with a -wal, the rows in it
 * cannot be read here, and it is said so.
 */
static int open_read_only_media(struct trail_reader *r, int rc) {
        _cleanup_free_ char *uri = NULL;

        if ((rc & 0xff) != SQLITE_READONLY && (rc & 0xff) != SQLITE_CANTOPEN)
                return rc;
        if (r->had_wal) {
                log_error("%s: its rows since SQLite's last checkpoint are in %s-wal, which cannot be read here "
                          "(no %s-shm, and its directory is not writable). Copy the three files to writable "
                          "storage, or make copies with vmctl archive.", r->path, r->path, r->path);
                return rc;
        }
        uri = immutable_uri(r->path);
        if (!uri)
                return SQLITE_NOMEM;
        sqlite3_close(r->db);
        r->db = NULL;
        return open_and_read_version(r, uri, SQLITE_OPEN_URI);
}

/* Schema version 0: no trail at all, or the first page of one whose rows stayed in a -wal not copied. */
static int not_a_trail(const struct trail_reader *r) {
        if (wal_mode(r->path) && !r->had_wal)
                return log_error_errno(-ENODATA, "%s holds no trail yet: it is in WAL mode and its %s-wal file, "
                                       "where the rows are, is not here (a plain copy of a live trail?). Copy "
                                       "the trail with vmctl archive, or copy %s-wal with it.", r->path, r->path,
                                       r->path);
        return log_error_errno(-ENODATA, "%s is not a vmtraced trail (schema version 0: no tables).", r->path);
}

int trail_reader_open(const char *path, int min_version, struct trail_reader **out) {
        _cleanup_(trail_reader_freep) struct trail_reader *r = NULL;
        int rc;

        if (access(path, R_OK) < 0)
                return log_error_errno(-errno, "Cannot read %s: %m", path);
        r = calloc(1, sizeof *r);
        if (!r || !(r->path = strdup(path)))
                return log_oom();
        r->had_wal = has_wal(path);
        rc = open_and_read_version(r, path, 0);
        if (rc != SQLITE_OK)
                rc = open_read_only_media(r, rc);
        if (rc != SQLITE_OK) {
                log_error("Cannot open %s: %s", path, r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
                return -EIO;
        }
        if (r->version == 0)
                return not_a_trail(r);
        if (r->version < min_version) {
                log_error("%s has schema version %d: no hash chain yet (vmtraced migrates it at start-up).", path,
                          r->version);
                return -EPROTONOSUPPORT;
        }
        *out = TAKE_PTR(r);
        return 0;
}

static void log_difference(const char *difference, void *userdata) {
        log_error("%s: %s", (const char *) userdata, difference);
}

/* The schema compared with vmtraced's, fn told of each difference; verb: what the caller would do. */
static int check_schema(struct trail_reader *r, trail_schema_diff_fn fn, void *userdata, const char *verb,
                        unsigned *n) {
        int k = trail_schema_check(r->db, r->version, true, fn, userdata, n);

        if (k == -EPROTONOSUPPORT)
                return log_error_errno(k, "%s has schema version %d, from a newer vmtraced (this vmctl knows up to "
                                       "%d): %s it with that version's vmctl.", r->path, r->version,
                                       TRAIL_SCHEMA_VERSION, verb);
        if (k < 0)
                return log_error_errno(k, "Cannot read the schema of %s: %s", r->path, sqlite3_errmsg(r->db));
        return 0;
}

/*
 * Rows are read through the view `trail` only once the schema is the one
 * vmtraced made: a view redefined on a copy would show what it likes.
 */
static int check_schema_for_reading(struct trail_reader *r) {
        unsigned n;
        int k = check_schema(r, log_difference, r->path, "read", &n);

        if (k < 0)
                return k;
        if (n > 0)
                return log_error_errno(-EBADMSG, "%s: the schema is not the one vmtraced made (%u difference%s), so "
                                       "its rows are not shown; vmctl verify tells what changed.", r->path, n,
                                       n == 1 ? "" : "s");
        return 0;
}

static const char *col(sqlite3_stmt *s, int i) {
        return (const char *) sqlite3_column_text(s, i);
}

/* ---------- rows ---------- */

/* --source's values; the second stands for NULL, the source of every row vmtraced wrote itself. */
static const char *const source_values[] = { TRAIL_SOURCE_OUT_OF_BAND, TRAIL_SOURCE_VMTRACED, NULL };

/*
 * The operations and results vmtraced writes (daemon/backend.c,
 * commands.c, pool.c and audit.h; tests/log.test checks the list against
 * them).  A word that is not here but is in the file, from another
 * version of vmtraced, is taken too.
 */
static const char *const operation_values[] = {
        "RenameVM", "ModifyCPU", "ModifyMemory", "ModifyDisk", "StartVM", "StopVM", "ResetVM", "SuspendVM",
        "CloneVM", "MigrateVM", "SnapshotCreate", "SnapshotRevert", "SnapshotRemove", "DestroyVM", "CreateVM",
        "Login", "Logout", "CancelOperation", "WaitOperation", "ListVMs", "ShowVM", NULL,
};
static const char *const result_values[] = { "OK", "NG", "DENIED", "UNKNOWN", "PENDING", NULL };

/* What a filter's value may be: anything, a number, one of its words, or (known) one of them or in the file. */
enum filter_kind { FILTER_ANY, FILTER_NUMBER, FILTER_CLOSED, FILTER_KNOWN };

/*
 * The rows of each VM (endpoint and id) that was called :vm or renamed to
 * it.  The partial index records_renamed (schema 8) finds the renames.
 */
#define VM_NAMED " FROM records WHERE vm_id IS NOT NULL AND (vm_name = :vm OR (operation = 'RenameVM' AND after = :vm))"

/*
 * A filter: what it is called in errors, the query fragment it adds, the
 * parameter its value is bound to, the first schema version with its
 * column (0: every version), the fragment for a file older than that,
 * where the column would read NULL (NULL: no row matches), the column it
 * compares, and the values it takes.
 */
static const struct filter {
        const char *what;
        const char *param;
        const char *sql;
        int min_version;
        const char *sql_absent;
        enum filter_kind kind;
        const char *column;
        const char *const *values;
} filters[TRAIL_FILTER_MAX] = {
        [TRAIL_FILTER_USER] = { "user", ":user", " AND user = :user" },
        /*
         * The first term finds the rows through the indexes on name and id
         * (an id from any endpoint); the second keeps, of those found by
         * id, the ones of the same endpoint as the name's.
         */
        [TRAIL_FILTER_VM] = { "VM", ":vm", " AND (vm_name = :vm OR vm_id = :vm OR vm_id IN (SELECT vm_id" VM_NAMED "))"
                              " AND (vm_name = :vm OR vm_id = :vm OR (endpoint, vm_id) IN (SELECT endpoint, vm_id"
                              VM_NAMED "))" },
        [TRAIL_FILTER_OP] = { "operation", ":op", " AND operation = :op", .kind = FILTER_KNOWN,
                              .column = "operation", .values = operation_values },
        [TRAIL_FILTER_RESULT] = { "result", ":result", " AND result = :result", .kind = FILTER_KNOWN,
                                  .column = "result", .values = result_values },
        [TRAIL_FILTER_HOST] = { "host", ":host", " AND host = :host" },
        [TRAIL_FILTER_ENDPOINT] = { "endpoint", ":endpoint", " AND endpoint = :endpoint" },
        [TRAIL_FILTER_PLATFORM_USER] = { "platform user", ":platform_user", " AND platform_user = :platform_user",
                                         TRAIL_SCHEMA_PLATFORM_USER },
        /* "vmtraced" is bound as NULL through NULLIF, so "IS" keeps it one comparison on the index. */
        [TRAIL_FILTER_SOURCE] = { "source", ":source", " AND source IS NULLIF(:source, '" TRAIL_SOURCE_VMTRACED "')",
                                  TRAIL_SCHEMA_SOURCE,
                                  " AND NULLIF(:source, '" TRAIL_SOURCE_VMTRACED "') IS NULL", FILTER_CLOSED,
                                  .values = source_values },
        /* Bound as text, compared as a number: the column's INTEGER affinity converts it, on the index. */
        [TRAIL_FILTER_UID] = { "uid", ":uid", " AND uid = :uid", .kind = FILTER_NUMBER },
        [TRAIL_FILTER_LOGIN_UID] = { "login uid", ":login_uid", " AND login_uid = :login_uid",
                                     TRAIL_SCHEMA_HASH_VERSIONS, .kind = FILTER_NUMBER },
        [TRAIL_FILTER_FAULT] = { "fault", ":fault", " AND fault = :fault" },
        /*
         * From the trigram index (schema 8), as a phrase: the text's
         * trigrams in a row, then checked as it is.  Text shorter than a
         * trigram, or a file older than the index, is searched row by row
         * (message_sql()).
         */
        [TRAIL_FILTER_MESSAGE] = { "message", ":message",
                                   " AND id IN (SELECT rowid FROM records_message WHERE records_message MATCH"
                                   " '\"' || replace(:message, '\"', '\"\"') || '\"') AND instr(message, :message) > 0",
                                   TRAIL_SCHEMA_MESSAGE_INDEX, " AND instr(message, :message) > 0" },
};

/*
 * A file without the filter's column holds only rows where it would be
 * NULL: the query says what that means instead of failing on the column.
 */
static const char *filter_sql(const struct filter *f, int version) {
        if (version >= f->min_version)
                return f->sql;
        return f->sql_absent ? f->sql_absent : " AND 0";
}

/* UTF-8 characters in s. */
static size_t characters(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                n += ((unsigned char) *s & 0xc0) != 0x80;
        return n;
}

/*
 * The fragment filter i adds for value v.  A message text of fewer than
 * three characters has no trigram to look up: it is searched row by row.
 * With --vm, the endpoint is compared on the rows --vm's indexes find
 * (the unary +), since a whole endpoint is rarely the fewer rows.
 */
static const char *fragment(size_t i, const char *v, const struct trail_query *q, int version) {
        if (i == TRAIL_FILTER_MESSAGE && characters(v) < 3)
                return filters[i].sql_absent;
        if (i == TRAIL_FILTER_ENDPOINT && q->values[TRAIL_FILTER_VM])
                return " AND +endpoint = :endpoint";
        return filter_sql(&filters[i], version);
}

static bool in_list(const char *const *v, const char *value) {
        for (size_t i = 0; v[i]; i++)
                if (strcmp(v[i], value) == 0)
                        return true;
        return false;
}

/* Is value in the file's column (an operation an older vmtraced wrote, say)?  Found on the column's index. */
static bool in_file(struct trail_reader *r, const char *column, const char *value) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        _cleanup_free_ char *sql = NULL;

        if (asprintf(&sql, "SELECT 1 FROM records WHERE %s = ? LIMIT 1", column) < 0 ||
            sqlite3_prepare_v2(r->db, sql, -1, &s, NULL) != SQLITE_OK ||
            sqlite3_bind_text(s, 1, value, -1, SQLITE_STATIC) != SQLITE_OK)
                return false;
        return sqlite3_step(s) == SQLITE_ROW;
}

/* As word_nearness(), and the same word in another case is as near as a start. */
static int nearness(const char *value, const char *candidate) {
        return strcasecmp(candidate, value) == 0 ? 0 : word_nearness(value, candidate);
}

/* The words value may be a typo of ("did you mean"), at the nearest level, as vmctl's commands do; "" if none. */
static void nearest(const char *const *v, const char *value, char *buf, size_t len) {
        buf[0] = '\0';
        for (int level = 0; level <= 1 && !buf[0]; level++)
                for (size_t i = 0; v[i]; i++)
                        if (nearness(value, v[i]) == level)
                                strbuf_append(buf, len, " or ", "%s", v[i]);
}

static int unknown_word(const struct filter *f, const char *value) {
        char list[512] = "", near[128];

        for (size_t i = 0; f->values[i]; i++)
                strbuf_append(list, sizeof list, ", ", "%s", f->values[i]);
        nearest(f->values, value, near, sizeof near);
        if (near[0])
                log_error("Unknown %s \"%s\": did you mean %s?  The %s values are: %s.", f->what, value, near,
                          f->what, list);
        else
                log_error("Unknown %s \"%s\": use one of %s.", f->what, value, list);
        return -EINVAL;
}

static bool is_number(const char *s) {
        return s[0] && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 10;
}

/* A value the filter cannot take is a usage error (-EINVAL, logged), not a query that finds nothing. */
static int check_filter(struct trail_reader *r, const struct filter *f, const char *value) {
        switch (f->kind) {
        case FILTER_NUMBER:
                if (is_number(value))
                        return 0;
                log_error("Bad %s \"%s\": a number (use --user for a name).", f->what, value);
                return -EINVAL;
        case FILTER_CLOSED:
                return in_list(f->values, value) ? 0 : unknown_word(f, value);
        case FILTER_KNOWN:
                return in_list(f->values, value) || in_file(r, f->column, value) ? 0 : unknown_word(f, value);
        default:
                return 0;
        }
}

/*
 * The query to run: q checked, with --vm ENDPOINT:NAME split into the VM
 * and its endpoint when ENDPOINT is one the file has rows of (a name may
 * hold a colon) and --endpoint does not name another.
 */
static int resolve_query(struct trail_reader *r, const struct trail_query *q, struct trail_query *out) {
        const char *vm = q->values[TRAIL_FILTER_VM], *colon = vm ? strchr(vm, ':') : NULL;
        const char *endpoint = q->values[TRAIL_FILTER_ENDPOINT];

        for (size_t i = 0; i < ELEMENTSOF(filters); i++)
                if (q->values[i] && check_filter(r, &filters[i], q->values[i]) < 0)
                        return -EINVAL;
        *out = *q;
        if (!colon || colon == vm || !colon[1])
                return 0;
        free(r->vm_endpoint);
        r->vm_endpoint = strndup(vm, (size_t) (colon - vm));
        if (!r->vm_endpoint)
                return log_oom();
        if ((endpoint && strcmp(endpoint, r->vm_endpoint) != 0) || !in_file(r, "endpoint", r->vm_endpoint))
                return 0;
        out->values[TRAIL_FILTER_VM] = colon + 1;
        out->values[TRAIL_FILTER_ENDPOINT] = r->vm_endpoint;
        return 0;
}

static int build_query(const struct trail_query *q, int version, char **out) {
        char *sql = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&sql, &len);

        if (!f)
                return -ENOMEM;
        /* Only fixed fragments go into the text; values are bound by name below. */
        fputs("SELECT * FROM trail WHERE 1", f);
        if (q->has_since)
                fputs(" AND start_ms >= :since", f);
        if (q->has_until)
                fputs(" AND start_ms <= :until", f);
        for (size_t i = 0; i < ELEMENTSOF(filters); i++)
                if (q->values[i])
                        fputs(fragment(i, q->values[i], q, version), f);
        fputs(" ORDER BY start_ms, id", f);
        if (q->limit > 0)
                fputs(" LIMIT :limit", f);
        if (fclose(f) != 0) {
                free(sql);
                return -ENOMEM;
        }
        *out = sql;
        return 0;
}

static int bind_query(sqlite3_stmt *s, const struct trail_query *q) {
        int rc = SQLITE_OK;

        if (q->has_since)
                rc = sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":since"), q->since);
        if (rc == SQLITE_OK && q->has_until)
                rc = sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":until"), q->until);
        if (rc == SQLITE_OK && q->limit > 0)
                rc = sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":limit"), q->limit);
        for (size_t i = 0; rc == SQLITE_OK && i < ELEMENTSOF(filters); i++) {
                int k = q->values[i] ? sqlite3_bind_parameter_index(s, filters[i].param) : 0;
                /* 0: not given, or left out for an older file */
                if (k > 0)
                        rc = sqlite3_bind_text(s, k, q->values[i], -1, SQLITE_STATIC);
        }
        return rc;
}

const struct trail_value *trail_row_get(const struct trail_row *row, const char *name) {
        static const struct trail_value null = { .type = TRAIL_NULL };

        for (size_t i = 0; i < row->n; i++)
                if (strcmp(row->names[i], name) == 0)
                        return &row->values[i];
        return &null;
}

static int prepare_query(struct trail_reader *r, const struct trail_query *q, sqlite3_stmt **out) {
        _cleanup_free_ char *sql = NULL;
        int rc;

        if (build_query(q, r->version, &sql) < 0)
                return log_oom();
        rc = sqlite3_prepare_v2(r->db, sql, -1, out, NULL);
        if (rc == SQLITE_OK)
                rc = bind_query(*out, q);
        if (rc != SQLITE_OK) {
                log_error("Cannot query %s: %s", r->path, sqlite3_errmsg(r->db));
                return -EIO;
        }
        return 0;
}

int trail_reader_log(struct trail_reader *r, const struct trail_query *q, trail_row_fn fn, void *userdata) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        _cleanup_free_ const char **names = NULL;
        _cleanup_free_ struct trail_value *values = NULL;
        size_t n;
        int rc, ret;

        struct trail_query rq;

        ret = check_schema_for_reading(r);
        if (ret >= 0)
                ret = resolve_query(r, q, &rq);
        if (ret < 0)
                return ret;
        ret = prepare_query(r, &rq, &s);
        if (ret < 0)
                return ret;
        n = (size_t) sqlite3_column_count(s);
        names = calloc(n ?: 1, sizeof *names);
        values = calloc(n ?: 1, sizeof *values);
        if (!names || !values)
                return log_oom();

        const struct trail_row row = { .n = n, .names = names, .values = values };
        for (bool first = true; (rc = sqlite3_step(s)) == SQLITE_ROW; first = false) {
                /*
                 * Named after the first step: a value bound to a column of a
                 * partial index (operation, of records_renamed) has SQLite
                 * prepare the statement again there, which frees the names.
                 */
                for (size_t i = 0; first && i < n; i++)
                        names[i] = sqlite3_column_name(s, (int) i);
                trail_row_read(s, values, n);
                ret = fn(&row, userdata);
                if (ret < 0)
                        return ret;
        }
        if (rc != SQLITE_DONE) {
                log_error("Cannot read %s: %s", r->path, sqlite3_errmsg(r->db));
                return -EIO;
        }
        return 0;
}

int trail_reader_explain(struct trail_reader *r, const struct trail_query *q, trail_plan_fn fn, void *userdata) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        _cleanup_free_ char *sql = NULL, *plan = NULL;
        int rc, k;

        struct trail_query rq;

        k = check_schema_for_reading(r);
        if (k >= 0)
                k = resolve_query(r, q, &rq);
        if (k < 0)
                return k;
        if (build_query(&rq, r->version, &sql) < 0 || asprintf(&plan, "EXPLAIN QUERY PLAN %s", sql) < 0)
                return log_oom();
        rc = sqlite3_prepare_v2(r->db, plan, -1, &s, NULL);
        if (rc == SQLITE_OK)
                rc = bind_query(s, &rq);
        /* Rows: id, parent, notused, detail. */
        while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
                fn(strempty(col(s, 3)), userdata), rc = SQLITE_OK;
        if (rc != SQLITE_DONE) {
                log_error("Cannot explain the query on %s: %s", r->path, sqlite3_errmsg(r->db));
                return -EIO;
        }
        return 0;
}

/* ---------- the hash chain ---------- */

struct verifier {
        sqlite3 *db;
        struct trail_hasher *h;
        sqlite3_stmt *as_seq;      /* a row encoded as if it had another seq */
        sqlite3_stmt *at_seq;      /* the first row at a seq (stored_hash()) */
        const struct trail_verify_args *args;
        bool *seen;                /* per checkpoint: the walk reached its seq */
        unsigned problems;
        unsigned searches;         /* full passes made by find_owner() */
        /* Where the walk is: the seq it expects next, after row prev_id whose hash is prev. */
        int64_t expect, prev_id;
        unsigned char prev[TRAIL_HASH_SIZE];
        int64_t newest_version;    /* the highest hash encoding seen so far */
        int64_t anchor;            /* seq of the anchor (vmctl prune); rows at or below it are gone */
        int64_t from;              /* verify --from-checkpoint: the walk starts after it; 0: it does not */
        int64_t from_id;           /* ... from the row at it, which the walk then skips (start_holds() checked it) */
        size_t pruned_checkpoints; /* checkpoints below the anchor: in an archive, not here */
        /* A row already reported as moved here: when it comes, the chain goes on from explained_prev. */
        int64_t explained;
        unsigned char explained_prev[TRAIL_HASH_SIZE];
};

static void problem(struct verifier *v, const char *fmt, ...) _printf_(2, 3);
static void problem(struct verifier *v, const char *fmt, ...) {
        _cleanup_free_ char *text = NULL;
        va_list ap;
        int n;

        if (++v->problems > v->args->max_reports || !v->args->fn)
                return;
        va_start(ap, fmt);
        n = vasprintf(&text, fmt, ap);
        va_end(ap);
        if (n < 0) {
                text = NULL; /* counted, but no memory to say it */
                return;
        }
        v->args->fn(text, v->args->userdata);
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
        const struct trail_verify_args *a = v->args;

        for (size_t i = 0; i < a->n_checkpoints; i++)
                if (a->checkpoints[i].seq == seq) {
                        v->seen[i] = true;
                        if (memcmp(a->checkpoints[i].hash, hash, TRAIL_HASH_SIZE) != 0)
                                problem(v, "seq %" PRId64 " does not match the %scheckpoint: the rows up to it were "
                                        "rewritten consistently (or the checkpoint is from another trail)", seq,
                                        a->checkpoints[i].is_signed ? "signed " : "");
                }
}

int trail_checkpoint_append(struct trail_checkpoint **cps, size_t *n, const struct trail_checkpoint *cp) {
        struct trail_checkpoint *l = reallocarray(*cps, *n + 1, sizeof *l);

        if (!l)
                return log_oom();
        *cps = l;
        l[(*n)++] = *cp;
        return 0;
}

/* The stored hash of the first row at seq, into hash: 1, 0 when there is none or it is not a hash, or -EIO. */
static int stored_hash(struct verifier *v, int64_t seq, int64_t *rowid, unsigned char hash[TRAIL_HASH_SIZE]) {
        _cleanup_(stmt_resetp) sqlite3_stmt *s = v->at_seq;
        int rc;

        rc = sqlite3_bind_int64(s, 1, seq);
        if (rc == SQLITE_OK)
                rc = sqlite3_step(s);
        if (rc == SQLITE_DONE)
                return 0;
        if (rc != SQLITE_ROW)
                return log_error_errno(-EIO, "Cannot read the chain: %s", sqlite3_errmsg(v->db));
        *rowid = sqlite3_column_int64(s, 0);
        return trail_hash_from_hex(col(s, 1), hash) >= 0;
}

/* The row after seq, if it would fit at seq (after the walk's prev): rows were reordered, or one slipped in. */
static bool next_fits(struct verifier *v, int64_t seq, int64_t *other, unsigned char other_hash[TRAIL_HASH_SIZE]) {
        int64_t id;

        if (stored_hash(v, seq + 1, &id, other_hash) <= 0)
                return false;
        *other = id;
        return follows(v, id, seq, v->prev, other_hash);
}

/* Row who belongs where the current row is: the chain goes on from hash, and from stored when who comes. */
static void explain(struct verifier *v, int64_t who, unsigned char stored[TRAIL_HASH_SIZE],
                    const unsigned char hash[TRAIL_HASH_SIZE]) {
        v->explained = who;
        memcpy(v->explained_prev, stored, TRAIL_HASH_SIZE);
        memcpy(stored, hash, TRAIL_HASH_SIZE);
}

/*
 * Row rowid at seq does not carry the hash the walk computed: say why.
 * stored is its stored hash (valid: it is one), replaced by the hash the
 * chain goes on from when the row turns out to have been moved.
 */
static void diagnose(struct verifier *v, int64_t rowid, int64_t seq, const char *hex, bool valid,
                     unsigned char stored[TRAIL_HASH_SIZE]) {
        int64_t other = 0, owner = 0, owner_seq = 0;
        unsigned char other_hash[TRAIL_HASH_SIZE], owner_hash[TRAIL_HASH_SIZE];
        bool here = seq == v->expect;
        bool fits = here && valid && next_fits(v, seq, &other, other_hash);

        if (fits && fits_at(v, rowid, seq + 1, other_hash, hex)) {
                problem(v, "row id %" PRId64 " (seq %" PRId64 ") and row id %" PRId64 " (seq %" PRId64
                        ") were swapped: reordered", rowid, seq, other, seq + 1);
                explain(v, other, stored, other_hash);
        } else if (fits)
                problem(v, "row id %" PRId64 " (seq %" PRId64 ") does not belong before row id %" PRId64
                        ": inserted", rowid, seq, other);
        else if (here && valid && other != 0 && !follows(v, other, seq + 1, stored, other_hash) &&
                 find_owner(v, other, seq + 1, other_hash, &owner, &owner_seq, owner_hash)) {
                /* The next row follows another row's hash: that row was moved from here. */
                problem(v, "row id %" PRId64 " (seq %" PRId64 ") is out of place: row id %" PRId64
                        " (seq %" PRId64 ") belongs there: reordered", rowid, seq, owner, owner_seq);
                explain(v, owner, stored, owner_hash);
        } else if (here)
                problem(v, "row id %" PRId64 " (seq %" PRId64 ") does not match its hash: modified", rowid, seq);
        /* else: the gap reported before explains the mismatch. */
}

/* After a mismatch: got becomes the hash the chain goes on from. */
static void resync(struct verifier *v, int64_t rowid, int64_t seq, const char *hex,
                   unsigned char got[TRAIL_HASH_SIZE]) {
        unsigned char stored[TRAIL_HASH_SIZE];
        bool valid = hex && trail_hash_from_hex(hex, stored) >= 0;

        if (rowid == v->explained && valid) {
                /* The second half of a swap already reported: the chain goes on from its partner. */
                memcpy(got, v->explained_prev, TRAIL_HASH_SIZE);
                return;
        }
        diagnose(v, rowid, seq, hex, valid, stored);
        if (valid)
                memcpy(got, stored, TRAIL_HASH_SIZE);
        else
                memset(got, 0, TRAIL_HASH_SIZE);
}

static void check_gap(struct verifier *v, int64_t seq, int64_t rowid) {
        if (seq == v->expect + 1)
                problem(v, "seq %" PRId64 " is missing (between row id %" PRId64 " and row id %" PRId64 "): deleted",
                        v->expect, v->prev_id, rowid);
        else if (seq > v->expect)
                problem(v, "seq %" PRId64 "..%" PRId64 " are missing (between row id %" PRId64 " and row id %" PRId64
                        "): deleted", v->expect, seq - 1, v->prev_id, rowid);
        /* Resynchronise on the stored hash of the row before the gap: already in prev. */
}

/* vmtraced never writes a row of an older encoding after one of a newer. */
static void check_encoding(struct verifier *v, sqlite3_stmt *s, int64_t rowid, int64_t seq) {
        /* hash_version is the last column read. */
        int64_t version = sqlite3_column_int64(s, 2 + TRAIL_HASH_NCOLUMNS - 1);

        if (version < v->newest_version)
                problem(v, "row id %" PRId64 " (seq %" PRId64 ") claims hash encoding %" PRId64
                        " after rows with encoding %" PRId64 ": modified", rowid, seq, version, v->newest_version);
        else
                v->newest_version = version;
}

/* One row of the walk: rowid, hash, then the row from seq on. */
static int walk_row(struct verifier *v, sqlite3_stmt *s) {
        int64_t rowid = sqlite3_column_int64(s, 0), seq = sqlite3_column_int64(s, 2);
        const char *hex = col(s, 1);
        unsigned char got[TRAIL_HASH_SIZE];
        char got_hex[TRAIL_HASH_HEX_SIZE];
        int r;

        if (v->from > 0 && rowid == v->from_id)
                return 0; /* the checkpoint's own row: start_holds() checked it */
        if (sqlite3_column_type(s, 2) == SQLITE_INTEGER && v->anchor > 0 && seq <= v->anchor) {
                problem(v, "row id %" PRId64 " has seq %" PRId64 ", which the anchor says was pruned (the "
                        "chain starts after seq %" PRId64 "): put back, or the anchor moved", rowid, seq, v->anchor);
                return 0;
        }
        if (sqlite3_column_type(s, 2) != SQLITE_INTEGER || seq < v->expect) {
                problem(v, "row id %" PRId64 " claims seq %s, which row id %" PRId64 " already holds: "
                        "inserted or copied", rowid, strempty(col(s, 2)), v->prev_id);
                return 0;
        }
        check_gap(v, seq, rowid);
        check_encoding(v, s, rowid, seq);
        r = trail_hash_row(v->h, v->prev, s, 2, got);
        if (r == -EBADMSG)
                memset(got, 0, sizeof got); /* no known encoding: it cannot match, reported below */
        else if (r < 0)
                return log_oom();
        /* The stored text must be the canonical lowercase hex; comparing text is the fast path. */
        trail_hash_to_hex(got, got_hex);
        if (!hex || rowid == v->explained || strcmp(hex, got_hex) != 0)
                resync(v, rowid, seq, hex, got);
        check_checkpoints(v, seq, got);
        memcpy(v->prev, got, sizeof got);
        v->prev_id = rowid;
        v->expect = seq + 1;
        return 0;
}

/* Each row sql (with ?1 bound to arg, when it has one) returns, through walk_row(). */
static int walk_rows(struct verifier *v, const char *sql, int64_t arg) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        int rc;

        rc = sqlite3_prepare_v2(v->db, sql, -1, &s, NULL);
        if (rc == SQLITE_OK && sqlite3_bind_parameter_count(s) > 0)
                rc = sqlite3_bind_int64(s, 1, arg);
        if (rc != SQLITE_OK)
                return log_error("Cannot read the chain: %s", sqlite3_errmsg(v->db)), -EIO;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                int r = walk_row(v, s);
                if (r < 0)
                        return r;
        }
        if (rc != SQLITE_DONE)
                return log_error("Cannot read the chain: %s", sqlite3_errmsg(v->db)), -EIO;
        return 0;
}

/*
 * The whole chain, or with --from-checkpoint the rows from the checkpoint
 * on and then those claiming a seq below the chain's start (0, negative,
 * a fraction, or pruned): the full walk reports those, so this one must
 * too.  Both by the index on seq.
 */
static int walk_chain(struct verifier *v, const struct trail_chain_sql *sql) {
        int r;

        if (v->from == 0)
                return walk_rows(v, sql->walk, 0);
        r = walk_rows(v, sql->walk_from, v->from);
        if (r >= 0)
                r = walk_rows(v, sql->walk_below, v->anchor + 1);
        return r;
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

/*
 * Ids between the first row and the last that no row has (ids are handed
 * out in order): counted from max, min and count, each an O(log n) look or
 * one pass over the table's b-tree; only when some are missing is the
 * first of them looked for.
 */
static int count_id_gaps(struct verifier *v, struct trail_verify_result *out) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        int rc;

        rc = sqlite3_prepare_v2(v->db, "SELECT max(id) - min(id) + 1 - count(*) FROM records", -1, &s, NULL);
        if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
                out->id_gaps = sqlite3_column_int64(s, 0);
        if (rc != SQLITE_ROW)
                return log_error("Cannot read %s", sqlite3_errmsg(v->db)), -EIO;
        if (out->id_gaps <= 0)
                return 0;
        sqlite3_finalize(TAKE_PTR(s));
        rc = sqlite3_prepare_v2(v->db, "SELECT id + 1 FROM records AS r WHERE NOT EXISTS"
                                " (SELECT 1 FROM records WHERE id = r.id + 1) ORDER BY id LIMIT 1", -1, &s, NULL);
        if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
                out->first_gap = sqlite3_column_int64(s, 0);
        return rc == SQLITE_ROW ? 0 : -EIO;
}

static void schema_problem(const char *difference, void *userdata) {
        problem(userdata, "%s", difference);
}

/* What readers read must be what vmtraced made: each difference is a problem like an edited row. */
static int verify_schema(struct trail_reader *r, struct verifier *v) {
        unsigned n;

        return check_schema(r, schema_problem, v, "verify", &n);
}

int trail_reader_anchor(struct trail_reader *r, struct trail_anchor *out) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;

        *out = (struct trail_anchor) {};
        if (r->version < TRAIL_SCHEMA_ANCHOR || !trail_schema_has_table(r->db, "anchor"))
                return -ENOENT;
        if (sqlite3_prepare_v2(r->db, "SELECT seq, hash, last_id, pruned_ms, rows, archive FROM anchor"
                               " ORDER BY seq DESC LIMIT 1", -1, &s, NULL) != SQLITE_OK)
                return log_error_errno(-EIO, "Cannot read the anchor of %s: %s", r->path, sqlite3_errmsg(r->db));
        int rc = sqlite3_step(s);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW || trail_hash_from_hex(col(s, 1), out->at.hash) < 0 ||
            !(out->archive = strdup(strempty(col(s, 5)))))
                return log_error_errno(-EBADMSG, "%s: its anchor row is malformed.", r->path);
        out->at.seq = sqlite3_column_int64(s, 0);
        out->last_id = sqlite3_column_int64(s, 2);
        out->pruned_ms = sqlite3_column_int64(s, 3);
        out->rows = sqlite3_column_int64(s, 4);
        return 0;
}

/*
 * The walk starts after at (an anchor, or --from-checkpoint's checkpoint):
 * the checkpoints below it are not its to reach, marked seen and counted;
 * one at it must carry its hash.
 */
static size_t start_checkpoints(struct verifier *v, const struct trail_checkpoint *at) {
        size_t below = 0;

        for (size_t i = 0; i < v->args->n_checkpoints; i++)
                if (v->args->checkpoints[i].seq < at->seq) {
                        v->seen[i] = true;
                        below++;
                }
        check_checkpoints(v, at->seq, at->hash);
        return below;
}

/* A pruned trail's chain goes on from its anchor: the walk expects seq + 1 after hash. */
static int start_at_anchor(struct trail_reader *r, struct verifier *v) {
        struct trail_anchor a;
        int k = trail_reader_anchor(r, &a);

        if (k == -ENOENT)
                return 0;
        if (k < 0)
                return k;
        free(a.archive);
        v->anchor = a.at.seq;
        v->expect = a.at.seq + 1;
        memcpy(v->prev, a.at.hash, sizeof v->prev);
        /* A checkpoint in the pruned part cannot be reached here: at the anchor it must be the anchor's. */
        v->pruned_checkpoints = start_checkpoints(v, &a.at);
        return 0;
}

/*
 * The rows the incremental walk skips, seq anchor + 1 to from - 1, must be
 * as many as their seqs: a row inserted there (a second row with a seq, or
 * one with a fraction) or one deleted is still found, by one count over
 * the index on seq.  What they hold is not checked.
 */
static int count_skipped(struct verifier *v, int64_t from) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        int64_t want = from - 1 - v->anchor, got;
        int rc;

        rc = sqlite3_prepare_v2(v->db, "SELECT count(*) FROM records WHERE seq > ?1 AND seq < ?2", -1, &s, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(s, 1, v->anchor);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(s, 2, from);
        if (rc == SQLITE_OK)
                rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
                return log_error_errno(-EIO, "Cannot read the chain: %s", sqlite3_errmsg(v->db));
        got = sqlite3_column_int64(s, 0);
        if (got != want)
                problem(v, "seq %" PRId64 "..%" PRId64 ", before the checkpoint, are held by %" PRId64 " rows, not %"
                        PRId64 ": rows were %s there", v->anchor + 1, from - 1, got, want,
                        got > want ? "inserted" : "deleted");
        return 0;
}

/*
 * Does the trusted checkpoint from hold?  The row at its seq must carry its
 * hash, stored and recomputed from the stored hash of the row before it:
 * 1 with *rowid that row's, 0 (a problem reported), or -EIO.
 */
static int start_holds(struct verifier *v, const struct trail_checkpoint *from, int64_t *rowid) {
        const char *what = from->is_signed ? "signed checkpoint" : "checkpoint";
        unsigned char before[TRAIL_HASH_SIZE], stored[TRAIL_HASH_SIZE];
        int64_t before_id = 0;
        int k;

        /* Right after the anchor, or at seq 1, the row before is the anchor's hash or none: prev already. */
        memcpy(before, v->prev, sizeof before);
        k = stored_hash(v, from->seq, rowid, stored);
        if (k == 0)
                problem(v, "seq %" PRId64 ", which the %s the walk starts from names, is missing or has no valid "
                        "hash: rows were removed (or the checkpoint is from another trail)", from->seq, what);
        if (k <= 0)
                return k;
        k = from->seq - 1 > v->anchor ? stored_hash(v, from->seq - 1, &before_id, before) : 1;
        if (k == 0)
                problem(v, "seq %" PRId64 ", before the %s the walk starts from, is missing or has no valid "
                        "hash: deleted or modified", from->seq - 1, what);
        if (k <= 0)
                return k;
        if (memcmp(stored, from->hash, sizeof stored) == 0 && follows(v, *rowid, from->seq, before, from->hash))
                return 1;
        problem(v, "row id %" PRId64 " (seq %" PRId64 ") does not match the %s the walk starts from: the rows up to "
                "it were rewritten, or it was modified (or the checkpoint is from another trail)", *rowid, from->seq,
                what);
        return 0;
}

/*
 * verify --from-checkpoint: the walk goes on after the trusted checkpoint
 * from, as after an anchor, once start_holds() and count_skipped().  The
 * rows before it are not checked, and neither are the checkpoints below it
 * (marked seen: they are not the walk's to reach).  When the start does
 * not hold, the problem is reported and the whole chain is walked instead,
 * to say where it parts.
 */
static int start_from(struct verifier *v, const struct trail_checkpoint *from) {
        int64_t rowid = 0;
        int k = start_holds(v, from, &rowid);

        if (k <= 0)
                return k;
        if (count_skipped(v, from->seq) < 0)
                return -EIO;
        (void) start_checkpoints(v, from);
        v->from = from->seq;
        v->from_id = rowid;
        v->expect = from->seq + 1;
        v->prev_id = rowid;
        memcpy(v->prev, from->hash, sizeof v->prev);
        return 0;
}

/* Where the walk starts: after the anchor (vmctl prune), or after the trusted checkpoint (--from-checkpoint). */
static int find_start(struct trail_reader *r, struct verifier *v, const struct trail_verify_args *args) {
        int k = start_at_anchor(r, v);

        if (k < 0)
                return k;
        /* A checkpoint at or below the anchor starts nothing the anchor does not: the whole chain is walked. */
        if (args->from && args->from->seq > v->anchor)
                return start_from(v, args->from);
        return 0;
}

/* The walk, with seen[] (one flag per checkpoint) owned by the caller. */
static int verify_with(struct trail_reader *r, const struct trail_verify_args *args,
                       struct trail_verify_result *out, bool *seen) {
        const struct trail_chain_sql *sql = trail_schema_chain_sql(r->version);
        _cleanup_(trail_hasher_freep) struct trail_hasher *h = NULL;
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *as_seq = NULL, *at_seq = NULL;

        if (r->version < TRAIL_SCHEMA_CHAINED)
                return log_error_errno(-EPROTONOSUPPORT, "%s has schema version %d: no hash chain yet.", r->path,
                                       r->version);
        if (trail_hasher_new(&h) < 0)
                return log_oom();
        if (sqlite3_prepare_v2(r->db, sql->as_seq, -1, &as_seq, NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(r->db, "SELECT rowid, hash FROM records WHERE seq = ?1 ORDER BY rowid LIMIT 1", -1,
                               &at_seq, NULL) != SQLITE_OK) {
                log_error("Cannot read %s: %s", r->path, sqlite3_errmsg(r->db));
                return -EIO;
        }
        struct verifier v = { .db = r->db, .h = h, .as_seq = as_seq, .at_seq = at_seq, .args = args, .seen = seen,
                              .expect = 1 };
        *out = (struct trail_verify_result) {};

        /* One read transaction: a daemon writing meanwhile cannot make the walk see half a change. */
        if (sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
                return -EIO;
        int k = verify_schema(r, &v);
        if (k >= 0)
                k = find_start(r, &v, args);
        if (k < 0)
                return k;
        out->anchor_seq = v.anchor;
        out->from_seq = v.from;
        out->pruned_checkpoints = v.pruned_checkpoints;
        if (walk_chain(&v, sql) < 0 || check_unchained(&v, &out->pending) < 0 || count_id_gaps(&v, out) < 0)
                return -EIO;
        (void) sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);

        out->last_seq = v.expect - 1;
        for (size_t i = 0; i < args->n_checkpoints; i++)
                if (!seen[i])
                        problem(&v, "the chain ends at seq %" PRId64 " but a %scheckpoint names seq %" PRId64
                                ": rows at the end were removed", out->last_seq,
                                args->checkpoints[i].is_signed ? "signed " : "", args->checkpoints[i].seq);
        out->problems = v.problems;
        memcpy(out->head, v.prev, TRAIL_HASH_SIZE);
        return 0;
}

int trail_reader_verify(struct trail_reader *r, const struct trail_verify_args *args,
                        struct trail_verify_result *out) {
        bool *seen = calloc(args->n_checkpoints ?: 1, sizeof *seen);

        if (!seen)
                return log_oom();
        int k = verify_with(r, args, out, seen);
        free(seen);
        return k;
}

/* ---------- signed checkpoints ---------- */

int trail_reader_signatures(struct trail_reader *r, trail_signature_fn fn, void *userdata) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        int rc, n = 0;

        /* A table dropped from the file is the schema check's to report. */
        if (r->version < TRAIL_SCHEMA_SIGNED || !trail_schema_has_table(r->db, "signed_checkpoints"))
                return 0;
        rc = sqlite3_prepare_v2(r->db, "SELECT seq, hash, prev_seq, signed_ms, public_key, signature"
                                " FROM signed_checkpoints ORDER BY seq", -1, &s, NULL);
        while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
                struct trail_signature_row row = {
                        .c = { .seq = sqlite3_column_int64(s, 0), .prev_seq = sqlite3_column_int64(s, 2),
                               .signed_ms = sqlite3_column_int64(s, 3) },
                        .public_key = strempty(col(s, 4)),
                        .signature = strempty(col(s, 5)),
                };
                row.hash_ok = trail_hash_from_hex(col(s, 1), row.c.hash) >= 0;
                int k = fn(&row, userdata);
                if (k < 0)
                        return k;
                n++;
                rc = SQLITE_OK;
        }
        if (rc != SQLITE_DONE) {
                log_error("Cannot read the signed checkpoints of %s: %s", r->path, sqlite3_errmsg(r->db));
                return -EIO;
        }
        return n;
}

/* ---------- archives ---------- */

/* A new file at out, for nobody else: it holds the whole trail. */
static int create_new(const char *out) {
        _cleanup_close_ int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);

        if (fd < 0)
                return log_error_errno(-errno, "Cannot create %s: %m", out);
        return fsync(fd) < 0 ? log_error_errno(-errno, "Cannot write %s: %m", out) : 0;
}

/*
 * r's file copied page by page into out in one read transaction (SQLite's
 * backup API), then switched to the rollback journal: a single file that
 * reads on read-only media, with no -wal to lose.
 */
static int copy_to(struct trail_reader *r, const char *out) {
        _cleanup_(sqlite3_closep) sqlite3 *dst = NULL;
        int rc;

        rc = sqlite3_open_v2(out, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc == SQLITE_OK) {
                sqlite3_backup *b = sqlite3_backup_init(dst, "main", r->db, "main");

                if (!b)
                        rc = sqlite3_errcode(dst);
                else if ((rc = sqlite3_backup_step(b, -1)) == SQLITE_DONE)
                        rc = sqlite3_backup_finish(b);
                else
                        (void) sqlite3_backup_finish(b);
        }
        if (rc == SQLITE_OK)
                rc = sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                return log_error_errno(-EIO, "Cannot copy %s to %s: %s", r->path, out,
                                       dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
        return 0;
}

/* The archive's own row: when, from where, and the head its chain was verified to have. */
static int record_archive(const char *out, const char *source, const struct trail_verify_result *res) {
        _cleanup_(sqlite3_closep) sqlite3 *dst = NULL;
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        _cleanup_free_ char *abs = realpath(source, NULL);
        char hex[TRAIL_HASH_HEX_SIZE];
        int rc;

        trail_hash_to_hex(res->head, hex);
        rc = sqlite3_open_v2(out, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_exec(dst, "BEGIN", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
                rc = trail_schema_archive_create(dst) < 0 ? sqlite3_errcode(dst) : SQLITE_OK;
        if (rc == SQLITE_OK)
                rc = sqlite3_prepare_v2(dst, "INSERT INTO archive (made_ms, source, seq, hash) VALUES (?1, ?2, ?3, ?4)",
                                        -1, &s, NULL);
        if (rc == SQLITE_OK && (sqlite3_bind_int64(s, 1, now_ms()) != SQLITE_OK ||
                                sqlite3_bind_text(s, 2, abs ? abs : source, -1, SQLITE_STATIC) != SQLITE_OK ||
                                sqlite3_bind_int64(s, 3, res->last_seq) != SQLITE_OK ||
                                sqlite3_bind_text(s, 4, hex, -1, SQLITE_STATIC) != SQLITE_OK))
                rc = SQLITE_NOMEM;
        if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_DONE)
                rc = sqlite3_exec(dst, "COMMIT", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                return log_error_errno(-EIO, "Cannot record the head in %s: %s", out,
                                       dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
        return 0;
}

/*
 * Leave only the chain up to seq upto in the copy (prune's archive): the
 * rows after it, the PENDING rows and the signatures after it are the
 * remainder's.  The forwarding state is the live trail's alone.
 */
static int trim_copy(const char *out, int64_t upto) {
        _cleanup_(sqlite3_closep) sqlite3 *dst = NULL;
        _cleanup_free_ char *sql = NULL;
        int rc;

        /* Only files of schema 10 and later are pruned (trail_prune.c): every table named here exists. */
        if (asprintf(&sql, "BEGIN; DELETE FROM records WHERE seq IS NULL OR seq > %" PRId64 ";"
                     " DELETE FROM signed_checkpoints WHERE seq > %" PRId64 "; DELETE FROM forward_state;"
                     " COMMIT; VACUUM;", upto, upto) < 0)
                return log_oom();
        rc = sqlite3_open_v2(out, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_exec(dst, sql, NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                return log_error_errno(-EIO, "Cannot trim %s to seq %" PRId64 ": %s", out, upto,
                                       dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
        return 0;
}

/* The copy verified as it is, before its archive row is added; upto > 0: trimmed to it first. */
static int archive_into(struct trail_reader *r, const char *out, int64_t upto, const struct trail_verify_args *args,
                        struct trail_verify_result *res) {
        _cleanup_(trail_reader_freep) struct trail_reader *copy = NULL;
        int k = copy_to(r, out);

        if (k >= 0 && upto > 0)
                k = trim_copy(out, upto);

        if (k >= 0)
                k = trail_reader_open(out, TRAIL_SCHEMA_CHAINED, &copy);
        if (k >= 0)
                k = trail_reader_verify(copy, args, res);
        trail_reader_free(TAKE_PTR(copy));
        if (k >= 0)
                k = record_archive(out, r->path, res);
        return k;
}

int trail_reader_archive(struct trail_reader *r, const char *out, const struct trail_verify_args *args,
                         struct trail_verify_result *res) {
        return trail_reader_archive_upto(r, out, 0, args, res);
}

int trail_reader_archive_upto(struct trail_reader *r, const char *out, int64_t upto,
                              const struct trail_verify_args *args, struct trail_verify_result *res) {
        int k;

        if (r->version < TRAIL_SCHEMA_CHAINED)
                return log_error_errno(-EPROTONOSUPPORT, "%s has schema version %d: no hash chain to archive yet.",
                                       r->path, r->version);
        k = create_new(out);
        if (k < 0)
                return k;
        k = archive_into(r, out, upto, args, res);
        if (k < 0) {
                _cleanup_free_ char *journal = NULL;

                (void) unlink(out);
                if (asprintf(&journal, "%s-journal", out) >= 0)
                        (void) unlink(journal);
        }
        return k;
}

int trail_reader_archive_head(struct trail_reader *r, struct trail_archive *out) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        int rc;

        *out = (struct trail_archive) {};
        rc = sqlite3_prepare_v2(r->db, "SELECT made_ms, source, seq, hash FROM archive", -1, &s, NULL);
        if (rc != SQLITE_OK)
                return -ENOENT; /* no such table: not an archive */
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW || sqlite3_column_type(s, 2) != SQLITE_INTEGER ||
            trail_hash_from_hex(col(s, 3), out->head.hash) < 0 || !(out->source = strdup(strempty(col(s, 1)))))
                return log_error_errno(-EBADMSG, "%s: its archive row is missing or malformed.", r->path);
        out->made_ms = sqlite3_column_int64(s, 0);
        out->head.seq = sqlite3_column_int64(s, 2);
        if (sqlite3_step(s) != SQLITE_DONE) {
                free(TAKE_PTR(out->source)); /* the caller owns it only on success */
                return log_error_errno(-EBADMSG, "%s: it holds more than one archive row.", r->path);
        }
        return 0;
}

