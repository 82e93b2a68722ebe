/*
 * import.c: `annotd import`: import tasks into a project, as
 * POST /api/v1/projects/{id}/tasks does.
 *
 * The input is JSON Lines, or a JSON array when its first non-space byte is
 * '['. JSON Lines are read in chunks and fed line by line to
 * project_import_line() (memory stays constant whatever the size; a line
 * is capped at IMPORT_LINE_MAX like the server's); an array is read whole,
 * up to IMPORT_ARRAY_MAX, and walked with project_import_value(). Through
 * a running server the input is streamed to the API unchanged and its
 * summary printed as it answers.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/err.h"
#include "core/json.h"
#include "project/project.h"

#define IMPORT_LINE_MAX  ((size_t)16 << 20) /* one JSON Lines record, as the server */
#define IMPORT_ARRAY_MAX ((size_t)64 << 20) /* a whole JSON array */
#define IMPORT_CHUNK     65536

const char cli_import_usage[] =
    "usage: annotd import --data DIR --project ID FILE [--all-or-nothing] [--db URL]\n"
    "\n"
    "Import tasks into project ID from FILE ('-': standard input): JSON Lines of\n"
    "{\"data\":{...},\"key\":\"...\",\"priority\":0}, or a JSON array of such records when\n"
    "the first non-space byte is '[' (at most 64 MiB). Records whose key exists are\n"
    "left as they are. Prints the summary as the API answers it:\n"
    "{\"created\":N,\"existing\":N,\"errors\":[{\"at\",\"code\",\"message\"},...]}.\n"
    "When a server serves DIR the tasks go through it (as the platform admin, so into\n"
    "projects of the admin's org only).\n"
    "\n"
    "  --data DIR            data dir made by 'annotd init'\n"
    "  --project ID          the project's id\n"
    "  --all-or-nothing      store nothing if any record is bad (exit status 1)\n"
    "  --db URL              database URL (postgresql://...); default: DIR/annotd.db\n";

enum { OPT_DATA = 256, OPT_PROJECT, OPT_ALL, OPT_DB };

static const struct option import_options[] = {
    { "data", required_argument, NULL, OPT_DATA },
    { "project", required_argument, NULL, OPT_PROJECT },
    { "all-or-nothing", no_argument, NULL, OPT_ALL },
    { "db", required_argument, NULL, OPT_DB },
    { NULL, 0, NULL, 0 },
};

struct import_input {
    const char *name; /* for messages: the path, or "standard input" */
    FILE *in;
    struct buf head; /* what was read to find the first non-space byte */
    bool array;
    bool eof;
};

/* Read until the first non-space byte (or EOF) to tell an array from JSON Lines. */
static int input_sniff(struct import_input *inp)
{
    char chunk[IMPORT_CHUNK];
    size_t scanned = 0;
    for (;;) {
        for (; scanned < inp->head.len; scanned++) {
            char ch = inp->head.p[scanned];
            if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n') {
                inp->array = ch == '[';
                return CLI_OK;
            }
        }
        if (inp->head.len + sizeof(chunk) > inp->head.cap)
            return CLI_OK; /* only blanks for 64 MiB: not an array, so JSON Lines */
        size_t n = fread(chunk, 1, sizeof(chunk), inp->in);
        if (n == 0) {
            if (ferror(inp->in))
                return cli_fail("failed to read %s: %s", inp->name, strerror(errno));
            inp->eof = true;
            return CLI_OK; /* empty or blank: JSON Lines with nothing in it */
        }
        if (buf_add(&inp->head, chunk, n) < 0)
            return cli_fail("out of memory");
    }
}

/* ---- without a server ---- */

struct jsonl {
    struct project_import *imp;
    struct buf pending; /* a line cut by a chunk boundary */
    long line;
    bool overlong; /* the current line passed IMPORT_LINE_MAX: skipped */
};

static int jsonl_end_line(struct jsonl *j, const char *p, size_t len)
{
    char at[32];
    snprintf(at, sizeof(at), "line %ld", ++j->line);
    if (j->overlong) {
        j->overlong = false;
        project_import_fail(j->imp, at, "too_large", "the line is longer than 16 MiB");
        return 0;
    }
    if (!j->pending.len)
        return project_import_line(j->imp, p, len, at);
    if (buf_add(&j->pending, p, len) < 0)
        return j->pending.err;
    int r = project_import_line(j->imp, j->pending.p, j->pending.len, at);
    buf_clear(&j->pending);
    return r;
}

static int jsonl_feed(struct jsonl *j, const char *p, size_t len)
{
    const char *end = p + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        if (!j->overlong && j->pending.len + n > IMPORT_LINE_MAX) {
            j->overlong = true;
            buf_clear(&j->pending);
        }
        if (!nl) {
            if (!j->overlong && buf_add(&j->pending, p, n) < 0)
                return j->pending.err;
            return 0;
        }
        int r = jsonl_end_line(j, p, n);
        if (r < 0)
            return r;
        p = nl + 1;
    }
    return 0;
}

static int import_jsonl_local(struct import_input *inp, struct project_import *imp)
{
    struct jsonl j = { .imp = imp };
    buf_init(&j.pending, IMPORT_LINE_MAX);
    int r = jsonl_feed(&j, inp->head.p, inp->head.len);
    char chunk[IMPORT_CHUNK];
    while (r >= 0 && !inp->eof) {
        size_t n = fread(chunk, 1, sizeof(chunk), inp->in);
        if (n == 0) {
            if (ferror(inp->in))
                r = -EIO;
            inp->eof = true;
            break;
        }
        r = jsonl_feed(&j, chunk, n);
    }
    if (r >= 0 && (j.pending.len || j.overlong))
        r = jsonl_end_line(&j, "", 0);
    buf_release(&j.pending);
    if (r == -EIO)
        return cli_fail("failed to read %s: %s", inp->name, err_str(r));
    if (r < 0)
        return cli_fail("import failed: %s", err_str(r));
    return CLI_OK;
}

static int import_array_local(struct import_input *inp, struct project_import *imp)
{
    int r = cli_read_all(inp->in, &inp->head);
    if (r == -E2BIG)
        return cli_fail("%s: a JSON array import is capped at 64 MiB; use JSON Lines for more",
                        inp->name);
    if (r < 0)
        return cli_fail("failed to read %s: %s", inp->name, err_str(r));
    json_t *arr;
    struct json_error_info info;
    r = json_parse(inp->head.p, inp->head.len, JSON_MAX_DEPTH_DEFAULT + 1, &arr, &info);
    if (r == -ERR_TOO_DEEP)
        return cli_fail("%s: %s", inp->name, info.message);
    if (r == -ERR_INVALID_REQUEST) /* well-formed, but a number out of range */
        return cli_fail("%s: %s%s%s", inp->name, info.path, info.path[0] ? ": " : "", info.message);
    if (r < 0)
        return cli_fail("%s is not valid JSON: %s (line %ld, column %ld)", inp->name, info.message,
                        info.line, info.column);
    size_t i;
    json_t *rec;
    r = 0;
    json_array_foreach(arr, i, rec) {
        char at[32];
        snprintf(at, sizeof(at), "item %zu", i + 1);
        r = project_import_value(imp, rec, at);
        if (r < 0)
            break;
    }
    json_decref(arr);
    if (r < 0)
        return cli_fail("import failed: %s", err_str(r));
    return CLI_OK;
}

static int import_local(struct store *st, int64_t project_id, bool all, struct import_input *inp)
{
    struct arena a;
    arena_init(&a, 0);
    struct store_project p;
    int r = project_get(st, 0, project_id, &a, &p);
    if (r < 0) {
        arena_free(&a);
        if (r == -ERR_NOT_FOUND)
            return cli_fail("--project: no project %lld", (long long)project_id);
        return cli_fail("failed to read project %lld: %s", (long long)project_id, err_str(r));
    }
    struct project_import *imp;
    r = project_import_begin(st, &p, all, JSON_MAX_DEPTH_DEFAULT, &imp);
    arena_free(&a);
    if (r < 0)
        return cli_fail("failed to start the import into project %lld: %s", (long long)project_id,
                        err_str(r));
    int rc = inp->array ? import_array_local(inp, imp) : import_jsonl_local(inp, imp);
    if (rc != CLI_OK) {
        project_import_abort(imp);
        return rc;
    }
    struct buf summary;
    buf_init(&summary, 0);
    r = project_import_finish(imp, &summary);
    if (r < 0) {
        buf_release(&summary);
        return cli_fail("import failed: %s", err_str(r));
    }
    cli_print_json(&summary);
    buf_release(&summary);
    if (r == 1)
        return cli_fail("the import had errors and --all-or-nothing is set: nothing was stored");
    return CLI_OK;
}

/* ---- through the server ---- */

static int
import_remote(const struct cli_target *t, int64_t project_id, bool all, struct import_input *inp)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/projects/%lld/tasks%s", (long long)project_id,
             all ? "?mode=all-or-nothing" : "");
    /* a regular file announces its length (the server refuses one over its cap at once) */
    int64_t length = -1;
    struct stat sb;
    off_t pos = inp->eof ? 0 : ftello(inp->in);
    if (inp->eof)
        length = (int64_t)inp->head.len;
    else if (fstat(fileno(inp->in), &sb) == 0 && S_ISREG(sb.st_mode) && pos >= 0 &&
             sb.st_size >= pos)
        length = (int64_t)inp->head.len + (int64_t)(sb.st_size - pos);

    struct buf reply;
    buf_init(&reply, 16u << 20);
    int status = cli_http_upload(t->url, t->token, path,
                                 inp->array ? "application/json" : "application/x-ndjson",
                                 inp->head.p, inp->head.len, inp->in, length, &reply);
    int rc = CLI_FAIL;
    json_t *v = status == 400 ? json_loadb(reply.p, reply.len, 0, NULL) : NULL;
    if (status == 200) {
        cli_print_json(&reply);
        rc = CLI_OK;
    } else if (status == 400 && json_object_get(v, "created")) {
        /* all-or-nothing rejected it: the summary says why */
        cli_print_json(&reply);
        cli_fail("the import had errors and --all-or-nothing is set: nothing was stored");
    } else if (status == 413 || (status == -ECONNRESET && length < 0)) {
        /* a chunked body past the cap: the server stops reading and hangs up */
        cli_fail("the server refused the import: %s is larger than it takes (its --max-import, "
                 "64 MiB by default; a JSON array: its --max-body, 16 MiB by default); split the "
                 "input, or import while no server runs%s",
                 inp->name,
                 length >= 0 || all ? ""
                                    : "; records before the cut may be stored already (importing "
                                      "them again skips their keys)");
    } else if (status == -EIO) {
        cli_fail("failed to read %s", inp->name);
    } else if (status == 404) {
        int64_t admin_org;
        if (cli_remote_org(t, &admin_org) == CLI_OK)
            cli_fail("--project: no project %lld in the platform admin's org (%lld): through the "
                     "running server the CLI imports as the platform admin, into its own org's "
                     "projects only",
                     (long long)project_id, (long long)admin_org);
    } else {
        cli_http_fail(t, status, &reply);
    }
    json_decref(v);
    buf_release(&reply);
    return rc;
}

int cli_import(int argc, char **argv)
{
    const char *data = NULL, *db = NULL, *project = NULL;
    bool all = false;
    if (cli_wants_help(argc, argv)) {
        fputs(cli_import_usage, stdout);
        return CLI_OK;
    }
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", import_options, NULL)) != -1) {
        switch (c) {
        case OPT_DATA:
            data = optarg;
            break;
        case OPT_PROJECT:
            project = optarg;
            break;
        case OPT_ALL:
            all = true;
            break;
        case OPT_DB:
            db = optarg;
            break;
        default:
            return cli_usage_error(cli_import_usage, "unknown option");
        }
    }
    if (optind == argc)
        return cli_usage_error(cli_import_usage, "FILE is required ('-' for standard input)");
    const char *file = argv[optind++];
    if (optind < argc)
        return cli_usage_error(cli_import_usage, "unexpected argument '%s'", argv[optind]);
    if (!data && !db)
        return cli_usage_error(cli_import_usage, "--data is required");
    int64_t project_id;
    if (!project)
        return cli_usage_error(cli_import_usage, "--project is required");
    if (cli_parse_id(project, &project_id) < 0)
        return cli_usage_error(cli_import_usage,
                               "--project takes a project id (a positive integer)");

    struct import_input inp = { .name = file };
    if (strcmp(file, "-") == 0) {
        inp.in = stdin;
        inp.name = "standard input";
    } else if (!(inp.in = fopen(file, "rb"))) {
        return cli_fail("failed to open '%s': %s", file, strerror(errno));
    }
    buf_init(&inp.head, IMPORT_ARRAY_MAX);
    int rc = input_sniff(&inp);
    if (rc == CLI_OK) {
        struct cli_target t;
        rc = cli_target_open(data, db, &t);
        if (rc == CLI_OK) {
            rc = t.remote ? import_remote(&t, project_id, all, &inp)
                          : import_local(t.st, project_id, all, &inp);
            cli_target_close(&t);
        }
    }
    buf_release(&inp.head);
    if (inp.in != stdin)
        fclose(inp.in);
    return rc;
}
