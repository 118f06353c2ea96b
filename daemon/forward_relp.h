/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The RELP transport of the forwarder (librelp), built as the module
 * forward-relp.so: librelp links GnuTLS, which with p11-kit, nettle and
 * GMP is 2.4 MiB resident in every daemon that maps it, and most daemons
 * forward with syslog-tls or not at all (daemon/module.h).  forward.c
 * reaches it only through the one table the module exports.
 *
 * The RELP window is 1: a send returns only once the target acknowledged
 * the message, so a send that succeeds proves every message before it.
 * Blocking, with timeouts: it runs in the forwarder's own thread.  Errors
 * are -ECONNRESET, with a sentence for vmctl status in err.
 */
#ifndef VMT_FORWARD_RELP_H
#define VMT_FORWARD_RELP_H

#include <stddef.h>

struct forward_config;
struct forward_relp;

struct forward_relp_ops {
        /* A client of c's target, connected (TLS when c names a ca or cert); *out is set even on failure. */
        int (*connect)(const struct forward_config *c, unsigned timeout_s, struct forward_relp **out, char *err,
                       size_t errlen);
        /* Send one syslog message (without its newline) and wait for its acknowledgement. */
        int (*send)(struct forward_relp *r, const char *msg, size_t len, char *err, size_t errlen);
        /* Drop the connection and free r (NULL: nothing). */
        void (*close)(struct forward_relp *r);
};

#define FORWARD_RELP_MODULE "forward-relp.so"

/* What the module exports. */
extern const struct forward_relp_ops forward_relp_module;

/* The core's side: the module's table, loaded on first use; NULL with why in err. */
const struct forward_relp_ops *forward_relp_load(char *err, size_t errlen);

#endif
