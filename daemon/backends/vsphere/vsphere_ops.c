/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * perform() and task_outcome() for the vSphere backend.
 *
 * Every operation but a guest shutdown is one task method.  Round trips in
 * a warm session: the task method, then one RetrievePropertiesEx that reads
 * the task's info and the VM's "after" properties together.  vCenter
 * finishes quick tasks (and vcsim every task) before that read, so
 * read_target + perform cost 3 round trips; CloneVM reads the new VM too
 * (4).  A task still queued or running is waited for with a
 * PropertyCollector filter and WaitForUpdatesEx in 1 s slices (progress to
 * the hooks, CancelTask when the operator asks), then the combined read is
 * repeated: the after value is always read once the task has finished.
 *
 * A task method is never sent twice.  NotAuthenticated rejects the call
 * before anything happens (the pool logs in and repeats perform); any other
 * failure of the call itself (connection reset, timeout) may have lost the
 * answer of a call that vCenter executed.  Then vs_find_lost_task() looks
 * for the task among TaskManager.recentTask: same entity, same kind of task
 * (descriptionId), queued since just before we sent (on vCenter's clock, via
 * ServiceInstance.CurrentTime).  One
 * such task is adopted and waited for; none or several leave the outcome
 * unknown, and the transport error goes up (an UNKNOWN row), never a resend.
 * Once a task exists, a lost session no longer means "nothing happened"
 * either: it is reported as -ENOTCONN, not as -EKEYEXPIRED (which would
 * make the pool repeat the call).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "config.h"
#include "log.h"
#include "macros.h"
#include "vsphere_internal.h"

/* Slack between our clock and vCenter's when looking for a lost task. */
#define VS_LOST_TASK_SLACK_SEC 5

/*
 * Each kind's vSphere method, and how its task's TaskInfo.descriptionId
 * ends: vCenter says "VirtualMachine.reconfigure", vcsim "...reconfigVm",
 * so the stem is a prefix of the part after the last '.'.
 */
static const struct {
        const char *method;
        const char *stem;
} task_kinds[_OP_MAX] = {
        [OP_RENAME] = { "Rename_Task", "rename" },
        [OP_CPU] = { "ReconfigVM_Task", "reconfig" },
        [OP_MEMORY] = { "ReconfigVM_Task", "reconfig" },
        [OP_DISK_GROW] = { "ReconfigVM_Task", "reconfig" },
        [OP_DISK_ADD] = { "ReconfigVM_Task", "reconfig" },
        [OP_START] = { "PowerOnVM_Task", "powerOn" },
        [OP_STOP] = { "PowerOffVM_Task", "powerOff" },
        [OP_STOP_GUEST] = { "ShutdownGuest", NULL },  /* not a task */
        [OP_RESET] = { "ResetVM_Task", "reset" },
        [OP_SUSPEND] = { "SuspendVM_Task", "suspend" },
        [OP_CLONE] = { "CloneVM_Task", "clone" },
        [OP_MIGRATE] = { "RelocateVM_Task", "relocate" },
        [OP_SNAPSHOT_CREATE] = { "CreateSnapshot_Task", "createSnapshot" },
        [OP_SNAPSHOT_REVERT] = { "RevertToSnapshot_Task", "revert" },
        [OP_SNAPSHOT_REMOVE] = { "RemoveSnapshot_Task", "remove" },
        [OP_DESTROY] = { "Destroy_Task", "destroy" },
};

static int task_ref(const struct vim25__ManagedObjectReference *m, const char *method, char **task,
                    struct op_error *err) {
        if (!m || !m->__item) {
                op_error_set(err, "InvalidResponse", "%s returned no task", method);
                return -EPROTO;
        }
        *task = strdup(m->__item);
        return *task ? 0 : vs_oom(err);
}

/* Call a task method; *task gets the Task's moref value. */
#define TASK_CALL(s, method, opid, rq, task, err)                                                  \
        ({                                                                                         \
                struct _vim25__##method##Response _rs = {};                                        \
                int _r = VS_CALL(s, method, opid, rq, &_rs, err);                                  \
                _r < 0 ? _r : task_ref(_rs.returnval, #method, task, err);                         \
        })

/* ---- Requests ------------------------------------------------------------ */

static int send_reconfig(struct backend_session *s, const char *opid, struct vim25__ManagedObjectReference *this,
                         struct vim25__VirtualMachineConfigSpec *spec, char **task, struct op_error *err) {
        struct _vim25__ReconfigVM_USCORETask rq = { this, spec };

        return TASK_CALL(s, ReconfigVM_USCORETask, opid, &rq, task, err);
}

/*
 * The one device change of spec.  The device is required (minOccurs=1):
 * a spec without one is never built.
 */
static int device_change(struct vim25__VirtualMachineConfigSpec *spec, struct vim25__VirtualDeviceConfigSpec *change,
                         char *operation, char *file_operation, struct vim25__VirtualDisk *disk,
                         struct op_error *err) {
        if (!disk) {
                op_error_set(err, "InternalError", "A device change without a device");
                return -EINVAL;
        }
        *change = (struct vim25__VirtualDeviceConfigSpec) {
                .operation = operation, .fileOperation = file_operation,
                /* Polymorphic: gSOAP writes xsi:type="vim25:VirtualDisk" (notes P5). */
                .__typedevice = SOAP_TYPE_vim25__VirtualDisk, .device = disk,
        };
        *spec = (struct vim25__VirtualMachineConfigSpec) { .__sizedeviceChange = 1, .deviceChange = change };
        return 0;
}

/*
 * Grow a disk: an edit of the device exactly as read_target read it
 * (backing with its sharing, content and change ids, shares, ...), with
 * only the capacity changed.  An edit must not drop what it does not
 * mean to change; vcsim even replaces the device with what we send.
 */
static int send_disk_grow(struct backend_session *s, const struct op_args *args, const char *opid,
                          struct vim25__ManagedObjectReference *this, char **task, struct op_error *err) {
        _cleanup_(vs_copy_freep) struct soap *copy = vs_copy_new();
        LONG64 bytes = args->number * 1024 * 1024;
        struct vim25__VirtualDisk disk;
        struct vim25__VirtualDeviceConfigSpec change;
        struct vim25__VirtualMachineConfigSpec spec;
        int r;

        if (!copy)
                return vs_oom(err);
        if (!s->prep.disk_xml || vs_disk_load(copy, s->prep.disk_xml, &disk) < 0 || disk.key != s->prep.disk_key) {
                op_error_set(err, "InternalError", "The disk to grow was not kept from read_target");
                return -EINVAL;
        }
        disk.capacityInKB = args->number * 1024;
        disk.capacityInBytes = &bytes;
        r = device_change(&spec, &change, "edit", NULL, &disk, err);
        if (r < 0)
                return r;
        return send_reconfig(s, opid, this, &spec, task, err);
}

/* A new thin disk in the VM's directory, on the controller and unit read_target picked. */
static int send_disk_add(struct backend_session *s, const struct op_args *args, const char *opid,
                         struct vim25__ManagedObjectReference *this, char **task, struct op_error *err) {
        enum xsd__boolean thin = xsd__boolean__true_;
        int controller = s->prep.add_controller, unit = s->prep.add_unit;
        LONG64 bytes = args->number * 1024 * 1024;
        struct vim25__VirtualDiskFlatVer2BackingInfo bk = {
                .fileName = "", .diskMode = "persistent", .thinProvisioned = &thin,
        };
        struct vim25__VirtualDisk disk = {
                .key = -1,
                .__typebacking = SOAP_TYPE_vim25__VirtualDiskFlatVer2BackingInfo,
                .backing = &bk,
                .controllerKey = &controller,
                .unitNumber = &unit,
                .capacityInKB = args->number * 1024,
                .capacityInBytes = &bytes,
        };
        struct vim25__VirtualDeviceConfigSpec change;
        struct vim25__VirtualMachineConfigSpec spec;
        int r = device_change(&spec, &change, "add", "create", &disk, err);

        if (r < 0)
                return r;
        return send_reconfig(s, opid, this, &spec, task, err);
}

static void relocate_spec(struct backend_session *s, struct vim25__VirtualMachineRelocateSpec *rs) {
        const struct vs_prepared *p = &s->prep;

        *rs = (struct vim25__VirtualMachineRelocateSpec) {
                .datastore = p->datastore ? vs_mor(s->soap, "Datastore", p->datastore) : NULL,
                .pool = p->pool ? vs_mor(s->soap, "ResourcePool", p->pool) : NULL,
                .host = p->host ? vs_mor(s->soap, "HostSystem", p->host) : NULL,
        };
}

static int send_clone(struct backend_session *s, const struct op_args *args, const char *opid,
                      struct vim25__ManagedObjectReference *this, char **task, struct op_error *err) {
        struct vim25__VirtualMachineCloneSpec spec = {
                .template_ = xsd__boolean__false_,
                .powerOn = args->power_on ? xsd__boolean__true_ : xsd__boolean__false_,
        };
        struct _vim25__CloneVM_USCORETask rq = {
                ._USCOREthis = this,
                .folder = vs_mor(s->soap, "Folder", s->prep.folder),
                .name = (char *) args->new_name,
                .spec = &spec,
        };

        relocate_spec(s, &spec.location);
        return TASK_CALL(s, CloneVM_USCORETask, opid, &rq, task, err);
}

static int send_snapshot(struct backend_session *s, enum op_kind kind, const struct op_args *args,
                         const char *opid, struct vim25__ManagedObjectReference *this, char **task,
                         struct op_error *err) {
        struct vim25__ManagedObjectReference *snap = vs_mor(s->soap, "VirtualMachineSnapshot", s->prep.snapshot);

        if (kind == OP_SNAPSHOT_CREATE) {
                /* The description names our trail record, as the operationID does in vCenter's logs. */
                struct _vim25__CreateSnapshot_USCORETask rq = {
                        this, (char *) args->snapshot, (char *) opid, xsd__boolean__false_, xsd__boolean__false_,
                };
                return TASK_CALL(s, CreateSnapshot_USCORETask, opid, &rq, task, err);
        }
        if (kind == OP_SNAPSHOT_REVERT) {
                struct _vim25__RevertToSnapshot_USCORETask rq = { snap };
                return TASK_CALL(s, RevertToSnapshot_USCORETask, opid, &rq, task, err);
        }
        struct _vim25__RemoveSnapshot_USCORETask rq = { snap, xsd__boolean__false_ };
        return TASK_CALL(s, RemoveSnapshot_USCORETask, opid, &rq, task, err);
}

static int send_task(struct backend_session *s, enum op_kind kind, const struct op_args *args, const char *opid,
                     const char *vm, char **task, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        struct vim25__ManagedObjectReference *this = vs_mor(s->soap, "VirtualMachine", vm);
        int n = (int) args->number;
        LONG64 mb = args->number;
        struct vim25__VirtualMachineConfigSpec spec = {};

        if (!this)
                return vs_oom(err);
        switch (kind) {
        case OP_RENAME: {
                struct _vim25__Rename_USCORETask rq = { this, (char *) args->new_name };
                return TASK_CALL(s, Rename_USCORETask, opid, &rq, task, err);
        }
        case OP_CPU:
                spec.numCPUs = &n;
                return send_reconfig(s, opid, this, &spec, task, err);
        case OP_MEMORY:
                spec.memoryMB = &mb;
                return send_reconfig(s, opid, this, &spec, task, err);
        case OP_DISK_GROW:
                return send_disk_grow(s, args, opid, this, task, err);
        case OP_DISK_ADD:
                return send_disk_add(s, args, opid, this, task, err);
        case OP_START: {
                struct _vim25__PowerOnVM_USCORETask rq = { this, NULL };
                return TASK_CALL(s, PowerOnVM_USCORETask, opid, &rq, task, err);
        }
        case OP_STOP: {
                struct _vim25__PowerOffVM_USCORETask rq = { this };
                return TASK_CALL(s, PowerOffVM_USCORETask, opid, &rq, task, err);
        }
        case OP_RESET: {
                struct _vim25__ResetVM_USCORETask rq = { this };
                return TASK_CALL(s, ResetVM_USCORETask, opid, &rq, task, err);
        }
        case OP_SUSPEND: {
                struct _vim25__SuspendVM_USCORETask rq = { this };
                return TASK_CALL(s, SuspendVM_USCORETask, opid, &rq, task, err);
        }
        case OP_CLONE:
                return send_clone(s, args, opid, this, task, err);
        case OP_MIGRATE: {
                struct vim25__VirtualMachineRelocateSpec rs;
                struct _vim25__RelocateVM_USCORETask rq = { this, &rs };

                relocate_spec(s, &rs);
                return TASK_CALL(s, RelocateVM_USCORETask, opid, &rq, task, err);
        }
        case OP_SNAPSHOT_CREATE:
        case OP_SNAPSHOT_REVERT:
        case OP_SNAPSHOT_REMOVE:
                return send_snapshot(s, kind, args, opid, this, task, err);
        case OP_DESTROY: {
                struct _vim25__Destroy_USCORETask rq = { this };
                return TASK_CALL(s, Destroy_USCORETask, opid, &rq, task, err);
        }
        default:
                op_error_set(err, "InvalidArgument", "Operation %d has no task method", (int) kind);
                return -EINVAL;
        }
}

/* ---- Reading the outcome ------------------------------------------------- */

struct outcome_read {
        const char *task;
        const char *vm;
        struct vs_task *t;
        bool task_seen;
        struct vs_props props;
};

static int outcome_cb(const struct vim25__ObjectContent *oc, void *userdata) {
        struct outcome_read *o = userdata;

        if (vs_mor_is(&oc->obj, "Task") && strcmp(oc->obj.__item, o->task) == 0) {
                const struct vim25__TaskInfo *info = vs_task_info(oc);

                if (info) {
                        o->task_seen = true;
                        return vs_task_from_info(o->t, info);
                }
        } else if (o->vm && vs_mor_is(&oc->obj, "VirtualMachine") && strcmp(oc->obj.__item, o->vm) == 0 &&
                   oc->__sizepropSet > 0)
                vs_props_add(&o->props, oc);
        return 0;
}

/*
 * One RetrievePropertiesEx: the task's info and, when vm is given, the VM's
 * properties for kind.  Once the task is done, *after is filled from them
 * (gone when vCenter no longer knows the VM) and *host_id is the VM's host.
 * -ENOENT when vCenter does not know the task.
 */
static int read_outcome(struct backend_session *s, enum op_kind kind, const char *opid, const char *task,
                        const char *vm, struct vs_task *t, struct op_value *after, char **host_id,
                        struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        static const char *const task_paths[] = { "info" };
        static enum xsd__boolean yes = xsd__boolean__true_;
        struct outcome_read o = { .task = task, .vm = vm, .t = t };
        struct vim25__PropertyFilterSpec specs[2];
        int r;

        if (vs_object_filter_spec(s->soap, &specs[0], "Task", task, task_paths, 1) < 0 ||
            (vm && vs_details_spec(s->soap, kind, vm, &specs[1]) < 0))
                return vs_oom(err);
        specs[0].reportMissingObjectsInResults = &yes;
        r = vs_retrieve(s, opid, specs, vm ? 2 : 1, outcome_cb, &o, err);
        if (r < 0)
                return r;
        if (!o.task_seen) {
                op_error_set(err, OP_FAULT_NOT_FOUND, "Task %s is not known on endpoint \"%s\"", task, s->ep->name);
                return -ENOENT;
        }
        if (!vm || !vs_task_done(t))
                return 0;

        vs_names_note_vm(s, vm, &o.props);
        if (vs_fill_value(s, kind, &o.props, after) < 0)
                return vs_oom(err);
        free(*host_id);
        *host_id = NULL;
        return vs_dup_into(host_id, vs_vm_host_id(&o.props)) < 0 ? vs_oom(err) : 0;
}

/* Keep t->host right when the read-back shows another host (after a migrate, or HA). */
static int update_host(struct backend_session *s, const char *opid, struct vm_target *t, const char *host_id,
                       struct op_error *err) {
        _cleanup_free_ char *name = NULL;
        const char *known;

        if (!host_id)
                return 0;
        known = vs_names_find(s->hosts, s->n_hosts, host_id);
        if (!known) {
                int r = vs_read_name(s, opid, "HostSystem", host_id, &name, err);
                if (r < 0)
                        return r;
                known = name;
        }
        if (!t->host || strcmp(t->host, known) != 0) {
                char *h = strdup(known);

                if (!h)
                        return vs_oom(err);
                free(t->host);
                t->host = h;
        }
        return 0;
}

/*
 * The task exists, so a failure to follow it leaves the outcome unknown:
 * a lost session must not make the pool send it again (-EKEYEXPIRED), and
 * a task vCenter forgot must not read as "no such VM" (-ENOENT, an NG row).
 */
static int after_task(int r, const char *task, struct op_error *err) {
        if (r == -EKEYEXPIRED) {
                op_error_set(err, "NotAuthenticated", "Session lost while following task %s; its outcome is unknown",
                             task);
                return -ENOTCONN;
        }
        if (r == -ENOENT) {
                op_error_set(err, "TaskNotFound", "vCenter no longer knows task %s; its outcome is unknown", task);
                return -EIO;
        }
        return r;
}

/*
 * What a finished task leaves to read: a successful clone's after value is
 * the new VM (t stays the source); otherwise t->host follows the VM's host
 * (vm is NULL for a clone) as read_outcome() saw it.
 */
static int read_back(struct backend_session *s, enum op_kind kind, const char *opid, const struct vs_task *ts,
                     const char *vm, const char *host_id, struct vm_target *t, struct op_value *after,
                     struct op_error *err) {
        if (kind == OP_CLONE && ts->result && strcmp(ts->state, "success") == 0)
                return vs_read_value(s, kind, opid, ts->result, after, err);
        if (vm && kind != OP_DESTROY)
                return update_host(s, opid, t, host_id, err);
        return 0;
}

/*
 * Wait for the task and read the VM's value after it.  The outcome read
 * comes first: when the task is already done (vcsim; quick tasks) the
 * same answer carries the after value.
 */
static int follow_task(struct backend_session *s, enum op_kind kind, const char *opid,
                       const struct op_hooks *hooks, const char *task, struct vm_target *t,
                       struct op_value *after, struct op_error *err) {
        _cleanup_(vs_task_clear) struct vs_task ts = { .progress = -1 };
        _cleanup_free_ char *host_id = NULL;
        const char *vm = kind == OP_CLONE ? NULL : t->id;
        int r;

        r = read_outcome(s, kind, opid, task, vm, &ts, after, &host_id, err);
        if (r < 0)
                return after_task(r, task, err);
        if (!vs_task_done(&ts)) {
                r = vs_task_wait(s, opid, task, hooks, &ts, err);
                if (r < 0)
                        return after_task(r, task, err);
                r = read_outcome(s, kind, opid, task, vm, &ts, after, &host_id, err);
                if (r < 0)
                        return after_task(r, task, err);
        }
        r = read_back(s, kind, opid, &ts, vm, host_id, t, after, err);
        if (r < 0)
                return after_task(r, task, err);
        return vs_task_result(&ts, err);
}

/* ---- Lost answers -------------------------------------------------------- */

static int server_time(struct backend_session *s, const char *opid, long long *now, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        struct _vim25__CurrentTime rq = { vs_mor(s->soap, "ServiceInstance", "ServiceInstance") };
        struct _vim25__CurrentTimeResponse rs = {};
        int r;

        if (!rq._USCOREthis)
                return vs_oom(err);
        r = VS_CALL(s, CurrentTime, opid, &rq, &rs, err);
        if (r >= 0)
                *now = (long long) rs.returnval;
        return r;
}

struct lost_search {
        const char *stem;
        const char *vm;
        const char *snapshot;
        long long since;
        char *found;
        int count;
};

/*
 * Whether a recent task may be the one whose answer was lost: on our VM (or,
 * for a snapshot's own task, on the snapshot), of the kind's method, and
 * queued since just before we sent.
 */
static bool lost_task_fits(const struct lost_search *l, const struct vim25__TaskInfo *info) {
        const char *e = info->entity->__item;
        const char *what = strrchr(info->descriptionId, '.');

        what = what ? what + 1 : info->descriptionId;
        if (!e || (strcmp(e, l->vm) != 0 && (!l->snapshot || strcmp(e, l->snapshot) != 0)))
                return false;
        return strncmp(what, l->stem, strlen(l->stem)) == 0 && (long long) info->queueTime >= l->since;
}

static int lost_cb(const struct vim25__ObjectContent *oc, void *userdata) {
        struct lost_search *l = userdata;
        const struct vim25__TaskInfo *info = vs_task_info(oc);

        if (!info || !info->entity || !info->descriptionId)
                return 0;
        log_debug("Recent task %s: %s on %s queued at %lld", oc->obj.__item, info->descriptionId,
                  strempty(info->entity->__item), (long long) info->queueTime);
        if (!lost_task_fits(l, info))
                return 0;
        if (l->found && strcmp(l->found, oc->obj.__item) == 0)
                return 0; /* listed twice */
        l->count++;
        free(l->found);
        l->found = strdup(oc->obj.__item);
        return l->found ? 0 : -ENOMEM;
}

/* TaskManager.recentTask, traversed to each Task's info. */
static int recent_tasks(struct backend_session *s, const char *opid, struct lost_search *l, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        static const char *const paths[] = { "info" };
        static enum xsd__boolean yes = xsd__boolean__true_, no = xsd__boolean__false_;
        struct vim25__TraversalSpec ts = { .type = "TaskManager", .path = "recentTask", .skip = &no };
        struct __vim25__SelectionSpecItem sel = { SOAP_TYPE_vim25__TraversalSpec, &ts };
        struct vim25__ObjectSpec os = {
                .obj = { .__item = s->task_manager.value, .type = s->task_manager.type },
                .skip = &yes, .__sizeselectSet = 1, .__selectSet = &sel,
        };
        struct vim25__PropertySpec ps;
        struct vim25__PropertyFilterSpec spec = { 1, &ps, 1, &os, NULL };

        if (vs_prop_spec(s->soap, &ps, "Task", paths, 1) < 0)
                return vs_oom(err);
        return vs_retrieve(s, opid, &spec, 1, lost_cb, l, err);
}

/*
 * The call failed after it may have reached vCenter.  Find the task it
 * created, if any, without sending the method again.  0 with *task set when
 * exactly one task fits; otherwise the original error r, with a message
 * saying why the outcome is unknown.
 */
static int vs_find_lost_task(struct backend_session *s, enum op_kind kind, const char *opid, const char *vm,
                             long sent_mono, int r, char **task, struct op_error *err) {
        struct lost_search l = { .stem = task_kinds[kind].stem, .vm = vm, .snapshot = s->prep.snapshot };
        struct op_error e = {};
        char first[sizeof err->message];
        long long now = 0;

        snprintf(first, sizeof first, "%s", err->message);
        if (!s->task_manager.value || server_time(s, opid, &now, &e) < 0) {
                op_error_set(err, err->fault, "%s; cannot tell whether %s reached vCenter (%s); outcome unknown, "
                             "not sent again", first, task_kinds[kind].method, e.message[0] ? e.message : "no TaskManager");
                return r;
        }
        l.since = now - (vs_monotonic_sec() - sent_mono) - VS_LOST_TASK_SLACK_SEC;
        if (recent_tasks(s, opid, &l, &e) < 0 || l.count != 1) {
                op_error_set(err, err->fault, "%s; %d tasks of VM %s on vCenter may be this %s; outcome unknown, "
                             "not sent again", first, l.count, vm, task_kinds[kind].method);
                free(l.found);
                return r;
        }
        log_info("%s on %s: the answer was lost, but vCenter shows task %s; following it", task_kinds[kind].method, vm,
                 l.found);
        *task = l.found;
        *err = (struct op_error) {};
        return 0;
}

/* ---- Guest shutdown (no task) -------------------------------------------- */

static int power_change(const struct vim25__PropertyChange *pc, void *userdata) {
        char **state = userdata;
        const char *v = pc->name && strcmp(pc->name, "runtime.powerState") == 0
                ? vs_val_string(pc->__typeval, pc->val) : NULL;

        if (!v)
                return 0;
        free(*state);
        *state = strdup(v);
        return *state ? 0 : -ENOMEM;
}

/* Wait until the VM is poweredOff, or the operator gives up, or our timeout. */
static int wait_powered_off(struct backend_session *s, const char *opid, const struct op_hooks *hooks,
                            const char *vm, struct op_error *err) {
        static const char *const paths[] = { "runtime.powerState" };
        _cleanup_free_ char *filter = NULL, *version = NULL, *state = NULL;
        /* With a cancel hook the caller bounds the wait (vsphere.c: task_wait_loop). */
        long deadline = hooks && hooks->cancel_requested ? LONG_MAX : vs_monotonic_sec() + VS_TASK_TIMEOUT_SEC;
        int r;

        r = vs_filter_create(s, opid, "VirtualMachine", vm, paths, 1, &filter, err);
        if (r < 0)
                return r;
        while (!state || strcmp(state, "poweredOff") != 0) {
                if (hooks && hooks->cancel_requested && hooks->cancel_requested(hooks->userdata)) {
                        /* Not -ECANCELED: nothing was cancelled, the shutdown may still happen (UNKNOWN). */
                        op_error_set(err, "Canceled", "Stopped waiting for the guest of %s to shut down; it may "
                                     "still do so", vm);
                        r = -EINTR;
                        break;
                }
                if (vs_monotonic_sec() >= deadline) {
                        op_error_set(err, "GuestShutdownTimeout", "The guest of %s is still %s after %u s", vm,
                                     strempty(state), VS_TASK_TIMEOUT_SEC);
                        r = -ETIMEDOUT;
                        break;
                }
                r = vs_wait_once(s, opid, filter, &version, power_change, &state, err);
                if (r < 0)
                        break;
                if (hooks && hooks->progress && state && strcmp(state, "poweredOff") != 0)
                        hooks->progress(hooks->userdata, -1, "running");
        }
        vs_filter_destroy(s, opid, filter);
        return r;
}

static int shutdown_guest(struct backend_session *s, const char *opid, const char *vm, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        struct _vim25__ShutdownGuest rq = { vs_mor(s->soap, "VirtualMachine", vm) };
        struct _vim25__ShutdownGuestResponse rs;

        if (!rq._USCOREthis)
                return vs_oom(err);
        return VS_CALL(s, ShutdownGuest, opid, &rq, &rs, err);
}

static int perform_stop_guest(struct backend_session *s, const char *opid, const struct op_hooks *hooks,
                              struct vm_target *t, struct op_value *after, struct op_error *err) {
        struct op_error read_err = {};
        int r;

        /* Not a task: a lost answer cannot be looked up, and ShutdownGuest is harmless to lose. */
        r = shutdown_guest(s, opid, t->id, err);
        if (r < 0)
                return r;
        r = vs_read_value(s, OP_STOP_GUEST, opid, t->id, after, err);
        if (r < 0)
                return after_task(r, "ShutdownGuest", err);
        if (after->power == VM_POWER_OFF)
                return 0;

        r = wait_powered_off(s, opid, hooks, t->id, err);
        /* Read back whatever the outcome, so the trail shows the state. */
        if (vs_read_value(s, OP_STOP_GUEST, opid, t->id, after, r < 0 ? &read_err : err) < 0 && r >= 0)
                r = -EIO;
        return after_task(r, "ShutdownGuest", err);
}

/* ---- Entry points -------------------------------------------------------- */

static bool kind_needs_prep(enum op_kind kind) {
        return kind == OP_DISK_GROW || kind == OP_DISK_ADD || kind == OP_CLONE || kind == OP_MIGRATE ||
               kind == OP_SNAPSHOT_REVERT || kind == OP_SNAPSHOT_REMOVE;
}

/* perform() without a matching read_target just before (another VM read in between): read it again. */
static int ensure_prepared(struct backend_session *s, enum op_kind kind, const struct op_args *args,
                           const char *opid, const struct vm_target *t, struct op_error *err) {
        _cleanup_(op_value_clear) struct op_value before = {};
        struct vm_target again = {};
        int r;

        if (!kind_needs_prep(kind) || (s->prep.vm && strcmp(s->prep.vm, t->id) == 0))
                return 0;
        r = vs_read_target(s, kind, args, opid, &again, &before, err);
        if (r >= 0 && (!again.id || strcmp(again.id, t->id) != 0)) {
                op_error_set(err, OP_FAULT_NOT_FOUND, "VM \"%s\" is no longer %s on endpoint \"%s\"", args->vm,
                             t->id, s->ep->name);
                r = -ENOENT;
        }
        vm_target_clear(&again);
        return r;
}

/* What perform() refuses before anything is sent. */
static int perform_check(enum op_kind kind, const struct op_args *args, const struct vm_target *t,
                         struct op_error *err) {
        if (!t->id) {
                op_error_set(err, "InvalidArgument", "No target VM");
                return -EINVAL;
        }
        if ((unsigned) kind >= _OP_MAX || !task_kinds[kind].method) {
                op_error_set(err, "InvalidArgument", "Operation %d is not supported by the vsphere backend",
                             (int) kind);
                return -EINVAL;
        }
        if (kind == OP_RENAME && (!args->new_name || !*args->new_name)) {
                op_error_set(err, "InvalidArgument", "No new name given");
                return -EINVAL;
        }
        return 0;
}

/*
 * Whether a failed task call may have run on vCenter all the same.  Not
 * after a fault or NotAuthenticated (-EREMOTEIO, -EKEYEXPIRED: vCenter
 * answered), -EPROTO (TLS refused, an HTTP error, an answer without a
 * task) or a request we could not build (-ENOMEM, -EINVAL).  Any other
 * error (connection reset, timeout) may have lost the answer of a call
 * that ran.
 */
static bool answer_may_be_lost(int r) {
        return r < 0 && r != -EREMOTEIO && r != -EKEYEXPIRED && r != -ENOMEM && r != -EINVAL && r != -EPROTO;
}

/* Send kind's task method once; a lost answer is looked for among the recent tasks, never resent. */
static int send_or_find_task(struct backend_session *s, enum op_kind kind, const struct op_args *args,
                             const char *opid, const char *vm, char **task, struct op_error *err) {
        long sent = vs_monotonic_sec();
        int r = send_task(s, kind, args, opid, vm, task, err);

        if (answer_may_be_lost(r))
                r = vs_find_lost_task(s, kind, opid, vm, sent, r, task, err);
        return r;
}

int vs_perform(struct backend_session *s, enum op_kind kind, const struct op_args *args, const char *opid,
               const struct op_hooks *hooks, struct vm_target *t, struct op_value *after, char **task,
               struct op_error *err) {
        int r;

        r = perform_check(kind, args, t, err);
        if (r < 0)
                return r;
        r = ensure_prepared(s, kind, args, opid, t, err);
        if (r < 0)
                return r;
        if (kind == OP_STOP_GUEST)
                return perform_stop_guest(s, opid, hooks, t, after, err);

        r = send_or_find_task(s, kind, args, opid, t->id, task, err);
        if (r < 0)
                return r;
        if (hooks && hooks->task_created)
                hooks->task_created(hooks->userdata, *task);

        r = follow_task(s, kind, opid, hooks, *task, t, after, err);
        /* The snapshot named is gone or changed now; never reuse the prepared request. */
        vs_prepared_clear(&s->prep);
        return r;
}

int vs_task_outcome(struct backend_session *s, enum op_kind kind, const struct op_args *args _unused_,
                    const char *task_id, const char *opid, struct vm_target *t, struct op_value *after,
                    struct op_error *err) {
        _cleanup_(vs_task_clear) struct vs_task ts = { .progress = -1 };
        _cleanup_free_ char *host_id = NULL;
        const char *vm = kind == OP_CLONE ? NULL : t->id;
        int r;

        if (!task_id || !*task_id) {
                op_error_set(err, "InvalidArgument", "No task id");
                return -EINVAL;
        }
        if (!s->view.value)
                return vs_not_logged_in(s, err);
        /* A daemon that just started knows no host names yet: the after value names hosts. */
        if (s->n_hosts == 0) {
                r = vs_refresh_names(s, opid, err);
                if (r < 0)
                        return r;
        }
        r = read_outcome(s, kind, opid, task_id, vm, &ts, after, &host_id, err);
        if (r < 0)
                return r;
        if (!vs_task_done(&ts)) {
                op_error_set(err, "TaskInProgress", "Task %s is still %s", task_id, strempty(ts.state));
                return -EINPROGRESS;
        }
        r = read_back(s, kind, opid, &ts, vm, host_id, t, after, err);
        if (r < 0)
                return r;
        return vs_task_result(&ts, err);
}
