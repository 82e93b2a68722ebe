/*
 * libFuzzer target for src/schema.
 *
 * Input: up to three JSON documents separated by NUL bytes,
 *   config \0 data \0 result
 * (missing parts are absent values). Every kind checks the config, the
 * task data and the result in every combination, including checks against
 * values the server would have refused earlier; the result is also checked
 * against a fixed valid config and task of each kind (of each mode, for
 * "llm"), and the task data against each fixed config, so the fuzzer
 * reaches deep checks without first having to invent a valid config.
 *
 * Besides crashes and sanitizer reports, it aborts when a check breaks its
 * contract: a return value other than 0, the kind's error code or -ENOMEM,
 * or an error without a message.
 */
#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "schema/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PARTS 3

/* A valid config and task per kind, with every feature switched on. */
static const struct {
    const char *kind;
    const char *config;
    const char *data;
} fixtures[] = {
    { "image",
      "{\"tools\":[\"box\",\"polygon\",\"polyline\",\"keypoints\"],"
      "\"labels\":[{\"name\":\"car\"},{\"name\":\"person\",\"keypoints\":[\"nose\",\"neck\"],"
      "\"skeleton\":[[0,1]]}],\"classes\":{\"choices\":[\"day\",\"night\"],\"multiple\":true}}",
      "{\"image\":\"https://example.com/a.jpg\",\"width\":640,\"height\":480}" },
    { "image", "{\"tools\":[\"box\",\"polygon\"],\"labels\":[{\"name\":\"car\"}]}",
      "{\"image\":\"https://example.com/a.jpg\"}" },
    { "text",
      "{\"classes\":{\"choices\":[\"pos\",\"neg\"],\"multiple\":false},"
      "\"spans\":{\"labels\":[\"PER\",\"LOC\"],\"overlap\":false},"
      "\"relations\":{\"labels\":[\"works_for\"]}}",
      "{\"text\":\"\xe5\xbc\xa0\xe4\xb8\x89\xe5\x9c\xa8\xf0\x9f\x98\x80\xe5\x8c\x97\xe4\xba\xac"
      " Hello world!\"}" },
    { "text", "{\"spans\":{\"labels\":[\"PER\"],\"overlap\":true}}", "{\"text\":\"abc\"}" },
    /* llm: one fixture per mode; the response ids are short so that the
     * fuzzer finds them ("a", "b", "c") */
    { "llm", "{\"mode\":\"sft\"}", "{\"prompt\":\"Write a haiku.\"}" },
    { "llm", "{\"mode\":\"pairwise\",\"require_reason\":true}",
      "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
      "{\"role\":\"user\",\"content\":\"Hi\"}],"
      "\"responses\":[{\"id\":\"a\",\"text\":\"Hello\"},{\"id\":\"b\",\"text\":\"Hey\"}]}" },
    { "llm", "{\"mode\":\"pairwise\"}",
      "{\"prompt\":\"Hi\",\"responses\":[{\"id\":\"a\",\"text\":\"x\"},"
      "{\"id\":\"b\",\"text\":\"y\"}]}" },
    { "llm", "{\"mode\":\"ranking\"}",
      "{\"prompt\":\"Hi\",\"responses\":[{\"id\":\"a\",\"text\":\"x\"},"
      "{\"id\":\"b\",\"text\":\"y\"},{\"id\":\"c\",\"text\":\"\xe5\xbc\xa0\"}]}" },
    { "llm",
      "{\"mode\":\"rubric\",\"criteria\":[{\"name\":\"a\",\"min\":1,\"max\":5},"
      "{\"name\":\"b\",\"min\":-2,\"max\":2}]}",
      "{\"prompt\":\"Hi\",\"responses\":[{\"id\":\"a\",\"text\":\"x\"}]}" },
    { "storyboard",
      "{\"custom_fields\":[{\"name\":\"l\",\"type\":\"choice\",\"options\":[\"a\"]},"
      "{\"name\":\"n\",\"type\":\"number\"}]}",
      "{\"novel\":1,\"chapter\":{\"index\":1,\"title\":\"t\",\"volume\":null},"
      "\"scene\":0,\"text\":\"\xe5\xae\x8b\xe6\xb1\x9f\xe9\x81\x93" "abc\"}" },
};

#define N_FIXTURES (sizeof(fixtures) / sizeof(fixtures[0]))

static json_t *fixture_config[N_FIXTURES];
static json_t *fixture_data[N_FIXTURES];

static json_t *parse(const char *p, size_t len)
{
    return json_loadb(p, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
}

static void load_fixtures(void)
{
    static int loaded;

    if (loaded)
        return;
    for (size_t i = 0; i < N_FIXTURES; i++) {
        const struct schema_kind *kind = schema_kind_find(fixtures[i].kind);
        fixture_config[i] = parse(fixtures[i].config, strlen(fixtures[i].config));
        fixture_data[i] = parse(fixtures[i].data, strlen(fixtures[i].data));
        if (!kind || !fixture_config[i] || !fixture_data[i] ||
            kind->check_config(fixture_config[i], NULL) != 0 ||
            kind->check_task(fixture_config[i], fixture_data[i], NULL) != 0)
            abort();
    }
    loaded = 1;
}

static void check_error(int r, int code, const struct schema_error *err)
{
    if (r == 0 || r == -ENOMEM)
        return;
    if (r != code)
        abort();
    if (memchr(err->path, '\0', sizeof(err->path)) == NULL ||
        memchr(err->message, '\0', sizeof(err->message)) == NULL || err->message[0] == '\0')
        abort();
}

static void count_label(void *ctx, const char *field, const char *label, const char *value)
{
    size_t *n = ctx;

    if (!field || !label || !value)
        abort();
    /* touch every byte so that ASan sees a bad string */
    *n += strlen(field) + strlen(label) + strlen(value);
}

/* Check `result` with `kind`; when valid, extract its labels. */
static void run_result(const struct schema_kind *kind,
                       const json_t *config,
                       const json_t *task,
                       const json_t *result)
{
    struct schema_error err;
    size_t n = 0;
    int r;

    memset(&err, 0xa5, sizeof(err));
    r = kind->check_result(config, task, result, &err);
    check_error(r, -ERR_INVALID_RESULT, &err);
    if (r == 0)
        kind->labels(config, result, count_label, &n);
}

/* Check `task` as task data of a project with `config`. */
static void run_task(const struct schema_kind *kind, const json_t *config, const json_t *task)
{
    struct schema_error err;
    int r;

    memset(&err, 0xa5, sizeof(err));
    r = kind->check_task(config, task, &err);
    check_error(r, -ERR_INVALID_REQUEST, &err);
}

static void run_kind(const struct schema_kind *kind,
                     const json_t *config,
                     const json_t *task,
                     const json_t *result)
{
    struct schema_error err;
    int r;

    memset(&err, 0xa5, sizeof(err));
    r = kind->check_config(config, &err);
    check_error(r, -ERR_INVALID_REQUEST, &err);
    run_task(kind, config, task);
    run_result(kind, config, task, result);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    json_t *parts[MAX_PARTS] = { NULL };
    const char *const *names;
    size_t n = 0, start = 0;

    load_fixtures();
    for (size_t i = 0; i <= size && n < MAX_PARTS; i++) {
        if (i == size || p[i] == '\0') {
            parts[n++] = parse(p + start, i - start);
            start = i + 1;
        }
    }

    for (names = schema_kind_names(); *names; names++) {
        const struct schema_kind *kind = schema_kind_find(*names);
        if (!kind)
            abort();
        run_kind(kind, parts[0], parts[1], parts[2]);
        /* a lone document is tried as a result too */
        if (n == 1)
            run_result(kind, NULL, NULL, parts[0]);
    }
    for (size_t f = 0; f < N_FIXTURES; f++) {
        const struct schema_kind *kind = schema_kind_find(fixtures[f].kind);
        /* the last part is the result; with two parts, the first is task data */
        const json_t *result = n > 0 ? parts[n - 1] : NULL;
        run_result(kind, fixture_config[f], fixture_data[f], result);
        /* the part before the result, or a lone document, as task data */
        run_task(kind, fixture_config[f], parts[n >= 2 ? n - 2 : 0]);
        if (n >= 2)
            run_result(kind, fixture_config[f], parts[n - 2], result);
    }

    for (size_t i = 0; i < MAX_PARTS; i++)
        json_decref(parts[i]);
    return 0;
}
