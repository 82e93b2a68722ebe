/*
 * queue.c: next, submit, skip, release, draft, heartbeat, and annotations.
 *
 * Every action is handed to the queue as a write op and the connection is
 * suspended; the completion, on the writer thread once the batch is
 * durable, writes the reply and resumes the connection. A 2xx on submit
 * therefore means the annotation is on disk.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "core/err.h"
#include "project/project.h"
#include "queue/queue.h"

static void assignment_to_json(struct jw *w, const struct store_assignment *a)
{
    jw_obj_begin(w);
    jw_kint(w, "id", a->id);
    jw_kint(w, "task", a->task_id);
    jw_kint(w, "project", a->project_id);
    jw_kint(w, "user", a->user_id);
    jw_kstr(w, "kind", a->kind);
    jw_kstr(w, "state", a->state);
    jw_ktime(w, "lease_until", a->lease_until);
    jw_key(w, "draft");
    if (a->draft)
        jw_raw(w, a->draft, strlen(a->draft));
    else
        jw_null(w);
    jw_ktime(w, "created_at", a->created_at);
    jw_ktime(w, "updated_at", a->updated_at);
    jw_obj_end(w);
}

void annotation_to_jw(struct jw *w, const struct store_annotation *a)
{
    jw_obj_begin(w);
    jw_kint(w, "id", a->id);
    jw_kint(w, "task", a->task_id);
    jw_key(w, "user");
    if (a->user_id)
        jw_int(w, a->user_id);
    else
        jw_null(w);
    jw_kint(w, "version", a->version);
    jw_kstr(w, "source", a->source);
    jw_kraw(w, "result", a->result, strlen(a->result));
    jw_ktime(w, "created_at", a->created_at);
    jw_obj_end(w);
}

/* ---- completions (writer thread) ---- */

static void finish(struct queue_call *c, int r)
{
    struct request *req = c->ctx;
    struct buf b;
    buf_init(&b, 0);
    struct jw w;
    jw_init(&w, &b);

    if (r < 0 && c->action == QUEUE_SUBMIT && r == -ERR_CONFLICT && c->found) {
        /* a second submit: 409 with the stored annotation */
        jw_obj_begin(&w);
        jw_key(&w, "error");
        jw_obj_begin(&w);
        jw_kstr(&w, "code", "conflict");
        jw_kstr(&w, "message", "this assignment was submitted already");
        jw_obj_end(&w);
        jw_key(&w, "annotation");
        annotation_to_jw(&w, &c->annotation);
        jw_obj_end(&w);
        http_reply_json(req, 409, &b);
    } else if (r == -ERR_CONFLICT) {
        buf_release(&b);
        const char *msg = "the assignment is not leased";
        if (c->action == QUEUE_SUBMIT)
            msg = "the lease is gone and the task has no free slot left";
        else if (c->action == QUEUE_CLAIM)
            msg = "`after` is not a live lease of yours in this project";
        http_reply_error(req, 409, "conflict", msg, c->action == QUEUE_CLAIM ? "after" : NULL);
    } else if (r == -ERR_NOT_FOUND && c->action == QUEUE_CLAIM && c->after_id) {
        buf_release(&b);
        http_reply_error(req, 404, "not_found",
                         "no such project, or `after` is no assignment of yours", NULL);
    } else if (r < 0) {
        buf_release(&b);
        reply_errno(req, r);
    } else if (c->action == QUEUE_CLAIM) {
        if (!c->found) {
            buf_release(&b);
            http_reply_empty(req, 204);
        } else {
            jw_obj_begin(&w);
            jw_key(&w, "assignment");
            jw_obj_begin(&w);
            jw_kint(&w, "id", c->assignment.id);
            jw_kstr(&w, "kind", c->assignment.kind);
            jw_ktime(&w, "lease_until", c->assignment.lease_until);
            jw_key(&w, "draft");
            if (c->assignment.draft)
                jw_raw(&w, c->assignment.draft, strlen(c->assignment.draft));
            else
                jw_null(&w);
            if (c->review.id) {
                /* a rework: what the reviewer said */
                jw_key(&w, "review");
                review_to_jw(&w, &c->review);
            }
            jw_obj_end(&w);
            jw_key(&w, "task");
            task_to_jw(&w, &c->task);
            jw_obj_end(&w);
            http_reply_json(req, 200, &b);
        }
    } else if (c->action == QUEUE_SUBMIT) {
        annotation_to_jw(&w, &c->annotation);
        http_reply_json(req, 201, &b);
    } else {
        assignment_to_json(&w, &c->assignment);
        http_reply_json(req, 200, &b);
    }
    http_resume(req);
}

static int run(struct request *req, struct queue_call *c)
{
    c->ctx = req;
    c->done = finish;
    c->org_id = req->principal.org_id;
    c->user_id = req->principal.user_id;
    c->arena = &req->arena;
    int r = queue_run_async(api_app(req)->store, c);
    if (r < 0)
        return reply_errno(req, r);
    return HTTP_SUSPENDED;
}

static struct queue_call *new_call(struct request *req, enum queue_action action)
{
    struct queue_call *c = arena_calloc(&req->arena, 1, sizeof(*c));
    if (c)
        c->action = action;
    return c;
}

/* ---- handlers ---- */

/*
 * ?after=<assignment id> (the prefetch): a lease other than that one, which
 * must be a live lease of the caller's in this project (store_claim_after).
 */
int api_queue_next(struct request *req)
{
    struct queue_call *c = new_call(req, QUEUE_CLAIM);
    if (!c)
        return reply_errno(req, -ENOMEM);
    if (param_id_or_reply(req, 0, &c->project_id) < 0)
        return HTTP_DONE;
    const char *after = http_query(req, "after");
    if (after) {
        long long v;
        if (str_to_int64(str_from(after), &v) < 0 || v < 1)
            return reply_invalid(req, "after", "must be an assignment id (a positive integer)");
        c->after_id = v;
    }
    return run(req, c);
}

static const char *const submit_keys[] = { "result", NULL };

int api_queue_submit(struct request *req)
{
    struct queue_call *c = new_call(req, QUEUE_SUBMIT);
    if (!c)
        return reply_errno(req, -ENOMEM);
    json_t *body;
    if (param_id_or_reply(req, 0, &c->assignment_id) < 0 || parse_body_object(req, &body) < 0 ||
        check_keys_or_reply(req, body, submit_keys) < 0)
        return HTTP_DONE;
    json_t *result = json_object_get(body, "result");
    if (!json_is_object(result))
        return reply_invalid(req, "result", "required, an object");
    c->org_id = req->principal.org_id;
    c->user_id = req->principal.user_id;
    c->arena = &req->arena;
    struct schema_error err = { "", "" };
    int r = queue_submit_prepare(api_app(req)->store, c, result, &err);
    if (r == -ERR_INVALID_RESULT) {
        char path[sizeof(err.path) + 8];
        snprintf(path, sizeof(path), "result%s%s", err.path[0] && err.path[0] != '[' ? "." : "", err.path);
        http_reply_error(req, 400, "invalid_result", err.message, path);
        return HTTP_DONE;
    }
    if (r < 0)
        return reply_errno(req, r);
    return run(req, c);
}

static int lease_action(struct request *req, enum queue_action action)
{
    struct queue_call *c = new_call(req, action);
    if (!c)
        return reply_errno(req, -ENOMEM);
    if (param_id_or_reply(req, 0, &c->assignment_id) < 0)
        return HTTP_DONE;
    return run(req, c);
}

int api_queue_skip(struct request *req)
{
    return lease_action(req, QUEUE_SKIP);
}

int api_queue_release(struct request *req)
{
    return lease_action(req, QUEUE_RELEASE);
}

int api_queue_heartbeat(struct request *req)
{
    return lease_action(req, QUEUE_HEARTBEAT);
}

int api_queue_draft(struct request *req)
{
    struct queue_call *c = new_call(req, QUEUE_DRAFT);
    if (!c)
        return reply_errno(req, -ENOMEM);
    json_t *body;
    if (param_id_or_reply(req, 0, &c->assignment_id) < 0 || parse_body_object(req, &body) < 0 ||
        check_keys_or_reply(req, body, submit_keys) < 0)
        return HTTP_DONE;
    json_t *draft = json_object_get(body, "result");
    if (!json_is_object(draft))
        return reply_invalid(req, "result", "required, an object");
    struct buf text;
    buf_init(&text, 0);
    int r = json_dump_buf(draft, &text);
    char *copy = r < 0 ? NULL : arena_strndup(&req->arena, text.p, text.len);
    c->body = (struct str){ copy, text.len };
    buf_release(&text);
    if (!copy)
        return reply_errno(req, -ENOMEM);
    return run(req, c);
}

struct assignment_read {
    int64_t user_id, id;
    struct arena *a;
    struct store_assignment as;
};

static int assignment_read_fn(struct store_tx *tx, void *ctx)
{
    struct assignment_read *c = ctx;
    return store_assignment_get(tx, c->user_id, c->id, c->a, &c->as);
}

int api_assignments_get(struct request *req)
{
    struct assignment_read c = { .user_id = req->principal.user_id, .a = &req->arena };
    if (param_id_or_reply(req, 0, &c.id) < 0)
        return HTTP_DONE;
    int r = store_read(api_app(req)->store, assignment_read_fn, &c);
    if (r < 0)
        return reply_errno(req, r);
    struct buf b;
    buf_init(&b, 0);
    struct jw w;
    jw_init(&w, &b);
    assignment_to_json(&w, &c.as);
    return reply_json(req, 200, &b);
}

struct annotation_list {
    int64_t org_id, task_id, user_id, after;
    int limit;
    struct arena *a;
    struct store_task task;
    struct store_annotation *items;
    int n;
};

static int annotation_list_fn(struct store_tx *tx, void *ctx)
{
    struct annotation_list *c = ctx;
    int r = store_task_get(tx, c->org_id, c->task_id, c->a, &c->task);
    if (r < 0)
        return r;
    return store_annotation_list(tx, c->task_id, c->user_id, c->after, c->limit, c->a, &c->items, &c->n);
}

int api_task_annotations(struct request *req)
{
    struct annotation_list c = { .org_id = req->principal.org_id, .a = &req->arena };
    if (param_id_or_reply(req, 0, &c.task_id) < 0 || parse_list_args(req, &c.after, &c.limit) < 0)
        return HTTP_DONE;
    /* annotators read only their own work */
    if (!http_has_role(req, ROLES_READ))
        c.user_id = req->principal.user_id;
    int r = store_read(api_app(req)->store, annotation_list_fn, &c);
    if (r < 0)
        return reply_errno(req, r);
    struct buf b;
    struct jw w;
    list_begin(&w, &b);
    for (int i = 0; i < c.n; i++)
        annotation_to_jw(&w, &c.items[i]);
    list_end(&w, c.n, c.limit, c.n ? c.items[c.n - 1].id : 0);
    return reply_json(req, 200, &b);
}
