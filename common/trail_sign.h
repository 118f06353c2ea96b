/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Signed checkpoints: vmtraced signs the chain head (seq and hash) with an
 * Ed25519 key it holds only in memory, read from a systemd credential,
 * and stores the signature in the table signed_checkpoints (schema 9);
 * vmctl verify --key checks each against the public key.  Anyone who can
 * write the file can recompute the hash chain, but cannot sign a head
 * without the key.  What is signed is one line of text, so an auditor
 * can check a signature with openssl(1) alone; see SIGNED CHECKPOINTS in
 * vmtraced-trail(5).
 *
 * Functions return 0 or a negative errno, and log what went wrong.
 */
#ifndef VMT_TRAIL_SIGN_H
#define VMT_TRAIL_SIGN_H

#include <stdint.h>
#include <stdio.h>

#include "macros.h"
#include "trail_hash.h"

#define TRAIL_SIGN_KEY_SIZE 32
#define TRAIL_SIGN_KEY_HEX_SIZE (2 * TRAIL_SIGN_KEY_SIZE + 1)
#define TRAIL_SIGNATURE_SIZE 64
#define TRAIL_SIGNATURE_HEX_SIZE (2 * TRAIL_SIGNATURE_SIZE + 1)

/* What one signature covers: a row of signed_checkpoints but its key and signature. */
struct trail_signed {
        int64_t seq;
        unsigned char hash[TRAIL_HASH_SIZE];
        int64_t prev_seq;          /* the checkpoint signed before it; 0 for the first */
        int64_t signed_ms;
};

/*
 * The text that is signed, without a line end:
 * "vmtraced-checkpoint-v1 seq=SEQ hash=HASH prev=PREV_SEQ time=SIGNED_MS".
 * Returns its length; buf should hold TRAIL_SIGN_MESSAGE_MAX bytes.
 */
#define TRAIL_SIGN_MESSAGE_MAX 192
int trail_sign_message(const struct trail_signed *c, char buf[TRAIL_SIGN_MESSAGE_MAX]);

/* An Ed25519 key: private (it signs) or public only (it verifies). */
struct trail_key;

/*
 * The private key in path: PEM (PKCS#8, as "openssl genpkey -algorithm
 * ed25519" writes it, not encrypted) or the raw 32-byte seed.  The file's
 * bytes are wiped from memory once parsed; the key is never logged.
 */
int trail_key_load_private(const char *path, struct trail_key **out);
/* The public key in path: PEM ("openssl pkey -pubout"), or 64 hex digits of the raw key. */
int trail_key_load_public(const char *path, struct trail_key **out);
void trail_key_free(struct trail_key *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct trail_key *, trail_key_free);

/* The raw public key in hex, and its SHA-256 (hex), the fingerprint to record out of band. */
const char *trail_key_public_hex(const struct trail_key *k);
const char *trail_key_fingerprint(const struct trail_key *k);
/* The public key as PEM, for "vmtraced --print-public-key". */
int trail_key_public_pem(const struct trail_key *k, FILE *f);

/* Sign c (the key must be private): its signature in hex. */
int trail_key_sign(const struct trail_key *k, const struct trail_signed *c, char out[TRAIL_SIGNATURE_HEX_SIZE]);
/* 0 when sig_hex is k's signature of c, -EBADMSG when it is not (or is not 128 hex digits). */
int trail_key_verify(const struct trail_key *k, const struct trail_signed *c, const char *sig_hex);

#endif
