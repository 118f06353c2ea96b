/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Waiting for a reply (vmctl-wait.c): what progress events said, drawn as a
 * bar on a terminal (stderr) or as plain lines otherwise; Ctrl-C asks, on a
 * terminal, whether to cancel the task or detach, and detaches otherwise.
 * It needs only vmctl-conn.h (to send the cancel request), so the core can
 * depend on it without it depending on the core.
 */
#ifndef VMT_VMCTL_WAIT_H
#define VMT_VMCTL_WAIT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

/* Exit status after the operator detached with Ctrl-C (the shell's 128 + SIGINT). */
#define EXIT_DETACHED 130

struct vmctl_wait {
        const char *socket;        /* where a cancel request goes */
        int64_t trail_id;          /* from the first progress event; 0 until then */
        int64_t start_ms;          /* when the operation began, from its events: the time elapsed is shown */
        bool bar_drawn;            /* a progress bar is on the terminal's last line */
        bool cancel_sent;
        int last_percent;          /* what the last plain line said */
        char last_state[160];
};
void vmctl_wait_begin(struct vmctl_wait *w, const char *socket);
/* Note what a progress event says (the trail row it is about), whatever the output form. */
void vmctl_wait_event(struct vmctl_wait *w, struct json_object *msg);
/*
 * Show it to a person: the bar on a terminal, else a line when something
 * changed.  msg's strings are printed as they are: the human output passes
 * the escaped copy (vmctl-output.c), never what came.
 */
void vmctl_wait_show(struct vmctl_wait *w, struct json_object *msg);
bool vmctl_wait_sigint_pending(void);
/* After Ctrl-C: 0 to go on waiting, or the exit status to leave with. */
int vmctl_wait_interrupted(struct vmctl_wait *w);
void vmctl_wait_end(struct vmctl_wait *w);
/* A duration as people read it: "12s", "3m07s", "2h05m" (jobs uses it too). */
void vmctl_format_elapsed(int64_t ms, char *buf, size_t len);

#endif
