/*
 * Storyboard exports: storyboard-json, storyboard-csv, fountain, srt and
 * storyboard-html from one storyboard document (export.h,
 * docs/storyboard.md).
 *
 * Every formatter walks chapters -> scenes -> shots through the readers
 * below, which answer "empty" for anything missing or of the wrong type, so
 * that no document can crash a formatter (fuzz/fuzz_story_export.c). Text
 * goes out through one escaper per format: csv_cell (RFC 4180 + formula
 * guard), html_text (the five HTML specials), fountain_line (forced
 * elements and emphasis escapes), srt_text (no blank line inside a cue).
 */
#include "story/export.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>

#include "core/json.h"

#define SHOT_SECONDS_MAX 600.0 /* a shot's duration as the schema allows it */

/* ------------------------------------------------------------------------ */
/* Formats and labels                                                       */
/* ------------------------------------------------------------------------ */

typedef int (*export_fn)(const json_t *doc, struct buf *out);

static const struct format {
    const char *name;
    const char *mime;
    const char *extension;
    export_fn render;
} formats[] = {
    { "storyboard-json", "application/json; charset=utf-8", "json", story_export_json },
    { "storyboard-csv", "text/csv; charset=utf-8", "csv", story_export_csv },
    { "fountain", "text/plain; charset=utf-8", "fountain", story_export_fountain },
    { "srt", "application/x-subrip; charset=utf-8", "srt", story_export_srt },
    { "storyboard-html", "text/html; charset=utf-8", "html", story_export_html },
};

#define N_FORMATS (sizeof(formats) / sizeof(formats[0]))

static const char *const format_names[N_FORMATS + 1] = {
    "storyboard-json", "storyboard-csv", "fountain", "srt", "storyboard-html", NULL,
};

static const struct format *format_find(const char *name)
{
    for (size_t i = 0; name && i < N_FORMATS; i++) {
        if (strcmp(formats[i].name, name) == 0)
            return &formats[i];
    }
    return NULL;
}

const char *const *story_export_formats(void)
{
    return format_names;
}

bool story_export_known(const char *format)
{
    return format_find(format) != NULL;
}

const char *story_export_format_list(void)
{
    return "storyboard-json, storyboard-csv, fountain, srt, storyboard-html"; /* format_names, joined */
}

const char *story_export_mime(const char *format)
{
    const struct format *f = format_find(format);

    return f ? f->mime : NULL;
}

const char *story_export_extension(const char *format)
{
    const struct format *f = format_find(format);

    return f ? f->extension : NULL;
}

int story_export(const char *format, const json_t *doc, struct buf *out)
{
    const struct format *f = format_find(format);

    if (!f || !out)
        return -EINVAL;
    return f->render(doc, out);
}

/* The UI's Chinese names (issue 5's contract). */
static const struct {
    const char *value, *label;
} labels[] = {
    { "long", "远景" },        { "full", "全景" },       { "medium", "中景" },
    { "close", "近景" },       { "closeup", "特写" },    { "extreme_closeup", "大特写" },
    { "eye", "平视" },         { "high", "俯视" },       { "low", "仰视" },
    { "overhead", "顶视" },    { "dutch", "斜角" },      { "static", "固定" },
    { "push", "推" },          { "pull", "拉" },         { "pan", "摇" },
    { "tilt", "俯仰摇" },      { "track", "移" },        { "follow", "跟" },
    { "crane", "升降" },       { "cut", "切" },          { "fade", "淡入淡出" },
    { "dissolve", "叠化" },    { "wipe", "划" },         { "dialogue", "对白" },
    { "monologue", "独白" },   { "narration", "旁白" },  { "draft", "草稿" },
    { "submitted", "已提交" }, { "accepted", "已通过" },
};

const char *story_export_label(const char *value)
{
    for (size_t i = 0; value && i < sizeof(labels) / sizeof(labels[0]); i++) {
        if (strcmp(labels[i].value, value) == 0)
            return labels[i].label;
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Readers: anything missing or mistyped reads as empty                     */
/* ------------------------------------------------------------------------ */

static struct str str_of(const json_t *v)
{
    if (!json_is_string(v))
        return STR_LIT("");
    return (struct str){ .p = json_string_value(v), .len = json_string_length(v) };
}

static struct str get_str(const json_t *obj, const char *key)
{
    return str_of(json_object_get(obj, key));
}

static const json_t *get_array(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_array(v) ? v : NULL;
}

/* An integer field as text ("" when absent); cap >= 24. */
static const char *get_int_text(const json_t *obj, const char *key, char *out, size_t cap)
{
    const json_t *v = json_object_get(obj, key);

    out[0] = '\0';
    if (json_is_integer(v))
        snprintf(out, cap, "%lld", (long long)json_integer_value(v));
    return out;
}

/* A shot's duration in seconds: 0 unless a number in (0, 600]. */
static double shot_seconds(const json_t *shot)
{
    const json_t *v = json_object_get(shot, "duration");
    double d;

    if (!json_is_number(v))
        return 0;
    d = json_number_value(v);
    if (!(d > 0) || !isfinite(d))
        return 0;
    return d > SHOT_SECONDS_MAX ? SHOT_SECONDS_MAX : d;
}

/* "3.5", "12", "0.25": seconds without trailing zeros. */
static const char *seconds_text(double d, char *out, size_t cap)
{
    size_t n;

    snprintf(out, cap, "%.3f", d);
    n = strlen(out);
    while (n > 0 && out[n - 1] == '0')
        out[--n] = '\0';
    if (n > 0 && out[n - 1] == '.')
        out[--n] = '\0';
    return out;
}

/* An enum field by its Chinese name; an unknown value as itself. */
static struct str enum_label(const json_t *obj, const char *key)
{
    struct str v = get_str(obj, key);
    const char *label;

    if (v.len == 0 || memchr(v.p, '\0', v.len))
        return v;
    label = story_export_label(v.p);
    return label ? str_from(label) : v;
}

/* Roster ids -> names, from doc.characters; NULL on allocation failure. */
static json_t *roster_names(const json_t *doc)
{
    const json_t *list = get_array(doc, "characters");
    json_t *names = json_object();

    for (size_t i = 0; names && i < json_array_size(list); i++) {
        const json_t *c = json_array_get(list, i);
        const json_t *id = json_object_get(c, "id"), *name = json_object_get(c, "name");
        if (!json_is_string(id) || !json_is_string(name))
            continue;
        if (json_object_setn(names, json_string_value(id), json_string_length(id), (json_t *)name) <
            0) {
            json_decref(names);
            return NULL;
        }
    }
    return names;
}

/* The name of roster id `id`, or the id itself when the roster lacks it. */
static struct str name_of(const json_t *names, const json_t *id)
{
    const json_t *name;

    if (!json_is_string(id))
        return STR_LIT("");
    name = json_object_getn(names, json_string_value(id), json_string_length(id));
    return name ? str_of(name) : str_of(id);
}

/* How a dialogue line's speaker reads: a name, 旁白 for narration, else 未知. */
static struct str speaker_of(const json_t *names, const json_t *line)
{
    const json_t *speaker = json_object_get(line, "speaker");

    if (json_is_string(speaker) && json_string_length(speaker) > 0)
        return name_of(names, speaker);
    if (str_eq_cstr(get_str(line, "kind"), "narration"))
        return STR_LIT("旁白");
    return STR_LIT("未知");
}

/* Append `s` with NUL bytes dropped. */
static void add_text(struct buf *b, struct str s)
{
    const char *p = s.p, *end = s.p + s.len;

    while (p < end) {
        const char *nul = memchr(p, '\0', (size_t)(end - p));
        const char *stop = nul ? nul : end;
        buf_add(b, p, (size_t)(stop - p));
        p = nul ? nul + 1 : end;
    }
}

/* The chapter's heading: "volume title" or "title". */
static void add_chapter_title(struct buf *b, const json_t *chapter)
{
    struct str volume = get_str(chapter, "volume"), title = get_str(chapter, "title");

    add_text(b, volume);
    if (volume.len && title.len)
        buf_addch(b, ' ');
    add_text(b, title);
}

/* "1-2": chapter index - scene number (either may be empty). */
static void add_scene_number(struct buf *b, const json_t *chapter, const json_t *scene)
{
    char n[32];

    buf_adds(b, get_int_text(chapter, "index", n, sizeof(n)));
    buf_addch(b, '-');
    buf_adds(b, get_int_text(scene, "scene", n, sizeof(n)));
}

static int finish(struct buf *out, size_t start)
{
    if (out->err) {
        buf_truncate(out, start);
        return out->err;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* storyboard-json                                                          */
/* ------------------------------------------------------------------------ */

static int dump_to_buf(const char *p, size_t len, void *ctx)
{
    return buf_add(ctx, p, len) < 0 ? -1 : 0;
}

int story_export_json(const json_t *doc, struct buf *out)
{
    size_t start;

    if (!out)
        return -EINVAL;
    start = out->len;
    if (!doc)
        buf_adds(out, "null");
    else if (json_dump_callback(doc, dump_to_buf, out,
                                JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER) < 0 &&
             !out->err)
        out->err = -ENOMEM; /* jansson failed on its own: only allocation can */
    buf_addch(out, '\n');
    return finish(out, start);
}

/* ------------------------------------------------------------------------ */
/* storyboard-csv: RFC 4180, UTF-8 with BOM, CRLF                           */
/* ------------------------------------------------------------------------ */

static const char *const csv_columns[] = {
    "镜号", "章节", "场次", "景别", "角度",     "运镜", "画面内容",
    "角色", "台词", "音效", "转场", "时长(秒)", "备注", "镜头ID",
};

/*
 * One cell: quoted when it holds a comma, a quote or a line break (RFC 4180
 * §2.6, §2.7); a cell that starts with = + - @ tab or CR gets a leading
 * apostrophe so that no spreadsheet reads it as a formula (OWASP: CSV
 * injection).
 */
static void csv_cell(struct buf *b, struct str s, bool first)
{
    bool quote = false, guard = false;

    if (!first)
        buf_addch(b, ',');
    for (size_t i = 0; i < s.len && !quote; i++)
        quote = s.p[i] == ',' || s.p[i] == '"' || s.p[i] == '\n' || s.p[i] == '\r';
    if (s.len && strchr("=+-@\t\r", s.p[0]) && s.p[0] != '\0')
        guard = true;
    if (quote)
        buf_addch(b, '"');
    if (guard)
        buf_addch(b, '\'');
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] == '\0')
            continue;
        if (s.p[i] == '"')
            buf_addch(b, '"');
        buf_addch(b, s.p[i]);
    }
    if (quote)
        buf_addch(b, '"');
}

static void csv_cell_cstr(struct buf *b, const char *s)
{
    csv_cell(b, str_from(s), false);
}

/* A cell built in `tmp` first. */
static void csv_cell_buf(struct buf *b, struct buf *tmp)
{
    if (tmp->err && !b->err)
        b->err = tmp->err;
    csv_cell(b, buf_str(tmp), false);
    buf_clear(tmp);
}

/* The last column: the ids of a shot's accepted media (frames first, in document order), one a line. */
static const char csv_media_column[] = "参考图";

static void media_ids(struct buf *b, const json_t *shot)
{
    const json_t *media = get_array(shot, "media");

    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < json_array_size(media); i++) {
            const json_t *item = json_array_get(media, i);
            bool clip = str_eq_cstr(get_str(item, "kind"), "clip");
            struct str id = get_str(item, "id");
            if (clip != (pass == 1) || !id.len)
                continue;
            if (b->len)
                buf_addch(b, '\n');
            add_text(b, id);
        }
    }
}

static void csv_row(struct buf *out,
                    struct buf *tmp,
                    const json_t *names,
                    const json_t *fields,
                    size_t number,
                    const json_t *chapter,
                    const json_t *scene,
                    const json_t *shot)
{
    const json_t *characters = get_array(shot, "characters");
    const json_t *dialogue = get_array(shot, "dialogue");
    const json_t *custom = json_object_get(shot, "custom");
    char n[64];

    snprintf(n, sizeof(n), "%zu", number);
    csv_cell(out, str_from(n), true);
    add_chapter_title(tmp, chapter);
    csv_cell_buf(out, tmp);
    add_scene_number(tmp, chapter, scene);
    csv_cell_buf(out, tmp);
    csv_cell(out, enum_label(shot, "size"), false);
    csv_cell(out, enum_label(shot, "angle"), false);
    csv_cell(out, enum_label(shot, "move"), false);
    csv_cell(out, get_str(shot, "picture"), false);
    for (size_t i = 0; i < json_array_size(characters); i++) {
        if (i)
            buf_adds(tmp, "、");
        add_text(tmp, name_of(names, json_array_get(characters, i)));
    }
    csv_cell_buf(out, tmp);
    for (size_t i = 0; i < json_array_size(dialogue); i++) {
        const json_t *line = json_array_get(dialogue, i);
        struct str kind = get_str(line, "kind");
        if (i)
            buf_addch(tmp, '\n');
        add_text(tmp, speaker_of(names, line));
        if (str_eq_cstr(kind, "monologue"))
            buf_adds(tmp, "（独白）");
        buf_adds(tmp, "：");
        add_text(tmp, get_str(line, "text"));
    }
    csv_cell_buf(out, tmp);
    csv_cell(out, get_str(shot, "sound"), false);
    csv_cell(out, enum_label(shot, "transition"), false);
    csv_cell_cstr(out,
                  shot_seconds(shot) > 0 ? seconds_text(shot_seconds(shot), n, sizeof(n)) : "");
    csv_cell(out, get_str(shot, "notes"), false);
    csv_cell(out, get_str(shot, "id"), false);
    for (size_t i = 0; i < json_array_size(fields); i++) {
        const json_t *f = json_array_get(fields, i);
        struct str key = get_str(f, "name");
        const json_t *v = key.len ? json_object_getn(custom, key.p, key.len) : NULL;

        if (json_is_string(v))
            csv_cell(out, str_of(v), false);
        else if (json_is_integer(v) || json_is_real(v))
            csv_cell_cstr(out, seconds_text(json_number_value(v), n, sizeof(n)));
        else
            csv_cell_cstr(out, "");
    }
    media_ids(tmp, shot);
    csv_cell_buf(out, tmp);
    buf_adds(out, "\r\n");
}

/* Custom field definitions of the project, or NULL. */
static const json_t *custom_fields(const json_t *doc)
{
    return get_array(json_object_get(doc, "project"), "custom_fields");
}

int story_export_csv(const json_t *doc, struct buf *out)
{
    const json_t *fields = custom_fields(doc), *chapters = get_array(doc, "chapters");
    struct buf tmp;
    json_t *names;
    size_t start, number = 0;

    if (!out)
        return -EINVAL;
    start = out->len;
    names = roster_names(doc);
    if (!names)
        return -ENOMEM;
    buf_init(&tmp, out->cap);
    buf_adds(out, "\xEF\xBB\xBF"); /* BOM: spreadsheets then read UTF-8 */
    for (size_t i = 0; i < sizeof(csv_columns) / sizeof(csv_columns[0]); i++)
        csv_cell(out, str_from(csv_columns[i]), i == 0);
    for (size_t i = 0; i < json_array_size(fields); i++) {
        const json_t *f = json_array_get(fields, i);
        struct str label = get_str(f, "label");
        csv_cell(out, label.len ? label : get_str(f, "name"), false);
    }
    csv_cell(out, str_from(csv_media_column), false);
    buf_adds(out, "\r\n");
    for (size_t c = 0; c < json_array_size(chapters) && !out->err; c++) {
        const json_t *chapter = json_array_get(chapters, c);
        const json_t *scenes = get_array(chapter, "scenes");
        for (size_t s = 0; s < json_array_size(scenes) && !out->err; s++) {
            const json_t *scene = json_array_get(scenes, s);
            const json_t *shots = get_array(scene, "shots");
            for (size_t k = 0; k < json_array_size(shots) && !out->err; k++) {
                const json_t *shot = json_array_get(shots, k);
                if (json_is_object(shot))
                    csv_row(out, &tmp, names, fields, ++number, chapter, scene, shot);
            }
        }
    }
    buf_release(&tmp);
    json_decref(names);
    return finish(out, start);
}

/* ------------------------------------------------------------------------ */
/* fountain: https://fountain.io/syntax                                     */
/* ------------------------------------------------------------------------ */

/*
 * Each line of `s` (blank lines dropped, so that an element never ends
 * early), with * _ \ escaped (emphasis). `force`, when not 0, is put before
 * a line that Fountain would read as something else: any line for '!'
 * (action) when it starts with a forcing character or reads as a heading
 * or a character cue.
 */
static void fountain_lines(struct buf *b, struct str s, char force)
{
    size_t i = 0;

    while (i < s.len) {
        size_t e = i, k;
        while (e < s.len && s.p[e] != '\n' && s.p[e] != '\r')
            e++;
        /* trim ASCII space, drop empty lines */
        k = i;
        while (k < e && (s.p[k] == ' ' || s.p[k] == '\t'))
            k++;
        if (k < e) {
            bool upper = true;
            for (size_t j = k; j < e; j++)
                upper = upper && !(s.p[j] >= 'a' && s.p[j] <= 'z') && (unsigned char)s.p[j] < 0x80;
            if (force && (strchr(".!@~>#=[", s.p[k]) || upper || strncmp(s.p + k, "INT", 3) == 0 ||
                          strncmp(s.p + k, "EXT", 3) == 0 || strncmp(s.p + k, "int", 3) == 0 ||
                          strncmp(s.p + k, "ext", 3) == 0))
                buf_addch(b, force);
            for (size_t j = k; j < e; j++) {
                char ch = s.p[j];
                if (ch == '\0')
                    continue;
                if (ch == '*' || ch == '_' || ch == '\\')
                    buf_addch(b, '\\');
                buf_addch(b, ch);
            }
            buf_addch(b, '\n');
        }
        i = e + 1;
    }
}

/* One line of text for a title page value, heading or cue: no line breaks. */
static void fountain_inline(struct buf *b, struct str s)
{
    for (size_t i = 0; i < s.len; i++) {
        char ch = s.p[i];
        if (ch == '\0')
            continue;
        buf_addch(b, ch == '\n' || ch == '\r' ? ' ' : ch);
    }
}

static bool in_list(const json_t *list, const json_t *s)
{
    for (size_t i = 0; json_is_string(s) && i < json_array_size(list); i++) {
        if (json_equal(json_array_get(list, i), s))
            return true;
    }
    return false;
}

static void fountain_shot(struct buf *out, const json_t *names, size_t number, const json_t *shot)
{
    const json_t *dialogue = get_array(shot, "dialogue");
    struct str transition = get_str(shot, "transition");
    char n[64];

    if (transition.len && !str_eq_cstr(transition, "cut")) {
        buf_adds(out, "> ");
        fountain_inline(out, enum_label(shot, "transition"));
        buf_adds(out, "：\n\n");
    }
    /* the camera, as a note: [[镜 12 · 中景 · 平视 · 固定 · 3.5秒]] */
    buf_addf(out, "[[镜 %zu · ", number);
    fountain_inline(out, enum_label(shot, "size"));
    if (get_str(shot, "angle").len) {
        buf_adds(out, " · ");
        fountain_inline(out, enum_label(shot, "angle"));
    }
    if (get_str(shot, "move").len) {
        buf_adds(out, " · ");
        fountain_inline(out, enum_label(shot, "move"));
    }
    buf_adds(out, " · ");
    buf_adds(out, seconds_text(shot_seconds(shot), n, sizeof(n)));
    buf_adds(out, "秒");
    if (get_str(shot, "sound").len) {
        buf_adds(out, " · 音效：");
        fountain_inline(out, get_str(shot, "sound"));
    }
    buf_adds(out, "]]\n\n");
    if (get_str(shot, "picture").len) {
        size_t before = out->len;
        fountain_lines(out, get_str(shot, "picture"), '!');
        if (out->len > before)
            buf_addch(out, '\n');
    }
    for (size_t i = 0; i < json_array_size(dialogue); i++) {
        const json_t *line = json_array_get(dialogue, i);
        struct str kind = get_str(line, "kind"), text = get_str(line, "text");
        const json_t *speaker = json_object_get(line, "speaker");
        size_t before;

        if (!json_is_object(line) || text.len == 0)
            continue;
        buf_addch(out, '@'); /* forced: names are not upper-case Latin */
        fountain_inline(out, speaker_of(names, line));
        if (str_eq_cstr(kind, "monologue") || str_eq_cstr(kind, "narration"))
            buf_adds(out, " (V.O.)");
        else if (json_is_string(speaker) && !in_list(get_array(shot, "characters"), speaker))
            buf_adds(out, " (O.S.)");
        buf_addch(out, '\n');
        before = out->len;
        fountain_lines(out, text, 0);
        if (out->len == before)
            buf_adds(out, "...\n");
        buf_addch(out, '\n');
    }
}

int story_export_fountain(const json_t *doc, struct buf *out)
{
    const json_t *chapters = get_array(doc, "chapters");
    struct str title = get_str(json_object_get(doc, "novel"), "title");
    struct str project = get_str(json_object_get(doc, "project"), "name");
    json_t *names;
    size_t start, number = 0;

    if (!out)
        return -EINVAL;
    start = out->len;
    names = roster_names(doc);
    if (!names)
        return -ENOMEM;
    /* title page: key: value lines, ended by a blank line */
    buf_adds(out, "Title: ");
    fountain_inline(out, title.len ? title : project.len ? project : STR_LIT("分镜脚本"));
    buf_adds(out, "\nCredit: 分镜脚本\n");
    if (project.len) {
        buf_adds(out, "Source: ");
        fountain_inline(out, project);
        buf_addch(out, '\n');
    }
    buf_addch(out, '\n');
    for (size_t c = 0; c < json_array_size(chapters) && !out->err; c++) {
        const json_t *chapter = json_array_get(chapters, c);
        const json_t *scenes = get_array(chapter, "scenes");
        struct buf heading;

        buf_init(&heading, out->cap);
        add_chapter_title(&heading, chapter);
        if (c > 0)
            buf_adds(out, "===\n\n");
        buf_adds(out, "# ");
        fountain_inline(out, buf_str(&heading));
        buf_adds(out, "\n\n");
        for (size_t s = 0; s < json_array_size(scenes) && !out->err; s++) {
            const json_t *scene = json_array_get(scenes, s);
            const json_t *shots = get_array(scene, "shots");
            char num[32];

            /* forced heading with a scene number: .第一回 … 第2场 #1-2# */
            buf_addch(out, '.');
            fountain_inline(out, buf_str(&heading));
            if (get_int_text(scene, "scene", num, sizeof(num))[0])
                buf_addf(out, " 第%s场", num);
            buf_adds(out, " #");
            add_scene_number(out, chapter, scene);
            buf_adds(out, "#\n\n");
            for (size_t k = 0; k < json_array_size(shots) && !out->err; k++) {
                const json_t *shot = json_array_get(shots, k);
                if (json_is_object(shot))
                    fountain_shot(out, names, ++number, shot);
            }
        }
        if (heading.err && !out->err)
            out->err = heading.err;
        buf_release(&heading);
    }
    json_decref(names);
    return finish(out, start);
}

/* ------------------------------------------------------------------------ */
/* srt: SubRip subtitles from the dialogue                                  */
/* ------------------------------------------------------------------------ */

static void srt_time(struct buf *b, long long ms)
{
    buf_addf(b, "%02lld:%02lld:%02lld,%03lld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60,
             ms % 1000);
}

/* Cue text: line breaks kept as CRLF, blank lines (which end a cue) dropped. */
static void srt_text(struct buf *b, struct str s)
{
    size_t i = 0;
    bool first = true;

    while (i < s.len) {
        size_t e = i;
        bool blank = true;
        while (e < s.len && s.p[e] != '\n' && s.p[e] != '\r')
            e++;
        for (size_t k = i; k < e; k++)
            blank = blank && (s.p[k] == ' ' || s.p[k] == '\t' || s.p[k] == '\0');
        if (!blank) {
            if (!first)
                buf_adds(b, "\r\n");
            add_text(b, (struct str){ .p = s.p + i, .len = e - i });
            first = false;
        }
        i = e + 1;
    }
}

static bool blank_text(struct str s)
{
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] != ' ' && s.p[i] != '\t' && s.p[i] != '\n' && s.p[i] != '\r' && s.p[i] != '\0')
            return false;
    }
    return true;
}

/* Weight of a line in its shot: its length in code points, at least 1. */
static size_t line_weight(struct str s)
{
    size_t n = 0;

    for (size_t i = 0; i < s.len; i++)
        n += ((unsigned char)s.p[i] & 0xC0) != 0x80;
    return n ? n : 1;
}

/*
 * The cues of one shot starting at `t0` seconds: its duration shared among
 * its lines in proportion to their length.
 */
static void srt_shot(struct buf *out, const json_t *shot, double t0, size_t *cue)
{
    const json_t *dialogue = get_array(shot, "dialogue");
    double d = shot_seconds(shot);
    size_t total = 0, done = 0;

    for (size_t i = 0; i < json_array_size(dialogue); i++) {
        struct str text = get_str(json_array_get(dialogue, i), "text");
        if (!blank_text(text))
            total += line_weight(text);
    }
    if (total == 0 || d <= 0)
        return;
    for (size_t i = 0; i < json_array_size(dialogue); i++) {
        const json_t *line = json_array_get(dialogue, i);
        struct str text = get_str(line, "text"), kind = get_str(line, "kind");
        long long from, to;
        bool italic = str_eq_cstr(kind, "monologue") || str_eq_cstr(kind, "narration");

        if (blank_text(text))
            continue;
        from = llround((t0 + d * (double)done / (double)total) * 1000.0);
        done += line_weight(text);
        to = llround((t0 + d * (double)done / (double)total) * 1000.0);
        buf_addf(out, "%zu\r\n", ++*cue);
        srt_time(out, from);
        buf_adds(out, " --> ");
        srt_time(out, to);
        buf_adds(out, "\r\n");
        if (italic)
            buf_adds(out, "<i>");
        srt_text(out, text);
        if (italic)
            buf_adds(out, "</i>");
        buf_adds(out, "\r\n\r\n");
    }
}

int story_export_srt(const json_t *doc, struct buf *out)
{
    const json_t *chapters = get_array(doc, "chapters");
    double t = 0;
    size_t start, cue = 0;

    if (!out)
        return -EINVAL;
    start = out->len;
    for (size_t c = 0; c < json_array_size(chapters) && !out->err; c++) {
        const json_t *scenes = get_array(json_array_get(chapters, c), "scenes");
        for (size_t s = 0; s < json_array_size(scenes) && !out->err; s++) {
            const json_t *shots = get_array(json_array_get(scenes, s), "shots");
            for (size_t k = 0; k < json_array_size(shots) && !out->err; k++) {
                const json_t *shot = json_array_get(shots, k);
                srt_shot(out, shot, t, &cue);
                t += shot_seconds(shot);
            }
        }
    }
    return finish(out, start);
}

/* ------------------------------------------------------------------------ */
/* storyboard-html: one self-contained, printable page                      */
/* ------------------------------------------------------------------------ */

/* Escape & < > " ' (HTML5 §13.1.2.6 safe in text and quoted attributes); line breaks as <br>. */
static void html_text(struct buf *b, struct str s)
{
    for (size_t i = 0; i < s.len; i++) {
        char ch = s.p[i];
        switch (ch) {
        case '&':
            buf_adds(b, "&amp;");
            break;
        case '<':
            buf_adds(b, "&lt;");
            break;
        case '>':
            buf_adds(b, "&gt;");
            break;
        case '"':
            buf_adds(b, "&quot;");
            break;
        case '\'':
            buf_adds(b, "&#39;");
            break;
        case '\n':
            buf_adds(b, "<br>");
            break;
        case '\r':
        case '\0':
            break;
        default:
            buf_addch(b, ch);
        }
    }
}

static void html_cell(struct buf *b, struct str s, const char *cls)
{
    if (cls)
        buf_addf(b, "<td class=\"%s\">", cls);
    else
        buf_adds(b, "<td>");
    html_text(b, s);
    buf_adds(b, "</td>");
}

static const char html_style[] =
    "*{box-sizing:border-box}"
    "body{font-family:\"Noto Sans CJK SC\",\"Source Han Sans SC\",\"PingFang SC\","
    "\"Microsoft YaHei\",sans-serif;margin:24px;color:#111;font-size:13px;line-height:1.45}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}"
    ".meta{color:#555;margin:0 0 16px}"
    "table{border-collapse:collapse;width:100%;margin-bottom:12px}"
    "th,td{border:1px solid #999;padding:4px 6px;vertical-align:top;text-align:left}"
    "thead th{background:#eee;white-space:nowrap}"
    "tr.scene th{background:#f6f3e8;font-weight:600}"
    "td.num,td.dur{text-align:right;white-space:nowrap}td.id{font-family:monospace;color:#555}"
    "td.picture{min-width:14em}td.lines{min-width:12em}"
    "td.media{max-width:180px}td.media .id{font-family:monospace;color:#555;font-size:9px;"
    "word-break:break-all}img.frame{max-width:160px;height:auto;display:block}"
    "@media print{body{margin:0;font-size:10pt}"
    "@page{size:A4 landscape;margin:12mm}"
    "thead{display:table-header-group}tr{page-break-inside:avoid;break-inside:avoid}"
    "section.chapter{page-break-before:always;break-before:page}"
    "section.chapter:first-of-type{page-break-before:auto;break-before:auto}"
    "thead th{background:#eee!important;-webkit-print-color-adjust:exact;print-color-adjust:exact}}";

static void html_head_row(struct buf *out, const json_t *fields)
{
    buf_adds(out, "<thead><tr>");
    for (size_t i = 0; i < sizeof(csv_columns) / sizeof(csv_columns[0]); i++) {
        if (i == 1)
            continue; /* 章节: the section's heading */
        buf_adds(out, "<th>");
        buf_adds(out, csv_columns[i]);
        buf_adds(out, "</th>");
    }
    for (size_t i = 0; i < json_array_size(fields); i++) {
        const json_t *f = json_array_get(fields, i);
        struct str label = get_str(f, "label");
        buf_adds(out, "<th>");
        html_text(out, label.len ? label : get_str(f, "name"));
        buf_adds(out, "</th>");
    }
    buf_adds(out, "<th>");
    buf_adds(out, csv_media_column);
    buf_adds(out, "</th></tr></thead>\n");
}

/* Whether s is a data: URI of a base64 JPEG, PNG or WebP image and nothing else. */
static bool image_data_uri(struct str s)
{
    static const char *const prefixes[] = { "data:image/jpeg;base64,", "data:image/png;base64,",
                                            "data:image/webp;base64,", NULL };
    size_t skip = 0;

    for (size_t i = 0; prefixes[i] && !skip; i++) {
        if (str_has_prefix(s, prefixes[i]))
            skip = strlen(prefixes[i]);
    }
    if (!skip || s.len == skip)
        return false;
    for (size_t i = skip; i < s.len; i++) {
        char ch = s.p[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '+' || ch == '/' || ch == '='))
            return false;
    }
    return true;
}

/*
 * The 参考图 cell: the accepted first frame's thumbnail when the document
 * carries one (an embedded data: URI, the sheet stays self-contained),
 * then the media ids.
 */
static void html_media(struct buf *out, struct buf *tmp, const json_t *shot)
{
    const json_t *media = get_array(shot, "media");

    buf_adds(out, "<td class=\"media\">");
    for (size_t i = 0; i < json_array_size(media); i++) {
        const json_t *item = json_array_get(media, i);
        struct str thumb = get_str(item, "thumbnail");
        if (!str_eq_cstr(get_str(item, "kind"), "first_frame") || !image_data_uri(thumb))
            continue;
        buf_adds(out, "<img class=\"frame\" alt=\"首帧\" src=\"");
        buf_addstr(out, thumb);
        buf_adds(out, "\"><br>");
        break;
    }
    media_ids(tmp, shot);
    buf_adds(out, "<span class=\"id\">");
    html_text(out, buf_str(tmp));
    buf_adds(out, "</span></td>");
    buf_clear(tmp);
}

static void html_shot(struct buf *out,
                      struct buf *tmp,
                      const json_t *names,
                      const json_t *fields,
                      size_t number,
                      const json_t *chapter,
                      const json_t *scene,
                      const json_t *shot)
{
    const json_t *characters = get_array(shot, "characters");
    const json_t *dialogue = get_array(shot, "dialogue");
    const json_t *custom = json_object_get(shot, "custom");
    char n[64];

    buf_addf(out, "<tr><td class=\"num\">%zu</td>", number);
    add_scene_number(tmp, chapter, scene);
    html_cell(out, buf_str(tmp), "num");
    buf_clear(tmp);
    html_cell(out, enum_label(shot, "size"), NULL);
    html_cell(out, enum_label(shot, "angle"), NULL);
    html_cell(out, enum_label(shot, "move"), NULL);
    html_cell(out, get_str(shot, "picture"), "picture");
    for (size_t i = 0; i < json_array_size(characters); i++) {
        if (i)
            buf_adds(tmp, "、");
        add_text(tmp, name_of(names, json_array_get(characters, i)));
    }
    html_cell(out, buf_str(tmp), NULL);
    buf_clear(tmp);
    buf_adds(out, "<td class=\"lines\">");
    for (size_t i = 0; i < json_array_size(dialogue); i++) {
        const json_t *line = json_array_get(dialogue, i);
        if (i)
            buf_adds(out, "<br>");
        buf_adds(out, "<b>");
        html_text(out, speaker_of(names, line));
        if (str_eq_cstr(get_str(line, "kind"), "monologue"))
            buf_adds(out, "（独白）");
        buf_adds(out, "</b>：");
        html_text(out, get_str(line, "text"));
    }
    buf_adds(out, "</td>");
    html_cell(out, get_str(shot, "sound"), NULL);
    html_cell(out, enum_label(shot, "transition"), NULL);
    html_cell(
        out, str_from(shot_seconds(shot) > 0 ? seconds_text(shot_seconds(shot), n, sizeof(n)) : ""),
        "dur");
    html_cell(out, get_str(shot, "notes"), NULL);
    html_cell(out, get_str(shot, "id"), "id");
    for (size_t i = 0; i < json_array_size(fields); i++) {
        struct str key = get_str(json_array_get(fields, i), "name");
        const json_t *v = key.len ? json_object_getn(custom, key.p, key.len) : NULL;

        if (json_is_string(v))
            html_cell(out, str_of(v), NULL);
        else if (json_is_integer(v) || json_is_real(v))
            html_cell(out, str_from(seconds_text(json_number_value(v), n, sizeof(n))), NULL);
        else
            html_cell(out, STR_LIT(""), NULL);
    }
    html_media(out, tmp, shot);
    buf_adds(out, "</tr>\n");
}

/* Totals over every shot of the document: count and seconds. */
static void totals(const json_t *doc, size_t *ret_shots, double *ret_seconds)
{
    const json_t *chapters = get_array(doc, "chapters");
    size_t n = 0;
    double t = 0;

    for (size_t c = 0; c < json_array_size(chapters); c++) {
        const json_t *scenes = get_array(json_array_get(chapters, c), "scenes");
        for (size_t s = 0; s < json_array_size(scenes); s++) {
            const json_t *shots = get_array(json_array_get(scenes, s), "shots");
            for (size_t k = 0; k < json_array_size(shots); k++) {
                if (!json_is_object(json_array_get(shots, k)))
                    continue;
                n++;
                t += shot_seconds(json_array_get(shots, k));
            }
        }
    }
    *ret_shots = n;
    *ret_seconds = t;
}

static void add_clock(struct buf *b, double seconds)
{
    long long s = llround(seconds);

    buf_addf(b, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
}

static void html_roster(struct buf *out, const json_t *doc)
{
    const json_t *list = get_array(doc, "characters");

    if (json_array_size(list) == 0)
        return;
    buf_adds(out, "<section class=\"roster\"><h2>角色</h2><table><thead><tr><th>ID</th>"
                  "<th>姓名</th><th>别名</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *c = json_array_get(list, i);
        const json_t *aliases = get_array(c, "aliases");
        if (!json_is_object(c))
            continue;
        buf_adds(out, "<tr>");
        html_cell(out, get_str(c, "id"), "id");
        html_cell(out, get_str(c, "name"), NULL);
        buf_adds(out, "<td>");
        for (size_t k = 0; k < json_array_size(aliases); k++) {
            if (k)
                buf_adds(out, "、");
            html_text(out, str_of(json_array_get(aliases, k)));
        }
        buf_adds(out, "</td></tr>\n");
    }
    buf_adds(out, "</tbody></table></section>\n");
}

int story_export_html(const json_t *doc, struct buf *out)
{
    const json_t *fields = custom_fields(doc), *chapters = get_array(doc, "chapters");
    struct str title = get_str(json_object_get(doc, "novel"), "title");
    struct str project = get_str(json_object_get(doc, "project"), "name");
    size_t columns = sizeof(csv_columns) / sizeof(csv_columns[0]) - 1 + json_array_size(fields) + 1;
    size_t start, number = 0, n_shots;
    double seconds;
    struct buf tmp;
    json_t *names;

    if (!out)
        return -EINVAL;
    start = out->len;
    names = roster_names(doc);
    if (!names)
        return -ENOMEM;
    buf_init(&tmp, out->cap);
    if (!title.len)
        title = project.len ? project : STR_LIT("分镜脚本");
    totals(doc, &n_shots, &seconds);
    buf_adds(out, "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                  "<title>");
    html_text(out, title);
    buf_adds(out, " · 分镜脚本</title>\n<style>");
    buf_adds(out, html_style);
    buf_adds(out, "</style>\n</head>\n<body>\n<header><h1>");
    html_text(out, title);
    buf_adds(out, " · 分镜脚本</h1>\n<p class=\"meta\">");
    if (project.len) {
        buf_adds(out, "项目：");
        html_text(out, project);
        buf_adds(out, " · ");
    }
    buf_addf(out, "镜头 %zu · 总时长 ", n_shots);
    add_clock(out, seconds);
    buf_adds(out, "</p></header>\n");
    html_roster(out, doc);
    for (size_t c = 0; c < json_array_size(chapters) && !out->err; c++) {
        const json_t *chapter = json_array_get(chapters, c);
        const json_t *scenes = get_array(chapter, "scenes");

        buf_adds(out, "<section class=\"chapter\"><h2>");
        add_chapter_title(&tmp, chapter);
        html_text(out, buf_str(&tmp));
        buf_clear(&tmp);
        buf_adds(out, "</h2>\n<table>");
        html_head_row(out, fields);
        buf_adds(out, "<tbody>\n");
        for (size_t s = 0; s < json_array_size(scenes) && !out->err; s++) {
            const json_t *scene = json_array_get(scenes, s);
            const json_t *shots = get_array(scene, "shots");
            double scene_seconds = 0;
            char n[64];

            for (size_t k = 0; k < json_array_size(shots); k++)
                scene_seconds += shot_seconds(json_array_get(shots, k));
            buf_addf(out, "<tr class=\"scene\"><th colspan=\"%zu\">场次 ", columns);
            add_scene_number(&tmp, chapter, scene);
            html_text(out, buf_str(&tmp));
            buf_clear(&tmp);
            if (get_str(scene, "status").len) {
                buf_adds(out, " · ");
                html_text(out, enum_label(scene, "status"));
            }
            buf_addf(out, " · 镜头 %zu · %s秒</th></tr>\n", json_array_size(shots),
                     seconds_text(scene_seconds, n, sizeof(n)));
            for (size_t k = 0; k < json_array_size(shots) && !out->err; k++) {
                const json_t *shot = json_array_get(shots, k);
                if (json_is_object(shot))
                    html_shot(out, &tmp, names, fields, ++number, chapter, scene, shot);
            }
        }
        buf_adds(out, "</tbody></table></section>\n");
    }
    buf_adds(out, "</body>\n</html>\n");
    if (tmp.err && !out->err)
        out->err = tmp.err;
    buf_release(&tmp);
    json_decref(names);
    return finish(out, start);
}
