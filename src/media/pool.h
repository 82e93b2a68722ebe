/*
 * media_pool: a few threads of their own for the slow media work (libvips
 * decodes and thumbnails), so that it never runs on an HTTP pool thread.
 *
 * DESIGN
 * - What runs where: the caller (an HTTP handler) fills a struct
 *   media_job, usually in its request's arena, submits it and suspends the
 *   request. A pool thread runs job->work() and then, on the same thread,
 *   job->done() with work's result; done answers and resumes the request
 *   (the pattern of the store writer's completions, src/api/queue.c).
 * - Bounded, never blocking: `workers` threads run the jobs in arrival
 *   order, and at most `workers + queue` jobs are admitted at a time
 *   (running or waiting). media_pool_submit() beyond that fails at once
 *   with -ERR_UNAVAILABLE (the caller answers 503 with Retry-After) rather
 *   than making anyone wait. A job that waited longer than `max_wait_ms`
 *   by the time a thread is free is not run: done(job, -ERR_UNAVAILABLE)
 *   (its client gave up or will soon; the next ones are fresher).
 * - Exactly once: a job submitted successfully gets exactly one done()
 *   call, after work() or, unrun, with -ERR_UNAVAILABLE; a failed submit
 *   gets none. The pool never touches a job after its done() began, so
 *   done() may free or resume what holds the job.
 * - Stop: media_pool_stop() refuses new jobs, lets the running ones finish,
 *   calls done(job, -ERR_UNAVAILABLE) for each one still waiting (on the
 *   stopping thread), joins the threads and frees the pool.
 * - The pool knows nothing of media or HTTP: work and done do.
 */
#ifndef ANNOTD_MEDIA_POOL_H
#define ANNOTD_MEDIA_POOL_H

#include <stdint.h>

#define MEDIA_POOL_WORKERS     2     /* default threads: the libvips job limit of media.h */
#define MEDIA_POOL_QUEUE       64    /* default jobs waiting beyond the running ones */
#define MEDIA_POOL_MAX_WAIT_MS 30000 /* default: a job not started by then is refused */
#define MEDIA_POOL_MAX_WORKERS 64
#define MEDIA_POOL_MAX_QUEUE   65536

struct media_pool;

struct media_job {
    /* on a pool thread; returns the job's result (>= 0 or a negative errno) */
    int (*work)(struct media_job *job);
    /* exactly once: work's result, or -ERR_UNAVAILABLE when it was not run */
    void (*done)(struct media_job *job, int r);
    /* pool internals */
    struct media_job *next;
    int64_t queued_ms;
};

struct media_pool_options {
    unsigned workers; /* 1..MEDIA_POOL_MAX_WORKERS; 0: MEDIA_POOL_WORKERS */
    unsigned queue;   /* 0..MEDIA_POOL_MAX_QUEUE jobs admitted beyond one per worker */
    int max_wait_ms;  /* <= 0: MEDIA_POOL_MAX_WAIT_MS */
};

/*
 * Start the threads. Returns 0 and *ret, -EINVAL for options out of range,
 * -ENOMEM, or the error of pthread_create (nothing is left running).
 */
int media_pool_start(const struct media_pool_options *opt, struct media_pool **ret);

/*
 * Queue `job` (work and done set; the rest is the pool's). Returns 0 (done
 * will be called, possibly before this returns), or -ERR_UNAVAILABLE when
 * workers + queue jobs are admitted already or the pool is stopping (done
 * will not be called). Thread-safe; never blocks.
 */
int media_pool_submit(struct media_pool *p, struct media_job *job);

/* Stop as described above and free the pool. NULL ok. */
void media_pool_stop(struct media_pool *p);

#endif
