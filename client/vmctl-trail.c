/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmctl's auditor commands, "log" and "verify", and the main() of the
 * helper program vmctl-trail that vmctl runs for them (vmctl.h says why).
 * Unlike every other command they never talk to the daemon: they read the trail database, read-only,
 * through common/trail_read.h, so they work on a copy handed to an auditor,
 * and with the daemon stopped.  This file parses their arguments and
 * renders what comes back: log's rows in one of four formats, verify's
 * problems and verdict.  The schema, the hash chain and the escaping rules
 * are in vmtraced-trail(5).
 */
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"
#include "defaults.h"
#include "macros.h"
#include "printable.h"
#include "proto.h"
#include "trail_format.h"
#include "trail_hash.h"
#include "trail_prune.h"
#include "trail_read.h"
#include "trail_schema.h"
#include "trail_syslog.h"
#include "util.h"
#include "vmctl-pager.h"
#include "vmctl-report.h"
#include "vmctl-sign.h"
#include "vmctl-table.h"
#include "vmctl-time.h"
#include "vmctl.h"

#define DEFAULT_CONFIG VMT_DEFAULT_CONFIG
#define DEFAULT_DATABASE VMT_DEFAULT_DATABASE
/*
 * verify's exit status when the trail was altered (0 intact, 2 usage, 5
 * unreadable), and log's when the schema it would read through was.
 */
#define EXIT_TAMPERED 1
/* Problems listed before verify stops counting them. */
#define VERIFY_MAX_REPORTS 20

static int find_database(void *user, const char *section, const char *name, const char *value) {
        char **out = user;

        if (strcmp(section, "vmtraced") == 0 && strcmp(name, "database") == 0 && !*out)
                *out = strdup(value);
        return 1;
}

/*
 * The trail the daemon writes: $VMTRACED_DB, else "database" of the
 * daemon's configuration when it is readable, else the built-in default.
 * Only that one key is read; the daemon validates the rest.
 */
static const char *default_database(void) {
        static char *configured;
        const char *e = getenv("VMTRACED_DB");

        if (e && *e)
                return e;
        if (!configured)
                (void) ini_parse(DEFAULT_CONFIG, find_database, &configured);
        return configured ? configured : DEFAULT_DATABASE;
}

/* ---------- log ---------- */

struct log_args {
        const char *db;
        const struct log_format *format;
        struct trail_query query;
        bool explain;              /* SQLite's plan for the query instead of its rows */
        bool no_pager;
        const char *since, *until; /* parsed once every option is read: --local may come after */
};

static void print_json(const struct trail_row *row, bool first _unused_) {
        _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

        if (!o)
                return;
        for (size_t i = 0; i < row->n; i++) {
                const struct trail_value *c = &row->values[i];
                struct json_object *v = NULL;

                switch (c->type) {
                case TRAIL_NULL:
                        break;
                case TRAIL_INTEGER:
                        v = json_object_new_int64(c->integer);
                        break;
                default:
                        if (printable_utf8_valid(c->text, c->len))
                                v = json_object_new_string_len(c->text, (int) c->len);
                        else {
                                /* JSON text is Unicode: bytes that are not UTF-8 go as {"hex": "..."}. */
                                _cleanup_free_ char *hex = malloc(2 * c->len + 1);
                                if (!hex)
                                        return;
                                for (size_t k = 0; k < c->len; k++)
                                        sprintf(hex + 2 * k, "%02x", (unsigned char) c->text[k]);
                                hex[2 * c->len] = 0;
                                v = json_object_new_object();
                                if (v)
                                        json_object_object_add(v, "hex", json_object_new_string(hex));
                        }
                        break;
                }
                json_object_object_add(o, row->names[i], v);
        }
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/*
 * RFC 4180 over the escaped value (printable.h), which can hold no CR or
 * LF: a field with a comma or quote goes in quotes, its quotes doubled.
 * Neither is ever escaped, nor part of an escape or of a longer UTF-8
 * sequence, so the value is escaped piece by piece between its quotes.
 */
static void put_csv_field(FILE *f, const char *v, size_t n) {
        const char *q;
        bool quote;

        if (!v)
                return;
        quote = memchr(v, ',', n) || memchr(v, '"', n);
        if (quote)
                fputc('"', f);
        while ((q = memchr(v, '"', n))) {
                printable_fput(f, v, (size_t) (q - v), "");
                fputs("\"\"", f);
                n -= (size_t) (q - v) + 1;
                v = q + 1;
        }
        printable_fput(f, v, n, "");
        if (quote)
                fputc('"', f);
}

static void print_csv(const struct trail_row *row, bool header) {
        if (header) {
                for (size_t i = 0; i < row->n; i++)
                        printf("%s%s", i ? "," : "", row->names[i]);
                fputs("\r\n", stdout);
        }
        for (size_t i = 0; i < row->n; i++) {
                if (i)
                        fputc(',', stdout);
                put_csv_field(stdout, row->values[i].text, row->values[i].len);
        }
        fputs("\r\n", stdout);
}

/* The classic trace line (common/trail_format.c, which the forwarder sends too). */
static void print_trace(const struct trail_row *row, bool first _unused_) {
        trail_trace_fput(stdout, row);
        putchar('\n');
}

/* The table fitted to the terminal (vmctl-table.c), its header over the first row. */
static void print_table(const struct trail_row *row, bool first) {
        vmctl_table_row(row, first);
}

/* log's formats: each prints one row (first: the first row, for a header). */
static const struct log_format {
        const char *name;
        void (*row)(const struct trail_row *row, bool first);
} formats[] = {
        { "table", print_table },
        { "json", print_json },
        { "csv", print_csv },
        { "trace", print_trace },
};

struct log_state {
        const struct log_format *format;
        bool first;
};

static int log_row(const struct trail_row *row, void *userdata) {
        struct log_state *st = userdata;

        st->format->row(row, st->first);
        st->first = false;
        return 0;
}

static void print_plan(const char *step, void *userdata _unused_) {
        puts(step);
}

/* The terminal's width, for the table: its window size, else $COLUMNS; 0 off a terminal. */
static int terminal_width(void) {
        struct winsize ws = {};
        const char *e = getenv("COLUMNS");

        if (!isatty(STDOUT_FILENO))
                return 0;
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
                return ws.ws_col;
        return e && atoi(e) > 0 ? atoi(e) : 80;
}

static int run_query(const struct log_args *la) {
        _cleanup_(trail_reader_freep) struct trail_reader *r = NULL;
        struct log_state st = { .format = la->format, .first = true };

        int k = trail_reader_open(la->db, 1, &r);

        if (k >= 0) {
                /* Sized before the pager takes standard output: the pager's pipe has no width. */
                vmctl_table_fit(terminal_width(), la->query.values[TRAIL_FILTER_SOURCE] != NULL);
                if (!la->no_pager)
                        vmctl_pager_start();
                k = la->explain ? trail_reader_explain(r, &la->query, print_plan, NULL) :
                        trail_reader_log(r, &la->query, log_row, &st);
        }
        if (vmctl_pager_end() < 0 && k >= 0)
                k = -EIO;
        if (k == -EBADMSG)
                return EXIT_TAMPERED; /* a schema vmtraced did not make: rows are not shown */
        if (k == -EINVAL)
                return EXIT_USAGE;    /* a filter's value it cannot take */
        if (k < 0)
                return EXIT_INTERNAL;
        return EXIT_OK;
}

static int log_help(const struct vmctl_command *cmd) {
        vmctl_usage(cmd, stdout);
        printf("\nOptions:\n"
               "  --db FILE          the trail (default $VMTRACED_DB, the database of\n"
               "                     " DEFAULT_CONFIG ", or " DEFAULT_DATABASE ")\n"
               "  --format FORMAT    table, json (JSON Lines), csv, trace\n"
               "                     (default: table on a terminal, json otherwise)\n"
               "  --columns LIST     the table's columns, comma-separated, from:\n"
               "                     %s\n"
               "  --local            times in local time with their offset (default UTC)\n"
               "  --no-pager         do not page (on a terminal, output goes through\n"
               "                     $VMCTL_PAGER, $PAGER or less)\n"
               "  --limit N          at most N rows\n"
               "  --explain          how SQLite would answer (EXPLAIN QUERY PLAN), not the rows\n"
               "Filters (all must match):\n"
               "  --since TIME, --until TIME  start time range; TIME is now, today, yesterday,\n"
               "                     30s, 30m, -2h, 1d, 1w ago, or a date and time: 2026-01-02,\n"
               "                     2026-01-02T03:04, 2026-01-02 03:04:05.678Z, 2026-01-02T04:04+01:00\n"
               "                     (UTC without a zone, local time with --local)\n"
               "  --vm NAME-OR-ID    the VM's rows by identity, across renames; [ENDPOINT:]NAME\n"
               "  --op OPERATION, --result RESULT  (checked against the known words)\n"
               "  --user NAME, --uid UID, --login-uid UID, --platform-user NAME,\n"
               "  --host HOST, --endpoint ENDPOINT, --fault FAULT,\n"
               "  --message TEXT     rows whose message contains TEXT\n"
               "  --source out-of-band|vmtraced  changes seen on the platform, or vmtraced's own\n"
               "See vmtraced-trail(5).\n", vmctl_table_column_names());
        return EXIT_OK;
}

static int set_format(struct log_args *la, const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(formats); i++)
                if (strcmp(name, formats[i].name) == 0) {
                        la->format = &formats[i];
                        return -1;
                }
        log_error("Unknown format \"%s\": use table, json, csv or trace.", name);
        return EXIT_USAGE;
}

static int set_time(bool *has, int64_t *t, const char *arg, int64_t now) {
        if (!arg)
                return -1;
        if (vmctl_parse_time(arg, now, t) < 0) {
                log_error("Bad time \"%s\": %s", arg, VMCTL_TIME_HINT);
                return EXIT_USAGE;
        }
        *has = true;
        return -1;
}

static int set_limit(struct log_args *la, const char *arg) {
        char *end;

        errno = 0;
        la->query.limit = strtoll(arg, &end, 10);
        if (errno || *end || la->query.limit <= 0) {
                log_error("Bad limit \"%s\": a positive number.", arg);
                return EXIT_USAGE;
        }
        return -1;
}

enum { OPT_SINCE = 0x100, OPT_UNTIL, OPT_LIMIT, OPT_EXPLAIN, OPT_COLUMNS, OPT_LOCAL, OPT_NO_PAGER, OPT_FILTER };

/* Checked by the reader, against the file: --op may name what an older vmtraced wrote. */
static int set_filter(struct trail_query *q, enum trail_filter f, const char *arg) {
        q->values[f] = arg;
        return -1;
}

/* One of log's options: -1 to go on, or the exit status. */
static int log_option(const struct vmctl_command *cmd, struct log_args *la, int c) {
        struct trail_query *q = &la->query;

        switch (c) {
        case 'd':
                la->db = optarg;
                return -1;
        case 'f':
                return set_format(la, optarg);
        case OPT_SINCE:
                la->since = optarg;
                return -1;
        case OPT_UNTIL:
                la->until = optarg;
                return -1;
        case OPT_LIMIT:
                return set_limit(la, optarg);
        case OPT_EXPLAIN:
                la->explain = true;
                return -1;
        case OPT_COLUMNS:
                return vmctl_table_set_columns(optarg) < 0 ? EXIT_USAGE : -1;
        case OPT_LOCAL:
                vmctl_time_set_local(true);
                return -1;
        case OPT_NO_PAGER:
                la->no_pager = true;
                return -1;
        case 'h':
                return log_help(cmd);
        default:
                if (c >= OPT_FILTER && c < OPT_FILTER + TRAIL_FILTER_MAX)
                        return set_filter(q, (enum trail_filter) (c - OPT_FILTER), optarg);
                return vmctl_usage(cmd, stderr);
        }
}

static int run_log(const struct vmctl_options *o _unused_, const struct vmctl_command *cmd, int argc, char **argv) {
        static const struct option options[] = {
                { "db", required_argument, NULL, 'd' },
                { "format", required_argument, NULL, 'f' },
                { "since", required_argument, NULL, OPT_SINCE },
                { "until", required_argument, NULL, OPT_UNTIL },
                { "limit", required_argument, NULL, OPT_LIMIT },
                { "explain", no_argument, NULL, OPT_EXPLAIN },
                { "columns", required_argument, NULL, OPT_COLUMNS },
                { "local", no_argument, NULL, OPT_LOCAL },
                { "no-pager", no_argument, NULL, OPT_NO_PAGER },
                { "user", required_argument, NULL, OPT_FILTER + TRAIL_FILTER_USER },
                { "vm", required_argument, NULL, OPT_FILTER + TRAIL_FILTER_VM },
                { "op", required_argument, NULL, OPT_FILTER + TRAIL_FILTER_OP },
                { "result", required_argument, NULL, OPT_FILTER + TRAIL_FILTER_RESULT },
                { "host", required_argument, NULL, OPT_FILTER + TRAIL_FILTER_HOST },
                { "endpoint", required_argument, NULL, OPT_FILTER + TRAIL_FILTER_ENDPOINT },
                { "platform-user", required_argument, NULL, OPT_FILTER + TRAIL_FILTER_PLATFORM_USER },
                { "source", required_argument, NULL, OPT_FILTER + TRAIL_FILTER_SOURCE },
                { "uid", required_argument, NULL, OPT_FILTER + TRAIL_FILTER_UID },
                { "login-uid", required_argument, NULL, OPT_FILTER + TRAIL_FILTER_LOGIN_UID },
                { "fault", required_argument, NULL, OPT_FILTER + TRAIL_FILTER_FAULT },
                { "message", required_argument, NULL, OPT_FILTER + TRAIL_FILTER_MESSAGE },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        /* JSON Lines unless a person is looking. */
        struct log_args la = { .db = default_database(), .format = &formats[isatty(STDOUT_FILENO) ? 0 : 1] };
        int64_t now = now_ms();
        int c, r;

        while ((c = getopt_long(argc, argv, "d:f:h", options, NULL)) >= 0)
                if ((r = log_option(cmd, &la, c)) >= 0)
                        return r;
        if (optind < argc) {
                log_error("Unexpected argument \"%s\".", argv[optind]);
                return vmctl_usage(cmd, stderr);
        }
        if ((r = set_time(&la.query.has_since, &la.query.since, la.since, now)) >= 0 ||
            (r = set_time(&la.query.has_until, &la.query.until, la.until, now)) >= 0)
                return r;
        return run_query(&la);
}

/* ---------- verify ---------- */

struct verify_args {
        const char *path;
        const char *out;           /* archive: the copy to make */
        const char *forwarded;     /* verify --forwarded: a collector's received copy, not a trail file */
        const char *key_path;      /* --key: the public key signed checkpoints must be by */
        struct trail_key *key;
        struct trail_checkpoint *cps;
        size_t n_cps;
        size_t n_given;            /* of cps, those --checkpoint gave (the first) */
        bool from_checkpoint;      /* verify --from-checkpoint */
        struct trail_checkpoint from; /* where it starts: set by pick_start() */
        char **archives;           /* verify --archive: what prune removed, oldest first */
        size_t n_archives;
        const char *before;        /* prune --before */
};

static void verify_args_done(struct verify_args *va) {
        free(va->archives);
        free(va->cps);
        trail_key_free(va->key);
}

static int parse_checkpoint(const char *arg, struct trail_checkpoint *cp) {
        const char *colon = strchr(arg, ':');
        char *end;

        if (!colon)
                return -EINVAL;
        errno = 0;
        cp->seq = strtoll(arg, &end, 10);
        if (errno || end != colon || cp->seq <= 0)
                return -EINVAL;
        return trail_hash_from_hex(colon + 1, cp->hash);
}

static int add_checkpoint(struct verify_args *va, const char *arg) {
        struct trail_checkpoint cp = {};

        if (parse_checkpoint(arg, &cp) < 0) {
                log_error("Bad checkpoint \"%s\": use SEQ:HASH (64 hex digits).", arg);
                return EXIT_USAGE;
        }
        return trail_checkpoint_append(&va->cps, &va->n_cps, &cp) < 0 ? EXIT_INTERNAL : -1;
}

static int prune_help(const struct vmctl_command *cmd) {
        vmctl_usage(cmd, stdout);
        fputs("\nOptions:\n"
              "  --before TIME          remove the rows of the chain that ended before TIME (as\n"
              "                         log's --until takes it); they are archived into OUT first\n"
              "  --db FILE              the trail (default as for vmctl log); prune writes it\n"
              "  --checkpoint SEQ:HASH  the chain must reach SEQ with HASH (repeatable)\n"
              "OUT must not exist.  PENDING rows, and rows a forwarding target has not\n"
              "acknowledged, stay.  verify --archive OUT then checks both as one chain.\n"
              "Exit status: 0 (also when nothing is that old), 1 altered (nothing removed),\n"
              "2 usage, 5 error.  See vmtraced-trail(5).\n", stdout);
        return EXIT_OK;
}

static int verify_help(const struct vmctl_command *cmd) {
        if (strcmp(cmd->name, "prune") == 0)
                return prune_help(cmd);
        vmctl_usage(cmd, stdout);
        fputs("\nOptions:\n"
              "  --db FILE              the trail (default as for vmctl log)\n"
              "  --checkpoint SEQ:HASH  the chain must reach SEQ with HASH (repeatable)\n"
              "  --key FILE             check the signed checkpoints against this Ed25519 public\n"
              "                         key (PEM, as vmtraced --print-public-key prints it, or\n"
              "                         its 64 hex digits); without it they are only counted\n", stdout);
        if (strcmp(cmd->name, "verify") == 0)
                fputs("  --forwarded FILE       verify a log engine's received copy (RFC 5424 lines) instead\n"
                      "  --archive FILE         an archive vmctl prune made of this trail's oldest rows\n"
                      "                         (repeatable, oldest first): all verify as one chain\n"
                      "  --from-checkpoint      check only the rows from the last checkpoint on: the last\n"
                      "                         good signed one (--key) or the highest --checkpoint; the\n"
                      "                         rows before it are not checked (the default checks all)\n",
                      stdout);
        fputs("Exit status: 0 intact, 1 altered, 2 usage, 5 unreadable.  See vmtraced-trail(5).\n", stdout);
        if (strcmp(cmd->name, "archive") == 0)
                fputs("OUT must not exist.  The copy is kept, and the exit status is 1, when the\n"
                      "trail was altered.\n", stdout);
        return EXIT_OK;
}

static int add_archive_arg(struct verify_args *va, char *path) {
        char **l = reallocarray(va->archives, va->n_archives + 1, sizeof *l);

        if (!l)
                return log_oom();
        va->archives = l;
        va->archives[va->n_archives++] = path;
        return 0;
}

/* verify --from-checkpoint starts only where a checkpoint can be trusted, which the file alone cannot say. */
static bool has_start(const struct verify_args *va) {
        if (!va->from_checkpoint || va->key_path || va->n_cps)
                return true;
        log_error("--from-checkpoint needs a checkpoint to trust: --key FILE (the last good signed checkpoint) "
                  "or --checkpoint SEQ:HASH (as an earlier verify printed the head).");
        return false;
}

/* The three commands share one parser: each refuses the options that are another's. */
static bool options_fit(const struct vmctl_command *cmd, const struct verify_args *va) {
        bool prune = strcmp(cmd->name, "prune") == 0, verify = strcmp(cmd->name, "verify") == 0;
        const char *wrong = NULL;

        if (va->before && !prune)
                wrong = "--before";
        else if ((va->forwarded || va->n_archives) && !verify)
                wrong = "--forwarded or --archive";
        else if (va->from_checkpoint && (!verify || va->forwarded || va->n_archives))
                wrong = verify ? "--from-checkpoint with --forwarded or --archive (they check a whole chain)"
                               : "--from-checkpoint";
        else if (va->key_path && prune)
                wrong = "--key";
        if (wrong)
                log_error("%s does not take %s.", cmd->name, wrong);
        return !wrong && has_start(va);
}

/* verify's arguments into va: -1 to go on, or the exit status. */
static int verify_parse(const struct vmctl_command *cmd, int argc, char **argv, struct verify_args *va) {
        static const struct option options[] = {
                { "db", required_argument, NULL, 'd' },
                { "checkpoint", required_argument, NULL, 'c' },
                { "forwarded", required_argument, NULL, 'F' },
                { "key", required_argument, NULL, 'k' },
                { "archive", required_argument, NULL, 'a' },
                { "before", required_argument, NULL, 'b' },
                { "from-checkpoint", no_argument, NULL, 'C' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c, r;

        while ((c = getopt_long(argc, argv, "d:c:h", options, NULL)) >= 0) {
                switch (c) {
                case 'F':
                        va->forwarded = optarg;
                        break;
                case 'k':
                        va->key_path = optarg;
                        break;
                case 'a':
                        if (add_archive_arg(va, optarg) < 0)
                                return EXIT_INTERNAL;
                        break;
                case 'b':
                        va->before = optarg;
                        break;
                case 'C':
                        va->from_checkpoint = true;
                        break;
                case 'd':
                        va->path = optarg;
                        break;
                case 'c':
                        r = add_checkpoint(va, optarg);
                        if (r >= 0)
                                return r;
                        break;
                case 'h':
                        return verify_help(cmd);
                default:
                        return vmctl_usage(cmd, stderr);
                }
        }
        /* archive takes its OUT, verify nothing. */
        if (va->out && optind < argc)
                va->out = argv[optind++];
        if (va->out && !*va->out) {
                log_error("Say which file to archive to.");
                return vmctl_usage(cmd, stderr);
        }
        if (optind < argc) {
                log_error("Unexpected argument \"%s\".", argv[optind]);
                return vmctl_usage(cmd, stderr);
        }
        if (!options_fit(cmd, va))
                return vmctl_usage(cmd, stderr);
        va->n_given = va->n_cps;
        if (va->key_path && trail_key_load_public(va->key_path, &va->key) < 0)
                return EXIT_USAGE;
        return -1;
}

/* A problem names what the file holds (a seq's text, an object's name): escaped like any row. */
static void print_problem(const char *problem, void *userdata _unused_) {
        fputs("TAMPERED: ", stdout);
        printable_fput(stdout, problem, strlen(problem), "");
        putchar('\n');
}

/* How verify, archive and prune walk the chain: va's checkpoints, problems printed up to the limit. */
static struct trail_verify_args walk_args(const struct verify_args *va) {
        return (struct trail_verify_args) {
                .checkpoints = va->cps, .n_checkpoints = va->n_cps, .max_reports = VERIFY_MAX_REPORTS, .fn = print_problem,
                .from = va->from.seq > 0 ? &va->from : NULL,
        };
}

/*
 * verify --from-checkpoint starts at the highest checkpoint it can trust:
 * one --checkpoint gave, or a signed one whose signature --key checked.
 * Not an archive's recorded head, nor an unchecked signature: the file
 * itself says those.  None (every signature bad): the whole chain, said so.
 */
static void pick_start(struct verify_args *va) {
        for (size_t i = 0; va->from_checkpoint && i < va->n_cps; i++)
                if ((i < va->n_given || va->cps[i].is_signed) && va->cps[i].seq > va->from.seq)
                        va->from = va->cps[i];
        if (va->from_checkpoint && va->from.seq == 0)
                printf("NOTE: no good checkpoint to start from: the whole chain is checked.\n");
}

/* An archive's recorded head is one more checkpoint, and it says what it is. */
static int add_archive_head(struct trail_reader *r, struct verify_args *va) {
        struct trail_archive ar;
        char when[32] = "?";
        time_t t;
        struct tm tm;
        int k = trail_reader_archive_head(r, &ar);

        if (k == -ENOENT)
                return 0;
        if (k < 0)
                return k;
        _cleanup_free_ char *source = ar.source;
        if (trail_checkpoint_append(&va->cps, &va->n_cps, &ar.head) < 0)
                return -ENOMEM;
        t = (time_t) (ar.made_ms / 1000);
        if (gmtime_r(&t, &tm))
                strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        printf("%s: archive of ", va->path);
        printable_fput(stdout, source, strlen(source), ""); /* read from the file, like any row */
        printf(" made %s, recorded head %" PRId64 " (checked below).\n", when, ar.head.seq);
        return 0;
}

/* What verify --from-checkpoint did not check, before the verdict. */
static void report_start(const char *path, const struct verify_args *va, const struct trail_verify_result *res) {
        if (va->from.seq == 0)
                return;
        if (res->from_seq == 0 && va->from.seq <= res->anchor_seq) {
                printf("NOTE: the checkpoint at seq %" PRId64 " is not after the anchor (seq %" PRId64 "): the "
                       "whole chain is checked.\n", va->from.seq, res->anchor_seq);
                return;
        }
        if (res->from_seq == 0) {
                printf("NOTE: the walk could not start at the checkpoint at seq %" PRId64 ": the whole chain is "
                       "checked.\n", va->from.seq);
                return;
        }
        printf("%s: checked from the %scheckpoint at seq %" PRId64 " on", path, va->from.is_signed ? "signed " : "",
               res->from_seq);
        if (res->from_seq - 1 > res->anchor_seq + 1)
                printf("; seq %" PRId64 "..%" PRId64 " were NOT checked (verify without --from-checkpoint checks "
                       "them).\n", res->anchor_seq + 1, res->from_seq - 1);
        else if (res->from_seq - 1 > res->anchor_seq)
                printf("; seq %" PRId64 " was NOT checked (verify without --from-checkpoint checks it).\n",
                       res->from_seq - 1);
        else
                printf(", the first row of the chain: none skipped.\n");
}

/* The checkpoints the walk compared: those from where it started on (the anchor, or --from-checkpoint's). */
static size_t checked_checkpoints(const struct verify_args *va, const struct trail_verify_result *res) {
        int64_t start = res->from_seq > res->anchor_seq ? res->from_seq : res->anchor_seq;
        size_t n = 0;

        for (size_t i = 0; i < va->n_cps; i++)
                n += va->cps[i].seq >= start;
        return n;
}

/* What verify and archive print of the chain of path; the exit status. */
static int report(const char *path, const struct trail_verify_result *res, size_t n_cps) {
        char hex[TRAIL_HASH_HEX_SIZE];

        trail_hash_to_hex(res->head, hex);
        if (res->problems > VERIFY_MAX_REPORTS)
                printf("TAMPERED: ... and %u more problem(s)\n", res->problems - VERIFY_MAX_REPORTS);
        if (res->problems) {
                printf("%s: the trail was altered (%u problem(s)); %" PRId64 " rows in the chain.\n", path,
                       res->problems, res->last_seq);
                return EXIT_TAMPERED;
        }
        if (res->id_gaps > 0)
                printf("NOTE: %" PRId64 " id(s) have no row, the first #%" PRId64 ": requests vmtraced took an id for "
                       "but never recorded (it stopped first), or PENDING rows removed.\n", res->id_gaps,
                       res->first_gap);
        printf("%s: intact: %" PRId64 " rows chained, %" PRId64 " pending, %zu checkpoint(s) matched.\n"
               "head %" PRId64 ":%s\n", path, res->last_seq, res->pending, n_cps, res->last_seq, hex);
        return EXIT_OK;
}

/* The checkpoints a forwarded copy carried, after those given with --checkpoint. */
static int add_forwarded_checkpoints(struct verify_args *va, const struct trail_forwarded *fw) {
        for (size_t i = 0; i < fw->n_checkpoints; i++)
                if (trail_checkpoint_append(&va->cps, &va->n_cps, &fw->checkpoints[i]) < 0)
                        return -ENOMEM;
        return 0;
}

/* The imported copy, verified with its checkpoints and signed checkpoints: the exit status. */
static int verify_imported(struct verify_args *va, const struct trail_forwarded *fw, const char *db) {
        _cleanup_(trail_reader_freep) struct trail_reader *r = NULL;
        struct trail_verify_result res;
        struct vmctl_signed sg;

        if (trail_reader_open(db, TRAIL_SCHEMA_CHAINED, &r) < 0 || add_forwarded_checkpoints(va, fw) < 0 ||
            vmctl_signed_collect(r, va->key, &va->cps, &va->n_cps, print_problem, NULL, &sg) < 0)
                return EXIT_INTERNAL;

        const struct trail_verify_args args = walk_args(va);
        if (trail_reader_verify(r, &args, &res) < 0)
                return EXIT_INTERNAL;
        printf("%s: %" PRId64 " rows, %" PRId64 " duplicate(s) dropped, %" PRId64 " other line(s) ignored.\n",
               va->forwarded, fw->rows, fw->duplicates, fw->ignored);
        vmctl_signed_report(&sg, va->key, res.last_seq);
        res.problems += fw->problems + sg.problems;
        return report(va->forwarded, &res, va->n_cps);
}

/*
 * verify --forwarded: the received copy read into a trail file of its own
 * (common/trail_syslog.c), verified as any trail is, with the checkpoints
 * and signed checkpoints it carried; problems of the copy itself (a seq
 * received twice with other contents) count as alterations.
 */
static int verify_forwarded(struct verify_args *va) {
        _cleanup_free_ char *dir = NULL, *db = NULL;
        struct trail_forwarded fw = {};
        const char *tmp = getenv("TMPDIR");
        int status = EXIT_INTERNAL;

        if (asprintf(&dir, "%s/vmctl-forwarded.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 || !mkdtemp(dir) ||
            asprintf(&db, "%s/trail.db", dir) < 0)
                return log_error_errno(-errno, "Cannot make a temporary directory: %m"), EXIT_INTERNAL;
        if (trail_forwarded_import(va->forwarded, db, &fw, print_problem, NULL) >= 0)
                status = verify_imported(va, &fw, db);
        free(fw.checkpoints);
        (void) unlink(db);
        (void) rmdir(dir);
        return status;
}

/*
 * Where r's chain starts (its anchor, after vmctl prune) must be where the
 * chain before it ends, head, when there is one (compare: archives were
 * given); else the anchor is only described.  The problems found, 0 or 1.
 */
static unsigned check_anchor(struct trail_reader *r, const char *path, const struct trail_checkpoint *head,
                             bool compare) {
        struct trail_anchor a;
        char when[32], problem[256];

        if (trail_reader_anchor(r, &a) < 0) {
                if (!compare)
                        return 0;
                snprintf(problem, sizeof problem, "%s has no anchor, but the archive before it ends at seq %" PRId64
                         ": they are not one chain", path, head->seq);
                print_problem(problem, NULL);
                return 1;
        }
        _cleanup_free_ char *archive = a.archive;
        report_time(when, sizeof when, a.pruned_ms, false);
        printf("%s: starts after seq %" PRId64 ": %" PRId64 " row(s) pruned %s into ", path, a.at.seq, a.rows, when);
        printable_fput(stdout, archive, strlen(archive), "");
        puts(compare ? "." : " (give --archive to verify them as one chain).");
        if (!compare || (head->seq == a.at.seq && memcmp(head->hash, a.at.hash, TRAIL_HASH_SIZE) == 0))
                return 0;
        snprintf(problem, sizeof problem, "the anchor of %s (seq %" PRId64 ") is not the head of the archive before "
                 "it (seq %" PRId64 "): they are not one chain", path, a.at.seq, head->seq);
        print_problem(problem, NULL);
        return 1;
}

/* One archive of the series: verified as a trail of its own, and chained to the one before (head). */
/* The checkpoints --checkpoint gave that fall in an archive ending at upto: checked there, where their rows are. */
static int add_given(struct verify_args *va, const struct verify_args *given, int64_t upto) {
        for (size_t i = 0; i < given->n_given; i++)
                if (given->cps[i].seq <= upto && trail_checkpoint_append(&va->cps, &va->n_cps, &given->cps[i]) < 0)
                        return -ENOMEM;
        return 0;
}

static int verify_archive_file(const char *path, const struct verify_args *given, struct trail_checkpoint *head,
                               unsigned *problems) {
        _cleanup_(trail_reader_freep) struct trail_reader *a = NULL;
        _cleanup_(verify_args_done) struct verify_args va = { .path = path };
        struct trail_verify_result res;

        if (trail_reader_open(path, TRAIL_SCHEMA_CHAINED, &a) < 0 || add_archive_head(a, &va) < 0 ||
            (va.n_cps > 0 && add_given(&va, given, va.cps[0].seq) < 0))
                return -EIO;
        if (va.n_cps == 0) {
                *problems += 1;
                print_problem("an --archive file that vmctl prune or archive did not make (no archive row)", NULL);
        }
        const struct trail_verify_args args = walk_args(&va);
        if (trail_reader_verify(a, &args, &res) < 0)
                return -EIO;
        *problems += res.problems + check_anchor(a, path, head, head->seq > 0);
        printf("%s: seq %" PRId64 "..%" PRId64 ", %s.\n", path, res.anchor_seq + 1, res.last_seq,
               res.problems ? "ALTERED" : "intact");
        *head = (struct trail_checkpoint) { .seq = res.last_seq };
        memcpy(head->hash, res.head, TRAIL_HASH_SIZE);
        return 0;
}

static int verify_archives(const struct verify_args *va, struct trail_checkpoint *head, unsigned *problems) {
        for (size_t i = 0; i < va->n_archives; i++)
                if (verify_archive_file(va->archives[i], va, head, problems) < 0)
                        return -EIO;
        return 0;
}

static int run_verify(const struct vmctl_options *o _unused_, const struct vmctl_command *cmd, int argc, char **argv) {
        _cleanup_(trail_reader_freep) struct trail_reader *r = NULL;
        _cleanup_(verify_args_done) struct verify_args va = { .path = default_database() };
        struct trail_verify_result res;
        struct vmctl_signed sg;
        int status;

        status = verify_parse(cmd, argc, argv, &va);
        if (status >= 0)
                return status;
        if (va.forwarded)
                return verify_forwarded(&va);
        if (trail_reader_open(va.path, TRAIL_SCHEMA_CHAINED, &r) < 0 || add_archive_head(r, &va) < 0 ||
            vmctl_signed_collect(r, va.key, &va.cps, &va.n_cps, print_problem, NULL, &sg) < 0)
                return EXIT_INTERNAL;

        struct trail_checkpoint head = {};
        unsigned problems = 0;
        if (verify_archives(&va, &head, &problems) < 0)
                return EXIT_INTERNAL;

        pick_start(&va);
        const struct trail_verify_args args = walk_args(&va);
        if (trail_reader_verify(r, &args, &res) < 0)
                return EXIT_INTERNAL;
        vmctl_signed_report(&sg, va.key, res.last_seq);
        res.problems += sg.problems + problems + check_anchor(r, va.path, &head, va.n_archives > 0);
        report_start(va.path, &va, &res);
        if (res.pruned_checkpoints && va.n_archives == 0)
                printf("NOTE: %zu checkpoint(s) name rows before the anchor (seq %" PRId64 "), which were pruned: "
                       "not checked here (give --archive to check them in the archives).\n", res.pruned_checkpoints,
                       res.anchor_seq);
        return report(va.path, &res, checked_checkpoints(&va, &res));
}

static int run_archive(const struct vmctl_options *o _unused_, const struct vmctl_command *cmd, int argc,
                       char **argv) {
        _cleanup_(trail_reader_freep) struct trail_reader *r = NULL;
        _cleanup_(verify_args_done) struct verify_args va = { .path = default_database(), .out = "" };
        struct trail_verify_result res;
        struct vmctl_signed sg;
        int status;

        status = verify_parse(cmd, argc, argv, &va);
        if (status >= 0)
                return status;
        /* The copy is checked against the original's signed checkpoints, which it holds too. */
        if (trail_reader_open(va.path, TRAIL_SCHEMA_CHAINED, &r) < 0 ||
            vmctl_signed_collect(r, va.key, &va.cps, &va.n_cps, print_problem, NULL, &sg) < 0)
                return EXIT_INTERNAL;

        const struct trail_verify_args args = walk_args(&va);
        if (trail_reader_archive(r, va.out, &args, &res) < 0)
                return EXIT_INTERNAL;
        printf("%s: archive of %s, in one file (rollback journal), its head recorded in it.\n", va.out, va.path);
        vmctl_signed_report(&sg, va.key, res.last_seq);
        res.problems += sg.problems;
        return report(va.out, &res, checked_checkpoints(&va, &res));
}

/* prune --before TIME OUT: the oldest rows archived into OUT, then removed behind an anchor (trail_prune.h). */
static int run_prune(const struct vmctl_options *o _unused_, const struct vmctl_command *cmd, int argc, char **argv) {
        _cleanup_(trail_reader_freep) struct trail_reader *r = NULL;
        _cleanup_(verify_args_done) struct verify_args va = { .path = default_database(), .out = "" };
        struct trail_prune_result res;
        int64_t before;
        int status = verify_parse(cmd, argc, argv, &va);

        if (status >= 0)
                return status;
        if (!va.before) {
                log_error("Say which rows to prune: --before TIME.");
                return vmctl_usage(cmd, stderr);
        }
        if (vmctl_parse_time(va.before, now_ms(), &before) < 0) {
                log_error("Bad time \"%s\": %s", va.before, VMCTL_TIME_HINT);
                return EXIT_USAGE;
        }
        if (trail_reader_open(va.path, TRAIL_SCHEMA_CHAINED, &r) < 0)
                return EXIT_INTERNAL;
        const struct trail_verify_args args = walk_args(&va);
        int k = trail_prune(r, before, va.out, &args, &res);
        if (k == -ENODATA)
                return EXIT_OK;
        if (k == -EBADMSG)
                return EXIT_TAMPERED;
        if (k < 0)
                return EXIT_INTERNAL;
        printf("%s: the chain up to seq %" PRId64 ", verified, its head recorded in it.\n", va.out, res.seq);
        if (res.limit[0]) {
                fputs("NOTE: ", stdout);
                printable_fput(stdout, res.limit, strlen(res.limit), "");
                puts(".");
        }
        printf("%s: %" PRId64 " row(s) removed; the chain now starts after seq %" PRId64 ".\n"
               "Keep %s: vmctl verify --archive %s checks both as one chain.\n", va.path, res.rows, res.seq, va.out,
               va.out);
        return EXIT_OK;
}

const struct vmctl_command vmctl_trail_commands[] = {
        VMCTL_TRAIL_COMMANDS(run_log, run_verify, run_archive, run_prune)
};

/* For vmctl report (vmctl-report.h): the same trail as log's. */
const char *vmctl_default_database(void) {
        return default_database();
}

/* vmctl-trail COMMAND [ARGS...]: what vmctl runs for log and verify, with its arguments from COMMAND on. */
int main(int argc, char **argv) {
        const struct vmctl_options o = {};

        log_init("vmctl");
        /* As vmctl's: a message may quote a value from the trail or an argument. */
        log_set_printable(true);
        static const struct vmctl_command *const tables[] = { vmctl_trail_commands, vmctl_report_commands };
        for (size_t t = 0; t < ELEMENTSOF(tables); t++)
                for (const struct vmctl_command *c = tables[t]; argc > 1 && c->name; c++)
                        if (strcmp(c->name, argv[1]) == 0) {
                                optind = 0;
                                return c->run(&o, c, argc - 1, argv + 1);
                        }
        log_error("vmctl-trail is run by vmctl, for: vmctl log, verify, archive and report.");
        return EXIT_USAGE;
}
