/*
 * org.c: `annotd org add`: create an org with its first owner, as the
 * platform admin does with POST /api/v1/orgs (through the server when one
 * serves the data dir).
 */
#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "cli/cli.h"
#include "core/err.h"
#include "core/json.h"
#include "core/utf8.h"

const char cli_org_add_usage[] =
    "usage: annotd org add --data DIR NAME --owner LOGIN --password-file FILE [--owner-name NAME]\n"
    "                      [--db URL] [--password-cost C]\n"
    "\n"
    "Create the org NAME with its first owner. When a server serves DIR, the org is\n"
    "created through it (as the platform admin); otherwise in the store directly.\n"
    "Prints the org as POST /api/v1/orgs answers it:\n"
    "{\"id\",\"name\",\"created_at\",\"owner\":{user}}.\n"
    "\n"
    "  --data DIR            data dir made by 'annotd init'\n"
    "  --owner LOGIN         the owner's login (1-64 of [A-Za-z0-9._@-])\n"
    "  --password-file FILE  the owner's password: the first line of FILE\n"
    "  --owner-name NAME     the owner's display name (default: LOGIN)\n"
    "  --db URL              database URL (postgresql://...); default: DIR/annotd.db\n"
    "  --password-cost C     argon2id cost offline: min, interactive (default), moderate\n";

enum { OPT_DATA = 256, OPT_OWNER, OPT_PWFILE, OPT_OWNER_NAME, OPT_DB, OPT_COST };

static const struct option org_options[] = {
    { "data", required_argument, NULL, OPT_DATA },
    { "owner", required_argument, NULL, OPT_OWNER },
    { "password-file", required_argument, NULL, OPT_PWFILE },
    { "owner-name", required_argument, NULL, OPT_OWNER_NAME },
    { "db", required_argument, NULL, OPT_DB },
    { "password-cost", required_argument, NULL, OPT_COST },
    { NULL, 0, NULL, 0 },
};

struct org_add {
    const char *data, *db;
    const char *name, *login, *owner_name, *pwfile;
    char password[AUTH_PASSWORD_MAX + 2];
};

struct org_read {
    int64_t org_id, owner_id;
    struct arena *a;
    struct store_org org;
    struct store_user owner;
};

static int org_read_fn(struct store_tx *tx, void *ctx)
{
    struct org_read *c = ctx;
    int r = store_org_get(tx, c->org_id, c->a, &c->org);
    if (r < 0)
        return r;
    return store_user_get(tx, c->org_id, c->owner_id, c->a, &c->owner);
}

/* The server's POST /api/v1/orgs, printed as it answers. */
static int org_add_remote(const struct cli_target *t, const struct org_add *o)
{
    json_t *body = json_pack("{s:s, s:{s:s, s:s, s:s}}", "name", o->name, "owner", "login",
                             o->login, "password", o->password, "name", o->owner_name);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return cli_fail("out of memory");
    size_t len = strlen(text);
    struct buf reply;
    buf_init(&reply, 1u << 20);
    int status =
        cli_http(t->url, t->token, "POST", "/api/v1/orgs", "application/json", text, len, &reply);
    sodium_memzero(text, len);
    free(text);
    int rc = status == 201 ? CLI_OK : cli_http_fail(t, status, &reply);
    if (rc == CLI_OK)
        cli_print_json(&reply);
    buf_release(&reply);
    return rc;
}

/* auth_org_create() on the store, printed as the API would answer. */
static int org_add_local(struct store *st, const struct org_add *o)
{
    struct org_read c = { 0 };
    int r = auth_org_create(st, o->name, o->login, o->password, o->owner_name, false, &c.org_id,
                            &c.owner_id);
    if (r == -ERR_CONFLICT)
        return cli_fail(
            "failed to create org '%s': the org name or the owner's login '%s' is taken", o->name,
            o->login);
    if (r < 0)
        return cli_fail("failed to create org '%s': %s", o->name, err_str(r));

    struct arena a;
    arena_init(&a, 0);
    c.a = &a;
    r = store_read(st, org_read_fn, &c);
    if (r < 0) {
        arena_free(&a);
        return cli_fail("failed to read back org %lld: %s", (long long)c.org_id, err_str(r));
    }
    struct buf b;
    buf_init(&b, 0);
    struct jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kint(&w, "id", c.org.id);
    jw_kstr(&w, "name", c.org.name);
    jw_ktime(&w, "created_at", c.org.created_at);
    jw_key(&w, "owner");
    user_to_json(&w, &c.owner);
    jw_obj_end(&w);
    cli_print_json(&b);
    buf_release(&b);
    arena_free(&a);
    return CLI_OK;
}

int cli_org_add(int argc, char **argv)
{
    struct org_add o = { 0 };
    enum auth_cost cost = AUTH_COST_INTERACTIVE;
    if (cli_wants_help(argc, argv)) {
        fputs(cli_org_add_usage, stdout);
        return CLI_OK;
    }
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", org_options, NULL)) != -1) {
        switch (c) {
        case OPT_DATA:
            o.data = optarg;
            break;
        case OPT_OWNER:
            o.login = optarg;
            break;
        case OPT_PWFILE:
            o.pwfile = optarg;
            break;
        case OPT_OWNER_NAME:
            o.owner_name = optarg;
            break;
        case OPT_DB:
            o.db = optarg;
            break;
        case OPT_COST:
            if (auth_cost_parse(optarg, &cost) < 0)
                return cli_usage_error(cli_org_add_usage,
                                       "--password-cost takes min, interactive or moderate");
            break;
        default:
            return cli_usage_error(cli_org_add_usage, "unknown option");
        }
    }
    if (optind == argc)
        return cli_usage_error(cli_org_add_usage, "the org NAME is required");
    o.name = argv[optind++];
    if (optind < argc)
        return cli_usage_error(cli_org_add_usage, "unexpected argument '%s'", argv[optind]);
    if (!o.data && !o.db)
        return cli_usage_error(cli_org_add_usage, "--data is required");
    if (!o.login)
        return cli_usage_error(cli_org_add_usage, "--owner is required");
    if (!o.pwfile)
        return cli_usage_error(cli_org_add_usage, "--password-file is required");

    /* the checks of POST /api/v1/orgs, named by flag */
    const char *msg;
    if (!utf8_valid(o.name, strlen(o.name)))
        return cli_fail("NAME: must be UTF-8 text");
    if (!*o.name || utf8_count(o.name, strlen(o.name)) > 200)
        return cli_fail("NAME: must be 1 to 200 characters");
    if ((msg = auth_check_login(o.login)))
        return cli_fail("--owner: %s", msg);
    if (!o.owner_name)
        o.owner_name = o.login;
    if (!utf8_valid(o.owner_name, strlen(o.owner_name)))
        return cli_fail("--owner-name: must be UTF-8 text");
    if ((msg = auth_check_name(o.owner_name)))
        return cli_fail("--owner-name: %s", msg);
    if (cli_read_password_file(o.pwfile, o.password, sizeof(o.password)) != CLI_OK)
        return CLI_FAIL;
    int rc = CLI_FAIL;
    if ((msg = auth_check_password(o.password))) {
        cli_fail("password in '%s': %s", o.pwfile, msg);
        goto out;
    }
    if (auth_init(cost) < 0) {
        cli_fail("failed to initialise libsodium");
        goto out;
    }

    struct cli_target t;
    if (cli_target_open(o.data, o.db, &t) != CLI_OK)
        goto out;
    rc = t.remote ? org_add_remote(&t, &o) : org_add_local(t.st, &o);
    cli_target_close(&t);
out:
    sodium_memzero(o.password, sizeof(o.password));
    return rc;
}
