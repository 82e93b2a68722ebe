/*
 * Project kinds, their label configs, task data and results.
 *
 * DESIGN: every project kind is one file (schema_image.c, schema_text.c ...)
 * that fills a struct schema_kind; schema.c holds the table. The server
 * validates every config at project creation, every task's data at import,
 * and every submitted result, and answers a precise error: a JSON path
 * ("objects[2].w") and a message ("must be > 0"). Results are strict:
 * unknown keys are rejected, except inside an "attrs" object.
 *
 * Labels: at submit time the categorical content of a result is extracted
 * as (field, label, value) triples into an indexed table, so that metrics
 * never re-parse stored JSON. field names the part of the result
 * ("classes", "spans", "objects"); label is the category; value is a
 * compact, comparable key of the item (a span's "start:end", a shape type).
 */
#ifndef ANNOTD_SCHEMA_H
#define ANNOTD_SCHEMA_H

#include <jansson.h>
#include <stdbool.h>

struct schema_error {
    char path[128];    /* "objects[2].w", "" for the whole value */
    char message[256]; /* "must be > 0" */
};

typedef void (*schema_label_fn)(void *ctx, const char *field, const char *label, const char *value);

struct schema_kind {
    const char *name;
    /* 0, or -ERR_INVALID_REQUEST with *err filled (path inside "config") */
    int (*check_config)(const json_t *config, struct schema_error *err);
    /* 0, or -ERR_INVALID_REQUEST with *err filled (path inside "data") */
    int (*check_task)(const json_t *config, const json_t *data, struct schema_error *err);
    /* 0, or -ERR_INVALID_RESULT with *err filled (path inside "result") */
    int (*check_result)(const json_t *config,
                        const json_t *data,
                        const json_t *result,
                        struct schema_error *err);
    /* emit the labels of an already valid result */
    void (*labels)(const json_t *config, const json_t *result, schema_label_fn emit, void *ctx);
};

/* The kind called `name`, or NULL when there is none. */
const struct schema_kind *schema_kind_find(const char *name);

/* NULL-terminated list of kind names, for error messages and docs. */
const char *const *schema_kind_names(void);

/* Record a path and message in *err (printf-style message). */
void schema_fail(struct schema_error *err, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
