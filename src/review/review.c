/*
 * review.c: review actions as write ops, and the checks of a verdict.
 */
#include "review/review.h"

#include <errno.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "queue/queue.h"

bool review_verdict_valid(const char *s)
{
    return strcmp(s, "accept") == 0 || strcmp(s, "reject") == 0 || strcmp(s, "fix") == 0;
}

static int call_fn(struct store_tx *tx, void *ctx)
{
    struct review_call *c = ctx;
    int64_t now = clock_now_ms();
    int r;
    switch (c->action) {
    case REVIEW_NEXT:
        r = store_review_next(tx, c->org_id, c->project_id, c->user_id, now, c->arena,
                              &c->annotation, &c->task);
        if (r >= 0)
            c->found = r;
        return r;
    case REVIEW_ADD:
        return store_review_add(tx, c->org_id, c->user_id, c->annotation_id, c->verdict, c->comment,
                                c->result, c->labels, c->nlabels, now, c->arena, &c->review,
                                &c->fixed);
    case REVIEW_RELEASE:
        return store_review_release(tx, c->org_id, c->user_id, c->annotation_id, now);
    }
    return -EINVAL;
}

static void call_done(void *ctx, int r)
{
    struct review_call *c = ctx;
    c->done(c, r);
}

int review_run_async(struct store *st, struct review_call *call)
{
    return store_write_async(st, call_fn, call, call_done);
}

int review_run(struct store *st, struct review_call *call)
{
    return store_write(st, call_fn, call);
}

/* ---- verdict checks ---- */

struct prepare_read {
    struct review_call *call;
    struct store_annotation an;
    struct store_task task;
    struct store_project project;
};

static int prepare_fn(struct store_tx *tx, void *ctx)
{
    struct prepare_read *p = ctx;
    struct review_call *c = p->call;
    int r = store_annotation_get(tx, c->org_id, c->annotation_id, c->arena, &p->an);
    if (r < 0)
        return r;
    r = store_task_get(tx, c->org_id, p->an.task_id, c->arena, &p->task);
    if (r < 0)
        return r;
    return store_project_get(tx, c->org_id, p->an.project_id, c->arena, &p->project);
}

int review_prepare(struct store *st,
                   struct review_call *call,
                   const json_t *result,
                   struct schema_error *err)
{
    if (!call->verdict || !review_verdict_valid(call->verdict))
        return -EINVAL;
    if (strcmp(call->verdict, "fix") != 0) {
        call->result = (struct str){ NULL, 0 };
        return 0;
    }
    if (!result)
        return -EINVAL;
    struct prepare_read p = { .call = call };
    int r = store_read(st, prepare_fn, &p);
    if (r < 0)
        return r;
    return queue_result_check(&p.project, &p.task, result, call->arena, &call->result,
                              &call->labels, &call->nlabels, err);
}
