/*
 * Unit tests for src/core/arena: the per-request bump allocator.
 *
 * Checks alignment, the byte budget (NULL and a remembered -E2BIG),
 * oversized allocations, overflow in arena_calloc, the string helpers, and
 * that deferred cleanups run last-registered-first on arena_free(), after
 * which the arena is empty and usable again.
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

#include "core/arena.h"

#define ALIGNMENT 16

static void assert_aligned(const void *p)
{
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % ALIGNMENT, 0);
}

static void test_alloc_alignment(void **state)
{
    struct arena a;

    (void)state;
    arena_init(&a, 0);
    static const size_t sizes[] = { 1, 3, 7, 8, 15, 16, 17, 31, 33, 100, 4000, 5000, 1, 2 };
    unsigned char *prev = NULL;
    size_t prev_n = 0;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned char *p = arena_alloc(&a, sizes[i]);
        assert_aligned(p);
        /* writable over its whole size (ASan checks the bounds) */
        memset(p, 0xab, sizes[i]);
        /* no overlap with the previous allocation */
        if (prev)
            assert_true(p + sizes[i] <= prev || p >= prev + prev_n);
        prev = p;
        prev_n = sizes[i];
    }
    /* zero bytes still give a distinct, aligned pointer */
    void *z1 = arena_alloc(&a, 0);
    void *z2 = arena_alloc(&a, 0);
    assert_aligned(z1);
    assert_aligned(z2);
    assert_ptr_not_equal(z1, z2);
    assert_int_equal(a.err, 0);
    arena_free(&a);
}

static void test_many_small_allocations(void **state)
{
    struct arena a;
    enum { N = 20000 };
    int **ptrs = malloc(N * sizeof(*ptrs));

    (void)state;
    assert_non_null(ptrs);
    arena_init(&a, 0);
    for (int i = 0; i < N; i++) {
        ptrs[i] = arena_alloc(&a, sizeof(int));
        assert_aligned(ptrs[i]);
        *ptrs[i] = i;
    }
    /* nothing got overwritten across block boundaries */
    for (int i = 0; i < N; i++)
        assert_int_equal(*ptrs[i], i);
    assert_true(a.used >= N * ALIGNMENT);
    arena_free(&a);
    assert_int_equal(a.used, 0);
    assert_null(a.head);
    free(ptrs);
}

static void test_large_allocations(void **state)
{
    struct arena a;

    (void)state;
    arena_init(&a, 0);
    /* a small allocation, then one larger than any block, then small again */
    char *small1 = arena_alloc(&a, 10);
    memcpy(small1, "123456789", 10);
    size_t big_n = (size_t)3 << 20; /* above the 1 MiB block limit */
    unsigned char *big = arena_alloc(&a, big_n);
    assert_aligned(big);
    memset(big, 0x5a, big_n);
    char *small2 = arena_alloc(&a, 10);
    assert_aligned(small2);
    memcpy(small2, "abcdefghi", 10);
    unsigned char *big2 = arena_alloc(&a, big_n + 1);
    assert_aligned(big2);
    memset(big2, 0xa5, big_n + 1);
    /* the oversized blocks did not disturb the small ones */
    assert_string_equal(small1, "123456789");
    assert_string_equal(small2, "abcdefghi");
    assert_int_equal(big[0], 0x5a);
    assert_int_equal(big[big_n - 1], 0x5a);
    assert_int_equal(big2[big_n], 0xa5);
    assert_true(a.used >= 2 * big_n);
    assert_int_equal(a.err, 0);

    /* sizes near SIZE_MAX fail cleanly instead of wrapping */
    assert_null(arena_alloc(&a, SIZE_MAX));
    assert_int_equal(a.err, -E2BIG);
    assert_null(arena_alloc(&a, SIZE_MAX - 8));
    arena_free(&a);
}

static void test_budget(void **state)
{
    struct arena a;

    (void)state;
    arena_init(&a, 64 * 1024);
    assert_int_equal(a.budget, 64 * 1024);
    /* a single allocation above the budget: NULL and -E2BIG */
    assert_null(arena_alloc(&a, 65 * 1024));
    assert_int_equal(a.err, -E2BIG);
    arena_free(&a);
    assert_int_equal(a.err, 0);
    assert_int_equal(a.budget, 64 * 1024); /* the budget survives arena_free */

    /* many small ones until the budget runs out: never more than the budget */
    size_t got = 0;
    void *p;
    while ((p = arena_alloc(&a, 100)) != NULL) {
        memset(p, 1, 100);
        got += 100;
        assert_true(got < 64 * 1024);
    }
    assert_int_equal(a.err, -E2BIG);
    assert_true(a.used <= 64 * 1024);
    assert_true(got > 16 * 1024); /* and the budget is actually usable */
    /* other helpers fail the same way once the request cannot fit */
    a.err = 0;
    assert_null(arena_calloc(&a, 64 * 1024, 1));
    assert_int_equal(a.err, -E2BIG);
    arena_free(&a);

    /* after free, the whole budget is available again */
    assert_non_null(arena_alloc(&a, 30 * 1024));
    assert_int_equal(a.err, 0);
    arena_free(&a);
}

/*
 * The budget is what a request may use: an allocation fails only when it
 * cannot fit in what is left, not when the next block the arena would like
 * to take (twice the last one) is larger than what is left.
 */
static void test_budget_is_usable(void **state)
{
    static const size_t budgets[] = { 64 * 1024, 100 * 1024, 1 << 20, 3 << 20 };
    struct arena a;

    (void)state;
    for (size_t i = 0; i < sizeof(budgets) / sizeof(budgets[0]); i++) {
        size_t got = 0;
        arena_init(&a, budgets[i]);
        while (arena_alloc(&a, 100) != NULL)
            got += 100;
        assert_int_equal(a.err, -E2BIG);
        assert_true(a.used <= budgets[i]);
        size_t left = budgets[i] - a.used;
        arena_free(&a);
        /* what is left could not hold 100 bytes plus a block header */
        if (left >= 100 + 256)
            fail_msg("budget %zu: NULL with %zu bytes of budget left (%zu handed out)", budgets[i],
                     left, got);
    }
}

static void test_zeroed_calloc(void **state)
{
    struct arena a;

    (void)state;
    arena_init(&a, 0);
    /* dirty some memory, free, and check calloc zeroes what it returns */
    unsigned char *d = arena_alloc(&a, 1000);
    memset(d, 0xff, 1000);
    arena_free(&a);
    int *v = arena_calloc(&a, 250, sizeof(int));
    assert_aligned(v);
    for (int i = 0; i < 250; i++)
        assert_int_equal(v[i], 0);
    /* zero-sized requests succeed */
    assert_non_null(arena_calloc(&a, 0, 8));
    assert_non_null(arena_calloc(&a, 8, 0));
    assert_int_equal(a.err, 0);

    /* n * size overflowing size_t is refused, not wrapped to a small block */
    assert_null(arena_calloc(&a, SIZE_MAX / 2 + 2, 2));
    assert_int_equal(a.err, -E2BIG);
    arena_free(&a);
    assert_null(arena_calloc(&a, (size_t)1 << 33, (size_t)1 << 33));
    assert_int_equal(a.err, -E2BIG);
    arena_free(&a);
}

static void test_strings(void **state)
{
    struct arena a;

    (void)state;
    arena_init(&a, 0);
    char *s = arena_strdup(&a, "hello");
    assert_string_equal(s, "hello");
    assert_null(arena_strdup(&a, NULL));
    assert_string_equal(arena_strdup(&a, ""), "");

    char *n = arena_strndup(&a, "abcdef", 3);
    assert_string_equal(n, "abc");
    assert_string_equal(arena_strndup(&a, "xyz", 0), "");
    /* strndup copies exactly len bytes, embedded NULs included */
    char *nul = arena_strndup(&a, "a\0b", 3);
    assert_memory_equal(nul, "a\0b\0", 4);

    char *fromstr = arena_strdup_str(&a, (struct str){ .p = "slice-not-terminated", .len = 5 });
    assert_string_equal(fromstr, "slice");

    char *f = arena_printf(&a, "%s-%d-%05.2f-%lld", "x", -7, 2.5, 1234567890123LL);
    assert_string_equal(f, "x--7-02.50-1234567890123");
    assert_string_equal(arena_printf(&a, "%s", ""), "");

    /* a long printf goes through a fresh block */
    char *lng = malloc(9001);
    assert_non_null(lng);
    memset(lng, 'z', 9000);
    lng[9000] = '\0';
    char *lp = arena_printf(&a, "[%s]", lng);
    assert_non_null(lp);
    assert_int_equal(strlen(lp), 9002);
    assert_int_equal(lp[0], '[');
    assert_int_equal(lp[9001], ']');
    free(lng);

    /* earlier strings are intact */
    assert_string_equal(s, "hello");
    assert_string_equal(n, "abc");
    assert_int_equal(a.err, 0);
    arena_free(&a);
}

/* ---- cleanups ---- */

struct order {
    int seq[16];
    int n;
};

static struct order *order_log;

static void record(void *ctx)
{
    order_log->seq[order_log->n++] = (int)(intptr_t)ctx;
}

static void test_defer_reverse_order(void **state)
{
    struct arena a;
    struct order o = { .n = 0 };

    (void)state;
    order_log = &o;
    arena_init(&a, 0);
    for (int i = 1; i <= 5; i++) {
        assert_int_equal(arena_defer(&a, record, (void *)(intptr_t)i), 0);
        /* interleave allocations so that cleanups span blocks */
        assert_non_null(arena_alloc(&a, 3000));
    }
    assert_int_equal(o.n, 0); /* nothing runs before arena_free */
    arena_free(&a);
    assert_int_equal(o.n, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(o.seq[i], 5 - i);

    /* free again: the cleanups ran once and are gone */
    arena_free(&a);
    assert_int_equal(o.n, 5);
    order_log = NULL;
}

static void free_ctx(void *ctx)
{
    free(ctx);
}

/* A cleanup can release a non-arena resource (checked by ASan/LSan). */
static void test_defer_releases_resource(void **state)
{
    struct arena a;

    (void)state;
    arena_init(&a, 0);
    void *res = malloc(123);
    assert_non_null(res);
    assert_int_equal(arena_defer(&a, free_ctx, res), 0);
    arena_free(&a);
}

static void test_reuse_after_free(void **state)
{
    struct arena a;
    struct order o = { .n = 0 };

    (void)state;
    order_log = &o;
    arena_init(&a, 1 << 20);
    for (int round = 0; round < 4; round++) {
        char *s = arena_printf(&a, "round %d", round);
        assert_non_null(s);
        assert_int_equal(arena_defer(&a, record, (void *)(intptr_t)round), 0);
        void *p = arena_alloc(&a, 100000);
        assert_aligned(p);
        memset(p, round, 100000);
        assert_int_equal(a.err, 0);
        assert_true(a.used > 0);
        arena_free(&a);
        assert_null(a.head);
        assert_null(a.cleanups);
        assert_int_equal(a.used, 0);
        assert_int_equal(a.err, 0);
        assert_int_equal(a.budget, 1 << 20);
    }
    assert_int_equal(o.n, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(o.seq[i], i);
    order_log = NULL;
}

static void test_free_empty(void **state)
{
    struct arena a;

    (void)state;
    arena_init(&a, 0);
    arena_free(&a);
    arena_free(&a);
    assert_null(a.head);
    assert_int_equal(a.used, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_alignment),
        cmocka_unit_test(test_many_small_allocations),
        cmocka_unit_test(test_large_allocations),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_budget_is_usable),
        cmocka_unit_test(test_zeroed_calloc),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_defer_reverse_order),
        cmocka_unit_test(test_defer_releases_resource),
        cmocka_unit_test(test_reuse_after_free),
        cmocka_unit_test(test_free_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
