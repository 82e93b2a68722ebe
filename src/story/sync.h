/*
 * story sync: the pure text-alignment half of serialized sync (issue 5,
 * part 7). No I/O, no logging, no database: the store-side sync (which
 * shots to keep, re-draft or flag) calls these on chapter and scene texts.
 *
 * DESIGN
 *
 * story_reanchor() maps code-point ranges of an old text (the `source` of
 * shots) onto a new text. It aligns the two texts once per call:
 *   1. the common prefix and suffix are matched as they are;
 *   2. the middle is cut into sentences (after 。！？!?；;… and a newline,
 *      closing quotes kept with their sentence; a run longer than 64 code
 *      points is cut there) and the sentences are diffed with Myers' O(ND)
 *      algorithm (E. Myers, "An O(ND) Difference Algorithm and Its
 *      Variations", Algorithmica 1986), compared by hash and then by content;
 *   3. each block of changed sentences is diffed again, character by
 *      character, with the same algorithm. The work is bounded: a block whose
 *      edit distance exceeds 512 is halved at a sentence boundary (in
 *      proportion to its length) and each half diffed on its own; a block
 *      that cannot be halved any more counts as replaced wholesale.
 * A changed sentence thus never disturbs the alignment of the others, and
 * the cost is O((N + M) * D) with D the distance of one block, not of the
 * whole text. Memory is about 70 bytes a code point of the two texts.
 *
 * Each range is then classified against the alignment:
 *   EXACT    every code point of it is matched and contiguous; or it occurs
 *            unchanged overlapping its aligned place (the occurrence nearest
 *            the aligned position wins, among the first 256), made of new
 *            text or its own (at most a quarter may be other old text);
 *   MOVED    its text disappeared from its place but occurs, unchanged and
 *            at least STORY_ANCHOR_MOVED_MIN code points long, in inserted
 *            text elsewhere (the nearest occurrence);
 *   CHANGED  the aligned range differs; similarity is the share of matched
 *            code points, 2 * matched / (old length + new length), as in
 *            Python's difflib ratio;
 *   GONE     similarity below STORY_ANCHOR_GONE_BELOW (nothing, or only
 *            scattered characters, survive). start/end say where the text
 *            stood: what now stands at its place, often an empty range.
 *
 * All offsets are Unicode code points; texts are UTF-8.
 */
#ifndef ANNOTD_STORY_SYNC_H
#define ANNOTD_STORY_SYNC_H

#include <stddef.h>
#include <sys/types.h>

#define STORY_SYNC_MAX_TEXT     ((size_t)2 << 20) /* bytes of one text: a chapter or a scene */
#define STORY_ANCHOR_GONE_BELOW 0.25
#define STORY_ANCHOR_MOVED_MIN  4 /* code points */

struct story_range {
    size_t start, end; /* [start, end) in code points */
};

enum story_anchor_status {
    STORY_ANCHOR_EXACT = 0,
    STORY_ANCHOR_MOVED,
    STORY_ANCHOR_CHANGED,
    STORY_ANCHOR_GONE,
};

struct story_anchor {
    size_t start, end; /* [start, end) in code points of the new text */
    int status;        /* enum story_anchor_status */
    double similarity; /* 0..1; 1 for EXACT and MOVED */
};

/* Static lowercase name of an anchor status: "exact", "moved", "changed", "gone". */
const char *story_anchor_status_name(int status);

/*
 * Re-anchor in[0..n) (ranges in code points of old_text) onto new_text; see
 * DESIGN. Both texts are NUL-terminated UTF-8. Writes out[0..n) and returns
 * 0, or returns a negative error and writes nothing:
 *   -EINVAL  a NULL argument, or a range with start > end or past old_text
 *   -EILSEQ  a text is not well-formed UTF-8
 *   -E2BIG   a text over STORY_SYNC_MAX_TEXT bytes
 *   -ENOMEM
 */
int story_reanchor(const char *old_text,
                   const char *new_text,
                   const struct story_range *in,
                   size_t n,
                   struct story_anchor *out);

/*
 * Match re-segmented scenes by content: old_for_new[j] gets the index of the
 * old scene that new scene j continues, or -1 for a new scene. Identical
 * texts are matched first (in order); the rest by the similarity of their
 * character bigrams (Dice coefficient, at least 0.4), best first, keeping
 * the order of the scenes (a match never crosses another). Each old scene is
 * used at most once. With more than 1000 * 1000 pairs, only pairs near the
 * diagonal are compared. Returns 0, -EINVAL (NULL arguments) or -ENOMEM;
 * old_for_new is written only on success.
 */
int story_match_scenes(const char *const *old_scenes,
                       size_t n_old,
                       const char *const *new_scenes,
                       size_t n_new,
                       ssize_t *old_for_new);

/*
 * A compact human-readable diff of two snippets, for a reviewer:
 * "…共同部分[-旧文字-]{+新文字+}…". Common runs are shortened to 10 code
 * points of context around each change. NULL snippets are empty; invalid
 * UTF-8 bytes read as U+FFFD. The result is malloc'ed, NUL-terminated and
 * at most cap bytes long including the NUL (0: 1024), cut at a code point
 * boundary and ended with "…" when it had to be cut. Returns NULL only when
 * out of memory. Identical snippets give the text itself.
 */
char *story_text_diff(const char *old_snippet, const char *new_snippet, size_t cap);

/* SHA-256 of p[0..len) as 64 lowercase hex digits and a NUL (chapter identity). */
void story_hash_text(const char *p, size_t len, char out[65]);

#endif
