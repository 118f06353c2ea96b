/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy gates (see policy.h): apply policy_check() to a request.  A
 * refusal is written to the trail (result DENIED, the reason in message)
 * before it is answered, so every refusal is on the record even if the
 * client has already gone, and it is logged with uid and pid.
 */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "config.h"
#include "control.h"
#include "log.h"
#include "macros.h"
#include "manager.h"
#include "policy.h"
#include "util.h"

/* Write the DENIED row, log the refusal with uid and pid, and answer. */
static void deny(struct manager *m, struct control_request *req, const char *operation, const char *command,
                 const struct endpoint_config *ep, const char *vm, const char *why) {
        const struct peer *p = control_request_peer(req);
        _cleanup_(json_object_putp) struct json_object *record = NULL;
        char message[768];
        struct audit_record rec = {
                .start_ms = now_ms(),
                .operation = operation,
                .uid = p->uid,
                .gid = p->gid,
                .pid = p->pid,
                .user = p->user,
                .login_uid = peer_login_uid(p),
                .session_id = peer_session_id(p),
                .endpoint = ep ? ep->name : NULL,
                .endpoint_url = ep ? ep->url : NULL,
                .vm_name = vm,
                .result = AUDIT_RESULT_DENIED,
                .fault = "PolicyDenied",
                .message = why,
        };
        log_warning("Denied %s to uid=%u (%s) pid=%d loginuid=%" PRIu32 ": %s", command, (unsigned) p->uid, p->user,
                    (int) p->pid, p->loginuid, why);
        if (audit_insert(m->audit, &rec) < 0)
                log_error("DENIED row for %s by uid %u could not be written.", command, (unsigned) p->uid);
        else if (audit_get_json(m->audit, rec.id, &record) < 0)
                record = NULL;
        snprintf(message, sizeof message, "permission denied: %s", why);
        control_reply(req, PROTO_E_DENIED, message, record);
}

/*
 * Commands the policy does not govern: ping, whoami and status touch no
 * platform; cancel (of the VM operations area) only ever applies to the
 * caller's own operation in flight, which that command checks itself.
 */
static bool command_is_open(const char *command) {
        static const char *const open_commands[] = { "ping", "whoami", "status", "cancel" };

        for (size_t i = 0; i < ELEMENTSOF(open_commands); i++)
                if (strcmp(command, open_commands[i]) == 0)
                        return true;
        return false;
}

bool policy_admit_command(struct manager *m, struct control_request *req, const char *command) {
        char pc[64], why[512];

        if (command_is_open(command))
                return true;
        policy_command_for_wire(command, pc, sizeof pc);
        if (policy_check(m->config->rules, m->config->admin_group, control_request_peer(req), pc, NULL, NULL, why,
                         sizeof why))
                return true;
        deny(m, req, command, pc, NULL, NULL, why);
        return false;
}

bool policy_admit_target(struct manager *m, struct control_request *req, const char *command, const char *operation,
                         const struct endpoint_config *ep, const char *vm) {
        char why[512];

        if (policy_check(m->config->rules, m->config->admin_group, control_request_peer(req), command,
                         ep ? ep->name : NULL, vm, why, sizeof why))
                return true;
        deny(m, req, operation, command, ep, vm, why);
        return false;
}

bool policy_admit_operation(struct manager *m, struct control_request *req, enum op_kind kind,
                            const struct endpoint_config *ep, const char *vm) {
        return policy_admit_target(m, req, policy_command_for_op(kind), op_kind_trail_name(kind), ep, vm);
}

bool policy_allows(struct manager *m, const struct control_request *req, const char *command, const char *endpoint,
                   const char *vm) {
        char why[512];

        return policy_check(m->config->rules, m->config->admin_group, control_request_peer(req), command, endpoint, vm,
                            why, sizeof why);
}
