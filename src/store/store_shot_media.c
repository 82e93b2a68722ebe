/*
 * store_shot_media.c: media attached to storyboard shots (0007_shot_media.sql).
 *
 * A shot is named by its stable id inside its task's result; the rows here
 * point at media rows by sha256. Reads are scoped by org: an item of
 * another org is not found. One accepted item per (task, shot, kind) is
 * kept by store_shot_media_review() and enforced by a partial unique index
 * (two reviewers accepting at once: the second gets -ERR_CONFLICT).
 */
#include <errno.h>
#include <string.h>

#include "core/err.h"
#include "store/store_int.h"

#define SM_COLS                                                                                    \
    "sm.id, sm.org_id, sm.project_id, sm.task_id, sm.shot_id, sm.media, sm.kind, sm.source,"       \
    " sm.model, sm.prompt, sm.status, sm.note, COALESCE(sm.created_by, 0),"                        \
    " COALESCE(sm.reviewed_by, 0), sm.created_at, COALESCE(sm.reviewed_at, 0), m.mime"
#define SM_FROM " FROM shot_media sm JOIN media m ON m.id = sm.media"

static int sm_row(struct store_tx *tx, struct db_stmt *s, struct arena *a, void *item)
{
    struct store_shot_media *m = item;
    m->id = db_int64(tx, s, 0);
    m->org_id = db_int64(tx, s, 1);
    m->project_id = db_int64(tx, s, 2);
    m->task_id = db_int64(tx, s, 3);
    m->shot_id = db_text(tx, s, 4, a);
    m->media = db_text(tx, s, 5, a);
    m->kind = db_text(tx, s, 6, a);
    m->source = db_text(tx, s, 7, a);
    m->model = db_text(tx, s, 8, a);
    m->prompt = db_text(tx, s, 9, a);
    m->status = db_text(tx, s, 10, a);
    m->note = db_text(tx, s, 11, a);
    m->created_by = db_int64(tx, s, 12);
    m->reviewed_by = db_int64(tx, s, 13);
    m->created_at = db_int64(tx, s, 14);
    m->reviewed_at = db_int64(tx, s, 15);
    m->mime = db_text(tx, s, 16, a);
    if (!m->shot_id || !m->media || !m->kind || !m->source || !m->status || !m->mime)
        return -ENOMEM;
    return 0;
}

int store_shot_media_add(struct store_tx *tx, const struct store_shot_media *m, int64_t *ret_id)
{
    STMT_OR_FAIL(s, tx, ST_SM_INSERT,
                 "INSERT INTO shot_media (org_id, project_id, task_id, shot_id, media, kind, source,"
                 " model, prompt, status, note, created_by, created_at)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', NULL, ?, ?) RETURNING id");
    db_bind_int64(tx, s, 1, m->org_id);
    db_bind_int64(tx, s, 2, m->project_id);
    db_bind_int64(tx, s, 3, m->task_id);
    db_bind_text(tx, s, 4, m->shot_id);
    db_bind_text(tx, s, 5, m->media);
    db_bind_text(tx, s, 6, m->kind);
    db_bind_text(tx, s, 7, m->source);
    db_bind_text(tx, s, 8, m->model);
    db_bind_text(tx, s, 9, m->prompt);
    if (m->created_by)
        db_bind_int64(tx, s, 10, m->created_by);
    else
        db_bind_text(tx, s, 10, NULL);
    db_bind_int64(tx, s, 11, m->created_at);
    int r = db_step(tx, s);
    if (r == 1)
        *ret_id = db_int64(tx, s, 0);
    db_reset(tx, s);
    return r < 0 ? r : r == 1 ? 0 : -ERR_STORE;
}

int store_shot_media_get(struct store_tx *tx,
                         int64_t org_id,
                         int64_t id,
                         struct arena *a,
                         struct store_shot_media *ret)
{
    STMT_OR_FAIL(s, tx, ST_SM_GET,
                 "SELECT " SM_COLS SM_FROM " WHERE sm.id = ? AND (sm.org_id = ? OR ? = 0)");
    db_bind_int64(tx, s, 1, id);
    db_bind_int64(tx, s, 2, org_id);
    db_bind_int64(tx, s, 3, org_id);
    int r = db_step(tx, s);
    if (r == 1)
        r = sm_row(tx, s, a, ret) < 0 ? -ENOMEM : 1;
    db_reset(tx, s);
    return r < 0 ? r : r == 1 ? 0 : -ERR_NOT_FOUND;
}

int store_shot_media_list(struct store_tx *tx,
                          int64_t task_id,
                          int limit,
                          struct arena *a,
                          struct store_shot_media **ret,
                          int *ret_n)
{
    STMT_OR_FAIL(s, tx, ST_SM_LIST_TASK,
                 "SELECT " SM_COLS SM_FROM " WHERE sm.task_id = ? ORDER BY sm.id DESC LIMIT ?");
    db_bind_int64(tx, s, 1, task_id);
    db_bind_int64(tx, s, 2, limit);
    return db_collect(tx, s, limit, a, sizeof(**ret), sm_row, ret, ret_n);
}

int store_shot_media_accepted(struct store_tx *tx,
                              int64_t project_id,
                              int limit,
                              struct arena *a,
                              struct store_shot_media **ret,
                              int *ret_n)
{
    STMT_OR_FAIL(s, tx, ST_SM_LIST_ACCEPTED,
                 "SELECT " SM_COLS SM_FROM " WHERE sm.project_id = ? AND sm.status = 'accepted'"
                 " ORDER BY sm.task_id, sm.id LIMIT ?");
    db_bind_int64(tx, s, 1, project_id);
    db_bind_int64(tx, s, 2, limit);
    return db_collect(tx, s, limit, a, sizeof(**ret), sm_row, ret, ret_n);
}

int store_shot_media_review(struct store_tx *tx,
                            const struct store_shot_media *m,
                            bool accept,
                            const char *note,
                            int64_t user_id,
                            int64_t now,
                            int *ret_superseded)
{
    int superseded = 0, r;
    if (accept) {
        /* the one accepted before (of this shot and kind) steps down first */
        STMT_OR_FAIL(sup, tx, ST_SM_SUPERSEDE,
                     "UPDATE shot_media SET status = 'rejected', note = 'superseded', reviewed_by = ?,"
                     " reviewed_at = ? WHERE task_id = ? AND shot_id = ? AND kind = ?"
                     " AND status = 'accepted' AND id <> ? RETURNING id");
        db_bind_int64(tx, sup, 1, user_id);
        db_bind_int64(tx, sup, 2, now);
        db_bind_int64(tx, sup, 3, m->task_id);
        db_bind_text(tx, sup, 4, m->shot_id);
        db_bind_text(tx, sup, 5, m->kind);
        db_bind_int64(tx, sup, 6, m->id);
        while ((r = db_step(tx, sup)) == 1)
            superseded++;
        db_reset(tx, sup);
        if (r < 0)
            return r;
    }
    STMT_OR_FAIL(s, tx, ST_SM_REVIEW,
                 "UPDATE shot_media SET status = ?, note = ?, reviewed_by = ?, reviewed_at = ?"
                 " WHERE id = ? RETURNING id");
    db_bind_text(tx, s, 1, accept ? "accepted" : "rejected");
    db_bind_text(tx, s, 2, note);
    db_bind_int64(tx, s, 3, user_id);
    db_bind_int64(tx, s, 4, now);
    db_bind_int64(tx, s, 5, m->id);
    r = db_step(tx, s);
    db_reset(tx, s);
    if (r < 0)
        return r;
    if (r == 0)
        return -ERR_NOT_FOUND;
    if (ret_superseded)
        *ret_superseded = superseded;
    return 0;
}

int store_task_result_latest(struct store_tx *tx, int64_t task_id, struct arena *a, char **ret)
{
    /* the same order as store_story_export_scenes(): annotation, live draft, prediction */
    STMT_OR_FAIL(
        s, tx, ST_SM_TASK_RESULT,
        "SELECT COALESCE((SELECT result FROM annotations a WHERE a.task_id = ? ORDER BY a.id DESC LIMIT 1),"
        " (SELECT draft FROM assignments g WHERE g.task_id = ? AND g.state = 'leased'"
        "  AND g.draft IS NOT NULL ORDER BY g.updated_at DESC LIMIT 1),"
        " (SELECT result FROM predictions p WHERE p.task_id = ? ORDER BY p.id DESC LIMIT 1))");
    db_bind_int64(tx, s, 1, task_id);
    db_bind_int64(tx, s, 2, task_id);
    db_bind_int64(tx, s, 3, task_id);
    int r = db_step(tx, s);
    char *text = NULL;
    if (r == 1) {
        size_t len;
        if (db_text_ref(tx, s, 0, &len)) {
            text = db_text(tx, s, 0, a);
            if (!text)
                r = -ENOMEM;
        }
    }
    db_reset(tx, s);
    if (r < 0)
        return r;
    if (!text)
        return 0;
    *ret = text;
    return 1;
}
