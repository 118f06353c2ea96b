/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The forwarder threads (see forward.h).
 *
 * Acknowledgement: the RELP window is 1, so librelp sends a message only
 * after the previous one was acknowledged.  A send that returns OK thus
 * proves every message before it arrived, and the last row of a burst is
 * proved by the "idle" checkpoint sent after it (a checkpoint is worth
 * sending anyway: the head the receiver must reach).  syslog-tls has no
 * acknowledgement: a burst ends with the checkpoint and a clean close
 * (forward_tls.c says what that proves), which proves every row of the
 * connection; a busy trail closes every FORWARD_TLS_PROOF_ROWS rows.
 * acked_seq only ever names a row so proved.
 *
 * Locking: f->lock guards the status fields (state, acked, oldest_ms,
 * error) and stopping; everything else is the thread's own.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "forward.h"
#include "forward_relp.h"
#include "forward_tls.h"
#include "module.h"
#include "log.h"
#include "macros.h"
#include "trail_format.h"
#include "trail_hash.h"
#include "trail_schema.h"
#include "trail_syslog.h"
#include "util.h"

#define FORWARD_POLL_MS 300          /* how soon a new row goes out */
#define FORWARD_BACKOFF_MAX_S 30
#define FORWARD_TIMEOUT_S 5          /* a target that stops answering is given up on after this */
#define FORWARD_TLS_PROOF_ROWS 1000  /* syslog-tls: rows a busy trail sends before closing to prove them */
#define FORWARD_BUSY_TIMEOUT_MS 5000


enum forward_state_kind { FORWARD_CONNECTING, FORWARD_UP, FORWARD_DOWN };

static const char *const state_names[] = { "connecting", "up", "down" };

struct forwarder {
        const struct forward_config *cfg;   /* the daemon's config outlives the thread */
        const char *database;
        unsigned checkpoint_interval;
        char hostname[256];
        long pid;
        pthread_t thread;
        bool started;
        sqlite3 *db;
        sqlite3_stmt *rows, *save, *signed_rows;
        const struct transport *tr;
        struct forward_relp *relp;          /* RELP (forward_relp.h) */
        struct forward_tls *tls;            /* syslog-tls */
        bool connected;
        int64_t sent;                       /* the last row sent on this connection */
        int64_t signed_sent;                /* the last signed checkpoint sent on it */
        int64_t unproved;                   /* a row sent whose ack is not proved yet; 0: none */
        unsigned char last_hash[TRAIL_HASH_SIZE];
        pthread_mutex_t lock;
        pthread_cond_t wake;
        bool stopping;
        enum forward_state_kind state;
        bool down_logged;                   /* the target is down, and the log said so */
        int64_t acked, oldest_ms;           /* oldest_ms: end of row acked + 1, 0 when not read */
        char error[256];
};

struct forward_set {
        struct forwarder *f;
        size_t n;
};

static void set_state(struct forwarder *f, enum forward_state_kind st, const char *error) {
        pthread_mutex_lock(&f->lock);
        /* Up, and the first failure after it: not every retry of a target that stays down. */
        if ((st == FORWARD_UP && f->state != FORWARD_UP) || (st == FORWARD_DOWN && !f->down_logged))
                log_info("forward \"%s\" (%s:%s): %s%s%s", f->cfg->name, f->cfg->host, f->cfg->port, state_names[st],
                         error ? ": " : "", strempty(error));
        if (st != FORWARD_CONNECTING)
                f->down_logged = st == FORWARD_DOWN;
        f->state = st;
        snprintf(f->error, sizeof f->error, "%s", strempty(error));
        pthread_mutex_unlock(&f->lock);
}

/* Sleep up to ms, or until stopped; true when stopping. */
static bool wait_or_stop(struct forwarder *f, long ms) {
        struct timespec ts;
        bool stop;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += ms / 1000;
        ts.tv_nsec += (ms % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&f->lock);
        if (!f->stopping)
                pthread_cond_timedwait(&f->wake, &f->lock, &ts);
        stop = f->stopping;
        pthread_mutex_unlock(&f->lock);
        return stop;
}

/* ---------- the database side: the thread's own connection ---------- */

static int db_exec_int(struct forwarder *f, const char *sql, int64_t arg, int64_t *out) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        int rc = sqlite3_prepare_v2(f->db, sql, -1, &s, NULL);

        if (rc == SQLITE_OK && (rc = sqlite3_bind_int64(s, 1, arg)) == SQLITE_OK)
                rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
                *out = sqlite3_column_type(s, 0) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 0);
                return 0;
        }
        return rc == SQLITE_DONE ? -ENOENT : trail_schema_errno(rc);
}

static int db_open(struct forwarder *f) {
        int64_t acked = 0;
        int rc;

        rc = sqlite3_open_v2(f->database, &f->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_busy_timeout(f->db, FORWARD_BUSY_TIMEOUT_MS);
        if (rc == SQLITE_OK)
                rc = sqlite3_prepare_v2(f->db, "SELECT " TRAIL_HASH_COLUMNS ", hash FROM records WHERE seq > ?1 "
                                        "ORDER BY seq LIMIT 200", -1, &f->rows, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_prepare_v2(f->db, "SELECT seq, hash, prev_seq, signed_ms, public_key, signature "
                                        "FROM signed_checkpoints WHERE seq > ?1 AND seq <= ?2 ORDER BY seq",
                                        -1, &f->signed_rows, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_prepare_v2(f->db, "INSERT INTO forward_state (target, acked_seq, acked_ms) "
                                        "VALUES (?1, ?2, ?3) ON CONFLICT(target) DO UPDATE SET "
                                        "acked_seq = excluded.acked_seq, acked_ms = excluded.acked_ms",
                                        -1, &f->save, NULL);
        if (rc != SQLITE_OK)
                return log_error_errno(trail_schema_errno(rc), "forward \"%s\": cannot read %s: %s", f->cfg->name,
                                       f->database, sqlite3_errmsg(f->db));
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        if (sqlite3_prepare_v2(f->db, "SELECT acked_seq FROM forward_state WHERE target = ?1", -1, &s, NULL) ==
                    SQLITE_OK &&
            sqlite3_bind_text(s, 1, f->cfg->name, -1, SQLITE_STATIC) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
                acked = sqlite3_column_int64(s, 0);
        pthread_mutex_lock(&f->lock);
        f->acked = acked;
        pthread_mutex_unlock(&f->lock);
        f->sent = acked;
        return 0;
}

static void save_acked(struct forwarder *f, int64_t seq) {
        int rc;

        pthread_mutex_lock(&f->lock);
        bool changed = seq > f->acked;
        if (changed) {
                f->acked = seq;
                f->oldest_ms = 0;  /* another row now: refresh_backlog() reads its time */
        }
        pthread_mutex_unlock(&f->lock);
        if (!changed)
                return;
        sqlite3_reset(f->save);
        sqlite3_bind_text(f->save, 1, f->cfg->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(f->save, 2, seq);
        sqlite3_bind_int64(f->save, 3, now_ms());
        rc = sqlite3_step(f->save);
        sqlite3_reset(f->save);
        /* Not fatal: the rows after the stored seq are sent again after a restart, and dropped as duplicates. */
        if (rc != SQLITE_DONE)
                log_warning("forward \"%s\": cannot record acknowledged seq %" PRId64 ": %s", f->cfg->name, seq,
                            sqlite3_errmsg(f->db));
}

/* The time of the oldest row not acknowledged, for status (the head comes from the daemon's own copy). */
static void refresh_backlog(struct forwarder *f) {
        int64_t oldest = 0, acked;

        pthread_mutex_lock(&f->lock);
        acked = f->acked;
        pthread_mutex_unlock(&f->lock);
        if (db_exec_int(f, "SELECT end_ms FROM records WHERE seq = ?1", acked + 1, &oldest) < 0)
                oldest = 0;
        pthread_mutex_lock(&f->lock);
        if (f->acked == acked)
                f->oldest_ms = oldest;
        pthread_mutex_unlock(&f->lock);
}

/* ---------- the transports: RELP, and RFC 5425 (forward_tls.c) ---------- */

/*
 * A transport connects, sends one message, and closes.  acks_each: every
 * message is acknowledged (RELP); otherwise nothing is until a clean close
 * confirms the whole connection (syslog-tls), and proof_rows bounds how
 * many rows wait for that on a busy trail.  The functions return 0 or a
 * negative errno with a sentence in err.
 */
struct transport {
        bool acks_each;
        int64_t proof_rows;
        int (*connect)(struct forwarder *f, char *err, size_t errlen);
        int (*send)(struct forwarder *f, const char *msg, size_t len, char *err, size_t errlen);
        int (*close)(struct forwarder *f, bool clean, char *err, size_t errlen);
};

static const struct forward_relp_ops *relp;   /* the module's, once loaded */

/* A failure is not kept: a reload after the package put the module back must find it. */
const struct forward_relp_ops *forward_relp_load(char *err, size_t errlen) {
        if (!relp)
                relp = module_symbol(FORWARD_RELP_MODULE, "forward_relp_module", err, errlen);
        return relp;
}

static int relp_connect(struct forwarder *f, char *err, size_t errlen) {
        return relp->connect(f->cfg, FORWARD_TIMEOUT_S, &f->relp, err, errlen);
}

static int relp_send(struct forwarder *f, const char *msg, size_t len, char *err, size_t errlen) {
        return relp->send(f->relp, msg, len, err, errlen);
}

/* Every message was acknowledged already: closing proves nothing more. */
static int relp_close(struct forwarder *f, bool clean _unused_, char *err _unused_, size_t errlen _unused_) {
        relp->close(TAKE_PTR(f->relp));
        return 0;
}

static int tls_connect(struct forwarder *f, char *err, size_t errlen) {
        return forward_tls_connect(f->cfg, FORWARD_TIMEOUT_S, &f->tls, err, errlen);
}

static int tls_send(struct forwarder *f, const char *msg, size_t len, char *err, size_t errlen) {
        return forward_tls_send(f->tls, msg, len, err, errlen);
}

static int tls_close(struct forwarder *f, bool clean, char *err, size_t errlen) {
        return forward_tls_close(TAKE_PTR(f->tls), clean, err, errlen);
}

static const struct transport transports[] = {
        [FORWARD_RELP] = { .acks_each = true, .connect = relp_connect, .send = relp_send, .close = relp_close },
        [FORWARD_SYSLOG_TLS] = { .proof_rows = FORWARD_TLS_PROOF_ROWS, .connect = tls_connect, .send = tls_send,
                                 .close = tls_close },
};

/* ---------- sending, and proving what was sent ---------- */

/* Also after a failed connect: the RELP client exists from before the connect. */
static void disconnect(struct forwarder *f) {
        char err[8];

        (void) f->tr->close(f, false, err, sizeof err);
        f->connected = false;
        f->unproved = 0;
}

static int link_error(struct forwarder *f, int r, const char *err) {
        disconnect(f);
        set_state(f, FORWARD_DOWN, err);
        return r;
}

static int connect_target(struct forwarder *f) {
        char err[256] = "";
        int r;

        /* syslog-tls closes after each burst to prove it: reconnecting then is no news for status. */
        if (f->state != FORWARD_UP)
                set_state(f, FORWARD_CONNECTING, NULL);
        r = f->tr->connect(f, err, sizeof err);
        if (r < 0)
                return link_error(f, r, err);
        f->connected = true;
        pthread_mutex_lock(&f->lock);
        f->sent = f->acked;
        pthread_mutex_unlock(&f->lock);
        /*
         * Signed checkpoints from the one before the acknowledged row on: the
         * one vmtraced signs at shutdown, after the forwarders stopped, goes
         * out at the next start.  The receiver drops what it already has.
         */
        if (db_exec_int(f, "SELECT MAX(seq) FROM signed_checkpoints WHERE seq < ?1", f->sent, &f->signed_sent) < 0)
                f->signed_sent = f->sent;
        set_state(f, FORWARD_UP, NULL);
        return 0;
}

/* Send one message; with RELP (window 1) its success proves the one before it. */
static int send_message(struct forwarder *f, char *msg, size_t len, int64_t row_seq) {
        char err[256] = "";
        int r = f->tr->send(f, msg, len, err, sizeof err);

        if (r < 0)
                return link_error(f, r, err);
        if (f->tr->acks_each) {
                if (f->unproved > 0)
                        save_acked(f, f->unproved);
                f->unproved = row_seq;
        } else if (row_seq > 0)
                f->unproved = row_seq;
        return 0;
}

static int send_checkpoint(struct forwarder *f, const char *reason) {
        _cleanup_free_ char *msg = NULL;
        char hex[TRAIL_HASH_HEX_SIZE];
        size_t len = 0;
        FILE *m = open_memstream(&msg, &len);

        if (!m)
                return -ENOMEM;
        trail_hash_to_hex(f->last_hash, hex);
        trail_syslog_checkpoint(m, now_ms(), f->sent, hex, reason, f->hostname, f->pid);
        if (fclose(m) != 0)
                return -ENOMEM;
        return send_message(f, msg, len, 0);
}

static int send_row(struct forwarder *f, const struct trail_row *row) {
        _cleanup_free_ char *msg = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&msg, &len);
        const struct trail_value *hash = trail_row_get(row, "hash");
        int64_t seq = trail_row_get(row, "seq")->integer;
        int r;

        if (!m)
                return -ENOMEM;
        trail_syslog_row(m, row, f->hostname, f->pid);
        if (fclose(m) != 0)
                return -ENOMEM;
        r = send_message(f, msg, len, seq);
        if (r < 0)
                return r;
        f->sent = seq;
        if (!hash->text || trail_hash_from_hex(hash->text, f->last_hash) < 0)
                memset(f->last_hash, 0, sizeof f->last_hash);
        if (f->checkpoint_interval > 0 && seq % f->checkpoint_interval == 0)
                return send_checkpoint(f, "interval");
        return 0;
}

/*
 * Prove the rows sent so far: a checkpoint (the head the receiver must
 * reach), whose acknowledgement proves the last row with RELP; without
 * acknowledgements, then the clean close, which proves the connection.
 */
static int prove(struct forwarder *f, const char *reason) {
        char err[256] = "";
        int r = send_checkpoint(f, reason);

        if (r < 0 || f->tr->acks_each)
                return r;
        r = f->tr->close(f, true, err, sizeof err);
        f->connected = false;
        if (r < 0)
                return link_error(f, r, err);
        save_acked(f, f->unproved);
        f->unproved = 0;
        return 0;
}

/* The rows after the last sent, up to a batch: how many went out, or a negative errno. */
static int send_batch(struct forwarder *f) {
        struct trail_value values[TRAIL_HASH_NCOLUMNS + 1];
        const char *names[TRAIL_HASH_NCOLUMNS + 1];
        const struct trail_row row = { .n = ELEMENTSOF(values), .names = names, .values = values };
        int n = 0, rc, r = 0;

        sqlite3_reset(f->rows);
        sqlite3_bind_int64(f->rows, 1, f->sent);
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                names[i] = sqlite3_column_name(f->rows, (int) i);
        while (r >= 0 && (rc = sqlite3_step(f->rows)) == SQLITE_ROW) {
                trail_row_read(f->rows, values, ELEMENTSOF(values));
                r = send_row(f, &row);
                n++;
        }
        sqlite3_reset(f->rows);
        return r < 0 ? r : n;
}

/*
 * The signed checkpoints of rows already sent, each after its row: vmtraced
 * stores a signature just after the row's own transaction, so one the last
 * batch missed goes with the next.  The receiver's copy then checks with
 * vmctl verify --forwarded --key.
 */
static int send_signed(struct forwarder *f) {
        sqlite3_stmt *s = f->signed_rows;
        int rc, r = 0;

        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, f->signed_sent);
        sqlite3_bind_int64(s, 2, f->sent);
        while (r >= 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
                _cleanup_free_ char *msg = NULL;
                size_t len = 0;
                FILE *m = open_memstream(&msg, &len);
                struct trail_signed c = { .seq = sqlite3_column_int64(s, 0), .prev_seq = sqlite3_column_int64(s, 2),
                                          .signed_ms = sqlite3_column_int64(s, 3) };

                if (!m)
                        break;
                (void) trail_hash_from_hex((const char *) sqlite3_column_text(s, 1), c.hash);
                trail_syslog_signed(m, now_ms(), &c, strempty((const char *) sqlite3_column_text(s, 4)),
                                    strempty((const char *) sqlite3_column_text(s, 5)), f->hostname, f->pid);
                if (fclose(m) != 0)
                        break;
                /* Counted as the last row's, so the idle checkpoint after it proves it arrived. */
                r = send_message(f, msg, len, f->sent);
                if (r >= 0)
                        f->signed_sent = c.seq;
        }
        sqlite3_reset(s);
        return r;
}

/* Wait ms (or until stopped: then false), the status's backlog kept fresh meanwhile. */
static bool pause_round(struct forwarder *f, long ms) {
        for (long left = ms; left > 0; left -= FORWARD_POLL_MS) {
                if (wait_or_stop(f, left < FORWARD_POLL_MS ? left : FORWARD_POLL_MS))
                        return false;
                refresh_backlog(f);
        }
        return true;
}

/* Wait the backoff, doubled for the next failure; false when the thread should stop. */
static bool backoff_pause(struct forwarder *f, unsigned *backoff) {
        long ms = (long) *backoff * 1000;

        *backoff = *backoff * 2 > FORWARD_BACKOFF_MAX_S ? FORWARD_BACKOFF_MAX_S : *backoff * 2;
        return pause_round(f, ms);
}

/* After a batch of n rows: the end of a burst, or (syslog-tls) enough rows waiting for their proof. */
static bool must_prove(const struct forwarder *f, int n) {
        if (f->unproved <= 0)
                return false;
        return n == 0 || (f->tr->proof_rows > 0 && f->unproved - f->acked >= f->tr->proof_rows);
}

/*
 * One round: connect if need be, send what is new, prove the last row;
 * false when the thread should stop.  The backoff grows with each failure,
 * a proof that fails included (a receiver that never confirms must not get
 * the backlog again every few seconds), and starts over once a row is
 * acknowledged or the link is idle with nothing to prove.
 */
static bool forward_round(struct forwarder *f, unsigned *backoff) {
        int64_t acked = f->acked;
        bool proving = false;
        int n, r = 0;

        refresh_backlog(f);
        if (!f->connected && connect_target(f) < 0)
                return backoff_pause(f, backoff);
        n = send_batch(f);
        /* The signed checkpoints of the rows sent, before the proof that covers them. */
        if (n >= 0 && send_signed(f) < 0)
                n = -ECONNRESET;
        if (n >= 0 && must_prove(f, n)) {
                proving = true;
                r = prove(f, n == 0 ? "idle" : "batch");
        }
        if (n < 0 || r < 0)
                return backoff_pause(f, backoff);
        if (f->acked > acked || (n == 0 && !proving))
                *backoff = 1;
        return n > 0 || pause_round(f, FORWARD_POLL_MS);
}

static void *forward_main(void *userdata) {
        struct forwarder *f = userdata;
        unsigned backoff = 1;

        if (db_open(f) < 0) {
                set_state(f, FORWARD_DOWN, "cannot read the trail");
                return NULL;
        }
        while (forward_round(f, &backoff))
                ;
        if (f->connected && f->unproved > 0)
                (void) prove(f, "shutdown");
        disconnect(f);
        return NULL;
}

/* ---------- the set ---------- */

static void forwarder_done(struct forwarder *f) {
        if (f->started) {
                pthread_mutex_lock(&f->lock);
                f->stopping = true;
                pthread_cond_signal(&f->wake);
                pthread_mutex_unlock(&f->lock);
                pthread_join(f->thread, NULL);
        }
        sqlite3_finalize(f->rows);
        sqlite3_finalize(f->save);
        sqlite3_finalize(f->signed_rows);
        if (f->db)
                sqlite3_close(f->db);
        pthread_cond_destroy(&f->wake);
        pthread_mutex_destroy(&f->lock);
}

void forward_set_stop(struct forward_set *s) {
        if (!s)
                return;
        for (size_t i = 0; i < s->n; i++)
                forwarder_done(&s->f[i]);
        free(s->f);
        free(s);
}

static int forwarder_start(struct forwarder *f, const struct config *c, const struct forward_config *fc) {
        char err[512];
        pthread_condattr_t ca;
        int r;

        f->cfg = fc;
        f->database = c->database;
        f->checkpoint_interval = c->checkpoint_interval;
        f->pid = (long) getpid();
        if (gethostname(f->hostname, sizeof f->hostname - 1) < 0 || strpbrk(f->hostname, " []\"="))
                snprintf(f->hostname, sizeof f->hostname, "-");
        pthread_mutex_init(&f->lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&f->wake, &ca);
        pthread_condattr_destroy(&ca);
        f->tr = &transports[fc->protocol];
        /* The configuration loaded the module already (validate_forward()); this only fails without it. */
        if (fc->protocol == FORWARD_RELP && !forward_relp_load(err, sizeof err))
                return log_error_errno(-ELIBACC, "forward \"%s\": %s", fc->name, err);
        r = thread_start_unsignalled(&f->thread, forward_main, f);
        if (r < 0)
                return log_error_errno(r, "Failed to start the forwarder of \"%s\": %m", fc->name);
        f->started = true;
        return 0;
}

static bool configured(const struct config *c, const char *name) {
        for (const struct forward_config *fc = c->forwards; fc; fc = fc->next)
                if (strcmp(fc->name, name) == 0)
                        return true;
        return false;
}

/* SQL vmtraced_configured(target): 1 when the configuration has a [forward] section of that name. */
static void configured_fn(sqlite3_context *ctx, int argc _unused_, sqlite3_value **argv) {
        const struct config *c = sqlite3_user_data(ctx);
        const char *name = (const char *) sqlite3_value_text(argv[0]);

        sqlite3_result_int(ctx, name && configured(c, name));
}

/* Each row of forward_state the configuration no longer names, logged and counted in *n; SQLITE_DONE. */
static int log_removed(sqlite3 *db, int *n) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        int rc;

        rc = sqlite3_prepare_v2(db, "SELECT target, acked_seq FROM forward_state WHERE NOT vmtraced_configured(target)",
                                -1, &s, NULL);
        while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
                const char *name = (const char *) sqlite3_column_text(s, 0);

                rc = SQLITE_OK;
                log_warning("forward \"%s\" is no longer configured: dropping its progress (acknowledged up to seq %"
                            PRId64 "), which would hold back prune for good.", name ? name : "(NULL)",
                            (int64_t) sqlite3_column_int64(s, 1));
                (*n)++;
        }
        return rc;
}

/*
 * The kept progress of targets no longer in the configuration goes: such a
 * row would hold prune back for good (prune keeps every row a target has
 * not acknowledged), and nothing would ever move it again.  Put back, a
 * target is sent what the trail still holds, from its oldest row, as a new
 * one is.  The test is an SQL function over the configuration, so a NULL or
 * empty name written by hand goes too.  No transaction: the forwarders,
 * the only writers of the table, have not started yet, and the DELETE
 * alone is atomic, so a start with nothing to drop takes no write lock.
 */
static void forget_removed(const struct config *c) {
        _cleanup_(sqlite3_closep) sqlite3 *db = NULL;
        int rc, n = 0;

        rc = sqlite3_open_v2(c->database, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_busy_timeout(db, FORWARD_BUSY_TIMEOUT_MS);
        if (rc == SQLITE_OK)
                rc = sqlite3_create_function(db, "vmtraced_configured", 1, SQLITE_UTF8, (void *) c, configured_fn,
                                             NULL, NULL);
        if (rc == SQLITE_OK)
                rc = log_removed(db, &n);
        if (rc == SQLITE_DONE && n == 0)
                return;
        if (rc == SQLITE_DONE)
                rc = sqlite3_exec(db, "DELETE FROM forward_state WHERE NOT vmtraced_configured(target)", NULL, NULL,
                                  NULL);
        if (rc != SQLITE_OK)
                log_warning("Cannot drop the progress of forwarding targets no longer configured in %s: %s",
                            c->database, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

int forward_set_start(const struct config *c, struct forward_set **out) {
        struct forward_set *s;
        size_t n = 0;
        int r = 0;

        *out = NULL;
        forget_removed(c);
        for (const struct forward_config *fc = c->forwards; fc; fc = fc->next)
                n++;
        if (n == 0)
                return 0;
        s = calloc(1, sizeof *s);
        if (!s || !(s->f = calloc(n, sizeof *s->f))) {
                free(s);
                return log_oom();
        }
        for (const struct forward_config *fc = c->forwards; fc && r >= 0; fc = fc->next)
                r = forwarder_start(&s->f[s->n++], c, fc);
        if (r < 0) {
                forward_set_stop(s);
                return r;
        }
        *out = s;
        return 0;
}

struct json_object *forward_set_status(struct forward_set *s, int64_t head) {
        struct json_object *a = json_object_new_array();
        int64_t now = now_ms();

        for (size_t i = 0; s && i < s->n; i++) {
                struct forwarder *f = &s->f[i];
                struct json_object *j = json_object_new_object();
                char target[300];

                snprintf(target, sizeof target, "%s:%s", f->cfg->host, f->cfg->port);
                pthread_mutex_lock(&f->lock);
                json_object_object_add(j, "name", json_object_new_string(f->cfg->name));
                json_object_object_add(j, "target", json_object_new_string(target));
                json_object_object_add(j, "protocol",
                                       json_object_new_string(f->cfg->protocol == FORWARD_SYSLOG_TLS ? "syslog-tls"
                                                                                                    : "relp"));
                json_object_object_add(j, "state", json_object_new_string(state_names[f->state]));
                json_object_object_add(j, "acked_seq", json_object_new_int64(f->acked));
                int64_t backlog = head > f->acked ? head - f->acked : 0;
                /* The thread reads the oldest row's time; until it has (a send may hold it for seconds), null. */
                int64_t oldest = f->oldest_ms;
                json_object_object_add(j, "head_seq", json_object_new_int64(head));
                json_object_object_add(j, "backlog", json_object_new_int64(backlog));
                json_object_object_add(j, "oldest_unacked_age_s",
                                       backlog > 0 && oldest > 0 ? json_object_new_int64((now - oldest) / 1000) : NULL);
                if (f->error[0])
                        json_object_object_add(j, "error", json_object_new_string(f->error));
                pthread_mutex_unlock(&f->lock);
                json_object_array_add(a, j);
        }
        return a;
}
