/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading what an operation changes, from the hypervisor itself: one
 * reader per kind fills struct op_value (backend.h says which members).
 * Live and persistent settings are separate values on libvirt; a running
 * domain's persistent one is read from its inactive XML and handed over as
 * *_config, so a row shows both where they differ.  A stopped domain's live
 * value is its persistent one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt_internal.h"

#define KIB_PER_MIB 1024LL
#define BYTES_PER_MIB (1024LL * 1024)

enum vm_power lv_power(struct backend_session *s, virDomainPtr dom, struct op_error *err) {
        int state = 0, reason = 0;

        lv_count(s, 1);
        if (virDomainGetState(dom, &state, &reason, 0) < 0) {
                (void) lv_fail(s, "virDomainGetState", err);
                return VM_POWER_UNKNOWN;
        }
        switch (state) {
        case VIR_DOMAIN_RUNNING:
        case VIR_DOMAIN_BLOCKED:
        case VIR_DOMAIN_SHUTDOWN:   /* still running while the guest shuts down */
                return VM_POWER_ON;
        case VIR_DOMAIN_PAUSED:
        case VIR_DOMAIN_PMSUSPENDED:
                return VM_POWER_PAUSED;
        case VIR_DOMAIN_CRASHED:
                return VM_POWER_CRASHED;
        case VIR_DOMAIN_SHUTOFF:
                lv_count(s, 1);
                /* Memory saved to disk, as a vSphere suspend leaves it. */
                return virDomainHasManagedSaveImage(dom, 0) == 1 ? VM_POWER_SUSPENDED : VM_POWER_OFF;
        default:
                return VM_POWER_UNKNOWN;
        }
}

int lv_domain_parse(struct backend_session *s, virDomainPtr dom, unsigned flags, struct lv_domain_xml *x,
                    struct op_error *err) {
        lv_count(s, 1);
        _cleanup_free_ char *xml = virDomainGetXMLDesc(dom, flags);

        if (!xml)
                return lv_fail(s, "virDomainGetXMLDesc", err);
        int r = lv_domain_xml_parse(xml, x);
        if (r < 0)
                op_error_set(err, "InternalError", "libvirt's domain XML cannot be read");
        return r;
}

int lv_fill_target(struct backend_session *s, virDomainPtr dom, struct vm_target *t, struct op_error *err) {
        char uuid[VIR_UUID_STRING_BUFLEN];

        lv_count(s, 1);
        if (virDomainGetUUIDString(dom, uuid) < 0)
                return lv_fail(s, "virDomainGetUUIDString", err);
        vm_target_clear(t);
        /* The domain id is -1 while it is stopped: the UUID is the id that lasts. */
        t->name = strdup(virDomainGetName(dom));
        t->id = strdup(uuid);
        t->uuid = strdup(uuid);
        t->host = strdup(strempty(s->hostname));
        if (!t->name || !t->id || !t->uuid || !t->host) {
                op_error_set(err, "InternalError", "out of memory");
                return -ENOMEM;
        }
        return 0;
}

static bool active(struct backend_session *s, virDomainPtr dom) {
        lv_count(s, 1);
        return virDomainIsActive(dom) == 1;
}

static int read_cpus(struct backend_session *s, virDomainPtr dom, struct op_value *v, struct op_error *err) {
        bool on = active(s, dom);
        int config, live, max;

        lv_count(s, on ? 3 : 2);
        config = virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_CONFIG);
        max = virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_CONFIG | VIR_DOMAIN_VCPU_MAXIMUM);
        live = on ? virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_LIVE) : config;
        if (config < 0 || max < 0 || live < 0)
                return lv_fail(s, "virDomainGetVcpusFlags", err);
        v->cpus = live;
        v->cpus_config = config;
        v->cpus_max = max;
        return 0;
}

static int read_memory(struct backend_session *s, virDomainPtr dom, struct op_value *v, struct op_error *err) {
        struct lv_domain_xml x = {};
        virDomainInfo info;

        lv_count(s, 1);
        if (virDomainGetInfo(dom, &info) < 0)
                return lv_fail(s, "virDomainGetInfo", err);
        int r = lv_domain_parse(s, dom, VIR_DOMAIN_XML_INACTIVE, &x, err);
        if (r < 0)
                return r;
        v->memory_mib = (int64_t) info.memory / KIB_PER_MIB;
        v->memory_mib_config = x.current_kib / KIB_PER_MIB;
        v->memory_mib_max = x.memory_kib / KIB_PER_MIB;
        lv_domain_xml_clear(&x);
        return 0;
}

int lv_disk_capacity(struct backend_session *s, virDomainPtr dom, const struct lv_disk *d,
                     unsigned long long *bytes, struct op_error *err) {
        virDomainBlockInfo bi;
        virStorageVolInfo vi;
        _cleanup_(virStorageVolFreep) virStorageVolPtr vol = NULL;

        lv_count(s, 1);
        if (virDomainGetBlockInfo(dom, d->target, &bi, 0) == 0) {
                *bytes = bi.capacity;
                return 0;
        }
        /* Drivers that cannot look into the image (the test driver) still know its volume. */
        lv_count(s, 2);
        vol = d->path ? virStorageVolLookupByPath(s->conn, d->path) : NULL;
        if (!vol || virStorageVolGetInfo(vol, &vi) < 0)
                return lv_fail(s, "virDomainGetBlockInfo", err);
        *bytes = vi.capacity;
        return 0;
}

int lv_find_disk(const struct lv_domain_xml *x, const char *which, size_t *index, struct op_error *err) {
        char *end;
        unsigned long n = strtoul(strempty(which), &end, 10);

        for (size_t i = 0; i < x->n_disks; i++)
                if (strcmp(x->disks[i].target, strempty(which)) == 0) {
                        *index = i;
                        return 0;
                }
        if (which && *which && !*end && n >= 1 && n <= x->n_disks) {
                *index = n - 1;
                return 0;
        }
        op_error_set(err, OP_FAULT_NOT_FOUND, "the VM has no disk \"%s\" (give its target, e.g. vda, or a number from 1)",
                     strempty(which));
        return -ENOENT;
}

static int add_disk(struct backend_session *s, virDomainPtr dom, const struct lv_disk *d, struct op_value *v,
                    struct op_error *err) {
        unsigned long long bytes;
        int r = lv_disk_capacity(s, dom, d, &bytes, err);

        if (r < 0)
                return r;
        return op_value_add_disk(v, d->target, (int64_t) (bytes / BYTES_PER_MIB));
}

/* One disk (grow: the disk named) or all of them (add). */
static int read_disks(struct backend_session *s, virDomainPtr dom, const struct op_args *a, struct op_value *v,
                      struct op_error *err) {
        struct lv_domain_xml x = {};
        size_t first = 0, n;
        int r = lv_domain_parse(s, dom, 0, &x, err);

        if (r < 0)
                return r;
        n = x.n_disks;
        if (a && a->disk) {
                r = lv_find_disk(&x, a->disk, &first, err);
                n = first + 1;
        }
        for (size_t i = first; r >= 0 && i < n; i++)
                r = add_disk(s, dom, &x.disks[i], v, err);
        lv_domain_xml_clear(&x);
        return r;
}

static int read_power(struct backend_session *s, virDomainPtr dom, struct op_value *v, struct op_error *err) {
        v->power = lv_power(s, dom, err);
        return v->power == VM_POWER_UNKNOWN && *err->fault ? -EREMOTEIO : 0;
}

static int read_identity(struct backend_session *s, virDomainPtr dom, struct op_value *v, struct op_error *err) {
        struct vm_target t = {};
        int r = lv_fill_target(s, dom, &t, err);

        if (r >= 0) {
                v->name = TAKE_PTR(t.name);
                v->id = TAKE_PTR(t.id);
                v->host = TAKE_PTR(t.host);
        }
        vm_target_clear(&t);
        return r;
}

/* The pools holding the domain's disks: libvirt's nearest thing to datastores. */
static int read_placement(struct backend_session *s, virDomainPtr dom, struct op_value *v, struct op_error *err) {
        struct lv_domain_xml x = {};
        int r = lv_domain_parse(s, dom, 0, &x, err);

        v->host = strdup(strempty(s->hostname));
        for (size_t i = 0; r >= 0 && i < x.n_disks; i++) {
                _cleanup_(virStorageVolFreep) virStorageVolPtr vol =
                        x.disks[i].path ? virStorageVolLookupByPath(s->conn, x.disks[i].path) : NULL;
                _cleanup_(virStoragePoolFreep) virStoragePoolPtr pool = vol ? virStoragePoolLookupByVolume(vol) : NULL;
                const char *name = pool ? virStoragePoolGetName(pool) : NULL;
                bool seen = false;

                lv_count(s, 2);
                for (size_t k = 0; name && k < v->n_datastores; k++)
                        seen = seen || strcmp(v->datastores[k], name) == 0;
                if (name && !seen)
                        r = op_value_add_datastore(v, name);
        }
        lv_domain_xml_clear(&x);
        virResetLastError();   /* a disk outside any pool is not an error here */
        return r < 0 ? r : v->host ? 0 : -ENOMEM;
}

static int add_snapshots(struct backend_session *s, struct op_value *v, struct op_snapshot *parent,
                         virDomainSnapshotPtr *list, int n, int depth);

static int add_snapshot(struct backend_session *s, struct op_value *v, struct op_snapshot *parent,
                        virDomainSnapshotPtr snap, int depth) {
        virDomainSnapshotPtr *children = NULL;
        struct op_snapshot *me;
        int r = op_value_add_snapshot(v, parent, virDomainSnapshotGetName(snap), &me);

        if (r < 0)
                return r;
        lv_count(s, 1);
        int n = virDomainSnapshotListAllChildren(snap, &children, 0);
        if (n < 0)
                return -EREMOTEIO;
        r = add_snapshots(s, v, me, children, n, depth + 1);
        free(children);
        return r;
}

/* Each snapshot of list under parent, freeing them all. */
static int add_snapshots(struct backend_session *s, struct op_value *v, struct op_snapshot *parent,
                         virDomainSnapshotPtr *list, int n, int depth) {
        int r = 0;

        for (int i = 0; i < n; i++) {
                if (r >= 0 && depth < 64)
                        r = add_snapshot(s, v, parent, list[i], depth);
                virDomainSnapshotFree(list[i]);
        }
        return r;
}

static int read_snapshots(struct backend_session *s, virDomainPtr dom, struct op_value *v, struct op_error *err) {
        virDomainSnapshotPtr *roots = NULL;

        lv_count(s, 1);
        int n = virDomainListAllSnapshots(dom, &roots, VIR_DOMAIN_SNAPSHOT_LIST_ROOTS);
        if (n < 0)
                return lv_fail(s, "virDomainListAllSnapshots", err);
        int r = add_snapshots(s, v, NULL, roots, n, 0);
        free(roots);
        if (r < 0)
                return r == -EREMOTEIO ? lv_fail(s, "virDomainSnapshotListAllChildren", err) : r;
        lv_count(s, 2);
        if (virDomainHasCurrentSnapshot(dom, 0) == 1) {
                _cleanup_(virDomainSnapshotFreep) virDomainSnapshotPtr cur = virDomainSnapshotCurrent(dom, 0);

                v->current_snapshot = cur ? strdup(virDomainSnapshotGetName(cur)) : NULL;
        }
        return 0;
}

static int read_destroy(struct backend_session *s, virDomainPtr dom, struct op_value *v, struct op_error *err) {
        int r = read_identity(s, dom, v, err);

        if (r >= 0)
                r = read_power(s, dom, v, err);
        if (r >= 0)
                r = read_cpus(s, dom, v, err);
        if (r >= 0)
                r = read_memory(s, dom, v, err);
        /* A destroy's "before" lists what was there, not the ceilings. */
        v->cpus_config = v->cpus_max = v->memory_mib_config = v->memory_mib_max = 0;
        return r;
}

int lv_read_value(struct backend_session *s, virDomainPtr dom, enum op_kind kind, const struct op_args *a,
                  struct op_value *v, struct op_error *err) {
        int r;

        switch (kind) {
        case OP_RENAME:
                r = (v->name = strdup(virDomainGetName(dom))) ? 0 : -ENOMEM;
                break;
        case OP_CPU:
                r = read_cpus(s, dom, v, err);
                break;
        case OP_MEMORY:
                r = read_memory(s, dom, v, err);
                break;
        case OP_DISK_GROW:
        case OP_DISK_ADD:
                r = read_disks(s, dom, kind == OP_DISK_GROW ? a : NULL, v, err);
                break;
        case OP_CLONE:
                r = read_identity(s, dom, v, err);
                break;
        case OP_MIGRATE:
                r = read_placement(s, dom, v, err);
                break;
        case OP_SNAPSHOT_CREATE:
        case OP_SNAPSHOT_REVERT:
        case OP_SNAPSHOT_REMOVE:
                r = read_snapshots(s, dom, v, err);
                break;
        case OP_DESTROY:
                r = read_destroy(s, dom, v, err);
                break;
        default:
                r = read_power(s, dom, v, err);
                break;
        }
        if (r == -ENOMEM)
                op_error_set(err, "InternalError", "out of memory");
        v->known = r >= 0;
        return r;
}
