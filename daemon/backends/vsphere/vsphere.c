/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vSphere backend: struct backend_ops over the vim25 SOAP API (gSOAP
 * bindings generated from vim25.h; TLS, cookie, opID header and fault
 * mapping in vsphere_transport.c).  This file holds the session (login,
 * logout) and the plumbing the other vsphere_*.c files share: property
 * values, RetrievePropertiesEx, and waiting for a Task with the
 * PropertyCollector.  See vsphere_internal.h for the map of the files, and
 * vsphere_values.c for what the before/after value of each operation holds.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "backend.h"
#include "config.h"
#include "log.h"
#include "macros.h"
#include "vsphere_internal.h"
#include "vsphere_transport.h"

#define VS_DEFAULT_ACTION   "urn:vim25/6.5"
#define VS_LOGOUT_OPID      "vmtraced-logout"
/* Per WaitForUpdatesEx: short, so a cancel request is seen within a second. */
#define VS_WAIT_SLICE_SEC   1
/* How long a task may take to settle after CancelTask (or a refused one). */
#define VS_CANCEL_GRACE_SEC 60
#define VS_TASK_REREAD_SEC  5
/* The fault of a task vCenter cancelled. */
#define VS_FAULT_CANCELED   "RequestCanceled"

void vs_arena_endp(struct soap **soap) {
        if (*soap) {
                soap_destroy(*soap);
                soap_end(*soap);
        }
}

/*
 * A context of its own for copying decoded data: the session's context
 * keeps its connection and buffers untouched, and its arena may end while
 * the copy lives on.
 */
void vs_copy_freep(struct soap **soap) {
        if (*soap) {
                soap_destroy(*soap);
                soap_end(*soap);
                soap_free(*soap);
        }
}

struct soap *vs_copy_new(void) {
        return soap_new1(SOAP_C_UTFSTRING);
}

/*
 * gSOAP's C mode has no deep copy (that takes soapcpp2 -Ec): the disk is
 * kept as the XML gSOAP writes for it, xsi:types included, so that
 * perform() sends back every member read_target decoded.
 */
int vs_disk_save(const struct vim25__VirtualDisk *d, char **xml) {
        _cleanup_(vs_copy_freep) struct soap *c = vs_copy_new();
        const char *out = NULL;

        if (!c)
                return -ENOMEM;
        c->os = &out;
        if (soap_begin_send(c))
                return -EIO;
        soap_serialize_vim25__VirtualDisk(c, d);
        if (soap_put_vim25__VirtualDisk(c, d, "vim25:VirtualDisk", "") || soap_end_send(c) || !out)
                return -EIO;
        *xml = strdup(out);
        return *xml ? 0 : -ENOMEM;
}

/* The disk vs_disk_save() wrote, decoded in c's arena (a vs_copy_new() context). */
int vs_disk_load(struct soap *c, const char *xml, struct vim25__VirtualDisk *d) {
        c->is = xml;
        soap_default_vim25__VirtualDisk(c, d);
        if (soap_begin_recv(c) || !soap_get_vim25__VirtualDisk(c, d, NULL, NULL) || soap_end_recv(c))
                return -EIO;
        return 0;
}

int vs_oom(struct op_error *err) {
        op_error_set(err, "InternalError", "Out of memory");
        return -ENOMEM;
}

void vs_ref_clear(struct vs_ref *r) {
        free(r->type);
        free(r->value);
        r->type = r->value = NULL;
}

int vs_ref_set(struct vs_ref *r, const struct vim25__ManagedObjectReference *m) {
        char *type, *value;

        if (!m || !m->type || !m->__item)
                return -EBADMSG;
        type = strdup(m->type);
        value = strdup(m->__item);
        if (!type || !value) {
                free(type);
                free(value);
                return -ENOMEM;
        }
        vs_ref_clear(r);
        r->type = type;
        r->value = value;
        return 0;
}

/* A reference in the arena, for a request.  The strings are not copied. */
struct vim25__ManagedObjectReference *vs_mor(struct soap *soap, const char *type, const char *value) {
        struct vim25__ManagedObjectReference *m = soap_malloc(soap, sizeof *m);

        if (m) {
                m->type = (char *) type;
                m->__item = (char *) value;
        }
        return m;
}

bool vs_mor_is(const struct vim25__ManagedObjectReference *m, const char *type) {
        return m && m->type && m->__item && strcmp(m->type, type) == 0;
}

const char *vs_val_string(int type, const void *val) {
        switch (type) {
        case SOAP_TYPE_xsd__string:
        case SOAP_TYPE_string:
        case SOAP_TYPE_xsd__anyURI:
        case SOAP_TYPE_vim25__TaskInfoState:
        case SOAP_TYPE_vim25__ObjectUpdateKind:
        case SOAP_TYPE_vim25__PropertyChangeOp:
        case SOAP_TYPE_vim25__VirtualMachinePowerState:
                return val;
        default:
                return NULL;
        }
}

const struct vim25__ManagedObjectReference *vs_val_mor(int type, const void *val) {
        return type == SOAP_TYPE_vim25__ManagedObjectReference ? val : NULL;
}

bool vs_val_int(int type, const void *val, long long *out) {
        if (!val)
                return false;
        switch (type) {
        case SOAP_TYPE_xsd__int:
        case SOAP_TYPE_int:
                *out = *(const int *) val;
                return true;
        case SOAP_TYPE_xsd__long:
        case SOAP_TYPE_LONG64:
                *out = *(const LONG64 *) val;
                return true;
        case SOAP_TYPE_xsd__short:
                *out = *(const short *) val;
                return true;
        default:
                return false;
        }
}

void vs_props_add(struct vs_props *p, const struct vim25__ObjectContent *oc) {
        if (p->n < (int) ELEMENTSOF(p->oc))
                p->oc[p->n++] = oc;
}

const struct vim25__DynamicProperty *vs_prop(const struct vs_props *p, const char *name) {
        for (int k = 0; p && k < p->n; k++)
                for (int i = 0; i < p->oc[k]->__sizepropSet; i++)
                        if (p->oc[k]->propSet[i].name && strcmp(p->oc[k]->propSet[i].name, name) == 0)
                                return &p->oc[k]->propSet[i];
        return NULL;
}

const char *vs_prop_string(const struct vs_props *p, const char *name) {
        const struct vim25__DynamicProperty *d = vs_prop(p, name);

        return d ? vs_val_string(d->__typeval, d->val) : NULL;
}

const struct vim25__ManagedObjectReference *vs_prop_mor(const struct vs_props *p, const char *name) {
        const struct vim25__DynamicProperty *d = vs_prop(p, name);

        return d ? vs_val_mor(d->__typeval, d->val) : NULL;
}

bool vs_prop_int(const struct vs_props *p, const char *name, long long *out) {
        const struct vim25__DynamicProperty *d = vs_prop(p, name);

        return d && vs_val_int(d->__typeval, d->val, out);
}

const char *vs_names_find(const struct vs_name *v, size_t n, const char *id) {
        for (size_t i = 0; id && i < n; i++)
                if (strcmp(v[i].id, id) == 0)
                        return v[i].name;
        return NULL;
}

/* The id of the entry called name; *count gets how many there are. */
const char *vs_names_id(const struct vs_name *v, size_t n, const char *name, size_t *count) {
        const char *id = NULL;

        *count = 0;
        for (size_t i = 0; name && i < n; i++)
                if (v[i].name && strcmp(v[i].name, name) == 0) {
                        id = v[i].id;
                        (*count)++;
                }
        return id;
}

/*
 * What a read-back just showed of VM id: its name now (after our rename;
 * a clone's new VM), or NULL when vCenter no longer knows it (destroy).
 * The cache was filled by the scan before the change; without this the
 * next operation on that VM would miss it and pay a second read.  Still
 * only a guess that the next scan checks; on OOM the entry is dropped.
 */
void vs_names_note_vm(struct backend_session *s, const char *id, const struct vs_props *vm) {
        const char *name = vs_prop_string(vm, "name");
        struct vs_name *v = s->vms, *e = NULL;
        char *copy = name ? strdup(name) : NULL;

        vs_mirror_note_vm(s->mirror, id, name, name ? vs_vm_host_id(vm) : NULL);

        for (size_t i = 0; id && i < s->n_vms && !e; i++)
                if (strcmp(v[i].id, id) == 0)
                        e = &v[i];
        if (!e && id && copy && (v = reallocarray(s->vms, s->n_vms + 1, sizeof *v))) {
                s->vms = v;
                e = &v[s->n_vms];
                *e = (struct vs_name) { .id = strdup(id) };
                if (e->id)
                        s->n_vms++;
        }
        if (!e || !e->id) {
                free(copy);
                return;
        }
        free(e->name);
        e->name = copy;
        if (!copy) {  /* gone, or out of memory: drop the entry */
                free(e->id);
                *e = s->vms[--s->n_vms];
        }
}

/* ---- PropertyCollector -------------------------------------------------- */

/* A one-type PropertySpec in the arena. */
int vs_prop_spec(struct soap *soap, struct vim25__PropertySpec *ps, const char *type, const char *const *paths,
                 int n_paths) {
        ps->type = (char *) type;
        ps->all = NULL;
        ps->__sizepathSet = n_paths;
        ps->pathSet = soap_malloc(soap, (n_paths ? n_paths : 1) * sizeof(char *));
        if (!ps->pathSet)
                return -ENOMEM;
        for (int i = 0; i < n_paths; i++)
                ps->pathSet[i] = (char *) paths[i];
        return 0;
}

/*
 * Leaving a paged result early: vCenter keeps the rest for the session
 * until told otherwise (or the session ends), so say we are done with it.
 * Best effort, in the caller's arena.
 */
static void retrieve_cancel(struct backend_session *s, const char *opid, const char *token) {
        struct _vim25__CancelRetrievePropertiesEx rq = {
                ._USCOREthis = vs_mor(s->soap, s->property_collector.type, s->property_collector.value),
                .token = (char *) token,
        };
        struct _vim25__CancelRetrievePropertiesExResponse rs;
        struct op_error e = {};

        if (token && *token && rq._USCOREthis && VS_CALL(s, CancelRetrievePropertiesEx, opid, &rq, &rs, &e) < 0)
                log_debug("Ignoring failure to cancel a paged result: %s", e.message);
}

/*
 * Call cb for every object of the result, following the continuation token
 * (real vCenter pages large results).  The contents are arena memory: valid
 * until the caller's arena guard ends it.
 */
int vs_retrieve(struct backend_session *s, const char *opid, struct vim25__PropertyFilterSpec *specs, int n,
                int (*cb)(const struct vim25__ObjectContent *oc, void *userdata), void *userdata,
                struct op_error *err) {
        struct _vim25__RetrievePropertiesEx rq = {
                ._USCOREthis = vs_mor(s->soap, s->property_collector.type, s->property_collector.value),
                .__sizespecSet = n,
                .specSet = specs,
                .options = soap_malloc(s->soap, sizeof(struct vim25__RetrieveOptions)),
        };
        struct _vim25__RetrievePropertiesExResponse rs = {};
        struct vim25__RetrieveResult *res;
        int r;

        if (!rq._USCOREthis || !rq.options)
                return vs_oom(err);
        rq.options->maxObjects = NULL;

        r = VS_CALL(s, RetrievePropertiesEx, opid, &rq, &rs, err);
        if (r < 0)
                return r;

        for (res = rs.returnval; res;) {
                struct _vim25__ContinueRetrievePropertiesEx crq = { ._USCOREthis = rq._USCOREthis };
                struct _vim25__ContinueRetrievePropertiesExResponse crs = {};

                for (int i = 0; i < res->__sizeobjects; i++) {
                        r = cb(&res->objects[i], userdata);
                        if (r < 0) {
                                retrieve_cancel(s, opid, res->token);
                                return vs_oom(err);
                        }
                }
                if (!res->token || !*res->token)
                        break;

                crq.token = res->token;
                r = VS_CALL(s, ContinueRetrievePropertiesEx, opid, &crq, &crs, err);
                if (r < 0)
                        return r;
                res = crs.returnval;
        }
        return 0;
}

/* A filter spec over one object and its own properties. */
int vs_object_filter_spec(struct soap *soap, struct vim25__PropertyFilterSpec *spec, const char *type,
                          const char *value, const char *const *paths, int n_paths) {
        *spec = (struct vim25__PropertyFilterSpec) {
                .__sizepropSet = 1,
                .propSet = soap_malloc(soap, sizeof(struct vim25__PropertySpec)),
                .__sizeobjectSet = 1,
                .objectSet = soap_malloc(soap, sizeof(struct vim25__ObjectSpec)),
        };
        if (!spec->propSet || !spec->objectSet)
                return -ENOMEM;
        spec->objectSet[0] = (struct vim25__ObjectSpec) {
                .obj = { .__item = (char *) value, .type = (char *) type },
        };
        return vs_prop_spec(soap, spec->propSet, type, paths, n_paths);
}

static int name_cb(const struct vim25__ObjectContent *oc, void *userdata) {
        struct vs_props p = { .oc = { oc }, .n = 1 };
        char **name = userdata;
        const char *n = vs_prop_string(&p, "name");

        if (n && !*name && !(*name = strdup(n)))
                return -ENOMEM;
        return 0;
}

/* Read the "name" of one managed object. */
int vs_read_name(struct backend_session *s, const char *opid, const char *type, const char *value, char **name,
                 struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        static const char *const paths[] = { "name" };
        struct vim25__PropertyFilterSpec spec;
        int r;

        if (vs_object_filter_spec(s->soap, &spec, type, value, paths, 1) < 0)
                return vs_oom(err);
        r = vs_retrieve(s, opid, &spec, 1, name_cb, name, err);
        if (r < 0)
                return r;
        if (!*name) {
                op_error_set(err, "NotFound", "%s %s not found on endpoint \"%s\"", type, value, s->ep->name);
                return -ENOENT;
        }
        return 0;
}

/* ---- Tasks -------------------------------------------------------------- */

void vs_task_clear(struct vs_task *t) {
        free(t->state);
        free(t->message);
        free(t->result);
        free(t->entity);
        *t = (struct vs_task) { .progress = -1 };
}

bool vs_task_done(const struct vs_task *t) {
        return t->state && (strcmp(t->state, "success") == 0 || strcmp(t->state, "error") == 0);
}

static int strdup_or_null(char **dst, const char *src) {
        free(*dst);
        *dst = src ? strdup(src) : NULL;
        return src && !*dst ? -ENOMEM : 0;
}

int vs_task_from_info(struct vs_task *t, const struct vim25__TaskInfo *info) {
        const struct vim25__ManagedObjectReference *res = vs_val_mor(info->__typeresult, info->result);

        if (strdup_or_null(&t->state, info->state) < 0 ||
            strdup_or_null(&t->result, res ? res->__item : NULL) < 0 ||
            strdup_or_null(&t->entity, info->entity ? info->entity->__item : NULL) < 0)
                return -ENOMEM;
        t->progress = info->progress ? *info->progress : -1;
        t->cancelled = info->cancelled == xsd__boolean__true_;
        t->queue_time = (long long) info->queueTime;
        t->fault[0] = '\0';
        if (info->error) {
                vsphere_fault_type(info->error->__any, t->fault, sizeof t->fault);
                if (strdup_or_null(&t->message, info->error->localizedMessage) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int vs_task_result(const struct vs_task *t, struct op_error *err) {
        const char *fault;

        if (!t->state || strcmp(t->state, "error") != 0)
                return 0;
        fault = t->fault[0] ? t->fault : "MethodFault";
        op_error_set(err, fault, "%s", t->message && *t->message ? t->message : fault);
        /*
         * vCenter fails a task it cancelled with RequestCanceled.  info.cancelled
         * only says a cancel was asked for; it decides only when the fault has
         * no type we could read, since the task may have failed for its own reason.
         */
        if (strcmp(fault, VS_FAULT_CANCELED) == 0 || (t->cancelled && !t->fault[0]))
                return -ECANCELED;
        return -EREMOTEIO;
}

/* CreateFilter (partialUpdates=false) on spec, built in the arena; *filter gets its moref value. */
int vs_filter_create_spec(struct backend_session *s, const char *opid, struct vim25__PropertyFilterSpec *spec,
                          char **filter, struct op_error *err) {
        struct _vim25__CreateFilter rq = {
                ._USCOREthis = vs_mor(s->soap, s->property_collector.type, s->property_collector.value),
                .spec = spec,
                .partialUpdates = xsd__boolean__false_,
        };
        struct _vim25__CreateFilterResponse rs = {};
        int r;

        if (!rq._USCOREthis)
                return vs_oom(err);
        r = VS_CALL(s, CreateFilter, opid, &rq, &rs, err);
        if (r < 0)
                return r;
        if (!rs.returnval || !rs.returnval->__item) {
                op_error_set(err, "InvalidResponse", "CreateFilter returned no filter");
                return -EBADMSG;
        }
        *filter = strdup(rs.returnval->__item);
        return *filter ? 0 : vs_oom(err);
}

int vs_filter_create(struct backend_session *s, const char *opid, const char *type, const char *id,
                     const char *const *paths, int n_paths, char **filter, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        struct vim25__PropertyFilterSpec *spec = soap_malloc(s->soap, sizeof *spec);

        if (!spec || vs_object_filter_spec(s->soap, spec, type, id, paths, n_paths) < 0)
                return vs_oom(err);
        return vs_filter_create_spec(s, opid, spec, filter, err);
}

void vs_filter_destroy(struct backend_session *s, const char *opid, const char *filter) {
        _cleanup_arena_ struct soap *arena = s->soap;
        struct _vim25__DestroyPropertyFilter rq = { ._USCOREthis = vs_mor(s->soap, "PropertyFilter", filter) };
        struct _vim25__DestroyPropertyFilterResponse rs;
        struct op_error e = {};

        if (rq._USCOREthis && VS_CALL(s, DestroyPropertyFilter, opid, &rq, &rs, &e) < 0)
                log_debug("Ignoring failure to destroy property filter %s: %s", filter, e.message);
}

/*
 * One WaitForUpdatesEx of up to max_wait seconds: cb for each ObjectUpdate
 * of filter, *version advanced, *truncated set when vCenter held updates
 * back (the next call with the new version brings the rest).
 */
int vs_wait_updates(struct backend_session *s, const char *opid, const char *filter, int max_wait, char **version,
                    int (*cb)(const struct vim25__ObjectUpdate *ou, void *userdata), void *userdata,
                    bool *truncated, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        struct vim25__WaitOptions opts = { .maxWaitSeconds = &max_wait };
        struct _vim25__WaitForUpdatesEx rq = {
                ._USCOREthis = vs_mor(s->soap, s->property_collector.type, s->property_collector.value),
                .version = *version,
                .options = &opts,
        };
        struct _vim25__WaitForUpdatesExResponse rs = {};
        const struct vim25__UpdateSet *us;
        int r;

        *truncated = false;
        if (!rq._USCOREthis)
                return vs_oom(err);
        r = VS_CALL(s, WaitForUpdatesEx, opid, &rq, &rs, err);
        if (r < 0)
                return r;
        us = rs.returnval;
        if (!us)
                return 0; /* maxWaitSeconds passed without change */

        free(*version);
        *version = us->version ? strdup(us->version) : NULL;
        *truncated = us->truncated && *us->truncated == xsd__boolean__true_;

        for (int i = 0; i < us->__sizefilterSet; i++) {
                const struct vim25__PropertyFilterUpdate *fu = &us->filterSet[i];

                if (!fu->filter.__item || strcmp(fu->filter.__item, filter) != 0)
                        continue;
                for (int j = 0; j < fu->__sizeobjectSet; j++)
                        if (cb(&fu->objectSet[j], userdata) < 0)
                                return vs_oom(err);
        }
        return 0;
}

struct change_cb {
        int (*cb)(const struct vim25__PropertyChange *pc, void *userdata);
        void *userdata;
};

static int each_change(const struct vim25__ObjectUpdate *ou, void *userdata) {
        const struct change_cb *c = userdata;

        for (int k = 0; k < ou->__sizechangeSet; k++)
                if (c->cb(&ou->changeSet[k], c->userdata) < 0)
                        return -ENOMEM;
        return 0;
}

int vs_wait_once(struct backend_session *s, const char *opid, const char *filter, char **version,
                 int (*cb)(const struct vim25__PropertyChange *pc, void *userdata), void *userdata,
                 struct op_error *err) {
        struct change_cb c = { cb, userdata };
        bool truncated;

        return vs_wait_updates(s, opid, filter, VS_WAIT_SLICE_SEC, version, each_change, &c, &truncated, err);
}

struct task_watch {
        struct vs_task *t;
        long quiet_since;      /* monotonic s of the last update seen, or of the last read */
};

static int task_apply_change(const struct vim25__PropertyChange *pc, void *userdata) {
        struct task_watch *w = userdata;

        if (pc->name && strcmp(pc->name, "info") == 0 && pc->__typeval == SOAP_TYPE_vim25__TaskInfo && pc->val) {
                w->quiet_since = vs_monotonic_sec();
                return vs_task_from_info(w->t, pc->val);
        }
        return 0;
}

const struct vim25__TaskInfo *vs_task_info(const struct vim25__ObjectContent *oc) {
        struct vs_props p = { .oc = { oc }, .n = 1 };
        const struct vim25__DynamicProperty *d = vs_prop(&p, "info");

        return d && d->__typeval == SOAP_TYPE_vim25__TaskInfo ? d->val : NULL;
}

static int task_read_cb(const struct vim25__ObjectContent *oc, void *userdata) {
        const struct vim25__TaskInfo *info = vs_task_info(oc);

        return info ? vs_task_from_info(userdata, info) : 0;
}

/*
 * The task's info read directly, when the filter has been quiet for
 * VS_TASK_REREAD_SEC.  vcsim loses an update that lands between a first
 * WaitForUpdatesEx's snapshot and its listener's registration, and the
 * task then looks running for ever; a vCenter that drops a filter's update
 * would do the same.  One read per quiet period costs little next to that.
 */
static int task_reread(struct backend_session *s, const char *opid, const char *task, struct task_watch *w,
                       struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        static const char *const paths[] = { "info" };
        struct vim25__PropertyFilterSpec spec;

        w->quiet_since = vs_monotonic_sec();
        if (vs_object_filter_spec(s->soap, &spec, "Task", task, paths, 1) < 0)
                return vs_oom(err);
        return vs_retrieve(s, opid, &spec, 1, task_read_cb, w->t, err);
}

static int task_wait_slice(struct backend_session *s, const char *opid, const char *task, const char *filter,
                           char **version, struct task_watch *w, struct op_error *err) {
        int r = vs_wait_once(s, opid, filter, version, task_apply_change, w, err);

        if (r < 0 || vs_task_done(w->t) || vs_monotonic_sec() - w->quiet_since < VS_TASK_REREAD_SEC)
                return r;
        return task_reread(s, opid, task, w, err);
}

long vs_monotonic_sec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec;
}

static int task_cancel(struct backend_session *s, const char *opid, const char *task, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        struct _vim25__CancelTask rq = { ._USCOREthis = vs_mor(s->soap, "Task", task) };
        struct _vim25__CancelTaskResponse rs;

        if (!rq._USCOREthis)
                return vs_oom(err);
        return VS_CALL(s, CancelTask, opid, &rq, &rs, err);
}

static void report_progress(const struct op_hooks *hooks, const struct vs_task *t, char **last, int *last_pct) {
        if (!hooks || !hooks->progress || !t->state || vs_task_done(t))
                return;
        if (*last && strcmp(*last, t->state) == 0 && *last_pct == t->progress)
                return;
        hooks->progress(hooks->userdata, t->progress, t->state);
        free(*last);
        *last = strdup(t->state);
        *last_pct = t->progress;
}

/*
 * The cancel request is honoured once: CancelTask, then we keep waiting
 * for the task's real outcome (vCenter may finish it anyway).  A failed
 * CancelTask (not cancelable, already done) is only logged.
 */
static void maybe_cancel(struct backend_session *s, const char *opid, const char *task,
                         const struct op_hooks *hooks, bool *cancelled) {
        struct op_error e = {};

        if (*cancelled || !hooks || !hooks->cancel_requested || !hooks->cancel_requested(hooks->userdata))
                return;
        *cancelled = true;
        if (task_cancel(s, opid, task, &e) < 0)
                log_info("CancelTask %s on endpoint \"%s\" refused: %s: %s", task, s->ep->name, e.fault, e.message);
        else
                log_info("Asked endpoint \"%s\" to cancel task %s", s->ep->name, task);
}

/*
 * The time limit: a caller with a cancel hook bounds the wait itself (the
 * daemon's task-timeout asks to cancel); without one, VS_TASK_TIMEOUT_SEC.
 * Once cancelling, the task gets VS_CANCEL_GRACE_SEC to settle: a task that
 * cannot be cancelled must not hold the worker forever.
 */
static int task_wait_loop(struct backend_session *s, const char *opid, const char *task, const char *filter,
                          const struct op_hooks *hooks, struct vs_task *t, struct op_error *err) {
        _cleanup_free_ char *version = NULL, *last = NULL;
        bool bounded_by_caller = hooks && hooks->cancel_requested;
        long deadline = bounded_by_caller ? LONG_MAX : vs_monotonic_sec() + VS_TASK_TIMEOUT_SEC;
        struct task_watch w = { t, vs_monotonic_sec() };
        bool cancelled = false;
        int last_pct = -2;

        report_progress(hooks, t, &last, &last_pct); /* t as the caller last read it */
        while (!vs_task_done(t)) {
                int r;

                if (vs_monotonic_sec() >= deadline) {
                        op_error_set(err, "TaskTimeout", "Task %s on endpoint \"%s\" still %s %s; its outcome is "
                                     "unknown", task, s->ep->name, t->state ? t->state : "pending",
                                     cancelled ? "after the cancel request" : "after the backend's time limit");
                        return -ETIMEDOUT;
                }
                if (!cancelled) {
                        maybe_cancel(s, opid, task, hooks, &cancelled);
                        if (cancelled && deadline > vs_monotonic_sec() + VS_CANCEL_GRACE_SEC)
                                deadline = vs_monotonic_sec() + VS_CANCEL_GRACE_SEC;
                }
                r = task_wait_slice(s, opid, task, filter, &version, &w, err);
                if (r < 0)
                        return r;
                report_progress(hooks, t, &last, &last_pct);
        }
        return 0;
}

int vs_task_wait(struct backend_session *s, const char *opid, const char *task, const struct op_hooks *hooks,
                 struct vs_task *out, struct op_error *err) {
        static const char *const paths[] = { "info" };
        _cleanup_free_ char *filter = NULL;
        int r;

        r = vs_filter_create(s, opid, "Task", task, paths, 1, &filter, err);
        if (r < 0)
                return r;
        r = task_wait_loop(s, opid, task, filter, hooks, out, err);
        vs_filter_destroy(s, opid, filter);
        return r;
}

/* ---- Session ------------------------------------------------------------ */

static void session_forget(struct backend_session *s) {
        vs_ref_clear(&s->view);
}

void vs_session_free_raw(struct backend_session *s) {
        if (!s)
                return;
        vsphere_transport_free(s->soap);
        free(s->action);
        vs_ref_clear(&s->property_collector);
        vs_ref_clear(&s->session_manager);
        vs_ref_clear(&s->view_manager);
        vs_ref_clear(&s->root_folder);
        vs_ref_clear(&s->event_manager);
        vs_ref_clear(&s->task_manager);
        vs_ref_clear(&s->view);
        vs_session_names_clear(s);
        vs_prepared_clear(&s->prep);
        free(s);
}

int vs_session_new_raw(const struct endpoint_config *ep, struct backend_session **out, struct op_error *err) {
        struct backend_session *s;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return vs_oom(err);
        s->ep = ep;
        s->action = strdup(VS_DEFAULT_ACTION);
        if (!s->action) {
                free(s);
                return vs_oom(err);
        }
        r = vsphere_transport_new(ep, &s->soap, err);
        if (r < 0) {
                vs_session_free_raw(s);
                return r;
        }
        *out = s;
        return 0;
}

/* A pooled session: a context of its own, and a share of the endpoint's inventory mirror. */
static int session_new(const struct endpoint_config *ep, struct backend_session **out, struct op_error *err) {
        struct backend_session *s;
        int r;

        r = vs_session_new_raw(ep, &s, err);
        if (r < 0)
                return r;
        r = vs_mirror_get(ep, &s->mirror);
        if (r < 0) {
                vs_session_free_raw(s);
                return vs_oom(err);
        }
        *out = s;
        return 0;
}

static void session_free(struct backend_session *s) {
        if (!s)
                return;
        vs_mirror_put(s->mirror);
        vs_session_free_raw(s);
}

/* The managers every later call goes through; copied, since the answer lives in the arena. */
static int keep_service_refs(struct backend_session *s, const struct vim25__ServiceContent *sc) {
        if (vs_ref_set(&s->property_collector, &sc->propertyCollector) < 0 ||
            vs_ref_set(&s->session_manager, sc->sessionManager) < 0 ||
            vs_ref_set(&s->view_manager, sc->viewManager) < 0 ||
            vs_ref_set(&s->root_folder, &sc->rootFolder) < 0)
                return -ENOMEM;
        /* Optional in the schema; only post_event and recovery need them. */
        if ((sc->eventManager && vs_ref_set(&s->event_manager, sc->eventManager) < 0) ||
            (sc->taskManager && vs_ref_set(&s->task_manager, sc->taskManager) < 0))
                return -ENOMEM;
        return 0;
}

/* Real vCenter picks the API version from SOAPAction (notes P12): speak the one it reports. */
static int use_api_version(struct backend_session *s, const char *api_version) {
        char *a;

        if (!api_version || !*api_version)
                return 0;
        if (asprintf(&a, "urn:vim25/%s", api_version) < 0)
                return -ENOMEM;
        free(s->action);
        s->action = a;
        return 0;
}

bool vs_api_at_least(const struct backend_session *s, int major, int minor) {
        const char *v = s->action ? strrchr(s->action, '/') : NULL;
        int ma = 0, mi = 0;

        if (!v || sscanf(v + 1, "%d.%d", &ma, &mi) < 1)
                return false;
        return ma > major || (ma == major && mi >= minor);
}

static int vs_service_content(struct backend_session *s, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        struct _vim25__RetrieveServiceContent rq = { ._USCOREthis = vs_mor(s->soap, "ServiceInstance", "ServiceInstance") };
        struct _vim25__RetrieveServiceContentResponse rs = {};
        const struct vim25__ServiceContent *sc;
        int r;

        if (!rq._USCOREthis)
                return vs_oom(err);
        r = VS_CALL(s, RetrieveServiceContent, VS_LOGIN_OPID, &rq, &rs, err);
        if (r < 0)
                return r;
        sc = rs.returnval;
        if (!sc || !sc->sessionManager || !sc->viewManager) {
                op_error_set(err, "InvalidResponse", "Endpoint \"%s\" is not a vCenter (no session or view manager)",
                             s->ep->name);
                return -EPROTO;
        }
        if (keep_service_refs(s, sc) < 0 || use_api_version(s, sc->about.apiVersion) < 0)
                return vs_oom(err);
        log_debug("Endpoint \"%s\": %s, API %s", s->ep->name, strempty(sc->about.fullName),
                  strempty(sc->about.apiVersion));
        return 0;
}

static int vs_session_login(struct backend_session *s, char **who, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        struct _vim25__Login rq = {
                ._USCOREthis = vs_mor(s->soap, s->session_manager.type, s->session_manager.value),
                .userName = s->ep->user,
                .password = s->ep->password,
        };
        struct _vim25__LoginResponse rs = {};
        int r;

        if (!rq._USCOREthis)
                return vs_oom(err);
        r = VS_CALL(s, Login, VS_LOGIN_OPID, &rq, &rs, err);
        /* The request (with the password) is gone from the arena with the guard. */
        if (r < 0)
                return r;
        if (!rs.returnval || !rs.returnval->userName) {
                op_error_set(err, "InvalidResponse", "Login on endpoint \"%s\" returned no user session", s->ep->name);
                return -EPROTO;
        }
        *who = strdup(rs.returnval->userName);
        return *who ? 0 : vs_oom(err);
}

/*
 * The view over all VMs, hosts and datastores that read_target searches:
 * one RetrievePropertiesEx then finds the VM and the names around it.
 */
static int vs_create_view(struct backend_session *s, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        static const char *const types[] = { "VirtualMachine", "HostSystem", "Datastore" };
        struct _vim25__CreateContainerView rq = {
                ._USCOREthis = vs_mor(s->soap, s->view_manager.type, s->view_manager.value),
                .container = vs_mor(s->soap, s->root_folder.type, s->root_folder.value),
                .__sizetype = ELEMENTSOF(types),
                .type = (char **) types,
                .recursive = xsd__boolean__true_,
        };
        struct _vim25__CreateContainerViewResponse rs = {};
        int r;

        if (!rq._USCOREthis || !rq.container)
                return vs_oom(err);
        r = VS_CALL(s, CreateContainerView, VS_LOGIN_OPID, &rq, &rs, err);
        if (r < 0)
                return r;
        r = vs_ref_set(&s->view, rs.returnval);
        if (r == -EBADMSG) {
                op_error_set(err, "InvalidResponse", "CreateContainerView returned no view");
                return -EPROTO;
        }
        return r < 0 ? vs_oom(err) : 0;
}

int vs_login(struct backend_session *s, char **who, struct op_error *err) {
        _cleanup_free_ char *user = NULL;
        int r;

        /* A still-valid cookie makes Login fail (notes P14); the old view dies with it. */
        vsphere_transport_clear_cookie(s->soap);
        session_forget(s);

        r = vs_service_content(s, err);
        if (r < 0)
                return r;
        r = vs_session_login(s, &user, err);
        if (r < 0)
                return r;
        r = vs_create_view(s, err);
        if (r < 0)
                return r;

        log_debug("Logged in to endpoint \"%s\" as %s", s->ep->name, user);
        *who = TAKE_PTR(user);
        return 0;
}

int vs_logout(struct backend_session *s, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        struct _vim25__Logout rq = {};
        struct _vim25__LogoutResponse rs;
        int r = 0;

        if (s->session_manager.value) {
                rq._USCOREthis = vs_mor(s->soap, s->session_manager.type, s->session_manager.value);
                if (!rq._USCOREthis)
                        return vs_oom(err);
                r = VS_CALL(s, Logout, VS_LOGOUT_OPID, &rq, &rs, err);
                if (r == -EKEYEXPIRED)
                        r = 0; /* already logged out or expired: the goal is reached */
        }
        vsphere_transport_clear_cookie(s->soap);
        session_forget(s);
        return r;
}


/* The SDK URL: https, a host, and no credentials (they would end up in logs, the trail and dumps). */
static int vs_endpoint_check(const struct endpoint_config *ep, char *why, size_t whylen) {
        static const char scheme[] = "https://";
        const char *url = ep->url, *host = url + strlen(scheme);

        if (strncasecmp(url, scheme, strlen(scheme)) != 0)
                snprintf(why, whylen, "url must start with https:// (got \"%s\")", url);
        else if (*host == '\0' || *host == '/')
                snprintf(why, whylen, "url \"%s\" has no host", url);
        else if (memchr(host, '@', strcspn(host, "/?#")))
                snprintf(why, whylen, "url must not contain a user name or password; use user and password-file");
        else
                return 0;
        return -EINVAL;
}

static unsigned round_trips(struct backend_session *s) {
        return vsphere_transport_round_trips(s->soap);
}

/* What vSphere 7/8 accepts (configuration maximums), checked by the daemon before any call. */
static const struct backend_limits limits = {
        .cpu_max = 768,
        .memory_mib_min = 4,
        .memory_mib_max = 24LL * 1024 * 1024,   /* 24 TiB */
        .memory_mib_step = 4,
        .disk_mib_max = 62LL * 1024 * 1024,     /* 62 TiB, VMFS's largest virtual disk */
        .name_max = 80,
};

const struct backend_ops backend_vsphere = {
        .name = "vsphere",
        .limits = &limits,
        .needs_credentials = true,
        .takes_tls_trust = true,
        .global_init = vsphere_transport_global_init,
        .endpoint_check = vs_endpoint_check,
        .session_new = session_new,
        .session_free = session_free,
        .round_trips = round_trips,
        .login = vs_login,
        .logout = vs_logout,
        .read_target = vs_read_target,
        .perform = vs_perform,
        .post_event = vs_post_event,
        .list_vms = vs_list_vms,
        .show_vm = vs_show_vm,
        .task_outcome = vs_task_outcome,
        .watch_start = vs_watch_start,
        .watch_stop = vs_watch_stop,
        .mirror_heard_ms = vs_mirror_heard_ms,
};
