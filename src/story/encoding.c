/*
 * story ingest: encoding detection and conversion (ICU), normalisation,
 * site header/footer stripping, re-flow of hard-wrapped text, and
 * traditional -> simplified (OpenCC). See story.h for the contract.
 */
#include <errno.h>
#include <opencc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unicode/ucnv.h>
#include <unicode/ucsdet.h>
#include <unicode/ustring.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/utf8.h"
#include "story/story.h"
#include "story/story_int.h"

/* ---- errors --------------------------------------------------------- */

static int fail(struct story_error *err, int code, enum story_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct story_error *err, int code, enum story_error_kind kind, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->kind = kind;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return code;
}

static int fail_nomem(struct story_error *err)
{
    return fail(err, -ENOMEM, STORY_ERR_NOMEM, "out of memory");
}

/* ---- detection ------------------------------------------------------ */

struct magic {
    const char *bytes;
    size_t len;
    const char *name;
};

static const struct magic magics[] = {
    { "%PDF-", 5, "PDF" },
    { "PK\x03\x04", 4, "ZIP (or EPUB/DOCX)" },
    { "\x89PNG", 4, "PNG" },
    { "\xFF\xD8\xFF", 3, "JPEG" },
    { "GIF8", 4, "GIF" },
    { "\x1F\x8B", 2, "gzip" },
    { "Rar!", 4, "RAR" },
    { "7z\xBC\xAF", 4, "7-Zip" },
    { "\x7F"
      "ELF",
      4, "ELF" },
    { "\xD0\xCF\x11\xE0", 4, "OLE (DOC)" },
    { "{\\rtf", 5, "RTF" },
};

#define DETECT_SAMPLE ((size_t)64 << 10)

struct guess {
    char name[32];
    int confidence;
};

/* ICU's best guesses for a sample of p. Returns how many (<= max). */
static int detect_icu(const char *p, size_t len, struct guess *g, int max)
{
    UErrorCode e = U_ZERO_ERROR;
    UCharsetDetector *d = ucsdet_open(&e);
    int n = 0;
    if (U_FAILURE(e))
        return 0;
    ucsdet_setText(d, p, (int32_t)(len < DETECT_SAMPLE ? len : DETECT_SAMPLE), &e);
    int32_t m = 0;
    const UCharsetMatch **ms = U_SUCCESS(e) ? ucsdet_detectAll(d, &m, &e) : NULL;
    for (int32_t i = 0; U_SUCCESS(e) && ms && i < m && n < max; i++) {
        const char *name = ucsdet_getName(ms[i], &e);
        int conf = ucsdet_getConfidence(ms[i], &e);
        if (U_FAILURE(e) || !name)
            break;
        snprintf(g[n].name, sizeof(g[n].name), "%s", name);
        g[n].confidence = conf;
        n++;
    }
    ucsdet_close(d);
    return n;
}

static bool in_scope(const char *icu_name)
{
    return strcmp(icu_name, "GB18030") == 0 || strcmp(icu_name, "Big5") == 0;
}

/* Offset of the first byte that breaks UTF-8 well-formedness. */
static size_t utf8_bad_offset(const char *p, size_t len)
{
    size_t lo = 0, hi = len;
    /* utf8_valid over growing prefixes; a prefix may end mid-sequence, so step back */
    while (hi - lo > 4) {
        size_t mid = lo + (hi - lo) / 2;
        while (mid > lo && ((unsigned char)p[mid] & 0xC0) == 0x80)
            mid--;
        if (mid == lo)
            break;
        if (utf8_valid(p, mid))
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* ---- conversion ----------------------------------------------------- */

#define CHUNK_UCHARS 16384

/* Convert p[0..len) from `charset` to UTF-8 into out, strictly. */
static int convert(const char *charset,
                   const char *p,
                   size_t len,
                   size_t base,
                   struct buf *out,
                   struct story_error *err)
{
    UErrorCode e = U_ZERO_ERROR;
    UConverter *cnv = ucnv_open(charset, &e);
    if (U_FAILURE(e))
        return fail(err, -EILSEQ, STORY_ERR_UNSUPPORTED, "no converter for '%s': %s", charset,
                    u_errorName(e));
    ucnv_setToUCallBack(cnv, UCNV_TO_U_CALLBACK_STOP, NULL, NULL, NULL, &e);

    UChar u[CHUNK_UCHARS];
    char u8[CHUNK_UCHARS * 3];
    const char *src = p, *end = p + len;
    int r = 0;
    for (;;) {
        UChar *t = u;
        e = U_ZERO_ERROR;
        ucnv_toUnicode(cnv, &t, u + CHUNK_UCHARS, &src, end, NULL, true, &e);
        bool more = e == U_BUFFER_OVERFLOW_ERROR;
        if (U_FAILURE(e) && !more) {
            char bad[8];
            int8_t nbad = sizeof(bad);
            UErrorCode e2 = U_ZERO_ERROR;
            ucnv_getInvalidChars(cnv, bad, &nbad, &e2);
            size_t off = (size_t)(src - p) - (U_SUCCESS(e2) ? (size_t)nbad : 0);
            if (err)
                err->offset = base + off;
            r = fail(err, -EILSEQ, STORY_ERR_INVALID, "invalid %s byte sequence at byte %zu",
                     charset, base + off);
            break;
        }
        /* a trailing high surrogate waits in the converter until the next round */
        int32_t n8 = 0;
        UErrorCode e3 = U_ZERO_ERROR;
        u_strToUTF8(u8, (int32_t)sizeof(u8), &n8, u, (int32_t)(t - u), &e3);
        if (U_FAILURE(e3)) {
            if (err)
                err->offset = base + (size_t)(src - p);
            r = fail(err, -EILSEQ, STORY_ERR_INVALID,
                     "invalid %s text (lone surrogate) near byte %zu", charset,
                     base + (size_t)(src - p));
            break;
        }
        if (buf_add(out, u8, (size_t)n8) < 0) {
            r = out->err == -E2BIG
                    ? fail(err, -E2BIG, STORY_ERR_TOO_LARGE, "decoded text too large")
                    : fail_nomem(err);
            break;
        }
        if (!more)
            break;
    }
    ucnv_close(cnv);
    return r;
}

/* ---- cleaning ------------------------------------------------------- */

/*
 * Copy UTF-8 `in` to out: line ends to "\n" (CRLF, CR, U+2028/9), drop
 * zero-width characters and controls, NBSP and tabs to spaces. Counts the
 * controls dropped (binary detection).
 */
static int clean(struct str in, struct buf *out, size_t *ret_controls, size_t *ret_cps)
{
    size_t i = 0, run = 0, controls = 0, cps = 0;
    while (i < in.len) {
        size_t k = i;
        uint32_t c = story_u8_next(in.p, in.len, &k);
        cps++;
        const char *rep = NULL;
        bool drop = false;
        if (c == '\r') {
            rep = "\n";
            if (k < in.len && in.p[k] == '\n')
                k++;
        } else if (c == '\n' || c == 0x2028 || c == 0x2029) {
            rep = "\n";
        } else if (c == '\t' || c == 0xA0) {
            rep = " ";
        } else if (c == 0xFEFF || (c >= 0x200B && c <= 0x200D) || c == 0x2060 || c == '\f' ||
                   c == 0x1A) {
            drop = true; /* 0x1A: DOS end of file */
        } else if (c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0)) {
            drop = true;
            controls++;
        }
        if (rep || drop) {
            buf_add(out, in.p + run, i - run);
            if (rep)
                buf_adds(out, rep);
            run = k;
        }
        i = k;
    }
    buf_add(out, in.p + run, in.len - run);
    *ret_controls = controls;
    *ret_cps = cps;
    return out->err;
}

/* ---- site lines ----------------------------------------------------- */

static const char *const site_words[] = {
    "书库", "書庫", "文库", "文庫",   "小说网", "小說網", "小说",   "小說", "书城",
    "書城", "书屋", "書屋", "中文网", "中文網", "电子书", "電子書", "论坛", "論壇",
    "网站", "網站", "本站", "书网",   "書網",   "书吧",   "書吧",
};

static const char *const disclaimer_words[] = {
    "申明",   "声明",   "聲明",   "本书由",   "本書由", "版权", "版權",     "仅供",
    "僅供",   "下载",   "下載",   "免费",     "免費",   "正版", "更多精彩", "请登陆",
    "請登陸", "请访问", "請訪問", "整理制作", "书友",   "書友", "收藏本站",
};

static bool has_any(struct str s, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t wl = strlen(words[i]);
        if (wl <= s.len && memmem(s.p, s.len, words[i], wl))
            return true;
    }
    return false;
}

static bool has_site_word(struct str s)
{
    if (has_any(s, site_words, sizeof(site_words) / sizeof(site_words[0])))
        return true;
    for (size_t i = 0; i + 3 <= s.len; i++)
        if (strncasecmp(s.p + i, "txt", 3) == 0)
            return true;
    return false;
}

static bool is_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

static const char *const tlds[] = { ".com", ".net", ".org", ".cn", ".cc",  ".info", ".top",
                                    ".la",  ".me",  ".tw",  ".hk", ".xyz", ".co" };

/* Find a URL or domain; returns true with [*ret_at, *ret_end) covering it. */
static bool find_url(struct str s, size_t *ret_at, size_t *ret_end)
{
    for (size_t i = 0; i < s.len; i++) {
        bool hit = false;
        if (s.len - i >= 4 && strncasecmp(s.p + i, "www.", 4) == 0)
            hit = true;
        else if (s.len - i >= 7 && strncasecmp(s.p + i, "http://", 7) == 0)
            hit = true;
        else if (s.len - i >= 8 && strncasecmp(s.p + i, "https://", 8) == 0)
            hit = true;
        else if (s.p[i] == '.' && i > 0 && is_host_char(s.p[i - 1])) {
            for (size_t t = 0; t < sizeof(tlds) / sizeof(tlds[0]) && !hit; t++) {
                size_t tl = strlen(tlds[t]);
                if (s.len - i >= tl && strncasecmp(s.p + i, tlds[t], tl) == 0 &&
                    (i + tl == s.len || !is_host_char(s.p[i + tl]) || s.p[i + tl] == '.'))
                    hit = true;
            }
        }
        if (!hit)
            continue;
        size_t at = i, end = i;
        while (at > 0 && is_host_char(s.p[at - 1]))
            at--;
        while (end < s.len && (is_host_char(s.p[end]) || s.p[end] == '/' || s.p[end] == ':' ||
                               s.p[end] == '?' || s.p[end] == '=' || s.p[end] == '&'))
            end++;
        *ret_at = at;
        *ret_end = end;
        return true;
    }
    return false;
}

/* Only closing brackets, spaces and punctuation left. */
static bool only_closers(struct str s)
{
    size_t i = 0;
    while (i < s.len) {
        uint32_t c = story_u8_next(s.p, s.len, &i);
        if (!story_is_space(c) && !story_is_punct(c))
            return false;
    }
    return true;
}

static bool all_ascii(struct str s)
{
    for (size_t i = 0; i < s.len; i++)
        if ((unsigned char)s.p[i] >= 0x80)
            return false;
    return true;
}

enum story_site
story_site_classify(struct str s, bool edge, size_t *ret_cut, const char **ret_reason)
{
    size_t at, end;
    /* fast path for story text: inside the text only a URL (it has a '.') or a short line counts */
    if (!edge && s.len > 80 && !memchr(s.p, '.', s.len))
        return STORY_SITE_NONE;
    bool disclaimer =
        has_any(s, disclaimer_words, sizeof(disclaimer_words) / sizeof(disclaimer_words[0]));
    bool site = has_site_word(s);

    if (find_url(s, &at, &end)) {
        struct str after = { .p = s.p + end, .len = s.len - end };
        if (!only_closers(after)) {
            if (!edge && !(disclaimer && site))
                return STORY_SITE_NONE;
            *ret_reason = disclaimer ? "disclaimer" : "url";
            return STORY_SITE_LINE;
        }
        /* the watermark starts after the last sentence end before the URL */
        size_t cut = at;
        while (cut > 0) {
            size_t k = cut;
            uint32_t c = story_u8_prev(s.p, &k);
            if (story_is_sentence_end(c) && c != '.')
                break;
            cut = k;
        }
        if (cut == 0) {
            *ret_reason = disclaimer ? "disclaimer" : "url";
            return STORY_SITE_LINE;
        }
        struct str mark = { .p = s.p + cut, .len = s.len - cut };
        if (edge || has_site_word(mark) || all_ascii(mark)) {
            *ret_cut = cut;
            *ret_reason = "watermark";
            return STORY_SITE_TAIL;
        }
        return STORY_SITE_NONE;
    }
    if (edge && (disclaimer || site)) {
        *ret_reason = disclaimer ? "disclaimer" : "site name";
        return STORY_SITE_LINE;
    }
    if (site && !disclaimer) {
        size_t n = 0, i = 0;
        bool sentence = false;
        while (i < s.len) {
            uint32_t c = story_u8_next(s.p, s.len, &i);
            sentence |= story_is_sentence_end(c) || c == 0xFF0C;
            n++;
        }
        if (n <= 20 && !sentence) { /* 中國古典精華文庫 */
            *ret_reason = "site name";
            return STORY_SITE_LINE;
        }
    }
    return STORY_SITE_NONE;
}

/* ---- lines ---------------------------------------------------------- */

enum strip { STRIP_NONE, STRIP_LINE, STRIP_TAIL };

struct line {
    size_t off, len; /* trimmed content in the cleaned text */
    size_t width;    /* columns of the untrimmed line */
    bool indented, blank;
    enum strip strip;
    size_t cut; /* STRIP_TAIL: content keeps [0, cut) */
    const char *reason;
    enum story_heading_kind kind;
    bool weak;
};

struct ingest {
    struct buf cleaned;
    struct line *lines;
    size_t n;
    struct story_stripped *stripped;
    size_t n_stripped, alloc_stripped;
};

static struct str content(const struct ingest *in, const struct line *l)
{
    return (struct str){ .p = in->cleaned.p + l->off, .len = l->len };
}

static bool lead_space(const char *p, size_t len, size_t *i)
{
    size_t k = *i;
    if (k >= len)
        return false;
    uint32_t c = story_u8_next(p, len, &k);
    if (!story_is_space(c))
        return false;
    *i = k;
    return true;
}

static int split_lines(struct ingest *in)
{
    const char *p = in->cleaned.p;
    size_t len = in->cleaned.len, n = 1;
    for (size_t i = 0; i < len; i++)
        n += p[i] == '\n';
    in->lines = calloc(n, sizeof(*in->lines));
    if (!in->lines)
        return -ENOMEM;
    size_t off = 0;
    while (off <= len) {
        const char *nl = memchr(p + off, '\n', len - off);
        size_t end = nl ? (size_t)(nl - p) : len;
        if (!nl && off == len && in->n > 0)
            break; /* text ended with "\n" */
        struct line *l = &in->lines[in->n++];
        struct str raw = { .p = p + off, .len = end - off };
        l->width = story_width(raw);
        size_t i = 0;
        while (lead_space(raw.p, raw.len, &i))
            ;
        l->indented = i > 0;
        size_t e = raw.len;
        while (e > i) {
            size_t k = e;
            if (!story_is_space(story_u8_prev(raw.p, &k)))
                break;
            e = k;
        }
        l->off = off + i;
        l->len = e - i;
        l->blank = l->len == 0;
        if (!l->blank) {
            struct story_heading h;
            l->kind = story_heading_parse(content(in, l), &h);
            l->weak = l->kind == STORY_HEADING_NUMBERED && h.weak;
        }
        off = end + 1;
    }
    return 0;
}

static bool strong_heading(const struct line *l)
{
    return l->kind != STORY_HEADING_NONE && !l->weak;
}

static int
add_stripped(struct ingest *in, size_t line, const char *reason, struct str text, bool whole)
{
    if (in->n_stripped == in->alloc_stripped) {
        size_t na = in->alloc_stripped ? 2 * in->alloc_stripped : 16;
        struct story_stripped *nv = realloc(in->stripped, na * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        in->stripped = nv;
        in->alloc_stripped = na;
    }
    char *copy = strndup(text.p, text.len);
    if (!copy)
        return -ENOMEM;
    in->stripped[in->n_stripped++] = (struct story_stripped){
        .line = line, .reason = reason, .text = copy, .whole_line = whole
    };
    return 0;
}

static void mark(struct ingest *in, size_t i, bool edge)
{
    struct line *l = &in->lines[i];
    size_t cut = 0;
    const char *reason = NULL;
    if (l->blank || l->strip != STRIP_NONE || strong_heading(l))
        return;
    switch (story_site_classify(content(in, l), edge, &cut, &reason)) {
    case STORY_SITE_LINE:
        l->strip = STRIP_LINE;
        l->reason = reason;
        break;
    case STORY_SITE_TAIL:
        l->strip = STRIP_TAIL;
        l->cut = cut;
        l->reason = reason;
        break;
    case STORY_SITE_NONE:
        break;
    }
}

#define HEADER_LINES_NO_HEADING 5

/* Site headers (before the first heading), footers (trailing), watermarks. */
static int strip_sites(struct ingest *in)
{
    size_t first = in->n, last = in->n;
    for (size_t i = 0; i < in->n; i++) {
        if (strong_heading(&in->lines[i])) {
            if (first == in->n)
                first = i;
            last = i;
        }
    }
    if (first == in->n) { /* no heading: the first few lines are the header region */
        size_t seen = 0;
        first = 0;
        while (first < in->n && seen < HEADER_LINES_NO_HEADING) {
            seen += !in->lines[first].blank;
            first++;
        }
        last = first;
    }
    for (size_t i = 0; i < first; i++)
        mark(in, i, true);
    for (size_t i = in->n; i > last + 1;) {
        i--;
        struct line *l = &in->lines[i];
        if (l->blank)
            continue;
        mark(in, i, true);
        if (l->strip != STRIP_LINE)
            break;
    }
    for (size_t i = first; i < in->n; i++)
        mark(in, i, false);

    for (size_t i = 0; i < in->n; i++) {
        struct line *l = &in->lines[i];
        if (l->strip == STRIP_NONE)
            continue;
        struct str s = content(in, l);
        if (l->strip == STRIP_TAIL)
            s = (struct str){ .p = s.p + l->cut, .len = s.len - l->cut };
        if (add_stripped(in, i + 1, l->reason, s, l->strip == STRIP_LINE) < 0)
            return -ENOMEM;
        if (l->strip == STRIP_TAIL) {
            /* keep the story text before the watermark, trimmed */
            size_t e = l->cut;
            while (e > 0) {
                size_t k = e;
                if (!story_is_space(story_u8_prev(in->cleaned.p + l->off, &k)))
                    break;
                e = k;
            }
            l->len = e;
            l->blank = e == 0;
        }
    }
    return 0;
}

/* ---- re-flow -------------------------------------------------------- */

struct wrap {
    bool on;
    size_t width, slack;
    bool indent_paras; /* an indented line starts a paragraph */
};

#define WRAP_MAX_WIDTH 200
#define WRAP_MIN_LINES 8

static void detect_wrap(const struct ingest *in, enum story_reflow mode, struct wrap *w)
{
    size_t hist[WRAP_MAX_WIDTH + 1] = { 0 };
    size_t nonblank = 0, indented = 0;
    memset(w, 0, sizeof(*w));
    for (size_t i = 0; i < in->n; i++) {
        const struct line *l = &in->lines[i];
        if (l->blank || l->strip == STRIP_LINE)
            continue;
        nonblank++;
        indented += l->indented;
        if (l->width >= 20 && l->width <= WRAP_MAX_WIDTH)
            hist[l->width]++;
    }
    size_t mode_w = 0;
    for (size_t k = 20; k <= WRAP_MAX_WIDTH; k++)
        if (hist[k] > hist[mode_w])
            mode_w = k;
    if (mode_w == 0 || mode == STORY_REFLOW_OFF)
        return;
    size_t slack = mode_w / 10 > 6 ? mode_w / 10 : 6;
    size_t near = 0;
    for (size_t k = mode_w - slack; k <= mode_w + 4 && k <= WRAP_MAX_WIDTH; k++)
        near += hist[k];
    w->width = mode_w;
    w->slack = slack;
    w->indent_paras = indented * 100 >= nonblank * 3 && indented * 100 <= nonblank * 70;
    w->on = mode == STORY_REFLOW_ON || (nonblank >= WRAP_MIN_LINES && near * 10 >= nonblank * 6);
}

static uint32_t last_cp(struct str s)
{
    size_t k = s.len;
    return s.len ? story_u8_prev(s.p, &k) : 0;
}

static bool ascii_alnum(uint32_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Does line `cur` continue the paragraph whose last line is `prev`? */
static bool joins(const struct ingest *in,
                  const struct wrap *w,
                  const struct line *prev,
                  const struct line *cur,
                  bool hold,
                  bool across_blank)
{
    if (!w->on || hold || strong_heading(prev) || cur->kind != STORY_HEADING_NONE)
        return false;
    /* a blank line inside a sentence is a page break of the wrapped source */
    if (across_blank && story_is_punct(last_cp(content(in, prev))))
        return false;
    if (w->indent_paras && cur->indented)
        return false;
    if (prev->strip == STRIP_TAIL)
        return false;
    if (prev->width + w->slack < w->width)
        return false;
    uint32_t c = last_cp(content(in, prev));
    if (story_is_sentence_end(c) && prev->width + 2 < w->width)
        return false;
    return true;
}

/* Short title-like line after a bare heading (第一回 / 甄士隱…). */
static bool heading_title_line(struct str s)
{
    size_t n = 0, i = 0;
    bool stop = false;
    while (i < s.len) {
        uint32_t c = story_u8_next(s.p, s.len, &i);
        stop |= c == 0x3002;
        n++;
    }
    return n <= 30 && !stop;
}

static int emit(struct ingest *in, const struct wrap *w, struct buf *out)
{
    const struct line *prev = NULL;
    bool blank_pending = false, hold = false, after_bare = false;
    for (size_t i = 0; i < in->n; i++) {
        const struct line *l = &in->lines[i];
        if (l->strip == STRIP_LINE)
            continue;
        if (l->blank) {
            blank_pending = prev != NULL;
            continue;
        }
        struct str s = content(in, l);
        if (prev && joins(in, w, prev, l, hold, blank_pending)) {
            if (ascii_alnum(last_cp(content(in, prev))) && ascii_alnum((unsigned char)s.p[0]))
                buf_addch(out, ' ');
            buf_addstr(out, s);
        } else {
            if (prev)
                buf_addch(out, '\n');
            if (blank_pending)
                buf_addch(out, '\n');
            buf_addstr(out, s);
        }
        hold = after_bare && heading_title_line(s);
        struct story_heading h;
        after_bare = strong_heading(l) && story_heading_parse(s, &h) != STORY_HEADING_NONE &&
                     h.title.len == 0;
        blank_pending = false;
        prev = l;
    }
    if (prev)
        buf_addch(out, '\n');
    return out->err;
}

/* ---- traditional -> simplified --------------------------------------- */

static int t2s(struct buf *text, const char *config, struct story_error *err)
{
    const char *cfg = config ? config : STORY_OPENCC_T2S;
    if (cfg[0] == '/' && access(cfg, R_OK) != 0)
        return fail(err, -ENOENT, STORY_ERR_T2S, "opencc configuration '%s' not found", cfg);
    opencc_t od = opencc_open(cfg);
    if (od == (opencc_t)-1)
        return fail(
            err, -ENOENT, STORY_ERR_T2S,
            "failed to load opencc configuration '%s': %s (is the opencc data package installed?)",
            cfg, opencc_error());
    char *conv = opencc_convert_utf8(od, text->p, text->len);
    int r = 0;
    if (!conv) {
        r = fail(err, -ENOENT, STORY_ERR_T2S, "opencc conversion failed: %s", opencc_error());
    } else {
        size_t n = strlen(conv);
        buf_clear(text);
        if (buf_add(text, conv, n) < 0)
            r = text->err == -E2BIG
                    ? fail(err, -E2BIG, STORY_ERR_TOO_LARGE, "converted text too large")
                    : fail_nomem(err);
        opencc_convert_utf8_free(conv);
    }
    opencc_close(od);
    return r;
}

/* ---- ingest --------------------------------------------------------- */

void story_text_init(struct story_text *t)
{
    memset(t, 0, sizeof(*t));
    buf_init(&t->text, 0);
    buf_init(&t->original, 0);
    t->encoding = "";
}

static void free_stripped(struct story_stripped *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].text);
    free(v);
}

void story_text_release(struct story_text *t)
{
    if (!t)
        return;
    buf_release(&t->text);
    buf_release(&t->original);
    free_stripped(t->stripped, t->n_stripped);
    t->stripped = NULL;
    t->n_stripped = 0;
}

/* Decide the encoding and decode into out. */
static int
decode(const char *p, size_t len, struct story_text *t, struct buf *out, struct story_error *err)
{
    const unsigned char *u = (const unsigned char *)p;
    struct guess g[6];
    int ng;

    for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
        if (len >= magics[i].len && memcmp(p, magics[i].bytes, magics[i].len) == 0) {
            if (err)
                snprintf(err->guess, sizeof(err->guess), "%s", magics[i].name);
            return fail(err, -EMEDIUMTYPE, STORY_ERR_BINARY, "binary file (%s), not a text",
                        magics[i].name);
        }
    }
    if (len >= 4 && ((u[0] == 0xFF && u[1] == 0xFE && u[2] == 0 && u[3] == 0) ||
                     (u[0] == 0 && u[1] == 0 && u[2] == 0xFE && u[3] == 0xFF))) {
        if (err)
            snprintf(err->guess, sizeof(err->guess), "UTF-32");
        return fail(err, -EILSEQ, STORY_ERR_UNSUPPORTED, "unsupported encoding 'UTF-32'");
    }
    if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) {
        t->bom = true;
        t->encoding = "UTF-8";
        if (!utf8_valid(p + 3, len - 3)) {
            size_t off = 3 + utf8_bad_offset(p + 3, len - 3);
            if (err)
                err->offset = off;
            return fail(err, -EILSEQ, STORY_ERR_INVALID, "invalid UTF-8 byte sequence at byte %zu",
                        off);
        }
        if (buf_add(out, p + 3, len - 3) < 0)
            return fail_nomem(err);
        return 0;
    }
    if (len >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == 0xFE && u[1] == 0xFF))) {
        t->bom = true;
        t->encoding = u[0] == 0xFF ? "UTF-16LE" : "UTF-16BE";
        return convert(t->encoding, p + 2, len - 2, 2, out, err);
    }
    if (memchr(p, 0, len)) {
        ng = detect_icu(p, len, g, 1);
        if (ng > 0 && strncmp(g[0].name, "UTF-16", 6) == 0) {
            if (err) {
                snprintf(err->guess, sizeof(err->guess), "%s", g[0].name);
                err->confidence = g[0].confidence;
            }
            return fail(err, -EILSEQ, STORY_ERR_UNSUPPORTED,
                        "unsupported encoding '%s' without a byte order mark", g[0].name);
        }
        if (err)
            snprintf(err->guess, sizeof(err->guess), "binary");
        return fail(err, -EMEDIUMTYPE, STORY_ERR_BINARY, "binary file (NUL bytes), not a text");
    }
    if (utf8_valid(p, len)) {
        t->encoding = "UTF-8";
        if (buf_add(out, p, len) < 0)
            return fail_nomem(err);
        return 0;
    }

    ng = detect_icu(p, len, g, 6);
    if (ng == 0)
        return fail(err, -EILSEQ, STORY_ERR_UNSUPPORTED,
                    "unknown encoding (the detector has no guess)");
    int pick = -1;
    if (in_scope(g[0].name))
        pick = 0;
    /* a close second in scope: ICU often hesitates between CJK multi-byte sets */
    for (int i = 1; i < ng && pick < 0; i++)
        if (in_scope(g[i].name) && g[i].confidence + 10 >= g[0].confidence)
            pick = i;
    if (pick < 0) {
        if (err) {
            snprintf(err->guess, sizeof(err->guess), "%s", g[0].name);
            err->confidence = g[0].confidence;
        }
        return fail(
            err, -EILSEQ, STORY_ERR_UNSUPPORTED,
            "unsupported encoding '%s' (confidence %d); accepted: UTF-8, UTF-16 with BOM, GB18030/GBK, Big5",
            g[0].name, g[0].confidence);
    }
    bool gb = strcmp(g[pick].name, "GB18030") == 0;
    t->encoding = gb ? "GB18030" : "Big5";
    /* GB text is always decoded as GB18030 (a superset of GBK/GB2312); Big5 with CP950 extensions
     */
    int r = convert(gb ? "GB18030" : "windows-950-2000", p, len, 0, out, err);
    if (r < 0 && err && err->kind == STORY_ERR_INVALID) {
        snprintf(err->guess, sizeof(err->guess), "%s", t->encoding);
        err->confidence = g[pick].confidence;
    }
    return r;
}

int story_ingest(const char *p,
                 size_t len,
                 const struct story_ingest_opts *o,
                 struct story_text *ret,
                 struct story_error *err)
{
    static const struct story_ingest_opts defaults = { 0 };
    struct story_text t;
    struct ingest in = { 0 };
    struct buf decoded;
    struct wrap w;
    size_t controls = 0, cps = 0;
    int r;

    if (!o)
        o = &defaults;
    if (err) {
        memset(err, 0, sizeof(*err));
        err->confidence = -1;
    }
    size_t cap = o->max_bytes ? o->max_bytes : STORY_INPUT_MAX_DEFAULT;
    if (len == 0 || !p)
        return fail(err, -ENODATA, STORY_ERR_EMPTY, "empty file");
    if (len > cap)
        return fail(err, -E2BIG, STORY_ERR_TOO_LARGE, "file of %zu bytes is over the cap of %zu",
                    len, cap);

    story_text_init(&t);
    /* decoded UTF-8 is at most 1.5x the input (2-byte GB/Big5/UTF-16 -> 3 bytes) */
    size_t out_cap = cap + cap / 2 + 16;
    buf_init(&decoded, out_cap);
    buf_init(&in.cleaned, out_cap);
    buf_init(&t.text, out_cap);

    r = decode(p, len, &t, &decoded, err);
    if (r < 0)
        goto out;
    if (clean(buf_str(&decoded), &in.cleaned, &controls, &cps) < 0) {
        r = fail_nomem(err);
        goto out;
    }
    buf_release(&decoded);
    if (controls * 100 > cps + 100) {
        if (err)
            snprintf(err->guess, sizeof(err->guess), "binary");
        r = fail(err, -EMEDIUMTYPE, STORY_ERR_BINARY,
                 "binary file (%zu control characters in %zu), not a text", controls, cps);
        goto out;
    }
    if ((r = split_lines(&in)) < 0 || (r = strip_sites(&in)) < 0) {
        r = fail_nomem(err);
        goto out;
    }
    t.input_lines = in.n;
    detect_wrap(&in, o->reflow, &w);
    t.reflowed = w.on;
    t.wrap_width = w.on ? w.width : 0;
    if (emit(&in, &w, &t.text) < 0) {
        r = t.text.err == -E2BIG ? fail(err, -E2BIG, STORY_ERR_TOO_LARGE, "text too large")
                                 : fail_nomem(err);
        goto out;
    }
    if (t.text.len == 0) {
        r = fail(err, -ENODATA, STORY_ERR_EMPTY, "no text (only white space or site lines)");
        goto out;
    }
    if (o->t2s) {
        if (buf_addstr(&t.original, buf_str(&t.text)) < 0) {
            r = fail_nomem(err);
            goto out;
        }
        r = t2s(&t.text, o->opencc_config, err);
        if (r < 0)
            goto out;
        t.t2s = true;
    }
    t.stripped = in.stripped;
    t.n_stripped = in.n_stripped;
    in.stripped = NULL;
    in.n_stripped = 0;
    *ret = t;
    r = 0;
out:
    if (r < 0)
        story_text_release(&t);
    buf_release(&decoded);
    buf_release(&in.cleaned);
    free(in.lines);
    free_stripped(in.stripped, in.n_stripped);
    return r;
}
