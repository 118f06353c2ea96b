/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The trail's before and after text, written here for every backend from
 * the typed values they hand over (struct op_value, backend.h).  The
 * grammar per kind is documented in vmtraced-trail(5):
 *
 *   RenameVM         the name, verbatim                 web1
 *   ModifyCPU        the CPU count                      2          (live 2, next boot 4: 2;config=4)
 *                    [;max=M] where the platform has a ceiling apart (libvirt: 1;max=4)
 *   ModifyMemory     the memory in MiB                  4096       (4096;config=8192[;max=16384])
 *   ModifyDisk grow  LABEL=SIZEMiB of that disk         Hard disk 1=2048MiB
 *   ModifyDisk add   every disk, ';'-separated          Hard disk 1=1MiB;Hard disk 2=10MiB
 *   Start/Stop/Reset/SuspendVM  the power state         poweredOn | poweredOff | suspended | paused | crashed | unknown
 *   CloneVM          name=N;id=I;host=H                 name=web2;id=vm-54;host=esx1
 *   MigrateVM        host=H;datastore=D,D               host=esx1;datastore=ds1,ds2
 *   Snapshot*        tree=NAME(CHILD,CHILD(...)),...;current=NAME     tree=s1(s2,s3);current=s3
 *   DestroyVM        name=N;id=I;power=P;host=H[;cpu=C][;memoryMB=M], after: destroyed
 *
 * In the structured kinds every name (label, host, datastore, snapshot,
 * VM name) is escaped: '\' before each of \ ; = , ( ), so that a VM named
 * "c;id=vm-1" cannot forge an id= field.  A lone name (RenameVM) is
 * verbatim.  Names without those characters read as they always did.
 * The one text that reads two ways: a list of one empty name is written
 * like the empty list ("datastore=", "tree="); a reader takes the latter.
 */
#ifndef VMT_VALUE_H
#define VMT_VALUE_H

#include "backend.h"

/*
 * The text of v for kind in *out (malloc'd); NULL when v is not known.
 * Returns 0 or -ENOMEM.
 */
int value_format(enum op_kind kind, const struct op_value *v, char **out);

/*
 * What a backend handed over, as trail text: *text (its old value freed)
 * gets v's text, and v is released.  -ENOMEM with err set.
 */
int value_take(enum op_kind kind, struct op_value *v, char **text, struct op_error *err);

/* Append s to a malloc'd buffer with the structured kinds' escaping (for tests and readers). */
int value_escape(const char *s, char **out);

#endif
