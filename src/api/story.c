/*
 * story.c: the novel -> storyboard routes: novel import/sync and summary,
 * the roster (characters), and sync flags. Exports go through exports.c.
 * The work is in src/storyboard/; these handlers check, call, answer.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/utf8.h"
#include "jobs/jobs.h"
#include "project/project.h"
#include "storyboard/storyboard.h"

#define CHAR_NAME_MAX   100 /* code points */
#define CHAR_ALIASES    50
#define CHAR_SHEET_MAX  (64u * 1024)
#define FLAGS_PAGE      500

/* The storyboard project {id} (param 0) of the caller's org; answers and returns < 0 otherwise. */
static int storyboard_project_or_reply(struct request *req, struct store_project *p)
{
    int64_t id;
    if (param_id_or_reply(req, 0, &id) < 0)
        return -1;
    int r = project_get(api_app(req)->store, req->principal.org_id, id, &req->arena, p);
    if (r < 0) {
        reply_errno(req, r);
        return -1;
    }
    if (strcmp(p->kind, "storyboard") != 0) {
        reply_invalid(req, "project", "project %" PRId64 " is of kind %s, not storyboard", id, p->kind);
        return -1;
    }
    return 0;
}

static bool query_flag(struct request *req, const char *name)
{
    const char *v = http_query(req, name);
    return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0);
}

/* ---- novel ---- */

int api_novel_import(struct request *req)
{
    struct store_project p;
    if (storyboard_project_or_reply(req, &p) < 0)
        return HTTP_DONE;
    const char *t2s = http_query(req, "t2s");
    if (t2s && strcmp(t2s, "0") != 0 && strcmp(t2s, "1") != 0 && strcmp(t2s, "true") != 0 &&
        strcmp(t2s, "false") != 0)
        return reply_invalid(req, "t2s", "must be 0, 1, true or false");
    struct storyboard_import_opts o = {
        .t2s = query_flag(req, "t2s"),
        .max_bytes = api_app(req)->limits.max_import,
        .user_id = req->principal.user_id,
        .title = http_query(req, "title"),
    };
    struct storyboard_error err = { 0 };
    struct buf out;
    buf_init(&out, 0);
    int r = storyboard_import(api_app(req)->store, &p, req->body.p ? req->body.p : "", req->body.len, &o,
                              &out, &err);
    if (r < 0) {
        buf_release(&out);
        if (err.code) {
            int status = r == -ERR_TOO_LARGE           ? 413
                         : r == -ERR_UNSUPPORTED_MEDIA ? 415
                         : r == -ERR_CONFLICT          ? 409
                         : r == -ENOMEM                ? 500
                                                       : 400;
            http_reply_error(req, status, err.code, err.message, err.path[0] ? err.path : NULL);
            return HTTP_DONE;
        }
        return reply_errno(req, r);
    }
    jobs_kick(api_app(req)->jobs); /* an LLM drafter's job, if one was queued */
    return reply_json(req, 200, &out);
}

int api_novel_get(struct request *req)
{
    struct store_project p;
    if (storyboard_project_or_reply(req, &p) < 0)
        return HTTP_DONE;
    struct buf out;
    buf_init(&out, 0);
    int r = storyboard_novel_json(api_app(req)->store, &p, &out);
    if (r < 0) {
        buf_release(&out);
        if (r == -ERR_NOT_FOUND)
            return http_reply_error(req, 404, "not_found", "this project has no novel yet", NULL),
                   HTTP_DONE;
        return reply_errno(req, r);
    }
    return reply_json(req, 200, &out);
}

/* ---- characters ---- */

static void character_to_jw(struct jw *w, const struct store_character *c)
{
    char id[24], into[24];
    snprintf(id, sizeof(id), "c%" PRId64, c->id);
    snprintf(into, sizeof(into), "c%" PRId64, c->merged_into);
    jw_obj_begin(w);
    jw_kstr(w, "id", id);
    jw_kstr(w, "name", c->name);
    jw_kraw(w, "aliases", c->aliases, strlen(c->aliases));
    jw_kraw(w, "sheet", c->sheet, strlen(c->sheet));
    jw_kint(w, "lines", c->lines);
    jw_kint(w, "mentions", c->mentions);
    jw_kstr(w, "merged_into", c->merged_into ? into : NULL);
    jw_kstr(w, "source", c->source);
    jw_ktime(w, "created_at", c->created_at);
    jw_ktime(w, "updated_at", c->updated_at);
    jw_obj_end(w);
}

struct char_op {
    int64_t project_id, id, into;
    struct arena *a;
    struct store_character c;
    struct store_character *items;
    int n;
    int64_t now;
};

static int char_list_fn(struct store_tx *tx, void *ctx)
{
    struct char_op *o = ctx;
    return store_character_list(tx, o->project_id, o->a, &o->items, &o->n);
}

/*
 * Merges worth proposing: a name that is another's given name (俊义 of
 * 卢俊义: the other is one character, a surname, longer and ends with it).
 * People decide; "suggestions":[{"from","into","reason"}], at most 50.
 */
static void roster_suggestions(struct jw *w, const struct store_character *c, int n)
{
    jw_key(w, "suggestions");
    jw_arr_begin(w);
    int out = 0;
    for (int i = 0; i < n && out < 50; i++) {
        if (c[i].merged_into)
            continue;
        size_t la = strlen(c[i].name), ca = utf8_count(c[i].name, la);
        if (ca < 2)
            continue;
        for (int k = 0; k < n && out < 50; k++) {
            if (k == i || c[k].merged_into)
                continue;
            size_t lb = strlen(c[k].name);
            if (lb <= la || utf8_count(c[k].name, lb) != ca + 1 || strcmp(c[k].name + (lb - la), c[i].name) != 0)
                continue;
            char from[24], into[24];
            snprintf(from, sizeof(from), "c%" PRId64, c[i].id);
            snprintf(into, sizeof(into), "c%" PRId64, c[k].id);
            jw_obj_begin(w);
            jw_kstr(w, "from", from);
            jw_kstr(w, "into", into);
            jw_kstr(w, "reason", "given_name");
            jw_obj_end(w);
            out++;
        }
    }
    jw_arr_end(w);
}

int api_characters_list(struct request *req)
{
    struct store_project p;
    if (storyboard_project_or_reply(req, &p) < 0)
        return HTTP_DONE;
    struct char_op o = { .project_id = p.id, .a = &req->arena };
    int r = store_read(api_app(req)->store, char_list_fn, &o);
    if (r < 0)
        return reply_errno(req, r);
    struct buf b;
    buf_init(&b, 0);
    struct jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_key(&w, "characters");
    jw_arr_begin(&w);
    for (int i = 0; i < o.n; i++)
        character_to_jw(&w, &o.items[i]);
    jw_arr_end(&w);
    roster_suggestions(&w, o.items, o.n);
    jw_obj_end(&w);
    return reply_json(req, 200, &b);
}

static const char *const sheet_keys[] = { "appearance", "costume", "voice", "notes", "references", NULL };

/*
 * Check a character body: name (1..100 code points), aliases (unique
 * strings), sheet ({appearance, costume, voice, notes: strings;
 * references: media ids}). Fields absent from the body are left as in *c.
 */
static int character_body_or_reply(struct request *req, json_t *body, bool create, struct store_character *c)
{
    static const char *const keys[] = { "name", "aliases", "sheet", NULL };
    if (check_keys_or_reply(req, body, keys) < 0)
        return -1;
    const char *name;
    if (get_string_or_reply(req, body, "name", create, &name) < 0)
        return -1;
    if (name) {
        size_t n = utf8_count(name, strlen(name));
        if (n == 0 || n > CHAR_NAME_MAX)
            return reply_invalid(req, "name", "must be 1 to %d characters", CHAR_NAME_MAX), -1;
        c->name = name;
    }
    json_t *al = json_object_get(body, "aliases");
    if (al) {
        if (!json_is_array(al) || json_array_size(al) > CHAR_ALIASES)
            return reply_invalid(req, "aliases", "must be an array of at most %d names", CHAR_ALIASES), -1;
        for (size_t i = 0; i < json_array_size(al); i++) {
            json_t *v = json_array_get(al, i);
            char path[32];
            snprintf(path, sizeof(path), "aliases[%zu]", i);
            if (!json_is_string(v) || json_string_length(v) == 0 ||
                utf8_count(json_string_value(v), json_string_length(v)) > CHAR_NAME_MAX)
                return reply_invalid(req, path, "must be a name of 1 to %d characters", CHAR_NAME_MAX), -1;
            for (size_t k = 0; k < i; k++)
                if (json_equal(json_array_get(al, k), v))
                    return reply_invalid(req, path, "repeats an alias"), -1;
        }
        char *s = json_dumps(al, JSON_COMPACT);
        c->aliases = s ? arena_strdup(&req->arena, s) : NULL;
        free(s);
        if (!c->aliases)
            return reply_errno(req, -ENOMEM), -1;
    }
    json_t *sh = json_object_get(body, "sheet");
    if (sh) {
        if (!json_is_object(sh))
            return reply_invalid(req, "sheet", "must be an object"), -1;
        const char *bad = json_unknown_key(sh, sheet_keys);
        if (bad)
            return reply_invalid(req, "sheet", "unknown field \"%s\"", bad), -1;
        for (size_t i = 0; sheet_keys[i]; i++) {
            json_t *v = json_object_get(sh, sheet_keys[i]);
            char path[40];
            snprintf(path, sizeof(path), "sheet.%s", sheet_keys[i]);
            if (!v)
                continue;
            if (strcmp(sheet_keys[i], "references") != 0) {
                if (!json_is_string(v))
                    return reply_invalid(req, path, "must be a string"), -1;
                continue;
            }
            if (!json_is_array(v) || json_array_size(v) > 50)
                return reply_invalid(req, path, "must be an array of at most 50 media ids"), -1;
            for (size_t k = 0; k < json_array_size(v); k++) {
                const char *m = json_string_value(json_array_get(v, k));
                bool ok = m && strlen(m) == 64 && strspn(m, "0123456789abcdef") == 64;
                if (!ok)
                    return reply_invalid(req, path, "item %zu must be a media id (sha256 hex)", k), -1;
            }
        }
        char *s = json_dumps(sh, JSON_COMPACT);
        if (s && strlen(s) > CHAR_SHEET_MAX) {
            free(s);
            return reply_invalid(req, "sheet", "must be at most %u bytes", CHAR_SHEET_MAX), -1;
        }
        c->sheet = s ? arena_strdup(&req->arena, s) : NULL;
        free(s);
        if (!c->sheet)
            return reply_errno(req, -ENOMEM), -1;
    }
    return 0;
}

static int char_create_fn(struct store_tx *tx, void *ctx)
{
    struct char_op *o = ctx;
    int r = store_character_create(tx, &o->c, &o->id);
    return r < 0 ? r : store_character_get(tx, o->project_id, o->id, o->a, &o->c);
}

static int reply_character(struct request *req, int status, const struct store_character *c)
{
    struct buf b;
    buf_init(&b, 0);
    struct jw w;
    jw_init(&w, &b);
    character_to_jw(&w, c);
    return reply_json(req, status, &b);
}

int api_characters_create(struct request *req)
{
    struct store_project p;
    json_t *body;
    if (storyboard_project_or_reply(req, &p) < 0 || parse_body_object(req, &body) < 0)
        return HTTP_DONE;
    struct char_op o = { .project_id = p.id, .a = &req->arena };
    o.c = (struct store_character){ .project_id = p.id, .aliases = "[]", .sheet = "{}", .source = "human",
                                    .created_at = clock_now_ms() };
    if (character_body_or_reply(req, body, true, &o.c) < 0)
        return HTTP_DONE;
    int r = store_write(api_app(req)->store, char_create_fn, &o);
    if (r < 0)
        return reply_errno(req, r);
    return reply_character(req, 201, &o.c);
}

/* The character {cid} (param 1: "c12" or 12); answers 404 otherwise. */
static int character_param_or_reply(struct request *req, int64_t *ret)
{
    char id[24];
    struct str v = req->nparams > 1 ? req->params[1] : (struct str){ "", 0 };
    if (v.len == 0 || v.len >= sizeof(id))
        return reply_errno(req, -ERR_NOT_FOUND), -1;
    snprintf(id, sizeof(id), "%s%.*s", v.p[0] == 'c' ? "" : "c", (int)v.len, v.p);
    *ret = storyboard_character_id(id);
    if (!*ret)
        return reply_errno(req, -ERR_NOT_FOUND), -1;
    return 0;
}

static int char_update_fn(struct store_tx *tx, void *ctx)
{
    struct char_op *o = ctx;
    struct store_character cur;
    int r = store_character_get(tx, o->project_id, o->id, o->a, &cur);
    if (r < 0)
        return r;
    struct store_character next = cur;
    if (o->c.name)
        next.name = o->c.name;
    if (o->c.aliases)
        next.aliases = o->c.aliases;
    if (o->c.sheet)
        next.sheet = o->c.sheet;
    r = store_character_update(tx, &next, o->now);
    return r < 0 ? r : store_character_get(tx, o->project_id, o->id, o->a, &o->c);
}

int api_characters_update(struct request *req)
{
    struct store_project p;
    json_t *body;
    struct char_op o = { .a = &req->arena, .now = clock_now_ms() };
    if (storyboard_project_or_reply(req, &p) < 0 || character_param_or_reply(req, &o.id) < 0 ||
        parse_body_object(req, &body) < 0)
        return HTTP_DONE;
    o.project_id = p.id;
    if (character_body_or_reply(req, body, false, &o.c) < 0)
        return HTTP_DONE;
    int r = store_write(api_app(req)->store, char_update_fn, &o);
    if (r < 0)
        return reply_errno(req, r);
    return reply_character(req, 200, &o.c);
}

static int char_merge_fn(struct store_tx *tx, void *ctx)
{
    struct char_op *o = ctx;
    struct store_character from, into;
    int r = store_character_get(tx, o->project_id, o->id, o->a, &from);
    if (r == 0)
        r = store_character_get(tx, o->project_id, o->into, o->a, &into);
    if (r < 0)
        return r;
    if (into.merged_into)
        return -ERR_CONFLICT; /* merge into the character it was merged into */
    /* the target learns the merged name and its aliases */
    json_t *al = json_loads(into.aliases, 0, NULL), *fal = json_loads(from.aliases, 0, NULL);
    if (!json_is_array(al))
        al = json_array();
    json_t *add = json_array();
    json_array_append_new(add, json_string(from.name));
    json_array_extend(add, json_is_array(fal) ? fal : add);
    size_t i;
    json_t *v;
    json_array_foreach(add, i, v)
    {
        bool have = strcmp(json_string_value(v), into.name) == 0;
        for (size_t k = 0; k < json_array_size(al) && !have; k++)
            have = json_equal(json_array_get(al, k), v);
        if (!have)
            json_array_append(al, v);
    }
    char *s = json_dumps(al, JSON_COMPACT);
    json_decref(al);
    json_decref(fal);
    json_decref(add);
    if (!s)
        return -ENOMEM;
    into.aliases = arena_strdup(o->a, s);
    free(s);
    if (!into.aliases)
        return -ENOMEM;
    r = store_character_update(tx, &into, o->now);
    if (r == 0)
        r = store_character_merge(tx, o->project_id, o->id, o->into, o->now);
    return r < 0 ? r : store_character_get(tx, o->project_id, o->into, o->a, &o->c);
}

int api_characters_merge(struct request *req)
{
    struct store_project p;
    json_t *body;
    struct char_op o = { .a = &req->arena, .now = clock_now_ms() };
    if (storyboard_project_or_reply(req, &p) < 0 || character_param_or_reply(req, &o.id) < 0 ||
        parse_body_object(req, &body) < 0)
        return HTTP_DONE;
    static const char *const keys[] = { "into", NULL };
    const char *into;
    if (check_keys_or_reply(req, body, keys) < 0 || get_string_or_reply(req, body, "into", true, &into) < 0)
        return HTTP_DONE;
    o.project_id = p.id;
    o.into = storyboard_character_id(into);
    if (!o.into)
        return reply_invalid(req, "into", "must be a character id such as \"c12\"");
    if (o.into == o.id)
        return reply_invalid(req, "into", "a character cannot be merged into itself");
    int r = store_write(api_app(req)->store, char_merge_fn, &o);
    if (r == -ERR_CONFLICT)
        return http_reply_error(req, 409, "conflict", "the target was itself merged into another character",
                                "into"),
               HTTP_DONE;
    if (r < 0)
        return reply_errno(req, r);
    return reply_character(req, 200, &o.c);
}

static int char_delete_fn(struct store_tx *tx, void *ctx)
{
    struct char_op *o = ctx;
    return store_character_delete(tx, o->project_id, o->id);
}

int api_characters_delete(struct request *req)
{
    struct store_project p;
    struct char_op o = { .a = &req->arena };
    if (storyboard_project_or_reply(req, &p) < 0 || character_param_or_reply(req, &o.id) < 0)
        return HTTP_DONE;
    o.project_id = p.id;
    int r = store_write(api_app(req)->store, char_delete_fn, &o);
    if (r < 0)
        return reply_errno(req, r);
    return http_reply_empty(req, 204), HTTP_DONE;
}

/* ---- flags ---- */

struct flag_op {
    int64_t org_id, project_id, task_id, id, user_id;
    bool open_only;
    struct arena *a;
    struct store_flag *items;
    int n;
};

static int flag_list_fn(struct store_tx *tx, void *ctx)
{
    struct flag_op *o = ctx;
    if (o->task_id) {
        struct store_task t;
        int r = store_task_get(tx, o->org_id, o->task_id, o->a, &t);
        if (r < 0)
            return r;
        o->project_id = t.project_id;
    }
    return store_flag_list(tx, o->project_id, o->task_id, o->open_only, FLAGS_PAGE, o->a, &o->items, &o->n);
}

static int reply_flags(struct request *req, struct flag_op *o)
{
    int r = store_read(api_app(req)->store, flag_list_fn, o);
    if (r < 0)
        return reply_errno(req, r);
    struct buf b;
    buf_init(&b, 0);
    struct jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_key(&w, "flags");
    jw_arr_begin(&w);
    for (int i = 0; i < o->n; i++) {
        const struct store_flag *f = &o->items[i];
        jw_obj_begin(&w);
        jw_kint(&w, "id", f->id);
        jw_kint(&w, "task_id", f->task_id);
        jw_kstr(&w, "shot_id", f->shot_id);
        jw_kstr(&w, "reason", f->reason);
        jw_kstr(&w, "old_text", f->old_text);
        jw_kstr(&w, "new_text", f->new_text);
        jw_kstr(&w, "diff", f->diff);
        jw_ktime(&w, "created_at", f->created_at);
        jw_kbool(&w, "resolved", f->resolved_at != 0);
        jw_ktime(&w, "resolved_at", f->resolved_at ? f->resolved_at : -1);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    return reply_json(req, 200, &b);
}

int api_story_flags(struct request *req)
{
    struct store_project p;
    if (storyboard_project_or_reply(req, &p) < 0)
        return HTTP_DONE;
    struct flag_op o = { .project_id = p.id, .a = &req->arena, .open_only = query_flag(req, "open") };
    return reply_flags(req, &o);
}

int api_task_flags(struct request *req)
{
    struct flag_op o = { .org_id = req->principal.org_id, .a = &req->arena,
                         .open_only = query_flag(req, "open") };
    if (param_id_or_reply(req, 0, &o.task_id) < 0)
        return HTTP_DONE;
    return reply_flags(req, &o);
}

static int flag_resolve_fn(struct store_tx *tx, void *ctx)
{
    struct flag_op *o = ctx;
    return store_flag_resolve(tx, o->org_id, o->id, o->user_id, clock_now_ms());
}

int api_story_flag_resolve(struct request *req)
{
    struct flag_op o = { .org_id = req->principal.org_id, .user_id = req->principal.user_id };
    if (param_id_or_reply(req, 0, &o.id) < 0)
        return HTTP_DONE;
    int r = store_write(api_app(req)->store, flag_resolve_fn, &o);
    if (r < 0)
        return reply_errno(req, r);
    return http_reply_empty(req, 204), HTTP_DONE;
}

/* ---- a shot's history ---- */

#define HISTORY_MAX 1000 /* versions read of each kind */

struct history_op {
    int64_t org_id, task_id;
    struct arena *a;
    struct store_prediction *preds;
    int n_preds;
    struct store_annotation *anns;
    int n_anns;
};

static int history_fn(struct store_tx *tx, void *ctx)
{
    struct history_op *o = ctx;
    struct store_task t;
    int r = store_task_get(tx, o->org_id, o->task_id, o->a, &t);
    if (r < 0)
        return r;
    r = store_prediction_list(tx, o->task_id, HISTORY_MAX, o->a, &o->preds, &o->n_preds);
    if (r < 0)
        return r;
    return store_annotation_list(tx, o->task_id, 0, 0, HISTORY_MAX, o->a, &o->anns, &o->n_anns);
}

/* The shot `id` in a result's JSON text, or NULL (the caller decrefs *ret_root). */
static json_t *shot_in(const char *result, const char *id, json_t **ret_root)
{
    json_t *root = result ? json_loads(result, 0, NULL) : NULL;
    *ret_root = root;
    size_t i;
    json_t *shot;
    json_array_foreach(json_object_get(root, "shots"), i, shot)
    {
        const char *sid = json_string_value(json_object_get(shot, "id"));
        if (sid && strcmp(sid, id) == 0)
            return shot;
    }
    return NULL;
}

/*
 * GET /tasks/{id}/shots/{shot}/history: every stored version of one shot,
 * machine drafts (predictions) and annotations (human, review fixes, sync
 * re-anchoring) merged in time order; a version equal to the one before it
 * is left out.
 */
int api_shot_history(struct request *req)
{
    struct history_op o = { .org_id = req->principal.org_id, .a = &req->arena };
    if (param_id_or_reply(req, 0, &o.task_id) < 0)
        return HTTP_DONE;
    struct str sv = req->params[1];
    char *shot_id = arena_strndup(&req->arena, sv.p, sv.len);
    if (!shot_id)
        return reply_errno(req, -ENOMEM);
    int r = store_read(api_app(req)->store, history_fn, &o);
    if (r < 0)
        return reply_errno(req, r);
    struct buf b;
    buf_init(&b, 0);
    struct jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kint(&w, "task", o.task_id);
    jw_kstr(&w, "shot", shot_id);
    jw_key(&w, "versions");
    jw_arr_begin(&w);
    json_t *prev = NULL, *prev_root = NULL;
    int found = 0;
    for (int i = 0, k = 0; i < o.n_preds || k < o.n_anns;) {
        /* the older of the next prediction and the next annotation */
        bool pred = k >= o.n_anns || (i < o.n_preds && o.preds[i].created_at <= o.anns[k].created_at);
        json_t *root;
        json_t *shot = shot_in(pred ? o.preds[i].result : o.anns[k].result, shot_id, &root);
        if (shot && !(prev && json_equal(prev, shot))) {
            found++;
            jw_obj_begin(&w);
            if (pred) {
                jw_kstr(&w, "source", "prediction");
                jw_kint(&w, "prediction", o.preds[i].id);
                jw_kstr(&w, "model", o.preds[i].model);
                jw_ktime(&w, "at", o.preds[i].created_at);
            } else {
                jw_kstr(&w, "source", o.anns[k].source);
                jw_kint(&w, "annotation", o.anns[k].id);
                jw_kint(&w, "version", o.anns[k].version);
                jw_kint(&w, "user", o.anns[k].user_id);
                jw_ktime(&w, "at", o.anns[k].created_at);
            }
            jw_key(&w, "shot");
            jw_json(&w, shot);
            jw_obj_end(&w);
        }
        if (shot) {
            json_decref(prev_root);
            prev_root = root;
            prev = shot;
        } else {
            json_decref(root);
        }
        if (pred)
            i++;
        else
            k++;
    }
    json_decref(prev_root);
    jw_arr_end(&w);
    jw_obj_end(&w);
    if (!found) {
        buf_release(&b);
        return http_reply_error(req, 404, "not_found", "no version of this task has that shot", NULL),
               HTTP_DONE;
    }
    return reply_json(req, 200, &b);
}
