/*
 * story imagegen: one image from an OpenAI-compatible images endpoint
 * (see imagegen.h DESIGN).
 */
#include "story/imagegen.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/json.h"
#include "core/utf8.h"

#define IMAGEGEN_DETAIL_MAX 160 /* bytes of an error body quoted in a message */
#define IMAGEGEN_SIZE       "1024x576"

static void set_err(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t cap, const char *fmt, ...)
{
    if (!err || cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

/* ---- base64 and image types ------------------------------------------ */

/* The value of a base64 digit, -1 for anything else. */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int story_base64_decode(const char *p, size_t len, struct buf *out)
{
    size_t start = out->len, pad = 0, digits = 0;
    uint32_t acc = 0;
    int have = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        int v;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        if (pad)
            goto bad; /* a digit after padding */
        v = b64_value(c);
        if (v < 0)
            goto bad;
        digits++;
        acc = (acc << 6) | (uint32_t)v;
        if (++have == 4) {
            unsigned char b[3] = { (unsigned char)(acc >> 16), (unsigned char)(acc >> 8),
                                   (unsigned char)acc };
            buf_add(out, b, 3);
            acc = 0;
            have = 0;
        }
    }
    /* RFC 4648 §4: a final group of 2 or 3 digits (padded or not) */
    if (have == 1 || pad > 2 || (pad && (digits + pad) % 4 != 0))
        goto bad;
    if (have == 2) {
        unsigned char b = (unsigned char)(acc >> 4);
        buf_add(out, &b, 1);
    } else if (have == 3) {
        unsigned char b[2] = { (unsigned char)(acc >> 10), (unsigned char)(acc >> 2) };
        buf_add(out, b, 2);
    }
    if (out->err) {
        buf_truncate(out, start);
        return out->err;
    }
    return 0;
bad:
    buf_truncate(out, start);
    return -EBADMSG;
}

const char *story_image_type(const unsigned char *p, size_t len)
{
    if (len >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "image/png";
    if (len >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF)
        return "image/jpeg";
    if (len >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
        return "image/webp";
    return NULL;
}

/* ---- the answer ------------------------------------------------------- */

int story_imagegen_parse(const char *p,
                         size_t len,
                         size_t max_bytes,
                         struct buf *out,
                         const char **ret_mime,
                         char *model_out,
                         size_t model_cap,
                         char *err,
                         size_t err_cap)
{
    json_t *resp = NULL;
    struct json_error_info info;
    size_t start = out->len, cap = out->cap;
    int r = -EBADMSG;

    if (!max_bytes)
        max_bytes = STORY_IMAGEGEN_RESPONSE_DEFAULT;
    if (!p || json_parse(p, len, JSON_MAX_DEPTH_DEFAULT, &resp, &info) < 0) {
        set_err(err, err_cap, "image answer is not JSON: %s", p ? info.message : "no body");
        return -EBADMSG;
    }
    const json_t *first = json_array_get(json_object_get(resp, "data"), 0);
    const json_t *b64 = json_object_get(first, "b64_json");
    if (!json_is_string(b64) || json_string_length(b64) == 0) {
        set_err(err, err_cap, "image answer has no data[0].b64_json%s",
                json_get_str(first, "url") ? " (an image url is never fetched: ask for b64_json)" : "");
        goto out;
    }
    /* the decoded image may not exceed max_bytes, whatever the buffer's own cap */
    if (json_string_length(b64) / 4 * 3 > max_bytes + 3) {
        set_err(err, err_cap, "image is larger than %zu bytes", max_bytes);
        r = -E2BIG;
        goto out;
    }
    r = story_base64_decode(json_string_value(b64), json_string_length(b64), out);
    if (r == -EBADMSG) {
        set_err(err, err_cap, "image answer's b64_json is not base64");
        goto out;
    }
    if (r < 0) {
        set_err(err, err_cap, r == -E2BIG ? "image is too large" : "out of memory");
        goto out;
    }
    if (out->len - start > max_bytes) {
        set_err(err, err_cap, "image is larger than %zu bytes", max_bytes);
        r = -E2BIG;
        goto out;
    }
    const char *mime = story_image_type((const unsigned char *)out->p + start, out->len - start);
    if (!mime) {
        set_err(err, err_cap, "image answer is not a PNG, JPEG or WebP image");
        r = -EBADMSG;
        goto out;
    }
    const char *model = json_get_str(resp, "model");
    if (model_out && model_cap)
        snprintf(model_out, model_cap, "%s", model && utf8_valid(model, strlen(model)) ? model : "");
    *ret_mime = mime;
    r = 0;
out:
    if (r < 0 && out->len > start)
        buf_truncate(out, start);
    (void)cap;
    json_decref(resp);
    return r;
}

/* ---- transport -------------------------------------------------------- */

struct exchange {
    struct buf body;
    bool too_big;
};

static size_t on_write(char *p, size_t size, size_t n, void *ctx)
{
    struct exchange *x = ctx;
    if (buf_add(&x->body, p, size * n) < 0) {
        x->too_big = x->body.err == -E2BIG;
        return 0;
    }
    return size * n;
}

/* What an error answer says: its error.message, else the start of the body, one line. */
static void error_detail(const struct buf *body, char *out, size_t cap)
{
    json_t *v = NULL;
    const char *msg = NULL;
    if (json_parse(body->p, body->len, JSON_MAX_DEPTH_DEFAULT, &v, NULL) == 0) {
        const json_t *e = json_object_get(v, "error");
        msg = json_is_string(e) ? json_string_value(e) : json_get_str(e, "message");
    }
    const char *src = msg ? msg : body->p;
    size_t len = msg ? strlen(msg) : body->len;
    if (!utf8_valid(src, len)) {
        snprintf(out, cap, "(%zu bytes, not text)", len);
        json_decref(v);
        return;
    }
    size_t n = len < cap - 1 ? len : cap - 1;
    if (n > IMAGEGEN_DETAIL_MAX)
        n = IMAGEGEN_DETAIL_MAX;
    while (n > 0 && n < len && ((unsigned char)src[n] & 0xC0) == 0x80)
        n--;
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)src[i] < ' ' ? ' ' : src[i];
    out[n] = '\0';
    if (n == 0)
        snprintf(out, cap, "(empty body)");
    json_decref(v);
}

static bool header_safe(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < ' ' || *s == 0x7F)
            return false;
    return true;
}

int story_imagegen(const struct story_imagegen_opts *o,
                   const char *prompt,
                   struct buf *out,
                   const char **ret_mime,
                   char *model_out,
                   size_t model_cap,
                   char *err,
                   size_t err_cap)
{
    if (!o || !o->base_url || !o->model || !o->model[0] || !prompt || !out || !ret_mime) {
        set_err(err, err_cap, "image generation: base_url, model and prompt are required");
        return -EINVAL;
    }
    size_t bl = strlen(o->base_url), pl = strlen(prompt);
    if (bl == 0 || bl > 2000 ||
        (strncasecmp(o->base_url, "http://", 7) != 0 && strncasecmp(o->base_url, "https://", 8) != 0)) {
        set_err(err, err_cap, "image base url '%.64s' is not an http(s) url", o->base_url);
        return -EINVAL;
    }
    if (pl == 0 || pl > STORY_IMAGEGEN_PROMPT_MAX || !utf8_valid(prompt, pl)) {
        set_err(err, err_cap, "the prompt is empty, longer than %zu bytes or not UTF-8",
                STORY_IMAGEGEN_PROMPT_MAX);
        return -EINVAL;
    }
    if (o->api_key && (!header_safe(o->api_key) || strlen(o->api_key) > 1024)) {
        set_err(err, err_cap, "image api key has control characters or is longer than 1024 bytes");
        return -EINVAL;
    }
    long timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : STORY_IMAGEGEN_TIMEOUT_DEFAULT;
    size_t max_response = o->max_response ? o->max_response : STORY_IMAGEGEN_RESPONSE_DEFAULT;
    char url[2100], auth[1100];
    snprintf(url, sizeof(url), "%.*s/images/generations",
             (int)(o->base_url[bl - 1] == '/' ? bl - 1 : bl), o->base_url);

    json_t *req = json_pack("{s:s,s:s,s:s,s:i,s:s}", "model", o->model, "prompt", prompt, "size",
                            o->size && o->size[0] ? o->size : IMAGEGEN_SIZE, "n", 1,
                            "response_format", "b64_json");
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    struct curl_slist *h = NULL, *t;
    struct exchange x = { 0 };
    buf_init(&x.body, max_response);
    CURL *c = NULL;
    int r = -ENOMEM;
    if (!body) {
        set_err(err, err_cap, "out of memory");
        goto out;
    }
    static const char *const fixed[] = { "Content-Type: application/json", "Accept: application/json",
                                         "Expect:", NULL };
    for (size_t i = 0; fixed[i]; i++) {
        if (!(t = curl_slist_append(h, fixed[i]))) {
            set_err(err, err_cap, "out of memory");
            goto out;
        }
        h = t;
    }
    if (o->api_key && o->api_key[0]) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->api_key);
        if (!(t = curl_slist_append(h, auth))) {
            set_err(err, err_cap, "out of memory");
            goto out;
        }
        h = t;
    }
    c = curl_easy_init();
    if (!c) {
        set_err(err, err_cap, "out of memory");
        goto out;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_response);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "annotd/" ANNOTD_VERSION);
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);

    if (rc == CURLE_OK && status >= 200 && status < 300) {
        r = story_imagegen_parse(x.body.p, x.body.len, max_response, out, ret_mime, model_out,
                                 model_cap, err, err_cap);
        if (r == 0 && model_out && model_cap && !model_out[0])
            snprintf(model_out, model_cap, "%s", o->model);
    } else if (rc == CURLE_OK) {
        char detail[IMAGEGEN_DETAIL_MAX + 32];
        error_detail(&x.body, detail, sizeof(detail));
        set_err(err, err_cap, "image endpoint answered %ld: %s", status, detail);
        r = -EPROTO;
    } else if (x.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
        set_err(err, err_cap, "image answer is larger than %zu bytes", max_response);
        r = -E2BIG;
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        set_err(err, err_cap, "image endpoint timed out after %ld s", (timeout_ms + 999) / 1000);
        r = -ETIMEDOUT;
    } else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
               rc == CURLE_COULDNT_RESOLVE_PROXY) {
        set_err(err, err_cap, "image endpoint unreachable: %s", cerr[0] ? cerr : curl_easy_strerror(rc));
        r = -ECONNREFUSED;
    } else if (rc == CURLE_OUT_OF_MEMORY || x.body.err == -ENOMEM) {
        set_err(err, err_cap, "out of memory");
        r = -ENOMEM;
    } else {
        set_err(err, err_cap, "image endpoint failed: %s", cerr[0] ? cerr : curl_easy_strerror(rc));
        r = -EIO;
    }
out:
    if (c)
        curl_easy_cleanup(c);
    curl_slist_free_all(h);
    free(body);
    buf_release(&x.body);
    return r;
}
