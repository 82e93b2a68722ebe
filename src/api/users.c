/*
 * users.c: the org's people and their roles.
 */
#include <stdbool.h>
#include <string.h>

#include "api/api.h"
#include "core/clock.h"
#include "core/err.h"

static const char *const user_keys[] = { "login", "password", "name", "role", "org", NULL };

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

static int reply_user(struct request *req, int status, int64_t org_id, int64_t id)
{
    struct user_read c = { .org_id = org_id, .id = id, .a = &req->arena };
    int r = store_read(api_app(req)->store, user_read_fn, &c);
    if (r < 0)
        return reply_errno(req, r);
    struct buf b;
    buf_init(&b, 0);
    struct jw w;
    jw_init(&w, &b);
    user_to_json(&w, &c.u);
    return reply_json(req, status, &b);
}

int api_users_create(struct request *req)
{
    json_t *body;
    const char *login, *password, *name, *role;
    int64_t org_id;
    if (parse_body_object(req, &body) < 0 || check_keys_or_reply(req, body, user_keys) < 0 ||
        target_org_or_reply(req, body, &org_id) < 0 ||
        get_string_or_reply(req, body, "login", true, &login) < 0 ||
        get_string_or_reply(req, body, "password", true, &password) < 0 ||
        get_string_or_reply(req, body, "name", true, &name) < 0 ||
        get_string_or_reply(req, body, "role", true, &role) < 0)
        return HTTP_DONE;
    const char *msg;
    if ((msg = auth_check_login(login)))
        return reply_invalid(req, "login", "%s", msg);
    if ((msg = auth_check_password(password)))
        return reply_invalid(req, "password", "%s", msg);
    if ((msg = auth_check_name(name)))
        return reply_invalid(req, "name", "%s", msg);
    if (!auth_role_valid(role))
        return reply_invalid(req, "role", "must be one of owner, manager, reviewer, annotator, viewer");
    if (strcmp(role, "owner") == 0 && !http_has_role(req, ROLE_OWNER)) {
        http_reply_error(req, 403, "forbidden", "only an owner may create owners", "role");
        return HTTP_DONE;
    }
    int64_t id;
    int r = auth_user_create(api_app(req)->store, org_id, login, password, name, role, &id);
    if (r == -ERR_CONFLICT) {
        http_reply_error(req, 409, "conflict", "the login is taken", "login");
        return HTTP_DONE;
    }
    if (r < 0)
        return reply_errno(req, r);
    return reply_user(req, 201, org_id, id);
}

struct user_list {
    int64_t org_id, after;
    int limit;
    struct arena *a;
    struct store_user *items;
    int n;
};

static int user_list_fn(struct store_tx *tx, void *ctx)
{
    struct user_list *c = ctx;
    return store_user_list(tx, c->org_id, c->after, c->limit, c->a, &c->items, &c->n);
}

int api_users_list(struct request *req)
{
    struct user_list c = { .org_id = req->principal.org_id, .a = &req->arena };
    if (parse_list_args(req, &c.after, &c.limit) < 0)
        return HTTP_DONE;
    int r = store_read(api_app(req)->store, user_list_fn, &c);
    if (r < 0)
        return reply_errno(req, r);
    struct buf b;
    struct jw w;
    list_begin(&w, &b);
    for (int i = 0; i < c.n; i++)
        user_to_json(&w, &c.items[i]);
    list_end(&w, c.n, c.limit, c.n ? c.items[c.n - 1].id : 0);
    return reply_json(req, 200, &b);
}

int api_users_get(struct request *req)
{
    int64_t id;
    if (param_id_or_reply(req, 0, &id) < 0)
        return HTTP_DONE;
    if (id != req->principal.user_id && !http_has_role(req, ROLES_MANAGE))
        return reply_errno(req, -ERR_FORBIDDEN);
    return reply_user(req, 200, req->principal.org_id, id);
}

/* ---- PATCH /users/{id}: role and name ---- */

static const char *const user_patch_keys[] = { "role", "name", NULL };

/* Roles by power, to tell a raise from a lowering. */
static int role_rank(const char *role)
{
    static const char *const order[] = { "viewer", "annotator", "reviewer", "manager", "owner" };
    for (int i = 0; i < 5; i++)
        if (strcmp(role, order[i]) == 0)
            return i + 1;
    return 0;
}

struct user_update {
    int64_t org_id, id, by_user;
    const char *seen_role, *role, *name;
};

static int user_update_fn(struct store_tx *tx, void *ctx)
{
    struct user_update *c = ctx;
    return store_user_update(tx, c->org_id, c->id, c->seen_role, c->role, c->name, c->by_user,
                             clock_now_ms());
}

/*
 * The rules of POST /users hold: only an owner makes owners, and only an
 * owner changes one; nobody raises their own role; the org keeps an owner.
 */
int api_users_update(struct request *req)
{
    int64_t id;
    json_t *body;
    const char *role, *name;
    if (param_id_or_reply(req, 0, &id) < 0 || parse_body_object(req, &body) < 0 ||
        check_keys_or_reply(req, body, user_patch_keys) < 0 ||
        get_string_or_reply(req, body, "role", false, &role) < 0 ||
        get_string_or_reply(req, body, "name", false, &name) < 0)
        return HTTP_DONE;
    if (!role && !name)
        return reply_invalid(req, "", "nothing to change: role or name");
    const char *msg;
    if (name && (msg = auth_check_name(name)))
        return reply_invalid(req, "name", "%s", msg);
    if (role && !auth_role_valid(role))
        return reply_invalid(req, "role", "must be one of owner, manager, reviewer, annotator, viewer");

    struct user_read cur = { .org_id = req->principal.org_id, .id = id, .a = &req->arena };
    int r = store_read(api_app(req)->store, user_read_fn, &cur);
    if (r < 0)
        return reply_errno(req, r);
    bool owner = http_has_role(req, ROLE_OWNER);
    if (role && strcmp(role, "owner") == 0 && !owner) {
        http_reply_error(req, 403, "forbidden", "only an owner may make owners", "role");
        return HTTP_DONE;
    }
    if (strcmp(cur.u.role, "owner") == 0 && !owner) {
        http_reply_error(req, 403, "forbidden", "only an owner may change an owner", NULL);
        return HTTP_DONE;
    }
    if (role && id == req->principal.user_id && role_rank(role) > role_rank(cur.u.role)) {
        http_reply_error(req, 403, "forbidden", "a user may not raise their own role", "role");
        return HTTP_DONE;
    }

    struct user_update c = { .org_id = req->principal.org_id, .id = id,
                             .by_user = req->principal.user_id, .seen_role = cur.u.role,
                             .role = role, .name = name };
    r = store_write(api_app(req)->store, user_update_fn, &c);
    if (r == -ERR_CONFLICT) {
        bool demotes_owner = role && strcmp(cur.u.role, "owner") == 0 && strcmp(role, "owner") != 0;
        http_reply_error(req, 409, "conflict",
                         demotes_owner ? "the org must keep at least one owner"
                                       : "the user's role changed meanwhile; read it again",
                         "role");
        return HTTP_DONE;
    }
    if (r < 0)
        return reply_errno(req, r);
    return reply_user(req, 200, req->principal.org_id, id);
}
