/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Long output through a pager, as git does: when standard output is a
 * terminal, it goes to $VMCTL_PAGER, else $PAGER, else less (with
 * LESS=FRX unless LESS is set: one screen is shown as it is, colours and
 * the screen are left alone).  An empty pager or "cat" means none, and so
 * does a less that is not installed.
 */
#ifndef VMCTL_PAGER_H
#define VMCTL_PAGER_H

/* From now on stdout goes to the pager, if there is one to use. */
void vmctl_pager_start(void);

/* Flush stdout to the pager and wait for it to end; 0, or -errno of a failed flush. */
int vmctl_pager_end(void);

#endif
