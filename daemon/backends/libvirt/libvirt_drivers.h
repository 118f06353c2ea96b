/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What each libvirt hypervisor driver can do, before vmtraced asks it.
 *
 * libvirt is one API over several drivers, and a driver that lacks an
 * entry point answers VIR_ERR_NO_SUPPORT only once the call is made.  For
 * an operation no driver of that kind can ever perform, the daemon would
 * rather write a NotSupported row that says why than open a PENDING row
 * for a call known to fail.  This module is that knowledge: which driver a
 * connection URI names, and per driver which operations (enum op_kind) its
 * virHypervisorDriver table in libvirt 9.0 implements at all.
 *
 * It says nothing about a VM's state (a running VM's disk can be grown by
 * one call and a stopped one's by another) nor about flags; those failures
 * remain the platform's to report.  See libvirt_drivers.c for the evidence.
 */
#ifndef VMT_LIBVIRT_DRIVERS_H
#define VMT_LIBVIRT_DRIVERS_H

#include <stdbool.h>

#include "backend.h"

/* Which libvirt driver a connection URI names, from its scheme ("qemu+ssh://h/system" -> qemu). */
enum lv_driver { LV_DRIVER_QEMU, LV_DRIVER_XEN, LV_DRIVER_TEST, LV_DRIVER_OTHER };

/*
 * "qemu" -> QEMU; "xen" and "libxl" -> XEN; "test" -> TEST; anything else,
 * a URI with no scheme, "" and NULL -> OTHER.  The transport after '+' does
 * not matter: it only says how to reach the same driver.
 */
enum lv_driver lv_driver_of_uri(const char *uri);

/* "qemu", "xen", "test", "other". */
const char *lv_driver_name(enum lv_driver d);

/*
 * Can driver d perform kind at all?  Written from libvirt 9.0's driver
 * tables (cited per row in libvirt_drivers.c).  The QEMU, test and other
 * rows say yes to everything: QEMU implements all of them, and the test
 * driver and unknown drivers are left to answer for themselves.
 */
bool lv_driver_supports(enum lv_driver d, enum op_kind kind);

/*
 * Why not, for the NotSupported row's message, e.g. "libvirt's libxl (Xen)
 * driver has no virDomainRename"; NULL exactly when lv_driver_supports()
 * says yes.
 */
const char *lv_driver_why_not(enum lv_driver d, enum op_kind kind);

#endif
