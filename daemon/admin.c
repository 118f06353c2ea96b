/* SPDX-License-Identifier: GPL-2.0-or-later */
/* whoami and status; see admin.h.  Their answer travels in the reply's "record" member. */
#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>

#include "admin.h"
#include "audit.h"
#include "config.h"
#include "control.h"
#include "forward.h"
#include "health.h"
#include "watch.h"
#include "macros.h"
#include "manager.h"
#include "policy.h"
#include "pool.h"
#include "util.h"

static struct json_object *strv_json(char *const *l) {
        if (!l)
                return NULL;   /* JSON null: no restriction */
        struct json_object *a = json_object_new_array();
        for (; *l; l++)
                json_object_array_add(a, json_object_new_string(*l));
        return a;
}

/* An audit id, or null when the process has none. */
static struct json_object *proc_id_json(uint32_t v) {
        return v == PEER_UNSET ? NULL : json_object_new_int64(v);
}

void admin_whoami(struct control_request *req, void *userdata) {
        struct manager *m = userdata;
        const struct peer *p = control_request_peer(req);
        struct json_object *o = json_object_new_object(), *groups = json_object_new_array(),
                           *rules = json_object_new_array();
        char name[64];

        json_object_object_add(o, "uid", json_object_new_int64(p->uid));
        json_object_object_add(o, "user", json_object_new_string(p->user));
        json_object_object_add(o, "gid", json_object_new_int64(p->gid));
        json_object_object_add(o, "group", json_object_new_string(p->group));
        for (int i = 0; i < p->n_groups; i++) {
                struct json_object *g = json_object_new_object();
                gid_to_name(p->groups[i], name, sizeof name);
                json_object_object_add(g, "gid", json_object_new_int64(p->groups[i]));
                json_object_object_add(g, "name", json_object_new_string(name));
                json_object_array_add(groups, g);
        }
        json_object_object_add(o, "groups", groups);
        json_object_object_add(o, "pid", json_object_new_int64(p->pid));
        json_object_object_add(o, "loginuid", proc_id_json(p->loginuid));
        if (p->loginuid != PEER_UNSET) {
                uid_to_name(p->loginuid, name, sizeof name);
                json_object_object_add(o, "login_user", json_object_new_string(name));
        }
        json_object_object_add(o, "sessionid", proc_id_json(p->sessionid));
        json_object_object_add(o, "admin", json_object_new_boolean(policy_is_admin(m->config->admin_group, p)));
        for (const struct policy_rule *r = m->config->rules; r; r = r->next) {
                if (!policy_rule_applies(r, p))
                        continue;
                struct json_object *j = json_object_new_object();
                json_object_object_add(j, "name", json_object_new_string(r->name));
                json_object_object_add(j, "commands", strv_json(r->commands));
                json_object_object_add(j, "vms", strv_json(r->vms));
                json_object_object_add(j, "endpoints", strv_json(r->endpoints));
                json_object_array_add(rules, j);
        }
        json_object_object_add(o, "rules", rules);
        control_reply(req, PROTO_OK, NULL, o);
        json_object_put(o);
}

void admin_status(struct control_request *req, void *userdata) {
        struct manager *m = userdata;
        struct json_object *o = json_object_new_object(), *eps = json_object_new_array();
        unsigned sessions, logged_in, busy;
        char health[256];

        for (const struct endpoint_config *e = m->config->endpoints; e; e = e->next) {
                struct json_object *j = json_object_new_object();
                json_object_object_add(j, "name", json_object_new_string(e->name));
                json_object_object_add(j, "url", json_object_new_string(e->url));
                json_object_object_add(j, "pool_size", json_object_new_int64(e->pool_size));
                json_object_object_add(j, "watched", json_object_new_boolean(watch_set_watches(m->watch, e)));
                int64_t heard = e->backend->mirror_heard_ms ? e->backend->mirror_heard_ms(e) : 0;
                if (heard > 0)
                        json_object_object_add(j, "mirror_age_ms", json_object_new_int64(now_ms() - heard));
                json_object_array_add(eps, j);
        }
        pool_set_counts(m->pools, &sessions, &logged_in, &busy);
        json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
        json_object_object_add(o, "endpoints", eps);
        json_object_object_add(o, "sessions", json_object_new_int64(sessions));
        json_object_object_add(o, "sessions_logged_in", json_object_new_int64(logged_in));
        json_object_object_add(o, "operations_in_flight", json_object_new_int64(m->inflight));
        json_object_object_add(o, "jobs_busy", json_object_new_int64(busy));
        json_object_object_add(o, "connections", json_object_new_int64(control_connection_count(m->control)));
        json_object_object_add(o, "max_operations", json_object_new_int64(m->config->limits.max_operations));
        json_object_object_add(o, "database", json_object_new_string(m->config->database));
        int64_t checked_ms;
        /* Until the first check has ended nothing is known to be wrong: no alert for every restart of a big trail. */
        bool healthy = health_get(m->health, health, sizeof health, &checked_ms) != -EIO;
        json_object_object_add(o, "database_ok", json_object_new_boolean(healthy));
        json_object_object_add(o, "database_health", json_object_new_string(health));
        if (checked_ms > 0)
                json_object_object_add(o, "database_checked_ms", json_object_new_int64(checked_ms));
        json_object_object_add(o, "forwards", forward_set_status(m->forwards, audit_last_seq(m->audit)));
        json_object_object_add(o, "metrics", audit_metrics_json(m->audit));
        json_object_object_add(o, "post_event_failures", json_object_new_int64(atomic_load(&m->post_event_failures)));
        json_object_object_add(o, "stopping", json_object_new_boolean(m->stopping));
        control_reply(req, PROTO_OK, NULL, o);
        json_object_put(o);
}
