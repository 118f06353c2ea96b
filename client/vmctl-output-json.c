/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmctl --json (see vmctl-output.h): the daemon's replies are JSON already,
 * so they are printed as they came, byte for byte: the reply on stdout,
 * which then holds that one line alone, and interim messages on stderr as
 * JSON Lines.  Rendering a reply's parts adds nothing to the line that
 * holds them all.
 */
#include <stdio.h>

#include "macros.h"
#include "vmctl-output.h"

static void json_progress(struct vmctl_wait *w _unused_, struct json_object *msg _unused_, const char *line) {
        fprintf(stderr, "%s\n", line);
}

static void json_reply(const char *line) {
        printf("%s\n", line);
}

/* A part of the reply: already printed with it. */
static void json_part(struct json_object *o _unused_) {
}

static void json_record(FILE *f _unused_, struct json_object *rec _unused_) {
}

const struct vmctl_output vmctl_output_json = {
        .progress = json_progress,
        .reply = json_reply,
        .error = json_part,
        .record = json_record,
        .whoami = json_part,
        .status = json_part,
        .vm_list = json_part,
        .vm_show = json_part,
};
