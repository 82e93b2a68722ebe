/*
 * shot_media.c: media per storyboard shot (issue 5, part 9): attach an
 * uploaded frame or clip to a shot, list a task's items, review them, and
 * queue the generation of a frame through the project's images endpoint
 * (a background job: src/storyboard/generate.c). A shot is named by its
 * stable id in the task's newest result.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/utf8.h"
#include "jobs/jobs.h"
#include "media/media.h"
#include "storyboard/generate.h"

#define SHOT_ID_MAX    256 /* bytes of a shot id in a path */
#define NOTE_MAX       2000 /* code points of a review note */
#define ITEMS_PAGE_MAX 1000 /* items of one task listed */

static void item_to_jw(struct jw *w, const struct store_shot_media *m)
{
    jw_obj_begin(w);
    jw_kint(w, "id", m->id);
    jw_kint(w, "project", m->project_id);
    jw_kint(w, "task", m->task_id);
    jw_kstr(w, "shot", m->shot_id);
    jw_kstr(w, "media", m->media);
    jw_kstr(w, "mime", m->mime);
    jw_kstr(w, "kind", m->kind);
    jw_kstr(w, "source", m->source);
    jw_kstr(w, "model", m->model);
    jw_kstr(w, "prompt", m->prompt);
    jw_kstr(w, "status", m->status);
    jw_kstr(w, "note", m->note);
    jw_key(w, "created_by");
    if (m->created_by)
        jw_int(w, m->created_by);
    else
        jw_null(w);
    jw_key(w, "reviewed_by");
    if (m->reviewed_by)
        jw_int(w, m->reviewed_by);
    else
        jw_null(w);
    jw_ktime(w, "created_at", m->created_at);
    jw_ktime(w, "reviewed_at", m->reviewed_at ? m->reviewed_at : -1);
    jw_obj_end(w);
}

static int reply_item(struct request *req, int status, const struct store_shot_media *m)
{
    struct buf b;
    struct jw w;
    buf_init(&b, 0);
    jw_init(&w, &b);
    item_to_jw(&w, m);
    return reply_json(req, status, &b);
}

/* The shot id of the path (param 1), NUL-terminated in the arena; answers 404 otherwise. */
static int shot_param_or_reply(struct request *req, const char **ret)
{
    struct str v = req->nparams > 1 ? req->params[1] : (struct str){ "", 0 };
    if (v.len == 0 || v.len > SHOT_ID_MAX || memchr(v.p, '\0', v.len) || !utf8_valid(v.p, v.len)) {
        http_reply_error(req, 404, "not_found", "no such shot", NULL);
        return -1;
    }
    *ret = arena_strndup(&req->arena, v.p, v.len);
    if (!*ret)
        return reply_errno(req, -ENOMEM), -1;
    return 0;
}

/* Answer a lookup's -ERR_NOT_FOUND with what was not found. */
static int reply_missing(struct request *req, int r, const char *what)
{
    if (r != -ERR_NOT_FOUND)
        return reply_errno(req, r);
    char msg[64];
    snprintf(msg, sizeof(msg), "no such %s", what ? what : "object");
    http_reply_error(req, 404, "not_found", msg, NULL);
    return HTTP_DONE;
}

/* ---- attach an uploaded media ---- */

struct attach_op {
    int64_t org_id, user_id, task_id;
    const char *shot_id, *media, *kind;
    struct arena *a;
    const char *what; /* what was not found, or the wrong type */
    struct store_shot_media item;
};

static int attach_fn(struct store_tx *tx, void *ctx)
{
    struct attach_op *o = ctx;
    struct store_project p;
    struct store_media m;
    json_t *shot = NULL;
    int r = storyboard_task_shot(tx, o->org_id, o->task_id, o->shot_id, o->a, &p, &shot, &o->what);
    json_decref(shot);
    if (r < 0)
        return r;
    o->what = "media";
    r = store_media_get(tx, o->org_id, o->media, o->a, &m);
    if (r < 0)
        return r;
    bool frame = strcmp(o->kind, "clip") != 0;
    if (strncmp(m.mime, frame ? "image/" : "video/", 6) != 0) {
        o->what = m.mime;
        return -ERR_INVALID_REQUEST;
    }
    int64_t now = clock_now_ms();
    o->item = (struct store_shot_media){
        .org_id = o->org_id,
        .project_id = p.id,
        .task_id = o->task_id,
        .shot_id = o->shot_id,
        .media = m.id,
        .mime = m.mime,
        .kind = o->kind,
        .source = "upload",
        .status = "pending",
        .created_by = o->user_id,
        .created_at = now,
    };
    r = store_shot_media_add(tx, &o->item, &o->item.id);
    if (r < 0)
        return r;
    r = store_audit(tx, o->org_id, o->user_id, "shot_media.attach", "task", o->task_id, m.id, now);
    if (r < 0)
        return r;
    return storyboard_shot_media_event(tx, &o->item, "created");
}

int api_shot_media_attach(struct request *req)
{
    static const char *const keys[] = { "media", "kind", NULL };
    struct attach_op o = { .org_id = req->principal.org_id, .user_id = req->principal.user_id,
                           .a = &req->arena };
    json_t *body;
    if (param_id_or_reply(req, 0, &o.task_id) < 0 || shot_param_or_reply(req, &o.shot_id) < 0 ||
        parse_body_object(req, &body) < 0)
        return HTTP_DONE;
    if (check_keys_or_reply(req, body, keys) < 0 || get_string_or_reply(req, body, "media", true, &o.media) < 0 ||
        get_string_or_reply(req, body, "kind", true, &o.kind) < 0)
        return HTTP_DONE;
    if (!storyboard_media_kind_valid(o.kind, false))
        return reply_invalid(req, "kind", "must be first_frame, last_frame or clip");
    if (!media_id_valid(o.media, strlen(o.media)))
        return reply_invalid(req, "media", "must be a media id (64 lowercase hex digits)");
    int r = store_write(api_app(req)->store, attach_fn, &o);
    if (r == -ERR_INVALID_REQUEST)
        return reply_invalid(req, "kind", "a %s needs %s media, and media %s is %s", o.kind,
                             strcmp(o.kind, "clip") == 0 ? "video" : "image", o.media, o.what);
    if (r < 0)
        return reply_missing(req, r, o.what);
    return reply_item(req, 201, &o.item);
}

/* ---- list a task's items ---- */

struct list_op {
    int64_t org_id, task_id;
    struct arena *a;
    struct store_shot_media *items;
    int n;
};

static int list_fn(struct store_tx *tx, void *ctx)
{
    struct list_op *o = ctx;
    struct store_task t;
    struct store_project p;
    int r = store_task_get(tx, o->org_id, o->task_id, o->a, &t);
    if (r == 0)
        r = store_project_get(tx, o->org_id, t.project_id, o->a, &p);
    if (r < 0)
        return r;
    if (strcmp(p.kind, "storyboard") != 0)
        return -ERR_NOT_FOUND;
    return store_shot_media_list(tx, o->task_id, ITEMS_PAGE_MAX, o->a, &o->items, &o->n);
}

int api_shot_media_list(struct request *req)
{
    struct list_op o = { .org_id = req->principal.org_id, .a = &req->arena };
    if (param_id_or_reply(req, 0, &o.task_id) < 0)
        return HTTP_DONE;
    int r = store_read(api_app(req)->store, list_fn, &o);
    if (r < 0)
        return reply_missing(req, r, "storyboard task");
    struct buf b;
    struct jw w;
    buf_init(&b, 0);
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_key(&w, "items");
    jw_arr_begin(&w);
    for (int i = 0; i < o.n; i++)
        item_to_jw(&w, &o.items[i]);
    jw_arr_end(&w);
    jw_obj_end(&w);
    return reply_json(req, 200, &b);
}

/* ---- review ---- */

struct review_op {
    int64_t org_id, user_id, id;
    bool accept;
    const char *note;
    struct arena *a;
    struct store_shot_media item;
};

static int review_fn(struct store_tx *tx, void *ctx)
{
    struct review_op *o = ctx;
    int r = store_shot_media_get(tx, o->org_id, o->id, o->a, &o->item);
    if (r < 0)
        return r;
    r = store_shot_media_review(tx, &o->item, o->accept, o->note, o->user_id, clock_now_ms(), NULL);
    if (r < 0)
        return r;
    r = store_shot_media_get(tx, o->org_id, o->id, o->a, &o->item);
    if (r < 0)
        return r;
    return storyboard_shot_media_event(tx, &o->item, "reviewed");
}

int api_shot_media_review(struct request *req)
{
    static const char *const keys[] = { "verdict", "note", NULL };
    struct review_op o = { .org_id = req->principal.org_id, .user_id = req->principal.user_id,
                           .a = &req->arena };
    json_t *body;
    const char *verdict;
    if (param_id_or_reply(req, 0, &o.id) < 0 || parse_body_object(req, &body) < 0)
        return HTTP_DONE;
    if (check_keys_or_reply(req, body, keys) < 0 ||
        get_string_or_reply(req, body, "verdict", true, &verdict) < 0 ||
        get_string_or_reply(req, body, "note", false, &o.note) < 0)
        return HTTP_DONE;
    if (strcmp(verdict, "accept") != 0 && strcmp(verdict, "reject") != 0)
        return reply_invalid(req, "verdict", "must be accept or reject");
    o.accept = strcmp(verdict, "accept") == 0;
    if (o.note && utf8_count(o.note, strlen(o.note)) > NOTE_MAX)
        return reply_invalid(req, "note", "must be at most %d characters", NOTE_MAX);
    if (o.note && !o.note[strspn(o.note, " \t\r\n")])
        o.note = NULL; /* white space says nothing */
    if (!o.accept && !o.note)
        return reply_invalid(req, "note", "a rejection needs a note saying what to change");
    int r = store_write(api_app(req)->store, review_fn, &o);
    if (r == -ERR_CONFLICT)
        return http_reply_error(req, 409, "conflict",
                                "another item of this shot and kind was accepted at the same time", NULL),
               HTTP_DONE;
    if (r < 0)
        return reply_missing(req, r, "shot media");
    return reply_item(req, 200, &o.item);
}

/* ---- generate a frame (a background job) ---- */

struct generate_op {
    int64_t org_id, user_id, task_id;
    const char *shot_id, *kind;
    struct arena *a;
    const char *what;
    struct store_project p;
    int64_t job_id;
    const char *params;
};

static int generate_read_fn(struct store_tx *tx, void *ctx)
{
    struct generate_op *o = ctx;
    json_t *shot = NULL;
    int r = storyboard_task_shot(tx, o->org_id, o->task_id, o->shot_id, o->a, &o->p, &shot, &o->what);
    json_decref(shot);
    return r;
}

static int generate_queue_fn(struct store_tx *tx, void *ctx)
{
    struct generate_op *o = ctx;
    struct store_job j = {
        .org_id = o->org_id,
        .project_id = o->p.id,
        .kind = STORYBOARD_GENERATE_JOB,
        .params = o->params,
        .total = 1,
        .created_by = o->user_id,
    };
    return store_job_create(tx, &j, clock_now_ms(), &o->job_id);
}

int api_shot_media_generate(struct request *req)
{
    static const char *const keys[] = { "kind", NULL };
    struct generate_op o = { .org_id = req->principal.org_id, .user_id = req->principal.user_id,
                             .a = &req->arena };
    json_t *body;
    if (param_id_or_reply(req, 0, &o.task_id) < 0 || shot_param_or_reply(req, &o.shot_id) < 0 ||
        parse_body_object(req, &body) < 0)
        return HTTP_DONE;
    if (check_keys_or_reply(req, body, keys) < 0 || get_string_or_reply(req, body, "kind", true, &o.kind) < 0)
        return HTTP_DONE;
    if (!storyboard_media_kind_valid(o.kind, true))
        return reply_invalid(req, "kind", "must be first_frame or last_frame");
    struct api_app *app = api_app(req);
    int r = store_read(app->store, generate_read_fn, &o);
    if (r < 0)
        return reply_missing(req, r, o.what);
    char err[256];
    r = storyboard_generate_check(&o.p, err, sizeof(err));
    if (r == -ERR_CONFLICT)
        return http_reply_error(req, 409, "conflict", err, "config.images"), HTTP_DONE;
    if (r < 0)
        return reply_invalid(req, "config.images.base_url", "%s", err);

    struct buf b;
    struct jw w;
    buf_init(&b, 0);
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kint(&w, "task", o.task_id);
    jw_kstr(&w, "shot", o.shot_id);
    jw_kstr(&w, "kind", o.kind);
    jw_kint(&w, "user", o.user_id);
    jw_obj_end(&w);
    o.params = b.err ? NULL : arena_strdup(&req->arena, b.p);
    buf_release(&b);
    if (!o.params)
        return reply_errno(req, -ENOMEM);
    r = store_write(app->store, generate_queue_fn, &o);
    if (r < 0)
        return reply_errno(req, r);
    jobs_kick(app->jobs);
    buf_init(&b, 0);
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_key(&w, "job");
    jw_obj_begin(&w);
    jw_kint(&w, "id", o.job_id);
    jw_kstr(&w, "kind", STORYBOARD_GENERATE_JOB);
    jw_kstr(&w, "state", "queued");
    jw_obj_end(&w);
    jw_obj_end(&w);
    return reply_json(req, 202, &b);
}
