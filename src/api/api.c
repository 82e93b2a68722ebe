/*
 * api.c: helpers shared by the handlers, and the authenticator.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "core/err.h"
#include "core/log.h"

/* ---- answering ---- */

static int err_status(int err)
{
    switch (err < 0 ? -err : err) {
    case ERR_INVALID_JSON:
    case ERR_INVALID_REQUEST:
    case ERR_INVALID_RESULT:
    case EINVAL:
        return 400;
    case ERR_UNAUTHORIZED:
        return 401;
    case ERR_FORBIDDEN:
    case EACCES:
    case EPERM:
        return 403;
    case ERR_NOT_FOUND:
    case ENOENT:
        return 404;
    case ERR_CONFLICT:
    case EEXIST:
        return 409;
    case ERR_TOO_LARGE:
    case ERR_TOO_DEEP:
    case E2BIG:
        return 413;
    case ERR_UNSUPPORTED_MEDIA:
        return 415;
    case ERR_LOCKED:
        return 429;
    case ERR_UNAVAILABLE:
    case EBUSY:
        return 503;
    default:
        return 500;
    }
}

int reply_errno(struct request *req, int err)
{
    int status = err_status(err);
    if (status >= 500)
        log_error("failed to handle '%s %s': %s", req->method, req->path, err_str(err));
    http_reply_error(req, status, status == 503 ? "unavailable" : err_code(err), err_str(err), NULL);
    return HTTP_DONE;
}

int reply_invalid(struct request *req, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    http_reply_error(req, 400, "invalid_request", msg, path && *path ? path : NULL);
    return HTTP_DONE;
}

int reply_json(struct request *req, int status, struct buf *b)
{
    http_reply_json(req, status, b);
    return HTTP_DONE;
}

/* ---- parsing ---- */

static void decref(void *v)
{
    json_decref(v);
}

int parse_body_object(struct request *req, json_t **ret)
{
    struct api_app *app = api_app(req);
    json_t *v;
    struct json_error_info info;
    if (req->body.len == 0) {
        reply_invalid(req, NULL, "a JSON object body is required");
        return -ERR_INVALID_REQUEST;
    }
    int r = json_parse(req->body.p, req->body.len, app->limits.max_json_depth, &v, &info);
    if (r == -ERR_TOO_DEEP) {
        http_reply_error(req, 413, "too_large", info.message, NULL);
        return r;
    }
    if (r == -ERR_INVALID_REQUEST) {
        reply_invalid(req, info.path, "%s", info.message);
        return r;
    }
    if (r < 0) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s (line %ld, column %ld)", info.message, info.line, info.column);
        http_reply_error(req, 400, "invalid_json", msg, NULL);
        return r;
    }
    if (arena_defer(&req->arena, decref, v) < 0) {
        json_decref(v);
        reply_errno(req, -ENOMEM);
        return -ENOMEM;
    }
    if (!json_is_object(v)) {
        reply_invalid(req, NULL, "the body must be a JSON object");
        return -ERR_INVALID_REQUEST;
    }
    *ret = v;
    return 0;
}

static int query_int64(struct request *req, const char *name, long long def, long long min,
                       long long max, long long *ret)
{
    const char *s = http_query(req, name);
    if (!s) {
        *ret = def;
        return 0;
    }
    long long v;
    if (str_to_int64(str_from(s), &v) < 0 || v < min || v > max) {
        reply_invalid(req, name, "must be an integer from %lld to %lld", min, max);
        return -ERR_INVALID_REQUEST;
    }
    *ret = v;
    return 0;
}

int parse_list_args(struct request *req, int64_t *ret_after, int *ret_limit)
{
    long long after, limit;
    if (query_int64(req, "after", 0, 0, INT64_MAX, &after) < 0 ||
        query_int64(req, "limit", 100, 1, 1000, &limit) < 0)
        return -ERR_INVALID_REQUEST;
    *ret_after = after;
    *ret_limit = (int)limit;
    return 0;
}

int param_id_or_reply(struct request *req, int i, int64_t *ret)
{
    if (http_param_id(req, i, ret) < 0) {
        http_reply_error(req, 404, "not_found", "no such object", NULL);
        return -ERR_NOT_FOUND;
    }
    return 0;
}

int check_keys_or_reply(struct request *req, const json_t *obj, const char *const *allowed)
{
    const char *unknown = json_unknown_key(obj, allowed);
    if (unknown) {
        reply_invalid(req, unknown, "unknown field");
        return -ERR_INVALID_REQUEST;
    }
    return 0;
}

int get_string_or_reply(struct request *req, const json_t *obj, const char *key, bool required,
                        const char **ret)
{
    json_t *v = json_object_get(obj, key);
    if (!v && !required) {
        *ret = NULL;
        return 0;
    }
    if (!json_is_string(v)) {
        reply_invalid(req, key, required && !v ? "required" : "must be a string");
        return -ERR_INVALID_REQUEST;
    }
    *ret = json_string_value(v);
    return 0;
}

struct org_exists {
    int64_t id;
    struct arena *a;
};

static int org_exists_fn(struct store_tx *tx, void *ctx)
{
    struct org_exists *c = ctx;
    struct store_org o;
    return store_org_get(tx, c->id, c->a, &o);
}

int target_org_or_reply(struct request *req, json_t *body, int64_t *ret)
{
    json_t *org = json_object_get(body, "org");
    if (!org) {
        *ret = req->principal.org_id;
        return 0;
    }
    if (!json_is_integer(org) || json_integer_value(org) < 1) {
        reply_invalid(req, "org", "must be an org id");
        return -ERR_INVALID_REQUEST;
    }
    int64_t id = json_integer_value(org);
    json_object_del(body, "org");
    if (id == req->principal.org_id) {
        *ret = id;
        return 0;
    }
    if (!http_has_role(req, ROLE_ADMIN)) {
        http_reply_error(req, 403, "forbidden", "only the platform admin may act in another org", "org");
        return -ERR_FORBIDDEN;
    }
    struct org_exists c = { .id = id, .a = &req->arena };
    int r = store_read(api_app(req)->store, org_exists_fn, &c);
    if (r < 0) {
        if (r == -ERR_NOT_FOUND)
            http_reply_error(req, 404, "not_found", "no such org", "org");
        else
            reply_errno(req, r);
        return r;
    }
    *ret = id;
    return 0;
}

void list_begin(struct jw *w, struct buf *b)
{
    buf_init(b, 0);
    jw_init(w, b);
    jw_obj_begin(w);
    jw_key(w, "items");
    jw_arr_begin(w);
}

void list_end(struct jw *w, int n, int limit, int64_t last_id)
{
    jw_arr_end(w);
    jw_key(w, "next_after");
    if (n > 0 && n == limit)
        jw_int(w, last_id);
    else
        jw_null(w);
    jw_obj_end(w);
}

void user_to_json(struct jw *w, const struct store_user *u)
{
    jw_obj_begin(w);
    jw_kint(w, "id", u->id);
    jw_kstr(w, "login", u->login);
    jw_kstr(w, "name", u->name);
    jw_kstr(w, "role", u->role);
    jw_kbool(w, "admin", u->is_admin);
    jw_key(w, "org");
    jw_obj_begin(w);
    jw_kint(w, "id", u->org_id);
    jw_kstr(w, "name", u->org_name);
    jw_obj_end(w);
    jw_ktime(w, "created_at", u->created_at);
    jw_obj_end(w);
}

/* ---- authentication ---- */

int api_authenticate(void *appp,
                     struct request *req,
                     const char *token,
                     const char *csrf,
                     bool via_cookie,
                     struct http_principal *ret)
{
    struct api_app *app = appp;
    struct store_token t;
    struct store_user u;
    int r = auth_check_token(app->store, token, &req->arena, &t, &u);
    if (r < 0)
        return r == -ERR_UNAUTHORIZED ? r : -ERR_UNAVAILABLE;
    bool safe = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0 ||
                strcmp(req->method, "OPTIONS") == 0;
    if (via_cookie && !safe) {
        char hash[AUTH_HASH_HEX + 1];
        if (!csrf || !t.csrf_hash || !*t.csrf_hash)
            return -ERR_FORBIDDEN;
        auth_token_hash(csrf, hash);
        if (!auth_hash_equal(hash, t.csrf_hash))
            return -ERR_FORBIDDEN;
    }
    ret->user_id = u.id;
    ret->org_id = u.org_id;
    ret->token_id = t.id;
    ret->roles = auth_role_bit(u.role) | (u.is_admin ? ROLE_ADMIN : 0);
    ret->via_cookie = via_cookie;
    ret->login = u.login;
    return 0;
}
