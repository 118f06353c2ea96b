/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmctl's connection to the daemon (see vmctl-conn.h): one Unix socket per
 * request, the request framed by common/proto.c.  It never says who the
 * operator is: the daemon asks the kernel.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "macros.h"
#include "proto.h"
#include "vmctl-conn.h"

static int connect_daemon(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        if (strlen(path) >= sizeof sa.sun_path)
                return log_error_errno(-ENAMETOOLONG, "Socket path too long: %s", path);
        strcpy(sa.sun_path, path);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return log_error_errno(-errno, "Failed to create socket: %m");
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return log_error_errno(-errno, "Cannot reach vmtraced at %s: %m", path);
        return TAKE_FD(fd);
}

static int send_all(int fd, const char *buf, size_t len) {
        while (len > 0) {
                ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                buf += n;
                len -= (size_t) n;
        }
        return 0;
}

const char *vmctl_jstr(struct json_object *o, const char *key) {
        struct json_object *v;
        if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
                return NULL;
        return json_object_get_string(v);
}

int64_t vmctl_jint(struct json_object *o, const char *key) {
        struct json_object *v;
        return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;
}

struct json_object *vmctl_jget(struct json_object *o, const char *key) {
        struct json_object *v = NULL;
        json_object_object_get_ex(o, key, &v);
        return v;
}

int vmctl_reply_status(struct json_object *reply) {
        struct json_object *err = NULL;
        if (!json_object_object_get_ex(reply, "error", &err))
                return EXIT_OK;
        return proto_error_exit_status(proto_error_from_string(vmctl_jstr(err, "code")));
}

int vmctl_send(const char *socket_path, const char *command, struct json_object *args) {
        _cleanup_(json_object_putp) struct json_object *a = args;

        if (!a)
                return -ENOMEM;
        _cleanup_free_ char *req = proto_format_request(1, command, a);
        if (!req)
                return -ENOMEM;
        /* Catch what the daemon would refuse (such as bytes that are not UTF-8) with a clearer word. */
        _cleanup_(json_object_putp) struct json_object *check = NULL;
        char why[256];
        if (proto_parse(req, strlen(req) - 1, &check, why, sizeof why) < 0) {
                log_error("Arguments must be valid UTF-8 text (%s).", why);
                return -EILSEQ;
        }
        _cleanup_close_ int fd = connect_daemon(socket_path);
        if (fd < 0)
                return fd;
        int r = send_all(fd, req, strlen(req));
        if (r < 0)
                return log_error_errno(r, "Failed to send the request: %m");
        return TAKE_FD(fd);
}
