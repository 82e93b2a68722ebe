/*
 * pool.c: the media worker pool. See pool.h for the design.
 *
 * One mutex guards the FIFO (head/tail), `admitted` and `stopping`;
 * workers sleep on `wake`. Admission counts jobs from submit to the end of
 * their done(), running or waiting, against workers + queue: a job
 * submitted while a worker is idle is taken even before that worker wakes
 * up. Jobs are intrusive (job->next): the pool allocates nothing per job,
 * so a submit cannot fail for memory.
 */
#include "media/pool.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include <pthread.h>

#include "core/clock.h"
#include "core/err.h"

struct media_pool {
    pthread_mutex_t mu;
    pthread_cond_t wake;
    struct media_job *head, *tail; /* waiting, oldest first */
    unsigned admitted;             /* submitted, done() not yet returned */
    unsigned capacity;             /* workers + queue */
    int max_wait_ms;
    bool stopping;
    unsigned nthreads;
    pthread_t threads[MEDIA_POOL_MAX_WORKERS];
};

/* The oldest waiting job, or NULL once stopping. Called with p->mu held. */
static struct media_job *take_locked(struct media_pool *p)
{
    while (!p->head && !p->stopping)
        pthread_cond_wait(&p->wake, &p->mu);
    if (p->stopping)
        return NULL; /* what still waits is media_pool_stop()'s to refuse */
    struct media_job *job = p->head;
    p->head = job->next;
    if (!p->head)
        p->tail = NULL;
    job->next = NULL;
    return job;
}

static void *worker_main(void *arg)
{
    struct media_pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        struct media_job *job = take_locked(p);
        pthread_mutex_unlock(&p->mu);
        if (!job)
            return NULL;
        if (clock_mono_ms() - job->queued_ms > p->max_wait_ms)
            job->done(job, -ERR_UNAVAILABLE);
        else
            job->done(job, job->work(job));
        pthread_mutex_lock(&p->mu);
        p->admitted--;
        pthread_mutex_unlock(&p->mu);
    }
}

int media_pool_start(const struct media_pool_options *opt, struct media_pool **ret)
{
    unsigned workers = opt && opt->workers ? opt->workers : MEDIA_POOL_WORKERS;
    unsigned queue = opt ? opt->queue : MEDIA_POOL_QUEUE;
    int max_wait = opt && opt->max_wait_ms > 0 ? opt->max_wait_ms : MEDIA_POOL_MAX_WAIT_MS;
    if (workers > MEDIA_POOL_MAX_WORKERS || queue > MEDIA_POOL_MAX_QUEUE)
        return -EINVAL;
    struct media_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->capacity = workers + queue;
    p->max_wait_ms = max_wait;
    for (; p->nthreads < workers; p->nthreads++) {
        int r = pthread_create(&p->threads[p->nthreads], NULL, worker_main, p);
        if (r != 0) {
            media_pool_stop(p);
            return -r;
        }
    }
    *ret = p;
    return 0;
}

int media_pool_submit(struct media_pool *p, struct media_job *job)
{
    job->next = NULL;
    job->queued_ms = clock_mono_ms();
    pthread_mutex_lock(&p->mu);
    if (p->stopping || p->admitted >= p->capacity) {
        pthread_mutex_unlock(&p->mu);
        return -ERR_UNAVAILABLE;
    }
    if (p->tail)
        p->tail->next = job;
    else
        p->head = job;
    p->tail = job;
    p->admitted++;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

void media_pool_stop(struct media_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    struct media_job *left = p->head;
    p->head = p->tail = NULL;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);

    /* refused here, while the running ones finish on their threads */
    while (left) {
        struct media_job *job = left;
        left = job->next;
        job->next = NULL;
        job->done(job, -ERR_UNAVAILABLE);
    }
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
