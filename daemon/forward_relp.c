/* SPDX-License-Identifier: GPL-2.0-or-later */
/* forward-relp.so: the RELP transport (see forward_relp.h). */
#include <errno.h>
#include <stddef.h>
#include <librelp.h> /* after stddef.h: it uses size_t without it */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "forward_relp.h"
#include "macros.h"

/*
 * One engine per connection, so that one object owns the engine and its
 * client.  librelp's TLS set-up is global: Debian builds it with GnuTLS,
 * whose global init and deinit are reference-counted, so engines made and
 * destroyed by several forwarder threads at once are safe; a librelp built
 * with OpenSSL instead would need the engines kept per forwarder.
 */
struct forward_relp {
        relpEngine_t *engine;
        relpClt_t *clt;
};

static relpRetVal set_tls(relpClt_t *clt, const struct forward_config *c) {
        relpRetVal rv = RELP_RET_OK;

        if (!c->ca_file && !c->cert_file)
                return RELP_RET_OK;
        rv = relpCltEnableTLS(clt);
        if (rv == RELP_RET_OK && c->ca_file)
                rv = relpCltSetCACert(clt, c->ca_file);
        if (rv == RELP_RET_OK && c->cert_file)
                rv = relpCltSetOwnCert(clt, c->cert_file);
        if (rv == RELP_RET_OK && c->key_file)
                rv = relpCltSetPrivKey(clt, c->key_file);
        /* The target's certificate is checked against the CA and its name against the target's host. */
        if (rv == RELP_RET_OK)
                rv = relpCltSetAuthMode(clt, (char *) "name");
        if (rv == RELP_RET_OK)
                rv = relpCltAddPermittedPeer(clt, c->host);
        return rv;
}

static int failed(relpRetVal rv, const char *what, char *err, size_t errlen) {
        snprintf(err, errlen, "%s failed (RELP error %d)", what, (int) rv);
        return -ECONNRESET;
}

/* librelp calls its debug printer unconditionally: it must be set. */
static void relp_debug(char *fmt _unused_, ...) {
}

static relpRetVal engine_new(struct forward_relp *r) {
        relpRetVal rv = relpEngineConstruct(&r->engine);

        if (rv == RELP_RET_OK)
                rv = relpEngineSetDbgprint(r->engine, relp_debug);
        if (rv == RELP_RET_OK)
                rv = relpEngineSetEnableCmd(r->engine, (unsigned char *) "syslog", eRelpCmdState_Required);
        if (rv == RELP_RET_OK)
                rv = relpEngineCltConstruct(r->engine, &r->clt);
        return rv;
}

static int relp_connect(const struct forward_config *c, unsigned timeout_s, struct forward_relp **out, char *err,
                        size_t errlen) {
        struct forward_relp *r = calloc(1, sizeof *r);
        relpRetVal rv;

        *out = r;
        if (!r)
                return failed(RELP_RET_OUT_OF_MEMORY, "creating the RELP client", err, errlen);
        rv = engine_new(r);
        if (rv != RELP_RET_OK)
                return failed(rv, "creating the RELP client", err, errlen);
        rv = relpCltSetWindowSize(r->clt, 1);
        if (rv == RELP_RET_OK)
                rv = relpCltSetTimeout(r->clt, timeout_s);
        if (rv == RELP_RET_OK)
                rv = relpCltSetConnTimeout(r->clt, (int) timeout_s);
        if (rv == RELP_RET_OK)
                rv = set_tls(r->clt, c);
        if (rv != RELP_RET_OK)
                return failed(rv, "setting up the RELP client", err, errlen);
        rv = relpCltConnect(r->clt, 0, (unsigned char *) c->port, (unsigned char *) c->host);
        return rv == RELP_RET_OK ? 0 : failed(rv, "connecting", err, errlen);
}

static int relp_send(struct forward_relp *r, const char *msg, size_t len, char *err, size_t errlen) {
        relpRetVal rv = relpCltSendSyslog(r->clt, (unsigned char *) msg, len);

        return rv == RELP_RET_OK ? 0 : failed(rv, "sending", err, errlen);
}

static void relp_close(struct forward_relp *r) {
        if (!r)
                return;
        if (r->clt)
                relpEngineCltDestruct(r->engine, &r->clt);
        if (r->engine)
                relpEngineDestruct(&r->engine);
        free(r);
}

const struct forward_relp_ops forward_relp_module = {
        .connect = relp_connect,
        .send = relp_send,
        .close = relp_close,
};
