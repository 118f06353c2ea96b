/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Loading the daemon's modules (see module.h). */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "module.h"

/* $VMTRACED_BACKEND_DIR is the older name, from when backends were the only modules. */
static const char *module_dir(void) {
        const char *dir = getenv("VMTRACED_MODULE_DIR");

        if (!dir || !*dir)
                dir = getenv("VMTRACED_BACKEND_DIR");
        return dir && *dir ? dir : MODULE_DIR;
}

const void *module_symbol(const char *file, const char *symbol, char *err, size_t errlen) {
        char path[PATH_MAX];
        const void *sym;
        void *h;

        snprintf(path, sizeof path, "%s/%s", module_dir(), file);
        h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                const char *why = dlerror();

                snprintf(err, errlen, "%s", why ? why : path);
                return NULL;
        }
        sym = dlsym(h, symbol);
        if (!sym) {
                snprintf(err, errlen, "%.400s has no %s", path, symbol);
                dlclose(h);
        }
        return sym;
}
