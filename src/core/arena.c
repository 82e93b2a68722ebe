#include "core/arena.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
# define ARENA_ASAN 1
#elif defined(__has_feature)
# if __has_feature(address_sanitizer)
#  define ARENA_ASAN 1
# endif
#endif
#ifdef ARENA_ASAN
# include <sanitizer/asan_interface.h>
# define POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
# define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
# define POISON(p, n)   ((void)(p), (void)(n))
# define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define ARENA_ALIGN      16
#define ARENA_FIRST_SIZE 4096
#define ARENA_MAX_BLOCK  (1u << 20)

struct arena_block {
    struct arena_block *next;
    size_t size; /* usable bytes in data[] */
    size_t used;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

struct arena_cleanup {
    struct arena_cleanup *next;
    void (*fn)(void *ctx);
    void *ctx;
};

void arena_init(struct arena *a, size_t budget)
{
    a->head = NULL;
    a->cleanups = NULL;
    a->used = 0;
    a->budget = budget;
    a->err = 0;
}

void arena_free(struct arena *a)
{
    struct arena_cleanup *c = a->cleanups;
    a->cleanups = NULL;
    /* cleanups live in the blocks: run them all before freeing any */
    while (c) {
        struct arena_cleanup *next = c->next;
        c->fn(c->ctx);
        c = next;
    }
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *next = b->next;
        UNPOISON(b->data, b->size);
        free(b);
        b = next;
    }
    arena_init(a, a->budget);
}

static struct arena_block *arena_new_block(struct arena *a, size_t min)
{
    size_t size = a->head ? a->head->size * 2 : ARENA_FIRST_SIZE;
    if (size > ARENA_MAX_BLOCK)
        size = ARENA_MAX_BLOCK;
    if (size < min)
        size = min;
    if (a->budget) {
        /* the last block may be smaller than doubling asks, so the whole budget is usable */
        size_t left = a->used < a->budget ? a->budget - a->used : 0;
        if (left < sizeof(struct arena_block) + min) {
            a->err = -E2BIG;
            return NULL;
        }
        if (size > left - sizeof(struct arena_block))
            size = left - sizeof(struct arena_block);
    }
    size_t total = sizeof(struct arena_block) + size;
    if (total < size || (a->budget && (total > a->budget || a->used > a->budget - total))) {
        a->err = -E2BIG;
        return NULL;
    }
    struct arena_block *b = malloc(total);
    if (!b) {
        a->err = -ENOMEM;
        return NULL;
    }
    b->size = size;
    b->used = 0;
    POISON(b->data, size);
    a->used += total;
    if (a->head && size == min && a->head->size - a->head->used > ARENA_ALIGN) {
        /* an oversized block: keep the current one first, it still has room */
        b->next = a->head->next;
        a->head->next = b;
    } else {
        b->next = a->head;
        a->head = b;
    }
    return b;
}

void *arena_alloc(struct arena *a, size_t n)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - ARENA_ALIGN) {
        a->err = -E2BIG;
        return NULL;
    }
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    struct arena_block *b = a->head;
    if (!b || b->size - b->used < need) {
        b = arena_new_block(a, need);
        if (!b)
            return NULL;
        if (b != a->head) {
            /* the oversized block went second: hand it out whole */
            b->used = need;
            UNPOISON(b->data, n);
            return b->data;
        }
    }
    void *p = b->data + b->used;
    b->used += need;
    UNPOISON(p, n);
    return p;
}

void *arena_calloc(struct arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        a->err = -E2BIG;
        return NULL;
    }
    void *p = arena_alloc(a, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
    char *p = arena_alloc(a, len + 1);
    if (!p)
        return NULL;
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

int arena_defer(struct arena *a, void (*fn)(void *ctx), void *ctx)
{
    struct arena_cleanup *c = arena_alloc(a, sizeof(*c));
    if (!c)
        return a->err;
    c->fn = fn;
    c->ctx = ctx;
    c->next = a->cleanups;
    a->cleanups = c;
    return 0;
}
