/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vmtraced: the audited VM operations daemon.  Everything but main() is in daemon.c. */
#include "daemon.h"

int main(int argc, char **argv) {
        return daemon_main(argc, argv);
}
