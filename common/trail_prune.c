/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Pruning the oldest rows into an archive, behind an anchor; see trail_prune.h. */
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "macros.h"
#include "trail_hash.h"
#include "trail_prune.h"
#include "trail_schema.h"
#include "util.h"

static int64_t query_int(sqlite3 *db, const char *sql, int64_t arg, int64_t null_value) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;

        if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
                return -1;
        if (sqlite3_bind_parameter_count(s) > 0)
                sqlite3_bind_int64(s, 1, arg);
        if (sqlite3_step(s) != SQLITE_ROW)
                return -1;
        return sqlite3_column_type(s, 0) == SQLITE_NULL ? null_value : sqlite3_column_int64(s, 0);
}

/*
 * K: the last seq such that every row up to it ended before before_ms, no
 * further than any forwarding target acknowledged (a row it lacks must not
 * go); res->limit says when a target held it back.
 */
static int64_t prune_seq(sqlite3 *db, int64_t before_ms, struct trail_prune_result *res) {
        int64_t k = query_int(db, "SELECT COALESCE((SELECT MIN(seq) FROM records WHERE seq IS NOT NULL AND"
                              " (end_ms IS NULL OR end_ms >= ?1)), (SELECT COALESCE(MAX(seq), 0) + 1 FROM records)) - 1",
                              before_ms, 0);
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;

        /* The target furthest behind, named: the admin must know whom to wait for (or to remove). */
        if (k < 0 || sqlite3_prepare_v2(db, "SELECT target, acked_seq FROM forward_state ORDER BY acked_seq LIMIT 1",
                                        -1, &s, NULL) != SQLITE_OK)
                return -1;
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW && sqlite3_column_int64(s, 1) < k) {
                /* As the file has it: whoever prints it escapes it (a hand-edited name may hold anything). */
                k = sqlite3_column_int64(s, 1);
                const char *name = (const char *) sqlite3_column_text(s, 0);

                snprintf(res->limit, sizeof res->limit, "forwarding target \"%.64s\" has acknowledged only up to seq %"
                         PRId64 "; the rows after it stay until it has them", name ? name : "(NULL)", k);
        }
        return rc == SQLITE_ROW || rc == SQLITE_DONE ? k : -1;
}

/* The anchor row, written only if row k still has the archived hash: SQLITE_CONSTRAINT if it has not. */
static int insert_anchor(sqlite3 *db, int64_t k, const char *hex, const char *out) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        int rc = sqlite3_prepare_v2(db, "INSERT INTO anchor (seq, hash, last_id, pruned_ms, rows, archive)"
                                    " SELECT ?1, ?2, MAX(id), ?3, count(*), ?4 FROM records WHERE seq <= ?1"
                                    " AND EXISTS (SELECT 1 FROM records WHERE seq = ?1 AND hash = ?2)",
                                    -1, &s, NULL);

        if (rc == SQLITE_OK && (sqlite3_bind_int64(s, 1, k) != SQLITE_OK ||
                                sqlite3_bind_text(s, 2, hex, -1, SQLITE_STATIC) != SQLITE_OK ||
                                sqlite3_bind_int64(s, 3, now_ms()) != SQLITE_OK ||
                                sqlite3_bind_text(s, 4, out, -1, SQLITE_STATIC) != SQLITE_OK))
                rc = SQLITE_NOMEM;
        if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_DONE)
                rc = sqlite3_changes(db) == 1 ? SQLITE_OK : SQLITE_CONSTRAINT;
        return rc;
}

/* The live file: the anchor and the removal, in one transaction, once row k still has the archived hash. */
static int remove_rows(const char *path, int64_t k, const struct trail_verify_result *ar, const char *out,
                       struct trail_prune_result *res) {
        _cleanup_(sqlite3_closep) sqlite3 *db = NULL;
        char hex[TRAIL_HASH_HEX_SIZE];
        int rc;

        trail_hash_to_hex(ar->head, hex);
        rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_busy_timeout(db, 10000);
        if (rc == SQLITE_OK)
                rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
                rc = insert_anchor(db, k, hex, out);
        res->rows = rc == SQLITE_OK ? query_int(db, "SELECT rows FROM anchor WHERE seq = ?1", k, 0) : 0;
        if (rc == SQLITE_OK)
                rc = sqlite3_exec(db, "DELETE FROM signed_checkpoints WHERE seq <= (SELECT MAX(seq) FROM anchor);"
                                  " DELETE FROM records WHERE seq <= (SELECT MAX(seq) FROM anchor); COMMIT",
                                  NULL, NULL, NULL);
        if (rc == SQLITE_OK)
                return 0;
        /* SQLITE_CONSTRAINT: row k changed since it was archived (or another prune anchored there). */
        log_error("Cannot prune %s: %s; nothing was removed, %s stays as a copy.", path,
                  rc == SQLITE_CONSTRAINT ? "its row at the archive's head is not the one archived"
                                          : sqlite3_errmsg(db), out);
        (void) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return -EIO;
}

int trail_prune(struct trail_reader *r, int64_t before_ms, const char *out, const struct trail_verify_args *args,
                struct trail_prune_result *res) {
        const char *path = trail_reader_path(r);
        struct trail_anchor a;
        int64_t from = 0;
        int k;

        *res = (struct trail_prune_result) {};
        if (trail_reader_version(r) < TRAIL_SCHEMA_ANCHOR)
                return log_error_errno(-EPROTONOSUPPORT, "%s has schema version %d: start vmtraced of this version "
                                       "once, which migrates it, before pruning.", path, trail_reader_version(r));
        if (trail_reader_anchor(r, &a) >= 0) {
                from = a.at.seq;
                free(a.archive);
        }
        res->seq = prune_seq(trail_reader_db(r), before_ms, res);
        if (res->seq < 0)
                return log_error_errno(-EIO, "Cannot read %s: %s", path, sqlite3_errmsg(trail_reader_db(r)));
        if (res->seq <= from)
                return log_error_errno(-ENODATA, "Nothing to prune in %s: no row of the chain after seq %" PRId64
                                       " ended before that time%s%s.", path, from, res->limit[0] ? ", and " : "",
                                       res->limit);
        k = trail_reader_archive_upto(r, out, res->seq, args, &res->archive);
        if (k < 0)
                return k;
        if (res->archive.problems > 0 || res->archive.last_seq != res->seq)
                return log_error_errno(-EBADMSG, "%s does not verify as the chain up to seq %" PRId64 "; nothing "
                                       "was removed from %s (see vmctl verify).", out, res->seq, path);
        return remove_rows(path, res->seq, &res->archive, out, res);
}
