/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy gates (see policy.h): apply policy_check() to a request, as
 * its command's line in the command table says.  A refusal is written to
 * the trail (result DENIED, the reason in message) before it is answered,
 * so every refusal is on the record even if the client has already gone,
 * and it is logged with uid and pid.
 */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "commands.h"
#include "config.h"
#include "control.h"
#include "log.h"
#include "macros.h"
#include "manager.h"
#include "policy.h"
#include "pool.h"
#include "record.h"
#include "util.h"

/*
 * Write the DENIED row, log the refusal with uid and pid, and answer:
 * reply_message, or "permission denied: WHY" when it is NULL.
 */
static void deny(struct manager *m, struct control_request *req, const char *endpoint, const char *endpoint_url,
                 const char *vm, const char *why, const char *reply_message) {
        const struct command *cmd = control_request_command(req);
        const struct peer *p = control_request_peer(req);
        _cleanup_(json_object_putp) struct json_object *record = NULL;
        char message[768];
        struct audit_record rec = record_settled_by_peer(p, cmd->trail ? cmd->trail : cmd->name, AUDIT_RESULT_DENIED,
                                                         "PolicyDenied", why);

        rec.endpoint = endpoint;
        rec.endpoint_url = endpoint_url;
        rec.vm_name = vm;
        log_warning("Denied %s to uid=%u (%s) pid=%d loginuid=%" PRIu32 ": %s", cmd->name, (unsigned) p->uid, p->user,
                    (int) p->pid, p->loginuid, why);
        if (audit_insert(m->audit, &rec) < 0)
                log_error("DENIED row for %s by uid %u could not be written.", cmd->name, (unsigned) p->uid);
        else if (audit_get_json(m->audit, rec.id, &record) < 0)
                record = NULL;
        if (!reply_message) {
                snprintf(message, sizeof message, "permission denied: %s", why);
                reply_message = message;
        }
        control_reply(req, PROTO_E_DENIED, reply_message, record);
}

/* The policy's word on this request's command; why receives the reason either way. */
static bool decide(struct manager *m, const struct control_request *req, const char *endpoint, const char *vm,
                   char *why, size_t whylen) {
        const struct command *cmd = control_request_command(req);

        /* Only POLICY and TARGET commands have a policy word; asking for another is a bug, and refused. */
        if (!cmd->policy) {
                snprintf(why, whylen, "%s is not governed by the policy", cmd->name);
                return false;
        }
        return policy_check(m->config->rules, m->config->admin_group, control_request_peer(req), cmd->policy,
                            endpoint, vm, why, whylen);
}

bool gate_dispatch(struct control_request *req, void *userdata) {
        struct manager *m = userdata;
        const struct command *cmd = control_request_command(req);
        char why[512];

        if (m->stopping && !cmd->while_stopping) {
                control_reply(req, PROTO_E_UNAVAILABLE, "vmtraced is shutting down", NULL);
                return false;
        }
        /* A TARGET command decided here, without its VM, would be decided twice: its handler decides. */
        if (cmd->access != COMMAND_POLICY)
                return true;
        if (decide(m, req, NULL, NULL, why, sizeof why))
                return true;
        deny(m, req, NULL, NULL, NULL, why, NULL);
        return false;
}

bool gate_target(struct manager *m, struct control_request *req, const struct endpoint_config *ep, const char *vm) {
        const char *endpoint = ep ? ep->name : NULL;
        char why[512];

        if (decide(m, req, endpoint, vm, why, sizeof why))
                return true;
        deny(m, req, endpoint, ep ? ep->url : NULL, vm, why, NULL);
        return false;
}

bool gate_allows(struct manager *m, const struct control_request *req, const char *endpoint, const char *vm) {
        char why[512];

        return decide(m, req, endpoint, vm, why, sizeof why);
}

size_t gate_endpoints(struct manager *m, struct control_request *req, const char *vm, bool *mask) {
        size_t allowed = 0;
        char why[512];

        for (size_t i = 0; i < pool_set_size(m->pools); i++) {
                mask[i] = gate_allows(m, req, pool_endpoint(pool_set_nth(m->pools, i))->name, vm);
                allowed += mask[i];
        }
        if (allowed > 0)
                return allowed;
        /* The reason in the policy's words for "some endpoint"; a grant there can name no configured one. */
        if (decide(m, req, NULL, vm, why, sizeof why))
                snprintf(why, sizeof why, "no rule grants %s of %s on a configured endpoint",
                         control_request_command(req)->policy, vm);
        deny(m, req, NULL, NULL, vm, why, NULL);
        return 0;
}

bool gate_owner(struct manager *m, struct control_request *req, uid_t owner, const char *endpoint, const char *vm,
                const char *why, const char *reply_message) {
        const struct peer *p = control_request_peer(req);

        if (p->uid == owner || policy_is_admin(m->config->admin_group, p))
                return true;
        const struct endpoint_config *ep = endpoint ? config_find_endpoint(m->config, endpoint) : NULL;
        deny(m, req, endpoint, ep ? ep->url : NULL, vm, why, reply_message);
        return false;
}
