/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The project's one cleanup idiom: __attribute__((cleanup)) helpers in the
 * style of systemd, plus TAKE_PTR()/TAKE_FD() to hand ownership on.  Every
 * module uses these; a function that owns many resources may use a single
 * "goto out" instead, but never both in one function.
 */
#ifndef VMT_MACROS_H
#define VMT_MACROS_H

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Define "static inline void fnp(type *p)" that calls fn(*p) when set. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, fn)                       \
        static inline void fn##p(type *p) {                          \
                if (*p)                                              \
                        fn(*p);                                      \
        }

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Take ownership away from a _cleanup_ variable. */
#define TAKE_PTR(p)                             \
        ({                                      \
                __typeof__(p) _tp = (p);        \
                (p) = NULL;                     \
                _tp;                            \
        })
#define TAKE_FD(fd)                             \
        ({                                      \
                int _tf = (fd);                 \
                (fd) = -1;                      \
                _tf;                            \
        })

/* Wipe a secret before freeing it, so it does not linger in core files. */
static inline void erase_and_free(char *s) {
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
}
static inline void erase_and_freep(char **s) {
        erase_and_free(*s);
}
#define _cleanup_erase_ _cleanup_(erase_and_freep)

static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

static inline const char *strempty(const char *s) {
        return s ? s : "";
}

/* _cleanup_(mutex_unlockp) pthread_mutex_t *l = mutex_lock(&m): held until the end of the scope. */
static inline pthread_mutex_t *mutex_lock(pthread_mutex_t *m) {
        pthread_mutex_lock(m);
        return m;
}

static inline void mutex_unlockp(pthread_mutex_t **m) {
        if (*m)
                pthread_mutex_unlock(*m);
}

#endif
