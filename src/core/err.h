/*
 * Project error codes.
 *
 * Functions that can fail return int: >= 0 on success, a negative value on
 * failure. Negative errno values (-ENOMEM, -ENOENT, -EINVAL ...) keep their
 * meaning; the codes below extend them for conditions errno cannot name.
 * They start far above any errno so that the two ranges never collide.
 */
#ifndef ANNOTD_CORE_ERR_H
#define ANNOTD_CORE_ERR_H

enum {
    ERR_BASE = 10000,
    ERR_INVALID_JSON,      /* body is not well-formed JSON */
    ERR_INVALID_REQUEST,   /* JSON is fine but fields are wrong or missing */
    ERR_INVALID_RESULT,    /* an annotation result fails its schema */
    ERR_UNAUTHORIZED,      /* no or bad credentials */
    ERR_FORBIDDEN,         /* authenticated, but the role may not do this */
    ERR_NOT_FOUND,         /* no such object in the caller's org */
    ERR_CONFLICT,          /* state does not allow it (duplicate, lease gone) */
    ERR_TOO_LARGE,         /* a size cap was hit */
    ERR_UNSUPPORTED_MEDIA, /* content type not accepted */
    ERR_LOCKED,            /* account temporarily locked after failed logins */
    ERR_UNAVAILABLE,       /* storage or a dependency is down */
    ERR_STORE,             /* the database reported an unexpected error */
    ERR_TOO_DEEP,          /* JSON nested deeper than allowed */
    ERR_MAX
};

/* Stable snake_case name of an error code (negative or positive); never NULL. */
const char *err_code(int err);

/* Human text for an error code; never NULL. */
const char *err_str(int err);

#endif
