/*
 * Unit tests for the store's events (src/store/store_events.c) on SQLite:
 * a committed op delivers its events, in order, before its completion; an
 * op that rolls back to its savepoint drops its own and only its own; a
 * read transaction cannot queue; unsubscribe stops delivery; the NOTIFY
 * payloads (many events packed, a node id ahead) round-trip, split where
 * needed and stay under PostgreSQL's limit.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pthread.h>

#include "core/buf.h"
#include "core/err.h"
#include "store/store.h"
#include "store/store_int.h"

/* ---- fixture ---- */

#define MAX_SEEN 32

struct seen {
    pthread_mutex_t lock;
    int n;
    int64_t org[MAX_SEEN];
    char topic[MAX_SEEN][32];
    char json[MAX_SEEN][128];
};

struct fixture {
    char dir[64];
    char path[128];
    struct store *st;
    struct seen seen;
};

static void collect(void *ctx, const struct store_event *ev)
{
    struct seen *s = ctx;
    pthread_mutex_lock(&s->lock);
    if (s->n < MAX_SEEN) {
        s->org[s->n] = ev->org_id;
        snprintf(s->topic[s->n], sizeof(s->topic[0]), "%s", ev->topic);
        snprintf(s->json[s->n], sizeof(s->json[0]), "%s", ev->json);
        s->n++;
    }
    pthread_mutex_unlock(&s->lock);
}

static int seen_count(struct seen *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->n;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    strcpy(f->dir, "/tmp/annotd-test-events-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/annotd.db", f->dir);
    struct store_options opt = { .url = f->path };
    assert_int_equal(store_open(&opt, &f->st), 0);
    pthread_mutex_init(&f->seen.lock, NULL);
    assert_int_equal(store_subscribe(f->st, collect, &f->seen), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char p[256];
    store_close(f->st);
    const char *suffix[] = { "", "-wal", "-shm" };
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    pthread_mutex_destroy(&f->seen.lock);
    free(f);
    return 0;
}

/* ---- units of work ---- */

struct emit {
    const char *topic;
    const char *json;
    int64_t org;
    int result; /* returned after emitting: < 0 rolls the op back */
    /* optional gate: the op waits until released (to fill a batch behind it) */
    pthread_mutex_t *gate_lock;
    pthread_cond_t *gate_cond;
    bool *gate_open;
    /* completion */
    int done_result;
    int seen_at_done; /* events delivered when the completion ran */
    struct seen *seen;
    pthread_mutex_t *done_lock;
    pthread_cond_t *done_cond;
    int *ndone;
};

static int emit_fn(struct store_tx *tx, void *ctx)
{
    struct emit *e = ctx;
    if (e->gate_lock) {
        pthread_mutex_lock(e->gate_lock);
        while (!*e->gate_open)
            pthread_cond_wait(e->gate_cond, e->gate_lock);
        pthread_mutex_unlock(e->gate_lock);
    }
    if (e->topic) {
        int r = store_event(tx, e->org, e->topic, e->json);
        if (r < 0)
            return r;
    }
    return e->result;
}

static void emit_done(void *ctx, int r)
{
    struct emit *e = ctx;
    e->done_result = r;
    e->seen_at_done = seen_count(e->seen);
    pthread_mutex_lock(e->done_lock);
    (*e->ndone)++;
    pthread_cond_broadcast(e->done_cond);
    pthread_mutex_unlock(e->done_lock);
}

/* ---- tests ---- */

static void test_commit_delivers(void **state)
{
    struct fixture *f = *state;
    struct emit e = { .topic = "project.7", .json = "{\"type\":\"task\",\"task\":1}", .org = 3 };
    assert_int_equal(store_write(f->st, emit_fn, &e), 0);
    /* delivered on the writer before the completion: there when store_write returns */
    assert_int_equal(seen_count(&f->seen), 1);
    assert_int_equal(f->seen.org[0], 3);
    assert_string_equal(f->seen.topic[0], "project.7");
    assert_string_equal(f->seen.json[0], "{\"type\":\"task\",\"task\":1}");
}

static void test_failed_op_drops(void **state)
{
    struct fixture *f = *state;
    struct emit e = {
        .topic = "project.7", .json = "{\"type\":\"x\"}", .org = 3, .result = -ERR_CONFLICT
    };
    assert_int_equal(store_write(f->st, emit_fn, &e), -ERR_CONFLICT);
    assert_int_equal(seen_count(&f->seen), 0);
}

static void test_bad_topic(void **state)
{
    struct fixture *f = *state;
    const char *bad[] = {
        "", "Project.1", "project 1", "project/1",
        "a-very-long-topic-name-that-goes-on-and-on-and-on-beyond-the-cap-0123456789"
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct emit e = { .topic = bad[i], .json = "{}", .org = 1 };
        assert_int_equal(store_write(f->st, emit_fn, &e), -EINVAL);
    }
    assert_int_equal(seen_count(&f->seen), 0);
}

static void test_read_tx_refuses(void **state)
{
    struct fixture *f = *state;
    struct emit e = { .topic = "project.1", .json = "{}", .org = 1 };
    assert_int_equal(store_read(f->st, emit_fn, &e), -EROFS);
    assert_int_equal(seen_count(&f->seen), 0);
}

/*
 * One batch of three ops (queued behind a gated op, so the writer takes them
 * together): the middle one fails after queuing two events and rolls back to
 * its savepoint; the others' events arrive, in order, before any completion.
 */
static void test_savepoint_rollback_drops_only_its_own(void **state)
{
    struct fixture *f = *state;
    pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER, done_lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER, done_cond = PTHREAD_COND_INITIALIZER;
    bool gate_open = false;
    int ndone = 0;

    struct emit ops[4] = {
        { .gate_lock = &gate_lock, .gate_cond = &gate_cond, .gate_open = &gate_open },
        { .topic = "project.1", .json = "{\"type\":\"a\"}", .org = 5 },
        { .topic = "project.1", .json = "{\"type\":\"b\"}", .org = 5, .result = -ERR_CONFLICT },
        { .topic = "project.2", .json = "{\"type\":\"c\"}", .org = 5 },
    };
    for (int i = 0; i < 4; i++) {
        ops[i].seen = &f->seen;
        ops[i].done_lock = &done_lock;
        ops[i].done_cond = &done_cond;
        ops[i].ndone = &ndone;
        assert_int_equal(store_write_async(f->st, emit_fn, &ops[i], emit_done), 0);
    }
    pthread_mutex_lock(&gate_lock);
    gate_open = true;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);

    pthread_mutex_lock(&done_lock);
    while (ndone < 4)
        pthread_cond_wait(&done_cond, &done_lock);
    pthread_mutex_unlock(&done_lock);

    assert_int_equal(ops[1].done_result, 0);
    assert_int_equal(ops[2].done_result, -ERR_CONFLICT);
    assert_int_equal(ops[3].done_result, 0);
    assert_int_equal(seen_count(&f->seen), 2);
    assert_string_equal(f->seen.json[0], "{\"type\":\"a\"}");
    assert_string_equal(f->seen.json[1], "{\"type\":\"c\"}");
    assert_string_equal(f->seen.topic[1], "project.2");
    /* the batch's events were out before its completions ran */
    assert_int_equal(ops[1].seen_at_done, 2);
    assert_int_equal(ops[3].seen_at_done, 2);
}

/* Several events of one op keep their order. */
struct many {
    int n;
};

static int many_fn(struct store_tx *tx, void *ctx)
{
    struct many *m = ctx;
    char json[64];
    for (int i = 0; i < m->n; i++) {
        snprintf(json, sizeof(json), "{\"type\":\"n\",\"i\":%d}", i);
        int r = store_event(tx, 1, "projects", json);
        if (r < 0)
            return r;
    }
    return 0;
}

static void test_order_within_op(void **state)
{
    struct fixture *f = *state;
    struct many m = { .n = 5 };
    assert_int_equal(store_write(f->st, many_fn, &m), 0);
    assert_int_equal(seen_count(&f->seen), 5);
    for (int i = 0; i < 5; i++) {
        char want[64];
        snprintf(want, sizeof(want), "{\"type\":\"n\",\"i\":%d}", i);
        assert_string_equal(f->seen.json[i], want);
    }
}

static void test_unsubscribe_stops(void **state)
{
    struct fixture *f = *state;
    store_unsubscribe(f->st, collect, &f->seen);
    struct emit e = { .topic = "project.1", .json = "{}", .org = 1 };
    assert_int_equal(store_write(f->st, emit_fn, &e), 0);
    assert_int_equal(seen_count(&f->seen), 0);
}

/* The real emitters: a project, an import, a claim and a submit. */
static int project_fn(struct store_tx *tx, void *ctx)
{
    int64_t *id = ctx, org;
    int r = store_org_create(tx, "events org", 1, &org);
    if (r < 0)
        return r;
    struct store_project p = { .org_id = org,
                               .name = "p",
                               .kind = "text",
                               .config = "{}",
                               .overlap = 1,
                               .lease_seconds = 60,
                               .created_at = 1 };
    r = store_project_create(tx, &p, id);
    if (r < 0)
        return r;
    int64_t task;
    r = store_task_insert(tx, *id, 1, "k", str_from("{}"), 0, 1, &task);
    if (r < 0)
        return r;
    return store_project_add_tasks(tx, *id, task, 1);
}

static void test_emitters(void **state)
{
    struct fixture *f = *state;
    int64_t pid = 0;
    assert_int_equal(store_write(f->st, project_fn, &pid), 0);
    assert_int_equal(seen_count(&f->seen), 2);
    assert_string_equal(f->seen.topic[0], "projects");
    assert_non_null(strstr(f->seen.json[0], "\"type\":\"project\""));
    char topic[32];
    snprintf(topic, sizeof(topic), "project.%lld", (long long)pid);
    assert_string_equal(f->seen.topic[1], topic);
    assert_non_null(strstr(f->seen.json[1], "\"type\":\"tasks\",\"created\":1"));
}

/* Read every event of a payload back; returns how many, -1 on a parse error. */
static int unpack(char *payload, uint64_t want_node, struct seen *out)
{
    uint64_t node;
    char *cursor;
    if (store_events_parse_head(payload, &node, &cursor) < 0 || node != want_node)
        return -1;
    int64_t org;
    const char *topic, *json;
    int r, n = 0;
    while ((r = store_events_parse(&cursor, &org, &topic, &json)) > 0) {
        if (out->n < MAX_SEEN) {
            out->org[out->n] = org;
            snprintf(out->topic[out->n], sizeof(out->topic[0]), "%s", topic);
            snprintf(out->json[out->n], sizeof(out->json[0]), "%s", json);
            out->n++;
        }
        n++;
    }
    return r < 0 ? -1 : n;
}

static void test_payload(void **state)
{
    (void)state;
    const uint64_t node = 0x0123456789abcdefULL;
    struct buf b;
    buf_init(&b, 0);
    struct store_event_queue q;
    store_event_queue_init(&q);
    struct seen got = { .n = 0 };

    /* several events in one payload, in order; a JSON's newlines become spaces */
    assert_int_equal(store_event_queue_push(&q, 42, "project.9", "{\"type\":\"task\"}"), 0);
    assert_int_equal(store_event_queue_push(&q, 7, "projects", "{\n\"type\":\"project\"\r\n}"), 0);
    assert_int_equal(store_event_queue_push(&q, 0, "*", "{\"type\":\"resync\"}"), 0);
    assert_int_equal(store_events_pack(&b, node, 1, &q), 0);
    assert_null(q.head);
    assert_int_equal(q.n, 0);
    assert_int_equal(unpack(b.p, node, &got), 3);
    assert_int_equal(got.org[0], 42);
    assert_string_equal(got.topic[0], "project.9");
    assert_string_equal(got.json[0], "{\"type\":\"task\"}");
    assert_int_equal(got.org[1], 7);
    assert_string_equal(got.json[1], "{ \"type\":\"project\"  }");
    assert_string_equal(got.topic[2], "*");

    /* too large for NOTIFY: a resync notice instead, never a failure */
    char *big = malloc(10000);
    assert_non_null(big);
    memset(big, 'x', 9999);
    big[0] = '{';
    big[9998] = '}';
    big[9999] = '\0';
    buf_clear(&b);
    assert_int_equal(store_event_queue_push(&q, 1, "projects", big), 0);
    assert_int_equal(store_events_pack(&b, node, 2, &q), 0);
    assert_true(b.len <= STORE_EVENT_PAYLOAD_MAX);
    got.n = 0;
    assert_int_equal(unpack(b.p, node, &got), 1);
    assert_non_null(strstr(got.json[0], "resync"));

    /* more than a payload holds: split between payloads, none lost, each under the limit */
    memset(big, 'y', 3000);
    big[0] = '{';
    big[2999] = '}';
    big[3000] = '\0';
    for (int i = 0; i < 5; i++)
        assert_int_equal(store_event_queue_push(&q, i, "project.1", big), 0);
    int total = 0, payloads = 0;
    while (q.head) {
        buf_clear(&b);
        assert_int_equal(store_events_pack(&b, node, 3 + (uint64_t)payloads, &q), 0);
        assert_true(b.len <= STORE_EVENT_PAYLOAD_MAX);
        got.n = 0;
        int n = unpack(b.p, node, &got);
        assert_true(n >= 1);
        for (int i = 0; i < n; i++)
            assert_int_equal(got.org[i], total + i);
        total += n;
        payloads++;
    }
    assert_int_equal(total, 5);
    assert_int_equal(payloads, 3);
    free(big);

    /* the queue keeps at most max events, dropping the oldest */
    for (int i = 0; i < 4; i++)
        assert_int_equal(store_event_queue_push(&q, i, "project.1", "{}"), 0);
    assert_int_equal(store_event_queue_trim(&q, 10), 0);
    assert_int_equal(store_event_queue_trim(&q, 1), 3);
    buf_clear(&b);
    assert_int_equal(store_events_pack(&b, node, 9, &q), 0);
    got.n = 0;
    assert_int_equal(unpack(b.p, node, &got), 1);
    assert_int_equal(got.org[0], 3);

    /* malformed: ignored by the listener */
    const char *bad_head[] = {
        "1 project.1 {}\n",
        "N:0123456789abcde 1\n1 p {}\n",   /* 15 digits */
        "N:0123456789ABCDEF 1\n1 p {}\n",  /* upper case */
        "N:0123456789abcdef\n1 p {}\n",    /* no sequence number */
        "N:0123456789abcdef 1x\n1 p {}\n", /* not a number */
        "N:0123456789abcdef 1",            /* no end of line */
    };
    for (size_t i = 0; i < sizeof(bad_head) / sizeof(bad_head[0]); i++) {
        char tmp[64];
        snprintf(tmp, sizeof(tmp), "%s", bad_head[i]);
        uint64_t n;
        char *cursor;
        assert_int_equal(store_events_parse_head(tmp, &n, &cursor), -EINVAL);
    }
    const char *bad_event[] = {
        "x project.1 {}\n", "1 project.1\n", "1  {}\n", "1 project.1 {}", "\n1 p {}\n", " 1 p {}\n",
    };
    for (size_t i = 0; i < sizeof(bad_event) / sizeof(bad_event[0]); i++) {
        char tmp[64];
        snprintf(tmp, sizeof(tmp), "%s", bad_event[i]);
        char *cursor = tmp;
        int64_t org;
        const char *topic, *json;
        assert_int_equal(store_events_parse(&cursor, &org, &topic, &json), -EINVAL);
    }
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit_delivers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_op_drops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_topic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_tx_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_savepoint_rollback_drops_only_its_own, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_order_within_op, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsubscribe_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emitters, setup, teardown),
        cmocka_unit_test(test_payload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
