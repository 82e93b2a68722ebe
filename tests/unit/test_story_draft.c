/*
 * Unit tests for the rule-based drafter (src/story/draft.c).
 *
 * The drafter takes a chapter cut into paragraphs, scenes and utterances
 * (story_chapter_split, scenes.c/dialogue.c). These tests build that cut by
 * hand with a small splitter of their own (split_simple: one paragraph a
 * line, “…” quotes as utterances, "X道：" before a quote as the speaker),
 * so that they pin the drafter's rules without depending on the real
 * splitter's choices. Every drafted result is checked against the
 * storyboard kind's validator with the scene text as task data, and the
 * whole of 水浒传 is drafted under a time budget.
 */
/* cmocka needs these before it, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/utf8.h"
#include "schema/schema.h"
#include "story/story.h"

/* ------------------------------------------------------------------------ */
/* A hand-made splitter                                                     */
/* ------------------------------------------------------------------------ */

static uint32_t next_cp(const char *p, size_t len, size_t *i)
{
    const unsigned char *s = (const unsigned char *)p;
    uint32_t c = s[*i];

    if (c < 0x80) {
        *i += 1;
        return c;
    }
    if (c >= 0xF0 && *i + 3 < len) {
        c = ((c & 7) << 18) | ((uint32_t)(s[*i + 1] & 0x3F) << 12) |
            ((uint32_t)(s[*i + 2] & 0x3F) << 6) | (s[*i + 3] & 0x3F);
        *i += 4;
        return c;
    }
    if (c >= 0xE0 && *i + 2 < len) {
        c = ((c & 0xF) << 12) | ((uint32_t)(s[*i + 1] & 0x3F) << 6) | (s[*i + 2] & 0x3F);
        *i += 3;
        return c;
    }
    c = ((c & 0x1F) << 6) | (s[*i + 1] & 0x3F);
    *i += 2;
    return c;
}

/*
 * Cut body[0..len) into paragraphs (lines), utterances (“…”, kind from a
 * 心想 before the quote) and scenes of about max_scene code points (cut at
 * a paragraph). The speaker of a quote is the two code points before a
 * 道/说 that ends the text before it ("宋江道：“…”").
 */
static void
split_simple(const char *body, size_t len, size_t max_scene, struct story_chapter_parts *p)
{
    size_t n_lines = 1, n_quotes = 0, cp = 0, i = 0;
    uint32_t *cps;
    size_t *at;

    memset(p, 0, sizeof(*p));
    arena_init(&p->arena, 0);
    for (size_t k = 0; k < len; k++)
        n_lines += body[k] == '\n';
    n_quotes = len / 3 + 1;
    cps = calloc(len + 1, sizeof(*cps));
    at = calloc(len + 2, sizeof(*at));
    assert_non_null(cps);
    assert_non_null(at);
    while (i < len) {
        at[cp] = i;
        cps[cp++] = next_cp(body, len, &i);
    }
    at[cp] = len;
    p->body = arena_strndup(&p->arena, body, len);
    p->body_bytes = len;
    p->body_chars = cp;
    p->paragraphs = arena_calloc(&p->arena, n_lines, sizeof(*p->paragraphs));
    p->utterances = arena_calloc(&p->arena, n_quotes, sizeof(*p->utterances));
    p->scenes = arena_calloc(&p->arena, n_lines, sizeof(*p->scenes));
    assert_non_null(p->paragraphs);
    assert_non_null(p->utterances);
    assert_non_null(p->scenes);

    size_t line_start = 0, open = (size_t)-1;
    for (size_t k = 0; k <= cp; k++) {
        if (k == cp || cps[k] == '\n') {
            if (k > line_start)
                p->paragraphs[p->n_paragraphs++] = (struct story_paragraph){ line_start, k };
            line_start = k + 1;
            open = (size_t)-1;
            continue;
        }
        if (cps[k] == 0x201C) {
            open = k;
        } else if (cps[k] == 0x201D && open != (size_t)-1) {
            struct story_utterance *u = &p->utterances[p->n_utterances++];
            u->qbegin = open;
            u->begin = open + 1;
            u->end = k;
            u->qend = k + 1;
            u->kind = STORY_UTT_DIALOGUE;
            u->confidence = 0.5;
            u->rule = "test";
            /* X道：“ or X说：“ -> the first two code points of the clause */
            if (open >= 3 && (cps[open - 1] == 0xFF1A || cps[open - 1] == ':') &&
                (cps[open - 2] == 0x9053 /* 道 */ || cps[open - 2] == 0x8BF4 /* 说 */)) {
                size_t b = open - 2;
                while (b > line_start && cps[b - 1] != 0xFF0C && cps[b - 1] != 0x3002 &&
                       cps[b - 1] != 0x201D)
                    b--;
                if (b + 2 <= open - 2)
                    u->speaker = arena_strndup(&p->arena, body + at[b], at[b + 2] - at[b]);
            }
            if (open >= 2 && cps[open - 2] == 0x60F3 /* 想 */)
                u->kind = STORY_UTT_MONOLOGUE;
            open = (size_t)-1;
        }
    }
    /* scenes: whole paragraphs, about max_scene code points each */
    size_t par = 0, utt = 0;
    while (par < p->n_paragraphs) {
        struct story_scene *s = &p->scenes[p->n_scenes];
        s->index = p->n_scenes++;
        s->begin = p->paragraphs[par].begin;
        s->first_paragraph = par;
        s->first_utterance = utt;
        s->cause = s->index ? STORY_BREAK_LENGTH : STORY_BREAK_START;
        do {
            s->end = p->paragraphs[par].end;
            par++;
        } while (par < p->n_paragraphs && s->end - s->begin < max_scene);
        s->n_paragraphs = par - s->first_paragraph;
        while (utt < p->n_utterances && p->utterances[utt].qbegin < s->end) {
            p->utterances[utt].scene = s->index;
            utt++;
        }
        s->n_utterances = utt - s->first_utterance;
    }
    free(cps);
    free(at);
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static const struct story_cast cast[] = {
    { "宋江", "c1" }, { "公明", "c1" }, { "李逵", "c2" }, { "黑旋风", "c2" }, { "吴用", "c3" },
};

static void next_id(void *ctx, char *out, size_t cap)
{
    unsigned *n = ctx;

    snprintf(out, cap, "s%06u", ++*n);
}

/* The scene's text (the task's data.text) as a new string. */
static char *scene_text(const struct story_chapter_parts *p, const struct story_scene *s)
{
    long b = utf8_offset(p->body, p->body_bytes, s->begin);
    long e = utf8_offset(p->body, p->body_bytes, s->end);

    assert_true(b >= 0 && e >= b);
    return strndup(p->body + b, (size_t)(e - b));
}

/* Check `result` with the storyboard validator against the scene as task data. */
static void
expect_valid(const struct story_chapter_parts *p, const struct story_scene *s, const json_t *result)
{
    const struct schema_kind *kind = schema_kind_find("storyboard");
    char *text = scene_text(p, s);
    json_t *config = json_object();
    json_t *data = json_pack("{s:i,s:{s:i,s:s,s:n},s:i,s:s}", "novel", 1, "chapter", "index", 1,
                             "title", "第一回", "volume", "scene", (int)s->index, "text", text);
    struct schema_error err;

    assert_non_null(kind);
    assert_non_null(data);
    assert_non_null(result);
    if (kind->check_result(config, data, result, &err) != 0) {
        char *dump = json_dumps(result, JSON_INDENT(1));
        print_error("invalid draft: %s: %s\n%s\n", err.path, err.message, dump);
        free(dump);
        fail();
    }
    json_decref(config);
    json_decref(data);
    free(text);
}

static json_t *draft(const struct story_chapter_parts *p, size_t scene, unsigned *ids)
{
    struct story_draft_opts o = {
        .cast = cast,
        .n_cast = sizeof(cast) / sizeof(cast[0]),
        .next_id = next_id,
        .id_ctx = ids,
    };
    json_t *result = story_draft_scene(p, &p->scenes[scene], &o);

    assert_non_null(result);
    expect_valid(p, &p->scenes[scene], result);
    return result;
}

static const json_t *shot_at(const json_t *result, size_t i)
{
    const json_t *shot = json_array_get(json_object_get(result, "shots"), i);

    assert_non_null(shot);
    return shot;
}

static const char *field(const json_t *shot, const char *key)
{
    const char *s = json_string_value(json_object_get(shot, key));

    assert_non_null(s);
    return s;
}

static long long source(const json_t *shot, const char *key)
{
    return json_integer_value(json_object_get(json_object_get(shot, "source"), key));
}

/* The source text of a shot, cut out of the scene text. */
static char *
source_text(const struct story_chapter_parts *p, const struct story_scene *s, const json_t *shot)
{
    char *text = scene_text(p, s);
    long b = utf8_offset(text, strlen(text), (size_t)source(shot, "start"));
    long e = utf8_offset(text, strlen(text), (size_t)source(shot, "end"));
    char *out;

    assert_true(b >= 0 && e >= b);
    out = strndup(text + b, (size_t)(e - b));
    free(text);
    return out;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                    */
/* ------------------------------------------------------------------------ */

#define SCENE1                                                             \
 "那日天色已晚，山下一片寂静，远处传来阵阵钟声。\n" \
 "宋江道：“兄弟们且住。”\n"                                  \
 "李逵大怒道：“哥哥怎地如此！”\n"                         \
 "宋江道：“莫急。”\n"                                           \
 "两人走出庄门，一路向东去了。\n"

static void test_scene_rules(void **state)
{
    struct story_chapter_parts p;
    unsigned ids = 0;
    json_t *result;
    const json_t *shot, *line;
    char *text;

    (void)state;
    split_simple(SCENE1, strlen(SCENE1), 5000, &p);
    assert_int_equal(p.n_scenes, 1);
    assert_int_equal(p.n_utterances, 3);
    assert_string_equal(p.utterances[1].speaker, "李逵");
    result = draft(&p, 0, &ids);
    assert_int_equal(json_array_size(json_object_get(result, "shots")), 5);

    /* establishing: long, static, fade, the first paragraph as picture, a sound */
    shot = shot_at(result, 0);
    assert_string_equal(field(shot, "id"), "s000001");
    assert_string_equal(field(shot, "size"), "long");
    assert_string_equal(field(shot, "move"), "static");
    assert_string_equal(field(shot, "angle"), "eye");
    assert_string_equal(field(shot, "transition"), "fade");
    assert_string_equal(field(shot, "picture"), "那日天色已晚，山下一片寂静，远处传来阵阵钟声。");
    assert_string_equal(field(shot, "sound"), "钟声");
    assert_string_equal(field(shot, "notes"), "");
    assert_int_equal(source(shot, "start"), 0);
    assert_int_equal(source(shot, "end"), 23);
    assert_int_equal(json_array_size(json_object_get(shot, "dialogue")), 0);
    /* 23 characters at 8 a second: 2.875 -> at least action_seconds (3) */
    assert_true(json_real_value(json_object_get(shot, "duration")) == 3.0);

    /* 宋江 opens an exchange with 李逵: medium; his tag is the picture */
    shot = shot_at(result, 1);
    assert_string_equal(field(shot, "size"), "medium");
    assert_string_equal(field(shot, "transition"), "cut");
    assert_string_equal(field(shot, "picture"), "宋江道");
    assert_int_equal(json_array_size(json_object_get(shot, "characters")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(shot, "characters"), 0)),
                        "c1");
    line = json_array_get(json_object_get(shot, "dialogue"), 0);
    assert_string_equal(field(line, "speaker"), "c1");
    assert_string_equal(field(line, "kind"), "dialogue");
    assert_string_equal(field(line, "text"), "兄弟们且住。");
    /* 6 characters at 4 a second: 1.5 s */
    assert_true(json_real_value(json_object_get(shot, "duration")) == 1.5);
    text = source_text(&p, &p.scenes[0], shot);
    assert_string_equal(text, "宋江道：“兄弟们且住。”");
    free(text);

    /* 李逵大怒: an emotion -> closeup */
    shot = shot_at(result, 2);
    assert_string_equal(field(shot, "size"), "closeup");
    assert_string_equal(field(json_array_get(json_object_get(shot, "dialogue"), 0), "speaker"),
                        "c2");

    /* 宋江 again, alone on screen: close */
    shot = shot_at(result, 3);
    assert_string_equal(field(shot, "size"), "close");
    assert_true(json_real_value(json_object_get(shot, "duration")) == 1.5); /* the minimum */

    /* the walk away: an action, track (走), full (no one named) */
    shot = shot_at(result, 4);
    assert_string_equal(field(shot, "move"), "track");
    assert_string_equal(field(shot, "size"), "full");
    assert_string_equal(field(shot, "picture"), "两人走出庄门，一路向东去了。");

    /* pure: the same input and ids give the same output */
    ids = 0;
    json_t *again =
        story_draft_scene(&p, &p.scenes[0],
                          &(struct story_draft_opts){
                              .cast = cast, .n_cast = 5, .next_id = next_id, .id_ctx = &ids });
    assert_true(json_equal(result, again));
    json_decref(again);
    json_decref(result);
    arena_free(&p.arena);
}

/* Scene-relative sources: the second scene starts at offset 0 of its own text. */
static void test_second_scene(void **state)
{
    const char *body = "第一段很长的叙述，交代了天气和山寨的情形，众人都在聚义厅上饮酒。\n"
                       "次日，吴用道：“哥哥，今日该下山了。”\n";
    struct story_chapter_parts p;
    unsigned ids = 100;
    json_t *result;
    const json_t *shot;

    (void)state;
    split_simple(body, strlen(body), 10, &p);
    assert_int_equal(p.n_scenes, 2);
    result = draft(&p, 1, &ids);
    shot = shot_at(result, 0);
    assert_string_equal(field(shot, "id"), "s000101");
    assert_string_equal(field(shot, "transition"), "fade");
    /* "次日，" is a short tag: it rides with the line */
    assert_int_equal(source(shot, "start"), 0);
    assert_string_equal(field(json_array_get(json_object_get(shot, "dialogue"), 0), "speaker"),
                        "c3");
    assert_string_equal(field(shot, "picture"), "次日，吴用道");
    json_decref(result);
    arena_free(&p.arena);
}

static void test_long_paragraph(void **state)
{
    char body[8192] = "";
    struct story_chapter_parts p;
    unsigned ids = 0;
    json_t *result;
    size_t n, prev_end = 0;

    (void)state;
    for (int i = 0; i < 20; i++)
        strcat(body, "那汉子提着朴刀在林子里走了半日，不见一个人影。");
    strcat(body, "\n");
    split_simple(body, strlen(body), 100000, &p);
    result = draft(&p, 0, &ids);
    n = json_array_size(json_object_get(result, "shots"));
    /* 460 characters, at most 96 a shot, cut at 。 (23 characters a sentence) */
    assert_true(n >= 5 && n <= 7);
    for (size_t i = 0; i < n; i++) {
        const json_t *shot = shot_at(result, i);
        double d = json_real_value(json_object_get(shot, "duration"));
        char *text = source_text(&p, &p.scenes[0], shot);
        assert_true(d <= 12.0);
        assert_true(utf8_count(text, strlen(text)) <= 96);
        /* every cut at a sentence end, pieces in order, nothing lost */
        assert_true(strlen(text) >= 3 && strcmp(text + strlen(text) - 3, "。") == 0);
        assert_true((size_t)source(shot, "start") == prev_end);
        prev_end = (size_t)source(shot, "end");
        free(text);
    }
    assert_int_equal(prev_end, 460);
    assert_string_equal(field(shot_at(result, 0), "size"), "long");
    assert_string_equal(field(shot_at(result, 1), "move"), "track");
    json_decref(result);
    arena_free(&p.arena);
}

static void test_long_speech_and_runs(void **state)
{
    char body[8192] = "宋江道：“";
    struct story_chapter_parts p;
    unsigned ids = 0;
    json_t *result;
    size_t n;

    (void)state;
    for (int i = 0; i < 10; i++)
        strcat(body, "兄弟们听我一言。");
    strcat(body, "”\n宋江道：“一。”\n宋江道：“二。”\n宋江道：“三。”\n宋江道：“四。”\n");
    split_simple(body, strlen(body), 100000, &p);
    assert_int_equal(p.n_utterances, 5);
    result = draft(&p, 0, &ids);
    n = json_array_size(json_object_get(result, "shots"));
    /* 80 characters = 20 s of speech: cut at sentence ends into pieces of
     * at most 48 characters (12 s); the second piece and the short lines of
     * the same speaker that follow join it, three lines a shot at most */
    assert_int_equal(n, 3);
    assert_int_equal(json_array_size(json_object_get(shot_at(result, 0), "dialogue")), 1);
    assert_true(json_real_value(json_object_get(shot_at(result, 0), "duration")) == 12.0);
    assert_int_equal(json_array_size(json_object_get(shot_at(result, 1), "dialogue")), 3);
    assert_int_equal(json_array_size(json_object_get(shot_at(result, 2), "dialogue")), 2);
    assert_string_equal(
        field(json_array_get(json_object_get(shot_at(result, 2), "dialogue"), 1), "text"), "四。");
    json_decref(result);
    arena_free(&p.arena);
}

static void test_monologue_and_unknown(void **state)
{
    const char *body = "宋江心想：“此事蹊跷。”\n“谁在外面？”\n门外雷声大作，马蹄声由远及近。\n";
    struct story_chapter_parts p;
    unsigned ids = 0;
    json_t *result;
    const json_t *shot, *line;

    (void)state;
    split_simple(body, strlen(body), 100000, &p);
    assert_int_equal(p.utterances[0].kind, STORY_UTT_MONOLOGUE);
    result = draft(&p, 0, &ids);
    assert_int_equal(json_array_size(json_object_get(result, "shots")), 3);
    shot = shot_at(result, 0);
    assert_string_equal(field(shot, "size"), "closeup");
    line = json_array_get(json_object_get(shot, "dialogue"), 0);
    assert_string_equal(field(line, "kind"), "monologue");
    assert_true(json_is_null(json_object_get(line, "speaker"))); /* no 道: unknown */
    assert_string_equal(field(shot, "picture"), "宋江心想");
    assert_string_equal(json_string_value(json_array_get(json_object_get(shot, "characters"), 0)),
                        "c1");
    shot = shot_at(result, 1);
    line = json_array_get(json_object_get(shot, "dialogue"), 0);
    assert_true(json_is_null(json_object_get(line, "speaker")));
    assert_string_equal(field(shot, "picture"), "");
    shot = shot_at(result, 2);
    assert_string_equal(field(shot, "sound"), "雷声、马蹄声");
    json_decref(result);
    arena_free(&p.arena);
}

/* Inconsistent parts never crash and still give a valid result. */
static void test_inconsistent_parts(void **state)
{
    const char *body = "甲乙丙丁。“戊己”庚辛。\n壬癸。\n";
    struct story_chapter_parts p;
    struct story_utterance bad[4];
    struct story_paragraph pars[2];
    struct story_scene s;
    json_t *result;

    (void)state;
    split_simple(body, strlen(body), 100000, &p);
    /* utterances out of order, past the end, inside out, empty */
    bad[0] = (struct story_utterance){ .begin = 6, .end = 8, .qbegin = 5, .qend = 9 };
    bad[1] = (struct story_utterance){ .begin = 2, .end = 3, .qbegin = 1, .qend = 4 };
    bad[2] = (struct story_utterance){ .begin = 900, .end = 1000, .qbegin = 899, .qend = 1001 };
    bad[3] = (struct story_utterance){ .begin = 8, .end = 6, .qbegin = 9, .qend = 5 };
    pars[0] = (struct story_paragraph){ 0, 12 };
    pars[1] = (struct story_paragraph){ 40, 10 };
    p.utterances = bad;
    p.n_utterances = 4;
    p.paragraphs = pars;
    p.n_paragraphs = 2;
    s = (struct story_scene){ .begin = 0,
                              .end = 500,
                              .first_paragraph = 0,
                              .n_paragraphs = 9,
                              .first_utterance = 0,
                              .n_utterances = 40 };
    p.scenes = &s;
    p.n_scenes = 1;
    result = story_draft_scene(&p, &s, NULL);
    assert_non_null(result);
    /* the scene is clamped to the body: 17 code points */
    s.end = p.body_chars;
    expect_valid(&p, &s, result);
    json_decref(result);

    /* a scene past the body, no paragraphs, no utterances: no shots */
    s = (struct story_scene){ .begin = 900, .end = 1000 };
    result = story_draft_scene(&p, &s, NULL);
    assert_non_null(result);
    assert_int_equal(json_array_size(json_object_get(result, "shots")), 0);
    json_decref(result);

    /* no paragraphs at all: the scene is walked as one */
    p.n_paragraphs = 0;
    p.n_utterances = 0;
    s = (struct story_scene){ .begin = 0, .end = p.body_chars };
    result = story_draft_scene(&p, &s, NULL);
    assert_non_null(result);
    assert_true(json_array_size(json_object_get(result, "shots")) >= 1);
    assert_string_equal(field(shot_at(result, 0), "id"), "shot-1");
    json_decref(result);
    assert_null(story_draft_scene(NULL, &s, NULL));
    assert_null(story_draft_scene(&p, NULL, NULL));
    arena_free(&p.arena);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: the box may be busy */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The whole of 水浒传: ingest, chapters, the hand-made split, then the
 * drafter on every scene, each result validated. The drafter alone must
 * take well under 0.5 s (optimised builds; a sanitizer build gets 10x).
 */
static void test_whole_novel(void **state)
{
    const char *dir = getenv("ANNOTD_STORY_NOVELS");
    char path[4096];
    FILE *f;
    struct story_text t;
    struct story_chapters ch;
    char *raw;
    long size;
    size_t scenes = 0, shots = 0;
    double drafting = 0, seconds = 0;
    unsigned ids = 0;

    (void)state;
    snprintf(path, sizeof(path), "%s/shuihuzhuan.utf8.txt",
             dir ? dir : "/work/shared/testdata/novels");
    f = fopen(path, "rb");
    if (!f) {
        print_message("skipped: %s not found\n", path);
        skip();
    }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    raw = malloc((size_t)size);
    assert_non_null(raw);
    assert_int_equal(fread(raw, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    story_text_init(&t);
    assert_int_equal(story_ingest(raw, (size_t)size, NULL, &t, NULL), 0);
    assert_int_equal(story_chapters(&t, &ch), 0);
    for (size_t c = 0; c < ch.n; c++) {
        struct story_chapter_parts p;
        const struct story_chapter *chapter = &ch.v[c];
        struct story_draft_opts o = {
            .cast = cast, .n_cast = 5, .next_id = next_id, .id_ctx = &ids
        };

        split_simple(t.text.p + chapter->byte_begin, chapter->byte_end - chapter->byte_begin, 1500,
                     &p);
        for (size_t s = 0; s < p.n_scenes; s++) {
            double t0 = now();
            json_t *result = story_draft_scene(&p, &p.scenes[s], &o);
            drafting += now() - t0;
            assert_non_null(result);
            expect_valid(&p, &p.scenes[s], result);
            const json_t *list = json_object_get(result, "shots");
            for (size_t k = 0; k < json_array_size(list); k++)
                seconds += json_real_value(json_object_get(json_array_get(list, k), "duration"));
            shots += json_array_size(list);
            scenes++;
            json_decref(result);
        }
        arena_free(&p.arena);
    }
    print_message("水浒传: %zu chapters, %zu scenes, %zu shots, %.0f min; drafting %.3f s\n", ch.n,
                  scenes, shots, seconds / 60, drafting);
    assert_true(shots > 1000);
#if defined(__SANITIZE_ADDRESS__)
    assert_true(drafting < 5.0);
#else
    assert_true(drafting < 0.5);
#endif
    story_chapters_release(&ch);
    story_text_release(&t);
    free(raw);
}

/*
 * Every chapter of the four test novels through the real splitter
 * (story_chapter_split, scenes.c/dialogue.c), every scene drafted and
 * validated against its own text.
 */
static void test_real_chapters(void **state)
{
    static const char *const files[] = {
        "shuihuzhuan.utf8.txt",
        "a-q-zhengzhuan.utf8-crlf.txt",
        "liaozhai-zhiyi.gbk.txt",
        "hongloumeng-traditional.gb18030.txt",
    };
    const char *dir = getenv("ANNOTD_STORY_NOVELS");

    (void)state;
    for (size_t n = 0; n < sizeof(files) / sizeof(files[0]); n++) {
        char path[4096];
        FILE *f;
        struct story_text t;
        struct story_chapters ch;
        char *raw;
        long size;
        size_t scenes = 0, shots = 0, lines = 0, known = 0;
        double drafting = 0;
        unsigned ids = 0;

        snprintf(path, sizeof(path), "%s/%s", dir ? dir : "/work/shared/testdata/novels", files[n]);
        f = fopen(path, "rb");
        if (!f) {
            print_message("skipped: %s not found\n", path);
            continue;
        }
        fseek(f, 0, SEEK_END);
        size = ftell(f);
        fseek(f, 0, SEEK_SET);
        raw = malloc((size_t)size);
        assert_non_null(raw);
        assert_int_equal(fread(raw, 1, (size_t)size, f), (size_t)size);
        fclose(f);
        story_text_init(&t);
        assert_int_equal(story_ingest(raw, (size_t)size, NULL, &t, NULL), 0);
        assert_int_equal(story_chapters(&t, &ch), 0);
        for (size_t c = 0; c < ch.n; c++) {
            struct story_chapter_parts p;
            struct story_draft_opts o = {
                .cast = cast, .n_cast = 5, .next_id = next_id, .id_ctx = &ids
            };

            assert_int_equal(story_chapter_split(&t, &ch.v[c], NULL, NULL, &p), 0);
            for (size_t s = 0; s < p.n_scenes; s++) {
                double t0 = now();
                json_t *result = story_draft_scene(&p, &p.scenes[s], &o);
                drafting += now() - t0;
                assert_non_null(result);
                expect_valid(&p, &p.scenes[s], result);
                const json_t *list = json_object_get(result, "shots");
                for (size_t k = 0; k < json_array_size(list); k++) {
                    const json_t *d = json_object_get(json_array_get(list, k), "dialogue");
                    for (size_t i = 0; i < json_array_size(d); i++) {
                        lines++;
                        known += json_is_string(json_object_get(json_array_get(d, i), "speaker"));
                    }
                }
                shots += json_array_size(list);
                scenes++;
                json_decref(result);
            }
            story_parts_release(&p);
        }
        print_message("%s: %zu chapters, %zu scenes, %zu shots, %zu lines (%zu cast speakers);"
                      " drafting %.3f s\n",
                      files[n], ch.n, scenes, shots, lines, known, drafting);
        assert_true(shots > 0);
        story_chapters_release(&ch);
        story_text_release(&t);
        free(raw);
    }
}

/* Image and video prompts: the shot's fields, the cast's looks, the style. */
static void test_prompts(void **state)
{
    static const struct story_cast looks[] = {
        { "宋江", "c1", "黑面矮身，青布袍" }, { "公明", "c1", NULL },
        { "李逵", "c2", "铁塔般的黑汉，赤膊" }, { "黑旋风", "c2", NULL },
        { "吴用", "c3", NULL },
    };
    struct story_chapter_parts p;
    unsigned ids = 0;
    struct story_draft_opts o = { .cast = looks, .n_cast = 5, .next_id = next_id, .id_ctx = &ids,
                                  .style = "国漫风格分镜" };
    json_t *result;
    const json_t *shots;

    (void)state;
    split_simple(SCENE1, strlen(SCENE1), 5000, &p);
    result = story_draft_scene(&p, &p.scenes[0], &o);
    assert_non_null(result);
    expect_valid(&p, &p.scenes[0], result);
    shots = json_object_get(result, "shots");
    /* the establishing shot: its picture, its sound in the video prompt */
    assert_string_equal(field(shot_at(result, 0), "image_prompt"),
                        "远景，平视。那日天色已晚，山下一片寂静，远处传来阵阵钟声。国漫风格分镜");
    assert_string_equal(field(shot_at(result, 0), "video_prompt"),
                        "远景，平视，固定镜头，时长3秒。那日天色已晚，山下一片寂静，远处传来阵阵钟声。"
                        "音效：钟声。国漫风格分镜");
    /* a line shot whose picture is only its tag: who speaks, described by the sheet */
    assert_string_equal(field(shot_at(result, 1), "image_prompt"),
                        "中景，平视。宋江（黑面矮身，青布袍）说话。国漫风格分镜");
    assert_string_equal(field(shot_at(result, 1), "video_prompt"),
                        "中景，平视，固定镜头，时长1.5秒。宋江（黑面矮身，青布袍）说话。"
                        "宋江：“兄弟们且住。”国漫风格分镜");
    /* consistency: every shot with 李逵 describes him alike */
    for (size_t i = 0; i < json_array_size(shots); i++) {
        const char *image = field(json_array_get(shots, i), "image_prompt");
        if (strstr(image, "李逵"))
            assert_non_null(strstr(image, "李逵（铁塔般的黑汉，赤膊）"));
    }
    json_decref(result);
    arena_free(&p.arena);

    /* a hand-made shot: a character on screen but not named in the picture; no style */
    json_t *shot = json_pack("{s:s,s:s,s:s,s:[s],s:f,s:[{s:s,s:s,s:s}]}", "size", "closeup", "move",
                             "push", "picture", "一只手握紧板斧。", "characters", "c2", "duration", 2.0,
                             "dialogue", "speaker", "c9", "kind", "monologue", "text", "杀！");
    struct buf image, video;
    buf_init(&image, 0);
    buf_init(&video, 0);
    assert_int_equal(story_shot_prompts(shot, looks, 5, NULL, &image, &video), 0);
    assert_string_equal(image.p, "特写，平视。一只手握紧板斧，画面中有李逵（铁塔般的黑汉，赤膊）");
    assert_string_equal(video.p, "特写，平视，推镜头，时长2秒。一只手握紧板斧，画面中有李逵（铁塔般的黑汉，"
                                 "赤膊）。画外音（内心独白）：“杀！”");
    /* nothing but a size: still a prompt */
    buf_clear(&image);
    json_t *bare = json_pack("{s:s}", "size", "long");
    assert_int_equal(story_shot_prompts(bare, NULL, 0, "动画分镜", &image, NULL), 0);
    assert_string_equal(image.p, "远景，平视。动画分镜");
    /* not a shot */
    assert_int_equal(story_shot_prompts(json_array_get(bare, 0), NULL, 0, NULL, &image, NULL), -EINVAL);
    buf_release(&image);
    buf_release(&video);
    json_decref(bare);
    json_decref(shot);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scene_rules),           cmocka_unit_test(test_second_scene),
        cmocka_unit_test(test_long_paragraph),        cmocka_unit_test(test_long_speech_and_runs),
        cmocka_unit_test(test_monologue_and_unknown), cmocka_unit_test(test_inconsistent_parts),
        cmocka_unit_test(test_whole_novel),           cmocka_unit_test(test_real_chapters),
        cmocka_unit_test(test_prompts),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
