/*
 * Storyboard exports (issue 5, part 8): one storyboard document in, the
 * bytes of one format out.
 *
 * DESIGN: the server (or the CLI) assembles a "storyboard document", a
 * json_t of the shape below (the storyboard-json format itself, documented
 * in docs/storyboard.md), and hands it to story_export(), which renders it
 * into a struct buf. The formatters are pure: no I/O, no logging, no
 * database. They trust nothing in the document: a missing or wrongly typed
 * field is skipped or rendered empty, never a crash, so a document built
 * from any stored result renders.
 *
 *   {"format":"annotd-storyboard","version":1,
 *    "project":{"id":1,"name":"水浒传","custom_fields":[{"name","label","type"}]},
 *    "novel":{"id":1,"title":"水浒传"},
 *    "characters":[{"id":"c1","name":"宋江","aliases":["公明"]}],
 *    "chapters":[{"index":1,"title":"第一回 …","volume":null,
 *                 "scenes":[{"scene":1,"task":42,"text":"…","status":"draft",
 *                            "shots":[<a result shot>, ...]}]}],
 *    "totals":{"shots":N,"duration":S}}
 *
 * Formats (name: MIME type, file extension):
 *   storyboard-json  application/json; charset=utf-8         .json
 *   storyboard-csv   text/csv; charset=utf-8                  .csv
 *   fountain         text/plain; charset=utf-8                .fountain
 *   srt              application/x-subrip; charset=utf-8      .srt
 *   storyboard-html  text/html; charset=utf-8                 .html
 */
#ifndef ANNOTD_STORY_EXPORT_H
#define ANNOTD_STORY_EXPORT_H

#include <jansson.h>
#include <stdbool.h>

#include "core/buf.h"

#define STORY_EXPORT_FORMAT  "annotd-storyboard" /* the document's "format" */
#define STORY_EXPORT_VERSION 1                   /* the document's "version" */

/*
 * Render `doc` in `format`, appending to `out`. Returns 0, -EINVAL for an
 * unknown format (or a NULL argument), or out's error (-ENOMEM, -E2BIG: the
 * buffer's cap). On failure `out` is cut back to its length at the call
 * (its sticky error stays set).
 */
int story_export(const char *format, const json_t *doc, struct buf *out);

/* One function per format, same contract as story_export(). */
int story_export_json(const json_t *doc, struct buf *out);     /* storyboard-json */
int story_export_csv(const json_t *doc, struct buf *out);      /* storyboard-csv */
int story_export_fountain(const json_t *doc, struct buf *out); /* fountain */
int story_export_srt(const json_t *doc, struct buf *out);      /* srt */
int story_export_html(const json_t *doc, struct buf *out);     /* storyboard-html */

/* Whether story_export() writes `format`. */
bool story_export_known(const char *format);
/* The format names joined by ", ", for error messages. */
const char *story_export_format_list(void);

/* The MIME type (with charset) of a format, or NULL when there is no such format. */
const char *story_export_mime(const char *format);

/* The file name extension of a format, without the dot ("csv"), or NULL. */
const char *story_export_extension(const char *format);

/* NULL-terminated list of the format names, for error messages and docs. */
const char *const *story_export_formats(void);

/* The Chinese name of an enum value of a shot ("medium" -> "中景"), or NULL. */
const char *story_export_label(const char *value);

#endif
