/*
 * store_media.c: media rows and which org may see them.
 *
 * `media` holds one row per distinct content (id = sha256 hex), `org_media`
 * one per (org, media) that the org uploaded. Every read goes through
 * org_media, so an org never sees media only another org uploaded, even
 * with the same bytes.
 */
#include <errno.h>
#include <string.h>

#include "core/err.h"
#include "store/store_int.h"

int store_media_put(struct store_tx *tx,
                    const struct store_media *m,
                    int64_t org_id,
                    int64_t user_id,
                    int64_t now)
{
    STMT_OR_FAIL(ins, tx, ST_MEDIA_INSERT,
                 "INSERT INTO media (id, mime, bytes, width, height, created_at)"
                 " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING");
    db_bind_text(tx, ins, 1, m->id);
    db_bind_text(tx, ins, 2, m->mime);
    db_bind_int64(tx, ins, 3, m->bytes);
    if (m->width > 0 && m->height > 0) {
        db_bind_int64(tx, ins, 4, m->width);
        db_bind_int64(tx, ins, 5, m->height);
    } else {
        db_bind_text(tx, ins, 4, NULL);
        db_bind_text(tx, ins, 5, NULL);
    }
    db_bind_int64(tx, ins, 6, now);
    int r = db_run(tx, ins);
    if (r < 0)
        return r;

    STMT_OR_FAIL(link, tx, ST_MEDIA_LINK,
                 "INSERT INTO org_media (org_id, media_id, uploaded_by, created_at)"
                 " VALUES (?, ?, ?, ?) ON CONFLICT (org_id, media_id) DO NOTHING RETURNING org_id");
    db_bind_int64(tx, link, 1, org_id);
    db_bind_text(tx, link, 2, m->id);
    if (user_id)
        db_bind_int64(tx, link, 3, user_id);
    else
        db_bind_text(tx, link, 3, NULL);
    db_bind_int64(tx, link, 4, now);
    r = db_step(tx, link);
    db_reset(tx, link);
    return r < 0 ? r : r == 1 ? 1 : 0;
}

int store_media_get(struct store_tx *tx,
                    int64_t org_id,
                    const char *id,
                    struct arena *a,
                    struct store_media *ret)
{
    STMT_OR_FAIL(s, tx, ST_MEDIA_GET,
                 "SELECT m.id, m.mime, m.bytes, COALESCE(m.width, 0), COALESCE(m.height, 0),"
                 " om.created_at FROM org_media om JOIN media m ON m.id = om.media_id"
                 " WHERE om.org_id = ? AND om.media_id = ?");
    db_bind_int64(tx, s, 1, org_id);
    db_bind_text(tx, s, 2, id);
    int r = db_step(tx, s);
    if (r == 1) {
        ret->id = db_text(tx, s, 0, a);
        ret->mime = db_text(tx, s, 1, a);
        ret->bytes = db_int64(tx, s, 2);
        ret->width = (int)db_int64(tx, s, 3);
        ret->height = (int)db_int64(tx, s, 4);
        ret->created_at = db_int64(tx, s, 5);
        if (!ret->id || !ret->mime)
            r = -ENOMEM;
    }
    db_reset(tx, s);
    return r < 0 ? r : r == 1 ? 0 : -ERR_NOT_FOUND;
}
