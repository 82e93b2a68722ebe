/*
 * story imagegen: one image from an OpenAI-compatible images endpoint
 * (see imagegen.h DESIGN); the HTTP exchange itself is http_client.c.
 */
#include "story/imagegen.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/utf8.h"
#include "story/http_client.h"

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

/* ---- the request ------------------------------------------------------ */

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
    if (!http_client_url_ok(o->base_url)) {
        set_err(err, err_cap, "image base url '%.64s' is not an http(s) url", o->base_url);
        return -EINVAL;
    }
    size_t pl = strlen(prompt);
    if (pl == 0 || pl > STORY_IMAGEGEN_PROMPT_MAX || !utf8_valid(prompt, pl)) {
        set_err(err, err_cap, "the prompt is empty, longer than %zu bytes or not UTF-8",
                STORY_IMAGEGEN_PROMPT_MAX);
        return -EINVAL;
    }
    if (o->api_key &&
        (!http_client_header_safe(o->api_key) || strlen(o->api_key) > HTTP_CLIENT_KEY_MAX)) {
        set_err(err, err_cap, "image api key has control characters or is longer than %d bytes",
                HTTP_CLIENT_KEY_MAX);
        return -EINVAL;
    }
    char url[HTTP_CLIENT_URL_MAX + 100];
    http_client_url(url, sizeof(url), o->base_url, "/images/generations");
    json_t *body_json = json_pack("{s:s,s:s,s:s,s:i,s:s}", "model", o->model, "prompt", prompt,
                                  "size", o->size && o->size[0] ? o->size : IMAGEGEN_SIZE, "n", 1,
                                  "response_format", "b64_json");
    char *body = body_json ? json_dumps(body_json, JSON_COMPACT) : NULL;
    json_decref(body_json);
    if (!body) {
        set_err(err, err_cap, "out of memory");
        return -ENOMEM;
    }
    struct http_client_post req = {
        .what = "image",
        .url = url,
        .body = body,
        .api_key = o->api_key,
        .timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : STORY_IMAGEGEN_TIMEOUT_DEFAULT,
        .max_response = o->max_response ? o->max_response : STORY_IMAGEGEN_RESPONSE_DEFAULT,
    };
    struct http_client_answer answer;
    int r = http_client_post(&req, &answer, err, err_cap);
    if (r == 0) {
        r = story_imagegen_parse(answer.body.p, answer.body.len, req.max_response, out, ret_mime,
                                 model_out, model_cap, err, err_cap);
        if (r == 0 && model_out && model_cap && !model_out[0])
            snprintf(model_out, model_cap, "%s", o->model);
    }
    http_client_answer_release(&answer);
    free(body);
    return r;
}
