/*
 * store: the one storage interface, two backends (SQLite, PostgreSQL).
 *
 * DESIGN
 * Callers see transactions, never connections or SQL. A unit of work is a
 * function `fn(tx, ctx)` that calls the typed store_* functions below on
 * `tx`; the store runs it inside a transaction:
 *
 *   store_read()        on a read-only connection, one consistent snapshot;
 *   store_write()       in a write transaction, synchronously;
 *   store_write_async() queued for the writer, `done(ctx, r)` called once
 *                       it is durable (r >= 0) or rolled back (r < 0).
 *
 * SQLite: one writer thread owns the only write connection and drains the
 * queue in batches: BEGIN IMMEDIATE, each op under its own SAVEPOINT (a
 * failing op rolls back alone), COMMIT with synchronous=FULL, then every
 * completion. Many requests share one fsync (group commit, see
 * MEASUREMENTS.md). store_write() is store_write_async() plus a wait.
 * PostgreSQL: each call takes a pooled connection and runs its own
 * transaction on the caller's thread; done() is called before
 * store_write_async() returns.
 *
 * fn returns >= 0 to commit (the value is handed to done / returned) or a
 * negative error to roll back. Strings a typed function returns live in the
 * arena it was given. Times are int64 ms since the epoch.
 */
#ifndef ANNOTD_STORE_H
#define ANNOTD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"

struct store;
struct store_tx;

struct store_options {
    const char *url;   /* "sqlite:PATH", a plain path, or "postgresql://..." */
    unsigned readers;  /* read connections (default 4) */
    unsigned max_batch; /* SQLite: most ops per group commit (default 256) */
    /*
     * PostgreSQL: each statement's deadline in ms (default 30000). A
     * statement past it fails with -ERR_UNAVAILABLE, its connection is
     * dropped (a transaction it was in rolls back) and the statement
     * cancelled; the connection attempt gets as long (2 to 5 s).
     */
    unsigned db_timeout_ms;
};

/* Open (creating if needed) and migrate. -ERR_UNAVAILABLE when unreachable. */
int store_open(const struct store_options *opt, struct store **ret);
/* Drain the writer queue, stop the writer, close every connection. NULL ok. */
void store_close(struct store *st);
/* "sqlite" or "postgresql". */
const char *store_backend(const struct store *st);
/* Online backup of an SQLite store into a new file. */
int store_backup(struct store *st, const char *out_path);

typedef int (*store_fn)(struct store_tx *tx, void *ctx);
typedef void (*store_done_fn)(void *ctx, int result);

int store_read(struct store *st, store_fn fn, void *ctx);
int store_write(struct store *st, store_fn fn, void *ctx);
int store_write_async(struct store *st, store_fn fn, void *ctx, store_done_fn done);

/* A read transaction held open across calls (streamed exports). */
int store_read_begin(struct store *st, struct store_tx **ret);
void store_read_end(struct store_tx *tx);

/* ------------------------------------------------------------------ */
/* events: the one path of every live update                          */

/*
 * DESIGN (store_events.c). A unit of work announces a change with
 * store_event(); the event reaches the subscribers only if and after its
 * transaction commits, in commit order per node.
 * SQLite: events are collected per op; an op rolled back to its savepoint
 * drops its own; the writer delivers the batch's events in-process right
 * after COMMIT, before the completions run.
 * PostgreSQL: events are collected on the transaction (a retried one
 * collects afresh) and, after COMMIT, delivered to the local subscribers
 * in commit order, then sent to the other nodes by a relay thread
 * (batched NOTIFY outside the write transactions, up to ~20 ms later);
 * one LISTEN connection per node (a thread, started by the first
 * store_subscribe(), reconnecting with backoff) hands the other nodes'
 * events to the local subscribers. A JSON too large for NOTIFY (8000
 * bytes) is replaced by {"type":"resync","truncated":true}: events are
 * small notices, clients re-read the state.
 */

/*
 * An event as the subscribers get it. `json` is an object whose first key
 * is "type" by convention ({"type":"task",...}); `topic` is short
 * ([a-z0-9._-], e.g. "project.12"). Both live only during the call.
 * One special event: org_id 0, topic "*", {"type":"resync"}: events may
 * have been lost (the PostgreSQL listener reconnected); every client
 * should re-read what it shows.
 */
struct store_event {
    int64_t org_id;
    const char *topic;
    const char *json;
};

/*
 * Called on the writer (SQLite), or the committing or listener (PostgreSQL)
 * thread for every committed event, one at a time: must be quick and must
 * not call back into the store.
 */
typedef void (*store_event_fn)(void *ctx, const struct store_event *ev);

/*
 * Queue an event in a write transaction. Returns 0 (also when nobody can
 * receive it, e.g. during migrations), -EINVAL for a bad topic, -EROFS on
 * a read transaction, or a store error (PostgreSQL).
 */
int store_event(struct store_tx *tx, int64_t org_id, const char *topic, const char *json);

/* Add a subscriber (at most 16). 0, -ENOSPC, or the listener's start error. */
int store_subscribe(struct store *st, store_event_fn fn, void *ctx);
/* Remove it; once this returns, fn is not running and will not run again. */
void store_unsubscribe(struct store *st, store_event_fn fn, void *ctx);

/* ------------------------------------------------------------------ */
/* orgs, users, tokens                                                 */

struct store_org {
    int64_t id;
    const char *name;
    int64_t created_at;
};

struct store_user {
    int64_t id;
    int64_t org_id;
    const char *org_name;
    const char *login;
    const char *name;
    const char *role;
    bool is_admin;
    const char *password_hash;
    int failed_logins;
    int64_t locked_until;
    int64_t created_at;
};

struct store_token {
    int64_t id;
    int64_t user_id;
    const char *kind; /* "session", "api", "local" */
    const char *name;
    const char *csrf_hash;
    int64_t created_at;
    int64_t expires_at; /* 0: never */
};

/* Returns the new id, -ERR_CONFLICT when the name is taken. */
int store_org_create(struct store_tx *tx, const char *name, int64_t now, int64_t *ret_id);
int store_org_get(struct store_tx *tx, int64_t id, struct arena *a, struct store_org *ret);
int store_org_list(struct store_tx *tx,
                   int64_t after,
                   int limit,
                   struct arena *a,
                   struct store_org **ret,
                   int *ret_n);
/* Number of users on the platform (to know whether init ran). */
int store_user_count(struct store_tx *tx, int64_t *ret);

/* u->id is ignored; -ERR_CONFLICT when the login is taken. */
int store_user_create(struct store_tx *tx, const struct store_user *u, int64_t *ret_id);
/* -ERR_NOT_FOUND when absent. org_id 0 means any org. */
int store_user_get(struct store_tx *tx,
                   int64_t org_id,
                   int64_t id,
                   struct arena *a,
                   struct store_user *ret);
int store_user_by_login(struct store_tx *tx, const char *login, struct arena *a, struct store_user *ret);
int store_user_list(struct store_tx *tx,
                    int64_t org_id,
                    int64_t after,
                    int limit,
                    struct arena *a,
                    struct store_user **ret,
                    int *ret_n);
/* The platform admin with the lowest id; -ERR_NOT_FOUND when none. */
int store_user_admin(struct store_tx *tx, struct arena *a, struct store_user *ret);
int store_user_set_login_state(struct store_tx *tx, int64_t id, int failed, int64_t locked_until);

/*
 * Change user `id` of `org_id`: role and/or name (NULL: unchanged), with an
 * audit row by `by_user`. `seen_role` is the role the caller's checks of
 * who may grant what were made on. The org's role changes run one at a
 * time (the org's row is locked on PostgreSQL). Returns 0; -ERR_NOT_FOUND;
 * -ERR_CONFLICT when the org would be left without an owner, or when the
 * user's role is no longer `seen_role`.
 */
int store_user_update(struct store_tx *tx,
                      int64_t org_id,
                      int64_t id,
                      const char *seen_role,
                      const char *role,
                      const char *name,
                      int64_t by_user,
                      int64_t now);

int store_token_create(struct store_tx *tx, const struct store_token *t, const char *hash, int64_t *ret_id);
/* The live token with this hash and its user; -ERR_NOT_FOUND when absent or expired. */
int store_token_lookup(struct store_tx *tx,
                       const char *hash,
                       int64_t now,
                       struct arena *a,
                       struct store_token *ret_token,
                       struct store_user *ret_user);
/* Delete token `id` of `user_id` (0: any user). -ERR_NOT_FOUND when absent. */
int store_token_delete(struct store_tx *tx, int64_t user_id, int64_t id);
/* Delete every token of `kind` named `name` (a node's earlier local admin tokens). */
int store_token_delete_named(struct store_tx *tx, const char *kind, const char *name);
int store_token_list(struct store_tx *tx,
                     int64_t user_id,
                     const char *kind,
                     struct arena *a,
                     struct store_token **ret,
                     int *ret_n);
int store_token_purge(struct store_tx *tx, int64_t now);

/* ------------------------------------------------------------------ */
/* projects, tasks                                                     */

struct store_project {
    int64_t id;
    int64_t org_id;
    const char *name;
    const char *kind;
    const char *config; /* JSON text */
    int overlap;
    int lease_seconds;
    int64_t created_by;
    int64_t created_at;
    int64_t n_tasks;
    int64_t n_in_progress;
    int64_t n_done;
    /* review progress (store_review.c): waiting, reviewed, accepted (fixes included), rejected */
    int64_t n_to_review;
    int64_t n_reviewed;
    int64_t n_accepted;
    int64_t n_rejected;
    /* users holding a live lease: filled by store_project_active() (project_get), else 0 */
    int64_t n_active;
};

enum task_state { TASK_OPEN = 0, TASK_IN_PROGRESS = 1, TASK_DONE = 2 };

struct store_task {
    int64_t id;
    int64_t project_id;
    const char *key;  /* NULL when none */
    const char *data; /* JSON text */
    int64_t priority;
    int state;
    int n_leased;
    int n_submitted;
    int64_t created_at;
};

int store_project_create(struct store_tx *tx, const struct store_project *p, int64_t *ret_id);
/* Scoped by org (0: any). -ERR_NOT_FOUND when absent or in another org. */
int store_project_get(struct store_tx *tx,
                      int64_t org_id,
                      int64_t id,
                      struct arena *a,
                      struct store_project *ret);
int store_project_list(struct store_tx *tx,
                       int64_t org_id,
                       int64_t after,
                       int limit,
                       struct arena *a,
                       struct store_project **ret,
                       int *ret_n);
/* Add n new tasks (the last one `last_task_id`, which picks the counter shard) to the project's count. */
int store_project_add_tasks(struct store_tx *tx, int64_t project_id, int64_t last_task_id, int64_t n);

/*
 * Active annotators of a project: distinct users holding a live lease
 * (state leased, lease_until > now). O(live leases of the project): the
 * partial index assignments_project_live (0005).
 */
int store_project_active(struct store_tx *tx, int64_t project_id, int64_t now, int64_t *ret_n);

/* Changed settings of a project; NULL / 0 fields stay as they are. */
struct store_project_patch {
    const char *name;
    const char *config; /* JSON text, already checked for the project's kind */
    int overlap;        /* 1..PROJECT_OVERLAP_MAX, 0: unchanged */
    int lease_seconds;  /* 0: unchanged */
};

/*
 * Apply `patch` to project `id` of `org_id` (0: any), by `user_id`, with an
 * audit row and a {"type":"project","action":"updated"} event on
 * "projects" and "project.<id>". A new overlap recomputes every task's
 * open_slots and state, and the project's counts, in the same transaction
 * (PostgreSQL: under a SHARE ROW EXCLUSIVE lock of tasks, so no claim or
 * submit runs with the old overlap meanwhile). Returns 0;
 * -ERR_NOT_FOUND; -ERR_CONFLICT when some task holds more live leases +
 * submissions than the new overlap (*ret_blocking: how many tasks; nothing
 * changes).
 */
int store_project_update(struct store_tx *tx,
                         int64_t org_id,
                         int64_t id,
                         int64_t user_id,
                         const struct store_project_patch *patch,
                         int64_t now,
                         int64_t *ret_blocking);

/*
 * Insert a task unless `key` exists in the project. Returns 1 (created,
 * *ret_id new) or 0 (existed, *ret_id the existing one). `overlap` is the
 * project's. The caller adds the created count with store_project_add_tasks().
 */
int store_task_insert(struct store_tx *tx,
                      int64_t project_id,
                      int overlap,
                      const char *key,
                      struct str data,
                      int64_t priority,
                      int64_t now,
                      int64_t *ret_id);
/* The id of the task with `key` in the project; -ERR_NOT_FOUND when none. */
int store_task_find_key(struct store_tx *tx, int64_t project_id, const char *key, int64_t *ret_id);
/* Scoped by org through the project (0: any). */
int store_task_get(struct store_tx *tx,
                   int64_t org_id,
                   int64_t id,
                   struct arena *a,
                   struct store_task *ret);
/* state < 0: any state. */
int store_task_list(struct store_tx *tx,
                    int64_t project_id,
                    int state,
                    int64_t after,
                    int limit,
                    struct arena *a,
                    struct store_task **ret,
                    int *ret_n);

/* ------------------------------------------------------------------ */
/* annotations                                                         */

struct store_annotation {
    int64_t id;
    int64_t task_id;
    int64_t project_id;
    int64_t assignment_id; /* 0: none */
    int64_t user_id;       /* 0: none (model, consensus) */
    int version;
    const char *source; /* "human", "model", "consensus" */
    const char *result; /* JSON text */
    int64_t created_at;
};

/* ------------------------------------------------------------------ */
/* the queue: assignments and annotations                             */

struct store_assignment {
    int64_t id;
    int64_t task_id;
    int64_t project_id;
    int64_t user_id;
    const char *kind;  /* "normal", "rework", "gold" */
    const char *state; /* "leased", "submitted", "skipped", "released", "expired" */
    int64_t lease_until;
    const char *draft; /* JSON text or NULL */
    int64_t created_at;
    int64_t updated_at;
};

/*
 * Lease the next eligible task of the project to the user: a rework of
 * the user's (a rejected annotation, see "review") if any, else the user's
 * live lease if it has one (extended), else the open task of highest
 * priority, then lowest id, that the user has not submitted or skipped.
 * Returns 1 with *ret_a and *ret_t, 0 when nothing is left for this user,
 * or a negative error. The task's slot leaves the open set in the same
 * transaction.
 */
int store_claim(struct store_tx *tx,
                int64_t org_id,
                int64_t project_id,
                int64_t user_id,
                int64_t now,
                struct arena *a,
                struct store_assignment *ret_a,
                struct store_task *ret_t);

/*
 * store_claim() looking past the caller's live lease `after` (the prefetch;
 * 0: store_claim() itself): a rework of the user's other than `after`, else
 * the user's live lease other than `after` (extended), else a new lease as
 * store_claim() takes it, passing over the task of `after`. So a user holds
 * at most two live normal leases. `after` must be a live lease of the user
 * in the project, checked under the user's lock before anything is written:
 * -ERR_NOT_FOUND when it is not the user's (or does not exist),
 * -ERR_CONFLICT when it is in another project or no longer leased.
 * Returns as store_claim().
 */
int store_claim_after(struct store_tx *tx,
                      int64_t org_id,
                      int64_t project_id,
                      int64_t user_id,
                      int64_t after,
                      int64_t now,
                      struct arena *a,
                      struct store_assignment *ret_a,
                      struct store_task *ret_t);

/* The assignment `id` of `user_id` (0: any user); -ERR_NOT_FOUND otherwise. */
int store_assignment_get(struct store_tx *tx,
                         int64_t user_id,
                         int64_t id,
                         struct arena *a,
                         struct store_assignment *ret);

struct store_label {
    const char *field;
    const char *label;
    const char *value;
};

/*
 * Submit a result for an assignment of `user_id`. Returns 0 with the new
 * annotation in *ret; -ERR_NOT_FOUND (no such assignment of this user);
 * -ERR_CONFLICT when it was submitted already (*ret is that annotation) or
 * when the lease is gone and the task has no free slot left.
 */
int store_submit(struct store_tx *tx,
                 int64_t user_id,
                 int64_t assignment_id,
                 struct str result,
                 const struct store_label *labels,
                 size_t nlabels,
                 int64_t now,
                 struct arena *a,
                 struct store_annotation *ret);

/* End a lease: state "skipped" or "released". -ERR_CONFLICT when not leased. */
int store_lease_end(struct store_tx *tx,
                    int64_t user_id,
                    int64_t assignment_id,
                    const char *state,
                    int64_t now,
                    struct arena *a,
                    struct store_assignment *ret);

/* Extend a live lease by the project's lease_seconds. -ERR_CONFLICT when not leased. */
int store_heartbeat(struct store_tx *tx,
                    int64_t user_id,
                    int64_t assignment_id,
                    int64_t now,
                    struct arena *a,
                    struct store_assignment *ret);

/* Store a draft (JSON text) on a leased assignment. -ERR_CONFLICT when not leased. */
int store_draft(struct store_tx *tx,
                int64_t user_id,
                int64_t assignment_id,
                struct str draft,
                int64_t now,
                struct arena *a,
                struct store_assignment *ret);

/* Return expired leases to the pool; *ret_n is how many. */
int store_reap(struct store_tx *tx, int64_t now, int max, int *ret_n);

/* Annotations of a task (user_id != 0: only that user's), oldest first. */
int store_annotation_list(struct store_tx *tx,
                          int64_t task_id,
                          int64_t user_id,
                          int64_t after,
                          int limit,
                          struct arena *a,
                          struct store_annotation **ret,
                          int *ret_n);

/*
 * Invariant check for tests and `annotd check`: the number of tasks whose
 * live leases + submissions exceed the overlap, or whose counters disagree
 * with their assignments.
 */
int store_check_queue(struct store_tx *tx, int64_t project_id, int64_t *ret_bad);

/* The annotation `id` of a project of `org_id` (0: any); -ERR_NOT_FOUND otherwise. */
int store_annotation_get(struct store_tx *tx,
                         int64_t org_id,
                         int64_t id,
                         struct arena *a,
                         struct store_annotation *ret);

/* ------------------------------------------------------------------ */
/* review (store_review.c)                                             */

/*
 * DESIGN (store_review.c). Every human annotation enters review when it
 * is submitted: a row of review_queue, state pending, in the partial
 * index of pending annotations (review_open), so review/next never scans
 * reviewed ones. review/next leases one to a reviewer (reviewer_id,
 * lease_until = now + the project's lease_seconds; PostgreSQL: the
 * candidate's row lock with SKIP LOCKED), so two reviewers asking at
 * once get different annotations; a reviewer gets their live review
 * lease back first, and never their own annotations. A verdict ends the
 * lease: accept; fix (the reviewer's result becomes version N+1 of the
 * annotation, source "review", user the reviewer; counts as accepted);
 * reject (the author's assignment comes back to them as kind "rework",
 * its slot still taken, the rejected result as its draft; the author's
 * next claim in the project returns it first, and its submit is a new
 * version that enters review again, the assignment kind "normal" again).
 * The project's review counts move in the task's count shard in the same
 * transaction. Events on "project.<id>": {"type":"review",...}.
 */

enum review_state { REVIEW_PENDING = 0, REVIEW_ACCEPTED = 1, REVIEW_REJECTED = 2, REVIEW_FIXED = 3 };

struct store_review {
    int64_t id;
    int64_t annotation_id; /* the annotation reviewed */
    int64_t task_id;
    int64_t project_id;
    int64_t reviewer_id;
    const char *verdict; /* "accept", "reject", "fix" */
    const char *comment; /* "" when none */
    const char *result;  /* fix: the fixed result (JSON text); NULL otherwise */
    int64_t fixed_annotation_id; /* fix: the new version; 0 otherwise */
    int64_t created_at;
};

/*
 * Lease the next annotation of the project awaiting review to `reviewer`:
 * the reviewer's live review lease (extended) if any, else the oldest
 * pending annotation not leased to another reviewer and not the
 * reviewer's own. Returns 1 with *ret_an and *ret_t, 0 when none is left,
 * -ERR_NOT_FOUND when the project is not in the org.
 */
int store_review_next(struct store_tx *tx,
                      int64_t org_id,
                      int64_t project_id,
                      int64_t reviewer_id,
                      int64_t now,
                      struct arena *a,
                      struct store_annotation *ret_an,
                      struct store_task *ret_t);

/*
 * Record a verdict on annotation `annotation_id`. `result` and `labels`
 * (the fixed result, already validated) only with "fix". Returns 0 with
 * *ret (and, for a fix, the new version in *ret_fixed); -ERR_NOT_FOUND
 * (not in the org), -ERR_FORBIDDEN (the reviewer's own annotation),
 * -ERR_CONFLICT (reviewed already, not in review, or leased to another
 * reviewer).
 */
int store_review_add(struct store_tx *tx,
                     int64_t org_id,
                     int64_t reviewer_id,
                     int64_t annotation_id,
                     const char *verdict,
                     const char *comment,
                     struct str result,
                     const struct store_label *labels,
                     size_t nlabels,
                     int64_t now,
                     struct arena *a,
                     struct store_review *ret,
                     struct store_annotation *ret_fixed);

/*
 * Hand back the review lease `reviewer_id` holds on annotation
 * `annotation_id`: it is offered again at once, to other reviewers first
 * (review/next gives the releasing reviewer their other candidates before
 * it). Returns 0; -ERR_NOT_FOUND (not in the org); -ERR_CONFLICT when the
 * reviewer holds no live lease on it.
 */
int store_review_release(struct store_tx *tx,
                         int64_t org_id,
                         int64_t reviewer_id,
                         int64_t annotation_id,
                         int64_t now);

/* Reviews of an annotation, oldest first (the caller checked access). */
int store_review_list(struct store_tx *tx,
                      int64_t annotation_id,
                      int64_t after,
                      int limit,
                      struct arena *a,
                      struct store_review **ret,
                      int *ret_n);

/* The latest review of the annotations of assignment `assignment_id` (on task
 * `task_id`): what a rework shows its author. -ERR_NOT_FOUND when none. */
int store_assignment_review(struct store_tx *tx,
                            int64_t task_id,
                            int64_t assignment_id,
                            struct arena *a,
                            struct store_review *ret);

/* ------------------------------------------------------------------ */
/* export                                                              */

/*
 * Stream tasks of a project with their annotations, by task id, from the
 * read transaction `tx` (store_read_begin). Each call appends up to
 * `max_tasks` JSON Lines ({"task":...,"annotations":[...]}) to `out`,
 * advancing *cursor (start at 0). Returns 1 when more may follow, 0 at the
 * end, or a negative error.
 */
int store_export_jsonl(struct store_tx *tx,
                       int64_t project_id,
                       int64_t *cursor,
                       int max_tasks,
                       struct buf *out);

/* ------------------------------------------------------------------ */
/* novel -> storyboard (store_story.c; 0004_story.sql)                 */

struct store_novel {
    int64_t id;
    int64_t project_id;
    int64_t org_id;
    const char *title; /* NULL when unknown */
    const char *encoding;
    const char *converted; /* "t2s" or NULL */
    int revision;          /* imports so far */
    int64_t created_at;
    int64_t updated_at;
};

struct store_chapter {
    int64_t novel_id;
    int idx; /* 1-based position in the novel */
    const char *ckey;
    const char *title;
    const char *volume; /* NULL when none */
    const char *hash;   /* sha256 hex of body */
    int64_t chars;
    int64_t utterances;
    const char *body; /* NULL unless asked for */
    int revision;     /* the import that last wrote it */
    int64_t updated_at;
};

struct store_scene {
    int64_t task_id;
    int chapter_idx;
    int scene; /* the task's data.scene (stable) */
    int ord;   /* position in the chapter */
    const char *hash;
    bool removed;
};

/* -ERR_NOT_FOUND when the project has no novel yet. */
int store_novel_get(struct store_tx *tx, int64_t project_id, struct arena *a, struct store_novel *ret);
int store_novel_create(struct store_tx *tx, const struct store_novel *n, int64_t *ret_id);
int store_novel_update(struct store_tx *tx, const struct store_novel *n);

/* Chapters in order; bodies only when with_body. */
int store_chapter_list(struct store_tx *tx,
                       int64_t novel_id,
                       bool with_body,
                       struct arena *a,
                       struct store_chapter **ret,
                       int *ret_n);
/* Insert or replace chapter (novel_id, idx). */
int store_chapter_put(struct store_tx *tx, const struct store_chapter *c, int64_t now);

/* Scenes of one chapter (chapter_idx > 0) or of the novel (0), in order. */
int store_scene_list(struct store_tx *tx,
                     int64_t novel_id,
                     int chapter_idx,
                     struct arena *a,
                     struct store_scene **ret,
                     int *ret_n);
/* Insert or replace the scene row of s->task_id. */
int store_scene_put(struct store_tx *tx, int64_t novel_id, const struct store_scene *s);

/* Replace a task's data (a scene whose text a sync changed). */
int store_task_set_data(struct store_tx *tx, int64_t task_id, const char *data);

/* Machine results: append one; the latest one's result (NULL when none). */
int store_prediction_add(struct store_tx *tx,
                         int64_t task_id,
                         int64_t project_id,
                         const char *model,
                         const char *model_version,
                         const char *result,
                         int64_t now);
int store_prediction_latest(struct store_tx *tx, int64_t task_id, struct arena *a, char **ret);

struct store_prediction {
    int64_t id;
    const char *model;
    const char *model_version;
    const char *result;
    int64_t created_at;
};
/* Every prediction of a task, oldest first (at most limit). */
int store_prediction_list(struct store_tx *tx,
                          int64_t task_id,
                          int limit,
                          struct arena *a,
                          struct store_prediction **ret,
                          int *ret_n);

/* The task's newest annotation: 1 (found, *ret filled) or 0 (none). */
int store_annotation_latest(struct store_tx *tx,
                            int64_t task_id,
                            struct arena *a,
                            struct store_annotation *ret);
/* A draft of the task that differs from `prediction` (human work in
 * progress): 1 (*ret the newest such draft) or 0. */
int store_task_human_draft(struct store_tx *tx,
                           int64_t task_id,
                           const char *prediction,
                           struct arena *a,
                           char **ret);
/* Live leases of the task whose draft is still `old` get `draft`. */
int store_task_drafts_replace(struct store_tx *tx, int64_t task_id, const char *old, const char *draft);

/*
 * A sync's new version of human work `prev` (its task's text changed):
 * annotation version prev->version + 1, source "sync", same author,
 * `result`. Review: when `flagged`, or when prev was waiting for review,
 * the new version waits for review (prev's pending row is superseded);
 * otherwise it carries prev's verdict. *ret gets the new annotation.
 */
int store_annotation_sync(struct store_tx *tx,
                          const struct store_annotation *prev,
                          const char *result,
                          bool flagged,
                          int64_t now,
                          struct arena *a,
                          struct store_annotation *ret);

struct store_flag {
    int64_t id;
    int64_t project_id;
    int64_t task_id;
    const char *shot_id;
    const char *reason; /* "source_changed" | "source_gone" | "scene_removed" */
    const char *old_text;
    const char *new_text;
    const char *diff;
    int64_t created_at;
    int64_t resolved_at; /* 0: open */
    int64_t resolved_by;
};

int store_flag_add(struct store_tx *tx, const struct store_flag *f);
/* A project's flags (task_id 0) or one task's, newest first; open_only skips resolved ones. */
int store_flag_list(struct store_tx *tx,
                    int64_t project_id,
                    int64_t task_id,
                    bool open_only,
                    int limit,
                    struct arena *a,
                    struct store_flag **ret,
                    int *ret_n);
/* Resolve flag `id` of a project of org_id; -ERR_NOT_FOUND otherwise. */
int store_flag_resolve(struct store_tx *tx, int64_t org_id, int64_t id, int64_t user_id, int64_t now);

struct store_character {
    int64_t id;
    int64_t project_id;
    const char *name;
    const char *aliases; /* JSON array text */
    const char *sheet;   /* JSON object text */
    int64_t lines;
    int64_t mentions;
    int64_t merged_into; /* 0: none */
    const char *source;  /* "machine" | "human" */
    int64_t created_at;
    int64_t updated_at;
};

int store_character_list(struct store_tx *tx,
                         int64_t project_id,
                         struct arena *a,
                         struct store_character **ret,
                         int *ret_n);
int store_character_get(struct store_tx *tx,
                        int64_t project_id,
                        int64_t id,
                        struct arena *a,
                        struct store_character *ret);
int store_character_create(struct store_tx *tx, const struct store_character *c, int64_t *ret_id);
/* Replace name, aliases, sheet (all given) and mark it human-edited. */
int store_character_update(struct store_tx *tx, const struct store_character *c, int64_t now);
/* Machine counts of a character (a sync's roster pass). */
int store_character_counts(struct store_tx *tx, int64_t id, int64_t lines, int64_t mentions, int64_t now);
int store_character_merge(struct store_tx *tx, int64_t project_id, int64_t id, int64_t into, int64_t now);
int store_character_delete(struct store_tx *tx, int64_t project_id, int64_t id);

/* One scene of a storyboard export: its task, latest result and status. */
struct store_export_scene {
    int64_t task_id;
    int chapter_idx;
    int ord;
    const char *data;   /* the task's data */
    const char *result; /* latest annotation, else live draft, else prediction; NULL: none */
    const char *status; /* "draft" | "submitted" | "accepted" | "rejected" */
};
/* Call fn for every scene of the novel, in chapter and scene order. */
int store_story_export_scenes(struct store_tx *tx,
                              int64_t novel_id,
                              int (*fn)(void *ctx, const struct store_export_scene *s),
                              void *ctx);

/* ------------------------------------------------------------------ */
/* background jobs (store_jobs.c; 0006_jobs.sql)                       */

struct store_job {
    int64_t id;
    int64_t org_id;
    int64_t project_id; /* 0: none */
    const char *kind;   /* "story.llm_draft" ... */
    const char *state;  /* queued | running | done | failed | cancelled */
    const char *params; /* JSON text */
    const char *result; /* JSON text or NULL */
    const char *error;  /* NULL unless failed */
    int64_t done, total;
    bool cancel;
    int attempts;
    int64_t created_by;
    int64_t created_at, started_at, finished_at; /* 0: not yet */
};

/* Queue a job (in the caller's transaction: it exists iff that commits). */
int store_job_create(struct store_tx *tx, const struct store_job *j, int64_t now, int64_t *ret_id);
/* Scoped by org (0: any); -ERR_NOT_FOUND otherwise. */
int store_job_get(struct store_tx *tx, int64_t org_id, int64_t id, struct arena *a, struct store_job *ret);
/* A project's jobs, newest first. */
int store_job_list(struct store_tx *tx,
                   int64_t project_id,
                   int limit,
                   struct arena *a,
                   struct store_job **ret,
                   int *ret_n);
/* Take the oldest queued job (only_id > 0: that one) for `node`: 1 (*ret filled), 0 (none). */
int store_job_claim(struct store_tx *tx,
                    const char *node,
                    int64_t only_id,
                    int64_t now,
                    struct arena *a,
                    struct store_job *ret);
/* Record progress and beat the heartbeat: 1 when the job should go on, 0 when cancelled. */
int store_job_progress(struct store_tx *tx, int64_t id, int64_t done, int64_t total, int64_t now);
/* End a running job: state done | failed | cancelled | queued (given back: a stopping node). */
int store_job_finish(struct store_tx *tx,
                     int64_t id,
                     const char *state,
                     const char *result,
                     const char *error,
                     int64_t now);
/* Cancel: a queued job at once, a running one at its next step. -ERR_NOT_FOUND, -ERR_CONFLICT (ended). */
int store_job_cancel(struct store_tx *tx, int64_t org_id, int64_t id, int64_t now);
/* Queue again the running jobs whose heartbeat is older than `before` (their node died). */
int store_job_requeue_stale(struct store_tx *tx, int64_t before, int *ret_n);

/* ------------------------------------------------------------------ */
/* media per storyboard shot (store_shot_media.c; 0007_shot_media.sql) */

struct store_shot_media {
    int64_t id;
    int64_t org_id;
    int64_t project_id;
    int64_t task_id;
    const char *shot_id; /* the shot's stable id in the task's result */
    const char *media;   /* sha256 hex of a media row */
    const char *kind;    /* "first_frame" | "last_frame" | "clip" */
    const char *source;  /* "upload" | "generated" */
    const char *model;   /* generated: the model; else NULL */
    const char *prompt;  /* generated: the prompt; else NULL */
    const char *status;  /* "pending" | "accepted" | "rejected" */
    const char *note;    /* the reviewer's note, or NULL */
    const char *mime;    /* the media's type (reads only) */
    int64_t created_by;  /* 0: none */
    int64_t reviewed_by; /* 0: not reviewed */
    int64_t created_at;
    int64_t reviewed_at; /* 0: not reviewed */
};

/* Add an item (status pending); *ret_id its id. */
int store_shot_media_add(struct store_tx *tx, const struct store_shot_media *m, int64_t *ret_id);
/* Item `id` of org_id (0: any); -ERR_NOT_FOUND otherwise. */
int store_shot_media_get(struct store_tx *tx,
                         int64_t org_id,
                         int64_t id,
                         struct arena *a,
                         struct store_shot_media *ret);
/* A task's items, newest first, at most `limit`. */
int store_shot_media_list(struct store_tx *tx,
                          int64_t task_id,
                          int limit,
                          struct arena *a,
                          struct store_shot_media **ret,
                          int *ret_n);
/* A project's accepted items in task order, at most `limit` (the exports). */
int store_shot_media_accepted(struct store_tx *tx,
                              int64_t project_id,
                              int limit,
                              struct arena *a,
                              struct store_shot_media **ret,
                              int *ret_n);
/*
 * Accept or reject item `m` (read in this transaction) with `note` (may be
 * NULL). Accepting first rejects, with note "superseded", the item of the
 * same task, shot and kind that was accepted before (*ret_superseded, may
 * be NULL: how many). -ERR_NOT_FOUND; -ERR_CONFLICT when another accept of
 * the same shot and kind committed meanwhile.
 */
int store_shot_media_review(struct store_tx *tx,
                            const struct store_shot_media *m,
                            bool accept,
                            const char *note,
                            int64_t user_id,
                            int64_t now,
                            int *ret_superseded);
/* The task's newest result (annotation, else live draft, else prediction): 1 (*ret), 0 (none). */
int store_task_result_latest(struct store_tx *tx, int64_t task_id, struct arena *a, char **ret);

/* ------------------------------------------------------------------ */
/* media (store_media.c): the rows; the bytes live in the media dir    */

struct store_media {
    const char *id;   /* sha256 hex of the bytes, 64 lowercase digits */
    const char *mime; /* as sniffed from the bytes, never the client's */
    int64_t bytes;
    int width, height; /* 0 when not an image */
    int64_t created_at; /* when the org linked it (store_media_get) */
};

/*
 * Record media `m` (once for all orgs) and link it to `org_id`, uploaded
 * by `user_id` (0: none). Returns 1 when the org gained the media, 0 when
 * it had it already (nothing changes), or a negative error.
 */
int store_media_put(struct store_tx *tx,
                    const struct store_media *m,
                    int64_t org_id,
                    int64_t user_id,
                    int64_t now);
/* Media `id` as `org_id` sees it; -ERR_NOT_FOUND unless that org uploaded it. */
int store_media_get(struct store_tx *tx,
                    int64_t org_id,
                    const char *id,
                    struct arena *a,
                    struct store_media *ret);

/* ------------------------------------------------------------------ */
/* audit                                                               */

int store_audit(struct store_tx *tx,
                int64_t org_id,
                int64_t user_id,
                const char *action,
                const char *object_type,
                int64_t object_id,
                const char *detail,
                int64_t now);

/* ------------------------------------------------------------------ */
/* copying a whole store (annotd migrate): store_copy.c                */

#define STORE_COPY_MAX_TABLES 64

struct store_copy_table {
    const char *name;  /* static */
    int64_t rows;      /* in the source's snapshot */
    char checksum[65]; /* hex; the same on both sides when their rows are */
    int64_t copied;    /* inserted into the target */
    int64_t skipped;   /* already in the target with the same content */
};

struct store_copy_report {
    size_t ntables;
    struct store_copy_table tables[STORE_COPY_MAX_TABLES];
    bool verified;    /* the target's counts and checksums match the source's */
    char detail[512]; /* why it failed or did not verify, "" otherwise */
};

struct store_copy_options {
    unsigned page_rows; /* rows per target transaction (default 1000) */
    /* after each page: rows of `table` done so far out of `total`; may be NULL */
    void (*progress)(void *ctx, const char *table, int64_t done, int64_t total);
    void *progress_ctx;
};

/*
 * Copy every table of `from` into `to` (both opened, so both migrated to
 * this binary's schema), ids preserved, from one read snapshot of `from`,
 * a page per transaction on `to`; then reset `to`'s id sequences and
 * compare every table's count and checksum (report->verified).
 * Rows `to` holds already with the same content are skipped, so a re-run
 * completes a copy that stopped half-way and otherwise copies nothing.
 * Returns 0 when the copy ran to the end (check report->verified);
 * -ERR_CONFLICT when `to` holds other content under the same keys, or rows
 * the source does not have, or `from` has a table the copy does not know;
 * another negative error from the stores. report->detail says what.
 * `report` is filled as far as the copy got, also on failure.
 */
int store_copy(struct store *from,
               struct store *to,
               const struct store_copy_options *opt,
               struct store_copy_report *report);

#endif
