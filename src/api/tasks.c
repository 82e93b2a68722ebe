/*
 * tasks.c: importing and reading tasks.
 *
 * The import body is streamed: JSON Lines are checked and stored line by
 * line as they arrive (constant memory whatever the size, up to the import
 * cap); a JSON array is collected up to the API body cap and then walked.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "core/err.h"
#include "project/project.h"

struct import_req {
    struct project_import *imp;
    bool ndjson;
    struct buf pending; /* an incomplete line, or the whole array */
    long line;
    int err; /* the first error that ends the import */
};

static void import_req_free(void *p)
{
    struct import_req *ir = p;
    project_import_abort(ir->imp);
    buf_release(&ir->pending);
}

/* Set up on the first chunk: the project and the content type. */
static int import_start(struct request *req)
{
    struct api_app *app = api_app(req);
    int64_t id;
    if (http_param_id(req, 0, &id) < 0)
        return -ERR_NOT_FOUND;
    /* the platform admin (and so the CLI on a served data dir) may import into any org */
    int64_t org = http_has_role(req, ROLE_ADMIN) ? 0 : req->principal.org_id;
    struct store_project p;
    int r = project_get(app->store, org, id, &req->arena, &p);
    if (r < 0)
        return r;
    const char *ct = http_content_type(req);
    bool ndjson = ct && (strcmp(ct, "application/x-ndjson") == 0 || strcmp(ct, "application/jsonl") == 0 ||
                         strcmp(ct, "application/json-lines") == 0);
    if (!ndjson && !(ct && strcmp(ct, "application/json") == 0))
        return -ERR_UNSUPPORTED_MEDIA;
    const char *mode = http_query(req, "mode");
    if (mode && strcmp(mode, "all-or-nothing") != 0 && strcmp(mode, "partial") != 0)
        return -ERR_INVALID_REQUEST;

    struct import_req *ir = arena_calloc(&req->arena, 1, sizeof(*ir));
    if (!ir)
        return -ENOMEM;
    ir->ndjson = ndjson;
    buf_init(&ir->pending, ndjson ? (16u << 20) : app->limits.max_body);
    r = project_import_begin(app->store, &p, mode && strcmp(mode, "all-or-nothing") == 0,
                             app->limits.max_json_depth, &ir->imp);
    if (r < 0)
        return r;
    if (arena_defer(&req->arena, import_req_free, ir) < 0) {
        project_import_abort(ir->imp);
        return -ENOMEM;
    }
    req->user = ir;
    return 0;
}

static int feed_line(struct import_req *ir, const char *p, size_t len)
{
    char at[32];
    snprintf(at, sizeof(at), "line %ld", ++ir->line);
    return project_import_line(ir->imp, p, len, at);
}

int api_tasks_import_body(struct request *req, const char *p, size_t len)
{
    if (!req->user) {
        int r = import_start(req);
        if (r < 0)
            return r;
    }
    struct import_req *ir = req->user;
    if (!ir->ndjson) {
        int r = buf_add(&ir->pending, p, len);
        return r == -E2BIG ? -ERR_TOO_LARGE : r;
    }
    /* JSON Lines: complete the pending line, then every whole line in p */
    const char *end = p + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            int r = buf_add(&ir->pending, p, (size_t)(end - p));
            if (r == -E2BIG)
                return -ERR_TOO_LARGE;
            return r;
        }
        int r;
        if (ir->pending.len) {
            buf_add(&ir->pending, p, (size_t)(nl - p));
            if (ir->pending.err)
                return ir->pending.err == -E2BIG ? -ERR_TOO_LARGE : ir->pending.err;
            r = feed_line(ir, ir->pending.p, ir->pending.len);
            buf_clear(&ir->pending);
        } else {
            r = feed_line(ir, p, (size_t)(nl - p));
        }
        if (r < 0)
            return r;
        p = nl + 1;
    }
    return 0;
}

/* Walk a JSON array body. 0 when fed, 1 when it has answered itself, or < 0. */
static int import_array(struct request *req, struct import_req *ir)
{
    struct api_app *app = api_app(req);
    json_t *arr;
    struct json_error_info info;
    int r = json_parse(ir->pending.p, ir->pending.len, app->limits.max_json_depth + 1, &arr, &info);
    if (r == -ERR_TOO_DEEP) {
        http_reply_error(req, 413, "too_large", info.message, NULL);
        return 1;
    }
    if (r == -ERR_INVALID_REQUEST) {
        reply_invalid(req, info.path, "%s", info.message);
        return 1;
    }
    if (r < 0) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s (line %ld, column %ld)", info.message, info.line, info.column);
        http_reply_error(req, 400, "invalid_json", msg, NULL);
        return 1;
    }
    if (!json_is_array(arr)) {
        json_decref(arr);
        reply_invalid(req, NULL, "the body must be a JSON array of records or JSON Lines");
        return 1;
    }
    size_t i;
    json_t *rec;
    json_array_foreach (arr, i, rec) {
        char at[32];
        snprintf(at, sizeof(at), "item %zu", i + 1);
        r = project_import_value(ir->imp, rec, at);
        if (r < 0)
            break;
    }
    json_decref(arr);
    return r;
}

int api_tasks_import(struct request *req)
{
    if (req->body_error)
        return reply_errno(req, req->body_error);
    if (!req->user) {
        /* an empty body: set up anyway so that the answer says what it did */
        int r = import_start(req);
        if (r < 0)
            return reply_errno(req, r);
    }
    struct import_req *ir = req->user;
    int r = 0;
    if (ir->ndjson) {
        if (ir->pending.len)
            r = feed_line(ir, ir->pending.p, ir->pending.len);
    } else {
        if (ir->pending.len == 0)
            return reply_invalid(req, NULL, "the body must be a JSON array of records or JSON Lines");
        r = import_array(req, ir);
        if (r == 1)
            return HTTP_DONE;
    }
    if (r < 0)
        return reply_errno(req, r);
    struct buf b;
    buf_init(&b, 0);
    r = project_import_finish(ir->imp, &b);
    ir->imp = NULL;
    if (r < 0) {
        buf_release(&b);
        return reply_errno(req, r);
    }
    return reply_json(req, r == 1 ? 400 : 200, &b);
}

struct task_list {
    const char *key; /* ?key=: the task with this key only */
    int64_t project_id, after;
    int state, limit;
    struct arena *a;
    struct store_task *items;
    int n;
};

static int task_list_fn(struct store_tx *tx, void *ctx)
{
    struct task_list *c = ctx;
    if (c->key) {
        /* keys are unique in a project: the page is that task or nothing */
        int64_t id;
        c->n = 0;
        c->items = arena_calloc(c->a, 1, sizeof(*c->items));
        if (!c->items)
            return -ENOMEM;
        int r = store_task_find_key(tx, c->project_id, c->key, &id);
        if (r == -ERR_NOT_FOUND)
            return 0;
        if (r < 0)
            return r;
        r = store_task_get(tx, 0, id, c->a, &c->items[0]);
        if (r < 0)
            return r;
        c->n = (c->state < 0 || c->items[0].state == c->state) && id > c->after;
        return 0;
    }
    return store_task_list(tx, c->project_id, c->state, c->after, c->limit, c->a, &c->items, &c->n);
}

int api_tasks_list(struct request *req)
{
    struct api_app *app = api_app(req);
    struct task_list c = { .a = &req->arena, .state = -1 };
    if (param_id_or_reply(req, 0, &c.project_id) < 0 || parse_list_args(req, &c.after, &c.limit) < 0)
        return HTTP_DONE;
    const char *state = http_query(req, "state");
    if (state && (c.state = task_state_parse(state)) < 0)
        return reply_invalid(req, "state", "must be one of open, in_progress, done");
    c.key = http_query(req, "key");
    if (c.key && (!*c.key || strlen(c.key) > TASK_KEY_MAX))
        return reply_invalid(req, "key", "must be 1 to %d bytes", TASK_KEY_MAX);
    struct store_project p;
    int r = project_get(app->store, req->principal.org_id, c.project_id, &req->arena, &p);
    if (r < 0)
        return reply_errno(req, r);
    r = store_read(app->store, task_list_fn, &c);
    if (r < 0)
        return reply_errno(req, r);
    struct buf b;
    struct jw w;
    list_begin(&w, &b);
    for (int i = 0; i < c.n; i++)
        task_to_jw(&w, &c.items[i]);
    list_end(&w, c.n, c.limit, c.n ? c.items[c.n - 1].id : 0);
    return reply_json(req, 200, &b);
}

struct task_read {
    int64_t org_id, id;
    struct arena *a;
    struct store_task t;
};

static int task_read_fn(struct store_tx *tx, void *ctx)
{
    struct task_read *c = ctx;
    return store_task_get(tx, c->org_id, c->id, c->a, &c->t);
}

int api_tasks_get(struct request *req)
{
    struct task_read c = { .org_id = req->principal.org_id, .a = &req->arena };
    if (param_id_or_reply(req, 0, &c.id) < 0)
        return HTTP_DONE;
    int r = store_read(api_app(req)->store, task_read_fn, &c);
    if (r < 0)
        return reply_errno(req, r);
    struct buf b;
    buf_init(&b, 0);
    task_to_json(&b, &c.t);
    return reply_json(req, 200, &b);
}
