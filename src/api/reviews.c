/*
 * reviews.c: review/next, verdicts, and an annotation's reviews.
 *
 * review/next and verdicts are write ops (review/next leases): the
 * connection is suspended and the completion, on the writer thread once
 * the batch is durable, writes the reply and resumes it, as in queue.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "core/err.h"
#include "project/project.h"
#include "review/review.h"

void review_to_jw(struct jw *w, const struct store_review *r)
{
    jw_obj_begin(w);
    jw_kint(w, "id", r->id);
    jw_kint(w, "annotation", r->annotation_id);
    jw_kint(w, "task", r->task_id);
    jw_kint(w, "project", r->project_id);
    jw_kint(w, "reviewer", r->reviewer_id);
    jw_kstr(w, "verdict", r->verdict);
    jw_kstr(w, "comment", r->comment ? r->comment : "");
    jw_key(w, "result");
    if (r->result)
        jw_raw(w, r->result, strlen(r->result));
    else
        jw_null(w);
    jw_key(w, "fixed_annotation");
    if (r->fixed_annotation_id)
        jw_int(w, r->fixed_annotation_id);
    else
        jw_null(w);
    jw_ktime(w, "created_at", r->created_at);
    jw_obj_end(w);
}

/* ---- completions (writer thread) ---- */

static void finish(struct review_call *c, int r)
{
    struct request *req = c->ctx;
    if (r == -ERR_CONFLICT && c->action == REVIEW_RELEASE) {
        http_reply_error(req, 409, "conflict", "the caller holds no review lease on this annotation",
                         NULL);
    } else if (r == -ERR_CONFLICT) {
        http_reply_error(req, 409, "conflict",
                         "the annotation is not awaiting review, or another reviewer holds it",
                         NULL);
    } else if (r == -ERR_FORBIDDEN) {
        http_reply_error(req, 403, "forbidden", "a reviewer may not review their own annotation",
                         NULL);
    } else if (r < 0) {
        reply_errno(req, r);
    } else if (c->action == REVIEW_RELEASE) {
        http_reply_empty(req, 204);
    } else if (c->action == REVIEW_NEXT && !c->found) {
        http_reply_empty(req, 204);
    } else {
        struct buf b;
        buf_init(&b, 0);
        struct jw w;
        jw_init(&w, &b);
        if (c->action == REVIEW_NEXT) {
            jw_obj_begin(&w);
            jw_key(&w, "annotation");
            annotation_to_jw(&w, &c->annotation);
            jw_key(&w, "task");
            task_to_jw(&w, &c->task);
            jw_obj_end(&w);
            http_reply_json(req, 200, &b);
        } else {
            review_to_jw(&w, &c->review);
            http_reply_json(req, 201, &b);
        }
    }
    http_resume(req);
}

static int run(struct request *req, struct review_call *c)
{
    c->ctx = req;
    c->done = finish;
    int r = review_run_async(api_app(req)->store, c);
    if (r < 0)
        return reply_errno(req, r);
    return HTTP_SUSPENDED;
}

static struct review_call *new_call(struct request *req, enum review_action action)
{
    struct review_call *c = arena_calloc(&req->arena, 1, sizeof(*c));
    if (!c)
        return NULL;
    c->action = action;
    c->org_id = req->principal.org_id;
    c->user_id = req->principal.user_id;
    c->arena = &req->arena;
    return c;
}

/* ---- handlers ---- */

int api_review_next(struct request *req)
{
    struct review_call *c = new_call(req, REVIEW_NEXT);
    if (!c)
        return reply_errno(req, -ENOMEM);
    if (param_id_or_reply(req, 0, &c->project_id) < 0)
        return HTTP_DONE;
    return run(req, c);
}

/* Hand back a held review lease ("skip"): 204, 409 when the caller holds none on it. */
int api_review_release(struct request *req)
{
    struct review_call *c = new_call(req, REVIEW_RELEASE);
    if (!c)
        return reply_errno(req, -ENOMEM);
    if (param_id_or_reply(req, 0, &c->annotation_id) < 0)
        return HTTP_DONE;
    return run(req, c);
}

static const char *const review_keys[] = { "verdict", "comment", "result", NULL };

int api_review_add(struct request *req)
{
    struct review_call *c = new_call(req, REVIEW_ADD);
    if (!c)
        return reply_errno(req, -ENOMEM);
    json_t *body;
    if (param_id_or_reply(req, 0, &c->annotation_id) < 0 || parse_body_object(req, &body) < 0 ||
        check_keys_or_reply(req, body, review_keys) < 0 ||
        get_string_or_reply(req, body, "verdict", true, &c->verdict) < 0 ||
        get_string_or_reply(req, body, "comment", false, &c->comment) < 0)
        return HTTP_DONE;
    if (!review_verdict_valid(c->verdict))
        return reply_invalid(req, "verdict", "one of accept, reject, fix");
    if (!c->comment)
        c->comment = "";
    if (strlen(c->comment) > REVIEW_COMMENT_MAX)
        return reply_invalid(req, "comment", "at most %d bytes", REVIEW_COMMENT_MAX);
    json_t *result = json_object_get(body, "result");
    bool fix = strcmp(c->verdict, "fix") == 0;
    if (fix && !json_is_object(result))
        return reply_invalid(req, "result", "required with verdict fix, an object");
    if (!fix && result)
        return reply_invalid(req, "result", "only with verdict fix");

    struct schema_error err = { "", "" };
    int r = review_prepare(api_app(req)->store, c, result, &err);
    if (r == -ERR_INVALID_RESULT) {
        char path[sizeof(err.path) + 8];
        snprintf(path, sizeof(path), "result%s%s", err.path[0] && err.path[0] != '[' ? "." : "",
                 err.path);
        http_reply_error(req, 400, "invalid_result", err.message, path);
        return HTTP_DONE;
    }
    if (r < 0)
        return reply_errno(req, r);
    return run(req, c);
}

struct review_list {
    int64_t org_id, user_id, annotation_id, after;
    int limit;
    struct arena *a;
    struct store_annotation an;
    struct store_review *items;
    int n;
};

static int review_list_fn(struct store_tx *tx, void *ctx)
{
    struct review_list *c = ctx;
    int r = store_annotation_get(tx, c->org_id, c->annotation_id, c->a, &c->an);
    if (r < 0)
        return r;
    if (c->user_id && c->an.user_id != c->user_id)
        return -ERR_NOT_FOUND; /* annotators read only their own work */
    return store_review_list(tx, c->annotation_id, c->after, c->limit, c->a, &c->items, &c->n);
}

int api_annotation_reviews(struct request *req)
{
    struct review_list c = { .org_id = req->principal.org_id, .a = &req->arena };
    if (param_id_or_reply(req, 0, &c.annotation_id) < 0 ||
        parse_list_args(req, &c.after, &c.limit) < 0)
        return HTTP_DONE;
    if (!http_has_role(req, ROLES_READ))
        c.user_id = req->principal.user_id;
    int r = store_read(api_app(req)->store, review_list_fn, &c);
    if (r < 0)
        return reply_errno(req, r);
    struct buf b;
    struct jw w;
    list_begin(&w, &b);
    for (int i = 0; i < c.n; i++)
        review_to_jw(&w, &c.items[i]);
    list_end(&w, c.n, c.limit, c.n ? c.items[c.n - 1].id : 0);
    return reply_json(req, 200, &b);
}
