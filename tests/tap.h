/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Minimal TAP output for the C unit tests: "ok N - what" / "not ok N - what". */
#ifndef VMT_TAP_H
#define VMT_TAP_H

#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

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

__attribute__((format(printf, 1, 2), unused)) static void tap_skip(const char *fmt, ...) {
        va_list ap;
        printf("ok %d # SKIP ", ++tap_n);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        fflush(stdout);
}

/* A "# ..." diagnostic line; returns false so a failing check can "return tap_diag(...)". */
__attribute__((format(printf, 1, 2), unused)) static bool tap_diag(const char *fmt, ...) {
        va_list ap;
        printf("# ");
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        return false;
}

__attribute__((unused)) static int tap_done(void) {
        printf("1..%d\n# %d passed, %d failed\n", tap_n, tap_n - tap_failed, tap_failed);
        return tap_failed ? 1 : 0;
}

static int tap_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) flag;
        (void) ftw;
        return remove(path) < 0 ? -1 : 0;
}

/* Remove a test's scratch directory and all in it, unless KEEP_TMP is set. */
__attribute__((unused)) static void tap_rm_rf(const char *dir) {
        if (getenv("KEEP_TMP"))
                printf("# kept %s\n", dir);
        else
                (void) nftw(dir, tap_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
