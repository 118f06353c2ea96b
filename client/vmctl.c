/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmctl: the operators' client.  It is thin on purpose (as tmux's client
 * is): parse the command line, send one request over the control socket
 * (vmctl-conn.c), wait for the reply (vmctl-wait.c), show it in the form
 * chosen (vmctl-output.h), and exit with a status that says what happened
 * (see vmctl(1)).  It never says who the operator is: the daemon asks the
 * kernel.
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "defaults.h"
#include "macros.h"
#include "proto.h"
#include "util.h"
#include "vmctl-conn.h"
#include "vmctl-output.h"
#include "vmctl-wait.h"
#include "vmctl.h"

#define DEFAULT_SOCKET VMT_DEFAULT_SOCKET
/* A reply carries a whole trail row; allow generous before/after values. */
#define MAX_REPLY (1024 * 1024)

/* Every area's table; a new area adds its table here and nowhere else. */
static const struct vmctl_command *const tables[] = {
        vmctl_core_commands,
        vmctl_admin_commands,
        vmctl_ops_commands,
        vmctl_jobs_commands,
        vmctl_trail_commands,
        vmctl_report_commands,
};

static void usage(FILE *f) {
        fprintf(f, "Usage: vmctl [--socket PATH] [--json] COMMAND [ARGS...]\n\nCommands:\n");
        for (size_t t = 0; t < ELEMENTSOF(tables); t++)
                for (const struct vmctl_command *c = tables[t]; c->name; c++)
                        if (strlen(c->usage) > 34)   /* too long for the column: help on its own line */
                                fprintf(f, "  %s\n  %-34s %s\n", c->usage, "", c->help);
                        else
                                fprintf(f, "  %-34s %s\n", c->usage, c->help);
        fprintf(f, "\nOptions:\n"
                   "  -s, --socket PATH   control socket (default $VMTRACED_SOCKET or %s)\n"
                   "  -j, --json          print the daemon's replies as JSON\n"
                   "  -h, --help          show this help; COMMAND --help shows a command's\n"
                   "      --version       show the version\n"
                   "\nExit status: 0 success, 1 operation failed on the platform, 2 usage error,\n"
                   "3 denied, 4 daemon or endpoint unreachable, 5 internal or trail error,\n"
                   "6 changed but its row not yet durable, 7 not found, 8 ambiguous name,\n"
                   "130 detached after Ctrl-C (the operation goes on; its trail row tells the outcome).\n",
                DEFAULT_SOCKET);
}

char **vmctl_positional(const struct vmctl_command *cmd, int argc, char **argv, int n, int *status) {
        int first = 1;

        if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                *status = vmctl_usage(cmd, stdout);
                return NULL;
        }
        if (first < argc && strcmp(argv[first], "--") == 0)
                first++;
        if (argc - first != n) {
                *status = vmctl_usage(cmd, stderr);
                return NULL;
        }
        return argv + first;
}

/* Read the reply line; *line is owned by reader. */
static int read_reply(int fd, struct proto_reader *reader, char **line, size_t *len) {
        for (;;) {
                char buf[16384];
                int r = proto_reader_next(reader, line, len);
                if (r != 0)
                        return r;
                /*
                 * A SIGINT that lands between the check and recv() would not
                 * interrupt it: wait in short polls, so it is seen soon anyway.
                 */
                if (vmctl_wait_sigint_pending())
                        return -EINTR;
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                int p = poll(&pfd, 1, 200);
                if (p <= 0) {
                        if (p < 0 && errno != EINTR)
                                return -errno;
                        continue;
                }
                ssize_t n = recv(fd, buf, sizeof buf, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -ECONNRESET;
                r = proto_reader_feed(reader, buf, (size_t) n);
                if (r < 0)
                        return r;
        }
}

/* Show the reply and turn it into the exit status. */
static int render(const struct vmctl_options *o, struct json_object *reply) {
        struct json_object *rec = NULL, *err = NULL;
        json_object_object_get_ex(reply, "record", &rec);
        json_object_object_get_ex(reply, "error", &err);
        if (!err) {
                o->out->record(stdout, rec);
                return EXIT_OK;
        }
        o->out->error(err);
        o->out->record(stderr, rec);
        return vmctl_reply_status(reply);
}

static const struct vmctl_command *find_command(const char *name) {
        for (size_t t = 0; t < ELEMENTSOF(tables); t++)
                for (const struct vmctl_command *c = tables[t]; c->name; c++)
                        if (strcmp(c->name, name) == 0)
                                return c;
        return NULL;
}

/* "Unknown command", with the commands it may be a typo of (as git says "did you mean"). */
static void unknown_command(const char *name) {
        char near[256] = "";

        for (int level = 0; level <= 1 && !*near; level++)
                for (size_t t = 0; t < ELEMENTSOF(tables); t++)
                        for (const struct vmctl_command *c = tables[t]; c->name; c++)
                                if (word_nearness(name, c->name) == level)
                                        strbuf_append(near, sizeof near, " or ", "\"%s\"", c->name);
        if (*near)
                log_error("Unknown command \"%s\"; did you mean %s? Try vmctl --help.", name, near);
        else
                log_error("Unknown command \"%s\". Try vmctl --help.", name);
}

int vmctl_exchange(const struct vmctl_options *o, const char *command, struct json_object *args,
                   struct json_object **reply) {
        struct proto_reader reader;
        struct vmctl_wait w = {};
        char *line, why[256];
        size_t len;
        int r;

        _cleanup_close_ int fd = vmctl_send(o->socket, command, args);
        if (fd == -EILSEQ)
                return EXIT_USAGE;
        if (fd < 0)
                return fd == -ENOMEM ? EXIT_INTERNAL : EXIT_UNREACHABLE;
        vmctl_wait_begin(&w, o->socket);
        proto_reader_init(&reader, MAX_REPLY);
        for (;;) {
                r = read_reply(fd, &reader, &line, &len);
                if (r == -EINTR) {
                        /* Ctrl-C: cancel (and go on waiting for the true outcome) or detach. */
                        r = vmctl_wait_interrupted(&w);
                        if (r != 0)
                                break;
                        continue;
                }
                if (r < 0) {
                        log_error_errno(r, "No reply from vmtraced: %m");
                        r = -EXIT_INTERNAL;
                        break;
                }
                _cleanup_(json_object_putp) struct json_object *msg = NULL;
                if (proto_parse(line, len, &msg, why, sizeof why) < 0) {
                        log_error("Bad reply from vmtraced: %s", why);
                        r = -EXIT_INTERNAL;
                        break;
                }
                if (vmctl_jstr(msg, "type")) {
                        vmctl_wait_event(&w, msg);
                        o->out->progress(&w, msg, line);
                        continue;
                }
                o->out->reply(line);
                *reply = TAKE_PTR(msg);
                r = 0;
                break;
        }
        vmctl_wait_end(&w);
        proto_reader_done(&reader);
        return r < 0 ? -r : r;
}

int vmctl_call(const struct vmctl_options *o, const char *command, struct json_object *args) {
        _cleanup_(json_object_putp) struct json_object *reply = NULL;

        int r = vmctl_exchange(o, command, args, &reply);
        if (r != 0 || !reply)
                return r ? r : EXIT_INTERNAL;
        return render(o, reply);
}

static int run_ping(const struct vmctl_options *o, const struct vmctl_command *cmd, int argc, char **argv) {
        int status;
        if (!vmctl_positional(cmd, argc, argv, 0, &status))
                return status;
        return vmctl_call(o, "ping", json_object_new_object());
}

const struct vmctl_command vmctl_core_commands[] = {
        { "ping", "ping", "Check that the daemon answers.", run_ping },
        {},
};

/*
 * --json and --socket may follow the command too (as git's -C may not,
 * but as operators type them): take them out of the command's arguments,
 * up to a "--", before the command parses the rest.  Returns the new argc,
 * or -1 (after a message) for --socket without a path.
 */
static int take_global_options(struct vmctl_options *o, int argc, char **argv) {
        int n = 1;

        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                if (strcmp(a, "--") == 0) {
                        while (i < argc)
                                argv[n++] = argv[i++];
                        break;
                }
                if (strcmp(a, "--json") == 0 || strcmp(a, "-j") == 0)
                        o->out = &vmctl_output_json;
                else if (strncmp(a, "--socket=", strlen("--socket=")) == 0)
                        o->socket = a + strlen("--socket=");
                else if (strcmp(a, "--socket") == 0 || strcmp(a, "-s") == 0) {
                        if (i + 1 >= argc) {
                                log_error("Option %s needs a path.", a);
                                return -1;
                        }
                        o->socket = argv[++i];
                } else
                        argv[n++] = argv[i];
        }
        argv[n] = NULL;
        return n;
}

int main(int argc, char **argv) {
        static const struct option long_options[] = {
                { "socket", required_argument, NULL, 's' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        struct vmctl_options o = { .socket = getenv("VMTRACED_SOCKET"), .out = &vmctl_output_human };
        int c;

        log_init("vmctl");
        /* Its messages quote VM names and the daemon's words: a terminal must not act on them. */
        log_set_printable(true);
        if (!o.socket || !*o.socket)
                o.socket = DEFAULT_SOCKET;
        /* "+": stop at the command, so VM names starting with '-' can follow "--". */
        while ((c = getopt_long(argc, argv, "+s:jh", long_options, NULL)) >= 0) {
                switch (c) {
                case 's':
                        o.socket = optarg;
                        break;
                case 'j':
                        o.out = &vmctl_output_json;
                        break;
                case 'h':
                        usage(stdout);
                        return EXIT_OK;
                case 'V':
                        printf("vmctl %s\n", PACKAGE_VERSION);
                        return EXIT_OK;
                default:
                        usage(stderr);
                        return EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                usage(stderr);
                return EXIT_USAGE;
        }
        const struct vmctl_command *cmd = find_command(argv[optind]);
        if (!cmd) {
                unknown_command(argv[optind]);
                return EXIT_USAGE;
        }
        /* The command parses its own options, from its name on (getopt: reset optind to 0). */
        int first = optind;
        int n = take_global_options(&o, argc - first, argv + first);
        if (n < 0)
                return EXIT_USAGE;
        optind = 0;
        return cmd->run(&o, cmd, n, argv + first);
}
