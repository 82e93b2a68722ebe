/*
 * init.c: create a data dir, the first org and its owner (the platform
 * admin). Without --password-file a password is generated and printed once.
 */
#include <getopt.h>
#include <sodium.h>
#include <string.h>

#include "cli/cli.h"
#include "core/err.h"
#include "core/json.h"

const char cli_init_usage[] =
    "usage: annotd init --data DIR --owner LOGIN [--password-file FILE] [--org NAME] [--name NAME]\n"
    "                   [--db URL] [--password-cost C]\n"
    "\n"
    "Create the data dir (if missing), the first org (default name 'default') and its\n"
    "owner, who is also the platform admin. Without --password-file a password is\n"
    "generated and printed once. Prints one JSON document:\n"
    "{\"org\":{...},\"user\":{...},\"password\":\"...\"} (password only when generated).\n";

enum { OPT_DATA = 256, OPT_OWNER, OPT_PWFILE, OPT_ORG, OPT_NAME, OPT_DB, OPT_COST };

static const struct option init_options[] = {
    { "data", required_argument, NULL, OPT_DATA },
    { "owner", required_argument, NULL, OPT_OWNER },
    { "password-file", required_argument, NULL, OPT_PWFILE },
    { "org", required_argument, NULL, OPT_ORG },
    { "name", required_argument, NULL, OPT_NAME },
    { "db", required_argument, NULL, OPT_DB },
    { "password-cost", required_argument, NULL, OPT_COST },
    { NULL, 0, NULL, 0 },
};

struct init_read {
    int64_t org_id, user_id;
    int64_t users;
    struct arena *a;
    struct store_org org;
    struct store_user user;
};

static int count_fn(struct store_tx *tx, void *ctx)
{
    struct init_read *c = ctx;
    return store_user_count(tx, &c->users);
}

static int read_fn(struct store_tx *tx, void *ctx)
{
    struct init_read *c = ctx;
    int r = store_org_get(tx, c->org_id, c->a, &c->org);
    if (r < 0)
        return r;
    return store_user_get(tx, c->org_id, c->user_id, c->a, &c->user);
}

int cli_init(int argc, char **argv)
{
    const char *data = NULL, *owner = NULL, *pwfile = NULL, *org = "default", *name = NULL, *db = NULL;
    enum auth_cost cost = AUTH_COST_INTERACTIVE;
    if (cli_wants_help(argc, argv)) {
        fputs(cli_init_usage, stdout);
        return CLI_OK;
    }
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", init_options, NULL)) != -1) {
        switch (c) {
        case OPT_DATA:
            data = optarg;
            break;
        case OPT_OWNER:
            owner = optarg;
            break;
        case OPT_PWFILE:
            pwfile = optarg;
            break;
        case OPT_ORG:
            org = optarg;
            break;
        case OPT_NAME:
            name = optarg;
            break;
        case OPT_DB:
            db = optarg;
            break;
        case OPT_COST:
            if (auth_cost_parse(optarg, &cost) < 0)
                return cli_usage_error(cli_init_usage, "--password-cost takes min, interactive or moderate");
            break;
        default:
            return cli_usage_error(cli_init_usage, "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error(cli_init_usage, "unexpected argument '%s'", argv[optind]);
    if (!data && !db)
        return cli_usage_error(cli_init_usage, "--data is required");
    if (!owner)
        return cli_usage_error(cli_init_usage, "--owner is required");
    const char *msg;
    if ((msg = auth_check_login(owner)))
        return cli_fail("--owner: %s", msg);
    if (!*org || strlen(org) > 200)
        return cli_fail("--org: must be 1 to 200 characters");
    if (!name)
        name = owner;
    if ((msg = auth_check_name(name)))
        return cli_fail("--name: %s", msg);

    char password[AUTH_PASSWORD_MAX + 2];
    bool generated = false;
    if (pwfile) {
        if (cli_read_password_file(pwfile, password, sizeof(password)) != CLI_OK)
            return CLI_FAIL;
        if ((msg = auth_check_password(password)))
            return cli_fail("password in '%s': %s", pwfile, msg);
    }
    if (auth_init(cost) < 0)
        return cli_fail("failed to initialise libsodium");
    if (!pwfile) {
        auth_password_generate(password);
        generated = true;
    }

    char url[512], token[128];
    if (data && cli_server_running(data, url, sizeof(url), token, sizeof(token)))
        return cli_fail("a server is running on '%s' and it is initialised already", data);

    struct store *st;
    if (cli_open_store(data, db, true, &st) != CLI_OK)
        return CLI_FAIL;

    int rc = CLI_FAIL;
    struct arena a;
    arena_init(&a, 0);
    struct init_read rd = { .a = &a };
    int r = store_read(st, count_fn, &rd);
    if (r < 0) {
        cli_fail("failed to read the store: %s", err_str(r));
        goto out;
    }
    if (rd.users > 0) {
        cli_fail("'%s' is initialised already (it has users)", data ? data : db);
        goto out;
    }
    r = auth_org_create(st, org, owner, password, name, true, &rd.org_id, &rd.user_id);
    if (r < 0) {
        cli_fail("failed to create org '%s' and owner '%s': %s", org, owner, err_str(r));
        goto out;
    }
    r = store_read(st, read_fn, &rd);
    if (r < 0) {
        cli_fail("failed to read back the owner: %s", err_str(r));
        goto out;
    }

    struct buf b;
    buf_init(&b, 0);
    struct jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_key(&w, "org");
    jw_obj_begin(&w);
    jw_kint(&w, "id", rd.org.id);
    jw_kstr(&w, "name", rd.org.name);
    jw_ktime(&w, "created_at", rd.org.created_at);
    jw_obj_end(&w);
    jw_key(&w, "user");
    jw_obj_begin(&w);
    jw_kint(&w, "id", rd.user.id);
    jw_kstr(&w, "login", rd.user.login);
    jw_kstr(&w, "name", rd.user.name);
    jw_kstr(&w, "role", rd.user.role);
    jw_kbool(&w, "admin", rd.user.is_admin);
    jw_obj_end(&w);
    if (generated)
        jw_kstr(&w, "password", password);
    jw_obj_end(&w);
    cli_print_json(&b);
    buf_release(&b);
    if (generated)
        fprintf(stderr, "annotd: the owner's password was generated and is shown once above: keep it\n");
    rc = CLI_OK;
out:
    sodium_memzero(password, sizeof(password));
    arena_free(&a);
    store_close(st);
    return rc;
}
