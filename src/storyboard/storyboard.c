/*
 * storyboard.c: import/sync of a novel into a storyboard project, the
 * novel's summary, and exports. See storyboard.h for the design.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/json.h"
#include "core/utf8.h"
#include "story/export.h"
#include "story/llm.h"
#include "story/story.h"
#include "story/sync.h"
#include "jobs/jobs.h"
#include "project/project.h"
#include "storyboard/storyboard.h"
#include "storyboard/generate.h"
#include "schema/schema_storyboard.h"

#define ARENA_BUDGET      ((size_t)1 << 30)
#define ROSTER_NEW_MAX    300 /* new characters one import may add */
#define FLAG_TEXT_MAX     2000
#define RULES_MODEL       "annotd-rules"
#define RULES_VERSION     "1"

/* ------------------------------------------------------------------ */
/* settings                                                            */

struct settings {
    double speech_rate;
    double action_seconds;
    double target_minutes;
    const char *style; /* the prompts' style suffix */
    bool llm;
    struct story_llm_opts llm_opts;
    char api_key[512];
};

/*
 * The project's settings, from the kind's own reader (defaults included);
 * the key comes from the environment variable the config names (default
 * ANNOTD_LLM_API_KEY), never from the config.
 */
static void settings_read(const char *config_text, struct settings *s, json_t **ret_config)
{
    memset(s, 0, sizeof(*s));
    json_t *c = json_loads(config_text ? config_text : "{}", 0, NULL);
    struct storyboard_settings ss;
    if (schema_storyboard_settings(c, &ss) < 0)
        schema_storyboard_settings(NULL, &ss); /* a config the kind rejects: defaults */
    s->speech_rate = ss.speech_rate;
    s->action_seconds = ss.action_seconds;
    s->target_minutes = ss.target_minutes;
    s->style = ss.style;
    if (ss.drafter == STORYBOARD_DRAFTER_LLM) {
        const char *key = getenv(ss.llm_api_key_env ? ss.llm_api_key_env : "ANNOTD_LLM_API_KEY");
        if (key)
            snprintf(s->api_key, sizeof(s->api_key), "%s", key);
        s->llm = true;
        s->llm_opts.base_url = ss.llm_base_url;
        s->llm_opts.model = ss.llm_model;
        s->llm_opts.api_key = s->api_key[0] ? s->api_key : NULL;
        s->llm_opts.timeout_ms = (long)ss.llm_timeout_seconds * 1000;
        s->llm_opts.retries = 2;
    }
    *ret_config = c; /* owns the strings the settings point to */
}

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

/* Copy of code points [start, end) of s (NUL-terminated) into the arena. */
static char *cp_slice(struct arena *a, const char *s, size_t len, size_t start, size_t end)
{
    long b = utf8_offset(s, len, start), e = utf8_offset(s, len, end);
    if (b < 0 || e < b)
        return arena_strdup(a, "");
    return arena_strndup(a, s + b, (size_t)(e - b));
}

static void chapter_key(const struct story_chapter *c, char *out, size_t cap)
{
    if (c->number >= 0)
        snprintf(out, cap, "%s|%d|%ld", c->volume ? c->volume : "", (int)c->kind, c->number);
    else
        snprintf(out, cap, "%s|t|%s", c->volume ? c->volume : "", c->title ? c->title : "");
}

static void set_err(struct storyboard_error *err, const char *code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void set_err(struct storyboard_error *err, const char *code, const char *path, const char *fmt, ...)
{
    if (!err)
        return;
    err->code = code;
    snprintf(err->path, sizeof(err->path), "%s", path);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

int64_t storyboard_character_id(const char *s)
{
    if (!s || s[0] != 'c' || s[1] < '1' || s[1] > '9')
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s + 1, &end, 10);
    return errno || *end || v <= 0 ? 0 : (int64_t)v;
}

static json_t *shots_of(const json_t *result)
{
    json_t *shots = json_object_get(result, "shots");
    return json_is_array(shots) ? shots : NULL;
}

/* ---- counting shots without a tree ---- */

/* Skip a JSON string starting at p[i] == '"'; returns the index after it. */
static size_t skip_string(const char *p, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (p[i] == '\\')
            i++;
        else if (p[i] == '"')
            return i + 1;
    }
    return len;
}

void storyboard_result_stats(const char *p, size_t len, size_t *ret_shots, double *ret_duration)
{
    size_t shots = 0;
    double total = 0;
    /*
     * depth 1: the result object; 2: the "shots" array; 3: a shot object.
     * in_shots: the depth-2 array is the value of the top-level "shots".
     * last_key: the last key read at depth 3 was "duration".
     */
    int depth = 0;
    bool in_shots = false, want_shots = false, want_duration = false;
    for (size_t i = 0; p && i < len;) {
        char c = p[i];
        if (c == '"') {
            size_t end = skip_string(p, len, i);
            /* a key is a string followed by ':' */
            size_t k = end;
            while (k < len && (p[k] == ' ' || p[k] == '\n' || p[k] == '\t' || p[k] == '\r'))
                k++;
            if (k < len && p[k] == ':') {
                size_t klen = end - i;
                if (depth == 1)
                    want_shots = klen == 7 && memcmp(p + i, "\"shots\"", 7) == 0;
                else if (depth == 3 && in_shots)
                    want_duration = klen == 10 && memcmp(p + i, "\"duration\"", 10) == 0;
                i = k + 1;
                continue;
            }
            want_duration = false;
            i = end;
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
            if (depth == 2 && c == '[' && want_shots)
                in_shots = true;
            else if (depth == 3 && c == '{' && in_shots)
                shots++;
            want_shots = want_duration = false;
        } else if (c == '}' || c == ']') {
            if (depth == 2 && in_shots)
                in_shots = false;
            depth--;
            want_duration = false;
        } else if (want_duration && ((c >= '0' && c <= '9') || c == '-')) {
            char num[40];
            size_t n = 0;
            while (i < len && n + 1 < sizeof(num) && strchr("0123456789+-.eE", p[i]))
                num[n++] = p[i++];
            num[n] = '\0';
            double d = strtod(num, NULL);
            if (isfinite(d) && d > 0)
                total += d;
            want_duration = false;
            continue;
        } else if (c == ',') {
            want_duration = false;
        }
        i++;
    }
    *ret_shots = shots;
    *ret_duration = total;
}

static size_t count_shots(const char *result_text)
{
    size_t n = 0;
    double d;
    if (result_text)
        storyboard_result_stats(result_text, strlen(result_text), &n, &d);
    return n;
}

static bool src_range(const json_t *shot, size_t *start, size_t *end)
{
    const json_t *src = json_object_get(shot, "source");
    const json_t *s = json_object_get(src, "start"), *e = json_object_get(src, "end");
    if (!json_is_integer(s) || !json_is_integer(e) || json_integer_value(s) < 0 ||
        json_integer_value(e) < json_integer_value(s))
        return false;
    *start = (size_t)json_integer_value(s);
    *end = (size_t)json_integer_value(e);
    return true;
}

static void set_src(json_t *shot, size_t start, size_t end)
{
    json_object_set_new(shot, "source", json_pack("{s:I,s:I}", "start", (json_int_t)start, "end", (json_int_t)end));
}

/* ------------------------------------------------------------------ */
/* the import's state                                                  */

enum chapter_fate { FATE_ADDED, FATE_KEPT, FATE_CHANGED };

struct up_chapter {
    const struct story_chapter *ch;
    char hash[65];
    char key[300];
    const char *body; /* the chapter's body, NUL-terminated (arena) */
    size_t body_len;
    enum chapter_fate fate;
    int idx;       /* the novel's chapter index it becomes or is */
    bool split;    /* parts is filled */
    struct story_chapter_parts parts;
    json_t **drafts;        /* per scene, the machine's draft */
    const char **models;    /* per scene, the model that drafted it */
    const char **scene_txt; /* per scene, its text (arena) */
    /* summary */
    size_t n_scenes, n_utterances, n_shots;
};

struct cast_entry {
    const char *name;
    char id[24];
    const char *look; /* the sheet's appearance and costume (the prompts), or NULL */
};

struct import {
    struct store *st;
    const struct store_project *project;
    const struct storyboard_import_opts *o;
    struct storyboard_error *err;
    struct arena a;
    struct settings set;
    json_t *config;
    struct story_text text;
    struct story_chapters chapters;
    struct up_chapter *up;
    size_t n_up;
    /* what is stored (read before the first write) */
    bool have_novel;
    struct store_novel novel;
    struct store_chapter *old;
    int n_old;
    struct store_character *chars;
    int n_chars;
    int base_revision;
    /* the roster as the drafters see it */
    struct cast_entry *cast;
    size_t n_cast, cap_cast;
    /* drafting */
    int revision; /* this import's */
    uint64_t next_shot;
    /* the LLM drafter: tasks drafted with the rules that its job re-drafts */
    int64_t *llm_tasks;
    size_t n_llm_tasks, cap_llm_tasks;
    int64_t job_id;
    /* sync counts (shots) */
    size_t added, kept, redrafted, flagged;
    int64_t now;
};

static void import_release(struct import *im)
{
    for (size_t i = 0; i < im->n_up; i++) {
        struct up_chapter *u = &im->up[i];
        if (u->drafts)
            for (size_t k = 0; k < u->parts.n_scenes; k++)
                json_decref(u->drafts[k]);
        free(u->drafts);
        if (u->split)
            story_parts_release(&u->parts);
    }
    json_decref(im->config);
    story_chapters_release(&im->chapters);
    story_text_release(&im->text);
    arena_free(&im->a);
}

/* ---- step 1: ingest, chapters, hashes ---- */

static int ingest(struct import *im, const char *p, size_t len)
{
    struct story_ingest_opts io = {
        .max_bytes = im->o->max_bytes ? im->o->max_bytes : STORYBOARD_NOVEL_MAX,
        .t2s = im->o->t2s,
    };
    struct story_error e;
    int r = story_ingest(p, len, &io, &im->text, &e);
    if (r < 0) {
        const char *code = r == -E2BIG                                  ? "too_large"
                           : r == -EMEDIUMTYPE || r == -EILSEQ          ? "unsupported_media"
                           : r == -ENOMEM                               ? "internal"
                                                                        : "invalid_request";
        set_err(im->err, code, r == -ENOENT ? "t2s" : "body", "novel: %s", e.message);
        return r == -E2BIG ? -ERR_TOO_LARGE
               : r == -EMEDIUMTYPE || r == -EILSEQ ? -ERR_UNSUPPORTED_MEDIA
               : r == -ENOMEM ? -ENOMEM
                              : -ERR_INVALID_REQUEST;
    }
    r = story_chapters(&im->text, &im->chapters);
    if (r < 0) {
        set_err(im->err, "invalid_request", "body", "novel: no text to cut into chapters");
        return r == -ENOMEM ? -ENOMEM : -ERR_INVALID_REQUEST;
    }
    im->n_up = im->chapters.n;
    im->up = arena_calloc(&im->a, im->n_up ? im->n_up : 1, sizeof(*im->up));
    if (!im->up)
        return -ENOMEM;
    const char *t = im->text.text.p;
    for (size_t i = 0; i < im->n_up; i++) {
        struct up_chapter *u = &im->up[i];
        const struct story_chapter *c = &im->chapters.v[i];
        u->ch = c;
        u->body = arena_strndup(&im->a, t + c->byte_begin, c->byte_end - c->byte_begin);
        if (!u->body)
            return -ENOMEM;
        u->body_len = c->byte_end - c->byte_begin;
        char *h = arena_strdup(&im->a, c->title ? c->title : "");
        size_t hl = strlen(h);
        struct buf hb;
        buf_init(&hb, 0);
        buf_add(&hb, h, hl);
        buf_addch(&hb, '\n');
        buf_add(&hb, u->body, u->body_len);
        if (hb.err) {
            buf_release(&hb);
            return -ENOMEM;
        }
        story_hash_text(hb.p, hb.len, u->hash);
        buf_release(&hb);
        chapter_key(c, u->key, sizeof(u->key));
    }
    return 0;
}

/* ---- step 2: what is stored ---- */

static int read_stored(struct store_tx *tx, void *ctx)
{
    struct import *im = ctx;
    int r = store_novel_get(tx, im->project->id, &im->a, &im->novel);
    if (r == -ERR_NOT_FOUND) {
        im->have_novel = false;
        im->n_old = 0;
    } else if (r < 0) {
        return r;
    } else {
        im->have_novel = true;
        r = store_chapter_list(tx, im->novel.id, false, &im->a, &im->old, &im->n_old);
        if (r < 0)
            return r;
    }
    return store_character_list(tx, im->project->id, &im->a, &im->chars, &im->n_chars);
}

/* ---- step 3: match uploaded chapters to stored ones ---- */

static void plan(struct import *im)
{
    bool *used = arena_calloc(&im->a, (size_t)im->n_old + 1, sizeof(bool));
    int next_idx = 0;
    for (int k = 0; k < im->n_old; k++)
        if (im->old[k].idx > next_idx)
            next_idx = im->old[k].idx;
    for (size_t i = 0; i < im->n_up; i++) {
        struct up_chapter *u = &im->up[i];
        int hit = -1;
        /* the same content: kept (the same key first, then anywhere) */
        for (int k = 0; k < im->n_old && hit < 0; k++)
            if (!used[k] && strcmp(im->old[k].hash, u->hash) == 0 && strcmp(im->old[k].ckey, u->key) == 0)
                hit = k;
        for (int k = 0; k < im->n_old && hit < 0; k++)
            if (!used[k] && strcmp(im->old[k].hash, u->hash) == 0)
                hit = k;
        if (hit >= 0) {
            u->fate = FATE_KEPT;
        } else {
            for (int k = 0; k < im->n_old && hit < 0; k++)
                if (!used[k] && strcmp(im->old[k].ckey, u->key) == 0)
                    hit = k;
            u->fate = hit >= 0 ? FATE_CHANGED : FATE_ADDED;
        }
        if (hit >= 0) {
            used[hit] = true;
            u->idx = im->old[hit].idx;
        } else {
            u->idx = ++next_idx;
        }
    }
}

/* ---- roster ---- */

static int cast_add(struct import *im, const char *name, int64_t id)
{
    if (!name || !*name)
        return 0;
    if (im->n_cast == im->cap_cast) {
        size_t want = im->cap_cast ? im->cap_cast * 2 : 64;
        struct cast_entry *v = arena_alloc(&im->a, want * sizeof(*v));
        if (!v)
            return -ENOMEM;
        if (im->n_cast)
            memcpy(v, im->cast, im->n_cast * sizeof(*v));
        im->cast = v;
        im->cap_cast = want;
    }
    struct cast_entry *c = &im->cast[im->n_cast++];
    c->name = name;
    c->look = NULL;
    snprintf(c->id, sizeof(c->id), "c%" PRId64, id);
    return 0;
}

static bool cast_has(const struct import *im, const char *name)
{
    for (size_t i = 0; i < im->n_cast; i++)
        if (strcmp(im->cast[i].name, name) == 0)
            return true;
    return false;
}

/* The stored roster as names and aliases -> ids (merged ones -> their target). */
static int cast_from_roster(struct import *im)
{
    for (int i = 0; i < im->n_chars; i++) {
        const struct store_character *c = &im->chars[i];
        int64_t id = c->merged_into ? c->merged_into : c->id;
        size_t first = im->n_cast;
        if (cast_add(im, c->name, id) < 0)
            return -ENOMEM;
        if (im->n_cast > first && !c->merged_into)
            im->cast[first].look = storyboard_sheet_look(c->sheet, &im->a);
        json_t *al = json_loads(c->aliases ? c->aliases : "[]", 0, NULL);
        size_t k;
        json_t *v;
        json_array_foreach(al, k, v)
        {
            if (json_is_string(v) && cast_add(im, arena_strdup(&im->a, json_string_value(v)), id) < 0) {
                json_decref(al);
                return -ENOMEM;
            }
        }
        json_decref(al);
    }
    return 0;
}

static const char **known_names(struct import *im)
{
    const char **v = arena_calloc(&im->a, im->n_cast + 1, sizeof(*v));
    if (v)
        for (size_t i = 0; i < im->n_cast; i++)
            v[i] = im->cast[i].name;
    return v;
}

/* ---- step 4: split the chapters to draft ---- */

static int split_chapters(struct import *im)
{
    const char **known = known_names(im);
    if (!known)
        return -ENOMEM;
    for (size_t i = 0; i < im->n_up; i++) {
        struct up_chapter *u = &im->up[i];
        if (u->fate == FATE_KEPT)
            continue;
        int r = story_chapter_split(&im->text, u->ch, NULL, known, &u->parts);
        if (r < 0)
            return r;
        u->split = true;
        u->n_scenes = u->parts.n_scenes;
        u->n_utterances = u->parts.n_utterances;
        u->scene_txt = arena_calloc(&im->a, u->n_scenes + 1, sizeof(char *));
        u->drafts = calloc(u->n_scenes + 1, sizeof(json_t *));
        u->models = arena_calloc(&im->a, u->n_scenes + 1, sizeof(char *));
        if (!u->scene_txt || !u->drafts || !u->models)
            return -ENOMEM;
        for (size_t k = 0; k < u->n_scenes; k++) {
            const struct story_scene *s = &u->parts.scenes[k];
            u->scene_txt[k] = cp_slice(&im->a, u->parts.body, u->parts.body_bytes, s->begin, s->end);
            if (!u->scene_txt[k])
                return -ENOMEM;
        }
    }
    return 0;
}

/* New names from the chapters just split (they speak, and recur). */
struct roster_new {
    struct import *im;
    const char **names;
    int64_t *lines, *mentions, *ids;
    size_t n;
};

static int collect_roster(struct import *im, struct roster_new *rn)
{
    memset(rn, 0, sizeof(*rn));
    rn->im = im;
    size_t n_split = 0;
    for (size_t i = 0; i < im->n_up; i++)
        n_split += im->up[i].split;
    if (!n_split)
        return 0;
    struct story_chapter_parts *parts = calloc(n_split, sizeof(*parts));
    if (!parts)
        return -ENOMEM;
    size_t j = 0;
    for (size_t i = 0; i < im->n_up; i++)
        if (im->up[i].split)
            parts[j++] = im->up[i].parts; /* a shallow copy: roster only reads */
    struct story_roster ro;
    int r = story_roster_collect(parts, n_split, 3, &ro);
    free(parts);
    if (r < 0)
        return r;
    rn->names = arena_calloc(&im->a, ROSTER_NEW_MAX + 1, sizeof(char *));
    rn->lines = arena_calloc(&im->a, ROSTER_NEW_MAX + 1, sizeof(int64_t));
    rn->mentions = arena_calloc(&im->a, ROSTER_NEW_MAX + 1, sizeof(int64_t));
    rn->ids = arena_calloc(&im->a, ROSTER_NEW_MAX + 1, sizeof(int64_t));
    if (!rn->names || !rn->lines || !rn->mentions || !rn->ids) {
        story_roster_release(&ro);
        return -ENOMEM;
    }
    for (size_t i = 0; i < ro.n && rn->n < ROSTER_NEW_MAX; i++) {
        const struct story_name *nm = &ro.v[i];
        /* a speaker tag seen once and never mentioned again is more often a
         * mis-cut tag than a character: people add those by hand */
        if (!nm->speaks || (nm->speaks < 2 && nm->mentions < 2) || cast_has(im, nm->name))
            continue;
        rn->names[rn->n] = arena_strdup(&im->a, nm->name);
        rn->lines[rn->n] = (int64_t)nm->speaks;
        rn->mentions[rn->n] = (int64_t)nm->mentions;
        rn->n++;
    }
    story_roster_release(&ro);
    return 0;
}

/* The first write: the novel row and the new characters. */
struct first_write {
    struct import *im;
    struct roster_new *rn;
};

static int first_write(struct store_tx *tx, void *ctx)
{
    struct first_write *fw = ctx;
    struct import *im = fw->im;
    struct store_novel cur;
    int r = store_novel_get(tx, im->project->id, &im->a, &cur);
    if (r < 0 && r != -ERR_NOT_FOUND)
        return r;
    if ((r == 0) != im->have_novel || (r == 0 && cur.revision != im->base_revision))
        return -ERR_CONFLICT;
    if (r == -ERR_NOT_FOUND) {
        struct store_novel n = {
            .project_id = im->project->id,
            .org_id = im->project->org_id,
            .title = im->chapters.title ? im->chapters.title : im->o->title,
            .encoding = im->text.encoding,
            .converted = im->text.t2s ? "t2s" : NULL,
            .revision = 0,
            .created_at = im->now,
            .updated_at = im->now,
        };
        r = store_novel_create(tx, &n, &n.id);
        if (r < 0)
            return r;
        im->novel = n;
    }
    for (size_t i = 0; i < fw->rn->n; i++) {
        struct store_character c = {
            .project_id = im->project->id,
            .name = fw->rn->names[i],
            .lines = fw->rn->lines[i],
            .mentions = fw->rn->mentions[i],
            .source = "machine",
            .created_at = im->now,
        };
        r = store_character_create(tx, &c, &fw->rn->ids[i]);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- step 5: draft ---- */

static void next_shot_id(void *ctx, char *out, size_t cap)
{
    struct import *im = ctx;
    snprintf(out, cap, "s%d-%05" PRIu64, im->revision, ++im->next_shot);
}

/* The look of roster id `id` (its character's own entry holds it), or NULL. */
static const char *cast_look(const struct import *im, const char *id)
{
    for (size_t i = 0; i < im->n_cast; i++)
        if (im->cast[i].look && strcmp(im->cast[i].id, id) == 0)
            return im->cast[i].look;
    return NULL;
}

static int draft_all(struct import *im)
{
    struct story_cast *cast = arena_calloc(&im->a, im->n_cast + 1, sizeof(*cast));
    if (!cast)
        return -ENOMEM;
    for (size_t i = 0; i < im->n_cast; i++) {
        cast[i].name = im->cast[i].name;
        cast[i].id = im->cast[i].id;
        cast[i].look = cast_look(im, im->cast[i].id);
    }
    struct story_draft_opts dopts = {
        .style = im->set.style,
        .speech_rate = im->set.speech_rate,
        .action_seconds = im->set.action_seconds,
        .cast = cast,
        .n_cast = im->n_cast,
        .next_id = next_shot_id,
        .id_ctx = im,
    };
    for (size_t i = 0; i < im->n_up; i++) {
        struct up_chapter *u = &im->up[i];
        if (!u->split)
            continue;
        for (size_t k = 0; k < u->n_scenes; k++) {
            json_t *d = story_draft_scene(&u->parts, &u->parts.scenes[k], &dopts);
            if (!d)
                return -ENOMEM;
            u->models[k] = RULES_MODEL;
            u->drafts[k] = d;
        }
    }
    return 0;
}

/* ---- step 6: the second write ---- */

static char *task_data(struct import *im, const struct up_chapter *u, int scene, const char *text)
{
    json_t *d = json_pack("{s:I,s:{s:i,s:s,s:s?},s:i,s:s}", "novel", (json_int_t)im->novel.id,
                          "chapter", "index", u->idx, "title", u->ch->title ? u->ch->title : "",
                          "volume", u->ch->volume, "scene", scene, "text", text);
    if (!d)
        return NULL;
    char *s = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    char *copy = s ? arena_strdup(&im->a, s) : NULL;
    free(s);
    return copy;
}

static char *dump_arena(struct import *im, const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT);
    char *copy = s ? arena_strdup(&im->a, s) : NULL;
    free(s);
    return copy;
}

static int put_chapter(struct store_tx *tx, struct import *im, const struct up_chapter *u)
{
    struct store_chapter c = {
        .novel_id = im->novel.id,
        .idx = u->idx,
        .ckey = u->key,
        .title = u->ch->title ? u->ch->title : "",
        .volume = u->ch->volume,
        .hash = u->hash,
        .chars = (int64_t)(u->ch->end - u->ch->begin),
        .utterances = (int64_t)u->n_utterances,
        .body = u->body,
        .revision = im->revision,
    };
    return store_chapter_put(tx, &c, im->now);
}

/* With an LLM drafter, remember a task drafted with the rules for the job. */
static int llm_later(struct import *im, int64_t task_id)
{
    if (!im->set.llm)
        return 0;
    if (im->n_llm_tasks == im->cap_llm_tasks) {
        size_t want = im->cap_llm_tasks ? im->cap_llm_tasks * 2 : 64;
        int64_t *v = arena_alloc(&im->a, want * sizeof(*v));
        if (!v)
            return -ENOMEM;
        if (im->n_llm_tasks)
            memcpy(v, im->llm_tasks, im->n_llm_tasks * sizeof(*v));
        im->llm_tasks = v;
        im->cap_llm_tasks = want;
    }
    im->llm_tasks[im->n_llm_tasks++] = task_id;
    return 0;
}

/* Queue the LLM job for the tasks drafted with the rules (in the import's transaction). */
static int queue_llm_job(struct store_tx *tx, struct import *im)
{
    if (!im->set.llm || !im->n_llm_tasks)
        return 0;
    struct buf b;
    buf_init(&b, 0);
    struct jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kint(&w, "novel", im->novel.id);
    jw_kint(&w, "revision", im->revision);
    jw_key(&w, "tasks");
    jw_arr_begin(&w);
    for (size_t i = 0; i < im->n_llm_tasks; i++)
        jw_int(&w, im->llm_tasks[i]);
    jw_arr_end(&w);
    jw_obj_end(&w);
    if (b.err) {
        buf_release(&b);
        return -ENOMEM;
    }
    struct store_job j = {
        .org_id = im->project->org_id,
        .project_id = im->project->id,
        .kind = "story.llm_draft",
        .params = b.p,
        .total = (int64_t)im->n_llm_tasks,
        .created_by = im->o->user_id,
    };
    int r = store_job_create(tx, &j, im->now, &im->job_id);
    buf_release(&b);
    return r;
}

/* A new scene task with its draft. */
static int add_scene(struct store_tx *tx, struct import *im, struct up_chapter *u, size_t k, int scene,
                     int ord, int64_t *n_tasks, int64_t *last_task)
{
    char *data = task_data(im, u, scene, u->scene_txt[k]);
    char *draft = dump_arena(im, u->drafts[k]);
    if (!data || !draft)
        return -ENOMEM;
    char key[96];
    snprintf(key, sizeof(key), "novel-%" PRId64 "-c%d-s%d", im->novel.id, u->idx, scene);
    int64_t task_id;
    int r = store_task_insert(tx, im->project->id, im->project->overlap, key,
                              (struct str){ data, strlen(data) }, 0, im->now, &task_id);
    if (r < 0)
        return r;
    if (r == 0)
        return -ERR_CONFLICT; /* a task with the scene's key exists that the novel does not know */
    (*n_tasks)++;
    *last_task = task_id;
    char hash[65];
    story_hash_text(u->scene_txt[k], strlen(u->scene_txt[k]), hash);
    struct store_scene sc = { .task_id = task_id, .chapter_idx = u->idx, .scene = scene, .ord = ord, .hash = hash };
    r = store_scene_put(tx, im->novel.id, &sc);
    if (r < 0)
        return r;
    r = store_prediction_add(tx, task_id, im->project->id, u->models[k],
                             strcmp(u->models[k], RULES_MODEL) == 0 ? RULES_VERSION : "", draft, im->now);
    if (r < 0)
        return r;
    r = llm_later(im, task_id);
    if (r < 0)
        return r;
    u->n_shots += json_array_size(shots_of(u->drafts[k]));
    return 0;
}

/* The text (data.text) of stored scene task `task_id` of org_id (0: any), copied into a. */
static int scene_text(struct store_tx *tx, int64_t org_id, int64_t task_id, struct arena *a, const char **ret)
{
    struct store_task t;
    int r = store_task_get(tx, org_id, task_id, a, &t);
    if (r < 0)
        return r;
    json_t *d = json_loads(t.data, 0, NULL);
    const char *s = json_get_str(d, "text");
    *ret = arena_strdup(a, s ? s : "");
    json_decref(d);
    return *ret ? 0 : -ENOMEM;
}

/* Re-anchor the shots of `result` from old to new text; out[] per shot. */
static int reanchor_shots(const char *old_text, const char *new_text, json_t *result,
                          struct story_anchor **ret, size_t *ret_n)
{
    json_t *shots = shots_of(result);
    size_t n = json_array_size(shots);
    size_t old_cp = utf8_count(old_text, strlen(old_text));
    struct story_range *in = calloc(n + 1, sizeof(*in));
    struct story_anchor *out = calloc(n + 1, sizeof(*out));
    if (!in || !out) {
        free(in);
        free(out);
        return -ENOMEM;
    }
    for (size_t k = 0; k < n; k++) {
        size_t s = 0, e = 0;
        if (!src_range(json_array_get(shots, k), &s, &e))
            s = e = 0;
        in[k].start = s < old_cp ? s : old_cp;
        in[k].end = e < old_cp ? e : old_cp;
    }
    int r = n ? story_reanchor(old_text, new_text, in, n, out) : 0;
    free(in);
    if (r < 0) {
        free(out);
        return r;
    }
    *ret = out;
    *ret_n = n;
    return 0;
}

/* Machine-only scene: the new draft, keeping surviving machine shots (their ids). */
static int redraft_machine(struct store_tx *tx, struct import *im, struct up_chapter *u, size_t k,
                           int64_t task_id, const char *old_text, const char *old_pred)
{
    json_t *old = old_pred ? json_loads(old_pred, 0, NULL) : NULL;
    json_t *fresh = u->drafts[k];
    json_t *merged = json_pack("{s:[]}", "shots");
    struct story_anchor *an = NULL;
    size_t n_old = 0;
    int r = old ? reanchor_shots(old_text, u->scene_txt[k], old, &an, &n_old) : 0;
    if (r < 0 || !merged)
        goto out;
    bool *used = calloc(n_old + 1, sizeof(bool));
    if (!used) {
        r = -ENOMEM;
        goto out;
    }
    json_t *mshots = json_object_get(merged, "shots");
    size_t j;
    json_t *d;
    json_array_foreach(shots_of(fresh), j, d)
    {
        size_t ds = 0, de = 0;
        src_range(d, &ds, &de);
        ssize_t best = -1;
        for (size_t q = 0; q < n_old && best < 0; q++) {
            if (used[q] || (an[q].status != STORY_ANCHOR_EXACT && an[q].status != STORY_ANCHOR_MOVED))
                continue;
            size_t lo = an[q].start > ds ? an[q].start : ds, hi = an[q].end < de ? an[q].end : de;
            size_t len = de > ds ? de - ds : 1;
            if (hi > lo && (hi - lo) * 2 >= len)
                best = (ssize_t)q;
        }
        if (best >= 0) {
            used[best] = true;
            json_t *keep = json_deep_copy(json_array_get(shots_of(old), (size_t)best));
            set_src(keep, an[best].start, an[best].end);
            json_array_append_new(mshots, keep);
            im->kept++;
        } else {
            json_array_append(mshots, d);
            im->redrafted++;
        }
    }
    free(used);
    char *text = dump_arena(im, merged);
    if (!text) {
        r = -ENOMEM;
        goto out;
    }
    r = store_prediction_add(tx, task_id, im->project->id, "annotd-sync", "", text, im->now);
    if (r == 0)
        r = llm_later(im, task_id);
    if (r == 0 && old_pred)
        r = store_task_drafts_replace(tx, task_id, old_pred, text);
    u->n_shots += json_array_size(mshots);
out:
    free(an);
    json_decref(old);
    json_decref(merged);
    return r;
}

/* Human work on a scene whose text changed: keep every shot, re-anchor, flag. */
static int resync_human(struct store_tx *tx, struct import *im, struct up_chapter *u, int64_t task_id,
                        const char *old_text, const char *new_text, const struct store_annotation *prev,
                        const char *draft)
{
    json_t *res = json_loads(prev ? prev->result : draft, 0, NULL);
    if (!res)
        return -ERR_STORE;
    struct story_anchor *an = NULL;
    size_t n = 0;
    int r = reanchor_shots(old_text, new_text, res, &an, &n);
    if (r < 0) {
        json_decref(res);
        return r;
    }
    json_t *shots = shots_of(res);
    size_t old_len = strlen(old_text), new_len = strlen(new_text);
    bool flagged = false;
    for (size_t k = 0; k < n && r == 0; k++) {
        json_t *shot = json_array_get(shots, k);
        size_t s = 0, e = 0;
        src_range(shot, &s, &e);
        set_src(shot, an[k].start, an[k].end);
        if (an[k].status == STORY_ANCHOR_EXACT || an[k].status == STORY_ANCHOR_MOVED) {
            im->kept++;
            continue;
        }
        flagged = true;
        im->flagged++;
        const char *was = cp_slice(&im->a, old_text, old_len, s, e);
        const char *now_txt = cp_slice(&im->a, new_text, new_len, an[k].start, an[k].end);
        char *diff = story_text_diff(was, now_txt, FLAG_TEXT_MAX);
        const char *id = json_get_str(shot, "id");
        struct store_flag f = {
            .project_id = im->project->id,
            .task_id = task_id,
            .shot_id = id ? id : "",
            .reason = an[k].status == STORY_ANCHOR_GONE ? "source_gone" : "source_changed",
            .old_text = was,
            .new_text = now_txt,
            .diff = diff ? diff : "",
            .created_at = im->now,
        };
        r = store_flag_add(tx, &f);
        free(diff);
    }
    free(an);
    char *text = r == 0 ? dump_arena(im, res) : NULL;
    if (r == 0 && !text)
        r = -ENOMEM;
    if (r == 0 && prev) {
        struct store_annotation an2;
        r = store_annotation_sync(tx, prev, text, flagged, im->now, &im->a, &an2);
    } else if (r == 0) {
        r = store_task_drafts_replace(tx, task_id, draft, text);
    }
    u->n_shots += json_array_size(shots);
    json_decref(res);
    return r;
}

/* A changed chapter: match its new scenes to the stored ones and resync each. */
static int sync_changed(struct store_tx *tx, struct import *im, struct up_chapter *u, int64_t *n_tasks,
                        int64_t *last_task)
{
    struct store_scene *olds;
    int n_olds;
    int r = store_scene_list(tx, im->novel.id, u->idx, &im->a, &olds, &n_olds);
    if (r < 0)
        return r;
    const char **old_txt = arena_calloc(&im->a, (size_t)n_olds + 1, sizeof(char *));
    ssize_t *match = calloc(u->n_scenes + 1, sizeof(ssize_t));
    bool *used = arena_calloc(&im->a, (size_t)n_olds + 1, sizeof(bool));
    if (!old_txt || !match || !used) {
        free(match);
        return -ENOMEM;
    }
    int max_scene = 0;
    for (int i = 0; i < n_olds && r == 0; i++) {
        r = scene_text(tx, 0, olds[i].task_id, &im->a, &old_txt[i]);
        if (olds[i].scene > max_scene)
            max_scene = olds[i].scene;
    }
    if (r == 0)
        r = story_match_scenes(old_txt, (size_t)n_olds, u->scene_txt, u->n_scenes, match);
    for (size_t k = 0; k < u->n_scenes && r == 0; k++) {
        if (match[k] < 0) {
            r = add_scene(tx, im, u, k, ++max_scene, (int)k, n_tasks, last_task);
            im->redrafted += json_array_size(shots_of(u->drafts[k]));
            continue;
        }
        struct store_scene *os = &olds[match[k]];
        used[match[k]] = true;
        const char *ot = old_txt[match[k]], *nt = u->scene_txt[k];
        char hash[65];
        story_hash_text(nt, strlen(nt), hash);
        struct store_scene sc = { .task_id = os->task_id, .chapter_idx = u->idx, .scene = os->scene,
                                  .ord = (int)k, .hash = hash };
        r = store_scene_put(tx, im->novel.id, &sc);
        if (r < 0)
            break;
        if (strcmp(ot, nt) == 0) {
            /* unchanged scene in a changed chapter: untouched */
            char *pred = NULL;
            struct store_annotation prev;
            int h = store_annotation_latest(tx, os->task_id, &im->a, &prev);
            if (h < 0) {
                r = h;
                break;
            }
            if (!h)
                r = store_prediction_latest(tx, os->task_id, &im->a, &pred);
            size_t n = count_shots(h ? prev.result : pred);
            im->kept += n;
            u->n_shots += n;
            continue;
        }
        char *data = task_data(im, u, os->scene, nt);
        if (!data) {
            r = -ENOMEM;
            break;
        }
        r = store_task_set_data(tx, os->task_id, data);
        if (r < 0)
            break;
        char *pred = NULL, *draft = NULL;
        struct store_annotation prev;
        int h = store_annotation_latest(tx, os->task_id, &im->a, &prev);
        if (h < 0 || (r = store_prediction_latest(tx, os->task_id, &im->a, &pred)) < 0) {
            r = h < 0 ? h : r;
            break;
        }
        int d = h ? 0 : store_task_human_draft(tx, os->task_id, pred, &im->a, &draft);
        if (d < 0) {
            r = d;
            break;
        }
        if (h)
            r = resync_human(tx, im, u, os->task_id, ot, nt, &prev, NULL);
        else if (d)
            r = resync_human(tx, im, u, os->task_id, ot, nt, NULL, draft);
        else
            r = redraft_machine(tx, im, u, k, os->task_id, ot, pred);
    }
    /* stored scenes with no place in the new text: kept, marked removed */
    for (int i = 0; i < n_olds && r == 0; i++) {
        if (used[i] || olds[i].removed)
            continue;
        struct store_scene sc = olds[i];
        sc.removed = true;
        r = store_scene_put(tx, im->novel.id, &sc);
        struct store_annotation prev;
        int h = r == 0 ? store_annotation_latest(tx, sc.task_id, &im->a, &prev) : 0;
        if (h < 0)
            r = h;
        if (r == 0 && h) {
            json_t *res = json_loads(prev.result, 0, NULL);
            size_t q;
            json_t *shot;
            json_array_foreach(shots_of(res), q, shot)
            {
                const char *id = json_get_str(shot, "id");
                struct store_flag f = { .project_id = im->project->id, .task_id = sc.task_id,
                                        .shot_id = id ? id : "", .reason = "scene_removed",
                                        .old_text = old_txt[i], .new_text = "", .diff = "",
                                        .created_at = im->now };
                if (r == 0)
                    r = store_flag_add(tx, &f);
                im->flagged++;
            }
            json_decref(res);
        }
    }
    free(match);
    return r;
}

/* Shots of the kept chapters, for the summary: one pass over the novel's scenes. */
struct kept_count {
    int max_idx;
    size_t *scenes, *shots; /* by chapter index */
};

static int kept_scene(void *ctx, const struct store_export_scene *s)
{
    struct kept_count *k = ctx;
    if (s->chapter_idx < 1 || s->chapter_idx > k->max_idx)
        return 0;
    size_t n = 0;
    double d;
    if (s->result)
        storyboard_result_stats(s->result, strlen(s->result), &n, &d);
    k->scenes[s->chapter_idx]++;
    k->shots[s->chapter_idx] += n;
    return 0;
}

static int count_kept(struct store_tx *tx, struct import *im)
{
    struct kept_count k = { .max_idx = 0 };
    for (size_t i = 0; i < im->n_up; i++)
        if (im->up[i].fate == FATE_KEPT && im->up[i].idx > k.max_idx)
            k.max_idx = im->up[i].idx;
    if (!k.max_idx)
        return 0;
    k.scenes = arena_calloc(&im->a, (size_t)k.max_idx + 1, sizeof(size_t));
    k.shots = arena_calloc(&im->a, (size_t)k.max_idx + 1, sizeof(size_t));
    if (!k.scenes || !k.shots)
        return -ENOMEM;
    int r = store_story_export_scenes(tx, im->novel.id, kept_scene, &k);
    if (r < 0)
        return r;
    for (size_t i = 0; i < im->n_up; i++) {
        struct up_chapter *u = &im->up[i];
        if (u->fate != FATE_KEPT)
            continue;
        u->n_scenes = k.scenes[u->idx];
        u->n_shots = k.shots[u->idx];
        im->kept += u->n_shots;
        for (int j = 0; j < im->n_old; j++)
            if (im->old[j].idx == u->idx)
                u->n_utterances = (size_t)im->old[j].utterances;
    }
    return 0;
}

static int second_write(struct store_tx *tx, void *ctx)
{
    struct import *im = ctx;
    struct store_novel cur;
    int r = store_novel_get(tx, im->project->id, &im->a, &cur);
    if (r < 0)
        return r == -ERR_NOT_FOUND ? -ERR_CONFLICT : r;
    if (cur.revision != im->base_revision)
        return -ERR_CONFLICT;
    im->novel.id = cur.id;
    int64_t n_tasks = 0, last_task = 0;
    for (size_t i = 0; i < im->n_up && r == 0; i++) {
        struct up_chapter *u = &im->up[i];
        switch (u->fate) {
        case FATE_KEPT:
            break; /* counted below, in one pass */
        case FATE_ADDED:
            r = put_chapter(tx, im, u);
            for (size_t k = 0; k < u->n_scenes && r == 0; k++) {
                r = add_scene(tx, im, u, k, (int)k + 1, (int)k, &n_tasks, &last_task);
                im->added += json_array_size(shots_of(u->drafts[k]));
            }
            break;
        case FATE_CHANGED:
            r = put_chapter(tx, im, u);
            if (r == 0)
                r = sync_changed(tx, im, u, &n_tasks, &last_task);
            break;
        }
    }
    if (r == 0)
        r = count_kept(tx, im);
    if (r < 0)
        return r;
    if (n_tasks) {
        r = store_project_add_tasks(tx, im->project->id, last_task, n_tasks);
        if (r < 0)
            return r;
    }
    cur.title = cur.title ? cur.title : im->chapters.title ? im->chapters.title : im->o->title;
    cur.encoding = im->text.encoding;
    cur.converted = im->text.t2s ? "t2s" : NULL;
    cur.revision = im->revision;
    cur.updated_at = im->now;
    r = store_novel_update(tx, &cur);
    if (r == 0)
        r = queue_llm_job(tx, im);
    if (r < 0)
        return r;
    char detail[160], topic[32], json[320];
    snprintf(detail, sizeof(detail),
             "{\"revision\":%d,\"added\":%zu,\"kept\":%zu,\"redrafted\":%zu,\"flagged\":%zu}", im->revision,
             im->added, im->kept, im->redrafted, im->flagged);
    r = store_audit(tx, im->project->org_id, im->o->user_id, "novel.import", "project", im->project->id,
                    detail, im->now);
    if (r < 0)
        return r;
    snprintf(topic, sizeof(topic), "project.%" PRId64, im->project->id);
    snprintf(json, sizeof(json), "{\"type\":\"story\",\"novel\":%" PRId64 ",\"sync\":%s}", cur.id, detail);
    return store_event(tx, im->project->org_id, topic, json);
}

/* ---- the summary ---- */

static void summary(struct import *im, struct buf *out)
{
    struct jw w;
    jw_init(&w, out);
    jw_obj_begin(&w);
    jw_kint(&w, "novel", im->novel.id);
    jw_kstr(&w, "title", im->chapters.title ? im->chapters.title : im->novel.title);
    char enc[32];
    snprintf(enc, sizeof(enc), "%s", im->text.encoding);
    for (char *p = enc; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    jw_kstr(&w, "encoding", enc);
    jw_kstr(&w, "converted", im->text.t2s ? "t2s" : NULL);
    jw_key(&w, "stripped");
    jw_arr_begin(&w);
    for (size_t i = 0; i < im->text.n_stripped; i++) {
        const struct story_stripped *s = &im->text.stripped[i];
        jw_obj_begin(&w);
        jw_kint(&w, "line", (long long)s->line);
        jw_kstr(&w, "reason", s->reason);
        jw_kstr(&w, "text", s->text);
        jw_kbool(&w, "whole_line", s->whole_line);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_key(&w, "chapters");
    jw_arr_begin(&w);
    for (size_t i = 0; i < im->n_up; i++) {
        const struct up_chapter *u = &im->up[i];
        jw_obj_begin(&w);
        jw_kint(&w, "index", u->idx);
        jw_kstr(&w, "title", u->ch->title ? u->ch->title : "");
        jw_kstr(&w, "volume", u->ch->volume);
        jw_kint(&w, "chars", (long long)(u->ch->end - u->ch->begin));
        jw_kint(&w, "scenes", (long long)u->n_scenes);
        jw_kint(&w, "utterances", (long long)u->n_utterances);
        jw_kint(&w, "shots", (long long)u->n_shots);
        jw_kstr(&w, "sync", u->fate == FATE_KEPT ? "kept" : u->fate == FATE_ADDED ? "added" : "changed");
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_key(&w, "sync");
    jw_obj_begin(&w);
    jw_kint(&w, "added", (long long)im->added);
    jw_kint(&w, "kept", (long long)im->kept);
    jw_kint(&w, "redrafted", (long long)im->redrafted);
    jw_kint(&w, "flagged", (long long)im->flagged);
    jw_obj_end(&w);
    jw_key(&w, "drafter");
    jw_obj_begin(&w);
    jw_kstr(&w, "kind", im->set.llm ? "llm" : "rules");
    if (im->set.llm) {
        jw_kstr(&w, "model", im->set.llm_opts.model);
        jw_kint(&w, "job", im->job_id);
    }
    jw_obj_end(&w);
    jw_kint(&w, "revision", im->revision);
    if (im->job_id) {
        jw_key(&w, "job");
        jw_obj_begin(&w);
        jw_kint(&w, "id", im->job_id);
        jw_kstr(&w, "kind", "story.llm_draft");
        jw_kstr(&w, "state", "queued");
        jw_kint(&w, "total", (long long)im->n_llm_tasks);
        jw_obj_end(&w);
    }
    jw_obj_end(&w);
}

int storyboard_import(struct store *st,
                      const struct store_project *project,
                      const char *p,
                      size_t len,
                      const struct storyboard_import_opts *o,
                      struct buf *out,
                      struct storyboard_error *err)
{
    struct import im = { .st = st, .project = project, .o = o, .err = err, .now = clock_now_ms() };
    arena_init(&im.a, ARENA_BUDGET);
    story_text_init(&im.text);
    settings_read(project->config, &im.set, &im.config);
    if (im.set.llm && !story_llm_url_allowed(im.set.llm_opts.base_url, getenv("ANNOTD_LLM_ALLOW"))) {
        set_err(err, "invalid_request", "config.drafter.base_url",
                "the LLM endpoint is not allowed by the operator (ANNOTD_LLM_ALLOW)");
        import_release(&im);
        return -ERR_INVALID_REQUEST;
    }
    int r = ingest(&im, p, len);
    if (r == 0)
        r = store_read(st, read_stored, &im);
    if (r == 0) {
        im.base_revision = im.have_novel ? im.novel.revision : 0;
        im.revision = im.base_revision + 1;
        plan(&im);
        r = cast_from_roster(&im);
    }
    if (r == 0)
        r = split_chapters(&im);
    struct roster_new rn = { 0 };
    if (r == 0)
        r = collect_roster(&im, &rn);
    if (r == 0) {
        struct first_write fw = { &im, &rn };
        r = store_write(st, first_write, &fw);
    }
    for (size_t i = 0; r == 0 && i < rn.n; i++)
        r = cast_add(&im, rn.names[i], rn.ids[i]);
    if (r == 0)
        r = draft_all(&im);
    if (r == 0)
        r = store_write(st, second_write, &im);
    if (r == -ERR_CONFLICT && err && !err->code)
        set_err(err, "conflict", "", "another import of this novel ran at the same time: try again");
    if (r == 0)
        summary(&im, out);
    import_release(&im);
    return r;
}

/* ------------------------------------------------------------------ */
/* reading: the novel, the export document                             */

struct doc_build {
    struct arena a;
    struct store_novel novel;
    struct store_chapter *ch;
    int n_ch;
    struct store_character *chars;
    int n_chars;
    json_t *chapters; /* array, parallel to ch */
    double *dur;      /* per chapter */
    size_t *shots;
    size_t *scenes; /* per chapter */
    double total;
    size_t total_shots;
    bool with_scenes;
    json_t *shot_media; /* "<task>/<shot id>" -> the shot's accepted media (with_scenes) */
};

static int chapter_pos(const struct doc_build *b, int idx)
{
    int lo = 0, hi = b->n_ch - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (b->ch[mid].idx == idx)
            return mid;
        if (b->ch[mid].idx < idx)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

#define DOC_SHOT_MEDIA_MAX 100000 /* accepted media items in one export */

/* The accepted media of the project by "<task>/<shot id>", read before the scenes. */
static int doc_read_shot_media(struct store_tx *tx, struct doc_build *b, int64_t project_id)
{
    struct store_shot_media *items;
    int n;
    int r = store_shot_media_accepted(tx, project_id, DOC_SHOT_MEDIA_MAX, &b->a, &items, &n);
    if (r < 0)
        return r;
    b->shot_media = json_object();
    if (!b->shot_media)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        const struct store_shot_media *m = &items[i];
        char key[320];
        snprintf(key, sizeof(key), "%" PRId64 "/%s", m->task_id, m->shot_id);
        json_t *list = json_object_get(b->shot_media, key);
        if (!list) {
            list = json_array();
            if (!list || json_object_set_new(b->shot_media, key, list) < 0)
                return -ENOMEM;
        }
        json_t *item = json_pack("{s:s,s:s,s:s,s:s?,s:s}", "id", m->media, "kind", m->kind, "source",
                                 m->source, "model", m->model, "mime", m->mime);
        if (!item || json_array_append_new(list, item) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* Every shot of a scene gets "media": its accepted items ([] when none). */
static void doc_shot_media(const struct doc_build *b, int64_t task_id, json_t *shots)
{
    size_t i;
    json_t *shot;
    json_array_foreach(shots, i, shot)
    {
        const char *id = json_get_str(shot, "id");
        char key[320];
        json_t *list = NULL;
        if (id && b->shot_media) {
            snprintf(key, sizeof(key), "%" PRId64 "/%s", task_id, id);
            list = json_object_get(b->shot_media, key);
        }
        if (json_is_object(shot))
            json_object_set_new(shot, "media", list ? json_deep_copy(list) : json_array());
    }
}

static int doc_scene(void *ctx, const struct store_export_scene *s)
{
    struct doc_build *b = ctx;
    int pos = chapter_pos(b, s->chapter_idx);
    if (pos < 0)
        return 0;
    size_t n = 0;
    double d = 0;
    if (s->result)
        storyboard_result_stats(s->result, strlen(s->result), &n, &d);
    b->dur[pos] += d;
    b->total += d;
    b->shots[pos] += n;
    b->scenes[pos]++;
    b->total_shots += n;
    if (!b->with_scenes)
        return 0;
    json_t *data = json_loads(s->data, 0, NULL);
    json_t *res = s->result ? json_loads(s->result, 0, NULL) : NULL;
    json_t *shots = shots_of(res);
    json_t *scenes = json_object_get(json_array_get(b->chapters, (size_t)pos), "scenes");
    json_t *sc = json_pack("{s:O?,s:I,s:O?,s:s,s:O}", "scene", json_object_get(data, "scene"), "task",
                           (json_int_t)s->task_id, "text", json_object_get(data, "text"), "status", s->status,
                           "shots", shots ? shots : json_array());
    json_decref(data);
    json_decref(res);
    if (!sc)
        return -ENOMEM;
    doc_shot_media(b, s->task_id, json_object_get(sc, "shots"));
    json_array_append_new(scenes, sc);
    return 0;
}

static int doc_read(struct store_tx *tx, void *ctx, int64_t project_id)
{
    struct doc_build *b = ctx;
    int r = store_novel_get(tx, project_id, &b->a, &b->novel);
    if (r < 0)
        return r;
    r = store_chapter_list(tx, b->novel.id, false, &b->a, &b->ch, &b->n_ch);
    if (r < 0)
        return r;
    r = store_character_list(tx, project_id, &b->a, &b->chars, &b->n_chars);
    if (r < 0)
        return r;
    b->chapters = json_array();
    b->dur = arena_calloc(&b->a, (size_t)b->n_ch + 1, sizeof(double));
    b->shots = arena_calloc(&b->a, (size_t)b->n_ch + 1, sizeof(size_t));
    b->scenes = arena_calloc(&b->a, (size_t)b->n_ch + 1, sizeof(size_t));
    if (!b->chapters || !b->dur || !b->shots || !b->scenes)
        return -ENOMEM;
    for (int i = 0; i < b->n_ch; i++) {
        json_t *c = json_pack("{s:i,s:s,s:s?,s:[]}", "index", b->ch[i].idx, "title", b->ch[i].title,
                              "volume", b->ch[i].volume, "scenes");
        if (!c)
            return -ENOMEM;
        json_array_append_new(b->chapters, c);
    }
    if (b->with_scenes) {
        r = doc_read_shot_media(tx, b, project_id);
        if (r < 0)
            return r;
    }
    return store_story_export_scenes(tx, b->novel.id, doc_scene, b);
}

struct doc_ctx {
    struct doc_build *b;
    int64_t project_id;
};

static int doc_read_fn(struct store_tx *tx, void *ctx)
{
    struct doc_ctx *d = ctx;
    return doc_read(tx, d->b, d->project_id);
}

static void doc_release(struct doc_build *b)
{
    json_decref(b->shot_media);
    json_decref(b->chapters);
    arena_free(&b->a);
}

static json_t *characters_json(const struct doc_build *b)
{
    json_t *v = json_array();
    for (int i = 0; i < b->n_chars && v; i++) {
        const struct store_character *c = &b->chars[i];
        char id[24], into[24];
        snprintf(id, sizeof(id), "c%" PRId64, c->id);
        snprintf(into, sizeof(into), "c%" PRId64, c->merged_into);
        json_t *al = json_loads(c->aliases ? c->aliases : "[]", 0, NULL);
        json_t *sheet = json_loads(c->sheet ? c->sheet : "{}", 0, NULL);
        json_array_append_new(v, json_pack("{s:s,s:s,s:o,s:o,s:s?}", "id", id, "name", c->name, "aliases",
                                           al ? al : json_array(), "sheet", sheet ? sheet : json_object(),
                                           "merged_into", c->merged_into ? into : NULL));
    }
    return v;
}

int storyboard_novel_json(struct store *st, const struct store_project *project, struct buf *out)
{
    struct doc_build b = { .with_scenes = false };
    arena_init(&b.a, ARENA_BUDGET);
    struct doc_ctx dc = { &b, project->id };
    int r = store_read(st, doc_read_fn, &dc);
    if (r < 0) {
        doc_release(&b);
        return r;
    }
    struct settings set;
    json_t *config;
    settings_read(project->config, &set, &config);
    json_decref(config);
    struct jw w;
    jw_init(&w, out);
    jw_obj_begin(&w);
    jw_kint(&w, "id", b.novel.id);
    jw_kint(&w, "project", project->id);
    jw_kstr(&w, "title", b.novel.title);
    char enc[32];
    snprintf(enc, sizeof(enc), "%s", b.novel.encoding ? b.novel.encoding : "");
    for (char *p = enc; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    jw_kstr(&w, "encoding", enc);
    jw_kstr(&w, "converted", b.novel.converted);
    jw_kint(&w, "revision", b.novel.revision);
    jw_ktime(&w, "created_at", b.novel.created_at);
    jw_ktime(&w, "updated_at", b.novel.updated_at);
    jw_key(&w, "chapters");
    jw_arr_begin(&w);
    for (int i = 0; i < b.n_ch; i++) {
        const struct store_chapter *c = &b.ch[i];
        jw_obj_begin(&w);
        jw_kint(&w, "index", c->idx);
        jw_kstr(&w, "title", c->title);
        jw_kstr(&w, "volume", c->volume);
        jw_kint(&w, "chars", c->chars);
        jw_kint(&w, "utterances", c->utterances);
        jw_kint(&w, "revision", c->revision);
        jw_kint(&w, "scenes", (long long)b.scenes[i]);
        jw_kint(&w, "shots", (long long)b.shots[i]);
        jw_key(&w, "duration");
        jw_double(&w, b.dur[i]);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_key(&w, "totals");
    jw_obj_begin(&w);
    jw_kint(&w, "chapters", b.n_ch);
    jw_kint(&w, "shots", (long long)b.total_shots);
    jw_key(&w, "duration");
    jw_double(&w, b.total);
    jw_kint(&w, "target_seconds", (long long)(set.target_minutes * 60));
    jw_obj_end(&w);
    jw_obj_end(&w);
    doc_release(&b);
    return out->err ? -ENOMEM : 0;
}

int storyboard_export_media(struct store *st,
                            struct media *media,
                            const struct store_project *project,
                            const char *format,
                            struct buf *out)
{
    if (!story_export_known(format))
        return -EINVAL;
    struct doc_build b = { .with_scenes = true };
    arena_init(&b.a, ARENA_BUDGET);
    struct doc_ctx dc = { &b, project->id };
    int r = store_read(st, doc_read_fn, &dc);
    if (r < 0) {
        doc_release(&b);
        return r;
    }
    json_t *doc = json_pack("{s:s,s:i,s:{s:I,s:s},s:{s:I,s:s?},s:o,s:O,s:{s:I,s:f}}", "format",
                            "annotd-storyboard", "version", 1, "project", "id", (json_int_t)project->id,
                            "name", project->name, "novel", "id", (json_int_t)b.novel.id, "title",
                            b.novel.title, "characters", characters_json(&b), "chapters", b.chapters,
                            "totals", "shots", (json_int_t)b.total_shots, "duration", b.total);
    if (!doc) {
        doc_release(&b);
        return -ENOMEM;
    }
    /* project.custom_fields: the config's list, the CSV and HTML columns (docs/storyboard.md) */
    json_t *config = json_loads(project->config ? project->config : "{}", 0, NULL);
    json_t *fields = config ? json_object_get(config, "custom_fields") : NULL;
    r = json_is_array(fields) ? json_object_set(json_object_get(doc, "project"), "custom_fields", fields) : 0;
    json_decref(config);
    if (r < 0) {
        json_decref(doc);
        doc_release(&b);
        return -ENOMEM;
    }
    if (media && strcmp(format, "storyboard-html") == 0)
        storyboard_doc_thumbnails(media, doc);
    r = strcmp(format, "storyboard-json") == 0 ? json_dump_buf(doc, out) : story_export(format, doc, out);
    json_decref(doc);
    doc_release(&b);
    return r < 0 ? r : out->err ? -ENOMEM : 0;
}

/* ------------------------------------------------------------------ */
/* the LLM drafting job                                                */

struct llm_job {
    struct arena a;
    struct story_cast *looks; /* the roster with its looks, for the prompts */
    size_t n_looks;
    struct store_project project;
    struct settings set;
    json_t *config;
    json_t *cast; /* [{"id","name"}] */
    int64_t job_id;
    int64_t task_id;
    const char *scene_text;
    /* one step's write */
    json_t *draft;
    const char *model;
    int outcome; /* 1 stored, 0 skipped: human work */
};

static int llm_job_read(struct store_tx *tx, void *ctx)
{
    struct llm_job *lj = ctx;
    struct store_character *chars;
    int n;
    int r = store_character_list(tx, lj->project.id, &lj->a, &chars, &n);
    if (r < 0)
        return r;
    lj->looks = arena_calloc(&lj->a, (size_t)n + 1, sizeof(*lj->looks));
    if (!lj->looks)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        char id[24];
        snprintf(id, sizeof(id), "c%" PRId64, chars[i].merged_into ? chars[i].merged_into : chars[i].id);
        json_array_append_new(lj->cast, json_pack("{s:s,s:s}", "id", id, "name", chars[i].name));
        if (chars[i].merged_into)
            continue;
        struct story_cast *c = &lj->looks[lj->n_looks++];
        c->name = chars[i].name;
        c->id = arena_strdup(&lj->a, id);
        c->look = storyboard_sheet_look(chars[i].sheet, &lj->a);
    }
    return 0;
}

/* The prompts of every shot of an LLM draft, as the rule-based drafter writes them. */
static int llm_job_prompts(struct llm_job *lj, json_t *draft)
{
    size_t k;
    json_t *shot;
    json_array_foreach(shots_of(draft), k, shot)
    {
        struct buf image, video;
        buf_init(&image, 64u << 10);
        buf_init(&video, 64u << 10);
        int r = story_shot_prompts(shot, lj->looks, lj->n_looks, lj->set.style, &image, &video);
        if (r == 0 && !image.err && !video.err) {
            json_object_set_new(shot, "image_prompt", json_stringn(image.p ? image.p : "", image.len));
            json_object_set_new(shot, "video_prompt", json_stringn(video.p ? video.p : "", video.len));
        }
        buf_release(&image);
        buf_release(&video);
        if (r < 0)
            return r;
    }
    return 0;
}

static int llm_job_task(struct store_tx *tx, void *ctx)
{
    struct llm_job *lj = ctx;
    return scene_text(tx, lj->project.org_id, lj->task_id, &lj->a, &lj->scene_text);
}

/* Store the LLM's draft unless the scene has gained human work meanwhile. */
static int llm_job_store(struct store_tx *tx, void *ctx)
{
    struct llm_job *lj = ctx;
    struct store_annotation an;
    int h = store_annotation_latest(tx, lj->task_id, &lj->a, &an);
    if (h < 0)
        return h;
    char *pred = NULL, *draft = NULL;
    int r = store_prediction_latest(tx, lj->task_id, &lj->a, &pred);
    if (r < 0)
        return r;
    int d = h ? 1 : store_task_human_draft(tx, lj->task_id, pred, &lj->a, &draft);
    if (d < 0)
        return d;
    if (h || d) {
        lj->outcome = 0;
        return 0;
    }
    char *text = json_dumps(lj->draft, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    r = store_prediction_add(tx, lj->task_id, lj->project.id, lj->model, lj->model, text, clock_now_ms());
    if (r == 0 && pred)
        r = store_task_drafts_replace(tx, lj->task_id, pred, text);
    free(text);
    lj->outcome = 1;
    return r;
}

static int llm_draft_job(struct job *j, const struct store_job *info, struct store *st, void *ctx)
{
    (void)ctx;
    struct llm_job lj = { .job_id = info->id };
    arena_init(&lj.a, 0);
    json_t *params = json_loads(info->params, 0, NULL);
    json_t *tasks = json_object_get(params, "tasks");
    int r = project_get(st, 0, info->project_id, &lj.a, &lj.project);
    size_t n = json_array_size(tasks);
    size_t drafted = 0, fallbacks = 0, skipped = 0;
    char last_error[256] = "";
    if (r == 0) {
        settings_read(lj.project.config, &lj.set, &lj.config);
        if (!lj.set.llm) {
            job_fail(j, "the project's drafter is no longer an LLM endpoint");
            r = -EINVAL;
        } else if (!story_llm_url_allowed(lj.set.llm_opts.base_url, getenv("ANNOTD_LLM_ALLOW"))) {
            job_fail(j, "the LLM endpoint is not allowed by the operator (ANNOTD_LLM_ALLOW)");
            r = -EACCES;
        }
    }
    lj.cast = json_array();
    lj.set.llm_opts.stop = job_stopping; /* a stopping server does not wait for the model */
    lj.set.llm_opts.stop_ctx = j;
    if (r == 0)
        r = store_read(st, llm_job_read, &lj);
    for (size_t i = (size_t)job_resume_at(j); r == 0 && i < n; i++) {
        lj.task_id = json_integer_value(json_array_get(tasks, i));
        r = store_read(st, llm_job_task, &lj);
        if (r == -ERR_NOT_FOUND) {
            r = 0;
            skipped++;
        } else if (r == 0) {
            char model[128] = "", emsg[256] = "";
            json_t *draft = NULL;
            int e = story_llm_draft(&lj.set.llm_opts, lj.scene_text, lj.cast, lj.set.speech_rate, &draft,
                                    model, sizeof(model), emsg, sizeof(emsg));
            if (e == 0 && draft) {
                size_t k;
                json_t *shot;
                json_array_foreach(shots_of(draft), k, shot)
                {
                    char id[48];
                    snprintf(id, sizeof(id), "l%" PRId64 "-%zu-%zu", info->id, i + 1, k + 1);
                    json_object_set_new(shot, "id", json_string(id));
                }
                lj.draft = draft;
                lj.model = model[0] ? model : lj.set.llm_opts.model;
                r = llm_job_prompts(&lj, draft);
                if (r == 0)
                    r = store_write(st, llm_job_store, &lj);
                if (lj.outcome)
                    drafted++;
                else
                    skipped++;
            } else if (e == -ECANCELED) {
                r = -ECANCELED; /* the server stops: this scene is drafted on resume */
            } else {
                fallbacks++;
                snprintf(last_error, sizeof(last_error), "%s", emsg);
            }
            json_decref(draft);
            lj.draft = NULL;
        }
        if (r == 0)
            r = job_progress(j, (int64_t)i + 1, (int64_t)n);
    }
    char result[512];
    struct buf b;
    buf_init(&b, 0);
    struct jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kint(&w, "drafted", (long long)drafted);
    jw_kint(&w, "fallbacks", (long long)fallbacks);
    jw_kint(&w, "skipped", (long long)skipped);
    jw_kstr(&w, "model", lj.set.llm_opts.model);
    jw_kstr(&w, "error", last_error[0] ? last_error : NULL);
    jw_obj_end(&w);
    snprintf(result, sizeof(result), "%s", b.err ? "{}" : b.p);
    buf_release(&b);
    job_set_result(j, result);
    json_decref(lj.cast);
    json_decref(lj.config);
    json_decref(params);
    arena_free(&lj.a);
    return r;
}

static const struct job_kind job_kinds[] = {
    { "story.llm_draft", llm_draft_job, NULL },
};

const struct job_kind *storyboard_job_kinds(size_t *ret_n)
{
    *ret_n = sizeof(job_kinds) / sizeof(job_kinds[0]);
    return job_kinds;
}
