/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The status as OpenMetrics; see vmctl-metrics.h. */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "macros.h"
#include "vmctl-conn.h"
#include "vmctl-metrics.h"

static size_t length(struct json_object *a) {
        return json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

/* A label value, escaped as OpenMetrics says: backslash, double quote and newline. */
static void label_value(FILE *f, const char *v) {
        fputc('"', f);
        for (const char *p = strempty(v); *p; p++)
                if (*p == '\\' || *p == '"')
                        fprintf(f, "\\%c", *p);
                else if (*p == '\n')
                        fputs("\\n", f);
                else
                        fputc(*p, f);
        fputc('"', f);
}

static void family(FILE *f, const char *name, const char *type, const char *unit, const char *help) {
        fprintf(f, "# TYPE %s %s\n", name, type);
        if (unit)
                fprintf(f, "# UNIT %s %s\n", name, unit);
        fprintf(f, "# HELP %s %s\n", name, help);
}

/* {operation="...",result="...",source="..." and, if le, ,le="..."} */
static void op_labels(FILE *f, struct json_object *s, const char *le) {
        fputs("{operation=", f);
        label_value(f, vmctl_jstr(s, "operation"));
        fputs(",result=", f);
        label_value(f, vmctl_jstr(s, "result"));
        fputs(",source=", f);
        label_value(f, vmctl_jstr(s, "source"));
        if (le)
                fprintf(f, ",le=\"%s\"", le);
        fputc('}', f);
}

static void operations(FILE *f, struct json_object *metrics) {
        struct json_object *ops = vmctl_jget(metrics, "operations");
        struct json_object *bounds = vmctl_jget(metrics, "duration_buckets_ms");

        family(f, "vmtraced_operations", "counter", NULL,
               "Trail rows completed since vmtraced started, by operation, result and source.");
        for (size_t i = 0; i < length(ops); i++) {
                struct json_object *s = json_object_array_get_idx(ops, i);
                fputs("vmtraced_operations_total", f);
                op_labels(f, s, NULL);
                fprintf(f, " %" PRId64 "\n", json_object_get_int64(vmctl_jget(s, "count")));
        }
        family(f, "vmtraced_operation_duration_seconds", "histogram", "seconds",
               "How long the operations of those rows took, start to end.");
        for (size_t i = 0; i < length(ops); i++) {
                struct json_object *s = json_object_array_get_idx(ops, i), *b = vmctl_jget(s, "buckets");
                char le[32];

                for (size_t k = 0; k < length(bounds) && k < length(b); k++) {
                        snprintf(le, sizeof le, "%g", json_object_get_int64(json_object_array_get_idx(bounds, k)) / 1000.0);
                        fputs("vmtraced_operation_duration_seconds_bucket", f);
                        op_labels(f, s, le);
                        fprintf(f, " %" PRId64 "\n", json_object_get_int64(json_object_array_get_idx(b, k)));
                }
                fputs("vmtraced_operation_duration_seconds_bucket", f);
                op_labels(f, s, "+Inf");
                fprintf(f, " %" PRId64 "\n", json_object_get_int64(vmctl_jget(s, "count")));
                fputs("vmtraced_operation_duration_seconds_sum", f);
                op_labels(f, s, NULL);
                fprintf(f, " %.3f\n", json_object_get_int64(vmctl_jget(s, "duration_ms_sum")) / 1000.0);
                fputs("vmtraced_operation_duration_seconds_count", f);
                op_labels(f, s, NULL);
                fprintf(f, " %" PRId64 "\n", json_object_get_int64(vmctl_jget(s, "count")));
        }
}

/* A counter: its family and NAME_total from o's KEY (0 when the daemon does not send it). */
static void counter(FILE *f, const char *name, const char *help, struct json_object *o, const char *key) {
        family(f, name, "counter", NULL, help);
        fprintf(f, "%s_total %" PRId64 "\n", name, json_object_get_int64(vmctl_jget(o, key)));
}

/* A gauge of one sample, from key of o scaled by scale (absent: no sample). */
static void gauge(FILE *f, const char *name, const char *unit, const char *help, struct json_object *o,
                  const char *key, double scale) {
        struct json_object *v = vmctl_jget(o, key);

        family(f, name, "gauge", unit, help);
        if (v)
                fprintf(f, "%s %.15g\n", name, json_object_get_double(v) * scale);
}

/* A gauge with one sample per element of array, labelled label = its "name", from key. */
static void gauge_each(FILE *f, const char *name, const char *unit, const char *help, struct json_object *array,
                       const char *label, const char *key, double scale) {
        family(f, name, "gauge", unit, help);
        for (size_t i = 0; i < length(array); i++) {
                struct json_object *e = json_object_array_get_idx(array, i), *v = vmctl_jget(e, key);
                if (!v)
                        continue;
                fprintf(f, "%s{%s=", name, label);
                label_value(f, vmctl_jstr(e, "name"));
                fprintf(f, "} %.15g\n", json_object_get_double(v) * scale);
        }
}

int vmctl_write_openmetrics(FILE *f, struct json_object *status) {
        struct json_object *metrics = vmctl_jget(status, "metrics"), *eps = vmctl_jget(status, "endpoints"),
                           *fwd = vmctl_jget(status, "forwards");

        operations(f, metrics);
        counter(f, "vmtraced_post_event_failures",
                "Platform events (the trail's courtesy copy) that could not be posted; the rows are not affected.",
                status, "post_event_failures");
        gauge(f, "vmtraced_operations_in_flight", NULL, "Operations submitted and not yet answered.", status,
              "operations_in_flight", 1);
        gauge(f, "vmtraced_sessions", NULL, "Platform sessions in the pools.", status, "sessions", 1);
        gauge(f, "vmtraced_sessions_logged_in", NULL, "Platform sessions logged in.", status, "sessions_logged_in", 1);
        gauge(f, "vmtraced_connections", NULL, "Clients connected to the control socket.", status, "connections", 1);
        gauge(f, "vmtraced_pending_rows", NULL, "Trail rows PENDING: operations in flight, or left by a crash.",
              metrics, "pending_rows", 1);
        gauge(f, "vmtraced_unwritten_rows", NULL,
              "Completions kept in memory because the trail cannot be written (degraded).", metrics,
              "kept_in_memory", 1);
        gauge(f, "vmtraced_trail_bytes", "bytes", "Size of the trail database and its write-ahead log.", metrics,
              "trail_bytes", 1);
        gauge(f, "vmtraced_trail_head_seq", NULL, "Seq of the last row chained.", metrics, "last_seq", 1);
        counter(f, "vmtraced_trail_commits",
                "Durable trail transactions (one fsync each); concurrent rows share one (group commit).", metrics,
                "trail_commits");
        family(f, "vmtraced_database_ok", "gauge", NULL, "0 when the last quick check of the trail database found a problem.");
        fprintf(f, "vmtraced_database_ok %d\n", json_object_get_boolean(vmctl_jget(status, "database_ok")) ? 1 : 0);
        gauge_each(f, "vmtraced_mirror_age_seconds", "seconds",
                   "Time since the endpoint's inventory mirror last heard from the platform.", eps, "endpoint",
                   "mirror_age_ms", 0.001);
        gauge_each(f, "vmtraced_forward_backlog_rows", NULL, "Rows not yet acknowledged by the forwarding target.",
                   fwd, "target", "backlog", 1);
        gauge_each(f, "vmtraced_forward_acked_seq", NULL, "Last seq the forwarding target acknowledged.", fwd,
                   "target", "acked_seq", 1);
        gauge_each(f, "vmtraced_forward_oldest_unacked_age_seconds", "seconds",
                   "Age of the oldest row the forwarding target has not acknowledged.", fwd, "target",
                   "oldest_unacked_age_s", 1);
        fputs("# EOF\n", f);
        return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}
