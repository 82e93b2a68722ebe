/*
 * queue.c: queue actions as write ops, result checks, the reaper.
 */
#include <errno.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/json.h"
#include "queue/queue.h"

static int call_fn(struct store_tx *tx, void *ctx)
{
    struct queue_call *c = ctx;
    int64_t now = clock_now_ms();
    int r;
    switch (c->action) {
    case QUEUE_CLAIM:
        r = store_claim_after(tx, c->org_id, c->project_id, c->user_id, c->after_id, now, c->arena,
                              &c->assignment, &c->task);
        if (r == 1 && strcmp(c->assignment.kind, "rework") == 0) {
            /* what the reviewer said comes with the rework */
            int g = store_assignment_review(tx, c->task.id, c->assignment.id, c->arena, &c->review);
            if (g < 0 && g != -ERR_NOT_FOUND)
                return g;
        }
        if (r >= 0)
            c->found = r;
        return r;
    case QUEUE_SUBMIT:
        r = store_submit(tx, c->user_id, c->assignment_id, c->body, c->labels, c->nlabels, now,
                         c->arena, &c->annotation);
        if (r == -ERR_CONFLICT && c->annotation.id)
            c->found = 1; /* submitted before: the annotation is in the call */
        return r;
    case QUEUE_SKIP:
        return store_lease_end(tx, c->user_id, c->assignment_id, "skipped", now, c->arena, &c->assignment);
    case QUEUE_RELEASE:
        return store_lease_end(tx, c->user_id, c->assignment_id, "released", now, c->arena, &c->assignment);
    case QUEUE_HEARTBEAT:
        return store_heartbeat(tx, c->user_id, c->assignment_id, now, c->arena, &c->assignment);
    case QUEUE_DRAFT:
        return store_draft(tx, c->user_id, c->assignment_id, c->body, now, c->arena, &c->assignment);
    }
    return -EINVAL;
}

static void call_done(void *ctx, int r)
{
    struct queue_call *c = ctx;
    c->done(c, r);
}

int queue_run_async(struct store *st, struct queue_call *call)
{
    return store_write_async(st, call_fn, call, call_done);
}

int queue_run(struct store *st, struct queue_call *call)
{
    return store_write(st, call_fn, call);
}

/* ---- submit checks ---- */

struct prepare_read {
    struct queue_call *call;
    struct store_assignment as;
    struct store_task task;
    struct store_project project;
};

static int prepare_fn(struct store_tx *tx, void *ctx)
{
    struct prepare_read *p = ctx;
    struct queue_call *c = p->call;
    int r = store_assignment_get(tx, c->user_id, c->assignment_id, c->arena, &p->as);
    if (r < 0)
        return r;
    r = store_task_get(tx, c->org_id, p->as.task_id, c->arena, &p->task);
    if (r < 0)
        return r;
    return store_project_get(tx, c->org_id, p->as.project_id, c->arena, &p->project);
}

struct label_sink {
    struct arena *a;
    struct store_label *items;
    size_t n, cap;
    int err;
};

static void label_emit(void *ctx, const char *field, const char *label, const char *value)
{
    struct label_sink *s = ctx;
    if (s->err)
        return;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct store_label *items = arena_alloc(s->a, cap * sizeof(*items));
        if (!items) {
            s->err = -ENOMEM;
            return;
        }
        if (s->n)
            memcpy(items, s->items, s->n * sizeof(*items));
        s->items = items;
        s->cap = cap;
    }
    struct store_label *l = &s->items[s->n];
    l->field = arena_strdup(s->a, field);
    l->label = arena_strdup(s->a, label);
    l->value = arena_strdup(s->a, value ? value : "");
    if (!l->field || !l->label || !l->value) {
        s->err = -ENOMEM;
        return;
    }
    s->n++;
}

int queue_result_check(const struct store_project *p,
                       const struct store_task *t,
                       const json_t *result,
                       struct arena *a,
                       struct str *ret_text,
                       struct store_label **ret_labels,
                       size_t *ret_nlabels,
                       struct schema_error *err)
{
    const struct schema_kind *kind = schema_kind_find(p->kind);
    if (!kind)
        return -ERR_STORE;
    json_t *config = NULL, *data = NULL;
    if (json_parse(p->config, strlen(p->config), 0, &config, NULL) < 0 ||
        json_parse(t->data, strlen(t->data), 0, &data, NULL) < 0) {
        json_decref(config);
        return -ERR_STORE;
    }
    struct label_sink sink = { .a = a };
    int r = kind->check_result(config, data, result, err);
    if (r >= 0) {
        kind->labels(config, result, label_emit, &sink);
        r = sink.err;
    }
    json_decref(config);
    json_decref(data);
    if (r < 0)
        return r;

    struct buf text;
    buf_init(&text, 0);
    r = json_dump_buf(result, &text);
    char *copy = r < 0 ? NULL : arena_strndup(a, text.p, text.len);
    size_t len = text.len;
    buf_release(&text);
    if (r < 0)
        return r;
    if (!copy)
        return -ENOMEM;
    *ret_text = (struct str){ copy, len };
    *ret_labels = sink.items;
    *ret_nlabels = sink.n;
    return 0;
}

int queue_submit_prepare(struct store *st,
                         struct queue_call *call,
                         const json_t *result,
                         struct schema_error *err)
{
    struct prepare_read p = { .call = call };
    int r = store_read(st, prepare_fn, &p);
    if (r < 0)
        return r;
    r = queue_result_check(&p.project, &p.task, result, call->arena, &call->body, &call->labels,
                           &call->nlabels, err);
    if (r < 0)
        return r;
    call->project_id = p.as.project_id;
    return 0;
}

/* ---- reaper ---- */

struct reap_ctx {
    int n;
};

static int reap_fn(struct store_tx *tx, void *ctx)
{
    struct reap_ctx *c = ctx;
    return store_reap(tx, clock_now_ms(), 256, &c->n);
}

int queue_reap(struct store *st, int *ret_n)
{
    int total = 0;
    for (;;) {
        struct reap_ctx c = { 0 };
        int r = store_write(st, reap_fn, &c);
        if (r < 0)
            return r;
        total += c.n;
        if (c.n < 256)
            break;
    }
    *ret_n = total;
    return 0;
}
