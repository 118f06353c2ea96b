/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Log in to each endpoint once; see probe.h. */
#include <inttypes.h>
#include <stdlib.h>

#include "backend.h"
#include "macros.h"
#include "printable.h"
#include "probe.h"
#include "util.h"

/* The platform's words reach a terminal here: escaped, as every human output is. */
static void print_escaped(FILE *f, const char *s) {
        printable_fput(f, s, strlen(s), "");
}

static int probe_one(const struct endpoint_config *ep, char **who, struct op_error *err) {
        const struct backend_ops *ops = ep->backend;
        struct backend_session *s = NULL;
        struct op_error ignored = {};

        int r = ops->session_new(ep, &s, err);
        if (r < 0)
                return r;
        r = ops->login(s, who, err);
        if (r >= 0)
                (void) ops->logout(s, &ignored);
        ops->session_free(s);
        return r;
}

unsigned probe_endpoints(const struct config *c, FILE *f) {
        unsigned failed = 0;

        for (const struct endpoint_config *ep = c->endpoints; ep; ep = ep->next) {
                struct op_error err = {};
                _cleanup_free_ char *who = NULL;
                int64_t t0 = now_ms();
                int r = probe_one(ep, &who, &err);

                fprintf(f, "endpoint %s (%s): ", ep->name, ep->backend->name);
                if (r >= 0) {
                        fputs("OK, logged in as ", f);
                        print_escaped(f, who ? who : "(the platform did not say)");
                } else {
                        failed++;
                        fputs("FAILED: ", f);
                        print_escaped(f, err.fault);
                        fputs(": ", f);
                        print_escaped(f, err.message);
                }
                fprintf(f, " (%" PRId64 " ms)\n", now_ms() - t0);
        }
        return failed;
}
