/*
 * JSON in and out.
 *
 * In: jansson, from a size-checked buffer. json_parse() rejects duplicate
 * keys, invalid UTF-8, NUL in strings and nesting deeper than max_depth, and
 * says where the input went wrong.
 *
 * Out: struct jw, a streaming writer into a struct buf for hot paths
 * (lists, exports). It tracks commas itself; the caller only says what comes
 * next. Errors are the buffer's sticky error.
 */
#ifndef ANNOTD_CORE_JSON_H
#define ANNOTD_CORE_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/str.h"

#define JSON_MAX_DEPTH_DEFAULT 64

struct json_error_info {
    char message[160];
    char path[128]; /* set with -ERR_INVALID_REQUEST: where a number is out of range */
    long line;
    long column;
};

/*
 * Parse p[0..len) as one JSON value (any type). Returns 0 and *ret (owned by
 * the caller: json_decref) on success; -ERR_INVALID_JSON, -ERR_TOO_DEEP, or
 * -ERR_INVALID_REQUEST (well-formed, but an integer does not fit in 64 bits:
 * ret_info->path says where) on failure, with *ret_info filled when not NULL.
 */
int json_parse(const char *p,
               size_t len,
               int max_depth,
               json_t **ret,
               struct json_error_info *ret_info);

/* Depth of the deepest nesting of arrays/objects (strings skipped). */
int json_depth(const char *p, size_t len);

/* Accessors that accept NULL and wrong types, answering "absent". */
const char *json_get_str(const json_t *obj, const char *key);
bool json_get_int(const json_t *obj, const char *key, long long *ret);

/*
 * Check that every key of `obj` is one of the NULL-terminated `allowed`.
 * Returns NULL when all are known, else the first unknown key.
 */
const char *json_unknown_key(const json_t *obj, const char *const *allowed);

/* Append the compact serialisation of v (keys in insertion order). */
int json_dump_buf(const json_t *v, struct buf *out);

/* ---- streaming writer ---- */

#define JW_MAX_DEPTH 32

struct jw {
    struct buf *out;
    int depth;
    bool need_comma[JW_MAX_DEPTH];
    bool after_key;
};

void jw_init(struct jw *w, struct buf *out);
void jw_obj_begin(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w);
void jw_arr_end(struct jw *w);
void jw_key(struct jw *w, const char *key);
void jw_str(struct jw *w, const char *s);            /* NULL writes null */
void jw_strn(struct jw *w, const char *s, size_t len);
void jw_int(struct jw *w, long long v);
void jw_double(struct jw *w, double v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
void jw_time(struct jw *w, int64_t ms);              /* RFC 3339 string; <0 writes null */
/* Already-serialised, trusted JSON (from our own store). */
void jw_raw(struct jw *w, const char *json, size_t len);
void jw_json(struct jw *w, const json_t *v);

/* key + value shorthands */
void jw_kstr(struct jw *w, const char *key, const char *s);
void jw_kint(struct jw *w, const char *key, long long v);
void jw_kbool(struct jw *w, const char *key, bool v);
void jw_ktime(struct jw *w, const char *key, int64_t ms);
void jw_kraw(struct jw *w, const char *key, const char *json, size_t len);

/* Escape s as a JSON string (with quotes) into out. s must be valid UTF-8: bytes pass through. */
int json_escape(struct buf *out, const char *s, size_t len);

#endif
