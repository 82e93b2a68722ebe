/*
 * Unit tests for the project kind "storyboard"
 * (src/schema/schema_storyboard.c): config and its settings, task data,
 * results (every shot field), labels. Rejections are checked for their
 * exact path and message, which the API answers verbatim.
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
#include "schema/schema_storyboard.h"

#include "schema_harness.h"

static const struct schema_kind *sb(void)
{
    const struct schema_kind *kind = schema_kind_find("storyboard");

    assert_non_null(kind);
    return kind;
}

#define CONFIG_OK(config) expect_q("storyboard", STAGE_CONFIG, config, NULL, NULL, NULL, NULL, __FILE__, __LINE__)
#define CONFIG_ERR(config, path, message) \
 expect_q("storyboard", STAGE_CONFIG, config, NULL, NULL, path, message, __FILE__, __LINE__)
#define TASK_OK(data) expect_q("storyboard", STAGE_TASK, "{}", data, NULL, NULL, NULL, __FILE__, __LINE__)
#define TASK_ERR(data, path, message) \
 expect_q("storyboard", STAGE_TASK, "{}", data, NULL, path, message, __FILE__, __LINE__)
#define RESULT_OK(config, result) \
 expect_q("storyboard", STAGE_RESULT, config, DATA, result, NULL, NULL, __FILE__, __LINE__)
#define RESULT_ERR(config, result, path, message) \
 expect_q("storyboard", STAGE_RESULT, config, DATA, result, path, message, __FILE__, __LINE__)

/* The scene text has 12 code points: 宋江道：“哥哥来了。” + 😀 */
#define DATA                                                                                           \
 "{'novel':1,'chapter':{'index':1,'title':'第一回 张天师祈禳瘟疫','volume':null},'scene':0," \
 "'text':'宋江道：“哥哥来了。”😀'}"
#define CUSTOM                                                                                     \
 "{'custom_fields':[{'name':'lighting','label':'灯光','type':'choice','options':['日','夜']}," \
 "{'name':'fps','type':'number'},{'name':'mood','label':'情绪','type':'text'}]}"
#define SHOT_MIN   "{'id':'s1','size':'medium','duration':3.5,'source':{'start':0,'end':12}}"
#define RESULT_MIN "{'shots':[" SHOT_MIN "]}"
#define SHOT_FULL                                                                                    \
 "{'id':'s2','size':'closeup','angle':'low','move':'push','picture':'宋江开口',"                 \
 "'characters':['c1','c2'],'dialogue':[{'speaker':'c1','kind':'dialogue','text':'哥哥来了。'}," \
 "{'speaker':null,'kind':'narration','text':'旁白'},{'text':'只有文字'}],"                     \
 "'sound':'雷声','transition':'fade','duration':600,'notes':'','source':{'start':0,'end':0},"      \
 "'custom':{'lighting':'夜','fps':24,'mood':'紧张'}}"

/* RESULT_MIN with its shot's `key` set to `value` (JSON, single quotes). */
static char *with(const char *key, const char *value)
{
    static char text[1024];
    json_t *result = parse_q(RESULT_MIN, __FILE__, __LINE__);
    json_t *shot = json_array_get(json_object_get(result, "shots"), 0);
    char *dump;

    json_object_set_new(shot, key, parse_q(value, __FILE__, __LINE__));
    dump = json_dumps(result, JSON_COMPACT);
    assert_non_null(dump);
    snprintf(text, sizeof(text), "%s", dump);
    free(dump);
    json_decref(result);
    return text;
}

/* ------------------------------------------------------------------------ */
/* The table                                                                */
/* ------------------------------------------------------------------------ */

static void test_kind_table(void **state)
{
    const char *const *names = schema_kind_names();
    bool listed = false;

    (void)state;
    assert_string_equal(sb()->name, "storyboard");
    for (; *names; names++)
        listed = listed || strcmp(*names, "storyboard") == 0;
    assert_true(listed);
}

/* ------------------------------------------------------------------------ */
/* Config                                                                   */
/* ------------------------------------------------------------------------ */

static void test_config_valid(void **state)
{
    (void)state;
    CONFIG_OK("{}");
    CONFIG_OK("{'speech_rate':1,'action_seconds':0.5,'target_minutes':1}");
    CONFIG_OK("{'speech_rate':20,'action_seconds':60,'target_minutes':100000}");
    CONFIG_OK("{'speech_rate':4.5}");
    CONFIG_OK(CUSTOM);
    CONFIG_OK("{'custom_fields':[]}");
    CONFIG_OK("{'drafter':{}}");
    CONFIG_OK("{'drafter':{'kind':'rules'}}");
    CONFIG_OK("{'drafter':{'kind':'llm','base_url':'http://127.0.0.1:8080/v1','model':'qwen'}}");
    CONFIG_OK("{'drafter':{'kind':'llm','base_url':'https://api.example.com/v1','model':'m',"
              "'api_key_env':'ANNOTD_LLM_KEY','timeout_seconds':600}}");
}

static void test_config_invalid(void **state)
{
    (void)state;
    CONFIG_ERR("[]", "", "must be an object");
    CONFIG_ERR("null", "", "must be an object");
    CONFIG_ERR("{'mode':'x'}", "mode", "unknown key");
    CONFIG_ERR("{'speech_rate':'4'}", "speech_rate", "must be a number");
    CONFIG_ERR("{'speech_rate':0.5}", "speech_rate", "must be between 1 and 20");
    CONFIG_ERR("{'speech_rate':21}", "speech_rate", "must be between 1 and 20");
    CONFIG_ERR("{'action_seconds':0}", "action_seconds", "must be between 0.5 and 60");
    CONFIG_ERR("{'target_minutes':0}", "target_minutes", "must be between 1 and 100000");
    CONFIG_ERR("{'custom_fields':{}}", "custom_fields", "must be an array");
    CONFIG_ERR("{'custom_fields':['a']}", "custom_fields[0]", "must be an object");
    CONFIG_ERR("{'custom_fields':[{'type':'text'}]}", "custom_fields[0].name", "is required");
    CONFIG_ERR("{'custom_fields':[{'name':'1x','type':'text'}]}", "custom_fields[0].name",
               "must be a letter or _ then letters, digits or _ (at most 64)");
    CONFIG_ERR("{'custom_fields':[{'name':'灯光','type':'text'}]}", "custom_fields[0].name",
               "must be a letter or _ then letters, digits or _ (at most 64)");
    CONFIG_ERR("{'custom_fields':[{'name':'a','type':'text'},{'name':'a','type':'number'}]}",
               "custom_fields[1].name", "duplicate custom field 'a'");
    CONFIG_ERR("{'custom_fields':[{'name':'a'}]}", "custom_fields[0].type", "is required");
    CONFIG_ERR("{'custom_fields':[{'name':'a','type':'date'}]}", "custom_fields[0].type",
               "must be one of: text, number, choice");
    CONFIG_ERR("{'custom_fields':[{'name':'a','type':'choice'}]}", "custom_fields[0].options",
               "is required");
    CONFIG_ERR("{'custom_fields':[{'name':'a','type':'choice','options':[]}]}",
               "custom_fields[0].options", "must not be empty");
    CONFIG_ERR("{'custom_fields':[{'name':'a','type':'choice','options':['x','x']}]}",
               "custom_fields[0].options[1]", "duplicate option 'x'");
    CONFIG_ERR("{'custom_fields':[{'name':'a','type':'text','options':['x']}]}",
               "custom_fields[0].options", "only applies to type 'choice'");
    CONFIG_ERR("{'custom_fields':[{'name':'a','type':'text','label':3}]}", "custom_fields[0].label",
               "must be a string");
    CONFIG_ERR("{'custom_fields':[{'name':'a','type':'text','width':3}]}", "custom_fields[0].width",
               "unknown key");
}

static void test_config_drafter(void **state)
{
    (void)state;
    CONFIG_ERR("{'drafter':'llm'}", "drafter", "must be an object");
    CONFIG_ERR("{'drafter':{'kind':'gpt'}}", "drafter.kind", "must be one of: rules, llm");
    CONFIG_ERR("{'drafter':{'kind':'rules','model':'m'}}", "drafter.model",
               "only applies to kind 'llm'");
    CONFIG_ERR("{'drafter':{'model':'m'}}", "drafter.model", "only applies to kind 'llm'");
    CONFIG_ERR("{'drafter':{'kind':'llm','model':'m'}}", "drafter.base_url", "is required");
    CONFIG_ERR("{'drafter':{'kind':'llm','base_url':'ftp://x','model':'m'}}", "drafter.base_url",
               "must be an http:// or https:// URL");
    CONFIG_ERR("{'drafter':{'kind':'llm','base_url':'https://','model':'m'}}", "drafter.base_url",
               "must be an http:// or https:// URL");
    CONFIG_ERR("{'drafter':{'kind':'llm','base_url':'https://a b','model':'m'}}",
               "drafter.base_url", "must be an http:// or https:// URL");
    CONFIG_ERR("{'drafter':{'kind':'llm','base_url':'https://a'}}", "drafter.model", "is required");
    CONFIG_ERR("{'drafter':{'kind':'llm','base_url':'https://a','model':''}}", "drafter.model",
               "must not be empty");
    CONFIG_ERR("{'drafter':{'kind':'llm','base_url':'https://a','model':'m','api_key':'sk-1'}}",
               "drafter.api_key",
               "must not be stored in the config: name an environment variable in api_key_env");
    CONFIG_ERR("{'drafter':{'kind':'llm','base_url':'https://a','model':'m',"
               "'api_key_env':'sk-123'}}",
               "drafter.api_key_env", "must be an environment variable name (A-Z, 0-9, _)");
    CONFIG_ERR("{'drafter':{'kind':'llm','base_url':'https://a','model':'m',"
               "'timeout_seconds':0}}",
               "drafter.timeout_seconds", "must be between 1 and 600");
    CONFIG_ERR("{'drafter':{'kind':'llm','base_url':'https://a','model':'m',"
               "'timeout_seconds':1.5}}",
               "drafter.timeout_seconds", "must be an integer");
    CONFIG_ERR("{'drafter':{'kind':'llm','base_url':'https://a','model':'m','retries':2}}",
               "drafter.retries", "unknown key");
}

static void test_settings(void **state)
{
    struct storyboard_settings s;
    json_t *config;

    (void)state;
    memset(&s, 0x5a, sizeof(s));
    assert_int_equal(schema_storyboard_settings(NULL, &s), 0);
    assert_true(s.speech_rate == 4.0 && s.action_seconds == 3.0 && s.target_minutes == 150.0);
    assert_int_equal(s.drafter, STORYBOARD_DRAFTER_RULES);
    assert_null(s.llm_base_url);
    assert_null(s.custom_fields);

    config = Q("{}");
    memset(&s, 0x5a, sizeof(s));
    assert_int_equal(schema_storyboard_settings(config, &s), 0);
    assert_true(s.speech_rate == 4.0 && s.action_seconds == 3.0 && s.target_minutes == 150.0);
    assert_int_equal(s.llm_timeout_seconds, 60);
    json_decref(config);

    config = Q("{'speech_rate':5,'action_seconds':2.5,'target_minutes':90,"
               "'custom_fields':[{'name':'a','type':'text'}],"
               "'drafter':{'kind':'llm','base_url':'http://h/v1','model':'m','api_key_env':'K',"
               "'timeout_seconds':9}}");
    assert_int_equal(schema_storyboard_settings(config, &s), 0);
    assert_true(s.speech_rate == 5.0 && s.action_seconds == 2.5 && s.target_minutes == 90.0);
    assert_int_equal(s.drafter, STORYBOARD_DRAFTER_LLM);
    assert_string_equal(s.llm_base_url, "http://h/v1");
    assert_string_equal(s.llm_model, "m");
    assert_string_equal(s.llm_api_key_env, "K");
    assert_int_equal(s.llm_timeout_seconds, 9);
    assert_int_equal(json_array_size(s.custom_fields), 1);
    json_decref(config);

    /* invalid: -EINVAL and *out untouched */
    config = Q("{'speech_rate':50}");
    memset(&s, 0x5a, sizeof(s));
    assert_int_equal(schema_storyboard_settings(config, &s), -EINVAL);
    assert_int_equal(((unsigned char *)&s)[0], 0x5a);
    json_decref(config);
}

/* ------------------------------------------------------------------------ */
/* Task data                                                                */
/* ------------------------------------------------------------------------ */

static void test_task(void **state)
{
    (void)state;
    TASK_OK(DATA);
    TASK_OK("{'novel':7,'chapter':{'index':3,'title':'考城隍','volume':'卷一'},'scene':2,"
            "'text':'x'}");
    TASK_ERR("[]", "", "must be an object");
    TASK_ERR("{'chapter':{'index':1,'title':'t','volume':null},'scene':0,'text':'x'}", "novel",
             "is required");
    TASK_ERR("{'novel':0,'chapter':{'index':1,'title':'t','volume':null},'scene':0,'text':'x'}",
             "novel", "must be >= 1");
    TASK_ERR("{'novel':'1','chapter':{'index':1,'title':'t','volume':null},'scene':0,'text':'x'}",
             "novel", "must be an integer");
    TASK_ERR("{'novel':1,'scene':0,'text':'x'}", "chapter", "is required");
    TASK_ERR("{'novel':1,'chapter':[],'scene':0,'text':'x'}", "chapter", "must be an object");
    TASK_ERR("{'novel':1,'chapter':{'title':'t','volume':null},'scene':0,'text':'x'}",
             "chapter.index", "is required");
    TASK_ERR("{'novel':1,'chapter':{'index':0,'title':'t','volume':null},'scene':0,'text':'x'}",
             "chapter.index", "must be >= 1");
    TASK_ERR("{'novel':1,'chapter':{'index':1,'volume':null},'scene':0,'text':'x'}",
             "chapter.title", "is required");
    TASK_ERR("{'novel':1,'chapter':{'index':1,'title':'t'},'scene':0,'text':'x'}", "chapter.volume",
             "is required");
    TASK_ERR("{'novel':1,'chapter':{'index':1,'title':'t','volume':1},'scene':0,'text':'x'}",
             "chapter.volume", "must be a string or null");
    TASK_ERR("{'novel':1,'chapter':{'index':1,'title':'t','volume':null,'hash':'x'},'scene':0,"
             "'text':'x'}",
             "chapter.hash", "unknown key");
    TASK_ERR("{'novel':1,'chapter':{'index':1,'title':'t','volume':null},'text':'x'}", "scene",
             "is required");
    TASK_ERR("{'novel':1,'chapter':{'index':1,'title':'t','volume':null},'scene':-1,'text':'x'}",
             "scene", "must be >= 0");
    TASK_ERR("{'novel':1,'chapter':{'index':1,'title':'t','volume':null},'scene':0}", "text",
             "is required");
    TASK_ERR("{'novel':1,'chapter':{'index':1,'title':'t','volume':null},'scene':0,'text':''}",
             "text", "must not be empty");
    TASK_ERR("{'novel':1,'chapter':{'index':1,'title':'t','volume':null},'scene':0,'text':'x',"
             "'extra':1}",
             "extra", "unknown key");
}

/* ------------------------------------------------------------------------ */
/* Results                                                                  */
/* ------------------------------------------------------------------------ */

static void test_result_valid(void **state)
{
    (void)state;
    RESULT_OK("{}", RESULT_MIN);
    RESULT_OK("{}", "{'shots':[]}");
    RESULT_OK("{}", "{'shots':[],'attrs':{'x':1}}");
    RESULT_OK(CUSTOM, "{'shots':[" SHOT_MIN "," SHOT_FULL "]}");
    RESULT_OK("{}", with("duration", "0.001"));
    RESULT_OK("{}", with("source", "{'start':12,'end':12}"));
    RESULT_OK("{}", with("characters", "[]"));
    RESULT_OK("{}", with("dialogue", "[]"));
    RESULT_OK(CUSTOM, with("custom", "{}"));
    RESULT_OK(CUSTOM, with("custom", "{'lighting':null}"));
    RESULT_OK("{}", with("size", "'extreme_closeup'"));
    RESULT_OK("{}", with("angle", "'dutch'"));
    RESULT_OK("{}", with("move", "'crane'"));
    RESULT_OK("{}", with("transition", "'wipe'"));
}

static void test_result_invalid(void **state)
{
    (void)state;
    RESULT_ERR("{}", "[]", "", "must be an object");
    RESULT_ERR("{}", "{}", "shots", "is required");
    RESULT_ERR("{}", "{'shots':{}}", "shots", "must be an array");
    RESULT_ERR("{}", "{'shots':[],'classes':[]}", "classes", "unknown key");
    RESULT_ERR("{}", "{'shots':[1]}", "shots[0]", "must be an object");
    RESULT_ERR("{}", "{'shots':[{'size':'long','duration':1,'source':{'start':0,'end':1}}]}",
               "shots[0].id", "is required");
    RESULT_ERR("{}",
               "{'shots':[{'id':'','size':'long','duration':1,'source':{'start':0,'end':1}}]}",
               "shots[0].id", "must not be empty");
    RESULT_ERR("{}", "{'shots':[" SHOT_MIN "," SHOT_MIN "]}", "shots[1].id", "duplicate id 's1'");
    RESULT_ERR("{}", "{'shots':[{'id':'s','duration':1,'source':{'start':0,'end':1}}]}",
               "shots[0].size", "is required");
    RESULT_ERR("{}", "{'shots':[{'id':'s','size':'long','source':{'start':0,'end':1}}]}",
               "shots[0].duration", "is required");
    RESULT_ERR("{}", "{'shots':[{'id':'s','size':'long','duration':1}]}", "shots[0].source",
               "is required");
    RESULT_ERR("{}", with("size", "'wide'"), "shots[0].size",
               "must be one of: long, full, medium, close, closeup, extreme_closeup");
    RESULT_ERR("{}", with("angle", "'Eye'"), "shots[0].angle",
               "must be one of: eye, high, low, overhead, dutch");
    RESULT_ERR("{}", with("move", "'zoom'"), "shots[0].move",
               "must be one of: static, push, pull, pan, tilt, track, follow, crane");
    RESULT_ERR("{}", with("transition", "null"), "shots[0].transition", "must be a string");
    RESULT_ERR("{}", with("transition", "'cut '"), "shots[0].transition",
               "must be one of: cut, fade, dissolve, wipe");
    RESULT_ERR("{}", with("picture", "1"), "shots[0].picture", "must be a string");
    RESULT_ERR("{}", with("sound", "[]"), "shots[0].sound", "must be a string");
    RESULT_ERR("{}", with("notes", "null"), "shots[0].notes", "must be a string");
    RESULT_ERR("{}", with("shot", "1"), "shots[0].shot", "unknown key");
    RESULT_ERR("{}", with("characters", "'c1'"), "shots[0].characters", "must be an array");
    RESULT_ERR("{}", with("characters", "[1]"), "shots[0].characters[0]", "must be a string");
    RESULT_ERR("{}", with("characters", "['c1','']"), "shots[0].characters[1]",
               "must not be empty");
    RESULT_ERR("{}", with("characters", "['c1','c1']"), "shots[0].characters[1]",
               "duplicate character 'c1'");
}

static void test_result_duration_source(void **state)
{
    (void)state;
    RESULT_ERR("{}", with("duration", "0"), "shots[0].duration", "must be > 0 and <= 600");
    RESULT_ERR("{}", with("duration", "-1"), "shots[0].duration", "must be > 0 and <= 600");
    RESULT_ERR("{}", with("duration", "600.5"), "shots[0].duration", "must be > 0 and <= 600");
    RESULT_ERR("{}", with("duration", "'3'"), "shots[0].duration", "must be a number");
    RESULT_ERR("{}", with("source", "[0,1]"), "shots[0].source", "must be an object");
    RESULT_ERR("{}", with("source", "{'start':0}"), "shots[0].source.end", "is required");
    RESULT_ERR("{}", with("source", "{'end':0}"), "shots[0].source.start", "is required");
    RESULT_ERR("{}", with("source", "{'start':0.5,'end':1}"), "shots[0].source.start",
               "must be an integer");
    RESULT_ERR("{}", with("source", "{'start':-1,'end':1}"), "shots[0].source.start",
               "must be >= 0");
    RESULT_ERR("{}", with("source", "{'start':3,'end':2}"), "shots[0].source.end",
               "must be >= start");
    /* 12 code points, not 34 bytes */
    RESULT_ERR("{}", with("source", "{'start':0,'end':13}"), "shots[0].source.end",
               "must be <= 12 (text length in code points)");
    RESULT_ERR("{}", with("source", "{'start':0,'end':1,'chapter':1}"), "shots[0].source.chapter",
               "unknown key");
}

static void test_result_dialogue(void **state)
{
    (void)state;
    RESULT_ERR("{}", with("dialogue", "{}"), "shots[0].dialogue", "must be an array");
    RESULT_ERR("{}", with("dialogue", "['hi']"), "shots[0].dialogue[0]", "must be an object");
    RESULT_ERR("{}", with("dialogue", "[{'speaker':'c1'}]"), "shots[0].dialogue[0].text",
               "is required");
    RESULT_ERR("{}", with("dialogue", "[{'text':1}]"), "shots[0].dialogue[0].text",
               "must be a string");
    RESULT_ERR("{}", with("dialogue", "[{'text':'a','speaker':1}]"), "shots[0].dialogue[0].speaker",
               "must be a string or null");
    RESULT_ERR("{}", with("dialogue", "[{'text':'a','speaker':''}]"),
               "shots[0].dialogue[0].speaker", "must not be empty");
    RESULT_ERR("{}", with("dialogue", "[{'text':'a','kind':'对白'}]"), "shots[0].dialogue[0].kind",
               "must be one of: dialogue, monologue, narration");
    RESULT_ERR("{}", with("dialogue", "[{'text':'a'},{'text':'b','tone':'x'}]"),
               "shots[0].dialogue[1].tone", "unknown key");
}

static void test_result_custom(void **state)
{
    (void)state;
    RESULT_ERR("{}", with("custom", "{'lighting':'夜'}"), "shots[0].custom.lighting",
               "unknown custom field");
    RESULT_ERR(CUSTOM, with("custom", "[]"), "shots[0].custom", "must be an object");
    RESULT_ERR(CUSTOM, with("custom", "{'lighting':'黄昏'}"), "shots[0].custom.lighting",
               "unknown option '黄昏'");
    RESULT_ERR(CUSTOM, with("custom", "{'lighting':1}"), "shots[0].custom.lighting",
               "must be a string");
    RESULT_ERR(CUSTOM, with("custom", "{'fps':'24'}"), "shots[0].custom.fps", "must be a number");
    RESULT_ERR(CUSTOM, with("custom", "{'mood':true}"), "shots[0].custom.mood", "must be a string");
    RESULT_ERR(CUSTOM, with("custom", "{'mood':'x','weather':'雨'}"), "shots[0].custom.weather",
               "unknown custom field");
}

static void test_result_caps(void **state)
{
    json_t *config = Q("{}"), *data = Q(DATA), *result = Q("{'shots':[]}");
    json_t *shots = json_object_get(result, "shots");
    struct schema_error err;
    char id[32];

    (void)state;
    for (int i = 0; i < STORYBOARD_MAX_SHOTS; i++) {
        json_t *shot = Q(SHOT_MIN);
        snprintf(id, sizeof(id), "s%d", i);
        json_object_set_new(shot, "id", json_string(id));
        json_array_append_new(shots, shot);
    }
    assert_int_equal(sb()->check_result(config, data, result, &err), 0);
    json_array_append_new(shots, Q("{'id':'x','size':'long','duration':1,"
                                   "'source':{'start':0,'end':0}}"));
    assert_int_equal(sb()->check_result(config, data, result, &err), -ERR_INVALID_RESULT);
    assert_string_equal(err.path, "shots");
    assert_string_equal(err.message, "too many shots (at most 1000)");
    json_decref(config);
    json_decref(data);
    json_decref(result);
}

/* Data that was never checked: the source bound falls back to 0, no crash. */
static void test_unchecked_data(void **state)
{
    json_t *config = Q("{}"), *result = Q(RESULT_MIN), *data = Q("{'text':5}");
    struct schema_error err;

    (void)state;
    assert_int_equal(sb()->check_result(config, data, result, &err), -ERR_INVALID_RESULT);
    assert_string_equal(err.path, "shots[0].source.end");
    assert_int_equal(sb()->check_result(NULL, NULL, result, &err), -ERR_INVALID_RESULT);
    json_decref(config);
    json_decref(result);
    json_decref(data);
}

/* ------------------------------------------------------------------------ */
/* Labels                                                                   */
/* ------------------------------------------------------------------------ */

static void collect_label(void *ctx, const char *field, const char *label, const char *value)
{
    char *out = ctx;
    size_t len = strlen(out);

    snprintf(out + len, 1024 - len, "%s|%s|%s;", field, label, value);
}

static void test_labels(void **state)
{
    json_t *config = Q(CUSTOM), *result = Q("{'shots':[" SHOT_MIN "," SHOT_FULL "]}");
    char got[1024] = "";

    (void)state;
    expect_q("storyboard", STAGE_RESULT, CUSTOM, DATA, "{'shots':[" SHOT_MIN "," SHOT_FULL "]}", NULL, NULL,
             __FILE__, __LINE__);
    sb()->labels(config, result, collect_label, got);
    assert_string_equal(got, "shots|medium|s1;shots|closeup|s2;characters|c1|s2;characters|c2|s2;");
    json_decref(config);
    json_decref(result);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_table),
        cmocka_unit_test(test_config_valid),
        cmocka_unit_test(test_config_invalid),
        cmocka_unit_test(test_config_drafter),
        cmocka_unit_test(test_settings),
        cmocka_unit_test(test_task),
        cmocka_unit_test(test_result_valid),
        cmocka_unit_test(test_result_invalid),
        cmocka_unit_test(test_result_duration_source),
        cmocka_unit_test(test_result_dialogue),
        cmocka_unit_test(test_result_custom),
        cmocka_unit_test(test_result_caps),
        cmocka_unit_test(test_unchecked_data),
        cmocka_unit_test(test_labels),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
