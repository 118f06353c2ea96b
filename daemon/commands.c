/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The command table; see commands.h.  The handlers here only adapt the
 * control socket's calling convention to each area's entry point: the work
 * is done in admin.c, operation.c and query.c.
 */
#include <stddef.h>

#include "admin.h"
#include "commands.h"
#include "control.h"
#include "macros.h"
#include "operation.h"
#include "query.h"

static void handle_ping(struct control_request *req, void *userdata _unused_) {
        control_reply(req, PROTO_OK, NULL, NULL);
}

/* Every VM operation: the kind comes from the table, the trail logic is operation.c's. */
static void handle_operation(struct control_request *req, void *userdata) {
        operation_submit(userdata, req, control_request_command(req)->kind);
}

static void handle_cancel(struct control_request *req, void *userdata) {
        operation_cancel(userdata, req);
}

static void handle_jobs(struct control_request *req, void *userdata) {
        operation_jobs(userdata, req);
}

static void handle_wait(struct control_request *req, void *userdata) {
        operation_wait(userdata, req);
}

static void handle_list(struct control_request *req, void *userdata) {
        query_list(userdata, req);
}

static void handle_show(struct control_request *req, void *userdata) {
        query_show(userdata, req);
}

#define OPEN COMMAND_OPEN
#define POLICY COMMAND_POLICY
#define TARGET COMMAND_TARGET
#define OWNER COMMAND_OWNER
#define NO_OP COMMAND_NO_OP

/*
 * "recorded" is whether a run writes a row; a refusal always does.  ping and
 * status still answer while the daemon drains, so an operator can watch it
 * stop.  "stop" with "guest": true becomes OP_STOP_GUEST in operation.c; the
 * policy word and the trail name are the same.
 */
const struct command commands[] = {
        /* name              handler           access  recorded stopping policy      trail              kind */
        { "ping",            handle_ping,      OPEN,   false,   true,    NULL,       NULL,              NO_OP },
        { "whoami",          admin_whoami,     OPEN,   false,   false,   NULL,       NULL,              NO_OP },
        { "status",          admin_status,     OPEN,   false,   true,    NULL,       NULL,              NO_OP },
        { "rename",          handle_operation, TARGET, true,    false,   "rename",   "RenameVM",        OP_RENAME },
        { "cpu",             handle_operation, TARGET, true,    false,   "cpu",      "ModifyCPU",       OP_CPU },
        { "memory",          handle_operation, TARGET, true,    false,   "memory",   "ModifyMemory",    OP_MEMORY },
        { "disk-grow",       handle_operation, TARGET, true,    false,   "disk",     "ModifyDisk",      OP_DISK_GROW },
        { "disk-add",        handle_operation, TARGET, true,    false,   "disk",     "ModifyDisk",      OP_DISK_ADD },
        { "start",           handle_operation, TARGET, true,    false,   "start",    "StartVM",         OP_START },
        { "stop",            handle_operation, TARGET, true,    false,   "stop",     "StopVM",          OP_STOP },
        { "reset",           handle_operation, TARGET, true,    false,   "reset",    "ResetVM",         OP_RESET },
        { "suspend",         handle_operation, TARGET, true,    false,   "suspend",  "SuspendVM",       OP_SUSPEND },
        { "clone",           handle_operation, TARGET, true,    false,   "clone",    "CloneVM",         OP_CLONE },
        { "migrate",         handle_operation, TARGET, true,    false,   "migrate",  "MigrateVM",       OP_MIGRATE },
        { "snapshot-create", handle_operation, TARGET, true,    false,   "snapshot", "SnapshotCreate",  OP_SNAPSHOT_CREATE },
        { "snapshot-revert", handle_operation, TARGET, true,    false,   "snapshot", "SnapshotRevert",  OP_SNAPSHOT_REVERT },
        { "snapshot-remove", handle_operation, TARGET, true,    false,   "snapshot", "SnapshotRemove",  OP_SNAPSHOT_REMOVE },
        { "destroy",         handle_operation, TARGET, true,    false,   "destroy",  "DestroyVM",       OP_DESTROY },
        { "cancel",          handle_cancel,    OWNER,  false,   false,   NULL,       "CancelOperation", NO_OP },
        { "jobs",            handle_jobs,      OPEN,   false,   true,    NULL,       NULL,              NO_OP },
        { "wait",            handle_wait,      OWNER,  false,   true,    NULL,       "WaitOperation",   NO_OP },
        { "list",            handle_list,      POLICY, false,   false,   "list",     "ListVMs",         NO_OP },
        { "show",            handle_show,      TARGET, false,   false,   "show",     "ShowVM",          NO_OP },
        {},
};
