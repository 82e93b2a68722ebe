/*
 * reply: everything a handler answers with.
 *
 * DESIGN: an http_reply*() call builds a libmicrohttpd response and stores
 * it in the request; the request's own thread queues it (libmicrohttpd
 * only accepts a response from the connection's thread), right after the
 * handler returns or, for a suspended request, after http_resume(). So
 * these functions may run on any thread, as long as one thread at a time
 * answers a request. Every reply gets the same security headers; JSON (API)
 * replies also get a restrictive CSP and Cache-Control: no-store.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/err.h"
#include "core/json.h"
#include "http/http_int.h"

#define JSON_TYPE         "application/json; charset=utf-8"
#define STREAM_BLOCK_SIZE (64 * 1024)
#define API_CSP           "default-src 'none'; frame-ancestors 'none'"

/* ---- headers ---- */

void http_add_header(struct request *req, const char *name, const char *value)
{
    struct http_conn *c = req->conn;
    struct http_header_entry *h = arena_alloc(&req->arena, sizeof(*h));
    if (!h)
        return;
    h->name = arena_strdup(&req->arena, name);
    h->value = arena_strdup(&req->arena, value);
    if (!h->name || !h->value)
        return;
    /* append, so headers go out in the order they were added */
    h->next = NULL;
    struct http_header_entry **tail = &c->headers;
    while (*tail)
        tail = &(*tail)->next;
    *tail = h;
}

static bool has_header(const struct http_conn *c, const char *name)
{
    for (const struct http_header_entry *h = c->headers; h; h = h->next)
        if (strcasecmp(h->name, name) == 0)
            return true;
    return false;
}

static bool is_json_type(const char *content_type)
{
    return content_type && strncasecmp(content_type, "application/json", 16) == 0;
}

/* ---- storing a reply ---- */

static void add_security_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
}

struct MHD_Response *http_response_shutting_down(void)
{
    static const char body[] = "{\"error\":{\"code\":\"unavailable\","
                               "\"message\":\"the server is shutting down\"}}";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return NULL;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, JSON_TYPE);
    add_security_headers(resp);
    MHD_add_response_header(resp, "Content-Security-Policy", API_CSP);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    return resp;
}

int http_reply_response(struct request *req,
                        int status,
                        const char *content_type,
                        struct MHD_Response *resp,
                        uint64_t bytes)
{
    struct http_conn *c = req->conn;

    if (!resp)
        return -ENOMEM;
    if (c->answered) {
        MHD_destroy_response(resp);
        return -EALREADY;
    }
    /* invalid names or values (CR, LF) are refused by libmicrohttpd: dropped */
    for (const struct http_header_entry *h = c->headers; h; h = h->next)
        MHD_add_response_header(resp, h->name, h->value);
    if (content_type && !has_header(c, MHD_HTTP_HEADER_CONTENT_TYPE))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    add_security_headers(resp);
    if (is_json_type(content_type)) {
        if (!has_header(c, "Content-Security-Policy"))
            MHD_add_response_header(resp, "Content-Security-Policy", API_CSP);
        if (!has_header(c, MHD_HTTP_HEADER_CACHE_CONTROL))
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    }
    if (c->close_after)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    c->answered = true;
    c->response = resp;
    c->status = status;
    c->bytes = bytes;
    return 0;
}

static void free_detached(void *p)
{
    free(p);
}

int http_reply_buf(struct request *req, int status, const char *content_type, struct buf *b)
{
    size_t len;
    char *p = buf_detach(b, &len);
    if (!p)
        return -ENOMEM;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer_with_free_callback(len, p, free_detached);
    if (!resp) {
        free(p);
        return -ENOMEM;
    }
    return http_reply_response(req, status, content_type, resp, len);
}

int http_reply(struct request *req, int status, const char *content_type, const void *p, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)p, MHD_RESPMEM_MUST_COPY);
    return http_reply_response(req, status, content_type, resp, len);
}

int http_reply_json(struct request *req, int status, struct buf *b)
{
    if (b->err) {
        buf_release(b);
        return http_reply_error(req, 500, "internal", "failed to build the reply", NULL);
    }
    return http_reply_buf(req, status, JSON_TYPE, b);
}

int http_reply_empty(struct request *req, int status)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    return http_reply_response(req, status, NULL, resp, 0);
}

int http_reply_file(struct request *req,
                    int status,
                    const char *content_type,
                    int fd,
                    uint64_t offset,
                    uint64_t length)
{
    if (offset > (uint64_t)INT64_MAX || length > (uint64_t)INT64_MAX - offset) {
        close(fd);
        return -EINVAL;
    }
    /* the response owns fd from here: closed when it is destroyed */
    struct MHD_Response *resp = MHD_create_response_from_fd_at_offset64(length, fd, offset);
    if (!resp) {
        close(fd);
        return -ENOMEM;
    }
    return http_reply_response(req, status, content_type, resp, length);
}

/* ---- the error funnel ---- */

int http_reply_error(struct request *req,
                     int status,
                     const char *code,
                     const char *message,
                     const char *path)
{
    struct buf b;
    struct jw w;

    buf_init(&b, 16384);
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_key(&w, "error");
    jw_obj_begin(&w);
    jw_kstr(&w, "code", code ? code : "internal");
    jw_kstr(&w, "message", message ? message : "");
    if (path)
        jw_kstr(&w, "path", path);
    jw_obj_end(&w);
    jw_obj_end(&w);
    if (b.err) {
        /* a huge message: answer without it rather than not at all */
        buf_release(&b);
        buf_adds(&b, "{\"error\":{\"code\":\"internal\",\"message\":\"\"}}");
        status = 500;
    }
    return http_reply_buf(req, status, JSON_TYPE, &b);
}

int http_reply_errno(struct request *req, int err)
{
    int status;

    switch (err < 0 ? -err : err) {
    case ERR_INVALID_JSON:
    case ERR_INVALID_REQUEST:
    case EINVAL:
        status = 400;
        break;
    case ERR_INVALID_RESULT:
        status = 422;
        break;
    case ERR_UNAUTHORIZED:
        status = 401;
        break;
    case ERR_FORBIDDEN:
    case EACCES:
    case EPERM:
        status = 403;
        break;
    case ERR_NOT_FOUND:
    case ENOENT:
        status = 404;
        break;
    case ERR_CONFLICT:
    case EEXIST:
        status = 409;
        break;
    case ERR_TOO_LARGE:
    case ERR_TOO_DEEP:
    case E2BIG:
    case EFBIG:
        status = 413;
        break;
    case ERR_UNSUPPORTED_MEDIA:
        status = 415;
        break;
    case ERR_LOCKED:
        status = 429;
        break;
    case ERR_UNAVAILABLE:
        status = 503;
        break;
    default:
        return http_reply_error(req, 500, "internal", "internal error", NULL);
    }
    return http_reply_error(req, status, err_code(err), err_str(err), NULL);
}

/* ---- streamed replies ---- */

struct http_stream {
    int (*read)(void *ctx, struct buf *out);
    void (*release)(void *ctx);
    void *ctx;
    struct buf out;
    size_t off;
    bool eof;
    bool released;
    struct http_conn *conn; /* for the byte count; NULL once the request ended */
};

static void stream_release(struct http_stream *st)
{
    if (st->released)
        return;
    st->released = true;
    if (st->release)
        st->release(st->ctx);
}

void http_stream_detach(struct http_stream *st)
{
    stream_release(st);
    st->conn = NULL;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    struct http_stream *st = cls;

    while (st->off == st->out.len) {
        if (st->eof || st->released)
            return MHD_CONTENT_READER_END_OF_STREAM;
        buf_clear(&st->out);
        st->off = 0;
        int r = st->read(st->ctx, &st->out);
        if (r < 0 || st->out.err)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (r == 0)
            st->eof = true;
    }
    size_t n = st->out.len - st->off;
    if (n > max)
        n = max;
    memcpy(out, st->out.p + st->off, n);
    st->off += n;
    if (st->conn)
        st->conn->bytes += n;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    struct http_stream *st = cls;
    stream_release(st);
    buf_release(&st->out);
    free(st);
}

int http_reply_stream(struct request *req,
                      int status,
                      const char *content_type,
                      int (*read)(void *ctx, struct buf *out),
                      void (*release)(void *ctx),
                      void *ctx)
{
    struct http_conn *c = req->conn;
    struct http_stream *st = calloc(1, sizeof(*st));
    if (!st) {
        if (release)
            release(ctx);
        return -ENOMEM;
    }
    st->read = read;
    st->release = release;
    st->ctx = ctx;
    st->conn = c;
    buf_init(&st->out, 0); /* one part at a time: up to BUF_CAP_DEFAULT */
    struct MHD_Response *resp = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, STREAM_BLOCK_SIZE, stream_read, st, stream_free);
    if (!resp) {
        stream_free(st);
        return -ENOMEM;
    }
    /*
     * libmicrohttpd 0.9.75 answers HEAD with a chunked response's final
     * "0\r\n\r\n", which the client would read as the next response:
     * close the connection after a streamed HEAD.
     */
    if (req->method && strcmp(req->method, "HEAD") == 0)
        c->close_after = true;
    /* on -EALREADY the response (and with it the stream) is destroyed */
    int r = http_reply_response(req, status, content_type, resp, 0);
    if (r == 0)
        c->pending_stream = st;
    return r;
}
