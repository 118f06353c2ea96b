/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for daemon/value.c: the trail's before/after text of every
 * kind, from typed values, as value.h and vmtraced-trail(5) describe it.
 * One table row per case: plain values, the ";config=" part of CPUs and
 * memory, every character that structures a value (\ ; = , ( )) inside
 * names, labels, hosts, datastores and snapshot names, values not known
 * (no text at all), and VMs that are gone ("destroyed").  Then a reader
 * of its own, written from vmtraced-trail(5) alone, reads every kind back
 * from values whose every name part is hostile: a value that could be
 * forged or read two ways fails there.
 */
#include <errno.h>
#include <inttypes.h>
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

/*
 * A reader of the trail's values written apart from value.c, exactly as
 * vmtraced-trail(5) "Escaping" tells one: a part ends at the first
 * character of its kind's separators that no backslash precedes, and a
 * backslash stands for the character after it.  It rebuilds an op_value
 * from the text alone, so two values that wrote the same text would not
 * both read back: an ambiguity or a forged field fails the round trip.
 */

/* The part at *s up to an unescaped character of stops, unescaped; *s left on the stop.  NULL: a lone '\' at the end. */
static char *read_part(const char **s, const char *stops) {
        _cleanup_free_ char *buf = malloc(strlen(*s) + 1);
        const char *p = *s;
        size_t n = 0;

        if (!buf)
                return NULL;
        for (; *p && !strchr(stops, *p); p++) {
                if (*p == '\\' && !*++p)
                        return NULL;
                buf[n++] = *p;
        }
        buf[n] = '\0';
        *s = p;
        return TAKE_PTR(buf);
}

static bool punct(const char **s, char c) {
        if (**s != c)
                return false;
        (*s)++;
        return true;
}

/* "KEY=" (after sep, unless sep is 0). */
static bool key_is(const char **s, char sep, const char *key) {
        _cleanup_free_ char *got = NULL;

        if (sep && !punct(s, sep))
                return false;
        got = read_part(s, "=;");
        return got && strcmp(got, key) == 0 && punct(s, '=');
}

/* [sep]KEY=PART, the part up to the next unescaped ';'. */
static bool field(const char **s, char sep, const char *key, char **part) {
        return key_is(s, sep, key) && (*part = read_part(s, ";"));
}

/* A decimal number, then exactly suffix, up to the next ';'. */
static bool number(const char **s, const char *suffix, int64_t *n) {
        _cleanup_free_ char *got = read_part(s, ";");
        char *end = NULL;

        if (!got || !*got)
                return false;
        *n = strtoll(got, &end, 10);
        return strcmp(end, suffix) == 0;
}

/* ";KEY=N" where it is written; left at 0 where not. */
static bool opt_number(const char **s, const char *key, int64_t *n) {
        const char *p = *s;

        if (!key_is(&p, ';', key))
                return true;
        *s = p;
        return number(s, "", n);
}

static bool power_word(const char **s, enum vm_power *power) {
        _cleanup_free_ char *word = read_part(s, ";");

        for (int p = 0; word && p < _VM_POWER_MAX; p++)
                if (strcmp(word, vm_power_name((enum vm_power) p)) == 0) {
                        *power = (enum vm_power) p;
                        return true;
                }
        return false;
}

/* An empty list is written as nothing; after a separator another element always follows. */
static bool read_disks(const char *s, struct op_value *v) {
        if (!*s)
                return true;
        do {
                _cleanup_free_ char *label = read_part(&s, "=;");
                int64_t mib = 0;

                if (!label || !punct(&s, '=') || !number(&s, "MiB", &mib) || op_value_add_disk(v, label, mib) < 0)
                        return false;
        } while (punct(&s, ';'));
        return !*s;
}

static bool read_migrate(const char *s, struct op_value *v) {
        if (!field(&s, 0, "host", &v->host) || !key_is(&s, ';', "datastore"))
                return false;
        if (!*s)
                return true;
        do {
                _cleanup_free_ char *ds = read_part(&s, ",;");

                if (!ds || op_value_add_datastore(v, ds) < 0)
                        return false;
        } while (punct(&s, ','));
        return !*s;
}

static bool read_tree(const char **s, struct op_value *v, struct op_snapshot *parent) {
        do {
                _cleanup_free_ char *name = read_part(s, ",();");
                struct op_snapshot *at = NULL;

                if (!name || op_value_add_snapshot(v, parent, name, &at) < 0)
                        return false;
                if (punct(s, '(') && !(read_tree(s, v, at) && punct(s, ')')))
                        return false;
        } while (punct(s, ','));
        return true;
}

static bool read_snapshots(const char *s, struct op_value *v) {
        if (!key_is(&s, 0, "tree") || (*s != ';' && !read_tree(&s, v, NULL)))
                return false;
        return field(&s, ';', "current", &v->current_snapshot) && !*s;
}

static bool read_clone(const char *s, struct op_value *v) {
        return field(&s, 0, "name", &v->name) && field(&s, ';', "id", &v->id) && field(&s, ';', "host", &v->host) &&
               !*s;
}

static bool read_destroy(const char *s, struct op_value *v) {
        if (!field(&s, 0, "name", &v->name) || !field(&s, ';', "id", &v->id))
                return false;
        if (!key_is(&s, ';', "power") || !power_word(&s, &v->power) || !field(&s, ';', "host", &v->host))
                return false;
        return opt_number(&s, "cpu", &v->cpus) && opt_number(&s, "memoryMB", &v->memory_mib) && !*s;
}

static bool read_count(const char *s, int64_t *live, int64_t *config, int64_t *max) {
        return number(&s, "", live) && opt_number(&s, "config", config) && opt_number(&s, "max", max) && !*s;
}

/* The text s of kind, read into v (zeroed, known); false where it is not text value.c writes. */
static bool read_value(enum op_kind kind, const char *s, struct op_value *v) {
        *v = (struct op_value) { .known = true };
        switch (kind) {
        case OP_RENAME:
                return (v->name = strdup(s));
        case OP_CPU:
                return read_count(s, &v->cpus, &v->cpus_config, &v->cpus_max);
        case OP_MEMORY:
                return read_count(s, &v->memory_mib, &v->memory_mib_config, &v->memory_mib_max);
        case OP_DISK_GROW:
        case OP_DISK_ADD:
                return read_disks(s, v);
        case OP_CLONE:
                return read_clone(s, v);
        case OP_MIGRATE:
                return read_migrate(s, v);
        case OP_SNAPSHOT_CREATE:
        case OP_SNAPSHOT_REVERT:
        case OP_SNAPSHOT_REMOVE:
                return read_snapshots(s, v);
        case OP_DESTROY:
                return read_destroy(s, v);
        default:
                return power_word(&s, &v->power) && !*s;
        }
}

static bool same_part(const char *a, const char *b) {
        return strcmp(strempty(a), strempty(b)) == 0;
}

static bool same_tree(const struct op_snapshot *a, size_t na, const struct op_snapshot *b, size_t nb) {
        if (na != nb)
                return false;
        for (size_t i = 0; i < na; i++)
                if (!same_part(a[i].name, b[i].name) ||
                    !same_tree(a[i].children, a[i].n_children, b[i].children, b[i].n_children))
                        return false;
        return true;
}

static bool same_lists(const struct op_value *a, const struct op_value *b) {
        if (a->n_disks != b->n_disks || a->n_datastores != b->n_datastores)
                return false;
        for (size_t i = 0; i < a->n_disks; i++)
                if (!same_part(a->disks[i].label, b->disks[i].label) || a->disks[i].mib != b->disks[i].mib)
                        return false;
        for (size_t i = 0; i < a->n_datastores; i++)
                if (!same_part(a->datastores[i], b->datastores[i]))
                        return false;
        return same_tree(a->snapshots, a->n_snapshots, b->snapshots, b->n_snapshots);
}

/* What was put in (a, only its kind's members set) and what was read (b): the same parts. */
static bool same_value(const struct op_value *a, const struct op_value *b) {
        /* A persistent count the same as the live one is not written, as value.h says. */
        int64_t cpus_config = a->cpus_config == a->cpus ? 0 : a->cpus_config;
        int64_t mem_config = a->memory_mib_config == a->memory_mib ? 0 : a->memory_mib_config;

        return same_part(a->name, b->name) && same_part(a->id, b->id) && same_part(a->host, b->host) &&
               a->power == b->power && a->cpus == b->cpus && cpus_config == b->cpus_config &&
               a->cpus_max == b->cpus_max && a->memory_mib == b->memory_mib && mem_config == b->memory_mib_config &&
               a->memory_mib_max == b->memory_mib_max && same_part(a->current_snapshot, b->current_snapshot) &&
               same_lists(a, b);
}

/* A copy fit for one TAP line: control characters (a newline would end it) as '?'. */
static char *shown(const char *s) {
        char *c = strdup(strempty(s));

        for (char *p = c; p && *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        *p = '?';
        return c;
}

/* The kinds a round trip was checked for: every one must be (check_round_trip_coverage). */
static bool tripped[_OP_MAX];

static void check_round_trip(const char *what, enum op_kind kind, const struct op_value *v) {
        _cleanup_free_ char *text = NULL, *name = shown(what), *seen = NULL;
        struct op_value back = {};
        bool ok = value_format(kind, v, &text) == 0 && text && read_value(kind, text, &back) && same_value(v, &back);

        if ((int) kind >= 0 && kind < _OP_MAX)
                tripped[kind] = true;

        if (!tap_ok(ok, "round trip of %s, parts %s", op_kind_trail_name(kind), strempty(name)))
                tap_diag("text: %s", strempty(seen = shown(text)));
        op_value_clear(&back);
}

/* Parts no platform should have, each built to confuse a reader that splits carelessly. */
static const char *const hostile[] = {
        ";", "=", ",", "(", ")", "\\", "trailing\\", "\\;", "", "a\nb", "\x1b[31mred\x1b[0m", "vm-\xc3\xbc\xe2\x82\xac",
        "id=vm-1", ";id=vm-1", "c;id=vm-1;host=FAKEHOST", "x)(y,z", "=5MiB", "1=2MiB;2=3MiB", "tree=a;current=b",
        "a,b(c)", "power=poweredOn", ";cpu=64", "\\\\(", HOSTILE,
};
#define H(i) ((char *) hostile[(i) % ELEMENTSOF(hostile)])

/* Every kind with names, each of its name parts hostile, in every combination the table's rotation gives. */
static void check_hostile(size_t i) {
        struct op_snapshot deep = { .name = H(i + 3) };
        struct op_snapshot kids[] = { { .name = H(i + 1) }, { .name = H(i + 2), .children = &deep, .n_children = 1 } };
        struct op_snapshot roots[] = { { .name = H(i), .children = kids, .n_children = 2 }, { .name = H(i + 4) } };
        struct op_disk disks[] = { { H(i), 1 }, { H(i + 1), 70 } };
        char *datastores[] = { H(i + 1), H(i + 2) };
        const char *what = hostile[i];

        check_round_trip(what, OP_RENAME, &(struct op_value) { .known = true, .name = H(i) });
        check_round_trip(what, OP_CLONE, &(struct op_value) { .known = true, .name = H(i), .id = H(i + 1),
                                                              .host = H(i + 2) });
        check_round_trip(what, OP_DESTROY, &(struct op_value) { .known = true, .name = H(i), .id = H(i + 1),
                                                                .power = VM_POWER_ON, .host = H(i + 2), .cpus = 2 });
        check_round_trip(what, OP_DISK_ADD, &(struct op_value) { .known = true, .disks = disks, .n_disks = 2 });
        check_round_trip(what, OP_DISK_GROW, &(struct op_value) { .known = true, .disks = disks, .n_disks = 1 });
        check_round_trip(what, OP_MIGRATE, &(struct op_value) { .known = true, .host = H(i), .datastores = datastores,
                                                                .n_datastores = 2 });
        for (enum op_kind k = OP_SNAPSHOT_CREATE; k <= OP_SNAPSHOT_REMOVE; k++)
                check_round_trip(what, k, &(struct op_value) { .known = true, .snapshots = roots, .n_snapshots = 2,
                                                               .current_snapshot = H(i + 5) });
        /* A list of one: an empty name there would read as the empty list (check_empty_list). */
        if (*H(i + 3))
                check_round_trip(what, OP_SNAPSHOT_REMOVE, &(struct op_value) { .known = true, .snapshots = &deep,
                                                                                .n_snapshots = 1,
                                                                                .current_snapshot = H(i) });
        if (*H(i + 2))
                check_round_trip(what, OP_MIGRATE, &(struct op_value) { .known = true, .host = H(i + 1),
                                                                        .datastores = datastores + 1,
                                                                        .n_datastores = 1 });
}

/* The kinds without names: numbers and power words read back too. */
static void check_numbers(void) {
        check_round_trip("2;config=4;max=8", OP_CPU, &(struct op_value) { .known = true, .cpus = 2, .cpus_config = 4,
                                                                          .cpus_max = 8 });
        check_round_trip("1;max=4", OP_CPU, &(struct op_value) { .known = true, .cpus = 1, .cpus_max = 4 });
        check_round_trip("4096;config=8192;max=16384", OP_MEMORY,
                         &(struct op_value) { .known = true, .memory_mib = 4096, .memory_mib_config = 8192,
                                              .memory_mib_max = 16384 });
        check_round_trip("destroy with memory", OP_DESTROY, &(struct op_value) { .known = true, .name = "w",
                                                                                 .id = "vm-1", .cpus = 1,
                                                                                 .memory_mib = 512, .host = "h" });
        static const enum op_kind power_kinds[] = { OP_START, OP_STOP, OP_STOP_GUEST, OP_RESET, OP_SUSPEND };

        for (size_t k = 0; k < ELEMENTSOF(power_kinds); k++)
                for (int p = 0; p < _VM_POWER_MAX; p++)
                        check_round_trip(vm_power_name((enum vm_power) p), power_kinds[k],
                                         &(struct op_value) { .known = true, .power = (enum vm_power) p });
}

/*
 * The one place the text does not tell two values apart: a list holding
 * one empty name is written like an empty list ("datastore=", "tree=").
 * A reader takes it as the empty list; pinned here so a change shows.
 */
static void check_empty_list(void) {
        char *empty[] = { (char *) "" };
        _cleanup_free_ char *one = NULL, *none = NULL;
        const struct op_value a = { .known = true, .host = "h", .datastores = empty, .n_datastores = 1 };
        const struct op_value b = { .known = true, .host = "h" };

        tap_ok(value_format(OP_MIGRATE, &a, &one) == 0 && value_format(OP_MIGRATE, &b, &none) == 0 && one && none &&
                       strcmp(one, none) == 0,
               "one empty datastore name is written as no datastore: %s", one ? one : "(null)");
}

/* So a new kind cannot go without a round trip. */
static void check_round_trip_coverage(void) {
        for (int k = 0; k < _OP_MAX; k++)
                tap_ok(tripped[k], "%s (kind %d) is read back", op_kind_trail_name((enum op_kind) k), k);
}

/* Rows written before the escaping keep their text: a name without \ ; = , ( ) is written as it is. */
static void check_plain_unchanged(void) {
        static const char *const plain[] = { "web1", "Hard disk 1", "esx1.example.com", "vm-54", "[ds1] a/b.vmdk",
                                             "snap 2026-01-01 12:00", "DC0_H0", "caf\xc3\xa9" };

        for (size_t i = 0; i < ELEMENTSOF(plain); i++) {
                _cleanup_free_ char *esc = NULL;

                tap_ok(value_escape(plain[i], &esc) == 0 && same(esc, plain[i]), "plain name written as before: %s",
                       plain[i]);
        }
}

int main(void) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                check_case(&cases[i]);
        check_coverage();
        check_forgery();
        check_edges();
        check_deep_tree();
        for (size_t i = 0; i < ELEMENTSOF(hostile); i++)
                check_hostile(i);
        check_numbers();
        check_empty_list();
        check_plain_unchanged();
        check_round_trip_coverage();
        return tap_done();
}
