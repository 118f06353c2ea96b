/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for daemon/control.c that need a request to stay in flight,
 * which no real command does for long: a "hold" command keeps its request
 * until the test answers it.  Client and daemon share one thread; the test
 * turns the event loop by hand between the client's steps.  Covered: the
 * max-operations limit, the authorizer (and default deny without one),
 * the per-uid connection limit, and control_stop() refusing new
 * connections while a request in flight still gets its answer.  And, in a
 * child whose descriptors run out: accepting pauses (no busy loop, one log
 * line) until a connection closes.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
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

        strcpy(sa.sun_path, sock_path);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        if (command) {
                char line[128];

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

/* Limits of a test daemon: only the two that tests are about differ. */
static struct control_limits test_limits(unsigned per_uid, unsigned max_operations) {
        return (struct control_limits) {
                .max_message = 4096,
                .idle_timeout_usec = 60 * 1000000ULL,
                .max_connections = 64,
                .max_connections_per_uid = per_uid,
                .max_operations = max_operations,
        };
}

/* The same, waiting up to ms for it: for a daemon in another process. */
static const char *reply_within(int fd, int ms) {
        struct pollfd p = { .fd = fd, .events = POLLIN };

        return poll(&p, 1, ms) == 1 ? reply_code(fd) : "none";
}

/* CPU time (user and system, in clock ticks) that process pid has used, or -1. */
static long cpu_ticks(pid_t pid) {
        char path[64], buf[1024];
        unsigned long user, sys;

        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return -1;
        bool read = fgets(buf, sizeof buf, f);
        fclose(f);
        if (!read)
                return -1;
        /* After "(comm)": state, five ints, five counters, then utime and stime. */
        const char *p = strrchr(buf, ')');
        if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &user, &sys) != 2)
                return -1;
        return (long) (user + sys);
}

/*
 * Leave exactly room descriptors free: a limit above every descriptor in
 * use, every free slot below it taken, then room of those given back.
 */
static int leave_room(int room) {
        struct rlimit rl;
        int fds[1024], n = 0, fd;

        int lowest = dup(STDERR_FILENO);
        if (lowest < 0 || getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -1;
        close(lowest);
        rl.rlim_cur = (rlim_t) lowest + ELEMENTSOF(fds) / 2;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -1;
        while (n < (int) ELEMENTSOF(fds) && (fd = dup(STDERR_FILENO)) >= 0)
                fds[n++] = fd;
        if (n < room)
                return -1;
        while (room-- > 0)
                close(fds[--n]);
        return 0;
}

/* A child that serves path with room descriptors to spare, its log in log_path, until it is killed. */
static pid_t serve_starved(const char *path, const char *log_path, int room) {
        const struct control_limits limits = test_limits(64, 64);
        sd_event *e = NULL;
        struct control *ctl = NULL;
        pid_t pid = fork();

        if (pid != 0)
                return pid;
        int lfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (lfd < 0 || dup2(lfd, STDERR_FILENO) < 0)
                _exit(99);
        close(lfd);
        if (sd_event_new(&e) < 0 || control_new(e, path, &limits, table, NULL, &ctl) < 0)
                _exit(99);
        control_set_authorizer(ctl, authorize);
        if (leave_room(room) < 0)
                _exit(99);
        (void) sd_event_loop(e);
        _exit(0);
}

/* How many lines of file contain what. */
static int count_lines(const char *file, const char *what) {
        _cleanup_fclose_ FILE *f = fopen(file, "re");
        char line[1024];
        int n = 0;

        while (f && fgets(line, sizeof line, f))
                n += strstr(line, what) != NULL;
        return n;
}

/*
 * Three descriptors to spare: three clients are served (the third's
 * /proc look-up finds none left, which only costs its login uid), the
 * fourth waits in the backlog while the daemon idles, and is served once
 * one of the three hangs up.
 */
static void test_out_of_descriptors(const char *dir) {
        char log_path[128];
        int c[4];

        snprintf(sock_path, sizeof sock_path, "%s/starved", dir);
        snprintf(log_path, sizeof log_path, "%s/starved.log", dir);
        pid_t pid = serve_starved(sock_path, log_path, 3);
        if (pid < 0) {
                tap_ok(false, "fork: %s", strerror(errno));
                return;
        }
        for (int i = 0; i < 100 && access(sock_path, F_OK) < 0; i++)
                usleep(10 * 1000);
        for (int i = 0; i < 3; i++) {
                c[i] = client("ping");
                tap_ok(strcmp(reply_within(c[i], 2000), "ok") == 0, "client %d of 3 is served", i + 1);
        }
        c[3] = client("ping");
        tap_ok(c[3] >= 0 && strcmp(reply_within(c[3], 200), "none") == 0, "the fourth waits: no descriptor left");
        long t0 = cpu_ticks(pid);
        usleep(1000 * 1000);
        long used = cpu_ticks(pid) - t0;
        tap_ok(t0 >= 0 && used <= sysconf(_SC_CLK_TCK) / 10, "no busy loop: %ld ticks of CPU in one second", used);
        tap_ok(count_lines(log_path, "Too many open files") == 1, "said once in the log (%d lines)",
               count_lines(log_path, "Too many open files"));
        close(c[0]);
        tap_ok(strcmp(reply_within(c[3], 2000), "ok") == 0, "once a client hangs up, the fourth is served");
        tap_ok(count_lines(log_path, "Accepting control connections again") == 1, "and the log says so");
        for (int i = 1; i < 4; i++)
                close(c[i]);
        kill(pid, SIGKILL);
        (void) waitpid(pid, NULL, 0);
        unlink(log_path);
        unlink(sock_path);
}

int main(void) {
        _cleanup_free_ char *dir = strdup("/tmp/test-control.XXXXXX");
        sd_event *e = NULL;
        struct control *ctl = NULL;
        const struct control_limits limits = test_limits(3, 1);

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
        test_out_of_descriptors(dir);
        rmdir(dir);
        return tap_done();
}
