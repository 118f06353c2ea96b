/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by all backends and by the trail logic above them; see backend.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "macros.h"

void op_error_set(struct op_error *e, const char *fault, const char *fmt, ...) {
        va_list ap;

        snprintf(e->fault, sizeof e->fault, "%s", strempty(fault));
        va_start(ap, fmt);
        vsnprintf(e->message, sizeof e->message, fmt, ap);
        va_end(ap);
}

void vm_target_clear(struct vm_target *t) {
        free(t->name);
        free(t->id);
        free(t->uuid);
        free(t->host);
        *t = (struct vm_target) {};
}

static const char *const trail_names[_OP_MAX] = {
        [OP_RENAME] = "RenameVM",
        [OP_CPU] = "ModifyCPU",
        [OP_MEMORY] = "ModifyMemory",
        [OP_DISK_GROW] = "ModifyDisk",
        [OP_DISK_ADD] = "ModifyDisk",
        [OP_START] = "StartVM",
        [OP_STOP] = "StopVM",
        [OP_STOP_GUEST] = "StopVM",
        [OP_RESET] = "ResetVM",
        [OP_SUSPEND] = "SuspendVM",
        [OP_CLONE] = "CloneVM",
        [OP_MIGRATE] = "MigrateVM",
        [OP_SNAPSHOT_CREATE] = "SnapshotCreate",
        [OP_SNAPSHOT_REVERT] = "SnapshotRevert",
        [OP_SNAPSHOT_REMOVE] = "SnapshotRemove",
        [OP_DESTROY] = "DestroyVM",
};

const char *op_kind_trail_name(enum op_kind k) {
        return k < _OP_MAX ? trail_names[k] : "Unknown";
}

int op_kind_from_trail_name(const char *name) {
        for (int k = 0; name && k < _OP_MAX; k++)
                if (strcmp(trail_names[k], name) == 0)
                        return k;
        return -1;
}

static const char *const power_names[_VM_POWER_MAX] = {
        [VM_POWER_UNKNOWN] = "unknown",
        [VM_POWER_ON] = "poweredOn",
        [VM_POWER_OFF] = "poweredOff",
        [VM_POWER_SUSPENDED] = "suspended",
        [VM_POWER_PAUSED] = "paused",
        [VM_POWER_CRASHED] = "crashed",
};

const char *vm_power_name(enum vm_power p) {
        return p < _VM_POWER_MAX ? power_names[p] : power_names[VM_POWER_UNKNOWN];
}

static void snapshots_free(struct op_snapshot *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(v[i].name);
                snapshots_free(v[i].children, v[i].n_children);
        }
        free(v);
}

void op_value_clear(struct op_value *v) {
        free(v->name);
        free(v->id);
        free(v->host);
        for (size_t i = 0; i < v->n_disks; i++)
                free(v->disks[i].label);
        free(v->disks);
        for (size_t i = 0; i < v->n_datastores; i++)
                free(v->datastores[i]);
        free(v->datastores);
        snapshots_free(v->snapshots, v->n_snapshots);
        free(v->current_snapshot);
        *v = (struct op_value) {};
}

/* Room for one more element of size sz in *a (holding *n). */
static void *grow(void *a, size_t n, size_t sz) {
        return reallocarray(a, n + 1, sz);
}

int op_value_add_disk(struct op_value *v, const char *label, int64_t mib) {
        struct op_disk *d = grow(v->disks, v->n_disks, sizeof *d);
        char *l = strdup(strempty(label));

        if (d)
                v->disks = d;
        if (!d || !l) {
                free(l);
                return -ENOMEM;
        }
        v->disks[v->n_disks++] = (struct op_disk) { .label = l, .mib = mib };
        return 0;
}

int op_value_add_datastore(struct op_value *v, const char *name) {
        char **d = grow(v->datastores, v->n_datastores, sizeof *d);
        char *n = strdup(strempty(name));

        if (d)
                v->datastores = d;
        if (!d || !n) {
                free(n);
                return -ENOMEM;
        }
        v->datastores[v->n_datastores++] = n;
        return 0;
}

int op_value_add_snapshot(struct op_value *v, struct op_snapshot *parent, const char *name, struct op_snapshot **out) {
        struct op_snapshot **list = parent ? &parent->children : &v->snapshots;
        size_t *n = parent ? &parent->n_children : &v->n_snapshots;
        struct op_snapshot *a = grow(*list, *n, sizeof *a);
        char *copy = strdup(strempty(name));

        if (a)
                *list = a;
        if (!a || !copy) {
                free(copy);
                return -ENOMEM;
        }
        a[*n] = (struct op_snapshot) { .name = copy };
        if (out)
                *out = &a[*n];
        (*n)++;
        return 0;
}

static bool same(const char *a, const char *b) {
        return a && b && strcmp(a, b) == 0;
}

/* Is there a snapshot named name in the tree t[0..n)? */
static bool tree_has(const struct op_snapshot *t, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (same(t[i].name, name) || tree_has(t[i].children, t[i].n_children, name))
                        return true;
        return false;
}

/* The power state each power kind asks for; VM_POWER_UNKNOWN for the others. */
static enum vm_power power_asked(enum op_kind kind) {
        switch (kind) {
        case OP_START:
                return VM_POWER_ON;
        case OP_STOP:
        case OP_STOP_GUEST:
                return VM_POWER_OFF;
        case OP_SUSPEND:
                return VM_POWER_SUSPENDED;
        default:
                return VM_POWER_UNKNOWN;
        }
}

static bool shows_snapshot(enum op_kind kind, const struct op_args *a, const struct op_value *v) {
        bool has = tree_has(v->snapshots, v->n_snapshots, a->snapshot);

        if (kind == OP_SNAPSHOT_REVERT)
                return same(v->current_snapshot, a->snapshot);
        return kind == OP_SNAPSHOT_CREATE ? has : !has;
}

bool op_value_shows(enum op_kind kind, const struct op_args *a, const struct op_value *v) {
        if (!v || !v->known)
                return true;
        if (v->gone)
                return kind == OP_DESTROY;
        switch (kind) {
        case OP_RENAME:
        case OP_CLONE:
                return same(v->name, a->new_name);
        case OP_CPU:
                return v->cpus == a->number;
        case OP_MEMORY:
                return v->memory_mib == a->number;
        case OP_DISK_GROW:
                return v->n_disks != 1 || v->disks[0].mib >= a->number;
        case OP_SNAPSHOT_CREATE:
        case OP_SNAPSHOT_REVERT:
        case OP_SNAPSHOT_REMOVE:
                return shows_snapshot(kind, a, v);
        case OP_DESTROY:
                return false;
        default:
                return power_asked(kind) == VM_POWER_UNKNOWN || v->power == power_asked(kind);
        }
}
