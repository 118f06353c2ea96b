/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The gSOAP plumbing under the vSphere backend: one struct soap per backend
 * session, with TLS verification (CA file, SHA-256 pin of the leaf
 * certificate, or the system CAs), the vmware_soap_session cookie, the
 * operationID SOAP header, and the mapping of gSOAP errors and vSphere faults
 * to the negative errno + struct op_error of backend.h.  vsphere.c only builds
 * requests and reads answers.
 */
#ifndef VMT_VSPHERE_TRANSPORT_H
#define VMT_VSPHERE_TRANSPORT_H

#include <stddef.h>

struct soap;
struct endpoint_config;
struct op_error;

/* Once per process, before threads; also called by vsphere_transport_new(). */
void vsphere_transport_global_init(void);

/* A context for ep, with TLS set up but not connected.  ep outlives it. */
int vsphere_transport_new(const struct endpoint_config *ep, struct soap **out, struct op_error *err);
void vsphere_transport_free(struct soap *soap);

/* Before every call: sets the cookie and the operationID header (opid may be NULL). */
void vsphere_transport_begin(struct soap *soap, const char *opid);

/*
 * After a call: returns 0 when soap->error is SOAP_OK, otherwise fills err
 * and returns -EKEYEXPIRED (NotAuthenticated), -EREMOTEIO (other vSphere
 * fault), -EPERM (certificate not trusted) or a transport errno.  method
 * names the call in debug logs.
 */
int vsphere_transport_check(struct soap *soap, const char *method, struct op_error *err);

/* Forget the session cookie: before a new Login, and after Logout. */
void vsphere_transport_clear_cookie(struct soap *soap);

/* Number of HTTP round trips made so far on this context (for tests and tuning). */
unsigned vsphere_transport_round_trips(struct soap *soap);

/*
 * The vSphere fault type in a fault element kept as raw XML: its xsi:type
 * without prefix, else the element name without its "Fault" suffix.  Writes
 * "" when neither is there.
 */
void vsphere_fault_type(const char *xml, char *buf, size_t size);

#endif
