/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmctl's pieces.  vmctl.c is the core: global options, the command
 * tables, talking to the daemon and rendering replies.  Each area of
 * commands lives in its own file with its own table (vmctl-ops.c for VM
 * operations, and so on), listed once in vmctl.c.
 */
#ifndef VMT_VMCTL_H
#define VMT_VMCTL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

struct vmctl_options {
        const char *socket;
        bool json;
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
extern const struct vmctl_command vmctl_admin_commands[];

/*
 * Send one request to the daemon and render what comes back (interim
 * messages, then the reply).  Takes ownership of args.  Returns the exit
 * status.
 */
int vmctl_call(const struct vmctl_options *o, const char *command, struct json_object *args);

/*
 * Send one request and hand back the reply's "record" member (a new
 * reference, or NULL) for the command to render itself; with --json the
 * reply line is printed as it came.  Errors are printed.  Takes ownership
 * of args.  Returns the exit status.
 */
int vmctl_query(const struct vmctl_options *o, const char *command, struct json_object *args,
                struct json_object **record);

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

const char *vmctl_jstr(struct json_object *o, const char *key);

#endif
