/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The trail logic of every operation, written once above the backends:
 *
 *   1. read the target, its host and its "before" value from the platform;
 *   2. write the PENDING row durably (nothing is changed before this);
 *   3. have the backend change it, wait, and read the "after" value back;
 *   4. complete the row with the end time, the after value and the result.
 *
 * Every request that passes validation yields exactly one trail row, also
 * when the VM is not found or the endpoint is unusable.
 */
#ifndef VMT_OPERATION_H
#define VMT_OPERATION_H

#include "backend.h"

struct manager;
struct control_request;

/* Validate the request's arguments for kind and queue it; answers via control_reply(). */
void operation_submit(struct manager *m, struct control_request *req, enum op_kind kind);

#endif
