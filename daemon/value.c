/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The before/after text of every kind, from the backends' typed values;
 * the grammar is in value.h and vmtraced-trail(5).  This is the only code
 * that writes it, so every platform's rows read alike.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "value.h"

/* The characters that structure a value; escaped inside its parts. */
#define VALUE_SPECIAL "\\;=,()"

/* Text grows in an open_memstream: one error check at the end. */
struct out {
        FILE *f;
        char *s;
        size_t len;
};

static void put_escaped(FILE *f, const char *s) {
        for (s = strempty(s); *s; s++) {
                if (strchr(VALUE_SPECIAL, *s))
                        fputc('\\', f);
                fputc(*s, f);
        }
}

/* "key=" and the escaped part. */
static void put_field(FILE *f, const char *sep, const char *key, const char *part) {
        fprintf(f, "%s%s=", sep, key);
        put_escaped(f, part);
}

/* A count, the persistent one after ";config=" where it differs, and the ceiling where there is one. */
static void put_number(FILE *f, int64_t live, int64_t config, int64_t max) {
        fprintf(f, "%" PRId64, live);
        if (config > 0 && config != live)
                fprintf(f, ";config=%" PRId64, config);
        if (max > 0)
                fprintf(f, ";max=%" PRId64, max);
}

static void put_disks(FILE *f, const struct op_value *v) {
        for (size_t i = 0; i < v->n_disks; i++) {
                if (i)
                        fputc(';', f);
                put_escaped(f, v->disks[i].label);
                fprintf(f, "=%" PRId64 "MiB", v->disks[i].mib);
        }
}

/* Deeper trees are cut (no platform nests snapshots that far): the names down to here, no empty "()". */
#define TREE_DEPTH_MAX 64

static void put_tree(FILE *f, const struct op_snapshot *t, size_t n, unsigned depth) {
        for (size_t i = 0; i < n && depth < TREE_DEPTH_MAX; i++) {
                if (i)
                        fputc(',', f);
                put_escaped(f, t[i].name);
                if (t[i].n_children && depth + 1 < TREE_DEPTH_MAX) {
                        fputc('(', f);
                        put_tree(f, t[i].children, t[i].n_children, depth + 1);
                        fputc(')', f);
                }
        }
}

static void put_migrate(FILE *f, const struct op_value *v) {
        put_field(f, "", "host", v->host);
        fputs(";datastore=", f);
        for (size_t i = 0; i < v->n_datastores; i++) {
                if (i)
                        fputc(',', f);
                put_escaped(f, v->datastores[i]);
        }
}

static void put_destroy(FILE *f, const struct op_value *v) {
        put_field(f, "", "name", v->name);
        put_field(f, ";", "id", v->id);
        fprintf(f, ";power=%s", vm_power_name(v->power));
        put_field(f, ";", "host", v->host);
        if (v->cpus > 0)
                fprintf(f, ";cpu=%" PRId64, v->cpus);
        if (v->memory_mib > 0)
                fprintf(f, ";memoryMB=%" PRId64, v->memory_mib);
}

static void put_value(FILE *f, enum op_kind kind, const struct op_value *v) {
        switch (kind) {
        case OP_RENAME:
                fputs(strempty(v->name), f);   /* a lone name: nothing to confuse it with */
                break;
        case OP_CPU:
                put_number(f, v->cpus, v->cpus_config, v->cpus_max);
                break;
        case OP_MEMORY:
                put_number(f, v->memory_mib, v->memory_mib_config, v->memory_mib_max);
                break;
        case OP_DISK_GROW:
        case OP_DISK_ADD:
                put_disks(f, v);
                break;
        case OP_START:
        case OP_STOP:
        case OP_STOP_GUEST:
        case OP_RESET:
        case OP_SUSPEND:
                fputs(vm_power_name(v->power), f);
                break;
        case OP_CLONE:
                put_field(f, "", "name", v->name);
                put_field(f, ";", "id", v->id);
                put_field(f, ";", "host", v->host);
                break;
        case OP_MIGRATE:
                put_migrate(f, v);
                break;
        case OP_SNAPSHOT_CREATE:
        case OP_SNAPSHOT_REVERT:
        case OP_SNAPSHOT_REMOVE:
                fputs("tree=", f);
                put_tree(f, v->snapshots, v->n_snapshots, 0);
                put_field(f, ";", "current", v->current_snapshot);
                break;
        case OP_DESTROY:
                put_destroy(f, v);
                break;
        default:
                break;
        }
}

int value_format(enum op_kind kind, const struct op_value *v, char **out) {
        struct out o = {};

        *out = NULL;
        if (!v || !v->known)
                return 0;
        if (v->gone)
                /*
                 * The platform no longer knows the VM.  Only a destroy's after
                 * says so in words; for any other kind the value is unknown,
                 * so a VM renamed "destroyed" cannot be taken for a gone one.
                 */
                return kind == OP_DESTROY && !(*out = strdup("destroyed")) ? -ENOMEM : 0;
        o.f = open_memstream(&o.s, &o.len);
        if (!o.f)
                return -ENOMEM;
        put_value(o.f, kind, v);
        if (ferror(o.f) | fclose(o.f)) {
                free(o.s);
                return -ENOMEM;
        }
        *out = o.s;
        return 0;
}

int value_take(enum op_kind kind, struct op_value *v, char **text, struct op_error *err) {
        free(TAKE_PTR(*text));
        int r = value_format(kind, v, text);
        op_value_clear(v);
        if (r < 0)
                op_error_set(err, "InternalError", "out of memory");
        return r;
}

int value_escape(const char *s, char **out) {
        struct out o = {};

        o.f = open_memstream(&o.s, &o.len);
        if (!o.f)
                return -ENOMEM;
        put_escaped(o.f, s);
        if (ferror(o.f) | fclose(o.f)) {
                free(o.s);
                return -ENOMEM;
        }
        *out = o.s;
        return 0;
}
