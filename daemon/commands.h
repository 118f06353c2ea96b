/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every command of the control protocol, in one table: its handler, who may
 * run it, whether it is recorded in the trail, whether it still runs while
 * the daemon drains, the word policy rules use for it, the operation name of
 * its trail rows, and for VM operations its kind.  control.c dispatches
 * through this table and policy_gate.c authorises from it; the words rules
 * may name are derived from it (policy.c).  No other list of command names
 * exists, so a new command is one line here and cannot forget its check.
 */
#ifndef VMT_COMMANDS_H
#define VMT_COMMANDS_H

#include <stdbool.h>

#include "backend.h"

struct control_request;

/* Who may run a command, and where that is decided. */
enum command_access {
        COMMAND_OPEN,     /* anyone who may connect to the socket */
        COMMAND_POLICY,   /* the policy, at dispatch: the command has no target */
        COMMAND_TARGET,   /* the policy, once, by the handler when endpoint and VM are known: gate_target() */
        COMMAND_OWNER,    /* acts on what another request started; the handler asks gate_owner() */
};

/* The kind of a command that is not a VM operation. */
#define COMMAND_NO_OP _OP_MAX

struct command {
        const char *name;            /* on the wire */
        void (*handler)(struct control_request *req, void *userdata);
        enum command_access access;
        bool recorded;               /* running it writes a trail row (a refusal always does) */
        bool while_stopping;         /* still served while the daemon drains */
        const char *policy;          /* the word rules grant; NULL for OPEN and OWNER commands */
        const char *trail;           /* the operation name of its rows, DENIED ones too; NULL: never written */
        enum op_kind kind;           /* VM operations; COMMAND_NO_OP for the others */
};

/* The daemon's commands, ended by an entry with a NULL name. */
extern const struct command commands[];

#endif
