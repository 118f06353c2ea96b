/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * verify --key and archive --key: the trail's signed checkpoints
 * (common/trail_sign.h) checked against the public key the auditor
 * recorded, and the good ones handed to the chain walk as checkpoints, so
 * that the chain must match and reach each.  See SIGNED CHECKPOINTS in
 * vmtraced-trail(5).
 */
#ifndef VMT_VMCTL_SIGN_H
#define VMT_VMCTL_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "trail_read.h"
#include "trail_sign.h"

struct vmctl_signed {
        unsigned problems;         /* bad, foreign, removed or missing signatures */
        size_t count;              /* rows of signed_checkpoints */
        size_t valid;              /* of them, signed by the key and linked to the one before */
        int64_t last_seq;          /* the last good one's seq; 0: none */
};

/*
 * Read r's signed checkpoints.  With key, check each (fn gets a sentence
 * per problem, with userdata, as the walk's) and append the good ones to *cps; without,
 * only count them.
 */
int vmctl_signed_collect(struct trail_reader *r, const struct trail_key *key, struct trail_checkpoint **cps,
                         size_t *n_cps, trail_problem_fn fn, void *userdata, struct vmctl_signed *out);

/* One line on what the signatures prove, once the chain was walked to last_seq. */
void vmctl_signed_report(const struct vmctl_signed *s, const struct trail_key *key, int64_t last_seq);

#endif
