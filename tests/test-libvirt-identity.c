/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for daemon/backends/libvirt/libvirt_identity.c: the platform
 * principal a libvirt connection's URI implies.  Table-driven; the TLS
 * case reads a client certificate this test makes with OpenSSL, so its
 * subject is what the row must name.
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/libvirt/libvirt_internal.h"
#include "config.h"
#include "tap.h"

/* A self-signed certificate with subject CN=cn at dir/clientcert.pem. */
static int make_cert(const char *dir, const char *cn) {
        char path[512];
        EVP_PKEY *key = EVP_EC_gen("P-256");
        X509 *x = X509_new();
        FILE *f;
        int ok;

        snprintf(path, sizeof path, "%s/clientcert.pem", dir);
        ok = key && x && X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
             X509_gmtime_adj(X509_getm_notBefore(x), 0) && X509_gmtime_adj(X509_getm_notAfter(x), 3600) &&
             X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *) cn,
                                        -1, -1, 0) &&
             X509_set_issuer_name(x, X509_get_subject_name(x)) && X509_set_pubkey(x, key) &&
             X509_sign(x, key, EVP_sha256());
        f = ok ? fopen(path, "w") : NULL;
        ok = f && PEM_write_X509(f, x);
        if (f)
                fclose(f);
        X509_free(x);
        EVP_PKEY_free(key);
        return ok ? 0 : -1;
}

struct id_case {
        const char *user;       /* the endpoint's user = */
        const char *uri;
        const char *want;       /* NULL: computed below (this process's user) */
        bool local;             /* want "uid N (name)" */
};

static void check(const struct id_case *c, const char *name, const char *uid_name) {
        struct endpoint_config ep = { .name = (char *) "t", .user = (char *) c->user };
        char *got = lv_principal(&ep, c->uri);
        const char *want = c->want ? c->want : c->local ? uid_name : name;

        if (!tap_ok(got && strcmp(got, want) == 0, "%s%s -> %s", c->user ? "user + " : "", strempty(c->uri), want))
                tap_diag("got: %s", got ? got : "(null)");
        free(got);
}

int main(void) {
        struct passwd *pw = getpwuid(geteuid());
        char dir[] = "/tmp/test-libvirt-identity.XXXXXX", uri[600], want[600], uid_name[300];

        if (!pw || !mkdtemp(dir))
                return 99;
        snprintf(uid_name, sizeof uid_name, "uid %u (%s)", (unsigned) geteuid(), pw->pw_name);
        const struct id_case cases[] = {
                { "sasl-user", "qemu+tcp://kvm1/system", "sasl-user", false },
                { NULL, "qemu+ssh://alice@kvm1/system", "alice", false },
                { NULL, "qemu+ssh://kvm1/system", NULL, false },
                { NULL, "qemu+libssh2://kvm1/system?known_hosts=/x", NULL, false },
                { NULL, "qemu:///system", NULL, true },
                { NULL, "qemu+unix:///session?socket=/run/x/libvirt-sock", NULL, true },
                /* An '@' in the query names nobody. */
                { NULL, "test+unix:///default?socket=/run/lab/libvirt-sock&x=a:b@c", NULL, true },
                { NULL, "qemu+tls://kvm1/system?pkipath=/nonexistent",
                  "x509 client certificate /nonexistent/clientcert.pem (not readable)", false },
                { NULL, NULL, NULL, true },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                check(&cases[i], pw->pw_name, uid_name);

        /* TLS: the certificate libvirt would present, found through pkipath=, by its subject. */
        if (!tap_ok(make_cert(dir, "vmtraced.kvm1.example") == 0, "a client certificate for the TLS cases"))
                return tap_done();
        snprintf(uri, sizeof uri, "qemu+tls://kvm1/system?pkipath=%s", dir);
        snprintf(want, sizeof want, "x509 /CN=vmtraced.kvm1.example");
        check(&(struct id_case) { .uri = uri, .want = want }, pw->pw_name, uid_name);
        /* No transport and a host: TLS is libvirt's default. */
        snprintf(uri, sizeof uri, "qemu://kvm1/system?no_verify=1&pkipath=%s", dir);
        check(&(struct id_case) { .uri = uri, .want = want }, pw->pw_name, uid_name);
        snprintf(uri, sizeof uri, "%s/clientcert.pem", dir);
        unlink(uri);
        rmdir(dir);
        return tap_done();
}
