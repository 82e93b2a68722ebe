/*
 * media.c: uploading and serving media (images, video, audio).
 *
 * POST /api/v1/media streams the body into the media dir while hashing it
 * (media_upload_*: constant memory, capped by --max-upload), then records
 * it for the caller's org. GET /api/v1/media/{id} serves the file (or
 * ?thumb=N) with libmicrohttpd's file response, one byte range at a time.
 * An org sees only media it uploaded itself: another org's id answers 404
 * even when the bytes are the same.
 *
 * libvips work (the upload's decode check, a thumbnail's first request)
 * runs in the handler, on an HTTP pool thread, bounded by media.h's job
 * limit; a large image holds that thread for a few seconds.
 */
#include "media/media.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api/api.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"

#define MEDIA_CACHE_CONTROL "private, max-age=31536000, immutable"
#define MEDIA_CSP           "default-src 'none'; sandbox"

/* ------------------------------------------------------------------ */
/* upload                                                              */

static void upload_free(void *p)
{
    media_upload_free(p);
}

int api_media_upload_body(struct request *req, const char *p, size_t len)
{
    struct api_app *app = api_app(req);
    if (!req->user) {
        if (!app->media)
            return -ERR_UNAVAILABLE;
        struct media_upload *u;
        int r = media_upload_begin(app->media, &u);
        if (r < 0)
            return r;
        /* removes the temp file unless finished, whatever ends the request */
        if (arena_defer(&req->arena, upload_free, u) < 0) {
            media_upload_free(u);
            return -ENOMEM;
        }
        req->user = u;
    }
    return media_upload_write(req->user, p, len);
}

struct media_put {
    struct store_media m;
    int64_t org_id, user_id;
    int created;
};

static int media_put_fn(struct store_tx *tx, void *ctx)
{
    struct media_put *c = ctx;
    int64_t now = clock_now_ms();
    int r = store_media_put(tx, &c->m, c->org_id, c->user_id, now);
    if (r < 0)
        return r;
    c->created = r;
    if (r == 1)
        r = store_audit(tx, c->org_id, c->user_id, "media.upload", "media", 0, c->m.id, now);
    return r < 0 ? r : 0;
}

static void media_to_json(struct buf *b, const struct store_media *m)
{
    struct jw w;
    jw_init(&w, b);
    jw_obj_begin(&w);
    jw_kstr(&w, "id", m->id);
    jw_kstr(&w, "mime", m->mime);
    jw_kint(&w, "bytes", m->bytes);
    jw_key(&w, "width");
    if (m->width > 0)
        jw_int(&w, m->width);
    else
        jw_null(&w);
    jw_key(&w, "height");
    if (m->height > 0)
        jw_int(&w, m->height);
    else
        jw_null(&w);
    jw_obj_end(&w);
}

int api_media_upload(struct request *req)
{
    struct api_app *app = api_app(req);
    if (req->body_error) {
        if (req->body_error != -ERR_TOO_LARGE)
            log_error("failed to receive a media upload: %s", err_str(req->body_error));
        return reply_errno(req, req->body_error);
    }
    if (!req->user)
        return reply_invalid(req, NULL, "the body is empty: send the file's bytes as the body");
    struct media_info info;
    char why[256];
    int r = media_upload_finish(req->user, &info, why, sizeof(why));
    switch (r) {
    case 0:
        break;
    case -ENODATA:
        return reply_invalid(req, NULL, "%s", why);
    case -ERR_UNSUPPORTED_MEDIA:
        http_reply_error(req, 415, "unsupported_media_type", why, NULL);
        return HTTP_DONE;
    case -EFBIG:
        http_reply_error(req, 400, "image_too_large", why, NULL);
        return HTTP_DONE;
    case -EBADMSG:
        http_reply_error(req, 400, "invalid_image", why, NULL);
        return HTTP_DONE;
    case -ERR_UNAVAILABLE:
        http_reply_error(req, 503, "unavailable", why, NULL);
        return HTTP_DONE;
    default:
        log_error("failed to store a media upload: %s", err_str(r));
        http_reply_error(req, 500, "internal", "failed to store the file", NULL);
        return HTTP_DONE;
    }

    struct media_put c = {
        .m = { .id = info.id,
               .mime = info.mime,
               .bytes = info.bytes,
               .width = info.width,
               .height = info.height },
        .org_id = req->principal.org_id,
        .user_id = req->principal.user_id,
    };
    r = store_write(app->store, media_put_fn, &c);
    if (r < 0)
        return reply_errno(req, r);
    struct buf b;
    buf_init(&b, 0);
    media_to_json(&b, &c.m);
    /* 201 when the org gains the media, 200 when it had the same bytes already */
    return reply_json(req, c.created ? 201 : 200, &b);
}

/* ------------------------------------------------------------------ */
/* download                                                            */

struct media_read {
    int64_t org_id;
    const char *id;
    struct arena *a;
    struct store_media m;
};

static int media_read_fn(struct store_tx *tx, void *ctx)
{
    struct media_read *c = ctx;
    return store_media_get(tx, c->org_id, c->id, c->a, &c->m);
}

/* Whether an If-None-Match list names etag (or is "*"), RFC 9110 §13.1.2 (weak compare). */
static bool etag_listed(const char *list, const char *etag)
{
    if (!list)
        return false;
    size_t n = strlen(etag);
    for (const char *c = list; *c;) {
        while (*c == ' ' || *c == '\t' || *c == ',')
            c++;
        if (*c == '*')
            return true;
        if (c[0] == 'W' && c[1] == '/')
            c += 2;
        if (strncmp(c, etag, n) == 0 &&
            (c[n] == '\0' || c[n] == ',' || c[n] == ' ' || c[n] == '\t'))
            return true;
        while (*c && *c != ',')
            c++;
    }
    return false;
}

static void add_media_headers(struct request *req, const char *etag, const char *filename)
{
    char disp[160];
    snprintf(disp, sizeof(disp), "inline; filename=\"%s\"", filename);
    http_add_header(req, "ETag", etag);
    http_add_header(req, "Cache-Control", MEDIA_CACHE_CONTROL);
    http_add_header(req, "Content-Disposition", disp);
    http_add_header(req, "Content-Security-Policy", MEDIA_CSP);
    http_add_header(req, "Accept-Ranges", "bytes");
}

/* ?thumb=N: 32..1024, else answers 400 and returns negative. */
static int thumb_size_or_reply(struct request *req, const char *q, int *ret)
{
    long long n;
    if (str_to_int64(str_from(q), &n) < 0 || n < MEDIA_THUMB_MIN || n > MEDIA_THUMB_MAX) {
        reply_invalid(req, "thumb", "must be an integer from %d to %d", MEDIA_THUMB_MIN,
                      MEDIA_THUMB_MAX);
        return -EINVAL;
    }
    *ret = (int)n;
    return 0;
}

int api_media_get(struct request *req)
{
    struct api_app *app = api_app(req);
    struct str p = req->params[0];
    /* the id becomes a path: exactly 64 lowercase hex digits, nothing else */
    if (!media_id_valid(p.p, p.len)) {
        http_reply_error(req, 404, "not_found", "no such media", NULL);
        return HTTP_DONE;
    }
    struct media_read c = { .org_id = req->principal.org_id, .a = &req->arena };
    c.id = arena_strndup(&req->arena, p.p, p.len);
    if (!c.id)
        return reply_errno(req, -ENOMEM);
    int r = store_read(app->store, media_read_fn, &c);
    if (r == -ERR_NOT_FOUND) {
        http_reply_error(req, 404, "not_found", "no such media", NULL);
        return HTTP_DONE;
    }
    if (r < 0)
        return reply_errno(req, r);
    if (!app->media)
        return reply_errno(req, -ERR_UNAVAILABLE);

    const char *thumb = http_query(req, "thumb");
    const char *mime = c.m.mime;
    char etag[96], filename[96];
    int64_t size = 0;
    int fd;
    if (thumb) {
        int n;
        if (thumb_size_or_reply(req, thumb, &n) < 0)
            return HTTP_DONE;
        fd = media_thumb_open(app->media, c.id, c.m.mime, n, &mime, &size);
        snprintf(etag, sizeof(etag), "\"%s-%d\"", c.id, n);
        snprintf(filename, sizeof(filename), "%s-%d.%s", c.id, n, media_mime_ext(mime));
    } else {
        fd = media_open_file(app->media, c.id, &size);
        snprintf(etag, sizeof(etag), "\"%s\"", c.id);
        snprintf(filename, sizeof(filename), "%s.%s", c.id, media_mime_ext(mime));
    }
    if (fd < 0) {
        switch (fd) {
        case -ERR_UNSUPPORTED_MEDIA:
            http_reply_error(req, 415, "unsupported_media_type",
                             "thumbnails are made for JPEG, PNG, WebP, GIF and TIFF images only",
                             NULL);
            return HTTP_DONE;
        case -EBADMSG:
            http_reply_error(req, 415, "unsupported_media_type",
                             "the image does not decode: no thumbnail", NULL);
            return HTTP_DONE;
        case -ERR_UNAVAILABLE:
            http_reply_error(req, 503, "unavailable", "the image decoder is busy; try again", NULL);
            return HTTP_DONE;
        case -ENOENT:
            log_error("media '%s' is recorded but its file is missing from the media dir", c.id);
            http_reply_error(req, 404, "not_found", "the media file is missing", NULL);
            return HTTP_DONE;
        default:
            log_error("failed to open media '%s': %s", c.id, err_str(fd));
            http_reply_error(req, 500, "internal", "failed to read the media file", NULL);
            return HTTP_DONE;
        }
    }

    /* RFC 9110 §13.1.2: a cached copy is still good */
    if (etag_listed(http_header(req, "If-None-Match"), etag)) {
        close(fd);
        add_media_headers(req, etag, filename);
        http_reply_empty(req, 304);
        return HTTP_DONE;
    }
    uint64_t first = 0, last = (uint64_t)size - 1;
    const char *range = http_header(req, "Range");
    const char *if_range = http_header(req, "If-Range");
    if (if_range && strcmp(if_range, etag) != 0)
        range = NULL; /* §13.1.5: another version: the whole file */
    enum http_range k = size > 0 ? http_parse_range(range, (uint64_t)size, &first, &last) : HTTP_RANGE_WHOLE;
    if (k == HTTP_RANGE_UNSATISFIABLE) {
        close(fd);
        char cr[64];
        snprintf(cr, sizeof(cr), "bytes */%" PRId64, size);
        http_add_header(req, "Content-Range", cr);
        http_reply_error(req, 416, "range_not_satisfiable",
                         "the range starts past the end of the file", NULL);
        return HTTP_DONE;
    }
    add_media_headers(req, etag, filename);
    if (k == HTTP_RANGE_PART) {
        char cr[96];
        snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRId64, first, last, size);
        http_add_header(req, "Content-Range", cr);
        r = http_reply_file(req, 206, mime, fd, first, last - first + 1);
    } else {
        r = http_reply_file(req, 200, mime, fd, 0, (uint64_t)size);
    }
    return r < 0 && r != -EALREADY ? reply_errno(req, r) : HTTP_DONE;
}
