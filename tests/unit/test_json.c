/*
 * Unit tests for src/core/json: json_parse and its limits, the accessors,
 * json_unknown_key, json_escape, and the streaming writer (exact output).
 */
/* cmocka needs these before it, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/json.h"

/* ------------------------------------------------------------------------ */
/* Harness                                                                  */
/* ------------------------------------------------------------------------ */

/* Parse a C string with json_parse(); returns the error code. */
static int parse_s(const char *s, int max_depth, json_t **ret)
{
    struct json_error_info info;
    json_t *v = NULL;
    int r = json_parse(s, strlen(s), max_depth, &v, &info);

    if (r == 0) {
        assert_non_null(v);
        if (ret)
            *ret = v;
        else
            json_decref(v);
    } else {
        assert_null(v); /* *ret untouched on failure */
        assert_true(info.message[0] != '\0');
        assert_non_null(memchr(info.message, '\0', sizeof(info.message)));
    }
    return r;
}

/* A string of n '[' then n ']'. Caller frees. */
static char *nested_arrays(int n)
{
    char *s = malloc((size_t)n * 2 + 1);

    assert_non_null(s);
    memset(s, '[', (size_t)n);
    memset(s + n, ']', (size_t)n);
    s[2 * n] = '\0';
    return s;
}

/* ------------------------------------------------------------------------ */
/* json_parse                                                               */
/* ------------------------------------------------------------------------ */

static void test_parse_ok(void **state)
{
    json_t *v = NULL;

    (void)state;
    assert_int_equal(parse_s("{\"a\":[1,2,{\"b\":null}],\"c\":\"d\"}", 64, &v), 0);
    assert_true(json_is_object(v));
    assert_int_equal(json_array_size(json_object_get(v, "a")), 3);
    assert_string_equal(json_get_str(v, "c"), "d");
    json_decref(v);

    /* any value at the top, with surrounding whitespace */
    static const char *const any[] = { "1",
                                       "-1.5e3",
                                       "\"s\"",
                                       "null",
                                       " true ",
                                       "[]",
                                       "{}",
                                       "\"\\u00e9\\ud83d\\ude00\"",
                                       "\"\xe4\xb8\xad\xf0\x9f\x98\x80\"" };
    for (size_t i = 0; i < sizeof(any) / sizeof(any[0]); i++)
        if (parse_s(any[i], 64, NULL) != 0)
            fail_msg("'%s' should parse", any[i]);

    /* the length bounds the input: no NUL needed, trailing bytes ignored */
    const char *p = "[1,2]garbage";
    assert_int_equal(json_parse(p, 5, 64, &v, NULL), 0);
    assert_int_equal(json_array_size(v), 2);
    json_decref(v);
}

static void test_parse_invalid(void **state)
{
    static const char *const bad[] = {
        "",    " ",   "{",          "}",         "[1,]",          "{\"a\":}",   "{'a':1}",
        "1 2", "NaN", "Infinity",   "[1]x",      "{\"a\" 1}",     "\"abc",      "01",
        "+1",  "tru", "[\"a\\x\"]", "\"\\u12\"", "\"tab\there\"", "{\"a\":1,}",
    };
    struct json_error_info info;
    json_t *v = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (parse_s(bad[i], 64, NULL) != -ERR_INVALID_JSON)
            fail_msg("'%s' should be invalid JSON", bad[i]);

    /* the error says where: line and column */
    memset(&info, 0, sizeof(info));
    assert_int_equal(json_parse("{\n  \"a\": x}", 11, 64, &v, &info), -ERR_INVALID_JSON);
    assert_null(v);
    assert_int_equal(info.line, 2);
    assert_true(info.column > 0);
    assert_true(strlen(info.message) > 0);

    /* ret_info may be NULL */
    assert_int_equal(json_parse("[", 1, 64, &v, NULL), -ERR_INVALID_JSON);
    assert_null(v);
}

static void test_parse_duplicate_keys(void **state)
{
    (void)state;
    assert_int_equal(parse_s("{\"a\":1,\"a\":2}", 64, NULL), -ERR_INVALID_JSON);
    assert_int_equal(parse_s("{\"x\":{\"k\":1,\"y\":2,\"k\":3}}", 64, NULL), -ERR_INVALID_JSON);
    assert_int_equal(parse_s("[{\"a\":1},{\"a\":1,\"a\":1}]", 64, NULL), -ERR_INVALID_JSON);
    /* an escape spelling the same key is still a duplicate */
    assert_int_equal(parse_s("{\"a\":1,\"\\u0061\":2}", 64, NULL), -ERR_INVALID_JSON);
    /* same key in sibling objects is fine */
    assert_int_equal(parse_s("[{\"a\":1},{\"a\":1}]", 64, NULL), 0);
}

static void test_parse_invalid_utf8(void **state)
{
    static const char *const bad[] = {
        "\"\xff\"",             /* never valid */
        "\"\xc0\xaf\"",         /* overlong '/' */
        "\"\xe0\x80\xaf\"",     /* overlong, 3 bytes */
        "\"\xed\xa0\x80\"",     /* UTF-16 surrogate D800 */
        "\"\xf4\x90\x80\x80\"", /* U+110000 */
        "\"\xe4\xb8\"",         /* truncated */
        "\"\x80\"",             /* lone continuation */
        "{\"\xfe\":1}",         /* in a key */
        "\"\\ud800\"",          /* lone escaped surrogate */
        "\"\\udc00\\ud800\"",   /* reversed pair */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (parse_s(bad[i], 64, NULL) != -ERR_INVALID_JSON)
            fail_msg("bad UTF-8 case %zu should be rejected", i);
}

static void test_parse_rejects_nul(void **state)
{
    json_t *v = NULL;

    (void)state;
    assert_int_equal(parse_s("\"a\\u0000b\"", 64, NULL), -ERR_INVALID_JSON);
    assert_int_equal(parse_s("{\"a\\u0000\":1}", 64, NULL), -ERR_INVALID_JSON);
    /* a raw NUL byte inside the given length */
    assert_int_equal(json_parse("\"a\0b\"", 5, 64, &v, NULL), -ERR_INVALID_JSON);
    assert_int_equal(json_parse("[1]\0", 4, 64, &v, NULL), -ERR_INVALID_JSON);
    assert_null(v);
}

/* Well-formed JSON with an integer beyond 64 bits: -ERR_INVALID_REQUEST and where. */
static void check_range(const char *s, const char *want_path)
{
    struct json_error_info info;
    json_t *v = NULL;

    memset(&info, 0xa5, sizeof(info));
    int r = json_parse(s, strlen(s), 64, &v, &info);
    assert_null(v);
    if (r != -ERR_INVALID_REQUEST)
        fail_msg("'%s': %d, want -ERR_INVALID_REQUEST", s, r);
    assert_non_null(memchr(info.path, '\0', sizeof(info.path)));
    assert_true(info.message[0] != '\0');
    if (strcmp(info.path, want_path) != 0)
        fail_msg("'%s': path '%s', want '%s'", s, info.path, want_path);
}

static void test_parse_integer_range(void **state)
{
    json_t *v = NULL;

    (void)state;
    /* the int64 limits themselves are fine */
    assert_int_equal(parse_s("[9223372036854775807,-9223372036854775808]", 64, &v), 0);
    assert_int_equal(json_integer_value(json_array_get(v, 0)), 9223372036854775807LL);
    assert_int_equal(json_integer_value(json_array_get(v, 1)), -9223372036854775807LL - 1);
    json_decref(v);
    /* huge reals are reals, not range errors */
    assert_int_equal(parse_s("[1e300,-1e300,1e-300]", 64, NULL), 0);
    assert_int_equal(parse_s("[1e400]", 64, NULL), -ERR_INVALID_JSON);

    check_range("99999999999999999999", "");
    check_range("[1,99999999999999999999]", "[1]");
    check_range("{\"a\":{\"b\":[0,-99999999999999999999]}}", "a.b[1]");
    check_range("9223372036854775808", "");
    check_range("-9223372036854775809", "");
    /* ret_info may be NULL */
    v = NULL;
    assert_int_equal(json_parse("[18446744073709551616]", 22, 64, &v, NULL), -ERR_INVALID_REQUEST);
    assert_null(v);
    /* syntax errors win over range errors */
    assert_int_equal(parse_s("[99999999999999999999,]", 64, NULL), -ERR_INVALID_JSON);
}

/*
 * The path names the integer that is out of range, not an earlier value
 * that merely looks big once every number is a double.
 */
static void test_parse_integer_range_path(void **state)
{
    (void)state;
    check_range("[9223372036854775807,18446744073709551616]", "[1]");
    check_range("[-9223372036854775808,-9223372036854775809]", "[1]");
    check_range("{\"big\":1e300,\"n\":99999999999999999999}", "n");
}

static void test_parse_depth(void **state)
{
    struct json_error_info info;
    json_t *v = NULL;
    char *s;

    (void)state;
    s = nested_arrays(64);
    assert_int_equal(parse_s(s, 64, NULL), 0);
    free(s);

    s = nested_arrays(65);
    memset(&info, 0, sizeof(info));
    assert_int_equal(json_parse(s, strlen(s), 64, &v, &info), -ERR_TOO_DEEP);
    assert_null(v);
    assert_non_null(strstr(info.message, "64"));
    /* 0 means no limit of ours */
    assert_int_equal(parse_s(s, 0, NULL), 0);
    free(s);

    /* objects count as levels too */
    assert_int_equal(parse_s("{\"a\":{\"b\":{}}}", 3, NULL), 0);
    assert_int_equal(parse_s("{\"a\":{\"b\":{}}}", 2, NULL), -ERR_TOO_DEEP);
    assert_int_equal(parse_s("[{\"a\":[{}]}]", 4, NULL), 0);
    assert_int_equal(parse_s("[{\"a\":[{}]}]", 3, NULL), -ERR_TOO_DEEP);
    /* siblings do not add up */
    assert_int_equal(parse_s("[[],[],[1],{}]", 2, NULL), 0);
    /* scalars have depth 0 */
    assert_int_equal(parse_s("1", 1, NULL), 0);

    /* brackets inside strings are not nesting */
    assert_int_equal(parse_s("[\"[[[[[[[[{{{{{{{{\"]", 1, NULL), 0);
    assert_int_equal(parse_s("{\"[[[[\":\"]]]]{{{{\"}", 1, NULL), 0);
    /* an escaped quote does not end the string */
    assert_int_equal(parse_s("[\"\\\"[[[[\"]", 1, NULL), 0);
    /* an escaped backslash does end it: the brackets after it count */
    assert_int_equal(parse_s("[\"\\\\\",[[1]]]", 2, NULL), -ERR_TOO_DEEP);
    assert_int_equal(parse_s("[\"\\\\\",[[1]]]", 3, NULL), 0);
    /* the depth check runs before the syntax check */
    assert_int_equal(parse_s("[[[[x", 3, NULL), -ERR_TOO_DEEP);
}

static void test_depth_function(void **state)
{
    (void)state;
#define D(s) json_depth((s), sizeof(s) - 1)
    assert_int_equal(D(""), 0);
    assert_int_equal(D("1"), 0);
    assert_int_equal(D("\"[{\""), 0);
    assert_int_equal(D("[]"), 1);
    assert_int_equal(D("{}"), 1);
    assert_int_equal(D("[{}]"), 2);
    assert_int_equal(D("[[],[[]]]"), 3);
    assert_int_equal(D("[\"]]]\",[[\"[\"]]]"), 3);
    assert_int_equal(D("[\"\\\"]\",[]]"), 2);
    assert_int_equal(D("[\"\\\\\",[]]"), 2);
    /* only the slice counts */
    assert_int_equal(json_depth("[[[[", 2), 2);
#undef D
}

/* ------------------------------------------------------------------------ */
/* accessors                                                                */
/* ------------------------------------------------------------------------ */

static void test_accessors(void **state)
{
    json_t *v = NULL;
    long long n = 7;

    (void)state;
    assert_int_equal(parse_s("{\"s\":\"str\",\"i\":-12,\"r\":1.5,\"n\":null,\"o\":{}}", 64, &v), 0);
    assert_string_equal(json_get_str(v, "s"), "str");
    assert_null(json_get_str(v, "i"));
    assert_null(json_get_str(v, "missing"));
    assert_null(json_get_str(NULL, "s"));
    assert_true(json_get_int(v, "i", &n));
    assert_int_equal(n, -12);
    n = 7;
    assert_false(json_get_int(v, "r", &n));
    assert_false(json_get_int(v, "s", &n));
    assert_false(json_get_int(v, "n", &n));
    assert_false(json_get_int(v, "missing", &n));
    assert_false(json_get_int(NULL, "i", &n));
    assert_int_equal(n, 7);
    /* a non-object answers "absent" */
    json_t *arr = json_array();
    assert_null(json_get_str(arr, "s"));
    assert_false(json_get_int(arr, "i", &n));
    json_decref(arr);
    json_decref(v);
}

static void test_unknown_key(void **state)
{
    static const char *const ab[] = { "a", "b", NULL };
    static const char *const a_only[] = { "a", NULL };
    static const char *const none[] = { NULL };
    json_t *v = NULL;

    (void)state;
    assert_int_equal(parse_s("{\"a\":1,\"b\":2}", 64, &v), 0);
    assert_null(json_unknown_key(v, ab));
    assert_string_equal(json_unknown_key(v, a_only), "b");
    assert_string_equal(json_unknown_key(v, none), "a");
    json_decref(v);

    assert_int_equal(parse_s("{}", 64, &v), 0);
    assert_null(json_unknown_key(v, none));
    json_decref(v);

    /* keys are compared whole, not by prefix */
    assert_int_equal(parse_s("{\"ab\":1}", 64, &v), 0);
    assert_string_equal(json_unknown_key(v, ab), "ab");
    json_decref(v);
    assert_int_equal(parse_s("{\"\":1}", 64, &v), 0);
    assert_string_equal(json_unknown_key(v, ab), "");
    json_decref(v);
}

/* ------------------------------------------------------------------------ */
/* json_escape                                                              */
/* ------------------------------------------------------------------------ */

static void check_escape(const char *in, size_t len, const char *want)
{
    struct buf b;

    buf_init(&b, 0);
    assert_int_equal(json_escape(&b, in, len), 0);
    assert_string_equal(b.p, want);
    assert_int_equal(b.len, strlen(want));
    buf_release(&b);
}

static void test_escape(void **state)
{
    (void)state;
    check_escape("", 0, "\"\"");
    check_escape("plain", 5, "\"plain\"");
    check_escape("q\"b\\s/", 6, "\"q\\\"b\\\\s/\"");
    check_escape("\n\r\t", 3, "\"\\n\\r\\t\"");
    check_escape("\b\f\x01\x1f\x7f", 5, "\"\\u0008\\u000c\\u0001\\u001f\\u007f\"");
    check_escape("a\0b", 3, "\"a\\u0000b\"");
    check_escape("<script>&amp;</script>", 22,
                 "\"\\u003cscript\\u003e\\u0026amp;\\u003c/script\\u003e\"");
    /* UTF-8 passes through as is */
    check_escape("\xe4\xb8\xad\xf0\x9f\x98\x80 \xe2\x80\xa8", 11,
                 "\"\xe4\xb8\xad\xf0\x9f\x98\x80 \xe2\x80\xa8\"");
    /* escapes at the very start and end, and only escapes */
    check_escape("\"x\"", 3, "\"\\\"x\\\"\"");
    check_escape("\\\\", 2, "\"\\\\\\\\\"");
    /* only len bytes are read */
    check_escape("abcdef", 2, "\"ab\"");
}

static void test_escape_appends(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 0);
    buf_adds(&b, "k=");
    assert_int_equal(json_escape(&b, "v", 1), 0);
    assert_string_equal(b.p, "k=\"v\"");
    buf_release(&b);
}

static void test_escape_round_trip(void **state)
{
    /* every byte value below 0x80, then some UTF-8 */
    char in[128 + 16];
    size_t n = 0;
    struct buf b;
    json_error_t e;

    (void)state;
    for (int c = 0; c < 128; c++)
        in[n++] = (char)c;
    memcpy(in + n, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9);
    n += 9;
    buf_init(&b, 0);
    assert_int_equal(json_escape(&b, in, n), 0);
    /* the output is pure printable ASCII apart from the UTF-8 tail */
    for (size_t i = 0; i < b.len - 10; i++)
        assert_true(b.p[i] >= 0x20 && b.p[i] < 0x7f);
    assert_null(strchr(b.p, '<'));
    assert_null(strchr(b.p, '>'));
    assert_null(strchr(b.p, '&'));
    json_t *v = json_loadb(b.p, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    assert_non_null(v);
    assert_int_equal(json_string_length(v), n);
    assert_memory_equal(json_string_value(v), in, n);
    json_decref(v);
    buf_release(&b);
}

static void test_escape_cap(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 8);
    assert_int_equal(json_escape(&b, "0123456789", 10), -E2BIG);
    assert_int_equal(b.err, -E2BIG);
    assert_int_equal(b.p[b.len], '\0');
    buf_release(&b);

    /* the escaped form may exceed the cap even when the input fits */
    buf_init(&b, 10);
    assert_int_equal(json_escape(&b, "\x01\x01", 2), -E2BIG);
    buf_release(&b);
}

/* ------------------------------------------------------------------------ */
/* writer                                                                   */
/* ------------------------------------------------------------------------ */

static void test_jw_nested(void **state)
{
    struct buf b;
    struct jw w;

    (void)state;
    buf_init(&b, 0);
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kint(&w, "a", 1);
    jw_key(&w, "b");
    jw_arr_begin(&w);
    jw_int(&w, 1);
    jw_str(&w, "x");
    jw_null(&w);
    jw_bool(&w, true);
    jw_obj_begin(&w);
    jw_obj_end(&w);
    jw_arr_begin(&w);
    jw_arr_end(&w);
    jw_arr_begin(&w);
    jw_arr_begin(&w);
    jw_int(&w, -2);
    jw_arr_end(&w);
    jw_arr_end(&w);
    jw_arr_end(&w);
    jw_kstr(&w, "c", NULL);
    jw_kbool(&w, "d", false);
    jw_key(&w, "e");
    jw_obj_begin(&w);
    jw_kstr(&w, "f", "g");
    jw_key(&w, "h");
    jw_obj_begin(&w);
    jw_obj_end(&w);
    jw_kint(&w, "i", -9223372036854775807LL - 1);
    jw_obj_end(&w);
    jw_obj_end(&w);
    assert_int_equal(b.err, 0);
    assert_string_equal(b.p,
                        "{\"a\":1,\"b\":[1,\"x\",null,true,{},[],[[-2]]],\"c\":null,"
                        "\"d\":false,\"e\":{\"f\":\"g\",\"h\":{},\"i\":-9223372036854775808}}");
    assert_int_equal(w.depth, 0);
    buf_release(&b);
}

static void test_jw_top_level_and_sequence(void **state)
{
    struct buf b;
    struct jw w;

    (void)state;
    buf_init(&b, 0);
    jw_init(&w, &b);
    jw_str(&w, "top");
    assert_string_equal(b.p, "\"top\"");
    buf_clear(&b);

    /* one writer reused for consecutive JSON Lines */
    for (int i = 0; i < 3; i++) {
        jw_init(&w, &b);
        jw_obj_begin(&w);
        jw_kint(&w, "n", i);
        jw_obj_end(&w);
        buf_addch(&b, '\n');
    }
    assert_string_equal(b.p, "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n");
    buf_release(&b);
}

static void test_jw_escapes(void **state)
{
    struct buf b;
    struct jw w;

    (void)state;
    buf_init(&b, 0);
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kstr(&w, "k\"<", "a\"b\\c\n\r\t\x01\x1f<>&/\xc3\xa9");
    jw_key(&w, "n");
    jw_strn(&w, "x\0y", 3);
    jw_obj_end(&w);
    assert_string_equal(b.p, "{\"k\\\"\\u003c\":\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u001f\\u003c\\u003e"
                             "\\u0026/\xc3\xa9\",\"n\":\"x\\u0000y\"}");
    buf_release(&b);
}

static void test_jw_time(void **state)
{
    struct buf b;
    struct jw w;

    (void)state;
    buf_init(&b, 0);
    jw_init(&w, &b);
    jw_arr_begin(&w);
    jw_time(&w, 0);
    jw_time(&w, 1764360000123LL);
    jw_time(&w, -1);
    jw_obj_begin(&w);
    jw_ktime(&w, "at", 1709164800000LL);
    jw_ktime(&w, "never", -5);
    jw_obj_end(&w);
    jw_arr_end(&w);
    assert_string_equal(b.p, "[\"1970-01-01T00:00:00.000Z\",\"2025-11-28T20:00:00.123Z\",null,"
                             "{\"at\":\"2024-02-29T00:00:00.000Z\",\"never\":null}]");
    buf_release(&b);
}

static void test_jw_raw_and_json(void **state)
{
    struct buf b;
    struct jw w;
    json_t *v = NULL;

    (void)state;
    assert_int_equal(parse_s("{\"z\":1,\"a\":[true,\"s\"],\"m\":{}}", 64, &v), 0);
    buf_init(&b, 0);
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kraw(&w, "raw", "{\"x\":[1, 2]}", 12);
    jw_kraw(&w, "empty", "", 0);
    jw_kraw(&w, "nul", NULL, 0);
    jw_key(&w, "json");
    jw_json(&w, v); /* keys keep their order */
    jw_key(&w, "none");
    jw_json(&w, NULL);
    jw_key(&w, "list");
    jw_arr_begin(&w);
    jw_raw(&w, "1", 1);
    jw_raw(&w, "2", 1);
    jw_json(&w, v);
    jw_arr_end(&w);
    jw_obj_end(&w);
    assert_int_equal(b.err, 0);
    assert_string_equal(b.p, "{\"raw\":{\"x\":[1, 2]},\"empty\":null,\"nul\":null,"
                             "\"json\":{\"z\":1,\"a\":[true,\"s\"],\"m\":{}},\"none\":null,"
                             "\"list\":[1,2,{\"z\":1,\"a\":[true,\"s\"],\"m\":{}}]}");
    buf_release(&b);
    json_decref(v);
}

static void test_jw_double(void **state)
{
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        { 0.0, "0" },
        { 3.0, "3" },
        { -42.0, "-42" },
        { 1.5, "1.5" },
        { 0.1, "0.10000000000000001" },
        { -2.5e-7, "-2.4999999999999999e-07" },
        { 123456.789, "123456.789" },
        { 1e15, "1000000000000000" },
        { 1e16, "10000000000000000" },
        { 1e300, "1.0000000000000001e+300" },
        { -1e300, "-1.0000000000000001e+300" },
        { NAN, "null" },
        { INFINITY, "null" },
        { -INFINITY, "null" },
    };
    struct buf b;
    struct jw w;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf_init(&b, 0);
        jw_init(&w, &b);
        jw_double(&w, cases[i].v);
        if (strcmp(b.p, cases[i].want) != 0)
            fail_msg("jw_double case %zu: got '%s', want '%s'", i, b.p, cases[i].want);
        /* every output is valid JSON */
        json_t *v = json_loadb(b.p, b.len, JSON_DECODE_ANY, NULL);
        assert_non_null(v);
        json_decref(v);
        buf_release(&b);
    }

    buf_init(&b, 0);
    jw_init(&w, &b);
    jw_arr_begin(&w);
    jw_double(&w, 1);
    jw_double(&w, 2.25);
    jw_arr_end(&w);
    assert_string_equal(b.p, "[1,2.25]");
    buf_release(&b);
}

static void test_jw_depth_limit(void **state)
{
    struct buf b;
    struct jw w;

    (void)state;
    buf_init(&b, 0);
    jw_init(&w, &b);
    for (int i = 0; i < JW_MAX_DEPTH; i++)
        jw_arr_begin(&w);
    jw_int(&w, 1);
    jw_int(&w, 2);
    for (int i = 0; i < JW_MAX_DEPTH; i++)
        jw_arr_end(&w);
    assert_int_equal(b.err, 0);
    assert_int_equal(b.len, 2 * JW_MAX_DEPTH + 3);
    assert_int_equal(json_depth(b.p, b.len), JW_MAX_DEPTH);
    assert_non_null(strstr(b.p, "[1,2]"));
    buf_release(&b);

    /* one level more is an error (sticky in the buffer) */
    buf_init(&b, 0);
    jw_init(&w, &b);
    for (int i = 0; i <= JW_MAX_DEPTH; i++)
        jw_obj_begin(&w);
    assert_int_equal(b.err, -E2BIG);
    buf_release(&b);
}

static void test_jw_cap(void **state)
{
    struct buf b;
    struct jw w;

    (void)state;
    buf_init(&b, 16);
    jw_init(&w, &b);
    jw_arr_begin(&w);
    for (int i = 0; i < 100; i++)
        jw_int(&w, i);
    jw_arr_end(&w);
    assert_int_equal(b.err, -E2BIG);
    assert_true(b.len <= 16);
    assert_int_equal(b.p[b.len], '\0');
    buf_release(&b);
}

static void test_dump_buf(void **state)
{
    struct buf b;
    json_t *v = NULL;

    (void)state;
    assert_int_equal(parse_s("{ \"b\" : [ 1 , 2.5 , \"\\u00e9<\" ] , \"a\" : null }", 64, &v), 0);
    buf_init(&b, 0);
    buf_adds(&b, ">");
    assert_int_equal(json_dump_buf(v, &b), 0);
    assert_string_equal(b.p, ">{\"b\":[1,2.5,\"\xc3\xa9<\"],\"a\":null}");
    buf_release(&b);

    /* a scalar at the top */
    json_t *s = json_string("x");
    buf_init(&b, 0);
    assert_int_equal(json_dump_buf(s, &b), 0);
    assert_string_equal(b.p, "\"x\"");
    buf_release(&b);
    json_decref(s);

    /* over the cap: the buffer's error */
    buf_init(&b, 5);
    assert_int_equal(json_dump_buf(v, &b), -E2BIG);
    buf_release(&b);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_parse_duplicate_keys),
        cmocka_unit_test(test_parse_invalid_utf8),
        cmocka_unit_test(test_parse_rejects_nul),
        cmocka_unit_test(test_parse_integer_range),
        cmocka_unit_test(test_parse_integer_range_path),
        cmocka_unit_test(test_parse_depth),
        cmocka_unit_test(test_depth_function),
        cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_escape_appends),
        cmocka_unit_test(test_escape_round_trip),
        cmocka_unit_test(test_escape_cap),
        cmocka_unit_test(test_jw_nested),
        cmocka_unit_test(test_jw_top_level_and_sequence),
        cmocka_unit_test(test_jw_escapes),
        cmocka_unit_test(test_jw_time),
        cmocka_unit_test(test_jw_raw_and_json),
        cmocka_unit_test(test_jw_double),
        cmocka_unit_test(test_jw_depth_limit),
        cmocka_unit_test(test_jw_cap),
        cmocka_unit_test(test_dump_buf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
