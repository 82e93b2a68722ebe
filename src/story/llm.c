/*
 * story llm: the LLM shot drafter over an OpenAI-compatible
 * chat-completions endpoint (see llm.h DESIGN); the HTTP exchange itself
 * is http_client.c.
 */
#include "story/llm.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/utf8.h"
#include "story/http_client.h"

#define LLM_FIELD_MAX    8192 /* bytes of one string field of a shot */
#define LLM_DURATION_MAX 600.0
#define LLM_BACKOFF_MS   250L
#define LLM_BACKOFF_MAX  4000L

/* ---- URL policy ------------------------------------------------------- */

/* Byte offset where the authority of an http(s) URL ends (its path starts). */
static size_t authority_end(const char *url)
{
    const char *p = strstr(url, "://");
    if (!p)
        return 0;
    p += 3;
    return (size_t)(p + strcspn(p, "/") - url);
}

static bool has_dot_segment(const char *path)
{
    const char *p = path;
    while (*p) {
        if (*p != '/') {
            p++;
            continue;
        }
        p++;
        size_t n = strcspn(p, "/");
        /* ".", "..", and their %2e spellings */
        size_t dots = 0, i = 0;
        while (i < n) {
            if (p[i] == '.') {
                i++;
            } else if (i + 2 < n && p[i] == '%' && p[i + 1] == '2' &&
                       (p[i + 2] == 'e' || p[i + 2] == 'E')) {
                i += 3;
            } else {
                break;
            }
            dots++;
        }
        if (i == n && (dots == 1 || dots == 2))
            return true;
        p += n;
    }
    return false;
}

/* The URL's own shape: http(s), a host, no userinfo, nothing curl would rewrite. */
static bool url_well_formed(const char *url)
{
    size_t scheme;
    if (strncasecmp(url, "http://", 7) == 0)
        scheme = 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        scheme = 8;
    else
        return false;
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= ' ' || *p == 0x7F || *p == '\\' || *p == '?' || *p == '#')
            return false;
    size_t end = authority_end(url);
    if (end <= scheme || memchr(url + scheme, '@', end - scheme))
        return false;
    if (url[scheme] == ':' || (url[scheme] == '[' && !memchr(url + scheme, ']', end - scheme)))
        return false;
    if (has_dot_segment(url + end))
        return false;
    /* and curl agrees there is a host and no user */
    CURLU *u = curl_url();
    if (!u)
        return false;
    bool ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK;
    char *host = NULL, *user = NULL;
    if (ok)
        ok = curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && host[0];
    if (ok && curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
        ok = false;
    curl_free(host);
    curl_free(user);
    curl_url_cleanup(u);
    return ok;
}

/* Does url start with prefix[0..len), ending at a boundary (llm.h)? */
static bool prefix_allows(const char *url, const char *prefix, size_t len)
{
    if (len == 0 || strlen(url) < len)
        return false;
    char pre[2048];
    if (len >= sizeof(pre))
        return false;
    memcpy(pre, prefix, len);
    pre[len] = '\0';
    if (!url_well_formed(pre))
        return false;
    size_t auth = authority_end(pre);
    if (strncasecmp(url, pre, auth) != 0 || memcmp(url + auth, pre + auth, len - auth) != 0)
        return false;
    return pre[len - 1] == '/' || url[len] == '\0' || url[len] == '/';
}

int story_llm_url_allowed(const char *base_url, const char *allow_list)
{
    if (!base_url || !url_well_formed(base_url))
        return 0;
    const char *list = allow_list;
    if (!list || !list[strspn(list, " \t,")])
        list = getenv("ANNOTD_LLM_BASE_URL");
    if (!list)
        return 0;
    for (const char *p = list; *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",");
        size_t k = n;
        while (k > 0 && (p[k - 1] == ' ' || p[k - 1] == '\t'))
            k--;
        if (k > 0 && prefix_allows(base_url, p, k))
            return 1;
        p += n;
    }
    return 0;
}

/* ---- messages --------------------------------------------------------- */

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

/* ---- the prompt ------------------------------------------------------- */

static const char *const sizes[] = { "long",  "full",    "medium",
                                     "close", "closeup", "extreme_closeup",
                                     NULL };
static const char *const angles[] = { "eye", "high", "low", "overhead", "dutch", NULL };
static const char *const moves[] = { "static", "push",   "pull",  "pan", "tilt",
                                     "track",  "follow", "crane", NULL };
static const char *const transitions[] = { "cut", "fade", "dissolve", "wipe", NULL };
static const char *const kinds[] = { "dialogue", "monologue", "narration", NULL };

static const char system_prompt[] =
    "You are a storyboard artist (分镜师) turning one scene of a Chinese novel into a shot list "
    "for an animated series. Answer with one JSON object and nothing else: {\"shots\":[...]}.\n"
    "Each shot is an object with exactly these fields:\n"
    "- \"size\": shot size 景别, one of \"long\" (远景), \"full\" (全景), \"medium\" (中景), "
    "\"close\" (近景), \"closeup\" (特写), \"extreme_closeup\" (大特写);\n"
    "- \"angle\": one of \"eye\" (平视), \"high\" (俯拍), \"low\" (仰拍), \"overhead\" (顶拍), "
    "\"dutch\" (斜角);\n"
    "- \"move\": camera move 运镜, one of \"static\" (固定), \"push\" (推), \"pull\" (拉), "
    "\"pan\" (摇), \"tilt\" (摇), \"track\" (移), \"follow\" (跟), \"crane\" (升降);\n"
    "- \"picture\": what the frame shows (画面内容), in Chinese, one or two sentences;\n"
    "- \"characters\": the ids (from the cast list) of the characters in frame, [] if none;\n"
    "- \"dialogue\": the lines spoken in this shot (台词), each {\"speaker\": a cast id or null, "
    "\"kind\": \"dialogue\" (对白, spoken aloud) | \"monologue\" (独白, inner speech) | "
    "\"narration\" (旁白), \"text\": the words, copied from the scene}; [] if none;\n"
    "- \"sound\": sound effects or music (音效/BGM), \"\" if none;\n"
    "- \"transition\": to the next shot, one of \"cut\", \"fade\", \"dissolve\", \"wipe\";\n"
    "- \"duration\": seconds, a number: the dialogue's characters divided by %.1f characters per "
    "second, plus the time the action needs (about %.0f s for a shot without dialogue);\n"
    "- \"notes\": notes for the animator, \"\" if none;\n"
    "- \"source\": {\"start\": N, \"end\": N}, the part of scene_text this shot comes from, as "
    "offsets in Unicode code points (characters, not bytes) counted from 0, end exclusive, "
    "0 <= start < end <= scene_length.\n"
    "Cover the whole scene in order; do not invent events; use only ids from the cast list.\n"
    "The user message is a JSON object {\"cast\": [{\"id\",\"name\",\"aliases\"}], "
    "\"scene_length\": N, \"scene_text\": \"...\"}.";

/* The request body, serialised. */
static char *request_body(const struct story_llm_opts *o,
                          const char *scene_text,
                          size_t scene_len,
                          const json_t *cast,
                          double speech_rate)
{
    char sys[sizeof(system_prompt) + 64];
    snprintf(sys, sizeof(sys), system_prompt, speech_rate, 3.0);
    json_t *user = json_object();
    json_object_set_new(user, "cast", cast ? json_deep_copy(cast) : json_array());
    json_object_set_new(user, "scene_length", json_integer((json_int_t)scene_len));
    json_object_set_new(user, "scene_text", json_string(scene_text));
    char *user_text = json_dumps(user, JSON_COMPACT);
    json_decref(user);
    if (!user_text)
        return NULL;
    json_t *req =
        json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}], s:f, s:{s:s}}", "model", o->model, "messages",
                  "role", "system", "content", sys, "role", "user", "content", user_text,
                  "temperature", 0.2, "response_format", "type", "json_object");
    free(user_text);
    if (!req)
        return NULL;
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    return body;
}

/* ---- checking the answer ---------------------------------------------- */

struct check {
    const json_t *cast_ids; /* array of strings */
    size_t scene_len;       /* code points */
    char *err;
    size_t err_cap;
};

static int malformed(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int malformed(struct check *c, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    set_err(c->err, c->err_cap, "llm answer: %s", msg);
    return -EBADMSG;
}

static bool in_list(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

static void join_list(char *out, size_t cap, const char *const *list)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; list[i] && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? ", " : "", list[i]);
}

static bool is_cast_id(const struct check *c, const char *id)
{
    size_t i;
    const json_t *v;
    json_array_foreach(c->cast_ids, i, v) {
        if (strcmp(json_string_value(v), id) == 0)
            return true;
    }
    return false;
}

/* A string field of at most LLM_FIELD_MAX bytes; non-empty when asked. */
static int check_string(struct check *c, const json_t *v, const char *path, bool nonempty)
{
    if (!json_is_string(v))
        return malformed(c, "%s must be a string", path);
    if (json_string_length(v) > LLM_FIELD_MAX)
        return malformed(c, "%s is longer than %d bytes", path, LLM_FIELD_MAX);
    if (nonempty && json_string_length(v) == 0)
        return malformed(c, "%s must not be empty", path);
    return 0;
}

static int check_enum(struct check *c, const json_t *v, const char *path, const char *const *list)
{
    if (json_is_string(v) && in_list(json_string_value(v), list))
        return 0;
    char all[160];
    join_list(all, sizeof(all), list);
    return malformed(c, "%s must be one of %s", path, all);
}

static int check_characters(struct check *c, const json_t *v, const char *path)
{
    if (!json_is_array(v))
        return malformed(c, "%s must be an array of cast ids", path);
    size_t i;
    const json_t *id;
    json_array_foreach(v, i, id) {
        if (!json_is_string(id))
            return malformed(c, "%s[%zu] must be a cast id", path, i);
        if (!is_cast_id(c, json_string_value(id)))
            return malformed(c, "%s[%zu] '%.64s' is not a cast id", path, i, json_string_value(id));
    }
    return 0;
}

static int check_dialogue(struct check *c, const json_t *v, const char *path)
{
    if (!json_is_array(v))
        return malformed(c, "%s must be an array", path);
    static const char *const keys[] = { "speaker", "kind", "text", NULL };
    size_t i;
    const json_t *line;
    json_array_foreach(v, i, line) {
        char p[96];
        snprintf(p, sizeof(p), "%.64s[%zu]", path, i);
        if (!json_is_object(line))
            return malformed(c, "%s must be an object", p);
        const char *unknown = json_unknown_key(line, keys);
        if (unknown)
            return malformed(c, "%s.%.32s is not a dialogue field", p, unknown);
        const json_t *speaker = json_object_get(line, "speaker");
        if (!speaker)
            return malformed(c, "%s.speaker is missing", p);
        if (!json_is_null(speaker) &&
            (!json_is_string(speaker) || !is_cast_id(c, json_string_value(speaker))))
            return malformed(c, "%s.speaker must be a cast id or null", p);
        char q[112];
        snprintf(q, sizeof(q), "%.96s.kind", p);
        if (!json_object_get(line, "kind"))
            return malformed(c, "%s is missing", q);
        int r = check_enum(c, json_object_get(line, "kind"), q, kinds);
        if (r < 0)
            return r;
        snprintf(q, sizeof(q), "%.96s.text", p);
        if (!json_object_get(line, "text"))
            return malformed(c, "%s is missing", q);
        r = check_string(c, json_object_get(line, "text"), q, true);
        if (r < 0)
            return r;
    }
    return 0;
}

static int check_duration(struct check *c, const json_t *v, const char *path)
{
    if (!json_is_number(v))
        return malformed(c, "%s must be a number of seconds", path);
    double d = json_number_value(v);
    if (!isfinite(d) || d <= 0 || d > LLM_DURATION_MAX)
        return malformed(c, "%s must be more than 0 and at most %.0f seconds", path,
                         LLM_DURATION_MAX);
    return 0;
}

static int check_source(struct check *c, const json_t *v, const char *path)
{
    static const char *const keys[] = { "start", "end", NULL };
    if (!json_is_object(v) || json_unknown_key(v, keys))
        return malformed(c, "%s must be {\"start\":N,\"end\":N}", path);
    const json_t *s = json_object_get(v, "start"), *e = json_object_get(v, "end");
    if (!json_is_integer(s) || !json_is_integer(e))
        return malformed(c, "%s.start and .end must be integers", path);
    json_int_t start = json_integer_value(s), end = json_integer_value(e);
    if (start < 0 || start >= end || end > (json_int_t)c->scene_len)
        return malformed(c, "%s {%lld,%lld} must satisfy 0 <= start < end <= %zu", path,
                         (long long)start, (long long)end, c->scene_len);
    return 0;
}

enum field_kind {
    F_ENUM,
    F_TEXT,
    F_TEXT_NONEMPTY,
    F_CHARACTERS,
    F_DIALOGUE,
    F_DURATION,
    F_SOURCE,
    F_CUSTOM,
    F_ID
};

/* A shot's fields, in the Contract's order. */
static const struct field {
    const char *name;
    enum field_kind kind;
    const char *const *values;
    bool optional;
} fields[] = {
    { "id", F_ID, NULL, true },
    { "size", F_ENUM, sizes, false },
    { "angle", F_ENUM, angles, false },
    { "move", F_ENUM, moves, false },
    { "picture", F_TEXT_NONEMPTY, NULL, false },
    { "characters", F_CHARACTERS, NULL, false },
    { "dialogue", F_DIALOGUE, NULL, false },
    { "sound", F_TEXT, NULL, false },
    { "transition", F_ENUM, transitions, false },
    { "duration", F_DURATION, NULL, false },
    { "notes", F_TEXT, NULL, false },
    { "source", F_SOURCE, NULL, false },
    { "custom", F_CUSTOM, NULL, true },
};

static int check_field(struct check *c, const struct field *f, const json_t *v, const char *path)
{
    switch (f->kind) {
    case F_ENUM:
        return check_enum(c, v, path, f->values);
    case F_TEXT:
        return check_string(c, v, path, false);
    case F_TEXT_NONEMPTY:
        return check_string(c, v, path, true);
    case F_CHARACTERS:
        return check_characters(c, v, path);
    case F_DIALOGUE:
        return check_dialogue(c, v, path);
    case F_DURATION:
        return check_duration(c, v, path);
    case F_SOURCE:
        return check_source(c, v, path);
    case F_CUSTOM:
        return json_is_object(v) ? 0 : malformed(c, "%s must be an object", path);
    case F_ID:
        return 0; /* ignored: the caller assigns ids */
    }
    return 0;
}

/* Check the answer's JSON and build the result; *ret only on success. */
static int check_shots(struct check *c, const json_t *answer, json_t **ret)
{
    if (!json_is_object(answer))
        return malformed(c, "the answer must be a JSON object {\"shots\":[...]}");
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)answer, key, v) {
        if (strcmp(key, "shots") != 0)
            return malformed(c, "'%.32s' is not expected beside \"shots\"", key);
    }
    const json_t *shots = json_object_get(answer, "shots");
    if (!json_is_array(shots))
        return malformed(c, "\"shots\" must be an array");
    if (json_array_size(shots) == 0)
        return malformed(c, "\"shots\" is empty");
    if (json_array_size(shots) > STORY_LLM_SHOTS_MAX)
        return malformed(c, "more than %d shots", STORY_LLM_SHOTS_MAX);

    json_t *out = json_array();
    if (!out)
        return -ENOMEM;
    size_t i;
    const json_t *shot;
    json_array_foreach(shots, i, shot) {
        char path[64];
        snprintf(path, sizeof(path), "shots[%zu]", i);
        if (!json_is_object(shot)) {
            json_decref(out);
            return malformed(c, "%s must be an object", path);
        }
        json_object_foreach((json_t *)shot, key, v) {
            bool known = false;
            for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]) && !known; f++)
                known = strcmp(key, fields[f].name) == 0;
            if (!known) {
                json_decref(out);
                return malformed(c, "%s.%.32s is not a shot field", path, key);
            }
        }
        json_t *copy = json_object();
        if (!copy || json_array_append_new(out, copy) < 0) {
            json_decref(out);
            return -ENOMEM;
        }
        for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
            const struct field *fd = &fields[f];
            char fpath[96];
            snprintf(fpath, sizeof(fpath), "%s.%s", path, fd->name);
            const json_t *fv = json_object_get(shot, fd->name);
            int r = 0;
            if (fd->kind == F_ID)
                r = json_object_set_new(copy, "id", json_string(""));
            else if (!fv && fd->optional)
                continue;
            else if (!fv)
                r = malformed(c, "%s is missing", fpath);
            else if ((r = check_field(c, fd, fv, fpath)) == 0)
                r = json_object_set_new(copy, fd->name, json_deep_copy(fv));
            if (r < 0) {
                json_decref(out);
                return r == -1 ? -ENOMEM : r;
            }
        }
    }
    json_t *result = json_object();
    if (!result || json_object_set_new(result, "shots", out) < 0) {
        json_decref(result);
        return -ENOMEM;
    }
    *ret = result;
    return 0;
}

/* ---- one HTTP exchange ------------------------------------------------- */

enum outcome {
    OUT_OK,
    OUT_RETRY,     /* timeouts, dropped connections, 429, 5xx */
    OUT_MALFORMED, /* the endpoint answered 2xx with something we cannot use */
    OUT_FAIL,
};

struct attempt {
    const struct story_llm_opts *o;
    struct http_client_post req;
    struct check check;
    /* results */
    int code;
    long retry_after_ms;
    json_t *result;
    char model[256];
};

/* Take the answer of a 2xx: the content, unfenced, parsed and checked. */
static enum outcome take_answer(struct attempt *a, const struct buf *body)
{
    char *err = a->check.err;
    size_t cap = a->check.err_cap;
    json_t *resp = NULL, *answer = NULL;
    struct json_error_info info;
    enum outcome out = OUT_MALFORMED;
    a->code = -EBADMSG;
    if (json_parse(body->p, body->len, JSON_MAX_DEPTH_DEFAULT, &resp, &info) < 0) {
        set_err(err, cap, "llm endpoint answered with a body that is not JSON: %s", info.message);
        goto out;
    }
    const json_t *choice = json_array_get(json_object_get(resp, "choices"), 0);
    const char *content = json_get_str(json_object_get(choice, "message"), "content");
    if (!content) {
        set_err(err, cap, "llm answer has no choices[0].message.content");
        goto out;
    }
    /* a ```json fenced block is tolerated */
    size_t len = json_string_length(json_object_get(json_object_get(choice, "message"), "content"));
    const char *p = content, *end = content + len;
    while (p < end && isspace((unsigned char)*p))
        p++;
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    if (end - p >= 6 && strncmp(p, "```", 3) == 0 && strncmp(end - 3, "```", 3) == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl && nl < end - 3) {
            p = nl + 1;
            end -= 3;
        }
    }
    int r = json_parse(p, (size_t)(end - p), JSON_MAX_DEPTH_DEFAULT, &answer, &info);
    if (r < 0) {
        const char *fin = json_get_str(choice, "finish_reason");
        set_err(err, cap, "llm answer is not valid JSON: %s (line %ld, column %ld)%s", info.message,
                info.line, info.column,
                fin && strcmp(fin, "length") == 0 ? "; the answer was cut off at its length limit"
                                                  : "");
        goto out;
    }
    r = check_shots(&a->check, answer, &a->result);
    if (r < 0) {
        a->code = r;
        out = r == -ENOMEM ? OUT_FAIL : OUT_MALFORMED;
        goto out;
    }
    const char *model = json_get_str(resp, "model");
    snprintf(a->model, sizeof(a->model), "%s", model && model[0] ? model : a->o->model);
    a->code = 0;
    out = OUT_OK;
out:
    json_decref(answer);
    json_decref(resp);
    return out;
}

static bool stopping(const struct story_llm_opts *o)
{
    return o->stop && o->stop(o->stop_ctx);
}

static enum outcome attempt_once(struct attempt *a)
{
    struct http_client_answer answer;
    enum outcome out = OUT_FAIL;
    int r = http_client_post(&a->req, &answer, a->check.err, a->check.err_cap);

    a->retry_after_ms = -1;
    if (r == 0) {
        out = take_answer(a, &answer.body);
    } else {
        a->code = r;
        if (answer.transient)
            out = OUT_RETRY;
        if (answer.retry_after_ms >= 0)
            a->retry_after_ms =
                answer.retry_after_ms > LLM_BACKOFF_MAX ? LLM_BACKOFF_MAX : answer.retry_after_ms;
    }
    http_client_answer_release(&answer);
    return out;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ---- the drafter ------------------------------------------------------- */

/* The cast's ids, checking its shape. NULL on a bad cast (err set) or no memory. */
static json_t *cast_ids(const json_t *cast, char *err, size_t cap, int *ret_code)
{
    json_t *ids = json_array();
    if (!ids) {
        *ret_code = -ENOMEM;
        return NULL;
    }
    if (!cast)
        return ids;
    if (!json_is_array(cast)) {
        set_err(err, cap, "the cast must be an array of {\"id\",\"name\",\"aliases\"}");
        json_decref(ids);
        *ret_code = -EINVAL;
        return NULL;
    }
    size_t i;
    const json_t *m;
    json_array_foreach(cast, i, m) {
        const char *id = json_get_str(m, "id");
        if (!id || !id[0]) {
            set_err(err, cap, "cast[%zu] has no \"id\"", i);
            json_decref(ids);
            *ret_code = -EINVAL;
            return NULL;
        }
        if (json_array_append_new(ids, json_string(id)) < 0) {
            json_decref(ids);
            *ret_code = -ENOMEM;
            return NULL;
        }
    }
    return ids;
}

int story_llm_draft(const struct story_llm_opts *o,
                    const char *scene_text,
                    const json_t *cast,
                    double speech_rate,
                    json_t **ret_result,
                    char *model_out,
                    size_t model_cap,
                    char *err,
                    size_t err_cap)
{
    if (!o || !o->base_url || !o->base_url[0] || !o->model || !o->model[0] || !scene_text ||
        !ret_result) {
        set_err(err, err_cap, "llm drafter: base_url, model and scene text are required");
        return -EINVAL;
    }
    size_t text_len = strlen(scene_text);
    if (text_len > STORY_LLM_SCENE_MAX) {
        set_err(err, err_cap, "scene text is longer than %zu bytes", STORY_LLM_SCENE_MAX);
        return -E2BIG;
    }
    if (text_len == 0 || !utf8_valid(scene_text, text_len)) {
        set_err(err, err_cap, "scene text is empty or not UTF-8");
        return -EINVAL;
    }
    if (o->api_key && !http_client_header_safe(o->api_key)) {
        set_err(err, err_cap, "llm api key contains control characters");
        return -EINVAL;
    }
    if (!http_client_url_ok(o->base_url)) {
        set_err(err, err_cap, "llm base url '%.64s' is not an http(s) url", o->base_url);
        return -EINVAL;
    }
    if (!(speech_rate > 0) || !isfinite(speech_rate))
        speech_rate = 4.0;

    int code = 0;
    json_t *ids = cast_ids(cast, err, err_cap, &code);
    if (!ids) {
        if (code == -ENOMEM)
            set_err(err, err_cap, "out of memory");
        return code;
    }
    char url[HTTP_CLIENT_URL_MAX + 100];
    http_client_url(url, sizeof(url), o->base_url, "/chat/completions");
    struct attempt a = {
        .o = o,
        .req = { .what = "llm",
                 .url = url,
                 .api_key = o->api_key,
                 .timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : STORY_LLM_TIMEOUT_DEFAULT,
                 .max_response = o->max_response ? o->max_response : STORY_LLM_RESPONSE_DEFAULT,
                 .stop = o->stop,
                 .stop_ctx = o->stop_ctx },
        .check = { .cast_ids = ids,
                   .scene_len = utf8_count(scene_text, text_len),
                   .err = err,
                   .err_cap = err_cap },
    };
    char *body = request_body(o, scene_text, a.check.scene_len, cast, speech_rate);
    int r = -ENOMEM;
    if (!body) {
        set_err(err, err_cap, "out of memory");
        goto out;
    }
    if (o->api_key && strlen(o->api_key) > HTTP_CLIENT_KEY_MAX) {
        set_err(err, err_cap, "llm api key is longer than %d bytes", HTTP_CLIENT_KEY_MAX);
        r = -EINVAL;
        goto out;
    }
    a.req.body = body;

    int transient_left = o->retries == 0 ? STORY_LLM_RETRIES_DEFAULT : o->retries;
    int malformed_left = 1;
    long backoff = LLM_BACKOFF_MS;
    int attempts = 0;
    for (;;) {
        attempts++;
        enum outcome out = attempt_once(&a);
        if (out == OUT_OK)
            break;
        if (stopping(o)) {
            set_err(err, err_cap, "stopped");
            r = -ECANCELED;
            goto out;
        }
        if (out == OUT_RETRY && transient_left-- > 0) {
            /* wait in slices, so that a stop is not held up by a backoff */
            for (long left = a.retry_after_ms >= 0 ? a.retry_after_ms : backoff; left > 0 && !stopping(o);
                 left -= 100)
                sleep_ms(left < 100 ? left : 100);
            backoff = backoff * 2 > LLM_BACKOFF_MAX ? LLM_BACKOFF_MAX : backoff * 2;
            continue;
        }
        if (out == OUT_MALFORMED && malformed_left-- > 0)
            continue;
        r = a.code;
        if (attempts > 1 && err && err_cap) {
            size_t n = strlen(err);
            if (n + 1 < err_cap)
                snprintf(err + n, err_cap - n, " (%d attempts)", attempts);
        }
        goto out;
    }
    *ret_result = a.result;
    if (err && err_cap)
        err[0] = '\0'; /* no stale message from a retried attempt */
    if (model_out && model_cap)
        snprintf(model_out, model_cap, "%s", a.model);
    r = 0;
out:
    free(body);
    json_decref(ids);
    return r;
}

/* ---- the answer alone (the fuzz target's way in) ----------------------- */

int story_llm_parse_answer(const char *body,
                           size_t len,
                           size_t scene_len,
                           const json_t *cast,
                           json_t **ret_result,
                           char *err,
                           size_t err_cap)
{
    int code = 0;
    json_t *ids = cast_ids(cast, err, err_cap, &code);
    if (!ids)
        return code ? code : -EINVAL;
    struct story_llm_opts o = { .model = "m" };
    struct attempt a = {
        .o = &o,
        .check = { .cast_ids = ids, .scene_len = scene_len, .err = err, .err_cap = err_cap },
    };
    struct buf b = { .p = (char *)body, .len = len, .cap = len };
    enum outcome out = take_answer(&a, &b);
    json_decref(ids);
    if (out != OUT_OK) {
        json_decref(a.result);
        return a.code < 0 ? a.code : -EBADMSG;
    }
    *ret_result = a.result;
    return 0;
}
