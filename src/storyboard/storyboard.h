/*
 * storyboard: the novel -> storyboard service. It joins the pure stages of
 * src/story (ingest, chapters, scenes and utterances, roster, drafters,
 * text alignment, export formats) to the store, for the API
 * (POST /projects/{id}/novel, GET .../novel, exports) and the CLI
 * (`annotd story import|export`).
 *
 * DESIGN
 * Import is sync: the first import of a novel and every later one (the
 * whole novel again, or only its new chapters) run the same steps.
 *   1. Outside any transaction: ingest, chapters, scenes and utterances of
 *      every chapter of the upload; a content hash per chapter (title and
 *      body) and a key (volume + heading number, or the title).
 *   2. A first write: the novel row (created on the first import), the
 *      roster (names found become characters, counts refreshed; human
 *      edits to a character are kept), and the novel's chapters as they
 *      are, with the revision this import started from.
 *   3. Outside any transaction: match each uploaded chapter to a stored
 *      one: the same hash -> kept untouched; else the same key -> changed;
 *      else added (appended after the last stored chapter). A stored
 *      chapter missing from the upload is left alone (appending chapters
 *      is uploading only them). Draft the scenes of added and changed
 *      chapters (the project's drafter: rules, or an LLM endpoint with the
 *      rules as fallback per scene); shot ids are "s<revision>-<n>", new
 *      for every import, so an id is never reused.
 *   4. A second write, refused with -ERR_CONFLICT when another import
 *      moved the revision meanwhile: added chapters become tasks (one per
 *      scene) with their drafts as predictions; a changed chapter's scenes
 *      are matched to the stored ones by content; a scene without human
 *      work gets a new draft that keeps every machine shot whose source
 *      text survived (re-anchored, same id); a scene with human work (a
 *      submitted annotation, or a draft that differs from the machine's)
 *      keeps every shot as the human left it, re-anchored where its
 *      source text survived, else flagged with the diff of its source
 *      text, and the re-anchored version is stored as a new annotation
 *      version (source "sync") that goes to review when flagged. Nothing
 *      is ever deleted: a stored scene with no place in the new text is
 *      marked removed (its human shots flagged), every version stays.
 * The summary counts shots: added (drafted for new chapters), kept
 * (untouched, or re-anchored unchanged), redrafted (new machine shots in
 * changed chapters), flagged (human shots whose source text changed).
 */
#ifndef ANNOTD_STORYBOARD_H
#define ANNOTD_STORYBOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "store/store.h"

#define STORYBOARD_NOVEL_MAX ((size_t)64 << 20)

struct storyboard_import_opts {
    bool t2s;          /* traditional -> simplified */
    size_t max_bytes;  /* 0: STORYBOARD_NOVEL_MAX */
    int64_t user_id;   /* who imports (audit), 0: the CLI */
    const char *title; /* the novel's title when the file has none, or NULL */
};
/* With an LLM drafter, the import drafts with the rules at once and queues a
 * "story.llm_draft" job for the scenes it drafted; the summary names it
 * ("job":{"id","kind","state","total"}). */

/* What went wrong, for the caller's error reply. */
struct storyboard_error {
    const char *code; /* "invalid_request", "too_large", "unsupported_media", "conflict", ... */
    char path[32];    /* "body", "t2s", "" */
    char message[320];
};

/*
 * Ingest or sync the novel in p[0..len) into storyboard project `project`.
 * Appends the summary JSON (see the contract) to *out and returns
 * 0, or returns a negative error with *err filled; on error nothing
 * already stored has changed.
 */
int storyboard_import(struct store *st,
                      const struct store_project *project,
                      const char *p,
                      size_t len,
                      const struct storyboard_import_opts *o,
                      struct buf *out,
                      struct storyboard_error *err);

/* GET /projects/{id}/novel: the novel, its chapters with shots and durations. -ERR_NOT_FOUND when none. */
int storyboard_novel_json(struct store *st, const struct store_project *project, struct buf *out);

/*
 * Write the project's storyboard in `format` (story/export.h names the
 * formats: story_export_known, story_export_mime ...) to *out, from one
 * snapshot. With the media dir `media` (may be NULL) the storyboard-html
 * sheet embeds each shot's accepted first frame as a 256 px thumbnail
 * (a data: URI), made on first use (libvips, on the calling thread).
 */
struct media;
int storyboard_export_media(struct store *st,
                            struct media *media,
                            const struct store_project *project,
                            const char *format,
                            struct buf *out);

/*
 * Shots and their total duration in a storyboard result's JSON text
 * ({"shots":[{...,"duration":N,...},...]}), without building a tree: a
 * single pass that tracks nesting and reads "duration" only at the shot
 * level. Malformed or truncated text gives what was read before the fault
 * (never reads past len). Used where every scene of a novel is summed.
 */
void storyboard_result_stats(const char *p, size_t len, size_t *ret_shots, double *ret_duration);

/*
 * Background job kinds of the storyboard (src/jobs): "story.llm_draft"
 * re-drafts the scenes an import drafted with the rules, through the
 * project's LLM endpoint, scene by scene (a scene that gained human work
 * meanwhile is skipped; a scene the endpoint fails keeps its rule draft).
 */
struct job_kind;
const struct job_kind *storyboard_job_kinds(size_t *ret_n);

/* "c12" -> 12; 0 when s is not a roster id. */
int64_t storyboard_character_id(const char *s);

#endif
