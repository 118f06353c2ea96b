/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmctl's commands about the daemon and the operator rather than a VM:
 * whoami (who the daemon thinks you are, and what the policy lets you do)
 * and status (endpoints, sessions, operations in flight, database health).
 * The replies are shown by the chosen output (vmctl-output.h).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "macros.h"
#include "proto.h"
#include "vmctl-conn.h"
#include "vmctl-metrics.h"
#include "vmctl-output.h"
#include "vmctl.h"

/* One request; the reply's "record" in *record (errors are printed here). */
static int vmctl_query(const struct vmctl_options *o, const char *command, struct json_object *args,
                       struct json_object **record) {
        _cleanup_(json_object_putp) struct json_object *reply = NULL;
        struct json_object *err, *rec;

        int r = vmctl_exchange(o, command, args, &reply);
        if (r != 0 || !reply)
                return r ? r : EXIT_INTERNAL;
        if (json_object_object_get_ex(reply, "error", &err)) {
                o->out->error(err);
                return vmctl_reply_status(reply);
        }
        *record = json_object_object_get_ex(reply, "record", &rec) ? json_object_get(rec) : NULL;
        return EXIT_OK;
}

static int run_query(const struct vmctl_options *o, const struct vmctl_command *cmd, int argc, char **argv,
                     void (*print)(struct json_object *)) {
        _cleanup_(json_object_putp) struct json_object *rec = NULL;
        int status;

        if (!vmctl_positional(cmd, argc, argv, 0, &status))
                return status;
        status = vmctl_query(o, cmd->name, json_object_new_object(), &rec);
        if (status == EXIT_OK)
                print(rec);
        return status;
}

static int run_whoami(const struct vmctl_options *o, const struct vmctl_command *cmd, int argc, char **argv) {
        return run_query(o, cmd, argc, argv, o->out->whoami);
}

static int status_help(const struct vmctl_command *cmd) {
        vmctl_usage(cmd, stdout);
        fputs("\nOptions:\n"
              "  --format FORMAT    text (default), json (as --json), or openmetrics: the\n"
              "                     counters and gauges for a node_exporter textfile collector\n", stdout);
        return EXIT_OK;
}

static void print_openmetrics(struct json_object *status) {
        if (vmctl_write_openmetrics(stdout, status) < 0)
                log_error_errno(-EIO, "Cannot write the metrics: %m");
}

/*
 * status [--format text|json|openmetrics]: --format, when given, wins over
 * --json; json is what --json prints, the reply as it came.
 */
/* --format's words: the output the reply goes through, and what prints its record (NULL: the output's own). */
static const struct status_format {
        const char *name;
        const struct vmctl_output *out;
        void (*print)(struct json_object *status);
} status_formats[] = {
        { "text", &vmctl_output_human, NULL },
        { "json", &vmctl_output_json, NULL },
        { "openmetrics", &vmctl_output_human, print_openmetrics },
};

static const struct status_format *status_format(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(status_formats); i++)
                if (strcmp(status_formats[i].name, name) == 0)
                        return &status_formats[i];
        log_error("Unknown format \"%s\": use text, json or openmetrics.", name);
        return NULL;
}

static int run_status(const struct vmctl_options *o, const struct vmctl_command *cmd, int argc, char **argv) {
        static const struct option options[] = {
                { "format", required_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' }, {},
        };
        struct vmctl_options lo = *o;
        const struct status_format *f = NULL;
        char *none[] = { argv[0], NULL };
        int c, status;

        optind = 0;
        while ((c = getopt_long(argc, argv, "f:h", options, NULL)) >= 0) {
                if (c == 'h')
                        return status_help(cmd);
                if (c != 'f')
                        return vmctl_usage(cmd, stderr);
                if (!(f = status_format(optarg)))
                        return EXIT_USAGE;
                lo.out = f->out;
        }
        if (optind < argc) {
                log_error("Unexpected argument \"%s\".", argv[optind]);
                return vmctl_usage(cmd, stderr);
        }
        status = run_query(&lo, cmd, 1, none, f && f->print ? f->print : lo.out->status);
        return status == EXIT_OK && ferror(stdout) ? EXIT_INTERNAL : status;
}

const struct vmctl_command vmctl_admin_commands[] = {
        { "whoami", "whoami", "Show who the daemon sees you as, and what the policy lets you do.", run_whoami },
        { "status", "status [--format text|json|openmetrics]",
          "Show the daemon's endpoints, sessions, operations in flight, database health and metrics.", run_status },
        {},
};
