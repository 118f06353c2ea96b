/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading the trail as an auditor does (vmctl log, verify and archive): the
 * file opened read-only (as immutable on read-only media), its schema
 * version and schema checked, rows of the view `trail` selected by
 * filters, and the hash chain walked and checked.  It never writes the
 * file it reads (an archive is a new file) and needs no daemon, so it works
 * on a copy of the file.
 * What the rows look like on a screen is the caller's business; what the
 * queries and the chain are is known here and in trail_schema.h.
 *
 * Functions return 0 or a negative errno, and log what went wrong.
 */
#ifndef VMT_TRAIL_READ_H
#define VMT_TRAIL_READ_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macros.h"
#include "trail_hash.h"
#include "trail_sign.h"

struct trail_reader;

/*
 * Open path read-only, never creating it (a mistyped path must not leave
 * an empty trail behind).  -EPROTONOSUPPORT when its schema is older than
 * min_version: 1 to read rows, TRAIL_SCHEMA_CHAINED for the hash chain.
 */
int trail_reader_open(const char *path, int min_version, struct trail_reader **out);
void trail_reader_free(struct trail_reader *r);
/* The file's path, schema version and connection (read-only), for trail_prune.c. */
const char *trail_reader_path(const struct trail_reader *r);
int trail_reader_version(const struct trail_reader *r);
sqlite3 *trail_reader_db(struct trail_reader *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct trail_reader *, trail_reader_free);

/* ---------- rows (vmctl log) ---------- */

/*
 * The filters, each an equality on a column but message (a substring).
 * vm is the VM's identity: a row naming it (its name then, or its id), and
 * every row of each VM (endpoint and id, as ids repeat across endpoints)
 * that had that name or was renamed to it; "ENDPOINT:NAME" narrows it to
 * one endpoint.  On a file older than the filter's column the filter
 * matches as if the column were NULL: nothing, except --source vmtraced,
 * which matches every row.
 */
enum trail_filter {
        TRAIL_FILTER_USER,
        TRAIL_FILTER_VM,
        TRAIL_FILTER_OP,
        TRAIL_FILTER_RESULT,
        TRAIL_FILTER_HOST,
        TRAIL_FILTER_ENDPOINT,
        TRAIL_FILTER_PLATFORM_USER,
        TRAIL_FILTER_SOURCE,       /* TRAIL_SOURCE_OUT_OF_BAND, or TRAIL_SOURCE_VMTRACED: source NULL */
        TRAIL_FILTER_UID,          /* the operator's uid (SO_PEERCRED), a number */
        TRAIL_FILTER_LOGIN_UID,    /* the audit login uid, a number */
        TRAIL_FILTER_FAULT,        /* the platform's (or vmtraced's) fault name */
        TRAIL_FILTER_MESSAGE,      /* text the message contains (no index: the rows are scanned) */
        TRAIL_FILTER_MAX,
};

/*
 * The values TRAIL_FILTER_SOURCE takes: rows of changes seen by watching
 * the platform, and vmtraced's own (the rows without a source, which on a
 * file older than schema 5 are all of them).
 */
#define TRAIL_SOURCE_VMTRACED "vmtraced"

/*
 * What to select: all filters given must match; rows come oldest first.
 * A value a filter cannot take makes trail_reader_log() and
 * trail_reader_explain() fail with -EINVAL, logged with the values it
 * takes and the ones it may be a typo of: op and result take the words
 * vmtraced writes (or one the file has), source its two, uid and
 * login_uid numbers.
 */
struct trail_query {
        bool has_since, has_until;
        int64_t since, until;              /* on the start time, ms since the epoch, both inclusive */
        const char *values[TRAIL_FILTER_MAX]; /* NULL: not filtered on */
        int64_t limit;                     /* at most this many rows; 0: all */
};

/* A value's storage class, as SQLite stores it. */
enum trail_type { TRAIL_NULL, TRAIL_INTEGER, TRAIL_FLOAT, TRAIL_TEXT, TRAIL_BLOB };

struct trail_value {
        enum trail_type type;
        int64_t integer;   /* the value read as an integer (0 for NULL) */
        const char *text;  /* the value as text (its bytes as stored); NULL for NULL */
        size_t len;
};

/* One row of the view: every column, in the view's order.  Valid during the callback only. */
struct trail_row {
        size_t n;
        const char *const *names;
        const struct trail_value *values;
};

/* The column called name, or a NULL value when the view has none (an older schema). */
const struct trail_value *trail_row_get(const struct trail_row *row, const char *name);

/* Called for each row; a negative return stops the query and is returned. */
typedef int (*trail_row_fn)(const struct trail_row *row, void *userdata);
int trail_reader_log(struct trail_reader *r, const struct trail_query *q, trail_row_fn fn, void *userdata);

/* What SQLite does to answer q: fn for each step of EXPLAIN QUERY PLAN's answer ("SEARCH records USING INDEX ..."). */
typedef void (*trail_plan_fn)(const char *step, void *userdata);
int trail_reader_explain(struct trail_reader *r, const struct trail_query *q, trail_plan_fn fn, void *userdata);

/* ---------- the hash chain (vmctl verify) ---------- */

/* A chain head recorded elsewhere (the journal, an earlier verify): the chain must reach seq with hash. */
struct trail_checkpoint {
        int64_t seq;
        unsigned char hash[TRAIL_HASH_SIZE];
        bool is_signed;            /* from signed_checkpoints, its signature checked: said so in problems */
};

/* Append cp to the list *cps of *n: 0, or -ENOMEM (logged). */
int trail_checkpoint_append(struct trail_checkpoint **cps, size_t *n, const struct trail_checkpoint *cp);

/* Called with each problem found, in the order found, as one sentence saying what was altered. */
typedef void (*trail_problem_fn)(const char *problem, void *userdata);

struct trail_verify_args {
        const struct trail_checkpoint *checkpoints;
        size_t n_checkpoints;
        unsigned max_reports;      /* problems passed to fn; the rest are only counted */
        trail_problem_fn fn;
        void *userdata;
        /*
         * verify --from-checkpoint: walk only the rows after this trusted
         * checkpoint.  The row at its seq must carry its hash, computed from
         * the row before's stored hash; rows before it are not checked, nor
         * are checkpoints below it.  NULL: the whole chain.
         */
        const struct trail_checkpoint *from;
};

struct trail_verify_result {
        unsigned problems;         /* 0: intact */
        int64_t last_seq;          /* where the chain ends */
        int64_t pending;           /* rows not completed, so not in the chain yet */
        /*
         * Ids with no row, and the first of them: a request vmtraced took an
         * id for but never recorded, or an unchained (PENDING) row removed.
         * Not a break of the chain, which a removed completed row would be.
         */
        int64_t id_gaps, first_gap;
        int64_t anchor_seq;        /* the chain starts after it (vmctl prune); 0: at seq 1 */
        int64_t from_seq;          /* args->from's seq when the walk started there; 0: it did not */
        size_t pruned_checkpoints; /* of args' checkpoints, those below the anchor: not checked */
        unsigned char head[TRAIL_HASH_SIZE];
};

/*
 * Recompute the chain in seq order, inside one read transaction, and
 * report each row that was modified, deleted, inserted or reordered, and
 * each checkpoint the chain does not match or reach.  See VERIFICATION in
 * vmtraced-trail(5).  A negative return means the file could not be read,
 * not that it was altered.
 */
int trail_reader_verify(struct trail_reader *r, const struct trail_verify_args *args,
                        struct trail_verify_result *out);

/* ---------- signed checkpoints (vmctl verify --key) ---------- */

/* A row of signed_checkpoints as stored; valid during the callback only. */
struct trail_signature_row {
        struct trail_signed c;     /* what its signature should cover */
        bool hash_ok;              /* its hash was 64 hex digits (else c.hash is not set) */
        const char *public_key, *signature; /* hex as stored ("" for NULL) */
};

/*
 * fn for each row of the table signed_checkpoints (schema 9), in seq
 * order, not checked: trail_sign.h checks signatures.  Returns how many
 * (0 for a file without the table), or fn's negative return.
 */
typedef int (*trail_signature_fn)(const struct trail_signature_row *row, void *userdata);
int trail_reader_signatures(struct trail_reader *r, trail_signature_fn fn, void *userdata);

/* ---------- archives (vmctl archive) ---------- */

/*
 * Copy r's trail into out, a new file (never overwritten): one consistent
 * snapshot, in the rollback journal mode so that it reads on read-only
 * media, verified with args as it is, and then given one row in its table
 * archive with when, from where, and the head found (res).  The copy is
 * kept when the chain was altered (res->problems says so); out is removed
 * on any error.
 */
int trail_reader_archive(struct trail_reader *r, const char *out, const struct trail_verify_args *args,
                         struct trail_verify_result *res);

/*
 * Where the chain starts after vmctl prune (schema 10's table anchor, its
 * row of highest seq): -ENOENT when the trail was never pruned.
 */
struct trail_anchor {
        struct trail_checkpoint at;        /* the last row removed: seq and hash */
        int64_t last_id, pruned_ms, rows;
        char *archive;                     /* malloc'd */
};
int trail_reader_anchor(struct trail_reader *r, struct trail_anchor *out);

/*
 * As trail_reader_archive(), of the chain up to seq upto only (the rows
 * vmctl prune removes, and their signatures): rows after it and PENDING
 * rows are left out of the copy, whose head is then upto's.
 */
int trail_reader_archive_upto(struct trail_reader *r, const char *out, int64_t upto,
                              const struct trail_verify_args *args, struct trail_verify_result *res);

struct trail_archive {
        int64_t made_ms;
        char *source;              /* malloc'd: the file it was made from */
        struct trail_checkpoint head;
};
/* The archive row of a file made by vmctl archive: 0, -ENOENT for a file that is not one, or -EBADMSG. */
int trail_reader_archive_head(struct trail_reader *r, struct trail_archive *out);

#endif
