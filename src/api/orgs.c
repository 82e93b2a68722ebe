/*
 * orgs.c: tenants. The platform admin creates orgs with their first owner.
 */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "core/err.h"
#include "core/utf8.h"

static const char *const org_keys[] = { "name", "owner", NULL };
static const char *const owner_keys[] = { "login", "password", "name", NULL };

static void org_to_json(struct jw *w, const struct store_org *o)
{
    jw_obj_begin(w);
    jw_kint(w, "id", o->id);
    jw_kstr(w, "name", o->name);
    jw_ktime(w, "created_at", o->created_at);
    jw_obj_end(w);
}

struct org_read {
    int64_t id;
    struct arena *a;
    struct store_org org;
    struct store_user owner;
    int64_t owner_id;
};

static int org_read_fn(struct store_tx *tx, void *ctx)
{
    struct org_read *c = ctx;
    int r = store_org_get(tx, c->id, c->a, &c->org);
    if (r < 0 || !c->owner_id)
        return r;
    return store_user_get(tx, c->id, c->owner_id, c->a, &c->owner);
}

int api_orgs_create(struct request *req)
{
    json_t *body;
    const char *name, *login, *password, *owner_name;
    if (parse_body_object(req, &body) < 0 || check_keys_or_reply(req, body, org_keys) < 0 ||
        get_string_or_reply(req, body, "name", true, &name) < 0)
        return HTTP_DONE;
    json_t *owner = json_object_get(body, "owner");
    if (!json_is_object(owner))
        return reply_invalid(req, "owner", "required, an object");
    const char *unknown = json_unknown_key(owner, owner_keys);
    if (unknown) {
        char path[128];
        snprintf(path, sizeof(path), "owner.%s", unknown);
        return reply_invalid(req, path, "unknown field");
    }
    login = json_get_str(owner, "login");
    password = json_get_str(owner, "password");
    owner_name = json_get_str(owner, "name");
    const char *msg;
    if (!*name || utf8_count(name, strlen(name)) > 200)
        return reply_invalid(req, "name", "must be 1 to 200 characters");
    if ((msg = auth_check_login(login)))
        return reply_invalid(req, "owner.login", "%s", msg);
    if ((msg = auth_check_password(password)))
        return reply_invalid(req, "owner.password", "%s", msg);
    if (!owner_name)
        owner_name = login;
    if ((msg = auth_check_name(owner_name)))
        return reply_invalid(req, "owner.name", "%s", msg);

    struct api_app *app = api_app(req);
    int64_t org_id, user_id;
    int r = auth_org_create(app->store, name, login, password, owner_name, false, &org_id, &user_id);
    if (r == -ERR_CONFLICT) {
        http_reply_error(req, 409, "conflict", "the org name or the owner's login is taken", NULL);
        return HTTP_DONE;
    }
    if (r < 0)
        return reply_errno(req, r);

    struct org_read c = { .id = org_id, .owner_id = user_id, .a = &req->arena };
    r = store_read(app->store, org_read_fn, &c);
    if (r < 0)
        return reply_errno(req, r);
    struct buf b;
    buf_init(&b, 0);
    struct jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kint(&w, "id", c.org.id);
    jw_kstr(&w, "name", c.org.name);
    jw_ktime(&w, "created_at", c.org.created_at);
    jw_key(&w, "owner");
    user_to_json(&w, &c.owner);
    jw_obj_end(&w);
    return reply_json(req, 201, &b);
}

struct org_list {
    int64_t after;
    int limit;
    struct arena *a;
    struct store_org *items;
    int n;
};

static int org_list_fn(struct store_tx *tx, void *ctx)
{
    struct org_list *c = ctx;
    return store_org_list(tx, c->after, c->limit, c->a, &c->items, &c->n);
}

int api_orgs_list(struct request *req)
{
    struct org_list c = { .a = &req->arena };
    if (parse_list_args(req, &c.after, &c.limit) < 0)
        return HTTP_DONE;
    int r = store_read(api_app(req)->store, org_list_fn, &c);
    if (r < 0)
        return reply_errno(req, r);
    struct buf b;
    struct jw w;
    list_begin(&w, &b);
    for (int i = 0; i < c.n; i++)
        org_to_json(&w, &c.items[i]);
    list_end(&w, c.n, c.limit, c.n ? c.items[c.n - 1].id : 0);
    return reply_json(req, 200, &b);
}

int api_orgs_get(struct request *req)
{
    int64_t id;
    if (param_id_or_reply(req, 0, &id) < 0)
        return HTTP_DONE;
    /* members see their own org; the platform admin sees every org */
    if (id != req->principal.org_id && !http_has_role(req, ROLE_ADMIN))
        return reply_errno(req, -ERR_NOT_FOUND);
    struct org_read c = { .id = id, .a = &req->arena };
    int r = store_read(api_app(req)->store, org_read_fn, &c);
    if (r < 0)
        return reply_errno(req, r);
    struct buf b;
    buf_init(&b, 0);
    struct jw w;
    jw_init(&w, &b);
    org_to_json(&w, &c.org);
    return reply_json(req, 200, &b);
}
