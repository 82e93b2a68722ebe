/*
 * schema_harness.h: the test harness the schema unit tests share
 * (test_schema.c, test_schema_llm.c, test_schema_storyboard.c): JSON
 * written with single quotes, one validation stage run on a kind with its
 * earlier stages required to pass, and the expected answer (0, or the
 * error's path and message) checked with the caller's file and line.
 * Include after cmocka.h, jansson.h, core/err.h and schema/schema.h.
 */
#ifndef ANNOTD_TESTS_SCHEMA_HARNESS_H
#define ANNOTD_TESTS_SCHEMA_HARNESS_H

enum stage { STAGE_CONFIG, STAGE_TASK, STAGE_RESULT };

/* Parse JSON written with single quotes; fails the test on bad JSON. */
static json_t *parse_q(const char *text, const char *file, int line)
{
    size_t len = strlen(text);
    char *s = malloc(len + 1);
    json_error_t jerr;
    json_t *v;

    assert_non_null(s);
    for (size_t i = 0; i <= len; i++)
        s[i] = text[i] == '\'' ? '"' : text[i];
    v = json_loadb(s, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!v) {
        print_error("%s:%d: bad test JSON: %s: %s\n", file, line, jerr.text, s);
        free(s);
        _fail(file, line);
    }
    free(s);
    return v;
}

/*
 * Run one stage on parsed values. For a result the config and the data
 * must themselves be valid (the server checked them earlier), so the test
 * cannot pass by accident on a broken config.
 */
static int run_stage(const char *kind_name,
                     enum stage stage,
                     const json_t *config,
                     const json_t *data,
                     const json_t *result,
                     struct schema_error *err,
                     const char *file,
                     int line)
{
    const struct schema_kind *kind = schema_kind_find(kind_name);
    struct schema_error pre;

    if (!kind) {
        print_error("%s:%d: no kind '%s'\n", file, line, kind_name);
        _fail(file, line);
    }
    if (stage == STAGE_CONFIG)
        return kind->check_config(config, err);
    if (kind->check_config(config, &pre) != 0) {
        print_error("%s:%d: test config invalid: %s: %s\n", file, line, pre.path, pre.message);
        _fail(file, line);
    }
    if (stage == STAGE_TASK)
        return kind->check_task(config, data, err);
    if (kind->check_task(config, data, &pre) != 0) {
        print_error("%s:%d: test data invalid: %s: %s\n", file, line, pre.path, pre.message);
        _fail(file, line);
    }
    return kind->check_result(config, data, result, err);
}

static void expect_json(const char *kind,
                        enum stage stage,
                        const json_t *config,
                        const json_t *data,
                        const json_t *result,
                        const char *path,
                        const char *message,
                        const char *file,
                        int line)
{
    struct schema_error err;
    int want = path == NULL            ? 0
               : stage == STAGE_RESULT ? -ERR_INVALID_RESULT
                                       : -ERR_INVALID_REQUEST;
    int r;

    memset(&err, 0, sizeof(err));
    strcpy(err.path, "(untouched)");
    strcpy(err.message, "(untouched)");
    r = run_stage(kind, stage, config, data, result, &err, file, line);
    if (r != want) {
        print_error("%s:%d: returned %d, want %d (path '%s', message '%s')\n", file, line, r, want,
                    err.path, err.message);
        _fail(file, line);
    }
    if (path && (strcmp(err.path, path) != 0 || strcmp(err.message, message) != 0)) {
        print_error("%s:%d: got '%s' '%s'\n%*swant '%s' '%s'\n", file, line, err.path, err.message,
                    (int)strlen(file) + 6, "", path, message);
        _fail(file, line);
    }
}

static void expect_q(const char *kind,
                     enum stage stage,
                     const char *config,
                     const char *data,
                     const char *result,
                     const char *path,
                     const char *message,
                     const char *file,
                     int line)
{
    json_t *c = parse_q(config, file, line);
    json_t *d = data ? parse_q(data, file, line) : NULL;
    json_t *r = result ? parse_q(result, file, line) : NULL;

    expect_json(kind, stage, c, d, r, path, message, file, line);
    json_decref(c);
    json_decref(d);
    json_decref(r);
}

#define Q(text) parse_q(text, __FILE__, __LINE__)

#endif
