/*
 * story dialogue: utterances in a chapter body and who speaks them.
 *
 * DESIGN
 *
 * Works on the decoded body (struct story_body) paragraph by paragraph; an
 * utterance never crosses a paragraph. Three passes over the paragraphs:
 *
 * 1. Quotes. “” ‘’ 「」 『』 and ASCII "..." (which toggles) are tracked on a
 *    small stack, so that a quote nested in another (same type or not)
 *    belongs to the outer one; a closer that matches a deeper opener pops
 *    to it; a stray closer is ignored, except a closer with no opener in
 *    its paragraph that a speech tag follows (女人……”阿Q想。), whose words
 *    then start at the paragraph start; an unclosed quote ends at the
 *    paragraph end. Without quotes, a speech verb and a colon (X道：...,
 *    common in 水浒/聊斋) start words that run to the end of the sentence.
 *    Quotes that only cite a term or a saying (“立言”, “诛心”, "...之句")
 *    are dropped: a kept quote has a speech tag before or after it, opens
 *    its paragraph, follows another quote, or reads as a sentence.
 * 2. Names. Tags are read as <clause> <speech verb> [：，。] “: the verb is
 *    the longest entry of speech_verbs ending there; the name is the clause
 *    before it, cut at the first adverb or addressee marker (便, 又, 对, 向,
 *    与 ...) and stripped of leading connectives (只见, 那, 当下 ...) and
 *    trailing manners (笑, 冷笑, 大喜, 含羞 ...). Names that come out clean
 *    (2-4 characters right after punctuation, or cut at an adverb) become
 *    the chapter's candidates, with the caller's known names.
 * 3. Attribution, most reliable rule first, each with a confidence:
 *    tag-before 0.9 (a candidate or known name) / 0.75 (a new name) /
 *    0.65 (a name guessed out of a longer clause); tag-after 0.85 / 0.7;
 *    a bare verb (便道) takes the sentence's subject ("subject", 0.75 for a
 *    candidate, 0.5-0.6 for a new name) or the paragraph's previous speaker
 *    ("same-paragraph", 0.55); a name right after the quote without a verb
 *    ("name-after", 0.55); a pronoun (他/她/那人) takes the nearest
 *    candidate mentioned before it ("pronoun", 0.4); a paragraph that goes
 *    on with an unclosed quote ("continued", 0.6); two alternating
 *    speakers before a bare quote ("alternation", 0.45). A one-character
 *    name (公, 许) costs 0.15; a known name adds 0.05. Anything below 0.5
 *    is meant for a human to check. Nothing found: speaker NULL, "none".
 *    Monologue: the verb or its clause says so (心想, 暗道, 寻思, 想,
 *    心下/心中 ...).
 *
 * Every scan is bounded (a tag clause is at most TAG_MAX code points, the
 * pronoun search PRONOUN_WINDOW), so the pass is linear in the body.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "story/story.h"
#include "story/story_int.h"

#define TAG_MAX        24  /* code points of a tag clause */
#define NAME_MAX_CP    6   /* longest name kept */
#define PRONOUN_WINDOW 300 /* code points searched back for a pronoun's referent */
#define QUOTE_DEPTH    16

/* ---- words ------------------------------------------------------------ */

/* Speech verbs (and inner-speech verbs) ending a tag. */
static const char *const speech_verbs[] = {
    /* inner speech */
    "心里说",
    "心中想",
    "心下想",
    "心里想",
    "心中道",
    "肚里想",
    "心内想",
    "寻思道",
    "思量道",
    "自思道",
    "心想",
    "心道",
    "暗想",
    "暗道",
    "寻思",
    "想道",
    "自忖",
    "忖道",
    "暗忖",
    "自思",
    "思量",
    "思忖",
    "想",
    /* speech */
    "说道",
    "笑道",
    "问道",
    "叫道",
    "喝道",
    "答道",
    "骂道",
    "应道",
    "哭道",
    "叹道",
    "喊道",
    "嚷道",
    "怒道",
    "回道",
    "禀道",
    "告道",
    "劝道",
    "喜道",
    "惊道",
    "谢道",
    "求道",
    "拜道",
    "接口道",
    "介面道",
    "接着道",
    "奏曰",
    "对曰",
    "答曰",
    "问曰",
    "言曰",
    "谓曰",
    "笑曰",
    "叹曰",
    "谕曰",
    "泣曰",
    "祝曰",
    "谢曰",
    "祝云",
    "喝令",
    "吩咐",
    "分付",
    "嘱咐",
    "央告",
    "告诉",
    "说",
    "道",
    "曰",
    "云",
    "言",
    "问",
    "叫",
    "喝",
    "嚷",
    "喊",
    "答",
    "骂",
    "应",
    "讲",
    "告",
    "奏",
    "白",
    "谓",
    "叹",
    "禀",
    "嘱",
    "祝",
};

/* Leading connectives of a tag clause (stripped repeatedly). */
static const char *const lead_words[] = {
    "只见", "只听得", "只听", "听得", "却说", "且说", "话说",   "但见", "忽见", "谁知",
    "不料", "只得",   "只好", "而且", "并且", "然而", "然后",   "但是", "可是", "不过",
    "所以", "因为",   "虽然", "内中", "其中", "有个", "有一个", "少间", "俄而", "既而",
    "未几", "移时",   "而",   "当下", "当时", "于是", "忽然",   "原来", "随即", "次日",
    "那时", "此时",   "这时", "半日", "半晌", "良久", "少顷",   "须臾", "一会", "迟了一会",
    "一面", "一边",   "正是", "因此", "因",   "遂",   "乃",     "却",   "便",   "又",
    "也",   "才",     "方",   "就",   "忽",   "这",   "那",     "只",   "再",   "还",
};

/* Trailing manners between a name and its verb (stripped repeatedly). */
static const char *const manner_words[] = {
    "冷笑", "陪笑", "赔笑", "含笑", "微笑", "大笑",   "笑嘻嘻", "笑吟吟", "笑",     "含羞",
    "连忙", "慌忙", "急忙", "忙忙", "忙",   "悄悄的", "悄悄",   "低声",   "高声",   "大声",
    "厉声", "轻声", "柔声", "大喜", "大怒", "大惊",   "大叫",   "大",     "叹口气", "叹",
    "怒",   "喜",   "惊",   "哭",   "回头", "点头",   "低头",   "抬头",   "起身",   "上前",
    "跪下", "再拜", "拜",   "叉手", "施礼", "听了",   "听罢",   "见了",   "冷冷的", "接口",
    "介面", "一面", "感叹", "心下", "心中", "心里",   "肚里",   "暗自",   "暗暗",   "顿首",
    "稽首", "叩首", "拱手", "作揖", "举手", "摇头",   "泣",     "笑着",   "哭着",   "跪着",
    "自",   "亦",   "也",   "便",   "又",   "只",     "却",     "就",     "乃",     "遂",
    "还",   "才",   "方",   "都",   "先",   "再",     "了",     "着",     "著",
    "缓缓", "慢慢", "冷冷地", "淡淡地", "淡淡", "咬牙", "咬着牙", "哈哈一笑", "哈哈", "嘿嘿",
    "自顾自", "自顾", "沉声", "朗声", "颤声", "喃喃", "喃喃地", "口里", "口中", "分付", "吩咐",
};

static bool in_set(const char *set, size_t len, uint32_t c)
{
    for (size_t i = 0; i < len;) {
        if (story_u8_next(set, len, &i) == c)
            return true;
    }
    return false;
}

/*
 * A name never goes past one of these: adverbs, addressee and action
 * markers. Weak ones also occur inside names (秀才, 方腊), so they only cut
 * a name of two characters or more.
 */
static bool is_name_stop(uint32_t c)
{
    static const char strong[] = "便又也只忙就却乃遂亦还再对向与跟问叫望朝给把被从听见看打拿走站"
                                 "坐愈越已笑说道曰云想喝答骂怒喜惊哭叹拉指伸放抢扶携接拍抱跪拜"
                                 "告谓而思欲往于连独";
    return in_set(strong, sizeof(strong) - 1, c);
}

static bool is_weak_stop(uint32_t c)
{
    static const char weak[] = "才方正先自不一和同在";
    return in_set(weak, sizeof(weak) - 1, c);
}

static const char *const pronouns[] = {
    "他们", "她们", "我们", "咱们", "那人", "此人", "这人",
    "他",   "她",   "我",   "你",   "其",   "伊",   "彼",
};

/* Not names: what a clause can leave behind. */
static const char *const junk_names[] = {
    "有人", "人", "众", "两个", "二人", "大家", "一个", "自己", "听了", "说着", "说著", "此", "因",
};

static bool is_open(uint32_t c)
{
    return c == 0x201C || c == 0x2018 || c == 0x300C || c == 0x300E || c == 0xFF02;
}

static bool is_close(uint32_t c)
{
    return c == 0x201D || c == 0x2019 || c == 0x300D || c == 0x300F;
}

static uint32_t closer_of(uint32_t open)
{
    switch (open) {
    case 0x201C:
        return 0x201D;
    case 0x2018:
        return 0x2019;
    case 0x300C:
        return 0x300D;
    case 0x300E:
        return 0x300F;
    default:
        return open; /* ASCII " and ＂ close themselves */
    }
}

static bool is_colon(uint32_t c)
{
    return c == 0xFF1A || c == ':' || c == 0x2236 /* ∶ */ || c == 0xFE55;
}

static bool is_sentence_end(uint32_t c)
{
    return c == 0x3002 || c == 0xFF01 || c == 0xFF1F || c == '!' || c == '?';
}

/* Where a tag clause stops looking back. */
static bool is_clause_delim(uint32_t c)
{
    return story_is_punct(c) || story_is_space(c) || c == '\n' || is_open(c) || is_close(c) ||
           c == '"';
}

static bool in_set(const char *set, size_t len, uint32_t c);

/* A clause ending so reads as a time (之后, 一日, 当时) or a verb (出来), not a name. */
static bool is_time_word(uint32_t c)
{
    static const char ends[] = "后时间日天夜晚早年月了有是中来去";
    return in_set(ends, sizeof(ends) - 1, c);
}

/* Letters a name is made of: CJK ideographs, ASCII letters and digits (阿Q). */
static bool is_name_cp(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2FFFF) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || (c >= 0xFF21 && c <= 0xFF3A);
}

/* ---- body helpers --------------------------------------------------------- */

static size_t lit_cps(const char *w)
{
    size_t n = 0;
    for (const char *p = w; *p; p++)
        n += ((unsigned char)*p & 0xC0) != 0x80;
    return n;
}

/* w starts at code point i and ends by `to`. */
static bool word_at(const struct story_body *b, size_t i, size_t to, const char *w)
{
    size_t n = strlen(w);
    return i <= to && b->byte[to] - b->byte[i] >= n && memcmp(b->p + b->byte[i], w, n) == 0;
}

/* w ends just before code point i and starts at or after `from`; returns its cp length or 0. */
static size_t word_before(const struct story_body *b, size_t from, size_t i, const char *w)
{
    size_t n = strlen(w), k = lit_cps(w);
    if (i < from + k || b->byte[i] - b->byte[i - k] != n)
        return 0;
    return memcmp(b->p + b->byte[i - k], w, n) == 0 ? k : 0;
}

/* Longest word of list ending before i (not before from): its cp length, 0 when none. */
static size_t longest_before(const struct story_body *b,
                             size_t from,
                             size_t i,
                             const char *const *list,
                             size_t n,
                             const char **ret_word)
{
    size_t best = 0;
    for (size_t k = 0; k < n; k++) {
        size_t m = word_before(b, from, i, list[k]);
        if (m > best) {
            best = m;
            if (ret_word)
                *ret_word = list[k];
        }
    }
    return best;
}

static size_t
longest_at(const struct story_body *b, size_t i, size_t to, const char *const *list, size_t n)
{
    size_t best = 0;
    for (size_t k = 0; k < n; k++) {
        size_t m = lit_cps(list[k]);
        if (m > best && i + m <= to && word_at(b, i, to, list[k]))
            best = m;
    }
    return best;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool
range_is(const struct story_body *b, size_t from, size_t to, const char *const *list, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        size_t len = strlen(list[k]);
        if (b->byte[to] - b->byte[from] == len && memcmp(b->p + b->byte[from], list[k], len) == 0)
            return true;
    }
    return false;
}

/* ---- names ------------------------------------------------------------------ */

enum name_how {
    NAME_NONE = 0,  /* the clause holds no name (便道) */
    NAME_CANDIDATE, /* a candidate or known name */
    NAME_CLEAN,     /* a new name, cleanly delimited */
    NAME_GUESS,     /* a new name cut out of a longer clause */
    NAME_PRONOUN,   /* 他, 她, 那人 ... */
};

struct name {
    enum name_how how;
    size_t begin, end; /* code points of the name in the body */
    bool monologue;    /* the clause said 心下/心中/暗自 ... */
};

struct scan {
    const struct story_body *b;
    struct story_chapter_parts *parts;
    struct story_nameset names; /* candidates: value 1 known, 0 found */
    size_t max_name_cp;
};

/* Longest candidate starting at i (within to): its cp length, 0 when none. */
static size_t candidate_at(const struct scan *sc, size_t i, size_t to, bool *ret_known)
{
    const struct story_body *b = sc->b;
    size_t best = 0;
    for (size_t k = 1; k <= sc->max_name_cp && i + k <= to; k++) {
        struct story_name_slot *s =
            story_nameset_find(&sc->names, b->p + b->byte[i], b->byte[i + k] - b->byte[i]);
        if (s) {
            best = k;
            if (ret_known)
                *ret_known = s->value == 1;
        }
    }
    return best;
}

/* Clause start: back from i over at most TAG_MAX name-ish code points. */
static size_t clause_start(const struct story_body *b, size_t floor, size_t i)
{
    size_t j = i;
    while (j > floor && i - j < TAG_MAX && !is_clause_delim(b->cp[j - 1]))
        j--;
    return j;
}

/*
 * The name in clause [from, to) (the text before a speech verb). `strict`
 * asks for a clean name only (the candidate-collection pass).
 */
static struct name clause_name(const struct scan *sc, size_t from, size_t to)
{
    const struct story_body *b = sc->b;
    struct name nm = { .how = NAME_NONE };
    size_t m;

    /* leading connectives; keep 那些人 / 这些人 whole */
    while (from < to && !word_at(b, from, to, "那些") && !word_at(b, from, to, "这些") &&
           (m = longest_at(b, from, to, lead_words, COUNT(lead_words))) > 0) {
        bool known = false;
        if (candidate_at(sc, from, to, &known) > m)
            break; /* 那端王 is not stripped when 那端王 is a name */
        from += m;
    }
    while (from < to && !is_name_cp(b->cp[from]))
        from++;
    static const char *const inner_words[] = { "自肚里", "心下", "心中", "心里",
                                               "心内",   "肚里", "暗自", "暗暗" };
    if (from < to && (m = longest_at(b, from, to, inner_words, COUNT(inner_words))) > 0) {
        nm.monologue = true;
        from += m;
    }
    if (from >= to)
        return nm;
    if (is_name_stop(b->cp[from]) && candidate_at(sc, from, to, NULL) == 0)
        return nm; /* 与高俅道: the clause starts with its addressee */

    /* a candidate at the start wins */
    m = candidate_at(sc, from, to, NULL);
    if (m > 0 && (m >= 2 || to - from <= 3)) {
        nm.how = NAME_CANDIDATE;
        nm.begin = from;
        nm.end = from + m;
        goto strip_check;
    }

    /* a pronoun at the start */
    m = longest_at(b, from, to, pronouns, COUNT(pronouns));
    if (m > 0 && (m == to - from || is_name_stop(b->cp[from + m]) || m >= 2)) {
        nm.how = NAME_PRONOUN;
        nm.begin = from;
        nm.end = from + m;
        return nm;
    }

    /* manners right before the verb go first, so that 冷笑 in 少年冷笑道 is not
     * cut at its 笑 and left as 少年冷 */
    size_t to2 = to, k2;
    while (to2 > from + 1 &&
           (k2 = longest_before(b, from, to2, manner_words, COUNT(manner_words), NULL)) > 0 &&
           to2 - k2 > from)
        to2 -= k2;

    /* cut at the first stop after the first character (a weak one after the second) */
    size_t end = from + 1;
    while (end < to2 && !is_name_stop(b->cp[end]) && is_name_cp(b->cp[end]) &&
           !(end >= from + 2 && is_weak_stop(b->cp[end])))
        end++;
    bool cut = end < to2, strong_cut = cut && is_name_stop(b->cp[end]);
    /* trailing manners */
    size_t k;
    while (end > from &&
           (k = longest_before(b, from, end, manner_words, COUNT(manner_words), NULL)) > 0) {
        if (word_before(b, from, end, "心下") || word_before(b, from, end, "心中") ||
            word_before(b, from, end, "心里") || word_before(b, from, end, "暗自") ||
            word_before(b, from, end, "肚里"))
            nm.monologue = true;
        end -= k;
    }
    if (end - from > NAME_MAX_CP || end == from)
        return nm;
    if (range_is(b, from, end, junk_names, COUNT(junk_names)))
        return nm;
    if (range_is(b, from, end, pronouns, COUNT(pronouns))) {
        nm.how = NAME_PRONOUN;
        nm.begin = from;
        nm.end = end;
        return nm;
    }
    for (size_t i = from; i < end; i++)
        if (!is_name_cp(b->cp[i]))
            return nm;
    /* 登基之后, 一日: a time, not a name; but 少年, 青年 are people */
    static const char *const people_in_time[] = { "少年", "青年", "中年人", "老年人", "那少年", "小少年" };
    if (is_time_word(b->cp[end - 1]) && !range_is(b, from, end, people_in_time, COUNT(people_in_time)))
        return nm;
    /* cut at an adverb or a verb (吴妈还唠叨说): as good as clean */
    nm.how = end - from > 4 || (cut && !strong_cut) ? NAME_GUESS : NAME_CLEAN;
    if (end - from == 1 && cut) /* 酌而言曰: one character cut from a clause is a verb */
        return (struct name){ .how = NAME_NONE, .monologue = nm.monologue };
    nm.begin = from;
    nm.end = end;
    return nm;

strip_check:
    for (size_t i = nm.end; i + 1 < to; i++)
        if (word_at(b, i, to, "心下") || word_at(b, i, to, "心中") || word_at(b, i, to, "心里") ||
            word_at(b, i, to, "暗自") || word_at(b, i, to, "肚里"))
            nm.monologue = true;
    return nm;
}

/* A speech verb ending just before i (after from): its length, and whether inner speech. */
static size_t verb_before(const struct story_body *b, size_t from, size_t i, bool *ret_inner)
{
    const char *w = NULL;
    size_t m = longest_before(b, from, i, speech_verbs, COUNT(speech_verbs), &w);
    if (m == 0)
        return 0;
    if (ret_inner)
        *ret_inner = strstr(w, "想") || strstr(w, "思") || strstr(w, "忖") ||
                     strncmp(w, "心", strlen("心")) == 0 || strncmp(w, "暗", strlen("暗")) == 0 ||
                     strncmp(w, "肚", strlen("肚")) == 0;
    return m;
}

/* ---- utterances ------------------------------------------------------------- */

struct tag {
    bool found;         /* a speech verb (or an introducing colon) */
    bool inner;         /* inner speech */
    size_t clause_from; /* the clause before the verb */
    size_t verb;        /* verb start (== clause end) */
};

struct utt {
    size_t qb, qe, b, e;
    size_t para;
    bool quoted, unclosed, continued;
    struct tag before, after;
    struct name who_after; /* a name right after the closer, without a verb */
    enum story_utterance_kind kind;
    const char *speaker;
    double confidence;
    const char *rule;
};

struct uvec {
    struct utt *v;
    size_t n, alloc;
};

static int push(struct uvec *u, const struct utt *x)
{
    if (u->n == u->alloc) {
        size_t na = u->alloc ? u->alloc * 2 : 64;
        struct utt *nv = realloc(u->v, na * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        u->v = nv;
        u->alloc = na;
    }
    u->v[u->n++] = *x;
    return 0;
}

/* Tag before the opener at qb: [verb] [：，。]? or a colon; floor is where looking back stops. */
static struct tag tag_before(const struct story_body *b, size_t floor, size_t qb, size_t pb)
{
    struct tag t = { 0 };
    size_t i = qb;
    while (i > floor && story_is_space(b->cp[i - 1]))
        i--;
    bool colon = false;
    if (i > floor && (is_colon(b->cp[i - 1]) || b->cp[i - 1] == 0xFF0C || b->cp[i - 1] == ',' ||
                      b->cp[i - 1] == 0x3002)) {
        colon = is_colon(b->cp[i - 1]);
        i--;
    }
    if (i == pb && qb == pb) {
        /* a quote opening its paragraph: the previous paragraph may end with "...说：" */
        if (pb >= 2) {
            size_t j = pb - 1; /* the newline */
            while (j > 0 && (b->cp[j - 1] == '\n' || story_is_space(b->cp[j - 1])))
                j--;
            if (j > 0 && is_colon(b->cp[j - 1])) {
                size_t pstart = j - 1;
                while (pstart > 0 && b->cp[pstart - 1] != '\n')
                    pstart--;
                return tag_before(b, pstart, j, pstart);
            }
        }
        return t;
    }
    bool inner = false;
    size_t m = verb_before(b, floor, i, &inner);
    if (m > 0) {
        t.found = true;
        t.inner = inner;
        t.verb = i - m;
        t.clause_from = clause_start(b, floor, t.verb);
        return t;
    }
    if (colon) {
        /* 又问刘姥姥： a verb inside the clause, its object after it */
        size_t from = clause_start(b, floor, i);
        for (size_t j = from; j < i; j++) {
            bool in = false;
            size_t k = 0;
            for (size_t w = 0; w < COUNT(speech_verbs) && k == 0; w++)
                if (word_at(b, j, i, speech_verbs[w]) && lit_cps(speech_verbs[w]) == 1)
                    k = 1;
            if (k) {
                t.found = true;
                t.verb = j;
                t.clause_from = from;
                (void)verb_before(b, from, j + 1, &in);
                t.inner = in;
                return t;
            }
        }
        t.found = true; /* a colon alone still introduces speech */
        t.verb = i;
        t.clause_from = from;
    }
    return t;
}

/* Tag after the closer at qe: a clause ending in a speech verb before punctuation. */
static struct tag tag_after(const struct story_body *b, size_t qe, size_t pe)
{
    struct tag t = { 0 };
    size_t i = qe;
    if (i < pe && (b->cp[i] == 0xFF0C || b->cp[i] == ','))
        i++;
    size_t j = i;
    while (j < pe && j - i < TAG_MAX && !is_clause_delim(b->cp[j]))
        j++;
    if (j == i)
        return t;
    if (j < pe && is_colon(b->cp[j]))
        return t; /* it introduces the next quote */
    bool inner = false;
    size_t m = verb_before(b, i, j, &inner);
    if (m == 0) {
        /* 道了 / 说着 after the verb */
        size_t k = j;
        if (k > i && (b->cp[k - 1] == 0x7740 || b->cp[k - 1] == 0x8457 || b->cp[k - 1] == 0x4E86))
            k--;
        m = verb_before(b, i, k, &inner);
        if (m == 0)
            return t;
        j = k;
    }
    t.found = true;
    t.inner = inner;
    t.clause_from = i;
    t.verb = j - m;
    return t;
}

/* Decide whether a quote is speech rather than a cited term. */
static bool
is_speech(const struct story_body *b, const struct utt *u, size_t pb, size_t pe, bool after_quote)
{
    if (u->before.found || u->after.found || u->qb == pb || after_quote)
        return true;
    size_t words = 0;
    bool sentence = false;
    for (size_t i = u->b; i < u->e; i++) {
        uint32_t c = b->cp[i];
        if (is_name_cp(c))
            words++;
        else if (is_sentence_end(c) || c == 0xFF0C || c == 0xFF1B || c == 0x2026 || c == ',')
            sentence = true;
    }
    if (!sentence || words <= 4)
        return false;
    /* "...之句", “...”二字: a citation */
    static const char *const cite[] = { "之句", "之说", "之语", "二字", "两字", "两个字", "等字",
                                        "一句", "这句", "的话", "云云", "之类", "字样" };
    for (size_t k = 0; k < COUNT(cite); k++)
        if (word_at(b, u->qe, pe, cite[k]))
            return false;
    return true;
}

/* Quotes and colon speech of paragraph [pb, pe). */
static int scan_paragraph(struct scan *sc,
                          struct uvec *out,
                          size_t para,
                          size_t pb,
                          size_t pe,
                          bool prev_unclosed)
{
    const struct story_body *b = sc->b;
    uint32_t stack[QUOTE_DEPTH];
    size_t depth = 0, start = 0, floor = pb, found = 0;
    bool after_quote = false;

    for (size_t i = pb; i < pe; i++) {
        uint32_t c = b->cp[i];
        bool ascii = c == '"' || c == 0xFF02;
        if (depth == 0) {
            if (is_open(c) || ascii) {
                stack[depth++] = c;
                start = i;
                continue;
            }
            if (is_close(c) && found == 0 && i > pb) {
                /* 女人……”阿Q想。: an opener lost at the paragraph start */
                struct tag t = tag_after(b, i + 1, pe);
                if (t.found) {
                    struct utt u = { .qb = pb,
                                     .qe = i + 1,
                                     .b = pb,
                                     .e = i,
                                     .para = para,
                                     .quoted = true,
                                     .after = t };
                    int r = push(out, &u);
                    if (r < 0)
                        return r;
                    found++;
                    floor = i + 1;
                }
                continue;
            }
            if (is_colon(c) && i + 1 < pe) {
                size_t j = i + 1;
                while (j < pe && story_is_space(b->cp[j]))
                    j++;
                if (j >= pe || is_open(b->cp[j]) || b->cp[j] == '"')
                    continue;
                bool inner = false;
                size_t m = verb_before(b, floor, i, &inner);
                if (m == 0)
                    continue;
                size_t e = j;
                while (e < pe && !is_sentence_end(b->cp[e]) && !is_open(b->cp[e]) &&
                       b->cp[e] != '"')
                    e++;
                if (e < pe && is_sentence_end(b->cp[e]))
                    e++;
                struct utt u = { .qb = j, .qe = e, .b = j, .e = e, .para = para };
                u.before = (struct tag){ .found = true,
                                         .inner = inner,
                                         .verb = i - m,
                                         .clause_from = clause_start(b, floor, i - m) };
                int r = push(out, &u);
                if (r < 0)
                    return r;
                found++;
                floor = e;
                after_quote = false;
                i = e - 1;
            }
            if (!story_is_space(c))
                after_quote = false;
            continue;
        }
        /* inside a quote */
        if (ascii) {
            size_t k = depth;
            while (k > 0 && stack[k - 1] != '"' && stack[k - 1] != 0xFF02)
                k--;
            if (k > 0)
                depth = k - 1;
            else if (depth < QUOTE_DEPTH)
                stack[depth++] = c;
        } else if (is_open(c)) {
            if (depth < QUOTE_DEPTH)
                stack[depth++] = c;
        } else if (is_close(c)) {
            size_t k = depth;
            while (k > 0 && closer_of(stack[k - 1]) != c)
                k--;
            if (k > 0)
                depth = k - 1;
        }
        if (depth == 0) {
            struct utt u = {
                .qb = start, .qe = i + 1, .b = start + 1, .e = i, .para = para, .quoted = true
            };
            u.before = tag_before(b, floor, start, pb);
            u.after = tag_after(b, i + 1, pe);
            if (is_speech(b, &u, pb, pe, after_quote)) {
                u.continued = prev_unclosed && start == pb;
                int r = push(out, &u);
                if (r < 0)
                    return r;
                found++;
                floor = i + 1;
                after_quote = true;
            }
        }
    }
    if (depth > 0) {
        struct utt u = { .qb = start,
                         .qe = pe,
                         .b = start + 1,
                         .e = pe,
                         .para = para,
                         .quoted = true,
                         .unclosed = true };
        u.before = tag_before(b, floor, start, pb);
        u.continued = prev_unclosed && start == pb;
        return push(out, &u);
    }
    return 0;
}

/* ---- attribution --------------------------------------------------------------- */

static const char *name_str(struct scan *sc, size_t from, size_t to)
{
    const struct story_body *b = sc->b;
    return arena_strndup(&sc->parts->arena, b->p + b->byte[from], b->byte[to] - b->byte[from]);
}

/* The nearest candidate ending before i, no further back than floor. */
static bool
nearest_candidate(const struct scan *sc, size_t floor, size_t i, size_t *ret_from, size_t *ret_to)
{
    const struct story_body *b = sc->b;
    for (size_t j = i; j > floor; j--) {
        for (size_t k = sc->max_name_cp; k >= 2; k--) {
            if (j < floor + k)
                continue;
            if (story_nameset_find(&sc->names, b->p + b->byte[j - k],
                                   b->byte[j] - b->byte[j - k])) {
                *ret_from = j - k;
                *ret_to = j;
                return true;
            }
        }
    }
    return false;
}

/*
 * The subject of the sentence holding position i: a candidate (or pronoun)
 * opening one of its clauses, else in *ret_guess a new name opening its
 * first clause that is not a time (住了十数日，董将仕...).
 */
static struct name
sentence_subject(const struct scan *sc, size_t floor, size_t i, struct name *ret_guess)
{
    const struct story_body *b = sc->b;
    size_t s = i;
    while (s > floor && !is_sentence_end(b->cp[s - 1]) && !is_close(b->cp[s - 1]) &&
           b->cp[s - 1] != '\n' && i - s < 4 * TAG_MAX)
        s--;
    struct name none = { .how = NAME_NONE };
    bool first = true;
    *ret_guess = none;
    while (s < i) {
        size_t e = s;
        while (e < i && !is_clause_delim(b->cp[e]))
            e++;
        if (e > s) {
            struct name nm = clause_name(sc, s, e);
            if (nm.how == NAME_CANDIDATE || nm.how == NAME_PRONOUN)
                return nm;
            bool one = candidate_at(sc, s, e, NULL) == 1;
            if (one) {
                nm = (struct name){ .how = NAME_CANDIDATE, .begin = s, .end = s + 1 };
                return nm;
            }
            if (first && (nm.how == NAME_CLEAN || nm.how == NAME_GUESS) && nm.end - nm.begin >= 2 &&
                nm.end - nm.begin <= 4)
                *ret_guess = nm;
            if (!is_time_word(b->cp[e - 1]))
                first = false;
        }
        s = e + 1;
    }
    return none;
}

static void set(struct utt *u, const char *speaker, double conf, const char *rule)
{
    u->speaker = speaker;
    u->confidence = conf < 0 ? 0 : conf > 0.99 ? 0.99 : conf;
    u->rule = rule;
}

/* Speaker from a resolved name: candidates and clean names directly, pronouns by reference. */
static bool from_name(struct scan *sc,
                      struct utt *u,
                      struct name nm,
                      double base,
                      const char *rule,
                      size_t para_floor)
{
    if (nm.how == NAME_NONE)
        return false;
    if (nm.how == NAME_PRONOUN) {
        size_t f, t;
        size_t floor = nm.begin > PRONOUN_WINDOW ? nm.begin - PRONOUN_WINDOW : 0;
        (void)para_floor;
        if (nearest_candidate(sc, floor, nm.begin, &f, &t)) {
            set(u, name_str(sc, f, t), 0.4, "pronoun");
            return true;
        }
        set(u, NULL, 0.2, "pronoun");
        return true;
    }
    double conf = base;
    bool known = false;
    if (nm.how == NAME_CANDIDATE) {
        struct story_name_slot *s = story_nameset_find(&sc->names, sc->b->p + sc->b->byte[nm.begin],
                                                       sc->b->byte[nm.end] - sc->b->byte[nm.begin]);
        known = s && s->value == 1;
    } else {
        conf -= nm.how == NAME_GUESS ? 0.25 : 0.15;
    }
    if (nm.end - nm.begin == 1)
        conf -= 0.15;
    if (known)
        conf += 0.05;
    set(u, name_str(sc, nm.begin, nm.end), conf, rule);
    return true;
}

/* Start of the paragraph before the one at pb (for pronoun look-back). */
static size_t prev_para_start(const struct story_chapter_parts *p, size_t para)
{
    return para > 0 ? p->paragraphs[para - 1].begin : p->paragraphs[para].begin;
}

static void attribute(struct scan *sc, struct uvec *uv)
{
    const struct story_body *b = sc->b;
    struct story_chapter_parts *p = sc->parts;

    for (size_t k = 0; k < uv->n; k++) {
        struct utt *u = &uv->v[k];
        struct utt *prev = k > 0 ? &uv->v[k - 1] : NULL;
        size_t pb = p->paragraphs[u->para].begin, pe = p->paragraphs[u->para].end;
        size_t look = prev_para_start(p, u->para);
        bool inner = u->before.found ? u->before.inner : u->after.found && u->after.inner;
        set(u, NULL, 0.0, "none");

        if (u->before.found) {
            struct name nm = clause_name(sc, u->before.clause_from, u->before.verb);
            inner |= nm.monologue;
            if (!from_name(sc, u, nm, 0.9, "tag-before", look)) {
                struct name guess;
                struct name subj = sentence_subject(sc, u->before.clause_from >= pb ? pb : look,
                                                    u->before.clause_from, &guess);
                if (subj.how != NAME_NONE)
                    from_name(sc, u, subj, 0.75, "subject", look);
                else if (guess.how == NAME_CLEAN && guess.end < u->before.clause_from &&
                         is_name_stop(b->cp[guess.end]))
                    from_name(sc, u, guess, 0.75, "subject", look); /* 众人打量了一会，便问 */
                else if (prev && prev->para == u->para && prev->speaker)
                    set(u, prev->speaker, 0.55, "same-paragraph");
                else
                    from_name(sc, u, guess, 0.75, "subject", look);
            }
        }
        if (!u->speaker && u->after.found) {
            struct name nm = clause_name(sc, u->after.clause_from, u->after.verb);
            inner |= nm.monologue;
            if (nm.how != NAME_NONE)
                from_name(sc, u, nm, 0.85, "tag-after", look);
            else if (prev && prev->para == u->para && prev->speaker)
                set(u, prev->speaker, 0.55, "same-paragraph");
        }
        if (!u->speaker && u->quoted && !u->after.found) {
            /* “阿呀！”吴妈楞了一息: a candidate right after the closer */
            size_t i = u->qe;
            size_t m = i < pe ? candidate_at(sc, i, pe, NULL) : 0;
            if (m >= 2)
                set(u, name_str(sc, i, i + m), 0.55, "name-after");
        }
        if (!u->speaker && u->continued && prev && prev->speaker)
            set(u, prev->speaker, 0.6, "continued");
        if (!u->speaker && !u->before.found && !u->after.found && k >= 2) {
            const struct utt *a = &uv->v[k - 2], *c = &uv->v[k - 1];
            bool near = u->para <= c->para + 1 && c->para <= a->para + 1;
            if (near && a->speaker && c->speaker && strcmp(a->speaker, c->speaker) != 0)
                set(u, a->speaker, 0.45, "alternation");
        }
        u->kind = inner ? STORY_UTT_MONOLOGUE : STORY_UTT_DIALOGUE;
    }
}

/* ---- candidates ------------------------------------------------------------------ */

static int add_candidate(struct scan *sc, const char *p, size_t len, size_t value)
{
    struct story_name_slot *s = NULL;
    int r = story_nameset_add(&sc->names, p, len, &s);
    if (r < 0)
        return r;
    if (value == 1)
        s->value = 1;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)p[i] & 0xC0) != 0x80;
    if (n > sc->max_name_cp)
        sc->max_name_cp = n;
    return 0;
}

/* Clean names of the tags become candidates. */
static int collect(struct scan *sc, const struct uvec *uv)
{
    const struct story_body *b = sc->b;
    for (size_t k = 0; k < uv->n; k++) {
        const struct tag *tags[2] = { &uv->v[k].before, &uv->v[k].after };
        for (int t = 0; t < 2; t++) {
            if (!tags[t]->found || tags[t]->verb <= tags[t]->clause_from)
                continue;
            struct name nm = clause_name(sc, tags[t]->clause_from, tags[t]->verb);
            if (nm.how != NAME_CLEAN)
                continue;
            size_t len = nm.end - nm.begin;
            /* one character only when it is the whole clause (，许曰) */
            if (len == 1 && (nm.begin != tags[t]->clause_from || nm.end != tags[t]->verb))
                continue;
            int r =
                add_candidate(sc, b->p + b->byte[nm.begin], b->byte[nm.end] - b->byte[nm.begin], 0);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

int story_dialogue_scan(const struct story_body *b,
                        struct story_chapter_parts *parts,
                        const char *const *known)
{
    struct scan sc = { .b = b, .parts = parts };
    struct uvec uv = { 0 };
    int r = 0;

    for (size_t i = 0; known && known[i] && r == 0; i++)
        if (known[i][0])
            r = add_candidate(&sc, known[i], strlen(known[i]), 1);
    bool unclosed = false;
    for (size_t i = 0; i < parts->n_paragraphs && r == 0; i++) {
        size_t before = uv.n;
        r = scan_paragraph(&sc, &uv, i, parts->paragraphs[i].begin, parts->paragraphs[i].end,
                           unclosed);
        unclosed = uv.n > before && uv.v[uv.n - 1].unclosed;
    }
    if (r == 0)
        r = collect(&sc, &uv);
    if (r == 0)
        attribute(&sc, &uv);

    if (r == 0) {
        parts->utterances =
            arena_calloc(&parts->arena, uv.n ? uv.n : 1, sizeof(*parts->utterances));
        if (!parts->utterances)
            r = -ENOMEM;
    }
    for (size_t k = 0; r == 0 && k < uv.n; k++) {
        const struct utt *u = &uv.v[k];
        parts->utterances[k] = (struct story_utterance){
            .begin = u->b,
            .end = u->e,
            .qbegin = u->qb,
            .qend = u->qe,
            .kind = u->kind,
            .speaker = u->speaker,
            .confidence = u->confidence,
            .rule = u->rule,
            .paragraph = u->para,
        };
    }
    if (r == 0)
        parts->n_utterances = uv.n;
    if (r == 0 && parts->arena.err)
        r = parts->arena.err;
    free(uv.v);
    story_nameset_release(&sc.names);
    return r;
}
