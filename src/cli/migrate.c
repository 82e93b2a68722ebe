/*
 * migrate.c: `annotd migrate`: copy a whole store into another, typically
 * a data dir's SQLite database into PostgreSQL (store_copy()).
 *
 * The source must be at rest: a server serving its data dir is refused,
 * and the data dir's lock is held for the whole copy so that none starts
 * meanwhile. The target is opened with store_open(), which gives it the
 * schema by the normal migrations. Progress goes to stderr, one JSON
 * report to stdout at the end. Running it again is safe: what is in the
 * target already is skipped, what is missing is copied.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/err.h"
#include "core/json.h"

const char cli_migrate_usage[] =
    "usage: annotd migrate --from SOURCE --to URL [--page ROWS]\n"
    "\n"
    "Copy every table of SOURCE into the database at URL, ids preserved, from one\n"
    "consistent snapshot of SOURCE, ROWS rows per transaction; then reset URL's id\n"
    "sequences and verify each table's row count and checksum on both sides.\n"
    "URL gets its schema from the normal migrations. Safe to run again: rows already\n"
    "there with the same content are skipped, so a run that stopped half-way is\n"
    "completed; a target that holds other content under the same ids is refused.\n"
    "Refused while a server serves SOURCE's data dir (stop it first). Progress goes\n"
    "to standard error; at the end prints\n"
    "{\"from\",\"to\",\"tables\":[{\"name\",\"rows\",\"checksum\",\"copied\",\"skipped\"}],\"verified\"}.\n"
    "\n"
    "  --from SOURCE         sqlite:PATH, a data dir (DIR/annotd.db), or a database URL\n"
    "  --to URL              postgresql://... (or sqlite:PATH)\n"
    "  --page ROWS           rows per target transaction (default 1000)\n";

enum { OPT_FROM = 256, OPT_TO, OPT_PAGE };

static const struct option migrate_options[] = {
    { "from", required_argument, NULL, OPT_FROM },
    { "to", required_argument, NULL, OPT_TO },
    { "page", required_argument, NULL, OPT_PAGE },
    { NULL, 0, NULL, 0 },
};

static bool is_pg_url(const char *url)
{
    return strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0;
}

/* The URL with any password replaced by "***" (for messages and the report). */
static void redact_url(const char *url, char *out, size_t size)
{
    const char *scheme = strstr(url, "://");
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    const char *slash = scheme ? strchr(scheme + 3, '/') : NULL;
    const char *colon = scheme ? memchr(scheme + 3, ':', at ? (size_t)(at - scheme - 3) : 0) : NULL;
    if (!at || (slash && slash < at) || !colon) {
        snprintf(out, size, "%s", url);
        return;
    }
    snprintf(out, size, "%.*s:***%s", (int)(colon - url), url, at);
}

/* A SQLite source: the database file and its data dir. */
struct sqlite_source {
    char path[4096];
    char dir[4096];
};

/* "sqlite:PATH", "PATH" or "DIR" -> the database file and the dir holding it. */
static int sqlite_source(const char *from, struct sqlite_source *ret)
{
    const char *p = strncmp(from, "sqlite:", 7) == 0 ? from + 7 : from;
    struct stat sb;
    if (!*p)
        return cli_fail("--from: no path");
    if (stat(p, &sb) < 0)
        return cli_fail("--from: '%s': %s", p, strerror(errno));
    if (S_ISDIR(sb.st_mode)) {
        snprintf(ret->dir, sizeof(ret->dir), "%s", p);
        snprintf(ret->path, sizeof(ret->path), "%s/annotd.db", p);
        if (access(ret->path, F_OK) < 0)
            return cli_fail("--from: '%s' is not an annotd data dir (no annotd.db)", p);
        return CLI_OK;
    }
    snprintf(ret->path, sizeof(ret->path), "%s", p);
    snprintf(ret->dir, sizeof(ret->dir), "%s", p);
    char *slash = strrchr(ret->dir, '/');
    if (!slash)
        snprintf(ret->dir, sizeof(ret->dir), ".");
    else if (slash == ret->dir)
        ret->dir[1] = '\0';
    else
        *slash = '\0';
    return CLI_OK;
}

/*
 * Refuse while a server serves `dir`, and hold its lock (as `serve` does)
 * so that none starts during the copy: *ret_fd is the lock's fd, or -1
 * when the dir has no lock file (no server ever served it). Logs and
 * returns CLI_FAIL when refused.
 */
static int lock_source_dir(const char *dir, int *ret_fd)
{
    char url[512], token[128];
    if (cli_server_running(dir, url, sizeof(url), token, sizeof(token)) == 1) {
        return cli_fail(
            "a server is serving data dir '%s' at %s: stop it before migrating its data", dir, url);
    }
    char path[4200];
    snprintf(path, sizeof(path), "%s/annotd.lock", dir);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        *ret_fd = -1;
        return CLI_OK;
    }
    if (fd < 0)
        return cli_fail("failed to open '%s': %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        close(fd);
        return cli_fail("a server is serving data dir '%s': stop it before migrating its data",
                        dir);
    }
    *ret_fd = fd;
    return CLI_OK;
}

static int open_store(const char *url, const char *shown, const char *which, struct store **ret)
{
    struct store_options opt = { .url = url };
    int r = store_open(&opt, ret);
    if (r < 0)
        return cli_fail("failed to open %s store '%s': %s", which, shown,
                        r == -ENOTSUP ? "this build has no PostgreSQL support" : err_str(r));
    return CLI_OK;
}

static void progress(void *ctx, const char *table, int64_t done, int64_t total)
{
    (void)ctx;
    fprintf(stderr, "annotd: migrate: %s: %lld/%lld rows\n", table, (long long)done,
            (long long)total);
}

static void print_report(const char *from, const char *to, const struct store_copy_report *rep)
{
    struct buf b;
    buf_init(&b, 0);
    struct jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kstr(&w, "from", from);
    jw_kstr(&w, "to", to);
    jw_key(&w, "tables");
    jw_arr_begin(&w);
    for (size_t i = 0; i < rep->ntables; i++) {
        const struct store_copy_table *t = &rep->tables[i];
        jw_obj_begin(&w);
        jw_kstr(&w, "name", t->name);
        jw_kint(&w, "rows", t->rows);
        jw_kstr(&w, "checksum", t->checksum);
        jw_kint(&w, "copied", t->copied);
        jw_kint(&w, "skipped", t->skipped);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_kbool(&w, "verified", rep->verified);
    jw_obj_end(&w);
    cli_print_json(&b);
    buf_release(&b);
}

int cli_migrate(int argc, char **argv)
{
    const char *from = NULL, *to = NULL, *page = NULL;
    if (cli_wants_help(argc, argv)) {
        fputs(cli_migrate_usage, stdout);
        return CLI_OK;
    }
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", migrate_options, NULL)) != -1) {
        switch (c) {
        case OPT_FROM:
            from = optarg;
            break;
        case OPT_TO:
            to = optarg;
            break;
        case OPT_PAGE:
            page = optarg;
            break;
        default:
            return cli_usage_error(cli_migrate_usage, "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error(cli_migrate_usage, "unexpected argument '%s'", argv[optind]);
    if (!from || !*from)
        return cli_usage_error(cli_migrate_usage, "--from is required");
    if (!to || !*to)
        return cli_usage_error(cli_migrate_usage, "--to is required");
    struct store_copy_options opt = { .progress = progress };
    if (page) {
        int64_t n;
        if (cli_parse_id(page, &n) < 0 || n > 1000000)
            return cli_usage_error(cli_migrate_usage,
                                   "--page takes a number of rows (1 .. 1000000)");
        opt.page_rows = (unsigned)n;
    }
    if (strcmp(from, to) == 0)
        return cli_usage_error(cli_migrate_usage, "--from and --to name the same database");

    char from_shown[4200], to_shown[4200];
    redact_url(from, from_shown, sizeof(from_shown));
    redact_url(to, to_shown, sizeof(to_shown));

    /* a SQLite source: it must exist (opening would create it) and be at rest */
    struct sqlite_source src;
    char src_url[4200];
    int lock_fd = -1;
    if (is_pg_url(from)) {
        snprintf(src_url, sizeof(src_url), "%s", from);
    } else {
        if (sqlite_source(from, &src) != CLI_OK)
            return CLI_FAIL;
        if (lock_source_dir(src.dir, &lock_fd) != CLI_OK)
            return CLI_FAIL;
        snprintf(src_url, sizeof(src_url), "sqlite:%s", src.path);
    }

    int rc = CLI_FAIL;
    struct store *source = NULL, *target = NULL;
    if (open_store(src_url, from_shown, "the source", &source) != CLI_OK)
        goto out;
    if (open_store(to, to_shown, "the target", &target) != CLI_OK)
        goto out;

    struct store_copy_report *rep = calloc(1, sizeof(*rep));
    if (!rep) {
        cli_fail("out of memory");
        goto out;
    }
    fprintf(stderr, "annotd: migrate: %s -> %s\n", from_shown, to_shown);
    int r = store_copy(source, target, &opt, rep);
    if (r < 0) {
        if (r == -ERR_CONFLICT)
            cli_fail("refusing to migrate into '%s': %s", to_shown, rep->detail);
        else
            cli_fail("failed to migrate '%s' into '%s': %s%s%s", from_shown, to_shown, err_str(r),
                     rep->detail[0] ? ": " : "", rep->detail);
    } else {
        print_report(from_shown, to_shown, rep);
        if (rep->verified)
            rc = CLI_OK;
        else
            cli_fail("verification failed after copying into '%s': %s", to_shown, rep->detail);
    }
    free(rep);
out:
    store_close(target);
    store_close(source);
    if (lock_fd >= 0)
        close(lock_fd);
    return rc;
}
