/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for daemon/backends/libvirt/libvirt_drivers.c: which libvirt
 * driver a connection URI names, and which operations each driver can
 * perform at all.  The Xen rows are the ones libvirt 9.0's
 * libxlHypervisorDriver (src/libxl/libxl_driver.c) dictates; the QEMU, test
 * and other rows are policy (everything, the platform answers itself).
 * Whatever the row, a reason is given exactly when an operation is refused,
 * so no NotSupported row can go without a message.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "backends/libvirt/libvirt_drivers.h"
#include "macros.h"
#include "tap.h"

static const struct uri_case {
        const char *uri;
        enum lv_driver want;
} uri_cases[] = {
        { "qemu:///system", LV_DRIVER_QEMU },
        { "qemu+ssh://host/system", LV_DRIVER_QEMU },
        { "qemu+unix:///session?socket=/x", LV_DRIVER_QEMU },
        { "xen:///system", LV_DRIVER_XEN },
        { "libxl:///", LV_DRIVER_XEN },
        { "test:///default", LV_DRIVER_TEST },
        { "test+unix:///default?socket=/x", LV_DRIVER_TEST },
        { NULL, LV_DRIVER_OTHER },
        { "", LV_DRIVER_OTHER },
        { "vbox:///session", LV_DRIVER_OTHER },
        /* A scheme is matched whole and exactly, as libvirt matches it. */
        { "qemux:///system", LV_DRIVER_OTHER },
        { "qem:///system", LV_DRIVER_OTHER },
        { "QEMU:///system", LV_DRIVER_OTHER },
        { "kvm:///system", LV_DRIVER_OTHER },
        { "xen+ssh://dom0/system", LV_DRIVER_XEN },
        /* No ':' is no URI (perhaps a libvirt.conf alias): no driver we can know. */
        { "qemu", LV_DRIVER_OTHER },
        { "test+unix", LV_DRIVER_OTHER },
        { "+ssh://host/system", LV_DRIVER_OTHER },
        { ":///", LV_DRIVER_OTHER },
};

static const char *const want_names[] = {
        [LV_DRIVER_QEMU] = "qemu",
        [LV_DRIVER_XEN] = "xen",
        [LV_DRIVER_TEST] = "test",
        [LV_DRIVER_OTHER] = "other",
};

/*
 * The Xen row, kind by kind: NULL where libxl implements the entry point,
 * else the libvirt call the refusal must name.
 */
static const char *const xen_missing[_OP_MAX] = {
        [OP_RENAME] = "virDomainRename",
        [OP_CPU] = NULL,              /* domainSetVcpusFlags */
        [OP_MEMORY] = NULL,           /* domainSetMemoryFlags */
        [OP_DISK_GROW] = NULL,        /* stopped: virStorageVolResize (storage driver) */
        [OP_DISK_ADD] = NULL,         /* domainAttachDeviceFlags */
        [OP_START] = NULL,            /* domainCreate */
        [OP_STOP] = NULL,             /* domainDestroy */
        [OP_STOP_GUEST] = NULL,       /* domainShutdown */
        [OP_RESET] = "virDomainReset",
        [OP_SUSPEND] = NULL,          /* domainManagedSave */
        [OP_CLONE] = NULL,            /* domainGetXMLDesc, domainDefineXML */
        [OP_MIGRATE] = NULL,          /* domainMigrate*3Params */
        [OP_SNAPSHOT_CREATE] = "virDomainSnapshotCreateXML",
        [OP_SNAPSHOT_REVERT] = "virDomainRevertToSnapshot",
        [OP_SNAPSHOT_REMOVE] = "virDomainSnapshotDelete",
        [OP_DESTROY] = NULL,          /* domainDestroy, domainUndefineFlags */
};

static const enum lv_driver all_drivers[] = { LV_DRIVER_QEMU, LV_DRIVER_XEN, LV_DRIVER_TEST, LV_DRIVER_OTHER };

static void check_uris(void) {
        for (size_t i = 0; i < ELEMENTSOF(uri_cases); i++) {
                const struct uri_case *c = &uri_cases[i];
                enum lv_driver got = lv_driver_of_uri(c->uri);

                if (!tap_ok(got == c->want, "uri %s%s%s -> %s", c->uri ? "\"" : "", c->uri ? c->uri : "NULL",
                            c->uri ? "\"" : "", want_names[c->want]))
                        tap_diag("got %s", lv_driver_name(got));
        }
}

static void check_names(void) {
        for (size_t i = 0; i < ELEMENTSOF(all_drivers); i++)
                tap_ok(strcmp(lv_driver_name(all_drivers[i]), want_names[all_drivers[i]]) == 0, "name of %s",
                       want_names[all_drivers[i]]);
        tap_ok(strcmp(lv_driver_name((enum lv_driver) 42), "other") == 0, "name of a driver out of range: other");
}

static bool check_xen_kind(enum op_kind k) {
        const char *why = lv_driver_why_not(LV_DRIVER_XEN, k);

        if (!xen_missing[k])
                return lv_driver_supports(LV_DRIVER_XEN, k) || tap_diag("refused: %s", why ? why : "(null)");
        if (lv_driver_supports(LV_DRIVER_XEN, k))
                return tap_diag("supported, but libxl has no %s", xen_missing[k]);
        /* The message is the row's only explanation: it must name the driver and the call. */
        return (why && strstr(why, "libxl (Xen)") && strstr(why, xen_missing[k])) ||
               tap_diag("message: %s", why ? why : "(null)");
}

static void check_xen(void) {
        for (int k = 0; k < _OP_MAX; k++)
                tap_ok(check_xen_kind(k), "xen %s (kind %d): %s", op_kind_trail_name(k), k,
                       xen_missing[k] ? xen_missing[k] : "supported");
}

/* QEMU has every entry point; test and other are left to answer for themselves. */
static void check_everything_supported(void) {
        static const enum lv_driver open_rows[] = { LV_DRIVER_QEMU, LV_DRIVER_TEST, LV_DRIVER_OTHER };

        for (size_t i = 0; i < ELEMENTSOF(open_rows); i++) {
                int refused = -1;

                for (int k = 0; k < _OP_MAX && refused < 0; k++)
                        if (!lv_driver_supports(open_rows[i], k))
                                refused = k;
                if (!tap_ok(refused < 0, "%s supports every kind", want_names[open_rows[i]]))
                        tap_diag("refuses kind %d: %s", refused, lv_driver_why_not(open_rows[i], refused));
        }
}

/* A reason exactly when refused, for every driver (one out of range too) and kind. */
static void check_why_not_iff_refused(void) {
        static const enum lv_driver drivers[] = { LV_DRIVER_QEMU, LV_DRIVER_XEN, LV_DRIVER_TEST, LV_DRIVER_OTHER,
                                                  (enum lv_driver) 42 };

        for (size_t i = 0; i < ELEMENTSOF(drivers); i++) {
                int bad = -1;

                for (int k = 0; k < _OP_MAX && bad < 0; k++)
                        if (lv_driver_supports(drivers[i], k) != (lv_driver_why_not(drivers[i], k) == NULL))
                                bad = k;
                if (!tap_ok(bad < 0, "driver %d: why_not is NULL exactly when supported", (int) drivers[i]))
                        tap_diag("differ at kind %d", bad);
        }
}

static void check_kind_out_of_range(void) {
        for (size_t i = 0; i < ELEMENTSOF(all_drivers); i++) {
                const char *why = lv_driver_why_not(all_drivers[i], _OP_MAX);

                tap_ok(!lv_driver_supports(all_drivers[i], _OP_MAX) && why && *why,
                       "%s refuses a kind out of range, with a reason", want_names[all_drivers[i]]);
        }
}

int main(void) {
        check_uris();
        check_names();
        check_xen();
        check_everything_supported();
        check_why_not_iff_refused();
        check_kind_out_of_range();
        return tap_done();
}
