/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Minimal TAP output for the C unit tests: "ok N - what" / "not ok N - what". */
#ifndef VMT_TAP_H
#define VMT_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 2, 3), unused)) static bool tap_ok(bool cond, const char *fmt, ...) {
        va_list ap;
        printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        if (!cond)
                tap_failed++;
        fflush(stdout);
        return cond;
}

__attribute__((unused)) static int tap_done(void) {
        printf("1..%d\n# %d passed, %d failed\n", tap_n, tap_n - tap_failed, tap_failed);
        return tap_failed ? 1 : 0;
}

#endif
