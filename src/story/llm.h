/*
 * story llm: the LLM shot drafter (issue 5, part 5) over any
 * OpenAI-compatible chat-completions endpoint. No logging; the caller (the
 * import job) logs once and falls back to the rule-based drafter.
 *
 * DESIGN
 *
 * One scene, one request: POST {base_url}/chat/completions with a system
 * prompt that explains the storyboard shot schema (issue 5's Contract) and
 * asks for {"shots":[...]} alone, and a user message that is a JSON object
 * {"cast":[...],"scene_length":N,"scene_text":"..."}; temperature 0.2 and
 * response_format json_object. The answer's choices[0].message.content is
 * parsed as JSON (a ```json fenced block is tolerated) and checked here,
 * field by field (no schema module): nothing is coerced, so an unknown enum
 * value, a missing or unknown field, a character or speaker that is not a
 * cast id, or source offsets outside the scene make the whole answer
 * malformed. A malformed answer is asked for once more, then it is an error.
 *
 * Transport: libcurl's easy API (curl_global_init() is the program's job),
 * http and https only, redirects off, the whole request bounded by
 * timeout_ms, the answer by max_response. Timeouts, dropped connections,
 * 429 and 5xx are retried `retries` times with exponential backoff (250 ms,
 * 500 ms, ... at most 4 s; a Retry-After in seconds is honoured up to 4 s).
 * Other answers (4xx, refused connections, oversized answers) fail at once.
 * The worst case is thus about (retries + 2) * timeout_ms plus backoff: the
 * caller runs this in a background job, never on a request thread.
 *
 * Shot ids: the model's ids are ignored; every shot of the result has
 * "id":"" and the caller assigns stable ids.
 *
 * SSRF: the endpoint comes from project settings, which a project owner
 * edits, so the server only calls endpoints its operator allowed: see
 * story_llm_url_allowed(), which callers check before story_llm_draft().
 */
#ifndef ANNOTD_STORY_LLM_H
#define ANNOTD_STORY_LLM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define STORY_LLM_TIMEOUT_DEFAULT  60000L /* ms, the whole request */
#define STORY_LLM_RETRIES_DEFAULT  2
#define STORY_LLM_RESPONSE_DEFAULT ((size_t)4 << 20)   /* bytes of the HTTP answer */
#define STORY_LLM_SCENE_MAX        ((size_t)256 << 10) /* bytes of scene text */
#define STORY_LLM_SHOTS_MAX        200                 /* shots in one answer */

struct story_llm_opts {
    const char *base_url; /* "http://127.0.0.1:9999/v1": the path before /chat/completions */
    const char *model;    /* sent as "model"; required */
    const char *api_key;  /* "Authorization: Bearer KEY" when not NULL or empty */
    long timeout_ms;      /* the whole request, per attempt; <= 0: 60000 */
    int retries;          /* on timeouts, 429 and 5xx; 0: 2, negative: none */
    size_t max_response;  /* bytes of the HTTP answer; 0: 4 MiB */
    /* Polled during the request and between retries (NULL: never): true
     * aborts the draft at once with -ECANCELED (a stopping server). */
    bool (*stop)(void *ctx);
    void *stop_ctx;
};

/*
 * Draft the shots of one scene. scene_text is the scene's UTF-8 text (the
 * task's data.text; source offsets are code points of it), cast the roster
 * as [{"id":"c1","name":"宋江","aliases":["公明"]}] (NULL: none), speech_rate
 * characters per second of dialogue (<= 0: 4.0) for the durations.
 *
 * Returns 0 and writes *ret_result (a new {"shots":[...]} object in the
 * Contract's field order, ids "", owned by the caller) and model_out (the
 * answer's "model", else o->model; truncated to model_cap). On failure
 * returns a negative error and writes a lowercase message to err (when
 * err_cap > 0; on success err is set to ""); nothing else is written:
 *   -EINVAL       bad options (no base_url or model, cast not an array, text
 *                 not UTF-8); -E2BIG also for a scene over STORY_LLM_SCENE_MAX
 *   -ETIMEDOUT    "llm endpoint timed out after 60 s"
 *   -EPROTO       "llm endpoint answered 500: ..." (any status but 2xx)
 *   -ECONNREFUSED "llm endpoint unreachable: ..." (connect or DNS failure)
 *   -EIO          another transport failure
 *   -E2BIG        "llm answer is larger than 4194304 bytes"
 *   -EBADMSG      a malformed answer, twice: "llm answer is not valid JSON:
 *                 ...", "llm answer: shots[2].size must be one of ..."
 *   -ENOMEM
 */
int story_llm_draft(const struct story_llm_opts *o,
                    const char *scene_text,
                    const json_t *cast,
                    double speech_rate,
                    json_t **ret_result,
                    char *model_out,
                    size_t model_cap,
                    char *err,
                    size_t err_cap);

/*
 * Check a chat-completions answer body[0..len) as story_llm_draft() does
 * (choices[0].message.content, a fenced block tolerated, every shot field,
 * offsets within scene_len code points, speakers in the cast). Returns 0
 * with *ret_result (the caller's) or a negative error with err filled.
 * The fuzz target's way in; no network.
 */
int story_llm_parse_answer(const char *body,
                           size_t len,
                           size_t scene_len,
                           const json_t *cast,
                           json_t **ret_result,
                           char *err,
                           size_t err_cap);

/*
 * May the server call base_url? Returns 1 (allowed) or 0 (refused); never
 * negative, so `if (!story_llm_url_allowed(...))` refuses safely.
 *
 * The URL must be http or https, with a host, without userinfo (user@),
 * white space, control characters, backslashes, a query or a fragment, and
 * without "." or ".." path segments (plain or %2e-encoded), which curl would
 * resolve away from the allowed prefix. Then it must start with one of the
 * comma-separated URL prefixes of allow_list (the operator's
 * ANNOTD_LLM_ALLOW; blanks around items ignored), the prefix ending at a
 * boundary: either the prefix ends in "/", or the URL continues with "/" or
 * ends there ("http://a:80" allows "http://a:80/v1", not "http://a:8080").
 * Scheme and host compare case-insensitively, the path exactly.
 *
 * With no allow list (NULL or blank), the only allowed endpoint is the
 * operator's own ANNOTD_LLM_BASE_URL (read from the environment here), used
 * as a prefix in the same way; when that is unset too, nothing is allowed.
 */
int story_llm_url_allowed(const char *base_url, const char *allow_list);

#endif
