/*
 * static: the browser workbench's files (web/dist, built by Vite).
 *
 * DESIGN: the server falls back here for a GET or HEAD that matches no
 * route, unless its path is under /api/ or is /healthz (those keep their
 * JSON 404). Nothing here knows the app: it serves a directory laid out
 * the way Vite builds one.
 *   /assets/...       hashed names that never change: the file or 404,
 *                     Cache-Control: public, max-age=31536000, immutable
 *   /name.ext         another file of the dir (favicon.ico): the file or 404,
 *                     Cache-Control: no-cache
 *   anything else     a client-side route: index.html, Cache-Control: no-cache
 * HTML gets a strict Content-Security-Policy (scripts, styles and fetches
 * only from this origin; no inline script or style); every reply gets
 * nosniff from reply.c. ETag (size and mtime) with If-None-Match → 304.
 *
 * Safety: the path is percent-decoded by the router's decoder (bad escapes,
 * %00 and control bytes are 400); then any segment ".", "..", one starting
 * with '.', holding '/' or '\\' (from %2F, %5C), or an empty one inside the
 * path is 404. The file is resolved with realpath() and must lie inside the
 * dir's own realpath (no symlink out of it), then opened with O_NOFOLLOW
 * and must be a regular file.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/http_int.h"

#define CACHE_IMMUTABLE  "public, max-age=31536000, immutable"
#define CACHE_REVALIDATE "no-cache"
#define HTML_CSP                                                                         \
 "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; " \
 "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    { "html", "text/html; charset=utf-8" },
    { "js", "text/javascript; charset=utf-8" },
    { "mjs", "text/javascript; charset=utf-8" },
    { "css", "text/css; charset=utf-8" },
    { "json", "application/json; charset=utf-8" },
    { "map", "application/json; charset=utf-8" },
    { "webmanifest", "application/manifest+json" },
    { "txt", "text/plain; charset=utf-8" },
    { "svg", "image/svg+xml" },
    { "png", "image/png" },
    { "jpg", "image/jpeg" },
    { "jpeg", "image/jpeg" },
    { "gif", "image/gif" },
    { "webp", "image/webp" },
    { "avif", "image/avif" },
    { "ico", "image/x-icon" },
    { "woff", "font/woff" },
    { "woff2", "font/woff2" },
    { "ttf", "font/ttf" },
    { "otf", "font/otf" },
    { "wasm", "application/wasm" },
};

static const char *type_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot)
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (strcasecmp(dot + 1, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

int http_static_init(struct http_server *s)
{
    if (!s->opt.static_dir)
        return 0;
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(s->opt.static_dir, real) || stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
        return -ENOENT;
    s->static_root = strdup(real);
    return s->static_root ? 0 : -ENOMEM;
}

bool http_static_applies(const struct http_server *s, const char *method, struct str raw_path)
{
    if (!s->static_root || (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0))
        return false;
    /* decoded, so that "/%61pi/..." stays an API path too */
    char scratch[HTTP_MAX_PATH + 1];
    if (raw_path.len > HTTP_MAX_PATH || router_decode_path(raw_path, scratch) < 0)
        return false;
    return strcmp(scratch, "api") != 0 && strcmp(scratch, "healthz") != 0;
}

/* "a\0b\0c\0" (nseg segments) → "a/b/c" in the arena, or NULL when a segment is unsafe. */
static char *join_safe(struct arena *a, const char *segs, int nseg, size_t len)
{
    char *out = arena_alloc(a, len + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    const char *s = segs;
    for (int i = 0; i < nseg; i++) {
        size_t n = strlen(s);
        bool last = i == nseg - 1;
        if ((n == 0 && !last) || s[0] == '.' || memchr(s, '/', n) || memchr(s, '\\', n))
            return NULL;
        if (i > 0)
            out[o++] = '/';
        memcpy(out + o, s, n);
        o += n;
        s += n + 1;
    }
    out[o] = '\0';
    return out;
}

static bool etag_matches(const char *inm, const char *etag)
{
    if (!inm)
        return false;
    if (strcmp(inm, "*") == 0)
        return true;
    /* a list of entity tags (RFC 9110 §13.1.2): ours anywhere in it */
    return strstr(inm, etag) != NULL;
}

static int serve_file(struct request *req, const char *root, const char *rel, const char *cache)
{
    char *full = arena_printf(&req->arena, "%s/%s", root, rel);
    if (!full)
        return -ENOMEM;
    char real[PATH_MAX];
    if (!realpath(full, real))
        return http_reply_error(req, 404, "not_found", "no such file", NULL);
    size_t rlen = strlen(root);
    if (strncmp(real, root, rlen) != 0 || real[rlen] != '/')
        return http_reply_error(req, 404, "not_found", "no such file", NULL);

    int fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return http_reply_error(req, 404, "not_found", "no such file", NULL);
    }

    char etag[64];
    snprintf(etag, sizeof(etag), "\"%" PRIx64 "-%" PRIx64 "\"", (uint64_t)st.st_size,
             (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec);
    const char *type = type_of(real);
    http_add_header(req, "Cache-Control", cache);
    http_add_header(req, "ETag", etag);
    if (strncmp(type, "text/html", 9) == 0)
        http_add_header(req, "Content-Security-Policy", HTML_CSP);
    if (etag_matches(http_header(req, "If-None-Match"), etag)) {
        close(fd);
        return http_reply_empty(req, 304); /* RFC 9110 §15.4.5 */
    }
    return http_reply_file(req, 200, type, fd, 0, (uint64_t)st.st_size);
}

static int static_serve(struct request *req)
{
    const struct http_server *s = req->conn->server;
    struct str raw = req->conn->raw_path;

    char *segs = arena_alloc(&req->arena, raw.len + 1);
    if (!segs)
        return -ENOMEM;
    int nseg = router_decode_path(raw, segs);
    if (nseg < 0)
        return http_reply_error(req, 400, "invalid_request", "malformed path", NULL);
    char *rel = join_safe(&req->arena, segs, nseg, raw.len);
    if (!rel)
        return http_reply_error(req, 404, "not_found", "no such file", NULL);

    const char *last = strrchr(rel, '/');
    last = last ? last + 1 : rel;
    if (strncmp(rel, "assets/", 7) == 0)
        return serve_file(req, s->static_root, rel, CACHE_IMMUTABLE);
    if (strchr(last, '.'))
        return serve_file(req, s->static_root, rel, CACHE_REVALIDATE);
    return serve_file(req, s->static_root, "index.html", CACHE_REVALIDATE);
}

const struct http_route http_static_route = {
    .method = "GET",
    .path = "/",
    .handler = static_serve,
    .flags = HTTP_PUBLIC,
};
