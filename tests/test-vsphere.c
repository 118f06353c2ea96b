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
 *   VMT_TEST_VCSIM        the tests/vcsim program: every operation case compares the backend's
 *                         after value with what the simulator says (skipped without it)
 *   VMT_TEST_VCSIM_CA     the CA file for it
 *   VMT_TEST_OPS_VM       the VM the operation cases work on (default DC0_C0_RP0_VM1)
 *   VMT_TEST_MIGRATE_HOST a host that VM is not on (default DC0_H0)
 *   VMT_TEST_FIXTURES     set when the server runs "vcsim serve -fixtures": only the disk-layout
 *                         and vApp cases run (tests/vcsim/fixtures.go has the VMs)
 *   VMT_TEST_API_VERSION  the apiVersion that server reports (default 6.5)
 *   VMT_TEST_SLOW_CLONE   set when the server runs "vcsim serve -clone-delay": only the clone
 *                         cases run (that mode breaks vcsim's snapshots)
 *
 * Output is TAP-like: "ok N - what" / "not ok N - what"; exit 1 if any failed.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "config.h"
#include "log.h"
#include "macros.h"
#include "tap.h"
#include "value.h"


static const char *env_or(const char *name, const char *def) {
        const char *v = getenv(name);

        return v && *v ? v : def;
}

/* The backend under test, found as the daemon finds it. */
static const struct backend_ops *ops;

/* v as the trail shows it, in *text (its old text freed); v is cleared. */
static void take_text(enum op_kind kind, struct op_value *v, char **text) {
        free(*text);
        *text = NULL;
        if (value_format(kind, v, text) < 0) {
                fprintf(stderr, "Out of memory\n");
                exit(2);
        }
        op_value_clear(v);
}

/* The backend's calls that hand over values, with the values as text: the checks compare the trail's words. */
static int read_target_text(struct backend_session *s, enum op_kind kind, const struct op_args *args,
                            const char *opid, struct vm_target *t, char **before, struct op_error *err) {
        struct op_value v = {};
        int r = ops->read_target(s, kind, args, opid, t, &v, err);

        take_text(kind, &v, before);
        return r;
}

static int perform_text(struct backend_session *s, enum op_kind kind, const struct op_args *args, const char *opid,
                        const struct op_hooks *hooks, struct vm_target *t, char **after, char **task,
                        struct op_error *err) {
        struct op_value v = {};
        int r = ops->perform(s, kind, args, opid, hooks, t, &v, task, err);

        take_text(kind, &v, after);
        return r;
}

static int task_outcome_text(struct backend_session *s, enum op_kind kind, const struct op_args *args,
                             const char *task_id, const char *opid, struct vm_target *t, char **after,
                             struct op_error *err) {
        struct op_value v = {};
        int r = ops->task_outcome(s, kind, args, task_id, opid, t, &v, err);

        take_text(kind, &v, after);
        return r;
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

/* got is want; NULL is nothing. */
static bool str_is(const char *got, const char *want) {
        return got && strcmp(got, want) == 0;
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

        r = ops->session_new(ep, &s, err);
        if (r < 0)
                return r;
        r = ops->login(s, &who, err);
        if (r < 0 || !out)
                ops->session_free(s);
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
                tap_ok(r == -EPERM && strcmp(err.fault, "TLSError") == 0 && strstr(err.message, "verify failed"),
                      "wrong CA file -> -EPERM TLSError (%d %s: %s)", r, err.fault, err.message);
        } else
                tap_skip("%s: %s", "wrong CA file", "no openssl(1) to make one");
        if (!given && !strstr(dir, "XXXXXX")) {
                snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
                (void) !system(cmd);
        }

        ep = *good;
        ep.ca_file = "/nonexistent/ca.pem";
        ep.has_fingerprint = false;
        err = (struct op_error) {};
        r = try_login(&ep, NULL, &err);
        tap_ok(r == -ENOENT && strcmp(err.fault, "TLSError") == 0, "missing CA file -> -ENOENT TLSError (%d %s: %s)",
              r, err.fault, err.message);

        ep = *good;
        ep.ca_file = NULL;
        ep.has_fingerprint = true;
        if (!good->has_fingerprint)
                memset(ep.fingerprint, 0xab, sizeof ep.fingerprint);
        ep.fingerprint[31] ^= 0x01;
        err = (struct op_error) {};
        r = try_login(&ep, NULL, &err);
        tap_ok(r == -EPERM && strcmp(err.fault, "TLSError") == 0 && strstr(err.message, "fingerprint mismatch"),
              "wrong fingerprint -> -EPERM TLSError (%d %s: %s)", r, err.fault, err.message);
}

static void test_login_failures(const struct endpoint_config *good) {
        struct endpoint_config ep = *good;
        struct op_error err = {};
        int r;

        ep.password = "certainly-not-the-password";
        r = try_login(&ep, NULL, &err);
        tap_ok(r == -EREMOTEIO && strcmp(err.fault, "InvalidLogin") == 0 && !strstr(err.message, ep.password),
              "wrong password -> -EREMOTEIO InvalidLogin, password not in message (%d %s: %s)", r, err.fault,
              err.message);

        ep = *good;
        ep.url = "https://127.0.0.1:1/sdk";
        err = (struct op_error) {};
        r = try_login(&ep, NULL, &err);
        tap_ok(r == -ECONNREFUSED && strcmp(err.fault, "ConnectionError") == 0,
              "closed port -> -ECONNREFUSED ConnectionError (%d %s: %s)", r, err.fault, err.message);
}

static int rename_vm(struct backend_session *s, const char *vm, const char *new_name, struct vm_target *t,
                     char **after, char **task, struct op_error *err, unsigned *trips_read, unsigned *trips_perform) {
        struct op_args args = { .vm = vm, .new_name = new_name };
        _cleanup_free_ char *before = NULL;
        unsigned n0 = ops->round_trips(s);
        int r;

        r = read_target_text(s, OP_RENAME, &args, "test-read", t, &before, err);
        if (trips_read)
                *trips_read = ops->round_trips(s) - n0;
        if (r < 0)
                return r;
        n0 = ops->round_trips(s);
        r = perform_text(s, OP_RENAME, &args, "test-perform", NULL, t, after, task, err);
        if (trips_perform)
                *trips_perform = ops->round_trips(s) - n0;
        return r;
}

/*
 * What the rename cases share.  One op_error runs through them, reset only
 * where a case needs it clean, so a check's text may show the message an
 * earlier case left.
 */
struct rename_cases {
        struct backend_session *s;
        const char *vm, *other;
        char new_name[128];
        char *id;               /* vm's moref, from the first read */
        struct op_error err;
};

static void rename_read_target(struct rename_cases *c) {
        struct op_args args = { .vm = c->vm };
        struct vm_target t = {};
        _cleanup_free_ char *before = NULL;
        int r = read_target_text(c->s, OP_RENAME, &args, "test-read", &t, &before, &c->err);

        tap_ok(r == 0 && t.id && t.uuid && t.host && str_is(before, c->vm) && strcmp(t.name, c->vm) == 0,
              "read_target \"%s\" -> id %s uuid %s host %s (%d %s)", c->vm, strempty(t.id), strempty(t.uuid),
              strempty(t.host), r, c->err.message);
        c->id = t.id ? strdup(t.id) : NULL;
        vm_target_clear(&t);
}

static void rename_to_new_name(struct rename_cases *c) {
        struct vm_target t = {};
        _cleanup_free_ char *after = NULL, *task = NULL;
        unsigned trips_read = 0, trips_perform = 0;
        double t0 = now_ms();
        int r = rename_vm(c->s, c->vm, c->new_name, &t, &after, &task, &c->err, &trips_read, &trips_perform);

        tap_ok(r == 0 && str_is(after, c->new_name) && task && t.host,
              "rename \"%s\" -> \"%s\": after \"%s\", task %s, host %s (%d %s: %s)", c->vm, c->new_name,
              strempty(after), strempty(task), strempty(t.host), r, c->err.fault, c->err.message);
        printf("# rename took %.1f ms; read_target %u round trips, perform %u round trips\n", now_ms() - t0,
               trips_read, trips_perform);
        vm_target_clear(&t);
}

static void rename_found_by_new_name(struct rename_cases *c) {
        struct op_args args = { .vm = c->new_name };
        struct vm_target t = {};
        _cleanup_free_ char *before = NULL;
        int r = read_target_text(c->s, OP_RENAME, &args, "test-read", &t, &before, &c->err);

        tap_ok(r == 0 && c->id && t.id && strcmp(t.id, c->id) == 0, "renamed VM found under its new name (%d)", r);
        vm_target_clear(&t);
}

/* Duplicate name: the task fails; vcsim says InvalidArgument, vCenter DuplicateName. */
static void rename_to_taken_name(struct rename_cases *c) {
        struct vm_target t = {};
        _cleanup_free_ char *after = NULL, *task = NULL;
        int r;

        c->err = (struct op_error) {};
        r = rename_vm(c->s, c->new_name, c->other, &t, &after, &task, &c->err, NULL, NULL);
        tap_ok(r == -EREMOTEIO && c->err.fault[0] && strcmp(c->err.fault, "MethodFault") != 0 && task &&
              str_is(after, c->new_name),
              "rename to an existing name -> -EREMOTEIO fault %s (%s), after \"%s\"", c->err.fault, c->err.message,
              strempty(after));
        vm_target_clear(&t);
}

/* new_name back to vm, for a check or only to restore the name. */
static int rename_back(struct rename_cases *c, char **after) {
        struct vm_target t = {};
        _cleanup_free_ char *task = NULL;
        int r = rename_vm(c->s, c->new_name, c->vm, &t, after, &task, &c->err, NULL, NULL);

        vm_target_clear(&t);
        return r;
}

static void rename_back_checked(struct rename_cases *c) {
        _cleanup_free_ char *after = NULL;
        int r = rename_back(c, &after);

        tap_ok(r == 0 && str_is(after, c->vm), "rename back to \"%s\" (%d %s)", c->vm, r, c->err.message);
}

/* perform without the host hint of the last read_target (another VM was read in between). */
static void rename_without_host_hint(struct rename_cases *c) {
        struct vm_target t = {}, other_t = {};
        struct op_args args = { .vm = c->vm, .new_name = c->new_name };
        struct op_args third = { .vm = env_or("VMT_TEST_THIRD_VM", "DC0_C0_RP0_VM0") };
        _cleanup_free_ char *b2 = NULL, *b3 = NULL, *after = NULL, *task = NULL, *back = NULL;
        int r;

        r = read_target_text(c->s, OP_RENAME, &args, "test-read", &t, &b2, &c->err);
        if (r == 0)
                r = read_target_text(c->s, OP_RENAME, &third, "test-read", &other_t, &b3, &c->err);
        free(t.host);
        t.host = NULL;
        if (r == 0)
                r = perform_text(c->s, OP_RENAME, &args, "test-perform", NULL, &t, &after, &task, &c->err);
        tap_ok(r == 0 && str_is(after, c->new_name) && t.host,
              "rename without host hint: after \"%s\", host %s (%d %s)", strempty(after), strempty(t.host), r,
              c->err.message);
        vm_target_clear(&t);
        vm_target_clear(&other_t);
        /* Only to leave the name as the later cases expect it; not a check of its own. */
        (void) rename_back(c, &back);
}

static void rename_unknown_vm(struct rename_cases *c) {
        struct op_args args = { .vm = "no-such-vm-\xe2\x82\xac" };
        struct vm_target t = {};
        _cleanup_free_ char *before = NULL;
        int r;

        c->err = (struct op_error) {};
        r = read_target_text(c->s, OP_RENAME, &args, "test-read", &t, &before, &c->err);
        tap_ok(r == -ENOENT && strcmp(c->err.fault, "NotFound") == 0 && strstr(c->err.message, "not found on endpoint"),
              "unknown VM -> -ENOENT NotFound (%s)", c->err.message);
}

static void test_rename(struct backend_session *s) {
        struct rename_cases c = {
                .s = s, .vm = env_or("VMT_TEST_VM", "DC0_H0_VM0"), .other = env_or("VMT_TEST_OTHER_VM", "DC0_H0_VM1"),
        };

        /* UTF-8 must survive the round trip byte for byte (notes P7). */
        snprintf(c.new_name, sizeof c.new_name, "vmt-\xc3\xbc-\xe6\xb5\x8b\xe8\xaf\x95-%ld", (long) getpid());
        rename_read_target(&c);
        rename_to_new_name(&c);
        rename_found_by_new_name(&c);
        rename_to_taken_name(&c);
        rename_back_checked(&c);
        rename_without_host_hint(&c);
        rename_unknown_vm(&c);
        free(c.id);
}

static void test_ambiguous(struct backend_session *s) {
        const char *dup = env_or("VMT_TEST_DUP_NAME", NULL);
        struct op_args args = { .vm = dup };
        struct vm_target t = {};
        struct op_error err = {};
        _cleanup_free_ char *before = NULL;
        int r;

        if (!dup) {
                tap_skip("%s: %s", "ambiguous VM name -> -ENOTUNIQ", "VMT_TEST_DUP_NAME not set");
                return;
        }
        r = read_target_text(s, OP_RENAME, &args, "test-read", &t, &before, &err);
        tap_ok(r == -ENOTUNIQ && strstr(err.message, "host ") && !t.id && !before,
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
                tap_skip("%s: %s", "expired session -> -EKEYEXPIRED", "VMT_TEST_IDLE_SEC not set");
                return;
        }
        sleep(3 * atoi(idle) + 1);
        r = read_target_text(s, OP_RENAME, &args, "test-read", &t, &before, &err);
        tap_ok(r == -EKEYEXPIRED, "read_target on an expired session -> -EKEYEXPIRED (%d %s: %s)", r, err.fault,
              err.message);
        r = ops->login(s, &who, &err);
        tap_ok(r == 0, "login after expiry (%d %s)", r, err.message);
        r = read_target_text(s, OP_RENAME, &args, "test-read", &t, &before, &err);
        tap_ok(r == 0, "read_target after re-login (%d %s)", r, err.message);

        /* A task method on an expired session is refused before it does anything: safe to repeat after login. */
        {
                _cleanup_free_ char *after = NULL, *task = NULL;
                struct op_args cpu = { .vm = args.vm, .number = 1 };

                sleep(3 * atoi(idle) + 1);
                err = (struct op_error) {};
                r = perform_text(s, OP_CPU, &cpu, "test-perform", NULL, &t, &after, &task, &err);
                tap_ok(r == -EKEYEXPIRED && !task && strcmp(err.fault, "NotAuthenticated") == 0,
                      "ReconfigVM_Task on an expired session -> -EKEYEXPIRED, no task (%d %s: %s)", r, err.fault,
                      err.message);
                free(who);
                who = NULL;
                r = ops->login(s, &who, &err);
                tap_ok(r == 0, "login after expiry (%d %s)", r, err.message);
        }
        vm_target_clear(&t);
}

static void test_logout(struct backend_session *s) {
        const char *vm = env_or("VMT_TEST_VM", "DC0_H0_VM0");
        struct op_args args = { .vm = vm, .new_name = "vmt-after-logout" };
        struct vm_target t = {};
        struct op_error err = {};
        _cleanup_free_ char *before = NULL, *after = NULL, *task = NULL, *who = NULL;
        int r;

        r = read_target_text(s, OP_RENAME, &args, "test-read", &t, &before, &err);
        tap_ok(r == 0, "read_target before logout (%d %s)", r, err.message);

        r = ops->logout(s, &err);
        tap_ok(r == 0, "logout (%d %s)", r, err.message);

        err = (struct op_error) {};
        r = perform_text(s, OP_RENAME, &args, "test-perform", NULL, &t, &after, &task, &err);
        tap_ok(r == -EKEYEXPIRED && strcmp(err.fault, "NotAuthenticated") == 0 && !task,
              "Rename_Task after logout -> -EKEYEXPIRED NotAuthenticated (%d %s: %s)", r, err.fault, err.message);

        err = (struct op_error) {};
        r = read_target_text(s, OP_RENAME, &args, "test-read", &t, &before, &err);
        tap_ok(r == -EKEYEXPIRED, "read_target after logout -> -EKEYEXPIRED (%d %s)", r, err.message);

        r = ops->logout(s, &err);
        tap_ok(r == 0, "second logout is harmless (%d %s)", r, err.message);

        r = ops->login(s, &who, &err);
        tap_ok(r == 0 && who, "login again on the same session (%d %s)", r, err.message);
        vm_target_clear(&t);
}

/* ---- Every operation, compared with what vcsim holds ------------------- */

/* "vcsim CMD FLAG VALUE" as JSON, or NULL when the VM is gone (exit 2) or the client is not available. */
static struct json_object *vcsim_json(const char *cmd, const char *flag, const char *id, int *status) {
        const char *bin = env_or("VMT_TEST_VCSIM", NULL);
        char out[1 << 16];
        size_t len = 0;
        int fd[2], st = -1;
        pid_t pid;

        *status = -1;
        if (!bin || pipe(fd) < 0)
                return NULL;
        pid = fork();
        if (pid < 0)
                return NULL;
        if (pid == 0) {
                dup2(fd[1], 1);
                close(fd[0]);
                close(fd[1]);
                execl(bin, bin, cmd, "-url", getenv("VMT_TEST_URL"), "-cacert", env_or("VMT_TEST_VCSIM_CA", ""),
                      "-user", env_or("VMT_TEST_USER", "user"), "-password", env_or("VMT_TEST_PASSWORD", "pass"),
                      flag, id, (char *) NULL);
                _exit(127);
        }
        close(fd[1]);
        for (ssize_t n; len < sizeof out - 1 && (n = read(fd[0], out + len, sizeof out - 1 - len)) > 0;)
                len += n;
        close(fd[0]);
        out[len] = '\0';
        waitpid(pid, &st, 0);
        *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        return *status == 0 ? json_tokener_parse(out) : NULL;
}

static struct json_object *vcsim_vm_by(const char *flag, const char *id, int *status) {
        return vcsim_json("vm", flag, id, status);
}

static struct json_object *vcsim_vm(const char *id, int *status) {
        return vcsim_json("vm", "-id", id, status);
}

static const char *jstr(struct json_object *o, const char *key) {
        struct json_object *v;

        return o && json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static long long jint(struct json_object *o, const char *key) {
        struct json_object *v;

        return o && json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;
}

/* One operation as the daemon runs it: read_target, then perform. */
struct op_run {
        struct vm_target t;
        char *before, *after, *task;
        struct op_error err;
        unsigned trips_read, trips_perform;
        int r;
};

static void op_run_clear(struct op_run *o) {
        vm_target_clear(&o->t);
        free(o->before);
        free(o->after);
        free(o->task);
        *o = (struct op_run) {};
}

static int run_op(struct backend_session *s, enum op_kind kind, const struct op_args *args,
                  const struct op_hooks *hooks, struct op_run *o) {
        unsigned n0 = ops->round_trips(s);

        op_run_clear(o);
        o->r = read_target_text(s, kind, args, "test-read", &o->t, &o->before, &o->err);
        o->trips_read = ops->round_trips(s) - n0;
        if (o->r < 0)
                return o->r;
        n0 = ops->round_trips(s);
        o->r = perform_text(s, kind, args, "test-perform", hooks, &o->t, &o->after, &o->task, &o->err);
        o->trips_perform = ops->round_trips(s) - n0;
        printf("# %s: before \"%s\" after \"%s\"; %u + %u round trips\n", op_kind_trail_name(kind),
               strempty(o->before), strempty(o->after), o->trips_read, o->trips_perform);
        return o->r;
}

static unsigned trips(const struct op_run *o) {
        return o->trips_read + o->trips_perform;
}

/* What vcsim holds for the run's target VM, or NULL. */
static struct json_object *vcsim_target(const struct op_run *o, int *status) {
        return vcsim_vm(o->t.id ? o->t.id : "", status);
}

/* Refused as NotFound before anything was sent, naming what was not found. */
static bool refused_not_found(const struct op_run *o, const char *name) {
        return o->r == -ENOENT && strcmp(o->err.fault, "NotFound") == 0 && !o->task && strstr(o->err.message, name);
}

static void test_cpu_memory(struct backend_session *s, const char *vm) {
        _cleanup_(op_run_clear) struct op_run o = {};
        struct op_args args = { .vm = vm };
        struct json_object *v;
        char want[32];
        long long cpu;
        int st;

        /* Twice: the first lookup may be cold; the second must be warm. */
        run_op(s, OP_CPU, &args, NULL, &o);
        cpu = o.before ? atoll(o.before) : 1;
        args.number = cpu + 1;
        run_op(s, OP_CPU, &args, NULL, &o);
        v = vcsim_vm(o.t.id ? o.t.id : "", &st);
        snprintf(want, sizeof want, "%lld", cpu + 1);
        tap_ok(o.r == 0 && o.after && strcmp(o.after, want) == 0 && jint(v, "numCPU") == cpu + 1 && o.task,
              "ModifyCPU %lld -> %s, vcsim numCPU %lld (%d %s)", cpu, strempty(o.after), jint(v, "numCPU"), o.r,
              o.err.message);
        tap_ok(o.trips_read + o.trips_perform <= 3, "ModifyCPU in %u round trips (at most 3)",
              o.trips_read + o.trips_perform);
        json_object_put(v);

        args.number = 64;
        run_op(s, OP_MEMORY, &args, NULL, &o);
        v = vcsim_vm(o.t.id ? o.t.id : "", &st);
        tap_ok(o.r == 0 && o.after && strcmp(o.after, "64") == 0 && jint(v, "memoryMB") == 64 &&
              o.trips_read + o.trips_perform <= 3,
              "ModifyMemory %s -> %s, vcsim memoryMB %lld (%d %s)", strempty(o.before), strempty(o.after),
              jint(v, "memoryMB"), o.r, o.err.message);
        json_object_put(v);

        args.number = 0;
        run_op(s, OP_CPU, &args, NULL, &o);
        tap_ok(o.r == -EINVAL && !o.task, "ModifyCPU 0 -> -EINVAL before anything is sent (%s)", o.err.message);
}

/* The capacity of disk number n (from 1) that vcsim holds, and how many disks it has. */
static long long vcsim_disk_kb(struct json_object *v, int n, int *n_disks) {
        struct json_object *disks;

        *n_disks = 0;
        if (!v || !json_object_object_get_ex(v, "disks", &disks))
                return -1;
        *n_disks = (int) json_object_array_length(disks);
        return n <= *n_disks ? jint(json_object_array_get_idx(disks, n - 1), "capacityKB") : -1;
}

/* vcsim's own model labels disks "disk-202-0", vCenter "Hard disk 1": take it from the before value. */
static void first_label(const char *before, char *label, size_t size) {
        snprintf(label, size, "%.*s", before ? (int) strcspn(before, "=") : 0, strempty(before));
}

/* What the disk cases share: disk 1 as the first case found and grew it. */
struct disk_cases {
        struct backend_session *s;
        const char *vm;
        char label[128];        /* its label, as the before value names it */
        char grown[160];        /* its part of the after value: "label=4MiB" */
        int n_disks;            /* how many disks vcsim held then */
};

static void disk_grow_by_number(struct disk_cases *c) {
        _cleanup_(op_run_clear) struct op_run o = {};
        struct op_args args = { .vm = c->vm, .disk = "1", .number = 4 };
        struct json_object *v;
        long long kb;
        int st;

        run_op(c->s, OP_DISK_GROW, &args, NULL, &o);
        v = vcsim_target(&o, &st);
        kb = vcsim_disk_kb(v, 1, &c->n_disks);
        first_label(o.before, c->label, sizeof c->label);
        snprintf(c->grown, sizeof c->grown, "%s=4MiB", c->label);
        tap_ok(o.r == 0 && str_is(o.after, c->grown) && kb == 4096 && *c->label && trips(&o) <= 3,
              "ModifyDisk grow disk 1 \"%s\" -> \"%s\", vcsim %lld KB (%d %s)", strempty(o.before),
              strempty(o.after), kb, o.r, o.err.message);
        json_object_put(v);
}

/* By label this time. */
static void disk_shrink_refused(const struct disk_cases *c) {
        _cleanup_(op_run_clear) struct op_run o = {};
        struct op_args args = { .vm = c->vm, .disk = c->label, .number = 2 };

        run_op(c->s, OP_DISK_GROW, &args, NULL, &o);
        tap_ok(o.r == -EINVAL && !o.task && strstr(o.err.message, "shrink"),
              "shrinking \"%s\" -> -EINVAL before anything is sent (%s)", c->label, o.err.message);
        /* Found, then refused: the NG row names the VM with its id and host. */
        tap_ok(o.t.id && o.t.host && str_is(o.t.name, c->vm), "... the target is named all the same: %s %s on %s",
               strempty(o.t.name), strempty(o.t.id), strempty(o.t.host));
}

static void disk_unknown(const struct disk_cases *c) {
        _cleanup_(op_run_clear) struct op_run o = {};
        struct op_args args = { .vm = c->vm, .disk = "Hard disk 9", .number = 100 };

        run_op(c->s, OP_DISK_GROW, &args, NULL, &o);
        tap_ok(refused_not_found(&o, "Hard disk 9") && o.t.id, "unknown disk -> -ENOENT NotFound, the VM named (%s)",
               o.err.message);
}

static void disk_add(const struct disk_cases *c) {
        _cleanup_(op_run_clear) struct op_run o = {};
        struct op_args args = { .vm = c->vm, .number = 8 };
        struct json_object *v;
        long long kb;
        int st, n = 0;

        run_op(c->s, OP_DISK_ADD, &args, NULL, &o);
        v = vcsim_target(&o, &st);
        kb = vcsim_disk_kb(v, c->n_disks + 1, &n);
        tap_ok(o.r == 0 && o.after && strncmp(o.after, c->grown, strlen(c->grown)) == 0 && strstr(o.after, "=8MiB") &&
              n == c->n_disks + 1 && kb == 8192 && trips(&o) <= 3,
              "ModifyDisk add: \"%s\" -> \"%s\", vcsim has %d disks, the new one %lld KB (%d %s)",
              strempty(o.before), strempty(o.after), n, kb, o.r, o.err.message);
        json_object_put(v);
}

static void test_disks(struct backend_session *s, const char *vm) {
        struct disk_cases c = { .s = s, .vm = vm };

        disk_grow_by_number(&c);
        disk_shrink_refused(&c);
        disk_unknown(&c);
        disk_add(&c);
}

static void check_power(struct backend_session *s, const char *vm, enum op_kind kind, const char *want) {
        _cleanup_(op_run_clear) struct op_run o = {};
        struct op_args args = { .vm = vm };
        struct json_object *v;
        int st;

        run_op(s, kind, &args, NULL, &o);
        v = vcsim_vm(o.t.id ? o.t.id : "", &st);
        tap_ok(o.r == 0 && o.after && strcmp(o.after, want) == 0 && strcmp(jstr(v, "powerState"), want) == 0 &&
              o.trips_read + o.trips_perform <= 3,
              "%s%s: \"%s\" -> \"%s\", vcsim %s (%d %s)", op_kind_trail_name(kind),
              kind == OP_STOP_GUEST ? " (guest)" : "", strempty(o.before), strempty(o.after),
              jstr(v, "powerState"), o.r, o.err.message);
        json_object_put(v);
}

static void test_power(struct backend_session *s, const char *vm) {
        _cleanup_(op_run_clear) struct op_run o = {};
        struct op_args args = { .vm = vm };

        run_op(s, OP_START, &args, NULL, &o);
        tap_ok(o.r == -EREMOTEIO && strcmp(o.err.fault, "InvalidPowerState") == 0 && o.task && o.after &&
              strcmp(o.after, "poweredOn") == 0,
              "StartVM on a running VM -> -EREMOTEIO InvalidPowerState, after \"%s\" (%d %s: %s)",
              strempty(o.after), o.r, o.err.fault, o.err.message);
        check_power(s, vm, OP_STOP, "poweredOff");
        check_power(s, vm, OP_START, "poweredOn");
        check_power(s, vm, OP_SUSPEND, "suspended");
        check_power(s, vm, OP_START, "poweredOn");
        check_power(s, vm, OP_RESET, "poweredOn");
        check_power(s, vm, OP_STOP_GUEST, "poweredOff");
        check_power(s, vm, OP_START, "poweredOn");
}

static void check_snapshot(struct backend_session *s, const char *vm, enum op_kind kind, const char *name,
                           const char *want, const char *want_current) {
        _cleanup_(op_run_clear) struct op_run o = {};
        struct op_args args = { .vm = vm, .snapshot = name };
        struct json_object *v;
        int st;

        run_op(s, kind, &args, NULL, &o);
        v = vcsim_vm(o.t.id ? o.t.id : "", &st);
        tap_ok(o.r == 0 && o.after && strcmp(o.after, want) == 0 &&
              strcmp(jstr(v, "currentSnapshot"), want_current) == 0 && o.trips_read + o.trips_perform <= 3,
              "%s \"%s\": \"%s\" -> \"%s\", vcsim current \"%s\" (%d %s)", op_kind_trail_name(kind), name,
              strempty(o.before), strempty(o.after), jstr(v, "currentSnapshot"), o.r, o.err.message);
        json_object_put(v);
}

static void test_snapshots(struct backend_session *s, const char *vm) {
        _cleanup_(op_run_clear) struct op_run o = {};
        struct op_args args = { .vm = vm, .snapshot = "no-such-snapshot" };

        check_snapshot(s, vm, OP_SNAPSHOT_CREATE, "s1", "tree=s1;current=s1", "s1");
        check_snapshot(s, vm, OP_SNAPSHOT_CREATE, "s2", "tree=s1(s2);current=s2", "s2");
        check_snapshot(s, vm, OP_SNAPSHOT_REVERT, "s1", "tree=s1(s2);current=s1", "s1");
        /* A name with the value's separators in it reads escaped (value.h). */
        check_snapshot(s, vm, OP_SNAPSHOT_CREATE, "s;3=x", "tree=s1(s2,s\\;3\\=x);current=s\\;3\\=x", "s;3=x");
        check_snapshot(s, vm, OP_SNAPSHOT_REMOVE, "s2", "tree=s1(s\\;3\\=x);current=s\\;3\\=x", "s;3=x");
        run_op(s, OP_SNAPSHOT_REVERT, &args, NULL, &o);
        tap_ok(o.r == -ENOENT && !o.task, "revert to an unknown snapshot -> -ENOENT (%s)", o.err.message);
}

static void migrate_to_host(struct backend_session *s, const char *vm, const char *host) {
        _cleanup_(op_run_clear) struct op_run o = {};
        struct op_args args = { .vm = vm, .host = host };
        struct json_object *v;
        char want[256];
        int st;

        run_op(s, OP_MIGRATE, &args, NULL, &o);
        v = vcsim_target(&o, &st);
        snprintf(want, sizeof want, "host=%s;", host);
        tap_ok(o.r == 0 && o.after && strncmp(o.after, want, strlen(want)) == 0 &&
              strcmp(jstr(v, "host"), host) == 0 && str_is(o.t.host, host) && trips(&o) <= 3,
              "MigrateVM \"%s\" -> \"%s\", vcsim host %s, target host %s (%d %s)", strempty(o.before),
              strempty(o.after), jstr(v, "host"), strempty(o.t.host), o.r, o.err.message);
        json_object_put(v);
}

/* Storage only: the datastore it is on (vcsim's model has one), read back; the host stays. */
static void migrate_to_datastore(struct backend_session *s, const char *vm, const char *host,
                                 const char *datastore) {
        _cleanup_(op_run_clear) struct op_run o = {};
        struct op_args args = { .vm = vm, .datastore = datastore };
        char want[256];

        run_op(s, OP_MIGRATE, &args, NULL, &o);
        snprintf(want, sizeof want, "host=%s;datastore=%s", host, datastore);
        tap_ok(o.r == 0 && str_is(o.after, want) && trips(&o) <= 3, "MigrateVM to datastore %s -> \"%s\" (%d %s)",
              datastore, strempty(o.after), o.r, o.err.message);
}

/* A target that does not exist is refused before anything is sent; what names "host" or "datastore". */
static void migrate_to_unknown(struct backend_session *s, const struct op_args *args, const char *what,
                               const char *name) {
        _cleanup_(op_run_clear) struct op_run o = {};

        run_op(s, OP_MIGRATE, args, NULL, &o);
        tap_ok(refused_not_found(&o, name), "migrate to an unknown %s -> -ENOENT NotFound, nothing sent (%s)", what,
              o.err.message);
}

static void test_migrate(struct backend_session *s, const char *vm) {
        const char *host = env_or("VMT_TEST_MIGRATE_HOST", "DC0_H0");

        migrate_to_host(s, vm, host);
        migrate_to_unknown(s, &(struct op_args) { .vm = vm, .host = "no-such-host" }, "host", "no-such-host");
        migrate_to_datastore(s, vm, host, env_or("VMT_TEST_DATASTORE", "LocalDS_0"));
        migrate_to_unknown(s, &(struct op_args) { .vm = vm, .datastore = "no-such-datastore" }, "datastore",
                           "no-such-datastore");
}

/* The id in a "name=...;id=...;host=..." value (malloc'd), or NULL. */
static char *value_id(const char *value) {
        const char *p = value ? strstr(value, ";id=") : NULL;

        return p ? strndup(p + 4, strcspn(p + 4, ";")) : NULL;
}

/* Clone vm to new_name, check it against vcsim; returns the new VM's id (malloc'd) or NULL. */
static char *check_clone_on(struct backend_session *s, const char *vm, const char *new_name, const char *host,
                            const struct op_hooks *hooks, unsigned max_trips) {
        _cleanup_(op_run_clear) struct op_run o = {};
        struct op_args args = { .vm = vm, .new_name = new_name, .host = host, .power_on = host != NULL };
        struct json_object *v = NULL;
        char want[512], *id = NULL;
        int st;

        run_op(s, OP_CLONE, &args, hooks, &o);
        id = value_id(o.after);
        if (id)
                v = vcsim_vm(id, &st);
        snprintf(want, sizeof want, "name=%s;id=%s;host=%s", jstr(v, "name"), jstr(v, "id"), jstr(v, "host"));
        tap_ok(o.r == 0 && v && strcmp(jstr(v, "name"), new_name) == 0 && strcmp(o.after, want) == 0 &&
              o.t.name && strcmp(o.t.name, vm) == 0 && o.trips_read + o.trips_perform <= max_trips,
              "CloneVM \"%s\" -> \"%s\", vcsim \"%s\" (%d %s)", strempty(o.before), strempty(o.after), want, o.r,
              o.err.message);
        json_object_put(v);
        return id;
}

static char *check_clone(struct backend_session *s, const char *vm, const char *new_name,
                         const struct op_hooks *hooks, unsigned max_trips) {
        return check_clone_on(s, vm, new_name, NULL, hooks, max_trips);
}

static void test_clone_destroy(struct backend_session *s, const char *vm) {
        _cleanup_(op_run_clear) struct op_run o = {};
        _cleanup_free_ char *id = NULL;
        struct op_args args;
        struct json_object *v;
        char name[64], renamed[64], want[256];
        int st;

        /* To another host: vcsim keeps the source's host (vCenter would not); the after value shows what is. */
        snprintf(name, sizeof name, "vmt-clone-host-%ld", (long) getpid());
        free(check_clone_on(s, vm, name, env_or("VMT_TEST_CLONE_HOST", "DC0_C0_H1"), NULL, 4));

        snprintf(name, sizeof name, "vmt-clone-%ld", (long) getpid());
        id = check_clone(s, vm, name, NULL, 4);

        /*
         * No lookup in between: the read-backs of our own clone and rename
         * keep the name cache warm, so neither the new VM nor its new name
         * costs a second read.
         */
        snprintf(renamed, sizeof renamed, "vmt-clone-renamed-%ld", (long) getpid());
        args = (struct op_args) { .vm = name, .new_name = renamed };
        run_op(s, OP_RENAME, &args, NULL, &o);
        v = vcsim_vm(strempty(id), &st);
        tap_ok(o.r == 0 && o.after && strcmp(o.after, renamed) == 0 && strcmp(jstr(v, "name"), renamed) == 0 &&
              o.trips_read + o.trips_perform <= 3, "RenameVM of the new clone -> \"%s\", vcsim \"%s\", in %u round "
              "trips (at most 3) (%d %s)", strempty(o.after), jstr(v, "name"), o.trips_read + o.trips_perform, o.r,
              o.err.message);
        json_object_put(v);

        args = (struct op_args) { .vm = renamed };
        run_op(s, OP_DESTROY, &args, NULL, &o);
        snprintf(want, sizeof want, "name=%s;id=%s;power=", renamed, strempty(id));
        json_object_put(vcsim_vm(strempty(id), &st));
        tap_ok(o.r == 0 && o.before && strncmp(o.before, want, strlen(want)) == 0 && o.after &&
              strcmp(o.after, "destroyed") == 0 && st == 2 && o.trips_read + o.trips_perform <= 3,
              "DestroyVM \"%s\" -> \"%s\", vcsim vm exit %d, in %u round trips (at most 3) (%d %s)",
              strempty(o.before), strempty(o.after), st, o.trips_read + o.trips_perform, o.r, o.err.message);
}

static void test_event(struct backend_session *s, const struct vm_target *t) {
        struct op_error err = {};
        struct json_object *ev;
        const char *got = "";
        char text[128];
        int r, st;

        snprintf(text, sizeof text, "vmtraced test %ld: uid 0 (root), trail id 42", (long) getpid());
        r = ops->post_event(s, t, text, "test-event", &err);
        ev = vcsim_json("events", "-id", strempty(t->id), &st);
        if (ev && json_object_array_length(ev) > 0)
                got = jstr(json_object_array_get_idx(ev, 0), "message");
        tap_ok(r == 0 && strcmp(got, text) == 0, "post_event on %s: vcsim's latest user event \"%s\" (%d %s: %s)",
              strempty(t->id), got, r, err.fault, err.message);
        json_object_put(ev);
}

/* How many of list's VMs vcsim holds with the same host, name and CPU count. */
static size_t listed_as_vcsim_holds(struct json_object *list) {
        size_t same = 0, n = list ? json_object_array_length(list) : 0;

        for (size_t i = 0; i < n; i++) {
                struct json_object *e = json_object_array_get_idx(list, i), *v;
                int st;

                v = vcsim_vm(jstr(e, "id"), &st);
                same += strcmp(jstr(e, "host"), jstr(v, "host")) == 0 && strcmp(jstr(e, "name"), jstr(v, "name")) == 0 &&
                        jint(e, "numCPU") == jint(v, "numCPU");
                json_object_put(v);
        }
        return same;
}

/* A fresh session: list must name hosts without the name cache of an earlier lookup. */
static void list_on_fresh_session(struct op_error *err) {
        struct endpoint_config ep = base_endpoint();
        struct backend_session *fresh = NULL;
        struct json_object *list = NULL;
        size_t same, n;
        int r;

        r = try_login(&ep, &fresh, err);
        if (r == 0)
                r = ops->list_vms(fresh, "test-list", &list, err);
        n = list ? json_object_array_length(list) : 0;
        same = listed_as_vcsim_holds(list);
        tap_ok(r == 0 && n >= 4 && same == n, "list_vms: %zu VMs, %zu as vcsim holds them (%d %s)", n, same, r,
              err->message);
        json_object_put(list);
        if (fresh)
                ops->session_free(fresh);
}

/* show_vm's numbers, host and disks as vcsim holds them. */
static bool shown_as_vcsim_holds(struct json_object *show, struct json_object *v) {
        struct json_object *disks;

        return v && jint(show, "numCPU") == jint(v, "numCPU") && strcmp(jstr(show, "host"), jstr(v, "host")) == 0 &&
               json_object_object_get_ex(show, "disks", &disks) &&
               json_object_array_length(disks) == json_object_array_length(json_object_object_get(v, "disks"));
}

static void show_known_vm(struct backend_session *s, const char *vm, struct op_error *err) {
        struct op_args args = { .vm = vm };
        struct json_object *show = NULL, *v;
        int r, st;

        r = ops->show_vm(s, &args, "test-show", &show, err);
        v = vcsim_vm(r == 0 ? jstr(show, "id") : "", &st);
        tap_ok(r == 0 && shown_as_vcsim_holds(show, v), "show_vm %s: %s (%d %s)", vm,
              show ? json_object_to_json_string(show) : "", r, err->message);
        json_object_put(v);
        json_object_put(show);
}

static void show_unknown_vm(struct backend_session *s, struct op_error *err) {
        struct op_args args = { .vm = "no-such-vm" };
        struct json_object *show = NULL;
        int r = ops->show_vm(s, &args, "test-show", &show, err);

        tap_ok(r == -ENOENT, "show_vm of an unknown VM -> -ENOENT (%s)", err->message);
        json_object_put(show);
}

/* Crash recovery: a finished task's outcome and after value, read again; o is the run that made the task. */
static void task_outcome_again(struct backend_session *s, const char *vm, struct op_run *o, struct op_error *err) {
        struct op_args args = { .vm = vm, .number = 2 };
        int r;

        run_op(s, OP_CPU, &args, NULL, o);
        if (o->task) {
                _cleanup_free_ char *after = NULL;

                r = task_outcome_text(s, OP_CPU, &args, o->task, "test-recover", &o->t, &after, err);
                tap_ok(r == 0 && after && str_is(o->after, after), "task_outcome of %s -> 0, after \"%s\" (%d %s)",
                      o->task, strempty(after), r, err->message);
        }
        r = task_outcome_text(s, OP_CPU, &args, "task-999999", "test-recover", &o->t, &o->after, err);
        tap_ok(r == -ENOENT, "task_outcome of an unknown task -> -ENOENT (%d %s)", r, err->message);
}

/* One op_error runs through the cases: a check's text may show the message an earlier case left. */
static void test_reads(struct backend_session *s, const char *vm) {
        _cleanup_(op_run_clear) struct op_run o = {};
        struct op_error err = {};

        list_on_fresh_session(&err);
        show_known_vm(s, vm, &err);
        show_unknown_vm(s, &err);
        task_outcome_again(s, vm, &o, &err);
        test_event(s, &o.t);
}

static void test_duplicate_names(struct backend_session *s, const char *vm) {
        _cleanup_(op_run_clear) struct op_run o = {};
        _cleanup_free_ char *a = NULL, *b = NULL;
        struct op_args args;
        char dup[64];

        /* Two VMs of one name (vcsim without -strict-clone allows it): refused, with both candidates. */
        snprintf(dup, sizeof dup, "vmt-dup-%ld", (long) getpid());
        a = check_clone(s, vm, dup, NULL, 4);
        args = (struct op_args) { .vm = vm, .new_name = dup };
        run_op(s, OP_CLONE, &args, NULL, &o);
        b = value_id(o.after);
        args = (struct op_args) { .vm = dup, .number = 2 };
        run_op(s, OP_CPU, &args, NULL, &o);
        tap_ok(o.r == -ENOTUNIQ && strcmp(o.err.fault, "AmbiguousName") == 0 && !o.task && a && b &&
              strstr(o.err.message, a) && strstr(o.err.message, b),
              "ambiguous name -> -ENOTUNIQ AmbiguousName, nothing sent (%s)", o.err.message);
}

/*
 * The name cache must never act on the wrong VM: A's name moves to B
 * behind the cache's back (renames by "someone else"), then an operation
 * by that name must reach B.
 */
static void test_stale_cache(struct backend_session *s) {
        const char *a = env_or("VMT_TEST_VM", "DC0_H0_VM0"), *b = env_or("VMT_TEST_OTHER_VM", "DC0_H0_VM1");
        _cleanup_(op_run_clear) struct op_run o = {};
        _cleanup_free_ char *a_id = NULL, *b_id = NULL;
        struct op_args args = { .vm = a, .number = 3 };
        struct endpoint_config ep = base_endpoint();
        struct backend_session *other = NULL;
        struct json_object *va, *vb;
        char tmp[64];
        int st;

        if (try_login(&ep, &other, &o.err) < 0) {
                tap_ok(false, "second session (%s)", o.err.message);
                return;
        }

        snprintf(tmp, sizeof tmp, "vmt-tmp-%ld", (long) getpid());
        run_op(s, OP_CPU, &args, NULL, &o);                /* the cache now knows a */
        a_id = o.t.id ? strdup(o.t.id) : NULL;
        /* Someone else (another session) swaps the names of a and b. */
        args = (struct op_args) { .vm = a, .new_name = tmp };
        run_op(other, OP_RENAME, &args, NULL, &o);
        args = (struct op_args) { .vm = b, .new_name = a };
        run_op(other, OP_RENAME, &args, NULL, &o);
        b_id = o.t.id ? strdup(o.t.id) : NULL;
        args = (struct op_args) { .vm = tmp, .new_name = b };
        run_op(other, OP_RENAME, &args, NULL, &o);

        args = (struct op_args) { .vm = a, .number = 4 };
        run_op(s, OP_CPU, &args, NULL, &o);
        va = vcsim_vm(strempty(a_id), &st);
        vb = vcsim_vm(strempty(b_id), &st);
        tap_ok(o.r == 0 && a_id && b_id && o.t.id && strcmp(o.t.id, b_id) == 0 && jint(vb, "numCPU") == 4 &&
              jint(va, "numCPU") == 3,
              "after a name moved from %s to %s, \"%s\" acts on %s (vcsim numCPU %lld and %lld) (%d %s)",
              strempty(a_id), strempty(b_id), a, strempty(o.t.id), jint(va, "numCPU"), jint(vb, "numCPU"), o.r,
              o.err.message);
        json_object_put(va);
        json_object_put(vb);

        /* Names back as they were. */
        args = (struct op_args) { .vm = b, .new_name = tmp };
        run_op(s, OP_RENAME, &args, NULL, &o);
        args = (struct op_args) { .vm = a, .new_name = b };
        run_op(s, OP_RENAME, &args, NULL, &o);
        args = (struct op_args) { .vm = tmp, .new_name = a };
        run_op(s, OP_RENAME, &args, NULL, &o);
        ops->session_free(other);
}

static void test_operations(struct backend_session *s) {
        const char *vm = env_or("VMT_TEST_OPS_VM", "DC0_C0_RP0_VM1");

        if (!env_or("VMT_TEST_VCSIM", NULL)) {
                tap_skip("%s: %s", "every operation against vcsim", "VMT_TEST_VCSIM not set");
                return;
        }
        test_stale_cache(s);
        test_cpu_memory(s, vm);
        test_disks(s, vm);
        test_power(s, vm);
        test_snapshots(s, vm);
        test_migrate(s, vm);
        test_clone_destroy(s, vm);
        test_reads(s, vm);
        test_duplicate_names(s, vm);
}

/* ---- Slow clone: hooks, progress, cancel (vcsim serve -clone-delay) ----- */

struct hook_log {
        char events[32][32];
        int n;
        bool cancel;           /* ask to cancel once the task exists */
        int cancel_asked;
        char task[64];
        struct backend_session *other;  /* if set: task_outcome of the new task from there */
        int outcome;
};

static void hook_add(struct hook_log *l, const char *what) {
        if (l->n < (int) ELEMENTSOF(l->events) && (l->n == 0 || strcmp(l->events[l->n - 1], what) != 0))
                snprintf(l->events[l->n++], sizeof l->events[0], "%s", what);
}

static void hook_task_created(void *userdata, const char *task) {
        struct hook_log *l = userdata;

        snprintf(l->task, sizeof l->task, "%s", task);
        hook_add(l, "created");
        if (l->other) {
                /* What a restarted daemon would see: the task exists and still runs. */
                struct vm_target t = { .id = (char *) "unused" };
                struct op_error err = {};
                char *after = NULL;

                l->outcome = task_outcome_text(l->other, OP_CLONE, NULL, task, "test-recover", &t,
                                                          &after, &err);
                free(after);
        }
}

static void hook_progress(void *userdata, int percent _unused_, const char *state) {
        hook_add(userdata, state);
}

static bool hook_cancel(void *userdata) {
        struct hook_log *l = userdata;

        if (l->task[0])
                l->cancel_asked++;
        return l->cancel && l->task[0];
}

static int hook_index(const struct hook_log *l, const char *what) {
        for (int i = 0; i < l->n; i++)
                if (strcmp(l->events[i], what) == 0)
                        return i;
        return -1;
}

static void hook_print(const struct hook_log *l) {
        printf("# hooks:");
        for (int i = 0; i < l->n; i++)
                printf(" %s", l->events[i]);
        printf("\n");
}

/*
 * Running, when seen, after queued.  vcsim now and then loses a task's
 * update (its first WaitForUpdatesEx snapshot races its listener); the
 * task wait then reads the task after 5 s of quiet and may find it done,
 * never having seen it run.
 */
static bool hooks_created_queued_running(const struct hook_log *l) {
        int running = hook_index(l, "running");

        return hook_index(l, "created") == 0 && hook_index(l, "queued") > 0 &&
               (running < 0 || running > hook_index(l, "queued"));
}

/*
 * The slow clone, followed through the hooks, while the other session
 * (log->other) sees it in progress; returns the new VM's id (malloc'd).
 */
static char *clone_slowly(struct backend_session *s, const char *vm, const char *name, const struct op_hooks *hooks,
                          const struct hook_log *log) {
        long delay_ms = atol(env_or("VMT_TEST_CLONE_DELAY_MS", "0"));
        double t0 = now_ms();
        /* Waiting costs round trips of its own (WaitForUpdatesEx); the budget of 4 excludes the wait. */
        char *id = check_clone(s, vm, name, hooks, 100);

        hook_print(log);
        tap_ok(hooks_created_queued_running(log) && log->cancel_asked > 0 && now_ms() - t0 >= 2 * delay_ms,
              "slow clone: task_created first, then queued, then (if vcsim told) running; cancel asked %d times; %.0f ms",
              log->cancel_asked, now_ms() - t0);
        tap_ok(log->other && log->outcome == -EINPROGRESS, "task_outcome of the running clone -> -EINPROGRESS (%d)",
              log->outcome);
        return id;
}

/* What a restarted daemon reads once the clone is done: the new VM, from the other session (then closed). */
static void clone_outcome_when_done(struct hook_log *log, const char *name, const char *id, struct op_error *err) {
        struct vm_target t = {};
        _cleanup_free_ char *after = NULL;
        struct json_object *v;
        char want[512];
        int r, st;

        if (!log->other)
                return;
        r = task_outcome_text(log->other, OP_CLONE, NULL, log->task, "test-recover", &t, &after, err);
        v = vcsim_vm(strempty(id), &st);
        snprintf(want, sizeof want, "name=%s;id=%s;host=%s", name, strempty(id), jstr(v, "host"));
        json_object_put(v);
        tap_ok(r == 0 && str_is(after, want), "task_outcome of the finished clone -> 0, after \"%s\" (%d %s)",
              strempty(after), r, err->message);
        vm_target_clear(&t);
        ops->session_free(log->other);
        log->other = NULL;
}

/* vCenter refuses a name taken in the folder; vcsim only with -strict-clone or -clone-delay. */
static void clone_to_taken_name(struct backend_session *s, const char *vm, const char *taken, struct op_run *o) {
        struct op_args args = { .vm = vm, .new_name = taken };

        run_op(s, OP_CLONE, &args, NULL, o);
        tap_ok(o->r == -EREMOTEIO && strcmp(o->err.fault, "DuplicateName") == 0 && o->task,
              "clone to an existing name -> -EREMOTEIO DuplicateName (%d %s: %s)", o->r, o->err.fault, o->err.message);
}

/* Cancel (log->cancel set): CancelTask, then the task's real outcome. */
static void clone_cancelled(struct backend_session *s, const char *vm, const struct op_hooks *hooks,
                            const struct hook_log *log, struct op_run *o) {
        char name[64];
        struct op_args args = { .vm = vm, .new_name = name };
        struct json_object *v;
        int st;

        snprintf(name, sizeof name, "vmt-cancel-%ld", (long) getpid());
        run_op(s, OP_CLONE, &args, hooks, o);
        hook_print(log);
        v = vcsim_vm_by("-name", name, &st);
        tap_ok(o->r == -ECANCELED && strcmp(o->err.fault, "RequestCanceled") == 0 && o->task && !v && st == 2,
              "cancelled clone -> -ECANCELED RequestCanceled, no VM %s on vcsim (%d %s: %s; vcsim exit %d)", name,
              o->r, o->err.fault, o->err.message, st);
        json_object_put(v);
}

/* vcsim serve -drop-answer PowerOffVM_Task: the call runs, its answer is lost; find the task, never resend. */
static void stop_answer_lost(struct backend_session *s, const char *vm, struct op_run *o) {
        struct op_args args = { .vm = vm };
        struct json_object *v;
        int st;

        run_op(s, OP_STOP, &args, NULL, o);
        v = vcsim_target(o, &st);
        tap_ok(o->r == 0 && o->task && str_is(o->after, "poweredOff") && strcmp(jstr(v, "powerState"), "poweredOff") == 0,
              "StopVM whose answer was lost: task %s found, after \"%s\", vcsim %s (%d %s: %s)", strempty(o->task),
              strempty(o->after), jstr(v, "powerState"), o->r, o->err.fault, o->err.message);
        json_object_put(v);
}

static void test_slow_clone(struct backend_session *s) {
        const char *vm = env_or("VMT_TEST_VM", "DC0_H0_VM0"), *other = env_or("VMT_TEST_OTHER_VM", "DC0_H0_VM1");
        struct hook_log log = {};
        struct op_hooks hooks = { &log, hook_task_created, hook_progress, hook_cancel };
        _cleanup_(op_run_clear) struct op_run o = {};
        _cleanup_free_ char *id = NULL;
        struct endpoint_config ep = base_endpoint();
        char name[64];

        if (try_login(&ep, &log.other, &o.err) < 0)
                log.other = NULL;
        snprintf(name, sizeof name, "vmt-slow-%ld", (long) getpid());
        id = clone_slowly(s, vm, name, &hooks, &log);
        clone_outcome_when_done(&log, name, id, &o.err);
        clone_to_taken_name(s, vm, other, &o);
        log = (struct hook_log) { .cancel = true };
        clone_cancelled(s, vm, &hooks, &log, &o);
        stop_answer_lost(s, other, &o);
}

/* ---- Disk layouts and vApps vcsim's model lacks (vcsim serve -fixtures) ---- */

/* Disk n (from 0; -1 the last) of what vcsim holds for VM name; *v must be put by the caller. */
static struct json_object *fx_disk(const char *name, int n, struct json_object **v, int *n_disks) {
        struct json_object *disks;
        int st;

        *v = vcsim_vm_by("-name", name, &st);
        *n_disks = 0;
        if (!*v || !json_object_object_get_ex(*v, "disks", &disks))
                return NULL;
        *n_disks = (int) json_object_array_length(disks);
        if (n < 0)
                n = *n_disks - 1;
        return n >= 0 && n < *n_disks ? json_object_array_get_idx(disks, n) : NULL;
}

/*
 * ModifyDisk add on vm: the new disk must be on controller key, unit.
 * vcsim accepts any unit (even IDE unit 2): this checks where it went.
 */
static void fx_disk_add(struct backend_session *s, const char *vm, const char *type, long long key, long long unit,
                        const char *why) {
        _cleanup_(op_run_clear) struct op_run o = {};
        struct op_args args = { .vm = vm, .number = 8 };
        struct json_object *v, *d;
        int n;

        run_op(s, OP_DISK_ADD, &args, NULL, &o);
        d = fx_disk(vm, -1, &v, &n);
        tap_ok(o.r == 0 && jint(d, "capacityKB") == 8192 && jint(d, "controllerKey") == key && jint(d, "unit") == unit &&
              strcmp(jstr(d, "controllerType"), type) == 0,
              "ModifyDisk add on %s (%s): new disk on %s %lld unit %lld, vcsim %s %lld unit %lld (%d %s)", vm, why, type,
              key, unit, jstr(d, "controllerType"), jint(d, "controllerKey"), jint(d, "unit"), o.r, o.err.message);
        json_object_put(v);
}

/* No controller with a free unit: InvalidArgument before anything is sent; vcsim has no new disk. */
static void fx_disk_add_refused(struct backend_session *s, const char *vm, const char *why) {
        _cleanup_(op_run_clear) struct op_run o = {};
        struct op_args args = { .vm = vm, .number = 8 };
        struct json_object *v;
        int before, after;

        fx_disk(vm, 0, &v, &before);
        json_object_put(v);
        run_op(s, OP_DISK_ADD, &args, NULL, &o);
        fx_disk(vm, 0, &v, &after);
        json_object_put(v);
        tap_ok(o.r == -EINVAL && strcmp(o.err.fault, "InvalidArgument") == 0 && !o.task && before > 0 &&
              after == before && strstr(o.err.message, "free unit"),
              "ModifyDisk add on %s (%s) -> -EINVAL InvalidArgument, nothing sent, vcsim still %d disks (%d %s: %s)",
              vm, why, after, o.r, o.err.fault, o.err.message);
}

static bool same_member(struct json_object *a, struct json_object *b, const char *key) {
        return *jstr(a, key) && strcmp(jstr(a, key), jstr(b, key)) == 0;
}

/*
 * Grow a disk that carries what a real vCenter disk does: every member
 * read must go back (vcsim replaces the device with what is sent, so what
 * it holds afterwards is what we sent).
 */
static void fx_disk_grow_keeps_members(struct backend_session *s) {
        _cleanup_(op_run_clear) struct op_run o = {};
        struct op_args args = { .vm = "vmt-fx-grow", .disk = "1", .number = 8 };
        struct json_object *v0, *v1, *d0, *d1;
        int n;

        d0 = fx_disk(args.vm, 0, &v0, &n);
        run_op(s, OP_DISK_GROW, &args, NULL, &o);
        d1 = fx_disk(args.vm, 0, &v1, &n);
        tap_ok(o.r == 0 && jint(d1, "capacityKB") == 8192 && same_member(d0, d1, "uuid") &&
              same_member(d0, d1, "contentId") && same_member(d0, d1, "changeId") && same_member(d0, d1, "sharing") &&
              same_member(d0, d1, "sharesLevel") && jint(d1, "ioLimit") == jint(d0, "ioLimit") &&
              jint(d0, "ioLimit") > 0 && jint(d1, "unit") == jint(d0, "unit"),
              "ModifyDisk grow keeps the device as read: vcsim %s -> %s (%d %s)",
              d0 ? json_object_to_json_string(d0) : "", d1 ? json_object_to_json_string(d1) : "", o.r, o.err.message);
        json_object_put(v0);
        json_object_put(v1);
}

/* A disk vmtraced must not grow: refused before anything is sent, saying why; vcsim unchanged. */
static void fx_disk_grow_refused(struct backend_session *s, const char *vm, const char *why) {
        _cleanup_(op_run_clear) struct op_run o = {};
        struct op_args args = { .vm = vm, .disk = "1", .number = 8 };
        struct json_object *v, *d;
        int n;

        run_op(s, OP_DISK_GROW, &args, NULL, &o);
        d = fx_disk(vm, 0, &v, &n);
        tap_ok(o.r == -EINVAL && strcmp(o.err.fault, "NotSupported") == 0 && !o.task && strstr(o.err.message, why) &&
              jint(d, "capacityKB") == 1024,
              "ModifyDisk grow on %s -> -EINVAL NotSupported \"...%s...\", nothing sent, vcsim %lld KB (%d %s: %s)", vm,
              why, jint(d, "capacityKB"), o.r, o.err.fault, o.err.message);
        json_object_put(v);
}

/* A VM in a vApp has no parent folder: its clone goes to the datacenter's vmFolder. */
static void fx_clone_vapp_vm(struct backend_session *s) {
        const char *vm = "DC0_C0_APP0_VM0";
        _cleanup_free_ char *id = NULL;
        struct json_object *src, *in_folder, *clone = NULL;
        char name[64];
        int st;

        snprintf(name, sizeof name, "vmt-vapp-clone-%ld", (long) getpid());
        src = vcsim_vm_by("-name", vm, &st);
        in_folder = vcsim_vm_by("-name", "DC0_C0_RP0_VM0", &st);  /* a VM in DC0's vmFolder */
        /* Cold name cache and the walk up to the datacenter: two reads more than a warm clone. */
        id = check_clone(s, vm, name, NULL, 6);
        if (id)
                clone = vcsim_vm(id, &st);
        tap_ok(src && !*jstr(src, "parentId") && *jstr(src, "parentVAppId") && clone &&
              *jstr(in_folder, "parentId") && strcmp(jstr(clone, "parentId"), jstr(in_folder, "parentId")) == 0,
              "CloneVM of %s (vApp %s, no parent) -> folder %s, the datacenter's vmFolder %s", vm,
              jstr(src, "parentVAppId"), jstr(clone, "parentId"), jstr(in_folder, "parentId"));
        json_object_put(src);
        json_object_put(in_folder);
        json_object_put(clone);
}

static void test_fixtures(struct backend_session *s) {
        const char *api = env_or("VMT_TEST_API_VERSION", "6.5");

        fx_disk_add(s, "vmt-fx-ide", "VirtualIDEController", 201, 0, "IDE 200 full at 2 units");
        fx_disk_add(s, "vmt-fx-sata", "VirtualAHCIController", 15000, 7, "SATA has a unit 7");
        fx_disk_add(s, "vmt-fx-nvme", "ParaVirtualSCSIController", 1000, 0, "NVMe full at 15 units");
        if (strcmp(api, "6.7") >= 0)
                fx_disk_add(s, "vmt-fx-pvscsi", "ParaVirtualSCSIController", 1000, 16, "pvscsi has 64 units from 6.7");
        else
                fx_disk_add_refused(s, "vmt-fx-pvscsi", "pvscsi full at 16 units before 6.7");
        fx_disk_add_refused(s, "vmt-fx-full", "both IDE controllers full");
        fx_disk_grow_keeps_members(s);
        fx_disk_grow_refused(s, "vmt-fx-delta", "snapshots");
        fx_disk_grow_refused(s, "vmt-fx-sparse", "flat");
        fx_clone_vapp_vm(s);
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
        if (getenv("VMT_TEST_DEBUG"))
                log_set_max_level(LOG_DEBUG);
        ops = backend_find("vsphere");
        if (!ops) {
                fprintf(stderr, "No vsphere backend in the registry\n");
                return 1;
        }
        ops->global_init();
        ep = base_endpoint();

        r = ops->session_new(&ep, &s, &err);
        tap_ok(r == 0, "session_new (%d %s)", r, err.message);
        if (r < 0)
                return 1;
        n0 = ops->round_trips(s);
        r = ops->login(s, &who, &err);
        tap_ok(r == 0 && who && *who, "login as %s (%d %s: %s)", strempty(who), r, err.fault, err.message);
        printf("# login: %u round trips\n", ops->round_trips(s) - n0);
        if (r == 0 && getenv("VMT_TEST_FIXTURES")) {
                test_fixtures(s);
                ops->session_free(s);
                return tap_done();
        }
        if (r == 0 && getenv("VMT_TEST_SLOW_CLONE")) {
                test_slow_clone(s);
                ops->session_free(s);
                return tap_done();
        }
        if (r == 0) {
                test_rename(s);
                test_operations(s);
                test_ambiguous(s);
                test_expiry(s);
                test_logout(s);
        }
        ops->session_free(s);

        test_tls_refusals(&ep);
        test_login_failures(&ep);

        return tap_done();
}
