/*
 * Unit tests for src/story scenes (scenes.c): paragraphs, scene breaks
 * (separators, time and place shifts), the length rules, offsets, and the
 * invariants on every chapter of the four novels of
 * /work/shared/testdata/novels (or $ANNOTD_STORY_NOVELS), with the time
 * the whole 水浒传 takes (printed; bench/README.md quotes it).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/utf8.h"
#include "story/story.h"

/* ---- invariants ------------------------------------------------------------ */

static void check_parts(const struct story_chapter_parts *p)
{
    assert_int_equal(utf8_count(p->body, p->body_bytes), p->body_chars);
    if (p->body_chars == 0)
        assert_int_equal(p->n_scenes, 0);
    else
        assert_true(p->n_scenes >= 1);
    size_t at = 0, par = 0, utt = 0;
    for (size_t k = 0; k < p->n_scenes; k++) {
        const struct story_scene *s = &p->scenes[k];
        assert_int_equal(s->index, k);
        assert_int_equal(s->begin, at);
        assert_true(s->end > s->begin);
        assert_int_equal(s->first_paragraph, par);
        assert_int_equal(s->first_utterance, utt);
        for (size_t i = 0; i < s->n_paragraphs; i++) {
            const struct story_paragraph *g = &p->paragraphs[par + i];
            assert_true(g->begin >= s->begin && g->end <= s->end && g->begin < g->end);
        }
        for (size_t i = 0; i < s->n_utterances; i++) {
            const struct story_utterance *u = &p->utterances[utt + i];
            assert_true(u->qbegin >= s->begin && u->qend <= s->end);
            assert_true(u->qbegin <= u->begin && u->begin <= u->end && u->end <= u->qend);
            assert_int_equal(u->scene, k);
            assert_true(u->paragraph < p->n_paragraphs);
            assert_true(u->qbegin >= p->paragraphs[u->paragraph].begin);
            assert_true(u->qend <= p->paragraphs[u->paragraph].end);
            assert_true(u->confidence >= 0.0 && u->confidence <= 1.0);
            assert_non_null(u->rule);
            if (utt + i > 0)
                assert_true(u->qbegin >= p->utterances[utt + i - 1].qend);
        }
        par += s->n_paragraphs;
        utt += s->n_utterances;
        at = s->end;
    }
    assert_int_equal(at, p->body_chars);
    assert_int_equal(par, p->n_paragraphs);
    assert_int_equal(utt, p->n_utterances);
}

static void split(const char *body, const struct story_scene_opts *o, struct story_chapter_parts *p)
{
    assert_int_equal(story_body_split(body, strlen(body), o, NULL, p), 0);
    check_parts(p);
}

/* The first characters of scene k, to compare with a literal prefix. */
static bool scene_starts(const struct story_chapter_parts *p, size_t k, const char *prefix)
{
    long b = utf8_offset(p->body, p->body_bytes, p->scenes[k].begin);
    return b >= 0 && strncmp(p->body + b, prefix, strlen(prefix)) == 0;
}

/* small scenes allowed so that each rule shows */
static const struct story_scene_opts tiny = { .max_scene_chars = 1000, .min_scene_chars = 1 };

/* ---- rules -------------------------------------------------------------------- */

static void test_paragraphs(void **state)
{
    struct story_chapter_parts p;
    split("甲说了话。\n\n乙走了。\n***\n丙来了。", &tiny, &p);
    assert_int_equal(p.n_paragraphs, 3); /* blank and separator lines are not paragraphs */
    assert_int_equal(p.paragraphs[0].begin, 0);
    assert_int_equal(p.paragraphs[0].end, 5);
    assert_int_equal(p.paragraphs[1].begin, 7);
    assert_int_equal(p.body_chars, utf8_count(p.body, p.body_bytes));
    story_parts_release(&p);
}

static void test_separators(void **state)
{
    static const char *const seps[] = { "***", "＊＊＊", "——",     "……",    "◇◇◇", "☆",
                                        "一",  "二",     "（三）", "* * *", "~~~", "12" };
    for (size_t i = 0; i < sizeof(seps) / sizeof(seps[0]); i++) {
        char body[256];
        snprintf(body, sizeof(body), "他来了。\n%s\n她走了。\n", seps[i]);
        struct story_chapter_parts p;
        split(body, &tiny, &p);
        assert_int_equal(p.n_scenes, 2);
        assert_int_equal(p.scenes[1].cause, STORY_BREAK_SEPARATOR);
        assert_true(scene_starts(&p, 1, seps[i])); /* the separator opens the new scene */
        assert_int_equal(p.scenes[1].n_paragraphs, 1);
        story_parts_release(&p);
    }
    /* not separators: a sentence, a numeral followed by text */
    struct story_chapter_parts p;
    split("他来了。\n一个人走了。\n三五成群。\n", &tiny, &p);
    assert_int_equal(p.n_scenes, 1);
    story_parts_release(&p);
}

static void test_time_and_place(void **state)
{
    struct story_chapter_parts p;
    split("宋江吃了酒。\n次日，宋江起来。\n当晚无事。\n三日后，林冲到了。\n过了几日，又来。\n"
          "却说武松在阳谷县。\n与此同时，李逵下山。\n话分两头。\n话说鲁智深。\n",
          &tiny, &p);
    static const enum story_scene_break want[] = {
        STORY_BREAK_START, STORY_BREAK_TIME,  STORY_BREAK_TIME,
        STORY_BREAK_TIME,  STORY_BREAK_TIME,  STORY_BREAK_PLACE,
        STORY_BREAK_PLACE, STORY_BREAK_PLACE, STORY_BREAK_PLACE,
    };
    assert_int_equal(p.n_scenes, sizeof(want) / sizeof(want[0]));
    for (size_t k = 0; k < p.n_scenes; k++)
        assert_int_equal(p.scenes[k].cause, want[k]);
    assert_true(scene_starts(&p, 1, "次日"));
    story_parts_release(&p);

    /* a shift mid-paragraph is no break; 话说 opening the chapter is no break */
    split("话说天下大势。他次日便走了，却说不出话。\n", &tiny, &p);
    assert_int_equal(p.n_scenes, 1);
    assert_int_equal(p.scenes[0].cause, STORY_BREAK_START);
    story_parts_release(&p);
}

static void test_min_merge(void **state)
{
    struct story_chapter_parts p;
    struct story_scene_opts o = { .max_scene_chars = 1000, .min_scene_chars = 10 };
    /* 次日 scene of 5 characters joins the one before */
    split("宋江吃了酒，睡了一夜好觉。\n次日走了。\n却说林冲在草料场看守了许多日子。\n", &o, &p);
    assert_int_equal(p.n_scenes, 2);
    assert_int_equal(p.scenes[1].cause, STORY_BREAK_PLACE);
    story_parts_release(&p);
    /* a short first scene joins the next */
    split("短。\n次日，宋江吃了酒，睡了一夜好觉。\n", &o, &p);
    assert_int_equal(p.n_scenes, 1);
    assert_int_equal(p.scenes[0].cause, STORY_BREAK_START);
    story_parts_release(&p);
}

static void test_long_scene_cut(void **state)
{
    struct story_scene_opts o = { .max_scene_chars = 100, .min_scene_chars = 20 };
    char *body = malloc(64 * 1024);
    assert_non_null(body);
    body[0] = '\0';
    for (int i = 0; i < 40; i++) /* 40 paragraphs of 30 characters */
        strcat(body, "他走在路上看见山水很好便停下来歇了一会又接着往前走去直到天黑。\n");
    struct story_chapter_parts p;
    split(body, &o, &p);
    assert_true(p.n_scenes >= 12);
    for (size_t k = 0; k < p.n_scenes; k++) {
        assert_true(p.scenes[k].end - p.scenes[k].begin <= 100 + 4);
        if (k > 0)
            assert_int_equal(p.scenes[k].cause, STORY_BREAK_LENGTH);
    }
    story_parts_release(&p);

    /* one paragraph longer than the maximum stays whole */
    body[0] = '\0';
    for (int i = 0; i < 10; i++)
        strcat(body, "他走在路上看见山水很好便停下来歇了一会又接着往前走去直到天黑，");
    split(body, &o, &p);
    assert_int_equal(p.n_scenes, 1);
    story_parts_release(&p);
    free(body);
}

static void test_edges(void **state)
{
    struct story_chapter_parts p;
    split("", NULL, &p);
    assert_int_equal(p.n_scenes, 0);
    assert_int_equal(p.body_chars, 0);
    story_parts_release(&p);
    split("\n\n\n", NULL, &p);
    assert_int_equal(p.n_scenes, 1);
    assert_int_equal(p.n_paragraphs, 0);
    story_parts_release(&p);
    split("“只有一句话。”", NULL, &p);
    assert_int_equal(p.n_scenes, 1);
    assert_int_equal(p.n_utterances, 1);
    story_parts_release(&p);
    split("***\n***\n", NULL, &p);
    assert_int_equal(p.n_scenes, 1);
    story_parts_release(&p);

    /* invalid UTF-8 is refused, *ret untouched */
    memset(&p, 0x5a, sizeof(p));
    assert_int_equal(story_body_split("\xff\xfe", 2, NULL, NULL, &p), -EILSEQ);
    assert_int_equal(p.n_scenes, 0x5a5a5a5a5a5a5a5aULL);
    story_parts_release(NULL);

    /* story_chapter_split: a chapter's byte range of a text */
    struct story_text t;
    story_text_init(&t);
    buf_adds(&t.text, "第一回 甲\n宋江道：“好。”\n次日，宋江走了很远很远的路。\n");
    struct story_chapters c;
    assert_int_equal(story_chapters(&t, &c), 0);
    assert_int_equal(story_chapter_split(&t, &c.v[0], NULL, NULL, &p), 0);
    check_parts(&p);
    assert_int_equal(p.n_utterances, 1);
    assert_string_equal(p.utterances[0].speaker, "宋江");
    story_parts_release(&p);
    story_chapters_release(&c);
    story_text_release(&t);
}

/* ---- the four novels --------------------------------------------------------- */

static char *slurp(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    p[n] = '\0';
    fclose(f);
    *ret_len = (size_t)n;
    return p;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void novel(const char *file, bool t2s)
{
    const char *dir = getenv("ANNOTD_STORY_NOVELS");
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "/work/shared/testdata/novels", file);
    size_t n = 0;
    char *raw = slurp(path, &n);
    if (!raw)
        skip();
    struct story_ingest_opts o = { .t2s = t2s };
    struct story_text t;
    struct story_error err;
    int r = story_ingest(raw, n, &o, &t, &err);
    free(raw);
    if (r == -ENOENT && t2s)
        skip();
    assert_int_equal(r, 0);
    struct story_chapters c;
    assert_int_equal(story_chapters(&t, &c), 0);

    size_t scenes = 0, utterances = 0, low = 0, causes[5] = { 0 };
    double t0 = now();
    for (size_t i = 0; i < c.n; i++) {
        struct story_chapter_parts p;
        assert_int_equal(story_chapter_split(&t, &c.v[i], NULL, NULL, &p), 0);
        scenes += p.n_scenes;
        utterances += p.n_utterances;
        for (size_t k = 0; k < p.n_scenes; k++)
            causes[p.scenes[k].cause]++;
        for (size_t k = 0; k < p.n_utterances; k++)
            low += p.utterances[k].confidence < 0.5;
        story_parts_release(&p);
    }
    double dt = now() - t0;
    /* invariants, outside the timing */
    for (size_t i = 0; i < c.n; i++) {
        struct story_chapter_parts p;
        assert_int_equal(story_chapter_split(&t, &c.v[i], NULL, NULL, &p), 0);
        check_parts(&p);
        story_parts_release(&p);
    }
    print_message(
        "%-38s %7zu bytes %3zu chapters %5zu scenes (sep %zu time %zu place %zu length %zu) "
        "%6zu utterances (%zu below 0.5)  split %.3f s\n",
        file, t.text.len, c.n, scenes, causes[STORY_BREAK_SEPARATOR], causes[STORY_BREAK_TIME],
        causes[STORY_BREAK_PLACE], causes[STORY_BREAK_LENGTH], utterances, low, dt);
    assert_true(scenes >= c.n);
#ifndef __SANITIZE_ADDRESS__
    if (strcmp(file, "shuihuzhuan.utf8.txt") == 0)
        assert_true(dt < 0.5);
#endif
    story_chapters_release(&c);
    story_text_release(&t);
}

static void test_novels(void **state)
{
    novel("shuihuzhuan.utf8.txt", false);
    novel("a-q-zhengzhuan.utf8-crlf.txt", false);
    novel("liaozhai-zhiyi.gbk.txt", false);
    novel("hongloumeng-traditional.gb18030.txt", true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paragraphs),     cmocka_unit_test(test_separators),
        cmocka_unit_test(test_time_and_place), cmocka_unit_test(test_min_merge),
        cmocka_unit_test(test_long_scene_cut), cmocka_unit_test(test_edges),
        cmocka_unit_test(test_novels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
