/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for daemon/control.c that need a request to stay in flight,
 * which no real command does for long: a "hold" command keeps its request
 * until the test answers it.  Client and daemon share one thread; the test
 * turns the event loop by hand between the client's steps.  Covered: the
 * max-operations limit, the authorizer (and default deny without one),
 * the per-uid connection limit, and control_stop() refusing new
 * connections while a request in flight still gets its answer.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "commands.h"
#include "control.h"
#include "macros.h"
#include "tap.h"

static struct control_request *held;
static bool deny_all;

static void handle_hold(struct control_request *req, void *userdata _unused_) {
        held = req;
}

static void handle_ping(struct control_request *req, void *userdata _unused_) {
        control_reply(req, PROTO_OK, NULL, NULL);
}

static bool authorize(struct control_request *req, void *userdata _unused_) {
        if (deny_all || strcmp(control_request_command(req)->name, "secret") == 0) {
                control_reply(req, PROTO_E_DENIED, "test policy says no", NULL);
                return false;
        }
        return true;
}

/* Only name and handler matter to control.c; the rest is the authorizer's. */
static const struct command table[] = {
        { .name = "hold", .handler = handle_hold },
        { .name = "ping", .handler = handle_ping },
        { .name = "secret", .handler = handle_ping },
        {},
};

static char sock_path[108];

static void spin(sd_event *e) {
        for (int i = 0; i < 20; i++)
                (void) sd_event_run(e, 10 * 1000);
}

static int client(const char *command) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        char line[128];

        strcpy(sa.sun_path, sock_path);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        if (command) {
                snprintf(line, sizeof line, "{\"version\":1,\"id\":1,\"command\":\"%s\"}\n", command);
                if (send(fd, line, strlen(line), MSG_NOSIGNAL) < 0) {
                        close(fd);
                        return -1;
                }
        }
        return fd;
}

/* The error code of the reply waiting on fd, "ok", "none" if nothing came, or "closed". */
static const char *reply_code(int fd) {
        static char code[64];
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);

        if (n == 0)
                return "closed";
        if (n < 0)
                return "none";
        buf[n] = '\0';
        struct json_object *o = json_tokener_parse(buf), *err, *c;
        snprintf(code, sizeof code, "%s",
                 !o ? "garbage"
                    : json_object_object_get_ex(o, "error", &err) && json_object_object_get_ex(err, "code", &c)
                              ? json_object_get_string(c)
                              : "ok");
        json_object_put(o);
        return code;
}

int main(void) {
        _cleanup_free_ char *dir = strdup("/tmp/test-control.XXXXXX");
        sd_event *e = NULL;
        struct control *ctl = NULL;
        const struct control_limits limits = {
                .max_message = 4096,
                .idle_timeout_usec = 10 * 1000000ULL,
                .max_connections = 16,
                .max_connections_per_uid = 3,
                .max_operations = 1,
        };

        if (!dir || !mkdtemp(dir) || sd_event_new(&e) < 0)
                return 99;
        snprintf(sock_path, sizeof sock_path, "%s/s", dir);
        if (control_new(e, sock_path, &limits, table, NULL, &ctl) < 0)
                return 99;

        /* No authorizer yet: default deny. */
        int a = client("ping");
        spin(e);
        tap_ok(strcmp(reply_code(a), "denied") == 0, "without an authorizer every request is denied");
        close(a);
        control_set_authorizer(ctl, authorize);

        int c1 = client("hold");
        spin(e);
        tap_ok(held != NULL, "hold is in flight");
        tap_ok(control_operations_in_flight(ctl) == 1, "one operation in flight");
        int c2 = client("hold");
        spin(e);
        tap_ok(strcmp(reply_code(c2), "unavailable") == 0, "second operation refused at max-operations = 1");
        tap_ok(control_operations_in_flight(ctl) == 1, "still one in flight");
        close(c2);

        int c3 = client("secret");
        spin(e);
        tap_ok(strcmp(reply_code(c3), "denied") == 0, "authorizer refusal reaches the client as denied");
        close(c3);

        /* Per uid: c1 plus two more are three; the fourth is refused. */
        int i1 = client(NULL), i2 = client(NULL), i3 = client(NULL);
        spin(e);
        tap_ok(strcmp(reply_code(i3), "unavailable") == 0, "fourth connection of one uid refused (per-uid = 3)");
        tap_ok(strcmp(reply_code(i1), "none") == 0 && strcmp(reply_code(i2), "none") == 0,
               "the first three stay open");
        close(i1), close(i2), close(i3);
        spin(e);

        /* Stop accepting: new clients cannot connect, the held request is still answered. */
        control_stop(ctl);
        int late = client("ping");
        tap_ok(late < 0, "after control_stop() no new connection (%s)", late < 0 ? strerror(errno) : "connected");
        if (late >= 0)
                close(late);
        control_reply(held, PROTO_OK, NULL, NULL);
        held = NULL;
        spin(e);
        tap_ok(strcmp(reply_code(c1), "ok") == 0, "request in flight at stop gets its answer");
        tap_ok(control_operations_in_flight(ctl) == 0, "nothing in flight afterwards");
        close(c1);

        control_free(ctl);
        sd_event_unref(e);
        rmdir(dir);
        return tap_done();
}
