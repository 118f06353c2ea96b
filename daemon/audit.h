/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The audit store: the one place that writes the trail to SQLite.  No other
 * daemon module builds SQL; the schema itself (tables, view, versions and
 * migrations) is common/trail_schema.h's, which vmctl reads the file with
 * too.  Every operation is written in two phases: audit_begin()
 * inserts a PENDING row and commits it durably (WAL, synchronous=FULL) before
 * anything is sent to a platform; audit_finish() completes it.
 *
 * Thread safety: one struct audit may be used from several threads; calls
 * are serialised by an internal mutex, and the writes of concurrent
 * callers share one transaction and one fsync (group commit): each call
 * returns once the transaction holding its row has committed.
 */
#ifndef VMT_AUDIT_H
#define VMT_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct audit;

#define AUDIT_RESULT_PENDING "PENDING"
#define AUDIT_RESULT_OK      "OK"
#define AUDIT_RESULT_NG      "NG"
/*
 * The fault of a PENDING row written for a request that waits for another
 * operation on its VM: nothing was sent yet.  Its start (audit_begin()) or
 * its settling (audit_insert()) takes the row over; recovery settles one
 * an earlier run left as NG, fault AUDIT_FAULT_NOT_SENT.
 */
#define AUDIT_FAULT_QUEUED   "Queued"
#define AUDIT_FAULT_NOT_SENT "NotSent"
#define AUDIT_RESULT_DENIED  "DENIED"
#define AUDIT_RESULT_UNKNOWN "UNKNOWN"

/* audit_record.source of a change seen by watching the platform, not made by vmtraced. */
#define AUDIT_SOURCE_OUT_OF_BAND "out-of-band"

/*
 * One trail row.  Strings are borrowed by the audit calls (never freed or
 * kept by them); NULL is stored as SQL NULL.  Times are milliseconds since
 * the Unix epoch, UTC.
 */
struct audit_record {
        int64_t id;               /* set by audit_begin() */
        int64_t start_ms;
        int64_t end_ms;           /* 0 while pending */
        const char *operation;    /* "RenameVM", "Login", "Logout", ... */
        /* who: from SO_PEERCRED, never from the request */
        uid_t uid;
        gid_t gid;
        pid_t pid;
        const char *user;         /* user name of uid */
        /*
         * /proc/PID/loginuid and sessionid at accept time: they survive sudo
         * and su.  Negative (-1) means none/unknown, stored as NULL.  Set
         * them explicitly: a designated initialiser's 0 would mean uid 0.
         */
        int64_t login_uid;
        int64_t session_id;
        /*
         * The platform principal: who the platform saw act, the user name
         * the endpoint's session logged in as (the backend's login() *who).
         * NULL when no session acted (DENIED, before any login).
         */
        const char *platform_user;
        /*
         * Where the row comes from: NULL for vmtraced's own acts, or
         * AUDIT_SOURCE_OUT_OF_BAND for a change seen by watching the
         * platform (record_set_out_of_band()).  Such a change happened in
         * the window after seen_from_ms (the value last seen unchanged) and
         * before seen_to_ms (first seen changed); 0 is stored as NULL, as
         * on every row of vmtraced's own.
         */
        const char *source;
        int64_t seen_from_ms;
        int64_t seen_to_ms;
        /* where */
        const char *endpoint;     /* configured endpoint name */
        const char *endpoint_url;
        const char *host;         /* hypervisor host the VM runs on */
        /* what target */
        const char *vm_name;
        const char *vm_id;        /* managed object id, e.g. vm-42 */
        const char *vm_uuid;
        /* how */
        const char *before;
        const char *after;
        /* result */
        const char *result;       /* AUDIT_RESULT_* */
        const char *fault;        /* platform fault name, e.g. "InvalidPowerState" */
        const char *message;      /* human-readable reason */
        const char *task;         /* platform task id, e.g. task-17 */
};

/* Open (creating and migrating the schema if needed) the database. */
int audit_open(const char *path, struct audit **out);
void audit_close(struct audit *a);

/*
 * Reserve the id of a row before it is written, so the platform calls made
 * to read the target (before audit_begin) can already carry it as their
 * operationID.  The daemon is the only writer, so ids are handed out from a
 * counter initialised from MAX(id) at open.
 */
int64_t audit_reserve_id(struct audit *a);

/*
 * Insert r as a PENDING row (r->result is ignored) and commit durably.
 * Uses r->id if it is non-zero (from audit_reserve_id()), else sets it.  A negative return means the row is not durable and the
 * caller must not contact the platform.
 */
int audit_begin(struct audit *a, struct audit_record *r);

/*
 * Complete row r->id with end_ms, host, target, before/after, result, fault,
 * message, task, platform_user, source and its window, and chain it (seq,
 * hash).  Returns 0 when written, 1 when
 * the database refused the write and the outcome is kept in memory for the
 * retry thread (the trail is degraded until it is written), or a negative
 * errno for a call that can never succeed (-EINVAL, -ENOENT, -EALREADY).
 */
int audit_finish(struct audit *a, const struct audit_record *r);

/*
 * Insert an already complete row in one step (used for DENIED, session and
 * out-of-band rows).  Returns as audit_finish().
 */
int audit_insert(struct audit *a, struct audit_record *r);

/*
 * Store the platform's task id on pending row id as soon as it is known,
 * so that start-up recovery can find the task after a crash of vmtraced.
 * No fsync of its own: the completion's makes it durable (audit.c says
 * what a power loss in between leaves).
 */
int audit_set_task(struct audit *a, int64_t id, const char *task);

/*
 * True while a completion is kept in memory because the database refused
 * it.  Meanwhile audit_begin() refuses (so nothing new reaches a platform)
 * and a background thread retries every second.  Any thread may ask.
 */
bool audit_degraded(struct audit *a);

/* Write (seq, hash) to the journal every n completed rows (0: only at close). */
#define AUDIT_DEFAULT_CHECKPOINT_INTERVAL 1000
void audit_set_checkpoint_interval(struct audit *a, unsigned n);

/*
 * Sign checkpoints with the Ed25519 key in key_path (the signing-key
 * credential; see daemon/signer.h): the first completion, every
 * checkpoint and the head at close.  Logs the public key, its fingerprint
 * and the chain head.  Refuses a trail whose last signed checkpoint its
 * chain no longer matches (-EBADMSG).
 */
int audit_set_signing_key(struct audit *a, const char *key_path);

/* The seq of the last completed row, the chain's head (0: none yet). */
int64_t audit_last_seq(struct audit *a);

/* Give the database and its -wal/-shm files to group (mode 0640). */
int audit_set_group(struct audit *a, const char *group);

/* Deep copy of r's strings (for keeping a record beyond the call), and their release. */
int audit_record_copy(struct audit_record *dst, const struct audit_record *src);
void audit_record_clear(struct audit_record *r);

/*
 * Call fn for every row an earlier run left PENDING (rows of this run are
 * not included), oldest first (strings valid during the
 * call; fn may complete the row).  Stops at fn's first negative return.
 * Returns the number of rows or a negative errno.
 */
typedef int (*audit_pending_fn)(struct audit *a, const struct audit_record *r, void *userdata);
int audit_pending_foreach(struct audit *a, audit_pending_fn fn, void *userdata);

/* Read row id into a JSON object keyed by column name (for replies and tests). */
struct json_object;
int audit_get_json(struct audit *a, int64_t id, struct json_object **out);

/*
 * For "vmctl status": metrics_json() of the rows completed since start,
 * with pending_rows (PENDING in the file: operations in flight, or left
 * by a crash until recovery resolves them), kept_in_memory (completions
 * not yet written: the trail is degraded), trail_bytes and last_seq.
 */
struct json_object *audit_metrics_json(struct audit *a);

#endif
