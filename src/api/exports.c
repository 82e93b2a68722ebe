/*
 * exports.c: streamed project exports.
 *
 * The export holds one read transaction (one snapshot; WAL readers never
 * block writers) for the whole stream and writes a page of tasks per
 * call, so memory stays constant whatever the project's size.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/err.h"
#include "project/project.h"
#include "story/export.h"
#include "storyboard/storyboard.h"

struct export_stream {
    struct store_tx *tx;
    int64_t project_id;
    int64_t cursor;
    bool done;
};

static int export_read(void *ctx, struct buf *out)
{
    struct export_stream *e = ctx;
    if (e->done)
        return 0;
    int r = store_export_jsonl(e->tx, e->project_id, &e->cursor, 64, out);
    if (r < 0)
        return r;
    if (r == 0)
        e->done = true;
    return out->len > 0 || !e->done ? 1 : 0;
}

static void export_release(void *ctx)
{
    struct export_stream *e = ctx;
    store_read_end(e->tx);
    free(e);
}

/* A storyboard format: built whole from one snapshot (a novel's storyboard is a few MB). */
static int export_storyboard(struct request *req, const struct store_project *p, const char *format)
{
    struct buf out;
    buf_init(&out, 0);
    int r = storyboard_export_media(api_app(req)->store, api_app(req)->media, p, format, &out);
    if (r < 0) {
        buf_release(&out);
        if (r == -ERR_NOT_FOUND)
            return http_reply_error(req, 404, "not_found", "this project has no novel yet", NULL), HTTP_DONE;
        return reply_errno(req, r);
    }
    char disposition[128];
    snprintf(disposition, sizeof(disposition), "attachment; filename=\"project-%lld-%s.%s\"",
             (long long)p->id, format, story_export_extension(format));
    http_add_header(req, "Content-Disposition", disposition);
    http_add_header(req, "Cache-Control", "no-store");
    if (strcmp(format, "storyboard-html") == 0)
        http_add_header(req, "Content-Security-Policy",
                        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
                        "form-action 'none'; frame-ancestors 'none'");
    http_reply_buf(req, 200, story_export_mime(format), &out);
    return HTTP_DONE;
}

int api_export(struct request *req)
{
    struct api_app *app = api_app(req);
    int64_t id;
    if (param_id_or_reply(req, 0, &id) < 0)
        return HTTP_DONE;
    const char *format = http_query(req, "format");
    if (!format)
        format = "jsonl";
    struct store_project p;
    int r = project_get(app->store, req->principal.org_id, id, &req->arena, &p);
    if (r < 0)
        return reply_errno(req, r);
    bool storyboard = strcmp(p.kind, "storyboard") == 0;
    if (storyboard && story_export_known(format))
        return export_storyboard(req, &p, format);
    if (strcmp(format, "jsonl") != 0)
        return reply_invalid(req, "format", "must be one of: jsonl%s%s", storyboard ? ", " : "",
                             storyboard ? story_export_format_list() : "");

    struct export_stream *e = calloc(1, sizeof(*e));
    if (!e)
        return reply_errno(req, -ENOMEM);
    e->project_id = id;
    r = store_read_begin(app->store, &e->tx);
    if (r < 0) {
        free(e);
        return reply_errno(req, r);
    }
    char disposition[128];
    snprintf(disposition, sizeof(disposition), "attachment; filename=\"project-%lld.jsonl\"",
             (long long)id);
    http_add_header(req, "Content-Disposition", disposition);
    http_add_header(req, "Cache-Control", "no-store");
    http_reply_stream(req, 200, "application/x-ndjson", export_read, export_release, e);
    return HTTP_DONE;
}
