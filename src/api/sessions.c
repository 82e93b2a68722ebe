/*
 * sessions.c: login, logout, me, and API tokens.
 */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "core/clock.h"
#include "core/err.h"

static const char *const login_keys[] = { "login", "password", NULL };

int api_login(struct request *req)
{
    struct api_app *app = api_app(req);
    json_t *body;
    const char *login, *password;
    if (parse_body_object(req, &body) < 0 || check_keys_or_reply(req, body, login_keys) < 0 ||
        get_string_or_reply(req, body, "login", true, &login) < 0 ||
        get_string_or_reply(req, body, "password", true, &password) < 0)
        return HTTP_DONE;
    if (strlen(password) > AUTH_PASSWORD_MAX || strlen(login) > 256) {
        http_reply_error(req, 401, "unauthorized", "wrong login or password", NULL);
        return HTTP_DONE;
    }

    struct auth_session s;
    int64_t retry_ms = 0;
    int r = auth_login(app->store, login, password, app->session_ttl_ms, &req->arena, &s, &retry_ms);
    if (r == -ERR_UNAUTHORIZED) {
        http_reply_error(req, 401, "unauthorized", "wrong login or password", NULL);
        return HTTP_DONE;
    }
    if (r == -ERR_LOCKED) {
        char retry[32];
        snprintf(retry, sizeof(retry), "%lld", (long long)((retry_ms + 999) / 1000));
        http_add_header(req, "Retry-After", retry);
        http_reply_error(req, 429, "locked", "too many failed logins; the account is locked for a while",
                         NULL);
        return HTTP_DONE;
    }
    if (r < 0)
        return reply_errno(req, r);

    char cookie[256];
    snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s",
             app->cookie_name, s.token, (long long)(app->session_ttl_ms / 1000),
             app->secure_cookie ? "; Secure" : "");
    http_add_header(req, "Set-Cookie", cookie);

    struct buf b;
    buf_init(&b, 0);
    struct jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kstr(&w, "token", s.token);
    jw_kstr(&w, "csrf_token", s.csrf);
    jw_ktime(&w, "expires_at", s.expires_at);
    jw_key(&w, "user");
    user_to_json(&w, &s.user);
    jw_obj_end(&w);
    return reply_json(req, 200, &b);
}

struct token_del {
    int64_t user_id, id;
};

static int token_del_fn(struct store_tx *tx, void *ctx)
{
    struct token_del *c = ctx;
    return store_token_delete(tx, c->user_id, c->id);
}

int api_logout(struct request *req)
{
    struct api_app *app = api_app(req);
    struct token_del c = { .user_id = req->principal.user_id, .id = req->principal.token_id };
    int r = store_write(app->store, token_del_fn, &c);
    if (r < 0 && r != -ERR_NOT_FOUND)
        return reply_errno(req, r);
    char cookie[160];
    snprintf(cookie, sizeof(cookie), "%s=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
             app->cookie_name);
    http_add_header(req, "Set-Cookie", cookie);
    http_reply_empty(req, 204);
    return HTTP_DONE;
}

struct user_read {
    int64_t org_id, id;
    struct arena *a;
    struct store_user u;
};

static int user_read_fn(struct store_tx *tx, void *ctx)
{
    struct user_read *c = ctx;
    return store_user_get(tx, c->org_id, c->id, c->a, &c->u);
}

int api_me(struct request *req)
{
    struct user_read c = { .id = req->principal.user_id, .a = &req->arena };
    int r = store_read(api_app(req)->store, user_read_fn, &c);
    if (r < 0)
        return reply_errno(req, r);
    struct buf b;
    buf_init(&b, 0);
    struct jw w;
    jw_init(&w, &b);
    user_to_json(&w, &c.u);
    return reply_json(req, 200, &b);
}

/* ---- API tokens ---- */

static const char *const token_keys[] = { "name", "expires_in_days", NULL };

int api_tokens_create(struct request *req)
{
    json_t *body;
    const char *name;
    if (parse_body_object(req, &body) < 0 || check_keys_or_reply(req, body, token_keys) < 0 ||
        get_string_or_reply(req, body, "name", true, &name) < 0)
        return HTTP_DONE;
    if (!*name || strlen(name) > 200)
        return reply_invalid(req, "name", "must be 1 to 200 bytes");
    json_t *days = json_object_get(body, "expires_in_days");
    int64_t now = clock_now_ms(), expires_at = 0;
    if (days) {
        if (!json_is_integer(days) || json_integer_value(days) < 1 || json_integer_value(days) > 3650)
            return reply_invalid(req, "expires_in_days", "must be an integer from 1 to 3650");
        expires_at = now + json_integer_value(days) * 86400000LL;
    }
    char token[AUTH_TOKEN_LEN + 1];
    int64_t id;
    int r = auth_token_create(api_app(req)->store, req->principal.user_id, "api", name, expires_at,
                              token, &id);
    if (r < 0)
        return reply_errno(req, r);
    struct buf b;
    buf_init(&b, 0);
    struct jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kint(&w, "id", id);
    jw_kstr(&w, "name", name);
    jw_kstr(&w, "token", token);
    jw_ktime(&w, "created_at", now);
    jw_ktime(&w, "expires_at", expires_at ? expires_at : -1);
    jw_obj_end(&w);
    return reply_json(req, 201, &b);
}

struct token_list {
    int64_t user_id;
    struct arena *a;
    struct store_token *items;
    int n;
};

static int token_list_fn(struct store_tx *tx, void *ctx)
{
    struct token_list *c = ctx;
    return store_token_list(tx, c->user_id, "api", c->a, &c->items, &c->n);
}

int api_tokens_list(struct request *req)
{
    struct token_list c = { .user_id = req->principal.user_id, .a = &req->arena };
    int r = store_read(api_app(req)->store, token_list_fn, &c);
    if (r < 0)
        return reply_errno(req, r);
    struct buf b;
    struct jw w;
    list_begin(&w, &b);
    for (int i = 0; i < c.n; i++) {
        jw_obj_begin(&w);
        jw_kint(&w, "id", c.items[i].id);
        jw_kstr(&w, "name", c.items[i].name);
        jw_ktime(&w, "created_at", c.items[i].created_at);
        jw_ktime(&w, "expires_at", c.items[i].expires_at ? c.items[i].expires_at : -1);
        jw_obj_end(&w);
    }
    list_end(&w, c.n, 0, 0); /* one page: every token of the caller */
    return reply_json(req, 200, &b);
}

int api_tokens_delete(struct request *req)
{
    int64_t id;
    if (param_id_or_reply(req, 0, &id) < 0)
        return HTTP_DONE;
    struct token_del c = { .user_id = req->principal.user_id, .id = id };
    int r = store_write(api_app(req)->store, token_del_fn, &c);
    if (r < 0)
        return reply_errno(req, r);
    http_reply_empty(req, 204);
    return HTTP_DONE;
}
