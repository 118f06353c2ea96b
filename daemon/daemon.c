/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon, all but main() (vmtraced.c), so that the test programs can
 * run the same daemon with a test backend registered.  Builds the manager (config, trail, session pools,
 * control socket), runs the sd-event loop, and tears it all down in the
 * order that loses nothing: stop accepting, let the workers finish what they
 * hold, log the sessions out (recorded), then close the trail.
 *
 * As a systemd service (Type=notify): READY=1 once config, trail and
 * socket are up; STATUS= with endpoints, sessions and operations; the
 * watchdog is fed by sd-event; SIGHUP re-reads the policy and limits
 * (RELOADING=1 ... READY=1) without touching operations in flight; SIGTERM
 * drains (STOPPING=1) for at most shutdown-timeout seconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "audit.h"
#include "backend.h"
#include "commands.h"
#include "config.h"
#include "control.h"
#include "daemon.h"
#include "defaults.h"
#include "forward.h"
#include "health.h"
#include "log.h"
#include "macros.h"
#include "manager.h"
#include "policy.h"
#include "pool.h"
#include "probe.h"
#include "recovery.h"
#include "trail_sign.h"
#include "watch.h"

#define DEFAULT_CONFIG VMT_DEFAULT_CONFIG
#define USEC_PER_SEC 1000000ULL
/* How often STATUS= is refreshed, and the drain re-checked. */
#define STATUS_INTERVAL_USEC (5 * USEC_PER_SEC)
#define DRAIN_POLL_USEC (100 * 1000ULL)

static struct control_limits limits_from_config(const struct config *c) {
        return (struct control_limits) {
                .max_message = c->limits.max_request_size,
                .idle_timeout_usec = c->limits.idle_timeout * USEC_PER_SEC,
                .max_connections = c->limits.max_connections,
                .max_connections_per_uid = c->limits.max_connections_per_uid,
                .max_operations = c->limits.max_operations,
        };
}

static void notify_status(struct manager *m) {
        unsigned sessions, logged_in, busy;

        pool_set_counts(m->pools, &sessions, &logged_in, &busy);
        (void) sd_notifyf(0, "STATUS=%s%zu endpoint(s), %u/%u session(s) logged in, %u operation(s) in flight",
                          m->stopping ? "Stopping: " : "", m->config->n_endpoints, logged_in, sessions, m->inflight);
}

static int on_status_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        notify_status(userdata);
        /* A time source is one-shot: move it on and switch it back on. */
        (void) sd_event_source_set_time(s, usec + STATUS_INTERVAL_USEC);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static bool same_string(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_endpoint(const struct endpoint_config *a, const struct endpoint_config *b) {
        return same_string(a->name, b->name) && a->backend == b->backend && same_string(a->url, b->url) &&
               same_string(a->user, b->user) &&
               same_string(a->password, b->password) && same_string(a->ca_file, b->ca_file) &&
               a->has_fingerprint == b->has_fingerprint &&
               memcmp(a->fingerprint, b->fingerprint, sizeof a->fingerprint) == 0 && a->pool_size == b->pool_size &&
               same_string(a->migrate_uri, b->migrate_uri) && a->migrate_unsafe == b->migrate_unsafe &&
               a->watch == b->watch;
}

/* The forwarders read their section at start: a change needs a restart. */
static bool same_forwards(const struct config *a, const struct config *b) {
        const struct forward_config *x = a->forwards, *y = b->forwards;

        for (; x && y; x = x->next, y = y->next)
                if (!same_string(x->name, y->name) || !same_string(x->host, y->host) ||
                    !same_string(x->port, y->port) || !same_string(x->ca_file, y->ca_file) ||
                    !same_string(x->cert_file, y->cert_file) || !same_string(x->key_file, y->key_file))
                        return false;
        return !x && !y;
}

static bool same_endpoints(const struct config *a, const struct config *b) {
        const struct endpoint_config *x = a->endpoints, *y = b->endpoints;

        for (; x && y; x = x->next, y = y->next)
                if (!same_endpoint(x, y))
                        return false;
        return !x && !y;
}

/*
 * SIGHUP: re-read the file and take over what can change while running,
 * the policy, the admin group and the limits.  Endpoints (and their
 * passwords), socket and database stay as they are until a restart: the
 * session pools and the trail hold them.  Operations in flight never see
 * a reload; they copied what they need when they were admitted.
 */
static void manager_reload(struct manager *m) {
        struct config *n = NULL;

        struct timespec ts;

        /* MONOTONIC_USEC: systemd 253 and later want it with RELOADING=1 (Type=notify-reload). */
        clock_gettime(CLOCK_MONOTONIC, &ts);
        (void) sd_notifyf(0, "RELOADING=1\nSTATUS=Reloading %s\nMONOTONIC_USEC=%" PRIu64, m->config->path,
                          (uint64_t) (ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000));
        if (config_load(m->config->path, &n) < 0)
                log_error("Reload of %s failed; the running configuration stays in force.", m->config->path);
        else {
                if (!same_endpoints(m->config, n))
                        log_warning("Reload: endpoint changes in %s take effect only after a restart "
                                    "(systemctl restart vmtraced); the running endpoints stay.", n->path);
                if (!same_forwards(m->config, n))
                        log_warning("Reload: [forward] changes in %s take effect only after a restart; the "
                                    "running targets stay.", n->path);
                if (!same_string(m->config->socket_path, n->socket_path) ||
                    !same_string(m->config->database, n->database) ||
                    !same_string(m->config->socket_group, n->socket_group) ||
                    m->config->socket_mode != n->socket_mode ||
                    m->config->health_check_interval != n->health_check_interval)
                        log_warning("Reload: socket and database settings take effect only after a restart.");
                struct policy_rule *rules = m->config->rules;
                char *admin = m->config->admin_group;

                m->config->rules = TAKE_PTR(n->rules);
                m->config->admin_group = TAKE_PTR(n->admin_group);
                n->rules = rules;            /* the old ones go with n */
                n->admin_group = admin;
                m->config->limits = n->limits;
                const struct control_limits limits = limits_from_config(m->config);
                control_set_limits(m->control, &limits);
                config_free(n);
                log_info("Reloaded %s: policy and limits are in force.", m->config->path);
        }
        (void) sd_notify(0, "READY=1");
        notify_status(m);
}

static int on_reload(sd_event_source *s _unused_, const struct signalfd_siginfo *si _unused_, void *userdata) {
        manager_reload(userdata);
        return 0;
}

/* While draining: leave the loop once nothing is in flight, or at the deadline. */
static int on_drain(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;
        unsigned n = control_operations_in_flight(m->control);

        if (n == 0 || usec >= m->stop_deadline) {
                if (n > 0)
                        log_warning("Shutdown timeout: %u request(s) still in flight; their trail rows are completed "
                                    "as the workers finish, but their clients may get no reply.", n);
                return sd_event_exit(sd_event_source_get_event(s), 0);
        }
        int r = sd_event_source_set_time(s, usec + DRAIN_POLL_USEC);
        return r < 0 ? r : sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static void manager_free(struct manager *m) {
        if (!m)
                return;
        control_stop(m->control);
        recovery_stop(m->recovery, true);
        /*
         * The workers first: an operation still running (a second SIGTERM
         * ends the drain early) notes its end to the watchers.
         */
        pool_set_free(m->pools);
        /* Watchers write rows: stopped before the trail closes. */
        watch_set_free(m->watch);
        recovery_free(m->recovery);
        control_free(m->control);
        /* Before the trail closes: its last close is the one that checkpoints the WAL. */
        forward_set_stop(m->forwards);
        health_free(m->health);
        audit_close(m->audit);
        config_free(m->config);
        sd_event_unref(m->event);
        /* Last: only now may another instance write the trail. */
        if (m->lock_fd >= 0)
                close(m->lock_fd);
        free(m);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct manager *, manager_free);

/*
 * SIGTERM: stop accepting, refuse new requests on open connections, and
 * give those in flight up to shutdown-timeout to finish and be answered.
 * A second signal stops at once (the workers still finish what they hold).
 */
static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct manager *m = userdata;
        sd_event *e = sd_event_source_get_event(s);
        uint64_t t;

        log_info("Received %s, shutting down.", strsignal((int) si->ssi_signo));
        if (m->stopping)
                return sd_event_exit(e, 0);
        m->stopping = true;
        (void) sd_notify(0, "STOPPING=1");
        recovery_stop(m->recovery, false);
        notify_status(m);
        control_stop(m->control);
        (void) sd_event_now(e, CLOCK_MONOTONIC, &t);
        m->stop_deadline = t + m->config->limits.shutdown_timeout * USEC_PER_SEC;
        int r = sd_event_add_time(e, NULL, CLOCK_MONOTONIC, t, 0, on_drain, m);
        if (r < 0) {
                log_error_errno(r, "Failed to wait for operations in flight: %m");
                return sd_event_exit(e, 0);
        }
        return 0;
}

static int manager_socket_access(struct manager *m) {
        gid_t gid = (gid_t) -1;

        if (m->config->socket_group) {
                struct group gr, *res = NULL;
                char tmp[8192];

                if (getgrnam_r(m->config->socket_group, &gr, tmp, sizeof tmp, &res) != 0 || !res)
                        return log_error_errno(-ENOENT, "socket-group %s does not exist.", m->config->socket_group);
                gid = res->gr_gid;
        }
        return control_socket_access(m->control, m->config->socket_mode, gid);
}

/*
 * A degraded trail (an outcome kept in memory, new operations refused)
 * shows in the service's status, checked every second.
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

/* The loop's signals, watchdog and the trail's state check. */
static int manager_event_setup(struct manager *m) {
        int r;

        /* Blocked before any thread exists, so workers inherit the mask and signals go to the loop. */
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &mask, NULL);
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_terminate, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_terminate, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP, on_reload, m);
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
        return 0;
}

/*
 * One daemon per trail.  The socket check alone cannot ensure it: an
 * instance that is draining after SIGTERM has already given its socket up
 * but still writes rows, and a second one started then would take its
 * PENDING rows for a crash's.  flock(2) on DATABASE.lock, held until the
 * trail is closed, is released by the kernel even after kill -9.
 */
static int manager_lock(struct manager *m) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s.lock", m->config->database) < 0)
                return log_oom();
        m->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (m->lock_fd < 0)
                return log_error_errno(-errno, "Failed to open the instance lock %s: %m", path);
        if (flock(m->lock_fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno == EWOULDBLOCK)
                        return log_error_errno(-EBUSY, "Refusing to start: another vmtraced writes the trail %s "
                                               "(it holds %s).", m->config->database, path);
                return log_error_errno(-errno, "Failed to lock %s: %m", path);
        }
        return 0;
}

/* The trail, its permissions for auditors and journal checkpoints, and its forwarders. */
static int manager_trail_open(struct manager *m) {
        int r;

        r = audit_open(m->config->database, &m->audit);
        if (r < 0)
                return r;
        audit_set_checkpoint_interval(m->audit, m->config->checkpoint_interval);
        if (m->config->signing_key_file) {
                r = audit_set_signing_key(m->audit, m->config->signing_key_file);
                if (r < 0)
                        return r;
        }
        if (m->config->audit_group) {
                r = audit_set_group(m->audit, m->config->audit_group);
                if (r < 0)
                        return r;
        }
        r = health_new(m->config->database, m->config->health_check_interval, &m->health);
        if (r < 0)
                return r;
        /* Threads of their own: a target that is down never stalls the loop (forward.h). */
        return forward_set_start(m->config, &m->forwards);
}

static int manager_new(const char *config_path, struct manager **out) {
        _cleanup_(manager_freep) struct manager *m = calloc(1, sizeof *m);
        int r;

        if (!m)
                return log_oom();
        m->lock_fd = -1;
        r = config_load(config_path, &m->config);
        if (r < 0)
                return r;
        r = manager_lock(m);
        if (r < 0)
                return r;
        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to create event loop: %m");
        /*
         * The socket first: a second instance started by mistake stops here,
         * before it opens the trail, logs in, or takes the first one's
         * PENDING rows for a crash's.  No request is read before the loop
         * runs, so recovery still comes before any of them.
         */
        const struct control_limits limits = limits_from_config(m->config);
        r = control_new(m->event, m->config->socket_path, &limits, commands, m, &m->control);
        if (r < 0)
                return r;
        control_set_authorizer(m->control, gate_dispatch);
        r = manager_socket_access(m);
        if (r < 0)
                return r;
        r = manager_trail_open(m);
        if (r < 0)
                return r;
        r = manager_event_setup(m);
        if (r < 0)
                return r;

        backend_global_init();
        r = pool_set_new(m->event, m->config, m->audit, &m->pools);
        if (r < 0)
                return r;
        /* An earlier run's PENDING rows, resolved before any new request. */
        r = recovery_run(m->audit, m->pools, m->event, m->config->task_timeout, &m->recovery);
        if (r < 0)
                return r;
        r = watch_set_new(m->config, m->audit, &m->watch);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(m->event, NULL, CLOCK_MONOTONIC, STATUS_INTERVAL_USEC, 0, on_status_timer, m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the status timer: %m");
        *out = TAKE_PTR(m);
        return 0;
}

/* --check-config [--connect]: the normalised configuration, then a login to each endpoint. */
static int check_config(const char *path, bool connect) {
        struct config *cfg = NULL;
        unsigned failed = 0;

        if (config_load(path, &cfg) < 0)
                return EXIT_FAILURE;
        config_dump(cfg, stdout);
        if (connect) {
                backend_global_init();
                fflush(stdout);
                failed = probe_endpoints(cfg, stdout);
        }
        config_free(cfg);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/*
 * --print-public-key: the public half of signing-key, as PEM on standard
 * output (what vmctl verify --key takes) and its fingerprint on standard
 * error, for an out-of-band record.  Run where the credential is, e.g.
 * with CREDENTIALS_DIRECTORY=/etc/vmtraced/credentials.
 */
static int print_public_key(const char *path) {
        _cleanup_(trail_key_freep) struct trail_key *k = NULL;
        struct config *cfg = NULL;
        int r;

        if (config_load(path, &cfg) < 0)
                return EXIT_FAILURE;
        if (!cfg->signing_key_file)
                r = log_error_errno(-ENOKEY, "%s sets no signing-key: checkpoints are not signed.", path);
        else
                r = trail_key_load_private(cfg->signing_key_file, &k);
        if (r >= 0)
                r = trail_key_public_pem(k, stdout);
        if (r >= 0)
                fprintf(stderr, "Ed25519 public key %s, SHA-256 fingerprint %s\n", trail_key_public_hex(k),
                        trail_key_fingerprint(k));
        config_free(cfg);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static void help(void) {
        printf("Usage: vmtraced [--config FILE] [--check-config [--connect] | --print-public-key]\n\n"
               "Audited VM operations daemon.\n\n"
               "  -c, --config FILE   configuration file (default %s)\n"
               "      --check-config  parse the configuration, print it normalised, and exit\n"
               "      --connect       with --check-config: also log in to every endpoint and\n"
               "                      say how it went (exit 1 if one fails)\n"
               "      --print-public-key  print the public key of signing-key (PEM) and its\n"
               "                      fingerprint, and exit\n"
               "  -h, --help          show this help\n"
               "      --version       show the version\n",
               DEFAULT_CONFIG);
}

/*
 * glibc gives each thread that allocates an arena of its own, up to 8 per
 * CPU: with a worker per pooled session, the mirror's and the forwarders'
 * threads, that is most of the daemon's resident memory past its own
 * (17.0 MiB with 8 sessions, 15.9 MiB with 2 arenas; bench/roundtrips.sh).
 * The workers spend their time waiting for the platform, not in malloc, so
 * two arenas cost nothing measurable.  MALLOC_ARENA_MAX, when set, wins.
 */
static void limit_arenas(void) {
        if (!getenv("MALLOC_ARENA_MAX"))
                (void) mallopt(M_ARENA_MAX, 2);
}

int daemon_main(int argc, char **argv) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "check-config", no_argument, NULL, 'C' },
                { "connect", no_argument, NULL, 'N' },
                { "print-public-key", no_argument, NULL, 'P' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        const char *config_path = DEFAULT_CONFIG;
        bool check = false, connect = false, print_key = false;
        int c, r;

        log_init("vmtraced");
        limit_arenas();
        /*
         * The daemon's stderr is the journal, one entry per line: a VM name
         * with a newline would forge an entry, and an admin reading it on a
         * terminal would get its controls.  The trail keeps the exact bytes.
         */
        log_set_printable(true);
        while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        config_path = optarg;
                        break;
                case 'C':
                        check = true;
                        break;
                case 'N':
                        connect = true;
                        break;
                case 'P':
                        print_key = true;
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
        if (connect && !check) {
                log_error("--connect goes with --check-config.");
                return 2;
        }

        if (check && print_key) {
                log_error("--print-public-key and --check-config are separate runs.");
                return 2;
        }
        if (check)
                return check_config(config_path, connect);
        if (print_key)
                return print_public_key(config_path);

        /* A file-size limit (RLIMIT_FSIZE) must make trail writes fail, not kill us. */
        signal(SIGXFSZ, SIG_IGN);
        _cleanup_(manager_freep) struct manager *m = NULL;
        r = manager_new(config_path, &m);
        if (r < 0) {
                (void) sd_notifyf(0, "STATUS=Failed to start: %s\nERRNO=%d", strerror(-r), -r);
                return EXIT_FAILURE;
        }

        log_info("Ready: socket %s, database %s, %zu endpoint(s).", m->config->socket_path, m->config->database,
                 m->config->n_endpoints);
        (void) sd_notify(0, "READY=1");
        notify_status(m);
        r = sd_event_loop(m->event);
        if (r < 0) {
                log_error_errno(r, "Event loop failed: %m");
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
