/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vSphere backend against a running vcsim (or vCenter), driven through
 * struct backend_ops directly.  The endpoint comes from the environment:
 *
 *   VMT_TEST_URL          https://127.0.0.1:PORT/sdk   (unset: skip, exit 77)
 *   VMT_TEST_CA           CA/cert file that verifies the server, or
 *   VMT_TEST_FINGERPRINT  its SHA-256 fingerprint AA:BB:...
 *   VMT_TEST_USER, VMT_TEST_PASSWORD
 *   VMT_TEST_VM           a VM to rename (default DC0_H0_VM0, vcsim's VPX model)
 *   VMT_TEST_OTHER_VM     another VM, for the duplicate-name case (default DC0_H0_VM1)
 *   VMT_TEST_THIRD_VM     a third VM, read in between to drop perform's host hint (default DC0_C0_RP0_VM0)
 *   VMT_TEST_WRONG_CA     a cert that does not verify the server (default: made with openssl(1))
 *   VMT_TEST_TMPDIR       where to make it (default /tmp)
 *   VMT_TEST_DUP_NAME     a name two VMs share (the ambiguous-name case is skipped without it)
 *   VMT_TEST_IDLE_SEC     the server's session idle timeout; enables the expired-session case
 *
 * Output is TAP-like: "ok N - what" / "not ok N - what"; exit 1 if any failed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "config.h"
#include "log.h"
#include "macros.h"
#include "vsphere.h"

static int n_tests, n_failed;

static void check(bool ok, const char *fmt, ...) _printf_(2, 3);
static void check(bool ok, const char *fmt, ...) {
        va_list ap;

        printf("%sok %d - ", ok ? "" : "not ", ++n_tests);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
        if (!ok)
                n_failed++;
}

static void skip(const char *what, const char *why) {
        printf("ok %d - %s # SKIP %s\n", ++n_tests, what, why);
}

static const char *env_or(const char *name, const char *def) {
        const char *v = getenv(name);

        return v && *v ? v : def;
}

static int parse_fingerprint(const char *s, unsigned char out[32]) {
        for (int i = 0; i < 32; i++) {
                unsigned v;

                if (sscanf(s, "%2x", &v) != 1)
                        return -EINVAL;
                out[i] = v;
                s += 2;
                if (i < 31 && *s++ != ':')
                        return -EINVAL;
        }
        return *s ? -EINVAL : 0;
}

static double now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static struct endpoint_config base_endpoint(void) {
        struct endpoint_config ep = {
                .name = "test",
                .url = (char *) getenv("VMT_TEST_URL"),
                .user = (char *) env_or("VMT_TEST_USER", "user"),
                .password = (char *) env_or("VMT_TEST_PASSWORD", "pass"),
                .ca_file = (char *) env_or("VMT_TEST_CA", NULL),
        };
        const char *fp = env_or("VMT_TEST_FINGERPRINT", NULL);

        if (fp && !ep.ca_file) {
                if (parse_fingerprint(fp, ep.fingerprint) < 0) {
                        fprintf(stderr, "Bad VMT_TEST_FINGERPRINT\n");
                        exit(2);
                }
                ep.has_fingerprint = true;
        }
        return ep;
}

/* session_new + login; returns the login result. */
static int try_login(const struct endpoint_config *ep, struct backend_session **out, struct op_error *err) {
        struct backend_session *s = NULL;
        _cleanup_free_ char *who = NULL;
        int r;

        r = vsphere_backend.session_new(ep, &s, err);
        if (r < 0)
                return r;
        r = vsphere_backend.login(s, &who, err);
        if (r < 0 || !out)
                vsphere_backend.session_free(s);
        else
                *out = s;
        return r;
}

static void test_tls_refusals(const struct endpoint_config *good) {
        struct endpoint_config ep = *good;
        struct op_error err = {};
        char dir[512], cmd[2048], wrong_ca[600];
        const char *given = env_or("VMT_TEST_WRONG_CA", NULL);
        int r;

        snprintf(dir, sizeof dir, "%s/test-vsphere.XXXXXX", env_or("VMT_TEST_TMPDIR", "/tmp"));

        /* A CA that did not sign the server's certificate. */
        if (given)
                snprintf(wrong_ca, sizeof wrong_ca, "%s", given);
        else if (mkdtemp(dir)) {
                snprintf(wrong_ca, sizeof wrong_ca, "%s/other.pem", dir);
                snprintf(cmd, sizeof cmd,
                         "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s/other.key -out %s -days 1 "
                         "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1",
                         dir, wrong_ca);
                if (system(cmd) != 0)
                        wrong_ca[0] = '\0';
        } else
                wrong_ca[0] = '\0';

        if (wrong_ca[0]) {
                ep.ca_file = wrong_ca;
                ep.has_fingerprint = false;
                r = try_login(&ep, NULL, &err);
                check(r == -EPERM && strcmp(err.fault, "TLSError") == 0 && strstr(err.message, "verify failed"),
                      "wrong CA file -> -EPERM TLSError (%d %s: %s)", r, err.fault, err.message);
        } else
                skip("wrong CA file", "no openssl(1) to make one");
        if (!given && !strstr(dir, "XXXXXX")) {
                snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
                (void) !system(cmd);
        }

        ep = *good;
        ep.ca_file = "/nonexistent/ca.pem";
        ep.has_fingerprint = false;
        err = (struct op_error) {};
        r = try_login(&ep, NULL, &err);
        check(r == -ENOENT && strcmp(err.fault, "TLSError") == 0, "missing CA file -> -ENOENT TLSError (%d %s: %s)",
              r, err.fault, err.message);

        ep = *good;
        ep.ca_file = NULL;
        ep.has_fingerprint = true;
        if (!good->has_fingerprint)
                memset(ep.fingerprint, 0xab, sizeof ep.fingerprint);
        ep.fingerprint[31] ^= 0x01;
        err = (struct op_error) {};
        r = try_login(&ep, NULL, &err);
        check(r == -EPERM && strcmp(err.fault, "TLSError") == 0 && strstr(err.message, "fingerprint mismatch"),
              "wrong fingerprint -> -EPERM TLSError (%d %s: %s)", r, err.fault, err.message);
}

static void test_login_failures(const struct endpoint_config *good) {
        struct endpoint_config ep = *good;
        struct op_error err = {};
        int r;

        ep.password = "certainly-not-the-password";
        r = try_login(&ep, NULL, &err);
        check(r == -EREMOTEIO && strcmp(err.fault, "InvalidLogin") == 0 && !strstr(err.message, ep.password),
              "wrong password -> -EREMOTEIO InvalidLogin, password not in message (%d %s: %s)", r, err.fault,
              err.message);

        ep = *good;
        ep.url = "https://127.0.0.1:1/sdk";
        err = (struct op_error) {};
        r = try_login(&ep, NULL, &err);
        check(r == -ECONNREFUSED && strcmp(err.fault, "ConnectionError") == 0,
              "closed port -> -ECONNREFUSED ConnectionError (%d %s: %s)", r, err.fault, err.message);
}

static int rename_vm(struct backend_session *s, const char *vm, const char *new_name, struct vm_target *t,
                     char **after, char **task, struct op_error *err, unsigned *trips_read, unsigned *trips_perform) {
        struct op_args args = { .vm = vm, .new_name = new_name };
        _cleanup_free_ char *before = NULL;
        unsigned n0 = vsphere_session_round_trips(s);
        int r;

        r = vsphere_backend.read_target(s, OP_RENAME, &args, "test-read", t, &before, err);
        if (trips_read)
                *trips_read = vsphere_session_round_trips(s) - n0;
        if (r < 0)
                return r;
        n0 = vsphere_session_round_trips(s);
        r = vsphere_backend.perform(s, OP_RENAME, &args, "test-perform", NULL, t, after, task, err);
        if (trips_perform)
                *trips_perform = vsphere_session_round_trips(s) - n0;
        return r;
}

static void test_rename(struct backend_session *s) {
        const char *vm = env_or("VMT_TEST_VM", "DC0_H0_VM0"), *other = env_or("VMT_TEST_OTHER_VM", "DC0_H0_VM1");
        struct vm_target t = {};
        struct op_args args = { .vm = vm };
        struct op_error err = {};
        _cleanup_free_ char *before = NULL, *after = NULL, *task = NULL, *id = NULL;
        char new_name[128];
        unsigned trips_read = 0, trips_perform = 0;
        double t0;
        int r;

        r = vsphere_backend.read_target(s, OP_RENAME, &args, "test-read", &t, &before, &err);
        check(r == 0 && t.id && t.uuid && t.host && before && strcmp(before, vm) == 0 && strcmp(t.name, vm) == 0,
              "read_target \"%s\" -> id %s uuid %s host %s (%d %s)", vm, strempty(t.id), strempty(t.uuid),
              strempty(t.host), r, err.message);
        id = t.id ? strdup(t.id) : NULL;
        vm_target_clear(&t);

        /* UTF-8 must survive the round trip byte for byte (notes P7). */
        snprintf(new_name, sizeof new_name, "vmt-\xc3\xbc-\xe6\xb5\x8b\xe8\xaf\x95-%ld", (long) getpid());
        t0 = now_ms();
        r = rename_vm(s, vm, new_name, &t, &after, &task, &err, &trips_read, &trips_perform);
        check(r == 0 && after && strcmp(after, new_name) == 0 && task && t.host,
              "rename \"%s\" -> \"%s\": after \"%s\", task %s, host %s (%d %s: %s)", vm, new_name, strempty(after),
              strempty(task), strempty(t.host), r, err.fault, err.message);
        printf("# rename took %.1f ms; read_target %u round trips, perform %u round trips\n", now_ms() - t0,
               trips_read, trips_perform);
        vm_target_clear(&t);

        args.vm = new_name;
        free(before);
        before = NULL;
        r = vsphere_backend.read_target(s, OP_RENAME, &args, "test-read", &t, &before, &err);
        check(r == 0 && id && t.id && strcmp(t.id, id) == 0, "renamed VM found under its new name (%d)", r);
        vm_target_clear(&t);

        /* Duplicate name: the task fails; vcsim says InvalidArgument, vCenter DuplicateName. */
        free(after);
        free(task);
        after = task = NULL;
        err = (struct op_error) {};
        r = rename_vm(s, new_name, other, &t, &after, &task, &err, NULL, NULL);
        check(r == -EREMOTEIO && err.fault[0] && strcmp(err.fault, "MethodFault") != 0 && task && after &&
              strcmp(after, new_name) == 0,
              "rename to an existing name -> -EREMOTEIO fault %s (%s), after \"%s\"", err.fault, err.message,
              strempty(after));
        vm_target_clear(&t);

        free(after);
        free(task);
        after = task = NULL;
        r = rename_vm(s, new_name, vm, &t, &after, &task, &err, NULL, NULL);
        check(r == 0 && after && strcmp(after, vm) == 0, "rename back to \"%s\" (%d %s)", vm, r, err.message);
        vm_target_clear(&t);

        /* perform without the host hint of the last read_target (another VM was read in between). */
        {
                struct vm_target other_t = {};
                struct op_args a2 = { .vm = env_or("VMT_TEST_THIRD_VM", "DC0_C0_RP0_VM0") };
                _cleanup_free_ char *b2 = NULL, *b3 = NULL;

                args = (struct op_args) { .vm = vm, .new_name = new_name };
                free(after);
                free(task);
                after = task = NULL;
                r = vsphere_backend.read_target(s, OP_RENAME, &args, "test-read", &t, &b2, &err);
                if (r == 0)
                        r = vsphere_backend.read_target(s, OP_RENAME, &a2, "test-read", &other_t, &b3, &err);
                free(t.host);
                t.host = NULL;
                if (r == 0)
                        r = vsphere_backend.perform(s, OP_RENAME, &args, "test-perform", NULL, &t, &after, &task, &err);
                check(r == 0 && after && strcmp(after, new_name) == 0 && t.host,
                      "rename without host hint: after \"%s\", host %s (%d %s)", strempty(after), strempty(t.host),
                      r, err.message);
                vm_target_clear(&t);
                vm_target_clear(&other_t);
                free(after);
                free(task);
                after = task = NULL;
                r = rename_vm(s, new_name, vm, &t, &after, &task, &err, NULL, NULL);
                vm_target_clear(&t);
        }

        args.vm = "no-such-vm-\xe2\x82\xac";
        err = (struct op_error) {};
        r = vsphere_backend.read_target(s, OP_RENAME, &args, "test-read", &t, &before, &err);
        check(r == -ENOENT && strcmp(err.fault, "NotFound") == 0 && strstr(err.message, "not found on endpoint"),
              "unknown VM -> -ENOENT NotFound (%s)", err.message);
}

static void test_ambiguous(struct backend_session *s) {
        const char *dup = env_or("VMT_TEST_DUP_NAME", NULL);
        struct op_args args = { .vm = dup };
        struct vm_target t = {};
        struct op_error err = {};
        _cleanup_free_ char *before = NULL;
        int r;

        if (!dup) {
                skip("ambiguous VM name -> -ENOTUNIQ", "VMT_TEST_DUP_NAME not set");
                return;
        }
        r = vsphere_backend.read_target(s, OP_RENAME, &args, "test-read", &t, &before, &err);
        check(r == -ENOTUNIQ && strstr(err.message, "host ") && !t.id && !before,
              "ambiguous VM name -> -ENOTUNIQ (%d %s: %s)", r, err.fault, err.message);
}

/* A session that expired on the server side (the client still thinks it is logged in). */
static void test_expiry(struct backend_session *s) {
        const char *idle = env_or("VMT_TEST_IDLE_SEC", NULL);
        struct op_args args = { .vm = env_or("VMT_TEST_VM", "DC0_H0_VM0") };
        struct vm_target t = {};
        struct op_error err = {};
        _cleanup_free_ char *before = NULL, *who = NULL;
        int r;

        if (!idle) {
                skip("expired session -> -EKEYEXPIRED", "VMT_TEST_IDLE_SEC not set");
                return;
        }
        sleep(3 * atoi(idle) + 1);
        r = vsphere_backend.read_target(s, OP_RENAME, &args, "test-read", &t, &before, &err);
        check(r == -EKEYEXPIRED, "read_target on an expired session -> -EKEYEXPIRED (%d %s: %s)", r, err.fault,
              err.message);
        r = vsphere_backend.login(s, &who, &err);
        check(r == 0, "login after expiry (%d %s)", r, err.message);
        r = vsphere_backend.read_target(s, OP_RENAME, &args, "test-read", &t, &before, &err);
        check(r == 0, "read_target after re-login (%d %s)", r, err.message);
        vm_target_clear(&t);
}

static void test_logout(struct backend_session *s) {
        const char *vm = env_or("VMT_TEST_VM", "DC0_H0_VM0");
        struct op_args args = { .vm = vm, .new_name = "vmt-after-logout" };
        struct vm_target t = {};
        struct op_error err = {};
        _cleanup_free_ char *before = NULL, *after = NULL, *task = NULL, *who = NULL;
        int r;

        r = vsphere_backend.read_target(s, OP_RENAME, &args, "test-read", &t, &before, &err);
        check(r == 0, "read_target before logout (%d %s)", r, err.message);

        r = vsphere_backend.logout(s, &err);
        check(r == 0, "logout (%d %s)", r, err.message);

        err = (struct op_error) {};
        r = vsphere_backend.perform(s, OP_RENAME, &args, "test-perform", NULL, &t, &after, &task, &err);
        check(r == -EKEYEXPIRED && strcmp(err.fault, "NotAuthenticated") == 0 && !task,
              "Rename_Task after logout -> -EKEYEXPIRED NotAuthenticated (%d %s: %s)", r, err.fault, err.message);

        err = (struct op_error) {};
        r = vsphere_backend.read_target(s, OP_RENAME, &args, "test-read", &t, &before, &err);
        check(r == -EKEYEXPIRED, "read_target after logout -> -EKEYEXPIRED (%d %s)", r, err.message);

        r = vsphere_backend.logout(s, &err);
        check(r == 0, "second logout is harmless (%d %s)", r, err.message);

        r = vsphere_backend.login(s, &who, &err);
        check(r == 0 && who, "login again on the same session (%d %s)", r, err.message);
        vm_target_clear(&t);
}

int main(void) {
        struct endpoint_config ep;
        struct backend_session *s = NULL;
        struct op_error err = {};
        _cleanup_free_ char *who = NULL;
        unsigned n0;
        int r;

        if (!getenv("VMT_TEST_URL")) {
                printf("1..0 # SKIP VMT_TEST_URL not set\n");
                return 77;
        }
        log_init("test-vsphere");
        vsphere_global_init();
        ep = base_endpoint();

        r = vsphere_backend.session_new(&ep, &s, &err);
        check(r == 0, "session_new (%d %s)", r, err.message);
        if (r < 0)
                return 1;
        n0 = vsphere_session_round_trips(s);
        r = vsphere_backend.login(s, &who, &err);
        check(r == 0 && who && *who, "login as %s (%d %s: %s)", strempty(who), r, err.fault, err.message);
        printf("# login: %u round trips\n", vsphere_session_round_trips(s) - n0);
        if (r == 0) {
                test_rename(s);
                test_ambiguous(s);
                test_expiry(s);
                test_logout(s);
        }
        vsphere_backend.session_free(s);

        test_tls_refusals(&ep);
        test_login_failures(&ep);

        printf("1..%d\n", n_tests);
        return n_failed ? 1 : 0;
}
