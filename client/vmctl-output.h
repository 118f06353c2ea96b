/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * How vmctl shows what the daemon says, as a table of functions in the
 * manner of bgpctl's struct output: commands call o->out->status(...) and
 * the like, and never ask which form was chosen.  Two implementations:
 *
 *   vmctl_output_human  (vmctl-output.c)       text for people; progress as
 *                                              a bar or plain lines on stderr
 *   vmctl_output_json   (vmctl-output-json.c)  --json: the daemon's own
 *                                              lines, as they came
 *
 * Every reply passes through reply() as it came, before a command renders
 * it; interim messages (progress) pass through progress().  A new kind of
 * reply adds an entry here and one function to each implementation.
 */
#ifndef VMT_VMCTL_OUTPUT_H
#define VMT_VMCTL_OUTPUT_H

#include <json-c/json.h>
#include <stdio.h>

struct vmctl_wait;

struct vmctl_output {
        /* An interim message while waiting: msg parsed, line as it came (w has noted it already). */
        void (*progress)(struct vmctl_wait *w, struct json_object *msg, const char *line);
        /* The final reply as it came, before a command renders it. */
        void (*reply)(const char *line);
        /* A reply's "error" object, on stderr. */
        void (*error)(struct json_object *err);
        /* The trail row of an operation ("record"): on stdout after success, stderr after a failure. */
        void (*record)(FILE *f, struct json_object *rec);
        /* The records of whoami, status, list (its "vms") and show (its "vm"); NULL: none came. */
        void (*whoami)(struct json_object *w);
        void (*status)(struct json_object *s);
        void (*vm_list)(struct json_object *vms);
        void (*vm_show)(struct json_object *vm);
};

/* list --quiet: ENDPOINT:NAME per line, escaped as all human output is (shell completion reads it). */
void vmctl_print_vm_names(struct json_object *vms);

extern const struct vmctl_output vmctl_output_human;
extern const struct vmctl_output vmctl_output_json;

#endif
