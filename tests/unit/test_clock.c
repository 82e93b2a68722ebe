/*
 * Unit tests for src/core/clock: RFC 3339 formatting and parsing.
 *
 * Expected instants were computed independently with Python's datetime
 * (proleptic Gregorian, UTC), e.g.
 *   datetime.fromtimestamp(1764360000123 / 1000, timezone.utc)
 *     -> 2025-11-28T20:00:00.123+00:00
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
#include <string.h>

#include "core/clock.h"

#define MS_YEAR_0    (-62167219200000LL) /* 0000-01-01T00:00:00.000Z */
#define MS_YEAR_9999 253402300799999LL   /* 9999-12-31T23:59:59.999Z */

static const struct {
    int64_t ms;
    const char *text;
} known[] = {
    { 0, "1970-01-01T00:00:00.000Z" },
    { 1, "1970-01-01T00:00:00.001Z" },
    { -1, "1969-12-31T23:59:59.999Z" },
    { -1000, "1969-12-31T23:59:59.000Z" },
    { -1001, "1969-12-31T23:59:58.999Z" },
    { 1764360000123LL, "2025-11-28T20:00:00.123Z" },
    { 1795896000000LL, "2026-11-28T20:00:00.000Z" },
    { 1709164800000LL, "2024-02-29T00:00:00.000Z" },
    { 951782400000LL, "2000-02-29T00:00:00.000Z" },
    { 946684800000LL, "2000-01-01T00:00:00.000Z" },
    { -2203891200000LL, "1900-03-01T00:00:00.000Z" },
    { -14182940000LL, "1969-07-20T20:17:40.000Z" },
    { -62135596800000LL, "0001-01-01T00:00:00.000Z" },
    { MS_YEAR_0, "0000-01-01T00:00:00.000Z" },
    { MS_YEAR_9999, "9999-12-31T23:59:59.999Z" },
};

static int parse_s(const char *s, int64_t *ret)
{
    return clock_parse(s, strlen(s), ret);
}

static void test_format_known(void **state)
{
    char out[CLOCK_RFC3339_LEN + 1];

    (void)state;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        memset(out, 'X', sizeof(out));
        clock_format(known[i].ms, out);
        assert_int_equal(out[CLOCK_RFC3339_LEN], '\0');
        if (strcmp(out, known[i].text) != 0)
            fail_msg("clock_format(%lld) = '%s', want '%s'", (long long)known[i].ms, out,
                     known[i].text);
    }
}

static void test_parse_known(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        int64_t ms = 42;
        int r = parse_s(known[i].text, &ms);
        if (r != 0 || ms != known[i].ms)
            fail_msg("clock_parse('%s') = %d, %lld; want %lld", known[i].text, r, (long long)ms,
                     (long long)known[i].ms);
    }
}

static void test_parse_offsets(void **state)
{
    static const struct {
        const char *text;
        int64_t ms;
    } cases[] = {
        { "2026-11-28T12:00:00+08:00", 1795838400000LL },
        { "2026-11-28T20:00:00+08:00", 1795896000000LL - 8 * 3600000LL },
        { "2026-11-28T20:00:00Z", 1795896000000LL },
        { "2026-11-28T20:00:00+00:00", 1795896000000LL },
        { "2026-11-28T20:00:00-00:00", 1795896000000LL },
        { "2026-11-28T15:00:00-05:00", 1795896000000LL },
        { "2026-11-29T04:00:00+08:00", 1795896000000LL },
        { "2026-11-28T05:30:00+05:30", 1795824000000LL },
        { "2026-01-01T00:30:00+01:00", 1767223800000LL }, /* crosses into the previous year */
        { "2026-11-28t20:00:00z", 1795896000000LL },      /* lower case T and Z */
        { "2026-11-28T20:00:00+23:59", 1795896000000LL - (23 * 60 + 59) * 60000LL },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ms = 0;
        int r = parse_s(cases[i].text, &ms);
        if (r != 0 || ms != cases[i].ms)
            fail_msg("clock_parse('%s') = %d, %lld; want %lld", cases[i].text, r, (long long)ms,
                     (long long)cases[i].ms);
    }
}

static void test_parse_fraction(void **state)
{
    static const struct {
        const char *text;
        int64_t ms;
    } cases[] = {
        { "2026-11-28T20:00:00.1Z", 1795896000100LL },
        { "2026-11-28T20:00:00.12Z", 1795896000120LL },
        { "2026-11-28T20:00:00.123Z", 1795896000123LL },
        { "2026-11-28T20:00:00.1239Z", 1795896000123LL },      /* truncated, not rounded */
        { "2026-11-28T20:00:00.999999999Z", 1795896000999LL }, /* nanoseconds */
        { "2026-11-28T20:00:00.000Z", 1795896000000LL },
        { "2026-11-28T20:00:00.0000000000000000000001Z", 1795896000000LL },
        { "2026-11-28T12:00:00.5+08:00", 1795838400500LL },
        { "1969-12-31T23:59:59.999Z", -1 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ms = 0;
        int r = parse_s(cases[i].text, &ms);
        if (r != 0 || ms != cases[i].ms)
            fail_msg("clock_parse('%s') = %d, %lld; want %lld", cases[i].text, r, (long long)ms,
                     (long long)cases[i].ms);
    }
}

static void test_parse_leap_years(void **state)
{
    int64_t ms = 0;

    (void)state;
    assert_int_equal(parse_s("2024-02-29T00:00:00Z", &ms), 0);
    assert_int_equal(ms, 1709164800000LL);
    assert_int_equal(parse_s("2000-02-29T12:00:00Z", &ms), 0); /* divisible by 400 */
    assert_int_equal(parse_s("0000-02-29T00:00:00Z", &ms), 0);
    assert_int_equal(parse_s("2023-02-28T23:59:59.999Z", &ms), 0);
    assert_int_equal(parse_s("2023-02-29T00:00:00Z", &ms), -EINVAL);
    assert_int_equal(parse_s("1900-02-29T00:00:00Z", &ms), -EINVAL); /* century, not 400 */
    assert_int_equal(parse_s("2100-02-29T00:00:00Z", &ms), -EINVAL);
    assert_int_equal(parse_s("2024-02-30T00:00:00Z", &ms), -EINVAL);
    /* the day after 2024-02-28 is 2024-02-29, then 03-01 */
    int64_t d28, d29, m01;
    assert_int_equal(parse_s("2024-02-28T00:00:00Z", &d28), 0);
    assert_int_equal(parse_s("2024-02-29T00:00:00Z", &d29), 0);
    assert_int_equal(parse_s("2024-03-01T00:00:00Z", &m01), 0);
    assert_int_equal(d29 - d28, 86400000LL);
    assert_int_equal(m01 - d29, 86400000LL);
}

static void test_parse_leap_second(void **state)
{
    int64_t ms = 0;

    (void)state;
    /* :60 is accepted and clamped to :59 */
    assert_int_equal(parse_s("2016-12-31T23:59:60Z", &ms), 0);
    assert_int_equal(ms, 1483228799000LL);
    assert_int_equal(parse_s("2016-12-31T23:59:61Z", &ms), -EINVAL);
}

static void test_parse_invalid(void **state)
{
    static const char *const bad[] = {
        "",
        "2026",
        "2026-11-28",
        "2026-11-28T20:00Z",
        "2026-11-28T20:00:00",      /* no offset */
        "2026-11-28 20:00:00Z",     /* we require T */
        "2026-11-28T20:00:00.Z",    /* empty fraction */
        "2026-11-28T20:00:00,5Z",   /* comma fraction */
        "2026-11-28T20:00:00ZZ",    /* trailing junk */
        "2026-11-28T20:00:00Z ",    /* trailing space */
        " 2026-11-28T20:00:00Z",    /* leading space */
        "2026-11-28T20:00:00+0800", /* offset without colon */
        "2026-11-28T20:00:00+08",
        "2026-11-28T20:00:00+08:0",
        "2026-11-28T20:00:00+24:00",
        "2026-11-28T20:00:00+08:60",
        "2026-11-28T20:00:00+08:00Z",
        "2026-11-28T20:00:00UTC",
        "2026/11/28T20:00:00Z",
        "2026-11-28T20-00-00Z",
        "2026-00-28T20:00:00Z",
        "2026-13-28T20:00:00Z",
        "2026-11-00T20:00:00Z",
        "2026-11-31T20:00:00Z", /* November has 30 days */
        "2026-04-31T20:00:00Z",
        "2026-01-32T20:00:00Z",
        "2026-11-28T24:00:00Z",
        "2026-11-28T23:60:00Z",
        "2026-11-28T2a:00:00Z",
        "+2026-11-28T20:00:00Z",
        "-026-11-28T20:00:00Z",
        "20261-11-28T20:00:00Z",
        "2026-1-28T20:00:00Z",
        "2026-11-28T20:00:00.1a2Z",
        "２026-11-28T20:00:00Z",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms = 4242;
        int r = parse_s(bad[i], &ms);
        if (r != -EINVAL)
            fail_msg("clock_parse('%s') = %d, want -EINVAL", bad[i], r);
        assert_int_equal(ms, 4242); /* not written on failure */
    }
}

static void test_parse_bounded(void **state)
{
    const char *s = "2026-11-28T20:00:00Zjunk";
    int64_t ms = 0;

    (void)state;
    /* only len bytes are read: the same text minus one byte is incomplete */
    assert_int_equal(clock_parse(s, 20, &ms), 0);
    assert_int_equal(ms, 1795896000000LL);
    for (size_t n = 0; n < 20; n++)
        assert_int_equal(clock_parse(s, n, &ms), -EINVAL);
    const char *off = "2026-11-28T12:00:00+08:00";
    for (size_t n = 20; n < strlen(off); n++)
        assert_int_equal(clock_parse(off, n, &ms), -EINVAL);
}

static void test_round_trip(void **state)
{
    char out[CLOCK_RFC3339_LEN + 1];

    (void)state;
    /* a walk over 10000 years in uneven steps, both signs of the epoch */
    int64_t step = 9876543211LL;
    for (int64_t ms = MS_YEAR_0; ms <= MS_YEAR_9999; ms += step) {
        int64_t back = 0;
        clock_format(ms, out);
        assert_int_equal(strlen(out), CLOCK_RFC3339_LEN);
        if (clock_parse(out, strlen(out), &back) != 0 || back != ms)
            fail_msg("round trip of %lld via '%s' gave %lld", (long long)ms, out, (long long)back);
    }
    /* every millisecond around the epoch and around a leap day */
    static const int64_t centres[] = { 0, 1709164800000LL, 951782400000LL, MS_YEAR_0 + 5000 };
    for (size_t c = 0; c < sizeof(centres) / sizeof(centres[0]); c++) {
        for (int64_t ms = centres[c] - 2500; ms <= centres[c] + 2500; ms++) {
            int64_t back = 0;
            clock_format(ms, out);
            assert_int_equal(clock_parse(out, strlen(out), &back), 0);
            assert_int_equal(back, ms);
        }
    }
}

/*
 * Values outside 0000..9999 cannot be written in four digits. Whatever
 * clock_format() writes for them must still be a valid RFC 3339 time, on
 * the correct side: the low end gives year 0000, the high end year 9999.
 */
static void test_format_out_of_range(void **state)
{
    static const struct {
        int64_t ms;
        const char *year;
    } cases[] = {
        { MS_YEAR_0 - 1, "0000-" },    { -100000000000000000LL, "0000-" },
        { INT64_MIN + 1000, "0000-" }, { INT64_MIN, "0000-" },
        { MS_YEAR_9999 + 1, "9999-" }, { 253407398400000LL, "9999-" }, /* 10000-02-29T00:00:00Z */
        { INT64_MAX, "9999-" },
    };
    char out[CLOCK_RFC3339_LEN + 1];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t back;
        memset(out, 'X', sizeof(out));
        clock_format(cases[i].ms, out);
        assert_int_equal(out[CLOCK_RFC3339_LEN], '\0');
        if (strncmp(out, cases[i].year, 5) != 0)
            fail_msg("clock_format(%lld) = '%s', want year %.4s", (long long)cases[i].ms, out,
                     cases[i].year);
        if (clock_parse(out, strlen(out), &back) != 0)
            fail_msg("clock_format(%lld) = '%s', which clock_parse rejects", (long long)cases[i].ms,
                     out);
    }
}

static void test_now(void **state)
{
    (void)state;
    int64_t now = clock_now_ms();
    assert_true(now > 1700000000000LL); /* after 2023-11 */
    assert_true(now < MS_YEAR_9999);
    int64_t m1 = clock_mono_ms();
    int64_t m2 = clock_mono_ms();
    assert_true(m1 >= 0);
    assert_true(m2 >= m1);
    char out[CLOCK_RFC3339_LEN + 1];
    int64_t back;
    clock_format(now, out);
    assert_int_equal(clock_parse(out, strlen(out), &back), 0);
    assert_int_equal(back, now);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_known),
        cmocka_unit_test(test_parse_known),
        cmocka_unit_test(test_parse_offsets),
        cmocka_unit_test(test_parse_fraction),
        cmocka_unit_test(test_parse_leap_years),
        cmocka_unit_test(test_parse_leap_second),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_parse_bounded),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_format_out_of_range),
        cmocka_unit_test(test_now),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
