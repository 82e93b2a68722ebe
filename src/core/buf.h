/*
 * struct buf: the one owning, growable byte buffer.
 *
 * Contract (after git's strbuf and curl's dynbuf):
 * - b->p is never NULL and always NUL-terminated, even after a failure.
 * - Every buffer has a size cap; growing past it fails with -E2BIG.
 * - Errors are sticky: after the first failure, appends are no-ops and
 *   b->err keeps the first error, so a builder checks once at the end.
 * - buf_release() frees the memory and re-initialises the buffer.
 */
#ifndef ANNOTD_CORE_BUF_H
#define ANNOTD_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

struct buf {
    char *p;      /* never NULL; NUL-terminated */
    size_t len;   /* bytes used, excluding the terminating NUL */
    size_t alloc; /* 0 while p points at the shared empty string */
    size_t cap;   /* maximum len */
    int err;      /* 0, or the first error (-ENOMEM, -E2BIG) */
};

#define BUF_CAP_DEFAULT ((size_t)64 << 20)

/* Initialise an empty buffer that may grow to `cap` bytes (0: default). */
void buf_init(struct buf *b, size_t cap);

/* Free the memory and leave an empty, usable buffer with the same cap. */
void buf_release(struct buf *b);

/* Forget the contents, keep the memory. Clears a sticky error. */
void buf_clear(struct buf *b);

/* Ensure room for `extra` more bytes. Returns 0 or the (sticky) error. */
int buf_grow(struct buf *b, size_t extra);

int buf_add(struct buf *b, const void *p, size_t len);
int buf_adds(struct buf *b, const char *s);
int buf_addstr(struct buf *b, struct str s);
int buf_addch(struct buf *b, char c);
int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Shorten to `len` bytes (no-op when longer than the content). */
void buf_truncate(struct buf *b, size_t len);

/* Hand the malloc'd string to the caller; the buffer is left empty. */
char *buf_detach(struct buf *b, size_t *ret_len);

static inline struct str buf_str(const struct buf *b)
{
    return (struct str){ .p = b->p, .len = b->len };
}

#endif
