/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmctl report: its options, the rows read and the chain checked (see
 * vmctl-report.h), and the groups the summaries are made of.  Groups are
 * made by sorting: a trail of a million rows is summed up in a few
 * sorts, with no table of its own to grow.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "macros.h"
#include "printable.h"
#include "proto.h"
#include "trail_read.h"
#include "trail_schema.h"
#include "util.h"
#include "vmctl-report.h"
#include "vmctl-time.h"
#include "vmctl.h"

/* As verify's: the trail was altered (the report is still written, and says so). */
#define EXIT_TAMPERED 1

const char *const report_result_names[RESULT_MAX] = { "OK", "NG", "DENIED", "UNKNOWN", "PENDING" };

const char *report_str(const char *s) {
        return s ? s : "-";
}

void report_time(char *buf, size_t len, int64_t ms, bool with_ms) {
        time_t t = (time_t) (ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
        struct tm tm;
        size_t n;

        buf[0] = '\0';
        if (!gmtime_r(&t, &tm))
                return;
        n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
        if (with_ms)
                snprintf(buf + n, len - n, ".%03dZ", (int) (ms - (int64_t) t * 1000));
        else
                snprintf(buf + n, len - n, "Z");
}

/* ---------- rows ---------- */

/* A row's text columns, and where each goes. */
static const struct {
        const char *column;
        size_t offset;
} text_columns[] = {
#define F(c, f) { c, offsetof(struct report_row, f) }
        F("operation", operation), F("user", user), F("endpoint", endpoint), F("vm_name", vm_name),
        F("vm_id", vm_id), F("before", before), F("after", after), F("fault", fault), F("source", source),
        F("platform_user", platform_user), F("message", message),
#undef F
};

static char **text_field(struct report_row *row, size_t i) {
        return (char **) (void *) ((char *) row + text_columns[i].offset);
}

static void row_done(struct report_row *row) {
        for (size_t i = 0; i < ELEMENTSOF(text_columns); i++)
                free(*text_field(row, i));
}

static void report_done(struct report *r) {
        for (size_t i = 0; i < r->n_rows; i++)
                row_done(&r->rows[i]);
        free(r->rows);
        free(r->db);
        free(r->verify.checkpoint_source);
}

/* The column escaped into *out (NULL stays NULL); -ENOMEM. */
static int take(const struct trail_row *row, const char *name, char **out) {
        const struct trail_value *v = trail_row_get(row, name);

        if (!v->text)
                return 0;
        *out = printable_dup(v->text, v->len, "");
        return *out ? 0 : -ENOMEM;
}

static enum report_result result_of(const char *s) {
        for (int i = 0; i < RESULT_MAX; i++)
                if (s && strcmp(s, report_result_names[i]) == 0)
                        return (enum report_result) i;
        return RESULT_UNKNOWN;  /* the schema's CHECK allows no other value */
}

static int add_row(const struct trail_row *tr, void *userdata) {
        struct report *r = userdata;
        struct report_row *row;
        char when[40];

        if (r->n_rows == r->allocated) {
                /* Doubled: a year of rows is read without a copy per row. */
                size_t n = r->allocated ? 2 * r->allocated : 256;
                struct report_row *l = reallocarray(r->rows, n, sizeof *l);
                if (!l)
                        return log_oom();
                r->rows = l;
                r->allocated = n;
        }
        row = &r->rows[r->n_rows++];
        *row = (struct report_row) { .id = trail_row_get(tr, "id")->integer,
                                     .start_ms = trail_row_get(tr, "start_ms")->integer };
        for (size_t i = 0; i < ELEMENTSOF(text_columns); i++)
                if (take(tr, text_columns[i].column, text_field(row, i)) < 0)
                        return log_oom();
        row->result = result_of(trail_row_get(tr, "result")->text);
        report_time(when, sizeof when, row->start_ms, false);
        memcpy(row->day, when, sizeof row->day - 1);  /* the date of "2026-01-02T03:04:05Z" */
        return 0;
}

/* ---------- the chain ---------- */

static void count_problem(const char *problem _unused_, void *userdata _unused_) {
        /* Counted in the result; vmctl verify lists them. */
}

static int archive_checkpoint(struct trail_reader *tr, struct report_verify *v, struct trail_checkpoint *cp) {
        struct trail_archive ar;
        int k = trail_reader_archive_head(tr, &ar);

        if (k == -ENOENT)
                return 0;
        if (k < 0)
                return k;
        _cleanup_free_ char *source = ar.source;
        v->checkpoint_source = printable_dup(source, strlen(source), "");
        if (!v->checkpoint_source)
                return log_oom();
        *cp = ar.head;
        v->has_checkpoint = true;
        v->checkpoint_seq = ar.head.seq;
        trail_hash_to_hex(ar.head.hash, v->checkpoint_hash);
        return 1;
}

/* The same check as vmctl verify's, over the whole file whatever the range; v->done says whether it ran. */
static void check_chain(struct trail_reader *tr, struct report_verify *v) {
        struct trail_checkpoint cp;
        struct trail_verify_result res;
        int k = archive_checkpoint(tr, v, &cp);

        if (k < 0)
                return;
        const struct trail_verify_args args = { .checkpoints = &cp, .n_checkpoints = (size_t) k, .fn = count_problem };
        if (trail_reader_verify(tr, &args, &res) < 0)
                return;
        v->done = true;
        v->problems = res.problems;
        v->last_seq = res.last_seq;
        v->pending = res.pending;
        trail_hash_to_hex(res.head, v->head);
}

/* ---------- groups ---------- */

struct sort_ctx {
        report_key_fn key;
};

static int compare_members(const void *a, const void *b, void *userdata) {
        const struct report_row *x = *(const struct report_row *const *) a, *y = *(const struct report_row *const *) b;
        const struct sort_ctx *c = userdata;
        const char *kx[2] = { "", "" }, *ky[2] = { "", "" };
        int d;

        c->key(x, kx);
        c->key(y, ky);
        d = strcmp(kx[0], ky[0]);
        if (d == 0)
                d = strcmp(kx[1], ky[1]);
        if (d == 0)
                d = x->start_ms < y->start_ms ? -1 : x->start_ms > y->start_ms;
        if (d == 0)
                d = x->id < y->id ? -1 : x->id > y->id;
        return d;
}

static int compare_size(const void *a, const void *b) {
        const struct report_group *x = a, *y = b;

        if (x->n != y->n)
                return x->n > y->n ? -1 : 1;
        return x->members < y->members ? -1 : x->members > y->members;  /* key order among equals */
}

static bool same_key(report_key_fn key, const struct report_row *a, const struct report_row *b) {
        const char *ka[2] = { "", "" }, *kb[2] = { "", "" };

        key(a, ka);
        key(b, kb);
        return strcmp(ka[0], kb[0]) == 0 && strcmp(ka[1], kb[1]) == 0;
}

/* The sorted members cut into runs of one key. */
static int make_groups(report_key_fn key, struct report_groups *g, size_t n) {
        for (size_t i = 0; i < n; i++) {
                struct report_group *cur = g->n ? &g->groups[g->n - 1] : NULL;

                if (!cur || !same_key(key, cur->members[0], g->all[i])) {
                        struct report_group *l = reallocarray(g->groups, g->n + 1, sizeof *l);
                        if (!l)
                                return log_oom();
                        g->groups = l;
                        cur = &g->groups[g->n++];
                        *cur = (struct report_group) { .members = &g->all[i], .key = { "", "" } };
                        key(g->all[i], cur->key);
                }
                cur->n++;
                cur->counts[g->all[i]->result]++;
        }
        return 0;
}

struct report_groups *report_group(const struct report *r, report_keep_fn keep, report_key_fn key, bool by_size) {
        _cleanup_(report_groups_freep) struct report_groups *g = calloc(1, sizeof *g);
        struct sort_ctx ctx = { .key = key };
        size_t n = 0;

        if (!g || !(g->all = calloc(r->n_rows ?: 1, sizeof *g->all)))
                return log_oom(), NULL;
        for (size_t i = 0; i < r->n_rows; i++)
                if (!keep || keep(&r->rows[i]))
                        g->all[n++] = &r->rows[i];
        qsort_r(g->all, n, sizeof *g->all, compare_members, &ctx);
        if (make_groups(key, g, n) < 0)
                return NULL;
        if (by_size && g->n > 1)   /* (no groups: no array, and qsort() must not be given NULL) */
                qsort(g->groups, g->n, sizeof *g->groups, compare_size);
        return TAKE_PTR(g);
}

void report_groups_free(struct report_groups *g) {
        if (!g)
                return;
        free(g->groups);
        free(g->all);
        free(g);
}

static void key_day_user(const struct report_row *row, const char *key[2]) {
        key[0] = row->day;
        key[1] = report_str(row->user);
}

static void key_user(const struct report_row *row, const char *key[2]) {
        key[0] = report_str(row->user);
}

static void key_day(const struct report_row *row, const char *key[2]) {
        key[0] = row->day;
}

static void key_fault(const struct report_row *row, const char *key[2]) {
        key[0] = report_str(row->fault);
}

static void key_user_op(const struct report_row *row, const char *key[2]) {
        key[0] = report_str(row->user);
        key[1] = report_str(row->operation);
}

/* A VM is its id within its endpoint (names change, and morefs repeat across vCenters). */
static void key_vm(const struct report_row *row, const char *key[2]) {
        key[0] = report_str(row->endpoint);
        key[1] = row->vm_id ? row->vm_id : report_str(row->vm_name);
}

static void key_login(const struct report_row *row, const char *key[2]) {
        key[0] = report_str(row->endpoint);
        key[1] = report_str(row->after);
}

static void key_none(const struct report_row *row _unused_, const char *key[2] _unused_) {
}

static bool is_op(const struct report_row *row, const char *op) {
        return row->operation && strcmp(row->operation, op) == 0;
}

static bool keep_ng(const struct report_row *row) {
        return row->result == RESULT_NG;
}

static bool keep_denied(const struct report_row *row) {
        return row->result == RESULT_DENIED;
}

/* An operation on a VM, other than a look at it (vmctl(1), report). */
static bool keep_vm_op(const struct report_row *row) {
        static const char *const looks[] = { "ShowVM", "ListVMs", "CancelOperation" };

        if (!row->vm_name && !row->vm_id)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(looks); i++)
                if (is_op(row, looks[i]))
                        return false;
        return true;
}

/* A change: such an operation that worked. */
static bool keep_change(const struct report_row *row) {
        return row->result == RESULT_OK && keep_vm_op(row);
}

static bool keep_login(const struct report_row *row) {
        return is_op(row, "Login");
}

static bool keep_out_of_band(const struct report_row *row) {
        return row->source && strcmp(row->source, TRAIL_SOURCE_OUT_OF_BAND) == 0;
}

struct report_groups *report_by_user_day(const struct report *r) {
        return report_group(r, NULL, key_day_user, false);
}

struct report_groups *report_by_user(const struct report *r) {
        return report_group(r, NULL, key_user, true);
}

struct report_groups *report_by_day(const struct report *r) {
        return report_group(r, NULL, key_day, false);
}

struct report_groups *report_failures(const struct report *r) {
        return report_group(r, keep_ng, key_fault, true);
}

struct report_groups *report_denials(const struct report *r) {
        return report_group(r, keep_denied, key_user_op, false);
}

struct report_groups *report_changed_vms(const struct report *r) {
        return report_group(r, keep_change, key_vm, true);
}

struct report_groups *report_vm_ops(const struct report *r) {
        return report_group(r, keep_vm_op, key_vm, true);
}

struct report_groups *report_logins(const struct report *r) {
        return report_group(r, keep_login, key_login, false);
}

struct report_groups *report_out_of_band(const struct report *r) {
        return report_group(r, keep_out_of_band, key_none, false);
}

const char *report_vm_name(const struct report_group *g) {
        const struct report_row *last = g->members[g->n - 1];

        if (is_op(last, "RenameVM") && last->result == RESULT_OK && last->after)
                return last->after;
        return report_str(last->vm_name);
}

/* ---------- the command ---------- */

struct report_args {
        const char *db, *out;
        bool html;
        struct trail_query query;
};

static int report_help(const struct vmctl_command *cmd) {
        vmctl_usage(cmd, stdout);
        fputs("\nOptions:\n"
              "  --db FILE          the trail (default as for vmctl log)\n"
              "  --since TIME, --until TIME  rows whose start is in the range, TIME as for\n"
              "                     vmctl log (30m, 2d, 2026-01-02, 2026-01-02T03:04:05Z)\n"
              "  --format FORMAT    text (default) or html: one self-contained page\n"
              "  -o, --output FILE  write it to FILE instead of standard output\n"
              "The chain is checked over the whole file, as vmctl verify does.\n"
              "Exit status: 0, 1 the trail was altered (the report says so), 2 usage,\n"
              "5 unreadable.  See vmctl(1).\n", stdout);
        return EXIT_OK;
}

static int report_time_arg(bool *has, int64_t *t, const char *arg) {
        if (vmctl_parse_time(arg, now_ms(), t) < 0) {
                log_error("Bad time \"%s\": %s", arg, VMCTL_TIME_HINT);
                return EXIT_USAGE;
        }
        *has = true;
        return -1;
}

static int report_format_arg(struct report_args *a, const char *arg) {
        if (strcmp(arg, "text") != 0 && strcmp(arg, "html") != 0) {
                log_error("Unknown format \"%s\": use text or html.", arg);
                return EXIT_USAGE;
        }
        a->html = strcmp(arg, "html") == 0;
        return -1;
}

enum { OPT_SINCE = 0x100, OPT_UNTIL };

static int report_option(const struct vmctl_command *cmd, struct report_args *a, int c) {
        switch (c) {
        case 'd':
                a->db = optarg;
                return -1;
        case 'f':
                return report_format_arg(a, optarg);
        case 'o':
                a->out = optarg;
                return -1;
        case OPT_SINCE:
                return report_time_arg(&a->query.has_since, &a->query.since, optarg);
        case OPT_UNTIL:
                return report_time_arg(&a->query.has_until, &a->query.until, optarg);
        case 'h':
                return report_help(cmd);
        default:
                return vmctl_usage(cmd, stderr);
        }
}

static int report_parse(const struct vmctl_command *cmd, int argc, char **argv, struct report_args *a) {
        static const struct option options[] = {
                { "db", required_argument, NULL, 'd' },
                { "format", required_argument, NULL, 'f' },
                { "output", required_argument, NULL, 'o' },
                { "since", required_argument, NULL, OPT_SINCE },
                { "until", required_argument, NULL, OPT_UNTIL },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "d:f:o:h", options, NULL)) >= 0) {
                int r = report_option(cmd, a, c);
                if (r >= 0)
                        return r;
        }
        if (optind < argc) {
                log_error("Unexpected argument \"%s\".", argv[optind]);
                return vmctl_usage(cmd, stderr);
        }
        return -1;
}

/* Rows and chain of a->db into r: 0, or the exit status. */
static int report_read(const struct report_args *a, struct report *r) {
        _cleanup_(trail_reader_freep) struct trail_reader *tr = NULL;

        r->db = printable_dup(a->db, strlen(a->db), "");
        if (!r->db)
                return log_oom(), EXIT_INTERNAL;
        r->has_since = a->query.has_since;
        r->has_until = a->query.has_until;
        r->since = a->query.since;
        r->until = a->query.until;
        r->made_ms = now_ms();
        if (trail_reader_open(a->db, 1, &tr) < 0)
                return EXIT_INTERNAL;
        int k = trail_reader_log(tr, &a->query, add_row, r);
        if (k == -EBADMSG)
                return EXIT_TAMPERED;  /* a schema vmtraced did not make: nothing is reported from it */
        if (k < 0)
                return EXIT_INTERNAL;
        check_chain(tr, &r->verify);
        return 0;
}

static int report_write(const struct report_args *a, const struct report *r) {
        _cleanup_fclose_ FILE *file = NULL;
        FILE *f = stdout;

        if (a->out) {
                file = f = fopen(a->out, "we");
                if (!f)
                        return log_error_errno(-errno, "Cannot create %s: %m", a->out), EXIT_INTERNAL;
        }
        int k = a->html ? report_write_html(f, r) : report_write_text(f, r);
        if (k < 0 || fflush(f) != 0 || ferror(f))
                return log_error("Cannot write the report to %s.", a->out ? a->out : "standard output"),
                       EXIT_INTERNAL;
        return 0;
}

static int run_report(const struct vmctl_options *o _unused_, const struct vmctl_command *cmd, int argc,
                      char **argv) {
        _cleanup_(report_done) struct report r = {};
        struct report_args a = { .db = vmctl_default_database() };
        int status = report_parse(cmd, argc, argv, &a);

        if (status >= 0)
                return status;
        status = report_read(&a, &r);
        if (status == 0)
                status = report_write(&a, &r);
        if (status != 0)
                return status;
        if (!r.verify.done)
                return EXIT_INTERNAL;
        return r.verify.problems ? EXIT_TAMPERED : EXIT_OK;
}

const struct vmctl_command vmctl_report_commands[] = { VMCTL_REPORT_COMMANDS(run_report) };
