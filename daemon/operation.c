/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One operation's way from request to completed trail row; see operation.h.
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
#include <time.h>

#include "audit.h"
#include "config.h"
#include "control.h"
#include "fanout.h"
#include "log.h"
#include "macros.h"
#include "manager.h"
#include "operation.h"
#include "policy.h"
#include "pool.h"
#include "util.h"

/* Limits of what vSphere accepts, checked here so the operator gets a clear word at once. */
#define CPU_MAX        768
#define MEMORY_MIB_MAX (24LL * 1024 * 1024)      /* 24 TiB */
#define DISK_MIB_MAX   (62LL * 1024 * 1024)      /* 62 TiB, VMFS's largest virtual disk */
#define ARG_NAME_MAX   255                       /* host, datastore, disk label, snapshot name */
/* A fault name vSphere uses for a cancelled task. */
#define FAULT_CANCELED "RequestCanceled"

struct operation {
        struct job job;            /* first: the pool hands us back this pointer */
        struct manager *manager;
        struct control_request *req;
        struct pool *pool;
        enum op_kind kind;
        struct op_args args;       /* strings borrowed from the request */
        struct peer peer;          /* copied: the client may go away before we finish */
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
        char *before;
        char *after;
        char *task;
        enum proto_error error;
        char message[1280];
        struct json_object *record;
};

/* Operations in flight (loop thread only), so "cancel" can find them by trail id. */
static struct operation *inflight;

static int call_read_target(struct pool_session *s, void *userdata, struct op_error *err) {
        struct operation *op = userdata;

        vm_target_clear(&op->target);
        free(TAKE_PTR(op->before));
        return pool_session_ops(s)->read_target(pool_session_backend(s), op->kind, &op->args, op->opid,
                                                &op->target, &op->before, err);
}

/* ---- Progress: worker -> loop -> vmctl ---------------------------------- */

struct progress {
        struct operation *op;
        struct json_object *event;
};

static void progress_deliver(void *data) {
        struct progress *p = data;

        /* The operation is alive: its done() is queued behind this message. */
        if (p->op->req)
                control_progress(p->op->req, p->event);
        json_object_put(p->event);
        free(p);
}

/* Send {"trail_id":N, "state":state, ...} to vmctl; percent < 0 and task NULL are left out. */
static void progress_post(struct operation *op, const char *state, int percent, const char *task) {
        struct progress *p = malloc(sizeof *p);
        struct json_object *ev = json_object_new_object();

        if (!p || !ev)
                goto fail;
        json_object_object_add(ev, "trail_id", json_object_new_int64(atomic_load(&op->trail_id)));
        json_object_object_add(ev, "state", json_object_new_string(strempty(state)));
        if (percent >= 0)
                json_object_object_add(ev, "percent", json_object_new_int(percent));
        if (task)
                json_object_object_add(ev, "task", json_object_new_string(task));
        *p = (struct progress) { .op = op, .event = ev };
        if (pool_session_post(op->session, progress_deliver, p) >= 0)
                return;
fail:
        /* Progress is a courtesy: losing one message must not touch the operation. */
        json_object_put(ev);
        free(p);
}

static void hook_task_created(void *userdata, const char *task_id) {
        struct operation *op = userdata;

        free(op->task);
        op->task = strdup(task_id);
        /* issue 4 (trail): on the pending row at once, so crash recovery can find the task. */
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

        free(TAKE_PTR(op->after));
        _cleanup_free_ char *task = NULL;
        int r = pool_session_ops(s)->perform(pool_session_backend(s), op->kind, &op->args, op->opid, &hooks,
                                             &op->target, &op->after, &task, err);
        /* The backend's own word wins; task_created() may have said it earlier. */
        if (task) {
                free(op->task);
                op->task = TAKE_PTR(task);
        }
        return r;
}

/* ---- The trail ---------------------------------------------------------- */

enum proto_error operation_reply_code(int r) {
        switch (r) {
        case -ENOENT:
                return PROTO_E_NOT_FOUND;
        case -ENOTUNIQ:
                return PROTO_E_AMBIGUOUS;
        case -EREMOTEIO:
        case -EINVAL:
                return PROTO_E_PLATFORM;
        default:
                return PROTO_E_UNAVAILABLE;
        }
}

/* How a failed change is answered to vmctl. */
static enum proto_error error_for(int r, const struct op_error *err) {
        if (strcmp(err->fault, OP_FAULT_TRAIL) == 0)
                return PROTO_E_TRAIL;
        /* A change that outlived task-timeout: the platform did not finish it, not an unreachable endpoint. */
        if (r == -ETIMEDOUT)
                return PROTO_E_PLATFORM;
        return operation_reply_code(r);
}

/*
 * The result column.  A transport failure after the change was sent leaves
 * us not knowing whether it happened: that is UNKNOWN, never NG.
 */
static const char *result_for(int r, bool sent) {
        if (r >= 0)
                return AUDIT_RESULT_OK;
        if (sent && r != -EREMOTEIO && r != -ENOENT && r != -ENOTUNIQ && r != -EINVAL)
                return AUDIT_RESULT_UNKNOWN;
        return AUDIT_RESULT_NG;
}

static void record_target(struct operation *op, struct audit_record *rec) {
        rec->host = op->target.host;
        rec->vm_name = op->target.name ? op->target.name : op->args.vm;
        rec->vm_id = op->target.id;
        rec->vm_uuid = op->target.uuid;
        rec->before = op->before;
        rec->after = op->after;
        rec->task = op->task;
}

/* A row begun now, by the operator peer, for operation. */
static struct audit_record record_by(const struct peer *peer, const char *operation) {
        return (struct audit_record) {
                .start_ms = now_ms(),
                .operation = operation,
                .uid = peer->uid,
                .gid = peer->gid,
                .pid = peer->pid,
                .user = peer->user,
                .login_uid = peer_login_uid(peer),
                .session_id = peer_session_id(peer),
        };
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

/* EventManager.PostEvent: the platform's own history names the human behind the service account. */
static void post_event(struct operation *op, struct pool_session *s, const struct audit_record *rec) {
        const struct backend_ops *ops = pool_session_ops(s);
        struct op_error err = {};
        char text[512];

        if (!pool_session_endpoint(s)->post_events || !ops->post_event || !op->target.id)
                return;
        snprintf(text, sizeof text, "vmtraced: %s by %s (uid %u), trail #%" PRId64 ", result %s", rec->operation,
                 strempty(rec->user), (unsigned) rec->uid, rec->id, rec->result);
        unsigned rt = pool_session_round_trips(s);
        int r = ops->post_event(pool_session_backend(s), &op->target, text, op->opid, &err);
        op->event_round_trips = pool_session_round_trips(s) - rt;
        /* The event is a courtesy copy of the trail: its failure never changes the result. */
        if (r < 0)
                log_warning("Trail #%" PRId64 ": posting the event to endpoint \"%s\" failed: %s: %s", rec->id,
                            rec->endpoint, err.fault, err.message);
}

/*
 * The task outlived task-timeout and was asked to cancel.  If vCenter says
 * it was cancelled, that is the outcome (NG); anything else leaves us not
 * knowing what happened (UNKNOWN).  Either way the message says why.
 */
static int timed_out(struct operation *op, int r, struct op_error *err) {
        bool cancelled = strcmp(err->fault, FAULT_CANCELED) == 0;
        char why[sizeof err->message + 96];

        snprintf(why, sizeof why, "task-timeout (%u s) reached; %s: %s", op->manager->config->task_timeout,
                 cancelled ? "the task was cancelled" : "no outcome", err->message);
        memcpy(err->message, why, sizeof err->message - 1);
        err->message[sizeof err->message - 1] = '\0';
        return cancelled ? r : -ETIMEDOUT;
}

/* First run: the row's who/what/where, its id, and the operationID every request carries. */
static void operation_start(struct operation *op, struct pool_session *s) {
        const struct endpoint_config *ep = pool_session_endpoint(s);
        struct audit *a = op->manager->audit;

        op->rec = record_by(&op->peer, op_kind_trail_name(op->kind));
        /* A look-up on every endpoint may have reserved the id already, and used it as operationID. */
        op->rec.id = atomic_load(&op->trail_id) > 0 ? atomic_load(&op->trail_id) : audit_reserve_id(a);
        op->rec.endpoint = ep->name;
        op->rec.endpoint_url = ep->url;
        atomic_store(&op->trail_id, op->rec.id);
        op->deadline_ms = op->rec.start_ms + 1000LL * op->manager->config->task_timeout;
        snprintf(op->opid, sizeof op->opid, "vmtraced-%" PRId64, op->rec.id);
        op->started = true;
}

/*
 * Read the target, then take its VM's lock.  When another operation holds
 * it the job parks (no worker waits); it runs again once the lock is free,
 * and then reads the target again: the name may mean another VM by now, and
 * the "before" value may have changed.
 */
static enum job_state operation_run(struct job *j, struct pool_session *s) {
        struct operation *op = (struct operation *) j;
        struct audit *a = op->manager->audit;
        struct audit_record *rec = &op->rec;
        struct op_error err = {};
        bool sent = false;
        int r;

        if (!op->started)
                operation_start(op, s);
        else
                log_debug("Trail #%" PRId64 ": VM lock free, reading the target again.", rec->id);
        op->session = s;
        unsigned rt = pool_session_round_trips(s);

        r = pool_session_call(s, call_read_target, op, &err);
        if (r >= 0 && !op->target.id) {
                op_error_set(&err, "InternalError", "the backend named no VM id");
                r = -EPROTO;
        }
        if (r >= 0) {
                if (!pool_vm_lock(op->pool, op->target.id, &op->job)) {
                        op->round_trips += pool_session_round_trips(s) - rt;
                        return JOB_PARKED;   /* op belongs to the lock now */
                }
                op->locked = strdup(op->target.id);
                if (!op->locked) {
                        pool_vm_unlock(op->pool, op->target.id);
                        op_error_set(&err, "InternalError", "out of memory");
                        r = -ENOMEM;
                }
        }
        if (r < 0 && strcmp(err.fault, OP_FAULT_TRAIL) == 0)
                goto out;
        if (r < 0) {
                /* A failed lookup may have filled some fields; none of them is known to be right. */
                vm_target_clear(&op->target);
                free(TAKE_PTR(op->before));
        }
        if (r >= 0) {
                record_target(op, rec);
                r = audit_begin(a, rec);
                if (r < 0) {
                        op_error_set(&err, OP_FAULT_TRAIL, "the trail cannot be written (%s); nothing was changed",
                                     strerror(-r));
                        goto out;
                }
                sent = true;
                progress_post(op, "started", -1, NULL);
                r = pool_session_call(s, call_perform, op, &err);
                if (r < 0 && op->timed_out)
                        r = timed_out(op, r, &err);
        }
        op->round_trips += pool_session_round_trips(s) - rt;

        record_target(op, rec);
        rec->end_ms = now_ms();
        rec->result = result_for(r, sent);
        rec->fault = r < 0 ? err.fault : NULL;
        rec->message = r < 0 ? err.message : NULL;
        if (sent)
                (void) finish_row(a, rec);
        else if (audit_insert(a, rec) < 0)
                log_error("Trail row for failed %s on %s could not be written.", rec->operation, strempty(rec->vm_name));
        if (sent)
                post_event(op, s, rec);

out:
        /* Held until the row is complete, so the next operation on this VM reads a settled "before". */
        if (op->locked)
                pool_vm_unlock(op->pool, op->locked);
        if (r < 0) {
                op->error = error_for(r, &err);
                snprintf(op->message, sizeof op->message, "%s%s%s", err.fault, *err.fault ? ": " : "", err.message);
        }
        if (rec->id > 0 && audit_get_json(a, rec->id, &op->record) < 0)
                op->record = NULL;
        /* rec points into err: it must not outlive this call. */
        rec->fault = rec->message = NULL;
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

/* Round trips are not part of the row: they ride in the reply, for bench/ (see vmtraced(8)). */
static void add_debug(struct operation *op) {
        struct json_object *d = json_object_new_object();

        if (!op->record || !d) {
                json_object_put(d);
                return;
        }
        json_object_object_add(d, "round_trips", json_object_new_int((int) op->round_trips));
        json_object_object_add(d, "post_event_round_trips", json_object_new_int((int) op->event_round_trips));
        json_object_object_add(op->record, "debug", d);
}

static void operation_done(struct job *j) {
        struct operation *op = (struct operation *) j;

        inflight_remove(op);
        op->manager->inflight--;
        add_debug(op);
        control_reply(TAKE_PTR(op->req), op->error, op->error ? op->message : NULL, op->record);
        operation_free(op);
}

static void operation_queue(struct operation *op) {
        /*
         * The policy's one decision: both ways here (one endpoint, or the
         * look-up on all of them) know the exact VM and endpoint now, and
         * nothing has been changed yet.  A refusal is answered and recorded.
         */
        if (!gate_target(op->manager, op->req, pool_endpoint(op->pool), op->args.vm)) {
                op->req = NULL;   /* answered */
                op->manager->inflight--;
                operation_free(op);
                return;
        }
        op->next = inflight;
        inflight = op;
        pool_submit(op->pool, &op->job);
}

/* ---- Which endpoint ----------------------------------------------------- */

/*
 * "ENDPOINT:NAME" names a VM on one endpoint when ENDPOINT is configured;
 * otherwise the whole string is the VM name (VM names may contain ':').
 * Returns the only endpoint's pool for an unprefixed name, and NULL when
 * several (or none) are configured: the caller looks the name up on all.
 */
struct pool *operation_resolve_endpoint(struct manager *m, const char *vm, const char **name) {
        const char *colon = strchr(vm, ':');

        if (colon && colon[1]) {
                _cleanup_free_ char *ep = strndup(vm, (size_t) (colon - vm));
                struct pool *p = ep ? pool_set_find(m->pools, ep) : NULL;
                if (p) {
                        *name = colon + 1;
                        return p;
                }
        }
        *name = vm;
        return pool_set_single(m->pools);
}

/* Read-only look-up on one endpoint: does this name mean a VM there? */
static int lookup_fn(struct pool_session *s, void *userdata, struct json_object **data, struct op_error *err) {
        struct operation *op = userdata;
        struct vm_target t = {};
        _cleanup_free_ char *before = NULL;

        int r = pool_session_ops(s)->read_target(pool_session_backend(s), op->kind, &op->args, op->opid, &t,
                                                 &before, err);
        if (r >= 0) {
                *data = json_object_new_object();
                if (*data) {
                        json_object_object_add(*data, "id", json_object_new_string(strempty(t.id)));
                        json_object_object_add(*data, "host", json_object_new_string(strempty(t.host)));
                }
        }
        vm_target_clear(&t);
        return r;
}

static const char *json_str(struct json_object *o, const char *key) {
        struct json_object *v;
        return o && json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

/* Append "ENDPOINT:NAME (detail)" to a candidates list. */
static void candidates_add(char *buf, size_t len, const char *ep, const char *name, const char *detail) {
        size_t used = strlen(buf);

        if (used < len)
                snprintf(buf + used, len - used, "%s%s:%s (%s)", used ? ", " : "", ep, name, detail);
}

/*
 * The row for a name that could not be settled to one endpoint: it names
 * the endpoints involved and says why.  Written from the loop thread, as
 * there is no session to own it; one small insert.
 */
static void operation_fail_unresolved(struct operation *op, int r, const char *fault, const char *endpoints,
                                      const char *message) {
        struct audit *a = op->manager->audit;
        struct audit_record rec = record_by(&op->peer, op_kind_trail_name(op->kind));
        rec.id = atomic_load(&op->trail_id);
        rec.end_ms = rec.start_ms;
        rec.endpoint = endpoints;
        rec.vm_name = op->args.vm;
        rec.result = AUDIT_RESULT_NG;
        rec.fault = fault;
        rec.message = message;
        struct op_error err = {};

        snprintf(err.fault, sizeof err.fault, "%s", fault);
        op->error = error_for(r, &err);
        snprintf(op->message, sizeof op->message, "%s: %s", fault, message);
        if (audit_insert(a, &rec) < 0 || audit_get_json(a, rec.id, &op->record) < 0)
                op->record = NULL;
        control_reply(TAKE_PTR(op->req), op->error, op->message, op->record);
        operation_free(op);
}

/*
 * Every endpoint has answered the look-up of an unprefixed name.  Exactly
 * one VM anywhere: go ahead on its endpoint.  Several: an error listing
 * them.  An endpoint that could not answer might hold another match, so
 * that is an error too: the operator can name the endpoint.
 */
static void lookup_done(void *userdata, struct fanout_result *res, size_t n) {
        struct operation *op = userdata;
        char candidates[1024] = "", endpoints[512] = "", failures[1024] = "";
        struct pool *found = NULL;
        const struct op_error *failed = NULL;
        size_t n_found = 0;
        int failure = 0;

        for (size_t i = 0; i < n; i++) {
                const char *ep = pool_endpoint(res[i].pool)->name;
                if (res[i].r >= 0) {
                        found = res[i].pool;
                        n_found++;
                        candidates_add(candidates, sizeof candidates, ep, op->args.vm, strempty(json_str(res[i].data, "id")));
                } else if (res[i].r == -ENOTUNIQ) {
                        n_found += 2;
                        candidates_add(candidates, sizeof candidates, ep, op->args.vm, res[i].err.message);
                } else if (res[i].r != -ENOENT) {
                        failure = res[i].r;
                        failed = &res[i].err;
                        size_t used = strlen(failures);
                        snprintf(failures + used, sizeof failures - used, "%s%s: %s", used ? "; " : "", ep,
                                 res[i].err.message);
                } else
                        continue;
                size_t used = strlen(endpoints);
                snprintf(endpoints + used, sizeof endpoints - used, "%s%s", used ? "," : "", ep);
        }

        if (n_found == 1 && !failure && pool_stopping(found)) {
                control_reply(TAKE_PTR(op->req), PROTO_E_UNAVAILABLE, "the daemon is shutting down", NULL);
                operation_free(op);
                return;
        }
        if (n_found == 1 && !failure) {
                op->pool = found;
                op->manager->inflight++;
                operation_queue(op);
                return;
        }
        char why[2200];
        if (n_found > 1) {
                snprintf(why, sizeof why, "VM name \"%s\" matches several VMs: %s; name one as ENDPOINT:NAME",
                         op->args.vm, candidates);
                operation_fail_unresolved(op, -ENOTUNIQ, OP_FAULT_AMBIGUOUS, endpoints, why);
        } else if (failure) {
                snprintf(why, sizeof why, "VM \"%s\" could not be looked up on every endpoint (%s); "
                         "name it as ENDPOINT:NAME", op->args.vm, failures);
                operation_fail_unresolved(op, failure, failed->fault, endpoints, why);
        } else {
                snprintf(why, sizeof why, "VM \"%s\" not found on any endpoint", op->args.vm);
                operation_fail_unresolved(op, -ENOENT, OP_FAULT_NOT_FOUND, NULL, why);
        }
}

/* ---- Requests ----------------------------------------------------------- */

static int arg_name(struct json_object *args, const char *key, bool optional, const char **out, char *why,
                    size_t whylen) {
        return proto_arg_string(args, key, optional, ARG_NAME_MAX, out, why, whylen);
}

static int parse_clone(struct operation *op, struct json_object *args, char *why, size_t whylen) {
        int r = proto_arg_string(args, "name", false, VM_NAME_MAX, &op->args.new_name, why, whylen);
        if (r >= 0)
                r = arg_name(args, "host", true, &op->args.host, why, whylen);
        if (r >= 0)
                r = arg_name(args, "datastore", true, &op->args.datastore, why, whylen);
        if (r >= 0)
                r = proto_arg_bool(args, "power_on", &op->args.power_on, why, whylen);
        return r;
}

static int parse_migrate(struct operation *op, struct json_object *args, char *why, size_t whylen) {
        int r = arg_name(args, "host", true, &op->args.host, why, whylen);
        if (r >= 0)
                r = arg_name(args, "datastore", true, &op->args.datastore, why, whylen);
        if (r >= 0 && !op->args.host && !op->args.datastore) {
                snprintf(why, whylen, "migrate needs a target host, a target datastore, or both");
                r = -EINVAL;
        }
        return r;
}

static int parse_args(struct operation *op, struct json_object *args, char *why, size_t whylen) {
        bool guest = false;
        int r = proto_arg_string(args, "vm", false, VM_NAME_MAX, &op->args.vm, why, whylen);
        if (r < 0)
                return r;
        switch (op->kind) {
        case OP_RENAME:
                return proto_arg_string(args, "name", false, VM_NAME_MAX, &op->args.new_name, why, whylen);
        case OP_CPU:
                return proto_arg_int(args, "count", 1, CPU_MAX, &op->args.number, why, whylen);
        case OP_MEMORY:
                r = proto_arg_int(args, "mib", 4, MEMORY_MIB_MAX, &op->args.number, why, whylen);
                if (r >= 0 && op->args.number % 4 != 0) {
                        snprintf(why, whylen, "memory must be a multiple of 4 MiB (got %" PRId64 ")", op->args.number);
                        r = -EINVAL;
                }
                return r;
        case OP_DISK_GROW:
                r = arg_name(args, "disk", false, &op->args.disk, why, whylen);
                return r < 0 ? r : proto_arg_int(args, "mib", 1, DISK_MIB_MAX, &op->args.number, why, whylen);
        case OP_DISK_ADD:
                return proto_arg_int(args, "mib", 1, DISK_MIB_MAX, &op->args.number, why, whylen);
        case OP_STOP:
        case OP_STOP_GUEST:
                r = proto_arg_bool(args, "guest", &guest, why, whylen);
                op->kind = guest ? OP_STOP_GUEST : OP_STOP;
                return r;
        case OP_START:
        case OP_RESET:
        case OP_SUSPEND:
        case OP_DESTROY:
                return 0;
        case OP_CLONE:
                return parse_clone(op, args, why, whylen);
        case OP_MIGRATE:
                return parse_migrate(op, args, why, whylen);
        case OP_SNAPSHOT_CREATE:
        case OP_SNAPSHOT_REVERT:
        case OP_SNAPSHOT_REMOVE:
                return arg_name(args, "snapshot", false, &op->args.snapshot, why, whylen);
        default:
                snprintf(why, whylen, "operation not implemented");
                return -EOPNOTSUPP;
        }
}

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
        if (parse_args(op, control_request_args(req), why, sizeof why) < 0) {
                control_reply(TAKE_PTR(op->req), PROTO_E_BAD_REQUEST, why, NULL);
                operation_free(op);
                return;
        }
        if (m->config->n_endpoints == 0) {
                control_reply(TAKE_PTR(op->req), PROTO_E_BAD_REQUEST, "no endpoint is configured", NULL);
                operation_free(op);
                return;
        }
        op->pool = operation_resolve_endpoint(m, op->args.vm, &op->args.vm);
        if (op->pool) {
                m->inflight++;
                operation_queue(op);
                return;
        }
        /*
         * Several endpoints and no (known) prefix: look the name up everywhere
         * first.  The row's id is reserved now, so the look-up's requests
         * already carry it as their operationID.
         */
        int64_t id = audit_reserve_id(m->audit);
        atomic_store(&op->trail_id, id);
        snprintf(op->opid, sizeof op->opid, "vmtraced-%" PRId64, id);
        int r = fanout_start(m->pools, lookup_fn, lookup_done, op);
        if (r < 0) {
                control_reply(TAKE_PTR(op->req), PROTO_E_INTERNAL, "out of memory", NULL);
                operation_free(op);
        }
}

static struct operation *inflight_find(int64_t trail_id) {
        for (struct operation *op = inflight; op; op = op->next)
                if (atomic_load(&op->trail_id) == trail_id)
                        return op;
        return NULL;
}

void operation_cancel(struct manager *m, struct control_request *req) {
        const struct peer *peer = control_request_peer(req);
        char why[256], owner[128];
        int64_t id;

        if (proto_arg_int(control_request_args(req), "trail_id", 1, INT64_MAX, &id, why, sizeof why) < 0) {
                control_reply(req, PROTO_E_BAD_REQUEST, why, NULL);
                return;
        }
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
        atomic_store(&op->cancel, true);
        control_reply(req, PROTO_OK, NULL, NULL);
}
