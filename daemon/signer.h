/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's half of signed checkpoints (common/trail_sign.h): the
 * Ed25519 key from the signing-key credential, held in memory only, and
 * the rows of signed_checkpoints it writes on the trail's connection.
 * audit.c owns the signer and calls it with its lock held, right after a
 * completion moved the chain head, so every signature is of a head
 * vmtraced itself wrote.
 */
#ifndef VMT_SIGNER_H
#define VMT_SIGNER_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "trail_hash.h"
#include "trail_sign.h"

struct signer;

/*
 * The key in key_path, for the trail open on db (schema 9), whose head is
 * (seq, hash).  Refuses (-EBADMSG) a trail whose last signed checkpoint
 * the chain no longer matches: extending it would sign the rewrite.
 */
int signer_new(sqlite3 *db, const char *path, const char *key_path, int64_t seq,
               const unsigned char hash[TRAIL_HASH_SIZE], struct signer **out);
void signer_free(struct signer *s);

/* No checkpoint signed yet: the first completion is signed at once. */
bool signer_none_yet(const struct signer *s);

/*
 * Sign the head (seq, hash) and store the signature, unless seq is signed
 * already: the signature's hex, and in *what what it signed; NULL when
 * there is none for seq in this run (signing or storing failed, which is
 * logged, and the next checkpoint tries again).
 */
const char *signer_sign(struct signer *s, int64_t seq, const unsigned char hash[TRAIL_HASH_SIZE],
                        const struct trail_signed **what);

/* The public key in hex, for the journal's checkpoint entries. */
const char *signer_public_hex(const struct signer *s);

#endif
