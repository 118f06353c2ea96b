/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The values an operation changes, and the request data read_target
 * prepares for perform: what vs_kind_paths() asks vCenter for, and what
 * vs_fill_value() makes of it.  The trail text is value.c's (value.h has
 * its grammar); here the VM's properties become a struct op_value, per kind:
 *
 *   RenameVM        name                     the VM's name
 *   ModifyCPU       cpus                     config.hardware.numCPU
 *   ModifyMemory    memory_mib               config.hardware.memoryMB
 *   ModifyDisk grow disks                    the disk read_target picked: its label, capacityInKB / 1024
 *                   (the disk is given by label, or by number: the Nth disk in device order;
 *                   task_outcome after a restart does not know it and lists every disk)
 *   ModifyDisk add  disks                    every disk, in device order
 *   Start/Stop/Reset/SuspendVM  power        runtime.powerState: poweredOn, poweredOff, suspended
 *                                            (anything else VM_POWER_UNKNOWN)
 *   CloneVM         name, id, host           before: the source, after: the new VM
 *   MigrateVM       host, datastores
 *   Snapshot*       snapshots, current_snapshot   the tree, and the current one's name (NULL: none)
 *   DestroyVM       name, id, power, host, cpus, memory_mib   before: the last state;
 *                   after: gone, once vCenter no longer knows the moref
 *
 * Sizes are MiB, rounded down.  Names are vCenter's, verbatim: they may
 * contain ';', '=', ',' and parentheses; value.c escapes them.  A host or
 * datastore not in the last scan shows as its moref value.  A number
 * vCenter did not give (a VM without config) leaves the value unknown.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "config.h"
#include "log.h"
#include "macros.h"
#include "vsphere_internal.h"

/* ---- What each kind reads ---------------------------------------------- */

/* config.uuid: read_target's lookup from the mirror takes the identity from the same read. */
#define VM_BASE_PATHS "name", "runtime.host", "config.uuid"
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

/* ---- Reading values ------------------------------------------------------ */

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

/* The disks in device order; only the one of device key only_key unless it is 0. */
static int add_disks(struct op_value *v, const struct vs_props *vm, int only_key) {
        const struct vim25__ArrayOfVirtualDevice *a = prop_devices(vm);

        for (int i = 0; a && i < a->__sizeVirtualDevice; i++) {
                const struct vim25__VirtualDisk *d = device_disk(&a->__VirtualDevice[i]);

                if (!d || (only_key && d->key != only_key))
                        continue;
                if (op_value_add_disk(v, disk_label(d), (int64_t) d->capacityInKB / 1024) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static const struct vim25__VirtualMachineSnapshotInfo *prop_snapshot(const struct vs_props *vm) {
        const struct vim25__DynamicProperty *d = vs_prop(vm, "snapshot");

        return d && d->__typeval == SOAP_TYPE_vim25__VirtualMachineSnapshotInfo ? d->val : NULL;
}

/* No deeper than value.c writes the tree. */
static int add_tree(struct op_value *v, struct op_snapshot *parent, const struct vim25__VirtualMachineSnapshotTree *t,
                    int n, int depth) {
        for (int i = 0; i < n && depth < 64; i++) {
                struct op_snapshot *node;

                if (op_value_add_snapshot(v, parent, t[i].name, &node) < 0 ||
                    add_tree(v, node, t[i].childSnapshotList, t[i].__sizechildSnapshotList, depth + 1) < 0)
                        return -ENOMEM;
        }
        return 0;
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

const char *vs_vm_host_id(const struct vs_props *vm) {
        const struct vim25__ManagedObjectReference *h = vs_prop_mor(vm, "runtime.host");

        return h ? h->__item : NULL;
}

static const char *vm_id(const struct vs_props *vm) {
        return vm->n ? vm->oc[0]->obj.__item : NULL;
}

static enum vm_power power_from(const char *state) {
        static const struct {
                const char *word;
                enum vm_power power;
        } map[] = {
                { "poweredOn", VM_POWER_ON },
                { "poweredOff", VM_POWER_OFF },
                { "suspended", VM_POWER_SUSPENDED },
        };

        for (size_t i = 0; state && i < ELEMENTSOF(map); i++)
                if (strcmp(state, map[i].word) == 0)
                        return map[i].power;
        return VM_POWER_UNKNOWN;
}

/*
 * One filler per kind: each reads from vm what its kind's value holds and
 * returns 1, 0 when the property was not there (the value stays unknown),
 * or -ENOMEM.
 */

static int fill_name(const struct backend_session *s _unused_, const struct vs_props *vm, struct op_value *v) {
        return vs_dup_into(&v->name, vs_prop_string(vm, "name")) < 0 ? -ENOMEM : 1;
}

static int fill_number(const struct vs_props *vm, const char *path, int64_t *out) {
        long long n;

        if (!vs_prop_int(vm, path, &n))
                return 0;
        *out = n;
        return 1;
}

static int fill_cpu(const struct backend_session *s _unused_, const struct vs_props *vm, struct op_value *v) {
        return fill_number(vm, "config.hardware.numCPU", &v->cpus);
}

static int fill_memory(const struct backend_session *s _unused_, const struct vs_props *vm, struct op_value *v) {
        return fill_number(vm, "config.hardware.memoryMB", &v->memory_mib);
}

static int fill_disk_grow(const struct backend_session *s, const struct vs_props *vm, struct op_value *v) {
        /* The disk read_target picked; without it (crash recovery) every disk. */
        bool prepared = s->prep.vm && strcmp(s->prep.vm, strempty(vm_id(vm))) == 0;

        return add_disks(v, vm, prepared ? s->prep.disk_key : 0) < 0 ? -ENOMEM : 1;
}

static int fill_disks(const struct backend_session *s _unused_, const struct vs_props *vm, struct op_value *v) {
        return add_disks(v, vm, 0) < 0 ? -ENOMEM : 1;
}

static int fill_power(const struct backend_session *s _unused_, const struct vs_props *vm, struct op_value *v) {
        v->power = power_from(vs_prop_string(vm, "runtime.powerState"));
        return 1;
}

/* A host (or datastore) not in the last scan is named by its moref value. */
static int fill_host(const struct backend_session *s, const struct vs_props *vm, struct op_value *v) {
        return vs_dup_into(&v->host, host_name(s, vs_vm_host_id(vm))) < 0 ? -ENOMEM : 1;
}

static int fill_clone(const struct backend_session *s, const struct vs_props *vm, struct op_value *v) {
        if (fill_name(s, vm, v) < 0 || vs_dup_into(&v->id, vm_id(vm)) < 0)
                return -ENOMEM;
        return fill_host(s, vm, v);
}

static int fill_migrate(const struct backend_session *s, const struct vs_props *vm, struct op_value *v) {
        const struct vim25__DynamicProperty *d = vs_prop(vm, "datastore");
        const struct vim25__ArrayOfManagedObjectReference *a =
                d && d->__typeval == SOAP_TYPE_vim25__ArrayOfManagedObjectReference ? d->val : NULL;

        for (int i = 0; a && i < a->__sizeManagedObjectReference; i++) {
                const char *id = a->ManagedObjectReference[i].__item;
                const char *n = vs_names_find(s->datastores, s->n_datastores, id);

                if (op_value_add_datastore(v, n ? n : id) < 0)
                        return -ENOMEM;
        }
        return fill_host(s, vm, v);
}

static int fill_snapshots(const struct backend_session *s _unused_, const struct vs_props *vm, struct op_value *v) {
        const struct vim25__VirtualMachineSnapshotInfo *si = prop_snapshot(vm);
        const struct vim25__VirtualMachineSnapshotTree *cur = NULL;
        int count = 0;

        if (!si)
                return 1;  /* no snapshots: an empty tree, no current one */
        if (add_tree(v, NULL, si->rootSnapshotList, si->__sizerootSnapshotList, 0) < 0)
                return -ENOMEM;
        if (si->currentSnapshot)
                cur = tree_find(si->rootSnapshotList, si->__sizerootSnapshotList, si->currentSnapshot->__item, NULL,
                                &count, 0);
        return cur && vs_dup_into(&v->current_snapshot, strempty(cur->name)) < 0 ? -ENOMEM : 1;
}

/* The last state of the VM; CPUs and memory only when vCenter gave them. */
static int fill_destroy(const struct backend_session *s, const struct vs_props *vm, struct op_value *v) {
        fill_power(s, vm, v);
        fill_cpu(s, vm, v);
        fill_memory(s, vm, v);
        return fill_clone(s, vm, v);
}

static int (*const fillers[_OP_MAX])(const struct backend_session *s, const struct vs_props *vm,
                                     struct op_value *v) = {
        [OP_RENAME] = fill_name,
        [OP_CPU] = fill_cpu,
        [OP_MEMORY] = fill_memory,
        [OP_DISK_GROW] = fill_disk_grow,
        [OP_DISK_ADD] = fill_disks,
        [OP_START] = fill_power,
        [OP_STOP] = fill_power,
        [OP_STOP_GUEST] = fill_power,
        [OP_RESET] = fill_power,
        [OP_SUSPEND] = fill_power,
        [OP_CLONE] = fill_clone,
        [OP_MIGRATE] = fill_migrate,
        [OP_SNAPSHOT_CREATE] = fill_snapshots,
        [OP_SNAPSHOT_REVERT] = fill_snapshots,
        [OP_SNAPSHOT_REMOVE] = fill_snapshots,
        [OP_DESTROY] = fill_destroy,
};

int vs_fill_value(const struct backend_session *s, enum op_kind kind, const struct vs_props *vm, struct op_value *v) {
        int r;

        op_value_clear(v);
        if (!vm || vm->n == 0) {
                /* Only after a destroy (or a VM gone behind our back): vCenter no longer knows the moref. */
                v->known = v->gone = true;
                return 0;
        }
        if ((unsigned) kind >= _OP_MAX || !fillers[kind])
                return 0;
        r = fillers[kind](s, vm, v);
        if (r < 0) {
                op_value_clear(v);
                return r;
        }
        v->known = r > 0;
        return 0;
}

/* ---- Prepared request data ---------------------------------------------- */

void vs_prepared_clear(struct vs_prepared *p) {
        free(p->vm);
        free(p->folder);
        free(p->pool);
        free(p->host);
        free(p->datastore);
        free(p->snapshot);
        free(p->disk_xml);
        *p = (struct vs_prepared) {};
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

/*
 * Why vmtraced does not grow disk d (NULL: it may).  Only a plain flat
 * VMDK without snapshots: growing a delta disk (a backing with a parent)
 * or another backing type (sparse, RDM, ...) is refused by vCenter at best
 * and corrupts a snapshot chain at worst.
 */
static const char *disk_not_growable(const struct vim25__VirtualDisk *d) {
        const struct vim25__VirtualDiskFlatVer2BackingInfo *bk;

        if (d->__typebacking != SOAP_TYPE_vim25__VirtualDiskFlatVer2BackingInfo || !d->backing)
                return "is not a plain flat VMDK (VirtualDiskFlatVer2BackingInfo); vmtraced grows only those";
        bk = d->backing;
        if (bk->parent)
                return "has snapshots (its backing has a parent disk); remove them before growing it";
        return NULL;
}

int vs_prepare_disk_grow(struct backend_session *s, const struct op_args *args, const struct vs_props *vm,
                         struct op_error *err) {
        const struct vim25__VirtualDisk *d = disk_find(prop_devices(vm), args->disk);
        const char *why;
        int r;

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
        why = disk_not_growable(d);
        if (why) {
                op_error_set(err, "NotSupported", "%s of VM \"%s\" %s", disk_label(d), args->vm, why);
                return -EINVAL;
        }
        s->prep.disk_key = d->key;
        r = vs_disk_save(d, &s->prep.disk_xml);
        if (r == -ENOMEM)
                return vs_oom(err);
        if (r < 0) {
                op_error_set(err, "InternalError", "Cannot keep %s of VM \"%s\" for the edit", disk_label(d),
                             args->vm);
                return r;
        }
        return 0;
}

/* ---- Where a new disk goes ----------------------------------------------- */

/* A disk controller as read: how many units its type has, and what is on it. */
struct controller {
        int key;
        const char *kind;       /* for messages */
        int units;              /* unit numbers 0 .. units - 1 */
        int own_unit;           /* a SCSI controller's own unit, else -1 */
        const int *devices;     /* keys of the devices on it */
        int n_devices;
};

/* A SCSI controller: 16 units but its own (scsiCtlrUnitNumber, 7 unless vCenter says otherwise). */
#define SCSI_CONTROLLER(c, type, n)                                                                    \
        ({                                                                                             \
                const struct type *_x = (c);                                                           \
                (struct controller) { _x->key, "SCSI", (n), _x->scsiCtlrUnitNumber ? *_x->scsiCtlrUnitNumber : 7, \
                                      _x->device, _x->__sizedevice };                                  \
        })
#define PLAIN_CONTROLLER(c, type, what, n)                                                             \
        ({                                                                                             \
                const struct type *_x = (c);                                                           \
                (struct controller) { _x->key, (what), (n), -1, _x->device, _x->__sizedevice };        \
        })

/*
 * The disk controller in it, or false.  Units per controller, from
 * VMware's configuration maximums: IDE 2 (master, slave), SATA 30, NVMe
 * 15, SCSI 16 less its own; ParaVirtual SCSI 64 less its own from
 * vSphere 6.7 on.
 */
static bool controller_of(const struct backend_session *s, const struct __vim25__VirtualDeviceItem *it,
                          struct controller *c) {
        const void *d = it->VirtualDevice;

        switch (it->__typeVirtualDevice) {
        case SOAP_TYPE_vim25__VirtualIDEController:
                *c = PLAIN_CONTROLLER(d, vim25__VirtualIDEController, "IDE", 2);
                return true;
        case SOAP_TYPE_vim25__VirtualSATAController:
                *c = PLAIN_CONTROLLER(d, vim25__VirtualSATAController, "SATA", 30);
                return true;
        case SOAP_TYPE_vim25__VirtualAHCIController:
                *c = PLAIN_CONTROLLER(d, vim25__VirtualAHCIController, "SATA", 30);
                return true;
        case SOAP_TYPE_vim25__VirtualNVMEController:
                *c = PLAIN_CONTROLLER(d, vim25__VirtualNVMEController, "NVMe", 15);
                return true;
        case SOAP_TYPE_vim25__ParaVirtualSCSIController:
                *c = SCSI_CONTROLLER(d, vim25__ParaVirtualSCSIController, vs_api_at_least(s, 6, 7) ? 64 : 16);
                c->kind = "ParaVirtual SCSI";
                return true;
        case SOAP_TYPE_vim25__VirtualLsiLogicController:
                *c = SCSI_CONTROLLER(d, vim25__VirtualLsiLogicController, 16);
                return true;
        case SOAP_TYPE_vim25__VirtualLsiLogicSASController:
                *c = SCSI_CONTROLLER(d, vim25__VirtualLsiLogicSASController, 16);
                return true;
        case SOAP_TYPE_vim25__VirtualBusLogicController:
                *c = SCSI_CONTROLLER(d, vim25__VirtualBusLogicController, 16);
                return true;
        default:
                return false;
        }
}

/* The key, controller and unit of a device that takes a unit on a disk controller; false for others. */
static bool device_place(const struct __vim25__VirtualDeviceItem *it, int *key, int *controller, int *unit) {
        const int *ck, *un;

        switch (it->__typeVirtualDevice) {
        case SOAP_TYPE_vim25__VirtualDisk: {
                const struct vim25__VirtualDisk *d = it->VirtualDevice;
                *key = d->key, ck = d->controllerKey, un = d->unitNumber;
                break;
        }
        case SOAP_TYPE_vim25__VirtualCdrom: {
                const struct vim25__VirtualCdrom *d = it->VirtualDevice;
                *key = d->key, ck = d->controllerKey, un = d->unitNumber;
                break;
        }
        case SOAP_TYPE_vim25__VirtualSCSIPassthrough: {
                const struct vim25__VirtualSCSIPassthrough *d = it->VirtualDevice;
                *key = d->key, ck = d->controllerKey, un = d->unitNumber;
                break;
        }
        default:
                return false;
        }
        *controller = ck ? *ck : 0;
        *unit = un ? *un : -1;
        return true;
}

static bool unit_taken(const struct vim25__ArrayOfVirtualDevice *a, int controller, int unit) {
        for (int i = 0; i < a->__sizeVirtualDevice; i++) {
                int key, ck, un;

                if (device_place(&a->__VirtualDevice[i], &key, &ck, &un) && ck == controller && un == unit)
                        return true;
        }
        return false;
}

/* Whether a device of this key is one whose unit we know. */
static bool device_known(const struct vim25__ArrayOfVirtualDevice *a, int want) {
        for (int i = 0; i < a->__sizeVirtualDevice; i++) {
                int key, ck, un;

                if (device_place(&a->__VirtualDevice[i], &key, &ck, &un) && key == want)
                        return true;
        }
        return false;
}

/*
 * The lowest free unit of c, or -1.  A controller that lists a device we
 * cannot place (a type we do not decode) is not used: its unit is unknown.
 */
static int free_unit(const struct vim25__ArrayOfVirtualDevice *a, const struct controller *c) {
        for (int i = 0; i < c->n_devices; i++)
                if (!device_known(a, c->devices[i])) {
                        log_debug("Controller %d holds device %d of a type vmtraced does not decode; not using it",
                                  c->key, c->devices[i]);
                        return -1;
                }
        for (int unit = 0; unit < c->units; unit++)
                if (unit != c->own_unit && !unit_taken(a, c->key, unit))
                        return unit;
        return -1;
}

/* The first disk's controller key, or 0. */
static int first_disk_controller(const struct vim25__ArrayOfVirtualDevice *a) {
        for (int i = 0; i < a->__sizeVirtualDevice; i++) {
                const struct vim25__VirtualDisk *d = device_disk(&a->__VirtualDevice[i]);

                if (d)
                        return d->controllerKey ? *d->controllerKey : 0;
        }
        return 0;
}

/* A free unit on a controller other than (want_key false) or only the one of key: 0 with *c, *unit set, or -ENOSPC. */
static int pick_unit(const struct backend_session *s, const struct vim25__ArrayOfVirtualDevice *a, int key,
                     bool want_key, struct controller *c, int *unit) {
        for (int i = 0; i < a->__sizeVirtualDevice; i++) {
                if (!controller_of(s, &a->__VirtualDevice[i], c) || (c->key == key) != want_key)
                        continue;
                *unit = free_unit(a, c);
                if (*unit >= 0)
                        return 0;
        }
        return -ENOSPC;
}

/*
 * The new disk goes on the controller of the VM's first disk if it has a
 * free unit, else on the first disk controller (in device order) that has
 * one; which units a controller has depends on its type (controller_of).
 * None free: refused before anything is sent.
 */
int vs_prepare_disk_add(struct backend_session *s, const struct op_args *args, const struct vs_props *vm,
                        struct op_error *err) {
        static const struct vim25__ArrayOfVirtualDevice none = {};
        const struct vim25__ArrayOfVirtualDevice *a = prop_devices(vm);
        int first, unit = -1;
        struct controller c = {};

        if (!a)
                a = &none;
        first = first_disk_controller(a);
        if ((first && pick_unit(s, a, first, true, &c, &unit) == 0) || pick_unit(s, a, first, false, &c, &unit) == 0) {
                log_debug("New disk of VM %s: %s controller %d, unit %d", args->vm, c.kind, c.key, unit);
                s->prep.add_controller = c.key;
                s->prep.add_unit = unit;
                return 0;
        }
        op_error_set(err, "InvalidArgument", "No disk controller of VM \"%s\" has a free unit for a new disk; "
                     "add a controller first", args->vm);
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
