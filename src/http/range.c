/*
 * range.c: the Range request header (RFC 9110 §14), single ranges only.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "http/http.h"

static bool parse_u64(const char **cur, uint64_t *ret)
{
    const char *c = *cur;
    uint64_t v = 0;
    if (*c < '0' || *c > '9')
        return false;
    for (; *c >= '0' && *c <= '9'; c++) {
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*c - '0');
    }
    *cur = c;
    *ret = v;
    return true;
}

/*
 * One byte range of a file of `size` bytes (RFC 9110 §14.1.2, §14.2):
 * "bytes=a-b", "bytes=a-", "bytes=-n". A header that does not parse, or
 * asks for several ranges, is ignored (the whole file, 200), as §14.2
 * allows. Unsatisfiable: a first byte past the end, or a suffix of 0.
 */
enum http_range http_parse_range(const char *h, uint64_t size, uint64_t *ret_first, uint64_t *ret_last)
{
    if (!h || size == 0 || strncasecmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        return HTTP_RANGE_WHOLE;
    const char *c = h + 6;
    while (*c == ' ' || *c == '\t')
        c++;
    uint64_t first, last;
    if (*c == '-') {
        c++;
        uint64_t n;
        if (!parse_u64(&c, &n))
            return HTTP_RANGE_WHOLE;
        while (*c == ' ' || *c == '\t')
            c++;
        if (*c)
            return HTTP_RANGE_WHOLE;
        if (n == 0)
            return HTTP_RANGE_UNSATISFIABLE;
        first = n >= size ? 0 : size - n;
        last = size - 1;
    } else {
        if (!parse_u64(&c, &first) || *c++ != '-')
            return HTTP_RANGE_WHOLE;
        last = UINT64_MAX;
        if (*c >= '0' && *c <= '9' && !parse_u64(&c, &last))
            return HTTP_RANGE_WHOLE;
        while (*c == ' ' || *c == '\t')
            c++;
        if (*c || last < first)
            return HTTP_RANGE_WHOLE;
        if (first >= size)
            return HTTP_RANGE_UNSATISFIABLE;
        if (last >= size)
            last = size - 1;
    }
    *ret_first = first;
    *ret_last = last;
    return HTTP_RANGE_PART;
}

