/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Signed checkpoints, the daemon's side (see signer.h).  Each signature
 * names the seq of the one before it (prev_seq), so a row removed from the
 * middle of signed_checkpoints shows; the rows are written in autocommit
 * mode after the completion's own transaction, because a signature that
 * cannot be stored loses nothing the next checkpoint does not sign again.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macros.h"
#include "signer.h"
#include "trail_schema.h"
#include "trail_sign.h"
#include "util.h"

struct signer {
        sqlite3 *db;               /* the trail's connection: used under audit.c's lock */
        const char *path;          /* the trail's, for messages; audit.c's string */
        sqlite3_stmt *insert;
        struct trail_key *key;
        int64_t signed_seq;        /* the last checkpoint signed, in this run or an earlier one; 0: none */
        struct trail_signed last;  /* signed_seq's checkpoint, once signed in this run */
        char signature[TRAIL_SIGNATURE_HEX_SIZE]; /* and its signature; "" before */
};


void signer_free(struct signer *s) {
        if (!s)
                return;
        sqlite3_finalize(s->insert);
        trail_key_free(s->key);
        free(s);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct signer *, signer_free);

static int sql_error(struct signer *s, const char *what) {
        return log_error_errno(-EIO, "Failed to %s in %s: %s", what, s->path, sqlite3_errmsg(s->db));
}

/*
 * The last signed checkpoint must still be what the chain holds at its
 * seq: a row rewritten (and the chain recomputed) since would otherwise be
 * signed over.  A row no longer there is not checked: vmctl verify says
 * what became of it.
 */
static int check_last(struct signer *s) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *q = NULL;
        const char *signed_hash, *chain_hash;

        if (sqlite3_prepare_v2(s->db,
                               "SELECT c.seq, c.hash, r.hash FROM signed_checkpoints c LEFT JOIN records r ON r.seq = c.seq"
                               " ORDER BY c.seq DESC LIMIT 1", -1, &q, NULL) != SQLITE_OK)
                return sql_error(s, "read the signed checkpoints");
        if (sqlite3_step(q) != SQLITE_ROW)
                return 0;
        s->signed_seq = sqlite3_column_int64(q, 0);
        signed_hash = (const char *) sqlite3_column_text(q, 1);
        chain_hash = (const char *) sqlite3_column_text(q, 2);
        if (chain_hash && signed_hash && strcmp(chain_hash, signed_hash) != 0)
                return log_error_errno(-EBADMSG, "The trail %s was altered: seq %" PRId64 " no longer has the hash "
                                       "its signed checkpoint names (see vmctl verify --key); refusing to sign over it.",
                                       s->path, s->signed_seq);
        return 0;
}

int signer_new(sqlite3 *db, const char *path, const char *key_path, int64_t seq,
               const unsigned char hash[TRAIL_HASH_SIZE], struct signer **out) {
        _cleanup_(signer_freep) struct signer *s = calloc(1, sizeof *s);
        char hex[TRAIL_HASH_HEX_SIZE];
        int r;

        if (!s)
                return log_oom();
        s->db = db;
        s->path = path;
        r = trail_key_load_private(key_path, &s->key);
        if (r < 0)
                return r;
        if (sqlite3_prepare_v2(db,
                               "INSERT INTO signed_checkpoints (seq, hash, prev_seq, signed_ms, public_key, signature)"
                               " VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, &s->insert, NULL) != SQLITE_OK)
                return sql_error(s, "prepare statements");
        r = check_last(s);
        if (r < 0)
                return r;
        trail_hash_to_hex(hash, hex);
        /* For the out-of-band record: with these, a later verify --key means something. */
        log_info("Signing checkpoints of %s with Ed25519 public key %s (SHA-256 fingerprint %s); "
                 "trail head %" PRId64 ":%s.", path, trail_key_public_hex(s->key), trail_key_fingerprint(s->key),
                 seq, hex);
        *out = TAKE_PTR(s);
        return 0;
}

bool signer_none_yet(const struct signer *s) {
        return s->signed_seq == 0;
}

const char *signer_public_hex(const struct signer *s) {
        return trail_key_public_hex(s->key);
}

static int store(struct signer *s, const struct trail_signed *c, const char *sig) {
        char hex[TRAIL_HASH_HEX_SIZE];
        sqlite3_stmt *q = s->insert;
        int rc;

        trail_hash_to_hex(c->hash, hex);
        sqlite3_reset(q);
        if (sqlite3_bind_int64(q, 1, c->seq) != SQLITE_OK || sqlite3_bind_text(q, 2, hex, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
            sqlite3_bind_int64(q, 3, c->prev_seq) != SQLITE_OK || sqlite3_bind_int64(q, 4, c->signed_ms) != SQLITE_OK ||
            sqlite3_bind_text(q, 5, trail_key_public_hex(s->key), -1, SQLITE_TRANSIENT) != SQLITE_OK ||
            sqlite3_bind_text(q, 6, sig, -1, SQLITE_TRANSIENT) != SQLITE_OK)
                return sql_error(s, "bind a signed checkpoint");
        rc = sqlite3_step(q);
        sqlite3_reset(q);
        if (rc != SQLITE_DONE)
                return log_warning_errno(trail_schema_errno(rc), "Failed to store the signed checkpoint at seq %" PRId64
                                         " in %s: %s; the next checkpoint is signed again.", c->seq, s->path,
                                         sqlite3_errstr(rc));
        return 0;
}

const char *signer_sign(struct signer *s, int64_t seq, const unsigned char hash[TRAIL_HASH_SIZE],
                        const struct trail_signed **what) {
        struct trail_signed c = { .seq = seq, .prev_seq = s->signed_seq, .signed_ms = now_ms() };
        char hex[TRAIL_SIGNATURE_HEX_SIZE];

        *what = &s->last;
        if (seq == s->signed_seq && s->signature[0])
                return s->signature;
        if (seq <= s->signed_seq)
                return NULL; /* signed by an earlier run, whose signature is in the table */
        memcpy(c.hash, hash, TRAIL_HASH_SIZE);
        if (trail_key_sign(s->key, &c, hex) < 0 || store(s, &c, hex) < 0)
                return NULL;
        s->last = c;
        s->signed_seq = seq;
        memcpy(s->signature, hex, sizeof hex);
        return s->signature;
}
