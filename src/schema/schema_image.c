/*
 * Project kind "image": shapes on one image, and optional whole-image
 * classes.
 *
 * config  {"tools":["box","polygon","polyline","keypoints"],
 *          "labels":[{"name":"car"},
 *                    {"name":"person","keypoints":["nose","neck"],
 *                     "skeleton":[[0,1]]}],
 *          "classes":{"choices":["day","night"],"multiple":true}}
 *         A label may also carry "color" and "hotkey" (strings) and
 *         "attributes" (any JSON) for the UI.
 * data    {"image":"<64 lowercase hex media id | http(s) URL>",
 *          "width":W,"height":H}; width and height are optional positive
 *         integers that, when present, bound every coordinate. Other keys
 *         are the importer's and are kept.
 * result  {"classes":["day"],
 *          "objects":[{"id":"o1","type":"box","label":"car",
 *                      "x":10,"y":20,"w":50,"h":40,"rotation":0},
 *                     {"type":"polygon","label":"car","points":[[x,y],...]},
 *                     {"type":"polygon","label":"car","parts":[[[x,y],...],...]},
 *                     {"type":"polyline","label":"car","points":[[x,y],...]},
 *                     {"type":"keypoints","label":"person",
 *                      "points":[[x,y,v],...]}]}
 *
 * Coordinates are pixels, origin top-left, integer or fractional. A box's
 * rotation is in degrees clockwise about its centre; bounds apply to the
 * unrotated box. Keypoint visibility v is COCO's: 0 not labelled (position
 * ignored), 1 labelled but hidden, 2 visible (COCO format: keypoints).
 */
#include <errno.h>
#include <string.h>

#include "core/err.h"
#include "schema/schema.h"
#include "schema/schema_int.h"

#define ROTATION_MAX   360.0
#define BOUNDS_EPSILON 1e-6 /* x + w may exceed W by rounding of fractional input */

static const char *const tool_names[] = { "box", "polygon", "polyline", "keypoints", NULL };

/* Indexes into tool_names, in its order. */
enum shape { SHAPE_BOX, SHAPE_POLYGON, SHAPE_POLYLINE, SHAPE_KEYPOINTS };

/* The shape called `s` (an index into tool_names), or -1. */
static int shape_of(const char *s)
{
    for (int t = 0; tool_names[t]; t++) {
        if (strcmp(tool_names[t], s) == 0)
            return t;
    }
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Config                                                                   */
/* ------------------------------------------------------------------------ */

static const char *const config_keys[] = { "tools", "labels", "classes", NULL };
static const char *const label_keys[] = {
    "name", "keypoints", "skeleton", "color", "hotkey", "attributes", NULL,
};

static int check_tools(struct schema_check *c, const json_t *config)
{
    const json_t *tools = NULL;
    bool seen[sizeof(tool_names) / sizeof(tool_names[0])] = { false };
    size_t i, mark;
    int r;

    r = schema_field_array(c, config, "tools", true, &tools);
    if (r < 0)
        return r;
    mark = schema_enter_key(c, "tools");
    if (json_array_size(tools) == 0)
        return schema_reject(c, "must not be empty");
    for (i = 0; i < json_array_size(tools); i++) {
        const json_t *tool = json_array_get(tools, i);
        size_t mark2 = schema_enter_index(c, i);
        int t;

        if (!json_is_string(tool))
            return schema_reject(c, "must be a string");
        t = shape_of(json_string_value(tool));
        if (t < 0)
            return schema_reject(c,
                                 "unknown tool '%s' (expected box, polygon, polyline or keypoints)",
                                 json_string_value(tool));
        if (seen[t])
            return schema_reject(c, "duplicate tool '%s'", tool_names[t]);
        seen[t] = true;
        schema_leave(c, mark2);
    }
    schema_leave(c, mark);
    return 0;
}

/* label.skeleton: pairs [i, j] of distinct keypoint indexes. */
static int check_skeleton(struct schema_check *c, const json_t *skeleton, size_t n_keypoints)
{
    size_t i, k;
    int r;

    r = schema_check_count(c, skeleton, SCHEMA_MAX_NAMES, "edges");
    if (r < 0)
        return r;
    for (i = 0; i < json_array_size(skeleton); i++) {
        const json_t *edge = json_array_get(skeleton, i);
        size_t mark = schema_enter_index(c, i);

        if (!json_is_array(edge) || json_array_size(edge) != 2)
            return schema_reject(c, "must be a pair [i, j] of keypoint indexes");
        for (k = 0; k < 2; k++) {
            const json_t *end = json_array_get(edge, k);
            size_t mark2 = schema_enter_index(c, k);

            if (!json_is_integer(end))
                return schema_reject(c, "must be an integer");
            if (json_integer_value(end) < 0)
                return schema_reject(c, "must be >= 0");
            if ((unsigned long long)json_integer_value(end) >= n_keypoints)
                return schema_reject(c, "must be < %zu (number of keypoints)", n_keypoints);
            schema_leave(c, mark2);
        }
        if (json_integer_value(json_array_get(edge, 0)) ==
            json_integer_value(json_array_get(edge, 1)))
            return schema_reject(c, "must join two different keypoints");
        schema_leave(c, mark);
    }
    return 0;
}

static int check_label(struct schema_check *c, const json_t *label, json_t *names)
{
    const json_t *name = NULL, *keypoints = NULL, *skeleton = NULL, *s = NULL;
    size_t mark;
    int r;

    r = schema_want_object(c, label);
    if (r < 0)
        return r;
    r = schema_known_keys(c, label, label_keys);
    if (r < 0)
        return r;
    r = schema_field_string(c, label, "name", true, &name);
    if (r < 0)
        return r;
    mark = schema_enter_key(c, "name");
    r = schema_want_unique_name(c, names, name, "label");
    if (r < 0)
        return r;
    schema_leave(c, mark);

    r = schema_field_array(c, label, "keypoints", false, &keypoints);
    if (r < 0)
        return r;
    if (keypoints) {
        mark = schema_enter_key(c, "keypoints");
        r = schema_check_names(c, keypoints, "keypoint");
        if (r < 0)
            return r;
        schema_leave(c, mark);
    }
    r = schema_field_array(c, label, "skeleton", false, &skeleton);
    if (r < 0)
        return r;
    if (skeleton) {
        if (!keypoints)
            return schema_reject_key(c, "skeleton", "requires keypoints");
        mark = schema_enter_key(c, "skeleton");
        r = check_skeleton(c, skeleton, json_array_size(keypoints));
        if (r < 0)
            return r;
        schema_leave(c, mark);
    }
    r = schema_field_string(c, label, "color", false, &s);
    if (r < 0)
        return r;
    return schema_field_string(c, label, "hotkey", false, &s);
}

static int check_labels(struct schema_check *c, const json_t *config)
{
    return schema_check_named_list(c, config, "labels", SCHEMA_MAX_NAMES, check_label);
}

static int image_check_config(const json_t *config, struct schema_error *err)
{
    struct schema_check c;
    int r;

    schema_check_init(&c, err, -ERR_INVALID_REQUEST);
    r = schema_want_object(&c, config);
    if (r < 0)
        return r;
    r = schema_known_keys(&c, config, config_keys);
    if (r < 0)
        return r;
    r = check_tools(&c, config);
    if (r < 0)
        return r;
    r = check_labels(&c, config);
    if (r < 0)
        return r;
    r = schema_classes_config(&c, config);
    if (r < 0)
        return r;
    return schema_check_done(&c);
}

/* ------------------------------------------------------------------------ */
/* Task data                                                                */
/* ------------------------------------------------------------------------ */

static bool is_media_id(const char *s, size_t len)
{
    if (len != 64)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return true;
}

/* http:// or https:// followed by at least one byte, no space or control byte. */
static bool is_http_url(const char *s, size_t len)
{
    return schema_http_url_host(s, len) != 0;
}

/* width or height: an optional positive integer. */
static int check_dimension(struct schema_check *c, const json_t *data, const char *key)
{
    long long v = 0;
    bool present = false;
    int r;

    r = schema_field_int(c, data, key, false, &v, &present);
    if (r < 0)
        return r;
    if (present && v <= 0)
        return schema_reject_key(c, key, "must be > 0");
    return 0;
}

static int image_check_task(const json_t *config, const json_t *data, struct schema_error *err)
{
    struct schema_check c;
    const json_t *image = NULL;
    int r;

    (void)config; /* the contract passes it; this kind does not need it */

    schema_check_init(&c, err, -ERR_INVALID_REQUEST);
    r = schema_want_object(&c, data);
    if (r < 0)
        return r;
    r = schema_field_string(&c, data, "image", true, &image);
    if (r < 0)
        return r;
    if (!is_media_id(json_string_value(image), json_string_length(image)) &&
        !is_http_url(json_string_value(image), json_string_length(image)))
        return schema_reject_key(&c, "image",
                                 "must be a media id (64 lowercase hex digits) or an http(s) URL");
    r = check_dimension(&c, data, "width");
    if (r < 0)
        return r;
    return check_dimension(&c, data, "height");
}

/* ------------------------------------------------------------------------ */
/* Result                                                                   */
/* ------------------------------------------------------------------------ */

static const char *const result_keys[] = { "classes", "objects", NULL };
static const char *const box_keys[] = {
    "id", "type", "label", "attrs", "x", "y", "w", "h", "rotation", NULL,
};
static const char *const polygon_keys[] = {
    "id", "type", "label", "attrs", "points", "parts", NULL,
};
static const char *const points_keys[] = { "id", "type", "label", "attrs", "points", NULL };

/* What a result is checked against: the config and the task's image size. */
struct image_ctx {
    json_t *tools;  /* set of enabled tools */
    json_t *labels; /* label name -> index in config.labels */
    const json_t *config_labels;
    long long width; /* 0: unknown, no bounds */
    long long height;
};

static long long dimension_of(const json_t *data, const char *key)
{
    const json_t *v = json_object_get(data, key);

    if (json_is_integer(v) && json_integer_value(v) > 0)
        return json_integer_value(v);
    return 0;
}

static int image_ctx_init(struct image_ctx *ctx, const json_t *config, const json_t *data)
{
    size_t i;

    ctx->tools = schema_set_of(json_object_get(config, "tools"));
    ctx->labels = json_object();
    ctx->config_labels = json_object_get(config, "labels");
    ctx->width = dimension_of(data, "width");
    ctx->height = dimension_of(data, "height");
    if (!ctx->tools || !ctx->labels)
        return -ENOMEM;
    for (i = 0; i < json_array_size(ctx->config_labels); i++) {
        const json_t *name = json_object_get(json_array_get(ctx->config_labels, i), "name");
        if (!json_is_string(name) || schema_set_has(ctx->labels, name))
            continue;
        if (json_object_setn_new(ctx->labels, json_string_value(name), json_string_length(name),
                                 json_integer((json_int_t)i)) < 0)
            return -ENOMEM;
    }
    return 0;
}

static void image_ctx_release(struct image_ctx *ctx)
{
    json_decref(ctx->tools);
    json_decref(ctx->labels);
}

/* Coordinate `v` at the current path against [0, limit] (limit 0: unknown). */
static int check_coordinate(struct schema_check *c, double v, long long limit, const char *what)
{
    if (limit <= 0)
        return 0;
    if (v < 0)
        return schema_reject(c, "must be >= 0");
    if (v > (double)limit)
        return schema_reject(c, "must be <= %lld (image %s)", limit, what);
    return 0;
}

static int check_box(struct schema_check *c, const struct image_ctx *ctx, const json_t *box)
{
    double x = 0, y = 0, w = 0, h = 0, rotation = 0;
    bool has_rotation = false;
    size_t mark;
    int r;

    if ((r = schema_field_number(c, box, "x", true, &x, NULL)) < 0 ||
        (r = schema_field_number(c, box, "y", true, &y, NULL)) < 0 ||
        (r = schema_field_number(c, box, "w", true, &w, NULL)) < 0 ||
        (r = schema_field_number(c, box, "h", true, &h, NULL)) < 0)
        return r;
    if (w <= 0)
        return schema_reject_key(c, "w", "must be > 0");
    if (h <= 0)
        return schema_reject_key(c, "h", "must be > 0");
    r = schema_field_number(c, box, "rotation", false, &rotation, &has_rotation);
    if (r < 0)
        return r;
    if (has_rotation && (rotation < -ROTATION_MAX || rotation > ROTATION_MAX))
        return schema_reject_key(c, "rotation", "must be between -360 and 360");

    mark = schema_enter_key(c, "x");
    r = check_coordinate(c, x, ctx->width, "width");
    if (r < 0)
        return r;
    schema_leave(c, mark);
    mark = schema_enter_key(c, "y");
    r = check_coordinate(c, y, ctx->height, "height");
    if (r < 0)
        return r;
    schema_leave(c, mark);
    if (ctx->width > 0 && x + w - (double)ctx->width > BOUNDS_EPSILON)
        return schema_reject_key(c, "w", "x + w must be <= %lld (image width)", ctx->width);
    if (ctx->height > 0 && y + h - (double)ctx->height > BOUNDS_EPSILON)
        return schema_reject_key(c, "h", "y + h must be <= %lld (image height)", ctx->height);
    return 0;
}

/*
 * One point at the current path: [x, y], or [x, y, v] for keypoints. A
 * keypoint with v = 0 is not labelled and may be anywhere.
 */
static int
check_point(struct schema_check *c, const struct image_ctx *ctx, const json_t *point, bool keypoint)
{
    size_t arity = keypoint ? 3 : 2;
    double x = 0, y = 0;
    bool labelled = true;
    size_t mark;
    int r;

    if (!json_is_array(point) || json_array_size(point) != arity)
        return schema_reject(c, keypoint ? "must be [x, y, v]" : "must be [x, y]");
    mark = schema_enter_index(c, 0);
    r = schema_want_number(c, json_array_get(point, 0), &x);
    if (r < 0)
        return r;
    schema_leave(c, mark);
    mark = schema_enter_index(c, 1);
    r = schema_want_number(c, json_array_get(point, 1), &y);
    if (r < 0)
        return r;
    schema_leave(c, mark);
    if (keypoint) {
        const json_t *v = json_array_get(point, 2);
        mark = schema_enter_index(c, 2);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 2)
            return schema_reject(c, "must be 0, 1 or 2");
        labelled = json_integer_value(v) != 0;
        schema_leave(c, mark);
    }
    if (!labelled)
        return 0;
    mark = schema_enter_index(c, 0);
    r = check_coordinate(c, x, ctx->width, "width");
    if (r < 0)
        return r;
    schema_leave(c, mark);
    mark = schema_enter_index(c, 1);
    r = check_coordinate(c, y, ctx->height, "height");
    if (r < 0)
        return r;
    schema_leave(c, mark);
    return 0;
}

/*
 * A list of points at the current path with at least `min` of them;
 * *total counts the points of the shape so far, against SCHEMA_MAX_POINTS.
 */
static int check_points(struct schema_check *c,
                        const struct image_ctx *ctx,
                        const json_t *points,
                        size_t min,
                        bool keypoint,
                        size_t *total)
{
    size_t i, n;
    int r;

    if (!json_is_array(points))
        return schema_reject(c, "must be an array");
    n = json_array_size(points);
    if (n > SCHEMA_MAX_POINTS - *total)
        return schema_reject(c, "too many points (at most %d per shape)", SCHEMA_MAX_POINTS);
    if (n < min)
        return schema_reject(c, "must have at least %zu points", min);
    for (i = 0; i < n; i++) {
        size_t mark = schema_enter_index(c, i);
        r = check_point(c, ctx, json_array_get(points, i), keypoint);
        if (r < 0)
            return r;
        schema_leave(c, mark);
    }
    *total += n;
    return 0;
}

/* obj.points with at least `min` points. */
static int check_points_field(struct schema_check *c,
                              const struct image_ctx *ctx,
                              const json_t *obj,
                              size_t min)
{
    const json_t *points = json_object_get(obj, "points");
    size_t total = 0, mark;
    int r;

    if (!points)
        return schema_reject_key(c, "points", "is required");
    mark = schema_enter_key(c, "points");
    r = check_points(c, ctx, points, min, false, &total);
    if (r < 0)
        return r;
    schema_leave(c, mark);
    return 0;
}

/* A polygon: "points" (>= 3) or, seen in several pieces, "parts" (each >= 3). */
static int check_polygon(struct schema_check *c, const struct image_ctx *ctx, const json_t *obj)
{
    const json_t *parts = json_object_get(obj, "parts");
    size_t total = 0, i, mark;
    int r;

    if (!parts)
        return check_points_field(c, ctx, obj, 3);
    if (json_object_get(obj, "points"))
        return schema_reject(c, "must have either points or parts, not both");
    mark = schema_enter_key(c, "parts");
    if (!json_is_array(parts))
        return schema_reject(c, "must be an array");
    if (json_array_size(parts) == 0)
        return schema_reject(c, "must not be empty");
    for (i = 0; i < json_array_size(parts); i++) {
        size_t mark2 = schema_enter_index(c, i);
        r = check_points(c, ctx, json_array_get(parts, i), 3, false, &total);
        if (r < 0)
            return r;
        schema_leave(c, mark2);
    }
    schema_leave(c, mark);
    return 0;
}

/* The config object of a label known to be in ctx->labels. */
static const json_t *label_config(const struct image_ctx *ctx, const json_t *label)
{
    const json_t *index =
        json_object_getn(ctx->labels, json_string_value(label), json_string_length(label));

    return json_array_get(ctx->config_labels, (size_t)json_integer_value(index));
}

/* Keypoints: one [x, y, v] per keypoint that the object's label defines. */
static int check_keypoints(struct schema_check *c,
                           const struct image_ctx *ctx,
                           const json_t *obj,
                           const json_t *label)
{
    const json_t *names = json_object_get(label_config(ctx, label), "keypoints");
    const json_t *points = json_object_get(obj, "points");
    size_t n = json_array_size(names), total = 0, mark;
    int r;

    if (n == 0)
        return schema_reject_key(c, "label", "label '%s' has no keypoints",
                                 json_string_value(label));
    if (!points)
        return schema_reject_key(c, "points", "is required");
    mark = schema_enter_key(c, "points");
    if (!json_is_array(points))
        return schema_reject(c, "must be an array");
    if (json_array_size(points) != n)
        return schema_reject(c, "must have %zu points (one per keypoint of '%s')", n,
                             json_string_value(label));
    r = check_points(c, ctx, points, n, true, &total);
    if (r < 0)
        return r;
    schema_leave(c, mark);
    return 0;
}

static int check_object(struct schema_check *c,
                        const struct image_ctx *ctx,
                        const json_t *obj,
                        size_t index,
                        json_t *ids)
{
    static const char *const *const keys_of[] = {
        [SHAPE_BOX] = box_keys,
        [SHAPE_POLYGON] = polygon_keys,
        [SHAPE_POLYLINE] = points_keys,
        [SHAPE_KEYPOINTS] = points_keys,
    };
    const json_t *type = NULL, *label = NULL;
    const char *id;
    int shape, r;

    r = schema_want_object(c, obj);
    if (r < 0)
        return r;
    r = schema_field_string(c, obj, "type", true, &type);
    if (r < 0)
        return r;
    shape = shape_of(json_string_value(type));
    if (shape < 0)
        return schema_reject_key(c, "type", "must be one of box, polygon, polyline, keypoints");
    if (!schema_set_has(ctx->tools, type))
        return schema_reject_key(c, "type", "tool '%s' is not enabled for this project",
                                 tool_names[shape]);
    r = schema_known_keys(c, obj, keys_of[shape]);
    if (r < 0)
        return r;
    r = schema_field_string(c, obj, "label", true, &label);
    if (r < 0)
        return r;
    if (!schema_set_has(ctx->labels, label))
        return schema_reject_key(c, "label", "unknown label '%s'", json_string_value(label));
    r = schema_field_id(c, obj, ids, index, &id);
    if (r < 0)
        return r;
    r = schema_field_attrs(c, obj);
    if (r < 0)
        return r;

    switch (shape) {
    case SHAPE_BOX:
        return check_box(c, ctx, obj);
    case SHAPE_POLYGON:
        return check_polygon(c, ctx, obj);
    case SHAPE_POLYLINE:
        return check_points_field(c, ctx, obj, 2);
    case SHAPE_KEYPOINTS:
        return check_keypoints(c, ctx, obj, label);
    }
    return 0;
}

static int check_objects(struct schema_check *c,
                         const json_t *config,
                         const json_t *data,
                         const json_t *result)
{
    const json_t *objects = NULL;
    struct image_ctx ctx;
    json_t *ids;
    size_t i, mark;
    int r;

    r = schema_field_array(c, result, "objects", false, &objects);
    if (r < 0 || !objects)
        return r;
    mark = schema_enter_key(c, "objects");
    r = schema_check_count(c, objects, SCHEMA_MAX_ITEMS, "objects");
    if (r < 0)
        return r;
    ids = json_object();
    r = image_ctx_init(&ctx, config, data);
    if (r < 0 || !ids) {
        r = schema_nomem(c);
        goto out;
    }
    for (i = 0; i < json_array_size(objects); i++) {
        size_t mark2 = schema_enter_index(c, i);
        r = check_object(c, &ctx, json_array_get(objects, i), i, ids);
        if (r < 0)
            goto out;
        schema_leave(c, mark2);
    }
    schema_leave(c, mark);
    r = 0;
out:
    image_ctx_release(&ctx);
    json_decref(ids);
    return r;
}

static int image_check_result(const json_t *config,
                              const json_t *data,
                              const json_t *result,
                              struct schema_error *err)
{
    struct schema_check c;
    int r;

    schema_check_init(&c, err, -ERR_INVALID_RESULT);
    r = schema_want_object(&c, result);
    if (r < 0)
        return r;
    r = schema_known_keys(&c, result, result_keys);
    if (r < 0)
        return r;
    r = schema_classes_result(&c, config, result);
    if (r < 0)
        return r;
    r = check_objects(&c, config, data, result);
    if (r < 0)
        return r;
    return schema_check_done(&c);
}

/* ------------------------------------------------------------------------ */
/* Labels                                                                   */
/* ------------------------------------------------------------------------ */

static void
image_labels(const json_t *config, const json_t *result, schema_label_fn emit, void *ctx)
{
    const json_t *objects = json_object_get(result, "objects");
    size_t i;

    (void)config; /* the contract passes it; this kind does not need it */

    schema_classes_labels(result, emit, ctx);
    for (i = 0; i < json_array_size(objects); i++) {
        const json_t *obj = json_array_get(objects, i);
        const char *label = json_string_value(json_object_get(obj, "label"));
        const char *type = json_string_value(json_object_get(obj, "type"));

        if (label && type && shape_of(type) >= 0)
            emit(ctx, "objects", label, type);
    }
}

const struct schema_kind schema_kind_image = {
    .name = "image",
    .check_config = image_check_config,
    .check_task = image_check_task,
    .check_result = image_check_result,
    .labels = image_labels,
};
