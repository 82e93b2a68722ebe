/*
 * Unit tests for background jobs (src/jobs, src/store/store_jobs.c) on a
 * real SQLite store: workers run queued jobs to done with their result and
 * progress; a failing job records its error; an unknown kind fails; a
 * cancel stops a running job at its next step and a queued one at once; a
 * stopping server gives its running job back to the queue, and a later run
 * resumes at the recorded step; jobs_run_inline runs one job in the
 * caller's thread; stale running jobs are queued again.
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
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "jobs/jobs.h"
#include "store/store.h"

struct fixture {
    char dir[64];
    struct store *st;
    int64_t org;
};

static int org_fn(struct store_tx *tx, void *ctx)
{
    return store_org_create(tx, "jobs", clock_now_ms(), ctx);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/annotd-jobs-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/t.db", f->dir);
    struct store_options o = { .url = path };
    assert_int_equal(store_open(&o, &f->st), 0);
    assert_int_equal(store_write(f->st, org_fn, &f->org), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->st);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* ---- helpers ---- */

struct enqueue {
    int64_t org;
    const char *kind, *params;
    int64_t total, id;
};

static int enqueue_fn(struct store_tx *tx, void *ctx)
{
    struct enqueue *e = ctx;
    struct store_job j = { .org_id = e->org, .kind = e->kind, .params = e->params, .total = e->total };
    return store_job_create(tx, &j, clock_now_ms(), &e->id);
}

static int64_t enqueue(struct fixture *f, const char *kind, const char *params, int64_t total)
{
    struct enqueue e = { .org = f->org, .kind = kind, .params = params, .total = total };
    assert_int_equal(store_write(f->st, enqueue_fn, &e), 0);
    return e.id;
}

struct get {
    int64_t id;
    struct arena a;
    struct store_job j;
};

static int get_fn(struct store_tx *tx, void *ctx)
{
    struct get *g = ctx;
    return store_job_get(tx, 0, g->id, &g->a, &g->j);
}

/* The job's row (copied strings freed with g->a). */
static void get(struct fixture *f, int64_t id, struct get *g)
{
    g->id = id;
    arena_init(&g->a, 0);
    assert_int_equal(store_read(f->st, get_fn, g), 0);
}

/* Wait until job id has state `want` (or 10 s pass). */
static void wait_state(struct fixture *f, int64_t id, const char *want)
{
    for (int i = 0; i < 1000; i++) {
        struct get g;
        get(f, id, &g);
        bool ok = strcmp(g.j.state, want) == 0;
        arena_free(&g.a);
        if (ok)
            return;
        usleep(10 * 1000);
    }
    fail_msg("job %lld never became %s", (long long)id, want);
}

/* ---- job kinds ---- */

static atomic_int steps_run;
static atomic_bool hold; /* "slow" jobs spin while set */

/* Counts to total, one step at a time; result {"sum":N}. */
static int count_job(struct job *j, const struct store_job *info, struct store *st, void *ctx)
{
    (void)st, (void)ctx;
    int64_t sum = 0;
    for (int64_t i = job_resume_at(j); i < info->total; i++) {
        atomic_fetch_add(&steps_run, 1);
        sum += i + 1;
        while (atomic_load(&hold) && !job_stopping(j))
            usleep(1000);
        int r = job_progress(j, i + 1, info->total);
        if (r < 0)
            return r;
    }
    char res[64];
    snprintf(res, sizeof(res), "{\"sum\":%lld}", (long long)sum);
    job_set_result(j, res);
    return 0;
}

static int failing_job(struct job *j, const struct store_job *info, struct store *st, void *ctx)
{
    (void)info, (void)st, (void)ctx;
    job_fail(j, "the endpoint said no (%d)", 42);
    return -EPROTO;
}

static const struct job_kind kinds[] = {
    { "count", count_job, NULL },
    { "fail", failing_job, NULL },
};

/* ---- tests ---- */

static void test_workers_run_jobs(void **state)
{
    struct fixture *f = *state;
    atomic_store(&hold, false);
    struct jobs *js;
    assert_int_equal(jobs_start(f->st, kinds, 2, 2, &js), 0);
    int64_t a = enqueue(f, "count", "{}", 4);
    int64_t b = enqueue(f, "fail", "{}", 0);
    int64_t c = enqueue(f, "nope", "{}", 0);
    jobs_kick(js);
    wait_state(f, a, "done");
    wait_state(f, b, "failed");
    wait_state(f, c, "failed");
    jobs_stop(js);

    struct get g;
    get(f, a, &g);
    assert_string_equal(g.j.result, "{\"sum\":10}");
    assert_int_equal(g.j.done, 4);
    assert_int_equal(g.j.total, 4);
    assert_int_equal(g.j.attempts, 1);
    assert_true(g.j.started_at > 0 && g.j.finished_at >= g.j.started_at);
    assert_null(g.j.error);
    arena_free(&g.a);
    get(f, b, &g);
    assert_string_equal(g.j.error, "the endpoint said no (42)");
    arena_free(&g.a);
    get(f, c, &g);
    assert_non_null(strstr(g.j.error, "nope"));
    arena_free(&g.a);
}

struct cancel {
    int64_t org, id;
};

static int cancel_fn(struct store_tx *tx, void *ctx)
{
    struct cancel *c = ctx;
    return store_job_cancel(tx, c->org, c->id, clock_now_ms());
}

static void test_cancel(void **state)
{
    struct fixture *f = *state;
    /* queued: cancelled at once, never run */
    int64_t q = enqueue(f, "count", "{}", 3);
    struct cancel c = { f->org, q };
    assert_int_equal(store_write(f->st, cancel_fn, &c), 0);
    struct get g;
    get(f, q, &g);
    assert_string_equal(g.j.state, "cancelled");
    assert_true(g.j.cancel);
    arena_free(&g.a);
    assert_int_equal(store_write(f->st, cancel_fn, &c), -ERR_CONFLICT); /* ended */
    c.org = f->org + 1000;
    assert_int_equal(store_write(f->st, cancel_fn, &c), -ERR_NOT_FOUND); /* another org */

    /* running: stops at its next step */
    atomic_store(&hold, true);
    atomic_store(&steps_run, 0);
    struct jobs *js;
    assert_int_equal(jobs_start(f->st, kinds, 2, 1, &js), 0);
    int64_t r = enqueue(f, "count", "{}", 100);
    jobs_kick(js);
    wait_state(f, r, "running");
    c = (struct cancel){ f->org, r };
    assert_int_equal(store_write(f->st, cancel_fn, &c), 0);
    atomic_store(&hold, false);
    wait_state(f, r, "cancelled");
    jobs_stop(js);
    get(f, r, &g);
    assert_true(g.j.done < 100);
    arena_free(&g.a);
}

static void test_stop_gives_back_and_resume(void **state)
{
    struct fixture *f = *state;
    atomic_store(&hold, true);
    atomic_store(&steps_run, 0);
    struct jobs *js;
    assert_int_equal(jobs_start(f->st, kinds, 2, 1, &js), 0);
    int64_t id = enqueue(f, "count", "{}", 5);
    jobs_kick(js);
    wait_state(f, id, "running");
    jobs_stop(js); /* the held step sees the stop, the job goes back */
    struct get g;
    get(f, id, &g);
    assert_string_equal(g.j.state, "queued");
    int64_t done = g.j.done;
    arena_free(&g.a);

    /* the CLI's way: run it here; it resumes at the recorded step */
    atomic_store(&hold, false);
    atomic_store(&steps_run, 0);
    assert_int_equal(jobs_run_inline(f->st, kinds, 2, id, NULL, NULL), 0);
    get(f, id, &g);
    assert_string_equal(g.j.state, "done");
    assert_int_equal(g.j.attempts, 2);
    assert_int_equal(g.j.done, 5);
    assert_int_equal(atomic_load(&steps_run), 5 - done);
    arena_free(&g.a);
    /* not queued any more */
    assert_int_equal(jobs_run_inline(f->st, kinds, 2, id, NULL, NULL), -ERR_CONFLICT);
}

struct claim {
    struct arena a;
    struct store_job j;
    int got;
    int requeued;
};

static int claim_fn(struct store_tx *tx, void *ctx)
{
    struct claim *c = ctx;
    int r = store_job_claim(tx, "dead-node", 0, clock_now_ms() - 120000, &c->a, &c->j);
    if (r < 0)
        return r;
    c->got = r;
    return 0;
}

static int requeue_fn(struct store_tx *tx, void *ctx)
{
    struct claim *c = ctx;
    return store_job_requeue_stale(tx, clock_now_ms() - 60000, &c->requeued);
}

static void test_stale_jobs_are_queued_again(void **state)
{
    struct fixture *f = *state;
    int64_t id = enqueue(f, "count", "{}", 2);
    struct claim c = { .got = 0 };
    arena_init(&c.a, 0);
    assert_int_equal(store_write(f->st, claim_fn, &c), 0); /* a node took it two minutes ago and died */
    assert_int_equal(c.got, 1);
    assert_int_equal(c.j.id, id);
    assert_int_equal(store_write(f->st, requeue_fn, &c), 0);
    assert_int_equal(c.requeued, 1);
    arena_free(&c.a);
    atomic_store(&hold, false);
    assert_int_equal(jobs_run_inline(f->st, kinds, 2, id, NULL, NULL), 0);
    wait_state(f, id, "done");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_workers_run_jobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_gives_back_and_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_jobs_are_queued_again, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
