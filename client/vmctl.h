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
#include <stdint.h>
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
extern const struct vmctl_command vmctl_admin_commands[]; /* vmctl-admin.c */
extern const struct vmctl_command vmctl_ops_commands[];   /* vmctl-ops.c */
extern const struct vmctl_command vmctl_trail_commands[];  /* vmctl-trail.c: log, verify */

/* Exit status after the operator detached with Ctrl-C (the shell's 128 + SIGINT). */
#define EXIT_DETACHED 130

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
/* The exit status a reply stands for. */
int vmctl_reply_status(struct json_object *reply);

/*
 * Connect and send one request (takes ownership of args); returns the
 * connected fd or a negative errno (-EILSEQ: arguments not UTF-8).
 */
int vmctl_send(const char *socket_path, const char *command, struct json_object *args);

/*
 * Waiting for a reply (vmctl-wait.c): progress events are drawn as a bar
 * on a terminal (stderr) or as plain lines otherwise; Ctrl-C asks, on a
 * terminal, whether to cancel the task or detach, and detaches otherwise.
 */
struct vmctl_wait {
        const struct vmctl_options *o;
        int64_t trail_id;          /* from the first progress event; 0 until then */
        bool bar_drawn;            /* a progress bar is on the terminal's last line */
        bool cancel_sent;
        int last_percent;          /* what the last plain line said */
        char last_state[32];
};
void vmctl_wait_begin(struct vmctl_wait *w, const struct vmctl_options *o);
void vmctl_wait_event(struct vmctl_wait *w, struct json_object *msg);
bool vmctl_wait_sigint_pending(void);
/* After Ctrl-C: 0 to go on waiting, or the exit status to leave with. */
int vmctl_wait_interrupted(struct vmctl_wait *w);
void vmctl_wait_end(struct vmctl_wait *w);

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
