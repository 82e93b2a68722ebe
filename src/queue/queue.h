/*
 * queue: handing out work. Claims, submissions, skips, releases, drafts,
 * heartbeats and the lease reaper.
 *
 * DESIGN
 * Every queue action is a struct queue_call run as one write op: on SQLite
 * it is queued for the group-commit writer and call->done runs on the
 * writer thread after the batch is durable (r >= 0) or rolled back
 * (r < 0); on PostgreSQL it runs on the caller's thread. The caller owns
 * the call (usually in its request arena) until done() has run. Results
 * are validated before they are queued (queue_submit_prepare), so the
 * writer does no JSON work beyond storing text.
 *
 * Rules (see store_queue.c for how they are kept): a user never gets the
 * same task twice; live leases + submissions of a task never exceed its
 * overlap; a submit after the lease expired is accepted while the task
 * has a free slot; annotations are append-only versions.
 */
#ifndef ANNOTD_QUEUE_H
#define ANNOTD_QUEUE_H

#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "schema/schema.h"
#include "store/store.h"

enum queue_action { QUEUE_CLAIM, QUEUE_SUBMIT, QUEUE_SKIP, QUEUE_RELEASE, QUEUE_HEARTBEAT, QUEUE_DRAFT };

struct queue_call {
    enum queue_action action;
    int64_t org_id, user_id;
    int64_t project_id;    /* claim */
    int64_t after_id;      /* claim: past this live lease of the user's (prefetch); 0: none */
    int64_t assignment_id; /* the others */
    struct str body;       /* submit: the result, draft: the draft (compact JSON) */
    struct store_label *labels;
    size_t nlabels;
    struct arena *arena; /* where results are allocated */

    /* results */
    int found; /* claim: 1 leased, 0 nothing left for this user */
    struct store_assignment assignment;
    struct store_task task;
    struct store_annotation annotation; /* submit; also on -ERR_CONFLICT when submitted before */
    struct store_review review;         /* claim of a rework: the review that returned it */

    void (*done)(struct queue_call *call, int r);
    void *ctx; /* the caller's */
};

/* Queue the call; 0 when queued (done() will run), negative when it could not be. */
int queue_run_async(struct store *st, struct queue_call *call);
/* Run the call and wait; returns its result (done is not used). */
int queue_run(struct store *st, struct queue_call *call);

/*
 * Check a submitted result before it is queued: the assignment must be the
 * user's, the result valid for the project's kind and the task's data.
 * Fills call->body (compact JSON), call->labels, call->project_id. Returns 0,
 * -ERR_NOT_FOUND, or -ERR_INVALID_RESULT with *err.
 */
int queue_submit_prepare(struct store *st,
                         struct queue_call *call,
                         const json_t *result,
                         struct schema_error *err);

/*
 * Check `result` for a task of project `p` (its kind, config and the task's
 * data) and prepare it for the writer: compact JSON text in *ret_text, the
 * labels in *ret_labels / *ret_nlabels, all in `a`. Returns 0,
 * -ERR_INVALID_RESULT with *err, or another negative error.
 * Out-parameters are written only on success.
 */
int queue_result_check(const struct store_project *p,
                       const struct store_task *t,
                       const json_t *result,
                       struct arena *a,
                       struct str *ret_text,
                       struct store_label **ret_labels,
                       size_t *ret_nlabels,
                       struct schema_error *err);

/* Return expired leases to the pool; *ret_n says how many. */
int queue_reap(struct store *st, int *ret_n);

#endif
