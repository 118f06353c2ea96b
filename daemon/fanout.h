/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ask every endpoint the same read-only question.  An unprefixed VM name
 * with several endpoints configured must be looked up everywhere before
 * anything is changed (a name that matches twice is an error, never a
 * choice), and "list" shows every endpoint's VMs.  fanout_start() queues
 * one job per endpoint pool; when the last one has answered, done() runs on
 * the event loop thread with every endpoint's answer, in configuration
 * order.
 */
#ifndef VMT_FANOUT_H
#define VMT_FANOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"

struct json_object;
struct pool;
struct pool_set;
struct pool_session;

struct fanout_result {
        struct pool *pool;
        int r;                      /* fn's return value */
        struct op_error err;
        struct json_object *data;   /* what fn produced; freed after done() returns unless taken */
};

/* Worker thread: answer for session s's endpoint. */
typedef int (*fanout_fn)(struct pool_session *s, void *userdata, struct json_object **data, struct op_error *err);
/* Loop thread: all answers are in. */
typedef void (*fanout_done_fn)(void *userdata, struct fanout_result *results, size_t n);

/*
 * Ask the pools of ps, in configuration order; with a mask (one bool per
 * pool) only those it allows.  -ENOMEM, or -ENOENT when that leaves none
 * (nothing queued, done() never called), or 0.
 */
int fanout_start(struct pool_set *ps, const bool *mask, fanout_fn fn, fanout_done_fn done, void *userdata);
/* The same for one endpoint's pool only (n is 1). */
int fanout_one(struct pool *p, fanout_fn fn, fanout_done_fn done, void *userdata);

#endif
