/* SPDX-License-Identifier: GPL-2.0-or-later */
/* VM names to endpoints; see resolve.h. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "config.h"
#include "macros.h"
#include "pool.h"
#include "resolve.h"
#include "util.h"

struct pool *resolve_endpoint(struct pool_set *ps, const char *vm, const char **name) {
        const char *colon = strchr(vm, ':');

        /* VM names may contain ':' themselves: only a configured endpoint makes it a prefix. */
        if (colon && colon[1]) {
                _cleanup_free_ char *ep = strndup(vm, (size_t) (colon - vm));
                struct pool *p = ep ? pool_set_find(ps, ep) : NULL;
                if (p) {
                        *name = colon + 1;
                        return p;
                }
        }
        *name = vm;
        return pool_set_single(ps);
}

static const char *data_id(struct json_object *o) {
        struct json_object *v;
        return o && json_object_object_get_ex(o, "id", &v) ? json_object_get_string(v) : NULL;
}

void resolve_tally(struct fanout_result *res, size_t n, const char *vm, struct resolution *out) {
        *out = (struct resolution) {};
        for (size_t i = 0; i < n; i++) {
                const char *ep = pool_endpoint(res[i].pool)->name;

                if (res[i].r >= 0) {
                        out->found = &res[i];
                        out->n_found++;
                        strbuf_append(out->candidates, sizeof out->candidates, ", ", "%s:%s (%s)", ep, vm,
                               strempty(data_id(res[i].data)));
                } else if (res[i].r == -ENOTUNIQ) {
                        out->n_found += 2;
                        strbuf_append(out->candidates, sizeof out->candidates, ", ", "%s:%s (%s)", ep, vm,
                               res[i].err.message);
                } else if (res[i].r != -ENOENT) {
                        out->failed = &res[i];
                        strbuf_append(out->failures, sizeof out->failures, "; ", "%s: %s", ep, res[i].err.message);
                } else
                        continue;
                strbuf_append(out->endpoints, sizeof out->endpoints, ",", "%s", ep);
        }
}

bool resolve_unique(const struct resolution *res) {
        return res->n_found == 1 && !res->failed;
}

int resolve_error(const struct resolution *res, const char *vm, const char **fault, char *why, size_t whylen) {
        if (res->n_found > 1) {
                *fault = OP_FAULT_AMBIGUOUS;
                snprintf(why, whylen, "VM name \"%s\" matches several VMs: %s; name one as ENDPOINT:NAME", vm,
                         res->candidates);
                return -ENOTUNIQ;
        }
        if (res->failed) {
                *fault = res->failed->err.fault;
                snprintf(why, whylen, "VM \"%s\" could not be looked up on every endpoint (%s); name it as "
                         "ENDPOINT:NAME", vm, res->failures);
                return res->failed->r;
        }
        *fault = OP_FAULT_NOT_FOUND;
        /* A configured prefix never gets here (resolve_endpoint() took it): say this one is not one. */
        const char *colon = strchr(vm, ':');
        if (colon && colon != vm)
                snprintf(why, whylen, "VM \"%s\" not found on any endpoint, and no endpoint is named \"%.*s\"", vm,
                         (int) (colon - vm), vm);
        else
                snprintf(why, whylen, "VM \"%s\" not found on any endpoint", vm);
        return -ENOENT;
}
