/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The trail's schema, known in one place: the table `records`, the view
 * `trail` (the auditors' stable interface), the indexes, the versions kept
 * in PRAGMA user_version and the migrations between them.  The daemon
 * (daemon/audit.c) creates and migrates a database with it and extends the
 * hash chain through a trail_chainer; vmctl (through common/trail_read.h)
 * reads files of every version with the statements it picks.  See
 * vmtraced-trail(5) for what each version added.
 *
 * Functions return 0 or a negative errno; on failure the connection's
 * sqlite3_errmsg() says what SQLite found.
 */
#ifndef VMT_TRAIL_SCHEMA_H
#define VMT_TRAIL_SCHEMA_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "macros.h"
#include "trail_hash.h"

/* For the connections the trail's readers and the schema check open of their own. */
DEFINE_TRIVIAL_CLEANUP_FUNC(sqlite3 *, sqlite3_close);
DEFINE_TRIVIAL_CLEANUP_FUNC(sqlite3_stmt *, sqlite3_finalize);
/* Cached statements are reset (not finalized) when a call is done with them. */
static inline void stmt_resetp(sqlite3_stmt **s) {
        if (*s) {
                sqlite3_reset(*s);
                sqlite3_clear_bindings(*s);
        }
}

/* The version this build writes; a file with a higher one is from a newer vmtraced. */
#define TRAIL_SCHEMA_VERSION 10

/*
 * The first version with the hash chain (seq, hash), the first that
 * records each row's encoding, the first with platform_user, and the first
 * with source and the window an out-of-band change was seen in.
 */
#define TRAIL_SCHEMA_CHAINED 2
#define TRAIL_SCHEMA_HASH_VERSIONS 3
#define TRAIL_SCHEMA_PLATFORM_USER 4
#define TRAIL_SCHEMA_SOURCE 5
/* The first with the table forward_state (what each forwarding target acknowledged). */
#define TRAIL_SCHEMA_FORWARD 7
/* The first with records_message, the trigram index of messages (vmctl log --message). */
#define TRAIL_SCHEMA_MESSAGE_INDEX 8
/* The first with the table signed_checkpoints (vmtraced's Ed25519 signatures of chain heads). */
#define TRAIL_SCHEMA_SIGNED 9
/* The first with the table anchor (where the chain starts after vmctl prune). */
#define TRAIL_SCHEMA_ANCHOR 10

/*
 * records.source of a change vmtraced saw by watching the platform but did
 * not make; vmtraced's own rows have NULL there, as rows written before
 * schema 5 do.
 */
#define TRAIL_SOURCE_OUT_OF_BAND "out-of-band"

/* The schema version of db (PRAGMA user_version; 0 for a new file). */
int trail_schema_version(sqlite3 *db, int *out);

/*
 * Take db's schema from version `from` to from + 1, inside the caller's
 * transaction (one transaction per step, so a failed step leaves the file
 * at the version before it).  The step sets PRAGMA user_version itself.
 */
int trail_schema_migrate(sqlite3 *db, int from);

/*
 * The statements that read and extend the chain, which differ between
 * schema versions: before version 3 there is no hash_version column, and
 * every chained row is of encoding 1; before version 4 there is no
 * platform_user, before version 5 no source, seen_from_ms or seen_to_ms,
 * each read as NULL.  Each reads the columns of
 * TRAIL_HASH_COLUMNS in order, as trail_hash_row() wants them.
 */
struct trail_chain_sql {
        const char *set_seq;  /* ?1 seq, ?2 id, and ?3 the encoding when hash_version is not 0 */
        const char *read;     /* the row ?1 (id), from seq on */
        const char *walk;     /* every chained row in chain order: rowid, hash, then from seq on */
        const char *walk_from; /* as walk, of the rows from seq ?1 on only (verify --from-checkpoint) */
        const char *walk_below; /* ... and of those below seq ?1 (the chain's start: none should be) */
        const char *as_seq;   /* row ?2 (rowid) as if its seq were ?1 */
        int hash_version;     /* the encoding set_seq stores; 0: the table has no column for it */
};

/* For a file of the given version (TRAIL_SCHEMA_CHAINED or later). */
const struct trail_chain_sql *trail_schema_chain_sql(int version);

/*
 * Extends the chain: prepared once (the migration of a large version-1
 * trail chains a million rows) for a table of the given schema version.
 */
struct trail_chainer;
int trail_chainer_new(sqlite3 *db, int version, struct trail_chainer **out);
void trail_chainer_free(struct trail_chainer *c);

/*
 * Give row id the given seq, read it back and store its hash, chained on
 * hash (the previous row's), which is replaced by the row's own.  Runs
 * inside the caller's transaction.
 */
int trail_chainer_append(struct trail_chainer *c, int64_t id, int64_t seq, unsigned char hash[TRAIL_HASH_SIZE]);

/*
 * Compare db's schema (tables, views, indexes, triggers, with their text)
 * with the one vmtraced creates at version (and, with archive_ok, vmctl
 * archive's table if db has one), and call fn with a sentence for
 * each object added, dropped or redefined; *differences counts them.
 * Readers of the view `trail` and verify of the table `records` trust
 * nothing else: a redefined view or a trigger rewriting rows makes them
 * lie.  -EPROTONOSUPPORT for a version this build does not know.
 */
typedef void (*trail_schema_diff_fn)(const char *difference, void *userdata);
int trail_schema_check(sqlite3 *db, int version, bool archive_ok, trail_schema_diff_fn fn, void *userdata,
                       unsigned *differences);
/*
 * The table archive (made_ms, source, seq, hash) of a copy made by vmctl
 * archive; trail_schema_check() accepts it when archive_ok.
 */
int trail_schema_archive_create(sqlite3 *db);
/* Does db have the table name (archive, or one an altered file lost)? */
bool trail_schema_has_table(sqlite3 *db, const char *name);
/* The negative errno an SQLite result code that means failure stands for (-EIO when none fits). */
int trail_schema_errno(int sqlite_rc);

#endif
