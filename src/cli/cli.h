/*
 * cli: one file per command. Every command prints exactly one JSON
 * document on stdout when it reports; progress and logs go to stderr.
 *
 * A data dir that a server is serving is locked by that server (flock on
 * DATA/annotd.lock); a command that writes finds the lock taken and talks
 * to the server over HTTP with the local admin token the server wrote
 * (DATA/admin.token, mode 0600, URL in DATA/server.json). Otherwise it
 * opens the store itself.
 */
#ifndef ANNOTD_CLI_H
#define ANNOTD_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "auth/auth.h"
#include "core/buf.h"
#include "store/store.h"

/* exit codes */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

struct cli_command {
    const char *name; /* "serve", "org add" ... */
    const char *summary;
    int (*run)(int argc, char **argv);
    const char *usage; /* the full --help text */
};

int cli_serve(int argc, char **argv);
int cli_init(int argc, char **argv);
int cli_org_add(int argc, char **argv);
int cli_user_add(int argc, char **argv);
int cli_project_create(int argc, char **argv);
int cli_import(int argc, char **argv);
int cli_export(int argc, char **argv);
int cli_backup(int argc, char **argv);
int cli_migrate(int argc, char **argv);
int cli_story_import(int argc, char **argv);
int cli_story_export(int argc, char **argv);

extern const char cli_serve_usage[];
extern const char cli_init_usage[];
extern const char cli_story_import_usage[];
extern const char cli_story_export_usage[];
extern const char cli_org_add_usage[];
extern const char cli_user_add_usage[];
extern const char cli_project_create_usage[];
extern const char cli_import_usage[];
extern const char cli_export_usage[];
extern const char cli_backup_usage[];
extern const char cli_migrate_usage[];

/* ---- common.c ---- */

/* Print "annotd: <message>" to stderr; returns CLI_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print a usage error and the command's usage; returns CLI_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True when argv[i] is "--help" or "-h" anywhere. */
bool cli_wants_help(int argc, char **argv);

/* "64m" -> bytes (k, m, g: KiB, MiB, GiB). -EINVAL on junk. */
int cli_parse_size(const char *s, size_t *ret);
/* "12h" -> ms (s, m, h, d; a bare number is seconds). */
int cli_parse_duration(const char *s, int64_t *ret_ms);

/* mkdir -p with mode 0700. Returns 0 or -errno. */
int cli_mkdirs(const char *path);

/* The store URL for a data dir and an optional --db URL (malloc'd). */
char *cli_store_url(const char *data_dir, const char *db_url);
/* Open the store (creating the data dir when `create`). Logs and returns CLI_FAIL on failure. */
int cli_open_store(const char *data_dir, const char *db_url, bool create, struct store **ret);
/* The same with options (their url is ignored: it comes from data_dir and db_url). */
int cli_open_store_opt(const char *data_dir,
                       const char *db_url,
                       bool create,
                       const struct store_options *opt,
                       struct store **ret);

/* Read a password from the first line of a file (trailing newline removed). */
int cli_read_password_file(const char *path, char *out, size_t size);

/*
 * Whether a server holds the data dir. If so, fills url (e.g.
 * "http://127.0.0.1:8080") and token (the local admin token) and returns 1;
 * returns 0 when no server runs there.
 */
int cli_server_running(const char *data_dir,
                       char *url,
                       size_t url_size,
                       char *token,
                       size_t token_size);

/*
 * One HTTP request to a running server (libcurl). body may be NULL.
 * Returns the HTTP status (>= 100) with the reply body in *reply, or a
 * negative error: -ECONNREFUSED when the server could not be reached,
 * -ECONNRESET when it closed the connection without an answer, -EIO when
 * reading an upload's body failed.
 */
int cli_http(const char *url,
             const char *token,
             const char *method,
             const char *path,
             const char *content_type,
             const char *body,
             size_t body_len,
             struct buf *reply);

/*
 * cli_http with a streamed body: the `head_len` bytes at `head` (read
 * already), then the rest of `in`. length is the whole body's size, or -1
 * when unknown (the body is then sent chunked). POST only.
 */
int cli_http_upload(const char *url,
                    const char *token,
                    const char *path,
                    const char *content_type,
                    const char *head,
                    size_t head_len,
                    FILE *in,
                    int64_t length,
                    struct buf *reply);

/* Write the JSON document in b and a newline to stdout. */
void cli_print_json(const struct buf *b);

/* ---- common.c: where a command's work goes ---- */

/*
 * A command that writes works through the server that serves the data dir
 * (remote) or on the store it opens itself; never both.
 */
struct cli_target {
    bool remote;
    char url[512];
    char token[128];
    struct store *st; /* NULL when remote */
};

/*
 * Find the server serving data_dir, or else open the store (data_dir may be
 * NULL with a --db URL). A server that holds the data dir but has not
 * published its address yet (starting) is waited for, up to 5 s. Logs and
 * returns CLI_FAIL on failure.
 */
int cli_target_open(const char *data_dir, const char *db_url, struct cli_target *ret);
/* Close the store when one was opened. NULL ok. */
void cli_target_close(struct cli_target *t);

/*
 * Report a failed request to the server: the reply's
 * {"error":{"message","path"}} as "annotd: [path: ]message", or that the
 * server could not be reached (status < 0). Returns CLI_FAIL.
 */
int cli_http_fail(const struct cli_target *t, int status, const struct buf *reply);

/* The org of the local admin token (GET /api/v1/me). Logs and returns CLI_FAIL on failure. */
int cli_remote_org(const struct cli_target *t, int64_t *ret_org);

/*
 * Append the rest of `in` to out, up to out's cap. Returns 0, -E2BIG past
 * the cap, -ENOMEM, or -EIO on a read error.
 */
int cli_read_all(FILE *in, struct buf *out);

/* An id argument (1 .. INT64_MAX); -EINVAL otherwise. */
int cli_parse_id(const char *s, int64_t *ret);

#endif
