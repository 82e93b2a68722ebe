/*
 * Internals shared by the files of src/store: the small driver vtable that
 * each backend fills (after lwan's two-backend database layer), and the
 * statement cache.
 *
 * SQL is written once, in the subset both SQLite and PostgreSQL accept,
 * with `?` placeholders (the PostgreSQL driver numbers them $1, $2 ...).
 * Each statement has an id (enum stmt_id); a connection prepares it on
 * first use and keeps it. Where PostgreSQL needs other SQL (row locks),
 * the call site writes both texts side by side with stmt_get_dialect().
 */
#ifndef ANNOTD_STORE_INT_H
#define ANNOTD_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

struct db_conn;
struct db_stmt;

enum stmt_id {
    ST_ORG_CREATE,
    ST_ORG_GET,
    ST_ORG_LIST,
    ST_USER_COUNT,
    ST_USER_CREATE,
    ST_USER_GET,
    ST_USER_GET_ORG,
    ST_USER_BY_LOGIN,
    ST_USER_LIST,
    ST_USER_LOGIN_STATE,
    ST_USER_ADMIN,
    ST_TOKEN_CREATE,
    ST_TOKEN_LOOKUP,
    ST_TOKEN_DELETE,
    ST_TOKEN_DELETE_ANY,
    ST_TOKEN_DELETE_KIND,
    ST_TOKEN_LIST,
    ST_TOKEN_PURGE,
    ST_PROJECT_CREATE,
    ST_PROJECT_GET,
    ST_PROJECT_GET_ANY,
    ST_PROJECT_LIST,
    ST_PROJECT_ADD_TASKS,
    ST_PROJECT_COUNTS_ADD,
    ST_PROJECT_COUNTS_SUM,
    ST_TASK_INSERT,
    ST_TASK_BY_KEY,
    ST_TASK_GET,
    ST_TASK_GET_ANY,
    ST_TASK_LIST,
    ST_TASK_LIST_STATE,
    ST_EXPORT_TASKS,
    ST_EXPORT_ANNOTATIONS,
    ST_AUDIT,
    /* the queue */
    ST_Q_PROJECT,
    ST_Q_HELD,
    ST_Q_CANDIDATE,
    ST_Q_LEASE,
    ST_Q_TASK_GET,
    ST_Q_TASK_UPDATE,
    ST_Q_ASSIGNMENT_GET,
    ST_Q_ASSIGNMENT_SET,
    ST_Q_ASSIGNMENT_DRAFT,
    ST_Q_ANNOTATION_INSERT,
    ST_Q_ANNOTATION_VERSION,
    ST_Q_ANNOTATION_BY_ASSIGNMENT,
    ST_Q_TASK_SLOTS,
    ST_Q_ANNOTATION_LIST,
    ST_Q_ANNOTATION_LIST_USER,
    ST_Q_LABEL_INSERT,
    ST_Q_EXPIRED,
    ST_Q_CHECK,
    ST_Q_CLAIMER,
    ST_Q_ASSIGNMENT_LOCK,
    ST_EVENT_NOTIFY, /* unused: the relay of postgres.c sends NOTIFY on its own connection */
    ST_MEDIA_INSERT, /* store_media.c */
    ST_MEDIA_LINK,
    ST_MEDIA_GET,
    ST_Q_ANNOTATION_GET, /* review: store_queue.c's side */
    ST_Q_REWORK_HELD,
    ST_Q_REWORK_DONE,
    ST_Q_REWORK_OPEN,
    ST_R_PROJECT, /* store_review.c */
    ST_R_REVIEWER,
    ST_R_HELD,
    ST_R_CANDIDATE,
    ST_R_LEASE,
    ST_R_ENQUEUE,
    ST_R_STATE_LOCK,
    ST_R_STATE_SET,
    ST_R_INSERT,
    ST_R_FIX_INSERT,
    ST_R_LIST,
    ST_R_LATEST,
    ST_R_COUNTS_ADD,
    ST_R_COUNTS_SUM,
    ST_R_ORG,
    /* novel -> storyboard (store_story.c) */
    ST_S_NOVEL_GET,
    ST_S_NOVEL_CREATE,
    ST_S_NOVEL_UPDATE,
    ST_S_CHAPTER_LIST,
    ST_S_CHAPTER_BODY,
    ST_S_CHAPTER_PUT,
    ST_S_SCENE_LIST,
    ST_S_SCENE_PUT,
    ST_S_TASK_DATA,
    ST_S_PREDICTION_ADD,
    ST_S_PREDICTION_LATEST,
    ST_S_ANNOTATION_LATEST,
    ST_S_HUMAN_DRAFT,
    ST_S_DRAFTS_REPLACE,
    ST_S_SYNC_ANNOTATION,
    ST_S_REVIEW_STATE,
    ST_S_REVIEW_SUPERSEDE,
    ST_S_FLAG_ADD,
    ST_S_FLAG_LIST,
    ST_S_FLAG_LIST_TASK,
    ST_S_FLAG_RESOLVE,
    ST_S_CHAR_LIST,
    ST_S_CHAR_CREATE,
    ST_S_CHAR_UPDATE,
    ST_S_CHAR_MERGE,
    ST_S_CHAR_DELETE,
    ST_S_CHAR_GET,
    ST_S_CHAR_COUNTS,
    ST_S_EXPORT_SCENES,
    ST_PA_ACTIVE, /* project admin: store_project.c, store_auth.c, store_review.c */
    ST_PA_LOCK,
    ST_PA_UPDATE,
    ST_PA_OVER,
    ST_PA_RESLOT,
    ST_PA_STATES,
    ST_PA_ORG_LOCK,
    ST_PA_OWNERS,
    ST_PA_USER_SET,
    ST_PA_R_RELEASE,
    ST_PA_R_FRESH,
    ST_S_PREDICTION_LIST, /* store_story.c, shot history */
    ST_J_CREATE, /* background jobs: store_jobs.c */
    ST_J_GET,
    ST_J_LIST,
    ST_J_CLAIM,
    ST_J_PROGRESS,
    ST_J_FINISH,
    ST_J_CANCEL,
    ST_J_REQUEUE,
    ST_SM_INSERT, /* generated media per shot: store_shot_media.c */
    ST_SM_GET,
    ST_SM_LIST_TASK,
    ST_SM_LIST_ACCEPTED,
    ST_SM_SUPERSEDE,
    ST_SM_REVIEW,
    ST_SM_TASK_RESULT,
    ST_Q_REWORK_OTHER, /* the prefetch: store_claim_after() in store_queue.c */
    ST_Q_HELD_OTHER,
    ST_Q_CANDIDATE_OTHER,
    /* later modules extend from here */
    ST_MAX = 192
};

struct db_ops {
    const char *name;
    bool postgres; /* which text stmt_get_dialect() prepares */
    int (*prepare)(struct db_conn *c, const char *sql, struct db_stmt **ret);
    void (*finalize)(struct db_stmt *s);
    int (*bind_int64)(struct db_stmt *s, int i, int64_t v);
    int (*bind_text)(struct db_stmt *s, int i, const char *p, size_t len); /* p NULL: SQL NULL */
    int (*bind_double)(struct db_stmt *s, int i, double v);
    /* 1: a row, 0: done, < 0: error (-ERR_CONFLICT on a unique violation) */
    int (*step)(struct db_stmt *s);
    int64_t (*col_int64)(struct db_stmt *s, int i);
    double (*col_double)(struct db_stmt *s, int i);
    const char *(*col_text)(struct db_stmt *s, int i, size_t *ret_len); /* NULL for SQL NULL */
    /* Result columns, valid once step() has run (store_copy.c: generic over columns). */
    int (*col_count)(struct db_stmt *s);
    const char *(*col_name)(struct db_stmt *s, int i); /* NULL when out of range */
    void (*reset)(struct db_stmt *s);
    int (*exec)(struct db_conn *c, const char *sql);
};

struct db_conn {
    const struct db_ops *ops;
    struct db_stmt *stmts[ST_MAX];
    void *handle; /* sqlite3 * or PGconn * */
    bool read_only;
};

struct store_tx {
    struct store *st;
    struct db_conn *conn;
    bool in_batch; /* inside a group-commit batch (savepoints in use) */
    /* where store_event() queues this op's (SQLite) or transaction's (PostgreSQL) events;
     * NULL: dropped */
    struct store_event_queue *events;
};

/* Rows a project's counts are spread over (see 0001_foundation.sql). */
#define PROJECT_COUNT_SHARDS 16

/*
 * Add deltas to a project's counts in the shard of `task_id`, then read the
 * project's totals into ret[3] (tasks, in progress, done) when ret is not NULL.
 */
int project_counts_add(struct store_tx *tx,
                       int64_t project_id,
                       int64_t task_id,
                       int64_t d_tasks,
                       int64_t d_in_progress,
                       int64_t d_done,
                       int64_t ret[3]);

/*
 * Review (store_review.c) and the queue (store_queue.c) call each other here.
 * review_enqueue(): a new human annotation enters review (and the project's
 * "to review" count); *ret_org_id, when not NULL, gets the project's org.
 * annotation_labels_insert(): the labels of a new annotation.
 * assignment_rework(): a rejected annotation's assignment goes back to its
 * author as kind "rework" (slot kept), `draft` its draft; 0 also when the
 * assignment is no longer in the submitted state.
 */
int review_enqueue(struct store_tx *tx, const struct store_annotation *an, int64_t now, int64_t *ret_org_id);
int annotation_labels_insert(struct store_tx *tx,
                             const struct store_annotation *an,
                             const struct store_label *labels,
                             size_t nlabels);
int assignment_rework(struct store_tx *tx, int64_t assignment_id, const char *draft, int64_t now);
/* The columns annotation_row() reads, in its order. */
#define ANNOTATION_COLS                                                                            \
    "id, task_id, project_id, COALESCE(assignment_id, 0), COALESCE(user_id, 0), version, source,"  \
    " result, created_at"
/* A db_row_fn: item is a struct store_annotation. */
int annotation_row(struct store_tx *tx, struct db_stmt *s, struct arena *a, void *item);
/* Add to a project's review counts in the shard of task_id (store_review.c). */
int review_counts_delta(struct store_tx *tx,
                        int64_t project_id,
                        int64_t task_id,
                        int64_t d_to_review,
                        int64_t d_reviewed,
                        int64_t d_accepted,
                        int64_t d_rejected);
/* review_queue.state: 0 pending, 1 accepted, 2 rejected, 3 fixed, 4 superseded (a sync's newer version). */
#define REVIEW_SUPERSEDED 4

/* Declare `var` as statement `id`, or return -ERR_STORE from the caller. */
#define STMT_OR_FAIL(var, tx, id, sql)                                                             \
    struct db_stmt *var = stmt_get((tx), (id), (sql));                                             \
    if (!var)                                                                                      \
        return -ERR_STORE

/* Prepared statement `id` on the tx's connection (prepared on first use). */
struct db_stmt *stmt_get(struct store_tx *tx, enum stmt_id id, const char *sql);
/* The same, with the SQL of the tx's backend: sqlite_sql or pg_sql. */
struct db_stmt *stmt_get_dialect(struct store_tx *tx,
                                 enum stmt_id id,
                                 const char *sqlite_sql,
                                 const char *pg_sql);
void db_conn_finalize_all(struct db_conn *c);

/* Helpers over the vtable; all take a statement from stmt_get(). */
static inline int db_bind_int64(struct store_tx *tx, struct db_stmt *s, int i, int64_t v)
{
    return tx->conn->ops->bind_int64(s, i, v);
}
int db_bind_text(struct store_tx *tx, struct db_stmt *s, int i, const char *p); /* NULL: SQL NULL */
static inline int db_bind_textn(struct store_tx *tx, struct db_stmt *s, int i, const char *p, size_t n)
{
    return tx->conn->ops->bind_text(s, i, p, n);
}
static inline int db_step(struct store_tx *tx, struct db_stmt *s)
{
    return tx->conn->ops->step(s);
}
static inline int64_t db_int64(struct store_tx *tx, struct db_stmt *s, int i)
{
    return tx->conn->ops->col_int64(s, i);
}
/* Column as a string copied into the arena; NULL for SQL NULL. */
char *db_text(struct store_tx *tx, struct db_stmt *s, int i, struct arena *a);
static inline const char *db_text_ref(struct store_tx *tx, struct db_stmt *s, int i, size_t *len)
{
    return tx->conn->ops->col_text(s, i, len);
}
static inline void db_reset(struct store_tx *tx, struct db_stmt *s)
{
    tx->conn->ops->reset(s);
}

/* Run a statement expected to return no rows or to be ignored; resets it. */
int db_run(struct store_tx *tx, struct db_stmt *s);

/* Read the current row of s into *item (strings in a): 0, or a negative error. */
typedef int db_row_fn(struct store_tx *tx, struct db_stmt *s, struct arena *a, void *item);

/*
 * The rows of a bound statement, each read by row() into an array of
 * row_size items in the arena; resets the statement. limit >= 0: at most
 * limit rows, in limit + 1 zeroed items allocated up front; limit < 0:
 * every row, in an array that grows (NULL when there are none).
 * ret is the caller's T ** (row_size == sizeof(T)). Returns 0 with *ret
 * and *ret_n written, -ENOMEM when the arena is exhausted, or the error
 * of a step or of row().
 */
int db_collect(struct store_tx *tx,
               struct db_stmt *s,
               int limit,
               struct arena *a,
               size_t row_size,
               db_row_fn *row,
               void *ret,
               int *ret_n);

/* Migrations, embedded at build time: see migrations/ and scripts/embed_sql.py. */
struct migration {
    int version;
    const char *name;
    const char *sql;
};
extern const struct migration store_migrations[];
extern const size_t store_migrations_count;

/*
 * Rewrite dialect markers in a migration for a backend:
 * {{ID}} -> an auto-increment 64-bit primary key, {{BLOB}} -> a byte string type.
 * Returns a malloc'd string or NULL.
 */
char *migration_render(const char *sql, bool postgres);
int store_migrate(struct store_tx *tx, bool postgres, int64_t now);

/* Backends. */
int sqlite_store_open(const char *path, const struct store_options *opt, struct store **ret);
#ifdef HAVE_LIBPQ
int pg_store_open(const char *url, const struct store_options *opt, struct store **ret);
#endif

/* The backend's methods behind the public store_* calls. */
struct store_backend_ops {
    const char *name;
    void (*close)(struct store *st);
    int (*read)(struct store *st, store_fn fn, void *ctx);
    int (*write_async)(struct store *st, store_fn fn, void *ctx, store_done_fn done);
    int (*write)(struct store *st, store_fn fn, void *ctx);
    int (*read_begin)(struct store *st, struct store_tx **ret);
    void (*read_end)(struct store_tx *tx);
    int (*backup)(struct store *st, const char *out_path);
    /* Start cross-node event delivery on the first store_subscribe(); NULL: none needed. */
    int (*events_start)(struct store *st);
};

struct store {
    const struct store_backend_ops *ops;
    struct store_events *events; /* subscribers (store_events.c) */
};

/* ---- events (store_events.c) ---- */

struct store_event_item;
/* Events of one op or one batch, in the order they were queued. */
struct store_event_queue {
    struct store_event_item *head, **tail;
    size_t n;
};

void store_event_queue_init(struct store_event_queue *q);
/* Move every event of src to the end of dst; src is left empty. */
void store_event_queue_splice(struct store_event_queue *dst, struct store_event_queue *src);
/* Drop the events (rolled back). */
void store_event_queue_clear(struct store_event_queue *q);
/* Append a copy of an event. 0 or -ENOMEM. */
int store_event_queue_push(struct store_event_queue *q,
                           int64_t org_id,
                           const char *topic,
                           const char *json);
/* Drop the oldest events until at most max are left; returns how many went. */
size_t store_event_queue_trim(struct store_event_queue *q, size_t max);
/* Hand the events to the subscribers (committed), then clear the queue. */
void store_events_deliver(struct store *st, struct store_event_queue *q);
/* The same without clearing it (PostgreSQL: the relay sends them on). */
void store_events_publish_queue(struct store *st, const struct store_event_queue *q);
/* Hand one event to the subscribers (the PostgreSQL listener). */
void store_events_publish(struct store *st, int64_t org_id, const char *topic, const char *json);
/*
 * NOTIFY payloads (PostgreSQL, under its 8000-byte limit): a head line
 * "N:NODE SEQ" (the sending node's id in 16 hex digits, a number that
 * keeps payloads distinct: PostgreSQL folds identical ones of a
 * transaction), then one line "ORG TOPIC JSON" per event.
 * store_events_payload() appends one event line; a JSON too large for a
 * payload is replaced by a resync marker, newlines in JSON white space by
 * spaces. store_events_pack() writes one payload of as many events from
 * the head of q as fit, and removes those from q.
 * store_events_parse_head() checks the head line and finds the first
 * event; store_events_parse() reads the event at *cursor, NUL-terminating
 * its topic and JSON in place, and moves *cursor to the next: 1, 0 at the
 * end, or -EINVAL. Errors of the writers: the buf's sticky error.
 */
#define STORE_EVENT_PAYLOAD_MAX 7900
#define STORE_EVENT_LINE_MAX    (STORE_EVENT_PAYLOAD_MAX - 64)
int store_events_payload(struct buf *out, int64_t org_id, const char *topic, const char *json);
int store_events_pack(struct buf *out, uint64_t node, uint64_t seq, struct store_event_queue *q);
int store_events_parse_head(char *payload, uint64_t *ret_node, char **ret_events);
int store_events_parse(char **cursor,
                       int64_t *ret_org,
                       const char **ret_topic,
                       const char **ret_json);
int store_events_init(struct store *st);
void store_events_free(struct store_events *ev);

#endif
