/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * RFC 5425 client (see forward_tls.h).
 *
 * What a clean close proves.  RFC 5425 has no acknowledgement, and a
 * written message proves nothing: the kernel takes it, and a receiver that
 * dies before reading it loses it.  TLS reads records in order, so the one
 * claim a sender can check is "the receiver read everything up to my
 * close_notify, and then closed in order".  forward_tls_close() asks it:
 *
 *   1. wait until the target's TCP has acknowledged every byte (SIOCOUTQ
 *      empty), then FORWARD_TLS_SETTLE_MS more, so that the messages reach
 *      the receiver in reads of their own and our close_notify in a later
 *      one (see below);
 *   2. the connection must still be open: no EOF, no reset meanwhile;
 *   3. send close_notify and FIN, and wait for the target's orderly close
 *      (its close_notify if it sends one, then EOF; rsyslog's gtls driver
 *      sends no close_notify, only the EOF).  A reset, a timeout or a
 *      failure before is no proof.
 *
 * Why a receiver that dies is caught: Linux resets, rather than closes in
 * order, a socket closed with unread data.  A receiver killed before it
 * read our close_notify thus resets; one that read it has read, and with
 * rsyslog's direct queue written, every message before, as it handles
 * each read in order before the next.  What remains is a receiver that
 * reads the last messages and the close_notify in one read and dies
 * before storing them: the settle time makes that unlikely, not
 * impossible.  RELP, which acknowledges each message, has no such gap.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "forward_tls.h"
#include "macros.h"
#include "util.h"

#define FORWARD_TLS_SETTLE_MS 200
#define FORWARD_TLS_STEP_MS 10

struct forward_tls {
        SSL_CTX *ctx;
        SSL *ssl;
        int fd;
        unsigned timeout_s;
};

DEFINE_TRIVIAL_CLEANUP_FUNC(struct addrinfo *, freeaddrinfo);

static void tls_free(struct forward_tls *t) {
        if (!t)
                return;
        SSL_free(t->ssl);
        SSL_CTX_free(t->ctx);
        if (t->fd >= 0)
                close(t->fd);
        free(t);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct forward_tls *, tls_free);

/* OpenSSL's first queued error, or the errno's text, as the sentence status shows. */
static int tls_error(int r, char *err, size_t errlen, const char *what) {
        unsigned long e = ERR_get_error();

        if (e) {
                char buf[160];

                ERR_error_string_n(e, buf, sizeof buf);
                snprintf(err, errlen, "%s: %s", what, buf);
        } else
                snprintf(err, errlen, "%s: %s", what, strerror(-r));
        ERR_clear_error();
        return r;
}

static int tcp_connect(struct forward_tls *t, const struct forward_config *c, char *err, size_t errlen) {
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
        _cleanup_(freeaddrinfop) struct addrinfo *res = NULL;
        struct timeval tv = { .tv_sec = t->timeout_s };
        int r = getaddrinfo(c->host, c->port, &hints, &res), e = ECONNREFUSED;

        if (r != 0) {
                snprintf(err, errlen, "cannot resolve %s: %s", c->host, gai_strerror(r));
                return -EHOSTUNREACH;
        }
        /* Timeouts on the socket: connect() honours SO_SNDTIMEO, and the thread may block, not hang. */
        for (struct addrinfo *a = res; a; a = a->ai_next) {
                _cleanup_close_ int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);

                if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0 &&
                    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
                    connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
                        t->fd = TAKE_FD(fd);
                        return 0;
                }
                e = errno;
        }
        snprintf(err, errlen, "connecting: %s", strerror(e));
        return -e;
}

/* The name the target's certificate must carry: its IP address for an address, else its DNS name (and SNI). */
static int tls_set_peer_name(SSL *ssl, const char *host) {
        unsigned char ip[16];

        if (inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1)
                return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) ? 0 : -EINVAL;
        return SSL_set_tlsext_host_name(ssl, host) && SSL_set1_host(ssl, host) ? 0 : -EINVAL;
}

/* TLS 1.2 or later; the target's certificate checked against ca (or the system's store) and its host. */
static int tls_setup(struct forward_tls *t, const struct forward_config *c) {
        t->ctx = SSL_CTX_new(TLS_client_method());
        if (!t->ctx || !SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION))
                return -ENOMEM;
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
        if (!(c->ca_file ? SSL_CTX_load_verify_locations(t->ctx, c->ca_file, NULL)
                         : SSL_CTX_set_default_verify_paths(t->ctx)))
                return -EINVAL;
        if (c->cert_file && (!SSL_CTX_use_certificate_chain_file(t->ctx, c->cert_file) ||
                             !SSL_CTX_use_PrivateKey_file(t->ctx, c->key_file, SSL_FILETYPE_PEM) ||
                             !SSL_CTX_check_private_key(t->ctx)))
                return -EINVAL;
        t->ssl = SSL_new(t->ctx);
        if (!t->ssl || !SSL_set_fd(t->ssl, t->fd))
                return -ENOMEM;
        return tls_set_peer_name(t->ssl, c->host);
}

static int handshake(struct forward_tls *t, char *err, size_t errlen) {
        long v;

        if (SSL_connect(t->ssl) == 1)
                return 0;
        v = SSL_get_verify_result(t->ssl);
        if (v != X509_V_OK) {
                snprintf(err, errlen, "the target's certificate is not accepted: %s",
                         X509_verify_cert_error_string(v));
                ERR_clear_error();
                return -EPERM;
        }
        return tls_error(errno == EAGAIN ? -ETIMEDOUT : -ECONNRESET, err, errlen, "TLS handshake");
}

int forward_tls_connect(const struct forward_config *c, unsigned timeout_s, struct forward_tls **out, char *err,
                        size_t errlen) {
        _cleanup_(tls_freep) struct forward_tls *t = calloc(1, sizeof *t);
        int r;

        if (!t)
                return -ENOMEM;
        t->fd = -1;
        t->timeout_s = timeout_s;
        ERR_clear_error();
        r = tcp_connect(t, c, err, errlen);
        if (r < 0)
                return r;
        r = tls_setup(t, c);
        if (r < 0)
                return tls_error(r, err, errlen, "setting up TLS (ca, cert or key)");
        r = handshake(t, err, errlen);
        if (r < 0)
                return r;
        *out = TAKE_PTR(t);
        return 0;
}

int forward_tls_send(struct forward_tls *t, const char *msg, size_t len, char *err, size_t errlen) {
        _cleanup_free_ char *frame = malloc(len + 24);
        int n;

        if (!frame)
                return -ENOMEM;
        /* RFC 5425, 4.3: octet counting, MSG-LEN SP SYSLOG-MSG; one record for both. */
        n = snprintf(frame, 24, "%zu ", len);
        memcpy(frame + n, msg, len);
        ERR_clear_error();
        if (SSL_write(t->ssl, frame, (int) (len + (size_t) n)) > 0)
                return 0;
        return tls_error(errno == EAGAIN ? -ETIMEDOUT : -ECONNRESET, err, errlen, "sending");
}

/*
 * 0 while the connection is open; -ECONNRESET once the target closed or
 * reset it.  What the target sent (a session ticket) is read and dropped:
 * left in the buffer it would hide an EOF behind it.  Nothing is read
 * through TLS after this, and SSL_shutdown() only writes.
 */
static int still_open(struct forward_tls *t) {
        char buf[4096];
        ssize_t n;

        while ((n = recv(t->fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
                ;
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -ECONNRESET;
}

/* Steps 1 and 2 of the top comment: every byte at the target, the settle time, the connection still open. */
static int settle(struct forward_tls *t, char *err, size_t errlen) {
        int64_t deadline = now_ms() + (int64_t) t->timeout_s * 1000;
        struct timespec step = { .tv_nsec = FORWARD_TLS_STEP_MS * 1000000L };
        int queued = 1;

        while (ioctl(t->fd, SIOCOUTQ, &queued) == 0 && queued > 0 && still_open(t) == 0 && now_ms() < deadline)
                nanosleep(&step, NULL);
        if (queued != 0 && still_open(t) == 0) {
                snprintf(err, errlen, "the target did not take the messages (%d bytes unacknowledged)", queued);
                return -ETIMEDOUT;
        }
        for (int i = 0; i < FORWARD_TLS_SETTLE_MS / FORWARD_TLS_STEP_MS && still_open(t) == 0; i++)
                nanosleep(&step, NULL);
        if (still_open(t) < 0) {
                snprintf(err, errlen, "the target closed or reset the connection first: delivery not proved");
                return -ECONNRESET;
        }
        return 0;
}

/* Step 3: our close_notify and FIN, then the target's orderly close. */
static int closing_handshake(struct forward_tls *t, char *err, size_t errlen) {
        int64_t deadline = now_ms() + (int64_t) t->timeout_s * 1000;
        char buf[4096];
        ssize_t n;

        ERR_clear_error();
        if (SSL_shutdown(t->ssl) < 0 || shutdown(t->fd, SHUT_WR) < 0)
                return tls_error(-ECONNRESET, err, errlen, "sending close_notify");
        /* Read the raw socket: what the target still sends (its close_notify, session tickets) is not needed. */
        while ((n = recv(t->fd, buf, sizeof buf, 0)) > 0 && now_ms() < deadline)
                ;
        if (n == 0)
                return 0;
        snprintf(err, errlen, "the target did not close in order after our close_notify (%s): delivery not proved",
                 n > 0 || errno == EAGAIN ? "timeout" : strerror(errno));
        return -EPROTO;
}

int forward_tls_close(struct forward_tls *t, bool clean, char *err, size_t errlen) {
        _cleanup_(tls_freep) struct forward_tls *owned = t;
        int r;

        if (!clean || !t)
                return 0;
        r = settle(t, err, errlen);
        if (r < 0)
                return -EPROTO;
        return closing_handshake(t, err, errlen);
}
