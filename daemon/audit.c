/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The audit store (see audit.h): the daemon's only module that speaks SQL.
 *
 * Every statement is prepared once at open, cached on struct audit and
 * bound by named parameter, so no value a client sent can ever become SQL.
 * With journal_mode=WAL + synchronous=FULL a COMMIT is fsync'ed to the WAL
 * before it returns, which is the durability audit_begin() promises its
 * callers.  Rows written at the same time share one transaction (group
 * commit, see write_grouped()); a write alone is its own.
 *
 * The schema, its versions and the migrations between them are
 * common/trail_schema.c's, shared with vmctl, which reads the file.  Here
 * each migration step runs in its own transaction at open, and a database
 * written by a newer vmtraced is refused rather than guessed at.
 *
 * Tamper evidence (schema v2): completing a row (audit_finish, audit_insert)
 * is one transaction that writes the outcome, gives the row the next seq and
 * stores hash = SHA-256(previous hash || canonical encoding of the row) as
 * read back from the table, so the chain covers exactly what is stored (see
 * common/trail_hash.h).  The chain head (last seq and hash) is kept in memory
 * and only advanced after COMMIT succeeded.
 *
 * Fail-closed: a completion the database refuses is kept in memory, in
 * order, and retried by a background thread; meanwhile audit_degraded() is
 * true and audit_begin() refuses, so nothing new reaches a platform while an
 * outcome is unwritten.  Every completed row is also mirrored to the journal,
 * and every checkpoint_interval rows (and at close) the chain head is.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <grp.h>
#include <json-c/json.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "audit.h"
#include "log.h"
#include "macros.h"
#include "metrics.h"
#include "signer.h"
#include "trail_hash.h"
#include "trail_schema.h"
#include "util.h"

#define AUDIT_DB_MODE 0640
#define AUDIT_BUSY_TIMEOUT_MS 5000
#define AUDIT_RETRY_INTERVAL_S 1

/* journalctl MESSAGE_ID=... finds every trail row, or every checkpoint. */
#define AUDIT_JOURNAL_RECORD_ID     "affad5c0656c422c8188beb3a646ad91"
#define AUDIT_JOURNAL_CHECKPOINT_ID "836ffa5cad00404ca3a69bdca8a954f3"

/* A completion (or whole row) the database refused, kept until it is written. */
struct queued {
        struct queued *next;
        bool insert;               /* audit_insert() rather than audit_finish() */
        struct audit_record r;     /* strings owned, see record_dup() */
};



struct audit {
        sqlite3 *db;
        char *path;
        /* Serialises every call; guards next_id and the cached statements. */
        pthread_mutex_t lock;
        int64_t next_id;
        int64_t first_id;          /* next_id at open: rows below it are an earlier run's */
        sqlite3_stmt *stmt_insert;
        sqlite3_stmt *stmt_finish;
        sqlite3_stmt *stmt_finish_target;
        sqlite3_stmt *stmt_result;
        sqlite3_stmt *stmt_get;
        sqlite3_stmt *stmt_set_task;
        sqlite3_stmt *stmt_pending;
        /* The chain head: seq and hash of the last completed row. */
        struct trail_chainer *chainer;
        int64_t last_seq;
        unsigned char last_hash[TRAIL_HASH_SIZE];
        unsigned checkpoint_interval;
        struct signer *signer;     /* NULL: checkpoints are not signed (no signing-key) */
        /* Unwritten completions, oldest first; the retry thread drains it. */
        struct queued *queue, **queue_tail;
        size_t queued;
        atomic_bool degraded;      /* read without the lock by audit_degraded() */
        pthread_t retry_thread;
        bool retry_started, stopping;
        pthread_cond_t wake;
        struct metrics *metrics;   /* every row completed since start (metrics.h) */
        /* Group commit (see write_grouped()): writes waiting for a leader, oldest first. */
        pthread_mutex_t batch_lock;
        pthread_cond_t batch_done;
        struct write *batch, **batch_tail;
        bool leading;              /* a writer is writing a batch */
        int64_t commits;           /* durable transactions that wrote rows: one fsync each */
};

/* Log the connection's error message with r, a negative errno. */
static int log_sqlite_errno(struct audit *a, int r, const char *what) {
        return log_error_errno(r, "Failed to %s in %s: %s", what, a->path, sqlite3_errmsg(a->db));
}

/* The same for an SQLite result code, turned into the matching -errno. */
static int log_sqlite(struct audit *a, int rc, const char *what) {
        return log_sqlite_errno(a, trail_schema_errno(rc), what);
}

static pthread_mutex_t *lock(struct audit *a) {
        return mutex_lock(&a->lock);
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
        /*
         * A bounded page cache (SQLite's default is 2 MB per connection):
         * the daemon appends at the end of the table and its indexes, and
         * the kernel's page cache holds the rest, so a trail that grows
         * does not grow the daemon (issue 11: RSS flat after 10,000 rows).
         */
        r = exec(a, "PRAGMA cache_size = -256");
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
static int check_version(struct audit *a, int *version) {
        int r;

        r = trail_schema_version(a->db, version);
        if (r < 0)
                return log_sqlite_errno(a, r, "PRAGMA user_version");
        if (*version > TRAIL_SCHEMA_VERSION || *version < 0)
                return log_error_errno(-EPROTONOSUPPORT,
                                       "Database %s has schema version %d"
                                       ", but this vmtraced only knows versions up to %d; refusing to use it",
                                       a->path, *version, TRAIL_SCHEMA_VERSION);
        return 0;
}

static void log_difference(const char *difference, void *userdata) {
        log_error("%s: %s", ((const struct audit *) userdata)->path, difference);
}

/*
 * A trigger the daemon did not make would run inside its own writes, before
 * the row is hashed, and a redefined view would mislead every reader: such
 * a file is refused, before anything is written to it.
 */
static int check_schema(struct audit *a, int version) {
        unsigned n;
        int r = trail_schema_check(a->db, version, false, log_difference, a, &n);

        if (r < 0)
                return log_sqlite_errno(a, r, "read the schema");
        if (n > 0)
                return log_error_errno(-EBADMSG, "Database %s holds a schema vmtraced did not make (%u difference%s);"
                                       " refusing to use it (vmctl verify tells what changed)", a->path, n,
                                       n == 1 ? "" : "s");
        return 0;
}

/* One step per version, each in its own transaction, so a failed step leaves the file as the one before left it. */
static int migrate(struct audit *a, int version) {
        for (; version < TRAIL_SCHEMA_VERSION; version++) {
                /* IMMEDIATE: take the write lock before reading the schema. */
                int r = exec(a, "BEGIN IMMEDIATE");
                if (r < 0)
                        return r;
                r = trail_schema_migrate(a->db, version);
                if (r < 0) {
                        r = log_error_errno(r, "Failed to migrate %s from schema version %d: %s",
                                            a->path, version, sqlite3_errmsg(a->db));
                        (void) sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
                        return r;
                }
                r = exec(a, "COMMIT");
                if (r < 0) {
                        (void) sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
                        return r;
                }
                log_info("Migrated %s to schema version %d", a->path, version + 1);
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
                    " result, fault, message, task, login_uid, session_id, platform_user,"
                    " source, seen_from_ms, seen_to_ms) VALUES"
                    " (:id, :start_ms, :end_ms, :operation, :uid, :gid, :pid, :user,"
                    " :endpoint, :endpoint_url, :host, :vm_name, :vm_id, :vm_uuid, :before, :after,"
                    " :result, :fault, :message, :task, :login_uid, :session_id, :platform_user,"
                    " :source, :seen_from_ms, :seen_to_ms)"
                    /*
                     * A request that waited for its VM has a row already, PENDING
                     * with fault AUDIT_FAULT_QUEUED (operation.c): its start or its
                     * settling takes that row over.  Any other row with the id stays
                     * as it is, and the insert changes nothing (insert_locked() says so).
                     */
                    " ON CONFLICT(id) DO UPDATE SET start_ms = excluded.start_ms, end_ms = excluded.end_ms,"
                    " operation = excluded.operation, uid = excluded.uid, gid = excluded.gid, pid = excluded.pid,"
                    " user = excluded.user, endpoint = excluded.endpoint, endpoint_url = excluded.endpoint_url,"
                    " host = excluded.host, vm_name = excluded.vm_name, vm_id = excluded.vm_id,"
                    " vm_uuid = excluded.vm_uuid, before = excluded.before, after = excluded.after,"
                    " result = excluded.result, fault = excluded.fault, message = excluded.message,"
                    " task = excluded.task, login_uid = excluded.login_uid, session_id = excluded.session_id,"
                    " platform_user = excluded.platform_user, source = excluded.source,"
                    " seen_from_ms = excluded.seen_from_ms, seen_to_ms = excluded.seen_to_ms"
                    " WHERE records.result = 'PENDING' AND records.fault IS '" AUDIT_FAULT_QUEUED "'",
                    &a->stmt_insert);
        if (r < 0)
                return r;
        /*
         * A completion is two statements.  The outcome, always; then the
         * target's and the source's columns, only when one of them changes
         * (then all of them are set, as before).  SQLite
         * rewrites the entry of every index on a column an UPDATE sets,
         * changed or not: one statement setting them all wrote 11 pages a
         * completion, most of them index pages holding what was there.
         * Fields known at begin time are kept when finish passes NULL.
         */
        r = prepare(a,
                    "UPDATE records SET end_ms = :end_ms,"
                    " before = COALESCE(:before, before),"
                    " after = COALESCE(:after, after),"
                    " result = :result, message = :message,"
                    " task = COALESCE(:task, task)" /* set early by audit_set_task() */
                    " WHERE id = :id AND result = 'PENDING'",
                    &a->stmt_finish);
        if (r < 0)
                return r;
#define FINISH_SET(column, value) " " column " = " value
#define FINISH_DIFFERS(column, value) " OR " column " IS NOT " value
#define FINISH_COLUMNS(X, sep)                                                                                 \
        X("host", "COALESCE(:host, host)") sep X("vm_name", "COALESCE(:vm_name, vm_name)")                  \
        sep X("vm_id", "COALESCE(:vm_id, vm_id)") sep X("vm_uuid", "COALESCE(:vm_uuid, vm_uuid)")           \
        sep X("fault", ":fault") /* also clears the "queued" mark */                                         \
        /* A Login row learns it only from the login itself. */                                              \
        sep X("platform_user", "COALESCE(:platform_user, platform_user)")                                    \
        /* Kept from begin like the target: a caller that does not know them passes NULL. */                 \
        sep X("source", "COALESCE(:source, source)")                                                         \
        sep X("seen_from_ms", "COALESCE(:seen_from_ms, seen_from_ms)")                                        \
        sep X("seen_to_ms", "COALESCE(:seen_to_ms, seen_to_ms)")
        r = prepare(a,
                    "UPDATE records SET" FINISH_COLUMNS(FINISH_SET, ",")
                    " WHERE id = :id AND (0" FINISH_COLUMNS(FINISH_DIFFERS, ) ")",
                    &a->stmt_finish_target);
#undef FINISH_COLUMNS
#undef FINISH_DIFFERS
#undef FINISH_SET
        if (r < 0)
                return r;
        r = prepare(a, "SELECT result FROM records WHERE id = :id", &a->stmt_result);
        if (r < 0)
                return r;
        r = prepare(a, "UPDATE records SET task = :task WHERE id = :id AND result = 'PENDING'", &a->stmt_set_task);
        if (r < 0)
                return r;
        r = prepare(a,
                    "SELECT id, start_ms, operation, uid, gid, pid, user, endpoint, endpoint_url, host,"
                    " vm_name, vm_id, vm_uuid, before, after, task, login_uid, session_id, platform_user,"
                    " source, seen_from_ms, seen_to_ms, fault FROM records"
                    " WHERE result = 'PENDING' AND id < :first_id ORDER BY id",
                    &a->stmt_pending);
        if (r < 0)
                return r;
        return prepare(a, "SELECT * FROM trail WHERE id = :id", &a->stmt_get);
}

/*
 * The chain head at open: the row with the highest seq.  A head whose hash
 * is not 64 hex digits has been tampered with; extending it would hide that.
 */
/*
 * A trail whose every chained row was pruned (vmctl prune) goes on from its
 * anchor: the next row gets seq + 1, chained to the anchor's hash.  None:
 * a new chain, from seq 1.
 */
static int load_anchor_head(struct audit *a) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        int rc;

        a->last_seq = 0;
        memset(a->last_hash, 0, sizeof a->last_hash);
        rc = sqlite3_prepare_v2(a->db, "SELECT seq, hash FROM anchor ORDER BY seq DESC LIMIT 1", -1, &s, NULL);
        if (rc != SQLITE_OK)
                return log_sqlite(a, rc, "read the anchor");
        rc = sqlite3_step(s);
        if (rc == SQLITE_DONE)
                return 0;
        if (rc != SQLITE_ROW || trail_hash_from_hex((const char *) sqlite3_column_text(s, 1), a->last_hash) < 0)
                return log_error_errno(-EBADMSG, "The anchor of %s has no valid hash; the trail was altered "
                                       "(see vmctl verify); refusing to extend it", a->path);
        a->last_seq = sqlite3_column_int64(s, 0);
        return 0;
}

static int load_chain_head(struct audit *a) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        int rc;

        rc = sqlite3_prepare_v2(a->db, "SELECT seq, hash FROM records WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1",
                                -1, &s, NULL);
        if (rc != SQLITE_OK)
                return log_sqlite(a, rc, "read the chain head");
        rc = sqlite3_step(s);
        if (rc == SQLITE_DONE)
                return load_anchor_head(a);
        if (rc != SQLITE_ROW)
                return log_sqlite(a, rc, "read the chain head");
        a->last_seq = sqlite3_column_int64(s, 0);
        if (trail_hash_from_hex((const char *) sqlite3_column_text(s, 1), a->last_hash) < 0)
                return log_error_errno(-EBADMSG, "The last row of %s (seq %" PRId64 ") has no valid hash; "
                                       "the trail was altered (see vmctl verify); refusing to extend it",
                                       a->path, a->last_seq);
        return 0;
}

/* Trail view columns and the journal fields they are mirrored to. */
static const struct {
        const char *column;
        const char *field;
} journal_fields[] = {
        { "id", "VMTRACE_ID" },           { "seq", "VMTRACE_SEQ" },
        { "hash", "VMTRACE_HASH" },       { "start_time", "VMTRACE_STR" },
        { "end_time", "VMTRACE_END" },    { "operation", "VMTRACE_OPR" },
        { "user", "VMTRACE_USER" },       { "uid", "VMTRACE_UID" },
        { "gid", "VMTRACE_GID" },         { "pid", "VMTRACE_PID" },
        { "endpoint", "VMTRACE_ENDPOINT" }, { "endpoint_url", "VMTRACE_ENDPOINT_URL" },
        { "host", "VMTRACE_HOST" },       { "vm_name", "VMTRACE_VM" },
        { "vm_id", "VMTRACE_VM_ID" },     { "vm_uuid", "VMTRACE_VM_UUID" },
        { "before", "VMTRACE_BEF" },      { "after", "VMTRACE_AFT" },
        { "result", "VMTRACE_RST" },      { "fault", "VMTRACE_FAULT" },
        { "message", "VMTRACE_REASON" },  { "task", "VMTRACE_TASK" },
        { "login_uid", "VMTRACE_LOGIN_UID" }, { "session_id", "VMTRACE_SESSION_ID" },
        { "platform_user", "VMTRACE_PLATFORM_USER" }, { "source", "VMTRACE_SOURCE" },
        { "seen_from_ms", "VMTRACE_SEEN_FROM" }, { "seen_to_ms", "VMTRACE_SEEN_TO" },
};

/*
 * Mirror completed row id to the journal, one structured entry per row, so
 * journald forwarding ships the trail off the host.  Values go in as
 * length-delimited iovecs (newlines and any bytes survive).  Without a
 * journal sd_journal_sendv() fails and nothing else happens.  Lock held.
 */
static void journal_mirror(struct audit *a, int64_t id) {
        _cleanup_(stmt_resetp) sqlite3_stmt *s = a->stmt_get;
        struct iovec iov[ELEMENTSOF(journal_fields) + 3];
        char *bufs[ELEMENTSOF(journal_fields) + 3] = {};
        size_t n = 0;

        if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW)
                return;
        if (asprintf(&bufs[n++], "MESSAGE_ID=" AUDIT_JOURNAL_RECORD_ID) < 0 ||
            asprintf(&bufs[n++], "PRIORITY=%d", LOG_INFO) < 0 ||
            asprintf(&bufs[n++], "MESSAGE=vmtraced trail #%" PRId64 ": %s %s [%s]", id,
                     strempty((const char *) sqlite3_column_text(s, 5)),
                     strempty((const char *) sqlite3_column_text(s, 13)),
                     strempty((const char *) sqlite3_column_text(s, 18))) < 0)
                goto out;
        for (int c = 0; c < sqlite3_column_count(s) && n < ELEMENTSOF(bufs); c++) {
                const char *field = NULL;

                for (size_t f = 0; f < ELEMENTSOF(journal_fields); f++)
                        if (strcmp(journal_fields[f].column, sqlite3_column_name(s, c)) == 0)
                                field = journal_fields[f].field;
                if (!field || sqlite3_column_type(s, c) == SQLITE_NULL)
                        continue;
                const char *v = (const char *) sqlite3_column_text(s, c);
                size_t len = (size_t) sqlite3_column_bytes(s, c), fl = strlen(field);
                char *b = malloc(fl + 1 + len);
                if (!b)
                        goto out;
                memcpy(b, field, fl);
                b[fl] = '=';
                memcpy(b + fl + 1, v, len);
                iov[n] = (struct iovec) { .iov_base = b, .iov_len = fl + 1 + len };
                bufs[n++] = b;
        }
        for (size_t i = 0; i < 3; i++)
                iov[i] = (struct iovec) { .iov_base = bufs[i], .iov_len = strlen(bufs[i]) };
        (void) sd_journal_sendv(iov, (int) n);
out:
        for (size_t i = 0; i < ELEMENTSOF(bufs); i++)
                free(bufs[i]);
}

/*
 * Sign the chain head when there is a key, and write it to the journal:
 * the external copy that makes a cut-off tail detectable.  A signed head
 * carries its signature, so a journal entry can be checked like a row of
 * signed_checkpoints; the list of fields ends at the first NULL format.
 */
static void journal_checkpoint(struct audit *a, const char *why) {
        char hex[TRAIL_HASH_HEX_SIZE];
        const struct trail_signed *c = NULL;
        const char *sig = a->signer ? signer_sign(a->signer, a->last_seq, a->last_hash, &c) : NULL;

        trail_hash_to_hex(a->last_hash, hex);
        (void) sd_journal_send("MESSAGE_ID=" AUDIT_JOURNAL_CHECKPOINT_ID,
                               "PRIORITY=%d", LOG_NOTICE,
                               "MESSAGE=vmtraced trail checkpoint (%s): %" PRId64 ":%s%s", why, a->last_seq, hex,
                               sig ? " (signed)" : "",
                               "VMTRACE_SEQ=%" PRId64, a->last_seq,
                               "VMTRACE_HASH=%s", hex,
                               "VMTRACE_DATABASE=%s", a->path,
                               sig ? "VMTRACE_SIGNATURE=%s" : NULL, sig,
                               "VMTRACE_PUBLIC_KEY=%s", a->signer ? signer_public_hex(a->signer) : "",
                               "VMTRACE_PREV_SEQ=%" PRId64, c ? c->prev_seq : 0,
                               "VMTRACE_SIGNED_MS=%" PRId64, c ? c->signed_ms : 0,
                               NULL);
        log_debug("Checkpoint %" PRId64 ":%s (%s)", a->last_seq, hex, why);
}

/* Defined with the write path below. */
static void flush_queue_locked(struct audit *a);
static void drop_queue_locked(struct audit *a);
static void *retry_main(void *userdata);

/* The file, created with mode 0640 when it is new, opened read-write. */
static int open_file(struct audit *a) {
        int r, rc;

        r = create_db_file(a->path);
        if (r < 0)
                return r;
        rc = sqlite3_open_v2(a->path, &a->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                             NULL);
        if (rc != SQLITE_OK)
                return log_error_errno(trail_schema_errno(rc), "Failed to open %s: %s", a->path,
                                       a->db ? sqlite3_errmsg(a->db) : sqlite3_errstr(rc));
        sqlite3_extended_result_codes(a->db, 1);
        return 0;
}

/* The schema brought to this version, the statements prepared, the next id and the chain head read. */
static int load(struct audit *a) {
        int version, r;

        r = check_version(a, &version);
        if (r >= 0)
                r = check_schema(a, version);
        if (r >= 0)
                r = set_pragmas(a);
        if (r >= 0)
                r = migrate(a, version);
        if (r >= 0)
                r = prepare_all(a);
        /* Ids go on after the pruned rows' too (the anchor keeps the highest): an id is never reused. */
        if (r >= 0)
                r = query_int64(a, "SELECT MAX(COALESCE((SELECT MAX(id) FROM records), 0),"
                                " COALESCE((SELECT MAX(last_id) FROM anchor), 0)) + 1", &a->next_id);
        a->first_id = a->next_id;
        if (r >= 0)
                r = load_chain_head(a);
        if (r >= 0 && (r = trail_chainer_new(a->db, TRAIL_SCHEMA_VERSION, &a->chainer)) < 0)
                r = log_sqlite_errno(a, r, "prepare statements");
        return r;
}

static int start_retry_thread(struct audit *a) {
        int r = thread_start_unsignalled(&a->retry_thread, retry_main, a);

        if (r < 0)
                return log_error_errno(r, "Failed to start the trail retry thread: %m");
        a->retry_started = true;
        return 0;
}

int audit_open(const char *path, struct audit **out) {
        struct audit *a;
        int r;

        a = calloc(1, sizeof *a);
        if (!a)
                return log_oom();
        pthread_mutex_init(&a->lock, NULL);
        pthread_cond_init(&a->wake, NULL);
        pthread_mutex_init(&a->batch_lock, NULL);
        pthread_cond_init(&a->batch_done, NULL);
        a->queue_tail = &a->queue;
        a->batch_tail = &a->batch;
        a->checkpoint_interval = AUDIT_DEFAULT_CHECKPOINT_INTERVAL;
        a->path = strdup(path);
        r = a->path ? metrics_new(&a->metrics) : log_oom();
        if (r >= 0)
                r = open_file(a);
        if (r >= 0)
                r = load(a);
        if (r >= 0)
                r = start_retry_thread(a);
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
        if (a->retry_started) {
                pthread_mutex_lock(&a->lock);
                a->stopping = true;
                pthread_cond_signal(&a->wake);
                pthread_mutex_unlock(&a->lock);
                pthread_join(a->retry_thread, NULL);
        }
        if (a->db && a->chainer) {
                pthread_mutex_lock(&a->lock);
                flush_queue_locked(a);
                drop_queue_locked(a);
                if (a->last_seq > 0)
                        journal_checkpoint(a, "shutdown");
                signer_free(TAKE_PTR(a->signer));
                pthread_mutex_unlock(&a->lock);
        }
        trail_chainer_free(a->chainer);
        metrics_free(a->metrics);
        sqlite3_finalize(a->stmt_set_task);
        sqlite3_finalize(a->stmt_pending);
        sqlite3_finalize(a->stmt_insert);
        sqlite3_finalize(a->stmt_finish);
        sqlite3_finalize(a->stmt_finish_target);
        sqlite3_finalize(a->stmt_result);
        sqlite3_finalize(a->stmt_get);
        /* Last close checkpoints the WAL into the main file. */
        if (a->db && sqlite3_close(a->db) != SQLITE_OK)
                log_warning("Failed to close %s: %s", a->path, sqlite3_errmsg(a->db));
        pthread_cond_destroy(&a->wake);
        pthread_mutex_destroy(&a->lock);
        pthread_cond_destroy(&a->batch_done);
        pthread_mutex_destroy(&a->batch_lock);
        free(a->path);
        free(a);
}

/* Called with the lock held. */
static int64_t reserve_id_locked(struct audit *a) {
        return a->next_id++;
}

int64_t audit_reserve_id(struct audit *a) {
        _cleanup_(mutex_unlockp) _unused_ pthread_mutex_t *m = lock(a);

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
 * Bind every field of r that s names.  uid/gid (uid_t)-1, pid <= 0 and a
 * negative login_uid/session_id mean "unknown" and are stored as NULL;
 * end_ms 0 means "not ended", seen_from_ms/seen_to_ms 0 "no window".
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
                { ":platform_user", r->platform_user },
                { ":source", r->source },
        };
        const struct {
                const char *name;
                bool null;
                int64_t value;
        } ints[] = {
                { ":id", false, r->id },
                { ":start_ms", false, r->start_ms },
                { ":end_ms", r->end_ms == 0, r->end_ms },
                { ":uid", r->uid == (uid_t) -1, r->uid },
                { ":gid", r->gid == (gid_t) -1, r->gid },
                { ":pid", r->pid <= 0, r->pid },
                { ":login_uid", r->login_uid < 0, r->login_uid },
                { ":session_id", r->session_id < 0, r->session_id },
                { ":seen_from_ms", r->seen_from_ms == 0, r->seen_from_ms },
                { ":seen_to_ms", r->seen_to_ms == 0, r->seen_to_ms },
        };
        int rc;

        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                rc = bind_text(s, texts[i].name, texts[i].value);
                if (rc != SQLITE_OK)
                        return rc;
        }
        for (size_t i = 0; i < ELEMENTSOF(ints); i++) {
                rc = bind_int(s, ints[i].name, ints[i].null, ints[i].value);
                if (rc != SQLITE_OK)
                        return rc;
        }
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
        /* Autocommit (unless the caller opened a transaction): durable on return. */
        rc = sqlite3_step(s);
        if (rc != SQLITE_DONE)
                return log_sqlite(a, rc, "write audit record");
        if (sqlite3_changes(a->db) != 1)
                return log_error_errno(-EEXIST, "Trail row %" PRId64 " exists already", r->id);
        /* Keep the counter ahead of ids chosen by callers. */
        if (r->id >= a->next_id)
                a->next_id = r->id + 1;
        return 0;
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

/* One statement of a completion, bound to r: how many rows it changed, or a negative errno. */
static int finish_statement(struct audit *a, sqlite3_stmt *stmt, const struct audit_record *r) {
        _cleanup_(stmt_resetp) sqlite3_stmt *s = stmt;
        int rc;

        rc = bind_record(s, r, r->result);
        if (rc != SQLITE_OK)
                return log_sqlite(a, rc, "bind audit record");
        rc = sqlite3_step(s);
        if (rc != SQLITE_DONE)
                return log_sqlite(a, rc, "complete audit record");
        return sqlite3_changes(a->db);
}

/* The outcome part of a completion, inside the transaction (prepare_all() says why two). */
static int finish_step_locked(struct audit *a, const struct audit_record *r) {
        int n = finish_statement(a, a->stmt_finish, r);

        if (n < 0)
                return n;
        if (n != 1)
                return finish_failure(a, r->id);
        n = finish_statement(a, a->stmt_finish_target, r);
        return n < 0 ? n : 0;
}

/*
 * The outcome of a completion (an UPDATE of the pending row, or the INSERT
 * of a whole row) and its link in the chain, inside a transaction the
 * caller opened: seq and hash are the head before, and become r's.
 */
static int chain_step_locked(struct audit *a, struct audit_record *r, bool insert, int64_t *seq,
                             unsigned char hash[TRAIL_HASH_SIZE]) {
        int r2 = insert ? insert_locked(a, r, r->result) : finish_step_locked(a, r);

        if (r2 < 0)
                return r2;
        r2 = trail_chainer_append(a->chainer, r->id, *seq + 1, hash);
        if (r2 < 0)
                return log_sqlite_errno(a, r2, "chain audit record");
        (*seq)++;
        return 0;
}

/* After COMMIT: the chain head moves to row id, which goes to the journal (and maybe a checkpoint). */
static void chained_locked(struct audit *a, int64_t id, int64_t seq, const unsigned char hash[TRAIL_HASH_SIZE]) {
        a->last_seq = seq;
        memcpy(a->last_hash, hash, TRAIL_HASH_SIZE);
        journal_mirror(a, id);
        if (a->checkpoint_interval > 0 && a->last_seq % a->checkpoint_interval == 0)
                journal_checkpoint(a, "interval");
        else if (a->signer && signer_none_yet(a->signer))
                journal_checkpoint(a, "first signed"); /* a trail with a key is never without a signature */
}

/* COMMIT, or ROLLBACK what the transaction did when a step or the COMMIT failed (r2 < 0). */
static int commit_or_rollback(struct audit *a, int r2) {
        if (r2 >= 0)
                r2 = exec(a, "COMMIT");
        if (r2 < 0)
                (void) sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
        else
                a->commits++;
        return r2;
}

/*
 * One completion as one transaction: the outcome, then the next seq and
 * the row's hash.  The chain head moves only when COMMIT succeeded.
 */
static int complete_locked(struct audit *a, struct audit_record *r, bool insert) {
        unsigned char hash[TRAIL_HASH_SIZE];
        int64_t seq = a->last_seq;
        int r2;

        r2 = exec(a, "BEGIN IMMEDIATE");
        if (r2 < 0)
                return r2;
        memcpy(hash, a->last_hash, sizeof hash);
        r2 = commit_or_rollback(a, chain_step_locked(a, r, insert, &seq, hash));
        if (r2 < 0)
                return r2;
        chained_locked(a, r->id, seq, hash);
        return 0;
}

/* Errors that retrying cannot fix: the caller's mistake, not the storage's. */
static bool is_permanent(int r) {
        return r == -EINVAL || r == -ENOENT || r == -EALREADY || r == -EEXIST;
}

static char *dup_or_null(const char *s, bool *oom) {
        char *d;

        if (!s)
                return NULL;
        d = strdup(s);
        if (!d)
                *oom = true;
        return d;
}

/* The record's strings, as members in one list, to copy and free them alike. */
#define RECORD_STRINGS(r) \
        &(r)->operation, &(r)->user, &(r)->endpoint, &(r)->endpoint_url, &(r)->host, &(r)->vm_name, \
        &(r)->vm_id, &(r)->vm_uuid, &(r)->before, &(r)->after, &(r)->result, &(r)->fault,          \
        &(r)->message, &(r)->task, &(r)->platform_user, &(r)->source

int audit_record_copy(struct audit_record *dst, const struct audit_record *src) {
        bool oom = false;

        *dst = *src;
        const char **strs[] = { RECORD_STRINGS(dst) };
        for (size_t i = 0; i < ELEMENTSOF(strs); i++)
                *strs[i] = dup_or_null(*strs[i], &oom);
        if (oom) {
                audit_record_clear(dst);
                return -ENOMEM;
        }
        return 0;
}

void audit_record_clear(struct audit_record *r) {
        const char **strs[] = { RECORD_STRINGS(r) };

        for (size_t i = 0; i < ELEMENTSOF(strs); i++)
                free((char *) *strs[i]);
        *r = (struct audit_record) {};
}

static void queued_free(struct queued *q) {
        audit_record_clear(&q->r);
        free(q);
}

/* Keep the outcome in memory for the retry thread; the lock is held. */
static int enqueue_locked(struct audit *a, const struct audit_record *r, bool insert) {
        struct queued *q = calloc(1, sizeof *q);

        if (!q)
                return -ENOMEM;
        q->insert = insert;
        if (audit_record_copy(&q->r, r) < 0) {
                free(q);
                return -ENOMEM;
        }
        *a->queue_tail = q;
        a->queue_tail = &q->next;
        a->queued++;
        atomic_store(&a->degraded, true);
        pthread_cond_signal(&a->wake);
        return 0;
}

/* An outcome the trail could not take, in full, for the log (and so the journal). */
static void log_outcome(const char *why, const struct audit_record *r) {
        log_error("Trail row %" PRId64 " %s: %s %s on %s by %s (uid %u, login uid %" PRId64 ", platform user %s): before=%s after=%s result=%s fault=%s task=%s source=%s seen=%" PRId64 "..%" PRId64,
                  r->id, why, r->operation, strempty(r->vm_name), strempty(r->endpoint), strempty(r->user),
                  (unsigned) r->uid, r->login_uid, strempty(r->platform_user), strempty(r->before),
                  strempty(r->after), strempty(r->result), strempty(r->fault), strempty(r->task),
                  strempty(r->source), r->seen_from_ms, r->seen_to_ms);
}

/* Write queued completions in order; stop at the first that still fails. */
static void flush_queue_locked(struct audit *a) {
        while (a->queue) {
                struct queued *q = a->queue;
                int r = complete_locked(a, &q->r, q->insert);

                if (r < 0 && !is_permanent(r))
                        return;
                if (r < 0)
                        log_outcome("can never be written (the row is gone or already complete)", &q->r);
                else
                        log_notice("Trail row %" PRId64 " written after retry.", q->r.id);
                a->queue = q->next;
                if (!a->queue)
                        a->queue_tail = &a->queue;
                a->queued--;
                queued_free(q);
        }
        if (atomic_exchange(&a->degraded, false))
                log_notice("Trail %s is writable again; no outcome is waiting.", a->path);
}

/*
 * At close, what could not be written goes to the log in full; the rows
 * stay PENDING in the database and start-up recovery resolves them.  The
 * lock is held.
 */
static void drop_queue_locked(struct audit *a) {
        while (a->queue) {
                struct queued *q = a->queue;

                log_outcome("could not be written before shutdown; it stays PENDING", &q->r);
                a->queue = q->next;
                queued_free(q);
        }
        a->queue_tail = &a->queue;
        a->queued = 0;
}

static void *retry_main(void *userdata) {
        struct audit *a = userdata;

        pthread_mutex_lock(&a->lock);
        while (!a->stopping) {
                struct timespec until;

                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_sec += AUDIT_RETRY_INTERVAL_S;
                (void) pthread_cond_timedwait(&a->wake, &a->lock, &until);
                if (!a->stopping && a->queue)
                        flush_queue_locked(a);
        }
        pthread_mutex_unlock(&a->lock);
        return NULL;
}

/* Complete now (0), or keep the outcome for the retry thread (1).  The lock is held. */
static int write_or_keep_locked(struct audit *a, struct audit_record *r, bool insert) {
        int q;

        /* Behind an earlier unwritten outcome: keep completion order. */
        if (!a->queue) {
                int e = complete_locked(a, r, insert);
                if (e >= 0 || is_permanent(e))
                        return e;
                log_error("Trail row %" PRId64 " (%s) kept in memory; the trail is degraded and retried every %ds.",
                          r->id, r->operation, AUDIT_RETRY_INTERVAL_S);
        }
        q = enqueue_locked(a, r, insert);
        if (q < 0)
                return log_error_errno(q, "Failed to keep trail row %" PRId64 " in memory: %m", r->id);
        return 1;
}

/* A completed row, written or kept to be written in order, counts in the metrics (metrics.h). */
static void count_completed(struct audit *a, const struct audit_record *r) {
        metrics_count(a->metrics, r->operation, r->result, r->source, r->end_ms - r->start_ms);
}

/* As write_or_keep_locked(), and counted. */
static int complete_or_queue_locked(struct audit *a, struct audit_record *r, bool insert) {
        int k = write_or_keep_locked(a, r, insert);

        if (k >= 0)
                count_completed(a, r);
        return k;
}

/*
 * Group commit, leader/follower.  Every write (a PENDING row, a completion,
 * a whole row) joins the batch and waits; the first writer that finds no
 * leader becomes one, takes the database lock, takes the whole batch (what
 * joined while it waited for the lock included) and writes it as one
 * transaction: one fsync for every concurrent client, and a sequential
 * operation pays the two of its own rows only.  A caller returns only once
 * the COMMIT that holds its row returned, so fail-closed stands: no
 * platform call before its PENDING row is durable.
 *
 * Only the case where everything goes well is batched.  When a step or the
 * COMMIT fails, or the trail is degraded, the transaction is rolled back
 * (nothing of it was written, the chain head in memory has not moved) and
 * each write is done again alone, in order, by the same code as before
 * batching: a refused PENDING row fails its caller, a refused completion
 * is kept in memory for the retry thread.  A crash anywhere leaves either
 * the whole batch or none of it: rows not yet PENDING were never sent, and
 * start-up recovery resolves PENDING ones (vmtraced-trail(5)).
 *
 * Lock order: a->lock (the database), then a->batch_lock; a follower waits
 * holding batch_lock only.
 */
enum write_kind {
        WRITE_BEGIN,               /* audit_begin(): a PENDING row */
        WRITE_FINISH,              /* audit_finish(): the outcome of a PENDING row */
        WRITE_INSERT,              /* audit_insert(): a whole row */
};

struct write {
        struct write *next;
        enum write_kind kind;
        struct audit_record *r;
        int ret;
        bool done;                 /* under batch_lock: ret is set, the caller may go */
        int64_t seq;               /* a chained row's seq and hash, until the COMMIT */
        unsigned char hash[TRAIL_HASH_SIZE];
};

/* One write alone, as before batching (and after a batch failed).  The lock is held. */
static int write_one_locked(struct audit *a, struct write *w) {
        int r;

        switch (w->kind) {
        case WRITE_BEGIN:
                /* An unwritten outcome would be followed by acts the trail also cannot hold. */
                if (a->queued > 0)
                        return log_error_errno(-EIO, "Trail %s is degraded (%zu outcome(s) not yet written); refusing %s",
                                               a->path, a->queued, strempty(w->r->operation));
                r = insert_locked(a, w->r, AUDIT_RESULT_PENDING); /* autocommit */
                a->commits += r >= 0;
                return r;
        case WRITE_INSERT:
                if (w->r->id == 0)
                        w->r->id = reserve_id_locked(a);
                return complete_or_queue_locked(a, w->r, true);
        default:
                return complete_or_queue_locked(a, w->r, false);
        }
}

/* Every write of the batch as one transaction; on failure nothing of it is written.  The lock is held. */
static int write_batch_locked(struct audit *a, struct write *batch) {
        unsigned char hash[TRAIL_HASH_SIZE];
        int64_t seq = a->last_seq;
        int r = 0;

        if (a->queued > 0)
                return -EAGAIN; /* degraded: each alone, in the order the retry thread keeps */
        r = exec(a, "BEGIN IMMEDIATE");
        if (r < 0)
                return r;
        memcpy(hash, a->last_hash, sizeof hash);
        for (struct write *w = batch; w && r >= 0; w = w->next) {
                if (w->kind == WRITE_BEGIN) {
                        r = insert_locked(a, w->r, AUDIT_RESULT_PENDING);
                        continue;
                }
                r = chain_step_locked(a, w->r, w->kind == WRITE_INSERT, &seq, hash);
                w->seq = seq;
                memcpy(w->hash, hash, sizeof hash);
        }
        r = commit_or_rollback(a, r);
        if (r < 0)
                return r;
        for (struct write *w = batch; w; w = w->next) {
                w->ret = 0;
                if (w->kind == WRITE_BEGIN)
                        continue;
                chained_locked(a, w->r->id, w->seq, w->hash);
                count_completed(a, w->r);
        }
        return 0;
}

/* The leader's part: the batch, taken under the database lock, written; each write's ret set. */
static struct write *lead(struct audit *a) {
        _cleanup_(mutex_unlockp) _unused_ pthread_mutex_t *m = lock(a);
        struct write *batch;

        pthread_mutex_lock(&a->batch_lock);
        batch = a->batch;
        a->batch = NULL;
        a->batch_tail = &a->batch;
        pthread_mutex_unlock(&a->batch_lock);

        if (batch && batch->next) {
                int r = write_batch_locked(a, batch);

                if (r >= 0)
                        return batch;
                if (r != -EAGAIN)
                        log_debug("Writing a batch of trail rows failed; each is written alone.");
        }
        for (struct write *w = batch; w; w = w->next)
                w->ret = write_one_locked(a, w);
        return batch;
}

/* Join the batch; lead it if nobody does; return once this write's transaction is done. */
static int write_grouped(struct audit *a, enum write_kind kind, struct audit_record *r) {
        struct write w = { .kind = kind, .r = r };

        pthread_mutex_lock(&a->batch_lock);
        /* w stays on this stack until it is done, and a leader takes it off the batch before that. */
        *a->batch_tail = &w;
        // cppcheck-suppress autoVariables
        a->batch_tail = &w.next;
        while (!w.done) {
                if (a->leading) {
                        pthread_cond_wait(&a->batch_done, &a->batch_lock);
                        continue;
                }
                a->leading = true;
                pthread_mutex_unlock(&a->batch_lock);
                struct write *batch = lead(a);
                pthread_mutex_lock(&a->batch_lock);
                /* A follower's w lives on its stack: next is read before done lets it go. */
                for (struct write *n; batch; batch = n) {
                        n = batch->next;
                        batch->done = true;
                }
                a->leading = false;
                pthread_cond_broadcast(&a->batch_done);
        }
        pthread_mutex_unlock(&a->batch_lock);
        return w.ret;
}

int audit_begin(struct audit *a, struct audit_record *r) {
        /* insert_locked() refuses it too, but only after it has cost a batch its shared transaction. */
        if (!r->operation)
                return log_error_errno(-EINVAL, "Audit record without operation");
        return write_grouped(a, WRITE_BEGIN, r);
}

int audit_insert(struct audit *a, struct audit_record *r) {
        if (!result_is_final(r->result))
                return log_error_errno(-EINVAL, "Audit record of %s with invalid result %s",
                                       strempty(r->operation), strempty(r->result));
        if (!r->operation)
                return log_error_errno(-EINVAL, "Audit record without operation");
        if (r->end_ms == 0)
                r->end_ms = now_ms();
        if (r->start_ms == 0)
                r->start_ms = now_ms();
        return write_grouped(a, WRITE_INSERT, r);
}

int audit_finish(struct audit *a, const struct audit_record *r) {
        struct audit_record copy = *r;

        if (!result_is_final(r->result))
                return log_error_errno(-EINVAL, "Cannot finish audit record %" PRId64
                                       " with result %s", r->id, strempty(r->result));
        if (copy.end_ms == 0)
                copy.end_ms = now_ms();
        return write_grouped(a, WRITE_FINISH, &copy);
}

int audit_set_task(struct audit *a, int64_t id, const char *task) {
        _cleanup_(mutex_unlockp) _unused_ pthread_mutex_t *m = lock(a);
        _cleanup_(stmt_resetp) sqlite3_stmt *s = a->stmt_set_task;
        int rc;

        if ((rc = bind_text(s, ":task", task)) != SQLITE_OK || (rc = bind_int(s, ":id", false, id)) != SQLITE_OK)
                return log_sqlite(a, rc, "bind task");
        /*
         * Without an fsync of its own (synchronous NORMAL, for this commit
         * only): a crash of vmtraced keeps it (it is in the WAL), and the
         * completion's fsync makes it durable with the outcome.  Only a
         * power loss before that can lose it, and then recovery finds a
         * PENDING row without a task: UNKNOWN, as if the task had not been
         * reported yet.  One fsync less per operation.
         */
        (void) exec(a, "PRAGMA synchronous = NORMAL");
        rc = sqlite3_step(s);
        (void) exec(a, "PRAGMA synchronous = FULL");
        if (rc != SQLITE_DONE)
                return log_sqlite(a, rc, "store task id");
        return sqlite3_changes(a->db) == 1 ? 0 : -ENOENT;
}

bool audit_degraded(struct audit *a) {
        return atomic_load(&a->degraded);
}

int64_t audit_last_seq(struct audit *a) {
        _cleanup_(mutex_unlockp) _unused_ pthread_mutex_t *m = lock(a);

        return a->last_seq;
}

void audit_set_checkpoint_interval(struct audit *a, unsigned n) {
        _cleanup_(mutex_unlockp) _unused_ pthread_mutex_t *m = lock(a);

        a->checkpoint_interval = n;
}

int audit_set_signing_key(struct audit *a, const char *key_path) {
        _cleanup_(mutex_unlockp) _unused_ pthread_mutex_t *m = lock(a);

        signer_free(TAKE_PTR(a->signer));
        return signer_new(a->db, a->path, key_path, a->last_seq, a->last_hash, &a->signer);
}

/* Integer column i, or null_value when it is NULL (an id that is unknown, not 0). */
static int64_t column_or(sqlite3_stmt *s, int i, int64_t null_value) {
        return sqlite3_column_type(s, i) == SQLITE_NULL ? null_value : sqlite3_column_int64(s, i);
}

/* Copy the PENDING rows out of the database (owned strings); the lock is held. */
static int collect_pending_locked(struct audit *a, struct audit_record **out, size_t *n) {
        _cleanup_(stmt_resetp) sqlite3_stmt *s = a->stmt_pending;
        /* Columns of stmt_pending that hold text, and where they go. */
        static const int text_cols[] = { 2, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 18, 19, 22 };
        int rc;

        rc = sqlite3_bind_int64(s, 1, a->first_id);
        if (rc != SQLITE_OK)
                return log_sqlite(a, rc, "bind id");
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                struct audit_record *l = reallocarray(*out, *n + 1, sizeof **out), *r;
                bool oom = false;

                if (!l)
                        return log_oom();
                *out = l;
                r = &l[(*n)++];
                *r = (struct audit_record) {
                        .id = sqlite3_column_int64(s, 0),
                        .start_ms = sqlite3_column_int64(s, 1),
                        .uid = (uid_t) column_or(s, 3, (uid_t) -1),
                        .gid = (gid_t) column_or(s, 4, (gid_t) -1),
                        .pid = (pid_t) sqlite3_column_int64(s, 5),
                        .login_uid = column_or(s, 16, -1),
                        .session_id = column_or(s, 17, -1),
                        .seen_from_ms = sqlite3_column_int64(s, 20), /* NULL reads as 0: no window */
                        .seen_to_ms = sqlite3_column_int64(s, 21),
                };
                const char **strs[] = { &r->operation, &r->user, &r->endpoint, &r->endpoint_url, &r->host,
                                        &r->vm_name, &r->vm_id, &r->vm_uuid, &r->before, &r->after, &r->task,
                                        &r->platform_user, &r->source, &r->fault };
                for (size_t i = 0; i < ELEMENTSOF(text_cols); i++)
                        *strs[i] = dup_or_null((const char *) sqlite3_column_text(s, text_cols[i]), &oom);
                if (oom)
                        return log_oom();
        }
        return rc == SQLITE_DONE ? 0 : log_sqlite(a, rc, "list pending rows");
}

int audit_pending_foreach(struct audit *a, audit_pending_fn fn, void *userdata) {
        struct audit_record *list = NULL;
        size_t n = 0;
        int r;

        /* Copied out first: fn() completes rows, which takes the lock and changes the table. */
        pthread_mutex_lock(&a->lock);
        r = collect_pending_locked(a, &list, &n);
        pthread_mutex_unlock(&a->lock);
        for (size_t i = 0; i < n; i++) {
                if (r >= 0)
                        r = fn(a, &list[i], userdata);
                audit_record_clear(&list[i]);
        }
        free(list);
        return r < 0 ? r : (int) n;
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
        _cleanup_(mutex_unlockp) _unused_ pthread_mutex_t *m = lock(a);
        _cleanup_(stmt_resetp) sqlite3_stmt *s = a->stmt_get;
        struct json_object *o;
        int rc;

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

                int r = column_to_json(s, i, &v);
                if (r < 0 || json_object_object_add(o, sqlite3_column_name(s, i), v) < 0) {
                        json_object_put(v);
                        json_object_put(o);
                        return log_oom();
                }
        }
        *out = o;
        return 0;
}

/* Whether the process holds GID as its primary or a supplementary group. */
static bool in_group(gid_t gid) {
        _cleanup_free_ gid_t *groups = NULL;
        int n;

        if (getegid() == gid)
                return true;
        n = getgroups(0, NULL);
        if (n <= 0 || !(groups = calloc(n, sizeof *groups)))
                return false;
        n = getgroups(n, groups);
        for (int i = 0; i < n; i++)
                if (groups[i] == gid)
                        return true;
        return false;
}

/*
 * Without CAP_CHOWN (the shipped unit has none) the owner may give a file
 * only to a group it is in: EPERM alone would not tell the admin that the
 * daemon's user lacks the group, so say so.
 */
static int group_error(const char *path, const char *group, gid_t gid, int r) {
        struct stat st;

        if (r != -EPERM)
                return log_error_errno(r, "Failed to give %s to group %s: %m", path, group);
        if (!in_group(gid))
                return log_error_errno(r, "Cannot give %s to audit group %s: the daemon (uid %u) is not a member "
                                       "of that group (add it, or give the unit SupplementaryGroups=%s)",
                                       path, group, (unsigned) geteuid(), group);
        if (stat(path, &st) == 0 && st.st_uid != geteuid())
                return log_error_errno(r, "Cannot give %s to audit group %s: it belongs to uid %u, not to the "
                                       "daemon's uid %u", path, group, (unsigned) st.st_uid, (unsigned) geteuid());
        return log_error_errno(r, "Failed to give %s to group %s: %m", path, group);
}

/*
 * Auditors read the file with the audit group's rights; only the daemon's
 * user writes it.  The -wal and -shm files are covered too (SQLite gives
 * new ones the database file's mode and owner, but old ones may differ).
 */
int audit_set_group(struct audit *a, const char *group) {
        static const char *const suffixes[] = { "", "-wal", "-shm" };
        struct group *g;

        errno = 0;
        g = getgrnam(group);
        if (!g)
                return log_error_errno(errno ? -errno : -ESRCH, "Unknown audit group \"%s\"", group);
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                _cleanup_free_ char *p = NULL;

                if (asprintf(&p, "%s%s", a->path, suffixes[i]) < 0)
                        return log_oom();
                if (chown(p, (uid_t) -1, g->gr_gid) < 0 || chmod(p, AUDIT_DB_MODE) < 0) {
                        if (errno == ENOENT && i > 0)
                                continue;
                        return group_error(p, group, g->gr_gid, -errno);
                }
        }
        return 0;
}

/* Bytes the trail takes on disk: the file and its -wal. */
static int64_t trail_bytes(const char *path) {
        _cleanup_free_ char *wal = NULL;
        struct stat st;
        int64_t n = 0;

        if (stat(path, &st) == 0)
                n += st.st_size;
        if (asprintf(&wal, "%s-wal", path) >= 0 && stat(wal, &st) == 0)
                n += st.st_size;
        return n;
}

struct json_object *audit_metrics_json(struct audit *a) {
        struct json_object *o = metrics_json(a->metrics);
        _cleanup_(mutex_unlockp) _unused_ pthread_mutex_t *m = lock(a);
        sqlite3_stmt *s = NULL;
        int64_t pending = -1;

        /* On the result index: a count of the PENDING rows alone. */
        if (sqlite3_prepare_v2(a->db, "SELECT count(*) FROM records WHERE result = 'PENDING'", -1, &s, NULL) ==
                    SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
                pending = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        if (pending >= 0)
                json_object_object_add(o, "pending_rows", json_object_new_int64(pending));
        json_object_object_add(o, "kept_in_memory", json_object_new_int64((int64_t) a->queued));
        json_object_object_add(o, "trail_bytes", json_object_new_int64(trail_bytes(a->path)));
        json_object_object_add(o, "last_seq", json_object_new_int64(a->last_seq));
        json_object_object_add(o, "trail_commits", json_object_new_int64(a->commits));
        return o;
}
