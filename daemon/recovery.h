/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Start-up recovery: rows an earlier run left PENDING (it crashed or was
 * killed between the durable PENDING row and its completion) are resolved,
 * never dropped.  A row that names a platform task is completed from the
 * task's real outcome and the VM's current state, when the backend can look
 * tasks up (backend_ops.task_outcome), once the task has ended; every other
 * row becomes UNKNOWN with the reason in its message column.
 */
#ifndef VMT_RECOVERY_H
#define VMT_RECOVERY_H

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "backend.h"

struct audit;
struct audit_record;
struct pool_set;

/*
 * Resolve every earlier run's PENDING row.  Rows that need the platform are
 * handed to their endpoint's session pool and completed on a worker
 * thread; the others are completed before this returns.  A row whose task
 * still runs stays PENDING, its VM locked, and the task is asked for again
 * on event's loop until it ends or task_timeout seconds after the row
 * began.  *out (also set on failure) is for recovery_stop() and
 * recovery_free().  Returns the number of rows found, or a negative errno.
 */
struct recovery;
int recovery_run(struct audit *a, struct pool_set *pools, sd_event *event, unsigned task_timeout,
                 struct recovery **out);
/*
 * Stop following tasks (at SIGTERM, and before the pools are freed, then
 * with pools_gone): their rows stay PENDING for the next start, their VMs
 * are unlocked (unless pools_gone).  Loop thread.
 */
void recovery_stop(struct recovery *rec, bool pools_gone);
/* After the pools are freed. */
void recovery_free(struct recovery *rec);

/*
 * Resolve one row with backend session s of ops (either may be NULL, and
 * ops->task_outcome may be NULL: the outcome is then impossible to learn).
 * The synchronous core of recovery_run(), also used by the unit tests.
 */
int recovery_resolve(struct audit *a, const struct audit_record *row, const struct backend_ops *ops,
                     struct backend_session *s);

#endif
