/*
 * Unit tests for src/story chapters (chapters.c): numerals, the heading
 * recogniser, segmentation rules on small texts, and the four novels of
 * /work/shared/testdata/novels (or $ANNOTD_STORY_NOVELS) against the
 * hand-written chapter lists in tests/story-expected/ (or
 * $ANNOTD_STORY_EXPECTED). Each novel prints its detection accuracy.
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
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/utf8.h"
#include "story/story.h"
#include "story/story_int.h"

/* ---- numerals ------------------------------------------------------- */

static long num(const char *s)
{
    long v = -1;
    size_t n = story_numeral(str_from(s), &v);
    assert_int_equal(n, strlen(s));
    return v;
}

static void test_numerals(void **state)
{
    assert_int_equal(num("一"), 1);
    assert_int_equal(num("十"), 10);
    assert_int_equal(num("十一"), 11);
    assert_int_equal(num("二十"), 20);
    assert_int_equal(num("一百二十"), 120);
    assert_int_equal(num("一二零"), 120); /* digit by digit */
    assert_int_equal(num("一〇八"), 108);
    assert_int_equal(num("一百一"), 101);
    assert_int_equal(num("一百十"), 110);
    assert_int_equal(num("一百零五"), 105);
    assert_int_equal(num("一千零一"), 1001);
    assert_int_equal(num("两百"), 200);
    assert_int_equal(num("三万"), 30000);
    assert_int_equal(num("壹佰贰拾叁"), 123);
    assert_int_equal(num("01"), 1);
    assert_int_equal(num("120"), 120);
    assert_int_equal(num("０３"), 3);
    long v;
    assert_int_equal(story_numeral(str_from("如钩"), &v), 0);
    assert_int_equal(story_numeral(STR_LIT(""), &v), 0);
}

/* ---- headings ------------------------------------------------------- */

struct hcase {
    const char *line;
    enum story_heading_kind kind;
    const char *label, *title;
    long number;
    bool weak;
};

static void test_headings(void **state)
{
    const struct hcase cases[] = {
        { "第一章　序", STORY_HEADING_NUMBERED, "第一章", "序", 1, false },
        { "第九章大团圆", STORY_HEADING_NUMBERED, "第九章", "大团圆", 9, true },
        { "第01回 王教头私走延安府 九纹龙大闹史家村", STORY_HEADING_NUMBERED, "第01回",
          "王教头私走延安府 九纹龙大闹史家村", 1, false },
        { "第一百二十回", STORY_HEADING_NUMBERED, "第一百二十回", "", 120, false },
        { "第一二零章 归来", STORY_HEADING_NUMBERED, "第一二零章", "归来", 120, false },
        { "第003节：夜雨", STORY_HEADING_NUMBERED, "第003节", "夜雨", 3, false },
        { "第一部", STORY_HEADING_NUMBERED, "第一部", "", 1, false },
        { "第二卷 风起", STORY_HEADING_NUMBERED, "第二卷", "风起", 2, false },
        { "正文 第一章 开始", STORY_HEADING_NUMBERED, "第一章", "开始", 1, false },
        { "目录 第二章 继续", STORY_HEADING_NUMBERED, "第二章", "继续", 2, false },
        { "《》第三章 再来", STORY_HEADING_NUMBERED, "第三章", "再来", 3, false },
        { "卷一", STORY_HEADING_VOLUME, "卷一", "", 1, false },
        { "卷之二", STORY_HEADING_VOLUME, "卷之二", "", 2, false },
        { "卷十二 杂记", STORY_HEADING_VOLUME, "卷十二", "杂记", 12, false },
        { "楔子 张天师祈禳瘟疫 洪太尉误走妖魔", STORY_HEADING_SPECIAL, "楔子",
          "张天师祈禳瘟疫 洪太尉误走妖魔", -1, false },
        { "序", STORY_HEADING_SPECIAL, "序", "", -1, false },
        { "序章 起源", STORY_HEADING_SPECIAL, "序章", "起源", -1, false },
        { "引子", STORY_HEADING_SPECIAL, "引子", "", -1, false },
        { "番外一 旧事", STORY_HEADING_SPECIAL, "番外一", "旧事", -1, false },
        { "尾声", STORY_HEADING_SPECIAL, "尾声", "", -1, false },
        { "後記", STORY_HEADING_SPECIAL, "後記", "", -1, false },
        /* not headings */
        { "卷如钩，入木没甲。又数人力拔，乃得下。", STORY_HEADING_NONE, NULL, NULL, 0, false },
        { "第四日饭时候，鲁智深径寻到林冲家相探。", STORY_HEADING_NONE, NULL, NULL, 0, false },
        { "第四回中既將薛家母子在榮府中寄居等事略已表明，此回暫可不寫矣。", STORY_HEADING_NONE,
          NULL, NULL, 0, false },
        { "序齿而坐，众人皆笑", STORY_HEADING_NONE, NULL, NULL, 0, false },
        { "尾声未了，众人已散", STORY_HEADING_NONE, NULL, NULL, 0, false },
        { "第", STORY_HEADING_NONE, NULL, NULL, 0, false },
        { "正文", STORY_HEADING_NONE, NULL, NULL, 0, false },
        { "第三个末色的，裹结络球头帽子", STORY_HEADING_NONE, NULL, NULL, 0, false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct hcase *c = &cases[i];
        struct story_heading h;
        memset(&h, 0, sizeof(h));
        enum story_heading_kind k = story_heading_parse(str_from(c->line), &h);
        if (k != c->kind)
            fail_msg("'%s': kind %d, want %d", c->line, k, c->kind);
        if (k == STORY_HEADING_NONE)
            continue;
        if (!str_eq_cstr(h.label, c->label) || !str_eq_cstr(h.title, c->title))
            fail_msg("'%s': label '%.*s' title '%.*s'", c->line, (int)h.label.len, h.label.p,
                     (int)h.title.len, h.title.p);
        assert_int_equal(h.number, c->number);
        assert_int_equal(h.weak, c->weak);
    }
}

/* ---- segmentation ---------------------------------------------------- */

static void chapters_of(const char *text, struct story_chapters *c)
{
    struct story_text t;
    story_text_init(&t);
    assert_int_equal(buf_adds(&t.text, text), 0);
    assert_int_equal(story_chapters(&t, c), 0);
    /* ranges: ordered, inside the text, code points and bytes agree */
    size_t prev_end = 0;
    for (size_t i = 0; i < c->n; i++) {
        const struct story_chapter *ch = &c->v[i];
        assert_int_equal(ch->index, i + 1);
        assert_true(ch->byte_begin <= ch->byte_end && ch->byte_end <= t.text.len);
        assert_true(ch->begin >= prev_end || i == 0);
        assert_int_equal(utf8_count(t.text.p, ch->byte_begin), ch->begin);
        assert_int_equal(utf8_count(t.text.p + ch->byte_begin, ch->byte_end - ch->byte_begin),
                         ch->end - ch->begin);
        prev_end = ch->end;
    }
    story_text_release(&t);
}

static const char *body(const char *text, const struct story_chapter *ch, char *out, size_t cap)
{
    size_t n = ch->byte_end - ch->byte_begin;
    assert_true(n < cap);
    memcpy(out, text + ch->byte_begin, n);
    out[n] = '\0';
    return out;
}

static void test_segment_front_matter(void **state)
{
    const char *text = "目录\n《测试记》\n作者：某人\n内容简介：一个故事。\n\n"
                       "序\n很久以前。\n"
                       "正文 第一章 开始\n他来了。\n\n她也来了。\n"
                       "第二章\n重逢\n他们见面了。\n"
                       "第三章大结局\n完。\n";
    struct story_chapters c;
    char b[256];
    chapters_of(text, &c);
    assert_string_equal(c.title, "测试记");
    assert_int_equal(c.n, 4);
    assert_false(c.fallback);
    assert_string_equal(c.v[0].title, "序");
    assert_int_equal(c.v[0].kind, STORY_CHAPTER_SPECIAL);
    assert_string_equal(body(text, &c.v[0], b, sizeof(b)), "很久以前。");
    assert_string_equal(c.v[1].title, "第一章 开始");
    assert_string_equal(body(text, &c.v[1], b, sizeof(b)), "他来了。\n\n她也来了。");
    assert_string_equal(c.v[2].title, "第二章 重逢"); /* title on the next line */
    assert_string_equal(body(text, &c.v[2], b, sizeof(b)), "他们见面了。");
    assert_string_equal(c.v[3].title, "第三章 大结局");
    assert_int_equal(c.v[3].number, 3);
    assert_null(c.v[3].volume);
    story_chapters_release(&c);
}

static void test_segment_volumes(void **state)
{
    const char *text = "第一部 上\n第一章 甲\n甲文。\n第二章 乙\n乙文。\n"
                       "第二部 下\n前言不算。\n第一章 丙\n丙文。\n第二章丁\n丁文。\n";
    struct story_chapters c;
    chapters_of(text, &c);
    assert_int_equal(c.n, 4);
    assert_string_equal(c.v[0].volume, "第一部 上");
    assert_string_equal(c.v[2].title, "第一章 丙");
    assert_string_equal(c.v[2].volume, "第二部 下");
    assert_string_equal(c.v[3].title, "第二章 丁"); /* weak, but continues the sequence */
    story_chapters_release(&c);
}

static void test_segment_weak_out_of_sequence(void **state)
{
    const char *text =
        "第一章 甲\n甲文。\n第二章 乙\n乙文，\n第五章节目很长\n乙文续。\n第三章 丙\n丙文。\n";
    struct story_chapters c;
    chapters_of(text, &c);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.v[2].title, "第三章 丙");
    story_chapters_release(&c);
}

static void test_segment_juan_stories(void **state)
{
    const char *text = "《聊斋志异》\n\n卷一\n\n考城隍\n\n予姊丈之祖，宋公讳焘。\n"
                       "卷如钩，入木没甲。\n\n耳中人\n\n谭晋玄，邑诸生也。\n\n"
                       "卷二\n\n金世成\n\n金世成，长山人。\n";
    struct story_chapters c;
    char b[256];
    chapters_of(text, &c);
    assert_string_equal(c.title, "聊斋志异");
    assert_int_equal(c.n, 3);
    assert_string_equal(c.v[0].title, "考城隍");
    assert_string_equal(c.v[0].volume, "卷一");
    assert_int_equal(c.v[0].kind, STORY_CHAPTER_STORY);
    assert_string_equal(body(text, &c.v[0], b, sizeof(b)),
                        "予姊丈之祖，宋公讳焘。\n卷如钩，入木没甲。");
    assert_string_equal(c.v[1].title, "耳中人");
    assert_string_equal(c.v[2].title, "金世成");
    assert_string_equal(c.v[2].volume, "卷二");
    story_chapters_release(&c);
}

static void test_segment_fallback_and_toc(void **state)
{
    const char *text = "《短篇》\n他来了。\n她走了。\n";
    struct story_chapters c;
    char b[256];
    chapters_of(text, &c);
    assert_true(c.fallback);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.v[0].kind, STORY_CHAPTER_WHOLE);
    assert_string_equal(c.v[0].title, "短篇");
    assert_string_equal(body(text, &c.v[0], b, sizeof(b)), "他来了。\n她走了。");
    story_chapters_release(&c);

    const char *toc =
        "目录\n第一章 甲\n第二章 乙\n第三章 丙\n\n第一章 甲\n甲文。\n第二章 乙\n乙文。\n"
        "第三章 丙\n丙文。\n";
    chapters_of(toc, &c);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.toc_dropped, 3);
    assert_string_equal(body(toc, &c.v[0], b, sizeof(b)), "甲文。");
    story_chapters_release(&c);

    /* fuzz regression: a lone title line without "\n" left an empty body past the end */
    chapters_of("章节目录", &c);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.v[0].begin, 4);
    assert_int_equal(c.v[0].byte_begin, strlen("章节目录"));
    story_chapters_release(&c);

    struct story_text t;
    story_text_init(&t);
    assert_int_equal(story_chapters(&t, &c), -ENODATA);
    story_text_release(&t);
    story_chapters_release(NULL);
}

/* ---- the four novels against tests/story-expected/ ------------------- */

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

static json_t *expected(const char *name)
{
    char path[4096], src[1024];
    const char *dir = getenv("ANNOTD_STORY_EXPECTED");
    if (dir) {
        snprintf(path, sizeof(path), "%s/%s", dir, name);
    } else {
        /* __FILE__ is relative to the build dir, which is two levels above this test */
        snprintf(src, sizeof(src), "%s", __FILE__);
        snprintf(path, sizeof(path), "%s/../story-expected/%s", dirname(src), name);
        char exe[1024];
        if (strlen(name) > 256)
            fail();
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (access(path, R_OK) != 0 && src[0] != '/' && n > 0) {
            exe[n] = '\0';
            char *build = dirname(dirname(dirname(exe)));
            snprintf(path, sizeof(path), "%s/%s/../story-expected/%s", build, src, name);
        }
    }
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (!j)
        fail_msg("cannot load '%s': %s", path, e.text);
    return j;
}

static bool same_opt(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static void check_novel(const char *json_name, const struct story_ingest_opts *o)
{
    json_t *j = expected(json_name);
    const char *dir = getenv("ANNOTD_STORY_NOVELS");
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "/work/shared/testdata/novels",
             json_string_value(json_object_get(j, "file")));
    size_t n = 0;
    char *p = slurp(path, &n);
    if (!p) {
        json_decref(j);
        skip();
    }
    struct story_text t;
    struct story_error err;
    struct story_chapters c;
    if (story_ingest(p, n, o, &t, &err) < 0)
        fail_msg("%s: %s", path, err.message);
    assert_string_equal(t.encoding, json_string_value(json_object_get(j, "encoding")));
    assert_int_equal(story_chapters(&t, &c), 0);
    assert_true(same_opt(c.title, json_string_value(json_object_get(j, "title"))));

    json_t *strip = json_object_get(j, "stripped");
    assert_int_equal(t.n_stripped, json_array_size(strip));
    for (size_t i = 0; i < t.n_stripped; i++) {
        json_t *s = json_array_get(strip, i);
        assert_int_equal(t.stripped[i].line, json_integer_value(json_object_get(s, "line")));
        assert_int_equal(t.stripped[i].whole_line, json_is_true(json_object_get(s, "whole_line")));
    }

    /* accuracy: expected chapters found in order (title and volume) */
    json_t *want = json_object_get(j, "chapters");
    size_t nw = json_array_size(want), hit = 0, k = 0;
    for (size_t i = 0; i < nw; i++) {
        json_t *w = json_array_get(want, i);
        const char *title = json_string_value(json_object_get(w, "title"));
        const char *volume = json_string_value(json_object_get(w, "volume"));
        for (size_t m = k; m < c.n; m++) {
            if (strcmp(c.v[m].title, title) == 0 && same_opt(c.v[m].volume, volume)) {
                hit++;
                k = m + 1;
                break;
            }
        }
    }
    print_message(
        "%-40s expected %3zu detected %3zu matched %3zu  recall %.1f%%  precision %.1f%%\n",
        json_name, nw, c.n, hit, 100.0 * (double)hit / (double)nw,
        c.n ? 100.0 * (double)hit / (double)c.n : 0.0);
    for (size_t i = 0; i < c.n && i < nw; i++) {
        json_t *w = json_array_get(want, i);
        if (strcmp(c.v[i].title, json_string_value(json_object_get(w, "title"))) != 0)
            print_message("  #%zu got '%s' want '%s'\n", i + 1, c.v[i].title,
                          json_string_value(json_object_get(w, "title")));
    }
    assert_int_equal(hit, nw);
    assert_int_equal(c.n, nw);

    /* bodies: non-empty, ordered, offsets consistent */
    for (size_t i = 0; i < c.n; i++) {
        const struct story_chapter *ch = &c.v[i];
        assert_true(ch->end > ch->begin);
        if (i > 0)
            assert_true(ch->begin > c.v[i - 1].end);
        assert_int_equal(utf8_count(t.text.p + ch->byte_begin, ch->byte_end - ch->byte_begin),
                         ch->end - ch->begin);
    }
    story_chapters_release(&c);
    story_text_release(&t);
    free(p);
    json_decref(j);
}

static void test_novel_shuihuzhuan(void **state)
{
    check_novel("shuihuzhuan.json", NULL);
}

static void test_novel_a_q(void **state)
{
    check_novel("a-q-zhengzhuan.json", NULL);
}

static void test_novel_liaozhai(void **state)
{
    check_novel("liaozhai-zhiyi.json", NULL);
    /* without re-flow the trap line 卷如钩 starts a line of its own: still body */
    struct story_ingest_opts o = { .reflow = STORY_REFLOW_OFF };
    check_novel("liaozhai-zhiyi.json", &o);
}

static void test_novel_hongloumeng(void **state)
{
    check_novel("hongloumeng.json", NULL);
    /* without re-flow the trap line 第四回中既將… is a line of its own */
    struct story_ingest_opts o = { .reflow = STORY_REFLOW_OFF };
    check_novel("hongloumeng.json", &o);
}

static void test_novel_hongloumeng_t2s(void **state)
{
    const char *dir = getenv("ANNOTD_STORY_NOVELS");
    char path[1024];
    snprintf(path, sizeof(path), "%s/hongloumeng-traditional.gb18030.txt",
             dir ? dir : "/work/shared/testdata/novels");
    size_t n = 0;
    char *p = slurp(path, &n);
    if (!p)
        skip();
    struct story_text t;
    struct story_error err;
    struct story_chapters c;
    struct story_ingest_opts o = { .t2s = true };
    int r = story_ingest(p, n, &o, &t, &err);
    free(p);
    if (r == -ENOENT)
        skip();
    assert_int_equal(r, 0);
    assert_int_equal(story_chapters(&t, &c), 0);
    assert_int_equal(c.n, 120);
    assert_string_equal(c.title, "红楼梦");
    assert_string_equal(c.v[0].title, "第一回 甄士隐梦幻识通灵贾雨村风尘怀闺秀");
    assert_string_equal(c.v[119].volume, "第三部");
    story_chapters_release(&c);
    story_text_release(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numerals),
        cmocka_unit_test(test_headings),
        cmocka_unit_test(test_segment_front_matter),
        cmocka_unit_test(test_segment_volumes),
        cmocka_unit_test(test_segment_weak_out_of_sequence),
        cmocka_unit_test(test_segment_juan_stories),
        cmocka_unit_test(test_segment_fallback_and_toc),
        cmocka_unit_test(test_novel_shuihuzhuan),
        cmocka_unit_test(test_novel_a_q),
        cmocka_unit_test(test_novel_liaozhai),
        cmocka_unit_test(test_novel_hongloumeng),
        cmocka_unit_test(test_novel_hongloumeng_t2s),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
