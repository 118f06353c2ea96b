/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmctl's commands about the daemon and the operator rather than a VM:
 * whoami (who the daemon thinks you are, and what the policy lets you do)
 * and status (endpoints, sessions, operations in flight, database health).
 */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "macros.h"
#include "proto.h"
#include "vmctl.h"

static int64_t jint(struct json_object *o, const char *key) {
        struct json_object *v;
        return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;
}

static struct json_object *jget(struct json_object *o, const char *key) {
        struct json_object *v = NULL;
        json_object_object_get_ex(o, key, &v);
        return v;
}

/* "a b c", or dflt for JSON null (no restriction). */
static void print_words(struct json_object *a, const char *dflt) {
        if (!a || !json_object_is_type(a, json_type_array)) {
                fputs(dflt, stdout);
                return;
        }
        for (size_t i = 0; i < json_object_array_length(a); i++)
                printf("%s%s", i ? " " : "", json_object_get_string(json_object_array_get_idx(a, i)));
}

static void print_id(const char *label, struct json_object *o, const char *key, const char *name) {
        if (!jget(o, key))
                printf("%-12s unset\n", label);
        else if (name)
                printf("%-12s %" PRId64 " (%s)\n", label, jint(o, key), name);
        else
                printf("%-12s %" PRId64 "\n", label, jint(o, key));
}

static void print_whoami(struct json_object *w) {
        struct json_object *groups = jget(w, "groups"), *rules = jget(w, "rules");

        printf("%-12s %" PRId64 " (%s)\n", "uid:", jint(w, "uid"), strempty(vmctl_jstr(w, "user")));
        printf("%-12s %" PRId64 " (%s)\n", "gid:", jint(w, "gid"), strempty(vmctl_jstr(w, "group")));
        printf("%-12s", "groups:");
        for (size_t i = 0; groups && i < json_object_array_length(groups); i++) {
                struct json_object *g = json_object_array_get_idx(groups, i);
                printf(" %" PRId64 "(%s)", jint(g, "gid"), strempty(vmctl_jstr(g, "name")));
        }
        printf("\n%-12s %" PRId64 "\n", "pid:", jint(w, "pid"));
        print_id("login uid:", w, "loginuid", vmctl_jstr(w, "login_user"));
        print_id("session:", w, "sessionid", NULL);
        if (json_object_get_boolean(jget(w, "admin"))) {
                printf("%-12s everything (root or admin-group)\n", "may:");
                return;
        }
        if (!rules || json_object_array_length(rules) == 0) {
                printf("%-12s nothing but ping, whoami and status: no policy rule names this user or its groups\n",
                       "may:");
                return;
        }
        printf("may:\n");
        for (size_t i = 0; i < json_object_array_length(rules); i++) {
                struct json_object *r = json_object_array_get_idx(rules, i);
                printf("  rule \"%s\": ", strempty(vmctl_jstr(r, "name")));
                print_words(jget(r, "commands"), "*");
                printf(" on VMs ");
                print_words(jget(r, "vms"), "*");
                printf(" at endpoints ");
                print_words(jget(r, "endpoints"), "*");
                putchar('\n');
        }
}

static void print_status(struct json_object *s) {
        struct json_object *eps = jget(s, "endpoints");

        printf("%-22s %s\n", "vmtraced:", strempty(vmctl_jstr(s, "version")));
        printf("%-22s", "endpoints:");
        for (size_t i = 0; eps && i < json_object_array_length(eps); i++) {
                struct json_object *e = json_object_array_get_idx(eps, i);
                printf(" %s (%s, %" PRId64 " sessions)", strempty(vmctl_jstr(e, "name")), strempty(vmctl_jstr(e, "url")),
                       jint(e, "pool_size"));
        }
        printf("%s\n", eps && json_object_array_length(eps) ? "" : " none");
        printf("%-22s %" PRId64 " of %" PRId64 " logged in\n", "sessions:", jint(s, "sessions_logged_in"),
               jint(s, "sessions"));
        printf("%-22s %" PRId64 " (at most %" PRId64 ")\n", "operations in flight:", jint(s, "operations_in_flight"),
               jint(s, "max_operations"));
        printf("%-22s %" PRId64 "\n", "connections:", jint(s, "connections"));
        printf("%-22s %s: %s\n", "database:", strempty(vmctl_jstr(s, "database")),
               strempty(vmctl_jstr(s, "database_health")));
        if (json_object_get_boolean(jget(s, "stopping")))
                printf("%-22s shutting down\n", "state:");
}

/* One request; the reply's "record" in *record (errors are printed here). */
static int vmctl_query(const struct vmctl_options *o, const char *command, struct json_object *args,
                       struct json_object **record) {
        _cleanup_(json_object_putp) struct json_object *reply = NULL;
        struct json_object *err, *rec;

        int r = vmctl_exchange(o, command, args, &reply);
        if (r != 0 || !reply)
                return r ? r : EXIT_INTERNAL;
        if (json_object_object_get_ex(reply, "error", &err)) {
                if (!o->json)
                        fprintf(stderr, "vmctl: %s\n", strempty(vmctl_jstr(err, "message")));
                return vmctl_reply_status(reply);
        }
        *record = json_object_object_get_ex(reply, "record", &rec) ? json_object_get(rec) : NULL;
        return EXIT_OK;
}

static int run_query(const struct vmctl_options *o, const struct vmctl_command *cmd, int argc, char **argv,
                     void (*print)(struct json_object *)) {
        _cleanup_(json_object_putp) struct json_object *rec = NULL;
        int status;

        if (!vmctl_positional(cmd, argc, argv, 0, &status))
                return status;
        status = vmctl_query(o, cmd->name, json_object_new_object(), &rec);
        if (status == EXIT_OK && !o->json && rec)
                print(rec);
        return status;
}

static int run_whoami(const struct vmctl_options *o, const struct vmctl_command *cmd, int argc, char **argv) {
        return run_query(o, cmd, argc, argv, print_whoami);
}

static int run_status(const struct vmctl_options *o, const struct vmctl_command *cmd, int argc, char **argv) {
        return run_query(o, cmd, argc, argv, print_status);
}

const struct vmctl_command vmctl_admin_commands[] = {
        { "whoami", "whoami", "Show who the daemon sees you as, and what the policy lets you do.", run_whoami },
        { "status", "status", "Show the daemon's endpoints, sessions, operations in flight and database health.",
          run_status },
        {},
};
