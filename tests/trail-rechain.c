/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trail-rechain DB: recompute every hash of the trail DB in seq order,
 * as an attacker who edited rows and knows the (public) chain encoding
 * would, so that plain verify passes again.  For sign.test, which shows
 * that only the signed checkpoints still catch it.  Run it only while no
 * vmtraced has the file open.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "trail_schema.h"

int main(int argc, char **argv) {
        _cleanup_(sqlite3_closep) sqlite3 *db = NULL;
        sqlite3_stmt *s = NULL;
        struct trail_chainer *c = NULL;
        unsigned char hash[TRAIL_HASH_SIZE] = {};
        int version = 0, r = 0, rc;

        if (argc != 2) {
                fprintf(stderr, "usage: %s DB\n", argv[0]);
                return 2;
        }
        if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
            trail_schema_version(db, &version) < 0 || trail_chainer_new(db, version, &c) < 0 ||
            sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(db, "SELECT id, seq FROM records WHERE seq IS NOT NULL ORDER BY seq", -1, &s, NULL) !=
                    SQLITE_OK) {
                fprintf(stderr, "%s: %s\n", argv[1], sqlite3_errmsg(db));
                trail_chainer_free(c);
                return 1;
        }
        while (r >= 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
                r = trail_chainer_append(c, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), hash);
        sqlite3_finalize(s);
        trail_chainer_free(c);
        if (r < 0 || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
                fprintf(stderr, "%s: cannot rechain: %s\n", argv[1], sqlite3_errmsg(db));
                return 1;
        }
        return 0;
}
