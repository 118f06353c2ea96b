/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by all backends and by the trail logic above them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "backend.h"
#include "macros.h"

void op_error_set(struct op_error *e, const char *fault, const char *fmt, ...) {
        va_list ap;

        snprintf(e->fault, sizeof e->fault, "%s", strempty(fault));
        va_start(ap, fmt);
        vsnprintf(e->message, sizeof e->message, fmt, ap);
        va_end(ap);
}

void vm_target_clear(struct vm_target *t) {
        free(t->name);
        free(t->id);
        free(t->uuid);
        free(t->host);
        *t = (struct vm_target) {};
}

static const char *const trail_names[_OP_MAX] = {
        [OP_RENAME] = "RenameVM",
        [OP_CPU] = "ModifyCPU",
        [OP_MEMORY] = "ModifyMemory",
        [OP_DISK_GROW] = "ModifyDisk",
        [OP_DISK_ADD] = "ModifyDisk",
        [OP_START] = "StartVM",
        [OP_STOP] = "StopVM",
        [OP_STOP_GUEST] = "StopVM",
        [OP_RESET] = "ResetVM",
        [OP_SUSPEND] = "SuspendVM",
        [OP_CLONE] = "CloneVM",
        [OP_MIGRATE] = "MigrateVM",
        [OP_SNAPSHOT_CREATE] = "SnapshotCreate",
        [OP_SNAPSHOT_REVERT] = "SnapshotRevert",
        [OP_SNAPSHOT_REMOVE] = "SnapshotRemove",
        [OP_DESTROY] = "DestroyVM",
};

const char *op_kind_trail_name(enum op_kind k) {
        return k < _OP_MAX ? trail_names[k] : "Unknown";
}
