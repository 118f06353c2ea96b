/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The backend registry: the one place that names the backends.  The core
 * finds a backend by the endpoint's "backend =" through backend_find() and
 * never includes a backend's own headers.
 *
 * vSphere is linked in.  libvirt is a module of its own
 * (backend-libvirt.so, see daemon/module.h), loaded when an endpoint first
 * names it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "macros.h"
#include "module.h"
#include "util.h"

/* Each backend exports exactly one symbol, backend_<name>. */
extern const struct backend_ops backend_vsphere;

#define EXTRA_MAX 4

static const struct backend_ops *const builtin[] = {
        &backend_vsphere,
};

struct module {
        const char *name;
        const char *file;
        const struct backend_ops *ops;
        bool tried;
        char error[512];      /* why it could not be loaded */
};

static struct module modules[] = {
        { .name = "libvirt", .file = "backend-libvirt.so" },
};

static const struct backend_ops *extra[EXTRA_MAX];
static size_t n_extra;

static const struct backend_ops *module_load(struct module *m) {
        char sym[64];

        if (m->tried)
                return m->ops;
        m->tried = true;
        snprintf(sym, sizeof sym, "backend_%s", m->name);
        m->ops = module_symbol(m->file, sym, m->error, sizeof m->error);
        if (m->ops && strcmp(m->ops->name, m->name) != 0) {
                snprintf(m->error, sizeof m->error, "%s: %s is not backend %s", m->file, sym, m->name);
                m->ops = NULL;
        }
        if (m->ops && m->ops->global_init)
                m->ops->global_init();
        return m->ops;
}

const struct backend_ops *backend_find(const char *name) {
        for (size_t i = 0; name && i < ELEMENTSOF(builtin); i++)
                if (strcmp(builtin[i]->name, name) == 0)
                        return builtin[i];
        for (size_t i = 0; name && i < ELEMENTSOF(modules); i++)
                if (strcmp(modules[i].name, name) == 0)
                        return module_load(&modules[i]);
        for (size_t i = 0; name && i < n_extra; i++)
                if (strcmp(extra[i]->name, name) == 0)
                        return extra[i];
        return NULL;
}

const char *backend_load_error(const char *name) {
        for (size_t i = 0; name && i < ELEMENTSOF(modules); i++)
                if (strcmp(modules[i].name, name) == 0 && modules[i].tried && !modules[i].ops)
                        return modules[i].error;
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
        for (size_t i = 0; i < ELEMENTSOF(builtin); i++)
                strbuf_append(buf, sizeof buf, " ", "%s", builtin[i]->name);
        for (size_t i = 0; i < ELEMENTSOF(modules); i++)
                strbuf_append(buf, sizeof buf, " ", "%s", modules[i].name);
        for (size_t i = 0; i < n_extra; i++)
                strbuf_append(buf, sizeof buf, " ", "%s", extra[i]->name);
        return buf;
}

/* Modules run theirs when loaded. */
void backend_global_init(void) {
        for (size_t i = 0; i < ELEMENTSOF(builtin); i++)
                if (builtin[i]->global_init)
                        builtin[i]->global_init();
        for (size_t i = 0; i < n_extra; i++)
                if (extra[i]->global_init)
                        extra[i]->global_init();
}
