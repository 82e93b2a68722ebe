/*
 * Unit tests for src/core/buf: the one owning byte buffer.
 *
 * The contract under test (core/buf.h): p never NULL and always
 * NUL-terminated, a size cap that fails with -E2BIG, a sticky first error,
 * and the lifecycle verbs init / clear / release / detach.
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
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

/* b->p is a NUL-terminated string of exactly b->len bytes. */
static void assert_terminated(const struct buf *b)
{
    assert_non_null(b->p);
    assert_int_equal(b->p[b->len], '\0');
    if (b->alloc)
        assert_true(b->len < b->alloc);
}

static void test_init_empty(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 0);
    assert_non_null(b.p);
    assert_string_equal(b.p, "");
    assert_int_equal(b.len, 0);
    assert_int_equal(b.alloc, 0);
    assert_int_equal(b.cap, BUF_CAP_DEFAULT);
    assert_int_equal(b.err, 0);
    assert_int_equal(buf_str(&b).len, 0);
    buf_release(&b); /* releasing an untouched buffer is fine */
    assert_string_equal(b.p, "");

    buf_init(&b, 10);
    assert_int_equal(b.cap, 10);
    buf_release(&b);
}

static void test_add_and_growth(void **state)
{
    struct buf b;
    char expect[5001];

    (void)state;
    buf_init(&b, 0);
    assert_int_equal(buf_adds(&b, "hello"), 0);
    assert_int_equal(buf_addch(&b, ' '), 0);
    assert_int_equal(buf_addstr(&b, STR_LIT("world")), 0);
    assert_int_equal(buf_add(&b, "!?", 1), 0);
    assert_string_equal(b.p, "hello world!");
    assert_int_equal(b.len, 12);
    assert_terminated(&b);

    /* grow well past the first allocation, one byte at a time */
    buf_clear(&b);
    for (int i = 0; i < 5000; i++) {
        expect[i] = (char)('a' + i % 26);
        assert_int_equal(buf_addch(&b, expect[i]), 0);
        assert_terminated(&b);
    }
    expect[5000] = '\0';
    assert_int_equal(b.len, 5000);
    assert_memory_equal(b.p, expect, 5001);

    /* a zero-length add changes nothing and still terminates */
    assert_int_equal(buf_add(&b, NULL, 0), 0);
    assert_int_equal(b.len, 5000);
    assert_terminated(&b);

    /* embedded NUL bytes are content */
    buf_clear(&b);
    assert_int_equal(buf_add(&b, "a\0b", 3), 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.p, "a\0b\0", 4);

    buf_release(&b);
}

static void test_grow_reserves(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 0);
    assert_int_equal(buf_grow(&b, 1000), 0);
    assert_true(b.alloc >= 1001);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.p, "");
    char *before = b.p;
    for (int i = 0; i < 1000; i++)
        buf_addch(&b, 'x');
    assert_ptr_equal(b.p, before); /* no reallocation within the reservation */
    assert_int_equal(b.len, 1000);
    assert_terminated(&b);

    /* growing by zero on an empty buffer still allocates room for the NUL */
    struct buf e;
    buf_init(&e, 0);
    assert_int_equal(buf_grow(&e, 0), 0);
    assert_terminated(&e);
    assert_string_equal(e.p, "");
    buf_release(&e);
    buf_release(&b);
}

static void test_cap_exact_and_over(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 8);
    assert_int_equal(buf_adds(&b, "12345678"), 0); /* exactly the cap */
    assert_int_equal(b.len, 8);
    assert_string_equal(b.p, "12345678");
    assert_int_equal(buf_addch(&b, '9'), -E2BIG);
    assert_int_equal(b.err, -E2BIG);
    assert_string_equal(b.p, "12345678"); /* content untouched, still terminated */
    assert_terminated(&b);
    buf_release(&b);

    /* one add larger than the cap fails at once, leaving an empty string */
    buf_init(&b, 4);
    assert_int_equal(buf_adds(&b, "12345"), -E2BIG);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.p, "");
    buf_release(&b);

    /* an absurd reservation cannot overflow the size arithmetic */
    buf_init(&b, 16);
    buf_adds(&b, "abc");
    assert_int_equal(buf_grow(&b, SIZE_MAX), -E2BIG);
    assert_int_equal(buf_grow(&b, SIZE_MAX - 1), -E2BIG);
    assert_string_equal(b.p, "abc");
    buf_release(&b);
}

static void test_sticky_error(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 5);
    assert_int_equal(buf_adds(&b, "abc"), 0);
    assert_int_equal(buf_adds(&b, "defgh"), -E2BIG);
    /* later appends that would fit are no-ops and report the first error */
    assert_int_equal(buf_addch(&b, 'd'), -E2BIG);
    assert_int_equal(buf_adds(&b, ""), -E2BIG);
    assert_int_equal(buf_addf(&b, "%d", 1), -E2BIG);
    assert_int_equal(buf_grow(&b, 0), -E2BIG);
    assert_string_equal(b.p, "abc");
    assert_int_equal(b.len, 3);
    assert_int_equal(b.err, -E2BIG);

    /* clear forgets the error and the content */
    buf_clear(&b);
    assert_int_equal(b.err, 0);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.p, "");
    assert_int_equal(buf_adds(&b, "12345"), 0);
    assert_string_equal(b.p, "12345");

    /* release forgets the error too and keeps the cap */
    buf_addch(&b, 'x');
    assert_int_equal(b.err, -E2BIG);
    buf_release(&b);
    assert_int_equal(b.err, 0);
    assert_int_equal(b.cap, 5);
    assert_int_equal(buf_adds(&b, "12345"), 0);
    assert_int_equal(buf_addch(&b, '6'), -E2BIG);
    buf_release(&b);
}

static void test_addf(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 0);
    assert_int_equal(buf_addf(&b, "%s=%d;", "a", 1), 0);
    assert_int_equal(buf_addf(&b, "%05.1f|%lld|%x", 3.14159, -9223372036854775807LL - 1, 255u), 0);
    assert_string_equal(b.p, "a=1;003.1|-9223372036854775808|ff");
    assert_int_equal(b.len, strlen(b.p));
    assert_int_equal(buf_addf(&b, "%s", ""), 0);
    assert_int_equal(b.len, strlen(b.p));
    buf_release(&b);
}

static void test_addf_long(void **state)
{
    struct buf b;
    char *big = malloc(10001);

    (void)state;
    assert_non_null(big);
    memset(big, 'q', 10000);
    big[10000] = '\0';

    /* longer than any on-stack scratch space: the second vsnprintf path */
    buf_init(&b, 0);
    buf_adds(&b, "<");
    assert_int_equal(buf_addf(&b, "%s|%d|%s", big, 42, big), 0);
    assert_int_equal(b.len, 1 + 10000 + 4 + 10000);
    assert_int_equal(b.p[0], '<');
    assert_memory_equal(b.p + 1, big, 10000);
    assert_memory_equal(b.p + 10001, "|42|", 4);
    assert_memory_equal(b.p + 10005, big, 10000);
    assert_terminated(&b);
    assert_int_equal(buf_addch(&b, '>'), 0);
    assert_int_equal(b.p[b.len - 1], '>');
    assert_terminated(&b);
    buf_release(&b);

    /* around the scratch boundary: every length from 250 to 260 */
    for (size_t n = 250; n <= 260; n++) {
        buf_init(&b, 0);
        assert_int_equal(buf_addf(&b, "%.*s", (int)n, big), 0);
        assert_int_equal(b.len, n);
        assert_terminated(&b);
        buf_release(&b);
    }

    /* a long format over the cap fails with -E2BIG and leaves the content */
    buf_init(&b, 1000);
    buf_adds(&b, "keep");
    assert_int_equal(buf_addf(&b, "%s", big), -E2BIG);
    assert_string_equal(b.p, "keep");
    assert_int_equal(b.err, -E2BIG);
    buf_release(&b);

    /* and a short one over the cap too */
    buf_init(&b, 6);
    buf_adds(&b, "keep");
    assert_int_equal(buf_addf(&b, "%d", 123), -E2BIG);
    assert_string_equal(b.p, "keep");
    buf_release(&b);

    free(big);
}

static void test_truncate(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 0);
    buf_truncate(&b, 0); /* on the shared empty string: no-op */
    assert_string_equal(b.p, "");
    buf_adds(&b, "abcdef");
    buf_truncate(&b, 10); /* longer: no-op */
    assert_string_equal(b.p, "abcdef");
    buf_truncate(&b, 3);
    assert_int_equal(b.len, 3);
    assert_string_equal(b.p, "abc");
    buf_truncate(&b, 0);
    assert_string_equal(b.p, "");
    buf_adds(&b, "xy");
    assert_string_equal(b.p, "xy");
    buf_release(&b);
}

static void test_clear_keeps_memory(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 0);
    buf_adds(&b, "some content that is here");
    char *p = b.p;
    size_t alloc = b.alloc;
    buf_clear(&b);
    assert_ptr_equal(b.p, p);
    assert_int_equal(b.alloc, alloc);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.p, "");
    buf_release(&b);

    /* clear on a never-grown buffer */
    buf_init(&b, 0);
    buf_clear(&b);
    assert_string_equal(b.p, "");
    assert_int_equal(b.alloc, 0);
}

static void test_detach(void **state)
{
    struct buf b;
    size_t len = 99;

    (void)state;
    buf_init(&b, 100);
    buf_adds(&b, "detached");
    char *s = buf_detach(&b, &len);
    assert_non_null(s);
    assert_string_equal(s, "detached");
    assert_int_equal(len, 8);
    /* the buffer is empty and usable, with the same cap */
    assert_string_equal(b.p, "");
    assert_int_equal(b.len, 0);
    assert_int_equal(b.alloc, 0);
    assert_int_equal(b.cap, 100);
    assert_int_equal(buf_adds(&b, "again"), 0);
    assert_string_equal(b.p, "again");
    assert_ptr_not_equal(b.p, s);
    free(s); /* the caller owns it: malloc'd */
    buf_release(&b);

    /* detaching an empty buffer gives a fresh, freeable "" */
    buf_init(&b, 0);
    len = 99;
    s = buf_detach(&b, &len);
    assert_non_null(s);
    assert_string_equal(s, "");
    assert_int_equal(len, 0);
    free(s);

    /* ret_len may be NULL */
    buf_adds(&b, "x");
    s = buf_detach(&b, NULL);
    assert_string_equal(s, "x");
    free(s);
    buf_release(&b);
}

static void test_release_reuse(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 0);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 100; i++)
            buf_addf(&b, "%d,", i);
        assert_int_equal(b.err, 0);
        assert_true(b.len > 100);
        buf_release(&b);
        assert_non_null(b.p);
        assert_string_equal(b.p, "");
        assert_int_equal(b.len, 0);
        assert_int_equal(b.alloc, 0);
        assert_int_equal(b.cap, BUF_CAP_DEFAULT);
    }
    buf_release(&b); /* twice in a row is fine */
}

static void test_buf_str(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 0);
    buf_adds(&b, "slice");
    struct str s = buf_str(&b);
    assert_ptr_equal(s.p, b.p);
    assert_int_equal(s.len, 5);
    assert_true(str_eq_cstr(s, "slice"));
    assert_true(str_has_prefix(s, "sli"));
    assert_false(str_has_prefix(s, "slices"));
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_empty),         cmocka_unit_test(test_add_and_growth),
        cmocka_unit_test(test_grow_reserves),      cmocka_unit_test(test_cap_exact_and_over),
        cmocka_unit_test(test_sticky_error),       cmocka_unit_test(test_addf),
        cmocka_unit_test(test_addf_long),          cmocka_unit_test(test_truncate),
        cmocka_unit_test(test_clear_keeps_memory), cmocka_unit_test(test_detach),
        cmocka_unit_test(test_release_reuse),      cmocka_unit_test(test_buf_str),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
