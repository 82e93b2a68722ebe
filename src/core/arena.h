/*
 * struct arena: a per-request bump allocator with a byte budget.
 *
 * DESIGN: handlers allocate from req->arena and never free; everything goes
 * at once in arena_free(). Blocks come from malloc in growing sizes; a
 * request that would take the arena past its budget gets NULL (and the
 * arena remembers -E2BIG), so no request can make the server allocate
 * without bound. Under ASan the unused tail of each block is poisoned, so
 * overruns are still caught (after lwan's arena). Non-memory resources
 * (statements, files) register a cleanup that runs, last registered first,
 * when the arena is freed.
 *
 * An arena is not thread-safe; it may be handed between threads as long as
 * one thread at a time uses it (the writer thread fills a suspended
 * request's arena while the request thread waits).
 */
#ifndef ANNOTD_CORE_ARENA_H
#define ANNOTD_CORE_ARENA_H

#include <stddef.h>

#include "core/str.h"

struct arena_block;
struct arena_cleanup;

struct arena {
    struct arena_block *head;
    struct arena_cleanup *cleanups;
    size_t used;   /* bytes taken from malloc, blocks included */
    size_t budget; /* maximum for used; 0 means unlimited */
    int err;       /* first failure: -ENOMEM or -E2BIG */
};

void arena_init(struct arena *a, size_t budget);

/* Run the cleanups, free every block, and leave the arena empty and usable. */
void arena_free(struct arena *a);

/* Allocate `n` bytes aligned for any type; NULL when over budget or OOM. */
void *arena_alloc(struct arena *a, size_t n);

/* Zeroed allocation of n * size bytes, overflow-checked. */
void *arena_calloc(struct arena *a, size_t n, size_t size);

/* NUL-terminated copies. */
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t len);
static inline char *arena_strdup_str(struct arena *a, struct str s)
{
    return arena_strndup(a, s.p, s.len);
}

/* printf into the arena. */
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Register fn(ctx) to run at arena_free(). Returns 0 or -ENOMEM/-E2BIG. */
int arena_defer(struct arena *a, void (*fn)(void *ctx), void *ctx);

#endif
