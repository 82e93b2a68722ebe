/*
 * user.c: `annotd user add`: create a user in an org, as an owner does with
 * POST /api/v1/users.
 *
 * Through a running server the command acts as the platform admin, whose
 * token is scoped to its own org like every token: it can add users to
 * that org only. Other orgs are reachable only without a server (or
 * through the API as one of their owners).
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

const char cli_user_add_usage[] =
    "usage: annotd user add --data DIR --org ID --login LOGIN --role ROLE --password-file FILE\n"
    "                       [--name NAME] [--db URL] [--password-cost C]\n"
    "\n"
    "Create a user in org ID. When a server serves DIR, the user is created through\n"
    "it as the platform admin, which can add users to its own org only; stop the\n"
    "server to add users to other orgs from the command line. Prints the user as\n"
    "POST /api/v1/users answers it.\n"
    "\n"
    "  --data DIR            data dir made by 'annotd init'\n"
    "  --org ID              the org's id\n"
    "  --login LOGIN         1-64 of [A-Za-z0-9._@-], unique on the platform\n"
    "  --role ROLE           owner, manager, reviewer, annotator or viewer\n"
    "  --password-file FILE  the password: the first line of FILE (at least 10 characters)\n"
    "  --name NAME           display name (default: LOGIN)\n"
    "  --db URL              database URL (postgresql://...); default: DIR/annotd.db\n"
    "  --password-cost C     argon2id cost offline: min, interactive (default), moderate\n";

enum { OPT_DATA = 256, OPT_ORG, OPT_LOGIN, OPT_ROLE, OPT_NAME, OPT_PWFILE, OPT_DB, OPT_COST };

static const struct option user_options[] = {
    { "data", required_argument, NULL, OPT_DATA },
    { "org", required_argument, NULL, OPT_ORG },
    { "login", required_argument, NULL, OPT_LOGIN },
    { "role", required_argument, NULL, OPT_ROLE },
    { "name", required_argument, NULL, OPT_NAME },
    { "password-file", required_argument, NULL, OPT_PWFILE },
    { "db", required_argument, NULL, OPT_DB },
    { "password-cost", required_argument, NULL, OPT_COST },
    { NULL, 0, NULL, 0 },
};

struct user_add {
    const char *data, *db;
    int64_t org_id;
    const char *login, *role, *name, *pwfile;
    char password[AUTH_PASSWORD_MAX + 2];
};

struct user_read {
    int64_t org_id, id;
    struct arena *a;
    struct store_org org;
    struct store_user u;
};

static int org_exists_fn(struct store_tx *tx, void *ctx)
{
    struct user_read *c = ctx;
    return store_org_get(tx, c->org_id, c->a, &c->org);
}

static int user_read_fn(struct store_tx *tx, void *ctx)
{
    struct user_read *c = ctx;
    return store_user_get(tx, c->org_id, c->id, c->a, &c->u);
}

/* The server's POST /api/v1/users; the platform admin names the org. */
static int user_add_remote(const struct cli_target *t, const struct user_add *u)
{
    json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:I}", "login", u->login, "password", u->password,
                             "name", u->name, "role", u->role, "org", (json_int_t)u->org_id);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return cli_fail("out of memory");
    size_t len = strlen(text);
    struct buf reply;
    buf_init(&reply, 1u << 20);
    int status =
        cli_http(t->url, t->token, "POST", "/api/v1/users", "application/json", text, len, &reply);
    sodium_memzero(text, len);
    free(text);
    int rc = status == 201 ? CLI_OK : cli_http_fail(t, status, &reply);
    if (rc == CLI_OK)
        cli_print_json(&reply);
    buf_release(&reply);
    return rc;
}

/* auth_user_create() on the store, printed as the API would answer. */
static int user_add_local(struct store *st, const struct user_add *u)
{
    struct arena a;
    arena_init(&a, 0);
    struct user_read c = { .org_id = u->org_id, .a = &a };
    int rc = CLI_FAIL;
    int r = store_read(st, org_exists_fn, &c);
    if (r == -ERR_NOT_FOUND) {
        cli_fail("--org: no org %lld", (long long)u->org_id);
        goto out;
    }
    if (r < 0) {
        cli_fail("failed to read org %lld: %s", (long long)u->org_id, err_str(r));
        goto out;
    }
    r = auth_user_create(st, u->org_id, u->login, u->password, u->name, u->role, &c.id);
    if (r == -ERR_CONFLICT) {
        cli_fail("--login: the login '%s' is taken", u->login);
        goto out;
    }
    if (r < 0) {
        cli_fail("failed to create user '%s': %s", u->login, err_str(r));
        goto out;
    }
    r = store_read(st, user_read_fn, &c);
    if (r < 0) {
        cli_fail("failed to read back user %lld: %s", (long long)c.id, err_str(r));
        goto out;
    }
    struct buf b;
    buf_init(&b, 0);
    struct jw w;
    jw_init(&w, &b);
    user_to_json(&w, &c.u);
    cli_print_json(&b);
    buf_release(&b);
    rc = CLI_OK;
out:
    arena_free(&a);
    return rc;
}

int cli_user_add(int argc, char **argv)
{
    struct user_add u = { 0 };
    const char *org = NULL;
    enum auth_cost cost = AUTH_COST_INTERACTIVE;
    if (cli_wants_help(argc, argv)) {
        fputs(cli_user_add_usage, stdout);
        return CLI_OK;
    }
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", user_options, NULL)) != -1) {
        switch (c) {
        case OPT_DATA:
            u.data = optarg;
            break;
        case OPT_ORG:
            org = optarg;
            break;
        case OPT_LOGIN:
            u.login = optarg;
            break;
        case OPT_ROLE:
            u.role = optarg;
            break;
        case OPT_NAME:
            u.name = optarg;
            break;
        case OPT_PWFILE:
            u.pwfile = optarg;
            break;
        case OPT_DB:
            u.db = optarg;
            break;
        case OPT_COST:
            if (auth_cost_parse(optarg, &cost) < 0)
                return cli_usage_error(cli_user_add_usage,
                                       "--password-cost takes min, interactive or moderate");
            break;
        default:
            return cli_usage_error(cli_user_add_usage, "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error(cli_user_add_usage, "unexpected argument '%s'", argv[optind]);
    if (!u.data && !u.db)
        return cli_usage_error(cli_user_add_usage, "--data is required");
    if (!org)
        return cli_usage_error(cli_user_add_usage, "--org is required");
    if (cli_parse_id(org, &u.org_id) < 0)
        return cli_usage_error(cli_user_add_usage, "--org takes an org id (a positive integer)");
    if (!u.login)
        return cli_usage_error(cli_user_add_usage, "--login is required");
    if (!u.role)
        return cli_usage_error(cli_user_add_usage, "--role is required");
    if (!u.pwfile)
        return cli_usage_error(cli_user_add_usage, "--password-file is required");

    /* the checks of POST /api/v1/users, named by flag */
    const char *msg;
    if ((msg = auth_check_login(u.login)))
        return cli_fail("--login: %s", msg);
    if (!u.name)
        u.name = u.login;
    if (!utf8_valid(u.name, strlen(u.name)))
        return cli_fail("--name: must be UTF-8 text");
    if ((msg = auth_check_name(u.name)))
        return cli_fail("--name: %s", msg);
    if (!auth_role_valid(u.role))
        return cli_fail("--role: must be one of owner, manager, reviewer, annotator, viewer");
    if (cli_read_password_file(u.pwfile, u.password, sizeof(u.password)) != CLI_OK)
        return CLI_FAIL;
    int rc = CLI_FAIL;
    if ((msg = auth_check_password(u.password))) {
        cli_fail("password in '%s': %s", u.pwfile, msg);
        goto out;
    }
    if (auth_init(cost) < 0) {
        cli_fail("failed to initialise libsodium");
        goto out;
    }

    struct cli_target t;
    if (cli_target_open(u.data, u.db, &t) != CLI_OK)
        goto out;
    rc = t.remote ? user_add_remote(&t, &u) : user_add_local(t.st, &u);
    cli_target_close(&t);
out:
    sodium_memzero(u.password, sizeof(u.password));
    return rc;
}
