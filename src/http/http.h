/*
 * http: a generic HTTP/1.1 server on libmicrohttpd.
 *
 * DESIGN: http/ knows neither api/ nor store/. main() hands it a route
 * table (built in api/routes.c), an authenticator and an opaque app
 * pointer. For every request the server:
 *   1. matches method + path against the table ({name} segments become
 *      params; 404 not_found / 405 method_not_allowed otherwise),
 *   2. authenticates unless the route is public: a Bearer token, or the
 *      session cookie, which on unsafe methods must come with the
 *      X-CSRF-Token header (credentials.c); 401 unauthorized / 403 forbidden,
 *   3. checks the caller's role bits against the route's (403 forbidden),
 *   4. reads the body up to the route's cap (413 too_large), either whole
 *      into req->body or chunk by chunk into route->on_body,
 *   5. calls the handler, which answers with http_reply*() and returns
 *      HTTP_DONE, or returns HTTP_SUSPENDED and later, from any thread,
 *      answers and calls http_resume().
 * Each request owns an arena (req->arena) with a byte budget, freed when
 * the request ends. Every reply is logged once (method, path, status,
 * bytes, milliseconds, user).
 *
 * Threading: epoll with a thread pool; handlers run on pool threads and
 * must not block for long (the writer thread and the completion callback
 * exist for that). http_server_stop() stops accepting, lets in-flight
 * requests finish (bounded wait), then stops.
 */
#ifndef ANNOTD_HTTP_H
#define ANNOTD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"

struct request;
struct http_server;

enum {
    HTTP_DONE = 0,      /* the handler has answered */
    HTTP_SUSPENDED = 1, /* the handler will answer later and call http_resume() */
};

/* route flags */
enum {
    HTTP_PUBLIC = 1 << 0,      /* no authentication */
    HTTP_BODY_JSON = 1 << 1,   /* a non-empty body must be application/json (else 415) */
    HTTP_BODY_STREAM = 1 << 2, /* body is handed to on_body chunk by chunk */
    HTTP_NO_LOG = 1 << 3,      /* do not log successful replies (health checks) */
};

#define HTTP_MAX_PARAMS 4

struct http_route {
    const char *method; /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *path;   /* "/api/v1/projects/{id}/tasks": {x} matches one segment */
    int (*handler)(struct request *req);
    uint32_t roles;  /* caller must have one of these role bits (ignored if HTTP_PUBLIC) */
    size_t body_cap; /* maximum body bytes; 0: the route takes no body (413 beyond 0) */
    unsigned flags;
    /*
     * With HTTP_BODY_STREAM: called for each chunk as it arrives (after
     * authentication). Return 0 to go on, or a negative error: the server
     * then stops reading and calls the handler with req->body_error set.
     */
    int (*on_body)(struct request *req, const char *p, size_t len);
};

/* Who is calling, as the authenticator says. */
struct http_principal {
    int64_t user_id;
    int64_t org_id;
    int64_t token_id;
    uint32_t roles; /* role bits; the api decides their meaning */
    bool via_cookie;
    const char *login; /* for the request log; owned by the request arena */
};

/*
 * Authenticator installed by the app. `token` is the Bearer token or the
 * session cookie's value; `csrf` is the X-CSRF-Token header when the token
 * came from the cookie on an unsafe method (else NULL). Fill *ret and
 * return 0, or return -ERR_UNAUTHORIZED / -ERR_FORBIDDEN. May allocate in
 * req->arena.
 */
typedef int (*http_auth_fn)(void *app,
                            struct request *req,
                            const char *token,
                            const char *csrf,
                            bool via_cookie,
                            struct http_principal *ret);

struct request {
    struct arena arena;
    const char *method;
    const char *path; /* as sent, without the query string (escapes kept) */
    const struct http_route *route;
    struct str params[HTTP_MAX_PARAMS]; /* values of {x} segments, in order */
    int nparams;
    struct buf body;   /* whole body unless the route streams it */
    int body_error;    /* first error from on_body or the cap (-ERR_TOO_LARGE) */
    size_t body_bytes; /* bytes received so far */
    struct http_principal principal;
    void *app;              /* as given to http_server_start */
    void *user;             /* free for the handler: per-request state across calls */
    struct http_conn *conn; /* server internals */
};

/* Role check helper: the caller's role bits. */
static inline bool http_has_role(const struct request *req, uint32_t roles)
{
    return (req->principal.roles & roles) != 0;
}

struct http_options {
    const char *listen_addr;     /* "127.0.0.1" */
    uint16_t port;               /* 0: an ephemeral port (see http_server_port) */
    unsigned threads;            /* pool size; 0: 2 x cores */
    unsigned connection_limit;   /* default 16000 */
    unsigned backlog;            /* listen backlog, default 4096 */
    size_t connection_memory;    /* per-connection buffer, default 8 KiB (headers must fit) */
    size_t arena_budget;         /* per-request arena budget, default 64 MiB */
    unsigned connection_timeout; /* idle seconds, default 120 */
    const char *cookie_name;     /* "annotd_session" */
    const struct http_route *routes;
    size_t nroutes;
    http_auth_fn authenticate;
    void *app;
    /*
     * The workbench's built files (static.c), or NULL: a GET/HEAD outside
     * /api/ and /healthz that matches no route is served from this dir
     * (index.html for client-side routes). A dir that does not exist
     * disables it (http_server_start logs once).
     */
    const char *static_dir;
};

int http_server_start(const struct http_options *opt, struct http_server **ret);
uint16_t http_server_port(const struct http_server *s);
/* Stop accepting, wait up to `grace_ms` for in-flight requests, stop. */
void http_server_stop(struct http_server *s, int grace_ms);

/*
 * ---- reading the request ----
 * The query, header and cookie lookups read libmicrohttpd's connection:
 * call them from the handler (or on_body), not from the thread that answers
 * a suspended request; copy what that thread needs into the arena first.
 * Their strings live as long as the request.
 */

/* The {x} param number i as an int64 (> 0); -ERR_NOT_FOUND when malformed. */
int http_param_id(const struct request *req, int i, int64_t *ret);
/* Query argument, or NULL. */
const char *http_query(const struct request *req, const char *name);
/* Header value (case-insensitive name), or NULL. */
const char *http_header(const struct request *req, const char *name);
/* Cookie value, or NULL. */
const char *http_cookie(const struct request *req, const char *name);
/* Media type of Content-Type without parameters, lowercased into the arena; NULL if absent. */
const char *http_content_type(struct request *req);

/*
 * One byte range of a representation of `size` bytes from a Range header
 * (RFC 9110 §14.1.2): "bytes=a-b", "bytes=a-", "bytes=-n". A header that is
 * absent, does not parse, or asks for several ranges means the whole
 * representation (§14.2 allows ignoring it). *ret_first and *ret_last
 * (inclusive) are written only for HTTP_RANGE_PART.
 */
enum http_range { HTTP_RANGE_WHOLE, HTTP_RANGE_PART, HTTP_RANGE_UNSATISFIABLE };
enum http_range http_parse_range(const char *h, uint64_t size, uint64_t *ret_first, uint64_t *ret_last);

/* ---- answering ---- */

/* Add a header to the reply (copied). Call before http_reply*(). */
void http_add_header(struct request *req, const char *name, const char *value);

/* Answer with a body; the buffer's memory is taken over (b is left empty). */
int http_reply_buf(struct request *req, int status, const char *content_type, struct buf *b);
/* Answer with a copy of p[0..len). */
int http_reply(struct request *req,
               int status,
               const char *content_type,
               const void *p,
               size_t len);
/* JSON body from a buffer (taken over); on b->err answers 500. */
int http_reply_json(struct request *req, int status, struct buf *b);
/* Empty body (204 and the like). */
int http_reply_empty(struct request *req, int status);
/*
 * The one error funnel: {"error":{"code","message","path"?}}; counted per
 * status class (http_stats). Every http_reply*() returns 0, -EALREADY when
 * the request already has a reply (the new one is dropped), or -ENOMEM.
 */
int http_reply_error(struct request *req,
                     int status,
                     const char *code,
                     const char *message,
                     const char *path);
/*
 * Answer an error code through the funnel: -ERR_INVALID_JSON/-ERR_INVALID_REQUEST/
 * -EINVAL 400, -ERR_INVALID_RESULT 422, -ERR_UNAUTHORIZED 401, -ERR_FORBIDDEN/-EACCES
 * 403, -ERR_NOT_FOUND/-ENOENT 404, -ERR_CONFLICT/-EEXIST 409, -ERR_TOO_LARGE/
 * -ERR_TOO_DEEP/-E2BIG 413, -ERR_UNSUPPORTED_MEDIA 415, -ERR_LOCKED 429,
 * -ERR_UNAVAILABLE 503, anything else 500 "internal" (message not leaked).
 * A handler returning a negative value without a reply is answered so.
 */
int http_reply_errno(struct request *req, int err);

/*
 * Streamed reply: read(ctx, out) appends the next part to `out` and
 * returns 1 (more to come), 0 (end) or a negative error (abort the
 * connection). release(ctx) runs once when the reply is done or aborted,
 * on whatever thread. Headers added before are sent.
 */
int http_reply_stream(struct request *req,
                      int status,
                      const char *content_type,
                      int (*read)(void *ctx, struct buf *out),
                      void (*release)(void *ctx),
                      void *ctx);

/*
 * Answer with `length` bytes of the open file `fd` from `offset` (sent by
 * libmicrohttpd, with sendfile where it can). The fd is taken over: closed
 * when the reply is done, also when this fails.
 */
int http_reply_file(struct request *req,
                    int status,
                    const char *content_type,
                    int fd,
                    uint64_t offset,
                    uint64_t length);

/*
 * Resume a suspended request after it has been answered. Thread-safe.
 * A handler that returned HTTP_SUSPENDED must call it exactly once (it may
 * also do so before returning); the request's memory stays valid until
 * then. If the server stopped first (grace over), the reply is dropped and
 * this only frees the request.
 */
void http_resume(struct request *req);

/*
 * ---- Server-Sent Events (events.c) ----
 * A generic event stream (WHATWG HTML §9.2): the handler opens it, then any
 * thread pushes events into it until it ends. It knows nothing of what the
 * events mean.
 * While nothing is queued the connection is suspended (no polling); a push,
 * the heartbeat (": ping" after heartbeat_ms without output) or the end
 * resumes it. A client that falls more than max_queued bytes behind gets a
 * final "overflow" event and the stream ends. http_server_stop() ends every
 * stream at once, so streams never hold the stop for its grace.
 */
struct http_sse;

struct http_sse_options {
    size_t max_queued; /* bytes waiting for the client before it is dropped (default 256 KiB) */
    int heartbeat_ms;  /* default 15000 */
    int retry_ms;      /* reconnect advice sent first ("retry:"), default 3000 */
    const char *overflow_data; /* of the final "overflow" event; default {"type":"overflow"} */
    /*
     * Called exactly once, on any thread, when the stream has ended (client
     * gone, closed, overflow, server stop); not called when open fails.
     * Must not push into or close any stream. The channel stays valid until
     * the caller's http_sse_release().
     */
    void (*on_close)(void *ctx, struct http_sse *ch);
    void *ctx;
};

/*
 * Answer req with 200 text/event-stream (Cache-Control: no-store,
 * X-Accel-Buffering: no) and open a channel; the handler then returns
 * HTTP_DONE. *ret holds the caller's reference (http_sse_release()).
 * Returns 0, -ERR_UNAVAILABLE when the server is stopping, -ENOMEM, or
 * -EALREADY when req was answered already. On failure nothing was answered
 * (but for -EALREADY).
 */
int http_sse_open(struct request *req, const struct http_sse_options *opt, struct http_sse **ret);
/*
 * Queue one event: "event: EVENT\nid: ID\ndata: ...\n\n" (each line of data
 * its own data: line; event NULL: none, id < 0: none). Thread-safe; never
 * blocks on the client. Returns 0; -EPIPE when the stream has ended or is
 * ending; -ENOBUFS when the client fell too far behind (the stream now ends
 * with the overflow event); -EINVAL for an event name with CR or LF.
 */
int http_sse_push(struct http_sse *ch, const char *event, int64_t id, const char *data, size_t len);
/* End the stream after what is queued, with a last event when event != NULL. */
void http_sse_close(struct http_sse *ch, const char *event, const char *data);
/* Drop the caller's reference. NULL ok. */
void http_sse_release(struct http_sse *ch);

/* Counters for /metrics-style diagnostics. */
struct http_stats {
    uint64_t requests;
    uint64_t errors_4xx;
    uint64_t errors_5xx;
    uint64_t active;
};
void http_server_stats(struct http_server *s, struct http_stats *ret);

#endif
