/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A VM operation's arguments: parsed from the request in the protocol's
 * own terms (op_args_parse), then held against what the endpoint's
 * platform accepts (op_args_check), before anything is sent anywhere.
 */
#ifndef VMT_OP_ARGS_H
#define VMT_OP_ARGS_H

#include <stddef.h>

#include "backend.h"

struct json_object;
struct endpoint_config;

/*
 * Fill a (strings borrowed from args) for *kind; a stop with "guest": true
 * turns *kind into OP_STOP_GUEST.  -EINVAL (or -EOPNOTSUPP) with why set.
 */
int op_args_parse(enum op_kind *kind, struct json_object *args, struct op_args *a, char *why, size_t whylen);

/*
 * Can endpoint ep do kind with a at all: its backend's supports() and
 * limits.  0, or -EINVAL (a value out of the platform's range) or
 * -EOPNOTSUPP (the platform cannot do kind) with why set.
 */
int op_args_check(enum op_kind kind, const struct op_args *a, const struct endpoint_config *ep, char *why,
                  size_t whylen);

#endif
