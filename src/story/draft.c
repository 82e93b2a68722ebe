/*
 * The rule-based drafter: one scene's paragraphs and utterances in, a shot
 * list in the storyboard result format out (story.h, docs/storyboard.md).
 *
 * DESIGN
 *
 * The scene is decoded once into code points with their byte offsets, so
 * that every range below is an index pair in the scene (scene-relative code
 * points: the contract's `source`). The walk then cuts the scene into units,
 * in text order:
 *   - a line: one utterance (quotes included), plus the short narration that
 *     tags it ("宋江道：", at most TAG_MAX characters) before or after it
 *     within the paragraph; a line longer than LINE_SECONDS of speech is cut
 *     at sentence ends into several lines;
 *   - an action: narration longer than a tag, cut at sentence ends (or
 *     commas, if a sentence is too long) into pieces of at most
 *     ACTION_SECONDS_MAX of screen time.
 * Units become shots:
 *   - the scene's opening narration (before any line, in its first
 *     paragraph) is an establishing shot: long (full when a character is
 *     named), static, with the text as picture;
 *   - an action is medium when it names one character, full otherwise; its
 *     move comes from verbs (走近 push, 退后 pull, 抬头 tilt, 远处 pan,
 *     腾空 crane, 追 follow, 走/跑 track), its angle from 俯视/仰望;
 *   - consecutive lines of one known speaker join one shot (at most
 *     RUN_MAX lines and LINE_SECONDS of speech); a line shot is closeup for
 *     a monologue or an emotion (怒 哭 惊 泪 …), medium when it opens a
 *     two-person exchange or names two characters, close otherwise;
 *   - characters: the cast ids of names found in the shot's source, and
 *     its speakers; sound: keywords and onomatopoeia (雷 风 马蹄 鼓 钟 …);
 *     transition: fade for the scene's first shot, cut after;
 *   - duration: speech characters / speech_rate for a line shot; for an
 *     action, max(action_seconds, characters / ACTION_CHARS_PER_SECOND);
 *     rounded to 0.5 s, at least 1.5 s, at most 600 s.
 * The input is trusted to be well-formed UTF-8 (story_ingest's output) but
 * not trusted to be consistent: ranges are clamped to the scene, utterances
 * that overlap or run backwards are skipped.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/utf8.h"
#include "story/story.h"

#define TAG_MAX                 20   /* a narration piece this short tags a line */
#define LINE_SECONDS            12.0 /* speech in one line shot, soft limit */
#define ACTION_SECONDS_MAX      12.0 /* screen time of one action shot, soft limit */
#define ACTION_CHARS_PER_SECOND 8.0  /* how fast an action's text plays */
#define RUN_MAX                 3    /* lines of one speaker joined in one shot */
#define SPEAKER_SURE            0.5  /* below: the shot's notes ask a person to check the speaker */
#define MIN_SHOT_SECONDS        1.5
#define MAX_SHOT_SECONDS        600.0
#define SHOT_ID_MAX             64

/* ------------------------------------------------------------------------ */
/* The scene as code points                                                 */
/* ------------------------------------------------------------------------ */

struct scene {
    const char *p; /* the chapter body */
    size_t base;   /* body code point of scene code point 0 */
    size_t n;      /* code points in the scene */
    uint32_t *cp;  /* n code points */
    size_t *byte;  /* n + 1 byte offsets into p */
};

static uint32_t u8_next(const unsigned char *s, size_t len, size_t *i)
{
    uint32_t c = s[*i];
    size_t left = len - *i;

    if (c < 0x80) {
        *i += 1;
        return c;
    }
    if (c >= 0xF0 && left >= 4) {
        c = ((c & 0x07) << 18) | ((uint32_t)(s[*i + 1] & 0x3F) << 12) |
            ((uint32_t)(s[*i + 2] & 0x3F) << 6) | (s[*i + 3] & 0x3F);
        *i += 4;
        return c;
    }
    if (c >= 0xE0 && left >= 3) {
        c = ((c & 0x0F) << 12) | ((uint32_t)(s[*i + 1] & 0x3F) << 6) | (s[*i + 2] & 0x3F);
        *i += 3;
        return c;
    }
    if (c >= 0xC0 && left >= 2) {
        c = ((c & 0x1F) << 6) | (s[*i + 1] & 0x3F);
        *i += 2;
        return c;
    }
    *i += 1; /* a stray byte: one code point, as utf8_count would not say */
    return 0xFFFD;
}

/* Decode the code points [begin, end) of the body; 0 or -ENOMEM. */
static int
scene_load(struct scene *sc, const struct story_chapter_parts *parts, size_t begin, size_t end)
{
    const unsigned char *s = (const unsigned char *)parts->body;
    size_t len = parts->body ? parts->body_bytes : 0;
    size_t i = 0, k = 0;

    memset(sc, 0, sizeof(*sc));
    sc->p = parts->body ? parts->body : "";
    if (end < begin)
        end = begin;
    while (i < len && k < begin) {
        u8_next(s, len, &i);
        k++;
    }
    sc->base = k;
    sc->cp = malloc(sizeof(*sc->cp) * (end - begin + 1));
    sc->byte = malloc(sizeof(*sc->byte) * (end - begin + 2));
    if (!sc->cp || !sc->byte) {
        free(sc->cp);
        free(sc->byte);
        return -ENOMEM;
    }
    while (i < len && k < end) {
        sc->byte[sc->n] = i;
        sc->cp[sc->n++] = u8_next(s, len, &i);
        k++;
    }
    sc->byte[sc->n] = i;
    return 0;
}

static void scene_release(struct scene *sc)
{
    free(sc->cp);
    free(sc->byte);
}

/* A body code point offset as a scene index, clamped to [0, n]. */
static size_t rel(const struct scene *sc, size_t body_cp)
{
    if (body_cp <= sc->base)
        return 0;
    if (body_cp - sc->base >= sc->n)
        return sc->n;
    return body_cp - sc->base;
}

static const char *at(const struct scene *sc, size_t i)
{
    return sc->p + sc->byte[i];
}

static size_t bytes(const struct scene *sc, size_t b, size_t e)
{
    return sc->byte[e] - sc->byte[b];
}

/*
 * The code points of a range as a 256-bit Bloom filter: a keyword whose
 * first code point is not in it cannot occur, which spares most memmem()
 * calls (each shot is tested against some eighty keywords).
 */
struct cpset {
    uint64_t bits[4];
};

static struct cpset cpset_of(const struct scene *sc, size_t b, size_t e)
{
    struct cpset cps = { { 0 } };

    for (size_t i = b; i < e; i++) {
        uint32_t h = (sc->cp[i] * 2654435761u) >> 24;
        cps.bits[h >> 6] |= (uint64_t)1 << (h & 63);
    }
    return cps;
}

/* Does [b, e) (whose code points are `set`) contain the UTF-8 string `needle`? */
static bool
contains(const struct scene *sc, const struct cpset *set, size_t b, size_t e, const char *needle)
{
    size_t len = strlen(needle), i = 0;
    uint32_t h;

    if (len == 0)
        return true;
    h = (u8_next((const unsigned char *)needle, len, &i) * 2654435761u) >> 24;
    if (!(set->bits[h >> 6] & ((uint64_t)1 << (h & 63))))
        return false;
    return memmem(at(sc, b), bytes(sc, b, e), needle, len) != NULL;
}

/* ------------------------------------------------------------------------ */
/* Character classes                                                        */
/* ------------------------------------------------------------------------ */

static bool is_space(uint32_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0x3000 || c == 0xA0;
}

static bool is_sentence_end(uint32_t c)
{
    switch (c) {
    case 0x3002: /* 。 */
    case 0xFF01: /* ！ */
    case 0xFF1F: /* ？ */
    case 0xFF1B: /* ； */
    case 0x2026: /* … */
    case '!':
    case '?':
    case ';':
        return true;
    default:
        return false;
    }
}

static bool is_closing(uint32_t c)
{
    return c == 0x201D || c == 0x2019 || c == 0x300D || c == 0x300F || c == '"' || c == '\'' ||
           c == 0xFF09 || c == ')';
}

static bool is_comma(uint32_t c)
{
    return c == 0xFF0C || c == 0x3001 || c == ',' || c == 0xFF1A || c == ':';
}

/* Punctuation trimmed from the ends of a tag ("宋江道：" -> "宋江道"). */
static bool is_tag_edge(uint32_t c)
{
    return is_space(c) || is_sentence_end(c) || is_comma(c) || is_closing(c) || c == '.' ||
           c == 0x2014 /* — */;
}

/* Shrink [*b, *e) past characters for which `edge` holds. */
static void trim(const struct scene *sc, size_t *b, size_t *e, bool (*edge)(uint32_t))
{
    while (*b < *e && edge(sc->cp[*b]))
        (*b)++;
    while (*e > *b && edge(sc->cp[*e - 1]))
        (*e)--;
}

/* Code points in [b, e) that are not white space. */
static size_t visible(const struct scene *sc, size_t b, size_t e)
{
    size_t n = 0;

    for (size_t i = b; i < e; i++)
        n += !is_space(sc->cp[i]);
    return n;
}

/* ------------------------------------------------------------------------ */
/* Units                                                                    */
/* ------------------------------------------------------------------------ */

enum unit_kind { UNIT_ACTION, UNIT_LINE };

struct unit {
    enum unit_kind kind;
    size_t begin, end;   /* source, scene-relative */
    size_t wbegin, wend; /* LINE: the words */
    size_t tag[2][2];    /* LINE: the tags before and after, trimmed (may be empty) */
    const struct story_utterance *u;
    bool opening; /* ACTION: the scene's opening narration */
};

struct units {
    struct unit *v;
    size_t n, alloc;
};

static struct unit *unit_add(struct units *us)
{
    if (us->n == us->alloc) {
        size_t alloc = us->alloc ? us->alloc * 2 : 64;
        struct unit *v = realloc(us->v, alloc * sizeof(*v));
        if (!v)
            return NULL;
        us->v = v;
        us->alloc = alloc;
    }
    memset(&us->v[us->n], 0, sizeof(us->v[0]));
    return &us->v[us->n++];
}

/*
 * The end of the next piece of [b, e) of at most `max` visible characters:
 * after the last sentence end that fits, else after the last comma, else at
 * `max` (a closing quote after the cut stays with its sentence).
 */
static size_t cut_piece(const struct scene *sc, size_t b, size_t e, size_t max)
{
    size_t strong = 0, weak = 0, count = 0, i;

    for (i = b; i < e; i++) {
        uint32_t c = sc->cp[i];
        count += !is_space(c);
        if (count > max)
            break;
        if (is_sentence_end(c) || is_comma(c)) {
            size_t j = i + 1;
            while (j < e && (is_closing(sc->cp[j]) || is_sentence_end(sc->cp[j])))
                j++;
            if (is_sentence_end(c))
                strong = j;
            else
                weak = j;
        }
    }
    if (i >= e)
        return e;
    if (strong > b)
        return strong;
    if (weak > b)
        return weak;
    return i > b ? i : b + 1;
}

/* Narration [b, e) as action units of at most `max` visible characters. */
static int
add_actions(struct units *us, const struct scene *sc, size_t b, size_t e, size_t max, bool opening)
{
    trim(sc, &b, &e, is_space);
    while (b < e) {
        size_t cut = cut_piece(sc, b, e, max);
        size_t pb = b, pe = cut;
        struct unit *un;

        trim(sc, &pb, &pe, is_space);
        if (pb < pe) {
            un = unit_add(us);
            if (!un)
                return -ENOMEM;
            un->kind = UNIT_ACTION;
            un->begin = pb;
            un->end = pe;
            un->opening = opening;
            opening = false;
        }
        b = cut;
    }
    return 0;
}

/*
 * Utterance u (quotes [qb, qe), words [wb, we)) as line units: the words
 * cut at sentence ends into pieces of at most `max` characters, the tag
 * [tb, te) before it on the first piece.
 */
static int add_lines(struct units *us,
                     const struct scene *sc,
                     const struct story_utterance *u,
                     size_t qb,
                     size_t qe,
                     size_t wb,
                     size_t we,
                     size_t tb,
                     size_t te,
                     size_t max)
{
    size_t b = wb;

    while (b < we) {
        size_t cut = cut_piece(sc, b, we, max);
        struct unit *un = unit_add(us);

        if (!un)
            return -ENOMEM;
        un->kind = UNIT_LINE;
        un->u = u;
        un->wbegin = b;
        un->wend = cut;
        un->begin = b == wb ? (tb < te ? tb : qb) : b;
        un->end = cut == we ? qe : cut;
        if (b == wb && tb < te) {
            un->tag[0][0] = tb;
            un->tag[0][1] = te;
            trim(sc, &un->tag[0][0], &un->tag[0][1], is_tag_edge);
        }
        b = cut;
    }
    return 0;
}

struct walk {
    const struct scene *sc;
    struct units *us;
    const struct story_utterance *utt; /* the scene's utterances */
    size_t n_utt, next_utt;
    size_t pos;     /* scene text consumed so far */
    bool any_line;  /* a line was emitted in this scene */
    bool first_par; /* walking the scene's first paragraph */
    size_t action_max, line_max;
};

/* Narration [b, e): a short one tags the line after it (returned in
 * ret_tb and ret_te), a long one becomes actions. */
static int
narration(struct walk *w, size_t b, size_t e, bool before_line, size_t *ret_tb, size_t *ret_te)
{
    size_t tb = b, te = e;

    trim(w->sc, &tb, &te, is_tag_edge);
    if (tb == te)
        return 0;
    if (visible(w->sc, tb, te) <= TAG_MAX && (before_line || w->any_line)) {
        if (before_line) {
            *ret_tb = b;
            *ret_te = e;
            trim(w->sc, ret_tb, ret_te, is_space);
            return 0;
        }
        /* a tag after the paragraph's last line */
        struct unit *last = &w->us->v[w->us->n - 1];
        last->tag[1][0] = tb;
        last->tag[1][1] = te;
        size_t sb = b, se = e;
        trim(w->sc, &sb, &se, is_space);
        if (se > last->end)
            last->end = se;
        return 0;
    }
    return add_actions(w->us, w->sc, b, e, w->action_max, w->first_par && !w->any_line);
}

/* One paragraph [pb, pe) of the scene, with the utterances that start in it. */
static int walk_paragraph(struct walk *w, size_t pb, size_t pe)
{
    size_t cursor = pb > w->pos ? pb : w->pos;
    bool line_here = false;
    int r;

    if (pe < cursor)
        pe = cursor;
    while (w->next_utt < w->n_utt) {
        const struct story_utterance *u = &w->utt[w->next_utt];
        size_t qb = rel(w->sc, u->qbegin < u->begin ? u->qbegin : u->begin);
        size_t qe = rel(w->sc, u->qend > u->end ? u->qend : u->end);
        size_t wb = rel(w->sc, u->begin), we = rel(w->sc, u->end);
        size_t tb = 0, te = 0;

        if (qb >= pe)
            break;
        w->next_utt++;
        if (qb < cursor || we <= wb || wb < qb || we > qe)
            continue; /* overlapping, empty or inside out: narration keeps it */
        r = narration(w, cursor, qb, true, &tb, &te);
        if (r < 0)
            return r;
        r = add_lines(w->us, w->sc, u, qb, qe, wb, we, tb, te, w->line_max);
        if (r < 0)
            return r;
        w->any_line = true;
        line_here = true;
        cursor = qe;
    }
    if (cursor < pe) {
        size_t tb = 0, te = 0;
        if (!line_here) {
            r = add_actions(w->us, w->sc, cursor, pe, w->action_max, w->first_par && !w->any_line);
        } else {
            r = narration(w, cursor, pe, false, &tb, &te);
        }
        if (r < 0)
            return r;
        cursor = pe;
    }
    w->pos = cursor;
    w->first_par = false;
    return 0;
}

static int
walk_scene(struct walk *w, const struct story_chapter_parts *parts, const struct story_scene *s)
{
    size_t first = s->first_paragraph, n = s->n_paragraphs;
    int r;

    if (first > parts->n_paragraphs || !parts->paragraphs)
        n = 0;
    else if (n > parts->n_paragraphs - first)
        n = parts->n_paragraphs - first;
    w->first_par = true;
    for (size_t i = 0; i < n; i++) {
        const struct story_paragraph *p = &parts->paragraphs[first + i];
        size_t pb = rel(w->sc, p->begin), pe = rel(w->sc, p->end);

        if (p->end < p->begin || pe <= w->pos)
            continue;
        r = walk_paragraph(w, pb, pe);
        if (r < 0)
            return r;
    }
    /* no paragraphs, or utterances past the last one: the rest of the scene */
    if (n == 0 || w->next_utt < w->n_utt) {
        r = walk_paragraph(w, w->pos, w->sc->n);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Shot fields from keywords                                                */
/* ------------------------------------------------------------------------ */

struct keyword {
    const char *word;
    const char *value;
};

/* Checked in order: the first match wins (走近 before 走). */
static const struct keyword move_words[] = {
    { "走近", "push" },   { "逼近", "push" },  { "上前", "push" },  { "凑近", "push" },
    { "退后", "pull" },   { "离去", "pull" },  { "远去", "pull" },  { "退出", "pull" },
    { "抬头", "tilt" },   { "低头", "tilt" },  { "仰望", "tilt" },  { "俯视", "tilt" },
    { "远处", "pan" },    { "眺望", "pan" },   { "望去", "pan" },   { "四顾", "pan" },
    { "环顾", "pan" },    { "望见", "pan" },   { "腾空", "crane" }, { "跃起", "crane" },
    { "飞起", "crane" },  { "登高", "crane" }, { "追", "follow" },  { "跟着", "follow" },
    { "尾随", "follow" }, { "走", "track" },   { "跑", "track" },   { "奔", "track" },
    { "骑", "track" },
};

static const struct keyword angle_words[] = {
    { "俯视", "high" }, { "俯瞰", "high" }, { "居高临下", "high" },
    { "仰望", "low" },  { "仰视", "low" },  { "仰面", "low" },
};

static const struct keyword sound_words[] = {
    { "雷", "雷声" },     { "狂风", "风声" },   { "大风", "风声" },   { "风声", "风声" },
    { "风吹", "风声" },   { "大雨", "雨声" },   { "雨声", "雨声" },   { "下雨", "雨声" },
    { "马蹄", "马蹄声" }, { "马嘶", "马嘶" },   { "鼓", "鼓声" },     { "钟", "钟声" },
    { "锣", "锣声" },     { "号角", "号角声" }, { "笛", "笛声" },     { "箫", "箫声" },
    { "琴", "琴声" },     { "犬吠", "犬吠" },   { "狗叫", "犬吠" },   { "鸡鸣", "鸡鸣" },
    { "喊杀", "喊杀声" }, { "厮杀", "喊杀声" }, { "敲门", "敲门声" }, { "叩门", "敲门声" },
    { "哭", "哭声" },     { "砰", "砰" },       { "轰", "轰" },       { "咚", "咚" },
    { "哗啦", "哗啦" },   { "嗖", "嗖" },       { "扑通", "扑通" },   { "当啷", "当啷" },
};

static const char *const emotion_words[] = { "怒", "哭", "惊", "泪", "恨", "慌", "吓" };

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *keyword_value(const struct scene *sc,
                                 const struct cpset *set,
                                 size_t b,
                                 size_t e,
                                 const struct keyword *table,
                                 size_t n,
                                 const char *fallback)
{
    for (size_t i = 0; i < n; i++) {
        if (contains(sc, set, b, e, table[i].word))
            return table[i].value;
    }
    return fallback;
}

/* Up to three distinct sounds of [b, e), joined with 、. */
static void
sound_of(const struct scene *sc, const struct cpset *set, size_t b, size_t e, struct buf *out)
{
    const char *found[3];
    size_t n = 0;

    for (size_t i = 0; i < N_OF(sound_words) && n < 3; i++) {
        bool dup = false;
        if (!contains(sc, set, b, e, sound_words[i].word))
            continue;
        for (size_t k = 0; k < n; k++)
            dup = dup || strcmp(found[k], sound_words[i].value) == 0;
        if (dup)
            continue;
        if (n)
            buf_adds(out, "、");
        buf_adds(out, sound_words[i].value);
        found[n++] = sound_words[i].value;
    }
}

static bool has_emotion(const struct scene *sc, const struct cpset *set, size_t b, size_t e)
{
    for (size_t i = 0; i < N_OF(emotion_words); i++) {
        if (contains(sc, set, b, e, emotion_words[i]))
            return true;
    }
    return false;
}

/* ------------------------------------------------------------------------ */
/* Shots                                                                    */
/* ------------------------------------------------------------------------ */

struct drafter {
    const struct story_draft_opts *o;
    const struct scene *sc;
    double rate, action_seconds;
    size_t shot_no;
    json_t *shots;
    bool failed;
    struct buf scratch;
    char note[160]; /* the next shot's notes (shot_finish takes and clears it) */
};

static void fail_if(struct drafter *d, int r)
{
    if (r < 0)
        d->failed = true;
}

static void set(struct drafter *d, json_t *obj, const char *key, json_t *v)
{
    fail_if(d, json_object_set_new(obj, key, v));
}

static json_t *text_of(const struct scene *sc, size_t b, size_t e)
{
    return json_stringn(at(sc, b), bytes(sc, b, e));
}

static const char *cast_id(const struct story_draft_opts *o, const char *name)
{
    if (!name || !o->cast)
        return NULL;
    for (size_t i = 0; i < o->n_cast; i++) {
        if (o->cast[i].name && o->cast[i].id && strcmp(o->cast[i].name, name) == 0)
            return o->cast[i].id;
    }
    return NULL;
}

struct seen_character {
    size_t pos;
    const char *id;
};

static int by_pos(const void *a, const void *b)
{
    const struct seen_character *x = a, *y = b;

    return (x->pos > y->pos) - (x->pos < y->pos);
}

/*
 * The cast ids named in [b, e) or among `speakers`, in order of first
 * appearance, each once. Returns how many there are (at most `cap`).
 */
static size_t characters_of(const struct drafter *d,
                            size_t b,
                            size_t e,
                            const char *const *speakers,
                            size_t n_speakers,
                            struct seen_character *out,
                            size_t cap)
{
    const struct story_draft_opts *o = d->o;
    const char *text = at(d->sc, b);
    size_t len = bytes(d->sc, b, e), n = 0;

    for (size_t i = 0; i < n_speakers && n < cap; i++) {
        if (speakers[i])
            out[n++] = (struct seen_character){ .pos = 0, .id = speakers[i] };
    }
    for (size_t i = 0; o->cast && i < o->n_cast && n < cap; i++) {
        const char *name = o->cast[i].name;
        const char *hit;
        if (!name || !*name || !o->cast[i].id)
            continue;
        hit = memmem(text, len, name, strlen(name));
        if (hit)
            out[n++] =
                (struct seen_character){ .pos = (size_t)(hit - text) + 1, .id = o->cast[i].id };
    }
    qsort(out, n, sizeof(*out), by_pos);
    /* drop repeated ids, keeping the first */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool dup = false;
        for (size_t j = 0; j < k && !dup; j++)
            dup = strcmp(out[j].id, out[i].id) == 0;
        if (!dup)
            out[k++] = out[i];
    }
    return k;
}

static double round_duration(double seconds)
{
    double d = round(seconds * 2.0) / 2.0;

    if (!(d >= MIN_SHOT_SECONDS))
        d = MIN_SHOT_SECONDS;
    if (d > MAX_SHOT_SECONDS)
        d = MAX_SHOT_SECONDS;
    return d;
}

#define MAX_SHOT_CHARACTERS 32

/*
 * A new shot with its id and size, and in *ret_characters the cast ids of
 * [b, e) and `speakers`; NULL on failure.
 */
static json_t *shot_new(struct drafter *d,
                        size_t b,
                        size_t e,
                        const char *size,
                        const char *const *speakers,
                        size_t n_speakers,
                        json_t **ret_characters)
{
    struct seen_character seen[MAX_SHOT_CHARACTERS];
    char id[SHOT_ID_MAX] = "";
    json_t *shot = json_object(), *characters = json_array();
    size_t n;

    if (!shot || !characters) {
        json_decref(shot);
        json_decref(characters);
        d->failed = true;
        return NULL;
    }
    d->shot_no++;
    if (d->o->next_id)
        d->o->next_id(d->o->id_ctx, id, sizeof(id));
    id[sizeof(id) - 1] = '\0';
    if (!id[0])
        snprintf(id, sizeof(id), "shot-%zu", d->shot_no);
    set(d, shot, "id", json_string(id));
    set(d, shot, "size", json_string(size));
    n = characters_of(d, b, e, speakers, n_speakers, seen, MAX_SHOT_CHARACTERS);
    for (size_t i = 0; i < n; i++)
        fail_if(d, json_array_append_new(characters, json_string(seen[i].id)));
    *ret_characters = characters;
    return shot;
}

/* The shot's image and video prompts (story_shot_prompts) from its fields so far. */
static void shot_prompts(struct drafter *d, json_t *shot)
{
    struct buf image, video;

    buf_init(&image, 1 << 16);
    buf_init(&video, 1 << 16);
    fail_if(d, story_shot_prompts(shot, d->o->cast, d->o->n_cast, d->o->style, &image, &video));
    set(d, shot, "image_prompt", json_stringn(image.p, image.len));
    set(d, shot, "video_prompt", json_stringn(video.p, video.len));
    buf_release(&image);
    buf_release(&video);
}

/* The fields after the content, in contract order, then append the shot. */
static void shot_finish(struct drafter *d,
                        json_t *shot,
                        const struct cpset *cps,
                        size_t b,
                        size_t e,
                        double seconds)
{
    json_t *source = json_object();

    buf_clear(&d->scratch);
    sound_of(d->sc, cps, b, e, &d->scratch);
    fail_if(d, d->scratch.err);
    set(d, shot, "sound", json_string(d->scratch.p));
    set(d, shot, "transition", json_string(json_array_size(d->shots) == 0 ? "fade" : "cut"));
    set(d, shot, "duration", json_real(round_duration(seconds)));
    set(d, shot, "notes", json_string(d->note));
    d->note[0] = '\0';
    if (source) {
        set(d, source, "start", json_integer((json_int_t)b));
        set(d, source, "end", json_integer((json_int_t)e));
    }
    set(d, shot, "source", source);
    shot_prompts(d, shot);
    fail_if(d, json_array_append_new(d->shots, shot));
}

static void action_shot(struct drafter *d, const struct unit *un)
{
    const struct scene *sc = d->sc;
    size_t chars = visible(sc, un->begin, un->end);
    struct cpset cps = cpset_of(sc, un->begin, un->end);
    const char *move =
        keyword_value(sc, &cps, un->begin, un->end, move_words, N_OF(move_words), "static");
    const char *angle =
        keyword_value(sc, &cps, un->begin, un->end, angle_words, N_OF(angle_words), "eye");
    json_t *characters = NULL;
    json_t *shot = shot_new(d, un->begin, un->end, "full", NULL, 0, &characters);
    size_t n_chars;
    const char *size;
    double seconds;

    if (!shot)
        return;
    n_chars = json_array_size(characters);
    if (un->opening) {
        size = n_chars ? "full" : "long";
        move = "static";
    } else {
        size = n_chars == 1 ? "medium" : "full";
    }
    set(d, shot, "size", json_string(size));
    set(d, shot, "angle", json_string(angle));
    set(d, shot, "move", json_string(move));
    set(d, shot, "picture", text_of(sc, un->begin, un->end));
    set(d, shot, "characters", characters);
    set(d, shot, "dialogue", json_array());
    seconds = (double)chars / ACTION_CHARS_PER_SECOND;
    if (seconds < d->action_seconds)
        seconds = d->action_seconds;
    shot_finish(d, shot, &cps, un->begin, un->end, seconds);
}

static const char *kind_name(enum story_utterance_kind k)
{
    switch (k) {
    case STORY_UTT_MONOLOGUE:
        return "monologue";
    case STORY_UTT_NARRATION:
        return "narration";
    case STORY_UTT_DIALOGUE:
    default:
        return "dialogue";
    }
}

static bool same_speaker(const struct unit *a, const struct unit *b)
{
    const char *x = a->u->speaker, *y = b->u->speaker;

    return x && y && strcmp(x, y) == 0;
}

/* The picture of a line shot: its tags, else who speaks. */
static json_t *line_picture(struct drafter *d, const struct unit *v, size_t n)
{
    struct buf *b = &d->scratch;

    buf_clear(b);
    for (size_t i = 0; i < n; i++) {
        for (int t = 0; t < 2; t++) {
            size_t tb = v[i].tag[t][0], te = v[i].tag[t][1];
            if (tb >= te)
                continue;
            if (b->len)
                buf_adds(b, "，");
            buf_add(b, at(d->sc, tb), bytes(d->sc, tb, te));
        }
    }
    if (b->len == 0 && v[0].u->speaker) {
        buf_adds(b, v[0].u->speaker);
        buf_adds(b, v[0].u->kind == STORY_UTT_MONOLOGUE ? "沉思" : "说话");
    }
    fail_if(d, b->err);
    return json_stringn(b->p, b->len);
}

/* Lines v[0..n) of one speaker as one shot; prev/next: the neighbour lines or NULL. */
static void line_shot(struct drafter *d,
                      const struct unit *v,
                      size_t n,
                      const struct unit *prev,
                      const struct unit *next)
{
    const struct scene *sc = d->sc;
    size_t b = v[0].begin, e = v[n - 1].end, speech = 0;
    const char *speakers[RUN_MAX];
    struct cpset cps = cpset_of(sc, b, e);
    bool inner = false;
    json_t *shot, *dialogue, *characters = NULL;
    const char *size;

    for (size_t i = 0; i < n; i++) {
        speakers[i] = cast_id(d->o, v[i].u->speaker);
        inner = inner || v[i].u->kind == STORY_UTT_MONOLOGUE;
    }
    shot = shot_new(d, b, e, "close", speakers, n, &characters);
    if (!shot)
        return;
    dialogue = json_array();
    for (size_t i = 0; i < n && dialogue; i++) {
        json_t *line = json_object();
        if (!line) {
            d->failed = true;
            break;
        }
        set(d, line, "speaker", speakers[i] ? json_string(speakers[i]) : json_null());
        set(d, line, "kind", json_string(kind_name(v[i].u->kind)));
        set(d, line, "text", text_of(sc, v[i].wbegin, v[i].wend));
        fail_if(d, json_array_append_new(dialogue, line));
        speech += visible(sc, v[i].wbegin, v[i].wend);
    }
    if (inner || has_emotion(sc, &cps, b, e)) {
        size = "closeup";
    } else {
        bool exchange_start = !prev && next && !same_speaker(&v[n - 1], next);
        size_t n_chars = json_array_size(characters);
        size = exchange_start || n_chars >= 2 ? "medium" : "close";
    }
    set(d, shot, "size", json_string(size));
    set(d, shot, "angle",
        json_string(keyword_value(sc, &cps, b, e, angle_words, N_OF(angle_words), "eye")));
    set(d, shot, "move", json_string("static"));
    set(d, shot, "picture", line_picture(d, v, n));
    set(d, shot, "characters", characters);
    set(d, shot, "dialogue", dialogue);
    /* a guessed speaker goes to a person: say which line and how sure */
    for (size_t i = 0; i < n; i++) {
        if (v[i].u->confidence >= SPEAKER_SURE)
            continue;
        if (v[i].u->speaker)
            snprintf(d->note, sizeof(d->note), "说话人待确认：第%zu句猜测为%.60s（置信度%.2f）", i + 1,
                     v[i].u->speaker, v[i].u->confidence);
        else
            snprintf(d->note, sizeof(d->note), "说话人待确认：第%zu句未能判断", i + 1);
        break;
    }
    shot_finish(d, shot, &cps, b, e, (double)speech / d->rate);
}

static void draft_units(struct drafter *d, const struct units *us)
{
    size_t i = 0;

    while (i < us->n && !d->failed) {
        const struct unit *un = &us->v[i];
        size_t n = 1, speech;

        if (un->kind == UNIT_ACTION) {
            action_shot(d, un);
            i++;
            continue;
        }
        speech = visible(d->sc, un->wbegin, un->wend);
        while (i + n < us->n && n < RUN_MAX) {
            const struct unit *nx = &us->v[i + n];
            size_t more;
            if (nx->kind != UNIT_LINE || !same_speaker(un, nx) || nx->u->kind != un->u->kind)
                break;
            more = visible(d->sc, nx->wbegin, nx->wend);
            if ((double)(speech + more) / d->rate > LINE_SECONDS)
                break;
            speech += more;
            n++;
        }
        line_shot(d, un, n, i > 0 && us->v[i - 1].kind == UNIT_LINE ? &us->v[i - 1] : NULL,
                  i + n < us->n && us->v[i + n].kind == UNIT_LINE ? &us->v[i + n] : NULL);
        i += n;
    }
}

json_t *story_draft_scene(const struct story_chapter_parts *parts,
                          const struct story_scene *s,
                          const struct story_draft_opts *o)
{
    static const struct story_draft_opts defaults = { 0 };
    struct drafter d = { 0 };
    struct units us = { 0 };
    struct scene sc;
    struct walk w = { 0 };
    json_t *result = NULL;
    size_t first, n;

    if (!parts || !s)
        return NULL;
    if (!o)
        o = &defaults;
    if (scene_load(&sc, parts, s->begin, s->end) < 0)
        return NULL;
    d.o = o;
    d.sc = &sc;
    d.rate = o->speech_rate > 0 && isfinite(o->speech_rate) ? o->speech_rate : 4.0;
    d.action_seconds =
        o->action_seconds > 0 && isfinite(o->action_seconds) ? o->action_seconds : 3.0;
    buf_init(&d.scratch, 1 << 20);

    first = s->first_utterance;
    n = s->n_utterances;
    if (!parts->utterances || first > parts->n_utterances)
        n = 0;
    else if (n > parts->n_utterances - first)
        n = parts->n_utterances - first;
    w.sc = &sc;
    w.us = &us;
    w.utt = n ? parts->utterances + first : NULL;
    w.n_utt = n;
    w.action_max = (size_t)(ACTION_SECONDS_MAX * ACTION_CHARS_PER_SECOND);
    w.line_max = (size_t)(LINE_SECONDS * d.rate);
    if (w.line_max < 8)
        w.line_max = 8;
    if (walk_scene(&w, parts, s) < 0)
        goto out;

    d.shots = json_array();
    result = json_object();
    if (!d.shots || !result) {
        json_decref(d.shots);
        d.failed = true;
        goto out;
    }
    draft_units(&d, &us);
    set(&d, result, "shots", d.shots);
out:
    if (d.failed) {
        json_decref(result);
        result = NULL;
    }
    buf_release(&d.scratch);
    free(us.v);
    scene_release(&sc);
    return result;
}

/* ------------------------------------------------------------------------ */
/* Prompts for image and video generation (issue 5, part 9)                 */
/* ------------------------------------------------------------------------ */

#define PROMPT_LINES     3   /* dialogue lines quoted in a video prompt */
#define PROMPT_LINE_MAX  80  /* code points of one quoted line */
#define PROMPT_TAG_MAX   20  /* a dialogue shot's picture this short is only its tag */
#define PROMPT_CHARS_MAX 32  /* characters described in one prompt */

static const struct keyword prompt_labels[] = {
    { "long", "远景" },     { "full", "全景" },      { "medium", "中景" },   { "close", "近景" },
    { "closeup", "特写" },  { "extreme_closeup", "大特写" },                 { "eye", "平视" },
    { "high", "俯视" },     { "low", "仰视" },       { "overhead", "顶视" }, { "dutch", "斜角" },
    { "static", "固定" },   { "push", "推" },        { "pull", "拉" },       { "pan", "摇" },
    { "tilt", "俯仰摇" },   { "track", "移" },       { "follow", "跟" },     { "crane", "升降" },
};

/* The Chinese name of a shot field's value, the default's when absent, the value when unknown. */
static const char *prompt_label(const json_t *shot, const char *key, const char *dflt)
{
    const char *v = json_string_value(json_object_get(shot, key));

    if (!v || !*v)
        v = dflt;
    for (size_t i = 0; i < N_OF(prompt_labels); i++) {
        if (strcmp(prompt_labels[i].word, v) == 0)
            return prompt_labels[i].value;
    }
    return v;
}

/* The name of roster id `id`: its first cast entry, or NULL. */
static const struct story_cast *cast_of(const struct story_cast *cast, size_t n, const char *id)
{
    for (size_t i = 0; id && cast && i < n; i++) {
        if (cast[i].id && cast[i].name && *cast[i].name && strcmp(cast[i].id, id) == 0)
            return &cast[i];
    }
    return NULL;
}

/* At most `max` code points of p[0..len) (well-formed or not), "…" when cut. */
static void add_capped(struct buf *b, const char *p, size_t len, size_t max)
{
    size_t i = 0, n = 0;

    while (i < len && n < max) {
        u8_next((const unsigned char *)p, len, &i);
        n++;
    }
    if (i > len)
        i = len;
    buf_add(b, p, i);
    if (i < len)
        buf_adds(b, "…");
}

/* Drop sentence punctuation and white space from the end of b. */
static void trim_end(struct buf *b)
{
    static const char *const tails[] = { "。", "！", "？", "；", "…", "，", "　", NULL };
    bool again = true;

    while (again && b->len) {
        again = false;
        char last = b->p[b->len - 1];
        if (last == ' ' || last == '\n' || last == '\t' || last == '.' || last == '!' ||
            last == '?' || last == ';' || last == ',') {
            buf_truncate(b, b->len - 1);
            again = true;
            continue;
        }
        for (size_t i = 0; tails[i]; i++) {
            size_t n = strlen(tails[i]);
            if (b->len >= n && memcmp(b->p + b->len - n, tails[i], n) == 0) {
                buf_truncate(b, b->len - n);
                again = true;
                break;
            }
        }
    }
}

/* A mention of a character in the content: where, how long, whose look. */
struct mention {
    size_t pos, len;
    const char *look;
};

static int by_mention(const void *a, const void *b)
{
    const struct mention *x = a, *y = b;

    return (x->pos > y->pos) - (x->pos < y->pos);
}

/* The earliest mention in content[0..len) of any name of roster id `id`. */
static bool find_mention(const struct story_cast *cast,
                         size_t n_cast,
                         const char *id,
                         const char *content,
                         size_t len,
                         struct mention *ret)
{
    bool found = false;

    for (size_t i = 0; cast && i < n_cast; i++) {
        const char *name = cast[i].name;
        const char *hit;
        if (!name || !*name || !cast[i].id || strcmp(cast[i].id, id) != 0)
            continue;
        hit = memmem(content, len, name, strlen(name));
        if (hit && (!found || (size_t)(hit - content) < ret->pos)) {
            ret->pos = (size_t)(hit - content);
            ret->len = strlen(name);
            found = true;
        }
    }
    return found;
}

/* The content: the picture (or who speaks), each character described once. */
static void prompt_content(const json_t *shot,
                           const struct story_cast *cast,
                           size_t n_cast,
                           struct buf *tmp,
                           struct buf *out)
{
    const json_t *picture = json_object_get(shot, "picture");
    const json_t *characters = json_object_get(shot, "characters");
    const json_t *dialogue = json_object_get(shot, "dialogue");
    const char *pic = json_string_value(picture);
    size_t pic_len = json_string_length(picture);
    struct mention seen[PROMPT_CHARS_MAX];
    const char *absent[PROMPT_CHARS_MAX];
    size_t n_seen = 0, n_absent = 0, pos = 0;

    buf_clear(tmp);
    if (json_array_size(dialogue) && (!pic || utf8_count(pic, pic_len) <= PROMPT_TAG_MAX)) {
        /* a tag such as 宋江道 says nothing to a painter: who speaks, or thinks */
        bool inner = true;
        size_t named = 0;
        for (size_t i = 0; i < json_array_size(dialogue); i++) {
            const json_t *line = json_array_get(dialogue, i);
            const char *kind = json_string_value(json_object_get(line, "kind"));
            const struct story_cast *who =
                cast_of(cast, n_cast, json_string_value(json_object_get(line, "speaker")));
            inner = inner && kind && strcmp(kind, "monologue") == 0;
            if (!who || (tmp->len && strstr(tmp->p, who->name)))
                continue;
            if (named++)
                buf_adds(tmp, "、");
            buf_adds(tmp, who->name);
        }
        if (named)
            buf_adds(tmp, inner ? "沉思" : "说话");
        else if (pic)
            add_capped(tmp, pic, pic_len, STORY_PROMPT_PICTURE);
    } else if (pic) {
        add_capped(tmp, pic, pic_len, STORY_PROMPT_PICTURE);
    }
    trim_end(tmp);

    for (size_t i = 0; i < json_array_size(characters) && n_seen + n_absent < PROMPT_CHARS_MAX;
         i++) {
        const char *id = json_string_value(json_array_get(characters, i));
        const struct story_cast *who = cast_of(cast, n_cast, id);
        struct mention m = { 0 };
        if (!who)
            continue;
        if (tmp->len && find_mention(cast, n_cast, id, tmp->p, tmp->len, &m)) {
            m.look = who->look;
            seen[n_seen++] = m;
        } else {
            absent[n_absent++] = id;
        }
    }
    qsort(seen, n_seen, sizeof(seen[0]), by_mention);
    for (size_t i = 0; i < n_seen; i++) {
        size_t end = seen[i].pos + seen[i].len;
        if (seen[i].pos < pos)
            continue; /* overlaps the mention before */
        buf_add(out, tmp->p + pos, end - pos);
        if (seen[i].look && *seen[i].look)
            buf_addf(out, "（%s）", seen[i].look);
        pos = end;
    }
    buf_add(out, tmp->p + pos, tmp->len - pos);
    for (size_t i = 0; i < n_absent; i++) {
        const struct story_cast *who = cast_of(cast, n_cast, absent[i]);
        buf_adds(out, i ? "、" : out->len ? "，画面中有" : "画面中有");
        buf_adds(out, who->name);
        if (who->look && *who->look)
            buf_addf(out, "（%s）", who->look);
    }
}

/* Up to PROMPT_LINES lines of dialogue: 宋江：“兄弟们且住。” */
static void prompt_dialogue(const json_t *shot,
                            const struct story_cast *cast,
                            size_t n_cast,
                            struct buf *out)
{
    const json_t *dialogue = json_object_get(shot, "dialogue");

    for (size_t i = 0; i < json_array_size(dialogue) && i < PROMPT_LINES; i++) {
        const json_t *line = json_array_get(dialogue, i);
        const json_t *text = json_object_get(line, "text");
        const char *kind = json_string_value(json_object_get(line, "kind"));
        const struct story_cast *who =
            cast_of(cast, n_cast, json_string_value(json_object_get(line, "speaker")));
        if (!json_string_length(text))
            continue;
        buf_adds(out, who ? who->name : "画外音");
        if (kind && strcmp(kind, "monologue") == 0)
            buf_adds(out, "（内心独白）");
        else if (kind && strcmp(kind, "narration") == 0)
            buf_adds(out, "（旁白）");
        buf_adds(out, "：“");
        add_capped(out, json_string_value(text), json_string_length(text), PROMPT_LINE_MAX);
        buf_adds(out, "”");
    }
}

int story_shot_prompts(const json_t *shot,
                       const struct story_cast *cast,
                       size_t n_cast,
                       const char *style,
                       struct buf *image,
                       struct buf *video)
{
    const char *size = prompt_label(shot, "size", "medium");
    const char *angle = prompt_label(shot, "angle", "eye");
    const char *move = prompt_label(shot, "move", "static");
    const char *sound = json_string_value(json_object_get(shot, "sound"));
    double duration = json_number_value(json_object_get(shot, "duration"));
    struct buf tmp, content;
    int r = 0;

    if (!json_is_object(shot))
        return -EINVAL;
    buf_init(&tmp, 1 << 16);
    buf_init(&content, 1 << 16);
    prompt_content(shot, cast, n_cast, &tmp, &content);
    if (image) {
        buf_addf(image, "%s，%s。", size, angle);
        if (content.len) {
            buf_add(image, content.p, content.len);
            buf_adds(image, "。");
        }
        if (style && *style)
            buf_adds(image, style);
        else
            trim_end(image);
        r = image->err;
    }
    if (video && r == 0) {
        buf_addf(video, "%s，%s，%s镜头", size, angle, move);
        if (duration > 0 && isfinite(duration))
            buf_addf(video, "，时长%g秒", round(duration * 10) / 10);
        buf_adds(video, "。");
        if (content.len) {
            buf_add(video, content.p, content.len);
            buf_adds(video, "。");
        }
        prompt_dialogue(shot, cast, n_cast, video);
        if (sound && *sound) {
            buf_adds(video, "音效：");
            add_capped(video, sound, strlen(sound), PROMPT_LINE_MAX);
            buf_adds(video, "。");
        }
        if (style && *style)
            buf_adds(video, style);
        else
            trim_end(video);
        r = video->err;
    }
    if (r == 0 && (tmp.err || content.err))
        r = tmp.err ? tmp.err : content.err;
    buf_release(&tmp);
    buf_release(&content);
    return r;
}
