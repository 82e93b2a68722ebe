/*
 * projects.c: projects of the caller's org.
 */
#include <stdio.h>

#include "api/api.h"
#include "core/clock.h"
#include "core/err.h"
#include "project/project.h"

static int reply_project(struct request *req, int status, int64_t org_id, int64_t id)
{
    struct store_project p;
    int r = project_get(api_app(req)->store, org_id, id, &req->arena, &p);
    if (r < 0)
        return reply_errno(req, r);
    struct buf b;
    buf_init(&b, 0);
    project_to_json(&b, &p);
    return reply_json(req, status, &b);
}

int api_projects_create(struct request *req)
{
    json_t *body;
    int64_t org_id;
    if (parse_body_object(req, &body) < 0 || target_org_or_reply(req, body, &org_id) < 0)
        return HTTP_DONE;
    struct project_spec spec;
    struct schema_error err = { "", "" };
    if (project_parse(body, &spec, &err) < 0)
        return reply_invalid(req, err.path, "%s", err.message);
    int64_t id;
    int r = project_create(api_app(req)->store, org_id, req->principal.user_id, &spec, &id);
    if (r < 0)
        return reply_errno(req, r);
    return reply_project(req, 201, org_id, id);
}

struct project_list {
    int64_t org_id, after;
    int limit;
    struct arena *a;
    struct store_project *items;
    int n;
};

static int project_list_fn(struct store_tx *tx, void *ctx)
{
    struct project_list *c = ctx;
    int r = store_project_list(tx, c->org_id, c->after, c->limit, c->a, &c->items, &c->n);
    int64_t now = clock_now_ms();
    for (int i = 0; r >= 0 && i < c->n; i++)
        r = store_project_active(tx, c->items[i].id, now, &c->items[i].n_active);
    return r;
}

int api_projects_list(struct request *req)
{
    struct project_list c = { .org_id = req->principal.org_id, .a = &req->arena };
    if (parse_list_args(req, &c.after, &c.limit) < 0)
        return HTTP_DONE;
    int r = store_read(api_app(req)->store, project_list_fn, &c);
    if (r < 0)
        return reply_errno(req, r);
    struct buf b;
    struct jw w;
    list_begin(&w, &b);
    for (int i = 0; i < c.n; i++)
        project_to_jw(&w, &c.items[i]);
    list_end(&w, c.n, c.limit, c.n ? c.items[c.n - 1].id : 0);
    return reply_json(req, 200, &b);
}

int api_projects_get(struct request *req)
{
    int64_t id;
    if (param_id_or_reply(req, 0, &id) < 0)
        return HTTP_DONE;
    return reply_project(req, 200, req->principal.org_id, id);
}

/*
 * PATCH /projects/{id}: name, config, overlap, lease_seconds; the kind is
 * fixed. A lower overlap that some task exceeds answers 409.
 */
int api_projects_update(struct request *req)
{
    int64_t id;
    json_t *body;
    if (param_id_or_reply(req, 0, &id) < 0 || parse_body_object(req, &body) < 0)
        return HTTP_DONE;
    int64_t org_id = req->principal.org_id;
    struct store_project cur;
    int r = project_get(api_app(req)->store, org_id, id, &req->arena, &cur);
    if (r < 0)
        return reply_errno(req, r);
    struct project_spec patch;
    struct schema_error err = { "", "" };
    if (project_parse_patch(body, cur.kind, &patch, &err) < 0)
        return reply_invalid(req, err.path, "%s", err.message);
    int64_t blocking = 0;
    r = project_update(api_app(req)->store, org_id, id, req->principal.user_id, &patch, &blocking);
    if (r == -ERR_CONFLICT) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "%lld task(s) hold more live leases and submissions than overlap %d",
                 (long long)blocking, patch.overlap);
        http_reply_error(req, 409, "conflict", msg, "overlap");
        return HTTP_DONE;
    }
    if (r < 0)
        return reply_errno(req, r);
    return reply_project(req, 200, org_id, id);
}
