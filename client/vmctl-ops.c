/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmctl's VM operations (rename, cpu, memory, disk, power, clone, migrate,
 * snapshot, destroy) and the read-only list and show.  Each command parses
 * its own options with getopt_long, checks its arguments strictly (the
 * daemon checks them again), and sends one request; see vmctl(1) and the
 * PROTOCOL section of vmtraced(8) for the requests.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "macros.h"
#include "proto.h"
#include "util.h"
#include "vmctl-conn.h"
#include "vmctl-output.h"
#include "vmctl.h"

/* Options a command may accept; each command says which. */
enum {
        OPT_HOST = 1 << 0,
        OPT_DATASTORE = 1 << 1,
        OPT_POWER_ON = 1 << 2,
        OPT_GUEST = 1 << 3,
        OPT_ADD = 1 << 4,
        OPT_YES = 1 << 5,
        OPT_ENDPOINT = 1 << 6,
        OPT_QUIET = 1 << 7,
};

struct ops_opts {
        const char *host;
        const char *datastore;
        const char *endpoint;
        unsigned given;  /* OPT_* of the options given */
        char **pos;      /* positional arguments after the command name */
        int n_pos;
};

static const struct option ops_options[] = {
        { "host", required_argument, NULL, 'H' },
        { "datastore", required_argument, NULL, 'd' },
        { "power-on", no_argument, NULL, 'p' },
        { "guest", no_argument, NULL, 'g' },
        { "add", no_argument, NULL, 'a' },
        { "yes", no_argument, NULL, 'y' },
        { "endpoint", required_argument, NULL, 'e' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        {},
};

/* The OPT_* bit of getopt's answer c; 0 for none. */
static unsigned ops_bit(int c) {
        static const struct { int c; unsigned bit; } bits[] = {
                { 'H', OPT_HOST }, { 'd', OPT_DATASTORE }, { 'p', OPT_POWER_ON }, { 'g', OPT_GUEST }, { 'a', OPT_ADD },
                { 'y', OPT_YES }, { 'e', OPT_ENDPOINT }, { 'q', OPT_QUIET },
        };

        for (size_t i = 0; i < ELEMENTSOF(bits); i++)
                if (bits[i].c == c)
                        return bits[i].bit;
        return 0;
}

static void ops_set(struct ops_opts *oo, int c) {
        oo->given |= ops_bit(c);
        if (c == 'H')
                oo->host = optarg;
        else if (c == 'd')
                oo->datastore = optarg;
        else if (c == 'e')
                oo->endpoint = optarg;
}

/* min..max positional arguments, none of them empty, nor --host or --datastore. */
static int ops_check(const struct vmctl_command *cmd, int min, int max, const struct ops_opts *oo) {
        if (oo->n_pos < min || oo->n_pos > max) {
                log_error("%s: expected %s%d argument%s, got %d.", cmd->name, min == max ? "" : "at least ", min,
                          min == 1 ? "" : "s", oo->n_pos);
                return vmctl_usage(cmd, stderr);
        }
        for (int i = 0; i < oo->n_pos; i++)
                if (!*oo->pos[i]) {
                        log_error("%s: arguments must not be empty.", cmd->name);
                        return vmctl_usage(cmd, stderr);
                }
        if ((oo->host && !*oo->host) || (oo->datastore && !*oo->datastore) || (oo->endpoint && !*oo->endpoint)) {
                log_error("%s: --host, --datastore and --endpoint need a name.", cmd->name);
                return EXIT_USAGE;
        }
        return -1;
}

/*
 * Parse argv (argv[0] is the command) allowing the options in mask and
 * min..max positional arguments.  Returns -1 to go on, or the exit status.
 */
static int ops_parse(const struct vmctl_command *cmd, int argc, char **argv, unsigned mask, int min, int max,
                     struct ops_opts *oo) {
        int c;

        *oo = (struct ops_opts) {};
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":hq", ops_options, NULL)) >= 0) {
                if (c == 'h')
                        return vmctl_usage(cmd, stdout);
                if (c == '?' || c == ':' || !(mask & ops_bit(c))) {
                        log_error("%s: %s %s", cmd->name,
                                  c == ':' ? "option needs a value:" : "unknown option", argv[optind - 1]);
                        return vmctl_usage(cmd, stderr);
                }
                ops_set(oo, c);
        }
        /* getopt permutes, so options may follow the VM; a VM name that starts with '-' goes after "--". */
        oo->pos = argv + optind;
        oo->n_pos = argc - optind;
        return ops_check(cmd, min, max, oo);
}

static int size_arg(const struct vmctl_command *cmd, const char *s, int64_t *mib) {
        int r = parse_size_mib(s, mib);
        if (r < 0) {
                log_error("%s: invalid size \"%s\": give MiB (e.g. 4096) or a number with a M, G or T suffix (e.g. 4G)%s.",
                          cmd->name, s, r == -ERANGE ? "; it must be more than 0 and not absurdly large" : "");
                return EXIT_USAGE;
        }
        return -1;
}

static struct json_object *args_vm(const char *vm) {
        struct json_object *a = json_object_new_object();
        json_object_object_add(a, "vm", json_object_new_string(vm));
        return a;
}

static void args_add_string(struct json_object *a, const char *key, const char *value) {
        if (value)
                json_object_object_add(a, key, json_object_new_string(value));
}

static int run_rename(const struct vmctl_options *o, const struct vmctl_command *cmd, int argc, char **argv) {
        struct ops_opts oo;
        int r = ops_parse(cmd, argc, argv, 0, 2, 2, &oo);
        if (r >= 0)
                return r;
        struct json_object *a = args_vm(oo.pos[0]);
        args_add_string(a, "name", oo.pos[1]);
        return vmctl_call(o, "rename", a);
}

static int run_cpu(const struct vmctl_options *o, const struct vmctl_command *cmd, int argc, char **argv) {
        struct ops_opts oo;
        int r = ops_parse(cmd, argc, argv, 0, 2, 2, &oo);
        if (r >= 0)
                return r;
        char *end;
        errno = 0;
        long n = strtol(oo.pos[1], &end, 10);
        if (errno || *end || !isdigit((unsigned char) oo.pos[1][0]) || n < 1 || n > PROTO_CPU_MAX) {
                log_error("cpu: the CPU count must be a whole number from 1 to %d (got \"%s\").", PROTO_CPU_MAX, oo.pos[1]);
                return EXIT_USAGE;
        }
        struct json_object *a = args_vm(oo.pos[0]);
        json_object_object_add(a, "count", json_object_new_int64(n));
        return vmctl_call(o, "cpu", a);
}

static int run_memory(const struct vmctl_options *o, const struct vmctl_command *cmd, int argc, char **argv) {
        struct ops_opts oo;
        int64_t mib;
        int r = ops_parse(cmd, argc, argv, OPT_YES, 2, 2, &oo);
        if (r >= 0 || (r = size_arg(cmd, oo.pos[1], &mib)) >= 0)
                return r;
        struct json_object *a = args_vm(oo.pos[0]);
        json_object_object_add(a, "mib", json_object_new_int64(mib));
        if (oo.given & OPT_YES)
                json_object_object_add(a, "confirmed", json_object_new_boolean(true));
        return vmctl_call(o, "memory", a);
}

static int run_disk(const struct vmctl_options *o, const struct vmctl_command *cmd, int argc, char **argv) {
        struct ops_opts oo;
        int64_t mib;
        int r = ops_parse(cmd, argc, argv, OPT_ADD, 2, 3, &oo);
        if (r >= 0)
                return r;
        bool add = oo.given & OPT_ADD;
        if (oo.n_pos != (add ? 2 : 3)) {
                log_error("disk: give VM DISK SIZE to grow a disk, or --add VM SIZE to add one.");
                return vmctl_usage(cmd, stderr);
        }
        r = size_arg(cmd, oo.pos[oo.n_pos - 1], &mib);
        if (r >= 0)
                return r;
        struct json_object *a = args_vm(oo.pos[0]);
        if (!add)
                args_add_string(a, "disk", oo.pos[1]);
        json_object_object_add(a, "mib", json_object_new_int64(mib));
        return vmctl_call(o, add ? "disk-add" : "disk-grow", a);
}

/* start, stop, reset, suspend, destroy: the command name is the request. */
static int run_vm_only(const struct vmctl_options *o, const struct vmctl_command *cmd, int argc, char **argv) {
        struct ops_opts oo;
        int r = ops_parse(cmd, argc, argv, strcmp(cmd->name, "stop") == 0 ? OPT_GUEST : 0, 1, 1, &oo);
        if (r >= 0)
                return r;
        struct json_object *a = args_vm(oo.pos[0]);
        if (oo.given & OPT_GUEST)
                json_object_object_add(a, "guest", json_object_new_boolean(true));
        return vmctl_call(o, cmd->name, a);
}

static int run_clone(const struct vmctl_options *o, const struct vmctl_command *cmd, int argc, char **argv) {
        struct ops_opts oo;
        int r = ops_parse(cmd, argc, argv, OPT_HOST | OPT_DATASTORE | OPT_POWER_ON, 2, 2, &oo);
        if (r >= 0)
                return r;
        struct json_object *a = args_vm(oo.pos[0]);
        args_add_string(a, "name", oo.pos[1]);
        args_add_string(a, "host", oo.host);
        args_add_string(a, "datastore", oo.datastore);
        if (oo.given & OPT_POWER_ON)
                json_object_object_add(a, "power_on", json_object_new_boolean(true));
        return vmctl_call(o, "clone", a);
}

static int run_migrate(const struct vmctl_options *o, const struct vmctl_command *cmd, int argc, char **argv) {
        struct ops_opts oo;
        int r = ops_parse(cmd, argc, argv, OPT_HOST | OPT_DATASTORE, 1, 1, &oo);
        if (r >= 0)
                return r;
        if (!oo.host && !oo.datastore) {
                log_error("migrate: give --host, --datastore, or both.");
                return vmctl_usage(cmd, stderr);
        }
        struct json_object *a = args_vm(oo.pos[0]);
        args_add_string(a, "host", oo.host);
        args_add_string(a, "datastore", oo.datastore);
        return vmctl_call(o, "migrate", a);
}

static int run_snapshot(const struct vmctl_options *o, const struct vmctl_command *cmd, int argc, char **argv) {
        static const char *const actions[] = { "create", "revert", "remove" };
        struct ops_opts oo;
        int r = ops_parse(cmd, argc, argv, 0, 3, 3, &oo);
        if (r >= 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(actions); i++)
                if (strcmp(oo.pos[1], actions[i]) == 0) {
                        char request[32];
                        snprintf(request, sizeof request, "snapshot-%s", actions[i]);
                        struct json_object *a = args_vm(oo.pos[0]);
                        args_add_string(a, "snapshot", oo.pos[2]);
                        return vmctl_call(o, request, a);
                }
        log_error("snapshot: unknown action \"%s\": use create, revert or remove.", oo.pos[1]);
        return vmctl_usage(cmd, stderr);
}

/* The reply's error, shown like vmctl_call() would; returns the exit status. */
static int show_error(const struct vmctl_options *o, struct json_object *reply) {
        struct json_object *err = NULL;

        if (!json_object_object_get_ex(reply, "error", &err))
                return EXIT_OK;
        o->out->error(err);
        return vmctl_reply_status(reply);
}

static struct json_object *reply_data(struct json_object *reply, const char *key) {
        struct json_object *rec = NULL, *v = NULL;
        if (json_object_object_get_ex(reply, "record", &rec))
                json_object_object_get_ex(rec, key, &v);
        return v;
}

static int run_list(const struct vmctl_options *o, const struct vmctl_command *cmd, int argc, char **argv) {
        _cleanup_(json_object_putp) struct json_object *reply = NULL;
        struct ops_opts oo;
        int r = ops_parse(cmd, argc, argv, OPT_ENDPOINT | OPT_QUIET, 0, 1, &oo);
        if (r >= 0)
                return r;
        struct json_object *a = json_object_new_object();
        if (a && oo.n_pos == 1)
                json_object_object_add(a, "pattern", json_object_new_string(oo.pos[0]));
        if (a && oo.endpoint)
                json_object_object_add(a, "endpoint", json_object_new_string(oo.endpoint));
        r = vmctl_exchange(o, "list", a, &reply);
        if (r != 0)
                return r;
        if (oo.given & OPT_QUIET)
                vmctl_print_vm_names(reply_data(reply, "vms"));
        else
                o->out->vm_list(reply_data(reply, "vms"));
        return show_error(o, reply);
}

static int run_show(const struct vmctl_options *o, const struct vmctl_command *cmd, int argc, char **argv) {
        _cleanup_(json_object_putp) struct json_object *reply = NULL;
        struct ops_opts oo;
        int r = ops_parse(cmd, argc, argv, 0, 1, 1, &oo);
        if (r >= 0)
                return r;
        r = vmctl_exchange(o, "show", args_vm(oo.pos[0]), &reply);
        if (r != 0)
                return r;
        o->out->vm_show(reply_data(reply, "vm"));
        return show_error(o, reply);
}

const struct vmctl_command vmctl_ops_commands[] = {
        { "rename", "rename VM NEWNAME", "Rename a VM (VM may be ENDPOINT:NAME everywhere).", run_rename },
        { "cpu", "cpu VM N", "Set the number of virtual CPUs.", run_cpu },
        { "memory", "memory VM SIZE [--yes]", "Set the memory: MiB, or with a M/G suffix (4G); --yes above confirm-memory-above.",
          run_memory },
        { "disk", "disk VM DISK SIZE | disk VM --add SIZE", "Grow a disk (label or number) or add one.", run_disk },
        { "start", "start VM", "Power a VM on.", run_vm_only },
        { "stop", "stop VM [--guest]", "Power off (hard), or shut the guest down and wait.", run_vm_only },
        { "reset", "reset VM", "Reset a VM (hard).", run_vm_only },
        { "suspend", "suspend VM", "Suspend a VM.", run_vm_only },
        { "clone", "clone VM NEW [--host H] [--datastore D] [--power-on]", "Clone a VM.", run_clone },
        { "migrate", "migrate VM [--host H] [--datastore D]", "Move a VM to another host and/or datastore.",
          run_migrate },
        { "snapshot", "snapshot VM create|revert|remove NAME", "Create, revert to or remove a snapshot.",
          run_snapshot },
        { "destroy", "destroy VM", "Delete a VM and its files.", run_vm_only },
        { "list", "list [PATTERN] [--endpoint E] [-q|--quiet]", "List VMs (names matching the shell PATTERN; read only, not recorded).",
          run_list },
        { "show", "show VM", "Show one VM (read only, not recorded).", run_show },
        {},
};
