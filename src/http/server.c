/*
 * server: the libmicrohttpd daemon and the life of a request.
 *
 * DESIGN
 * Threads: MHD_USE_EPOLL_INTERNAL_THREAD with a thread pool; a connection
 * stays on one pool thread, which runs every callback of its requests
 * except what a suspended handler does on its own thread.
 *
 * Life of a request (libmicrohttpd calls the access handler several times):
 *   uri callback   allocate struct http_conn, keep the raw path
 *   first call     headers only: route, authenticate, check roles and the
 *                  announced body (413/415). Nothing is queued here when
 *                  the request has no body: a response queued on the first
 *                  call makes libmicrohttpd close the connection. A request
 *                  announcing a body that is refused is answered right away
 *                  and closed, so the body is never read.
 *   body calls     accumulate into req->body or feed route->on_body; past
 *                  the cap the rest is discarded and 413 answered.
 *   last call      (upload size 0) run the handler and queue its reply.
 *   completed      log line, counters, drop libmicrohttpd's reference.
 *
 * Suspend/resume: the handler returns HTTP_SUSPENDED and answers later from
 * any thread, then calls http_resume(). The server holds two references
 * while the handler runs (libmicrohttpd's and the handler's); http_resume()
 * drops the handler's, so the request survives whichever side ends first.
 * server->mu orders the three events that can race -- the handler returning,
 * http_resume(), and the server stopping -- through c->suspended,
 * c->resume_requested and c->abandoned, and is held across
 * MHD_suspend_connection()/MHD_resume_connection() so a resume never
 * overtakes its suspend. The reply itself is queued on the request's
 * thread when libmicrohttpd calls the access handler again.
 *
 * Stop: MHD_quiesce_daemon() closes the listening socket; event streams
 * (events.c) are ended at once; in-flight
 * requests (suspended ones included) get up to grace_ms; then requests
 * still suspended are marked abandoned and resumed (libmicrohttpd panics
 * if a connection is still suspended in MHD_stop_daemon()), and are closed
 * without a reply. Their memory lives until their handler's http_resume();
 * the server struct itself is reference-counted for that reason.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "http/http_int.h"

#define DISCARD_MAX ((size_t)1 << 20) /* refused body bytes read before dropping the connection */

/* ---- reference counts ---- */

static void server_unref(struct http_server *s)
{
    if (atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->sse_tick);
    free(s->cookie_name);
    free(s->static_root);
    free(s);
}

static void conn_free(struct http_conn *c)
{
    struct http_server *s = c->server;
    /* a response never queued may hold a stream whose ctx is in the arena */
    if (c->response)
        MHD_destroy_response(c->response);
    arena_free(&c->req.arena);
    buf_release(&c->req.body);
    free(c);
    server_unref(s);
}

static void conn_ref(struct http_conn *c)
{
    atomic_fetch_add(&c->refs, 1);
}

static void conn_unref(struct http_conn *c)
{
    if (atomic_fetch_sub(&c->refs, 1) == 1)
        conn_free(c);
}

/* ---- request accessors ---- */

const char *http_query(const struct request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn->mhd, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_header(const struct request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn->mhd, MHD_HEADER_KIND, name);
}

const char *http_cookie(const struct request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn->mhd, MHD_COOKIE_KIND, name);
}

const char *http_content_type(struct request *req)
{
    const char *v = http_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!v)
        return NULL;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t len = strcspn(v, ";");
    while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    char *t = arena_strndup(&req->arena, v, len);
    if (!t)
        return NULL;
    for (char *p = t; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return t;
}

int http_param_id(const struct request *req, int i, int64_t *ret)
{
    long long v;
    if (i < 0 || i >= req->nparams || str_to_int64(req->params[i], &v) < 0 || v <= 0)
        return -ERR_NOT_FOUND;
    *ret = (int64_t)v;
    return 0;
}

void http_server_stats(struct http_server *s, struct http_stats *ret)
{
    ret->requests = atomic_load(&s->requests);
    ret->errors_4xx = atomic_load(&s->errors_4xx);
    ret->errors_5xx = atomic_load(&s->errors_5xx);
    ret->active = atomic_load(&s->active);
}

uint16_t http_server_port(const struct http_server *s)
{
    return s->port;
}

/* ---- queueing ---- */

static enum MHD_Result conn_queue(struct http_conn *c)
{
    if (!c->response)
        http_reply_error(&c->req, 500, "internal", "the handler did not answer", NULL);
    if (!c->response)
        return MHD_NO; /* out of memory: close */
    enum MHD_Result r = MHD_queue_response(c->mhd, (unsigned)c->status, c->response);
    if (r == MHD_YES && c->pending_stream)
        c->stream = c->pending_stream;
    c->pending_stream = NULL;
    MHD_destroy_response(c->response);
    c->response = NULL;
    c->phase = PHASE_QUEUED;
    return r;
}

/*
 * A reply decided before the body was read: queue it now when a body is
 * coming (libmicrohttpd then closes instead of reading it), else on the
 * next call so that the connection stays open.
 */
static enum MHD_Result conn_answer_early(struct http_conn *c)
{
    if (!c->has_body) {
        c->phase = PHASE_ANSWER;
        return MHD_YES;
    }
    return conn_queue(c);
}

/* ---- first call: headers ---- */

static bool is_known_method(const char *m)
{
    static const char *const known[] = { "GET",    "HEAD",    "POST",  "PUT",    "PATCH",
                                         "DELETE", "OPTIONS", "TRACE", "CONNECT" };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(m, known[i]) == 0)
            return true;
    return false;
}

/* Route the request; 0, or negative after storing the reply. */
static int route_or_reply(struct http_conn *c)
{
    struct request *req = &c->req;
    const struct http_options *opt = &c->server->opt;
    struct router_match m;

    if (!is_known_method(req->method)) {
        http_reply_error(req, 501, "not_implemented", "unknown method", NULL);
        return -EINVAL;
    }
    if (c->raw_path.len > HTTP_MAX_PATH) {
        http_reply_error(req, 414, "too_large", "the path is too long", NULL);
        return -E2BIG;
    }
    char *scratch = arena_alloc(&req->arena, c->raw_path.len + 1);
    if (!scratch) {
        http_reply_error(req, 500, "internal", "out of memory", NULL);
        return -ENOMEM;
    }
    switch (router_match(opt->routes, opt->nroutes, req->method, c->raw_path, scratch, &m)) {
    case ROUTER_MATCH:
        break;
    case ROUTER_BAD_PATH:
        http_reply_error(req, 400, "invalid_request", "malformed path", NULL);
        return -EINVAL;
    case ROUTER_METHOD_NOT_ALLOWED: {
        char allow[64];
        router_allow_str(m.allow, allow, sizeof(allow));
        http_add_header(req, "Allow", allow); /* RFC 9110 §15.5.6 */
        http_reply_error(req, 405, "method_not_allowed", "method not allowed", NULL);
        return -EINVAL;
    }
    case ROUTER_NOT_FOUND:
    default:
        if (http_static_applies(c->server, req->method, c->raw_path)) {
            req->route = &http_static_route; /* the workbench's files (static.c) */
            return 0;
        }
        http_reply_error(req, 404, "not_found", "no such route", NULL);
        return -ENOENT;
    }
    req->route = &opt->routes[m.route];
    memcpy(req->params, m.params, sizeof(req->params));
    req->nparams = m.nparams;
    return 0;
}

static bool media_is_json(struct request *req)
{
    const char *t = http_content_type(req);
    return t && strcmp(t, "application/json") == 0;
}

/* Look at the announced body; 0, or negative after storing the reply. */
static int check_body_or_reply(struct http_conn *c)
{
    struct request *req = &c->req;
    const struct http_route *rt = req->route;

    const char *cl = http_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long length = 0;
    if (cl) {
        char *end;
        errno = 0;
        length = strtoull(cl, &end, 10); /* libmicrohttpd has validated it */
        if (errno || end == cl)
            length = ULLONG_MAX;
    }
    if (length > rt->body_cap) {
        http_reply_error(req, 413, "too_large", "the body is larger than allowed", NULL);
        return -ERR_TOO_LARGE;
    }
    if ((rt->flags & HTTP_BODY_JSON) && length > 0) {
        c->media_checked = true;
        if (!media_is_json(req)) {
            http_reply_error(req, 415, "unsupported_media_type",
                             "the body must be application/json", NULL);
            return -ERR_UNSUPPORTED_MEDIA;
        }
    }
    buf_init(&req->body, rt->body_cap ? rt->body_cap : 1);
    return 0;
}

static enum MHD_Result conn_begin(struct http_conn *c, const char *method)
{
    struct request *req = &c->req;

    req->method = method;
    const char *te = http_header(req, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    const char *cl = http_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    c->has_body = (te && strcasecmp(te, "identity") != 0) || (cl && strcmp(cl, "0") != 0);
    /* a refused body is never read: the connection closes after the reply */
    c->close_after = c->has_body;

    if (route_or_reply(c) < 0 || http_authenticate_or_reply(req) < 0 || check_body_or_reply(c) < 0)
        return conn_answer_early(c);
    c->close_after = false;
    c->phase = PHASE_BODY;
    return MHD_YES;
}

/* ---- body ---- */

/*
 * Refuse the rest of the body. libmicrohttpd 0.9.75 does not take a
 * response while the body is arriving (MHD_queue_response() says no), so
 * the reply waits for the end of the body; up to DISCARD_MAX more bytes are
 * read and dropped, beyond that the connection is closed without a reply.
 */
static void body_refuse(struct http_conn *c, int status, const char *code, const char *message)
{
    c->discard = true;
    c->refused_at = c->req.body_bytes;
    buf_release(&c->req.body);
    http_reply_error(&c->req, status, code, message, NULL);
}

static enum MHD_Result body_chunk(struct http_conn *c, const char *data, size_t n)
{
    struct request *req = &c->req;
    const struct http_route *rt = req->route;

    req->body_bytes += n;
    if (c->response) /* refused */
        return req->body_bytes - c->refused_at > DISCARD_MAX ? MHD_NO : MHD_YES;
    if (req->body_bytes > rt->body_cap) {
        req->body_error = -ERR_TOO_LARGE;
        body_refuse(c, 413, "too_large", "the body is larger than allowed");
        return MHD_YES;
    }
    if (c->discard) /* on_body failed: the handler answers at the end */
        return MHD_YES;
    if ((rt->flags & HTTP_BODY_JSON) && !c->media_checked) {
        c->media_checked = true;
        if (!media_is_json(req)) {
            body_refuse(c, 415, "unsupported_media_type", "the body must be application/json");
            return MHD_YES;
        }
    }
    if (rt->flags & HTTP_BODY_STREAM) {
        int r = rt->on_body(req, data, n);
        if (r < 0) {
            req->body_error = r;
            c->discard = true;
        }
        return MHD_YES;
    }
    if (buf_add(&req->body, data, n) < 0) {
        req->body_error = req->body.err;
        body_refuse(c, 500, "internal", "out of memory");
    }
    return MHD_YES;
}

/* ---- the handler ---- */

static enum MHD_Result conn_suspend(struct http_conn *c)
{
    struct http_server *s = c->server;
    enum MHD_Result r = MHD_YES;

    c->went_async = true;
    c->phase = PHASE_ASYNC;
    pthread_mutex_lock(&s->mu);
    if (c->resume_requested) {
        /* answered (and http_resume() called) before the handler returned */
        pthread_mutex_unlock(&s->mu);
        return conn_queue(c);
    }
    if (s->stopping) {
        c->abandoned = true;
        r = MHD_NO;
    } else {
        c->suspended = true;
        c->susp_prev = NULL;
        c->susp_next = s->suspended;
        if (s->suspended)
            s->suspended->susp_prev = c;
        s->suspended = c;
        MHD_suspend_connection(c->mhd);
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

static enum MHD_Result conn_run(struct http_conn *c)
{
    struct request *req = &c->req;

    if (c->response) /* refused while reading the body */
        return conn_queue(c);
    conn_ref(c); /* the handler's reference: dropped here, or by http_resume() */
    int r = req->route->handler(req);
    if (r == HTTP_SUSPENDED)
        return conn_suspend(c);
    conn_unref(c);
    if (!c->response && r < 0)
        http_reply_errno(req, r);
    return conn_queue(c);
}

/* Called again after http_resume() (or after a forced resume at stop). */
static enum MHD_Result conn_resumed(struct http_conn *c)
{
    struct http_server *s = c->server;

    pthread_mutex_lock(&s->mu);
    bool abandoned = c->abandoned;
    pthread_mutex_unlock(&s->mu);
    if (!abandoned)
        return conn_queue(c);
    /* the reply belongs to the handler's thread now: answer without it */
    struct MHD_Response *resp = http_response_shutting_down();
    if (!resp)
        return MHD_NO;
    enum MHD_Result r = MHD_queue_response(c->mhd, 503, resp);
    MHD_destroy_response(resp);
    return r;
}

void http_resume(struct request *req)
{
    struct http_conn *c = req->conn;
    struct http_server *s = c->server; /* kept alive by this request's reference */

    pthread_mutex_lock(&s->mu);
    if (c->suspended) {
        c->suspended = false;
        if (c->susp_prev)
            c->susp_prev->susp_next = c->susp_next;
        else
            s->suspended = c->susp_next;
        if (c->susp_next)
            c->susp_next->susp_prev = c->susp_prev;
        MHD_resume_connection(c->mhd);
    } else if (!c->abandoned) {
        c->resume_requested = true; /* the handler has not returned yet */
    }
    pthread_mutex_unlock(&s->mu);
    conn_unref(c);
}

/* ---- libmicrohttpd callbacks ---- */

static enum MHD_Result on_access(void *cls,
                                 struct MHD_Connection *mhd,
                                 const char *url,
                                 const char *method,
                                 const char *version,
                                 const char *upload_data,
                                 size_t *upload_data_size,
                                 void **con_cls)
{
    struct http_conn *c = *con_cls;

    if (!c)
        return MHD_NO; /* the uri callback ran out of memory */
    c->mhd = mhd;
    switch (c->phase) {
    case PHASE_NEW:
        return conn_begin(c, method);
    case PHASE_BODY:
        if (*upload_data_size) {
            size_t n = *upload_data_size;
            *upload_data_size = 0;
            return body_chunk(c, upload_data, n);
        }
        return conn_run(c);
    case PHASE_ANSWER:
        if (*upload_data_size) {
            /* not announced, yet here (libmicrohttpd quirk): drop it */
            *upload_data_size = 0;
            return MHD_YES;
        }
        return conn_queue(c);
    case PHASE_ASYNC:
        return conn_resumed(c);
    case PHASE_QUEUED:
    default:
        *upload_data_size = 0;
        return MHD_YES;
    }
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *mhd)
{
    struct http_server *s = cls;
    struct http_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    atomic_init(&c->refs, 1);
    atomic_fetch_add(&s->refs, 1);
    c->server = s;
    c->mhd = mhd;
    c->start_ms = clock_mono_ms();
    arena_init(&c->req.arena, s->opt.arena_budget);
    buf_init(&c->req.body, 1);
    c->req.conn = c;
    c->req.app = s->opt.app;
    c->req.method = "-";
    size_t n = strcspn(uri, "?#");
    char *path = arena_strndup(&c->req.arena, uri, n);
    c->raw_path = (struct str){ .p = path ? path : "", .len = path ? n : 0 };
    c->req.path = c->raw_path.p;
    atomic_fetch_add(&s->active, 1);
    return c;
}

/* Copy at most size - 1 bytes of s into out, control bytes as '?'. */
static void log_safe(char *out, size_t size, const char *s)
{
    size_t i = 0;
    for (; s && s[i] && i + 1 < size; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    out[i] = '\0';
}

static void on_completed(void *cls,
                         struct MHD_Connection *mhd,
                         void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *s = cls;
    struct http_conn *c = *con_cls;

    if (!c)
        return;
    *con_cls = NULL;
    if (c->stream) {
        http_stream_detach(c->stream); /* the response may outlive the request */
        c->stream = NULL;
    }

    int status = c->phase == PHASE_QUEUED ? c->status : 0;
    /* no lock here: libmicrohttpd may hold its own while notifying */
    if (c->went_async && atomic_load(&c->abandoned))
        status = 503; /* closed at stop without a reply */
    uint64_t bytes = c->phase == PHASE_QUEUED ? c->bytes : 0;

    atomic_fetch_add(&s->requests, 1);
    if (status >= 500)
        atomic_fetch_add(&s->errors_5xx, 1);
    else if (status >= 400)
        atomic_fetch_add(&s->errors_4xx, 1);

    const struct http_route *rt = c->req.route;
    if (!(rt && (rt->flags & HTTP_NO_LOG) && status > 0 && status < 400)) {
        char method[16], path[256], login[64];
        log_safe(method, sizeof(method), c->req.method);
        log_safe(path, sizeof(path), c->req.path);
        log_safe(login, sizeof(login), c->req.principal.login ? c->req.principal.login : "-");
        log_info("%s %s %d %" PRIu64 " %lld %s%s", method, path, status, bytes,
                 (long long)(clock_mono_ms() - c->start_ms), login,
                 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (aborted)");
    }
    atomic_fetch_sub(&s->active, 1);
    conn_unref(c);
}

__attribute__((format(printf, 2, 0))) static void
on_mhd_error(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t len = strlen(msg);
    while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
        msg[--len] = '\0';
    log_warn("http: %s", msg);
}

/* ---- start and stop ---- */

/* "127.0.0.1", "::1" or "[::1]" into *ret; 0 or -EINVAL. */
static int
parse_listen_addr(const char *addr, uint16_t port, struct sockaddr_storage *ret, bool *ret_v6)
{
    char host[INET6_ADDRSTRLEN + 2];
    size_t len = strlen(addr);

    if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']') {
        addr++;
        len -= 2;
    }
    if (len >= sizeof(host))
        return -EINVAL;
    memcpy(host, addr, len);
    host[len] = '\0';

    memset(ret, 0, sizeof(*ret));
    struct sockaddr_in *v4 = (struct sockaddr_in *)ret;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ret;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *ret_v6 = false;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *ret_v6 = true;
        return 0;
    }
    return -EINVAL;
}

static unsigned default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 && n < 64 ? (unsigned)n * 2 : 2;
}

int http_server_start(const struct http_options *opt, struct http_server **ret)
{
    size_t bad;
    if (router_check(opt->routes, opt->nroutes, &bad) < 0) {
        log_error("failed to start the http server: bad route '%s %s'",
                  opt->routes[bad].method ? opt->routes[bad].method : "(null)",
                  opt->routes[bad].path ? opt->routes[bad].path : "(null)");
        return -EINVAL;
    }

    struct http_server *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->opt = *opt;
    if (!s->opt.listen_addr)
        s->opt.listen_addr = "127.0.0.1";
    if (!s->opt.threads)
        s->opt.threads = default_threads();
    if (!s->opt.connection_limit)
        s->opt.connection_limit = 16000;
    if (!s->opt.backlog)
        s->opt.backlog = 4096;
    if (!s->opt.connection_memory)
        s->opt.connection_memory = 8 * 1024; /* 10k idle connections in ~100 MB (bench/README.md) */
    if (!s->opt.arena_budget)
        s->opt.arena_budget = (size_t)64 << 20;
    if (!s->opt.connection_timeout)
        s->opt.connection_timeout = 120;
    s->cookie_name = opt->cookie_name ? strdup(opt->cookie_name) : NULL;
    s->opt.cookie_name = s->cookie_name;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->sse_tick, NULL);
    atomic_init(&s->refs, 1);
    if (http_static_init(s) < 0)
        log_warn("no web dir at '%s': the workbench is not served", s->opt.static_dir);

    struct sockaddr_storage sa;
    bool v6;
    if (parse_listen_addr(s->opt.listen_addr, opt->port, &sa, &v6) < 0) {
        log_error("failed to parse listen address '%s'", s->opt.listen_addr);
        server_unref(s);
        return -EINVAL;
    }

    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
    /* the logger goes first, or libmicrohttpd prints early messages itself */
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_access, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT,
        s->opt.connection_limit, MHD_OPTION_LISTEN_BACKLOG_SIZE, s->opt.backlog,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, s->opt.connection_memory, MHD_OPTION_CONNECTION_TIMEOUT,
        s->opt.connection_timeout, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        /* a pool of one is refused with a warning: then the one internal thread */
        s->opt.threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, s->opt.threads,
        MHD_OPTION_END);
    if (!s->daemon) {
        log_error("failed to start the http server on '%s' port %u", s->opt.listen_addr,
                  (unsigned)opt->port);
        server_unref(s);
        return -EADDRINUSE;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : opt->port;
    *ret = s;
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

void http_server_stop(struct http_server *s, int grace_ms)
{
    if (!s)
        return;
    MHD_socket listen_fd = MHD_quiesce_daemon(s->daemon);
    http_sse_stop_all(s); /* event streams end now rather than at the grace's end */

    int64_t deadline = clock_mono_ms() + (grace_ms > 0 ? grace_ms : 0);
    while (atomic_load(&s->active) > 0 && clock_mono_ms() < deadline)
        sleep_ms(5);

    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    unsigned abandoned = 0;
    while (s->suspended) {
        struct http_conn *c = s->suspended;
        s->suspended = c->susp_next;
        c->susp_prev = c->susp_next = NULL;
        c->suspended = false;
        c->abandoned = true;
        MHD_resume_connection(c->mhd); /* MHD_stop_daemon() panics on suspended ones */
        abandoned++;
    }
    pthread_mutex_unlock(&s->mu);
    uint64_t left = atomic_load(&s->active);
    if (left)
        log_warn("http server stopping with %" PRIu64 " requests in flight (%u suspended)", left,
                 abandoned);

    MHD_stop_daemon(s->daemon);
    if (listen_fd != MHD_INVALID_SOCKET)
        close(listen_fd);
    s->daemon = NULL;
    server_unref(s);
}
