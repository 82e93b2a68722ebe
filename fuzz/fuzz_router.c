/*
 * libFuzzer target: the path matcher and its percent-decoder.
 * Input: first byte picks the method, the rest is the raw path.
 * Checks, beyond "no crash": a match's params are non-empty, NUL-terminated,
 * free of NUL and inside the scratch buffer; 404/405 fill no params; a bad
 * path is exactly what router_decode_path() refuses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"

static int handler(struct request *req)
{
    (void)req;
    return HTTP_DONE;
}

static int on_body(struct request *req, const char *p, size_t len)
{
    (void)req;
    (void)p;
    (void)len;
    return 0;
}

static const struct http_route routes[] = {
    { "GET", "/", handler, 1, 0, HTTP_PUBLIC, NULL },
    { "GET", "/api/v1/projects", handler, 1, 0, 0, NULL },
    { "POST", "/api/v1/projects", handler, 1, 1024, HTTP_BODY_JSON, NULL },
    { "GET", "/api/v1/projects/{id}", handler, 1, 0, 0, NULL },
    { "PATCH", "/api/v1/projects/{id}", handler, 1, 1024, HTTP_BODY_JSON, NULL },
    { "GET", "/api/v1/projects/{id}/tasks/{task}/results/{r}", handler, 1, 0, 0, NULL },
    { "PUT", "/api/v1/files/{a}/{b}/{c}/{d}", handler, 1, 10, HTTP_BODY_STREAM, on_body },
    { "DELETE", "/a b/\xc3\xa9", handler, 1, 0, 0, NULL },
};

static const char *const methods[] = { "GET",   "HEAD",   "POST",    "PUT",
                                       "PATCH", "DELETE", "OPTIONS", "BREW" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size - 1 > HTTP_MAX_PATH)
        return 0;
    const char *method = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
    size_t len = size - 1;
    /* exact-size copies, so ASan sees any read or write past them */
    char *path = malloc(len ? len : 1);
    char *scratch = malloc(len + 1);
    char *check = malloc(len + 1);
    if (!path || !scratch || !check)
        abort();
    memcpy(path, data + 1, len);

    struct router_match m;
    struct str raw = { .p = path, .len = len };
    enum router_status st =
        router_match(routes, sizeof(routes) / sizeof(routes[0]), method, raw, scratch, &m);
    int nseg = router_decode_path(raw, check);

    if ((st == ROUTER_BAD_PATH) != (nseg < 0))
        abort();
    if (st == ROUTER_MATCH) {
        if (m.route < 0 || (size_t)m.route >= sizeof(routes) / sizeof(routes[0]))
            abort();
        if (m.nparams < 0 || m.nparams > HTTP_MAX_PARAMS)
            abort();
        for (int i = 0; i < m.nparams; i++) {
            struct str p = m.params[i];
            if (p.len == 0 || p.p < scratch || p.p + p.len >= scratch + len + 1)
                abort();
            if (p.p[p.len] != '\0' || memchr(p.p, '\0', p.len))
                abort();
        }
    } else if (m.nparams != 0) {
        abort();
    }
    if (st == ROUTER_METHOD_NOT_ALLOWED && m.allow == 0)
        abort();

    free(check);
    free(scratch);
    free(path);
    return 0;
}
