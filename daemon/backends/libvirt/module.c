/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * backend-libvirt.so: the libvirt backend as a module the daemon loads
 * (daemon/backends/registry.c).  Everything is in liblibvirt.a, linked in
 * whole; this file only gives the module a source of its own.
 */
#include "backend.h"

extern const struct backend_ops backend_libvirt;
