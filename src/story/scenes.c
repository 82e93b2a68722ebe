/*
 * story scenes: one chapter body cut into paragraphs and scenes; the
 * utterances come from dialogue.c. See story.h for the contract.
 *
 * DESIGN
 *
 * The body is decoded once into code points (struct story_body), so that
 * every later step works on code-point indices, which are the offsets the
 * contract speaks in, and never re-scans the UTF-8.
 *
 * 1. Lines. The ingest left one paragraph per line. Each line is classified
 *    once: blank, a separator (a line of only ***, ＊＊＊, ——, ……, ◇◇◇, ☆
 *    and the like, or a lone numeral such as 一 or （二）), or text; a text
 *    line may open with a time shift (次日, 当晚, 是夜, 翌日, 三日后,
 *    过了几日 ...) or a place/thread shift (却说, 且说, 话分两头, 与此同时,
 *    再说, 话说 ...). Text lines are the paragraphs.
 * 2. Breaks. A scene starts at the first line, after a separator (the
 *    separator line opens the new scene), and at a shifting paragraph
 *    (not the first one). A shift in mid-paragraph is not a break: scene
 *    boundaries are always line starts.
 * 3. Length. Scenes shorter than min_scene_chars join the previous scene
 *    (the first one joins the next); then scenes longer than
 *    max_scene_chars are cut greedily before the paragraph that would take
 *    them over, as long as both sides keep min_scene_chars. A single
 *    paragraph longer than the maximum is never cut.
 * 4. Utterances (dialogue.c) each lie within one paragraph, so each falls
 *    in exactly one scene; scenes record their slice of the array.
 *
 * Guarantees: scenes are ordered, contiguous and cover [0, body_chars)
 * (no scene for an empty body); 0 <= begin <= end <= body_chars for every
 * range. Linear in the body: every rule looks at a bounded prefix of a line.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/utf8.h"
#include "story/story.h"
#include "story/story_int.h"

#define MAX_SCENE_DEFAULT 1500
#define MIN_SCENE_DEFAULT 80

/* ---- line classification -------------------------------------------- */

enum line_kind { LINE_BLANK, LINE_SEPARATOR, LINE_TEXT };

struct line {
    size_t begin, end; /* code points, newline excluded */
    enum line_kind kind;
    enum story_scene_break shift; /* START: none; TIME or PLACE */
};

static bool is_blank_cp(uint32_t c)
{
    return story_is_space(c) || c == '\r';
}

/* Characters a separator line is made of. */
static bool is_separator_cp(uint32_t c)
{
    switch (c) {
    case '*':
    case '-':
    case '=':
    case '~':
    case '#':
    case '+':
    case '_':
    case '.':
    case 0xFF0A: /* ＊ */
    case 0x2014: /* — */
    case 0x2015:
    case 0x2500: /* ─ */
    case 0x2026: /* … */
    case 0x22EF: /* ⋯ */
    case 0xFF5E: /* ～ */
    case 0x00B7: /* · */
    case 0x2022: /* • */
    case 0x25C7: /* ◇ */
    case 0x25C6: /* ◆ */
    case 0x25CB: /* ○ */
    case 0x25CF: /* ● */
    case 0x2606: /* ☆ */
    case 0x2605: /* ★ */
    case 0x203B: /* ※ */
    case 0xFF03: /* ＃ */
    case 0xFF0D: /* － */
    case 0xFF1D: /* ＝ */
    case 0x25A1: /* □ */
    case 0x25A0: /* ■ */
    case 0x2261: /* ≡ */
    case 0x30FB: /* ・ */
    case 0x2027:
        return true;
    default:
        return false;
    }
}

static bool is_bracket_cp(uint32_t c)
{
    return c == '(' || c == ')' || c == 0xFF08 || c == 0xFF09 || c == 0x3010 || c == 0x3011 ||
           c == '[' || c == ']';
}

/* A line that only separates: symbols, or a lone numeral (一, 二十, (3), 【四】). */
static bool separator_line(const struct story_body *b, size_t from, size_t to)
{
    size_t n = 0, symbols = 0;
    bool other = false;
    for (size_t i = from; i < to; i++) {
        uint32_t c = b->cp[i];
        if (is_blank_cp(c) || is_bracket_cp(c))
            continue;
        n++;
        if (is_separator_cp(c))
            symbols++;
        else
            other = true;
    }
    if (n == 0)
        return false;
    if (!other)
        return true;
    if (symbols > 0 || n > 4)
        return false;
    /* a lone numeral: the whole line, brackets and spaces aside */
    size_t i = from;
    while (i < to && (is_blank_cp(b->cp[i]) || is_bracket_cp(b->cp[i])))
        i++;
    size_t j = to;
    while (j > i && (is_blank_cp(b->cp[j - 1]) || is_bracket_cp(b->cp[j - 1])))
        j--;
    struct str s = { .p = b->p + b->byte[i], .len = b->byte[j] - b->byte[i] };
    long v;
    return s.len > 0 && story_numeral(s, &v) == s.len;
}

static bool starts_with(const struct story_body *b, size_t i, size_t to, const char *w)
{
    size_t n = strlen(w);
    return i < to && b->byte[to] - b->byte[i] >= n && memcmp(b->p + b->byte[i], w, n) == 0;
}

/* Code points of a well-formed UTF-8 literal. */
static size_t cp_len(const char *w)
{
    return utf8_count(w, strlen(w));
}

/* Shifts that open a paragraph, longest first where one is a prefix of another. */
static const char *const time_words[] = {
    "第二天",   "第二日",   "第三天", "第三日",   "次日",     "次早",   "次晨",   "翌日",
    "翌晨",     "明日",     "当晚",   "当夜",     "是夜",     "是日",   "那夜",   "那晚",
    "这天晚上", "当天晚上", "晚上",   "傍晚",     "黄昏",     "天明",   "天亮",   "天晓",
    "清早",     "一早",     "早上",   "一夜无话", "话休絮烦", "不一日", "次年",   "明年",
    "转眼",     "光阴",     "不觉",   "数日后",   "几日后",   "后来",   "一日，", "一日,",
    "这一日",   "这日",     "那日",   "是晚",     "至晚",     "到晚",   "入夜",
};

static const char *const place_words[] = {
    "却说", "且说", "话说", "再说", "单说",   "另说", "不说",   "话分两头", "与此同时", "同一时间",
    "且表", "却表", "单表", "话表", "另一边", "这边", "那边厢", "这边厢",   "回头再说",
};

static bool is_count_cp(uint32_t c)
{
    static const char digits[] = "一二三四五六七八九十两几数半百廿";
    if (c >= '0' && c <= '9')
        return true;
    for (size_t i = 0; i < sizeof(digits) - 1;) {
        uint32_t d = story_u8_next(digits, sizeof(digits) - 1, &i);
        if (d == c)
            return true;
    }
    return false;
}

static bool is_period_cp(uint32_t c)
{
    return c == 0x65E5 /* 日 */ || c == 0x5929 /* 天 */ || c == 0x6708 /* 月 */ ||
           c == 0x5E74 /* 年 */ || c == 0x8F7D /* 载 */ || c == 0x591C /* 夜 */ ||
           c == 0x65EC /* 旬 */ || c == 0x5929;
}

/* 三日后, 过了几日, 又过了半月, 十数日之后, 不数日 */
static bool elapsed_time(const struct story_body *b, size_t i, size_t to)
{
    bool passed = false;
    static const char *const lead[] = { "又过了", "过了", "不过", "隔了", "不" };
    for (size_t k = 0; k < sizeof(lead) / sizeof(lead[0]); k++) {
        if (starts_with(b, i, to, lead[k])) {
            i += cp_len(lead[k]);
            passed = true;
            break;
        }
    }
    size_t n = 0;
    while (i < to && n < 4 && is_count_cp(b->cp[i])) {
        i++;
        n++;
    }
    if (n == 0)
        return false;
    if (i < to && b->cp[i] == 0x4E2A) /* 个 */
        i++;
    if (i >= to || !is_period_cp(b->cp[i]))
        return false;
    i++;
    if (passed)
        return true;
    return starts_with(b, i, to, "后") || starts_with(b, i, to, "之后") ||
           starts_with(b, i, to, "以后");
}

static enum story_scene_break shift_at(const struct story_body *b, size_t i, size_t to)
{
    for (size_t k = 0; k < sizeof(place_words) / sizeof(place_words[0]); k++)
        if (starts_with(b, i, to, place_words[k]))
            return STORY_BREAK_PLACE;
    for (size_t k = 0; k < sizeof(time_words) / sizeof(time_words[0]); k++)
        if (starts_with(b, i, to, time_words[k]))
            return STORY_BREAK_TIME;
    if (elapsed_time(b, i, to))
        return STORY_BREAK_TIME;
    return STORY_BREAK_START;
}

static void classify(const struct story_body *b, struct line *l)
{
    size_t i = l->begin;
    while (i < l->end && is_blank_cp(b->cp[i]))
        i++;
    l->shift = STORY_BREAK_START;
    if (i == l->end) {
        l->kind = LINE_BLANK;
        return;
    }
    if (separator_line(b, i, l->end)) {
        l->kind = LINE_SEPARATOR;
        return;
    }
    l->kind = LINE_TEXT;
    l->shift = shift_at(b, i, l->end);
}

/* ---- scenes ----------------------------------------------------------- */

struct cut {
    size_t line; /* first line of the scene */
    enum story_scene_break cause;
};

struct splitter {
    const struct story_body *b;
    struct line *lines;
    size_t n_lines;
    struct cut *cuts;
    size_t n_cuts;
    size_t max_chars, min_chars;
};

/* Text code points of lines [from, to). */
static size_t text_chars(const struct splitter *sp, size_t from, size_t to)
{
    size_t n = 0;
    for (size_t i = from; i < to; i++)
        if (sp->lines[i].kind == LINE_TEXT)
            n += sp->lines[i].end - sp->lines[i].begin;
    return n;
}

static size_t cut_end(const struct splitter *sp, size_t k)
{
    return k + 1 < sp->n_cuts ? sp->cuts[k + 1].line : sp->n_lines;
}

/* Semantic breaks: separators and shifts. cuts has room for n_lines. */
static void find_breaks(struct splitter *sp)
{
    bool seen_text = false, after_separator = false;
    sp->n_cuts = 0;
    sp->cuts[sp->n_cuts++] = (struct cut){ 0, STORY_BREAK_START };
    for (size_t i = 0; i < sp->n_lines; i++) {
        const struct line *l = &sp->lines[i];
        if (l->kind == LINE_BLANK)
            continue;
        if (l->kind == LINE_SEPARATOR) {
            if (seen_text && !after_separator)
                sp->cuts[sp->n_cuts++] = (struct cut){ i, STORY_BREAK_SEPARATOR };
            after_separator = seen_text;
            continue;
        }
        if (seen_text && !after_separator && l->shift != STORY_BREAK_START)
            sp->cuts[sp->n_cuts++] = (struct cut){ i, l->shift };
        seen_text = true;
        after_separator = false;
    }
}

/* Short scenes join a neighbour. */
static void merge_short(struct splitter *sp)
{
    size_t w = 0;
    for (size_t k = 0; k < sp->n_cuts; k++) {
        size_t len = text_chars(sp, sp->cuts[k].line, cut_end(sp, k));
        if (w > 0) {
            size_t prev_len = text_chars(sp, sp->cuts[w - 1].line, sp->cuts[k].line);
            if (len < sp->min_chars || prev_len < sp->min_chars)
                continue; /* scene k joins scene w-1 (its cut disappears) */
        }
        sp->cuts[w++] = sp->cuts[k];
    }
    sp->n_cuts = w;
    if (sp->n_cuts > 0)
        sp->cuts[0].cause = STORY_BREAK_START;
}

/* Long scenes are cut before a paragraph; needs room for n_lines cuts. */
static int cut_long(struct splitter *sp)
{
    struct cut *out = calloc(sp->n_lines + 1, sizeof(*out));
    if (!out)
        return -ENOMEM;
    size_t n = 0;
    for (size_t k = 0; k < sp->n_cuts; k++) {
        size_t from = sp->cuts[k].line, to = cut_end(sp, k);
        size_t left = text_chars(sp, from, to), cur = 0;
        out[n++] = sp->cuts[k];
        if (left <= sp->max_chars)
            continue;
        for (size_t i = from; i < to; i++) {
            const struct line *l = &sp->lines[i];
            if (l->kind != LINE_TEXT)
                continue;
            size_t len = l->end - l->begin;
            if (cur > 0 && cur + len > sp->max_chars && cur >= sp->min_chars &&
                left >= sp->min_chars) {
                out[n++] = (struct cut){ i, STORY_BREAK_LENGTH };
                cur = 0;
            }
            cur += len;
            left -= len;
        }
    }
    free(sp->cuts);
    sp->cuts = out;
    sp->n_cuts = n;
    return 0;
}

/* ---- split -------------------------------------------------------------- */

static int
decode(const char *p, size_t len, struct story_body *b, uint32_t **ret_cp, size_t **ret_byte)
{
    size_t n = utf8_count(p, len);
    uint32_t *cp = malloc((n + 1) * sizeof(*cp));
    size_t *byte = malloc((n + 1) * sizeof(*byte));
    if (!cp || !byte) {
        free(cp);
        free(byte);
        return -ENOMEM;
    }
    size_t i = 0, k = 0;
    while (i < len && k < n) {
        byte[k] = i;
        cp[k++] = story_u8_next(p, len, &i);
    }
    byte[k] = len;
    cp[k] = 0;
    *b = (struct story_body){ .p = p, .len = len, .cp = cp, .byte = byte, .n = k };
    *ret_cp = cp;
    *ret_byte = byte;
    return 0;
}

static int split_lines(const struct story_body *b, struct splitter *sp)
{
    size_t n = 1;
    for (size_t i = 0; i < b->n; i++)
        n += b->cp[i] == '\n';
    sp->lines = calloc(n, sizeof(*sp->lines));
    sp->cuts = calloc(n + 1, sizeof(*sp->cuts));
    if (!sp->lines || !sp->cuts)
        return -ENOMEM;
    size_t start = 0;
    sp->n_lines = 0;
    for (size_t i = 0; i <= b->n; i++) {
        if (i < b->n && b->cp[i] != '\n')
            continue;
        if (i == b->n && start == b->n && sp->n_lines > 0)
            break; /* no empty line after the final newline */
        struct line *l = &sp->lines[sp->n_lines++];
        l->begin = start;
        l->end = i;
        classify(b, l);
        start = i + 1;
    }
    return 0;
}

static int build(const struct story_body *b,
                 struct splitter *sp,
                 struct story_chapter_parts *out,
                 const char *const *known)
{
    struct arena *a = &out->arena;
    int r = split_lines(b, sp);
    if (r < 0)
        return r;

    size_t n_par = 0;
    for (size_t i = 0; i < sp->n_lines; i++)
        n_par += sp->lines[i].kind == LINE_TEXT;
    out->paragraphs = arena_calloc(a, n_par ? n_par : 1, sizeof(*out->paragraphs));
    if (!out->paragraphs)
        return -ENOMEM;
    for (size_t i = 0; i < sp->n_lines; i++)
        if (sp->lines[i].kind == LINE_TEXT)
            out->paragraphs[out->n_paragraphs++] =
                (struct story_paragraph){ sp->lines[i].begin, sp->lines[i].end };

    if (b->n == 0)
        return story_dialogue_scan(b, out, known);

    find_breaks(sp);
    merge_short(sp);
    r = cut_long(sp);
    if (r < 0)
        return r;

    out->scenes = arena_calloc(a, sp->n_cuts, sizeof(*out->scenes));
    if (!out->scenes)
        return -ENOMEM;
    size_t par = 0;
    for (size_t k = 0; k < sp->n_cuts; k++) {
        struct story_scene *s = &out->scenes[k];
        size_t to = cut_end(sp, k);
        s->index = k;
        s->cause = sp->cuts[k].cause;
        s->begin = k == 0 ? 0 : sp->lines[sp->cuts[k].line].begin;
        s->end = to < sp->n_lines ? sp->lines[to].begin : b->n;
        s->first_paragraph = par;
        while (par < out->n_paragraphs && out->paragraphs[par].begin < s->end)
            par++;
        s->n_paragraphs = par - s->first_paragraph;
    }
    out->n_scenes = sp->n_cuts;

    r = story_dialogue_scan(b, out, known);
    if (r < 0)
        return r;
    size_t u = 0;
    for (size_t k = 0; k < out->n_scenes; k++) {
        struct story_scene *s = &out->scenes[k];
        s->first_utterance = u;
        while (u < out->n_utterances && out->utterances[u].qbegin < s->end) {
            out->utterances[u].scene = k;
            u++;
        }
        s->n_utterances = u - s->first_utterance;
    }
    return 0;
}

int story_body_split(const char *body,
                     size_t len,
                     const struct story_scene_opts *o,
                     const char *const *known,
                     struct story_chapter_parts *ret)
{
    struct story_chapter_parts out = { 0 };
    struct splitter sp = { 0 };
    struct story_body b;
    uint32_t *cp = NULL;
    size_t *byte = NULL;
    int r;

    if (len > 0 && !body)
        return -EINVAL;
    if (len > 0 && !utf8_valid(body, len))
        return -EILSEQ;
    arena_init(&out.arena, 0);
    char *copy = arena_strndup(&out.arena, len ? body : "", len);
    if (!copy) {
        arena_free(&out.arena);
        return -ENOMEM;
    }
    out.body = copy;
    out.body_bytes = len;
    r = decode(copy, len, &b, &cp, &byte);
    if (r == 0) {
        out.body_chars = b.n;
        sp.b = &b;
        sp.max_chars = o && o->max_scene_chars ? o->max_scene_chars : MAX_SCENE_DEFAULT;
        sp.min_chars = o && o->min_scene_chars ? o->min_scene_chars : MIN_SCENE_DEFAULT;
        if (sp.min_chars > sp.max_chars)
            sp.min_chars = sp.max_chars;
        r = build(&b, &sp, &out, known);
    }
    if (r == 0 && out.arena.err)
        r = out.arena.err;
    free(sp.lines);
    free(sp.cuts);
    free(cp);
    free(byte);
    if (r < 0) {
        arena_free(&out.arena);
        return r;
    }
    *ret = out;
    return 0;
}

int story_chapter_split(const struct story_text *t,
                        const struct story_chapter *c,
                        const struct story_scene_opts *o,
                        const char *const *known,
                        struct story_chapter_parts *ret)
{
    if (c->byte_begin > c->byte_end || c->byte_end > t->text.len)
        return -EINVAL;
    return story_body_split(t->text.p + c->byte_begin, c->byte_end - c->byte_begin, o, known, ret);
}

void story_parts_release(struct story_chapter_parts *p)
{
    if (!p)
        return;
    arena_free(&p->arena);
    memset(p, 0, sizeof(*p));
}
