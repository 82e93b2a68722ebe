/*
 * generate.c: media per storyboard shot — frame generation through an
 * images endpoint (a background job) and the helpers the shot media routes
 * share with it. See generate.h for the design.
 */
#include "storyboard/generate.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/json.h"
#include "jobs/jobs.h"
#include "media/media.h"
#include "project/project.h"
#include "schema/schema_storyboard.h"
#include "story/imagegen.h"
#include "story/llm.h"
#include "story/story.h"

#define GEN_ARENA_BUDGET ((size_t)64 << 20)
#define GEN_CAST_MAX     2000 /* names and aliases of the roster used for a prompt */

static void set_err(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t cap, const char *fmt, ...)
{
    if (!err || cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ */
/* shared with the routes                                              */

bool storyboard_media_kind_valid(const char *s, bool frames_only)
{
    if (!s)
        return false;
    if (strcmp(s, "first_frame") == 0 || strcmp(s, "last_frame") == 0)
        return true;
    return !frames_only && strcmp(s, "clip") == 0;
}

json_t *storyboard_result_shot(const char *result, const char *shot_id)
{
    json_t *r = result ? json_loads(result, 0, NULL) : NULL;
    json_t *shots = json_object_get(r, "shots"), *shot, *found = NULL;
    size_t i;

    json_array_foreach(shots, i, shot)
    {
        const char *id = json_get_str(shot, "id");
        if (id && strcmp(id, shot_id) == 0 && json_is_object(shot)) {
            found = json_incref(shot);
            break;
        }
    }
    json_decref(r);
    return found;
}

int storyboard_task_shot(struct store_tx *tx,
                         int64_t org_id,
                         int64_t task_id,
                         const char *shot_id,
                         struct arena *a,
                         struct store_project *ret_project,
                         json_t **ret_shot,
                         const char **ret_what)
{
    struct store_task t;
    struct store_project p;
    char *result = NULL;
    *ret_what = "task";
    int r = store_task_get(tx, org_id, task_id, a, &t);
    if (r == 0)
        r = store_project_get(tx, org_id, t.project_id, a, &p);
    if (r < 0)
        return r;
    if (strcmp(p.kind, "storyboard") != 0)
        return -ERR_NOT_FOUND;
    *ret_what = "shot";
    r = store_task_result_latest(tx, task_id, a, &result);
    if (r < 0)
        return r;
    json_t *shot = r == 1 ? storyboard_result_shot(result, shot_id) : NULL;
    if (!shot)
        return -ERR_NOT_FOUND;
    *ret_project = p;
    *ret_shot = shot;
    return 0;
}

int storyboard_shot_media_event(struct store_tx *tx, const struct store_shot_media *m, const char *action)
{
    char topic[48];
    struct buf b;
    struct jw w;
    snprintf(topic, sizeof(topic), "project.%" PRId64, m->project_id);
    buf_init(&b, 4096);
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kstr(&w, "type", "shot_media");
    jw_kstr(&w, "action", action);
    jw_kint(&w, "item", m->id);
    jw_kint(&w, "task", m->task_id);
    jw_kstr(&w, "shot", m->shot_id);
    jw_kstr(&w, "kind", m->kind);
    jw_kstr(&w, "status", m->status);
    jw_obj_end(&w);
    int r = b.err ? b.err : store_event(tx, m->org_id, topic, b.p);
    buf_release(&b);
    return r;
}

/* ------------------------------------------------------------------ */
/* generation                                                          */

/* The project's settings, with the config tree that owns their strings (json_decref it). */
static json_t *project_settings(const struct store_project *p, struct storyboard_settings *s)
{
    json_t *config = json_loads(p->config ? p->config : "{}", 0, NULL);
    if (schema_storyboard_settings(config, s) < 0)
        schema_storyboard_settings(NULL, s); /* a config the kind rejects: defaults */
    return config;
}

int storyboard_generate_check(const struct store_project *p, char *err, size_t cap)
{
    struct storyboard_settings s;
    json_t *config = project_settings(p, &s);
    int r = 0;
    if (!s.images_base_url || !s.images_model) {
        set_err(err, cap, "no image endpoint configured (the project config's \"images\")");
        r = -ERR_CONFLICT;
    } else if (!story_llm_url_allowed(s.images_base_url, getenv("ANNOTD_LLM_ALLOW"))) {
        set_err(err, cap, "the image endpoint is not allowed by the operator (ANNOTD_LLM_ALLOW)");
        r = -EACCES;
    }
    json_decref(config);
    return r;
}

struct gen {
    const struct store_project *p;
    int64_t task_id, user_id;
    const char *shot_id, *kind;
    struct arena a;
    json_t *shot;
    struct store_character *chars;
    int n_chars;
    /* the write */
    struct media_info info;
    const char *model, *prompt;
    struct store_shot_media item;
};

static int gen_read(struct store_tx *tx, void *ctx)
{
    struct gen *g = ctx;
    struct store_project p;
    const char *what;
    int r = storyboard_task_shot(tx, g->p->org_id, g->task_id, g->shot_id, &g->a, &p, &g->shot, &what);
    if (r < 0)
        return r;
    if (p.id != g->p->id)
        return -ERR_NOT_FOUND;
    return store_character_list(tx, g->p->id, &g->a, &g->chars, &g->n_chars);
}

const char *storyboard_sheet_look(const char *sheet, struct arena *a)
{
    json_t *s = sheet ? json_loads(sheet, 0, NULL) : NULL;
    const char *parts[2] = { json_get_str(s, "appearance"), json_get_str(s, "costume") };
    char *out = NULL;
    if (parts[0] && !parts[0][0])
        parts[0] = NULL;
    if (parts[1] && !parts[1][0])
        parts[1] = NULL;
    if (parts[0] || parts[1]) {
        size_t n = (parts[0] ? strlen(parts[0]) : 0) + (parts[1] ? strlen(parts[1]) : 0) + 8;
        out = arena_alloc(a, n);
        if (out)
            snprintf(out, n, "%s%s%s", parts[0] ? parts[0] : "", parts[0] && parts[1] ? "，" : "",
                     parts[1] ? parts[1] : "");
    }
    json_decref(s);
    return out;
}

/* The shot's image prompt: its own, else one drafted from it and the roster. */
static const char *gen_prompt(struct gen *g, const char *style)
{
    const char *own = json_get_str(g->shot, "image_prompt");
    if (own && own[0])
        return own;
    struct story_cast *cast = arena_calloc(&g->a, GEN_CAST_MAX + 1, sizeof(*cast));
    size_t n = 0;
    for (int i = 0; cast && i < g->n_chars && n < GEN_CAST_MAX; i++) {
        const struct store_character *c = &g->chars[i];
        int64_t id = c->merged_into ? c->merged_into : c->id;
        char *idtext = arena_alloc(&g->a, 24);
        if (!idtext)
            return NULL;
        snprintf(idtext, 24, "c%" PRId64, id);
        cast[n++] = (struct story_cast){ .name = c->name, .id = idtext,
                                         .look = c->merged_into ? NULL : storyboard_sheet_look(c->sheet, &g->a) };
        json_t *aliases = json_loads(c->aliases ? c->aliases : "[]", 0, NULL);
        size_t k;
        json_t *v;
        json_array_foreach(aliases, k, v)
        {
            if (json_is_string(v) && n < GEN_CAST_MAX)
                cast[n++] = (struct story_cast){ .name = arena_strdup(&g->a, json_string_value(v)),
                                                 .id = idtext };
        }
        json_decref(aliases);
    }
    /* a merged character's look is its target's: give every entry of an id the look */
    for (size_t i = 0; cast && i < n; i++) {
        for (size_t k = 0; !cast[i].look && k < n; k++)
            if (cast[k].look && strcmp(cast[k].id, cast[i].id) == 0)
                cast[i].look = cast[k].look;
    }
    struct buf b;
    buf_init(&b, STORY_IMAGEGEN_PROMPT_MAX);
    int r = cast ? story_shot_prompts(g->shot, cast, n, style, &b, NULL) : -ENOMEM;
    const char *out = r == 0 ? arena_strdup(&g->a, b.p) : NULL;
    buf_release(&b);
    return out;
}

static int gen_write(struct store_tx *tx, void *ctx)
{
    struct gen *g = ctx;
    int64_t now = clock_now_ms();
    struct store_media m = { .id = g->info.id,
                             .mime = g->info.mime,
                             .bytes = g->info.bytes,
                             .width = g->info.width,
                             .height = g->info.height };
    /* the task may have moved on meanwhile: it must still be the org's */
    struct store_task t;
    int r = store_task_get(tx, g->p->org_id, g->task_id, &g->a, &t);
    if (r < 0)
        return r;
    r = store_media_put(tx, &m, g->p->org_id, g->user_id, now);
    if (r < 0)
        return r;
    g->item = (struct store_shot_media){
        .org_id = g->p->org_id,
        .project_id = g->p->id,
        .task_id = g->task_id,
        .shot_id = g->shot_id,
        .media = g->info.id,
        .kind = g->kind,
        .source = "generated",
        .model = g->model,
        .prompt = g->prompt,
        .status = "pending",
        .created_by = g->user_id,
        .created_at = now,
    };
    r = store_shot_media_add(tx, &g->item, &g->item.id);
    if (r < 0)
        return r;
    r = store_audit(tx, g->p->org_id, g->user_id, "shot_media.generate", "task", g->task_id, g->info.id, now);
    if (r < 0)
        return r;
    return storyboard_shot_media_event(tx, &g->item, "created");
}

/* The image bytes into the media dir, as an upload. */
static int store_bytes(struct media *m, const struct buf *bytes, struct media_info *info, char *err, size_t cap)
{
    struct media_upload *u;
    char why[256] = "";
    int r = media_upload_begin(m, &u);
    if (r == 0)
        r = media_upload_write(u, bytes->p, bytes->len);
    if (r == 0)
        r = media_upload_finish(u, info, why, sizeof(why));
    if (r < 0 && r != -ENOMEM)
        set_err(err, cap, "the generated image could not be stored: %s", why[0] ? why : err_str(r));
    if (r == -EBADMSG || r == -ERR_UNSUPPORTED_MEDIA || r == -EFBIG)
        r = -EBADMSG;
    if (r == 0 && strncmp(info->mime, "image/", 6) != 0) {
        set_err(err, cap, "the endpoint answered %s, not an image", info->mime);
        r = -EBADMSG;
    }
    if (u)
        media_upload_free(u);
    return r;
}

int storyboard_generate_frame(struct store *st,
                              struct media *m,
                              const struct store_project *p,
                              int64_t task_id,
                              const char *shot_id,
                              const char *kind,
                              int64_t user_id,
                              int64_t *ret_item_id,
                              char *err,
                              size_t cap)
{
    if (!m) {
        set_err(err, cap, "no media dir");
        return -ERR_UNAVAILABLE;
    }
    if (!storyboard_media_kind_valid(kind, true)) {
        set_err(err, cap, "kind must be first_frame or last_frame");
        return -EINVAL;
    }
    int r = storyboard_generate_check(p, err, cap);
    if (r < 0)
        return r;
    struct storyboard_settings s;
    json_t *config = project_settings(p, &s);
    struct gen g = { .p = p, .task_id = task_id, .user_id = user_id, .shot_id = shot_id, .kind = kind };
    arena_init(&g.a, GEN_ARENA_BUDGET);
    struct buf image;
    buf_init(&image, STORY_IMAGEGEN_RESPONSE_DEFAULT);
    r = store_read(st, gen_read, &g);
    if (r == -ERR_NOT_FOUND)
        set_err(err, cap, "task %" PRId64 " or its shot '%s' is gone", task_id, shot_id);
    if (r == 0) {
        g.prompt = gen_prompt(&g, s.style);
        if (!g.prompt) {
            set_err(err, cap, "out of memory");
            r = -ENOMEM;
        }
    }
    char key[1100] = "", model[128] = "";
    if (r == 0) {
        const char *k = getenv(s.images_api_key_env ? s.images_api_key_env : "ANNOTD_IMAGES_API_KEY");
        snprintf(key, sizeof(key), "%s", k ? k : "");
        struct story_imagegen_opts o = {
            .base_url = s.images_base_url,
            .model = s.images_model,
            .api_key = key[0] ? key : NULL,
            .size = s.images_size,
            .timeout_ms = (long)s.images_timeout_seconds * 1000,
        };
        const char *mime = NULL;
        r = story_imagegen(&o, g.prompt, &image, &mime, model, sizeof(model), err, cap);
    }
    if (r == 0)
        r = store_bytes(m, &image, &g.info, err, cap);
    if (r == 0) {
        g.model = model[0] ? model : s.images_model;
        r = store_write(st, gen_write, &g);
        if (r < 0)
            set_err(err, cap, "failed to record the generated frame: %s", err_str(r));
    }
    if (r == 0)
        *ret_item_id = g.item.id;
    explicit_bzero(key, sizeof(key));
    buf_release(&image);
    json_decref(g.shot);
    arena_free(&g.a);
    json_decref(config);
    return r;
}

/* ------------------------------------------------------------------ */
/* thumbnails for the HTML sheet                                       */

#define THUMB_BYTES_MAX ((int64_t)1 << 20)

/* The thumbnail of media `id` as a data: URI, or NULL. */
static json_t *thumbnail_uri(struct media *m, const char *id, const char *mime)
{
    const char *tmime = NULL;
    int64_t size = 0;
    int fd = media_thumb_cached(m, id, mime, STORYBOARD_THUMB_SIZE, &tmime, &size);
    if (fd == -ENOENT)
        fd = media_thumb_open(m, id, mime, STORYBOARD_THUMB_SIZE, &tmime, &size);
    if (fd < 0)
        return NULL;
    json_t *uri = NULL;
    unsigned char *bytes = NULL;
    char *text = NULL;
    if (size <= 0 || size > THUMB_BYTES_MAX || !tmime)
        goto out;
    bytes = malloc((size_t)size);
    if (!bytes)
        goto out;
    size_t got = 0;
    while (got < (size_t)size) {
        ssize_t n = read(fd, bytes + got, (size_t)size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto out;
        got += (size_t)n;
    }
    size_t prefix = strlen("data:;base64,") + strlen(tmime);
    size_t b64 = sodium_base64_encoded_len(got, sodium_base64_VARIANT_ORIGINAL);
    text = malloc(prefix + b64 + 1);
    if (!text)
        goto out;
    snprintf(text, prefix + 1, "data:%s;base64,", tmime);
    sodium_bin2base64(text + prefix, b64, bytes, got, sodium_base64_VARIANT_ORIGINAL);
    uri = json_string(text);
out:
    free(text);
    free(bytes);
    close(fd);
    return uri;
}

void storyboard_doc_thumbnails(struct media *m, json_t *doc)
{
    json_t *done = json_object(); /* media id -> its URI, made once per export */
    json_t *chapters = json_object_get(doc, "chapters"), *chapter, *scene, *shot, *item;
    size_t c, s, k, i;
    if (!m || !done)
        goto out;
    json_array_foreach(chapters, c, chapter)
    {
        json_array_foreach(json_object_get(chapter, "scenes"), s, scene)
        {
            json_array_foreach(json_object_get(scene, "shots"), k, shot)
            {
                json_array_foreach(json_object_get(shot, "media"), i, item)
                {
                    const char *kind = json_get_str(item, "kind"), *id = json_get_str(item, "id");
                    const char *mime = json_get_str(item, "mime");
                    if (!kind || strcmp(kind, "first_frame") != 0 || !id || !mime ||
                        !media_mime_has_thumbs(mime))
                        continue;
                    json_t *uri = json_object_get(done, id);
                    if (!uri) {
                        uri = thumbnail_uri(m, id, mime);
                        if (!uri)
                            continue;
                        json_object_set_new(done, id, uri);
                    }
                    json_object_set(item, "thumbnail", uri);
                }
            }
        }
    }
out:
    json_decref(done);
}

int storyboard_generate_job(struct job *j, const struct store_job *info, struct store *st, void *ctx)
{
    struct media *m = ctx;
    json_t *params = json_loads(info->params ? info->params : "{}", 0, NULL);
    long long task = 0, user = 0;
    const char *shot = json_get_str(params, "shot"), *kind = json_get_str(params, "kind");
    struct store_project p;
    struct arena a;
    char err[512] = "";
    int64_t item = 0;
    arena_init(&a, 1 << 20);
    json_get_int(params, "task", &task);
    json_get_int(params, "user", &user);
    int r = -EINVAL;
    if (!task || !shot || !kind) {
        job_fail(j, "bad parameters: {\"task\",\"shot\",\"kind\"} are required");
        goto out;
    }
    r = project_get(st, info->org_id, info->project_id, &a, &p);
    if (r < 0) {
        job_fail(j, "project %" PRId64 " is gone", info->project_id);
        goto out;
    }
    r = job_progress(j, 0, 1);
    if (r < 0)
        goto out;
    r = storyboard_generate_frame(st, m, &p, task, shot, kind, user, &item, err, sizeof(err));
    if (r < 0) {
        job_fail(j, "%s", err[0] ? err : err_str(r));
        goto out;
    }
    char result[64];
    snprintf(result, sizeof(result), "{\"item\":%" PRId64 "}", item);
    job_set_result(j, result);
    r = job_progress(j, 1, 1);
    if (r == -ECANCELED)
        r = 0; /* the frame is made: done, whatever came meanwhile */
out:
    arena_free(&a);
    json_decref(params);
    return r;
}
