/*
 * Internals shared by the story stages: UTF-8 stepping over well-formed
 * text, the heading recogniser (chapters.c) that ingest also needs to find
 * the first and last heading, and the site-line classifier (encoding.c).
 */
#ifndef ANNOTD_STORY_STORY_INT_H
#define ANNOTD_STORY_STORY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"
#include "story/story.h"

/* Decode the code point at p[*i] of well-formed UTF-8 and advance *i. */
static inline uint32_t story_u8_next(const char *p, size_t len, size_t *i)
{
    const unsigned char *s = (const unsigned char *)p + *i;
    size_t left = len - *i;
    uint32_t c = s[0];
    if (c < 0x80 || left < 2) {
        *i += 1;
        return c;
    }
    if (c < 0xE0) {
        *i += 2;
        return ((c & 0x1F) << 6) | (s[1] & 0x3F);
    }
    if (c < 0xF0 || left < 4) {
        if (left < 3) {
            *i += left;
            return 0xFFFD;
        }
        *i += 3;
        return ((c & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    }
    *i += 4;
    return ((c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) | ((uint32_t)(s[2] & 0x3F) << 6) |
           (s[3] & 0x3F);
}

/* Code point ending just before p[*i]; moves *i back. */
static inline uint32_t story_u8_prev(const char *p, size_t *i)
{
    size_t j = *i;
    do
        j--;
    while (j > 0 && ((unsigned char)p[j] & 0xC0) == 0x80);
    size_t k = j;
    *i = j;
    return story_u8_next(p, (size_t)-1 / 2, &k);
}

/* Heading and title white space: ASCII space/tab, U+3000, U+00A0. */
bool story_is_space(uint32_t c);

/* Sentence-final punctuation (。！？…； and closing quotes). */
bool story_is_sentence_end(uint32_t c);

/* Any CJK or ASCII punctuation mark. */
bool story_is_punct(uint32_t c);

/* Display columns of a line: ASCII 1, tab 4, anything else 2 (GBK byte width). */
size_t story_width(struct str line);

enum story_heading_kind {
    STORY_HEADING_NONE = 0,
    STORY_HEADING_NUMBERED, /* 第 N unit [title] */
    STORY_HEADING_SPECIAL,  /* 楔子, 序章, 番外 ... */
    STORY_HEADING_VOLUME,   /* 卷一, 卷之二 (no 第) */
};

/* Units, highest first; the rank orders the hierarchy. */
enum story_unit {
    STORY_UNIT_NONE = -1,
    STORY_UNIT_BU = 0, /* 部 */
    STORY_UNIT_JUAN,   /* 卷 */
    STORY_UNIT_JI,     /* 集 */
    STORY_UNIT_PIAN,   /* 篇 */
    STORY_UNIT_ZHANG,  /* 章 */
    STORY_UNIT_HUI,    /* 回 */
    STORY_UNIT_JIE,    /* 节 節 */
    STORY_UNIT_COUNT
};

struct story_heading {
    enum story_heading_kind kind;
    enum story_unit unit;
    long number;      /* -1 when none */
    struct str label; /* "第01回", "楔子", "卷一" */
    struct str title; /* the rest, trimmed; may be empty */
    bool weak;        /* no separator before a title, or a title that reads like prose */
};

/*
 * Recognise a heading in one trimmed line (leftover prefixes 目录, 正文,
 * empty 《》 are skipped). Returns the kind and fills *ret when not NONE.
 */
enum story_heading_kind story_heading_parse(struct str line, struct story_heading *ret);

/*
 * Parse a numeral: Chinese (一二三, 十百千万, 两, 〇/零, financial forms,
 * digit-by-digit 一二零), ASCII or full-width digits. Consumes the longest
 * numeral at the start of s; returns its byte length (0: none) and *value.
 */
size_t story_numeral(struct str s, long *value);

/* Site-line classification (encoding.c). */
enum story_site {
    STORY_SITE_NONE = 0,
    STORY_SITE_LINE, /* the whole line is site material */
    STORY_SITE_TAIL, /* a watermark glued to the end: starts at *ret_cut */
};

/*
 * Classify a trimmed line. `edge` is true in the header (before the first
 * heading) and footer (after the last chapter) regions, where a weaker signal
 * (a disclaimer word alone) is enough. *ret_reason is a static string.
 */
enum story_site
story_site_classify(struct str line, bool edge, size_t *ret_cut, const char **ret_reason);

/* ---- scenes, dialogue, roster (scenes.c, dialogue.c, roster.c) ------- */

/* A chapter body decoded once: code point i is cp[i] at bytes
 * [byte[i], byte[i + 1]); byte[n] == len. */
struct story_body {
    const char *p;
    size_t len;
    const uint32_t *cp;
    const size_t *byte;
    size_t n;
};

/*
 * Find the utterances in parts->paragraphs of b and attribute their
 * speakers (dialogue.c). Fills parts->utterances (in parts->arena, ordered
 * by begin, .scene left 0 for the caller). Returns 0 or -ENOMEM.
 */
int story_dialogue_scan(const struct story_body *b,
                        struct story_chapter_parts *parts,
                        const char *const *known);

/* A set of names (byte strings that outlive it), open addressing (roster.c). */
struct story_nameset {
    struct story_name_slot {
        const char *p; /* NULL: empty slot */
        size_t len;
        size_t value; /* the caller's payload */
    } *slots;
    size_t cap, n;
    size_t max_len; /* longest name, in bytes */
};

/* Add p[0..len); 1 added, 0 already there, -ENOMEM. *ret_slot (may be NULL) is its slot. */
int story_nameset_add(struct story_nameset *s, const char *p, size_t len, struct story_name_slot **ret_slot);

/* The slot of p[0..len), or NULL. */
struct story_name_slot *story_nameset_find(const struct story_nameset *s, const char *p, size_t len);

void story_nameset_release(struct story_nameset *s);

#endif
