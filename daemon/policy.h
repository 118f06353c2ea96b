/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Who may do what.  The configuration's [policy "NAME"] sections grant
 * commands to users and groups, optionally only on VMs whose names match
 * fnmatch(3) patterns and only on some endpoints.  Rules only ever grant:
 * what no rule grants is refused ("default deny"), except for root and the
 * members of the configured admin-group, who may do everything.
 *
 * policy_check() is the pure decision (table-driven unit tests); the gates
 * (policy_gate.c) apply it to a request as its command's line in the
 * command table (commands.h) says, once per request: gate_dispatch() is
 * control.c's authorizer and decides what can be decided at dispatch;
 * commands that act on a VM are decided by their handler through
 * gate_target() once the endpoint and the VM are known, and cancel through
 * gate_owner().  A refusal becomes a DENIED trail row, a log line with uid
 * and pid, and a PROTO_E_DENIED reply naming the reason; all of that comes
 * before anything is changed on a platform.
 */
#ifndef VMT_POLICY_H
#define VMT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

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

/* Is name a word rules may grant (besides "*")?  The words are the command table's policy column. */
bool policy_command_valid(const char *name);

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
 * The gates.  Those that take a non-const req answer it on refusal: they
 * write the DENIED row (operation: the command's trail name; fault
 * PolicyDenied; message: why), log it with uid and pid, reply
 * PROTO_E_DENIED, and return false; req is gone then.  They return true,
 * and leave req alone, when it may go on.
 */

/*
 * control.c's authorizer (control_set_authorizer(); userdata is the
 * manager), the same for every command: while the daemon stops only
 * commands marked while_stopping pass (the others get PROTO_E_UNAVAILABLE);
 * OPEN commands pass; POLICY commands are decided now; TARGET and OWNER
 * commands pass on to their handler, which decides with gate_target() or
 * gate_owner().
 */
bool gate_dispatch(struct control_request *req, void *userdata);

/*
 * TARGET commands: the one decision, once the endpoint (NULL when none is
 * configured or known) and the VM are known.  The reply says "permission
 * denied: WHY" and carries the DENIED row.
 */
bool gate_target(struct manager *m, struct control_request *req, const struct endpoint_config *ep, const char *vm);

/*
 * No row, no answer: may this request's command run on vm at endpoint
 * (either may be NULL: "some")?  For filtering what list shows, and for
 * picking the endpoints a look-up may touch.
 */
bool gate_allows(struct manager *m, const struct control_request *req, const char *endpoint, const char *vm);

/*
 * Before a look-up over several endpoints: which ones may this request
 * touch for vm (one bool per pool of the set, in configuration order)?
 * Returns how many.  The look-up asks only those, so the policy decides
 * once and a refused operator learns nothing of the others.  None: the
 * refusal is recorded and answered as by gate_target(), and req is gone.
 */
size_t gate_endpoints(struct manager *m, struct control_request *req, const char *vm, bool *mask);

/*
 * OWNER commands: acting on something another request started, which uid
 * owner began on vm at endpoint.  Allowed for root, members of
 * admin-group, and owner itself.  A refusal's row names vm and endpoint,
 * with why as its message; the reply is PROTO_E_DENIED with reply_message,
 * which need not say whose it is (the row does).
 */
bool gate_owner(struct manager *m, struct control_request *req, uid_t owner, const char *endpoint, const char *vm,
                const char *why, const char *reply_message);

/* Print rule as it would be written in the configuration. */
void policy_rule_dump(const struct policy_rule *r, FILE *f);

#endif
