/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vSphere backend extras beyond struct backend_ops (backend.h): the
 * process-wide TLS initialisation and a round-trip counter for tests.
 */
#ifndef VMT_VSPHERE_H
#define VMT_VSPHERE_H

struct backend_session;

/*
 * Initialise gSOAP's TLS support.  Call once before starting threads; it is
 * also done (under pthread_once) by the first session_new.
 */
void vsphere_global_init(void);

/* HTTP round trips made by this session so far. */
unsigned vsphere_session_round_trips(struct backend_session *s);

#endif
