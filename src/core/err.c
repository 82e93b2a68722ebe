#include "core/err.h"

#include <errno.h>
#include <string.h>

static const struct {
    int code;
    const char *name;
    const char *text;
} err_table[] = {
    { ERR_INVALID_JSON, "invalid_json", "the body is not valid JSON" },
    { ERR_INVALID_REQUEST, "invalid_request", "the request has wrong or missing fields" },
    { ERR_INVALID_RESULT, "invalid_result", "the result does not match the project's schema" },
    { ERR_UNAUTHORIZED, "unauthorized", "authentication required" },
    { ERR_FORBIDDEN, "forbidden", "not allowed for this role" },
    { ERR_NOT_FOUND, "not_found", "no such object" },
    { ERR_CONFLICT, "conflict", "the object's state does not allow this" },
    { ERR_TOO_LARGE, "too_large", "the request is larger than allowed" },
    { ERR_UNSUPPORTED_MEDIA, "unsupported_media_type", "unsupported content type" },
    { ERR_LOCKED, "locked", "too many failed logins; try again later" },
    { ERR_UNAVAILABLE, "unavailable", "the service is temporarily unavailable" },
    { ERR_STORE, "internal", "storage error" },
    { ERR_TOO_DEEP, "too_large", "JSON nested too deeply" },
};

static int find(int err)
{
    if (err < 0)
        err = -err;
    for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
        if (err_table[i].code == err)
            return (int)i;
    return -1;
}

const char *err_code(int err)
{
    int i = find(err);
    if (i >= 0)
        return err_table[i].name;
    switch (err < 0 ? -err : err) {
    case ENOENT:
        return "not_found";
    case EINVAL:
        return "invalid_request";
    case EEXIST:
        return "conflict";
    case E2BIG:
    case EFBIG:
        return "too_large";
    case EACCES:
    case EPERM:
        return "forbidden";
    default:
        return "internal";
    }
}

const char *err_str(int err)
{
    int i = find(err);
    if (i >= 0)
        return err_table[i].text;
    if (err < 0)
        err = -err;
    if (err > 0 && err < ERR_BASE)
        return strerror(err);
    return "unknown error";
}
