/*
 * Project kind "llm": judging language-model output. One project runs in
 * one mode:
 *
 *   sft       the annotator writes the response to a prompt
 *   pairwise  the annotator picks the better of two responses (or a tie)
 *   ranking   the annotator orders two or more responses, best first
 *   rubric    the annotator scores the task on configured criteria
 *
 * config  {"mode":"rubric",
 *          "criteria":[{"name":"helpful","min":1,"max":5}],
 *          "require_reason":false}
 *         criteria: required in rubric mode and refused in the others;
 *         names unique and non-empty, integer min < max.
 *         require_reason: optional in every mode, used by pairwise.
 * data    {"prompt":"..."} or {"messages":[{"role":"user","content":"..."}]}
 *         (exactly one of the two; roles system, user, assistant), plus
 *         "responses":[{"id":"a","text":"..."}]: exactly 2 for pairwise, at
 *         least 2 for ranking, optional for sft and rubric; ids unique and
 *         non-empty ("tie" is reserved in pairwise). Any other key, here or
 *         inside a message or response, is the importer's and is kept.
 * result  sft       {"response":"..."}                       non-empty
 *         pairwise  {"choice":"a","strength":2,"reason":"..."}
 *                   choice is a response id or "tie"; strength 1..3,
 *                   required unless tie and refused with a tie; reason
 *                   required and non-empty when require_reason is true
 *         ranking   {"ranking":["b","a","c"]}    every response id once
 *         rubric    {"scores":{"helpful":4},"comment":"..."}
 *                   every criterion scored, integer within [min,max]
 *         Every result may carry a free "attrs" object; any other unknown
 *         key is rejected.
 *
 * Caps: LLM_MAX_TEXT bytes per text field (prompt, content, response text,
 * and the result's strings), LLM_MAX_MESSAGES, LLM_MAX_RESPONSES,
 * LLM_MAX_CRITERIA. Text must be valid UTF-8 (jansson checks what it
 * parses; values built in memory are checked here).
 *
 * Labels: pairwise ("choice", choice, strength or "" for a tie); ranking
 * ("ranking", id, 1-based position) per id; rubric ("scores", criterion,
 * score) in config order; sft ("response", "sft", length in code points).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/utf8.h"
#include "schema/schema.h"
#include "schema/schema_int.h"

#define LLM_MAX_TEXT      (1 << 20) /* bytes of one text field */
#define LLM_MAX_MESSAGES  1000
#define LLM_MAX_RESPONSES 1000
#define LLM_MAX_CRITERIA  100

enum llm_mode { LLM_NONE, LLM_SFT, LLM_PAIRWISE, LLM_RANKING, LLM_RUBRIC };

static const char *const mode_names[] = {
    [LLM_SFT] = "sft",
    [LLM_PAIRWISE] = "pairwise",
    [LLM_RANKING] = "ranking",
    [LLM_RUBRIC] = "rubric",
};

static enum llm_mode mode_of(const json_t *s)
{
    const char *name = json_string_value(s);

    if (!name)
        return LLM_NONE;
    for (size_t m = LLM_SFT; m <= LLM_RUBRIC; m++) {
        if (strcmp(mode_names[m], name) == 0)
            return (enum llm_mode)m;
    }
    return LLM_NONE;
}

/* The mode of a config; LLM_NONE when it has none (an unchecked config). */
static enum llm_mode config_mode(const json_t *config)
{
    return mode_of(json_object_get(config, "mode"));
}

/*
 * obj[key], a string of at most LLM_MAX_TEXT bytes of valid UTF-8 (and not
 * empty when `nonempty`). *ret is the string or stays NULL when absent.
 */
static int check_text(struct schema_check *c,
                      const json_t *obj,
                      const char *key,
                      bool required,
                      bool nonempty,
                      const json_t **ret)
{
    const json_t *s = NULL;
    int r = schema_field_text(c, obj, key, required, LLM_MAX_TEXT, &s);

    if (r < 0 || !s)
        return r;
    if (nonempty && json_string_length(s) == 0)
        return schema_reject_key(c, key, "must not be empty");
    *ret = s;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Config                                                                   */
/* ------------------------------------------------------------------------ */

static const char *const config_keys[] = { "mode", "criteria", "require_reason", NULL };
static const char *const criterion_keys[] = { "name", "min", "max", NULL };

/* One criterion at the current path; its name joins `seen`. */
static int check_criterion(struct schema_check *c, const json_t *criterion, json_t *seen)
{
    const json_t *name;
    long long min = 0, max = 0;
    size_t mark;
    int r;

    r = schema_want_object(c, criterion);
    if (r < 0)
        return r;
    r = schema_known_keys(c, criterion, criterion_keys);
    if (r < 0)
        return r;
    name = json_object_get(criterion, "name");
    if (!name)
        return schema_reject_key(c, "name", "is required");
    mark = schema_enter_key(c, "name");
    r = schema_want_unique_name(c, seen, name, "criterion");
    if (r < 0)
        return r;
    schema_leave(c, mark);
    r = schema_field_int(c, criterion, "min", true, &min, NULL);
    if (r < 0)
        return r;
    r = schema_field_int(c, criterion, "max", true, &max, NULL);
    if (r < 0)
        return r;
    if (max <= min)
        return schema_reject_key(c, "max", "must be > min");
    return 0;
}

static int check_criteria(struct schema_check *c, const json_t *config, enum llm_mode mode)
{
    if (mode != LLM_RUBRIC) {
        if (json_object_get(config, "criteria"))
            return schema_reject_key(c, "criteria", "only applies to mode 'rubric'");
        return 0;
    }
    return schema_check_named_list(c, config, "criteria", LLM_MAX_CRITERIA, check_criterion);
}

static int llm_check_config(const json_t *config, struct schema_error *err)
{
    struct schema_check c;
    const json_t *mode_name = NULL;
    enum llm_mode mode;
    bool require_reason = false;
    int r;

    schema_check_init(&c, err, -ERR_INVALID_REQUEST);
    r = schema_want_object(&c, config);
    if (r < 0)
        return r;
    r = schema_known_keys(&c, config, config_keys);
    if (r < 0)
        return r;
    r = schema_field_string(&c, config, "mode", true, &mode_name);
    if (r < 0)
        return r;
    mode = mode_of(mode_name);
    if (mode == LLM_NONE)
        return schema_reject_key(&c, "mode", "must be one of: sft, pairwise, ranking, rubric");
    r = check_criteria(&c, config, mode);
    if (r < 0)
        return r;
    r = schema_field_bool(&c, config, "require_reason", &require_reason);
    if (r < 0)
        return r;
    return schema_check_done(&c);
}

/* ------------------------------------------------------------------------ */
/* Task data                                                                */
/* ------------------------------------------------------------------------ */

static int check_message(struct schema_check *c, const json_t *message, size_t index, void *ctx)
{
    const json_t *role = NULL;
    const json_t *content = NULL;
    const char *name;
    int r;

    (void)index, (void)ctx;
    r = schema_want_object(c, message);
    if (r < 0)
        return r;
    r = schema_field_string(c, message, "role", true, &role);
    if (r < 0)
        return r;
    name = json_string_value(role);
    if (strcmp(name, "system") != 0 && strcmp(name, "user") != 0 && strcmp(name, "assistant") != 0)
        return schema_reject_key(c, "role", "must be one of: system, user, assistant");
    return check_text(c, message, "content", true, false, &content);
}

/* Exactly one of "prompt" (non-empty) and "messages" (non-empty list). */
static int check_conversation(struct schema_check *c, const json_t *data)
{
    const json_t *prompt = json_object_get(data, "prompt");
    const json_t *messages = json_object_get(data, "messages");
    const json_t *text = NULL;

    if (prompt && messages)
        return schema_reject(c, "must have either prompt or messages, not both");
    if (prompt)
        return check_text(c, data, "prompt", true, true, &text);
    if (!messages)
        return schema_reject(c, "must have prompt or messages");
    if (json_is_array(messages) && json_array_size(messages) == 0)
        return schema_reject_key(c, "messages", "must not be empty");
    return schema_check_list(c, data, "messages", true, LLM_MAX_MESSAGES, "messages", check_message,
                             NULL);
}

static int check_response(struct schema_check *c,
                          const json_t *response,
                          size_t index,
                          enum llm_mode mode,
                          json_t *ids)
{
    const json_t *text = NULL;
    const char *id;
    int r;

    r = schema_want_object(c, response);
    if (r < 0)
        return r;
    if (!json_object_get(response, "id"))
        return schema_reject_key(c, "id", "is required");
    r = schema_field_id(c, response, ids, index, &id);
    if (r < 0)
        return r;
    if (mode == LLM_PAIRWISE && strcmp(id, "tie") == 0)
        return schema_reject_key(c, "id", "must not be 'tie' (reserved for a tie)");
    return check_text(c, response, "text", true, false, &text);
}

static int check_responses(struct schema_check *c, const json_t *data, enum llm_mode mode)
{
    const json_t *responses = NULL;
    bool needed = mode == LLM_PAIRWISE || mode == LLM_RANKING;
    json_t *ids;
    size_t mark, n, i;
    int r;

    r = schema_field_array(c, data, "responses", needed, &responses);
    if (r < 0 || !responses)
        return r;
    mark = schema_enter_key(c, "responses");
    r = schema_check_count(c, responses, LLM_MAX_RESPONSES, "responses");
    if (r < 0)
        return r;
    n = json_array_size(responses);
    if (mode == LLM_PAIRWISE && n != 2)
        return schema_reject(c, "must have exactly 2 responses (has %zu)", n);
    if (mode == LLM_RANKING && n < 2)
        return schema_reject(c, "must have at least 2 responses (has %zu)", n);
    ids = json_object();
    if (!ids)
        return schema_nomem(c);
    for (i = 0; i < n; i++) {
        size_t mark2 = schema_enter_index(c, i);
        r = check_response(c, json_array_get(responses, i), i, mode, ids);
        if (r < 0)
            goto out;
        schema_leave(c, mark2);
    }
    schema_leave(c, mark);
    r = 0;
out:
    json_decref(ids);
    return r;
}

static int llm_check_task(const json_t *config, const json_t *data, struct schema_error *err)
{
    struct schema_check c;
    int r;

    schema_check_init(&c, err, -ERR_INVALID_REQUEST);
    r = schema_want_object(&c, data);
    if (r < 0)
        return r;
    r = check_conversation(&c, data);
    if (r < 0)
        return r;
    r = check_responses(&c, data, config_mode(config));
    if (r < 0)
        return r;
    return schema_check_done(&c);
}

/* ------------------------------------------------------------------------ */
/* Results                                                                  */
/* ------------------------------------------------------------------------ */

static const char *const sft_keys[] = { "response", "attrs", NULL };
static const char *const pairwise_keys[] = { "choice", "strength", "reason", "attrs", NULL };
static const char *const ranking_keys[] = { "ranking", "attrs", NULL };
static const char *const rubric_keys[] = { "scores", "comment", "attrs", NULL };

/* The id of data.responses[i], or NULL (data that was never checked). */
static const json_t *response_id(const json_t *data, size_t i)
{
    const json_t *id = json_object_get(json_array_get(json_object_get(data, "responses"), i), "id");

    return json_is_string(id) ? id : NULL;
}

static size_t response_count(const json_t *data)
{
    return json_array_size(json_object_get(data, "responses"));
}

/* A set of the response ids of `data`; NULL on allocation failure. */
static json_t *response_id_set(const json_t *data)
{
    json_t *set = json_object();
    size_t i;

    if (!set)
        return NULL;
    for (i = 0; i < response_count(data); i++) {
        const json_t *id = response_id(data, i);
        if (!id || schema_set_has(set, id))
            continue;
        if (json_object_setn_new(set, json_string_value(id), json_string_length(id),
                                 json_integer((json_int_t)i)) < 0) {
            json_decref(set);
            return NULL;
        }
    }
    return set;
}

static int check_sft(struct schema_check *c, const json_t *result)
{
    const json_t *response = NULL;
    int r;

    r = schema_known_keys(c, result, sft_keys);
    if (r < 0)
        return r;
    r = check_text(c, result, "response", true, true, &response);
    if (r < 0)
        return r;
    return schema_field_attrs(c, result);
}

/* result.choice: "tie" or one of the task's response ids. */
static int
check_choice(struct schema_check *c, const json_t *data, const json_t *result, bool *ret_tie)
{
    const json_t *choice = NULL;
    size_t i, n = response_count(data);
    int r;

    r = schema_field_string(c, result, "choice", true, &choice);
    if (r < 0)
        return r;
    if (strcmp(json_string_value(choice), "tie") == 0) {
        *ret_tie = true;
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (json_equal(response_id(data, i), choice)) {
            *ret_tie = false;
            return 0;
        }
    }
    if (!response_id(data, 0) || !response_id(data, 1) || n != 2)
        return schema_reject_key(c, "choice", "must be a response id of the task or 'tie'");
    return schema_reject_key(c, "choice", "must be '%s', '%s' or 'tie'",
                             json_string_value(response_id(data, 0)),
                             json_string_value(response_id(data, 1)));
}

static int check_pairwise(struct schema_check *c,
                          const json_t *config,
                          const json_t *data,
                          const json_t *result)
{
    const json_t *reason = NULL;
    long long strength = 0;
    bool tie = false, has_strength = false;
    int r;

    r = schema_known_keys(c, result, pairwise_keys);
    if (r < 0)
        return r;
    r = check_choice(c, data, result, &tie);
    if (r < 0)
        return r;
    r = schema_field_int(c, result, "strength", !tie, &strength, &has_strength);
    if (r < 0)
        return r;
    if (tie && has_strength)
        return schema_reject_key(c, "strength", "must not be given with a tie");
    if (has_strength && (strength < 1 || strength > 3))
        return schema_reject_key(c, "strength", "must be 1, 2 or 3");
    if (json_is_true(json_object_get(config, "require_reason"))) {
        r = check_text(c, result, "reason", true, true, &reason);
    } else {
        r = check_text(c, result, "reason", false, false, &reason);
    }
    if (r < 0)
        return r;
    return schema_field_attrs(c, result);
}

/* Every element of `ranking` a response id of `ids`, none twice. */
static int
check_ranked_ids(struct schema_check *c, const json_t *ranking, const json_t *ids, json_t *seen)
{
    size_t i;
    int r;

    for (i = 0; i < json_array_size(ranking); i++) {
        const json_t *id = json_array_get(ranking, i);
        size_t mark = schema_enter_index(c, i);

        if (!json_is_string(id))
            return schema_reject(c, "must be a string");
        if (!schema_set_has(ids, id))
            return schema_reject(c, "unknown response '%s'", json_string_value(id));
        r = schema_set_add(c, seen, id, "response");
        if (r < 0)
            return r;
        schema_leave(c, mark);
    }
    return 0;
}

static int check_ranking(struct schema_check *c, const json_t *data, const json_t *result)
{
    const json_t *ranking = NULL;
    json_t *ids = NULL, *seen = NULL;
    size_t mark, i;
    int r;

    r = schema_known_keys(c, result, ranking_keys);
    if (r < 0)
        return r;
    r = schema_field_array(c, result, "ranking", true, &ranking);
    if (r < 0)
        return r;
    mark = schema_enter_key(c, "ranking");
    r = schema_check_count(c, ranking, LLM_MAX_RESPONSES, "entries");
    if (r < 0)
        return r;
    ids = response_id_set(data);
    seen = json_object();
    if (!ids || !seen) {
        r = schema_nomem(c);
        goto out;
    }
    if (json_object_size(ids) == 0) {
        r = schema_reject(c, "the task has no responses to rank");
        goto out;
    }
    r = check_ranked_ids(c, ranking, ids, seen);
    if (r < 0)
        goto out;
    for (i = 0; i < response_count(data); i++) {
        const json_t *id = response_id(data, i);
        if (id && !schema_set_has(seen, id)) {
            r = schema_reject(c, "must list every response once (missing '%s')",
                              json_string_value(id));
            goto out;
        }
    }
    schema_leave(c, mark);
    r = schema_field_attrs(c, result);
out:
    json_decref(ids);
    json_decref(seen);
    return r;
}

/* The name of config.criteria[i], or NULL (a config that was never checked). */
static const json_t *criterion_name(const json_t *criteria, size_t i)
{
    const json_t *name = json_object_get(json_array_get(criteria, i), "name");

    return json_is_string(name) ? name : NULL;
}

/* result.scores, at the current path "scores". */
static int check_scores(struct schema_check *c, const json_t *criteria, const json_t *scores)
{
    json_t *names = json_object();
    const char *key;
    json_t *value;
    size_t i;
    int r;

    if (!names)
        return schema_nomem(c);
    for (i = 0; i < json_array_size(criteria); i++) {
        const json_t *name = criterion_name(criteria, i);
        if (name && json_object_setn_new(names, json_string_value(name), json_string_length(name),
                                         json_true()) < 0) {
            r = schema_nomem(c);
            goto out;
        }
    }
    json_object_foreach((json_t *)scores, key, value) {
        if (!json_object_get(names, key)) {
            r = schema_reject_key(c, key, "unknown criterion '%s'", key);
            goto out;
        }
    }
    for (i = 0; i < json_array_size(criteria); i++) {
        const json_t *criterion = json_array_get(criteria, i);
        const json_t *name = criterion_name(criteria, i);
        long long score = 0, min, max;

        if (!name)
            continue;
        r = schema_field_int(c, scores, json_string_value(name), true, &score, NULL);
        if (r < 0)
            goto out;
        min = json_integer_value(json_object_get(criterion, "min"));
        max = json_integer_value(json_object_get(criterion, "max"));
        if (score < min || score > max) {
            r = schema_reject_key(c, json_string_value(name), "must be between %lld and %lld", min,
                                  max);
            goto out;
        }
    }
    r = 0;
out:
    json_decref(names);
    return r;
}

static int check_rubric(struct schema_check *c, const json_t *config, const json_t *result)
{
    const json_t *scores = NULL;
    const json_t *comment = NULL;
    size_t mark;
    int r;

    r = schema_known_keys(c, result, rubric_keys);
    if (r < 0)
        return r;
    r = schema_field_object(c, result, "scores", true, &scores);
    if (r < 0)
        return r;
    mark = schema_enter_key(c, "scores");
    r = check_scores(c, json_object_get(config, "criteria"), scores);
    if (r < 0)
        return r;
    schema_leave(c, mark);
    r = check_text(c, result, "comment", false, false, &comment);
    if (r < 0)
        return r;
    return schema_field_attrs(c, result);
}

static int llm_check_result(const json_t *config,
                            const json_t *data,
                            const json_t *result,
                            struct schema_error *err)
{
    struct schema_check c;
    int r;

    schema_check_init(&c, err, -ERR_INVALID_RESULT);
    r = schema_want_object(&c, result);
    if (r < 0)
        return r;
    switch (config_mode(config)) {
    case LLM_SFT:
        r = check_sft(&c, result);
        break;
    case LLM_PAIRWISE:
        r = check_pairwise(&c, config, data, result);
        break;
    case LLM_RANKING:
        r = check_ranking(&c, data, result);
        break;
    case LLM_RUBRIC:
        r = check_rubric(&c, config, result);
        break;
    case LLM_NONE:
    default:
        r = schema_reject(&c, "the project has no valid mode");
        break;
    }
    return r < 0 ? r : schema_check_done(&c);
}

/* ------------------------------------------------------------------------ */
/* Labels                                                                   */
/* ------------------------------------------------------------------------ */

static void pairwise_labels(const json_t *result, schema_label_fn emit, void *ctx)
{
    const char *choice = json_string_value(json_object_get(result, "choice"));
    const json_t *strength = json_object_get(result, "strength");
    char value[32] = "";

    if (!choice)
        return;
    if (json_is_integer(strength))
        snprintf(value, sizeof(value), "%lld", (long long)json_integer_value(strength));
    emit(ctx, "choice", choice, value);
}

static void ranking_labels(const json_t *result, schema_label_fn emit, void *ctx)
{
    const json_t *ranking = json_object_get(result, "ranking");
    char value[32];
    size_t i;

    for (i = 0; i < json_array_size(ranking); i++) {
        const char *id = json_string_value(json_array_get(ranking, i));
        if (!id)
            continue;
        snprintf(value, sizeof(value), "%zu", i + 1);
        emit(ctx, "ranking", id, value);
    }
}

static void
rubric_labels(const json_t *config, const json_t *result, schema_label_fn emit, void *ctx)
{
    const json_t *criteria = json_object_get(config, "criteria");
    const json_t *scores = json_object_get(result, "scores");
    char value[32];
    size_t i;

    for (i = 0; i < json_array_size(criteria); i++) {
        const json_t *name = criterion_name(criteria, i);
        const json_t *score = name ? json_object_get(scores, json_string_value(name)) : NULL;

        if (!json_is_integer(score))
            continue;
        snprintf(value, sizeof(value), "%lld", (long long)json_integer_value(score));
        emit(ctx, "scores", json_string_value(name), value);
    }
}

static void sft_labels(const json_t *result, schema_label_fn emit, void *ctx)
{
    const json_t *response = json_object_get(result, "response");
    char value[32];

    if (!json_is_string(response))
        return;
    snprintf(value, sizeof(value), "%zu",
             utf8_count(json_string_value(response), json_string_length(response)));
    emit(ctx, "response", "sft", value);
}

static void llm_labels(const json_t *config, const json_t *result, schema_label_fn emit, void *ctx)
{
    switch (config_mode(config)) {
    case LLM_SFT:
        sft_labels(result, emit, ctx);
        break;
    case LLM_PAIRWISE:
        pairwise_labels(result, emit, ctx);
        break;
    case LLM_RANKING:
        ranking_labels(result, emit, ctx);
        break;
    case LLM_RUBRIC:
        rubric_labels(config, result, emit, ctx);
        break;
    case LLM_NONE:
    default:
        break;
    }
}

const struct schema_kind schema_kind_llm = {
    .name = "llm",
    .check_config = llm_check_config,
    .check_task = llm_check_task,
    .check_result = llm_check_result,
    .labels = llm_labels,
};
