/*
 * Project kind "text": whole-text classes, labelled spans, relations
 * between spans.
 *
 * config  {"classes":{"choices":["pos","neg"],"multiple":false},
 *          "spans":{"labels":["PER","LOC"],"overlap":false},
 *          "relations":{"labels":["works_for"]}}
 *         classes or spans (or both) must be present; relations need spans.
 * data    {"text":"..."}; other keys are the importer's and are kept.
 * result  {"classes":["pos"],
 *          "spans":[{"id":"s1","start":0,"end":2,"label":"PER"}],
 *          "relations":[{"from":"s1","to":"s2","label":"works_for"}]}
 *
 * Offsets are Unicode code points of the task text exactly as stored (no
 * normalisation), end exclusive: 0 <= start < end <= length. Span ids are
 * optional and unique; relations name span ids. Unless the config allows
 * overlap, no two spans share a code point (touching is fine). Items may
 * carry a free "attrs" object; any other unknown key is rejected.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/utf8.h"
#include "schema/schema.h"
#include "schema/schema_int.h"

/* ------------------------------------------------------------------------ */
/* Config                                                                   */
/* ------------------------------------------------------------------------ */

static const char *const config_keys[] = { "classes", "spans", "relations", NULL };
static const char *const spans_config_keys[] = { "labels", "overlap", NULL };
static const char *const relations_config_keys[] = { "labels", NULL };

/* config[key] = {"labels":[...], ...}: `allowed` keys, labels required. */
static int check_labelled_part(struct schema_check *c,
                               const json_t *config,
                               const char *key,
                               const char *const *allowed,
                               const json_t **ret)
{
    const json_t *part = NULL;
    const json_t *labels = NULL;
    size_t mark, mark2;
    int r;

    r = schema_field_object(c, config, key, false, &part);
    if (r < 0 || !part)
        return r;
    mark = schema_enter_key(c, key);
    r = schema_known_keys(c, part, allowed);
    if (r < 0)
        return r;
    r = schema_field_array(c, part, "labels", true, &labels);
    if (r < 0)
        return r;
    mark2 = schema_enter_key(c, "labels");
    r = schema_check_names(c, labels, "label");
    if (r < 0)
        return r;
    schema_leave(c, mark2);
    schema_leave(c, mark);
    *ret = part;
    return 0;
}

static int text_check_config(const json_t *config, struct schema_error *err)
{
    struct schema_check c;
    const json_t *spans = NULL;
    const json_t *relations = NULL;
    bool overlap = false;
    size_t mark;
    int r;

    schema_check_init(&c, err, -ERR_INVALID_REQUEST);
    r = schema_want_object(&c, config);
    if (r < 0)
        return r;
    r = schema_known_keys(&c, config, config_keys);
    if (r < 0)
        return r;
    r = schema_classes_config(&c, config);
    if (r < 0)
        return r;
    r = check_labelled_part(&c, config, "spans", spans_config_keys, &spans);
    if (r < 0)
        return r;
    if (spans) {
        mark = schema_enter_key(&c, "spans");
        r = schema_field_bool(&c, spans, "overlap", &overlap);
        if (r < 0)
            return r;
        schema_leave(&c, mark);
    }
    r = check_labelled_part(&c, config, "relations", relations_config_keys, &relations);
    if (r < 0)
        return r;
    if (relations && !spans)
        return schema_reject_key(&c, "relations", "requires spans");
    if (!spans && !json_object_get(config, "classes"))
        return schema_reject(&c, "must configure classes or spans");
    return schema_check_done(&c);
}

/* ------------------------------------------------------------------------ */
/* Task data                                                                */
/* ------------------------------------------------------------------------ */

static int text_check_task(const json_t *config, const json_t *data, struct schema_error *err)
{
    struct schema_check c;
    const json_t *text = NULL;
    int r;

    (void)config; /* the contract passes it; this kind does not need it */

    schema_check_init(&c, err, -ERR_INVALID_REQUEST);
    r = schema_want_object(&c, data);
    if (r < 0)
        return r;
    r = schema_field_string(&c, data, "text", true, &text);
    if (r < 0)
        return r;
    if (!utf8_valid(json_string_value(text), json_string_length(text)))
        return schema_reject_key(&c, "text", "must be valid UTF-8");
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Result                                                                   */
/* ------------------------------------------------------------------------ */

static const char *const result_keys[] = { "classes", "spans", "relations", NULL };
static const char *const span_keys[] = { "id", "start", "end", "label", "attrs", NULL };
static const char *const relation_keys[] = { "from", "to", "label", "attrs", NULL };

struct span_extent {
    long long start;
    long long end;
    size_t index;
};

static int extent_cmp(const void *a, const void *b)
{
    const struct span_extent *x = a, *y = b;

    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * With overlap off, reject the first overlap found in start order, at the
 * later span of the pair (by index). Sorting by start and remembering the
 * span that reaches furthest finds an overlap whenever there is one.
 */
static int check_overlap(struct schema_check *c, struct span_extent *ext, size_t n)
{
    size_t i, reach = 0;

    qsort(ext, n, sizeof(*ext), extent_cmp);
    for (i = 1; i < n; i++) {
        if (ext[i].start < ext[reach].end) {
            size_t a = ext[reach].index, b = ext[i].index;
            schema_enter_index(c, a > b ? a : b);
            return schema_reject(c, "overlaps spans[%zu]", a < b ? a : b);
        }
        if (ext[i].end > ext[reach].end)
            reach = i;
    }
    return 0;
}

/* One span object at the current path; fills *ret_ext on success. */
static int check_span(struct schema_check *c,
                      const json_t *span,
                      size_t index,
                      size_t text_len,
                      const json_t *labels,
                      json_t *ids,
                      struct span_extent *ret_ext)
{
    const json_t *label = NULL;
    const char *id;
    long long start = 0, end = 0;
    int r;

    r = schema_want_object(c, span);
    if (r < 0)
        return r;
    r = schema_known_keys(c, span, span_keys);
    if (r < 0)
        return r;
    r = schema_field_int(c, span, "start", true, &start, NULL);
    if (r < 0)
        return r;
    if (start < 0)
        return schema_reject_key(c, "start", "must be >= 0");
    r = schema_field_int(c, span, "end", true, &end, NULL);
    if (r < 0)
        return r;
    if (end <= start)
        return schema_reject_key(c, "end", "must be > start");
    if ((unsigned long long)end > text_len)
        return schema_reject_key(c, "end", "must be <= %zu (text length in code points)", text_len);
    r = schema_field_string(c, span, "label", true, &label);
    if (r < 0)
        return r;
    if (!schema_set_has(labels, label))
        return schema_reject_key(c, "label", "unknown label '%s'", json_string_value(label));
    r = schema_field_id(c, span, ids, index, &id);
    if (r < 0)
        return r;
    r = schema_field_attrs(c, span);
    if (r < 0)
        return r;
    ret_ext->start = start;
    ret_ext->end = end;
    ret_ext->index = index;
    return 0;
}

/* result.spans; the ids of the spans are added to `ids`. */
static int check_spans(struct schema_check *c,
                       const json_t *config,
                       const json_t *data,
                       const json_t *result,
                       json_t *ids)
{
    const json_t *conf = json_object_get(config, "spans");
    const json_t *spans = NULL;
    const json_t *text;
    struct span_extent *ext = NULL;
    json_t *labels = NULL;
    size_t n, i, text_len, mark;
    int r;

    r = schema_part_configured(c, config, result, "spans");
    if (r < 0)
        return r;
    r = schema_field_array(c, result, "spans", false, &spans);
    if (r < 0 || !spans)
        return r;
    mark = schema_enter_key(c, "spans");
    r = schema_check_count(c, spans, SCHEMA_MAX_ITEMS, "spans");
    if (r < 0)
        return r;
    n = json_array_size(spans);
    if (n == 0) {
        schema_leave(c, mark);
        return 0;
    }
    text = json_object_get(data, "text");
    if (!json_is_string(text) || !utf8_valid(json_string_value(text), json_string_length(text)))
        return schema_reject(c, "the task has no valid text to annotate");
    text_len = utf8_count(json_string_value(text), json_string_length(text));

    labels = schema_set_of(json_object_get(conf, "labels"));
    ext = calloc(n, sizeof(*ext));
    if (!labels || !ext) {
        r = schema_nomem(c);
        goto out;
    }
    for (i = 0; i < n; i++) {
        size_t mark2 = schema_enter_index(c, i);
        r = check_span(c, json_array_get(spans, i), i, text_len, labels, ids, &ext[i]);
        if (r < 0)
            goto out;
        schema_leave(c, mark2);
    }
    if (!json_is_true(json_object_get(conf, "overlap"))) {
        r = check_overlap(c, ext, n);
        if (r < 0)
            goto out;
    }
    schema_leave(c, mark);
    r = 0;
out:
    free(ext);
    json_decref(labels);
    return r;
}

/* A relation end ("from" or "to"): the id of a span of this result. */
static int check_relation_end(struct schema_check *c,
                              const json_t *relation,
                              const char *key,
                              const json_t *ids)
{
    const json_t *id = NULL;
    int r;

    r = schema_field_string(c, relation, key, true, &id);
    if (r < 0)
        return r;
    if (!schema_set_has(ids, id))
        return schema_reject_key(c, key, "no span with id '%s'", json_string_value(id));
    return 0;
}

static int check_relation(struct schema_check *c,
                          const json_t *relation,
                          const json_t *labels,
                          const json_t *ids)
{
    const json_t *label = NULL;
    int r;

    r = schema_want_object(c, relation);
    if (r < 0)
        return r;
    r = schema_known_keys(c, relation, relation_keys);
    if (r < 0)
        return r;
    r = check_relation_end(c, relation, "from", ids);
    if (r < 0)
        return r;
    r = check_relation_end(c, relation, "to", ids);
    if (r < 0)
        return r;
    r = schema_field_string(c, relation, "label", true, &label);
    if (r < 0)
        return r;
    if (!schema_set_has(labels, label))
        return schema_reject_key(c, "label", "unknown label '%s'", json_string_value(label));
    return schema_field_attrs(c, relation);
}

static int check_relations(struct schema_check *c,
                           const json_t *config,
                           const json_t *result,
                           const json_t *ids)
{
    const json_t *relations = NULL;
    json_t *labels;
    size_t i, mark;
    int r;

    r = schema_part_configured(c, config, result, "relations");
    if (r < 0)
        return r;
    r = schema_field_array(c, result, "relations", false, &relations);
    if (r < 0 || !relations)
        return r;
    mark = schema_enter_key(c, "relations");
    r = schema_check_count(c, relations, SCHEMA_MAX_ITEMS, "relations");
    if (r < 0)
        return r;
    labels = schema_set_of(json_object_get(json_object_get(config, "relations"), "labels"));
    if (!labels)
        return schema_nomem(c);
    for (i = 0; i < json_array_size(relations); i++) {
        size_t mark2 = schema_enter_index(c, i);
        r = check_relation(c, json_array_get(relations, i), labels, ids);
        if (r < 0)
            goto out;
        schema_leave(c, mark2);
    }
    schema_leave(c, mark);
    r = 0;
out:
    json_decref(labels);
    return r;
}

static int text_check_result(const json_t *config,
                             const json_t *data,
                             const json_t *result,
                             struct schema_error *err)
{
    struct schema_check c;
    json_t *ids;
    int r;

    schema_check_init(&c, err, -ERR_INVALID_RESULT);
    r = schema_want_object(&c, result);
    if (r < 0)
        return r;
    r = schema_known_keys(&c, result, result_keys);
    if (r < 0)
        return r;
    r = schema_classes_result(&c, config, result);
    if (r < 0)
        return r;
    ids = json_object();
    if (!ids)
        return schema_nomem(&c);
    r = check_spans(&c, config, data, result, ids);
    if (r >= 0)
        r = check_relations(&c, config, result, ids);
    json_decref(ids);
    return r < 0 ? r : schema_check_done(&c);
}

/* ------------------------------------------------------------------------ */
/* Labels                                                                   */
/* ------------------------------------------------------------------------ */

static void text_labels(const json_t *config, const json_t *result, schema_label_fn emit, void *ctx)
{
    const json_t *spans = json_object_get(result, "spans");
    const json_t *relations = json_object_get(result, "relations");
    char value[2 * SCHEMA_MAX_NAME_LEN + 2];
    size_t i;

    (void)config; /* the contract passes it; this kind does not need it */

    schema_classes_labels(result, emit, ctx);
    for (i = 0; i < json_array_size(spans); i++) {
        const json_t *span = json_array_get(spans, i);
        const char *label = json_string_value(json_object_get(span, "label"));
        const json_t *start = json_object_get(span, "start");
        const json_t *end = json_object_get(span, "end");

        if (!label || !json_is_integer(start) || !json_is_integer(end))
            continue;
        snprintf(value, sizeof(value), "%lld:%lld", (long long)json_integer_value(start),
                 (long long)json_integer_value(end));
        emit(ctx, "spans", label, value);
    }
    for (i = 0; i < json_array_size(relations); i++) {
        const json_t *relation = json_array_get(relations, i);
        const char *label = json_string_value(json_object_get(relation, "label"));
        const char *from = json_string_value(json_object_get(relation, "from"));
        const char *to = json_string_value(json_object_get(relation, "to"));

        if (!label || !from || !to)
            continue;
        snprintf(value, sizeof(value), "%s>%s", from, to);
        emit(ctx, "relations", label, value);
    }
}

const struct schema_kind schema_kind_text = {
    .name = "text",
    .check_config = text_check_config,
    .check_task = text_check_task,
    .check_result = text_check_result,
    .labels = text_labels,
};
