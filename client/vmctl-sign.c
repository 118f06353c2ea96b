/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Checking the signed checkpoints (see vmctl-sign.h).  A signature proves
 * its (seq, hash, prev_seq, time) came from the key; that the chain still
 * has that hash at that seq is the walk's job, so each good one becomes a
 * checkpoint of the walk.  prev_seq links each to the last good one
 * before it: a row removed from the middle of the table breaks the link.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macros.h"
#include "vmctl-sign.h"

struct collect {
        const struct trail_key *key;
        struct trail_checkpoint **cps;
        size_t *n_cps;
        trail_problem_fn fn;
        void *userdata;
        struct vmctl_signed *out;
        int64_t *seqs;             /* every row's seq so far, in order: what a prev_seq may name */
        size_t n_seqs;
        int64_t anchor;            /* pruned up to this seq: the signatures up to it are in the archive */
};

static void sign_problem(struct collect *c, const char *fmt, ...) _printf_(2, 3);
static void sign_problem(struct collect *c, const char *fmt, ...) {
        _cleanup_free_ char *text = NULL;
        va_list ap;
        int n;

        c->out->problems++;
        va_start(ap, fmt);
        n = vasprintf(&text, fmt, ap);
        va_end(ap);
        if (n >= 0)
                c->fn(text, c->userdata);
}

/* Is row one the key signed?  Says why not. */
static bool signed_by_key(struct collect *c, const struct trail_signature_row *row) {
        int64_t seq = row->c.seq;

        if (strcmp(row->public_key, trail_key_public_hex(c->key)) != 0) {
                sign_problem(c, "the signed checkpoint at seq %" PRId64 " is signed by another key (%.64s), "
                             "not the one given: forged, or the key was changed", seq, row->public_key);
                return false;
        }
        if (!row->hash_ok || trail_key_verify(c->key, &row->c, row->signature) < 0) {
                sign_problem(c, "the signed checkpoint at seq %" PRId64 " does not match its signature: "
                             "modified or forged", seq);
                return false;
        }
        return true;
}

static int add_checkpoint(struct collect *c, const struct trail_signed *s) {
        struct trail_checkpoint cp = { .seq = s->seq, .is_signed = true };

        memcpy(cp.hash, s->hash, TRAIL_HASH_SIZE);
        return trail_checkpoint_append(c->cps, c->n_cps, &cp);
}

/* Was the checkpoint seq, which a good signature names as the one before, ever in the table? */
static bool was_seen(const struct collect *c, int64_t seq) {
        for (size_t i = c->n_seqs; i > 0; i--)
                if (c->seqs[i - 1] == seq)
                        return true;
        return seq == 0 || seq <= c->anchor;
}

static int collect_one(const struct trail_signature_row *row, void *userdata) {
        struct collect *c = userdata;
        struct vmctl_signed *out = c->out;
        int64_t *l;

        out->count++;
        if (!c->key)
                return 0;
        l = reallocarray(c->seqs, c->n_seqs + 1, sizeof *l);
        if (!l)
                return log_oom();
        c->seqs = l;
        c->seqs[c->n_seqs++] = row->c.seq;
        if (!signed_by_key(c, row))
                return 0;
        /* An edited row before it is reported as such: only a seq that is gone makes a removal. */
        if (!was_seen(c, row->c.prev_seq))
                sign_problem(c, "the signed checkpoint at seq %" PRId64 " follows one at seq %" PRId64
                             ", which is not there: a signed checkpoint was removed", row->c.seq, row->c.prev_seq);
        out->valid++;
        out->last_seq = row->c.seq;
        return add_checkpoint(c, &row->c);
}

int vmctl_signed_collect(struct trail_reader *r, const struct trail_key *key, struct trail_checkpoint **cps,
                         size_t *n_cps, trail_problem_fn fn, void *userdata, struct vmctl_signed *out) {
        struct collect c = { .key = key, .cps = cps, .n_cps = n_cps, .fn = fn, .userdata = userdata, .out = out };
        int k;

        struct trail_anchor a;

        *out = (struct vmctl_signed) {};
        if (trail_reader_anchor(r, &a) >= 0) {
                c.anchor = a.at.seq;
                free(a.archive);
        }
        k = trail_reader_signatures(r, collect_one, &c);
        free(c.seqs);
        if (k < 0)
                return k;
        /*
         * After a prune the signatures of the rows before the anchor are in
         * the archive, and the rows after it may have none yet.
         */
        if (key && out->count == 0 && c.anchor > 0)
                printf("NOTE: no signed checkpoint after the anchor (seq %" PRId64 "): the ones before it are in "
                       "the archive; vmtraced signs the next one within checkpoint-interval rows.\n", c.anchor);
        else if (key && out->count == 0)
                sign_problem(&c, "no signed checkpoint: the signatures were removed, or vmtraced never signed "
                             "this trail (no signing-key)");
        return 0;
}

void vmctl_signed_report(const struct vmctl_signed *s, const struct trail_key *key, int64_t last_seq) {
        if (!key) {
                if (s->count)
                        printf("%zu signed checkpoint(s), not checked: give --key to check them.\n", s->count);
                return;
        }
        printf("%zu of %zu signed checkpoint(s) good, by key SHA-256 %s", s->valid, s->count,
               trail_key_fingerprint(key));
        if (s->valid && last_seq > s->last_seq)
                printf("; seq %" PRId64 "..%" PRId64 " come after the last one (seq %" PRId64
                       ") and no signature covers them yet", s->last_seq + 1, last_seq, s->last_seq);
        fputs(".\n", stdout);
}
