/*
 * health.c: readiness.
 */
#include "api/api.h"

int api_healthz(struct request *req)
{
    struct buf b;
    buf_init(&b, 0);
    buf_adds(&b, "{\"status\":\"ok\",\"version\":\"" ANNOTD_VERSION "\"}");
    return reply_json(req, 200, &b);
}
