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
 * (first use, a VM renamed or recreated by someone else) a second round
 * trip reads them.  Our own changes keep the cache warm: the read-back after
 * each task notes the VM's name, or its absence (vs_names_note_vm).
 * Ambiguous names are always caught, since the scan sees every VM.
 *
 * Before the scan comes the endpoint's inventory mirror (vsphere_mirror.c),
 * when synced: the one VM it has under the name is read alone, and only a
 * read that still shows the name skips the scan (read_target_mirrored).
 * A name another VM took within the mirror's lag (vCenter reports changes
 * late: vcsim every 250 ms) is then not seen as ambiguous: the price of
 * not reading every VM each time.
 *
 * What the before/after value holds, per kind, is in vsphere_values.c.
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
        s->names_gen = 0;
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

static const char *scan_datastore_by_name(const struct scan *sc, const char *name, size_t *count) {
        const char *id = NULL;

        *count = 0;
        for (size_t i = 0; i < sc->n_datastores; i++)
                if (sc->datastores[i].value && strcmp(sc->datastores[i].value, name) == 0) {
                        id = sc->datastores[i].id;
                        (*count)++;
                }
        return id;
}

/* count objects of a type carry the name asked for: exactly one, or refuse with -ENOENT or -ENOTUNIQ. */
static int one_named(const struct backend_session *s, size_t count, const char *type, const char *plural,
                     const char *name, struct op_error *err) {
        if (count == 0) {
                op_error_set(err, OP_FAULT_NOT_FOUND, "%s \"%s\" not found on endpoint \"%s\"", type, name,
                             s->ep->name);
                return -ENOENT;
        }
        if (count > 1) {
                op_error_set(err, OP_FAULT_AMBIGUOUS, "%zu %s named \"%s\" on endpoint \"%s\"", count, plural, name,
                             s->ep->name);
                return -ENOTUNIQ;
        }
        return 0;
}

/*
 * The target host.  The pool is sent only when the host is in another
 * compute resource than the VM's current host, so a move within a cluster
 * keeps the VM's pool.
 */
static int prepare_host(struct backend_session *s, const struct scan *sc, const char *name,
                        const struct scan_vm *vm, struct op_error *err) {
        struct vs_prepared *p = &s->prep;
        size_t count;
        const struct scan_host *h = scan_host_by(sc, NULL, name, &count), *cur;
        int r = one_named(s, count, "Host", "hosts", name, err);

        if (r < 0)
                return r;
        cur = scan_host_by(sc, vm->host, NULL, &count);
        if (vs_dup_into(&p->host, h->id) < 0)
                return vs_oom(err);
        if (h->parent && (!cur || !cur->parent || strcmp(cur->parent, h->parent) != 0) &&
            vs_dup_into(&p->pool, scan_pool_of(sc, h->parent)) < 0)
                return vs_oom(err);
        return 0;
}

static int prepare_datastore(struct backend_session *s, const struct scan *sc, const char *name,
                             struct op_error *err) {
        size_t count;
        const char *id = scan_datastore_by_name(sc, name, &count);
        int r = one_named(s, count, "Datastore", "datastores", name, err);

        if (r < 0)
                return r;
        return vs_dup_into(&s->prep.datastore, id) < 0 ? vs_oom(err) : 0;
}

/* Target host and datastore by name, checked before anything is sent. */
static int prepare_placement(struct backend_session *s, const struct scan *sc, const struct op_args *args,
                             const struct scan_vm *vm, struct op_error *err) {
        int r;

        if (args->host) {
                r = prepare_host(s, sc, args->host, vm, err);
                if (r < 0)
                        return r;
        }
        if (args->datastore) {
                r = prepare_datastore(s, sc, args->datastore, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int vm_folder_cb(const struct vim25__ObjectContent *oc, void *userdata) {
        char **folder = userdata;
        struct vs_props p = { .oc = { oc }, .n = 1 };
        const struct vim25__ManagedObjectReference *m =
                vs_mor_is(&oc->obj, "Datacenter") ? vs_prop_mor(&p, "vmFolder") : NULL;

        if (!m || *folder)
                return 0;
        *folder = strdup(m->__item);
        return *folder ? 0 : -ENOMEM;
}

/*
 * The vmFolder of VM vm's datacenter: one RetrievePropertiesEx that walks
 * up from the VM's resource pool (for a VM in a vApp, the vApp) through
 * every parent to the Datacenter.
 */
static int datacenter_vm_folder(struct backend_session *s, const char *opid, const char *vm, char **folder,
                                struct op_error *err) {
        static const char *const paths[] = { "vmFolder" };
        static enum xsd__boolean yes = xsd__boolean__true_, no = xsd__boolean__false_;
        struct vim25__SelectionSpec up_again = { .name = "up" };
        struct __vim25__SelectionSpecItem up_again_item = { SOAP_TYPE_vim25__SelectionSpec, &up_again };
        struct vim25__TraversalSpec up = {
                .name = "up", .type = "ManagedEntity", .path = "parent", .skip = &no,
                .__sizeselectSet = 1, .__selectSet = &up_again_item,
        };
        struct __vim25__SelectionSpecItem up_item = { SOAP_TYPE_vim25__TraversalSpec, &up };
        struct vim25__TraversalSpec pool = {
                .type = "VirtualMachine", .path = "resourcePool", .skip = &no, .__sizeselectSet = 1,
                .__selectSet = &up_item,
        };
        struct __vim25__SelectionSpecItem pool_item = { SOAP_TYPE_vim25__TraversalSpec, &pool };
        struct vim25__ObjectSpec os = {
                .obj = { .__item = (char *) vm, .type = "VirtualMachine" }, .skip = &yes,
                .__sizeselectSet = 1, .__selectSet = &pool_item,
        };
        struct vim25__PropertySpec ps;
        struct vim25__PropertyFilterSpec spec = { 1, &ps, 1, &os, NULL };

        if (vs_prop_spec(s->soap, &ps, "Datacenter", paths, 1) < 0)
                return vs_oom(err);
        return vs_retrieve(s, opid, &spec, 1, vm_folder_cb, folder, err);
}

/*
 * The folder a clone goes to: the source's own folder (its parent).  A VM
 * in a vApp has no parent: vCenter leaves "parent" unset and names the vApp
 * in "parentVApp" instead.  Its clone goes to the vmFolder of its
 * datacenter, the folder vCenter's own clone wizard offers for it.
 */
static int prepare_clone_folder(struct backend_session *s, const char *opid, const struct op_args *args,
                                const struct vs_props *details, struct op_error *err) {
        const struct vim25__ManagedObjectReference *m = vs_prop_mor(details, "parent");
        int r;

        if (m)
                return vs_dup_into(&s->prep.folder, m->__item) < 0 ? vs_oom(err) : 0;
        log_debug("VM \"%s\" is in no folder (a vApp's VM): its clone goes to the datacenter's vmFolder",
                  args->vm);
        r = datacenter_vm_folder(s, opid, s->prep.vm, &s->prep.folder, err);
        if (r < 0)
                return r;
        if (!s->prep.folder) {
                op_error_set(err, "NotSupported", "VM \"%s\" is in no folder and no datacenter was found above "
                             "its resource pool; cannot tell where its clone goes", args->vm);
                return -EINVAL;
        }
        return 0;
}

static int prepare(struct backend_session *s, enum op_kind kind, const struct op_args *args, const char *opid,
                   const struct scan *sc, const struct scan_vm *vm, const struct vs_props *details,
                   struct op_error *err) {
        int r;

        vs_prepared_clear(&s->prep);
        if (vs_dup_into(&s->prep.vm, vm->id) < 0)
                return vs_oom(err);
        switch (kind) {
        case OP_DISK_GROW:
                return vs_prepare_disk_grow(s, args, details, err);
        case OP_DISK_ADD:
                return vs_prepare_disk_add(s, args, details, err);
        case OP_SNAPSHOT_REVERT:
        case OP_SNAPSHOT_REMOVE:
                return vs_prepare_snapshot(s, args, details, err);
        case OP_CLONE:
                r = prepare_clone_folder(s, opid, args, details, err);
                if (r < 0)
                        return r;
                return prepare_placement(s, sc, args, vm, err);
        case OP_MIGRATE:
                return prepare_placement(s, sc, args, vm, err);
        default:
                return 0;
        }
}

/* The largest size in MiB we pass on: 2^40 MiB in bytes still fits an int64 (send_disk_grow). */
#define VS_SIZE_MAX_MIB (INT64_C(1) << 40)

/*
 * What each kind needs in its arguments beyond the VM name, checked in
 * this order.  Not the new name of a rename: show_vm looks VMs up as
 * OP_RENAME; perform checks it.
 */
static const struct arg_rule {
        bool new_name;
        int64_t number_max;        /* 0: the kind takes no number; else 1 .. number_max */
        const char *number_why;
        bool disk;
        bool host_or_datastore;
        bool snapshot;
} arg_rules[_OP_MAX] = {
        [OP_CPU] = { .number_max = 4096, .number_why = "The CPU count must be between 1 and 4096" },
        [OP_MEMORY] = { .number_max = VS_SIZE_MAX_MIB, .number_why = "The size must be positive" },
        [OP_DISK_GROW] = { .number_max = VS_SIZE_MAX_MIB, .number_why = "The size must be positive", .disk = true },
        [OP_DISK_ADD] = { .number_max = VS_SIZE_MAX_MIB, .number_why = "The size must be positive" },
        [OP_CLONE] = { .new_name = true },
        [OP_MIGRATE] = { .host_or_datastore = true },
        [OP_SNAPSHOT_CREATE] = { .snapshot = true },
        [OP_SNAPSHOT_REVERT] = { .snapshot = true },
        [OP_SNAPSHOT_REMOVE] = { .snapshot = true },
};

static bool empty(const char *v) {
        return !v || !*v;
}

/* Why args do not satisfy rule, or NULL. */
static const char *arg_rule_broken(const struct arg_rule *rule, const struct op_args *args) {
        if (rule->new_name && empty(args->new_name))
                return "No new name given";
        if (rule->number_max && (args->number <= 0 || args->number > rule->number_max))
                return rule->number_why;
        if (rule->disk && empty(args->disk))
                return "No disk given";
        if (rule->host_or_datastore && !args->host && !args->datastore)
                return "Migrate needs a target host or datastore";
        if (rule->snapshot && empty(args->snapshot))
                return "No snapshot name given";
        return NULL;
}

/* Refuse what vCenter would refuse anyway, or what we cannot send, before any round trip. */
static int check_args(enum op_kind kind, const struct op_args *args, struct op_error *err) {
        const char *what;

        if (empty(args->vm))
                what = "No VM name given";
        else if (kind >= _OP_MAX || (int) kind < 0)
                what = "Unknown operation";
        else
                what = arg_rule_broken(&arg_rules[kind], args);
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

/* The one VM of the name asked for in the scan, or refuse: -ENOENT, -ENOTUNIQ (naming the candidates). */
static int scan_the_vm(const struct backend_session *s, const struct scan *sc, const struct scan_vm **vm,
                       struct op_error *err) {
        size_t count;

        *vm = scan_find(sc, &count);
        if (count == 0) {
                op_error_set(err, OP_FAULT_NOT_FOUND, "VM \"%s\" not found on endpoint \"%s\"", sc->want,
                             s->ep->name);
                return -ENOENT;
        }
        if (count > 1) {
                candidates_error(s, sc, err);
                return -ENOTUNIQ;
        }
        return 0;
}

/*
 * The kind's properties of vm into sc->details: already there when the
 * cache guessed right, else read in a second round trip.  -ENOENT when
 * the VM vanished in between.
 */
static int scan_details(struct backend_session *s, enum op_kind kind, const char *opid, struct scan *sc,
                        const struct scan_vm *vm, struct op_error *err) {
        if (!sc->guess || strcmp(sc->guess, vm->id) != 0) {
                int r;

                log_debug("VM \"%s\" is %s, not in the name cache: reading its details", sc->want, vm->id);
                sc->details = (struct vs_props) {};
                r = read_details(s, kind, opid, vm->id, &sc->details, err);
                if (r < 0)
                        return r;
        }
        if (sc->details.n == 0) {
                op_error_set(err, OP_FAULT_NOT_FOUND, "VM \"%s\" vanished on endpoint \"%s\"", sc->want,
                             s->ep->name);
                return -ENOENT;
        }
        return 0;
}

/* What read_target hands over, from a scan or from the mirror's checked guess. */
static int target_finish(struct backend_session *s, enum op_kind kind, const struct op_args *args, const char *opid,
                         const struct scan *sc, const struct scan_vm *vm, const struct vs_props *details,
                         struct vm_target *t, struct op_value *before, struct op_error *err) {
        /* The VM first: a refusal of the arguments (a disk shrink, an unknown snapshot) still names it. */
        int r = target_fill(s, vm, t);

        if (r < 0)
                return vs_oom(err);
        r = prepare(s, kind, args, opid, sc, vm, details, err);
        if (r < 0)
                return r;
        r = vs_fill_value(s, kind, details, before);
        if (r < 0)
                return vs_oom(err);
        return 0;
}

static bool kind_needs_placement(enum op_kind kind, const struct op_args *args) {
        return (kind == OP_CLONE || kind == OP_MIGRATE) && (args->host || args->datastore);
}

static bool scan_has_host(const struct scan *sc, const char *name) {
        size_t count;

        return scan_host_by(sc, NULL, name, &count) && count == 1;
}

/*
 * The hosts a placement needs (the target, and the VM's current host cur as
 * the mirror has it), each with its compute resource's root pool, in the
 * shape of the scan's answer for prepare_placement().
 */
static int placement_hosts_spec(struct soap *soap, const char *target, const char *cur,
                                struct vim25__PropertyFilterSpec *spec) {
        static const char *const host_paths[] = { "name", "parent" };
        static const char *const cr_paths[] = { "resourcePool" };
        static enum xsd__boolean no = xsd__boolean__false_;
        struct vim25__TraversalSpec *ts = soap_malloc(soap, sizeof *ts);
        struct __vim25__SelectionSpecItem *sel = soap_malloc(soap, sizeof *sel);
        struct vim25__PropertySpec *ps = soap_malloc(soap, 2 * sizeof *ps);
        struct vim25__ObjectSpec *os = soap_malloc(soap, 2 * sizeof *os);
        const char *ids[2] = { target, cur };
        int n = cur && strcmp(cur, target) != 0 ? 2 : 1;

        if (!ts || !sel || !ps || !os)
                return -ENOMEM;
        *ts = (struct vim25__TraversalSpec) { .type = "HostSystem", .path = "parent", .skip = &no };
        *sel = (struct __vim25__SelectionSpecItem) { SOAP_TYPE_vim25__TraversalSpec, ts };
        for (int i = 0; i < n; i++)
                os[i] = (struct vim25__ObjectSpec) {
                        .obj = { .__item = (char *) ids[i], .type = "HostSystem" },
                        .__sizeselectSet = 1, .__selectSet = sel,
                };
        *spec = (struct vim25__PropertyFilterSpec) { 2, ps, n, os, NULL };
        if (vs_prop_spec(soap, &ps[0], "HostSystem", host_paths, ELEMENTSOF(host_paths)) < 0 ||
            vs_prop_spec(soap, &ps[1], "ComputeResource", cr_paths, ELEMENTSOF(cr_paths)) < 0)
                return -ENOMEM;
        return 0;
}

/*
 * A target host or datastore by name, without the scan: the morefs from
 * the mirror's names (copied into the session); the datastore goes into
 * sc, the target host's id into *host (NULL: none asked for).  0, or 1
 * when the mirror has no single host or datastore of that name (the scan
 * then decides, NotFound included), or -ENOMEM.
 */
static int placement_names(struct backend_session *s, const struct op_args *args, struct scan *sc,
                           const char **host) {
        size_t count;

        *host = NULL;
        if (args->datastore) {
                const char *id = vs_names_id(s->datastores, s->n_datastores, args->datastore, &count);
                if (count != 1)
                        return 1;
                if (push(&sc->datastores, &sc->n_datastores, sizeof(struct scan_pair),
                         &(struct scan_pair) { id, args->datastore }) < 0)
                        return -ENOMEM;
        }
        if (args->host) {
                *host = vs_names_id(s->hosts, s->n_hosts, args->host, &count);
                if (count != 1)
                        return 1;
        }
        return 0;
}

/* One answer for both: the VM's ObjectContents to details, the hosts' and pools' to the scan. */
struct mirrored_read {
        struct vs_props details;
        struct scan *sc;
};

static int mirrored_cb(const struct vim25__ObjectContent *oc, void *userdata) {
        struct mirrored_read *m = userdata;

        if (vs_mor_is(&oc->obj, "VirtualMachine"))
                return details_cb(oc, &m->details);
        return scan_cb(oc, m->sc);
}

/*
 * The VM's properties for kind and, for a target host, the hosts and pools
 * prepare_placement() needs: one RetrievePropertiesEx.  1 when the mirror
 * cannot name the placement (the scan decides).
 */
static int mirrored_read(struct backend_session *s, enum op_kind kind, const struct op_args *args, const char *opid,
                         const char *id, const char *cur_host, struct mirrored_read *out, struct op_error *err) {
        struct vim25__PropertyFilterSpec specs[2];
        const char *target = NULL;
        int n = 1, r;

        if (kind_needs_placement(kind, args)) {
                r = placement_names(s, args, out->sc, &target);
                if (r != 0)
                        return r < 0 ? vs_oom(err) : r;
        }
        if (vs_details_spec(s->soap, kind, id, &specs[0]) < 0 ||
            (target && placement_hosts_spec(s->soap, target, cur_host, &specs[n++]) < 0))
                return vs_oom(err);
        r = vs_retrieve(s, opid, specs, n, mirrored_cb, out, err);
        if (r < 0)
                return r;
        /* The host read back under another name: the mirror lags, let the scan decide. */
        return target && !scan_has_host(out->sc, args->host) ? 1 : 0;
}

/*
 * The mirror's guess, checked: the one VM the mirror has under that name,
 * read alone (its name, uuid, host and the kind's before value, fresh from
 * vCenter).  1 when that read confirms the name (t and before filled); 0
 * when read_target must scan: the mirror is not synced, has no single VM
 * (or target host or datastore) of that name (NotFound and AmbiguousName come from vCenter's whole
 * answer, not from a copy that may lag), the VM was renamed or has gone
 * since the mirror's last update, or its host is not in the mirror yet.
 * A vcsim session that expired answers with nothing either, and the scan
 * then says so.  Else a negative errno.
 */
/* Not a host the mirror does not know yet, nor (for a target host) another than the hosts read covered. */
static bool mirrored_host_ok(const struct backend_session *s, enum op_kind kind, const struct op_args *args,
                             const char *host, const char *mirror_host) {
        if (host && !vs_names_find(s->hosts, s->n_hosts, host))
                return false;
        if (kind_needs_placement(kind, args) && args->host)
                return host && mirror_host && strcmp(host, mirror_host) == 0;
        return true;
}

static int read_target_mirrored(struct backend_session *s, enum op_kind kind, const struct op_args *args,
                                const char *opid, struct vm_target *t, struct op_value *before,
                                struct op_error *err) {
        _cleanup_free_ char *id = NULL, *host = NULL;
        _cleanup_(scan_done) struct scan sc = { .want = args->vm };
        struct mirrored_read rd = { .sc = &sc };
        struct scan_vm vm;
        size_t count;
        int r;

        r = vs_mirror_vm_id(s->mirror, args->vm, &id, &host, &count);
        if (r == 0)
                r = vs_mirror_names_into(s->mirror, s);
        if (r == -ENOMEM)
                return vs_oom(err);
        if (r < 0)
                return 0;
        r = mirrored_read(s, kind, args, opid, id, host, &rd, err);
        if (r != 0)
                return r < 0 ? r : 0;
        vm = (struct scan_vm) { id, vs_prop_string(&rd.details, "name"), vs_prop_string(&rd.details, "config.uuid"),
                                vs_vm_host_id(&rd.details) };
        if (!vm.name || strcmp(vm.name, args->vm) != 0) {
                log_debug("VM \"%s\": the mirror's %s is now \"%s\": scanning", args->vm, id, strempty(vm.name));
                return 0;
        }
        if (!mirrored_host_ok(s, kind, args, vm.host, host))
                return 0;
        r = target_finish(s, kind, args, opid, &sc, &vm, &rd.details, t, before, err);
        return r < 0 ? r : 1;
}

int vs_read_target(struct backend_session *s, enum op_kind kind, const struct op_args *args, const char *opid,
                   struct vm_target *t, struct op_value *before, struct op_error *err) {
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
        r = read_target_mirrored(s, kind, args, opid, t, before, err);
        if (r != 0)
                return r < 0 ? r : 0;

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

        r = scan_the_vm(s, &sc, &vm, err);
        if (r < 0)
                return r;
        r = scan_details(s, kind, opid, &sc, vm, err);
        if (r < 0)
                return r;
        return target_finish(s, kind, args, opid, &sc, vm, &sc.details, t, before, err);
}

int vs_refresh_names(struct backend_session *s, const char *opid, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        _cleanup_(scan_done) struct scan sc = { .want = "" };
        struct op_args none = {};
        int r;

        if (!s->view.value)
                return vs_not_logged_in(s, err);
        r = do_scan(s, OP_RENAME, &none, opid, &sc, err);
        if (r < 0)
                return r;
        return remember_scan(s, &sc) < 0 ? vs_oom(err) : 0;
}

int vs_read_value(struct backend_session *s, enum op_kind kind, const char *opid, const char *id,
                  struct op_value *value, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        struct vs_props vm = {};
        int r;

        op_value_clear(value);
        r = read_details(s, kind, opid, id, &vm, err);
        if (r < 0)
                return r;
        vs_names_note_vm(s, id, &vm);
        return vs_fill_value(s, kind, &vm, value) < 0 ? vs_oom(err) : 0;
}
