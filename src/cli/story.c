/*
 * story.c: `annotd story import` and `annotd story export`: a novel into a
 * storyboard project (first import or sync), and the storyboard out in one
 * of the export formats. Import works through the running server when one
 * serves the data dir (POST /api/v1/projects/{id}/novel), else on the
 * store; export only reads, so it opens the store itself.
 */
#include <errno.h>
#include <jansson.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/err.h"
#include "core/json.h"
#include "project/project.h"
#include "jobs/jobs.h"
#include "media/media.h"
#include "story/export.h"
#include "storyboard/storyboard.h"

const char cli_story_import_usage[] =
    "usage: annotd story import --data DIR --project ID [--t2s] [--title T] [--no-wait] [--db URL] FILE\n"
    "\n"
    "Ingest the novel FILE ('-' for standard input) into storyboard project ID, or\n"
    "sync it when the project has a novel already: unchanged chapters keep their\n"
    "shots, new chapters are drafted, changed chapters are re-drafted around the\n"
    "shots people made (kept, flagged for review where their text changed).\n"
    "Encodings: UTF-8 (with or without BOM), UTF-16 with BOM, GB18030/GBK/GB2312,\n"
    "Big5. Prints the summary: {\"encoding\",\"converted\",\"stripped\",\"chapters\",\"sync\"}.\n"
    "\n"
    "  --data DIR            data dir made by 'annotd init'\n"
    "  --project ID          the storyboard project's id\n"
    "  --t2s                 convert traditional to simplified Chinese (the original is kept)\n"
    "  --title T             the novel's title when the file names none\n"
    "  --no-wait             with an LLM drafter: do not wait for its background job\n"
    "  --db URL              database URL (postgresql://...); default: DIR/annotd.db\n"
    "\n"
    "With an LLM drafter the scenes are drafted by the rules at once and re-drafted\n"
    "by the endpoint in a background job (\"job\" in the summary); the command waits\n"
    "for it, with a progress line on standard error, unless --no-wait. Without a\n"
    "running server the job runs in this process.\n";

const char cli_story_export_usage[] =
    "usage: annotd story export --data DIR --project ID --format F [--out FILE] [--db URL]\n"
    "\n"
    "Write project ID's storyboard in format F: storyboard-json, storyboard-csv\n"
    "(UTF-8 with BOM, 分镜脚本 columns), fountain, srt, storyboard-html (prints to\n"
    "PDF from any browser). Without --out it goes to standard output; with --out\n"
    "FILE is replaced atomically and a summary is printed. Works while a server\n"
    "serves DIR (it only reads).\n"
    "\n"
    "  --data DIR            data dir made by 'annotd init'\n"
    "  --project ID          the storyboard project's id\n"
    "  --format F            one of the formats above\n"
    "  --out FILE            write to FILE instead of standard output\n"
    "  --db URL              database URL (postgresql://...); default: DIR/annotd.db\n";

enum { OPT_DATA = 256, OPT_PROJECT, OPT_T2S, OPT_TITLE, OPT_DB, OPT_FORMAT, OPT_OUT, OPT_NO_WAIT };

static const struct option story_options[] = {
    { "data", required_argument, NULL, OPT_DATA },
    { "project", required_argument, NULL, OPT_PROJECT },
    { "t2s", no_argument, NULL, OPT_T2S },
    { "title", required_argument, NULL, OPT_TITLE },
    { "db", required_argument, NULL, OPT_DB },
    { "format", required_argument, NULL, OPT_FORMAT },
    { "out", required_argument, NULL, OPT_OUT },
    { "no-wait", no_argument, NULL, OPT_NO_WAIT },
    { NULL, 0, NULL, 0 },
};

struct story_args {
    const char *data, *db, *project, *title, *format, *out, *file;
    bool t2s, no_wait;
    int64_t project_id;
};

static int parse_args(int argc, char **argv, const char *usage, bool import, struct story_args *a)
{
    memset(a, 0, sizeof(*a));
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", story_options, NULL)) != -1) {
        switch (c) {
        case OPT_DATA: a->data = optarg; break;
        case OPT_PROJECT: a->project = optarg; break;
        case OPT_T2S: a->t2s = true; break;
        case OPT_TITLE: a->title = optarg; break;
        case OPT_DB: a->db = optarg; break;
        case OPT_FORMAT: a->format = optarg; break;
        case OPT_OUT: a->out = optarg; break;
        case OPT_NO_WAIT: a->no_wait = true; break;
        default: return cli_usage_error(usage, "unknown option");
        }
    }
    if (import) {
        if (a->format || a->out)
            return cli_usage_error(usage, "--format and --out belong to 'story export'");
        if (optind == argc)
            return cli_usage_error(usage, "FILE is required ('-' for standard input)");
        a->file = argv[optind++];
    } else {
        if (a->t2s || a->title || a->no_wait)
            return cli_usage_error(usage, "--t2s, --title and --no-wait belong to 'story import'");
        if (!a->format)
            return cli_usage_error(usage, "--format is required");
        if (!story_export_known(a->format))
            return cli_usage_error(usage, "--format: must be one of: %s", story_export_format_list());
    }
    if (optind < argc)
        return cli_usage_error(usage, "unexpected argument '%s'", argv[optind]);
    if (!a->data && !a->db)
        return cli_usage_error(usage, "--data is required");
    if (!a->project)
        return cli_usage_error(usage, "--project is required");
    if (cli_parse_id(a->project, &a->project_id) < 0)
        return cli_usage_error(usage, "--project takes a project id (a positive integer)");
    return CLI_OK;
}

/* The storyboard project `id` of any org, from the store. */
static int get_project(struct store *st, int64_t id, struct arena *a, struct store_project *p)
{
    int r = project_get(st, 0, id, a, p);
    if (r == -ERR_NOT_FOUND)
        return cli_fail("--project: no project %lld", (long long)id);
    if (r < 0)
        return cli_fail("failed to read project %lld: %s", (long long)id, err_str(r));
    if (strcmp(p->kind, "storyboard") != 0)
        return cli_fail("--project: project %lld is of kind %s, not storyboard", (long long)id, p->kind);
    return CLI_OK;
}

static int read_file(const char *file, struct buf *out)
{
    FILE *in = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
    if (!in)
        return cli_fail("failed to open '%s': %s", file, strerror(errno));
    int r = cli_read_all(in, out);
    if (in != stdin)
        fclose(in);
    if (r == -E2BIG)
        return cli_fail("%s is larger than a novel may be (%zu MiB)", file, STORYBOARD_NOVEL_MAX >> 20);
    if (r < 0)
        return cli_fail("failed to read '%s': %s", file, strerror(-r));
    return CLI_OK;
}

/* The id of the background job a summary names, or 0. */
static int64_t summary_job(const struct buf *summary)
{
    json_t *v = json_loadb(summary->p, summary->len, 0, NULL);
    json_t *id = json_object_get(json_object_get(v, "job"), "id");
    int64_t r = json_is_integer(id) ? (int64_t)json_integer_value(id) : 0;
    json_decref(v);
    return r;
}

static void print_progress(void *ctx, int64_t done, int64_t total)
{
    (void)ctx;
    fprintf(stderr, "\rannotd: LLM drafting: %lld/%lld scenes", (long long)done, (long long)total);
    fflush(stderr);
}

struct job_state {
    int64_t id;
    struct arena a;
    struct store_job job;
};

static int job_read(struct store_tx *tx, void *ctx)
{
    struct job_state *j = ctx;
    return store_job_get(tx, 0, j->id, &j->a, &j->job);
}

/* Report how a job ended (after its progress line). */
static int job_outcome(const char *state, const char *error, const char *result)
{
    fprintf(stderr, "\n");
    if (strcmp(state, "done") == 0) {
        fprintf(stderr, "annotd: LLM drafting done: %s\n", result ? result : "{}");
        return CLI_OK;
    }
    return cli_fail("LLM drafting %s%s%s", state, error ? ": " : "", error ? error : "");
}

static int run_job_local(struct store *st, int64_t id)
{
    size_t n;
    const struct job_kind *kinds = storyboard_job_kinds(&n);
    int r = jobs_run_inline(st, kinds, n, id, print_progress, NULL);
    if (r < 0)
        return cli_fail("\nthe LLM drafting job %lld could not run: %s", (long long)id, err_str(r));
    struct job_state j = { .id = id };
    arena_init(&j.a, 0);
    r = store_read(st, job_read, &j);
    int rc = r < 0 ? cli_fail("failed to read job %lld: %s", (long long)id, err_str(r))
                   : job_outcome(j.job.state, j.job.error, j.job.result);
    arena_free(&j.a);
    return rc;
}

static int wait_job_remote(const struct cli_target *t, int64_t id)
{
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/jobs/%lld", (long long)id);
    for (;;) {
        struct buf reply;
        buf_init(&reply, 1u << 20);
        int status = cli_http(t->url, t->token, "GET", path, NULL, NULL, 0, &reply);
        if (status != 200) {
            int rc = cli_http_fail(t, status, &reply);
            buf_release(&reply);
            return rc;
        }
        json_t *v = json_loadb(reply.p, reply.len, 0, NULL);
        buf_release(&reply);
        const char *state = json_string_value(json_object_get(v, "state"));
        json_t *pg = json_object_get(v, "progress");
        print_progress(NULL, json_integer_value(json_object_get(pg, "done")),
                       json_integer_value(json_object_get(pg, "total")));
        if (state && strcmp(state, "queued") != 0 && strcmp(state, "running") != 0) {
            char *res = json_dumps(json_object_get(v, "result"), JSON_COMPACT | JSON_ENCODE_ANY);
            int rc = job_outcome(state, json_string_value(json_object_get(v, "error")), res);
            free(res);
            json_decref(v);
            return rc;
        }
        json_decref(v);
        usleep(500 * 1000);
    }
}

static int import_local(struct store *st, const struct story_args *a, const struct buf *text)
{
    struct arena ar;
    arena_init(&ar, 0);
    struct store_project p;
    int rc = get_project(st, a->project_id, &ar, &p);
    if (rc == CLI_OK) {
        struct storyboard_import_opts o = { .t2s = a->t2s, .title = a->title };
        struct storyboard_error err = { 0 };
        struct buf out;
        buf_init(&out, 0);
        int r = storyboard_import(st, &p, text->p ? text->p : "", text->len, &o, &out, &err);
        if (r == 0) {
            cli_print_json(&out);
            int64_t job = summary_job(&out);
            if (job && !a->no_wait)
                rc = run_job_local(st, job);
        } else if (err.code)
            rc = cli_fail("%s%s%s", err.path[0] ? err.path : "", err.path[0] ? ": " : "", err.message);
        else
            rc = cli_fail("import failed: %s", err_str(r));
        buf_release(&out);
    }
    arena_free(&ar);
    return rc;
}

static int import_remote(const struct cli_target *t, const struct story_args *a, const struct buf *text)
{
    char path[1024];
    int n = snprintf(path, sizeof(path), "/api/v1/projects/%lld/novel?t2s=%d", (long long)a->project_id,
                     a->t2s ? 1 : 0);
    if (a->title) {
        /* percent-encode the title */
        n += snprintf(path + n, sizeof(path) - (size_t)n, "&title=");
        for (const unsigned char *s = (const unsigned char *)a->title; *s && (size_t)n + 4 < sizeof(path); s++) {
            if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9'))
                path[n++] = (char)*s;
            else
                n += snprintf(path + n, sizeof(path) - (size_t)n, "%%%02X", *s);
        }
        path[n] = '\0';
    }
    struct buf reply;
    buf_init(&reply, 16u << 20);
    int status = cli_http(t->url, t->token, "POST", path, "text/plain", text->p ? text->p : "", text->len,
                          &reply);
    int rc = CLI_OK;
    if (status == 200) {
        cli_print_json(&reply);
        int64_t job = summary_job(&reply);
        if (job && !a->no_wait)
            rc = wait_job_remote(t, job);
    } else {
        rc = cli_http_fail(t, status, &reply);
    }
    buf_release(&reply);
    return rc;
}

int cli_story_import(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(cli_story_import_usage, stdout);
        return CLI_OK;
    }
    struct story_args a;
    int rc = parse_args(argc, argv, cli_story_import_usage, true, &a);
    if (rc != CLI_OK)
        return rc;
    struct buf text;
    buf_init(&text, STORYBOARD_NOVEL_MAX);
    rc = read_file(a.file, &text);
    if (rc == CLI_OK) {
        struct cli_target t;
        rc = cli_target_open(a.data, a.db, &t);
        if (rc == CLI_OK) {
            rc = t.remote ? import_remote(&t, &a, &text) : import_local(t.st, &a, &text);
            cli_target_close(&t);
        }
    }
    buf_release(&text);
    return rc;
}

static int write_out(const char *out, const struct buf *b)
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
    fchmod(fd, 0644);
    size_t off = 0;
    while (off < b->len) {
        ssize_t w = write(fd, b->p + off, b->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int rc = cli_fail("failed to write '%s': %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            free(tmp);
            return rc;
        }
        off += (size_t)w;
    }
    if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, out) < 0) {
        int rc = cli_fail("failed to write '%s': %s", out, strerror(errno));
        unlink(tmp);
        free(tmp);
        return rc;
    }
    free(tmp);
    return CLI_OK;
}

int cli_story_export(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(cli_story_export_usage, stdout);
        return CLI_OK;
    }
    struct story_args a;
    int rc = parse_args(argc, argv, cli_story_export_usage, false, &a);
    if (rc != CLI_OK)
        return rc;
    struct store *st;
    rc = cli_open_store(a.data, a.db, false, &st);
    if (rc != CLI_OK)
        return rc;
    struct arena ar;
    arena_init(&ar, 0);
    struct store_project p;
    rc = get_project(st, a.project_id, &ar, &p);
    struct buf b;
    buf_init(&b, 0);
    if (rc == CLI_OK) {
        /* the media dir, for the HTML sheet's frames (absent: the sheet has none) */
        struct media *m = NULL;
        char mdir[4200];
        snprintf(mdir, sizeof(mdir), "%s/media", a.data ? a.data : ".");
        if (a.data && media_open(mdir, &m) < 0)
            m = NULL;
        int r = storyboard_export_media(st, m, &p, a.format, &b);
        media_close(m);
        if (r == -ERR_NOT_FOUND)
            rc = cli_fail("project %lld has no novel yet: run 'annotd story import' first", (long long)a.project_id);
        else if (r < 0)
            rc = cli_fail("export failed: %s", err_str(r));
    }
    if (rc == CLI_OK && a.out) {
        rc = write_out(a.out, &b);
        if (rc == CLI_OK) {
            struct buf sum;
            buf_init(&sum, 0);
            struct jw w;
            jw_init(&w, &sum);
            jw_obj_begin(&w);
            jw_kstr(&w, "format", a.format);
            jw_kint(&w, "bytes", (long long)b.len);
            jw_kstr(&w, "out", a.out);
            jw_obj_end(&w);
            cli_print_json(&sum);
            buf_release(&sum);
        }
    } else if (rc == CLI_OK) {
        if (fwrite(b.p, 1, b.len, stdout) != b.len || fflush(stdout) != 0)
            rc = cli_fail("failed to write to standard output: %s", strerror(errno));
    }
    buf_release(&b);
    arena_free(&ar);
    store_close(st);
    return rc;
}
