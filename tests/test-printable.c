/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for common/printable.c: what people are shown of text from
 * elsewhere.  One table row per case: C0 controls, DEL, C1 controls (as
 * UTF-8 and as lone bytes), the bidi controls, zero-width characters and
 * the BOM, tags beyond the BMP, the line and paragraph separators, bytes
 * that are not UTF-8, the backslash, the specials trace and csv rely on,
 * and text that stays as it is (é, 日本, emoji).  Every expected form is
 * then read back by a decoder written here from vmctl(1)'s description,
 * not from the code, and must give the input's bytes.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "printable.h"
#include "tap.h"

struct printable_case {
        const char *what;
        const char *in;
        size_t len;                /* 0: strlen(in) */
        const char *specials;
        const char *want;
};

#define CASE(w, i, s, x) { .what = (w), .in = (i), .specials = (s), .want = (x) }
/* With an explicit length, for inputs holding a NUL. */
#define CASE_N(w, i, s, x) { .what = (w), .in = (i), .len = sizeof(i) - 1, .specials = (s), .want = (x) }

static const struct printable_case cases[] = {
        CASE("plain ASCII stays", "web-01 (prod)", "", "web-01 (prod)"),
        CASE("é and 日本 stay", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac", "", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac"),
        CASE("an emoji stays", "\xf0\x9f\x92\xa5", "", "\xf0\x9f\x92\xa5"),
        CASE("U+00A0 and U+FFFD are text", "a\xc2\xa0" "b\xef\xbf\xbd", "", "a\xc2\xa0" "b\xef\xbf\xbd"),
        CASE("the empty string", "", "", ""),

        CASE("ESC [ 2 J", "x\x1b[2Jy", "", "x\\x1b[2Jy"),
        CASE("newline, CR, tab, BEL", "a\nb\rc\td\a", "", "a\\x0ab\\x0dc\\x09d\\x07"),
        CASE_N("NUL", "a\0b", "", "a\\x00b"),
        CASE("DEL", "a\x7f" "b", "", "a\\x7fb"),
        CASE("backslash, so escapes can be undone", "a\\x41\\", "", "a\\x5cx41\\x5c"),

        CASE("C1: U+0085 NEL", "a\xc2\x85" "b", "", "a\\u0085b"),
        CASE("C1: U+009B CSI", "\xc2\x9b" "2J", "", "\\u009b2J"),
        CASE("C1: U+0080 and U+009F, its ends", "\xc2\x80\xc2\x9f", "", "\\u0080\\u009f"),
        CASE("C1 as lone bytes (not UTF-8)", "a\x9b" "b\x85", "", "a\\x9bb\\x85"),

        CASE("bidi: U+202E RLO", "invoice\xe2\x80\xaegnp.exe", "", "invoice\\u202egnp.exe"),
        CASE("bidi: U+202A..U+202D", "\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad", "",
             "\\u202a\\u202b\\u202c\\u202d"),
        CASE("bidi: U+2066..U+2069 isolates", "\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9", "",
             "\\u2066\\u2067\\u2068\\u2069"),
        CASE("bidi: U+200E, U+200F, U+061C marks", "\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", "", "\\u200e\\u200f\\u061c"),
        CASE("ZWSP, ZWNJ, ZWJ", "a\xe2\x80\x8b" "b\xe2\x80\x8c" "c\xe2\x80\x8d" "d", "", "a\\u200bb\\u200cc\\u200dd"),
        CASE("BOM (U+FEFF)", "\xef\xbb\xbfname", "", "\\ufeffname"),
        CASE("soft hyphen, word joiner, U+180E", "\xc2\xad\xe2\x81\xa0\xe1\xa0\x8e", "", "\\u00ad\\u2060\\u180e"),
        CASE("U+2028, U+2029 separators", "a\xe2\x80\xa8" "b\xe2\x80\xa9", "", "a\\u2028b\\u2029"),
        CASE("interlinear annotation U+FFF9..U+FFFB", "\xef\xbf\xb9\xef\xbf\xbb", "", "\\ufff9\\ufffb"),
        CASE("tags beyond the BMP: U+E0001, U+E007F", "\xf3\xa0\x80\x81\xf3\xa0\x81\xbf", "", "\\U000e0001\\U000e007f"),
        CASE("neighbours stay: U+200A, U+2030, U+2070", "\xe2\x80\x8a\xe2\x80\xb0\xe2\x81\xb0", "",
             "\xe2\x80\x8a\xe2\x80\xb0\xe2\x81\xb0"),

        CASE("invalid: a lone 0xff", "bad\xff", "", "bad\\xff"),
        CASE("invalid: overlong '/'", "\xc0\xaf", "", "\\xc0\\xaf"),
        CASE("invalid: a surrogate", "\xed\xa0\x80", "", "\\xed\\xa0\\x80"),
        CASE("invalid: beyond U+10FFFF", "\xf4\x90\x80\x80", "", "\\xf4\\x90\\x80\\x80"),
        CASE("invalid: a cut sequence at the end", "a\xe6\x97", "", "a\\xe6\\x97"),
        CASE("invalid: a lead byte, then ASCII", "\xe6" "ab", "", "\\xe6ab"),

        CASE("specials: trace's ; = [ ]", "a;b=c[d]", ";=[]", "a\\x3bb\\x3dc\\x5bd\\x5d"),
        CASE("specials only where asked", "a;b=c[d]", "", "a;b=c[d]"),
        CASE("specials with the rest", "k=\xe2\x80\xae;\n", ";=", "k\\x3d\\u202e\\x3b\\x0a"),
};

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The code point of "HHHH..." (n lowercase hex digits), or -1. */
static long hexnum(const char *s, size_t n) {
        long v = 0;

        for (size_t i = 0; i < n; i++) {
                if (hexval(s[i]) < 0)
                        return -1;
                v = v * 16 + hexval(s[i]);
        }
        return v;
}

static size_t put_utf8(char *out, long c) {
        if (c < 0x80)
                return out[0] = (char) c, 1;
        if (c < 0x800)
                return out[0] = (char) (0xc0 | c >> 6), out[1] = (char) (0x80 | (c & 0x3f)), 2;
        if (c < 0x10000) {
                out[0] = (char) (0xe0 | c >> 12);
                out[1] = (char) (0x80 | ((c >> 6) & 0x3f));
                out[2] = (char) (0x80 | (c & 0x3f));
                return 3;
        }
        out[0] = (char) (0xf0 | c >> 18);
        out[1] = (char) (0x80 | ((c >> 12) & 0x3f));
        out[2] = (char) (0x80 | ((c >> 6) & 0x3f));
        out[3] = (char) (0x80 | (c & 0x3f));
        return 4;
}

/*
 * vmctl(1)'s reading back: \xHH is that byte, \uHHHH and \UHHHHHHHH that
 * code point in UTF-8; nothing else has a backslash.  Into out; its length,
 * or -1 for text no escaping makes.
 */
static long unescape(const char *s, char *out) {
        static const struct { char kind; size_t digits; } forms[] = { { 'x', 2 }, { 'u', 4 }, { 'U', 8 } };
        size_t len = 0;

        while (*s) {
                size_t f = 0;
                if (*s != '\\') {
                        out[len++] = *s++;
                        continue;
                }
                while (f < ELEMENTSOF(forms) && s[1] != forms[f].kind)
                        f++;
                if (f == ELEMENTSOF(forms) || strnlen(s + 2, forms[f].digits) < forms[f].digits)
                        return -1;
                long c = hexnum(s + 2, forms[f].digits);
                if (c < 0)
                        return -1;
                if (f == 0)
                        out[len++] = (char) c;
                else
                        len += put_utf8(out + len, c);
                s += 2 + forms[f].digits;
        }
        return (long) len;
}

static void test_case(const struct printable_case *t) {
        size_t n = t->len ? t->len : strlen(t->in);
        _cleanup_free_ char *got = printable_dup(t->in, n, t->specials);
        char back[256];

        if (!tap_ok(got && strcmp(got, t->want) == 0, "%s", t->what))
                tap_diag("got \"%s\", want \"%s\"", strempty(got), t->want);
        long b = unescape(t->want, back);
        tap_ok(b == (long) n && memcmp(back, t->in, n) == 0, "%s: reads back as the input", t->what);
}

/* printable_fput() writes what printable_dup() makes. */
static void test_fput(void) {
        static const char in[] = "a\x1b\xe2\x80\xae\\\xff;";
        _cleanup_free_ char *want = printable_dup(in, sizeof in - 1, ";");
        _cleanup_free_ char *got = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&got, &len);

        if (!f || !want) {
                tap_ok(false, "fput: set up");
                return;
        }
        printable_fput(f, in, sizeof in - 1, ";");
        fclose(f);
        if (!tap_ok(strcmp(got, want) == 0, "fput writes what dup returns"))
                tap_diag("got \"%s\", want \"%s\"", got, want);
}

/* A cut buffer holds whole units only: never half an escape, never half a character. */
static void test_cut(void) {
        static const struct {
                size_t size;
                const char *want;
        } cuts[] = {
                { 1, "" }, { 2, "a" }, { 5, "a" }, { 6, "a\\x1b" }, { 8, "a\\x1b" }, { 12, "a\\x1b\\u202e" },
                { 13, "a\\x1b\\u202e" }, { 14, "a\\x1b\\u202e\xc3\xa9" }, { 15, "a\\x1b\\u202e\xc3\xa9" "b" },
        };
        static const char in[] = "a\x1b\xe2\x80\xae\xc3\xa9" "b";
        char buf[32];

        for (size_t i = 0; i < ELEMENTSOF(cuts); i++) {
                size_t len = printable_escape(buf, cuts[i].size, in, sizeof in - 1, "");
                if (!tap_ok(strcmp(buf, cuts[i].want) == 0 && len == strlen(buf), "cut to %zu bytes", cuts[i].size))
                        tap_diag("got \"%s\", want \"%s\"", buf, cuts[i].want);
        }
        tap_ok(printable_escape(buf, 0, in, sizeof in - 1, "") == 0, "cut to nothing writes nothing");
}

/* The worst case, every byte a \xHH, fits PRINTABLE_SIZE(). */
static void test_size(void) {
        static const char in[] = "\x01\xff\x7f\\";
        char buf[PRINTABLE_SIZE(sizeof in - 1)];

        tap_ok(printable_escape(buf, sizeof buf, in, sizeof in - 1, "") == sizeof buf - 1, "PRINTABLE_SIZE() is enough");
}

static void test_valid(void) {
        tap_ok(printable_utf8_valid("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x92\xa5", 14), "utf8_valid: valid UTF-8");
        tap_ok(printable_utf8_valid("\xc2\x85\xe2\x80\xae", 5), "utf8_valid: C1 and bidi are valid UTF-8");
        tap_ok(!printable_utf8_valid("bad\xff", 4), "utf8_valid: 0xff is not");
        tap_ok(!printable_utf8_valid("\xed\xa0\x80", 3), "utf8_valid: a surrogate is not");
        tap_ok(!printable_utf8_valid("\xe6\x97", 2), "utf8_valid: a cut sequence is not");
}

int main(void) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                test_case(&cases[i]);
        test_fput();
        test_cut();
        test_size();
        test_valid();
        return tap_done();
}
