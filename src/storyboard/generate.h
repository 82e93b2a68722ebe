/*
 * storyboard generate: media per shot (issue 5, part 9). Frames generated
 * through the project's OpenAI-compatible images endpoint, as a background
 * job, and the helpers the API's shot media routes share with it.
 *
 * DESIGN
 * POST /tasks/{id}/shots/{shot}/generate checks what it can at once
 * (storyboard_generate_check: an endpoint is configured and allowed, the
 * task and the shot exist) and queues a "story.generate_frame" job
 * {"task","shot","kind","user"}. The job (storyboard_generate_job, its ctx
 * the media dir) reads the shot from the task's newest result, takes its
 * image_prompt (or drafts one with story_shot_prompts() from the shot and
 * the roster's character sheets), calls the endpoint outside any
 * transaction (story_imagegen: minutes at worst), stores the bytes in the
 * media dir (as an upload would: hashed, sniffed, checked by libvips,
 * renamed into place), then in one write: the media row for the org, the
 * shot_media item (source generated, status pending) and a "shot_media"
 * event. A failure leaves nothing behind but the job's error.
 * The endpoint is an SSRF risk like the LLM drafter's: only URLs the
 * operator allowed (ANNOTD_LLM_ALLOW) are called; keys come from the
 * environment variable the config names.
 */
#ifndef ANNOTD_STORYBOARD_GENERATE_H
#define ANNOTD_STORYBOARD_GENERATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "store/store.h"

struct media;
struct job;

#define STORYBOARD_GENERATE_JOB "story.generate_frame"

/* "first_frame", "last_frame", "clip": whether s is a shot media kind; frames only when frames_only. */
bool storyboard_media_kind_valid(const char *s, bool frames_only);

/*
 * Shot `shot_id` of a result's JSON text: a new reference to the shot
 * object (json_decref it), or NULL when the text has no such shot.
 */
json_t *storyboard_result_shot(const char *result, const char *shot_id);

/*
 * The storyboard task `task_id` of org_id and its newest result, in tx:
 * 0 with *ret_project (strings in a) and *ret_shot (a new reference) when
 * the task is of a storyboard project of the org and its newest result
 * (annotation, else live draft, else prediction) has shot `shot_id`;
 * -ERR_NOT_FOUND otherwise (*ret_what: "task" or "shot").
 */
int storyboard_task_shot(struct store_tx *tx,
                         int64_t org_id,
                         int64_t task_id,
                         const char *shot_id,
                         struct arena *a,
                         struct store_project *ret_project,
                         json_t **ret_shot,
                         const char **ret_what);

/* A character sheet's appearance and costume as one look ("三十来岁，黑衣，背长刀"), in a; NULL when none. */
const char *storyboard_sheet_look(const char *sheet, struct arena *a);

/* Queue the "shot_media" event of item m on project.<id> (action "created" or "reviewed"). */
int storyboard_shot_media_event(struct store_tx *tx, const struct store_shot_media *m, const char *action);

/*
 * Can frames be generated for project p? 0, or -ERR_CONFLICT ("no image
 * endpoint configured") / -EACCES (the endpoint is not allowed by the
 * operator) with err filled.
 */
int storyboard_generate_check(const struct store_project *p, char *err, size_t cap);

/*
 * Generate frame `kind` (first_frame | last_frame) of shot `shot_id` of
 * task_id, a storyboard task of p, for user_id, storing the image in media
 * dir m. Runs the endpoint on the calling thread (a job's). Returns 0 and
 * *ret_item_id (the new shot_media item), or a negative error with err
 * filled: -ERR_CONFLICT / -EACCES (see storyboard_generate_check),
 * -ERR_NOT_FOUND (task or shot gone), -EPROTO, -ETIMEDOUT, -ECONNREFUSED,
 * -EBADMSG, -E2BIG (the endpoint), -ERR_UNSUPPORTED_MEDIA/-EBADMSG (the
 * bytes are not an image libvips reads), or a store error.
 */
int storyboard_generate_frame(struct store *st,
                              struct media *m,
                              const struct store_project *p,
                              int64_t task_id,
                              const char *shot_id,
                              const char *kind,
                              int64_t user_id,
                              int64_t *ret_item_id,
                              char *err,
                              size_t cap);

/*
 * Give every accepted first frame in a storyboard document (shots'
 * "media") a "thumbnail": a data: URI of its THUMB_SIZE px thumbnail, made
 * on first use (libvips, on the calling thread). Frames whose thumbnail
 * fails are left without one. For the self-contained HTML sheet.
 */
#define STORYBOARD_THUMB_SIZE 256
void storyboard_doc_thumbnails(struct media *m, json_t *doc);

/* The "story.generate_frame" job (src/jobs): ctx is the media dir (struct media *). */
int storyboard_generate_job(struct job *j, const struct store_job *info, struct store *st, void *ctx);

#endif
