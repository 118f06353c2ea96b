/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One operation's way from request to completed trail row; see operation.h. */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "config.h"
#include "control.h"
#include "log.h"
#include "macros.h"
#include "manager.h"
#include "operation.h"
#include "policy.h"
#include "pool.h"
#include "util.h"

/* Longest VM name accepted on the wire; vSphere itself allows 80 characters. */
#define VM_NAME_MAX 1024
/* How long a failing trail completion is retried before the outcome goes to the journal only. */
#define FINISH_RETRIES 10

struct operation {
        struct job job;            /* first: the pool hands us back this pointer */
        struct manager *manager;
        struct control_request *req;
        struct pool *pool;
        enum op_kind kind;
        struct op_args args;       /* strings borrowed from the request */
        struct peer peer;          /* copied: the client may go away before we finish */
        char opid[32];
        /* Filled on the worker thread. */
        struct vm_target target;
        char *before;
        char *after;
        char *task;
        enum proto_error error;
        char message[1280];
        struct json_object *record;
};

static int call_read_target(struct pool_session *s, void *userdata, struct op_error *err) {
        struct operation *op = userdata;

        vm_target_clear(&op->target);
        free(TAKE_PTR(op->before));
        return pool_session_ops(s)->read_target(pool_session_backend(s), op->kind, &op->args, op->opid,
                                                &op->target, &op->before, err);
}

static int call_perform(struct pool_session *s, void *userdata, struct op_error *err) {
        struct operation *op = userdata;

        free(TAKE_PTR(op->after));
        free(TAKE_PTR(op->task));
        return pool_session_ops(s)->perform(pool_session_backend(s), op->kind, &op->args, op->opid, NULL,
                                            &op->target, &op->after, &op->task, err);
}

/* How a failure is answered to vmctl. */
static enum proto_error error_for(int r, const struct op_error *err) {
        if (strcmp(err->fault, OP_FAULT_TRAIL) == 0)
                return PROTO_E_TRAIL;
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

/*
 * Complete the row.  If the database refuses, keep trying for a while: the
 * act has happened and its outcome must not be lost.  As the last resort
 * the full outcome goes to the journal.
 */
static int finish_row(struct audit *a, const struct audit_record *rec) {
        for (int i = 0; i < FINISH_RETRIES; i++) {
                if (audit_finish(a, rec) >= 0)
                        return 0;
                nanosleep(&(struct timespec) { .tv_nsec = 200 * 1000 * 1000 }, NULL);
        }
        log_error("Trail row %" PRId64 " could not be completed: %s %s on %s by %s: result=%s after=%s fault=%s",
                  rec->id, rec->operation, strempty(rec->vm_name), strempty(rec->endpoint), strempty(rec->user),
                  rec->result, strempty(rec->after), strempty(rec->fault));
        return -EIO;
}

static void operation_run(struct job *j, struct pool_session *s) {
        struct operation *op = (struct operation *) j;
        struct audit *a = op->manager->audit;
        const struct endpoint_config *ep = pool_session_endpoint(s);
        struct op_error err = {};
        bool sent = false;
        int r;

        struct audit_record rec = {
                .id = audit_reserve_id(a),
                .start_ms = now_ms(),
                .operation = op_kind_trail_name(op->kind),
                .uid = op->peer.uid,
                .gid = op->peer.gid,
                .pid = op->peer.pid,
                .user = op->peer.user,
                .endpoint = ep->name,
                .endpoint_url = ep->url,
        };
        snprintf(op->opid, sizeof op->opid, "vmtraced-%" PRId64, rec.id);

        r = pool_session_call(s, call_read_target, op, &err);
        if (r < 0 && strcmp(err.fault, OP_FAULT_TRAIL) == 0)
                goto out;
        if (r < 0) {
                /* A failed lookup may have filled some fields; none of them is known to be right. */
                vm_target_clear(&op->target);
                free(TAKE_PTR(op->before));
        }
        if (r >= 0) {
                record_target(op, &rec);
                r = audit_begin(a, &rec);
                if (r < 0) {
                        op_error_set(&err, OP_FAULT_TRAIL, "the trail cannot be written (%s); nothing was changed",
                                     strerror(-r));
                        goto out;
                }
                sent = true;
                r = pool_session_call(s, call_perform, op, &err);
        }

        record_target(op, &rec);
        rec.end_ms = now_ms();
        rec.result = result_for(r, sent);
        rec.fault = r < 0 ? err.fault : NULL;
        rec.message = r < 0 ? err.message : NULL;
        if (sent)
                (void) finish_row(a, &rec);
        else if (audit_insert(a, &rec) < 0)
                log_error("Trail row for failed %s on %s could not be written.", rec.operation, strempty(rec.vm_name));

out:
        if (r < 0) {
                op->error = error_for(r, &err);
                snprintf(op->message, sizeof op->message, "%s%s%s", err.fault, *err.fault ? ": " : "", err.message);
        }
        if (rec.id > 0 && audit_get_json(a, rec.id, &op->record) < 0)
                op->record = NULL;
}

static void operation_free(struct operation *op) {
        vm_target_clear(&op->target);
        free(op->before);
        free(op->after);
        free(op->task);
        json_object_put(op->record);
        free(op);
}

static void operation_done(struct job *j) {
        struct operation *op = (struct operation *) j;

        op->manager->inflight--;
        control_reply(op->req, op->error, op->error ? op->message : NULL, op->record);
        operation_free(op);
}

/*
 * "ENDPOINT:NAME" names a VM on one endpoint when ENDPOINT is configured;
 * otherwise the whole string is the VM name (VM names may contain ':'), and
 * it needs exactly one endpoint to be configured.
 */
static struct pool *resolve_endpoint(struct manager *m, const char *vm, const char **name, char *why, size_t whylen) {
        const char *colon = strchr(vm, ':');

        if (colon) {
                _cleanup_free_ char *ep = strndup(vm, (size_t) (colon - vm));
                struct pool *p = ep ? pool_set_find(m->pools, ep) : NULL;
                if (p && colon[1]) {
                        *name = colon + 1;
                        return p;
                }
        }
        struct pool *p = pool_set_single(m->pools);
        if (!p)
                snprintf(why, whylen, m->config->n_endpoints == 0 ? "no endpoint is configured"
                                : "several endpoints are configured: name the VM as ENDPOINT:NAME");
        *name = vm;
        return p;
}

static int parse_args(struct operation *op, struct json_object *args, char *why, size_t whylen) {
        int r = proto_arg_string(args, "vm", false, VM_NAME_MAX, &op->args.vm, why, whylen);
        if (r < 0)
                return r;
        switch (op->kind) {
        case OP_RENAME:
                return proto_arg_string(args, "name", false, VM_NAME_MAX, &op->args.new_name, why, whylen);
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
                control_reply(req, PROTO_E_BAD_REQUEST, why, NULL);
                operation_free(op);
                return;
        }
        op->pool = resolve_endpoint(m, op->args.vm, &op->args.vm, why, sizeof why);
        if (!op->pool) {
                control_reply(req, PROTO_E_BAD_REQUEST, why, NULL);
                operation_free(op);
                return;
        }
        /* Policy (issue 5): the exact VM and endpoint are known now, and nothing has reached the platform. */
        if (!policy_admit_operation(m, req, kind, pool_endpoint(op->pool), op->args.vm)) {
                operation_free(op);
                return;
        }
        m->inflight++;
        pool_submit(op->pool, &op->job);
}
