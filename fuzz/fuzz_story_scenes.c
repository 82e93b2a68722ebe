/*
 * libFuzzer target for story scenes and dialogue (src/story/scenes.c,
 * dialogue.c, roster.c): paragraphs, scene breaks, quotes and speakers of a
 * chapter body.
 *
 * Input: any bytes; invalid UTF-8 is skipped (after checking that
 * story_body_split refuses it with -EILSEQ). The first byte, when present,
 * picks small scene limits so that the length rules run too.
 * Contract checks (abort on violation, besides sanitizer reports):
 * - scenes ordered, contiguous, non-empty, covering [0, body_chars);
 * - paragraphs and utterances counted into scenes exactly once, in order;
 * - every utterance inside its paragraph and scene, qbegin <= begin <= end
 *   <= qend, confidence in [0, 1], a rule, a well-formed speaker or NULL;
 * - the roster of the result is well-formed.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "story/story.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct story_chapter_parts *p)
{
    if (utf8_count(p->body, p->body_bytes) != p->body_chars)
        abort();
    if ((p->body_chars == 0) != (p->n_scenes == 0))
        abort();
    size_t at = 0, par = 0, utt = 0;
    for (size_t k = 0; k < p->n_scenes; k++) {
        const struct story_scene *s = &p->scenes[k];
        if (s->index != k || s->begin != at || s->end <= s->begin || s->first_paragraph != par ||
            s->first_utterance != utt)
            abort();
        for (size_t i = 0; i < s->n_paragraphs; i++) {
            const struct story_paragraph *g = &p->paragraphs[par + i];
            if (g->begin < s->begin || g->end > s->end || g->begin >= g->end)
                abort();
        }
        for (size_t i = 0; i < s->n_utterances; i++) {
            const struct story_utterance *u = &p->utterances[utt + i];
            if (u->qbegin < s->begin || u->qend > s->end || u->qbegin > u->begin ||
                u->begin > u->end || u->end > u->qend || u->scene != k ||
                u->paragraph >= p->n_paragraphs || u->qbegin < p->paragraphs[u->paragraph].begin ||
                u->qend > p->paragraphs[u->paragraph].end)
                abort();
            if (!(u->confidence >= 0.0 && u->confidence <= 1.0) || !u->rule)
                abort();
            if (u->speaker && (!*u->speaker || !utf8_valid(u->speaker, strlen(u->speaker))))
                abort();
            if (utt + i > 0 && u->qbegin < p->utterances[utt + i - 1].qend)
                abort();
        }
        par += s->n_paragraphs;
        utt += s->n_utterances;
        at = s->end;
    }
    if (at != p->body_chars || par != p->n_paragraphs || utt != p->n_utterances)
        abort();

    struct story_roster r;
    if (story_roster_collect(p, 1, 1, &r) != 0)
        abort();
    for (size_t i = 0; i < r.n; i++)
        if (!r.v[i].name || !utf8_valid(r.v[i].name, strlen(r.v[i].name)) ||
            (i > 0 && r.v[i - 1].mentions < r.v[i].mentions))
            abort();
    story_roster_release(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    struct story_chapter_parts parts;
    if (!utf8_valid(p, size)) {
        if (story_body_split(p, size, NULL, NULL, &parts) != -EILSEQ)
            abort();
        return 0;
    }
    struct story_scene_opts o = { 0 };
    if (size > 0 && (data[0] & 1)) {
        o.max_scene_chars = 1 + data[0] % 64;
        o.min_scene_chars = data[0] % 16;
    }
    static const char *const known[] = { "宋江", "公", "阿Q", NULL };
    if (story_body_split(p, size, &o, (data[0] & 2) ? known : NULL, &parts) != 0)
        abort();
    check(&parts);
    story_parts_release(&parts);
    return 0;
}
