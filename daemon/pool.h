/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The session pool.  Each configured endpoint gets pool-size backend
 * sessions; each session is owned by one worker thread for its whole life,
 * so a session's connection (TLS, keep-alive, cookie) is never shared
 * between threads.  Blocking platform calls therefore never run on the
 * sd-event loop thread: jobs are queued to an endpoint's workers, and their
 * completion is handed back to the loop through an eventfd.
 *
 * Logging a session in and out is itself an audited act: each Login and
 * Logout is a trail row, written durably before the platform is contacted.
 */
#ifndef VMT_POOL_H
#define VMT_POOL_H

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "backend.h"

struct audit;
struct config;
struct endpoint_config;
struct pool;
struct pool_set;
struct pool_session;

enum job_state {
        JOB_DONE,     /* run() finished: done() follows on the loop thread */
        JOB_PARKED,   /* run() is waiting for a VM's lock (pool_vm_lock): it runs again later */
};

struct job {
        /* Runs on a worker thread of the pool it was submitted to. */
        enum job_state (*run)(struct job *j, struct pool_session *s);
        /* Then runs on the event loop thread. */
        void (*done)(struct job *j);
        struct job *next;
};

/* Start one pool per endpoint in c.  Workers start logging in at once. */
int pool_set_new(sd_event *event, const struct config *c, struct audit *audit, struct pool_set **out);
/* Let queued jobs finish, log every session out (recorded), join the threads. */
void pool_set_free(struct pool_set *ps);

struct pool *pool_set_find(struct pool_set *ps, const char *endpoint);
/* The only pool, or NULL when there are none or several. */
struct pool *pool_set_single(struct pool_set *ps);
/* Sessions logged in, over all endpoints, and jobs queued or running. */
void pool_set_counts(struct pool_set *ps, unsigned *sessions, unsigned *logged_in, unsigned *busy);

/* The pools in configuration order: i from 0 to pool_set_size() - 1. */
size_t pool_set_size(const struct pool_set *ps);
struct pool *pool_set_nth(struct pool_set *ps, size_t i);

const struct endpoint_config *pool_endpoint(const struct pool *p);
const struct backend_ops *pool_backend_ops(const struct pool *p);
void pool_submit(struct pool *p, struct job *j);
/* True once the pool is shutting down: jobs submitted now would never run. */
bool pool_stopping(struct pool *p);

/* For job->run(): the session's backend, and the endpoint it belongs to. */
const struct backend_ops *pool_session_ops(struct pool_session *s);
struct backend_session *pool_session_backend(struct pool_session *s);
const struct endpoint_config *pool_session_endpoint(struct pool_session *s);
struct pool *pool_session_pool(struct pool_session *s);
/* Platform round trips this session has made so far (for the reply's debug member and bench/). */
unsigned pool_session_round_trips(struct pool_session *s);
/*
 * The platform principal: the name the platform gave for the session at
 * its last login (the backend's login() *who), or NULL while it is not
 * logged in.  Worker thread only; valid until the session's next login.
 */
const char *pool_session_user(struct pool_session *s);

/*
 * Serialise operations on one VM of an endpoint, so that the "before" and
 * "after" values of one operation are not mixed with another's change.
 * Worker thread only; id is the platform's VM id (vSphere moref).
 *
 * Returns true when j now holds id.  Otherwise j is parked on the holder:
 * its run() must return JOB_PARKED at once (touching j no more), and it is
 * queued to run again, at the head of the pool's queue, when the holder
 * unlocks; it then reads its target again and asks anew.  A parked job
 * holds no worker, so operations on other VMs never wait for it.  With j
 * NULL, nothing is parked: false just says another job holds id (start-up
 * recovery takes its rows' VMs so from the loop thread, before any request).
 * holder is the trail row the lock is taken for, which pool_vm_holder()
 * tells the jobs that would wait ("waiting for trail #N").
 */
bool pool_vm_lock(struct pool *p, const char *id, struct job *j, int64_t holder);
void pool_vm_unlock(struct pool *p, const char *id);
/* The trail row of whoever holds id's lock, 0 when it is free (a glance: it may change at once). */
int64_t pool_vm_holder(struct pool *p, const char *id);

/*
 * Have fn(data) run on the event loop thread soon (for progress events).
 * Worker thread only.  fn owns data.  Returns -ENOMEM if it could not be
 * queued (fn is then not called and data is the caller's).
 */
int pool_session_post(struct pool_session *s, void (*fn)(void *data), void *data);

/*
 * Call fn on the session, logging in first when needed, and once more after
 * a fresh login when fn reports -EKEYEXPIRED (the platform rejected the call
 * as unauthenticated, so it did nothing).  Every login is a trail row.
 */
typedef int (*pool_call_fn)(struct pool_session *s, void *userdata, struct op_error *err);
int pool_session_call(struct pool_session *s, pool_call_fn fn, void *userdata, struct op_error *err);

#endif
