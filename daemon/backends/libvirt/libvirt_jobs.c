/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The long operations: managed save (SuspendVM), clone and migrate, and
 * destroy with its volumes.
 *
 * libvirt's long calls block until they end.  Each runs on a thread of its
 * own while the worker watches it, as it would watch a vSphere task: every
 * LV_POLL_MS it reports progress (virDomainGetJobStats) and, when asked to
 * cancel (the operator, or task-timeout), aborts the job
 * (virDomainAbortJob).  libvirt's errors are per thread, so the job reads
 * its own failure into its own op_error.  A clone's volume copies cannot
 * be aborted; its job stops between two disks instead and removes what it
 * made.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "libvirt_internal.h"
#include "util.h"

struct job {
        int (*run)(struct job *j);
        struct backend_session *s;
        virDomainPtr dom;
        const struct op_args *a;
        atomic_bool done, cancel;
        atomic_int percent;          /* what the job knows of its progress, -1: ask libvirt */
        int r;
        struct op_error err;
        void *data;
};

static void *job_thread(void *p) {
        struct job *j = p;

        j->r = j->run(j);
        atomic_store(&j->done, true);
        return NULL;
}

static bool wants_cancel(const struct op_hooks *h) {
        return h && h->cancel_requested && h->cancel_requested(h->userdata);
}

/* Progress of dom's job, 0..100, or -1 when libvirt cannot tell. */
static int job_percent(struct job *j) {
        virTypedParameterPtr params = NULL;
        int n = 0, type, own = atomic_load(&j->percent);
        unsigned long long total = 0, done = 0;

        if (own >= 0)
                return own;
        lv_count(j->s, 1);
        if (virDomainGetJobStats(j->dom, &type, &params, &n, 0) < 0)
                return -1;
        (void) virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_DATA_TOTAL, &total);
        (void) virTypedParamsGetULLong(params, n, VIR_DOMAIN_JOB_DATA_PROCESSED, &done);
        virTypedParamsFree(params, n);
        return total ? (int) (done * 100 / total) : -1;
}

/* Abort the job once; a driver that cannot (Xen) lets it run to its end. */
static void job_abort(struct job *j) {
        atomic_store(&j->cancel, true);
        lv_count(j->s, 1);
        (void) virDomainAbortJob(j->dom);
}

static int job_watch(struct job *j, const struct op_hooks *h, struct op_error *err) {
        pthread_t t;
        bool aborted = false;
        int r = -pthread_create(&t, NULL, job_thread, j);

        if (r < 0) {
                op_error_set(err, "InternalError", "cannot start a thread: %s", strerror(-r));
                return r;
        }
        while (!atomic_load(&j->done)) {
                sleep_ms(LV_POLL_MS);
                if (!aborted && wants_cancel(h)) {
                        job_abort(j);
                        aborted = true;
                }
                if (h && h->progress && !atomic_load(&j->done))
                        h->progress(h->userdata, job_percent(j), "running");
        }
        pthread_join(t, NULL);
        if (j->r < 0)
                *err = j->err;
        /* The platform's own word that it stopped is what a cancelled row shows. */
        if (j->r < 0 && aborted && (strcmp(err->fault, "VIR_ERR_OPERATION_ABORTED") == 0 || j->r == -ECANCELED))
                return -ECANCELED;
        return j->r;
}

/* ---- SuspendVM: a managed save, so the VM is "suspended" as vSphere means it (memory on disk) ---- */

static int run_save(struct job *j) {
        lv_count(j->s, 1);
        return virDomainManagedSave(j->dom, 0) < 0 ? lv_fail(j->s, "virDomainManagedSave", &j->err) : 0;
}

int lv_suspend(struct backend_session *s, virDomainPtr dom, const struct op_hooks *h, struct op_error *err) {
        struct job j = { .run = run_save, .s = s, .dom = dom, .percent = -1 };

        return job_watch(&j, h, err);
}

/* ---- CloneVM ------------------------------------------------------------------ */

struct clone {
        struct lv_domain_xml x;
        char *xml;                   /* the source's inactive definition */
        char **paths;                /* the copies, one per disk */
        virStorageVolPtr *made;
        size_t n_made;
        virDomainPtr result;
};

/* The source volume of disk d, and the pool the copy goes to (args->datastore, or the source's). */
static int clone_source(struct job *j, const struct lv_disk *d, virStorageVolPtr *vol, virStoragePoolPtr *pool) {
        struct backend_session *s = j->s;

        lv_count(s, 2);
        *vol = d->path ? virStorageVolLookupByPath(s->conn, d->path) : NULL;
        if (!*vol) {
                op_error_set(&j->err, OP_FAULT_INVALID, "disk %s (%s) is in no storage pool; vmtraced copies disks "
                             "only through libvirt's storage pools, so nothing was cloned", d->target,
                             d->path ? d->path : "no file");
                return -EINVAL;
        }
        *pool = j->a->datastore ? virStoragePoolLookupByName(s->conn, j->a->datastore) : virStoragePoolLookupByVolume(*vol);
        return *pool ? 0 : lv_fail(s, j->a->datastore ? "virStoragePoolLookupByName" : "virStoragePoolLookupByVolume",
                                   &j->err);
}

static int clone_disk(struct job *j, struct clone *c, size_t i) {
        const struct lv_disk *d = &c->x.disks[i];
        _cleanup_(virStorageVolFreep) virStorageVolPtr src = NULL;
        _cleanup_(virStoragePoolFreep) virStoragePoolPtr pool = NULL;
        _cleanup_free_ char *name = NULL, *xml = NULL;
        virStorageVolInfo info;
        int r = clone_source(j, d, &src, &pool);

        if (r < 0)
                return r;
        lv_count(j->s, 3);
        if (virStorageVolGetInfo(src, &info) < 0)
                return lv_fail(j->s, "virStorageVolGetInfo", &j->err);
        if (asprintf(&name, "%s-%s.%s", j->a->new_name, d->target, d->format ? d->format : "img") < 0 ||
            lv_volume_xml(name, info.capacity, d->format, &xml) < 0)
                return -ENOMEM;
        c->made[c->n_made] = virStorageVolCreateXMLFrom(pool, xml, src, 0);
        if (!c->made[c->n_made])
                return lv_fail(j->s, "virStorageVolCreateXMLFrom", &j->err);
        c->paths[i] = virStorageVolGetPath(c->made[c->n_made++]);
        return c->paths[i] ? 0 : lv_fail(j->s, "virStorageVolGetPath", &j->err);
}

static int clone_define(struct job *j, struct clone *c) {
        _cleanup_free_ char *xml = NULL;

        if (lv_clone_xml(c->xml, j->a->new_name, c->paths, c->x.n_disks, &xml) < 0) {
                op_error_set(&j->err, "InternalError", "the source's domain XML cannot be rewritten");
                return -EBADMSG;
        }
        lv_count(j->s, 1);
        c->result = virDomainDefineXML(j->s->conn, xml);
        if (!c->result)
                return lv_fail(j->s, "virDomainDefineXML", &j->err);
        lv_count(j->s, j->a->power_on ? 1 : 0);
        if (j->a->power_on && virDomainCreate(c->result) < 0)
                return lv_fail(j->s, "virDomainCreate", &j->err);
        return 0;
}

static int run_clone(struct job *j) {
        struct clone *c = j->data;
        int r = 0;

        lv_count(j->s, 1);
        /* SECURE: the copy keeps the source's passwords (VNC and the like), as a vSphere clone does. */
        c->xml = virDomainGetXMLDesc(j->dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
        if (!c->xml)
                return lv_fail(j->s, "virDomainGetXMLDesc", &j->err);
        if (lv_domain_xml_parse(c->xml, &c->x) < 0)
                return -EBADMSG;
        c->paths = calloc(c->x.n_disks + 1, sizeof *c->paths);
        c->made = calloc(c->x.n_disks + 1, sizeof *c->made);
        if (!c->paths || !c->made)
                return -ENOMEM;
        for (size_t i = 0; r >= 0 && i < c->x.n_disks; i++) {
                if (atomic_load(&j->cancel)) {
                        op_error_set(&j->err, "VIR_ERR_OPERATION_ABORTED", "cancelled between two disk copies");
                        return -ECANCELED;
                }
                atomic_store(&j->percent, (int) (i * 100 / c->x.n_disks));
                r = clone_disk(j, c, i);
        }
        return r < 0 ? r : clone_define(j, c);
}

static void clone_done(struct clone *c, bool failed) {
        for (size_t i = 0; i < c->n_made; i++) {
                /* A failed clone leaves no copies behind. */
                if (failed)
                        (void) virStorageVolDelete(c->made[i], 0);
                virStorageVolFree(c->made[i]);
        }
        for (size_t i = 0; c->paths && i < c->x.n_disks; i++)
                free(c->paths[i]);
        free(c->paths);
        free(c->made);
        free(c->xml);
        lv_domain_xml_clear(&c->x);
        if (c->result)
                virDomainFree(c->result);
}

int lv_clone(struct backend_session *s, virDomainPtr dom, const struct op_args *a, const struct op_hooks *h,
             struct op_value *after, struct op_error *err) {
        struct clone c = {};
        struct job j = { .run = run_clone, .s = s, .dom = dom, .a = a, .percent = 0, .data = &c };
        int r;

        if (a->host && strcmp(a->host, strempty(s->hostname)) != 0) {
                op_error_set(err, OP_FAULT_INVALID, "libvirt clones on the VM's own host (%s); clone, then migrate",
                             strempty(s->hostname));
                return -EINVAL;
        }
        r = job_watch(&j, h, err);
        if (r == -ENOMEM || r == -EBADMSG)
                op_error_set(err, "InternalError", "%s", r == -ENOMEM ? "out of memory" : "the domain XML cannot be read");
        if (r >= 0)
                r = lv_read_value(s, c.result, OP_CLONE, a, after, err);
        clone_done(&c, r < 0 && !c.result);
        return r;
}

/* ---- MigrateVM ------------------------------------------------------------------ */

/* The destination: a libvirt endpoint of this configuration, named by --host. */
static const struct endpoint_config *destination(struct backend_session *s, const char *name, struct op_error *err) {
        for (const struct endpoint_config *e = s->ep->first; e; e = e->next)
                if (strcmp(e->name, name) == 0 && e->backend == s->ep->backend && e != s->ep)
                        return e;
        op_error_set(err, OP_FAULT_INVALID, "on libvirt, migrate --host names the destination: another libvirt "
                     "endpoint of vmtraced.conf; \"%s\" is none", name);
        return NULL;
}

struct migration {
        const struct endpoint_config *to;
        virConnectPtr dconn;
        virDomainPtr result;
};

static int run_migrate(struct job *j) {
        struct migration *m = j->data;
        virTypedParameterPtr params = NULL;
        int n = 0, max = 0;
        unsigned flags = VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE;

        lv_count(j->s, 2);
        flags |= virDomainIsActive(j->dom) == 1 ? VIR_MIGRATE_LIVE : VIR_MIGRATE_OFFLINE;
        if (m->to->migrate_unsafe)
                flags |= VIR_MIGRATE_UNSAFE;
        if (m->to->migrate_uri && virTypedParamsAddString(&params, &n, &max, VIR_MIGRATE_PARAM_URI, m->to->migrate_uri) < 0)
                return -ENOMEM;
        m->result = virDomainMigrate3(j->dom, m->dconn, params, (unsigned) n, flags);
        virTypedParamsFree(params, n);
        return m->result ? 0 : lv_fail(j->s, "virDomainMigrate3", &j->err);
}

/* The VM as the destination sees it: its host and pools, through a session of the destination. */
static int read_on_destination(struct migration *m, struct backend_session *s, const struct op_args *a,
                               struct vm_target *t, struct op_value *after, struct op_error *err) {
        struct backend_session d = { .ep = m->to, .driver = lv_driver_of_uri(m->to->url), .conn = m->dconn };
        int r;

        d.hostname = virConnectGetHostname(m->dconn);
        r = d.hostname ? lv_read_value(&d, m->result, OP_MIGRATE, a, after, err) : lv_fail(&d, "virConnectGetHostname", err);
        if (r >= 0) {
                free(t->host);
                t->host = strdup(d.hostname);
        }
        lv_count(s, atomic_load(&d.calls) + 1);
        free(d.hostname);
        return r;
}

int lv_migrate(struct backend_session *s, virDomainPtr dom, const struct op_args *a, const struct op_hooks *h,
               struct vm_target *t, struct op_value *after, struct op_error *err) {
        struct migration m = {};
        struct job j = { .run = run_migrate, .s = s, .dom = dom, .a = a, .percent = -1, .data = &m };
        int r;

        if (a->datastore) {
                op_error_set(err, OP_FAULT_INVALID, "moving a VM's storage (--datastore) is not done on libvirt; "
                             "migrate --host moves it to another host with the same storage");
                return -EINVAL;
        }
        m.to = a->host ? destination(s, a->host, err) : NULL;
        if (!m.to)
                return -EINVAL;
        r = lv_open(m.to, &m.dconn, err);
        if (r >= 0)
                r = job_watch(&j, h, err);
        if (r >= 0)
                r = read_on_destination(&m, s, a, t, after, err);
        else {
                /* Still on the source: what it shows there is the row's "after". */
                struct op_error ignored = {};
                (void) lv_read_value(s, dom, OP_MIGRATE, a, after, &ignored);
        }
        if (m.result)
                virDomainFree(m.result);
        if (m.dconn)
                virConnectClose(m.dconn);
        return r;
}

int lv_migrate_outcome(struct backend_session *s, const struct op_args *a, struct vm_target *t,
                       struct op_value *after, struct op_error *err) {
        _cleanup_(virDomainFreep) virDomainPtr dom = NULL;
        struct migration m = {};
        struct op_error ignored = {};
        int r = lv_domain(s, t->id, &dom, &ignored);

        /* Still defined on the source: a migration that completed would have undefined it there. */
        if (r >= 0)
                return lv_read_value(s, dom, OP_MIGRATE, a, after, err) < 0 ? -EIO : -ENODATA;
        m.to = a->host ? destination(s, a->host, err) : NULL;
        if (!m.to || lv_open(m.to, &m.dconn, err) < 0)
                return -ENOENT;
        lv_count(s, 1);
        m.result = virDomainLookupByUUIDString(m.dconn, strempty(t->id));
        r = m.result ? read_on_destination(&m, s, a, t, after, err) : -ENOENT;
        if (!m.result)
                op_error_set(err, "", "the VM is neither on this endpoint nor on \"%s\"", m.to->name);
        if (m.result)
                virDomainFree(m.result);
        virConnectClose(m.dconn);
        return r;
}

/* ---- DestroyVM --------------------------------------------------------------------- */

/*
 * Undefine with everything libvirt keeps beside the definition.  Drivers
 * refuse flags they do not know (the test driver NVRAM, Xen all but
 * MANAGED_SAVE): each refusal of the flags tries the next, shorter set.
 */
static int undefine(struct backend_session *s, virDomainPtr dom, struct op_error *err) {
        static const unsigned sets[] = {
                VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
                        VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | VIR_DOMAIN_UNDEFINE_NVRAM,
                VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA,
                VIR_DOMAIN_UNDEFINE_MANAGED_SAVE,
        };
        int r = 0;

        for (size_t i = 0; i < ELEMENTSOF(sets); i++) {
                lv_count(s, 1);
                if (virDomainUndefineFlags(dom, sets[i]) == 0)
                        return 0;
                r = lv_fail(s, "virDomainUndefineFlags", err);
                const virError *e = virGetLastError();
                if (!e || (e->code != VIR_ERR_INVALID_ARG && e->code != VIR_ERR_NO_SUPPORT &&
                           e->code != VIR_ERR_CONFIG_UNSUPPORTED))
                        break;
        }
        return r;
}

/* Every disk's volume, looked up before anything changes: a disk outside a pool is refused. */
static int disk_volumes(struct backend_session *s, virDomainPtr dom, virStorageVolPtr *vols, size_t *n,
                        size_t max, struct op_error *err) {
        struct lv_domain_xml x = {};
        int r = lv_domain_parse(s, dom, VIR_DOMAIN_XML_INACTIVE, &x, err);

        for (size_t i = 0; r >= 0 && i < x.n_disks && *n < max; i++) {
                lv_count(s, 1);
                vols[*n] = x.disks[i].path ? virStorageVolLookupByPath(s->conn, x.disks[i].path) : NULL;
                if (!vols[*n]) {
                        op_error_set(err, OP_FAULT_INVALID, "disk %s (%s) is in no storage pool, so vmtraced cannot "
                                     "delete it; nothing was changed", x.disks[i].target,
                                     x.disks[i].path ? x.disks[i].path : "no file");
                        r = -EINVAL;
                } else
                        (*n)++;
        }
        lv_domain_xml_clear(&x);
        return r;
}

#define LV_DISKS_MAX 64

int lv_destroy(struct backend_session *s, virDomainPtr dom, struct op_error *err) {
        virStorageVolPtr vols[LV_DISKS_MAX];
        size_t n = 0;
        int r = disk_volumes(s, dom, vols, &n, ELEMENTSOF(vols), err);

        lv_count(s, 1);
        if (r >= 0 && virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0)
                r = lv_fail(s, "virDomainDestroy", err);
        if (r >= 0)
                r = undefine(s, dom, err);
        bool undefined = r >= 0;
        for (size_t i = 0; i < n; i++) {
                lv_count(s, 1);
                /* The definition is gone: every volume goes; one left behind makes the row NG, saying which. */
                if (undefined && virStorageVolDelete(vols[i], 0) < 0 && r >= 0) {
                        r = lv_fail(s, "virStorageVolDelete", err);
                        snprintf(err->message + strlen(err->message), sizeof err->message - strlen(err->message),
                                 " (the VM is gone, its volume %s is left)", virStorageVolGetName(vols[i]));
                }
                virStorageVolFree(vols[i]);
        }
        return r;
}
