/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The backend interface.  vSphere (vsphere.c) implements it now; libvirt
 * (KVM/Xen) will implement the same table.  The trail logic for every
 * operation (operation.c) is written once, above this interface: it reads
 * the target and its "before" value, writes the durable PENDING row, asks the
 * backend to perform the change and read the "after" value back from the
 * platform, then completes the row.
 *
 * A backend session is used by one worker thread at a time (the session
 * pool guarantees it), so backends need no locking of their own.
 *
 * Return values: 0 on success, a negative errno on failure, with *err filled:
 *   -EREMOTEIO    the platform answered with a fault (err->fault is its name,
 *                 e.g. "InvalidPowerState", err->message its text)
 *   -EKEYEXPIRED  the session is not authenticated (vSphere NotAuthenticated);
 *                 the call was rejected before doing anything, so the pool
 *                 logs in again (a trail row) and repeats it once
 *   -ENOENT       no VM by that name (err->fault "NotFound")
 *   -ENOTUNIQ     several VMs by that name; err->message lists the candidates
 *   -EINVAL       bad argument (err->fault "InvalidArgument")
 *   -ECONNREFUSED, -ETIMEDOUT, -ECONNRESET, -EPROTO (TLS or HTTP failure),
 *   -EPERM (certificate not trusted: wrong CA or fingerprint) ...
 *                 transport failures; err->fault is "ConnectionError" or
 *                 "TLSError" and err->message says what happened
 */
#ifndef VMT_BACKEND_H
#define VMT_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

struct json_object;
struct endpoint_config;

struct op_error {
        char fault[128];
        char message[1024];
};

/*
 * Fault names the daemon itself uses, besides the platform's own.  They
 * stand in the trail's "fault" column like a platform fault would.
 */
#define OP_FAULT_TRAIL      "TrailUnavailable"  /* the durable PENDING row could not be written */
#define OP_FAULT_NOT_FOUND  "NotFound"
#define OP_FAULT_AMBIGUOUS  "AmbiguousName"
#define OP_FAULT_TLS        "TLSError"
#define OP_FAULT_CONNECTION "ConnectionError"

void op_error_set(struct op_error *e, const char *fault, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* What an operation acts on.  All strings are malloc'd and owned. */
struct vm_target {
        char *name;      /* as read back from the platform */
        char *id;        /* managed object id (vSphere moref value, libvirt domain id) */
        char *uuid;
        char *host;      /* hypervisor host name the VM runs on */
};
void vm_target_clear(struct vm_target *t);

/*
 * The operations.  Each has one trail name; values before and after are
 * text as described per kind (a "power state" is vSphere's word:
 * poweredOn, poweredOff, suspended).
 */
enum op_kind {
        OP_RENAME,           /* RenameVM: name */
        OP_CPU,              /* ModifyCPU: CPU count */
        OP_MEMORY,           /* ModifyMemory: memory MiB */
        OP_DISK_GROW,        /* ModifyDisk: that disk's capacity (MiB) */
        OP_DISK_ADD,         /* ModifyDisk: the disk list */
        OP_START,            /* StartVM: power state */
        OP_STOP,             /* StopVM (hard power off): power state */
        OP_STOP_GUEST,       /* StopVM (guest shutdown, then wait for poweredOff): power state */
        OP_RESET,            /* ResetVM: power state */
        OP_SUSPEND,          /* SuspendVM: power state */
        OP_CLONE,            /* CloneVM: the source, then the new VM (name, id, host) */
        OP_MIGRATE,          /* MigrateVM: host and datastore */
        OP_SNAPSHOT_CREATE,  /* SnapshotCreate: snapshot tree / current snapshot */
        OP_SNAPSHOT_REVERT,  /* SnapshotRevert */
        OP_SNAPSHOT_REMOVE,  /* SnapshotRemove */
        OP_DESTROY,          /* DestroyVM: the VM's last state */
        _OP_MAX,
};

/* "RenameVM" etc., the operation name in the trail. */
const char *op_kind_trail_name(enum op_kind k);

/* Arguments of one operation, validated by the protocol layer.  Strings are borrowed. */
struct op_args {
        const char *vm;          /* the name the operator gave (endpoint prefix removed) */
        const char *new_name;    /* OP_RENAME, OP_CLONE */
        int64_t number;          /* OP_CPU count, OP_MEMORY MiB, OP_DISK_GROW/ADD size in MiB */
        const char *disk;        /* OP_DISK_GROW: label ("Hard disk 1") or number ("1") */
        const char *host;        /* OP_CLONE, OP_MIGRATE: target host name, or NULL */
        const char *datastore;   /* OP_CLONE, OP_MIGRATE: target datastore name, or NULL */
        bool power_on;           /* OP_CLONE */
        const char *snapshot;    /* OP_SNAPSHOT_*: snapshot name */
};

/*
 * What the layer above gives perform(), all optional (NULL members are
 * skipped).  Called on the worker thread.
 */
struct op_hooks {
        void *userdata;
        /* The platform created task task_id (store it on the row at once, for crash recovery). */
        void (*task_created)(void *userdata, const char *task_id);
        /* Progress of a long task: percent 0..100 or -1 if unknown; state "queued", "running". */
        void (*progress)(void *userdata, int percent, const char *state);
        /* Non-zero when the operator asked to cancel: the backend cancels the task (CancelTask). */
        bool (*cancel_requested)(void *userdata);
};

struct backend_session;

struct backend_ops {
        const char *name;  /* "vsphere" */

        /*
         * Allocate a session for endpoint ep and set up its transport (TLS
         * context, CA or fingerprint).  Does not connect.  ep outlives the
         * session.
         */
        int (*session_new)(const struct endpoint_config *ep, struct backend_session **out,
                           struct op_error *err);
        void (*session_free)(struct backend_session *s);

        /* Authenticate with the endpoint's service account.  *who gets the platform's user name for the session. */
        int (*login)(struct backend_session *s, char **who, struct op_error *err);
        int (*logout)(struct backend_session *s, struct op_error *err);

        /*
         * Find the VM named args->vm and read, in one round trip where the
         * platform allows, its identity, its host and the current value of what
         * kind changes (*before, malloc'd, textual).  opid is the trail id that
         * every request carries (vSphere operationID header).
         */
        int (*read_target)(struct backend_session *s, enum op_kind kind, const struct op_args *args,
                           const char *opid, struct vm_target *t, char **before,
                           struct op_error *err);

        /*
         * Perform the change on t, wait for it to finish, and read the changed
         * value back from the platform into *after (malloc'd; also set on
         * failure when the value could be read).  *task gets the platform's
         * task id if one was created (malloc'd, may stay NULL).  t->host may be
         * updated if the read-back shows another host.
         */
        int (*perform)(struct backend_session *s, enum op_kind kind, const struct op_args *args,
                       const char *opid, const struct op_hooks *hooks, struct vm_target *t,
                       char **after, char **task, struct op_error *err);

        /*
         * Post a user event about t to the platform's own event history
         * (vSphere EventManager.PostEvent), naming the OS operator and the
         * trail id, so the platform's history also shows the human.  NULL if
         * the platform has no such thing.
         */
        int (*post_event)(struct backend_session *s, const struct vm_target *t, const char *text,
                          const char *opid, struct op_error *err);

        /* Read-only: all VMs as a JSON array of {name, id, uuid, host, powerState, ...}. */
        int (*list_vms)(struct backend_session *s, const char *opid, struct json_object **out,
                        struct op_error *err);
        /* Read-only: one VM's details as a JSON object. */
        int (*show_vm)(struct backend_session *s, const struct op_args *args, const char *opid,
                       struct json_object **out, struct op_error *err);

        /*
         * Crash recovery: the outcome of task task_id that an earlier run
         * started.  0 when it succeeded (and *after read back as perform()
         * would), -EREMOTEIO with err filled when it failed, -EINPROGRESS while
         * it still runs, -ENOENT when the platform no longer knows it.
         */
        int (*task_outcome)(struct backend_session *s, enum op_kind kind, const struct op_args *args,
                            const char *task_id, const char *opid, struct vm_target *t, char **after,
                            struct op_error *err);
};

extern const struct backend_ops vsphere_backend;

#endif
