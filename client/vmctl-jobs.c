/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmctl's commands for long work, after a Ctrl-C detached or from another
 * terminal: jobs (the operations in flight: trail id, who, what, where,
 * since when, state), wait ID (re-attach: progress, then the outcome, as
 * the operation itself would have shown it) and cancel ID (ask the task to
 * cancel; the row records who asked).  The daemon decides who may: the
 * operator who started it, root and the admin-group.
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macros.h"
#include "printable.h"
#include "proto.h"
#include "util.h"
#include "vmctl-conn.h"
#include "vmctl-output.h"
#include "vmctl-wait.h"
#include "vmctl.h"

/* ID as vmctl prints it: "42" or "#42". */
static int parse_trail_id(const char *arg, int64_t *id) {
        char *end;

        if (arg[0] == '#')
                arg++;
        errno = 0;
        long long n = strtoll(arg, &end, 10);
        if (errno || end == arg || *end || n <= 0) {
                log_error("Bad trail id \"%s\": the number vmctl and vmctl jobs show, e.g. 42.", arg);
                return -EINVAL;
        }
        *id = n;
        return 0;
}

static struct json_object *trail_id_args(int64_t id) {
        struct json_object *a = json_object_new_object();

        json_object_object_add(a, "trail_id", json_object_new_int64(id));
        return a;
}

/* What the job is doing, in words: "running 40%", "queued: waiting for trail #12", "cancel asked by ...". */
static void job_state(struct json_object *j, char *buf, size_t len) {
        const char *state = strempty(vmctl_jstr(j, "state"));

        snprintf(buf, len, "%s", state);
        if (vmctl_jint(j, "percent") >= 0)
                strbuf_append(buf, len, " ", "%" PRId64 "%%", vmctl_jint(j, "percent"));
        if (vmctl_jint(j, "waiting_for") > 0)
                strbuf_append(buf, len, ": ", "waiting for trail #%" PRId64 " on this VM",
                              vmctl_jint(j, "waiting_for"));
        if (vmctl_jstr(j, "cancel_asked_by"))
                strbuf_append(buf, len, "; ", "cancel asked by %s", vmctl_jstr(j, "cancel_asked_by"));
}

/* A cell, escaped as all human output is (the VM name is whatever the platform took). */
static void cell(const char *v, int width) {
        _cleanup_free_ char *e = printable_dup(strempty(v), strlen(strempty(v)), "");

        printf("%-*s ", width, e ? e : "");
}

static void print_jobs(struct json_object *jobs) {
        char since[32], state[256];
        size_t n = json_object_is_type(jobs, json_type_array) ? json_object_array_length(jobs) : 0;

        if (n == 0) {
                puts("No operation in flight.");
                return;
        }
        printf("%-7s %-12s %-15s %-24s %-10s %-8s %s\n", "ID", "USER", "OPERATION", "VM", "ENDPOINT", "SINCE",
               "STATE");
        for (size_t i = 0; i < n; i++) {
                struct json_object *j = json_object_array_get_idx(jobs, i);
                vmctl_format_elapsed(vmctl_jint(j, "elapsed_ms"), since, sizeof since);
                job_state(j, state, sizeof state);
                printf("%-7" PRId64 " ", vmctl_jint(j, "trail_id"));
                cell(vmctl_jstr(j, "user"), 12);
                cell(vmctl_jstr(j, "operation"), 15);
                cell(vmctl_jstr(j, "vm"), 24);
                cell(vmctl_jstr(j, "endpoint"), 10);
                printf("%-8s ", since);
                cell(state, 0);
                putchar('\n');
        }
}

static int run_jobs(const struct vmctl_options *o, const struct vmctl_command *cmd, int argc, char **argv) {
        _cleanup_(json_object_putp) struct json_object *reply = NULL;
        struct json_object *rec, *jobs, *err;
        int status;

        if (!vmctl_positional(cmd, argc, argv, 0, &status))
                return status;
        status = vmctl_exchange(o, "jobs", json_object_new_object(), &reply);
        if (status != 0 || !reply)
                return status ? status : EXIT_INTERNAL;
        if (json_object_object_get_ex(reply, "error", &err)) {
                o->out->error(err);
                return vmctl_reply_status(reply);
        }
        /* --json printed the reply as it came. */
        if (o->out == &vmctl_output_human && json_object_object_get_ex(reply, "record", &rec) &&
            json_object_object_get_ex(rec, "jobs", &jobs))
                print_jobs(jobs);
        return EXIT_OK;
}

/* The one argument of wait and cancel: -1 to go on with *id, or the exit status. */
static int trail_id_arg(const struct vmctl_command *cmd, int argc, char **argv, int64_t *id) {
        char **pos;
        int status;

        if (!(pos = vmctl_positional(cmd, argc, argv, 1, &status)))
                return status;
        return parse_trail_id(pos[0], id) < 0 ? EXIT_USAGE : -1;
}

static int run_wait(const struct vmctl_options *o, const struct vmctl_command *cmd, int argc, char **argv) {
        int64_t id;
        int status = trail_id_arg(cmd, argc, argv, &id);

        if (status >= 0)
                return status;
        /* As the operation itself: progress, Ctrl-C to cancel or detach, then its row and exit status. */
        return vmctl_call(o, "wait", trail_id_args(id));
}

static int run_cancel(const struct vmctl_options *o, const struct vmctl_command *cmd, int argc, char **argv) {
        _cleanup_(json_object_putp) struct json_object *reply = NULL;
        struct json_object *err;
        int64_t id;
        int status = trail_id_arg(cmd, argc, argv, &id);

        if (status >= 0)
                return status;
        status = vmctl_exchange(o, "cancel", trail_id_args(id), &reply);
        if (status != 0 || !reply)
                return status ? status : EXIT_INTERNAL;
        if (json_object_object_get_ex(reply, "error", &err)) {
                o->out->error(err);
                return vmctl_reply_status(reply);
        }
        if (o->out == &vmctl_output_human)
                printf("Cancel asked for trail #%" PRId64 "; \"vmctl wait %" PRId64 "\" shows the outcome.\n", id, id);
        return EXIT_OK;
}

const struct vmctl_command vmctl_jobs_commands[] = {
        { "jobs", "jobs", "List the operations in flight: trail id, who, what, since when, state.", run_jobs },
        { "wait", "wait ID", "Re-attach to operation trail #ID: its progress, then its outcome.", run_wait },
        { "cancel", "cancel ID", "Ask operation trail #ID to cancel its task; the row records who asked.",
          run_cancel },
        {},
};
