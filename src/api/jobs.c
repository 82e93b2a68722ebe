/*
 * jobs.c: background jobs of a project (src/jobs): list, one, cancel.
 */
#include <string.h>

#include "api/api.h"
#include "core/clock.h"
#include "core/err.h"
#include "project/project.h"

#define JOBS_PAGE 100

static void job_to_jw(struct jw *w, const struct store_job *j)
{
    jw_obj_begin(w);
    jw_kint(w, "id", j->id);
    jw_kint(w, "project", j->project_id);
    jw_kstr(w, "kind", j->kind);
    jw_kstr(w, "state", j->state);
    jw_kraw(w, "params", j->params, strlen(j->params)); /* what it works on: tasks, a shot ... */
    jw_key(w, "progress");
    jw_obj_begin(w);
    jw_kint(w, "done", j->done);
    jw_kint(w, "total", j->total);
    jw_obj_end(w);
    if (j->result)
        jw_kraw(w, "result", j->result, strlen(j->result));
    else
        jw_kraw(w, "result", "null", 4);
    jw_kstr(w, "error", j->error);
    jw_kbool(w, "cancel_requested", j->cancel);
    jw_kint(w, "attempts", j->attempts);
    jw_kint(w, "created_by", j->created_by);
    jw_ktime(w, "created_at", j->created_at);
    jw_ktime(w, "started_at", j->started_at ? j->started_at : -1);
    jw_ktime(w, "finished_at", j->finished_at ? j->finished_at : -1);
    jw_obj_end(w);
}

struct job_op {
    int64_t org_id, project_id, id;
    struct arena *a;
    struct store_job job;
    struct store_job *items;
    int n;
};

static int list_fn(struct store_tx *tx, void *ctx)
{
    struct job_op *o = ctx;
    return store_job_list(tx, o->project_id, JOBS_PAGE, o->a, &o->items, &o->n);
}

int api_jobs_list(struct request *req)
{
    int64_t id;
    if (param_id_or_reply(req, 0, &id) < 0)
        return HTTP_DONE;
    struct store_project p;
    int r = project_get(api_app(req)->store, req->principal.org_id, id, &req->arena, &p);
    if (r < 0)
        return reply_errno(req, r);
    struct job_op o = { .project_id = id, .a = &req->arena };
    r = store_read(api_app(req)->store, list_fn, &o);
    if (r < 0)
        return reply_errno(req, r);
    struct buf b;
    buf_init(&b, 0);
    struct jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_key(&w, "items");
    jw_arr_begin(&w);
    for (int i = 0; i < o.n; i++)
        job_to_jw(&w, &o.items[i]);
    jw_arr_end(&w);
    jw_obj_end(&w);
    return reply_json(req, 200, &b);
}

static int get_fn(struct store_tx *tx, void *ctx)
{
    struct job_op *o = ctx;
    return store_job_get(tx, o->org_id, o->id, o->a, &o->job);
}

static int reply_job(struct request *req, struct job_op *o)
{
    int r = store_read(api_app(req)->store, get_fn, o);
    if (r < 0)
        return reply_errno(req, r);
    struct buf b;
    buf_init(&b, 0);
    struct jw w;
    jw_init(&w, &b);
    job_to_jw(&w, &o->job);
    return reply_json(req, 200, &b);
}

int api_jobs_get(struct request *req)
{
    struct job_op o = { .org_id = req->principal.org_id, .a = &req->arena };
    if (param_id_or_reply(req, 0, &o.id) < 0)
        return HTTP_DONE;
    return reply_job(req, &o);
}

static int cancel_fn(struct store_tx *tx, void *ctx)
{
    struct job_op *o = ctx;
    return store_job_cancel(tx, o->org_id, o->id, clock_now_ms());
}

int api_jobs_cancel(struct request *req)
{
    struct job_op o = { .org_id = req->principal.org_id, .a = &req->arena };
    if (param_id_or_reply(req, 0, &o.id) < 0)
        return HTTP_DONE;
    int r = store_write(api_app(req)->store, cancel_fn, &o);
    if (r == -ERR_CONFLICT)
        return http_reply_error(req, 409, "conflict", "the job has ended already", NULL), HTTP_DONE;
    if (r < 0)
        return reply_errno(req, r);
    return reply_job(req, &o);
}
