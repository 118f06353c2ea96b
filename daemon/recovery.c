/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Start-up recovery (see recovery.h).  The outcome of a task is asked for
 * through the backend interface only; a backend without task_outcome, or
 * one that answers -ENOTSUP, makes the outcome "impossible to learn", and
 * the row says so (UNKNOWN) rather than guessing.  A task still running at
 * restart is followed until it ends, its row PENDING and its VM locked
 * meanwhile.  A platform
 * without tasks (libvirt) stores the request as the task and answers by
 * reading the VM back: -ENODATA when it does not show the request, and
 * then the row is NG if the VM still shows its "before" value, UNKNOWN if
 * it shows something else.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "config.h"
#include "log.h"
#include "macros.h"
#include "pool.h"
#include "record.h"
#include "recovery.h"
#include "util.h"
#include "value.h"

/* The message of a row whose task still ran at start-up and was then looked at until it ended. */
#define FOLLOWED "resolved after restart from task %s, which still ran then and was followed"
/* Between two looks at such a task. */
#define FOLLOW_INTERVAL_USEC (2 * 1000 * 1000ULL)

static bool can_ask(const struct audit_record *row, const struct backend_ops *ops) {
        return row->task && ops && ops->task_outcome && op_kind_from_trail_name(row->operation) >= 0;
}

/* Why the outcome of row cannot be learnt; NULL when it can be asked for. */
static const char *why_impossible(const struct audit_record *row, const struct backend_ops *ops, char *buf,
                                  size_t len) {
        if (!row->task)
                snprintf(buf, len, "vmtraced stopped before the platform reported a task for this operation; "
                         "whether it happened is not known");
        else if (op_kind_from_trail_name(row->operation) < 0)
                snprintf(buf, len, "vmtraced stopped during %s (task %s); its outcome cannot be looked up",
                         strempty(row->operation), row->task);
        else if (!ops)
                snprintf(buf, len, "vmtraced stopped during task %s, and endpoint \"%s\" is no longer configured",
                         row->task, strempty(row->endpoint));
        else if (!ops->task_outcome)
                snprintf(buf, len, "vmtraced stopped during task %s, and the %s backend cannot look tasks up",
                         row->task, ops->name);
        else
                return NULL;
        return buf;
}

/* Complete row from what the platform said (r as task_outcome() returns it). */
static int complete(struct audit *a, const struct audit_record *row, int r, bool followed, const struct vm_target *t,
                    const char *after, const struct op_error *err) {
        char msg[1400];
        struct audit_record fin = record_completion_of(row);

        fin.host = t->host;
        fin.after = after;

        switch (r) {
        case 0:
                fin.result = AUDIT_RESULT_OK;
                snprintf(msg, sizeof msg, followed ? FOLLOWED " until it succeeded" :
                         "resolved at start-up from task %s after vmtraced stopped", row->task);
                break;
        case -EREMOTEIO:
        case -ECANCELED:
                fin.result = AUDIT_RESULT_NG;
                fin.fault = err->fault;
                snprintf(msg, sizeof msg, followed ? FOLLOWED " until it failed: %s" :
                         "resolved at start-up from task %s: %s", row->task, err->message);
                break;
        case -ENODATA:
                /*
                 * No task to ask (libvirt): the VM was read back and does not
                 * show what was asked.  Still the value from before: it did not
                 * happen.  Anything else: something happened, not known what.
                 */
                if (after && row->before && strcmp(after, row->before) == 0) {
                        fin.result = AUDIT_RESULT_NG;
                        fin.fault = OP_FAULT_NOT_APPLIED;
                        snprintf(msg, sizeof msg, "resolved at start-up by reading the VM back: it still shows "
                                 "its value from before, so the change did not happen");
                } else {
                        fin.result = AUDIT_RESULT_UNKNOWN;
                        snprintf(msg, sizeof msg, "read back at start-up, the VM shows neither its value from "
                                 "before nor the one asked for");
                }
                break;
        case -EINPROGRESS:
                fin.result = AUDIT_RESULT_UNKNOWN;
                snprintf(msg, sizeof msg, followed ? FOLLOWED ", and still ran at task-timeout; no longer followed" :
                         "task %s was still running when vmtraced restarted, task-timeout after its row began; "
                         "not followed", row->task);
                break;
        case -ENOENT:
                fin.result = AUDIT_RESULT_UNKNOWN;
                /* The backend's own words where it has them (libvirt: the VM itself is gone). */
                if (*err->message)
                        snprintf(msg, sizeof msg, "vmtraced stopped during task %s: %s", row->task, err->message);
                else
                        snprintf(msg, sizeof msg, "the platform no longer knows task %s", row->task);
                break;
        case -ENOTSUP:
                fin.result = AUDIT_RESULT_UNKNOWN;
                snprintf(msg, sizeof msg, "vmtraced stopped during task %s, and %s", row->task,
                         *err->message ? err->message : "the backend cannot look tasks up");
                break;
        default:
                fin.result = AUDIT_RESULT_UNKNOWN;
                fin.fault = *err->fault ? err->fault : NULL;
                snprintf(msg, sizeof msg, "task %s could not be looked up at start-up: %s", row->task,
                         *err->message ? err->message : strerror(-r));
                break;
        }
        fin.message = msg;
        log_notice("Trail row %" PRId64 " (%s %s), left PENDING by an earlier run: %s, %s", row->id,
                   row->operation, strempty(row->vm_name), fin.result, msg);
        return audit_finish(a, &fin);
}

static int mark_unknown(struct audit *a, const struct audit_record *row, const char *why) {
        struct audit_record fin = record_completion_of(row);

        fin.result = AUDIT_RESULT_UNKNOWN;
        fin.message = why;

        log_notice("Trail row %" PRId64 " (%s %s), left PENDING by an earlier run: UNKNOWN, %s", row->id,
                   row->operation, strempty(row->vm_name), why);
        return audit_finish(a, &fin);
}

/* A request an earlier run had queued behind another operation on its VM, never sent: NG. */
static int mark_not_sent(struct audit *a, const struct audit_record *row) {
        struct audit_record fin = record_completion_of(row);

        fin.result = AUDIT_RESULT_NG;
        fin.fault = AUDIT_FAULT_NOT_SENT;
        fin.message = "vmtraced stopped while this request waited for another operation on its VM; "
                      "nothing was sent to the platform";
        log_notice("Trail row %" PRId64 " (%s %s), queued when an earlier run stopped: NG, never sent", row->id,
                   row->operation, strempty(row->vm_name));
        return audit_finish(a, &fin);
}

/* A row whose outcome cannot be asked for: UNKNOWN, saying why. */
static int mark_impossible(struct audit *a, const struct audit_record *row, const struct backend_ops *ops) {
        char why[512];

        return mark_unknown(a, row, why_impossible(row, ops, why, sizeof why) ?: "no session");
}

/* What task_outcome() needs, built from the row. */
struct lookup {
        struct audit_record row;   /* owned copy */
        enum op_kind kind;
        struct op_args args;
        char opid[32];
        struct vm_target t;
        char *after;
};

static int lookup_init(struct lookup *l, const struct audit_record *row) {
        *l = (struct lookup) { .kind = (enum op_kind) op_kind_from_trail_name(row->operation) };
        if (audit_record_copy(&l->row, row) < 0)
                return -ENOMEM;
        l->args.vm = l->row.vm_name;
        snprintf(l->opid, sizeof l->opid, "vmtraced-%" PRId64 "-recovery", row->id);
        l->t.name = row->vm_name ? strdup(row->vm_name) : NULL;
        l->t.id = row->vm_id ? strdup(row->vm_id) : NULL;
        l->t.uuid = row->vm_uuid ? strdup(row->vm_uuid) : NULL;
        l->t.host = row->host ? strdup(row->host) : NULL;
        return 0;
}

static void lookup_done(struct lookup *l) {
        audit_record_clear(&l->row);
        vm_target_clear(&l->t);
        free(l->after);
}

static int ask(const struct backend_ops *ops, struct backend_session *s, struct lookup *l, struct op_error *err) {
        struct op_value after = {};

        int r = ops->task_outcome(s, l->kind, &l->args, l->row.task, l->opid, &l->t, &after, err);
        int k = value_take(l->kind, &after, &l->after, err);
        return r < 0 ? r : k;
}

int recovery_resolve(struct audit *a, const struct audit_record *row, const struct backend_ops *ops,
                     struct backend_session *s) {
        struct op_error err = {};
        struct lookup l;
        int r;

        if (!can_ask(row, ops) || !s)
                return mark_impossible(a, row, s ? ops : NULL);
        if (lookup_init(&l, row) < 0) {
                lookup_done(&l);
                return log_oom();
        }
        r = ask(ops, s, &l, &err);
        r = complete(a, row, r, false, &l.t, l.after, &err);
        lookup_done(&l);
        return r;
}

/*
 * The rows an earlier run left PENDING, asked for on their endpoints'
 * workers.  A task still running is followed: its row stays PENDING, its
 * VM stays locked (so that operations on it wait for the outcome), and it
 * is asked for again every FOLLOW_INTERVAL_USEC until it ends, or until
 * task-timeout after the row began.  Loop thread, but for job_run().
 */
struct recovery {
        sd_event *event;
        struct audit *audit;
        struct pool_set *pools;
        unsigned task_timeout;     /* seconds */
        atomic_bool stopping;      /* no more looks: followed rows stay PENDING for the next start */
        bool pools_gone;           /* the pools are being freed: their VM locks go with them */
        struct recovery_job *waiting;  /* followed tasks between two looks */
};

struct recovery_job {
        struct job job;            /* first: the pool hands us back this pointer */
        struct recovery *rec;
        struct pool *pool;
        struct lookup l;
        bool answered;             /* the platform answered about the task (not a login's failure) */
        bool locked;               /* holds the lock of the row's VM */
        bool following;            /* the task still ran at the last look */
        bool followed;             /* ... at some look */
        sd_event_source *timer;    /* while waiting for the next look */
        struct recovery_job *prev, *next;  /* in rec->waiting */
};

static int call_task_outcome(struct pool_session *s, void *userdata, struct op_error *err) {
        struct recovery_job *j = userdata;

        int r = ask(pool_session_ops(s), pool_session_backend(s), &j->l, err);
        /* Unauthenticated: the pool logs in again and asks once more, or returns the login's failure. */
        j->answered = r != -EKEYEXPIRED;
        return r;
}

static void job_unlock(struct recovery_job *j) {
        if (j->locked)
                pool_vm_unlock(j->pool, j->l.row.vm_id);
        j->locked = false;
}

/*
 * Still running, and within task-timeout of the row's start: look again
 * later (true).  When the daemon stops meanwhile, job_done() leaves the
 * row PENDING instead (the next start follows the task again), and its VM
 * is let go here, while the pool surely still runs.
 */
static bool keep_following(struct recovery_job *j, int r) {
        if (r != -EINPROGRESS || now_ms() >= j->l.row.start_ms + 1000LL * j->rec->task_timeout)
                return false;
        j->following = true;
        if (atomic_load(&j->rec->stopping)) {
                job_unlock(j);
                return true;
        }
        if (!j->followed)
                log_notice("Trail row %" PRId64 " (%s %s): task %s still runs; following it until it ends.",
                           j->l.row.id, j->l.row.operation, strempty(j->l.row.vm_name), j->l.row.task);
        j->followed = true;
        return true;
}

static enum job_state job_run(struct job *job, struct pool_session *s) {
        struct recovery_job *j = (struct recovery_job *) job;
        struct op_error err = {};
        int r;

        /* The VM's operations wait until its row is settled (a second PENDING row of one VM waits too). */
        if (!j->locked && j->l.row.vm_id) {
                if (!pool_vm_lock(j->pool, j->l.row.vm_id, job, j->l.row.id))
                        return JOB_PARKED;
                j->locked = true;
        }
        r = pool_session_call(s, call_task_outcome, j, &err);
        /*
         * A failed login (at first, or again after the session expired) is
         * not the task's outcome, whatever its errno: the platform did not
         * answer about the task, so the row cannot say NG (it becomes
         * UNKNOWN, with the login's fault and message saying why).
         */
        if (r < 0 && !j->answered)
                r = -ENOTCONN;
        /* The row keeps the principal it was begun with; one begun before schema 4 gets the asking session's. */
        if (!j->l.row.platform_user && pool_session_user(s))
                j->l.row.platform_user = strdup(pool_session_user(s)); /* out of memory: NULL, as before */
        j->following = false;
        if (keep_following(j, r))
                return JOB_DONE;
        (void) complete(j->rec->audit, &j->l.row, r, j->followed, &j->l.t, j->l.after, &err);
        job_unlock(j);
        return JOB_DONE;
}

static void job_free(struct recovery_job *j) {
        sd_event_source_disable_unref(j->timer);
        lookup_done(&j->l);
        free(j);
}

static void waiting_remove(struct recovery_job *j) {
        if (j->prev)
                j->prev->next = j->next;
        else
                j->rec->waiting = j->next;
        if (j->next)
                j->next->prev = j->prev;
        j->prev = j->next = NULL;
}

static int on_follow_timer(sd_event_source *src _unused_, uint64_t usec _unused_, void *userdata) {
        struct recovery_job *j = userdata;

        waiting_remove(j);
        pool_submit(j->pool, &j->job);
        return 0;
}

/* The row stays PENDING: the next start follows its task again.  Loop thread. */
static void leave_pending(struct recovery_job *j) {
        log_notice("Trail row %" PRId64 " stays PENDING: task %s was still running at shutdown.", j->l.row.id,
                   j->l.row.task);
        if (!j->rec->pools_gone)
                job_unlock(j);
        job_free(j);
}

static void job_done(struct job *job) {
        struct recovery_job *j = (struct recovery_job *) job;
        int r;

        if (!j->following) {
                job_free(j);
                return;
        }
        if (atomic_load(&j->rec->stopping)) {
                leave_pending(j);
                return;
        }
        r = j->timer ? sd_event_source_set_time_relative(j->timer, FOLLOW_INTERVAL_USEC) :
                sd_event_add_time_relative(j->rec->event, &j->timer, CLOCK_MONOTONIC, FOLLOW_INTERVAL_USEC, 0,
                                           on_follow_timer, j);
        if (r >= 0)
                r = sd_event_source_set_enabled(j->timer, SD_EVENT_ONESHOT);
        if (r < 0) {
                log_error_errno(r, "Failed to follow task %s: %m", j->l.row.task);
                leave_pending(j);
                return;
        }
        j->next = j->rec->waiting;
        if (j->next)
                j->next->prev = j;
        j->rec->waiting = j;
}

static int resolve_row(struct audit *a, const struct audit_record *row, void *userdata) {
        struct recovery *rec = userdata;
        struct pool *p = row->endpoint ? pool_set_find(rec->pools, row->endpoint) : NULL;
        const struct backend_ops *ops = p ? pool_backend_ops(p) : NULL;
        struct recovery_job *j;

        /* A request that was still waiting for its VM: nothing was sent. */
        if (row->fault && strcmp(row->fault, AUDIT_FAULT_QUEUED) == 0) {
                (void) mark_not_sent(a, row);
                return 0;
        }
        /* A row that cannot be completed (already done meanwhile) must not stop the others. */
        if (!can_ask(row, ops)) {
                (void) mark_impossible(a, row, ops);
                return 0;
        }
        j = calloc(1, sizeof *j);
        if (!j || lookup_init(&j->l, row) < 0) {
                if (j)
                        lookup_done(&j->l);
                free(j);
                return log_oom();
        }
        j->job = (struct job) { .run = job_run, .done = job_done };
        j->rec = rec;
        j->pool = p;
        /*
         * Its VM taken now, before any request can be read: an operation
         * on it waits until the row is settled.  A second row of the same
         * VM takes it when it runs (job_run() parks it until then).
         */
        j->locked = row->vm_id && pool_vm_lock(p, row->vm_id, NULL, row->id);
        pool_submit(p, &j->job);
        return 0;
}

int recovery_run(struct audit *a, struct pool_set *pools, sd_event *event, unsigned task_timeout,
                 struct recovery **out) {
        struct recovery *rec = calloc(1, sizeof *rec);

        if (!rec)
                return log_oom();
        *rec = (struct recovery) { .event = event, .audit = a, .pools = pools, .task_timeout = task_timeout };
        *out = rec;
        int n = audit_pending_foreach(a, resolve_row, rec);
        if (n > 0)
                log_notice("Resolving %d trail row(s) an earlier run left PENDING.", n);
        return n;
}

void recovery_stop(struct recovery *rec, bool pools_gone) {
        if (!rec)
                return;
        rec->pools_gone = pools_gone;
        if (atomic_exchange(&rec->stopping, true))
                return;
        /* Their VMs are free again: operations parked on them go on. */
        while (rec->waiting) {
                struct recovery_job *j = rec->waiting;

                waiting_remove(j);
                leave_pending(j);
        }
}

void recovery_free(struct recovery *rec) {
        recovery_stop(rec, true);
        free(rec);
}
