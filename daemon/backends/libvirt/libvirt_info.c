/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Read-only: list and show, in the members the vSphere backend uses, so
 * vmctl prints both platforms alike:
 *   list: [ { "name", "id", "uuid", "host", "powerState", "numCPU", "memoryMB" }, ... ]
 *   show: that, and "disks": [ { "label", "capacityMiB" } ],
 *         "snapshots": [ { "name", "children": [ ... ] } ], "currentSnapshot"
 * The id is the domain's UUID, as in the trail.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt_internal.h"

static int add(struct json_object *o, const char *key, struct json_object *v) {
        if (!v)
                return -ENOMEM;
        return json_object_object_add(o, key, v) < 0 ? -ENOMEM : 0;
}

static struct json_object *vm_json(struct backend_session *s, virDomainPtr dom) {
        struct json_object *o = json_object_new_object();
        struct op_error ignored = {};
        char uuid[VIR_UUID_STRING_BUFLEN] = "";
        virDomainInfo info = {};

        lv_count(s, 2);
        (void) virDomainGetUUIDString(dom, uuid);
        (void) virDomainGetInfo(dom, &info);
        if (!o || add(o, "name", json_object_new_string(virDomainGetName(dom))) < 0 ||
            add(o, "id", json_object_new_string(uuid)) < 0 || add(o, "uuid", json_object_new_string(uuid)) < 0 ||
            add(o, "host", json_object_new_string(strempty(s->hostname))) < 0 ||
            add(o, "powerState", json_object_new_string(vm_power_name(lv_power(s, dom, &ignored)))) < 0 ||
            add(o, "numCPU", json_object_new_int(info.nrVirtCpu)) < 0 ||
            add(o, "memoryMB", json_object_new_int64((int64_t) info.memory / 1024)) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static int oom(struct op_error *err) {
        op_error_set(err, "InternalError", "out of memory");
        return -ENOMEM;
}

int lv_list_vms(struct backend_session *s, const char *opid _unused_, struct json_object **out, struct op_error *err) {
        virDomainPtr *doms = NULL;
        struct json_object *list;
        int r = lv_alive(s, err), n;

        if (r < 0)
                return r;
        lv_count(s, 1);
        n = virConnectListAllDomains(s->conn, &doms, 0);
        if (n < 0)
                return lv_fail(s, "virConnectListAllDomains", err);
        list = json_object_new_array();
        for (int i = 0; i < n; i++) {
                struct json_object *vm = list ? vm_json(s, doms[i]) : NULL;

                if (!vm || json_object_array_add(list, vm) < 0)
                        r = -ENOMEM;
                virDomainFree(doms[i]);
        }
        free(doms);
        if (r < 0 || !list) {
                json_object_put(list);
                return oom(err);
        }
        *out = list;
        return 0;
}

static struct json_object *disks_json(const struct op_value *v) {
        struct json_object *a = json_object_new_array();

        for (size_t i = 0; a && i < v->n_disks; i++) {
                struct json_object *d = json_object_new_object();

                if (!d || add(d, "label", json_object_new_string(v->disks[i].label)) < 0 ||
                    add(d, "capacityMiB", json_object_new_int64(v->disks[i].mib)) < 0 || json_object_array_add(a, d) < 0) {
                        json_object_put(d);
                        json_object_put(a);
                        return NULL;
                }
        }
        return a;
}

static struct json_object *tree_json(const struct op_snapshot *t, size_t n) {
        struct json_object *a = json_object_new_array();

        for (size_t i = 0; a && i < n; i++) {
                struct json_object *o = json_object_new_object();

                if (!o || add(o, "name", json_object_new_string(t[i].name)) < 0 ||
                    add(o, "children", tree_json(t[i].children, t[i].n_children)) < 0 || json_object_array_add(a, o) < 0) {
                        json_object_put(o);
                        json_object_put(a);
                        return NULL;
                }
        }
        return a;
}

/* Disks and snapshots, read as the operations read them. */
static int add_details(struct backend_session *s, virDomainPtr dom, struct json_object *o, struct op_error *err) {
        struct op_value disks = {}, snaps = {};
        int r = lv_read_value(s, dom, OP_DISK_ADD, NULL, &disks, err);

        if (r >= 0)
                r = lv_read_value(s, dom, OP_SNAPSHOT_CREATE, NULL, &snaps, err);
        if (r >= 0 && (add(o, "disks", disks_json(&disks)) < 0 || add(o, "snapshots", tree_json(snaps.snapshots,
                                                                                                 snaps.n_snapshots)) < 0 ||
                       json_object_object_add(o, "currentSnapshot", snaps.current_snapshot ?
                                              json_object_new_string(snaps.current_snapshot) : NULL) < 0))
                r = oom(err);
        op_value_clear(&disks);
        op_value_clear(&snaps);
        return r;
}

int lv_show_vm(struct backend_session *s, const struct op_args *args, const char *opid _unused_,
               struct json_object **out, struct op_error *err) {
        _cleanup_(virDomainFreep) virDomainPtr dom = NULL;
        struct json_object *o;
        int r = lv_alive(s, err);

        if (r < 0)
                return r;
        r = lv_lookup(s, args->vm, &dom, err);
        if (r < 0)
                return r;
        o = vm_json(s, dom);
        if (!o)
                return oom(err);
        r = add_details(s, dom, o, err);
        if (r < 0) {
                json_object_put(o);
                return r;
        }
        *out = o;
        return 0;
}
