/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Modules: parts of the daemon built as shared objects of their own, in
 * MODULE_DIR ($(pkglibdir)) or $VMTRACED_MODULE_DIR, and loaded when the
 * configuration first needs them.  A library, and what it pulls in, then
 * cost only a daemon configured to use it (resident, measured in a daemon
 * that does nothing else): libvirt's client library for backend-libvirt.so
 * (11.7 MiB), librelp with GnuTLS, p11-kit, nettle and GMP for
 * forward-relp.so (2.4 MiB).  Modules find the core's functions in the
 * daemon itself (linked with --export-dynamic).  They are loaded while the
 * configuration is read, on the main thread, and never unloaded.
 */
#ifndef VMT_MODULE_H
#define VMT_MODULE_H

#include <stddef.h>

/* The address of symbol in the module file (a file name, no directory), or NULL with why in err. */
const void *module_symbol(const char *file, const char *symbol, char *err, size_t errlen);

#endif
