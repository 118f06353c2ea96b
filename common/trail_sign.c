/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ed25519 keys and signatures of checkpoints (see trail_sign.h), through
 * OpenSSL's EVP interface: Ed25519 hashes the message itself, so it is
 * signed in one EVP_DigestSign() call with no digest.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "log.h"
#include "trail_sign.h"

/* A key file is a few hundred bytes; anything much larger is not one. */
#define KEY_FILE_MAX 16384

struct trail_key {
        EVP_PKEY *pkey;
        char public_hex[TRAIL_SIGN_KEY_HEX_SIZE];
        char fingerprint[TRAIL_HASH_HEX_SIZE];
};

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MD_CTX *, EVP_MD_CTX_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free);

int trail_sign_message(const struct trail_signed *c, char buf[TRAIL_SIGN_MESSAGE_MAX]) {
        char hex[TRAIL_HASH_HEX_SIZE];

        trail_hash_to_hex(c->hash, hex);
        return snprintf(buf, TRAIL_SIGN_MESSAGE_MAX,
                        "vmtraced-checkpoint-v1 seq=%" PRId64 " hash=%s prev=%" PRId64 " time=%" PRId64, c->seq, hex,
                        c->prev_seq, c->signed_ms);
}

void trail_key_free(struct trail_key *k) {
        if (!k)
                return;
        EVP_PKEY_free(k->pkey);
        free(k);
}

/* The whole file into buf (which the caller wipes): its length, or a negative errno. */
static ssize_t read_key_file(const char *path, unsigned char buf[KEY_FILE_MAX]) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        size_t n = 0;

        if (fd < 0)
                return log_error_errno(-errno, "Cannot open the key %s: %m", path);
        while (n < KEY_FILE_MAX) {
                ssize_t k = read(fd, buf + n, KEY_FILE_MAX - n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return log_error_errno(-errno, "Cannot read the key %s: %m", path);
                if (k == 0)
                        return (ssize_t) n;
                n += (size_t) k;
        }
        return log_error_errno(-EFBIG, "The key %s is larger than %d bytes: not a key.", path, KEY_FILE_MAX);
}

/* The public half, as hex and as its fingerprint; the key must be Ed25519. */
static int key_new(EVP_PKEY *pkey, const char *path, struct trail_key **out) {
        unsigned char raw[TRAIL_SIGN_KEY_SIZE], digest[TRAIL_HASH_SIZE];
        size_t len = sizeof raw;
        unsigned dlen = 0;
        struct trail_key *k;

        if (!EVP_PKEY_is_a(pkey, "ED25519")) {
                EVP_PKEY_free(pkey);
                return log_error_errno(-EINVAL, "The key %s is not an Ed25519 key.", path);
        }
        k = calloc(1, sizeof *k);
        if (!k) {
                EVP_PKEY_free(pkey);
                return log_oom();
        }
        k->pkey = pkey;
        if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1 || len != sizeof raw ||
            EVP_Digest(raw, len, digest, &dlen, EVP_sha256(), NULL) != 1) {
                trail_key_free(k);
                return log_error_errno(-EIO, "Cannot read the public half of the key %s.", path);
        }
        trail_hex_encode(raw, sizeof raw, k->public_hex);
        trail_hex_encode(digest, sizeof digest, k->fingerprint);
        *out = k;
        return 0;
}

/* An encrypted key would make OpenSSL ask on the terminal: the daemon has none, so it is refused. */
static int no_passphrase(char *buf _unused_, int size _unused_, int rwflag _unused_, void *u _unused_) {
        return -1;
}

static bool is_space(unsigned char c) {
        return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static bool is_pem(const unsigned char *buf, size_t n) {
        static const char begin[] = "-----BEGIN ";
        const unsigned char *end = buf + n;

        while (buf < end && is_space(*buf))
                buf++;
        return (size_t) (end - buf) >= sizeof begin - 1 && memcmp(buf, begin, sizeof begin - 1) == 0;
}

static EVP_PKEY *parse_private(const unsigned char *buf, size_t n) {
        _cleanup_(BIO_freep) BIO *bio = NULL;

        if (n == TRAIL_SIGN_KEY_SIZE && !is_pem(buf, n))
                return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, buf, n);
        bio = BIO_new_mem_buf(buf, (int) n);
        return bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
}

int trail_key_load_private(const char *path, struct trail_key **out) {
        unsigned char *buf = malloc(KEY_FILE_MAX);
        EVP_PKEY *pkey = NULL;
        ssize_t n;

        if (!buf)
                return log_oom();
        n = read_key_file(path, buf);
        if (n >= 0)
                pkey = parse_private(buf, (size_t) n);
        /* The key's bytes live on only inside OpenSSL's key object. */
        explicit_bzero(buf, KEY_FILE_MAX);
        free(buf);
        if (n < 0)
                return (int) n;
        if (!pkey)
                return log_error_errno(-EINVAL, "The key %s is neither an unencrypted PEM private key nor a raw "
                                       "32-byte Ed25519 seed.", path);
        return key_new(pkey, path, out);
}

/* 64 hex digits, perhaps with surrounding white space. */
static EVP_PKEY *parse_public_hex(const unsigned char *buf, size_t n) {
        char hex[TRAIL_SIGN_KEY_HEX_SIZE];
        unsigned char raw[TRAIL_SIGN_KEY_SIZE];
        size_t i = 0;

        while (i < n && is_space(buf[i]))
                i++;
        while (n > i && is_space(buf[n - 1]))
                n--;
        if (n - i != 2 * TRAIL_SIGN_KEY_SIZE)
                return NULL;
        memcpy(hex, buf + i, n - i);
        hex[n - i] = 0;
        if (trail_hex_decode(hex, raw, sizeof raw) < 0)
                return NULL;
        return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, sizeof raw);
}

int trail_key_load_public(const char *path, struct trail_key **out) {
        _cleanup_free_ unsigned char *buf = malloc(KEY_FILE_MAX);
        _cleanup_(BIO_freep) BIO *bio = NULL;
        EVP_PKEY *pkey = NULL;
        ssize_t n;

        if (!buf)
                return log_oom();
        n = read_key_file(path, buf);
        if (n < 0)
                return (int) n;
        if (is_pem(buf, (size_t) n) && (bio = BIO_new_mem_buf(buf, (int) n)))
                pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
        else if (!is_pem(buf, (size_t) n))
                pkey = parse_public_hex(buf, (size_t) n);
        if (!pkey)
                return log_error_errno(-EINVAL, "%s holds no public key: give the PEM public key "
                                       "(vmtraced --print-public-key, or openssl pkey -pubout) or its 64 hex digits.",
                                       path);
        return key_new(pkey, path, out);
}

const char *trail_key_public_hex(const struct trail_key *k) {
        return k->public_hex;
}

const char *trail_key_fingerprint(const struct trail_key *k) {
        return k->fingerprint;
}

int trail_key_public_pem(const struct trail_key *k, FILE *f) {
        return PEM_write_PUBKEY(f, k->pkey) == 1 ? 0 : log_error_errno(-EIO, "Cannot write the public key.");
}

int trail_key_sign(const struct trail_key *k, const struct trail_signed *c, char out[TRAIL_SIGNATURE_HEX_SIZE]) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned char sig[TRAIL_SIGNATURE_SIZE];
        char msg[TRAIL_SIGN_MESSAGE_MAX];
        size_t len = sizeof sig;
        int n = trail_sign_message(c, msg);

        if (!ctx || EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) != 1 ||
            EVP_DigestSign(ctx, sig, &len, (const unsigned char *) msg, (size_t) n) != 1 || len != sizeof sig)
                return log_error_errno(-EIO, "Cannot sign the checkpoint at seq %" PRId64 ".", c->seq);
        trail_hex_encode(sig, sizeof sig, out);
        return 0;
}

int trail_key_verify(const struct trail_key *k, const struct trail_signed *c, const char *sig_hex) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned char sig[TRAIL_SIGNATURE_SIZE];
        char msg[TRAIL_SIGN_MESSAGE_MAX];
        int n = trail_sign_message(c, msg);

        if (!ctx)
                return log_oom();
        if (trail_hex_decode(sig_hex, sig, sizeof sig) < 0)
                return -EBADMSG;
        if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) != 1)
                return log_error_errno(-EIO, "Cannot set up signature verification.");
        return EVP_DigestVerify(ctx, sig, sizeof sig, (const unsigned char *) msg, (size_t) n) == 1 ? 0 : -EBADMSG;
}
