/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The platform principal: who libvirtd sees on the other end of a
 * connection, for the trail's platform_user.  libvirt's client API does not
 * say, so it is worked out the way libvirt authenticates (see libvirt's
 * "Remote support" and "Authentication" pages):
 *
 *   SASL              the user the endpoint gives (user =)
 *   ssh               the user of the URI, else this process's user (ssh's default)
 *   TLS               the subject of the client certificate libvirt presents
 *                     (pkipath= in the URI, else libvirt's default place)
 *   local unix socket this process's uid, which libvirtd reads from the socket
 *
 * The URI is parsed with libxml2's parser, the one libvirt itself uses.
 */
#include <errno.h>
#include <libxml/uri.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "libvirt_internal.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(xmlURIPtr, xmlFreeURI);
DEFINE_TRIVIAL_CLEANUP_FUNC(X509 *, X509_free);

static const char *transport(const xmlURI *u) {
        const char *plus = u->scheme ? strchr(u->scheme, '+') : NULL;

        if (plus)
                return plus + 1;
        /* A host without a transport is TLS, libvirt's default for remote. */
        return u->server && *u->server ? "tls" : "unix";
}

/* The value of key in the URI's query (key=value&...), malloc'd, or NULL. */
static char *query_value(const xmlURI *u, const char *key) {
        size_t len = strlen(key);

        for (const char *q = u->query_raw ?: u->query; q && *q; q += strcspn(q, "&"), q += *q == '&') {
                if (strncmp(q, key, len) == 0 && q[len] == '=')
                        return strndup(q + len + 1, strcspn(q + len + 1, "&"));
        }
        return NULL;
}

/* This process's user: "uid N (name)" for a local socket, the name alone for ssh. */
static char *local_user(bool ssh) {
        struct passwd *pw = getpwuid(geteuid());
        const char *name = pw ? pw->pw_name : "?";
        char *who = NULL;

        if (ssh)
                return strdup(name);
        return asprintf(&who, "uid %u (%s)", (unsigned) geteuid(), name) < 0 ? NULL : who;
}

/* Where libvirt looks for its client certificate: pkipath=, else /etc/pki/libvirt (root) or ~/.pki/libvirt. */
static char *cert_path(const xmlURI *u) {
        _cleanup_free_ char *dir = query_value(u, "pkipath");
        const char *home = getenv("HOME");
        char *path = NULL;
        int r;

        if (dir)
                r = asprintf(&path, "%s/clientcert.pem", dir);
        else if (geteuid() == 0 || !home)
                r = asprintf(&path, "/etc/pki/libvirt/clientcert.pem");
        else
                r = asprintf(&path, "%s/.pki/libvirt/clientcert.pem", home);
        return r < 0 ? NULL : path;
}

/* "x509 SUBJECT" of the client certificate libvirt presents, or why it is not known. */
static char *tls_subject(const xmlURI *u) {
        _cleanup_free_ char *path = cert_path(u);
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_fclose_ FILE *f = path ? fopen(path, "re") : NULL;
        char subject[512], *who = NULL;

        cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
        if (!cert || !X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject))
                return asprintf(&who, "x509 client certificate %s (not readable)", strempty(path)) < 0 ? NULL : who;
        return asprintf(&who, "x509 %s", subject) < 0 ? NULL : who;
}

static bool is_ssh(const char *t) {
        return strcmp(t, "ssh") == 0 || strcmp(t, "libssh") == 0 || strcmp(t, "libssh2") == 0;
}

char *lv_principal(const struct endpoint_config *ep, const char *uri) {
        _cleanup_(xmlFreeURIp) xmlURIPtr u = uri ? xmlParseURI(uri) : NULL;

        if (ep->user)
                return strdup(ep->user);
        if (!u)
                return local_user(false);
        if (u->user && *u->user)
                return strdup(u->user);
        if (is_ssh(transport(u)))
                return local_user(true);
        if (strcmp(transport(u), "tls") == 0)
                return tls_subject(u);
        return local_user(false);
}
