/*
 * libFuzzer target for story sync (src/story/sync.c): re-anchoring ranges
 * of an old text onto a new one, scene matching and snippet diffs.
 *
 * Input: byte 0 is the number of ranges n (mod 17), then 4 bytes a range
 * (two little-endian 16-bit offsets, reduced into the old text and sorted),
 * then the old text, a NUL, the new text. Invalid UTF-8 must give -EILSEQ.
 * Contract checks (abort on violation, besides sanitizer reports):
 * - story_reanchor answers 0, every anchor has start <= end <= length of
 *   the new text, a known status, a similarity in [0, 1]; an EXACT or MOVED
 *   anchor's text equals the range's old text;
 * - story_text_diff is well-formed UTF-8 and fits its cap;
 * - story_match_scenes (scenes = lines) gives indices in range, each old
 *   scene used at most once.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "story/sync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RANGES 16
#define MAX_LINES  64

static char *dup_range(const char *p, size_t len)
{
    char *s = malloc(len + 1);
    if (!s)
        abort();
    memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

/* The text's code points [start, end) equal the other's [ostart, oend)? */
static int same_text(const char *a, size_t as, size_t ae, const char *b, size_t bs, size_t be)
{
    size_t la = strlen(a), lb = strlen(b);
    long a0 = utf8_offset(a, la, as), a1 = utf8_offset(a, la, ae);
    long b0 = utf8_offset(b, lb, bs), b1 = utf8_offset(b, lb, be);
    if (a0 < 0 || a1 < 0 || b0 < 0 || b1 < 0)
        return 0;
    return a1 - a0 == b1 - b0 && memcmp(a + a0, b + b0, (size_t)(a1 - a0)) == 0;
}

static size_t split_lines(char *s, char **lines)
{
    size_t n = 0;
    char *p = s;
    while (n < MAX_LINES) {
        lines[n++] = p;
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    return n;
}

static void check_scenes(const char *old_text, const char *new_text)
{
    char *a = dup_range(old_text, strlen(old_text)), *b = dup_range(new_text, strlen(new_text));
    char *la[MAX_LINES], *lb[MAX_LINES];
    size_t na = split_lines(a, la), nb = split_lines(b, lb);
    ssize_t m[MAX_LINES];
    if (story_match_scenes((const char *const *)la, na, (const char *const *)lb, nb, m) != 0)
        abort();
    char used[MAX_LINES] = { 0 };
    for (size_t j = 0; j < nb; j++) {
        if (m[j] < -1 || m[j] >= (ssize_t)na)
            abort();
        if (m[j] >= 0 && used[m[j]]++)
            abort();
    }
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = data[0] % (MAX_RANGES + 1);
    if (size < 1 + 4 * n)
        return 0;
    const uint8_t *spec = data + 1;
    const char *rest = (const char *)data + 1 + 4 * n;
    size_t rest_len = size - 1 - 4 * n;
    const char *nul = memchr(rest, '\0', rest_len);
    size_t old_len = nul ? (size_t)(nul - rest) : rest_len;
    char *old_text = dup_range(rest, old_len);
    char *new_text = nul ? dup_range(nul + 1, rest_len - old_len - 1) : dup_range("", 0);
    size_t new_len = strlen(new_text); /* a second NUL ends it */

    struct story_range in[MAX_RANGES];
    struct story_anchor out[MAX_RANGES];
    bool valid = utf8_valid(old_text, old_len) && utf8_valid(new_text, new_len);
    size_t na = valid ? utf8_count(old_text, old_len) : 0;
    for (size_t i = 0; i < n; i++) {
        size_t s = (size_t)(spec[4 * i] | spec[4 * i + 1] << 8) % (na + 1);
        size_t e = (size_t)(spec[4 * i + 2] | spec[4 * i + 3] << 8) % (na + 1);
        in[i] = (struct story_range){ s < e ? s : e, s < e ? e : s };
    }
    int r = story_reanchor(old_text, new_text, in, n, out);
    if (!valid) {
        if (r != -EILSEQ)
            abort();
    } else {
        if (r != 0)
            abort();
        size_t nb = utf8_count(new_text, new_len);
        for (size_t i = 0; i < n; i++) {
            const struct story_anchor *an = &out[i];
            if (an->start > an->end || an->end > nb)
                abort();
            if (an->status < STORY_ANCHOR_EXACT || an->status > STORY_ANCHOR_GONE)
                abort();
            if (!(an->similarity >= 0.0 && an->similarity <= 1.0))
                abort();
            if ((an->status == STORY_ANCHOR_EXACT || an->status == STORY_ANCHOR_MOVED) &&
                !same_text(old_text, in[i].start, in[i].end, new_text, an->start, an->end))
                abort();
        }
        check_scenes(old_text, new_text);
    }

    size_t cap = 8 + (size % 120);
    char *d = story_text_diff(old_text, new_text, cap);
    if (!d || strlen(d) >= cap || !utf8_valid(d, strlen(d)))
        abort();
    free(d);
    free(old_text);
    free(new_text);
    return 0;
}
