/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The trail as RFC 5424 syslog messages: what the daemon's forwarder
 * (daemon/forward.c) sends for each row and checkpoint, and how vmctl
 * verify --forwarded reads a collector's copy back into rows, so that
 * both sides agree on one format, kept here.
 *
 * A row:        <PRI>1 END-TIME HOST vmtraced PID row [vmtraced@32473 seq="1" id="7" ...] TRACE-LINE
 * A checkpoint: <PRI>1 TIME HOST vmtraced PID checkpoint [vmtracedCheckpoint@32473 seq="9" hash="..." reason="idle"]
 * A signed one: <PRI>1 TIME HOST vmtraced PID signed [vmtracedSigned@32473 seq="9" hash="..." prev="6" time="..."
 *               key="..." sig="..."], a row of signed_checkpoints (see common/trail_sign.h)
 *
 * The structured data holds every column the hash covers (TRAIL_HASH_COLUMNS)
 * and the hash; a NULL column is left out, so NULL and "" stay apart.  A
 * PARAM-VALUE has '"', '\' and ']' escaped with a backslash (RFC 5424,
 * 6.3.3).  A text value that is not valid UTF-8 or holds a control
 * character (which receivers such as rsyslog rewrite) goes as NAME.hex
 * with its bytes in lowercase hex, a BLOB as NAME.blob: every value comes
 * back byte for byte, so the hash can be recomputed from the copy alone.
 * 32473 is the enterprise number RFC 5612 reserves for documentation.
 */
#ifndef VMT_TRAIL_SYSLOG_H
#define VMT_TRAIL_SYSLOG_H

#include <stdint.h>
#include <stdio.h>

#include "trail_read.h"

#define TRAIL_SYSLOG_SD_ROW        "vmtraced@32473"
#define TRAIL_SYSLOG_SD_CHECKPOINT "vmtracedCheckpoint@32473"
#define TRAIL_SYSLOG_SD_SIGNED     "vmtracedSigned@32473"

/* One row (the columns of TRAIL_HASH_COLUMNS and hash, by name) as an RFC 5424 message, without a newline. */
void trail_syslog_row(FILE *f, const struct trail_row *row, const char *hostname, long pid);

/* A checkpoint: the chain reached seq with hash (hex), for reason ("interval", "idle", "shutdown"). */
void trail_syslog_checkpoint(FILE *f, int64_t now_ms, int64_t seq, const char *hash_hex, const char *reason,
                             const char *hostname, long pid);

/* A signed checkpoint as stored in signed_checkpoints (public key and signature in hex), sent as it is. */
void trail_syslog_signed(FILE *f, int64_t now_ms, const struct trail_signed *c, const char *public_key,
                         const char *signature, const char *hostname, long pid);

/* What reading a received copy found, besides the rows it wrote. */
struct trail_forwarded {
        struct trail_checkpoint *checkpoints; /* malloc'd, n_checkpoints of them */
        size_t n_checkpoints;
        int64_t rows;              /* distinct rows */
        int64_t duplicates;        /* rows received again, identical (at-least-once delivery) */
        int64_t ignored;           /* lines that are no message of ours */
        unsigned problems;         /* reported through fn: the copy cannot be what was sent */
};

/*
 * Read the received messages in path (one per line, as the receiver stored
 * them) into db_path, a new trail file of this schema version, one row per
 * seq, and the signed checkpoints into its signed_checkpoints.  A seq received twice with different contents, a malformed message
 * of ours, or an unknown parameter is a problem, passed to fn.  Returns 0
 * or a negative errno (the file could not be read or written), logged.
 */
int trail_forwarded_import(const char *path, const char *db_path, struct trail_forwarded *out,
                           trail_problem_fn fn, void *userdata);

#endif
