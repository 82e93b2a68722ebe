/*
 * Unit tests for src/core/str: slices and str_to_int64.
 */
/* cmocka needs these before it, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "core/str.h"

static void test_int64_valid(void **state)
{
    static const struct {
        const char *in;
        long long want;
    } cases[] = {
        { "0", 0 },
        { "-0", 0 },
        { "7", 7 },
        { "-7", -7 },
        { "007", 7 },
        { "1234567890", 1234567890LL },
        { "9223372036854775807", LLONG_MAX },
        { "-9223372036854775808", LLONG_MIN },
        { "-9223372036854775807", -LLONG_MAX },
        { "00000000000000000000000000009223372036854775807", LLONG_MAX },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long long v = 42;
        int r = str_to_int64(str_from(cases[i].in), &v);
        if (r != 0 || v != cases[i].want)
            fail_msg("'%s': r=%d v=%lld, want %lld", cases[i].in, r, v, cases[i].want);
    }
}

static void test_int64_invalid(void **state)
{
    static const char *const cases[] = {
        "",
        "-",
        "--1",
        "+1",
        " 1",
        "1 ",
        "1a",
        "a1",
        "0x10",
        "1.0",
        "1e3",
        "9223372036854775808",   /* LLONG_MAX + 1 */
        "-9223372036854775809",  /* LLONG_MIN - 1 */
        "18446744073709551615",  /* ULLONG_MAX */
        "18446744073709551616",  /* ULLONG_MAX + 1 */
        "-18446744073709551616", /* wraps to 0 if unchecked */
        "99999999999999999999999999",
        "1-",
        "\xd9\xa3", /* ARABIC-INDIC DIGIT THREE is not a digit here */
        "/",        /* '0' - 1 */
        ":",        /* '9' + 1 */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long long v = 42;
        int r = str_to_int64(str_from(cases[i]), &v);
        if (r != -EINVAL)
            fail_msg("'%s': r=%d, want -EINVAL", cases[i], r);
        /* *ret is not written on failure */
        assert_int_equal(v, 42);
    }
}

static void test_int64_slice_bounds(void **state)
{
    long long v = 0;

    (void)state;
    /* only the slice is read, not up to a NUL */
    assert_int_equal(str_to_int64((struct str){ .p = "12345", .len = 3 }, &v), 0);
    assert_int_equal(v, 123);
    assert_int_equal(str_to_int64((struct str){ .p = "-9x", .len = 2 }, &v), 0);
    assert_int_equal(v, -9);
    /* an embedded NUL is junk */
    assert_int_equal(str_to_int64((struct str){ .p = "1\0002", .len = 3 }, &v), -EINVAL);
    /* empty slice, even with a NULL pointer */
    assert_int_equal(str_to_int64(STR_NULL, &v), -EINVAL);
    assert_int_equal(str_to_int64((struct str){ .p = "5", .len = 0 }, &v), -EINVAL);
}

static void test_str_helpers(void **state)
{
    (void)state;
    assert_int_equal(str_from(NULL).len, 0);
    assert_null(str_from(NULL).p);
    assert_int_equal(str_from("abc").len, 3);
    assert_int_equal(STR_LIT("abcd").len, 4);

    assert_true(str_eq(STR_LIT("abc"), str_from("abc")));
    assert_false(str_eq(STR_LIT("abc"), STR_LIT("abd")));
    assert_false(str_eq(STR_LIT("abc"), STR_LIT("ab")));
    assert_true(str_eq(STR_NULL, STR_LIT("")));
    assert_true(str_eq_cstr((struct str){ .p = "abcdef", .len = 3 }, "abc"));
    assert_false(str_eq_cstr((struct str){ .p = "abcdef", .len = 3 }, "abcdef"));

    assert_true(str_has_prefix(STR_LIT("/api/v1"), "/api"));
    assert_true(str_has_prefix(STR_LIT("/api"), ""));
    assert_false(str_has_prefix(STR_LIT("/a"), "/api"));
    assert_false(str_has_prefix(STR_NULL, "x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int64_valid),
        cmocka_unit_test(test_int64_invalid),
        cmocka_unit_test(test_int64_slice_bounds),
        cmocka_unit_test(test_str_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
