/*
 * jobs: background work with progress (LLM drafting, media generation).
 *
 * DESIGN
 * A job is a row of the jobs table (store.h, "background jobs"), queued in
 * the transaction that asks for it, so it exists exactly when that change
 * committed. Each `annotd serve` runs a few worker threads that take the
 * oldest queued job (any node's workers may take it), run the function of
 * its kind and record the outcome. A job function works in steps: it calls
 * job_progress() after each one, in the step's own transaction or right
 * after it, so a job taken over after a crash resumes at `done`, and a
 * cancel or a server stop ends it between steps (a stopping server gives
 * its job back to the queue). Progress and state changes are events
 * ("job" on project.<id>). The CLI, when no server runs, runs a job in its
 * own process with jobs_run_inline().
 */
#ifndef ANNOTD_JOBS_H
#define ANNOTD_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct job; /* one running job, handed to its function */
struct jobs; /* the workers of a server */

/* The function of a kind: 0 when done, a negative error when it failed
 * (job_fail() says why), -ECANCELED when job_progress() said to stop. */
typedef int (*job_fn)(struct job *j, const struct store_job *info, struct store *st, void *ctx);

struct job_kind {
    const char *name; /* "story.llm_draft" */
    job_fn run;
    void *ctx;
};

/*
 * Record progress (done of total steps) and learn whether to go on:
 * 0 go on, -ECANCELED stop now (cancelled, or the server is stopping).
 */
int job_progress(struct job *j, int64_t done, int64_t total);
/* True once the server is stopping (poll it inside a long step). */
bool job_stopping(void *j);
/* The step to resume at: the progress recorded before this run (0 at first). */
int64_t job_resume_at(const struct job *j);
/* The job's result (JSON text, copied), stored when it ends. */
void job_set_result(struct job *j, const char *json);
/* Why it failed (stored as the job's error). */
void job_fail(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Start `workers` threads taking jobs of kinds[0..n) (copied). */
int jobs_start(struct store *st, const struct job_kind *kinds, size_t n, unsigned workers, struct jobs **ret);
/* Wake the workers (a job was queued on this node). NULL ok. */
void jobs_kick(struct jobs *js);
/* Stop: running jobs end at their next step and go back to the queue. NULL ok. */
void jobs_stop(struct jobs *js);

/*
 * Run queued job `id` in the calling thread (the CLI without a server):
 * claim it, run it, record the outcome; on_progress (may be NULL) sees
 * each step. Returns 0 when it ran to the end (done or failed: read the
 * row), -ERR_CONFLICT when it was not queued, or an error.
 */
int jobs_run_inline(struct store *st,
                    const struct job_kind *kinds,
                    size_t n,
                    int64_t id,
                    void (*on_progress)(void *ctx, int64_t done, int64_t total),
                    void *ctx);

#endif
