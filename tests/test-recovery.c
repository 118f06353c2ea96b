/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for daemon/recovery.c: rows an "earlier run" left PENDING are
 * resolved through a small test backend behind the real backend interface
 * (struct backend_ops), whose task_outcome answers per task id the way a
 * platform would: done, failed, still running, unknown, not supported.
 * Every row must end OK, NG or UNKNOWN, chained, with nothing dropped, and
 * rows of the current run must be left alone.
 */
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "backend.h"
#include "log.h"
#include "macros.h"
#include "recovery.h"
#include "tap.h"

/* The test backend's session: counts the lookups. */
struct backend_session {
        int calls;
};

static int test_task_outcome(struct backend_session *s, enum op_kind kind, const struct op_args *args,
                             const char *task_id, const char *opid, struct vm_target *t,
                             struct op_value *after, struct op_error *err) {
        s->calls++;
        if (kind != OP_RENAME || !args->vm || !opid)
                return -EINVAL;
        if (strcmp(task_id, "task-ok") == 0) {
                free(t->host);
                t->host = strdup("esx-after");
                after->known = true;
                after->name = strdup("renamed");
                return 0;
        }
        if (strcmp(task_id, "task-fail") == 0) {
                op_error_set(err, "DuplicateName", "The name 'x' already exists.");
                return -EREMOTEIO;
        }
        if (strcmp(task_id, "task-running") == 0)
                return -EINPROGRESS;
        if (strcmp(task_id, "task-nosup") == 0)
                return -ENOTSUP;
        if (strcmp(task_id, "task-down") == 0) {
                op_error_set(err, "ConnectionError", "connection refused");
                return -ECONNREFUSED;
        }
        return -ENOENT;
}

static const struct backend_ops test_ops = { .name = "test", .task_outcome = test_task_outcome };
static const struct backend_ops blind_ops = { .name = "blind" }; /* no task_outcome */

static char tmpdir[] = "/tmp/test-recovery.XXXXXX";
static char dbpath[256];

static char *sql_text(const char *sql) {
        sqlite3 *db;
        sqlite3_stmt *s;
        char *v = NULL;

        if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
                return NULL;
        if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
                if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
                        v = strdup((const char *) sqlite3_column_text(s, 0));
                sqlite3_finalize(s);
        }
        sqlite3_close(db);
        return v;
}

/* "result|fault|after|host" of row id, and whether its message contains want. */
static bool row_is(int64_t id, const char *want, const char *msg_part) {
        char q[256];
        _cleanup_free_ char *got = NULL, *msg = NULL;

        snprintf(q, sizeof q, "SELECT result||'|'||coalesce(fault,'')||'|'||coalesce(after,'')||'|'||coalesce(host,'')"
                 " FROM records WHERE id = %" PRId64, id);
        got = sql_text(q);
        snprintf(q, sizeof q, "SELECT message FROM records WHERE id = %" PRId64, id);
        msg = sql_text(q);
        if (!got || strcmp(got, want) != 0 || !msg || !strstr(msg, msg_part)) {
                printf("# row %" PRId64 ": got %s (%s), want %s (...%s...)\n", id, strempty(got), strempty(msg), want,
                       msg_part);
                return false;
        }
        return true;
}

struct resolver {
        const struct backend_ops *ops;
        struct backend_session *s;
};

static int resolve(struct audit *a, const struct audit_record *r, void *userdata) {
        struct resolver *res = userdata;

        return recovery_resolve(a, r, res->ops, res->s) < 0 ? -EIO : 0;
}

static const struct {
        const char *operation, *task, *want, *msg;
} rows[] = {
        { "RenameVM", "task-ok", "OK||renamed|esx-after", "task-ok" },
        { "RenameVM", "task-fail", "NG|DuplicateName||esx-before", "already exists" },
        { "RenameVM", "task-running", "UNKNOWN|||esx-before", "still running" },
        { "RenameVM", "task-gone", "UNKNOWN|||esx-before", "no longer knows" },
        { "RenameVM", "task-nosup", "UNKNOWN|||esx-before", "cannot look tasks up" },
        { "RenameVM", "task-down", "UNKNOWN|ConnectionError||esx-before", "connection refused" },
        { "RenameVM", NULL, "UNKNOWN|||esx-before", "before the platform reported a task" },
        { "Login", "task-ok", "UNKNOWN|||esx-before", "cannot be looked up" },
};

/* A rename by no one in particular (no login uid, no session), as the rows beyond the table are. */
static struct audit_record plain_rename(const char *vm_name) {
        return (struct audit_record) { .operation = "RenameVM", .pid = 1, .vm_name = vm_name, .login_uid = -1,
                                       .session_id = -1 };
}

/* audit_begin, then the task id as soon as the platform reports one (as operation.c does). */
static int begin_with_task(struct audit *a, struct audit_record *rec, const char *task) {
        int r = audit_begin(a, rec);

        if (r == 0 && task)
                r = audit_set_task(a, rec->id, task);
        return r;
}

/* The earlier run: rows begun and never completed (it "crashed").  false if the trail did not open. */
static bool earlier_run(int64_t ids[ELEMENTSOF(rows)], int64_t *extra_id) {
        struct audit *a = NULL;
        struct audit_record extra = plain_rename("web2");
        int r;

        r = audit_open(dbpath, &a);
        if (!tap_ok(r == 0, "open"))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                struct audit_record rec = { .operation = rows[i].operation, .pid = 1, .vm_name = "web1", .vm_id = "vm-1",
                                            .host = "esx-before", .before = "web1", .login_uid = 1000,
                                            .session_id = 5 };
                r = begin_with_task(a, &rec, rows[i].task);
                ids[i] = rec.id;
                tap_ok(r == 0, "earlier run: PENDING row %zu, task stored as soon as known", i);
        }
        r = begin_with_task(a, &extra, "task-ok");
        *extra_id = extra.id;
        tap_ok(r == 0, "earlier run: one more row, task stored");
        audit_close(a);
        return true;
}

/* The next run resolves the earlier run's rows through the test backend, and leaves its own alone. */
static void next_run(const int64_t ids[ELEMENTSOF(rows)], int64_t extra_id, int64_t *current_id,
                     struct backend_session *sess) {
        struct audit *a = NULL;
        struct audit_record now = plain_rename("web3");
        struct resolver res = { &test_ops, sess };
        int r, n;

        r = audit_open(dbpath, &a);
        tap_ok(r == 0, "reopen");
        r = audit_begin(a, &now);
        *current_id = now.id;
        tap_ok(r == 0, "this run: a PENDING row of its own");

        n = audit_pending_foreach(a, resolve, &res);
        tap_ok(n == (int) ELEMENTSOF(rows) + 1, "pending rows of the earlier run found: %d (this run's excluded)", n);
        tap_ok(sess->calls == 7, "the backend was asked once per row with a task of a known operation (%d)",
               sess->calls);
        for (size_t i = 0; i < ELEMENTSOF(rows); i++)
                tap_ok(row_is(ids[i], rows[i].want, rows[i].msg), "task %s -> %s", strempty(rows[i].task),
                       rows[i].want);
        tap_ok(row_is(extra_id, "OK||renamed|esx-after", "task-ok"), "the extra row resolved as well");
        audit_close(a);
}

/* A backend that cannot look tasks up: the outcome is impossible, and the row says why. */
static void blind_backend(int64_t current_id, struct backend_session *sess) {
        struct audit *a = NULL;
        struct audit_record late = plain_rename("web4");
        struct resolver blind_res = { &blind_ops, sess };
        int r, n;

        r = audit_open(dbpath, &a);
        if (r != 0)
                return;
        r = begin_with_task(a, &late, "task-ok");
        audit_close(a);
        a = NULL;
        if (r == 0)
                r = audit_open(dbpath, &a);
        if (r != 0)
                return;
        n = audit_pending_foreach(a, resolve, &blind_res);
        tap_ok(n == 2, "next start: two rows pending (%d)", n);
        tap_ok(row_is(late.id, "UNKNOWN|||", "blind backend cannot look tasks up"),
               "a backend without task_outcome -> UNKNOWN with the reason");
        tap_ok(row_is(current_id, "UNKNOWN|||", "before the platform reported a task"),
               "the earlier run's own PENDING row is resolved at the following start");
        audit_close(a);
}

/* Every row ended, chained, none dropped, each keeping who asked. */
static void check_trail(void) {
        _cleanup_free_ char *left = sql_text("SELECT count(*) FROM records WHERE result = 'PENDING'");
        _cleanup_free_ char *chained = sql_text("SELECT count(*) = max(seq) AND count(*) = count(hash) FROM records");
        _cleanup_free_ char *total = sql_text("SELECT count(*) FROM records");
        _cleanup_free_ char *who = sql_text("SELECT count(*) FROM records WHERE login_uid = 1000 AND session_id = 5");

        tap_ok(left && strcmp(left, "0") == 0, "no row left PENDING");
        tap_ok(chained && strcmp(chained, "1") == 0, "every resolved row is chained");
        tap_ok(total && atoi(total) == (int) ELEMENTSOF(rows) + 3, "no row dropped (%s)", strempty(total));
        tap_ok(who && atoi(who) == (int) ELEMENTSOF(rows), "resolved rows keep the login uid and session (%s)",
               strempty(who));
}

int main(void) {
        struct backend_session sess = {};
        int64_t ids[ELEMENTSOF(rows)], extra_id, current_id;

        log_init("test-recovery");
        if (!mkdtemp(tmpdir))
                return 99;
        snprintf(dbpath, sizeof dbpath, "%s/trail.db", tmpdir);

        if (!earlier_run(ids, &extra_id))
                return tap_done();
        next_run(ids, extra_id, &current_id, &sess);
        blind_backend(current_id, &sess);
        check_trail();
        tap_rm_rf(tmpdir);
        return tap_done();
}
