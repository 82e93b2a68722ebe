/*
 * struct str: a borrowed slice of bytes. Never owns memory; never assumed
 * NUL-terminated. Arguments travel as (ptr, len) or as a struct str.
 */
#ifndef ANNOTD_CORE_STR_H
#define ANNOTD_CORE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct str {
    const char *p;
    size_t len;
};

#define STR_LIT(s) ((struct str){ .p = (s), .len = sizeof(s) - 1 })
#define STR_NULL   ((struct str){ .p = NULL, .len = 0 })

static inline struct str str_from(const char *s)
{
    return (struct str){ .p = s, .len = s ? strlen(s) : 0 };
}

static inline bool str_eq(struct str a, struct str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline bool str_eq_cstr(struct str a, const char *b)
{
    return str_eq(a, str_from(b));
}

static inline bool str_has_prefix(struct str a, const char *prefix)
{
    size_t n = strlen(prefix);
    return a.len >= n && memcmp(a.p, prefix, n) == 0;
}

/*
 * Parse a decimal int64 occupying the whole slice (optional leading '-').
 * Returns 0 and writes *ret, or -EINVAL (empty, junk, overflow).
 */
int str_to_int64(struct str s, long long *ret);

#endif
