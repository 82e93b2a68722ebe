/*
 * Unit tests for the media worker pool (src/media/pool.c): every admitted
 * job gets exactly one done() on a pool thread with its work's result; a
 * full pool refuses at once and never calls the refused job; admission
 * counts a job until its done() returns, whatever the threads' timing; a
 * job that waited too long is refused unrun; stop refuses the waiting
 * jobs, lets the running one finish and refuses new ones meanwhile.
 *
 * Jobs that must stay "running" block on a gate the test opens, so no
 * test depends on timing.
 */
/* cmocka needs these before it, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include <pthread.h>

#include "core/err.h"
#include "media/pool.h"

/* ---- fixture: jobs that record what happened to them ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;

struct gate {
    bool open;
};

struct test_job {
    struct media_job job; /* first: the pool hands it back */
    struct gate *gate;    /* work blocks until it opens; NULL: no wait */
    int result;           /* what work returns */
    bool started;         /* work began */
    int works;            /* work calls */
    int dones;            /* done calls */
    int done_r;           /* done's r */
    pthread_t done_thread;
};

static int job_work(struct media_job *job)
{
    struct test_job *t = (struct test_job *)job;
    pthread_mutex_lock(&mu);
    t->works++;
    t->started = true;
    pthread_cond_broadcast(&changed);
    while (t->gate && !t->gate->open)
        pthread_cond_wait(&changed, &mu);
    pthread_mutex_unlock(&mu);
    return t->result;
}

static void job_done(struct media_job *job, int r)
{
    struct test_job *t = (struct test_job *)job;
    pthread_mutex_lock(&mu);
    t->dones++;
    t->done_r = r;
    t->done_thread = pthread_self();
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&mu);
}

static void job_init(struct test_job *t, struct gate *g, int result)
{
    memset(t, 0, sizeof(*t));
    t->job.work = job_work;
    t->job.done = job_done;
    t->gate = g;
    t->result = result;
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&mu);
    g->open = true;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&mu);
}

static void wait_started(struct test_job *t)
{
    pthread_mutex_lock(&mu);
    while (!t->started)
        pthread_cond_wait(&changed, &mu);
    pthread_mutex_unlock(&mu);
}

static void wait_done(struct test_job *t)
{
    pthread_mutex_lock(&mu);
    while (t->dones == 0)
        pthread_cond_wait(&changed, &mu);
    pthread_mutex_unlock(&mu);
}

static int dones_of(struct test_job *t)
{
    pthread_mutex_lock(&mu);
    int n = t->dones;
    pthread_mutex_unlock(&mu);
    return n;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* ---- tests ---- */

static void test_options(void **state)
{
    (void)state;
    struct media_pool *p = NULL;
    struct media_pool_options bad = { .workers = MEDIA_POOL_MAX_WORKERS + 1 };
    assert_int_equal(media_pool_start(&bad, &p), -EINVAL);
    bad = (struct media_pool_options){ .workers = 1, .queue = MEDIA_POOL_MAX_QUEUE + 1 };
    assert_int_equal(media_pool_start(&bad, &p), -EINVAL);
    assert_null(p);
    assert_int_equal(media_pool_start(NULL, &p), 0); /* the defaults */
    media_pool_stop(p);
    media_pool_stop(NULL);
}

static void test_runs_every_job_once(void **state)
{
    (void)state;
    struct media_pool *p;
    struct media_pool_options o = { .workers = 2, .queue = 16 };
    assert_int_equal(media_pool_start(&o, &p), 0);
    struct test_job jobs[18];
    for (int i = 0; i < 18; i++) {
        job_init(&jobs[i], NULL, i == 3 ? -EBADMSG : i);
        assert_int_equal(media_pool_submit(p, &jobs[i].job), 0);
    }
    for (int i = 0; i < 18; i++) {
        wait_done(&jobs[i]);
        assert_int_equal(jobs[i].works, 1);
        assert_int_equal(jobs[i].done_r, i == 3 ? -EBADMSG : i);
        assert_false(pthread_equal(jobs[i].done_thread, pthread_self()));
    }
    media_pool_stop(p);
    for (int i = 0; i < 18; i++)
        assert_int_equal(jobs[i].dones, 1);
}

static void test_full_pool_refuses_at_once(void **state)
{
    (void)state;
    struct media_pool *p;
    struct media_pool_options o = { .workers = 1, .queue = 1 };
    assert_int_equal(media_pool_start(&o, &p), 0);
    struct gate g = { false };
    struct test_job a, b, c, d;
    job_init(&a, &g, 1);
    job_init(&b, NULL, 2);
    job_init(&c, NULL, 3);
    job_init(&d, NULL, 4);
    /* a and b are admitted at once, whether or not the worker woke up yet */
    assert_int_equal(media_pool_submit(p, &a.job), 0);
    assert_int_equal(media_pool_submit(p, &b.job), 0);
    assert_int_equal(media_pool_submit(p, &c.job), -ERR_UNAVAILABLE);
    wait_started(&a);
    assert_int_equal(media_pool_submit(p, &c.job), -ERR_UNAVAILABLE);
    assert_int_equal(dones_of(&b), 0);
    gate_open(&g);
    wait_done(&a);
    wait_done(&b);
    assert_int_equal(a.done_r, 1);
    assert_int_equal(b.done_r, 2);
    /* room again once done() returned: poll, the counter drops just after */
    int r;
    while ((r = media_pool_submit(p, &d.job)) == -ERR_UNAVAILABLE)
        sleep_ms(1);
    assert_int_equal(r, 0);
    wait_done(&d);
    media_pool_stop(p);
    assert_int_equal(c.works, 0);
    assert_int_equal(c.dones, 0);
}

static void test_queue_zero_still_runs_one_per_worker(void **state)
{
    (void)state;
    struct media_pool *p;
    struct media_pool_options o = { .workers = 2, .queue = 0 };
    assert_int_equal(media_pool_start(&o, &p), 0);
    struct gate g = { false };
    struct test_job a, b, c;
    job_init(&a, &g, 1);
    job_init(&b, &g, 2);
    job_init(&c, NULL, 3);
    assert_int_equal(media_pool_submit(p, &a.job), 0);
    assert_int_equal(media_pool_submit(p, &b.job), 0);
    assert_int_equal(media_pool_submit(p, &c.job), -ERR_UNAVAILABLE);
    wait_started(&a);
    wait_started(&b); /* both run at once: two workers */
    gate_open(&g);
    wait_done(&a);
    wait_done(&b);
    media_pool_stop(p);
    assert_int_equal(c.dones, 0);
}

static void test_stale_job_is_refused_unrun(void **state)
{
    (void)state;
    struct media_pool *p;
    struct media_pool_options o = { .workers = 1, .queue = 4, .max_wait_ms = 20 };
    assert_int_equal(media_pool_start(&o, &p), 0);
    struct gate g = { false };
    struct test_job a, b;
    job_init(&a, &g, 1);
    job_init(&b, NULL, 2);
    assert_int_equal(media_pool_submit(p, &a.job), 0);
    wait_started(&a);
    assert_int_equal(media_pool_submit(p, &b.job), 0);
    sleep_ms(60); /* b waits past max_wait_ms behind a */
    gate_open(&g);
    wait_done(&b);
    assert_int_equal(a.done_r, 1);
    assert_int_equal(b.works, 0);
    assert_int_equal(b.done_r, -ERR_UNAVAILABLE);
    media_pool_stop(p);
}

struct stopper {
    struct media_pool *p;
    bool returned;
};

static void *stop_main(void *arg)
{
    struct stopper *s = arg;
    media_pool_stop(s->p);
    pthread_mutex_lock(&mu);
    s->returned = true;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&mu);
    return NULL;
}

static void test_stop_refuses_waiting_and_finishes_running(void **state)
{
    (void)state;
    struct media_pool *p;
    struct media_pool_options o = { .workers = 1, .queue = 4 };
    assert_int_equal(media_pool_start(&o, &p), 0);
    struct gate g = { false };
    struct test_job a, b, c, late;
    job_init(&a, &g, 7);
    job_init(&b, NULL, 2);
    job_init(&c, NULL, 3);
    job_init(&late, NULL, 4);
    assert_int_equal(media_pool_submit(p, &a.job), 0);
    wait_started(&a);
    assert_int_equal(media_pool_submit(p, &b.job), 0);
    assert_int_equal(media_pool_submit(p, &c.job), 0);

    struct stopper s = { .p = p };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, stop_main, &s), 0);
    /* the waiting ones are refused while a still runs */
    wait_done(&b);
    wait_done(&c);
    assert_int_equal(b.done_r, -ERR_UNAVAILABLE);
    assert_int_equal(c.done_r, -ERR_UNAVAILABLE);
    assert_int_equal(b.works + c.works, 0);
    assert_int_equal(dones_of(&a), 0);
    /* stop waits for a; new jobs are refused meanwhile */
    assert_int_equal(media_pool_submit(p, &late.job), -ERR_UNAVAILABLE);
    pthread_mutex_lock(&mu);
    bool returned = s.returned;
    pthread_mutex_unlock(&mu);
    assert_false(returned);
    gate_open(&g);
    pthread_join(t, NULL);
    assert_true(s.returned);
    assert_int_equal(a.dones, 1);
    assert_int_equal(a.done_r, 7);
    assert_int_equal(b.dones, 1);
    assert_int_equal(c.dones, 1);
    assert_int_equal(late.dones, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_runs_every_job_once),
        cmocka_unit_test(test_full_pool_refuses_at_once),
        cmocka_unit_test(test_queue_zero_still_runs_one_per_worker),
        cmocka_unit_test(test_stale_job_is_refused_unrun),
        cmocka_unit_test(test_stop_refuses_waiting_and_finishes_running),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
