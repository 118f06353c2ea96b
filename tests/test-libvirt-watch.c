/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A driver for tests/libvirt-watch.test: the libvirt backend's watcher
 * (watch_start/watch_stop) without the daemon's core.  It watches
 * $LV_WATCH_URI every second and prints one line per change the sink
 * gets, the values in the trail's text (value_format(), as the core would
 * write them):
 *
 *   change OPERATION | NAME | BEFORE | AFTER | WINDOW | EVENT | DETAIL
 *
 * BEFORE/AFTER are "-" for an unknown value, WINDOW is "ok" when
 * seen_unchanged_ms <= seen_changed_ms (and both are set), EVENT is the
 * platform's record or "-".  A line "bad ..." says the change broke the
 * interface's promises (target id not the UUID, a platform user libvirt
 * cannot know).  "ready" once the baseline is read; SIGTERM or SIGINT
 * stops the watch (watch_stop) and prints "stopped".
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "config.h"
#include "macros.h"
#include "value.h"

extern const struct backend_ops backend_libvirt;

static const char *text_or_dash(const char *s) {
        return s ? s : "-";
}

static void changed(void *userdata _unused_, const struct endpoint_config *ep _unused_, const struct watch_change *c) {
        const char *op = c->operation ? c->operation : op_kind_trail_name(c->kind);
        _cleanup_free_ char *before = NULL, *after = NULL;
        bool window = c->seen_unchanged_ms > 0 && c->seen_unchanged_ms <= c->seen_changed_ms;

        if (value_format(c->kind, c->before, &before) < 0 || value_format(c->kind, c->after, &after) < 0) {
                printf("bad out of memory\n");
                return;
        }
        if (!c->target->id || !c->target->uuid || strcmp(c->target->id, c->target->uuid) != 0 ||
            !c->target->host || !*c->target->host || c->platform_user)
                printf("bad %s %s: id %s, uuid %s, host %s, user %s\n", op, text_or_dash(c->target->name),
                       text_or_dash(c->target->id), text_or_dash(c->target->uuid), text_or_dash(c->target->host),
                       text_or_dash(c->platform_user));
        printf("change %s | %s | %s | %s | %s | %s | %s\n", op, text_or_dash(c->target->name), text_or_dash(before),
               text_or_dash(after), window ? "ok" : "bad", text_or_dash(c->platform_event), text_or_dash(c->detail));
        fflush(stdout);
}

int main(void) {
        const char *uri = getenv("LV_WATCH_URI");
        struct endpoint_config ep = { .name = (char *) "watched", .url = (char *) uri, .url_key = "uri",
                                      .backend = &backend_libvirt };
        struct watch_sink sink = { .changed = changed };
        struct backend_watch *w = NULL;
        struct op_error err = {};
        sigset_t set;
        int sig;

        if (!uri) {
                fprintf(stderr, "LV_WATCH_URI is not set\n");
                return 2;
        }
        /* Blocked before any thread starts, so that only sigwait() below takes them. */
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        int r = backend_libvirt.watch_start(&ep, 1, &sink, &w, &err);
        if (r < 0) {
                fprintf(stderr, "watch_start: %s: %s (%d)\n", err.fault, err.message, r);
                return 1;
        }
        printf("ready\n");
        fflush(stdout);
        sigwait(&set, &sig);
        backend_libvirt.watch_stop(w);
        printf("stopped\n");
        return 0;
}
