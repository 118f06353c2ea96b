/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmctl report --format html: one page that stands alone, to mail or
 * archive with the trail it sums up.  Nothing in it is fetched (no network,
 * no fonts, no images but inline SVG, no script: its Content-Security-Policy
 * forbids them all, should a value ever get past the escaping), and
 * it reads the same with JavaScript off.  Its parts have ids (verify,
 * timeline, per-user, per-day, vm-history, ...) for a link, or a test, to
 * find them.
 *
 * Every value from the trail was escaped for people when read (printable.h:
 * no control characters, only valid UTF-8); html() escapes it once more for
 * HTML, text and attributes alike, so a VM named <script> is shown as such.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "macros.h"
#include "vmctl-report.h"

/* What the page draws at most: beyond, it says how much it left out. */
#define MAX_MARKS 5000         /* timeline */
#define MAX_LANES 12           /* timeline: users with a lane of their own */
#define MAX_BARS 40            /* per-user chart */
#define MAX_DAYS 92            /* per-day chart: the last ones */
#define MAX_VMS 50             /* VM histories */
#define MAX_HISTORY 100        /* rows of one VM's history: the last ones */
#define MAX_OUT_OF_BAND 500

#define CHART_WIDTH 1160

static const char *const colours[RESULT_MAX] = { "#2e7d32", "#c62828", "#7b1fa2", "#ef6c00", "#1565c0" };

static void html(FILE *f, const char *s) {
        for (; s && *s; s++)
                switch (*s) {
                case '&':
                        fputs("&amp;", f);
                        break;
                case '<':
                        fputs("&lt;", f);
                        break;
                case '>':
                        fputs("&gt;", f);
                        break;
                case '"':
                        fputs("&quot;", f);
                        break;
                case '\'':
                        fputs("&#39;", f);
                        break;
                default:
                        fputc(*s, f);
                }
}

static void cell(FILE *f, const char *s) {
        fputs("<td>", f);
        html(f, report_str(s));
        fputs("</td>", f);
}

static void change_cell(FILE *f, const struct report_row *row) {
        fputs("<td class=\"v\">", f);
        html(f, report_str(row->before));
        fputs(" &rarr; ", f);
        html(f, report_str(row->after));
        fputs("</td>", f);
}

static void result_cell(FILE *f, enum report_result res) {
        fprintf(f, "<td><span class=\"r r%d\">%s</span></td>", (int) res, report_result_names[res]);
}

static void time_cell(FILE *f, int64_t ms) {
        char when[40];

        report_time(when, sizeof when, ms, true);
        fprintf(f, "<td class=\"t\">%s</td>", when);
}

static const char style[] =
        "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:#1d2330;"
        "background:#f4f6f9;margin:0}"
        "main{max-width:1220px;margin:0 auto;padding:20px 24px 40px}"
        "h1{font-size:24px;margin:0 0 4px}h2{font-size:17px;margin:0 0 10px}"
        "section{background:#fff;border:1px solid #dde2ea;border-radius:8px;padding:14px 18px;margin:14px 0}"
        ".meta{color:#556;margin:0}.meta b{color:#1d2330}"
        "table{border-collapse:collapse;width:100%;font-size:13px}"
        "th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eceff4;vertical-align:top;"
        "overflow-wrap:anywhere}"
        "th{background:#f0f3f7;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
        "td.t{white-space:nowrap;font-variant-numeric:tabular-nums;color:#445}"
        ".v{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:12px}"
        ".r{display:inline-block;min-width:64px;text-align:center;border-radius:3px;color:#fff;font-size:11px;"
        "font-weight:600;padding:0 4px}"
        ".r0{background:#2e7d32}.r1{background:#c62828}.r2{background:#7b1fa2}.r3{background:#ef6c00}"
        ".r4{background:#1565c0}"
        ".legend span{margin-right:14px}.legend i{display:inline-block;width:11px;height:11px;border-radius:2px;"
        "margin-right:4px;vertical-align:-1px}"
        ".ok{color:#2e7d32}.bad{color:#c62828}.status{font-size:20px;font-weight:700}"
        ".cards{display:flex;gap:10px;flex-wrap:wrap}.card{flex:1;min-width:120px;border:1px solid #dde2ea;"
        "border-radius:6px;padding:6px 10px}.card b{display:block;font-size:22px}"
        "details{margin:6px 0}summary{cursor:pointer;font-weight:600}.note{color:#667;font-size:12px}"
        "svg text{font-family:inherit;font-size:11px;fill:#334}"
        "nav a{margin-right:12px;color:#1565c0}";

static void legend(FILE *f) {
        fputs("<p class=\"legend\">", f);
        for (int k = 0; k < RESULT_MAX; k++)
                fprintf(f, "<span><i style=\"background:%s\"></i>%s</span>", colours[k], report_result_names[k]);
        fputs("</p>\n", f);
}

static void head(FILE *f, const struct report *r) {
        char a[40] = "the first", b[40] = "the last", made[40];

        if (r->has_since)
                report_time(a, sizeof a, r->since, true);
        if (r->has_until)
                report_time(b, sizeof b, r->until, true);
        report_time(made, sizeof made, r->made_ms, false);
        bool all = !r->has_since && !r->has_until;
        fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                   "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                   "style-src 'unsafe-inline'\">\n<meta name=\"viewport\" content=\"width=device-width\">\n"
                   "<title>vmtraced trail report</title>\n<style>%s</style></head>\n<body><main>\n"
                   "<h1>vmtraced trail report</h1>\n<p class=\"meta\">Trail <b class=\"v\">", style);
        html(f, r->db);
        if (all)
                fprintf(f, "</b> &middot; all <b>%zu</b> rows", r->n_rows);
        else
                fprintf(f, "</b> &middot; <b>%zu</b> rows started from %s to %s (UTC)", r->n_rows, a, b);
        fprintf(f, " &middot; made %s by vmctl report</p>\n", made);
        fputs("<nav><a href=\"#verify\">Verify</a><a href=\"#timeline\">Timeline</a><a href=\"#per-user\">Per "
              "user</a><a href=\"#per-day\">Per day</a><a href=\"#vm-history\">VM history</a><a "
              "href=\"#failures\">Failures</a><a href=\"#denials\">Denials</a><a href=\"#logins\">Logins</a><a "
              "href=\"#out-of-band\">Out of band</a></nav>\n", f);
}

static void verify(FILE *f, const struct report *r) {
        const struct report_verify *v = &r->verify;

        fputs("<section id=\"verify\"><h2>Verify: the hash chain of the whole file</h2>\n", f);
        if (!v->done)
                fputs("<p class=\"status bad\">NOT CHECKED: the chain could not be read</p>\n", f);
        else if (v->problems)
                fprintf(f, "<p class=\"status bad\">BROKEN: the trail was altered (%u problem(s); vmctl verify "
                           "lists them)</p>\n", v->problems);
        else
                fputs("<p class=\"status ok\">INTACT</p>\n", f);
        if (v->done)
                fprintf(f, "<p>Head <span class=\"v\">%" PRId64 ":%s</span> &middot; %" PRId64 " rows chained "
                           "&middot; %" PRId64 " pending</p>\n", v->last_seq, v->head, v->last_seq, v->pending);
        if (v->has_checkpoint) {
                fprintf(f, "<p>Checkpoint <span class=\"v\">%" PRId64 ":%s</span>, the head recorded in this "
                           "archive of <span class=\"v\">", v->checkpoint_seq, v->checkpoint_hash);
                html(f, v->checkpoint_source);
                fputs("</span></p>\n", f);
        } else
                fputs("<p class=\"note\">No checkpoint: the file is not an archive made by vmctl archive.</p>\n", f);
        fputs("<div class=\"cards\">", f);
        fprintf(f, "<div class=\"card\"><b>%zu</b>rows in range</div>", r->n_rows);
        size_t n[RESULT_MAX] = {};
        for (size_t i = 0; i < r->n_rows; i++)
                n[r->rows[i].result]++;
        for (int k = 0; k < RESULT_MAX; k++)
                fprintf(f, "<div class=\"card\"><b style=\"color:%s\">%zu</b>%s</div>", colours[k], n[k],
                        report_result_names[k]);
        fputs("</div></section>\n", f);
}

/* ---------- timeline ---------- */

struct lanes {
        const char *names[MAX_LANES + 1];
        size_t n;
        bool others;
};

static int lane_of(const struct lanes *l, const struct report_row *row) {
        for (size_t i = 0; i < l->n; i++)
                if (strcmp(l->names[i], report_str(row->user)) == 0)
                        return (int) i;
        return (int) l->n;   /* (others) */
}

static int pick_lanes(const struct report *r, struct lanes *l) {
        _cleanup_(report_groups_freep) struct report_groups *g = report_by_user(r);

        if (!g)
                return -ENOMEM;
        for (size_t i = 0; i < g->n && l->n < MAX_LANES; i++)
                l->names[l->n++] = g->groups[i].key[0];
        l->others = g->n > MAX_LANES;
        return 0;
}

static void axis(FILE *f, int64_t t0, int64_t t1, int x0, int width, int y) {
        char when[40];

        fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#99a\"/>\n", x0, y, x0 + width, y);
        for (int i = 0; i <= 4; i++) {
                int x = x0 + width * i / 4;
                /* Milliseconds only where the whole range is short enough to need them. */
                report_time(when, sizeof when, t0 + (t1 - t0) * i / 4, t1 - t0 < 600000);
                fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#99a\"/>"
                           "<text x=\"%d\" y=\"%d\" text-anchor=\"%s\">%s</text>\n", x, y, x, y + 4, x, y + 16,
                        i == 0 ? "start" : i == 4 ? "end" : "middle", when);
        }
}

static void mark(FILE *f, const struct report_row *row, int x, int y) {
        char when[40];

        report_time(when, sizeof when, row->start_ms, true);
        fprintf(f, "<circle cx=\"%d\" cy=\"%d\" r=\"4.5\" fill=\"%s\" fill-opacity=\"0.85\"><title>#%" PRId64
                   " %s ", x, y, colours[row->result], row->id, when);
        html(f, report_str(row->operation));
        fputc(' ', f);
        html(f, report_str(row->vm_name));
        fprintf(f, " by ");
        html(f, report_str(row->user));
        fprintf(f, ": %s</title></circle>\n", report_result_names[row->result]);
}

static void lane_labels(FILE *f, const struct lanes *l, int x0, int width) {
        for (size_t i = 0; i <= l->n; i++) {
                if (i == l->n && !l->others)
                        break;
                int y = 20 + 24 * (int) i;
                fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#eef0f4\"/>"
                           "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", x0, y, x0 + width, y, x0 - 8, y + 4);
                html(f, i < l->n ? l->names[i] : "(others)");
                fputs("</text>\n", f);
        }
}

static int timeline(FILE *f, const struct report *r) {
        struct lanes l = {};
        const int x0 = 150, width = CHART_WIDTH - x0 - 20;
        size_t first = r->n_rows > MAX_MARKS ? r->n_rows - MAX_MARKS : 0;
        int k = pick_lanes(r, &l);

        if (k < 0)
                return k;
        fputs("<section id=\"timeline\"><h2>Timeline of operations, by user, coloured by result</h2>\n", f);
        legend(f);
        if (r->n_rows == 0)
                return fputs("<p>No rows in the range.</p></section>\n", f), 0;
        int64_t t0 = r->rows[first].start_ms, t1 = r->rows[r->n_rows - 1].start_ms;
        if (t1 <= t0)
                t1 = t0 + 1000;
        int lanes = (int) l.n + l.others, h = 24 * lanes + 40;
        fprintf(f, "<svg role=\"img\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n",
                CHART_WIDTH, h, CHART_WIDTH, h);
        lane_labels(f, &l, x0, width);
        for (size_t i = first; i < r->n_rows; i++)
                mark(f, &r->rows[i], x0 + (int) ((r->rows[i].start_ms - t0) * width / (t1 - t0)),
                     20 + 24 * lane_of(&l, &r->rows[i]));
        axis(f, t0, t1, x0, width, h - 22);
        fputs("</svg>\n", f);
        if (first)
                fprintf(f, "<p class=\"note\">The last %d rows are drawn; %zu earlier ones are not.</p>\n", MAX_MARKS,
                        first);
        fputs("</section>\n", f);
        return 0;
}

/* ---------- charts ---------- */

static size_t at_most(size_t n, size_t max) {
        return n < max ? n : max;
}

static size_t biggest(const struct report_groups *g, size_t first) {
        size_t max = 1;

        for (size_t i = first; i < g->n; i++)
                if (g->groups[i].n > max)
                        max = g->groups[i].n;
        return max;
}

/* One bar, its results stacked: along x from x (horizontal), or up from y (vertical). */
static void bar(FILE *f, const struct report_group *g, double scale, int x, int y, int thick, bool vertical) {
        double at = 0;

        for (int k = 0; k < RESULT_MAX; k++) {
                double len = (double) g->counts[k] * scale;
                if (g->counts[k] == 0)
                        continue;
                if (vertical)
                        fprintf(f, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"%s\">", x,
                                y - at - len, thick, len, colours[k]);
                else
                        fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\">", x + at, y,
                                len, thick, colours[k]);
                fprintf(f, "<title>%zu %s</title></rect>", g->counts[k], report_result_names[k]);
                at += len;
        }
        fputc('\n', f);
}

static int per_user(FILE *f, const struct report *r) {
        _cleanup_(report_groups_freep) struct report_groups *g = report_by_user(r);
        const int x0 = 170, width = CHART_WIDTH - x0 - 70;

        if (!g)
                return -ENOMEM;
        size_t n = at_most(g->n, MAX_BARS);
        double scale = (double) width / (double) biggest(g, 0);
        fputs("<section id=\"per-user\"><h2>Operations per user</h2>\n", f);
        legend(f);
        fprintf(f, "<svg role=\"img\" width=\"%d\" height=\"%zu\" viewBox=\"0 0 %d %zu\">\n", CHART_WIDTH,
                22 * n + 6, CHART_WIDTH, 22 * n + 6);
        for (size_t i = 0; i < n; i++) {
                int y = 4 + 22 * (int) i;
                fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", x0 - 8, y + 12);
                html(f, g->groups[i].key[0]);
                fputs("</text>", f);
                bar(f, &g->groups[i], scale, x0, y, 16, false);
                fprintf(f, "<text x=\"%.1f\" y=\"%d\">%zu</text>\n", x0 + (double) g->groups[i].n * scale + 6, y + 12,
                        g->groups[i].n);
        }
        fputs("</svg>\n", f);
        if (g->n > n)
                fprintf(f, "<p class=\"note\">The %zu busiest users are shown, of %zu.</p>\n", n, g->n);
        fputs("</section>\n", f);
        return 0;
}

static void day_label(FILE *f, const struct report_group *g, int x, int y) {
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" transform=\"rotate(-40 %d %d)\">%s</text>\n", x, y,
                x, y, g->key[0]);
}

static int per_day(FILE *f, const struct report *r) {
        _cleanup_(report_groups_freep) struct report_groups *g = report_by_day(r);
        const int x0 = 50, width = CHART_WIDTH - x0 - 20, height = 160, top = 20;

        if (!g)
                return -ENOMEM;
        size_t n = at_most(g->n, MAX_DAYS), first = g->n - n;
        int step = n ? width / (int) n : width, thick = step > 60 ? 48 : step * 4 / 5;
        size_t max = biggest(g, first);
        double scale = (double) height / (double) max;
        fputs("<section id=\"per-day\"><h2>Operations per day (UTC)</h2>\n", f);
        legend(f);
        fprintf(f, "<svg role=\"img\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n", CHART_WIDTH,
                top + height + 80, CHART_WIDTH, top + height + 80);
        fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#99a\"/><text x=\"%d\" y=\"%d\" "
                   "text-anchor=\"end\">%zu</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>\n",
                x0, top + height, x0 + width, top + height, x0 - 6, top + 4, max, x0 - 6, top + height);
        for (size_t i = 0; i < n; i++) {
                const struct report_group *d = &g->groups[first + i];
                int x = x0 + step * (int) i + (step - thick) / 2;
                bar(f, d, scale, x, top + height, thick, true);
                fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"middle\">%zu</text>\n", x + thick / 2,
                        top + height - (double) d->n * scale - 4, d->n);
                if (step >= 14 || i % (size_t) (14 / (step ?: 1) + 1) == 0)
                        day_label(f, d, x + thick / 2 + 4, top + height + 14);
        }
        fputs("</svg>\n", f);
        if (first)
                fprintf(f, "<p class=\"note\">The last %d days are shown, of %zu.</p>\n", MAX_DAYS, g->n);
        fputs("</section>\n", f);
        return 0;
}

/* ---------- tables ---------- */

static void history_row(FILE *f, const struct report_row *row) {
        fputs("<tr>", f);
        time_cell(f, row->start_ms);
        cell(f, row->operation);
        cell(f, row->user);
        change_cell(f, row);
        result_cell(f, row->result);
        cell(f, row->fault);
        fputs("</tr>\n", f);
}

static void vm_history(FILE *f, const struct report_group *g) {
        size_t first = g->n > MAX_HISTORY ? g->n - MAX_HISTORY : 0;

        fputs("<details open><summary>", f);
        html(f, report_vm_name(g));
        fputs(" <span class=\"note\">(", f);
        html(f, g->key[0]);
        if (g->members[0]->vm_id) {
                fputc(':', f);
                html(f, g->key[1]);
        } else
                /* Rows refused, or failed, before the VM was looked up: the name asked for is all they have. */
                fputs(", no id: the name asked for, not looked up", f);
        fprintf(f, "; %zu operation(s), %zu OK)</span></summary>\n<table><tr><th style=\"width:190px\">Start (UTC)"
                   "</th><th style=\"width:130px\">Operation</th><th style=\"width:110px\">User</th><th>Before "
                   "&rarr; after</th><th style=\"width:80px\">Result</th><th style=\"width:150px\">Fault</th></tr>\n",
                g->n, g->counts[RESULT_OK]);
        for (size_t i = first; i < g->n; i++)
                history_row(f, g->members[i]);
        fputs("</table>", f);
        if (first)
                fprintf(f, "<p class=\"note\">The last %d operations are shown, of %zu.</p>", MAX_HISTORY, g->n);
        fputs("</details>\n", f);
}

static int vm_histories(FILE *f, const struct report *r) {
        _cleanup_(report_groups_freep) struct report_groups *g = report_vm_ops(r);

        if (!g)
                return -ENOMEM;
        fputs("<section id=\"vm-history\"><h2>Per-VM history: every operation on each VM, before &rarr; after, "
              "the busiest VMs first</h2>\n", f);
        if (g->n == 0)
                fputs("<p>No operations on VMs in the range.</p>\n", f);
        for (size_t i = 0; i < g->n && i < MAX_VMS; i++)
                vm_history(f, &g->groups[i]);
        if (g->n > MAX_VMS)
                fprintf(f, "<p class=\"note\">The %d busiest VMs are shown, of %zu.</p>\n", MAX_VMS, g->n);
        fputs("</section>\n", f);
        return 0;
}

/* A table of groups: their keys (titles t0, t1; t1 NULL for one key) and their counts by result. */
struct table {
        const char *id, *title, *t0, *t1;  /* t1: NULL for one key */
        bool by_result;                    /* a column per result, besides the total */
        struct report_groups *(*make)(const struct report *r);
};

static void table_header(FILE *f, const struct table *t) {
        fprintf(f, "<table><tr><th>%s</th>", t->t0);
        if (t->t1)
                fprintf(f, "<th>%s</th>", t->t1);
        fputs("<th class=\"n\">Total</th>", f);
        for (int c = 0; t->by_result && c < RESULT_MAX; c++)
                fprintf(f, "<th class=\"n\">%s</th>", report_result_names[c]);
        fputs("</tr>\n", f);
}

static void table_row(FILE *f, const struct table *t, const struct report_group *g) {
        fputs("<tr>", f);
        cell(f, g->key[0]);
        if (t->t1)
                cell(f, g->key[1]);
        fprintf(f, "<td class=\"n\"><b>%zu</b></td>", g->n);
        for (int c = 0; t->by_result && c < RESULT_MAX; c++)
                fprintf(f, "<td class=\"n\">%zu</td>", g->counts[c]);
        fputs("</tr>\n", f);
}

static int group_table(FILE *f, const struct report *r, const struct table *t) {
        _cleanup_(report_groups_freep) struct report_groups *g = t->make(r);

        if (!g)
                return -ENOMEM;
        fprintf(f, "<section id=\"%s\"><h2>%s</h2>\n", t->id, t->title);
        if (g->n == 0)
                return fputs("<p>None in the range.</p></section>\n", f), 0;
        table_header(f, t);
        for (size_t i = 0; i < g->n; i++)
                table_row(f, t, &g->groups[i]);
        fputs("</table></section>\n", f);
        return 0;
}

static void out_of_band_row(FILE *f, const struct report_row *row) {
        fputs("<tr>", f);
        time_cell(f, row->start_ms);
        cell(f, row->operation);
        cell(f, row->endpoint);
        cell(f, row->vm_name);
        change_cell(f, row);
        cell(f, row->platform_user);
        fputs("</tr>\n", f);
}

static int out_of_band(FILE *f, const struct report *r) {
        _cleanup_(report_groups_freep) struct report_groups *g = report_out_of_band(r);

        if (!g)
                return -ENOMEM;
        fputs("<section id=\"out-of-band\"><h2>Out-of-band changes: seen on the platform, not made through "
              "vmtraced</h2>\n", f);
        if (g->n == 0)
                return fputs("<p>None in the range.</p></section>\n", f), 0;
        fputs("<table><tr><th>Seen (UTC)</th><th>Operation</th><th>Endpoint</th><th>VM</th><th>Before &rarr; "
              "after</th><th>Platform user</th></tr>\n", f);
        for (size_t i = 0; i < g->groups[0].n && i < MAX_OUT_OF_BAND; i++)
                out_of_band_row(f, g->groups[0].members[i]);
        fputs("</table></section>\n", f);
        return 0;
}

int report_write_html(FILE *f, const struct report *r) {
        static const struct table tables[] = {
                { "failures", "Failures by fault (NG rows)", "Fault", NULL, false, report_failures },
                { "denials", "Denials (refused by the policy)", "User", "Operation", false, report_denials },
                { "logins", "Logins: the daemon's sessions on the platforms", "Endpoint", "Principal", true,
                  report_logins },
                { "per-user-day", "Operations per user per day", "Day (UTC)", "User", true, report_by_user_day },
        };
        int k;

        head(f, r);
        verify(f, r);
        k = timeline(f, r);
        if (k >= 0)
                k = per_user(f, r);
        if (k >= 0)
                k = per_day(f, r);
        if (k >= 0)
                k = vm_histories(f, r);
        for (size_t i = 0; k >= 0 && i < ELEMENTSOF(tables); i++)
                k = group_table(f, r, &tables[i]);
        if (k >= 0)
                k = out_of_band(f, r);
        fputs("</main></body></html>\n", f);
        return k < 0 ? k : ferror(f) ? -EIO : 0;
}
