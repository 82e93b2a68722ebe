/*
 * store_review.c: the review queue, verdicts, and the project's review counts.
 *
 * DESIGN: see store.h ("review"). What runs where:
 * - review_queue is the state of each annotation in review (pending,
 *   accepted, rejected, fixed) with its review lease; the partial index
 *   review_open (state = 0) is the pending set. review/next takes the
 *   oldest pending row whose lease is over and whose author is not the
 *   reviewer: it passes over live leases (at most one per reviewer and
 *   project) and the reviewer's own annotations, never over reviewed rows.
 * - A lease is a write (review/next runs on the writer like a claim): on
 *   SQLite the single writer serialises reviewers; on PostgreSQL the
 *   reviewer's user row is locked (one review/next of a reviewer at a
 *   time) and the candidate row is taken FOR UPDATE SKIP LOCKED, so a
 *   concurrent reviewer passes over it and, once committed, sees its lease.
 * - A verdict locks the annotation's review_queue row (PostgreSQL), so two
 *   verdicts on one annotation queue and the second finds it reviewed.
 *   A reject then locks the author's user row before turning the
 *   assignment into a rework, the lock a claim takes first: a claim either
 *   sees the rework or runs entirely before it.
 * - Counts: n_to_review, n_reviewed, n_accepted, n_rejected in the task's
 *   shard of project_counts, in the same transaction (O(1) to read).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "store/store_int.h"

#define REVIEW_COLS                                                               \
 "id, annotation_id, task_id, project_id, reviewer_id, verdict, comment, result," \
 " COALESCE(fixed_annotation_id, 0), created_at"

static int review_row(struct store_tx *tx, struct db_stmt *s, struct arena *a, void *item)
{
    struct store_review *r = item;
    r->id = db_int64(tx, s, 0);
    r->annotation_id = db_int64(tx, s, 1);
    r->task_id = db_int64(tx, s, 2);
    r->project_id = db_int64(tx, s, 3);
    r->reviewer_id = db_int64(tx, s, 4);
    r->verdict = db_text(tx, s, 5, a);
    r->comment = db_text(tx, s, 6, a);
    r->result = db_text(tx, s, 7, a);
    r->fixed_annotation_id = db_int64(tx, s, 8);
    r->created_at = db_int64(tx, s, 9);
    return 0;
}

/* ---- counts ---- */

enum { RC_TO_REVIEW, RC_REVIEWED, RC_ACCEPTED, RC_REJECTED, RC_N };

/* Add deltas in the shard of `task_id`, then read the totals into ret when not NULL. */
static int review_counts_add(struct store_tx *tx,
                             int64_t project_id,
                             int64_t task_id,
                             const int64_t d[RC_N],
                             int64_t ret[RC_N])
{
    STMT_OR_FAIL(
        s, tx, ST_R_COUNTS_ADD,
        "INSERT INTO project_counts (project_id, shard, n_to_review, n_reviewed, n_accepted,"
        " n_rejected) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (project_id, shard) DO UPDATE SET"
        " n_to_review = project_counts.n_to_review + excluded.n_to_review,"
        " n_reviewed = project_counts.n_reviewed + excluded.n_reviewed,"
        " n_accepted = project_counts.n_accepted + excluded.n_accepted,"
        " n_rejected = project_counts.n_rejected + excluded.n_rejected");
    db_bind_int64(tx, s, 1, project_id);
    db_bind_int64(tx, s, 2, task_id % PROJECT_COUNT_SHARDS);
    for (int i = 0; i < RC_N; i++)
        db_bind_int64(tx, s, 3 + i, d[i]);
    int r = db_run(tx, s);
    if (r < 0 || !ret)
        return r;
    STMT_OR_FAIL(q, tx, ST_R_COUNTS_SUM,
                 "SELECT COALESCE(SUM(n_to_review), 0), COALESCE(SUM(n_reviewed), 0),"
                 " COALESCE(SUM(n_accepted), 0), COALESCE(SUM(n_rejected), 0)"
                 " FROM project_counts WHERE project_id = ?");
    db_bind_int64(tx, q, 1, project_id);
    r = db_step(tx, q);
    if (r == 1)
        for (int i = 0; i < RC_N; i++)
            ret[i] = db_int64(tx, q, i);
    db_reset(tx, q);
    return r < 0 ? r : r == 1 ? 0 : -ERR_STORE;
}

int review_counts_delta(struct store_tx *tx,
                        int64_t project_id,
                        int64_t task_id,
                        int64_t d_to_review,
                        int64_t d_reviewed,
                        int64_t d_accepted,
                        int64_t d_rejected)
{
    const int64_t d[RC_N] = { d_to_review, d_reviewed, d_accepted, d_rejected };
    return review_counts_add(tx, project_id, task_id, d, NULL);
}

/* ---- entering review ---- */

int review_enqueue(struct store_tx *tx,
                   const struct store_annotation *an,
                   int64_t now,
                   int64_t *ret_org_id)
{
    STMT_OR_FAIL(
        s, tx, ST_R_ENQUEUE,
        "INSERT INTO review_queue (annotation_id, project_id, task_id, author_id, updated_at)"
        " VALUES (?, ?, ?, ?, ?)");
    db_bind_int64(tx, s, 1, an->id);
    db_bind_int64(tx, s, 2, an->project_id);
    db_bind_int64(tx, s, 3, an->task_id);
    if (an->user_id)
        db_bind_int64(tx, s, 4, an->user_id);
    else
        db_bind_text(tx, s, 4, NULL);
    db_bind_int64(tx, s, 5, now);
    int r = db_run(tx, s);
    if (r < 0)
        return r;
    const int64_t d[RC_N] = { [RC_TO_REVIEW] = 1 };
    r = review_counts_add(tx, an->project_id, an->task_id, d, NULL);
    if (r < 0 || !ret_org_id)
        return r;
    STMT_OR_FAIL(o, tx, ST_R_ORG, "SELECT org_id FROM projects WHERE id = ?");
    db_bind_int64(tx, o, 1, an->project_id);
    r = db_step(tx, o);
    if (r == 1)
        *ret_org_id = db_int64(tx, o, 0);
    db_reset(tx, o);
    return r < 0 ? r : r == 1 ? 0 : -ERR_STORE;
}

/* ---- review/next ---- */

/* The first annotation id a statement returns: 1 with *ret, 0 none, or an error. */
static int first_id(struct store_tx *tx, struct db_stmt *s, int64_t *ret)
{
    int r = db_step(tx, s);
    if (r == 1)
        *ret = db_int64(tx, s, 0);
    db_reset(tx, s);
    return r;
}

int store_review_next(struct store_tx *tx,
                      int64_t org_id,
                      int64_t project_id,
                      int64_t reviewer_id,
                      int64_t now,
                      struct arena *a,
                      struct store_annotation *ret_an,
                      struct store_task *ret_t)
{
    STMT_OR_FAIL(p, tx, ST_R_PROJECT,
                 "SELECT lease_seconds FROM projects WHERE id = ? AND (org_id = ? OR ? = 0)");
    db_bind_int64(tx, p, 1, project_id);
    db_bind_int64(tx, p, 2, org_id);
    db_bind_int64(tx, p, 3, org_id);
    int r = db_step(tx, p);
    int64_t lease_s = r == 1 ? db_int64(tx, p, 0) : 0;
    db_reset(tx, p);
    if (r <= 0)
        return r < 0 ? r : -ERR_NOT_FOUND;
    int64_t lease_until = now + lease_s * 1000;

    /* PostgreSQL: one review/next of a reviewer at a time (see DESIGN) */
    struct db_stmt *u = stmt_get_dialect(tx, ST_R_REVIEWER, "SELECT id FROM users WHERE id = ?",
                                         "SELECT id FROM users WHERE id = ? FOR NO KEY UPDATE");
    if (!u)
        return -ERR_STORE;
    db_bind_int64(tx, u, 1, reviewer_id);
    r = db_run(tx, u);
    if (r < 0)
        return r;

    /* the reviewer's live lease comes back first */
    STMT_OR_FAIL(h, tx, ST_R_HELD,
                 "SELECT annotation_id FROM review_queue WHERE reviewer_id = ? AND project_id = ?"
                 " AND state = 0 AND lease_until >= ? ORDER BY annotation_id LIMIT 1");
    db_bind_int64(tx, h, 1, reviewer_id);
    db_bind_int64(tx, h, 2, project_id);
    db_bind_int64(tx, h, 3, now);
    int64_t annotation_id = 0;
    r = first_id(tx, h, &annotation_id);
    if (r < 0)
        return r;
    if (r == 0) {
        /* first the annotations this reviewer has not handed back (release) */
        struct db_stmt *f = stmt_get_dialect(
            tx, ST_PA_R_FRESH,
            "SELECT annotation_id FROM review_queue WHERE project_id = ? AND state = 0"
            " AND lease_until < ? AND (author_id IS NULL OR author_id <> ?)"
            " AND (released_by IS NULL OR released_by <> ?)"
            " ORDER BY annotation_id LIMIT 1",
            "SELECT annotation_id FROM review_queue WHERE project_id = ? AND state = 0"
            " AND lease_until < ? AND (author_id IS NULL OR author_id <> ?)"
            " AND (released_by IS NULL OR released_by <> ?)"
            " ORDER BY annotation_id LIMIT 1 FOR UPDATE SKIP LOCKED");
        if (!f)
            return -ERR_STORE;
        db_bind_int64(tx, f, 1, project_id);
        db_bind_int64(tx, f, 2, now);
        db_bind_int64(tx, f, 3, reviewer_id);
        db_bind_int64(tx, f, 4, reviewer_id);
        r = first_id(tx, f, &annotation_id);
        if (r < 0)
            return r;
    }
    if (r == 0) {
        struct db_stmt *c = stmt_get_dialect(
            tx, ST_R_CANDIDATE,
            "SELECT annotation_id FROM review_queue WHERE project_id = ? AND state = 0"
            " AND lease_until < ? AND (author_id IS NULL OR author_id <> ?)"
            " ORDER BY annotation_id LIMIT 1",
            "SELECT annotation_id FROM review_queue WHERE project_id = ? AND state = 0"
            " AND lease_until < ? AND (author_id IS NULL OR author_id <> ?)"
            " ORDER BY annotation_id LIMIT 1 FOR UPDATE SKIP LOCKED");
        if (!c)
            return -ERR_STORE;
        db_bind_int64(tx, c, 1, project_id);
        db_bind_int64(tx, c, 2, now);
        db_bind_int64(tx, c, 3, reviewer_id);
        r = first_id(tx, c, &annotation_id);
        if (r <= 0)
            return r;
    }

    STMT_OR_FAIL(l, tx, ST_R_LEASE,
                 "UPDATE review_queue SET reviewer_id = ?, lease_until = ?, updated_at = ?"
                 " WHERE annotation_id = ?");
    db_bind_int64(tx, l, 1, reviewer_id);
    db_bind_int64(tx, l, 2, lease_until);
    db_bind_int64(tx, l, 3, now);
    db_bind_int64(tx, l, 4, annotation_id);
    r = db_run(tx, l);
    if (r < 0)
        return r;
    r = store_annotation_get(tx, 0, annotation_id, a, ret_an);
    if (r >= 0)
        r = store_task_get(tx, 0, ret_an->task_id, a, ret_t);
    return r < 0 ? r : 1;
}

/* ---- verdicts ---- */

struct review_lock {
    int64_t org_id, author_id, reviewer_id, lease_until;
    int state;
};

/* The annotation's review state, locked (PostgreSQL). 1, 0 when not in review, or an error. */
static int review_lock(struct store_tx *tx, int64_t annotation_id, struct review_lock *ret)
{
    struct db_stmt *s = stmt_get_dialect(
        tx, ST_R_STATE_LOCK,
        "SELECT p.org_id, COALESCE(q.author_id, 0), q.state, COALESCE(q.reviewer_id, 0),"
        " q.lease_until FROM review_queue q JOIN projects p ON p.id = q.project_id"
        " WHERE q.annotation_id = ?",
        "SELECT p.org_id, COALESCE(q.author_id, 0), q.state, COALESCE(q.reviewer_id, 0),"
        " q.lease_until FROM review_queue q JOIN projects p ON p.id = q.project_id"
        " WHERE q.annotation_id = ? FOR UPDATE OF q");
    if (!s)
        return -ERR_STORE;
    db_bind_int64(tx, s, 1, annotation_id);
    int r = db_step(tx, s);
    if (r == 1) {
        ret->org_id = db_int64(tx, s, 0);
        ret->author_id = db_int64(tx, s, 1);
        ret->state = (int)db_int64(tx, s, 2);
        ret->reviewer_id = db_int64(tx, s, 3);
        ret->lease_until = db_int64(tx, s, 4);
    }
    db_reset(tx, s);
    return r;
}

/* ---- release (skip) ---- */

int store_review_release(struct store_tx *tx,
                         int64_t org_id,
                         int64_t reviewer_id,
                         int64_t annotation_id,
                         int64_t now)
{
    struct review_lock lk = { 0 };
    int r = review_lock(tx, annotation_id, &lk);
    if (r < 0)
        return r;
    if (r == 0) {
        /* not in review: 409 when the org has the annotation, else 404 */
        struct arena a;
        arena_init(&a, 0);
        struct store_annotation an;
        r = store_annotation_get(tx, org_id, annotation_id, &a, &an);
        arena_free(&a);
        return r < 0 ? r : -ERR_CONFLICT;
    }
    if (org_id && lk.org_id != org_id)
        return -ERR_NOT_FOUND;
    if (lk.state != REVIEW_PENDING || lk.reviewer_id != reviewer_id || lk.lease_until < now)
        return -ERR_CONFLICT;
    STMT_OR_FAIL(u, tx, ST_PA_R_RELEASE,
                 "UPDATE review_queue SET lease_until = 0, released_by = ?, updated_at = ?"
                 " WHERE annotation_id = ?");
    db_bind_int64(tx, u, 1, reviewer_id);
    db_bind_int64(tx, u, 2, now);
    db_bind_int64(tx, u, 3, annotation_id);
    return db_run(tx, u);
}

/* The fixed result as version N+1 of the annotation, by the reviewer. */
static int insert_fix(struct store_tx *tx,
                      const struct store_annotation *an,
                      int64_t reviewer_id,
                      struct str result,
                      const struct store_label *labels,
                      size_t nlabels,
                      int64_t now,
                      struct arena *a,
                      struct store_annotation *ret)
{
    STMT_OR_FAIL(s, tx, ST_R_FIX_INSERT,
                 "INSERT INTO annotations (task_id, project_id, user_id, version, source, result,"
                 " created_at) VALUES (?, ?, ?, ?, 'review', ?, ?) RETURNING id");
    db_bind_int64(tx, s, 1, an->task_id);
    db_bind_int64(tx, s, 2, an->project_id);
    db_bind_int64(tx, s, 3, reviewer_id);
    db_bind_int64(tx, s, 4, an->version + 1);
    db_bind_textn(tx, s, 5, result.p, result.len);
    db_bind_int64(tx, s, 6, now);
    int r = db_step(tx, s);
    int64_t id = r == 1 ? db_int64(tx, s, 0) : 0;
    db_reset(tx, s);
    if (r <= 0)
        return r < 0 ? r : -ERR_STORE;
    char *text = arena_strndup(a, result.p, result.len);
    if (!text)
        return -ENOMEM;
    *ret = (struct store_annotation){ .id = id,
                                      .task_id = an->task_id,
                                      .project_id = an->project_id,
                                      .user_id = reviewer_id,
                                      .version = an->version + 1,
                                      .source = "review",
                                      .result = text,
                                      .created_at = now };
    return annotation_labels_insert(tx, ret, labels, nlabels);
}

static int emit_review(struct store_tx *tx,
                       int64_t org_id,
                       const struct store_review *rv,
                       const int64_t counts[RC_N])
{
    char topic[32], json[512];
    snprintf(topic, sizeof(topic), "project.%" PRId64, rv->project_id);
    snprintf(json, sizeof(json),
             "{\"type\":\"review\",\"review\":%" PRId64 ",\"annotation\":%" PRId64
             ",\"task\":%" PRId64 ",\"reviewer\":%" PRId64 ",\"verdict\":\"%s\","
             "\"fixed_annotation\":%" PRId64 ",\"counts\":{\"to_review\":%" PRId64
             ",\"reviewed\":%" PRId64 ",\"accepted\":%" PRId64 ",\"rejected\":%" PRId64 "}}",
             rv->id, rv->annotation_id, rv->task_id, rv->reviewer_id, rv->verdict,
             rv->fixed_annotation_id, counts[RC_TO_REVIEW], counts[RC_REVIEWED],
             counts[RC_ACCEPTED], counts[RC_REJECTED]);
    return store_event(tx, org_id, topic, json);
}

int store_review_add(struct store_tx *tx,
                     int64_t org_id,
                     int64_t reviewer_id,
                     int64_t annotation_id,
                     const char *verdict,
                     const char *comment,
                     struct str result,
                     const struct store_label *labels,
                     size_t nlabels,
                     int64_t now,
                     struct arena *a,
                     struct store_review *ret,
                     struct store_annotation *ret_fixed)
{
    int state = strcmp(verdict, "accept") == 0   ? REVIEW_ACCEPTED
                : strcmp(verdict, "reject") == 0 ? REVIEW_REJECTED
                : strcmp(verdict, "fix") == 0    ? REVIEW_FIXED
                                                 : -1;
    if (state < 0 || (state == REVIEW_FIXED) != (result.p != NULL))
        return -EINVAL;

    struct review_lock lk = { 0 };
    int r = review_lock(tx, annotation_id, &lk);
    if (r < 0)
        return r;
    if (r == 1 && org_id && lk.org_id != org_id)
        return -ERR_NOT_FOUND;
    struct store_annotation an;
    int g = store_annotation_get(tx, org_id, annotation_id, a, &an);
    if (g < 0)
        return g;
    if (r == 0)
        return -ERR_CONFLICT; /* not in review: a fix, or not a human annotation */
    if (lk.author_id == reviewer_id)
        return -ERR_FORBIDDEN;
    if (lk.state != REVIEW_PENDING)
        return -ERR_CONFLICT;
    if (lk.reviewer_id && lk.reviewer_id != reviewer_id && lk.lease_until >= now)
        return -ERR_CONFLICT; /* another reviewer holds it */

    struct store_annotation fixed = { 0 };
    if (state == REVIEW_FIXED) {
        r = insert_fix(tx, &an, reviewer_id, result, labels, nlabels, now, a, &fixed);
        if (r < 0)
            return r;
    }

    STMT_OR_FAIL(
        ins, tx, ST_R_INSERT,
        "INSERT INTO reviews (annotation_id, task_id, project_id, reviewer_id, verdict,"
        " comment, result, fixed_annotation_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " RETURNING " REVIEW_COLS);
    db_bind_int64(tx, ins, 1, annotation_id);
    db_bind_int64(tx, ins, 2, an.task_id);
    db_bind_int64(tx, ins, 3, an.project_id);
    db_bind_int64(tx, ins, 4, reviewer_id);
    db_bind_text(tx, ins, 5, verdict);
    db_bind_text(tx, ins, 6, comment ? comment : "");
    db_bind_textn(tx, ins, 7, result.p, result.len);
    if (fixed.id)
        db_bind_int64(tx, ins, 8, fixed.id);
    else
        db_bind_text(tx, ins, 8, NULL);
    db_bind_int64(tx, ins, 9, now);
    r = db_step(tx, ins);
    if (r == 1)
        review_row(tx, ins, a, ret);
    db_reset(tx, ins);
    if (r <= 0)
        return r < 0 ? r : -ERR_STORE;

    STMT_OR_FAIL(
        set, tx, ST_R_STATE_SET,
        "UPDATE review_queue SET state = ?, reviewer_id = ?, lease_until = 0, updated_at = ?"
        " WHERE annotation_id = ?");
    db_bind_int64(tx, set, 1, state);
    db_bind_int64(tx, set, 2, reviewer_id);
    db_bind_int64(tx, set, 3, now);
    db_bind_int64(tx, set, 4, annotation_id);
    r = db_run(tx, set);
    if (r < 0)
        return r;

    if (state == REVIEW_REJECTED && an.assignment_id) {
        /* the author's claims wait while the assignment turns into a rework */
        struct db_stmt *u = stmt_get_dialect(tx, ST_R_REVIEWER, "SELECT id FROM users WHERE id = ?",
                                             "SELECT id FROM users WHERE id = ? FOR NO KEY UPDATE");
        if (!u)
            return -ERR_STORE;
        db_bind_int64(tx, u, 1, an.user_id);
        r = db_run(tx, u);
        if (r >= 0)
            r = assignment_rework(tx, an.assignment_id, an.result, now);
        if (r < 0)
            return r;
    }

    const int64_t d[RC_N] = {
        [RC_TO_REVIEW] = -1,
        [RC_REVIEWED] = 1,
        [RC_ACCEPTED] = state != REVIEW_REJECTED,
        [RC_REJECTED] = state == REVIEW_REJECTED,
    };
    int64_t counts[RC_N];
    r = review_counts_add(tx, an.project_id, an.task_id, d, counts);
    if (r < 0)
        return r;
    r = emit_review(tx, lk.org_id, ret, counts);
    if (r < 0)
        return r;
    if (ret_fixed)
        *ret_fixed = fixed;
    return 0;
}

/* ---- reading ---- */

int store_review_list(struct store_tx *tx,
                      int64_t annotation_id,
                      int64_t after,
                      int limit,
                      struct arena *a,
                      struct store_review **ret,
                      int *ret_n)
{
    STMT_OR_FAIL(s, tx, ST_R_LIST,
                 "SELECT " REVIEW_COLS " FROM reviews WHERE annotation_id = ? AND id > ?"
                 " ORDER BY id LIMIT ?");
    db_bind_int64(tx, s, 1, annotation_id);
    db_bind_int64(tx, s, 2, after);
    db_bind_int64(tx, s, 3, limit);
    return db_collect(tx, s, limit, a, sizeof(**ret), review_row, ret, ret_n);
}

int store_assignment_review(struct store_tx *tx,
                            int64_t task_id,
                            int64_t assignment_id,
                            struct arena *a,
                            struct store_review *ret)
{
    STMT_OR_FAIL(s, tx, ST_R_LATEST,
                 "SELECT r.id, r.annotation_id, r.task_id, r.project_id, r.reviewer_id, r.verdict,"
                 " r.comment, r.result, COALESCE(r.fixed_annotation_id, 0), r.created_at"
                 " FROM annotations n JOIN reviews r ON r.annotation_id = n.id"
                 " WHERE n.task_id = ? AND n.assignment_id = ? ORDER BY r.id DESC LIMIT 1");
    db_bind_int64(tx, s, 1, task_id);
    db_bind_int64(tx, s, 2, assignment_id);
    int r = db_step(tx, s);
    if (r == 1)
        review_row(tx, s, a, ret);
    db_reset(tx, s);
    return r < 0 ? r : r == 1 ? 0 : -ERR_NOT_FOUND;
}
