/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Who may do what.  The configuration's [policy "NAME"] sections grant
 * commands to users and groups, optionally only on VMs whose names match
 * fnmatch(3) patterns and only on some endpoints.  Rules only ever grant:
 * what no rule grants is refused ("default deny"), except for root and the
 * members of the configured admin-group, who may do everything.
 *
 * policy_check() is the pure decision (table-driven unit tests); the
 * policy_admit*() gates apply it to a request, and a refusal becomes a
 * DENIED trail row and a PROTO_E_DENIED reply naming the reason.  ping,
 * whoami and status are open to everyone who may connect to the socket,
 * and so is cancel, which only acts on the caller's own operation.  Every
 * request passes a gate before anything reaches a platform: control.c
 * checks the command itself at dispatch (see control_set_authorizer()),
 * operation.c checks the exact VM and endpoint once it has parsed them.
 */
#ifndef VMT_POLICY_H
#define VMT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "backend.h"

struct control_request;
struct endpoint_config;
struct manager;
struct peer;

struct policy_rule {
        char *name;          /* from [policy "NAME"] */
        unsigned line;       /* of the section header, for messages */
        char **users;        /* NULL-terminated; names, decimal uids, or "*" */
        char **groups;       /* NULL-terminated; names or decimal gids */
        char **commands;     /* NULL-terminated; policy command names or "*" */
        char **vms;          /* NULL-terminated fnmatch patterns; NULL: every VM */
        char **endpoints;    /* NULL-terminated endpoint names; NULL: every endpoint */
        struct policy_rule *next;
};

/* The command names rules may use (besides "*"), NULL-terminated. */
extern const char *const policy_commands[];
bool policy_command_valid(const char *name);
/* The policy command an operation counts as: OP_SNAPSHOT_* are "snapshot", and so on. */
const char *policy_command_for_op(enum op_kind kind);
/* The policy command of a wire command: the part before the first '-' ("snapshot-create"). */
void policy_command_for_wire(const char *wire, char *buf, size_t len);

void policy_rule_free(struct policy_rule *r);
void policy_rules_free(struct policy_rule *r);

/* Does rule apply to peer at all (names the user or one of its groups)? */
bool policy_rule_applies(const struct policy_rule *r, const struct peer *p);

/*
 * May peer run command on vm at endpoint?  vm and endpoint may be NULL
 * for "some VM / some endpoint": the check at dispatch, before they are
 * known.  Returns true when allowed.  why receives the reason either way:
 * the granting rule ("rule \"vmops\"", "root", "admin-group wheel") or the
 * refusal ("default deny: ...").
 */
bool policy_check(const struct policy_rule *rules, const char *admin_group, const struct peer *p,
                  const char *command, const char *endpoint, const char *vm, char *why, size_t whylen);

/* Is peer root or in admin_group? */
bool policy_is_admin(const char *admin_group, const struct peer *p);

/*
 * The gates.  Return true when the request may go on; otherwise the
 * refusal has been written to the trail and answered, and req is gone.
 */
bool policy_admit_command(struct manager *m, struct control_request *req, const char *command);
/* The same for a read (show) or any command, once its endpoint and VM are known; operation names the DENIED row. */
bool policy_admit_target(struct manager *m, struct control_request *req, const char *command, const char *operation,
                         const struct endpoint_config *ep, const char *vm);
/* Whether the policy lets the requester run command on vm at endpoint; no row, no answer (for filtering lists). */
bool policy_allows(struct manager *m, const struct control_request *req, const char *command, const char *endpoint,
                   const char *vm);
bool policy_admit_operation(struct manager *m, struct control_request *req, enum op_kind kind,
                            const struct endpoint_config *endpoint, const char *vm);

/* Print rule as it would be written in the configuration. */
void policy_rule_dump(const struct policy_rule *r, FILE *f);

#endif
