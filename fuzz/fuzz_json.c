/*
 * libFuzzer target for JSON in and out (src/core/json).
 *
 * Input: any bytes, parsed with json_parse() at the default depth limit.
 * Contract checks (abort on violation, besides sanitizer reports):
 * - json_parse() returns 0, -ERR_INVALID_JSON, -ERR_TOO_DEEP or
 *   -ERR_INVALID_REQUEST (an integer beyond 64 bits), and says
 *   -ERR_TOO_DEEP exactly when json_depth() is over the limit; its message
 *   (and path) are always terminated strings.
 * - A parsed value written back with jw_json() parses again, to an equal
 *   value of the same depth, and writing that gives the same bytes.
 * - The same value written with the streaming primitives (jw_obj_begin,
 *   jw_key, jw_strn, jw_int, jw_double ...) also parses again, to a value
 *   that is equal up to the integer/real spelling of numbers.
 */
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_DEPTH JSON_MAX_DEPTH_DEFAULT

/* Write v with the streaming primitives only. */
static void write_value(struct jw *w, const json_t *v)
{
    const char *key;
    json_t *item;
    size_t i;

    switch (json_typeof(v)) {
    case JSON_OBJECT:
        jw_obj_begin(w);
        json_object_foreach((json_t *)v, key, item) {
            jw_key(w, key);
            write_value(w, item);
        }
        jw_obj_end(w);
        break;
    case JSON_ARRAY:
        jw_arr_begin(w);
        json_array_foreach(v, i, item)
            write_value(w, item);
        jw_arr_end(w);
        break;
    case JSON_STRING:
        jw_strn(w, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        jw_int(w, json_integer_value(v));
        break;
    case JSON_REAL:
        jw_double(w, json_real_value(v));
        break;
    case JSON_TRUE:
        jw_bool(w, true);
        break;
    case JSON_FALSE:
        jw_bool(w, false);
        break;
    case JSON_NULL:
        jw_null(w);
        break;
    }
}

/* json_equal(), except that numbers compare by value (jw_double(3.0) writes 3). */
static bool same(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b))
            return json_integer_value(a) == json_integer_value(b);
        return json_number_value(a) == json_number_value(b);
    }
    if (json_typeof(a) != json_typeof(b))
        return false;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!same(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    if (json_is_object(a)) {
        const char *key;
        json_t *item;
        if (json_object_size(a) != json_object_size(b))
            return false;
        json_object_foreach((json_t *)a, key, item) {
            json_t *other = json_object_get(b, key);
            if (!other || !same(item, other))
                return false;
        }
        return true;
    }
    return json_equal((json_t *)a, (json_t *)b);
}

static json_t *reparse(const struct buf *b, int depth)
{
    json_t *v = NULL;
    struct json_error_info info;

    if (b->err != 0)
        abort();
    if (json_parse(b->p, b->len, MAX_DEPTH, &v, &info) != 0)
        abort();
    if (json_depth(b->p, b->len) != depth)
        abort();
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    struct json_error_info info;
    json_t *v = NULL;
    struct buf b, b2;
    struct jw w;

    int depth = json_depth(p, size);
    memset(&info, 0xa5, sizeof(info));
    int r = json_parse(p, size, MAX_DEPTH, &v, &info);
    if (r < 0) {
        if (v != NULL)
            abort();
        if (r != -ERR_INVALID_JSON && r != -ERR_TOO_DEEP && r != -ERR_INVALID_REQUEST)
            abort();
        if (memchr(info.message, '\0', sizeof(info.message)) == NULL || info.message[0] == '\0')
            abort();
        if (r == -ERR_INVALID_REQUEST && memchr(info.path, '\0', sizeof(info.path)) == NULL)
            abort();
        if ((r == -ERR_TOO_DEEP) != (depth > MAX_DEPTH))
            abort();
        return 0;
    }
    if (r != 0 || v == NULL || depth > MAX_DEPTH)
        abort();

    /* out with jw_json (jansson's dump), in again */
    buf_init(&b, 0);
    jw_init(&w, &b);
    jw_json(&w, v);
    json_t *v2 = reparse(&b, depth);
    if (!json_equal(v, v2))
        abort();
    /* writing is deterministic */
    buf_init(&b2, 0);
    if (json_dump_buf(v2, &b2) != 0 || b2.len != b.len || memcmp(b.p, b2.p, b.len) != 0)
        abort();
    buf_release(&b2);
    json_decref(v2);

    /* out with the streaming primitives, in again */
    if (depth <= JW_MAX_DEPTH) {
        buf_init(&b2, 0);
        jw_init(&w, &b2);
        write_value(&w, v);
        json_t *v3 = reparse(&b2, depth);
        if (!same(v, v3))
            abort();
        json_decref(v3);
        buf_release(&b2);
    }

    buf_release(&b);
    json_decref(v);
    return 0;
}
