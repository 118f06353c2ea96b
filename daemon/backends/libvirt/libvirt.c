/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The libvirt backend (KVM through QEMU, Xen through libxl, and libvirt's
 * test driver): its session and its errors.  See libvirt_internal.h for how
 * the files divide the work.
 *
 * libvirt's event loop is registered once, before the first connection,
 * and runs on a thread of its own for the life of the process: keepalive
 * and the close callback need it, and libvirt may call back after a
 * connection is closed, so it is never stopped.  A connection that libvirt
 * closed (libvirtd restarted, keepalive timed out) makes the next call
 * answer -EKEYEXPIRED before anything is sent, so the pool writes the
 * Logout and Login rows and connects again.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "libvirt_internal.h"
#include "log.h"
#include "util.h"

/* Keepalive: a probe every 5 s, the connection dead after 3 unanswered (about 20 s). */
#define LV_KEEPALIVE_INTERVAL 5
#define LV_KEEPALIVE_COUNT 3

static const struct backend_limits lv_limits = {
        .cpu_max = 4096,                 /* the domain's own maximum is libvirt's to enforce */
        .memory_mib_min = 1,
        .memory_mib_max = 16LL * 1024 * 1024,
        .memory_mib_step = 1,
        .disk_mib_max = 64LL * 1024 * 1024,
        /*
         * libvirt names files after the domain (NAME.xml, NAME.log): 63
         * characters of up to 4 bytes stay within a file name's 255.
         */
        .name_max = 63,
};

/* ---- The event loop: once per process ----------------------------------- */

static pthread_once_t loop_once = PTHREAD_ONCE_INIT;
static int loop_error;

static void *loop_run(void *arg _unused_) {
        for (;;)
                if (virEventRunDefaultImpl() < 0)
                        sleep_ms(100);   /* a failed iteration must not spin */
        return NULL;
}

/* libvirt prints every error on stderr by default; ours go into the trail and the log instead. */
static void quiet(void *userdata _unused_, virErrorPtr e _unused_) {
}

static void loop_start(void) {
        pthread_t t;

        virSetErrorFunc(NULL, quiet);
        if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0) {
                loop_error = -EIO;
                return;
        }
        loop_error = -pthread_create(&t, NULL, loop_run, NULL);
        if (loop_error == 0)
                pthread_detach(t);
}


/* ---- Errors ------------------------------------------------------------- */

#define E(x) [VIR_ERR_##x] = "VIR_ERR_" #x
static const char *const error_names[] = {
        E(INTERNAL_ERROR), E(NO_MEMORY), E(NO_SUPPORT), E(UNKNOWN_HOST), E(NO_CONNECT), E(INVALID_CONN),
        E(INVALID_DOMAIN), E(INVALID_ARG), E(OPERATION_FAILED), E(XML_ERROR), E(DOM_EXIST), E(OPERATION_DENIED),
        E(OPEN_FAILED), E(READ_FAILED), E(PARSE_FAILED), E(CONF_SYNTAX), E(WRITE_FAILED), E(XML_DETAIL),
        E(SYSTEM_ERROR), E(RPC), E(NO_DOMAIN), E(AUTH_FAILED), E(NO_STORAGE_POOL), E(NO_STORAGE_VOL),
        E(OPERATION_INVALID), E(NO_DOMAIN_SNAPSHOT), E(OPERATION_TIMEOUT), E(MIGRATE_PERSIST_FAILED),
        E(CONFIG_UNSUPPORTED), E(OPERATION_ABORTED), E(AUTH_CANCELLED), E(MIGRATE_UNSAFE), E(OVERFLOW),
        E(OPERATION_UNSUPPORTED), E(SSH), E(AGENT_UNRESPONSIVE), E(RESOURCE_BUSY), E(ACCESS_DENIED),
        E(STORAGE_VOL_EXIST), E(CPU_INCOMPATIBLE), E(AUTH_UNAVAILABLE), E(NO_SERVER), E(NO_CLIENT),
        E(AGENT_UNSYNCED), E(LIBSSH), E(DEVICE_MISSING), E(STORAGE_POOL_BUILT), E(NO_HOSTNAME),
};
#undef E

static const char *error_name(int code, char *buf, size_t len) {
        if (code > 0 && (size_t) code < ELEMENTSOF(error_names) && error_names[code])
                return error_names[code];
        snprintf(buf, len, "VIR_ERR_%d", code);
        return buf;
}

/* A failure of the transport rather than of the request: what errno it stands for, or 0. */
static int transport_errno(struct backend_session *s, const virError *e) {
        /* VIR_ERR_NO_CONNECT is "no connection driver available": the URI names a driver this host lacks. */
        if (e->code == VIR_ERR_INVALID_CONN || e->code == VIR_ERR_RPC)
                return -ECONNRESET;
        if (e->domain == VIR_FROM_RPC || e->domain == VIR_FROM_REMOTE) {
                if (e->code == VIR_ERR_SYSTEM_ERROR && (e->int1 == ECONNREFUSED || e->int1 == ENOENT))
                        return -ECONNREFUSED;
                if (e->code == VIR_ERR_SYSTEM_ERROR || e->code == VIR_ERR_INTERNAL_ERROR)
                        return -ECONNRESET;
        }
        return s && atomic_load(&s->closed) ? -ECONNRESET : 0;
}

int lv_fail(struct backend_session *s, const char *what, struct op_error *err) {
        const virError *e = virGetLastError();
        char buf[32];

        if (!e) {
                op_error_set(err, "InternalError", "%s failed, and libvirt said nothing about why", what);
                return -EREMOTEIO;
        }
        int t = transport_errno(s, e);
        if (t) {
                op_error_set(err, OP_FAULT_CONNECTION, "%s: libvirt error %d (domain %d): %s", what, e->code,
                             e->domain, strempty(e->message));
                return t;
        }
        op_error_set(err, e->code == VIR_ERR_NO_DOMAIN ? OP_FAULT_NOT_FOUND : error_name(e->code, buf, sizeof buf),
                     "%s: libvirt error %d (domain %d): %s", what, e->code, e->domain, strempty(e->message));
        return e->code == VIR_ERR_NO_DOMAIN ? -ENOENT : -EREMOTEIO;
}

/* ---- The connection ------------------------------------------------------- */

static void on_close(virConnectPtr conn _unused_, int reason, void *opaque) {
        struct backend_session *s = opaque;

        atomic_store(&s->closed, true);
        log_warning("libvirt closed the connection to \"%s\" (reason %d).", s->ep->name, reason);
}

/* SASL and the like ask for a user and a password: the endpoint's, if it has them. */
static int auth_cb(virConnectCredentialPtr cred, unsigned int ncred, void *cbdata) {
        const struct endpoint_config *ep = cbdata;

        for (unsigned i = 0; i < ncred; i++) {
                const char *v = cred[i].type == VIR_CRED_AUTHNAME ? ep->user :
                                cred[i].type == VIR_CRED_PASSPHRASE ? ep->password : NULL;
                if (!v)
                        return -1;
                cred[i].result = strdup(v);
                if (!cred[i].result)
                        return -1;
                cred[i].resultlen = (unsigned) strlen(v);
        }
        return 0;
}

int lv_open(const struct endpoint_config *ep, virConnectPtr *out, struct op_error *err) {
        int creds[] = { VIR_CRED_AUTHNAME, VIR_CRED_PASSPHRASE };
        virConnectAuth auth = { .credtype = creds, .ncredtype = ELEMENTSOF(creds), .cb = auth_cb, .cbdata = (void *) ep };

        pthread_once(&loop_once, loop_start);
        if (loop_error < 0) {
                op_error_set(err, "InternalError", "libvirt's event loop cannot be started");
                return loop_error;
        }
        *out = virConnectOpenAuth(ep->url, &auth, 0);
        if (!*out)
                return lv_fail(NULL, "virConnectOpenAuth", err);
        /* A driver without keepalive (a local test: URI) answers -1 or 1; it needs none. */
        (void) virConnectSetKeepAlive(*out, LV_KEEPALIVE_INTERVAL, LV_KEEPALIVE_COUNT);
        return 0;
}

int lv_alive(struct backend_session *s, struct op_error *err) {
        if (s->conn && !atomic_load(&s->closed))
                return 0;
        op_error_set(err, OP_FAULT_CONNECTION, "the connection to libvirt on \"%s\" was closed", s->ep->name);
        return -EKEYEXPIRED;
}

int lv_domain(struct backend_session *s, const char *uuid, virDomainPtr *out, struct op_error *err) {
        lv_count(s, 1);
        *out = virDomainLookupByUUIDString(s->conn, strempty(uuid));
        return *out ? 0 : lv_fail(s, "virDomainLookupByUUIDString", err);
}

int lv_lookup(struct backend_session *s, const char *name, virDomainPtr *out, struct op_error *err) {
        lv_count(s, 1);
        /* Names are unique per connection: a look-up never finds two. */
        *out = virDomainLookupByName(s->conn, name);
        if (*out)
                return 0;
        int r = lv_fail(s, "virDomainLookupByName", err);
        if (r == -ENOENT)
                op_error_set(err, OP_FAULT_NOT_FOUND, "no VM named \"%s\" on endpoint \"%s\"", name, s->ep->name);
        return r;
}

static void disconnect(struct backend_session *s) {
        if (!s->conn)
                return;
        (void) virConnectUnregisterCloseCallback(s->conn, on_close);
        virConnectClose(s->conn);
        s->conn = NULL;
        free(TAKE_PTR(s->hostname));
}

static int lv_login(struct backend_session *s, char **who, struct op_error *err) {
        disconnect(s);
        atomic_store(&s->closed, false);
        int r = lv_open(s->ep, &s->conn, err);
        if (r < 0)
                return r;
        lv_count(s, 2);
        if (virConnectRegisterCloseCallback(s->conn, on_close, s, NULL) < 0 ||
            !(s->hostname = virConnectGetHostname(s->conn))) {
                r = lv_fail(s, "virConnectGetHostname", err);
                disconnect(s);
                return r;
        }
        _cleanup_free_ char *uri = virConnectGetURI(s->conn);
        *who = lv_principal(s->ep, uri ?: s->ep->url);
        return *who ? 0 : -ENOMEM;
}

static int lv_logout(struct backend_session *s, struct op_error *err _unused_) {
        disconnect(s);
        return 0;
}

static int lv_session_new(const struct endpoint_config *ep, struct backend_session **out, struct op_error *err) {
        struct backend_session *s = calloc(1, sizeof *s);

        if (!s) {
                op_error_set(err, "InternalError", "out of memory");
                return -ENOMEM;
        }
        s->ep = ep;
        s->driver = lv_driver_of_uri(ep->url);
        *out = s;
        return 0;
}

static void lv_session_free(struct backend_session *s) {
        if (!s)
                return;
        disconnect(s);
        free(s);
}

static unsigned lv_round_trips(struct backend_session *s) {
        return atomic_load(&s->calls);
}

/*
 * A URI names a driver ("qemu", "test+unix") and carries no password in
 * its authority (user:password@host): libvirt's auth or a password-file
 * does.  A ':' before '@' elsewhere (a query) is not one.
 */
static int lv_endpoint_check(const struct endpoint_config *ep, char *why, size_t whylen) {
        const char *sep = strstr(ep->url, "://");
        const char *authority = sep ? sep + 3 : NULL;
        size_t len = authority ? strcspn(authority, "/?#") : 0;
        const char *at = authority ? memchr(authority, '@', len) : NULL;

        if (!sep || sep == ep->url) {
                snprintf(why, whylen, "uri \"%s\" of endpoint \"%s\" is not a libvirt URI (driver[+transport]://[host]/path)",
                         ep->url, ep->name);
                return -EINVAL;
        }
        if (at && memchr(authority, ':', (size_t) (at - authority))) {
                snprintf(why, whylen, "uri of endpoint \"%s\" contains a password; use password-file", ep->name);
                return -EINVAL;
        }
        return 0;
}

static bool lv_supports(const struct endpoint_config *ep, enum op_kind kind) {
        return lv_driver_supports(lv_driver_of_uri(ep->url), kind);
}

static const char *lv_unsupported_why(const struct endpoint_config *ep, enum op_kind kind) {
        return lv_driver_why_not(lv_driver_of_uri(ep->url), kind);
}

const struct backend_ops backend_libvirt = {
        .name = "libvirt",
        .limits = &lv_limits,
        .needs_credentials = false,
        .takes_migrate_keys = true,
        .supports = lv_supports,
        .unsupported_why = lv_unsupported_why,
        .endpoint_check = lv_endpoint_check,
        .session_new = lv_session_new,
        .session_free = lv_session_free,
        .round_trips = lv_round_trips,
        .login = lv_login,
        .logout = lv_logout,
        .read_target = lv_read_target,
        .perform = lv_perform,
        .list_vms = lv_list_vms,
        .show_vm = lv_show_vm,
        .task_outcome = lv_task_outcome,
        .watch_start = lv_watch_start,
        .watch_stop = lv_watch_stop,
};
