/*
 * credentials: who is calling.
 *
 * DESIGN: runs on the first call, with the headers and before any body
 * byte is read, so a bad token never costs an upload. The token is the
 * Bearer credential (RFC 6750 §2.1) or else the session cookie. A cookie
 * is sent by the browser on its own, so on unsafe methods (RFC 9110 §9.2.1)
 * it only counts together with the X-CSRF-Token header, which the
 * authenticator compares with the session's (double submit); the header is
 * passed as `csrf`, NULL when missing, and the authenticator decides.
 */
#include <errno.h>
#include <strings.h>

#include "core/err.h"
#include "http/http_int.h"

static bool is_token68(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
}

/*
 * The b64token of "Bearer <token>" (scheme case-insensitive, RFC 9110
 * §11.1), copied into the arena; NULL when the header is another scheme or
 * malformed.
 */
static const char *bearer_token(struct request *req, const char *h)
{
    if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
        return NULL;
    const char *p = h + 6;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t len = 0;
    while (is_token68((unsigned char)p[len]))
        len++;
    const char *end = p + len;
    while (*end == ' ' || *end == '\t')
        end++;
    if (len == 0 || *end != '\0')
        return NULL;
    return arena_strndup(&req->arena, p, len);
}

static bool is_safe_method(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
           strcmp(method, "OPTIONS") == 0;
}

static int reply_unauthorized(struct request *req, const char *message)
{
    http_add_header(req, "WWW-Authenticate", "Bearer"); /* RFC 6750 §3 */
    http_reply_error(req, 401, "unauthorized", message, NULL);
    return -ERR_UNAUTHORIZED;
}

int http_authenticate_or_reply(struct request *req)
{
    const struct http_route *rt = req->route;
    const struct http_server *s = req->conn->server;
    const char *token = NULL;
    bool via_cookie = false;

    if (rt->flags & HTTP_PUBLIC)
        return 0;

    const char *authorization = http_header(req, "Authorization");
    if (authorization)
        token = bearer_token(req, authorization);
    if (!token && s->cookie_name) {
        const char *v = http_cookie(req, s->cookie_name);
        if (v && *v) {
            token = v;
            via_cookie = true;
        }
    }
    if (!token)
        return reply_unauthorized(req, "authentication required");

    const char *csrf = NULL;
    if (via_cookie && !is_safe_method(req->method))
        csrf = http_header(req, "X-CSRF-Token");

    if (!s->opt.authenticate) {
        http_reply_error(req, 500, "internal", "no authenticator configured", NULL);
        return -EINVAL;
    }
    struct http_principal who = { 0 };
    int r = s->opt.authenticate(s->opt.app, req, token, csrf, via_cookie, &who);
    if (r == -ERR_UNAUTHORIZED)
        return reply_unauthorized(req, "invalid or expired credentials");
    if (r == -ERR_FORBIDDEN) {
        http_reply_error(req, 403, "forbidden",
                         via_cookie && csrf == NULL && !is_safe_method(req->method)
                             ? "missing CSRF token"
                             : "forbidden",
                         NULL);
        return r;
    }
    if (r == -ERR_UNAVAILABLE) {
        http_reply_error(req, 503, "unavailable", "authentication is temporarily unavailable",
                         NULL);
        return r;
    }
    if (r < 0) {
        http_reply_error(req, 500, "internal", "authentication failed", NULL);
        return r;
    }
    who.via_cookie = via_cookie;
    req->principal = who;

    if (!http_has_role(req, rt->roles)) {
        http_reply_error(req, 403, "forbidden", "not allowed for this role", NULL);
        return -ERR_FORBIDDEN;
    }
    return 0;
}
