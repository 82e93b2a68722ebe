/*
 * health.c: readiness.
 */
#include "api/api.h"

int api_healthz(struct request *req)
{
    struct buf b;
    buf_init(&b, 0);
    if (!atomic_load(&api_app(req)->ready)) {
        /* listening, but the CLI's token and server.json are not written yet */
        buf_adds(&b, "{\"status\":\"starting\",\"version\":\"" ANNOTD_VERSION "\"}");
        return reply_json(req, 503, &b);
    }
    buf_adds(&b, "{\"status\":\"ok\",\"version\":\"" ANNOTD_VERSION "\"}");
    return reply_json(req, 200, &b);
}
