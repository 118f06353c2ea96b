/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmctl log, verify, archive and report: run the helper vmctl-trail with the same
 * arguments (vmctl.h says why), as git runs its subcommands.  The helper
 * is $VMCTL_TRAIL_HELPER when set (the build tree's, for the tests), else
 * the one installed beside vmtraced's other programs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "macros.h"
#include "proto.h"
#include "vmctl.h"

static int run_helper(const struct vmctl_options *o _unused_, const struct vmctl_command *cmd _unused_, int argc,
                      char **argv) {
        const char *helper = getenv("VMCTL_TRAIL_HELPER");
        char **args = calloc((size_t) argc + 2, sizeof *args);

        if (!args)
                return EXIT_INTERNAL;
        if (!helper || !*helper)
                helper = VMCTL_TRAIL_HELPER;
        args[0] = (char *) helper;
        memcpy(args + 1, argv, (size_t) argc * sizeof *argv);
        execv(helper, args);
        log_error_errno(-errno, "Cannot run the trail reader %s: %m", helper);
        free(args);
        return EXIT_INTERNAL;
}

const struct vmctl_command vmctl_trail_commands[] = { VMCTL_TRAIL_COMMANDS(run_helper, run_helper, run_helper) };
const struct vmctl_command vmctl_report_commands[] = { VMCTL_REPORT_COMMANDS(run_helper) };
