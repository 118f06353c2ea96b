/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's command line and life (daemon.c); vmtraced.c's main() is just this. */
#ifndef VMT_DAEMON_H
#define VMT_DAEMON_H

/* Parse argv, build the manager, run the event loop; returns the exit status. */
int daemon_main(int argc, char **argv);

#endif
