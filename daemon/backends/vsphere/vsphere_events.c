/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Who made a change the inventory mirror saw: vCenter's own event history.
 *
 * The mirror's property updates say what changed and when, but not who;
 * vCenter's events say who (userName) and what was asked (a reconfiguration's
 * configSpec), but not the value before.  For one change of one VM this asks
 * EventManager.QueryEvents for the event types that change can come from, on
 * that VM alone, and takes the newest one that
 *   - shows the very value now seen (numCPUs, memoryMB or the new name; a
 *     power change, a creation or a removal shows itself by its type);
 *   - was created in the change's window, give or take VS_EVENT_SKEW_MS of
 *     clock difference between vCenter and this host (vcsim ignores the
 *     filter's time, so the window is checked here too);
 *   - has not already been used for another change (the caller's keys).
 * No such event is not an error: the row then says who is not known.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "config.h"
#include "macros.h"
#include "util.h"
#include "vsphere_internal.h"

#define VS_EVENTS_OPID "vmtraced-events"
#define VS_EVENT_SKEW_MS 5000
#define VS_EVENTS_MAX 20
#define VS_EVENT_TEXT_MAX 240

struct event_kind {
        int type;                  /* SOAP_TYPE_vim25__... */
        const char *name;
};

#define EV(t) { SOAP_TYPE_vim25__##t, #t }
static const struct event_kind reconfigured[] = { EV(VmReconfiguredEvent) };
static const struct event_kind renamed[] = { EV(VmRenamedEvent), EV(VmReconfiguredEvent) };
static const struct event_kind powered_on[] = { EV(VmPoweredOnEvent) };
static const struct event_kind powered_off[] = { EV(VmPoweredOffEvent) };
static const struct event_kind suspended[] = { EV(VmSuspendedEvent) };
static const struct event_kind removed[] = { EV(VmRemovedEvent) };
static const struct event_kind created[] = {
        EV(VmClonedEvent), EV(VmCreatedEvent), EV(VmDeployedEvent), EV(VmRegisteredEvent), EV(VmDiscoveredEvent),
};
#undef EV

/* The event types a change of kind can come from; NULL: none that says more. */
static const struct event_kind *kinds_for(enum op_kind kind, size_t *n) {
#define K(a) (*n = ELEMENTSOF(a), a)
        switch (kind) {
        case OP_CPU:
        case OP_MEMORY:
                return K(reconfigured);
        case OP_RENAME:
                return K(renamed);
        case OP_START:
                return K(powered_on);
        case OP_STOP:
                return K(powered_off);
        case OP_SUSPEND:
                return K(suspended);
        case OP_DESTROY:
                return K(removed);
        case OP_CLONE:
                return K(created);
        default:
                *n = 0;
                return NULL;
        }
#undef K
}

static const char *kind_name(const struct event_kind *k, size_t n, int type) {
        for (size_t i = 0; i < n; i++)
                if (k[i].type == type)
                        return k[i].name;
        return NULL;
}

/* Does event e, of type name, ask for the value after shows? */
static bool shows(const struct vim25__VmEvent *e, const char *name, enum op_kind kind, const struct op_value *after) {
        const struct vim25__VirtualMachineConfigSpec *cs = e->configSpec;

        if (strcmp(name, "VmRenamedEvent") == 0)
                return e->newName && after->name && strcmp(e->newName, after->name) == 0;
        if (strcmp(name, "VmReconfiguredEvent") != 0)
                return true;
        if (!cs)
                return false;
        if (kind == OP_CPU)
                return cs->numCPUs && *cs->numCPUs == after->cpus;
        if (kind == OP_MEMORY)
                return cs->memoryMB && *cs->memoryMB == after->memory_mib;
        return cs->name && after->name && strcmp(cs->name, after->name) == 0;
}

static bool in_window(const struct vim25__VmEvent *e, int64_t from_ms, int64_t to_ms) {
        int64_t at = (int64_t) e->createdTime * 1000;

        /* createdTime has whole seconds: the second it falls in may start before from_ms. */
        return at + 1000 >= from_ms - VS_EVENT_SKEW_MS && at <= to_ms + VS_EVENT_SKEW_MS;
}

static bool used(const struct vs_event_keys *keys, int key) {
        for (size_t i = 0; i < ELEMENTSOF(keys->key); i++)
                if (keys->key[i] == key)
                        return true;
        return false;
}

static void use(struct vs_event_keys *keys, int key) {
        keys->key[keys->next++ % ELEMENTSOF(keys->key)] = key;
}

/* What vCenter said was asked: the configSpec's members, the names, or its own sentence. */
static void describe(const struct vim25__VmEvent *e, const char *name, char *buf, size_t len) {
        const struct vim25__VirtualMachineConfigSpec *cs = e->configSpec;
        const struct vim25__ChangesInfoEventArgument *ch = e->configChanges;
        int n = 0;

        if (strcmp(name, "VmRenamedEvent") == 0)
                n = snprintf(buf, len, "renamed from \"%s\" to \"%s\"", strempty(e->oldName), strempty(e->newName));
        else if (cs) {
                n = snprintf(buf, len, "configSpec:");
                if (cs->name)
                        n += snprintf(buf + n, len - n, " name=\"%s\"", cs->name);
                if (cs->numCPUs && n < (int) len)
                        n += snprintf(buf + n, len - n, " numCPUs=%d", *cs->numCPUs);
                if (cs->memoryMB && n < (int) len)
                        n += snprintf(buf + n, len - n, " memoryMB=%lld", (long long) *cs->memoryMB);
                if (cs->__sizedeviceChange > 0 && n < (int) len)
                        n += snprintf(buf + n, len - n, " deviceChange=%d", cs->__sizedeviceChange);
                if (ch && ch->modified && *ch->modified && n < (int) len)
                        snprintf(buf + n, len - n, "; modified: %.*s", VS_EVENT_TEXT_MAX, ch->modified);
        } else
                snprintf(buf, len, "%.*s", VS_EVENT_TEXT_MAX, strempty(e->fullFormattedMessage));
}

static int found_set(struct vs_event_found *out, const struct vim25__VmEvent *e, const char *name) {
        char record[128], detail[VS_EVENT_TEXT_MAX * 2];

        snprintf(record, sizeof record, "%s %d (chain %d)", name, e->key, e->chainId);
        describe(e, name, detail, sizeof detail);
        *out = (struct vs_event_found) { .key = e->key };
        /* An event without a user (vCenter's own doing) leaves who not known. */
        if ((e->userName && *e->userName && !(out->user = strdup(e->userName))) || !(out->record = strdup(record)) ||
            !(out->detail = strdup(detail))) {
                vs_event_found_clear(out);
                return -ENOMEM;
        }
        return 1;
}

static int query(struct backend_session *s, const char *vm_id, const struct event_kind *k, size_t n_k,
                 int64_t from_ms, struct _vim25__QueryEventsResponse *rs, struct op_error *err) {
        char **types = soap_malloc(s->soap, n_k * sizeof *types);
        struct vim25__EventFilterSpecByEntity *by = soap_malloc(s->soap, sizeof *by);
        struct vim25__EventFilterSpecByTime *when = soap_malloc(s->soap, sizeof *when);
        time_t *begin = soap_malloc(s->soap, sizeof *begin);
        int *max = soap_malloc(s->soap, sizeof *max);
        struct _vim25__QueryEvents rq = { ._USCOREthis = vs_mor(s->soap, s->event_manager.type, s->event_manager.value) };

        if (!types || !by || !when || !begin || !max || !rq._USCOREthis)
                return vs_oom(err);
        for (size_t i = 0; i < n_k; i++)
                types[i] = (char *) k[i].name;
        *by = (struct vim25__EventFilterSpecByEntity) { .entity = { .__item = (char *) vm_id, .type = "VirtualMachine" },
                                                        .recursion = "self" };
        *begin = (time_t) ((from_ms - VS_EVENT_SKEW_MS) / 1000 - 1);
        *when = (struct vim25__EventFilterSpecByTime) { .beginTime = begin };
        *max = VS_EVENTS_MAX;
        rq.filter = (struct vim25__EventFilterSpec) { .entity = by, .time = when, .__sizeeventTypeId = (int) n_k,
                                                      .eventTypeId = types, .maxCount = max };
        return VS_CALL(s, QueryEvents, VS_EVENTS_OPID, &rq, rs, err);
}

int vs_event_find(struct backend_session *s, const char *vm_id, enum op_kind kind, const struct op_value *after,
                  int64_t from_ms, int64_t to_ms, struct vs_event_keys *keys, struct vs_event_found *out,
                  struct op_error *err) {
        _cleanup_arena_ struct soap *arena = s->soap;
        struct _vim25__QueryEventsResponse rs = {};
        size_t n_k;
        const struct event_kind *k = kinds_for(kind, &n_k);
        int r;

        *out = (struct vs_event_found) {};
        if (!k || !vm_id || !s->event_manager.value)
                return 0;
        r = query(s, vm_id, k, n_k, from_ms, &rs, err);
        if (r < 0)
                return r;
        /* Newest first: the first that fits is the one. */
        for (int i = 0; i < rs.__sizereturnval; i++) {
                const struct vim25__VmEvent *e = rs.__returnval[i].returnval;
                const char *name = kind_name(k, n_k, rs.__returnval[i].__typereturnval);

                if (!e || !name || !in_window(e, from_ms, to_ms) || used(keys, e->key) || !shows(e, name, kind, after))
                        continue;
                use(keys, e->key);
                return found_set(out, e, name);
        }
        return 0;
}

void vs_event_found_clear(struct vs_event_found *f) {
        free(f->user);
        free(f->record);
        free(f->detail);
        *f = (struct vs_event_found) {};
}
