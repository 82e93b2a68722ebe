/*
 * sqlite_raw: the claim and submit transactions of src/store/store_queue.c
 * straight on SQLite, without HTTP, threads or the group-commit writer.
 *
 * DESIGN
 * The schema is the server's own: src/store/migrations/0001_foundation.sql,
 * read at run time with {{ID}} replaced by INTEGER PRIMARY KEY. The
 * statements below are copied from store_queue.c (same SQL, same order, same
 * indexes), so the figure is what the server's storage work costs when each
 * action pays its own durable COMMIT.
 *
 * Each variant starts from a fresh database (WAL, synchronous=FULL unless
 * --sync NORMAL) holding one org, --users annotators and one text project of
 * --tasks tasks (overlap 1). The users act round-robin, each alternating
 * claim and submit, so that a batch looks like the server's: up to one
 * action per annotator. Variant "1" commits every action (the raw
 * one-claim-per-transaction figure); a variant K > 1 commits every K actions
 * and wraps each action in SAVEPOINT/RELEASE as the server's writer does.
 *
 * Output: a text table and one "RESULT {...}" JSON line per variant.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#ifndef MIGRATION_SQL
# define MIGRATION_SQL "src/store/migrations/0001_foundation.sql"
#endif

/* ------------------------------------------------------------------------ */
/* Statements (as in src/store/store_queue.c)                               */
/* ------------------------------------------------------------------------ */

#define ASSIGNMENT_COLS \
 "id, task_id, project_id, user_id, kind, state, lease_until, draft, created_at, updated_at"
#define ANNOTATION_COLS                                                                        \
 "id, task_id, project_id, COALESCE(assignment_id, 0), COALESCE(user_id, 0), version, source," \
 " result, created_at"
#define TASK_COLS                                                                     \
 "t.id, t.project_id, t.key, t.data, t.priority, t.state, t.n_leased, t.n_submitted," \
 " t.created_at"

enum {
    Q_PROJECT,
    Q_HELD,
    Q_CANDIDATE,
    Q_LEASE,
    Q_TASK_GET,
    Q_TASK_UPDATE,
    Q_PROJECT_COUNTS,
    Q_PROJECT_SUM,
    Q_TASK_GET_ANY,
    Q_ASSIGNMENT_GET,
    Q_ASSIGNMENT_SET,
    Q_ANNOTATION_VERSION,
    Q_ANNOTATION_INSERT,
    Q_LABEL_INSERT,
    Q_TASK_INSERT,
    Q_MAX
};

static const char *const sql_text[Q_MAX] = {
    [Q_PROJECT] = "SELECT lease_seconds FROM projects WHERE id = ? AND (org_id = ? OR ? = 0)",
    [Q_HELD] = "SELECT " ASSIGNMENT_COLS " FROM assignments WHERE user_id = ? AND project_id = ?"
               " AND state = 'leased' AND kind = 'normal' ORDER BY id LIMIT 1",
    [Q_CANDIDATE] =
        "SELECT t.id FROM tasks t WHERE t.project_id = ? AND t.open_slots > 0"
        " AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id"
        " AND a.user_id = ? AND a.kind = 'normal' AND a.state IN ('submitted', 'skipped'))"
        " ORDER BY t.priority DESC, t.id LIMIT 1",
    [Q_LEASE] =
        "INSERT INTO assignments (task_id, project_id, user_id, kind, state, lease_until,"
        " created_at, updated_at) VALUES (?, ?, ?, 'normal', 'leased', ?, ?, ?)"
        " ON CONFLICT (task_id, user_id) WHERE kind = 'normal' DO UPDATE SET"
        " state = 'leased', lease_until = excluded.lease_until, updated_at = excluded.updated_at"
        " RETURNING " ASSIGNMENT_COLS,
    [Q_TASK_GET] = "SELECT t.project_id, t.state, t.n_leased, t.n_submitted, p.overlap"
                   " FROM tasks t JOIN projects p ON p.id = t.project_id WHERE t.id = ?",
    [Q_TASK_UPDATE] =
        "UPDATE tasks SET n_leased = ?, n_submitted = ?, open_slots = ?, state = ? WHERE id = ?",
    [Q_PROJECT_COUNTS] =
        "INSERT INTO project_counts (project_id, shard, n_tasks, n_in_progress, n_done)"
        " VALUES (?, ?, 0, ?, ?) ON CONFLICT (project_id, shard) DO UPDATE SET"
        " n_in_progress = project_counts.n_in_progress + excluded.n_in_progress,"
        " n_done = project_counts.n_done + excluded.n_done",
    [Q_PROJECT_SUM] = "SELECT COALESCE(SUM(n_tasks), 0), COALESCE(SUM(n_in_progress), 0),"
                      " COALESCE(SUM(n_done), 0) FROM project_counts WHERE project_id = ?",
    [Q_TASK_GET_ANY] = "SELECT " TASK_COLS " FROM tasks t WHERE t.id = ?",
    [Q_ASSIGNMENT_GET] =
        "SELECT " ASSIGNMENT_COLS " FROM assignments WHERE id = ? AND (user_id = ? OR ? = 0)",
    [Q_ASSIGNMENT_SET] = "UPDATE assignments SET state = ?, lease_until = ?, updated_at = ?,"
                         " draft = CASE WHEN ? = 1 THEN draft ELSE NULL END WHERE id = ?",
    [Q_ANNOTATION_VERSION] =
        "SELECT COALESCE(MAX(version), 0) + 1 FROM annotations WHERE task_id = ? AND user_id = ?",
    [Q_ANNOTATION_INSERT] =
        "INSERT INTO annotations (task_id, project_id, assignment_id, user_id, version, source,"
        " result, created_at) VALUES (?, ?, ?, ?, ?, 'human', ?, ?) RETURNING " ANNOTATION_COLS,
    [Q_LABEL_INSERT] =
        "INSERT INTO labels (annotation_id, task_id, project_id, user_id, field, label, value)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
    [Q_TASK_INSERT] =
        "INSERT INTO tasks (project_id, key, data, priority, open_slots, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (project_id, key) DO NOTHING RETURNING id",
};

struct bench_db {
    sqlite3 *db;
    sqlite3_stmt *q[Q_MAX];
    int64_t org_id, project_id;
    int64_t *users;
    int nusers;
};

static void fail(struct bench_db *b, const char *what)
{
    fprintf(stderr, "sqlite_raw: %s: %s\n", what, b->db ? sqlite3_errmsg(b->db) : "?");
    exit(1);
}

static void exec_or_die(struct bench_db *b, const char *sql)
{
    if (sqlite3_exec(b->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        fail(b, sql);
}

static sqlite3_stmt *q(struct bench_db *b, int id)
{
    if (!b->q[id] && sqlite3_prepare_v3(b->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT,
                                        &b->q[id], NULL) != SQLITE_OK)
        fail(b, sql_text[id]);
    return b->q[id];
}

/* step once: 1 row, 0 done; dies on error (a benchmark has nothing to roll back to) */
static int step(struct bench_db *b, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    fail(b, sqlite3_sql(s));
    return -1;
}

static void done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------------ */
/* The transactions                                                         */
/* ------------------------------------------------------------------------ */

enum { TASK_OPEN, TASK_IN_PROGRESS, TASK_DONE };

/* task_adjust() of store_queue.c */
static void task_adjust(struct bench_db *b, int64_t task_id, int d_leased, int d_submitted)
{
    sqlite3_stmt *s = q(b, Q_TASK_GET);
    sqlite3_bind_int64(s, 1, task_id);
    if (step(b, s) != 1)
        fail(b, "task_adjust: no task");
    int64_t project_id = sqlite3_column_int64(s, 0);
    int old_state = sqlite3_column_int(s, 1);
    int leased = sqlite3_column_int(s, 2) + d_leased;
    int submitted = sqlite3_column_int(s, 3) + d_submitted;
    int overlap = sqlite3_column_int(s, 4);
    done(s);
    int open_slots = overlap - leased - submitted;
    if (open_slots < 0)
        open_slots = 0;
    int state = submitted >= overlap     ? TASK_DONE
                : leased + submitted > 0 ? TASK_IN_PROGRESS
                                         : TASK_OPEN;
    s = q(b, Q_TASK_UPDATE);
    sqlite3_bind_int64(s, 1, leased);
    sqlite3_bind_int64(s, 2, submitted);
    sqlite3_bind_int64(s, 3, open_slots);
    sqlite3_bind_int64(s, 4, state);
    sqlite3_bind_int64(s, 5, task_id);
    step(b, s);
    done(s);
    /* as the server: the task's counter shard moves, the totals are read back (events) */
    if (state != old_state) {
        s = q(b, Q_PROJECT_COUNTS);
        sqlite3_bind_int64(s, 1, project_id);
        sqlite3_bind_int64(s, 2, task_id % 16);
        sqlite3_bind_int64(s, 3, (state == TASK_IN_PROGRESS) - (old_state == TASK_IN_PROGRESS));
        sqlite3_bind_int64(s, 4, (state == TASK_DONE) - (old_state == TASK_DONE));
        step(b, s);
        done(s);
    }
    s = q(b, Q_PROJECT_SUM);
    sqlite3_bind_int64(s, 1, project_id);
    step(b, s);
    done(s);
}

/* Reads the columns the server copies into its arena, so the work matches. */
static void touch_row(sqlite3_stmt *s, int ncols)
{
    for (int i = 0; i < ncols; i++)
        (void)sqlite3_column_text(s, i);
}

static void task_get(struct bench_db *b, int64_t task_id)
{
    sqlite3_stmt *s = q(b, Q_TASK_GET_ANY);
    sqlite3_bind_int64(s, 1, task_id);
    if (step(b, s) == 1)
        touch_row(s, 9);
    done(s);
}

/* store_claim(): returns the assignment id, 0 when the project is exhausted. */
static int64_t claim(struct bench_db *b, int64_t user_id, int64_t now)
{
    sqlite3_stmt *s = q(b, Q_PROJECT);
    sqlite3_bind_int64(s, 1, b->project_id);
    sqlite3_bind_int64(s, 2, b->org_id);
    sqlite3_bind_int64(s, 3, b->org_id);
    if (step(b, s) != 1)
        fail(b, "claim: no project");
    int64_t lease_until = now + sqlite3_column_int64(s, 0) * 1000;
    done(s);

    s = q(b, Q_HELD);
    sqlite3_bind_int64(s, 1, user_id);
    sqlite3_bind_int64(s, 2, b->project_id);
    int r = step(b, s);
    int64_t held = r == 1 ? sqlite3_column_int64(s, 0) : 0;
    int64_t held_task = r == 1 ? sqlite3_column_int64(s, 1) : 0;
    if (r == 1)
        touch_row(s, 10);
    done(s);
    if (held) {
        s = q(b, Q_ASSIGNMENT_SET);
        sqlite3_bind_text(s, 1, "leased", -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, lease_until);
        sqlite3_bind_int64(s, 3, now);
        sqlite3_bind_int64(s, 4, 1);
        sqlite3_bind_int64(s, 5, held);
        step(b, s);
        done(s);
        task_get(b, held_task);
        return held;
    }

    s = q(b, Q_CANDIDATE);
    sqlite3_bind_int64(s, 1, b->project_id);
    sqlite3_bind_int64(s, 2, user_id);
    r = step(b, s);
    int64_t task_id = r == 1 ? sqlite3_column_int64(s, 0) : 0;
    done(s);
    if (!task_id)
        return 0;

    s = q(b, Q_LEASE);
    sqlite3_bind_int64(s, 1, task_id);
    sqlite3_bind_int64(s, 2, b->project_id);
    sqlite3_bind_int64(s, 3, user_id);
    sqlite3_bind_int64(s, 4, lease_until);
    sqlite3_bind_int64(s, 5, now);
    sqlite3_bind_int64(s, 6, now);
    if (step(b, s) != 1)
        fail(b, "claim: lease returned nothing");
    int64_t assignment_id = sqlite3_column_int64(s, 0);
    touch_row(s, 10);
    done(s);
    task_adjust(b, task_id, +1, 0);
    task_get(b, task_id);
    return assignment_id;
}

/* store_submit() for a leased assignment (the only case the bench makes). */
static void submit(struct bench_db *b, int64_t user_id, int64_t assignment_id, int64_t now)
{
    static const char result[] = "{\"classes\":[\"pos\"]}";
    sqlite3_stmt *s = q(b, Q_ASSIGNMENT_GET);
    sqlite3_bind_int64(s, 1, assignment_id);
    sqlite3_bind_int64(s, 2, user_id);
    sqlite3_bind_int64(s, 3, user_id);
    if (step(b, s) != 1)
        fail(b, "submit: no assignment");
    int64_t task_id = sqlite3_column_int64(s, 1);
    int64_t project_id = sqlite3_column_int64(s, 2);
    int64_t lease_until = sqlite3_column_int64(s, 6);
    bool leased = strcmp((const char *)sqlite3_column_text(s, 5), "leased") == 0;
    touch_row(s, 10);
    done(s);
    if (!leased)
        fail(b, "submit: assignment not leased");

    s = q(b, Q_ANNOTATION_VERSION);
    sqlite3_bind_int64(s, 1, task_id);
    sqlite3_bind_int64(s, 2, user_id);
    step(b, s);
    int version = sqlite3_column_int(s, 0);
    done(s);

    s = q(b, Q_ANNOTATION_INSERT);
    sqlite3_bind_int64(s, 1, task_id);
    sqlite3_bind_int64(s, 2, project_id);
    sqlite3_bind_int64(s, 3, assignment_id);
    sqlite3_bind_int64(s, 4, user_id);
    sqlite3_bind_int64(s, 5, version);
    sqlite3_bind_text(s, 6, result, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, now);
    if (step(b, s) != 1)
        fail(b, "submit: insert returned nothing");
    int64_t annotation_id = sqlite3_column_int64(s, 0);
    touch_row(s, 9);
    done(s);

    s = q(b, Q_ASSIGNMENT_SET);
    sqlite3_bind_text(s, 1, "submitted", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, lease_until);
    sqlite3_bind_int64(s, 3, now);
    sqlite3_bind_int64(s, 4, 0);
    sqlite3_bind_int64(s, 5, assignment_id);
    step(b, s);
    done(s);
    task_adjust(b, task_id, -1, +1);

    /* the text kind emits one label row per chosen class */
    s = q(b, Q_LABEL_INSERT);
    sqlite3_bind_int64(s, 1, annotation_id);
    sqlite3_bind_int64(s, 2, task_id);
    sqlite3_bind_int64(s, 3, project_id);
    sqlite3_bind_int64(s, 4, user_id);
    sqlite3_bind_text(s, 5, "classes", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, "pos", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, "", -1, SQLITE_STATIC);
    step(b, s);
    done(s);
}

/* ------------------------------------------------------------------------ */
/* Setup                                                                    */
/* ------------------------------------------------------------------------ */

static char *read_migration(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "sqlite_raw: failed to open '%s': %s\n", path, strerror(errno));
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *src = malloc((size_t)n + 1);
    if (!src || fread(src, 1, (size_t)n, f) != (size_t)n)
        exit(1);
    src[n] = 0;
    fclose(f);
    /* {{ID}} -> INTEGER PRIMARY KEY */
    static const char from[] = "{{ID}}", to[] = "INTEGER PRIMARY KEY";
    size_t count = 0;
    for (char *p = src; (p = strstr(p, from)); p += sizeof(from) - 1)
        count++;
    char *out = malloc((size_t)n + 1 + count * sizeof(to));
    if (!out)
        exit(1);
    char *o = out;
    for (char *p = src;;) {
        char *m = strstr(p, from);
        if (!m) {
            strcpy(o, p);
            break;
        }
        memcpy(o, p, (size_t)(m - p));
        o += m - p;
        memcpy(o, to, sizeof(to) - 1);
        o += sizeof(to) - 1;
        p = m + sizeof(from) - 1;
    }
    free(src);
    return out;
}

static int64_t insert_id(struct bench_db *b, const char *sql)
{
    exec_or_die(b, sql);
    return sqlite3_last_insert_rowid(b->db);
}

static double setup(struct bench_db *b,
                    const char *path,
                    const char *schema,
                    const char *sync,
                    long ntasks,
                    int nusers)
{
    char side[1100];
    unlink(path);
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
    memset(b, 0, sizeof(*b));
    if (sqlite3_open_v2(path, &b->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK)
        fail(b, "open");
    sqlite3_extended_result_codes(b->db, 1);
    /* the server's writer pragmas (src/store/sqlite.c conn_open) */
    char pragmas[256];
    snprintf(pragmas, sizeof(pragmas),
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA foreign_keys=ON;"
             " PRAGMA temp_store=MEMORY;",
             sync);
    exec_or_die(b, pragmas);
    exec_or_die(b, "BEGIN IMMEDIATE");
    exec_or_die(b, schema);
    int64_t now = now_ms();
    char sql[512];
    snprintf(sql, sizeof(sql), "INSERT INTO orgs (name, created_at) VALUES ('bench', %lld)",
             (long long)now);
    b->org_id = insert_id(b, sql);
    b->nusers = nusers;
    b->users = calloc((size_t)nusers, sizeof(*b->users));
    for (int i = 0; i < nusers; i++) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO users (org_id, login, name, role, password_hash, created_at)"
                 " VALUES (%lld, 'va%d', 'va%d', 'annotator', 'x', %lld)",
                 (long long)b->org_id, i, i, (long long)now);
        b->users[i] = insert_id(b, sql);
    }
    snprintf(
        sql, sizeof(sql),
        "INSERT INTO projects (org_id, name, kind, config, overlap, lease_seconds, created_at)"
        " VALUES (%lld, 'bench', 'text', '{\"classes\":{\"choices\":[\"pos\",\"neg\"]}}',"
        " 1, 3600, %lld)",
        (long long)b->org_id, (long long)now);
    b->project_id = insert_id(b, sql);
    snprintf(sql, sizeof(sql),
             "INSERT INTO project_counts (project_id, shard, n_tasks) VALUES (%lld, 0, %ld)",
             (long long)b->project_id, ntasks);
    exec_or_die(b, sql);
    exec_or_die(b, "COMMIT");

    /* tasks in one transaction, through the server's insert statement */
    double t0 = mono_s();
    exec_or_die(b, "BEGIN IMMEDIATE");
    sqlite3_stmt *s = q(b, Q_TASK_INSERT);
    char key[32], data[160];
    for (long i = 1; i <= ntasks; i++) {
        snprintf(key, sizeof(key), "k%ld", i);
        snprintf(data, sizeof(data),
                 "{\"text\":\"task %ld: the quick brown fox jumps over the lazy dog, twice.\"}", i);
        sqlite3_bind_int64(s, 1, b->project_id);
        sqlite3_bind_text(s, 2, key, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 3, data, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 4, 0);
        sqlite3_bind_int64(s, 5, 1);
        sqlite3_bind_int64(s, 6, now);
        step(b, s);
        done(s);
    }
    exec_or_die(b, "COMMIT");
    exec_or_die(b, "PRAGMA wal_checkpoint(TRUNCATE)");
    return mono_s() - t0;
}

static void teardown(struct bench_db *b)
{
    for (int i = 0; i < Q_MAX; i++)
        sqlite3_finalize(b->q[i]);
    sqlite3_close(b->db);
    free(b->users);
}

/* ------------------------------------------------------------------------ */
/* Main                                                                     */
/* ------------------------------------------------------------------------ */

struct variant_result {
    long claims, submits;
    double elapsed, ops_per_s;
    long commits;
    bool exhausted;
    double commit_p50_ms, commit_p99_ms, commit_max_ms; /* COMMIT alone (fsync, checkpoints) */
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void run_variant(struct bench_db *b, int batch, double duration, struct variant_result *ret)
{
    int64_t *held = calloc((size_t)b->nusers, sizeof(*held)); /* assignment per user, 0 = none */
    memset(ret, 0, sizeof(*ret));
    bool savepoints = batch > 1;
    double t0 = mono_s(), t_end = t0 + duration;
    size_t ncommit_cap = 1 << 16;
    double *commit_s = malloc(ncommit_cap * sizeof(*commit_s));
    int u = 0;
    while (!ret->exhausted && mono_s() < t_end) {
        exec_or_die(b, "BEGIN IMMEDIATE");
        int64_t now = now_ms();
        for (int i = 0; i < batch; i++) {
            if (savepoints)
                exec_or_die(b, "SAVEPOINT op");
            int64_t user = b->users[u];
            if (held[u]) {
                submit(b, user, held[u], now);
                held[u] = 0;
                ret->submits++;
            } else {
                held[u] = claim(b, user, now);
                if (!held[u]) {
                    ret->exhausted = true;
                } else {
                    ret->claims++;
                }
            }
            if (savepoints)
                exec_or_die(b, "RELEASE op");
            u = (u + 1) % b->nusers;
            if (ret->exhausted)
                break;
        }
        double tc = mono_s();
        exec_or_die(b, "COMMIT");
        if ((size_t)ret->commits < ncommit_cap)
            commit_s[ret->commits] = mono_s() - tc;
        ret->commits++;
    }
    ret->elapsed = mono_s() - t0;
    size_t nc = (size_t)ret->commits < ncommit_cap ? (size_t)ret->commits : ncommit_cap;
    qsort(commit_s, nc, sizeof(*commit_s), cmp_double);
    if (nc) {
        ret->commit_p50_ms = commit_s[nc / 2] * 1e3;
        ret->commit_p99_ms = commit_s[(nc * 99) / 100] * 1e3;
        ret->commit_max_ms = commit_s[nc - 1] * 1e3;
    }
    free(commit_s);
    ret->ops_per_s = (double)(ret->claims + ret->submits) / ret->elapsed;
    free(held);
}

static const char usage[] =
    "usage: sqlite_raw [--db PATH] [--tasks N] [--users U] [--duration S] [--batches 1,64]\n"
    "                  [--sync FULL|NORMAL] [--migration FILE]\n"
    "\n"
    "Run the server's claim and submit transactions on SQLite directly: one\n"
    "action per transaction (batch 1) and batched (K actions, SAVEPOINT each).\n";

int main(int argc, char **argv)
{
    const char *path = "/tmp/annotd-sqlite-raw.db";
    const char *migration = MIGRATION_SQL;
    const char *sync = "FULL";
    const char *batches = "1,64";
    long ntasks = 200000;
    int nusers = 64;
    double duration = 5;
    enum { O_DB = 256, O_TASKS, O_USERS, O_DUR, O_BATCHES, O_SYNC, O_MIG, O_HELP };
    static const struct option lo[] = {
        { "db", required_argument, NULL, O_DB },
        { "tasks", required_argument, NULL, O_TASKS },
        { "users", required_argument, NULL, O_USERS },
        { "duration", required_argument, NULL, O_DUR },
        { "batches", required_argument, NULL, O_BATCHES },
        { "sync", required_argument, NULL, O_SYNC },
        { "migration", required_argument, NULL, O_MIG },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case O_DB:
            path = optarg;
            break;
        case O_TASKS:
            ntasks = strtol(optarg, NULL, 10);
            break;
        case O_USERS:
            nusers = atoi(optarg);
            break;
        case O_DUR:
            duration = strtod(optarg, NULL);
            break;
        case O_BATCHES:
            batches = optarg;
            break;
        case O_SYNC:
            sync = optarg;
            break;
        case O_MIG:
            migration = optarg;
            break;
        case O_HELP:
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (ntasks < 1 || nusers < 1 || duration <= 0 ||
        (strcmp(sync, "FULL") != 0 && strcmp(sync, "NORMAL") != 0)) {
        fputs(usage, stderr);
        return 2;
    }
    char *schema = read_migration(migration);
    printf("sqlite %s, synchronous=%s, %ld tasks, %d users, %.0f s per variant\n",
           sqlite3_libversion(), sync, ntasks, nusers, duration);
    printf("%-6s %9s %9s %9s %10s %10s %22s %8s\n", "batch", "claims", "submits", "commits",
           "claims/s", "ops/s", "COMMIT p50/p99/max ms", "setup s");

    char list[128];
    snprintf(list, sizeof(list), "%s", batches);
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        int batch = atoi(tok);
        if (batch < 1)
            continue;
        struct bench_db b;
        double load_s = setup(&b, path, schema, sync, ntasks, nusers);
        struct variant_result r;
        run_variant(&b, batch, duration, &r);
        teardown(&b);
        printf("%-6d %9ld %9ld %9ld %10.1f %10.1f %8.2f/%6.2f/%6.1f %8.2f%s\n", batch, r.claims,
               r.submits, r.commits, (double)r.claims / r.elapsed, r.ops_per_s, r.commit_p50_ms,
               r.commit_p99_ms, r.commit_max_ms, load_s, r.exhausted ? " (exhausted)" : "");
        printf("RESULT {\"label\":\"sqlite_raw\",\"sync\":\"%s\",\"batch\":%d,\"savepoints\":%s,"
               "\"tasks\":%ld,\"users\":%d,\"elapsed_s\":%.3f,\"claims\":%ld,\"submits\":%ld,"
               "\"commits\":%ld,\"claims_per_s\":%.1f,\"submits_per_s\":%.1f,\"ops_per_s\":%.1f,"
               "\"commit_p50_ms\":%.3f,\"commit_p99_ms\":%.3f,\"commit_max_ms\":%.3f,"
               "\"bulk_insert_s\":%.3f,\"exhausted\":%s}\n",
               sync, batch, batch > 1 ? "true" : "false", ntasks, nusers, r.elapsed, r.claims,
               r.submits, r.commits, (double)r.claims / r.elapsed, (double)r.submits / r.elapsed,
               r.ops_per_s, r.commit_p50_ms, r.commit_p99_ms, r.commit_max_ms, load_s,
               r.exhausted ? "true" : "false");
        fflush(stdout);
    }
    char side[1100];
    unlink(path);
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
    free(schema);
    return 0;
}
