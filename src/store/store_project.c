/*
 * store_project.c: projects, tasks, the JSON Lines export, and audit.
 *
 * Events (store_event(), delivered once committed): a new project on the
 * org's topic "projects" ({"type":"project","project":ID,"action":"created"}),
 * imported tasks on "project.<id>" ({"type":"tasks","created":N,"counts":{...}}).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/json.h"
#include "store/store_int.h"

/* ---- projects ---- */

int store_project_create(struct store_tx *tx, const struct store_project *p, int64_t *ret_id)
{
    STMT_OR_FAIL(s, tx, ST_PROJECT_CREATE,
                 "INSERT INTO projects (org_id, name, kind, config, overlap, lease_seconds,"
                 " created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
    db_bind_int64(tx, s, 1, p->org_id);
    db_bind_text(tx, s, 2, p->name);
    db_bind_text(tx, s, 3, p->kind);
    db_bind_text(tx, s, 4, p->config);
    db_bind_int64(tx, s, 5, p->overlap);
    db_bind_int64(tx, s, 6, p->lease_seconds);
    if (p->created_by)
        db_bind_int64(tx, s, 7, p->created_by);
    else
        db_bind_text(tx, s, 7, NULL);
    db_bind_int64(tx, s, 8, p->created_at);
    int r = db_step(tx, s);
    int64_t id = r == 1 ? db_int64(tx, s, 0) : 0;
    db_reset(tx, s);
    if (r < 0)
        return r;
    if (r == 0)
        return -ERR_STORE;
    char json[128];
    snprintf(json, sizeof(json),
             "{\"type\":\"project\",\"project\":%" PRId64 ",\"action\":\"created\"}", id);
    r = store_event(tx, p->org_id, "projects", json);
    if (r < 0)
        return r;
    *ret_id = id;
    return 0;
}

#define PROJECT_COLS                                                                               \
    "id, org_id, name, kind, config, overlap, lease_seconds, COALESCE(created_by, 0),"             \
    " created_at,"                                                                                 \
    " (SELECT COALESCE(SUM(c.n_tasks), 0) FROM project_counts c WHERE c.project_id = projects.id),"  \
    " (SELECT COALESCE(SUM(c.n_in_progress), 0) FROM project_counts c"                             \
    "  WHERE c.project_id = projects.id),"                                                         \
    " (SELECT COALESCE(SUM(c.n_done), 0) FROM project_counts c WHERE c.project_id = projects.id),"   \
    " (SELECT COALESCE(SUM(c.n_to_review), 0) FROM project_counts c"                               \
    "  WHERE c.project_id = projects.id),"                                                         \
    " (SELECT COALESCE(SUM(c.n_reviewed), 0) FROM project_counts c"                                \
    "  WHERE c.project_id = projects.id),"                                                         \
    " (SELECT COALESCE(SUM(c.n_accepted), 0) FROM project_counts c"                                \
    "  WHERE c.project_id = projects.id),"                                                         \
    " (SELECT COALESCE(SUM(c.n_rejected), 0) FROM project_counts c"                                \
    "  WHERE c.project_id = projects.id)"

static int project_row(struct store_tx *tx, struct db_stmt *s, struct arena *a, void *item)
{
    struct store_project *p = item;
    p->id = db_int64(tx, s, 0);
    p->org_id = db_int64(tx, s, 1);
    p->name = db_text(tx, s, 2, a);
    p->kind = db_text(tx, s, 3, a);
    p->config = db_text(tx, s, 4, a);
    p->overlap = (int)db_int64(tx, s, 5);
    p->lease_seconds = (int)db_int64(tx, s, 6);
    p->created_by = db_int64(tx, s, 7);
    p->created_at = db_int64(tx, s, 8);
    p->n_tasks = db_int64(tx, s, 9);
    p->n_in_progress = db_int64(tx, s, 10);
    p->n_done = db_int64(tx, s, 11);
    p->n_to_review = db_int64(tx, s, 12);
    p->n_reviewed = db_int64(tx, s, 13);
    p->n_accepted = db_int64(tx, s, 14);
    p->n_rejected = db_int64(tx, s, 15);
    return 0;
}

int store_project_get(struct store_tx *tx,
                      int64_t org_id,
                      int64_t id,
                      struct arena *a,
                      struct store_project *ret)
{
    struct db_stmt *s;
    if (org_id) {
        s = stmt_get(tx, ST_PROJECT_GET,
                     "SELECT " PROJECT_COLS " FROM projects WHERE id = ? AND org_id = ?");
        if (!s)
            return -ERR_STORE;
        db_bind_int64(tx, s, 2, org_id);
    } else {
        s = stmt_get(tx, ST_PROJECT_GET_ANY, "SELECT " PROJECT_COLS " FROM projects WHERE id = ?");
        if (!s)
            return -ERR_STORE;
    }
    db_bind_int64(tx, s, 1, id);
    int r = db_step(tx, s);
    if (r == 1)
        project_row(tx, s, a, ret);
    db_reset(tx, s);
    return r < 0 ? r : r == 1 ? 0 : -ERR_NOT_FOUND;
}

int store_project_list(struct store_tx *tx,
                       int64_t org_id,
                       int64_t after,
                       int limit,
                       struct arena *a,
                       struct store_project **ret,
                       int *ret_n)
{
    STMT_OR_FAIL(s, tx, ST_PROJECT_LIST,
                 "SELECT " PROJECT_COLS " FROM projects WHERE org_id = ? AND id > ? ORDER BY id LIMIT ?");
    db_bind_int64(tx, s, 1, org_id);
    db_bind_int64(tx, s, 2, after);
    db_bind_int64(tx, s, 3, limit);
    return db_collect(tx, s, limit, a, sizeof(**ret), project_row, ret, ret_n);
}

int project_counts_add(struct store_tx *tx,
                       int64_t project_id,
                       int64_t task_id,
                       int64_t d_tasks,
                       int64_t d_in_progress,
                       int64_t d_done,
                       int64_t ret[3])
{
    STMT_OR_FAIL(s, tx, ST_PROJECT_COUNTS_ADD,
                 "INSERT INTO project_counts (project_id, shard, n_tasks, n_in_progress, n_done)"
                 " VALUES (?, ?, ?, ?, ?) ON CONFLICT (project_id, shard) DO UPDATE SET"
                 " n_tasks = project_counts.n_tasks + excluded.n_tasks,"
                 " n_in_progress = project_counts.n_in_progress + excluded.n_in_progress,"
                 " n_done = project_counts.n_done + excluded.n_done");
    int r = 0;
    if (d_tasks || d_in_progress || d_done) {
        db_bind_int64(tx, s, 1, project_id);
        db_bind_int64(tx, s, 2, task_id % PROJECT_COUNT_SHARDS);
        db_bind_int64(tx, s, 3, d_tasks);
        db_bind_int64(tx, s, 4, d_in_progress);
        db_bind_int64(tx, s, 5, d_done);
        r = db_run(tx, s);
    }
    if (r < 0 || !ret)
        return r;
    /* the totals as this transaction sees them (other shards may be moving) */
    STMT_OR_FAIL(q, tx, ST_PROJECT_COUNTS_SUM,
                 "SELECT COALESCE(SUM(n_tasks), 0), COALESCE(SUM(n_in_progress), 0),"
                 " COALESCE(SUM(n_done), 0) FROM project_counts WHERE project_id = ?");
    db_bind_int64(tx, q, 1, project_id);
    r = db_step(tx, q);
    if (r == 1)
        for (int i = 0; i < 3; i++)
            ret[i] = db_int64(tx, q, i);
    db_reset(tx, q);
    return r < 0 ? r : 0;
}

int store_project_add_tasks(struct store_tx *tx, int64_t project_id, int64_t last_task_id, int64_t n)
{
    STMT_OR_FAIL(s, tx, ST_PROJECT_ADD_TASKS, "SELECT org_id FROM projects WHERE id = ?");
    db_bind_int64(tx, s, 1, project_id);
    int r = db_step(tx, s);
    int64_t org_id = r == 1 ? db_int64(tx, s, 0) : 0;
    db_reset(tx, s);
    if (r <= 0)
        return r < 0 ? r : -ERR_NOT_FOUND;
    int64_t counts[3] = { 0, 0, 0 };
    r = project_counts_add(tx, project_id, last_task_id, n, 0, 0, counts);
    if (r < 0)
        return r;
    char topic[32], json[192];
    snprintf(topic, sizeof(topic), "project.%" PRId64, project_id);
    snprintf(json, sizeof(json),
             "{\"type\":\"tasks\",\"created\":%" PRId64 ",\"counts\":{\"tasks\":%" PRId64
             ",\"in_progress\":%" PRId64 ",\"done\":%" PRId64 "}}",
             n, counts[0], counts[1], counts[2]);
    return store_event(tx, org_id, topic, json);
}

/* ---- settings (PATCH /projects/{id}) ---- */

int store_project_active(struct store_tx *tx, int64_t project_id, int64_t now, int64_t *ret_n)
{
    STMT_OR_FAIL(s, tx, ST_PA_ACTIVE,
                 "SELECT COUNT(DISTINCT user_id) FROM assignments"
                 " WHERE project_id = ? AND state = 'leased' AND lease_until > ?");
    db_bind_int64(tx, s, 1, project_id);
    db_bind_int64(tx, s, 2, now);
    int r = db_step(tx, s);
    if (r == 1)
        *ret_n = db_int64(tx, s, 0);
    db_reset(tx, s);
    return r < 0 ? r : r == 1 ? 0 : -ERR_STORE;
}

/*
 * A new overlap for every task of the project: refuse when a task holds
 * more than it allows, else recompute open_slots and state from the
 * counters (as task_adjust() in store_queue.c does for one task) and move
 * the project's in-progress and done counts by the difference.
 */
static int project_reslot(struct store_tx *tx, int64_t project_id, int overlap, int64_t *ret_blocking)
{
    STMT_OR_FAIL(o, tx, ST_PA_OVER,
                 "SELECT COUNT(*) FROM tasks WHERE project_id = ? AND n_leased + n_submitted > ?");
    db_bind_int64(tx, o, 1, project_id);
    db_bind_int64(tx, o, 2, overlap);
    int r = db_step(tx, o);
    int64_t blocking = r == 1 ? db_int64(tx, o, 0) : 0;
    db_reset(tx, o);
    if (r < 0)
        return r;
    if (blocking > 0) {
        *ret_blocking = blocking;
        return -ERR_CONFLICT;
    }

    STMT_OR_FAIL(u, tx, ST_PA_RESLOT,
                 "UPDATE tasks SET open_slots = CASE WHEN ? - n_leased - n_submitted > 0"
                 " THEN ? - n_leased - n_submitted ELSE 0 END,"
                 " state = CASE WHEN n_submitted >= ? THEN 2"
                 " WHEN n_leased + n_submitted > 0 THEN 1 ELSE 0 END"
                 " WHERE project_id = ?");
    db_bind_int64(tx, u, 1, overlap);
    db_bind_int64(tx, u, 2, overlap);
    db_bind_int64(tx, u, 3, overlap);
    db_bind_int64(tx, u, 4, project_id);
    r = db_run(tx, u);
    if (r < 0)
        return r;

    STMT_OR_FAIL(q, tx, ST_PA_STATES,
                 "SELECT COALESCE(SUM(CASE WHEN state = 1 THEN 1 ELSE 0 END), 0),"
                 " COALESCE(SUM(CASE WHEN state = 2 THEN 1 ELSE 0 END), 0)"
                 " FROM tasks WHERE project_id = ?");
    db_bind_int64(tx, q, 1, project_id);
    r = db_step(tx, q);
    int64_t in_progress = r == 1 ? db_int64(tx, q, 0) : 0;
    int64_t done = r == 1 ? db_int64(tx, q, 1) : 0;
    db_reset(tx, q);
    if (r <= 0)
        return r < 0 ? r : -ERR_STORE;
    /* the counts are sums over shards: the difference may go to any one */
    int64_t counts[3];
    r = project_counts_add(tx, project_id, 0, 0, 0, 0, counts);
    if (r < 0)
        return r;
    return project_counts_add(tx, project_id, 0, 0, in_progress - counts[1], done - counts[2], NULL);
}

int store_project_update(struct store_tx *tx,
                         int64_t org_id,
                         int64_t id,
                         int64_t user_id,
                         const struct store_project_patch *patch,
                         int64_t now,
                         int64_t *ret_blocking)
{
    int r;
    /* PostgreSQL: a new overlap rewrites every task's slots; claims and
     * submits (READ COMMITTED, task rows locked one by one) must not run
     * meanwhile with the old overlap. The table lock comes first, before
     * the project's row, in the order a claim would take them. */
    if (patch->overlap && tx->conn->ops->postgres) {
        r = tx->conn->ops->exec(tx->conn, "LOCK TABLE tasks IN SHARE ROW EXCLUSIVE MODE");
        if (r < 0)
            return r;
    }
    struct db_stmt *l = stmt_get_dialect(
        tx, ST_PA_LOCK,
        "SELECT overlap, org_id FROM projects WHERE id = ? AND (org_id = ? OR ? = 0)",
        "SELECT overlap, org_id FROM projects WHERE id = ? AND (org_id = ? OR ? = 0)"
        " FOR NO KEY UPDATE");
    if (!l)
        return -ERR_STORE;
    db_bind_int64(tx, l, 1, id);
    db_bind_int64(tx, l, 2, org_id);
    db_bind_int64(tx, l, 3, org_id);
    r = db_step(tx, l);
    int old_overlap = r == 1 ? (int)db_int64(tx, l, 0) : 0;
    int64_t project_org = r == 1 ? db_int64(tx, l, 1) : 0;
    db_reset(tx, l);
    if (r <= 0)
        return r < 0 ? r : -ERR_NOT_FOUND;

    bool reslot = patch->overlap && patch->overlap != old_overlap;
    if (reslot) {
        r = project_reslot(tx, id, patch->overlap, ret_blocking);
        if (r < 0)
            return r;
    }

    STMT_OR_FAIL(u, tx, ST_PA_UPDATE,
                 "UPDATE projects SET name = COALESCE(?, name), config = COALESCE(?, config),"
                 " overlap = CASE WHEN ? > 0 THEN ? ELSE overlap END,"
                 " lease_seconds = CASE WHEN ? > 0 THEN ? ELSE lease_seconds END WHERE id = ?");
    db_bind_text(tx, u, 1, patch->name);
    db_bind_text(tx, u, 2, patch->config);
    db_bind_int64(tx, u, 3, patch->overlap);
    db_bind_int64(tx, u, 4, patch->overlap);
    db_bind_int64(tx, u, 5, patch->lease_seconds);
    db_bind_int64(tx, u, 6, patch->lease_seconds);
    db_bind_int64(tx, u, 7, id);
    r = db_run(tx, u);
    if (r < 0)
        return r;

    /* audit: which fields changed (an overlap with its old and new value) */
    char detail[160];
    snprintf(detail, sizeof(detail), "%s%s%s%s", patch->name ? " name" : "",
             patch->config ? " config" : "", patch->lease_seconds ? " lease_seconds" : "",
             patch->overlap ? " overlap" : "");
    if (patch->overlap) {
        size_t n = strlen(detail);
        snprintf(detail + n, sizeof(detail) - n, " %d->%d", old_overlap, patch->overlap);
    }
    r = store_audit(tx, project_org, user_id, "project.update", "project", id,
                    detail[0] ? detail + 1 : "", now);
    if (r < 0)
        return r;

    char topic[32], json[320];
    snprintf(json, sizeof(json),
             "{\"type\":\"project\",\"project\":%" PRId64 ",\"action\":\"updated\"}", id);
    r = store_event(tx, project_org, "projects", json);
    if (r < 0)
        return r;
    int64_t counts[3];
    r = project_counts_add(tx, id, 0, 0, 0, 0, counts);
    if (r < 0)
        return r;
    snprintf(topic, sizeof(topic), "project.%" PRId64, id);
    snprintf(json, sizeof(json),
             "{\"type\":\"project\",\"project\":%" PRId64 ",\"action\":\"updated\","
             "\"reslotted\":%s,\"counts\":{\"tasks\":%" PRId64 ",\"in_progress\":%" PRId64
             ",\"done\":%" PRId64 "}}",
             id, reslot ? "true" : "false", counts[0], counts[1], counts[2]);
    return store_event(tx, project_org, topic, json);
}

/* ---- tasks ---- */

int store_task_find_key(struct store_tx *tx, int64_t project_id, const char *key, int64_t *ret_id)
{
    STMT_OR_FAIL(q, tx, ST_TASK_BY_KEY, "SELECT id FROM tasks WHERE project_id = ? AND key = ?");
    db_bind_int64(tx, q, 1, project_id);
    db_bind_text(tx, q, 2, key);
    int r = db_step(tx, q);
    if (r == 1)
        *ret_id = db_int64(tx, q, 0);
    db_reset(tx, q);
    return r < 0 ? r : r == 1 ? 0 : -ERR_NOT_FOUND;
}

int store_task_insert(struct store_tx *tx,
                      int64_t project_id,
                      int overlap,
                      const char *key,
                      struct str data,
                      int64_t priority,
                      int64_t now,
                      int64_t *ret_id)
{
    STMT_OR_FAIL(s, tx, ST_TASK_INSERT,
                 "INSERT INTO tasks (project_id, key, data, priority, open_slots, created_at)"
                 " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (project_id, key) DO NOTHING RETURNING id");
    db_bind_int64(tx, s, 1, project_id);
    db_bind_text(tx, s, 2, key);
    db_bind_textn(tx, s, 3, data.p, data.len);
    db_bind_int64(tx, s, 4, priority);
    db_bind_int64(tx, s, 5, overlap);
    db_bind_int64(tx, s, 6, now);
    int r = db_step(tx, s);
    if (r == 1)
        *ret_id = db_int64(tx, s, 0);
    db_reset(tx, s);
    if (r < 0)
        return r;
    if (r == 1)
        return 1;

    r = store_task_find_key(tx, project_id, key, ret_id);
    return r == -ERR_NOT_FOUND ? -ERR_STORE : r;
}

#define TASK_COLS                                                                                  \
    "t.id, t.project_id, t.key, t.data, t.priority, t.state, t.n_leased, t.n_submitted,"           \
    " t.created_at"

static int task_row(struct store_tx *tx, struct db_stmt *s, struct arena *a, void *item)
{
    struct store_task *t = item;
    t->id = db_int64(tx, s, 0);
    t->project_id = db_int64(tx, s, 1);
    t->key = db_text(tx, s, 2, a);
    t->data = db_text(tx, s, 3, a);
    t->priority = db_int64(tx, s, 4);
    t->state = (int)db_int64(tx, s, 5);
    t->n_leased = (int)db_int64(tx, s, 6);
    t->n_submitted = (int)db_int64(tx, s, 7);
    t->created_at = db_int64(tx, s, 8);
    return 0;
}

int store_task_get(struct store_tx *tx,
                   int64_t org_id,
                   int64_t id,
                   struct arena *a,
                   struct store_task *ret)
{
    struct db_stmt *s;
    if (org_id) {
        s = stmt_get(tx, ST_TASK_GET,
                     "SELECT " TASK_COLS " FROM tasks t JOIN projects p ON p.id = t.project_id"
                     " WHERE t.id = ? AND p.org_id = ?");
        if (!s)
            return -ERR_STORE;
        db_bind_int64(tx, s, 2, org_id);
    } else {
        s = stmt_get(tx, ST_TASK_GET_ANY, "SELECT " TASK_COLS " FROM tasks t WHERE t.id = ?");
        if (!s)
            return -ERR_STORE;
    }
    db_bind_int64(tx, s, 1, id);
    int r = db_step(tx, s);
    if (r == 1)
        task_row(tx, s, a, ret);
    db_reset(tx, s);
    return r < 0 ? r : r == 1 ? 0 : -ERR_NOT_FOUND;
}

int store_task_list(struct store_tx *tx,
                    int64_t project_id,
                    int state,
                    int64_t after,
                    int limit,
                    struct arena *a,
                    struct store_task **ret,
                    int *ret_n)
{
    struct db_stmt *s;
    if (state >= 0) {
        s = stmt_get(tx, ST_TASK_LIST_STATE,
                     "SELECT " TASK_COLS " FROM tasks t WHERE t.project_id = ? AND t.state = ?"
                     " AND t.id > ? ORDER BY t.id LIMIT ?");
        if (!s)
            return -ERR_STORE;
        db_bind_int64(tx, s, 1, project_id);
        db_bind_int64(tx, s, 2, state);
        db_bind_int64(tx, s, 3, after);
        db_bind_int64(tx, s, 4, limit);
    } else {
        s = stmt_get(tx, ST_TASK_LIST,
                     "SELECT " TASK_COLS " FROM tasks t WHERE t.project_id = ? AND t.id > ?"
                     " ORDER BY t.id LIMIT ?");
        if (!s)
            return -ERR_STORE;
        db_bind_int64(tx, s, 1, project_id);
        db_bind_int64(tx, s, 2, after);
        db_bind_int64(tx, s, 3, limit);
    }
    return db_collect(tx, s, limit, a, sizeof(**ret), task_row, ret, ret_n);
}

/* ---- export ---- */

static int export_annotations(struct store_tx *tx, int64_t task_id, struct jw *w)
{
    STMT_OR_FAIL(s, tx, ST_EXPORT_ANNOTATIONS,
                 "SELECT id, COALESCE(user_id, 0), version, result, created_at, source"
                 " FROM annotations WHERE task_id = ? ORDER BY id");
    db_bind_int64(tx, s, 1, task_id);
    int r;
    jw_arr_begin(w);
    while ((r = db_step(tx, s)) == 1) {
        size_t len;
        const char *result = db_text_ref(tx, s, 3, &len);
        int64_t user = db_int64(tx, s, 1);
        jw_obj_begin(w);
        jw_kint(w, "id", db_int64(tx, s, 0));
        jw_key(w, "user");
        if (user)
            jw_int(w, user);
        else
            jw_null(w);
        jw_kint(w, "version", db_int64(tx, s, 2));
        jw_kraw(w, "result", result, len);
        jw_ktime(w, "created_at", db_int64(tx, s, 4));
        jw_kstr(w, "source", db_text_ref(tx, s, 5, NULL));
        jw_obj_end(w);
    }
    jw_arr_end(w);
    db_reset(tx, s);
    return r < 0 ? r : 0;
}

int store_export_jsonl(struct store_tx *tx,
                       int64_t project_id,
                       int64_t *cursor,
                       int max_tasks,
                       struct buf *out)
{
    STMT_OR_FAIL(s, tx, ST_EXPORT_TASKS,
                 "SELECT id, key, data FROM tasks WHERE project_id = ? AND id > ? ORDER BY id LIMIT ?");
    /* collect a page of task rows first: one statement per connection may step at a time */
    struct page {
        int64_t id;
        size_t key_off, key_len, data_off, data_len;
        bool has_key;
    } page[256];
    if (max_tasks <= 0)
        return -EINVAL;
    if (max_tasks > 256)
        max_tasks = 256;
    struct buf text;
    buf_init(&text, 0);
    db_bind_int64(tx, s, 1, project_id);
    db_bind_int64(tx, s, 2, *cursor);
    db_bind_int64(tx, s, 3, max_tasks);
    int n = 0, r = 0;
    while (n < max_tasks && (r = db_step(tx, s)) == 1) {
        size_t klen, dlen;
        const char *key = db_text_ref(tx, s, 1, &klen);
        page[n].id = db_int64(tx, s, 0);
        page[n].has_key = key != NULL;
        page[n].key_off = text.len;
        page[n].key_len = klen;
        buf_add(&text, key ? key : "", klen);
        const char *data = db_text_ref(tx, s, 2, &dlen);
        page[n].data_off = text.len;
        page[n].data_len = dlen;
        buf_add(&text, data ? data : "", dlen);
        n++;
    }
    db_reset(tx, s);
    if (r < 0 || text.err) {
        int err = r < 0 ? r : text.err;
        buf_release(&text);
        return err;
    }

    struct jw w;
    for (int i = 0; i < n; i++) {
        jw_init(&w, out);
        jw_obj_begin(&w);
        jw_key(&w, "task");
        jw_obj_begin(&w);
        jw_kint(&w, "id", page[i].id);
        jw_key(&w, "key");
        if (page[i].has_key)
            jw_strn(&w, text.p + page[i].key_off, page[i].key_len);
        else
            jw_null(&w);
        jw_kraw(&w, "data", text.p + page[i].data_off, page[i].data_len);
        jw_obj_end(&w);
        jw_key(&w, "annotations");
        r = export_annotations(tx, page[i].id, &w);
        if (r < 0)
            break;
        jw_obj_end(&w);
        buf_addch(out, '\n');
        *cursor = page[i].id;
    }
    buf_release(&text);
    if (r < 0)
        return r;
    if (out->err)
        return out->err;
    return n == max_tasks ? 1 : 0;
}

/* ---- audit ---- */

int store_audit(struct store_tx *tx,
                int64_t org_id,
                int64_t user_id,
                const char *action,
                const char *object_type,
                int64_t object_id,
                const char *detail,
                int64_t now)
{
    STMT_OR_FAIL(s, tx, ST_AUDIT,
                 "INSERT INTO audit (org_id, user_id, action, object_type, object_id, detail, at)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?)");
    db_bind_int64(tx, s, 1, org_id);
    db_bind_int64(tx, s, 2, user_id);
    db_bind_text(tx, s, 3, action);
    db_bind_text(tx, s, 4, object_type);
    db_bind_int64(tx, s, 5, object_id);
    db_bind_text(tx, s, 6, detail);
    db_bind_int64(tx, s, 7, now);
    return db_run(tx, s);
}
