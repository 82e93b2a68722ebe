/*
 * story imagegen: a client for OpenAI-compatible image generation
 * endpoints (issue 5, part 9: the frames of a shot). No logging; the
 * caller (a background job) logs once.
 *
 * DESIGN
 *
 * One frame, one request: POST {base_url}/images/generations with
 * {"model","prompt","size":"1024x576","n":1,"response_format":"b64_json"}
 * (the OpenAI images API, which self-hosted generators also speak). The
 * answer's data[0].b64_json is decoded (standard base64; line breaks
 * tolerated, padding optional) and must be a PNG, JPEG or WebP by its
 * magic bytes. An answer that only has data[0].url is refused: the server
 * never fetches a URL an endpoint names (SSRF).
 *
 * Transport: libcurl's easy API, http and https only, redirects off, the
 * whole request bounded by timeout_ms and the answer by max_response
 * bytes. No retries: a user asks again (image generation is slow and
 * costly, and a retry of a request that timed out may be billed twice).
 *
 * SSRF: callers check the base URL with story_llm_url_allowed() (the
 * operator's ANNOTD_LLM_ALLOW) before calling; this module does not.
 */
#ifndef ANNOTD_STORY_IMAGEGEN_H
#define ANNOTD_STORY_IMAGEGEN_H

#include <stddef.h>

#include "core/buf.h"

#define STORY_IMAGEGEN_TIMEOUT_DEFAULT  120000L              /* ms, the whole request */
#define STORY_IMAGEGEN_RESPONSE_DEFAULT ((size_t)48 << 20)   /* bytes of the HTTP answer */
#define STORY_IMAGEGEN_PROMPT_MAX       ((size_t)16 << 10)   /* bytes of a prompt */

struct story_imagegen_opts {
    const char *base_url; /* "http://127.0.0.1:9999/v1": the path before /images/generations */
    const char *model;    /* required */
    const char *api_key;  /* "Authorization: Bearer KEY" when not NULL or empty */
    const char *size;     /* "1024x576"; NULL: that */
    long timeout_ms;      /* <= 0: STORY_IMAGEGEN_TIMEOUT_DEFAULT */
    size_t max_response;  /* 0: STORY_IMAGEGEN_RESPONSE_DEFAULT */
};

/*
 * Generate one image for `prompt` (UTF-8). Returns 0 with the image's bytes
 * appended to *out, its MIME type in *ret_mime (static: "image/png",
 * "image/jpeg", "image/webp") and the answer's "model" (else o->model) in
 * model_out; or a negative error with a lowercase message in err:
 *   -EINVAL       bad options or prompt
 *   -ETIMEDOUT    "image endpoint timed out after 120 s"
 *   -EPROTO       "image endpoint answered 500: ..."
 *   -ECONNREFUSED "image endpoint unreachable: ..."
 *   -E2BIG        an answer over max_response
 *   -EBADMSG      a malformed answer (see story_imagegen_parse)
 *   -EIO, -ENOMEM
 * Nothing is written to *out on failure beyond its length at the call.
 */
int story_imagegen(const struct story_imagegen_opts *o,
                   const char *prompt,
                   struct buf *out,
                   const char **ret_mime,
                   char *model_out,
                   size_t model_cap,
                   char *err,
                   size_t err_cap);

/*
 * Parse an images answer p[0..len) (JSON): decode data[0].b64_json into
 * *out (at most max_bytes; 0: STORY_IMAGEGEN_RESPONSE_DEFAULT) and check
 * its magic bytes. Returns 0 with *ret_mime set and the answer's "model"
 * (or "") in model_out, or -EBADMSG with err saying why ("image answer is
 * not JSON: ...", "image answer has no data[0].b64_json", "image answer's
 * b64_json is not base64", "image answer is not a PNG, JPEG or WebP
 * image"), -E2BIG, -ENOMEM. *out is cut back to its length at the call on
 * failure.
 */
int story_imagegen_parse(const char *p,
                         size_t len,
                         size_t max_bytes,
                         struct buf *out,
                         const char **ret_mime,
                         char *model_out,
                         size_t model_cap,
                         char *err,
                         size_t err_cap);

/*
 * Decode standard base64 (RFC 4648 §4) p[0..len) into *out: white space
 * (space, tab, CR, LF) is skipped, "=" padding is optional but only at the
 * end, any other character is an error. Returns 0, -EBADMSG (not base64),
 * or out's error (-E2BIG, -ENOMEM). Appends only on success.
 */
int story_base64_decode(const char *p, size_t len, struct buf *out);

/* The MIME type of image bytes by their magic numbers (PNG, JPEG, WebP), or NULL. */
const char *story_image_type(const unsigned char *p, size_t len);

#endif
