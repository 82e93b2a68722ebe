/*
 * export.c: `annotd export`: a project's tasks with their annotations as
 * JSON Lines, the lines GET /api/v1/projects/{id}/export streams.
 *
 * Export only reads, so it opens the store itself even while a server
 * serves the data dir: one read transaction (one snapshot; WAL readers
 * never block the server's writer), a page of tasks at a time, so memory
 * stays constant. --out is written to a temporary file beside it and
 * renamed into place at the end: a reader never sees half an export.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/err.h"
#include "core/json.h"
#include "project/project.h"

#define EXPORT_PAGE 256 /* tasks per store_export_jsonl() call */

const char cli_export_usage[] =
    "usage: annotd export --data DIR --project ID [--format jsonl] [--out FILE] [--db URL]\n"
    "\n"
    "Export project ID: one JSON line per task,\n"
    "{\"task\":{...},\"annotations\":[...]}, from one consistent snapshot. Without --out\n"
    "the lines go to standard output; with --out they are written to FILE (replaced\n"
    "atomically) and a summary is printed: {\"format\",\"tasks\",\"bytes\",\"out\"}.\n"
    "Works while a server serves DIR (it only reads).\n"
    "\n"
    "  --data DIR            data dir made by 'annotd init'\n"
    "  --project ID          the project's id (of any org)\n"
    "  --format F            jsonl (the default and only format)\n"
    "  --out FILE            write to FILE instead of standard output\n"
    "  --db URL              database URL (postgresql://...); default: DIR/annotd.db\n";

enum { OPT_DATA = 256, OPT_PROJECT, OPT_FORMAT, OPT_OUT, OPT_DB };

static const struct option export_options[] = {
    { "data", required_argument, NULL, OPT_DATA },
    { "project", required_argument, NULL, OPT_PROJECT },
    { "format", required_argument, NULL, OPT_FORMAT },
    { "out", required_argument, NULL, OPT_OUT },
    { "db", required_argument, NULL, OPT_DB },
    { NULL, 0, NULL, 0 },
};

struct export_count {
    int64_t tasks;
    int64_t bytes;
};

static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Stream the project's lines to fd. Logs and returns CLI_FAIL on failure. */
static int
export_to_fd(struct store *st, int64_t project_id, int fd, const char *to, struct export_count *ret)
{
    struct store_tx *tx;
    int r = store_read_begin(st, &tx);
    if (r < 0)
        return cli_fail("failed to start reading the store: %s", err_str(r));
    struct export_count n = { 0 };
    struct buf page;
    buf_init(&page, 0);
    int64_t cursor = 0;
    do {
        r = store_export_jsonl(tx, project_id, &cursor, EXPORT_PAGE, &page);
        if (r < 0)
            break;
        for (const char *p = page.p; (p = memchr(p, '\n', page.len - (size_t)(p - page.p))); p++)
            n.tasks++;
        int w = write_all(fd, page.p, page.len);
        if (w < 0) {
            store_read_end(tx);
            buf_release(&page);
            return cli_fail("failed to write %s: %s", to, strerror(-w));
        }
        n.bytes += (int64_t)page.len;
        buf_clear(&page);
    } while (r == 1);
    store_read_end(tx);
    buf_release(&page);
    if (r < 0)
        return cli_fail("failed to export project %lld: %s", (long long)project_id, err_str(r));
    *ret = n;
    return CLI_OK;
}

/* Write to a temporary file beside `out`, then rename it into place. */
static int
export_to_file(struct store *st, int64_t project_id, const char *out, struct export_count *ret)
{
    size_t n = strlen(out) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        return cli_fail("out of memory");
    snprintf(tmp, n, "%s.tmp.XXXXXX", out);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int rc = cli_fail("failed to create '%s': %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    /* the permissions a plain create would give (mkstemp makes 0600) */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);

    char to[4200];
    snprintf(to, sizeof(to), "'%s'", tmp);
    int rc = export_to_fd(st, project_id, fd, to, ret);
    if (rc == CLI_OK && fsync(fd) < 0)
        rc = cli_fail("failed to write '%s': %s", tmp, strerror(errno));
    if (close(fd) < 0 && rc == CLI_OK)
        rc = cli_fail("failed to write '%s': %s", tmp, strerror(errno));
    if (rc == CLI_OK && rename(tmp, out) < 0)
        rc = cli_fail("failed to rename '%s' to '%s': %s", tmp, out, strerror(errno));
    if (rc != CLI_OK)
        unlink(tmp);
    free(tmp);
    return rc;
}

int cli_export(int argc, char **argv)
{
    const char *data = NULL, *db = NULL, *project = NULL, *format = "jsonl", *out = NULL;
    if (cli_wants_help(argc, argv)) {
        fputs(cli_export_usage, stdout);
        return CLI_OK;
    }
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", export_options, NULL)) != -1) {
        switch (c) {
        case OPT_DATA:
            data = optarg;
            break;
        case OPT_PROJECT:
            project = optarg;
            break;
        case OPT_FORMAT:
            format = optarg;
            break;
        case OPT_OUT:
            out = optarg;
            break;
        case OPT_DB:
            db = optarg;
            break;
        default:
            return cli_usage_error(cli_export_usage, "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error(cli_export_usage, "unexpected argument '%s'", argv[optind]);
    if (!data && !db)
        return cli_usage_error(cli_export_usage, "--data is required");
    int64_t project_id;
    if (!project)
        return cli_usage_error(cli_export_usage, "--project is required");
    if (cli_parse_id(project, &project_id) < 0)
        return cli_usage_error(cli_export_usage,
                               "--project takes a project id (a positive integer)");
    if (strcmp(format, "jsonl") != 0)
        return cli_usage_error(cli_export_usage, "--format: must be one of: jsonl");
    if (out && !*out)
        return cli_usage_error(cli_export_usage, "--out takes a file name");

    struct store *st;
    if (cli_open_store(data, db, false, &st) != CLI_OK)
        return CLI_FAIL;
    int rc = CLI_FAIL;
    struct arena a;
    arena_init(&a, 0);
    struct store_project p;
    int r = project_get(st, 0, project_id, &a, &p);
    if (r == -ERR_NOT_FOUND) {
        cli_fail("--project: no project %lld", (long long)project_id);
        goto out;
    }
    if (r < 0) {
        cli_fail("failed to read project %lld: %s", (long long)project_id, err_str(r));
        goto out;
    }

    struct export_count n;
    if (!out) {
        fflush(stdout);
        rc = export_to_fd(st, project_id, STDOUT_FILENO, "standard output", &n);
        goto out;
    }
    rc = export_to_file(st, project_id, out, &n);
    if (rc != CLI_OK)
        goto out;
    struct buf b;
    buf_init(&b, 0);
    struct jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kstr(&w, "format", format);
    jw_kint(&w, "tasks", n.tasks);
    jw_kint(&w, "bytes", n.bytes);
    jw_kstr(&w, "out", out);
    jw_obj_end(&w);
    cli_print_json(&b);
    buf_release(&b);
out:
    arena_free(&a);
    store_close(st);
    return rc;
}
