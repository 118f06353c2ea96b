/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One operation's way from request to completed trail row; see operation.h.
 * Arguments and platform limits are op_args.c's, which endpoint a name
 * means is resolve.c's, and every row is built by record.c: this file is
 * the trail lifecycle.
 *
 * Threads: operation_submit(), the endpoint look-up's completion, progress
 * delivery, operation_cancel() and operation_done() run on the event loop
 * thread; operation_run() and the backend's hooks on a pool worker.  The
 * two sides share only "trail_id" and "cancel" (atomics); progress crosses
 * over through pool_session_post(), which keeps the order of the worker's
 * messages and delivers them before the job's done().
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "config.h"
#include "control.h"
#include "fanout.h"
#include "log.h"
#include "macros.h"
#include "manager.h"
#include "op_args.h"
#include "operation.h"
#include "policy.h"
#include "pool.h"
#include "record.h"
#include "resolve.h"
#include "util.h"
#include "value.h"
#include "watch.h"

#define OP_FAULT_UNSUPPORTED "NotSupported"

struct operation {
        struct job job;            /* first: the pool hands us back this pointer */
        struct manager *manager;
        struct control_request *req;
        struct pool *pool;
        enum op_kind kind;
        struct op_args args;       /* strings borrowed from the request */
        struct peer peer;          /* copied: the client may go away before we finish */
        bool admitted;             /* the policy has already decided (the look-up asked only allowed endpoints) */
        char opid[32];
        struct operation *next;    /* in flight, for "cancel" (loop thread) */
        atomic_int_fast64_t trail_id;
        atomic_bool cancel;        /* the operator asked to cancel */
        /* Filled on the worker thread; kept while the job is parked on a VM's lock. */
        struct audit_record rec;
        bool started;              /* rec is set up and the target was read at least once */
        char *locked;              /* the VM id whose lock we hold */
        struct pool_session *session;
        int64_t deadline_ms;
        bool timed_out;
        unsigned round_trips, event_round_trips;
        struct vm_target target;
        char *before;              /* the values as the trail writes them (value.h) */
        char *after;
        char *task;
        enum proto_error error;
        char message[1280];
        struct json_object *record;
        bool queued_row;           /* worker: its row was written while it waited for the VM (fault Queued) */
        bool replied;              /* loop thread: answered before done() (reply_early()) */
        /* Loop thread: what jobs shows, and what a "wait" that joins late is told first. */
        int64_t submitted_ms;
        char state[32];
        int percent;               /* -1: the platform gave none */
        int64_t waiting_for;       /* the trail row holding the VM while queued; 0: not waiting */
        struct waiter *waiters;    /* "wait" requests attached to it */
        /* Written once on the loop thread before cancel is set, read by the worker after it sees cancel. */
        char cancelled_by[96];
};

/* A "wait" request re-attached to an operation in flight: progress, then the same reply. */
struct waiter {
        struct control_request *req;
        struct waiter *next;
};

/* Operations in flight (loop thread only), so "cancel", "wait" and "jobs" can find them by trail id. */
static struct operation *inflight;

static int call_read_target(struct pool_session *s, void *userdata, struct op_error *err) {
        struct operation *op = userdata;
        struct op_value before = {};

        vm_target_clear(&op->target);
        int r = pool_session_ops(s)->read_target(pool_session_backend(s), op->kind, &op->args, op->opid,
                                                 &op->target, &before, err);
        int k = value_take(op->kind, &before, &op->before, err);
        return r < 0 ? r : k;
}

/* ---- Progress: worker -> loop -> vmctl ---------------------------------- */

struct progress {
        struct operation *op;
        struct json_object *event;
};

/* Loop thread: keep what the event says for jobs and waiters. */
static void progress_note(struct operation *op, struct json_object *ev) {
        struct json_object *v;

        snprintf(op->state, sizeof op->state, "%s", strempty(json_object_get_string(
                json_object_object_get_ex(ev, "state", &v) ? v : NULL)));
        op->percent = json_object_object_get_ex(ev, "percent", &v) ? json_object_get_int(v) : -1;
        op->waiting_for = json_object_object_get_ex(ev, "waiting_for", &v) ? json_object_get_int64(v) : 0;
}

static void progress_deliver(void *data) {
        struct progress *p = data;

        /* The operation is alive: its done() is queued behind this message. */
        progress_note(p->op, p->event);
        if (p->op->req)
                control_progress(p->op->req, p->event);
        for (struct waiter *w = p->op->waiters; w; w = w->next)
                control_progress(w->req, p->event);
        json_object_put(p->event);
        free(p);
}

/*
 * Send {"trail_id":N, "start_ms":T, "state":state, ...} to vmctl; percent < 0,
 * task NULL and waiting_for 0 are left out.  start_ms lets vmctl show the
 * time elapsed, also to a "wait" that joins later.
 */
static void progress_post_full(struct operation *op, const char *state, int percent, const char *task,
                               int64_t waiting_for) {
        struct progress *p = malloc(sizeof *p);
        struct json_object *ev = json_object_new_object();

        if (!p || !ev)
                goto fail;
        json_object_object_add(ev, "trail_id", json_object_new_int64(atomic_load(&op->trail_id)));
        json_object_object_add(ev, "start_ms", json_object_new_int64(op->rec.start_ms));
        json_object_object_add(ev, "state", json_object_new_string(strempty(state)));
        if (percent >= 0)
                json_object_object_add(ev, "percent", json_object_new_int(percent));
        if (task)
                json_object_object_add(ev, "task", json_object_new_string(task));
        if (waiting_for > 0)
                json_object_object_add(ev, "waiting_for", json_object_new_int64(waiting_for));
        *p = (struct progress) { .op = op, .event = ev };
        if (pool_session_post(op->session, progress_deliver, p) >= 0)
                return;
fail:
        /* Progress is a courtesy: losing one message must not touch the operation. */
        json_object_put(ev);
        free(p);
}

static void progress_post(struct operation *op, const char *state, int percent, const char *task) {
        progress_post_full(op, state, percent, task, 0);
}

static void hook_task_created(void *userdata, const char *task_id) {
        struct operation *op = userdata;

        free(op->task);
        op->task = strdup(task_id);
        /* On the pending row at once, so crash recovery can find the task. */
        (void) audit_set_task(op->manager->audit, atomic_load(&op->trail_id), task_id);
        progress_post(op, "task-created", -1, task_id);
}

static void hook_progress(void *userdata, int percent, const char *state) {
        progress_post(userdata, state, percent < 0 ? -1 : percent > 100 ? 100 : percent, NULL);
}

static bool hook_cancel_requested(void *userdata) {
        struct operation *op = userdata;

        if (atomic_load(&op->cancel))
                return true;
        if (!op->timed_out && now_ms() >= op->deadline_ms) {
                log_warning("Trail #%" PRId64 ": task-timeout reached, cancelling the task.", atomic_load(&op->trail_id));
                op->timed_out = true;
        }
        return op->timed_out;
}

static int call_perform(struct pool_session *s, void *userdata, struct op_error *err) {
        struct operation *op = userdata;
        const struct op_hooks hooks = {
                .userdata = op,
                .task_created = hook_task_created,
                .progress = hook_progress,
                .cancel_requested = hook_cancel_requested,
        };
        struct op_value after = {};
        _cleanup_free_ char *task = NULL;

        int r = pool_session_ops(s)->perform(pool_session_backend(s), op->kind, &op->args, op->opid, &hooks,
                                             &op->target, &after, &task, err);
        /* Accepted is not done: the row's result is what the platform shows afterwards. */
        if (r >= 0 && !op_value_shows(op->kind, &op->args, &after)) {
                op_error_set(err, OP_FAULT_NOT_APPLIED,
                             "the platform accepted the change, but reading the VM back does not show it");
                r = -EREMOTEIO;
        }
        int k = value_take(op->kind, &after, &op->after, err);
        /* The backend's own word wins; task_created() may have said it earlier. */
        if (task) {
                free(op->task);
                op->task = TAKE_PTR(task);
        }
        return r < 0 ? r : k;
}

/* ---- The trail ---------------------------------------------------------- */

enum proto_error operation_reply_code(int r) {
        switch (r) {
        case -ENOENT:
                return PROTO_E_NOT_FOUND;
        case -ENOTUNIQ:
                return PROTO_E_AMBIGUOUS;
        case -EREMOTEIO:
        case -ECANCELED:
        case -EINVAL:
        case -EOPNOTSUPP:
                return PROTO_E_PLATFORM;
        default:
                return PROTO_E_UNAVAILABLE;
        }
}

/* How a failed change is answered to vmctl. */
static enum proto_error error_for(int r, const char *fault) {
        if (strcmp(fault, OP_FAULT_TRAIL) == 0)
                return PROTO_E_TRAIL;
        /* A change that outlived task-timeout: the platform did not finish it, not an unreachable endpoint. */
        if (r == -ETIMEDOUT)
                return PROTO_E_PLATFORM;
        return operation_reply_code(r);
}

/* Errors by which the platform (or we) said for sure that nothing was changed. */
static bool outcome_known(int r) {
        return r == -EREMOTEIO || r == -ECANCELED || r == -ENOENT || r == -ENOTUNIQ || r == -EINVAL ||
               r == -EOPNOTSUPP;
}

/*
 * The result column.  A transport failure after the change was sent leaves
 * us not knowing whether it happened: that is UNKNOWN, never NG.
 */
static const char *result_for(int r, bool sent) {
        if (r >= 0)
                return AUDIT_RESULT_OK;
        if (sent && !outcome_known(r))
                return AUDIT_RESULT_UNKNOWN;
        return AUDIT_RESULT_NG;
}

static void record_values(struct operation *op) {
        record_set_target(&op->rec, &op->target, op->args.vm);
        /* Taken anew each time: a re-login during the change may have named the session again. */
        record_set_platform_user(&op->rec, pool_session_user(op->session));
        op->rec.before = op->before;
        op->rec.after = op->after;
        op->rec.task = op->task;
}

/*
 * Complete the row, once: audit_finish() itself keeps an outcome the
 * database refuses and retries it (returning 1), so only a completion that
 * can never be written (the row is gone or already complete) is lost, and
 * that goes to the journal in full.
 */
static int finish_row(struct audit *a, const struct audit_record *rec) {
        int r = audit_finish(a, rec);

        if (r < 0)
                log_error("Trail row %" PRId64 " could not be completed: %s %s on %s by %s: result=%s after=%s fault=%s",
                          rec->id, rec->operation, strempty(rec->vm_name), strempty(rec->endpoint), strempty(rec->user),
                          rec->result, strempty(rec->after), strempty(rec->fault));
        return r;
}

/* The platform's own history names the human behind the service account. */
static void post_event(struct operation *op, struct pool_session *s, const struct audit_record *rec) {
        const struct backend_ops *ops = pool_session_ops(s);
        struct op_error err = {};
        char text[512];

        snprintf(text, sizeof text, "vmtraced: %s by %s (uid %u), trail #%" PRId64 ", result %s", rec->operation,
                 strempty(rec->user), (unsigned) rec->uid, rec->id, rec->result);
        unsigned rt = pool_session_round_trips(s);
        int r = ops->post_event(pool_session_backend(s), &op->target, text, op->opid, &err);
        op->event_round_trips = pool_session_round_trips(s) - rt;
        /* The event is a courtesy copy of the trail: its failure never changes the result. */
        if (r >= 0)
                return;
        atomic_fetch_add(&op->manager->post_event_failures, 1);
        log_warning("Trail #%" PRId64 ": posting the event to endpoint \"%s\" failed: %s: %s", rec->id,
                    rec->endpoint, err.fault, err.message);
}

/*
 * The row is durable and the reply built from it: the operator has the
 * answer at once, and the platform's copy of the event follows on the same
 * session, never delaying it (issue 11).  Without room to hand the reply
 * over, it goes after the event, from done(), as before.
 */
static void reply_early(void *data);

static void reply_then_post_event(struct operation *op, struct pool_session *s, bool sent) {
        if (!sent || !pool_session_endpoint(s)->post_events || !pool_session_ops(s)->post_event || !op->target.id)
                return;
        (void) pool_session_post(s, reply_early, op);
        post_event(op, s, &op->rec);
}

/*
 * The task outlived task-timeout and was asked to cancel.  If the platform
 * says it was cancelled, that is the outcome (NG); anything else leaves us
 * not knowing what happened (UNKNOWN).  Either way the message says why.
 */
static int timed_out(struct operation *op, int r, struct op_error *err) {
        bool cancelled = r == -ECANCELED;
        char why[sizeof err->message + 96];

        snprintf(why, sizeof why, "task-timeout (%u s) reached; %s: %s", op->manager->config->task_timeout,
                 cancelled ? "the task was cancelled" : "no outcome", err->message);
        memcpy(err->message, why, sizeof err->message - 1);
        err->message[sizeof err->message - 1] = '\0';
        return cancelled ? r : -ETIMEDOUT;
}

/* First run: the row's who/what/where, its id, and the operationID every request carries. */
static void operation_start(struct operation *op, struct pool_session *s) {
        struct audit *a = op->manager->audit;

        op->rec = record_by_peer(&op->peer, op_kind_trail_name(op->kind));
        /* A look-up on every endpoint may have reserved the id already, and used it as operationID. */
        op->rec.id = atomic_load(&op->trail_id) > 0 ? atomic_load(&op->trail_id) : audit_reserve_id(a);
        record_set_endpoint(&op->rec, pool_session_endpoint(s));
        atomic_store(&op->trail_id, op->rec.id);
        op->deadline_ms = op->rec.start_ms + 1000LL * op->manager->config->task_timeout;
        snprintf(op->opid, sizeof op->opid, "vmtraced-%" PRId64, op->rec.id);
        op->started = true;
}

/* Read the target and its "before" value; counts the round trips. */
static int read_target(struct operation *op, struct pool_session *s, struct op_error *err) {
        unsigned rt = pool_session_round_trips(s);
        int r = pool_session_call(s, call_read_target, op, err);

        op->round_trips += pool_session_round_trips(s) - rt;
        if (r >= 0 && !op->target.id) {
                op_error_set(err, "InternalError", "the backend named no VM id");
                r = -EPROTO;
        }
        if (r < 0) {
                free(TAKE_PTR(op->before));
                /*
                 * A lookup that failed on the way may have filled some fields; none of them is known
                 * to be right.  A firm no is another thing: a backend that found the VM, then refused
                 * the request (a disk shrink, an unknown snapshot or host), named it first, and the
                 * NG row is easier to find with it.
                 */
                if (!outcome_known(r) || !op->target.id)
                        vm_target_clear(&op->target);
        }
        return r;
}

/*
 * Another operation holds the VM: the request gets its row now, PENDING
 * with fault Queued (nothing is sent yet), so that it is on the record even
 * if vmtraced stops while it waits; its start takes the row over
 * (audit.c).  The operator is told whom it waits for.
 */
static int note_queued(struct operation *op, int64_t holder, struct op_error *err) {
        char why[96];

        progress_post_full(op, "queued", -1, NULL, holder);
        if (op->queued_row)
                return 0;
        snprintf(why, sizeof why, "waiting for trail #%" PRId64 " on this VM", holder);
        record_values(op);
        op->rec.fault = AUDIT_FAULT_QUEUED;
        op->rec.message = why;
        int r = audit_begin(op->manager->audit, &op->rec);
        op->rec.fault = op->rec.message = NULL;
        if (r < 0) {
                op_error_set(err, OP_FAULT_TRAIL, "the trail cannot be written (%s); nothing was changed",
                             strerror(-r));
                return r;
        }
        op->queued_row = true;
        return 0;
}

/* A request cancelled while it waited for its VM is settled without being sent. */
static int check_cancelled(struct operation *op, struct op_error *err) {
        if (!atomic_load(&op->cancel))
                return 0;
        op_error_set(err, "Cancelled", "cancelled before it was sent to the platform");
        return -ECANCELED;
}

/*
 * Take the target VM's lock.  Returns 1 when the job is parked on it
 * (another operation holds it): op then belongs to the lock and must not
 * be touched again by this worker.  With the lock, -ECANCELED when the
 * operator cancelled the request while it waited.
 */
static int lock_vm(struct operation *op, struct op_error *err) {
        int64_t holder = pool_vm_holder(op->pool, op->target.id);

        if (holder > 0 && holder != op->rec.id) {
                int r = note_queued(op, holder, err);
                if (r < 0)
                        return r;
        }
        if (!pool_vm_lock(op->pool, op->target.id, &op->job, op->rec.id))
                return 1;
        op->locked = strdup(op->target.id);
        if (!op->locked) {
                pool_vm_unlock(op->pool, op->target.id);
                op_error_set(err, "InternalError", "out of memory");
                return -ENOMEM;
        }
        return check_cancelled(op, err);
}

/* The durable PENDING row, and only then the change.  *sent tells whether the platform was asked. */
static int begin_and_perform(struct operation *op, struct pool_session *s, bool *sent, struct op_error *err) {
        record_values(op);
        int r = audit_begin(op->manager->audit, &op->rec);
        if (r < 0) {
                op_error_set(err, OP_FAULT_TRAIL, "the trail cannot be written (%s); nothing was changed",
                             strerror(-r));
                return r;
        }
        *sent = true;
        /* From now on a change the watcher sees on this VM may be this one's. */
        watch_note_begin(op->manager->watch, op->rec.endpoint, op->target.id, op->rec.operation, op->rec.start_ms);
        progress_post(op, "started", -1, NULL);
        r = pool_session_call(s, call_perform, op, err);
        if (r < 0 && op->timed_out)
                r = timed_out(op, r, err);
        return r;
}

/*
 * The row's message: the failure's, and, when an operator asked to cancel,
 * who did (also when the change was made all the same).
 */
static const char *row_message(struct operation *op, int r, const struct op_error *err, char *buf, size_t len) {
        if (!atomic_load(&op->cancel))
                return r < 0 ? err->message : NULL;
        if (r < 0)
                snprintf(buf, len, "%s; cancel asked by %s", err->message, op->cancelled_by);
        else
                snprintf(buf, len, "cancel asked by %s, too late: the change was made", op->cancelled_by);
        return buf;
}

/*
 * Complete the row (or, when nothing was sent, write it whole); the
 * platform event follows the reply (reply_then_post_event()).  Returns as audit_finish(): 0 when the row is on
 * disk, 1 when audit.c keeps it in memory for its retries, negative when
 * it can never be written.
 */
static int settle_row(struct operation *op, int r, bool sent, const struct op_error *err) {
        struct audit *a = op->manager->audit;
        int k;

        char note[sizeof err->message + sizeof op->cancelled_by + 64];

        record_values(op);
        record_set_result(&op->rec, result_for(r, sent), r < 0 ? err->fault : NULL, row_message(op, r, err, note,
                                                                                                  sizeof note));
        if (sent) {
                k = finish_row(a, &op->rec);
                watch_note_end(op->manager->watch, op->rec.endpoint, op->target.id, op->rec.operation, op->rec.after,
                               op->rec.end_ms ? op->rec.end_ms : now_ms());
        } else if ((k = audit_insert(a, &op->rec)) < 0)
                log_error("Trail row for failed %s on %s could not be written.", op->rec.operation,
                          strempty(op->rec.vm_name));
        /* rec points into err: it must not outlive the job's run. */
        op->rec.fault = op->rec.message = NULL;
        return k;
}

/*
 * The outcome is known, but its row is not on disk (the disk is full, say):
 * the reply's row still reads PENDING.  A change that was made must not
 * look like a settled success, since its record may yet be lost; a failed
 * one keeps its own error, and says so too.
 */
static void note_not_durable(struct operation *op, int r, int kept) {
        char note[320];

        snprintf(note, sizeof note, "its trail row #%" PRId64 " %s", op->rec.id,
                 kept > 0 ? "is not yet durable: the trail cannot be written now, so vmtraced keeps the outcome in "
                            "memory, retries, and starts no other operation until it is written"
                          : "could not be completed; the daemon's log holds its outcome");
        if (r >= 0) {
                op->error = PROTO_E_NOT_DURABLE;
                snprintf(op->message, sizeof op->message, "the change was made, but %s", note);
        } else
                strbuf_append(op->message, sizeof op->message, "; ", "%s", note);
}

/*
 * Read the target, then take its VM's lock.  When another operation holds
 * it the job parks (no worker waits); it runs again once the lock is free,
 * and then reads the target again: the name may mean another VM by now, and
 * the "before" value may have changed.
 */
static enum job_state operation_run(struct job *j, struct pool_session *s) {
        struct operation *op = (struct operation *) j;
        struct op_error err = {};
        bool sent = false;
        int kept = 0;

        if (!op->started)
                operation_start(op, s);
        else
                log_debug("Trail #%" PRId64 ": VM lock free, reading the target again.", op->rec.id);
        op->session = s;

        int r = read_target(op, s, &err);
        if (r >= 0) {
                r = lock_vm(op, &err);
                if (r > 0)
                        return JOB_PARKED;   /* op belongs to the lock now: not one more write */
        }
        /* The trail refused the Login row: nothing to record this on either. */
        if (r >= 0 || strcmp(err.fault, OP_FAULT_TRAIL) != 0) {
                unsigned rt = pool_session_round_trips(s);
                if (r >= 0)
                        r = begin_and_perform(op, s, &sent, &err);
                op->round_trips += pool_session_round_trips(s) - rt;
                if (sent || strcmp(err.fault, OP_FAULT_TRAIL) != 0)
                        kept = settle_row(op, r, sent, &err);
        }
        /* Held until the row is complete, so the next operation on this VM reads a settled "before". */
        if (op->locked)
                pool_vm_unlock(op->pool, op->locked);
        if (r < 0) {
                op->error = error_for(r, err.fault);
                snprintf(op->message, sizeof op->message, "%s%s%s", err.fault, *err.fault ? ": " : "", err.message);
        }
        if (kept != 0)
                note_not_durable(op, r, kept);
        if (op->rec.id > 0 && audit_get_json(op->manager->audit, op->rec.id, &op->record) < 0)
                op->record = NULL;
        reply_then_post_event(op, s, sent);
        return JOB_DONE;
}

static void operation_free(struct operation *op) {
        free(op->locked);
        vm_target_clear(&op->target);
        free(op->before);
        free(op->after);
        free(op->task);
        json_object_put(op->record);
        free(op);
}

static void inflight_remove(struct operation *op) {
        for (struct operation **p = &inflight; *p; p = &(*p)->next)
                if (*p == op) {
                        *p = op->next;
                        return;
                }
}

/*
 * Round trips are not part of the row: they ride in the reply, for bench/
 * (see vmtraced(8)); a reply sent before the event was posted has none of
 * the event's.
 */
static void add_debug(struct operation *op, bool with_event) {
        struct json_object *d = json_object_new_object();

        if (!op->record || !d) {
                json_object_put(d);
                return;
        }
        json_object_object_add(d, "round_trips", json_object_new_int((int) op->round_trips));
        if (with_event)
                json_object_object_add(d, "post_event_round_trips", json_object_new_int((int) op->event_round_trips));
        json_object_object_add(op->record, "debug", d);
}

/* The answer, to the request and to those that re-attached (the request itself may be gone: detached). */
static void reply_all(struct operation *op, bool with_event) {
        add_debug(op, with_event);
        while (op->waiters) {
                struct waiter *w = op->waiters;
                op->waiters = w->next;
                control_reply(w->req, op->error, op->error ? op->message : NULL, op->record);
                free(w);
        }
        if (op->req)
                control_reply(TAKE_PTR(op->req), op->error, op->error ? op->message : NULL, op->record);
        op->replied = true;
}

/* Loop thread: the reply, while the worker posts the event (it touches neither the request nor the record). */
static void reply_early(void *data) {
        reply_all(data, false);
}

static void operation_done(struct job *j) {
        struct operation *op = (struct operation *) j;

        inflight_remove(op);
        op->manager->inflight--;
        if (!op->replied)
                reply_all(op, true);
        operation_free(op);
}

/*
 * Answer at once, with e, and a row that settles the request (NG): nothing
 * reached a platform.  The row names the VM as a look-up found it, or else
 * as asked.
 */
static void operation_fail(struct operation *op, enum proto_error e, const char *fault, const char *endpoints,
                           const char *why) {
        struct audit *a = op->manager->audit;
        struct audit_record rec =
                record_settled_by_peer(&op->peer, op_kind_trail_name(op->kind), AUDIT_RESULT_NG, fault, why);

        rec.id = atomic_load(&op->trail_id);
        rec.endpoint = endpoints;
        record_set_target(&rec, &op->target, op->args.vm);
        op->error = e;
        snprintf(op->message, sizeof op->message, "%s: %s", fault, why);
        if (audit_insert(a, &rec) < 0 || audit_get_json(a, rec.id, &op->record) < 0)
                op->record = NULL;
        control_reply(TAKE_PTR(op->req), op->error, op->message, op->record);
        operation_free(op);
}

/*
 * Arguments the endpoint's platform would not take (op_args_check()): an NG
 * row, so that the attempt is on the record like any other.  Out of the
 * platform's range is the operator's mistake (bad-request, as vmctl's own
 * checks say); a kind it cannot do at all is the platform's.
 */
static void refuse_args(struct operation *op, int r, const char *endpoints, const char *why) {
        bool unsupported = r == -EOPNOTSUPP;

        operation_fail(op, unsupported ? error_for(r, OP_FAULT_UNSUPPORTED) : PROTO_E_BAD_REQUEST,
                       unsupported ? OP_FAULT_UNSUPPORTED : OP_FAULT_INVALID, endpoints, why);
}

/*
 * The endpoint is known: the policy (once: a look-up over several
 * endpoints asked only those it allows), then the platform's limits, then
 * the worker.  A refusal is answered and recorded by the gate.
 */
static void operation_queue(struct operation *op) {
        const struct endpoint_config *ep = pool_endpoint(op->pool);
        char why[512];

        /* The policy first: a refused operator gets DENIED, whatever the platform would take. */
        if (!op->admitted && !gate_target(op->manager, op->req, ep, op->args.vm)) {
                op->req = NULL;   /* answered */
                operation_free(op);
                return;
        }
        int r = op_args_check(op->kind, &op->args, ep, why, sizeof why);
        if (r < 0) {
                refuse_args(op, r, ep->name, why);
                return;
        }
        op->manager->inflight++;
        op->submitted_ms = now_ms();
        op->percent = -1;
        snprintf(op->state, sizeof op->state, "submitted");
        op->next = inflight;
        inflight = op;
        pool_submit(op->pool, &op->job);
}

/* ---- Which endpoint, when several are configured ----------------------- */

/* The members of a target a look-up hands over: resolve_tally() reads "id", a refusal's row all of them. */
static const struct {
        const char *key;
        size_t offset;
} target_members[] = {
        { "id", offsetof(struct vm_target, id) },
        { "name", offsetof(struct vm_target, name) },
        { "uuid", offsetof(struct vm_target, uuid) },
        { "host", offsetof(struct vm_target, host) },
};

static char **target_member(struct vm_target *t, size_t i) {
        return (char **) ((char *) t + target_members[i].offset);
}

static struct json_object *target_json(struct vm_target *t) {
        struct json_object *o = json_object_new_object();

        for (size_t i = 0; o && i < ELEMENTSOF(target_members); i++)
                if (*target_member(t, i))
                        json_object_object_add(o, target_members[i].key, json_object_new_string(*target_member(t, i)));
        return o;
}

/* The worker reads the target again; until then, the look-up's answer names the VM. */
static int target_from_json(struct json_object *o, struct vm_target *t) {
        struct json_object *v;

        vm_target_clear(t);
        for (size_t i = 0; i < ELEMENTSOF(target_members); i++)
                if (json_object_object_get_ex(o, target_members[i].key, &v) &&
                    !(*target_member(t, i) = strdup(json_object_get_string(v))))
                        return -ENOMEM;
        return 0;
}

/* Read-only look-up on one endpoint: does this name mean a VM there? */
static int lookup_fn(struct pool_session *s, void *userdata, struct json_object **data, struct op_error *err) {
        struct operation *op = userdata;
        struct vm_target t = {};
        struct op_value before = {};

        int r = pool_session_ops(s)->read_target(pool_session_backend(s), op->kind, &op->args, op->opid, &t,
                                                 &before, err);
        if (r >= 0)
                *data = target_json(&t);
        op_value_clear(&before);
        vm_target_clear(&t);
        return r;
}

static void lookup_done(void *userdata, struct fanout_result *res, size_t n) {
        struct operation *op = userdata;
        struct resolution rs;
        char why[2200];
        const char *fault;

        resolve_tally(res, n, op->args.vm, &rs);
        if (resolve_unique(&rs) && pool_stopping(rs.found->pool)) {
                control_reply(TAKE_PTR(op->req), PROTO_E_UNAVAILABLE, "the daemon is shutting down", NULL);
                operation_free(op);
        } else if (resolve_unique(&rs)) {
                op->pool = rs.found->pool;
                /* Out of memory only costs the row its id and host. */
                (void) target_from_json(rs.found->data, &op->target);
                operation_queue(op);
        } else {
                int r = resolve_error(&rs, op->args.vm, &fault, why, sizeof why);
                operation_fail(op, error_for(r, fault), fault, r == -ENOENT ? NULL : rs.endpoints, why);
        }
}

/*
 * Several endpoints and no (known) prefix: the policy picks the endpoints
 * this request may touch, and the name is looked up on those only, so a
 * refused operator learns nothing of the others.  The row's id is reserved
 * now, so the look-up's requests already carry it as their operationID.
 */
/*
 * Arguments no allowed endpoint's platform would take are refused before
 * the look-up, as with one endpoint: bad-request and an NG row, which
 * names no endpoint since none was chosen.  Returns true when some
 * endpoint could take them (its limits are checked again once the VM is
 * found there).
 */
static bool args_fit_some(struct operation *op, const bool *mask) {
        struct pool_set *ps = op->manager->pools;
        char why[512] = "";

        for (size_t i = 0; i < pool_set_size(ps); i++)
                if (mask[i] && op_args_check(op->kind, &op->args, pool_endpoint(pool_set_nth(ps, i)), why,
                                             sizeof why) != -EINVAL)
                        return true;
        refuse_args(op, -EINVAL, NULL, why);
        return false;
}

static void lookup_start(struct operation *op) {
        struct manager *m = op->manager;
        _cleanup_free_ bool *mask = calloc(pool_set_size(m->pools), sizeof *mask);

        if (!mask) {
                control_reply(TAKE_PTR(op->req), PROTO_E_INTERNAL, "out of memory", NULL);
                operation_free(op);
                return;
        }
        if (gate_endpoints(m, op->req, op->args.vm, mask) == 0) {
                op->req = NULL;   /* refused: recorded and answered by the gate */
                operation_free(op);
                return;
        }
        if (!args_fit_some(op, mask))
                return;
        op->admitted = true;
        int64_t id = audit_reserve_id(m->audit);
        atomic_store(&op->trail_id, id);
        snprintf(op->opid, sizeof op->opid, "vmtraced-%" PRId64, id);
        if (fanout_start(m->pools, mask, lookup_fn, lookup_done, op) < 0) {
                control_reply(TAKE_PTR(op->req), PROTO_E_INTERNAL, "out of memory", NULL);
                operation_free(op);
        }
}

/* ---- Requests ----------------------------------------------------------- */

void operation_submit(struct manager *m, struct control_request *req, enum op_kind kind) {
        char why[256];
        struct operation *op = calloc(1, sizeof *op);

        if (!op) {
                control_reply(req, PROTO_E_INTERNAL, "out of memory", NULL);
                return;
        }
        *op = (struct operation) {
                .job = { .run = operation_run, .done = operation_done },
                .manager = m,
                .req = req,
                .kind = kind,
                .peer = *control_request_peer(req),
        };
        if (op_args_parse(&op->kind, control_request_args(req), &op->args, why, sizeof why) < 0 ||
            (m->config->n_endpoints == 0 && snprintf(why, sizeof why, "no endpoint is configured") > 0)) {
                control_reply(TAKE_PTR(op->req), PROTO_E_BAD_REQUEST, why, NULL);
                operation_free(op);
                return;
        }
        op->pool = resolve_endpoint(m->pools, op->args.vm, &op->args.vm);
        if (op->pool)
                operation_queue(op);
        else
                lookup_start(op);
}

static struct operation *inflight_find(int64_t trail_id) {
        for (struct operation *op = inflight; op; op = op->next)
                if (atomic_load(&op->trail_id) == trail_id)
                        return op;
        return NULL;
}

/* The trail id cancel and wait name; false when the request was answered (bad-request). */
static bool request_trail_id(struct control_request *req, int64_t *id) {
        char why[256];

        if (proto_arg_int(control_request_args(req), "trail_id", 1, INT64_MAX, id, why, sizeof why) >= 0)
                return true;
        control_reply(req, PROTO_E_BAD_REQUEST, why, NULL);
        return false;
}

void operation_cancel(struct manager *m, struct control_request *req) {
        const struct peer *peer = control_request_peer(req);
        char why[256], owner[128];
        int64_t id;

        if (!request_trail_id(req, &id))
                return;
        struct operation *op = inflight_find(id);
        if (!op) {
                snprintf(why, sizeof why, "no operation in flight with trail id %" PRId64, id);
                control_reply(req, PROTO_E_NOT_FOUND, why, NULL);
                return;
        }
        /* The row says whose it is; the reply does not tell the caller. */
        snprintf(owner, sizeof owner, "trail #%" PRId64 " belongs to uid %u", id, (unsigned) op->peer.uid);
        snprintf(why, sizeof why, "trail #%" PRId64 " was started by another user", id);
        /* op->target belongs to the worker: the row names the VM as asked. */
        if (!gate_owner(m, req, op->peer.uid, pool_endpoint(op->pool)->name, op->args.vm, owner, why))
                return;
        log_info("Trail #%" PRId64 ": uid=%u asks to cancel.", id, (unsigned) peer->uid);
        /* The first to ask is the one the row names. */
        if (!atomic_load(&op->cancel)) {
                snprintf(op->cancelled_by, sizeof op->cancelled_by, "%s (uid %u)", peer->user, (unsigned) peer->uid);
                atomic_store(&op->cancel, true);
        }
        control_reply(req, PROTO_OK, NULL, NULL);
}

/* ---- jobs and wait: the operations in flight, listed and re-attached to ---- */

static bool visible_to(struct manager *m, const struct peer *p, const struct operation *op) {
        return p->uid == op->peer.uid || policy_is_admin(m->config->admin_group, p);
}

static struct json_object *job_json(const struct operation *op, int64_t now) {
        struct json_object *j = json_object_new_object();

        json_object_object_add(j, "trail_id", json_object_new_int64(atomic_load(&op->trail_id)));
        json_object_object_add(j, "uid", json_object_new_int64(op->peer.uid));
        json_object_object_add(j, "user", json_object_new_string(op->peer.user));
        json_object_object_add(j, "operation", json_object_new_string(op_kind_trail_name(op->kind)));
        json_object_object_add(j, "vm", json_object_new_string(strempty(op->args.vm)));
        json_object_object_add(j, "endpoint", json_object_new_string(pool_endpoint(op->pool)->name));
        json_object_object_add(j, "since_ms", json_object_new_int64(op->submitted_ms));
        json_object_object_add(j, "elapsed_ms", json_object_new_int64(now - op->submitted_ms));
        json_object_object_add(j, "state", json_object_new_string(op->state));
        if (op->percent >= 0)
                json_object_object_add(j, "percent", json_object_new_int(op->percent));
        if (op->waiting_for > 0)
                json_object_object_add(j, "waiting_for", json_object_new_int64(op->waiting_for));
        if (atomic_load(&op->cancel))
                json_object_object_add(j, "cancel_asked_by", json_object_new_string(op->cancelled_by));
        return j;
}

void operation_jobs(struct manager *m, struct control_request *req) {
        const struct peer *peer = control_request_peer(req);
        _cleanup_(json_object_putp) struct json_object *newest = json_object_new_array();
        struct json_object *rec = json_object_new_object(), *jobs = json_object_new_array();
        int64_t now = now_ms();

        for (struct operation *op = inflight; op; op = op->next)
                if (visible_to(m, peer, op))
                        json_object_array_add(newest, job_json(op, now));
        /* Oldest first: the in-flight list holds the newest first. */
        for (size_t i = json_object_array_length(newest); i > 0; i--)
                json_object_array_add(jobs, json_object_get(json_object_array_get_idx(newest, i - 1)));
        json_object_object_add(rec, "jobs", jobs);
        control_reply(req, PROTO_OK, NULL, rec);
        json_object_put(rec);
}

/* The reply a settled row stands for, so that wait exits as the operation did. */
static enum proto_error settled_error(const char *result) {
        if (!result || strcmp(result, AUDIT_RESULT_OK) == 0)
                return PROTO_OK;
        if (strcmp(result, AUDIT_RESULT_NG) == 0)
                return PROTO_E_PLATFORM;
        if (strcmp(result, AUDIT_RESULT_DENIED) == 0)
                return PROTO_E_DENIED;
        /* UNKNOWN, or PENDING: a task start-up recovery follows, which this daemon no longer runs itself. */
        return PROTO_E_UNAVAILABLE;
}

/* wait for a row no longer in flight: its record as it stands, or not found. */
static void wait_settled(struct manager *m, struct control_request *req, int64_t id) {
        _cleanup_(json_object_putp) struct json_object *row = NULL;
        struct json_object *uid;
        char why[128];

        if (audit_get_json(m->audit, id, &row) < 0 || !row) {
                snprintf(why, sizeof why, "no trail row #%" PRId64, id);
                control_reply(req, PROTO_E_NOT_FOUND, why, NULL);
                return;
        }
        snprintf(why, sizeof why, "trail #%" PRId64 " belongs to another user", id);
        uid_t owner = json_object_object_get_ex(row, "uid", &uid) ? (uid_t) json_object_get_int64(uid) : (uid_t) -1;
        if (!gate_owner(m, req, owner, NULL, NULL, why, why))
                return;
        const char *result = json_object_get_string(json_object_object_get_ex(row, "result", &uid) ? uid : NULL);
        enum proto_error e = settled_error(result);
        const char *message = json_object_get_string(json_object_object_get_ex(row, "message", &uid) ? uid : NULL);
        snprintf(why, sizeof why, "trail #%" PRId64 " is %s%s%s", id, strempty(result), message ? ": " : "",
                 strempty(message));
        control_reply(req, e, e == PROTO_OK ? NULL : why, row);
}

void operation_wait(struct manager *m, struct control_request *req) {
        char why[256];
        int64_t id;

        if (!request_trail_id(req, &id))
                return;
        struct operation *op = inflight_find(id);
        if (!op) {
                wait_settled(m, req, id);
                return;
        }
        snprintf(why, sizeof why, "trail #%" PRId64 " was started by another user", id);
        if (!gate_owner(m, req, op->peer.uid, pool_endpoint(op->pool)->name, op->args.vm, why, why))
                return;
        struct waiter *w = malloc(sizeof *w);
        if (!w) {
                control_reply(req, PROTO_E_INTERNAL, "out of memory", NULL);
                return;
        }
        *w = (struct waiter) { .req = req, .next = op->waiters };
        op->waiters = w;
        /* What it is doing now, at once: the state, the trail row and when it began. */
        _cleanup_(json_object_putp) struct json_object *ev = job_json(op, now_ms());
        json_object_object_add(ev, "start_ms", json_object_new_int64(op->submitted_ms));
        control_progress(req, ev);
}
