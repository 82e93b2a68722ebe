#include "core/json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"

int json_depth(const char *p, size_t len)
{
    int depth = 0, max = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                max = depth;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return max;
}

/*
 * Path ("a.b[2]") of the first integer literal in well-formed JSON text that
 * does not fit in 64 bits: jansson stops at the first one and says only
 * "too big integer". A small tokenizer keeps the path to every value.
 */
struct path_frame {
    bool array;
    size_t index;
    const char *key;
    size_t key_len;
};

static bool int_literal_overflows(const char *p, size_t len)
{
    char tmp[64];
    if (len >= sizeof(tmp))
        return true; /* more than 63 digits */
    memcpy(tmp, p, len);
    tmp[len] = '\0';
    errno = 0;
    (void)strtoll(tmp, NULL, 10);
    return errno == ERANGE;
}

static void path_write(const struct path_frame *st, int depth, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < depth && n < size; i++) {
        int w;
        if (st[i].array)
            w = snprintf(out + n, size - n, "[%zu]", st[i].index);
        else
            w = snprintf(out + n, size - n, "%s%.*s", n ? "." : "", (int)st[i].key_len, st[i].key);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

static bool find_overflow_path(const char *p, size_t len, char *out, size_t size)
{
    struct path_frame st[JSON_MAX_DEPTH_DEFAULT * 16];
    int depth = 0;
    bool want_key = false;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (c == '{' || c == '[') {
            if (depth == (int)(sizeof(st) / sizeof(st[0])))
                return false;
            st[depth].array = c == '[';
            st[depth].index = 0;
            st[depth].key = NULL;
            st[depth].key_len = 0;
            depth++;
            want_key = c == '{';
        } else if (c == '}' || c == ']') {
            depth--;
            want_key = false;
        } else if (c == ',') {
            if (depth > 0 && st[depth - 1].array)
                st[depth - 1].index++;
            else
                want_key = true;
        } else if (c == '"') {
            size_t start = ++i;
            while (i < len && p[i] != '"')
                i += p[i] == '\\' ? 2 : 1;
            if (want_key && depth > 0) {
                st[depth - 1].key = p + start;
                st[depth - 1].key_len = i - start;
                want_key = false;
            }
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t start = i;
            bool integer = true;
            while (i + 1 < len && strchr("0123456789+-.eE", p[i + 1])) {
                i++;
                if (p[i] == '.' || p[i] == 'e' || p[i] == 'E')
                    integer = false;
            }
            if (integer && int_literal_overflows(p + start, i - start + 1)) {
                path_write(st, depth, out, size);
                return true;
            }
        }
    }
    return false;
}

int json_parse(const char *p,
               size_t len,
               int max_depth,
               json_t **ret,
               struct json_error_info *ret_info)
{
    if (max_depth > 0 && json_depth(p, len) > max_depth) {
        if (ret_info) {
            snprintf(ret_info->message, sizeof(ret_info->message),
                     "JSON nested deeper than %d levels", max_depth);
            ret_info->path[0] = '\0';
            ret_info->line = ret_info->column = 0;
        }
        return -ERR_TOO_DEEP;
    }
    json_error_t e;
    json_t *v = json_loadb(p, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
    if (!v && json_error_code(&e) == json_error_numeric_overflow) {
        /* well-formed JSON with an integer beyond 64 bits: say where */
        json_t *reals = json_loadb(p, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, NULL);
        if (reals) {
            json_decref(reals);
            if (ret_info) {
                if (!find_overflow_path(p, len, ret_info->path, sizeof(ret_info->path)))
                    ret_info->path[0] = '\0';
                snprintf(ret_info->message, sizeof(ret_info->message),
                         "integer out of range (at most 64 bits)");
                ret_info->line = e.line;
                ret_info->column = e.column;
            }
            return -ERR_INVALID_REQUEST;
        }
    }
    if (!v) {
        if (ret_info) {
            ret_info->path[0] = '\0';
            snprintf(ret_info->message, sizeof(ret_info->message), "%s", e.text);
            ret_info->line = e.line;
            ret_info->column = e.column;
        }
        return -ERR_INVALID_JSON;
    }
    *ret = v;
    return 0;
}

const char *json_get_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

bool json_get_int(const json_t *obj, const char *key, long long *ret)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v))
        return false;
    *ret = json_integer_value(v);
    return true;
}

const char *json_unknown_key(const json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)obj, key, v) {
        bool known = false;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, key) == 0) {
                known = true;
                break;
            }
        if (!known)
            return key;
    }
    return NULL;
}

static int dump_cb(const char *p, size_t len, void *data)
{
    return buf_add(data, p, len) < 0 ? -1 : 0;
}

int json_dump_buf(const json_t *v, struct buf *out)
{
    if (json_dump_callback(v, dump_cb, out, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER) < 0)
        return out->err ? out->err : -EINVAL;
    return out->err;
}

int json_escape(struct buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    buf_grow(out, len + 2);
    buf_addch(out, '"');
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[7];
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c < 0x20 || c == 0x7f) {
            u[0] = '\\', u[1] = 'u', u[2] = '0', u[3] = '0';
            u[4] = hex[c >> 4], u[5] = hex[c & 15], u[6] = '\0';
            esc = u;
        } else if (c == '<' || c == '>' || c == '&') {
            /* keep JSON inert if it ever lands inside HTML */
            u[0] = '\\', u[1] = 'u', u[2] = '0', u[3] = '0';
            u[4] = hex[c >> 4], u[5] = hex[c & 15], u[6] = '\0';
            esc = u;
        }
        if (esc) {
            buf_add(out, s + i - run, run);
            run = 0;
            buf_adds(out, esc);
        } else {
            run++;
        }
    }
    buf_add(out, s + len - run, run);
    return buf_addch(out, '"');
}

/* ---- streaming writer ---- */

void jw_init(struct jw *w, struct buf *out)
{
    memset(w, 0, sizeof(*w));
    w->out = out;
}

static void jw_sep(struct jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth > 0 && w->depth <= JW_MAX_DEPTH) {
        if (w->need_comma[w->depth - 1])
            buf_addch(w->out, ',');
        w->need_comma[w->depth - 1] = true;
    }
}

static void jw_open(struct jw *w, char c)
{
    jw_sep(w);
    buf_addch(w->out, c);
    if (w->depth >= JW_MAX_DEPTH) {
        w->out->err = w->out->err ? w->out->err : -E2BIG;
        return;
    }
    w->need_comma[w->depth++] = false;
}

static void jw_close(struct jw *w, char c)
{
    if (w->depth > 0)
        w->depth--;
    buf_addch(w->out, c);
}

void jw_obj_begin(struct jw *w)
{
    jw_open(w, '{');
}

void jw_obj_end(struct jw *w)
{
    jw_close(w, '}');
}

void jw_arr_begin(struct jw *w)
{
    jw_open(w, '[');
}

void jw_arr_end(struct jw *w)
{
    jw_close(w, ']');
}

void jw_key(struct jw *w, const char *key)
{
    jw_sep(w);
    json_escape(w->out, key, strlen(key));
    buf_addch(w->out, ':');
    w->after_key = true;
}

void jw_strn(struct jw *w, const char *s, size_t len)
{
    jw_sep(w);
    json_escape(w->out, s, len);
}

void jw_str(struct jw *w, const char *s)
{
    if (!s) {
        jw_null(w);
        return;
    }
    jw_strn(w, s, strlen(s));
}

void jw_int(struct jw *w, long long v)
{
    jw_sep(w);
    buf_addf(w->out, "%lld", v);
}

void jw_double(struct jw *w, double v)
{
    jw_sep(w);
    if (!isfinite(v))
        buf_adds(w->out, "null");
    else if (fabs(v) < 1e15 && v == (double)(long long)v)
        buf_addf(w->out, "%lld", (long long)v);
    else
        buf_addf(w->out, "%.17g", v);
}

void jw_bool(struct jw *w, bool v)
{
    jw_sep(w);
    buf_adds(w->out, v ? "true" : "false");
}

void jw_null(struct jw *w)
{
    jw_sep(w);
    buf_adds(w->out, "null");
}

void jw_time(struct jw *w, int64_t ms)
{
    if (ms < 0) {
        jw_null(w);
        return;
    }
    char t[CLOCK_RFC3339_LEN + 1];
    clock_format(ms, t);
    jw_sep(w);
    buf_addch(w->out, '"');
    buf_adds(w->out, t);
    buf_addch(w->out, '"');
}

void jw_raw(struct jw *w, const char *json, size_t len)
{
    jw_sep(w);
    if (!json || len == 0)
        buf_adds(w->out, "null");
    else
        buf_add(w->out, json, len);
}

void jw_json(struct jw *w, const json_t *v)
{
    jw_sep(w);
    if (!v)
        buf_adds(w->out, "null");
    else
        json_dump_buf(v, w->out);
}

void jw_kstr(struct jw *w, const char *key, const char *s)
{
    jw_key(w, key);
    jw_str(w, s);
}

void jw_kint(struct jw *w, const char *key, long long v)
{
    jw_key(w, key);
    jw_int(w, v);
}

void jw_kbool(struct jw *w, const char *key, bool v)
{
    jw_key(w, key);
    jw_bool(w, v);
}

void jw_ktime(struct jw *w, const char *key, int64_t ms)
{
    jw_key(w, key);
    jw_time(w, ms);
}

void jw_kraw(struct jw *w, const char *key, const char *json, size_t len)
{
    jw_key(w, key);
    jw_raw(w, json, len);
}
