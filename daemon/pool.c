/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Session pool: worker threads that each own one backend session.  See
 * pool.h.  Locking: a pool's queue, "stopping" and "busy" are guarded by
 * pool->lock; the completion list by set->lock.  A session's fields are
 * touched only by its own worker thread, except "logged_in", which the loop
 * thread reads for status reports (an atomic).  The VM lock table ("locked"),
 * with the jobs parked on it, is guarded by pool->lock too.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "audit.h"
#include "config.h"
#include "control.h"
#include "log.h"
#include "macros.h"
#include "pool.h"
#include "record.h"
#include "util.h"

struct pool_session {
        struct pool *pool;
        struct backend_session *backend;
        pthread_t thread;
        bool thread_started;
        atomic_bool logged_in;
        char *user;                /* the platform's name for the session, from the last login that worked */
};

struct pool {
        struct pool_set *set;
        const struct endpoint_config *ep;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        struct job *head, *tail;   /* queued jobs */
        bool stopping;
        unsigned busy;             /* jobs queued or running */
        unsigned n_sessions;
        struct pool_session *sessions;
        struct vm_lock *locked;    /* VM ids held by running operations, and by tasks recovery follows */
        size_t n_locked, n_allocated;
};

/* A VM id held by a running job, and the jobs parked until it is free. */
struct vm_lock {
        char *id;
        int64_t holder;            /* the trail row of whoever holds it (pool_vm_holder()) */
        struct job *waiters;       /* linked through job->next */
};

struct pool_set {
        sd_event_source *source;
        int efd;
        pthread_mutex_t lock;
        struct job *done_head, *done_tail;
        struct audit *audit;
        struct peer self;          /* who acts for Login/Logout rows: the daemon itself */
        size_t n_pools;
        struct pool *pools;
};

const struct backend_ops *pool_session_ops(struct pool_session *s) {
        return s->pool->ep->backend;
}

struct backend_session *pool_session_backend(struct pool_session *s) {
        return s->backend;
}

const struct endpoint_config *pool_session_endpoint(struct pool_session *s) {
        return s->pool->ep;
}

struct pool *pool_session_pool(struct pool_session *s) {
        return s->pool;
}

unsigned pool_session_round_trips(struct pool_session *s) {
        const struct backend_ops *ops = pool_session_ops(s);

        return ops->round_trips ? ops->round_trips(s->backend) : 0;
}

const char *pool_session_user(struct pool_session *s) {
        return atomic_load(&s->logged_in) ? s->user : NULL;
}

/*
 * Keep the name a login that worked returned (NULL: the backend named
 * none).  The same name, as every re-login of the same account gives,
 * keeps the old string: an operation whose call needed a re-login still
 * points at a live one until it takes the name again for its completion.
 */
static void session_keep_user(struct pool_session *s, char **who) {
        if (s->user && *who && strcmp(s->user, *who) == 0)
                return;
        free(s->user);
        s->user = TAKE_PTR(*who);
}

static ssize_t vm_locked_index(const struct pool *p, const char *id) {
        for (size_t i = 0; i < p->n_locked; i++)
                if (strcmp(p->locked[i].id, id) == 0)
                        return (ssize_t) i;
        return -1;
}

/*
 * Room for one more id.  Each running job holds at most one, so the
 * sessions' worth allocated up front suffices, but a task recovery follows
 * keeps its VM's between two looks, while no worker runs it.
 */
static int vm_lock_room(struct pool *p) {
        if (p->n_locked < p->n_allocated)
                return 0;
        struct vm_lock *l = reallocarray(p->locked, p->n_allocated * 2 + 1, sizeof *l);
        if (!l)
                return -ENOMEM;
        p->locked = l;
        p->n_allocated = p->n_allocated * 2 + 1;
        return 0;
}

bool pool_vm_lock(struct pool *p, const char *id, struct job *j, int64_t holder) {
        bool acquired = true;

        pthread_mutex_lock(&p->lock);
        ssize_t i = vm_locked_index(p, id);
        if (i >= 0) {
                acquired = false;
                /* Park: j stays counted in "busy"; it is not on the queue until the holder unlocks. */
                if (j) {
                        j->next = p->locked[i].waiters;
                        p->locked[i].waiters = j;
                }
        } else if (vm_lock_room(p) < 0) {
                log_oom();   /* not serialised then, but not lost either */
        } else {
                char *copy = strdup(id);
                if (copy)
                        p->locked[p->n_locked++] = (struct vm_lock) { .id = copy, .holder = holder };
                else
                        log_oom();
        }
        pthread_mutex_unlock(&p->lock);
        return acquired;
}

int64_t pool_vm_holder(struct pool *p, const char *id) {
        int64_t holder = 0;

        pthread_mutex_lock(&p->lock);
        ssize_t i = vm_locked_index(p, id);
        if (i >= 0)
                holder = p->locked[i].holder;
        pthread_mutex_unlock(&p->lock);
        return holder;
}

void pool_vm_unlock(struct pool *p, const char *id) {
        pthread_mutex_lock(&p->lock);
        ssize_t i = vm_locked_index(p, id);
        if (i >= 0) {
                struct job *w = p->locked[i].waiters;
                free(p->locked[i].id);
                p->locked[i] = p->locked[--p->n_locked];
                /* Waiters go first in the queue: they arrived before anything queued since. */
                while (w) {
                        struct job *next = w->next;
                        w->next = p->head;
                        p->head = w;
                        if (!p->tail)
                                p->tail = w;
                        w = next;
                }
                pthread_cond_broadcast(&p->cond);
        }
        pthread_mutex_unlock(&p->lock);
}

const struct endpoint_config *pool_endpoint(const struct pool *p) {
        return p->ep;
}

/* Start-up recovery asks the pool's backend whether it can look tasks up. */
const struct backend_ops *pool_backend_ops(const struct pool *p) {
        return p->ep->backend;
}

/* The platform's half of session_act(): a login that works leaves the session its name. */
static int session_platform_act(struct pool_session *s, bool login, struct op_error *err) {
        _cleanup_free_ char *who = NULL;
        int r;

        if (!login)
                r = pool_session_ops(s)->logout(s->backend, err);
        else if ((r = pool_session_ops(s)->login(s->backend, &who, err)) >= 0)
                session_keep_user(s, &who);
        atomic_store(&s->logged_in, login && r >= 0);
        return r;
}

/* The platform's name for whom the session is (a libvirt endpoint has no user of its own): only when known. */
static void log_session_act(const struct audit_record *rec, const struct endpoint_config *ep) {
        const char *as = rec->platform_user ? rec->platform_user : ep->user;

        log_info("%s on endpoint \"%s\"%s%s (trail #%" PRId64 ").", rec->operation, ep->name, as ? " as " : "",
                 strempty(as), rec->id);
}

/* Login and Logout, each a two-phase trail row like any other act on the platform. */
static int session_act(struct pool_session *s, bool login, const char *why, struct op_error *err) {
        struct pool_set *set = s->pool->set;
        const struct endpoint_config *ep = s->pool->ep;
        struct audit_record rec = record_by_peer(&set->self, login ? "Login" : "Logout");

        record_set_endpoint(&rec, ep);
        /* Logout: the name being logged out; Login: the one the login returns, known after it. */
        record_set_platform_user(&rec, login ? NULL : pool_session_user(s));
        rec.before = login ? NULL : ep->user;
        rec.message = why;
        int r = audit_begin(set->audit, &rec);
        if (r < 0) {
                op_error_set(err, OP_FAULT_TRAIL, "the trail cannot be written (%s); not contacting endpoint \"%s\"",
                             strerror(-r), ep->name);
                return r;
        }

        r = session_platform_act(s, login, err);
        if (login) {
                /* NULL after a failed login: nobody was logged in. */
                record_set_platform_user(&rec, pool_session_user(s));
                rec.after = rec.platform_user;
        }
        record_set_result(&rec, r >= 0 ? AUDIT_RESULT_OK : AUDIT_RESULT_NG, r >= 0 ? NULL : err->fault,
                          r >= 0 ? why : err->message);
        if (audit_finish(set->audit, &rec) < 0)
                log_error("Failed to complete trail row %" PRId64 " (%s on %s).", rec.id, rec.operation, ep->name);

        if (r < 0)
                log_error("%s on endpoint \"%s\" failed: %s: %s", rec.operation, ep->name, err->fault, err->message);
        else
                log_session_act(&rec, ep);
        return r;
}

/*
 * The platform ended the session by itself: a Logout row says so, with
 * why, so that a Login row is never the first sign of it.  Nothing is sent
 * (there is no session left to end); the backend's next login() lets go of
 * what the old session held.
 */
static void session_lost(struct pool_session *s, const struct op_error *why) {
        struct pool_set *set = s->pool->set;
        const struct endpoint_config *ep = s->pool->ep;
        struct audit_record rec = record_by_peer(&set->self, "Logout");
        char msg[sizeof why->message + 64];

        snprintf(msg, sizeof msg, "the platform ended the session: %s", why->message);
        record_set_endpoint(&rec, ep);
        record_set_platform_user(&rec, pool_session_user(s));
        rec.before = ep->user;
        record_set_result(&rec, AUDIT_RESULT_OK, NULL, msg);
        if (audit_insert(set->audit, &rec) < 0)
                log_error("Failed to write the Logout row of a lost session on %s.", ep->name);
        log_warning("Session on endpoint \"%s\" lost: %s", ep->name, why->message);
}

int pool_session_call(struct pool_session *s, pool_call_fn fn, void *userdata, struct op_error *err) {
        int r;

        if (!atomic_load(&s->logged_in)) {
                r = session_act(s, true, "no session yet", err);
                if (r < 0)
                        return r;
        }
        r = fn(s, userdata, err);
        if (r != -EKEYEXPIRED)
                return r;

        /* The platform dropped the session (idle timeout, termination, a lost connection): log in again, repeat once. */
        atomic_store(&s->logged_in, false);
        session_lost(s, err);
        char why[sizeof err->fault + 32];
        snprintf(why, sizeof why, "re-login after %s", *err->fault ? err->fault : "the session was lost");
        r = session_act(s, true, why, err);
        if (r < 0)
                return r;
        return fn(s, userdata, err);
}

static void set_complete(struct pool_set *set, struct job *j) {
        uint64_t one = 1;

        j->next = NULL;
        pthread_mutex_lock(&set->lock);
        if (set->done_tail)
                set->done_tail->next = j;
        else
                set->done_head = j;
        set->done_tail = j;
        pthread_mutex_unlock(&set->lock);
        if (write(set->efd, &one, sizeof one) < 0)
                log_error_errno(-errno, "Failed to wake the event loop: %m");
}

/* A message from a worker to the loop rides the completion queue as a job that only has done(). */
struct posted {
        struct job job;
        void (*fn)(void *data);
        void *data;
};

static void posted_done(struct job *j) {
        struct posted *m = (struct posted *) j;

        m->fn(m->data);
        free(m);
}

int pool_session_post(struct pool_session *s, void (*fn)(void *data), void *data) {
        struct posted *m = malloc(sizeof *m);

        if (!m)
                return -ENOMEM;
        *m = (struct posted) { .job = { .done = posted_done }, .fn = fn, .data = data };
        set_complete(s->pool->set, &m->job);
        return 0;
}

static struct job *pool_take(struct pool *p) {
        struct job *j;

        pthread_mutex_lock(&p->lock);
        while (!p->head && !p->stopping)
                pthread_cond_wait(&p->cond, &p->lock);
        j = p->head;
        if (j) {
                p->head = j->next;
                if (!p->head)
                        p->tail = NULL;
        }
        pthread_mutex_unlock(&p->lock);
        return j;
}

static void *worker_main(void *userdata) {
        struct pool_session *s = userdata;
        struct pool *p = s->pool;
        struct op_error err = {};
        struct job *j;

        /* A failed start-up login is recorded, and retried by the next job. */
        (void) session_act(s, true, "start-up", &err);

        while ((j = pool_take(p))) {
                /* A parked job belongs to the VM lock now; pool_vm_unlock() queues it again. */
                if (j->run(j, s) == JOB_PARKED)
                        continue;
                pthread_mutex_lock(&p->lock);
                p->busy--;
                pthread_mutex_unlock(&p->lock);
                set_complete(p->set, j);
        }

        if (atomic_load(&s->logged_in))
                (void) session_act(s, false, "shutdown", &err);
        return NULL;
}

bool pool_stopping(struct pool *p) {
        pthread_mutex_lock(&p->lock);
        bool stopping = p->stopping;
        pthread_mutex_unlock(&p->lock);
        return stopping;
}

void pool_submit(struct pool *p, struct job *j) {
        j->next = NULL;
        pthread_mutex_lock(&p->lock);
        if (p->tail)
                p->tail->next = j;
        else
                p->head = j;
        p->tail = j;
        p->busy++;
        pthread_cond_signal(&p->cond);
        pthread_mutex_unlock(&p->lock);
}

/* Run done() of every finished job; on the loop thread, or after the workers are joined. */
static void set_drain(struct pool_set *set) {
        struct job *j;

        pthread_mutex_lock(&set->lock);
        j = set->done_head;
        set->done_head = set->done_tail = NULL;
        pthread_mutex_unlock(&set->lock);

        while (j) {
                struct job *next = j->next;
                j->done(j);
                j = next;
        }
}

static int on_completion(sd_event_source *src _unused_, int fd, uint32_t revents _unused_, void *userdata) {
        uint64_t n;

        if (read(fd, &n, sizeof n) < 0 && errno != EAGAIN)
                log_error_errno(-errno, "Failed to read completion eventfd: %m");
        set_drain(userdata);
        return 0;
}

static int pool_init(struct pool *p, struct pool_set *set, const struct endpoint_config *ep) {
        p->set = set;
        p->ep = ep;
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->cond, NULL);
        p->sessions = calloc(ep->pool_size, sizeof *p->sessions);
        p->locked = calloc(ep->pool_size, sizeof *p->locked);
        if (!p->sessions || !p->locked)
                return log_oom();
        p->n_allocated = ep->pool_size;

        for (unsigned i = 0; i < ep->pool_size; i++) {
                struct pool_session *s = &p->sessions[i];
                struct op_error err = {};

                s->pool = p;
                int r = ep->backend->session_new(ep, &s->backend, &err);
                if (r < 0)
                        return log_error_errno(r, "Endpoint \"%s\": %s", ep->name, err.message);
                p->n_sessions++;
        }
        return 0;
}

static int pool_start(struct pool *p) {
        for (unsigned i = 0; i < p->n_sessions; i++) {
                int r = -pthread_create(&p->sessions[i].thread, NULL, worker_main, &p->sessions[i]);
                if (r < 0)
                        return log_error_errno(r, "Failed to start a worker for endpoint \"%s\": %m", p->ep->name);
                p->sessions[i].thread_started = true;
        }
        return 0;
}

static void pool_stop(struct pool *p) {
        pthread_mutex_lock(&p->lock);
        p->stopping = true;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);

        for (unsigned i = 0; i < p->n_sessions; i++)
                if (p->sessions[i].thread_started)
                        pthread_join(p->sessions[i].thread, NULL);
        for (unsigned i = 0; i < p->n_sessions; i++) {
                p->ep->backend->session_free(p->sessions[i].backend);
                free(p->sessions[i].user);
        }
        free(p->sessions);
        /* Ids still held belong to tasks start-up recovery was following. */
        for (size_t i = 0; i < p->n_locked; i++)
                free(p->locked[i].id);
        free(p->locked);
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
}

int pool_set_new(sd_event *event, const struct config *c, struct audit *audit, struct pool_set **out) {
        struct pool_set *set = calloc(1, sizeof *set);
        int r;

        if (!set)
                return log_oom();
        set->efd = -1;
        set->audit = audit;
        record_daemon_peer(&set->self);
        pthread_mutex_init(&set->lock, NULL);

        set->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (set->efd < 0) {
                r = log_error_errno(-errno, "Failed to create eventfd: %m");
                goto fail;
        }
        r = sd_event_add_io(event, &set->source, set->efd, EPOLLIN, on_completion, set);
        if (r < 0) {
                log_error_errno(r, "Failed to watch eventfd: %m");
                goto fail;
        }

        set->pools = calloc(c->n_endpoints ? c->n_endpoints : 1, sizeof *set->pools);
        if (!set->pools) {
                r = log_oom();
                goto fail;
        }
        for (const struct endpoint_config *ep = c->endpoints; ep; ep = ep->next) {
                r = pool_init(&set->pools[set->n_pools++], set, ep);
                if (r < 0)
                        goto fail;
        }
        /* Threads only once everything they may touch exists. */
        for (size_t i = 0; i < set->n_pools; i++) {
                r = pool_start(&set->pools[i]);
                if (r < 0)
                        goto fail;
        }
        *out = set;
        return 0;

fail:
        pool_set_free(set);
        return r;
}

void pool_set_free(struct pool_set *set) {
        if (!set)
                return;
        for (size_t i = 0; i < set->n_pools; i++)
                pool_stop(&set->pools[i]);
        /* Workers are gone: finish the jobs they completed since the loop last ran. */
        set_drain(set);
        free(set->pools);
        sd_event_source_disable_unref(set->source);
        if (set->efd >= 0)
                close(set->efd);
        pthread_mutex_destroy(&set->lock);
        free(set);
}

struct pool *pool_set_find(struct pool_set *set, const char *endpoint) {
        for (size_t i = 0; i < set->n_pools; i++)
                if (strcmp(set->pools[i].ep->name, endpoint) == 0)
                        return &set->pools[i];
        return NULL;
}

size_t pool_set_size(const struct pool_set *set) {
        return set->n_pools;
}

struct pool *pool_set_nth(struct pool_set *set, size_t i) {
        return i < set->n_pools ? &set->pools[i] : NULL;
}

struct pool *pool_set_single(struct pool_set *set) {
        return set->n_pools == 1 ? &set->pools[0] : NULL;
}

void pool_set_counts(struct pool_set *set, unsigned *sessions, unsigned *logged_in, unsigned *busy) {
        *sessions = *logged_in = *busy = 0;
        for (size_t i = 0; i < set->n_pools; i++) {
                struct pool *p = &set->pools[i];
                *sessions += p->n_sessions;
                for (unsigned k = 0; k < p->n_sessions; k++)
                        *logged_in += atomic_load(&p->sessions[k].logged_in);
                pthread_mutex_lock(&p->lock);
                *busy += p->busy;
                pthread_mutex_unlock(&p->lock);
        }
}
