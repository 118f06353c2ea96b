/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmctl's pieces.  vmctl.c is the core: global options, the command
 * tables, and one exchange with the daemon per command.  Each area of
 * commands lives in its own file with its own table (vmctl-ops.c for VM
 * operations, and so on), listed once in vmctl.c.  Below the core, with
 * headers of their own: vmctl-conn.h (connect, send, read a reply),
 * vmctl-wait.h (progress and Ctrl-C) and vmctl-output.h (the human and
 * JSON forms).
 */
#ifndef VMT_VMCTL_H
#define VMT_VMCTL_H

#include <json-c/json.h>
#include <stdio.h>

struct vmctl_output;

struct vmctl_options {
        const char *socket;
        const struct vmctl_output *out;   /* human or --json (vmctl-output.h) */
};

struct vmctl_command {
        const char *name;
        const char *usage;     /* "rename VM NEWNAME" */
        const char *help;      /* one line */
        /*
         * Run the command.  argv[0] is the command name; options after it
         * are the command's own (use getopt with optind = 0... see
         * vmctl_getopt()).  Returns the exit status (EXIT_* of proto.h).
         */
        int (*run)(const struct vmctl_options *o, const struct vmctl_command *cmd, int argc, char **argv);
};

/* Tables, each ended by an entry with a NULL name. */
extern const struct vmctl_command vmctl_core_commands[];
extern const struct vmctl_command vmctl_admin_commands[]; /* vmctl-admin.c */
extern const struct vmctl_command vmctl_ops_commands[];   /* vmctl-ops.c */
extern const struct vmctl_command vmctl_jobs_commands[];  /* vmctl-jobs.c: jobs, wait, cancel */
/*
 * log and verify read the trail database, and only they need SQLite,
 * libcrypto and libinih: they live in a helper program, vmctl-trail
 * (vmctl-trail.c), which vmctl runs for them (vmctl-trail-exec.c), so that
 * every other command starts with libc and json-c alone.  Both programs
 * list the commands from here.
 */
#define VMCTL_TRAIL_COMMANDS(run_log, run_verify, run_archive, run_prune)                                          \
        { "log", "log [OPTIONS] [FILTERS]", "Show trail rows from the database file (no daemon needed).", run_log }, \
        { "verify", "verify [--db F] [--checkpoint S:H] [--key PUBKEY] [--from-checkpoint] [--archive FILE] [--forwarded FILE]", "Check the trail's hash chain; exit 0 only if intact.",      \
          run_verify },                                                                                              \
        { "archive", "archive [--db F] [--checkpoint S:H] [--key PUBKEY] OUT", "Copy the trail into one verified, self-contained "   \
          "file.", run_archive },                                                                                    \
        { "prune", "prune --before TIME [--db F] OUT", "Archive the oldest rows into OUT, then remove them from the " \
          "trail behind an anchor.", run_prune },                                                                    \
        {}
extern const struct vmctl_command vmctl_trail_commands[];  /* vmctl-trail-exec.c, and vmctl-trail.c in the helper */
/* report reads the trail too, in the same helper (vmctl-report.c there). */
#define VMCTL_REPORT_COMMANDS(run_report)                                                                          \
        { "report", "report [--since T] [--until T] [--db F] [--format text|html] [-o FILE]",                      \
          "Sum up the trail over a time range, as text or one HTML page.", run_report },                             \
        {}
extern const struct vmctl_command vmctl_report_commands[]; /* vmctl-trail-exec.c, and vmctl-report.c in the helper */

/*
 * Send one request to the daemon and render what comes back (interim
 * messages, then the reply).  Takes ownership of args.  Returns the exit
 * status.
 */
int vmctl_call(const struct vmctl_options *o, const char *command, struct json_object *args);

/*
 * The same, but hand the final reply to the caller (*reply) instead of
 * rendering it; interim messages are still shown.  Returns 0 or an exit
 * status when there is no reply to hand over.
 */
int vmctl_exchange(const struct vmctl_options *o, const char *command, struct json_object *args,
                   struct json_object **reply);

/*
 * For commands' own argument parsing: print "Usage: vmctl USAGE" (and
 * the help line) to f; returns EXIT_USAGE, or EXIT_OK for --help on stdout.
 */
int vmctl_usage(const struct vmctl_command *cmd, FILE *f);

/*
 * Parse a command's positional arguments when it takes no options besides
 * --help: exactly n of them after argv[0] ("--" is allowed before them).
 * Returns a pointer to the first, or NULL after printing usage (*status
 * is set to the exit status).
 */
char **vmctl_positional(const struct vmctl_command *cmd, int argc, char **argv, int n, int *status);

#endif
