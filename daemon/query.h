/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The read-only requests "list" and "show".  They change nothing, so they
 * write no trail row; they run on pooled sessions like operations, so the
 * loop thread never blocks on the platform.  Their answer rides in the
 * reply's "record" member: {"vms":[...]} for list (each VM with an
 * "endpoint" member), {"vm":{...}} for show; see vmtraced(8).
 */
#ifndef VMT_QUERY_H
#define VMT_QUERY_H

struct manager;
struct control_request;

void query_list(struct manager *m, struct control_request *req);
void query_show(struct manager *m, struct control_request *req);

#endif
