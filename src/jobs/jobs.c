/*
 * jobs.c: the workers that run background jobs. See jobs.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "jobs/jobs.h"

#define POLL_MS       1000  /* a worker looks for queued jobs this often (other nodes' jobs) */
#define STALE_MS      60000 /* a running job without a heartbeat this long is queued again */
#define MAX_WORKERS   8

struct job {
    struct store *st;
    int64_t id;
    int64_t resume_at;
    const atomic_bool *stopping; /* NULL: never (inline) */
    char *result;
    char error[512];
    void (*on_progress)(void *ctx, int64_t done, int64_t total);
    void *progress_ctx;
};

struct jobs {
    struct store *st;
    struct job_kind *kinds;
    size_t n_kinds;
    pthread_t threads[MAX_WORKERS];
    unsigned n_threads;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    atomic_bool stopping;
    unsigned kicks;
    char node[64];
};

/* ---- what a job function calls ---- */

struct progress_op {
    int64_t id, done, total;
    int go_on;
};

static int progress_fn(struct store_tx *tx, void *ctx)
{
    struct progress_op *p = ctx;
    int r = store_job_progress(tx, p->id, p->done, p->total, clock_now_ms());
    if (r < 0)
        return r;
    p->go_on = r;
    return 0;
}

int job_progress(struct job *j, int64_t done, int64_t total)
{
    if (j->on_progress)
        j->on_progress(j->progress_ctx, done, total);
    struct progress_op p = { .id = j->id, .done = done, .total = total };
    int r = store_write(j->st, progress_fn, &p);
    if (r < 0)
        return r;
    if (!p.go_on || (j->stopping && atomic_load(j->stopping)))
        return -ECANCELED;
    return 0;
}

bool job_stopping(void *job)
{
    const struct job *j = job;
    return j->stopping && atomic_load(j->stopping);
}

int64_t job_resume_at(const struct job *j)
{
    return j->resume_at;
}

void job_set_result(struct job *j, const char *json)
{
    free(j->result);
    j->result = json ? strdup(json) : NULL;
}

void job_fail(struct job *j, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->error, sizeof(j->error), fmt, ap);
    va_end(ap);
}

/* ---- running one job ---- */

struct finish_op {
    int64_t id;
    const char *state, *result, *error;
};

static int finish_fn(struct store_tx *tx, void *ctx)
{
    struct finish_op *f = ctx;
    return store_job_finish(tx, f->id, f->state, f->result, f->error, clock_now_ms());
}

static const struct job_kind *find_kind(const struct job_kind *kinds, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(kinds[i].name, name) == 0)
            return &kinds[i];
    return NULL;
}

/* Run a claimed job and record how it ended. */
static void run_claimed(struct store *st,
                        const struct job_kind *kinds,
                        size_t n,
                        const struct store_job *info,
                        const atomic_bool *stopping,
                        void (*on_progress)(void *, int64_t, int64_t),
                        void *progress_ctx)
{
    struct job j = { .st = st, .id = info->id, .resume_at = info->done, .stopping = stopping,
                     .on_progress = on_progress, .progress_ctx = progress_ctx };
    const struct job_kind *k = find_kind(kinds, n, info->kind);
    int r;
    if (!k) {
        r = -ENOSYS;
        job_fail(&j, "no worker knows job kind '%s'", info->kind);
    } else {
        r = k->run(&j, info, st, k->ctx);
    }
    struct finish_op f = { .id = info->id, .result = j.result };
    bool stop_now = stopping && atomic_load(stopping);
    if (r == 0) {
        f.state = "done";
    } else if (r == -ECANCELED && stop_now) {
        f.state = "queued"; /* the server stops: another worker resumes it */
    } else if (r == -ECANCELED) {
        f.state = "cancelled";
    } else {
        f.state = "failed";
        if (!j.error[0])
            snprintf(j.error, sizeof(j.error), "%s", err_str(r));
        f.error = j.error;
    }
    int w = store_write(st, finish_fn, &f);
    if (w < 0 && w != -ERR_CONFLICT)
        log_warn("job %lld (%s): failed to record its end: %s", (long long)info->id, info->kind, err_str(w));
    else if (strcmp(f.state, "failed") == 0)
        log_warn("job %lld (%s) failed: %s", (long long)info->id, info->kind, j.error);
    else
        log_info("job %lld (%s) %s", (long long)info->id, info->kind, f.state);
    free(j.result);
}

struct claim_op {
    const char *node;
    int64_t only_id;
    struct arena *a;
    struct store_job job;
    int got;
};

static int claim_fn(struct store_tx *tx, void *ctx)
{
    struct claim_op *c = ctx;
    int r = store_job_claim(tx, c->node, c->only_id, clock_now_ms(), c->a, &c->job);
    if (r < 0)
        return r;
    c->got = r;
    return 0;
}

static int requeue_fn(struct store_tx *tx, void *ctx)
{
    return store_job_requeue_stale(tx, clock_now_ms() - STALE_MS, ctx);
}

/* ---- the workers ---- */

static void *worker_main(void *arg)
{
    struct jobs *js = arg;
    unsigned seen = 0, idle = 0;
    while (!atomic_load(&js->stopping)) {
        struct arena a;
        arena_init(&a, 0);
        struct claim_op c = { .node = js->node, .a = &a };
        int r = store_write(js->st, claim_fn, &c);
        if (r < 0)
            log_warn("jobs: failed to look for queued jobs: %s", err_str(r));
        if (r == 0 && c.got) {
            run_claimed(js->st, js->kinds, js->n_kinds, &c.job, &js->stopping, NULL, NULL);
            arena_free(&a);
            continue;
        }
        arena_free(&a);
        /* every minute or so, take over the jobs of nodes that died */
        if (++idle % 60 == 0) {
            int n = 0;
            if (store_write(js->st, requeue_fn, &n) == 0 && n > 0)
                log_info("jobs: %d jobs of a silent node queued again", n);
        }
        pthread_mutex_lock(&js->lock);
        if (js->kicks == seen && !atomic_load(&js->stopping)) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += (long)POLL_MS * 1000000L;
            ts.tv_sec += ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&js->cond, &js->lock, &ts);
        }
        seen = js->kicks;
        pthread_mutex_unlock(&js->lock);
    }
    return NULL;
}

int jobs_start(struct store *st, const struct job_kind *kinds, size_t n, unsigned workers, struct jobs **ret)
{
    struct jobs *js = calloc(1, sizeof(*js));
    if (!js)
        return -ENOMEM;
    js->kinds = calloc(n ? n : 1, sizeof(*kinds));
    if (!js->kinds) {
        free(js);
        return -ENOMEM;
    }
    memcpy(js->kinds, kinds, n * sizeof(*kinds));
    js->n_kinds = n;
    js->st = st;
    pthread_mutex_init(&js->lock, NULL);
    pthread_cond_init(&js->cond, NULL);
    atomic_init(&js->stopping, false);
    char host[40] = "";
    gethostname(host, sizeof(host) - 1);
    snprintf(js->node, sizeof(js->node), "%s:%ld", host, (long)getpid());
    if (workers > MAX_WORKERS)
        workers = MAX_WORKERS;
    /* jobs whose node died while this one was down */
    int stale = 0;
    if (store_write(st, requeue_fn, &stale) == 0 && stale > 0)
        log_info("jobs: %d interrupted jobs queued again", stale);
    for (unsigned i = 0; i < workers; i++) {
        if (pthread_create(&js->threads[i], NULL, worker_main, js) != 0)
            break;
        js->n_threads++;
    }
    if (!js->n_threads) {
        jobs_stop(js);
        return -EAGAIN;
    }
    *ret = js;
    return 0;
}

void jobs_kick(struct jobs *js)
{
    if (!js)
        return;
    pthread_mutex_lock(&js->lock);
    js->kicks++;
    pthread_cond_broadcast(&js->cond);
    pthread_mutex_unlock(&js->lock);
}

void jobs_stop(struct jobs *js)
{
    if (!js)
        return;
    pthread_mutex_lock(&js->lock);
    atomic_store(&js->stopping, true);
    pthread_cond_broadcast(&js->cond);
    pthread_mutex_unlock(&js->lock);
    for (unsigned i = 0; i < js->n_threads; i++)
        pthread_join(js->threads[i], NULL);
    pthread_mutex_destroy(&js->lock);
    pthread_cond_destroy(&js->cond);
    free(js->kinds);
    free(js);
}

int jobs_run_inline(struct store *st,
                    const struct job_kind *kinds,
                    size_t n,
                    int64_t id,
                    void (*on_progress)(void *ctx, int64_t done, int64_t total),
                    void *ctx)
{
    struct arena a;
    arena_init(&a, 0);
    char node[64];
    snprintf(node, sizeof(node), "cli:%ld", (long)getpid());
    struct claim_op c = { .node = node, .only_id = id, .a = &a };
    int r = store_write(st, claim_fn, &c);
    if (r == 0 && !c.got)
        r = -ERR_CONFLICT;
    if (r == 0)
        run_claimed(st, kinds, n, &c.job, NULL, on_progress, ctx);
    arena_free(&a);
    return r;
}
