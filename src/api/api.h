/*
 * api: one file per resource; each handler parses, calls the domain, and
 * answers. Shared helpers live in api.c; the route table in routes.c.
 */
#ifndef ANNOTD_API_H
#define ANNOTD_API_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/auth.h"
#include "core/buf.h"
#include "core/json.h"
#include "http/http.h"
#include "store/store.h"

struct media;
struct media_pool;

struct api_limits {
    size_t max_body;    /* API JSON bodies */
    size_t max_import;  /* task imports, novel uploads */
    size_t max_upload;  /* media */
    int max_json_depth;
};

/* What every handler can reach through req->app. */
struct api_app {
    struct store *store;
    struct api_limits limits;
    int64_t session_ttl_ms;
    const char *cookie_name;
    bool secure_cookie; /* add Secure to the session cookie (behind TLS) */
    atomic_bool ready;  /* /healthz answers 200 once set */
    struct api_events *events; /* live updates (events.c) */
    struct media *media;       /* the media dir (media.c); NULL: media answer 503 */
    struct media_pool *media_pool; /* libvips work (media/pool.h); NULL: in the handler */
    struct jobs *jobs;         /* background workers (src/jobs), kicked after a job is queued; may be NULL */
};

/*
 * Live updates (events.c): subscribe to the store's events before the
 * server starts; after http_server_stop() (which ends every stream),
 * unsubscribe and free. start returns 0 or a negative error.
 */
int api_events_start(struct api_app *app);
void api_events_stop(struct api_app *app);

/* The route table for http_server_start(); limits fill the body caps. */
const struct http_route *api_routes(const struct api_limits *limits, size_t *ret_n);
/* The authenticator for http_server_start(). */
int api_authenticate(void *app,
                     struct request *req,
                     const char *token,
                     const char *csrf,
                     bool via_cookie,
                     struct http_principal *ret);

static inline struct api_app *api_app(struct request *req)
{
    return req->app;
}

/* ---- shared helpers (api.c) ---- */

/* Answer a negative error code with its status and code; returns HTTP_DONE. */
int reply_errno(struct request *req, int err);
/* Answer 400 invalid_request (or another code) with a path; returns HTTP_DONE. */
int reply_invalid(struct request *req, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Answer a finished buf as JSON; returns HTTP_DONE. */
int reply_json(struct request *req, int status, struct buf *b);

/*
 * Parse the request body as a JSON object. On failure it has already
 * answered (400 invalid_json / 413 too_large / 400 invalid_request) and
 * returns negative. The value is released with the request.
 */
int parse_body_object(struct request *req, json_t **ret);

/* ?after=&limit= : on failure answers 400 and returns negative. */
int parse_list_args(struct request *req, int64_t *ret_after, int *ret_limit);

/* Path param i as an id; answers 404 on failure. */
int param_id_or_reply(struct request *req, int i, int64_t *ret);

/* Check the keys of a body object; answers 400 on an unknown one. */
int check_keys_or_reply(struct request *req, const json_t *obj, const char *const *allowed);

/* String field: required or optional; answers 400 when of the wrong type. */
int get_string_or_reply(struct request *req, const json_t *obj, const char *key, bool required,
                        const char **ret);

/*
 * The org a create request acts in: the caller's, or the body's optional
 * "org" field (removed from the body), which only the platform admin may
 * point at another org. Answers 400/403/404 itself and returns negative.
 */
int target_org_or_reply(struct request *req, json_t *body, int64_t *ret);

/*
 * A list reply: list_begin() opens {"items":[ ; list_end() closes it with
 * "next_after": the last id when the page was full (more may follow), else null.
 */
void list_begin(struct jw *w, struct buf *b);
void list_end(struct jw *w, int n, int limit, int64_t last_id);

/* User and org JSON. */
void user_to_json(struct jw *w, const struct store_user *u);
/* An annotation (queue.c) and a review (reviews.c) as JSON objects. */
void annotation_to_jw(struct jw *w, const struct store_annotation *a);
void review_to_jw(struct jw *w, const struct store_review *r);

/* Handlers, one group per file. */
int api_healthz(struct request *req);
int api_login(struct request *req);
int api_logout(struct request *req);
int api_me(struct request *req);
int api_tokens_create(struct request *req);
int api_tokens_list(struct request *req);
int api_tokens_delete(struct request *req);
int api_orgs_create(struct request *req);
int api_orgs_list(struct request *req);
int api_orgs_get(struct request *req);
int api_users_create(struct request *req);
int api_users_list(struct request *req);
int api_users_get(struct request *req);
int api_users_update(struct request *req);
int api_projects_create(struct request *req);
int api_projects_list(struct request *req);
int api_projects_get(struct request *req);
int api_projects_update(struct request *req);
int api_tasks_import(struct request *req);
int api_tasks_import_body(struct request *req, const char *p, size_t len);
int api_tasks_list(struct request *req);
int api_tasks_get(struct request *req);
int api_export(struct request *req);
int api_novel_import(struct request *req);
int api_novel_get(struct request *req);
int api_characters_list(struct request *req);
int api_characters_create(struct request *req);
int api_characters_update(struct request *req);
int api_characters_merge(struct request *req);
int api_characters_delete(struct request *req);
int api_story_flags(struct request *req);
int api_task_flags(struct request *req);
int api_story_flag_resolve(struct request *req);
int api_shot_history(struct request *req);
int api_shot_media_attach(struct request *req);
int api_shot_media_list(struct request *req);
int api_shot_media_review(struct request *req);
int api_shot_media_generate(struct request *req);
int api_jobs_list(struct request *req);
int api_jobs_get(struct request *req);
int api_jobs_cancel(struct request *req);
int api_queue_next(struct request *req);
int api_queue_submit(struct request *req);
int api_queue_skip(struct request *req);
int api_queue_release(struct request *req);
int api_queue_heartbeat(struct request *req);
int api_queue_draft(struct request *req);
int api_assignments_get(struct request *req);
int api_task_annotations(struct request *req);
int api_review_next(struct request *req);
int api_review_add(struct request *req);
int api_review_release(struct request *req);
int api_annotation_reviews(struct request *req);
int api_events(struct request *req);
int api_media_upload(struct request *req);
int api_media_upload_body(struct request *req, const char *p, size_t len);
int api_media_get(struct request *req);

#endif
