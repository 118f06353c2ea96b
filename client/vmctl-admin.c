/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmctl's commands about the daemon and the operator rather than a VM:
 * whoami (who the daemon thinks you are, and what the policy lets you do)
 * and status (endpoints, sessions, operations in flight, database health).
 * The replies are shown by the chosen output (vmctl-output.h).
 */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "macros.h"
#include "proto.h"
#include "vmctl-conn.h"
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

static int run_status(const struct vmctl_options *o, const struct vmctl_command *cmd, int argc, char **argv) {
        return run_query(o, cmd, argc, argv, o->out->status);
}

const struct vmctl_command vmctl_admin_commands[] = {
        { "whoami", "whoami", "Show who the daemon sees you as, and what the policy lets you do.", run_whoami },
        { "status", "status", "Show the daemon's endpoints, sessions, operations in flight and database health.",
          run_status },
        {},
};
