/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for daemon/policy.c: policy_check() over a table of peers,
 * commands, endpoints and VMs, against the rules of the example
 * (group vmops may do everything; alice may only start and stop web-* on
 * vc1); and the command table (commands.c) the gates and the rule words
 * are derived from.  Peers use uids and gids that have no entry in the system
 * databases, so their names are their decimal ids (as util.c promises) and
 * the test does not depend on the machine's users.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
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

static const struct command *find(const char *name) {
        for (const struct command *cmd = commands; cmd->name; cmd++)
                if (strcmp(cmd->name, name) == 0)
                        return cmd;
        return NULL;
}

/* What one line of the command table says, as the manual tells operators. */
struct tcommand {
        const char *name;
        enum command_access access;
        const char *policy;   /* NULL: none */
        const char *trail;    /* NULL: none */
        bool while_stopping;
};

static const struct tcommand expected[] = {
        { "ping", COMMAND_OPEN, NULL, NULL, true },
        { "whoami", COMMAND_OPEN, NULL, NULL, false },
        { "status", COMMAND_OPEN, NULL, NULL, true },
        { "cancel", COMMAND_OWNER, NULL, "CancelOperation", false },
        { "list", COMMAND_POLICY, "list", "ListVMs", false },
        { "show", COMMAND_TARGET, "show", "ShowVM", false },
        { "snapshot-create", COMMAND_TARGET, "snapshot", "SnapshotCreate", false },
        { "snapshot-revert", COMMAND_TARGET, "snapshot", "SnapshotRevert", false },
        { "snapshot-remove", COMMAND_TARGET, "snapshot", "SnapshotRemove", false },
        { "disk-grow", COMMAND_TARGET, "disk", "ModifyDisk", false },
        { "disk-add", COMMAND_TARGET, "disk", "ModifyDisk", false },
        { "stop", COMMAND_TARGET, "stop", "StopVM", false },
        { "rename", COMMAND_TARGET, "rename", "RenameVM", false },
};

static bool same(const char *a, const char *b) {
        return a == b || (a && b && strcmp(a, b) == 0);
}

static void test_expected(void) {
        for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
                const struct tcommand *t = &expected[i];
                const struct command *cmd = find(t->name);

                tap_ok(cmd && cmd->access == t->access && same(cmd->policy, t->policy) && same(cmd->trail, t->trail) &&
                               cmd->while_stopping == t->while_stopping,
                       "%s: access %d, policy word %s, trail name %s, %s while stopping", t->name, t->access,
                       strempty(t->policy), strempty(t->trail), t->while_stopping ? "served" : "refused");
        }
}

/* A VM operation's line agrees with the rest of the daemon: it is recorded under its kind's trail name. */
static bool operation_consistent(const struct command *cmd) {
        return cmd->access == COMMAND_TARGET && cmd->recorded && cmd->handler &&
               same(cmd->trail, op_kind_trail_name(cmd->kind));
}

/* The rules one line of the table must keep; a line added later keeps them too.  Returns the number broken. */
static int check_line(const struct command *cmd) {
        bool governed = cmd->access == COMMAND_POLICY || cmd->access == COMMAND_TARGET;
        int broken = 0;

        if (governed != (cmd->policy != NULL) || (cmd->policy && !policy_command_valid(cmd->policy)))
                broken += !tap_ok(false, "%s: a policy word exactly when the policy decides it", cmd->name);
        if (cmd->access != COMMAND_OPEN && !cmd->trail)
                broken += !tap_ok(false, "%s: can be refused, so it needs a trail name for the DENIED row", cmd->name);
        if (cmd->kind != COMMAND_NO_OP && !operation_consistent(cmd))
                broken += !tap_ok(false, "%s: a VM operation, recorded under its kind's trail name", cmd->name);
        if (cmd->kind == COMMAND_NO_OP && cmd->recorded)
                broken += !tap_ok(false, "%s: only VM operations are recorded", cmd->name);
        return broken;
}

static void test_table_rules(void) {
        bool seen[_OP_MAX] = {};
        size_t n = 0;
        int broken = 0;

        for (const struct command *cmd = commands; cmd->name; cmd++, n++) {
                broken += check_line(cmd);
                if (cmd->kind != COMMAND_NO_OP && seen[cmd->kind])
                        broken += !tap_ok(false, "%s: another command has its kind already", cmd->name);
                if (cmd->kind != COMMAND_NO_OP)
                        seen[cmd->kind] = true;
                for (const struct command *other = commands; other != cmd; other++)
                        if (strcmp(other->name, cmd->name) == 0)
                                broken += !tap_ok(false, "%s: listed twice", cmd->name);
        }
        tap_ok(n > 0 && broken == 0, "the table's %zu commands keep its rules", n);
        /* "stop" with "guest": true runs OP_STOP_GUEST: every other kind has a command. */
        int missing = 0;
        for (int k = 0; k < _OP_MAX; k++)
                if (!seen[k] && k != OP_STOP_GUEST)
                        missing += !tap_ok(false, "operation kind %d (%s) has a command", k,
                                           op_kind_trail_name((enum op_kind) k));
        tap_ok(missing == 0, "every operation kind has a command");
}

static void test_words(void) {
        tap_ok(policy_command_valid("snapshot") && policy_command_valid("disk") && policy_command_valid("list"),
               "snapshot, disk and list are rule words");
        tap_ok(!policy_command_valid("snapshot-create") && !policy_command_valid("disk-grow"),
               "wire names of grouped commands are not rule words");
        tap_ok(!policy_command_valid("whoami") && !policy_command_valid("cancel") && !policy_command_valid("*"),
               "whoami, cancel and * are not rule words");
}

int main(void) {
        test_table();
        test_no_rules();
        test_expected();
        test_table_rules();
        test_words();
        return tap_done();
}
