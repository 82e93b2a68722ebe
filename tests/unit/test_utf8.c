/*
 * Unit tests for src/core/utf8: validation (RFC 3629 §4), code point
 * counts and offsets (text offsets on the wire are code points).
 *
 * Besides hand-picked cases, utf8_valid() is compared with an independent
 * decode-then-check reference over every 1-, 2- and 3-byte input and a
 * large slice of the 4-byte ones.
 */
/* cmocka needs these before it, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <string.h>

#include "core/utf8.h"

#define S(lit) (lit), (sizeof(lit) - 1)

/* ---- reference: decode each sequence, then check the value ---- */

static bool ref_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 3, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (len - i < n)
            return false;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n;
    }
    return true;
}

static void test_valid_cases(void **state)
{
    (void)state;
    assert_true(utf8_valid(S("")));
    assert_true(utf8_valid(NULL, 0));
    assert_true(utf8_valid(S("plain ASCII \x01\x7f")));
    assert_true(utf8_valid(S("a\0b")));             /* U+0000 is a code point like any other */
    assert_true(utf8_valid(S("\xc2\x80")));         /* U+0080, first 2-byte */
    assert_true(utf8_valid(S("\xdf\xbf")));         /* U+07FF, last 2-byte */
    assert_true(utf8_valid(S("\xe0\xa0\x80")));     /* U+0800, first 3-byte */
    assert_true(utf8_valid(S("\xed\x9f\xbf")));     /* U+D7FF, before surrogates */
    assert_true(utf8_valid(S("\xee\x80\x80")));     /* U+E000, after surrogates */
    assert_true(utf8_valid(S("\xef\xbf\xbf")));     /* U+FFFF */
    assert_true(utf8_valid(S("\xef\xbb\xbf")));     /* BOM */
    assert_true(utf8_valid(S("\xf0\x90\x80\x80"))); /* U+10000, first 4-byte */
    assert_true(utf8_valid(S("\xf4\x8f\xbf\xbf"))); /* U+10FFFF, the last */
    assert_true(utf8_valid(S("\xe4\xb8\xad\xe6\x96\x87")));                     /* 中文 */
    assert_true(utf8_valid(S("\xf0\x9f\x98\x80")));                             /* 😀 */
    assert_true(utf8_valid(S("\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9"))); /* 👨‍👩 */
    assert_true(utf8_valid(S("e\xcc\x81")));                                    /* e + U+0301 */
}

static void test_invalid_cases(void **state)
{
    static const struct {
        const char *p;
        size_t len;
        const char *why;
    } bad[] = {
        { S("\x80"), "lone continuation" },
        { S("\xbf"), "lone continuation" },
        { S("a\x80z"), "continuation after ASCII" },
        { S("\xc0\x80"), "overlong NUL" },
        { S("\xc0\xaf"), "overlong '/'" },
        { S("\xc1\xbf"), "overlong 2-byte" },
        { S("\xe0\x80\xaf"), "overlong 3-byte '/'" },
        { S("\xe0\x9f\xbf"), "overlong U+07FF" },
        { S("\xf0\x80\x80\xaf"), "overlong 4-byte '/'" },
        { S("\xf0\x8f\xbf\xbf"), "overlong U+FFFF" },
        { S("\xed\xa0\x80"), "surrogate U+D800" },
        { S("\xed\xaf\xbf"), "surrogate U+DBFF" },
        { S("\xed\xb0\x80"), "surrogate U+DC00" },
        { S("\xed\xbf\xbf"), "surrogate U+DFFF" },
        { S("\xed\xa0\xbd\xed\xb8\x80"), "CESU-8 surrogate pair" },
        { S("\xf4\x90\x80\x80"), "U+110000" },
        { S("\xf5\x80\x80\x80"), "lead F5" },
        { S("\xf7\xbf\xbf\xbf"), "lead F7" },
        { S("\xf8\x88\x80\x80\x80"), "5-byte form" },
        { S("\xfc\x84\x80\x80\x80\x80"), "6-byte form" },
        { S("\xfe"), "FE" },
        { S("\xff"), "FF" },
        { S("\xc3"), "truncated 2-byte" },
        { S("\xe4\xb8"), "truncated 3-byte" },
        { S("\xf0\x9f\x98"), "truncated 4-byte" },
        { S("abc\xe4\xb8"), "truncated at the end" },
        { S("\xe4\xb8"
            "a"),
          "ASCII inside a sequence" },
        { S("\xc3\xc3\xa9"), "lead inside a sequence" },
        { S("\xe4\x41\xad"), "bad second byte" },
        { S("\xe4\xb8\x41"), "bad third byte" },
        { S("\xf0\x9f\x98\x41"), "bad fourth byte" },
        { S("\xf0\x9f\x98\xc0"), "lead as fourth byte" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (utf8_valid(bad[i].p, bad[i].len))
            fail_msg("accepted invalid UTF-8: %s (case %zu)", bad[i].why, i);
}

static void test_valid_is_bounded(void **state)
{
    const char *cjk = "\xe4\xb8\xad";

    (void)state;
    /* a valid sequence cut by len is invalid; the byte after is never read */
    assert_true(utf8_valid(cjk, 3));
    assert_false(utf8_valid(cjk, 2));
    assert_false(utf8_valid(cjk, 1));
    assert_true(utf8_valid(cjk, 0));
    assert_true(utf8_valid("ab\xff", 2));
}

static void test_exhaustive_short(void **state)
{
    unsigned char s[3];

    (void)state;
    for (unsigned a = 0; a < 256; a++) {
        s[0] = (unsigned char)a;
        if (utf8_valid((char *)s, 1) != ref_valid(s, 1))
            fail_msg("1-byte %02x", a);
        for (unsigned b = 0; b < 256; b++) {
            s[1] = (unsigned char)b;
            if (utf8_valid((char *)s, 2) != ref_valid(s, 2))
                fail_msg("2-byte %02x %02x", a, b);
            for (unsigned c = 0; c < 256; c++) {
                s[2] = (unsigned char)c;
                if (utf8_valid((char *)s, 3) != ref_valid(s, 3))
                    fail_msg("3-byte %02x %02x %02x", a, b, c);
            }
        }
    }
}

static void test_exhaustive_four(void **state)
{
    /* every lead and second byte, the interesting third and fourth bytes */
    static const unsigned char edge[] = { 0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90,
                                          0x9f, 0xa0, 0xbf, 0xc0, 0xf4, 0xff };
    unsigned char s[4];

    (void)state;
    for (unsigned a = 0x80; a < 256; a++) {
        for (unsigned b = 0; b < 256; b++) {
            for (size_t c = 0; c < sizeof(edge); c++) {
                for (size_t d = 0; d < sizeof(edge); d++) {
                    s[0] = (unsigned char)a, s[1] = (unsigned char)b;
                    s[2] = edge[c], s[3] = edge[d];
                    if (utf8_valid((char *)s, 4) != ref_valid(s, 4))
                        fail_msg("4-byte %02x %02x %02x %02x", s[0], s[1], s[2], s[3]);
                }
            }
        }
    }
}

static void test_count(void **state)
{
    (void)state;
    assert_int_equal(utf8_count(S("")), 0);
    assert_int_equal(utf8_count(NULL, 0), 0);
    assert_int_equal(utf8_count(S("abc")), 3);
    assert_int_equal(utf8_count(S("a\0b")), 3);
    assert_int_equal(utf8_count(S("\xc3\xa9")), 1);                 /* é */
    assert_int_equal(utf8_count(S("\xe4\xb8\xad\xe6\x96\x87")), 2); /* 中文 */
    assert_int_equal(utf8_count(S("\xf0\x9f\x98\x80")), 1);         /* 😀 */
    assert_int_equal(utf8_count(S("e\xcc\x81")), 2);                /* combining: 2 code points */
    /* 张三在😀北京 Hello */
    assert_int_equal(utf8_count(S("\xe5\xbc\xa0\xe4\xb8\x89\xe5\x9c\xa8\xf0\x9f\x98\x80\xe5\x8c\x97"
                                  "\xe4\xba\xac Hello")),
                     12);
    /* ZWJ sequence: man, ZWJ, woman */
    assert_int_equal(utf8_count(S("\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9")), 3);
}

static void test_offset(void **state)
{
    /* a 中 😀 b: 1 + 3 + 4 + 1 bytes */
    const char *t = "a\xe4\xb8\xad\xf0\x9f\x98\x80"
                    "b";
    size_t len = strlen(t);

    (void)state;
    assert_int_equal(len, 9);
    assert_int_equal(utf8_offset(t, len, 0), 0);
    assert_int_equal(utf8_offset(t, len, 1), 1);
    assert_int_equal(utf8_offset(t, len, 2), 4);
    assert_int_equal(utf8_offset(t, len, 3), 8);
    assert_int_equal(utf8_offset(t, len, 4), 9); /* cp == count gives len */
    assert_int_equal(utf8_offset(t, len, 5), -1);
    assert_int_equal(utf8_offset(t, len, (size_t)-1), -1);

    assert_int_equal(utf8_offset("", 0, 0), 0);
    assert_int_equal(utf8_offset("", 0, 1), -1);
    assert_int_equal(utf8_offset(S("abc"), 2), 2);

    /* 中文 */
    assert_int_equal(utf8_offset(S("\xe4\xb8\xad\xe6\x96\x87"), 1), 3);
    assert_int_equal(utf8_offset(S("\xe4\xb8\xad\xe6\x96\x87"), 2), 6);
    assert_int_equal(utf8_offset(S("\xe4\xb8\xad\xe6\x96\x87"), 3), -1);
    /* 😀😀 */
    assert_int_equal(utf8_offset(S("\xf0\x9f\x98\x80\xf0\x9f\x98\x80"), 1), 4);
    assert_int_equal(utf8_offset(S("\xf0\x9f\x98\x80\xf0\x9f\x98\x80"), 2), 8);
}

static void test_offset_consistent_with_count(void **state)
{
    static const char *const texts[] = {
        "",
        "ascii only",
        "\xe5\xbc\xa0\xe4\xb8\x89\xe5\x9c\xa8\xf0\x9f\x98\x80\xe5\x8c\x97\xe4\xba\xac Hello",
        "\xc3\xa9t\xc3\xa9 \xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9 \xef\xbf\xbf\xf4\x8f\xbf\xbf",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        const char *t = texts[i];
        size_t len = strlen(t), n = utf8_count(t, len);
        long prev = -1;
        assert_true(utf8_valid(t, len));
        for (size_t cp = 0; cp <= n; cp++) {
            long off = utf8_offset(t, len, cp);
            assert_true(off > prev);
            assert_true(off >= 0 && (size_t)off <= len);
            /* each offset starts a code point: the prefix is valid and holds cp of them */
            assert_true(utf8_valid(t, (size_t)off));
            assert_int_equal(utf8_count(t, (size_t)off), cp);
            prev = off;
        }
        assert_int_equal(prev, (long)len);
        assert_int_equal(utf8_offset(t, len, n + 1), -1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_cases),
        cmocka_unit_test(test_invalid_cases),
        cmocka_unit_test(test_valid_is_bounded),
        cmocka_unit_test(test_exhaustive_short),
        cmocka_unit_test(test_exhaustive_four),
        cmocka_unit_test(test_count),
        cmocka_unit_test(test_offset),
        cmocka_unit_test(test_offset_consistent_with_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
