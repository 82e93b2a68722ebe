/*
 * story chapters: headings and segmentation of a normalised text.
 * See story.h for the contract and the rules.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "story/story.h"
#include "story/story_int.h"

/* ---- characters ---------------------------------------------------- */

bool story_is_space(uint32_t c)
{
    return c == ' ' || c == '\t' || c == 0x3000 || c == 0xA0;
}

bool story_is_sentence_end(uint32_t c)
{
    switch (c) {
    case 0x3002: /* 。 */
    case 0xFF01: /* ！ */
    case 0xFF1F: /* ？ */
    case 0x2026: /* … */
    case 0xFF1B: /* ； */
    case 0x201D: /* ” */
    case 0x300D: /* 」 */
    case 0x300F: /* 』 */
    case '.':
    case '!':
    case '?':
    case ';':
    case '"':
        return true;
    default:
        return false;
    }
}

bool story_is_punct(uint32_t c)
{
    if (c < 0x80)
        return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
               (c >= 0x7B && c <= 0x7E);
    return (c >= 0x3000 && c <= 0x303F) || (c >= 0xFF01 && c <= 0xFF0F) ||
           (c >= 0xFF1A && c <= 0xFF20) || (c >= 0x2010 && c <= 0x2027) || c == 0xFF3B ||
           c == 0xFF3D || c == 0xFF5B || c == 0xFF5D;
}

size_t story_width(struct str line)
{
    size_t w = 0, i = 0;
    while (i < line.len) {
        uint32_t c = story_u8_next(line.p, line.len, &i);
        w += c == '\t' ? 4 : c < 0x80 ? 1 : 2;
    }
    return w;
}

static size_t cp_count(struct str s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++)
        n += ((unsigned char)s.p[i] & 0xC0) != 0x80;
    return n;
}

static bool str_has(struct str s, const char *needle)
{
    size_t n = strlen(needle);
    if (!s.p || n > s.len)
        return false;
    return memmem(s.p, s.len, needle, n) != NULL;
}

static struct str str_skip(struct str s, size_t n)
{
    return (struct str){ .p = s.p + n, .len = s.len - n };
}

/* Trim story_is_space from both ends. */
static struct str trim_space(struct str s)
{
    size_t i = 0;
    while (i < s.len) {
        size_t k = i;
        if (!story_is_space(story_u8_next(s.p, s.len, &k)))
            break;
        i = k;
    }
    s = str_skip(s, i);
    while (s.len > 0) {
        size_t k = s.len;
        if (!story_is_space(story_u8_prev(s.p, &k)))
            break;
        s.len = k;
    }
    return s;
}

/* ---- numerals ------------------------------------------------------- */

struct numeral_char {
    const char *s;
    int value; /* 0..9 digit, 10/100/1000/10000 multiplier */
};

static const struct numeral_char numeral_chars[] = {
    { "零", 0 },    { "〇", 0 },    { "○", 0 },      { "一", 1 },     { "壹", 1 },   { "二", 2 },
    { "贰", 2 },    { "貳", 2 },    { "两", 2 },     { "兩", 2 },     { "三", 3 },   { "叁", 3 },
    { "參", 3 },    { "四", 4 },    { "肆", 4 },     { "五", 5 },     { "伍", 5 },   { "六", 6 },
    { "陆", 6 },    { "陸", 6 },    { "七", 7 },     { "柒", 7 },     { "八", 8 },   { "捌", 8 },
    { "九", 9 },    { "玖", 9 },    { "十", 10 },    { "拾", 10 },    { "百", 100 }, { "佰", 100 },
    { "千", 1000 }, { "仟", 1000 }, { "万", 10000 }, { "萬", 10000 },
};

static int numeral_char(struct str s, size_t *ret_len)
{
    for (size_t i = 0; i < sizeof(numeral_chars) / sizeof(numeral_chars[0]); i++) {
        if (str_has_prefix(s, numeral_chars[i].s)) {
            *ret_len = strlen(numeral_chars[i].s);
            return numeral_chars[i].value;
        }
    }
    return -1;
}

#define NUMERAL_MAX_CHARS 12

size_t story_numeral(struct str s, long *value)
{
    size_t i = 0;
    long v = 0;

    /* ASCII or full-width (U+FF10..U+FF19) digits */
    for (int n = 0; i < s.len && n < 9; n++) {
        size_t k = i;
        uint32_t c = story_u8_next(s.p, s.len, &k);
        int d = c >= '0' && c <= '9'         ? (int)(c - '0')
                : c >= 0xFF10 && c <= 0xFF19 ? (int)(c - 0xFF10)
                                             : -1;
        if (d < 0)
            break;
        v = v * 10 + d;
        i = k;
    }
    if (i > 0) {
        *value = v;
        return i;
    }

    int tok[NUMERAL_MAX_CHARS];
    int n = 0;
    bool multiplier = false;
    while (i < s.len && n < NUMERAL_MAX_CHARS) {
        size_t k;
        int t = numeral_char(str_skip(s, i), &k);
        if (t < 0)
            break;
        tok[n++] = t;
        multiplier |= t >= 10;
        i += k;
    }
    if (n == 0)
        return 0;
    if (!multiplier) { /* digit by digit: 一二零 = 120 */
        for (int k = 0; k < n; k++)
            v = v * 10 + tok[k];
        *value = v;
        return i;
    }
    long total = 0, section = 0, digit = -1;
    for (int k = 0; k < n; k++) {
        int t = tok[k];
        if (t < 10) {
            digit = t;
        } else if (t < 10000) {
            section += (digit < 0 ? 1 : digit) * t;
            digit = -1;
        } else {
            section += digit < 0 ? 0 : digit;
            total += (section == 0 ? 1 : section) * 10000;
            section = 0;
            digit = -1;
        }
    }
    section += digit < 0 ? 0 : digit;
    *value = total + section;
    return i;
}

/* ---- headings ------------------------------------------------------- */

struct unit_char {
    const char *s;
    enum story_unit unit;
};

static const struct unit_char unit_chars[] = {
    { "部", STORY_UNIT_BU },   { "卷", STORY_UNIT_JUAN },  { "集", STORY_UNIT_JI },
    { "篇", STORY_UNIT_PIAN }, { "章", STORY_UNIT_ZHANG }, { "回", STORY_UNIT_HUI },
    { "节", STORY_UNIT_JIE },  { "節", STORY_UNIT_JIE },
};

/* Story front matter and back matter that are chapters, longest first. */
static const char *const special_words[] = {
    "序章", "序言", "序幕", "楔子", "引子", "番外", "尾声",
    "尾聲", "后记", "後記", "终章", "終章", "序",
};

/* Site-export leftovers in front of a heading. */
static const char *const leftovers[] = {
    "章节目录", "章節目錄", "目录", "目錄", "正文", "《》", "【】",
};

/* Separators between a heading's label and its title. */
static bool is_title_sep(uint32_t c)
{
    return story_is_space(c) || c == ':' || c == 0xFF1A || c == 0x3001 || c == '.' || c == 0xFF0E ||
           c == 0x00B7 || c == '-' || c == 0x2014 || c == '_' || c == ',' || c == 0xFF0C;
}

/* Skip separators; returns how many bytes. */
static size_t skip_seps(struct str s)
{
    size_t i = 0;
    while (i < s.len) {
        size_t k = i;
        if (!is_title_sep(story_u8_next(s.p, s.len, &k)))
            break;
        i = k;
    }
    return i;
}

/* A title that reads like a sentence of the story. */
static bool prose(struct str title)
{
    size_t n = cp_count(title);
    if (n > 40 || str_has(title, "。"))
        return true;
    return n > 24 && (str_has(title, "，") || str_has(title, "；") || str_has(title, "："));
}

static struct str skip_leftovers(struct str s)
{
    for (;;) {
        s = trim_space(s);
        bool again = false;
        for (size_t i = 0; i < sizeof(leftovers) / sizeof(leftovers[0]); i++) {
            if (str_has_prefix(s, leftovers[i]) && s.len > strlen(leftovers[i])) {
                s = str_skip(s, strlen(leftovers[i]));
                s = str_skip(s, skip_seps(s));
                again = true;
                break;
            }
        }
        if (!again)
            return s;
    }
}

/* Label [sep] title: fills label/title/weak from position `at` of s. */
static void split_title(struct str s, size_t at, struct story_heading *h)
{
    h->label = (struct str){ .p = s.p, .len = at };
    struct str rest = str_skip(s, at);
    size_t sep = skip_seps(rest);
    h->title = trim_space(str_skip(rest, sep));
    h->weak = (h->title.len > 0 && sep == 0) || prose(h->title);
}

#define HEADING_MAX_CP 60

enum story_heading_kind story_heading_parse(struct str line, struct story_heading *ret)
{
    struct story_heading h = { .kind = STORY_HEADING_NONE, .unit = STORY_UNIT_NONE, .number = -1 };
    struct str s = skip_leftovers(line);
    long v;

    if (s.len < 3 || cp_count(s) > HEADING_MAX_CP)
        return STORY_HEADING_NONE;

    if (str_has_prefix(s, "第")) {
        struct str r = str_skip(s, strlen("第"));
        size_t n = story_numeral(r, &v);
        if (n == 0)
            return STORY_HEADING_NONE;
        r = str_skip(r, n);
        for (size_t i = 0; i < sizeof(unit_chars) / sizeof(unit_chars[0]); i++) {
            if (!str_has_prefix(r, unit_chars[i].s))
                continue;
            h.kind = STORY_HEADING_NUMBERED;
            h.unit = unit_chars[i].unit;
            h.number = v;
            split_title(s, (size_t)(r.p - s.p) + strlen(unit_chars[i].s), &h);
            /* a sentence that merely starts like a heading */
            if (h.weak && h.title.len > 0 && prose(h.title) &&
                skip_seps(str_skip(s, h.label.len)) == 0)
                return STORY_HEADING_NONE;
            *ret = h;
            return h.kind;
        }
        return STORY_HEADING_NONE;
    }

    if (str_has_prefix(s, "卷")) {
        struct str r = str_skip(s, strlen("卷"));
        if (str_has_prefix(r, "之"))
            r = str_skip(r, strlen("之"));
        size_t n = story_numeral(r, &v);
        if (n == 0)
            return STORY_HEADING_NONE; /* 卷如钩 */
        h.kind = STORY_HEADING_VOLUME;
        h.unit = STORY_UNIT_JUAN;
        h.number = v;
        split_title(s, (size_t)(r.p - s.p) + n, &h);
        if (h.weak)
            return STORY_HEADING_NONE; /* 卷一日 ... */
        *ret = h;
        return h.kind;
    }

    for (size_t i = 0; i < sizeof(special_words) / sizeof(special_words[0]); i++) {
        const char *w = special_words[i];
        if (!str_has_prefix(s, w))
            continue;
        size_t at = strlen(w);
        struct str r = str_skip(s, at);
        bool fanwai = strcmp(w, "番外") == 0;
        if (fanwai) { /* 番外, 番外一, 番外篇 */
            size_t n = story_numeral(r, &v);
            at += n;
            r = str_skip(r, n);
            if (str_has_prefix(r, "篇"))
                at += strlen("篇");
        }
        split_title(s, at, &h);
        if (prose(h.title) || (h.weak && !fanwai))
            return STORY_HEADING_NONE; /* 序齿, 尾声未了 ... */
        h.kind = STORY_HEADING_SPECIAL;
        h.weak = false;
        *ret = h;
        return h.kind;
    }
    return STORY_HEADING_NONE;
}

/* ---- segmentation --------------------------------------------------- */

struct line {
    size_t off, len; /* bytes in text, without the "\n" */
    size_t cp_off;   /* code points before the line */
    size_t cp_len;
    bool blank;
    enum story_heading_kind kind;
    struct story_heading h;
};

static bool is_container(enum story_unit u)
{
    return u == STORY_UNIT_BU || u == STORY_UNIT_JUAN || u == STORY_UNIT_JI || u == STORY_UNIT_PIAN;
}

static struct str line_str(const char *text, const struct line *l)
{
    return (struct str){ .p = text + l->off, .len = l->len };
}

static uint32_t last_char(struct str s)
{
    size_t k = s.len;
    return s.len ? story_u8_prev(s.p, &k) : 0;
}

/* A line that can be a heading's title on the line after a bare heading. */
static bool title_like(struct str s)
{
    size_t n = cp_count(s);
    if (n == 0 || n > 30 || str_has(s, "。"))
        return false;
    uint32_t c = last_char(s);
    return !story_is_sentence_end(c) && c != 0xFF0C && c != 0xFF1A && c != ':' && c != ',';
}

/* A story title under a volume (聊斋): short, no sentence, set apart by blank lines. */
static bool story_title_at(const struct line *lines, size_t n, size_t i, const char *text)
{
    const struct line *l = &lines[i];
    if (l->blank || l->kind != STORY_HEADING_NONE || l->cp_len > 20)
        return false;
    if (!title_like(line_str(text, l)))
        return false;
    bool before = i == 0 || lines[i - 1].blank || lines[i - 1].kind != STORY_HEADING_NONE;
    bool after = i + 1 == n || lines[i + 1].blank;
    return before && after;
}

/* Title as "label title", with white-space runs as one ASCII space. */
static const char *heading_text(struct arena *a, struct str label, struct str title)
{
    struct buf b;
    buf_init(&b, 4096);
    buf_addstr(&b, label);
    if (title.len > 0) {
        if (label.len > 0)
            buf_addch(&b, ' ');
        bool space = false;
        size_t i = 0;
        while (i < title.len) {
            size_t k = i;
            uint32_t c = story_u8_next(title.p, title.len, &k);
            if (story_is_space(c)) {
                space = true;
            } else {
                if (space)
                    buf_addch(&b, ' ');
                space = false;
                buf_add(&b, title.p + i, k - i);
            }
            i = k;
        }
    }
    const char *r = b.err ? NULL : arena_strndup(a, b.p, b.len);
    buf_release(&b);
    return r;
}

struct segmenter {
    const char *text;
    size_t text_len;
    struct line *lines;
    size_t n_lines;
    size_t cp_total; /* code points in text */
    struct arena *arena;
    struct story_chapter *v;
    size_t n, alloc;
};

static int push_chapter(struct segmenter *sg, const struct story_chapter *c)
{
    if (sg->n == sg->alloc) {
        size_t na = sg->alloc ? sg->alloc * 2 : 64;
        struct story_chapter *nv = realloc(sg->v, na * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        sg->v = nv;
        sg->alloc = na;
    }
    sg->v[sg->n++] = *c;
    return 0;
}

/* Body range over lines [from, to): trimmed of blank lines. */
static void set_body(const struct segmenter *sg, struct story_chapter *c, size_t from, size_t to)
{
    while (from < to && sg->lines[from].blank)
        from++;
    while (to > from && sg->lines[to - 1].blank)
        to--;
    if (from >= to) {
        bool inside = from < sg->n_lines;
        c->byte_begin = c->byte_end = inside ? sg->lines[from].off : sg->text_len;
        c->begin = c->end = inside ? sg->lines[from].cp_off : sg->cp_total;
        return;
    }
    const struct line *f = &sg->lines[from], *l = &sg->lines[to - 1];
    c->byte_begin = f->off;
    c->byte_end = l->off + l->len;
    c->begin = f->cp_off;
    c->end = l->cp_off + l->cp_len;
}

static int split_lines(struct segmenter *sg)
{
    size_t n = 0;
    for (size_t i = 0; i < sg->text_len; i++)
        n += sg->text[i] == '\n';
    n += 1;
    sg->lines = calloc(n, sizeof(*sg->lines));
    if (!sg->lines)
        return -ENOMEM;
    size_t off = 0, cp = 0;
    sg->n_lines = 0;
    while (off < sg->text_len) {
        const char *nl = memchr(sg->text + off, '\n', sg->text_len - off);
        size_t end = nl ? (size_t)(nl - sg->text) : sg->text_len;
        struct line *l = &sg->lines[sg->n_lines++];
        l->off = off;
        l->len = end - off;
        l->cp_off = cp;
        l->cp_len = cp_count(line_str(sg->text, l));
        struct str s = trim_space(line_str(sg->text, l));
        l->blank = s.len == 0;
        if (!l->blank)
            l->kind = story_heading_parse(s, &l->h);
        cp += l->cp_len + (nl != NULL);
        off = end + 1;
    }
    sg->cp_total = cp;
    return 0;
}

/* The novel's title among the front matter lines [0, end). */
static const char *novel_title(struct segmenter *sg, size_t end)
{
    const struct line *first = NULL;
    for (size_t i = 0; i < end; i++) {
        const struct line *l = &sg->lines[i];
        if (l->blank)
            continue;
        struct str s = trim_space(line_str(sg->text, l));
        if (str_has_prefix(s, "《") && last_char(s) == 0x300B && l->cp_len <= 32) {
            struct str in = { .p = s.p + strlen("《"), .len = s.len - 2 * strlen("《") };
            in = trim_space(in);
            if (in.len > 0)
                return arena_strdup_str(sg->arena, in);
            continue; /* an empty 《》 is a leftover */
        }
        if (!first)
            first = l;
    }
    if (first && first->cp_len <= 20) {
        struct str s = trim_space(line_str(sg->text, first));
        bool punct = false;
        size_t i = 0;
        while (i < s.len)
            punct |= story_is_punct(story_u8_next(s.p, s.len, &i));
        if (!punct && !str_has_prefix(s, "作者"))
            return arena_strdup_str(sg->arena, s);
    }
    return NULL;
}

/* Drop runs of >= 3 consecutive empty chapters: a table of contents. */
static size_t drop_toc(struct segmenter *sg)
{
    size_t dropped = 0, w = 0;
    for (size_t i = 0; i < sg->n;) {
        size_t j = i;
        while (j < sg->n && sg->v[j].begin == sg->v[j].end)
            j++;
        if (j - i >= 3) {
            dropped += j - i;
            i = j;
            continue;
        }
        if (j == i)
            j = i + 1;
        for (; i < j; i++)
            sg->v[w++] = sg->v[i];
    }
    sg->n = w;
    for (size_t i = 0; i < sg->n; i++)
        sg->v[i].index = i + 1;
    return dropped;
}

static int segment(struct segmenter *sg, struct story_chapters *out)
{
    int count[STORY_UNIT_COUNT] = { 0 };
    const char *text = sg->text;

    for (size_t i = 0; i < sg->n_lines; i++) {
        const struct line *l = &sg->lines[i];
        if ((l->kind == STORY_HEADING_NUMBERED || l->kind == STORY_HEADING_VOLUME) && !l->h.weak)
            count[l->h.unit]++;
    }
    int leaf = -1;
    for (int u = STORY_UNIT_COUNT - 1; u >= 0 && leaf < 0; u--)
        if (count[u] >= 2)
            leaf = u;
    for (int u = STORY_UNIT_COUNT - 1; u >= 0 && leaf < 0; u--)
        if (count[u] >= 1)
            leaf = u;

    /* 卷 + story titles: the stories are the chapters */
    bool stories = false;
    if (leaf >= 0 && is_container((enum story_unit)leaf)) {
        size_t found = 0;
        bool inside = false;
        for (size_t i = 0; i < sg->n_lines; i++) {
            const struct line *l = &sg->lines[i];
            if (l->kind == STORY_HEADING_NUMBERED || l->kind == STORY_HEADING_VOLUME)
                inside = !l->h.weak && (int)l->h.unit <= leaf ? true : inside;
            else if (inside && story_title_at(sg->lines, sg->n_lines, i, text))
                found++;
        }
        stories = found >= 2;
    }
    int leaf_rank = stories ? STORY_UNIT_COUNT : leaf;

    const char *container[STORY_UNIT_COUNT] = { NULL };
    long last[STORY_UNIT_COUNT];
    bool fresh[STORY_UNIT_COUNT]; /* a container began since the last leaf of this unit */
    for (int u = 0; u < STORY_UNIT_COUNT; u++) {
        last[u] = -1;
        fresh[u] = true;
    }
    bool open = false, in_container = false;
    size_t body_from = 0, first_heading = sg->n_lines;
    struct story_chapter cur = { 0 };

    for (size_t i = 0; i < sg->n_lines; i++) {
        const struct line *l = &sg->lines[i];
        bool numbered = l->kind == STORY_HEADING_NUMBERED || l->kind == STORY_HEADING_VOLUME;
        bool is_cont = false, is_leaf = false;
        enum story_chapter_kind kind = STORY_CHAPTER_NUMBERED;

        if (numbered && (int)l->h.unit < leaf_rank) {
            is_cont = !l->h.weak || l->h.number == last[l->h.unit] + 1;
        } else if (numbered && (int)l->h.unit == leaf_rank) {
            long expect = last[l->h.unit] + 1;
            is_leaf = !l->h.weak || l->h.number == expect || (l->h.number == 1 && fresh[l->h.unit]);
        } else if (l->kind == STORY_HEADING_SPECIAL) {
            is_leaf = true;
            kind = STORY_CHAPTER_SPECIAL;
        } else if (stories && in_container && story_title_at(sg->lines, sg->n_lines, i, text)) {
            is_leaf = true;
            kind = STORY_CHAPTER_STORY;
        }
        if (!is_cont && !is_leaf)
            continue;

        if (first_heading == sg->n_lines)
            first_heading = i;
        if (open) {
            set_body(sg, &cur, body_from, i);
            if (push_chapter(sg, &cur) < 0)
                return -ENOMEM;
            open = false;
        }
        if (is_cont) {
            int u = l->h.unit;
            container[u] = heading_text(sg->arena, l->h.label, l->h.title);
            if (!container[u])
                return -ENOMEM;
            for (int k = u + 1; k < STORY_UNIT_COUNT; k++) {
                container[k] = NULL;
                fresh[k] = true;
            }
            last[u] = l->h.number;
            in_container = true;
            continue;
        }

        memset(&cur, 0, sizeof(cur));
        cur.index = sg->n + 1;
        cur.kind = kind;
        cur.number = kind == STORY_CHAPTER_NUMBERED ? l->h.number : -1;
        cur.heading_line = i + 1;
        for (int u = 0; u < STORY_UNIT_COUNT && u < leaf_rank; u++)
            if (container[u])
                cur.volume = container[u];
        body_from = i + 1;
        struct str label = l->h.label, title = l->h.title;
        if (kind == STORY_CHAPTER_STORY) {
            label = trim_space(line_str(text, l));
            title = STR_NULL;
        } else if (title.len == 0) {
            /* the title on the next line: 第一回 / 甄士隱夢幻識通靈… */
            size_t j = i + 1;
            while (j < sg->n_lines && sg->lines[j].blank && j < i + 3)
                j++;
            if (j < sg->n_lines && !sg->lines[j].blank && sg->lines[j].kind == STORY_HEADING_NONE &&
                title_like(trim_space(line_str(text, &sg->lines[j])))) {
                title = trim_space(line_str(text, &sg->lines[j]));
                body_from = j + 1;
            }
        }
        cur.title = heading_text(sg->arena, label, title);
        if (!cur.title)
            return -ENOMEM;
        if (numbered) {
            last[l->h.unit] = l->h.number;
            fresh[l->h.unit] = false;
        }
        open = true;
    }
    if (open) {
        set_body(sg, &cur, body_from, sg->n_lines);
        if (push_chapter(sg, &cur) < 0)
            return -ENOMEM;
    }

    out->title = novel_title(sg, first_heading);
    out->toc_dropped = drop_toc(sg);
    if (sg->n == 0) {
        /* fallback: the whole text, less a title line at the top */
        size_t from = 0;
        while (from < sg->n_lines && sg->lines[from].blank)
            from++;
        if (out->title && from < sg->n_lines &&
            str_has(line_str(text, &sg->lines[from]), out->title) && sg->lines[from].cp_len <= 34)
            from++;
        memset(&cur, 0, sizeof(cur));
        cur.index = 1;
        cur.kind = STORY_CHAPTER_WHOLE;
        cur.number = -1;
        cur.title = out->title ? out->title : "正文";
        set_body(sg, &cur, from, sg->n_lines);
        if (push_chapter(sg, &cur) < 0)
            return -ENOMEM;
        out->fallback = true;
    }
    return 0;
}

int story_chapters(const struct story_text *t, struct story_chapters *ret)
{
    struct story_chapters out = { 0 };
    struct segmenter sg = { .text = t->text.p, .text_len = t->text.len };
    int r;

    if (t->text.len == 0)
        return -ENODATA;
    arena_init(&out.arena, 0);
    sg.arena = &out.arena;
    r = split_lines(&sg);
    if (r == 0)
        r = segment(&sg, &out);
    if (r == 0 && out.arena.err)
        r = out.arena.err;
    free(sg.lines);
    if (r < 0) {
        free(sg.v);
        arena_free(&out.arena);
        return r;
    }
    out.v = sg.v;
    out.n = sg.n;
    *ret = out;
    return 0;
}

void story_chapters_release(struct story_chapters *c)
{
    if (!c)
        return;
    free(c->v);
    arena_free(&c->arena);
    c->v = NULL;
    c->n = 0;
    c->title = NULL;
}
