/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Default paths both programs must agree on. */
#ifndef VMT_DEFAULTS_H
#define VMT_DEFAULTS_H

#define VMT_DEFAULT_CONFIG   "/etc/vmtraced/vmtraced.conf"
#define VMT_DEFAULT_SOCKET   "/run/vmtraced/vmtraced.sock"
#define VMT_DEFAULT_DATABASE "/var/lib/vmtraced/trail.db"

#endif
