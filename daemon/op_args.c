/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Arguments of VM operations and the platforms' limits; see op_args.h. */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "macros.h"
#include "op_args.h"
#include "proto.h"

static int arg_name(struct json_object *args, const char *key, bool optional, const char **out, char *why,
                    size_t whylen) {
        return proto_arg_string(args, key, optional, PROTO_NAME_MAX, out, why, whylen);
}

/* Sizes and counts: positive on the wire; the platform's range is op_args_check()'s. */
static int arg_number(struct json_object *args, const char *key, int64_t *out, char *why, size_t whylen) {
        return proto_arg_int(args, key, 1, INT64_MAX, out, why, whylen);
}

static int parse_clone(struct op_args *a, struct json_object *args, char *why, size_t whylen) {
        int r = arg_name(args, "name", false, &a->new_name, why, whylen);
        if (r >= 0)
                r = arg_name(args, "host", true, &a->host, why, whylen);
        if (r >= 0)
                r = arg_name(args, "datastore", true, &a->datastore, why, whylen);
        if (r >= 0)
                r = proto_arg_bool(args, "power_on", &a->power_on, why, whylen);
        return r;
}

static int parse_migrate(struct op_args *a, struct json_object *args, char *why, size_t whylen) {
        int r = arg_name(args, "host", true, &a->host, why, whylen);
        if (r >= 0)
                r = arg_name(args, "datastore", true, &a->datastore, why, whylen);
        if (r >= 0 && !a->host && !a->datastore) {
                snprintf(why, whylen, "migrate needs a target host, a target datastore, or both");
                r = -EINVAL;
        }
        return r;
}

static int parse_stop(enum op_kind *kind, struct json_object *args, char *why, size_t whylen) {
        bool guest = false;
        int r = proto_arg_bool(args, "guest", &guest, why, whylen);

        *kind = guest ? OP_STOP_GUEST : OP_STOP;
        return r;
}

int op_args_parse(enum op_kind *kind, struct json_object *args, struct op_args *a, char *why, size_t whylen) {
        int r = arg_name(args, "vm", false, &a->vm, why, whylen);
        if (r < 0)
                return r;
        switch (*kind) {
        case OP_RENAME:
                return arg_name(args, "name", false, &a->new_name, why, whylen);
        case OP_CPU:
                return arg_number(args, "count", &a->number, why, whylen);
        case OP_MEMORY:
                r = arg_number(args, "mib", &a->number, why, whylen);
                return r < 0 ? r : proto_arg_bool(args, "confirmed", &a->confirmed, why, whylen);
        case OP_DISK_ADD:
                return arg_number(args, "mib", &a->number, why, whylen);
        case OP_DISK_GROW:
                r = arg_name(args, "disk", false, &a->disk, why, whylen);
                return r < 0 ? r : arg_number(args, "mib", &a->number, why, whylen);
        case OP_STOP:
        case OP_STOP_GUEST:
                return parse_stop(kind, args, why, whylen);
        case OP_START:
        case OP_RESET:
        case OP_SUSPEND:
        case OP_DESTROY:
                return 0;
        case OP_CLONE:
                return parse_clone(a, args, why, whylen);
        case OP_MIGRATE:
                return parse_migrate(a, args, why, whylen);
        case OP_SNAPSHOT_CREATE:
        case OP_SNAPSHOT_REVERT:
        case OP_SNAPSHOT_REMOVE:
                return arg_name(args, "snapshot", false, &a->snapshot, why, whylen);
        default:
                snprintf(why, whylen, "operation not implemented");
                return -EOPNOTSUPP;
        }
}

/* Characters, not bytes: a platform's name limit counts what the operator sees. */
static size_t utf8_length(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                n += ((unsigned char) *s & 0xc0) != 0x80;
        return n;
}

/* A size so large that it is more likely a slip of the unit (4000G for 4000M) needs --yes. */
static int check_memory_confirmed(const struct op_args *a, const struct endpoint_config *ep, char *why,
                                  size_t whylen) {
        if (!ep->confirm_memory_mib || a->number <= ep->confirm_memory_mib || a->confirmed)
                return 0;
        snprintf(why, whylen, "%" PRId64 " MiB of memory is more than the %" PRId64 " MiB (confirm-memory-above) "
                 "endpoint \"%s\" takes without confirmation: give --yes to confirm", a->number,
                 ep->confirm_memory_mib, ep->name);
        return -EINVAL;
}

static int check_memory(const struct op_args *a, const struct endpoint_config *ep, char *why, size_t whylen) {
        const struct backend_limits *l = ep->backend->limits;
        int r = proto_check_range("mib", a->number, l->memory_mib_min, l->memory_mib_max, why, whylen);

        if (r >= 0 && l->memory_mib_step > 1 && a->number % l->memory_mib_step != 0) {
                snprintf(why, whylen, "memory must be a multiple of %" PRId64 " MiB (got %" PRId64 ")",
                         l->memory_mib_step, a->number);
                r = -EINVAL;
        }
        return r < 0 ? r : check_memory_confirmed(a, ep, why, whylen);
}

/*
 * "vc2:web" names endpoint vc2's VM web wherever vmctl takes a VM: a VM
 * given that name would be read as the other one from then on.
 */
static const struct endpoint_config *prefix_endpoint(const char *name, const struct endpoint_config *ep) {
        const char *colon = strchr(name, ':');

        for (const struct endpoint_config *e = ep->first; colon && e; e = e->next)
                if (strlen(e->name) == (size_t) (colon - name) && strncmp(name, e->name, strlen(e->name)) == 0)
                        return e;
        return NULL;
}

static int check_new_name(const struct op_args *a, const struct endpoint_config *ep, char *why, size_t whylen) {
        const struct backend_limits *l = ep->backend->limits;
        const struct endpoint_config *other = prefix_endpoint(a->new_name, ep);

        if (other) {
                snprintf(why, whylen, "argument \"name\" must not begin with \"%s:\": vmctl would read it as a VM "
                         "of endpoint \"%s\"", other->name, other->name);
                return -EINVAL;
        }
        if (l->name_max && utf8_length(a->new_name) > l->name_max) {
                snprintf(why, whylen, "argument \"name\" is longer than the %zu characters %s allows", l->name_max,
                         ep->backend->name);
                return -EINVAL;
        }
        return 0;
}

int op_args_check(enum op_kind kind, const struct op_args *a, const struct endpoint_config *ep, char *why,
                  size_t whylen) {
        const struct backend_ops *ops = ep->backend;
        const struct backend_limits *l = ops->limits;

        if (ops->supports && !ops->supports(ep, kind)) {
                const char *because = ops->unsupported_why ? ops->unsupported_why(ep, kind) : NULL;

                snprintf(why, whylen, "endpoint \"%s\" (%s) cannot do %s%s%s", ep->name, ops->name,
                         op_kind_trail_name(kind), because ? ": " : "", strempty(because));
                return -EOPNOTSUPP;
        }
        switch (kind) {
        case OP_RENAME:
        case OP_CLONE:
                return check_new_name(a, ep, why, whylen);
        case OP_CPU:
                return proto_check_range("count", a->number, 1, l->cpu_max, why, whylen);
        case OP_MEMORY:
                return check_memory(a, ep, why, whylen);
        case OP_DISK_GROW:
        case OP_DISK_ADD:
                return proto_check_range("mib", a->number, 1, l->disk_mib_max, why, whylen);
        default:
                return 0;
        }
}
