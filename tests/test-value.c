/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for daemon/value.c: the trail's before/after text of every
 * kind, from typed values, as value.h and vmtraced-trail(5) describe it.
 * One table row per case: plain values, the ";config=" part of CPUs and
 * memory, every character that structures a value (\ ; = , ( )) inside
 * names, labels, hosts, datastores and snapshot names, values not known
 * (no text at all), and VMs that are gone ("destroyed").
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "macros.h"
#include "tap.h"
#include "value.h"

/* Every structuring character, and a backslash of its own. */
#define HOSTILE "a\\b;c=d,e(f)g"
#define HOSTILE_ESC "a\\\\b\\;c\\=d\\,e\\(f\\)g"

#define DISKS(...) .disks = (struct op_disk[]) { __VA_ARGS__ }, \
        .n_disks = sizeof((struct op_disk[]) { __VA_ARGS__ }) / sizeof(struct op_disk)
#define DATASTORES(...) .datastores = (char *[]) { __VA_ARGS__ }, \
        .n_datastores = sizeof((char *[]) { __VA_ARGS__ }) / sizeof(char *)
#define SNAPS(...) (struct op_snapshot[]) { __VA_ARGS__ }, \
        sizeof((struct op_snapshot[]) { __VA_ARGS__ }) / sizeof(struct op_snapshot)
#define LEAF(n) { .name = (n) }

struct value_case {
        const char *what;
        enum op_kind kind;
        struct op_value v;
        const char *want;          /* NULL: no text (the value is not known) */
};

static const struct value_case cases[] = {
        /* A lone name is verbatim: there is nothing in it to confuse with structure. */
        { "rename", OP_RENAME, { .known = true, .name = "web1" }, "web1" },
        { "rename: hostile name verbatim", OP_RENAME, { .known = true, .name = HOSTILE }, HOSTILE },
        { "rename: no name read", OP_RENAME, { .known = true }, "" },

        { "cpu", OP_CPU, { .known = true, .cpus = 2 }, "2" },
        { "cpu: next boot differs", OP_CPU, { .known = true, .cpus = 2, .cpus_config = 4 }, "2;config=4" },
        { "cpu: next boot the same", OP_CPU, { .known = true, .cpus = 4, .cpus_config = 4 }, "4" },
        { "cpu: memory's config is not the CPUs'", OP_CPU, { .known = true, .cpus = 1, .memory_mib_config = 9 }, "1" },
        { "memory", OP_MEMORY, { .known = true, .memory_mib = 4096 }, "4096" },
        { "memory: next boot differs", OP_MEMORY, { .known = true, .memory_mib = 4096, .memory_mib_config = 8192 },
          "4096;config=8192" },
        { "memory: next boot the same", OP_MEMORY, { .known = true, .memory_mib = 512, .memory_mib_config = 512 },
          "512" },

        { "disk grow", OP_DISK_GROW, { .known = true, DISKS({ "Hard disk 1", 2048 }) }, "Hard disk 1=2048MiB" },
        { "disk add: every disk", OP_DISK_ADD, { .known = true, DISKS({ "Hard disk 1", 1 }, { "Hard disk 2", 10 }) },
          "Hard disk 1=1MiB;Hard disk 2=10MiB" },
        { "disk: hostile label", OP_DISK_ADD, { .known = true, DISKS({ HOSTILE, 5 }, { "vda", 7 }) },
          HOSTILE_ESC "=5MiB;vda=7MiB" },
        { "disk: no disks", OP_DISK_ADD, { .known = true }, "" },

        { "start: poweredOn", OP_START, { .known = true, .power = VM_POWER_ON }, "poweredOn" },
        { "stop: poweredOff", OP_STOP, { .known = true, .power = VM_POWER_OFF }, "poweredOff" },
        { "stop guest: poweredOff", OP_STOP_GUEST, { .known = true, .power = VM_POWER_OFF }, "poweredOff" },
        { "reset: crashed", OP_RESET, { .known = true, .power = VM_POWER_CRASHED }, "crashed" },
        { "suspend: suspended", OP_SUSPEND, { .known = true, .power = VM_POWER_SUSPENDED }, "suspended" },
        { "suspend: paused", OP_SUSPEND, { .known = true, .power = VM_POWER_PAUSED }, "paused" },
        { "start: a state no word fits", OP_START, { .known = true, .power = VM_POWER_UNKNOWN }, "unknown" },
        { "stop: a power number out of range", OP_STOP, { .known = true, .power = _VM_POWER_MAX + 3 }, "unknown" },

        { "clone", OP_CLONE, { .known = true, .name = "web2", .id = "vm-54", .host = "esx1" },
          "name=web2;id=vm-54;host=esx1" },
        /* The reason for the escaping: no second id= can be forged by a name. */
        { "clone: a name that tries to forge fields", OP_CLONE,
          { .known = true, .name = "c;id=vm-1;host=FAKEHOST", .id = "vm-9", .host = "esx1" },
          "name=c\\;id\\=vm-1\\;host\\=FAKEHOST;id=vm-9;host=esx1" },
        { "clone: hostile id and host", OP_CLONE, { .known = true, .name = "n", .id = HOSTILE, .host = HOSTILE },
          "name=n;id=" HOSTILE_ESC ";host=" HOSTILE_ESC },
        { "clone: parts not read", OP_CLONE, { .known = true }, "name=;id=;host=" },

        { "migrate", OP_MIGRATE, { .known = true, .host = "esx1", DATASTORES("ds1", "ds2") },
          "host=esx1;datastore=ds1,ds2" },
        { "migrate: hostile host and datastores", OP_MIGRATE,
          { .known = true, .host = "e;s=x", DATASTORES("d,1", "d(2)", HOSTILE) },
          "host=e\\;s\\=x;datastore=d\\,1,d\\(2\\)," HOSTILE_ESC },
        { "migrate: no datastore", OP_MIGRATE, { .known = true, .host = "esx1" }, "host=esx1;datastore=" },

        { "snapshot create: a tree", OP_SNAPSHOT_CREATE,
          { .known = true, .current_snapshot = "s4",
            .snapshots = (struct op_snapshot[]) {
                    { .name = "s1", .children = SNAPS(LEAF("s2"), { .name = "s3", .children = SNAPS(LEAF("s4")) }) },
                    LEAF("s5"),
            },
            .n_snapshots = 2 },
          "tree=s1(s2,s3(s4)),s5;current=s4" },
        { "snapshot revert: no snapshots", OP_SNAPSHOT_REVERT, { .known = true }, "tree=;current=" },
        { "snapshot remove: hostile names", OP_SNAPSHOT_REMOVE,
          { .known = true, .current_snapshot = HOSTILE,
            .snapshots = (struct op_snapshot[]) { { .name = "p(q)", .children = SNAPS(LEAF(HOSTILE)) } },
            .n_snapshots = 1 },
          "tree=p\\(q\\)(" HOSTILE_ESC ");current=" HOSTILE_ESC },

        { "destroy", OP_DESTROY,
          { .known = true, .name = "web1", .id = "vm-42", .power = VM_POWER_OFF, .host = "esx1", .cpus = 2,
            .memory_mib = 4096 },
          "name=web1;id=vm-42;power=poweredOff;host=esx1;cpu=2;memoryMB=4096" },
        { "destroy: numbers not read", OP_DESTROY, { .known = true, .name = "w", .id = "vm-1", .host = "h" },
          "name=w;id=vm-1;power=unknown;host=h" },
        { "destroy: hostile name and host", OP_DESTROY,
          { .known = true, .name = "x;id=vm-1", .id = "vm-7", .power = VM_POWER_ON, .host = HOSTILE },
          "name=x\\;id\\=vm-1;id=vm-7;power=poweredOn;host=" HOSTILE_ESC },

        /* Gone: the platform no longer knows the VM, whatever the kind. */
        { "destroy: gone", OP_DESTROY, { .known = true, .gone = true, .name = "web1" }, "destroyed" },
        /* Only a destroy says "destroyed": a rename to that word must not read as a VM gone. */
        { "cpu: gone", OP_CPU, { .known = true, .gone = true, .cpus = 2 }, NULL },
        { "rename: gone", OP_RENAME, { .known = true, .gone = true, .name = "web1" }, NULL },
        { "rename to \"destroyed\"", OP_RENAME, { .known = true, .name = "destroyed" }, "destroyed" },

        /* Not known: no text at all (NULL in the trail), whatever else the value holds. */
        { "rename: not known", OP_RENAME, { .name = "web1" }, NULL },
        { "cpu: not known", OP_CPU, { .cpus = 2, .cpus_config = 4 }, NULL },
        { "clone: not known", OP_CLONE, { .name = "n", .id = "vm-1" }, NULL },
        { "destroy: gone but not known", OP_DESTROY, { .gone = true }, NULL },
};

static bool same(const char *got, const char *want) {
        return (!got && !want) || (got && want && strcmp(got, want) == 0);
}

static void check_case(const struct value_case *c) {
        _cleanup_free_ char *got = NULL;
        int r = value_format(c->kind, &c->v, &got);

        if (!tap_ok(r == 0 && same(got, c->want), "%s", c->what))
                tap_diag("r=%d got: %s, want: %s", r, got ? got : "(null)", c->want ? c->want : "(null)");
}

/* Fields a reader finds by splitting at the ';' that are not escaped. */
static size_t fields_with(const char *s, const char *key) {
        size_t n = 0, klen = strlen(key);
        bool start = true;

        for (; *s; s++) {
                if (start && strncmp(s, key, klen) == 0)
                        n++;
                start = false;
                if (*s == '\\' && s[1])
                        s++;
                else if (*s == ';')
                        start = true;
        }
        return n;
}

/* Every kind has a row, so a new kind cannot go untested. */
static void check_coverage(void) {
        for (int k = 0; k < _OP_MAX; k++) {
                bool found = false;

                for (size_t i = 0; i < ELEMENTSOF(cases) && !found; i++)
                        found = (int) cases[i].kind == k && cases[i].want && cases[i].v.known && !cases[i].v.gone;
                tap_ok(found, "the table has a value of %s (kind %d)", op_kind_trail_name((enum op_kind) k), k);
        }
}

static void check_forgery(void) {
        const struct op_value v = { .known = true, .name = "c;id=vm-1;host=FAKEHOST", .id = "vm-9", .host = "h;id=x" };
        _cleanup_free_ char *clone = NULL, *destroy = NULL;

        if (value_format(OP_CLONE, &v, &clone) < 0 || value_format(OP_DESTROY, &v, &destroy) < 0) {
                tap_ok(false, "formatting for the forgery checks");
                return;
        }
        tap_ok(fields_with(clone, "id=") == 1 && fields_with(clone, "host=") == 1,
               "clone: a reader finds one id= and one host= field: %s", clone);
        tap_ok(fields_with(destroy, "id=") == 1 && fields_with(destroy, "power=") == 1,
               "destroy: a reader finds one id= and one power= field: %s", destroy);
}

static void check_edges(void) {
        char *out = (char *) "untouched";
        const struct op_value plain = { .known = true, .name = "x" };

        tap_ok(value_format(OP_RENAME, NULL, &out) == 0 && !out, "no value at all: no text");
        out = (char *) "untouched";
        tap_ok(value_format(_OP_MAX, &plain, &out) == 0 && out && !*out, "a kind value.c does not know: empty text");
        free(out);

        _cleanup_free_ char *esc = NULL, *none = NULL;
        int r = value_escape(HOSTILE, &esc);
        tap_ok(r == 0 && same(esc, HOSTILE_ESC), "value_escape: %s", esc ? esc : "(null)");
        r = value_escape(NULL, &none);
        tap_ok(r == 0 && same(none, ""), "value_escape of NULL: empty");
}

/* Names and the balance of the parentheses in a tree's text. */
static void tree_shape(const char *s, int *names, int *depth, bool *balanced) {
        int open = 0;

        *names = *depth = 0;
        *balanced = true;
        for (s += strlen("tree="); *s && *s != ';'; s++) {
                if (*s == '(' && ++open > *depth)
                        *depth = open;
                else if (*s == ')')
                        *balanced = *balanced && open-- > 0;
                else if (*s != ',')
                        (*names)++;
        }
        *balanced = *balanced && open == 0;
}

/* A tree deeper than the trail writes is cut at 64 levels, built with the op_value helpers. */
static void check_deep_tree(void) {
        struct op_value v = { .known = true };
        struct op_snapshot *parent = NULL;
        _cleanup_free_ char *got = NULL;
        int r = 0, names = 0, depth = 0;
        bool balanced = false;

        for (int i = 0; i < 70 && r >= 0; i++)
                r = op_value_add_snapshot(&v, parent, (char[]) { (char) ('a' + i % 26), '\0' }, &parent);
        r = r < 0 ? r : value_format(OP_SNAPSHOT_CREATE, &v, &got);
        if (r == 0 && got)
                tree_shape(got, &names, &depth, &balanced);
        tap_ok(r == 0 && got && strncmp(got, "tree=a(b(c(d(", 13) == 0 && names == 64 && balanced,
               "a tree 70 deep is written 64 names deep, parentheses balanced");
        /* "s()" would read as a child with an empty name. */
        tap_ok(got && !strstr(got, "()"), "no empty child list where the tree is cut");
        op_value_clear(&v);
}

int main(void) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                check_case(&cases[i]);
        check_coverage();
        check_forgery();
        check_edges();
        check_deep_tree();
        return tap_done();
}
