/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gSOAP transport for the vSphere backend (see vsphere_transport.h).
 *
 * Per-context state lives in soap->user (struct transport) and, for the TLS
 * verify callback, in the SSL_CTX's ex_data: OpenSSL calls the callback
 * without a user pointer, and a global would be shared by all sessions.
 *
 * The session cookie is handled by hand (docs/vsphere-gsoap-notes.md P3):
 * gSOAP's own cookie jar stores vCenter's cookie under the wrong path and
 * would send a second Cookie header, so our fparsehdr hook takes
 * "Set-Cookie: vmware_soap_session=..." away from gSOAP and we send it back
 * with http_extra_header, which gSOAP resets after every request.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "vimH.h"
#include "vim.nsmap"

#include "backend.h"
#include "config.h"
#include "log.h"
#include "macros.h"
#include "vsphere_transport.h"

#define TRANSPORT_TIMEOUT_SEC 30
#define COOKIE_NAME "vmware_soap_session="

struct transport {
        const struct endpoint_config *ep;
        int (*orig_fparsehdr)(struct soap *soap, const char *key, const char *val);
        char *cookie_header;            /* "Cookie: vmware_soap_session=..." or NULL */
        struct SOAP_ENV__Header header; /* operationID points to the caller's opid during a call */
        char tls_error[512];            /* why the last handshake's verification failed */
        unsigned round_trips;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int ssl_ctx_index = -1;

static void global_init_once(void) {
        soap_ssl_init();
        ssl_ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

void vsphere_transport_global_init(void) {
        (void) pthread_once(&global_once, global_init_once);
}

static struct transport *transport_of(struct soap *soap) {
        return soap->user;
}

static void fingerprint_format(const unsigned char *md, unsigned len, char *buf, size_t size) {
        size_t p = 0;

        buf[0] = '\0';
        for (unsigned i = 0; i < len && p + 4 <= size; i++)
                p += snprintf(buf + p, size - p, "%s%02X", i ? ":" : "", md[i]);
}

/* Why verification failed, with what an administrator needs to pin the server once checked out of band. */
static void note_untrusted(struct transport *t, X509_STORE_CTX *store) {
        unsigned char md[EVP_MAX_MD_SIZE];
        char fp[3 * EVP_MAX_MD_SIZE + 1] = "";
        unsigned len = 0;
        X509 *leaf = X509_STORE_CTX_get0_cert(store);

        if (leaf && X509_digest(leaf, EVP_sha256(), md, &len))
                fingerprint_format(md, len, fp, sizeof fp);
        snprintf(t->tls_error, sizeof t->tls_error, "certificate verify failed: %s%s%s%s",
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(store)),
                 *fp ? "; the server's certificate has SHA-256 fingerprint " : "", fp,
                 *fp ? " (once checked, trust it with ca-file, or pin it with fingerprint = that)" : "");
}

/*
 * OpenSSL's verify callback, called for every certificate of the chain, the
 * leaf (depth 0) last.  With a pin only the leaf's digest decides; otherwise
 * we keep OpenSSL's verdict and remember the first reason for the message.
 */
static int verify_callback(int ok, X509_STORE_CTX *store) {
        SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
        struct transport *t = ssl ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ssl_ctx_index) : NULL;

        if (!t)
                return ok;

        if (t->ep->has_fingerprint) {
                unsigned char md[EVP_MAX_MD_SIZE];
                unsigned len = 0;
                X509 *cert;

                if (X509_STORE_CTX_get_error_depth(store) > 0)
                        return 1;
                cert = X509_STORE_CTX_get_current_cert(store);
                if (!cert || !X509_digest(cert, EVP_sha256(), md, &len) || len != 32 ||
                    CRYPTO_memcmp(md, t->ep->fingerprint, 32) != 0) {
                        char got[3 * EVP_MAX_MD_SIZE + 1];

                        fingerprint_format(md, len, got, sizeof got);
                        snprintf(t->tls_error, sizeof t->tls_error,
                                 "certificate SHA-256 fingerprint mismatch (server presented %s)",
                                 len ? got : "no certificate");
                        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
                        return 0;
                }
                /* gSOAP checks SSL_get_verify_result() after the handshake. */
                X509_STORE_CTX_set_error(store, X509_V_OK);
                return 1;
        }

        if (!ok && !t->tls_error[0])
                note_untrusted(t, store);
        return ok;
}

static int parse_header(struct soap *soap, const char *key, const char *val) {
        struct transport *t = transport_of(soap);

        if (soap_tag_cmp(key, "Set-Cookie") == 0 && strncmp(val, COOKIE_NAME, strlen(COOKIE_NAME)) == 0) {
                char *h = NULL;

                /* The value up to the first ';', verbatim (vCenter quotes it). */
                if (asprintf(&h, "Cookie: %.*s", (int) strcspn(val, ";\r\n"), val) < 0)
                        return SOAP_EOM;
                erase_and_free(t->cookie_header);
                t->cookie_header = h;
                return SOAP_OK; /* swallowed: gSOAP must not keep its own copy */
        }
        return t->orig_fparsehdr(soap, key, val);
}

static int tls_setup(struct soap *soap, struct transport *t, struct op_error *err) {
        const struct endpoint_config *ep = t->ep;
        unsigned short flags = SOAP_SSL_REQUIRE_SERVER_AUTHENTICATION | SOAP_TLSv1_2 | SOAP_TLSv1_3;
        const char *ca_file = NULL;

        if (ep->has_fingerprint)
                /* The pin replaces both chain and host name checks. */
                flags |= SOAP_SSL_SKIP_HOST_CHECK | SOAP_SSL_NO_DEFAULT_CA_PATH;
        else if (ep->ca_file) {
                if (access(ep->ca_file, R_OK) < 0) {
                        int r = negative_errno();

                        op_error_set(err, "TLSError", "Cannot read CA file \"%s\" of endpoint \"%s\": %s",
                                     ep->ca_file, ep->name, strerror(-r));
                        return r;
                }
                ca_file = ep->ca_file;
                flags |= SOAP_SSL_NO_DEFAULT_CA_PATH;
        }

        /* Must be set before the SSL_CTX is made, which installs it. */
        soap->fsslverify = verify_callback;
        if (soap_ssl_client_context(soap, flags, NULL, NULL, ca_file, NULL, NULL) != SOAP_OK) {
                const char *d = soap_fault_detail(soap);

                op_error_set(err, "TLSError", "Cannot set up TLS for endpoint \"%s\"%s%s%s: %s%s%s",
                             ep->name, ca_file ? " with CA file \"" : "", strempty(ca_file), ca_file ? "\"" : "",
                             strempty(soap_fault_string(soap)), d ? ": " : "", strempty(d));
                return -EINVAL;
        }
        if (!soap->ctx || !SSL_CTX_set_ex_data(soap->ctx, ssl_ctx_index, t)) {
                op_error_set(err, "TLSError", "Cannot set up TLS for endpoint \"%s\"", ep->name);
                return -ENOMEM;
        }
        return 0;
}

int vsphere_transport_new(const struct endpoint_config *ep, struct soap **out, struct op_error *err) {
        struct transport *t;
        struct soap *soap;
        int r;

        vsphere_transport_global_init();

        /* gSOAP writes the request to stdout when it has no URL; never send credentials in clear. */
        if (!ep->url || strncmp(ep->url, "https://", 8) != 0 || !ep->url[8]) {
                op_error_set(err, "InvalidArgument", "Endpoint \"%s\" needs an https:// URL, not \"%s\"",
                             ep->name, strempty(ep->url));
                return -EINVAL;
        }

        t = calloc(1, sizeof *t);
        if (!t) {
                op_error_set(err, "ConnectionError", "Out of memory");
                return -ENOMEM;
        }
        t->ep = ep;

        /* Keep-alive: one TLS handshake per session, not per call (notes §5). */
        soap = soap_new1(SOAP_IO_KEEPALIVE | SOAP_C_UTFSTRING);
        if (!soap) {
                free(t);
                op_error_set(err, "ConnectionError", "Out of memory");
                return -ENOMEM;
        }
        soap->user = t;
        soap->connect_timeout = TRANSPORT_TIMEOUT_SEC;
        soap->send_timeout = TRANSPORT_TIMEOUT_SEC;
        soap->recv_timeout = TRANSPORT_TIMEOUT_SEC;
        t->orig_fparsehdr = soap->fparsehdr;
        soap->fparsehdr = parse_header;

        r = tls_setup(soap, t, err);
        if (r < 0) {
                vsphere_transport_free(soap);
                return r;
        }

        *out = soap;
        return 0;
}

void vsphere_transport_free(struct soap *soap) {
        struct transport *t;

        if (!soap)
                return;
        t = transport_of(soap);
        soap->header = NULL;
        soap_destroy(soap);
        soap_end(soap);
        soap_free(soap); /* also frees the SSL_CTX, so the ex_data pointer dies first */
        if (t) {
                erase_and_free(t->cookie_header);
                free(t);
        }
}

void vsphere_transport_begin(struct soap *soap, const char *opid) {
        struct transport *t = transport_of(soap);

        t->header.operationID = (char *) opid;
        soap->header = opid ? &t->header : NULL;
        soap->http_extra_header = t->cookie_header;
        t->tls_error[0] = '\0';
        t->round_trips++;
}

void vsphere_transport_clear_cookie(struct soap *soap) {
        struct transport *t = transport_of(soap);

        erase_and_free(t->cookie_header);
        t->cookie_header = NULL;
}

unsigned vsphere_transport_round_trips(struct soap *soap) {
        return transport_of(soap)->round_trips;
}

/* The local part of a QName: "vim25:InvalidLogin" -> "InvalidLogin". */
static void copy_local_name(const char *s, size_t len, char *buf, size_t size) {
        const char *colon = memchr(s, ':', len);

        if (colon) {
                len -= colon + 1 - s;
                s = colon + 1;
        }
        snprintf(buf, size, "%.*s", (int) len, s);
}

void vsphere_fault_type(const char *xml, char *buf, size_t size) {
        const char *p, *end, *name;
        size_t name_len;

        buf[0] = '\0';
        if (!xml || !(p = strchr(xml, '<')))
                return;
        end = strchr(p, '>');
        if (!end)
                return;

        name = ++p;
        name_len = strcspn(name, " \t\r\n/>");

        /* xsi:type may come with any prefix (vcsim writes "XMLSchema-instance:type"). */
        for (p = name + name_len; p < end; p++) {
                char quote;
                const char *v, *v_end;

                if (strncmp(p, ":type=", 6) != 0)
                        continue;
                quote = p[6];
                if (quote != '"' && quote != '\'')
                        continue;
                v = p + 7;
                v_end = strchr(v, quote);
                if (!v_end || v_end > end)
                        break;
                copy_local_name(v, v_end - v, buf, size);
                return;
        }

        copy_local_name(name, name_len, buf, size);
        name_len = strlen(buf);
        if (name_len > 5 && strcmp(buf + name_len - 5, "Fault") == 0)
                buf[name_len - 5] = '\0';
}

static int check_fault(struct soap *soap, const char *method, struct op_error *err) {
        const struct endpoint_config *ep = transport_of(soap)->ep;
        const char *text = soap_fault_string(soap);
        char type[128] = "";

        if (soap->fault && soap->fault->detail)
                vsphere_fault_type(soap->fault->detail->__any, type, sizeof type);
        if (!type[0])
                /* No vim fault detail: a plain SOAP fault (e.g. ServerFaultCode from a proxy). */
                snprintf(type, sizeof type, "%s", "SOAPFault");

        op_error_set(err, type, "%s", text && *text ? text : type);
        log_debug("vSphere %s on endpoint \"%s\": fault %s: %s", method, ep->name, type, strempty(text));

        return strcmp(type, "NotAuthenticated") == 0 ? -EKEYEXPIRED : -EREMOTEIO;
}

static int check_tls(struct soap *soap, struct op_error *err) {
        struct transport *t = transport_of(soap);
        const char *text = soap_fault_string(soap);

        if (t->tls_error[0]) {
                op_error_set(err, "TLSError", "TLS connection to endpoint \"%s\" (%s) refused: %s",
                             t->ep->name, t->ep->url, t->tls_error);
                return -EPERM;
        }
        if (text && strstr(text, "host name mismatch")) {
                op_error_set(err, "TLSError", "TLS connection to endpoint \"%s\" (%s) refused: "
                             "certificate does not match the host name", t->ep->name, t->ep->url);
                return -EPERM;
        }
        op_error_set(err, "TLSError", "TLS connection to endpoint \"%s\" (%s) failed: %s%s%s", t->ep->name,
                     t->ep->url, strempty(text), soap_fault_detail(soap) ? ": " : "",
                     strempty(soap_fault_detail(soap)));
        return -EPROTO;
}

static int check_transport(struct soap *soap, struct op_error *err) {
        struct transport *t = transport_of(soap);
        const char *text = soap_fault_string(soap);
        int r;

        switch (soap->error) {
        case SOAP_TCP_ERROR:
                r = soap->errnum > 0 ? -soap->errnum : -EHOSTUNREACH;
                break;
        case SOAP_EOF:
                r = soap->errnum == EAGAIN || soap->errnum == EWOULDBLOCK || soap->errnum == ETIMEDOUT
                        ? -ETIMEDOUT : -ECONNRESET;
                break;
        default:
                r = -EPROTO;
        }

        if (soap->error >= 300 && soap->error < 600)
                op_error_set(err, "ConnectionError", "Endpoint \"%s\" (%s) answered HTTP %d",
                             t->ep->name, t->ep->url, soap->error);
        else
                op_error_set(err, "ConnectionError", "Connection to endpoint \"%s\" (%s) failed: %s",
                             t->ep->name, t->ep->url,
                             text && *text ? text : r == -EPROTO ? "protocol error" : strerror(-r));
        return r;
}

int vsphere_transport_check(struct soap *soap, const char *method, struct op_error *err) {
        int r;

        if (soap->error == SOAP_OK)
                return 0;

        if (soap->error == SOAP_FAULT)
                r = check_fault(soap, method, err);
        else if (soap->error == SOAP_SSL_ERROR || transport_of(soap)->tls_error[0])
                r = check_tls(soap, err);
        else
                r = check_transport(soap, err);

        /* After a transport error the keep-alive connection is unusable. */
        if (r != -EREMOTEIO && r != -EKEYEXPIRED)
                soap_force_closesock(soap);
        return r;
}
