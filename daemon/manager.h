/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's state, built once at start-up by vmtraced.c. */
#ifndef VMT_MANAGER_H
#define VMT_MANAGER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct manager {
        int lock_fd;             /* the instance lock on the trail (daemon.c), held for life */
        sd_event *event;
        struct config *config;
        struct audit *audit;
        struct health *health;   /* the trail's quick_check, in a thread of its own */
        struct pool_set *pools;
        struct recovery *recovery; /* tasks an earlier run left running, followed until they end */
        struct watch_set *watch; /* endpoints watched for out-of-band changes */
        struct control *control;
        struct forward_set *forwards; /* [forward] targets, each fed by a thread of its own; NULL: none */
        unsigned inflight;       /* operations submitted and not yet answered */
        atomic_uint post_event_failures; /* platform events that could not be posted (workers count them) */
        bool stopping;           /* SIGTERM: draining, new requests refused */
        uint64_t stop_deadline;  /* CLOCK_MONOTONIC usec after which the drain gives up */
};

#endif
