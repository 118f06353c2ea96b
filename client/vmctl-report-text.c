/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmctl report as text: a heading, then one table per summary, as
 * aureport's are, values escaped as everywhere in vmctl's output (they
 * were escaped when read).  The numbers are the groups' of vmctl-report.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "macros.h"
#include "vmctl-report.h"

static void heading(FILE *f, const char *title) {
        fprintf(f, "\n%s\n", title);
        for (size_t i = 0; title[i]; i++)
                fputc('=', f);
        fputc('\n', f);
}

static void range(FILE *f, const struct report *r) {
        char a[40] = "the first row", b[40] = "the last";

        if (r->has_since)
                report_time(a, sizeof a, r->since, true);
        if (r->has_until)
                report_time(b, sizeof b, r->until, true);
        fprintf(f, "Range: %s .. %s (start times, UTC)\n", a, b);
}

static void chain(FILE *f, const struct report_verify *v) {
        if (!v->done)
                fputs("Chain: NOT CHECKED (it could not be read; see the error above)\n", f);
        else if (v->problems)
                fprintf(f, "Chain: ALTERED, %u problem(s); vmctl verify lists them\n", v->problems);
        else
                fprintf(f, "Chain: intact, %" PRId64 " rows chained, %" PRId64 " pending\nHead: %" PRId64 ":%s\n",
                        v->last_seq, v->pending, v->last_seq, v->head);
        if (v->has_checkpoint)
                fprintf(f, "Checkpoint: %" PRId64 ":%s (archive of %s)\n", v->checkpoint_seq, v->checkpoint_hash,
                        v->checkpoint_source);
}

struct text_table {
        const char *title, *k0, *k1;      /* k1: NULL for one key */
        bool by_result;                   /* a count per result, besides the total */
        struct report_groups *(*make)(const struct report *r);
};

/*
 * How wide column k is: its widest value in bytes, which for most keys (ASCII
 * names, days, ids) are its columns; past MAX_KEY_WIDTH a value only pushes
 * its own line on.
 */
#define MAX_KEY_WIDTH 40
static int key_width(const struct report_groups *g, int k, const char *title) {
        size_t w = title ? strlen(title) : 0;

        for (size_t i = 0; i < g->n; i++) {
                size_t n = strlen(g->groups[i].key[k]);
                if (n > w)
                        w = n;
        }
        return (int) (w < MAX_KEY_WIDTH ? w : MAX_KEY_WIDTH);
}

/* A line's keys (or their titles) and counts (or their titles: g NULL), keys w wide. */
static void table_line(FILE *f, const struct text_table *t, const char *const key[2], const int w[2],
                       const struct report_group *g) {
        fprintf(f, "%-*s  ", w[0], key[0]);
        if (t->k1)
                fprintf(f, "%-*s  ", w[1], key[1]);
        if (g)
                fprintf(f, "%7zu", g->n);
        else
                fputs("  TOTAL", f);
        for (int k = 0; t->by_result && k < RESULT_MAX; k++)
                if (g)
                        fprintf(f, " %7zu", g->counts[k]);
                else
                        fprintf(f, " %7s", report_result_names[k]);
        fputc('\n', f);
}

static bool none(FILE *f, const struct report_groups *g) {
        if (g->n == 0)
                fputs("none\n", f);
        return g->n == 0;
}

static int table(FILE *f, const struct report *r, const struct text_table *t) {
        _cleanup_(report_groups_freep) struct report_groups *g = t->make(r);

        if (!g)
                return -ENOMEM;
        heading(f, t->title);
        if (none(f, g))
                return 0;
        const int w[2] = { key_width(g, 0, t->k0), key_width(g, 1, t->k1) };
        table_line(f, t, (const char *const[2]) { t->k0, t->k1 }, w, NULL);
        for (size_t i = 0; i < g->n; i++)
                table_line(f, t, g->groups[i].key, w, &g->groups[i]);
        return 0;
}

static int changed_vms(FILE *f, const struct report *r) {
        _cleanup_(report_groups_freep) struct report_groups *g = report_changed_vms(r);

        if (!g)
                return -ENOMEM;
        heading(f, "Most-changed VMs (changes that worked)");
        if (none(f, g))
                return 0;
        const int w0 = key_width(g, 0, "ENDPOINT"), w1 = key_width(g, 1, "ID");
        fprintf(f, "%7s  %-*s  %-*s  %s\n", "CHANGES", w0, "ENDPOINT", w1, "ID", "VM (its name now)");
        for (size_t i = 0; i < g->n && i < 20; i++)
                fprintf(f, "%7zu  %-*s  %-*s  %s\n", g->groups[i].n, w0, g->groups[i].key[0], w1, g->groups[i].key[1],
                        report_vm_name(&g->groups[i]));
        if (g->n > 20)
                fprintf(f, "... and %zu more VM(s)\n", g->n - 20);
        return 0;
}

static int out_of_band(FILE *f, const struct report *r) {
        _cleanup_(report_groups_freep) struct report_groups *g = report_out_of_band(r);
        char when[40];

        if (!g)
                return -ENOMEM;
        heading(f, "Out-of-band changes (seen on the platform, not made through vmtraced)");
        if (none(f, g))
                return 0;
        fputs("SEEN (UTC)                ID  OPERATION ENDPOINT:VM BEFORE -> AFTER (PLATFORM USER)\n", f);
        for (size_t i = 0; i < g->groups[0].n; i++) {
                const struct report_row *row = g->groups[0].members[i];
                report_time(when, sizeof when, row->start_ms, true);
                fprintf(f, "%s  #%" PRId64 " %s %s:%s %s -> %s (platform user %s)\n", when, row->id,
                        report_str(row->operation), report_str(row->endpoint), report_str(row->vm_name),
                        report_str(row->before), report_str(row->after), report_str(row->platform_user));
        }
        return 0;
}

int report_write_text(FILE *f, const struct report *r) {
        static const struct text_table first[] = {
                { "Operations per user per day", "DAY", "USER", true, report_by_user_day },
                { "Failures by fault (NG)", "FAULT", NULL, false, report_failures },
                { "Denials", "USER", "OPERATION", false, report_denials },
        }, logins = { "Logins (the daemon's sessions on the platforms)", "ENDPOINT", "PRINCIPAL", true,
                      report_logins };
        int k = 0;

        fprintf(f, "vmctl report of %s\n", r->db);
        range(f, r);
        fprintf(f, "Rows: %zu\n", r->n_rows);
        chain(f, &r->verify);
        for (size_t i = 0; k >= 0 && i < ELEMENTSOF(first); i++)
                k = table(f, r, &first[i]);
        if (k >= 0)
                k = changed_vms(f, r);
        if (k >= 0)
                k = table(f, r, &logins);
        if (k >= 0)
                k = out_of_band(f, r);
        return k < 0 ? k : ferror(f) ? -EIO : 0;
}
