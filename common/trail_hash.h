/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The trail's hash chain, shared by the daemon (which extends it) and vmctl
 * (which verifies it), so both compute it with the same code.
 *
 * Every completed row carries seq (its place in completion order, 1, 2, ...)
 * and hash = SHA-256(prev || E(row)), where prev is the 32 raw bytes of the
 * previous row's hash (32 zero bytes before seq 1) and E is the canonical
 * encoding of the row: the byte 0x01 (encoding version), then each column
 * of TRAIL_HASH_COLUMNS in that order as one SQLite type code byte followed
 * by its value:
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
 */
#ifndef VMT_TRAIL_HASH_H
#define VMT_TRAIL_HASH_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRAIL_HASH_SIZE 32
#define TRAIL_HASH_HEX_SIZE (2 * TRAIL_HASH_SIZE + 1)

/* The hashed columns of table records, in encoding order. */
#define TRAIL_HASH_COLUMNS_AFTER_SEQ                                                  \
        "id, start_ms, end_ms, operation, uid, gid, pid, user, endpoint, "           \
        "endpoint_url, host, vm_name, vm_id, vm_uuid, before, after, result, fault, " \
        "message, task"
#define TRAIL_HASH_COLUMNS "seq, " TRAIL_HASH_COLUMNS_AFTER_SEQ
#define TRAIL_HASH_NCOLUMNS 21

struct trail_hasher;

int trail_hasher_new(struct trail_hasher **out);
void trail_hasher_free(struct trail_hasher *h);

/*
 * hash = SHA-256(prev || E(row)), the row being columns first ..
 * first + TRAIL_HASH_NCOLUMNS - 1 of the current row of s, which must be
 * those of TRAIL_HASH_COLUMNS in order.  Returns 0 or -ENOMEM/-EIO.
 */
int trail_hash_row(struct trail_hasher *h, const unsigned char prev[TRAIL_HASH_SIZE], sqlite3_stmt *s,
                   int first, unsigned char out[TRAIL_HASH_SIZE]);

/* Lowercase hex of a hash, and back (-EINVAL unless exactly 64 hex digits). */
void trail_hash_to_hex(const unsigned char h[TRAIL_HASH_SIZE], char out[TRAIL_HASH_HEX_SIZE]);
int trail_hash_from_hex(const char *hex, unsigned char out[TRAIL_HASH_SIZE]);

#endif
