/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One job per endpoint pool, gathered on the loop thread; see fanout.h.
 * The shared counter is touched only by done(), which runs on the loop
 * thread, so it needs no lock.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>

#include "fanout.h"
#include "macros.h"
#include "pool.h"

struct fanout {
        fanout_fn fn;
        fanout_done_fn done;
        void *userdata;
        size_t n, pending;
        struct fanout_result *results;
};

struct fanout_job {
        struct job job;             /* first: the pool hands us back this pointer */
        struct fanout *f;
        struct fanout_result *res;
};

static int fanout_call(struct pool_session *s, void *userdata, struct op_error *err) {
        struct fanout_job *fj = userdata;

        json_object_put(TAKE_PTR(fj->res->data));
        return fj->f->fn(s, fj->f->userdata, &fj->res->data, err);
}

static enum job_state fanout_run(struct job *j, struct pool_session *s) {
        struct fanout_job *fj = (struct fanout_job *) j;

        fj->res->r = pool_session_call(s, fanout_call, fj, &fj->res->err);
        return JOB_DONE;
}

static void fanout_job_done(struct job *j) {
        struct fanout_job *fj = (struct fanout_job *) j;
        struct fanout *f = fj->f;

        free(fj);
        if (--f->pending > 0)
                return;
        f->done(f->userdata, f->results, f->n);
        for (size_t i = 0; i < f->n; i++)
                json_object_put(f->results[i].data);
        free(f->results);
        free(f);
}

/* The pools to ask: the one given, or those of ps that mask allows (every one without a mask). */
static size_t pick_pools(struct pool_set *ps, struct pool *only, const bool *mask, struct pool **out) {
        size_t n = 0;

        if (only || !ps) {
                out[n++] = only;
                return n;
        }
        for (size_t i = 0; i < pool_set_size(ps); i++)
                if (!mask || mask[i])
                        out[n++] = pool_set_nth(ps, i);
        return n;
}

static void fanout_free(struct fanout *f, struct fanout_job **jobs, size_t n) {
        for (size_t i = 0; jobs && i < n; i++)
                free(jobs[i]);
        free(jobs);
        if (f)
                free(f->results);
        free(f);
}

/* The fanout and its n jobs, all allocated before any is queued, so a failure leaves nothing running. */
static int fanout_alloc(size_t n, struct fanout **fp, struct fanout_job ***jp) {
        struct fanout *f = calloc(1, sizeof *f);
        struct fanout_job **jobs = calloc(n, sizeof *jobs);
        bool ok = f && jobs;

        if (ok) {
                f->results = calloc(n, sizeof *f->results);
                ok = f->results;
        }
        for (size_t i = 0; ok && i < n; i++) {
                jobs[i] = calloc(1, sizeof *jobs[i]);
                ok = jobs[i];
        }
        if (!ok) {
                fanout_free(f, jobs, n);
                return -ENOMEM;
        }
        *fp = f;
        *jp = jobs;
        return 0;
}

static int fanout_pools(struct pool_set *ps, struct pool *only, const bool *mask, fanout_fn fn,
                        fanout_done_fn done, void *userdata) {
        _cleanup_free_ struct pool **pools = calloc(only || !ps ? 1 : pool_set_size(ps) + 1, sizeof *pools);
        struct fanout_job **jobs;
        struct fanout *f;

        if (!pools)
                return -ENOMEM;
        size_t n = pick_pools(ps, only, mask, pools);
        if (n == 0)
                return -ENOENT;
        int r = fanout_alloc(n, &f, &jobs);
        if (r < 0)
                return r;
        struct fanout_result *results = f->results;
        *f = (struct fanout) { .fn = fn, .done = done, .userdata = userdata, .n = n, .pending = n, .results = results };
        for (size_t i = 0; i < n; i++) {
                f->results[i].pool = pools[i];
                *jobs[i] = (struct fanout_job) {
                        .job = { .run = fanout_run, .done = fanout_job_done },
                        .f = f,
                        .res = &f->results[i],
                };
                pool_submit(f->results[i].pool, &jobs[i]->job);
        }
        free(jobs);
        return 0;
}

int fanout_start(struct pool_set *ps, const bool *mask, fanout_fn fn, fanout_done_fn done, void *userdata) {
        return fanout_pools(ps, NULL, mask, fn, done, userdata);
}

int fanout_one(struct pool *p, fanout_fn fn, fanout_done_fn done, void *userdata) {
        return fanout_pools(NULL, p, NULL, fn, done, userdata);
}
