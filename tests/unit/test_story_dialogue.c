/*
 * Unit tests for src/story dialogue (dialogue.c): quotes, monologue, tags
 * before and after, alternation, unbalanced and nested quotes on small
 * texts; then dialogue detection and speaker accuracy on one hand-labelled
 * chapter of each novel of /work/shared/testdata/novels (or
 * $ANNOTD_STORY_NOVELS), the labels in tests/unit/data/story/ (or
 * $ANNOTD_STORY_LABELS). The figures are printed (bench/README.md quotes
 * them) and held to floors a little below what the rules achieve.
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

/* ---- helpers ------------------------------------------------------------- */

static void split(const char *body, const char *const *known, struct story_chapter_parts *p)
{
    assert_int_equal(story_body_split(body, strlen(body), NULL, known, p), 0);
}

/* The words of utterance k as a NUL-terminated copy in buf. */
static const char *words(const struct story_chapter_parts *p, size_t k, char *buf, size_t cap)
{
    const struct story_utterance *u = &p->utterances[k];
    long b = utf8_offset(p->body, p->body_bytes, u->begin);
    long e = utf8_offset(p->body, p->body_bytes, u->end);
    assert_true(b >= 0 && e >= b && (size_t)(e - b) < cap);
    memcpy(buf, p->body + b, (size_t)(e - b));
    buf[e - b] = '\0';
    return buf;
}

static void expect(const struct story_chapter_parts *p,
                   size_t k,
                   const char *text,
                   enum story_utterance_kind kind,
                   const char *speaker)
{
    char buf[1024];
    assert_true(k < p->n_utterances);
    assert_string_equal(words(p, k, buf, sizeof(buf)), text);
    assert_int_equal(p->utterances[k].kind, kind);
    if (speaker) {
        assert_non_null(p->utterances[k].speaker);
        assert_string_equal(p->utterances[k].speaker, speaker);
    } else {
        assert_null(p->utterances[k].speaker);
    }
    assert_true(p->utterances[k].confidence >= 0.0 && p->utterances[k].confidence <= 1.0);
    assert_non_null(p->utterances[k].rule);
}

/* ---- rules on small texts --------------------------------------------------- */

static void test_tag_before(void **state)
{
    struct story_chapter_parts p;
    split("宋江道：“兄弟来了。”\n林冲笑道：“哥哥好。”\n那妇人说：“奴家不知。”\n"
          "宋江对林冲道：“且坐。”\n",
          NULL, &p);
    assert_int_equal(p.n_utterances, 4);
    expect(&p, 0, "兄弟来了。", STORY_UTT_DIALOGUE, "宋江");
    assert_string_equal(p.utterances[0].rule, "tag-before");
    assert_true(p.utterances[0].confidence >= 0.5);
    expect(&p, 1, "哥哥好。", STORY_UTT_DIALOGUE, "林冲");
    expect(&p, 2, "奴家不知。", STORY_UTT_DIALOGUE, "妇人");
    expect(&p, 3, "且坐。", STORY_UTT_DIALOGUE, "宋江"); /* 对林冲: the addressee */
    /* quote marks excluded from [begin, end), included in [qbegin, qend) */
    assert_int_equal(p.utterances[0].qbegin + 1, p.utterances[0].begin);
    assert_int_equal(p.utterances[0].qend - 1, p.utterances[0].end);
    story_parts_release(&p);
}

static void test_tag_after(void **state)
{
    struct story_chapter_parts p;
    split("“你来做什么？”宋江道。\n“我来看你。”他说。\n", NULL, &p);
    assert_int_equal(p.n_utterances, 2);
    expect(&p, 0, "你来做什么？", STORY_UTT_DIALOGUE, "宋江");
    assert_string_equal(p.utterances[0].rule, "tag-after");
    /* a pronoun: the nearest name before, low confidence */
    assert_string_equal(p.utterances[1].rule, "pronoun");
    assert_true(p.utterances[1].confidence < 0.5);
    story_parts_release(&p);
}

static void test_monologue(void **state)
{
    struct story_chapter_parts p;
    split("林冲心想：“这厮好无礼。”\n武松暗道：“不好。”\n阿Q想：“有趣。”\n"
          "王进寻思道：“走为上着。”\n“女人……”他想。\n",
          NULL, &p);
    assert_int_equal(p.n_utterances, 5);
    expect(&p, 0, "这厮好无礼。", STORY_UTT_MONOLOGUE, "林冲");
    expect(&p, 1, "不好。", STORY_UTT_MONOLOGUE, "武松");
    expect(&p, 2, "有趣。", STORY_UTT_MONOLOGUE, "阿Q");
    expect(&p, 3, "走为上着。", STORY_UTT_MONOLOGUE, "王进");
    assert_int_equal(p.utterances[4].kind, STORY_UTT_MONOLOGUE);
    story_parts_release(&p);
}

static void test_colon_without_quotes(void **state)
{
    struct story_chapter_parts p;
    /* 聊斋/水浒: X曰：... to the end of the sentence; 但见： is no speech */
    split("公言：文宗未临，何遽得考？吏不言。\n但见：青山绿水。\n", NULL, &p);
    assert_int_equal(p.n_utterances, 1);
    expect(&p, 0, "文宗未临，何遽得考？", STORY_UTT_DIALOGUE, "公");
    assert_int_equal(p.utterances[0].qbegin, p.utterances[0].begin);
    double unknown = p.utterances[0].confidence;
    story_parts_release(&p);

    /* a one-character name costs confidence; being known gives some back */
    const char *const known[] = { "公", NULL };
    split("公言：文宗未临，何遽得考？\n", known, &p);
    expect(&p, 0, "文宗未临，何遽得考？", STORY_UTT_DIALOGUE, "公");
    assert_true(p.utterances[0].confidence > unknown);
    story_parts_release(&p);
}

static void test_ascii_and_corner_quotes(void **state)
{
    struct story_chapter_parts p;
    split("许曰：\"然。何见知？\"主人曰：「请坐。」客曰：『好。』\n", NULL, &p);
    assert_int_equal(p.n_utterances, 3);
    expect(&p, 0, "然。何见知？", STORY_UTT_DIALOGUE, "许");
    expect(&p, 1, "请坐。", STORY_UTT_DIALOGUE, "主人");
    expect(&p, 2, "好。", STORY_UTT_DIALOGUE, "客");
    story_parts_release(&p);
}

static void test_nested_quotes(void **state)
{
    struct story_chapter_parts p;
    split("刘姥姥道：“这倒也不然。‘谋事在人，成事在天’，咱们谋到了。”\n"
          "娘道：“我儿，“三十六着，走为上着。”只恐没处走！”王进听了。\n",
          NULL, &p);
    assert_int_equal(p.n_utterances, 2);
    expect(&p, 0, "这倒也不然。‘谋事在人，成事在天’，咱们谋到了。", STORY_UTT_DIALOGUE, "刘姥姥");
    expect(&p, 1, "我儿，“三十六着，走为上着。”只恐没处走！", STORY_UTT_DIALOGUE, "娘");
    story_parts_release(&p);
}

static void test_unbalanced_quotes(void **state)
{
    struct story_chapter_parts p;
    /* unclosed: ends at the paragraph end; stray closer: ignored;
     * a lost opener with a tag after: from the paragraph start */
    split("宋江道：“你且去\n他走了”，便回来了。\n女人……”阿Q想。\n”\n“\n", NULL, &p);
    assert_true(p.n_utterances >= 2);
    expect(&p, 0, "你且去", STORY_UTT_DIALOGUE, "宋江");
    assert_int_equal(p.utterances[0].qend, p.utterances[0].end);
    expect(&p, 1, "女人……", STORY_UTT_MONOLOGUE, "阿Q");
    for (size_t k = 0; k < p.n_utterances; k++) {
        assert_true(p.utterances[k].begin <= p.utterances[k].end);
        assert_true(p.utterances[k].qbegin <= p.utterances[k].begin);
        assert_true(p.utterances[k].end <= p.utterances[k].qend);
        assert_true(p.utterances[k].qend <= p.body_chars);
    }
    story_parts_release(&p);

    split("“”\n“\n”\"\n\"\"\"\n‘’’‘\n", NULL, &p);
    for (size_t k = 0; k < p.n_utterances; k++)
        assert_true(p.utterances[k].begin <= p.utterances[k].end);
    story_parts_release(&p);
}

static void test_terms_are_not_speech(void **state)
{
    struct story_chapter_parts p;
    split(
        "他将到“而立”之年，或者大声说几句“诛心”话。中有\"有花有酒春常在，无烛无灯夜自明\"之句。\n",
        NULL, &p);
    assert_int_equal(p.n_utterances, 0);
    story_parts_release(&p);
}

static void test_alternation(void **state)
{
    struct story_chapter_parts p;
    split("宋江道：“你是谁？”\n李逵道：“俺是李逵。”\n“来此何干？”\n“寻哥哥。”\n", NULL, &p);
    assert_int_equal(p.n_utterances, 4);
    expect(&p, 2, "来此何干？", STORY_UTT_DIALOGUE, "宋江");
    assert_string_equal(p.utterances[2].rule, "alternation");
    assert_true(p.utterances[2].confidence < 0.5);
    expect(&p, 3, "寻哥哥。", STORY_UTT_DIALOGUE, "李逵");
    story_parts_release(&p);
}

static void test_bare_verb_and_known(void **state)
{
    struct story_chapter_parts p;
    /* 便道 takes the sentence's subject; 又道 the paragraph's previous speaker */
    split("赵太爷愈看愈生气了，抢进几步说：“你敢胡说！”\n林冲道：“好。”又道：“走罢。”\n", NULL, &p);
    assert_int_equal(p.n_utterances, 3);
    expect(&p, 0, "你敢胡说！", STORY_UTT_DIALOGUE, "赵太爷");
    expect(&p, 2, "走罢。", STORY_UTT_DIALOGUE, "林冲");
    story_parts_release(&p);

    const char *const known[] = { "鲁智深", NULL };
    split("鲁智深大踏步上前喝道：“兀那厮！”\n", known, &p);
    expect(&p, 0, "兀那厮！", STORY_UTT_DIALOGUE, "鲁智深");
    assert_true(p.utterances[0].confidence >= 0.9);
    story_parts_release(&p);
}

static void test_only_quotes_and_empty(void **state)
{
    struct story_chapter_parts p;
    split("“甲。”“乙。”“丙。”", NULL, &p);
    assert_int_equal(p.n_utterances, 3);
    assert_int_equal(p.n_scenes, 1);
    story_parts_release(&p);

    split("", NULL, &p);
    assert_int_equal(p.n_utterances, 0);
    assert_int_equal(p.n_scenes, 0);
    assert_int_equal(p.n_paragraphs, 0);
    story_parts_release(&p);
    story_parts_release(NULL);
}

/* ---- accuracy against hand labels ----------------------------------------- */

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

/* As test_story_chapters.c finds tests/story-expected/: relative to __FILE__. */
static json_t *labels(const char *name)
{
    char path[4096], src[1024];
    const char *dir = getenv("ANNOTD_STORY_LABELS");
    if (dir) {
        snprintf(path, sizeof(path), "%s/%s", dir, name);
    } else {
        snprintf(src, sizeof(src), "%s", __FILE__);
        snprintf(path, sizeof(path), "%s/data/story/%s", dirname(src), name);
        char exe[1024];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (access(path, R_OK) != 0 && src[0] != '/' && n > 0) {
            exe[n] = '\0';
            char *build = dirname(dirname(dirname(exe)));
            snprintf(path, sizeof(path), "%s/%s/data/story/%s", build, src, name);
        }
    }
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (!j)
        fail_msg("cannot load '%s': %s", path, e.text);
    return j;
}

struct score {
    size_t required, detected, matched, false_pos;
    size_t speaker_ok, kind_ok, confident, confident_ok;
};

static size_t cp_count(const char *s)
{
    return utf8_count(s, strlen(s));
}

static bool speaker_ok(json_t *want, const char *got)
{
    if (json_is_null(want) || !want)
        return got == NULL;
    if (!got)
        return false;
    json_t *one;
    size_t i;
    if (json_is_string(want))
        return strcmp(json_string_value(want), got) == 0 ||
               (cp_count(got) >= 2 && cp_count(json_string_value(want)) >= 2 &&
                (strstr(got, json_string_value(want)) || strstr(json_string_value(want), got)));
    json_array_foreach(want, i, one)
        if (speaker_ok(one, got))
            return true;
    return false;
}

#define MATCH_WINDOW 4

static void score_chapter(const struct story_text *t,
                          const struct story_chapter *c,
                          json_t *jc,
                          struct score *s,
                          const char *file)
{
    struct story_chapter_parts p;
    assert_int_equal(story_chapter_split(t, c, NULL, NULL, &p), 0);

    size_t scope = p.body_chars;
    const char *end_text = json_string_value(json_object_get(jc, "scope_end"));
    if (end_text) {
        const char *at = strstr(p.body, end_text);
        if (!at)
            fail_msg("%s: scope_end '%s' not in chapter %zu", file, end_text, c->index);
        scope = utf8_count(p.body, (size_t)(at - p.body));
    }
    size_t n_det = 0;
    while (n_det < p.n_utterances && p.utterances[n_det].begin < scope)
        n_det++;
    bool *used = calloc(n_det + 1, sizeof(*used));
    assert_non_null(used);

    json_t *want = json_object_get(jc, "utterances"), *w;
    size_t i, next = 0;
    char buf[8192];
    json_array_foreach(want, i, w) {
        const char *prefix = json_string_value(json_object_get(w, "text"));
        bool optional = json_is_true(json_object_get(w, "optional"));
        s->required += !optional;
        size_t hit = n_det;
        for (size_t k = next; k < n_det && k < next + MATCH_WINDOW; k++) {
            if (!used[k] && strncmp(words(&p, k, buf, sizeof(buf)), prefix, strlen(prefix)) == 0) {
                hit = k;
                break;
            }
        }
        if (hit == n_det) {
            if (!optional)
                print_message("  %s #%zu missed: %s\n", file, i + 1, prefix);
            continue;
        }
        used[hit] = true;
        next = hit + 1;
        if (optional)
            continue;
        const struct story_utterance *u = &p.utterances[hit];
        const char *kind = json_string_value(json_object_get(w, "kind"));
        bool sp_ok = speaker_ok(json_object_get(w, "speaker"), u->speaker);
        s->matched++;
        s->speaker_ok += sp_ok;
        s->kind_ok += strcmp(kind, u->kind == STORY_UTT_MONOLOGUE ? "monologue" : "dialogue") == 0;
        if (u->confidence >= 0.5) {
            s->confident++;
            s->confident_ok += sp_ok;
        }
        if (!sp_ok && getenv("ANNOTD_STORY_VERBOSE"))
            print_message("  %s #%zu speaker %s (%s %.2f): %s\n", file, i + 1,
                          u->speaker ? u->speaker : "null", u->rule, u->confidence, prefix);
    }
    for (size_t k = 0; k < n_det; k++) {
        if (!used[k]) {
            s->false_pos++;
            if (getenv("ANNOTD_STORY_VERBOSE"))
                print_message("  %s extra: %.60s\n", file, words(&p, k, buf, sizeof(buf)));
        }
    }
    s->detected += n_det;
    free(used);
    story_parts_release(&p);
}

/* Floors for the four labelled chapters together: a little below what the
 * rules achieve, so that a regression fails while noise does not. */
#define ACCURACY_RECALL_FLOOR    0.95
#define ACCURACY_PRECISION_FLOOR 0.95
#define ACCURACY_SPEAKER_FLOOR   0.75
#define ACCURACY_KIND_FLOOR      0.95

static struct score total;

static void score_file(const char *label_file)
{
    json_t *j = labels(label_file);
    const char *dir = getenv("ANNOTD_STORY_NOVELS");
    const char *file = json_string_value(json_object_get(j, "file"));
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "/work/shared/testdata/novels", file);
    size_t n = 0;
    char *raw = slurp(path, &n);
    if (!raw) {
        json_decref(j);
        skip();
    }
    struct story_ingest_opts o = { .t2s = json_is_true(json_object_get(j, "t2s")) };
    struct story_text t;
    struct story_error err;
    int r = story_ingest(raw, n, &o, &t, &err);
    free(raw);
    if (r == -ENOENT && o.t2s) {
        json_decref(j);
        skip(); /* OpenCC's t2s configuration is not installed */
    }
    assert_int_equal(r, 0);
    struct story_chapters c;
    assert_int_equal(story_chapters(&t, &c), 0);

    struct score s = { 0 };
    json_t *chapters = json_object_get(j, "chapters"), *jc;
    size_t i;
    json_array_foreach(chapters, i, jc) {
        size_t index = (size_t)json_integer_value(json_object_get(jc, "index"));
        assert_true(index >= 1 && index <= c.n);
        assert_string_equal(c.v[index - 1].title, json_string_value(json_object_get(jc, "title")));
        score_chapter(&t, &c.v[index - 1], jc, &s, file);
    }
    print_message("%-38s labelled %3zu detected %3zu  recall %5.1f%%  precision %5.1f%%  "
                  "speaker %5.1f%%  kind %5.1f%%  conf>=0.5: %zu at %5.1f%%\n",
                  file, s.required, s.detected, 100.0 * (double)s.matched / (double)s.required,
                  100.0 * (double)s.matched / (double)(s.matched + s.false_pos),
                  100.0 * (double)s.speaker_ok / (double)s.matched,
                  100.0 * (double)s.kind_ok / (double)s.matched, s.confident,
                  s.confident ? 100.0 * (double)s.confident_ok / (double)s.confident : 0.0);
    total.required += s.required;
    total.detected += s.detected;
    total.matched += s.matched;
    total.false_pos += s.false_pos;
    total.speaker_ok += s.speaker_ok;
    total.kind_ok += s.kind_ok;
    total.confident += s.confident;
    total.confident_ok += s.confident_ok;
    story_chapters_release(&c);
    story_text_release(&t);
    json_decref(j);
}

static void test_accuracy(void **state)
{
    static const char *const files[] = {
        "utterances-shuihuzhuan.json",
        "utterances-a-q-zhengzhuan.json",
        "utterances-liaozhai-zhiyi.json",
        "utterances-hongloumeng.json",
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        score_file(files[i]);
    double recall = (double)total.matched / (double)total.required;
    double precision = (double)total.matched / (double)(total.matched + total.false_pos);
    double speaker = (double)total.speaker_ok / (double)total.matched;
    double kind = (double)total.kind_ok / (double)total.matched;
    double confident = total.confident ? (double)total.confident_ok / (double)total.confident : 0;
    print_message("%-38s labelled %3zu detected %3zu  recall %5.1f%%  precision %5.1f%%  "
                  "speaker %5.1f%%  kind %5.1f%%  conf>=0.5: %zu at %5.1f%%\n",
                  "all four", total.required, total.detected, 100 * recall, 100 * precision,
                  100 * speaker, 100 * kind, total.confident, 100 * confident);
    /* floors: a little below what the rules achieve (bench/README.md) */
    assert_true(recall >= ACCURACY_RECALL_FLOOR);
    assert_true(precision >= ACCURACY_PRECISION_FLOOR);
    assert_true(speaker >= ACCURACY_SPEAKER_FLOOR);
    assert_true(kind >= ACCURACY_KIND_FLOOR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tag_before),
        cmocka_unit_test(test_tag_after),
        cmocka_unit_test(test_monologue),
        cmocka_unit_test(test_colon_without_quotes),
        cmocka_unit_test(test_ascii_and_corner_quotes),
        cmocka_unit_test(test_nested_quotes),
        cmocka_unit_test(test_unbalanced_quotes),
        cmocka_unit_test(test_terms_are_not_speech),
        cmocka_unit_test(test_alternation),
        cmocka_unit_test(test_bare_verb_and_known),
        cmocka_unit_test(test_only_quotes_and_empty),
        cmocka_unit_test(test_accuracy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
