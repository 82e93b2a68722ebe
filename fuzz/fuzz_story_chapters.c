/*
 * libFuzzer target for story chapters (src/story/chapters.c): headings and
 * segmentation of a normalised text.
 *
 * Input: any bytes; invalid UTF-8 is skipped (story_chapters takes the
 * output of story_ingest, which is always well-formed), the rest is
 * segmented as is and also through story_ingest first.
 * Contract checks (abort on violation, besides sanitizer reports):
 * - 0 with at least one chapter (a fallback when there is no heading);
 * - chapters numbered 1..n, titles non-NULL and well-formed, bodies ordered,
 *   inside the text, and their code-point ranges match their byte ranges.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/utf8.h"
#include "story/story.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct story_text *t)
{
    struct story_chapters c;
    int r = story_chapters(t, &c);
    if (t->text.len == 0) {
        if (r != -ENODATA)
            abort();
        return;
    }
    if (r != 0 || c.n == 0 || (c.fallback && c.n != 1))
        abort();
    size_t prev_end = 0;
    for (size_t i = 0; i < c.n; i++) {
        const struct story_chapter *ch = &c.v[i];
        if (ch->index != i + 1 || !ch->title || !utf8_valid(ch->title, strlen(ch->title)))
            abort();
        if (ch->byte_begin > ch->byte_end || ch->byte_end > t->text.len || ch->begin > ch->end)
            abort();
        if (i > 0 && ch->begin < prev_end)
            abort();
        if (utf8_count(t->text.p, ch->byte_begin) != ch->begin ||
            utf8_count(t->text.p + ch->byte_begin, ch->byte_end - ch->byte_begin) !=
                ch->end - ch->begin)
            abort();
        prev_end = ch->end;
    }
    if (c.title && !utf8_valid(c.title, strlen(c.title)))
        abort();
    story_chapters_release(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    if (!utf8_valid(p, size))
        return 0;
    struct story_text t;
    story_text_init(&t);
    buf_add(&t.text, p, size);
    check(&t);
    story_text_release(&t);

    struct story_error err;
    if (story_ingest(p, size, NULL, &t, &err) == 0) {
        check(&t);
        story_text_release(&t);
    }
    return 0;
}
