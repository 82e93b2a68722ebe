/*
 * sqlite.c: the embedded backend.
 *
 * DESIGN
 * - One write connection, owned by the writer thread. Writes arrive as ops
 *   on a queue; the writer takes up to max_batch of them, runs them in one
 *   BEGIN IMMEDIATE ... COMMIT, each under a SAVEPOINT so that a failing
 *   op rolls back alone, and calls every completion after the COMMIT
 *   (synchronous=FULL: a completion with r >= 0 means durable). Many
 *   requests, one fsync. The WAL is checkpointed automatically by the
 *   writer (MEASUREMENTS.md: a background checkpointer lets it grow).
 * - A pool of read-only connections for reads, each read in its own
 *   deferred transaction (one snapshot; WAL readers never block the writer).
 * - store_write() queues an op and waits for its completion.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "store/store_int.h"

/* ---- driver ---- */

struct db_stmt {
    sqlite3_stmt *s;
    sqlite3 *db;
};

static int sq_err(sqlite3 *db, int rc)
{
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
            return -ERR_CONFLICT;
        return -ERR_STORE;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_CANTOPEN:
        return -ERR_UNAVAILABLE;
    case SQLITE_TOOBIG:
        return -ERR_TOO_LARGE;
    default:
        (void)db;
        return -ERR_STORE;
    }
}

static int sq_prepare(struct db_conn *c, const char *sql, struct db_stmt **ret)
{
    struct db_stmt *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->db = c->handle;
    int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->s, NULL);
    if (rc != SQLITE_OK) {
        free(st);
        return sq_err(c->handle, rc);
    }
    *ret = st;
    return 0;
}

static void sq_finalize(struct db_stmt *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->s);
    free(s);
}

static int sq_bind_int64(struct db_stmt *s, int i, int64_t v)
{
    return sqlite3_bind_int64(s->s, i, v) == SQLITE_OK ? 0 : -ERR_STORE;
}

static int sq_bind_text(struct db_stmt *s, int i, const char *p, size_t len)
{
    int rc = p ? sqlite3_bind_text64(s->s, i, p, len, SQLITE_STATIC, SQLITE_UTF8)
               : sqlite3_bind_null(s->s, i);
    return rc == SQLITE_OK ? 0 : sq_err(s->db, rc);
}

static int sq_bind_double(struct db_stmt *s, int i, double v)
{
    return sqlite3_bind_double(s->s, i, v) == SQLITE_OK ? 0 : -ERR_STORE;
}

static int sq_step(struct db_stmt *s)
{
    int rc = sqlite3_step(s->s);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return sq_err(s->db, sqlite3_extended_errcode(s->db));
}

static int64_t sq_col_int64(struct db_stmt *s, int i)
{
    return sqlite3_column_int64(s->s, i);
}

static double sq_col_double(struct db_stmt *s, int i)
{
    return sqlite3_column_double(s->s, i);
}

static const char *sq_col_text(struct db_stmt *s, int i, size_t *ret_len)
{
    const unsigned char *p = sqlite3_column_text(s->s, i);
    if (ret_len)
        *ret_len = p ? (size_t)sqlite3_column_bytes(s->s, i) : 0;
    return (const char *)p;
}

static int sq_col_count(struct db_stmt *s)
{
    return sqlite3_column_count(s->s);
}

static const char *sq_col_name(struct db_stmt *s, int i)
{
    return sqlite3_column_name(s->s, i);
}

static void sq_reset(struct db_stmt *s)
{
    sqlite3_reset(s->s);
    sqlite3_clear_bindings(s->s);
}

static int sq_exec(struct db_conn *c, const char *sql)
{
    int rc = sqlite3_exec(c->handle, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : sq_err(c->handle, sqlite3_extended_errcode(c->handle));
}

static const struct db_ops sqlite_ops = {
    .name = "sqlite",
    .prepare = sq_prepare,
    .finalize = sq_finalize,
    .bind_int64 = sq_bind_int64,
    .bind_text = sq_bind_text,
    .bind_double = sq_bind_double,
    .step = sq_step,
    .col_int64 = sq_col_int64,
    .col_double = sq_col_double,
    .col_text = sq_col_text,
    .col_count = sq_col_count,
    .col_name = sq_col_name,
    .reset = sq_reset,
    .exec = sq_exec,
};

/* ---- connections ---- */

static int conn_open(const char *path, bool read_only, struct db_conn *c)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_NOMUTEX |
                (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    int rc = sqlite3_open_v2(path, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_close(db);
        return rc == SQLITE_CANTOPEN ? -ERR_UNAVAILABLE : -ERR_STORE;
    }
    memset(c, 0, sizeof(*c));
    c->ops = &sqlite_ops;
    c->handle = db;
    c->read_only = read_only;
    sqlite3_busy_timeout(db, 5000);
    sqlite3_extended_result_codes(db, 1);
    const char *pragmas = read_only ? "PRAGMA foreign_keys=ON; PRAGMA query_only=ON;"
                                    : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                      " PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;";
    if (sq_exec(c, pragmas) < 0) {
        sqlite3_close(db);
        return -ERR_STORE;
    }
    return 0;
}

static void conn_close(struct db_conn *c)
{
    if (!c->handle)
        return;
    db_conn_finalize_all(c);
    sqlite3_close(c->handle);
    c->handle = NULL;
}

/* ---- the backend ---- */

struct write_op {
    store_fn fn;
    void *ctx;
    store_done_fn done;
    int result;
    struct write_op *next;
};

struct sqlite_store {
    struct store base;
    char *path;

    struct db_conn writer;
    pthread_t writer_thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct write_op *head, *tail;
    bool stopping;
    unsigned max_batch;

    pthread_mutex_t pool_lock;
    pthread_cond_t pool_free;
    struct db_conn *readers;
    bool *reader_busy;
    unsigned nreaders;
};

/* The op's events join the batch's only once its savepoint is released. */
static int run_op(struct store_tx *tx, struct write_op *op, struct store_event_queue *batch_events)
{
    struct db_conn *c = tx->conn;
    int r = sq_exec(c, "SAVEPOINT op");
    if (r < 0)
        return r;
    struct store_event_queue events;
    store_event_queue_init(&events);
    tx->events = &events;
    r = op->fn(tx, op->ctx);
    tx->events = NULL;
    if (r < 0) {
        store_event_queue_clear(&events);
        sq_exec(c, "ROLLBACK TO op");
        sq_exec(c, "RELEASE op");
        return r;
    }
    int r2 = sq_exec(c, "RELEASE op");
    if (r2 < 0)
        store_event_queue_clear(&events);
    else
        store_event_queue_splice(batch_events, &events);
    return r2 < 0 ? r2 : r;
}

static void run_batch(struct sqlite_store *s, struct write_op *batch)
{
    struct store_tx tx = { .st = &s->base, .conn = &s->writer, .in_batch = true };
    struct store_event_queue events;
    store_event_queue_init(&events);
    int r = sq_exec(&s->writer, "BEGIN IMMEDIATE");
    if (r >= 0) {
        for (struct write_op *op = batch; op; op = op->next)
            op->result = run_op(&tx, op, &events);
        r = sq_exec(&s->writer, "COMMIT");
        if (r < 0)
            sq_exec(&s->writer, "ROLLBACK");
    }
    /* committed events reach the subscribers before any completion runs */
    if (r >= 0)
        store_events_deliver(&s->base, &events);
    else
        store_event_queue_clear(&events);
    for (struct write_op *op = batch, *next; op; op = next) {
        next = op->next;
        op->done(op->ctx, r < 0 ? r : op->result);
        free(op);
    }
}

static void *writer_main(void *arg)
{
    struct sqlite_store *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->head && !s->stopping)
            pthread_cond_wait(&s->wake, &s->lock);
        if (!s->head && s->stopping)
            break;
        struct write_op *batch = s->head, *last = s->head;
        unsigned n = 1;
        while (last->next && n < s->max_batch) {
            last = last->next;
            n++;
        }
        s->head = last->next;
        if (!s->head)
            s->tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&s->lock);
        run_batch(s, batch);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static int sqlite_write_async(struct store *st, store_fn fn, void *ctx, store_done_fn done)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    struct write_op *op = malloc(sizeof(*op));
    if (!op)
        return -ENOMEM;
    op->fn = fn;
    op->ctx = ctx;
    op->done = done;
    op->result = 0;
    op->next = NULL;
    pthread_mutex_lock(&s->lock);
    if (s->stopping) {
        pthread_mutex_unlock(&s->lock);
        free(op);
        return -ERR_UNAVAILABLE;
    }
    if (s->tail)
        s->tail->next = op;
    else
        s->head = op;
    s->tail = op;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

struct sync_wait {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool finished;
    int result;
};

static void sync_done(void *ctx, int result)
{
    struct sync_wait *w = ctx;
    pthread_mutex_lock(&w->lock);
    w->result = result;
    w->finished = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

struct sync_call {
    store_fn fn;
    void *ctx;
    struct sync_wait *wait;
};

static int sync_fn(struct store_tx *tx, void *ctx)
{
    struct sync_call *c = ctx;
    return c->fn(tx, c->ctx);
}

static void sync_call_done(void *ctx, int result)
{
    struct sync_call *c = ctx;
    sync_done(c->wait, result);
}

static int sqlite_write(struct store *st, store_fn fn, void *ctx)
{
    struct sync_wait w = { .finished = false, .result = 0 };
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    struct sync_call call = { .fn = fn, .ctx = ctx, .wait = &w };
    int r = sqlite_write_async(st, sync_fn, &call, sync_call_done);
    if (r >= 0) {
        pthread_mutex_lock(&w.lock);
        while (!w.finished)
            pthread_cond_wait(&w.cond, &w.lock);
        pthread_mutex_unlock(&w.lock);
        r = w.result;
    }
    pthread_mutex_destroy(&w.lock);
    pthread_cond_destroy(&w.cond);
    return r;
}

/* BEGIN alone defers the snapshot to the first read: take it now */
#define READ_BEGIN "BEGIN; SELECT 1 FROM schema_version LIMIT 1"

static struct db_conn *reader_get(struct sqlite_store *s)
{
    pthread_mutex_lock(&s->pool_lock);
    for (;;) {
        for (unsigned i = 0; i < s->nreaders; i++) {
            if (!s->reader_busy[i]) {
                s->reader_busy[i] = true;
                pthread_mutex_unlock(&s->pool_lock);
                return &s->readers[i];
            }
        }
        pthread_cond_wait(&s->pool_free, &s->pool_lock);
    }
}

static void reader_put(struct sqlite_store *s, struct db_conn *c)
{
    pthread_mutex_lock(&s->pool_lock);
    s->reader_busy[c - s->readers] = false;
    pthread_cond_signal(&s->pool_free);
    pthread_mutex_unlock(&s->pool_lock);
}

static int sqlite_read(struct store *st, store_fn fn, void *ctx)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    struct db_conn *c = reader_get(s);
    struct store_tx tx = { .st = st, .conn = c };
    int r = sq_exec(c, READ_BEGIN);
    if (r >= 0) {
        r = fn(&tx, ctx);
        sq_exec(c, "COMMIT");
    }
    reader_put(s, c);
    return r;
}

static int sqlite_read_begin(struct store *st, struct store_tx **ret)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    struct store_tx *tx = calloc(1, sizeof(*tx));
    if (!tx)
        return -ENOMEM;
    tx->st = st;
    tx->conn = reader_get(s);
    int r = sq_exec(tx->conn, READ_BEGIN);
    if (r < 0) {
        reader_put(s, tx->conn);
        free(tx);
        return r;
    }
    *ret = tx;
    return 0;
}

static void sqlite_read_end(struct store_tx *tx)
{
    struct sqlite_store *s = (struct sqlite_store *)tx->st;
    /* reset any statement left mid-iteration so the snapshot can close */
    for (int i = 0; i < ST_MAX; i++)
        if (tx->conn->stmts[i])
            sq_reset(tx->conn->stmts[i]);
    sq_exec(tx->conn, "COMMIT");
    reader_put(s, tx->conn);
    free(tx);
}

static int sqlite_backup(struct store *st, const char *out_path)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    int fd = open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    close(fd);
    sqlite3 *dst = NULL;
    int rc = sqlite3_open_v2(out_path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_close(dst);
        return -EIO;
    }
    struct db_conn *src = reader_get(s);
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src->handle, "main");
    int r = 0;
    if (!b) {
        r = -EIO;
    } else {
        /* copy in steps so that writers are not held off for the whole copy */
        do {
            rc = sqlite3_backup_step(b, 1024);
            if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
                sqlite3_sleep(5);
        } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
        if (rc != SQLITE_DONE)
            r = -EIO;
        sqlite3_backup_finish(b);
    }
    reader_put(s, src);
    sqlite3_close(dst);
    if (r < 0)
        unlink(out_path);
    return r;
}

static void sqlite_close(struct store *st)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->writer_thread, NULL);
    for (unsigned i = 0; i < s->nreaders; i++)
        conn_close(&s->readers[i]);
    /* a clean close checkpoints the WAL */
    conn_close(&s->writer);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->pool_lock);
    pthread_cond_destroy(&s->pool_free);
    free(s->readers);
    free(s->reader_busy);
    free(s->path);
    free(s);
}

static const struct store_backend_ops sqlite_backend = {
    .name = "sqlite",
    .close = sqlite_close,
    .read = sqlite_read,
    .write_async = sqlite_write_async,
    .write = sqlite_write,
    .read_begin = sqlite_read_begin,
    .read_end = sqlite_read_end,
    .backup = sqlite_backup,
};

int sqlite_store_open(const char *path, const struct store_options *opt, struct store **ret)
{
    if (sqlite3_threadsafe() == 0)
        return -ENOTSUP;
    struct sqlite_store *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->base.ops = &sqlite_backend;
    s->path = strdup(path);
    s->max_batch = opt->max_batch ? opt->max_batch : 256;
    s->nreaders = opt->readers ? opt->readers : 4;
    s->readers = calloc(s->nreaders, sizeof(*s->readers));
    s->reader_busy = calloc(s->nreaders, sizeof(*s->reader_busy));
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    pthread_mutex_init(&s->pool_lock, NULL);
    pthread_cond_init(&s->pool_free, NULL);
    if (!s->path || !s->readers || !s->reader_busy) {
        free(s->readers);
        free(s->reader_busy);
        free(s->path);
        free(s);
        return -ENOMEM;
    }

    int r = conn_open(path, false, &s->writer);
    if (r < 0)
        goto fail;

    /* migrate on the writer connection before anyone else uses it */
    struct store_tx tx = { .st = &s->base, .conn = &s->writer };
    r = sq_exec(&s->writer, "BEGIN IMMEDIATE");
    if (r >= 0) {
        r = store_migrate(&tx, false, clock_now_ms());
        if (r < 0)
            sq_exec(&s->writer, "ROLLBACK");
        else
            r = sq_exec(&s->writer, "COMMIT");
    }
    db_conn_finalize_all(&s->writer);
    if (r < 0)
        goto fail;

    for (unsigned i = 0; i < s->nreaders; i++) {
        r = conn_open(path, true, &s->readers[i]);
        if (r < 0)
            goto fail;
    }
    if (pthread_create(&s->writer_thread, NULL, writer_main, s) != 0) {
        r = -EAGAIN;
        goto fail;
    }
    *ret = &s->base;
    return 0;

fail:
    for (unsigned i = 0; i < s->nreaders; i++)
        conn_close(&s->readers[i]);
    conn_close(&s->writer);
    free(s->readers);
    free(s->reader_busy);
    free(s->path);
    free(s);
    return r;
}
