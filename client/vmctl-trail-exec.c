/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmctl log, verify, archive and report: run the helper vmctl-trail with the same
 * arguments (vmctl.h says why), as git runs its subcommands.  The helper
 * is $VMCTL_TRAIL_HELPER when set (the build tree's, for the tests), else
 * the one installed beside vmtraced's other programs.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "macros.h"
#include "proto.h"
#include "vmctl-output.h"
#include "vmctl.h"

static int run_helper(const struct vmctl_options *o, const struct vmctl_command *cmd, int argc, char **argv) {
        const char *helper = getenv("VMCTL_TRAIL_HELPER");
        char **args = calloc((size_t) argc + 3, sizeof *args);
        /* vmctl --json log: JSON Lines, as --format json; a --format given after it still wins. */
        bool json = o->out == &vmctl_output_json && strcmp(cmd->name, "log") == 0;
        int n = 0;

        if (!args)
                return EXIT_INTERNAL;
        if (!helper || !*helper)
                helper = VMCTL_TRAIL_HELPER;
        args[n++] = (char *) helper;
        args[n++] = argv[0];
        if (json)
                args[n++] = (char *) "--format=json";
        memcpy(args + n, argv + 1, (size_t) (argc - 1) * sizeof *argv);
        execv(helper, args);
        log_error_errno(-errno, "Cannot run the trail reader %s: %m", helper);
        free(args);
        return EXIT_INTERNAL;
}

const struct vmctl_command vmctl_trail_commands[] = { VMCTL_TRAIL_COMMANDS(run_helper, run_helper, run_helper, run_helper) };
const struct vmctl_command vmctl_report_commands[] = { VMCTL_REPORT_COMMANDS(run_helper) };
