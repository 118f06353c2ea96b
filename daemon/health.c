/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The trail's health check in a thread of its own (see health.h).
 *
 * Locking: h->lock guards everything but path and stopping.  A check's
 * thread sets running back to false as its last act under the lock, so the
 * thread that starts the next check may join it at once.
 *
 * Stopping takes two signals, because a whole check (ten seconds at ten
 * million rows) is one VDBE opcode: sqlite3_interrupt() ends that opcode
 * but is lost when sent before the statement runs, and the progress
 * handler, called before every opcode, catches that case from the atomic
 * stopping.
 */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "health.h"
#include "log.h"
#include "macros.h"
#include "trail_schema.h"
#include "util.h"

#define HEALTH_BUSY_TIMEOUT_MS 5000

struct health {
        char *path;
        pthread_mutex_t lock;
        pthread_t thread;
        bool started;     /* thread is to be joined */
        bool running;     /* a check is under way */
        atomic_bool stopping;
        sqlite3 *db;      /* the running check's connection, for sqlite3_interrupt() */
        int result;       /* 0, -EIO, or -EAGAIN before the first check has ended */
        char text[256];
        int64_t checked_ms;     /* UTC, for status */
        int64_t checked_mono_ms; /* CLOCK_MONOTONIC, for the interval: a clock stepped back must not stop checks */
        int64_t interval_ms;
};

/* Called before each VDBE opcode of the check: non-zero ends it (SQLITE_INTERRUPT). */
static int stop_asked(void *userdata) {
        struct health *h = userdata;

        return atomic_load(&h->stopping);
}

/* quick_check reads every page but skips the index cross-checks: "ok", or the first problem found. */
static int quick_check(sqlite3 *db, char *buf, size_t len) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &s, NULL);

        if (rc == SQLITE_OK)
                rc = sqlite3_step(s);
        snprintf(buf, len, "%s", rc == SQLITE_ROW ? (const char *) sqlite3_column_text(s, 0) : sqlite3_errmsg(db));
        /* SQLite's report is "*** in database main ***\nPage 4: ...": one line for a status line. */
        for (char *nl = strchr(buf, '\n'); nl; nl = strchr(nl, '\n'))
                *nl = ' ';
        return rc == SQLITE_ROW && strcmp(buf, "ok") == 0 ? 0 : -EIO;
}

static void *check_main(void *userdata) {
        struct health *h = userdata;
        _cleanup_(sqlite3_closep) sqlite3 *db = NULL;
        char text[sizeof h->text];
        int rc, r = -EIO;

        rc = sqlite3_open_v2(h->path, &db, SQLITE_OPEN_READONLY, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_busy_timeout(db, HEALTH_BUSY_TIMEOUT_MS);
        if (rc == SQLITE_OK) {
                sqlite3_progress_handler(db, 1, stop_asked, h);
                pthread_mutex_lock(&h->lock);
                h->db = db;
                pthread_mutex_unlock(&h->lock);
                r = quick_check(db, text, sizeof text);
        } else
                snprintf(text, sizeof text, "cannot open: %s", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));

        pthread_mutex_lock(&h->lock);
        h->db = NULL;  /* before the cleanup closes it: no interrupt reaches a closed connection */
        if (!atomic_load(&h->stopping)) {
                h->result = r;
                memcpy(h->text, text, sizeof text);
                h->checked_ms = now_ms();
                h->checked_mono_ms = monotonic_ms();
        }
        h->running = false;
        pthread_mutex_unlock(&h->lock);
        return NULL;
}

/* A check, unless one runs; under h->lock, so the new thread cannot clear running before it is set. */
static int start_locked(struct health *h) {
        int r;

        if (h->running || atomic_load(&h->stopping))
                return 0;
        if (h->started)
                pthread_join(h->thread, NULL);  /* it has ended: running is false */
        r = thread_start_unsignalled(&h->thread, check_main, h);
        h->started = r == 0;
        h->running = r == 0;
        if (r < 0)
                log_warning_errno(r, "Cannot start a check of %s: %m", h->path);
        return r;
}

int health_new(const char *path, unsigned interval_s, struct health **out) {
        _cleanup_free_ struct health *h = calloc(1, sizeof *h);

        if (!h || !(h->path = strdup(path)))
                return log_oom();
        pthread_mutex_init(&h->lock, NULL);
        h->interval_ms = (int64_t) interval_s * 1000;
        h->result = -EAGAIN;
        snprintf(h->text, sizeof h->text, "being checked");
        pthread_mutex_lock(&h->lock);
        int r = start_locked(h);
        pthread_mutex_unlock(&h->lock);
        if (r < 0) {
                pthread_mutex_destroy(&h->lock);
                free(h->path);
                return r;
        }
        *out = TAKE_PTR(h);
        return 0;
}

void health_free(struct health *h) {
        if (!h)
                return;
        atomic_store(&h->stopping, true);
        pthread_mutex_lock(&h->lock);
        if (h->db)
                sqlite3_interrupt(h->db);
        pthread_mutex_unlock(&h->lock);
        if (h->started)
                pthread_join(h->thread, NULL);
        pthread_mutex_destroy(&h->lock);
        free(h->path);
        free(h);
}

int health_get(struct health *h, char *buf, size_t len, int64_t *checked_ms) {
        _cleanup_(mutex_unlockp) _unused_ pthread_mutex_t *m = mutex_lock(&h->lock);

        snprintf(buf, len, "%s", h->text);
        *checked_ms = h->checked_ms;
        if (h->checked_ms > 0 && monotonic_ms() - h->checked_mono_ms >= h->interval_ms)
                (void) start_locked(h);
        return h->result;
}
