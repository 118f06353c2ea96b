/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's state, built once at start-up by vmtraced.c. */
#ifndef VMT_MANAGER_H
#define VMT_MANAGER_H

#include <systemd/sd-event.h>

struct manager {
        sd_event *event;
        struct config *config;
        struct audit *audit;
        struct pool_set *pools;
        struct control *control;
        unsigned inflight;       /* operations submitted and not yet answered */
};

#endif
