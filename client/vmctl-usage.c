/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A command's usage line, for vmctl and for the vmctl-trail helper alike. */
#include <stdio.h>

#include "proto.h"
#include "vmctl.h"

int vmctl_usage(const struct vmctl_command *cmd, FILE *f) {
        fprintf(f, "Usage: vmctl %s\n%s\n", cmd->usage, cmd->help);
        return f == stdout ? EXIT_OK : EXIT_USAGE;
}
