/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the vSphere backend's files share, and nobody else uses:
 *
 *   vsphere.c         session, login, the PropertyCollector and Task plumbing
 *   vsphere_target.c  finding the VM and reading the values an operation changes
 *   vsphere_values.c  those values as struct op_value (what each kind holds), and request data
 *   vsphere_ops.c     perform() for every kind, and crash recovery
 *   vsphere_info.c    list, show and the user event posted after a change
 *   vsphere_mirror.c  the endpoint's inventory mirror, kept current by a thread of its own
 *
 * Memory: everything gSOAP decodes lives in the context's arena.  A
 * function that talks to vCenter declares a _cleanup_arena_ guard, copies
 * what it keeps to malloc'd memory, and the guard ends the arena on return,
 * so no arena pointer outlives the function that made the call.
 */
#ifndef VMT_VSPHERE_INTERNAL_H
#define VMT_VSPHERE_INTERNAL_H

#include <stdbool.h>

#include "vimH.h"

#include "backend.h"
#include "macros.h"
#include "vsphere_transport.h"

#define VS_LOGIN_OPID "vmtraced-login"
/*
 * How long perform() waits for a task (or a guest shutdown) when the caller
 * gives no cancel hook.  With one, the caller bounds the wait (the daemon's
 * task-timeout): it asks to cancel, and the task then has 60 s to settle.
 */
#define VS_TASK_TIMEOUT_SEC 600

struct vs_ref {
        char *type;
        char *value;
};

/* A name -> moref value pair of the last inventory scan. */
struct vs_name {
        char *id;
        char *name;
};

/*
 * What read_target found out for perform() beyond struct vm_target: the
 * morefs a request needs.  Valid for VM vm only; perform() reads them again
 * when they belong to another VM.
 */
struct vs_prepared {
        char *vm;
        char *folder;        /* OP_CLONE: the source's folder */
        char *pool;          /* OP_CLONE, OP_MIGRATE: resource pool of the target host, when it changes */
        char *host;          /* OP_CLONE, OP_MIGRATE: target HostSystem */
        char *datastore;     /* OP_CLONE, OP_MIGRATE: target Datastore */
        char *snapshot;      /* OP_SNAPSHOT_REVERT/REMOVE: the snapshot named */
        /*
         * OP_DISK_GROW: the disk to edit, as vCenter returned it (vs_disk_save):
         * perform sends it back with only the capacity changed.
         */
        int disk_key;
        char *disk_xml;
        /* OP_DISK_ADD: where the new disk goes. */
        int add_controller;
        int add_unit;
};

struct vs_mirror;

struct backend_session {
        const struct endpoint_config *ep;  /* fixed */
        struct vs_mirror *mirror;          /* fixed; shared with the endpoint's other sessions; NULL: the mirror's own */
        struct soap *soap;                 /* fixed; its arena is empty between calls */

        /* Set by login, valid until the next login. */
        char *action;                      /* SOAPAction "urn:vim25/<apiVersion>" */
        struct vs_ref property_collector;
        struct vs_ref session_manager;
        struct vs_ref view_manager;
        struct vs_ref root_folder;
        struct vs_ref event_manager;
        struct vs_ref task_manager;
        struct vs_ref view;                /* ContainerView of VMs, hosts, datastores; dies with the vSphere session */

        /*
         * The last inventory scan: VM names (the name->moref cache read_target
         * guesses the target from), host and datastore names.  Only a guess:
         * each use is checked against the same round trip's answer.
         */
        struct vs_name *vms;
        size_t n_vms;
        struct vs_name *hosts;
        size_t n_hosts;
        struct vs_name *datastores;
        size_t n_datastores;
        unsigned long names_gen;           /* the mirror's names generation they were copied from; 0: a scan's */

        struct vs_prepared prep;
};

void vs_arena_endp(struct soap **soap);
#define _cleanup_arena_ _unused_ _cleanup_(vs_arena_endp)

/* A context only for copying decoded data (vs_copy_freep frees it), and a disk kept across arenas. */
struct soap *vs_copy_new(void);
void vs_copy_freep(struct soap **soap);
int vs_disk_save(const struct vim25__VirtualDisk *d, char **xml);
int vs_disk_load(struct soap *c, const char *xml, struct vim25__VirtualDisk *d);

/* Whether vCenter's API (about.apiVersion, as login read it) is at least major.minor. */
bool vs_api_at_least(const struct backend_session *s, int major, int minor);

/* One SOAP call with the session's URL and SOAPAction; returns 0 or a negative errno with *err set. */
#define VS_CALL(s, method, opid, req, resp, err)                                                  \
        ({                                                                                        \
                vsphere_transport_begin((s)->soap, (opid));                                       \
                soap_call___vim25__##method((s)->soap, (s)->ep->url, (s)->action, (req), (resp)); \
                vsphere_transport_check((s)->soap, #method, (err));                               \
        })

int vs_oom(struct op_error *err);
void vs_ref_clear(struct vs_ref *r);
int vs_ref_set(struct vs_ref *r, const struct vim25__ManagedObjectReference *m);
struct vim25__ManagedObjectReference *vs_mor(struct soap *soap, const char *type, const char *value);
bool vs_mor_is(const struct vim25__ManagedObjectReference *m, const char *type);

const char *vs_val_string(int type, const void *val);
const struct vim25__ManagedObjectReference *vs_val_mor(int type, const void *val);
bool vs_val_int(int type, const void *val, long long *out);

/* The properties of one object; vCenter may split them over several ObjectContents. */
struct vs_props {
        const struct vim25__ObjectContent *oc[4];
        int n;
};
const struct vim25__DynamicProperty *vs_prop(const struct vs_props *p, const char *name);
const char *vs_prop_string(const struct vs_props *p, const char *name);
const struct vim25__ManagedObjectReference *vs_prop_mor(const struct vs_props *p, const char *name);
bool vs_prop_int(const struct vs_props *p, const char *name, long long *out);
void vs_props_add(struct vs_props *p, const struct vim25__ObjectContent *oc);

int vs_prop_spec(struct soap *soap, struct vim25__PropertySpec *ps, const char *type, const char *const *paths,
                 int n_paths);
int vs_object_filter_spec(struct soap *soap, struct vim25__PropertyFilterSpec *spec, const char *type,
                          const char *value, const char *const *paths, int n_paths);
/* RetrievePropertiesEx over n specs, cb for every object (arena memory, valid until the caller's guard). */
int vs_retrieve(struct backend_session *s, const char *opid, struct vim25__PropertyFilterSpec *specs, int n,
                int (*cb)(const struct vim25__ObjectContent *oc, void *userdata), void *userdata,
                struct op_error *err);
int vs_read_name(struct backend_session *s, const char *opid, const char *type, const char *value, char **name,
                 struct op_error *err);

const char *vs_names_find(const struct vs_name *v, size_t n, const char *id);
const char *vs_names_id(const struct vs_name *v, size_t n, const char *name, size_t *count);
/* What a read-back showed of VM id (vm: its properties; none: gone), for the name cache and the mirror. */
void vs_names_note_vm(struct backend_session *s, const char *id, const struct vs_props *vm);

/* A Task as read from its info. */
struct vs_task {
        char *state;           /* queued running success error */
        int progress;          /* -1 when not given */
        char fault[128];
        char *message;
        char *result;          /* value of a reference-valued info.result */
        char *entity;          /* info.entity value */
        bool cancelled;
        long long queue_time;  /* server clock, seconds */
};
void vs_task_clear(struct vs_task *t);
bool vs_task_done(const struct vs_task *t);
int vs_task_from_info(struct vs_task *t, const struct vim25__TaskInfo *info);
/* The TaskInfo in a Task's ObjectContent, or NULL. */
const struct vim25__TaskInfo *vs_task_info(const struct vim25__ObjectContent *oc);
/*
 * 0 on success; when the task failed, err from info.error and -ECANCELED
 * if vCenter cancelled it, else -EREMOTEIO.
 */
int vs_task_result(const struct vs_task *t, struct op_error *err);

/*
 * Wait for task to finish with WaitForUpdatesEx (1 s slices), reporting
 * progress to hooks and cancelling the task once when hooks ask for it.
 * out holds the task as the caller last read it (reported first), and is
 * kept up to date until the task is done.
 */
int vs_task_wait(struct backend_session *s, const char *opid, const char *task, const struct op_hooks *hooks,
                 struct vs_task *out, struct op_error *err);

/* A PropertyCollector filter on one object's paths, for WaitForUpdatesEx. */
int vs_filter_create(struct backend_session *s, const char *opid, const char *type, const char *id,
                     const char *const *paths, int n_paths, char **filter, struct op_error *err);
void vs_filter_destroy(struct backend_session *s, const char *opid, const char *filter);
int vs_filter_create_spec(struct backend_session *s, const char *opid, struct vim25__PropertyFilterSpec *spec,
                          char **filter, struct op_error *err);
int vs_wait_updates(struct backend_session *s, const char *opid, const char *filter, int max_wait, char **version,
                    int (*cb)(const struct vim25__ObjectUpdate *ou, void *userdata), void *userdata,
                    bool *truncated, struct op_error *err);
/* One WaitForUpdatesEx of up to 1 s: cb for each change of filter, *version advanced. */
int vs_wait_once(struct backend_session *s, const char *opid, const char *filter, char **version,
                 int (*cb)(const struct vim25__PropertyChange *pc, void *userdata), void *userdata,
                 struct op_error *err);
long vs_monotonic_sec(void);

/* A session without a mirror (the mirror's own), its login (service content, Login, the view), and its end. */
int vs_session_new_raw(const struct endpoint_config *ep, struct backend_session **out, struct op_error *err);
void vs_session_free_raw(struct backend_session *s);
int vs_login(struct backend_session *s, char **who, struct op_error *err);
int vs_logout(struct backend_session *s, struct op_error *err);

/* vsphere_mirror.c */
/*
 * The mirror of endpoint ep, made (and its thread started) by the first
 * call for ep; each vs_mirror_get() is matched by one vs_mirror_put(), and
 * the last one stops the thread and frees it.  -ENOMEM or a pthread error.
 */
int vs_mirror_get(const struct endpoint_config *ep, struct vs_mirror **out);
void vs_mirror_put(struct vs_mirror *m);
/* backend_ops.mirror_heard_ms: when ep's synchronised mirror last heard from vCenter; 0: none or not synced. */
int64_t vs_mirror_heard_ms(const struct endpoint_config *ep);
/*
 * The moref of the VM called name, when the mirror is synced and exactly
 * one VM carries it: 0, *id and *host (its runtime.host as the mirror has it,
 * or NULL; both malloc'd).  -EAGAIN when not synced,
 * -ENOENT or -ENOTUNIQ (*count set) when none or several do: only a
 * guess, which the caller checks against vCenter.
 */
int vs_mirror_vm_id(struct vs_mirror *m, const char *name, char **id, char **host, size_t *count);
/* Replace s's host and datastore names with the mirror's, when synced and changed since; -EAGAIN, -ENOMEM. */
int vs_mirror_names_into(struct vs_mirror *m, struct backend_session *s);
/* Our own read-back of VM id (name NULL: gone; host: its runtime.host), ahead of vCenter's update. */
void vs_mirror_note_vm(struct vs_mirror *m, const char *id, const char *name, const char *host);
/* Completed synchronisations from scratch (for logs and tests); 0 while the first one runs. */
unsigned vs_mirror_syncs(struct vs_mirror *m);
/* backend_ops.watch_start/stop: the mirror reports the changes other clients make (out-of-band rows). */
int vs_watch_start(const struct endpoint_config *ep, unsigned interval_sec, const struct watch_sink *sink,
                   struct backend_watch **out, struct op_error *err);
void vs_watch_stop(struct backend_watch *w);

/* vsphere_events.c */
/* The keys of the events already used for a change, so that one event explains one change. */
struct vs_event_keys {
        int key[64];
        unsigned next;
};
struct vs_event_found {
        char *user;     /* the event's userName; NULL when it names nobody */
        char *record;   /* "VmReconfiguredEvent 4211 (chain 4209)" */
        char *detail;   /* what was asked: "configSpec: numCPUs=4", the old and new names, or vCenter's sentence */
        int key;
};
/*
 * The newest of vCenter's events on VM vm_id that a change of kind to the
 * value after, seen between from_ms and to_ms, can come from (see the
 * file's comment).  1 and *out filled, 0 when none fits, or a negative
 * errno from the call (err set).
 */
int vs_event_find(struct backend_session *s, const char *vm_id, enum op_kind kind, const struct op_value *after,
                  int64_t from_ms, int64_t to_ms, struct vs_event_keys *keys, struct vs_event_found *out,
                  struct op_error *err);
void vs_event_found_clear(struct vs_event_found *f);

/* vsphere_values.c */
/* The VM properties kind's before and after values are made of. */
int vs_kind_paths(enum op_kind kind, const char *const **paths);
/*
 * Fill *v (cleared first) with kind's value from vm's properties; a VM
 * vCenter no longer knows (vm NULL or empty) is known and gone.  0 or
 * -ENOMEM (v then cleared).
 */
int vs_fill_value(const struct backend_session *s, enum op_kind kind, const struct vs_props *vm, struct op_value *v);
void vs_prepared_clear(struct vs_prepared *p);
int vs_dup_into(char **dst, const char *src);
const char *vs_vm_host_id(const struct vs_props *vm);
/* Find what the request needs (s->prep), or refuse: -ENOENT, -ENOTUNIQ, -EINVAL with err set. */
int vs_prepare_disk_grow(struct backend_session *s, const struct op_args *args, const struct vs_props *vm,
                         struct op_error *err);
int vs_prepare_disk_add(struct backend_session *s, const struct op_args *args, const struct vs_props *vm,
                        struct op_error *err);
int vs_prepare_snapshot(struct backend_session *s, const struct op_args *args, const struct vs_props *vm,
                        struct op_error *err);

/* vsphere_target.c */
/* Scan the inventory only to fill the session's name caches (a fresh session's recovery). */
int vs_refresh_names(struct backend_session *s, const char *opid, struct op_error *err);
int vs_read_target(struct backend_session *s, enum op_kind kind, const struct op_args *args, const char *opid,
                   struct vm_target *t, struct op_value *before, struct op_error *err);
/* The kind's properties of VM id; a VM that vanished gives no ObjectContent (vm->n == 0). */
int vs_details_spec(struct soap *soap, enum op_kind kind, const char *id, struct vim25__PropertyFilterSpec *spec);
/* Read VM id's value for kind into *value (cleared first). */
int vs_read_value(struct backend_session *s, enum op_kind kind, const char *opid, const char *id,
                  struct op_value *value, struct op_error *err);
void vs_session_names_clear(struct backend_session *s);
int vs_not_logged_in(const struct backend_session *s, struct op_error *err);

/* vsphere_ops.c */
int vs_perform(struct backend_session *s, enum op_kind kind, const struct op_args *args, const char *opid,
               const struct op_hooks *hooks, struct vm_target *t, struct op_value *after, char **task,
               struct op_error *err);
int vs_task_outcome(struct backend_session *s, enum op_kind kind, const struct op_args *args, const char *task_id,
                    const char *opid, struct vm_target *t, struct op_value *after, struct op_error *err);

/* vsphere_info.c */
int vs_post_event(struct backend_session *s, const struct vm_target *t, const char *text, const char *opid,
                  struct op_error *err);
int vs_list_vms(struct backend_session *s, const char *opid, struct json_object **out, struct op_error *err);
int vs_show_vm(struct backend_session *s, const struct op_args *args, const char *opid, struct json_object **out,
               struct op_error *err);

#endif
