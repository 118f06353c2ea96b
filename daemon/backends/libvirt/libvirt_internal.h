/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the libvirt backend's files share, and nobody else uses:
 *
 *   libvirt.c          the session: connection, event loop, keepalive, errors
 *   libvirt_xml.c      domain, volume and device XML through libxml2
 *   libvirt_values.c   reading what each kind changes, as struct op_value
 *   libvirt_ops.c      read_target, perform() for the short operations, recovery
 *   libvirt_jobs.c     the long ones: managed save, clone, migrate, with progress and cancel
 *   libvirt_info.c     list and show
 *   libvirt_identity.c who libvirtd sees: the platform principal
 *   libvirt_drivers.c  what each hypervisor driver (QEMU, Xen, test) can do
 *   libvirt_watch.c    out-of-band changes: events plus periodic reconciliation
 *
 * One virConnectPtr per backend session, used by its worker thread only
 * (and by a job's own thread while the worker watches it): libvirt's
 * errors are per thread, so each call's failure is read on the thread that
 * made it.  libvirt has no task ids; the "task" of a row is the request
 * itself (lv_request_*), stored before the change so that recovery can
 * compare the VM with what was asked.
 */
#ifndef VMT_LIBVIRT_INTERNAL_H
#define VMT_LIBVIRT_INTERNAL_H

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "backend.h"
#include "libvirt_drivers.h"
#include "macros.h"

/* How long perform() waits for a guest shutdown when the caller gives no cancel hook. */
#define LV_WAIT_MAX_SEC 600
/* How often a wait (guest shutdown, a long job) looks at the VM and at the cancel hook. */
#define LV_POLL_MS 200

struct backend_session {
        const struct endpoint_config *ep;  /* fixed */
        enum lv_driver driver;             /* fixed: from the URI */
        virConnectPtr conn;                /* set by login, NULL after logout */
        atomic_bool closed;                /* libvirt closed the connection (daemon gone, keepalive) */
        char *hostname;                    /* virConnectGetHostname at login */
        atomic_uint calls;                 /* libvirt calls that reached the daemon (round trips) */
};

DEFINE_TRIVIAL_CLEANUP_FUNC(virDomainPtr, virDomainFree);
DEFINE_TRIVIAL_CLEANUP_FUNC(virStorageVolPtr, virStorageVolFree);
DEFINE_TRIVIAL_CLEANUP_FUNC(virStoragePoolPtr, virStoragePoolFree);
DEFINE_TRIVIAL_CLEANUP_FUNC(virDomainSnapshotPtr, virDomainSnapshotFree);
DEFINE_TRIVIAL_CLEANUP_FUNC(virConnectPtr, virConnectClose);

/* One more call to the daemon, for round_trips(). */
static inline void lv_count(struct backend_session *s, unsigned n) {
        atomic_fetch_add(&s->calls, n);
}

/* libvirt.c */
/*
 * The failure of the libvirt call just made on this thread, into err:
 * fault is libvirt's error name (VIR_ERR_OPERATION_INVALID), the message
 * carries code, domain and libvirt's text.  Returns the errno it stands
 * for (-ENOENT for a missing domain, -ECONNRESET and friends for a lost
 * connection, -EREMOTEIO otherwise).  what says which call failed.
 */
int lv_fail(struct backend_session *s, const char *what, struct op_error *err);
/* The connection is usable; -EKEYEXPIRED (log in again) when libvirt closed it. */
int lv_alive(struct backend_session *s, struct op_error *err);
/* Open a connection to ep, with keepalive, as the pool's sessions do (migrate's destination too). */
int lv_open(const struct endpoint_config *ep, virConnectPtr *out, struct op_error *err);
/* The domain by name, or -ENOENT with the fault NotFound. */
int lv_lookup(struct backend_session *s, const char *name, virDomainPtr *out, struct op_error *err);
/* The domain by UUID string, or -ENOENT. */
int lv_domain(struct backend_session *s, const char *uuid, virDomainPtr *out, struct op_error *err);

/* libvirt_identity.c: who libvirtd sees on a connection to uri (the trail's platform_user), malloc'd. */
char *lv_principal(const struct endpoint_config *ep, const char *uri);

/* libvirt_xml.c: NULL members are what the XML did not say. */
struct lv_disk {
        char *target;      /* "vda" */
        char *bus;         /* "virtio" */
        char *path;        /* source file (or the volume's path) */
        char *format;      /* driver type: "qcow2", "raw" */
        char *pool, *volume; /* <source pool= volume=> */
};
struct lv_domain_xml {
        struct lv_disk *disks;
        size_t n_disks;
        long long memory_kib, current_kib;   /* <memory>, <currentMemory> */
        long long vcpus_max, vcpus_current;  /* <vcpu current=>N</vcpu> */
};
void lv_domain_xml_clear(struct lv_domain_xml *x);
int lv_domain_xml_parse(const char *xml, struct lv_domain_xml *out);
/* The clone's definition: new name, no uuid, no MAC addresses, disk i's source set to paths[i]. */
int lv_clone_xml(const char *xml, const char *name, char *const *paths, size_t n_paths, char **out);
/* <volume> with name, capacity in bytes and format (NULL: the pool's default). */
int lv_volume_xml(const char *name, unsigned long long bytes, const char *format, char **out);
/* <disk type='file' device='disk'> for path at target dev on bus. */
int lv_disk_xml(const char *path, const char *format, const char *target, const char *bus, bool qemu_driver,
                char **out);
/* <domainsnapshot><name>N</name></domainsnapshot> */
int lv_snapshot_xml(const char *name, char **out);

/* libvirt_values.c */
/* The domain's state as the trail's word (a managed save is "suspended"). */
enum vm_power lv_power(struct backend_session *s, virDomainPtr dom, struct op_error *err);
/* Read what kind changes of dom into v, and the VM's identity into t when t is not NULL. */
int lv_read_value(struct backend_session *s, virDomainPtr dom, enum op_kind kind, const struct op_args *a,
                  struct op_value *v, struct op_error *err);
int lv_fill_target(struct backend_session *s, virDomainPtr dom, struct vm_target *t, struct op_error *err);
/* The disk args->disk names (target dev "vda" or a number from 1), or -ENOENT. */
int lv_find_disk(const struct lv_domain_xml *x, const char *which, size_t *index, struct op_error *err);
/* The domain's XML (live when running) parsed; flags as virDomainGetXMLDesc. */
int lv_domain_parse(struct backend_session *s, virDomainPtr dom, unsigned flags, struct lv_domain_xml *x,
                    struct op_error *err);
/* A disk's capacity in bytes: from the block device when libvirt can tell, else from its volume. */
int lv_disk_capacity(struct backend_session *s, virDomainPtr dom, const struct lv_disk *d,
                     unsigned long long *bytes, struct op_error *err);

/* libvirt_jobs.c */
int lv_suspend(struct backend_session *s, virDomainPtr dom, const struct op_hooks *h, struct op_error *err);
/* Clone, and read the new VM back into *after (its name, uuid and host). */
int lv_clone(struct backend_session *s, virDomainPtr dom, const struct op_args *a, const struct op_hooks *h,
             struct op_value *after, struct op_error *err);
/* Migrate to the endpoint args->host names, and read the VM back where it is then (t->host follows it). */
int lv_migrate(struct backend_session *s, virDomainPtr dom, const struct op_args *a, const struct op_hooks *h,
               struct vm_target *t, struct op_value *after, struct op_error *err);
/*
 * Recovery of a migration: still on the source, -ENODATA with what the
 * source shows; on the destination, 0 with what it shows there; on
 * neither, -ENOENT.
 */
int lv_migrate_outcome(struct backend_session *s, const struct op_args *a, struct vm_target *t,
                       struct op_value *after, struct op_error *err);
int lv_destroy(struct backend_session *s, virDomainPtr dom, struct op_error *err);

/* libvirt_info.c */
int lv_list_vms(struct backend_session *s, const char *opid, struct json_object **out, struct op_error *err);
int lv_show_vm(struct backend_session *s, const struct op_args *args, const char *opid, struct json_object **out,
               struct op_error *err);

/* libvirt_ops.c */
int lv_read_target(struct backend_session *s, enum op_kind kind, const struct op_args *args, const char *opid,
                   struct vm_target *t, struct op_value *before, struct op_error *err);
int lv_perform(struct backend_session *s, enum op_kind kind, const struct op_args *args, const char *opid,
               const struct op_hooks *hooks, struct vm_target *t, struct op_value *after, char **task,
               struct op_error *err);
int lv_task_outcome(struct backend_session *s, enum op_kind kind, const struct op_args *args, const char *task_id,
                    const char *opid, struct vm_target *t, struct op_value *after, struct op_error *err);

/* libvirt_watch.c: backend_ops.watch_start and watch_stop, on a connection and a thread of their own. */
int lv_watch_start(const struct endpoint_config *ep, unsigned interval_sec, const struct watch_sink *sink,
                   struct backend_watch **out, struct op_error *err);
void lv_watch_stop(struct backend_watch *w);

#endif
