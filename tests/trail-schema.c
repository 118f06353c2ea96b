/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trail-schema DB VERSION: create an empty trail at schema VERSION exactly
 * as that vmtraced made it, through the migrations themselves.  For tests
 * and benches that need an old trail: since vmtraced (and vmctl verify)
 * refuse a schema other than the one they made, a hand-written copy of an
 * old schema would not do.  DB must not exist yet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sqlite3.h>
#include <unistd.h>

#include "trail_schema.h"

static int fail(sqlite3 *db, const char *what) {
        fprintf(stderr, "trail-schema: %s: %s\n", what, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return 1;
}

int main(int argc, char **argv) {
        sqlite3 *db = NULL;
        char *end;
        long version = argc == 3 ? strtol(argv[2], &end, 10) : -1;

        if (argc != 3 || *end || version < 0 || version > TRAIL_SCHEMA_VERSION) {
                fprintf(stderr, "usage: %s DB VERSION (0 to %d)\n", argv[0], TRAIL_SCHEMA_VERSION);
                return 2;
        }
        if (access(argv[1], F_OK) == 0) {
                fprintf(stderr, "trail-schema: %s exists already\n", argv[1]);
                return 1;
        }
        if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
                return fail(db, argv[1]);
        for (int v = 0; v < version; v++)
                if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK || trail_schema_migrate(db, v) < 0 ||
                    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
                        return fail(db, "migrate");
        return sqlite3_close(db) == SQLITE_OK ? 0 : fail(NULL, "close");
}
