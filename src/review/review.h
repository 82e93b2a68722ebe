/*
 * review: reviewers' verdicts on annotations (accept, reject, fix), the
 * review queue that hands annotations to reviewers, and rework.
 *
 * DESIGN
 * Like the queue, every review action is a struct review_call run as one
 * write op (SQLite: on the group-commit writer, done() on the writer thread
 * once the batch is durable or rolled back; PostgreSQL: on the caller's
 * thread). review/next is a write because it leases: the annotation it
 * hands out is the reviewer's for the project's lease_seconds, so two
 * reviewers asking at once never get the same one (store_review.c says
 * how). A verdict is checked before it is queued (review_prepare: the
 * verdict, and a fix's result against the project's kind like a submit,
 * via queue_result_check), so the writer does no JSON work.
 *
 * Rules (kept in store_review.c and store_queue.c): a reviewer never
 * reviews their own annotation; an annotation gets one verdict; a fix is
 * a new version by the reviewer and counts as accepted; a reject returns
 * the assignment to its author as a rework, which their next claim in the
 * project returns first and whose submit enters review again.
 *
 * Depends on queue (queue_result_check): review sits on top of the queue.
 */
#ifndef ANNOTD_REVIEW_H
#define ANNOTD_REVIEW_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"
#include "schema/schema.h"
#include "store/store.h"

#define REVIEW_COMMENT_MAX 10000 /* bytes */

enum review_action { REVIEW_NEXT, REVIEW_ADD, REVIEW_RELEASE };

struct review_call {
    enum review_action action;
    int64_t org_id, user_id; /* user: the reviewer */
    int64_t project_id;      /* next */
    int64_t annotation_id;   /* add, release */
    const char *verdict;     /* add: "accept", "reject", "fix" */
    const char *comment;     /* add: "" when none */
    struct str result;       /* add, fix: the fixed result (compact JSON); {NULL, 0} otherwise */
    struct store_label *labels;
    size_t nlabels;
    struct arena *arena; /* where results are allocated */

    /* results */
    int found;                          /* next: 1 leased, 0 nothing left to review */
    struct store_annotation annotation; /* next */
    struct store_task task;             /* next */
    struct store_review review;         /* add */
    struct store_annotation fixed;      /* add, fix: the new version */

    void (*done)(struct review_call *call, int r);
    void *ctx; /* the caller's */
};

/* Is `s` a verdict (accept, reject, fix)? */
bool review_verdict_valid(const char *s);

/*
 * Check a verdict before it is queued: call->verdict set; for "fix",
 * `result` (required) is checked against the project's kind and the task's
 * data like a submit and fills call->result and call->labels. Returns 0,
 * -ERR_NOT_FOUND (no such annotation in the org), or -ERR_INVALID_RESULT
 * with *err (path inside the result).
 */
int review_prepare(struct store *st,
                   struct review_call *call,
                   const json_t *result,
                   struct schema_error *err);

/* Queue the call; 0 when queued (done() will run), negative when it could not be. */
int review_run_async(struct store *st, struct review_call *call);
/* Run the call and wait; returns its result (done is not used). */
int review_run(struct store *st, struct review_call *call);

#endif
