/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for daemon/op_args.c: a request's arguments are parsed in
 * the protocol's terms, then held against the endpoint's own backend:
 * its limits (a CPU count, memory granularity, disk size, name length in
 * characters) and what it supports.  Table-driven, with a small backend
 * whose limits differ from vSphere's so that the daemon is seen to ask the
 * backend rather than know a platform.
 */
#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "backend.h"
#include "config.h"
#include "macros.h"
#include "op_args.h"
#include "tap.h"

static bool no_snapshots(const struct endpoint_config *ep _unused_, enum op_kind kind) {
        return kind != OP_SNAPSHOT_CREATE && kind != OP_SNAPSHOT_REVERT && kind != OP_SNAPSHOT_REMOVE;
}

static const struct backend_limits small = {
        .cpu_max = 8, .memory_mib_min = 16, .memory_mib_max = 4096, .memory_mib_step = 16,
        .disk_mib_max = 1024, .name_max = 5,
};
static const struct backend_ops small_ops = { .name = "small", .limits = &small, .supports = no_snapshots };
static struct endpoint_config small_ep = { .name = "e1", .backend = &small_ops };

struct row {
        enum op_kind kind;
        const char *json;
        int parse;             /* op_args_parse()'s answer */
        int check;             /* then op_args_check()'s */
        const char *why;       /* part of the message of the first that failed */
};

static const struct row rows[] = {
        { OP_CPU, "{\"vm\":\"a\",\"count\":8}", 0, 0, NULL },
        { OP_CPU, "{\"vm\":\"a\",\"count\":9}", 0, -EINVAL, "from 1 to 8 (got 9)" },
        { OP_CPU, "{\"vm\":\"a\",\"count\":0}", -EINVAL, 0, "must be from 1" },
        { OP_CPU, "{\"vm\":\"a\",\"count\":\"2\"}", -EINVAL, 0, "must be an integer" },
        { OP_MEMORY, "{\"vm\":\"a\",\"mib\":32}", 0, 0, NULL },
        { OP_MEMORY, "{\"vm\":\"a\",\"mib\":8}", 0, -EINVAL, "from 16 to 4096" },
        { OP_MEMORY, "{\"vm\":\"a\",\"mib\":40}", 0, -EINVAL, "multiple of 16 MiB (got 40)" },
        { OP_DISK_ADD, "{\"vm\":\"a\",\"mib\":1025}", 0, -EINVAL, "from 1 to 1024" },
        { OP_DISK_GROW, "{\"vm\":\"a\",\"disk\":\"1\",\"mib\":1024}", 0, 0, NULL },
        { OP_DISK_GROW, "{\"vm\":\"a\",\"mib\":10}", -EINVAL, 0, "missing argument \"disk\"" },
        /* Five characters, eleven bytes: the limit counts what the operator sees. */
        { OP_RENAME, "{\"vm\":\"a\",\"name\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}", 0, 0, NULL },
        { OP_RENAME, "{\"vm\":\"a\",\"name\":\"abcdef\"}", 0, -EINVAL, "longer than the 5 characters small allows" },
        { OP_CLONE, "{\"vm\":\"a\",\"name\":\"abcdef\"}", 0, -EINVAL, "5 characters" },
        { OP_RENAME, "{\"vm\":\"a\",\"name\":\"\"}", -EINVAL, 0, "must not be empty" },
        { OP_MIGRATE, "{\"vm\":\"a\"}", -EINVAL, 0, "needs a target host" },
        { OP_MIGRATE, "{\"vm\":\"a\",\"host\":\"h\"}", 0, 0, NULL },
        { OP_SNAPSHOT_CREATE, "{\"vm\":\"a\",\"snapshot\":\"s\"}", 0, -EOPNOTSUPP, "cannot do SnapshotCreate" },
        { OP_START, "{}", -EINVAL, 0, "missing argument \"vm\"" },
        { OP_START, "{\"vm\":\"a\"}", 0, 0, NULL },
};

static void test_row(const struct row *t) {
        struct json_object *args = json_tokener_parse(t->json);
        struct op_args a = {};
        enum op_kind kind = t->kind;
        char why[512] = "";

        int p = op_args_parse(&kind, args, &a, why, sizeof why);
        int c = p < 0 ? 0 : op_args_check(kind, &a, &small_ep, why, sizeof why);
        bool ok = p == t->parse && c == t->check;
        if (ok && t->why)
                ok = strstr(why, t->why) ? true : tap_diag("message \"%s\" lacks \"%s\"", why, t->why);
        else if (!ok)
                tap_diag("parse %d check %d (want %d %d): %s", p, c, t->parse, t->check, why);
        tap_ok(ok, "%s %s", op_kind_trail_name(t->kind), t->json);
        json_object_put(args);
}

static void test_guest_stop(void) {
        struct json_object *args = json_tokener_parse("{\"vm\":\"a\",\"guest\":true}");
        struct op_args a = {};
        enum op_kind kind = OP_STOP;
        char why[256];

        int r = op_args_parse(&kind, args, &a, why, sizeof why);
        tap_ok(r == 0 && kind == OP_STOP_GUEST, "stop with guest: true is a guest shutdown");
        json_object_put(args);
}

int main(void) {
        for (size_t i = 0; i < ELEMENTSOF(rows); i++)
                test_row(&rows[i]);
        test_guest_stop();
        return tap_done();
}
