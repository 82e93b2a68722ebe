/*
 * backup.c: `annotd backup`: an online copy of the data dir's SQLite
 * database into a new file (SQLite's backup API, page steps, so a running
 * server keeps writing meanwhile). It only reads, so it opens the store
 * itself even while a server serves the data dir.
 */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/err.h"
#include "core/json.h"

const char cli_backup_usage[] =
    "usage: annotd backup --data DIR --out FILE [--db URL]\n"
    "\n"
    "Write a consistent copy of DIR's SQLite database to FILE, which must not exist.\n"
    "Works while a server serves DIR. Prints {\"out\":\"FILE\",\"bytes\":N}.\n"
    "(PostgreSQL stores are backed up with pg_dump.)\n"
    "\n"
    "  --data DIR            data dir made by 'annotd init'\n"
    "  --out FILE            the new backup file\n"
    "  --db URL              database URL; default: DIR/annotd.db\n";

enum { OPT_DATA = 256, OPT_OUT, OPT_DB };

static const struct option backup_options[] = {
    { "data", required_argument, NULL, OPT_DATA },
    { "out", required_argument, NULL, OPT_OUT },
    { "db", required_argument, NULL, OPT_DB },
    { NULL, 0, NULL, 0 },
};

int cli_backup(int argc, char **argv)
{
    const char *data = NULL, *db = NULL, *out = NULL;
    if (cli_wants_help(argc, argv)) {
        fputs(cli_backup_usage, stdout);
        return CLI_OK;
    }
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", backup_options, NULL)) != -1) {
        switch (c) {
        case OPT_DATA:
            data = optarg;
            break;
        case OPT_OUT:
            out = optarg;
            break;
        case OPT_DB:
            db = optarg;
            break;
        default:
            return cli_usage_error(cli_backup_usage, "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error(cli_backup_usage, "unexpected argument '%s'", argv[optind]);
    if (!data && !db)
        return cli_usage_error(cli_backup_usage, "--data is required");
    if (!out || !*out)
        return cli_usage_error(cli_backup_usage, "--out is required");
    struct stat sb;
    if (lstat(out, &sb) == 0)
        return cli_fail("--out: '%s' exists: a backup is written to a new file", out);

    struct store *st;
    if (cli_open_store(data, db, false, &st) != CLI_OK)
        return CLI_FAIL;
    int rc = CLI_FAIL;
    int r = store_backup(st, out);
    if (r == -ENOTSUP) {
        cli_fail(
            "backup copies SQLite stores only; back up a %s store with its own tools (pg_dump)",
            store_backend(st));
        goto out;
    }
    if (r == -EEXIST) {
        cli_fail("--out: '%s' exists: a backup is written to a new file", out);
        goto out;
    }
    if (r < 0) {
        cli_fail("failed to back up into '%s': %s", out, err_str(r));
        goto out;
    }
    if (stat(out, &sb) < 0) {
        cli_fail("failed to read back '%s': %s", out, strerror(errno));
        goto out;
    }
    struct buf b;
    buf_init(&b, 0);
    struct jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kstr(&w, "out", out);
    jw_kint(&w, "bytes", (long long)sb.st_size);
    jw_obj_end(&w);
    cli_print_json(&b);
    buf_release(&b);
    rc = CLI_OK;
out:
    store_close(st);
    return rc;
}
