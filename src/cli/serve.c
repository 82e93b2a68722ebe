/*
 * serve.c: run the server on a data dir.
 *
 * Start: lock the data dir, open (and migrate) the store, start HTTP,
 * then write the local admin token (mode 0600) and server.json for CLI
 * commands. Stop on SIGINT/SIGTERM: stop accepting, end event streams,
 * let in-flight requests finish, revoke the local token, close the store
 * cleanly.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "cli/cli.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "http/http.h"
#include "jobs/jobs.h"
#include "storyboard/generate.h"
#include "media/media.h"
#include "media/pool.h"
#include "queue/queue.h"
#include "storyboard/storyboard.h"

const char cli_serve_usage[] =
    "usage: annotd serve [--data DIR] [--listen ADDR:PORT] [--db URL] [options]\n"
    "\n"
    "Serve the API and the workbench on a data dir (default ./data).\n"
    "\n"
    "  --data DIR            data dir made by 'annotd init' (default ./data)\n"
    "  --listen ADDR:PORT    address to listen on (default 127.0.0.1:8080; port 0: any free port)\n"
    "  --db URL              database URL (postgresql://...); default: DIR/annotd.db\n"
    "  --db-timeout TIME     PostgreSQL: a statement unanswered this long fails (503) and its\n"
    "                        connection is dropped (default 30s; 1s to 1h)\n"
    "  --media DIR           media dir, shared by the nodes of a cluster (default DATA/media)\n"
    "  --media-workers N     threads for image decoding and thumbnails: 1 or 2 (default 2)\n"
    "  --media-queue N       image jobs admitted beyond one per worker; more answer 503 (default 64)\n"
    "  --web DIR             the workbench's built files (default DATA/../web/dist when it exists)\n"
    "  --threads N           HTTP worker threads (default 2 x cores)\n"
    "  --max-body SIZE       API JSON bodies (default 16m)\n"
    "  --max-import SIZE     task imports and novel uploads (default 64m)\n"
    "  --max-upload SIZE     media uploads (default 1g)\n"
    "  --max-json-depth N    JSON nesting depth (default 64)\n"
    "  --max-connections N   open connections (default 16000)\n"
    "  --connection-memory SIZE  buffer per connection; request headers must fit (default 8k)\n"
    "  --session-ttl TIME    login session lifetime (default 12h)\n"
    "  --password-cost C     argon2id cost for new passwords: min, interactive (default), moderate\n"
    "  --secure-cookie       mark the session cookie Secure (when served behind TLS)\n"
    "  --log-level L         debug, info (default), warn, error\n"
    "  --log-json            log JSON lines instead of text\n";

enum {
    OPT_DATA = 256,
    OPT_LISTEN,
    OPT_DB,
    OPT_DB_TIMEOUT,
    OPT_MEDIA,
    OPT_MEDIA_WORKERS,
    OPT_MEDIA_QUEUE,
    OPT_THREADS,
    OPT_MAX_BODY,
    OPT_MAX_IMPORT,
    OPT_MAX_UPLOAD,
    OPT_MAX_DEPTH,
    OPT_MAX_CONN,
    OPT_CONN_MEMORY,
    OPT_SESSION_TTL,
    OPT_PW_COST,
    OPT_SECURE_COOKIE,
    OPT_LOG_LEVEL,
    OPT_LOG_JSON,
    OPT_WEB,
};

static const struct option serve_options[] = {
    { "data", required_argument, NULL, OPT_DATA },
    { "listen", required_argument, NULL, OPT_LISTEN },
    { "db", required_argument, NULL, OPT_DB },
    { "db-timeout", required_argument, NULL, OPT_DB_TIMEOUT },
    { "media", required_argument, NULL, OPT_MEDIA },
    { "media-workers", required_argument, NULL, OPT_MEDIA_WORKERS },
    { "media-queue", required_argument, NULL, OPT_MEDIA_QUEUE },
    { "threads", required_argument, NULL, OPT_THREADS },
    { "max-body", required_argument, NULL, OPT_MAX_BODY },
    { "max-import", required_argument, NULL, OPT_MAX_IMPORT },
    { "max-upload", required_argument, NULL, OPT_MAX_UPLOAD },
    { "max-json-depth", required_argument, NULL, OPT_MAX_DEPTH },
    { "max-connections", required_argument, NULL, OPT_MAX_CONN },
    { "connection-memory", required_argument, NULL, OPT_CONN_MEMORY },
    { "session-ttl", required_argument, NULL, OPT_SESSION_TTL },
    { "password-cost", required_argument, NULL, OPT_PW_COST },
    { "secure-cookie", no_argument, NULL, OPT_SECURE_COOKIE },
    { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
    { "log-json", no_argument, NULL, OPT_LOG_JSON },
    { "web", required_argument, NULL, OPT_WEB },
    { NULL, 0, NULL, 0 },
};

static int parse_listen(const char *s, char *addr, size_t addr_size, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon)
        return -EINVAL;
    size_t n = (size_t)(colon - s);
    const char *a = s;
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        a++;
        n -= 2;
    }
    if (n == 0 || n >= addr_size)
        return -EINVAL;
    memcpy(addr, a, n);
    addr[n] = '\0';
    long long p;
    if (str_to_int64(str_from(colon + 1), &p) < 0 || p < 0 || p > 65535)
        return -EINVAL;
    *port = (uint16_t)p;
    return 0;
}

static int write_file_0600(const char *path, const char *content)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    size_t n = strlen(content);
    ssize_t w = write(fd, content, n);
    int r = (w == (ssize_t)n && fsync(fd) == 0) ? 0 : -EIO;
    close(fd);
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0)
        unlink(tmp);
    return r;
}

struct admin_read {
    struct arena *a;
    struct store_user u;
};

static int admin_read_fn(struct store_tx *tx, void *ctx)
{
    struct admin_read *c = ctx;
    return store_user_admin(tx, c->a, &c->u);
}

/*
 * Each node's local admin token is named after the node (host and data
 * dir), so that a node replaces only its own earlier token (one left by a
 * crash) and never another node's on a shared database.
 */
static int drop_local_fn(struct store_tx *tx, void *ctx)
{
    return store_token_delete_named(tx, "local", ctx);
}

static int purge_fn(struct store_tx *tx, void *ctx)
{
    return store_token_purge(tx, clock_now_ms());
}

/* Background upkeep: expired leases every second, expired sessions every minute. */
struct upkeep {
    struct store *st;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
};

static void *upkeep_main(void *arg)
{
    struct upkeep *u = arg;
    unsigned tick = 0;
    pthread_mutex_lock(&u->lock);
    while (!u->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&u->cond, &u->lock, &ts);
        if (u->stop)
            break;
        pthread_mutex_unlock(&u->lock);
        int n, r = queue_reap(u->st, &n);
        if (r < 0)
            log_warn("failed to return expired leases: %s", err_str(r));
        else if (n > 0)
            log_debug("returned %d expired leases to the pool", n);
        if (++tick % 60 == 0 && (r = store_write(u->st, purge_fn, NULL)) < 0)
            log_warn("failed to purge expired sessions: %s", err_str(r));
        pthread_mutex_lock(&u->lock);
    }
    pthread_mutex_unlock(&u->lock);
    return NULL;
}

int cli_serve(int argc, char **argv)
{
    const char *data = "data", *listen = "127.0.0.1:8080", *db = NULL, *media_dir = NULL;
    const char *web_dir = NULL;
    struct api_app app = {
        .limits = { .max_body = 16u << 20,
                    .max_import = 64u << 20,
                    .max_upload = (size_t)1 << 30,
                    .max_json_depth = 64 },
        .session_ttl_ms = 12 * 3600 * 1000LL,
        .cookie_name = "annotd_session",
    };
    unsigned threads = 0, max_conn = 16000;
    struct media_pool_options media_pool_opt = { .workers = MEDIA_POOL_WORKERS,
                                                 .queue = MEDIA_POOL_QUEUE };
    size_t conn_memory = 8 * 1024;
    enum auth_cost cost = AUTH_COST_INTERACTIVE;
    enum log_level level = LOG_INFO;
    int log_json = 0;
    struct store_options store_opt = { .db_timeout_ms = 30000 };

    if (cli_wants_help(argc, argv)) {
        fputs(cli_serve_usage, stdout);
        return CLI_OK;
    }
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", serve_options, NULL)) != -1) {
        long long n;
        switch (c) {
        case OPT_DATA:
            data = optarg;
            break;
        case OPT_LISTEN:
            listen = optarg;
            break;
        case OPT_DB:
            db = optarg;
            break;
        case OPT_DB_TIMEOUT: {
            int64_t ms;
            if (cli_parse_duration(optarg, &ms) < 0 || ms < 1000 || ms > 3600 * 1000)
                return cli_usage_error(cli_serve_usage,
                                       "--db-timeout takes a duration of 1s to 1h");
            store_opt.db_timeout_ms = (unsigned)ms;
            break;
        }
        case OPT_MEDIA:
            media_dir = optarg;
            break;
        case OPT_MEDIA_WORKERS:
            /* more would only wait: media.c runs MEDIA_VIPS_JOBS libvips jobs at a time */
            if (str_to_int64(str_from(optarg), &n) < 0 || n < 1 || n > MEDIA_VIPS_JOBS)
                return cli_usage_error(cli_serve_usage, "--media-workers takes 1 to %d",
                                       MEDIA_VIPS_JOBS);
            media_pool_opt.workers = (unsigned)n;
            break;
        case OPT_MEDIA_QUEUE:
            if (str_to_int64(str_from(optarg), &n) < 0 || n < 0 || n > MEDIA_POOL_MAX_QUEUE)
                return cli_usage_error(cli_serve_usage, "--media-queue takes 0 to %d",
                                       MEDIA_POOL_MAX_QUEUE);
            media_pool_opt.queue = (unsigned)n;
            break;
        case OPT_THREADS:
            if (str_to_int64(str_from(optarg), &n) < 0 || n < 1 || n > 256)
                return cli_usage_error(cli_serve_usage, "--threads takes 1 to 256");
            threads = (unsigned)n;
            break;
        case OPT_MAX_BODY:
            if (cli_parse_size(optarg, &app.limits.max_body) < 0 || app.limits.max_body < 1024)
                return cli_usage_error(cli_serve_usage, "--max-body takes a size of at least 1k");
            break;
        case OPT_MAX_IMPORT:
            if (cli_parse_size(optarg, &app.limits.max_import) < 0 || app.limits.max_import < 1024)
                return cli_usage_error(cli_serve_usage, "--max-import takes a size of at least 1k");
            break;
        case OPT_MAX_UPLOAD:
            if (cli_parse_size(optarg, &app.limits.max_upload) < 0 || app.limits.max_upload < 1024)
                return cli_usage_error(cli_serve_usage, "--max-upload takes a size of at least 1k");
            break;
        case OPT_MAX_DEPTH:
            if (str_to_int64(str_from(optarg), &n) < 0 || n < 2 || n > 1000)
                return cli_usage_error(cli_serve_usage, "--max-json-depth takes 2 to 1000");
            app.limits.max_json_depth = (int)n;
            break;
        case OPT_MAX_CONN:
            if (str_to_int64(str_from(optarg), &n) < 0 || n < 1 || n > 1000000)
                return cli_usage_error(cli_serve_usage, "--max-connections takes 1 to 1000000");
            max_conn = (unsigned)n;
            break;
        case OPT_CONN_MEMORY:
            if (cli_parse_size(optarg, &conn_memory) < 0 || conn_memory < 4096 || conn_memory > (1u << 20))
                return cli_usage_error(cli_serve_usage, "--connection-memory takes 4k to 1m");
            break;
        case OPT_SESSION_TTL:
            if (cli_parse_duration(optarg, &app.session_ttl_ms) < 0 || app.session_ttl_ms < 1000)
                return cli_usage_error(cli_serve_usage, "--session-ttl takes a duration such as 12h");
            break;
        case OPT_PW_COST:
            if (auth_cost_parse(optarg, &cost) < 0)
                return cli_usage_error(cli_serve_usage, "--password-cost takes min, interactive or moderate");
            break;
        case OPT_SECURE_COOKIE:
            app.secure_cookie = true;
            break;
        case OPT_LOG_LEVEL:
            if (log_level_parse(optarg, &level) < 0)
                return cli_usage_error(cli_serve_usage, "--log-level takes debug, info, warn or error");
            break;
        case OPT_LOG_JSON:
            log_json = 1;
            break;
        case OPT_WEB:
            web_dir = optarg;
            break;
        default:
            return cli_usage_error(cli_serve_usage, "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error(cli_serve_usage, "unexpected argument '%s'", argv[optind]);

    char addr[128];
    uint16_t port;
    if (parse_listen(listen, addr, sizeof(addr), &port) < 0)
        return cli_usage_error(cli_serve_usage, "--listen takes ADDR:PORT, e.g. 127.0.0.1:8080");

    log_setup(level, log_json);
    if (auth_init(cost) < 0)
        return cli_fail("failed to initialise libsodium");

    /* one server per data dir */
    int mr = cli_mkdirs(data);
    if (mr < 0)
        return cli_fail("failed to create data dir '%s': %s", data, strerror(-mr));
    char path[4096];
    snprintf(path, sizeof(path), "%s/annotd.lock", data);
    int lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0)
        return cli_fail("failed to open '%s': %s", path, strerror(errno));
    if (flock(lock_fd, LOCK_EX | LOCK_NB) < 0) {
        close(lock_fd);
        return cli_fail("another annotd serves data dir '%s'", data);
    }

    /* Block the stop signals before any thread exists (the store's writer,
     * the media and job workers inherit the mask), so that they reach only
     * sigwait() below: a second SIGTERM during the stop must not kill us. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    struct store *st;
    if (cli_open_store_opt(data, db, db != NULL, &store_opt, &st) != CLI_OK) {
        close(lock_fd);
        return CLI_FAIL;
    }
    app.store = st;

    int rc = CLI_FAIL;
    struct arena a;
    arena_init(&a, 0);
    char media_path[4200];
    if (!media_dir) {
        snprintf(media_path, sizeof(media_path), "%s/media", data);
        media_dir = media_path;
    }
    mr = media_open(media_dir, &app.media);
    if (mr < 0) {
        cli_fail("failed to open media dir '%s': %s", media_dir, strerror(-mr));
        goto out_store;
    }
    struct admin_read admin = { .a = &a };
    int r = store_read(st, admin_read_fn, &admin);
    if (r < 0) {
        cli_fail("no platform admin in the store: run 'annotd init --data %s --owner LOGIN' first", data);
        goto out_store;
    }

    signal(SIGPIPE, SIG_IGN);

    /* image work off the HTTP threads; started after the mask, as every thread */
    r = media_pool_start(&media_pool_opt, &app.media_pool);
    if (r < 0) {
        cli_fail("failed to start the media workers: %s", err_str(r));
        goto out_store;
    }

    /* live updates: subscribed before the first request can change anything */
    r = api_events_start(&app);
    if (r < 0) {
        cli_fail("failed to start live updates: %s", err_str(r));
        goto out_store;
    }

    /* the workbench: --web DIR, else the repo's web/dist beside a ./data dir (make run) */
    char web_path[4200];
    if (!web_dir) {
        struct stat wst;
        snprintf(web_path, sizeof(web_path), "%s/../web/dist", data);
        if (stat(web_path, &wst) == 0 && S_ISDIR(wst.st_mode))
            web_dir = web_path;
        else
            log_info("no workbench: '%s' does not exist (build web/ or pass --web DIR)", web_path);
    }
    if (web_dir)
        log_info("serving the workbench from '%s'", web_dir);

    size_t nroutes;
    const struct http_route *routes = api_routes(&app.limits, &nroutes);
    struct http_options hopt = {
        .listen_addr = addr,
        .port = port,
        .threads = threads,
        .connection_limit = max_conn,
        .connection_memory = conn_memory,
        .cookie_name = app.cookie_name,
        .routes = routes,
        .nroutes = nroutes,
        .authenticate = api_authenticate,
        .app = &app,
        .static_dir = web_dir,
    };
    struct http_server *srv;
    r = http_server_start(&hopt, &srv);
    if (r < 0) {
        cli_fail("failed to listen on '%s': %s", listen, strerror(-r));
        api_events_stop(&app);
        goto out_store;
    }

    /* the local admin token for CLI commands on this data dir */
    char host[256] = "", real[4096], token_name[4400];
    gethostname(host, sizeof(host) - 1);
    if (!realpath(data, real))
        snprintf(real, sizeof(real), "%s", data);
    snprintf(token_name, sizeof(token_name), "local admin (annotd serve %s:%s)", host, real);
    store_write(st, drop_local_fn, token_name);
    char token[AUTH_TOKEN_LEN + 1];
    int64_t token_id;
    r = auth_token_create(st, admin.u.id, "local", token_name, 0, token, &token_id);
    char info[512];
    bool v6 = strchr(addr, ':') != NULL;
    snprintf(info, sizeof(info), "{\"url\":\"http://%s%s%s:%u\",\"pid\":%ld}\n", v6 ? "[" : "", addr,
             v6 ? "]" : "", http_server_port(srv), (long)getpid());
    char token_path[4200], info_path[4200];
    snprintf(token_path, sizeof(token_path), "%s/admin.token", data);
    snprintf(info_path, sizeof(info_path), "%s/server.json", data);
    if (r < 0 || write_file_0600(token_path, token) < 0 || write_file_0600(info_path, info) < 0)
        log_warn("failed to write the local admin token into '%s': CLI commands cannot reach this server",
                 data);

    /* background jobs: two workers (LLM drafting, media generation) */
    size_t n_kinds;
    const struct job_kind *story_kinds = storyboard_job_kinds(&n_kinds);
    struct job_kind kinds[16];
    if (n_kinds > 15)
        n_kinds = 15;
    memcpy(kinds, story_kinds, n_kinds * sizeof(kinds[0]));
    /* frame generation stores its images in this node's media dir */
    kinds[n_kinds++] = (struct job_kind){ STORYBOARD_GENERATE_JOB, storyboard_generate_job, app.media };
    r = jobs_start(st, kinds, n_kinds, 2, &app.jobs);
    if (r < 0)
        log_warn("failed to start the job workers: %s (background jobs wait for another node)", err_str(r));

    struct upkeep up = { .st = st };
    pthread_mutex_init(&up.lock, NULL);
    pthread_cond_init(&up.cond, NULL);
    pthread_t upkeep_thread;
    bool upkeep_started = pthread_create(&upkeep_thread, NULL, upkeep_main, &up) == 0;

    atomic_store(&app.ready, true);
    log_info("annotd %s serving '%s' (%s) on http://%s%s%s:%u", ANNOTD_VERSION, data,
             store_backend(st), v6 ? "[" : "", addr, v6 ? "]" : "", http_server_port(srv));

    int sig;
    sigwait(&sigs, &sig);
    log_info("stopping on signal %d: finishing requests in flight", sig);

    http_server_stop(srv, 10000); /* ends the event streams too */
    /* image jobs still waiting answer 503 (dropped if their request was closed) */
    media_pool_stop(app.media_pool);
    app.media_pool = NULL;
    api_events_stop(&app);
    jobs_stop(app.jobs); /* a running job goes back to the queue at its next step */
    app.jobs = NULL;
    if (upkeep_started) {
        pthread_mutex_lock(&up.lock);
        up.stop = true;
        pthread_cond_signal(&up.cond);
        pthread_mutex_unlock(&up.lock);
        pthread_join(upkeep_thread, NULL);
    }
    pthread_mutex_destroy(&up.lock);
    pthread_cond_destroy(&up.cond);
    store_write(st, drop_local_fn, token_name);
    unlink(token_path);
    unlink(info_path);
    rc = CLI_OK;

out_store:
    media_pool_stop(app.media_pool);
    media_close(app.media);
    arena_free(&a);
    store_close(st);
    close(lock_fd);
    if (rc == CLI_OK)
        log_info("stopped");
    return rc;
}
