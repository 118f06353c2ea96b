/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The values an operation changes, as text, and the request data
 * read_target prepares for perform: what vs_kind_paths() asks vCenter for,
 * and vs_format_value() makes of it.
 *
 * The textual values of before and after (vs_format_value), per kind:
 *
 *   RenameVM        the name                           DC0_H0_VM0
 *   ModifyCPU       config.hardware.numCPU             2
 *   ModifyMemory    config.hardware.memoryMB (MiB)     4096
 *   ModifyDisk grow LABEL=SIZEMiB of that disk         Hard disk 1=2048MiB
 *                   (the disk is given by label, or by number: the Nth disk in device order;
 *                   task_outcome after a restart does not know it and lists every disk)
 *   ModifyDisk add  every disk, in device order, ';'   Hard disk 1=1MiB;Hard disk 2=10MiB
 *   Start/Stop/Reset/SuspendVM  runtime.powerState     poweredOn | poweredOff | suspended
 *   CloneVM         before: the source, after: the new VM
 *                                                      name=DC0_H0_VM0;id=vm-54;host=DC0_H0
 *   MigrateVM       host and datastores (',')          host=DC0_H0;datastore=LocalDS_0
 *   Snapshot*       tree: NAME(CHILD,CHILD(...)),...; current: its name
 *                                                      tree=s1(s2,s3);current=s3   (none: tree=;current=)
 *   DestroyVM       before: the last state             name=X;id=vm-54;power=poweredOff;host=DC0_H0;cpu=1;memoryMB=32
 *                   after: "destroyed" once vCenter no longer knows the moref
 *
 * Sizes are MiB, rounded down.  Names are vCenter's, verbatim: they may
 * contain ';', '=', ',' and parentheses; the trail escapes for output.
 * A host or datastore not in the last scan shows as its moref value.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "config.h"
#include "log.h"
#include "macros.h"
#include "vsphere_internal.h"

/* ---- What each kind reads ---------------------------------------------- */

#define VM_BASE_PATHS "name", "runtime.host"
static const char *const paths_rename[] = { VM_BASE_PATHS };
static const char *const paths_cpu[] = { VM_BASE_PATHS, "config.hardware.numCPU" };
static const char *const paths_memory[] = { VM_BASE_PATHS, "config.hardware.memoryMB" };
static const char *const paths_disk[] = { VM_BASE_PATHS, "config.hardware.device" };
static const char *const paths_power[] = { VM_BASE_PATHS, "runtime.powerState" };
static const char *const paths_clone[] = { VM_BASE_PATHS, "parent", "resourcePool" };
static const char *const paths_migrate[] = { VM_BASE_PATHS, "datastore", "resourcePool" };
static const char *const paths_snapshot[] = { VM_BASE_PATHS, "snapshot" };
static const char *const paths_destroy[] = {
        VM_BASE_PATHS, "runtime.powerState", "config.hardware.numCPU", "config.hardware.memoryMB",
};

int vs_kind_paths(enum op_kind kind, const char *const **paths) {
#define RET(a) do { *paths = (a); return (int) ELEMENTSOF(a); } while (0)
        switch (kind) {
        case OP_RENAME: RET(paths_rename);
        case OP_CPU: RET(paths_cpu);
        case OP_MEMORY: RET(paths_memory);
        case OP_DISK_GROW:
        case OP_DISK_ADD: RET(paths_disk);
        case OP_START:
        case OP_STOP:
        case OP_STOP_GUEST:
        case OP_RESET:
        case OP_SUSPEND: RET(paths_power);
        case OP_CLONE: RET(paths_clone);
        case OP_MIGRATE: RET(paths_migrate);
        case OP_SNAPSHOT_CREATE:
        case OP_SNAPSHOT_REVERT:
        case OP_SNAPSHOT_REMOVE: RET(paths_snapshot);
        case OP_DESTROY: RET(paths_destroy);
        default:
                *paths = NULL;
                return -EINVAL;
        }
#undef RET
}

/* ---- Formatting values --------------------------------------------------- */

/* A growing malloc'd string. */
struct buf {
        char *s;
        size_t len;
        bool oom;
};

static void buf_add(struct buf *b, const char *fmt, ...) _printf_(2, 3);
static void buf_add(struct buf *b, const char *fmt, ...) {
        va_list ap;
        char *piece;
        int n;

        if (b->oom)
                return;
        va_start(ap, fmt);
        n = vasprintf(&piece, fmt, ap);
        va_end(ap);
        if (n < 0) {
                b->oom = true;
                return;
        }
        char *s = realloc(b->s, b->len + n + 1);
        if (!s) {
                free(piece);
                b->oom = true;
                return;
        }
        memcpy(s + b->len, piece, n + 1);
        b->s = s;
        b->len += n;
        free(piece);
}

static int buf_take(struct buf *b, char **out) {
        if (b->oom) {
                free(b->s);
                return -ENOMEM;
        }
        if (!b->s && !(b->s = strdup("")))
                return -ENOMEM;
        *out = b->s;
        return 0;
}

static const char *host_name(const struct backend_session *s, const char *id) {
        const char *n = vs_names_find(s->hosts, s->n_hosts, id);

        return n ? n : strempty(id);
}

static const struct vim25__ArrayOfVirtualDevice *prop_devices(const struct vs_props *vm) {
        const struct vim25__DynamicProperty *d = vs_prop(vm, "config.hardware.device");

        return d && d->__typeval == SOAP_TYPE_vim25__ArrayOfVirtualDevice ? d->val : NULL;
}

static const struct vim25__VirtualDisk *device_disk(const struct __vim25__VirtualDeviceItem *it) {
        return it->__typeVirtualDevice == SOAP_TYPE_vim25__VirtualDisk ? it->VirtualDevice : NULL;
}

static const char *disk_label(const struct vim25__VirtualDisk *d) {
        return d->deviceInfo && d->deviceInfo->label ? d->deviceInfo->label : "disk";
}

static void format_disk(struct buf *b, const struct vim25__VirtualDisk *d) {
        buf_add(b, "%s=%lldMiB", disk_label(d), (long long) d->capacityInKB / 1024);
}

static void format_disks(struct buf *b, const struct vs_props *vm, int only_key) {
        const struct vim25__ArrayOfVirtualDevice *a = prop_devices(vm);
        bool first = true;

        for (int i = 0; a && i < a->__sizeVirtualDevice; i++) {
                const struct vim25__VirtualDisk *d = device_disk(&a->__VirtualDevice[i]);

                if (!d || (only_key && d->key != only_key))
                        continue;
                if (!first)
                        buf_add(b, ";");
                format_disk(b, d);
                first = false;
        }
}

static const struct vim25__VirtualMachineSnapshotInfo *prop_snapshot(const struct vs_props *vm) {
        const struct vim25__DynamicProperty *d = vs_prop(vm, "snapshot");

        return d && d->__typeval == SOAP_TYPE_vim25__VirtualMachineSnapshotInfo ? d->val : NULL;
}

static void format_tree(struct buf *b, const struct vim25__VirtualMachineSnapshotTree *t, int n, int depth) {
        for (int i = 0; i < n && depth < 64; i++) {
                buf_add(b, "%s%s", i ? "," : "", strempty(t[i].name));
                if (t[i].__sizechildSnapshotList > 0) {
                        buf_add(b, "(");
                        format_tree(b, t[i].childSnapshotList, t[i].__sizechildSnapshotList, depth + 1);
                        buf_add(b, ")");
                }
        }
}

static const struct vim25__VirtualMachineSnapshotTree *tree_find(const struct vim25__VirtualMachineSnapshotTree *t,
                                                                 int n, const char *id, const char *name,
                                                                 int *count, int depth) {
        const struct vim25__VirtualMachineSnapshotTree *found = NULL, *f;

        for (int i = 0; i < n && depth < 64; i++) {
                if ((id && t[i].snapshot.__item && strcmp(t[i].snapshot.__item, id) == 0) ||
                    (name && t[i].name && strcmp(t[i].name, name) == 0)) {
                        found = &t[i];
                        (*count)++;
                }
                f = tree_find(t[i].childSnapshotList, t[i].__sizechildSnapshotList, id, name, count, depth + 1);
                if (f)
                        found = f;
        }
        return found;
}

static void format_snapshots(struct buf *b, const struct vs_props *vm) {
        const struct vim25__VirtualMachineSnapshotInfo *si = prop_snapshot(vm);
        const struct vim25__VirtualMachineSnapshotTree *cur = NULL;
        int count = 0;

        buf_add(b, "tree=");
        if (si) {
                format_tree(b, si->rootSnapshotList, si->__sizerootSnapshotList, 0);
                if (si->currentSnapshot)
                        cur = tree_find(si->rootSnapshotList, si->__sizerootSnapshotList,
                                        si->currentSnapshot->__item, NULL, &count, 0);
        }
        buf_add(b, ";current=%s", cur ? strempty(cur->name) : "");
}

static void format_datastores(struct buf *b, const struct backend_session *s, const struct vs_props *vm) {
        const struct vim25__DynamicProperty *d = vs_prop(vm, "datastore");
        const struct vim25__ArrayOfManagedObjectReference *a =
                d && d->__typeval == SOAP_TYPE_vim25__ArrayOfManagedObjectReference ? d->val : NULL;

        for (int i = 0; a && i < a->__sizeManagedObjectReference; i++) {
                const char *id = a->ManagedObjectReference[i].__item;
                const char *n = vs_names_find(s->datastores, s->n_datastores, id);

                buf_add(b, "%s%s", i ? "," : "", n ? n : strempty(id));
        }
}

const char *vs_vm_host_id(const struct vs_props *vm) {
        const struct vim25__ManagedObjectReference *h = vs_prop_mor(vm, "runtime.host");

        return h ? h->__item : NULL;
}

static const char *vm_id(const struct vs_props *vm) {
        return vm->n ? vm->oc[0]->obj.__item : NULL;
}

int vs_format_value(struct backend_session *s, enum op_kind kind, const struct vs_props *vm, char **out) {
        struct buf b = {};
        long long n;

        if (!vm || vm->n == 0)
                /* Only after a destroy (or a VM gone behind our back): vCenter no longer knows the moref. */
                return (*out = strdup("destroyed")) ? 0 : -ENOMEM;

        switch (kind) {
        case OP_RENAME:
                buf_add(&b, "%s", strempty(vs_prop_string(vm, "name")));
                break;
        case OP_CPU:
                if (vs_prop_int(vm, "config.hardware.numCPU", &n))
                        buf_add(&b, "%lld", n);
                break;
        case OP_MEMORY:
                if (vs_prop_int(vm, "config.hardware.memoryMB", &n))
                        buf_add(&b, "%lld", n);
                break;
        case OP_DISK_GROW:
                /* The disk read_target picked; without it (crash recovery) every disk. */
                format_disks(&b, vm, s->prep.vm && strcmp(s->prep.vm, strempty(vm_id(vm))) == 0 ? s->prep.disk_key : 0);
                break;
        case OP_DISK_ADD:
                format_disks(&b, vm, 0);
                break;
        case OP_START:
        case OP_STOP:
        case OP_STOP_GUEST:
        case OP_RESET:
        case OP_SUSPEND:
                buf_add(&b, "%s", strempty(vs_prop_string(vm, "runtime.powerState")));
                break;
        case OP_CLONE:
                buf_add(&b, "name=%s;id=%s;host=%s", strempty(vs_prop_string(vm, "name")), strempty(vm_id(vm)),
                        host_name(s, vs_vm_host_id(vm)));
                break;
        case OP_MIGRATE:
                buf_add(&b, "host=%s;datastore=", host_name(s, vs_vm_host_id(vm)));
                format_datastores(&b, s, vm);
                break;
        case OP_SNAPSHOT_CREATE:
        case OP_SNAPSHOT_REVERT:
        case OP_SNAPSHOT_REMOVE:
                format_snapshots(&b, vm);
                break;
        case OP_DESTROY:
                buf_add(&b, "name=%s;id=%s;power=%s;host=%s", strempty(vs_prop_string(vm, "name")),
                        strempty(vm_id(vm)), strempty(vs_prop_string(vm, "runtime.powerState")),
                        host_name(s, vs_vm_host_id(vm)));
                if (vs_prop_int(vm, "config.hardware.numCPU", &n))
                        buf_add(&b, ";cpu=%lld", n);
                if (vs_prop_int(vm, "config.hardware.memoryMB", &n))
                        buf_add(&b, ";memoryMB=%lld", n);
                break;
        default:
                break;
        }
        return buf_take(&b, out);
}

/* ---- Prepared request data ---------------------------------------------- */

void vs_prepared_clear(struct vs_prepared *p) {
        free(p->vm);
        free(p->folder);
        free(p->pool);
        free(p->host);
        free(p->datastore);
        free(p->snapshot);
        free(p->disk_label);
        free(p->disk_file);
        free(p->disk_datastore);
        free(p->disk_mode);
        free(p->disk_uuid);
        *p = (struct vs_prepared) { .disk_thin = -1 };
}

int vs_dup_into(char **dst, const char *src) {
        if (!src)
                return 0;
        *dst = strdup(src);
        return *dst ? 0 : -ENOMEM;
}

/* The disk named want: its label ("Hard disk 2"), or its number, counting disks in device order from 1. */
static const struct vim25__VirtualDisk *disk_find(const struct vim25__ArrayOfVirtualDevice *a, const char *want) {
        char *end;
        long n = strtol(want, &end, 10), seen = 0;
        bool by_number = end != want && !*end && n > 0;

        for (int i = 0; a && i < a->__sizeVirtualDevice; i++) {
                const struct vim25__VirtualDisk *d = device_disk(&a->__VirtualDevice[i]);

                if (d && (by_number ? ++seen == n : strcmp(disk_label(d), want) == 0))
                        return d;
        }
        return NULL;
}

int vs_prepare_disk_grow(struct backend_session *s, const struct op_args *args, const struct vs_props *vm,
                             struct op_error *err) {
        const struct vim25__ArrayOfVirtualDevice *a = prop_devices(vm);
        const struct vim25__VirtualDisk *d = disk_find(a, args->disk);
        const struct vim25__VirtualDiskFlatVer2BackingInfo *bk;
        struct vs_prepared *p = &s->prep;

        if (!d) {
                op_error_set(err, OP_FAULT_NOT_FOUND, "VM \"%s\" has no disk \"%s\" (give its label, such as "
                             "\"Hard disk 1\", or its number)", args->vm, args->disk);
                return -ENOENT;
        }
        if (args->number * 1024 < d->capacityInKB) {
                op_error_set(err, "InvalidArgument", "%s of VM \"%s\" has %lld MiB; disks can only grow, not "
                             "shrink to %" PRId64 " MiB", disk_label(d), args->vm,
                             (long long) d->capacityInKB / 1024, args->number);
                return -EINVAL;
        }
        bk = d->__typebacking == SOAP_TYPE_vim25__VirtualDiskFlatVer2BackingInfo ? d->backing : NULL;
        if (!bk) {
                op_error_set(err, "NotSupported", "%s of VM \"%s\" is not a flat VMDK; vmtraced cannot grow it",
                             disk_label(d), args->vm);
                return -EINVAL;
        }
        p->disk_key = d->key;
        p->disk_controller = d->controllerKey ? *d->controllerKey : 0;
        p->disk_unit = d->unitNumber ? *d->unitNumber : -1;
        p->disk_kb = d->capacityInKB;
        p->disk_thin = bk->thinProvisioned ? *bk->thinProvisioned == xsd__boolean__true_ : -1;
        if (vs_dup_into(&p->disk_label, disk_label(d)) < 0 || vs_dup_into(&p->disk_file, bk->fileName) < 0 ||
            vs_dup_into(&p->disk_datastore, bk->datastore ? bk->datastore->__item : NULL) < 0 ||
            vs_dup_into(&p->disk_mode, bk->diskMode) < 0 || vs_dup_into(&p->disk_uuid, bk->uuid) < 0)
                return vs_oom(err);
        return 0;
}

/* Unit numbers taken on controller key: by the disks and CD-ROMs we can decode. */
static bool unit_taken(const struct vim25__ArrayOfVirtualDevice *a, int controller, int unit) {
        for (int i = 0; a && i < a->__sizeVirtualDevice; i++) {
                const struct __vim25__VirtualDeviceItem *it = &a->__VirtualDevice[i];
                const int *ck = NULL, *un = NULL;

                if (it->__typeVirtualDevice == SOAP_TYPE_vim25__VirtualDisk) {
                        const struct vim25__VirtualDisk *d = it->VirtualDevice;
                        ck = d->controllerKey;
                        un = d->unitNumber;
                } else if (it->__typeVirtualDevice == SOAP_TYPE_vim25__VirtualCdrom) {
                        const struct vim25__VirtualCdrom *c = it->VirtualDevice;
                        ck = c->controllerKey;
                        un = c->unitNumber;
                }
                if (ck && un && *ck == controller && *un == unit)
                        return true;
        }
        return false;
}

/*
 * The new disk goes on the controller of the first disk, at the lowest free
 * unit (7 is the SCSI controller's own).  Devices of types we do not decode
 * may hold a unit too: vCenter then refuses with InvalidDeviceSpec.
 */
int vs_prepare_disk_add(struct backend_session *s, const struct op_args *args, const struct vs_props *vm,
                            struct op_error *err) {
        const struct vim25__ArrayOfVirtualDevice *a = prop_devices(vm);
        const struct vim25__VirtualDisk *first = NULL;

        for (int i = 0; a && i < a->__sizeVirtualDevice && !first; i++)
                first = device_disk(&a->__VirtualDevice[i]);
        if (!first || !first->controllerKey) {
                op_error_set(err, "NotSupported", "VM \"%s\" has no disk on a controller to add one next to",
                             args->vm);
                return -EINVAL;
        }
        s->prep.add_controller = *first->controllerKey;
        for (int unit = 0; unit < 16; unit++)
                if (unit != 7 && !unit_taken(a, s->prep.add_controller, unit)) {
                        s->prep.add_unit = unit;
                        return 0;
                }
        op_error_set(err, "NoFreeUnit", "The disk controller of VM \"%s\" has no free unit", args->vm);
        return -EINVAL;
}

int vs_prepare_snapshot(struct backend_session *s, const struct op_args *args, const struct vs_props *vm,
                            struct op_error *err) {
        const struct vim25__VirtualMachineSnapshotInfo *si = prop_snapshot(vm);
        const struct vim25__VirtualMachineSnapshotTree *t = NULL;
        int count = 0;

        if (si)
                t = tree_find(si->rootSnapshotList, si->__sizerootSnapshotList, NULL, args->snapshot, &count, 0);
        if (count == 0) {
                op_error_set(err, OP_FAULT_NOT_FOUND, "VM \"%s\" has no snapshot \"%s\"", args->vm, args->snapshot);
                return -ENOENT;
        }
        if (count > 1) {
                op_error_set(err, OP_FAULT_AMBIGUOUS, "VM \"%s\" has %d snapshots named \"%s\"", args->vm, count,
                             args->snapshot);
                return -ENOTUNIQ;
        }
        return vs_dup_into(&s->prep.snapshot, t->snapshot.__item) < 0 ? vs_oom(err) : 0;
}
