/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Changes made behind vmtraced's back.  Each endpoint whose backend can be
 * watched (backend_ops.watch_start) and whose "watch =" is on reports every
 * change it sees; this module decides whether a vmtraced operation explains
 * it and, when none does, writes an out-of-band row into the same trail and
 * chain: the kind, the values before and after as watched, result OK, the
 * window in which it happened, and who only when the platform says.
 *
 * "Explained" means: an operation of the same trail name on the same VM of
 * the same endpoint was in flight during the window, or ended in it with
 * the very value the watcher now sees.  A revert, a destroy or a migration
 * explains any change to its VM in its window, a power operation any power
 * state, vCPU or memory change (changes_power); a clone explains the VM it
 * made (CreateVM), and a migration the VM leaving one endpoint and
 * arriving at another.  Operations note their start and end here
 * (watch_note_begin/end); notes are kept for a while, then dropped.
 *
 * Locking: the notes are guarded by set->lock; the watchers call in from
 * their own threads, operations from the pool's workers.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "config.h"
#include "log.h"
#include "macros.h"
#include "record.h"
#include "util.h"
#include "value.h"
#include "watch.h"

/* Notes older than this (after their end) explain nothing more: twice the longest reconciliation, and a minute. */
#define NOTE_KEEP_MS(interval) (2000LL * (interval) + 60000LL)
#define NOTES_MAX 4096

struct note {
        char *endpoint, *vm_id, *operation, *after;
        int64_t start_ms, end_ms;      /* end 0: in flight */
};

struct watch_one {
        const struct endpoint_config *ep;
        struct backend_watch *w;
};

struct watch_set {
        struct audit *audit;
        const struct config *config;
        struct watch_sink sink;
        struct watch_one *watches;
        size_t n_watches;
        pthread_mutex_t lock;
        struct note notes[NOTES_MAX];
        size_t n_notes;
};

static bool same(const char *a, const char *b) {
        return a && b && strcmp(a, b) == 0;
}

static void note_clear(struct note *n) {
        free(n->endpoint);
        free(n->vm_id);
        free(n->operation);
        free(n->after);
        *n = (struct note) {};
}

/* Drop the notes that can explain nothing any more; lock held. */
static void notes_expire(struct watch_set *set, int64_t now) {
        size_t k = 0;

        for (size_t i = 0; i < set->n_notes; i++) {
                struct note *n = &set->notes[i];

                if (n->end_ms && now - n->end_ms > NOTE_KEEP_MS(set->config->watch_interval)) {
                        note_clear(n);
                        continue;
                }
                set->notes[k++] = *n;
        }
        set->n_notes = k;
}

void watch_note_begin(struct watch_set *set, const char *endpoint, const char *vm_id, const char *operation,
                      int64_t start_ms) {
        struct note n = { .start_ms = start_ms };

        if (!set || !vm_id)
                return;
        n.endpoint = strdup(strempty(endpoint));
        n.vm_id = strdup(vm_id);
        n.operation = strdup(strempty(operation));
        pthread_mutex_lock(&set->lock);
        notes_expire(set, start_ms);
        if (n.endpoint && n.vm_id && n.operation && set->n_notes < NOTES_MAX)
                set->notes[set->n_notes++] = n;
        else {
                /* No room: an operation may then show as out-of-band too; say so rather than hide it. */
                log_warning("Watch: cannot note trail operation %s on %s; a change it makes may be recorded twice.",
                            strempty(operation), vm_id);
                note_clear(&n);
        }
        pthread_mutex_unlock(&set->lock);
}

void watch_note_end(struct watch_set *set, const char *endpoint, const char *vm_id, const char *operation,
                    const char *after, int64_t end_ms) {
        if (!set || !vm_id)
                return;
        pthread_mutex_lock(&set->lock);
        for (size_t i = set->n_notes; i-- > 0;) {
                struct note *n = &set->notes[i];

                if (n->end_ms || !same(n->endpoint, endpoint) || !same(n->vm_id, vm_id) || !same(n->operation, operation))
                        continue;
                n->end_ms = end_ms > 0 ? end_ms : 1;
                n->after = after ? strdup(after) : NULL;
                break;
        }
        pthread_mutex_unlock(&set->lock);
}

/*
 * A power operation passes through other states (QEMU starts a domain
 * paused, a snapshot with memory pauses the guest), and what a platform
 * shows as the vCPUs and memory switches between the live and the
 * persistent values when a VM starts or stops: such changes of its VM in
 * its window are its own; so is a reset, whose REBOOT event may reach the
 * watcher after the operation has ended.  Seen in tools/demo: a StartVM
 * showed as an out-of-band SuspendVM, and a StopVM as an out-of-band
 * ModifyMemory to the size an earlier ModifyMemory had set for the next
 * boot; in kvm.test, now and then, a ResetVM as an out-of-band one.
 */
static bool one_of(const char *operation, const char *const *ops, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (same(operation, ops[i]))
                        return true;
        return false;
}

/* Operations that change more than their own value: any change to their VM in their window is theirs. */
static bool changes_much(const char *operation) {
        static const char *const ops[] = { "SnapshotRevert", "DestroyVM", "MigrateVM" };

        return one_of(operation, ops, ELEMENTSOF(ops));
}

static bool changes_power(const char *operation) {
        static const char *const ops[] = { "StartVM", "StopVM", "ResetVM", "SuspendVM", "SnapshotCreate" };

        return one_of(operation, ops, ELEMENTSOF(ops));
}

/* The changes a power operation explains: as watchers name them. */
static bool power_or_size(const char *operation) {
        static const char *const ops[] = { "StartVM", "StopVM", "SuspendVM", "ResetVM", "ModifyCPU", "ModifyMemory" };

        return one_of(operation, ops, ELEMENTSOF(ops));
}

/*
 * Was note n under way, or did it end, in change c's window?  The platform
 * reports a change late (vcsim collects every 250 ms, vCenter may take
 * seconds): the answer that opened the window may not show an operation
 * that had just ended, so one that ended up to WATCH_LAG_MS before it
 * opened may still be the one the change shows.
 */
#define WATCH_LAG_MS 5000
static bool in_window_lag(const struct note *n, const struct watch_change *c, int64_t lag_ms) {
        if (n->start_ms > c->seen_changed_ms)
                return false;
        return !n->end_ms || n->end_ms >= c->seen_unchanged_ms - lag_ms;
}

static bool in_window(const struct note *n, const struct watch_change *c) {
        return in_window_lag(n, c, WATCH_LAG_MS);
}

/* A VM that appeared: a clone's new VM (its id in the clone's after), or one migrated in. */
static bool explains_new_vm(const struct note *n, const struct endpoint_config *ep, const struct watch_change *c) {
        char id[256];

        if (same(n->operation, "MigrateVM"))
                return same(n->vm_id, c->target->id);   /* the id (libvirt's UUID) travels with it */
        if (!same(n->operation, "CloneVM") || !same(n->endpoint, ep->name))
                return false;
        /* In flight, the new VM's id is not known yet: any new VM on the endpoint may be the clone. */
        snprintf(id, sizeof id, "id=%s;", strempty(c->target->id));
        return !n->end_ms || (n->after && strstr(n->after, id));
}

/* Note n, on the VM of change c and in its window: is c its doing? */
static bool explains_on_its_vm(const struct note *n, const struct watch_change *c, const char *operation,
                               const char *after) {
        if (changes_much(n->operation))
                return true;
        /* Without the lag: another client's power change just after ours is not ours. */
        if (changes_power(n->operation) && power_or_size(operation) && in_window_lag(n, c, 0))
                return true;
        if (!same(n->operation, operation))
                return false;
        /* In flight, its own row will say; ended, only the very value it left explains the change. */
        return !n->end_ms || same(n->after, after) || (!n->after && !after);
}

static bool explains(const struct note *n, const struct endpoint_config *ep, const struct watch_change *c,
                     const char *operation, const char *after) {
        if (!in_window(n, c))
                return false;
        if (same(operation, "CreateVM") && explains_new_vm(n, ep, c))
                return true;
        if (same(operation, "DestroyVM") && same(n->operation, "MigrateVM") && same(n->vm_id, c->target->id))
                return true;
        if (!same(n->endpoint, ep->name) || !same(n->vm_id, c->target->id))
                return false;
        return explains_on_its_vm(n, c, operation, after);
}

/* Does a vmtraced operation account for change c (after text "after")? */
static bool explained(struct watch_set *set, const struct endpoint_config *ep, const struct watch_change *c,
                      const char *operation, const char *after) {
        bool found = false;

        pthread_mutex_lock(&set->lock);
        for (size_t i = 0; i < set->n_notes && !found; i++)
                found = explains(&set->notes[i], ep, c, operation, after);
        pthread_mutex_unlock(&set->lock);
        return found;
}

static void out_of_band_message(const struct watch_change *c, char *buf, size_t len) {
        snprintf(buf, len, "changed outside vmtraced, seen by watching the platform; who: %s%s%s%s%s",
                 c->platform_user ? c->platform_user : "not known (the platform does not say)",
                 c->platform_event ? "; platform record: " : "", strempty(c->platform_event),
                 c->detail ? "; " : "", strempty(c->detail));
}

/* The out-of-band row, whole: nothing was sent, so there is no PENDING phase. */
static void write_row(struct watch_set *set, const struct endpoint_config *ep, const struct watch_change *c,
                      const char *operation, const char *before, const char *after) {
        struct audit_record rec = { .operation = operation, .uid = (uid_t) -1, .gid = (gid_t) -1, .pid = -1, .login_uid = -1,
                                    .session_id = -1 };
        char msg[1024];

        rec.start_ms = c->seen_unchanged_ms;
        rec.end_ms = c->seen_changed_ms;
        record_set_endpoint(&rec, ep);
        record_set_target(&rec, c->target, c->target->name);
        record_set_platform_user(&rec, c->platform_user);
        record_set_out_of_band(&rec, c->seen_unchanged_ms, c->seen_changed_ms);
        rec.before = before;
        rec.after = after;
        rec.task = c->platform_event;
        out_of_band_message(c, msg, sizeof msg);
        record_set_result(&rec, AUDIT_RESULT_OK, NULL, msg);
        if (audit_insert(set->audit, &rec) < 0)
                log_error("Out-of-band %s of %s on %s could not be written to the trail.", operation,
                          strempty(c->target->name), ep->name);
        else
                log_notice("Out-of-band change on %s: %s of %s, %s -> %s (trail #%" PRId64 ").", ep->name, operation,
                           strempty(c->target->name), strempty(before), strempty(after), rec.id);
}

/* c's trail name and its values as text: 0, or -ENOMEM (logged). */
static int change_text(const struct watch_change *c, const char **operation, char **before, char **after) {
        *operation = c->operation ? c->operation : op_kind_trail_name(c->kind);
        if (!c->target || value_format(c->kind, c->before, before) < 0 || value_format(c->kind, c->after, after) < 0)
                return log_oom();
        return 0;
}

static bool on_explained(void *userdata, const struct endpoint_config *ep, const struct watch_change *c) {
        const char *operation;
        _cleanup_free_ char *before = NULL, *after = NULL;

        /* Not known to be explained: the watcher looks further, and on_change decides again. */
        if (change_text(c, &operation, &before, &after) < 0)
                return false;
        return explained(userdata, ep, c, operation, after);
}

static void on_change(void *userdata, const struct endpoint_config *ep, const struct watch_change *c) {
        struct watch_set *set = userdata;
        const char *operation;
        _cleanup_free_ char *before = NULL, *after = NULL;

        if (change_text(c, &operation, &before, &after) < 0 || explained(set, ep, c, operation, after))
                return;
        write_row(set, ep, c, operation, before, after);
}

static void start_one(struct watch_set *set, const struct endpoint_config *ep) {
        struct op_error err = {};
        struct watch_one *one = &set->watches[set->n_watches];

        if (!ep->watch || !ep->backend->watch_start)
                return;
        int r = ep->backend->watch_start(ep, set->config->watch_interval, &set->sink, &one->w, &err);
        if (r < 0) {
                /* Operations go on without it; the status and the log say the endpoint is not watched. */
                log_error("Endpoint \"%s\" cannot be watched for out-of-band changes: %s: %s", ep->name, err.fault,
                          err.message);
                return;
        }
        one->ep = ep;
        set->n_watches++;
        log_info("Watching endpoint \"%s\" for changes made outside vmtraced.", ep->name);
}

int watch_set_new(const struct config *c, struct audit *audit, struct watch_set **out) {
        struct watch_set *set = calloc(1, sizeof *set);

        if (!set || !(set->watches = calloc(c->n_endpoints + 1, sizeof *set->watches))) {
                free(set);
                return log_oom();
        }
        set->audit = audit;
        set->config = c;
        set->sink = (struct watch_sink) { .userdata = set, .changed = on_change, .explained = on_explained };
        pthread_mutex_init(&set->lock, NULL);
        for (const struct endpoint_config *ep = c->endpoints; ep; ep = ep->next)
                start_one(set, ep);
        *out = set;
        return 0;
}

void watch_set_free(struct watch_set *set) {
        if (!set)
                return;
        /* Stopped first: no watcher calls in once the notes go. */
        for (size_t i = 0; i < set->n_watches; i++)
                set->watches[i].ep->backend->watch_stop(set->watches[i].w);
        for (size_t i = 0; i < set->n_notes; i++)
                note_clear(&set->notes[i]);
        pthread_mutex_destroy(&set->lock);
        free(set->watches);
        free(set);
}

bool watch_set_watches(const struct watch_set *set, const struct endpoint_config *ep) {
        for (size_t i = 0; set && i < set->n_watches; i++)
                if (set->watches[i].ep == ep)
                        return true;
        return false;
}
