/*
 * Unit tests for src/story/sync.c: re-anchoring source ranges onto changed
 * texts, scene matching, snippet diffs and text hashes, plus a timing check
 * (100 ranges over 10,000-character texts).
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
#include "story/sync.h"

/* ---- helpers ------------------------------------------------------------ */

/* Code point offset of the first occurrence of needle in hay (after `from` bytes). */
static size_t cp_of(const char *hay, const char *needle)
{
    const char *p = strstr(hay, needle);
    assert_non_null(p);
    return utf8_count(hay, (size_t)(p - hay));
}

static size_t cp_len(const char *s)
{
    return utf8_count(s, strlen(s));
}

/* The range of the first occurrence of needle in hay, in code points. */
static struct story_range range_of(const char *hay, const char *needle)
{
    size_t s = cp_of(hay, needle);
    return (struct story_range){ .start = s, .end = s + cp_len(needle) };
}

/* The new text's code points [start, end) as a malloc'ed UTF-8 string. */
static char *slice(const char *text, size_t start, size_t end)
{
    size_t len = strlen(text);
    long b0 = utf8_offset(text, len, start), b1 = utf8_offset(text, len, end);
    assert_true(b0 >= 0 && b1 >= b0);
    return strndup(text + b0, (size_t)(b1 - b0));
}

static void assert_anchor_text(const char *text, const struct story_anchor *an, const char *want)
{
    char *got = slice(text, an->start, an->end);
    if (strcmp(got, want) != 0)
        fail_msg("anchored to '%s', want '%s'", got, want);
    free(got);
}

/* A scene of about 3,000 code points: numbered sentences, a few with dialogue. */
static void make_scene(struct buf *b, int sentences, const char *changed_at_12)
{
    static const char *const words[] = {
        "宋江听了",     "那汉子道", "众人都笑",     "李逵大怒",         "吴用摇着扇子",
        "戴宗飞奔而去", "天色渐晚", "林冲按住刀柄", "鲁智深喝了一碗酒", "武松提着哨棒",
    };
    for (int i = 0; i < sentences; i++) {
        if (i == 12 && changed_at_12) {
            buf_adds(b, changed_at_12);
            continue;
        }
        buf_addf(b, "第%d句，%s，又过了半晌，心中暗想此事如何是好", i, words[i % 10]);
        if (i % 5 == 3)
            buf_addf(b, "，说道：“哥哥且慢，%d人还在路上。”", i * 7);
        else
            buf_adds(b, "。");
        if (i % 8 == 7)
            buf_adds(b, "\n");
    }
}

/* ---- re-anchoring ------------------------------------------------------- */

static void test_identical(void **state)
{
    const char *t = "宋江道：“兄弟们且住。”众人都笑了。";
    struct story_range in[] = { range_of(t, "兄弟们且住。"), { 0, 0 }, { 0, cp_len(t) } };
    struct story_anchor out[3];
    assert_int_equal(story_reanchor(t, t, in, 3, out), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(out[i].status, STORY_ANCHOR_EXACT);
        assert_int_equal(out[i].start, in[i].start);
        assert_int_equal(out[i].end, in[i].end);
        assert_true(out[i].similarity == 1.0);
    }
}

static void test_insert_and_delete_before(void **state)
{
    const char *old = "第一段话在这里。宋江听了大喜，便请众人入席。李逵只顾吃酒。";
    const char *ins =
        "新加的开头一句话。第一段话在这里。宋江听了大喜，便请众人入席。李逵只顾吃酒。";
    const char *del = "宋江听了大喜，便请众人入席。李逵只顾吃酒。";
    struct story_range in[] = { range_of(old, "宋江听了大喜，便请众人入席。"),
                                range_of(old, "李逵只顾吃酒。") };
    struct story_anchor out[2];

    assert_int_equal(story_reanchor(old, ins, in, 2, out), 0);
    assert_int_equal(out[0].status, STORY_ANCHOR_EXACT);
    assert_anchor_text(ins, &out[0], "宋江听了大喜，便请众人入席。");
    assert_int_equal(out[1].status, STORY_ANCHOR_EXACT);
    assert_anchor_text(ins, &out[1], "李逵只顾吃酒。");
    assert_int_equal(out[0].start, in[0].start + cp_len("新加的开头一句话。"));

    assert_int_equal(story_reanchor(old, del, in, 2, out), 0);
    assert_int_equal(out[0].status, STORY_ANCHOR_EXACT);
    assert_int_equal(out[0].start, 0);
    assert_anchor_text(del, &out[0], "宋江听了大喜，便请众人入席。");
    assert_int_equal(out[1].status, STORY_ANCHOR_EXACT);
    assert_anchor_text(del, &out[1], "李逵只顾吃酒。");
}

static void test_changed_sentence_in_long_scene(void **state)
{
    struct buf a, b;
    buf_init(&a, 0);
    buf_init(&b, 0);
    make_scene(&a, 100, NULL);
    make_scene(&b, 100, "第12句，众人都笑了起来，过了许久，心中暗想此事怎生是好。");
    assert_true(cp_len(a.p) > 3000);

    /* every sentence of the old scene is a range */
    struct story_range in[128];
    size_t n = 0, start = 0, i = 0, count = cp_len(a.p);
    size_t len = a.len;
    for (size_t cp = 0; cp < count; cp++) {
        long off = utf8_offset(a.p, len, cp);
        if (strncmp(a.p + off, "。", 3) == 0 || strncmp(a.p + off, "”", 3) == 0) {
            size_t end = cp + 1;
            if (end < count && strncmp(a.p + utf8_offset(a.p, len, end), "\n", 1) == 0)
                end++;
            if (strncmp(a.p + off, "。", 3) == 0 && end < count &&
                strncmp(a.p + utf8_offset(a.p, len, end), "”", 3) == 0)
                continue;
            in[n++] = (struct story_range){ start, end };
            start = end;
        }
    }
    assert_int_equal(n, 100);
    struct story_anchor out[128];
    assert_int_equal(story_reanchor(a.p, b.p, in, n, out), 0);
    for (i = 0; i < n; i++) {
        if (i == 12) {
            assert_int_equal(out[i].status, STORY_ANCHOR_CHANGED);
            assert_true(out[i].similarity > 0.25 && out[i].similarity < 1.0);
            char *got = slice(b.p, out[i].start, out[i].end);
            assert_string_equal(got, "第12句，众人都笑了起来，过了许久，心中暗想此事怎生是好。");
            free(got);
            continue;
        }
        if (out[i].status != STORY_ANCHOR_EXACT)
            fail_msg("sentence %zu: %s", i, story_anchor_status_name(out[i].status));
        char *want = slice(a.p, in[i].start, in[i].end);
        assert_anchor_text(b.p, &out[i], want);
        free(want);
    }

    /* rewritten beyond recognition but for its first words: gone, at its place */
    buf_clear(&b);
    make_scene(&b, 100, "第12句，宋江听了大怒，拔出刀来便要去杀那厮。");
    assert_int_equal(story_reanchor(a.p, b.p, in, n, out), 0);
    assert_int_equal(out[12].status, STORY_ANCHOR_GONE);
    char *got = slice(b.p, out[12].start, out[12].end);
    assert_string_equal(got, "第12句，宋江听了大怒，拔出刀来便要去杀那厮。");
    free(got);
    assert_int_equal(out[11].status, STORY_ANCHOR_EXACT);
    assert_int_equal(out[13].status, STORY_ANCHOR_EXACT);
    buf_release(&a);
    buf_release(&b);
}

static void test_deleted_paragraph(void **state)
{
    const char *old =
        "林冲来到草料场。\n那雪下得正紧，林冲踏着碎琼乱玉，迤逦背着北风而行。\n老军把钥匙交了。";
    const char *new = "林冲来到草料场。\n老军把钥匙交了。";
    struct story_range in[] = { range_of(old, "那雪下得正紧，林冲踏着碎琼乱玉，迤逦背着北风而行。"),
                                range_of(old, "老军把钥匙交了。") };
    struct story_anchor out[2];
    assert_int_equal(story_reanchor(old, new, in, 2, out), 0);
    assert_int_equal(out[0].status, STORY_ANCHOR_GONE);
    assert_true(out[0].similarity < STORY_ANCHOR_GONE_BELOW);
    assert_true(out[0].start <= out[0].end && out[0].end <= cp_len(new));
    assert_int_equal(out[1].status, STORY_ANCHOR_EXACT);
    assert_anchor_text(new, &out[1], "老军把钥匙交了。");
}

static void test_repeated_sentences(void **state)
{
    /* the same sentence three times; text is inserted before the second */
    const char *old = "好酒！他说。好酒！众人道。好酒！店家笑了。";
    const char *new = "好酒！他说。只见门外走进一人。好酒！众人道。好酒！店家笑了。";
    struct story_range in[3];
    size_t at = 0;
    for (int k = 0; k < 3; k++) {
        size_t s = cp_of(old + at, "好酒！") + utf8_count(old, at);
        in[k] = (struct story_range){ s, s + 3 };
        at = (size_t)(strstr(old + at, "好酒！") - old) + strlen("好酒！");
    }
    struct story_anchor out[3];
    assert_int_equal(story_reanchor(old, new, in, 3, out), 0);
    size_t want[3] = { 0, cp_len("好酒！他说。只见门外走进一人。"),
                       cp_len("好酒！他说。只见门外走进一人。好酒！众人道。") };
    for (int k = 0; k < 3; k++) {
        assert_int_equal(out[k].status, STORY_ANCHOR_EXACT);
        assert_int_equal(out[k].start, want[k]);
    }

    /* the second copy changes: it must not steal the first or the third */
    const char *chg = "好酒！他说。坏酒！众人道。好酒！店家笑了。";
    assert_int_equal(story_reanchor(old, chg, in, 3, out), 0);
    assert_int_equal(out[0].status, STORY_ANCHOR_EXACT);
    assert_int_equal(out[0].start, 0);
    assert_int_not_equal(out[1].status, STORY_ANCHOR_EXACT);
    assert_int_equal(out[1].start, cp_len("好酒！他说。"));
    assert_int_equal(out[2].status, STORY_ANCHOR_EXACT);
    assert_int_equal(out[2].start, cp_len("好酒！他说。坏酒！众人道。"));
}

static void test_moved(void **state)
{
    const char *old = "甲说了一句很长的话。乙回答了他。丙站在门口一言不发。";
    const char *new = "乙回答了他。丙站在门口一言不发。甲说了一句很长的话。";
    struct story_range in[] = { range_of(old, "甲说了一句很长的话。") };
    struct story_anchor out[1];
    assert_int_equal(story_reanchor(old, new, in, 1, out), 0);
    assert_int_equal(out[0].status, STORY_ANCHOR_MOVED);
    assert_anchor_text(new, &out[0], "甲说了一句很长的话。");
    assert_true(out[0].similarity == 1.0);
}

static void test_emoji_and_code_points(void **state)
{
    const char *old = "开头😀😀。她笑道：“🍵好茶！”🎉结尾。";
    const char *new = "新的🙂开头😀😀。她笑道：“🍵好茶！”🎉结尾。";
    struct story_range in[] = { range_of(old, "🍵好茶！"), range_of(old, "🎉结尾。") };
    assert_int_equal(in[0].start, 10);
    struct story_anchor out[2];
    assert_int_equal(story_reanchor(old, new, in, 2, out), 0);
    assert_int_equal(out[0].status, STORY_ANCHOR_EXACT);
    assert_int_equal(out[0].start, 10 + 3);
    assert_anchor_text(new, &out[0], "🍵好茶！");
    assert_anchor_text(new, &out[1], "🎉结尾。");

    /* an emoji changes inside a range */
    const char *chg = "开头😀😀。她笑道：“🍺好茶！”🎉结尾。";
    assert_int_equal(story_reanchor(old, chg, in, 2, out), 0);
    assert_int_equal(out[0].status, STORY_ANCHOR_CHANGED);
    assert_anchor_text(chg, &out[0], "🍺好茶！");
    assert_true(out[0].similarity > 0.7);
}

static void test_empty_texts(void **state)
{
    struct story_anchor out[2];
    struct story_range none[] = { { 0, 0 } };
    assert_int_equal(story_reanchor("", "", none, 1, out), 0);
    assert_int_equal(out[0].status, STORY_ANCHOR_EXACT);
    assert_int_equal(out[0].start, 0);
    assert_int_equal(out[0].end, 0);

    struct story_range all[] = { { 0, 4 }, { 1, 1 } };
    assert_int_equal(story_reanchor("一二三四", "", all, 2, out), 0);
    assert_int_equal(out[0].status, STORY_ANCHOR_GONE);
    assert_int_equal(out[0].start, 0);
    assert_int_equal(out[0].end, 0);
    assert_int_equal(out[1].start, 0);

    assert_int_equal(story_reanchor("", "新的文字", none, 1, out), 0);
    assert_int_equal(out[0].start, 0);
    assert_int_equal(story_reanchor("a", "b", NULL, 0, NULL), 0);
}

static void test_bad_arguments(void **state)
{
    struct story_anchor out[1] = { { .start = 77 } };
    struct story_range past[] = { { 0, 5 } };
    struct story_range reversed[] = { { 2, 1 } };
    assert_int_equal(story_reanchor("一二三四", "一二三四", past, 1, out), -EINVAL);
    assert_int_equal(story_reanchor("一二三四", "一二三四", reversed, 1, out), -EINVAL);
    assert_int_equal(out[0].start, 77); /* untouched on failure */
    assert_int_equal(story_reanchor(NULL, "x", past, 1, out), -EINVAL);
    assert_int_equal(story_reanchor("\xff\xfe", "x", NULL, 0, NULL), -EILSEQ);
    char *big = malloc(STORY_SYNC_MAX_TEXT + 2);
    memset(big, 'a', STORY_SYNC_MAX_TEXT + 1);
    big[STORY_SYNC_MAX_TEXT + 1] = '\0';
    assert_int_equal(story_reanchor(big, "x", NULL, 0, NULL), -E2BIG);
    free(big);
}

static void test_rewritten_text(void **state)
{
    /* everything differs: every range is gone or changed, all inside the text */
    struct buf a, b;
    buf_init(&a, 0);
    buf_init(&b, 0);
    for (int i = 0; i < 400; i++) {
        buf_addf(&a, "甲乙丙丁%d戊己庚。", i);
        buf_addf(&b, "子丑寅卯%d辰巳午未申。", i * 13 + 5);
    }
    size_t na = cp_len(a.p), nb = cp_len(b.p);
    struct story_range in[50];
    for (size_t i = 0; i < 50; i++)
        in[i] = (struct story_range){ i * na / 50, i * na / 50 + 9 };
    struct story_anchor out[50];
    assert_int_equal(story_reanchor(a.p, b.p, in, 50, out), 0);
    for (size_t i = 0; i < 50; i++) {
        assert_true(out[i].start <= out[i].end && out[i].end <= nb);
        assert_true(out[i].status == STORY_ANCHOR_GONE || out[i].status == STORY_ANCHOR_CHANGED);
    }
    buf_release(&a);
    buf_release(&b);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void test_timing(void **state)
{
    /* 10,000+ code points, a handful of edits, 100 ranges */
    struct buf a, b;
    buf_init(&a, 0);
    buf_init(&b, 0);
    make_scene(&a, 330, NULL);
    make_scene(&b, 330, "第12句，改写过的一句话，与原文大不相同。");
    buf_adds(&b, "结尾新加了一段文字，说的是后来的事情。");
    size_t na = cp_len(a.p);
    assert_true(na >= 10000);
    struct story_range in[100];
    for (size_t i = 0; i < 100; i++)
        in[i] = (struct story_range){ i * (na - 40) / 100, i * (na - 40) / 100 + 40 };
    struct story_anchor out[100];
    double best = 1e9;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now_ms();
        assert_int_equal(story_reanchor(a.p, b.p, in, 100, out), 0);
        double dt = now_ms() - t0;
        if (dt < best)
            best = dt;
    }
    print_message("reanchor: 100 ranges over %zu code points: %.3f ms (best of 5)\n", na, best);
    size_t exact = 0;
    for (size_t i = 0; i < 100; i++)
        exact += out[i].status == STORY_ANCHOR_EXACT;
    assert_true(exact >= 98);
    /* sanitizers slow this down a lot; the bound is for a plain build */
    assert_true(best < 200.0);

    /* a complete rewrite is the worst case: bounded work */
    struct buf c;
    buf_init(&c, 0);
    for (int i = 0; i < 1000; i++)
        buf_addf(&c, "子丑寅卯%d辰巳。", i * 13 + 5);
    double t0 = now_ms();
    assert_int_equal(story_reanchor(a.p, c.p, in, 100, out), 0);
    print_message("reanchor: complete rewrite of %zu code points: %.3f ms\n", na, now_ms() - t0);
    buf_release(&a);
    buf_release(&b);
    buf_release(&c);
}

/* ---- scene matching ----------------------------------------------------- */

static void test_match_scenes(void **state)
{
    const char *old[] = {
        "林冲来到草料场，老军把钥匙交了，说道：“仓里有官府封记。”林冲收了，自去火盆边坐下。",
        "却说陆虞候与富安商议，要放火烧了草料场，害了林冲性命，回去好请功受赏。",
        "林冲在山神庙里听得外面说话，原来正是陆虞候三人，一时怒从心上起，提枪便出。",
    };
    /* scene 2 split in two, a new scene inserted before the last */
    const char *new[] = {
        "林冲来到草料场，老军把钥匙交了，说道：“仓里有官府封记。”林冲收了，自去火盆边坐下。",
        "却说陆虞候与富安商议，要放火烧了草料场，",
        "害了林冲性命，回去好请功受赏。",
        "那雪越下越大，四下里白茫茫一片，不见人影。",
        "林冲在山神庙里听得外面说话，原来正是陆虞候三人，一时怒从心上起，提枪便出。",
    };
    ssize_t m[5];
    assert_int_equal(story_match_scenes(old, 3, new, 5, m), 0);
    assert_int_equal(m[0], 0);
    assert_true((m[1] == 1 && m[2] == -1) || (m[1] == -1 && m[2] == 1));
    assert_int_equal(m[3], -1);
    assert_int_equal(m[4], 2);

    /* a lightly edited scene still matches; order is kept */
    const char *edited[] = {
        "林冲来到草料场，老军把钥匙交了，说道：“仓里有官府的封记。”林冲收了，自去火盆边坐下。",
        "林冲在山神庙里听得外面说话，原来正是陆虞候三人，一时怒从心上起，提枪便出。",
    };
    ssize_t e[2];
    assert_int_equal(story_match_scenes(old, 3, edited, 2, e), 0);
    assert_int_equal(e[0], 0);
    assert_int_equal(e[1], 2);

    /* identical scenes, each old used once */
    const char *dup_old[] = { "同一段。", "同一段。" };
    const char *dup_new[] = { "同一段。", "同一段。", "同一段。" };
    ssize_t d[3];
    assert_int_equal(story_match_scenes(dup_old, 2, dup_new, 3, d), 0);
    assert_int_equal(d[0], 0);
    assert_int_equal(d[1], 1);
    assert_int_equal(d[2], -1);

    assert_int_equal(story_match_scenes(NULL, 0, dup_new, 1, d), 0);
    assert_int_equal(d[0], -1);
    assert_int_equal(story_match_scenes(dup_old, 2, NULL, 0, NULL), 0);
    assert_int_equal(story_match_scenes(NULL, 2, dup_new, 1, d), -EINVAL);
}

/* ---- diff and hash ------------------------------------------------------ */

static void test_text_diff(void **state)
{
    char *d = story_text_diff("宋江听了大喜，便请众人入席。", "宋江听了大怒，便请众人入席。", 0);
    assert_non_null(d);
    assert_string_equal(d, "宋江听了大[-喜-]{+怒+}，便请众人入席。");
    free(d);

    d = story_text_diff(
        "一二三四五六七八九十甲乙丙丁戊己庚辛壬癸子丑寅卯。旧文字。辰巳午未申酉戌亥天地玄黄宇宙洪荒",
        "一二三四五六七八九十甲乙丙丁戊己庚辛壬癸子丑寅卯。新文字。辰巳午未申酉戌亥天地玄黄宇宙洪荒",
        0);
    assert_string_equal(d, "…己庚辛壬癸子丑寅卯。[-旧-]{+新+}文字。辰巳午未申酉戌…");
    free(d);

    d = story_text_diff("", "新加的", 0);
    assert_string_equal(d, "{+新加的+}");
    free(d);
    d = story_text_diff("删掉的", NULL, 0);
    assert_string_equal(d, "[-删掉的-]");
    free(d);
    d = story_text_diff("一样", "一样", 0);
    assert_string_equal(d, "一样");
    free(d);

    /* choppy changes join across one common code point */
    d = story_text_diff("甲乙丙", "子乙丑", 0);
    assert_string_equal(d, "[-甲乙丙-]{+子乙丑+}");
    free(d);

    /* capped at a code point boundary, ending in … */
    d = story_text_diff("", "一二三四五六七八九十", 12);
    assert_true(strlen(d) < 12);
    assert_true(utf8_valid(d, strlen(d)));
    assert_string_equal(d, "{+一二…");
    free(d);
    d = story_text_diff("abc", "abd", 2);
    assert_true(strlen(d) < 2);
    free(d);
}

static void test_hash(void **state)
{
    char h[65];
    story_hash_text("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    story_hash_text(NULL, 0, h);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical),
        cmocka_unit_test(test_insert_and_delete_before),
        cmocka_unit_test(test_changed_sentence_in_long_scene),
        cmocka_unit_test(test_deleted_paragraph),
        cmocka_unit_test(test_repeated_sentences),
        cmocka_unit_test(test_moved),
        cmocka_unit_test(test_emoji_and_code_points),
        cmocka_unit_test(test_empty_texts),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_rewritten_text),
        cmocka_unit_test(test_timing),
        cmocka_unit_test(test_match_scenes),
        cmocka_unit_test(test_text_diff),
        cmocka_unit_test(test_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
