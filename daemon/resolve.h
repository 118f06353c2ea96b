/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which endpoint a VM name means, for operations and for show alike.
 * "ENDPOINT:NAME" names a VM on one endpoint when ENDPOINT is configured;
 * an unprefixed name with one endpoint means that one; with several, the
 * name is looked up on every endpoint the request may touch (fanout.h),
 * and resolve_tally() says what came back: exactly one VM anywhere is the
 * answer, several is an error listing them, and an endpoint that could not
 * answer might hold another match, so that is an error too.
 */
#ifndef VMT_RESOLVE_H
#define VMT_RESOLVE_H

#include <stddef.h>

#include "fanout.h"

struct pool;
struct pool_set;

/* The pool ENDPOINT:NAME or the only endpoint names (*name: the VM name), or NULL: look it up on several. */
struct pool *resolve_endpoint(struct pool_set *ps, const char *vm, const char **name);

struct resolution {
        size_t n_found;                  /* matches; a platform's own ambiguity counts as two */
        struct fanout_result *found;     /* the match, when n_found is 1 */
        struct fanout_result *failed;    /* an endpoint that could not answer, or NULL */
        char candidates[1024];           /* "EP:NAME (id)", ... */
        char endpoints[512];             /* the endpoints that matched or failed, ',' separated */
        char failures[1024];             /* "EP: why; ..." */
};

/* Tally the look-up of vm; a result's data is a JSON object with the VM's "id". */
void resolve_tally(struct fanout_result *res, size_t n, const char *vm, struct resolution *out);

/* True when the look-up settled on exactly one VM. */
bool resolve_unique(const struct resolution *res);

/*
 * Why it did not: the errno (-ENOTUNIQ, -ENOENT, or the failure's), the
 * fault name, and the message in why.
 */
int resolve_error(const struct resolution *res, const char *vm, const char **fault, char *why, size_t whylen);

#endif
