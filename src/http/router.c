/*
 * router: route table + method + raw path -> route index + params.
 *
 * DESIGN: pure code (no libmicrohttpd, no allocation) so that it can be
 * unit-tested and fuzzed alone. The raw path is split on '/' first and each
 * segment percent-decoded after (RFC 3986 §2.4), so "%2F" is data inside a
 * segment and never a separator. Tables are small (tens of routes): a linear
 * scan in table order is fast enough and makes precedence obvious.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/utf8.h"
#include "http/http_int.h"

static const struct {
    const char *name;
    unsigned bit;
} methods[] = {
    { "GET", HTTP_M_GET },         { "HEAD", HTTP_M_HEAD },   { "POST", HTTP_M_POST },
    { "PUT", HTTP_M_PUT },         { "PATCH", HTTP_M_PATCH }, { "DELETE", HTTP_M_DELETE },
    { "OPTIONS", HTTP_M_OPTIONS },
};

#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

unsigned router_method_bit(const char *method)
{
    if (!method)
        return 0;
    for (size_t i = 0; i < NMETHODS; i++)
        if (strcmp(method, methods[i].name) == 0)
            return methods[i].bit;
    return 0;
}

void router_allow_str(unsigned allow, char *out, size_t size)
{
    size_t len = 0;

    if (allow & HTTP_M_GET)
        allow |= HTTP_M_HEAD; /* HEAD is served by GET routes */
    if (size)
        out[0] = '\0';
    for (size_t i = 0; i < NMETHODS; i++) {
        if (!(allow & methods[i].bit))
            continue;
        int n = snprintf(out + len, size - len, "%s%s", len ? ", " : "", methods[i].name);
        if (n < 0 || (size_t)n >= size - len) {
            out[len] = '\0'; /* whole names only */
            return;
        }
        len += (size_t)n;
    }
}

/* ---- route paths ---- */

/* One segment of a route path starting at p (after a '/'); its length. */
static size_t route_seg_len(const char *p)
{
    return strcspn(p, "/");
}

static bool route_seg_is_param(const char *p, size_t len)
{
    return len >= 2 && p[0] == '{' && p[len - 1] == '}';
}

int router_check(const struct http_route *routes, size_t nroutes, size_t *ret_bad)
{
    for (size_t i = 0; i < nroutes; i++) {
        const struct http_route *rt = &routes[i];
        bool ok = router_method_bit(rt->method) != 0 && rt->handler && rt->path &&
                  rt->path[0] == '/' && strlen(rt->path) <= HTTP_MAX_PATH &&
                  !(rt->flags & HTTP_BODY_STREAM) == !rt->on_body;
        int nparams = 0;
        for (const char *p = ok ? rt->path + 1 : ""; ok;) {
            size_t len = route_seg_len(p);
            bool brace = memchr(p, '{', len) || memchr(p, '}', len);
            if (route_seg_is_param(p, len)) {
                ok = len > 2 && !memchr(p + 1, '{', len - 2) && !memchr(p + 1, '}', len - 2);
                nparams++;
            } else {
                ok = !brace && !memchr(p, '%', len); /* literals are stored decoded */
            }
            if (p[len] == '\0')
                break;
            p += len + 1;
        }
        if (!ok || nparams > HTTP_MAX_PARAMS) {
            if (ret_bad)
                *ret_bad = i;
            return -EINVAL;
        }
    }
    return 0;
}

/* ---- decoding ---- */

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int router_decode_path(struct str path, char *out)
{
    if (path.len == 0 || path.p[0] != '/')
        return -EINVAL;

    int nseg = 1;
    size_t o = 0, seg_start = 0;
    for (size_t i = 1; i <= path.len; i++) {
        if (i == path.len || path.p[i] == '/') {
            if (!utf8_valid(out + seg_start, o - seg_start))
                return -EINVAL;
            out[o++] = '\0';
            seg_start = o;
            if (i < path.len)
                nseg++;
            continue;
        }
        unsigned char c = (unsigned char)path.p[i];
        if (c <= 0x20 || c == 0x7f)
            return -EINVAL;
        if (c == '%') {
            if (path.len - i < 3)
                return -EINVAL;
            int hi = hexval((unsigned char)path.p[i + 1]);
            int lo = hexval((unsigned char)path.p[i + 2]);
            if (hi < 0 || lo < 0 || (hi | lo) == 0)
                return -EINVAL; /* an invalid escape, or %00 */
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        }
        out[o++] = (char)c;
    }
    return nseg;
}

/* ---- matching ---- */

static bool method_matches(const char *route_method, const char *method)
{
    if (strcmp(route_method, method) == 0)
        return true;
    return strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0;
}

/* Does the route's path match the decoded segments? Fills params when so. */
static bool path_matches(const char *rpath, const char *segs, int nseg, struct router_match *m)
{
    const char *p = rpath + 1;
    const char *s = segs;

    m->nparams = 0;
    for (int i = 0; i < nseg; i++) {
        size_t len = route_seg_len(p);
        size_t slen = strlen(s);
        if (route_seg_is_param(p, len)) {
            if (slen == 0 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return false;
            if (m->nparams >= HTTP_MAX_PARAMS)
                return false; /* router_check() refuses such tables */
            m->params[m->nparams++] = (struct str){ .p = s, .len = slen };
        } else if (len != slen || memcmp(p, s, len) != 0) {
            return false;
        }
        bool route_end = p[len] == '\0';
        if (route_end != (i == nseg - 1))
            return false; /* one of the two has more segments */
        p += len + 1;
        s += slen + 1;
    }
    return true;
}

enum router_status router_match(const struct http_route *routes,
                                size_t nroutes,
                                const char *method,
                                struct str path,
                                char *scratch,
                                struct router_match *ret)
{
    struct router_match m = { .route = -1 };

    int nseg = router_decode_path(path, scratch);
    if (nseg < 0) {
        *ret = m;
        return ROUTER_BAD_PATH;
    }
    for (size_t i = 0; i < nroutes; i++) {
        struct router_match cand = { .route = (int)i };
        if (!path_matches(routes[i].path, scratch, nseg, &cand))
            continue;
        if (method && method_matches(routes[i].method, method)) {
            cand.allow = 0;
            *ret = cand;
            return ROUTER_MATCH;
        }
        m.allow |= router_method_bit(routes[i].method);
    }
    *ret = m;
    return m.allow ? ROUTER_METHOD_NOT_ALLOWED : ROUTER_NOT_FOUND;
}
