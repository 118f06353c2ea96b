/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Policy rules and the decision; see policy.h.  The gates that apply it to
 * requests are in policy_gate.c: this file is the pure part, which the
 * config parser needs to check the commands a rule names.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "control.h"
#include "macros.h"
#include "policy.h"
#include "util.h"

static bool list_has(char *const *list, const char *s) {
        for (; list && *list; list++)
                if (strcmp(*list, s) == 0)
                        return true;
        return false;
}

bool policy_command_valid(const char *name) {
        for (const struct command *cmd = commands; cmd->name; cmd++)
                if (cmd->policy && strcmp(cmd->policy, name) == 0)
                        return true;
        return false;
}

static void strv_free(char **l) {
        for (char **s = l; s && *s; s++)
                free(*s);
        free(l);
}

void policy_rule_free(struct policy_rule *r) {
        if (!r)
                return;
        free(r->name);
        strv_free(r->users);
        strv_free(r->groups);
        strv_free(r->commands);
        strv_free(r->vms);
        strv_free(r->endpoints);
        free(r);
}

void policy_rules_free(struct policy_rule *r) {
        while (r) {
                struct policy_rule *next = r->next;

                policy_rule_free(r);
                r = next;
        }
}

/* A name as written in a rule matches by name or by its decimal id. */
static bool id_matches(const char *entry, const char *name, unsigned id) {
        char num[16];

        snprintf(num, sizeof num, "%u", id);
        return strcmp(entry, name) == 0 || strcmp(entry, num) == 0;
}

static bool peer_in_group(const struct peer *p, const char *group) {
        for (int i = 0; i < p->n_groups; i++) {
                char name[64];

                gid_to_name(p->groups[i], name, sizeof name);
                if (id_matches(group, name, p->groups[i]))
                        return true;
        }
        return false;
}

bool policy_rule_applies(const struct policy_rule *r, const struct peer *p) {
        for (char **u = r->users; u && *u; u++)
                if (strcmp(*u, "*") == 0 || id_matches(*u, p->user, p->uid))
                        return true;
        for (char **g = r->groups; g && *g; g++)
                if (peer_in_group(p, *g))
                        return true;
        return false;
}

bool policy_is_admin(const char *admin_group, const struct peer *p) {
        return p->uid == 0 || (admin_group && peer_in_group(p, admin_group));
}

static bool rule_grants(const struct policy_rule *r, const char *command, const char *endpoint, const char *vm) {
        if (!list_has(r->commands, "*") && !list_has(r->commands, command))
                return false;
        if (endpoint && r->endpoints && !list_has(r->endpoints, endpoint))
                return false;
        if (vm && r->vms) {
                for (char **pat = r->vms; *pat; pat++)
                        if (fnmatch(*pat, vm, 0) == 0)
                                return true;
                return false;
        }
        return true;
}

/* The refusal: what was asked, and which of the user's rules did not cover it (considered). */
static void why_denied(const struct peer *p, const char *command, const char *endpoint, const char *vm,
                       const char *considered, char *why, size_t whylen) {
        snprintf(why, whylen, "default deny: no rule grants %s%s%s%s%s to %s (uid %u)%s%s%s", command,
                 vm || endpoint ? " of " : "", strempty(endpoint), endpoint && vm ? ":" : "", strempty(vm), p->user,
                 (unsigned) p->uid, *considered ? "; rules for this user that do not cover it: " : "", considered,
                 *considered ? "" : "; no rule names this user or its groups");
}

bool policy_check(const struct policy_rule *rules, const char *admin_group, const struct peer *p,
                  const char *command, const char *endpoint, const char *vm, char *why, size_t whylen) {
        char considered[256] = "";

        if (p->uid == 0) {
                snprintf(why, whylen, "root");
                return true;
        }
        if (admin_group && peer_in_group(p, admin_group)) {
                snprintf(why, whylen, "admin-group %s", admin_group);
                return true;
        }
        for (const struct policy_rule *r = rules; r; r = r->next) {
                if (!policy_rule_applies(r, p))
                        continue;
                if (rule_grants(r, command, endpoint, vm)) {
                        snprintf(why, whylen, "rule \"%s\"", r->name);
                        return true;
                }
                strbuf_append(considered, sizeof considered, ", ", "\"%s\"", r->name);
        }
        why_denied(p, command, endpoint, vm, considered, why, whylen);
        return false;
}

static void dump_list(FILE *f, const char *key, char *const *list) {
        if (!list)
                return;
        fprintf(f, "%s =", key);
        for (; *list; list++)
                fprintf(f, " %s", *list);
        fputc('\n', f);
}

void policy_rule_dump(const struct policy_rule *r, FILE *f) {
        fprintf(f, "[policy \"%s\"]\n", r->name);
        dump_list(f, "users", r->users);
        dump_list(f, "groups", r->groups);
        dump_list(f, "commands", r->commands);
        dump_list(f, "vms", r->vms);
        dump_list(f, "endpoints", r->endpoints);
}
