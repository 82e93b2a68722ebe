/*
 * store_jobs.c: the background job queue (0006_jobs.sql).
 *
 * DESIGN: see store.h ("background jobs") and src/jobs/jobs.h. A claim is
 * one UPDATE of the oldest queued row (PostgreSQL: FOR UPDATE SKIP LOCKED,
 * so workers of several nodes never take the same job). Every change of a
 * job's state or progress is also an event "job" on project.<id>, so the
 * browser follows it live.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/json.h"
#include "store/store_int.h"

#define JOB_COLS                                                                                   \
    "id, org_id, COALESCE(project_id, 0), kind, state, params, result, error, progress_done,"      \
    " progress_total, cancel, attempts, COALESCE(created_by, 0), created_at,"                      \
    " COALESCE(started_at, 0), COALESCE(finished_at, 0)"

static int job_row(struct store_tx *tx, struct db_stmt *s, struct arena *a, void *item)
{
    struct store_job *j = item;
    j->id = db_int64(tx, s, 0);
    j->org_id = db_int64(tx, s, 1);
    j->project_id = db_int64(tx, s, 2);
    j->kind = db_text(tx, s, 3, a);
    j->state = db_text(tx, s, 4, a);
    j->params = db_text(tx, s, 5, a);
    j->result = db_text(tx, s, 6, a);
    j->error = db_text(tx, s, 7, a);
    j->done = db_int64(tx, s, 8);
    j->total = db_int64(tx, s, 9);
    j->cancel = db_int64(tx, s, 10) != 0;
    j->attempts = (int)db_int64(tx, s, 11);
    j->created_by = db_int64(tx, s, 12);
    j->created_at = db_int64(tx, s, 13);
    j->started_at = db_int64(tx, s, 14);
    j->finished_at = db_int64(tx, s, 15);
    return 0;
}

/* The event of a job's change, on its project's topic. */
static int job_event(struct store_tx *tx, const struct store_job *j)
{
    if (!j->project_id)
        return 0;
    char topic[32];
    snprintf(topic, sizeof(topic), "project.%" PRId64, j->project_id);
    struct buf b;
    buf_init(&b, 1024);
    struct jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kstr(&w, "type", "job");
    jw_kint(&w, "job", j->id);
    jw_kstr(&w, "kind", j->kind);
    jw_kstr(&w, "state", j->state);
    jw_kint(&w, "done", j->done);
    jw_kint(&w, "total", j->total);
    jw_obj_end(&w);
    int r = b.err ? -ENOMEM : store_event(tx, j->org_id, topic, b.p);
    buf_release(&b);
    return r;
}

int store_job_create(struct store_tx *tx, const struct store_job *j, int64_t now, int64_t *ret_id)
{
    STMT_OR_FAIL(s, tx, ST_J_CREATE,
                 "INSERT INTO jobs (org_id, project_id, kind, state, params, progress_total, created_by,"
                 " created_at) VALUES (?, ?, ?, 'queued', ?, ?, ?, ?) RETURNING id");
    db_bind_int64(tx, s, 1, j->org_id);
    if (j->project_id)
        db_bind_int64(tx, s, 2, j->project_id);
    else
        db_bind_text(tx, s, 2, NULL);
    db_bind_text(tx, s, 3, j->kind);
    db_bind_text(tx, s, 4, j->params ? j->params : "{}");
    db_bind_int64(tx, s, 5, j->total);
    if (j->created_by)
        db_bind_int64(tx, s, 6, j->created_by);
    else
        db_bind_text(tx, s, 6, NULL);
    db_bind_int64(tx, s, 7, now);
    int r = db_step(tx, s);
    int64_t id = r == 1 ? db_int64(tx, s, 0) : 0;
    db_reset(tx, s);
    if (r < 0)
        return r;
    if (r == 0)
        return -ERR_STORE;
    struct store_job ev = *j;
    ev.id = id;
    ev.state = "queued";
    ev.done = 0;
    r = job_event(tx, &ev);
    if (r < 0)
        return r;
    *ret_id = id;
    return 0;
}

int store_job_get(struct store_tx *tx, int64_t org_id, int64_t id, struct arena *a, struct store_job *ret)
{
    STMT_OR_FAIL(s, tx, ST_J_GET,
                 "SELECT " JOB_COLS " FROM jobs WHERE id = ? AND (org_id = ? OR ? = 0)");
    db_bind_int64(tx, s, 1, id);
    db_bind_int64(tx, s, 2, org_id);
    db_bind_int64(tx, s, 3, org_id);
    int r = db_step(tx, s);
    if (r == 1)
        job_row(tx, s, a, ret);
    db_reset(tx, s);
    return r < 0 ? r : r == 1 ? 0 : -ERR_NOT_FOUND;
}

int store_job_list(struct store_tx *tx,
                   int64_t project_id,
                   int limit,
                   struct arena *a,
                   struct store_job **ret,
                   int *ret_n)
{
    STMT_OR_FAIL(s, tx, ST_J_LIST,
                 "SELECT " JOB_COLS " FROM jobs WHERE project_id = ? ORDER BY id DESC LIMIT ?");
    db_bind_int64(tx, s, 1, project_id);
    db_bind_int64(tx, s, 2, limit);
    return db_collect(tx, s, limit, a, sizeof(**ret), job_row, ret, ret_n);
}

/*
 * Step an UPDATE ... RETURNING JOB_COLS once: 1 with *j read (strings in
 * a), 0 when no row changed, or a negative error; the statement is reset.
 */
static int changed_job(struct store_tx *tx, struct db_stmt *s, struct arena *a, struct store_job *j)
{
    int r = db_step(tx, s);
    if (r == 1) {
        int e = job_row(tx, s, a, j);
        if (e < 0)
            r = e;
    }
    db_reset(tx, s);
    return r;
}

int store_job_claim(struct store_tx *tx,
                    const char *node,
                    int64_t only_id,
                    int64_t now,
                    struct arena *a,
                    struct store_job *ret)
{
    struct db_stmt *s = stmt_get_dialect(
        tx, ST_J_CLAIM,
        "UPDATE jobs SET state = 'running', node = ?, started_at = COALESCE(started_at, ?),"
        " heartbeat_at = ?, attempts = attempts + 1"
        " WHERE id = (SELECT id FROM jobs WHERE state = 'queued' AND (id = ? OR ? = 0) ORDER BY id LIMIT 1)"
        " RETURNING " JOB_COLS,
        "UPDATE jobs SET state = 'running', node = ?, started_at = COALESCE(started_at, ?),"
        " heartbeat_at = ?, attempts = attempts + 1"
        " WHERE id = (SELECT id FROM jobs WHERE state = 'queued' AND (id = ? OR ? = 0) ORDER BY id LIMIT 1"
        " FOR UPDATE SKIP LOCKED) RETURNING " JOB_COLS);
    if (!s)
        return -ERR_STORE;
    db_bind_text(tx, s, 1, node);
    db_bind_int64(tx, s, 2, now);
    db_bind_int64(tx, s, 3, now);
    db_bind_int64(tx, s, 4, only_id);
    db_bind_int64(tx, s, 5, only_id);
    int r = changed_job(tx, s, a, ret);
    if (r == 1) {
        int e = job_event(tx, ret);
        if (e < 0)
            return e;
    }
    return r;
}

int store_job_progress(struct store_tx *tx, int64_t id, int64_t done, int64_t total, int64_t now)
{
    STMT_OR_FAIL(s, tx, ST_J_PROGRESS,
                 "UPDATE jobs SET progress_done = ?, progress_total = ?, heartbeat_at = ?"
                 " WHERE id = ? AND state = 'running' RETURNING " JOB_COLS);
    db_bind_int64(tx, s, 1, done);
    db_bind_int64(tx, s, 2, total);
    db_bind_int64(tx, s, 3, now);
    db_bind_int64(tx, s, 4, id);
    struct arena a;
    arena_init(&a, 0);
    struct store_job j;
    int r = changed_job(tx, s, &a, &j);
    if (r == 1) { /* 0: no longer running here: stop */
        int e = job_event(tx, &j);
        r = e < 0 ? e : j.cancel ? 0 : 1;
    }
    arena_free(&a);
    return r;
}

int store_job_finish(struct store_tx *tx,
                     int64_t id,
                     const char *state,
                     const char *result,
                     const char *error,
                     int64_t now)
{
    bool ended = strcmp(state, "queued") != 0;
    STMT_OR_FAIL(s, tx, ST_J_FINISH,
                 "UPDATE jobs SET state = ?, result = COALESCE(?, result), error = ?, finished_at = ?,"
                 " node = NULL WHERE id = ? AND state = 'running' RETURNING " JOB_COLS);
    db_bind_text(tx, s, 1, state);
    db_bind_text(tx, s, 2, result);
    db_bind_text(tx, s, 3, error);
    if (ended)
        db_bind_int64(tx, s, 4, now);
    else
        db_bind_text(tx, s, 4, NULL);
    db_bind_int64(tx, s, 5, id);
    struct arena a;
    arena_init(&a, 0);
    struct store_job j;
    int r = changed_job(tx, s, &a, &j);
    r = r < 0 ? r : r == 0 ? -ERR_CONFLICT : job_event(tx, &j);
    arena_free(&a);
    return r;
}

int store_job_cancel(struct store_tx *tx, int64_t org_id, int64_t id, int64_t now)
{
    STMT_OR_FAIL(s, tx, ST_J_CANCEL,
                 "UPDATE jobs SET cancel = 1,"
                 " state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END,"
                 " finished_at = CASE WHEN state = 'queued' THEN ? ELSE finished_at END"
                 " WHERE id = ? AND (org_id = ? OR ? = 0) AND state IN ('queued', 'running')"
                 " RETURNING " JOB_COLS);
    db_bind_int64(tx, s, 1, now);
    db_bind_int64(tx, s, 2, id);
    db_bind_int64(tx, s, 3, org_id);
    db_bind_int64(tx, s, 4, org_id);
    struct arena a;
    arena_init(&a, 0);
    struct store_job j;
    int r = changed_job(tx, s, &a, &j);
    if (r == 1)
        r = job_event(tx, &j);
    else if (r == 0) { /* it exists but has ended (-ERR_CONFLICT), or is not the org's */
        int g = store_job_get(tx, org_id, id, &a, &j);
        r = g < 0 ? g : -ERR_CONFLICT;
    }
    arena_free(&a);
    return r;
}

int store_job_requeue_stale(struct store_tx *tx, int64_t before, int *ret_n)
{
    STMT_OR_FAIL(s, tx, ST_J_REQUEUE,
                 "UPDATE jobs SET state = 'queued', node = NULL WHERE state = 'running'"
                 " AND heartbeat_at < ? RETURNING id");
    db_bind_int64(tx, s, 1, before);
    int n = 0, r;
    while ((r = db_step(tx, s)) == 1)
        n++;
    db_reset(tx, s);
    if (r < 0)
        return r;
    *ret_n = n;
    return 0;
}
