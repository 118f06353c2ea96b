/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The inventory mirror: one per endpoint, shared by the endpoint's pooled
 * sessions, so that read_target finds a VM by name without reading the whole
 * inventory every time (issue "inventory mirror": at 10,000 VMs a full scan
 * is 7.9 MB and 880 ms per operation).
 *
 * A thread of its own keeps it current, on a vSphere session of its own (its
 * own soap context, and a Login with the endpoint's account as the pooled
 * sessions do): a pooled session serves one worker at a time, and a wait of
 * seconds must not hold one.  It makes a PropertyCollector filter on the
 * ContainerView login() creates (every VM, host and datastore), then calls
 * WaitForUpdatesEx with the version each answer gave.  Version "" answers the
 * whole inventory as "enter" updates: that is the synchronisation from
 * scratch, done at start and after a lost session (NotAuthenticated), a lost
 * connection or any other failure.  It fills a table apart and swaps it in
 * when complete, so that VMs deleted during an outage do not linger.
 *
 * What the mirror holds is a guess: vCenter reports changes late (vcsim
 * collects them every 250 ms).  read_target uses it only where vCenter's own
 * answer checks it: it reads the one VM the mirror names back and falls back
 * to a full scan when the name no longer matches; NotFound and AmbiguousName
 * always come from a full scan.
 *
 * Locking:
 *   registry_lock (mutex) guards the registry list and each mirror's users;
 *     only vs_mirror_get/put take it, never while holding m->lock.
 *   m->lock (rwlock) guards m->table, m->synced, m->names_gen and m->syncs:
 *     lookups hold it for reading; the thread holds it for writing only to
 *     apply one decoded ObjectUpdate or to swap tables, never across a call.
 *   m->stop_lock (mutex) + m->stop_cond guard m->stop and m->flush: the thread sleeps on
 *     the condition between retries so vs_mirror_put() wakes it at once; a
 *     WaitForUpdatesEx in flight returns within MIRROR_WAIT_SEC.
 *   The rest (session, filter, version, the table being built) belongs to
 *     the thread alone.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "backend.h"
#include "config.h"
#include "log.h"
#include "macros.h"
#include "util.h"
#include "vsphere_internal.h"

#define MIRROR_OPID        "vmtraced-mirror"
/* Short, so that the last session's end waits no longer than this for the thread. */
#define MIRROR_WAIT_SEC    2
#define MIRROR_BACKOFF_MIN_MS 200
#define MIRROR_BACKOFF_MAX_MS 5000

enum mobj_kind { MOBJ_VM, MOBJ_HOST, MOBJ_DATASTORE };

/* One managed object; morefs are unique across types in one vCenter. */
struct mobj {
        struct mobj *next;  /* hash chain */
        enum mobj_kind kind;
        char *id;
        char *name;
        /* VMs only: */
        char *uuid;
        char *host;         /* runtime.host moref value */
        char *power;        /* runtime.powerState */
        long long cpus;
        long long memory_mib;
        bool reported;      /* vCenter has sent it: only then does it count for out-of-band changes */
        /*
         * Our own read-back (vs_mirror_note_vm), ahead of vCenter's update:
         * lookups use it, changes are told by vCenter's values alone (else a
         * change another client made, and our read-back saw first, would
         * never show as one).  Dropped when vCenter next updates the VM.
         */
        bool noted;
        char *noted_name;   /* NULL: gone */
        char *noted_host;
};

/*
 * The table: a hash of morefs.  After a synchronisation from scratch it is
 * packed into one mapping of its own, the slab (table_pack); what changes
 * afterwards is malloc'd, and a pointer into the slab is never freed alone.
 */
struct mtable {
        struct mobj **b;
        size_t n_b, n;
        char *slab;
        size_t slab_len;
};

struct vs_mirror {
        const struct endpoint_config *ep;
        struct vs_mirror *next;  /* registry */
        unsigned users;          /* registry_lock */

        pthread_t thread;
        pthread_mutex_t stop_lock;
        pthread_cond_t stop_cond;
        bool stop;
        bool flush;              /* vs_watch_stop() waits for the thread to report what it holds */

        pthread_rwlock_t lock;
        struct mtable table;
        bool synced;
        unsigned long names_gen;  /* changes with any host or datastore name; never 0 */
        unsigned syncs;

        /* Out-of-band changes: the watch's sink (under lock), and when the mirror last heard from vCenter. */
        const struct watch_sink *sink;
        int64_t seen_ms;
        int64_t lost_ms;          /* the thread's: seen_ms when a synchronised mirror was lost; 0: not lost */
        struct pending *pending;  /* the thread's: changes seen in the last answer, to report after it */
        size_t n_pending, n_pending_max;
        struct vs_event_keys event_keys;

        /* The thread's own. */
        struct backend_session *s;
        bool logged_in;
        char *filter;
        char *stale_filter;       /* after a lost connection: destroyed once a new filter exists */
        char *version;
        struct mtable building;   /* filled by a synchronisation from scratch */
        bool rebuilding;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vs_mirror *registry;

/* ---- The table ----------------------------------------------------------- */

static size_t hash_id(const char *id, size_t n_b) {
        uint64_t h = 1469598103934665603ULL;  /* FNV-1a */

        for (; *id; id++)
                h = (h ^ (unsigned char) *id) * 1099511628211ULL;
        return h % n_b;
}

static bool in_slab(const struct mtable *t, const void *p) {
        return t->slab && (const char *) p >= t->slab && (const char *) p < t->slab + t->slab_len;
}

/* free(), unless p is the slab's. */
static void table_free(const struct mtable *t, void *p) {
        if (!in_slab(t, p))
                free(p);
}

static void mobj_free(const struct mtable *t, struct mobj *o) {
        table_free(t, o->id);
        table_free(t, o->name);
        table_free(t, o->uuid);
        table_free(t, o->host);
        table_free(t, o->power);
        free(o->noted_name);
        free(o->noted_host);
        table_free(t, o);
}

static void mobj_unnote(struct mobj *o) {
        free(o->noted_name);
        free(o->noted_host);
        o->noted_name = o->noted_host = NULL;
        o->noted = false;
}

/* A VM's name and host for lookups: our read-back's, when newer than vCenter's. */
static const char *mobj_name(const struct mobj *o) {
        return o->noted ? o->noted_name : o->name;
}

static const char *mobj_host(const struct mobj *o) {
        return o->noted ? o->noted_host : o->host;
}

static void table_clear(struct mtable *t) {
        for (size_t i = 0; i < t->n_b; i++)
                for (struct mobj *o = t->b[i], *next; o; o = next) {
                        next = o->next;
                        mobj_free(t, o);
                }
        free(t->b);
        if (t->slab)
                munmap(t->slab, t->slab_len);
        *t = (struct mtable) {};
}

static struct mobj *table_find(const struct mtable *t, const char *id) {
        if (!t->n_b || !id)
                return NULL;
        for (struct mobj *o = t->b[hash_id(id, t->n_b)]; o; o = o->next)
                if (strcmp(o->id, id) == 0)
                        return o;
        return NULL;
}

static int table_grow(struct mtable *t) {
        size_t n_b = t->n_b ? t->n_b * 4 : 64;
        struct mobj **b = calloc(n_b, sizeof *b);

        if (!b)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_b; i++)
                for (struct mobj *o = t->b[i], *next; o; o = next) {
                        size_t h = hash_id(o->id, n_b);

                        next = o->next;
                        o->next = b[h];
                        b[h] = o;
                }
        free(t->b);
        t->b = b;
        t->n_b = n_b;
        return 0;
}

static struct mobj *table_add(struct mtable *t, enum mobj_kind kind, const char *id) {
        struct mobj *o;
        size_t h;

        if (t->n >= t->n_b * 2 && table_grow(t) < 0)
                return NULL;
        o = calloc(1, sizeof *o);
        if (!o || !(o->id = strdup(id))) {
                free(o);
                return NULL;
        }
        o->kind = kind;
        h = hash_id(id, t->n_b);
        o->next = t->b[h];
        t->b[h] = o;
        t->n++;
        return o;
}

static void table_remove(struct mtable *t, const char *id) {
        struct mobj **p;

        if (!t->n_b)
                return;
        for (p = &t->b[hash_id(id, t->n_b)]; *p; p = &(*p)->next)
                if (strcmp((*p)->id, id) == 0) {
                        struct mobj *o = *p;

                        *p = o->next;
                        mobj_free(t, o);
                        t->n--;
                        return;
                }
}

#define SLAB_ALIGN(n) (((n) + _Alignof(struct mobj) - 1) & ~(_Alignof(struct mobj) - 1))

static size_t mobj_packed_len(const struct mobj *o) {
        const char *const str[] = { o->id, o->name, o->uuid, o->host, o->power };
        size_t len = sizeof *o;

        for (size_t i = 0; i < ELEMENTSOF(str); i++)
                len += str[i] ? strlen(str[i]) + 1 : 0;
        return SLAB_ALIGN(len);
}

static char *slab_put(char **at, const char *v) {
        size_t n = v ? strlen(v) + 1 : 0;
        char *r = *at;

        if (!v)
                return NULL;
        memcpy(r, v, n);
        *at += n;
        return r;
}

/*
 * Move t (freshly synchronised, all malloc'd) into one slab.  Why: the
 * table is built right after the synchronisation's answer is decoded (tens
 * of MB at 10,000 VMs), into the holes that decoding left in the thread's
 * malloc arena; once the answer is freed, its few MB pin most of that arena
 * (measured: 17 MB resident for a 3 MB table) and malloc_trim() cannot give
 * it back.  Packed apart, the whole arena is free.  Out of memory: t stays
 * as it is, only larger.
 */
static void table_pack(struct mtable *t) {
        struct mtable packed = { .n_b = t->n_b, .n = t->n };
        char *at;

        for (size_t i = 0; i < t->n_b; i++)
                for (const struct mobj *o = t->b[i]; o; o = o->next)
                        packed.slab_len += mobj_packed_len(o);
        if (!packed.slab_len || !(packed.b = calloc(t->n_b, sizeof *packed.b)))
                return;
        packed.slab = mmap(NULL, packed.slab_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (packed.slab == MAP_FAILED) {
                free(packed.b);
                return;
        }
        at = packed.slab;
        for (size_t i = 0; i < t->n_b; i++)
                for (struct mobj *o = t->b[i]; o; o = o->next) {
                        struct mobj *p = (struct mobj *) at;
                        char *end = at + mobj_packed_len(o);

                        *p = *o;
                        at += sizeof *p;
                        p->id = slab_put(&at, o->id);
                        p->name = slab_put(&at, o->name);
                        p->uuid = slab_put(&at, o->uuid);
                        p->host = slab_put(&at, o->host);
                        p->power = slab_put(&at, o->power);
                        o->noted_name = o->noted_host = NULL;   /* moved, still malloc'd */
                        p->next = packed.b[i];
                        packed.b[i] = p;
                        at = end;
                }
        table_clear(t);
        *t = packed;
}

/* ---- Applying updates ---------------------------------------------------- */

static int set_string(const struct mtable *t, char **dst, const char *v) {
        char *c = v ? strdup(v) : NULL;

        if (v && !c)
                return -ENOMEM;
        table_free(t, *dst);
        *dst = c;
        return 0;
}

static bool change_removes(const struct vim25__PropertyChange *pc) {
        return !pc->val || (pc->op && (strcmp(pc->op, "remove") == 0 || strcmp(pc->op, "indirectRemove") == 0));
}

/* The properties the filter asks for, and where each goes. */
static const struct {
        const char *path;
        size_t string;   /* offset of a char * member, or 0 */
        size_t number;   /* offset of a long long member, or 0 */
} mirrored[] = {
        { "name", offsetof(struct mobj, name), 0 },
        { "config.uuid", offsetof(struct mobj, uuid), 0 },
        { "runtime.powerState", offsetof(struct mobj, power), 0 },
        { "runtime.host", offsetof(struct mobj, host), 0 },
        { "config.hardware.numCPU", 0, offsetof(struct mobj, cpus) },
        { "config.hardware.memoryMB", 0, offsetof(struct mobj, memory_mib) },
};

/* One PropertyChange; a removed property (op remove, indirectRemove, or no value) is forgotten. */
static int apply_change(const struct mtable *t, struct mobj *o, const struct vim25__PropertyChange *pc) {
        bool gone = change_removes(pc);

        for (size_t i = 0; pc->name && i < ELEMENTSOF(mirrored); i++) {
                const struct vim25__ManagedObjectReference *ref;
                const char *v;
                long long n = 0;

                if (strcmp(pc->name, mirrored[i].path) != 0)
                        continue;
                if (mirrored[i].number) {
                        if (gone || !vs_val_int(pc->__typeval, pc->val, &n))
                                n = 0;
                        *(long long *) ((char *) o + mirrored[i].number) = n;
                        return 0;
                }
                /* runtime.host is a reference, the others strings (enums included). */
                ref = gone ? NULL : vs_val_mor(pc->__typeval, pc->val);
                v = gone ? NULL : ref ? ref->__item : vs_val_string(pc->__typeval, pc->val);
                return set_string(t, (char **) ((char *) o + mirrored[i].string), v);
        }
        return 0;
}

static int mobj_kind_of(const struct vim25__ManagedObjectReference *obj) {
        if (vs_mor_is(obj, "VirtualMachine"))
                return MOBJ_VM;
        if (vs_mor_is(obj, "HostSystem"))
                return MOBJ_HOST;
        if (vs_mor_is(obj, "Datastore"))
                return MOBJ_DATASTORE;
        return -1;
}

/* enter, modify or leave of one object into t; *names set when a host's or datastore's name may have changed. */
static int apply_update(struct mtable *t, const struct vim25__ObjectUpdate *ou, bool *names) {
        int kind = mobj_kind_of(&ou->obj);
        struct mobj *o;

        if (kind < 0 || !ou->kind)
                return 0;
        *names = *names || kind != MOBJ_VM;
        if (strcmp(ou->kind, "leave") == 0) {
                table_remove(t, ou->obj.__item);
                return 0;
        }
        o = table_find(t, ou->obj.__item);
        if (!o && !(o = table_add(t, kind, ou->obj.__item)))
                return -ENOMEM;
        o->reported = true;
        mobj_unnote(o);
        for (int i = 0; i < ou->__sizechangeSet; i++)
                if (apply_change(t, o, &ou->changeSet[i]) < 0)
                        return -ENOMEM;
        return 0;
}

/* ---- Out-of-band changes: what one update changed of a VM ------------------ */

/* A VM's watched values at one moment, copied out of the table. */
struct seen {
        bool present;
        char *name, *uuid, *host;   /* host: the host's name */
        enum vm_power power;
        long long cpus, memory_mib;
};

static void seen_clear(struct seen *d) {
        free(d->name);
        free(d->uuid);
        free(d->host);
        *d = (struct seen) {};
}

static enum vm_power power_word(const char *w) {
        for (int k = 0; w && k < _VM_POWER_MAX; k++)
                if (strcmp(vm_power_name((enum vm_power) k), w) == 0)
                        return (enum vm_power) k;
        return VM_POWER_UNKNOWN;
}

/* VM id as t holds it now; lock held. */
static void seen_take(const struct mtable *t, const char *id, struct seen *d) {
        const struct mobj *o = table_find(t, id), *h;

        *d = (struct seen) {};
        if (!o || o->kind != MOBJ_VM || !o->reported)
                return;
        h = o->host ? table_find(t, o->host) : NULL;
        *d = (struct seen) { .present = true, .name = o->name ? strdup(o->name) : NULL,
                             .uuid = o->uuid ? strdup(o->uuid) : NULL,
                             .host = strdup(h && h->name ? h->name : strempty(o->host)),
                             .power = power_word(o->power), .cpus = o->cpus, .memory_mib = o->memory_mib };
}

/* The value of kind as d shows it (value.h's members for that kind). */
static void seen_value(const struct seen *d, const char *id, enum op_kind kind, struct op_value *v) {
        /* Absent: gone (a destroy's "after"); a new VM's "before" is made unknown by the caller. */
        *v = (struct op_value) { .known = true, .gone = !d->present };
        if (!d->present)
                return;
        v->name = d->name ? strdup(d->name) : NULL;
        v->power = d->power;
        v->cpus = d->cpus;
        v->memory_mib = d->memory_mib;
        if (kind == OP_CLONE || kind == OP_DESTROY) {
                v->id = strdup(id);
                v->host = d->host ? strdup(d->host) : NULL;
        }
}

/*
 * One VM's change, from one answer (or one resynchronisation), reported
 * once that answer is applied: the event queries need the session the
 * answer came on.  A change no event shows yet waits EVENT_LATE_MS for one
 * (vCenter may post it after the property update), in this list, while
 * the mirror goes on applying updates; then it is reported either way.
 */
struct pending {
        char *id;
        struct seen before, after;
        int64_t from_ms, to_ms;
        const char *how;           /* how the mirror saw it, for the row's message */
        unsigned left;             /* bit k: the k-th of diff_kinds() not reported yet */
        int64_t retry_ms;          /* 0: not looked up yet; else when to look again, the last time */
};

#define HOW_UPDATE "seen in vCenter's property updates (WaitForUpdatesEx)"
#define HOW_RESYNC "seen when the mirror synchronised again after losing vCenter"
/* At most this many event queries per answer; a later look for events that came late. */
#define EVENT_LOOKUPS_MAX 100
#define EVENT_LATE_MS 1000

static enum op_kind power_kind(enum vm_power p) {
        return p == VM_POWER_OFF ? OP_STOP : p == VM_POWER_SUSPENDED || p == VM_POWER_PAUSED ? OP_SUSPEND : OP_START;
}

static bool differ(const char *x, const char *y) {
        return (x || y) && (!x || !y || strcmp(x, y) != 0);
}

/* The watched values b and a disagree on, as the operation kinds that change them; how many. */
static size_t diff_kinds(const struct seen *b, const struct seen *a, enum op_kind kinds[4]) {
        size_t n = 0;

        if (!b->present && !a->present)
                return 0;
        if (!b->present || !a->present) {
                kinds[n++] = a->present ? OP_CLONE : OP_DESTROY;
                return n;
        }
        /*
         * A value never seen before (0, unknown) is not a change: an entry
         * our own read-back made (vs_mirror_note_vm: name and host only) is
         * filled in by vCenter's update.
         */
        if (b->name && differ(b->name, a->name))
                kinds[n++] = OP_RENAME;
        if (b->cpus && b->cpus != a->cpus)
                kinds[n++] = OP_CPU;
        if (b->memory_mib && b->memory_mib != a->memory_mib)
                kinds[n++] = OP_MEMORY;
        if (b->power != VM_POWER_UNKNOWN && b->power != a->power)
                kinds[n++] = power_kind(a->power);
        return n;
}

/* Keep VM id's change b -> a (taken over, cleared in the caller) for report_pending; when nothing changed, nothing. */
static void pending_push(struct vs_mirror *m, const char *id, struct seen *b, struct seen *a, int64_t from_ms,
                         const char *how) {
        enum op_kind kinds[4];
        size_t n = diff_kinds(b, a, kinds);
        struct pending *p;

        if (n == 0)
                return;
        if (m->n_pending == m->n_pending_max) {
                size_t max = m->n_pending_max ? 2 * m->n_pending_max : 16;
                struct pending *v = realloc(m->pending, max * sizeof *v);

                if (!v) {
                        log_oom();
                        return;
                }
                m->pending = v;
                m->n_pending_max = max;
        }
        p = &m->pending[m->n_pending];
        *p = (struct pending) { .id = strdup(id), .before = *b, .after = *a, .from_ms = from_ms, .to_ms = now_ms(),
                                .how = how, .left = (1u << n) - 1 };
        if (!p->id) {
                log_oom();
                return;
        }
        *b = *a = (struct seen) {};
        m->n_pending++;
}

/*
 * Whom vCenter's events name for change c (of VM id): fills c's who and
 * record, and detail.  False when no event shows it yet and it may still
 * come (not last): ask again later.
 */
static bool who_made(struct vs_mirror *m, const char *id, struct watch_change *c, const char *how, bool last,
                     unsigned *lookups, struct vs_event_found *found, char *detail, size_t len) {
        struct op_error err = {};
        int r;

        if ((*lookups)++ >= EVENT_LOOKUPS_MAX) {
                snprintf(detail, len, "%s; vCenter's events not looked up (too many changes at once)", how);
                return true;
        }
        r = vs_event_find(m->s, id, c->kind, c->after, c->seen_unchanged_ms, now_ms(), &m->event_keys, found, &err);
        if (r == 0 && !last)
                return false;
        if (r > 0) {
                c->platform_user = found->user;
                c->platform_event = found->record;
                snprintf(detail, len, "%s; vCenter's event: %s", how, found->detail);
        } else if (r == 0)
                snprintf(detail, len, "%s; no vCenter event on the VM shows this change", how);
        else
                snprintf(detail, len, "%s; vCenter's events could not be read (%s: %.300s)", how, err.fault,
                         err.message);
        return true;
}

/* Change kind of p to the sink, unless vmtraced made it; false: looked for who in vain, ask again later. */
static bool report_one(struct vs_mirror *m, const struct watch_sink *sink, const struct pending *p, enum op_kind kind,
                       bool last, unsigned *lookups) {
        const struct seen *b = &p->before, *a = &p->after, *now = a->present ? a : b;
        struct vm_target t = { .name = now->name, .id = p->id, .uuid = now->uuid, .host = now->host };
        struct op_value before, after;
        struct vs_event_found found = {};
        char detail[1024] = "";
        bool done = true;

        seen_value(b, p->id, kind, &before);
        seen_value(a, p->id, kind, &after);
        if (!b->present)
                before.known = false;   /* a new VM has no "before" */
        struct watch_change c = { .kind = kind, .operation = kind == OP_CLONE ? "CreateVM" : NULL, .target = &t,
                                  .before = &before, .after = &after, .seen_unchanged_ms = p->from_ms,
                                  .seen_changed_ms = p->to_ms, .detail = detail };
        /* vmtraced's own changes need no one to name. */
        if (!sink->explained || !sink->explained(sink->userdata, m->ep, &c)) {
                done = who_made(m, p->id, &c, p->how, last, lookups, &found, detail, sizeof detail);
                if (done)
                        sink->changed(sink->userdata, m->ep, &c);
        }
        vs_event_found_clear(&found);
        op_value_clear(&before);
        op_value_clear(&after);
        return done;
}

static void pending_clear(struct pending *p) {
        free(p->id);
        seen_clear(&p->before);
        seen_clear(&p->after);
}

/*
 * The changes due, to the sink (outside every lock: the sink writes the
 * trail); those no event shows yet wait for one more look.  all: every one
 * now, for the last time (the mirror stops).
 */
static void report_pending(struct vs_mirror *m, bool all) {
        const struct watch_sink *sink;
        int64_t now = now_ms();
        unsigned lookups = 0;
        size_t kept = 0;

        pthread_rwlock_rdlock(&m->lock);
        sink = m->sink;
        pthread_rwlock_unlock(&m->lock);
        for (size_t i = 0; i < m->n_pending; i++) {
                struct pending *p = &m->pending[i];
                bool last = all || p->retry_ms != 0;
                enum op_kind kinds[4];
                size_t n = diff_kinds(&p->before, &p->after, kinds);

                if (!all && p->retry_ms > now) {
                        m->pending[kept++] = *p;
                        continue;
                }
                for (size_t k = 0; sink && k < n; k++)
                        if ((p->left & (1u << k)) && report_one(m, sink, p, kinds[k], last, &lookups))
                                p->left &= ~(1u << k);
                if (sink && p->left) {
                        p->retry_ms = now + EVENT_LATE_MS;
                        m->pending[kept++] = *p;
                } else
                        pending_clear(p);
        }
        m->n_pending = kept;
}

/* While rebuilding into the thread's own table, no lock; otherwise one write lock per object. */
static int update_cb(const struct vim25__ObjectUpdate *ou, void *userdata) {
        struct vs_mirror *m = userdata;
        bool watched = false, names = false;
        struct seen before = {}, after = {};
        int r;

        if (m->rebuilding)
                return apply_update(&m->building, ou, &names);
        pthread_rwlock_wrlock(&m->lock);
        if (m->sink && mobj_kind_of(&ou->obj) == MOBJ_VM) {
                watched = true;
                seen_take(&m->table, ou->obj.__item, &before);
        }
        r = apply_update(&m->table, ou, &names);
        if (watched)
                seen_take(&m->table, ou->obj.__item, &after);
        if (names)
                m->names_gen++;
        pthread_rwlock_unlock(&m->lock);
        if (watched && r >= 0)
                pending_push(m, ou->obj.__item, &before, &after, m->seen_ms, HOW_UPDATE);
        seen_clear(&before);
        seen_clear(&after);
        return r;
}

/*
 * After a loss, the new table may differ from the old one by changes made
 * meanwhile: each VM of either, compared (new is the thread's own; old is
 * no longer the mirror's, so neither needs the lock).
 */
static void resync_diff(struct vs_mirror *m, const struct mtable *old, const struct mtable *new) {
        const struct mtable *both[2] = { new, old };

        for (size_t k = 0; k < 2; k++)
                for (size_t i = 0; i < both[k]->n_b; i++)
                        for (const struct mobj *o = both[k]->b[i]; o; o = o->next) {
                                struct seen b = {}, a = {};

                                if (o->kind != MOBJ_VM || (k == 1 && table_find(new, o->id)))
                                        continue;   /* old VMs still there were compared with the new ones */
                                seen_take(old, o->id, &b);
                                seen_take(new, o->id, &a);
                                pending_push(m, o->id, &b, &a, m->lost_ms, HOW_RESYNC);
                                seen_clear(&b);
                                seen_clear(&a);
                        }
}

/* The rebuilt table is complete: it becomes the mirror. */
static void rebuild_done(struct vs_mirror *m) {
        struct mtable old;
        size_t n = m->building.n;
        unsigned syncs;
        bool watched;

        table_pack(&m->building);
        pthread_rwlock_wrlock(&m->lock);
        old = m->table;
        m->table = m->building;
        m->synced = true;
        m->names_gen++;
        syncs = ++m->syncs;
        watched = m->sink != NULL;
        pthread_rwlock_unlock(&m->lock);
        if (watched && m->lost_ms)
                resync_diff(m, &old, &m->building);
        m->lost_ms = 0;
        m->building = (struct mtable) {};
        m->rebuilding = false;
        table_clear(&old);
        /*
         * The answer to version "" was the whole inventory, decoded in the
         * arena (tens of MB at 10,000 VMs), and is freed: with the table
         * packed apart, give that memory back now rather than keep it as the
         * daemon's resident set.
         */
        malloc_trim(0);
        log_debug("Inventory mirror of endpoint \"%s\" synchronised: %zu objects (synchronisation %u)",
                  m->ep->name, n, syncs);
}

/* ---- The thread ---------------------------------------------------------- */

/* Every VM's identity, host, power state and size; every host's and datastore's name; through the view. */
static int mirror_filter_spec(struct backend_session *s, struct vim25__PropertyFilterSpec *spec) {
        static const char *const vm_paths[] = {
                "name", "config.uuid", "runtime.host", "runtime.powerState", "config.hardware.numCPU",
                "config.hardware.memoryMB",
        };
        static const char *const name_paths[] = { "name" };
        static enum xsd__boolean yes = xsd__boolean__true_, no = xsd__boolean__false_;
        struct soap *soap = s->soap;
        struct vim25__TraversalSpec *ts = soap_malloc(soap, sizeof *ts);
        struct __vim25__SelectionSpecItem *sel = soap_malloc(soap, sizeof *sel);
        struct vim25__PropertySpec *ps = soap_malloc(soap, 3 * sizeof *ps);
        struct vim25__ObjectSpec *os = soap_malloc(soap, sizeof *os);

        if (!ts || !sel || !ps || !os)
                return -ENOMEM;
        *ts = (struct vim25__TraversalSpec) { .type = "ContainerView", .path = "view", .skip = &no };
        /* Polymorphic selectSet: gSOAP writes xsi:type="vim25:TraversalSpec" (notes P5). */
        *sel = (struct __vim25__SelectionSpecItem) { SOAP_TYPE_vim25__TraversalSpec, ts };
        *os = (struct vim25__ObjectSpec) {
                .obj = { .__item = s->view.value, .type = s->view.type },
                .skip = &yes, .__sizeselectSet = 1, .__selectSet = sel,
        };
        if (vs_prop_spec(soap, &ps[0], "VirtualMachine", vm_paths, ELEMENTSOF(vm_paths)) < 0 ||
            vs_prop_spec(soap, &ps[1], "HostSystem", name_paths, 1) < 0 ||
            vs_prop_spec(soap, &ps[2], "Datastore", name_paths, 1) < 0)
                return -ENOMEM;
        *spec = (struct vim25__PropertyFilterSpec) {
                .__sizepropSet = 3, .propSet = ps, .__sizeobjectSet = 1, .objectSet = os,
        };
        return 0;
}

/* A new filter, and a synchronisation from scratch behind it. */
static int mirror_start_filter(struct vs_mirror *m, struct op_error *err) {
        _cleanup_arena_ struct soap *arena = m->s->soap;
        struct vim25__PropertyFilterSpec *spec = soap_malloc(m->s->soap, sizeof *spec);
        int r;

        if (!spec || mirror_filter_spec(m->s, spec) < 0)
                return vs_oom(err);
        r = vs_filter_create_spec(m->s, MIRROR_OPID, spec, &m->filter, err);
        if (r < 0)
                return r;
        if (m->stale_filter) {
                /* Else vCenter would keep sending its updates too, for nobody. */
                vs_filter_destroy(m->s, MIRROR_OPID, m->stale_filter);
                free(m->stale_filter);
                m->stale_filter = NULL;
        }
        free(m->version);
        m->version = NULL;
        table_clear(&m->building);
        m->rebuilding = true;
        return 0;
}

/* One step: log in, make the filter, or wait for (and apply) one UpdateSet. */
static int mirror_step(struct vs_mirror *m, struct op_error *err) {
        bool truncated;
        int64_t heard;
        int r;

        if (!m->logged_in) {
                _cleanup_free_ char *who = NULL;

                r = vs_login(m->s, &who, err);
                if (r < 0)
                        return r;
                m->logged_in = true;
        }
        if (!m->filter) {
                r = mirror_start_filter(m, err);
                if (r < 0)
                        return r;
        }
        r = vs_wait_updates(m->s, MIRROR_OPID, m->filter, MIRROR_WAIT_SEC, &m->version, update_cb, m, &truncated,
                            err);
        heard = now_ms();
        if (r < 0) {
                /* What was applied before the failure stays applied: report it. */
                report_pending(m, false);
                return r;
        }
        /*
         * A truncated set is part of the answer (vCenter holds the rest back
         * for the next call with this version): not complete yet.
         */
        if (m->rebuilding && m->version && !truncated)
                rebuild_done(m);
        /* Everything vCenter had to say until its answer is applied: the start of the next change's window. */
        __atomic_store_n(&m->seen_ms, heard, __ATOMIC_RELAXED); /* read by vs_mirror_heard_ms() too */
        report_pending(m, false);
        return 0;
}

/*
 * After a failure the mirror is not trusted until it has synchronised again
 * from scratch: a new filter, version "".  A session vCenter no longer knows
 * (or whose view is gone) means a new Login too; after a transport failure
 * the session may well be alive, and CreateFilter will tell.
 */
static void mirror_lost(struct vs_mirror *m, int r, const struct op_error *err) {
        bool was_synced;

        pthread_rwlock_wrlock(&m->lock);
        was_synced = m->synced;
        m->synced = false;
        pthread_rwlock_unlock(&m->lock);
        /* The start of the window of whatever changes before the mirror is synchronised again. */
        if (was_synced && !m->lost_ms)
                m->lost_ms = m->seen_ms;

        if (r == -EKEYEXPIRED || r == -EREMOTEIO || r == -EPROTO || r == -EBADMSG)
                m->logged_in = false;
        /* A new session has none of the old filters; the same session still has it. */
        free(m->stale_filter);
        m->stale_filter = m->logged_in && m->filter ? m->filter : NULL;
        if (!m->stale_filter)
                free(m->filter);
        m->filter = NULL;
        table_clear(&m->building);
        m->rebuilding = false;
        if (was_synced)
                log_info("Inventory mirror of endpoint \"%s\" lost (%s: %s); resynchronising", m->ep->name,
                         err->fault, err->message);
        else
                log_debug("Inventory mirror of endpoint \"%s\": %s: %s", m->ep->name, err->fault, err->message);
}

static bool stopping(struct vs_mirror *m) {
        bool stop;

        pthread_mutex_lock(&m->stop_lock);
        stop = m->stop;
        pthread_mutex_unlock(&m->stop_lock);
        return stop;
}

/* ms from now on CLOCK_MONOTONIC, the clock of stop_cond. */
static struct timespec deadline_in(long ms) {
        struct timespec until;

        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += ms / 1000;
        until.tv_nsec += (ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
        }
        return until;
}

/* Sleep ms, or less when asked to stop or to flush. */
static void pause_ms(struct vs_mirror *m, long ms) {
        struct timespec until = deadline_in(ms);

        pthread_mutex_lock(&m->stop_lock);
        while (!m->stop && !m->flush && pthread_cond_timedwait(&m->stop_cond, &m->stop_lock, &until) == 0)
                ;
        pthread_mutex_unlock(&m->stop_lock);
}

/*
 * vs_watch_stop() asked: report what waits for an event now, while its sink
 * is still there, then let go of the sink: once acknowledged, this thread
 * calls it no more, and the watch's owner may free it.
 */
static void flush_if_asked(struct vs_mirror *m) {
        bool asked;

        pthread_mutex_lock(&m->stop_lock);
        asked = m->flush;
        pthread_mutex_unlock(&m->stop_lock);
        if (!asked)
                return;
        report_pending(m, true);
        pthread_rwlock_wrlock(&m->lock);
        m->sink = NULL;
        pthread_rwlock_unlock(&m->lock);
        pthread_mutex_lock(&m->stop_lock);
        m->flush = false;
        pthread_cond_broadcast(&m->stop_cond);
        pthread_mutex_unlock(&m->stop_lock);
}

static void mirror_logout(struct vs_mirror *m) {
        struct op_error err = {};

        if (m->logged_in && vs_logout(m->s, &err) < 0)
                log_debug("Inventory mirror of endpoint \"%s\": logout: %s", m->ep->name, err.message);
}

static void *mirror_thread(void *userdata) {
        struct vs_mirror *m = userdata;
        long backoff = 0;

        while (!stopping(m)) {
                struct op_error err = {};
                int r = mirror_step(m, &err);

                flush_if_asked(m);
                if (r >= 0) {
                        backoff = 0;
                        continue;
                }
                mirror_lost(m, r, &err);
                /* A lost session is logged in again at once; anything else waits, longer each time. */
                if (r == -EKEYEXPIRED && backoff == 0) {
                        backoff = MIRROR_BACKOFF_MIN_MS / 2;
                        continue;
                }
                backoff = backoff ? backoff * 2 : MIRROR_BACKOFF_MIN_MS;
                if (backoff > MIRROR_BACKOFF_MAX_MS)
                        backoff = MIRROR_BACKOFF_MAX_MS;
                pause_ms(m, backoff);
                flush_if_asked(m);
        }
        /* Unwatched by now (vs_watch_stop flushed first): nothing to report, only to free. */
        report_pending(m, true);
        mirror_logout(m);
        return NULL;
}

/* ---- The registry -------------------------------------------------------- */

static void mirror_free(struct vs_mirror *m) {
        if (!m)
                return;
        vs_session_free_raw(m->s);
        table_clear(&m->table);
        table_clear(&m->building);
        free(m->filter);
        free(m->stale_filter);
        free(m->version);
        free(m->pending);   /* empty: the thread reported all before it ended */
        pthread_rwlock_destroy(&m->lock);
        pthread_cond_destroy(&m->stop_cond);
        pthread_mutex_destroy(&m->stop_lock);
        free(m);
}

static int mirror_new(const struct endpoint_config *ep, struct vs_mirror **out) {
        struct vs_mirror *m = calloc(1, sizeof *m);
        pthread_condattr_t ca;
        struct op_error err = {};
        int r;

        if (!m)
                return -ENOMEM;
        m->ep = ep;
        m->names_gen = 1;
        pthread_mutex_init(&m->stop_lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&m->stop_cond, &ca);
        pthread_condattr_destroy(&ca);
        pthread_rwlock_init(&m->lock, NULL);
        r = vs_session_new_raw(ep, &m->s, &err);
        if (r < 0) {
                log_error("Inventory mirror of endpoint \"%s\": %s", ep->name, err.message);
                mirror_free(m);
                return r;
        }
        r = -pthread_create(&m->thread, NULL, mirror_thread, m);
        if (r < 0) {
                mirror_free(m);
                return r;
        }
        *out = m;
        return 0;
}

int64_t vs_mirror_heard_ms(const struct endpoint_config *ep) {
        struct vs_mirror *m;
        int64_t ms = 0;

        pthread_mutex_lock(&registry_lock);
        for (m = registry; m && m->ep != ep; m = m->next)
                ;
        if (m) {
                pthread_rwlock_rdlock(&m->lock);
                bool synced = m->synced;
                pthread_rwlock_unlock(&m->lock);
                ms = synced ? __atomic_load_n(&m->seen_ms, __ATOMIC_RELAXED) : 0;
        }
        pthread_mutex_unlock(&registry_lock);
        return ms;
}

int vs_mirror_get(const struct endpoint_config *ep, struct vs_mirror **out) {
        struct vs_mirror *m;
        int r = 0;

        pthread_mutex_lock(&registry_lock);
        for (m = registry; m && m->ep != ep; m = m->next)
                ;
        if (!m) {
                r = mirror_new(ep, &m);
                if (r >= 0) {
                        m->next = registry;
                        registry = m;
                }
        }
        if (r >= 0) {
                m->users++;
                *out = m;
        }
        pthread_mutex_unlock(&registry_lock);
        return r;
}

void vs_mirror_put(struct vs_mirror *m) {
        bool last;

        if (!m)
                return;
        pthread_mutex_lock(&registry_lock);
        last = --m->users == 0;
        if (last)
                for (struct vs_mirror **p = &registry; *p; p = &(*p)->next)
                        if (*p == m) {
                                *p = m->next;
                                break;
                        }
        pthread_mutex_unlock(&registry_lock);
        if (!last)
                return;

        pthread_mutex_lock(&m->stop_lock);
        m->stop = true;
        pthread_cond_broadcast(&m->stop_cond);
        pthread_mutex_unlock(&m->stop_lock);
        pthread_join(m->thread, NULL);
        mirror_free(m);
}

/* ---- Lookups ------------------------------------------------------------- */

/* The one VM called name in t (*count: how many are). */
static const struct mobj *table_vm_named(const struct mtable *t, const char *name, size_t *count) {
        const struct mobj *found = NULL;

        *count = 0;
        for (size_t i = 0; i < t->n_b; i++)
                for (const struct mobj *o = t->b[i]; o; o = o->next)
                        if (o->kind == MOBJ_VM && mobj_name(o) && strcmp(mobj_name(o), name) == 0) {
                                found = o;
                                (*count)++;
                        }
        return found;
}

static int vm_copy_out(const struct mobj *o, char **id, char **host) {
        *id = strdup(o->id);
        *host = mobj_host(o) ? strdup(mobj_host(o)) : NULL;
        if (!*id || (mobj_host(o) && !*host)) {
                free(*id);
                free(*host);
                *id = *host = NULL;
                return -ENOMEM;
        }
        return 0;
}

int vs_mirror_vm_id(struct vs_mirror *m, const char *name, char **id, char **host, size_t *count) {
        int r = -EAGAIN;

        *count = 0;
        if (!m || !name)
                return -EAGAIN;
        pthread_rwlock_rdlock(&m->lock);
        if (m->synced) {
                const struct mobj *found = table_vm_named(&m->table, name, count);

                r = *count > 1 ? -ENOTUNIQ : *count == 0 ? -ENOENT : vm_copy_out(found, id, host);
        }
        pthread_rwlock_unlock(&m->lock);
        return r;
}

static int names_push(struct vs_name **v, size_t *n, const struct mobj *o) {
        struct vs_name *a = reallocarray(*v, *n + 1, sizeof *a);

        if (!a)
                return -ENOMEM;
        *v = a;
        a[*n] = (struct vs_name) { .id = strdup(o->id), .name = o->name ? strdup(o->name) : NULL };
        if (!a[*n].id || (o->name && !a[*n].name)) {
                free(a[*n].id);
                free(a[*n].name);
                return -ENOMEM;
        }
        (*n)++;
        return 0;
}

static int names_copy_locked(const struct vs_mirror *m, struct backend_session *s) {
        for (size_t i = 0; i < m->table.n_b; i++)
                for (const struct mobj *o = m->table.b[i]; o; o = o->next) {
                        int r = 0;

                        if (o->kind == MOBJ_HOST)
                                r = names_push(&s->hosts, &s->n_hosts, o);
                        else if (o->kind == MOBJ_DATASTORE)
                                r = names_push(&s->datastores, &s->n_datastores, o);
                        if (r < 0)
                                return r;
                }
        return 0;
}

int vs_mirror_names_into(struct vs_mirror *m, struct backend_session *s) {
        int r = 0;

        if (!m)
                return -EAGAIN;
        pthread_rwlock_rdlock(&m->lock);
        if (!m->synced)
                r = -EAGAIN;
        else if (s->names_gen != m->names_gen) {
                /* The scan's VM names stay: they are the scan path's name cache. */
                struct vs_name *vms = TAKE_PTR(s->vms);
                size_t n_vms = s->n_vms;

                s->n_vms = 0;
                vs_session_names_clear(s);
                s->vms = vms;
                s->n_vms = n_vms;
                r = names_copy_locked(m, s);
                s->names_gen = r < 0 ? 0 : m->names_gen;
        }
        pthread_rwlock_unlock(&m->lock);
        return r;
}

unsigned vs_mirror_syncs(struct vs_mirror *m) {
        unsigned n;

        if (!m)
                return 0;
        pthread_rwlock_rdlock(&m->lock);
        n = m->syncs;
        pthread_rwlock_unlock(&m->lock);
        return n;
}

/*
 * What our own read-back just showed of VM id (its name and host now, or NULL: gone),
 * ahead of vCenter's update: without it, a name this daemon gave a second VM
 * a moment ago would look unique to the next lookup, which would then act
 * on the first VM instead of refusing the name as ambiguous.  vCenter's own
 * update, when it comes, replaces it (struct mobj's "noted").  Changes by
 * other clients still take the mirror's lag to arrive.
 */
void vs_mirror_note_vm(struct vs_mirror *m, const char *id, const char *name, const char *host) {
        struct mobj *o;

        if (!m || !id)
                return;
        pthread_rwlock_wrlock(&m->lock);
        o = table_find(&m->table, id);
        if (!o)
                o = table_add(&m->table, MOBJ_VM, id);
        if (o) {
                o->noted = true;
                /* Out of memory: better no entry than a wrong one (a lookup then scans). */
                if (set_string(&m->table, &o->noted_name, name) < 0 || set_string(&m->table, &o->noted_host, host) < 0)
                        table_remove(&m->table, id);
        }
        pthread_rwlock_unlock(&m->lock);
}

/* ---- The watch: the mirror reports what other clients change ------------------ */

struct backend_watch {
        struct vs_mirror *m;
};

int vs_watch_start(const struct endpoint_config *ep, unsigned interval_sec _unused_, const struct watch_sink *sink,
                   struct backend_watch **out, struct op_error *err) {
        struct backend_watch *w = calloc(1, sizeof *w);
        int r = w ? vs_mirror_get(ep, &w->m) : -ENOMEM;

        if (r < 0) {
                free(w);
                op_error_set(err, "InternalError", "the endpoint's inventory mirror cannot be started: %s", strerror(-r));
                return r;
        }
        /*
         * vCenter pushes every change (WaitForUpdatesEx), so there is nothing
         * to reconcile: interval_sec is not needed here.  Changes are
         * reported once the mirror has synchronised; a resynchronisation
         * reports what differs from the mirror before the loss (rebuild_done).
         */
        pthread_rwlock_wrlock(&w->m->lock);
        w->m->sink = sink;
        pthread_rwlock_unlock(&w->m->lock);
        *out = w;
        return 0;
}

/*
 * Have the thread report the changes that still wait for an event and let
 * go of the sink; wait for it, as long as a WaitForUpdatesEx in flight and
 * a few event queries take (vs_mirror_put waits as long for the thread).
 */
static void mirror_flush(struct vs_mirror *m) {
        struct timespec until = deadline_in(1000L * (MIRROR_WAIT_SEC + 3));

        pthread_mutex_lock(&m->stop_lock);
        m->flush = true;
        pthread_cond_broadcast(&m->stop_cond);
        while (m->flush && pthread_cond_timedwait(&m->stop_cond, &m->stop_lock, &until) == 0)
                ;
        m->flush = false;
        pthread_mutex_unlock(&m->stop_lock);
}

void vs_watch_stop(struct backend_watch *w) {
        if (!w)
                return;
        mirror_flush(w->m);
        pthread_rwlock_wrlock(&w->m->lock);
        w->m->sink = NULL;
        pthread_rwlock_unlock(&w->m->lock);
        vs_mirror_put(w->m);
        free(w);
}
