#include "core/buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char buf_empty[1];

void buf_init(struct buf *b, size_t cap)
{
    b->p = buf_empty;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap ? cap : BUF_CAP_DEFAULT;
    b->err = 0;
}

void buf_release(struct buf *b)
{
    size_t cap = b->cap;
    if (b->alloc)
        free(b->p);
    buf_init(b, cap);
}

void buf_clear(struct buf *b)
{
    b->len = 0;
    b->err = 0;
    if (b->alloc)
        b->p[0] = '\0';
}

int buf_grow(struct buf *b, size_t extra)
{
    if (b->err)
        return b->err;
    if (extra > b->cap || b->len > b->cap - extra) {
        b->err = -E2BIG;
        return b->err;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->alloc)
        return 0;
    size_t n = b->alloc ? b->alloc : 64;
    while (n < need)
        n = n < SIZE_MAX / 2 ? n * 2 : need;
    char *p = realloc(b->alloc ? b->p : NULL, n);
    if (!p) {
        b->err = -ENOMEM;
        return b->err;
    }
    if (!b->alloc)
        p[0] = '\0';
    b->p = p;
    b->alloc = n;
    return 0;
}

int buf_add(struct buf *b, const void *p, size_t len)
{
    int r = buf_grow(b, len);
    if (r < 0)
        return r;
    if (len)
        memcpy(b->p + b->len, p, len);
    b->len += len;
    b->p[b->len] = '\0';
    return 0;
}

int buf_adds(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

int buf_addstr(struct buf *b, struct str s)
{
    return buf_add(b, s.p, s.len);
}

int buf_addch(struct buf *b, char c)
{
    return buf_add(b, &c, 1);
}

int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    char small[256];

    if (b->err)
        return b->err;
    va_copy(cp, ap);
    int n = vsnprintf(small, sizeof(small), fmt, cp);
    va_end(cp);
    if (n < 0) {
        b->err = -EINVAL;
        return b->err;
    }
    if ((size_t)n < sizeof(small))
        return buf_add(b, small, (size_t)n);
    int r = buf_grow(b, (size_t)n);
    if (r < 0)
        return r;
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int buf_addf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = buf_vaddf(b, fmt, ap);
    va_end(ap);
    return r;
}

void buf_truncate(struct buf *b, size_t len)
{
    if (len >= b->len)
        return;
    b->len = len;
    b->p[len] = '\0';
}

char *buf_detach(struct buf *b, size_t *ret_len)
{
    char *p = b->alloc ? b->p : strdup("");
    if (ret_len)
        *ret_len = b->alloc ? b->len : 0;
    size_t cap = b->cap;
    buf_init(b, cap);
    return p;
}
