/*
 * store_queue.c: assignments, claims, submissions, leases, annotations.
 *
 * DESIGN
 * A task's counters (n_leased, n_submitted) and open_slots =
 * overlap - n_leased - n_submitted change only through task_adjust(), in
 * the same transaction as the assignment they follow, so they always agree
 * with the assignments (store_check_queue() verifies it). The open set is
 * the partial index tasks_open (open_slots > 0): a claim takes the first
 * eligible task from it and never scans past leased or finished tasks.
 * Expired leases stay "leased" (and keep their slot) until the reaper
 * returns them; a late submit on such a lease is accepted.
 *
 * Prefetch (store_claim_after): a claim may look past one live lease of the
 * user's; it then returns another live one before taking a new task, so a
 * user holds at most two live normal leases per project. It runs under the
 * same user lock as any claim, so parallel claims of one user serialise.
 *
 * Events: every change of a task's counters is announced on the topic
 * "project.<id>" in the same transaction (store_event(): delivered only
 * once committed): {"type":"task","task":ID,"state":"in_progress",
 * "cause":"claim",...,"counts":{...}}, and a submit first announces
 * {"type":"annotation",...}. Notices, not copies: ids, states and counts.
 *
 * Review (store_review.c): a submit puts the new annotation in review. A
 * rejected annotation's assignment becomes kind "rework" (assignment_rework)
 * and keeps its slot: it stays counted in n_submitted, is never reaped, and
 * cannot be skipped; the author's claim returns it before anything else
 * (under the user's row lock, so a claim never races a reject into handing
 * out the task twice), and its submit adds a version without touching the
 * task's counters and makes the assignment "normal" again.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "store/store_int.h"

#define ASSIGNMENT_COLS                                                                            \
    "id, task_id, project_id, user_id, kind, state, lease_until, draft, created_at, updated_at"

static void assignment_row(struct store_tx *tx, struct db_stmt *s, struct arena *a,
                           struct store_assignment *r)
{
    r->id = db_int64(tx, s, 0);
    r->task_id = db_int64(tx, s, 1);
    r->project_id = db_int64(tx, s, 2);
    r->user_id = db_int64(tx, s, 3);
    r->kind = db_text(tx, s, 4, a);
    r->state = db_text(tx, s, 5, a);
    r->lease_until = db_int64(tx, s, 6);
    r->draft = db_text(tx, s, 7, a);
    r->created_at = db_int64(tx, s, 8);
    r->updated_at = db_int64(tx, s, 9);
}

/* A task after task_adjust(), for its event. */
struct task_change {
    int64_t org_id, project_id, task_id;
    int state, leased, submitted;
    int64_t n_tasks, n_in_progress, n_done; /* the project's counts */
};

static int emit_task(struct store_tx *tx, const struct task_change *c, const char *cause)
{
    static const char *const states[] = { "open", "in_progress", "done" };
    char topic[32], json[384];
    snprintf(topic, sizeof(topic), "project.%" PRId64, c->project_id);
    snprintf(json, sizeof(json),
             "{\"type\":\"task\",\"task\":%" PRId64 ",\"state\":\"%s\",\"cause\":\"%s\","
             "\"leased\":%d,\"submitted\":%d,\"counts\":{\"tasks\":%" PRId64
             ",\"in_progress\":%" PRId64 ",\"done\":%" PRId64 "}}",
             c->task_id, states[c->state >= 0 && c->state <= TASK_DONE ? c->state : 0], cause,
             c->leased, c->submitted, c->n_tasks, c->n_in_progress, c->n_done);
    return store_event(tx, c->org_id, topic, json);
}

/*
 * Apply deltas to a task's counters, recompute open_slots and state, and
 * keep the project's counts in step. *ret (for the event) is written on
 * success.
 */
static int task_adjust(struct store_tx *tx,
                       int64_t task_id,
                       int d_leased,
                       int d_submitted,
                       struct task_change *ret)
{
    /* PostgreSQL: lock the task row, so that concurrent claims and submits
     * on other connections (READ COMMITTED) wait and read fresh counters;
     * SQLite: the single writer serialises them already. */
    struct db_stmt *q = stmt_get_dialect(
        tx, ST_Q_TASK_GET,
        "SELECT t.project_id, t.state, t.n_leased, t.n_submitted, p.overlap, p.org_id"
        " FROM tasks t JOIN projects p ON p.id = t.project_id WHERE t.id = ?",
        "SELECT t.project_id, t.state, t.n_leased, t.n_submitted, p.overlap, p.org_id"
        " FROM tasks t JOIN projects p ON p.id = t.project_id WHERE t.id = ? FOR UPDATE OF t");
    if (!q)
        return -ERR_STORE;
    db_bind_int64(tx, q, 1, task_id);
    int r = db_step(tx, q);
    if (r != 1) {
        db_reset(tx, q);
        return r < 0 ? r : -ERR_NOT_FOUND;
    }
    int64_t project_id = db_int64(tx, q, 0);
    int old_state = (int)db_int64(tx, q, 1);
    int leased = (int)db_int64(tx, q, 2) + d_leased;
    int submitted = (int)db_int64(tx, q, 3) + d_submitted;
    int overlap = (int)db_int64(tx, q, 4);
    struct task_change c = { .org_id = db_int64(tx, q, 5), .project_id = project_id, .task_id = task_id };
    db_reset(tx, q);
    if (leased < 0 || submitted < 0)
        return -ERR_STORE; /* counters out of step: refuse rather than corrupt */

    int open_slots = overlap - leased - submitted;
    if (open_slots < 0)
        open_slots = 0;
    int state = submitted >= overlap ? TASK_DONE : leased + submitted > 0 ? TASK_IN_PROGRESS : TASK_OPEN;

    STMT_OR_FAIL(u, tx, ST_Q_TASK_UPDATE,
                 "UPDATE tasks SET n_leased = ?, n_submitted = ?, open_slots = ?, state = ? WHERE id = ?");
    db_bind_int64(tx, u, 1, leased);
    db_bind_int64(tx, u, 2, submitted);
    db_bind_int64(tx, u, 3, open_slots);
    db_bind_int64(tx, u, 4, state);
    db_bind_int64(tx, u, 5, task_id);
    r = db_run(tx, u);
    if (r < 0)
        return r;
    c.state = state;
    c.leased = leased;
    c.submitted = submitted;
    /* the project's counts: the task's shard moves, the totals are read back */
    int64_t counts[3];
    r = project_counts_add(tx, project_id, task_id, 0,
                           (state == TASK_IN_PROGRESS) - (old_state == TASK_IN_PROGRESS),
                           (state == TASK_DONE) - (old_state == TASK_DONE), counts);
    if (r < 0)
        return r;
    c.n_tasks = counts[0];
    c.n_in_progress = counts[1];
    c.n_done = counts[2];
    *ret = c;
    return 0;
}

/* task_adjust() and its event. */
static int task_adjust_emit(struct store_tx *tx,
                            int64_t task_id,
                            int d_leased,
                            int d_submitted,
                            const char *cause)
{
    struct task_change c;
    int r = task_adjust(tx, task_id, d_leased, d_submitted, &c);
    return r < 0 ? r : emit_task(tx, &c, cause);
}

static int project_lease(struct store_tx *tx, int64_t org_id, int64_t project_id, int *ret_lease_s)
{
    STMT_OR_FAIL(s, tx, ST_Q_PROJECT,
                 "SELECT lease_seconds FROM projects WHERE id = ? AND (org_id = ? OR ? = 0)");
    db_bind_int64(tx, s, 1, project_id);
    db_bind_int64(tx, s, 2, org_id);
    db_bind_int64(tx, s, 3, org_id);
    int r = db_step(tx, s);
    if (r == 1)
        *ret_lease_s = (int)db_int64(tx, s, 0);
    db_reset(tx, s);
    return r < 0 ? r : r == 1 ? 0 : -ERR_NOT_FOUND;
}

static int set_assignment(struct store_tx *tx, int64_t id, const char *state, int64_t lease_until,
                          bool keep_draft, int64_t now)
{
    STMT_OR_FAIL(s, tx, ST_Q_ASSIGNMENT_SET,
                 "UPDATE assignments SET state = ?, lease_until = ?, updated_at = ?,"
                 " draft = CASE WHEN ? = 1 THEN draft ELSE NULL END WHERE id = ?");
    db_bind_text(tx, s, 1, state);
    db_bind_int64(tx, s, 2, lease_until);
    db_bind_int64(tx, s, 3, now);
    db_bind_int64(tx, s, 4, keep_draft ? 1 : 0);
    db_bind_int64(tx, s, 5, id);
    return db_run(tx, s);
}

/* Bind (id, user_id) to an assignment lookup, run it, read its one row. */
static int assignment_fetch(struct store_tx *tx,
                            struct db_stmt *s,
                            int64_t user_id,
                            int64_t id,
                            struct arena *a,
                            struct store_assignment *ret)
{
    db_bind_int64(tx, s, 1, id);
    db_bind_int64(tx, s, 2, user_id);
    db_bind_int64(tx, s, 3, user_id);
    int r = db_step(tx, s);
    if (r == 1)
        assignment_row(tx, s, a, ret);
    db_reset(tx, s);
    return r < 0 ? r : r == 1 ? 0 : -ERR_NOT_FOUND;
}

int store_assignment_get(struct store_tx *tx,
                         int64_t user_id,
                         int64_t id,
                         struct arena *a,
                         struct store_assignment *ret)
{
    STMT_OR_FAIL(s, tx, ST_Q_ASSIGNMENT_GET,
                 "SELECT " ASSIGNMENT_COLS " FROM assignments WHERE id = ? AND (user_id = ? OR ? = 0)");
    return assignment_fetch(tx, s, user_id, id, a, ret);
}

/*
 * store_assignment_get() for a write that depends on the assignment's state.
 * PostgreSQL: lock the row, so that a second submit (skip, release ...) of
 * the same assignment on another connection waits and then reads the state
 * the first one left; SQLite: the single writer serialises them already.
 */
static int assignment_get_for_update(struct store_tx *tx,
                                     int64_t user_id,
                                     int64_t id,
                                     struct arena *a,
                                     struct store_assignment *ret)
{
    struct db_stmt *s = stmt_get_dialect(
        tx, ST_Q_ASSIGNMENT_LOCK,
        "SELECT " ASSIGNMENT_COLS " FROM assignments WHERE id = ? AND (user_id = ? OR ? = 0)",
        "SELECT " ASSIGNMENT_COLS " FROM assignments WHERE id = ? AND (user_id = ? OR ? = 0)"
        " FOR UPDATE");
    if (!s)
        return -ERR_STORE;
    return assignment_fetch(tx, s, user_id, id, a, ret);
}

int store_claim(struct store_tx *tx,
                int64_t org_id,
                int64_t project_id,
                int64_t user_id,
                int64_t now,
                struct arena *a,
                struct store_assignment *ret_a,
                struct store_task *ret_t)
{
    return store_claim_after(tx, org_id, project_id, user_id, 0, now, a, ret_a, ret_t);
}

/*
 * `after` (the prefetch): the caller's live lease `after` in this project
 * stays where it is and the claim looks past it. Checked under the user's
 * row lock, before anything is written: not the caller's (or no such
 * assignment) -ERR_NOT_FOUND; another project's, or not leased,
 * -ERR_CONFLICT.
 */
static int after_check(struct store_tx *tx, int64_t project_id, int64_t user_id, int64_t after,
                       struct arena *a)
{
    struct store_assignment as;
    int r = assignment_get_for_update(tx, user_id, after, a, &as);
    if (r < 0)
        return r;
    if (as.project_id != project_id || strcmp(as.state, "leased") != 0)
        return -ERR_CONFLICT;
    return 0;
}

int store_claim_after(struct store_tx *tx,
                      int64_t org_id,
                      int64_t project_id,
                      int64_t user_id,
                      int64_t after,
                      int64_t now,
                      struct arena *a,
                      struct store_assignment *ret_a,
                      struct store_task *ret_t)
{
    int lease_s;
    int r = project_lease(tx, org_id, project_id, &lease_s);
    if (r < 0)
        return r;
    int64_t lease_until = now + (int64_t)lease_s * 1000;

    /* One claim of a user at a time. PostgreSQL: lock the user's row (NO KEY:
     * inserts that reference the user go on), so that a second claim waits
     * and then finds the first one's lease below; SQLite: the single writer
     * serialises them already, this is a primary-key lookup. */
    struct db_stmt *u = stmt_get_dialect(tx, ST_Q_CLAIMER, "SELECT id FROM users WHERE id = ?",
                                         "SELECT id FROM users WHERE id = ? FOR NO KEY UPDATE");
    if (!u)
        return -ERR_STORE;
    db_bind_int64(tx, u, 1, user_id);
    r = db_run(tx, u);
    if (r < 0)
        return r;
    if (after) {
        r = after_check(tx, project_id, user_id, after, a);
        if (r < 0)
            return r;
    }

    /* a rework (a rejected annotation) comes back to its author first;
     * with `after`, a rework other than that one */
    struct db_stmt *w =
        after ? stmt_get(tx, ST_Q_REWORK_OTHER,
                         "SELECT " ASSIGNMENT_COLS " FROM assignments WHERE user_id = ? AND project_id = ?"
                         " AND kind = 'rework' AND state IN ('leased', 'released') AND id <> ?"
                         " ORDER BY id LIMIT 1")
              : stmt_get(tx, ST_Q_REWORK_HELD,
                         "SELECT " ASSIGNMENT_COLS " FROM assignments WHERE user_id = ? AND project_id = ?"
                         " AND kind = 'rework' AND state IN ('leased', 'released') ORDER BY id LIMIT 1");
    if (!w)
        return -ERR_STORE;
    db_bind_int64(tx, w, 1, user_id);
    db_bind_int64(tx, w, 2, project_id);
    if (after)
        db_bind_int64(tx, w, 3, after);
    r = db_step(tx, w);
    if (r == 1)
        assignment_row(tx, w, a, ret_a);
    db_reset(tx, w);
    if (r < 0)
        return r;
    if (r == 1) {
        r = set_assignment(tx, ret_a->id, "leased", lease_until, true, now);
        if (r < 0)
            return r;
        ret_a->state = "leased";
        ret_a->lease_until = lease_until;
        ret_a->updated_at = now;
        r = store_task_get(tx, 0, ret_a->task_id, a, ret_t);
        return r < 0 ? r : 1;
    }

    /* a lease the user holds already comes back (with its draft), extended;
     * with `after`, a live lease other than that one (the prefetched task),
     * so that a user holds at most two: `after` and the one returned */
    struct db_stmt *h =
        after ? stmt_get(tx, ST_Q_HELD_OTHER,
                         "SELECT " ASSIGNMENT_COLS " FROM assignments WHERE user_id = ? AND project_id = ?"
                         " AND state = 'leased' AND kind = 'normal' AND id <> ? ORDER BY id LIMIT 1")
              : stmt_get(tx, ST_Q_HELD,
                         "SELECT " ASSIGNMENT_COLS " FROM assignments WHERE user_id = ? AND project_id = ?"
                         " AND state = 'leased' AND kind = 'normal' ORDER BY id LIMIT 1");
    if (!h)
        return -ERR_STORE;
    db_bind_int64(tx, h, 1, user_id);
    db_bind_int64(tx, h, 2, project_id);
    if (after)
        db_bind_int64(tx, h, 3, after);
    r = db_step(tx, h);
    if (r == 1)
        assignment_row(tx, h, a, ret_a);
    db_reset(tx, h);
    if (r < 0)
        return r;
    if (r == 1) {
        r = set_assignment(tx, ret_a->id, "leased", lease_until, true, now);
        if (r < 0)
            return r;
        ret_a->lease_until = lease_until;
        ret_a->updated_at = now;
        r = store_task_get(tx, 0, ret_a->task_id, a, ret_t);
        return r < 0 ? r : 1;
    }

    /* PostgreSQL: take the candidate's row lock, passing over tasks other
     * nodes are claiming this instant (DESIGN.md §6); SQLite: one writer.
     * With `after` the user may still hold `after` (leased, either kind):
     * its task is passed over too, so the claim never re-takes it. */
    struct db_stmt *c;
    if (after)
        c = stmt_get_dialect(
            tx, ST_Q_CANDIDATE_OTHER,
            "SELECT t.id FROM tasks t WHERE t.project_id = ? AND t.open_slots > 0"
            " AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id"
            " AND a.user_id = ? AND (a.kind = 'normal' AND a.state IN ('submitted', 'skipped', 'leased')"
            " OR a.kind = 'rework'))"
            " ORDER BY t.priority DESC, t.id LIMIT 1",
            "SELECT t.id FROM tasks t WHERE t.project_id = ? AND t.open_slots > 0"
            " AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id"
            " AND a.user_id = ? AND (a.kind = 'normal' AND a.state IN ('submitted', 'skipped', 'leased')"
            " OR a.kind = 'rework'))"
            " ORDER BY t.priority DESC, t.id LIMIT 1 FOR UPDATE SKIP LOCKED");
    else
        c = stmt_get_dialect(
            tx, ST_Q_CANDIDATE,
            "SELECT t.id FROM tasks t WHERE t.project_id = ? AND t.open_slots > 0"
            " AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id"
            " AND a.user_id = ? AND a.kind = 'normal' AND a.state IN ('submitted', 'skipped'))"
            " ORDER BY t.priority DESC, t.id LIMIT 1",
            "SELECT t.id FROM tasks t WHERE t.project_id = ? AND t.open_slots > 0"
            " AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id"
            " AND a.user_id = ? AND a.kind = 'normal' AND a.state IN ('submitted', 'skipped'))"
            " ORDER BY t.priority DESC, t.id LIMIT 1 FOR UPDATE SKIP LOCKED");
    if (!c)
        return -ERR_STORE;
    db_bind_int64(tx, c, 1, project_id);
    db_bind_int64(tx, c, 2, user_id);
    r = db_step(tx, c);
    int64_t task_id = r == 1 ? db_int64(tx, c, 0) : 0;
    db_reset(tx, c);
    if (r <= 0)
        return r;

    /* a released or expired assignment of the same task is taken up again */
    STMT_OR_FAIL(l, tx, ST_Q_LEASE,
                 "INSERT INTO assignments (task_id, project_id, user_id, kind, state, lease_until,"
                 " created_at, updated_at, draft) VALUES (?, ?, ?, 'normal', 'leased', ?, ?, ?,"
                 " (SELECT result FROM predictions WHERE task_id = ? ORDER BY id DESC LIMIT 1))"
                 " ON CONFLICT (task_id, user_id) WHERE kind = 'normal' DO UPDATE SET"
                 " state = 'leased', lease_until = excluded.lease_until, updated_at = excluded.updated_at"
                 " RETURNING " ASSIGNMENT_COLS);
    db_bind_int64(tx, l, 1, task_id);
    db_bind_int64(tx, l, 2, project_id);
    db_bind_int64(tx, l, 3, user_id);
    db_bind_int64(tx, l, 4, lease_until);
    db_bind_int64(tx, l, 5, now);
    db_bind_int64(tx, l, 6, now);
    db_bind_int64(tx, l, 7, task_id); /* a new lease starts from the task's machine draft */
    r = db_step(tx, l);
    if (r == 1)
        assignment_row(tx, l, a, ret_a);
    db_reset(tx, l);
    if (r < 0)
        return r;
    if (r == 0)
        return -ERR_STORE;
    r = task_adjust_emit(tx, task_id, +1, 0, "claim");
    if (r < 0)
        return r;
    r = store_task_get(tx, 0, task_id, a, ret_t);
    return r < 0 ? r : 1;
}

int annotation_row(struct store_tx *tx, struct db_stmt *s, struct arena *a, void *item)
{
    struct store_annotation *r = item;
    r->id = db_int64(tx, s, 0);
    r->task_id = db_int64(tx, s, 1);
    r->project_id = db_int64(tx, s, 2);
    r->assignment_id = db_int64(tx, s, 3);
    r->user_id = db_int64(tx, s, 4);
    r->version = (int)db_int64(tx, s, 5);
    r->source = db_text(tx, s, 6, a);
    r->result = db_text(tx, s, 7, a);
    r->created_at = db_int64(tx, s, 8);
    return 0;
}

/*
 * The task's free slots. PostgreSQL: lock the task row now, before the
 * annotation's foreign key takes a share lock on it, so that two submits
 * of one task queue here instead of deadlocking in task_adjust() (share
 * locks do not upgrade), and so that two late submits cannot both take the
 * last slot; SQLite: the single writer serialises them already.
 */
static int free_slots(struct store_tx *tx, int64_t task_id, int *ret)
{
    struct db_stmt *q =
        stmt_get_dialect(tx, ST_Q_TASK_SLOTS, "SELECT open_slots FROM tasks WHERE id = ?",
                         "SELECT open_slots FROM tasks WHERE id = ? FOR UPDATE");
    if (!q)
        return -ERR_STORE;
    db_bind_int64(tx, q, 1, task_id);
    int r = db_step(tx, q);
    if (r == 1)
        *ret = (int)db_int64(tx, q, 0);
    db_reset(tx, q);
    return r < 0 ? r : r == 1 ? 0 : -ERR_NOT_FOUND;
}

int store_submit(struct store_tx *tx,
                 int64_t user_id,
                 int64_t assignment_id,
                 struct str result,
                 const struct store_label *labels,
                 size_t nlabels,
                 int64_t now,
                 struct arena *a,
                 struct store_annotation *ret)
{
    struct store_assignment as;
    int r = assignment_get_for_update(tx, user_id, assignment_id, a, &as);
    if (r < 0)
        return r;

    if (strcmp(as.state, "submitted") == 0) {
        STMT_OR_FAIL(s, tx, ST_Q_ANNOTATION_BY_ASSIGNMENT,
                     "SELECT " ANNOTATION_COLS " FROM annotations WHERE assignment_id = ?"
                     " ORDER BY id DESC LIMIT 1");
        db_bind_int64(tx, s, 1, assignment_id);
        r = db_step(tx, s);
        if (r == 1)
            annotation_row(tx, s, a, ret);
        db_reset(tx, s);
        if (r < 0)
            return r;
        return r == 1 ? -ERR_CONFLICT : -ERR_STORE;
    }
    if (strcmp(as.state, "skipped") == 0)
        return -ERR_CONFLICT;

    /* a rework holds its slot already (counted as submitted) */
    bool rework = strcmp(as.kind, "rework") == 0;
    int d_leased = 0;
    if (!rework) {
        int slots;
        r = free_slots(tx, as.task_id, &slots);
        if (r < 0)
            return r;
        if (strcmp(as.state, "leased") == 0)
            d_leased = -1; /* its slot becomes the submission's */
        else if (slots <= 0)
            return -ERR_CONFLICT; /* released or expired: re-take a slot only if one is free */
    }

    STMT_OR_FAIL(v, tx, ST_Q_ANNOTATION_VERSION,
                 "SELECT COALESCE(MAX(version), 0) + 1 FROM annotations WHERE task_id = ? AND user_id = ?");
    db_bind_int64(tx, v, 1, as.task_id);
    db_bind_int64(tx, v, 2, user_id);
    r = db_step(tx, v);
    int version = r == 1 ? (int)db_int64(tx, v, 0) : 1;
    db_reset(tx, v);
    if (r < 0)
        return r;

    STMT_OR_FAIL(ins, tx, ST_Q_ANNOTATION_INSERT,
                 "INSERT INTO annotations (task_id, project_id, assignment_id, user_id, version, source,"
                 " result, created_at) VALUES (?, ?, ?, ?, ?, 'human', ?, ?) RETURNING " ANNOTATION_COLS);
    db_bind_int64(tx, ins, 1, as.task_id);
    db_bind_int64(tx, ins, 2, as.project_id);
    db_bind_int64(tx, ins, 3, assignment_id);
    db_bind_int64(tx, ins, 4, user_id);
    db_bind_int64(tx, ins, 5, version);
    db_bind_textn(tx, ins, 6, result.p, result.len);
    db_bind_int64(tx, ins, 7, now);
    r = db_step(tx, ins);
    if (r == 1)
        annotation_row(tx, ins, a, ret);
    db_reset(tx, ins);
    if (r < 0)
        return r;
    if (r == 0)
        return -ERR_STORE;

    struct task_change change = { 0 };
    if (rework) {
        /* the slot stays the submission's; the assignment is normal again */
        STMT_OR_FAIL(d, tx, ST_Q_REWORK_DONE,
                     "UPDATE assignments SET kind = 'normal', state = 'submitted', draft = NULL,"
                     " updated_at = ? WHERE id = ?");
        db_bind_int64(tx, d, 1, now);
        db_bind_int64(tx, d, 2, assignment_id);
        r = db_run(tx, d);
    } else {
        r = set_assignment(tx, assignment_id, "submitted", as.lease_until, false, now);
        if (r >= 0)
            r = task_adjust(tx, as.task_id, d_leased, +1, &change);
    }
    if (r < 0)
        return r;
    r = review_enqueue(tx, ret, now, rework ? &change.org_id : NULL);
    if (r < 0)
        return r;
    char topic[32], json[192];
    snprintf(topic, sizeof(topic), "project.%" PRId64, as.project_id);
    snprintf(json, sizeof(json),
             "{\"type\":\"annotation\",\"task\":%" PRId64 ",\"annotation\":%" PRId64
             ",\"user\":%" PRId64 ",\"version\":%d}",
             as.task_id, ret->id, user_id, version);
    r = store_event(tx, change.org_id, topic, json);
    if (r >= 0 && !rework)
        r = emit_task(tx, &change, "submit");
    if (r < 0)
        return r;
    return annotation_labels_insert(tx, ret, labels, nlabels);
}

int annotation_labels_insert(struct store_tx *tx,
                             const struct store_annotation *an,
                             const struct store_label *labels,
                             size_t nlabels)
{
    STMT_OR_FAIL(lb, tx, ST_Q_LABEL_INSERT,
                 "INSERT INTO labels (annotation_id, task_id, project_id, user_id, field, label, value)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?)");
    for (size_t i = 0; i < nlabels; i++) {
        db_bind_int64(tx, lb, 1, an->id);
        db_bind_int64(tx, lb, 2, an->task_id);
        db_bind_int64(tx, lb, 3, an->project_id);
        if (an->user_id)
            db_bind_int64(tx, lb, 4, an->user_id);
        else
            db_bind_text(tx, lb, 4, NULL);
        db_bind_text(tx, lb, 5, labels[i].field);
        db_bind_text(tx, lb, 6, labels[i].label);
        db_bind_text(tx, lb, 7, labels[i].value);
        int r = db_run(tx, lb);
        if (r < 0)
            return r;
    }
    return 0;
}

int assignment_rework(struct store_tx *tx, int64_t assignment_id, const char *draft, int64_t now)
{
    STMT_OR_FAIL(s, tx, ST_Q_REWORK_OPEN,
                 "UPDATE assignments SET kind = 'rework', state = 'released', draft = ?,"
                 " updated_at = ? WHERE id = ? AND kind = 'normal' AND state = 'submitted'");
    db_bind_text(tx, s, 1, draft);
    db_bind_int64(tx, s, 2, now);
    db_bind_int64(tx, s, 3, assignment_id);
    return db_run(tx, s);
}

int store_lease_end(struct store_tx *tx,
                    int64_t user_id,
                    int64_t assignment_id,
                    const char *state,
                    int64_t now,
                    struct arena *a,
                    struct store_assignment *ret)
{
    int r = assignment_get_for_update(tx, user_id, assignment_id, a, ret);
    if (r < 0)
        return r;
    if (strcmp(ret->state, "leased") != 0)
        return -ERR_CONFLICT;
    bool keep_draft = strcmp(state, "released") == 0;
    bool rework = strcmp(ret->kind, "rework") == 0;
    if (rework && !keep_draft)
        return -ERR_CONFLICT; /* a rework cannot be skipped: it keeps its slot */
    r = set_assignment(tx, assignment_id, state, ret->lease_until, keep_draft, now);
    if (r < 0)
        return r;
    ret->state = state;
    ret->updated_at = now;
    if (!keep_draft)
        ret->draft = NULL;
    if (rework)
        return 0; /* released: it waits for its author's next claim, slot kept */
    return task_adjust_emit(tx, ret->task_id, -1, 0, keep_draft ? "release" : "skip");
}

int store_heartbeat(struct store_tx *tx,
                    int64_t user_id,
                    int64_t assignment_id,
                    int64_t now,
                    struct arena *a,
                    struct store_assignment *ret)
{
    int r = assignment_get_for_update(tx, user_id, assignment_id, a, ret);
    if (r < 0)
        return r;
    if (strcmp(ret->state, "leased") != 0)
        return -ERR_CONFLICT;
    int lease_s;
    r = project_lease(tx, 0, ret->project_id, &lease_s);
    if (r < 0)
        return r;
    int64_t until = now + (int64_t)lease_s * 1000;
    r = set_assignment(tx, assignment_id, "leased", until, true, now);
    if (r < 0)
        return r;
    ret->lease_until = until;
    ret->updated_at = now;
    return 0;
}

int store_draft(struct store_tx *tx,
                int64_t user_id,
                int64_t assignment_id,
                struct str draft,
                int64_t now,
                struct arena *a,
                struct store_assignment *ret)
{
    int r = assignment_get_for_update(tx, user_id, assignment_id, a, ret);
    if (r < 0)
        return r;
    if (strcmp(ret->state, "leased") != 0 && strcmp(ret->state, "released") != 0 &&
        strcmp(ret->state, "expired") != 0)
        return -ERR_CONFLICT;
    STMT_OR_FAIL(s, tx, ST_Q_ASSIGNMENT_DRAFT,
                 "UPDATE assignments SET draft = ?, updated_at = ? WHERE id = ?");
    db_bind_textn(tx, s, 1, draft.p, draft.len);
    db_bind_int64(tx, s, 2, now);
    db_bind_int64(tx, s, 3, assignment_id);
    r = db_run(tx, s);
    if (r < 0)
        return r;
    ret->draft = arena_strndup(a, draft.p, draft.len);
    ret->updated_at = now;
    return 0;
}

int store_reap(struct store_tx *tx, int64_t now, int max, int *ret_n)
{
    enum { REAP_PAGE = 256 };
    if (max > REAP_PAGE)
        max = REAP_PAGE;
    /* PostgreSQL: lock the expired leases, passing over those a submit,
     * heartbeat or another node's reaper holds (a submit that waited then
     * reads "expired"); SQLite: the single writer serialises them already. */
    struct db_stmt *s = stmt_get_dialect(
        tx, ST_Q_EXPIRED,
        "SELECT id, task_id FROM assignments WHERE state = 'leased' AND lease_until < ?"
        " AND kind = 'normal' ORDER BY lease_until LIMIT ?",
        "SELECT id, task_id FROM assignments WHERE state = 'leased' AND lease_until < ?"
        " AND kind = 'normal' ORDER BY lease_until LIMIT ? FOR UPDATE SKIP LOCKED");
    if (!s)
        return -ERR_STORE;
    int64_t ids[REAP_PAGE], tasks[REAP_PAGE];
    db_bind_int64(tx, s, 1, now);
    db_bind_int64(tx, s, 2, max);
    int n = 0, r = 0;
    while (n < max && (r = db_step(tx, s)) == 1) {
        ids[n] = db_int64(tx, s, 0);
        tasks[n] = db_int64(tx, s, 1);
        n++;
    }
    db_reset(tx, s);
    if (r < 0)
        return r;
    for (int i = 0; i < n; i++) {
        r = set_assignment(tx, ids[i], "expired", now, true, now);
        if (r < 0)
            return r;
        r = task_adjust_emit(tx, tasks[i], -1, 0, "expire");
        if (r < 0)
            return r;
    }
    *ret_n = n;
    return 0;
}

int store_annotation_list(struct store_tx *tx,
                          int64_t task_id,
                          int64_t user_id,
                          int64_t after,
                          int limit,
                          struct arena *a,
                          struct store_annotation **ret,
                          int *ret_n)
{
    struct db_stmt *s;
    if (user_id) {
        s = stmt_get(tx, ST_Q_ANNOTATION_LIST_USER,
                     "SELECT " ANNOTATION_COLS " FROM annotations WHERE task_id = ? AND user_id = ?"
                     " AND id > ? ORDER BY id LIMIT ?");
        if (!s)
            return -ERR_STORE;
        db_bind_int64(tx, s, 1, task_id);
        db_bind_int64(tx, s, 2, user_id);
        db_bind_int64(tx, s, 3, after);
        db_bind_int64(tx, s, 4, limit);
    } else {
        s = stmt_get(tx, ST_Q_ANNOTATION_LIST,
                     "SELECT " ANNOTATION_COLS " FROM annotations WHERE task_id = ? AND id > ?"
                     " ORDER BY id LIMIT ?");
        if (!s)
            return -ERR_STORE;
        db_bind_int64(tx, s, 1, task_id);
        db_bind_int64(tx, s, 2, after);
        db_bind_int64(tx, s, 3, limit);
    }
    return db_collect(tx, s, limit, a, sizeof(**ret), annotation_row, ret, ret_n);
}

int store_annotation_get(struct store_tx *tx,
                         int64_t org_id,
                         int64_t id,
                         struct arena *a,
                         struct store_annotation *ret)
{
    STMT_OR_FAIL(s, tx, ST_Q_ANNOTATION_GET,
                 "SELECT " ANNOTATION_COLS " FROM annotations WHERE id = ?"
                 " AND (? = 0 OR project_id IN (SELECT id FROM projects WHERE org_id = ?))");
    db_bind_int64(tx, s, 1, id);
    db_bind_int64(tx, s, 2, org_id);
    db_bind_int64(tx, s, 3, org_id);
    int r = db_step(tx, s);
    if (r == 1)
        annotation_row(tx, s, a, ret);
    db_reset(tx, s);
    return r < 0 ? r : r == 1 ? 0 : -ERR_NOT_FOUND;
}

int store_check_queue(struct store_tx *tx, int64_t project_id, int64_t *ret_bad)
{
    STMT_OR_FAIL(s, tx, ST_Q_CHECK,
                 "SELECT COUNT(*) FROM tasks t JOIN projects p ON p.id = t.project_id"
                 " WHERE t.project_id = ? AND (t.n_leased + t.n_submitted > p.overlap"
                 " OR t.n_leased <> (SELECT COUNT(*) FROM assignments a WHERE a.task_id = t.id"
                 "   AND a.state = 'leased' AND a.kind = 'normal')"
                 " OR t.n_submitted <> (SELECT COUNT(*) FROM assignments a WHERE a.task_id = t.id"
                 "   AND (a.state = 'submitted' AND a.kind = 'normal' OR a.kind = 'rework'))"
                 " OR t.open_slots <> CASE WHEN p.overlap - t.n_leased - t.n_submitted > 0"
                 "   THEN p.overlap - t.n_leased - t.n_submitted ELSE 0 END)");
    db_bind_int64(tx, s, 1, project_id);
    int r = db_step(tx, s);
    if (r == 1)
        *ret_bad = db_int64(tx, s, 0);
    db_reset(tx, s);
    return r < 0 ? r : r == 1 ? 0 : -ERR_STORE;
}
