/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmctl's output for people (see vmctl-output.h): an operation's trail row
 * in two lines, whoami and status as labelled lines, list as a table, show
 * as one line per field, errors as "vmctl: message" on stderr, and
 * progress as vmctl-wait.c draws it.
 *
 * Every string in a reply, and every key, is the platform's or the
 * daemon's word, a VM name among them, which a plain rename can make
 * anything.  So no renderer here sees a reply as it came: each entry point
 * hands it a copy with all of them escaped (shown()), and a field or a
 * renderer added later is covered without a thought.  --json
 * (vmctl-output-json.c) keeps the daemon's lines as they came.
 */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "macros.h"
#include "printable.h"
#include "proto.h"
#include "vmctl-conn.h"
#include "util.h"
#include "vmctl-output.h"
#include "vmctl-wait.h"

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
        if (!vmctl_jget(o, key))
                printf("%-12s unset\n", label);
        else if (name)
                printf("%-12s %" PRId64 " (%s)\n", label, vmctl_jint(o, key), name);
        else
                printf("%-12s %" PRId64 "\n", label, vmctl_jint(o, key));
}

static void print_whoami(struct json_object *w) {
        struct json_object *groups = vmctl_jget(w, "groups"), *rules = vmctl_jget(w, "rules");

        if (!w)
                return;

        printf("%-12s %" PRId64 " (%s)\n", "uid:", vmctl_jint(w, "uid"), strempty(vmctl_jstr(w, "user")));
        printf("%-12s %" PRId64 " (%s)\n", "gid:", vmctl_jint(w, "gid"), strempty(vmctl_jstr(w, "group")));
        printf("%-12s", "groups:");
        for (size_t i = 0; groups && i < json_object_array_length(groups); i++) {
                struct json_object *g = json_object_array_get_idx(groups, i);
                printf(" %" PRId64 "(%s)", vmctl_jint(g, "gid"), strempty(vmctl_jstr(g, "name")));
        }
        printf("\n%-12s %" PRId64 "\n", "pid:", vmctl_jint(w, "pid"));
        print_id("login uid:", w, "loginuid", vmctl_jstr(w, "login_user"));
        print_id("session:", w, "sessionid", NULL);
        if (json_object_get_boolean(vmctl_jget(w, "admin"))) {
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
                print_words(vmctl_jget(r, "commands"), "*");
                printf(" on VMs ");
                print_words(vmctl_jget(r, "vms"), "*");
                printf(" at endpoints ");
                print_words(vmctl_jget(r, "endpoints"), "*");
                putchar('\n');
        }
}

/* One line per [forward] target: state, acknowledged seq, backlog and the age of its oldest row. */
static void print_forwards(struct json_object *fws) {
        for (size_t i = 0; fws && i < json_object_array_length(fws); i++) {
                struct json_object *f = json_object_array_get_idx(fws, i);
                struct json_object *age = vmctl_jget(f, "oldest_unacked_age_s");

                printf("%-22s %s (%s): %s, acked seq %" PRId64 ", backlog %" PRId64 " rows", "forward:",
                       strempty(vmctl_jstr(f, "name")), strempty(vmctl_jstr(f, "target")),
                       strempty(vmctl_jstr(f, "state")), vmctl_jint(f, "acked_seq"), vmctl_jint(f, "backlog"));
                if (age)
                        printf(", oldest unacknowledged %" PRId64 "s old", json_object_get_int64(age));
                if (vmctl_jstr(f, "error"))
                        printf(" (%s)", vmctl_jstr(f, "error"));
                putchar('\n');
        }
}

static void print_status(struct json_object *s) {
        struct json_object *eps = vmctl_jget(s, "endpoints");

        if (!s)
                return;

        printf("%-22s %s\n", "vmtraced:", strempty(vmctl_jstr(s, "version")));
        printf("%-22s", "endpoints:");
        for (size_t i = 0; eps && i < json_object_array_length(eps); i++) {
                struct json_object *e = json_object_array_get_idx(eps, i);
                printf(" %s (%s, %" PRId64 " sessions%s)", strempty(vmctl_jstr(e, "name")),
                       strempty(vmctl_jstr(e, "url")), vmctl_jint(e, "pool_size"),
                       json_object_get_boolean(vmctl_jget(e, "watched")) ? ", watched" : "");
        }
        printf("%s\n", eps && json_object_array_length(eps) ? "" : " none");
        printf("%-22s %" PRId64 " of %" PRId64 " logged in\n", "sessions:", vmctl_jint(s, "sessions_logged_in"),
               vmctl_jint(s, "sessions"));
        printf("%-22s %" PRId64 " (at most %" PRId64 ")\n", "operations in flight:",
               vmctl_jint(s, "operations_in_flight"), vmctl_jint(s, "max_operations"));
        printf("%-22s %" PRId64 "\n", "connections:", vmctl_jint(s, "connections"));
        printf("%-22s %s: %s", "database:", strempty(vmctl_jstr(s, "database")),
               strempty(vmctl_jstr(s, "database_health")));
        /* The check runs apart from status (it reads every page): how old its answer is. */
        int64_t checked = vmctl_jint(s, "database_checked_ms"), age = now_ms() - checked;
        if (checked > 0)
                printf(" (checked %" PRId64 "s ago)", (age > 0 ? age : 0) / 1000);
        putchar('\n');
        if (vmctl_jint(s, "post_event_failures") > 0)
                printf("%-22s %" PRId64 " could not be posted to the platform (the rows are intact)\n",
                       "platform events:", vmctl_jint(s, "post_event_failures"));
        print_forwards(vmctl_jget(s, "forwards"));
        if (json_object_get_boolean(vmctl_jget(s, "stopping")))
                printf("%-22s shutting down\n", "state:");
}

/* Append " label value" when value is set. */
static void print_field(FILE *f, const char *label, const char *value) {
        if (value && *value)
                fprintf(f, "%s%s", label, value);
}

static void print_record(FILE *f, struct json_object *rec) {
        if (!rec)
                return;
        fprintf(f, "%s %s", strempty(vmctl_jstr(rec, "operation")), strempty(vmctl_jstr(rec, "vm_name")));
        if (vmctl_jstr(rec, "before") || vmctl_jstr(rec, "after"))
                fprintf(f, ": %s -> %s", strempty(vmctl_jstr(rec, "before")), strempty(vmctl_jstr(rec, "after")));
        fprintf(f, "  [%s]\n  trail #%s, %s .. %s, by %s (uid %s)", strempty(vmctl_jstr(rec, "result")),
                strempty(vmctl_jstr(rec, "id")), strempty(vmctl_jstr(rec, "start_time")), strempty(vmctl_jstr(rec, "end_time")),
                strempty(vmctl_jstr(rec, "user")), strempty(vmctl_jstr(rec, "uid")));
        print_field(f, ", endpoint ", vmctl_jstr(rec, "endpoint"));
        print_field(f, ", host ", vmctl_jstr(rec, "host"));
        print_field(f, ", id ", vmctl_jstr(rec, "vm_id"));
        fputc('\n', f);
}

static void print_vm_list(struct json_object *vms) {
        if (!vms)
                return;
        printf("%-12s %-32s %-10s %-12s %-24s %s\n", "ENDPOINT", "NAME", "ID", "POWER", "HOST", "UUID");
        for (size_t i = 0; i < json_object_array_length(vms); i++) {
                struct json_object *vm = json_object_array_get_idx(vms, i);
                printf("%-12s %-32s %-10s %-12s %-24s %s\n", strempty(vmctl_jstr(vm, "endpoint")),
                       strempty(vmctl_jstr(vm, "name")), strempty(vmctl_jstr(vm, "id")),
                       strempty(vmctl_jstr(vm, "powerState")), strempty(vmctl_jstr(vm, "host")),
                       strempty(vmctl_jstr(vm, "uuid")));
        }
}

/* show's column for the values: continuation lines start here. */
#define SHOW_INDENT 17

/* One disk: "Hard disk 1  40960 MiB  [ds1] web/web.vmdk". */
static void print_disk(struct json_object *d) {
        printf("%s", strempty(vmctl_jstr(d, "label")));
        if (vmctl_jget(d, "capacityMiB"))
                printf("  %" PRId64 " MiB", vmctl_jint(d, "capacityMiB"));
        if (vmctl_jstr(d, "file"))
                printf("  %s", vmctl_jstr(d, "file"));
        putchar('\n');
}

/* The snapshot tree, a level deeper by two spaces; the current one is marked. */
static void print_snapshots(struct json_object *list, const char *current, int depth, bool *first) {
        for (size_t i = 0; list && i < json_object_array_length(list); i++) {
                struct json_object *s = json_object_array_get_idx(list, i);
                const char *name = strempty(vmctl_jstr(s, "name"));

                printf("%*s%*s%s%s\n", *first ? 0 : SHOW_INDENT, "", 2 * depth, "", name,
                       current && strcmp(name, current) == 0 ? "  (current)" : "");
                *first = false;
                print_snapshots(vmctl_jget(s, "children"), current, depth + 1, first);
        }
}

static const char *compact_json(struct json_object *o) {
        return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* An array as text: the snapshot tree, one disk (or other object) per line, words joined by commas. */
static void print_array(const char *key, struct json_object *a, const char *current) {
        size_t n = json_object_array_length(a);
        bool first = true;

        if (n == 0) {
                puts("none");
                return;
        }
        if (strcmp(key, "snapshots") == 0) {
                print_snapshots(a, current, 0, &first);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                struct json_object *e = json_object_array_get_idx(a, i);
                bool object = json_object_is_type(e, json_type_object);

                if (i > 0)
                        printf(object ? "%*s" : ", ", SHOW_INDENT, "");
                if (object && strcmp(key, "disks") == 0)
                        print_disk(e);
                else if (object)
                        puts(compact_json(e));
                else
                        printf("%s%s", json_object_is_type(e, json_type_string) ? json_object_get_string(e)
                               : compact_json(e), i + 1 == n ? "\n" : "");
        }
}

static void print_vm_names(struct json_object *vms) {
        for (size_t i = 0; vms && i < json_object_array_length(vms); i++) {
                struct json_object *vm = json_object_array_get_idx(vms, i);
                printf("%s:%s\n", strempty(vmctl_jstr(vm, "endpoint")), strempty(vmctl_jstr(vm, "name")));
        }
}

static void print_vm(struct json_object *vm) {
        if (!vm)
                return;
        json_object_object_foreach(vm, key, val) {
                printf("%-*s", SHOW_INDENT, key);
                if (json_object_is_type(val, json_type_array))
                        print_array(key, val, vmctl_jstr(vm, "currentSnapshot"));
                else
                        printf("%s\n", json_object_is_type(val, json_type_string) ? json_object_get_string(val)
                               : compact_json(val));
        }
}

static void print_error(struct json_object *err) {
        fprintf(stderr, "vmctl: %s\n", strempty(vmctl_jstr(err, "message")));
}

static struct json_object *shown(struct json_object *o);

static struct json_object *shown_string(const char *s, size_t n) {
        _cleanup_free_ char *e = printable_dup(s, n, "");

        return e ? json_object_new_string(e) : NULL;
}

static struct json_object *shown_object(struct json_object *o) {
        struct json_object *copy = json_object_new_object();

        if (!copy)
                return NULL;
        json_object_object_foreach(o, key, val) {
                _cleanup_free_ char *k = printable_dup(key, strlen(key), "");
                if (k)
                        json_object_object_add(copy, k, shown(val));
        }
        return copy;
}

static struct json_object *shown_array(struct json_object *o) {
        struct json_object *copy = json_object_new_array();

        for (size_t i = 0; copy && i < json_object_array_length(o); i++)
                json_object_array_add(copy, shown(json_object_array_get_idx(o, i)));
        return copy;
}

/*
 * A copy of o for people: every string and key escaped (printable.h),
 * numbers, booleans and nulls shared.  NULL for NULL (and when out of
 * memory, so that nothing is shown rather than something raw).
 */
static struct json_object *shown(struct json_object *o) {
        switch (json_object_get_type(o)) {
        case json_type_string:
                return shown_string(json_object_get_string(o), (size_t) json_object_get_string_len(o));
        case json_type_object:
                return shown_object(o);
        case json_type_array:
                return shown_array(o);
        default:
                return json_object_get(o);
        }
}

/* The entry points: each renders the shown() copy of what came, never what came. */
#define HUMAN(name, render)                                                   \
        static void name(struct json_object *o) {                             \
                _cleanup_(json_object_putp) struct json_object *s = shown(o); \
                render(s);                                                    \
        }
HUMAN(human_error, print_error)
HUMAN(human_whoami, print_whoami)
HUMAN(human_status, print_status)
HUMAN(human_vm_list, print_vm_list)
HUMAN(human_vm_show, print_vm)
HUMAN(human_vm_names, print_vm_names)

void vmctl_print_vm_names(struct json_object *vms) {
        human_vm_names(vms);
}
#undef HUMAN

static void human_record(FILE *f, struct json_object *rec) {
        _cleanup_(json_object_putp) struct json_object *s = shown(rec);

        print_record(f, s);
}

/* The reply is rendered by the command, from its parts. */
static void human_reply(const char *line _unused_) {
}

static void human_progress(struct vmctl_wait *w, struct json_object *msg, const char *line _unused_) {
        _cleanup_(json_object_putp) struct json_object *s = shown(msg);

        vmctl_wait_show(w, s);
}

const struct vmctl_output vmctl_output_human = {
        .progress = human_progress,
        .reply = human_reply,
        .error = human_error,
        .record = human_record,
        .whoami = human_whoami,
        .status = human_status,
        .vm_list = human_vm_list,
        .vm_show = human_vm_show,
};
