/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmtraced --check-config --connect: log in to every endpoint with its
 * service account, once, and say how each went, so an administrator
 * learns of a wrong password or an untrusted certificate before the
 * first operator does.  Nothing is recorded in the trail: no operation
 * is made, and the daemon need not be stopped.
 */
#ifndef VMTRACED_PROBE_H
#define VMTRACED_PROBE_H

#include <stdio.h>

#include "config.h"

/* One line per endpoint on f; returns the number of endpoints that failed. */
unsigned probe_endpoints(const struct config *c, FILE *f);

#endif
