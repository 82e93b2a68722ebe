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
 * never runs on an HTTP thread: the handler does the quick part (the
 * caller's org may see the media, the thumbnail is not made yet, the
 * headers the reply depends on are copied), hands a job to the media pool
 * (media/pool.h) and suspends the request; the job's done(), on a pool
 * thread, answers exactly as the handler would have and resumes it. A
 * full pool answers 503 with Retry-After at once. An upload's database
 * row is then written through store_write_async(), whose completion (the
 * writer thread) answers. Uploads that are not images libvips reads, and
 * thumbnails made already, are answered in the handler as before.
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
#include "media/pool.h"

#define MEDIA_CACHE_CONTROL "private, max-age=31536000, immutable"
#define MEDIA_CSP           "default-src 'none'; sandbox"
#define MEDIA_RETRY_AFTER   "1" /* seconds, when the image workers are all busy */

/* 503 with Retry-After: the image workers are busy (or the server is stopping). */
static int reply_busy(struct request *req)
{
    http_add_header(req, "Retry-After", MEDIA_RETRY_AFTER);
    http_reply_error(req, 503, "unavailable", "the image decoder is busy; try again", NULL);
    return HTTP_DONE;
}

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

/*
 * One upload from media_upload_finish() to its reply. In the request's
 * arena; `job` first, as the pool hands it back.
 */
struct upload_call {
    struct media_job job;
    struct request *req;
    struct media_info info;
    char why[256];
    struct store_media m;
    int64_t org_id, user_id;
    int created;
};

static int media_put_fn(struct store_tx *tx, void *ctx)
{
    struct upload_call *c = ctx;
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

/* Answer a failed media_upload_finish(). */
static int reply_finish_error(struct request *req, int r, const char *why)
{
    switch (r) {
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
        return reply_busy(req);
    default:
        log_error("failed to store a media upload: %s", err_str(r));
        http_reply_error(req, 500, "internal", "failed to store the file", NULL);
        return HTTP_DONE;
    }
}

/* The file is in place: the rows to write for the caller's org. */
static void upload_prepare_put(struct upload_call *c)
{
    c->m = (struct store_media){ .id = c->info.id,
                                 .mime = c->info.mime,
                                 .bytes = c->info.bytes,
                                 .width = c->info.width,
                                 .height = c->info.height };
    c->org_id = c->req->principal.org_id;
    c->user_id = c->req->principal.user_id;
}

/* Answer once the rows are written (r from the store). */
static int reply_put(struct upload_call *c, int r)
{
    if (r < 0)
        return reply_errno(c->req, r);
    struct buf b;
    buf_init(&b, 0);
    media_to_json(&b, &c->m);
    /* 201 when the org gains the media, 200 when it had the same bytes already */
    return reply_json(c->req, c->created ? 201 : 200, &b);
}

/* store_write_async() completion (the writer thread, or the caller's on PostgreSQL) */
static void upload_put_done(void *ctx, int r)
{
    struct upload_call *c = ctx;
    reply_put(c, r);
    http_resume(c->req);
}

/* media pool thread: the libvips check, then the rename into place */
static int upload_work(struct media_job *job)
{
    struct upload_call *c = (struct upload_call *)job;
    return media_upload_finish(c->req->user, &c->info, c->why, sizeof(c->why));
}

static void upload_done(struct media_job *job, int r)
{
    struct upload_call *c = (struct upload_call *)job;
    struct request *req = c->req;
    if (r < 0) {
        reply_finish_error(req, r, c->why);
        http_resume(req);
        return;
    }
    upload_prepare_put(c);
    r = store_write_async(api_app(req)->store, media_put_fn, c, upload_put_done);
    if (r < 0) {
        reply_errno(req, r);
        http_resume(req);
    }
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
    struct upload_call *c = arena_calloc(&req->arena, 1, sizeof(*c));
    if (!c)
        return reply_errno(req, -ENOMEM);
    c->req = req;

    if (app->media_pool && media_upload_decodes(req->user)) {
        /* an image to decode: off this thread; the temp file stays the arena's */
        c->job.work = upload_work;
        c->job.done = upload_done;
        if (media_pool_submit(app->media_pool, &c->job) < 0)
            return reply_busy(req);
        return HTTP_SUSPENDED;
    }
    int r = media_upload_finish(req->user, &c->info, c->why, sizeof(c->why));
    if (r < 0)
        return reply_finish_error(req, r, c->why);
    upload_prepare_put(c);
    return reply_put(c, store_write(app->store, media_put_fn, c));
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

/*
 * One GET from the file (or thumbnail) to its reply. In the request's
 * arena; `job` first, as the pool hands it back. The request headers the
 * reply depends on are copied here by the handler, for whichever thread
 * answers.
 */
struct media_get {
    struct media_job job;
    struct request *req;
    struct media *media;
    const char *id;
    const char *stored_mime;                      /* of the original */
    int thumb;                                    /* the thumbnail's size; 0: the original */
    const char *if_none_match, *range, *if_range; /* NULL when absent */
    const char *mime; /* of what is served (a thumbnail is JPEG or WebP) */
    int64_t size;
};

/* A request header copied into the arena (NULL when absent); -ENOMEM. */
static int header_copy(struct request *req, const char *name, const char **ret)
{
    const char *v = http_header(req, name);
    *ret = NULL;
    if (!v)
        return 0;
    *ret = arena_strdup(&req->arena, v);
    return *ret ? 0 : -ENOMEM;
}

/* Answer with the open file fd (or the error fd < 0 of opening it). Any thread. */
static int reply_media(struct media_get *g, int fd)
{
    struct request *req = g->req;
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
            return reply_busy(req);
        case -ENOENT:
            log_error("media '%s' is recorded but its file is missing from the media dir", g->id);
            http_reply_error(req, 404, "not_found", "the media file is missing", NULL);
            return HTTP_DONE;
        default:
            log_error("failed to open media '%s': %s", g->id, err_str(fd));
            http_reply_error(req, 500, "internal", "failed to read the media file", NULL);
            return HTTP_DONE;
        }
    }

    char etag[96], filename[96];
    if (g->thumb) {
        snprintf(etag, sizeof(etag), "\"%s-%d\"", g->id, g->thumb);
        snprintf(filename, sizeof(filename), "%s-%d.%s", g->id, g->thumb, media_mime_ext(g->mime));
    } else {
        snprintf(etag, sizeof(etag), "\"%s\"", g->id);
        snprintf(filename, sizeof(filename), "%s.%s", g->id, media_mime_ext(g->mime));
    }
    /* RFC 9110 §13.1.2: a cached copy is still good */
    if (etag_listed(g->if_none_match, etag)) {
        close(fd);
        add_media_headers(req, etag, filename);
        http_reply_empty(req, 304);
        return HTTP_DONE;
    }
    int64_t size = g->size;
    uint64_t first = 0, last = (uint64_t)size - 1;
    const char *range = g->range;
    if (g->if_range && strcmp(g->if_range, etag) != 0)
        range = NULL; /* §13.1.5: another version: the whole file */
    enum http_range k =
        size > 0 ? http_parse_range(range, (uint64_t)size, &first, &last) : HTTP_RANGE_WHOLE;
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
    int r;
    if (k == HTTP_RANGE_PART) {
        char cr[96];
        snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRId64, first, last, size);
        http_add_header(req, "Content-Range", cr);
        r = http_reply_file(req, 206, g->mime, fd, first, last - first + 1);
    } else {
        r = http_reply_file(req, 200, g->mime, fd, 0, (uint64_t)size);
    }
    return r < 0 && r != -EALREADY ? reply_errno(req, r) : HTTP_DONE;
}

/* media pool thread: make the thumbnail (or find it made meanwhile) */
static int thumb_work(struct media_job *job)
{
    struct media_get *g = (struct media_get *)job;
    return media_thumb_open(g->media, g->id, g->stored_mime, g->thumb, &g->mime, &g->size);
}

static void thumb_done(struct media_job *job, int fd)
{
    struct media_get *g = (struct media_get *)job;
    reply_media(g, fd);
    http_resume(g->req);
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

    struct media_get *g = arena_calloc(&req->arena, 1, sizeof(*g));
    if (!g || header_copy(req, "If-None-Match", &g->if_none_match) < 0 ||
        header_copy(req, "Range", &g->range) < 0 || header_copy(req, "If-Range", &g->if_range) < 0)
        return reply_errno(req, -ENOMEM);
    g->req = req;
    g->media = app->media;
    g->id = c.id;
    g->stored_mime = c.m.mime;
    g->mime = c.m.mime;

    const char *thumb = http_query(req, "thumb");
    int fd;
    if (thumb) {
        if (thumb_size_or_reply(req, thumb, &g->thumb) < 0)
            return HTTP_DONE;
        fd = media_thumb_cached(app->media, g->id, g->stored_mime, g->thumb, &g->mime, &g->size);
        if (fd == -ENOENT && app->media_pool) {
            /* not made yet: libvips, off this thread */
            g->job.work = thumb_work;
            g->job.done = thumb_done;
            if (media_pool_submit(app->media_pool, &g->job) < 0)
                return reply_busy(req);
            return HTTP_SUSPENDED;
        }
        if (fd == -ENOENT)
            fd = media_thumb_open(app->media, g->id, g->stored_mime, g->thumb, &g->mime, &g->size);
    } else {
        fd = media_open_file(app->media, g->id, &g->size);
    }
    return reply_media(g, fd);
}
