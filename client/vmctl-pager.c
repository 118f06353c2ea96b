/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Paging vmctl's output; see vmctl-pager.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macros.h"
#include "vmctl-pager.h"

static pid_t pager_pid;

/* Is the program on $PATH (for the default less only: a pager the user named is trusted)? */
static bool on_path(const char *prog) {
        const char *path = getenv("PATH");
        char buf[4096];

        for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
                size_t n = strcspn(p, ":");
                snprintf(buf, sizeof buf, "%.*s/%s", (int) n, p, prog);
                if (access(buf, X_OK) == 0)
                        return true;
                p += n + (p[n] == ':');
        }
        return false;
}

static const char *pager_command(void) {
        const char *pager = getenv("VMCTL_PAGER");

        if (!pager)
                pager = getenv("PAGER");
        if (!pager)
                return on_path("less") ? "less" : NULL;
        if (!*pager || strcmp(pager, "cat") == 0)
                return NULL;
        return pager;
}

void vmctl_pager_start(void) {
        const char *pager;
        int fds[2];

        if (!isatty(STDOUT_FILENO) || !(pager = pager_command()) || pipe(fds) < 0)
                return;
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
                return;
        }
        if (pid == 0) {
                if (dup2(fds[0], STDIN_FILENO) < 0)
                        _exit(127);
                close(fds[0]);
                close(fds[1]);
                setenv("LESS", "FRX", 0);
                setenv("LV", "-c", 0);
                execl("/bin/sh", "sh", "-c", pager, (char *) NULL);
                _exit(127);
        }
        if (dup2(fds[1], STDOUT_FILENO) >= 0)
                pager_pid = pid;
        close(fds[0]);
        close(fds[1]);
}

int vmctl_pager_end(void) {
        int r = fflush(stdout) == 0 ? 0 : -errno;

        if (pager_pid > 0) {
                /* The pager sees end of input only when our last copy of the pipe is closed. */
                fclose(stdout);
                while (waitpid(pager_pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                pager_pid = 0;
        }
        return r;
}
