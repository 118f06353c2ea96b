/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The syslog-tls transport of the forwarder (RFC 5425): RFC 5424 messages
 * over TLS 1.2 or later with OpenSSL, each framed "LEN SP MSG" (octet
 * counting).  The target's certificate must chain to the forward's ca
 * (the system's trust store without one) and name its host; the client
 * certificate and key are offered when set.
 *
 * RFC 5425 has no acknowledgement.  What forward_tls_close() proves
 * instead, and why it is the strongest claim TLS allows, is in
 * forward_tls.c; daemon/forward.c records a row as acknowledged only when
 * forward_tls_close() confirmed the connection that carried it.
 *
 * Blocking, with timeouts: it runs in the forwarder's own thread.  Errors
 * are negative errnos, with a sentence for vmctl status in err.
 */
#ifndef VMT_FORWARD_TLS_H
#define VMT_FORWARD_TLS_H

#include <stdbool.h>
#include <stddef.h>

struct forward_config;
struct forward_tls;

/* Connect to c's target and complete the handshake; the certificates and key are read now. */
int forward_tls_connect(const struct forward_config *c, unsigned timeout_s, struct forward_tls **out, char *err,
                        size_t errlen);
/* Send one message (without its newline), framed. */
int forward_tls_send(struct forward_tls *t, const char *msg, size_t len, char *err, size_t errlen);
/*
 * Close.  clean: the closing handshake of forward_tls.c, and 0 only when
 * the target read everything sent and closed in order; -EPROTO (err says
 * why) when that is not proved.  Not clean: just drop the connection.
 * Frees t either way.
 */
int forward_tls_close(struct forward_tls *t, bool clean, char *err, size_t errlen);

#endif
