/* SPDX-License-Identifier: GPL-2.0-or-later */
/* list and show: read-only, never recorded; see query.h. */
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "config.h"
#include "control.h"
#include "fanout.h"
#include "macros.h"
#include "manager.h"
#include "operation.h"
#include "policy.h"
#include "pool.h"
#include "query.h"
#include "resolve.h"
#include "util.h"

struct query {
        struct manager *manager;
        struct control_request *req;
        struct op_args args;      /* show: the VM, endpoint prefix removed */
        const char *pattern;      /* list: a shell pattern (fnmatch(3)) the names must match, or NULL */
};

static int unsupported(struct pool_session *s, const char *what, struct op_error *err) {
        op_error_set(err, "InvalidArgument", "the %s backend cannot %s", pool_session_ops(s)->name, what);
        return -EINVAL;
}

static int list_fn(struct pool_session *s, void *userdata _unused_, struct json_object **data, struct op_error *err) {
        if (!pool_session_ops(s)->list_vms)
                return unsupported(s, "list VMs", err);
        return pool_session_ops(s)->list_vms(pool_session_backend(s), NULL, data, err);
}

static int show_fn(struct pool_session *s, void *userdata, struct json_object **data, struct op_error *err) {
        struct query *q = userdata;

        if (!pool_session_ops(s)->show_vm)
                return unsupported(s, "show a VM", err);
        return pool_session_ops(s)->show_vm(pool_session_backend(s), &q->args, NULL, data, err);
}

static void query_free(struct query *q) {
        free(q);
}

/* Tag each entry with its endpoint, so "ENDPOINT:NAME" can be built from it. */
static void tag_endpoint(struct json_object *o, const char *ep) {
        if (json_object_is_type(o, json_type_object))
                json_object_object_add(o, "endpoint", json_object_new_string(ep));
}

static void list_done(void *userdata, struct fanout_result *res, size_t n) {
        struct query *q = userdata;
        struct json_object *out = json_object_new_object(), *vms = json_object_new_array(), *errors = NULL;
        char why[1200] = "";

        json_object_object_add(out, "vms", vms);
        for (size_t i = 0; i < n; i++) {
                const char *ep = pool_endpoint(res[i].pool)->name;
                if (res[i].r < 0) {
                        struct json_object *e = json_object_new_object();
                        json_object_object_add(e, "endpoint", json_object_new_string(ep));
                        json_object_object_add(e, "fault", json_object_new_string(res[i].err.fault));
                        json_object_object_add(e, "message", json_object_new_string(res[i].err.message));
                        if (!errors) {
                                errors = json_object_new_array();
                                json_object_object_add(out, "errors", errors);
                        }
                        json_object_array_add(errors, e);
                        strbuf_append(why, sizeof why, "; ", "endpoint \"%s\": %s: %s", ep, res[i].err.fault,
                                      res[i].err.message);
                        continue;
                }
                size_t k = json_object_is_type(res[i].data, json_type_array) ? json_object_array_length(res[i].data) : 0;
                for (size_t j = 0; j < k; j++) {
                        struct json_object *vm = json_object_array_get_idx(res[i].data, j);
                        struct json_object *name = NULL;
                        json_object_object_get_ex(vm, "name", &name);
                        /* A rule limited to some VMs or endpoints also limits what the operator sees. */
                        if (!gate_allows(q->manager, q->req, ep, json_object_get_string(name)) ||
                            (q->pattern && fnmatch(q->pattern, strempty(json_object_get_string(name)), 0) != 0))
                                continue;
                        tag_endpoint(vm, ep);
                        json_object_array_add(vms, json_object_get(vm));
                }
        }
        /* What could be read is shown; an endpoint that could not answer makes it an error all the same. */
        control_reply(q->req, errors ? PROTO_E_UNAVAILABLE : PROTO_OK, errors ? why : NULL, out);
        json_object_put(out);
        query_free(q);
}

/*
 * list's arguments: "pattern", and "endpoint" to ask that one only (*only;
 * NULL: every endpoint).  Returns the code to refuse with (why says why),
 * or PROTO_OK.
 */
static enum proto_error list_args(struct query *q, struct pool **only, char *why, size_t whylen) {
        struct json_object *args = control_request_args(q->req);
        const char *ep = NULL;

        if (proto_arg_string(args, "pattern", true, PROTO_NAME_MAX, &q->pattern, why, whylen) < 0 ||
            proto_arg_string(args, "endpoint", true, PROTO_NAME_MAX, &ep, why, whylen) < 0)
                return PROTO_E_BAD_REQUEST;
        if (pool_set_size(q->manager->pools) == 0) {
                snprintf(why, whylen, "no endpoint is configured");
                return PROTO_E_BAD_REQUEST;
        }
        *only = ep ? pool_set_find(q->manager->pools, ep) : NULL;
        if (ep && !*only) {
                snprintf(why, whylen, "no endpoint is named \"%s\"", ep);
                return PROTO_E_NOT_FOUND;
        }
        return PROTO_OK;
}

void query_list(struct manager *m, struct control_request *req) {
        struct query *q = calloc(1, sizeof *q);
        struct pool *only = NULL;
        char why[256];

        if (!q) {
                control_reply(req, PROTO_E_INTERNAL, "out of memory", NULL);
                return;
        }
        *q = (struct query) { .req = req, .manager = m };
        enum proto_error e = list_args(q, &only, why, sizeof why);
        if (e != PROTO_OK) {
                control_reply(req, e, why, NULL);
                query_free(q);
                return;
        }
        int r = only ? fanout_one(only, list_fn, list_done, q) : fanout_start(m->pools, NULL, list_fn, list_done, q);
        if (r < 0) {
                control_reply(req, PROTO_E_INTERNAL, "out of memory", NULL);
                query_free(q);
        }
}

static void show_found(struct query *q, struct fanout_result *found) {
        const struct endpoint_config *ep = pool_endpoint(found->pool);
        struct json_object *out = json_object_new_object();

        tag_endpoint(found->data, ep->name);
        json_object_object_add(out, "vm", json_object_get(found->data));
        control_reply(q->req, PROTO_OK, NULL, out);
        json_object_put(out);
}

/* Like an operation's look-up (resolve.h): exactly one VM anywhere, else an error naming the candidates. */
static void show_done(void *userdata, struct fanout_result *res, size_t n) {
        struct query *q = userdata;
        struct resolution rs;
        const char *fault;
        char why[2200], message[2400];

        resolve_tally(res, n, q->args.vm, &rs);
        if (resolve_unique(&rs))
                show_found(q, rs.found);
        else if (n == 1 && res[0].r < 0 && res[0].r != -ENOTUNIQ) {
                /* One endpoint asked: its own word says it best. */
                snprintf(message, sizeof message, "%s: %s", res[0].err.fault, res[0].err.message);
                control_reply(q->req, operation_reply_code(res[0].r), message, NULL);
        } else {
                int r = resolve_error(&rs, q->args.vm, &fault, why, sizeof why);
                snprintf(message, sizeof message, "%s: %s", fault, why);
                control_reply(q->req, operation_reply_code(r), message, NULL);
        }
        query_free(q);
}

/*
 * The policy decides before anything is read, as for operations: on one
 * endpoint with the VM as named; over several, by asking only the
 * endpoints it allows.  1 when refused (answered), else fanout's answer.
 */
static int show_one(struct query *q, struct pool *p) {
        if (!gate_target(q->manager, q->req, pool_endpoint(p), q->args.vm)) {
                query_free(q);
                return 1;
        }
        return fanout_one(p, show_fn, show_done, q);
}

static int show_some(struct query *q) {
        struct manager *m = q->manager;
        _cleanup_free_ bool *mask = calloc(pool_set_size(m->pools), sizeof *mask);

        if (!mask)
                return -ENOMEM;
        if (gate_endpoints(m, q->req, q->args.vm, mask) == 0) {
                query_free(q);   /* refused: recorded and answered by the gate */
                return 1;
        }
        return fanout_start(m->pools, mask, show_fn, show_done, q);
}

void query_show(struct manager *m, struct control_request *req) {
        struct query *q = calloc(1, sizeof *q);
        char why[256];

        if (!q) {
                control_reply(req, PROTO_E_INTERNAL, "out of memory", NULL);
                return;
        }
        q->req = req;
        q->manager = m;
        if (proto_arg_string(control_request_args(req), "vm", false, PROTO_NAME_MAX, &q->args.vm, why, sizeof why) < 0 ||
            (m->config->n_endpoints == 0 && snprintf(why, sizeof why, "no endpoint is configured") > 0)) {
                control_reply(req, PROTO_E_BAD_REQUEST, why, NULL);
                query_free(q);
                return;
        }
        struct pool *p = resolve_endpoint(m->pools, q->args.vm, &q->args.vm);
        int r = p ? show_one(q, p) : show_some(q);
        if (r < 0) {
                control_reply(req, PROTO_E_INTERNAL, "out of memory", NULL);
                query_free(q);
        }
}
