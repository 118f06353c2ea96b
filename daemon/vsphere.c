/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vSphere backend: struct backend_ops over the vim25 SOAP API (gSOAP
 * bindings generated from vim25.h; TLS, cookie, opID header and fault
 * mapping in vsphere_transport.c).
 *
 * Memory: everything gSOAP decodes lives in the context's arena.  Each
 * helper below that talks to vCenter copies what it needs to malloc'd memory
 * and ends the arena before returning (the _cleanup_arena_ guard), so no
 * arena pointer outlives the helper that made the call.
 *
 * Adding an operation: a request builder (like vs_rename_call()), then the
 * generic pieces: vs_task_wait() for its Task, vs_retrieve()/vs_read_vm()
 * to read the result back.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vimH.h"

#include "backend.h"
#include "config.h"
#include "log.h"
#include "macros.h"
#include "vsphere.h"
#include "vsphere_transport.h"

#define VS_DEFAULT_ACTION   "urn:vim25/6.5"
#define VS_LOGIN_OPID       "vmtraced-login"
#define VS_LOGOUT_OPID      "vmtraced-logout"
#define VS_WAIT_SLICE_SEC   20    /* per WaitForUpdatesEx; below the 30 s receive timeout */
#define VS_RENAME_TIMEOUT_SEC 600

struct vs_ref {
        char *type;
        char *value;
};

struct backend_session {
        const struct endpoint_config *ep;  /* fixed */
        struct soap *soap;                 /* fixed; its arena is empty between calls */

        /* Set by login, valid until the next login. */
        char *action;                      /* SOAPAction "urn:vim25/<apiVersion>" */
        struct vs_ref property_collector;
        struct vs_ref session_manager;
        struct vs_ref view_manager;
        struct vs_ref root_folder;
        struct vs_ref view;                /* ContainerView of VMs and hosts; dies with the vSphere session */

        /* The last VM read_target found and its host: spares perform's read-back a round trip. */
        char *last_vm;
        char *last_host;
};

static void arena_endp(struct soap **soap) {
        if (*soap) {
                soap_destroy(*soap);
                soap_end(*soap);
        }
}
#define _cleanup_arena_ _unused_ _cleanup_(arena_endp)

/* One SOAP call with the session's URL and SOAPAction; returns 0 or a negative errno with *err set. */
#define VS_CALL(s, method, opid, req, resp, err)                                                  \
        ({                                                                                        \
                vsphere_transport_begin((s)->soap, (opid));                                       \
                soap_call___vim25__##method((s)->soap, (s)->ep->url, (s)->action, (req), (resp)); \
                vsphere_transport_check((s)->soap, #method, (err));                               \
        })

static int oom(struct op_error *err) {
        op_error_set(err, "InternalError", "Out of memory");
        return -ENOMEM;
}

static void vs_ref_clear(struct vs_ref *r) {
        free(r->type);
        free(r->value);
        r->type = r->value = NULL;
}

static int vs_ref_set(struct vs_ref *r, const struct vim25__ManagedObjectReference *m) {
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
static struct vim25__ManagedObjectReference *mor(struct soap *soap, const char *type, const char *value) {
        struct vim25__ManagedObjectReference *m = soap_malloc(soap, sizeof *m);

        if (m) {
                m->type = (char *) type;
                m->__item = (char *) value;
        }
        return m;
}

static const char *val_string(int type, const void *val) {
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

static const struct vim25__ManagedObjectReference *val_mor(int type, const void *val) {
        return type == SOAP_TYPE_vim25__ManagedObjectReference ? val : NULL;
}

static const struct vim25__DynamicProperty *prop_find(const struct vim25__ObjectContent *oc, const char *name) {
        for (int i = 0; i < oc->__sizepropSet; i++)
                if (oc->propSet[i].name && strcmp(oc->propSet[i].name, name) == 0)
                        return &oc->propSet[i];
        return NULL;
}

static const char *prop_string(const struct vim25__ObjectContent *oc, const char *name) {
        const struct vim25__DynamicProperty *p = prop_find(oc, name);

        return p ? val_string(p->__typeval, p->val) : NULL;
}

static const struct vim25__ManagedObjectReference *prop_mor(const struct vim25__ObjectContent *oc,
                                                              const char *name) {
        const struct vim25__DynamicProperty *p = prop_find(oc, name);

        return p ? val_mor(p->__typeval, p->val) : NULL;
}

static bool mor_is(const struct vim25__ManagedObjectReference *m, const char *type) {
        return m && m->type && m->__item && strcmp(m->type, type) == 0;
}

/* ---- PropertyCollector -------------------------------------------------- */

/* A one-type PropertySpec in the arena. */
static int prop_spec(struct soap *soap, struct vim25__PropertySpec *ps, const char *type,
                     const char *const *paths, int n_paths) {
        ps->type = (char *) type;
        ps->all = NULL;
        ps->__sizepathSet = n_paths;
        ps->pathSet = soap_malloc(soap, n_paths * sizeof(char *));
        if (!ps->pathSet)
                return -ENOMEM;
        for (int i = 0; i < n_paths; i++)
                ps->pathSet[i] = (char *) paths[i];
        return 0;
}

/*
 * Call cb for every object of the result, following the continuation token
 * (real vCenter pages large results).  The contents are arena memory: valid
 * until the caller's arena guard ends it.
 */
static int vs_retrieve(struct backend_session *s, const char *opid, struct vim25__PropertyFilterSpec *spec,
                       int (*cb)(const struct vim25__ObjectContent *oc, void *userdata), void *userdata,
                       struct op_error *err) {
        struct _vim25__RetrievePropertiesEx rq = {
                ._USCOREthis = mor(s->soap, s->property_collector.type, s->property_collector.value),
                .__sizespecSet = 1,
                .specSet = spec,
                .options = soap_malloc(s->soap, sizeof(struct vim25__RetrieveOptions)),
        };
        struct _vim25__RetrievePropertiesExResponse rs = {};
        struct vim25__RetrieveResult *res;
        int r;

        if (!rq._USCOREthis || !rq.options)
                return oom(err);
        rq.options->maxObjects = NULL;

        r = VS_CALL(s, RetrievePropertiesEx, opid, &rq, &rs, err);
        if (r < 0)
                return r;

        for (res = rs.returnval; res;) {
                struct _vim25__ContinueRetrievePropertiesEx crq = { ._USCOREthis = rq._USCOREthis };
                struct _vim25__ContinueRetrievePropertiesExResponse crs = {};

                for (int i = 0; i < res->__sizeobjects; i++) {
                        r = cb(&res->objects[i], userdata);
                        if (r < 0)
                                return oom(err);
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
static int object_filter_spec(struct soap *soap, struct vim25__PropertyFilterSpec *spec, const char *type,
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
        return prop_spec(soap, spec->propSet, type, paths, n_paths);
}

static int name_cb(const struct vim25__ObjectContent *oc, void *userdata) {
        char **name = userdata;
        const char *n = prop_string(oc, "name");

        if (n && !*name && !(*name = strdup(n)))
                return -ENOMEM;
        return 0;
}

/* Read the "name" of one managed object. */
static int vs_read_name(struct backend_session *s, const char *opid, const char *type, const char *value,
                        char **name, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        static const char *const paths[] = { "name" };
        struct vim25__PropertyFilterSpec spec;
        int r;

        if (object_filter_spec(s->soap, &spec, type, value, paths, 1) < 0)
                return oom(err);
        r = vs_retrieve(s, opid, &spec, name_cb, name, err);
        if (r < 0)
                return r;
        if (!*name) {
                op_error_set(err, "NotFound", "%s %s not found on endpoint \"%s\"", type, value, s->ep->name);
                return -ENOENT;
        }
        return 0;
}

struct vm_read {
        const char *vm;
        const char *host_hint;  /* HostSystem the VM ran on when last seen, or NULL */
        char *name;
        char *host_ref;         /* its runtime.host now */
        char *hint_name;        /* name of host_hint */
};

static void vm_read_done(struct vm_read *v) {
        free(v->name);
        free(v->host_ref);
        free(v->hint_name);
}

static int vm_read_cb(const struct vim25__ObjectContent *oc, void *userdata) {
        struct vm_read *v = userdata;
        const char *name = prop_string(oc, "name");

        if (mor_is(&oc->obj, "VirtualMachine") && strcmp(oc->obj.__item, v->vm) == 0) {
                const struct vim25__ManagedObjectReference *h = prop_mor(oc, "runtime.host");

                if (name && !v->name && !(v->name = strdup(name)))
                        return -ENOMEM;
                if (mor_is(h, "HostSystem") && !v->host_ref && !(v->host_ref = strdup(h->__item)))
                        return -ENOMEM;
        } else if (mor_is(&oc->obj, "HostSystem") && name && !v->hint_name && !(v->hint_name = strdup(name)))
                return -ENOMEM;
        return 0;
}

/* One RetrievePropertiesEx: the VM's name and runtime.host, and the hinted host's name. */
static int vs_read_vm_once(struct backend_session *s, const char *opid, struct vm_read *v, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        static const char *const vm_paths[] = { "name", "runtime.host" };
        static const char *const host_paths[] = { "name" };
        struct vim25__PropertyFilterSpec spec = {
                .__sizepropSet = 2,
                .propSet = soap_malloc(s->soap, 2 * sizeof(struct vim25__PropertySpec)),
                .__sizeobjectSet = v->host_hint ? 2 : 1,
                .objectSet = soap_malloc(s->soap, 2 * sizeof(struct vim25__ObjectSpec)),
        };

        if (!spec.propSet || !spec.objectSet ||
            prop_spec(s->soap, &spec.propSet[0], "VirtualMachine", vm_paths, 2) < 0 ||
            prop_spec(s->soap, &spec.propSet[1], "HostSystem", host_paths, 1) < 0)
                return oom(err);
        spec.objectSet[0] = (struct vim25__ObjectSpec) { .obj = { (char *) v->vm, "VirtualMachine" } };
        spec.objectSet[1] = (struct vim25__ObjectSpec) { .obj = { (char *) v->host_hint, "HostSystem" } };
        return vs_retrieve(s, opid, &spec, vm_read_cb, v, err);
}

/*
 * Read a VM's name and the name of the host it runs on: one round trip when
 * it is still on host_hint, two when it moved or there is no hint.
 */
static int vs_read_vm(struct backend_session *s, const char *opid, const char *vm, const char *host_hint,
                      char **name, char **host, struct op_error *err) {
        _cleanup_(vm_read_done) struct vm_read v = { .vm = vm, .host_hint = host_hint };
        int r;

        r = vs_read_vm_once(s, opid, &v, err);
        if (r < 0)
                return r;
        if (!v.name) {
                op_error_set(err, "NotFound", "VM %s not found on endpoint \"%s\"", vm, s->ep->name);
                return -ENOENT;
        }
        if (v.host_ref && (!host_hint || strcmp(v.host_ref, host_hint) != 0)) {
                free(v.hint_name);
                v.hint_name = NULL;
                r = vs_read_name(s, opid, "HostSystem", v.host_ref, &v.hint_name, err);
                if (r < 0)
                        return r;
        }
        *name = TAKE_PTR(v.name);
        *host = v.host_ref ? TAKE_PTR(v.hint_name) : NULL;
        return 0;
}

/* ---- Tasks -------------------------------------------------------------- */

struct task_state {
        char *state;           /* queued running success error */
        char fault[128];
        char *message;
        char *result;          /* value of a reference-valued info.result */
};

static void task_state_clear(struct task_state *ts) {
        free(ts->state);
        free(ts->message);
        free(ts->result);
}

static bool task_done(const struct task_state *ts) {
        return ts->state && (strcmp(ts->state, "success") == 0 || strcmp(ts->state, "error") == 0);
}

static int task_apply_change(struct task_state *ts, const struct vim25__PropertyChange *pc) {
        if (!pc->name || !pc->val)
                return 0;

        if (strcmp(pc->name, "info.state") == 0) {
                const char *v = val_string(pc->__typeval, pc->val);

                free(ts->state);
                ts->state = v ? strdup(v) : NULL;
                return v && !ts->state ? -ENOMEM : 0;
        }
        if (strcmp(pc->name, "info.error") == 0 && pc->__typeval == SOAP_TYPE_vim25__LocalizedMethodFault) {
                const struct vim25__LocalizedMethodFault *f = pc->val;

                vsphere_fault_type(f->__any, ts->fault, sizeof ts->fault);
                free(ts->message);
                ts->message = f->localizedMessage ? strdup(f->localizedMessage) : NULL;
                return f->localizedMessage && !ts->message ? -ENOMEM : 0;
        }
        if (strcmp(pc->name, "info.result") == 0 && val_mor(pc->__typeval, pc->val)) {
                free(ts->result);
                ts->result = strdup(((const struct vim25__ManagedObjectReference *) pc->val)->__item);
                return ts->result ? 0 : -ENOMEM;
        }
        return 0;
}

static int task_filter_create(struct backend_session *s, const char *opid, const char *task, char **filter,
                              struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        static const char *const paths[] = { "info.state", "info.error", "info.result" };
        struct _vim25__CreateFilter rq = {
                ._USCOREthis = mor(s->soap, s->property_collector.type, s->property_collector.value),
                .spec = soap_malloc(s->soap, sizeof(struct vim25__PropertyFilterSpec)),
                .partialUpdates = xsd__boolean__false_,
        };
        struct _vim25__CreateFilterResponse rs = {};
        int r;

        if (!rq._USCOREthis || !rq.spec || object_filter_spec(s->soap, rq.spec, "Task", task, paths, 3) < 0)
                return oom(err);
        r = VS_CALL(s, CreateFilter, opid, &rq, &rs, err);
        if (r < 0)
                return r;
        if (!rs.returnval || !rs.returnval->__item) {
                op_error_set(err, "InvalidResponse", "CreateFilter returned no filter");
                return -EBADMSG;
        }
        *filter = strdup(rs.returnval->__item);
        return *filter ? 0 : oom(err);
}

static void task_filter_destroy(struct backend_session *s, const char *opid, const char *filter) {
        _cleanup_arena_ struct soap *arena = s->soap;
        struct _vim25__DestroyPropertyFilter rq = { ._USCOREthis = mor(s->soap, "PropertyFilter", filter) };
        struct _vim25__DestroyPropertyFilterResponse rs;
        struct op_error e = {};

        if (rq._USCOREthis && VS_CALL(s, DestroyPropertyFilter, opid, &rq, &rs, &e) < 0)
                log_debug("Ignoring failure to destroy property filter %s: %s", filter, e.message);
}

/* One WaitForUpdatesEx: apply the changes of our filter to ts, advance *version. */
static int task_wait_once(struct backend_session *s, const char *opid, const char *filter, char **version,
                          struct task_state *ts, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        int max_wait = VS_WAIT_SLICE_SEC;
        struct vim25__WaitOptions opts = { .maxWaitSeconds = &max_wait };
        struct _vim25__WaitForUpdatesEx rq = {
                ._USCOREthis = mor(s->soap, s->property_collector.type, s->property_collector.value),
                .version = *version,
                .options = &opts,
        };
        struct _vim25__WaitForUpdatesExResponse rs = {};
        const struct vim25__UpdateSet *us;
        int r;

        if (!rq._USCOREthis)
                return oom(err);
        r = VS_CALL(s, WaitForUpdatesEx, opid, &rq, &rs, err);
        if (r < 0)
                return r;
        us = rs.returnval;
        if (!us)
                return 0; /* maxWaitSeconds passed without change */

        free(*version);
        *version = us->version ? strdup(us->version) : NULL;

        for (int i = 0; i < us->__sizefilterSet; i++) {
                const struct vim25__PropertyFilterUpdate *fu = &us->filterSet[i];

                if (!fu->filter.__item || strcmp(fu->filter.__item, filter) != 0)
                        continue;
                for (int j = 0; j < fu->__sizeobjectSet; j++)
                        for (int k = 0; k < fu->objectSet[j].__sizechangeSet; k++)
                                if (task_apply_change(ts, &fu->objectSet[j].changeSet[k]) < 0)
                                        return oom(err);
        }
        return 0;
}

static long monotonic_sec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec;
}

static int task_wait_loop(struct backend_session *s, const char *opid, const char *task, const char *filter,
                          unsigned timeout_sec, struct task_state *ts, struct op_error *err) {
        _cleanup_free_ char *version = NULL;
        long deadline = monotonic_sec() + timeout_sec;
        int r;

        while (!task_done(ts)) {
                if (monotonic_sec() >= deadline) {
                        op_error_set(err, "TaskTimeout", "Task %s on endpoint \"%s\" still %s after %u s",
                                     task, s->ep->name, ts->state ? ts->state : "pending", timeout_sec);
                        return -ETIMEDOUT;
                }
                r = task_wait_once(s, opid, filter, &version, ts, err);
                if (r < 0)
                        return r;
                log_debug("Task %s: %s", task, strempty(ts->state));
        }
        return 0;
}

/*
 * Wait until the Task finishes, with a PropertyCollector filter on its
 * info.state/info.error/info.result and WaitForUpdatesEx (vCenter pushes
 * the changes; no sleep polling).  Returns 0 on success (*result gets a
 * reference-valued info.result if asked for), -EREMOTEIO with err set from
 * info.error when the task failed, -ETIMEDOUT after timeout_sec.
 */
static int vs_task_wait(struct backend_session *s, const char *opid, const char *task, unsigned timeout_sec,
                        char **result, struct op_error *err) {
        _cleanup_free_ char *filter = NULL;
        _cleanup_(task_state_clear) struct task_state ts = {};
        int r;

        r = task_filter_create(s, opid, task, &filter, err);
        if (r < 0)
                return r;
        r = task_wait_loop(s, opid, task, filter, timeout_sec, &ts, err);
        task_filter_destroy(s, opid, filter);
        if (r < 0)
                return r;

        if (strcmp(ts.state, "error") == 0) {
                if (!ts.fault[0])
                        snprintf(ts.fault, sizeof ts.fault, "%s", "MethodFault");
                op_error_set(err, ts.fault, "%s", ts.message && *ts.message ? ts.message : ts.fault);
                return -EREMOTEIO;
        }
        if (result)
                *result = TAKE_PTR(ts.result);
        return 0;
}

/* ---- Session ------------------------------------------------------------ */

static void session_forget(struct backend_session *s) {
        vs_ref_clear(&s->view);
}

static void session_free(struct backend_session *s) {
        if (!s)
                return;
        vsphere_transport_free(s->soap);
        free(s->action);
        vs_ref_clear(&s->property_collector);
        vs_ref_clear(&s->session_manager);
        vs_ref_clear(&s->view_manager);
        vs_ref_clear(&s->root_folder);
        vs_ref_clear(&s->view);
        free(s->last_vm);
        free(s->last_host);
        free(s);
}

static int session_new(const struct endpoint_config *ep, struct backend_session **out, struct op_error *err) {
        struct backend_session *s;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return oom(err);
        s->ep = ep;
        s->action = strdup(VS_DEFAULT_ACTION);
        if (!s->action) {
                free(s);
                return oom(err);
        }
        r = vsphere_transport_new(ep, &s->soap, err);
        if (r < 0) {
                session_free(s);
                return r;
        }
        *out = s;
        return 0;
}

static int vs_service_content(struct backend_session *s, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        struct _vim25__RetrieveServiceContent rq = { ._USCOREthis = mor(s->soap, "ServiceInstance", "ServiceInstance") };
        struct _vim25__RetrieveServiceContentResponse rs = {};
        const struct vim25__ServiceContent *sc;
        int r;

        if (!rq._USCOREthis)
                return oom(err);
        r = VS_CALL(s, RetrieveServiceContent, VS_LOGIN_OPID, &rq, &rs, err);
        if (r < 0)
                return r;
        sc = rs.returnval;
        if (!sc || !sc->sessionManager || !sc->viewManager) {
                op_error_set(err, "InvalidResponse", "Endpoint \"%s\" is not a vCenter (no session or view manager)",
                             s->ep->name);
                return -EPROTO;
        }
        if (vs_ref_set(&s->property_collector, &sc->propertyCollector) < 0 ||
            vs_ref_set(&s->session_manager, sc->sessionManager) < 0 ||
            vs_ref_set(&s->view_manager, sc->viewManager) < 0 ||
            vs_ref_set(&s->root_folder, &sc->rootFolder) < 0)
                return oom(err);

        /* Real vCenter picks the API version from SOAPAction (notes P12). */
        if (sc->about.apiVersion && *sc->about.apiVersion) {
                char *a;

                if (asprintf(&a, "urn:vim25/%s", sc->about.apiVersion) < 0)
                        return oom(err);
                free(s->action);
                s->action = a;
        }
        log_debug("Endpoint \"%s\": %s, API %s", s->ep->name, strempty(sc->about.fullName),
                  strempty(sc->about.apiVersion));
        return 0;
}

static int vs_session_login(struct backend_session *s, char **who, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        struct _vim25__Login rq = {
                ._USCOREthis = mor(s->soap, s->session_manager.type, s->session_manager.value),
                .userName = s->ep->user,
                .password = s->ep->password,
        };
        struct _vim25__LoginResponse rs = {};
        int r;

        if (!rq._USCOREthis)
                return oom(err);
        r = VS_CALL(s, Login, VS_LOGIN_OPID, &rq, &rs, err);
        /* The request (with the password) is gone from the arena with the guard. */
        if (r < 0)
                return r;
        if (!rs.returnval || !rs.returnval->userName) {
                op_error_set(err, "InvalidResponse", "Login on endpoint \"%s\" returned no user session", s->ep->name);
                return -EPROTO;
        }
        *who = strdup(rs.returnval->userName);
        return *who ? 0 : oom(err);
}

/*
 * The view over all VMs and hosts that read_target searches: one
 * RetrievePropertiesEx then finds the VM and its host's name.
 */
static int vs_create_view(struct backend_session *s, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        static const char *const types[] = { "VirtualMachine", "HostSystem" };
        struct _vim25__CreateContainerView rq = {
                ._USCOREthis = mor(s->soap, s->view_manager.type, s->view_manager.value),
                .container = mor(s->soap, s->root_folder.type, s->root_folder.value),
                .__sizetype = ELEMENTSOF(types),
                .type = (char **) types,
                .recursive = xsd__boolean__true_,
        };
        struct _vim25__CreateContainerViewResponse rs = {};
        int r;

        if (!rq._USCOREthis || !rq.container)
                return oom(err);
        r = VS_CALL(s, CreateContainerView, VS_LOGIN_OPID, &rq, &rs, err);
        if (r < 0)
                return r;
        r = vs_ref_set(&s->view, rs.returnval);
        if (r == -EBADMSG) {
                op_error_set(err, "InvalidResponse", "CreateContainerView returned no view");
                return -EPROTO;
        }
        return r < 0 ? oom(err) : 0;
}

static int login(struct backend_session *s, char **who, struct op_error *err) {
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

static int logout(struct backend_session *s, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        struct _vim25__Logout rq = {};
        struct _vim25__LogoutResponse rs;
        int r = 0;

        if (s->session_manager.value) {
                rq._USCOREthis = mor(s->soap, s->session_manager.type, s->session_manager.value);
                if (!rq._USCOREthis)
                        return oom(err);
                r = VS_CALL(s, Logout, VS_LOGOUT_OPID, &rq, &rs, err);
                if (r == -EKEYEXPIRED)
                        r = 0; /* already logged out or expired: the goal is reached */
        }
        vsphere_transport_clear_cookie(s->soap);
        session_forget(s);
        return r;
}

/* ---- Finding the target ------------------------------------------------- */

struct vm_match {
        const char *id;
        const char *uuid;
        const char *host;      /* HostSystem moref value */
};

struct host_entry {
        const char *id;
        const char *name;
};

/* What one RetrievePropertiesEx over the view returns; arena strings. */
struct inventory {
        const char *want;
        struct vm_match *matches;
        size_t n_matches;
        struct host_entry *hosts;
        size_t n_hosts;
        bool authenticated;
};

static void inventory_done(struct inventory *inv) {
        free(inv->matches);
        free(inv->hosts);
}

static int inventory_cb(const struct vim25__ObjectContent *oc, void *userdata) {
        struct inventory *inv = userdata;

        if (mor_is(&oc->obj, "VirtualMachine")) {
                const char *name = prop_string(oc, "name");
                const struct vim25__ManagedObjectReference *host = prop_mor(oc, "runtime.host");
                struct vm_match *m;

                /* Byte-exact: vCenter's names are UTF-8 and case-sensitive. */
                if (!name || strcmp(name, inv->want) != 0)
                        return 0;
                m = reallocarray(inv->matches, inv->n_matches + 1, sizeof *m);
                if (!m)
                        return -ENOMEM;
                inv->matches = m;
                inv->matches[inv->n_matches++] = (struct vm_match) {
                        .id = oc->obj.__item,
                        .uuid = prop_string(oc, "config.uuid"),
                        .host = mor_is(host, "HostSystem") ? host->__item : NULL,
                };
        } else if (mor_is(&oc->obj, "HostSystem")) {
                struct host_entry *h = reallocarray(inv->hosts, inv->n_hosts + 1, sizeof *h);

                if (!h)
                        return -ENOMEM;
                inv->hosts = h;
                inv->hosts[inv->n_hosts++] = (struct host_entry) { oc->obj.__item, prop_string(oc, "name") };
        } else if (mor_is(&oc->obj, "SessionManager"))
                inv->authenticated = prop_find(oc, "currentSession") != NULL;
        return 0;
}

static const char *inventory_host_name(const struct inventory *inv, const char *id) {
        for (size_t i = 0; id && i < inv->n_hosts; i++)
                if (strcmp(inv->hosts[i].id, id) == 0)
                        return inv->hosts[i].name;
        return NULL;
}

/*
 * All VMs (name, config.uuid, runtime.host) and hosts (name) of the view,
 * plus SessionManager.currentSession: vcsim answers RetrievePropertiesEx
 * without a session (with nothing), so an absent currentSession is how we
 * tell "not logged in" from "no such VM".
 */
static int inventory_spec(struct backend_session *s, struct vim25__PropertyFilterSpec *spec) {
        static const char *const vm_paths[] = { "name", "config.uuid", "runtime.host" };
        static const char *const host_paths[] = { "name" };
        static const char *const sm_paths[] = { "currentSession" };
        struct soap *soap = s->soap;
        struct vim25__TraversalSpec *ts = soap_malloc(soap, sizeof *ts);
        struct __vim25__SelectionSpecItem *sel = soap_malloc(soap, sizeof *sel);
        struct vim25__PropertySpec *ps = soap_malloc(soap, 3 * sizeof *ps);
        struct vim25__ObjectSpec *os = soap_malloc(soap, 2 * sizeof *os);
        static enum xsd__boolean yes = xsd__boolean__true_, no = xsd__boolean__false_;

        if (!ts || !sel || !ps || !os)
                return -ENOMEM;
        *ts = (struct vim25__TraversalSpec) { .type = "ContainerView", .path = "view", .skip = &no };
        /* Polymorphic selectSet: gSOAP writes xsi:type="vim25:TraversalSpec" (notes P5). */
        *sel = (struct __vim25__SelectionSpecItem) { SOAP_TYPE_vim25__TraversalSpec, ts };
        os[0] = (struct vim25__ObjectSpec) {
                .obj = { .__item = s->view.value, .type = s->view.type },
                .skip = &yes,
                .__sizeselectSet = 1,
                .__selectSet = sel,
        };
        os[1] = (struct vim25__ObjectSpec) {
                .obj = { .__item = s->session_manager.value, .type = s->session_manager.type },
        };
        if (prop_spec(soap, &ps[0], "VirtualMachine", vm_paths, ELEMENTSOF(vm_paths)) < 0 ||
            prop_spec(soap, &ps[1], "HostSystem", host_paths, ELEMENTSOF(host_paths)) < 0 ||
            prop_spec(soap, &ps[2], "SessionManager", sm_paths, ELEMENTSOF(sm_paths)) < 0)
                return -ENOMEM;
        *spec = (struct vim25__PropertyFilterSpec) {
                .__sizepropSet = 3, .propSet = ps, .__sizeobjectSet = 2, .objectSet = os,
        };
        return 0;
}

static void candidates_error(const struct backend_session *s, const struct inventory *inv, struct op_error *err) {
        char list[sizeof err->message] = "";
        size_t n = 0;

        for (size_t i = 0; i < inv->n_matches && n < sizeof list; i++) {
                const char *h = inventory_host_name(inv, inv->matches[i].host);

                n += snprintf(list + n, sizeof list - n, "%s%s (host %s)", i ? ", " : "", inv->matches[i].id,
                              h ? h : strempty(inv->matches[i].host));
        }
        op_error_set(err, "AmbiguousName", "%zu VMs named \"%s\" on endpoint \"%s\": %s", inv->n_matches, inv->want,
                     s->ep->name, list);
}

static int target_fill(const struct inventory *inv, struct vm_target *t, char **before) {
        const struct vm_match *m = &inv->matches[0];
        const char *host = inventory_host_name(inv, m->host);

        t->name = strdup(inv->want);
        t->id = strdup(m->id);
        t->uuid = m->uuid ? strdup(m->uuid) : NULL;
        t->host = host ? strdup(host) : NULL;
        *before = strdup(inv->want);
        if (!t->name || !t->id || (m->uuid && !t->uuid) || (host && !t->host) || !*before) {
                vm_target_clear(t);
                free(*before);
                *before = NULL;
                return -ENOMEM;
        }
        return 0;
}

static void remember_target(struct backend_session *s, const struct vm_match *m) {
        free(s->last_vm);
        free(s->last_host);
        s->last_vm = strdup(m->id);
        s->last_host = m->host ? strdup(m->host) : NULL; /* only a hint: NULL on OOM is fine */
}

static int not_logged_in(const struct backend_session *s, struct op_error *err) {
        op_error_set(err, "NotAuthenticated", "Not logged in to endpoint \"%s\" (or the session expired)",
                     s->ep->name);
        return -EKEYEXPIRED;
}

static int unsupported(enum op_kind kind, struct op_error *err) {
        op_error_set(err, "InvalidArgument", "Operation %d is not supported by the vsphere backend", (int) kind);
        return -EINVAL;
}

static int read_target(struct backend_session *s, enum op_kind kind, const struct op_args *args, const char *opid,
                       struct vm_target *t, char **before, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        _cleanup_(inventory_done) struct inventory inv = { .want = args->vm };
        struct vim25__PropertyFilterSpec spec;
        int r;

        if (kind != OP_RENAME)
                return unsupported(kind, err);
        if (!args->vm || !*args->vm) {
                op_error_set(err, "InvalidArgument", "No VM name given");
                return -EINVAL;
        }
        if (!s->view.value)
                return not_logged_in(s, err);

        if (inventory_spec(s, &spec) < 0)
                return oom(err);
        r = vs_retrieve(s, opid, &spec, inventory_cb, &inv, err);
        /* Our view dies with the vSphere session (idle timeout, restart): log in again. */
        if (r == -EREMOTEIO && strcmp(err->fault, "ManagedObjectNotFound") == 0)
                return not_logged_in(s, err);
        if (r < 0)
                return r;
        if (!inv.authenticated)
                return not_logged_in(s, err);

        if (inv.n_matches == 0) {
                op_error_set(err, "NotFound", "VM \"%s\" not found on endpoint \"%s\"", args->vm, s->ep->name);
                return -ENOENT;
        }
        if (inv.n_matches > 1) {
                candidates_error(s, &inv, err);
                return -ENOTUNIQ;
        }

        vm_target_clear(t);
        if (target_fill(&inv, t, before) < 0)
                return oom(err);
        remember_target(s, &inv.matches[0]);
        return 0;
}

/* ---- Operations --------------------------------------------------------- */

static int vs_rename_call(struct backend_session *s, const char *opid, const char *vm, const char *new_name,
                          char **task, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        struct _vim25__Rename_USCORETask rq = {
                ._USCOREthis = mor(s->soap, "VirtualMachine", vm),
                .newName = (char *) new_name,
        };
        struct _vim25__Rename_USCORETaskResponse rs = {};
        int r;

        if (!rq._USCOREthis)
                return oom(err);
        r = VS_CALL(s, Rename_USCORETask, opid, &rq, &rs, err);
        if (r < 0)
                return r;
        if (!rs.returnval || !rs.returnval->__item) {
                op_error_set(err, "InvalidResponse", "Rename_Task returned no task");
                return -EPROTO;
        }
        *task = strdup(rs.returnval->__item);
        return *task ? 0 : oom(err);
}

/*
 * Once a Task exists the change may happen, so a lost session must not look
 * like "nothing happened" (-EKEYEXPIRED makes the pool repeat the call).
 */
static int outcome_unknown(int r, const char *task, struct op_error *err) {
        if (r != -EKEYEXPIRED)
                return r;
        op_error_set(err, "NotAuthenticated", "Session lost while waiting for task %s; its outcome is unknown", task);
        return -EREMOTEIO;
}

static int perform_rename(struct backend_session *s, const struct op_args *args, const char *opid,
                          struct vm_target *t, char **after, char **task, struct op_error *err) {
        _cleanup_free_ char *name = NULL, *host = NULL;
        struct op_error read_err = {};
        const char *hint;
        int r, rr;

        if (!args->new_name || !*args->new_name) {
                op_error_set(err, "InvalidArgument", "No new name given");
                return -EINVAL;
        }
        r = vs_rename_call(s, opid, t->id, args->new_name, task, err);
        if (r < 0)
                return r;

        r = outcome_unknown(vs_task_wait(s, opid, *task, VS_RENAME_TIMEOUT_SEC, NULL, err), *task, err);

        /* Read back even after a failure: the trail records what is there now. */
        hint = s->last_vm && strcmp(s->last_vm, t->id) == 0 ? s->last_host : NULL;
        rr = vs_read_vm(s, opid, t->id, hint, &name, &host, r < 0 ? &read_err : err);
        if (rr < 0) {
                if (r < 0) {
                        log_debug("Reading back VM %s after failed task %s: %s", t->id, *task, read_err.message);
                        return r;
                }
                return outcome_unknown(rr, *task, err);
        }

        *after = TAKE_PTR(name);
        if (host && (!t->host || strcmp(host, t->host) != 0)) {
                free(t->host);
                t->host = TAKE_PTR(host);
        }
        return r;
}

static int perform(struct backend_session *s, enum op_kind kind, const struct op_args *args, const char *opid,
                   const struct op_hooks *hooks _unused_, struct vm_target *t, char **after, char **task,
                   struct op_error *err) {
        if (kind != OP_RENAME)
                return unsupported(kind, err);
        if (!t->id) {
                op_error_set(err, "InvalidArgument", "No target VM");
                return -EINVAL;
        }
        return perform_rename(s, args, opid, t, after, task, err);
}

void vsphere_global_init(void) {
        vsphere_transport_global_init();
}

unsigned vsphere_session_round_trips(struct backend_session *s) {
        return vsphere_transport_round_trips(s->soap);
}

const struct backend_ops vsphere_backend = {
        .name = "vsphere",
        .session_new = session_new,
        .session_free = session_free,
        .login = login,
        .logout = logout,
        .read_target = read_target,
        .perform = perform,
};
