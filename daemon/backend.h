/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The backend interface.  Every platform (daemon/backends/<name>/) fills
 * one struct backend_ops, found by name through the registry
 * (backend_find()); nothing above this header knows which platform it
 * talks to.  The trail logic of every operation (operation.c) is written
 * once, above it: it reads the target and its "before" value, writes the
 * durable PENDING row, asks the backend to perform the change and read the
 * "after" value back from the platform, then completes the row.
 *
 * Values are typed here and formatted above (value.c): a backend hands over
 * numbers, power states and lists in struct op_value, never trail text, so
 * two backends can never disagree on a string by accident.
 *
 * A backend session is used by one worker thread at a time (the session
 * pool guarantees it), so backends need no locking of their own.
 *
 * Return values: 0 on success, a negative errno on failure, with *err filled:
 *   -EREMOTEIO    the platform answered with a fault (err->fault is its name,
 *                 e.g. "InvalidPowerState", err->message its text)
 *   -ECANCELED    the platform cancelled the change when asked to (the
 *                 operator's cancel or the task timeout); err->fault is the
 *                 platform's own name for that
 *   -EINTR        asked to cancel, the backend stopped waiting for a change
 *                 it cannot cancel (a guest shutdown): it may still happen
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
#include <stddef.h>
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
#define OP_FAULT_INVALID    "InvalidArgument"
#define OP_FAULT_TLS        "TLSError"
#define OP_FAULT_CONNECTION "ConnectionError"
#define OP_FAULT_NOT_APPLIED "NotApplied"     /* accepted by the platform, but the read-back does not show it */

void op_error_set(struct op_error *e, const char *fault, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* What an operation acts on.  All strings are malloc'd and owned. */
struct vm_target {
        char *name;      /* as read back from the platform */
        char *id;        /* the platform's VM id (vSphere moref value, libvirt UUID) */
        char *uuid;
        char *host;      /* hypervisor host name the VM runs on */
};
void vm_target_clear(struct vm_target *t);

/*
 * The operations.  Each has one trail name; what its before and after
 * values hold is described per kind in value.h.
 */
enum op_kind {
        OP_RENAME,           /* RenameVM */
        OP_CPU,              /* ModifyCPU */
        OP_MEMORY,           /* ModifyMemory */
        OP_DISK_GROW,        /* ModifyDisk: one disk's capacity */
        OP_DISK_ADD,         /* ModifyDisk: the disk list */
        OP_START,            /* StartVM */
        OP_STOP,             /* StopVM (hard power off) */
        OP_STOP_GUEST,       /* StopVM (guest shutdown, then wait until it is off) */
        OP_RESET,            /* ResetVM */
        OP_SUSPEND,          /* SuspendVM */
        OP_CLONE,            /* CloneVM: the source, then the new VM */
        OP_MIGRATE,          /* MigrateVM */
        OP_SNAPSHOT_CREATE,  /* SnapshotCreate */
        OP_SNAPSHOT_REVERT,  /* SnapshotRevert */
        OP_SNAPSHOT_REMOVE,  /* SnapshotRemove */
        OP_DESTROY,          /* DestroyVM */
        _OP_MAX,
};

/* "RenameVM" etc., the operation name in the trail. */
const char *op_kind_trail_name(enum op_kind k);
/* The kind of a trail name, or -1 (Login, Logout and names of no operation). */
int op_kind_from_trail_name(const char *name);

/*
 * The platform-neutral power states (vmtraced-trail(5)).  Each backend
 * maps its own words onto these; the trail words are vSphere's historical
 * ones, so rows written before other platforms existed keep their meaning.
 */
enum vm_power {
        VM_POWER_UNKNOWN,    /* "unknown": not read, or a state no word below fits */
        VM_POWER_ON,         /* "poweredOn": running (vSphere poweredOn; libvirt running, blocked) */
        VM_POWER_OFF,        /* "poweredOff": not running, nothing saved (libvirt shutoff, shutdown) */
        VM_POWER_SUSPENDED,  /* "suspended": memory saved to disk, not running (libvirt managed save) */
        VM_POWER_PAUSED,     /* "paused": held in memory, not running (libvirt paused, pmsuspended) */
        VM_POWER_CRASHED,    /* "crashed": the hypervisor saw the guest crash (libvirt crashed) */
        _VM_POWER_MAX,
};
const char *vm_power_name(enum vm_power p);

/* One disk: its label as the platform shows it ("Hard disk 1", "vda") and its capacity. */
struct op_disk {
        char *label;
        int64_t mib;
};

struct op_snapshot {
        char *name;
        struct op_snapshot *children;
        size_t n_children;
};

/*
 * A value before or after an operation, as read from the platform.  The
 * backend fills what its kind needs (value.h says which members) and sets
 * "known"; everything is malloc'd and owned, released by op_value_clear().
 * Numbers are 0 when not read.  A *_config member is the persistent
 * (next boot) setting where the platform keeps one apart from the live
 * one: 0 when it has none or it is the same.
 */
struct op_value {
        bool known;                /* something was read; a value left unknown is stored as NULL */
        bool gone;                 /* the VM no longer exists (after a destroy) */
        char *name;
        char *id;
        char *host;
        enum vm_power power;
        int64_t cpus, cpus_config;
        int64_t memory_mib, memory_mib_config;
        int64_t cpus_max, memory_mib_max;   /* the platform's ceiling where it keeps one apart (libvirt); 0: none */
        struct op_disk *disks;
        size_t n_disks;
        char **datastores;
        size_t n_datastores;
        struct op_snapshot *snapshots;   /* the roots of the snapshot tree */
        size_t n_snapshots;
        char *current_snapshot;          /* NULL: none */
};
void op_value_clear(struct op_value *v);
/* Append to v's lists; -ENOMEM on failure (v stays consistent). */
int op_value_add_disk(struct op_value *v, const char *label, int64_t mib);
int op_value_add_datastore(struct op_value *v, const char *name);
/* A snapshot under parent (NULL: a root); *out is where it went, valid until the next add below the same parent. */
int op_value_add_snapshot(struct op_value *v, struct op_snapshot *parent, const char *name, struct op_snapshot **out);

/* Arguments of one operation, validated by the protocol layer.  Strings are borrowed. */
struct op_args {
        const char *vm;          /* the name the operator gave (endpoint prefix removed) */
        const char *new_name;    /* OP_RENAME, OP_CLONE */
        int64_t number;          /* OP_CPU count, OP_MEMORY MiB, OP_DISK_GROW/ADD size in MiB */
        const char *disk;        /* OP_DISK_GROW: label ("Hard disk 1") or number ("1") */
        const char *host;        /* OP_CLONE, OP_MIGRATE: target host name, or NULL */
        const char *datastore;   /* OP_CLONE, OP_MIGRATE: target datastore name, or NULL */
        bool power_on;           /* OP_CLONE */
        bool confirmed;          /* OP_MEMORY: --yes, for a size above the endpoint's confirm-memory-above */
        const char *snapshot;    /* OP_SNAPSHOT_*: snapshot name */
};

/*
 * Does after, read back from the platform, show what args asked for?  A
 * platform may accept a change and not make it (libvirt: a live memory
 * change without a balloon driver in the guest), so a row's result rests
 * on this, not on the platform's answer; crash recovery asks it too.
 * True where nothing could be read back (the row then says so with a NULL
 * value) and for reset, which ends where it began.
 */
bool op_value_shows(enum op_kind kind, const struct op_args *args, const struct op_value *after);

/*
 * What a platform accepts, checked by the daemon before any call so the
 * operator gets a clear word at once (op_args.c).  Capabilities are data:
 * what a platform cannot do at all, backend_ops.supports() says.
 */
struct backend_limits {
        int64_t cpu_max;            /* ModifyCPU: 1 .. cpu_max */
        int64_t memory_mib_min;     /* ModifyMemory: memory_mib_min .. memory_mib_max, */
        int64_t memory_mib_max;
        int64_t memory_mib_step;    /*   a multiple of memory_mib_step */
        int64_t disk_mib_max;       /* ModifyDisk: the largest virtual disk */
        size_t name_max;            /* the longest VM name, in characters (UTF-8 code points) */
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
        /* True when the operator asked to cancel, or the task timeout passed: the backend cancels the change. */
        bool (*cancel_requested)(void *userdata);
};

struct backend_session;
struct backend_watch;

/*
 * Out-of-band changes: a value the platform shows changed, which vmtraced
 * may not have made (the core decides, watch.c).  A backend's watcher
 * reports each through the sink, from a thread of its own.  Everything is
 * borrowed for the call only.
 */
struct watch_change {
        enum op_kind kind;               /* what changed, as the operation that would change it */
        const char *operation;           /* trail name when no kind fits ("CreateVM"); NULL: the kind's */
        const struct vm_target *target;  /* the VM, as the platform shows it now (or last, when removed) */
        const struct op_value *before;   /* the watched value last seen (unknown for an added VM) */
        const struct op_value *after;    /* the value now seen (gone for a removed VM) */
        int64_t seen_unchanged_ms;       /* when "before" was last seen (UTC, ms) */
        int64_t seen_changed_ms;         /* when "after" was first seen */
        const char *platform_user;       /* who made it, when the platform says (vSphere events); NULL: not known */
        const char *platform_event;      /* the platform's record of it ("VmReconfiguredEvent 4211"), or NULL */
        const char *detail;              /* what the platform says changed, free text, or NULL */
};

struct watch_sink {
        void *userdata;
        /* Write c into the trail, unless a vmtraced operation explains it. */
        void (*changed)(void *userdata, const struct endpoint_config *ep, const struct watch_change *c);
        /* Does a vmtraced operation explain c?  For a watcher to ask before it spends calls on who made it. */
        bool (*explained)(void *userdata, const struct endpoint_config *ep, const struct watch_change *c);
};

struct backend_ops {
        const char *name;                      /* "vsphere": the endpoint's "backend =" */
        const struct backend_limits *limits;
        bool needs_credentials;                /* an endpoint must give user and password */
        bool takes_tls_trust;                  /* ca-file and fingerprint mean something (vSphere's own TLS) */
        bool takes_migrate_keys;               /* migrate-uri and migrate-unsafe mean something (libvirt) */

        /*
         * Can endpoint ep perform kind at all (libvirt's Xen driver lacks some
         * operations)?  The daemon refuses the others with an NG row, fault
         * "NotSupported", before any change.  NULL: every kind.
         */
        bool (*supports)(const struct endpoint_config *ep, enum op_kind kind);
        /* Why not, in a sentence for the row's message (NULL member or answer: a generic one). */
        const char *(*unsupported_why)(const struct endpoint_config *ep, enum op_kind kind);

        /* Once per process, before any thread starts (NULL: nothing to do). */
        void (*global_init)(void);

        /*
         * Is ep's url well-formed for this platform (its scheme, a host, no
         * credentials in it)?  Called by config_load(); 0, or -EINVAL with
         * the problem in why.  NULL: any url goes.
         */
        int (*endpoint_check)(const struct endpoint_config *ep, char *why, size_t whylen);

        /*
         * Allocate a session for endpoint ep and set up its transport (TLS
         * context, CA or fingerprint).  Does not connect.  ep outlives the
         * session.
         */
        int (*session_new)(const struct endpoint_config *ep, struct backend_session **out,
                           struct op_error *err);
        void (*session_free)(struct backend_session *s);
        /* Requests this session has sent to the platform so far (for the reply's debug member and bench/). */
        unsigned (*round_trips)(struct backend_session *s);

        /* Authenticate with the endpoint's service account.  *who gets the platform's user name for the session. */
        int (*login)(struct backend_session *s, char **who, struct op_error *err);
        int (*logout)(struct backend_session *s, struct op_error *err);

        /*
         * Find the VM named args->vm and read, in one round trip where the
         * platform allows, its identity, its host and the current value of what
         * kind changes (*before).  opid is the trail id that every request
         * carries (vSphere operationID header).  A backend that finds the VM
         * and then refuses the request (-EINVAL, -ENOENT for a disk or
         * snapshot it lacks, ...) fills t first, so that the NG row names the VM.
         */
        int (*read_target)(struct backend_session *s, enum op_kind kind, const struct op_args *args,
                           const char *opid, struct vm_target *t, struct op_value *before,
                           struct op_error *err);

        /*
         * Perform the change on t, wait for it to finish, and read the changed
         * value back from the platform into *after (also on failure when the
         * value could be read).  *task gets the platform's task id if one was
         * created (malloc'd, may stay NULL).  t->host may be updated if the
         * read-back shows another host.
         */
        int (*perform)(struct backend_session *s, enum op_kind kind, const struct op_args *args,
                       const char *opid, const struct op_hooks *hooks, struct vm_target *t,
                       struct op_value *after, char **task, struct op_error *err);

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
         * would), -EREMOTEIO (or -ECANCELED) with err filled when it failed,
         * -EINPROGRESS while it still runs, -ENOENT when the platform no
         * longer knows it.  NULL: the platform has no tasks to ask about.
         * A platform without tasks stores its request as the task (through
         * task_created) and answers from the VM read back: 0 when it shows
         * the request, -ENODATA (*after filled) when it does not.
         */
        int (*task_outcome)(struct backend_session *s, enum op_kind kind, const struct op_args *args,
                            const char *task_id, const char *opid, struct vm_target *t,
                            struct op_value *after, struct op_error *err);

        /*
         * Watch ep for changes made behind vmtraced's back, on a connection
         * and a thread of the backend's own, until watch_stop(); each is
         * reported through sink (which outlives the watch).  interval_sec
         * is how often to reconcile where the platform raises no event for
         * a change.  NULL: the platform cannot be watched.
         */
        int (*watch_start)(const struct endpoint_config *ep, unsigned interval_sec, const struct watch_sink *sink,
                           struct backend_watch **out, struct op_error *err);
        void (*watch_stop)(struct backend_watch *w);

        /*
         * When ep's inventory mirror, synchronised, last heard from the
         * platform (ms since the epoch), for status and its metrics; 0 when
         * it has not yet.  NULL: the backend keeps no mirror.
         */
        int64_t (*mirror_heard_ms)(const struct endpoint_config *ep);
};

/*
 * The registry (backends/registry.c): every backend, by name; a backend in
 * a module of its own is loaded by the first backend_find() that names it.
 * backend_register() adds one more (the unit tests' fake backend); it must
 * be called before the configuration is read.
 */
const struct backend_ops *backend_find(const char *name);
/* Why backend name's module could not be loaded (dlerror()), or NULL. */
const char *backend_load_error(const char *name);
int backend_register(const struct backend_ops *ops);
/* The names, space-separated, for messages ("vsphere libvirt"). */
const char *backend_names(void);
/* global_init() of every backend, once; before any thread starts. */
void backend_global_init(void);

#endif
