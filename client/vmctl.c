/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmctl: the operators' client.  It is thin on purpose (as tmux's client
 * is): parse the command line, send one request over the control socket,
 * render the reply, and exit with a status that says what happened (see
 * vmctl(1)).  It never says who the operator is: the daemon asks the kernel.
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "macros.h"
#include "proto.h"

#define DEFAULT_SOCKET "/run/vmtraced/vmtraced.sock"
/* A reply carries a whole trail row; allow generous before/after values. */
#define MAX_REPLY (1024 * 1024)

struct options {
        const char *socket;
        bool json;
};

struct command {
        const char *name;
        const char *usage;
        const char *help;
        int nargs;
        /* Build the request's args from the positional arguments. */
        int (*build)(char **argv, struct json_object *args);
};

static int build_none(char **argv _unused_, struct json_object *args _unused_) {
        return 0;
}

static int build_rename(char **argv, struct json_object *args) {
        json_object_object_add(args, "vm", json_object_new_string(argv[0]));
        json_object_object_add(args, "name", json_object_new_string(argv[1]));
        return 0;
}

static const struct command commands[] = {
        { "rename", "rename VM NEWNAME", "Rename a VM (VM may be ENDPOINT:NAME).", 2, build_rename },
        { "ping", "ping", "Check that the daemon answers.", 0, build_none },
        {},
};

static void usage(FILE *f) {
        fprintf(f, "Usage: vmctl [--socket PATH] [--json] COMMAND [ARGS...]\n\nCommands:\n");
        for (const struct command *c = commands; c->name; c++)
                fprintf(f, "  %-24s %s\n", c->usage, c->help);
        fprintf(f, "\nOptions:\n"
                   "  -s, --socket PATH   control socket (default $VMTRACED_SOCKET or %s)\n"
                   "  -j, --json          print the daemon's reply as JSON\n"
                   "  -h, --help          show this help\n"
                   "      --version       show the version\n"
                   "\nExit status: 0 success, 1 operation failed on the platform, 2 usage error,\n"
                   "3 denied, 4 daemon or endpoint unreachable, 5 internal or trail error.\n",
                DEFAULT_SOCKET);
}

static int connect_daemon(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        if (strlen(path) >= sizeof sa.sun_path)
                return log_error_errno(-ENAMETOOLONG, "Socket path too long: %s", path);
        strcpy(sa.sun_path, path);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return log_error_errno(-errno, "Failed to create socket: %m");
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return log_error_errno(-errno, "Cannot reach vmtraced at %s: %m", path);
        return TAKE_FD(fd);
}

static int send_all(int fd, const char *buf, size_t len) {
        while (len > 0) {
                ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                buf += n;
                len -= (size_t) n;
        }
        return 0;
}

/* Read the reply line; *line is owned by reader. */
static int read_reply(int fd, struct proto_reader *reader, char **line, size_t *len) {
        for (;;) {
                char buf[16384];
                int r = proto_reader_next(reader, line, len);
                if (r != 0)
                        return r;
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

static const char *jstr(struct json_object *o, const char *key) {
        struct json_object *v;
        if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
                return NULL;
        return json_object_get_string(v);
}

/* Append " label value" when value is set. */
static void print_field(FILE *f, const char *label, const char *value) {
        if (value && *value)
                fprintf(f, "%s%s", label, value);
}

static void print_record(FILE *f, struct json_object *rec) {
        if (!rec)
                return;
        fprintf(f, "%s %s", strempty(jstr(rec, "operation")), strempty(jstr(rec, "vm_name")));
        if (jstr(rec, "before") || jstr(rec, "after"))
                fprintf(f, ": %s -> %s", strempty(jstr(rec, "before")), strempty(jstr(rec, "after")));
        fprintf(f, "  [%s]\n  trail #%s, %s .. %s, by %s (uid %s)", strempty(jstr(rec, "result")),
                strempty(jstr(rec, "id")), strempty(jstr(rec, "start_time")), strempty(jstr(rec, "end_time")),
                strempty(jstr(rec, "user")), strempty(jstr(rec, "uid")));
        print_field(f, ", endpoint ", jstr(rec, "endpoint"));
        print_field(f, ", host ", jstr(rec, "host"));
        print_field(f, ", id ", jstr(rec, "vm_id"));
        fputc('\n', f);
}

/* Show the reply and turn it into the exit status. */
static int render(const struct options *o, const char *line, size_t len) {
        _cleanup_(json_object_putp) struct json_object *reply = NULL;
        char why[256];

        if (proto_parse(line, len, &reply, why, sizeof why) < 0) {
                log_error("Bad reply from vmtraced: %s", why);
                return EXIT_INTERNAL;
        }
        if (o->json)
                printf("%s\n", line);

        struct json_object *rec = NULL, *err = NULL;
        json_object_object_get_ex(reply, "record", &rec);
        json_object_object_get_ex(reply, "error", &err);
        if (!err) {
                if (!o->json)
                        print_record(stdout, rec);
                return EXIT_OK;
        }
        enum proto_error e = proto_error_from_string(jstr(err, "code"));
        if (!o->json) {
                fprintf(stderr, "vmctl: %s\n", strempty(jstr(err, "message")));
                print_record(stderr, rec);
        }
        return proto_error_exit_status(e);
}

static const struct command *find_command(const char *name) {
        for (const struct command *c = commands; c->name; c++)
                if (strcmp(c->name, name) == 0)
                        return c;
        return NULL;
}

static int run(const struct options *o, const struct command *cmd, char **argv) {
        _cleanup_(json_object_putp) struct json_object *args = json_object_new_object();
        struct proto_reader reader;
        char *line;
        size_t len;

        if (!args || cmd->build(argv, args) < 0)
                return EXIT_INTERNAL;
        _cleanup_free_ char *req = proto_format_request(1, cmd->name, args);
        if (!req)
                return EXIT_INTERNAL;
        /* Catch what the daemon would refuse (such as bytes that are not UTF-8) with a clearer word. */
        _cleanup_(json_object_putp) struct json_object *check = NULL;
        char why[256];
        if (proto_parse(req, strlen(req) - 1, &check, why, sizeof why) < 0) {
                log_error("Arguments must be valid UTF-8 text (%s).", why);
                return EXIT_USAGE;
        }

        _cleanup_close_ int fd = connect_daemon(o->socket);
        if (fd < 0)
                return EXIT_UNREACHABLE;
        int r = send_all(fd, req, strlen(req));
        if (r < 0) {
                log_error_errno(r, "Failed to send the request: %m");
                return EXIT_UNREACHABLE;
        }
        proto_reader_init(&reader, MAX_REPLY);
        r = read_reply(fd, &reader, &line, &len);
        if (r < 0) {
                proto_reader_done(&reader);
                log_error_errno(r, "No reply from vmtraced: %m");
                return EXIT_INTERNAL;
        }
        r = render(o, line, len);
        proto_reader_done(&reader);
        return r;
}

int main(int argc, char **argv) {
        static const struct option long_options[] = {
                { "socket", required_argument, NULL, 's' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        struct options o = { .socket = getenv("VMTRACED_SOCKET") };
        int c;

        log_init("vmctl");
        if (!o.socket || !*o.socket)
                o.socket = DEFAULT_SOCKET;
        /* "+": stop at the command, so VM names starting with '-' can follow "--". */
        while ((c = getopt_long(argc, argv, "+s:jh", long_options, NULL)) >= 0) {
                switch (c) {
                case 's':
                        o.socket = optarg;
                        break;
                case 'j':
                        o.json = true;
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
        const struct command *cmd = find_command(argv[optind]);
        if (!cmd) {
                log_error("Unknown command \"%s\". Try vmctl --help.", argv[optind]);
                return EXIT_USAGE;
        }
        int first = optind + 1;
        if (first < argc && strcmp(argv[first], "--") == 0)
                first++;
        if (argc - first != cmd->nargs) {
                log_error("Usage: vmctl %s", cmd->usage);
                return EXIT_USAGE;
        }
        return run(&o, cmd, argv + first);
}
