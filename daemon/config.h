/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmtraced.conf: an INI file read with libinih.  See vmtraced.conf(5).
 *
 *   [vmtraced]
 *   socket   = /run/vmtraced/vmtraced.sock
 *   database = /var/lib/vmtraced/trail.db
 *
 *   [endpoint "vc1"]
 *   backend       = vsphere                        (the default)
 *   url           = https://vc1.example.com/sdk
 *   user          = svc-vmtraced@vsphere.local
 *   password-file = /etc/vmtraced/vc1.password
 *   ca-file       = /etc/vmtraced/vc1-ca.pem      (or: fingerprint = AA:BB:...)
 *   pool-size     = 4
 *   post-events   = yes
 *
 *   [policy "alice-web"]
 *   users     = alice
 *   commands  = start stop
 *   vms       = web-*
 *   endpoints = vc1
 *
 * [vmtraced] also takes task-timeout = SECONDS (default 3600).
 */
#ifndef VMT_CONFIG_H
#define VMT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>

#include "defaults.h"

#define CONFIG_DEFAULT_SOCKET    VMT_DEFAULT_SOCKET
#define CONFIG_DEFAULT_DATABASE  VMT_DEFAULT_DATABASE
#define CONFIG_DEFAULT_POOL_SIZE 2
/* MiB: a memory change above this needs vmctl memory --yes (64 GiB; 0 turns it off). */
#define CONFIG_DEFAULT_CONFIRM_MEMORY_MIB (64 * 1024)
#define CONFIG_MAX_POOL_SIZE     64
#define CONFIG_DEFAULT_TASK_TIMEOUT 3600     /* seconds an operation may wait for its task */
#define CONFIG_DEFAULT_WATCH_INTERVAL 30     /* seconds between reconciliations of a watched endpoint */
#define CONFIG_DEFAULT_HEALTH_CHECK_INTERVAL 60 /* seconds a quick_check result is shown before another runs */
#define CONFIG_MAX_TASK_TIMEOUT     604800   /* a week */
#define CONFIG_DEFAULT_CHECKPOINT_INTERVAL 1000

/* Safe defaults for the control socket's limits (vmtraced.conf(5)). */
#define CONFIG_DEFAULT_MAX_REQUEST_SIZE        (64 * 1024)
#define CONFIG_DEFAULT_IDLE_TIMEOUT            30   /* seconds */
#define CONFIG_DEFAULT_MAX_CONNECTIONS         256
#define CONFIG_DEFAULT_MAX_CONNECTIONS_PER_UID 32
#define CONFIG_DEFAULT_MAX_OPERATIONS          64
#define CONFIG_DEFAULT_SHUTDOWN_TIMEOUT        60   /* seconds */

struct backend_ops;
struct policy_rule;

/* The backend of an endpoint without "backend =", so configurations from before there were several keep working. */
#define CONFIG_DEFAULT_BACKEND "vsphere"

struct config_limits {
        unsigned max_request_size;        /* bytes per request line */
        unsigned idle_timeout;            /* seconds a connection may stay without a complete request */
        unsigned max_connections;
        unsigned max_connections_per_uid;
        unsigned max_operations;          /* requests in flight, all clients together */
        unsigned shutdown_timeout;        /* seconds SIGTERM waits for operations in flight */
};

struct endpoint_config {
        char *name;                 /* from the section header [endpoint "NAME"] */
        const struct backend_ops *backend; /* "backend =", default vsphere */
        char *url;                  /* vSphere: https://host[:port]/sdk; libvirt: its connection URI; the backend checks it */
        const char *url_key;        /* the key that set it: "url", or "uri" (libvirt's word) */
        char *user;                 /* service account; NULL where the backend needs none */
        char *password;             /* loaded at config time; wiped on free */
        char *password_source;      /* file path or "credential:NAME", for messages only */
        char *ca_file;              /* PEM CA bundle to verify the server, or NULL */
        bool has_fingerprint;
        unsigned char fingerprint[32]; /* SHA-256 of the server's DER certificate */
        unsigned pool_size;
        bool post_events;           /* post a user event naming the operator after each change (default yes) */
        char *migrate_uri;          /* libvirt: where a migration to this endpoint sends its data (tcp://host:port) */
        bool migrate_unsafe;        /* libvirt: allow migration to this endpoint without shared storage checks */
        bool watch;                 /* record changes made behind vmtraced's back (default yes, where the backend can) */
        int64_t confirm_memory_mib; /* a memory change above this needs confirmation (--yes); 0: never */
        const struct endpoint_config *first; /* the first endpoint of the same config (a migration's destinations) */
        struct endpoint_config *next;
};

/*
 * [forward "NAME"]: a log engine every trail row and checkpoint is sent to
 * (daemon/forward.c).  RELP (TLS when ca or cert is set), or RFC 5425
 * syslog over TLS, always TLS.
 */
enum forward_protocol { FORWARD_RELP, FORWARD_SYSLOG_TLS };

#define FORWARD_SYSLOG_TLS_PORT "6514" /* RFC 5425's port */

struct forward_config {
        char *name;                 /* from the section header; the row in table forward_state */
        enum forward_protocol protocol;
        char *host, *port;          /* "target = HOST:PORT"; syslog-tls: the port defaults to 6514 */
        char *ca_file;              /* "ca": PEM CA bundle the target's certificate must chain to */
        char *cert_file;            /* "cert": our client certificate (PEM) */
        char *key_file;             /* the private key's file: "key", or the credential forward_NAME */
        char *key_source;           /* file path or "credential:NAME", for messages only */
        struct forward_config *next;
};

struct config {
        char *path;
        char *socket_path;
        char *database;
        unsigned task_timeout;      /* seconds; then the operation is cancelled and its row UNKNOWN unless that worked */
        unsigned watch_interval;    /* seconds between a watcher's reconciliations (changes no event reports) */
        unsigned health_check_interval; /* seconds; the trail's quick_check runs again when status finds it older */
        char *audit_group;          /* may read the database; NULL: leave the group alone */
        unsigned checkpoint_interval; /* rows between journal checkpoints; 0: only at shutdown */
        char *signing_key;          /* the credential with the Ed25519 key checkpoints are signed with; NULL: none */
        char *signing_key_file;     /* its path under $CREDENTIALS_DIRECTORY */
        struct endpoint_config *endpoints; /* in file order */
        size_t n_endpoints;
        char *admin_group;          /* members may do everything, as root may; NULL: none */
        char *socket_group;         /* group of a socket we bind ourselves; NULL: ours */
        unsigned socket_mode;       /* mode of a socket we bind ourselves */
        struct config_limits limits;
        struct policy_rule *rules;  /* in file order */
        struct forward_config *forwards; /* in file order */
};

/*
 * Parse and validate the file.  Loads each endpoint's password from its
 * password-file (refused if group or others may read it) or, when no
 * password-file is set, from $CREDENTIALS_DIRECTORY/NAME.  Every problem is
 * logged with file and line; returns -EINVAL (or the errno of the failing
 * system call) and leaves *out untouched on failure.
 */
int config_load(const char *path, struct config **out);
void config_free(struct config *c);

/* Print the normalised configuration (no secrets) for --check-config. */
void config_dump(const struct config *c, FILE *f);

const struct endpoint_config *config_find_endpoint(const struct config *c, const char *name);

#endif
