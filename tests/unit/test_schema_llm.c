/*
 * Unit tests for the project kind "llm" (src/schema/schema_llm.c): configs,
 * task data, results and labels of the modes sft, pairwise, ranking and
 * rubric. Every rejection is checked for its exact path and message, which
 * the API answers verbatim (prefixed with "config.", "data." or "result.").
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

#define MIB (1 << 20)

#include "schema_harness.h"

static const struct schema_kind *llm(void)
{
    const struct schema_kind *kind = schema_kind_find("llm");

    assert_non_null(kind);
    return kind;
}

#define CONFIG_OK(config) expect_q("llm", STAGE_CONFIG, config, NULL, NULL, NULL, NULL, __FILE__, __LINE__)
#define CONFIG_ERR(config, path, message) \
 expect_q("llm", STAGE_CONFIG, config, NULL, NULL, path, message, __FILE__, __LINE__)
#define TASK_OK(config, data) \
 expect_q("llm", STAGE_TASK, config, data, NULL, NULL, NULL, __FILE__, __LINE__)
#define TASK_ERR(config, data, path, message) \
 expect_q("llm", STAGE_TASK, config, data, NULL, path, message, __FILE__, __LINE__)
#define RESULT_OK(config, data, result) \
 expect_q("llm", STAGE_RESULT, config, data, result, NULL, NULL, __FILE__, __LINE__)
#define RESULT_ERR(config, data, result, path, message) \
 expect_q("llm", STAGE_RESULT, config, data, result, path, message, __FILE__, __LINE__)
#define CONFIG_JSON_OK(config) \
 expect_json("llm", STAGE_CONFIG, config, NULL, NULL, NULL, NULL, __FILE__, __LINE__)
#define CONFIG_JSON_ERR(config, path, message) \
 expect_json("llm", STAGE_CONFIG, config, NULL, NULL, path, message, __FILE__, __LINE__)
#define TASK_JSON_OK(config, data) \
 expect_json("llm", STAGE_TASK, config, data, NULL, NULL, NULL, __FILE__, __LINE__)
#define TASK_JSON_ERR(config, data, path, message) \
 expect_json("llm", STAGE_TASK, config, data, NULL, path, message, __FILE__, __LINE__)
#define RESULT_JSON_OK(config, data, result) \
 expect_json("llm", STAGE_RESULT, config, data, result, NULL, NULL, __FILE__, __LINE__)
#define RESULT_JSON_ERR(config, data, result, path, message) \
 expect_json("llm", STAGE_RESULT, config, data, result, path, message, __FILE__, __LINE__)


/* labels(): "field|label|value;" for each emitted triple, in order. */
static void collect_label(void *ctx, const char *field, const char *label, const char *value)
{
    char *out = ctx;
    size_t len = strlen(out);

    snprintf(out + len, 1024 - len, "%s|%s|%s;", field, label, value);
}

static void expect_labels(const char *config,
                          const char *data,
                          const char *result,
                          const char *want,
                          const char *file,
                          int line)
{
    json_t *c = parse_q(config, file, line);
    json_t *d = parse_q(data, file, line);
    json_t *r = parse_q(result, file, line);
    char got[1024] = "";

    /* labels() is only ever called on a valid result */
    expect_json("llm", STAGE_RESULT, c, d, r, NULL, NULL, file, line);
    llm()->labels(c, r, collect_label, got);
    if (strcmp(got, want) != 0) {
        print_error("%s:%d: labels '%s', want '%s'\n", file, line, got, want);
        _fail(file, line);
    }
    json_decref(c);
    json_decref(d);
    json_decref(r);
}

#define LABELS(config, data, result, want) \
 expect_labels(config, data, result, want, __FILE__, __LINE__)

/* A string of `n` copies of `c` as a JSON value. */
static json_t *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    json_t *v;

    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    v = json_stringn(s, n);
    free(s);
    assert_non_null(v);
    return v;
}

/* ------------------------------------------------------------------------ */
/* Fixtures                                                                 */
/* ------------------------------------------------------------------------ */

#define SFT         "{'mode':'sft'}"
#define PAIRWISE    "{'mode':'pairwise'}"
#define PAIR_REASON "{'mode':'pairwise','require_reason':true}"
#define RANKING     "{'mode':'ranking'}"
#define RUBRIC                                                      \
 "{'mode':'rubric','criteria':[{'name':'helpful','min':1,'max':5}," \
 "{'name':'harmless','min':0,'max':1},{'name':'tone','min':-2,'max':2}]}"
#define RUBRIC_ONE "{'mode':'rubric','criteria':[{'name':'helpful','min':1,'max':5}]}"

#define PROMPT    "{'prompt':'Write a haiku about rain.'}"
#define CHAT      "{'messages':[{'role':'system','content':'Be brief.'},{'role':'user','content':'Hi'}]}"
#define PAIR_DATA "{'prompt':'Hi','responses':[{'id':'a','text':'Hello!'},{'id':'b','text':'Hey'}]}"
#define PAIR_XY   "{'prompt':'Hi','responses':[{'id':'x1','text':'Hello!'},{'id':'y2','text':'Hey'}]}"
#define RANK_DATA                                                                     \
 "{'messages':[{'role':'user','content':'Hi'}],'responses':[{'id':'a','text':'one'}," \
 "{'id':'b','text':'two'},{'id':'c','text':'three'}]}"

/* ------------------------------------------------------------------------ */
/* The table                                                                */
/* ------------------------------------------------------------------------ */

static void test_kind_table(void **state)
{
    const char *const *names = schema_kind_names();
    bool listed = false;

    (void)state;
    assert_string_equal(llm()->name, "llm");
    assert_non_null(llm()->check_config);
    assert_non_null(llm()->check_task);
    assert_non_null(llm()->check_result);
    assert_non_null(llm()->labels);
    assert_null(schema_kind_find("LLM"));
    for (; *names; names++)
        listed = listed || strcmp(*names, "llm") == 0;
    assert_true(listed);
}

/* ------------------------------------------------------------------------ */
/* Config                                                                   */
/* ------------------------------------------------------------------------ */

static void test_config_valid(void **state)
{
    (void)state;
    CONFIG_OK(SFT);
    CONFIG_OK(PAIRWISE);
    CONFIG_OK(PAIR_REASON);
    CONFIG_OK("{'mode':'pairwise','require_reason':false}");
    CONFIG_OK(RANKING);
    CONFIG_OK(RUBRIC);
    CONFIG_OK(RUBRIC_ONE);
    /* require_reason is accepted in every mode; only pairwise uses it */
    CONFIG_OK("{'mode':'sft','require_reason':true}");
    CONFIG_OK("{'mode':'rubric','criteria':[{'name':'有用','min':-100,'max':-99}],"
              "'require_reason':false}");
    CONFIG_OK("{'mode':'rubric','criteria':[{'name':'a','min':0,'max':9223372036854775807}]}");
}

static void test_config_invalid(void **state)
{
    (void)state;
    CONFIG_ERR("[]", "", "must be an object");
    CONFIG_ERR("'sft'", "", "must be an object");
    CONFIG_ERR("null", "", "must be an object");
    CONFIG_ERR("{}", "mode", "is required");
    CONFIG_ERR("{'require_reason':true}", "mode", "is required");
    CONFIG_ERR("{'mode':1}", "mode", "must be a string");
    CONFIG_ERR("{'mode':null}", "mode", "must be a string");
    CONFIG_ERR("{'mode':''}", "mode", "must be one of: sft, pairwise, ranking, rubric");
    CONFIG_ERR("{'mode':'SFT'}", "mode", "must be one of: sft, pairwise, ranking, rubric");
    CONFIG_ERR("{'mode':'pairwise '}", "mode", "must be one of: sft, pairwise, ranking, rubric");
    CONFIG_ERR("{'mode':'sft','model':'x'}", "model", "unknown key");
    CONFIG_ERR("{'mode':'sft','classes':{'choices':['a']}}", "classes", "unknown key");
    CONFIG_ERR("{'mode':'pairwise','require_reason':'yes'}", "require_reason", "must be a boolean");
    CONFIG_ERR("{'mode':'pairwise','require_reason':1}", "require_reason", "must be a boolean");
    CONFIG_ERR("{'mode':'pairwise','require_reason':null}", "require_reason", "must be a boolean");
}

static void test_config_criteria(void **state)
{
    (void)state;
    CONFIG_ERR("{'mode':'rubric'}", "criteria", "is required");
    CONFIG_ERR("{'mode':'rubric','criteria':{}}", "criteria", "must be an array");
    CONFIG_ERR("{'mode':'rubric','criteria':null}", "criteria", "must be an array");
    CONFIG_ERR("{'mode':'rubric','criteria':[]}", "criteria", "must not be empty");
    CONFIG_ERR("{'mode':'rubric','criteria':['helpful']}", "criteria[0]", "must be an object");
    CONFIG_ERR("{'mode':'rubric','criteria':[{'min':1,'max':5}]}", "criteria[0].name",
               "is required");
    CONFIG_ERR("{'mode':'rubric','criteria':[{'name':'','min':1,'max':5}]}", "criteria[0].name",
               "must not be empty");
    CONFIG_ERR("{'mode':'rubric','criteria':[{'name':7,'min':1,'max':5}]}", "criteria[0].name",
               "must be a string");
    CONFIG_ERR("{'mode':'rubric','criteria':[{'name':'a','min':1,'max':5},"
               "{'name':'b','min':1,'max':5},{'name':'a','min':0,'max':1}]}",
               "criteria[2].name", "duplicate criterion 'a'");
    CONFIG_ERR("{'mode':'rubric','criteria':[{'name':'a','max':5}]}", "criteria[0].min",
               "is required");
    CONFIG_ERR("{'mode':'rubric','criteria':[{'name':'a','min':1}]}", "criteria[0].max",
               "is required");
    CONFIG_ERR("{'mode':'rubric','criteria':[{'name':'a','min':1.5,'max':5}]}", "criteria[0].min",
               "must be an integer");
    CONFIG_ERR("{'mode':'rubric','criteria':[{'name':'a','min':1,'max':5.0}]}", "criteria[0].max",
               "must be an integer");
    CONFIG_ERR("{'mode':'rubric','criteria':[{'name':'a','min':'1','max':5}]}", "criteria[0].min",
               "must be an integer");
    CONFIG_ERR("{'mode':'rubric','criteria':[{'name':'a','min':5,'max':5}]}", "criteria[0].max",
               "must be > min");
    CONFIG_ERR("{'mode':'rubric','criteria':[{'name':'a','min':1,'max':5},"
               "{'name':'b','min':3,'max':2}]}",
               "criteria[1].max", "must be > min");
    CONFIG_ERR("{'mode':'rubric','criteria':[{'name':'a','min':1,'max':5,'weight':2}]}",
               "criteria[0].weight", "unknown key");
    /* criteria belong to rubric mode only: elsewhere they would be ignored */
    CONFIG_ERR("{'mode':'pairwise','criteria':[{'name':'a','min':1,'max':5}]}", "criteria",
               "only applies to mode 'rubric'");
    CONFIG_ERR("{'mode':'sft','criteria':[]}", "criteria", "only applies to mode 'rubric'");
    CONFIG_ERR("{'mode':'ranking','criteria':null}", "criteria", "only applies to mode 'rubric'");
}

static void test_config_caps(void **state)
{
    json_t *config = Q("{'mode':'rubric','criteria':[]}");
    json_t *criteria = json_object_get(config, "criteria");
    json_t *criterion;
    char name[32];

    (void)state;
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "c%d", i);
        criterion = Q("{'min':1,'max':5}");
        json_object_set_new(criterion, "name", json_string(name));
        json_array_append_new(criteria, criterion);
    }
    CONFIG_JSON_OK(config);
    json_array_append(criteria, json_array_get(criteria, 0));
    CONFIG_JSON_ERR(config, "criteria", "too many criteria (at most 100)");
    json_array_clear(criteria);

    criterion = Q("{'min':1,'max':5}");
    json_object_set_new(criterion, "name", repeat('n', 256));
    json_array_append_new(criteria, criterion);
    CONFIG_JSON_OK(config);
    json_object_set_new(criterion, "name", repeat('n', 257));
    CONFIG_JSON_ERR(config, "criteria[0].name", "must be at most 256 bytes");
    json_decref(config);
}

/* ------------------------------------------------------------------------ */
/* Task data                                                                */
/* ------------------------------------------------------------------------ */

static void test_task_conversation(void **state)
{
    (void)state;
    TASK_OK(SFT, PROMPT);
    TASK_OK(SFT, CHAT);
    TASK_OK(SFT, "{'prompt':'张三在😀北京'}");
    TASK_OK(RUBRIC, "{'messages':[{'role':'user','content':''}]}");
    TASK_OK(SFT,
            "{'messages':[{'role':'user','content':'Hi'},{'role':'assistant','content':'Hello'},"
            "{'role':'user','content':'More'}]}");
    /* the importer's metadata is kept, at the top and inside items */
    TASK_OK(SFT, "{'prompt':'x','source':'import.jsonl','meta':{'n':1},'response':'ref'}");
    TASK_OK(SFT, "{'messages':[{'role':'user','content':'Hi','name':'u1','ts':3}]}");

    TASK_ERR(SFT, "[]", "", "must be an object");
    TASK_ERR(SFT, "'Write a haiku'", "", "must be an object");
    TASK_ERR(SFT, "{}", "", "must have prompt or messages");
    TASK_ERR(SFT, "{'text':'Hi'}", "", "must have prompt or messages");
    TASK_ERR(SFT, "{'prompt':'Hi','messages':[{'role':'user','content':'Hi'}]}", "",
             "must have either prompt or messages, not both");
    TASK_ERR(SFT, "{'prompt':null,'messages':[]}", "",
             "must have either prompt or messages, not both");
    TASK_ERR(SFT, "{'prompt':''}", "prompt", "must not be empty");
    TASK_ERR(SFT, "{'prompt':5}", "prompt", "must be a string");
    TASK_ERR(SFT, "{'prompt':null}", "prompt", "must be a string");
    TASK_ERR(SFT, "{'prompt':['Hi']}", "prompt", "must be a string");
    TASK_ERR(SFT, "{'messages':'Hi'}", "messages", "must be an array");
    TASK_ERR(SFT, "{'messages':null}", "messages", "must be an array");
    TASK_ERR(SFT, "{'messages':[]}", "messages", "must not be empty");
    TASK_ERR(SFT, "{'messages':['Hi']}", "messages[0]", "must be an object");
    TASK_ERR(SFT, "{'messages':[{'role':'user','content':'Hi'},{'content':'x'}]}",
             "messages[1].role", "is required");
    TASK_ERR(SFT, "{'messages':[{'role':'tool','content':'x'}]}", "messages[0].role",
             "must be one of: system, user, assistant");
    TASK_ERR(SFT, "{'messages':[{'role':'User','content':'x'}]}", "messages[0].role",
             "must be one of: system, user, assistant");
    TASK_ERR(SFT, "{'messages':[{'role':1,'content':'x'}]}", "messages[0].role",
             "must be a string");
    TASK_ERR(SFT, "{'messages':[{'role':'user'}]}", "messages[0].content", "is required");
    TASK_ERR(SFT, "{'messages':[{'role':'user','content':['a','b']}]}", "messages[0].content",
             "must be a string");
}

static void test_task_responses(void **state)
{
    (void)state;
    TASK_OK(PAIRWISE, PAIR_DATA);
    TASK_OK(PAIRWISE, PAIR_XY);
    TASK_OK(PAIRWISE, "{'prompt':'Hi','responses':[{'id':'a','text':''},{'id':'b','text':'x',"
                      "'model':'m-7b','score':0.5}]}");
    TASK_OK(RANKING, RANK_DATA);
    TASK_OK(RANKING, "{'prompt':'Hi','responses':[{'id':'a','text':'x'},{'id':'b','text':'y'}]}");
    /* "tie" is reserved in pairwise only */
    TASK_OK(RANKING, "{'prompt':'Hi','responses':[{'id':'tie','text':'x'},{'id':'b','text':'y'}]}");
    /* optional for sft and rubric, checked when given */
    TASK_OK(SFT, "{'prompt':'Hi','responses':[{'id':'ref','text':'x'}]}");
    TASK_OK(RUBRIC, "{'prompt':'Hi','responses':[{'id':'a','text':'x'}]}");
    TASK_OK(RUBRIC, "{'prompt':'Hi','responses':[]}");
    TASK_ERR(RUBRIC, "{'prompt':'Hi','responses':[{'text':'x'}]}", "responses[0].id",
             "is required");
    TASK_ERR(SFT, "{'prompt':'Hi','responses':{}}", "responses", "must be an array");

    TASK_ERR(PAIRWISE, PROMPT, "responses", "is required");
    TASK_ERR(RANKING, CHAT, "responses", "is required");
    TASK_ERR(PAIRWISE, "{'prompt':'Hi','responses':null}", "responses", "must be an array");
    TASK_ERR(PAIRWISE, "{'prompt':'Hi','responses':[]}", "responses",
             "must have exactly 2 responses (has 0)");
    TASK_ERR(PAIRWISE, "{'prompt':'Hi','responses':[{'id':'a','text':'x'}]}", "responses",
             "must have exactly 2 responses (has 1)");
    TASK_ERR(PAIRWISE,
             "{'prompt':'Hi','responses':[{'id':'a','text':'x'},{'id':'b','text':'y'},"
             "{'id':'c','text':'z'}]}",
             "responses", "must have exactly 2 responses (has 3)");
    TASK_ERR(RANKING, "{'prompt':'Hi','responses':[{'id':'a','text':'x'}]}", "responses",
             "must have at least 2 responses (has 1)");
    TASK_ERR(RANKING, "{'prompt':'Hi','responses':[]}", "responses",
             "must have at least 2 responses (has 0)");
    TASK_ERR(PAIRWISE, "{'prompt':'Hi','responses':['x','y']}", "responses[0]",
             "must be an object");
    TASK_ERR(PAIRWISE, "{'prompt':'Hi','responses':[{'id':'a','text':'x'},{'text':'y'}]}",
             "responses[1].id", "is required");
    TASK_ERR(PAIRWISE, "{'prompt':'Hi','responses':[{'id':'','text':'x'},{'id':'b','text':'y'}]}",
             "responses[0].id", "must not be empty");
    TASK_ERR(PAIRWISE, "{'prompt':'Hi','responses':[{'id':1,'text':'x'},{'id':'b','text':'y'}]}",
             "responses[0].id", "must be a string");
    TASK_ERR(PAIRWISE, "{'prompt':'Hi','responses':[{'id':'a','text':'x'},{'id':'a','text':'y'}]}",
             "responses[1].id", "duplicate id 'a'");
    TASK_ERR(RANKING,
             "{'prompt':'Hi','responses':[{'id':'a','text':'x'},{'id':'b','text':'y'},"
             "{'id':'b','text':'z'}]}",
             "responses[2].id", "duplicate id 'b'");
    TASK_ERR(PAIRWISE,
             "{'prompt':'Hi','responses':[{'id':'a','text':'x'},{'id':'tie','text':'y'}]}",
             "responses[1].id", "must not be 'tie' (reserved for a tie)");
    TASK_ERR(PAIRWISE, "{'prompt':'Hi','responses':[{'id':'a','text':'x'},{'id':'b'}]}",
             "responses[1].text", "is required");
    TASK_ERR(PAIRWISE, "{'prompt':'Hi','responses':[{'id':'a','text':null},{'id':'b','text':''}]}",
             "responses[0].text", "must be a string");
    /* the conversation is checked before the responses */
    TASK_ERR(PAIRWISE, "{'responses':[]}", "", "must have prompt or messages");
}

static void test_task_caps(void **state)
{
    json_t *config = Q(RANKING);
    json_t *data = Q("{'messages':[],'responses':[]}");
    json_t *messages = json_object_get(data, "messages");
    json_t *responses = json_object_get(data, "responses");
    json_t *item;
    char id[32];

    (void)state;
    for (int i = 0; i < 1000; i++) {
        json_array_append_new(messages, Q("{'role':'user','content':'Hi'}"));
        item = Q("{'text':'x'}");
        snprintf(id, sizeof(id), "r%d", i);
        json_object_set_new(item, "id", json_string(id));
        json_array_append_new(responses, item);
    }
    TASK_JSON_OK(config, data);
    json_array_append_new(messages, Q("{'role':'user','content':'Hi'}"));
    TASK_JSON_ERR(config, data, "messages", "too many messages (at most 1000)");
    json_array_remove(messages, 0);
    json_array_append_new(responses, Q("{'id':'one more','text':'x'}"));
    TASK_JSON_ERR(config, data, "responses", "too many responses (at most 1000)");
    json_array_remove(responses, 1000);

    /* 1 MiB per text field, exactly at the cap is fine */
    item = json_array_get(messages, 999);
    json_object_set_new(item, "content", repeat('m', MIB));
    json_object_set_new(json_array_get(responses, 3), "text", repeat('t', MIB));
    TASK_JSON_OK(config, data);
    json_object_set_new(item, "content", repeat('m', MIB + 1));
    TASK_JSON_ERR(config, data, "messages[999].content", "must be at most 1048576 bytes");
    json_object_set_new(item, "content", json_string("ok"));
    json_object_set_new(json_array_get(responses, 3), "text", repeat('t', MIB + 1));
    TASK_JSON_ERR(config, data, "responses[3].text", "must be at most 1048576 bytes");
    json_decref(data);

    json_decref(config);
    config = Q(SFT);
    data = json_object();
    json_object_set_new(data, "prompt", repeat('p', MIB));
    TASK_JSON_OK(config, data);
    json_object_set_new(data, "prompt", repeat('p', MIB + 1));
    TASK_JSON_ERR(config, data, "prompt", "must be at most 1048576 bytes");
    json_decref(data);
    json_decref(config);
}

/* Values built in memory can bypass jansson's UTF-8 check. */
static void test_task_utf8(void **state)
{
    json_t *sft = Q(SFT);
    json_t *pairwise = Q(PAIRWISE);
    json_t *data = json_object();
    json_t *bad = json_stringn_nocheck("a\xff", 2);

    (void)state;
    json_object_set(data, "prompt", bad);
    TASK_JSON_ERR(sft, data, "prompt", "must be valid UTF-8");
    json_decref(data);

    data = Q("{'messages':[{'role':'user','content':'x'}]}");
    json_object_set(json_array_get(json_object_get(data, "messages"), 0), "content", bad);
    TASK_JSON_ERR(sft, data, "messages[0].content", "must be valid UTF-8");
    json_decref(data);

    data = Q(PAIR_DATA);
    json_object_set(json_array_get(json_object_get(data, "responses"), 1), "text", bad);
    TASK_JSON_ERR(pairwise, data, "responses[1].text", "must be valid UTF-8");
    json_decref(data);
    json_decref(bad);
    json_decref(sft);
    json_decref(pairwise);
}

/* ------------------------------------------------------------------------ */
/* Results: sft                                                             */
/* ------------------------------------------------------------------------ */

static void test_result_sft(void **state)
{
    json_t *config = Q(SFT);
    json_t *data = Q(PROMPT);
    json_t *result = json_object();

    (void)state;
    RESULT_OK(SFT, PROMPT, "{'response':'Rain on the tin roof'}");
    RESULT_OK(SFT, CHAT, "{'response':'Hi!','attrs':{'time_s':12,'notes':['x']}}");
    RESULT_OK(SFT, PROMPT, "{'response':' '}");

    RESULT_ERR(SFT, PROMPT, "[]", "", "must be an object");
    RESULT_ERR(SFT, PROMPT, "null", "", "must be an object");
    RESULT_ERR(SFT, PROMPT, "{}", "response", "is required");
    RESULT_ERR(SFT, PROMPT, "{'attrs':{}}", "response", "is required");
    RESULT_ERR(SFT, PROMPT, "{'response':''}", "response", "must not be empty");
    RESULT_ERR(SFT, PROMPT, "{'response':42}", "response", "must be a string");
    RESULT_ERR(SFT, PROMPT, "{'response':['a']}", "response", "must be a string");
    RESULT_ERR(SFT, PROMPT, "{'response':'x','choice':'a'}", "choice", "unknown key");
    RESULT_ERR(SFT, PROMPT, "{'response':'x','comment':'c'}", "comment", "unknown key");
    RESULT_ERR(SFT, PROMPT, "{'response':'x','attrs':[]}", "attrs", "must be an object");

    json_object_set_new(result, "response", repeat('r', MIB));
    RESULT_JSON_OK(config, data, result);
    json_object_set_new(result, "response", repeat('r', MIB + 1));
    RESULT_JSON_ERR(config, data, result, "response", "must be at most 1048576 bytes");
    json_object_set_new(result, "response", json_stringn_nocheck("\xc0\xaf", 2));
    RESULT_JSON_ERR(config, data, result, "response", "must be valid UTF-8");
    json_decref(config);
    json_decref(data);
    json_decref(result);
}

/* ------------------------------------------------------------------------ */
/* Results: pairwise                                                        */
/* ------------------------------------------------------------------------ */

static void test_result_pairwise(void **state)
{
    (void)state;
    RESULT_OK(PAIRWISE, PAIR_DATA, "{'choice':'a','strength':1}");
    RESULT_OK(PAIRWISE, PAIR_DATA, "{'choice':'b','strength':3}");
    RESULT_OK(PAIRWISE, PAIR_DATA, "{'choice':'tie'}");
    RESULT_OK(PAIRWISE, PAIR_DATA, "{'choice':'tie','reason':'both fine'}");
    RESULT_OK(PAIRWISE, PAIR_DATA, "{'choice':'a','strength':2,'reason':'','attrs':{'t':1}}");
    RESULT_OK(PAIRWISE, PAIR_XY, "{'choice':'y2','strength':2}");

    RESULT_ERR(PAIRWISE, PAIR_DATA, "[]", "", "must be an object");
    RESULT_ERR(PAIRWISE, PAIR_DATA, "{}", "choice", "is required");
    RESULT_ERR(PAIRWISE, PAIR_DATA, "{'strength':2}", "choice", "is required");
    RESULT_ERR(PAIRWISE, PAIR_DATA, "{'choice':1,'strength':2}", "choice", "must be a string");
    RESULT_ERR(PAIRWISE, PAIR_DATA, "{'choice':null}", "choice", "must be a string");
    RESULT_ERR(PAIRWISE, PAIR_DATA, "{'choice':'c','strength':2}", "choice",
               "must be 'a', 'b' or 'tie'");
    RESULT_ERR(PAIRWISE, PAIR_DATA, "{'choice':'','strength':2}", "choice",
               "must be 'a', 'b' or 'tie'");
    RESULT_ERR(PAIRWISE, PAIR_DATA, "{'choice':'A','strength':2}", "choice",
               "must be 'a', 'b' or 'tie'");
    RESULT_ERR(PAIRWISE, PAIR_DATA, "{'choice':'Tie'}", "choice", "must be 'a', 'b' or 'tie'");
    RESULT_ERR(PAIRWISE, PAIR_XY, "{'choice':'a','strength':2}", "choice",
               "must be 'x1', 'y2' or 'tie'");
    RESULT_ERR(PAIRWISE, PAIR_DATA, "{'choice':'a'}", "strength", "is required");
    RESULT_ERR(PAIRWISE, PAIR_DATA, "{'choice':'a','strength':0}", "strength", "must be 1, 2 or 3");
    RESULT_ERR(PAIRWISE, PAIR_DATA, "{'choice':'a','strength':4}", "strength", "must be 1, 2 or 3");
    RESULT_ERR(PAIRWISE, PAIR_DATA, "{'choice':'a','strength':-1}", "strength",
               "must be 1, 2 or 3");
    RESULT_ERR(PAIRWISE, PAIR_DATA, "{'choice':'a','strength':2.0}", "strength",
               "must be an integer");
    RESULT_ERR(PAIRWISE, PAIR_DATA, "{'choice':'a','strength':'2'}", "strength",
               "must be an integer");
    RESULT_ERR(PAIRWISE, PAIR_DATA, "{'choice':'a','strength':null}", "strength",
               "must be an integer");
    RESULT_ERR(PAIRWISE, PAIR_DATA, "{'choice':'tie','strength':2}", "strength",
               "must not be given with a tie");
    RESULT_ERR(PAIRWISE, PAIR_DATA, "{'choice':'a','strength':2,'reason':5}", "reason",
               "must be a string");
    RESULT_ERR(PAIRWISE, PAIR_DATA, "{'choice':'a','strength':2,'winner':'a'}", "winner",
               "unknown key");
    RESULT_ERR(PAIRWISE, PAIR_DATA, "{'choice':'a','strength':2,'ranking':['a','b']}", "ranking",
               "unknown key");
}

static void test_result_pairwise_reason(void **state)
{
    json_t *config = Q(PAIR_REASON);
    json_t *data = Q(PAIR_DATA);
    json_t *result = Q("{'choice':'a','strength':1}");

    (void)state;
    RESULT_OK(PAIR_REASON, PAIR_DATA, "{'choice':'a','strength':2,'reason':'more polite'}");
    RESULT_OK(PAIR_REASON, PAIR_DATA, "{'choice':'tie','reason':'same'}");
    RESULT_ERR(PAIR_REASON, PAIR_DATA, "{'choice':'a','strength':2}", "reason", "is required");
    RESULT_ERR(PAIR_REASON, PAIR_DATA, "{'choice':'tie'}", "reason", "is required");
    RESULT_ERR(PAIR_REASON, PAIR_DATA, "{'choice':'a','strength':2,'reason':''}", "reason",
               "must not be empty");
    RESULT_ERR(PAIR_REASON, PAIR_DATA, "{'choice':'a','strength':2,'reason':null}", "reason",
               "must be a string");
    /* the choice is checked first */
    RESULT_ERR(PAIR_REASON, PAIR_DATA, "{'choice':'z'}", "choice", "must be 'a', 'b' or 'tie'");

    json_object_set_new(result, "reason", repeat('w', MIB));
    RESULT_JSON_OK(config, data, result);
    json_object_set_new(result, "reason", repeat('w', MIB + 1));
    RESULT_JSON_ERR(config, data, result, "reason", "must be at most 1048576 bytes");
    json_decref(config);
    json_decref(data);
    json_decref(result);
}

/* ------------------------------------------------------------------------ */
/* Results: ranking                                                         */
/* ------------------------------------------------------------------------ */

static void test_result_ranking(void **state)
{
    (void)state;
    RESULT_OK(RANKING, RANK_DATA, "{'ranking':['b','a','c']}");
    RESULT_OK(RANKING, RANK_DATA, "{'ranking':['a','b','c'],'attrs':{'confidence':'low'}}");
    RESULT_OK(RANKING,
              "{'prompt':'Hi','responses':[{'id':'tie','text':'x'},{'id':'b','text':'y'}]}",
              "{'ranking':['tie','b']}");

    RESULT_ERR(RANKING, RANK_DATA, "{}", "ranking", "is required");
    RESULT_ERR(RANKING, RANK_DATA, "{'ranking':'b,a,c'}", "ranking", "must be an array");
    RESULT_ERR(RANKING, RANK_DATA, "{'ranking':{}}", "ranking", "must be an array");
    RESULT_ERR(RANKING, RANK_DATA, "{'ranking':[]}", "ranking",
               "must list every response once (missing 'a')");
    RESULT_ERR(RANKING, RANK_DATA, "{'ranking':['b','a']}", "ranking",
               "must list every response once (missing 'c')");
    RESULT_ERR(RANKING, RANK_DATA, "{'ranking':['c']}", "ranking",
               "must list every response once (missing 'a')");
    RESULT_ERR(RANKING, RANK_DATA, "{'ranking':['b','a','b']}", "ranking[2]",
               "duplicate response 'b'");
    RESULT_ERR(RANKING, RANK_DATA, "{'ranking':['b','a','c','a']}", "ranking[3]",
               "duplicate response 'a'");
    RESULT_ERR(RANKING, RANK_DATA, "{'ranking':['b','d','c']}", "ranking[1]",
               "unknown response 'd'");
    RESULT_ERR(RANKING, RANK_DATA, "{'ranking':['b','tie','a','c']}", "ranking[1]",
               "unknown response 'tie'");
    RESULT_ERR(RANKING, RANK_DATA, "{'ranking':['b',1,'c']}", "ranking[1]", "must be a string");
    RESULT_ERR(RANKING, RANK_DATA, "{'ranking':[['a'],'b','c']}", "ranking[0]", "must be a string");
    RESULT_ERR(RANKING, RANK_DATA, "{'ranking':['a','b','c'],'choice':'a'}", "choice",
               "unknown key");
    RESULT_ERR(RANKING, RANK_DATA, "{'ranking':['a','b','c'],'reason':'x'}", "reason",
               "unknown key");
    RESULT_ERR(RANKING, RANK_DATA, "{'ranking':['a','b','c'],'attrs':1}", "attrs",
               "must be an object");
}

/* 1,000 responses: the cap of the task data, ranked fast (hash sets). */
static void test_result_ranking_large(void **state)
{
    json_t *config = Q(RANKING);
    json_t *data = Q("{'prompt':'Hi','responses':[]}");
    json_t *responses = json_object_get(data, "responses");
    json_t *result = Q("{'ranking':[]}");
    json_t *ranking = json_object_get(result, "ranking");
    char id[32];

    (void)state;
    for (int i = 0; i < 1000; i++) {
        json_t *response = Q("{'text':'x'}");
        snprintf(id, sizeof(id), "r%d", i);
        json_object_set_new(response, "id", json_string(id));
        json_array_append_new(responses, response);
        snprintf(id, sizeof(id), "r%d", 999 - i);
        json_array_append_new(ranking, json_string(id));
    }
    RESULT_JSON_OK(config, data, result);
    json_array_remove(ranking, 500); /* r499 */
    RESULT_JSON_ERR(config, data, result, "ranking",
                    "must list every response once (missing 'r499')");
    json_array_append_new(ranking, json_string("r499"));
    RESULT_JSON_OK(config, data, result);
    json_array_append_new(ranking, json_string("r499"));
    RESULT_JSON_ERR(config, data, result, "ranking", "too many entries (at most 1000)");
    json_decref(config);
    json_decref(data);
    json_decref(result);
}

/* ------------------------------------------------------------------------ */
/* Results: rubric                                                          */
/* ------------------------------------------------------------------------ */

static void test_result_rubric(void **state)
{
    json_t *config = Q(RUBRIC_ONE);
    json_t *data = Q(PROMPT);
    json_t *result = Q("{'scores':{'helpful':4}}");

    (void)state;
    RESULT_OK(RUBRIC, PROMPT, "{'scores':{'helpful':4,'harmless':1,'tone':-2}}");
    RESULT_OK(RUBRIC, PROMPT, "{'scores':{'tone':2,'harmless':0,'helpful':1},'comment':'ok'}");
    RESULT_OK(RUBRIC, PROMPT,
              "{'scores':{'helpful':5,'harmless':0,'tone':0},'comment':'',"
              "'attrs':{'x':null}}");
    RESULT_OK(RUBRIC_ONE, CHAT, "{'scores':{'helpful':3}}");

    RESULT_ERR(RUBRIC, PROMPT, "[]", "", "must be an object");
    RESULT_ERR(RUBRIC, PROMPT, "{}", "scores", "is required");
    RESULT_ERR(RUBRIC, PROMPT, "{'comment':'x'}", "scores", "is required");
    RESULT_ERR(RUBRIC, PROMPT, "{'scores':[4,1,0]}", "scores", "must be an object");
    RESULT_ERR(RUBRIC, PROMPT, "{'scores':null}", "scores", "must be an object");
    RESULT_ERR(RUBRIC, PROMPT, "{'scores':{}}", "scores.helpful", "is required");
    RESULT_ERR(RUBRIC, PROMPT, "{'scores':{'helpful':4,'tone':0}}", "scores.harmless",
               "is required");
    RESULT_ERR(RUBRIC, PROMPT, "{'scores':{'helpful':6,'harmless':1,'tone':0}}", "scores.helpful",
               "must be between 1 and 5");
    RESULT_ERR(RUBRIC, PROMPT, "{'scores':{'helpful':0,'harmless':1,'tone':0}}", "scores.helpful",
               "must be between 1 and 5");
    RESULT_ERR(RUBRIC, PROMPT, "{'scores':{'helpful':3,'harmless':2,'tone':0}}", "scores.harmless",
               "must be between 0 and 1");
    RESULT_ERR(RUBRIC, PROMPT, "{'scores':{'helpful':3,'harmless':1,'tone':-3}}", "scores.tone",
               "must be between -2 and 2");
    RESULT_ERR(RUBRIC, PROMPT, "{'scores':{'helpful':4.5,'harmless':1,'tone':0}}", "scores.helpful",
               "must be an integer");
    RESULT_ERR(RUBRIC, PROMPT, "{'scores':{'helpful':4.0,'harmless':1,'tone':0}}", "scores.helpful",
               "must be an integer");
    RESULT_ERR(RUBRIC, PROMPT, "{'scores':{'helpful':'4','harmless':1,'tone':0}}", "scores.helpful",
               "must be an integer");
    RESULT_ERR(RUBRIC, PROMPT, "{'scores':{'helpful':null,'harmless':1,'tone':0}}",
               "scores.helpful", "must be an integer");
    /* unknown criteria are reported before missing ones */
    RESULT_ERR(RUBRIC, PROMPT, "{'scores':{'helpful':4,'harmless':1,'tone':0,'funny':3}}",
               "scores.funny", "unknown criterion 'funny'");
    RESULT_ERR(RUBRIC, PROMPT, "{'scores':{'Helpful':4}}", "scores.Helpful",
               "unknown criterion 'Helpful'");
    RESULT_ERR(RUBRIC, PROMPT, "{'scores':{'helpful':4,'harmless':1,'tone':0},'comment':3}",
               "comment", "must be a string");
    RESULT_ERR(RUBRIC, PROMPT, "{'scores':{'helpful':4,'harmless':1,'tone':0},'reason':'x'}",
               "reason", "unknown key");
    RESULT_ERR(RUBRIC, PROMPT, "{'scores':{'helpful':4,'harmless':1,'tone':0},'score':1}", "score",
               "unknown key");

    json_object_set_new(result, "comment", repeat('c', MIB));
    RESULT_JSON_OK(config, data, result);
    json_object_set_new(result, "comment", repeat('c', MIB + 1));
    RESULT_JSON_ERR(config, data, result, "comment", "must be at most 1048576 bytes");
    json_decref(config);
    json_decref(data);
    json_decref(result);
}

/* Extreme bounds do not overflow the range check. */
static void test_result_rubric_extremes(void **state)
{
    (void)state;
    RESULT_OK("{'mode':'rubric','criteria':[{'name':'a','min':-9223372036854775808,"
              "'max':9223372036854775807}]}",
              PROMPT, "{'scores':{'a':-9223372036854775808}}");
    RESULT_ERR("{'mode':'rubric','criteria':[{'name':'a','min':0,'max':9223372036854775807}]}",
               PROMPT, "{'scores':{'a':-1}}", "scores.a",
               "must be between 0 and 9223372036854775807");
}

/* ------------------------------------------------------------------------ */
/* Values the server never lets through                                     */
/* ------------------------------------------------------------------------ */

static void test_unchecked_inputs(void **state)
{
    static const char *const configs[] = {
        "{}",
        "[]",
        "{'mode':5}",
        "{'mode':'rubric'}",
        "{'mode':'rubric','criteria':5}",
        "{'mode':'rubric','criteria':[1,{'name':2},{'name':'a','min':'x'},{'name':'a'}]}",
        "{'mode':'pairwise','require_reason':'yes'}",
        "{'mode':'ranking','criteria':[]}",
        "{'mode':'sft','extra':1}",
    };
    static const char *const datas[] = {
        "{}",
        "[]",
        "{'responses':5}",
        "{'responses':[1,{'id':2},{'id':'a'},{'id':'a'},{'id':'b'}]}",
        "{'responses':[{'id':'a'}]}",
        "{'responses':[{'id':'a'},{'id':'a'}]}",
    };
    static const char *const results[] = {
        "{'response':'x'}", "{'choice':'a','strength':1}",
        "{'choice':'tie'}", "{'ranking':['a','b']}",
        "{'ranking':[]}",   "{'scores':{'a':0}}",
        "{'scores':{}}",
    };
    const struct schema_kind *kind = llm();

    (void)state;
    for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
        json_t *config = Q(configs[i]);
        for (size_t j = 0; j < sizeof(datas) / sizeof(datas[0]); j++) {
            json_t *data = Q(datas[j]);
            int r = kind->check_task(config, data, NULL);
            assert_int_equal(r, -ERR_INVALID_REQUEST); /* none has a prompt */
            for (size_t k = 0; k < sizeof(results) / sizeof(results[0]); k++) {
                json_t *result = Q(results[k]);
                struct schema_error err;
                char labels[1024] = "";

                r = kind->check_result(config, data, result, &err);
                assert_true(r == 0 || r == -ERR_INVALID_RESULT);
                if (r == 0)
                    kind->labels(config, result, collect_label, labels);
                r = kind->check_result(config, NULL, result, NULL);
                assert_true(r == 0 || r == -ERR_INVALID_RESULT);
                json_decref(result);
            }
            json_decref(data);
        }
        assert_int_equal(kind->check_config(config, NULL), -ERR_INVALID_REQUEST);
        json_decref(config);
    }
    assert_int_equal(kind->check_config(NULL, NULL), -ERR_INVALID_REQUEST);
    assert_int_equal(kind->check_task(NULL, NULL, NULL), -ERR_INVALID_REQUEST);
    assert_int_equal(kind->check_result(NULL, NULL, NULL, NULL), -ERR_INVALID_RESULT);
}

static void test_unchecked_messages(void **state)
{
    json_t *config = Q(PAIRWISE);
    json_t *result = Q("{'choice':'a','strength':1}");
    json_t *ranking = Q(RANKING);
    json_t *ranked = Q("{'ranking':['a']}");
    struct schema_error err;

    (void)state;
    /* a project without a mode (never accepted) refuses every result */
    assert_int_equal(llm()->check_result(NULL, NULL, result, &err), -ERR_INVALID_RESULT);
    assert_string_equal(err.path, "");
    assert_string_equal(err.message, "the project has no valid mode");
    /* a task without responses (never accepted) */
    assert_int_equal(llm()->check_result(config, NULL, result, &err), -ERR_INVALID_RESULT);
    assert_string_equal(err.path, "choice");
    assert_string_equal(err.message, "must be a response id of the task or 'tie'");
    assert_int_equal(llm()->check_result(ranking, NULL, ranked, &err), -ERR_INVALID_RESULT);
    assert_string_equal(err.path, "ranking");
    assert_string_equal(err.message, "the task has no responses to rank");
    json_decref(config);
    json_decref(result);
    json_decref(ranking);
    json_decref(ranked);
}

/* Deep paths stay within the error's buffer. */
static void test_long_paths(void **state)
{
    json_t *config = Q(RUBRIC_ONE);
    json_t *data = Q(PROMPT);
    json_t *result = Q("{'scores':{'helpful':3}}");
    struct schema_error err;
    char key[400];

    (void)state;
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    json_object_set_new(json_object_get(result, "scores"), key, json_integer(1));
    assert_int_equal(llm()->check_result(config, data, result, &err), -ERR_INVALID_RESULT);
    assert_int_equal(strlen(err.path), sizeof(err.path) - 1);
    assert_memory_equal(err.path, "scores.kkkk", 11);
    assert_memory_equal(err.message, "unknown criterion 'kkkk", 23);
    assert_int_equal(strlen(err.message), sizeof(err.message) - 1);
    json_decref(config);
    json_decref(data);
    json_decref(result);
}

/* ------------------------------------------------------------------------ */
/* Labels                                                                   */
/* ------------------------------------------------------------------------ */

static void test_labels(void **state)
{
    (void)state;
    LABELS(PAIRWISE, PAIR_DATA, "{'choice':'b','strength':3}", "choice|b|3;");
    LABELS(PAIRWISE, PAIR_XY, "{'choice':'x1','strength':1,'reason':'r'}", "choice|x1|1;");
    LABELS(PAIRWISE, PAIR_DATA, "{'choice':'tie'}", "choice|tie|;");
    LABELS(RANKING, RANK_DATA, "{'ranking':['b','a','c']}", "ranking|b|1;ranking|a|2;ranking|c|3;");
    /* in config order, whatever the order of the result */
    LABELS(RUBRIC, PROMPT, "{'scores':{'tone':-1,'harmless':0,'helpful':4},'comment':'x'}",
           "scores|helpful|4;scores|harmless|0;scores|tone|-1;");
    LABELS(SFT, PROMPT, "{'response':'Hello'}", "response|sft|5;");
    /* code points, not bytes: 6 code points, 19 bytes */
    LABELS(SFT, PROMPT, "{'response':'张三在😀北京'}", "response|sft|6;");
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
static void check_under_oom(const char *config_q,
                            const char *data_q,
                            const char *result_q,
                            int want_task,
                            int want_result)
{
    const struct schema_kind *kind = llm();
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
        if (r != 0)
            continue;
        r = kind->check_task(config, data, &err);
        assert_true(r == want_task || r == -ENOMEM);
        if (r == -ENOMEM) {
            assert_string_equal(err.message, "out of memory");
            continue;
        }
        r = kind->check_result(config, data, result, &err);
        assert_true(r == want_result || r == -ENOMEM);
        if (r == -ENOMEM)
            assert_string_equal(err.message, "out of memory");
        done = r == want_result;
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
    check_under_oom(SFT, PROMPT, "{'response':'x'}", 0, 0);
    check_under_oom(PAIR_REASON, PAIR_DATA, "{'choice':'a','strength':2,'reason':'r'}", 0, 0);
    check_under_oom(RANKING, RANK_DATA, "{'ranking':['c','b','a']}", 0, 0);
    check_under_oom(RANKING, RANK_DATA, "{'ranking':['c','b','c']}", 0, -ERR_INVALID_RESULT);
    check_under_oom(RUBRIC, PROMPT, "{'scores':{'helpful':4,'harmless':1,'tone':0}}", 0, 0);
    check_under_oom(RUBRIC, PROMPT, "{'scores':{'helpful':4,'x':1}}", 0, -ERR_INVALID_RESULT);
    check_under_oom(PAIRWISE,
                    "{'prompt':'Hi','responses':[{'id':'a','text':'x'},{'id':'a','text':'y'}]}",
                    "{}", -ERR_INVALID_REQUEST, -ERR_INVALID_RESULT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_table),       cmocka_unit_test(test_config_valid),
        cmocka_unit_test(test_config_invalid),   cmocka_unit_test(test_config_criteria),
        cmocka_unit_test(test_config_caps),      cmocka_unit_test(test_task_conversation),
        cmocka_unit_test(test_task_responses),   cmocka_unit_test(test_task_caps),
        cmocka_unit_test(test_task_utf8),        cmocka_unit_test(test_result_sft),
        cmocka_unit_test(test_result_pairwise),  cmocka_unit_test(test_result_pairwise_reason),
        cmocka_unit_test(test_result_ranking),   cmocka_unit_test(test_result_ranking_large),
        cmocka_unit_test(test_result_rubric),    cmocka_unit_test(test_result_rubric_extremes),
        cmocka_unit_test(test_unchecked_inputs), cmocka_unit_test(test_unchecked_messages),
        cmocka_unit_test(test_long_paths),       cmocka_unit_test(test_labels),
        cmocka_unit_test(test_out_of_memory),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
