/*
 * common.c: what the commands share: argument helpers, opening the store,
 * finding a running server, and talking to it.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/err.h"
#include "core/json.h"

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    fputs("annotd: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_FAIL;
}

int cli_usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;
    fputs("annotd: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fputs(usage, stderr);
    return CLI_USAGE;
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

int cli_parse_size(const char *s, size_t *ret)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || s[0] == '-')
        return -EINVAL;
    unsigned shift = 0;
    if (*end == 'k' || *end == 'K')
        shift = 10;
    else if (*end == 'm' || *end == 'M')
        shift = 20;
    else if (*end == 'g' || *end == 'G')
        shift = 30;
    else if (*end)
        return -EINVAL;
    if (*end && end[1] && !((end[1] == 'b' || end[1] == 'B' || end[1] == 'i') && !end[2]))
        return -EINVAL;
    if (v > (SIZE_MAX >> shift))
        return -EINVAL;
    *ret = (size_t)(v << shift);
    return 0;
}

int cli_parse_duration(const char *s, int64_t *ret_ms)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0)
        return -EINVAL;
    long long mult = 1000;
    if (strcmp(end, "ms") == 0)
        mult = 1;
    else if (*end == 's' && !end[1])
        mult = 1000;
    else if (*end == 'm' && !end[1])
        mult = 60000;
    else if (*end == 'h' && !end[1])
        mult = 3600000;
    else if (*end == 'd' && !end[1])
        mult = 86400000;
    else if (*end)
        return -EINVAL;
    if (v > INT64_MAX / mult)
        return -EINVAL;
    *ret_ms = v * mult;
    return 0;
}

char *cli_store_url(const char *data_dir, const char *db_url)
{
    if (db_url)
        return strdup(db_url);
    size_t n = strlen(data_dir) + 32;
    char *url = malloc(n);
    if (url)
        snprintf(url, n, "%s/annotd.db", data_dir);
    return url;
}

int cli_mkdirs(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(tmp))
        return -ENAMETOOLONG;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int cli_open_store(const char *data_dir, const char *db_url, bool create, struct store **ret)
{
    return cli_open_store_opt(data_dir, db_url, create, NULL, ret);
}

int cli_open_store_opt(const char *data_dir,
                       const char *db_url,
                       bool create,
                       const struct store_options *base,
                       struct store **ret)
{
    int mr;
    if (data_dir && create && (mr = cli_mkdirs(data_dir)) < 0)
        return cli_fail("failed to create data dir '%s': %s", data_dir, strerror(-mr));
    if (data_dir && !db_url) {
        struct stat sb;
        if (stat(data_dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
            return cli_fail("no data dir '%s': run 'annotd init --data %s --owner LOGIN' first",
                            data_dir, data_dir);
        char path[4096];
        snprintf(path, sizeof(path), "%s/annotd.db", data_dir);
        if (!create && access(path, F_OK) < 0)
            return cli_fail("'%s' is not an annotd data dir: run 'annotd init' first", data_dir);
    }
    char *url = cli_store_url(data_dir, db_url);
    if (!url)
        return cli_fail("out of memory");
    struct store_options opt = { 0 };
    if (base)
        opt = *base;
    opt.url = url;
    int r = store_open(&opt, ret);
    if (r < 0) {
        int rc = cli_fail("failed to open store '%s': %s", db_url ? "(--db)" : url,
                          r == -ENOTSUP ? "this build has no PostgreSQL support" : err_str(r));
        free(url);
        return rc;
    }
    free(url);
    return CLI_OK;
}

int cli_read_password_file(const char *path, char *out, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cli_fail("failed to open password file '%s': %s", path, strerror(errno));
    if (!fgets(out, (int)size, f)) {
        fclose(f);
        return cli_fail("password file '%s' is empty", path);
    }
    fclose(f);
    size_t n = strlen(out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    return CLI_OK;
}

static int read_small_file(const char *path, char *out, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, out, size - 1);
    close(fd);
    if (n < 0)
        return -EIO;
    out[n] = '\0';
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    return 0;
}

/* Whether a server holds the data dir's lock (flock on DATA/annotd.lock). */
static bool data_dir_locked(const char *data_dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/annotd.lock", data_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

int cli_server_running(const char *data_dir,
                       char *url,
                       size_t url_size,
                       char *token,
                       size_t token_size)
{
    if (!data_dir || !data_dir_locked(data_dir))
        return 0;

    char path[4096];
    char info[1024];
    snprintf(path, sizeof(path), "%s/server.json", data_dir);
    if (read_small_file(path, info, sizeof(info)) < 0)
        return 0;
    json_t *v = json_loads(info, 0, NULL);
    const char *u = json_get_str(v, "url");
    if (!u) {
        json_decref(v);
        return 0;
    }
    snprintf(url, url_size, "%s", u);
    json_decref(v);
    snprintf(path, sizeof(path), "%s/admin.token", data_dir);
    if (read_small_file(path, token, token_size) < 0)
        return 0;
    return 1;
}

static size_t curl_write(char *p, size_t size, size_t n, void *ctx)
{
    struct buf *b = ctx;
    return buf_add(b, p, size * n) < 0 ? 0 : size * n;
}

/* A streamed request body: head first, then the rest of the file. */
struct upload {
    const char *head;
    size_t head_len, head_off;
    FILE *in;
};

static size_t curl_read(char *p, size_t size, size_t n, void *ctx)
{
    struct upload *u = ctx;
    size_t want = size * n;
    if (u->head_off < u->head_len) {
        size_t k = u->head_len - u->head_off;
        if (k > want)
            k = want;
        memcpy(p, u->head + u->head_off, k);
        u->head_off += k;
        return k;
    }
    size_t k = fread(p, 1, want, u->in);
    if (k == 0 && ferror(u->in))
        return CURL_READFUNC_ABORT;
    return k;
}

static int http_run(const char *url,
                    const char *token,
                    const char *method,
                    const char *path,
                    const char *content_type,
                    const char *body,
                    size_t body_len,
                    struct upload *upload,
                    int64_t upload_len,
                    struct buf *reply)
{
    CURL *c = curl_easy_init();
    if (!c)
        return -ENOMEM;
    char full[4096], auth[256], ct[128];
    snprintf(full, sizeof(full), "%s%s", url, path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    struct curl_slist *headers = curl_slist_append(NULL, auth);
    if (content_type) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
        headers = curl_slist_append(headers, ct);
    }
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, full);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, reply);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (upload) {
        /* POST from the read callback; chunked when the length is unknown */
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, curl_read);
        curl_easy_setopt(c, CURLOPT_READDATA, upload);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)upload_len);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    switch (rc) {
    case CURLE_OK:
        return (int)status;
    case CURLE_READ_ERROR:
    case CURLE_ABORTED_BY_CALLBACK:
        return -EIO; /* reading the body to send failed */
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
        return -ECONNRESET; /* connected, then the server hung up */
    default:
        return -ECONNREFUSED;
    }
}

int cli_http(const char *url,
             const char *token,
             const char *method,
             const char *path,
             const char *content_type,
             const char *body,
             size_t body_len,
             struct buf *reply)
{
    return http_run(url, token, method, path, content_type, body, body_len, NULL, 0, reply);
}

int cli_http_upload(const char *url,
                    const char *token,
                    const char *path,
                    const char *content_type,
                    const char *head,
                    size_t head_len,
                    FILE *in,
                    int64_t length,
                    struct buf *reply)
{
    struct upload u = { .head = head, .head_len = head_len, .in = in };
    return http_run(url, token, "POST", path, content_type, NULL, 0, &u, length, reply);
}

void cli_print_json(const struct buf *b)
{
    fwrite(b->p, 1, b->len, stdout);
    if (b->len == 0 || b->p[b->len - 1] != '\n')
        fputc('\n', stdout);
    fflush(stdout);
}

/* ---- where a command's work goes ---- */

#define CLI_SERVER_WAIT_MS 5000 /* for a starting server to publish its address */

int cli_target_open(const char *data_dir, const char *db_url, struct cli_target *ret)
{
    struct cli_target t = { .remote = false };
    /*
     * A server that is starting holds the lock (and may answer /healthz)
     * a moment before it has written server.json and admin.token: wait
     * for them rather than write behind its back.
     */
    for (int waited_ms = 0;; waited_ms += 50) {
        if (cli_server_running(data_dir, t.url, sizeof(t.url), t.token, sizeof(t.token))) {
            t.remote = true;
            *ret = t;
            return CLI_OK;
        }
        if (!data_dir || !data_dir_locked(data_dir))
            break;
        if (waited_ms >= CLI_SERVER_WAIT_MS)
            return cli_fail("a server holds data dir '%s' but its address or token cannot be read "
                            "('%s/server.json', '%s/admin.token'): retry once it has started",
                            data_dir, data_dir, data_dir);
        usleep(50 * 1000);
    }
    if (cli_open_store(data_dir, db_url, false, &t.st) != CLI_OK)
        return CLI_FAIL;
    *ret = t;
    return CLI_OK;
}

void cli_target_close(struct cli_target *t)
{
    if (!t)
        return;
    store_close(t->st);
    t->st = NULL;
}

int cli_http_fail(const struct cli_target *t, int status, const struct buf *reply)
{
    if (status < 0)
        return cli_fail("failed to reach the server at '%s': %s", t->url, err_str(status));
    json_t *v = json_loadb(reply->p, reply->len, 0, NULL);
    json_t *e = json_object_get(v, "error");
    const char *message = json_get_str(e, "message");
    const char *path = json_get_str(e, "path");
    int rc;
    if (message && path && *path)
        rc = cli_fail("%s: %s", path, message);
    else if (message)
        rc = cli_fail("%s", message);
    else
        rc = cli_fail("the server answered HTTP %d", status);
    json_decref(v);
    return rc;
}

int cli_remote_org(const struct cli_target *t, int64_t *ret_org)
{
    struct buf reply;
    buf_init(&reply, 1u << 20);
    int status = cli_http(t->url, t->token, "GET", "/api/v1/me", NULL, NULL, 0, &reply);
    if (status != 200) {
        int rc = cli_http_fail(t, status, &reply);
        buf_release(&reply);
        return rc;
    }
    json_t *v = json_loadb(reply.p, reply.len, 0, NULL);
    long long org;
    bool ok = json_get_int(json_object_get(v, "org"), "id", &org);
    json_decref(v);
    buf_release(&reply);
    if (!ok)
        return cli_fail("the server's answer to GET /api/v1/me has no org id");
    *ret_org = org;
    return CLI_OK;
}

int cli_parse_id(const char *s, int64_t *ret)
{
    long long v;
    if (str_to_int64(str_from(s), &v) < 0 || v < 1)
        return -EINVAL;
    *ret = v;
    return 0;
}

int cli_read_all(FILE *in, struct buf *out)
{
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0) {
        int r = buf_add(out, chunk, n);
        if (r < 0)
            return r;
    }
    return ferror(in) ? -EIO : 0;
}
