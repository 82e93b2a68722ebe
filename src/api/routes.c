/*
 * routes.c: the route table. One line per route says everything the server
 * enforces before the handler runs: method, path, handler, who may call,
 * body cap and flags.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

#define KIB 1024u

/* body caps filled from the limits at start */
enum { CAP_NONE, CAP_SMALL, CAP_BODY, CAP_IMPORT, CAP_UPLOAD };

struct route_def {
    struct http_route r;
    int cap;
};

#define JSON HTTP_BODY_JSON
/* who may edit a storyboard's roster: everyone who works on it */
#define ROLES_EDIT (ROLE_OWNER | ROLE_MANAGER | ROLE_REVIEWER | ROLE_ANNOTATOR)

static const struct route_def table[] = {
    /* method  path                               handler             who may call   cap         flags */
    { { "GET",    "/healthz",                       api_healthz,        0,             0, HTTP_PUBLIC | HTTP_NO_LOG, NULL }, CAP_NONE },

    { { "POST",   "/api/v1/auth/login",             api_login,          0,             0, HTTP_PUBLIC | JSON, NULL }, CAP_SMALL },
    { { "POST",   "/api/v1/auth/logout",            api_logout,         ROLES_ALL,     0, 0, NULL }, CAP_SMALL },
    { { "GET",    "/api/v1/me",                     api_me,             ROLES_ALL,     0, 0, NULL }, CAP_NONE },

    { { "POST",   "/api/v1/tokens",                 api_tokens_create,  ROLES_ALL,     0, JSON, NULL }, CAP_SMALL },
    { { "GET",    "/api/v1/tokens",                 api_tokens_list,    ROLES_ALL,     0, 0, NULL }, CAP_NONE },
    { { "DELETE", "/api/v1/tokens/{id}",            api_tokens_delete,  ROLES_ALL,     0, 0, NULL }, CAP_NONE },

    { { "POST",   "/api/v1/orgs",                   api_orgs_create,    ROLE_ADMIN,    0, JSON, NULL }, CAP_SMALL },
    { { "GET",    "/api/v1/orgs",                   api_orgs_list,      ROLE_ADMIN,    0, 0, NULL }, CAP_NONE },
    { { "GET",    "/api/v1/orgs/{id}",              api_orgs_get,       ROLES_ALL,     0, 0, NULL }, CAP_NONE },

    { { "POST",   "/api/v1/users",                  api_users_create,   ROLES_MANAGE,  0, JSON, NULL }, CAP_SMALL },
    { { "GET",    "/api/v1/users",                  api_users_list,     ROLES_MANAGE,  0, 0, NULL }, CAP_NONE },
    { { "GET",    "/api/v1/users/{id}",             api_users_get,      ROLES_ALL,     0, 0, NULL }, CAP_NONE },
    { { "PATCH",  "/api/v1/users/{id}",             api_users_update,   ROLES_MANAGE,  0, JSON, NULL }, CAP_SMALL },

    { { "POST",   "/api/v1/projects",               api_projects_create, ROLES_MANAGE, 0, JSON, NULL }, CAP_BODY },
    { { "GET",    "/api/v1/projects",               api_projects_list,  ROLES_ALL,     0, 0, NULL }, CAP_NONE },
    { { "GET",    "/api/v1/projects/{id}",          api_projects_get,   ROLES_ALL,     0, 0, NULL }, CAP_NONE },
    { { "PATCH",  "/api/v1/projects/{id}",          api_projects_update, ROLES_MANAGE, 0, JSON, NULL }, CAP_BODY },
    { { "POST",   "/api/v1/projects/{id}/tasks",    api_tasks_import,   ROLES_MANAGE,  0, HTTP_BODY_STREAM, api_tasks_import_body }, CAP_IMPORT },
    { { "GET",    "/api/v1/projects/{id}/tasks",    api_tasks_list,     ROLES_READ,    0, 0, NULL }, CAP_NONE },
    { { "GET",    "/api/v1/projects/{id}/export",   api_export,         ROLES_MANAGE,  0, 0, NULL }, CAP_NONE },
    { { "GET",    "/api/v1/tasks/{id}",             api_tasks_get,      ROLES_READ,    0, 0, NULL }, CAP_NONE },
    { { "GET",    "/api/v1/tasks/{id}/annotations", api_task_annotations, ROLES_ALL,   0, 0, NULL }, CAP_NONE },

    { { "POST",   "/api/v1/projects/{id}/next",     api_queue_next,     ROLES_WORK,    0, 0, NULL }, CAP_SMALL },
    { { "GET",    "/api/v1/assignments/{id}",       api_assignments_get, ROLES_WORK,   0, 0, NULL }, CAP_NONE },
    { { "POST",   "/api/v1/assignments/{id}/submit", api_queue_submit,  ROLES_WORK,    0, JSON, NULL }, CAP_BODY },
    { { "POST",   "/api/v1/assignments/{id}/skip",  api_queue_skip,     ROLES_WORK,    0, 0, NULL }, CAP_SMALL },
    { { "POST",   "/api/v1/assignments/{id}/release", api_queue_release, ROLES_WORK,   0, 0, NULL }, CAP_SMALL },
    { { "POST",   "/api/v1/assignments/{id}/heartbeat", api_queue_heartbeat, ROLES_WORK, 0, 0, NULL }, CAP_SMALL },
    { { "PUT",    "/api/v1/assignments/{id}/draft", api_queue_draft,    ROLES_WORK,    0, JSON, NULL }, CAP_BODY },

    { { "GET",    "/api/v1/projects/{id}/review/next", api_review_next, ROLES_REVIEW,  0, 0, NULL }, CAP_NONE },
    { { "POST",   "/api/v1/annotations/{id}/review", api_review_add,    ROLES_REVIEW,  0, JSON, NULL }, CAP_BODY },
    { { "POST",   "/api/v1/annotations/{id}/review/release", api_review_release, ROLES_REVIEW, 0, 0, NULL }, CAP_SMALL },
    { { "GET",    "/api/v1/annotations/{id}/reviews", api_annotation_reviews, ROLES_ALL, 0, 0, NULL }, CAP_NONE },

    { { "POST",   "/api/v1/projects/{id}/novel",    api_novel_import,   ROLES_MANAGE,  0, 0, NULL }, CAP_IMPORT },
    { { "GET",    "/api/v1/projects/{id}/novel",    api_novel_get,      ROLES_ALL,     0, 0, NULL }, CAP_NONE },
    { { "GET",    "/api/v1/projects/{id}/characters", api_characters_list, ROLES_ALL,  0, 0, NULL }, CAP_NONE },
    { { "POST",   "/api/v1/projects/{id}/characters", api_characters_create, ROLES_EDIT, 0, JSON, NULL }, CAP_SMALL },
    { { "PATCH",  "/api/v1/projects/{id}/characters/{cid}", api_characters_update, ROLES_EDIT, 0, JSON, NULL }, CAP_SMALL },
    { { "POST",   "/api/v1/projects/{id}/characters/{cid}/merge", api_characters_merge, ROLES_EDIT, 0, JSON, NULL }, CAP_SMALL },
    { { "DELETE", "/api/v1/projects/{id}/characters/{cid}", api_characters_delete, ROLES_MANAGE, 0, 0, NULL }, CAP_NONE },
    { { "GET",    "/api/v1/projects/{id}/story/flags", api_story_flags, ROLES_ALL,     0, 0, NULL }, CAP_NONE },
    { { "GET",    "/api/v1/tasks/{id}/shots/{shot}/history", api_shot_history, ROLES_ALL, 0, 0, NULL }, CAP_NONE },
    { { "GET",    "/api/v1/tasks/{id}/flags",       api_task_flags,     ROLES_ALL,     0, 0, NULL }, CAP_NONE },
    { { "POST",   "/api/v1/story/flags/{id}/resolve", api_story_flag_resolve, ROLES_REVIEW, 0, 0, NULL }, CAP_SMALL },
    { { "GET",    "/api/v1/tasks/{id}/shots/media", api_shot_media_list, ROLES_ALL,    0, 0, NULL }, CAP_NONE },
    { { "POST",   "/api/v1/tasks/{id}/shots/{shot}/media", api_shot_media_attach, ROLES_EDIT, 0, JSON, NULL }, CAP_SMALL },
    { { "POST",   "/api/v1/tasks/{id}/shots/{shot}/generate", api_shot_media_generate, ROLES_WORK, 0, JSON, NULL }, CAP_SMALL },
    { { "POST",   "/api/v1/shot-media/{id}/review", api_shot_media_review, ROLES_REVIEW, 0, JSON, NULL }, CAP_SMALL },

    { { "GET",    "/api/v1/projects/{id}/jobs",     api_jobs_list,      ROLES_ALL,     0, 0, NULL }, CAP_NONE },
    { { "GET",    "/api/v1/jobs/{id}",              api_jobs_get,       ROLES_ALL,     0, 0, NULL }, CAP_NONE },
    { { "POST",   "/api/v1/jobs/{id}/cancel",       api_jobs_cancel,    ROLES_MANAGE,  0, 0, NULL }, CAP_SMALL },

    { { "POST",   "/api/v1/media",                  api_media_upload,   ROLES_MANAGE,  0, HTTP_BODY_STREAM, api_media_upload_body }, CAP_UPLOAD },
    { { "GET",    "/api/v1/media/{id}",             api_media_get,      ROLES_ALL,     0, 0, NULL }, CAP_NONE },

    { { "GET",    "/api/v1/events",                 api_events,         ROLES_ALL,     0, 0, NULL }, CAP_NONE },
};

#define NROUTES (sizeof(table) / sizeof(table[0]))

static struct http_route routes[NROUTES];

const struct http_route *api_routes(const struct api_limits *limits, size_t *ret_n)
{
    for (size_t i = 0; i < NROUTES; i++) {
        routes[i] = table[i].r;
        switch (table[i].cap) {
        case CAP_SMALL:
            routes[i].body_cap = 64 * KIB < limits->max_body ? 64 * KIB : limits->max_body;
            break;
        case CAP_BODY:
            routes[i].body_cap = limits->max_body;
            break;
        case CAP_IMPORT:
            routes[i].body_cap = limits->max_import;
            break;
        case CAP_UPLOAD:
            routes[i].body_cap = limits->max_upload;
            break;
        default:
            routes[i].body_cap = 0;
        }
    }
    *ret_n = NROUTES;
    return routes;
}
