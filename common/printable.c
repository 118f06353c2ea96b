/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Text made fit for a terminal, reversibly; see printable.h for what is escaped and how. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "printable.h"

/* The longest a unit gets once shown: "\UHHHHHHHH" and its NUL. */
#define UNIT_MAX 11

/*
 * Code points past ASCII that are escaped: the C1 controls (terminals act
 * on them: U+009B is ESC [), Unicode's format characters (Cf: invisible, yet
 * they reorder, join or hide what is around them; the bidi overrides and
 * isolates among them make a row read other than it is) and the line and
 * paragraph separators, which some viewers break lines at.  U+2065 and
 * U+13439..U+1343F are taken with their neighbours, so a later Unicode's
 * format characters there are escaped already.  Sorted, for the search.
 */
static const struct {
        uint32_t first, last;
} hidden[] = {
        { 0x0080, 0x009f },   { 0x00ad, 0x00ad },   { 0x0600, 0x0605 },   { 0x061c, 0x061c },
        { 0x06dd, 0x06dd },   { 0x070f, 0x070f },   { 0x0890, 0x0891 },   { 0x08e2, 0x08e2 },
        { 0x180e, 0x180e },   { 0x200b, 0x200f },   { 0x2028, 0x202e },   { 0x2060, 0x206f },
        { 0xfeff, 0xfeff },   { 0xfff9, 0xfffb },   { 0x110bd, 0x110bd }, { 0x110cd, 0x110cd },
        { 0x13430, 0x1343f }, { 0x1bca0, 0x1bca3 }, { 0x1d173, 0x1d17a }, { 0xe0001, 0xe0001 },
        { 0xe0020, 0xe007f },
};

static bool is_hidden(uint32_t c) {
        for (size_t i = 0; i < ELEMENTSOF(hidden) && c >= hidden[i].first; i++)
                if (c <= hidden[i].last)
                        return true;
        return false;
}

/* How long a UTF-8 sequence that starts with b is, and the bits of b it carries; 0 if none can. */
static size_t utf8_lead(unsigned char b, uint32_t *c) {
        if (b < 0x80)
                return *c = b, 1;
        if (b >= 0xc2 && b <= 0xdf)
                return *c = b & 0x1f, 2;
        if (b >= 0xe0 && b <= 0xef)
                return *c = b & 0x0f, 3;
        if (b >= 0xf0 && b <= 0xf4)
                return *c = b & 0x07, 4;
        return 0;
}

/* Length of the valid UTF-8 sequence at s (n > 0 bytes left), its code point in *c; 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *c) {
        size_t len = utf8_lead(s[0], c);

        if (len <= 1)
                return len;
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                *c = *c << 6 | (s[i] & 0x3f);
        }
        /* Overlong forms, surrogates, beyond U+10FFFF. */
        if ((len == 3 && *c < 0x800) || (len == 4 && (*c < 0x10000 || *c > 0x10ffff)) || (*c >= 0xd800 && *c <= 0xdfff))
                return 0;
        return len;
}

ssize_t printable_utf8_invalid(const char *s, size_t n) {
        uint32_t c;

        for (size_t i = 0, l; i < n; i += l)
                if ((l = utf8_seq((const unsigned char *) s + i, n - i, &c)) == 0)
                        return (ssize_t) i;
        return -1;
}

bool printable_utf8_valid(const char *s, size_t n) {
        return printable_utf8_invalid(s, n) < 0;
}

/* An ASCII byte that is escaped: a control, DEL, the backslash (so every escape can be undone), or a special. */
static bool escaped_byte(unsigned char b, const char *specials) {
        return b < 0x20 || b == 0x7f || b == '\\' || strchr(specials, b);
}

/*
 * The next unit of s (n > 0 bytes left) as shown, into out: one escaped
 * byte, one escaped code point, or one character as it is.  Returns its
 * length; *used is how many bytes of s it stands for.
 */
static size_t next_unit(const unsigned char *s, size_t n, const char *specials, char out[UNIT_MAX], size_t *used) {
        uint32_t c;
        size_t l = utf8_seq(s, n, &c);

        if (l == 0 || (l == 1 && escaped_byte(s[0], specials))) {
                *used = 1;
                return (size_t) snprintf(out, UNIT_MAX, "\\x%02x", s[0]);
        }
        *used = l;
        if (is_hidden(c) && c > 0xffff)
                return (size_t) snprintf(out, UNIT_MAX, "\\U%08x", (unsigned) c);
        if (is_hidden(c))
                return (size_t) snprintf(out, UNIT_MAX, "\\u%04x", (unsigned) c);
        memcpy(out, s, l);
        return l;
}

void printable_fput(FILE *f, const char *s, size_t n, const char *specials) {
        const unsigned char *u = (const unsigned char *) s;
        char out[UNIT_MAX];

        for (size_t i = 0, used; i < n; i += used) {
                size_t k = next_unit(u + i, n - i, specials, out, &used);
                fwrite(out, 1, k, f);
        }
}

size_t printable_escape(char *buf, size_t size, const char *s, size_t n, const char *specials) {
        const unsigned char *u = (const unsigned char *) s;
        char out[UNIT_MAX];
        size_t len = 0;

        if (size == 0)
                return 0;
        for (size_t i = 0, used; i < n; i += used) {
                size_t k = next_unit(u + i, n - i, specials, out, &used);
                /* Whole units only: half an escape would read back as something else. */
                if (k >= size - len)
                        break;
                memcpy(buf + len, out, k);
                len += k;
        }
        buf[len] = '\0';
        return len;
}

char *printable_dup(const char *s, size_t n, const char *specials) {
        char *buf;

        if (n > (SIZE_MAX - 1) / 4)
                return NULL;
        buf = malloc(PRINTABLE_SIZE(n));
        if (buf)
                printable_escape(buf, PRINTABLE_SIZE(n), s, n, specials);
        return buf;
}
