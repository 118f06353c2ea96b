/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The backend registry: the one place that names the backends built in.
 * The core finds a backend by the endpoint's "backend =" through
 * backend_find() and never includes a backend's own headers.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "macros.h"
#include "util.h"

/* Each backend exports exactly one symbol, backend_<name>. */
extern const struct backend_ops backend_vsphere;
extern const struct backend_ops backend_libvirt;

#define EXTRA_MAX 4

static const struct backend_ops *const builtin[] = {
        &backend_vsphere,
        &backend_libvirt,
};
static const struct backend_ops *extra[EXTRA_MAX];
static size_t n_extra;

const struct backend_ops *backend_find(const char *name) {
        for (size_t i = 0; name && i < ELEMENTSOF(builtin); i++)
                if (strcmp(builtin[i]->name, name) == 0)
                        return builtin[i];
        for (size_t i = 0; name && i < n_extra; i++)
                if (strcmp(extra[i]->name, name) == 0)
                        return extra[i];
        return NULL;
}

int backend_register(const struct backend_ops *ops) {
        if (backend_find(ops->name))
                return -EEXIST;
        if (n_extra >= EXTRA_MAX)
                return -ENOSPC;
        extra[n_extra++] = ops;
        return 0;
}

const char *backend_names(void) {
        static char buf[256];

        buf[0] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(builtin) + n_extra; i++) {
                const struct backend_ops *o = i < ELEMENTSOF(builtin) ? builtin[i] : extra[i - ELEMENTSOF(builtin)];
                strbuf_append(buf, sizeof buf, " ", "%s", o->name);
        }
        return buf;
}

void backend_global_init(void) {
        for (size_t i = 0; i < ELEMENTSOF(builtin); i++)
                if (builtin[i]->global_init)
                        builtin[i]->global_init();
        for (size_t i = 0; i < n_extra; i++)
                if (extra[i]->global_init)
                        extra[i]->global_init();
}
