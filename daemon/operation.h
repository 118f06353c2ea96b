/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The trail logic of every operation, written once above the backends:
 *
 *   1. find the endpoint (resolve.h): ENDPOINT:NAME, the only endpoint, or,
 *      with several, a read-only look-up on every one the policy lets the
 *      operator touch (a name found twice is an error); check the
 *      platform's limits (op_args.h) and the policy, once;
 *   2. read the target, its host and its "before" value from the platform,
 *      then take the VM's lock (operations on one VM are serialised; others
 *      run in parallel on other pooled sessions), reading again if it had to
 *      wait;
 *   3. write the PENDING row durably (nothing is changed before this);
 *   4. have the backend change it, wait (progress goes to vmctl; an operator's
 *      cancel or the task-timeout asks the backend to cancel), and read the
 *      "after" value back;
 *   5. complete the row with the end time, the after value and the result,
 *      then post a user event naming the operator to the platform.
 *
 * Every request that passes validation yields exactly one trail row, also
 * when the VM is not found, is ambiguous, or the endpoint is unusable.
 */
#ifndef VMT_OPERATION_H
#define VMT_OPERATION_H

#include "backend.h"
#include "proto.h"

struct manager;
struct control_request;

/* Validate the request's arguments for kind and queue it; answers via control_reply(). */
void operation_submit(struct manager *m, struct control_request *req, enum op_kind kind);

/* The reply code for a backend failure (backend.h's errno convention); list and show use it too. */
enum proto_error operation_reply_code(int r);

/*
 * "cancel" {"trail_id": N}: ask the operation in flight with that trail id
 * to cancel its task.  Allowed for the operator who started it, root and
 * the admin-group (gate_owner()); anyone else is refused (a DENIED row).
 */
void operation_cancel(struct manager *m, struct control_request *req);

/*
 * "jobs": the operations in flight the caller may see (its own; all for
 * root and the admin-group): trail id, who, what, where, since when, and
 * the state the last progress gave.
 */
void operation_jobs(struct manager *m, struct control_request *req);

/*
 * "wait" {"trail_id": N}: re-attach to an operation in flight (its owner,
 * root and the admin-group): its progress, then the reply its request
 * gets.  A row no longer in flight is answered with its record at once.
 */
void operation_wait(struct manager *m, struct control_request *req);

#endif
