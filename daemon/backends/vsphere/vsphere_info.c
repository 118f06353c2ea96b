/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vSphere backend's reads for vmctl list and show, and the user event
 * it posts on a VM after a change (EventManager.PostEvent), so that
 * vCenter's own event history names the human behind the service account.
 *
 * JSON shapes (json-c):
 *   list: [ { "name", "id", "uuid", "host", "powerState", "numCPU", "memoryMB" }, ... ]
 *         sorted by name, then id
 *   show: { the same members,
 *           "disks": [ { "label", "capacityMiB", "file" } ],
 *           "snapshots": [ { "name", "id", "createTime" (seconds), "children": [ ... ] } ],
 *           "currentSnapshot": name or null }
 * A member vCenter did not report is left out ("host" of an orphaned VM).
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "config.h"
#include "log.h"
#include "macros.h"
#include "vsphere_internal.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put);

/* ---- PostEvent ----------------------------------------------------------- */

int vs_post_event(struct backend_session *s, const struct vm_target *t, const char *text, const char *opid,
                  struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        struct vim25__VmEventArgument vm = { .name = t->name, .vm = { .__item = t->id, .type = "VirtualMachine" } };
        struct vim25__ManagedEntityEventArgument entity = { .name = t->name, .entity = vm.vm };
        /* key, chainId, createdTime and userName are required; vCenter sets its own. */
        struct vim25__GeneralUserEvent ev = {
                .createdTime = time(NULL),
                .userName = "",
                .vm = &vm,
                .message = (char *) text,
                .entity = &entity,
        };
        struct _vim25__PostEvent rq = {
                ._USCOREthis = vs_mor(s->soap, s->event_manager.type, s->event_manager.value),
                /* Polymorphic: gSOAP writes xsi:type="vim25:GeneralUserEvent" (notes P5). */
                .__typeeventToPost = SOAP_TYPE_vim25__GeneralUserEvent,
                .eventToPost = &ev,
        };
        struct _vim25__PostEventResponse rs;

        if (!t->id || !t->name || !text) {
                op_error_set(err, "InvalidArgument", "No VM or text for the event");
                return -EINVAL;
        }
        if (!s->event_manager.value) {
                op_error_set(err, "NotSupported", "Endpoint \"%s\" has no EventManager", s->ep->name);
                return -EOPNOTSUPP;
        }
        if (!rq._USCOREthis)
                return vs_oom(err);
        return VS_CALL(s, PostEvent, opid, &rq, &rs, err);
}

/* ---- JSON helpers -------------------------------------------------------- */

static int add_string(struct json_object *o, const char *key, const char *v) {
        struct json_object *j;

        if (!v)
                return 0;
        j = json_object_new_string(v);
        if (!j)
                return -ENOMEM;
        return json_object_object_add(o, key, j) < 0 ? -ENOMEM : 0;
}

static int add_int(struct json_object *o, const char *key, const struct vs_props *p, const char *path) {
        struct json_object *j;
        long long v;

        if (!vs_prop_int(p, path, &v))
                return 0;
        j = json_object_new_int64(v);
        if (!j)
                return -ENOMEM;
        return json_object_object_add(o, key, j) < 0 ? -ENOMEM : 0;
}

/* The members list and show share. */
static int vm_summary(const struct backend_session *s, const struct vs_props *p, struct json_object *o) {
        const struct vim25__ManagedObjectReference *h = vs_prop_mor(p, "runtime.host");
        const char *host = h ? vs_names_find(s->hosts, s->n_hosts, h->__item) : NULL;

        if (add_string(o, "name", vs_prop_string(p, "name")) < 0 || add_string(o, "id", p->oc[0]->obj.__item) < 0 ||
            add_string(o, "uuid", vs_prop_string(p, "config.uuid")) < 0 ||
            add_string(o, "host", host ? host : h ? h->__item : NULL) < 0 ||
            add_string(o, "powerState", vs_prop_string(p, "runtime.powerState")) < 0 ||
            add_int(o, "numCPU", p, "config.hardware.numCPU") < 0 ||
            add_int(o, "memoryMB", p, "config.hardware.memoryMB") < 0)
                return -ENOMEM;
        return 0;
}

/* ---- list ---------------------------------------------------------------- */

static const char *const summary_paths[] = {
        "name", "config.uuid", "runtime.host", "runtime.powerState", "config.hardware.numCPU",
        "config.hardware.memoryMB",
};

struct list_read {
        const struct backend_session *s;
        struct json_object *array;
        struct json_object *hosts;     /* HostSystem moref -> name, from the same answer */
        bool authenticated;
};

static int list_cb(const struct vim25__ObjectContent *oc, void *userdata) {
        struct list_read *l = userdata;
        struct vs_props p = { .oc = { oc }, .n = 1 };
        _cleanup_(json_object_putp) struct json_object *o = NULL;

        if (vs_mor_is(&oc->obj, "SessionManager")) {
                l->authenticated = vs_prop(&p, "currentSession") != NULL;
                return 0;
        }
        if (vs_mor_is(&oc->obj, "HostSystem"))
                return add_string(l->hosts, oc->obj.__item, vs_prop_string(&p, "name"));
        if (!vs_mor_is(&oc->obj, "VirtualMachine"))
                return 0;
        o = json_object_new_object();
        if (!o || vm_summary(l->s, &p, o) < 0 || json_object_array_add(l->array, o) < 0)
                return -ENOMEM;
        TAKE_PTR(o);
        return 0;
}

/* vm_summary() named only the hosts the session's last scan knew; name the others from this answer. */
static int list_host_names(struct list_read *l) {
        for (size_t i = 0; i < json_object_array_length(l->array); i++) {
                struct json_object *vm = json_object_array_get_idx(l->array, i), *h, *name;

                if (json_object_object_get_ex(vm, "host", &h) &&
                    json_object_object_get_ex(l->hosts, json_object_get_string(h), &name) &&
                    json_object_object_add(vm, "host", json_object_get(name)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static const char *json_str(struct json_object *o, const char *key) {
        struct json_object *v;

        return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static int by_name_then_id(const void *a, const void *b) {
        struct json_object *x = *(struct json_object *const *) a, *y = *(struct json_object *const *) b;
        int c = strcmp(json_str(x, "name"), json_str(y, "name"));

        return c ? c : strcmp(json_str(x, "id"), json_str(y, "id"));
}

int vs_list_vms(struct backend_session *s, const char *opid, struct json_object **out, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        _cleanup_(json_object_putp) struct json_object *array = json_object_new_array();
        _cleanup_(json_object_putp) struct json_object *hosts = json_object_new_object();
        struct list_read l = { .s = s, .array = array, .hosts = hosts };
        static enum xsd__boolean yes = xsd__boolean__true_, no = xsd__boolean__false_;
        static const char *const sm_paths[] = { "currentSession" };
        static const char *const host_paths[] = { "name" };
        struct vim25__TraversalSpec ts = { .type = "ContainerView", .path = "view", .skip = &no };
        struct __vim25__SelectionSpecItem sel = { SOAP_TYPE_vim25__TraversalSpec, &ts };
        struct vim25__ObjectSpec os[2] = {
                { .obj = { s->view.value, s->view.type }, .skip = &yes, .__sizeselectSet = 1, .__selectSet = &sel },
                { .obj = { s->session_manager.value, s->session_manager.type } },
        };
        struct vim25__PropertySpec ps[3];
        struct vim25__PropertyFilterSpec spec = { 3, ps, 2, os, NULL };
        int r;

        if (!array || !hosts)
                return vs_oom(err);
        if (!s->view.value)
                return vs_not_logged_in(s, err);
        if (vs_prop_spec(s->soap, &ps[0], "VirtualMachine", summary_paths, ELEMENTSOF(summary_paths)) < 0 ||
            vs_prop_spec(s->soap, &ps[1], "SessionManager", sm_paths, 1) < 0 ||
            vs_prop_spec(s->soap, &ps[2], "HostSystem", host_paths, 1) < 0)
                return vs_oom(err);
        r = vs_retrieve(s, opid, &spec, 1, list_cb, &l, err);
        if (r == -EREMOTEIO && strcmp(err->fault, "ManagedObjectNotFound") == 0)
                return vs_not_logged_in(s, err);
        if (r < 0)
                return r;
        if (!l.authenticated)
                return vs_not_logged_in(s, err);
        if (list_host_names(&l) < 0)
                return vs_oom(err);
        json_object_array_sort(array, by_name_then_id);
        *out = TAKE_PTR(array);
        return 0;
}

/* ---- show ---------------------------------------------------------------- */

static const char *const show_paths[] = {
        "name", "config.uuid", "runtime.host", "runtime.powerState", "config.hardware.numCPU",
        "config.hardware.memoryMB", "config.hardware.device", "snapshot",
};

/* One VirtualDisk as { "label", "capacityMiB", "file" }, appended to disks. */
static int show_disk(struct json_object *disks, const struct vim25__VirtualDisk *disk) {
        const struct vim25__VirtualDiskFlatVer2BackingInfo *bk =
                disk->__typebacking == SOAP_TYPE_vim25__VirtualDiskFlatVer2BackingInfo ? disk->backing : NULL;
        struct json_object *j = json_object_new_object();

        if (!j || json_object_array_add(disks, j) < 0) {
                json_object_put(j);
                return -ENOMEM;
        }
        if (add_string(j, "label", disk->deviceInfo ? disk->deviceInfo->label : NULL) < 0 ||
            json_object_object_add(j, "capacityMiB", json_object_new_int64(disk->capacityInKB / 1024)) < 0 ||
            add_string(j, "file", bk ? bk->fileName : NULL) < 0)
                return -ENOMEM;
        return 0;
}

static int show_disks(const struct vs_props *p, struct json_object *o) {
        const struct vim25__DynamicProperty *d = vs_prop(p, "config.hardware.device");
        const struct vim25__ArrayOfVirtualDevice *a =
                d && d->__typeval == SOAP_TYPE_vim25__ArrayOfVirtualDevice ? d->val : NULL;
        struct json_object *disks = json_object_new_array();

        if (!disks || json_object_object_add(o, "disks", disks) < 0) {
                json_object_put(disks);
                return -ENOMEM;
        }
        for (int i = 0; a && i < a->__sizeVirtualDevice; i++)
                if (a->__VirtualDevice[i].__typeVirtualDevice == SOAP_TYPE_vim25__VirtualDisk &&
                    show_disk(disks, a->__VirtualDevice[i].VirtualDevice) < 0)
                        return -ENOMEM;
        return 0;
}

static struct json_object *snapshot_tree(const struct vim25__VirtualMachineSnapshotTree *t, int n, int depth) {
        struct json_object *list = json_object_new_array();

        for (int i = 0; list && i < n && depth < 64; i++) {
                struct json_object *j = json_object_new_object(), *children;

                if (!j || json_object_array_add(list, j) < 0) {
                        json_object_put(j);
                        goto fail;
                }
                children = snapshot_tree(t[i].childSnapshotList, t[i].__sizechildSnapshotList, depth + 1);
                if (add_string(j, "name", t[i].name) < 0 || add_string(j, "id", t[i].snapshot.__item) < 0 ||
                    json_object_object_add(j, "createTime", json_object_new_int64(t[i].createTime)) < 0 ||
                    !children || json_object_object_add(j, "children", children) < 0) {
                        json_object_put(children);
                        goto fail;
                }
        }
        return list;
fail:
        json_object_put(list);
        return NULL;
}

static const char *snapshot_name(const struct vim25__VirtualMachineSnapshotTree *t, int n, const char *id,
                                 int depth) {
        for (int i = 0; id && i < n && depth < 64; i++) {
                const char *found;

                if (t[i].snapshot.__item && strcmp(t[i].snapshot.__item, id) == 0)
                        return t[i].name;
                found = snapshot_name(t[i].childSnapshotList, t[i].__sizechildSnapshotList, id, depth + 1);
                if (found)
                        return found;
        }
        return NULL;
}

static int show_snapshots(const struct vs_props *p, struct json_object *o) {
        const struct vim25__DynamicProperty *d = vs_prop(p, "snapshot");
        const struct vim25__VirtualMachineSnapshotInfo *si =
                d && d->__typeval == SOAP_TYPE_vim25__VirtualMachineSnapshotInfo ? d->val : NULL;
        struct json_object *tree = snapshot_tree(si ? si->rootSnapshotList : NULL,
                                                 si ? si->__sizerootSnapshotList : 0, 0);
        const char *cur = si && si->currentSnapshot
                ? snapshot_name(si->rootSnapshotList, si->__sizerootSnapshotList, si->currentSnapshot->__item, 0)
                : NULL;

        if (!tree || json_object_object_add(o, "snapshots", tree) < 0) {
                json_object_put(tree);
                return -ENOMEM;
        }
        return json_object_object_add(o, "currentSnapshot", cur ? json_object_new_string(cur) : NULL) < 0
                ? -ENOMEM : 0;
}

static int show_cb(const struct vim25__ObjectContent *oc, void *userdata) {
        if (oc->__sizepropSet > 0)
                vs_props_add(userdata, oc);
        return 0;
}

int vs_show_vm(struct backend_session *s, const struct op_args *args, const char *opid, struct json_object **out,
               struct op_error *err) {
        struct op_args find = { .vm = args->vm };
        struct vm_target t = {};
        _cleanup_(op_value_clear) struct op_value before = {};
        int r;

        /* The scan finds the VM (and refuses an ambiguous name); then one read for everything shown. */
        r = vs_read_target(s, OP_RENAME, &find, opid, &t, &before, err);
        if (r < 0)
                return r;

        {
                _cleanup_arena_ struct soap *arena = s->soap;
                _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
                struct vim25__PropertyFilterSpec spec;
                struct vs_props p = {};

                if (!o || vs_object_filter_spec(s->soap, &spec, "VirtualMachine", t.id, show_paths,
                                                ELEMENTSOF(show_paths)) < 0) {
                        vm_target_clear(&t);
                        return vs_oom(err);
                }
                r = vs_retrieve(s, opid, &spec, 1, show_cb, &p, err);
                if (r >= 0 && p.n == 0) {
                        op_error_set(err, OP_FAULT_NOT_FOUND, "VM \"%s\" vanished on endpoint \"%s\"", args->vm,
                                     s->ep->name);
                        r = -ENOENT;
                }
                if (r >= 0 && (vm_summary(s, &p, o) < 0 || show_disks(&p, o) < 0 || show_snapshots(&p, o) < 0))
                        r = vs_oom(err);
                vm_target_clear(&t);
                if (r < 0)
                        return r;
                *out = TAKE_PTR(o);
        }
        return 0;
}
