/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's own commands for operators: whoami (the identity the daemon
 * sees and what the policy lets it do) and status (endpoints, sessions,
 * operations in flight, database health).  Neither touches a platform, so
 * both are open to everyone who may connect to the socket (commands.c).
 */
#ifndef VMT_ADMIN_H
#define VMT_ADMIN_H

struct control_request;

/* The handlers of commands.c's table; userdata is the manager. */
void admin_whoami(struct control_request *req, void *userdata);
void admin_status(struct control_request *req, void *userdata);

#endif
