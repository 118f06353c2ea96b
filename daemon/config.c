/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmtraced.conf parsing and validation (see config.h and vmtraced.conf(5)).
 *
 * libinih does the tokenising.  Its handler is not told line numbers (the
 * Debian build has INI_HANDLER_LINENO off) nor about sections without keys,
 * so we feed it through our own line reader (ini_parse_stream), which
 * counts lines, spots section headers itself (so an empty or repeated
 * [endpoint "x"] is still seen), and refuses over-long lines and
 * continuation lines that inih would otherwise silently split or merge.
 *
 * Every problem is reported as "FILE:LINE: message" and parsing goes on,
 * so one run of --check-config lists all mistakes; the load then fails.
 * Passwords are read once, here, and are never logged or printed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend.h"
#include "config.h"
#include "forward_relp.h"
#include "log.h"
#include "macros.h"
#include "policy.h"
#include "util.h"

#define PASSWORD_MAX 4096

enum section {
        SECTION_NONE,     /* before the first header */
        SECTION_MAIN,     /* [vmtraced] */
        SECTION_ENDPOINT, /* [endpoint "NAME"] */
        SECTION_POLICY,   /* [policy "NAME"] */
        SECTION_FORWARD,  /* [forward "NAME"] */
        SECTION_BAD,      /* unknown or malformed header, already reported */
};

/* What the parser must remember about an endpoint beyond struct endpoint_config. */
struct endpoint_state {
        struct endpoint_config *e;
        unsigned line;          /* of the section header */
        uint64_t seen;          /* bit per key, to refuse duplicates */
        char *password_file;
        unsigned password_line;
        unsigned url_line;
};

struct forward_state {
        struct forward_config *f;
        unsigned line;          /* of the section header */
        uint64_t seen;          /* bit per key, to refuse duplicates */
        unsigned key_line;
        unsigned target_line;
};

struct policy_state {
        struct policy_rule *rule;
        uint64_t seen;          /* bit per key, to refuse duplicates */
};

struct parser {
        const char *path;
        FILE *f;
        unsigned line;
        int r;                  /* first error, 0 if none */
        unsigned first_error_line;
        enum section section;
        bool key_seen;          /* a key since the header: inih's continuation rule */
        bool main_seen;
        uint64_t main_keys;
        unsigned signing_key_line;
        struct forward_state *fws;
        size_t n_fws;
        struct config *c;
        struct endpoint_state *eps;
        size_t n_eps;
        struct policy_state *pols;
        size_t n_pols;
};

static void parse_error(struct parser *p, unsigned line, int error, const char *fmt, ...) _printf_(4, 5);
static void parse_error(struct parser *p, unsigned line, int error, const char *fmt, ...) {
        char buf[512];
        va_list ap;

        errno = error < 0 ? -error : error; /* for %m */
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        log_error("%s:%u: %s", p->path, line, buf);
        if (p->r == 0) {
                p->r = error;
                p->first_error_line = line;
        }
}

/* Endpoint names end up in "ENDPOINT:VM" arguments and credential file names. */
static bool endpoint_name_valid(const char *s, size_t n) {
        if (n == 0 || n > 64 || !isalnum((unsigned char) s[0]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr("._-", s[i]))
                        return false;
        return true;
}

/*
 * The NAME of a header [KIND "NAME"] (hdr without the brackets): its start
 * in *name and its length in *n.  Reports a malformed header or an invalid
 * name, and returns false then.
 */
static bool header_name(struct parser *p, const char *hdr, size_t len, const char *kind, const char **name,
                        size_t *n) {
        const char *q = hdr + strlen(kind), *end = hdr + len;

        if (q >= end || (*q != ' ' && *q != '\t'))
                goto bad;
        while (q < end && (*q == ' ' || *q == '\t'))
                q++;
        if (q >= end || *q != '"' || end - q < 2 || end[-1] != '"')
                goto bad;
        q++;
        *n = (size_t) (end - 1 - q);
        *name = q;
        if (!endpoint_name_valid(q, *n)) {
                parse_error(p, p->line, -EINVAL,
                            "invalid %s name \"%.*s\": use 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit",
                            kind, (int) *n, q);
                return false;
        }
        return true;
bad:
        parse_error(p, p->line, -EINVAL, "malformed section header [%.*s], expected [%s \"NAME\"]", (int) len, hdr,
                    kind);
        return false;
}

/* The i-th section of a kind already read: its name, and the line of its header in *line. */
typedef const char *(*section_name_fn)(const struct parser *p, size_t i, unsigned *line);

/*
 * The NAME of a new section [KIND "NAME"] (hdr without the brackets),
 * malloc'd; NULL, reported, when the header is malformed, one of the n
 * sections of that kind read before has the name, or memory ran out.
 */
static char *new_section_name(struct parser *p, const char *hdr, size_t len, const char *kind, size_t n_before,
                              section_name_fn name_at) {
        const char *q;
        unsigned line;
        size_t n;
        char *name;

        if (!header_name(p, hdr, len, kind, &q, &n))
                return NULL;
        for (size_t i = 0; i < n_before; i++) {
                const char *other = name_at(p, i, &line);

                if (strlen(other) == n && memcmp(other, q, n) == 0) {
                        parse_error(p, p->line, -EINVAL, "duplicate %s \"%.*s\" (first defined on line %u)", kind,
                                    (int) n, q, line);
                        return NULL;
                }
        }
        name = strndup(q, n);
        if (!name)
                parse_error(p, p->line, -ENOMEM, "out of memory");
        return name;
}

static const char *endpoint_name_at(const struct parser *p, size_t i, unsigned *line) {
        *line = p->eps[i].line;
        return p->eps[i].e->name;
}

static const char *policy_name_at(const struct parser *p, size_t i, unsigned *line) {
        *line = p->pols[i].rule->line;
        return p->pols[i].rule->name;
}

static const char *forward_name_at(const struct parser *p, size_t i, unsigned *line) {
        *line = p->fws[i].line;
        return p->fws[i].f->name;
}

static void begin_endpoint(struct parser *p, const char *hdr, size_t len) {
        _cleanup_free_ char *name = new_section_name(p, hdr, len, "endpoint", p->n_eps, endpoint_name_at);
        struct endpoint_state *eps;
        struct endpoint_config *e;

        if (!name)
                return;
        eps = reallocarray(p->eps, p->n_eps + 1, sizeof *eps);
        if (!eps)
                goto oom;
        p->eps = eps;
        e = calloc(1, sizeof *e);
        if (!e)
                goto oom;
        e->name = TAKE_PTR(name);
        e->pool_size = CONFIG_DEFAULT_POOL_SIZE;
        e->confirm_memory_mib = CONFIG_DEFAULT_CONFIRM_MEMORY_MIB;
        e->post_events = true;
        e->watch = true;
        e->backend = backend_find(CONFIG_DEFAULT_BACKEND);
        p->eps[p->n_eps++] = (struct endpoint_state) { .e = e, .line = p->line };
        p->section = SECTION_ENDPOINT;
        return;

oom:
        parse_error(p, p->line, -ENOMEM, "out of memory");
}

static void begin_policy(struct parser *p, const char *hdr, size_t len) {
        _cleanup_free_ char *name = new_section_name(p, hdr, len, "policy", p->n_pols, policy_name_at);
        struct policy_state *ps;
        struct policy_rule *r;

        if (!name)
                return;
        ps = reallocarray(p->pols, p->n_pols + 1, sizeof *ps);
        if (!ps)
                goto oom;
        p->pols = ps;
        r = calloc(1, sizeof *r);
        if (!r)
                goto oom;
        r->name = TAKE_PTR(name);
        r->line = p->line;
        p->pols[p->n_pols++] = (struct policy_state) { .rule = r };
        p->section = SECTION_POLICY;
        return;
oom:
        parse_error(p, p->line, -ENOMEM, "out of memory");
}

static void begin_forward(struct parser *p, const char *hdr, size_t len) {
        _cleanup_free_ char *name = new_section_name(p, hdr, len, "forward", p->n_fws, forward_name_at);
        struct forward_state *fws;
        struct forward_config *f;

        if (!name)
                return;
        fws = reallocarray(p->fws, p->n_fws + 1, sizeof *fws);
        if (!fws)
                goto oom;
        p->fws = fws;
        f = calloc(1, sizeof *f);
        if (!f)
                goto oom;
        f->name = TAKE_PTR(name);
        p->fws[p->n_fws++] = (struct forward_state) { .f = f, .line = p->line };
        p->section = SECTION_FORWARD;
        return;
oom:
        parse_error(p, p->line, -ENOMEM, "out of memory");
}

static void begin_section(struct parser *p, const char *hdr, size_t len) {
        p->key_seen = false;
        p->section = SECTION_BAD;

        if (len == strlen("vmtraced") && memcmp(hdr, "vmtraced", len) == 0) {
                if (p->main_seen) {
                        parse_error(p, p->line, -EINVAL, "duplicate section [vmtraced]");
                        return;
                }
                p->main_seen = true;
                p->section = SECTION_MAIN;
        } else if (len >= strlen("endpoint") && memcmp(hdr, "endpoint", strlen("endpoint")) == 0)
                begin_endpoint(p, hdr, len);
        else if (len >= strlen("policy") && memcmp(hdr, "policy", strlen("policy")) == 0)
                begin_policy(p, hdr, len);
        else if (len >= strlen("forward") && memcmp(hdr, "forward", strlen("forward")) == 0)
                begin_forward(p, hdr, len);
        else
                parse_error(p, p->line, -EINVAL, "unknown section [%.*s]", (int) len, hdr);
}

/*
 * inih's line source.  Runs before inih parses the line, so p->line is the
 * line number of every handler call that follows.  A line we refuse is
 * handed to inih as empty.
 */
static bool line_is_blank(const char *s) {
        return *s == '\0' || *s == '\n' || *s == '\r' || *s == ';' || *s == '#';
}

/* A line longer than the buffer: refuse it and skip the rest of it. */
static bool line_too_long(struct parser *p, const char *str, int num) {
        size_t n = strlen(str);
        int ch;

        if (n == 0 || str[n - 1] == '\n' || feof(p->f))
                return false;
        parse_error(p, p->line, -EINVAL, "line too long (at most %d bytes)", num - 2);
        while ((ch = getc(p->f)) != EOF && ch != '\n')
                ;
        return true;
}

/* What inih would get wrong about a line (start: its first non-blank); false to hand it over empty. */
static bool line_acceptable(struct parser *p, const char *str, const char *start) {
        /* inih would append an indented line to the previous key's value. */
        if (start > str && p->key_seen) {
                parse_error(p, p->line, -EINVAL, "continuation lines are not supported (remove the indentation)");
                return false;
        }
        if (*start == '[') {
                const char *end = strchr(start + 1, ']');

                if (end) {
                        begin_section(p, start + 1, (size_t) (end - start - 1));
                        return true;
                }
                parse_error(p, p->line, -EINVAL, "section header without closing ]");
                p->section = SECTION_BAD;
                return false;
        }
        if (!strpbrk(start, "=:")) {
                /* inih would only report the first such line. */
                parse_error(p, p->line, -EINVAL, "syntax error (expected \"key = value\" or [section])");
                return false;
        }
        return true;
}

/*
 * inih's line source.  Runs before inih parses the line, so p->line is the
 * line number of every handler call that follows.  A line we refuse is
 * handed to inih as empty.
 */
static char *read_line(char *str, int num, void *stream) {
        struct parser *p = stream;
        const char *start = str;

        if (!fgets(str, num, p->f))
                return NULL;
        p->line++;
        if (line_too_long(p, str, num)) {
                str[0] = '\0';
                return str;
        }
        if (p->line == 1 && strncmp(start, "\xef\xbb\xbf", 3) == 0)
                start += 3;
        start += strspn(start, " \t");
        if (!line_is_blank(start) && !line_acceptable(p, str, start))
                str[0] = '\0';
        return str;
}

static int set_string(char **dst, const char *value) {
        char *s = strdup(value);

        if (!s)
                return -ENOMEM;
        free(*dst);
        *dst = s;
        return 0;
}

static int set_socket(struct parser *p, struct endpoint_state *ep, const char *value) {
        (void) ep;
        if (strlen(value) >= sizeof(((struct sockaddr_un *) NULL)->sun_path)) {
                parse_error(p, p->line, -EINVAL, "socket path is longer than %zu bytes",
                            sizeof(((struct sockaddr_un *) NULL)->sun_path) - 1);
                return 0;
        }
        return set_string(&p->c->socket_path, value);
}

static int set_database(struct parser *p, struct endpoint_state *ep, const char *value) {
        (void) ep;
        return set_string(&p->c->database, value);
}

/* The auditors' group, and how often the chain head goes to the journal. */
static int set_audit_group(struct parser *p, struct endpoint_state *ep, const char *value) {
        (void) ep;
        if (!getgrnam(value)) {
                parse_error(p, p->line, -EINVAL, "audit-group \"%s\" is not a known group", value);
                return 0;
        }
        return set_string(&p->c->audit_group, value);
}

static int set_checkpoint_interval(struct parser *p, struct endpoint_state *ep, const char *value) {
        char *end;
        unsigned long v;

        (void) ep;
        errno = 0;
        v = strtoul(value, &end, 10);
        if (errno || *end || !isdigit((unsigned char) value[0]) || v > 1000000000) {
                parse_error(p, p->line, -EINVAL, "checkpoint-interval must be a number of rows from 0 to 1000000000 (got \"%s\")",
                            value);
                return 0;
        }
        p->c->checkpoint_interval = (unsigned) v;
        return 0;
}

/* signing-key: the name of the credential holding the Ed25519 key; resolved once the file is read. */
static int set_signing_key(struct parser *p, struct endpoint_state *ep, const char *value) {
        (void) ep;
        if (!endpoint_name_valid(value, strlen(value))) {
                parse_error(p, p->line, -EINVAL, "signing-key must name a credential (letters, digits, \".\", "
                            "\"_\", \"-\"; got \"%s\")", value);
                return 0;
        }
        p->signing_key_line = p->line;
        return set_string(&p->c->signing_key, value);
}

/* A value that is one word: no spaces, no control characters. */
static bool is_word(struct parser *p, const char *key, const char *value) {
        for (const char *s = value; *s; s++)
                if ((unsigned char) *s <= ' ' || *s == 0x7f) {
                        parse_error(p, p->line, -EINVAL, "%s \"%s\" contains spaces or control characters", key, value);
                        return false;
                }
        return true;
}

/*
 * What every backend's address shares; the backend checks the rest once
 * the section is complete.  "uri" is the same setting under libvirt's own
 * word, so a libvirt endpoint reads as virsh -c would; one of the two.
 */
static int set_address(struct parser *p, struct endpoint_state *ep, const char *key, const char *value) {
        if (ep->e->url && strcmp(ep->e->url_key, key) != 0) {
                parse_error(p, p->line, -EINVAL, "endpoint \"%s\" sets both url and uri; they are one setting",
                            ep->e->name);
                return 0;
        }
        if (!is_word(p, key, value))
                return 0;
        ep->url_line = p->line;
        ep->e->url_key = key;
        return set_string(&ep->e->url, value);
}

static int set_url(struct parser *p, struct endpoint_state *ep, const char *value) {
        return set_address(p, ep, "url", value);
}

static int set_uri(struct parser *p, struct endpoint_state *ep, const char *value) {
        return set_address(p, ep, "uri", value);
}

static int set_migrate_uri(struct parser *p, struct endpoint_state *ep, const char *value) {
        if (!is_word(p, "migrate-uri", value))
                return 0;
        return set_string(&ep->e->migrate_uri, value);
}

static int set_backend(struct parser *p, struct endpoint_state *ep, const char *value) {
        const struct backend_ops *ops = backend_find(value);

        if (!ops && backend_load_error(value)) {
                parse_error(p, p->line, -ELIBACC, "backend \"%s\" cannot be loaded: %s", value,
                            backend_load_error(value));
                return 0;
        }
        if (!ops) {
                parse_error(p, p->line, -EINVAL, "unknown backend \"%s\" (known: %s)", value, backend_names());
                return 0;
        }
        ep->e->backend = ops;
        return 0;
}

static int set_user(struct parser *p, struct endpoint_state *ep, const char *value) {
        (void) p;
        return set_string(&ep->e->user, value);
}

static int set_password_file(struct parser *p, struct endpoint_state *ep, const char *value) {
        ep->password_line = p->line;
        return set_string(&ep->password_file, value);
}

static int set_ca_file(struct parser *p, struct endpoint_state *ep, const char *value) {
        if (access(value, R_OK) < 0) {
                parse_error(p, p->line, negative_errno(), "cannot read ca-file %s: %m", value);
                return 0;
        }
        return set_string(&ep->e->ca_file, value);
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        c = (char) tolower((unsigned char) c);
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

/* 64 hex digits, or 32 colon-separated pairs (as openssl and govc print it). */
static int parse_fingerprint(const char *s, unsigned char out[32]) {
        size_t len = strlen(s);
        bool colons;

        if (len == 64)
                colons = false;
        else if (len == 32 * 3 - 1)
                colons = true;
        else
                return -EINVAL;

        for (size_t i = 0; i < 32; i++) {
                const char *pair = s + i * (colons ? 3 : 2);
                int hi = unhex(pair[0]), lo = unhex(pair[1]);

                if (hi < 0 || lo < 0)
                        return -EINVAL;
                if (colons && i < 31 && pair[2] != ':')
                        return -EINVAL;
                out[i] = (unsigned char) (hi << 4 | lo);
        }
        return 0;
}

static int set_fingerprint(struct parser *p, struct endpoint_state *ep, const char *value) {
        if (parse_fingerprint(value, ep->e->fingerprint) < 0) {
                parse_error(p, p->line, -EINVAL,
                            "fingerprint must be a SHA-256 digest: 32 hex bytes, with or without colons (got \"%s\")",
                            value);
                return 0;
        }
        ep->e->has_fingerprint = true;
        return 0;
}


/* A decimal number from min to max; reports and returns false otherwise. */
static bool parse_number(struct parser *p, const char *key, const char *value, unsigned long min,
                         unsigned long max, unsigned long *out) {
        unsigned long v = 0;

        for (const char *s = value; *s; s++) {
                if (!isdigit((unsigned char) *s) || v > max) {
                        v = 0;
                        break;
                }
                v = v * 10 + (unsigned long) (*s - '0');
        }
        if (v < min || v > max) {
                parse_error(p, p->line, -EINVAL, "%s must be a number from %lu to %lu (got \"%s\")", key, min, max,
                            value);
                return false;
        }
        *out = v;
        return true;
}

static int set_pool_size(struct parser *p, struct endpoint_state *ep, const char *value) {
        unsigned long v;

        if (parse_number(p, "pool-size", value, 1, CONFIG_MAX_POOL_SIZE, &v))
                ep->e->pool_size = (unsigned) v;
        return 0;
}

static int set_task_timeout(struct parser *p, struct endpoint_state *ep, const char *value) {
        unsigned long v;

        (void) ep;
        if (parse_number(p, "task-timeout", value, 1, CONFIG_MAX_TASK_TIMEOUT, &v))
                p->c->task_timeout = (unsigned) v;
        return 0;
}

/* A yes/no key into *out; anything else is an error naming the key. */
static int set_bool(struct parser *p, const char *key, const char *value, bool *out) {
        if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
                *out = true;
        else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
                *out = false;
        else
                parse_error(p, p->line, -EINVAL, "%s must be yes or no (got \"%s\")", key, value);
        return 0;
}

static int set_confirm_memory(struct parser *p, struct endpoint_state *ep, const char *value) {
        int64_t mib;

        if (strcmp(value, "0") == 0)
                ep->e->confirm_memory_mib = 0;
        else if (parse_size_mib(value, &mib) == 0)
                ep->e->confirm_memory_mib = mib;
        else
                parse_error(p, p->line, -EINVAL, "confirm-memory-above must be a size, MiB or with a M, G or T suffix "
                            "(64G), or 0 for never (got \"%s\")", value);
        return 0;
}

static int set_post_events(struct parser *p, struct endpoint_state *ep, const char *value) {
        return set_bool(p, "post-events", value, &ep->e->post_events);
}

static int set_watch(struct parser *p, struct endpoint_state *ep, const char *value) {
        return set_bool(p, "watch", value, &ep->e->watch);
}

/* An interval of the [vmtraced] section: 1 s to a day. */
static int set_interval(struct parser *p, const char *key, const char *value, unsigned *out) {
        unsigned long v;

        if (parse_number(p, key, value, 1, 86400, &v))
                *out = (unsigned) v;
        return 0;
}

static int set_watch_interval(struct parser *p, struct endpoint_state *ep _unused_, const char *value) {
        return set_interval(p, "watch-interval", value, &p->c->watch_interval);
}

static int set_health_check_interval(struct parser *p, struct endpoint_state *ep _unused_, const char *value) {
        return set_interval(p, "health-check-interval", value, &p->c->health_check_interval);
}

static int set_migrate_unsafe(struct parser *p, struct endpoint_state *ep, const char *value) {
        return set_bool(p, "migrate-unsafe", value, &ep->e->migrate_unsafe);
}

#define DEFINE_LIMIT_SETTER(field, key, min, max)                                                   \
        static int set_##field(struct parser *p, struct endpoint_state *ep, const char *value) {  \
                unsigned long v;                                                                    \
                (void) ep;                                                                          \
                if (parse_number(p, key, value, min, max, &v))                                      \
                        p->c->limits.field = (unsigned) v;                                          \
                return 0;                                                                           \
        }
DEFINE_LIMIT_SETTER(max_request_size, "max-request-size", 1024, 16 * 1024 * 1024)
DEFINE_LIMIT_SETTER(idle_timeout, "idle-timeout", 1, 86400)
DEFINE_LIMIT_SETTER(max_connections, "max-connections", 1, 65536)
DEFINE_LIMIT_SETTER(max_connections_per_uid, "max-connections-per-uid", 1, 65536)
DEFINE_LIMIT_SETTER(max_operations, "max-operations", 1, 65536)
DEFINE_LIMIT_SETTER(shutdown_timeout, "shutdown-timeout", 0, 86400)

static int set_admin_group(struct parser *p, struct endpoint_state *ep, const char *value) {
        (void) ep;
        return set_string(&p->c->admin_group, value);
}

static int set_socket_group(struct parser *p, struct endpoint_state *ep, const char *value) {
        (void) ep;
        return set_string(&p->c->socket_group, value);
}

static int set_socket_mode(struct parser *p, struct endpoint_state *ep, const char *value) {
        char *end;
        unsigned long v;

        (void) ep;
        errno = 0;
        v = strtoul(value, &end, 8);
        if (errno || *end || end == value || v > 0777 || (v & 0600) != 0600) {
                parse_error(p, p->line, -EINVAL,
                            "socket-mode must be an octal mode up to 0777 that lets the daemon's own user read and write (got \"%s\")",
                            value);
                return 0;
        }
        p->c->socket_mode = (unsigned) v;
        return 0;
}

/* "a, b c": words separated by commas and/or white space, as a NULL-terminated array. */
static int split_list(const char *value, char ***out) {
        _cleanup_free_ char *copy = strdup(value);
        char **list = NULL, *save = NULL;
        size_t n = 0;

        if (!copy)
                return -ENOMEM;
        for (char *w = strtok_r(copy, ", \t", &save); w; w = strtok_r(NULL, ", \t", &save)) {
                char **l = reallocarray(list, n + 2, sizeof *l);
                if (!l)
                        goto oom;
                list = l;
                list[n] = strdup(w);
                if (!list[n])
                        goto oom;
                list[++n] = NULL;
        }
        *out = list;
        return n > 0 ? 0 : -ENODATA;
oom:
        for (size_t i = 0; i < n; i++)
                free(list[i]);
        free(list);
        return -ENOMEM;
}

static struct policy_rule *current_rule(struct parser *p) {
        return p->pols[p->n_pols - 1].rule;
}

static int set_list(struct parser *p, const char *key, const char *value, char ***dst) {
        int r = split_list(value, dst);

        if (r == -ENODATA)
                parse_error(p, p->line, -EINVAL, "empty value for %s", key);
        return r == -ENODATA ? 0 : r;
}

static int set_users(struct parser *p, struct endpoint_state *ep, const char *value) {
        (void) ep;
        return set_list(p, "users", value, &current_rule(p)->users);
}

static int set_groups(struct parser *p, struct endpoint_state *ep, const char *value) {
        (void) ep;
        return set_list(p, "groups", value, &current_rule(p)->groups);
}

static int set_commands(struct parser *p, struct endpoint_state *ep, const char *value) {
        struct policy_rule *rule = current_rule(p);
        int r;

        (void) ep;
        r = set_list(p, "commands", value, &rule->commands);
        for (char **c = rule->commands; r >= 0 && c && *c; c++)
                if (strcmp(*c, "*") != 0 && !policy_command_valid(*c)) {
                        parse_error(p, p->line, -EINVAL,
                                    "unknown command \"%s\" (use: rename cpu memory disk start stop reset suspend "
                                    "clone migrate snapshot destroy list show, or *)", *c);
                        break;
                }
        return r;
}

static int set_vms(struct parser *p, struct endpoint_state *ep, const char *value) {
        (void) ep;
        return set_list(p, "vms", value, &current_rule(p)->vms);
}

static int set_endpoints(struct parser *p, struct endpoint_state *ep, const char *value) {
        (void) ep;
        return set_list(p, "endpoints", value, &current_rule(p)->endpoints);
}

static struct forward_state *current_forward(struct parser *p) {
        return &p->fws[p->n_fws - 1];
}

static int set_protocol(struct parser *p, struct endpoint_state *ep, const char *value) {
        struct forward_config *f = current_forward(p)->f;

        (void) ep;
        if (strcmp(value, "relp") == 0)
                f->protocol = FORWARD_RELP;
        else if (strcmp(value, "syslog-tls") == 0)
                f->protocol = FORWARD_SYSLOG_TLS;
        else
                parse_error(p, p->line, -EINVAL, "unknown protocol \"%s\" (use relp or syslog-tls)", value);
        return 0;
}

/* The host part of a target, brackets taken off, into *host and *hlen; false when it is no host. */
static bool target_host(const char *value, const char *colon, const char **host, size_t *hlen) {
        *host = value;
        *hlen = colon ? (size_t) (colon - value) : strlen(value);
        if (*hlen >= 2 && value[0] == '[' && value[*hlen - 1] == ']') {
                (*host)++;
                *hlen -= 2;
        }
        return *hlen > 0 && !memchr(*host, ' ', *hlen) && !memchr(*host, '/', *hlen) &&
               !memchr(*host, '[', *hlen) && !memchr(*host, ']', *hlen);
}

/*
 * "HOST:PORT", "[V6]:PORT", or without the port ("HOST", "[V6]"): the
 * protocol may come later in the section, so whether a port is needed is
 * decided in validate_forward().
 */
static int set_target(struct parser *p, struct endpoint_state *ep, const char *value) {
        struct forward_config *f = current_forward(p)->f;
        size_t vlen = strlen(value), hlen;
        bool bracketed = vlen >= 2 && value[0] == '[' && value[vlen - 1] == ']';
        const char *colon = bracketed ? NULL : strrchr(value, ':'), *host;
        unsigned long port;

        (void) ep;
        current_forward(p)->target_line = p->line;
        if (!target_host(value, colon, &host, &hlen)) {
                parse_error(p, p->line, -EINVAL, "target must be HOST:PORT (got \"%s\")", value);
                return 0;
        }
        if (colon && !parse_number(p, "target's port", colon + 1, 1, 65535, &port))
                return 0;
        free(f->host);
        f->host = strndup(host, hlen);
        if (!f->host)
                return -ENOMEM;
        free(f->port);
        f->port = NULL;
        return colon ? set_string(&f->port, colon + 1) : 0;
}

static int set_forward_file(struct parser *p, const char *key, const char *value, char **dst) {
        if (access(value, R_OK) < 0) {
                parse_error(p, p->line, negative_errno(), "cannot read %s %s: %m", key, value);
                return 0;
        }
        return set_string(dst, value);
}

static int set_ca(struct parser *p, struct endpoint_state *ep, const char *value) {
        (void) ep;
        return set_forward_file(p, "ca", value, &current_forward(p)->f->ca_file);
}

static int set_cert(struct parser *p, struct endpoint_state *ep, const char *value) {
        (void) ep;
        return set_forward_file(p, "cert", value, &current_forward(p)->f->cert_file);
}

static int set_forward_key(struct parser *p, struct endpoint_state *ep, const char *value) {
        (void) ep;
        current_forward(p)->key_line = p->line;
        return set_string(&current_forward(p)->f->key_file, value);
}

struct key {
        const char *name;
        enum section section;
        int (*set)(struct parser *p, struct endpoint_state *ep, const char *value);
};

static const struct key keys[] = {
        { "socket", SECTION_MAIN, set_socket },
        { "database", SECTION_MAIN, set_database },
        { "audit-group", SECTION_MAIN, set_audit_group },
        { "checkpoint-interval", SECTION_MAIN, set_checkpoint_interval },
        { "signing-key", SECTION_MAIN, set_signing_key },
        { "admin-group", SECTION_MAIN, set_admin_group },
        { "socket-group", SECTION_MAIN, set_socket_group },
        { "socket-mode", SECTION_MAIN, set_socket_mode },
        { "max-request-size", SECTION_MAIN, set_max_request_size },
        { "idle-timeout", SECTION_MAIN, set_idle_timeout },
        { "max-connections", SECTION_MAIN, set_max_connections },
        { "max-connections-per-uid", SECTION_MAIN, set_max_connections_per_uid },
        { "max-operations", SECTION_MAIN, set_max_operations },
        { "shutdown-timeout", SECTION_MAIN, set_shutdown_timeout },
        { "backend", SECTION_ENDPOINT, set_backend },
        { "url", SECTION_ENDPOINT, set_url },
        { "uri", SECTION_ENDPOINT, set_uri },
        { "migrate-uri", SECTION_ENDPOINT, set_migrate_uri },
        { "migrate-unsafe", SECTION_ENDPOINT, set_migrate_unsafe },
        { "user", SECTION_ENDPOINT, set_user },
        { "password-file", SECTION_ENDPOINT, set_password_file },
        { "ca-file", SECTION_ENDPOINT, set_ca_file },
        { "fingerprint", SECTION_ENDPOINT, set_fingerprint },
        { "pool-size", SECTION_ENDPOINT, set_pool_size },
        { "task-timeout", SECTION_MAIN, set_task_timeout },
        { "watch-interval", SECTION_MAIN, set_watch_interval },
        { "health-check-interval", SECTION_MAIN, set_health_check_interval },
        { "watch", SECTION_ENDPOINT, set_watch },
        { "post-events", SECTION_ENDPOINT, set_post_events },
        { "confirm-memory-above", SECTION_ENDPOINT, set_confirm_memory },
        { "users", SECTION_POLICY, set_users },
        { "groups", SECTION_POLICY, set_groups },
        { "commands", SECTION_POLICY, set_commands },
        { "vms", SECTION_POLICY, set_vms },
        { "endpoints", SECTION_POLICY, set_endpoints },
        { "protocol", SECTION_FORWARD, set_protocol },
        { "target", SECTION_FORWARD, set_target },
        { "ca", SECTION_FORWARD, set_ca },
        { "cert", SECTION_FORWARD, set_cert },
        { "key", SECTION_FORWARD, set_forward_key },
};

_Static_assert(ELEMENTSOF(keys) <= 64, "one bit per key in the sections' seen masks");

/* The duplicate-key bits of the section being read, and its endpoint (NULL outside one). */
static uint64_t *section_seen(struct parser *p, struct endpoint_state **ep) {
        *ep = NULL;
        switch (p->section) {
        case SECTION_ENDPOINT:
                *ep = &p->eps[p->n_eps - 1];
                return &(*ep)->seen;
        case SECTION_POLICY:
                return &p->pols[p->n_pols - 1].seen;
        case SECTION_FORWARD:
                return &current_forward(p)->seen;
        default:
                return &p->main_keys;
        }
}

static const char *section_word(enum section s) {
        if (s == SECTION_FORWARD)
                return "forward";
        return s == SECTION_MAIN ? "vmtraced" : s == SECTION_POLICY ? "policy" : "endpoint";
}

/* Key i of keys[] with its value, once per section. */
static void set_key(struct parser *p, size_t i, const char *value) {
        struct endpoint_state *ep;
        uint64_t *seen = section_seen(p, &ep);
        const char *name = keys[i].name;

        if (*seen & (UINT64_C(1) << i)) {
                parse_error(p, p->line, -EINVAL, "duplicate key %s", name);
                return;
        }
        *seen |= UINT64_C(1) << i;
        if (!value || !*value) {
                parse_error(p, p->line, -EINVAL, "empty value for %s", name);
                return;
        }
        int r = keys[i].set(p, ep, value);
        if (r < 0)
                parse_error(p, p->line, r, "failed to store %s: %s", name, strerror(-r));
}

/* Always returns 1: we report errors ourselves, with better messages than inih. */
static int handle_key(void *user, const char *section, const char *name, const char *value) {
        struct parser *p = user;

        (void) section; /* tracked by read_line(), which also sees empty sections */
        p->key_seen = true;

        if (p->section == SECTION_BAD)
                return 1;
        if (p->section == SECTION_NONE) {
                parse_error(p, p->line, -EINVAL, "\"%s\" is outside of any section", name);
                return 1;
        }
        if (strcmp(name, "password") == 0 && p->section == SECTION_ENDPOINT) {
                parse_error(p, p->line, -EINVAL,
                            "passwords are not allowed in the configuration file; use password-file or a systemd credential");
                return 1;
        }
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (keys[i].section == p->section && strcmp(keys[i].name, name) == 0) {
                        set_key(p, i, value);
                        return 1;
                }
        parse_error(p, p->line, -EINVAL, "unknown key \"%s\" in [%s]", name, section_word(p->section));
        return 1;
}

/* First line of fd, without its line ending.  The buffer is wiped. */
static int read_secret(int fd, char **out) {
        char buf[PASSWORD_MAX + 1];
        size_t n = 0, len;
        ssize_t k;
        int r = 0;

        while (n < PASSWORD_MAX) {
                k = read(fd, buf + n, PASSWORD_MAX - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto out;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        {
                const char *nl = memchr(buf, '\n', n);

                len = nl ? (size_t) (nl - buf) : n;
        }
        if (len == PASSWORD_MAX) {
                r = -EFBIG;
                goto out;
        }
        if (len > 0 && buf[len - 1] == '\r')
                len--;
        if (len == 0) {
                r = -ENODATA;
                goto out;
        }
        if (memchr(buf, '\0', len)) {
                r = -EBADMSG;
                goto out;
        }
        *out = strndup(buf, len);
        if (!*out)
                r = -ENOMEM;
out:
        explicit_bzero(buf, sizeof buf);
        return r;
}

/* The error to report for a read_secret() failure: bad content is -EINVAL. */
static int secret_error(int r) {
        return r == -EFBIG || r == -ENODATA || r == -EBADMSG ? -EINVAL : r;
}

static const char *secret_problem(int r) {
        switch (r) {
        case -EFBIG:
                return "its first line is longer than 4095 bytes";
        case -ENODATA:
                return "the password (its first line) is empty";
        case -EBADMSG:
                return "the password contains a NUL byte";
        default:
                return strerror(-r);
        }
}

/* A file holding a secret (what: its key's name): a regular file of root or us, closed to group and others. */
static int open_secret_file(struct parser *p, unsigned line, const char *what, const char *path, int *out) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = negative_errno();
                parse_error(p, line, r, "cannot open %s %s: %m", what, path);
                return r;
        }
        if (fstat(fd, &st) < 0) {
                r = negative_errno();
                parse_error(p, line, r, "cannot stat %s %s: %m", what, path);
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                parse_error(p, line, -EINVAL, "%s %s is not a regular file", what, path);
                return -EINVAL;
        }
        if (st.st_uid != 0 && st.st_uid != geteuid()) {
                parse_error(p, line, -EINVAL, "%s %s is owned by uid %u; it must be owned by root or uid %u",
                            what, path, (unsigned) st.st_uid, (unsigned) geteuid());
                return -EINVAL;
        }
        if (st.st_mode & 0077) {
                parse_error(p, line, -EINVAL,
                            "%s %s has mode %04o; group and others must have no access (chmod 0600 %s)",
                            what, path, (unsigned) (st.st_mode & 07777), path);
                return -EINVAL;
        }
        *out = TAKE_FD(fd);
        return 0;
}

/* password-file: must be a regular file of root or us, closed to group and others. */
static int load_password_file(struct parser *p, struct endpoint_state *ep) {
        _cleanup_close_ int fd = -1;
        const char *path = ep->password_file;
        int r;

        r = open_secret_file(p, ep->password_line, "password-file", path, &fd);
        if (r < 0)
                return r;
        r = read_secret(fd, &ep->e->password);
        if (r < 0) {
                parse_error(p, ep->password_line, secret_error(r), "cannot use password-file %s: %s",
                            path, secret_problem(r));
                return secret_error(r);
        }
        return set_string(&ep->e->password_source, path);
}

/*
 * The credential NAME, or endpoint_NAME (what LoadCredential=endpoint:DIR
 * makes of DIR/NAME).  systemd has already checked ownership and mode.
 */
static int load_credential(struct parser *p, struct endpoint_state *ep) {
        _cleanup_free_ char *path = NULL, *source = NULL;
        _cleanup_close_ int fd = -1;
        const char *dir = getenv("CREDENTIALS_DIRECTORY");
        const char *name = ep->e->name;
        int r;

        if (!dir || !*dir) {
                parse_error(p, ep->line, -EINVAL,
                            "endpoint \"%s\" has no password-file and $CREDENTIALS_DIRECTORY is not set "
                            "(set password-file, or LoadCredential=%s:FILE in the unit)", name, name);
                return -EINVAL;
        }
        if (asprintf(&path, "%s/%s", dir, name) < 0 || asprintf(&source, "credential:%s", name) < 0) {
                path = source = NULL;
                parse_error(p, ep->line, -ENOMEM, "out of memory");
                return -ENOMEM;
        }
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        /* The shipped unit loads /etc/vmtraced/credentials/ as credentials named endpoint_NAME. */
        if (fd < 0 && errno == ENOENT) {
                _cleanup_free_ char *alt = NULL;

                if (asprintf(&alt, "%s/endpoint_%s", dir, name) >= 0) {
                        fd = open(alt, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                        if (fd >= 0) {
                                free(path);
                                path = TAKE_PTR(alt);
                        } else
                                errno = ENOENT;
                }
        }
        if (fd < 0) {
                r = negative_errno();
                parse_error(p, ep->line, r,
                            "endpoint \"%s\" has no password-file and credential %s cannot be opened: %m",
                            name, path);
                return r;
        }
        r = read_secret(fd, &ep->e->password);
        if (r < 0) {
                parse_error(p, ep->line, secret_error(r), "cannot use credential %s: %s", path,
                            secret_problem(r));
                return secret_error(r);
        }
        ep->e->password_source = TAKE_PTR(source);
        return 0;
}

/* Keys only some backends read: set for another, they would be silently ignored, so they are refused. */
static void check_backend_keys(struct parser *p, struct endpoint_state *ep) {
        const struct backend_ops *ops = ep->e->backend;

        if ((ep->e->ca_file || ep->e->has_fingerprint) && !ops->takes_tls_trust)
                parse_error(p, ep->line, -EINVAL, "endpoint \"%s\": ca-file and fingerprint are not for the %s "
                            "backend (it trusts its peer its own way)", ep->e->name, ops->name);
        if ((ep->e->migrate_uri || ep->e->migrate_unsafe) && !ops->takes_migrate_keys)
                parse_error(p, ep->line, -EINVAL, "endpoint \"%s\": migrate-uri and migrate-unsafe are not for "
                            "the %s backend", ep->e->name, ops->name);
}

static void validate_endpoint(struct parser *p, struct endpoint_state *ep) {
        const char *name = ep->e->name;
        const struct backend_ops *ops = ep->e->backend;
        char why[512];

        if (!ep->e->url)
                parse_error(p, ep->line, -EINVAL, "endpoint \"%s\" has no url", name);
        else if (ops->endpoint_check && ops->endpoint_check(ep->e, why, sizeof why) < 0)
                parse_error(p, ep->url_line, -EINVAL, "%s", why);
        if (!ep->e->user && ops->needs_credentials)
                parse_error(p, ep->line, -EINVAL, "endpoint \"%s\" has no user", name);
        check_backend_keys(p, ep);
        if (ep->e->ca_file && ep->e->has_fingerprint)
                parse_error(p, ep->line, -EINVAL,
                            "endpoint \"%s\" sets both ca-file and fingerprint; choose one", name);
        if (ep->password_file)
                (void) load_password_file(p, ep);
        else if (ep->e->user || ops->needs_credentials)
                (void) load_credential(p, ep);
}

/*
 * $CREDENTIALS_DIRECTORY/name, or endpoint_name there: the shipped unit's
 * LoadCredential=endpoint:/etc/vmtraced/credentials prefixes the files of
 * that directory with endpoint_.  *out is the first that exists, else the
 * first; -EINVAL when the directory is not set.
 */
static int credential_path(const char *name, char **out) {
        const char *dir = getenv("CREDENTIALS_DIRECTORY");
        _cleanup_free_ char *path = NULL, *alt = NULL;

        if (!dir || !*dir)
                return -EINVAL;
        if (asprintf(&path, "%s/%s", dir, name) < 0 || asprintf(&alt, "%s/endpoint_%s", dir, name) < 0)
                return path = alt = NULL, -ENOMEM;
        *out = access(path, F_OK) < 0 && errno == ENOENT && access(alt, F_OK) == 0 ? TAKE_PTR(alt) : TAKE_PTR(path);
        return 0;
}

/*
 * The client key of a [forward] with a cert: its "key" file, checked as a
 * password-file is, or the credential forward_NAME.  Only its path is
 * kept: librelp reads the key itself, at each connection.
 */
static void load_forward_key(struct parser *p, struct forward_state *fs) {
        struct forward_config *f = fs->f;
        _cleanup_free_ char *name = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if (f->key_file) {
                if (open_secret_file(p, fs->key_line, "key", f->key_file, &fd) >= 0 &&
                    set_string(&f->key_source, f->key_file) < 0)
                        parse_error(p, fs->line, -ENOMEM, "out of memory");
                return;
        }
        if (asprintf(&name, "forward_%s", f->name) < 0 || asprintf(&f->key_source, "credential:%s", name) < 0) {
                name = f->key_source = NULL;
                parse_error(p, fs->line, -ENOMEM, "out of memory");
                return;
        }
        r = credential_path(name, &f->key_file);
        if (r == -EINVAL)
                parse_error(p, fs->line, -EINVAL,
                            "forward \"%s\" has a cert but no key, and $CREDENTIALS_DIRECTORY is not set "
                            "(set key, or LoadCredential=forward_%s:FILE in the unit)", f->name, f->name);
        else if (r < 0)
                parse_error(p, fs->line, r, "out of memory");
        else if (access(f->key_file, R_OK) < 0)
                parse_error(p, fs->line, negative_errno(), "forward \"%s\" has no key and credential %s cannot be "
                            "read: %m", f->name, f->key_file);
}

/* signing-key: the credential's path, which vmtraced reads (common/trail_sign.h) when it opens the trail. */
static void resolve_signing_key(struct parser *p) {
        struct config *c = p->c;
        int r;

        if (!c->signing_key)
                return;
        r = credential_path(c->signing_key, &c->signing_key_file);
        if (r == -EINVAL)
                parse_error(p, p->signing_key_line, -EINVAL,
                            "signing-key \"%s\" is a credential, but $CREDENTIALS_DIRECTORY is not set "
                            "(LoadCredential=%s:FILE in the unit)", c->signing_key, c->signing_key);
        else if (r < 0)
                parse_error(p, p->signing_key_line, r, "out of memory");
        else if (access(c->signing_key_file, R_OK) < 0)
                parse_error(p, p->signing_key_line, negative_errno(), "signing-key: credential %s cannot be read: %m",
                            c->signing_key_file);
}

/* RELP is a module (forward_relp.h): a daemon that cannot load it must not start, and --check-config says so. */
static void check_relp_module(struct parser *p, struct forward_state *fs) {
        char err[512];

        if (!forward_relp_load(err, sizeof err))
                parse_error(p, fs->line, -ELIBACC, "forward \"%s\": protocol relp cannot be loaded: %s", fs->f->name,
                            err);
}

static void validate_forward(struct parser *p, struct forward_state *fs) {
        struct forward_config *f = fs->f;

        if (!f->host)
                parse_error(p, fs->line, -EINVAL, "forward \"%s\" has no target", f->name);
        else if (!f->port && f->protocol != FORWARD_SYSLOG_TLS)
                /* RELP has no registered port: no default fits every collector. */
                parse_error(p, fs->target_line, -EINVAL, "target must be HOST:PORT for relp (got \"%s%s%s\"); "
                            "only syslog-tls has a default port, %s", strchr(f->host, ':') ? "[" : "", f->host,
                            strchr(f->host, ':') ? "]" : "", FORWARD_SYSLOG_TLS_PORT);
        else if (!f->port && set_string(&f->port, FORWARD_SYSLOG_TLS_PORT) < 0)
                parse_error(p, fs->line, -ENOMEM, "out of memory");
        if (f->protocol == FORWARD_RELP)
                check_relp_module(p, fs);
        if (f->key_file && !f->cert_file)
                parse_error(p, fs->key_line, -EINVAL, "forward \"%s\" sets key without cert", f->name);
        if (f->cert_file && !f->ca_file)
                parse_error(p, fs->line, -EINVAL,
                            "forward \"%s\" sets cert without ca: the target's certificate must be checked",
                            f->name);
        if (f->cert_file)
                load_forward_key(p, fs);
}

static void forward_free(struct forward_config *f) {
        if (!f)
                return;
        free(f->name);
        free(f->host);
        free(f->port);
        free(f->ca_file);
        free(f->cert_file);
        free(f->key_file);
        free(f->key_source);
        free(f);
}

/* A rule must say whom it is for and what it grants, and name only endpoints that exist. */
static void validate_policy(struct parser *p, const struct policy_rule *r) {
        if (!r->users && !r->groups)
                parse_error(p, r->line, -EINVAL, "policy \"%s\" names no users and no groups", r->name);
        if (!r->commands)
                parse_error(p, r->line, -EINVAL, "policy \"%s\" grants no commands", r->name);
        for (char **e = r->endpoints; e && *e; e++) {
                bool found = false;

                for (size_t i = 0; i < p->n_eps && !found; i++)
                        found = strcmp(p->eps[i].e->name, *e) == 0;
                if (!found)
                        parse_error(p, r->line, -EINVAL, "policy \"%s\" names endpoint \"%s\", which is not configured",
                                    r->name, *e);
        }
}

static void endpoint_free(struct endpoint_config *e) {
        if (!e)
                return;
        free(e->name);
        free(e->url);
        free(e->migrate_uri);
        free(e->user);
        erase_and_free(e->password);
        free(e->password_source);
        free(e->ca_file);
        free(e);
}

void config_free(struct config *c) {
        if (!c)
                return;
        while (c->endpoints) {
                struct endpoint_config *next = c->endpoints->next;

                endpoint_free(c->endpoints);
                c->endpoints = next;
        }
        policy_rules_free(c->rules);
        while (c->forwards) {
                struct forward_config *next = c->forwards->next;

                forward_free(c->forwards);
                c->forwards = next;
        }
        free(c->path);
        free(c->socket_path);
        free(c->database);
        free(c->audit_group);
        free(c->signing_key);
        free(c->signing_key_file);
        free(c->admin_group);
        free(c->socket_group);
        free(c);
}

static void parser_done(struct parser *p) {
        for (size_t i = 0; i < p->n_eps; i++) {
                endpoint_free(p->eps[i].e);
                free(p->eps[i].password_file);
        }
        free(p->eps);
        for (size_t i = 0; i < p->n_pols; i++)
                policy_rule_free(p->pols[i].rule);
        free(p->pols);
        for (size_t i = 0; i < p->n_fws; i++)
                forward_free(p->fws[i].f);
        free(p->fws);
        config_free(p->c);
}

/* Move the parsed endpoints, in file order, onto the config. */
static void link_endpoints(struct parser *p) {
        struct endpoint_config **tail = &p->c->endpoints;

        for (size_t i = 0; i < p->n_eps; i++) {
                *tail = TAKE_PTR(p->eps[i].e);
                (*tail)->first = p->c->endpoints;
                tail = &(*tail)->next;
        }
        p->c->n_endpoints = p->n_eps;

        struct policy_rule **rtail = &p->c->rules;
        for (size_t i = 0; i < p->n_pols; i++) {
                *rtail = TAKE_PTR(p->pols[i].rule);
                rtail = &(*rtail)->next;
        }

        struct forward_config **ftail = &p->c->forwards;
        for (size_t i = 0; i < p->n_fws; i++) {
                *ftail = TAKE_PTR(p->fws[i].f);
                ftail = &(*ftail)->next;
        }
}

static int parse(struct parser *p) {
        int r;

        p->c = calloc(1, sizeof *p->c);
        if (!p->c)
                return log_oom();
        p->c->checkpoint_interval = CONFIG_DEFAULT_CHECKPOINT_INTERVAL;
        p->c->task_timeout = CONFIG_DEFAULT_TASK_TIMEOUT;
        p->c->watch_interval = CONFIG_DEFAULT_WATCH_INTERVAL;
        p->c->health_check_interval = CONFIG_DEFAULT_HEALTH_CHECK_INTERVAL;
        if (set_string(&p->c->path, p->path) < 0)
                return log_oom();
        p->c->socket_mode = 0660;
        p->c->limits = (struct config_limits) {
                .max_request_size = CONFIG_DEFAULT_MAX_REQUEST_SIZE,
                .idle_timeout = CONFIG_DEFAULT_IDLE_TIMEOUT,
                .max_connections = CONFIG_DEFAULT_MAX_CONNECTIONS,
                .max_connections_per_uid = CONFIG_DEFAULT_MAX_CONNECTIONS_PER_UID,
                .max_operations = CONFIG_DEFAULT_MAX_OPERATIONS,
                .shutdown_timeout = CONFIG_DEFAULT_SHUTDOWN_TIMEOUT,
        };

        r = ini_parse_stream(read_line, p, handle_key, p);
        if (r == -2)
                return log_oom();
        /* read_line() blanks the lines inih would refuse, so this is a fallback. */
        if (r > 0)
                parse_error(p, (unsigned) r, -EINVAL, "syntax error (expected \"key = value\" or [section])");
        if (ferror(p->f))
                return log_error_errno(-EIO, "Failed to read %s", p->path);

        if ((!p->c->socket_path && set_string(&p->c->socket_path, CONFIG_DEFAULT_SOCKET) < 0) ||
            (!p->c->database && set_string(&p->c->database, CONFIG_DEFAULT_DATABASE) < 0))
                return log_oom();

        /* Check every endpoint even after errors, so one run lists all mistakes. */
        for (size_t i = 0; i < p->n_eps; i++)
                validate_endpoint(p, &p->eps[i]);
        for (size_t i = 0; i < p->n_pols; i++)
                validate_policy(p, p->pols[i].rule);
        for (size_t i = 0; i < p->n_fws; i++)
                validate_forward(p, &p->fws[i]);
        resolve_signing_key(p);
        return p->r;
}

int config_load(const char *path, struct config **out) {
        _cleanup_fclose_ FILE *f = NULL;
        struct parser p = { .path = path };
        int r;

        f = fopen(path, "re");
        if (!f)
                return log_error_errno(negative_errno(), "Failed to open %s: %m", path);
        p.f = f;

        r = parse(&p);
        if (r < 0) {
                parser_done(&p);
                return log_error_errno(r, "Failed to load configuration %s", path);
        }
        link_endpoints(&p);
        *out = TAKE_PTR(p.c);
        parser_done(&p);
        return 0;
}

/* Print "key = value" only when value is set. */
static void dump_string(FILE *f, const char *key, const char *value) {
        if (value)
                fprintf(f, "%s = %s\n", key, value);
}

static void dump_endpoint(const struct endpoint_config *e, FILE *f) {
        fprintf(f, "\n[endpoint \"%s\"]\n", e->name);
        /* Defaults are left out, so golden files written before the key existed stay valid. */
        if (strcmp(e->backend->name, CONFIG_DEFAULT_BACKEND) != 0)
                fprintf(f, "backend = %s\n", e->backend->name);
        fprintf(f, "%s = %s\n", e->url_key, e->url);
        dump_string(f, "user", e->user);
        if (e->password_source)
                fprintf(f, "password = (from %s)\n", e->password_source);
        dump_string(f, "ca-file", e->ca_file);
        if (e->has_fingerprint) {
                fputs("fingerprint = ", f);
                for (size_t i = 0; i < sizeof e->fingerprint; i++)
                        fprintf(f, "%s%02X", i ? ":" : "", e->fingerprint[i]);
                fputc('\n', f);
        }
        fprintf(f, "pool-size = %u\n", e->pool_size);
        if (e->confirm_memory_mib != CONFIG_DEFAULT_CONFIRM_MEMORY_MIB)
                fprintf(f, "confirm-memory-above = %" PRId64 "\n", e->confirm_memory_mib);
        if (!e->post_events)
                fputs("post-events = no\n", f);
        if (!e->watch)
                fputs("watch = no\n", f);
        dump_string(f, "migrate-uri", e->migrate_uri);
        if (e->migrate_unsafe)
                fputs("migrate-unsafe = yes\n", f);
}

void config_dump(const struct config *c, FILE *f) {
        const struct config_limits *l = &c->limits;

        fprintf(f, "[vmtraced]\nsocket = %s\ndatabase = %s\n", c->socket_path, c->database);
        /* Defaults are left out, so existing golden files stay valid. */
        if (c->watch_interval != CONFIG_DEFAULT_WATCH_INTERVAL)
                fprintf(f, "watch-interval = %u\n", c->watch_interval);
        if (c->health_check_interval != CONFIG_DEFAULT_HEALTH_CHECK_INTERVAL)
                fprintf(f, "health-check-interval = %u\n", c->health_check_interval);
        if (c->task_timeout != CONFIG_DEFAULT_TASK_TIMEOUT)
                fprintf(f, "task-timeout = %u\n", c->task_timeout);
        dump_string(f, "audit-group", c->audit_group);
        if (c->checkpoint_interval != CONFIG_DEFAULT_CHECKPOINT_INTERVAL)
                fprintf(f, "checkpoint-interval = %u\n", c->checkpoint_interval);
        if (c->signing_key)
                fprintf(f, "signing-key = %s (from %s)\n", c->signing_key, c->signing_key_file);
        dump_string(f, "admin-group", c->admin_group);
        dump_string(f, "socket-group", c->socket_group);
        fprintf(f, "socket-mode = %04o\n", c->socket_mode);
        fprintf(f, "max-request-size = %u\nidle-timeout = %u\nmax-connections = %u\n"
                   "max-connections-per-uid = %u\nmax-operations = %u\nshutdown-timeout = %u\n",
                l->max_request_size, l->idle_timeout, l->max_connections, l->max_connections_per_uid,
                l->max_operations, l->shutdown_timeout);

        for (const struct endpoint_config *e = c->endpoints; e; e = e->next)
                dump_endpoint(e, f);
        for (const struct policy_rule *r = c->rules; r; r = r->next) {
                fputc('\n', f);
                policy_rule_dump(r, f);
        }
        for (const struct forward_config *fw = c->forwards; fw; fw = fw->next) {
                bool v6 = strchr(fw->host, ':');

                fprintf(f, "\n[forward \"%s\"]\nprotocol = %s\ntarget = %s%s%s:%s\n", fw->name,
                        fw->protocol == FORWARD_SYSLOG_TLS ? "syslog-tls" : "relp", v6 ? "[" : "", fw->host,
                        v6 ? "]" : "", fw->port);
                dump_string(f, "ca", fw->ca_file);
                dump_string(f, "cert", fw->cert_file);
                if (fw->key_source)
                        fprintf(f, "key = (from %s)\n", fw->key_source);
        }
}

const struct endpoint_config *config_find_endpoint(const struct config *c, const char *name) {
        for (const struct endpoint_config *e = c->endpoints; e; e = e->next)
                if (strcmp(e->name, name) == 0)
                        return e;
        return NULL;
}
