/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmctl report (in the helper vmctl-trail): the trail's rows over a time
 * range, read through trail_reader_log() (so through the checked schema,
 * like vmctl log), and its chain checked like vmctl verify; then summed up
 * in groups and written as text (vmctl-report-text.c) or as one HTML page
 * (vmctl-report-html.c).  Every string a row holds is kept already escaped
 * for people (printable.h): what the writers add on top (HTML's own
 * escaping) never sees a control character or a byte that is not UTF-8.
 */
#ifndef VMT_VMCTL_REPORT_H
#define VMT_VMCTL_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "macros.h"
#include "trail_hash.h"

/* A row's result, in the order the report shows them. */
enum report_result { RESULT_OK, RESULT_NG, RESULT_DENIED, RESULT_UNKNOWN, RESULT_PENDING, RESULT_MAX };
extern const char *const report_result_names[RESULT_MAX];

/* One row of the trail, its text columns escaped (NULL for NULL). */
struct report_row {
        int64_t id, start_ms;
        char day[11];              /* "2026-01-02", UTC */
        enum report_result result;
        char *operation, *user, *endpoint, *vm_name, *vm_id, *before, *after, *fault, *source,
                *platform_user, *message;
};

struct report_verify {
        bool done;                 /* false: the chain could not be read (an error was logged) */
        unsigned problems;
        int64_t last_seq, pending;
        char head[TRAIL_HASH_HEX_SIZE];
        bool has_checkpoint;       /* the file is an archive, with its head recorded */
        int64_t checkpoint_seq;
        char checkpoint_hash[TRAIL_HASH_HEX_SIZE];
        char *checkpoint_source;   /* escaped */
};

struct report {
        char *db;                  /* escaped */
        bool has_since, has_until;
        int64_t since, until, made_ms;
        struct report_row *rows;   /* oldest first */
        size_t n_rows, allocated;
        struct report_verify verify;
};

/* Rows that share a key, as a group sees them: members oldest first. */
struct report_group {
        const char *key[2];
        const struct report_row **members;
        size_t n;
        size_t counts[RESULT_MAX];
};

struct report_groups {
        struct report_group *groups;
        size_t n;
        const struct report_row **all;  /* every member, the groups' arrays point into it */
};

/* Which rows a group takes, and under what key (key[1] may be left ""). */
typedef bool (*report_keep_fn)(const struct report_row *row);
typedef void (*report_key_fn)(const struct report_row *row, const char *key[2]);

/*
 * Group the rows kept by keep by key: groups in key order, or (by_size) the
 * biggest first.  A new set (report_groups_free() it), or NULL when out of
 * memory (logged).
 */
struct report_groups *report_group(const struct report *r, report_keep_fn keep, report_key_fn key, bool by_size);
void report_groups_free(struct report_groups *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct report_groups *, report_groups_free);

/* The groups both writers show, as report_group() makes them. */
struct report_groups *report_by_user_day(const struct report *r);   /* key: day, user */
struct report_groups *report_by_user(const struct report *r);       /* key: user; biggest first */
struct report_groups *report_by_day(const struct report *r);        /* key: day */
struct report_groups *report_failures(const struct report *r);      /* NG rows; key: fault; biggest first */
struct report_groups *report_denials(const struct report *r);       /* key: user, operation */
struct report_groups *report_changed_vms(const struct report *r);   /* key: endpoint, VM id; biggest first */
struct report_groups *report_vm_ops(const struct report *r);        /* every result; key and order as above */
struct report_groups *report_logins(const struct report *r);        /* Login rows; key: endpoint, principal */
struct report_groups *report_out_of_band(const struct report *r);   /* none or one group, oldest first */

/* The name a VM group's VM has now: after its last rename, if that worked. */
const char *report_vm_name(const struct report_group *g);
/* A value for display: "-" for NULL. */
const char *report_str(const char *s);
/* "2026-01-02T03:04:05Z" (UTC; with .mmm when ms), "" when out of range. */
void report_time(char *buf, size_t len, int64_t ms, bool with_ms);

/* Both write the whole report to f: 0, or -EIO/-ENOMEM. */
int report_write_text(FILE *f, const struct report *r);
int report_write_html(FILE *f, const struct report *r);

/* From vmctl-trail.c: vmctl log's default trail (times: vmctl-time.h). */
const char *vmctl_default_database(void);

#endif
