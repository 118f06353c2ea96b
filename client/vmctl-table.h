/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmctl log --format table: the columns chosen (--columns, or the
 * default), fitted to the terminal's width.  On a terminal too narrow for
 * every default column the least needed are left out, then the text
 * columns narrowed; a value longer than its column is cut, with a visible
 * mark ("…", or "+" outside UTF-8 locales).  Off a terminal each column
 * has its natural width and no value is cut: a longer one pushes the rest
 * of its line right.  Every value is escaped (printable.h).
 */
#ifndef VMCTL_TABLE_H
#define VMCTL_TABLE_H

#include <stdbool.h>

#include "trail_read.h"

/* --columns: comma-separated names (see vmctl_table_column_names()); -EINVAL, logged, for an unknown one. */
int vmctl_table_set_columns(const char *spec);

/* The names --columns takes, comma-separated, for help and errors. */
const char *vmctl_table_column_names(void);

/* Fit to width columns of terminal (0: not a terminal, natural widths); keep_source: --source was given. */
void vmctl_table_fit(int width, bool keep_source);

/* One row, after the header line when header. */
void vmctl_table_row(const struct trail_row *row, bool header);

#endif
