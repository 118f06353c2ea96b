/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Text from elsewhere (a VM name set on the platform, a daemon's message,
 * a value read from the trail) made fit for a terminal: every character a
 * terminal could act on, or that moves, hides or turns around what follows,
 * is written as a visible escape, so an operator or auditor sees what is
 * there and no name can clear the screen, forge a line or reorder a row.
 * A plain rename can plant any of them: the platform accepts them.
 *
 * Escaped, and nothing else:
 *   \xHH        (two lowercase hex digits) a byte: C0 controls 0x00-0x1f,
 *               DEL 0x7f, the backslash, each byte of specials, and each
 *               byte that is not part of valid UTF-8;
 *   \uHHHH      (four) a code point up to U+FFFF, and
 *   \UHHHHHHHH  (eight) one above, that is a C1 control (U+0080-U+009F),
 *               a format character (Unicode's Cf: soft hyphen, bidi marks,
 *               embeddings, overrides and isolates, zero-width characters,
 *               BOM, tags ...) or the line and paragraph separators U+2028
 *               and U+2029.
 * The backslash itself is always escaped, so the mapping is reversible:
 * undo each escape (in a UTF-8 locale bash's printf %b does) and the
 * original bytes come back.  The forms are vmctl(1)'s; JSON output never
 * uses this: it is lossless on its own.
 */
#ifndef VMT_PRINTABLE_H
#define VMT_PRINTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* The most an escaped text of n bytes takes, with its NUL: a byte grows to at most four. */
#define PRINTABLE_SIZE(n) (4 * (n) + 1)

/*
 * Whether the n bytes at s are valid UTF-8 as RFC 3629 has it (no overlong
 * forms, surrogates or code points beyond U+10FFFF), and else the offset of
 * the first byte that does not start a valid sequence (-1 when all do).
 */
bool printable_utf8_valid(const char *s, size_t n);
ssize_t printable_utf8_invalid(const char *s, size_t n);

/* Write n bytes of s to f, escaped; specials: more ASCII bytes to escape as \xHH (the empty string for none). */
void printable_fput(FILE *f, const char *s, size_t n, const char *specials);

/*
 * The same into buf (size bytes, NUL-terminated), cut before the first
 * escape or character that does not fit whole; returns the length written.
 */
size_t printable_escape(char *buf, size_t size, const char *s, size_t n, const char *specials);

/* A new string with n bytes of s escaped (free() it), or NULL when out of memory. */
char *printable_dup(const char *s, size_t n, const char *specials);

#endif
