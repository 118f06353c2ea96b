/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmtraced with the fake backend (daemon/backends/fake/) registered
 * besides the built-in ones: the same daemon, for tests of the trail
 * lifecycle without vCenter.  Built for "make check" only, never installed.
 */
#include <stdio.h>

#include "backend.h"
#include "daemon.h"

extern const struct backend_ops backend_fake;

int main(int argc, char **argv) {
        /* Before daemon_main() reads the configuration, which looks the backend up by name. */
        if (backend_register(&backend_fake) < 0) {
                fprintf(stderr, "vmtraced-fake: cannot register the fake backend\n");
                return 1;
        }
        return daemon_main(argc, argv);
}
