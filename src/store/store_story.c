/*
 * store_story.c: the rows of the novel -> storyboard pipeline (0004_story):
 * novels, chapters, scenes, predictions, the roster and sync flags.
 *
 * DESIGN: see store.h ("novel -> storyboard"). The sync itself
 * (src/storyboard/) decides what to write; these functions only read and
 * write rows, inside the caller's transaction. Lists whose length is the
 * novel's (chapters, scenes, characters) are read whole, into an array that
 * db_collect() grows in the caller's arena; nothing here is paged, since a
 * novel has a few thousand scenes at most.
 */
#include <errno.h>

#include "core/err.h"
#include "store/store_int.h"

/* ---- novels ---- */

#define NOVEL_COLS "id, project_id, org_id, title, encoding, converted, revision, created_at, updated_at"

int store_novel_get(struct store_tx *tx, int64_t project_id, struct arena *a, struct store_novel *ret)
{
    STMT_OR_FAIL(s, tx, ST_S_NOVEL_GET, "SELECT " NOVEL_COLS " FROM novels WHERE project_id = ?");
    db_bind_int64(tx, s, 1, project_id);
    int r = db_step(tx, s);
    if (r == 1) {
        ret->id = db_int64(tx, s, 0);
        ret->project_id = db_int64(tx, s, 1);
        ret->org_id = db_int64(tx, s, 2);
        ret->title = db_text(tx, s, 3, a);
        ret->encoding = db_text(tx, s, 4, a);
        ret->converted = db_text(tx, s, 5, a);
        ret->revision = (int)db_int64(tx, s, 6);
        ret->created_at = db_int64(tx, s, 7);
        ret->updated_at = db_int64(tx, s, 8);
    }
    db_reset(tx, s);
    return r < 0 ? r : r == 1 ? 0 : -ERR_NOT_FOUND;
}

int store_novel_create(struct store_tx *tx, const struct store_novel *n, int64_t *ret_id)
{
    STMT_OR_FAIL(s, tx, ST_S_NOVEL_CREATE,
                 "INSERT INTO novels (project_id, org_id, title, encoding, converted, revision,"
                 " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
    db_bind_int64(tx, s, 1, n->project_id);
    db_bind_int64(tx, s, 2, n->org_id);
    db_bind_text(tx, s, 3, n->title);
    db_bind_text(tx, s, 4, n->encoding);
    db_bind_text(tx, s, 5, n->converted);
    db_bind_int64(tx, s, 6, n->revision);
    db_bind_int64(tx, s, 7, n->created_at);
    db_bind_int64(tx, s, 8, n->updated_at);
    int r = db_step(tx, s);
    if (r == 1)
        *ret_id = db_int64(tx, s, 0);
    db_reset(tx, s);
    return r < 0 ? r : r == 1 ? 0 : -ERR_STORE;
}

int store_novel_update(struct store_tx *tx, const struct store_novel *n)
{
    STMT_OR_FAIL(s, tx, ST_S_NOVEL_UPDATE,
                 "UPDATE novels SET title = ?, encoding = ?, converted = ?, revision = ?,"
                 " updated_at = ? WHERE id = ?");
    db_bind_text(tx, s, 1, n->title);
    db_bind_text(tx, s, 2, n->encoding);
    db_bind_text(tx, s, 3, n->converted);
    db_bind_int64(tx, s, 4, n->revision);
    db_bind_int64(tx, s, 5, n->updated_at);
    db_bind_int64(tx, s, 6, n->id);
    return db_run(tx, s);
}

/* ---- chapters ---- */

static int chapter_row(struct store_tx *tx, struct db_stmt *s, struct arena *a, void *item)
{
    struct store_chapter *c = item;
    c->novel_id = db_int64(tx, s, 0);
    c->idx = (int)db_int64(tx, s, 1);
    c->ckey = db_text(tx, s, 2, a);
    c->title = db_text(tx, s, 3, a);
    c->volume = db_text(tx, s, 4, a);
    c->hash = db_text(tx, s, 5, a);
    c->chars = db_int64(tx, s, 6);
    c->utterances = db_int64(tx, s, 7);
    c->revision = (int)db_int64(tx, s, 8);
    c->updated_at = db_int64(tx, s, 9);
    c->body = NULL;
    return 0;
}

static int chapter_row_body(struct store_tx *tx, struct db_stmt *s, struct arena *a, void *item)
{
    struct store_chapter *c = item;
    chapter_row(tx, s, a, c);
    c->body = db_text(tx, s, 10, a);
    return 0;
}

int store_chapter_list(struct store_tx *tx,
                       int64_t novel_id,
                       bool with_body,
                       struct arena *a,
                       struct store_chapter **ret,
                       int *ret_n)
{
    /* two statements: the list without bodies is what every page view reads */
    struct db_stmt *s =
        with_body
            ? stmt_get(tx, ST_S_CHAPTER_BODY,
                       "SELECT novel_id, idx, ckey, title, volume, hash, chars, utterances, revision,"
                       " updated_at, body FROM novel_chapters WHERE novel_id = ? ORDER BY idx")
            : stmt_get(tx, ST_S_CHAPTER_LIST,
                       "SELECT novel_id, idx, ckey, title, volume, hash, chars, utterances, revision,"
                       " updated_at FROM novel_chapters WHERE novel_id = ? ORDER BY idx");
    if (!s)
        return -ERR_STORE;
    db_bind_int64(tx, s, 1, novel_id);
    db_row_fn *row = with_body ? chapter_row_body : chapter_row;
    return db_collect(tx, s, -1, a, sizeof(**ret), row, ret, ret_n);
}

int store_chapter_put(struct store_tx *tx, const struct store_chapter *c, int64_t now)
{
    STMT_OR_FAIL(
        s, tx, ST_S_CHAPTER_PUT,
        "INSERT INTO novel_chapters (novel_id, idx, ckey, title, volume, hash, chars, utterances,"
        " body, revision, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (novel_id, idx) DO UPDATE SET ckey = excluded.ckey, title = excluded.title,"
        " volume = excluded.volume, hash = excluded.hash, chars = excluded.chars,"
        " utterances = excluded.utterances, body = excluded.body, revision = excluded.revision,"
        " updated_at = excluded.updated_at");
    db_bind_int64(tx, s, 1, c->novel_id);
    db_bind_int64(tx, s, 2, c->idx);
    db_bind_text(tx, s, 3, c->ckey);
    db_bind_text(tx, s, 4, c->title);
    db_bind_text(tx, s, 5, c->volume);
    db_bind_text(tx, s, 6, c->hash);
    db_bind_int64(tx, s, 7, c->chars);
    db_bind_int64(tx, s, 8, c->utterances);
    db_bind_text(tx, s, 9, c->body ? c->body : "");
    db_bind_int64(tx, s, 10, c->revision);
    db_bind_int64(tx, s, 11, now);
    return db_run(tx, s);
}

/* ---- scenes ---- */

static int scene_row(struct store_tx *tx, struct db_stmt *s, struct arena *a, void *item)
{
    struct store_scene *sc = item;
    sc->task_id = db_int64(tx, s, 0);
    sc->chapter_idx = (int)db_int64(tx, s, 1);
    sc->scene = (int)db_int64(tx, s, 2);
    sc->ord = (int)db_int64(tx, s, 3);
    sc->hash = db_text(tx, s, 4, a);
    sc->removed = db_int64(tx, s, 5) != 0;
    return 0;
}

int store_scene_list(struct store_tx *tx,
                     int64_t novel_id,
                     int chapter_idx,
                     struct arena *a,
                     struct store_scene **ret,
                     int *ret_n)
{
    STMT_OR_FAIL(s, tx, ST_S_SCENE_LIST,
                 "SELECT task_id, chapter_idx, scene, ord, hash, removed FROM novel_scenes"
                 " WHERE novel_id = ? AND (chapter_idx = ? OR ? = 0) ORDER BY chapter_idx, ord, task_id");
    db_bind_int64(tx, s, 1, novel_id);
    db_bind_int64(tx, s, 2, chapter_idx);
    db_bind_int64(tx, s, 3, chapter_idx);
    return db_collect(tx, s, -1, a, sizeof(**ret), scene_row, ret, ret_n);
}

int store_scene_put(struct store_tx *tx, int64_t novel_id, const struct store_scene *sc)
{
    STMT_OR_FAIL(s, tx, ST_S_SCENE_PUT,
                 "INSERT INTO novel_scenes (task_id, novel_id, chapter_idx, scene, ord, hash, removed)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (task_id) DO UPDATE SET"
                 " chapter_idx = excluded.chapter_idx, scene = excluded.scene, ord = excluded.ord,"
                 " hash = excluded.hash, removed = excluded.removed");
    db_bind_int64(tx, s, 1, sc->task_id);
    db_bind_int64(tx, s, 2, novel_id);
    db_bind_int64(tx, s, 3, sc->chapter_idx);
    db_bind_int64(tx, s, 4, sc->scene);
    db_bind_int64(tx, s, 5, sc->ord);
    db_bind_text(tx, s, 6, sc->hash);
    db_bind_int64(tx, s, 7, sc->removed ? 1 : 0);
    return db_run(tx, s);
}

int store_task_set_data(struct store_tx *tx, int64_t task_id, const char *data)
{
    STMT_OR_FAIL(s, tx, ST_S_TASK_DATA, "UPDATE tasks SET data = ? WHERE id = ?");
    db_bind_text(tx, s, 1, data);
    db_bind_int64(tx, s, 2, task_id);
    return db_run(tx, s);
}

/* ---- predictions and what humans made of them ---- */

int store_prediction_add(struct store_tx *tx,
                         int64_t task_id,
                         int64_t project_id,
                         const char *model,
                         const char *model_version,
                         const char *result,
                         int64_t now)
{
    STMT_OR_FAIL(s, tx, ST_S_PREDICTION_ADD,
                 "INSERT INTO predictions (task_id, project_id, model, model_version, result, created_at)"
                 " VALUES (?, ?, ?, ?, ?, ?)");
    db_bind_int64(tx, s, 1, task_id);
    db_bind_int64(tx, s, 2, project_id);
    db_bind_text(tx, s, 3, model);
    db_bind_text(tx, s, 4, model_version ? model_version : "");
    db_bind_text(tx, s, 5, result);
    db_bind_int64(tx, s, 6, now);
    return db_run(tx, s);
}

int store_prediction_latest(struct store_tx *tx, int64_t task_id, struct arena *a, char **ret)
{
    STMT_OR_FAIL(s, tx, ST_S_PREDICTION_LATEST,
                 "SELECT result FROM predictions WHERE task_id = ? ORDER BY id DESC LIMIT 1");
    db_bind_int64(tx, s, 1, task_id);
    int r = db_step(tx, s);
    char *v = r == 1 ? db_text(tx, s, 0, a) : NULL;
    db_reset(tx, s);
    if (r < 0)
        return r;
    if (r == 1 && !v)
        return -ENOMEM;
    *ret = v;
    return 0;
}

static int prediction_row(struct store_tx *tx, struct db_stmt *s, struct arena *a, void *item)
{
    struct store_prediction *p = item;
    p->id = db_int64(tx, s, 0);
    p->model = db_text(tx, s, 1, a);
    p->model_version = db_text(tx, s, 2, a);
    p->result = db_text(tx, s, 3, a);
    p->created_at = db_int64(tx, s, 4);
    return 0;
}

int store_prediction_list(struct store_tx *tx,
                          int64_t task_id,
                          int limit,
                          struct arena *a,
                          struct store_prediction **ret,
                          int *ret_n)
{
    STMT_OR_FAIL(s, tx, ST_S_PREDICTION_LIST,
                 "SELECT id, model, model_version, result, created_at FROM predictions"
                 " WHERE task_id = ? ORDER BY id LIMIT ?");
    db_bind_int64(tx, s, 1, task_id);
    db_bind_int64(tx, s, 2, limit);
    return db_collect(tx, s, limit, a, sizeof(**ret), prediction_row, ret, ret_n);
}

int store_annotation_latest(struct store_tx *tx,
                            int64_t task_id,
                            struct arena *a,
                            struct store_annotation *ret)
{
    STMT_OR_FAIL(s, tx, ST_S_ANNOTATION_LATEST,
                 "SELECT " ANNOTATION_COLS " FROM annotations WHERE task_id = ? ORDER BY id DESC LIMIT 1");
    db_bind_int64(tx, s, 1, task_id);
    int r = db_step(tx, s);
    if (r == 1)
        annotation_row(tx, s, a, ret);
    db_reset(tx, s);
    return r;
}

int store_task_human_draft(struct store_tx *tx,
                           int64_t task_id,
                           const char *prediction,
                           struct arena *a,
                           char **ret)
{
    STMT_OR_FAIL(s, tx, ST_S_HUMAN_DRAFT,
                 "SELECT draft FROM assignments WHERE task_id = ? AND draft IS NOT NULL"
                 " AND draft <> COALESCE(?, '') ORDER BY updated_at DESC, id DESC LIMIT 1");
    db_bind_int64(tx, s, 1, task_id);
    db_bind_text(tx, s, 2, prediction);
    int r = db_step(tx, s);
    char *v = r == 1 ? db_text(tx, s, 0, a) : NULL;
    db_reset(tx, s);
    if (r < 0)
        return r;
    if (r == 1 && !v)
        return -ENOMEM;
    if (r == 1)
        *ret = v;
    return r;
}

int store_task_drafts_replace(struct store_tx *tx, int64_t task_id, const char *old, const char *draft)
{
    STMT_OR_FAIL(s, tx, ST_S_DRAFTS_REPLACE,
                 "UPDATE assignments SET draft = ? WHERE task_id = ? AND state = 'leased' AND draft = ?");
    db_bind_text(tx, s, 1, draft);
    db_bind_int64(tx, s, 2, task_id);
    db_bind_text(tx, s, 3, old);
    return db_run(tx, s);
}

int store_annotation_sync(struct store_tx *tx,
                          const struct store_annotation *prev,
                          const char *result,
                          bool flagged,
                          int64_t now,
                          struct arena *a,
                          struct store_annotation *ret)
{
    STMT_OR_FAIL(s, tx, ST_S_SYNC_ANNOTATION,
                 "INSERT INTO annotations (task_id, project_id, assignment_id, user_id, version, source,"
                 " result, created_at) VALUES (?, ?, ?, ?, ?, 'sync', ?, ?) RETURNING " ANNOTATION_COLS);
    db_bind_int64(tx, s, 1, prev->task_id);
    db_bind_int64(tx, s, 2, prev->project_id);
    if (prev->assignment_id)
        db_bind_int64(tx, s, 3, prev->assignment_id);
    else
        db_bind_text(tx, s, 3, NULL);
    if (prev->user_id)
        db_bind_int64(tx, s, 4, prev->user_id);
    else
        db_bind_text(tx, s, 4, NULL);
    db_bind_int64(tx, s, 5, prev->version + 1);
    db_bind_text(tx, s, 6, result);
    db_bind_int64(tx, s, 7, now);
    struct store_annotation an;
    int r = db_step(tx, s);
    if (r == 1)
        annotation_row(tx, s, a, &an);
    db_reset(tx, s);
    if (r < 0)
        return r;
    if (r == 0)
        return -ERR_STORE;

    /* the review state of the version it replaces (-1: never entered review) */
    STMT_OR_FAIL(q, tx, ST_S_REVIEW_STATE, "SELECT state FROM review_queue WHERE annotation_id = ?");
    db_bind_int64(tx, q, 1, prev->id);
    r = db_step(tx, q);
    int state = r == 1 ? (int)db_int64(tx, q, 0) : -1;
    db_reset(tx, q);
    if (r < 0)
        return r;

    if (state == 0) {
        /* the pending version is superseded: the reviewer sees the new one */
        STMT_OR_FAIL(u, tx, ST_S_REVIEW_SUPERSEDE,
                     "UPDATE review_queue SET state = 4, reviewer_id = NULL, lease_until = 0,"
                     " updated_at = ? WHERE annotation_id = ? AND state = 0");
        db_bind_int64(tx, u, 1, now);
        db_bind_int64(tx, u, 2, prev->id);
        r = db_run(tx, u);
        if (r == 0)
            r = review_counts_delta(tx, prev->project_id, prev->task_id, -1, 0, 0, 0);
        if (r < 0)
            return r;
    }
    if (flagged || state == 0) {
        r = review_enqueue(tx, &an, now, NULL);
        if (r < 0)
            return r;
    }
    *ret = an;
    return 0;
}

/* ---- flags ---- */

#define FLAG_COLS                                                                                  \
    "id, project_id, task_id, shot_id, reason, old_text, new_text, diff, created_at,"              \
    " COALESCE(resolved_at, 0), COALESCE(resolved_by, 0)"

int store_flag_add(struct store_tx *tx, const struct store_flag *f)
{
    STMT_OR_FAIL(s, tx, ST_S_FLAG_ADD,
                 "INSERT INTO story_flags (project_id, task_id, shot_id, reason, old_text, new_text,"
                 " diff, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    db_bind_int64(tx, s, 1, f->project_id);
    db_bind_int64(tx, s, 2, f->task_id);
    db_bind_text(tx, s, 3, f->shot_id);
    db_bind_text(tx, s, 4, f->reason);
    db_bind_text(tx, s, 5, f->old_text ? f->old_text : "");
    db_bind_text(tx, s, 6, f->new_text ? f->new_text : "");
    db_bind_text(tx, s, 7, f->diff ? f->diff : "");
    db_bind_int64(tx, s, 8, f->created_at);
    return db_run(tx, s);
}

static int flag_row(struct store_tx *tx, struct db_stmt *s, struct arena *a, void *item)
{
    struct store_flag *f = item;
    f->id = db_int64(tx, s, 0);
    f->project_id = db_int64(tx, s, 1);
    f->task_id = db_int64(tx, s, 2);
    f->shot_id = db_text(tx, s, 3, a);
    f->reason = db_text(tx, s, 4, a);
    f->old_text = db_text(tx, s, 5, a);
    f->new_text = db_text(tx, s, 6, a);
    f->diff = db_text(tx, s, 7, a);
    f->created_at = db_int64(tx, s, 8);
    f->resolved_at = db_int64(tx, s, 9);
    f->resolved_by = db_int64(tx, s, 10);
    return 0;
}

int store_flag_list(struct store_tx *tx,
                    int64_t project_id,
                    int64_t task_id,
                    bool open_only,
                    int limit,
                    struct arena *a,
                    struct store_flag **ret,
                    int *ret_n)
{
    struct db_stmt *s =
        task_id ? stmt_get(tx, ST_S_FLAG_LIST_TASK,
                           "SELECT " FLAG_COLS " FROM story_flags WHERE task_id = ? AND project_id = ?"
                           " AND (resolved_at IS NULL OR ? = 0) ORDER BY id DESC LIMIT ?")
                : stmt_get(tx, ST_S_FLAG_LIST,
                           "SELECT " FLAG_COLS " FROM story_flags WHERE ? = 0 AND project_id = ?"
                           " AND (resolved_at IS NULL OR ? = 0) ORDER BY id DESC LIMIT ?");
    if (!s)
        return -ERR_STORE;
    db_bind_int64(tx, s, 1, task_id);
    db_bind_int64(tx, s, 2, project_id);
    db_bind_int64(tx, s, 3, open_only ? 1 : 0);
    db_bind_int64(tx, s, 4, limit);
    return db_collect(tx, s, limit, a, sizeof(**ret), flag_row, ret, ret_n);
}

int store_flag_resolve(struct store_tx *tx, int64_t org_id, int64_t id, int64_t user_id, int64_t now)
{
    STMT_OR_FAIL(s, tx, ST_S_FLAG_RESOLVE,
                 "UPDATE story_flags SET resolved_at = ?, resolved_by = ? WHERE id = ?"
                 " AND project_id IN (SELECT id FROM projects WHERE org_id = ? OR ? = 0)"
                 " RETURNING id");
    db_bind_int64(tx, s, 1, now);
    db_bind_int64(tx, s, 2, user_id);
    db_bind_int64(tx, s, 3, id);
    db_bind_int64(tx, s, 4, org_id);
    db_bind_int64(tx, s, 5, org_id);
    int r = db_step(tx, s);
    db_reset(tx, s);
    return r < 0 ? r : r == 1 ? 0 : -ERR_NOT_FOUND;
}

/* ---- the roster ---- */

#define CHAR_COLS                                                                                  \
    "id, project_id, name, aliases, sheet, lines, mentions, COALESCE(merged_into, 0), source,"     \
    " created_at, updated_at"

static int character_row(struct store_tx *tx, struct db_stmt *s, struct arena *a, void *item)
{
    struct store_character *c = item;
    c->id = db_int64(tx, s, 0);
    c->project_id = db_int64(tx, s, 1);
    c->name = db_text(tx, s, 2, a);
    c->aliases = db_text(tx, s, 3, a);
    c->sheet = db_text(tx, s, 4, a);
    c->lines = db_int64(tx, s, 5);
    c->mentions = db_int64(tx, s, 6);
    c->merged_into = db_int64(tx, s, 7);
    c->source = db_text(tx, s, 8, a);
    c->created_at = db_int64(tx, s, 9);
    c->updated_at = db_int64(tx, s, 10);
    return 0;
}

int store_character_list(struct store_tx *tx,
                         int64_t project_id,
                         struct arena *a,
                         struct store_character **ret,
                         int *ret_n)
{
    STMT_OR_FAIL(s, tx, ST_S_CHAR_LIST,
                 "SELECT " CHAR_COLS " FROM characters WHERE project_id = ? ORDER BY id");
    db_bind_int64(tx, s, 1, project_id);
    return db_collect(tx, s, -1, a, sizeof(**ret), character_row, ret, ret_n);
}

int store_character_get(struct store_tx *tx,
                        int64_t project_id,
                        int64_t id,
                        struct arena *a,
                        struct store_character *ret)
{
    STMT_OR_FAIL(s, tx, ST_S_CHAR_GET,
                 "SELECT " CHAR_COLS " FROM characters WHERE id = ? AND project_id = ?");
    db_bind_int64(tx, s, 1, id);
    db_bind_int64(tx, s, 2, project_id);
    int r = db_step(tx, s);
    if (r == 1)
        character_row(tx, s, a, ret);
    db_reset(tx, s);
    return r < 0 ? r : r == 1 ? 0 : -ERR_NOT_FOUND;
}

int store_character_create(struct store_tx *tx, const struct store_character *c, int64_t *ret_id)
{
    STMT_OR_FAIL(s, tx, ST_S_CHAR_CREATE,
                 "INSERT INTO characters (project_id, name, aliases, sheet, lines, mentions, source,"
                 " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
    db_bind_int64(tx, s, 1, c->project_id);
    db_bind_text(tx, s, 2, c->name);
    db_bind_text(tx, s, 3, c->aliases ? c->aliases : "[]");
    db_bind_text(tx, s, 4, c->sheet ? c->sheet : "{}");
    db_bind_int64(tx, s, 5, c->lines);
    db_bind_int64(tx, s, 6, c->mentions);
    db_bind_text(tx, s, 7, c->source ? c->source : "human");
    db_bind_int64(tx, s, 8, c->created_at);
    db_bind_int64(tx, s, 9, c->created_at);
    int r = db_step(tx, s);
    if (r == 1)
        *ret_id = db_int64(tx, s, 0);
    db_reset(tx, s);
    return r < 0 ? r : r == 1 ? 0 : -ERR_STORE;
}

int store_character_update(struct store_tx *tx, const struct store_character *c, int64_t now)
{
    STMT_OR_FAIL(s, tx, ST_S_CHAR_UPDATE,
                 "UPDATE characters SET name = ?, aliases = ?, sheet = ?, source = 'human',"
                 " updated_at = ? WHERE id = ? AND project_id = ? RETURNING id");
    db_bind_text(tx, s, 1, c->name);
    db_bind_text(tx, s, 2, c->aliases);
    db_bind_text(tx, s, 3, c->sheet);
    db_bind_int64(tx, s, 4, now);
    db_bind_int64(tx, s, 5, c->id);
    db_bind_int64(tx, s, 6, c->project_id);
    int r = db_step(tx, s);
    db_reset(tx, s);
    return r < 0 ? r : r == 1 ? 0 : -ERR_NOT_FOUND;
}

int store_character_counts(struct store_tx *tx, int64_t id, int64_t lines, int64_t mentions, int64_t now)
{
    STMT_OR_FAIL(s, tx, ST_S_CHAR_COUNTS,
                 "UPDATE characters SET lines = ?, mentions = ?, updated_at = ? WHERE id = ?");
    db_bind_int64(tx, s, 1, lines);
    db_bind_int64(tx, s, 2, mentions);
    db_bind_int64(tx, s, 3, now);
    db_bind_int64(tx, s, 4, id);
    return db_run(tx, s);
}

int store_character_merge(struct store_tx *tx, int64_t project_id, int64_t id, int64_t into, int64_t now)
{
    /* characters merged into `id` follow it, so that no chain is left behind */
    STMT_OR_FAIL(s, tx, ST_S_CHAR_MERGE,
                 "UPDATE characters SET merged_into = ?, updated_at = ? WHERE project_id = ?"
                 " AND (id = ? OR merged_into = ?)");
    db_bind_int64(tx, s, 1, into);
    db_bind_int64(tx, s, 2, now);
    db_bind_int64(tx, s, 3, project_id);
    db_bind_int64(tx, s, 4, id);
    db_bind_int64(tx, s, 5, id);
    return db_run(tx, s);
}

int store_character_delete(struct store_tx *tx, int64_t project_id, int64_t id)
{
    STMT_OR_FAIL(s, tx, ST_S_CHAR_DELETE,
                 "DELETE FROM characters WHERE id = ? AND project_id = ? RETURNING id");
    db_bind_int64(tx, s, 1, id);
    db_bind_int64(tx, s, 2, project_id);
    int r = db_step(tx, s);
    db_reset(tx, s);
    return r < 0 ? r : r == 1 ? 0 : -ERR_NOT_FOUND;
}

/* ---- export ---- */

int store_story_export_scenes(struct store_tx *tx,
                              int64_t novel_id,
                              int (*fn)(void *ctx, const struct store_export_scene *s),
                              void *ctx)
{
    /*
     * One pass in scene order. The result is the newest annotation, else
     * the newest draft of a live lease, else the newest prediction; its
     * status the newest annotation's review state.
     */
    STMT_OR_FAIL(
        s, tx, ST_S_EXPORT_SCENES,
        "SELECT ns.task_id, ns.chapter_idx, ns.ord, t.data,"
        " COALESCE((SELECT result FROM annotations a WHERE a.task_id = ns.task_id ORDER BY a.id DESC LIMIT 1),"
        "  (SELECT draft FROM assignments g WHERE g.task_id = ns.task_id AND g.state = 'leased'"
        "   AND g.draft IS NOT NULL ORDER BY g.updated_at DESC LIMIT 1),"
        "  (SELECT result FROM predictions p WHERE p.task_id = ns.task_id ORDER BY p.id DESC LIMIT 1)),"
        " (SELECT COALESCE((SELECT q.state FROM review_queue q WHERE q.annotation_id = a.id), -1)"
        "  FROM annotations a WHERE a.task_id = ns.task_id ORDER BY a.id DESC LIMIT 1)"
        " FROM novel_scenes ns JOIN tasks t ON t.id = ns.task_id"
        " WHERE ns.novel_id = ? AND ns.removed = 0 ORDER BY ns.chapter_idx, ns.ord");
    db_bind_int64(tx, s, 1, novel_id);
    int r;
    while ((r = db_step(tx, s)) == 1) {
        struct store_export_scene e = { 0 };
        size_t len;
        e.task_id = db_int64(tx, s, 0);
        e.chapter_idx = (int)db_int64(tx, s, 1);
        e.ord = (int)db_int64(tx, s, 2);
        e.data = db_text_ref(tx, s, 3, &len);
        e.result = db_text_ref(tx, s, 4, &len);
        const char *st = db_text_ref(tx, s, 5, &len);
        if (!st)
            e.status = "draft";
        else {
            int state = (int)db_int64(tx, s, 5);
            e.status = state == 1 || state == 3 ? "accepted" : state == 2 ? "rejected" : "submitted";
        }
        r = fn(ctx, &e);
        if (r < 0)
            break;
    }
    db_reset(tx, s);
    return r < 0 ? r : 0;
}
