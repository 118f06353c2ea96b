/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmctl waiting for a long operation: progress and Ctrl-C.
 *
 * Progress events ({"type":"progress","trail_id":N,"state":...,"percent":P})
 * are noted here whatever the output form, so Ctrl-C knows the trail row.
 * For a person (vmctl-output.c's human form) they are drawn as one bar on
 * stderr when it is a terminal, as plain lines otherwise.  NO_COLOR turns
 * colour off.
 *
 * Ctrl-C never leaves the trail wrong: the daemon finishes the row whatever
 * vmctl does.  On a terminal vmctl asks whether to cancel the task (a
 * "cancel" request on a new connection; then it goes on waiting for the true
 * outcome) or to detach (close the connection and exit 130; the operation
 * goes on).  Without a terminal there is nobody to ask: it detaches.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "macros.h"
#include "proto.h"
#include "util.h"
#include "vmctl-conn.h"
#include "vmctl-wait.h"

#define BAR_WIDTH 30

static volatile sig_atomic_t sigint_pending;
static struct sigaction old_sigint;

static void on_sigint(int sig _unused_) {
        sigint_pending = 1;
}

bool vmctl_wait_sigint_pending(void) {
        return sigint_pending;
}

static bool use_colour(void) {
        const char *nc = getenv("NO_COLOR");
        return !(nc && *nc) && isatty(STDERR_FILENO);
}

void vmctl_wait_begin(struct vmctl_wait *w, const char *socket) {
        /* No SA_RESTART: recv() must return EINTR so the wait loop can ask. */
        struct sigaction sa = { .sa_handler = on_sigint };

        *w = (struct vmctl_wait) { .socket = socket };
        sigint_pending = 0;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGINT, &sa, &old_sigint) < 0)
                log_error_errno(-errno, "Failed to catch SIGINT: %m");
}

static void bar_clear(struct vmctl_wait *w) {
        if (w->bar_drawn)
                fputs("\r\033[K", stderr);
        w->bar_drawn = false;
}

void vmctl_format_elapsed(int64_t ms, char *buf, size_t len) {
        int64_t s = ms / 1000;

        if (s < 60)
                snprintf(buf, len, "%" PRId64 "s", s);
        else if (s < 3600)
                snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
        else
                snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", s / 3600, s / 60 % 60);
}

/* ", 12s" since the operation began (start_ms of its events), or "" before one said. */
static void elapsed(const struct vmctl_wait *w, char *buf, size_t len) {
        int64_t ms = now_ms() - w->start_ms;
        char t[24];

        buf[0] = '\0';
        if (w->start_ms <= 0 || ms / 1000 < 0)
                return;
        vmctl_format_elapsed(ms, t, sizeof t);
        snprintf(buf, len, ", %s", t);
}

/* The state in words: a queued request says whom it waits for. */
static void state_words(const char *state, int64_t waiting_for, char *buf, size_t len) {
        if (waiting_for > 0)
                snprintf(buf, len, "%s: waiting for trail #%" PRId64 " on this VM", strempty(state), waiting_for);
        else
                snprintf(buf, len, "%s", strempty(state));
}

static void bar_draw(struct vmctl_wait *w, int percent, const char *state) {
        bool colour = use_colour();
        int filled = percent < 0 ? 0 : percent * BAR_WIDTH / 100;
        char bar[BAR_WIDTH + 1], since[32];

        memset(bar, '#', (size_t) filled);
        memset(bar + filled, '.', (size_t) (BAR_WIDTH - filled));
        bar[BAR_WIDTH] = '\0';
        elapsed(w, since, sizeof since);
        fprintf(stderr, "\r\033[K%s[%.*s%s%s]%s ", colour ? "\033[1m" : "", filled, bar, colour ? "\033[2m" : "",
                bar + filled, colour ? "\033[0m" : "");
        if (percent >= 0)
                fprintf(stderr, "%3d%% ", percent);
        fprintf(stderr, "%s  (trail #%" PRId64 "%s, Ctrl-C to cancel or detach)", state, w->trail_id, since);
        fflush(stderr);
        w->bar_drawn = true;
}

static int64_t event_int(struct json_object *msg, const char *key, int64_t none) {
        struct json_object *v;

        return json_object_object_get_ex(msg, key, &v) && json_object_is_type(v, json_type_int) ?
                json_object_get_int64(v) : none;
}

void vmctl_wait_event(struct vmctl_wait *w, struct json_object *msg) {
        int64_t id = event_int(msg, "trail_id", 0), start = event_int(msg, "start_ms", 0);

        if (id > 0)
                w->trail_id = id;
        if (start > 0)
                w->start_ms = start;
}

void vmctl_wait_show(struct vmctl_wait *w, struct json_object *msg) {
        int percent = (int) event_int(msg, "percent", -1);
        const char *task = vmctl_jstr(msg, "task");
        char state[160], since[32];

        state_words(vmctl_jstr(msg, "state"), event_int(msg, "waiting_for", 0), state, sizeof state);
        if (isatty(STDERR_FILENO)) {
                bar_draw(w, percent, state);
                return;
        }
        /* Plain lines go to logs: one per change, not one per update. */
        if (percent == w->last_percent && strcmp(state, w->last_state) == 0 && !task)
                return;
        w->last_percent = percent;
        snprintf(w->last_state, sizeof w->last_state, "%s", state);
        elapsed(w, since, sizeof since);
        fprintf(stderr, "vmctl: trail #%" PRId64 ": %s", w->trail_id, state);
        if (percent >= 0)
                fprintf(stderr, " %d%%", percent);
        if (task)
                fprintf(stderr, " (task %s)", task);
        fprintf(stderr, "%s\n", since);
}

/* A "cancel" request on a new connection; the first one keeps waiting for the outcome. */
static int send_cancel(struct vmctl_wait *w) {
        _cleanup_(json_object_putp) struct json_object *reply = NULL;
        struct json_object *args = json_object_new_object();

        json_object_object_add(args, "trail_id", json_object_new_int64(w->trail_id));
        /* A plain exchange: no progress, no Ctrl-C handling of its own, nothing shown but a refusal. */
        _cleanup_close_ int fd = vmctl_send(w->socket, "cancel", args);
        if (fd < 0)
                return fd;
        char buf[4096];
        ssize_t n;
        do
                n = recv(fd, buf, sizeof buf - 1, 0);
        while (n < 0 && errno == EINTR);
        if (n <= 0)
                return log_error_errno(n < 0 ? -errno : -ECONNRESET, "No answer to the cancel request: %m");
        buf[n] = '\0';
        char why[256];
        char *nl = strchr(buf, '\n');
        if (nl)
                *nl = '\0';
        if (proto_parse(buf, strlen(buf), &reply, why, sizeof why) < 0)
                return log_error_errno(-EBADMSG, "Bad answer to the cancel request: %s", why);
        if (vmctl_reply_status(reply) != EXIT_OK) {
                struct json_object *err = NULL;
                json_object_object_get_ex(reply, "error", &err);
                log_error("Cancel refused: %s", strempty(vmctl_jstr(err, "message")));
                return -EPERM;
        }
        return 0;
}

int vmctl_wait_interrupted(struct vmctl_wait *w) {
        sigint_pending = 0;
        bar_clear(w);

        if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO)) {
                log_info("Interrupted: detaching. The operation goes on%s.",
                         w->trail_id ? "; its trail row records the outcome" : "");
                if (w->trail_id)
                        log_info("Trail #%" PRId64 ".", w->trail_id);
                return EXIT_DETACHED;
        }
        for (;;) {
                fprintf(stderr, "\nvmctl: cancel the task or detach? [c/d] ");
                fflush(stderr);
                char answer[16];
                if (!fgets(answer, sizeof answer, stdin) || sigint_pending) {
                        fputc('\n', stderr);
                        answer[0] = 'd';
                }
                if (answer[0] == 'd' || answer[0] == 'D') {
                        fprintf(stderr, "vmctl: detached; the operation goes on, trail #%" PRId64 " records its outcome.\n",
                                w->trail_id);
                        return EXIT_DETACHED;
                }
                if (answer[0] != 'c' && answer[0] != 'C')
                        continue;
                if (w->trail_id == 0) {
                        fprintf(stderr, "vmctl: the operation has not started its task yet; still waiting.\n");
                        return 0;
                }
                if (send_cancel(w) >= 0) {
                        w->cancel_sent = true;
                        fprintf(stderr, "vmctl: cancel requested for trail #%" PRId64 "; waiting for the outcome.\n",
                                w->trail_id);
                }
                return 0;
        }
}

void vmctl_wait_end(struct vmctl_wait *w) {
        bar_clear(w);
        fflush(stderr);
        (void) sigaction(SIGINT, &old_sigint, NULL);
}
