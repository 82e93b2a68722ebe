/*
 * main.c: dispatch to the commands in src/cli/.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct cli_command commands[] = {
    { "serve", "serve the API and the workbench", cli_serve, cli_serve_usage },
    { "init", "create a data dir, the first org and its owner", cli_init, cli_init_usage },
    { "org add", "create an org with its owner", cli_org_add, cli_org_add_usage },
    { "user add", "create a user in an org", cli_user_add, cli_user_add_usage },
    { "project create", "create a project", cli_project_create, cli_project_create_usage },
    { "import", "import tasks (JSON Lines or a JSON array)", cli_import, cli_import_usage },
    { "export", "export a project's tasks and annotations", cli_export, cli_export_usage },
    { "story import", "ingest or sync a novel into a storyboard project", cli_story_import, cli_story_import_usage },
    { "story export", "write a project's storyboard (json, csv, fountain, srt, html)", cli_story_export, cli_story_export_usage },
    { "backup", "write an online backup of the data dir's database", cli_backup, cli_backup_usage },
    { "migrate", "copy a store into another (SQLite to PostgreSQL)", cli_migrate, cli_migrate_usage },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
    fprintf(f, "usage: annotd COMMAND [options]   (annotd COMMAND --help for each)\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-16s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n  --version        print the version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("annotd %s\n", ANNOTD_VERSION);
        return CLI_OK;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const char *name = commands[i].name;
        const char *space = strchr(name, ' ');
        int rc;
        if (!space && strcmp(argv[1], name) == 0) {
            rc = commands[i].run(argc - 1, argv + 1);
        } else if (space && argc >= 3 && strncmp(argv[1], name, (size_t)(space - name)) == 0 &&
                   strlen(argv[1]) == (size_t)(space - name) && strcmp(argv[2], space + 1) == 0) {
            rc = commands[i].run(argc - 2, argv + 2);
        } else {
            continue;
        }
        curl_global_cleanup();
        return rc;
    }
    curl_global_cleanup();
    fprintf(stderr, "annotd: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}
