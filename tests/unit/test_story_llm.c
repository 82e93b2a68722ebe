/*
 * Unit tests for src/story/llm.c: the real client over real HTTP against a
 * tiny OpenAI-compatible stand-in served by a thread of this process on
 * 127.0.0.1:0, answering canned responses in order (good, fenced, malformed,
 * wrong enum, 500 then good, a hang past the timeout, oversized, 429 ...),
 * and the SSRF policy of story_llm_url_allowed().
 */
/* cmocka needs these before it, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include "story/llm.h"

/* ---- the stand-in server ------------------------------------------------ */

struct canned {
    int status;
    char *body;          /* owned */
    long delay_ms;       /* before answering; cut short when the client hangs up */
    const char *headers; /* extra header lines, each ending in \r\n */
};

#define SCRIPT_MAX 8

struct standin {
    int fd;
    int port;
    pthread_t thread;
    atomic_bool stop;
    atomic_int requests;
    struct canned script[SCRIPT_MAX]; /* answered in order; the last one repeats */
    size_t n_script;
    pthread_mutex_t mu;
    char last[1 << 16]; /* the last request, head and body */
};

static struct standin srv;

static ssize_t read_request(int c, char *out, size_t cap)
{
    size_t len = 0, want = 0;
    while (len + 1 < cap) {
        struct pollfd p = { .fd = c, .events = POLLIN };
        if (poll(&p, 1, 2000) <= 0)
            return -1;
        ssize_t k = recv(c, out + len, cap - 1 - len, 0);
        if (k <= 0)
            return -1;
        len += (size_t)k;
        out[len] = '\0';
        char *head_end = strstr(out, "\r\n\r\n");
        if (!head_end)
            continue;
        if (!want) {
            const char *cl = strcasestr(out, "content-length:");
            want = (size_t)(head_end + 4 - out) + (cl ? strtoul(cl + 15, NULL, 10) : 0);
        }
        if (len >= want)
            return (ssize_t)len;
    }
    return (ssize_t)len;
}

/* Wait ms, or less when the client hangs up; true when it is still there. */
static bool linger(int c, long ms)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left = ms - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0 || atomic_load(&srv.stop))
            return !atomic_load(&srv.stop);
        struct pollfd p = { .fd = c, .events = POLLIN };
        if (poll(&p, 1, left > 20 ? 20 : (int)left) > 0) {
            char b[16];
            if (recv(c, b, sizeof(b), MSG_DONTWAIT) == 0)
                return false;
        }
    }
}

static void send_all(int c, const char *p, size_t len)
{
    while (len) {
        ssize_t k = send(c, p, len, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        p += k;
        len -= (size_t)k;
    }
}

static void *serve(void *arg)
{
    static char req[1 << 16];
    while (!atomic_load(&srv.stop)) {
        struct pollfd p = { .fd = srv.fd, .events = POLLIN };
        if (poll(&p, 1, 20) <= 0)
            continue;
        int c = accept(srv.fd, NULL, NULL);
        if (c < 0)
            continue;
        ssize_t n = read_request(c, req, sizeof(req));
        if (n <= 0) {
            close(c);
            continue;
        }
        int i = atomic_fetch_add(&srv.requests, 1);
        pthread_mutex_lock(&srv.mu);
        memcpy(srv.last, req, (size_t)n + 1);
        /* a copy: the next test may clear the script while this answer is still sent */
        struct canned a_copy = srv.script[(size_t)i < srv.n_script ? (size_t)i : srv.n_script - 1];
        a_copy.body = strdup(a_copy.body ? a_copy.body : "");
        const struct canned *a = &a_copy;
        pthread_mutex_unlock(&srv.mu);
        if (a->delay_ms && !linger(c, a->delay_ms)) {
            free(a_copy.body);
            close(c);
            continue;
        }
        char head[512];
        size_t blen = strlen(a->body);
        int hl = snprintf(head, sizeof(head),
                          "HTTP/1.1 %d Canned\r\nContent-Type: application/json\r\n"
                          "Content-Length: %zu\r\nConnection: close\r\n%s\r\n",
                          a->status, blen, a->headers ? a->headers : "");
        send_all(c, head, (size_t)hl);
        send_all(c, a->body, blen);
        shutdown(c, SHUT_WR);
        linger(c, 200); /* let the client read before the close */
        close(c);
        free(a_copy.body);
    }
    return arg;
}

static void script_clear(void)
{
    pthread_mutex_lock(&srv.mu);
    for (size_t i = 0; i < srv.n_script; i++)
        free(srv.script[i].body);
    srv.n_script = 0;
    srv.last[0] = '\0';
    pthread_mutex_unlock(&srv.mu);
    atomic_store(&srv.requests, 0);
}

/* Queue an answer; body is taken over. */
static void script_add(int status, char *body, long delay_ms, const char *headers)
{
    assert_true(srv.n_script < SCRIPT_MAX);
    pthread_mutex_lock(&srv.mu);
    srv.script[srv.n_script++] =
        (struct canned){ .status = status, .body = body, .delay_ms = delay_ms, .headers = headers };
    pthread_mutex_unlock(&srv.mu);
}

/* An OpenAI chat completion whose message content is `content`. */
static char *completion(const char *content)
{
    json_t *v = json_pack("{s:s, s:s, s:[{s:i, s:{s:s, s:s}, s:s}]}", "id", "chatcmpl-1", "model",
                          "standin-7b", "choices", "index", 0, "message", "role", "assistant",
                          "content", content, "finish_reason", "stop");
    assert_non_null(v);
    char *s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    return s;
}

static int setup(void **state)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    memset(&srv, 0, sizeof(srv));
    pthread_mutex_init(&srv.mu, NULL);
    srv.fd = socket(AF_INET, SOCK_STREAM, 0);
    if (srv.fd < 0)
        return -1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof(a);
    if (bind(srv.fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(srv.fd, 16) < 0 ||
        getsockname(srv.fd, (struct sockaddr *)&a, &al) < 0)
        return -1;
    srv.port = ntohs(a.sin_port);
    return pthread_create(&srv.thread, NULL, serve, NULL) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    atomic_store(&srv.stop, true);
    pthread_join(srv.thread, NULL);
    close(srv.fd);
    script_clear();
    pthread_mutex_destroy(&srv.mu);
    curl_global_cleanup();
    return 0;
}

static int each(void **state)
{
    script_clear();
    return 0;
}

/* ---- the client ---------------------------------------------------------- */

/* 宋江道：“兄弟们且住。”众人都笑了。 is 18 code points (54 bytes). */
static const char scene[] = "宋江道：“兄弟们且住。”众人都笑了。";

static const char good[] =
    "{\"shots\":["
    "{\"id\":\"model-1\",\"size\":\"medium\",\"angle\":\"eye\",\"move\":\"static\","
    "\"picture\":\"宋江抬手止住众人\",\"characters\":[\"c1\"],"
    "\"dialogue\":[{\"speaker\":\"c1\",\"kind\":\"dialogue\",\"text\":\"兄弟们且住。\"}],"
    "\"sound\":\"\",\"transition\":\"cut\",\"duration\":2.5,\"notes\":\"\","
    "\"source\":{\"start\":0,\"end\":12}},"
    "{\"size\":\"full\",\"angle\":\"high\",\"move\":\"pan\",\"picture\":\"众人哄笑\","
    "\"characters\":[\"c1\",\"c2\"],\"dialogue\":[],\"sound\":\"笑声\",\"transition\":\"fade\","
    "\"duration\":3,\"notes\":\"热闹\",\"source\":{\"start\":12,\"end\":18}}]}";

static json_t *cast(void)
{
    return json_pack("[{s:s, s:s, s:[s]}, {s:s, s:s, s:[]}]", "id", "c1", "name", "宋江", "aliases",
                     "公明", "id", "c2", "name", "李逵", "aliases");
}

static struct story_llm_opts opts(void)
{
    static char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d/v1", srv.port);
    return (struct story_llm_opts){ .base_url = base,
                                    .model = "qwen2.5-7b",
                                    .api_key = "sk-test",
                                    .timeout_ms = 5000,
                                    .retries = 2 };
}

struct run {
    int r;
    json_t *result;
    char model[64];
    char err[512];
    double ms;
};

static struct run draft(const struct story_llm_opts *o)
{
    struct run run = { .model = "untouched" };
    json_t *c = cast();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    run.r = story_llm_draft(o, scene, c, 4.0, &run.result, run.model, sizeof(run.model), run.err,
                            sizeof(run.err));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    run.ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    json_decref(c);
    return run;
}

static void expect_error(const struct run *run, int code, const char *text, int requests)
{
    if (run->r != code || !strstr(run->err, text))
        fail_msg("got %d '%s', want %d '%s'", run->r, run->err, code, text);
    assert_null(run->result);
    assert_string_equal(run->model, "untouched");
    if (requests >= 0)
        assert_int_equal(atomic_load(&srv.requests), requests);
}

static void check_good_result(const struct run *run)
{
    if (run->r != 0)
        fail_msg("draft failed: %d %s", run->r, run->err);
    const json_t *shots = json_object_get(run->result, "shots");
    assert_int_equal(json_array_size(shots), 2);
    const json_t *s0 = json_array_get(shots, 0), *s1 = json_array_get(shots, 1);
    assert_string_equal(json_string_value(json_object_get(s0, "id")), ""); /* model ids ignored */
    assert_string_equal(json_string_value(json_object_get(s1, "id")), "");
    assert_string_equal(json_string_value(json_object_get(s0, "size")), "medium");
    assert_string_equal(json_string_value(json_object_get(s1, "move")), "pan");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(s1, "source"), "end")), 18);
    /* the Contract's field order */
    char *dump = json_dumps(s0, JSON_COMPACT);
    static const char head[] = "{\"id\":\"\",\"size\":\"medium\",\"angle\":\"eye\",\"move\"";
    if (strncmp(dump, head, sizeof(head) - 1) != 0)
        fail_msg("field order: %s", dump);
    free(dump);
}

static void test_good_answer(void **state)
{
    script_add(200, completion(good), 0, NULL);
    struct story_llm_opts o = opts();
    struct run run = draft(&o);
    check_good_result(&run);
    assert_string_equal(run.model, "standin-7b");
    assert_int_equal(atomic_load(&srv.requests), 1);
    /* what went over the wire */
    assert_true(strncmp(srv.last, "POST /v1/chat/completions HTTP/1.1\r\n", 36) == 0);
    assert_non_null(strcasestr(srv.last, "\r\nAuthorization: Bearer sk-test\r\n"));
    assert_non_null(strcasestr(srv.last, "\r\nContent-Type: application/json\r\n"));
    const char *body = strstr(srv.last, "\r\n\r\n") + 4;
    json_t *req = json_loads(body, 0, NULL);
    assert_non_null(req);
    assert_string_equal(json_string_value(json_object_get(req, "model")), "qwen2.5-7b");
    assert_true(json_real_value(json_object_get(req, "temperature")) == 0.2);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(req, "response_format"), "type")),
        "json_object");
    const json_t *msgs = json_object_get(req, "messages");
    assert_int_equal(json_array_size(msgs), 2);
    const char *sys = json_string_value(json_object_get(json_array_get(msgs, 0), "content"));
    assert_non_null(strstr(sys, "extreme_closeup"));
    assert_non_null(strstr(sys, "code points"));
    json_t *user =
        json_loads(json_string_value(json_object_get(json_array_get(msgs, 1), "content")), 0, NULL);
    assert_non_null(user);
    assert_string_equal(json_string_value(json_object_get(user, "scene_text")), scene);
    assert_int_equal(json_integer_value(json_object_get(user, "scene_length")), 18);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(user, "cast"), 0), "name")),
                        "宋江");
    json_decref(user);
    json_decref(req);
    json_decref(run.result);

    /* no key: no Authorization header; a trailing slash on the base is fine */
    script_clear();
    script_add(200, completion(good), 0, NULL);
    char base[80];
    snprintf(base, sizeof(base), "%s/", o.base_url);
    o.base_url = base;
    o.api_key = NULL;
    run = draft(&o);
    check_good_result(&run);
    assert_null(strcasestr(srv.last, "authorization:"));
    assert_true(strncmp(srv.last, "POST /v1/chat/completions ", 26) == 0);
    json_decref(run.result);
}

static void test_fenced_answer(void **state)
{
    char fenced[sizeof(good) + 32];
    snprintf(fenced, sizeof(fenced), "  ```json\n%s\n```\n", good);
    script_add(200, completion(fenced), 0, NULL);
    struct story_llm_opts o = opts();
    struct run run = draft(&o);
    check_good_result(&run);
    json_decref(run.result);
}

static void test_malformed_json(void **state)
{
    script_add(200, completion("{\"shots\": [ {\"size\": "), 0, NULL);
    struct story_llm_opts o = opts();
    struct run run = draft(&o);
    expect_error(&run, -EBADMSG, "llm answer is not valid JSON", 2); /* one retry */
    assert_non_null(strstr(run.err, "(2 attempts)"));

    /* malformed once, then good */
    script_clear();
    script_add(200, completion("here is your storyboard!"), 0, NULL);
    script_add(200, completion(good), 0, NULL);
    run = draft(&o);
    check_good_result(&run);
    assert_int_equal(atomic_load(&srv.requests), 2);
    json_decref(run.result);

    /* a body that is not a chat completion at all */
    script_clear();
    script_add(200, strdup("<html>gateway</html>"), 0, NULL);
    run = draft(&o);
    expect_error(&run, -EBADMSG, "not JSON", 2);
    script_clear();
    script_add(200, strdup("{\"choices\":[]}"), 0, NULL);
    run = draft(&o);
    expect_error(&run, -EBADMSG, "no choices[0].message.content", 2);
}

/* good with one substitution */
static char *good_with(const char *from, const char *to)
{
    const char *p = strstr(good, from);
    assert_non_null(p);
    size_t n = strlen(good) - strlen(from) + strlen(to) + 1;
    char *s = malloc(n);
    snprintf(s, n, "%.*s%s%s", (int)(p - good), good, to, p + strlen(from));
    char *c = completion(s);
    free(s);
    return c;
}

static void test_wrong_fields(void **state)
{
    static const struct {
        const char *from, *to, *want;
    } cases[] = {
        { "\"size\":\"medium\"", "\"size\":\"wide\"",
          "llm answer: shots[0].size must be one of long, full, medium, close, closeup, "
          "extreme_closeup" },
        { "\"size\":\"medium\"", "\"size\":\"中景\"", "shots[0].size must be one of" },
        { "\"move\":\"pan\"", "\"move\":\"zoom\"", "shots[1].move must be one of static, push" },
        { "\"transition\":\"fade\"", "\"transition\":\"FADE\"",
          "shots[1].transition must be one of" },
        { "\"kind\":\"dialogue\"", "\"kind\":\"speech\"",
          "shots[0].dialogue[0].kind must be one of" },
        { "\"start\":12,\"end\":18", "\"start\":12,\"end\":19", "shots[1].source {12,19}" },
        { "\"start\":12,\"end\":18", "\"start\":12,\"end\":12",
          "must satisfy 0 <= start < end <= 18" },
        { "\"start\":0,", "\"start\":-1,", "shots[0].source" },
        { "\"start\":0,", "\"start\":0.0,", "must be integers" },
        { "\"transition\":\"cut\",", "", "shots[0].transition is missing" },
        { "\"notes\":\"\",", "", "shots[0].notes is missing" },
        { "\"duration\":2.5", "\"duration\":\"2.5\"", "shots[0].duration must be a number" },
        { "\"duration\":3", "\"duration\":0", "shots[1].duration must be more than 0" },
        { "\"characters\":[\"c1\",\"c2\"]", "\"characters\":[\"c1\",\"c9\"]",
          "shots[1].characters[1] 'c9' is not a cast id" },
        { "\"characters\":[\"c1\",\"c2\"]", "\"characters\":[\"c1\",\"c2\"],\"lens\":\"35mm\"",
          "shots[1].lens is not a shot field" },
        { "\"speaker\":\"c1\"", "\"speaker\":\"宋江\"",
          "dialogue[0].speaker must be a cast id or null" },
        { "\"picture\":\"众人哄笑\"", "\"picture\":\"\"", "shots[1].picture must not be empty" },
        { "{\"shots\":[", "{\"scene\":1,\"shots\":[", "'scene' is not expected" },
    };
    struct story_llm_opts o = opts();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        script_clear();
        script_add(200, good_with(cases[i].from, cases[i].to), 0, NULL);
        struct run run = draft(&o);
        expect_error(&run, -EBADMSG, cases[i].want, 2);
    }

    /* speaker null and a custom object are fine */
    script_clear();
    script_add(200, good_with("\"speaker\":\"c1\"", "\"speaker\":null"), 0, NULL);
    struct run run = draft(&o);
    assert_int_equal(run.r, 0);
    json_decref(run.result);
    script_clear();
    script_add(200,
               good_with("\"notes\":\"热闹\"", "\"notes\":\"热闹\",\"custom\":{\"lut\":\"warm\"}"),
               0, NULL);
    run = draft(&o);
    assert_int_equal(run.r, 0);
    const json_t *s1 = json_array_get(json_object_get(run.result, "shots"), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(s1, "custom"), "lut")),
                        "warm");
    json_decref(run.result);

    /* an empty shot list */
    script_clear();
    script_add(200, completion("{\"shots\":[]}"), 0, NULL);
    run = draft(&o);
    expect_error(&run, -EBADMSG, "\"shots\" is empty", 2);
}

static void test_server_error_then_good(void **state)
{
    script_add(500, strdup("{\"error\":{\"message\":\"model is loading\"}}"), 0, NULL);
    script_add(200, completion(good), 0, NULL);
    struct story_llm_opts o = opts();
    struct run run = draft(&o);
    check_good_result(&run);
    assert_int_equal(atomic_load(&srv.requests), 2);
    json_decref(run.result);

    /* 500 every time: retries + 1 attempts, then the error says what the endpoint said */
    script_clear();
    script_add(500, strdup("{\"error\":{\"message\":\"model is loading\"}}"), 0, NULL);
    o.retries = 1;
    run = draft(&o);
    expect_error(&run, -EPROTO, "llm endpoint answered 500: model is loading (2 attempts)", 2);

    script_clear();
    script_add(502, strdup("bad gateway\nfrom nginx"), 0, NULL);
    o.retries = -1;
    run = draft(&o);
    expect_error(&run, -EPROTO, "llm endpoint answered 502: bad gateway from nginx", 1);
}

static void test_rate_limited(void **state)
{
    script_add(429, strdup("{\"error\":\"slow down\"}"), 0, "Retry-After: 0\r\n");
    script_add(200, completion(good), 0, NULL);
    struct story_llm_opts o = opts();
    struct run run = draft(&o);
    check_good_result(&run);
    assert_int_equal(atomic_load(&srv.requests), 2);
    json_decref(run.result);

    script_clear();
    script_add(429, strdup("{\"error\":\"slow down\"}"), 0, "Retry-After: 0\r\n");
    run = draft(&o);
    expect_error(&run, -EPROTO, "llm endpoint answered 429: slow down", 3);
}

static void test_client_error_not_retried(void **state)
{
    script_add(401, strdup("{\"error\":{\"message\":\"invalid api key\"}}"), 0, NULL);
    struct story_llm_opts o = opts();
    struct run run = draft(&o);
    expect_error(&run, -EPROTO, "llm endpoint answered 401: invalid api key", 1);
}

static void test_timeout(void **state)
{
    script_add(200, completion(good), 3000, NULL); /* hangs past the timeout */
    struct story_llm_opts o = opts();
    o.timeout_ms = 300;
    o.retries = 1;
    struct run run = draft(&o);
    expect_error(&run, -ETIMEDOUT, "llm endpoint timed out after 0.3 s", 2);
    assert_true(run.ms < 2500);

    /* hang once, then answer */
    script_clear();
    script_add(200, completion(good), 3000, NULL);
    script_add(200, completion(good), 0, NULL);
    run = draft(&o);
    check_good_result(&run);
    json_decref(run.result);
}

static void test_oversized(void **state)
{
    size_t n = 200 << 10;
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    big[n] = '\0';
    char *body = completion(big);
    free(big);
    script_add(200, body, 0, NULL);
    struct story_llm_opts o = opts();
    o.max_response = 64 << 10;
    struct run run = draft(&o);
    expect_error(&run, -E2BIG, "llm answer is larger than 65536 bytes", 1);
}

static void test_unreachable(void **state)
{
    /* a port nobody listens on: bind one, note it, close it */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d/v1", ntohs(a.sin_port));
    struct story_llm_opts o = opts();
    o.base_url = base;
    struct run run = draft(&o);
    expect_error(&run, -ECONNREFUSED, "llm endpoint unreachable", -1);
}

static void test_bad_options(void **state)
{
    struct story_llm_opts o = opts();
    json_t *res = NULL;
    char err[256];
    assert_int_equal(story_llm_draft(&o, "\xff\xfe", NULL, 4, &res, NULL, 0, err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(story_llm_draft(&o, "", NULL, 4, &res, NULL, 0, err, sizeof(err)), -EINVAL);
    json_t *not_array = json_object();
    assert_int_equal(story_llm_draft(&o, scene, not_array, 4, &res, NULL, 0, err, sizeof(err)),
                     -EINVAL);
    json_decref(not_array);
    json_t *no_id = json_pack("[{s:s}]", "name", "宋江");
    assert_int_equal(story_llm_draft(&o, scene, no_id, 4, &res, NULL, 0, err, sizeof(err)),
                     -EINVAL);
    assert_string_equal(err, "cast[0] has no \"id\"");
    json_decref(no_id);
    struct story_llm_opts bad = o;
    bad.base_url = "ftp://127.0.0.1/v1";
    assert_int_equal(story_llm_draft(&bad, scene, NULL, 4, &res, NULL, 0, err, sizeof(err)),
                     -EINVAL);
    bad = o;
    bad.model = NULL;
    assert_int_equal(story_llm_draft(&bad, scene, NULL, 4, &res, NULL, 0, err, sizeof(err)),
                     -EINVAL);
    bad = o;
    bad.api_key = "sk\r\nX-Injected: 1";
    assert_int_equal(story_llm_draft(&bad, scene, NULL, 4, &res, NULL, 0, err, sizeof(err)),
                     -EINVAL);
    assert_null(res);
    assert_int_equal(atomic_load(&srv.requests), 0);
}

/* ---- SSRF policy --------------------------------------------------------- */

static void test_url_allowed(void **state)
{
    const char *allow = " http://127.0.0.1:9999/v1 , https://api.example.com/ ,http://llm.internal";
    static const struct {
        const char *url;
        int want;
    } cases[] = {
        { "http://127.0.0.1:9999/v1", 1 },
        { "http://127.0.0.1:9999/v1/", 1 },
        { "http://127.0.0.1:9999/v1/deep", 1 },
        { "HTTP://127.0.0.1:9999/v1", 1 },
        { "http://127.0.0.1:9999/v10", 0 }, /* not at a boundary */
        { "http://127.0.0.1:99990/v1", 0 },
        { "http://127.0.0.1:9999/v1/../admin", 0 },
        { "http://127.0.0.1:9999/v1/%2e%2E/admin", 0 },
        { "http://127.0.0.1:9999/v1/./x", 0 },
        { "http://127.0.0.1:9999/v1/..foo", 1 }, /* not a dot segment */
        { "http://127.0.0.1:9999/v1?x=1", 0 },
        { "http://127.0.0.1:9999/v1#x", 0 },
        { "http://127.0.0.1:9999/v1\\x", 0 },
        { "http://127.0.0.1:9999/v1 x", 0 },
        { "https://api.example.com/v1", 1 },
        { "https://API.EXAMPLE.COM/v1", 1 },
        { "https://api.example.com.evil.org/v1", 0 },
        { "https://api.example.com@evil.org/", 0 },
        { "http://user:pw@127.0.0.1:9999/v1", 0 },
        { "http://llm.internal", 1 },
        { "http://llm.internal/v1", 1 },
        { "http://llm.internal.evil/v1", 0 },
        { "http://llm.internal:8080/v1", 0 },
        { "ftp://127.0.0.1:9999/v1", 0 },
        { "file:///etc/passwd", 0 },
        { "gopher://127.0.0.1:9999/v1", 0 },
        { "http:///v1", 0 },
        { "", 0 },
        { "http://169.254.169.254/latest", 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = story_llm_url_allowed(cases[i].url, allow);
        if (got != cases[i].want)
            fail_msg("'%s': %d, want %d", cases[i].url, got, cases[i].want);
    }
    assert_int_equal(story_llm_url_allowed(NULL, allow), 0);

    /* no allow list: the operator's own ANNOTD_LLM_BASE_URL only */
    unsetenv("ANNOTD_LLM_BASE_URL");
    assert_int_equal(story_llm_url_allowed("http://127.0.0.1:9999/v1", NULL), 0);
    setenv("ANNOTD_LLM_BASE_URL", "http://127.0.0.1:9999/v1", 1);
    assert_int_equal(story_llm_url_allowed("http://127.0.0.1:9999/v1", NULL), 1);
    assert_int_equal(story_llm_url_allowed("http://127.0.0.1:9999/v1", " , "), 1);
    assert_int_equal(story_llm_url_allowed("http://127.0.0.1:9998/v1", NULL), 0);
    assert_int_equal(story_llm_url_allowed("http://10.0.0.1/v1", ""), 0);
    unsetenv("ANNOTD_LLM_BASE_URL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_good_answer, each),
        cmocka_unit_test_setup(test_fenced_answer, each),
        cmocka_unit_test_setup(test_malformed_json, each),
        cmocka_unit_test_setup(test_wrong_fields, each),
        cmocka_unit_test_setup(test_server_error_then_good, each),
        cmocka_unit_test_setup(test_rate_limited, each),
        cmocka_unit_test_setup(test_client_error_not_retried, each),
        cmocka_unit_test_setup(test_timeout, each),
        cmocka_unit_test_setup(test_oversized, each),
        cmocka_unit_test_setup(test_unreachable, each),
        cmocka_unit_test_setup(test_bad_options, each),
        cmocka_unit_test(test_url_allowed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
