/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's counters; see metrics.h. */
#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macros.h"
#include "metrics.h"

/*
 * Upper bounds of the duration buckets, in ms: from a warm session's
 * ModifyCPU (a few ms) to a clone or a migration (minutes).
 */
static const int64_t bounds_ms[] = { 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000 };
#define N_BOUNDS ELEMENTSOF(bounds_ms)

struct series {
        char operation[32], result[16], source[16];
        uint64_t count, sum_ms;
        uint64_t buckets[N_BOUNDS];   /* each: the rows above the bound before it, up to its own */
};

struct metrics {
        pthread_mutex_t lock;
        struct series series[METRICS_MAX_SERIES];
        size_t n;
};

int metrics_new(struct metrics **out) {
        struct metrics *m = calloc(1, sizeof *m);

        if (!m)
                return log_oom();
        pthread_mutex_init(&m->lock, NULL);
        *out = m;
        return 0;
}

void metrics_free(struct metrics *m) {
        if (!m)
                return;
        pthread_mutex_destroy(&m->lock);
        free(m);
}

static bool same(const struct series *s, const char *operation, const char *result, const char *source) {
        return strcmp(s->operation, operation) == 0 && strcmp(s->result, result) == 0 &&
                strcmp(s->source, source) == 0;
}

/* The series of these labels, made if new; once the table is full, its last ("other"). */
static struct series *find(struct metrics *m, const char *operation, const char *result, const char *source) {
        for (size_t i = 0; i < m->n; i++)
                if (same(&m->series[i], operation, result, source))
                        return &m->series[i];
        if (m->n == METRICS_MAX_SERIES)
                return &m->series[METRICS_MAX_SERIES - 1];
        if (m->n == METRICS_MAX_SERIES - 1)
                operation = result = source = "other";
        struct series *s = &m->series[m->n++];
        snprintf(s->operation, sizeof s->operation, "%s", operation);
        snprintf(s->result, sizeof s->result, "%s", result);
        snprintf(s->source, sizeof s->source, "%s", source);
        return s;
}

void metrics_count(struct metrics *m, const char *operation, const char *result, const char *source,
                   int64_t duration_ms) {
        if (!m)
                return;

        _cleanup_(mutex_unlockp) _unused_ pthread_mutex_t *l = mutex_lock(&m->lock);
        struct series *s = find(m, strempty(operation), strempty(result), source ? source : "vmtraced");
        uint64_t ms = duration_ms > 0 ? (uint64_t) duration_ms : 0;

        s->count++;
        s->sum_ms += ms;
        for (size_t b = 0; b < N_BOUNDS; b++)
                if (ms <= (uint64_t) bounds_ms[b]) {
                        s->buckets[b]++;
                        break;
                }
}

static struct json_object *series_json(const struct series *s) {
        struct json_object *o = json_object_new_object(), *b = json_object_new_array();
        uint64_t sum = 0;

        for (size_t i = 0; i < N_BOUNDS; i++) {
                sum += s->buckets[i];
                json_object_array_add(b, json_object_new_int64((int64_t) sum));
        }
        json_object_object_add(o, "operation", json_object_new_string(s->operation));
        json_object_object_add(o, "result", json_object_new_string(s->result));
        json_object_object_add(o, "source", json_object_new_string(s->source));
        json_object_object_add(o, "count", json_object_new_int64((int64_t) s->count));
        json_object_object_add(o, "duration_ms_sum", json_object_new_int64((int64_t) s->sum_ms));
        json_object_object_add(o, "buckets", b);
        return o;
}

struct json_object *metrics_json(struct metrics *m) {
        struct json_object *o = json_object_new_object(), *bounds = json_object_new_array(),
                           *ops = json_object_new_array();

        for (size_t b = 0; b < N_BOUNDS; b++)
                json_object_array_add(bounds, json_object_new_int64(bounds_ms[b]));
        json_object_object_add(o, "duration_buckets_ms", bounds);
        json_object_object_add(o, "operations", ops);
        if (!m)
                return o;

        _cleanup_(mutex_unlockp) _unused_ pthread_mutex_t *l = mutex_lock(&m->lock);
        for (size_t i = 0; i < m->n; i++)
                json_object_array_add(ops, series_json(&m->series[i]));
        return o;
}
