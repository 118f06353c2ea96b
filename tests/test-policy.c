/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for daemon/policy.c: policy_check() over a table of peers,
 * commands, endpoints and VMs, against the rules of the example
 * (group vmops may do everything; alice may only start and stop web-* on
 * vc1).  Peers use uids and gids that have no entry in the system
 * databases, so their names are their decimal ids (as util.c promises) and
 * the test does not depend on the machine's users.
 */
#include <stdio.h>
#include <string.h>

#include "control.h"
#include "macros.h"
#include "policy.h"
#include "tap.h"

#define ALICE   50001u
#define BOB     50002u
#define CAROL   50003u
#define VMOPS   60001u   /* group */
#define ADMINS  60002u   /* group */
#define OTHER   60003u   /* group */

static struct policy_rule r_alice = {
        .name = "alice-web",
        .users = (char *[]) { "50001", NULL },
        .commands = (char *[]) { "start", "stop", NULL },
        .vms = (char *[]) { "web-*", NULL },
        .endpoints = (char *[]) { "vc1", NULL },
};
static struct policy_rule r_vmops = {
        .name = "vmops",
        .groups = (char *[]) { "60001", NULL },
        .commands = (char *[]) { "*", NULL },
        .next = &r_alice,
};
static struct policy_rule r_carol = {
        .name = "carol-lists",
        .users = (char *[]) { "50003", NULL },
        .commands = (char *[]) { "list", "show", "snapshot", NULL },
        .vms = (char *[]) { "db-?", "app-[0-9]*", NULL },
        .next = &r_vmops,
};

static struct peer mkpeer(uid_t uid, gid_t gid, gid_t extra) {
        struct peer p = { .uid = uid, .gid = gid, .pid = 1, .loginuid = PEER_UNSET, .sessionid = PEER_UNSET };

        snprintf(p.user, sizeof p.user, "%u", (unsigned) uid);
        snprintf(p.group, sizeof p.group, "%u", (unsigned) gid);
        p.groups[p.n_groups++] = gid;
        if (extra)
                p.groups[p.n_groups++] = extra;
        return p;
}

struct tcase {
        const char *what;
        uid_t uid;
        gid_t gid, extra;
        const char *command, *endpoint, *vm;
        bool allowed;
        const char *why;    /* substring of the reason */
};

static const struct tcase cases[] = {
        { "root may do anything", 0, 0, 0, "destroy", "vc2", "db-1", true, "root" },
        { "admin-group member may do anything", BOB, OTHER, ADMINS, "migrate", "vc2", "x", true, "admin-group 60002" },
        { "admin-group as primary group", BOB, ADMINS, 0, "clone", NULL, NULL, true, "admin-group" },
        { "vmops by supplementary group: rename", BOB, OTHER, VMOPS, "rename", "vc2", "db-1", true, "rule \"vmops\"" },
        { "vmops by primary group: destroy", BOB, VMOPS, 0, "destroy", "vc1", "anything", true, "vmops" },
        { "alice: start web-1 on vc1", ALICE, OTHER, 0, "start", "vc1", "web-1", true, "rule \"alice-web\"" },
        { "alice: stop web-frontend on vc1", ALICE, OTHER, 0, "stop", "vc1", "web-frontend", true, "alice-web" },
        { "alice: start web-1 on vc2 refused", ALICE, OTHER, 0, "start", "vc2", "web-1", false, "default deny" },
        { "alice: start db-1 on vc1 refused", ALICE, OTHER, 0, "start", "vc1", "db-1", false, "\"alice-web\"" },
        { "alice: rename web-1 refused", ALICE, OTHER, 0, "rename", "vc1", "web-1", false, "no rule grants rename" },
        { "alice: pattern is anchored (xweb-1)", ALICE, OTHER, 0, "start", "vc1", "xweb-1", false, "default deny" },
        { "alice: dispatch check, start, VM not yet known", ALICE, OTHER, 0, "start", NULL, NULL, true, "alice-web" },
        { "alice: dispatch check, destroy", ALICE, OTHER, 0, "destroy", NULL, NULL, false, "default deny" },
        { "bob without groups: nothing", BOB, OTHER, 0, "start", "vc1", "web-1", false,
          "no rule names this user" },
        { "bob: even list", BOB, OTHER, 0, "list", NULL, NULL, false, "default deny" },
        { "carol: snapshot db-1 (? pattern)", CAROL, OTHER, 0, "snapshot", "vc9", "db-1", true, "carol-lists" },
        { "carol: snapshot db-12 refused", CAROL, OTHER, 0, "snapshot", "vc9", "db-12", false, "default deny" },
        { "carol: show app-7x (bracket pattern)", CAROL, OTHER, 0, "show", "vc1", "app-7x", true, "carol-lists" },
        { "carol: start app-7 refused", CAROL, OTHER, 0, "start", "vc1", "app-7", false, "carol-lists" },
        { "carol: uid as number matches, not as gid", OTHER, CAROL, 0, "list", NULL, NULL, false, "default deny" },
};

static void test_table(void) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const struct tcase *t = &cases[i];
                struct peer p = mkpeer(t->uid, t->gid, t->extra);
                char why[512];
                bool ok = policy_check(&r_carol, "60002", &p, t->command, t->endpoint, t->vm, why, sizeof why);

                tap_ok(ok == t->allowed && strstr(why, t->why), "%s (%s: %s)", t->what, ok ? "allowed" : "denied",
                       why);
        }
}

static void test_no_rules(void) {
        struct peer p = mkpeer(ALICE, OTHER, 0);
        char why[512];

        tap_ok(!policy_check(NULL, NULL, &p, "start", "vc1", "web-1", why, sizeof why),
               "no rules, no admin group: denied");
        tap_ok(!policy_is_admin(NULL, &p), "not an admin without an admin group");
        p = mkpeer(0, 0, 0);
        tap_ok(policy_check(NULL, NULL, &p, "destroy", "vc1", "x", why, sizeof why), "no rules: root still allowed");
}

static void test_commands(void) {
        char buf[64];

        tap_ok(strcmp(policy_command_for_op(OP_SNAPSHOT_REVERT), "snapshot") == 0, "snapshot revert is \"snapshot\"");
        tap_ok(strcmp(policy_command_for_op(OP_STOP_GUEST), "stop") == 0, "guest shutdown is \"stop\"");
        tap_ok(strcmp(policy_command_for_op(OP_DISK_ADD), "disk") == 0, "disk add is \"disk\"");
        for (int k = 0; k < _OP_MAX; k++)
                if (!policy_command_valid(policy_command_for_op((enum op_kind) k)))
                        tap_ok(false, "operation %d has a valid policy command", k);
        tap_ok(true, "every operation maps to a valid policy command");
        policy_command_for_wire("snapshot-create", buf, sizeof buf);
        tap_ok(strcmp(buf, "snapshot") == 0, "wire snapshot-create is \"snapshot\"");
        policy_command_for_wire("rename", buf, sizeof buf);
        tap_ok(strcmp(buf, "rename") == 0, "wire rename is \"rename\"");
        tap_ok(!policy_command_valid("whoami") && !policy_command_valid("*"), "whoami and * are not rule commands");
}

int main(void) {
        test_table();
        test_no_rules();
        test_commands();
        return tap_done();
}
