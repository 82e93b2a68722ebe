/*
 * tests for src/http: the pure router first, then the server over real
 * sockets (libcurl, and raw sockets where curl would tidy the request up).
 */
/* cmocka.h needs these first */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "http/http.h"
#include "http/http_int.h"

/* ================= router ================= */

static int dummy(struct request *req)
{
    (void)req;
    return HTTP_DONE;
}

static int dummy_body(struct request *req, const char *p, size_t len)
{
    (void)req;
    (void)p;
    (void)len;
    return 0;
}

static const struct http_route table[] = {
    { "GET", "/", dummy, 0, 0, HTTP_PUBLIC, NULL },
    { "GET", "/api/v1/projects", dummy, 1, 0, 0, NULL },
    { "POST", "/api/v1/projects", dummy, 1, 1024, 0, NULL },
    { "GET", "/api/v1/projects/new", dummy, 1, 0, 0, NULL },
    { "GET", "/api/v1/projects/{id}", dummy, 1, 0, 0, NULL },
    { "DELETE", "/api/v1/projects/{id}", dummy, 1, 0, 0, NULL },
    { "GET", "/api/v1/projects/{id}/tasks/{task}", dummy, 1, 0, 0, NULL },
    { "PUT", "/files/{name}", dummy, 1, 10, HTTP_BODY_STREAM, dummy_body },
    { "GET", "/A b", dummy, 1, 0, 0, NULL },
};

#define NTABLE (sizeof(table) / sizeof(table[0]))

static enum router_status match(const char *method, const char *path, struct router_match *m)
{
    static char scratch[HTTP_MAX_PATH + 1];
    size_t len = strlen(path);
    assert_true(len <= HTTP_MAX_PATH);
    return router_match(table, NTABLE, method, (struct str){ path, len }, scratch, m);
}

static void test_router_exact(void **state)
{
    struct router_match m;
    (void)state;
    assert_int_equal(match("GET", "/", &m), ROUTER_MATCH);
    assert_int_equal(m.route, 0);
    assert_int_equal(m.nparams, 0);
    assert_int_equal(match("GET", "/api/v1/projects", &m), ROUTER_MATCH);
    assert_int_equal(m.route, 1);
    assert_int_equal(match("POST", "/api/v1/projects", &m), ROUTER_MATCH);
    assert_int_equal(m.route, 2);
    /* the first route in table order wins: the literal is listed first */
    assert_int_equal(match("GET", "/api/v1/projects/new", &m), ROUTER_MATCH);
    assert_int_equal(m.route, 3);
}

static void test_router_params(void **state)
{
    struct router_match m;
    (void)state;
    assert_int_equal(match("GET", "/api/v1/projects/42", &m), ROUTER_MATCH);
    assert_int_equal(m.route, 4);
    assert_int_equal(m.nparams, 1);
    assert_true(str_eq_cstr(m.params[0], "42"));
    assert_int_equal(m.params[0].p[m.params[0].len], '\0');

    assert_int_equal(match("GET", "/api/v1/projects/7/tasks/abc", &m), ROUTER_MATCH);
    assert_int_equal(m.route, 6);
    assert_int_equal(m.nparams, 2);
    assert_true(str_eq_cstr(m.params[0], "7"));
    assert_true(str_eq_cstr(m.params[1], "abc"));

    assert_int_equal(match("DELETE", "/api/v1/projects/9", &m), ROUTER_MATCH);
    assert_int_equal(m.route, 5);
}

static void test_router_not_found(void **state)
{
    struct router_match m;
    (void)state;
    assert_int_equal(match("GET", "/nope", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/api/v1", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/api/v1/projects/1/tasks", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/api/v1/projects/1/tasks/2/x", &m), ROUTER_NOT_FOUND);
    /* trailing slash and empty segments are not equal */
    assert_int_equal(match("GET", "/api/v1/projects/", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/api/v1/projects//tasks/1", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "//", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/api//v1/projects", &m), ROUTER_NOT_FOUND);
    /* dot segments never fill a param */
    assert_int_equal(match("GET", "/api/v1/projects/..", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/api/v1/projects/.", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/api/v1/projects/%2E%2E", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/api/v1/projects/...", &m), ROUTER_MATCH);
    /* case matters in paths */
    assert_int_equal(match("GET", "/API/v1/projects", &m), ROUTER_NOT_FOUND);
}

static void test_router_method_not_allowed(void **state)
{
    struct router_match m;
    char allow[64];
    (void)state;
    assert_int_equal(match("PUT", "/api/v1/projects", &m), ROUTER_METHOD_NOT_ALLOWED);
    assert_int_equal(m.allow, HTTP_M_GET | HTTP_M_POST);
    router_allow_str(m.allow, allow, sizeof(allow));
    assert_string_equal(allow, "GET, HEAD, POST");

    assert_int_equal(match("POST", "/api/v1/projects/3", &m), ROUTER_METHOD_NOT_ALLOWED);
    router_allow_str(m.allow, allow, sizeof(allow));
    assert_string_equal(allow, "GET, HEAD, DELETE");

    /* methods are case-sensitive; unknown ones never match */
    assert_int_equal(match("get", "/", &m), ROUTER_METHOD_NOT_ALLOWED);
    assert_int_equal(match("BREW", "/", &m), ROUTER_METHOD_NOT_ALLOWED);
    /* HEAD is served by GET routes */
    assert_int_equal(match("HEAD", "/api/v1/projects/3", &m), ROUTER_MATCH);
    assert_int_equal(m.route, 4);
    assert_int_equal(match("HEAD", "/files/x", &m), ROUTER_METHOD_NOT_ALLOWED);
    router_allow_str(m.allow, allow, sizeof(allow));
    assert_string_equal(allow, "PUT");
    /* a tiny buffer truncates at a method boundary */
    router_allow_str(HTTP_M_GET | HTTP_M_POST, allow, 5);
    assert_string_equal(allow, "GET");
}

static void test_router_percent(void **state)
{
    struct router_match m;
    (void)state;
    assert_int_equal(match("PUT", "/files/a%20b", &m), ROUTER_MATCH);
    assert_true(str_eq_cstr(m.params[0], "a b"));
    /* an escaped slash is data inside its segment */
    assert_int_equal(match("PUT", "/files/a%2Fb", &m), ROUTER_MATCH);
    assert_true(str_eq_cstr(m.params[0], "a/b"));
    assert_int_equal(match("PUT", "/files/a%2fb%2F", &m), ROUTER_MATCH);
    assert_true(str_eq_cstr(m.params[0], "a/b/"));
    /* literals compare decoded */
    assert_int_equal(match("GET", "/%41%20b", &m), ROUTER_MATCH);
    assert_int_equal(m.route, 8);
    assert_int_equal(match("GET", "/api%2Fv1/projects", &m), ROUTER_NOT_FOUND);
    /* UTF-8 */
    assert_int_equal(match("PUT", "/files/%C3%A9t%C3%A9", &m), ROUTER_MATCH);
    assert_true(str_eq_cstr(m.params[0], "\xc3\xa9t\xc3\xa9"));
    assert_int_equal(match("PUT", "/files/\xc3\xa9", &m), ROUTER_MATCH);
    /* '+' is not a space in a path */
    assert_int_equal(match("PUT", "/files/a+b", &m), ROUTER_MATCH);
    assert_true(str_eq_cstr(m.params[0], "a+b"));
}

static void test_router_bad_path(void **state)
{
    struct router_match m;
    static const char *const bad[] = {
        "",
        "x",
        "api/v1",
        "/files/%00",
        "/files/a%00b",
        "/files/%",
        "/files/%4",
        "/files/%4g",
        "/files/%zz",
        "/files/%%41",
        "/files/a b",
        "/files/a\tb",
        "/files/\x7f",
        "/files/%C3",
        "/files/%FF",
        "/files/\xff",
        "/%E0%80%80",
        "/files/%ED%A0%80",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (match("PUT", bad[i], &m) != ROUTER_BAD_PATH)
            fail_msg("'%s' was not refused", bad[i]);
        assert_int_equal(m.nparams, 0);
    }
    /* a bad escape anywhere is 400, even on a path no route has */
    assert_int_equal(match("GET", "/nope/%zz", &m), ROUTER_BAD_PATH);
}

static void test_router_decode(void **state)
{
    char out[64];
    (void)state;
    assert_int_equal(router_decode_path(STR_LIT("/"), out), 1);
    assert_int_equal(out[0], '\0');
    assert_int_equal(router_decode_path(STR_LIT("/a/b%2Fc/"), out), 3);
    assert_memory_equal(out, "a\0b/c\0\0", 7);
    assert_int_equal(router_decode_path(STR_LIT("/%7e%7E"), out), 1);
    assert_string_equal(out, "~~");
    assert_int_equal(router_decode_path(STR_LIT("/a%0"), out), -EINVAL);
    assert_int_equal(router_decode_path((struct str){ "/a\0b", 4 }, out), -EINVAL);
}

static void test_router_check(void **state)
{
    size_t bad = 99;
    (void)state;
    assert_int_equal(router_check(table, NTABLE, &bad), 0);

    static const struct http_route bad_tables[][1] = {
        { { "FETCH", "/x", dummy, 0, 0, 0, NULL } },
        { { "GET", "x", dummy, 0, 0, 0, NULL } },
        { { "GET", "/x", NULL, 0, 0, 0, NULL } },
        { { "GET", "/x/{", dummy, 0, 0, 0, NULL } },
        { { "GET", "/x/{}", dummy, 0, 0, 0, NULL } },
        { { "GET", "/x/a{b}", dummy, 0, 0, 0, NULL } },
        { { "GET", "/x/{a}{b}", dummy, 0, 0, 0, NULL } },
        { { "GET", "/x/%41", dummy, 0, 0, 0, NULL } },
        { { "GET", "/{a}/{b}/{c}/{d}/{e}", dummy, 0, 0, 0, NULL } },
        { { "PUT", "/x", dummy, 0, 10, HTTP_BODY_STREAM, NULL } },
        { { "PUT", "/x", dummy, 0, 10, 0, dummy_body } },
        { { NULL, "/x", dummy, 0, 0, 0, NULL } },
        { { "GET", NULL, dummy, 0, 0, 0, NULL } },
    };
    for (size_t i = 0; i < sizeof(bad_tables) / sizeof(bad_tables[0]); i++) {
        bad = 99;
        if (router_check(bad_tables[i], 1, &bad) != -EINVAL)
            fail_msg("table %zu was accepted", i);
        assert_int_equal(bad, 0);
    }
    static const struct http_route four[] = {
        { "GET", "/{a}/{b}/{c}/{d}", dummy, 0, 0, 0, NULL },
    };
    assert_int_equal(router_check(four, 1, NULL), 0);
}

/* ================= server ================= */

#define ROLE_WORKER 1u
#define ROLE_ADMIN  2u

static struct http_server *server;
static uint16_t port;
static atomic_int resumers_running;

static int echo(struct request *req)
{
    struct buf b;
    struct jw w;
    buf_init(&b, 0);
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_key(&w, "params");
    jw_arr_begin(&w);
    for (int i = 0; i < req->nparams; i++)
        jw_strn(&w, req->params[i].p, req->params[i].len);
    jw_arr_end(&w);
    jw_kstr(&w, "method", req->method);
    jw_kstr(&w, "path", req->path);
    jw_kstr(&w, "q", http_query(req, "q"));
    jw_kstr(&w, "user", req->principal.login);
    jw_kint(&w, "body_bytes", (long long)req->body_bytes);
    jw_key(&w, "body");
    jw_strn(&w, req->body.p, req->body.len);
    jw_obj_end(&w);
    http_add_header(req, "X-Test", "yes");
    http_reply_json(req, 200, &b);
    return HTTP_DONE;
}

static int item_get(struct request *req)
{
    int64_t id;
    if (http_param_id(req, 0, &id) < 0)
        return http_reply_error(req, 404, "not_found", "no such item", NULL), HTTP_DONE;
    char out[64];
    int n = snprintf(out, sizeof(out), "{\"id\":%lld}", (long long)id);
    http_reply(req, 200, "application/json", out, (size_t)n);
    return HTTP_DONE;
}

static int item_delete(struct request *req)
{
    http_reply_empty(req, 204);
    return HTTP_DONE;
}

static int fails(struct request *req)
{
    (void)req;
    return -ERR_CONFLICT; /* no reply: the server answers through the funnel */
}

static int silent(struct request *req)
{
    (void)req;
    return HTTP_DONE; /* no reply at all: 500 */
}

struct resumer {
    struct request *req;
    int delay_ms;
};

static void sleep_ms(long ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void *resume_later(void *arg)
{
    struct resumer *r = arg;
    struct request *req = r->req;
    sleep_ms(r->delay_ms);
    struct buf b;
    buf_init(&b, 0);
    buf_addf(&b, "{\"late\":true,\"id\":\"%s\"}", (const char *)req->user);
    http_reply_json(req, 200, &b);
    http_resume(req);
    atomic_fetch_sub(&resumers_running, 1);
    return NULL;
}

static int suspend_handler(struct request *req, int delay_ms)
{
    struct resumer *r = arena_alloc(&req->arena, sizeof(*r));
    r->req = req;
    r->delay_ms = delay_ms;
    /* the resumer may not read the connection: copy what it needs first */
    req->user = arena_strdup(&req->arena, req->nparams ? req->params[0].p : "-");
    pthread_t t;
    atomic_fetch_add(&resumers_running, 1);
    if (pthread_create(&t, NULL, resume_later, r) != 0) {
        atomic_fetch_sub(&resumers_running, 1);
        return http_reply_error(req, 500, "internal", "no thread", NULL), HTTP_DONE;
    }
    pthread_detach(t);
    return HTTP_SUSPENDED;
}

static int slow(struct request *req)
{
    return suspend_handler(req, 50);
}

static int hang(struct request *req)
{
    return suspend_handler(req, 400);
}

/* answers and resumes before returning HTTP_SUSPENDED */
static int eager(struct request *req)
{
    http_reply(req, 200, "text/plain", "eager", 5);
    http_resume(req);
    return HTTP_SUSPENDED;
}

#define STREAM_TOTAL (1u << 20)

struct stream_state {
    size_t sent;
    bool *released;
};

static unsigned char pattern(size_t i)
{
    return (unsigned char)((i * 131u + (i >> 11)) & 0xff);
}

static int stream_next(void *ctx, struct buf *out)
{
    struct stream_state *st = ctx;
    size_t part = 10007; /* odd sizes cross the 64 KiB blocks */
    if (STREAM_TOTAL - st->sent < part)
        part = STREAM_TOTAL - st->sent;
    for (size_t i = 0; i < part; i++)
        buf_addch(out, (char)pattern(st->sent + i));
    st->sent += part;
    return st->sent < STREAM_TOTAL ? 1 : 0;
}

static atomic_int streams_released;

static void stream_done(void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&streams_released, 1);
}

static int stream(struct request *req)
{
    struct stream_state *st = arena_calloc(&req->arena, 1, sizeof(*st));
    http_reply_stream(req, 200, "application/octet-stream", stream_next, stream_done, st);
    return HTTP_DONE;
}

struct upload_state {
    size_t bytes;
    uint32_t sum;
};

static int upload_body(struct request *req, const char *p, size_t len)
{
    struct upload_state *u = req->user;
    if (!u) {
        u = arena_calloc(&req->arena, 1, sizeof(*u));
        req->user = u;
    }
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '!')
            return -ERR_INVALID_REQUEST;
        u->sum = u->sum * 31 + (unsigned char)p[i];
    }
    u->bytes += len;
    return 0;
}

static int upload(struct request *req)
{
    struct upload_state *u = req->user;
    if (req->body_error < 0)
        return http_reply_errno(req, req->body_error), HTTP_DONE;
    char out[80];
    int n =
        snprintf(out, sizeof(out), "{\"bytes\":%zu,\"sum\":%u}", u ? u->bytes : 0, u ? u->sum : 0);
    http_reply(req, 200, "application/json", out, (size_t)n);
    return HTTP_DONE;
}

static int health(struct request *req)
{
    http_reply(req, 200, "text/plain", "ok", 2);
    return HTTP_DONE;
}

static const struct http_route routes[] = {
    { "GET", "/health", health, 0, 0, HTTP_PUBLIC | HTTP_NO_LOG, NULL },
    { "GET", "/echo/{a}/{b}", echo, 0, 0, HTTP_PUBLIC, NULL },
    { "POST", "/echo", echo, ROLE_WORKER, 1024, HTTP_BODY_JSON, NULL },
    { "PUT", "/raw", echo, ROLE_WORKER, 1024, 0, NULL },
    { "GET", "/items/{id}", item_get, ROLE_WORKER | ROLE_ADMIN, 0, 0, NULL },
    { "DELETE", "/items/{id}", item_delete, ROLE_ADMIN, 0, 0, NULL },
    { "GET", "/fails", fails, 0, 0, HTTP_PUBLIC, NULL },
    { "GET", "/silent", silent, 0, 0, HTTP_PUBLIC, NULL },
    { "GET", "/slow/{x}", slow, 0, 0, HTTP_PUBLIC, NULL },
    { "GET", "/hang", hang, 0, 0, HTTP_PUBLIC, NULL },
    { "GET", "/eager", eager, 0, 0, HTTP_PUBLIC, NULL },
    { "GET", "/stream", stream, 0, 0, HTTP_PUBLIC, NULL },
    { "POST", "/upload", upload, 0, 4u << 20, HTTP_PUBLIC | HTTP_BODY_STREAM, upload_body },
};

static int authenticate(void *app,
                        struct request *req,
                        const char *token,
                        const char *csrf,
                        bool via_cookie,
                        struct http_principal *ret)
{
    assert_ptr_equal(app, (void *)&server);
    if (strcmp(token, "down") == 0)
        return -ERR_UNAVAILABLE;
    if (strcmp(token, "broken") == 0)
        return -EIO;
    bool good = strcmp(token, "good") == 0;
    bool admin = strcmp(token, "admin") == 0;
    if (!good && !admin)
        return -ERR_UNAUTHORIZED;
    bool safe = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    if (via_cookie && !safe && (!csrf || strcmp(csrf, "csrf-ok") != 0))
        return -ERR_FORBIDDEN;
    if (!via_cookie && csrf)
        return -EINVAL; /* csrf only comes with cookies */
    ret->user_id = admin ? 1 : 2;
    ret->roles = admin ? ROLE_ADMIN : ROLE_WORKER;
    ret->login = arena_strdup(&req->arena, admin ? "root" : "alice");
    return 0;
}

static int start_server(struct http_server **ret, unsigned threads)
{
    struct http_options opt = {
        .listen_addr = "127.0.0.1",
        .port = 0,
        .threads = threads,
        .cookie_name = "annotd_session",
        .routes = routes,
        .nroutes = sizeof(routes) / sizeof(routes[0]),
        .authenticate = authenticate,
        .app = &server,
    };
    return http_server_start(&opt, ret);
}

static int server_setup(void **state)
{
    (void)state;
    /* ANNOTD_TEST_VERBOSE=1 shows the request log */
    log_setup(getenv("ANNOTD_TEST_VERBOSE") ? LOG_DEBUG : LOG_WARN, 0);
    curl_global_init(CURL_GLOBAL_ALL);
    if (start_server(&server, 4) < 0)
        return -1;
    port = http_server_port(server);
    return port ? 0 : -1;
}

static int server_teardown(void **state)
{
    (void)state;
    http_server_stop(server, 2000);
    server = NULL;
    while (atomic_load(&resumers_running) > 0)
        sleep_ms(5);
    curl_global_cleanup();
    return 0;
}

/* ---- a small curl client ---- */

struct reply {
    long status;
    struct buf body;
    struct buf headers;
    CURLcode rc;
    long connects; /* new connections this request needed */
};

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
    buf_add(ctx, p, size * n);
    return size * n;
}

struct upload_src {
    const char *p;
    size_t len, off;
};

static size_t on_read(char *out, size_t size, size_t n, void *ctx)
{
    struct upload_src *u = ctx;
    size_t k = size * n;
    if (k > u->len - u->off)
        k = u->len - u->off;
    if (k > 3000)
        k = 3000; /* several chunks */
    memcpy(out, u->p + u->off, k);
    u->off += k;
    return k;
}

static void request_on(CURL *h,
                       uint16_t to_port,
                       const char *method,
                       const char *path,
                       const char *const *headers,
                       const char *body,
                       size_t body_len,
                       bool chunked,
                       struct reply *r)
{
    char url[9000];
    struct curl_slist *hl = NULL;
    struct upload_src src = { body, body_len, 0 };

    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)to_port, path);
    buf_init(&r->body, 0);
    buf_init(&r->headers, 0);
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r->headers);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    for (; headers && *headers; headers++)
        hl = curl_slist_append(hl, *headers);
    if (body && chunked) {
        hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, &src);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    } else if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    r->rc = curl_easy_perform(h);
    r->status = 0;
    r->connects = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r->connects);
    curl_slist_free_all(hl);
}

static CURL *curl_main;

static void request(const char *method,
                    const char *path,
                    const char *const *headers,
                    const char *body,
                    struct reply *r)
{
    if (!curl_main)
        curl_main = curl_easy_init();
    request_on(curl_main, port, method, path, headers, body, body ? strlen(body) : 0, false, r);
}

static void reply_release(struct reply *r)
{
    buf_release(&r->body);
    buf_release(&r->headers);
}

static bool has_header(const struct reply *r, const char *line)
{
    return strcasestr(r->headers.p, line) != NULL;
}

static void assert_error(struct reply *r, long status, const char *code)
{
    char want[128];
    assert_int_equal(r->rc, CURLE_OK);
    assert_int_equal(r->status, status);
    snprintf(want, sizeof(want), "{\"error\":{\"code\":\"%s\",\"message\":\"", code);
    if (strncmp(r->body.p, want, strlen(want)) != 0)
        fail_msg("status %ld body '%s', want code '%s'", r->status, r->body.p, code);
    assert_true(has_header(r, "Content-Type: application/json; charset=utf-8"));
    assert_true(has_header(r, "Cache-Control: no-store"));
    assert_true(
        has_header(r, "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'"));
    assert_true(has_header(r, "X-Content-Type-Options: nosniff"));
    reply_release(r);
}

static const char *const bearer_good[] = { "Authorization: Bearer good", NULL };
static const char *const bearer_admin[] = { "Authorization: bearer   admin  ", NULL };

static void test_http_basic(void **state)
{
    struct reply r;
    (void)state;

    request("GET", "/health", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.p, "ok");
    assert_true(has_header(&r, "X-Content-Type-Options: nosniff"));
    assert_true(has_header(&r, "Referrer-Policy: no-referrer"));
    assert_true(has_header(&r, "X-Frame-Options: DENY"));
    assert_false(has_header(&r, "Content-Security-Policy")); /* not JSON */
    reply_release(&r);

    request("GET", "/echo/a%20b/%C3%A9?q=x%20y", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.p, "{\"params\":[\"a b\",\"\xc3\xa9\"],\"method\":\"GET\","
                                  "\"path\":\"/echo/a%20b/%C3%A9\",\"q\":\"x y\",\"user\":null,"
                                  "\"body_bytes\":0,\"body\":\"\"}");
    assert_true(has_header(&r, "X-Test: yes"));
    assert_true(has_header(&r, "Cache-Control: no-store"));
    assert_true(has_header(&r, "Content-Security-Policy: default-src 'none'"));
    reply_release(&r);

    /* an escaped slash stays inside its param */
    request("GET", "/echo/a%2Fb/c", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body.p, "\"params\":[\"a/b\",\"c\"]"));
    reply_release(&r);

    request("HEAD", "/echo/a/b", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 0);
    reply_release(&r);
}

static void test_http_routing_errors(void **state)
{
    struct reply r;
    (void)state;

    request("GET", "/nope", NULL, NULL, &r);
    assert_error(&r, 404, "not_found");
    request("GET", "/echo/a/b/", NULL, NULL, &r);
    assert_error(&r, 404, "not_found");
    request("GET", "/echo/a", NULL, NULL, &r);
    assert_error(&r, 404, "not_found");

    request("POST", "/health", NULL, NULL, &r);
    assert_true(has_header(&r, "Allow: GET, HEAD"));
    assert_error(&r, 405, "method_not_allowed");
    request("OPTIONS", "/items/1", NULL, NULL, &r);
    assert_true(has_header(&r, "Allow: GET, HEAD, DELETE"));
    assert_error(&r, 405, "method_not_allowed");

    request("BREW", "/health", NULL, NULL, &r);
    assert_error(&r, 501, "not_implemented");

    request("GET", "/echo/a%00b/c", NULL, NULL, &r);
    assert_error(&r, 400, "invalid_request");
    request("GET", "/echo/a%zzb/c", NULL, NULL, &r);
    assert_error(&r, 400, "invalid_request");
    request("GET", "/echo/a%/c", NULL, NULL, &r);
    assert_error(&r, 400, "invalid_request");
    request("GET", "/echo/%FF/c", NULL, NULL, &r);
    assert_error(&r, 400, "invalid_request");

    char path[HTTP_MAX_PATH + 100];
    memset(path, 'a', sizeof(path) - 1);
    path[0] = '/';
    path[sizeof(path) - 1] = '\0';
    request("GET", path, NULL, NULL, &r);
    assert_error(&r, 414, "too_large");

    request("GET", "/fails", NULL, NULL, &r);
    assert_error(&r, 409, "conflict");
    request("GET", "/silent", NULL, NULL, &r);
    assert_error(&r, 500, "internal");
}

static void test_http_auth(void **state)
{
    struct reply r;
    (void)state;

    request("GET", "/items/5", NULL, NULL, &r);
    assert_true(has_header(&r, "WWW-Authenticate: Bearer"));
    assert_error(&r, 401, "unauthorized");

    static const char *const wrong[] = { "Authorization: Bearer nope", NULL };
    request("GET", "/items/5", wrong, NULL, &r);
    assert_error(&r, 401, "unauthorized");
    static const char *const basic[] = { "Authorization: Basic Z29vZDp4", NULL };
    request("GET", "/items/5", basic, NULL, &r);
    assert_error(&r, 401, "unauthorized");
    static const char *const junk[] = { "Authorization: Bearer go od", NULL };
    request("GET", "/items/5", junk, NULL, &r);
    assert_error(&r, 401, "unauthorized");

    request("GET", "/items/5", bearer_good, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.p, "{\"id\":5}");
    reply_release(&r);
    request("GET", "/items/0", bearer_good, NULL, &r);
    assert_error(&r, 404, "not_found");
    request("GET", "/items/5", bearer_admin, NULL, &r);
    assert_int_equal(r.status, 200);
    reply_release(&r);

    /* roles */
    request("DELETE", "/items/5", bearer_good, NULL, &r);
    assert_error(&r, 403, "forbidden");
    request("DELETE", "/items/5", bearer_admin, NULL, &r);
    assert_int_equal(r.status, 204);
    reply_release(&r);

    /* the authenticator's other answers */
    static const char *const down[] = { "Authorization: Bearer down", NULL };
    request("GET", "/items/5", down, NULL, &r);
    assert_error(&r, 503, "unavailable");
    static const char *const broken[] = { "Authorization: Bearer broken", NULL };
    request("GET", "/items/5", broken, NULL, &r);
    assert_error(&r, 500, "internal");
}

static void test_http_cookie_csrf(void **state)
{
    struct reply r;
    (void)state;

    static const char *const cookie[] = { "Cookie: other=1; annotd_session=good", NULL };
    request("GET", "/items/5", cookie, NULL, &r);
    assert_int_equal(r.status, 200);
    reply_release(&r);

    /* unsafe method: the cookie needs the CSRF header */
    request("POST", "/echo", cookie, NULL, &r);
    assert_error(&r, 403, "forbidden");
    static const char *const cookie_bad_csrf[] = { "Cookie: annotd_session=good",
                                                   "X-CSRF-Token: wrong", NULL };
    request("POST", "/echo", cookie_bad_csrf, NULL, &r);
    assert_error(&r, 403, "forbidden");
    static const char *const cookie_csrf[] = { "Cookie: annotd_session=good",
                                               "X-CSRF-Token: csrf-ok",
                                               "Content-Type: application/json", NULL };
    request("POST", "/echo", cookie_csrf, "{\"a\":1}", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body.p, "\"user\":\"alice\""));
    assert_non_null(strstr(r.body.p, "\"body\":\"{\\\"a\\\":1}\""));
    reply_release(&r);

    /* a Bearer token wins over the cookie, and needs no CSRF header */
    static const char *const both[] = { "Cookie: annotd_session=nope", "Authorization: Bearer good",
                                        "Content-Type: application/json", NULL };
    request("POST", "/echo", both, "{}", &r);
    assert_int_equal(r.status, 200);
    reply_release(&r);

    static const char *const empty_cookie[] = { "Cookie: annotd_session=", NULL };
    request("GET", "/items/5", empty_cookie, NULL, &r);
    assert_error(&r, 401, "unauthorized");
}

static void test_http_body(void **state)
{
    struct reply r;
    (void)state;

    static const char *const json[] = { "Authorization: Bearer good",
                                        "Content-Type: Application/JSON; charset=utf-8", NULL };
    static const char *const text[] = { "Authorization: Bearer good", "Content-Type: text/plain",
                                        NULL };
    request("POST", "/echo", json, "[1,2,3]", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body.p, "\"body_bytes\":7,\"body\":\"[1,2,3]\""));
    reply_release(&r);

    request("POST", "/echo", text, "[1,2,3]", &r);
    assert_error(&r, 415, "unsupported_media_type");
    /* an empty body needs no media type */
    request("POST", "/echo", bearer_good, NULL, &r);
    assert_int_equal(r.status, 200);
    reply_release(&r);
    /* no JSON flag: any type */
    request("PUT", "/raw", text, "hello", &r);
    assert_int_equal(r.status, 200);
    reply_release(&r);

    /* Content-Length over the cap: 413 without reading the body */
    char big[2048];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    request("PUT", "/raw", text, big, &r);
    assert_true(has_header(&r, "Connection: close"));
    assert_error(&r, 413, "too_large");
    /* a body on a route that takes none */
    request("DELETE", "/items/5", bearer_admin, "x", &r);
    assert_error(&r, 413, "too_large");

    /* chunked: counted as it arrives */
    request_on(curl_main, port, "PUT", "/raw", text, big, strlen(big), true, &r);
    assert_error(&r, 413, "too_large");
    request_on(curl_main, port, "PUT", "/raw", text, big, 1000, true, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body.p, "\"body_bytes\":1000"));
    reply_release(&r);
    request_on(curl_main, port, "POST", "/echo", text, big, 10, true, &r);
    assert_error(&r, 415, "unsupported_media_type");

    /* a bad token never reads the body */
    static const char *const bad[] = { "Authorization: Bearer nope", "Content-Type: text/plain",
                                       NULL };
    request("PUT", "/raw", bad, "hello", &r);
    assert_true(has_header(&r, "Connection: close"));
    assert_error(&r, 401, "unauthorized");
}

static void test_http_stream_upload(void **state)
{
    struct reply r;
    size_t len = 3u << 20;
    char *data = malloc(len);
    uint32_t sum = 0;
    (void)state;

    for (size_t i = 0; i < len; i++) {
        data[i] = (char)('a' + i % 26);
        sum = sum * 31 + (unsigned char)data[i];
    }
    char want[80];
    snprintf(want, sizeof(want), "{\"bytes\":%zu,\"sum\":%u}", len, sum);
    request_on(curl_main, port, "POST", "/upload", NULL, data, len, false, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.p, want);
    reply_release(&r);
    request_on(curl_main, port, "POST", "/upload", NULL, data, len, true, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.p, want);
    reply_release(&r);

    /* on_body refuses: the handler answers with body_error */
    data[len / 2] = '!';
    request_on(curl_main, port, "POST", "/upload", NULL, data, len, true, &r);
    assert_error(&r, 400, "invalid_request");
    free(data);
}

static void test_http_stream_reply(void **state)
{
    struct reply r;
    (void)state;
    int before = atomic_load(&streams_released);

    request("GET", "/stream", NULL, NULL, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, STREAM_TOTAL);
    for (size_t i = 0; i < STREAM_TOTAL; i++)
        if ((unsigned char)r.body.p[i] != pattern(i))
            fail_msg("byte %zu differs", i);
    assert_true(has_header(&r, "X-Frame-Options: DENY"));
    reply_release(&r);
    request("HEAD", "/stream", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    reply_release(&r);
    /* release ran once per stream, even for HEAD */
    for (int i = 0; i < 200 && atomic_load(&streams_released) < before + 2; i++)
        sleep_ms(5);
    assert_int_equal(atomic_load(&streams_released), before + 2);
}

static void test_http_suspend(void **state)
{
    struct reply r;
    (void)state;

    int64_t t0 = clock_mono_ms();
    request("GET", "/slow/abc", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.p, "{\"late\":true,\"id\":\"abc\"}");
    assert_true(clock_mono_ms() - t0 >= 45);
    reply_release(&r);

    request("GET", "/eager", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.p, "eager");
    reply_release(&r);
}

/* ---- raw sockets: what curl would not send ---- */

static int raw_connect(uint16_t to_port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(to_port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* Send `req`, read until the peer closes or 2 s pass; returns true if it closed. */
static bool raw_exchange(const char *req, size_t len, struct buf *out)
{
    int fd = raw_connect(port);
    bool closed = false;
    assert_int_equal(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
    int64_t deadline = clock_mono_ms() + 2000;
    while (clock_mono_ms() < deadline) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 50) <= 0)
            continue;
        char tmp[4096];
        ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
        if (n <= 0) {
            closed = true;
            break;
        }
        buf_add(out, tmp, (size_t)n);
    }
    close(fd);
    return closed;
}

static void test_http_raw(void **state)
{
    struct buf out;
    (void)state;

    /* a huge Content-Length is refused at once and the connection closed */
    static const char big[] = "PUT /raw HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer good\r\n"
                              "Content-Length: 1000000000\r\n\r\n";
    buf_init(&out, 0);
    assert_true(raw_exchange(big, sizeof(big) - 1, &out));
    assert_true(strncmp(out.p, "HTTP/1.1 413", 12) == 0);
    buf_release(&out);

    /* with Expect: 100-continue no 100 is sent before the refusal */
    static const char expect[] = "PUT /raw HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\n"
                                 "Content-Length: 10\r\nExpect: 100-continue\r\n\r\n";
    buf_init(&out, 0);
    assert_true(raw_exchange(expect, sizeof(expect) - 1, &out));
    assert_true(strncmp(out.p, "HTTP/1.1 401", 12) == 0);
    buf_release(&out);

    /* keep-alive: two requests on one connection, errors included */
    static const char two[] = "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                              "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    buf_init(&out, 0);
    assert_true(raw_exchange(two, sizeof(two) - 1, &out));
    assert_true(strncmp(out.p, "HTTP/1.1 404", 12) == 0);
    assert_non_null(strstr(out.p + 12, "HTTP/1.1 200"));
    buf_release(&out);

    /* a streamed HEAD closes: libmicrohttpd would add a stray last chunk */
    static const char head[] = "HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n";
    buf_init(&out, 0);
    assert_true(raw_exchange(head, sizeof(head) - 1, &out));
    assert_true(strncmp(out.p, "HTTP/1.1 200", 12) == 0);
    assert_non_null(strcasestr(out.p, "\r\nConnection: close\r\n"));
    buf_release(&out);

    /* junk */
    static const char *const junk[] = {
        "GET\r\n\r\n",
        "GET * HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET http://x/health HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /health?\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /he\x01lth HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "\r\n\r\n\r\n",
        "GET /%%%% HTTP/1.1\r\nHost: x\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        buf_init(&out, 0);
        raw_exchange(junk[i], strlen(junk[i]), &out);
        buf_release(&out);
    }

    struct reply r;
    request("GET", "/health", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    reply_release(&r);
}

/* ---- concurrency ---- */

#define NTHREADS 8
#define NREQS    200

static void *hammer(void *arg)
{
    long id = (long)arg;
    CURL *h = curl_easy_init();
    long bad = 0, connects = 0;
    for (int i = 0; i < NREQS; i++) {
        struct reply r;
        char path[64];
        long want = 200;
        if (i % 50 == 7) {
            snprintf(path, sizeof(path), "/slow/%ld-%d", id, i);
            request_on(h, port, "GET", path, NULL, NULL, 0, false, &r);
        } else if (i % 10 == 3) {
            request_on(h, port, "GET", "/items/5", NULL, NULL, 0, false, &r);
            want = 401;
        } else {
            snprintf(path, sizeof(path), "/items/%ld", id * 1000 + i + 1);
            request_on(h, port, "GET", path, bearer_good, NULL, 0, false, &r);
            char body[64];
            snprintf(body, sizeof(body), "{\"id\":%ld}", id * 1000 + i + 1);
            if (r.status == 200 && strcmp(r.body.p, body) != 0)
                bad++;
        }
        if (r.rc != CURLE_OK || r.status != want)
            bad++;
        connects += r.connects;
        reply_release(&r);
    }
    curl_easy_cleanup(h);
    /* replies (401s included) are queued after the first call: connections are kept */
    if (connects > 3)
        bad += connects;
    return (void *)bad;
}

static void wait_idle(struct http_server *s, struct http_stats *ret)
{
    for (int i = 0; i < 400; i++) {
        http_server_stats(s, ret);
        if (ret->active == 0)
            return;
        sleep_ms(5);
    }
}

static void test_http_concurrent(void **state)
{
    pthread_t t[NTHREADS];
    struct http_stats before, after;
    (void)state;

    /* completions are counted just after the reply went out: let them settle */
    wait_idle(server, &before);
    for (long i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, (void *)i), 0);
    long bad = 0;
    for (int i = 0; i < NTHREADS; i++) {
        void *res;
        pthread_join(t[i], &res);
        bad += (long)res;
    }
    assert_int_equal(bad, 0);
    wait_idle(server, &after);
    assert_int_equal(after.requests - before.requests, NTHREADS * NREQS);
    assert_int_equal(after.errors_4xx - before.errors_4xx, NTHREADS * (NREQS / 10));
    assert_int_equal(after.active, 0);
}

/* ---- stop with a request suspended past the grace ---- */

struct hang_arg {
    uint16_t port;
    struct reply r;
};

static void *hang_request(void *arg)
{
    struct hang_arg *a = arg;
    CURL *h = curl_easy_init();
    request_on(h, a->port, "GET", "/hang", NULL, NULL, 0, false, &a->r);
    curl_easy_cleanup(h);
    return NULL;
}

static void test_http_stop_suspended(void **state)
{
    struct http_server *s;
    struct hang_arg a = { 0 };
    pthread_t t;
    (void)state;

    assert_int_equal(start_server(&s, 2), 0);
    a.port = http_server_port(s);
    assert_int_equal(pthread_create(&t, NULL, hang_request, &a), 0);
    struct http_stats st;
    for (int i = 0; i < 200; i++) {
        http_server_stats(s, &st);
        if (st.active == 1)
            break;
        sleep_ms(5);
    }
    assert_int_equal(st.active, 1);
    sleep_ms(20);
    int64_t t0 = clock_mono_ms();
    http_server_stop(s, 50); /* the handler answers after 400 ms: abandoned */
    assert_true(clock_mono_ms() - t0 < 1000);
    pthread_join(t, NULL);
    /* a 503 if a pool thread saw it before the daemon closed it, else closed */
    if (a.r.rc == CURLE_OK) {
        assert_true(has_header(&a.r, "Connection: close"));
        assert_error(&a.r, 503, "unavailable");
    } else {
        reply_release(&a.r);
    }
    /* the resumer still runs, on memory the request keeps alive */
    while (atomic_load(&resumers_running) > 0)
        sleep_ms(5);

    /* and one that finishes within the grace gets its reply */
    assert_int_equal(start_server(&s, 2), 0);
    a.port = http_server_port(s);
    assert_int_equal(pthread_create(&t, NULL, hang_request, &a), 0);
    for (int i = 0; i < 200; i++) {
        http_server_stats(s, &st);
        if (st.active == 1)
            break;
        sleep_ms(5);
    }
    http_server_stop(s, 3000);
    pthread_join(t, NULL);
    assert_int_equal(a.r.rc, CURLE_OK);
    assert_int_equal(a.r.status, 200);
    reply_release(&a.r);
}

static void test_http_listen(void **state)
{
    struct http_server *s;
    struct http_options opt = {
        .listen_addr = "[::1]",
        .routes = routes,
        .nroutes = sizeof(routes) / sizeof(routes[0]),
        .threads = 1,
    };
    (void)state;

    if (http_server_start(&opt, &s) == 0) { /* no IPv6 in some containers */
        char url[64];
        CURL *h = curl_easy_init();
        snprintf(url, sizeof(url), "http://[::1]:%u/health", (unsigned)http_server_port(s));
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        struct buf b;
        buf_init(&b, 0);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
        assert_int_equal(curl_easy_perform(h), CURLE_OK);
        assert_string_equal(b.p, "ok");
        buf_release(&b);
        curl_easy_cleanup(h);
        http_server_stop(s, 100);
    }
    opt.listen_addr = "not-an-address";
    assert_int_equal(http_server_start(&opt, &s), -EINVAL);
    opt.listen_addr = "127.0.0.1";
    static const struct http_route bad[] = { { "GET", "nope", dummy, 0, 0, 0, NULL } };
    opt.routes = bad;
    opt.nroutes = 1;
    assert_int_equal(http_server_start(&opt, &s), -EINVAL);
}

static void test_http_cleanup_client(void **state)
{
    (void)state;
    if (curl_main)
        curl_easy_cleanup(curl_main);
    curl_main = NULL;
}

int main(void)
{
    const struct CMUnitTest router_tests[] = {
        cmocka_unit_test(test_router_exact),     cmocka_unit_test(test_router_params),
        cmocka_unit_test(test_router_not_found), cmocka_unit_test(test_router_method_not_allowed),
        cmocka_unit_test(test_router_percent),   cmocka_unit_test(test_router_bad_path),
        cmocka_unit_test(test_router_decode),    cmocka_unit_test(test_router_check),
    };
    const struct CMUnitTest http_tests[] = {
        cmocka_unit_test(test_http_basic),
        cmocka_unit_test(test_http_routing_errors),
        cmocka_unit_test(test_http_auth),
        cmocka_unit_test(test_http_cookie_csrf),
        cmocka_unit_test(test_http_body),
        cmocka_unit_test(test_http_stream_upload),
        cmocka_unit_test(test_http_stream_reply),
        cmocka_unit_test(test_http_suspend),
        cmocka_unit_test(test_http_raw),
        cmocka_unit_test(test_http_concurrent),
        cmocka_unit_test(test_http_stop_suspended),
        cmocka_unit_test(test_http_listen),
        cmocka_unit_test(test_http_cleanup_client),
    };
    int failed = cmocka_run_group_tests_name("router", router_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("http", http_tests, server_setup, server_teardown);
    return failed ? 1 : 0;
}
