/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for daemon/audit.c: round trips through a real SQLite file in a
 * private temporary directory, the PENDING -> complete state machine, the
 * durability settings, schema versioning, and failure of audit_begin() when
 * the database cannot be written.
 *
 * The connection audit_open() makes is private; the test catches its handle
 * with sqlite3_auto_extension() (called for every new connection) so it can
 * ask the connection itself for per-connection settings like synchronous.
 *
 * Output is TAP-like ("ok N - desc"); exit status 1 if any test failed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* setresuid(), nftw() */
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <time.h>

#include "audit.h"
#include "control.h"
#include "record.h"
#include "log.h"
#include "macros.h"
#include "tap.h"
#include "trail_read.h"
#include "trail_schema.h"

static char tmpdir[] = "/tmp/test-audit.XXXXXX";
static char dbpath[256];
static sqlite3 *last_db; /* the most recent connection anybody opened to a file */

static int catch_db(sqlite3 *db, const char **err, const void *api) {
        const char *file = sqlite3_db_filename(db, "main");

        (void) err;
        (void) api;
        /* Not the in-memory schema audit_open() compares the file with. */
        if (file && *file)
                last_db = db;
        return SQLITE_OK;
}


#define CHECK(cond, ...) \
        do { if (!(cond)) return tap_diag(__VA_ARGS__); } while (0)

static int64_t sql_int(const char *path, const char *sql) {
        sqlite3 *db;
        sqlite3_stmt *s;
        int64_t v = -1;

        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
                return -1;
        if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
                if (sqlite3_step(s) == SQLITE_ROW)
                        v = sqlite3_column_int64(s, 0);
                sqlite3_finalize(s);
        }
        sqlite3_close(db);
        return v;
}

static bool sql_exec(const char *path, const char *sql) {
        sqlite3 *db;
        int rc;

        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
                return false;
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        sqlite3_close(db);
        return rc == SQLITE_OK;
}

/* An empty trail at version, as that vmtraced made it: its migrations, not a copy of their text. */
static bool make_schema(const char *path, int version) {
        sqlite3 *db;
        int r = 0;

        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
                return false;
        for (int v = 0; r >= 0 && v < version; v++)
                r = trail_schema_migrate(db, v);
        sqlite3_close(db);
        return r >= 0;
}

static void new_db(const char *name) {
        snprintf(dbpath, sizeof dbpath, "%s/%s", tmpdir, name);
}

/* Compare one JSON member with a string (NULL: expect JSON null). */
static bool json_str_is(struct json_object *o, const char *key, const char *want) {
        struct json_object *v;

        if (!json_object_object_get_ex(o, key, &v))
                return tap_diag("%s missing", key);
        if (!want) {
                if (v)
                        return tap_diag("%s = %s, want null", key, json_object_get_string(v));
                return true;
        }
        if (!v || !json_object_is_type(v, json_type_string))
                return tap_diag("%s is not a string", key);
        if ((size_t) json_object_get_string_len(v) != strlen(want) ||
            memcmp(json_object_get_string(v), want, strlen(want)) != 0)
                return tap_diag("%s = \"%s\", want \"%s\"", key, json_object_get_string(v), want);
        return true;
}

static bool json_int_is(struct json_object *o, const char *key, bool null, int64_t want) {
        struct json_object *v;

        if (!json_object_object_get_ex(o, key, &v))
                return tap_diag("%s missing", key);
        if (null) {
                if (v)
                        return tap_diag("%s = %s, want null", key, json_object_get_string(v));
                return true;
        }
        if (!v || !json_object_is_type(v, json_type_int))
                return tap_diag("%s is not an integer", key);
        if (json_object_get_int64(v) != want)
                return tap_diag("%s = %" PRId64 ", want %" PRId64, key, json_object_get_int64(v), want);
        return true;
}

/* Every column of r as it should read back; result and times given apart. */
static bool record_matches(struct json_object *o, const struct audit_record *r, const char *result) {
        const struct {
                const char *key;
                const char *value;
        } texts[] = {
                { "operation", r->operation }, { "user", r->user },
                { "endpoint", r->endpoint },   { "endpoint_url", r->endpoint_url },
                { "host", r->host },           { "vm_name", r->vm_name },
                { "vm_id", r->vm_id },         { "vm_uuid", r->vm_uuid },
                { "before", r->before },       { "after", r->after },
                { "result", result },          { "fault", r->fault },
                { "message", r->message },     { "task", r->task },
                { "platform_user", r->platform_user },
                { "source", r->source },
        };

        for (size_t i = 0; i < ELEMENTSOF(texts); i++)
                if (!json_str_is(o, texts[i].key, texts[i].value))
                        return false;
        return json_int_is(o, "id", false, r->id) &&
               json_int_is(o, "start_ms", false, r->start_ms) &&
               json_int_is(o, "uid", false, r->uid) &&
               json_int_is(o, "gid", false, r->gid) &&
               json_int_is(o, "pid", false, r->pid) &&
               json_int_is(o, "login_uid", r->login_uid < 0, r->login_uid) &&
               json_int_is(o, "session_id", r->session_id < 0, r->session_id) &&
               json_int_is(o, "seen_from_ms", r->seen_from_ms == 0, r->seen_from_ms) &&
               json_int_is(o, "seen_to_ms", r->seen_to_ms == 0, r->seen_to_ms);
}

/* Values a client may legally send: all must come back byte for byte. */
static const char *const hostile[] = {
        "plain",
        "semi;colon; DROP TABLE records; --",
        "a=b=c",
        "close]bracket[open",
        "line1\nline2\r\n",
        "emoji \xf0\x9f\x98\x80 and \xe6\x97\xa5\xe6\x9c\xac",
        "quotes ' \" `back` '' \"\"",
        "percent %s %n %% and backslash \\ \\0",
        "",
};

static bool test_create_mode(void) {
        struct audit *a = NULL;
        struct stat st;
        mode_t old;
        int r;

        new_db("mode.db");
        old = umask(0077); /* the file must be 0640 whatever the umask */
        r = audit_open(dbpath, &a);
        umask(old);
        CHECK(r == 0, "audit_open: %s", strerror(-r));
        audit_close(a);
        CHECK(stat(dbpath, &st) == 0, "stat: %m");
        CHECK((st.st_mode & 07777) == 0640, "mode %04o, want 0640", st.st_mode & 07777);
        return true;
}

static bool test_schema_and_pragmas(void) {
        struct audit *a = NULL;
        sqlite3_stmt *s;
        int r, sync = -1;

        new_db("pragmas.db");
        last_db = NULL;
        r = audit_open(dbpath, &a);
        CHECK(r == 0, "audit_open: %s", strerror(-r));
        CHECK(last_db, "auto extension did not see the connection");
        if (sqlite3_prepare_v2(last_db, "PRAGMA synchronous", -1, &s, NULL) == SQLITE_OK) {
                if (sqlite3_step(s) == SQLITE_ROW)
                        sync = sqlite3_column_int(s, 0);
                sqlite3_finalize(s);
        }
        audit_close(a);
        CHECK(sync == 2, "synchronous = %d, want 2 (FULL)", sync);
        CHECK(sql_int(dbpath, "PRAGMA user_version") == TRAIL_SCHEMA_VERSION, "user_version is not TRAIL_SCHEMA_VERSION");
        /* journal_mode=WAL is persistent, so a fresh connection sees it. */
        {
                sqlite3 *db;
                const unsigned char *mode = NULL;
                bool wal = false;

                CHECK(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "open");
                if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL) == SQLITE_OK) {
                        if (sqlite3_step(s) == SQLITE_ROW && (mode = sqlite3_column_text(s, 0)))
                                wal = strcmp((const char *) mode, "wal") == 0;
                        sqlite3_finalize(s);
                }
                sqlite3_close(db);
                CHECK(wal, "journal_mode is not wal");
        }
        CHECK(sql_int(dbpath, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'"
                              " AND tbl_name = 'records' AND name LIKE 'records_%'") == 15,
              "expected 15 indexes on records");
        CHECK(sql_int(dbpath, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'view'"
                              " AND name = 'trail'") == 1, "view trail missing");
        CHECK(sql_int(dbpath, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"
                              " AND name = 'signed_checkpoints'") == 1, "table signed_checkpoints missing");
        return true;
}

/* v for even i, else 0 (stored as NULL): every other row gets a window. */
static int64_t every_other(size_t i, int64_t v) {
        return i % 2 ? 0 : v;
}

static bool test_round_trip(void) {
        struct audit *a = NULL;
        bool ok = true;
        int r;

        new_db("roundtrip.db");
        r = audit_open(dbpath, &a);
        CHECK(r == 0, "audit_open: %s", strerror(-r));

        for (size_t i = 0; ok && i < ELEMENTSOF(hostile); i++) {
                const char *h = hostile[i];
                struct audit_record rec = {
                        .start_ms = 1700000000000 + (int64_t) i,
                        .operation = "RenameVM", .uid = 1000 + i, .gid = 100, .pid = 4242,
                        /* Every other row without a login uid: NULL, and 0 is a value. */
                        .login_uid = i % 2 ? -1 : (int64_t) i, .session_id = i % 2 ? -1 : (int64_t) i + 7,
                        .user = h, .endpoint = "vc1", .endpoint_url = h, .host = NULL, .platform_user = h,
                        .source = h, .seen_from_ms = every_other(i, 1600000000000 + (int64_t) i),
                        .seen_to_ms = every_other(i, 1600000000500 + (int64_t) i),
                        .vm_name = h, .vm_id = "vm-42", .vm_uuid = h,
                        .before = h, .after = h,
                        .result = AUDIT_RESULT_OK, /* ignored by begin */
                };
                struct json_object *o = NULL;

                r = audit_begin(a, &rec);
                if (r < 0 || rec.id <= 0) {
                        ok = tap_diag("audit_begin[%zu]: %s", i, strerror(-r));
                        break;
                }
                r = audit_get_json(a, rec.id, &o);
                ok = r == 0 && record_matches(o, &rec, AUDIT_RESULT_PENDING) &&
                     json_str_is(o, "end_time", NULL) && json_int_is(o, "end_ms", true, 0);
                json_object_put(o);
                if (!ok) {
                        tap_diag("pending row %zu (%s) differs", i, h);
                        break;
                }

                rec.end_ms = rec.start_ms + 1500;
                rec.host = h;
                rec.result = AUDIT_RESULT_NG;
                rec.fault = h;
                rec.message = h;
                rec.task = h;
                r = audit_finish(a, &rec);
                if (r < 0) {
                        ok = tap_diag("audit_finish[%zu]: %s", i, strerror(-r));
                        break;
                }
                o = NULL;
                r = audit_get_json(a, rec.id, &o);
                ok = r == 0 && record_matches(o, &rec, AUDIT_RESULT_NG) &&
                     json_int_is(o, "end_ms", false, rec.end_ms);
                json_object_put(o);
                if (!ok)
                        tap_diag("finished row %zu (%s) differs", i, h);
        }
        audit_close(a);
        return ok;
}

static bool test_finish_keeps_begin_fields(void) {
        struct audit *a = NULL;
        struct json_object *o = NULL;
        struct audit_record rec = {
                .start_ms = 1, .operation = "PowerOnVM", .uid = 0, .gid = 0, .pid = 1,
                .vm_name = "web01", .vm_id = "vm-1", .before = "poweredOff", .after = "poweredOn",
        };
        struct audit_record fin;
        bool ok;
        int r;

        new_db("keep.db");
        r = audit_open(dbpath, &a);
        CHECK(r == 0, "audit_open: %s", strerror(-r));
        r = audit_begin(a, &rec);
        if (r == 0) {
                /* A finish that only knows the outcome must not erase the target. */
                fin = (struct audit_record) { .id = rec.id, .end_ms = 2, .result = AUDIT_RESULT_OK,
                                              .task = "task-7" };
                r = audit_finish(a, &fin);
        }
        if (r == 0)
                r = audit_get_json(a, rec.id, &o);
        ok = r == 0 && json_str_is(o, "vm_name", "web01") && json_str_is(o, "before", "poweredOff") &&
             json_str_is(o, "after", "poweredOn") && json_str_is(o, "task", "task-7") &&
             json_str_is(o, "result", "OK");
        json_object_put(o);
        audit_close(a);
        return ok || tap_diag("r = %d", r);
}

static bool test_finish_twice(void) {
        struct audit *a = NULL;
        struct audit_record rec = { .start_ms = 5, .operation = "RenameVM", .pid = 1 };
        int r, r2, r3, r4;

        new_db("twice.db");
        r = audit_open(dbpath, &a);
        CHECK(r == 0, "audit_open: %s", strerror(-r));
        r = audit_begin(a, &rec);
        rec.result = AUDIT_RESULT_OK;
        r2 = audit_finish(a, &rec);
        rec.result = AUDIT_RESULT_NG;
        r3 = audit_finish(a, &rec);
        rec.id = 999999;
        r4 = audit_finish(a, &rec);
        audit_close(a);
        CHECK(r == 0 && r2 == 0, "begin/finish: %d %d", r, r2);
        CHECK(r3 == -EALREADY, "second finish: %d, want -EALREADY", r3);
        CHECK(r4 == -ENOENT, "finish of missing row: %d, want -ENOENT", r4);
        return true;
}

static bool test_insert_and_times(void) {
        struct audit *a = NULL;
        struct json_object *o = NULL;
        struct audit_record rec = {
                .start_ms = 1700000000123, .end_ms = 1700000001005,
                .operation = "RenameVM", .uid = 1001, .gid = 1001, .pid = 77,
                .login_uid = 4294967294, .session_id = 3,
                .user = "alice", .endpoint = "vc1", .vm_name = "db01",
                .result = AUDIT_RESULT_DENIED, .message = "not allowed",
        };
        struct audit_record bad = { .start_ms = 1, .operation = "X", .result = "MAYBE" };
        struct audit_record pend = { .start_ms = 1, .operation = "X", .result = AUDIT_RESULT_PENDING };
        struct audit_record nores = { .start_ms = 1, .operation = "X" };
        bool ok;
        int r, rb, rp, rn;

        new_db("insert.db");
        r = audit_open(dbpath, &a);
        CHECK(r == 0, "audit_open: %s", strerror(-r));
        r = audit_insert(a, &rec);
        if (r == 0)
                r = audit_get_json(a, rec.id, &o);
        ok = r == 0 && record_matches(o, &rec, AUDIT_RESULT_DENIED) &&
             json_str_is(o, "start_time", "2023-11-14T22:13:20.123Z") &&
             json_str_is(o, "end_time", "2023-11-14T22:13:21.005Z") &&
             json_int_is(o, "end_ms", false, 1700000001005) &&
             json_str_is(o, "host", NULL) && json_str_is(o, "fault", NULL);
        json_object_put(o);
        rb = audit_insert(a, &bad);
        rp = audit_insert(a, &pend);
        rn = audit_insert(a, &nores);
        r = audit_get_json(a, 123456, &o);
        audit_close(a);
        CHECK(ok, "inserted row differs");
        CHECK(rb == -EINVAL && rp == -EINVAL && rn == -EINVAL,
              "invalid results accepted: %d %d %d", rb, rp, rn);
        CHECK(r == -ENOENT, "get of missing row: %d", r);
        CHECK(sql_int(dbpath, "SELECT COUNT(*) FROM records") == 1, "stray rows written");
        return true;
}

static bool test_ids(void) {
        struct audit *a = NULL;
        struct audit_record rec = { .start_ms = 1, .operation = "Login", .result = AUDIT_RESULT_OK };
        struct audit_record dup;
        int64_t id1, id2, id3;
        int r, rd;

        new_db("ids.db");
        r = audit_open(dbpath, &a);
        CHECK(r == 0, "audit_open: %s", strerror(-r));
        id1 = audit_reserve_id(a);
        id2 = audit_reserve_id(a);
        rec.id = id2;
        r = audit_begin(a, &rec);
        dup = rec;
        rd = audit_begin(a, &dup); /* same id again */
        audit_close(a);
        CHECK(id1 == 1 && id2 == 2, "ids %" PRId64 " %" PRId64 ", want 1 2", id1, id2);
        CHECK(r == 0 && rec.id == 2, "begin with reserved id: %d id %" PRId64, r, rec.id);
        CHECK(rd == -EEXIST, "reused id: %d, want -EEXIST", rd);

        /* Reopen: the counter continues after MAX(id). */
        r = audit_open(dbpath, &a);
        CHECK(r == 0, "reopen: %s", strerror(-r));
        id3 = audit_reserve_id(a);
        rec.id = 0;
        r = audit_insert(a, &rec);
        audit_close(a);
        CHECK(id3 == 3, "after reopen reserved %" PRId64 ", want 3", id3);
        CHECK(r == 0 && rec.id == 4, "insert after reopen: %d id %" PRId64 ", want 4", r, rec.id);
        return true;
}

/* A schema object vmtraced did not make: refused before anything is written, and the file left as it was. */
static bool test_refuse_foreign_schema(void) {
        struct audit *a = NULL;
        int r;

        new_db("foreign.db");
        r = audit_open(dbpath, &a);
        CHECK(r == 0, "audit_open: %s", strerror(-r));
        audit_close(a);
        /* It would run inside the daemon's own insert, before the row is hashed. */
        CHECK(sql_exec(dbpath, "CREATE TRIGGER root_did_it AFTER INSERT ON records BEGIN"
                               " UPDATE records SET user = 'root' WHERE id = new.id; END"), "cannot add the trigger");
        a = NULL;
        r = audit_open(dbpath, &a);
        if (r == 0)
                audit_close(a);
        CHECK(r == -EBADMSG, "open with a foreign trigger: %d, want -EBADMSG", r);
        CHECK(sql_int(dbpath, "SELECT count(*) FROM records") == 0, "rows were written");
        CHECK(sql_exec(dbpath, "DROP TRIGGER root_did_it"), "cannot drop the trigger");
        r = audit_open(dbpath, &a);
        if (r == 0)
                audit_close(a);
        CHECK(r == 0, "open once the trigger is gone: %s", strerror(-r));
        return true;
}

static bool test_refuse_newer(void) {
        struct audit *a = NULL;
        int r;

        new_db("newer.db");
        r = audit_open(dbpath, &a);
        CHECK(r == 0, "audit_open: %s", strerror(-r));
        audit_close(a);
        CHECK(sql_exec(dbpath, "PRAGMA user_version = 99"), "cannot set user_version");
        a = NULL;
        r = audit_open(dbpath, &a);
        if (r == 0)
                audit_close(a);
        CHECK(r == -EPROTONOSUPPORT, "open of newer schema: %d, want -EPROTONOSUPPORT", r);
        CHECK(sql_int(dbpath, "PRAGMA user_version") == 99, "user_version was changed");
        return true;
}

/*
 * A database the daemon may not write.  Root ignores file modes, so the
 * child drops to nobody first.  (a) File read-only, directory writable:
 * SQLite opens the file read-only (it can still create -wal/-shm), and
 * audit_begin() must fail with -EROFS before anything is sent to a
 * platform.  (b) Directory read-only too: depending on whether -wal/-shm
 * were left behind, SQLite either cannot read the WAL database at all
 * (audit_open() fails) or opens it read-only (audit_begin() -> -EROFS).
 */
static int read_only_child(bool may_fail_open) {
        struct audit *a = NULL;
        struct audit_record rec = { .start_ms = 1, .operation = "RenameVM" };
        int r;

        if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
                               setresuid(65534, 65534, 65534) < 0))
                return 3;
        r = audit_open(dbpath, &a);
        if (r < 0)
                return may_fail_open ? 0 : 4;
        r = audit_begin(a, &rec);
        audit_close(a);
        if (r != -EROFS)
                return r < 0 ? 2 : 1;
        return 0;
}

static bool run_read_only_child(bool may_fail_open) {
        pid_t pid;
        int status;

        fflush(stdout);
        pid = fork();
        CHECK(pid >= 0, "fork: %m");
        if (pid == 0)
                _exit(read_only_child(may_fail_open));
        CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %m");
        CHECK(WIFEXITED(status), "child died");
        switch (WEXITSTATUS(status)) {
        case 0:
                return true;
        case 1:
                return tap_diag("audit_begin succeeded on a read-only database");
        case 2:
                return tap_diag("audit_begin failed, but not with -EROFS");
        case 3:
                return tap_diag("could not drop privileges");
        case 4:
                return tap_diag("audit_open failed on a read-only file in a writable directory");
        default:
                return tap_diag("child exited with %d", WEXITSTATUS(status));
        }
}

static bool test_read_only(void) {
        struct audit *a = NULL;
        char dir[128];
        bool ok;
        int r;

        snprintf(dir, sizeof dir, "%s/ro", tmpdir);
        CHECK(mkdir(dir, 0755) == 0, "mkdir: %m");
        snprintf(dbpath, sizeof dbpath, "%s/ro.db", dir);
        r = audit_open(dbpath, &a);
        CHECK(r == 0, "audit_open: %s", strerror(-r));
        audit_close(a);
        /* tmpdir is 0700; nobody must be able to reach the file. */
        CHECK(chmod(dbpath, 0444) == 0 && chmod(dir, 01777) == 0 && chmod(tmpdir, 0711) == 0,
              "chmod: %m");
        ok = run_read_only_child(false);
        if (ok) {
                CHECK(chmod(dir, 0555) == 0, "chmod: %m");
                ok = run_read_only_child(true);
        }
        chmod(dir, 0755);
        chmod(tmpdir, 0700);
        CHECK(sql_int(dbpath, "SELECT COUNT(*) FROM records") == 0, "a row was written");
        return ok;
}

/*
 * Storage that fails mid-write (works as root too): RLIMIT_FSIZE makes
 * every write past the current size fail with EFBIG.  audit_begin() must
 * report it, not claim a durable row.
 */
static bool test_write_error(void) {
        struct audit *a = NULL;
        struct audit_record rec = { .start_ms = 1, .operation = "RenameVM" };
        struct rlimit old, lim;
        struct sigaction sa = { .sa_handler = SIG_IGN }, oldsa;
        char *big;
        int r;

        new_db("efbig.db");
        r = audit_open(dbpath, &a);
        CHECK(r == 0, "audit_open: %s", strerror(-r));
        big = malloc(256 * 1024);
        CHECK(big, "malloc");
        memset(big, 'x', 256 * 1024 - 1);
        big[256 * 1024 - 1] = 0;
        rec.message = big;

        CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0, "getrlimit: %m");
        lim = old;
        lim.rlim_cur = 64 * 1024;
        sigaction(SIGXFSZ, &sa, &oldsa);
        CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0, "setrlimit: %m");
        r = audit_begin(a, &rec);
        setrlimit(RLIMIT_FSIZE, &old);
        sigaction(SIGXFSZ, &oldsa, NULL);
        audit_close(a);
        free(big);
        CHECK(r < 0, "audit_begin succeeded although the write failed");
        CHECK(r == -EIO || r == -ENOSPC || r == -EFBIG, "audit_begin: %d (%s)", r, strerror(-r));
        return true;
}

#define N_THREADS 16
#define N_PER_THREAD 25

/* Every 5th row of a thread is also finished with an id no row has: that call alone must fail. */
static void *worker(void *arg) {
        struct audit *a = arg;

        for (int i = 0; i < N_PER_THREAD; i++) {
                struct audit_record rec = { .start_ms = 1, .operation = "RenameVM", .pid = 1 };
                struct audit_record ghost = { .start_ms = 1, .operation = "RenameVM", .id = INT64_MAX - i,
                                              .result = AUDIT_RESULT_OK };

                rec.id = audit_reserve_id(a);
                if (audit_begin(a, &rec) < 0)
                        return (void *) 1;
                if (i % 5 == 0 && audit_finish(a, &ghost) != -ENOENT)
                        return (void *) 2;
                rec.result = AUDIT_RESULT_OK;
                if (audit_finish(a, &rec) < 0)
                        return (void *) 1;
        }
        return NULL;
}

/*
 * The documented encoding, built by hand here (not by trail_hash.c), for a
 * row with every kind of value: the stored hash must be SHA-256 of it.
 */
static size_t put_int(unsigned char *b, int64_t v) {
        b[0] = 0x01;
        for (int i = 0; i < 8; i++)
                b[1 + i] = (unsigned char) ((uint64_t) v >> (56 - 8 * i));
        return 9;
}

static size_t put_text(unsigned char *b, const char *t) {
        size_t n;

        if (!t) {
                b[0] = 0x05;
                return 1;
        }
        n = strlen(t);
        b[0] = 0x03;
        b[1] = (unsigned char) (n >> 24);
        b[2] = (unsigned char) (n >> 16);
        b[3] = (unsigned char) (n >> 8);
        b[4] = (unsigned char) n;
        memcpy(b + 5, t, n);
        return 5 + n;
}

static size_t put_null(unsigned char *b) {
        b[0] = 0x05;
        return 1;
}

/*
 * prev || E(row) for encoding version 1 to 4 as vmtraced-trail(5) documents
 * it; unknown ids (uid/gid (uid_t)-1, pid 0, login_uid/session_id -1) and
 * no window (seen_from_ms/seen_to_ms 0) are NULL.
 */
static size_t encode_row(unsigned char *buf, const unsigned char prev[32], int version, int64_t seq,
                         const struct audit_record *r) {
        size_t n = 0;

        memcpy(buf, prev, 32);
        n = 32;
        buf[n++] = (unsigned char) version;
        n += put_int(buf + n, seq);
        n += put_int(buf + n, r->id);
        n += put_int(buf + n, r->start_ms);
        n += put_int(buf + n, r->end_ms);
        n += put_text(buf + n, r->operation);
        n += r->uid == (uid_t) -1 ? put_null(buf + n) : put_int(buf + n, r->uid);
        n += r->gid == (gid_t) -1 ? put_null(buf + n) : put_int(buf + n, r->gid);
        n += r->pid <= 0 ? put_null(buf + n) : put_int(buf + n, r->pid);
        const char *texts[] = { r->user, r->endpoint, r->endpoint_url, r->host, r->vm_name, r->vm_id,
                                r->vm_uuid, r->before, r->after, r->result, r->fault, r->message, r->task };
        for (size_t i = 0; i < ELEMENTSOF(texts); i++)
                n += put_text(buf + n, texts[i]);
        if (version >= 2) {
                n += r->login_uid < 0 ? put_null(buf + n) : put_int(buf + n, r->login_uid);
                n += r->session_id < 0 ? put_null(buf + n) : put_int(buf + n, r->session_id);
        }
        if (version >= 3)
                n += put_text(buf + n, r->platform_user);
        if (version >= 4) {
                n += put_text(buf + n, r->source);
                n += r->seen_from_ms == 0 ? put_null(buf + n) : put_int(buf + n, r->seen_from_ms);
                n += r->seen_to_ms == 0 ? put_null(buf + n) : put_int(buf + n, r->seen_to_ms);
        }
        return n;
}

/*
 * Is the stored hash of row seq SHA-256(prev || E(r)) under the given
 * encoding (prev: the stored hash of seq - 1)?  True when that is as
 * expected.
 */
static bool hash_is_documented(int version, int64_t seq, const struct audit_record *r, bool expect) {
        unsigned char buf[2048], md[32], prev[32] = {};
        char hex[65], prev_hex[65] = "", stored[65] = "";
        unsigned mdlen = 0;
        sqlite3 *db;
        sqlite3_stmt *s;

        CHECK(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "open");
        if (sqlite3_prepare_v2(db, "SELECT seq, hash FROM records WHERE seq IN (?1 - 1, ?1)", -1, &s, NULL) ==
            SQLITE_OK) {
                sqlite3_bind_int64(s, 1, seq);
                while (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 1))
                        snprintf(sqlite3_column_int64(s, 0) == seq ? stored : prev_hex, sizeof stored, "%s",
                                 (const char *) sqlite3_column_text(s, 1));
                sqlite3_finalize(s);
        }
        sqlite3_close(db);
        for (int i = 0; seq > 1 && i < 32; i++)
                CHECK(sscanf(prev_hex + 2 * i, "%2hhx", &prev[i]) == 1, "no hash for seq %" PRId64, seq - 1);
        size_t n = encode_row(buf, prev, version, seq, r);
        CHECK(EVP_Digest(buf, n, md, &mdlen, EVP_sha256(), NULL) == 1, "EVP_Digest");
        for (int i = 0; i < 32; i++)
                sprintf(hex + 2 * i, "%02x", md[i]);
        CHECK((strcmp(stored, hex) == 0) == expect, "seq %" PRId64 ": stored hash \"%s\" %s SHA-256 of the "
              "documented encoding %d (%s)", seq, stored, expect ? "is not" : "is", version, hex);
        return true;
}

static bool test_chain_encoding(void) {
        struct audit *a = NULL;
        struct audit_record rec = {
                .start_ms = 1700000000123, .end_ms = 1700000000456, .operation = "RenameVM",
                .uid = 1000, .gid = 1000, .pid = 42, .user = "alice", .endpoint = "vc1",
                .endpoint_url = NULL, .host = "", .vm_name = "a;b", .vm_id = "vm-1", .vm_uuid = NULL,
                .before = "old", .after = "new\n", .result = AUDIT_RESULT_OK, .fault = NULL,
                .message = NULL, .task = "task-1", .login_uid = 4242, .session_id = -1,
                .platform_user = "VSPHERE.LOCAL\\svc-vmtraced", .source = AUDIT_SOURCE_OUT_OF_BAND,
                .seen_from_ms = 1700000000001, .seen_to_ms = 1700000000100,
        };
        int r;

        new_db("chain.db");
        r = audit_open(dbpath, &a);
        CHECK(r == 0, "audit_open: %s", strerror(-r));
        r = audit_insert(a, &rec);
        audit_close(a);
        CHECK(r == 0, "audit_insert: %d", r);
        CHECK(sql_int(dbpath, "SELECT hash_version FROM trail WHERE seq = 1") == 4, "hash_version is not 4");
        /* Also a mismatch must be seen: the same row under an older encoding is not what is stored. */
        return hash_is_documented(1, 1, &rec, false) && hash_is_documented(2, 1, &rec, false) &&
               hash_is_documented(3, 1, &rec, false) && hash_is_documented(4, 1, &rec, true);
}

/* A version 1 database with completed and pending rows: migration chains the completed ones in end order. */
static bool test_migrate_v1(void) {
        struct audit *a = NULL;
        int r;

        new_db("v1.db");
        CHECK(make_schema(dbpath, 1), "cannot build a v1 database");
        CHECK(sql_exec(dbpath,
                       "INSERT INTO records (id, start_ms, end_ms, operation, result) VALUES"
                       " (1, 1, 30, 'RenameVM', 'OK'), (2, 2, 20, 'RenameVM', 'NG'), (3, 3, NULL, 'RenameVM', 'PENDING');"),
              "cannot fill the v1 database");
        r = audit_open(dbpath, &a);
        CHECK(r == 0, "audit_open: %s", strerror(-r));
        {
                struct audit_record rec = { .id = 3, .result = AUDIT_RESULT_OK, .end_ms = 40, .operation = "RenameVM" };
                r = audit_finish(a, &rec);
        }
        audit_close(a);
        CHECK(r == 0, "finish after migration: %d", r);
        CHECK(sql_int(dbpath, "PRAGMA user_version") == TRAIL_SCHEMA_VERSION, "not migrated");
        CHECK(sql_int(dbpath, "SELECT group_concat(id) = '2,1,3' FROM (SELECT id FROM trail ORDER BY seq)") == 1,
              "seq does not follow completion order");
        CHECK(sql_int(dbpath, "SELECT count(*) FROM trail WHERE length(hash) = 64") == 3, "hashes missing");
        /* Rows chained before schema 3 keep encoding 1; the row completed after it gets 4, chained on them. */
        CHECK(sql_int(dbpath, "SELECT group_concat(hash_version) = '1,1,4' FROM (SELECT hash_version FROM trail"
                              " ORDER BY seq)") == 1, "hash_version is not 1,1,4");
        CHECK(sql_int(dbpath, "SELECT count(*) FROM trail WHERE login_uid IS NULL AND session_id IS NULL") == 3,
              "old rows gained a login uid");
        const struct audit_record row2 = { .id = 2, .start_ms = 2, .end_ms = 20, .operation = "RenameVM",
                                           .uid = (uid_t) -1, .gid = (gid_t) -1, .result = "NG",
                                           .login_uid = -1, .session_id = -1 };
        const struct audit_record row3 = { .id = 3, .start_ms = 3, .end_ms = 40, .operation = "RenameVM",
                                           .uid = (uid_t) -1, .gid = (gid_t) -1, .result = "OK",
                                           .login_uid = -1, .session_id = -1 };
        return hash_is_documented(1, 1, &row2, true) && hash_is_documented(4, 3, &row3, true);
}

static void *wait_ms(int ms) {
        nanosleep(&(struct timespec) { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L }, NULL);
        return NULL;
}

/*
 * The completion write fails (RLIMIT_FSIZE): the outcome is kept, the trail
 * reports degraded and refuses new rows; once writes work again the retry
 * thread writes it, in order, chained.
 */
static bool test_degraded_retry(void) {
        struct audit *a = NULL;
        struct audit_record rec = { .start_ms = 1, .operation = "RenameVM", .vm_name = "web1", .before = "web1" };
        struct audit_record other = { .start_ms = 2, .operation = "RenameVM" };
        struct rlimit old, lim;
        struct sigaction sa = { .sa_handler = SIG_IGN }, oldsa;
        int r, rf, rb, rt;
        bool was_degraded, still;

        new_db("degraded.db");
        r = audit_open(dbpath, &a);
        CHECK(r == 0, "audit_open: %s", strerror(-r));
        r = audit_begin(a, &rec);
        rt = audit_set_task(a, rec.id, "task-9");
        CHECK(r == 0 && rt == 0, "begin/set_task: %d %d", r, rt);
        CHECK(sql_int(dbpath, "SELECT task = 'task-9' FROM records WHERE result = 'PENDING'") == 1,
              "task not on the pending row");

        CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0, "getrlimit: %m");
        lim = old;
        lim.rlim_cur = 1;
        sigaction(SIGXFSZ, &sa, &oldsa);
        setrlimit(RLIMIT_FSIZE, &lim);
        rec.result = AUDIT_RESULT_OK;
        rec.after = "web2";
        rf = audit_finish(a, &rec);
        was_degraded = audit_degraded(a);
        rb = audit_begin(a, &other);
        wait_ms(1500); /* the retry thread tries, and fails, meanwhile */
        still = audit_degraded(a);
        setrlimit(RLIMIT_FSIZE, &old);
        sigaction(SIGXFSZ, &oldsa, NULL);
        for (int i = 0; i < 50 && audit_degraded(a); i++)
                wait_ms(100);
        bool recovered = !audit_degraded(a);
        audit_close(a);
        CHECK(rf == 1, "finish on a failing disk returned %d, want 1 (kept)", rf);
        CHECK(was_degraded && still, "not reported degraded");
        CHECK(rb < 0, "begin accepted while degraded");
        CHECK(recovered, "still degraded after the disk recovered");
        CHECK(sql_int(dbpath, "SELECT count(*) FROM trail WHERE result = 'OK' AND after = 'web2' AND task = 'task-9'"
                              " AND seq = 1 AND length(hash) = 64") == 1, "kept outcome not written");
        CHECK(sql_int(dbpath, "SELECT count(*) FROM records") == 1, "the refused begin wrote a row");
        return true;
}

/* audit-group: the database and its WAL go to the group, mode 0640 (root may give files away). */
static bool test_group(void) {
        struct audit *a = NULL;
        struct group *g;
        struct stat st, stw;
        char wal[300];
        int r;

        if (geteuid() != 0) {
                printf("# skipped: chown to another group needs root\n");
                return true;
        }
        g = getgrnam("nogroup");
        CHECK(g, "no group nogroup");
        gid_t gid = g->gr_gid; /* getgrnam's buffer is reused by the next call */
        new_db("group.db");
        r = audit_open(dbpath, &a);
        CHECK(r == 0, "audit_open: %s", strerror(-r));
        r = audit_set_group(a, "nogroup");
        int bad = audit_set_group(a, "no-such-group-xyz");
        audit_close(a);
        snprintf(wal, sizeof wal, "%s-wal", dbpath);
        CHECK(r == 0, "audit_set_group: %s", strerror(-r));
        CHECK(bad < 0, "an unknown group was accepted");
        CHECK(stat(dbpath, &st) == 0, "stat: %m");
        CHECK(st.st_gid == gid && (st.st_mode & 07777) == 0640, "database: gid %u mode %04o",
              (unsigned) st.st_gid, st.st_mode & 07777);
        /* The WAL is gone after a clean close; reopen to have one, as SQLite creates it. */
        r = audit_open(dbpath, &a);
        CHECK(r == 0, "reopen: %s", strerror(-r));
        struct audit_record rec = { .start_ms = 1, .operation = "Login", .result = AUDIT_RESULT_OK };
        r = audit_insert(a, &rec);
        bool have_wal = stat(wal, &stw) == 0;
        audit_close(a);
        CHECK(r == 0, "insert: %d", r);
        CHECK(have_wal, "no -wal file: %m");
        CHECK(stw.st_gid == gid && (stw.st_mode & 07777) == 0640, "-wal: gid %u mode %04o",
              (unsigned) stw.st_gid, stw.st_mode & 07777);
        return true;
}

/* What a reader (common/trail_read.c, vmctl log and verify) saw. */
struct seen {
        int rows;
        char last_vm[32];
        unsigned problems;
        char problem[256];
};

static int see_row(const struct trail_row *row, void *userdata) {
        struct seen *s = userdata;
        const struct trail_value *vm = trail_row_get(row, "vm_name");

        s->rows++;
        snprintf(s->last_vm, sizeof s->last_vm, "%.*s", (int) vm->len, strempty(vm->text));
        return trail_row_get(row, "no_such_column")->type == TRAIL_NULL ? 0 : -EINVAL;
}

static void see_problem(const char *problem, void *userdata) {
        struct seen *s = userdata;

        if (s->problems++ == 0)
                snprintf(s->problem, sizeof s->problem, "%s", problem);
}

/* Rows of q, as vmctl log would print them; -1 when the query failed. */
static int read_rows(const struct trail_query *q, struct seen *s) {
        _cleanup_(trail_reader_freep) struct trail_reader *rd = NULL;

        *s = (struct seen) {};
        if (trail_reader_open(dbpath, 1, &rd) < 0 || trail_reader_log(rd, q, see_row, s) < 0)
                return -1;
        return s->rows;
}

/* What vmctl verify would say: the number of problems, or -1 when the file could not be read. */
static int verify_chain(const struct trail_checkpoint *cps, size_t n, struct seen *s,
                        struct trail_verify_result *res) {
        _cleanup_(trail_reader_freep) struct trail_reader *rd = NULL;
        const struct trail_verify_args args = {
                .checkpoints = cps, .n_checkpoints = n, .max_reports = 20, .fn = see_problem, .userdata = s,
        };

        *s = (struct seen) {};
        if (trail_reader_open(dbpath, TRAIL_SCHEMA_CHAINED, &rd) < 0 || trail_reader_verify(rd, &args, res) < 0)
                return -1;
        return (int) res->problems;
}

static int64_t commits_of(struct audit *a) {
        struct json_object *o = audit_metrics_json(a), *v = NULL;
        int64_t n = json_object_object_get_ex(o, "trail_commits", &v) ? json_object_get_int64(v) : -1;

        json_object_put(o);
        return n;
}

/*
 * Concurrent writers: every row written and chained once, seq without gaps,
 * and fewer transactions than rows (group commit), a failing call failing
 * alone.  Serialised writes would take one transaction per row.
 */
static bool test_threads(void) {
        pthread_t t[N_THREADS];
        struct audit *a = NULL;
        struct trail_verify_result res;
        struct seen seen;
        const int64_t rows = N_THREADS * N_PER_THREAD;
        int64_t commits;
        bool ok = true;
        int r;

        new_db("threads.db");
        r = audit_open(dbpath, &a);
        CHECK(r == 0, "audit_open: %s", strerror(-r));
        for (int i = 0; i < N_THREADS; i++)
                pthread_create(&t[i], NULL, worker, a);
        for (int i = 0; i < N_THREADS; i++) {
                void *ret;

                pthread_join(t[i], &ret);
                ok = ok && ret == NULL;
        }
        commits = commits_of(a);
        audit_close(a);
        CHECK(ok, "a worker failed");
        CHECK(sql_int(dbpath, "SELECT COUNT(*) FROM records WHERE result = 'OK'") == rows,
              "wrong number of completed rows");
        CHECK(sql_int(dbpath, "SELECT COUNT(DISTINCT seq) = COUNT(*) AND MIN(seq) = 1 AND MAX(seq) = COUNT(*) FROM records") == 1,
              "seq not 1..N without gaps");
        CHECK(verify_chain(NULL, 0, &seen, &res) == 0 && res.last_seq == rows, "the chain does not verify");
        printf("# %" PRId64 " rows (two writes each) in %" PRId64 " transactions\n", rows, commits);
        CHECK(commits > 0 && commits < 2 * rows, "no write shared a transaction: %" PRId64 " for %" PRId64 " rows",
              commits, rows);
        return true;
}

/* The rows the store wrote, read back the way auditors read them: filters, the chain, an edit. */
static bool test_read_back(void) {
        static const struct { const char *user, *vm, *result; int64_t start_ms; } rows[] = {
                { "alice", "web01", AUDIT_RESULT_OK, 1000 },
                { "bob", "db01", AUDIT_RESULT_NG, 2000 },
                { "bob", "web01", AUDIT_RESULT_OK, 3000 },
        };
        struct trail_verify_result res;
        struct audit *a = NULL;
        struct seen s;
        int r = 0;

        new_db("read.db");
        CHECK(audit_open(dbpath, &a) == 0, "audit_open");
        for (size_t i = 0; i < ELEMENTSOF(rows) && r >= 0; i++) {
                struct audit_record rec = { .start_ms = rows[i].start_ms, .end_ms = rows[i].start_ms + 1,
                                            .operation = "RenameVM", .user = rows[i].user, .vm_name = rows[i].vm,
                                            .result = rows[i].result, .pid = 1, .login_uid = -1, .session_id = -1 };
                r = audit_insert(a, &rec);
        }
        audit_close(a);
        CHECK(r == 0, "audit_insert: %d", r);

        CHECK(read_rows(&(struct trail_query) {}, &s) == 3, "all rows: %d", s.rows);
        CHECK(read_rows(&(struct trail_query) { .values[TRAIL_FILTER_VM] = "web01" }, &s) == 2, "--vm: %d", s.rows);
        CHECK(read_rows(&(struct trail_query) { .values[TRAIL_FILTER_USER] = "bob", .has_since = true,
                                                .since = 2500 }, &s) == 1 && strcmp(s.last_vm, "web01") == 0,
              "--user --since: %d rows, last %s", s.rows, s.last_vm);
        CHECK(read_rows(&(struct trail_query) { .has_until = true, .until = 2000, .limit = 1 }, &s) == 1 &&
              strcmp(s.last_vm, "web01") == 0, "--until --limit: %d rows, last %s", s.rows, s.last_vm);

        CHECK(verify_chain(NULL, 0, &s, &res) == 0, "intact trail: %d problem(s): %s", s.problems, s.problem);
        CHECK(res.last_seq == 3 && res.pending == 0, "chain ends at %" PRId64, res.last_seq);
        struct trail_checkpoint cp = { .seq = 3 };
        memcpy(cp.hash, res.head, sizeof cp.hash);
        CHECK(verify_chain(&cp, 1, &s, &res) == 0, "own head as checkpoint: %s", s.problem);

        CHECK(sql_exec(dbpath, "UPDATE records SET after = 'innocent' WHERE seq = 2"), "tamper");
        CHECK(verify_chain(NULL, 0, &s, &res) == 1 && strstr(s.problem, "(seq 2) does not match its hash: modified"),
              "edited row: %d problem(s): %s", s.problems, s.problem);
        cp.seq = 4;
        CHECK(verify_chain(&cp, 1, &s, &res) == 2, "checkpoint past the end: %d problem(s)", s.problems);

        new_db("no-such.db");
        CHECK(read_rows(&(struct trail_query) {}, &s) == -1 && access(dbpath, F_OK) < 0,
              "a missing file is an error, not a new trail");
        return true;
}

/* sql_text(): the first column of the first row as text into buf ("" when none). */
static void sql_text(const char *path, const char *sql, char *buf, size_t len) {
        sqlite3 *db;
        sqlite3_stmt *s;

        buf[0] = '\0';
        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
                return;
        if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
                if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
                        snprintf(buf, len, "%s", (const char *) sqlite3_column_text(s, 0));
                sqlite3_finalize(s);
        }
        sqlite3_close(db);
}

/*
 * A schema 3 file as a schema-3 vmtraced left it: rows 1 and 2 chained
 * under schema 1 then migrated (encoding 1), row 3 completed under schema
 * 3 (encoding 2), row 4 PENDING.  Built with the released migrations and
 * the schema-3 chain statements, not by hand.
 */
static bool build_v3(void) {
        unsigned char head[TRAIL_HASH_SIZE];
        struct trail_chainer *c = NULL;
        sqlite3 *db;
        int r = -EIO;

        FILE *f = fopen(dbpath, "w");
        CHECK(f && fclose(f) == 0, "create %s: %m", dbpath);
        CHECK(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK, "open");
        for (int v = 0; v < 3; v++)
                if ((r = trail_schema_migrate(db, v)) < 0)
                        break;
        if (r >= 0)
                r = sqlite3_exec(db,
                                 "INSERT INTO records (id, start_ms, end_ms, operation, user, result) VALUES"
                                 " (1, 1, 10, 'Login', 'vmtraced', 'OK'), (2, 2, 20, 'RenameVM', 'alice', 'OK');"
                                 "INSERT INTO records (id, start_ms, end_ms, operation, user, login_uid, result) VALUES"
                                 " (3, 3, 30, 'PowerOnVM', 'bob', 1000, 'OK'), (4, 4, NULL, 'RenameVM', 'bob', 1000,"
                                 " 'PENDING');", NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
        /* Chain 1 and 2 as encoding 1 (as migration 2 did), then 3 as a schema-3 daemon would. */
        memset(head, 0, sizeof head);
        for (int64_t id = 1; r >= 0 && id <= 3; id++) {
                if ((r = trail_chainer_new(db, id <= 2 ? TRAIL_SCHEMA_CHAINED : 3, &c)) >= 0)
                        r = trail_chainer_append(c, id, id, head);
                trail_chainer_free(c);
                c = NULL;
        }
        if (r >= 0)
                r = sqlite3_exec(db, "UPDATE records SET hash_version = 1 WHERE id <= 2", NULL, NULL, NULL) ==
                    SQLITE_OK ? 0 : -EIO;
        sqlite3_close(db);
        CHECK(r >= 0, "cannot build a v3 database: %d", r);
        CHECK(sql_int(dbpath, "SELECT group_concat(hash_version) = '1,1,2' FROM (SELECT hash_version FROM records"
                              " WHERE seq IS NOT NULL ORDER BY seq)") == 1, "the v3 file is not 1,1,2");
        return true;
}

/*
 * Schema 3 -> 5: old hashes untouched, new rows (and the row left PENDING)
 * of the newest encoding with platform_user, a mixed trail that verifies,
 * and an edited platform_user that does not.
 */
static bool test_migrate_v3(void) {
        char before[1024], after[1024];
        struct trail_verify_result res;
        struct audit *a = NULL;
        struct seen s;
        int r;

        new_db("v3.db");
        if (!build_v3())
                return false;
        CHECK(verify_chain(NULL, 0, &s, &res) == 0, "unmigrated v3 file: %d problem(s): %s", s.problems, s.problem);
        CHECK(read_rows(&(struct trail_query) { .values[TRAIL_FILTER_PLATFORM_USER] = "svc-a" }, &s) == 0,
              "--platform-user on a file without the column: %d", s.rows);
        sql_text(dbpath, "SELECT group_concat(hash, ',') FROM (SELECT hash FROM records ORDER BY seq)", before,
                 sizeof before);

        r = audit_open(dbpath, &a);
        CHECK(r == 0, "audit_open: %s", strerror(-r));
        struct audit_record fin4 = { .id = 4, .end_ms = 40, .result = AUDIT_RESULT_OK, .platform_user = "svc-a" };
        struct audit_record ins = { .start_ms = 5, .end_ms = 50, .operation = "Logout", .pid = 1, .login_uid = -1,
                                    .session_id = -1, .result = AUDIT_RESULT_OK, .platform_user = "svc-a" };
        r = audit_finish(a, &fin4);
        if (r == 0)
                r = audit_insert(a, &ins);
        audit_close(a);
        CHECK(r == 0, "finish/insert after migration: %d", r);

        CHECK(sql_int(dbpath, "PRAGMA user_version") == TRAIL_SCHEMA_VERSION, "not migrated");
        sql_text(dbpath, "SELECT group_concat(hash, ',') FROM (SELECT hash FROM records WHERE seq <= 3 ORDER BY seq)",
                 after, sizeof after);
        CHECK(strcmp(before, after) == 0, "migration rewrote hashes:\n# %s\n# %s", before, after);
        CHECK(sql_int(dbpath, "SELECT group_concat(hash_version) = '1,1,2,4,4' FROM (SELECT hash_version FROM trail"
                              " ORDER BY seq)") == 1, "hash_version is not 1,1,2,4,4");
        CHECK(sql_int(dbpath, "SELECT count(*) FROM trail WHERE platform_user = 'svc-a'") == 2 &&
              sql_int(dbpath, "SELECT count(*) FROM trail WHERE platform_user IS NULL") == 3,
              "platform_user not as written");
        const struct audit_record row4 = { .id = 4, .start_ms = 4, .end_ms = 40, .operation = "RenameVM",
                                           .uid = (uid_t) -1, .gid = (gid_t) -1, .user = "bob", .result = "OK",
                                           .login_uid = 1000, .session_id = -1, .platform_user = "svc-a" };
        if (!hash_is_documented(4, 4, &row4, true) || !hash_is_documented(2, 4, &row4, false))
                return false;
        CHECK(verify_chain(NULL, 0, &s, &res) == 0 && res.last_seq == 5, "mixed trail: %d problem(s): %s",
              s.problems, s.problem);
        CHECK(read_rows(&(struct trail_query) { .values[TRAIL_FILTER_PLATFORM_USER] = "svc-a" }, &s) == 2,
              "--platform-user: %d", s.rows);

        CHECK(sql_exec(dbpath, "UPDATE records SET platform_user = 'svc-b' WHERE seq = 4"), "tamper");
        CHECK(verify_chain(NULL, 0, &s, &res) == 1 && strstr(s.problem, "(seq 4) does not match its hash: modified"),
              "edited platform_user: %d problem(s): %s", s.problems, s.problem);
        return true;
}


/* The stored hash of row seq, raw (as the chain goes on from it). */
static bool stored_hash(sqlite3 *db, int64_t seq, unsigned char out[TRAIL_HASH_SIZE]) {
        sqlite3_stmt *s;
        bool ok = false;

        if (sqlite3_prepare_v2(db, "SELECT hash FROM records WHERE seq = ?1", -1, &s, NULL) != SQLITE_OK)
                return false;
        sqlite3_bind_int64(s, 1, seq);
        if (sqlite3_step(s) == SQLITE_ROW)
                ok = trail_hash_from_hex((const char *) sqlite3_column_text(s, 0), out) == 0;
        sqlite3_finalize(s);
        return ok;
}

/*
 * A schema 4 file as a schema-4 vmtraced left it: build_v3()'s rows
 * (encodings 1, 1, 2; row 4 PENDING since schema 3), migrated with the
 * released step, then row 5 completed under schema 4 (encoding 3, with
 * platform_user) by the schema-4 chain statements.
 */
static bool build_v4(void) {
        unsigned char head[TRAIL_HASH_SIZE];
        struct trail_chainer *c = NULL;
        sqlite3 *db;
        int r;

        if (!build_v3())
                return false;
        CHECK(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK, "open");
        r = trail_schema_migrate(db, 3);
        if (r >= 0)
                r = sqlite3_exec(db,
                                 "INSERT INTO records (id, start_ms, end_ms, operation, user, login_uid, result,"
                                 " platform_user) VALUES (5, 5, 50, 'PowerOffVM', 'carol', 1001, 'OK', 'svc-a')",
                                 NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
        if (r >= 0)
                r = stored_hash(db, 3, head) ? 0 : -EBADMSG;
        if (r >= 0 && (r = trail_chainer_new(db, TRAIL_SCHEMA_PLATFORM_USER, &c)) >= 0)
                r = trail_chainer_append(c, 5, 4, head);
        trail_chainer_free(c);
        sqlite3_close(db);
        CHECK(r >= 0, "cannot build a v4 database: %d", r);
        CHECK(sql_int(dbpath, "SELECT group_concat(hash_version) = '1,1,2,3' FROM (SELECT hash_version FROM records"
                              " WHERE seq IS NOT NULL ORDER BY seq)") == 1, "the v4 file is not 1,1,2,3");
        return true;
}

/* --source on the file as it is now: the rows it selects, or -1. */
static int rows_of_source(const char *source, struct seen *s) {
        return read_rows(&(struct trail_query) { .values[TRAIL_FILTER_SOURCE] = source }, s);
}

/* The out-of-band row the tests write: a rename seen between two polls, by whom vCenter says. */
static struct audit_record out_of_band_row(void) {
        static struct peer self; /* outlives the call, as the row's borrowed user name would have to */
        struct audit_record r;

        /* Built as the daemon's own row, then made out-of-band: the setter must clear who. */
        record_daemon_peer(&self);
        r = record_by_peer(&self, "RenameVM");
        r.start_ms = 1700000000900;
        r.end_ms = 1700000000950;
        r.endpoint = "vc1";
        r.vm_name = "web01";
        r.vm_id = "vm-42";
        r.before = "web01";
        r.after = "web02";
        record_set_out_of_band(&r, 1700000000000, 1700000000900);
        record_set_platform_user(&r, "VSPHERE.LOCAL\\admin");
        record_set_result(&r, AUDIT_RESULT_OK, NULL, NULL);
        return r;
}

/*
 * Schema 4 -> 5: encodings 1 to 3 kept with their hashes, the row left
 * PENDING and an out-of-band row chained as encoding 4, a mixed trail that
 * verifies, and --source on files with and without the column.
 */
static bool test_migrate_v4(void) {
        char before[1024], after[1024];
        struct trail_verify_result res;
        struct audit *a = NULL;
        struct seen s;
        int r;

        new_db("v4.db");
        if (!build_v4())
                return false;
        CHECK(verify_chain(NULL, 0, &s, &res) == 0, "unmigrated v4 file: %d problem(s): %s", s.problems, s.problem);
        CHECK(rows_of_source("out-of-band", &s) == 0, "--source out-of-band without the column: %d", s.rows);
        CHECK(rows_of_source("vmtraced", &s) == 5, "--source vmtraced without the column: %d", s.rows);
        sql_text(dbpath, "SELECT group_concat(hash, ',') FROM (SELECT hash FROM records ORDER BY seq)", before,
                 sizeof before);

        r = audit_open(dbpath, &a);
        CHECK(r == 0, "audit_open: %s", strerror(-r));
        struct audit_record fin4 = { .id = 4, .end_ms = 60, .result = AUDIT_RESULT_OK };
        struct audit_record oob = out_of_band_row();
        r = audit_finish(a, &fin4);
        if (r == 0)
                r = audit_insert(a, &oob);
        audit_close(a);
        CHECK(r == 0, "finish/insert after migration: %d", r);

        CHECK(sql_int(dbpath, "PRAGMA user_version") == TRAIL_SCHEMA_VERSION, "not migrated");
        sql_text(dbpath, "SELECT group_concat(hash, ',') FROM (SELECT hash FROM records WHERE seq <= 4 ORDER BY seq)",
                 after, sizeof after);
        CHECK(strcmp(before, after) == 0, "migration rewrote hashes:\n# %s\n# %s", before, after);
        CHECK(sql_int(dbpath, "SELECT group_concat(hash_version) = '1,1,2,3,4,4' FROM (SELECT hash_version FROM trail"
                              " ORDER BY seq)") == 1, "hash_version is not 1,1,2,3,4,4");
        CHECK(sql_int(dbpath, "SELECT count(*) FROM trail WHERE source IS NULL AND seen_from_ms IS NULL"
                              " AND seen_to_ms IS NULL") == 5, "old rows gained a source or a window");
        if (!hash_is_documented(4, 6, &oob, true) || !hash_is_documented(3, 6, &oob, false))
                return false;
        CHECK(verify_chain(NULL, 0, &s, &res) == 0 && res.last_seq == 6, "mixed trail: %d problem(s): %s",
              s.problems, s.problem);
        CHECK(rows_of_source("out-of-band", &s) == 1 && strcmp(s.last_vm, "web01") == 0,
              "--source out-of-band: %d rows", s.rows);
        CHECK(rows_of_source("vmtraced", &s) == 5, "--source vmtraced: %d", s.rows);
        return true;
}

/* Tamper with row seq by sql, expect verify to call it modified, then put it back by undo. */
static bool tamper_is_caught(int64_t seq, const char *sql, const char *undo) {
        struct trail_verify_result res;
        struct seen s;
        char want[64];

        snprintf(want, sizeof want, "(seq %" PRId64 ") does not match its hash: modified", seq);
        CHECK(sql_exec(dbpath, sql), "tamper: %s", sql);
        CHECK(verify_chain(NULL, 0, &s, &res) == 1 && strstr(s.problem, want), "%s: %d problem(s): %s", sql,
              s.problems, s.problem);
        CHECK(sql_exec(dbpath, undo), "undo: %s", undo);
        CHECK(verify_chain(NULL, 0, &s, &res) == 0, "after %s: %d problem(s): %s", undo, s.problems, s.problem);
        return true;
}

/* out_of_band_row() as read back: its source and window, no operator, whom the platform named. */
static bool out_of_band_reads_back(struct json_object *o) {
        return json_str_is(o, "source", "out-of-band") && json_int_is(o, "seen_from_ms", false, 1700000000000) &&
               json_int_is(o, "seen_to_ms", false, 1700000000900) && json_str_is(o, "user", NULL) &&
               json_int_is(o, "uid", true, 0) && json_int_is(o, "login_uid", true, 0) &&
               json_str_is(o, "platform_user", "VSPHERE.LOCAL\\admin") && json_str_is(o, "result", "OK") &&
               json_str_is(o, "before", "web01") && json_str_is(o, "after", "web02") &&
               json_int_is(o, "hash_version", false, 4);
}

/* An out-of-band row through audit_insert(): every column back as set, and the chain covers the new ones. */
static bool test_out_of_band(void) {
        struct json_object *o = NULL;
        struct audit *a = NULL;
        struct audit_record oob = out_of_band_row();
        bool ok;
        int r;

        new_db("oob.db");
        r = audit_open(dbpath, &a);
        CHECK(r == 0, "audit_open: %s", strerror(-r));
        r = audit_insert(a, &oob);
        if (r == 0)
                r = audit_get_json(a, oob.id, &o);
        audit_close(a);
        CHECK(r == 0, "insert and read back: %d", r);
        ok = out_of_band_reads_back(o);
        json_object_put(o);
        if (!ok)
                return false;
        return hash_is_documented(4, 1, &oob, true) &&
               tamper_is_caught(1, "UPDATE records SET source = NULL", "UPDATE records SET source = 'out-of-band'") &&
               tamper_is_caught(1, "UPDATE records SET seen_from_ms = seen_from_ms - 1",
                                "UPDATE records SET seen_from_ms = seen_from_ms + 1") &&
               tamper_is_caught(1, "UPDATE records SET seen_to_ms = NULL",
                                "UPDATE records SET seen_to_ms = 1700000000900");
}

static const struct {
        const char *desc;
        bool (*fn)(void);
} tests[] = {
        { "new database file is mode 0640 under umask 077", test_create_mode },
        { "schema version 9, WAL, synchronous=FULL, indexes, view, signed checkpoints", test_schema_and_pragmas },
        { "begin/finish/get_json round-trip hostile strings", test_round_trip },
        { "finish without target fields keeps those from begin", test_finish_keeps_begin_fields },
        { "finish twice -> -EALREADY, missing row -> -ENOENT", test_finish_twice },
        { "insert complete row, ISO-8601 ms times, invalid results refused", test_insert_and_times },
        { "reserved ids, duplicate id refused, counter survives reopen", test_ids },
        { "database with newer user_version refused", test_refuse_newer },
        { "database with a schema object vmtraced did not make refused", test_refuse_foreign_schema },
        { "begin on a read-only database fails with -EROFS", test_read_only },
        { "begin fails when the write fails (RLIMIT_FSIZE)", test_write_error },
        { "16 threads: rows chained once, fewer transactions than rows (group commit)", test_threads },
        { "chained hash is SHA-256 of the documented encoding", test_chain_encoding },
        { "v1 database migrated: completed rows chained in completion order", test_migrate_v1 },
        { "refused completion kept, degraded reported, retried and written", test_degraded_retry },
        { "audit-group: database and WAL readable by the group, mode 0640", test_group },
        { "rows read back as auditors do: log filters, verify intact, an edit caught", test_read_back },
        { "v3 database migrated: old hashes kept, encoding 4 verifies, platform_user covered", test_migrate_v3 },
        { "v4 database migrated: encodings 1 to 3 kept, out-of-band row of encoding 4 verifies", test_migrate_v4 },
        { "out-of-band row: its columns read back, source and window covered by the hash", test_out_of_band },
};

int main(void) {
        int failed = 0;

        log_init("test-audit");
        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return 99;
        }
        sqlite3_auto_extension((void (*)(void)) catch_db);

        printf("1..%zu\n", ELEMENTSOF(tests));
        for (size_t i = 0; i < ELEMENTSOF(tests); i++) {
                bool ok = tests[i].fn();

                printf("%sok %zu - %s\n", ok ? "" : "not ", i + 1, tests[i].desc);
                fflush(stdout);
                failed += !ok;
        }

        tap_rm_rf(tmpdir);
        return failed ? 1 : 0;
}
