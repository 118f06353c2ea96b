/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The audit store (see audit.h): the only module that speaks SQL.
 *
 * Every statement is prepared once at open, cached on struct audit and
 * bound by named parameter, so no value a client sent can ever become SQL.
 * Writes run in autocommit mode: each INSERT/UPDATE is its own transaction,
 * and with journal_mode=WAL + synchronous=FULL it is fsync'ed to the WAL
 * before sqlite3_step() returns, which is the durability audit_begin()
 * promises its callers.
 *
 * The schema is versioned with PRAGMA user_version; migrations[] holds one
 * step per version (N -> N+1), each applied in its own transaction.  A
 * database written by a newer vmtraced is refused rather than guessed at.
 *
 * Auditors read the view `trail`, which is the stable interface; the table
 * `records` is an implementation detail that later versions may extend.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>

#include "audit.h"
#include "log.h"
#include "macros.h"

#define AUDIT_DB_MODE 0640
#define AUDIT_BUSY_TIMEOUT_MS 5000

DEFINE_TRIVIAL_CLEANUP_FUNC(sqlite3_stmt *, sqlite3_finalize);

struct audit {
        sqlite3 *db;
        char *path;
        /* Serialises every call; guards next_id and the cached statements. */
        pthread_mutex_t lock;
        int64_t next_id;
        sqlite3_stmt *stmt_insert;
        sqlite3_stmt *stmt_finish;
        sqlite3_stmt *stmt_result;
        sqlite3_stmt *stmt_get;
};

/*
 * Schema version 1.
 *
 * records: one row per operation, written by audit_begin() (result PENDING)
 * and completed by audit_finish(), or written whole by audit_insert().
 *
 * trail (view, the auditors' interface), one row per operation:
 *   id            row id; also sent to the platform as operationID
 *   start_time    ISO 8601 UTC with milliseconds, e.g. 2026-01-02T03:04:05.678Z
 *   end_time      same format; NULL while the operation is PENDING
 *   start_ms      start as milliseconds since the Unix epoch (UTC)
 *   end_ms        end as milliseconds since the epoch; NULL while PENDING
 *   operation     what was asked: RenameVM, PowerOnVM, Login, Logout, ...
 *   uid, gid, pid who asked, from the socket's SO_PEERCRED (never the request)
 *   user          user name of uid at the time of the request
 *   endpoint      configured endpoint name (vmtraced.conf section)
 *   endpoint_url  that endpoint's URL at the time of the request
 *   host          hypervisor host the VM ran on
 *   vm_name       VM name (before a rename: the old name)
 *   vm_id         platform managed object id, e.g. vm-42
 *   vm_uuid       VM BIOS/instance UUID
 *   before        state before the operation (operation-specific text)
 *   after         requested / resulting state
 *   result        PENDING, OK, NG, DENIED or UNKNOWN (outcome not known,
 *                 e.g. the connection was lost after the request was sent)
 *   fault         platform fault name, e.g. InvalidPowerState
 *   message       human-readable reason
 *   task          platform task id, e.g. task-17
 *
 * The times are built from integer arithmetic rather than strftime('%f')
 * on a floating-point second count, so the milliseconds are exact.
 */
static const char schema_v1[] =
        "CREATE TABLE records (\n"
        " id INTEGER PRIMARY KEY,\n"
        " start_ms INTEGER NOT NULL,\n"
        " end_ms INTEGER,\n"
        " operation TEXT NOT NULL,\n"
        " uid INTEGER, gid INTEGER, pid INTEGER,\n"
        " user TEXT,\n"
        " endpoint TEXT, endpoint_url TEXT, host TEXT,\n"
        " vm_name TEXT, vm_id TEXT, vm_uuid TEXT,\n"
        " before TEXT, after TEXT,\n"
        " result TEXT NOT NULL CHECK(result IN ('PENDING','OK','NG','DENIED','UNKNOWN')),\n"
        " fault TEXT, message TEXT, task TEXT);\n"
        "CREATE INDEX records_start_ms ON records(start_ms);\n"
        "CREATE INDEX records_user ON records(user);\n"
        "CREATE INDEX records_vm_name ON records(vm_name);\n"
        "CREATE INDEX records_operation ON records(operation);\n"
        "CREATE VIEW trail AS SELECT\n"
        " id,\n"
        " strftime('%Y-%m-%dT%H:%M:%S', start_ms / 1000, 'unixepoch')\n"
        "  || printf('.%03dZ', start_ms % 1000) AS start_time,\n"
        " strftime('%Y-%m-%dT%H:%M:%S', end_ms / 1000, 'unixepoch')\n"
        "  || printf('.%03dZ', end_ms % 1000) AS end_time,\n"
        " start_ms, end_ms, operation, uid, gid, pid, user,\n"
        " endpoint, endpoint_url, host, vm_name, vm_id, vm_uuid,\n"
        " before, after, result, fault, message, task\n"
        " FROM records;\n"
        "PRAGMA user_version = 1;";

/*
 * migrations[N] takes the schema from version N to N+1 inside the caller's
 * transaction, and must itself set PRAGMA user_version = N+1.  To change the
 * schema, append a step; never edit a released one.
 */
static int migrate_0_to_1(sqlite3 *db) {
        return sqlite3_exec(db, schema_v1, NULL, NULL, NULL);
}

static int (*const migrations[])(sqlite3 *db) = {
        migrate_0_to_1,
};

#define AUDIT_SCHEMA_VERSION ((int) ELEMENTSOF(migrations))

static int sqlite_to_errno(int rc) {
        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_ROW:
        case SQLITE_DONE:
                return 0;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_READONLY:
                return -EROFS;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_CONSTRAINT:
                /* Only a reused id can trip the primary key. */
                return rc == SQLITE_CONSTRAINT_PRIMARYKEY ? -EEXIST : -EINVAL;
        default:
                return -EIO;
        }
}

/* Log the connection's error message and return the matching -errno. */
static int log_sqlite(struct audit *a, int rc, const char *what) {
        return log_error_errno(sqlite_to_errno(rc) ?: -EIO, "Failed to %s in %s: %s",
                               what, a->path, sqlite3_errmsg(a->db));
}

static int64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void unlockp(pthread_mutex_t **m) {
        if (*m)
                pthread_mutex_unlock(*m);
}

static pthread_mutex_t *lock(struct audit *a) {
        pthread_mutex_lock(&a->lock);
        return &a->lock;
}

/* Cached statements are reset (not finalized) when a call is done with them. */
static void stmt_resetp(sqlite3_stmt **s) {
        if (*s) {
                sqlite3_reset(*s);
                sqlite3_clear_bindings(*s);
        }
}

/* Create the file ourselves so its mode is 0640 whatever the umask. */
static int create_db_file(const char *path) {
        _cleanup_close_ int fd = -1;

        /* Existing file: keep the mode the administrator chose.  Checked
         * first because O_CREAT in a read-only directory fails with EACCES
         * even when the file exists. */
        if (access(path, F_OK) == 0)
                return 0;
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, AUDIT_DB_MODE);
        if (fd < 0) {
                if (errno == EEXIST)
                        return 0;
                return log_error_errno(-errno, "Failed to create %s: %m", path);
        }
        if (fchmod(fd, AUDIT_DB_MODE) < 0)
                return log_error_errno(-errno, "Failed to set mode of %s: %m", path);
        return 0;
}

static int exec(struct audit *a, const char *sql) {
        int rc = sqlite3_exec(a->db, sql, NULL, NULL, NULL);

        if (rc != SQLITE_OK)
                return log_sqlite(a, rc, sql);
        return 0;
}

static int query_int64(struct audit *a, const char *sql, int64_t *out) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        int rc;

        rc = sqlite3_prepare_v2(a->db, sql, -1, &s, NULL);
        if (rc != SQLITE_OK)
                return log_sqlite(a, rc, sql);
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
                return log_sqlite(a, rc, sql);
        *out = sqlite3_column_int64(s, 0);
        return 0;
}

static int set_pragmas(struct audit *a) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        const unsigned char *mode;
        int rc, r;

        /* journal_mode answers with the mode it actually got. */
        rc = sqlite3_prepare_v2(a->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
        if (rc != SQLITE_OK)
                return log_sqlite(a, rc, "set journal_mode");
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
                return log_sqlite(a, rc, "set journal_mode");
        mode = sqlite3_column_text(s, 0);
        if (!mode || strcmp((const char *) mode, "wal") != 0)
                return log_error_errno(-EIO, "Failed to enable WAL journal on %s (got %s)",
                                       a->path, mode ? (const char *) mode : "nothing");

        r = exec(a, "PRAGMA synchronous = FULL");
        if (r < 0)
                return r;
        r = exec(a, "PRAGMA foreign_keys = ON");
        if (r < 0)
                return r;
        rc = sqlite3_busy_timeout(a->db, AUDIT_BUSY_TIMEOUT_MS);
        if (rc != SQLITE_OK)
                return log_sqlite(a, rc, "set busy timeout");
        return 0;
}

/* Checked before any PRAGMA that writes, so a refused file is left as it was. */
static int check_version(struct audit *a, int64_t *version) {
        int r;

        r = query_int64(a, "PRAGMA user_version", version);
        if (r < 0)
                return r;
        if (*version > AUDIT_SCHEMA_VERSION || *version < 0)
                return log_error_errno(-EPROTONOSUPPORT,
                                       "Database %s has schema version %" PRId64
                                       ", but this vmtraced only knows versions up to %d; refusing to use it",
                                       a->path, *version, AUDIT_SCHEMA_VERSION);
        return 0;
}

static int migrate(struct audit *a, int64_t version) {
        int r, rc;

        for (; version < AUDIT_SCHEMA_VERSION; version++) {
                /* IMMEDIATE: take the write lock before reading the schema. */
                r = exec(a, "BEGIN IMMEDIATE");
                if (r < 0)
                        return r;
                rc = migrations[version](a->db);
                if (rc != SQLITE_OK) {
                        r = log_error_errno(sqlite_to_errno(rc) ?: -EIO,
                                            "Failed to migrate %s from schema version %" PRId64 ": %s",
                                            a->path, version, sqlite3_errmsg(a->db));
                        (void) sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
                        return r;
                }
                r = exec(a, "COMMIT");
                if (r < 0) {
                        (void) sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
                        return r;
                }
                log_info("Migrated %s to schema version %" PRId64, a->path, version + 1);
        }
        return 0;
}

static int prepare(struct audit *a, const char *sql, sqlite3_stmt **s) {
        int rc = sqlite3_prepare_v3(a->db, sql, -1, SQLITE_PREPARE_PERSISTENT, s, NULL);

        if (rc != SQLITE_OK)
                return log_sqlite(a, rc, "prepare statement");
        return 0;
}

static int prepare_all(struct audit *a) {
        int r;

        r = prepare(a,
                    "INSERT INTO records (id, start_ms, end_ms, operation, uid, gid, pid, user,"
                    " endpoint, endpoint_url, host, vm_name, vm_id, vm_uuid, before, after,"
                    " result, fault, message, task) VALUES"
                    " (:id, :start_ms, :end_ms, :operation, :uid, :gid, :pid, :user,"
                    " :endpoint, :endpoint_url, :host, :vm_name, :vm_id, :vm_uuid, :before, :after,"
                    " :result, :fault, :message, :task)",
                    &a->stmt_insert);
        if (r < 0)
                return r;
        /* Fields known at begin time are kept when finish passes NULL. */
        r = prepare(a,
                    "UPDATE records SET end_ms = :end_ms,"
                    " host = COALESCE(:host, host),"
                    " vm_name = COALESCE(:vm_name, vm_name),"
                    " vm_id = COALESCE(:vm_id, vm_id),"
                    " vm_uuid = COALESCE(:vm_uuid, vm_uuid),"
                    " before = COALESCE(:before, before),"
                    " after = COALESCE(:after, after),"
                    " result = :result, fault = :fault, message = :message, task = :task"
                    " WHERE id = :id AND result = 'PENDING'",
                    &a->stmt_finish);
        if (r < 0)
                return r;
        r = prepare(a, "SELECT result FROM records WHERE id = :id", &a->stmt_result);
        if (r < 0)
                return r;
        return prepare(a, "SELECT * FROM trail WHERE id = :id", &a->stmt_get);
}

int audit_open(const char *path, struct audit **out) {
        struct audit *a;
        int64_t version;
        int r, rc;

        a = calloc(1, sizeof *a);
        if (!a)
                return log_oom();
        pthread_mutex_init(&a->lock, NULL);
        a->path = strdup(path);
        if (!a->path) {
                audit_close(a);
                return log_oom();
        }

        r = create_db_file(path);
        if (r < 0) {
                audit_close(a);
                return r;
        }

        rc = sqlite3_open_v2(path, &a->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                             NULL);
        if (rc != SQLITE_OK) {
                r = log_error_errno(sqlite_to_errno(rc) ?: -EIO, "Failed to open %s: %s", path,
                                    a->db ? sqlite3_errmsg(a->db) : sqlite3_errstr(rc));
                audit_close(a);
                return r;
        }
        sqlite3_extended_result_codes(a->db, 1);

        r = check_version(a, &version);
        if (r >= 0)
                r = set_pragmas(a);
        if (r >= 0)
                r = migrate(a, version);
        if (r >= 0)
                r = prepare_all(a);
        if (r >= 0)
                r = query_int64(a, "SELECT COALESCE(MAX(id), 0) + 1 FROM records", &a->next_id);
        if (r < 0) {
                audit_close(a);
                return r;
        }

        *out = a;
        return 0;
}

void audit_close(struct audit *a) {
        if (!a)
                return;
        sqlite3_finalize(a->stmt_insert);
        sqlite3_finalize(a->stmt_finish);
        sqlite3_finalize(a->stmt_result);
        sqlite3_finalize(a->stmt_get);
        /* Last close checkpoints the WAL into the main file. */
        if (a->db && sqlite3_close(a->db) != SQLITE_OK)
                log_warning("Failed to close %s: %s", a->path, sqlite3_errmsg(a->db));
        pthread_mutex_destroy(&a->lock);
        free(a->path);
        free(a);
}

/* Called with the lock held. */
static int64_t reserve_id_locked(struct audit *a) {
        return a->next_id++;
}

int64_t audit_reserve_id(struct audit *a) {
        _cleanup_(unlockp) _unused_ pthread_mutex_t *m = lock(a);

        return reserve_id_locked(a);
}

static int bind_text(sqlite3_stmt *s, const char *name, const char *v) {
        int i = sqlite3_bind_parameter_index(s, name);

        if (i == 0)
                return SQLITE_OK; /* this statement does not use the field */
        if (!v)
                return sqlite3_bind_null(s, i);
        return sqlite3_bind_text64(s, i, v, strlen(v), SQLITE_TRANSIENT, SQLITE_UTF8);
}

static int bind_int(sqlite3_stmt *s, const char *name, bool null, int64_t v) {
        int i = sqlite3_bind_parameter_index(s, name);

        if (i == 0)
                return SQLITE_OK;
        if (null)
                return sqlite3_bind_null(s, i);
        return sqlite3_bind_int64(s, i, v);
}

/*
 * Bind every field of r that s names.  uid/gid (uid_t)-1 and pid <= 0 mean
 * "unknown" and are stored as NULL; end_ms 0 means "not ended".
 */
static int bind_record(sqlite3_stmt *s, const struct audit_record *r, const char *result) {
        const struct {
                const char *name;
                const char *value;
        } texts[] = {
                { ":operation", r->operation },
                { ":user", r->user },
                { ":endpoint", r->endpoint },
                { ":endpoint_url", r->endpoint_url },
                { ":host", r->host },
                { ":vm_name", r->vm_name },
                { ":vm_id", r->vm_id },
                { ":vm_uuid", r->vm_uuid },
                { ":before", r->before },
                { ":after", r->after },
                { ":result", result },
                { ":fault", r->fault },
                { ":message", r->message },
                { ":task", r->task },
        };
        int rc;

        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                rc = bind_text(s, texts[i].name, texts[i].value);
                if (rc != SQLITE_OK)
                        return rc;
        }
        if ((rc = bind_int(s, ":id", false, r->id)) != SQLITE_OK ||
            (rc = bind_int(s, ":start_ms", false, r->start_ms)) != SQLITE_OK ||
            (rc = bind_int(s, ":end_ms", r->end_ms == 0, r->end_ms)) != SQLITE_OK ||
            (rc = bind_int(s, ":uid", r->uid == (uid_t) -1, r->uid)) != SQLITE_OK ||
            (rc = bind_int(s, ":gid", r->gid == (gid_t) -1, r->gid)) != SQLITE_OK ||
            (rc = bind_int(s, ":pid", r->pid <= 0, r->pid)) != SQLITE_OK)
                return rc;
        return SQLITE_OK;
}

static bool result_is_final(const char *result) {
        static const char *const finals[] = {
                AUDIT_RESULT_OK, AUDIT_RESULT_NG, AUDIT_RESULT_DENIED, AUDIT_RESULT_UNKNOWN,
        };

        if (!result)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(finals); i++)
                if (strcmp(result, finals[i]) == 0)
                        return true;
        return false;
}

/* Write r as a new row with the given result; the lock is held. */
static int insert_locked(struct audit *a, struct audit_record *r, const char *result) {
        _cleanup_(stmt_resetp) sqlite3_stmt *s = a->stmt_insert;
        int rc;

        if (!r->operation)
                return log_error_errno(-EINVAL, "Audit record without operation");
        if (r->id == 0)
                r->id = reserve_id_locked(a);
        if (r->start_ms == 0)
                r->start_ms = now_ms();

        rc = bind_record(s, r, result);
        if (rc != SQLITE_OK)
                return log_sqlite(a, rc, "bind audit record");
        /* Autocommit: this step is the whole transaction, durable on return. */
        rc = sqlite3_step(s);
        if (rc != SQLITE_DONE)
                return log_sqlite(a, rc, "write audit record");
        /* Keep the counter ahead of ids chosen by callers. */
        if (r->id >= a->next_id)
                a->next_id = r->id + 1;
        return 0;
}

int audit_begin(struct audit *a, struct audit_record *r) {
        _cleanup_(unlockp) _unused_ pthread_mutex_t *m = lock(a);

        return insert_locked(a, r, AUDIT_RESULT_PENDING);
}

int audit_insert(struct audit *a, struct audit_record *r) {
        _cleanup_(unlockp) _unused_ pthread_mutex_t *m = lock(a);

        if (!result_is_final(r->result))
                return log_error_errno(-EINVAL, "Audit record of %s with invalid result %s",
                                       strempty(r->operation), strempty(r->result));
        if (r->end_ms == 0)
                r->end_ms = now_ms();
        return insert_locked(a, r, r->result);
}

/* Why did finish change nothing?  -ENOENT (no row) or -EALREADY (completed). */
static int finish_failure(struct audit *a, int64_t id) {
        _cleanup_(stmt_resetp) sqlite3_stmt *s = a->stmt_result;
        int rc;

        rc = sqlite3_bind_int64(s, 1, id);
        if (rc != SQLITE_OK)
                return log_sqlite(a, rc, "bind id");
        rc = sqlite3_step(s);
        if (rc == SQLITE_DONE)
                return log_error_errno(-ENOENT, "Audit record %" PRId64 " does not exist", id);
        if (rc != SQLITE_ROW)
                return log_sqlite(a, rc, "read audit record");
        return log_error_errno(-EALREADY, "Audit record %" PRId64 " is already complete (%s)",
                               id, (const char *) sqlite3_column_text(s, 0));
}

int audit_finish(struct audit *a, const struct audit_record *r) {
        _cleanup_(unlockp) _unused_ pthread_mutex_t *m = lock(a);
        struct audit_record copy = *r;
        int rc;

        if (!result_is_final(r->result))
                return log_error_errno(-EINVAL, "Cannot finish audit record %" PRId64
                                       " with result %s", r->id, strempty(r->result));
        if (copy.end_ms == 0)
                copy.end_ms = now_ms();

        {
                _cleanup_(stmt_resetp) sqlite3_stmt *s = a->stmt_finish;

                rc = bind_record(s, &copy, copy.result);
                if (rc != SQLITE_OK)
                        return log_sqlite(a, rc, "bind audit record");
                rc = sqlite3_step(s);
                if (rc != SQLITE_DONE)
                        return log_sqlite(a, rc, "complete audit record");
                if (sqlite3_changes(a->db) == 1)
                        return 0;
        }
        return finish_failure(a, r->id);
}

static int column_to_json(sqlite3_stmt *s, int i, struct json_object **out) {
        switch (sqlite3_column_type(s, i)) {
        case SQLITE_NULL:
                *out = NULL; /* json-c stores NULL as JSON null */
                return 0;
        case SQLITE_INTEGER:
                *out = json_object_new_int64(sqlite3_column_int64(s, i));
                break;
        case SQLITE_FLOAT:
                *out = json_object_new_double(sqlite3_column_double(s, i));
                break;
        default: {
                const unsigned char *t = sqlite3_column_text(s, i);
                *out = json_object_new_string_len(t ? (const char *) t : "",
                                                  sqlite3_column_bytes(s, i));
                break;
        }
        }
        return *out ? 0 : -ENOMEM;
}

int audit_get_json(struct audit *a, int64_t id, struct json_object **out) {
        _cleanup_(unlockp) _unused_ pthread_mutex_t *m = lock(a);
        _cleanup_(stmt_resetp) sqlite3_stmt *s = a->stmt_get;
        struct json_object *o;
        int rc, r;

        rc = sqlite3_bind_int64(s, 1, id);
        if (rc != SQLITE_OK)
                return log_sqlite(a, rc, "bind id");
        rc = sqlite3_step(s);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return log_sqlite(a, rc, "read audit record");

        o = json_object_new_object();
        if (!o)
                return log_oom();
        for (int i = 0; i < sqlite3_column_count(s); i++) {
                struct json_object *v;

                r = column_to_json(s, i, &v);
                if (r < 0 || json_object_object_add(o, sqlite3_column_name(s, i), v) < 0) {
                        json_object_put(v);
                        json_object_put(o);
                        return log_oom();
                }
        }
        *out = o;
        return 0;
}

/* --- issue 5 (control plane): database health for "vmctl status" --- */
int audit_health(struct audit *a, char *buf, size_t len) {
        _cleanup_(unlockp) _unused_ pthread_mutex_t *m = lock(a);
        sqlite3_stmt *s = NULL;
        int rc;

        /* quick_check reads every page but skips the index cross-checks: "ok" or the problems found. */
        rc = sqlite3_prepare_v2(a->db, "PRAGMA quick_check(1)", -1, &s, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
                snprintf(buf, len, "%s", (const char *) sqlite3_column_text(s, 0));
        else
                snprintf(buf, len, "%s", sqlite3_errmsg(a->db));
        sqlite3_finalize(s);
        return rc == SQLITE_ROW && strcmp(buf, "ok") == 0 ? 0 : -EIO;
}
