/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Control socket: accept, credentials, framing, limits, dispatch.  See
 * control.h.  A connection handles one request at a time: while a request is
 * in flight, the connection is not read, so a client can never queue more
 * than one message's worth of work or memory.  Any protocol error gets an
 * error reply and closes that connection; nothing a client sends can stop
 * the daemon or other clients.  Out of file descriptors, it stops accepting
 * for a while instead of spinning (accept_pause()).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "control.h"
#include "log.h"
#include "macros.h"
#include "util.h"

/* Out of file descriptors: try accepting again after this long even if no connection closes. */
#define ACCEPT_RETRY_USEC (1000 * 1000ULL)
/* How long a refused client's remaining input is read and dropped before the close (not re-armed). */
#define DRAIN_USEC (2 * 1000 * 1000ULL)

struct conn;

struct control_request {
        struct conn *conn;
        const struct command *cmd;
        int64_t id;
        struct json_object *root;   /* keeps args alive */
        struct json_object *args;
        bool counted;               /* admitted: counts against max_operations */
};

struct conn {
        struct control *ctl;
        struct conn *prev, *next;
        int fd;
        sd_event_source *io;
        sd_event_source *timer;
        struct peer peer;
        struct proto_reader reader;
        char *out;                  /* unsent reply bytes */
        size_t out_len, out_off;
        struct control_request *inflight;
        bool eof;                   /* peer sent EOF or the connection failed */
        bool closing;               /* close once the output is flushed */
        bool draining;              /* closing: reply sent, our side shut, the rest of the input discarded */
        bool processing;            /* inside conn_process(): don't re-enter */
};

struct control {
        sd_event *event;
        int fd;
        bool bound;                 /* we bound it (not socket activation): unlink on exit */
        dev_t bound_dev;            /* ... the file bind() made, so that only that one is unlinked */
        ino_t bound_ino;
        char *path;
        sd_event_source *accept_source;
        sd_event_source *accept_retry;  /* one-shot timer, armed while accepting is paused */
        bool fd_starved;            /* said so in the log; cleared by the next accept that works */
        struct control_limits limits;
        const struct command *table;
        void *userdata;
        struct conn *conns;
        unsigned n_conns;
        unsigned n_operations;      /* counted requests in flight */
        control_authorize_fn authorize;
};

static void conn_process(struct conn *c);
static void conn_update(struct conn *c);

/*
 * accept() failed for want of a file descriptor.  The connection stays in
 * the backlog and the source is level-triggered, so on_accept() would be
 * called again at once, for ever: a busy loop that floods the log.  Like
 * bgpd's pauseaccept, stop watching the socket until a connection closes
 * (conn_free()) or, as the descriptors may come free elsewhere (a session,
 * the trail), until ACCEPT_RETRY_USEC have passed.
 */
static void accept_pause(struct control *ctl, int error) {
        if (!ctl->fd_starved)
                log_warning_errno(error, "Failed to accept a control connection: %m; "
                                  "not accepting until a connection closes.");
        ctl->fd_starved = true;
        (void) sd_event_source_set_enabled(ctl->accept_source, SD_EVENT_OFF);
        (void) sd_event_source_set_time_relative(ctl->accept_retry, ACCEPT_RETRY_USEC);
        (void) sd_event_source_set_enabled(ctl->accept_retry, SD_EVENT_ONESHOT);
}

/* Switching on what is on, or off what is off, is free: no need to know whether it was paused. */
static void accept_resume(struct control *ctl) {
        if (!ctl->accept_source)
                return;   /* stopped */
        (void) sd_event_source_set_enabled(ctl->accept_retry, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(ctl->accept_source, SD_EVENT_ON);
}

static int on_accept_retry(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        accept_resume(userdata);
        return 0;
}

static void conn_free(struct conn *c) {
        struct control *ctl = c->ctl;

        if (c->prev)
                c->prev->next = c->next;
        else
                ctl->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        ctl->n_conns--;

        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->timer);
        if (c->fd >= 0)
                close(c->fd);
        proto_reader_done(&c->reader);
        free(c->out);
        free(c);
        accept_resume(ctl);   /* a descriptor is free again */
}

static void conn_flush(struct conn *c) {
        while (c->out_off < c->out_len) {
                ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return;
                        log_debug("Dropping reply to uid=%u pid=%d: %m", c->peer.uid, c->peer.pid);
                        c->out_len = c->out_off = 0;
                        c->eof = c->closing = true;
                        return;
                }
                c->out_off += (size_t) n;
        }
        c->out_len = c->out_off = 0;
}

static int conn_queue(struct conn *c, const char *line) {
        size_t n = strlen(line);
        char *b = realloc(c->out, c->out_len + n);
        if (!b)
                return -ENOMEM;
        memcpy(b + c->out_len, line, n);
        c->out = b;
        c->out_len += n;
        conn_flush(c);
        return 0;
}

/*
 * A connection closed while the client is still sending (a message over
 * the size limit) would make the client's write fail with EPIPE, and a
 * client such as socat then stops before it reads the error reply.  So,
 * as HTTP servers linger, our side is shut once the reply is out and the
 * client's input is read and dropped until its EOF, for DRAIN_USEC at most.
 */
static void conn_start_draining(struct conn *c) {
        c->draining = true;
        (void) shutdown(c->fd, SHUT_WR);
        sd_event_source_set_time_relative(c->timer, DRAIN_USEC);
        sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
}

static void conn_drain(struct conn *c) {
        char buf[16384];
        ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);

        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                c->eof = true;
        conn_update(c);
}

/* Re-arm the event sources after any change; frees the connection when it is finished. */
static void conn_update(struct conn *c) {
        bool want_out = c->out_len > c->out_off;

        if (c->closing && !want_out && !c->inflight) {
                if (c->eof) {
                        conn_free(c);
                        return;
                }
                if (!c->draining)
                        conn_start_draining(c);
        }
        uint32_t ev = (want_out ? EPOLLOUT : 0) |
                      (!c->inflight && !c->eof && (!c->closing || c->draining) ? EPOLLIN : 0);
        if (ev == 0)
                sd_event_source_set_enabled(c->io, SD_EVENT_OFF);
        else {
                sd_event_source_set_io_events(c->io, ev);
                sd_event_source_set_enabled(c->io, SD_EVENT_ON);
        }
}

static void conn_error(struct conn *c, int64_t id, enum proto_error e, const char *why) {
        _cleanup_free_ char *line = proto_format_reply(id, e, why, NULL);

        log_warning("Control client uid=%u pid=%d: %s: %s; closing connection.", c->peer.uid, c->peer.pid,
                    proto_error_to_string(e), why);
        if (line)
                (void) conn_queue(c, line);
        c->closing = true;
}

static const struct command *find_command(struct control *ctl, const char *name) {
        for (const struct command *cmd = ctl->table; cmd->name; cmd++)
                if (strcmp(cmd->name, name) == 0)
                        return cmd;
        return NULL;
}

static void conn_handle(struct conn *c, const char *line, size_t len) {
        struct proto_request pr;
        char why[256];

        int r = proto_parse_request(line, len, &pr, why, sizeof why);
        if (r < 0) {
                conn_error(c, 0, r == -EPROTONOSUPPORT ? PROTO_E_VERSION : PROTO_E_BAD_REQUEST, why);
                return;
        }
        const struct command *cmd = find_command(c->ctl, pr.command);
        if (!cmd) {
                snprintf(why, sizeof why, "unknown command \"%.64s\"", pr.command);
                conn_error(c, pr.id, PROTO_E_UNKNOWN_COMMAND, why);
                json_object_put(pr.root);
                return;
        }
        struct control_request *req = calloc(1, sizeof *req);
        if (!req) {
                conn_error(c, pr.id, PROTO_E_INTERNAL, "out of memory");
                json_object_put(pr.root);
                return;
        }
        *req = (struct control_request) { .conn = c, .cmd = cmd, .id = pr.id, .root = pr.root, .args = pr.args };
        c->inflight = req;
        log_debug("Request %s from uid=%u pid=%d.", cmd->name, c->peer.uid, c->peer.pid);
        /* Authorisation in one place, for every command; default deny. */
        if (!c->ctl->authorize) {
                control_reply(req, PROTO_E_DENIED, "no authorisation configured", NULL);
                return;
        }
        if (!c->ctl->authorize(req, c->ctl->userdata))
                return;
        if (c->ctl->n_operations >= c->ctl->limits.max_operations) {
                log_warning("Control client uid=%u pid=%d: %s refused, %u operations in flight (max-operations).",
                            c->peer.uid, c->peer.pid, cmd->name, c->ctl->n_operations);
                control_reply(req, PROTO_E_UNAVAILABLE, "too many operations in flight; try again later", NULL);
                return;
        }
        req->counted = true;
        c->ctl->n_operations++;
        cmd->handler(req, c->ctl->userdata);
}

/* Handle complete lines until a request goes in flight or the input runs dry. */
static void conn_process(struct conn *c) {
        c->processing = true;
        while (!c->inflight && !c->closing) {
                char *line;
                size_t len;
                int r = proto_reader_next(&c->reader, &line, &len);
                if (r == 0)
                        break;
                if (r < 0) {
                        conn_error(c, 0, PROTO_E_TOO_LARGE, "message exceeds the size limit");
                        break;
                }
                conn_handle(c, line, len);
        }
        c->processing = false;
        if (c->eof && !c->inflight)
                c->closing = true;
        conn_update(c);
}

/* Restart the idle timer. */
static void conn_touch(struct conn *c) {
        sd_event_source_set_time_relative(c->timer, c->ctl->limits.idle_timeout_usec);
        sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
}

static void conn_read(struct conn *c) {
        char buf[16384];
        ssize_t n;

        if (c->draining) {
                conn_drain(c);
                return;
        }
        n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);

        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return;
                log_debug("Control client uid=%u pid=%d: %m", c->peer.uid, c->peer.pid);
                c->eof = true;
        } else if (n == 0)
                c->eof = true;
        else {
                int r = proto_reader_feed(&c->reader, buf, (size_t) n);
                if (r < 0) {
                        conn_error(c, 0, r == -EMSGSIZE ? PROTO_E_TOO_LARGE : PROTO_E_INTERNAL,
                                   r == -EMSGSIZE ? "message exceeds the size limit" : "out of memory");
                        conn_update(c);
                        return;
                }
                conn_touch(c);
        }
        conn_process(c);
}

static int on_conn_io(sd_event_source *s _unused_, int fd _unused_, uint32_t revents, void *userdata) {
        struct conn *c = userdata;

        if (revents & EPOLLOUT) {
                conn_flush(c);
                if (c->out_len == 0 && !c->inflight && !c->closing) {
                        conn_process(c);   /* the reply went out: take the next request */
                        return 0;
                }
        }
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
                conn_read(c);
        else
                conn_update(c);
        return 0;
}

static int on_conn_idle(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
        struct conn *c = userdata;

        if (c->draining) {
                c->eof = true; /* enough input dropped */
                conn_update(c);
                return 0;
        }
        /* A request in flight is the daemon's time, not the client's idleness. */
        if (c->inflight) {
                conn_touch(c);
                return 0;
        }
        conn_error(c, 0, PROTO_E_TIMEOUT, "no complete request within the idle timeout");
        conn_update(c);
        return 0;
}

/* A number from /proc/PID/NAME, or PEER_UNSET when it cannot be read (the process is gone, no audit). */
static uint32_t read_proc_id(pid_t pid, const char *name) {
        char path[64], buf[32];
        unsigned long v;
        char *end;

        snprintf(path, sizeof path, "/proc/%d/%s", (int) pid, name);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return PEER_UNSET;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        if (n <= 0)
                return PEER_UNSET;
        buf[n] = '\0';
        errno = 0;
        v = strtoul(buf, &end, 10);
        if (errno || end == buf || v > UINT32_MAX)
                return PEER_UNSET;
        return (uint32_t) v;
}

/*
 * Who a uid is: its name, its primary group's name and its groups, from
 * the user and group databases.  Looked up once per uid and primary gid,
 * with one passwd read for both the name and getgrouplist(), and kept
 * IDENTITY_KEEP_MS: a burst of connections reads /etc/passwd and /etc/group
 * once, and a change to a user's groups counts within seconds.  Only the
 * event loop's thread accepts connections, so the cache needs no lock.
 */
#define IDENTITY_CACHE 16
#define IDENTITY_KEEP_MS 5000

struct identity {
        uid_t uid;
        gid_t gid;
        int64_t at_ms;             /* CLOCK_MONOTONIC; 0: empty */
        char user[sizeof ((struct peer *) 0)->user];
        char group[sizeof ((struct peer *) 0)->group];
        gid_t groups[PEER_MAX_GROUPS];
        int n_groups;
};

static struct identity identities[IDENTITY_CACHE];
static unsigned identities_next;

/* The groups come from the full user name (it may not fit id->user); just the primary one if it has no name. */
static void identity_lookup(struct identity *id) {
        struct passwd pw, *res = NULL;
        char tmp[4096];
        int n = PEER_MAX_GROUPS;

        if (getpwuid_r(id->uid, &pw, tmp, sizeof tmp, &res) != 0)
                res = NULL;
        if (res)
                snprintf(id->user, sizeof id->user, "%s", res->pw_name);
        else
                snprintf(id->user, sizeof id->user, "%u", (unsigned) id->uid);
        gid_to_name(id->gid, id->group, sizeof id->group);
        id->groups[0] = id->gid;
        id->n_groups = 1;
        if (!res)
                return;
        /* On overflow getgrouplist() fills what fits: a member of 65 groups is judged on the first 64. */
        if (getgrouplist(res->pw_name, id->gid, id->groups, &n) < 0)
                n = PEER_MAX_GROUPS;
        id->n_groups = n > 0 ? n : 1;
        id->groups[0] = id->gid;
}

static const struct identity *identity_of(uid_t uid, gid_t gid) {
        int64_t now = monotonic_ms();
        struct identity *id;

        for (size_t i = 0; i < IDENTITY_CACHE; i++) {
                id = &identities[i];
                if (id->at_ms && id->uid == uid && id->gid == gid && now - id->at_ms < IDENTITY_KEEP_MS)
                        return id;
        }
        id = &identities[identities_next++ % IDENTITY_CACHE];
        *id = (struct identity) { .uid = uid, .gid = gid, .at_ms = now ? now : 1 };
        identity_lookup(id);
        return id;
}

static int conn_credentials(int fd, struct peer *p) {
        struct ucred cr;
        socklen_t len = sizeof cr;
        const struct identity *id;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
                return -errno;
        if (len != sizeof cr)
                return -EPROTO;
        *p = (struct peer) { .uid = cr.uid, .gid = cr.gid, .pid = cr.pid };
        id = identity_of(cr.uid, cr.gid);
        memcpy(p->user, id->user, sizeof p->user);
        memcpy(p->group, id->group, sizeof p->group);
        memcpy(p->groups, id->groups, sizeof p->groups);
        p->n_groups = id->n_groups;
        /* Read now: the pid is only that process's while it is connected. */
        p->loginuid = read_proc_id(cr.pid, "loginuid");
        p->sessionid = read_proc_id(cr.pid, "sessionid");
        return 0;
}

static unsigned conns_of_uid(const struct control *ctl, uid_t uid) {
        unsigned n = 0;

        for (const struct conn *c = ctl->conns; c; c = c->next)
                n += c->peer.uid == uid;
        return n;
}

static int conn_new(struct control *ctl, int fd) {
        _cleanup_close_ int cfd = fd;
        struct conn *c;
        int r;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->fd = -1;
        c->ctl = ctl;
        proto_reader_init(&c->reader, ctl->limits.max_message);
        c->next = ctl->conns;
        if (ctl->conns)
                ctl->conns->prev = c;
        ctl->conns = c;
        ctl->n_conns++;
        c->fd = TAKE_FD(cfd);

        r = conn_credentials(c->fd, &c->peer);
        if (r < 0)
                goto fail;
        r = sd_event_add_io(ctl->event, &c->io, c->fd, EPOLLIN, on_conn_io, c);
        if (r < 0)
                goto fail;
        r = sd_event_add_time_relative(ctl->event, &c->timer, CLOCK_MONOTONIC, ctl->limits.idle_timeout_usec, 0,
                                       on_conn_idle, c);
        if (r < 0)
                goto fail;
        if (ctl->n_conns > ctl->limits.max_connections) {
                conn_error(c, 0, PROTO_E_UNAVAILABLE, "too many connections; try again later");
                conn_update(c);
        } else if (conns_of_uid(ctl, c->peer.uid) > ctl->limits.max_connections_per_uid) {
                conn_error(c, 0, PROTO_E_UNAVAILABLE, "too many connections from this user; try again later");
                conn_update(c);
        }
        return 0;

fail:
        conn_free(c);
        return r;
}

static int on_accept(sd_event_source *s _unused_, int fd, uint32_t revents _unused_, void *userdata) {
        struct control *ctl = userdata;
        int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

        if (cfd < 0) {
                if (errno == EMFILE || errno == ENFILE)
                        accept_pause(ctl, -errno);
                else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                        log_error_errno(-errno, "Failed to accept a control connection: %m");
                return 0;
        }
        if (ctl->fd_starved) {
                ctl->fd_starved = false;
                log_info("Accepting control connections again.");
        }
        int r = conn_new(ctl, cfd);
        if (r < 0)
                log_error_errno(r, "Failed to set up a control connection: %m");
        return 0;
}

/* 1 when somebody accepts connections on sa, 0 when nobody does, or a negative errno: cannot tell. */
static int socket_in_use(const struct sockaddr_un *sa) {
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        if (fd < 0)
                return -errno;
        if (connect(fd, (const struct sockaddr *) sa, sizeof *sa) == 0)
                return 1;
        /* A listener whose backlog is full is as alive as one that answers. */
        if (errno == EAGAIN || errno == EINPROGRESS)
                return 1;
        if (errno == ECONNREFUSED || errno == ENOENT)
                return 0;
        return -errno;
}

/*
 * A socket file an earlier run left behind would make bind() fail, so it is
 * removed, but only when nobody answers on it: unlinking the socket of an
 * instance still running would leave that one serving a name nobody can
 * reach, and the trail with two writers.  Anything but a socket is left
 * alone (bind() then says why).
 */
static int remove_stale_socket(const struct sockaddr_un *sa) {
        const char *path = sa->sun_path;
        struct stat st;

        if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
                return 0;
        int r = socket_in_use(sa);
        if (r > 0)
                return log_error_errno(-EADDRINUSE, "Refusing to start: another vmtraced is serving %s.", path);
        if (r < 0)
                return log_error_errno(r, "Refusing to start: cannot tell whether %s is still served: %m", path);
        if (unlink(path) < 0 && errno != ENOENT)
                return log_error_errno(-errno, "Failed to remove the stale socket %s: %m", path);
        log_info("Removed the stale socket %s: nobody answered on it.", path);
        return 0;
}

/* Socket activation hands us the socket; else bind our own. */
static int control_listen(struct control *ctl, const char *path) {
        int n = sd_listen_fds(1);

        if (n > 1)
                return log_error_errno(-EINVAL, "Expected at most one socket from systemd, got %d.", n);
        if (n == 1) {
                if (sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0)
                        return log_error_errno(-EINVAL, "The socket from systemd is not a listening Unix stream socket.");
                ctl->fd = SD_LISTEN_FDS_START;
                return 0;
        }

        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof sa.sun_path)
                return log_error_errno(-ENAMETOOLONG, "Socket path %s is too long.", path);
        strcpy(sa.sun_path, path);

        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return log_error_errno(-errno, "Failed to create socket: %m");

        int r = remove_stale_socket(&sa);
        if (r < 0)
                return r;

        mode_t old = umask(0117);   /* 0660: the operators' group may connect, others may not */
        r = bind(fd, (struct sockaddr *) &sa, sizeof sa);
        umask(old);
        if (r < 0)
                return log_error_errno(-errno, "Failed to bind %s: %m", path);
        if (listen(fd, SOMAXCONN) < 0) {
                r = log_error_errno(-errno, "Failed to listen on %s: %m", path);
                (void) unlink(path);
                return r;
        }
        struct stat st;
        if (lstat(path, &st) == 0) {
                ctl->bound_dev = st.st_dev;
                ctl->bound_ino = st.st_ino;
        }
        ctl->fd = TAKE_FD(fd);
        ctl->bound = true;
        return 0;
}

/*
 * Remove the socket file we bound, and only that one: once we stopped
 * accepting, a new instance may have taken the path over with a socket of
 * its own, which must stay.
 */
static void unlink_own_socket(const struct control *ctl) {
        struct stat st;

        if (lstat(ctl->path, &st) == 0 && st.st_dev == ctl->bound_dev && st.st_ino == ctl->bound_ino)
                (void) unlink(ctl->path);
}

int control_new(sd_event *event, const char *path, const struct control_limits *limits,
                const struct command *table, void *userdata, struct control **out) {
        struct control *ctl = calloc(1, sizeof *ctl);
        int r;

        if (!ctl)
                return log_oom();
        *ctl = (struct control) {
                .event = event, .fd = -1, .limits = *limits, .table = table, .userdata = userdata,
        };
        ctl->path = strdup(path);
        if (!ctl->path) {
                r = log_oom();
                goto fail;
        }
        r = control_listen(ctl, path);
        if (r < 0)
                goto fail;
        r = sd_event_add_io(event, &ctl->accept_source, ctl->fd, EPOLLIN, on_accept, ctl);
        /* Made now, off: when it is needed there may be no descriptor left for a timerfd. */
        if (r >= 0)
                r = sd_event_add_time_relative(event, &ctl->accept_retry, CLOCK_MONOTONIC, ACCEPT_RETRY_USEC, 0,
                                               on_accept_retry, ctl);
        if (r >= 0)
                r = sd_event_source_set_enabled(ctl->accept_retry, SD_EVENT_OFF);
        if (r < 0) {
                log_error_errno(r, "Failed to watch the control socket: %m");
                goto fail;
        }
        *out = ctl;
        return 0;

fail:
        control_free(ctl);
        return r;
}

void control_stop(struct control *ctl) {
        if (!ctl)
                return;
        ctl->accept_source = sd_event_source_disable_unref(ctl->accept_source);
        ctl->accept_retry = sd_event_source_disable_unref(ctl->accept_retry);
        if (ctl->fd >= 0) {
                close(ctl->fd);
                ctl->fd = -1;
        }
        if (ctl->bound)
                unlink_own_socket(ctl);
        ctl->bound = false;
}

void control_free(struct control *ctl) {
        if (!ctl)
                return;
        control_stop(ctl);
        while (ctl->conns) {
                /* Requests still in flight lose their connection, not their trail row. */
                if (ctl->conns->inflight)
                        ctl->conns->inflight->conn = NULL;
                ctl->conns->inflight = NULL;
                conn_free(ctl->conns);
        }
        free(ctl->path);
        free(ctl);
}

unsigned control_connection_count(const struct control *ctl) {
        return ctl->n_conns;
}

void control_set_authorizer(struct control *ctl, control_authorize_fn fn) {
        ctl->authorize = fn;
}

void control_set_limits(struct control *ctl, const struct control_limits *limits) {
        ctl->limits = *limits;
}

int control_socket_access(struct control *ctl, mode_t mode, gid_t gid) {
        if (!ctl->bound)
                return 0;   /* systemd's SocketMode= and SocketGroup= rule */
        if (gid != (gid_t) -1 && chown(ctl->path, (uid_t) -1, gid) < 0)
                return log_error_errno(-errno, "Failed to give %s to gid %u: %m", ctl->path, (unsigned) gid);
        if (chmod(ctl->path, mode) < 0)
                return log_error_errno(-errno, "Failed to set mode %04o on %s: %m", (unsigned) mode, ctl->path);
        return 0;
}

unsigned control_operations_in_flight(const struct control *ctl) {
        return ctl->n_operations;
}

const struct peer *control_request_peer(const struct control_request *req) {
        return &req->conn->peer;
}

const struct command *control_request_command(const struct control_request *req) {
        return req->cmd;
}

struct json_object *control_request_args(const struct control_request *req) {
        return req->args;
}

void control_progress(struct control_request *req, struct json_object *event) {
        struct conn *c = req->conn;

        if (!c || c->eof || c->closing)
                return;
        _cleanup_free_ char *line = proto_format_event(req->id, "progress", event);
        if (!line || conn_queue(c, line) < 0) {
                c->closing = true;
                return;
        }
        conn_update(c);
}

void control_reply(struct control_request *req, enum proto_error e, const char *message,
                   struct json_object *record) {
        struct conn *c = req->conn;
        int64_t id = req->id;

        if (c && req->counted)
                c->ctl->n_operations--;
        json_object_put(req->root);
        free(req);
        if (!c)
                return;
        c->inflight = NULL;
        if (!c->eof) {
                _cleanup_free_ char *line = proto_format_reply(id, e, message, record);
                if (!line || conn_queue(c, line) < 0)
                        c->closing = true;
        }
        /* Bad arguments are a protocol error like any other: the client is out of step, so close. */
        if (e == PROTO_E_BAD_REQUEST) {
                log_warning("Control client uid=%u pid=%d: %s: %s; closing connection.", c->peer.uid, c->peer.pid,
                            proto_error_to_string(e), strempty(message));
                c->closing = true;
        }
        if (!c->processing)
                conn_process(c);
}
