/*
 * story: the first two stages of the novel -> storyboard pipeline
 * (DESIGN.md §7): ingest and chapters. A pure library: no I/O besides
 * OpenCC's configuration files, no logging, no database.
 *
 * DESIGN
 *
 * story_ingest() (encoding.c) turns an uploaded file into normalised UTF-8:
 *   1. refuse empty, oversized and binary input;
 *   2. detect the encoding: a BOM (UTF-8, UTF-16LE/BE), else strict UTF-8
 *      validity, else ICU's charset detector, of whose answers only GB18030
 *      (which covers GBK and GB2312) and Big5 are accepted; anything else is
 *      refused with an error naming the detector's best guess;
 *   3. convert strictly with ICU (an invalid byte sequence is an error, never
 *      a U+FFFD); GB text is always decoded as GB18030, never as GBK;
 *   4. normalise: line ends to "\n", zero-width characters and controls
 *      dropped, indentation and trailing white space trimmed, runs of blank
 *      lines collapsed to one;
 *   5. strip site headers and footers: before the first heading, lines that
 *      carry URLs, site names or download/copyright disclaimers; after the
 *      last heading, such trailing lines; anywhere, a site watermark glued to
 *      the end of a line ("...总关愁。天涯在线书库《www.tianyabook.com》") and
 *      a bare site-name line. Each removal is reported with its line number;
 *   6. re-flow hard-wrapped text (most lines end near one width): a line is
 *      joined to the next unless it is clearly short, ends a sentence short
 *      of the width, or either is a heading; an indented line starts a
 *      paragraph when the file marks paragraphs that way;
 *   7. traditional -> simplified through OpenCC when asked; the text before
 *      conversion is kept.
 * The result has one paragraph per line; a blank line is kept (once) where
 * the source had one.
 *
 * story_chapters() (chapters.c) segments the normalised text. Headings:
 * 第…章/回/节/卷/集/部/篇 with Chinese (incl. digit-by-digit 一二零, 百,
 * 千), Arabic and zero-padded numerals; 序章/序/楔子/引子/番外/尾声/后记;
 * 卷一 / 卷之一; a heading with no separator before its title (第九章大团圆)
 * is accepted only when its number continues the sequence; a bare heading
 * takes its title from the next line when that line looks like a title.
 * The lowest unit present is the chapter; 部/卷/集 (and any higher unit)
 * contain it and become the chapter's volume. A volume with no numbered
 * chapters whose stories are short lines set apart by blank lines (聊斋)
 * has those story titles as chapters. Leftovers before a heading (目录,
 * 正文, empty 《》) are ignored. The book's title (《书名》, or a short first
 * line) is the novel's title, not a chapter. A text without headings is one
 * chapter (fallback). All offsets are into story_text.text, in Unicode code
 * points (and bytes).
 */
#ifndef ANNOTD_STORY_STORY_H
#define ANNOTD_STORY_STORY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"

/* ---- ingest ---------------------------------------------------------- */

#define STORY_INPUT_MAX_DEFAULT ((size_t)32 << 20)
#define STORY_OPENCC_T2S        "t2s.json" /* OpenCC resolves it in its data dir */

enum story_reflow {
    STORY_REFLOW_AUTO = 0, /* re-flow when the text is detected as hard-wrapped */
    STORY_REFLOW_OFF,
    STORY_REFLOW_ON, /* treat as hard-wrapped whatever the statistics say */
};

struct story_ingest_opts {
    size_t max_bytes;          /* input cap (0: STORY_INPUT_MAX_DEFAULT) */
    bool t2s;                  /* traditional -> simplified (OpenCC) */
    const char *opencc_config; /* NULL: STORY_OPENCC_T2S; or an absolute path */
    enum story_reflow reflow;
};

/* A line (or the tail of a line) removed as a site header/footer/watermark. */
struct story_stripped {
    size_t line;        /* 1-based line number in the decoded input */
    const char *reason; /* static: "url", "site name", "disclaimer", "watermark" */
    char *text;         /* what was removed, UTF-8, NUL-terminated */
    bool whole_line;    /* false: only the tail of the line was removed */
};

struct story_text {
    struct buf text;      /* normalised UTF-8, one paragraph per line, ends in "\n" */
    struct buf original;  /* the normalised text before t2s; empty unless t2s */
    const char *encoding; /* static: "UTF-8", "UTF-16LE", "UTF-16BE", "GB18030", "Big5" */
    bool bom;             /* the input started with a byte order mark */
    bool t2s;             /* traditional -> simplified was applied */
    bool reflowed;        /* hard-wrapped lines were joined into paragraphs */
    size_t wrap_width;    /* detected wrap width in columns (CJK = 2), 0 if none */
    size_t input_lines;   /* lines in the decoded input */
    struct story_stripped *stripped;
    size_t n_stripped;
};

enum story_error_kind {
    STORY_ERR_NONE = 0,
    STORY_ERR_EMPTY,       /* no bytes, or nothing but white space */
    STORY_ERR_TOO_LARGE,   /* over opts->max_bytes */
    STORY_ERR_BINARY,      /* NUL bytes, control characters, a known file magic */
    STORY_ERR_UNSUPPORTED, /* an encoding out of scope; guess names it */
    STORY_ERR_INVALID,     /* bytes invalid in the detected encoding; offset says where */
    STORY_ERR_T2S,         /* OpenCC or its t2s configuration is unavailable */
    STORY_ERR_NOMEM,
};

struct story_error {
    enum story_error_kind kind;
    char guess[32];    /* detector's best guess (UNSUPPORTED, BINARY), else "" */
    int confidence;    /* ICU confidence 0..100 of guess, -1 when unknown */
    size_t offset;     /* byte offset in the input (INVALID), else 0 */
    char message[256]; /* lowercase human text, always NUL-terminated */
};

/* Initialise an empty story_text (safe to release). */
void story_text_init(struct story_text *t);

/* Free everything a story_text owns and leave it empty; accepts NULL. */
void story_text_release(struct story_text *t);

/*
 * Detect, convert and normalise p[0..len) (see DESIGN above).
 * Returns 0 and fills *ret (which the caller releases), or a negative error
 * and fills *err (when err is not NULL); *ret is written only on success.
 *   -ENODATA  empty            -E2BIG   over the cap
 *   -EMEDIUMTYPE binary        -EILSEQ  unsupported or invalid encoding
 *   -ENOENT   t2s asked but OpenCC's configuration cannot be loaded
 *   -ENOMEM
 * o may be NULL (defaults).
 */
int story_ingest(const char *p,
                 size_t len,
                 const struct story_ingest_opts *o,
                 struct story_text *ret,
                 struct story_error *err);

/* ---- chapters -------------------------------------------------------- */

enum story_chapter_kind {
    STORY_CHAPTER_NUMBERED, /* 第…章/回/节, 第N卷 as the leaf unit, 卷一 */
    STORY_CHAPTER_SPECIAL,  /* 序/序章/楔子/引子/番外/尾声/后记 */
    STORY_CHAPTER_STORY,    /* a story title under a volume (聊斋) */
    STORY_CHAPTER_WHOLE,    /* no headings: the whole text is one chapter */
};

struct story_chapter {
    size_t index; /* 1-based position */
    enum story_chapter_kind kind;
    long number;                 /* the N of 第N…, -1 when there is none */
    const char *title;           /* "第一回 灵根育孕源流出 心性修持大道生" */
    const char *volume;          /* "第一部", "卷一" ... or NULL */
    size_t heading_line;         /* 1-based line of the heading in text (0: none) */
    size_t begin, end;           /* body [begin, end) in code points of text */
    size_t byte_begin, byte_end; /* the same range in bytes */
};

struct story_chapters {
    const char *title; /* the novel's title, or NULL */
    struct story_chapter *v;
    size_t n;
    bool fallback;      /* no headings were found: one STORY_CHAPTER_WHOLE */
    size_t toc_dropped; /* empty headings dropped as a table of contents */
    struct arena arena; /* owns the strings */
};

/*
 * Segment t->text into chapters. Returns 0 and fills *ret (release it with
 * story_chapters_release), -ENODATA for an empty text, or -ENOMEM/-E2BIG;
 * *ret is written only on success. A text without headings gives one
 * STORY_CHAPTER_WHOLE chapter and ret->fallback.
 */
int story_chapters(const struct story_text *t, struct story_chapters *ret);

/* Free a chapter list; accepts NULL and an already released list. */
void story_chapters_release(struct story_chapters *c);

/* ---- scenes, paragraphs, utterances (scenes.c, dialogue.c) ------------
 *
 * All offsets below are in Unicode code points of the *chapter body*
 * (text [chapter->begin, chapter->end) of story_text.text), so that a scene
 * or an utterance can be located without the rest of the novel.
 */

/* Why a scene starts where it does. */
enum story_scene_break {
    STORY_BREAK_START = 0, /* the chapter's first scene */
    STORY_BREAK_SEPARATOR, /* a separator line (***, ＊＊＊, ——, ……, ◇◇◇, 一 alone) */
    STORY_BREAK_TIME,      /* a time shift opening a paragraph: 次日, 当晚, 三日后 */
    STORY_BREAK_PLACE,     /* a place shift: 却说, 话分两头, 与此同时, 且说 */
    STORY_BREAK_LENGTH,    /* a long scene cut at a paragraph boundary */
};

enum story_utterance_kind {
    STORY_UTT_DIALOGUE = 0, /* spoken aloud, in quotes */
    STORY_UTT_MONOLOGUE,    /* inner speech: 心想/暗道/心道/寻思 + quote or colon */
    STORY_UTT_NARRATION,    /* the text between utterances (not emitted as utterances) */
};

struct story_utterance {
    size_t begin, end;       /* the quoted words, quotes excluded, in the chapter body */
    size_t qbegin, qend;     /* including the quote marks (== begin/end when unquoted) */
    enum story_utterance_kind kind;
    const char *speaker;     /* the attributed name, or NULL when unknown */
    double confidence;       /* 0..1: how sure the attribution is */
    const char *rule;        /* static: "tag-before", "tag-after", "alternation", ... */
    size_t scene;            /* 0-based scene index within the chapter */
    size_t paragraph;        /* index into story_chapter_parts.paragraphs */
};

/* Blank lines and separator lines (***) are not paragraphs; scenes still cover them. */
struct story_paragraph {
    size_t begin, end; /* one line of the normalised text, newline excluded */
};

struct story_scene {
    size_t index; /* 0-based within the chapter */
    size_t begin, end;
    enum story_scene_break cause;
    size_t first_paragraph, n_paragraphs; /* into story_chapter_parts.paragraphs */
    size_t first_utterance, n_utterances; /* into story_chapter_parts.utterances */
};

/* One chapter cut into paragraphs, scenes and utterances. */
struct story_chapter_parts {
    const char *body; /* the chapter body, UTF-8 (owned by arena) */
    size_t body_bytes, body_chars;
    struct story_paragraph *paragraphs;
    size_t n_paragraphs;
    struct story_scene *scenes;
    size_t n_scenes;
    struct story_utterance *utterances;
    size_t n_utterances;
    struct arena arena; /* owns everything above */
};

struct story_scene_opts {
    size_t max_scene_chars; /* 0: 1500; a longer scene is cut at a paragraph */
    size_t min_scene_chars; /* 0: 80; a shorter one joins its neighbour */
};

/*
 * Cut one chapter (text [c->byte_begin, c->byte_end) of t) into paragraphs,
 * scenes and utterances, with speakers attributed (dialogue.c). known may
 * list roster names (NULL-terminated, may be NULL) that help attribution.
 * Returns 0, -EILSEQ (body not well-formed UTF-8) or -ENOMEM; *ret is
 * written only on success and released with story_parts_release. Scenes
 * cover the body contiguously (none for an empty body); an utterance lies
 * within one paragraph, hence one scene. Rules: scenes.c and dialogue.c.
 */
int story_chapter_split(const struct story_text *t,
                        const struct story_chapter *c,
                        const struct story_scene_opts *o,
                        const char *const *known,
                        struct story_chapter_parts *ret);

/* The same, on a bare UTF-8 body (sync and tests): body[0..len). */
int story_body_split(const char *body,
                     size_t len,
                     const struct story_scene_opts *o,
                     const char *const *known,
                     struct story_chapter_parts *ret);

/* Free what story_*_split made; accepts NULL and released parts. */
void story_parts_release(struct story_chapter_parts *p);

/* ---- roster (roster.c) ----------------------------------------------- */

struct story_name {
    const char *name; /* as it appears: 宋江 */
    size_t speaks;    /* utterances attributed to it */
    size_t mentions;  /* occurrences in the text */
};

/* Candidate character names of a novel, most frequent first. */
struct story_roster {
    struct story_name *v;
    size_t n;
    struct arena arena;
};

/* Collect names from the speaker tags of parts[0..n) and count their
 * mentions in the bodies; names that never speak and are mentioned fewer
 * than min_mentions times are left out. Returns 0 or -ENOMEM. */
int story_roster_collect(const struct story_chapter_parts *parts,
                         size_t n,
                         size_t min_mentions,
                         struct story_roster *ret);

/* Free a roster; accepts NULL and a released roster. */
void story_roster_release(struct story_roster *r);

/* ---- rule-based drafter (draft.c) --------------------------------------
 *
 * Drafts one scene's shot list in the storyboard result format (issue 5's
 * contract): {"shots":[{"id","size","angle","move","picture","characters",
 * "dialogue","sound","transition","duration","notes","source"}]}, source
 * offsets in code points of the *scene text* (the task's data.text).
 */
struct story_cast {
    const char *name; /* a name or alias */
    const char *id;   /* the roster id it stands for ("c12") */
    const char *look; /* appearance and costume from the character sheet, or NULL */
};

struct story_draft_opts {
    double speech_rate;   /* characters per second of dialogue (0: 4.0) */
    double action_seconds; /* seconds for a shot without dialogue (0: 3.0) */
    const struct story_cast *cast; /* names -> roster ids, may be NULL */
    size_t n_cast;
    /* a new stable shot id each call, e.g. "s000123"; written to out[cap] */
    void (*next_id)(void *ctx, char *out, size_t cap);
    void *id_ctx;
    const char *style; /* the prompts' style suffix ("动画分镜"); NULL: none */
};

/*
 * Draft the shots of scene s of parts. Returns a new json_t (the result
 * object) or NULL on allocation failure. Pure: the same input and ids give
 * the same output.
 */
struct json_t;
struct json_t *story_draft_scene(const struct story_chapter_parts *parts,
                                 const struct story_scene *s,
                                 const struct story_draft_opts *o);

/*
 * The image and video prompts of one shot (a result shot object, whoever
 * made it), as the drafter gives every shot its "image_prompt" and
 * "video_prompt" (issue 5, part 9; docs/storyboard.md):
 *   image  "{景别}，{角度}。{content}。{style}"
 *   video  "{景别}，{角度}，{运镜}镜头，时长{duration}秒。{content}。
 *           {speaker}：“line” ... 音效：{sound}。{style}"
 * content is the picture (at most STORY_PROMPT_PICTURE code points; a
 * dialogue shot whose picture is only a tag such as 宋江道 becomes
 * "宋江说话"), with each of the shot's characters described by its cast
 * `look` after its first mention ("张三（三十来岁，黑衣）推开…"), and the
 * characters not mentioned appended ("，画面中有李四（…）"), so that a
 * character looks the same in every shot. Names come from `cast` (the first
 * entry of an id is its name). Appends to *image and *video (either may be
 * NULL); returns 0 or the first buffer's sticky error. Pure.
 */
#define STORY_PROMPT_PICTURE 300
int story_shot_prompts(const struct json_t *shot,
                       const struct story_cast *cast,
                       size_t n_cast,
                       const char *style,
                       struct buf *image,
                       struct buf *video);

#endif
