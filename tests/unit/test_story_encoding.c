/*
 * Unit tests for src/story ingest (encoding.c): encoding detection and
 * strict conversion, bad input, normalisation, site header/footer
 * stripping, re-flow of hard-wrapped text, traditional -> simplified.
 *
 * Encoded samples are made at run time with ICU (ucnv_convert) from UTF-8
 * literals, so the tests read as text. The four novels of
 * /work/shared/testdata/novels (or $ANNOTD_STORY_NOVELS) are ingested too;
 * their chapter lists are checked in test_story_chapters.c.
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
#include <unicode/ucnv.h>

#include "core/utf8.h"
#include "story/story.h"
#include "story/story_int.h"

/* ---- helpers -------------------------------------------------------- */

/* Convert a UTF-8 literal to `charset` (ICU); caller frees. */
static char *encode(const char *charset, const char *utf8, size_t *ret_len)
{
    UErrorCode e = U_ZERO_ERROR;
    size_t cap = strlen(utf8) * 4 + 16;
    char *out = malloc(cap);
    assert_non_null(out);
    int32_t n = ucnv_convert(charset, "UTF-8", out, (int32_t)cap, utf8, (int32_t)strlen(utf8), &e);
    assert_true(U_SUCCESS(e));
    *ret_len = (size_t)n;
    return out;
}

static int ingest(const char *p, size_t len, struct story_text *t, struct story_error *err)
{
    return story_ingest(p, len, NULL, t, err);
}

static char *slurp(const char *name, size_t *ret_len)
{
    const char *dir = getenv("ANNOTD_STORY_NOVELS");
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "/work/shared/testdata/novels", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *ret_len = (size_t)n;
    return p;
}

/* A few hundred characters of traditional Chinese prose (紅樓夢 第一回). */
static const char trad[] =
    "第一回\n甄士隱夢幻識通靈賈雨村風塵懷閨秀\n"
    "此開卷第一回也。作者自雲：因曾曆過一番夢幻之後，故將真事隱去，而借通靈之說，撰此石頭記一書也。"
    "故曰甄士隱云云。但書中所記何事何人？自又雲：今風塵碌碌，一事無成，忽念及當日所有之女子，"
    "一一細考較去，覺其行止見識，皆出於我之上。何我堂堂鬚眉，誠不若彼裙釵哉？實愧則有餘，"
    "悔又無益之大無可如何之日也！當此，則自欲將已往所賴天恩祖德，錦衣紈褲之時，飫甘饜肥之日，"
    "背父兄教育之恩，負師友規談之德，以至今日一技無成，半生潦倒之罪，編述一集，以告天下人。\n";

static const char simp[] =
    "第一章 风起\n话说天下大势，分久必合，合久必分。周末七国分争，并入于秦。及秦灭之后，楚、汉分争，"
    "又并入于汉。汉朝自高祖斩白蛇而起义，一统天下，后来光武中兴，传至献帝，遂分为三国。"
    "推其致乱之由，殆始于桓、灵二帝。桓帝禁锢善类，崇信宦官。及桓帝崩，灵帝即位，"
    "大将军窦武、太傅陈蕃共相辅佐。时有宦官曹节等弄权，窦武、陈蕃谋诛之，机事不密，反为所害，"
    "中涓自此愈横。\n第二章 云涌\n建宁二年四月望日，帝御温德殿。方升座，殿角狂风骤起。\n";

/* ---- encodings ------------------------------------------------------ */

static void test_utf8_plain_and_bom(void **state)
{
    struct story_text t;
    struct story_error err;
    assert_int_equal(ingest(simp, strlen(simp), &t, &err), 0);
    assert_string_equal(t.encoding, "UTF-8");
    assert_false(t.bom);
    assert_true(utf8_valid(t.text.p, t.text.len));
    assert_true(strncmp(t.text.p, "第一章 风起\n", strlen("第一章 风起\n")) == 0);
    story_text_release(&t);

    char with_bom[sizeof(simp) + 3] = "\xEF\xBB\xBF";
    memcpy(with_bom + 3, simp, sizeof(simp));
    assert_int_equal(ingest(with_bom, strlen(with_bom), &t, &err), 0);
    assert_string_equal(t.encoding, "UTF-8");
    assert_true(t.bom);
    assert_true(strncmp(t.text.p, "第一章", strlen("第一章")) == 0); /* BOM gone */
    story_text_release(&t);
}

static void test_utf16_bom(void **state)
{
    const char *names[] = { "UTF-16LE", "UTF-16BE" };
    for (int i = 0; i < 2; i++) {
        size_t n = 0;
        char *body = encode(names[i], simp, &n);
        char *p = malloc(n + 2);
        memcpy(p, i == 0 ? "\xFF\xFE" : "\xFE\xFF", 2);
        memcpy(p + 2, body, n);
        struct story_text t;
        struct story_error err;
        assert_int_equal(ingest(p, n + 2, &t, &err), 0);
        assert_string_equal(t.encoding, names[i]);
        assert_true(t.bom);
        assert_string_equal(t.text.p, simp);
        story_text_release(&t);

        /* without the BOM: out of scope, and the error names the guess */
        assert_int_equal(ingest(body, n, &t, &err), -EILSEQ);
        assert_int_equal(err.kind, STORY_ERR_UNSUPPORTED);
        assert_true(strncmp(err.guess, "UTF-16", 6) == 0);
        assert_non_null(strstr(err.message, "UTF-16"));
        free(body);
        free(p);
    }
}

static void test_gb18030(void **state)
{
    size_t n = 0;
    char *p = encode("GB18030", simp, &n);
    struct story_text t;
    struct story_error err;
    assert_int_equal(ingest(p, n, &t, &err), 0);
    assert_string_equal(t.encoding, "GB18030");
    assert_string_equal(t.text.p, simp);
    story_text_release(&t);
    free(p);

    /* characters outside GBK (4-byte GB18030 and 0xFE72 = U+4337) decode */
    const char *wide =
        "第一回 翠幄青䌷車\n此開卷第一回也。作者自雲：€ 因曾曆過一番夢幻之後，故將真事隱去。"
        "而借通靈之說，撰此石頭記一書也。故曰甄士隱云云。但書中所記何事何人？𠀀\n";
    p = encode("GB18030", wide, &n);
    assert_non_null(memmem(p, n, "\xFE\x72", 2));
    assert_int_equal(ingest(p, n, &t, &err), 0);
    assert_string_equal(t.encoding, "GB18030");
    assert_string_equal(t.text.p, wide);
    story_text_release(&t);
    free(p);
}

static void test_gb18030_invalid_bytes(void **state)
{
    size_t n = 0;
    char *p = encode("GB18030", simp, &n);
    /* a lead byte followed by an invalid trail byte in the middle */
    size_t at = n / 2;
    while (((unsigned char)p[at] & 0x80) == 0)
        at++;
    p[at + 1] = 0x7F;
    p[at] = (char)0x81;
    struct story_text t;
    struct story_error err;
    int r = ingest(p, n, &t, &err);
    assert_int_equal(r, -EILSEQ);
    assert_int_equal(err.kind, STORY_ERR_INVALID);
    assert_string_equal(err.guess, "GB18030");
    assert_true(err.offset >= at && err.offset <= at + 2);
    free(p);
}

static void test_big5(void **state)
{
    size_t n = 0;
    char *p = encode("Big5", trad, &n);
    struct story_text t;
    struct story_error err;
    int r = ingest(p, n, &t, &err);
    if (r < 0)
        fail_msg("big5: %s", err.message);
    assert_string_equal(t.encoding, "Big5");
    assert_non_null(strstr(t.text.p, "甄士隱夢幻識通靈"));
    story_text_release(&t);
    free(p);
}

static void test_out_of_scope(void **state)
{
    struct {
        const char *charset, *text, *guess_prefix;
    } cases[] = {
        { "Shift_JIS",
          "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。何でも薄暗いじめじめした所で"
          "ニャーニャー泣いていた事だけは記憶している。吾輩はここで始めて人間というものを見た。"
          "しかもあとで聞くとそれは書生という人間中で一番獰悪な種族であったそうだ。",
          "Shift_JIS" },
        { "EUC-KR",
          "나는 고양이로소이다. 이름은 아직 없다. 어디서 태어났는지 도무지 짐작이 가지 않는다. "
          "어쨌든 어두컴컴하고 축축한 곳에서 야옹야옹 울고 있었던 것만은 기억한다. 나는 여기서 처음으로 "
          "인간이라는 것을 보았다. 게다가 나중에 들으니 그것은 서생이라는 인간 중에서 가장 사나운 종족이었다고 한다.",
          "EUC-KR" },
        { "ISO-8859-1",
          "Il était une fois une marquise très âgée qui habitait un château près de Besançon. "
          "Elle aimait les crêpes, le café et les soirées d'été où l'on chantait à la fenêtre. "
          "Son neveu, garçon naïf, rêvait de voyages lointains et de forêts éloignées.",
          "ISO-8859" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = 0;
        char *p = encode(cases[i].charset, cases[i].text, &n);
        struct story_text t;
        struct story_error err;
        assert_int_equal(ingest(p, n, &t, &err), -EILSEQ);
        assert_int_equal(err.kind, STORY_ERR_UNSUPPORTED);
        if (strncmp(err.guess, cases[i].guess_prefix, strlen(cases[i].guess_prefix)) != 0)
            fail_msg("%s: guessed '%s' (%s)", cases[i].charset, err.guess, err.message);
        assert_non_null(strstr(err.message, err.guess));
        free(p);
    }
}

/* ---- bad input ------------------------------------------------------ */

static void test_empty_and_blank(void **state)
{
    struct story_text t;
    struct story_error err;
    assert_int_equal(ingest("", 0, &t, &err), -ENODATA);
    assert_int_equal(err.kind, STORY_ERR_EMPTY);
    const char *blank = " \r\n\t\n\xE3\x80\x80\n\n";
    assert_int_equal(ingest(blank, strlen(blank), &t, &err), -ENODATA);
    assert_int_equal(err.kind, STORY_ERR_EMPTY);
    const char *bom_only = "\xEF\xBB\xBF";
    assert_int_equal(ingest(bom_only, 3, &t, &err), -ENODATA);
}

static void test_binary(void **state)
{
    struct story_text t;
    struct story_error err;
    static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    assert_int_equal(ingest(png, sizeof(png) - 1, &t, &err), -EMEDIUMTYPE);
    assert_int_equal(err.kind, STORY_ERR_BINARY);
    assert_string_equal(err.guess, "PNG");

    unsigned char noise[4096];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(noise); i++) {
        x = x * 1103515245 + 12345;
        noise[i] = (unsigned char)(x >> 16);
    }
    noise[100] = 0;
    int r = ingest((const char *)noise, sizeof(noise), &t, &err);
    assert_true(r == -EMEDIUMTYPE || r == -EILSEQ);
    assert_true(err.message[0] != '\0');

    /* valid UTF-8, but mostly control characters */
    char ctl[400];
    for (size_t i = 0; i < sizeof(ctl); i++)
        ctl[i] = (char)(i % 3 == 0 ? 'a' : 1 + i % 8);
    assert_int_equal(ingest(ctl, sizeof(ctl), &t, &err), -EMEDIUMTYPE);
    assert_int_equal(err.kind, STORY_ERR_BINARY);
}

static void test_too_large_and_invalid_utf8_bom(void **state)
{
    struct story_text t;
    struct story_error err;
    struct story_ingest_opts o = { .max_bytes = 16 };
    assert_int_equal(story_ingest(simp, strlen(simp), &o, &t, &err), -E2BIG);
    assert_int_equal(err.kind, STORY_ERR_TOO_LARGE);

    const char bad[] = "\xEF\xBB\xBF第一章\xE4\xB8\n";
    assert_int_equal(ingest(bad, sizeof(bad) - 1, &t, &err), -EILSEQ);
    assert_int_equal(err.kind, STORY_ERR_INVALID);
    assert_int_equal(err.offset, 3 + strlen("第一章"));
}

/* ---- normalisation -------------------------------------------------- */

static void test_line_ends_and_white_space(void **state)
{
    const char in[] = "  第一章　开始 \r\n\r\n\r\n\xE3\x80\x80\xE3\x80\x80他来了。\xE2\x80\x8B\r"
                      "\t她也来了。\x07\n\n\n";
    struct story_text t;
    struct story_error err;
    assert_int_equal(ingest(in, sizeof(in) - 1, &t, &err), 0);
    assert_string_equal(t.text.p, "第一章　开始\n\n他来了。\n她也来了。\n");
    assert_int_equal(t.input_lines, 7);
    story_text_release(&t);
}

static void test_site_header_footer(void **state)
{
    const char in[] = "天涯在线书库《www.tianyabook.com》\n"           /* 1 */
                      "\n"                                             /* 2 */
                      "《测试传》\n"                                   /* 3 */
                      "作者：某人\n"                                   /* 4 */
                      "申明:本书由某某小说下载网收集整理\n"            /* 5 */
                      "第一章 开始\n"                                  /* 6 */
                      "他说的下载二字，谁也不懂。\n"                   /* 7: body keeps 下载 */
                      "痛哭而返。SJTXT小说下载网+sjtxt.Com\n"          /* 8: watermark tail */
                      "第二章 结束\n"                                  /* 9 */
                      "众人散去。天涯在线书库《www.tianyabook.com》\n" /* 10 */
                      "\n"
                      "更多精彩好书，请登陆某某小说下载网--www.example.com\n"; /* 12 */
    struct story_text t;
    struct story_error err;
    assert_int_equal(ingest(in, sizeof(in) - 1, &t, &err), 0);
    assert_string_equal(t.text.p,
                        "《测试传》\n作者：某人\n第一章 开始\n他说的下载二字，谁也不懂。\n"
                        "痛哭而返。\n第二章 结束\n众人散去。\n");
    assert_int_equal(t.n_stripped, 5);
    size_t lines[] = { 1, 5, 8, 10, 12 };
    bool whole[] = { true, true, false, false, true };
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(t.stripped[i].line, lines[i]);
        assert_int_equal(t.stripped[i].whole_line, whole[i]);
        assert_non_null(t.stripped[i].reason);
    }
    assert_string_equal(t.stripped[2].text, "SJTXT小说下载网+sjtxt.Com");
    story_text_release(&t);
}

/* ---- re-flow -------------------------------------------------------- */

static void test_reflow_hard_wrapped(void **state)
{
    /* wrapped at 20 characters (40 columns), paragraphs end short */
    const char in[] = "第一回\n"
                      "甄士隱夢幻識通靈\n"
                      "此開卷第一回也。作者自雲：因曾曆過一番夢幻\n"
                      "之後，故將真事隱去，而借通靈之說，撰此石頭\n"
                      "記一書也。\n"
                      "但書中所記何事何人？自又雲：今風塵碌碌，一\n"
                      "事無成，忽念及當日所有之女子，一一細考較去\n"
                      "\n"
                      "，覺其行止見識，皆出於我之上。\n"
                      "何我堂堂鬚眉，誠不若彼裙釵哉？實愧則有餘，\n"
                      "悔又無益之大無可如何之日也！\n"
                      "第二回\n"
                      "賈夫人仙逝揚州城\n"
                      "詩云：一局輸贏料不真，香銷茶盡尚逡巡。欲知\n"
                      "目下興衰兆，須問旁觀冷眼人。\n";
    struct story_text t;
    struct story_error err;
    /* too few lines for the statistics to be sure: ask for it */
    struct story_ingest_opts on = { .reflow = STORY_REFLOW_ON };
    assert_int_equal(story_ingest(in, sizeof(in) - 1, &on, &t, &err), 0);
    assert_true(t.reflowed);
    assert_int_equal(t.wrap_width, 42);
    assert_string_equal(
        t.text.p,
        "第一回\n甄士隱夢幻識通靈\n"
        "此開卷第一回也。作者自雲：因曾曆過一番夢幻之後，故將真事隱去，而借通靈之說，撰此石頭記一書也。\n"
        "但書中所記何事何人？自又雲：今風塵碌碌，一事無成，忽念及當日所有之女子，一一細考較去，覺其行止見識，皆出於我之上。\n"
        "何我堂堂鬚眉，誠不若彼裙釵哉？實愧則有餘，悔又無益之大無可如何之日也！\n"
        "第二回\n賈夫人仙逝揚州城\n"
        "詩云：一局輸贏料不真，香銷茶盡尚逡巡。欲知目下興衰兆，須問旁觀冷眼人。\n");
    story_text_release(&t);

    struct story_ingest_opts o = { .reflow = STORY_REFLOW_OFF };
    assert_int_equal(story_ingest(in, sizeof(in) - 1, &o, &t, &err), 0);
    assert_false(t.reflowed);
    assert_non_null(strstr(t.text.p, "夢幻\n之後"));
    story_text_release(&t);
}

static void test_not_wrapped(void **state)
{
    struct story_text t;
    struct story_error err;
    assert_int_equal(ingest(simp, strlen(simp), &t, &err), 0);
    assert_false(t.reflowed);
    assert_string_equal(t.text.p, simp);
    story_text_release(&t);
}

/* ---- traditional -> simplified -------------------------------------- */

static void test_t2s(void **state)
{
    struct story_text t;
    struct story_error err;
    struct story_ingest_opts o = { .t2s = true };
    int r = story_ingest(trad, strlen(trad), &o, &t, &err);
    if (r == -ENOENT)
        skip(); /* OpenCC's data package is not installed */
    assert_int_equal(r, 0);
    assert_true(t.t2s);
    assert_non_null(strstr(t.text.p, "甄士隐梦幻识通灵贾雨村风尘怀闺秀"));
    assert_non_null(strstr(t.original.p, "甄士隱夢幻識通靈賈雨村風塵懷閨秀"));
    story_text_release(&t);

    o.opencc_config = "/nonexistent/t2s.json";
    assert_int_equal(story_ingest(trad, strlen(trad), &o, &t, &err), -ENOENT);
    assert_int_equal(err.kind, STORY_ERR_T2S);
    assert_non_null(strstr(err.message, "/nonexistent/t2s.json"));
    o.opencc_config = "no-such-config.json";
    assert_int_equal(story_ingest(trad, strlen(trad), &o, &t, &err), -ENOENT);
    assert_int_equal(err.kind, STORY_ERR_T2S);
}

/* ---- the four novels ------------------------------------------------ */

static void test_novels_detect(void **state)
{
    struct {
        const char *file, *encoding;
        bool reflowed;
    } cases[] = {
        { "shuihuzhuan.utf8.txt", "UTF-8", false },
        { "a-q-zhengzhuan.utf8-crlf.txt", "UTF-8", false },
        { "liaozhai-zhiyi.gbk.txt", "GB18030", true },
        { "hongloumeng-traditional.gb18030.txt", "GB18030", true },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = 0;
        char *p = slurp(cases[i].file, &n);
        if (!p)
            skip();
        struct story_text t;
        struct story_error err;
        int r = ingest(p, n, &t, &err);
        if (r < 0)
            fail_msg("%s: %s", cases[i].file, err.message);
        assert_string_equal(t.encoding, cases[i].encoding);
        assert_int_equal(t.reflowed, cases[i].reflowed);
        assert_true(utf8_valid(t.text.p, t.text.len));
        assert_null(memchr(t.text.p, '\r', t.text.len));
        if (i == 3) /* GB18030-only bytes 0xFE72 -> U+4337 */
            assert_non_null(strstr(t.text.p, "翠幄青䌷車"));
        story_text_release(&t);
        free(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_plain_and_bom),
        cmocka_unit_test(test_utf16_bom),
        cmocka_unit_test(test_gb18030),
        cmocka_unit_test(test_gb18030_invalid_bytes),
        cmocka_unit_test(test_big5),
        cmocka_unit_test(test_out_of_scope),
        cmocka_unit_test(test_empty_and_blank),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_too_large_and_invalid_utf8_bom),
        cmocka_unit_test(test_line_ends_and_white_space),
        cmocka_unit_test(test_site_header_footer),
        cmocka_unit_test(test_reflow_hard_wrapped),
        cmocka_unit_test(test_not_wrapped),
        cmocka_unit_test(test_t2s),
        cmocka_unit_test(test_novels_detect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
