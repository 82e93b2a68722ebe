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

extern const char cli_serve_usage[];
extern const char cli_init_usage[];
extern const char cli_org_add_usage[];
extern const char cli_user_add_usage[];
extern const char cli_project_create_usage[];
extern const char cli_import_usage[];
extern const char cli_export_usage[];
extern const char cli_backup_usage[];

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

/* The store URL for a data dir and an optional --db URL (malloc'd). */
char *cli_store_url(const char *data_dir, const char *db_url);
/* Open the store (creating the data dir when `create`). Logs and returns CLI_FAIL on failure. */
int cli_open_store(const char *data_dir, const char *db_url, bool create, struct store **ret);

/* Read a password from the first line of a file (trailing newline removed). */
int cli_read_password_file(const char *path, char *out, size_t size);

/*
 * Whether a server holds the data dir. If so, fills url (e.g.
 * "http://127.0.0.1:8080") and token (the local admin token) and returns 1;
 * returns 0 when no server runs there.
 */
int cli_server_running(const char *data_dir, char *url, size_t url_size, char *token, size_t token_size);

/*
 * One HTTP request to a running server (libcurl). body may be NULL.
 * Returns the HTTP status (>= 100) with the reply body in *reply, or a
 * negative error when the server could not be reached.
 */
int cli_http(const char *url,
             const char *token,
             const char *method,
             const char *path,
             const char *content_type,
             const char *body,
             size_t body_len,
             struct buf *reply);

/* Write the JSON document in b and a newline to stdout. */
void cli_print_json(const struct buf *b);

#endif
