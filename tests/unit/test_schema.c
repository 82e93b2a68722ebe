/*
 * Unit tests for src/schema: configs, task data, results and labels of the
 * kinds "image" and "text". Every rejection is checked for its exact path
 * and message, which the API answers verbatim.
 *
 * JSON in these tests is written with single quotes, turned into double
 * quotes before parsing (none of the texts needs a real apostrophe).
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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "schema/schema.h"

#include "schema_harness.h"

#define CONFIG_OK(kind, config) \
 expect_q(kind, STAGE_CONFIG, config, NULL, NULL, NULL, NULL, __FILE__, __LINE__)
#define CONFIG_ERR(kind, config, path, message) \
 expect_q(kind, STAGE_CONFIG, config, NULL, NULL, path, message, __FILE__, __LINE__)
#define TASK_OK(kind, config, data) \
 expect_q(kind, STAGE_TASK, config, data, NULL, NULL, NULL, __FILE__, __LINE__)
#define TASK_ERR(kind, config, data, path, message) \
 expect_q(kind, STAGE_TASK, config, data, NULL, path, message, __FILE__, __LINE__)
#define RESULT_OK(kind, config, data, result) \
 expect_q(kind, STAGE_RESULT, config, data, result, NULL, NULL, __FILE__, __LINE__)
#define RESULT_ERR(kind, config, data, result, path, message) \
 expect_q(kind, STAGE_RESULT, config, data, result, path, message, __FILE__, __LINE__)
#define RESULT_JSON_OK(kind, config, data, result) \
 expect_json(kind, STAGE_RESULT, config, data, result, NULL, NULL, __FILE__, __LINE__)
#define RESULT_JSON_ERR(kind, config, data, result, path, message) \
 expect_json(kind, STAGE_RESULT, config, data, result, path, message, __FILE__, __LINE__)


/* labels(): "field|label|value;" for each emitted triple, in order. */
static void collect_label(void *ctx, const char *field, const char *label, const char *value)
{
    char *out = ctx;
    size_t len = strlen(out);

    snprintf(out + len, 1024 - len, "%s|%s|%s;", field, label, value);
}

static void expect_labels(const char *kind_name,
                          const char *config,
                          const char *result,
                          const char *want,
                          const char *file,
                          int line)
{
    const struct schema_kind *kind = schema_kind_find(kind_name);
    json_t *c = parse_q(config, file, line);
    json_t *r = parse_q(result, file, line);
    char got[1024] = "";

    kind->labels(c, r, collect_label, got);
    if (strcmp(got, want) != 0) {
        print_error("%s:%d: labels '%s', want '%s'\n", file, line, got, want);
        _fail(file, line);
    }
    json_decref(c);
    json_decref(r);
}

#define LABELS(kind, config, result, want) \
 expect_labels(kind, config, result, want, __FILE__, __LINE__)

/* ------------------------------------------------------------------------ */
/* The table and schema_fail                                                */
/* ------------------------------------------------------------------------ */

static void test_kind_table(void **state)
{
    const char *const *names = schema_kind_names();
    size_t n = 0;

    (void)state;
    assert_non_null(schema_kind_find("image"));
    assert_non_null(schema_kind_find("text"));
    assert_string_equal(schema_kind_find("image")->name, "image");
    assert_string_equal(schema_kind_find("text")->name, "text");
    assert_null(schema_kind_find("video"));
    assert_null(schema_kind_find(""));
    assert_null(schema_kind_find("Image"));
    assert_null(schema_kind_find(NULL));
    for (; names[n]; n++) {
        const struct schema_kind *kind = schema_kind_find(names[n]);
        assert_non_null(kind);
        assert_non_null(kind->check_config);
        assert_non_null(kind->check_task);
        assert_non_null(kind->check_result);
        assert_non_null(kind->labels);
    }
    assert_int_equal(n, 4); /* image, text, llm, storyboard */
}

static void test_schema_fail(void **state)
{
    struct schema_error err;
    char long_path[300];

    (void)state;
    schema_fail(&err, "objects[2].w", "must be > %d", 0);
    assert_string_equal(err.path, "objects[2].w");
    assert_string_equal(err.message, "must be > 0");
    schema_fail(&err, NULL, "whole value");
    assert_string_equal(err.path, "");
    memset(long_path, 'a', sizeof(long_path) - 1);
    long_path[sizeof(long_path) - 1] = '\0';
    schema_fail(&err, long_path, "%s", long_path);
    assert_int_equal(strlen(err.path), sizeof(err.path) - 1);
    assert_int_equal(strlen(err.message), sizeof(err.message) - 1);
    schema_fail(NULL, "x", "no crash");
}

/* ------------------------------------------------------------------------ */
/* Text: config                                                             */
/* ------------------------------------------------------------------------ */

#define TEXT_CONFIG                                       \
 "{'classes':{'choices':['pos','neg'],'multiple':false}," \
 "'spans':{'labels':['PER','LOC'],'overlap':false},'relations':{'labels':['works_for']}}"

static void test_text_config_valid(void **state)
{
    (void)state;
    CONFIG_OK("text", TEXT_CONFIG);
    CONFIG_OK("text", "{'classes':{'choices':['pos','neg'],'multiple':false},"
                      "'spans':{'labels':['PER','LOC'],'overlap':false}}");
    CONFIG_OK("text", "{'classes':{'choices':['pos']}}");
    CONFIG_OK("text", "{'classes':{'choices':['a','b','c'],'multiple':true}}");
    CONFIG_OK("text", "{'spans':{'labels':['PER']}}");
    CONFIG_OK("text", "{'spans':{'labels':['PER'],'overlap':true}}");
    CONFIG_OK("text", "{'spans':{'labels':['人名','地名']},'relations':{'labels':['位于']}}");
}

static void test_text_config_invalid(void **state)
{
    (void)state;
    CONFIG_ERR("text", "[]", "", "must be an object");
    CONFIG_ERR("text", "'spans'", "", "must be an object");
    CONFIG_ERR("text", "{}", "", "must configure classes or spans");
    CONFIG_ERR("text", "{'relations':{'labels':['r']}}", "relations", "requires spans");
    CONFIG_ERR("text", "{'spans':{'labels':['PER']},'colour':1}", "colour", "unknown key");
    CONFIG_ERR("text", "{'classes':['pos']}", "classes", "must be an object");
    CONFIG_ERR("text", "{'classes':{}}", "classes.choices", "is required");
    CONFIG_ERR("text", "{'classes':{'choices':'pos'}}", "classes.choices", "must be an array");
    CONFIG_ERR("text", "{'classes':{'choices':[]}}", "classes.choices", "must not be empty");
    CONFIG_ERR("text", "{'classes':{'choices':['a',1]}}", "classes.choices[1]", "must be a string");
    CONFIG_ERR("text", "{'classes':{'choices':['a','']}}", "classes.choices[1]",
               "must not be empty");
    CONFIG_ERR("text", "{'classes':{'choices':['pos','neg','pos']}}", "classes.choices[2]",
               "duplicate choice 'pos'");
    CONFIG_ERR("text", "{'classes':{'choices':['a'],'multiple':'yes'}}", "classes.multiple",
               "must be a boolean");
    CONFIG_ERR("text", "{'classes':{'choices':['a'],'multi':true}}", "classes.multi",
               "unknown key");
    CONFIG_ERR("text", "{'spans':{}}", "spans.labels", "is required");
    CONFIG_ERR("text", "{'spans':{'labels':[]}}", "spans.labels", "must not be empty");
    CONFIG_ERR("text", "{'spans':{'labels':['PER','PER']}}", "spans.labels[1]",
               "duplicate label 'PER'");
    CONFIG_ERR("text", "{'spans':{'labels':['PER'],'overlap':0}}", "spans.overlap",
               "must be a boolean");
    CONFIG_ERR("text", "{'spans':{'labels':['PER'],'colors':{}}}", "spans.colors", "unknown key");
    CONFIG_ERR("text", "{'spans':true}", "spans", "must be an object");
    CONFIG_ERR("text", "{'spans':{'labels':['PER']},'relations':{'labels':[]}}", "relations.labels",
               "must not be empty");
    CONFIG_ERR("text", "{'spans':{'labels':['PER']},'relations':{'labels':['r'],'x':1}}",
               "relations.x", "unknown key");
    CONFIG_ERR("text", "{'spans':{'labels':['PER']},'relations':[]}", "relations",
               "must be an object");
}

static void test_config_name_caps(void **state)
{
    json_t *config = Q("{'spans':{'labels':[]}}");
    json_t *labels = json_object_get(json_object_get(config, "spans"), "labels");
    const struct schema_kind *text = schema_kind_find("text");
    struct schema_error err;
    char name[300];

    (void)state;
    memset(name, 'x', 256);
    name[256] = '\0';
    json_array_append_new(labels, json_string(name));
    assert_int_equal(text->check_config(config, &err), 0);
    name[256] = 'x';
    name[257] = '\0';
    json_array_append_new(labels, json_string(name));
    assert_int_equal(text->check_config(config, &err), -ERR_INVALID_REQUEST);
    assert_string_equal(err.path, "spans.labels[1]");
    assert_string_equal(err.message, "must be at most 256 bytes");

    json_array_clear(labels);
    for (int i = 0; i < 10001; i++) {
        snprintf(name, sizeof(name), "L%d", i);
        json_array_append_new(labels, json_string(name));
    }
    assert_int_equal(text->check_config(config, &err), -ERR_INVALID_REQUEST);
    assert_string_equal(err.path, "spans.labels");
    assert_string_equal(err.message, "must have at most 10000 entries");
    json_array_remove(labels, 0);
    assert_int_equal(text->check_config(config, &err), 0);
    json_decref(config);
}

/* ------------------------------------------------------------------------ */
/* Text: task data                                                          */
/* ------------------------------------------------------------------------ */

static void test_text_task(void **state)
{
    const struct schema_kind *text = schema_kind_find("text");
    struct schema_error err;
    json_t *config, *data;

    (void)state;
    TASK_OK("text", TEXT_CONFIG, "{'text':'Hello world!'}");
    TASK_OK("text", TEXT_CONFIG, "{'text':''}");
    TASK_OK("text", TEXT_CONFIG, "{'text':'张三在😀北京'}");
    TASK_OK("text", TEXT_CONFIG, "{'text':'x','source':'import.jsonl','meta':{'n':1}}");
    TASK_ERR("text", TEXT_CONFIG, "{}", "text", "is required");
    TASK_ERR("text", TEXT_CONFIG, "{'txt':'a'}", "text", "is required");
    TASK_ERR("text", TEXT_CONFIG, "{'text':5}", "text", "must be a string");
    TASK_ERR("text", TEXT_CONFIG, "{'text':null}", "text", "must be a string");
    TASK_ERR("text", TEXT_CONFIG, "{'text':['a']}", "text", "must be a string");
    TASK_ERR("text", TEXT_CONFIG, "'just text'", "", "must be an object");

    /* A value built in memory can bypass jansson's UTF-8 check. */
    config = Q(TEXT_CONFIG);
    data = json_object();
    json_object_set_new(data, "text", json_stringn_nocheck("a\xff", 2));
    assert_int_equal(text->check_task(config, data, &err), -ERR_INVALID_REQUEST);
    assert_string_equal(err.path, "text");
    assert_string_equal(err.message, "must be valid UTF-8");
    json_decref(data);
    json_decref(config);
}

/* ------------------------------------------------------------------------ */
/* Text: results                                                            */
/* ------------------------------------------------------------------------ */

#define HELLO   "{'text':'Hello world!'}" /* 12 code points */
#define CHINESE "{'text':'张三在😀北京'}"  /* 6 code points, 19 bytes */

static void test_text_result_valid(void **state)
{
    (void)state;
    RESULT_OK("text", TEXT_CONFIG, HELLO, "{}");
    RESULT_OK("text", TEXT_CONFIG, HELLO, "{'classes':[],'spans':[],'relations':[]}");
    RESULT_OK("text", TEXT_CONFIG, HELLO, "{'classes':['pos']}");
    RESULT_OK("text", TEXT_CONFIG, HELLO,
              "{'classes':['pos'],'spans':[{'id':'s1','start':0,'end':5,'label':'PER'},"
              "{'id':'s2','start':6,'end':11,'label':'LOC'}],"
              "'relations':[{'from':'s1','to':'s2','label':'works_for'}]}");
    RESULT_OK("text", TEXT_CONFIG, HELLO, "{'spans':[{'start':0,'end':12,'label':'PER'}]}");
    RESULT_OK("text", TEXT_CONFIG, HELLO,
              "{'spans':[{'start':11,'end':12,'label':'PER','attrs':{'note':'x','n':[1,{}]}}]}");
    RESULT_OK("text", "{'classes':{'choices':['a','b','c'],'multiple':true}}", HELLO,
              "{'classes':['c','a']}");
    RESULT_OK("text", "{'spans':{'labels':['PER']}}", "{'text':''}", "{'spans':[]}");
}

static void test_text_result_shape(void **state)
{
    (void)state;
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "[]", "", "must be an object");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "null", "", "must be an object");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'class':['pos']}", "class", "unknown key");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'classes':['pos'],'attrs':{}}", "attrs",
               "unknown key");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'spans':{}}", "spans", "must be an array");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'spans':[1]}", "spans[0]", "must be an object");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'relations':'s1>s2'}", "relations",
               "must be an array");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'relations':[[]]}", "relations[0]",
               "must be an object");
}

static void test_text_result_classes(void **state)
{
    (void)state;
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'classes':'pos'}", "classes", "must be an array");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'classes':['pos','neg']}", "classes",
               "must have at most one choice (multiple is false)");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'classes':['positive']}", "classes[0]",
               "unknown choice 'positive'");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'classes':['POS']}", "classes[0]",
               "unknown choice 'POS'");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'classes':[1]}", "classes[0]", "must be a string");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'classes':[null]}", "classes[0]", "must be a string");
    RESULT_ERR("text", "{'classes':{'choices':['a','b'],'multiple':true}}", HELLO,
               "{'classes':['a','b','a']}", "classes[2]", "duplicate choice 'a'");
    RESULT_ERR("text", "{'classes':{'choices':['a','b'],'multiple':true}}", HELLO,
               "{'classes':['a','z']}", "classes[1]", "unknown choice 'z'");
    RESULT_ERR("text", "{'spans':{'labels':['PER']}}", HELLO, "{'classes':[]}", "classes",
               "is not configured for this project");
}

static void test_text_result_spans(void **state)
{
    (void)state;
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'spans':[{'start':0,'end':13,'label':'PER'}]}",
               "spans[0].end", "must be <= 12 (text length in code points)");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'spans':[{'start':12,'end':13,'label':'PER'}]}",
               "spans[0].end", "must be <= 12 (text length in code points)");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'spans':[{'end':2,'label':'PER'}]}", "spans[0].start",
               "is required");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'spans':[{'start':0,'label':'PER'}]}", "spans[0].end",
               "is required");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'spans':[{'start':0,'end':2}]}", "spans[0].label",
               "is required");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'spans':[{'start':'0','end':2,'label':'PER'}]}",
               "spans[0].start", "must be an integer");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'spans':[{'start':0.0,'end':2,'label':'PER'}]}",
               "spans[0].start", "must be an integer");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'spans':[{'start':0,'end':2.5,'label':'PER'}]}",
               "spans[0].end", "must be an integer");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'spans':[{'start':-1,'end':2,'label':'PER'}]}",
               "spans[0].start", "must be >= 0");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'spans':[{'start':3,'end':3,'label':'PER'}]}",
               "spans[0].end", "must be > start");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'spans':[{'start':5,'end':2,'label':'PER'}]}",
               "spans[0].end", "must be > start");
    RESULT_ERR("text", TEXT_CONFIG, HELLO,
               "{'spans':[{'start':0,'end':2,'label':'PER'},{'start':3,'end':4,'label':'ORG'}]}",
               "spans[1].label", "unknown label 'ORG'");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'spans':[{'start':0,'end':2,'label':7}]}",
               "spans[0].label", "must be a string");
    RESULT_ERR("text", TEXT_CONFIG, HELLO,
               "{'spans':[{'start':0,'end':2,'label':'PER','colour':'red'}]}", "spans[0].colour",
               "unknown key");
    RESULT_ERR("text", TEXT_CONFIG, HELLO,
               "{'spans':[{'start':0,'end':2,'label':'PER','attrs':[]}]}", "spans[0].attrs",
               "must be an object");
    RESULT_ERR("text", TEXT_CONFIG, HELLO,
               "{'spans':[{'start':0,'end':2,'label':'PER','text':'He'}]}", "spans[0].text",
               "unknown key");
    RESULT_ERR("text", "{'classes':{'choices':['pos']}}", HELLO, "{'spans':[]}", "spans",
               "is not configured for this project");
    RESULT_ERR("text", "{'classes':{'choices':['pos']}}", HELLO,
               "{'spans':[{'start':0,'end':2,'label':'PER'}]}", "spans",
               "is not configured for this project");
}

static void test_text_result_span_ids(void **state)
{
    (void)state;
    RESULT_OK("text", TEXT_CONFIG, HELLO,
              "{'spans':[{'id':'a','start':0,'end':2,'label':'PER'},"
              "{'start':3,'end':4,'label':'PER'},{'start':5,'end':6,'label':'PER'}]}");
    RESULT_ERR("text", TEXT_CONFIG, HELLO,
               "{'spans':[{'id':'s1','start':0,'end':2,'label':'PER'},"
               "{'id':'s1','start':3,'end':4,'label':'PER'}]}",
               "spans[1].id", "duplicate id 's1'");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'spans':[{'id':'','start':0,'end':2,'label':'PER'}]}",
               "spans[0].id", "must not be empty");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'spans':[{'id':1,'start':0,'end':2,'label':'PER'}]}",
               "spans[0].id", "must be a string");
}

/* Offsets count code points: 张三在😀北京 is 6 of them in 19 bytes. */
static void test_text_result_code_points(void **state)
{
    (void)state;
    RESULT_OK("text", TEXT_CONFIG, CHINESE,
              "{'spans':[{'start':0,'end':2,'label':'PER'},{'start':4,'end':6,'label':'LOC'}]}");
    RESULT_OK("text", TEXT_CONFIG, CHINESE, "{'spans':[{'start':3,'end':4,'label':'PER'}]}");
    RESULT_OK("text", TEXT_CONFIG, CHINESE, "{'spans':[{'start':0,'end':6,'label':'PER'}]}");
    RESULT_ERR("text", TEXT_CONFIG, CHINESE, "{'spans':[{'start':4,'end':7,'label':'LOC'}]}",
               "spans[0].end", "must be <= 6 (text length in code points)");
    /* byte offsets of 北京 (13..19) are rejected */
    RESULT_ERR("text", TEXT_CONFIG, CHINESE, "{'spans':[{'start':13,'end':19,'label':'LOC'}]}",
               "spans[0].end", "must be <= 6 (text length in code points)");
    /* UTF-16 offsets of 北京 (5..7: the emoji is a surrogate pair) too */
    RESULT_ERR("text", TEXT_CONFIG, CHINESE, "{'spans':[{'start':5,'end':7,'label':'LOC'}]}",
               "spans[0].end", "must be <= 6 (text length in code points)");
    /* combining marks are code points of their own: e + U+0301 is 2 */
    RESULT_OK("text", TEXT_CONFIG, "{'text':'e\\u0301'}",
              "{'spans':[{'start':0,'end':2,'label':'PER'}]}");
    RESULT_ERR("text", TEXT_CONFIG, "{'text':'e\\u0301'}",
               "{'spans':[{'start':0,'end':3,'label':'PER'}]}", "spans[0].end",
               "must be <= 2 (text length in code points)");
    LABELS("text", TEXT_CONFIG,
           "{'spans':[{'start':0,'end':2,'label':'PER'},{'start':4,'end':6,'label':'LOC'}]}",
           "spans|PER|0:2;spans|LOC|4:6;");
}

static void test_text_result_overlap(void **state)
{
    const char *allow = "{'spans':{'labels':['PER','LOC'],'overlap':true}}";
    const char *deny = "{'spans':{'labels':['PER','LOC']}}";

    (void)state;
    /* touching spans do not overlap: end is exclusive */
    RESULT_OK("text", deny, HELLO,
              "{'spans':[{'start':0,'end':5,'label':'PER'},{'start':5,'end':6,'label':'LOC'}]}");
    RESULT_OK("text", deny, HELLO,
              "{'spans':[{'start':6,'end':8,'label':'PER'},{'start':0,'end':6,'label':'LOC'}]}");
    RESULT_ERR("text", deny, HELLO,
               "{'spans':[{'start':0,'end':3,'label':'PER'},{'start':2,'end':4,'label':'LOC'}]}",
               "spans[1]", "overlaps spans[0]");
    RESULT_ERR("text", deny, HELLO,
               "{'spans':[{'start':2,'end':4,'label':'PER'},{'start':0,'end':3,'label':'PER'}]}",
               "spans[1]", "overlaps spans[0]");
    /* nested */
    RESULT_ERR("text", deny, HELLO,
               "{'spans':[{'start':0,'end':6,'label':'PER'},{'start':1,'end':2,'label':'LOC'}]}",
               "spans[1]", "overlaps spans[0]");
    /* a long span hides behind a short one in start order */
    RESULT_ERR("text", deny, HELLO,
               "{'spans':[{'start':0,'end':10,'label':'PER'},{'start':1,'end':2,'label':'LOC'},"
               "{'start':11,'end':12,'label':'LOC'}]}",
               "spans[1]", "overlaps spans[0]");
    RESULT_ERR("text", deny, HELLO,
               "{'spans':[{'start':0,'end':1,'label':'PER'},{'start':11,'end':12,'label':'LOC'},"
               "{'start':2,'end':10,'label':'LOC'},{'start':9,'end':11,'label':'PER'}]}",
               "spans[3]", "overlaps spans[2]");
    /* the same span twice */
    RESULT_ERR("text", deny, HELLO,
               "{'spans':[{'start':1,'end':2,'label':'PER'},{'start':1,'end':2,'label':'PER'}]}",
               "spans[1]", "overlaps spans[0]");
    RESULT_ERR("text", TEXT_CONFIG, CHINESE,
               "{'spans':[{'start':0,'end':3,'label':'PER'},{'start':2,'end':5,'label':'LOC'}]}",
               "spans[1]", "overlaps spans[0]");
    RESULT_OK("text", allow, HELLO,
              "{'spans':[{'start':0,'end':3,'label':'PER'},{'start':2,'end':4,'label':'LOC'},"
              "{'start':0,'end':12,'label':'PER'},{'start':0,'end':3,'label':'PER'}]}");
}

static void test_text_result_relations(void **state)
{
    const char *two = "{'spans':[{'id':'s1','start':0,'end':5,'label':'PER'},"
                      "{'id':'s2','start':6,'end':11,'label':'LOC'}],";
    char result[512];

    (void)state;
#define REL(tail) (snprintf(result, sizeof(result), "%s%s", two, tail), result)
    RESULT_OK("text", TEXT_CONFIG, HELLO, REL("'relations':[]}"));
    RESULT_OK("text", TEXT_CONFIG, HELLO,
              REL("'relations':[{'from':'s2','to':'s1','label':'works_for','attrs':{'c':0.9}}]}"));
    RESULT_ERR("text", TEXT_CONFIG, HELLO,
               REL("'relations':[{'from':'s1','to':'s9','label':'works_for'}]}"), "relations[0].to",
               "no span with id 's9'");
    RESULT_ERR("text", TEXT_CONFIG, HELLO,
               REL("'relations':[{'from':'s1','to':'s2','label':'works_for'},"
                   "{'from':'x','to':'s2','label':'works_for'}]}"),
               "relations[1].from", "no span with id 'x'");
    RESULT_ERR("text", TEXT_CONFIG, HELLO,
               REL("'relations':[{'from':'s1','to':'s2','label':'born_in'}]}"),
               "relations[0].label", "unknown label 'born_in'");
    /* span labels are not relation labels */
    RESULT_ERR("text", TEXT_CONFIG, HELLO,
               REL("'relations':[{'from':'s1','to':'s2','label':'PER'}]}"), "relations[0].label",
               "unknown label 'PER'");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, REL("'relations':[{'from':'s1','to':'s2'}]}"),
               "relations[0].label", "is required");
    RESULT_ERR("text", TEXT_CONFIG, HELLO, REL("'relations':[{'to':'s2','label':'works_for'}]}"),
               "relations[0].from", "is required");
    RESULT_ERR("text", TEXT_CONFIG, HELLO,
               REL("'relations':[{'from':1,'to':'s2','label':'works_for'}]}"), "relations[0].from",
               "must be a string");
    RESULT_ERR("text", TEXT_CONFIG, HELLO,
               REL("'relations':[{'from':'s1','to':'s2','label':'works_for','type':'x'}]}"),
               "relations[0].type", "unknown key");
    RESULT_ERR("text", TEXT_CONFIG, HELLO,
               REL("'relations':[{'from':'s1','to':'s2','label':'works_for','attrs':1}]}"),
               "relations[0].attrs", "must be an object");
#undef REL
    /* spans without ids cannot be related */
    RESULT_ERR("text", TEXT_CONFIG, HELLO,
               "{'spans':[{'start':0,'end':5,'label':'PER'}],"
               "'relations':[{'from':'0','to':'0','label':'works_for'}]}",
               "relations[0].from", "no span with id '0'");
    RESULT_ERR("text", TEXT_CONFIG, HELLO,
               "{'relations':[{'from':'s1','to':'s2','label':'works_for'}]}", "relations[0].from",
               "no span with id 's1'");
    /* an empty spans list before them does not bend the path */
    RESULT_ERR("text", TEXT_CONFIG, HELLO, "{'spans':[],'relations':[{'from':'a'}]}",
               "relations[0].from", "no span with id 'a'");
    RESULT_ERR("text", TEXT_CONFIG, HELLO,
               "{'classes':[],'spans':[{'start':0,'end':1,'label':'PER'}],'relations':[1]}",
               "relations[0]", "must be an object");
    RESULT_ERR("text", "{'spans':{'labels':['PER']}}", HELLO, "{'relations':[]}", "relations",
               "is not configured for this project");
}

static void test_text_result_without_text(void **state)
{
    const struct schema_kind *text = schema_kind_find("text");
    json_t *config = Q(TEXT_CONFIG);
    json_t *data = Q("{}");
    json_t *spans = Q("{'spans':[{'start':0,'end':1,'label':'PER'}]}");
    json_t *classes = Q("{'classes':['pos'],'spans':[]}");
    struct schema_error err;

    (void)state;
    /* data that was never checked: refuse spans, do not crash */
    assert_int_equal(text->check_result(config, data, spans, &err), -ERR_INVALID_RESULT);
    assert_string_equal(err.path, "spans");
    assert_string_equal(err.message, "the task has no valid text to annotate");
    assert_int_equal(text->check_result(config, NULL, spans, &err), -ERR_INVALID_RESULT);
    assert_int_equal(text->check_result(config, data, classes, &err), 0);
    assert_int_equal(text->check_result(config, data, spans, NULL), -ERR_INVALID_RESULT);
    json_decref(config);
    json_decref(data);
    json_decref(spans);
    json_decref(classes);
}

static void test_text_result_caps(void **state)
{
    const struct schema_kind *text = schema_kind_find("text");
    json_t *config = Q("{'spans':{'labels':['PER']},'relations':{'labels':['r']}}");
    json_t *data = json_object();
    json_t *result = json_object();
    json_t *spans = json_array();
    json_t *relations = json_array();
    struct schema_error err;
    char *long_text = malloc(100001);
    char id[32];

    (void)state;
    assert_non_null(long_text);
    memset(long_text, 'a', 100000);
    long_text[100000] = '\0';
    json_object_set_new(data, "text", json_string(long_text));
    free(long_text);
    json_object_set(result, "spans", spans);
    for (int i = 0; i < 100000; i++) {
        json_t *span = json_object();
        snprintf(id, sizeof(id), "s%d", i);
        json_object_set_new(span, "id", json_string(id));
        json_object_set_new(span, "start", json_integer(99999 - i));
        json_object_set_new(span, "end", json_integer(100000 - i));
        json_object_set_new(span, "label", json_string("PER"));
        json_array_append_new(spans, span);
    }
    /* exactly at the cap is fine, and fast (sorted overlap check) */
    RESULT_JSON_OK("text", config, data, result);

    json_object_set(result, "relations", relations);
    for (int i = 0; i < 100000; i++) {
        json_t *relation = json_object();
        snprintf(id, sizeof(id), "s%d", i);
        json_object_set_new(relation, "from", json_string(id));
        json_object_set_new(relation, "to", json_string("s0"));
        json_object_set_new(relation, "label", json_string("r"));
        json_array_append_new(relations, relation);
    }
    RESULT_JSON_OK("text", config, data, result);
    json_array_append(relations, json_array_get(relations, 0));
    RESULT_JSON_ERR("text", config, data, result, "relations",
                    "too many relations (at most 100000)");
    json_object_del(result, "relations");

    json_array_append_new(spans, Q("{'start':0,'end':1,'label':'PER'}"));
    assert_int_equal(text->check_result(config, data, result, &err), -ERR_INVALID_RESULT);
    assert_string_equal(err.path, "spans");
    assert_string_equal(err.message, "too many spans (at most 100000)");
    json_decref(spans);
    json_decref(relations);
    json_decref(config);
    json_decref(data);
    json_decref(result);
}

static void test_text_labels(void **state)
{
    (void)state;
    LABELS("text", TEXT_CONFIG, "{}", "");
    LABELS("text", TEXT_CONFIG,
           "{'classes':['pos'],'spans':[{'id':'s1','start':0,'end':5,'label':'PER'},"
           "{'id':'s2','start':6,'end':11,'label':'LOC'}],"
           "'relations':[{'from':'s1','to':'s2','label':'works_for'}]}",
           "classes|pos|;spans|PER|0:5;spans|LOC|6:11;relations|works_for|s1>s2;");
    LABELS("text", "{'classes':{'choices':['a','b'],'multiple':true}}", "{'classes':['b','a']}",
           "classes|b|;classes|a|;");
}

/* ------------------------------------------------------------------------ */
/* Image: config                                                            */
/* ------------------------------------------------------------------------ */

#define IMAGE_CONFIG                                                  \
 "{'tools':['box','polygon','keypoints'],'labels':[{'name':'car'},"   \
 "{'name':'person','keypoints':['nose','neck'],'skeleton':[[0,1]]}]," \
 "'classes':{'choices':['day','night'],'multiple':true}}"
#define IMAGE_ALL_TOOLS                                                        \
 "{'tools':['box','polygon','polyline','keypoints'],'labels':[{'name':'car'}," \
 "{'name':'person','keypoints':['nose','neck'],'skeleton':[[0,1]]},{'name':'lane'}]}"
#define MEDIA_ID  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define IMAGE_640 "{'image':'" MEDIA_ID "','width':640,'height':480}"
#define IMAGE_ANY "{'image':'https://example.com/a.jpg'}"

static void test_image_config_valid(void **state)
{
    (void)state;
    CONFIG_OK("image", IMAGE_CONFIG);
    CONFIG_OK("image", IMAGE_ALL_TOOLS);
    CONFIG_OK("image", "{'tools':['box'],'labels':[{'name':'car'}]}");
    CONFIG_OK("image", "{'tools':['polyline'],'labels':[{'name':'车道线'}]}");
    CONFIG_OK("image", "{'tools':['box'],'labels':[{'name':'car','color':'#ff0000','hotkey':'1',"
                       "'attributes':[{'name':'occluded','type':'bool'},'anything',3]},"
                       "{'name':'bus','attributes':{'free':true}}]}");
    CONFIG_OK("image", "{'tools':['keypoints'],'labels':[{'name':'hand','keypoints':['a','b','c'],"
                       "'skeleton':[[0,1],[1,2],[2,0]]}]}");
}

static void test_image_config_invalid(void **state)
{
    (void)state;
    CONFIG_ERR("image", "[]", "", "must be an object");
    CONFIG_ERR("image", "{}", "tools", "is required");
    CONFIG_ERR("image", "{'labels':[{'name':'car'}]}", "tools", "is required");
    CONFIG_ERR("image", "{'tools':'box','labels':[{'name':'car'}]}", "tools", "must be an array");
    CONFIG_ERR("image", "{'tools':[],'labels':[{'name':'car'}]}", "tools", "must not be empty");
    CONFIG_ERR("image", "{'tools':['box','circle'],'labels':[{'name':'car'}]}", "tools[1]",
               "unknown tool 'circle' (expected box, polygon, polyline or keypoints)");
    CONFIG_ERR("image", "{'tools':['box',1],'labels':[{'name':'car'}]}", "tools[1]",
               "must be a string");
    CONFIG_ERR("image", "{'tools':['box','polygon','box'],'labels':[{'name':'car'}]}", "tools[2]",
               "duplicate tool 'box'");
    CONFIG_ERR("image", "{'tools':['box']}", "labels", "is required");
    CONFIG_ERR("image", "{'tools':['box'],'labels':[]}", "labels", "must not be empty");
    CONFIG_ERR("image", "{'tools':['box'],'labels':['car']}", "labels[0]", "must be an object");
    CONFIG_ERR("image", "{'tools':['box'],'labels':[{}]}", "labels[0].name", "is required");
    CONFIG_ERR("image", "{'tools':['box'],'labels':[{'name':''}]}", "labels[0].name",
               "must not be empty");
    CONFIG_ERR("image", "{'tools':['box'],'labels':[{'name':3}]}", "labels[0].name",
               "must be a string");
    CONFIG_ERR("image", "{'tools':['box'],'labels':[{'name':'car'},{'name':'car'}]}",
               "labels[1].name", "duplicate label 'car'");
    CONFIG_ERR("image", "{'tools':['box'],'labels':[{'name':'car','colour':'red'}]}",
               "labels[0].colour", "unknown key");
    CONFIG_ERR("image", "{'tools':['box'],'labels':[{'name':'car','color':16711680}]}",
               "labels[0].color", "must be a string");
    CONFIG_ERR("image", "{'tools':['box'],'labels':[{'name':'car','hotkey':1}]}",
               "labels[0].hotkey", "must be a string");
    CONFIG_ERR("image", "{'tools':['box'],'labels':[{'name':'car'}],'shapes':[]}", "shapes",
               "unknown key");
    CONFIG_ERR("image", "{'tools':['box'],'labels':[{'name':'car'}],'classes':{'choices':[]}}",
               "classes.choices", "must not be empty");
    CONFIG_ERR("image", "{'tools':['keypoints'],'labels':[{'name':'p','keypoints':[]}]}",
               "labels[0].keypoints", "must not be empty");
    CONFIG_ERR("image", "{'tools':['keypoints'],'labels':[{'name':'p','keypoints':'nose'}]}",
               "labels[0].keypoints", "must be an array");
    CONFIG_ERR("image",
               "{'tools':['keypoints'],'labels':[{'name':'p','keypoints':['nose','nose']}]}",
               "labels[0].keypoints[1]", "duplicate keypoint 'nose'");
    CONFIG_ERR("image", "{'tools':['box'],'labels':[{'name':'p','skeleton':[]}]}",
               "labels[0].skeleton", "requires keypoints");
    CONFIG_ERR("image",
               "{'tools':['keypoints'],'labels':[{'name':'p','keypoints':['a','b'],"
               "'skeleton':[[0,2]]}]}",
               "labels[0].skeleton[0][1]", "must be < 2 (number of keypoints)");
    CONFIG_ERR("image",
               "{'tools':['keypoints'],'labels':[{'name':'p','keypoints':['a','b'],"
               "'skeleton':[[-1,0]]}]}",
               "labels[0].skeleton[0][0]", "must be >= 0");
    CONFIG_ERR("image",
               "{'tools':['keypoints'],'labels':[{'name':'p','keypoints':['a','b'],"
               "'skeleton':[[0,1],[1,1]]}]}",
               "labels[0].skeleton[1]", "must join two different keypoints");
    CONFIG_ERR("image",
               "{'tools':['keypoints'],'labels':[{'name':'p','keypoints':['a','b'],"
               "'skeleton':[[0,1,1]]}]}",
               "labels[0].skeleton[0]", "must be a pair [i, j] of keypoint indexes");
    CONFIG_ERR("image",
               "{'tools':['keypoints'],'labels':[{'name':'p','keypoints':['a','b'],"
               "'skeleton':[[0,'b']]}]}",
               "labels[0].skeleton[0][1]", "must be an integer");
    CONFIG_ERR("image",
               "{'tools':['keypoints'],'labels':[{'name':'p','keypoints':['a','b'],"
               "'skeleton':{}}]}",
               "labels[0].skeleton", "must be an array");
}

/* ------------------------------------------------------------------------ */
/* Image: task data                                                         */
/* ------------------------------------------------------------------------ */

static void test_image_task(void **state)
{
    (void)state;
    TASK_OK("image", IMAGE_CONFIG, "{'image':'" MEDIA_ID "'}");
    TASK_OK("image", IMAGE_CONFIG, IMAGE_640);
    TASK_OK("image", IMAGE_CONFIG, "{'image':'http://example.com/x.png','width':1}");
    TASK_OK("image", IMAGE_CONFIG, "{'image':'https://cdn.example.com/a/b.jpg?sig=1&x=%20'}");
    TASK_OK("image", IMAGE_CONFIG, "{'image':'" MEDIA_ID "','caption':'a car','meta':{}}");

    TASK_ERR("image", IMAGE_CONFIG, "[]", "", "must be an object");
    TASK_ERR("image", IMAGE_CONFIG, "{}", "image", "is required");
    TASK_ERR("image", IMAGE_CONFIG, "{'image':1}", "image", "must be a string");
    TASK_ERR("image", IMAGE_CONFIG, "{'image':''}", "image",
             "must be a media id (64 lowercase hex digits) or an http(s) URL");
    TASK_ERR("image", IMAGE_CONFIG,
             "{'image':'0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef'}",
             "image", "must be a media id (64 lowercase hex digits) or an http(s) URL");
    TASK_ERR("image", IMAGE_CONFIG,
             "{'image':'0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde'}", "image",
             "must be a media id (64 lowercase hex digits) or an http(s) URL");
    TASK_ERR("image", IMAGE_CONFIG, "{'image':'" MEDIA_ID "0'}", "image",
             "must be a media id (64 lowercase hex digits) or an http(s) URL");
    TASK_ERR("image", IMAGE_CONFIG, "{'image':'ftp://example.com/a.jpg'}", "image",
             "must be a media id (64 lowercase hex digits) or an http(s) URL");
    TASK_ERR("image", IMAGE_CONFIG, "{'image':'/etc/passwd'}", "image",
             "must be a media id (64 lowercase hex digits) or an http(s) URL");
    TASK_ERR("image", IMAGE_CONFIG, "{'image':'https://'}", "image",
             "must be a media id (64 lowercase hex digits) or an http(s) URL");
    TASK_ERR("image", IMAGE_CONFIG, "{'image':'https://a b/c.jpg'}", "image",
             "must be a media id (64 lowercase hex digits) or an http(s) URL");
    TASK_ERR("image", IMAGE_CONFIG, "{'image':'HTTPS://example.com/a.jpg'}", "image",
             "must be a media id (64 lowercase hex digits) or an http(s) URL");
    TASK_ERR("image", IMAGE_CONFIG, "{'image':'" MEDIA_ID "','width':0}", "width", "must be > 0");
    TASK_ERR("image", IMAGE_CONFIG, "{'image':'" MEDIA_ID "','width':640,'height':-1}", "height",
             "must be > 0");
    TASK_ERR("image", IMAGE_CONFIG, "{'image':'" MEDIA_ID "','width':640.5}", "width",
             "must be an integer");
    TASK_ERR("image", IMAGE_CONFIG, "{'image':'" MEDIA_ID "','height':'480'}", "height",
             "must be an integer");
}

/* ------------------------------------------------------------------------ */
/* Image: results                                                           */
/* ------------------------------------------------------------------------ */

static void test_image_result_valid(void **state)
{
    (void)state;
    RESULT_OK("image", IMAGE_CONFIG, IMAGE_640, "{}");
    RESULT_OK("image", IMAGE_CONFIG, IMAGE_640, "{'objects':[]}");
    RESULT_OK("image", IMAGE_CONFIG, IMAGE_640,
              "{'classes':['day'],'objects':[{'id':'o1','type':'box','label':'car','x':10,'y':20,"
              "'w':50,'h':40},{'type':'polygon','label':'person','points':[[1,1],[5,1],[5,5]]},"
              "{'type':'keypoints','label':'person','points':[[3,4,2],[3.5,9.25,1]]}]}");
    RESULT_OK("image", IMAGE_CONFIG, IMAGE_640,
              "{'classes':['day','night'],'objects':[{'type':'box','label':'car','x':0.5,"
              "'y':0.25,'w':10.125,'h':1e1,'rotation':-12.5,'attrs':{'occluded':true}}]}");
    /* the whole image, edges included */
    RESULT_OK("image", IMAGE_CONFIG, IMAGE_640,
              "{'objects':[{'type':'box','label':'car','x':0,'y':0,'w':640,'h':480},"
              "{'type':'polygon','label':'car','points':[[0,0],[640,0],[640,480],[0,480]]}]}");
    /* fractional input that adds up to the edge */
    RESULT_OK("image", IMAGE_CONFIG, IMAGE_640,
              "{'objects':[{'type':'box','label':'car','x':639.7,'y':479.9,'w':0.3,'h':0.1}]}");
    /* without a known size nothing is bounded */
    RESULT_OK("image", IMAGE_CONFIG, IMAGE_ANY,
              "{'objects':[{'type':'box','label':'car','x':-5,'y':-5,'w':5000,'h':5000},"
              "{'type':'polygon','label':'car','points':[[-1,-1],[9999,0],[0,9999]]}]}");
}

static void test_image_result_shape(void **state)
{
    (void)state;
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640, "[]", "", "must be an object");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640, "{'objects':[],'shapes':[]}", "shapes",
               "unknown key");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640, "{'objects':{}}", "objects", "must be an array");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640, "{'objects':[[]]}", "objects[0]",
               "must be an object");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640, "{'objects':[{'label':'car'}]}", "objects[0].type",
               "is required");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640, "{'objects':[{'type':1,'label':'car'}]}",
               "objects[0].type", "must be a string");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640, "{'objects':[{'type':'circle','label':'car'}]}",
               "objects[0].type", "must be one of box, polygon, polyline, keypoints");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'polyline','label':'car','points':[[0,0],[1,1]]}]}",
               "objects[0].type", "tool 'polyline' is not enabled for this project");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'box','x':1,'y':1,'w':1,'h':1}]}", "objects[0].label",
               "is required");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'box','label':'truck','x':1,'y':1,'w':1,'h':1}]}",
               "objects[0].label", "unknown label 'truck'");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'box','label':'car','x':1,'y':1,'w':1,'h':1,"
               "'colour':'red'}]}",
               "objects[0].colour", "unknown key");
    /* keys of other shapes are unknown on a box */
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'box','label':'car','x':1,'y':1,'w':1,'h':1,'points':[]}]}",
               "objects[0].points", "unknown key");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'polygon','label':'car','points':[[0,0],[1,0],[1,1]],"
               "'rotation':0}]}",
               "objects[0].rotation", "unknown key");
    RESULT_ERR("image", IMAGE_ALL_TOOLS, IMAGE_640,
               "{'objects':[{'type':'polyline','label':'lane','points':[[0,0],[1,1]],"
               "'parts':[]}]}",
               "objects[0].parts", "unknown key");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'box','label':'car','x':1,'y':1,'w':1,'h':1,'attrs':'x'}]}",
               "objects[0].attrs", "must be an object");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'id':'o1','type':'box','label':'car','x':1,'y':1,'w':1,'h':1},"
               "{'id':'o1','type':'box','label':'car','x':1,'y':1,'w':1,'h':1}]}",
               "objects[1].id", "duplicate id 'o1'");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'id':7,'type':'box','label':'car','x':1,'y':1,'w':1,'h':1}]}",
               "objects[0].id", "must be a string");
}

static void test_image_result_classes(void **state)
{
    (void)state;
    RESULT_OK("image", IMAGE_CONFIG, IMAGE_640, "{'classes':[]}");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640, "{'classes':['dusk']}", "classes[0]",
               "unknown choice 'dusk'");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640, "{'classes':['day','day']}", "classes[1]",
               "duplicate choice 'day'");
    RESULT_ERR("image", IMAGE_ALL_TOOLS, IMAGE_640, "{'classes':['day'],'objects':[]}", "classes",
               "is not configured for this project");
    RESULT_ERR("image",
               "{'tools':['box'],'labels':[{'name':'car'}],'classes':{'choices':['day','night']}}",
               IMAGE_640, "{'classes':['day','night']}", "classes",
               "must have at most one choice (multiple is false)");
}

static void test_image_result_box(void **state)
{
    (void)state;
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'box','label':'car','x':1,'y':1,'w':1,'h':1},"
               "{'type':'box','label':'car','x':1,'y':1,'w':1,'h':1},"
               "{'type':'box','label':'car','x':1,'y':1,'w':0,'h':1}]}",
               "objects[2].w", "must be > 0");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'box','label':'car','x':1,'y':1,'w':-3,'h':1}]}",
               "objects[0].w", "must be > 0");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'box','label':'car','x':1,'y':1,'w':1,'h':0.0}]}",
               "objects[0].h", "must be > 0");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'box','label':'car','y':1,'w':1,'h':1}]}", "objects[0].x",
               "is required");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'box','label':'car','x':1,'y':1,'w':1}]}", "objects[0].h",
               "is required");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'box','label':'car','x':'1','y':1,'w':1,'h':1}]}",
               "objects[0].x", "must be a number");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'box','label':'car','x':1,'y':null,'w':1,'h':1}]}",
               "objects[0].y", "must be a number");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'box','label':'car','x':1,'y':1,'w':true,'h':1}]}",
               "objects[0].w", "must be a number");
    /* rotation */
    RESULT_OK("image", IMAGE_CONFIG, IMAGE_640,
              "{'objects':[{'type':'box','label':'car','x':1,'y':1,'w':1,'h':1,'rotation':360},"
              "{'type':'box','label':'car','x':1,'y':1,'w':1,'h':1,'rotation':-360},"
              "{'type':'box','label':'car','x':1,'y':1,'w':1,'h':1,'rotation':45.5}]}");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'box','label':'car','x':1,'y':1,'w':1,'h':1,'rotation':361}]}",
               "objects[0].rotation", "must be between -360 and 360");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'box','label':'car','x':1,'y':1,'w':1,'h':1,"
               "'rotation':-360.5}]}",
               "objects[0].rotation", "must be between -360 and 360");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'box','label':'car','x':1,'y':1,'w':1,'h':1,"
               "'rotation':'90'}]}",
               "objects[0].rotation", "must be a number");
    /* bounds: [0,640] x [0,480] */
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'box','label':'car','x':-1,'y':1,'w':1,'h':1}]}",
               "objects[0].x", "must be >= 0");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'box','label':'car','x':1,'y':-0.5,'w':1,'h':1}]}",
               "objects[0].y", "must be >= 0");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'box','label':'car','x':600,'y':1,'w':41,'h':1}]}",
               "objects[0].w", "x + w must be <= 640 (image width)");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'box','label':'car','x':641,'y':1,'w':1,'h':1}]}",
               "objects[0].x", "must be <= 640 (image width)");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'box','label':'car','x':1,'y':400,'w':1,'h':80.5}]}",
               "objects[0].h", "y + h must be <= 480 (image height)");
    /* rotation does not change the bounds check (unrotated box) */
    RESULT_OK("image", IMAGE_CONFIG, IMAGE_640,
              "{'objects':[{'type':'box','label':'car','x':0,'y':0,'w':640,'h':480,"
              "'rotation':45}]}");
    /* only the known dimension bounds */
    RESULT_OK("image", IMAGE_CONFIG, "{'image':'" MEDIA_ID "','width':100}",
              "{'objects':[{'type':'box','label':'car','x':0,'y':5000,'w':100,'h':1}]}");
    RESULT_ERR("image", IMAGE_CONFIG, "{'image':'" MEDIA_ID "','height':100}",
               "{'objects':[{'type':'box','label':'car','x':5000,'y':0,'w':1,'h':101}]}",
               "objects[0].h", "y + h must be <= 100 (image height)");
}

static void test_image_result_polygon(void **state)
{
    (void)state;
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'polygon','label':'car','points':[[0,0],[1,1]]}]}",
               "objects[0].points", "must have at least 3 points");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'polygon','label':'car','points':[]}]}", "objects[0].points",
               "must have at least 3 points");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640, "{'objects':[{'type':'polygon','label':'car'}]}",
               "objects[0].points", "is required");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'polygon','label':'car','points':{}}]}", "objects[0].points",
               "must be an array");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'polygon','label':'car','points':[[0,0],[1],[1,1]]}]}",
               "objects[0].points[1]", "must be [x, y]");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'polygon','label':'car','points':[[0,0],[1,0,2],[1,1]]}]}",
               "objects[0].points[1]", "must be [x, y]");
    RESULT_ERR(
        "image", IMAGE_CONFIG, IMAGE_640,
        "{'objects':[{'type':'polygon','label':'car','points':[[0,0],{'x':1,'y':0},[1,1]]}]}",
        "objects[0].points[1]", "must be [x, y]");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'polygon','label':'car','points':[[0,0],[1,'0'],[1,1]]}]}",
               "objects[0].points[1][1]", "must be a number");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'polygon','label':'car','points':[[0,0],[640.5,0],[1,1]]}]}",
               "objects[0].points[1][0]", "must be <= 640 (image width)");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'polygon','label':'car','points':[[0,0],[1,0],[1,481]]}]}",
               "objects[0].points[2][1]", "must be <= 480 (image height)");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'polygon','label':'car','points':[[0,-0.1],[1,0],[1,1]]}]}",
               "objects[0].points[0][1]", "must be >= 0");
    /* parts */
    RESULT_OK("image", IMAGE_CONFIG, IMAGE_640,
              "{'objects':[{'type':'polygon','label':'car','parts':[[[0,0],[1,0],[1,1]],"
              "[[10,10],[20,10],[20,20],[10,20]]]}]}");
    RESULT_OK("image", IMAGE_CONFIG, IMAGE_640,
              "{'objects':[{'type':'polygon','label':'car','parts':[[[0,0],[1,0],[1,1]]]}]}");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'polygon','label':'car','points':[[0,0],[1,0],[1,1]],"
               "'parts':[[[0,0],[1,0],[1,1]]]}]}",
               "objects[0]", "must have either points or parts, not both");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'polygon','label':'car','parts':[]}]}", "objects[0].parts",
               "must not be empty");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'polygon','label':'car','parts':[[0,0],[1,0],[1,1]]}]}",
               "objects[0].parts[0]", "must have at least 3 points");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'polygon','label':'car','parts':[[[0,0],[1,0],[1,1]],"
               "[[0,0],[1,0]]]}]}",
               "objects[0].parts[1]", "must have at least 3 points");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'polygon','label':'car','parts':[[[0,0],[1,0],[1,1]],"
               "[[0,0],[1,0],[700,1]]]}]}",
               "objects[0].parts[1][2][0]", "must be <= 640 (image width)");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'polygon','label':'car','parts':{}}]}", "objects[0].parts",
               "must be an array");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'polygon','label':'car','parts':[5]}]}", "objects[0].parts[0]",
               "must be an array");
}

static void test_image_result_polyline(void **state)
{
    (void)state;
    RESULT_OK("image", IMAGE_ALL_TOOLS, IMAGE_640,
              "{'objects':[{'type':'polyline','label':'lane','points':[[0,0],[10,20]]}]}");
    RESULT_OK("image", IMAGE_ALL_TOOLS, IMAGE_640,
              "{'objects':[{'id':'l1','type':'polyline','label':'lane','points':[[0,0],[10,20],"
              "[30.5,40.25]],'attrs':{'dashed':true}}]}");
    RESULT_ERR("image", IMAGE_ALL_TOOLS, IMAGE_640,
               "{'objects':[{'type':'polyline','label':'lane','points':[[0,0]]}]}",
               "objects[0].points", "must have at least 2 points");
    RESULT_ERR("image", IMAGE_ALL_TOOLS, IMAGE_640,
               "{'objects':[{'type':'polyline','label':'lane'}]}", "objects[0].points",
               "is required");
    RESULT_ERR("image", IMAGE_ALL_TOOLS, IMAGE_640,
               "{'objects':[{'type':'polyline','label':'lane','points':[[0,0],[0,0,2]]}]}",
               "objects[0].points[1]", "must be [x, y]");
    RESULT_ERR("image", IMAGE_ALL_TOOLS, IMAGE_640,
               "{'objects':[{'type':'polyline','label':'lane','points':[[0,0],[641,0]]}]}",
               "objects[0].points[1][0]", "must be <= 640 (image width)");
}

static void test_image_result_keypoints(void **state)
{
    (void)state;
    RESULT_OK("image", IMAGE_CONFIG, IMAGE_640,
              "{'objects':[{'type':'keypoints','label':'person','points':[[0,0,0],[640,480,2]]}]}");
    /* v = 0: not labelled, position ignored */
    RESULT_OK("image", IMAGE_CONFIG, IMAGE_640,
              "{'objects':[{'type':'keypoints','label':'person','points':[[-5,9999,0],[1,1,1]]}]}");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'keypoints','label':'person','points':[[1,1,2]]}]}",
               "objects[0].points", "must have 2 points (one per keypoint of 'person')");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'keypoints','label':'person','points':[[1,1,2],[1,1,2],"
               "[1,1,2]]}]}",
               "objects[0].points", "must have 2 points (one per keypoint of 'person')");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'keypoints','label':'car','points':[[1,1,2]]}]}",
               "objects[0].label", "label 'car' has no keypoints");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'keypoints','label':'person'}]}", "objects[0].points",
               "is required");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'keypoints','label':'person','points':{}}]}",
               "objects[0].points", "must be an array");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'keypoints','label':'person','points':[[1,1,2],[1,1,3]]}]}",
               "objects[0].points[1][2]", "must be 0, 1 or 2");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'keypoints','label':'person','points':[[1,1,-1],[1,1,2]]}]}",
               "objects[0].points[0][2]", "must be 0, 1 or 2");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'keypoints','label':'person','points':[[1,1,2.0],[1,1,2]]}]}",
               "objects[0].points[0][2]", "must be 0, 1 or 2");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'keypoints','label':'person','points':[[1,1],[1,1]]}]}",
               "objects[0].points[0]", "must be [x, y, v]");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'keypoints','label':'person','points':[[1,1,2],[1,-1,1]]}]}",
               "objects[0].points[1][1]", "must be >= 0");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'keypoints','label':'person','points':[[1,1,2],['a',1,0]]}]}",
               "objects[0].points[1][0]", "must be a number");
    RESULT_ERR("image", IMAGE_CONFIG, IMAGE_640,
               "{'objects':[{'type':'keypoints','label':'person','points':[[1,1,2],[1,1,2]],"
               "'skeleton':[]}]}",
               "objects[0].skeleton", "unknown key");
}

/* A shape or a result at and past the caps. */
static void test_image_result_caps(void **state)
{
    json_t *config = Q(IMAGE_ALL_TOOLS);
    json_t *data = Q(IMAGE_640);
    json_t *result = Q("{'objects':[{'type':'polyline','label':'lane','points':[]}]}");
    json_t *points =
        json_object_get(json_array_get(json_object_get(result, "objects"), 0), "points");
    json_t *objects = json_array();
    json_t *many = json_object();

    (void)state;
    for (int i = 0; i < 100000; i++)
        json_array_append_new(points, json_pack("[ii]", i % 640, i % 480));
    RESULT_JSON_OK("image", config, data, result);
    json_array_append_new(points, json_pack("[ii]", 0, 0));
    RESULT_JSON_ERR("image", config, data, result, "objects[0].points",
                    "too many points (at most 100000 per shape)");

    /* parts count together */
    json_decref(result);
    result = Q("{'objects':[{'type':'polygon','label':'car','parts':[[],[]]}]}");
    for (int k = 0; k < 2; k++) {
        points = json_array_get(
            json_object_get(json_array_get(json_object_get(result, "objects"), 0), "parts"), k);
        for (int i = 0; i < 50000; i++)
            json_array_append_new(points, json_pack("[ii]", 1, 1));
    }
    RESULT_JSON_OK("image", config, data, result);
    json_array_append_new(points, json_pack("[ii]", 1, 1));
    RESULT_JSON_ERR("image", config, data, result, "objects[0].parts[1]",
                    "too many points (at most 100000 per shape)");

    json_object_set(many, "objects", objects);
    for (int i = 0; i < 100000; i++)
        json_array_append_new(objects, json_pack("{sssssisisisi}", "type", "box", "label", "car",
                                                 "x", 0, "y", 0, "w", 1, "h", 1));
    RESULT_JSON_OK("image", config, data, many);
    json_array_append(objects, json_array_get(objects, 0));
    RESULT_JSON_ERR("image", config, data, many, "objects", "too many objects (at most 100000)");

    json_decref(objects);
    json_decref(many);
    json_decref(result);
    json_decref(config);
    json_decref(data);
}

/* Deep paths stay within the error's buffer. */
static void test_long_paths(void **state)
{
    const struct schema_kind *text = schema_kind_find("text");
    json_t *config = Q(TEXT_CONFIG);
    json_t *data = Q(HELLO);
    json_t *result = json_object();
    json_t *span = Q("{'start':0,'end':1,'label':'PER'}");
    json_t *spans = json_array();
    struct schema_error err;
    char key[400];

    (void)state;
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    json_object_set_new(span, key, json_true());
    json_array_append_new(spans, span);
    json_object_set_new(result, "spans", spans);
    assert_int_equal(text->check_result(config, data, result, &err), -ERR_INVALID_RESULT);
    assert_int_equal(strlen(err.path), sizeof(err.path) - 1);
    assert_memory_equal(err.path, "spans[0].kkkk", 13);
    assert_string_equal(err.message, "unknown key");
    json_decref(config);
    json_decref(data);
    json_decref(result);
}

/* check_result on configs and data that were never checked must not crash. */
static void test_unchecked_inputs(void **state)
{
    static const char *const configs[] = {
        "{}",
        "[]",
        "{'tools':5,'labels':{}}",
        "{'tools':['box'],'labels':[1,{'name':2}]}",
        "{'classes':{'choices':7}}",
        "{'spans':{'labels':[1]},'relations':{'labels':null}}",
        "{'tools':['keypoints'],'labels':[{'name':'p','keypoints':5}]}",
    };
    static const char *const results[] = {
        "{'objects':[{'type':'box','label':'car','x':1,'y':1,'w':1,'h':1}]}",
        "{'objects':[{'type':'keypoints','label':'p','points':[]}]}",
        "{'classes':['a','b']}",
        "{'spans':[{'start':0,'end':1,'label':'PER'}],'relations':[]}",
    };
    const char *const *names = schema_kind_names();

    (void)state;
    for (size_t k = 0; names[k]; k++) {
        const struct schema_kind *kind = schema_kind_find(names[k]);
        for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
            json_t *config = Q(configs[i]);
            for (size_t j = 0; j < sizeof(results) / sizeof(results[0]); j++) {
                json_t *result = Q(results[j]);
                struct schema_error err;
                int r = kind->check_result(config, NULL, result, &err);
                assert_true(r == 0 || r == -ERR_INVALID_RESULT);
                r = kind->check_result(NULL, NULL, result, NULL);
                assert_true(r == 0 || r == -ERR_INVALID_RESULT);
                json_decref(result);
            }
            /* {} is the storyboard kind's all-defaults config */
            if (strcmp(names[k], "storyboard") == 0 && strcmp(configs[i], "{}") == 0)
                assert_int_equal(kind->check_config(config, NULL), 0);
            else
                assert_int_equal(kind->check_config(config, NULL), -ERR_INVALID_REQUEST);
            json_decref(config);
        }
        assert_int_equal(kind->check_config(NULL, NULL), -ERR_INVALID_REQUEST);
        assert_int_equal(kind->check_task(NULL, NULL, NULL), -ERR_INVALID_REQUEST);
        assert_int_equal(kind->check_result(NULL, NULL, NULL, NULL), -ERR_INVALID_RESULT);
    }
}

/* ------------------------------------------------------------------------ */
/* Fault injection: every allocation may fail                               */
/* ------------------------------------------------------------------------ */

static long allocs_left = -1; /* -1: never fail */

static void *failing_malloc(size_t n)
{
    if (allocs_left == 0)
        return NULL;
    if (allocs_left > 0)
        allocs_left--;
    return malloc(n);
}

/*
 * With the n-th allocation failing, for every n until a run succeeds, each
 * check answers -ENOMEM or its normal answer, and neither leaks nor crashes.
 */
static void check_under_oom(const char *kind_name,
                            const char *config_q,
                            const char *data_q,
                            const char *result_q,
                            int want)
{
    const struct schema_kind *kind = schema_kind_find(kind_name);
    json_t *config = Q(config_q);
    json_t *data = Q(data_q);
    json_t *result = Q(result_q);
    bool done = false;

    json_set_alloc_funcs(failing_malloc, free);
    for (long n = 0; !done && n < 1000; n++) {
        struct schema_error err;
        int r;

        allocs_left = n;
        r = kind->check_config(config, &err);
        assert_true(r == 0 || r == -ENOMEM);
        if (r == 0) {
            r = kind->check_result(config, data, result, &err);
            assert_true(r == want || r == -ENOMEM);
            if (r == -ENOMEM)
                assert_string_equal(err.message, "out of memory");
            done = r == want;
        }
    }
    allocs_left = -1;
    json_set_alloc_funcs(malloc, free);
    assert_true(done);
    json_decref(config);
    json_decref(data);
    json_decref(result);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    check_under_oom("text", TEXT_CONFIG, HELLO,
                    "{'classes':['pos'],'spans':[{'id':'s1','start':0,'end':5,'label':'PER'},"
                    "{'id':'s2','start':6,'end':11,'label':'LOC'}],"
                    "'relations':[{'from':'s1','to':'s2','label':'works_for'}]}",
                    0);
    check_under_oom("text", TEXT_CONFIG, HELLO,
                    "{'spans':[{'id':'s1','start':0,'end':5,'label':'PER'},"
                    "{'id':'s1','start':6,'end':11,'label':'LOC'}]}",
                    -ERR_INVALID_RESULT);
    check_under_oom("image", IMAGE_CONFIG, IMAGE_640,
                    "{'classes':['day'],'objects':[{'id':'o1','type':'box','label':'car','x':10,"
                    "'y':20,'w':50,'h':40},{'id':'o2','type':'keypoints','label':'person',"
                    "'points':[[3,4,2],[3,9,1]]}]}",
                    0);
}

static void test_image_labels(void **state)
{
    (void)state;
    LABELS("image", IMAGE_CONFIG, "{'objects':[]}", "");
    LABELS("image", IMAGE_CONFIG,
           "{'classes':['night'],'objects':[{'id':'o1','type':'box','label':'car','x':10,"
           "'y':20,'w':50,'h':40},{'type':'polygon','label':'person','points':[[1,1],[5,1],"
           "[5,5]]},{'type':'keypoints','label':'person','points':[[3,4,2],[3,9,1]]}]}",
           "classes|night|;objects|car|box;objects|person|polygon;objects|person|keypoints;");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_table),
        cmocka_unit_test(test_schema_fail),
        cmocka_unit_test(test_text_config_valid),
        cmocka_unit_test(test_text_config_invalid),
        cmocka_unit_test(test_config_name_caps),
        cmocka_unit_test(test_text_task),
        cmocka_unit_test(test_text_result_valid),
        cmocka_unit_test(test_text_result_shape),
        cmocka_unit_test(test_text_result_classes),
        cmocka_unit_test(test_text_result_spans),
        cmocka_unit_test(test_text_result_span_ids),
        cmocka_unit_test(test_text_result_code_points),
        cmocka_unit_test(test_text_result_overlap),
        cmocka_unit_test(test_text_result_relations),
        cmocka_unit_test(test_text_result_without_text),
        cmocka_unit_test(test_text_result_caps),
        cmocka_unit_test(test_text_labels),
        cmocka_unit_test(test_image_config_valid),
        cmocka_unit_test(test_image_config_invalid),
        cmocka_unit_test(test_image_task),
        cmocka_unit_test(test_image_result_valid),
        cmocka_unit_test(test_image_result_shape),
        cmocka_unit_test(test_image_result_classes),
        cmocka_unit_test(test_image_result_box),
        cmocka_unit_test(test_image_result_polygon),
        cmocka_unit_test(test_image_result_polyline),
        cmocka_unit_test(test_image_result_keypoints),
        cmocka_unit_test(test_image_result_caps),
        cmocka_unit_test(test_long_paths),
        cmocka_unit_test(test_unchecked_inputs),
        cmocka_unit_test(test_image_labels),
        cmocka_unit_test(test_out_of_memory),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
