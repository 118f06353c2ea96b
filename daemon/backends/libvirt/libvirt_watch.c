/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Watching an endpoint for changes made behind vmtraced's back
 * (backend_ops.watch_start/watch_stop).  libvirt raises events for power
 * changes, define, undefine and rename, but none for setvcpus, setmem,
 * blockresize or a config-only attach (libvirt-notes.md §6), so events
 * alone cannot be trusted: every interval the watcher reads every domain
 * into a snapshot, per UUID, with libvirt_values.c's own readers (so a
 * change reads exactly as an operation's row would), and diffs it with the
 * previous snapshot.  An event only makes that reconciliation happen at
 * once and says what the platform told (platform_event, and its time).
 *
 * Threads: the watcher's own thread owns the connection and the
 * snapshots.  libvirt's callbacks run on its event loop thread (libvirt.c)
 * and touch only the inbox, which is reference counted: libvirt may still
 * call a callback after it was deregistered, and releases its reference
 * through the free callback only when it no longer can.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "libvirt_internal.h"
#include "log.h"
#include "util.h"

/* A burst of events (a rename is UNDEFINED then DEFINED) is reconciled once, after this. */
#define LV_WATCH_COALESCE_MS 200
/* Reconnecting waits 1, 2, 4 ... s, at most this long. */
#define LV_WATCH_BACKOFF_MAX_SEC 30
/* Events beyond these wait for the next reconciliation unnamed: it reads the values anyway. */
#define LV_WATCH_EVENTS_MAX 256

/* What a snapshot keeps of each domain: the value of each of these kinds, as lv_read_value() reads it. */
enum { W_NAME, W_POWER, W_CPU, W_MEMORY, W_DISKS, W_IDENTITY, W_ALL, _W_MAX };
static const enum op_kind watched[_W_MAX] = {
        [W_NAME] = OP_RENAME,       [W_POWER] = OP_START, [W_CPU] = OP_CPU,     [W_MEMORY] = OP_MEMORY,
        [W_DISKS] = OP_DISK_ADD,    [W_IDENTITY] = OP_CLONE, /* a created VM's "after" */
        [W_ALL] = OP_DESTROY,       /* a removed VM's "before" */
};

struct lv_seen {
        struct vm_target t;
        struct op_value v[_W_MAX];
        int64_t ms[_W_MAX];       /* when v[k] was read (a value carried over keeps its time) */
};

struct lv_snapshot {
        struct lv_seen *doms;
        size_t n;
        int64_t ms;               /* when it was read */
        bool taken;
};

struct lv_event {
        char uuid[VIR_UUID_STRING_BUFLEN];
        int64_t ms;
        bool reboot;
        unsigned about;           /* the values (1 << W_*) it tells of a change of */
        char text[64];            /* "lifecycle event STOPPED/DESTROYED" */
};

/* What libvirt's event loop thread hands the watcher's thread. */
struct lv_inbox {
        atomic_uint refs;
        pthread_mutex_t lock;
        pthread_cond_t cond;      /* on CLOCK_MONOTONIC */
        bool stop, closed;
        struct lv_event *events;
        size_t n_events;
};

struct backend_watch {
        const struct endpoint_config *ep;
        const struct watch_sink *sink;
        unsigned interval_sec;
        struct lv_inbox *in;
        struct backend_session s;  /* the connection, as libvirt_values.c wants it */
        int cb_lifecycle, cb_reboot; /* registrations, -1: none */
        bool close_cb;
        struct lv_snapshot last;
        unsigned backoff;          /* seconds before the next reconnect; 0: connected */
        pthread_t thread;
};

/* ---- The inbox ------------------------------------------------------------ */

static struct lv_inbox *inbox_new(void) {
        struct lv_inbox *in = calloc(1, sizeof *in);
        pthread_condattr_t a;

        if (!in)
                return NULL;
        atomic_init(&in->refs, 1);
        pthread_mutex_init(&in->lock, NULL);
        pthread_condattr_init(&a);
        pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
        pthread_cond_init(&in->cond, &a);
        pthread_condattr_destroy(&a);
        return in;
}

static struct lv_inbox *inbox_ref(struct lv_inbox *in) {
        atomic_fetch_add(&in->refs, 1);
        return in;
}

/* Also libvirt's free callback of every registration. */
static void inbox_unref(void *p) {
        struct lv_inbox *in = p;

        if (!in || atomic_fetch_sub(&in->refs, 1) != 1)
                return;
        pthread_mutex_destroy(&in->lock);
        pthread_cond_destroy(&in->cond);
        free(in->events);
        free(in);
}

static void inbox_push(struct lv_inbox *in, const struct lv_event *e) {
        pthread_mutex_lock(&in->lock);
        if (in->n_events < LV_WATCH_EVENTS_MAX) {
                if (!in->events)
                        in->events = calloc(LV_WATCH_EVENTS_MAX, sizeof *in->events);
                if (in->events)
                        in->events[in->n_events++] = *e;
        }
        pthread_cond_signal(&in->cond);
        pthread_mutex_unlock(&in->lock);
}

enum wake { WAKE_TIMEOUT, WAKE_EVENT, WAKE_CLOSED, WAKE_STOP };

static enum wake inbox_state(const struct lv_inbox *in) {
        return in->stop ? WAKE_STOP : in->closed ? WAKE_CLOSED : in->n_events ? WAKE_EVENT : WAKE_TIMEOUT;
}

/* Until something happens or the monotonic deadline passes; events count only when asked. */
static enum wake inbox_wait(struct lv_inbox *in, int64_t deadline, bool events) {
        struct timespec ts = { .tv_sec = deadline / 1000, .tv_nsec = (deadline % 1000) * 1000000L };
        enum wake why;

        pthread_mutex_lock(&in->lock);
        for (;;) {
                why = inbox_state(in);
                if (why == WAKE_EVENT && !events)
                        why = WAKE_TIMEOUT;
                if (why != WAKE_TIMEOUT || pthread_cond_timedwait(&in->cond, &in->lock, &ts) == ETIMEDOUT)
                        break;
        }
        pthread_mutex_unlock(&in->lock);
        return why;
}

static struct lv_event *inbox_take(struct lv_inbox *in, size_t *n) {
        pthread_mutex_lock(&in->lock);
        struct lv_event *e = TAKE_PTR(in->events);
        *n = in->n_events;
        in->n_events = 0;
        pthread_mutex_unlock(&in->lock);
        return e;
}

static void inbox_set(struct lv_inbox *in, bool *flag, bool value) {
        pthread_mutex_lock(&in->lock);
        *flag = value;
        pthread_cond_signal(&in->cond);
        pthread_mutex_unlock(&in->lock);
}

/* ---- libvirt's callbacks (its event loop thread) ------------------------------ */

static const char *const lifecycle_names[] = {
        "DEFINED", "UNDEFINED", "STARTED", "SUSPENDED", "RESUMED", "STOPPED", "SHUTDOWN", "PMSUSPENDED", "CRASHED",
};
static const char *const *const detail_names[] = {
        (const char *const[]) { "ADDED", "UPDATED", "RENAMED", "FROM_SNAPSHOT", NULL },
        (const char *const[]) { "REMOVED", "RENAMED", NULL },
        (const char *const[]) { "BOOTED", "MIGRATED", "RESTORED", "FROM_SNAPSHOT", "WAKEUP", NULL },
        (const char *const[]) { "PAUSED", "MIGRATED", "IOERROR", "WATCHDOG", "RESTORED", "FROM_SNAPSHOT",
                                "API_ERROR", "POSTCOPY", "POSTCOPY_FAILED", NULL },
        (const char *const[]) { "UNPAUSED", "MIGRATED", "FROM_SNAPSHOT", "POSTCOPY", "POSTCOPY_FAILED", NULL },
        (const char *const[]) { "SHUTDOWN", "DESTROYED", "CRASHED", "MIGRATED", "SAVED", "FAILED", "FROM_SNAPSHOT", NULL },
        (const char *const[]) { "FINISHED", "GUEST", "HOST", NULL },
        (const char *const[]) { "MEMORY", "DISK", NULL },
        (const char *const[]) { "PANICKED", "CRASHLOADED", NULL },
};

/* libvirt's own words for an event, numbers where a newer libvirt has more than we know. */
static void lifecycle_text(int event, int detail, char *buf, size_t len) {
        const char *const *d = event >= 0 && (size_t) event < ELEMENTSOF(detail_names) ? detail_names[event] : NULL;
        int n = 0;

        while (d && detail >= 0 && n <= detail && d[n])
                n++;
        if (!d)
                snprintf(buf, len, "lifecycle event %d/%d", event, detail);
        else if (detail < 0 || n <= detail)
                snprintf(buf, len, "lifecycle event %s/%d", lifecycle_names[event], detail);
        else
                snprintf(buf, len, "lifecycle event %s/%s", lifecycle_names[event], d[detail]);
}

/*
 * Which values a lifecycle event tells of: a change is named by the events
 * about it only, so a setvcpus seen in the same pass as a suspend does not
 * pass for one libvirt told of.
 */
static unsigned event_about(int event, int detail) {
        switch (event) {
        case VIR_DOMAIN_EVENT_DEFINED:
                return detail == VIR_DOMAIN_EVENT_DEFINED_ADDED ? 1U << W_IDENTITY :
                       detail == VIR_DOMAIN_EVENT_DEFINED_RENAMED ? 1U << W_NAME :
                       1U << W_CPU | 1U << W_MEMORY | 1U << W_DISKS;
        case VIR_DOMAIN_EVENT_UNDEFINED:
                return detail == VIR_DOMAIN_EVENT_UNDEFINED_RENAMED ? 1U << W_NAME : 1U << W_ALL;
        default:
                return 1U << W_POWER;
        }
}

static void push_event(struct lv_inbox *in, virDomainPtr dom, bool reboot, int event, int detail) {
        struct lv_event e = { .ms = now_ms(), .reboot = reboot, .about = reboot ? 0 : event_about(event, detail) };

        /* A domain object knows its UUID without asking libvirtd. */
        if (virDomainGetUUIDString(dom, e.uuid) < 0)
                return;
        if (reboot)
                snprintf(e.text, sizeof e.text, "reboot event");
        else
                lifecycle_text(event, detail, e.text, sizeof e.text);
        inbox_push(in, &e);
}

static int on_lifecycle(virConnectPtr conn _unused_, virDomainPtr dom, int event, int detail, void *opaque) {
        push_event(opaque, dom, false, event, detail);
        return 0;
}

static void on_reboot(virConnectPtr conn _unused_, virDomainPtr dom, void *opaque) {
        push_event(opaque, dom, true, 0, 0);
}

static void on_close(virConnectPtr conn _unused_, int reason _unused_, void *opaque) {
        struct lv_inbox *in = opaque;

        inbox_set(in, &in->closed, true);
}

/* ---- The connection ------------------------------------------------------------ */

static void watch_disconnect(struct backend_watch *w) {
        if (!w->s.conn)
                return;
        /* Each deregistration drops libvirt's reference to the inbox when libvirt is done with it. */
        if (w->cb_lifecycle >= 0)
                (void) virConnectDomainEventDeregisterAny(w->s.conn, w->cb_lifecycle);
        if (w->cb_reboot >= 0)
                (void) virConnectDomainEventDeregisterAny(w->s.conn, w->cb_reboot);
        if (w->close_cb)
                (void) virConnectUnregisterCloseCallback(w->s.conn, on_close);
        w->cb_lifecycle = w->cb_reboot = -1;
        w->close_cb = false;
        virConnectClose(TAKE_PTR(w->s.conn));
        free(TAKE_PTR(w->s.hostname));
}

static int subscribe(struct backend_watch *w, struct op_error *err) {
        virConnectPtr c = w->s.conn;

        w->close_cb = virConnectRegisterCloseCallback(c, on_close, inbox_ref(w->in), inbox_unref) == 0;
        if (!w->close_cb) {
                inbox_unref(w->in);
                return lv_fail(&w->s, "virConnectRegisterCloseCallback", err);
        }
        w->cb_lifecycle = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                           VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle),
                                                           inbox_ref(w->in), inbox_unref);
        if (w->cb_lifecycle < 0) {
                inbox_unref(w->in);
                return lv_fail(&w->s, "virConnectDomainEventRegisterAny", err);
        }
        w->cb_reboot = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_REBOOT,
                                                        VIR_DOMAIN_EVENT_CALLBACK(on_reboot), inbox_ref(w->in),
                                                        inbox_unref);
        if (w->cb_reboot < 0) {
                inbox_unref(w->in);
                return lv_fail(&w->s, "virConnectDomainEventRegisterAny", err);
        }
        return 0;
}

static int watch_connect(struct backend_watch *w, struct op_error *err) {
        int r = lv_open(w->ep, &w->s.conn, err);

        if (r < 0)
                return r;
        inbox_set(w->in, &w->in->closed, false);
        w->s.hostname = virConnectGetHostname(w->s.conn);
        r = w->s.hostname ? subscribe(w, err) : lv_fail(&w->s, "virConnectGetHostname", err);
        if (r < 0)
                watch_disconnect(w);
        return r;
}

static bool watch_alive(struct backend_watch *w) {
        pthread_mutex_lock(&w->in->lock);
        bool closed = w->in->closed;
        pthread_mutex_unlock(&w->in->lock);
        return !closed && virConnectIsAlive(w->s.conn) == 1;
}

/* ---- Snapshots ----------------------------------------------------------------- */

static void seen_clear(struct lv_seen *d) {
        vm_target_clear(&d->t);
        for (size_t k = 0; k < _W_MAX; k++)
                op_value_clear(&d->v[k]);
}

static void snapshot_clear(struct lv_snapshot *s) {
        for (size_t i = 0; i < s->n; i++)
                seen_clear(&s->doms[i]);
        free(s->doms);
        *s = (struct lv_snapshot) {};
}

static struct lv_seen *snapshot_find(const struct lv_snapshot *s, const char *uuid) {
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->doms[i].t.uuid, uuid) == 0)
                        return &s->doms[i];
        return NULL;
}

/*
 * Read value k of dom.  A value that cannot be read now (a disk whose
 * capacity libvirt cannot tell for a moment) keeps what the last snapshot
 * showed, moved over with its time, rather than pass for a change.
 */
/*
 * QEMU starts a domain paused and resumes it once set up: a reconciliation
 * in between would report a SuspendVM nobody made, so that state is no
 * reading of the power yet.
 */
static bool starting_up(virDomainPtr dom, const struct op_value *v) {
        int state = 0, reason = 0;

        return v->power == VM_POWER_PAUSED && virDomainGetState(dom, &state, &reason, 0) == 0 &&
               state == VIR_DOMAIN_PAUSED && reason == VIR_DOMAIN_PAUSED_STARTING_UP;
}

static int read_one(struct backend_watch *w, virDomainPtr dom, size_t k, struct lv_seen *d, struct lv_seen *old) {
        struct op_error err = {};
        int r = lv_read_value(&w->s, dom, watched[k], NULL, &d->v[k], &err);

        d->ms[k] = now_ms();
        if (r >= 0 && k == W_POWER && starting_up(dom, &d->v[k])) {
                op_error_set(&err, "StartingUp", "the domain is starting up");
                r = -EAGAIN;
        }
        if (r >= 0 || r == -ENOENT)
                return r;
        op_value_clear(&d->v[k]);
        log_debug("watch \"%s\": %s of %s not read: %s", w->ep->name, op_kind_trail_name(watched[k]), d->t.name,
                  err.message);
        if (old) {
                d->v[k] = old->v[k];
                old->v[k] = (struct op_value) {};
                d->ms[k] = old->ms[k];
        }
        return 0;
}

static int read_domain(struct backend_watch *w, virDomainPtr dom, struct lv_seen *d, struct lv_snapshot *last) {
        struct op_error err = {};
        int r = lv_fill_target(&w->s, dom, &d->t, &err);
        struct lv_seen *old = r >= 0 ? snapshot_find(last, d->t.uuid) : NULL;

        for (size_t k = 0; r >= 0 && k < _W_MAX; k++)
                r = read_one(w, dom, k, d, old);
        return r;
}

static int snapshot_read(struct backend_watch *w, struct lv_snapshot *out, struct op_error *err) {
        virDomainPtr *doms = NULL;
        int n = virConnectListAllDomains(w->s.conn, &doms, 0);
        int r = 0;

        if (n < 0)
                return lv_fail(&w->s, "virConnectListAllDomains", err);
        out->ms = now_ms();
        out->doms = calloc((size_t) n + 1, sizeof *out->doms);
        for (int i = 0; i < n; i++) {
                if (out->doms && r >= 0) {
                        r = read_domain(w, doms[i], &out->doms[out->n], &w->last);
                        /* Undefined while it was read: not in this snapshot, so it counts as removed. */
                        if (r < 0)
                                seen_clear(&out->doms[out->n]);
                        else
                                out->n++;
                        r = r == -ENOENT ? 0 : r;
                }
                virDomainFree(doms[i]);
        }
        free(doms);
        if (!out->doms || r == -ENOMEM) {
                op_error_set(err, "InternalError", "out of memory");
                return -ENOMEM;
        }
        out->taken = true;
        return r;
}

/* ---- The diff ------------------------------------------------------------------ */

struct lv_pass {
        struct backend_watch *w;
        const struct lv_snapshot *old, *now;
        const struct lv_event *events;
        size_t n_events;
        const char *detail;        /* how it was seen, when no event told */
};

/* What the events of this pass said about value k of uuid, in order; NULL: none.  *ms: the first one's time. */
static const char *told(const struct lv_pass *p, const char *uuid, size_t k, char *buf, size_t len, int64_t *ms) {
        size_t used = 0;

        *buf = 0;
        for (size_t i = 0; i < p->n_events; i++) {
                const struct lv_event *e = &p->events[i];

                if (!(e->about & 1U << k) || strcmp(e->uuid, uuid) != 0 || used >= len)
                        continue;
                if (used == 0)
                        *ms = e->ms;
                int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", e->text);
                used += n > 0 ? (size_t) n : 0;
        }
        return *buf ? buf : NULL;
}

static void emit_told(const struct lv_pass *p, enum op_kind kind, const char *operation, const struct vm_target *t,
                      const struct op_value *before, const struct op_value *after, int64_t unchanged_ms,
                      const char *event, int64_t event_ms) {
        /* An event queued while the last snapshot was read can be older than it. */
        int64_t changed_ms = !event ? p->now->ms : event_ms > unchanged_ms ? event_ms : unchanged_ms;
        struct watch_change c = {
                .kind = kind,
                .operation = operation,
                .target = t,
                .before = before,
                .after = after,
                .seen_unchanged_ms = unchanged_ms,
                .seen_changed_ms = changed_ms,
                .platform_user = NULL,   /* libvirt does not say who */
                .platform_event = event,
                .detail = event ? "told by an event, read back by reconciliation" : p->detail,
        };

        p->w->sink->changed(p->w->sink->userdata, p->w->ep, &c);
}

/* A change of value k (W_*). */
static void emit(const struct lv_pass *p, size_t k, enum op_kind kind, const char *operation, const struct vm_target *t,
                 const struct op_value *before, const struct op_value *after, int64_t unchanged_ms) {
        char buf[512];
        int64_t ms = 0;
        const char *event = told(p, t->uuid, k, buf, sizeof buf, &ms);

        emit_told(p, kind, operation, t, before, after, unchanged_ms, event, ms);
}

static bool numbers_differ(const struct op_value *a, const struct op_value *b) {
        return a->cpus != b->cpus || a->cpus_config != b->cpus_config || a->cpus_max != b->cpus_max ||
               a->memory_mib != b->memory_mib || a->memory_mib_config != b->memory_mib_config ||
               a->memory_mib_max != b->memory_mib_max;
}

static const struct op_disk *disk_find(const struct op_value *v, const char *label) {
        for (size_t i = 0; i < v->n_disks; i++)
                if (strcmp(v->disks[i].label, label) == 0)
                        return &v->disks[i];
        return NULL;
}

static bool same_labels(const struct op_value *a, const struct op_value *b) {
        if (a->n_disks != b->n_disks)
                return false;
        for (size_t i = 0; i < a->n_disks; i++)
                if (!disk_find(b, a->disks[i].label))
                        return false;
        return true;
}

/* One disk's capacity changed: a ModifyDisk grow, its value that disk alone (as read_disks() with args->disk). */
static void emit_grow(const struct lv_pass *p, const struct lv_seen *o, const struct lv_seen *d,
                      const struct op_disk *was, const struct op_disk *is) {
        struct op_value b = { .known = true }, a = { .known = true };

        if (op_value_add_disk(&b, was->label, was->mib) >= 0 && op_value_add_disk(&a, is->label, is->mib) >= 0)
                emit(p, W_DISKS, OP_DISK_GROW, NULL, &d->t, &b, &a, o->ms[W_DISKS]);
        op_value_clear(&b);
        op_value_clear(&a);
}

/* A disk added (or removed) is a change of the list; otherwise each disk whose size changed. */
static void diff_disks(const struct lv_pass *p, const struct lv_seen *o, const struct lv_seen *d) {
        const struct op_value *a = &o->v[W_DISKS], *b = &d->v[W_DISKS];

        if (!same_labels(a, b)) {
                emit(p, W_DISKS, OP_DISK_ADD, NULL, &d->t, a, b, o->ms[W_DISKS]);
                return;
        }
        for (size_t i = 0; i < b->n_disks; i++) {
                const struct op_disk *was = disk_find(a, b->disks[i].label);

                if (was->mib != b->disks[i].mib)
                        emit_grow(p, o, d, was, &b->disks[i]);
        }
}

/* The operation a power change is: to on StartVM, to paused or saved SuspendVM, else StopVM. */
static enum op_kind power_kind(enum vm_power to) {
        switch (to) {
        case VM_POWER_ON:
                return OP_START;
        case VM_POWER_SUSPENDED:
        case VM_POWER_PAUSED:
                return OP_SUSPEND;
        default:
                return OP_STOP;
        }
}

static bool both_known(const struct lv_seen *o, const struct lv_seen *d, size_t k) {
        return o->v[k].known && d->v[k].known;
}

static void diff_domain(const struct lv_pass *p, const struct lv_seen *o, const struct lv_seen *d) {
        const struct op_value *a = o->v, *b = d->v;

        if (both_known(o, d, W_NAME) && strcmp(a[W_NAME].name, b[W_NAME].name) != 0)
                emit(p, W_NAME, OP_RENAME, NULL, &d->t, &a[W_NAME], &b[W_NAME], o->ms[W_NAME]);
        if (both_known(o, d, W_POWER) && a[W_POWER].power != b[W_POWER].power)
                emit(p, W_POWER, power_kind(b[W_POWER].power), NULL, &d->t, &a[W_POWER], &b[W_POWER], o->ms[W_POWER]);
        if (both_known(o, d, W_CPU) && numbers_differ(&a[W_CPU], &b[W_CPU]))
                emit(p, W_CPU, OP_CPU, NULL, &d->t, &a[W_CPU], &b[W_CPU], o->ms[W_CPU]);
        if (both_known(o, d, W_MEMORY) && numbers_differ(&a[W_MEMORY], &b[W_MEMORY]))
                emit(p, W_MEMORY, OP_MEMORY, NULL, &d->t, &a[W_MEMORY], &b[W_MEMORY], o->ms[W_MEMORY]);
        if (both_known(o, d, W_DISKS))
                diff_disks(p, o, d);
}

/* An earlier REBOOT event of the same domain in this pass (QEMU may raise two for one reset). */
static bool rebooted_before(const struct lv_pass *p, size_t i) {
        for (size_t j = 0; j < i; j++)
                if (p->events[j].reboot && strcmp(p->events[j].uuid, p->events[i].uuid) == 0)
                        return true;
        return false;
}

/* A reset changes no value: the REBOOT event is all there is, the power state before and after alike. */
static void report_reboots(const struct lv_pass *p) {
        for (size_t i = 0; i < p->n_events; i++) {
                const struct lv_event *e = &p->events[i];
                const struct lv_seen *d = e->reboot && !rebooted_before(p, i) ? snapshot_find(p->now, e->uuid) : NULL;
                const struct lv_seen *o = d ? snapshot_find(p->old, e->uuid) : NULL;

                if (d)
                        emit_told(p, OP_RESET, NULL, &d->t, &d->v[W_POWER], &d->v[W_POWER],
                                  o ? o->ms[W_POWER] : p->old->ms, e->text, e->ms);
        }
}

static void report(const struct lv_pass *p) {
        static const struct op_value unknown = {}, gone = { .known = true, .gone = true };

        for (size_t i = 0; i < p->now->n; i++) {
                const struct lv_seen *d = &p->now->doms[i], *o = snapshot_find(p->old, d->t.uuid);

                if (o)
                        diff_domain(p, o, d);
                else
                        /* The last snapshot without it is when it was last seen absent. */
                        emit(p, W_IDENTITY, OP_CLONE, "CreateVM", &d->t, &unknown, &d->v[W_IDENTITY], p->old->ms);
        }
        for (size_t i = 0; i < p->old->n; i++) {
                const struct lv_seen *o = &p->old->doms[i];

                if (!snapshot_find(p->now, o->t.uuid))
                        emit(p, W_ALL, OP_DESTROY, "DestroyVM", &o->t, &o->v[W_ALL], &gone, o->ms[W_ALL]);
        }
        report_reboots(p);
}

/*
 * Read every domain and report what differs from the last snapshot.
 * detail NULL: a baseline, nothing reported.  A snapshot that could not be
 * read is dropped, and the last one stays what the next is compared with.
 */
static void reconcile(struct backend_watch *w, const char *detail) {
        struct lv_snapshot now = {};
        struct op_error err = {};
        size_t n_events = 0;
        _cleanup_free_ struct lv_event *events = inbox_take(w->in, &n_events);
        int r = snapshot_read(w, &now, &err);

        if (r < 0 || !watch_alive(w)) {
                log_warning("watch \"%s\": the domains cannot be read: %s", w->ep->name,
                            r < 0 ? err.message : "the connection was lost");
                snapshot_clear(&now);
                if (!watch_alive(w))
                        watch_disconnect(w);
                return;
        }
        if (detail && w->last.taken)
                report(&(struct lv_pass) { .w = w, .old = &w->last, .now = &now, .events = events,
                                           .n_events = n_events, .detail = detail });
        snapshot_clear(&w->last);
        w->last = now;
}

/* ---- The thread ----------------------------------------------------------------- */

/*
 * After a drop, the new connection's first snapshot is compared with the
 * last one before the drop: what changed meanwhile is reported, its window
 * spanning the outage (seen_unchanged_ms is before the drop), since no
 * event can have told of it.
 */
static void reconnect(struct backend_watch *w) {
        struct op_error err = {};

        if (watch_connect(w, &err) >= 0) {
                log_info("watch \"%s\": connected to libvirt again.", w->ep->name);
                w->backoff = 0;
                reconcile(w, "seen by reconciliation after reconnecting; it happened while disconnected");
                return;
        }
        w->backoff = w->backoff ? w->backoff * 2 : 1;
        if (w->backoff > LV_WATCH_BACKOFF_MAX_SEC)
                w->backoff = LV_WATCH_BACKOFF_MAX_SEC;
        log_warning("watch \"%s\": cannot connect to libvirt (retrying in %u s): %s", w->ep->name, w->backoff,
                    err.message);
        (void) inbox_wait(w->in, monotonic_ms() + w->backoff * 1000L, false);
}

static void *watch_run(void *arg) {
        struct backend_watch *w = arg;

        for (;;) {
                enum wake why = w->s.conn ? inbox_wait(w->in, monotonic_ms() + w->interval_sec * 1000L, true) :
                                inbox_wait(w->in, 0, false);

                if (why == WAKE_STOP)
                        break;
                if (!w->s.conn) {
                        reconnect(w);
                        continue;
                }
                if (why == WAKE_CLOSED) {
                        log_warning("watch \"%s\": libvirt closed the connection.", w->ep->name);
                        watch_disconnect(w);
                        continue;
                }
                if (why == WAKE_EVENT)
                        (void) inbox_wait(w->in, monotonic_ms() + LV_WATCH_COALESCE_MS, false);
                reconcile(w, "seen by reconciliation");
        }
        return NULL;
}

static void watch_free(struct backend_watch *w) {
        if (!w)
                return;
        watch_disconnect(w);
        snapshot_clear(&w->last);
        inbox_unref(w->in);
        free(w);
}

/* Connected, with the baseline read, before it returns: what changes after it is reported. */
int lv_watch_start(const struct endpoint_config *ep, unsigned interval_sec, const struct watch_sink *sink,
                   struct backend_watch **out, struct op_error *err) {
        struct backend_watch *w = calloc(1, sizeof *w);
        struct lv_inbox *in = w ? inbox_new() : NULL;
        int r;

        if (!in) {
                free(w);
                op_error_set(err, "InternalError", "out of memory");
                return -ENOMEM;
        }
        *w = (struct backend_watch) { .ep = ep, .sink = sink, .interval_sec = interval_sec ?: 1, .in = in,
                                      .s = { .ep = ep, .driver = lv_driver_of_uri(ep->url) },
                                      .cb_lifecycle = -1, .cb_reboot = -1 };
        /*
         * An endpoint down at start-up is watched all the same: the thread
         * connects when it can, and its first snapshot is then the baseline.
         */
        if (watch_connect(w, err) < 0 || snapshot_read(w, &w->last, err) < 0) {
                log_warning("watch \"%s\": not connected yet (%s); retrying in the background.", ep->name,
                            err->message);
                watch_disconnect(w);
                snapshot_clear(&w->last);
                *err = (struct op_error) {};
        }
        r = 0;
        if ((r = -pthread_create(&w->thread, NULL, watch_run, w)) < 0)
                op_error_set(err, "InternalError", "cannot start the watcher's thread: %s", strerror(-r));
        if (r < 0) {
                watch_free(w);
                return r;
        }
        *out = w;
        return 0;
}

void lv_watch_stop(struct backend_watch *w) {
        if (!w)
                return;
        inbox_set(w->in, &w->in->stop, true);
        pthread_join(w->thread, NULL);
        /* The inbox outlives this when libvirt still holds it (a callback under way). */
        watch_free(w);
}
