/*
 * story http_client: a JSON POST over libcurl for the story module's
 * endpoints (see http_client.h DESIGN).
 */
#include "story/http_client.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/json.h"
#include "core/utf8.h"

#define DETAIL_MAX      160   /* bytes of an error body quoted in a message */
#define RETRY_AFTER_MAX 86400 /* seconds of a Retry-After taken as said */

static void set_err(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t cap, const char *fmt, ...)
{
    if (!err || cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

/* ---- checks and URLs -------------------------------------------------- */

bool http_client_url_ok(const char *base_url)
{
    size_t len = strlen(base_url);

    return len > 0 && len <= HTTP_CLIENT_URL_MAX &&
           (strncasecmp(base_url, "http://", 7) == 0 || strncasecmp(base_url, "https://", 8) == 0);
}

void http_client_url(char *out, size_t cap, const char *base_url, const char *path)
{
    size_t len = strlen(base_url);

    if (len > 0 && base_url[len - 1] == '/')
        len--;
    snprintf(out, cap, "%.*s%s", (int)len, base_url, path);
}

bool http_client_header_safe(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < ' ' || *s == 0x7F)
            return false;
    return true;
}

/* ---- messages --------------------------------------------------------- */

/* Seconds for a message: "60 s", "0.3 s". */
static void fmt_seconds(char *out, size_t cap, long ms)
{
    if (ms % 1000 == 0)
        snprintf(out, cap, "%ld s", ms / 1000);
    else
        snprintf(out, cap, "%.1f s", (double)ms / 1000.0);
}

/*
 * What an error answer says, for a message: its error.message (or error,
 * or message) when it is OpenAI-style JSON, else the start of the body,
 * one line, cut at a code point boundary.
 */
static void error_detail(const struct buf *body, char *out, size_t cap)
{
    json_t *v = NULL;
    const char *msg = NULL;
    if (json_parse(body->p, body->len, JSON_MAX_DEPTH_DEFAULT, &v, NULL) == 0) {
        const json_t *e = json_object_get(v, "error");
        msg = json_is_string(e) ? json_string_value(e) : json_get_str(e, "message");
        if (!msg)
            msg = json_get_str(v, "message");
    }
    const char *src = msg ? msg : body->p;
    size_t len = msg ? strlen(msg) : body->len;
    if (!utf8_valid(src, len)) {
        snprintf(out, cap, "(%zu bytes, not text)", len);
        json_decref(v);
        return;
    }
    size_t n = len < cap - 1 ? len : cap - 1;
    if (n > DETAIL_MAX)
        n = DETAIL_MAX;
    while (n > 0 && n < len && ((unsigned char)src[n] & 0xC0) == 0x80)
        n--;
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)src[i] < ' ' ? ' ' : src[i];
    out[n] = '\0';
    if (n == 0)
        snprintf(out, cap, "(empty body)");
    json_decref(v);
}

/* ---- libcurl callbacks ------------------------------------------------ */

struct exchange {
    const struct http_client_post *req;
    struct http_client_answer *answer;
    bool too_big;
    long retry_after_ms;
};

/* The body, capped by its buffer: returning less than given aborts the transfer. */
static size_t on_write(char *p, size_t size, size_t n, void *ctx)
{
    struct exchange *x = ctx;
    if (buf_add(&x->answer->body, p, size * n) < 0) {
        x->too_big = x->answer->body.err == -E2BIG;
        return 0;
    }
    return size * n;
}

/* Retry-After in seconds (RFC 9110 §10.2.3); an HTTP date is ignored. */
static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
    struct exchange *x = ctx;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof(name) && strncasecmp(p, name, sizeof(name) - 1) == 0) {
        const char *v = p + sizeof(name) - 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (isdigit((unsigned char)*v)) {
            long s = strtol(v, NULL, 10);
            x->retry_after_ms = (s > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : s) * 1000;
        }
    }
    return len;
}

/* libcurl's progress callback: non-zero aborts the transfer. */
static int
on_xferinfo(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    const struct http_client_post *req = ctx;
    return req->stop(req->stop_ctx) ? 1 : 0;
}

/* ---- the exchange ----------------------------------------------------- */

/* The request's headers, or NULL without memory. */
static struct curl_slist *request_headers(const char *api_key)
{
    static const char *const fixed[] = { "Content-Type: application/json",
                                         "Accept: application/json", "Expect:", NULL };
    struct curl_slist *h = NULL, *t;
    char auth[HTTP_CLIENT_KEY_MAX + 32];

    for (size_t i = 0; fixed[i]; i++) {
        if (!(t = curl_slist_append(h, fixed[i])))
            goto fail;
        h = t;
    }
    if (api_key && api_key[0]) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", api_key);
        if (!(t = curl_slist_append(h, auth)))
            goto fail;
        h = t;
    }
    return h;
fail:
    curl_slist_free_all(h);
    return NULL;
}

/* Map what libcurl and the endpoint said to an error, a message and whether it may pass. */
static int outcome(const struct exchange *x, CURLcode rc, const char *cerr, char *err, size_t cap)
{
    const struct http_client_post *req = x->req;
    struct http_client_answer *a = x->answer;
    const char *why = cerr[0] ? cerr : curl_easy_strerror(rc);

    if (rc == CURLE_OK && a->status >= 200 && a->status < 300)
        return 0;
    if (rc == CURLE_OK) {
        char detail[DETAIL_MAX + 32];
        error_detail(&a->body, detail, sizeof(detail));
        set_err(err, cap, "%s endpoint answered %ld: %s", req->what, a->status, detail);
        a->retry_after_ms = x->retry_after_ms;
        a->transient = a->status == 429 || a->status >= 500;
        return -EPROTO;
    }
    if (x->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
        set_err(err, cap, "%s answer is larger than %zu bytes", req->what, req->max_response);
        return -E2BIG;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        char secs[32];
        fmt_seconds(secs, sizeof(secs), req->timeout_ms);
        set_err(err, cap, "%s endpoint timed out after %s", req->what, secs);
        a->transient = true;
        return -ETIMEDOUT;
    }
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
        rc == CURLE_COULDNT_RESOLVE_PROXY) {
        set_err(err, cap, "%s endpoint unreachable: %s", req->what, why);
        return -ECONNREFUSED;
    }
    if (rc == CURLE_OUT_OF_MEMORY || a->body.err == -ENOMEM) {
        set_err(err, cap, "out of memory");
        return -ENOMEM;
    }
    set_err(err, cap, "%s endpoint failed: %s", req->what, why);
    a->transient = rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
                   rc == CURLE_PARTIAL_FILE;
    return -EIO;
}

int http_client_post(const struct http_client_post *req,
                     struct http_client_answer *ret,
                     char *err,
                     size_t err_cap)
{
    struct exchange x = { .req = req, .answer = ret, .retry_after_ms = -1 };
    struct curl_slist *headers = NULL;
    char cerr[CURL_ERROR_SIZE] = "";
    CURL *c = NULL;
    int r;

    *ret = (struct http_client_answer){ .retry_after_ms = -1 };
    buf_init(&ret->body, req->max_response);
    if (req->api_key && strlen(req->api_key) > HTTP_CLIENT_KEY_MAX) {
        set_err(err, err_cap, "%s api key is longer than %d bytes", req->what, HTTP_CLIENT_KEY_MAX);
        return -EINVAL;
    }
    headers = request_headers(req->api_key);
    c = headers ? curl_easy_init() : NULL;
    if (!c) {
        set_err(err, err_cap, "out of memory");
        r = -ENOMEM;
        goto out;
    }
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)req->max_response);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(req->body));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "annotd/" ANNOTD_VERSION);
    if (req->stop) {
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, req);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    }
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &ret->status);
    r = outcome(&x, rc, cerr, err, err_cap);
out:
    if (c)
        curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    return r;
}

void http_client_answer_release(struct http_client_answer *ret)
{
    if (ret)
        buf_release(&ret->body);
}
