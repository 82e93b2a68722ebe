/*
 * postgres.c: the shared backend, on libpq.
 *
 * DESIGN
 * - Driver: the SQL of store_*.c with `?` placeholders, rewritten to $1..$n
 *   (outside string literals, quoted identifiers and comments) and prepared
 *   once per connection under a per-connection name (PQprepare). Parameters
 *   travel as text (int64 as decimal, NULL as NULL); PostgreSQL infers their
 *   types from the statement. The first step() sends it
 *   (PQsendQueryPrepared) and keeps the whole result; later steps walk its
 *   rows. Every multi-row statement
 *   in store_*.c is paged (LIMIT ?, the export collects at most a page of
 *   tasks and then one task's annotations), so a result is bounded by the
 *   page, not by the table, and several statements may be open at once on
 *   one connection.
 * - Deadlines: connections are in nonblocking mode and every statement
 *   (PQsend*, then pg_await(): flush, poll() the socket, PQconsumeInput,
 *   PQgetResult) must be answered within the store's timeout
 *   (store_options.db_timeout_ms, `serve --db-timeout`, default 30 s;
 *   none for the migrations at open). Past it the statement is cancelled
 *   from a detached thread (PQcancel blocks; at most PG_CANCEL_MAX at
 *   once) and the connection is marked broken: nothing more is sent on
 *   it, the caller gets -ERR_UNAVAILABLE (503), and it is closed when
 *   handed back to the pool, so the pool never holds a connection with a
 *   result half read. A write transaction so cut short is never committed
 *   by us (the server rolls it back when the connection goes) unless its
 *   COMMIT had reached the server: then, as with any connection lost
 *   during COMMIT, it committed and the client got a 503, not a 2xx.
 *   Connection attempts are bounded by libpq's connect_timeout (the
 *   deadline, 2 to 5 s), idle connections by TCP keepalives (a dead peer
 *   is noticed in about 25 s). This is what bounds a request on a server
 *   that stopped answering without closing its sockets (a SIGSTOP, a
 *   network partition), where TCP alone would wait many minutes.
 * - Errors: SQLSTATE 23505 (unique_violation) -> -ERR_CONFLICT; a broken
 *   connection, class 08, 57P01..03 (shutdown, cannot connect now) and
 *   53300 (too many connections) -> -ERR_UNAVAILABLE (HTTP 503);
 *   40001/40P01 (serialization failure, deadlock) mark the transaction for
 *   a retry.
 * - A pool of PG_POOL_SIZE connections, opened lazily. A connection found
 *   broken is closed when it is handed back and opened again on next use,
 *   so a node rides out a PostgreSQL restart without a restart of its own:
 *   requests fail with -ERR_UNAVAILABLE while the server is down. A
 *   connection that broke while idle in the pool (its BEGIN fails) is
 *   reopened and the transaction begun again, once (not after a deadline:
 *   a server that does not answer is not asked twice).
 * - store_read(): BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY (one
 *   snapshot), as store_read_begin() holds it across calls for an export
 *   (its snapshot taken at once, as on SQLite).
 *   store_write(): BEGIN ISOLATION LEVEL READ COMMITTED on the caller's
 *   thread; the queue takes explicit row locks where it reads to update
 *   (stmt_get_dialect() call sites in store_queue.c: the claim's candidate
 *   is FOR UPDATE SKIP LOCKED, task_adjust() reads the counters FOR
 *   UPDATE). A transaction that fails with 40001/40P01 runs again, up to
 *   PG_MAX_ATTEMPTS times, with a short growing pause; units of work must
 *   therefore (and do) write their outputs afresh on every run.
 *   store_write_async() is store_write() followed by done(): libpq is
 *   synchronous, the completion runs before the call returns.
 * - Migrations at open run in one transaction under
 *   pg_advisory_xact_lock(PG_MIGRATE_LOCK), so nodes starting together
 *   migrate one at a time and the later ones find nothing to do.
 * - Events (store_events.c): no NOTIFY in the write transactions (NOTIFY
 *   takes a database-wide lock at commit, serialising every notifying
 *   transaction: bench/README.md). store_event() queues the event on the
 *   transaction (tx->events, emptied at each run of a retried one, dropped
 *   on rollback). After COMMIT pg_run() publishes the queue to this node's
 *   subscribers in commit order (a ticket taken just before COMMIT: a
 *   transaction that waited for another's row locks commits, and
 *   publishes, after it), then hands it to the relay.
 * - The relay (started by the first committed event): a thread with its
 *   own connection ("annotd relay") that wakes when events are queued,
 *   waits RELAY_GATHER_MS for more, and sends all it has in one
 *   transaction, packed into as few pg_notify('annotd', ...) payloads as
 *   the 8000-byte limit allows, each headed by this node's id (random,
 *   taken at open; its statements have the pool's deadline). Its queue
 *   holds at most RELAY_QUEUE_MAX events: beyond, the oldest are dropped
 *   and a resync notice goes out, locally at once and to the other nodes
 *   with the next send. A failed send drops its
 *   events, reconnects with backoff (100 ms doubling to 5 s) and begins
 *   the next send with a resync. At close it sends what is queued, for
 *   at most RELAY_FLUSH_MS (then its socket is shut down).
 * - The first store_subscribe() starts the listener: a thread with its
 *   own connection that LISTENs on 'annotd' and publishes the other
 *   nodes' events (payloads headed by this node's id are skipped: they
 *   were delivered at commit) to the local subscribers. A connection
 *   silent for LISTEN_PING_MS is pinged (SELECT 1, under a deadline of
 *   at most 5 s). When the connection breaks, or the ping goes
 *   unanswered, it reconnects with backoff (100 ms doubling to 5 s)
 *   and then publishes a resync notice (org 0, topic "*"): notifications
 *   sent meanwhile are lost. A pipe wakes it at close.
 * - No store_backup(): -ENOTSUP. Back up a PostgreSQL store with pg_dump
 *   (`pg_dump -Fc -f annotd.dump URL`; restore with pg_restore).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <pthread.h>

#include "core/clock.h"
#include "core/err.h"
#include "store/store_int.h"

enum {
    PG_POOL_SIZE = 8,
    PG_POOL_WAIT_MS = 10000,  /* waiting longer than this for a connection: 503 */
    PG_MAX_ATTEMPTS = 5,      /* runs of a write transaction that meets 40001/40P01 */
    PG_CONNECT_TIMEOUT_S = 5, /* at most; less with a shorter statement deadline (not below 2) */
    PG_DB_TIMEOUT_MS = 30000, /* a statement's deadline unless store_options says otherwise */
    PG_CANCEL_MAX = 4,        /* cancel requests in flight at once (per process); more: skipped */
    LISTEN_PING_MS = 30000,   /* the listener checks a silent connection this often */
    RELAY_GATHER_MS = 20,     /* the relay waits this long for more events to send at once */
    RELAY_QUEUE_MAX = 10000,  /* events waiting for the relay; beyond: drop oldest, resync */
    RELAY_FLUSH_MS = 2000,    /* at close, the relay's last send may take this long */
};

#define RESYNC_JSON "{\"type\":\"resync\"}"

/* pg_advisory_xact_lock key for migrations: "annotd" in ASCII */
#define PG_MIGRATE_LOCK "107083804390500"

/* ---- driver ---- */

/* A pooled connection: the generic part first, so that a db_conn * is one. */
struct pg_conn {
    struct db_conn base; /* base.handle: the PGconn (nonblocking mode) */
    unsigned next_name;  /* statement names s1, s2 ... on this connection */
    int timeout_ms;      /* each statement's deadline; 0: none (migrations at open) */
    bool retry;          /* 40001/40P01 met in this transaction */
    bool closing;        /* finalize without DEALLOCATE */
    bool broken;         /* socket failed or deadline passed: never used again, closed on return */
    bool timed_out;      /* a deadline passed (the server may be up but not answering) */
};

struct param {
    char *p; /* NUL-terminated copy; NULL while unset */
    size_t alloc;
    bool is_null;
};

struct db_stmt {
    struct pg_conn *conn;
    char name[16];
    int nparams;
    struct param *params;
    const char **values; /* handed to PQexecPrepared */
    int err;             /* sticky bind error, reported by step() */
    PGresult *res;       /* NULL until the first step() */
    int row, nrows;
};

static PGconn *pq(const struct pg_conn *c)
{
    return c->base.handle;
}

static bool sqlstate_is(const char *state, const char *want)
{
    return state && strcmp(state, want) == 0;
}

/* Map a failed result (or NULL) on connection c to an error code. */
static int pg_err(struct pg_conn *c, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (c->broken || !c->base.handle || PQstatus(pq(c)) != CONNECTION_OK)
        return -ERR_UNAVAILABLE;
    if (!state)
        return res ? -ERR_STORE : -ENOMEM; /* libpq returns NULL when out of memory */
    if (sqlstate_is(state, "23505"))
        return -ERR_CONFLICT;
    if (sqlstate_is(state, "40001") || sqlstate_is(state, "40P01")) {
        c->retry = true;
        return -EBUSY;
    }
    if (strncmp(state, "08", 2) == 0 || sqlstate_is(state, "57P01") ||
        sqlstate_is(state, "57P02") || sqlstate_is(state, "57P03") || sqlstate_is(state, "53300"))
        return -ERR_UNAVAILABLE;
    if (sqlstate_is(state, "53100"))
        return -ENOSPC;
    if (sqlstate_is(state, "53200"))
        return -ENOMEM;
    if (sqlstate_is(state, "25006"))
        return -EROFS;
    if (sqlstate_is(state, "54000"))
        return -ERR_TOO_LARGE;
    if (sqlstate_is(state, "22021") || sqlstate_is(state, "22P05"))
        return -EINVAL; /* bytes that are not valid text */
    return -ERR_STORE;
}

/* ---- statements under a deadline ---- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Wait until conn's socket is readable (or writable too, when `out`) or
 * the deadline (CLOCK_MONOTONIC ms; INT64_MAX: none) passes.
 * Returns 1: ready, 0: the deadline passed, negative errno: failed.
 */
static int sock_wait(PGconn *conn, bool out, int64_t deadline)
{
    int fd = PQsocket(conn);
    if (fd < 0)
        return -EBADF;
    for (;;) {
        int ms = -1;
        if (deadline != INT64_MAX) {
            int64_t left = deadline - mono_ms();
            if (left <= 0)
                return 0;
            ms = left > INT_MAX ? INT_MAX : (int)left;
        }
        struct pollfd p = { .fd = fd, .events = (short)(POLLIN | (out ? POLLOUT : 0)) };
        int n = poll(&p, 1, ms);
        if (n > 0)
            return 1;
        if (n == 0)
            return 0;
        if (errno != EINTR)
            return -errno;
    }
}

static atomic_int cancels_running; /* per process: cancel threads outlive connections and stores */

static void *cancel_main(void *arg)
{
    PGcancel *k = arg;
    char err[256];
    PQcancel(k, err, sizeof(err)); /* best effort: the connection is dropped anyway */
    PQfreeCancel(k);
    atomic_fetch_sub(&cancels_running, 1);
    return NULL;
}

/*
 * Ask the server to stop the statement running on conn, from a detached
 * thread: PQcancel blocks (it connects to the server and waits for it to
 * hang up), and a server that stopped answering would hold the caller. At
 * most PG_CANCEL_MAX at once; beyond, the dropped connection is the only
 * signal (the server aborts the transaction when it sees it).
 */
static void cancel_async(PGconn *conn)
{
    if (atomic_fetch_add(&cancels_running, 1) >= PG_CANCEL_MAX) {
        atomic_fetch_sub(&cancels_running, 1);
        return;
    }
    PGcancel *k = PQgetCancel(conn);
    pthread_attr_t attr;
    pthread_t t;
    bool started = false;
    if (k && pthread_attr_init(&attr) == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        started = pthread_create(&t, &attr, cancel_main, k) == 0;
        pthread_attr_destroy(&attr);
    }
    if (!started) {
        PQfreeCancel(k);
        atomic_fetch_sub(&cancels_running, 1);
    }
}

/*
 * After a PQsend*() (`sent`: it returned 1): flush the request and collect
 * its results, all within c->timeout_ms. Returns the last result (the
 * first error wins over later results), as PQexec would, or NULL: not
 * sent (out of memory, or the connection is bad), the socket failed, or
 * the deadline passed. In the last two cases c is marked broken: its
 * protocol state is unknown (a result half read), so it is never used
 * again and pool_put()/tx_begin() close it; on a deadline the statement
 * is also cancelled (cancel_async). A write transaction cut short so is
 * never committed by us: the server rolls it back when the connection
 * goes, unless its COMMIT had already reached it (the caller then answers
 * 503 for a transaction that did commit, as for any connection lost
 * during COMMIT).
 */
static PGresult *pg_await(struct pg_conn *c, bool sent)
{
    if (!sent)
        return NULL;
    PGconn *conn = pq(c);
    int64_t deadline = c->timeout_ms > 0 ? mono_ms() + c->timeout_ms : INT64_MAX;
    int w = 1;
    for (;;) { /* flush: libpq asks us to read too while it cannot write */
        int f = PQflush(conn);
        if (f == 0)
            break;
        if (f < 0 || (w = sock_wait(conn, true, deadline)) < 0 || (w > 0 && !PQconsumeInput(conn)))
            goto failed;
        if (w == 0)
            goto expired;
    }
    PGresult *last = NULL;
    for (;;) {
        while (PQisBusy(conn)) {
            w = sock_wait(conn, false, deadline);
            if (w == 0) {
                PQclear(last);
                goto expired;
            }
            if (w < 0 || !PQconsumeInput(conn)) {
                PQclear(last);
                goto failed;
            }
        }
        PGresult *res = PQgetResult(conn);
        if (!res)
            break;
        if (last && PQresultStatus(last) == PGRES_FATAL_ERROR) {
            PQclear(res);
        } else {
            PQclear(last);
            last = res;
        }
    }
    return last;
expired:
    c->timed_out = true;
    cancel_async(conn);
failed:
    c->broken = true;
    return NULL;
}

/* PQexec(sql) under the deadline. */
static PGresult *pg_query(struct pg_conn *c, const char *sql)
{
    return pg_await(c, !c->broken && PQsendQuery(pq(c), sql));
}

/*
 * Rewrite `?` placeholders to $1, $2 ... outside '...' literals, "..."
 * identifiers and comments. Returns a malloc'd string or NULL.
 */
static char *pg_rewrite(const char *sql, int *ret_nparams)
{
    struct buf b;
    buf_init(&b, 0);
    int n = 0;
    const char *p = sql;
    while (*p) {
        const char *end = NULL;
        if (*p == '\'' || *p == '"') {
            end = strchr(p + 1, *p); /* a doubled quote is two adjacent literals here */
            end = end ? end + 1 : p + strlen(p);
        } else if (p[0] == '-' && p[1] == '-') {
            end = strchr(p, '\n');
            end = end ? end + 1 : p + strlen(p);
        } else if (p[0] == '/' && p[1] == '*') {
            end = strstr(p + 2, "*/");
            end = end ? end + 2 : p + strlen(p);
        }
        if (end) {
            buf_add(&b, p, (size_t)(end - p));
            p = end;
        } else if (*p == '?') {
            buf_addf(&b, "$%d", ++n);
            p++;
        } else {
            buf_addch(&b, *p++);
        }
    }
    if (b.err) {
        buf_release(&b);
        return NULL;
    }
    *ret_nparams = n;
    return buf_detach(&b, NULL);
}

static int pg_prepare(struct db_conn *dc, const char *sql, struct db_stmt **ret)
{
    struct pg_conn *c = (struct pg_conn *)dc;
    int nparams = 0;
    char *text = pg_rewrite(sql, &nparams);
    struct db_stmt *s = calloc(1, sizeof(*s));
    if (!text || !s) {
        free(text);
        free(s);
        return -ENOMEM;
    }
    s->conn = c;
    s->nparams = nparams;
    snprintf(s->name, sizeof(s->name), "s%u", ++c->next_name);
    if (nparams) {
        s->params = calloc((size_t)nparams, sizeof(*s->params));
        s->values = calloc((size_t)nparams, sizeof(*s->values));
        if (!s->params || !s->values) {
            free(text);
            free(s->params);
            free(s->values);
            free(s);
            return -ENOMEM;
        }
    }
    PGresult *res = pg_await(c, !c->broken && PQsendPrepare(pq(c), s->name, text, nparams, NULL));
    free(text);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        int r = pg_err(c, res);
        PQclear(res);
        free(s->params);
        free(s->values);
        free(s);
        return r;
    }
    PQclear(res);
    *ret = s;
    return 0;
}

static void pg_reset(struct db_stmt *s)
{
    PQclear(s->res);
    s->res = NULL;
    s->row = s->nrows = 0;
    s->err = 0;
    for (int i = 0; i < s->nparams; i++) {
        s->params[i].is_null = true;
        s->values[i] = NULL;
    }
}

static void pg_finalize(struct db_stmt *s)
{
    if (!s)
        return;
    PQclear(s->res);
    struct pg_conn *c = s->conn;
    /* forget the server's copy unless the connection is going away anyway */
    if (!c->closing && !c->broken && c->base.handle && PQstatus(pq(c)) == CONNECTION_OK &&
        PQtransactionStatus(pq(c)) != PQTRANS_INERROR) {
        char sql[32];
        snprintf(sql, sizeof(sql), "DEALLOCATE %s", s->name);
        PQclear(pg_query(c, sql));
    }
    for (int i = 0; i < s->nparams; i++)
        free(s->params[i].p);
    free(s->params);
    free(s->values);
    free(s);
}

static int bind_param(struct db_stmt *s, int i, const char *p, size_t len)
{
    if (i < 1 || i > s->nparams)
        return s->err = -ERANGE;
    struct param *pa = &s->params[i - 1];
    if (!p) {
        pa->is_null = true;
        s->values[i - 1] = NULL;
        return 0;
    }
    if (memchr(p, '\0', len))
        return s->err = -EINVAL; /* PostgreSQL text cannot hold NUL */
    if (len + 1 > pa->alloc) {
        char *np = realloc(pa->p, len + 1);
        if (!np)
            return s->err = -ENOMEM;
        pa->p = np;
        pa->alloc = len + 1;
    }
    memcpy(pa->p, p, len);
    pa->p[len] = '\0';
    pa->is_null = false;
    s->values[i - 1] = pa->p;
    return 0;
}

static int pg_bind_int64(struct db_stmt *s, int i, int64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%" PRId64, v);
    return bind_param(s, i, num, (size_t)n);
}

static int pg_bind_text(struct db_stmt *s, int i, const char *p, size_t len)
{
    return bind_param(s, i, p, len);
}

static int pg_bind_double(struct db_stmt *s, int i, double v)
{
    char num[40];
    int n = snprintf(num, sizeof(num), "%.17g", v);
    return bind_param(s, i, num, (size_t)n);
}

static int pg_step(struct db_stmt *s)
{
    if (!s->res) {
        if (s->err)
            return s->err;
        struct pg_conn *c = s->conn;
        PGresult *res = pg_await(c, !c->broken && PQsendQueryPrepared(pq(c), s->name, s->nparams,
                                                                      s->values, NULL, NULL, 0));
        ExecStatusType st = PQresultStatus(res);
        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
            int r = pg_err(s->conn, res);
            PQclear(res);
            return r;
        }
        s->res = res;
        s->nrows = st == PGRES_TUPLES_OK ? PQntuples(res) : 0;
        s->row = -1;
    }
    if (s->row + 1 < s->nrows) {
        s->row++;
        return 1;
    }
    s->row = s->nrows;
    return 0;
}

/* The current row's column i, or NULL for SQL NULL (or no current row). */
static const char *cell(struct db_stmt *s, int i, size_t *ret_len)
{
    if (!s->res || s->row < 0 || s->row >= s->nrows || i < 0 || i >= PQnfields(s->res) ||
        PQgetisnull(s->res, s->row, i)) {
        if (ret_len)
            *ret_len = 0;
        return NULL;
    }
    if (ret_len)
        *ret_len = (size_t)PQgetlength(s->res, s->row, i);
    return PQgetvalue(s->res, s->row, i);
}

static int64_t pg_col_int64(struct db_stmt *s, int i)
{
    const char *v = cell(s, i, NULL);
    if (!v)
        return 0;
    if (v[0] == 't' && v[1] == '\0') /* a boolean column */
        return 1;
    return strtoll(v, NULL, 10);
}

static double pg_col_double(struct db_stmt *s, int i)
{
    const char *v = cell(s, i, NULL);
    return v ? strtod(v, NULL) : 0.0;
}

static const char *pg_col_text(struct db_stmt *s, int i, size_t *ret_len)
{
    return cell(s, i, ret_len);
}

static int pg_col_count(struct db_stmt *s)
{
    return s->res ? PQnfields(s->res) : 0;
}

static const char *pg_col_name(struct db_stmt *s, int i)
{
    return s->res && i >= 0 && i < PQnfields(s->res) ? PQfname(s->res, i) : NULL;
}

static int pg_exec(struct db_conn *dc, const char *sql)
{
    struct pg_conn *c = (struct pg_conn *)dc;
    PGresult *res = pg_query(c, sql);
    ExecStatusType st = PQresultStatus(res);
    int r = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : pg_err(c, res);
    PQclear(res);
    return r;
}

static const struct db_ops pg_ops = {
    .name = "postgresql",
    .postgres = true,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .bind_int64 = pg_bind_int64,
    .bind_text = pg_bind_text,
    .bind_double = pg_bind_double,
    .step = pg_step,
    .col_int64 = pg_col_int64,
    .col_double = pg_col_double,
    .col_text = pg_col_text,
    .col_count = pg_col_count,
    .col_name = pg_col_name,
    .reset = pg_reset,
    .exec = pg_exec,
};

/* ---- connections ---- */

/* Library code never logs: drop the server's NOTICEs ("... already exists, skipping"). */
static void notice_ignore(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/*
 * Connect c (closed) to url, as `app` (application_name); its statements
 * get timeout_ms each (0: none).
 */
static int conn_open(const char *url, const char *app, int timeout_ms, struct pg_conn *c)
{
    /* the whole handshake within the deadline (libpq's connect_timeout: whole seconds, >= 2) */
    int connect_s = timeout_ms > 0 ? (timeout_ms + 999) / 1000 : PG_CONNECT_TIMEOUT_S;
    if (connect_s > PG_CONNECT_TIMEOUT_S)
        connect_s = PG_CONNECT_TIMEOUT_S;
    if (connect_s < 2)
        connect_s = 2;
    char timeout[16];
    snprintf(timeout, sizeof(timeout), "%d", connect_s);
    /*
     * later keywords win: the URL's own settings override these defaults.
     * Keepalives (first probe after 10 s idle, then every 5 s, 3 missed:
     * dead) notice a vanished peer on an idle connection (the listener's,
     * a pooled one) in about 25 s; tcp_user_timeout ends a send that the
     * peer never acknowledges after 30 s. A peer that is up but does not
     * answer (a stopped server: its kernel still acknowledges) is caught
     * by the statement deadline (pg_await).
     */
    const char *const keys[] = { "connect_timeout", "application_name", "keepalives", "keepalives_idle",
                                 "keepalives_interval", "keepalives_count", "tcp_user_timeout", "dbname",
                                 NULL };
    const char *const values[] = { timeout, app, "1", "10", "5", "3", "30000", url, NULL };
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (!conn)
        return -ENOMEM;
    /* nonblocking: PQsend*() never blocks; pg_await() flushes, under the deadline */
    if (PQstatus(conn) != CONNECTION_OK || PQsetnonblocking(conn, 1) != 0) {
        PQfinish(conn);
        return -ERR_UNAVAILABLE;
    }
    PQsetNoticeProcessor(conn, notice_ignore, NULL);
    memset(c, 0, sizeof(*c));
    c->base.ops = &pg_ops;
    c->base.handle = conn;
    c->timeout_ms = timeout_ms;
    return 0;
}

static void conn_close(struct pg_conn *c)
{
    if (!c->base.handle)
        return;
    c->closing = true;
    db_conn_finalize_all(&c->base);
    PQfinish(pq(c)); /* its goodbye is sent without blocking (nonblocking mode) */
    c->base.handle = NULL;
    c->closing = false;
    c->broken = c->timed_out = false;
}

static bool conn_broken(const struct pg_conn *c)
{
    return c->broken || !c->base.handle || PQstatus(pq(c)) != CONNECTION_OK;
}

/* ---- the pool ---- */

struct pg_store {
    struct store base;
    char *url;
    int timeout_ms; /* each statement's deadline (store_options.db_timeout_ms); 0: none */
    pthread_mutex_t lock;
    pthread_cond_t freed;
    struct pg_conn conns[PG_POOL_SIZE];
    bool busy[PG_POOL_SIZE];

    /* the events listener, under lock */
    pthread_t listener;
    bool listening;    /* the thread runs */
    bool listen_tried; /* its first connection attempt is over */
    pthread_cond_t listen_cond;
    int listen_wake[2]; /* pipe: written at close */

    uint64_t node_id; /* heads this node's NOTIFY payloads: the listener skips them */

    /* local delivery in commit order: tickets taken before COMMIT, under order_lock */
    pthread_mutex_t order_lock;
    pthread_cond_t order_cond;
    uint64_t order_taken, order_served;

    /* the relay, under relay_lock; relay_cond: work queued, stop, done */
    pthread_mutex_t relay_lock;
    pthread_cond_t relay_cond;
    pthread_t relay;
    bool relaying;   /* the thread runs (started by the first committed event) */
    bool relay_stop; /* close: send what is queued and end */
    bool relay_done; /* the thread is about to end */
    bool relay_lost; /* events were dropped: the next send begins with a resync */
    int relay_fd;    /* its connection's socket, -1: none */
    struct store_event_queue relay_q;
};

static void relay_enqueue(struct pg_store *s, struct store_event_queue *events);

/* Take a connection, opening it when it is not (or no longer) connected. */
static int pool_get(struct pg_store *s, struct pg_conn **ret)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += PG_POOL_WAIT_MS / 1000;
    struct pg_conn *c = NULL;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        /* prefer a connection that is open already */
        for (unsigned i = 0; i < PG_POOL_SIZE && !c; i++)
            if (!s->busy[i] && s->conns[i].base.handle)
                c = &s->conns[i];
        for (unsigned i = 0; i < PG_POOL_SIZE && !c; i++)
            if (!s->busy[i])
                c = &s->conns[i];
        if (c)
            break;
        if (pthread_cond_timedwait(&s->freed, &s->lock, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&s->lock);
            return -ERR_UNAVAILABLE;
        }
    }
    s->busy[c - s->conns] = true;
    pthread_mutex_unlock(&s->lock);

    if (conn_broken(c)) {
        conn_close(c);
        int r = conn_open(s->url, "annotd", s->timeout_ms, c);
        if (r < 0) {
            pthread_mutex_lock(&s->lock);
            s->busy[c - s->conns] = false;
            pthread_cond_signal(&s->freed);
            pthread_mutex_unlock(&s->lock);
            return r;
        }
    }
    c->timeout_ms = s->timeout_ms;
    *ret = c;
    return 0;
}

static void pool_put(struct pg_store *s, struct pg_conn *c)
{
    /* leave no transaction open behind; drop a broken connection */
    if (!conn_broken(c) && PQtransactionStatus(pq(c)) != PQTRANS_IDLE)
        pg_exec(&c->base, "ROLLBACK");
    if (conn_broken(c))
        conn_close(c);
    pthread_mutex_lock(&s->lock);
    s->busy[c - s->conns] = false;
    pthread_cond_signal(&s->freed);
    pthread_mutex_unlock(&s->lock);
}

/*
 * BEGIN on c. A pooled connection whose server went away since its last
 * use fails here before any work ran: reopen it and begin again, once.
 */
static int tx_begin(struct pg_store *s, struct pg_conn *c, const char *begin)
{
    c->retry = false;
    int r = pg_exec(&c->base, begin);
    if (r >= 0 || !conn_broken(c) || c->timed_out)
        return r; /* a server that does not answer: no second wait */
    conn_close(c);
    r = conn_open(s->url, "annotd", s->timeout_ms, c);
    if (r < 0)
        return r;
    return pg_exec(&c->base, begin);
}

/* COMMIT; a transaction that an ignored error aborted comes back as ROLLBACK. */
static int tx_commit(struct pg_conn *c)
{
    PGresult *res = pg_query(c, "COMMIT");
    int r = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        r = pg_err(c, res);
    else if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
        r = -ERR_STORE;
    PQclear(res);
    return r;
}

static void tx_rollback(struct pg_conn *c)
{
    if (!conn_broken(c))
        pg_exec(&c->base, "ROLLBACK");
}

/* Pause before run `attempt` (1, 2 ...) of a transaction: 2^attempt ms plus jitter. */
static void retry_pause(int attempt)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long us = (1L << attempt) * 1000 + (long)(now.tv_nsec / 1000 % 1000);
    struct timespec ts = { .tv_sec = 0, .tv_nsec = us * 1000 };
    nanosleep(&ts, NULL);
}

/* ---- local delivery in commit order ---- */

/* A place in line, taken just before COMMIT by a transaction with events. */
static uint64_t order_take(struct pg_store *s)
{
    pthread_mutex_lock(&s->order_lock);
    uint64_t ticket = ++s->order_taken;
    pthread_mutex_unlock(&s->order_lock);
    return ticket;
}

/*
 * Wait for the turn of `ticket`, then publish and relay `events` (NULL:
 * the COMMIT failed, nothing to say) and pass the turn on. Between its
 * order_take() and this call a thread only commits, so the wait is short.
 */
static void order_done(struct pg_store *s, uint64_t ticket, struct store_event_queue *events)
{
    pthread_mutex_lock(&s->order_lock);
    while (s->order_served + 1 != ticket)
        pthread_cond_wait(&s->order_cond, &s->order_lock);
    if (events) {
        store_events_publish_queue(&s->base, events);
        relay_enqueue(s, events);
    }
    s->order_served = ticket;
    pthread_cond_broadcast(&s->order_cond);
    pthread_mutex_unlock(&s->order_lock);
}

/* ---- the backend ---- */

/* A write may run again on 40001/40P01 and queues events; a read may not. */
static int pg_run(struct store *st, const char *begin, bool write, store_fn fn, void *ctx)
{
    struct pg_store *s = (struct pg_store *)st;
    struct pg_conn *c;
    int r = pool_get(s, &c);
    if (r < 0)
        return r;
    struct store_event_queue events;
    store_event_queue_init(&events);
    c->base.read_only = !write;
    struct store_tx tx = { .st = st, .conn = &c->base, .events = write ? &events : NULL };
    uint64_t ticket = 0; /* the committed run's place in line to publish; 0: none */
    for (int attempt = 1;; attempt++) {
        store_event_queue_clear(&events); /* each run queues its events afresh */
        r = tx_begin(s, c, begin);
        if (r < 0)
            break;
        r = fn(&tx, ctx);
        if (r >= 0) {
            ticket = events.head ? order_take(s) : 0;
            int rc = tx_commit(c);
            if (rc < 0) {
                r = rc;
                if (ticket)
                    order_done(s, ticket, NULL);
                ticket = 0;
            }
        } else {
            tx_rollback(c);
        }
        if (r >= 0 || !c->retry || !write || attempt >= PG_MAX_ATTEMPTS)
            break;
        retry_pause(attempt);
    }
    if (r < 0 && c->retry)
        r = -EBUSY; /* still contended after the last run: 503, try again */
    if (r < 0 && conn_broken(c))
        r = -ERR_UNAVAILABLE; /* the server went away, whatever failed first */
    pool_put(s, c);
    if (ticket)
        order_done(s, ticket, &events); /* committed: r >= 0 */
    store_event_queue_clear(&events);
    return r;
}

static int pg_read(struct store *st, store_fn fn, void *ctx)
{
    return pg_run(st, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", false, fn, ctx);
}

static int pg_write(struct store *st, store_fn fn, void *ctx)
{
    return pg_run(st, "BEGIN ISOLATION LEVEL READ COMMITTED", true, fn, ctx);
}

static int pg_write_async(struct store *st, store_fn fn, void *ctx, store_done_fn done)
{
    done(ctx, pg_write(st, fn, ctx));
    return 0;
}

static int pg_read_begin(struct store *st, struct store_tx **ret)
{
    struct pg_store *s = (struct pg_store *)st;
    struct store_tx *tx = calloc(1, sizeof(*tx));
    if (!tx)
        return -ENOMEM;
    struct pg_conn *c;
    int r = pool_get(s, &c);
    if (r >= 0) {
        /* a REPEATABLE READ snapshot is taken by the first query: take it now */
        r = tx_begin(s, c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT 1");
        if (r < 0)
            pool_put(s, c);
    }
    if (r < 0) {
        free(tx);
        return r;
    }
    c->base.read_only = true;
    tx->st = st;
    tx->conn = &c->base;
    *ret = tx;
    return 0;
}

static void pg_read_end(struct store_tx *tx)
{
    struct pg_store *s = (struct pg_store *)tx->st;
    struct pg_conn *c = (struct pg_conn *)tx->conn;
    /* drop results left mid-iteration */
    for (int i = 0; i < ST_MAX; i++)
        if (c->base.stmts[i])
            pg_reset(c->base.stmts[i]);
    if (!conn_broken(c))
        pg_exec(&c->base, "COMMIT");
    pool_put(s, c);
    free(tx);
}

/* ---- the events listener ---- */

/* Connect c (closed) and LISTEN on 'annotd'. */
static int listen_open(struct pg_store *s, struct pg_conn *c)
{
    /* its statements are LISTEN and a ping: a few seconds is plenty (and bounds the close) */
    int timeout_ms = s->timeout_ms > 0 && s->timeout_ms < PG_CONNECT_TIMEOUT_S * 1000
                         ? s->timeout_ms
                         : PG_CONNECT_TIMEOUT_S * 1000;
    int r = conn_open(s->url, "annotd listener", timeout_ms, c);
    if (r < 0)
        return r;
    r = pg_exec(&c->base, "LISTEN annotd");
    if (r < 0)
        conn_close(c);
    return r;
}

static void listen_publish(struct pg_store *s, PGnotify *n)
{
    uint64_t node;
    char *cursor;
    if (strcmp(n->relname, "annotd") != 0 || store_events_parse_head(n->extra, &node, &cursor) < 0)
        return; /* not ours: ignore */
    if (node == s->node_id)
        return; /* this node's own: published at commit */
    int64_t org;
    const char *topic, *json;
    while (store_events_parse(&cursor, &org, &topic, &json) > 0)
        store_events_publish(&s->base, org, topic, json);
}

enum listen_wake { LISTEN_STOP, LISTEN_IDLE, LISTEN_INPUT };

/* Wait up to ms for the close or input on fd (-1: none). */
static enum listen_wake listen_wait(struct pg_store *s, int fd, int ms)
{
    struct pollfd p[2] = { { .fd = s->listen_wake[0], .events = POLLIN },
                           { .fd = fd, .events = POLLIN } };
    int n = poll(p, fd >= 0 ? 2 : 1, ms);
    if (n > 0 && p[0].revents)
        return LISTEN_STOP;
    return n > 0 ? LISTEN_INPUT : LISTEN_IDLE;
}

/*
 * Receive notifications; a connection that fails, or stays silent for
 * LISTEN_PING_MS and then does not answer a ping within its deadline (a
 * server stopped, or gone behind a network partition), is dropped and
 * opened again with backoff, and a resync notice goes out.
 */
static void *listener_main(void *arg)
{
    struct pg_store *s = arg;
    struct pg_conn c;
    memset(&c, 0, sizeof(c));
    int backoff_ms = 100;
    bool lost = false; /* a connection broke: events may have been missed */
    for (;;) {
        if (!c.base.handle) {
            int r = listen_open(s, &c);
            pthread_mutex_lock(&s->lock);
            s->listen_tried = true;
            pthread_cond_broadcast(&s->listen_cond);
            pthread_mutex_unlock(&s->lock);
            if (r < 0) {
                lost = true;
                if (listen_wait(s, -1, backoff_ms) == LISTEN_STOP)
                    break;
                backoff_ms = backoff_ms * 2 > 5000 ? 5000 : backoff_ms * 2;
                continue;
            }
            backoff_ms = 100;
            if (lost)
                store_events_publish(&s->base, 0, "*", RESYNC_JSON);
            lost = false;
        }
        enum listen_wake w = listen_wait(s, PQsocket(pq(&c)), LISTEN_PING_MS);
        if (w == LISTEN_STOP)
            break;
        bool ok;
        if (w == LISTEN_IDLE) {
            PGresult *res = pg_query(&c, "SELECT 1");
            ok = PQresultStatus(res) == PGRES_TUPLES_OK;
            PQclear(res);
        } else {
            ok = PQconsumeInput(pq(&c)) != 0;
        }
        if (!ok || conn_broken(&c)) {
            conn_close(&c);
            lost = true;
            continue;
        }
        PGnotify *n;
        while ((n = PQnotifies(pq(&c))) != NULL) {
            listen_publish(s, n);
            PQfreemem(n);
        }
    }
    conn_close(&c);
    return NULL;
}

/* ops->events_start: start the listener, wait for its first connection attempt. */
static int pg_events_start(struct store *st)
{
    struct pg_store *s = (struct pg_store *)st;
    pthread_mutex_lock(&s->lock);
    if (s->listening) {
        pthread_mutex_unlock(&s->lock);
        return 0;
    }
    if (pipe2(s->listen_wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        pthread_mutex_unlock(&s->lock);
        return -errno;
    }
    if (pthread_create(&s->listener, NULL, listener_main, s) != 0) {
        close(s->listen_wake[0]);
        close(s->listen_wake[1]);
        pthread_mutex_unlock(&s->lock);
        return -EAGAIN;
    }
    s->listening = true;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += PG_CONNECT_TIMEOUT_S + 1;
    while (!s->listen_tried)
        if (pthread_cond_timedwait(&s->listen_cond, &s->lock, &deadline) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&s->lock);
    return 0; /* not connected yet: it keeps trying */
}

static void listener_stop(struct pg_store *s)
{
    if (!s->listening)
        return;
    ssize_t w = write(s->listen_wake[1], "x", 1);
    (void)w;
    pthread_join(s->listener, NULL);
    close(s->listen_wake[0]);
    close(s->listen_wake[1]);
    s->listening = false;
}

/* ---- the events relay ---- */

/* Wait on relay_cond (relay_lock held) for up to ms, or until the close. */
static void relay_wait(struct pg_store *s, int ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += (long)ms * 1000000L;
    deadline.tv_sec += deadline.tv_nsec / 1000000000L;
    deadline.tv_nsec %= 1000000000L;
    while (!s->relay_stop)
        if (pthread_cond_timedwait(&s->relay_cond, &s->relay_lock, &deadline) == ETIMEDOUT)
            break;
}

static void relay_disconnect(struct pg_store *s, struct pg_conn *c)
{
    pthread_mutex_lock(&s->relay_lock);
    s->relay_fd = -1; /* before the close: the fd number may be reused at once */
    pthread_mutex_unlock(&s->relay_lock);
    conn_close(c);
}

/* The relay's connection, opened when it is not (or no longer) connected. */
static int relay_connect(struct pg_store *s, struct pg_conn *c)
{
    if (!conn_broken(c))
        return 0;
    relay_disconnect(s, c);
    int r = conn_open(s->url, "annotd relay", s->timeout_ms, c);
    if (r < 0)
        return r;
    pthread_mutex_lock(&s->relay_lock);
    s->relay_fd = PQsocket(pq(c));
    pthread_mutex_unlock(&s->relay_lock);
    return 0;
}

/* Send the batch (a resync first when `lost`) in one transaction; the batch is consumed. */
static int relay_send(struct pg_store *s,
                      struct pg_conn *c,
                      struct store_event_queue *batch,
                      bool lost,
                      uint64_t *seq,
                      struct buf *payload)
{
    if (lost) {
        struct store_event_queue q;
        store_event_queue_init(&q);
        if (store_event_queue_push(&q, 0, "*", RESYNC_JSON) < 0)
            return -ENOMEM;
        store_event_queue_splice(&q, batch);
        store_event_queue_splice(batch, &q);
    }
    int r = pg_exec(&c->base, "BEGIN");
    while (r >= 0 && batch->head) {
        buf_clear(payload);
        r = store_events_pack(payload, s->node_id, ++*seq, batch);
        if (r < 0)
            break;
        const char *values[1] = { payload->p };
        PGresult *res =
            pg_await(c, !c->broken && PQsendQueryParams(pq(c), "SELECT pg_notify('annotd', $1)", 1,
                                                        NULL, values, NULL, NULL, 0));
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            r = pg_err(c, res);
        PQclear(res);
    }
    if (r >= 0)
        return tx_commit(c);
    tx_rollback(c);
    return r;
}

static void *relay_main(void *arg)
{
    struct pg_store *s = arg;
    struct pg_conn c;
    memset(&c, 0, sizeof(c));
    struct buf payload;
    buf_init(&payload, STORE_EVENT_PAYLOAD_MAX + STORE_EVENT_LINE_MAX + 64);
    struct store_event_queue batch;
    store_event_queue_init(&batch);
    uint64_t seq = 0;
    int backoff_ms = 100;
    pthread_mutex_lock(&s->relay_lock);
    for (;;) {
        while (!s->relay_q.head && !s->relay_lost && !s->relay_stop)
            pthread_cond_wait(&s->relay_cond, &s->relay_lock);
        if (!s->relay_q.head && !s->relay_lost)
            break; /* the close, and everything sent */
        /* let more commits join this send */
        relay_wait(s, RELAY_GATHER_MS);
        store_event_queue_splice(&batch, &s->relay_q);
        bool lost = s->relay_lost, stopping = s->relay_stop;
        s->relay_lost = false;
        pthread_mutex_unlock(&s->relay_lock);

        int r = relay_connect(s, &c);
        if (r >= 0)
            r = relay_send(s, &c, &batch, lost, &seq, &payload);
        store_event_queue_clear(&batch);
        if (r < 0)
            relay_disconnect(s, &c);

        pthread_mutex_lock(&s->relay_lock);
        if (r >= 0) {
            backoff_ms = 100;
            continue;
        }
        s->relay_lost = true; /* those events are gone: the other nodes resync */
        if (stopping)
            break;
        relay_wait(s, backoff_ms);
        if (s->relay_stop)
            break;
        backoff_ms = backoff_ms * 2 > 5000 ? 5000 : backoff_ms * 2;
    }
    s->relay_done = true;
    pthread_cond_broadcast(&s->relay_cond);
    pthread_mutex_unlock(&s->relay_lock);
    relay_disconnect(s, &c);
    buf_release(&payload);
    return NULL;
}

/*
 * Hand committed events (already published here) to the relay, starting it
 * on first use; called in commit order. The events are moved, q is left empty.
 */
static void relay_enqueue(struct pg_store *s, struct store_event_queue *events)
{
    pthread_mutex_lock(&s->relay_lock);
    if (s->relay_stop) {
        pthread_mutex_unlock(&s->relay_lock);
        return; /* closing: too late to send */
    }
    if (!s->relaying) {
        s->relay_done = false;
        if (pthread_create(&s->relay, NULL, relay_main, s) != 0) {
            pthread_mutex_unlock(&s->relay_lock);
            return; /* the next commit tries again */
        }
        s->relaying = true;
    }
    bool was_empty = !s->relay_q.head;
    store_event_queue_splice(&s->relay_q, events);
    size_t dropped = store_event_queue_trim(&s->relay_q, RELAY_QUEUE_MAX);
    if (dropped)
        s->relay_lost = true;
    if (was_empty)
        pthread_cond_broadcast(&s->relay_cond);
    pthread_mutex_unlock(&s->relay_lock);
    /* announced here too, as on the other nodes: every client re-reads alike */
    if (dropped)
        store_events_publish(&s->base, 0, "*", RESYNC_JSON);
}

/* Flush and end the relay: it sends what is queued, within RELAY_FLUSH_MS. */
static void relay_stop(struct pg_store *s)
{
    pthread_mutex_lock(&s->relay_lock);
    if (!s->relaying) {
        pthread_mutex_unlock(&s->relay_lock);
        return;
    }
    s->relay_stop = true;
    pthread_cond_broadcast(&s->relay_cond);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += RELAY_FLUSH_MS / 1000;
    deadline.tv_nsec += (long)(RELAY_FLUSH_MS % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    while (!s->relay_done) {
        if (pthread_cond_timedwait(&s->relay_cond, &s->relay_lock, &deadline) == ETIMEDOUT) {
            if (s->relay_fd >= 0)
                shutdown(s->relay_fd, SHUT_RDWR); /* a send stuck on the network: fail it */
            break;
        }
    }
    pthread_mutex_unlock(&s->relay_lock);
    pthread_join(s->relay, NULL);
    s->relaying = false;
}

static void pg_close(struct store *st)
{
    struct pg_store *s = (struct pg_store *)st;
    relay_stop(s);
    store_event_queue_clear(&s->relay_q);
    listener_stop(s);
    for (unsigned i = 0; i < PG_POOL_SIZE; i++)
        conn_close(&s->conns[i]);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->freed);
    pthread_cond_destroy(&s->listen_cond);
    pthread_mutex_destroy(&s->order_lock);
    pthread_cond_destroy(&s->order_cond);
    pthread_mutex_destroy(&s->relay_lock);
    pthread_cond_destroy(&s->relay_cond);
    free(s->url);
    free(s);
}

static const struct store_backend_ops pg_backend = {
    .name = "postgresql",
    .close = pg_close,
    .read = pg_read,
    .write_async = pg_write_async,
    .write = pg_write,
    .read_begin = pg_read_begin,
    .read_end = pg_read_end,
    .backup = NULL, /* -ENOTSUP: use pg_dump */
    .events_start = pg_events_start,
};

/* A random id for this node's NOTIFY payloads. */
static uint64_t node_id_new(void)
{
    uint64_t id = 0;
    if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id)) {
        struct timespec now; /* no entropy yet (early boot): time and pid still differ per node */
        clock_gettime(CLOCK_REALTIME, &now);
        id = ((uint64_t)now.tv_sec << 32) ^ (uint64_t)now.tv_nsec ^ ((uint64_t)getpid() << 20);
    }
    return id;
}

static int migrate_fn(struct store_tx *tx, void *ctx)
{
    (void)ctx;
    int r = tx->conn->ops->exec(tx->conn, "SELECT pg_advisory_xact_lock(" PG_MIGRATE_LOCK ")");
    if (r < 0)
        return r;
    return store_migrate(tx, true, clock_now_ms());
}

int pg_store_open(const char *url, const struct store_options *opt, struct store **ret)
{
    if (!PQisthreadsafe())
        return -ENOTSUP;
    struct pg_store *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->base.ops = &pg_backend;
    s->url = strdup(url);
    if (!s->url) {
        free(s);
        return -ENOMEM;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->freed, NULL);
    pthread_cond_init(&s->listen_cond, NULL);
    pthread_mutex_init(&s->order_lock, NULL);
    pthread_cond_init(&s->order_cond, NULL);
    pthread_mutex_init(&s->relay_lock, NULL);
    pthread_cond_init(&s->relay_cond, NULL);
    s->relay_fd = -1;
    store_event_queue_init(&s->relay_q);
    s->node_id = node_id_new();

    /* migrations may build indexes or wait for another node's: no deadline */
    s->timeout_ms = 0;
    int r = pg_write(&s->base, migrate_fn, NULL);
    if (r < 0) {
        pg_close(&s->base);
        return r;
    }
    s->timeout_ms = opt->db_timeout_ms > 0 ? (int)opt->db_timeout_ms : PG_DB_TIMEOUT_MS;
    *ret = &s->base;
    return 0;
}
