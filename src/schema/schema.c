/*
 * The table of project kinds and the helpers every kind shares: the JSON
 * path walk, the rejection funnel, typed field readers and whole-item
 * classes. See schema.h for the contract and schema_int.h for the helpers.
 */
#include "schema/schema.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/utf8.h"
#include "schema/schema_int.h"

/* ------------------------------------------------------------------------ */
/* The table                                                                */
/* ------------------------------------------------------------------------ */

static const struct schema_kind *const kinds[] = {
    &schema_kind_image,
    &schema_kind_text,
    &schema_kind_llm,
    &schema_kind_storyboard,
};

#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

static const char *const kind_names[N_KINDS + 1] = {
    "image",
    "text",
    "llm",
    "storyboard",
    NULL,
};

const struct schema_kind *schema_kind_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < N_KINDS; i++) {
        if (strcmp(kinds[i]->name, name) == 0)
            return kinds[i];
    }
    return NULL;
}

const char *const *schema_kind_names(void)
{
    return kind_names;
}

void schema_fail(struct schema_error *err, const char *path, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return;
    snprintf(err->path, sizeof(err->path), "%s", path ? path : "");
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------------ */
/* The walk                                                                 */
/* ------------------------------------------------------------------------ */

void schema_check_init(struct schema_check *c, struct schema_error *err, int code)
{
    c->err = err;
    c->code = code;
    c->len = 0;
    c->path[0] = '\0';
}

/* Append at the logical end; what does not fit is dropped (path truncated). */
static size_t path_append(struct schema_check *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static size_t path_append(struct schema_check *c, const char *fmt, ...)
{
    size_t mark = c->len;
    va_list ap;
    int n;

    va_start(ap, fmt);
    if (c->len < sizeof(c->path)) {
        n = vsnprintf(c->path + c->len, sizeof(c->path) - c->len, fmt, ap);
    } else {
        char scratch[1];
        n = vsnprintf(scratch, sizeof(scratch), fmt, ap);
    }
    va_end(ap);
    if (n > 0)
        c->len += (size_t)n;
    return mark;
}

size_t schema_enter_key(struct schema_check *c, const char *key)
{
    if (c->len == 0)
        return path_append(c, "%s", key);
    return path_append(c, ".%s", key);
}

size_t schema_enter_index(struct schema_check *c, size_t index)
{
    return path_append(c, "[%zu]", index);
}

void schema_leave(struct schema_check *c, size_t mark)
{
    c->len = mark;
    if (mark < sizeof(c->path))
        c->path[mark] = '\0';
}

static int reject_v(struct schema_check *c, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static int reject_v(struct schema_check *c, const char *fmt, va_list ap)
{
    if (c->err) {
        snprintf(c->err->path, sizeof(c->err->path), "%s", c->path);
        vsnprintf(c->err->message, sizeof(c->err->message), fmt, ap);
    }
    return c->code;
}

int schema_reject(struct schema_check *c, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = reject_v(c, fmt, ap);
    va_end(ap);
    return r;
}

int schema_reject_key(struct schema_check *c, const char *key, const char *fmt, ...)
{
    va_list ap;
    int r;

    schema_enter_key(c, key);
    va_start(ap, fmt);
    r = reject_v(c, fmt, ap);
    va_end(ap);
    return r;
}

int schema_check_done(struct schema_check *c)
{
    assert(c->len == 0);
    return 0;
}

int schema_nomem(struct schema_check *c)
{
    schema_reject(c, "out of memory");
    return -ENOMEM;
}

/* ------------------------------------------------------------------------ */
/* Readers                                                                  */
/* ------------------------------------------------------------------------ */

size_t schema_http_url_host(const char *s, size_t len)
{
    size_t skip;

    if (len > 7 && strncmp(s, "http://", 7) == 0)
        skip = 7;
    else if (len > 8 && strncmp(s, "https://", 8) == 0)
        skip = 8;
    else
        return 0;
    for (size_t i = skip; i < len; i++) {
        unsigned char b = (unsigned char)s[i];
        if (b <= 0x20 || b == 0x7f)
            return 0;
    }
    return skip;
}

int schema_known_keys(struct schema_check *c, const json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *value;

    /* jansson's iterator API takes a non-const object; we only read. */
    json_object_foreach((json_t *)obj, key, value) {
        const char *const *a = allowed;
        while (*a && strcmp(*a, key) != 0)
            a++;
        if (!*a)
            return schema_reject_key(c, key, "unknown key");
    }
    return 0;
}

int schema_want_object(struct schema_check *c, const json_t *v)
{
    if (!json_is_object(v))
        return schema_reject(c, "must be an object");
    return 0;
}

int schema_want_number(struct schema_check *c, const json_t *v, double *ret)
{
    double d;

    if (!json_is_number(v))
        return schema_reject(c, "must be a number");
    d = json_number_value(v);
    if (!isfinite(d))
        return schema_reject(c, "must be a finite number");
    *ret = d;
    return 0;
}

/* The value of `key`, or NULL; a missing required key is rejected. */
static int field_get(struct schema_check *c,
                     const json_t *obj,
                     const char *key,
                     bool required,
                     const json_t **ret)
{
    const json_t *v = json_object_get(obj, key);

    if (!v && required)
        return schema_reject_key(c, key, "is required");
    *ret = v;
    return 0;
}

int schema_field_string(struct schema_check *c,
                        const json_t *obj,
                        const char *key,
                        bool required,
                        const json_t **ret)
{
    const json_t *v = NULL;
    int r = field_get(c, obj, key, required, &v);

    if (r < 0 || !v)
        return r;
    if (!json_is_string(v))
        return schema_reject_key(c, key, "must be a string");
    *ret = v;
    return 0;
}

int schema_field_text(struct schema_check *c,
                      const json_t *obj,
                      const char *key,
                      bool required,
                      size_t max,
                      const json_t **ret)
{
    const json_t *v = NULL;
    size_t mark;
    int r = field_get(c, obj, key, required, &v);

    if (r < 0 || !v)
        return r;
    mark = schema_enter_key(c, key);
    r = schema_want_text(c, v, max);
    if (r < 0)
        return r;
    schema_leave(c, mark);
    *ret = v;
    return 0;
}

int schema_field_number(struct schema_check *c,
                        const json_t *obj,
                        const char *key,
                        bool required,
                        double *ret,
                        bool *ret_present)
{
    const json_t *v = NULL;
    size_t mark;
    int r = field_get(c, obj, key, required, &v);

    if (r < 0)
        return r;
    if (!v) {
        if (ret_present)
            *ret_present = false;
        return 0;
    }
    mark = schema_enter_key(c, key);
    r = schema_want_number(c, v, ret);
    if (r < 0)
        return r;
    schema_leave(c, mark);
    if (ret_present)
        *ret_present = true;
    return 0;
}

int schema_field_int(struct schema_check *c,
                     const json_t *obj,
                     const char *key,
                     bool required,
                     long long *ret,
                     bool *ret_present)
{
    const json_t *v = NULL;
    int r = field_get(c, obj, key, required, &v);

    if (r < 0)
        return r;
    if (!v) {
        if (ret_present)
            *ret_present = false;
        return 0;
    }
    if (!json_is_integer(v))
        return schema_reject_key(c, key, "must be an integer");
    *ret = json_integer_value(v);
    if (ret_present)
        *ret_present = true;
    return 0;
}

int schema_field_bool(struct schema_check *c, const json_t *obj, const char *key, bool *ret)
{
    const json_t *v = json_object_get(obj, key);

    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return schema_reject_key(c, key, "must be a boolean");
    *ret = json_is_true(v);
    return 0;
}

int schema_field_array(struct schema_check *c,
                       const json_t *obj,
                       const char *key,
                       bool required,
                       const json_t **ret)
{
    const json_t *v = NULL;
    int r = field_get(c, obj, key, required, &v);

    if (r < 0 || !v)
        return r;
    if (!json_is_array(v))
        return schema_reject_key(c, key, "must be an array");
    *ret = v;
    return 0;
}

int schema_field_object(struct schema_check *c,
                        const json_t *obj,
                        const char *key,
                        bool required,
                        const json_t **ret)
{
    const json_t *v = NULL;
    int r = field_get(c, obj, key, required, &v);

    if (r < 0 || !v)
        return r;
    if (!json_is_object(v))
        return schema_reject_key(c, key, "must be an object");
    *ret = v;
    return 0;
}

int schema_field_attrs(struct schema_check *c, const json_t *obj)
{
    const json_t *attrs = NULL;

    return schema_field_object(c, obj, "attrs", false, &attrs);
}

int schema_want_name(struct schema_check *c, const json_t *s)
{
    if (!json_is_string(s))
        return schema_reject(c, "must be a string");
    if (json_string_length(s) == 0)
        return schema_reject(c, "must not be empty");
    if (json_string_length(s) > SCHEMA_MAX_NAME_LEN)
        return schema_reject(c, "must be at most %d bytes", SCHEMA_MAX_NAME_LEN);
    return 0;
}

int schema_want_text(struct schema_check *c, const json_t *s, size_t max)
{
    if (!json_is_string(s))
        return schema_reject(c, "must be a string");
    if (json_string_length(s) > max)
        return schema_reject(c, "must be at most %zu bytes", max);
    if (!utf8_valid(json_string_value(s), json_string_length(s)))
        return schema_reject(c, "must be valid UTF-8");
    return 0;
}

int schema_field_id(struct schema_check *c,
                    const json_t *obj,
                    json_t *ids,
                    size_t index,
                    const char **ret)
{
    const json_t *id = json_object_get(obj, "id");
    size_t mark;
    int r;

    if (!id) {
        *ret = NULL;
        return 0;
    }
    mark = schema_enter_key(c, "id");
    r = schema_want_name(c, id);
    if (r < 0)
        return r;
    if (schema_set_has(ids, id))
        return schema_reject(c, "duplicate id '%s'", json_string_value(id));
    if (json_object_setn_new(ids, json_string_value(id), json_string_length(id),
                             json_integer((json_int_t)index)) < 0)
        return schema_nomem(c);
    schema_leave(c, mark);
    *ret = json_string_value(id);
    return 0;
}

int schema_check_count(struct schema_check *c, const json_t *list, size_t max, const char *what)
{
    if (json_array_size(list) > max)
        return schema_reject(c, "too many %s (at most %zu)", what, max);
    return 0;
}

int schema_check_names(struct schema_check *c, const json_t *list, const char *what)
{
    json_t *seen;
    size_t i;
    int r;

    if (!json_is_array(list))
        return schema_reject(c, "must be an array");
    if (json_array_size(list) == 0)
        return schema_reject(c, "must not be empty");
    if (json_array_size(list) > SCHEMA_MAX_NAMES)
        return schema_reject(c, "must have at most %d entries", SCHEMA_MAX_NAMES);
    seen = json_object();
    if (!seen)
        return schema_nomem(c);
    for (i = 0; i < json_array_size(list); i++) {
        const json_t *name = json_array_get(list, i);
        size_t mark = schema_enter_index(c, i);

        r = schema_want_unique_name(c, seen, name, what);
        if (r < 0)
            goto out;
        schema_leave(c, mark);
    }
    r = 0;
out:
    json_decref(seen);
    return r;
}

/* ------------------------------------------------------------------------ */
/* Name sets                                                                */
/* ------------------------------------------------------------------------ */

json_t *schema_set_of(const json_t *list)
{
    json_t *set = json_object();
    size_t i;

    if (!set)
        return NULL;
    for (i = 0; i < json_array_size(list); i++) {
        const json_t *s = json_array_get(list, i);
        if (!json_is_string(s) || schema_set_has(set, s))
            continue;
        if (json_object_setn_new(set, json_string_value(s), json_string_length(s),
                                 json_integer((json_int_t)i)) < 0) {
            json_decref(set);
            return NULL;
        }
    }
    return set;
}

bool schema_set_has(const json_t *set, const json_t *s)
{
    if (!json_is_string(s))
        return false;
    return json_object_getn(set, json_string_value(s), json_string_length(s)) != NULL;
}

int schema_set_add(struct schema_check *c, json_t *seen, const json_t *name, const char *what)
{
    if (schema_set_has(seen, name))
        return schema_reject(c, "duplicate %s '%s'", what, json_string_value(name));
    if (json_object_setn_new(seen, json_string_value(name), json_string_length(name), json_true()) <
        0)
        return schema_nomem(c);
    return 0;
}

int schema_want_unique_name(struct schema_check *c,
                            json_t *seen,
                            const json_t *name,
                            const char *what)
{
    int r = schema_want_name(c, name);

    if (r < 0)
        return r;
    return schema_set_add(c, seen, name, what);
}

/* ------------------------------------------------------------------------ */
/* Classes                                                                  */
/* ------------------------------------------------------------------------ */

static const char *const classes_config_keys[] = { "choices", "multiple", NULL };

int schema_classes_config(struct schema_check *c, const json_t *config)
{
    const json_t *classes = NULL;
    const json_t *choices = NULL;
    bool multiple = false;
    size_t mark, mark2;
    int r;

    r = schema_field_object(c, config, "classes", false, &classes);
    if (r < 0 || !classes)
        return r;
    mark = schema_enter_key(c, "classes");
    r = schema_known_keys(c, classes, classes_config_keys);
    if (r < 0)
        return r;
    r = schema_field_array(c, classes, "choices", true, &choices);
    if (r < 0)
        return r;
    mark2 = schema_enter_key(c, "choices");
    r = schema_check_names(c, choices, "choice");
    if (r < 0)
        return r;
    schema_leave(c, mark2);
    r = schema_field_bool(c, classes, "multiple", &multiple);
    if (r < 0)
        return r;
    schema_leave(c, mark);
    return 0;
}

int schema_part_configured(struct schema_check *c,
                           const json_t *config,
                           const json_t *result,
                           const char *key)
{
    if (json_object_get(result, key) && !json_is_object(json_object_get(config, key)))
        return schema_reject_key(c, key, "is not configured for this project");
    return 0;
}

int schema_classes_result(struct schema_check *c, const json_t *config, const json_t *result)
{
    const json_t *conf = json_object_get(config, "classes");
    const json_t *list = NULL;
    json_t *choices = NULL, *seen = NULL;
    size_t mark, i;
    int r;

    r = schema_part_configured(c, config, result, "classes");
    if (r < 0)
        return r;
    r = schema_field_array(c, result, "classes", false, &list);
    if (r < 0 || !list)
        return r;
    mark = schema_enter_key(c, "classes");
    if (json_array_size(list) > 1 && !json_is_true(json_object_get(conf, "multiple")))
        return schema_reject(c, "must have at most one choice (multiple is false)");
    r = schema_check_count(c, list, SCHEMA_MAX_ITEMS, "classes");
    if (r < 0)
        return r;
    choices = schema_set_of(json_object_get(conf, "choices"));
    seen = json_object();
    if (!choices || !seen) {
        r = schema_nomem(c);
        goto out;
    }
    for (i = 0; i < json_array_size(list); i++) {
        const json_t *choice = json_array_get(list, i);
        size_t mark2 = schema_enter_index(c, i);

        if (!json_is_string(choice)) {
            r = schema_reject(c, "must be a string");
            goto out;
        }
        if (!schema_set_has(choices, choice)) {
            r = schema_reject(c, "unknown choice '%s'", json_string_value(choice));
            goto out;
        }
        r = schema_set_add(c, seen, choice, "choice");
        if (r < 0)
            goto out;
        schema_leave(c, mark2);
    }
    schema_leave(c, mark);
    r = 0;
out:
    json_decref(choices);
    json_decref(seen);
    return r;
}

void schema_classes_labels(const json_t *result, schema_label_fn emit, void *ctx)
{
    const json_t *list = json_object_get(result, "classes");
    size_t i;

    for (i = 0; i < json_array_size(list); i++) {
        const json_t *choice = json_array_get(list, i);
        if (json_is_string(choice))
            emit(ctx, "classes", json_string_value(choice), "");
    }
}

int schema_check_list(struct schema_check *c,
                      const json_t *obj,
                      const char *key,
                      bool required,
                      size_t max,
                      const char *what,
                      schema_item_fn check,
                      void *ctx)
{
    const json_t *list = NULL;
    size_t mark;
    int r = schema_field_array(c, obj, key, required, &list);

    if (r < 0 || !list)
        return r;
    mark = schema_enter_key(c, key);
    r = schema_check_count(c, list, max, what);
    if (r < 0)
        return r;
    for (size_t i = 0; i < json_array_size(list); i++) {
        size_t item = schema_enter_index(c, i);
        r = check(c, json_array_get(list, i), i, ctx);
        if (r < 0)
            return r;
        schema_leave(c, item);
    }
    schema_leave(c, mark);
    return 0;
}

/* The element check of schema_check_named_list(), with the set it shares. */
struct named_list {
    int (*check)(struct schema_check *c, const json_t *item, json_t *seen);
    json_t *seen;
};

static int check_named_item(struct schema_check *c, const json_t *item, size_t index, void *ctx)
{
    struct named_list *list = ctx;

    (void)index;
    return list->check(c, item, list->seen);
}

int schema_check_named_list(struct schema_check *c,
                            const json_t *obj,
                            const char *key,
                            size_t max,
                            int (*check)(struct schema_check *c, const json_t *item, json_t *seen))
{
    const json_t *list = json_object_get(obj, key);
    struct named_list named = { .check = check };
    int r;

    /* an empty array passes the array check, so this rejects in the same order */
    if (json_is_array(list) && json_array_size(list) == 0)
        return schema_reject_key(c, key, "must not be empty");
    named.seen = json_object();
    if (!named.seen)
        return schema_nomem(c);
    r = schema_check_list(c, obj, key, true, max, key, check_named_item, &named);
    json_decref(named.seen);
    return r;
}
