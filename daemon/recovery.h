/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Start-up recovery: rows an earlier run left PENDING (it crashed or was
 * killed between the durable PENDING row and its completion) are resolved,
 * never dropped.  A row that names a platform task is completed from the
 * task's real outcome and the VM's current state, when the backend can look
 * tasks up (backend_ops.task_outcome); every other row becomes UNKNOWN with
 * the reason in its message column.
 */
#ifndef VMT_RECOVERY_H
#define VMT_RECOVERY_H

#include "backend.h"

struct audit;
struct audit_record;
struct pool_set;

/*
 * Resolve every earlier run's PENDING row.  Rows that need the platform are
 * handed to their endpoint's session pool and completed on a worker
 * thread; the others are completed before this returns.  Returns the number
 * of rows found, or a negative errno.
 */
int recovery_run(struct audit *a, struct pool_set *pools);

/*
 * Resolve one row with backend session s of ops (either may be NULL, and
 * ops->task_outcome may be NULL: the outcome is then impossible to learn).
 * The synchronous core of recovery_run(), also used by the unit tests.
 */
int recovery_resolve(struct audit *a, const struct audit_record *row, const struct backend_ops *ops,
                     struct backend_session *s);

#endif
