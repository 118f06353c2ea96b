/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The trail's hash chain (see trail_hash.h): canonical row encoding and
 * SHA-256 through OpenSSL's EVP interface.  The digest is fetched once per
 * hasher and the context reused, which keeps verification of a million
 * rows well under the time SQLite needs to read them.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "trail_hash.h"

struct trail_hasher {
        EVP_MD *md;
        EVP_MD_CTX *ctx;
        /* Encoding buffer, grown as needed; rows are hashed in one update. */
        unsigned char *buf;
        size_t len, cap;
};

int trail_hasher_new(struct trail_hasher **out) {
        struct trail_hasher *h = calloc(1, sizeof *h);

        if (!h)
                return -ENOMEM;
        h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
        h->ctx = EVP_MD_CTX_new();
        if (!h->md || !h->ctx) {
                trail_hasher_free(h);
                return -EIO;
        }
        *out = h;
        return 0;
}

void trail_hasher_free(struct trail_hasher *h) {
        if (!h)
                return;
        EVP_MD_CTX_free(h->ctx);
        EVP_MD_free(h->md);
        free(h->buf);
        free(h);
}

static int reserve(struct trail_hasher *h, size_t n) {
        if (h->cap - h->len >= n)
                return 0;
        size_t cap = h->cap ? h->cap : 1024;
        while (cap - h->len < n) {
                if (cap > SIZE_MAX / 2)
                        return -ENOMEM;
                cap *= 2;
        }
        unsigned char *b = realloc(h->buf, cap);
        if (!b)
                return -ENOMEM;
        h->buf = b;
        h->cap = cap;
        return 0;
}

static void put_be(struct trail_hasher *h, uint64_t v, unsigned bytes) {
        for (unsigned i = 0; i < bytes; i++)
                h->buf[h->len++] = (unsigned char) (v >> (8 * (bytes - 1 - i)));
}

static int encode_column(struct trail_hasher *h, sqlite3_stmt *s, int i) {
        int type = sqlite3_column_type(s, i);
        int r;

        switch (type) {
        case SQLITE_INTEGER:
                if ((r = reserve(h, 9)) < 0)
                        return r;
                h->buf[h->len++] = SQLITE_INTEGER;
                put_be(h, (uint64_t) sqlite3_column_int64(s, i), 8);
                return 0;
        case SQLITE_FLOAT: {
                double d = sqlite3_column_double(s, i);
                uint64_t bits;

                memcpy(&bits, &d, sizeof bits);
                if ((r = reserve(h, 9)) < 0)
                        return r;
                h->buf[h->len++] = SQLITE_FLOAT;
                put_be(h, bits, 8);
                return 0;
        }
        case SQLITE_TEXT:
        case SQLITE_BLOB: {
                /* Ask for the pointer first: it fixes the representation _bytes() measures. */
                const void *p = type == SQLITE_TEXT ? (const void *) sqlite3_column_text(s, i)
                                                    : sqlite3_column_blob(s, i);
                size_t n = (size_t) sqlite3_column_bytes(s, i);

                if ((r = reserve(h, 5 + n)) < 0)
                        return r;
                h->buf[h->len++] = (unsigned char) type;
                put_be(h, n, 4);
                if (n)
                        memcpy(h->buf + h->len, p, n);
                h->len += n;
                return 0;
        }
        default:
                if ((r = reserve(h, 1)) < 0)
                        return r;
                h->buf[h->len++] = SQLITE_NULL;
                return 0;
        }
}

/* How many columns (from seq on) an encoding covers; -1 for one this build does not know. */
static int encoding_columns(int64_t version) {
        /* Each encoding covers its predecessor's columns and appends its own: index = version. */
        static const int ncolumns[] = {
                [1] = TRAIL_HASH_V1_NCOLUMNS,
                [2] = TRAIL_HASH_V2_NCOLUMNS,
                [3] = TRAIL_HASH_V3_NCOLUMNS,
                [4] = TRAIL_HASH_NCOLUMNS - 1, /* all but hash_version itself */
        };
        _Static_assert(ELEMENTSOF(ncolumns) == TRAIL_HASH_VERSION + 1, "one entry per encoding");

        if (version < 1 || version > TRAIL_HASH_VERSION)
                return -1;
        return ncolumns[version];
}

int trail_hash_row(struct trail_hasher *h, const unsigned char prev[TRAIL_HASH_SIZE], sqlite3_stmt *s,
                   int first, unsigned char out[TRAIL_HASH_SIZE]) {
        int last = first + TRAIL_HASH_NCOLUMNS - 1; /* hash_version */
        int ncolumns;
        unsigned n = 0;
        int r;

        if (sqlite3_column_type(s, last) != SQLITE_INTEGER)
                return -EBADMSG;
        ncolumns = encoding_columns(sqlite3_column_int64(s, last));
        if (ncolumns < 0)
                return -EBADMSG;
        h->len = 0;
        if ((r = reserve(h, TRAIL_HASH_SIZE + 1)) < 0)
                return r;
        memcpy(h->buf, prev, TRAIL_HASH_SIZE);
        h->len = TRAIL_HASH_SIZE;
        h->buf[h->len++] = (unsigned char) sqlite3_column_int64(s, last);
        for (int i = first; i < first + ncolumns; i++)
                if ((r = encode_column(h, s, i)) < 0)
                        return r;

        if (EVP_DigestInit_ex2(h->ctx, h->md, NULL) != 1 ||
            EVP_DigestUpdate(h->ctx, h->buf, h->len) != 1 ||
            EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != TRAIL_HASH_SIZE)
                return -EIO;
        return 0;
}

void trail_hex_encode(const unsigned char *b, size_t n, char *out) {
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[b[i] >> 4];
                out[2 * i + 1] = digits[b[i] & 0xf];
        }
        out[2 * n] = '\0';
}

void trail_hash_to_hex(const unsigned char h[TRAIL_HASH_SIZE], char out[TRAIL_HASH_HEX_SIZE]) {
        trail_hex_encode(h, TRAIL_HASH_SIZE, out);
}

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int trail_hex_decode(const char *hex, unsigned char *out, size_t n) {
        if (!hex || strlen(hex) != 2 * n)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                out[i] = (unsigned char) (hi << 4 | lo);
        }
        return 0;
}

int trail_hash_from_hex(const char *hex, unsigned char out[TRAIL_HASH_SIZE]) {
        return trail_hex_decode(hex, out, TRAIL_HASH_SIZE);
}
