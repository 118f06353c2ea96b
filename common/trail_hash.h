/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The trail's hash chain, shared by the daemon (which extends it) and vmctl
 * (which verifies it), so both compute it with the same code.
 *
 * Every completed row carries seq (its place in completion order, 1, 2, ...)
 * and hash = SHA-256(prev || E(row)), where prev is the 32 raw bytes of the
 * previous row's hash (32 zero bytes before seq 1) and E is the canonical
 * encoding of the row: one byte naming the encoding version, then each
 * column the version covers, in TRAIL_HASH_COLUMNS order, as one SQLite type
 * code byte followed by its value:
 *
 *   0x05 NULL     nothing more
 *   0x01 INTEGER  8 bytes, big-endian two's complement
 *   0x02 FLOAT    8 bytes, big-endian IEEE 754 binary64
 *   0x03 TEXT     4-byte big-endian length, then the bytes as stored
 *   0x04 BLOB     4-byte big-endian length, then the bytes
 *
 * The type byte makes NULL differ from "" and 5 from '5'; the length
 * prefix makes ("ab","c") differ from ("a","bc").  The hash is stored as
 * 64 lowercase hex digits.  See vmtraced-trail(5).
 *
 * Encoding versions, stored per row in column hash_version (schema 3):
 *
 *   0x01  the 21 columns seq .. task (rows completed before schema 3)
 *   0x02  those, then login_uid, session_id (rows completed under schema 3)
 *   0x03  those, then platform_user (rows completed under schema 4)
 *   0x04  those, then source, seen_from_ms, seen_to_ms (every row completed
 *         since schema 5)
 *
 * A row keeps the encoding it was hashed with, so migrating a database
 * never rewrites a hash.  The version byte is part of what is hashed, so
 * changing a row's hash_version breaks its hash like any other edit.
 */
#ifndef VMT_TRAIL_HASH_H
#define VMT_TRAIL_HASH_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRAIL_HASH_SIZE 32
#define TRAIL_HASH_HEX_SIZE (2 * TRAIL_HASH_SIZE + 1)

/* The columns encoding 0x01 covers after seq. */
#define TRAIL_HASH_V1_AFTER_SEQ                                                       \
        "id, start_ms, end_ms, operation, uid, gid, pid, user, endpoint, "           \
        "endpoint_url, host, vm_name, vm_id, vm_uuid, before, after, result, fault, " \
        "message, task"
#define TRAIL_HASH_V1_NCOLUMNS 21

/* Encoding 0x02 covers these too. */
#define TRAIL_HASH_V2_NCOLUMNS (TRAIL_HASH_V1_NCOLUMNS + 2)
/* And encoding 0x03 these. */
#define TRAIL_HASH_V3_NCOLUMNS (TRAIL_HASH_V2_NCOLUMNS + 1)

/*
 * What trail_hash_row() reads, in order: the columns of the newest
 * encoding, then hash_version, which picks the encoding (and so how many
 * of the columns are hashed).
 */
#define TRAIL_HASH_COLUMNS_AFTER_SEQ                                                         \
        TRAIL_HASH_V1_AFTER_SEQ ", login_uid, session_id, platform_user, source, seen_from_ms, " \
                                "seen_to_ms, hash_version"
#define TRAIL_HASH_COLUMNS "seq, " TRAIL_HASH_COLUMNS_AFTER_SEQ
#define TRAIL_HASH_NCOLUMNS 28

/*
 * The same read from tables of older schemas, the columns they lack as
 * NULL: every chained row of schema 2 is 0x01, no row of schema 3 is 0x03
 * and none of schema 4 is 0x04, so the NULLs are never hashed.
 */
#define TRAIL_HASH_SCHEMA2_AFTER_SEQ TRAIL_HASH_V1_AFTER_SEQ ", NULL, NULL, NULL, NULL, NULL, NULL, 1"
#define TRAIL_HASH_SCHEMA2_COLUMNS "seq, " TRAIL_HASH_SCHEMA2_AFTER_SEQ
#define TRAIL_HASH_SCHEMA3_AFTER_SEQ \
        TRAIL_HASH_V1_AFTER_SEQ ", login_uid, session_id, NULL, NULL, NULL, NULL, hash_version"
#define TRAIL_HASH_SCHEMA4_AFTER_SEQ \
        TRAIL_HASH_V1_AFTER_SEQ ", login_uid, session_id, platform_user, NULL, NULL, NULL, hash_version"

/* The encoding new rows get. */
#define TRAIL_HASH_VERSION 4

struct trail_hasher;

int trail_hasher_new(struct trail_hasher **out);
void trail_hasher_free(struct trail_hasher *h);

/*
 * hash = SHA-256(prev || E(row)), the row being columns first ..
 * first + TRAIL_HASH_NCOLUMNS - 1 of the current row of s, which must be
 * those of TRAIL_HASH_COLUMNS in order.  Returns 0, -ENOMEM/-EIO, or
 * -EBADMSG when hash_version names no known encoding (the row cannot be
 * verified: callers treat it as altered).
 */
int trail_hash_row(struct trail_hasher *h, const unsigned char prev[TRAIL_HASH_SIZE], sqlite3_stmt *s,
                   int first, unsigned char out[TRAIL_HASH_SIZE]);

/* Lowercase hex of a hash, and back (-EINVAL unless exactly 64 hex digits). */
void trail_hash_to_hex(const unsigned char h[TRAIL_HASH_SIZE], char out[TRAIL_HASH_HEX_SIZE]);
int trail_hash_from_hex(const char *hex, unsigned char out[TRAIL_HASH_SIZE]);
/* The same for n bytes of anything (out holds 2n + 1); decoding wants exactly 2n hex digits. */
void trail_hex_encode(const unsigned char *b, size_t n, char *out);
int trail_hex_decode(const char *hex, unsigned char *out, size_t n);

#endif
