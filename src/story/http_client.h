/*
 * story http_client: the one HTTP exchange the story module makes, a POST
 * of a JSON body to an OpenAI-compatible endpoint, shared by the LLM
 * drafter (llm.c) and the frame generator (imagegen.c). Internal to
 * src/story; no logging.
 *
 * DESIGN
 *
 * libcurl's easy API (curl_global_init() is the program's job): http and
 * https only, redirects off, no signals, the whole request bounded by
 * timeout_ms and the answer by max_response bytes (checked while it
 * arrives, not after). Headers: JSON in and out, no "Expect: 100-continue",
 * "Authorization: Bearer KEY" when a key is given. An optional stop
 * callback is polled during the transfer and aborts it.
 *
 * A failure is one negative error with a lowercase message that starts
 * with the caller's `what` ("llm", "image"), and a flag saying whether it
 * may pass (a timeout, a dropped connection, 429 or 5xx). Retrying is the
 * caller's policy: the drafter retries, the frame generator does not.
 *
 * The caller checks the URL (story_llm_url_allowed(), http_client_url_ok())
 * and the key (http_client_header_safe(), at most HTTP_CLIENT_KEY_MAX
 * bytes) first, so that its messages can name what is wrong.
 */
#ifndef ANNOTD_STORY_HTTP_CLIENT_H
#define ANNOTD_STORY_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#define HTTP_CLIENT_URL_MAX 2000 /* bytes of a base URL */
#define HTTP_CLIENT_KEY_MAX 1024 /* bytes of an api key */

struct http_client_post {
    const char *what;        /* "llm", "image": the start of every message */
    const char *url;         /* the whole URL, from http_client_url() */
    const char *body;        /* JSON, NUL-terminated */
    const char *api_key;     /* sent as a bearer token when not NULL or empty */
    long timeout_ms;         /* the whole request */
    size_t max_response;     /* bytes of the answer's body */
    bool (*stop)(void *ctx); /* polled during the transfer, true aborts it; NULL: never */
    void *stop_ctx;
};

struct http_client_answer {
    struct buf body;     /* what the endpoint answered, 2xx or not */
    long status;         /* the HTTP status; 0 without an answer */
    long retry_after_ms; /* a non-2xx answer's Retry-After in ms (at most a day), else -1 */
    bool transient;      /* the failure may pass: timeout, dropped connection, 429, 5xx */
};

/*
 * POST req->body to req->url. Returns 0 when the endpoint answered 2xx
 * (its body in ret->body), else a negative error with a message in err
 * (when err_cap > 0):
 *   -EPROTO       "llm endpoint answered 500: <error.message or body>"
 *   -E2BIG        "llm answer is larger than 4194304 bytes"
 *   -ETIMEDOUT    "llm endpoint timed out after 60 s" ("0.3 s")
 *   -ECONNREFUSED "llm endpoint unreachable: ..." (connect or DNS failure)
 *   -EIO          "llm endpoint failed: ..." (any other, a stop included)
 *   -EINVAL       a key over HTTP_CLIENT_KEY_MAX bytes; -ENOMEM
 * *ret is written in every case; release it with http_client_answer_release().
 */
int http_client_post(const struct http_client_post *req,
                     struct http_client_answer *ret,
                     char *err,
                     size_t err_cap);

/* Free the answer's body; ret may be NULL. */
void http_client_answer_release(struct http_client_answer *ret);

/*
 * Is base_url worth a request: http(s), case-insensitively, and 1 to
 * HTTP_CLIENT_URL_MAX bytes? (Not a policy: see story_llm_url_allowed().)
 */
bool http_client_url_ok(const char *base_url);

/* out = base_url (one trailing "/" dropped) + path ("/chat/completions"). */
void http_client_url(char *out, size_t cap, const char *base_url, const char *path);

/* No control character (< 0x20, 0x7F) that would break a header line. */
bool http_client_header_safe(const char *s);

#endif
