/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trail-out-of-band DB OPERATION VM BEFORE AFTER [PLATFORM_USER]: write one
 * out-of-band row into the trail DB the way the daemon will, through
 * audit_insert() and record_set_out_of_band(), so the row is chained like
 * any other.  For the integration tests, which have no watcher to make one;
 * run it only while no vmtraced has the file open (the daemon keeps the
 * chain head in memory).  The change is said to have happened in the last
 * second.  Prints the row's id.
 */
#include <inttypes.h>
#include <stdio.h>

#include "audit.h"
#include "log.h"
#include "record.h"
#include "util.h"

int main(int argc, char **argv) {
        struct audit *a = NULL;
        struct audit_record r = { 0 };
        int64_t now = now_ms();
        int ret;

        if (argc < 6 || argc > 7) {
                fprintf(stderr, "usage: %s DB OPERATION VM BEFORE AFTER [PLATFORM_USER]\n", argv[0]);
                return 2;
        }
        log_init("trail-out-of-band");
        r.start_ms = now;
        r.operation = argv[2];
        r.vm_name = argv[3];
        r.before = argv[4];
        r.after = argv[5];
        record_set_out_of_band(&r, now - 1000, now);
        record_set_platform_user(&r, argc == 7 ? argv[6] : NULL);
        record_set_result(&r, AUDIT_RESULT_OK, NULL, NULL);
        ret = audit_open(argv[1], &a);
        if (ret < 0)
                return 1;
        ret = audit_insert(a, &r);
        audit_close(a);
        if (ret != 0)
                return 1;
        printf("%" PRId64 "\n", r.id);
        return 0;
}
