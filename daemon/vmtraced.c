/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmtraced: the daemon.  Builds the manager (config, trail, session pools,
 * control socket), runs the sd-event loop, and tears it all down in the
 * order that loses nothing: stop accepting, let the workers finish what they
 * hold, log the sessions out (recorded), then close the trail.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "audit.h"
#include "config.h"
#include "control.h"
#include "log.h"
#include "macros.h"
#include "manager.h"
#include "operation.h"
#include "pool.h"
#include "query.h"
#include "recovery.h"
#include "vsphere.h"

#define DEFAULT_CONFIG "/etc/vmtraced/vmtraced.conf"

static void handle_ping(struct control_request *req, void *userdata _unused_) {
        control_reply(req, PROTO_OK, NULL, NULL);
}

static const struct control_command core_commands[] = {
        { "ping", handle_ping },
        {},
};

/* VM operations: each request names one kind; the trail logic is operation.c's. */
#define OPERATION_HANDLER(fn, kind) \
        static void fn(struct control_request *req, void *userdata) { \
                operation_submit(userdata, req, kind); \
        }
OPERATION_HANDLER(handle_rename, OP_RENAME)
OPERATION_HANDLER(handle_cpu, OP_CPU)
OPERATION_HANDLER(handle_memory, OP_MEMORY)
OPERATION_HANDLER(handle_disk_grow, OP_DISK_GROW)
OPERATION_HANDLER(handle_disk_add, OP_DISK_ADD)
OPERATION_HANDLER(handle_start, OP_START)
OPERATION_HANDLER(handle_stop, OP_STOP)   /* "guest": true makes it OP_STOP_GUEST */
OPERATION_HANDLER(handle_reset, OP_RESET)
OPERATION_HANDLER(handle_suspend, OP_SUSPEND)
OPERATION_HANDLER(handle_clone, OP_CLONE)
OPERATION_HANDLER(handle_migrate, OP_MIGRATE)
OPERATION_HANDLER(handle_snapshot_create, OP_SNAPSHOT_CREATE)
OPERATION_HANDLER(handle_snapshot_revert, OP_SNAPSHOT_REVERT)
OPERATION_HANDLER(handle_snapshot_remove, OP_SNAPSHOT_REMOVE)
OPERATION_HANDLER(handle_destroy, OP_DESTROY)

static void handle_cancel(struct control_request *req, void *userdata) {
        operation_cancel(userdata, req);
}

static void handle_list(struct control_request *req, void *userdata) {
        query_list(userdata, req);
}

static void handle_show(struct control_request *req, void *userdata) {
        query_show(userdata, req);
}

static const struct control_command operation_commands[] = {
        { "rename", handle_rename },
        { "cpu", handle_cpu },
        { "memory", handle_memory },
        { "disk-grow", handle_disk_grow },
        { "disk-add", handle_disk_add },
        { "start", handle_start },
        { "stop", handle_stop },
        { "reset", handle_reset },
        { "suspend", handle_suspend },
        { "clone", handle_clone },
        { "migrate", handle_migrate },
        { "snapshot-create", handle_snapshot_create },
        { "snapshot-revert", handle_snapshot_revert },
        { "snapshot-remove", handle_snapshot_remove },
        { "destroy", handle_destroy },
        { "cancel", handle_cancel },
        { "list", handle_list },
        { "show", handle_show },
        {},
};

/* Every request is dispatched through these tables and nowhere else; each area adds its table here. */
static const struct control_command *const command_tables[] = {
        core_commands,
        operation_commands,
        NULL,
};

static void manager_free(struct manager *m) {
        if (!m)
                return;
        control_stop(m->control);
        pool_set_free(m->pools);
        control_free(m->control);
        audit_close(m->audit);
        config_free(m->config);
        sd_event_unref(m->event);
        free(m);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct manager *, manager_free);

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata _unused_) {
        log_info("Received %s, shutting down.", strsignal((int) si->ssi_signo));
        (void) sd_notify(0, "STOPPING=1\nSTATUS=Shutting down");
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

/*
 * issue 4 (trail): a degraded trail (an outcome kept in memory, new
 * operations refused) shows in the service's status, checked every second.
 */
#define TRAIL_CHECK_USEC (1000 * 1000ULL)
static int on_trail_check(sd_event_source *s, uint64_t usec, void *userdata) {
        static bool degraded;
        struct manager *m = userdata;

        if (audit_degraded(m->audit) != degraded) {
                degraded = !degraded;
                if (degraded)
                        (void) sd_notify(0, "STATUS=Trail degraded: an outcome is kept in memory and retried; "
                                            "new operations are refused");
                else
                        (void) sd_notifyf(0, "STATUS=Serving %zu endpoint(s)", m->config->n_endpoints);
        }
        (void) sd_event_source_set_time(s, usec + TRAIL_CHECK_USEC);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static int manager_new(const char *config_path, struct manager **out) {
        _cleanup_(manager_freep) struct manager *m = calloc(1, sizeof *m);
        int r;

        if (!m)
                return log_oom();
        r = config_load(config_path, &m->config);
        if (r < 0)
                return r;
        r = audit_open(m->config->database, &m->audit);
        if (r < 0)
                return r;
        /* issue 4 (trail): permissions for auditors, and journal checkpoints. */
        audit_set_checkpoint_interval(m->audit, m->config->checkpoint_interval);
        if (m->config->audit_group) {
                r = audit_set_group(m->audit, m->config->audit_group);
                if (r < 0)
                        return r;
        }
        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to create event loop: %m");

        /* Blocked before any thread exists, so workers inherit the mask and signals go to the loop. */
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &mask, NULL);
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_terminate, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_terminate, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch signals: %m");
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return log_error_errno(r, "Failed to enable the watchdog: %m");
        uint64_t now;
        r = sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_add_time(m->event, NULL, CLOCK_MONOTONIC, now + TRAIL_CHECK_USEC, 0, on_trail_check, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the trail's state: %m");

        vsphere_global_init();
        r = pool_set_new(m->event, m->config, m->audit, &m->pools);
        if (r < 0)
                return r;
        /* issue 4 (trail): an earlier run's PENDING rows, resolved before any new request. */
        r = recovery_run(m->audit, m->pools);
        if (r < 0)
                return r;

        const struct control_limits limits = {
                .max_message = PROTO_MAX_MESSAGE,
                .idle_timeout_usec = 30 * 1000000ULL,
                .max_connections = 256,
        };
        r = control_new(m->event, m->config->socket_path, &limits, command_tables, m, &m->control);
        if (r < 0)
                return r;
        *out = TAKE_PTR(m);
        return 0;
}

static void help(void) {
        printf("Usage: vmtraced [--config FILE] [--check-config]\n\n"
               "Audited VM operations daemon.\n\n"
               "  -c, --config FILE   configuration file (default %s)\n"
               "      --check-config  parse the configuration, print it normalised, and exit\n"
               "  -h, --help          show this help\n"
               "      --version       show the version\n",
               DEFAULT_CONFIG);
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "check-config", no_argument, NULL, 'C' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        const char *config_path = DEFAULT_CONFIG;
        bool check = false;
        int c, r;

        log_init("vmtraced");
        while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        config_path = optarg;
                        break;
                case 'C':
                        check = true;
                        break;
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                case 'V':
                        printf("vmtraced %s\n", PACKAGE_VERSION);
                        return EXIT_SUCCESS;
                default:
                        return 2;
                }
        }
        if (optind < argc) {
                log_error("Unexpected argument: %s", argv[optind]);
                return 2;
        }

        if (check) {
                struct config *cfg = NULL;
                if (config_load(config_path, &cfg) < 0)
                        return EXIT_FAILURE;
                config_dump(cfg, stdout);
                config_free(cfg);
                return EXIT_SUCCESS;
        }

        /* issue 4 (trail): a file-size limit (RLIMIT_FSIZE) must make trail writes fail, not kill us. */
        signal(SIGXFSZ, SIG_IGN);
        _cleanup_(manager_freep) struct manager *m = NULL;
        r = manager_new(config_path, &m);
        if (r < 0) {
                (void) sd_notifyf(0, "STATUS=Failed to start: %s\nERRNO=%d", strerror(-r), -r);
                return EXIT_FAILURE;
        }

        log_info("Ready: socket %s, database %s, %zu endpoint(s).", m->config->socket_path, m->config->database,
                 m->config->n_endpoints);
        (void) sd_notifyf(0, "READY=1\nSTATUS=Serving %zu endpoint(s)", m->config->n_endpoints);
        r = sd_event_loop(m->event);
        if (r < 0) {
                log_error_errno(r, "Event loop failed: %m");
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
