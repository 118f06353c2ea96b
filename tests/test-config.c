/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for daemon/config.c.
 *
 * Golden tests (bgpd regress style): every tests/config/NAME.conf is loaded
 * and either NAME.ok holds the expected config_dump() output, or NAME.err
 * holds lines that must each appear in what config_load() logged.  "@DIR@"
 * in all three files stands for a private temporary directory that holds
 * the password files, a CA file and a credentials directory, created with
 * the modes the cases need; the .conf is copied there with @DIR@ replaced.
 * Some cases need run-time facts (file owners, environment) and are
 * written in C below.
 *
 * The data directory is found through $srcdir (set by automake), as
 * $srcdir/tests/config or $srcdir/config; $srcdir defaults to ".".
 * Output is TAP-like; exit status 1 if anything failed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "macros.h"
#include "tap.h"

#define PW_FILE "s3cret-file"
#define PW_CRLF "s3cret-crlf"
#define PW_CRED "s3cret-cred"

static char tmpdir[] = "/tmp/test-config.XXXXXX";
static char datadir[512];
static char creddir[512];

static char *read_file(const char *path) {
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t size = 0;
        FILE *m;
        int c;

        if (!f)
                return NULL;
        m = open_memstream(&buf, &size);
        if (!m) {
                fclose(f);
                return NULL;
        }
        while ((c = getc(f)) != EOF)
                putc(c, m);
        fclose(f);
        fclose(m);
        return buf;
}

/* s with every @DIR@ replaced by tmpdir. */
static char *subst(const char *s) {
        char *buf = NULL;
        size_t size = 0;
        FILE *m = open_memstream(&buf, &size);

        if (!m)
                abort();
        for (const char *p; (p = strstr(s, "@DIR@")); s = p + strlen("@DIR@")) {
                fwrite(s, 1, (size_t) (p - s), m);
                fputs(tmpdir, m);
        }
        fputs(s, m);
        fclose(m);
        return buf;
}

static bool write_file(const char *path, const char *content, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        bool ok;

        if (fd < 0)
                return false;
        ok = write(fd, content, strlen(content)) == (ssize_t) strlen(content) && fchmod(fd, mode) == 0;
        close(fd);
        return ok;
}

/* config_load() with stderr captured into *log. */
static int load_captured(const char *path, struct config **c, char **log) {
        char logpath[600];
        int saved, fd, r;

        snprintf(logpath, sizeof logpath, "%s/stderr", tmpdir);
        fflush(stderr);
        saved = dup(STDERR_FILENO);
        fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (saved < 0 || fd < 0)
                abort();
        dup2(fd, STDERR_FILENO);
        close(fd);
        r = config_load(path, c);
        fflush(stderr);
        dup2(saved, STDERR_FILENO);
        close(saved);
        *log = read_file(logpath);
        if (!*log)
                abort();
        return r;
}

static char *dump(const struct config *c) {
        char *buf = NULL;
        size_t size = 0;
        FILE *m = open_memstream(&buf, &size);

        if (!m)
                abort();
        config_dump(c, m);
        fclose(m);
        return buf;
}

static bool leaks_secret(const char *s) {
        return strstr(s, PW_FILE) || strstr(s, PW_CRLF) || strstr(s, PW_CRED);
}

/* Print text as "# " comment lines so a TAP reader shows it. */
static void diag_text(const char *title, const char *text) {
        printf("# %s:\n", title);
        for (const char *l = text; *l;) {
                size_t n = strcspn(l, "\n");

                printf("#   %.*s\n", (int) n, l);
                l += n + (l[n] == '\n');
        }
}

static bool check_ok(const struct config *c, int r, const char *log, const char *expected_path) {
        _cleanup_free_ char *raw = read_file(expected_path), *want = NULL, *got = NULL;

        if (r < 0) {
                diag_text("config_load failed", log);
                return false;
        }
        want = subst(raw);
        got = dump(c);
        if (strcmp(got, want) != 0) {
                diag_text("got", got);
                diag_text("want", want);
                return false;
        }
        if (leaks_secret(got) || leaks_secret(log))
                return tap_diag("a password leaked into the output");
        return true;
}

static bool check_err(int r, const char *log, const char *expected_path) {
        _cleanup_free_ char *raw = read_file(expected_path), *want = NULL;
        bool ok = true;

        if (r != -EINVAL && r != -ENOENT) {
                tap_diag("config_load returned %d, want an error", r);
                ok = false;
        }
        want = subst(raw);
        for (char *l = want, *nl; *l; l = nl + 1) {
                nl = strchrnul(l, '\n');
                if (nl > l) {
                        char save = *nl;

                        *nl = '\0';
                        if (!strstr(log, l)) {
                                tap_diag("missing from the log: %s", l);
                                ok = false;
                        }
                        *nl = save;
                }
                if (!*nl)
                        break;
        }
        if (leaks_secret(log) || strstr(log, "hunter2"))
                ok = tap_diag("a password leaked into the log");
        if (!ok)
                diag_text("log", log);
        return ok;
}

static bool exists(const char *path) {
        return access(path, F_OK) == 0;
}

static void golden(const char *name) {
        char src[1024], conf[1024], ok_path[1024], err_path[1024];
        _cleanup_free_ char *raw = NULL, *text = NULL, *log = NULL;
        struct config *c = NULL;
        bool ok;
        int r;

        snprintf(src, sizeof src, "%s/%s.conf", datadir, name);
        snprintf(conf, sizeof conf, "%s/%s.conf", tmpdir, name);
        snprintf(ok_path, sizeof ok_path, "%s/%s.ok", datadir, name);
        snprintf(err_path, sizeof err_path, "%s/%s.err", datadir, name);

        raw = read_file(src);
        if (!raw || !write_file(conf, (text = subst(raw)), 0644)) {
                tap_ok(false, "%s: cannot copy %s", name, src);
                return;
        }
        r = load_captured(conf, &c, &log);
        if (exists(ok_path))
                ok = check_ok(c, r, log, ok_path);
        else if (exists(err_path))
                ok = r < 0 && c == NULL ? check_err(r, log, err_path) :
                                          tap_diag("config_load succeeded (or set *out) for a bad file");
        else
                ok = tap_diag("neither %s.ok nor %s.err exists", name, name);
        config_free(c);
        tap_ok(ok, "golden %s", name);
}

static int conf_filter(const struct dirent *d) {
        size_t n = strlen(d->d_name);

        return n > 5 && strcmp(d->d_name + n - 5, ".conf") == 0;
}

static void run_golden(void) {
        struct dirent **list;
        int n = scandir(datadir, &list, conf_filter, alphasort);

        if (n <= 0) {
                tap_ok(false, "no golden files in %s", datadir);
                return;
        }
        for (int i = 0; i < n; i++) {
                list[i]->d_name[strlen(list[i]->d_name) - 5] = '\0';
                golden(list[i]->d_name);
                free(list[i]);
        }
        free(list);
}

/* Write a .conf into tmpdir from a string (for cases that need run-time facts). */
static const char *make_conf(const char *name, const char *content) {
        static char path[1024];
        _cleanup_free_ char *text = subst(content);

        snprintf(path, sizeof path, "%s/%s.conf", tmpdir, name);
        if (!write_file(path, text, 0644))
                abort();
        return path;
}

/* full.conf as loaded, with its three endpoints looked up by name. */
struct full_conf {
        const struct config *c;
        const struct endpoint_config *e1, *e2, *e3;
};

static bool full_found_by_name(const struct full_conf *f) {
        /* Names are exact: no prefix match, no case folding. */
        return f->e1 && f->e2 && f->e3 && !config_find_endpoint(f->c, "vc") && !config_find_endpoint(f->c, "VC1");
}

static bool full_in_file_order(const struct full_conf *f) {
        return f->c->n_endpoints == 3 && f->c->endpoints == f->e1 && f->e1->next == f->e2 && f->e2->next == f->e3;
}

static bool full_passwords(const struct full_conf *f) {
        return strcmp(f->e1->password, PW_FILE) == 0 && strcmp(f->e2->password, PW_CRED) == 0 &&
               strcmp(f->e3->password, PW_CRLF) == 0;
}

static bool full_pool_sizes(const struct full_conf *f) {
        return f->e1->pool_size == 4 && f->e2->pool_size == 64 && f->e3->pool_size == CONFIG_DEFAULT_POOL_SIZE;
}

static bool full_confirm_memory(const struct full_conf *f) {
        return f->e1->confirm_memory_mib == 1024 * 1024 && f->e3->confirm_memory_mib == CONFIG_DEFAULT_CONFIRM_MEMORY_MIB &&
               CONFIG_DEFAULT_CONFIRM_MEMORY_MIB == 64 * 1024;
}

static bool full_fingerprints(const struct full_conf *f) {
        const unsigned char *fp = f->e2->fingerprint;

        return !f->e1->has_fingerprint && f->e2->has_fingerprint && fp[0] == 0x00 && fp[10] == 0xaa &&
               fp[31] == 0xff && f->e3->fingerprint[0] == 0x0a;
}

static bool full_ca_files(const struct full_conf *f) {
        return f->e1->ca_file && !f->e2->ca_file;
}

/* In this order: each check may rely on the ones before (the endpoints exist). */
static const struct {
        bool (*check)(const struct full_conf *f);
        const char *failed;
} full_checks[] = {
        { full_found_by_name, "config_find_endpoint" },
        { full_in_file_order, "endpoints not in file order" },
        { full_passwords, "passwords not loaded correctly (first line, CR LF stripped)" },
        { full_pool_sizes, "pool sizes" },
        { full_confirm_memory, "confirm-memory-above (1T, and the 64G default)" },
        { full_fingerprints, "fingerprints" },
        { full_ca_files, "ca-file" },
};

static void test_values(void) {
        char conf[1024];
        _cleanup_free_ char *log = NULL;
        struct config *c = NULL;
        struct full_conf f;
        bool ok = true;
        int r;

        /* full.conf was copied into tmpdir by the golden run. */
        snprintf(conf, sizeof conf, "%s/full.conf", tmpdir);
        r = load_captured(conf, &c, &log);
        if (r < 0) {
                tap_ok(false, "full.conf values: load failed");
                return;
        }
        f = (struct full_conf) {
                c, config_find_endpoint(c, "vc1"), config_find_endpoint(c, "vc-cred"),
                config_find_endpoint(c, "lab_2.x"),
        };
        for (size_t i = 0; ok && i < ELEMENTSOF(full_checks); i++)
                if (!full_checks[i].check(&f))
                        ok = tap_diag("%s", full_checks[i].failed);
        config_free(c);
        tap_ok(ok, "values of full.conf: order, passwords, pool sizes, fingerprints");
}

static void test_no_file(void) {
        char path[600];
        _cleanup_free_ char *log = NULL;
        struct config *c = (struct config *) 0x1;
        int r;

        snprintf(path, sizeof path, "%s/does-not-exist.conf", tmpdir);
        r = load_captured(path, &c, &log);
        tap_ok(r == -ENOENT && c == (struct config *) 0x1 && strstr(log, path),
               "missing config file -> -ENOENT, *out untouched");
}

static void test_no_credentials_directory(void) {
        _cleanup_free_ char *log = NULL;
        struct config *c = NULL;
        const char *path;
        int r;

        path = make_conf("nocreddir", "[endpoint \"vc-cred\"]\nurl = https://x/sdk\nuser = u\n");
        unsetenv("CREDENTIALS_DIRECTORY");
        r = load_captured(path, &c, &log);
        setenv("CREDENTIALS_DIRECTORY", creddir, 1);
        tap_ok(r == -EINVAL && !c && strstr(log, "nocreddir.conf:1: endpoint \"vc-cred\" has no password-file and "
                                                 "$CREDENTIALS_DIRECTORY is not set"),
               "no password-file and no $CREDENTIALS_DIRECTORY");
        if (c)
                config_free(c);
}

static void test_password_mode_fix(void) {
        char pw[600];
        _cleanup_free_ char *log1 = NULL, *log2 = NULL;
        struct config *c1 = NULL, *c2 = NULL;
        const char *path;
        int r1, r2;

        snprintf(pw, sizeof pw, "%s/pw-toggle", tmpdir);
        path = make_conf("toggle", "[endpoint \"vc1\"]\nurl = https://x/sdk\nuser = u\n"
                                   "password-file = @DIR@/pw-toggle\n");
        write_file(pw, PW_FILE "\n", 0644);
        r1 = load_captured(path, &c1, &log1);
        chmod(pw, 0600);
        r2 = load_captured(path, &c2, &log2);
        tap_ok(r1 == -EINVAL && !c1 && strstr(log1, "has mode 0644") && r2 == 0 && c2 &&
               strcmp(c2->endpoints->password, PW_FILE) == 0,
               "password-file 0644 refused, same file accepted after chmod 0600");
        config_free(c2);
}

static void test_password_owner(void) {
        char pw[600];
        _cleanup_free_ char *log = NULL;
        struct config *c = NULL;
        const char *path;
        int r;

        if (geteuid() != 0) {
                tap_skip("%s", "password-file owned by another user: needs root to chown");
                return;
        }
        snprintf(pw, sizeof pw, "%s/pw-nobody", tmpdir);
        path = make_conf("owner", "[endpoint \"vc1\"]\nurl = https://x/sdk\nuser = u\n"
                                  "password-file = @DIR@/pw-nobody\n");
        if (!write_file(pw, PW_FILE "\n", 0600) || chown(pw, 65534, 65534) < 0) {
                tap_ok(false, "cannot create %s", pw);
                return;
        }
        r = load_captured(path, &c, &log);
        tap_ok(r == -EINVAL && !c && strstr(log, "owner.conf:4: password-file") &&
               strstr(log, "is owned by uid 65534; it must be owned by root or uid 0"),
               "password-file owned by another user refused");
        config_free(c);
}

static bool find_datadir(void) {
        const char *srcdir = getenv("srcdir");
        static const char *const subdirs[] = { "tests/config", "config" };

        if (!srcdir || !*srcdir)
                srcdir = ".";
        for (size_t i = 0; i < ELEMENTSOF(subdirs); i++) {
                snprintf(datadir, sizeof datadir, "%s/%s", srcdir, subdirs[i]);
                if (exists(datadir))
                        return true;
        }
        return false;
}

/* The files the golden cases refer to as @DIR@/... */
static bool make_fixtures(void) {
        char p[600];
        const struct {
                const char *name;
                const char *content;
                mode_t mode;
        } files[] = {
                { "pw-good", PW_FILE "\n", 0600 },
                { "pw-crlf", PW_CRLF "\r\nsecond line\n", 0400 },
                { "pw-0644", PW_FILE "\n", 0644 },
                { "pw-0640", PW_FILE "\n", 0640 },
                { "pw-empty", "\n" PW_FILE "\n", 0600 },
                { "ca.pem", "-----BEGIN CERTIFICATE-----\n", 0644 },
                { "cert.pem", "-----BEGIN CERTIFICATE-----\n", 0644 },
                { "key.pem", "-----BEGIN PRIVATE KEY-----\n", 0600 },
                { "key-0644.pem", "-----BEGIN PRIVATE KEY-----\n", 0644 },
                { "creds/forward_tls-cred", "-----BEGIN PRIVATE KEY-----\n", 0400 },
                { "creds/vc-cred", PW_CRED, 0400 }, /* no newline, as systemd-creds writes it */
                { "creds/empty-cred", "", 0400 },
                /* as LoadCredential=endpoint:/etc/vmtraced/credentials names them */
                { "creds/endpoint_vc-unit", PW_CRED, 0400 },
                { "creds/endpoint_trail-key", "-----BEGIN PRIVATE KEY-----\n", 0400 },
        };

        snprintf(p, sizeof p, "%s/creds", tmpdir);
        if (mkdir(p, 0700) < 0)
                return false;
        snprintf(p, sizeof p, "%s/pw-dir", tmpdir);
        if (mkdir(p, 0700) < 0)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                snprintf(p, sizeof p, "%s/%s", tmpdir, files[i].name);
                if (!write_file(p, files[i].content, files[i].mode))
                        return false;
        }
        return true;
}

int main(void) {
        log_init("vmtraced");
        if (!find_datadir()) {
                fprintf(stderr, "test data not found (set $srcdir)\n");
                return 99;
        }
        if (!mkdtemp(tmpdir) || !make_fixtures()) {
                perror("setting up the temporary directory");
                return 99;
        }
        snprintf(creddir, sizeof creddir, "%s/creds", tmpdir);
        setenv("CREDENTIALS_DIRECTORY", creddir, 1);

        run_golden();
        test_values();
        test_no_file();
        test_no_credentials_directory();
        test_password_mode_fix();
        test_password_owner();

        tap_rm_rf(tmpdir);
        return tap_done();
}
