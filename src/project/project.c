/*
 * project.c: projects, tasks, and the task importer.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/json.h"
#include "core/utf8.h"
#include "project/project.h"

/* ---- projects ---- */

static const char *const project_keys[] = { "name", "kind", "config", "overlap", "lease_seconds", NULL };

static int int_field(const json_t *body, const char *key, int def, int min, int max, int *ret,
                     struct schema_error *err)
{
    json_t *v = json_object_get(body, key);
    if (!v) {
        *ret = def;
        return 0;
    }
    if (!json_is_integer(v)) {
        schema_fail(err, key, "must be an integer");
        return -ERR_INVALID_REQUEST;
    }
    json_int_t n = json_integer_value(v);
    if (n < min || n > max) {
        schema_fail(err, key, "must be between %d and %d", min, max);
        return -ERR_INVALID_REQUEST;
    }
    *ret = (int)n;
    return 0;
}

/* The "config" field: an object the kind's check_config accepts (path inside "config"). */
static int config_check(const struct schema_kind *k, const json_t *config, struct schema_error *err)
{
    if (!json_is_object(config)) {
        schema_fail(err, "config", "required, an object");
        return -ERR_INVALID_REQUEST;
    }
    struct schema_error cerr = { "", "" };
    if (k->check_config(config, &cerr) < 0) {
        char path[sizeof(err->path) + 16];
        snprintf(path, sizeof(path), "config%s%s", cerr.path[0] && cerr.path[0] != '[' ? "." : "",
                 cerr.path);
        schema_fail(err, path, "%s", cerr.message);
        return -ERR_INVALID_REQUEST;
    }
    return 0;
}

static bool name_valid(const char *name)
{
    return name && *name && utf8_count(name, strlen(name)) <= PROJECT_NAME_MAX;
}

int project_parse(const json_t *body, struct project_spec *ret, struct schema_error *err)
{
    if (!json_is_object(body)) {
        schema_fail(err, "", "must be an object");
        return -ERR_INVALID_REQUEST;
    }
    const char *unknown = json_unknown_key(body, project_keys);
    if (unknown) {
        schema_fail(err, unknown, "unknown field");
        return -ERR_INVALID_REQUEST;
    }
    const char *name = json_get_str(body, "name");
    if (!name_valid(name)) {
        schema_fail(err, "name", "required, 1 to %d characters", PROJECT_NAME_MAX);
        return -ERR_INVALID_REQUEST;
    }
    const char *kind = json_get_str(body, "kind");
    const struct schema_kind *k = kind ? schema_kind_find(kind) : NULL;
    if (!k) {
        char names[256] = "";
        for (const char *const *n = schema_kind_names(); *n; n++) {
            if (names[0])
                strncat(names, ", ", sizeof(names) - strlen(names) - 1);
            strncat(names, *n, sizeof(names) - strlen(names) - 1);
        }
        schema_fail(err, "kind", "required, one of: %s", names);
        return -ERR_INVALID_REQUEST;
    }
    json_t *config = json_object_get(body, "config");
    int r = config_check(k, config, err);
    if (r < 0)
        return r;
    r = int_field(body, "overlap", 1, 1, PROJECT_OVERLAP_MAX, &ret->overlap, err);
    if (r < 0)
        return r;
    r = int_field(body, "lease_seconds", 3600, 1, PROJECT_LEASE_MAX, &ret->lease_seconds, err);
    if (r < 0)
        return r;
    ret->name = name;
    ret->kind = kind;
    ret->config = config;
    return 0;
}

int project_parse_patch(const json_t *body,
                        const char *kind,
                        struct project_spec *ret,
                        struct schema_error *err)
{
    if (!json_is_object(body)) {
        schema_fail(err, "", "must be an object");
        return -ERR_INVALID_REQUEST;
    }
    const char *unknown = json_unknown_key(body, project_keys);
    if (unknown) {
        schema_fail(err, unknown, "unknown field");
        return -ERR_INVALID_REQUEST;
    }
    json_t *v = json_object_get(body, "kind");
    if (v && (!json_is_string(v) || strcmp(json_string_value(v), kind) != 0)) {
        schema_fail(err, "kind", "a project's kind cannot change (it is %s)", kind);
        return -ERR_INVALID_REQUEST;
    }
    struct project_spec p = { .kind = kind };
    if (json_object_get(body, "name")) {
        p.name = json_get_str(body, "name");
        if (!name_valid(p.name)) {
            schema_fail(err, "name", "1 to %d characters", PROJECT_NAME_MAX);
            return -ERR_INVALID_REQUEST;
        }
    }
    json_t *config = json_object_get(body, "config");
    if (config) {
        const struct schema_kind *k = schema_kind_find(kind);
        if (!k) {
            schema_fail(err, "kind", "unknown kind %s", kind);
            return -ERR_INVALID_REQUEST;
        }
        int r = config_check(k, config, err);
        if (r < 0)
            return r;
        p.config = config;
    }
    /* absent: 0, unchanged (0 itself is out of range and refused) */
    int r = int_field(body, "overlap", 0, 1, PROJECT_OVERLAP_MAX, &p.overlap, err);
    if (r < 0)
        return r;
    r = int_field(body, "lease_seconds", 0, 1, PROJECT_LEASE_MAX, &p.lease_seconds, err);
    if (r < 0)
        return r;
    if (!p.name && !p.config && !p.overlap && !p.lease_seconds) {
        schema_fail(err, "", "nothing to change: name, config, overlap or lease_seconds");
        return -ERR_INVALID_REQUEST;
    }
    *ret = p;
    return 0;
}

struct update_ctx {
    int64_t org_id, id, user_id, blocking;
    struct store_project_patch patch;
};

static int update_fn(struct store_tx *tx, void *ctx)
{
    struct update_ctx *c = ctx;
    return store_project_update(tx, c->org_id, c->id, c->user_id, &c->patch, clock_now_ms(),
                                &c->blocking);
}

int project_update(struct store *st,
                   int64_t org_id,
                   int64_t id,
                   int64_t user_id,
                   const struct project_spec *patch,
                   int64_t *ret_blocking)
{
    struct buf config;
    buf_init(&config, 0);
    if (patch->config) {
        int r = json_dump_buf(patch->config, &config);
        if (r < 0) {
            buf_release(&config);
            return r;
        }
    }
    struct update_ctx c = {
        .org_id = org_id,
        .id = id,
        .user_id = user_id,
        .patch = { .name = patch->name,
                   .config = patch->config ? config.p : NULL,
                   .overlap = patch->overlap,
                   .lease_seconds = patch->lease_seconds },
    };
    int r = store_write(st, update_fn, &c);
    buf_release(&config);
    if (r == -ERR_CONFLICT && ret_blocking)
        *ret_blocking = c.blocking;
    return r < 0 ? r : 0;
}

struct create_ctx {
    struct store_project p;
    int64_t id;
};

static int create_fn(struct store_tx *tx, void *ctx)
{
    struct create_ctx *c = ctx;
    int r = store_project_create(tx, &c->p, &c->id);
    if (r < 0)
        return r;
    return store_audit(tx, c->p.org_id, c->p.created_by, "project.create", "project", c->id,
                       c->p.name, c->p.created_at);
}

int project_create(struct store *st,
                   int64_t org_id,
                   int64_t user_id,
                   const struct project_spec *spec,
                   int64_t *ret_id)
{
    struct buf config;
    buf_init(&config, 0);
    int r = json_dump_buf(spec->config, &config);
    if (r < 0) {
        buf_release(&config);
        return r;
    }
    struct create_ctx c = {
        .p = { .org_id = org_id,
               .name = spec->name,
               .kind = spec->kind,
               .config = config.p,
               .overlap = spec->overlap,
               .lease_seconds = spec->lease_seconds,
               .created_by = user_id,
               .created_at = clock_now_ms() },
    };
    r = store_write(st, create_fn, &c);
    buf_release(&config);
    if (r < 0)
        return r;
    *ret_id = c.id;
    return 0;
}

struct get_ctx {
    int64_t org_id, id;
    struct arena *a;
    struct store_project *p;
};

static int get_fn(struct store_tx *tx, void *ctx)
{
    struct get_ctx *c = ctx;
    int r = store_project_get(tx, c->org_id, c->id, c->a, c->p);
    if (r < 0)
        return r;
    return store_project_active(tx, c->id, clock_now_ms(), &c->p->n_active);
}

int project_get(struct store *st, int64_t org_id, int64_t id, struct arena *a, struct store_project *ret)
{
    struct get_ctx c = { .org_id = org_id, .id = id, .a = a, .p = ret };
    return store_read(st, get_fn, &c);
}

void project_to_json(struct buf *out, const struct store_project *p)
{
    struct jw w;
    jw_init(&w, out);
    project_to_jw(&w, p);
}

void project_to_jw(struct jw *w, const struct store_project *p)
{
    jw_obj_begin(w);
    jw_kint(w, "id", p->id);
    jw_kint(w, "org", p->org_id);
    jw_kstr(w, "name", p->name);
    jw_kstr(w, "kind", p->kind);
    jw_kraw(w, "config", p->config, strlen(p->config));
    jw_kint(w, "overlap", p->overlap);
    jw_kint(w, "lease_seconds", p->lease_seconds);
    jw_ktime(w, "created_at", p->created_at);
    jw_kint(w, "active_annotators", p->n_active);
    jw_key(w, "counts");
    jw_obj_begin(w);
    jw_kint(w, "total", p->n_tasks);
    jw_kint(w, "open", p->n_tasks - p->n_in_progress - p->n_done);
    jw_kint(w, "in_progress", p->n_in_progress);
    jw_kint(w, "done", p->n_done);
    jw_kint(w, "to_review", p->n_to_review);
    jw_kint(w, "reviewed", p->n_reviewed);
    jw_kint(w, "accepted", p->n_accepted);
    jw_kint(w, "rejected", p->n_rejected);
    jw_obj_end(w);
    jw_obj_end(w);
}

static const char *const task_states[] = { "open", "in_progress", "done" };

const char *task_state_name(int state)
{
    return state >= 0 && state <= TASK_DONE ? task_states[state] : "open";
}

int task_state_parse(const char *s)
{
    for (int i = 0; i <= TASK_DONE; i++)
        if (strcmp(s, task_states[i]) == 0)
            return i;
    return -1;
}

void task_to_jw(struct jw *w, const struct store_task *t)
{
    jw_obj_begin(w);
    jw_kint(w, "id", t->id);
    jw_kint(w, "project", t->project_id);
    jw_kstr(w, "key", t->key);
    jw_kraw(w, "data", t->data, strlen(t->data));
    jw_kint(w, "priority", t->priority);
    jw_kstr(w, "state", task_state_name(t->state));
    jw_ktime(w, "created_at", t->created_at);
    jw_obj_end(w);
}

void task_to_json(struct buf *out, const struct store_task *t)
{
    struct jw w;
    jw_init(&w, out);
    task_to_jw(&w, t);
}

/* ---- import ---- */

struct pending {
    size_t key_off; /* SIZE_MAX: no key */
    size_t data_off, data_len;
    int64_t priority;
};

struct project_import {
    struct store *st;
    struct store_project p; /* name/kind/config copied into owned strings */
    char *kind, *config_text;
    json_t *config;
    const struct schema_kind *schema;
    bool all_or_nothing;
    int max_depth;

    struct pending *pending;
    size_t npending, cap_pending;
    struct buf text; /* keys and data of pending records */

    int64_t created, existing;
    struct import_error *errors;
    size_t nerrors, nerrors_total;
};

int project_import_begin(struct store *st,
                         const struct store_project *p,
                         bool all_or_nothing,
                         int max_depth,
                         struct project_import **ret)
{
    struct project_import *imp = calloc(1, sizeof(*imp));
    if (!imp)
        return -ENOMEM;
    imp->st = st;
    imp->p = *p;
    imp->kind = strdup(p->kind);
    imp->config_text = strdup(p->config);
    imp->all_or_nothing = all_or_nothing;
    imp->max_depth = max_depth > 0 ? max_depth : JSON_MAX_DEPTH_DEFAULT;
    imp->schema = schema_kind_find(p->kind);
    buf_init(&imp->text, SIZE_MAX / 2);
    if (!imp->kind || !imp->config_text || !imp->schema ||
        json_parse(imp->config_text, strlen(imp->config_text), 0, &imp->config, NULL) < 0) {
        project_import_abort(imp);
        return -ERR_STORE;
    }
    imp->p.name = imp->p.kind = imp->p.config = NULL;
    *ret = imp;
    return 0;
}

static void add_error(struct project_import *imp, const char *at, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add_error(struct project_import *imp, const char *at, const char *code, const char *fmt, ...)
{
    imp->nerrors_total++;
    if (imp->nerrors >= IMPORT_ERRORS_MAX)
        return;
    if (!imp->errors) {
        imp->errors = calloc(IMPORT_ERRORS_MAX, sizeof(*imp->errors));
        if (!imp->errors)
            return;
    }
    struct import_error *e = &imp->errors[imp->nerrors++];
    snprintf(e->at, sizeof(e->at), "%s", at);
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
}

void project_import_fail(struct project_import *imp, const char *at, const char *code, const char *message)
{
    add_error(imp, at, code, "%s", message);
}

struct flush_ctx {
    struct project_import *imp;
    int64_t created, existing;
};

static int flush_fn(struct store_tx *tx, void *ctx)
{
    struct flush_ctx *c = ctx;
    struct project_import *imp = c->imp;
    int64_t now = clock_now_ms();
    c->created = c->existing = 0;
    int64_t last_created = 0;
    for (size_t i = 0; i < imp->npending; i++) {
        struct pending *pr = &imp->pending[i];
        const char *key = pr->key_off == SIZE_MAX ? NULL : imp->text.p + pr->key_off;
        struct str data = { imp->text.p + pr->data_off, pr->data_len };
        int64_t id;
        int r = store_task_insert(tx, imp->p.id, imp->p.overlap, key, data, pr->priority, now, &id);
        if (r < 0)
            return r;
        if (r == 1) {
            c->created++;
            last_created = id;
        } else {
            c->existing++;
        }
    }
    if (c->created)
        return store_project_add_tasks(tx, imp->p.id, last_created, c->created);
    return 0;
}

static int flush(struct project_import *imp)
{
    if (imp->npending == 0)
        return 0;
    struct flush_ctx c = { .imp = imp };
    int r = store_write(imp->st, flush_fn, &c);
    if (r < 0)
        return r;
    imp->created += c.created;
    imp->existing += c.existing;
    imp->npending = 0;
    buf_clear(&imp->text);
    return 0;
}

static const char *const record_keys[] = { "data", "key", "priority", NULL };

int project_import_value(struct project_import *imp, const json_t *rec, const char *at)
{
    if (!json_is_object(rec)) {
        add_error(imp, at, "invalid_request", "a record must be an object");
        return 0;
    }
    const char *unknown = json_unknown_key(rec, record_keys);
    if (unknown) {
        add_error(imp, at, "invalid_request", "%s: unknown field", unknown);
        return 0;
    }
    json_t *data = json_object_get(rec, "data");
    if (!json_is_object(data)) {
        add_error(imp, at, "invalid_request", "data: required, an object");
        return 0;
    }
    json_t *key = json_object_get(rec, "key");
    if (key && !json_is_null(key) &&
        (!json_is_string(key) || json_string_length(key) == 0 || json_string_length(key) > TASK_KEY_MAX)) {
        add_error(imp, at, "invalid_request", "key: must be a string of 1 to %d bytes", TASK_KEY_MAX);
        return 0;
    }
    json_t *prio = json_object_get(rec, "priority");
    if (prio && !json_is_integer(prio)) {
        add_error(imp, at, "invalid_request", "priority: must be an integer");
        return 0;
    }
    if (prio && (json_integer_value(prio) < INT_MIN || json_integer_value(prio) > INT_MAX)) {
        add_error(imp, at, "invalid_request", "priority: must be between %d and %d", INT_MIN, INT_MAX);
        return 0;
    }
    struct schema_error err = { "", "" };
    if (imp->schema->check_task(imp->config, data, &err) < 0) {
        add_error(imp, at, "invalid_request", "data%s%s: %s",
                  err.path[0] && err.path[0] != '[' ? "." : "", err.path, err.message);
        return 0;
    }
    if (imp->nerrors_total && imp->all_or_nothing)
        return 0; /* nothing will be stored: keep checking, stop collecting */

    if (imp->npending == imp->cap_pending) {
        size_t n = imp->cap_pending ? imp->cap_pending * 2 : 256;
        struct pending *p = realloc(imp->pending, n * sizeof(*p));
        if (!p)
            return -ENOMEM;
        imp->pending = p;
        imp->cap_pending = n;
    }
    struct pending *pr = &imp->pending[imp->npending];
    pr->key_off = SIZE_MAX;
    if (json_is_string(key)) {
        pr->key_off = imp->text.len;
        buf_add(&imp->text, json_string_value(key), json_string_length(key) + 1);
    }
    pr->data_off = imp->text.len;
    json_dump_buf(data, &imp->text);
    pr->data_len = imp->text.len - pr->data_off;
    buf_addch(&imp->text, '\0');
    pr->priority = prio ? json_integer_value(prio) : 0;
    if (imp->text.err)
        return imp->text.err;
    imp->npending++;
    if (!imp->all_or_nothing && imp->npending >= IMPORT_BATCH)
        return flush(imp);
    return 0;
}

int project_import_line(struct project_import *imp, const char *p, size_t len, const char *at)
{
    /* skip blank lines (and a trailing CR) */
    while (len && (p[len - 1] == '\r' || p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    size_t i = 0;
    while (i < len && (p[i] == ' ' || p[i] == '\t'))
        i++;
    if (i == len)
        return 0;
    json_t *rec;
    struct json_error_info info;
    int r = json_parse(p, len, imp->max_depth, &rec, &info);
    if (r == -ERR_TOO_DEEP) {
        add_error(imp, at, "too_large", "%s", info.message);
        return 0;
    }
    if (r == -ERR_INVALID_REQUEST) {
        add_error(imp, at, "invalid_request", "%s: %s", info.path, info.message);
        return 0;
    }
    if (r < 0) {
        add_error(imp, at, "invalid_json", "%s (column %ld)", info.message, info.column);
        return 0;
    }
    r = project_import_value(imp, rec, at);
    json_decref(rec);
    return r;
}

static void import_free(struct project_import *imp)
{
    json_decref(imp->config);
    free(imp->kind);
    free(imp->config_text);
    free(imp->pending);
    free(imp->errors);
    buf_release(&imp->text);
    free(imp);
}

void project_import_abort(struct project_import *imp)
{
    if (imp)
        import_free(imp);
}

int project_import_finish(struct project_import *imp, struct buf *out)
{
    int r = 0;
    bool rejected = imp->all_or_nothing && imp->nerrors_total > 0;
    if (!rejected)
        r = flush(imp);
    if (r < 0) {
        import_free(imp);
        return r;
    }
    struct jw w;
    jw_init(&w, out);
    jw_obj_begin(&w);
    jw_kint(&w, "created", imp->created);
    jw_kint(&w, "existing", imp->existing);
    jw_key(&w, "errors");
    jw_arr_begin(&w);
    for (size_t i = 0; i < imp->nerrors; i++) {
        jw_obj_begin(&w);
        jw_kstr(&w, "at", imp->errors[i].at);
        jw_kstr(&w, "code", imp->errors[i].code);
        jw_kstr(&w, "message", imp->errors[i].message);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    if (imp->nerrors_total > imp->nerrors) {
        jw_kbool(&w, "errors_truncated", true);
        jw_kint(&w, "errors_total", (long long)imp->nerrors_total);
    }
    jw_obj_end(&w);
    import_free(imp);
    return rejected ? 1 : 0;
}
