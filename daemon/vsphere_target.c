/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * read_target for the vSphere backend: find the VM by name, and read the
 * value the operation changes, in one RetrievePropertiesEx when warm.
 *
 * The request has two filter specs.  The first walks our ContainerView for
 * every VM's name, uuid and host, every host's and datastore's name, and
 * SessionManager.currentSession (vcsim answers an unauthenticated
 * RetrievePropertiesEx with nothing, so its absence means "log in again").
 * The second asks for the kind's properties (vs_kind_paths) of the VM that
 * the previous scan knew under that name: the name->moref cache.  The cache
 * is only a guess: the same answer's scan says which VM carries the name now,
 * and the details are used only when that is the guessed moref.  Otherwise
 * (first use, renamed or recreated VM) a second round trip reads them.
 * Ambiguous names are always caught, since the scan sees every VM.
 *
 * The textual values of before and after (vs_format_value), per kind:
 *
 *   RenameVM        the name                           DC0_H0_VM0
 *   ModifyCPU       config.hardware.numCPU             2
 *   ModifyMemory    config.hardware.memoryMB (MiB)     4096
 *   ModifyDisk grow LABEL=SIZEMiB of that disk         Hard disk 1=2048MiB
 *                   (the disk is given by label, or by number: the Nth disk in device order)
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

static const char *vm_host_id(const struct vs_props *vm) {
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
                format_disks(&b, vm, s->prep.disk_key ? s->prep.disk_key : -1);
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
                        host_name(s, vm_host_id(vm)));
                break;
        case OP_MIGRATE:
                buf_add(&b, "host=%s;datastore=", host_name(s, vm_host_id(vm)));
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
                        host_name(s, vm_host_id(vm)));
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

static int dup_into(char **dst, const char *src) {
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

static int prepare_disk_grow(struct backend_session *s, const struct op_args *args, const struct vs_props *vm,
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
        if (dup_into(&p->disk_label, disk_label(d)) < 0 || dup_into(&p->disk_file, bk->fileName) < 0 ||
            dup_into(&p->disk_datastore, bk->datastore ? bk->datastore->__item : NULL) < 0 ||
            dup_into(&p->disk_mode, bk->diskMode) < 0 || dup_into(&p->disk_uuid, bk->uuid) < 0)
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
static int prepare_disk_add(struct backend_session *s, const struct op_args *args, const struct vs_props *vm,
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

static int prepare_snapshot(struct backend_session *s, const struct op_args *args, const struct vs_props *vm,
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
        return dup_into(&s->prep.snapshot, t->snapshot.__item) < 0 ? vs_oom(err) : 0;
}

/* ---- The scan ------------------------------------------------------------ */

struct scan_vm {
        const char *id, *name, *uuid, *host;
};
struct scan_host {
        const char *id, *name, *parent;
};
struct scan_pair {
        const char *id, *value;
};

/* What one RetrievePropertiesEx over the view returns; arena strings. */
struct scan {
        const char *want;
        const char *guess;             /* moref the cache had for want */
        struct scan_vm *vms;
        size_t n_vms;
        struct scan_host *hosts;
        size_t n_hosts;
        struct scan_pair *datastores;  /* id, name */
        size_t n_datastores;
        struct scan_pair *pools;       /* ComputeResource id, its resourcePool */
        size_t n_pools;
        struct vs_props details;       /* of guess (or of the second read's VM) */
        bool authenticated;
};

static void scan_done(struct scan *sc) {
        free(sc->vms);
        free(sc->hosts);
        free(sc->datastores);
        free(sc->pools);
}

static int push(void *arrp, size_t *n, size_t size, const void *item) {
        void **arr = arrp;
        char *a = reallocarray(*arr, *n + 1, size);

        if (!a)
                return -ENOMEM;
        memcpy(a + *n * size, item, size);
        *arr = a;
        (*n)++;
        return 0;
}

static int scan_cb(const struct vim25__ObjectContent *oc, void *userdata) {
        struct scan *sc = userdata;
        struct vs_props p = { .oc = { oc }, .n = 1 };
        const struct vim25__ManagedObjectReference *m;

        if (vs_mor_is(&oc->obj, "VirtualMachine")) {
                if (sc->guess && strcmp(oc->obj.__item, sc->guess) == 0 && oc->__sizepropSet > 0)
                        vs_props_add(&sc->details, oc);
                if (!vs_prop_string(&p, "name"))
                        return 0; /* a details-only ObjectContent (vCenter may split objects) */
                m = vs_prop_mor(&p, "runtime.host");
                return push(&sc->vms, &sc->n_vms, sizeof(struct scan_vm), &(struct scan_vm) {
                        oc->obj.__item, vs_prop_string(&p, "name"), vs_prop_string(&p, "config.uuid"),
                        vs_mor_is(m, "HostSystem") ? m->__item : NULL });
        }
        if (vs_mor_is(&oc->obj, "HostSystem")) {
                m = vs_prop_mor(&p, "parent");
                return push(&sc->hosts, &sc->n_hosts, sizeof(struct scan_host), &(struct scan_host) {
                        oc->obj.__item, vs_prop_string(&p, "name"), m ? m->__item : NULL });
        }
        if (vs_mor_is(&oc->obj, "Datastore"))
                return push(&sc->datastores, &sc->n_datastores, sizeof(struct scan_pair), &(struct scan_pair) {
                        oc->obj.__item, vs_prop_string(&p, "name") });
        if (vs_mor_is(&oc->obj, "SessionManager")) {
                sc->authenticated = vs_prop(&p, "currentSession") != NULL;
                return 0;
        }
        m = vs_prop_mor(&p, "resourcePool");
        if (m)  /* a ComputeResource or ClusterComputeResource, reached from a host */
                return push(&sc->pools, &sc->n_pools, sizeof(struct scan_pair), &(struct scan_pair) {
                        oc->obj.__item, m->__item });
        return 0;
}

static bool kind_needs_pools(enum op_kind kind, const struct op_args *args) {
        return (kind == OP_CLONE || kind == OP_MIGRATE) && args->host;
}

/*
 * The scan spec: the view's VMs, hosts and datastores, the session, and
 * (for a target host) each host's compute resource and its root pool.
 */
static int scan_spec(struct backend_session *s, enum op_kind kind, const struct op_args *args,
                     struct vim25__PropertyFilterSpec *spec) {
        static const char *const vm_paths[] = { "name", "config.uuid", "runtime.host" };
        static const char *const host_paths[] = { "name", "parent" };
        static const char *const name_paths[] = { "name" };
        static const char *const sm_paths[] = { "currentSession" };
        static const char *const cr_paths[] = { "resourcePool" };
        static enum xsd__boolean yes = xsd__boolean__true_, no = xsd__boolean__false_;
        struct soap *soap = s->soap;
        bool pools = kind_needs_pools(kind, args);
        struct vim25__TraversalSpec *ts = soap_malloc(soap, 2 * sizeof *ts);
        struct __vim25__SelectionSpecItem *sel = soap_malloc(soap, 2 * sizeof *sel);
        struct vim25__PropertySpec *ps = soap_malloc(soap, 5 * sizeof *ps);
        struct vim25__ObjectSpec *os = soap_malloc(soap, 2 * sizeof *os);

        if (!ts || !sel || !ps || !os)
                return -ENOMEM;
        ts[1] = (struct vim25__TraversalSpec) { .type = "HostSystem", .path = "parent", .skip = &no };
        sel[1] = (struct __vim25__SelectionSpecItem) { SOAP_TYPE_vim25__TraversalSpec, &ts[1] };
        ts[0] = (struct vim25__TraversalSpec) {
                .type = "ContainerView", .path = "view", .skip = &no,
                .__sizeselectSet = pools ? 1 : 0, .__selectSet = &sel[1],
        };
        /* Polymorphic selectSet: gSOAP writes xsi:type="vim25:TraversalSpec" (notes P5). */
        sel[0] = (struct __vim25__SelectionSpecItem) { SOAP_TYPE_vim25__TraversalSpec, &ts[0] };
        os[0] = (struct vim25__ObjectSpec) {
                .obj = { .__item = s->view.value, .type = s->view.type },
                .skip = &yes,
                .__sizeselectSet = 1,
                .__selectSet = &sel[0],
        };
        os[1] = (struct vim25__ObjectSpec) {
                .obj = { .__item = s->session_manager.value, .type = s->session_manager.type },
        };
        if (vs_prop_spec(soap, &ps[0], "VirtualMachine", vm_paths, ELEMENTSOF(vm_paths)) < 0 ||
            vs_prop_spec(soap, &ps[1], "HostSystem", host_paths, ELEMENTSOF(host_paths)) < 0 ||
            vs_prop_spec(soap, &ps[2], "Datastore", name_paths, ELEMENTSOF(name_paths)) < 0 ||
            vs_prop_spec(soap, &ps[3], "SessionManager", sm_paths, ELEMENTSOF(sm_paths)) < 0 ||
            vs_prop_spec(soap, &ps[4], "ComputeResource", cr_paths, ELEMENTSOF(cr_paths)) < 0)
                return -ENOMEM;
        *spec = (struct vim25__PropertyFilterSpec) {
                .__sizepropSet = pools ? 5 : 4, .propSet = ps, .__sizeobjectSet = 2, .objectSet = os,
        };
        return 0;
}

/* The kind's properties of VM id; a VM that vanished is left out, not a fault. */
int vs_details_spec(struct soap *soap, enum op_kind kind, const char *id, struct vim25__PropertyFilterSpec *spec) {
        static enum xsd__boolean yes = xsd__boolean__true_;
        const char *const *paths;
        int n = vs_kind_paths(kind, &paths);

        if (n < 0 || vs_object_filter_spec(soap, spec, "VirtualMachine", id, paths, n) < 0)
                return -ENOMEM;
        spec->reportMissingObjectsInResults = &yes;
        return 0;
}

void vs_session_names_clear(struct backend_session *s) {
        struct { struct vs_name **v; size_t *n; } lists[] = {
                { &s->vms, &s->n_vms }, { &s->hosts, &s->n_hosts }, { &s->datastores, &s->n_datastores },
        };

        for (size_t l = 0; l < ELEMENTSOF(lists); l++) {
                for (size_t i = 0; i < *lists[l].n; i++) {
                        free((*lists[l].v)[i].id);
                        free((*lists[l].v)[i].name);
                }
                free(*lists[l].v);
                *lists[l].v = NULL;
                *lists[l].n = 0;
        }
}

static int names_copy(struct vs_name **out, size_t *n_out, const void *items, size_t n, size_t stride) {
        struct vs_name *v = calloc(n ? n : 1, sizeof *v);

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *const *pair = (const char *const *) ((const char *) items + i * stride);

                v[i].id = strdup(strempty(pair[0]));
                v[i].name = pair[1] ? strdup(pair[1]) : NULL;
                if (!v[i].id || (pair[1] && !v[i].name)) {
                        *out = v;
                        *n_out = i + 1;
                        return -ENOMEM;
                }
        }
        *out = v;
        *n_out = n;
        return 0;
}

/* Keep the scan's names as the session's cache (struct scan_vm and scan_host start with id, name). */
static int remember_scan(struct backend_session *s, const struct scan *sc) {
        vs_session_names_clear(s);
        if (names_copy(&s->vms, &s->n_vms, sc->vms, sc->n_vms, sizeof *sc->vms) < 0 ||
            names_copy(&s->hosts, &s->n_hosts, sc->hosts, sc->n_hosts, sizeof *sc->hosts) < 0 ||
            names_copy(&s->datastores, &s->n_datastores, sc->datastores, sc->n_datastores,
                       sizeof *sc->datastores) < 0) {
                vs_session_names_clear(s);
                return -ENOMEM;
        }
        return 0;
}

int vs_not_logged_in(const struct backend_session *s, struct op_error *err) {
        op_error_set(err, "NotAuthenticated", "Not logged in to endpoint \"%s\" (or the session expired)",
                     s->ep->name);
        return -EKEYEXPIRED;
}

static int do_scan(struct backend_session *s, enum op_kind kind, const struct op_args *args, const char *opid,
                   struct scan *sc, struct op_error *err) {
        struct vim25__PropertyFilterSpec specs[2];
        int n = 1, r;

        if (scan_spec(s, kind, args, &specs[0]) < 0)
                return vs_oom(err);
        if (sc->guess) {
                if (vs_details_spec(s->soap, kind, sc->guess, &specs[1]) < 0)
                        return vs_oom(err);
                n = 2;
        }
        r = vs_retrieve(s, opid, specs, n, scan_cb, sc, err);
        /* Our view dies with the vSphere session (idle timeout, restart): log in again. */
        if (r == -EREMOTEIO && strcmp(err->fault, "ManagedObjectNotFound") == 0)
                return vs_not_logged_in(s, err);
        if (r < 0)
                return r;
        if (!sc->authenticated)
                return vs_not_logged_in(s, err);
        return 0;
}

static int details_cb(const struct vim25__ObjectContent *oc, void *userdata) {
        /* vCenter reports a vanished object with only a missingSet when asked to. */
        if (oc->__sizepropSet > 0)
                vs_props_add(userdata, oc);
        return 0;
}

/* The cold path: the kind's properties of id, in a second round trip. */
static int read_details(struct backend_session *s, enum op_kind kind, const char *opid, const char *id,
                        struct vs_props *details, struct op_error *err) {
        struct vim25__PropertyFilterSpec spec;

        if (vs_details_spec(s->soap, kind, id, &spec) < 0)
                return vs_oom(err);
        return vs_retrieve(s, opid, &spec, 1, details_cb, details, err);
}

static void candidates_error(const struct backend_session *s, const struct scan *sc, struct op_error *err) {
        char list[sizeof err->message] = "";
        size_t n = 0, count = 0;

        for (size_t i = 0; i < sc->n_vms && n < sizeof list; i++) {
                const struct scan_vm *v = &sc->vms[i];
                const char *h = NULL;

                if (strcmp(v->name, sc->want) != 0)
                        continue;
                for (size_t j = 0; v->host && j < sc->n_hosts; j++)
                        if (strcmp(sc->hosts[j].id, v->host) == 0)
                                h = sc->hosts[j].name;
                n += snprintf(list + n, sizeof list - n, "%s%s (host %s)", count++ ? ", " : "", v->id,
                              h ? h : strempty(v->host));
        }
        op_error_set(err, OP_FAULT_AMBIGUOUS, "%zu VMs named \"%s\" on endpoint \"%s\": %s", count, sc->want,
                     s->ep->name, list);
}

static const struct scan_vm *scan_find(const struct scan *sc, size_t *count) {
        const struct scan_vm *found = NULL;

        *count = 0;
        for (size_t i = 0; i < sc->n_vms; i++)
                if (strcmp(sc->vms[i].name, sc->want) == 0) { /* byte-exact: names are UTF-8, case-sensitive */
                        found = &sc->vms[i];
                        (*count)++;
                }
        return found;
}

static const struct scan_host *scan_host_by(const struct scan *sc, const char *id, const char *name,
                                            size_t *count) {
        const struct scan_host *found = NULL;

        *count = 0;
        for (size_t i = 0; i < sc->n_hosts; i++)
                if ((id && strcmp(sc->hosts[i].id, id) == 0) ||
                    (name && sc->hosts[i].name && strcmp(sc->hosts[i].name, name) == 0)) {
                        found = &sc->hosts[i];
                        (*count)++;
                }
        return found;
}

static const char *scan_pool_of(const struct scan *sc, const char *cr) {
        for (size_t i = 0; cr && i < sc->n_pools; i++)
                if (strcmp(sc->pools[i].id, cr) == 0)
                        return sc->pools[i].value;
        return NULL;
}

/*
 * Target host and datastore by name, checked before anything is sent.  The
 * pool is sent only when the host is in another compute resource than the
 * VM's current host, so a move within a cluster keeps the VM's pool.
 */
static int prepare_placement(struct backend_session *s, const struct scan *sc, const struct op_args *args,
                             const struct scan_vm *vm, struct op_error *err) {
        struct vs_prepared *p = &s->prep;
        size_t count;

        if (args->host) {
                const struct scan_host *h = scan_host_by(sc, NULL, args->host, &count), *cur;

                if (count == 0) {
                        op_error_set(err, OP_FAULT_NOT_FOUND, "Host \"%s\" not found on endpoint \"%s\"",
                                     args->host, s->ep->name);
                        return -ENOENT;
                }
                if (count > 1) {
                        op_error_set(err, OP_FAULT_AMBIGUOUS, "%zu hosts named \"%s\" on endpoint \"%s\"", count,
                                     args->host, s->ep->name);
                        return -ENOTUNIQ;
                }
                cur = scan_host_by(sc, vm->host, NULL, &count);
                if (dup_into(&p->host, h->id) < 0)
                        return vs_oom(err);
                if (h->parent && (!cur || !cur->parent || strcmp(cur->parent, h->parent) != 0) &&
                    dup_into(&p->pool, scan_pool_of(sc, h->parent)) < 0)
                        return vs_oom(err);
        }
        if (args->datastore) {
                const char *id = NULL;

                count = 0;
                for (size_t i = 0; i < sc->n_datastores; i++)
                        if (sc->datastores[i].value && strcmp(sc->datastores[i].value, args->datastore) == 0) {
                                id = sc->datastores[i].id;
                                count++;
                        }
                if (count == 0) {
                        op_error_set(err, OP_FAULT_NOT_FOUND, "Datastore \"%s\" not found on endpoint \"%s\"",
                                     args->datastore, s->ep->name);
                        return -ENOENT;
                }
                if (count > 1) {
                        op_error_set(err, OP_FAULT_AMBIGUOUS, "%zu datastores named \"%s\" on endpoint \"%s\"",
                                     count, args->datastore, s->ep->name);
                        return -ENOTUNIQ;
                }
                if (dup_into(&p->datastore, id) < 0)
                        return vs_oom(err);
        }
        return 0;
}

static int prepare(struct backend_session *s, enum op_kind kind, const struct op_args *args,
                   const struct scan *sc, const struct scan_vm *vm, const struct vs_props *details,
                   struct op_error *err) {
        const struct vim25__ManagedObjectReference *m;

        vs_prepared_clear(&s->prep);
        if (dup_into(&s->prep.vm, vm->id) < 0)
                return vs_oom(err);
        switch (kind) {
        case OP_DISK_GROW:
                return prepare_disk_grow(s, args, details, err);
        case OP_DISK_ADD:
                return prepare_disk_add(s, args, details, err);
        case OP_SNAPSHOT_REVERT:
        case OP_SNAPSHOT_REMOVE:
                return prepare_snapshot(s, args, details, err);
        case OP_CLONE:
                m = vs_prop_mor(details, "parent");
                if (!m) {
                        op_error_set(err, "NotSupported", "VM \"%s\" is in no folder; cannot clone it", args->vm);
                        return -EINVAL;
                }
                if (dup_into(&s->prep.folder, m->__item) < 0)
                        return vs_oom(err);
                return prepare_placement(s, sc, args, vm, err);
        case OP_MIGRATE:
                return prepare_placement(s, sc, args, vm, err);
        default:
                return 0;
        }
}

/*
 * Refuse what vCenter would refuse anyway, or what we cannot send, before
 * any round trip.  Not the new name of a rename: show_vm looks VMs up as
 * OP_RENAME; perform checks it.
 */
static int check_args(enum op_kind kind, const struct op_args *args, struct op_error *err) {
        const char *what = NULL;

        if (!args->vm || !*args->vm)
                what = "No VM name given";
        else if (kind == OP_CLONE && (!args->new_name || !*args->new_name))
                what = "No new name given";
        else if ((kind == OP_CPU || kind == OP_MEMORY || kind == OP_DISK_GROW || kind == OP_DISK_ADD) &&
                 (args->number <= 0 || args->number > (kind == OP_CPU ? 4096 : INT64_C(1) << 40)))
                what = kind == OP_CPU ? "The CPU count must be between 1 and 4096" : "The size must be positive";
        else if (kind == OP_DISK_GROW && (!args->disk || !*args->disk))
                what = "No disk given";
        else if (kind == OP_MIGRATE && !args->host && !args->datastore)
                what = "Migrate needs a target host or datastore";
        else if ((kind == OP_SNAPSHOT_CREATE || kind == OP_SNAPSHOT_REVERT || kind == OP_SNAPSHOT_REMOVE) &&
                 (!args->snapshot || !*args->snapshot))
                what = "No snapshot name given";
        else if (kind >= _OP_MAX || (int) kind < 0)
                what = "Unknown operation";
        if (!what)
                return 0;
        op_error_set(err, "InvalidArgument", "%s", what);
        return -EINVAL;
}

static int target_fill(const struct backend_session *s, const struct scan_vm *vm, struct vm_target *t) {
        const char *host = vs_names_find(s->hosts, s->n_hosts, vm->host);

        vm_target_clear(t);
        t->name = strdup(vm->name);
        t->id = strdup(vm->id);
        t->uuid = vm->uuid ? strdup(vm->uuid) : NULL;
        t->host = host ? strdup(host) : NULL;
        if (!t->name || !t->id || (vm->uuid && !t->uuid) || (host && !t->host)) {
                vm_target_clear(t);
                return -ENOMEM;
        }
        return 0;
}

int vs_read_target(struct backend_session *s, enum op_kind kind, const struct op_args *args, const char *opid,
                   struct vm_target *t, char **before, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        _cleanup_(scan_done) struct scan sc = { .want = args->vm };
        _cleanup_free_ char *guess = NULL;
        const char *cached;
        const struct scan_vm *vm;
        size_t count;
        int r;

        r = check_args(kind, args, err);
        if (r < 0)
                return r;
        if (!s->view.value)
                return vs_not_logged_in(s, err);

        /* Copied: remember_scan() replaces the cache it points into. */
        cached = vs_names_id(s->vms, s->n_vms, args->vm, &count);
        if (count == 1 && !(guess = strdup(cached)))
                return vs_oom(err);
        sc.guess = guess;
        r = do_scan(s, kind, args, opid, &sc, err);
        if (r < 0)
                return r;
        if (remember_scan(s, &sc) < 0)
                return vs_oom(err);

        vm = scan_find(&sc, &count);
        if (count == 0) {
                op_error_set(err, OP_FAULT_NOT_FOUND, "VM \"%s\" not found on endpoint \"%s\"", args->vm,
                             s->ep->name);
                return -ENOENT;
        }
        if (count > 1) {
                candidates_error(s, &sc, err);
                return -ENOTUNIQ;
        }
        if (!sc.guess || strcmp(sc.guess, vm->id) != 0) {
                log_debug("VM \"%s\" is %s, not in the name cache: reading its details", args->vm, vm->id);
                sc.details = (struct vs_props) {};
                r = read_details(s, kind, opid, vm->id, &sc.details, err);
                if (r < 0)
                        return r;
        }
        if (sc.details.n == 0) {
                op_error_set(err, OP_FAULT_NOT_FOUND, "VM \"%s\" vanished on endpoint \"%s\"", args->vm, s->ep->name);
                return -ENOENT;
        }

        r = prepare(s, kind, args, &sc, vm, &sc.details, err);
        if (r < 0)
                return r;
        r = vs_format_value(s, kind, &sc.details, before);
        if (r < 0)
                return vs_oom(err);
        r = target_fill(s, vm, t);
        if (r < 0) {
                free(*before);
                *before = NULL;
                return vs_oom(err);
        }
        return 0;
}

int vs_read_value(struct backend_session *s, enum op_kind kind, const char *opid, const char *id, char **value,
                  char **host_id, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        struct vs_props vm = {};
        int r;

        r = read_details(s, kind, opid, id, &vm, err);
        if (r < 0)
                return r;
        if (vs_format_value(s, kind, &vm, value) < 0 || dup_into(host_id, vm_host_id(&vm)) < 0)
                return vs_oom(err);
        return 0;
}
