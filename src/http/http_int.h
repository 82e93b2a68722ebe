/*
 * Internals shared by the files of src/http. Not for other modules.
 *
 * router.c      pure matcher: route table + method + raw path -> route + params
 * credentials.c Bearer token / session cookie + CSRF -> authenticator -> roles
 * reply.c       http_reply*(), the error funnel, security headers, streams
 * events.c      Server-Sent Events channels, suspended while idle
 * server.c      libmicrohttpd daemon, request life cycle, body, suspend/resume
 */
#ifndef ANNOTD_HTTP_INT_H
#define ANNOTD_HTTP_INT_H

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pthread.h>

#include "http/http.h"

/* ---- router ---- */

#define HTTP_MAX_PATH 4096 /* longer raw paths are answered 414 (the connection pool is 8 KiB) */

/* Method bits, for route tables and the Allow header. */
enum {
    HTTP_M_GET = 1 << 0,
    HTTP_M_HEAD = 1 << 1,
    HTTP_M_POST = 1 << 2,
    HTTP_M_PUT = 1 << 3,
    HTTP_M_PATCH = 1 << 4,
    HTTP_M_DELETE = 1 << 5,
    HTTP_M_OPTIONS = 1 << 6,
};

enum router_status {
    ROUTER_MATCH,              /* ret->route and params are set */
    ROUTER_NOT_FOUND,          /* no route has this path: 404 */
    ROUTER_METHOD_NOT_ALLOWED, /* the path exists for other methods (ret->allow): 405 */
    ROUTER_BAD_PATH,           /* not "/...", control byte, bad or %00 escape, bad UTF-8: 400 */
};

struct router_match {
    int route;                          /* index into the table, on ROUTER_MATCH */
    struct str params[HTTP_MAX_PARAMS]; /* decoded, NUL-terminated, inside scratch */
    int nparams;
    unsigned allow; /* HTTP_M_* of the routes sharing the path, on ROUTER_METHOD_NOT_ALLOWED */
};

/* HTTP_M_* bit of a method name (case-sensitive, RFC 9110 §9.1); 0 if unknown. */
unsigned router_method_bit(const char *method);

/*
 * Check a route table once at start-up: known methods, paths starting with
 * '/', well-formed {name} segments, at most HTTP_MAX_PARAMS of them, a
 * handler, and on_body exactly with HTTP_BODY_STREAM. Returns 0, or -EINVAL
 * with *ret_bad set to the index of the first bad route.
 */
int router_check(const struct http_route *routes, size_t nroutes, size_t *ret_bad);

/*
 * Percent-decode one raw path into `out` (at least path.len + 1 bytes) as
 * a sequence of NUL-terminated segments: "/a/b%2Fc" gives "a\0b/c\0", so an
 * escaped slash stays inside its segment. Rejects (-EINVAL) a path not
 * starting with '/', raw bytes <= 0x20 or 0x7f, '%' not followed by two hex
 * digits, %00, and segments that are not valid UTF-8 once decoded.
 * Returns the number of segments (>= 1: "/" is one empty segment).
 */
int router_decode_path(struct str path, char *out);

/*
 * Match method + raw path (no query string) against the table; the first
 * route, in table order, whose path and method both match wins. HEAD also
 * matches GET routes. {x} matches one non-empty segment other than "." and
 * "..". A trailing slash is a segment of its own ("/a/" != "/a").
 * `scratch` (at least path.len + 1 bytes) receives the decoded segments
 * that ret->params point into. *ret is written in every case.
 */
enum router_status router_match(const struct http_route *routes,
                                size_t nroutes,
                                const char *method,
                                struct str path,
                                char *scratch,
                                struct router_match *ret);

/* "GET, HEAD, POST" for an Allow header (RFC 9110 §10.2.1); out >= 64 bytes. */
void router_allow_str(unsigned allow, char *out, size_t size);

/* ---- server internals ---- */

struct http_header_entry {
    struct http_header_entry *next;
    const char *name;
    const char *value;
};

struct http_stream;

enum conn_phase {
    PHASE_NEW,    /* headers parsed, nothing decided yet */
    PHASE_BODY,   /* reading the body */
    PHASE_ANSWER, /* a reply was decided before the body; send it on the next call */
    PHASE_ASYNC,  /* the handler returned HTTP_SUSPENDED */
    PHASE_QUEUED, /* the reply was handed to libmicrohttpd */
};

/*
 * One request. Allocated when libmicrohttpd parses the request line (the
 * URI log callback) and freed when the last reference goes: libmicrohttpd's
 * (dropped on completion) and, while a handler runs, the handler's (dropped
 * by the server after HTTP_DONE, or by http_resume() after HTTP_SUSPENDED).
 */
struct http_conn {
    struct request req; /* first: handlers only see this */
    struct http_server *server;
    struct MHD_Connection *mhd;
    atomic_int refs;
    enum conn_phase phase;
    int64_t start_ms;
    struct str raw_path;

    /* body */
    bool has_body;      /* Content-Length > 0 or chunked */
    bool discard;       /* drop further body bytes */
    bool media_checked; /* HTTP_BODY_JSON media type looked at */
    size_t refused_at;  /* body_bytes when the body was refused */

    /*
     * reply: written by whoever answers (any thread, see reply.c), read by
     * the request's thread after the handler returned HTTP_DONE or after
     * http_resume(); `answered` is only ever touched by the answering side.
     */
    bool answered;
    struct MHD_Response *response;
    struct http_stream *pending_stream; /* inside response, not yet queued */
    struct http_stream *stream;         /* queued; detached on completion */
    struct http_header_entry *headers;
    int status;
    uint64_t bytes;
    bool close_after;

    /* suspend/resume, under server->mu */
    bool went_async;       /* request thread only: the handler suspended */
    bool suspended;        /* MHD_suspend_connection() done, not yet resumed */
    bool resume_requested; /* http_resume() came before the handler returned */
    atomic_bool abandoned; /* the server stopped first: never answer (read without mu) */
    struct http_conn *susp_prev, *susp_next;
};

struct http_server {
    struct MHD_Daemon *daemon;
    struct http_options opt;
    char *cookie_name;
    uint16_t port;
    atomic_int refs; /* the owner's, plus one per live request */

    pthread_mutex_t mu; /* suspended list, stopping, conn suspend flags */
    bool stopping;
    struct http_conn *suspended;

    /* event streams (events.c), under mu */
    struct http_sse *sse;
    bool sse_stopping;
    bool sse_ticker_running;
    pthread_t sse_ticker;
    pthread_cond_t sse_tick;

    char *static_root; /* realpath of opt.static_dir, or NULL: no static files */

    atomic_uint_fast64_t requests;
    atomic_uint_fast64_t errors_4xx;
    atomic_uint_fast64_t errors_5xx;
    atomic_uint_fast64_t active;
};

/*
 * Authenticate req (unless its route is public) and check its roles.
 * Returns 0, or a negative error after having stored the reply
 * (401/403/500/503).
 */
int http_authenticate_or_reply(struct request *req);

/* The security headers and the header list, then store as the reply. */
int http_reply_response(struct request *req,
                        int status,
                        const char *content_type,
                        struct MHD_Response *resp,
                        uint64_t bytes);

/*
 * A 503 "unavailable" JSON reply with the security headers and Connection:
 * close, for a request abandoned at stop (built without touching it).
 */
struct MHD_Response *http_response_shutting_down(void);

/* Stop: end every event stream and the heartbeat thread (events.c). */
void http_sse_stop_all(struct http_server *s);

/* ---- static files (static.c) ---- */

/* Resolve opt.static_dir into s->static_root: 0 (also without a dir), -ENOENT, -ENOMEM. */
int http_static_init(struct http_server *s);
/* Should a request that matched no route go to the static files? */
bool http_static_applies(const struct http_server *s, const char *method, struct str raw_path);
/* The public GET route that serves them (index.html for client-side routes). */
extern const struct http_route http_static_route;

/* Completion: call the stream's release now; the response may outlive the request. */
void http_stream_detach(struct http_stream *st);

#endif
