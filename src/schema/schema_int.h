/*
 * Internals shared by the files of src/schema.
 *
 * A check walks a JSON value and keeps the JSON path of where it is
 * ("objects[2].points[5][0]"). The first problem found ends the walk:
 * schema_reject() fills the caller's struct schema_error with the current
 * path and a message and returns the kind of error the walk answers
 * (-ERR_INVALID_REQUEST for configs and task data, -ERR_INVALID_RESULT for
 * results), so a check reads `return schema_reject(c, "must be > 0");`.
 *
 * The field readers below look a key up in an object, check its type and,
 * when it is wrong or missing, reject with the key's path and one of the
 * stock messages ("is required", "must be a string" ...). They write *ret_*
 * only on success; an absent optional field is a success that leaves the
 * output untouched and sets *ret_present (when given) to false.
 */
#ifndef ANNOTD_SCHEMA_INT_H
#define ANNOTD_SCHEMA_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "schema/schema.h"

#define SCHEMA_MAX_ITEMS    100000 /* objects, spans or relations in one result */
#define SCHEMA_MAX_POINTS   100000 /* points of one shape, all parts together */
#define SCHEMA_MAX_NAMES    10000  /* choices, labels, keypoints ... in one config list */
#define SCHEMA_MAX_NAME_LEN 256    /* bytes of a label, choice, keypoint name or id */

#define SCHEMA_PATH_MAX sizeof(((struct schema_error *)0)->path)

extern const struct schema_kind schema_kind_image;
extern const struct schema_kind schema_kind_text;
extern const struct schema_kind schema_kind_llm;
extern const struct schema_kind schema_kind_storyboard;

/* ---- the walk: path and rejection ---- */

struct schema_check {
    struct schema_error *err; /* may be NULL: reject without details */
    int code;                 /* what schema_reject() returns */
    size_t len;               /* logical path length; may exceed the buffer */
    char path[SCHEMA_PATH_MAX];
};

/* Start a walk at the root ("" path) that answers `code` on rejection. */
void schema_check_init(struct schema_check *c, struct schema_error *err, int code);

/*
 * Descend into `key` or `[index]`; return a mark for schema_leave(). A path
 * longer than the buffer is truncated, never overrun.
 */
size_t schema_enter_key(struct schema_check *c, const char *key);
size_t schema_enter_index(struct schema_check *c, size_t index);
void schema_leave(struct schema_check *c, size_t mark);

/* Fill the error at the current path (or at path + "." + key); return c->code. */
int schema_reject(struct schema_check *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int schema_reject_key(struct schema_check *c, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * End of a successful walk: every schema_enter_*() was matched by its
 * schema_leave() (asserted), so the path is back at the root. Returns 0.
 */
int schema_check_done(struct schema_check *c);

/* Allocation failed: fill the error and return -ENOMEM. */
int schema_nomem(struct schema_check *c);

/* ---- readers (see the top of this file) ---- */

/*
 * Where the host of an http:// or https:// URL s[0..len) starts (7 or 8),
 * or 0 when s has another scheme, nothing after it, or a space or control
 * byte anywhere after it.
 */
size_t schema_http_url_host(const char *s, size_t len);

/* Reject the first key of `obj` not in the NULL-terminated `allowed`. */
int schema_known_keys(struct schema_check *c, const json_t *obj, const char *const *allowed);

/* Reject unless `v`, at the current path, is an object. */
int schema_want_object(struct schema_check *c, const json_t *v);

/* A finite number (JSON integer or real) at the current path. */
int schema_want_number(struct schema_check *c, const json_t *v, double *ret);

/* A non-empty string of at most SCHEMA_MAX_NAME_LEN bytes at the current path. */
int schema_want_name(struct schema_check *c, const json_t *s);

/* A string of at most `max` bytes of valid UTF-8 at the current path. */
int schema_want_text(struct schema_check *c, const json_t *s, size_t max);

int schema_field_string(struct schema_check *c,
                        const json_t *obj,
                        const char *key,
                        bool required,
                        const json_t **ret);
int schema_field_number(struct schema_check *c,
                        const json_t *obj,
                        const char *key,
                        bool required,
                        double *ret,
                        bool *ret_present);
int schema_field_int(struct schema_check *c,
                     const json_t *obj,
                     const char *key,
                     bool required,
                     long long *ret,
                     bool *ret_present);
/* obj[key] as schema_want_text(); *ret is the string, untouched when absent. */
int schema_field_text(struct schema_check *c,
                      const json_t *obj,
                      const char *key,
                      bool required,
                      size_t max,
                      const json_t **ret);
int schema_field_bool(struct schema_check *c, const json_t *obj, const char *key, bool *ret);
int schema_field_array(struct schema_check *c,
                       const json_t *obj,
                       const char *key,
                       bool required,
                       const json_t **ret);
int schema_field_object(struct schema_check *c,
                        const json_t *obj,
                        const char *key,
                        bool required,
                        const json_t **ret);

/* An optional "attrs": an object whose contents are free. */
int schema_field_attrs(struct schema_check *c, const json_t *obj);

/*
 * An optional item "id": a non-empty string of at most SCHEMA_MAX_NAME_LEN
 * bytes, unique among the keys of `ids` (where it is then added with value
 * json_integer(index)). *ret is the id string or NULL when absent.
 */
int schema_field_id(struct schema_check *c,
                    const json_t *obj,
                    json_t *ids,
                    size_t index,
                    const char **ret);

/*
 * A config list of names at the current path: a non-empty array of at most
 * SCHEMA_MAX_NAMES distinct non-empty strings of at most
 * SCHEMA_MAX_NAME_LEN bytes. `what` names one element in messages
 * ("choice", "label").
 */
int schema_check_names(struct schema_check *c, const json_t *list, const char *what);

/* Reject an array at the current path with more than `max` elements. */
int schema_check_count(struct schema_check *c, const json_t *list, size_t max, const char *what);

/* Checks one element of a list; the path is at the element ("key[index]"). */
typedef int (*schema_item_fn)(struct schema_check *c, const json_t *item, size_t index, void *ctx);

/*
 * The array obj[key] (an absent optional one is a success) of at most `max`
 * elements (else "too many <what> (at most <max>)" at key), each checked in
 * order by check(c, item, index, ctx).
 */
int schema_check_list(struct schema_check *c,
                      const json_t *obj,
                      const char *key,
                      bool required,
                      size_t max,
                      const char *what,
                      schema_item_fn check,
                      void *ctx);

/*
 * The required, non-empty array obj[key] of at most `max` items, each
 * checked by check(c, item, seen) with the path at the item; `seen` is an
 * object the items share to find duplicate names.
 */
int schema_check_named_list(struct schema_check *c,
                            const json_t *obj,
                            const char *key,
                            size_t max,
                            int (*check)(struct schema_check *c, const json_t *item, json_t *seen));

/* ---- name sets: a jansson object used as a hash set ---- */

/*
 * A set holding the string elements of `list` (anything else is skipped),
 * each mapped to json_integer(index). NULL on allocation failure; an empty
 * set when `list` is not an array. Free with json_decref().
 */
json_t *schema_set_of(const json_t *list);

/* True when the string `s` is a key of `set`. */
bool schema_set_has(const json_t *set, const json_t *s);

/*
 * Add the string `name` to `seen`, rejecting it at the current path as
 * "duplicate <what> '<name>'" when it is there already.
 */
int schema_set_add(struct schema_check *c, json_t *seen, const json_t *name, const char *what);

/* schema_want_name(), then schema_set_add(): a name unique among `seen`. */
int schema_want_unique_name(struct schema_check *c,
                            json_t *seen,
                            const json_t *name,
                            const char *what);

/* ---- whole-item classes, shared by every kind that has them ---- */

/* config "classes": {"choices":[...], "multiple":false}, when present. */
int schema_classes_config(struct schema_check *c, const json_t *config);

/*
 * result "classes": ["pos"], when present: an array of configured choices,
 * without duplicates, at most one unless config says multiple.
 */
int schema_classes_result(struct schema_check *c, const json_t *config, const json_t *result);

/* Emit ("classes", choice, "") for each class of a valid result. */
void schema_classes_labels(const json_t *result, schema_label_fn emit, void *ctx);

/*
 * Reject a result part that the config does not enable: when `result` has
 * `key` but `config` has not, at path `key`.
 */
int schema_part_configured(struct schema_check *c,
                           const json_t *config,
                           const json_t *result,
                           const char *key);

#endif
