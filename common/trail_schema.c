/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The trail's schema (see trail_schema.h): its text for every version, the
 * migrations between them, and the statements that chain rows, which the
 * migration to version 2 and the daemon's completions share.
 *
 * The schema is versioned with PRAGMA user_version; migrations[] holds one
 * step per version (N -> N+1).  Auditors read the view `trail`, which is
 * the stable interface; the table `records` is an implementation detail
 * that later versions may extend.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "trail_schema.h"


/*
 * The view's columns as of version 1.  Later versions recreate the view
 * with these first and their own appended: auditors' queries keep working.
 */
#define TRAIL_VIEW_V1_COLUMNS \
        " id,\n" \
        " strftime('%Y-%m-%dT%H:%M:%S', start_ms / 1000, 'unixepoch')\n" \
        "  || printf('.%03dZ', start_ms % 1000) AS start_time,\n" \
        " strftime('%Y-%m-%dT%H:%M:%S', end_ms / 1000, 'unixepoch')\n" \
        "  || printf('.%03dZ', end_ms % 1000) AS end_time,\n" \
        " start_ms, end_ms, operation, uid, gid, pid, user,\n" \
        " endpoint, endpoint_url, host, vm_name, vm_id, vm_uuid,\n" \
        " before, after, result, fault, message, task"

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
        TRAIL_VIEW_V1_COLUMNS "\n"
        " FROM records;\n"
        "PRAGMA user_version = 1;";

/*
 * Schema version 2: the hash chain.
 *
 *   seq    place of the row in completion order (1, 2, ...); NULL while
 *          PENDING.  Unique.
 *   hash   SHA-256(previous row's hash || canonical encoding of this row),
 *          64 hex digits; see common/trail_hash.h and vmtraced-trail(5)
 *
 * Both are appended to the view, whose other columns stay as they were.
 * Rows already completed under version 1 are chained in (end_ms, id) order.
 */
#define TRAIL_VIEW_V2_COLUMNS TRAIL_VIEW_V1_COLUMNS ",\n seq, hash"

static const char schema_v2[] =
        "ALTER TABLE records ADD COLUMN seq INTEGER;\n"
        "ALTER TABLE records ADD COLUMN hash TEXT;\n"
        "CREATE UNIQUE INDEX records_seq ON records(seq);\n"
        "CREATE INDEX records_vm_id ON records(vm_id);\n"
        "DROP VIEW trail;\n"
        "CREATE VIEW trail AS SELECT\n"
        TRAIL_VIEW_V2_COLUMNS "\n"
        " FROM records;\n";

/*
 * Schema version 3: the login uid and audit session id, which survive sudo
 * and su and so still name the human behind a service account.
 *
 *   login_uid     /proc/PID/loginuid of the client at accept time; NULL
 *                 when it had none (a service, or no pam_loginuid) or the
 *                 row is the daemon's own
 *   session_id    /proc/PID/sessionid likewise
 *   hash_version  encoding the row's hash was computed with (see
 *                 common/trail_hash.h): 1 for rows chained before this
 *                 version, 2 since; NULL while PENDING
 *
 * All three are appended to the view.  No hash is recomputed: old rows
 * keep encoding 1, which does not cover the new columns (they are NULL).
 */
static const char schema_v3[] =
        "ALTER TABLE records ADD COLUMN login_uid INTEGER;\n"
        "ALTER TABLE records ADD COLUMN session_id INTEGER;\n"
        "ALTER TABLE records ADD COLUMN hash_version INTEGER;\n"
        "UPDATE records SET hash_version = 1 WHERE seq IS NOT NULL;\n"
        "DROP VIEW trail;\n"
        "CREATE VIEW trail AS SELECT\n"
        TRAIL_VIEW_V2_COLUMNS ",\n"
        " login_uid, session_id, hash_version\n"
        " FROM records;\n"
        "PRAGMA user_version = 3;";

/*
 * Schema version 4: the platform principal, the identity the platform
 * itself saw for the act, next to the operator (uid, login_uid) who asked.
 *
 *   platform_user  the user name the endpoint's session logged in as (the
 *                  backend's login() names it: a vSphere service account,
 *                  a libvirt SASL/TLS identity); NULL on DENIED rows, rows
 *                  written before any login, and rows written before
 *
 * Appended to the view, with an index for "vmctl log --platform-user".
 * No hash is recomputed: old rows keep encoding 1 or 2, neither of which
 * covers the column; rows completed from now on get encoding 3.
 */
#define TRAIL_VIEW_V3_COLUMNS TRAIL_VIEW_V2_COLUMNS ",\n login_uid, session_id, hash_version"

static const char schema_v4[] =
        "ALTER TABLE records ADD COLUMN platform_user TEXT;\n"
        "CREATE INDEX records_platform_user ON records(platform_user);\n"
        "DROP VIEW trail;\n"
        "CREATE VIEW trail AS SELECT\n"
        TRAIL_VIEW_V3_COLUMNS ",\n"
        " platform_user\n"
        " FROM records;\n"
        "PRAGMA user_version = 4;";

/*
 * Schema version 5: changes made behind vmtraced's back, seen by watching
 * the platform ("out-of-band"), get rows of their own.
 *
 *   source        'out-of-band' for such a row; NULL for vmtraced's own
 *                 operations, so every older row reads as one of those
 *   seen_from_ms  the change happened after this: the value was last seen
 *                 unchanged then (ms since the epoch); NULL on other rows
 *   seen_to_ms    and before this: first seen changed
 *
 * Appended to the view, with an index on source for "vmctl log --source".
 * No hash is recomputed: old rows keep encodings 1 to 3, none of which
 * covers the columns; rows completed from now on get encoding 4.
 */
#define TRAIL_VIEW_V4_COLUMNS TRAIL_VIEW_V3_COLUMNS ",\n platform_user"

static const char schema_v5[] =
        "ALTER TABLE records ADD COLUMN source TEXT;\n"
        "ALTER TABLE records ADD COLUMN seen_from_ms INTEGER;\n"
        "ALTER TABLE records ADD COLUMN seen_to_ms INTEGER;\n"
        "CREATE INDEX records_source ON records(source);\n"
        "DROP VIEW trail;\n"
        "CREATE VIEW trail AS SELECT\n"
        TRAIL_VIEW_V4_COLUMNS ",\n"
        " source, seen_from_ms, seen_to_ms\n"
        " FROM records;\n"
        "PRAGMA user_version = 5;";

/*
 * Schema version 6: every vmctl log filter is answered from an index whose
 * entries come in the log's order, (column, start_ms) and the rowid, which
 * is id: a filter matching most of a trail of millions of rows then needs
 * no sort, and --limit stops after its rows.  Added for --host,
 * --endpoint and --result, which had none; the one-column indexes of the
 * other filters are replaced.  No column, hash or view changes.
 */
#define FILTER_INDEX(column) \
        "DROP INDEX IF EXISTS records_" column ";\n" \
        "CREATE INDEX records_" column " ON records(" column ", start_ms);\n"

static const char schema_v6[] =
        FILTER_INDEX("user")
        FILTER_INDEX("vm_name")
        FILTER_INDEX("vm_id")
        FILTER_INDEX("operation")
        FILTER_INDEX("platform_user")
        FILTER_INDEX("source")
        FILTER_INDEX("host")
        FILTER_INDEX("endpoint")
        FILTER_INDEX("result")
        "PRAGMA user_version = 6;";

/*
 * Schema version 7: how far each forwarding target ([forward "NAME"] in
 * vmtraced.conf) has acknowledged the chain, so that forwarding resumes
 * after the last row the target confirmed, across outages and restarts.
 *
 *   target     the section's NAME
 *   acked_seq  the highest seq the target acknowledged (every row up to it
 *              was acknowledged, in order); 0 before the first
 *   acked_ms   when that was, ms since the epoch
 *
 * Not part of the chain: a row here says nothing about the trail's rows,
 * and vmtraced rewrites it as acknowledgements come in.
 */
static const char schema_v7[] =
        "CREATE TABLE forward_state (\n"
        " target TEXT PRIMARY KEY,\n"
        " acked_seq INTEGER NOT NULL,\n"
        " acked_ms INTEGER NOT NULL);\n"
        "PRAGMA user_version = 7;";

/*
 * Schema version 8: indexes for the filters vmctl log gained, --uid,
 * --login-uid and --fault, in the log's order as in version 6; for --vm's
 * identity, the renames by the name they gave (a partial index: renames
 * are few); and for --message, records_message, an FTS5 index of the
 * messages by trigrams (case kept), whose content is records itself:
 * three triggers keep it in step as rows are written, completed or
 * removed.  No column, hash or view changes.
 */
static const char schema_v8[] =
        FILTER_INDEX("uid")
        FILTER_INDEX("login_uid")
        FILTER_INDEX("fault")
        "CREATE INDEX records_renamed ON records(after) WHERE operation = 'RenameVM';\n"
        "CREATE VIRTUAL TABLE records_message USING fts5(message, content = 'records', content_rowid = 'id',"
        " tokenize = 'trigram case_sensitive 1');\n"
        "INSERT INTO records_message(records_message) VALUES ('rebuild');\n"
        "CREATE TRIGGER records_message_insert AFTER INSERT ON records WHEN new.message IS NOT NULL BEGIN\n"
        " INSERT INTO records_message(rowid, message) VALUES (new.id, new.message);\n"
        "END;\n"
        "CREATE TRIGGER records_message_update AFTER UPDATE OF message ON records BEGIN\n"
        " INSERT INTO records_message(records_message, rowid, message)"
        " SELECT 'delete', old.id, old.message WHERE old.message IS NOT NULL;\n"
        " INSERT INTO records_message(rowid, message) SELECT new.id, new.message WHERE new.message IS NOT NULL;\n"
        "END;\n"
        "CREATE TRIGGER records_message_delete AFTER DELETE ON records WHEN old.message IS NOT NULL BEGIN\n"
        " INSERT INTO records_message(records_message, rowid, message) VALUES ('delete', old.id, old.message);\n"
        "END;\n"
        "PRAGMA user_version = 8;";

/*
 * Schema version 9: the checkpoints vmtraced signed with its Ed25519 key
 * (signing-key in vmtraced.conf; see SIGNED CHECKPOINTS in
 * vmtraced-trail(5) for what is signed and how to check it by hand).
 *
 *   seq         the chain's seq the checkpoint is at
 *   hash        that row's hash, 64 hex digits
 *   prev_seq    the seq of the checkpoint signed before it by this trail
 *               (0 for the first), so that one removed from the middle
 *               shows
 *   signed_ms   when it was signed, ms since the epoch
 *   public_key  the raw Ed25519 public key, 64 hex digits
 *   signature   the Ed25519 signature, 128 hex digits
 *
 * Not part of the chain: the signatures prove the chain, not the reverse.
 */
static const char schema_v9[] =
        "CREATE TABLE signed_checkpoints (\n"
        " seq INTEGER PRIMARY KEY,\n"
        " hash TEXT NOT NULL,\n"
        " prev_seq INTEGER NOT NULL,\n"
        " signed_ms INTEGER NOT NULL,\n"
        " public_key TEXT NOT NULL,\n"
        " signature TEXT NOT NULL);\n"
        "PRAGMA user_version = 9;";

/*
 * Schema version 10: where the chain starts once vmctl prune removed its
 * oldest rows (one row per prune; the highest seq is the start):
 *
 *   seq        the last row removed: the rows left begin at seq + 1
 *   hash       that row's hash, from which the rest of the chain goes on
 *   last_id    the highest row id removed, so that ids are never reused
 *   pruned_ms  when, ms since the epoch
 *   rows       how many rows were removed
 *   archive    the file they were archived into (vmctl prune's OUT)
 *
 * Not part of the chain: its seq and hash are checked against the
 * archive's head by vmctl verify --archive.
 */
static const char schema_v10[] =
        "CREATE TABLE anchor (\n"
        " seq INTEGER PRIMARY KEY,\n"
        " hash TEXT NOT NULL,\n"
        " last_id INTEGER NOT NULL,\n"
        " pruned_ms INTEGER NOT NULL,\n"
        " rows INTEGER NOT NULL,\n"
        " archive TEXT NOT NULL);\n"
        "PRAGMA user_version = 10;";

/*
 * The chain's statements per schema version.  The column lists come from
 * trail_hash.h, so what is read is what the encoding covers.
 */
#define CHAIN_SQL(after_seq, set_seq_sql, version)                                                   \
        {                                                                                             \
                .set_seq = set_seq_sql,                                                               \
                .read = "SELECT seq, " after_seq " FROM records WHERE id = ?1",                       \
                .walk = "SELECT rowid, hash, seq, " after_seq " FROM records"                        \
                        " WHERE seq IS NOT NULL ORDER BY seq, rowid",                                \
                .walk_from = "SELECT rowid, hash, seq, " after_seq " FROM records"                   \
                             " WHERE seq >= ?1 ORDER BY seq, rowid",                                 \
                .walk_below = "SELECT rowid, hash, seq, " after_seq " FROM records"                  \
                              " WHERE seq < ?1 ORDER BY seq, rowid",                                 \
                .as_seq = "SELECT ?1, " after_seq " FROM records WHERE rowid = ?2",                   \
                .hash_version = version,                                                              \
        }

/* Schema 2: no hash_version yet, so rows get encoding 1 and migration 3 records that. */
static const struct trail_chain_sql chain_sql_v2 =
        CHAIN_SQL(TRAIL_HASH_SCHEMA2_AFTER_SEQ, "UPDATE records SET seq = ?1 WHERE id = ?2", 0);
/* Schema 3: no platform_user yet; its rows are of encoding 1 or 2 (what a schema-3 vmtraced wrote). */
static const struct trail_chain_sql chain_sql_v3 =
        CHAIN_SQL(TRAIL_HASH_SCHEMA3_AFTER_SEQ, "UPDATE records SET seq = ?1, hash_version = ?3 WHERE id = ?2", 2);
/* Schema 4: no source or window yet; its rows are of encodings 1 to 3. */
static const struct trail_chain_sql chain_sql_v4 =
        CHAIN_SQL(TRAIL_HASH_SCHEMA4_AFTER_SEQ, "UPDATE records SET seq = ?1, hash_version = ?3 WHERE id = ?2", 3);
static const struct trail_chain_sql chain_sql_v5 =
        CHAIN_SQL(TRAIL_HASH_COLUMNS_AFTER_SEQ, "UPDATE records SET seq = ?1, hash_version = ?3 WHERE id = ?2",
                  TRAIL_HASH_VERSION);

const struct trail_chain_sql *trail_schema_chain_sql(int version) {
        if (version < TRAIL_SCHEMA_HASH_VERSIONS)
                return &chain_sql_v2;
        if (version < TRAIL_SCHEMA_PLATFORM_USER)
                return &chain_sql_v3;
        return version < TRAIL_SCHEMA_SOURCE ? &chain_sql_v4 : &chain_sql_v5;
}

int trail_schema_errno(int rc) {
        switch (rc & 0xff) {
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

/* 0 for SQLITE_OK, else the errno it stands for. */
static int to_errno(int rc) {
        return rc == SQLITE_OK ? 0 : trail_schema_errno(rc);
}

int trail_schema_version(sqlite3 *db, int *out) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        int rc;

        rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);
        if (rc != SQLITE_OK)
                return to_errno(rc);
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
                return trail_schema_errno(rc);
        *out = sqlite3_column_int(s, 0);
        return 0;
}

struct trail_chainer {
        struct trail_hasher *h;
        sqlite3_stmt *set_seq, *read, *set_hash;
        int version;               /* hash_version set_seq stores; 0: none (schema 2) */
};

void trail_chainer_free(struct trail_chainer *c) {
        if (!c)
                return;
        sqlite3_finalize(c->set_seq);
        sqlite3_finalize(c->read);
        sqlite3_finalize(c->set_hash);
        trail_hasher_free(c->h);
        free(c);
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **s) {
        return to_errno(sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, s, NULL));
}

int trail_chainer_new(sqlite3 *db, int version, struct trail_chainer **out) {
        const struct trail_chain_sql *sql = trail_schema_chain_sql(version);
        struct trail_chainer *c = calloc(1, sizeof *c);
        int r;

        if (!c)
                return -ENOMEM;
        c->version = sql->hash_version;
        r = trail_hasher_new(&c->h);
        if (r >= 0)
                r = prepare(db, sql->set_seq, &c->set_seq);
        if (r >= 0)
                r = prepare(db, sql->read, &c->read);
        if (r >= 0)
                r = prepare(db, "UPDATE records SET hash = ?1 WHERE id = ?2", &c->set_hash);
        if (r < 0) {
                trail_chainer_free(c);
                return r;
        }
        *out = c;
        return 0;
}

/* trail_chainer_append() with an SQLite result code. */
static int chain_one(struct trail_chainer *c, int64_t id, int64_t seq, unsigned char hash[TRAIL_HASH_SIZE]) {
        _cleanup_(stmt_resetp) sqlite3_stmt *u = c->set_seq, *r = c->read, *h = c->set_hash;
        char hex[TRAIL_HASH_HEX_SIZE];
        unsigned char out[TRAIL_HASH_SIZE];
        int rc;

        if ((rc = sqlite3_bind_int64(u, 1, seq)) != SQLITE_OK || (rc = sqlite3_bind_int64(u, 2, id)) != SQLITE_OK ||
            (c->version && (rc = sqlite3_bind_int(u, 3, c->version)) != SQLITE_OK))
                return rc;
        if ((rc = sqlite3_step(u)) != SQLITE_DONE)
                return rc;
        if ((rc = sqlite3_bind_int64(r, 1, id)) != SQLITE_OK)
                return rc;
        if ((rc = sqlite3_step(r)) != SQLITE_ROW)
                return rc == SQLITE_DONE ? SQLITE_INTERNAL : rc;
        if (trail_hash_row(c->h, hash, r, 0, out) < 0)
                return SQLITE_NOMEM; /* hash_version is the one just set: only memory can fail */
        memcpy(hash, out, TRAIL_HASH_SIZE);
        trail_hash_to_hex(out, hex);
        if ((rc = sqlite3_bind_text(h, 1, hex, -1, SQLITE_TRANSIENT)) != SQLITE_OK ||
            (rc = sqlite3_bind_int64(h, 2, id)) != SQLITE_OK)
                return rc;
        rc = sqlite3_step(h);
        return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int trail_chainer_append(struct trail_chainer *c, int64_t id, int64_t seq, unsigned char hash[TRAIL_HASH_SIZE]) {
        return to_errno(chain_one(c, id, seq, hash));
}

/*
 * migrations[N] takes the schema from version N to N+1 inside the caller's
 * transaction, and must itself set PRAGMA user_version = N+1.  To change the
 * schema, append a step; never edit a released one.
 */
static int migrate_0_to_1(sqlite3 *db) {
        return to_errno(sqlite3_exec(db, schema_v1, NULL, NULL, NULL));
}

static int migrate_1_to_2(sqlite3 *db) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        unsigned char hash[TRAIL_HASH_SIZE] = {};
        struct trail_chainer *c = NULL;
        int64_t seq = 0;
        int r, rc;

        r = to_errno(sqlite3_exec(db, schema_v2, NULL, NULL, NULL));
        if (r < 0)
                return r;
        r = trail_chainer_new(db, TRAIL_SCHEMA_CHAINED, &c);
        if (r < 0)
                return r;
        rc = sqlite3_prepare_v2(db, "SELECT id FROM records WHERE result <> 'PENDING' ORDER BY end_ms, id",
                                -1, &s, NULL);
        while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
                rc = chain_one(c, sqlite3_column_int64(s, 0), ++seq, hash);
        trail_chainer_free(c);
        if (rc != SQLITE_DONE && rc != SQLITE_OK)
                return trail_schema_errno(rc);
        return to_errno(sqlite3_exec(db, "PRAGMA user_version = 2", NULL, NULL, NULL));
}

static int migrate_2_to_3(sqlite3 *db) {
        return to_errno(sqlite3_exec(db, schema_v3, NULL, NULL, NULL));
}

static int migrate_3_to_4(sqlite3 *db) {
        return to_errno(sqlite3_exec(db, schema_v4, NULL, NULL, NULL));
}

static int migrate_4_to_5(sqlite3 *db) {
        return to_errno(sqlite3_exec(db, schema_v5, NULL, NULL, NULL));
}

static int migrate_5_to_6(sqlite3 *db) {
        return to_errno(sqlite3_exec(db, schema_v6, NULL, NULL, NULL));
}

static int migrate_6_to_7(sqlite3 *db) {
        return to_errno(sqlite3_exec(db, schema_v7, NULL, NULL, NULL));
}

static int migrate_7_to_8(sqlite3 *db) {
        return to_errno(sqlite3_exec(db, schema_v8, NULL, NULL, NULL));
}

static int migrate_8_to_9(sqlite3 *db) {
        return to_errno(sqlite3_exec(db, schema_v9, NULL, NULL, NULL));
}

static int migrate_9_to_10(sqlite3 *db) {
        return to_errno(sqlite3_exec(db, schema_v10, NULL, NULL, NULL));
}

static int (*const migrations[])(sqlite3 *db) = {
        migrate_0_to_1,
        migrate_1_to_2,
        migrate_2_to_3,
        migrate_3_to_4,
        migrate_4_to_5,
        migrate_5_to_6,
        migrate_6_to_7,
        migrate_7_to_8,
        migrate_8_to_9,
        migrate_9_to_10,
};

_Static_assert(ELEMENTSOF(migrations) == TRAIL_SCHEMA_VERSION, "one migration per schema version");

int trail_schema_migrate(sqlite3 *db, int from) {
        if (from < 0 || from >= TRAIL_SCHEMA_VERSION)
                return -EINVAL;
        return migrations[from](db);
}

/* ---------- the schema a file should have ---------- */

/*
 * The schema vmtraced leaves at version, built by running the very
 * migrations on an empty in-memory database: what a file of that version
 * holds, whichever version it was created at, since every file is made by
 * these steps (ALTER TABLE edits a table's text the same way each time).
 */
static int expected_schema(int version, bool archive, sqlite3 **out) {
        _cleanup_(sqlite3_closep) sqlite3 *db = NULL;
        int r;

        r = to_errno(sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL));
        for (int v = 0; r >= 0 && v < version; v++)
                r = trail_schema_migrate(db, v);
        if (r >= 0 && archive)
                r = trail_schema_archive_create(db);
        if (r < 0)
                return r;
        *out = TAKE_PTR(db);
        return 0;
}

/*
 * What vmctl archive adds to its copy: one row saying when it was made,
 * from which file, and the chain head the copy had then.  Not part of a
 * live trail, which vmtraced refuses with it.
 */
static const char schema_archive[] =
        "CREATE TABLE archive (\n"
        " made_ms INTEGER NOT NULL,\n"
        " source TEXT NOT NULL,\n"
        " seq INTEGER NOT NULL,\n"
        " hash TEXT NOT NULL)";

int trail_schema_archive_create(sqlite3 *db) {
        return to_errno(sqlite3_exec(db, schema_archive, NULL, NULL, NULL));
}

bool trail_schema_has_table(sqlite3 *db, const char *name) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;

        return sqlite3_prepare_v2(db, "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = ?1",
                                  -1, &s, NULL) == SQLITE_OK && sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC) == SQLITE_OK &&
               sqlite3_step(s) == SQLITE_ROW;
}

/*
 * Every object but SQLite's own (sqlite_autoindex_* follow from the table
 * text, sqlite_stat* from ANALYZE, neither changes what a query returns),
 * in one order on both sides.
 */
#define SCHEMA_OBJECTS_SQL                                                              \
        "SELECT type, name, tbl_name, sql FROM main.sqlite_master"                     \
        " WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name"

struct schema_cursor {
        sqlite3_stmt *s;
        int rc;                    /* SQLITE_ROW while on an object */
};

static const char *cur_text(const struct schema_cursor *c, int i) {
        return (const char *) sqlite3_column_text(c->s, i);
}

/* <0, 0, >0 as a's object sorts before, with or after b's; a finished cursor sorts last. */
static int cur_order(const struct schema_cursor *a, const struct schema_cursor *b) {
        int k;

        if (a->rc != SQLITE_ROW || b->rc != SQLITE_ROW)
                return (a->rc != SQLITE_ROW) - (b->rc != SQLITE_ROW);
        k = strcmp(strempty(cur_text(a, 0)), strempty(cur_text(b, 0)));
        return k ? k : strcmp(strempty(cur_text(a, 1)), strempty(cur_text(b, 1)));
}

static bool same_text(const char *a, const char *b) {
        return a && b ? strcmp(a, b) == 0 : a == b;
}

static void say(trail_schema_diff_fn fn, void *userdata, unsigned *n, const char *fmt, ...) _printf_(4, 5);
static void say(trail_schema_diff_fn fn, void *userdata, unsigned *n, const char *fmt, ...) {
        _cleanup_free_ char *text = NULL;
        va_list ap;
        int k;

        (*n)++;
        va_start(ap, fmt);
        k = vasprintf(&text, fmt, ap);
        va_end(ap);
        if (k >= 0)
                fn(text, userdata);
}

/* One step of the merge of the file's objects (f) with the expected ones (e). */
static void compare_step(struct schema_cursor *f, struct schema_cursor *e, int version,
                         trail_schema_diff_fn fn, void *userdata, unsigned *n) {
        int k = cur_order(f, e);

        if (k < 0)
                say(fn, userdata, n, "%s %s is not part of schema %d: added", cur_text(f, 0), cur_text(f, 1), version);
        else if (k > 0)
                say(fn, userdata, n, "%s %s of schema %d is missing: dropped", cur_text(e, 0), cur_text(e, 1),
                    version);
        else if (!same_text(cur_text(f, 2), cur_text(e, 2)) || !same_text(cur_text(f, 3), cur_text(e, 3)))
                say(fn, userdata, n, "%s %s differs from schema %d's: redefined", cur_text(f, 0), cur_text(f, 1),
                    version);
        if (k <= 0)
                f->rc = sqlite3_step(f->s);
        if (k >= 0)
                e->rc = sqlite3_step(e->s);
}

int trail_schema_check(sqlite3 *db, int version, bool archive_ok, trail_schema_diff_fn fn, void *userdata,
                       unsigned *differences) {
        _cleanup_(sqlite3_closep) sqlite3 *want = NULL;
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *fs = NULL, *es = NULL;
        int r;

        *differences = 0;
        if (version < 0 || version > TRAIL_SCHEMA_VERSION)
                return -EPROTONOSUPPORT;
        r = expected_schema(version, archive_ok && trail_schema_has_table(db, "archive"), &want);
        if (r < 0)
                return r;
        r = to_errno(sqlite3_prepare_v2(db, SCHEMA_OBJECTS_SQL, -1, &fs, NULL));
        if (r < 0)
                return r;
        r = to_errno(sqlite3_prepare_v2(want, SCHEMA_OBJECTS_SQL, -1, &es, NULL));
        if (r < 0)
                return r;
        struct schema_cursor f = { fs, sqlite3_step(fs) }, e = { es, sqlite3_step(es) };
        while (f.rc == SQLITE_ROW || e.rc == SQLITE_ROW)
                compare_step(&f, &e, version, fn, userdata, differences);
        if (f.rc != SQLITE_DONE)
                return trail_schema_errno(f.rc);
        return e.rc == SQLITE_DONE ? 0 : -ENOMEM;
}

