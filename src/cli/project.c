/*
 * project.c: `annotd project create`: create a project in an org, as an
 * owner does with POST /api/v1/projects.
 *
 * The flags become the same JSON body the API takes, checked by the same
 * project_parse(), so a bad config fails with the API's path and message.
 * Through a running server the command acts as the platform admin and can
 * create projects in the admin's own org only (see user.c).
 */
#include "project/project.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/err.h"
#include "core/json.h"
#include "core/utf8.h"

#define CONFIG_MAX ((size_t)16 << 20) /* as the API's default body cap */

const char cli_project_create_usage[] =
    "usage: annotd project create --data DIR --org ID --name NAME --kind KIND --config CONFIG\n"
    "                             [--overlap N] [--lease-seconds S] [--db URL]\n"
    "\n"
    "Create a project in org ID. CONFIG is the label config: JSON text when it starts\n"
    "with '{', else a file holding it. When a server serves DIR, the project is created\n"
    "through it as the platform admin, which can create projects in its own org only.\n"
    "Prints the project as GET /api/v1/projects/{id} answers it.\n"
    "\n"
    "  --data DIR            data dir made by 'annotd init'\n"
    "  --org ID              the org's id\n"
    "  --name NAME           1-200 characters\n"
    "  --kind KIND           image, text, llm or storyboard\n"
    "  --config CONFIG       JSON text ('{...}') or a file with the config\n"
    "  --overlap N           annotations per task, 1-100 (default 1)\n"
    "  --lease-seconds S     how long a task stays leased, 1-86400 (default 3600)\n"
    "  --db URL              database URL (postgresql://...); default: DIR/annotd.db\n";

enum { OPT_DATA = 256, OPT_ORG, OPT_NAME, OPT_KIND, OPT_CONFIG, OPT_OVERLAP, OPT_LEASE, OPT_DB };

static const struct option project_options[] = {
    { "data", required_argument, NULL, OPT_DATA },
    { "org", required_argument, NULL, OPT_ORG },
    { "name", required_argument, NULL, OPT_NAME },
    { "kind", required_argument, NULL, OPT_KIND },
    { "config", required_argument, NULL, OPT_CONFIG },
    { "overlap", required_argument, NULL, OPT_OVERLAP },
    { "lease-seconds", required_argument, NULL, OPT_LEASE },
    { "db", required_argument, NULL, OPT_DB },
    { NULL, 0, NULL, 0 },
};

/* --config: JSON text, or the file it names. *ret is the caller's. */
static int config_load(const char *arg, json_t **ret)
{
    struct buf text;
    buf_init(&text, CONFIG_MAX);
    const char *where = "--config";
    if (arg[0] == '{') {
        buf_adds(&text, arg);
    } else {
        FILE *f = fopen(arg, "rb");
        if (!f)
            return cli_fail("--config: failed to open '%s': %s", arg, strerror(errno));
        int r = cli_read_all(f, &text);
        fclose(f);
        if (r == -E2BIG) {
            buf_release(&text);
            return cli_fail("--config: '%s' is larger than 16 MiB", arg);
        }
        if (r < 0) {
            buf_release(&text);
            return cli_fail("--config: failed to read '%s': %s", arg, err_str(r));
        }
        where = arg;
    }
    struct json_error_info info;
    int r = json_parse(text.p, text.len, JSON_MAX_DEPTH_DEFAULT, ret, &info);
    buf_release(&text);
    if (r == -ERR_INVALID_REQUEST) /* well-formed, but a number out of range */
        return cli_fail("config%s%s: %s", info.path[0] && info.path[0] != '[' ? "." : "", info.path,
                        info.message);
    if (r < 0)
        return cli_fail("--config: %s is not valid JSON: %s (line %ld, column %ld)",
                        where == arg ? arg : "the argument", info.message, info.line, info.column);
    return CLI_OK;
}

/* The server's POST /api/v1/projects; the platform admin names the org. */
static int project_create_remote(const struct cli_target *t, int64_t org_id, const json_t *body)
{
    json_t *with_org = json_deep_copy(body);
    if (!with_org || json_object_set_new(with_org, "org", json_integer(org_id)) < 0) {
        json_decref(with_org);
        return cli_fail("out of memory");
    }
    struct buf text, reply;
    buf_init(&text, 0);
    buf_init(&reply, 1u << 20);
    int rc = CLI_FAIL;
    int dumped = json_dump_buf(with_org, &text);
    json_decref(with_org);
    if (dumped < 0) {
        cli_fail("out of memory");
        goto out;
    }
    int status = cli_http(t->url, t->token, "POST", "/api/v1/projects", "application/json", text.p,
                          text.len, &reply);
    if (status != 201) {
        cli_http_fail(t, status, &reply);
        goto out;
    }
    cli_print_json(&reply);
    rc = CLI_OK;
out:
    buf_release(&text);
    buf_release(&reply);
    return rc;
}

struct org_check {
    int64_t id;
    struct arena *a;
    struct store_org org;
};

static int org_get_fn(struct store_tx *tx, void *ctx)
{
    struct org_check *c = ctx;
    return store_org_get(tx, c->id, c->a, &c->org);
}

/* project_create() on the store; created_by stays empty (no user made it). */
static int project_create_local(struct store *st, int64_t org_id, const struct project_spec *spec)
{
    struct arena a;
    arena_init(&a, 0);
    int rc = CLI_FAIL;
    struct org_check oc = { .id = org_id, .a = &a };
    int r = store_read(st, org_get_fn, &oc);
    if (r == -ERR_NOT_FOUND) {
        cli_fail("--org: no org %lld", (long long)org_id);
        goto out;
    }
    if (r < 0) {
        cli_fail("failed to read org %lld: %s", (long long)org_id, err_str(r));
        goto out;
    }
    int64_t id;
    r = project_create(st, org_id, 0, spec, &id);
    if (r < 0) {
        cli_fail("failed to create project '%s': %s", spec->name, err_str(r));
        goto out;
    }
    struct store_project p;
    r = project_get(st, org_id, id, &a, &p);
    if (r < 0) {
        cli_fail("failed to read back project %lld: %s", (long long)id, err_str(r));
        goto out;
    }
    struct buf b;
    buf_init(&b, 0);
    project_to_json(&b, &p);
    cli_print_json(&b);
    buf_release(&b);
    rc = CLI_OK;
out:
    arena_free(&a);
    return rc;
}

/* An optional integer flag into the body; project_parse() checks its range. */
static int set_int(json_t *body, const char *key, const char *flag, const char *arg)
{
    if (!arg)
        return CLI_OK;
    long long n;
    if (str_to_int64(str_from(arg), &n) < 0)
        return cli_usage_error(cli_project_create_usage, "%s takes an integer", flag);
    json_object_set_new(body, key, json_integer(n));
    return CLI_OK;
}

int cli_project_create(int argc, char **argv)
{
    const char *data = NULL, *db = NULL, *org = NULL, *name = NULL, *kind = NULL, *config = NULL;
    const char *overlap = NULL, *lease = NULL;
    if (cli_wants_help(argc, argv)) {
        fputs(cli_project_create_usage, stdout);
        return CLI_OK;
    }
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", project_options, NULL)) != -1) {
        switch (c) {
        case OPT_DATA:
            data = optarg;
            break;
        case OPT_ORG:
            org = optarg;
            break;
        case OPT_NAME:
            name = optarg;
            break;
        case OPT_KIND:
            kind = optarg;
            break;
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_OVERLAP:
            overlap = optarg;
            break;
        case OPT_LEASE:
            lease = optarg;
            break;
        case OPT_DB:
            db = optarg;
            break;
        default:
            return cli_usage_error(cli_project_create_usage, "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error(cli_project_create_usage, "unexpected argument '%s'", argv[optind]);
    if (!data && !db)
        return cli_usage_error(cli_project_create_usage, "--data is required");
    int64_t org_id;
    if (!org)
        return cli_usage_error(cli_project_create_usage, "--org is required");
    if (cli_parse_id(org, &org_id) < 0)
        return cli_usage_error(cli_project_create_usage,
                               "--org takes an org id (a positive integer)");
    if (!name)
        return cli_usage_error(cli_project_create_usage, "--name is required");
    if (!kind)
        return cli_usage_error(cli_project_create_usage, "--kind is required");
    if (!config)
        return cli_usage_error(cli_project_create_usage, "--config is required");
    if (!utf8_valid(name, strlen(name)))
        return cli_fail("--name: must be UTF-8 text");
    if (!utf8_valid(kind, strlen(kind)))
        return cli_fail("--kind: must be UTF-8 text");

    /* the body POST /api/v1/projects takes */
    json_t *body = json_object();
    if (!body)
        return cli_fail("out of memory");
    json_object_set_new(body, "name", json_string(name));
    json_object_set_new(body, "kind", json_string(kind));
    int rc = CLI_FAIL;
    json_t *cfg = NULL;
    if (config_load(config, &cfg) != CLI_OK)
        goto out;
    json_object_set_new(body, "config", cfg);
    if ((rc = set_int(body, "overlap", "--overlap", overlap)) != CLI_OK ||
        (rc = set_int(body, "lease_seconds", "--lease-seconds", lease)) != CLI_OK)
        goto out;
    rc = CLI_FAIL;

    struct project_spec spec;
    struct schema_error err = { "", "" };
    if (project_parse(body, &spec, &err) < 0) {
        if (err.path[0])
            cli_fail("%s: %s", err.path, err.message);
        else
            cli_fail("%s", err.message);
        goto out;
    }

    struct cli_target t;
    if (cli_target_open(data, db, &t) != CLI_OK)
        goto out;
    rc = t.remote ? project_create_remote(&t, org_id, body)
                  : project_create_local(t.st, org_id, &spec);
    cli_target_close(&t);
out:
    json_decref(body);
    return rc;
}
