#include "core/str.h"

#include <errno.h>
#include <limits.h>

int str_to_int64(struct str s, long long *ret)
{
    size_t i = 0;
    int neg = 0;
    unsigned long long v = 0;

    if (s.len == 0)
        return -EINVAL;
    if (s.p[0] == '-') {
        neg = 1;
        i = 1;
        if (s.len == 1)
            return -EINVAL;
    }
    for (; i < s.len; i++) {
        unsigned d = (unsigned char)s.p[i] - '0';
        if (d > 9)
            return -EINVAL;
        if (v > (ULLONG_MAX - d) / 10)
            return -EINVAL;
        v = v * 10 + d;
    }
    if (!neg && v > (unsigned long long)LLONG_MAX)
        return -EINVAL;
    if (neg && v > (unsigned long long)LLONG_MAX + 1)
        return -EINVAL;
    *ret = neg ? (long long)(0 - v) : (long long)v;
    return 0;
}
