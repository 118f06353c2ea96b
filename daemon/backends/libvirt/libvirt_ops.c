/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * read_target and perform() on libvirt, and crash recovery.
 *
 * libvirt has no tasks.  Before the change is sent, perform() stores the
 * request itself as the row's task (task_created): a small JSON object
 * such as {"libvirt":"cpu","number":4}.  After a crash, task_outcome()
 * reads the VM back and compares it with that request (op_value_shows()):
 * OK when the VM shows it, -ENODATA when it does not, and recovery then
 * says NG when the VM still shows the value from before and UNKNOWN when
 * it shows neither (vmtraced-trail(5), RECOVERY).
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt_internal.h"
#include "util.h"

/* The request words stored in the task column; one per kind, so ModifyDisk grow and add stay apart. */
static const char *const request_words[_OP_MAX] = {
        [OP_RENAME] = "rename", [OP_CPU] = "cpu", [OP_MEMORY] = "memory", [OP_DISK_GROW] = "disk-grow",
        [OP_DISK_ADD] = "disk-add", [OP_START] = "start", [OP_STOP] = "stop", [OP_STOP_GUEST] = "stop-guest",
        [OP_RESET] = "reset", [OP_SUSPEND] = "suspend", [OP_CLONE] = "clone", [OP_MIGRATE] = "migrate",
        [OP_SNAPSHOT_CREATE] = "snapshot-create", [OP_SNAPSHOT_REVERT] = "snapshot-revert",
        [OP_SNAPSHOT_REMOVE] = "snapshot-remove", [OP_DESTROY] = "destroy",
};

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put);

static void add_string(struct json_object *o, const char *key, const char *v) {
        if (v)
                json_object_object_add(o, key, json_object_new_string(v));
}

/* The request as the row's task text (malloc'd), or NULL on no memory. */
static char *request_text(enum op_kind kind, const struct op_args *a) {
        _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
        const char *text;

        if (!o || kind >= _OP_MAX)
                return NULL;
        json_object_object_add(o, "libvirt", json_object_new_string(request_words[kind]));
        if (a->number)
                json_object_object_add(o, "number", json_object_new_int64(a->number));
        add_string(o, "name", a->new_name);
        add_string(o, "disk", a->disk);
        add_string(o, "snapshot", a->snapshot);
        add_string(o, "host", a->host);
        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        return text ? strdup(text) : NULL;
}

/*
 * The request back from a row's task: kind and args, the strings pointing
 * into *holder.  -EINVAL when the task is not one of ours.
 */
static int request_parse(const char *task, enum op_kind *kind, struct op_args *a, struct json_object **holder) {
        struct json_object *o = task ? json_tokener_parse(task) : NULL, *v;
        const char *word = o && json_object_object_get_ex(o, "libvirt", &v) ? json_object_get_string(v) : NULL;
        int k;

        for (k = 0; word && k < _OP_MAX; k++)
                if (strcmp(request_words[k], word) == 0)
                        break;
        if (!word || k == _OP_MAX) {
                json_object_put(o);
                return -EINVAL;
        }
        *kind = (enum op_kind) k;
        a->number = json_object_object_get_ex(o, "number", &v) ? json_object_get_int64(v) : 0;
        a->new_name = json_object_object_get_ex(o, "name", &v) ? json_object_get_string(v) : NULL;
        a->disk = json_object_object_get_ex(o, "disk", &v) ? json_object_get_string(v) : NULL;
        a->snapshot = json_object_object_get_ex(o, "snapshot", &v) ? json_object_get_string(v) : NULL;
        a->host = json_object_object_get_ex(o, "host", &v) ? json_object_get_string(v) : NULL;
        *holder = o;
        return 0;
}

/* ---- read_target ------------------------------------------------------------ */

int lv_read_target(struct backend_session *s, enum op_kind kind, const struct op_args *args, const char *opid _unused_,
                   struct vm_target *t, struct op_value *before, struct op_error *err) {
        _cleanup_(virDomainFreep) virDomainPtr dom = NULL;
        int r = lv_alive(s, err);

        if (r < 0)
                return r;
        r = lv_lookup(s, args->vm, &dom, err);
        /* Nothing was sent that changes anything: the pool may connect again and repeat it. */
        if (r < 0)
                return r == -ECONNRESET ? -EKEYEXPIRED : r;
        r = lv_fill_target(s, dom, t, err);
        if (r >= 0)
                r = lv_read_value(s, dom, kind, args, before, err);
        return r == -ECONNRESET ? -EKEYEXPIRED : r;
}

/* ---- The short operations ------------------------------------------------- */

static bool is_active(struct backend_session *s, virDomainPtr dom) {
        lv_count(s, 1);
        return virDomainIsActive(dom) == 1;
}

/* The call's result: 0, or the failure read on this thread. */
static int check(struct backend_session *s, int rc, const char *what, struct op_error *err) {
        lv_count(s, 1);
        return rc < 0 ? lv_fail(s, what, err) : 0;
}

/*
 * A running guest keeps the ceiling it booted with: more than that is
 * refused before anything changes, rather than half done (the next boot's
 * setting changed, the live one not).  A stopped VM's ceiling is raised.
 */
static int above_live_ceiling(const char *what, long long asked, long long max, struct op_error *err) {
        op_error_set(err, OP_FAULT_INVALID, "the running VM's %s ceiling is %lld, below the %lld asked for; "
                     "stop it to raise the ceiling; nothing was changed", what, max, asked);
        return -EINVAL;
}

static int do_cpu(struct backend_session *s, virDomainPtr dom, const struct op_args *a, struct op_error *err) {
        bool on = is_active(s, dom);
        int max = virDomainGetVcpusFlags(dom, (on ? VIR_DOMAIN_AFFECT_LIVE : VIR_DOMAIN_AFFECT_CONFIG) |
                                                      VIR_DOMAIN_VCPU_MAXIMUM);
        int r = 0;

        lv_count(s, 1);
        if (max < 0)
                return lv_fail(s, "virDomainGetVcpusFlags", err);
        if (a->number > max && on)
                return above_live_ceiling("CPU", a->number, max, err);
        if (a->number > max)
                r = check(s, virDomainSetVcpusFlags(dom, (unsigned) a->number, VIR_DOMAIN_AFFECT_CONFIG |
                                                    VIR_DOMAIN_VCPU_MAXIMUM), "virDomainSetVcpusFlags", err);
        if (r < 0)
                return r;
        return check(s, virDomainSetVcpusFlags(dom, (unsigned) a->number, VIR_DOMAIN_AFFECT_CONFIG |
                                               (on ? VIR_DOMAIN_AFFECT_LIVE : 0)), "virDomainSetVcpusFlags", err);
}

static int do_memory(struct backend_session *s, virDomainPtr dom, const struct op_args *a, struct op_error *err) {
        unsigned long kib = (unsigned long) a->number * 1024UL;
        unsigned long max = virDomainGetMaxMemory(dom);
        bool on = is_active(s, dom);
        int r = 0;

        lv_count(s, 1);
        if (max == 0)
                return lv_fail(s, "virDomainGetMaxMemory", err);
        if (kib > max && on)
                return above_live_ceiling("memory (MiB)", (long long) kib / 1024, (long long) max / 1024, err);
        /* A stopped VM above its maximum: the maximum grows first. */
        if (kib > max)
                r = check(s, virDomainSetMemoryFlags(dom, kib, VIR_DOMAIN_AFFECT_CONFIG | VIR_DOMAIN_MEM_MAXIMUM),
                          "virDomainSetMemoryFlags", err);
        /* Two calls: some drivers (the test driver) refuse LIVE and CONFIG together. */
        if (r >= 0)
                r = check(s, virDomainSetMemoryFlags(dom, kib, VIR_DOMAIN_AFFECT_CONFIG), "virDomainSetMemoryFlags", err);
        if (r >= 0 && on)
                r = check(s, virDomainSetMemoryFlags(dom, kib, VIR_DOMAIN_AFFECT_LIVE), "virDomainSetMemoryFlags", err);
        return r;
}

static int do_disk_grow(struct backend_session *s, virDomainPtr dom, const struct op_args *a, struct op_error *err) {
        struct lv_domain_xml x = {};
        unsigned long long bytes = (unsigned long long) a->number * 1024ULL * 1024ULL, now = 0;
        size_t i;
        int r = lv_domain_parse(s, dom, 0, &x, err);

        if (r >= 0)
                r = lv_find_disk(&x, a->disk, &i, err);
        if (r >= 0)
                r = lv_disk_capacity(s, dom, &x.disks[i], &now, err);
        if (r >= 0 && bytes < now) {
                op_error_set(err, OP_FAULT_INVALID, "disk %s holds %llu MiB; a disk can only grow", x.disks[i].target,
                             now / (1024ULL * 1024ULL));
                r = -EINVAL;
        }
        if (r >= 0 && is_active(s, dom))
                r = check(s, virDomainBlockResize(dom, x.disks[i].target, bytes, VIR_DOMAIN_BLOCK_RESIZE_BYTES),
                          "virDomainBlockResize", err);
        else if (r >= 0) {
                /* A stopped domain has no block device to resize: its volume is resized. */
                _cleanup_(virStorageVolFreep) virStorageVolPtr vol =
                        x.disks[i].path ? virStorageVolLookupByPath(s->conn, x.disks[i].path) : NULL;
                r = check(s, vol ? virStorageVolResize(vol, bytes, 0) : -1, "virStorageVolResize", err);
        }
        lv_domain_xml_clear(&x);
        return r;
}

/* A free target name after the first disk's prefix ("vd" -> "vdb"). */
static int next_target(const struct lv_domain_xml *x, char *out, size_t len) {
        const char *first = x->n_disks ? x->disks[0].target : "vda";
        size_t prefix = strlen(first) > 1 ? strlen(first) - 1 : 0;

        for (char c = 'a'; c <= 'z'; c++) {
                bool used = false;

                snprintf(out, len, "%.*s%c", (int) prefix, first, c);
                for (size_t i = 0; i < x->n_disks && !used; i++)
                        used = strcmp(x->disks[i].target, out) == 0;
                if (!used)
                        return 0;
        }
        return -ENOSPC;
}

/* A new volume for the disk to add, in the pool of the domain's first disk. */
static int new_volume(struct backend_session *s, const struct lv_domain_xml *x, const char *vm, const char *target,
                      unsigned long long bytes, virStorageVolPtr *out, struct op_error *err) {
        _cleanup_(virStorageVolFreep) virStorageVolPtr first =
                x->n_disks && x->disks[0].path ? virStorageVolLookupByPath(s->conn, x->disks[0].path) : NULL;
        _cleanup_(virStoragePoolFreep) virStoragePoolPtr pool = first ? virStoragePoolLookupByVolume(first) : NULL;
        _cleanup_free_ char *xml = NULL, *name = NULL;
        const char *format = x->n_disks && x->disks[0].format ? x->disks[0].format : "raw";

        lv_count(s, 3);
        if (!pool) {
                op_error_set(err, OP_FAULT_INVALID, "the VM's first disk is in no storage pool; "
                             "libvirt can only add a disk created in a pool");
                return -EINVAL;
        }
        if (asprintf(&name, "%s-%s.%s", vm, target, format) < 0 || lv_volume_xml(name, bytes, format, &xml) < 0) {
                op_error_set(err, "InternalError", "out of memory");
                return -ENOMEM;
        }
        *out = virStorageVolCreateXML(pool, xml, 0);
        return *out ? 0 : lv_fail(s, "virStorageVolCreateXML", err);
}

static int do_disk_add(struct backend_session *s, virDomainPtr dom, const struct op_args *a, struct op_error *err) {
        struct lv_domain_xml x = {};
        _cleanup_(virStorageVolFreep) virStorageVolPtr vol = NULL;
        _cleanup_free_ char *path = NULL, *xml = NULL;
        char target[16];
        int r = lv_domain_parse(s, dom, VIR_DOMAIN_XML_INACTIVE, &x, err);

        if (r >= 0 && next_target(&x, target, sizeof target) < 0) {
                op_error_set(err, OP_FAULT_INVALID, "the VM has no free disk target left");
                r = -EINVAL;
        }
        if (r >= 0)
                r = new_volume(s, &x, virDomainGetName(dom), target, (unsigned long long) a->number << 20, &vol, err);
        if (r >= 0 && (!(path = virStorageVolGetPath(vol)) ||
                       lv_disk_xml(path, x.n_disks ? x.disks[0].format : NULL, target,
                                   x.n_disks ? x.disks[0].bus : NULL, s->driver == LV_DRIVER_QEMU, &xml) < 0))
                r = lv_fail(s, "virStorageVolGetPath", err);
        if (r >= 0) {
                r = check(s, virDomainAttachDeviceFlags(dom, xml, VIR_DOMAIN_AFFECT_CONFIG |
                                                        (is_active(s, dom) ? VIR_DOMAIN_AFFECT_LIVE : 0)),
                          "virDomainAttachDeviceFlags", err);
                /* The volume was made for this disk only: it goes when the disk could not be added. */
                if (r < 0)
                        (void) virStorageVolDelete(vol, 0);
        }
        lv_domain_xml_clear(&x);
        return r;
}

/* How long a reset waits for QEMU's REBOOT event, its only evidence: the state stays "running". */
#define LV_RESET_EVIDENCE_MS 3000

static void on_reboot(virConnectPtr conn _unused_, virDomainPtr dom _unused_, void *opaque) {
        atomic_store((atomic_bool *) opaque, true);
}

/*
 * Reset.  The power state reads the same before and after, so on QEMU,
 * which raises a REBOOT event for it, the row rests on that event; a
 * reset accepted without one is NotApplied.  Other drivers raise none
 * (the test driver), and their row rests on libvirt's answer alone.
 */
static int do_reset(struct backend_session *s, virDomainPtr dom, struct op_error *err) {
        atomic_bool rebooted = false;
        int id = -1, r;

        lv_count(s, 1);
        if (s->driver == LV_DRIVER_QEMU)
                id = virConnectDomainEventRegisterAny(s->conn, dom, VIR_DOMAIN_EVENT_ID_REBOOT,
                                                      VIR_DOMAIN_EVENT_CALLBACK(on_reboot), &rebooted, NULL);
        r = check(s, virDomainReset(dom, 0), "virDomainReset", err);
        for (long waited = 0; r >= 0 && id >= 0 && !atomic_load(&rebooted); waited += LV_POLL_MS) {
                if (waited >= LV_RESET_EVIDENCE_MS) {
                        op_error_set(err, OP_FAULT_NOT_APPLIED, "libvirt accepted the reset, but reported no reboot "
                                     "of the guest within %d s", LV_RESET_EVIDENCE_MS / 1000);
                        r = -EREMOTEIO;
                } else
                        sleep_ms(LV_POLL_MS);
        }
        if (id >= 0)
                (void) virConnectDomainEventDeregisterAny(s->conn, id);
        return r;
}

/* Shut the guest down, then wait for it to be off; -EINTR when asked to stop waiting. */
static int do_stop_guest(struct backend_session *s, virDomainPtr dom, const struct op_hooks *h, struct op_error *err) {
        int r = check(s, virDomainShutdown(dom), "virDomainShutdown", err);

        for (long waited = 0; r >= 0; waited += LV_POLL_MS) {
                struct op_error ignored = {};
                enum vm_power p = lv_power(s, dom, &ignored);

                if (p == VM_POWER_OFF)
                        return 0;
                if ((h && h->cancel_requested && h->cancel_requested(h->userdata)) ||
                    (!(h && h->cancel_requested) && waited >= LV_WAIT_MAX_SEC * 1000L)) {
                        op_error_set(err, "GuestShutdownPending", "the guest was asked to shut down and is still %s; "
                                     "vmtraced stopped waiting", vm_power_name(p));
                        return -EINTR;
                }
                if (h && h->progress)
                        h->progress(h->userdata, -1, "running");
                sleep_ms(LV_POLL_MS);
        }
        return r;
}

static int do_snapshot(struct backend_session *s, virDomainPtr dom, enum op_kind kind, const struct op_args *a,
                       struct op_error *err) {
        _cleanup_(virDomainSnapshotFreep) virDomainSnapshotPtr snap = NULL;
        _cleanup_free_ char *xml = NULL;

        lv_count(s, 1);
        if (kind == OP_SNAPSHOT_CREATE) {
                if (lv_snapshot_xml(a->snapshot, &xml) < 0)
                        return -ENOMEM;
                snap = virDomainSnapshotCreateXML(dom, xml, 0);
                return snap ? 0 : lv_fail(s, "virDomainSnapshotCreateXML", err);
        }
        snap = virDomainSnapshotLookupByName(dom, a->snapshot, 0);
        if (!snap)
                return lv_fail(s, "virDomainSnapshotLookupByName", err);
        if (kind == OP_SNAPSHOT_REVERT)
                return check(s, virDomainRevertToSnapshot(snap, 0), "virDomainRevertToSnapshot", err);
        return check(s, virDomainSnapshotDelete(snap, 0), "virDomainSnapshotDelete", err);
}

static int do_change(struct backend_session *s, virDomainPtr dom, enum op_kind kind, const struct op_args *a,
                     const struct op_hooks *h, struct vm_target *t, struct op_value *after, struct op_error *err) {
        switch (kind) {
        case OP_RENAME:
                return check(s, virDomainRename(dom, a->new_name, 0), "virDomainRename", err);
        case OP_CPU:
                return do_cpu(s, dom, a, err);
        case OP_MEMORY:
                return do_memory(s, dom, a, err);
        case OP_DISK_GROW:
                return do_disk_grow(s, dom, a, err);
        case OP_DISK_ADD:
                return do_disk_add(s, dom, a, err);
        case OP_START:
                return check(s, virDomainCreate(dom), "virDomainCreate", err);
        case OP_STOP:
                return check(s, virDomainDestroy(dom), "virDomainDestroy", err);
        case OP_STOP_GUEST:
                return do_stop_guest(s, dom, h, err);
        case OP_RESET:
                return do_reset(s, dom, err);
        case OP_SUSPEND:
                return lv_suspend(s, dom, h, err);
        case OP_CLONE:
                return lv_clone(s, dom, a, h, after, err);
        case OP_MIGRATE:
                return lv_migrate(s, dom, a, h, t, after, err);
        case OP_DESTROY:
                return lv_destroy(s, dom, err);
        default:
                return do_snapshot(s, dom, kind, a, err);
        }
}

/*
 * The value after, read from a fresh look-up by UUID (a rename changes the
 * name; a clone reads the new VM, whose identity t now holds).  Gone: a
 * destroy's proof.
 */
static int read_after(struct backend_session *s, enum op_kind kind, const struct op_args *a, const char *uuid,
                      struct op_value *after, struct op_error *err) {
        _cleanup_(virDomainFreep) virDomainPtr dom = NULL;
        struct op_error e = {};
        int r = lv_domain(s, uuid, &dom, &e);

        if (r == -ENOENT) {
                after->known = after->gone = true;
                return 0;
        }
        if (r >= 0)
                r = lv_read_value(s, dom, kind, a, after, &e);
        /* The change's own failure is the row's fault; a failed read-back only leaves "after" unknown. */
        if (r < 0 && !*err->fault)
                *err = e;
        return r;
}

int lv_perform(struct backend_session *s, enum op_kind kind, const struct op_args *args, const char *opid _unused_,
               const struct op_hooks *hooks, struct vm_target *t, struct op_value *after, char **task,
               struct op_error *err) {
        _cleanup_(virDomainFreep) virDomainPtr dom = NULL;
        int r = lv_alive(s, err);

        if (r < 0)
                return r;
        r = lv_domain(s, t->id, &dom, err);
        if (r < 0)
                return r == -ECONNRESET ? -EKEYEXPIRED : r;
        *task = request_text(kind, args);
        if (*task && hooks && hooks->task_created)
                hooks->task_created(hooks->userdata, *task);
        r = do_change(s, dom, kind, args, hooks, t, after, err);
        /* Clone and migrate read their own "after" (the new VM; the VM on the destination). */
        if (kind == OP_CLONE || kind == OP_MIGRATE || r == -ECONNRESET || r == -ECONNREFUSED)
                return r;
        int k = read_after(s, kind, args, t->id, after, err);
        return r < 0 ? r : k;
}

/* ---- Crash recovery --------------------------------------------------------- */

int lv_task_outcome(struct backend_session *s, enum op_kind row_kind _unused_, const struct op_args *row_args,
                    const char *task_id, const char *opid _unused_, struct vm_target *t, struct op_value *after,
                    struct op_error *err) {
        _cleanup_(json_object_putp) struct json_object *holder = NULL;
        struct op_args a = { .vm = row_args->vm };
        enum op_kind kind;
        int r = lv_alive(s, err);

        if (r < 0)
                return r;
        if (request_parse(task_id, &kind, &a, &holder) < 0) {
                op_error_set(err, "InternalError", "the row's task is not a libvirt request");
                return -ENOTSUP;
        }
        if (kind == OP_RESET) {
                /* A reset leaves nothing to see. */
                op_error_set(err, "", "a reset leaves nothing to read back that tells whether it happened");
                return -ENOTSUP;
        }
        if (kind == OP_MIGRATE)
                return lv_migrate_outcome(s, &a, t, after, err);
        if (kind == OP_CLONE) {
                /* The clone, by its name: the source tells nothing. */
                _cleanup_(virDomainFreep) virDomainPtr dom = virDomainLookupByName(s->conn, a.new_name);
                if (!dom)
                        return -ENODATA;
                return lv_read_value(s, dom, kind, &a, after, err);
        }
        r = read_after(s, kind, &a, t->id, after, err);
        if (r < 0)
                return r;
        if (after->gone && kind != OP_DESTROY) {
                op_error_set(err, OP_FAULT_NOT_FOUND, "the VM no longer exists");
                return -ENOENT;
        }
        /*
         * A disk added shows only as a longer list, and the request does not
         * say how long it was: the core compares it with the row's "before".
         */
        if (kind == OP_DISK_ADD)
                return -ENODATA;
        if (op_value_shows(kind, &a, after))
                return 0;
        /* A guest asked to shut down may still do so: not known, as at task-timeout. */
        return kind == OP_STOP_GUEST ? -EINPROGRESS : -ENODATA;
}
