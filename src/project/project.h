/*
 * project: projects and their tasks, and the task importer.
 *
 * DESIGN
 * Importing is record by record: the caller feeds records (one JSON Lines
 * line, or one element of a JSON array) to project_import_record(), which
 * checks each ({"data","key","priority"}, data valid for the project's
 * kind) and reports the bad ones with where they were. Good records are
 * written in batches of IMPORT_BATCH, each batch one write (so memory stays
 * bounded and claims interleave with a big import); every record is whole
 * or absent. In all-or-nothing mode nothing is written until the end, and
 * only if no record failed, in one transaction.
 */
#ifndef ANNOTD_PROJECT_H
#define ANNOTD_PROJECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/json.h"
#include "schema/schema.h"
#include "store/store.h"

#define PROJECT_OVERLAP_MAX   100
#define PROJECT_LEASE_MAX     86400
#define PROJECT_NAME_MAX      200
#define IMPORT_BATCH          1000
#define IMPORT_ERRORS_MAX     1000
#define TASK_KEY_MAX          512

struct project_spec {
    const char *name;
    const char *kind;
    json_t *config;
    int overlap;
    int lease_seconds;
};

/*
 * Check a project body ({"name","kind","config","overlap","lease_seconds"})
 * strictly. Returns 0 with *ret filled (config borrowed from body), or
 * -ERR_INVALID_REQUEST with *err (path relative to the body).
 */
int project_parse(const json_t *body, struct project_spec *ret, struct schema_error *err);

/*
 * Check a PATCH body for a project of kind `kind`: the fields of
 * project_parse(), each optional, at least one; "kind" only with the
 * project's own kind (it cannot change); "config" checked for the kind.
 * Returns 0 with *ret (0/NULL: unchanged; config borrowed from body), or
 * -ERR_INVALID_REQUEST with *err.
 */
int project_parse_patch(const json_t *body,
                        const char *kind,
                        struct project_spec *ret,
                        struct schema_error *err);

/*
 * Apply a checked patch to project `id` of `org_id` by `user_id`
 * (store_project_update: counters recomputed on a new overlap, audit,
 * event). -ERR_NOT_FOUND; -ERR_CONFLICT with *ret_blocking (tasks holding
 * more live leases + submissions than the new overlap).
 */
int project_update(struct store *st,
                   int64_t org_id,
                   int64_t id,
                   int64_t user_id,
                   const struct project_spec *patch,
                   int64_t *ret_blocking);

int project_create(struct store *st,
                   int64_t org_id,
                   int64_t user_id,
                   const struct project_spec *spec,
                   int64_t *ret_id);

/* Read one project of the org (0: any), with its active annotators; -ERR_NOT_FOUND otherwise. */
int project_get(struct store *st, int64_t org_id, int64_t id, struct arena *a, struct store_project *ret);

/* Append the project's JSON representation. */
void project_to_json(struct buf *out, const struct store_project *p);
void project_to_jw(struct jw *w, const struct store_project *p);
/* Append a task's JSON representation. */
void task_to_json(struct buf *out, const struct store_task *t);
void task_to_jw(struct jw *w, const struct store_task *t);
const char *task_state_name(int state);
int task_state_parse(const char *s);

struct import_error {
    char at[32];
    const char *code;
    char message[300];
};

struct project_import;

/* Begin an import into project `p` (copied). all_or_nothing: see DESIGN. */
int project_import_begin(struct store *st,
                         const struct store_project *p,
                         bool all_or_nothing,
                         int max_depth,
                         struct project_import **ret);
/*
 * Feed one record given as text (a JSON Lines line; blank lines are
 * skipped) or as a parsed value. `at` names it ("line 3", "item 2").
 * Returns 0, or a negative error that ends the import (storage failure);
 * a bad record is not an error here: it is reported in the summary.
 */
int project_import_line(struct project_import *imp, const char *p, size_t len, const char *at);
int project_import_value(struct project_import *imp, const json_t *rec, const char *at);
/* Report a problem found outside the records (a broken array, a cut body). */
void project_import_fail(struct project_import *imp, const char *at, const char *code, const char *message);
/*
 * Flush what is pending and write the summary
 * {"created","existing","errors":[...]} to out. Returns 0, 1 when the
 * import had errors in all-or-nothing mode (nothing stored), or a negative
 * storage error. Frees the import.
 */
int project_import_finish(struct project_import *imp, struct buf *out);
/* Abandon an import (request aborted). */
void project_import_abort(struct project_import *imp);

#endif
