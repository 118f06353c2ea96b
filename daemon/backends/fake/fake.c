/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fake backend: a platform that is one JSON file, so that the daemon's
 * trail lifecycle can be tested end to end without vCenter
 * (tests/vmtraced-fake, tests/lifecycle.test).  It is built for "make
 * check" only and never installed.  Fault injection lives here, behind the
 * same backend interface as a real platform, never in the daemon.
 *
 * The endpoint's url names the file: url = fake:///tmp/x/platform.json.
 * Every request opens it, takes flock(LOCK_EX), reads it, writes it back
 * in place when it changed, and lets go.  So a test sees and edits what
 * the platform holds with jq under flock(1), as an independent witness,
 * and a daemon killed in mid-operation finds its tasks again at restart.
 *
 *   { "hosts": ["h1", ...], "datastores": ["ds1", ...],
 *     "vms": [ { "name", "id", "uuid", "host", "power" (a trail power word),
 *                "cpus", "cpus_config", "memory_mib", "memory_mib_config",
 *                "disks": [ { "label", "mib" } ], "datastores": [ ... ],
 *                "snapshots": [ { "name", "children": [ ... ] } ], "current_snapshot" } ],
 *     "tasks": { "task-N": { "kind", "vm", "args", "opid", "inject", "result",
 *                            "state": "running" | "success" | "error", "applied",
 *                            "fault", "message" } },
 *     "next_id": N,                       for new VM and task ids
 *     "requests": [ { "call", "opid" } ], every request, in order
 *     "events": [ { "vm", "text", "opid" } ],  what post_event() posted
 *     "unsupported": [ KIND, ... ],        what supports() refuses
 *     "faults": { ... } }
 *
 * A *_config member is the next-boot setting where it differs from the
 * live one.  KIND is the request's name: "rename", "cpu", "memory",
 * "disk-grow", "disk-add", "start", "stop", "stop-guest", "reset",
 * "suspend", "clone", "migrate", "snapshot-create", "snapshot-revert",
 * "snapshot-remove", "destroy".  The switches in "faults":
 *
 *   KIND.fault, KIND.message  the task fails with this platform fault; nothing changes
 *   KIND.slow_ms              the task runs this long, reports progress, and can be
 *                             cancelled (fault "Cancelled")
 *   KIND.hang = "task"        the task is created, then nothing happens until the
 *                             test sets its state (or HANG_MAX_MS pass)
 *   KIND.hang = "before"      perform waits before any task exists, until the
 *                             switch is removed
 *   KIND.lose_answer          the change is made, but its answer is lost (-ECONNRESET)
 *   KIND.uncancellable        with slow_ms: asked to cancel, the backend only stops
 *                             waiting (-EINTR, fault "Canceled"); the task runs on,
 *                             as a guest shutdown does
 *   expire_session = N        the next N requests find the session expired (-EKEYEXPIRED)
 *   login = { fault, message }    login fails
 *   post_event = { fault, message }  posting the event fails (the operation does not)
 *
 * The switches of KIND are copied into the task when it is created
 * ("inject"), so the file shows what each task was told to do.  A task
 * that a test moves to "success" is carried out at the next request, as a
 * platform finishes its tasks while nobody watches.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "config.h"
#include "macros.h"
#include "proto.h"
#include "util.h"

#define FAKE_SCHEME "fake://"
#define STEP_MS 50                      /* how often a running task looks at the file and the hooks */
#define HANG_MAX_MS (120 * 1000)        /* a hang ends by itself, so a forgotten test does not block forever */
#define FIRST_ID 100                    /* new VM and task ids, unless the file says */
#define TREE_DEPTH_MAX 64               /* as deep as value.c writes a snapshot tree */

/* Small and distinct from any real platform's, so tests see the daemon apply a backend's own limits. */
static const struct backend_limits fake_limits = {
        .cpu_max = 64,
        .memory_mib_min = 8,
        .memory_mib_max = 65536,
        .memory_mib_step = 8,
        .disk_mib_max = 1024 * 1024,
        .name_max = 40,
};

/* Used by one worker thread at a time (the pool's rule); ep outlives it. */
struct backend_session {
        const struct endpoint_config *ep;
        const char *path;          /* the platform's file: the url after "fake://" */
        unsigned round_trips;      /* every open of the file */
        bool logged_in;
};

/* The platform's state for the length of one request: the file, locked, and its parsed content. */
struct platform {
        int fd;
        struct json_object *root;
        bool dirty;                /* write it back */
};
#define PLATFORM_INIT { .fd = -1 }

/* ---- JSON ----------------------------------------------------------------- */

static struct json_object *jget(struct json_object *o, const char *key) {
        struct json_object *v = NULL;

        return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static const char *jstr(struct json_object *o, const char *key) {
        struct json_object *v = jget(o, key);

        return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int64_t jint(struct json_object *o, const char *key) {
        return json_object_get_int64(jget(o, key));
}

static size_t jlen(struct json_object *a) {
        return json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

/* o[key] = v, taking v; -ENOMEM when v could not be made. */
static int jset(struct json_object *o, const char *key, struct json_object *v) {
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* o[key] = s, or null when s is NULL. */
static int jset_str(struct json_object *o, const char *key, const char *s) {
        if (!s)
                return json_object_object_add(o, key, NULL) < 0 ? -ENOMEM : 0;
        return jset(o, key, json_object_new_string(s));
}

static int jpush(struct json_object *a, struct json_object *v) {
        if (!v || json_object_array_add(a, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* o[key] as a container of type, made empty when missing or of another type. */
static struct json_object *jmember(struct json_object *o, const char *key, enum json_type type) {
        struct json_object *v = jget(o, key);

        if (json_object_is_type(v, type))
                return v;
        v = type == json_type_array ? json_object_new_array() : json_object_new_object();
        return jset(o, key, v) < 0 ? NULL : v;
}

/* ---- The file ------------------------------------------------------------ */

static void platform_close(struct platform *p) {
        json_object_put(p->root);
        p->root = NULL;
        /* The lock goes with the descriptor. */
        if (p->fd >= 0)
                close(p->fd);
        p->fd = -1;
}

static int platform_load(const char *path, bool write, struct platform *p, struct op_error *err) {
        p->fd = open(path, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
        if (p->fd < 0 || flock(p->fd, write ? LOCK_EX : LOCK_SH) < 0) {
                op_error_set(err, OP_FAULT_CONNECTION, "cannot reach the fake platform %s: %m", path);
                platform_close(p);
                return -ECONNREFUSED;
        }
        p->root = json_object_from_fd(p->fd);
        if (!json_object_is_type(p->root, json_type_object)) {
                op_error_set(err, "InvalidResponse", "the fake platform %s holds no JSON object: %s", path,
                             json_util_get_last_err() ?: "not an object");
                platform_close(p);
                return -EPROTO;
        }
        return 0;
}

/* In place, so the file keeps the inode that the lock and a waiting flock(1) hold. */
static int platform_save(struct platform *p, struct op_error *err) {
        if (!p->dirty)
                return 0;
        if (lseek(p->fd, 0, SEEK_SET) < 0 || ftruncate(p->fd, 0) < 0 ||
            json_object_to_fd(p->fd, p->root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE) < 0) {
                op_error_set(err, OP_FAULT_CONNECTION, "cannot write the fake platform: %m");
                return -EIO;
        }
        p->dirty = false;
        return 0;
}

/* Save and let go; the first failure, r's or the save's, is the answer. */
static int platform_done(struct platform *p, int r, struct op_error *err) {
        struct op_error e = {};
        int k = platform_save(p, &e);

        platform_close(p);
        if (r >= 0 && k < 0) {
                *err = e;
                return k;
        }
        return r;
}

static int64_t next_id(struct platform *p) {
        int64_t n = jint(p->root, "next_id");

        if (n < 1)
                n = FIRST_ID;
        p->dirty = true;
        return jset(p->root, "next_id", json_object_new_int64(n + 1)) < 0 ? -ENOMEM : n;
}


/* An answer of the platform that says no (nothing was changed): -EREMOTEIO with the fault. */
#define platform_fault(err, fault, ...) (op_error_set((err), (fault), __VA_ARGS__), -EREMOTEIO)

/* ---- VMs ------------------------------------------------------------------ */

static struct json_object *vm_by_id(struct platform *p, const char *id) {
        struct json_object *vms = jget(p->root, "vms");

        for (size_t i = 0; id && i < jlen(vms); i++) {
                const char *v = jstr(json_object_array_get_idx(vms, i), "id");
                if (v && strcmp(v, id) == 0)
                        return json_object_array_get_idx(vms, i);
        }
        return NULL;
}

/* The VM named name (other than self), and how many there are. */
static struct json_object *vm_by_name(struct platform *p, const char *name, struct json_object *self, size_t *count) {
        struct json_object *vms = jget(p->root, "vms"), *found = NULL;

        *count = 0;
        for (size_t i = 0; i < jlen(vms); i++) {
                struct json_object *vm = json_object_array_get_idx(vms, i);
                const char *n = jstr(vm, "name");

                if (vm != self && n && strcmp(n, name) == 0) {
                        found = vm;
                        (*count)++;
                }
        }
        return found;
}

/* The one VM named name; -ENOENT, or -ENOTUNIQ with the candidates, as backend.h says. */
static int vm_find(struct platform *p, const char *name, struct json_object **out, struct op_error *err) {
        struct json_object *vms = jget(p->root, "vms");
        size_t count, used, listed = 0;

        *out = vm_by_name(p, name, NULL, &count);
        if (count == 0) {
                op_error_set(err, OP_FAULT_NOT_FOUND, "VM \"%s\" not found on the fake platform", name);
                return -ENOENT;
        }
        if (count == 1)
                return 0;
        op_error_set(err, OP_FAULT_AMBIGUOUS, "%zu VMs named \"%s\": ", count, name);
        used = strlen(err->message);
        for (size_t i = 0; i < jlen(vms) && used < sizeof err->message; i++) {
                struct json_object *vm = json_object_array_get_idx(vms, i);
                const char *n = jstr(vm, "name");

                if (!n || strcmp(n, name) != 0)
                        continue;
                int k = snprintf(err->message + used, sizeof err->message - used, "%s%s (host %s)",
                                 listed++ ? ", " : "", strempty(jstr(vm, "id")), strempty(jstr(vm, "host")));
                used += k > 0 ? (size_t) k : 0;
        }
        return -ENOTUNIQ;
}

static bool list_has(struct json_object *list, const char *name) {
        for (size_t i = 0; name && i < jlen(list); i++) {
                const char *n = json_object_get_string(json_object_array_get_idx(list, i));
                if (n && strcmp(n, name) == 0)
                        return true;
        }
        return false;
}

static enum vm_power power_of(struct json_object *vm) {
        const char *word = jstr(vm, "power");

        for (int k = 0; word && k < _VM_POWER_MAX; k++)
                if (strcmp(vm_power_name((enum vm_power) k), word) == 0)
                        return (enum vm_power) k;
        return VM_POWER_UNKNOWN;
}

static int dup_into(char **dst, const char *src) {
        free(*dst);
        *dst = src ? strdup(src) : NULL;
        return src && !*dst ? -ENOMEM : 0;
}

static int fill_target(struct json_object *vm, struct vm_target *t) {
        if (dup_into(&t->name, jstr(vm, "name")) < 0 || dup_into(&t->id, jstr(vm, "id")) < 0 ||
            dup_into(&t->uuid, jstr(vm, "uuid")) < 0 || dup_into(&t->host, jstr(vm, "host")) < 0)
                return -ENOMEM;
        return 0;
}

/* A disk by its label, or by its number in the VM's list (1 is the first). */
static struct json_object *disk_find(struct json_object *vm, const char *which) {
        struct json_object *disks = jget(vm, "disks");
        char *end = NULL;
        long k = which ? strtol(which, &end, 10) : 0;

        if (which && *which && end && !*end && k >= 1 && (size_t) k <= jlen(disks))
                return json_object_array_get_idx(disks, (size_t) k - 1);
        for (size_t i = 0; which && i < jlen(disks); i++) {
                const char *l = jstr(json_object_array_get_idx(disks, i), "label");
                if (l && strcmp(l, which) == 0)
                        return json_object_array_get_idx(disks, i);
        }
        return NULL;
}

/* Where a snapshot stands in the tree: its node, and the array and member (of a VM or a parent) holding it. */
struct snap_pos {
        struct json_object *node;
        struct json_object *owner;     /* the VM (member "snapshots") or the parent node ("children") */
        const char *member;
        size_t idx;
};

static bool snap_find(struct json_object *owner, const char *member, const char *name, struct snap_pos *pos,
                      int depth) {
        struct json_object *list = jget(owner, member);

        for (size_t i = 0; name && i < jlen(list) && depth < TREE_DEPTH_MAX; i++) {
                struct json_object *node = json_object_array_get_idx(list, i);
                const char *n = jstr(node, "name");

                if (n && strcmp(n, name) == 0) {
                        *pos = (struct snap_pos) { .node = node, .owner = owner, .member = member, .idx = i };
                        return true;
                }
                if (snap_find(node, "children", name, pos, depth + 1))
                        return true;
        }
        return false;
}

/* ---- Values: what each kind reads (value.h says what it holds) ------------ */

typedef int fill_fn(enum op_kind kind, struct json_object *vm, const struct op_args *a, struct op_value *v);

static int fill_name(enum op_kind kind _unused_, struct json_object *vm, const struct op_args *a _unused_,
                     struct op_value *v) {
        return dup_into(&v->name, jstr(vm, "name"));
}

static int fill_number(enum op_kind kind, struct json_object *vm, const struct op_args *a _unused_,
                       struct op_value *v) {
        if (kind == OP_CPU) {
                v->cpus = jint(vm, "cpus");
                v->cpus_config = jint(vm, "cpus_config");
        } else {
                v->memory_mib = jint(vm, "memory_mib");
                v->memory_mib_config = jint(vm, "memory_mib_config");
        }
        return 0;
}

static int add_disk(struct op_value *v, struct json_object *d) {
        return op_value_add_disk(v, jstr(d, "label"), jint(d, "mib"));
}

/* The disk being grown; every disk when it cannot be told (so the value shows what there is). */
static int fill_disk_grow(enum op_kind kind _unused_, struct json_object *vm, const struct op_args *a,
                          struct op_value *v) {
        struct json_object *disks = jget(vm, "disks"), *d = disk_find(vm, a->disk);

        if (d)
                return add_disk(v, d);
        for (size_t i = 0; i < jlen(disks); i++)
                if (add_disk(v, json_object_array_get_idx(disks, i)) < 0)
                        return -ENOMEM;
        return 0;
}

static int fill_disks(enum op_kind kind, struct json_object *vm, const struct op_args *a _unused_,
                      struct op_value *v) {
        const struct op_args all = {};

        return fill_disk_grow(kind, vm, &all, v);
}

static int fill_power(enum op_kind kind _unused_, struct json_object *vm, const struct op_args *a _unused_,
                      struct op_value *v) {
        v->power = power_of(vm);
        return 0;
}

/* CloneVM: the source before, the new VM after. */
static int fill_identity(enum op_kind kind _unused_, struct json_object *vm, const struct op_args *a _unused_,
                         struct op_value *v) {
        if (dup_into(&v->name, jstr(vm, "name")) < 0 || dup_into(&v->id, jstr(vm, "id")) < 0 ||
            dup_into(&v->host, jstr(vm, "host")) < 0)
                return -ENOMEM;
        return 0;
}

static int fill_placement(enum op_kind kind _unused_, struct json_object *vm, const struct op_args *a _unused_,
                          struct op_value *v) {
        struct json_object *ds = jget(vm, "datastores");

        if (dup_into(&v->host, jstr(vm, "host")) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < jlen(ds); i++)
                if (op_value_add_datastore(v, json_object_get_string(json_object_array_get_idx(ds, i))) < 0)
                        return -ENOMEM;
        return 0;
}

static int add_tree(struct op_value *v, struct op_snapshot *parent, struct json_object *list, int depth) {
        for (size_t i = 0; i < jlen(list) && depth < TREE_DEPTH_MAX; i++) {
                struct json_object *node = json_object_array_get_idx(list, i);
                struct op_snapshot *s;

                if (op_value_add_snapshot(v, parent, jstr(node, "name"), &s) < 0 ||
                    add_tree(v, s, jget(node, "children"), depth + 1) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int fill_snapshots(enum op_kind kind _unused_, struct json_object *vm, const struct op_args *a _unused_,
                          struct op_value *v) {
        if (add_tree(v, NULL, jget(vm, "snapshots"), 0) < 0)
                return -ENOMEM;
        return dup_into(&v->current_snapshot, jstr(vm, "current_snapshot"));
}

static int fill_last_state(enum op_kind kind, struct json_object *vm, const struct op_args *a, struct op_value *v) {
        if (fill_identity(kind, vm, a, v) < 0)
                return -ENOMEM;
        v->power = power_of(vm);
        v->cpus = jint(vm, "cpus");
        v->memory_mib = jint(vm, "memory_mib");
        return 0;
}

/* ---- Changes: what each kind does to the platform ----------------------- */

typedef int apply_fn(struct platform *p, enum op_kind kind, struct json_object *vm, const struct op_args *a,
                     struct json_object *task, struct op_error *err);

static int apply_rename(struct platform *p, enum op_kind kind _unused_, struct json_object *vm,
                        const struct op_args *a, struct json_object *task _unused_, struct op_error *err) {
        size_t count;

        if (vm_by_name(p, a->new_name, vm, &count))
                return platform_fault(err, "DuplicateName", "The name '%s' already exists.", a->new_name);
        return jset_str(vm, "name", a->new_name);
}

/* CPUs and memory: the live and the next-boot setting both become the new one. */
static int apply_number(struct platform *p _unused_, enum op_kind kind, struct json_object *vm,
                        const struct op_args *a, struct json_object *task _unused_, struct op_error *err _unused_) {
        json_object_object_del(vm, kind == OP_CPU ? "cpus_config" : "memory_mib_config");
        return jset(vm, kind == OP_CPU ? "cpus" : "memory_mib", json_object_new_int64(a->number));
}

static int apply_disk_grow(struct platform *p _unused_, enum op_kind kind _unused_, struct json_object *vm,
                           const struct op_args *a, struct json_object *task _unused_, struct op_error *err) {
        struct json_object *d = disk_find(vm, a->disk);

        if (!d)
                return platform_fault(err, OP_FAULT_INVALID, "VM %s has no disk \"%s\"", strempty(jstr(vm, "id")),
                                      strempty(a->disk));
        if (a->number < jint(d, "mib"))
                return platform_fault(err, "InvalidDeviceSpec", "disk \"%s\" cannot shrink from %" PRId64 " to %" PRId64
                                      " MiB", strempty(jstr(d, "label")), jint(d, "mib"), a->number);
        return jset(d, "mib", json_object_new_int64(a->number));
}

static int apply_disk_add(struct platform *p _unused_, enum op_kind kind _unused_, struct json_object *vm,
                          const struct op_args *a, struct json_object *task _unused_, struct op_error *err _unused_) {
        struct json_object *disks = jmember(vm, "disks", json_type_array), *d = json_object_new_object();
        char label[32];

        snprintf(label, sizeof label, "Hard disk %zu", jlen(disks) + 1);
        if (!disks || jset_str(d, "label", label) < 0 || jset(d, "mib", json_object_new_int64(a->number)) < 0) {
                json_object_put(d);
                return -ENOMEM;
        }
        return jpush(disks, d);
}

/* The power changes: from which states each may start, and where it ends. */
static const struct {
        enum op_kind kind;
        unsigned from;             /* a mask of 1 << enum vm_power */
        enum vm_power to;
} power_changes[] = {
        { OP_START, 1u << VM_POWER_OFF | 1u << VM_POWER_SUSPENDED, VM_POWER_ON },
        { OP_STOP, 1u << VM_POWER_ON | 1u << VM_POWER_SUSPENDED | 1u << VM_POWER_PAUSED, VM_POWER_OFF },
        { OP_STOP_GUEST, 1u << VM_POWER_ON, VM_POWER_OFF },
        { OP_RESET, 1u << VM_POWER_ON, VM_POWER_ON },
        { OP_SUSPEND, 1u << VM_POWER_ON, VM_POWER_SUSPENDED },
};

static int apply_power(struct platform *p _unused_, enum op_kind kind, struct json_object *vm,
                       const struct op_args *a _unused_, struct json_object *task _unused_, struct op_error *err) {
        enum vm_power now = power_of(vm);

        for (size_t i = 0; i < ELEMENTSOF(power_changes); i++) {
                if (power_changes[i].kind != kind)
                        continue;
                if (!(power_changes[i].from & 1u << now))
                        return platform_fault(err, "InvalidPowerState",
                                              "The attempted operation cannot be performed in the current state (%s).",
                                              vm_power_name(now));
                return jset_str(vm, "power", vm_power_name(power_changes[i].to));
        }
        return platform_fault(err, OP_FAULT_INVALID, "%s is no power change", op_kind_trail_name(kind));
}

/* A target host or datastore must exist on the platform. */
static int check_placement(struct platform *p, const struct op_args *a, struct op_error *err) {
        if (a->host && !list_has(jget(p->root, "hosts"), a->host))
                return platform_fault(err, OP_FAULT_INVALID, "no host \"%s\" on the fake platform", a->host);
        if (a->datastore && !list_has(jget(p->root, "datastores"), a->datastore))
                return platform_fault(err, OP_FAULT_INVALID, "no datastore \"%s\" on the fake platform", a->datastore);
        return 0;
}

/* Host and datastore of vm as the arguments ask; the others stay. */
static int place(struct json_object *vm, const struct op_args *a) {
        struct json_object *ds;

        if (a->host && jset_str(vm, "host", a->host) < 0)
                return -ENOMEM;
        if (!a->datastore)
                return 0;
        ds = json_object_new_array();
        if (jset(vm, "datastores", ds) < 0)
                return -ENOMEM;
        return jpush(ds, json_object_new_string(a->datastore));
}

static int apply_migrate(struct platform *p, enum op_kind kind _unused_, struct json_object *vm,
                         const struct op_args *a, struct json_object *task _unused_, struct op_error *err) {
        int r = check_placement(p, a, err);

        return r < 0 ? r : place(vm, a);
}

/* The new VM: a copy of the source with its own name, id and uuid, and no snapshots. */
static int clone_of(struct platform *p, struct json_object *vm, const struct op_args *a, struct json_object **out) {
        _cleanup_(json_object_putp) struct json_object *copy = NULL;
        char id[32], uuid[64];
        int64_t n = next_id(p);

        if (n < 0 || json_object_deep_copy(vm, &copy, NULL) < 0)
                return -ENOMEM;
        snprintf(id, sizeof id, "vm-%" PRId64, n);
        snprintf(uuid, sizeof uuid, "00000000-0000-4000-8000-%012" PRId64, n);
        json_object_object_del(copy, "snapshots");
        json_object_object_del(copy, "current_snapshot");
        if (jset_str(copy, "name", a->new_name) < 0 || jset_str(copy, "id", id) < 0 ||
            jset_str(copy, "uuid", uuid) < 0 ||
            jset_str(copy, "power", vm_power_name(a->power_on ? VM_POWER_ON : VM_POWER_OFF)) < 0 || place(copy, a) < 0)
                return -ENOMEM;
        *out = TAKE_PTR(copy);
        return 0;
}

static int apply_clone(struct platform *p, enum op_kind kind _unused_, struct json_object *vm, const struct op_args *a,
                       struct json_object *task, struct op_error *err) {
        struct json_object *copy = NULL, *vms = jmember(p->root, "vms", json_type_array);
        size_t count;
        int r;

        if (vm_by_name(p, a->new_name, NULL, &count))
                return platform_fault(err, "DuplicateName", "The name '%s' already exists.", a->new_name);
        r = check_placement(p, a, err);
        if (r < 0)
                return r;
        if (!vms || clone_of(p, vm, a, &copy) < 0)
                return -ENOMEM;
        if (jset_str(task, "result", jstr(copy, "id")) < 0) {
                json_object_put(copy);
                return -ENOMEM;
        }
        return jpush(vms, copy);
}

/* A new snapshot goes below the current one, and becomes current. */
static int apply_snapshot_create(struct platform *p _unused_, enum op_kind kind _unused_, struct json_object *vm,
                                 const struct op_args *a, struct json_object *task _unused_, struct op_error *err) {
        struct snap_pos pos;
        struct json_object *list, *node;

        if (snap_find(vm, "snapshots", a->snapshot, &pos, 0))
                return platform_fault(err, "DuplicateName", "VM %s already has a snapshot \"%s\"",
                                      strempty(jstr(vm, "id")), a->snapshot);
        bool below = snap_find(vm, "snapshots", jstr(vm, "current_snapshot"), &pos, 0);
        list = below ? jmember(pos.node, "children", json_type_array) : jmember(vm, "snapshots", json_type_array);
        node = json_object_new_object();
        if (!list || !node || jset_str(node, "name", a->snapshot) < 0 ||
            jset(node, "children", json_object_new_array()) < 0) {
                json_object_put(node);
                return -ENOMEM;
        }
        if (jpush(list, node) < 0)
                return -ENOMEM;
        return jset_str(vm, "current_snapshot", a->snapshot);
}

static int snapshot_missing(struct json_object *vm, const char *name, struct op_error *err) {
        return platform_fault(err, OP_FAULT_NOT_FOUND, "VM %s has no snapshot \"%s\"", strempty(jstr(vm, "id")),
                              strempty(name));
}

static int apply_snapshot_revert(struct platform *p _unused_, enum op_kind kind _unused_, struct json_object *vm,
                                 const struct op_args *a, struct json_object *task _unused_, struct op_error *err) {
        struct snap_pos pos;

        if (!snap_find(vm, "snapshots", a->snapshot, &pos, 0))
                return snapshot_missing(vm, a->snapshot, err);
        return jset_str(vm, "current_snapshot", a->snapshot);
}

/* The list at pos with its node replaced by the node's children, as vSphere keeps them on removal. */
static struct json_object *list_without(const struct snap_pos *pos) {
        struct json_object *old = jget(pos->owner, pos->member), *kids = jget(pos->node, "children");
        struct json_object *list = json_object_new_array();

        for (size_t i = 0; list && i < jlen(old); i++) {
                struct json_object *from = i == pos->idx ? kids : NULL;
                size_t n = i == pos->idx ? jlen(kids) : 1;

                for (size_t k = 0; k < n; k++) {
                        struct json_object *e = from ? json_object_array_get_idx(from, k)
                                                     : json_object_array_get_idx(old, i);
                        if (jpush(list, json_object_get(e)) < 0) {
                                json_object_put(list);
                                return NULL;
                        }
                }
        }
        return list;
}

static int apply_snapshot_remove(struct platform *p _unused_, enum op_kind kind _unused_, struct json_object *vm,
                                 const struct op_args *a, struct json_object *task _unused_, struct op_error *err) {
        struct snap_pos pos;
        const char *current = jstr(vm, "current_snapshot");
        bool was_current = current && strcmp(current, a->snapshot) == 0;

        if (!snap_find(vm, "snapshots", a->snapshot, &pos, 0))
                return snapshot_missing(vm, a->snapshot, err);
        /* The parent's name outlives the node: the owner stays in the tree. */
        const char *parent = pos.owner == vm ? NULL : jstr(pos.owner, "name");
        if (was_current && jset_str(vm, "current_snapshot", parent) < 0)
                return -ENOMEM;
        return jset(pos.owner, pos.member, list_without(&pos));
}

static int apply_destroy(struct platform *p, enum op_kind kind _unused_, struct json_object *vm,
                         const struct op_args *a _unused_, struct json_object *task _unused_, struct op_error *err) {
        struct json_object *vms = jget(p->root, "vms");

        if (power_of(vm) != VM_POWER_OFF)
                return platform_fault(err, "InvalidPowerState", "VM %s must be powered off to be destroyed (it is %s)",
                                      strempty(jstr(vm, "id")), vm_power_name(power_of(vm)));
        for (size_t i = 0; i < jlen(vms); i++)
                if (json_object_array_get_idx(vms, i) == vm)
                        return json_object_array_del_idx(vms, i, 1) < 0 ? -ENOMEM : 0;
        return 0;
}

/* Every kind: its name in the file, what it reads and what it changes. */
static const struct kind_ops {
        const char *name;
        fill_fn *fill;
        apply_fn *apply;
} kinds[_OP_MAX] = {
        [OP_RENAME] = { "rename", fill_name, apply_rename },
        [OP_CPU] = { "cpu", fill_number, apply_number },
        [OP_MEMORY] = { "memory", fill_number, apply_number },
        [OP_DISK_GROW] = { "disk-grow", fill_disk_grow, apply_disk_grow },
        [OP_DISK_ADD] = { "disk-add", fill_disks, apply_disk_add },
        [OP_START] = { "start", fill_power, apply_power },
        [OP_STOP] = { "stop", fill_power, apply_power },
        [OP_STOP_GUEST] = { "stop-guest", fill_power, apply_power },
        [OP_RESET] = { "reset", fill_power, apply_power },
        [OP_SUSPEND] = { "suspend", fill_power, apply_power },
        [OP_CLONE] = { "clone", fill_identity, apply_clone },
        [OP_MIGRATE] = { "migrate", fill_placement, apply_migrate },
        [OP_SNAPSHOT_CREATE] = { "snapshot-create", fill_snapshots, apply_snapshot_create },
        [OP_SNAPSHOT_REVERT] = { "snapshot-revert", fill_snapshots, apply_snapshot_revert },
        [OP_SNAPSHOT_REMOVE] = { "snapshot-remove", fill_snapshots, apply_snapshot_remove },
        [OP_DESTROY] = { "destroy", fill_last_state, apply_destroy },
};

static int kind_by_name(const char *name) {
        for (int k = 0; name && k < _OP_MAX; k++)
                if (kinds[k].name && strcmp(kinds[k].name, name) == 0)
                        return k;
        return -1;
}

static int fill_value(enum op_kind kind, struct json_object *vm, const struct op_args *a, struct op_value *v) {
        if (kind >= _OP_MAX || !kinds[kind].fill)
                return -EINVAL;
        int r = kinds[kind].fill(kind, vm, a, v);
        v->known = r >= 0;
        return r;
}

/* ---- Tasks ------------------------------------------------------------------ */

/* The arguments a task was given, kept in the task so that it can be carried out (or read) later. */
static struct json_object *args_json(const struct op_args *a) {
        struct json_object *o = json_object_new_object();
        const struct { const char *key, *value; } strings[] = {
                { "vm", a->vm }, { "new_name", a->new_name }, { "disk", a->disk }, { "host", a->host },
                { "datastore", a->datastore }, { "snapshot", a->snapshot },
        };

        for (size_t i = 0; o && i < ELEMENTSOF(strings); i++)
                if (strings[i].value && jset_str(o, strings[i].key, strings[i].value) < 0)
                        goto fail;
        if (o && jset(o, "number", json_object_new_int64(a->number)) >= 0 &&
            jset(o, "power_on", json_object_new_boolean(a->power_on)) >= 0)
                return o;
fail:
        json_object_put(o);
        return NULL;
}

/* Strings borrowed from task. */
static struct op_args task_args(struct json_object *task) {
        struct json_object *o = jget(task, "args");

        return (struct op_args) {
                .vm = jstr(o, "vm"),
                .new_name = jstr(o, "new_name"),
                .number = jint(o, "number"),
                .disk = jstr(o, "disk"),
                .host = jstr(o, "host"),
                .datastore = jstr(o, "datastore"),
                .power_on = json_object_get_boolean(jget(o, "power_on")),
                .snapshot = jstr(o, "snapshot"),
        };
}

static struct json_object *task_find(struct platform *p, const char *id) {
        return jget(jget(p->root, "tasks"), id);
}

static bool task_running(struct json_object *task) {
        const char *state = jstr(task, "state");

        return !state || strcmp(state, "running") == 0;
}

static int task_set_outcome(struct json_object *task, int r, const struct op_error *e) {
        if (jset_str(task, "state", r >= 0 ? "success" : "error") < 0 ||
            jset(task, "applied", json_object_new_boolean(true)) < 0)
                return -ENOMEM;
        if (r >= 0)
                return 0;
        if (jset_str(task, "fault", *e->fault ? e->fault : "InternalError") < 0 ||
            jset_str(task, "message", *e->message ? e->message : strerror(-r)) < 0)
                return -ENOMEM;
        return 0;
}

/*
 * Carry task out: its change, unless inject says it fails.  A task that a
 * test marked "success" is carried out without its injected fault: the
 * test said how it ended.  The outcome goes into the task.
 */
static int task_apply(struct platform *p, struct json_object *task, bool inject) {
        int kind = kind_by_name(jstr(task, "kind"));
        const struct op_args a = task_args(task);
        struct json_object *vm = vm_by_id(p, jstr(task, "vm")), *in = jget(task, "inject");
        struct op_error e = {};
        int r;

        if (inject && jstr(in, "fault"))
                r = platform_fault(&e, jstr(in, "fault"), "%s", jstr(in, "message") ?: "injected by the test");
        else if (kind < 0)
                r = platform_fault(&e, OP_FAULT_INVALID, "no such kind of task: %s", strempty(jstr(task, "kind")));
        else if (!vm)
                r = platform_fault(&e, "ManagedObjectNotFound", "VM %s no longer exists", strempty(jstr(task, "vm")));
        else
                r = kinds[kind].apply(p, (enum op_kind) kind, vm, &a, task, &e);
        p->dirty = true;
        return task_set_outcome(task, r, &e);
}

/* Tasks a test finished while nobody watched: carry out those it marked "success". */
static void settle_tasks(struct platform *p) {
        struct json_object *tasks = jget(p->root, "tasks");

        if (!json_object_is_type(tasks, json_type_object))
                return;
        json_object_object_foreach(tasks, id, task) {
                const char *state = jstr(task, "state");

                (void) id;
                if (state && strcmp(state, "success") == 0 && !json_object_get_boolean(jget(task, "applied")) &&
                    task_apply(p, task, false) < 0)
                        return;   /* out of memory: the next request tries again */
        }
}

/* What the platform says of a finished task: 0, or its fault. */
static int task_result(struct json_object *task, struct op_error *err) {
        const char *state = jstr(task, "state"), *fault = jstr(task, "fault");

        if (task_running(task))
                return -EINPROGRESS;
        if (strcmp(state, "success") == 0)
                return 0;
        fault = fault ?: "TaskFailed";
        op_error_set(err, fault, "%s", jstr(task, "message") ?: "the task failed");
        /* The fake's own word for a task cancelled on request. */
        return strcmp(fault, "Cancelled") == 0 ? -ECANCELED : -EREMOTEIO;
}

/*
 * The value after task: for a clone the new VM, else the VM itself (gone
 * when it no longer exists); t->host follows the VM.  A clone that made no
 * VM leaves the value unknown.
 */
static int read_after(struct platform *p, enum op_kind kind, struct json_object *task, struct vm_target *t,
                      struct op_value *after) {
        const struct op_args a = task_args(task);
        const char *id = kind == OP_CLONE ? jstr(task, "result") : t->id;
        struct json_object *vm = vm_by_id(p, id);

        op_value_clear(after);
        if (!vm) {
                after->known = after->gone = kind != OP_CLONE;
                return 0;
        }
        if (kind != OP_CLONE && dup_into(&t->host, jstr(vm, "host")) < 0)
                return -ENOMEM;
        return fill_value(kind, vm, &a, after);
}

/* ---- Requests --------------------------------------------------------------- */

/* Open the file for s and carry out the tasks finished meanwhile; no session check (a task's own polls). */
static int platform_open(struct backend_session *s, struct platform *p, struct op_error *err) {
        int r = platform_load(s->path, true, p, err);

        if (r < 0)
                return r;
        s->round_trips++;
        settle_tasks(p);
        return 0;
}

static int log_request(struct platform *p, const char *call, const char *opid) {
        struct json_object *log = jmember(p->root, "requests", json_type_array), *e = json_object_new_object();

        p->dirty = true;
        if (!log || !e || jset_str(e, "call", call) < 0 || jset_str(e, "opid", opid) < 0) {
                json_object_put(e);
                return -ENOMEM;
        }
        return jpush(log, e);
}

/* One more request may find the session expired, if a test asked for that ("faults.expire_session"). */
static bool session_expires(struct platform *p) {
        struct json_object *faults = jget(p->root, "faults");
        int64_t n = jint(faults, "expire_session");

        if (n <= 0)
                return false;
        p->dirty = true;
        (void) jset(faults, "expire_session", json_object_new_int64(n - 1));
        return true;
}

/*
 * A request on s's session: logged in the file, and refused before doing
 * anything when the session is gone, so that the pool may log in again and
 * repeat it.
 */
static int platform_request(struct backend_session *s, struct platform *p, const char *call, const char *opid,
                            struct op_error *err) {
        int r = platform_open(s, p, err);

        if (r < 0)
                return r;
        if (log_request(p, call, opid) < 0)
                return platform_done(p, -ENOMEM, err);
        if (s->logged_in && session_expires(p))
                s->logged_in = false;
        if (!s->logged_in) {
                op_error_set(err, "NotAuthenticated", "the session on the fake platform %s has expired", s->path);
                return platform_done(p, -EKEYEXPIRED, err);
        }
        return 0;
}

/* ---- The backend --------------------------------------------------------- */

static const char *url_path(const struct endpoint_config *ep) {
        return ep->url + strlen(FAKE_SCHEME);
}

static int fake_endpoint_check(const struct endpoint_config *ep, char *why, size_t whylen) {
        if (strncmp(ep->url, FAKE_SCHEME, strlen(FAKE_SCHEME)) != 0 || url_path(ep)[0] != '/') {
                snprintf(why, whylen, "url \"%s\" of endpoint \"%s\" is not fake:///ABSOLUTE/PATH.json", ep->url,
                         ep->name);
                return -EINVAL;
        }
        return 0;
}

/* The file's "unsupported" list: a test says what this platform cannot do. */
static bool fake_supports(const struct endpoint_config *ep, enum op_kind kind) {
        _cleanup_(platform_close) struct platform p = PLATFORM_INIT;
        struct op_error err = {};

        /* An unreadable file is perform()'s to report, with the platform's fault. */
        if (kind >= _OP_MAX || platform_load(url_path(ep), false, &p, &err) < 0)
                return true;
        return !list_has(jget(p.root, "unsupported"), kinds[kind].name);
}

static int fake_session_new(const struct endpoint_config *ep, struct backend_session **out, struct op_error *err) {
        struct backend_session *s = calloc(1, sizeof *s);

        if (!s) {
                op_error_set(err, "InternalError", "out of memory");
                return -ENOMEM;
        }
        s->ep = ep;
        s->path = url_path(ep);
        *out = s;
        return 0;
}

static void fake_session_free(struct backend_session *s) {
        free(s);
}

static unsigned fake_round_trips(struct backend_session *s) {
        return s->round_trips;
}

static int fake_login(struct backend_session *s, char **who, struct op_error *err) {
        _cleanup_(platform_close) struct platform p = PLATFORM_INIT;
        int r = platform_open(s, &p, err);

        if (r < 0)
                return r;
        r = log_request(&p, "login", NULL);
        struct json_object *refuse = jget(jget(p.root, "faults"), "login");
        if (r >= 0 && refuse)
                r = platform_fault(err, jstr(refuse, "fault") ?: "InvalidLogin", "%s",
                                   jstr(refuse, "message") ?: "incorrect user name or password");
        s->logged_in = r >= 0;
        if (r >= 0 && !(*who = strdup(s->ep->user ?: "fake-service")))
                r = -ENOMEM;
        return platform_done(&p, r, err);
}

static int fake_logout(struct backend_session *s, struct op_error *err) {
        _cleanup_(platform_close) struct platform p = PLATFORM_INIT;
        int r = platform_open(s, &p, err);

        if (r < 0)
                return r;
        s->logged_in = false;
        return platform_done(&p, log_request(&p, "logout", NULL), err);
}

/* A request about the VM named name: on success the file stays open and locked, *vm found in it. */
static int request_vm(struct backend_session *s, struct platform *p, const char *call, const char *opid,
                      const char *name, struct json_object **vm, struct op_error *err) {
        int r = platform_request(s, p, call, opid, err);

        if (r < 0)
                return r;
        r = vm_find(p, name, vm, err);
        return r < 0 ? platform_done(p, r, err) : 0;
}

static int fake_read_target(struct backend_session *s, enum op_kind kind, const struct op_args *args, const char *opid,
                            struct vm_target *t, struct op_value *before, struct op_error *err) {
        _cleanup_(platform_close) struct platform p = PLATFORM_INIT;
        struct json_object *vm;
        int r = request_vm(s, &p, "read_target", opid, args->vm, &vm, err);

        if (r < 0)
                return r;
        /* The VM is found before its arguments are refused: the NG row names it, as with a real platform. */
        if (fill_target(vm, t) < 0)
                r = -ENOMEM;
        else if (kind == OP_DISK_GROW && !disk_find(vm, args->disk))
                r = platform_fault(err, OP_FAULT_INVALID, "VM \"%s\" has no disk \"%s\"", args->vm,
                                   strempty(args->disk));
        else if (fill_value(kind, vm, args, before) < 0)
                r = -ENOMEM;
        return platform_done(&p, r, err);
}

/* faults.KIND.hang == word? */
static bool hangs(struct json_object *sw, const char *word) {
        const char *h = jstr(sw, "hang");

        return h && strcmp(h, word) == 0;
}

static int hang_over(struct op_error *err) {
        op_error_set(err, OP_FAULT_CONNECTION, "the fake platform did not answer for %d s", HANG_MAX_MS / 1000);
        return -ETIMEDOUT;
}

/* faults.KIND.hang = "before": wait, before any task exists, until a test removes the switch. */
static int wait_before_task(struct backend_session *s, enum op_kind kind, struct op_error *err) {
        for (long waited = 0;; waited += STEP_MS) {
                _cleanup_(platform_close) struct platform p = PLATFORM_INIT;
                int r = platform_open(s, &p, err);

                if (r < 0)
                        return r;
                bool hang = hangs(jget(jget(p.root, "faults"), kinds[kind].name), "before");
                r = platform_done(&p, 0, err);
                if (r < 0 || !hang)
                        return r;
                if (waited >= HANG_MAX_MS)
                        return hang_over(err);
                sleep_ms(STEP_MS);
        }
}

/* What the wait for a task was told: by the switches copied into it. */
struct task_switches {
        long slow_ms;
        bool hang;
        bool lose_answer;
        bool uncancellable;
};

/* A new task of kind on t, running, with the switches of its kind copied in. */
static struct json_object *task_json(enum op_kind kind, const struct op_args *args, const char *opid,
                                     const struct vm_target *t, struct json_object *faults) {
        _cleanup_(json_object_putp) struct json_object *task = json_object_new_object();
        struct json_object *in = NULL;

        if (!task || jset_str(task, "kind", kinds[kind].name) < 0 || jset_str(task, "vm", t->id) < 0 ||
            jset(task, "args", args_json(args)) < 0 || jset_str(task, "opid", opid) < 0 ||
            jset_str(task, "state", "running") < 0)
                return NULL;
        if (faults && (json_object_deep_copy(faults, &in, NULL) < 0 || jset(task, "inject", in) < 0))
                return NULL;
        return TAKE_PTR(task);
}

static int task_new(struct platform *p, enum op_kind kind, const struct op_args *args, const char *opid,
                    const struct vm_target *t, char **id, struct task_switches *sw) {
        struct json_object *tasks = jmember(p->root, "tasks", json_type_object);
        struct json_object *faults = jget(jget(p->root, "faults"), kinds[kind].name);
        char name[32];
        int64_t n = next_id(p);

        snprintf(name, sizeof name, "task-%" PRId64, n);
        if (n < 0 || !tasks || jset(tasks, name, task_json(kind, args, opid, t, faults)) < 0)
                return -ENOMEM;
        *sw = (struct task_switches) {
                .slow_ms = (long) jint(faults, "slow_ms"),
                .hang = hangs(faults, "task"),
                .lose_answer = json_object_get_boolean(jget(faults, "lose_answer")),
                .uncancellable = json_object_get_boolean(jget(faults, "uncancellable")),
        };
        return (*id = strdup(name)) ? 0 : -ENOMEM;
}

static int task_create(struct backend_session *s, enum op_kind kind, const struct op_args *args, const char *opid,
                       const struct vm_target *t, char **id, struct task_switches *sw, struct op_error *err) {
        _cleanup_(platform_close) struct platform p = PLATFORM_INIT;
        int r = platform_request(s, &p, "perform", opid, err);

        if (r < 0)
                return r;
        r = task_new(&p, kind, args, opid, t, id, sw);
        if (r < 0)
                op_error_set(err, "InternalError", "out of memory");
        return platform_done(&p, r, err);
}

/*
 * The file open (a logged request on the session when call is set) and
 * task id found in it; missing is the answer when the platform no longer
 * knows the task.
 */
static int open_task(struct backend_session *s, struct platform *p, const char *call, const char *opid,
                     const char *id, int missing, struct json_object **task, struct op_error *err) {
        int r = call ? platform_request(s, p, call, opid, err) : platform_open(s, p, err);

        if (r < 0)
                return r;
        *task = task_find(p, id);
        if (*task)
                return 0;
        op_error_set(err, "TaskNotFound", "the fake platform no longer knows task %s", id);
        return platform_done(p, missing, err);
}

/*
 * The end of a task: carried out now (or cancelled) unless a test already
 * said how it ended; its outcome, and the value after it, read back.
 */
static int task_end(struct backend_session *s, enum op_kind kind, const char *id, bool cancel, struct vm_target *t,
                    struct op_value *after, struct op_error *err) {
        _cleanup_(platform_close) struct platform p = PLATFORM_INIT;
        struct json_object *task;
        struct op_error e = {};
        /* The change was asked for: if the task is lost, what became of it is not known. */
        int r = open_task(s, &p, NULL, NULL, id, -EIO, &task, err);

        if (r < 0)
                return r;
        if (task_running(task) && cancel) {
                op_error_set(&e, "Cancelled", "task %s was cancelled on request", id);
                r = task_set_outcome(task, -ECANCELED, &e);
                p.dirty = true;
        } else if (task_running(task))
                r = task_apply(&p, task, true);
        if (r >= 0)
                r = task_result(task, err);
        if (read_after(&p, kind, task, t, after) < 0 && r >= 0)
                r = -ENOMEM;
        return platform_done(&p, r, err);
}

/* Has a test ended the task meanwhile (set its state)?  1 if so. */
static int task_ended(struct backend_session *s, const char *id, struct op_error *err) {
        _cleanup_(platform_close) struct platform p = PLATFORM_INIT;
        struct json_object *task;
        int r = open_task(s, &p, NULL, NULL, id, -EIO, &task, err);

        if (r < 0)
                return r;
        return platform_done(&p, !task_running(task), err);
}

static bool cancel_requested(const struct op_hooks *h) {
        return h && h->cancel_requested && h->cancel_requested(h->userdata);
}

static void progress(const struct op_hooks *h, int percent) {
        if (h && h->progress)
                h->progress(h->userdata, percent, "running");
}

/*
 * A slow task runs sw->slow_ms, a hanging one until a test ends it: in
 * steps, reporting progress.  1 when it is to be cancelled.
 */
static int task_wait(struct backend_session *s, const char *id, const struct task_switches *sw,
                     const struct op_hooks *hooks, struct op_error *err) {
        long limit = sw->hang ? HANG_MAX_MS : sw->slow_ms;

        for (long waited = 0; waited < limit; waited += STEP_MS) {
                /* A hanging platform does not listen to a cancel either. */
                if (!sw->hang && cancel_requested(hooks))
                        return 1;
                progress(hooks, sw->hang ? -1 : (int) (waited * 100 / limit));
                sleep_ms(STEP_MS);
                int r = task_ended(s, id, err);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        return sw->hang ? hang_over(err) : 0;
}

static int fake_perform(struct backend_session *s, enum op_kind kind, const struct op_args *args, const char *opid,
                        const struct op_hooks *hooks, struct vm_target *t, struct op_value *after, char **task,
                        struct op_error *err) {
        struct task_switches sw = {};
        _cleanup_free_ char *id = NULL;

        if (kind >= _OP_MAX)
                return platform_fault(err, OP_FAULT_INVALID, "no such operation");
        int r = wait_before_task(s, kind, err);
        if (r >= 0)
                r = task_create(s, kind, args, opid, t, &id, &sw, err);
        if (r < 0)
                return r;
        if (hooks && hooks->task_created)
                hooks->task_created(hooks->userdata, id);
        r = task_wait(s, id, &sw, hooks, err);
        if (r > 0 && sw.uncancellable) {
                op_error_set(err, "Canceled", "stopped waiting for task %s, which cannot be cancelled", id);
                r = -EINTR;
        } else if (r >= 0)
                r = task_end(s, kind, id, r > 0, t, after, err);
        if (r >= 0 && sw.lose_answer) {
                /* The change is made; only its answer never arrives. */
                op_value_clear(after);
                op_error_set(err, OP_FAULT_CONNECTION, "connection reset before the answer of task %s arrived", id);
                r = -ECONNRESET;
        }
        *task = TAKE_PTR(id);
        return r;
}

static int fake_post_event(struct backend_session *s, const struct vm_target *t, const char *text, const char *opid,
                           struct op_error *err) {
        _cleanup_(platform_close) struct platform p = PLATFORM_INIT;
        int r = platform_request(s, &p, "post_event", opid, err);

        if (r < 0)
                return r;
        struct json_object *refuse = jget(jget(p.root, "faults"), "post_event");
        if (refuse)
                return platform_done(&p, platform_fault(err, jstr(refuse, "fault") ?: "InvalidArgument", "%s",
                                                        jstr(refuse, "message") ?: "the event was refused"), err);
        struct json_object *events = jmember(p.root, "events", json_type_array), *e = json_object_new_object();
        if (!events || !e || jset_str(e, "vm", t->id) < 0 || jset_str(e, "text", text) < 0 ||
            jset_str(e, "opid", opid) < 0) {
                json_object_put(e);
                return platform_done(&p, -ENOMEM, err);
        }
        return platform_done(&p, jpush(events, e), err);
}

/* One VM as list and show give it (vSphere's member names, so vmctl reads both alike). */
static struct json_object *vm_summary(struct json_object *vm) {
        struct json_object *o = json_object_new_object();
        const char *const strings[][2] = {
                { "name", "name" }, { "id", "id" }, { "uuid", "uuid" }, { "host", "host" }, { "powerState", "power" },
        };

        for (size_t i = 0; o && i < ELEMENTSOF(strings); i++)
                if (jset_str(o, strings[i][0], jstr(vm, strings[i][1])) < 0)
                        goto fail;
        if (o && jset(o, "numCPU", json_object_new_int64(jint(vm, "cpus"))) >= 0 &&
            jset(o, "memoryMB", json_object_new_int64(jint(vm, "memory_mib"))) >= 0)
                return o;
fail:
        json_object_put(o);
        return NULL;
}

static int fake_list_vms(struct backend_session *s, const char *opid, struct json_object **out, struct op_error *err) {
        _cleanup_(platform_close) struct platform p = PLATFORM_INIT;
        _cleanup_(json_object_putp) struct json_object *list = json_object_new_array();
        struct json_object *vms;
        int r = platform_request(s, &p, "list_vms", opid, err);

        if (r < 0)
                return r;
        vms = jget(p.root, "vms");
        for (size_t i = 0; r >= 0 && i < jlen(vms); i++)
                r = list ? jpush(list, vm_summary(json_object_array_get_idx(vms, i))) : -ENOMEM;
        r = platform_done(&p, r, err);
        if (r >= 0)
                *out = TAKE_PTR(list);
        return r;
}

/* show: the summary, and the disks, datastores and snapshots as the file holds them. */
static int vm_details(struct json_object *vm, struct json_object **out) {
        _cleanup_(json_object_putp) struct json_object *o = vm_summary(vm);
        struct json_object *disks = jget(vm, "disks"), *list = json_object_new_array();

        if (!o || jset(o, "disks", list) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < jlen(disks); i++) {
                struct json_object *d = json_object_array_get_idx(disks, i), *j = json_object_new_object();
                if (jpush(list, j) < 0 || jset_str(j, "label", jstr(d, "label")) < 0 ||
                    jset(j, "capacityMiB", json_object_new_int64(jint(d, "mib"))) < 0)
                        return -ENOMEM;
        }
        if (json_object_object_add(o, "datastores", json_object_get(jget(vm, "datastores"))) < 0 ||
            json_object_object_add(o, "snapshots", json_object_get(jget(vm, "snapshots"))) < 0 ||
            jset_str(o, "currentSnapshot", jstr(vm, "current_snapshot")) < 0)
                return -ENOMEM;
        *out = TAKE_PTR(o);
        return 0;
}

static int fake_show_vm(struct backend_session *s, const struct op_args *args, const char *opid,
                        struct json_object **out, struct op_error *err) {
        _cleanup_(platform_close) struct platform p = PLATFORM_INIT;
        struct json_object *vm;
        int r = request_vm(s, &p, "show_vm", opid, args->vm, &vm, err);

        if (r < 0)
                return r;
        return platform_done(&p, vm_details(vm, out), err);
}

/*
 * After a restart: the task's outcome as the file holds it.  Its own kind
 * and arguments say what to read back (the trail name alone cannot tell a
 * disk added from one grown).
 */
static int fake_task_outcome(struct backend_session *s, enum op_kind kind, const struct op_args *args _unused_,
                             const char *task_id, const char *opid, struct vm_target *t, struct op_value *after,
                             struct op_error *err) {
        _cleanup_(platform_close) struct platform p = PLATFORM_INIT;
        struct json_object *task;
        int r = open_task(s, &p, "task_outcome", opid, task_id, -ENOENT, &task, err);

        if (r < 0)
                return r;
        int own = kind_by_name(jstr(task, "kind"));
        r = task_result(task, err);
        if (r != -EINPROGRESS && read_after(&p, own >= 0 ? (enum op_kind) own : kind, task, t, after) < 0)
                r = r < 0 ? r : -ENOMEM;
        return platform_done(&p, r, err);
}

/* ---- Watching: the file read again every interval, VMs compared by id ---- */

struct backend_watch {
        const struct endpoint_config *ep;
        const struct watch_sink *sink;
        unsigned interval_sec;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool stop;
        struct json_object *seen;       /* the "vms" array last read */
        int64_t seen_ms;
};


/* What the watcher compares, each as the operation that would change it. */
static const struct {
        const char *member;
        enum op_kind kind;
} watched[] = {
        { "name", OP_RENAME }, { "cpus", OP_CPU }, { "memory_mib", OP_MEMORY }, { "power", OP_START },
};

/* Power: the kind that would have made the new state. */
static enum op_kind power_kind(struct json_object *vm) {
        switch (power_of(vm)) {
        case VM_POWER_OFF:
                return OP_STOP;
        case VM_POWER_SUSPENDED:
        case VM_POWER_PAUSED:
                return OP_SUSPEND;
        default:
                return OP_START;
        }
}

static void report(struct backend_watch *w, enum op_kind kind, const char *operation, struct json_object *old,
                   struct json_object *now, int64_t now_ms) {
        struct op_value before = {}, after = {};
        struct vm_target t = {};
        struct op_args a = {};

        if (fill_target(now ? now : old, &t) >= 0) {
                if (old)
                        (void) fill_value(kind, old, &a, &before);
                if (now)
                        (void) fill_value(kind, now, &a, &after);
                else
                        after.known = after.gone = true;
                struct watch_change c = { .kind = kind, .operation = operation, .target = &t, .before = &before,
                                          .after = &after, .seen_unchanged_ms = w->seen_ms, .seen_changed_ms = now_ms,
                                          .detail = "seen by reading the fake platform's file again" };
                w->sink->changed(w->sink->userdata, w->ep, &c);
        }
        op_value_clear(&before);
        op_value_clear(&after);
        vm_target_clear(&t);
}

static struct json_object *vm_in(struct json_object *vms, const char *id) {
        for (size_t i = 0; id && i < jlen(vms); i++) {
                struct json_object *vm = json_object_array_get_idx(vms, i);
                if (jstr(vm, "id") && strcmp(jstr(vm, "id"), id) == 0)
                        return vm;
        }
        return NULL;
}

static void compare(struct backend_watch *w, struct json_object *vms, int64_t now_ms) {
        for (size_t i = 0; i < jlen(vms); i++) {
                struct json_object *now = json_object_array_get_idx(vms, i), *old = vm_in(w->seen, jstr(now, "id"));

                if (!old) {
                        report(w, OP_CLONE, "CreateVM", NULL, now, now_ms);
                        continue;
                }
                for (size_t k = 0; k < ELEMENTSOF(watched); k++)
                        if (!json_object_equal(jget(old, watched[k].member), jget(now, watched[k].member)))
                                report(w, watched[k].kind == OP_START ? power_kind(now) : watched[k].kind, NULL, old,
                                       now, now_ms);
        }
        for (size_t i = 0; i < jlen(w->seen); i++) {
                struct json_object *old = json_object_array_get_idx(w->seen, i);
                if (!vm_in(vms, jstr(old, "id")))
                        report(w, OP_DESTROY, NULL, old, NULL, now_ms);
        }
}

/* One look at the file; the first is the baseline and reports nothing. */
static void watch_look(struct backend_watch *w) {
        _cleanup_(platform_close) struct platform p = PLATFORM_INIT;
        struct op_error err = {};
        struct json_object *vms, *copy = NULL;
        int64_t now = now_ms();

        if (platform_load(url_path(w->ep), false, &p, &err) < 0)
                return;
        vms = jmember(p.root, "vms", json_type_array);
        if (!vms || json_object_deep_copy(vms, &copy, NULL) < 0)
                return;
        if (w->seen)
                compare(w, copy, now);
        json_object_put(w->seen);
        w->seen = copy;
        w->seen_ms = now;
}

static void *watch_thread(void *arg) {
        struct backend_watch *w = arg;

        pthread_mutex_lock(&w->lock);
        while (!w->stop) {
                pthread_mutex_unlock(&w->lock);
                watch_look(w);
                pthread_mutex_lock(&w->lock);
                struct timespec until;
                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_sec += w->interval_sec;
                while (!w->stop && pthread_cond_timedwait(&w->cond, &w->lock, &until) == 0)
                        ;
        }
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

static int fake_watch_start(const struct endpoint_config *ep, unsigned interval_sec, const struct watch_sink *sink,
                            struct backend_watch **out, struct op_error *err) {
        struct backend_watch *w = calloc(1, sizeof *w);

        if (!w) {
                op_error_set(err, "InternalError", "out of memory");
                return -ENOMEM;
        }
        *w = (struct backend_watch) { .ep = ep, .sink = sink, .interval_sec = interval_sec ? interval_sec : 1 };
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->cond, NULL);
        /* The baseline before start returns: a change made after it is reported. */
        watch_look(w);
        int r = -pthread_create(&w->thread, NULL, watch_thread, w);
        if (r < 0) {
                json_object_put(w->seen);
                free(w);
                op_error_set(err, "InternalError", "cannot start the watcher's thread");
                return r;
        }
        *out = w;
        return 0;
}

static void fake_watch_stop(struct backend_watch *w) {
        if (!w)
                return;
        pthread_mutex_lock(&w->lock);
        w->stop = true;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
        json_object_put(w->seen);
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->cond);
        free(w);
}

const struct backend_ops backend_fake = {
        .name = "fake",
        .limits = &fake_limits,
        .needs_credentials = false,
        .supports = fake_supports,
        .endpoint_check = fake_endpoint_check,
        .session_new = fake_session_new,
        .session_free = fake_session_free,
        .round_trips = fake_round_trips,
        .login = fake_login,
        .logout = fake_logout,
        .read_target = fake_read_target,
        .perform = fake_perform,
        .post_event = fake_post_event,
        .list_vms = fake_list_vms,
        .show_vm = fake_show_vm,
        .task_outcome = fake_task_outcome,
        .watch_start = fake_watch_start,
        .watch_stop = fake_watch_stop,
};
