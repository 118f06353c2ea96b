/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The per-driver capability table of the libvirt backend (see
 * libvirt_drivers.h): which driver a URI names, and which operations that
 * driver can perform at all.
 *
 * Every row was written from libvirt 9.0.0's own source (the upstream
 * tarball libvirt_9.0.0.orig.tar.xz that Debian 12 ships, sha256
 * deca5cff1b7baac297bca9663907c61f71a47183371dc7ac019c107806d5435a; Debian's
 * patches do not touch the three drivers).  A NULL slot in a driver's
 * virHypervisorDriver table makes the public API call
 * virReportUnsupportedError(), i.e. VIR_ERR_NO_SUPPORT (src/libvirt-domain.c,
 * src/libvirt-domain-snapshot.c).  Storage volume calls go to the storage
 * driver (src/storage/storage_driver.c, storageVolResize etc.), which a
 * Xen host has like any other, so they never make an operation impossible
 * here.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "backend.h"
#include "libvirt_drivers.h"
#include "macros.h"

/*
 * URI schemes as libvirt 9.0 matches them: exactly, case and all (STREQ
 * against each driver's uriSchemes, src/libvirt.c), so "QEMU:///system" is
 * no QEMU URI to libvirt and is none here either.  libvirt registers only
 * "xen" for libxl (libxlConnectDriver.uriSchemes); "libxl" is taken as Xen
 * too because that is the driver it names, though libvirt will refuse to
 * open such a URI itself.
 */
static const struct {
        const char *scheme;
        enum lv_driver driver;
} schemes[] = {
        { "qemu", LV_DRIVER_QEMU },
        { "xen", LV_DRIVER_XEN },
        { "libxl", LV_DRIVER_XEN },
        { "test", LV_DRIVER_TEST },
};

static const char *const driver_names[] = {
        [LV_DRIVER_QEMU] = "qemu",
        [LV_DRIVER_XEN] = "xen",
        [LV_DRIVER_TEST] = "test",
        [LV_DRIVER_OTHER] = "other",
};

/*
 * The operations each driver cannot perform, with the message the
 * NotSupported row gives; a kind with no entry is supported.  Listing the
 * gaps rather than the abilities keeps supports() and why_not() one fact,
 * so they can never disagree.
 */

/*
 * QEMU: src/qemu/qemu_driver.c, qemuHypervisorDriver.  Every entry point
 * vmtraced uses is set: domainRename, domainSetVcpusFlags,
 * domainSetMemoryFlags, domainBlockResize, domainAttachDeviceFlags,
 * domainCreate, domainDestroy, domainShutdown, domainReset,
 * domainManagedSave, domainGetXMLDesc, domainDefineXML,
 * domainUndefineFlags, domainMigrateBegin3Params ... Confirm3Params,
 * domainGetJobStats, domainAbortJob, domainSnapshotCreateXML,
 * domainRevertToSnapshot, domainSnapshotDelete.  No gaps.
 */
static const char *const qemu_gaps[_OP_MAX] = { NULL };

/*
 * Xen: src/libxl/libxl_driver.c, libxlHypervisorDriver.  Set, and so
 * supported: domainSetVcpusFlags, domainSetMemoryFlags (accepting
 * VIR_DOMAIN_MEM_MAXIMUM), domainAttachDeviceFlags, domainCreate,
 * domainDestroy, domainShutdown, domainManagedSave, domainGetXMLDesc,
 * domainDefineXML, domainUndefineFlags, domainMigrateBegin3Params,
 * Prepare3Params, Perform3Params, Finish3Params, Confirm3Params and
 * domainGetJobStats.  Not set, and so the gaps below: domainRename,
 * domainReset and the snapshot calls.
 *
 * Also not set, but not a gap of a whole kind:
 *  - domainBlockResize: a running VM's disk cannot be grown, but a
 *    stopped one's can (virStorageVolResize, the storage driver), so
 *    OP_DISK_GROW stays supported and libvirt answers VIR_ERR_NO_SUPPORT
 *    for a running VM itself;
 *  - domainAbortJob: a migration runs but cannot be cancelled, and
 *    domainGetJobStats reports only the time elapsed.
 */
static const char *const xen_gaps[_OP_MAX] = {
        [OP_RENAME] = "libvirt's libxl (Xen) driver has no virDomainRename",
        [OP_RESET] = "libvirt's libxl (Xen) driver has no virDomainReset",
        [OP_SNAPSHOT_CREATE] = "libvirt's libxl (Xen) driver has no virDomainSnapshotCreateXML",
        [OP_SNAPSHOT_REVERT] = "libvirt's libxl (Xen) driver has no virDomainRevertToSnapshot",
        [OP_SNAPSHOT_REMOVE] = "libvirt's libxl (Xen) driver has no virDomainSnapshotDelete",
};

/*
 * test: src/test/test_driver.c, testHypervisorDriver and testStorageDriver.
 * They lack domainBlockResize, domainAttachDeviceFlags, any migration
 * (testConnectSupportsFeature says no to every VIR_DRV_FEATURE_MIGRATION_*,
 * so virDomainMigrate3 ends in virReportUnsupportedError()),
 * domainGetJobStats, domainAbortJob and storageVolResize.  No gaps all
 * the same, on purpose: the daemon lets the test driver answer
 * VIR_ERR_NO_SUPPORT itself, so that error path is exercised by the tests.
 */
static const char *const test_gaps[_OP_MAX] = { NULL };

/* Any other driver: no gaps, the platform says what it cannot do. */
static const char *const other_gaps[_OP_MAX] = { NULL };

static const char *const *const driver_gaps[] = {
        [LV_DRIVER_QEMU] = qemu_gaps,
        [LV_DRIVER_XEN] = xen_gaps,
        [LV_DRIVER_TEST] = test_gaps,
        [LV_DRIVER_OTHER] = other_gaps,
};

/* A value outside the enum (a cast int) is treated as a driver we do not know. */
static enum lv_driver known_driver(enum lv_driver d) {
        return (unsigned) d < ELEMENTSOF(driver_names) ? d : LV_DRIVER_OTHER;
}

/*
 * The scheme's length: up to the first '+' (the transport) or ':'.  A
 * string without ':' is no URI (it may be an alias from libvirt.conf,
 * which names no driver we can know), so it has no scheme.
 */
static size_t scheme_length(const char *uri) {
        if (!strchr(uri, ':'))
                return 0;
        return strcspn(uri, "+:");
}

enum lv_driver lv_driver_of_uri(const char *uri) {
        size_t n;

        if (!uri)
                return LV_DRIVER_OTHER;
        n = scheme_length(uri);
        for (size_t i = 0; n > 0 && i < ELEMENTSOF(schemes); i++)
                if (strlen(schemes[i].scheme) == n && strncmp(uri, schemes[i].scheme, n) == 0)
                        return schemes[i].driver;
        return LV_DRIVER_OTHER;
}

const char *lv_driver_name(enum lv_driver d) {
        return driver_names[known_driver(d)];
}

const char *lv_driver_why_not(enum lv_driver d, enum op_kind kind) {
        /* A kind vmtraced does not know is a caller's bug; refuse it rather than guess. */
        if ((unsigned) kind >= _OP_MAX)
                return "vmtraced knows no such operation";
        return driver_gaps[known_driver(d)][kind];
}

bool lv_driver_supports(enum lv_driver d, enum op_kind kind) {
        return lv_driver_why_not(d, kind) == NULL;
}
