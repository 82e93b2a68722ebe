/*
 * Project kind "storyboard": a scene of a novel in, its shot list out.
 * The formats are documented in schema_storyboard.h and docs/storyboard.md.
 *
 * Checks are strict: every unknown key is rejected with its path, enums are
 * matched exactly, every text is valid UTF-8 of at most SB_MAX_TEXT bytes,
 * and a shot's source range must lie inside the task's text (code points).
 *
 * Labels: ("shots", size, shot id) per shot, then ("characters", roster id,
 * shot id) per character of the shot, in result order.
 */
#include "schema/schema_storyboard.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/utf8.h"
#include "schema/schema.h"
#include "schema/schema_int.h"

#define SB_MAX_TEXT          (1 << 16) /* bytes of one text field of a shot */
#define SB_MAX_SCENE_TEXT    (1 << 20) /* bytes of a task's scene text */
#define SB_MAX_CHARACTERS    200       /* characters of one shot */
#define SB_MAX_DIALOGUE      500       /* dialogue items of one shot */
#define SB_MAX_CUSTOM_FIELDS 100
#define SB_MAX_FIELD_NAME    64
#define SB_MAX_URL           2048
#define SB_MAX_PROMPT        8192 /* bytes of a shot's image or video prompt */
#define SB_MAX_STYLE         256  /* bytes of the config's style */
#define SB_MAX_IMAGE_SIDE    4096 /* pixels of a generated image's side */

static const char *const sizes[] = { "long",  "full",    "medium",
                                     "close", "closeup", "extreme_closeup",
                                     NULL };
static const char *const angles[] = { "eye", "high", "low", "overhead", "dutch", NULL };
static const char *const moves[] = { "static", "push",   "pull",  "pan", "tilt",
                                     "track",  "follow", "crane", NULL };
static const char *const transitions[] = { "cut", "fade", "dissolve", "wipe", NULL };
static const char *const dialogue_kinds[] = { "dialogue", "monologue", "narration", NULL };
static const char *const field_types[] = { "text", "number", "choice", NULL };
static const char *const drafter_kinds[] = { "rules", "llm", NULL };

/* ------------------------------------------------------------------------ */
/* Shared readers                                                           */
/* ------------------------------------------------------------------------ */

static bool in_list(const char *const *list, const char *s)
{
    for (; s && *list; list++) {
        if (strcmp(*list, s) == 0)
            return true;
    }
    return false;
}

/* "a, b, c" of a NULL-terminated list, for messages. */
static const char *list_text(const char *const *list, char *out, size_t cap)
{
    size_t len = 0;

    out[0] = '\0';
    for (; *list && len < cap; list++) {
        int n = snprintf(out + len, cap - len, "%s%s", len ? ", " : "", *list);
        if (n < 0)
            break;
        len += (size_t)n;
    }
    return out;
}

/* obj[key], when present, one of `allowed`. */
static int check_enum(struct schema_check *c,
                      const json_t *obj,
                      const char *key,
                      bool required,
                      const char *const *allowed,
                      const char **ret)
{
    const json_t *s = NULL;
    char names[160];
    int r = schema_field_string(c, obj, key, required, &s);

    if (r < 0 || !s)
        return r;
    if (!in_list(allowed, json_string_value(s)) ||
        strlen(json_string_value(s)) != json_string_length(s))
        return schema_reject_key(c, key, "must be one of: %s",
                                 list_text(allowed, names, sizeof(names)));
    *ret = json_string_value(s);
    return 0;
}

/* obj[key], when present, a number in [min, max]; *ret untouched when absent. */
static int check_range(struct schema_check *c,
                       const json_t *obj,
                       const char *key,
                       double min,
                       double max,
                       double *ret)
{
    double d = 0;
    bool present = false;
    int r = schema_field_number(c, obj, key, false, &d, &present);

    if (r < 0 || !present)
        return r;
    if (d < min || d > max)
        return schema_reject_key(c, key, "must be between %g and %g", min, max);
    *ret = d;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Config                                                                   */
/* ------------------------------------------------------------------------ */

static const char *const config_keys[] = { "speech_rate",   "action_seconds", "target_minutes",
                                           "custom_fields", "drafter",        "style",
                                           "images",        NULL };
static const char *const field_keys[] = { "name", "label", "type", "options", NULL };
static const char *const drafter_keys[] = { "kind",        "base_url",        "model",
                                            "api_key_env", "timeout_seconds", NULL };
static const char *const images_keys[] = { "base_url", "model", "api_key_env", "size",
                                           "timeout_seconds", NULL };

static bool is_identifier(const char *s, size_t len, size_t max, bool upper_only)
{
    if (len == 0 || len > max)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        bool alpha = upper_only ? (ch >= 'A' && ch <= 'Z')
                                : ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'));
        bool digit = ch >= '0' && ch <= '9';
        if (!(alpha || ch == '_' || (digit && i > 0)))
            return false;
    }
    return true;
}

/* One custom field definition at the current path; its name joins `seen`. */
static int check_custom_field(struct schema_check *c, const json_t *field, size_t index, void *seen)
{
    const json_t *name = NULL, *label = NULL, *options = NULL;
    const char *type = NULL;
    size_t mark;
    int r;

    (void)index;
    r = schema_want_object(c, field);
    if (r < 0)
        return r;
    r = schema_known_keys(c, field, field_keys);
    if (r < 0)
        return r;
    r = schema_field_string(c, field, "name", true, &name);
    if (r < 0)
        return r;
    if (!is_identifier(json_string_value(name), json_string_length(name), SB_MAX_FIELD_NAME, false))
        return schema_reject_key(c, "name",
                                 "must be a letter or _ then letters, digits or _ (at most %d)",
                                 SB_MAX_FIELD_NAME);
    mark = schema_enter_key(c, "name");
    r = schema_set_add(c, seen, name, "custom field");
    if (r < 0)
        return r;
    schema_leave(c, mark);
    r = schema_field_text(c, field, "label", false, SCHEMA_MAX_NAME_LEN, &label);
    if (r < 0)
        return r;
    r = check_enum(c, field, "type", true, field_types, &type);
    if (r < 0)
        return r;
    if (strcmp(type, "choice") != 0) {
        if (json_object_get(field, "options"))
            return schema_reject_key(c, "options", "only applies to type 'choice'");
        return 0;
    }
    r = schema_field_array(c, field, "options", true, &options);
    if (r < 0)
        return r;
    mark = schema_enter_key(c, "options");
    r = schema_check_names(c, options, "option");
    if (r < 0)
        return r;
    schema_leave(c, mark);
    return 0;
}

static int check_custom_fields(struct schema_check *c, const json_t *config)
{
    json_t *seen = json_object();
    int r;

    if (!seen)
        return schema_nomem(c);
    r = schema_check_list(c, config, "custom_fields", false, SB_MAX_CUSTOM_FIELDS, "custom fields",
                          check_custom_field, seen);
    json_decref(seen);
    return r;
}

/* http:// or https:// followed by at least a host character. */
static bool is_http_url(const char *s, size_t len)
{
    size_t host = schema_http_url_host(s, len);

    return host && s[host] != '/';
}

/* An endpoint's key lives in the environment (api_key_env), never in the config. */
static int check_no_key(struct schema_check *c, const json_t *endpoint)
{
    if (json_object_get(endpoint, "api_key") || json_object_get(endpoint, "key"))
        return schema_reject_key(c, json_object_get(endpoint, "api_key") ? "api_key" : "key",
                                 "must not be stored in the config: name an environment "
                                 "variable in api_key_env");
    return 0;
}

/* The base_url, model and api_key_env of an endpoint (drafter, images). */
static int check_endpoint(struct schema_check *c, const json_t *endpoint)
{
    const json_t *url = NULL, *model = NULL, *env = NULL;
    int r;

    r = schema_field_text(c, endpoint, "base_url", true, SB_MAX_URL, &url);
    if (r < 0)
        return r;
    if (!is_http_url(json_string_value(url), json_string_length(url)))
        return schema_reject_key(c, "base_url", "must be an http:// or https:// URL");
    r = schema_field_text(c, endpoint, "model", true, SCHEMA_MAX_NAME_LEN, &model);
    if (r < 0)
        return r;
    if (json_string_length(model) == 0)
        return schema_reject_key(c, "model", "must not be empty");
    r = schema_field_string(c, endpoint, "api_key_env", false, &env);
    if (r < 0)
        return r;
    if (env && !is_identifier(json_string_value(env), json_string_length(env), 128, true))
        return schema_reject_key(c, "api_key_env",
                                 "must be an environment variable name (A-Z, 0-9, _)");
    return 0;
}

/* An endpoint's timeout_seconds, when present: 1 to 600. */
static int check_timeout(struct schema_check *c, const json_t *endpoint)
{
    long long timeout = 0;
    bool present = false;
    int r = schema_field_int(c, endpoint, "timeout_seconds", false, &timeout, &present);

    if (r < 0)
        return r;
    if (present && (timeout < 1 || timeout > 600))
        return schema_reject_key(c, "timeout_seconds", "must be between 1 and 600");
    return 0;
}

static int check_drafter(struct schema_check *c, const json_t *config)
{
    const json_t *drafter = NULL;
    const char *kind = "rules";
    size_t mark;
    int r;

    r = schema_field_object(c, config, "drafter", false, &drafter);
    if (r < 0 || !drafter)
        return r;
    mark = schema_enter_key(c, "drafter");
    r = check_no_key(c, drafter);
    if (r < 0)
        return r;
    r = schema_known_keys(c, drafter, drafter_keys);
    if (r < 0)
        return r;
    r = check_enum(c, drafter, "kind", false, drafter_kinds, &kind);
    if (r < 0)
        return r;
    if (strcmp(kind, "rules") == 0) {
        for (const char *const *k = drafter_keys + 1; *k; k++) {
            if (json_object_get(drafter, *k))
                return schema_reject_key(c, *k, "only applies to kind 'llm'");
        }
        schema_leave(c, mark);
        return 0;
    }
    r = check_endpoint(c, drafter);
    if (r < 0)
        return r;
    r = check_timeout(c, drafter);
    if (r < 0)
        return r;
    schema_leave(c, mark);
    return 0;
}

/* "WxH", each side 64..SB_MAX_IMAGE_SIDE; *ret_w, *ret_h when not NULL. */
static bool parse_image_size(const char *s, int *ret_w, int *ret_h)
{
    int w = 0, h = 0, n = 0;
    size_t len = strlen(s);

    if (len < 5 || len > 9 || sscanf(s, "%5dx%5d%n", &w, &h, &n) != 2 || (size_t)n != len)
        return false;
    if (s[0] < '1' || s[0] > '9' || w < 64 || h < 64 || w > SB_MAX_IMAGE_SIDE ||
        h > SB_MAX_IMAGE_SIDE)
        return false;
    if (ret_w)
        *ret_w = w;
    if (ret_h)
        *ret_h = h;
    return true;
}

/* config.images: the OpenAI-compatible images endpoint of frame generation. */
static int check_images(struct schema_check *c, const json_t *config)
{
    const json_t *images = NULL, *size = NULL;
    size_t mark;
    int r;

    r = schema_field_object(c, config, "images", false, &images);
    if (r < 0 || !images)
        return r;
    mark = schema_enter_key(c, "images");
    r = check_no_key(c, images);
    if (r < 0)
        return r;
    r = schema_known_keys(c, images, images_keys);
    if (r < 0)
        return r;
    r = check_endpoint(c, images);
    if (r < 0)
        return r;
    r = schema_field_string(c, images, "size", false, &size);
    if (r < 0)
        return r;
    if (size && (strlen(json_string_value(size)) != json_string_length(size) ||
                 !parse_image_size(json_string_value(size), NULL, NULL)))
        return schema_reject_key(c, "size", "must be WIDTHxHEIGHT, each 64 to %d (\"1024x576\")",
                                 SB_MAX_IMAGE_SIDE);
    r = check_timeout(c, images);
    if (r < 0)
        return r;
    schema_leave(c, mark);
    return 0;
}

static int sb_check_config(const json_t *config, struct schema_error *err)
{
    struct schema_check c;
    const json_t *style = NULL;
    double d = 0;
    int r;

    schema_check_init(&c, err, -ERR_INVALID_REQUEST);
    r = schema_want_object(&c, config);
    if (r < 0)
        return r;
    r = schema_known_keys(&c, config, config_keys);
    if (r < 0)
        return r;
    r = check_range(&c, config, "speech_rate", 1, 20, &d);
    if (r < 0)
        return r;
    r = check_range(&c, config, "action_seconds", 0.5, 60, &d);
    if (r < 0)
        return r;
    r = check_range(&c, config, "target_minutes", 1, 100000, &d);
    if (r < 0)
        return r;
    r = check_custom_fields(&c, config);
    if (r < 0)
        return r;
    r = check_drafter(&c, config);
    if (r < 0)
        return r;
    r = schema_field_text(&c, config, "style", false, SB_MAX_STYLE, &style);
    if (r < 0)
        return r;
    r = check_images(&c, config);
    if (r < 0)
        return r;
    return schema_check_done(&c);
}

int schema_storyboard_settings(const json_t *config, struct storyboard_settings *out)
{
    struct storyboard_settings s = {
        .speech_rate = STORYBOARD_SPEECH_RATE,
        .action_seconds = STORYBOARD_ACTION_SECONDS,
        .target_minutes = STORYBOARD_TARGET_MINUTES,
        .drafter = STORYBOARD_DRAFTER_RULES,
        .llm_timeout_seconds = STORYBOARD_LLM_TIMEOUT,
        .style = STORYBOARD_STYLE,
        .images_size = STORYBOARD_IMAGES_SIZE,
        .images_timeout_seconds = STORYBOARD_IMAGES_TIMEOUT,
    };
    const json_t *v, *drafter, *images;

    if (!config) {
        *out = s;
        return 0;
    }
    if (sb_check_config(config, NULL) != 0)
        return -EINVAL;
    if ((v = json_object_get(config, "speech_rate")))
        s.speech_rate = json_number_value(v);
    if ((v = json_object_get(config, "action_seconds")))
        s.action_seconds = json_number_value(v);
    if ((v = json_object_get(config, "target_minutes")))
        s.target_minutes = json_number_value(v);
    s.custom_fields = json_object_get(config, "custom_fields");
    drafter = json_object_get(config, "drafter");
    if (drafter && json_is_string(json_object_get(drafter, "base_url"))) {
        s.drafter = STORYBOARD_DRAFTER_LLM;
        s.llm_base_url = json_string_value(json_object_get(drafter, "base_url"));
        s.llm_model = json_string_value(json_object_get(drafter, "model"));
        s.llm_api_key_env = json_string_value(json_object_get(drafter, "api_key_env"));
        if ((v = json_object_get(drafter, "timeout_seconds")))
            s.llm_timeout_seconds = (int)json_integer_value(v);
    }
    if ((v = json_object_get(config, "style")))
        s.style = json_string_value(v);
    images = json_object_get(config, "images");
    if (images) {
        s.images_base_url = json_string_value(json_object_get(images, "base_url"));
        s.images_model = json_string_value(json_object_get(images, "model"));
        s.images_api_key_env = json_string_value(json_object_get(images, "api_key_env"));
        if ((v = json_object_get(images, "size")))
            s.images_size = json_string_value(v);
        if ((v = json_object_get(images, "timeout_seconds")))
            s.images_timeout_seconds = (int)json_integer_value(v);
    }
    *out = s;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Task data                                                                */
/* ------------------------------------------------------------------------ */

static const char *const data_keys[] = { "novel", "chapter", "scene", "text", NULL };
static const char *const chapter_keys[] = { "index", "title", "volume", NULL };

static int check_chapter(struct schema_check *c, const json_t *data)
{
    const json_t *chapter = NULL, *title = NULL, *volume = NULL;
    long long index = 0;
    size_t mark;
    int r;

    r = schema_field_object(c, data, "chapter", true, &chapter);
    if (r < 0)
        return r;
    mark = schema_enter_key(c, "chapter");
    r = schema_known_keys(c, chapter, chapter_keys);
    if (r < 0)
        return r;
    r = schema_field_int(c, chapter, "index", true, &index, NULL);
    if (r < 0)
        return r;
    if (index < 1)
        return schema_reject_key(c, "index", "must be >= 1");
    r = schema_field_text(c, chapter, "title", true, SB_MAX_TEXT, &title);
    if (r < 0)
        return r;
    volume = json_object_get(chapter, "volume");
    if (!volume)
        return schema_reject_key(c, "volume", "is required");
    if (!json_is_null(volume) && !json_is_string(volume))
        return schema_reject_key(c, "volume", "must be a string or null");
    if (json_is_string(volume)) {
        r = schema_field_text(c, chapter, "volume", true, SB_MAX_TEXT, &volume);
        if (r < 0)
            return r;
    }
    schema_leave(c, mark);
    return 0;
}

static int sb_check_task(const json_t *config, const json_t *data, struct schema_error *err)
{
    struct schema_check c;
    const json_t *text = NULL;
    long long novel = 0, scene = 0;
    int r;

    schema_check_init(&c, err, -ERR_INVALID_REQUEST);
    r = schema_want_object(&c, data);
    if (r < 0)
        return r;
    r = schema_known_keys(&c, data, data_keys);
    if (r < 0)
        return r;
    r = schema_field_int(&c, data, "novel", true, &novel, NULL);
    if (r < 0)
        return r;
    if (novel < 1)
        return schema_reject_key(&c, "novel", "must be >= 1");
    r = check_chapter(&c, data);
    if (r < 0)
        return r;
    r = schema_field_int(&c, data, "scene", true, &scene, NULL);
    if (r < 0)
        return r;
    if (scene < 0)
        return schema_reject_key(&c, "scene", "must be >= 0");
    r = schema_field_text(&c, data, "text", true, SB_MAX_SCENE_TEXT, &text);
    if (r < 0)
        return r;
    if (json_string_length(text) == 0)
        return schema_reject_key(&c, "text", "must not be empty");
    return schema_check_done(&c);
}

/* ------------------------------------------------------------------------ */
/* Results                                                                  */
/* ------------------------------------------------------------------------ */

static const char *const result_keys[] = { "shots", "attrs", NULL };
static const char *const shot_keys[] = { "id",         "size",       "angle",    "move",
                                         "picture",    "characters", "dialogue", "sound",
                                         "transition", "duration",   "notes",    "source",
                                         "custom",     "image_prompt", "video_prompt", NULL };
static const char *const line_keys[] = { "speaker", "kind", "text", NULL };
static const char *const source_keys[] = { "start", "end", NULL };

/* What every shot of one result is checked against. */
struct shot_context {
    size_t text_len;             /* code points of data.text */
    const json_t *custom_fields; /* config.custom_fields or NULL */
    json_t *ids;                 /* shot ids seen so far */
};

static int check_character(struct schema_check *c, const json_t *id, size_t index, void *seen)
{
    (void)index;
    return schema_want_unique_name(c, seen, id, "character");
}

static int check_characters(struct schema_check *c, const json_t *shot)
{
    json_t *seen = json_object();
    int r;

    if (!seen)
        return schema_nomem(c);
    r = schema_check_list(c, shot, "characters", false, SB_MAX_CHARACTERS, "characters",
                          check_character, seen);
    json_decref(seen);
    return r;
}

static int check_line(struct schema_check *c, const json_t *line, size_t index, void *ctx)
{
    const json_t *speaker, *text = NULL;
    const char *kind = NULL;
    size_t mark;
    int r;

    (void)index, (void)ctx;
    r = schema_want_object(c, line);
    if (r < 0)
        return r;
    r = schema_known_keys(c, line, line_keys);
    if (r < 0)
        return r;
    speaker = json_object_get(line, "speaker");
    if (speaker && !json_is_null(speaker)) {
        mark = schema_enter_key(c, "speaker");
        if (!json_is_string(speaker))
            return schema_reject(c, "must be a string or null");
        r = schema_want_name(c, speaker);
        if (r < 0)
            return r;
        schema_leave(c, mark);
    }
    r = check_enum(c, line, "kind", false, dialogue_kinds, &kind);
    if (r < 0)
        return r;
    return schema_field_text(c, line, "text", true, SB_MAX_TEXT, &text);
}

static int check_dialogue(struct schema_check *c, const json_t *shot)
{
    return schema_check_list(c, shot, "dialogue", false, SB_MAX_DIALOGUE, "dialogue lines",
                             check_line, NULL);
}

static int check_source(struct schema_check *c, const json_t *shot, size_t text_len)
{
    const json_t *source = NULL;
    long long start = 0, end = 0;
    size_t mark;
    int r;

    r = schema_field_object(c, shot, "source", true, &source);
    if (r < 0)
        return r;
    mark = schema_enter_key(c, "source");
    r = schema_known_keys(c, source, source_keys);
    if (r < 0)
        return r;
    r = schema_field_int(c, source, "start", true, &start, NULL);
    if (r < 0)
        return r;
    r = schema_field_int(c, source, "end", true, &end, NULL);
    if (r < 0)
        return r;
    if (start < 0)
        return schema_reject_key(c, "start", "must be >= 0");
    if (end < start)
        return schema_reject_key(c, "end", "must be >= start");
    if ((unsigned long long)end > text_len)
        return schema_reject_key(c, "end", "must be <= %zu (text length in code points)", text_len);
    schema_leave(c, mark);
    return 0;
}

/* The definition of custom field `name` in config.custom_fields, or NULL. */
static const json_t *custom_field(const json_t *fields, const char *name)
{
    for (size_t i = 0; i < json_array_size(fields); i++) {
        const json_t *f = json_array_get(fields, i);
        const char *n = json_string_value(json_object_get(f, "name"));
        if (n && strcmp(n, name) == 0)
            return f;
    }
    return NULL;
}

static int check_custom_value(struct schema_check *c, const json_t *field, const json_t *value)
{
    const char *type = json_string_value(json_object_get(field, "type"));
    const json_t *options = json_object_get(field, "options");
    double d;
    int r;

    if (json_is_null(value))
        return 0;
    if (type && strcmp(type, "number") == 0)
        return schema_want_number(c, value, &d);
    r = schema_want_text(c, value, SB_MAX_TEXT);
    if (r < 0)
        return r;
    if (type && strcmp(type, "choice") == 0) {
        for (size_t i = 0; i < json_array_size(options); i++) {
            if (json_equal(json_array_get(options, i), value))
                return 0;
        }
        return schema_reject(c, "unknown option '%s'", json_string_value(value));
    }
    return 0;
}

static int check_custom(struct schema_check *c, const json_t *shot, const json_t *fields)
{
    const json_t *custom = NULL;
    const char *key;
    json_t *value;
    size_t mark;
    int r;

    r = schema_field_object(c, shot, "custom", false, &custom);
    if (r < 0 || !custom)
        return r;
    mark = schema_enter_key(c, "custom");
    json_object_foreach((json_t *)custom, key, value) {
        const json_t *field = custom_field(fields, key);
        size_t item;

        if (!field)
            return schema_reject_key(c, key, "unknown custom field");
        item = schema_enter_key(c, key);
        r = check_custom_value(c, field, value);
        if (r < 0)
            return r;
        schema_leave(c, item);
    }
    schema_leave(c, mark);
    return 0;
}

static int check_shot(struct schema_check *c, const json_t *shot, size_t index, void *shot_ctx)
{
    struct shot_context *ctx = shot_ctx;
    const json_t *text = NULL;
    const char *id = NULL, *e = NULL;
    double duration = 0;
    int r;

    r = schema_want_object(c, shot);
    if (r < 0)
        return r;
    r = schema_known_keys(c, shot, shot_keys);
    if (r < 0)
        return r;
    if (!json_object_get(shot, "id"))
        return schema_reject_key(c, "id", "is required");
    r = schema_field_id(c, shot, ctx->ids, index, &id);
    if (r < 0)
        return r;
    r = check_enum(c, shot, "size", true, sizes, &e);
    if (r < 0)
        return r;
    r = check_enum(c, shot, "angle", false, angles, &e);
    if (r < 0)
        return r;
    r = check_enum(c, shot, "move", false, moves, &e);
    if (r < 0)
        return r;
    r = schema_field_text(c, shot, "picture", false, SB_MAX_TEXT, &text);
    if (r < 0)
        return r;
    r = check_characters(c, shot);
    if (r < 0)
        return r;
    r = check_dialogue(c, shot);
    if (r < 0)
        return r;
    r = schema_field_text(c, shot, "sound", false, SB_MAX_TEXT, &text);
    if (r < 0)
        return r;
    r = check_enum(c, shot, "transition", false, transitions, &e);
    if (r < 0)
        return r;
    r = schema_field_number(c, shot, "duration", true, &duration, NULL);
    if (r < 0)
        return r;
    if (!(duration > 0) || duration > STORYBOARD_MAX_SHOT_SECONDS)
        return schema_reject_key(c, "duration", "must be > 0 and <= %g",
                                 STORYBOARD_MAX_SHOT_SECONDS);
    r = schema_field_text(c, shot, "notes", false, SB_MAX_TEXT, &text);
    if (r < 0)
        return r;
    r = check_source(c, shot, ctx->text_len);
    if (r < 0)
        return r;
    r = schema_field_text(c, shot, "image_prompt", false, SB_MAX_PROMPT, &text);
    if (r < 0)
        return r;
    r = schema_field_text(c, shot, "video_prompt", false, SB_MAX_PROMPT, &text);
    if (r < 0)
        return r;
    return check_custom(c, shot, ctx->custom_fields);
}

static int sb_check_result(const json_t *config,
                           const json_t *data,
                           const json_t *result,
                           struct schema_error *err)
{
    struct schema_check c;
    struct shot_context ctx = { 0 };
    const json_t *text = json_object_get(data, "text");
    int r;

    schema_check_init(&c, err, -ERR_INVALID_RESULT);
    r = schema_want_object(&c, result);
    if (r < 0)
        return r;
    r = schema_known_keys(&c, result, result_keys);
    if (r < 0)
        return r;
    r = schema_field_attrs(&c, result);
    if (r < 0)
        return r;
    if (json_is_string(text) && utf8_valid(json_string_value(text), json_string_length(text)))
        ctx.text_len = utf8_count(json_string_value(text), json_string_length(text));
    ctx.custom_fields = json_object_get(config, "custom_fields");
    ctx.ids = json_object();
    if (!ctx.ids)
        return schema_nomem(&c);
    r = schema_check_list(&c, result, "shots", true, STORYBOARD_MAX_SHOTS, "shots", check_shot,
                          &ctx);
    if (r == 0)
        r = schema_check_done(&c);
    json_decref(ctx.ids);
    return r;
}

/* ------------------------------------------------------------------------ */
/* Labels                                                                   */
/* ------------------------------------------------------------------------ */

static void sb_labels(const json_t *config, const json_t *result, schema_label_fn emit, void *ctx)
{
    const json_t *shots = json_object_get(result, "shots");

    for (size_t i = 0; i < json_array_size(shots); i++) {
        const json_t *shot = json_array_get(shots, i);
        const char *id = json_string_value(json_object_get(shot, "id"));
        const char *size = json_string_value(json_object_get(shot, "size"));
        const json_t *characters = json_object_get(shot, "characters");

        if (!id || !size)
            continue;
        emit(ctx, "shots", size, id);
        for (size_t k = 0; k < json_array_size(characters); k++) {
            const char *who = json_string_value(json_array_get(characters, k));
            if (who)
                emit(ctx, "characters", who, id);
        }
    }
}

const struct schema_kind schema_kind_storyboard = {
    .name = "storyboard",
    .check_config = sb_check_config,
    .check_task = sb_check_task,
    .check_result = sb_check_result,
    .labels = sb_labels,
};
