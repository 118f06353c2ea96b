/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmctl prune (trail_prune.c): retention without breaking the chain.  The
 * oldest rows, those of the chain up to some seq K that all ended before a
 * time, are archived (a verified, self-contained copy of the chain up to K,
 * as vmctl archive makes, with its head recorded), then removed from the
 * trail in one transaction that also writes an anchor (schema 10): K and
 * its hash, from which the rest of the chain goes on.  vmctl verify of the
 * remainder starts at the anchor; with --archive it checks that the
 * archive's head is the anchor, so archive and remainder verify as one
 * chain.  Never removed: PENDING rows, rows after K, and rows a forwarding
 * target has not acknowledged yet.  The live trail may be in use by the
 * daemon meanwhile (SQLite's locks).
 */
#ifndef TRAIL_PRUNE_H
#define TRAIL_PRUNE_H

#include <stdint.h>

#include "trail_read.h"

struct trail_prune_result {
        int64_t seq;                       /* K: the last row removed */
        int64_t rows;                      /* how many were removed */
        struct trail_verify_result archive; /* the archive's verification */
        char limit[224];                   /* what held K below the time asked, if anything ("" if not) */
};

/*
 * Prune r's file: rows of the chain that ended before before_ms, archived
 * into out (a new file).  -ENODATA (logged) when no row qualifies, -EBADMSG
 * when the archive does not verify (nothing is removed then), else 0.
 */
int trail_prune(struct trail_reader *r, int64_t before_ms, const char *out, const struct trail_verify_args *args,
                struct trail_prune_result *res);

#endif
