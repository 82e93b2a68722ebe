/*
 * Unit tests for the storyboard exports (src/story/export.c): the
 * dispatcher, CSV (BOM, RFC 4180 quoting, CRLF, formula guard, Chinese
 * names, custom columns), Fountain structure, SRT timing, HTML escaping and
 * self-containment, the JSON round trip, and documents of the wrong shape.
 *
 * JSON in these tests is written with single quotes, turned into double
 * quotes before parsing; a real apostrophe is written as \u0027.
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

#include "core/buf.h"
#include "story/export.h"

static json_t *parse_q(const char *text)
{
    size_t len = strlen(text);
    char *s = malloc(len + 1);
    json_error_t jerr;
    json_t *v;

    assert_non_null(s);
    for (size_t i = 0; i <= len; i++)
        s[i] = text[i] == '\'' ? '"' : text[i];
    v = json_loadb(s, len, JSON_DECODE_ANY, &jerr);
    if (!v)
        print_error("bad test JSON: %s: %s\n", jerr.text, s);
    free(s);
    assert_non_null(v);
    return v;
}

#define DOC                                                                                             \
 "{'format':'annotd-storyboard','version':1,"                                                           \
 "'project':{'id':3,'name':'水浒分镜','custom_fields':[{'name':'lighting','label':'灯光',"        \
 "'type':'choice'},{'name':'fps','type':'number'}]},"                                                   \
 "'novel':{'id':1,'title':'水浒传'},"                                                                \
 "'characters':[{'id':'c1','name':'宋江','aliases':['公明','及时雨']},"                          \
 "{'id':'c2','name':'李逵','aliases':[]}],"                                                           \
 "'chapters':[{'index':1,'title':'第一回 张天师祈禳瘟疫','volume':null,'scenes':["            \
 "{'scene':1,'task':11,'text':'…','status':'accepted','shots':["                                      \
 "{'id':'s000001','size':'long','angle':'high','move':'pan','picture':'山下一片寂静',"            \
 "'characters':[],'dialogue':[],'sound':'钟声','transition':'fade','duration':3,'notes':'',"          \
 "'source':{'start':0,'end':10},'custom':{'lighting':'夜','fps':24}},"                                 \
 "{'id':'s000002','size':'medium','angle':'eye','move':'static','picture':'=SUM(A1:A2), \\\"x\\\"',"    \
 "'characters':['c1','c2'],'dialogue':[{'speaker':'c1','kind':'dialogue','text':'兄弟们且住。'}," \
 "{'speaker':'c2','kind':'dialogue','text':'哥哥！'}],'sound':'','transition':'cut',"                \
 "'duration':4.5,'notes':'-注意\\n换行','source':{'start':10,'end':20}}]},"                         \
 "{'scene':2,'task':12,'text':'…','status':'draft','shots':["                                         \
 "{'id':'s000003','size':'closeup','dialogue':[{'speaker':'c1','kind':'monologue',"                     \
 "'text':'此事蹊跷'},{'speaker':null,'kind':'narration','text':'<script>alert(1)</script>'}],"      \
 "'transition':'dissolve','duration':2,'source':{'start':0,'end':4}}]}]},"                              \
 "{'index':2,'title':'第二回','volume':'上部','scenes':[{'scene':1,'task':13,'shots':["            \
 "{'id':'s000004','size':'full','duration':1.5,'dialogue':[{'speaker':'c9','text':'无名'}],"          \
 "'source':{'start':0,'end':1}}]}]}],"                                                                  \
 "'totals':{'shots':4,'duration':11}}"

static char *render(const char *format, const char *doc_text)
{
    json_t *doc = parse_q(doc_text);
    struct buf out;
    char *s;

    buf_init(&out, 0);
    assert_int_equal(story_export(format, doc, &out), 0);
    s = buf_detach(&out, NULL);
    json_decref(doc);
    return s;
}

static void test_dispatch(void **state)
{
    json_t *doc = parse_q(DOC);
    struct buf out;
    const char *const *f;
    size_t n = 0;

    (void)state;
    buf_init(&out, 0);
    assert_int_equal(story_export("pdf", doc, &out), -EINVAL);
    assert_int_equal(story_export(NULL, doc, &out), -EINVAL);
    assert_int_equal(story_export("srt", doc, NULL), -EINVAL);
    assert_int_equal(out.len, 0);
    for (f = story_export_formats(); *f; f++, n++) {
        assert_non_null(story_export_mime(*f));
        assert_non_null(story_export_extension(*f));
        assert_int_equal(story_export(*f, doc, &out), 0);
        assert_true(out.len > 0);
        buf_clear(&out);
    }
    assert_int_equal(n, 5);
    assert_string_equal(story_export_mime("storyboard-csv"), "text/csv; charset=utf-8");
    assert_string_equal(story_export_mime("storyboard-html"), "text/html; charset=utf-8");
    assert_string_equal(story_export_extension("fountain"), "fountain");
    assert_string_equal(story_export_extension("srt"), "srt");
    assert_null(story_export_mime("csv"));
    assert_null(story_export_extension(NULL));
    assert_string_equal(story_export_label("extreme_closeup"), "大特写");
    assert_string_equal(story_export_label("dissolve"), "叠化");
    assert_null(story_export_label("zoom"));

    /* a capped buffer: -E2BIG, and the buffer cut back to where it was */
    buf_release(&out);
    buf_init(&out, 100);
    buf_adds(&out, "keep");
    assert_int_equal(story_export("storyboard-html", doc, &out), -E2BIG);
    assert_int_equal(out.len, 4);
    assert_string_equal(out.p, "keep");
    buf_release(&out);
    json_decref(doc);
}

static void test_csv(void **state)
{
    char *csv = render("storyboard-csv", DOC);
    char *line2, *end;

    (void)state;
    /* BOM, then the header with the custom columns by label (or name) */
    assert_memory_equal(csv, "\xEF\xBB\xBF", 3);
    assert_true(strncmp(csv + 3,
                        "镜号,章节,场次,景别,角度,运镜,画面内容,角色,台词,音效,转场,时长(秒),"
                        "备注,镜头ID,灯光,fps,参考图\r\n",
                        strlen("镜号,章节,场次,景别,角度,运镜,画面内容,角色,台词,音效,转场,"
                               "时长(秒),备注,镜头ID,灯光,fps,参考图\r\n")) == 0);
    line2 = strstr(csv, "\r\n") + 2;
    end = strstr(line2, "\r\n");
    assert_non_null(end);
    *end = '\0';
    assert_string_equal(line2,
                        "1,第一回 张天师祈禳瘟疫,1-1,远景,俯视,摇,山下一片寂静,,,钟声,淡入淡出,"
                        "3,,s000001,夜,24,");
    *end = '\r';
    /* formula guard + quoting of comma and quotes; names; multi-line cell */
    assert_non_null(strstr(csv, "\r\n2,第一回 张天师祈禳瘟疫,1-1,中景,平视,固定,"
                                "\"'=SUM(A1:A2), \"\"x\"\"\",宋江、李逵,"
                                "\"宋江：兄弟们且住。\n李逵：哥哥！\",,切,4.5,\"'-注意\n换行\","
                                "s000002,,,\r\n"));
    /* monologue, narration, unknown speaker id, a volume */
    assert_non_null(strstr(csv, "\"宋江（独白）：此事蹊跷\n旁白：<script>alert(1)</script>\""));
    assert_non_null(strstr(csv, "\r\n4,上部 第二回,2-1,全景,,,,,c9：无名,,,1.5,,s000004,,,\r\n"));
    /* CRLF only: no bare LF outside quoted cells is checked by counting rows */
    size_t rows = 0;
    for (char *p = csv; (p = strstr(p, "\r\n")); p += 2)
        rows++;
    assert_int_equal(rows, 5);
    free(csv);
}

static void test_csv_guard(void **state)
{
    char *csv = render("storyboard-csv",
                       "{'chapters':[{'index':1,'title':'+1','scenes':[{'scene':1,'shots':["
                       "{'id':'@x','picture':'-1','sound':'\\tcmd','notes':'ok=1'}]}]}]}");

    (void)state;
    assert_non_null(strstr(csv, "1,'+1,1-1,,,,'-1,,,'\tcmd,,,ok=1,'@x,\r\n"));
    free(csv);
}

static void test_fountain(void **state)
{
    char *f = render("fountain", DOC);

    (void)state;
    /* title page, ended by a blank line */
    assert_true(strncmp(f, "Title: 水浒传\nCredit: 分镜脚本\nSource: 水浒分镜\n\n",
                        strlen("Title: 水浒传\nCredit: 分镜脚本\nSource: 水浒分镜\n\n")) == 0);
    /* a section per chapter, a forced heading per scene with its number */
    assert_non_null(
        strstr(f, "\n# 第一回 张天师祈禳瘟疫\n\n.第一回 张天师祈禳瘟疫 第1场 #1-1#\n\n"));
    assert_non_null(strstr(f, "\n===\n\n# 上部 第二回\n\n.上部 第二回 第1场 #2-1#\n\n"));
    /* transitions forced, except cut */
    assert_non_null(strstr(f, "> 淡入淡出：\n\n[[镜 1 · 远景 · 俯视 · 摇 · 3秒 · 音效：钟声]]\n\n"
                              "山下一片寂静\n\n"));
    assert_non_null(strstr(f, "> 叠化：\n\n[[镜 3 · 特写 · 2秒]]\n\n"));
    assert_null(strstr(f, "> 切"));
    /* an action line that would read as something else is forced with ! */
    assert_non_null(strstr(f, "\n!=SUM(A1:A2), \"x\"\n"));
    /* character cues forced with @, dialogue under them */
    assert_non_null(strstr(f, "\n@宋江\n兄弟们且住。\n\n@李逵\n哥哥！\n\n"));
    assert_non_null(
        strstr(f, "\n@宋江 (V.O.)\n此事蹊跷\n\n@旁白 (V.O.)\n<script>alert(1)</script>\n"));
    /* a speaker not among the shot's characters is off screen */
    assert_non_null(strstr(f, "\n@c9 (O.S.)\n无名\n"));
    free(f);
}

static void test_fountain_escapes(void **state)
{
    char *f =
        render("fountain", "{'chapters':[{'index':1,'title':'一','scenes':[{'scene':1,"
                           "'shots':[{'picture':'INT. 酒店\\n\\n*粗体* _下划线_\\n.点'}]}]}]}");

    (void)state;
    assert_non_null(strstr(f, "\n!INT. 酒店\n\\*粗体\\* \\_下划线\\_\n!.点\n\n"));
    free(f);
}

static void test_srt(void **state)
{
    char *srt = render("srt", DOC);

    (void)state;
    /* shot 1 (3 s) has no dialogue; shot 2 starts at 3 s and lasts 4.5 s,
     * shared 6:3 between its two lines; shot 3 at 7.5 s, 2 s shared 4:25;
     * shot 4 at 9.5 s */
    assert_string_equal(srt, "1\r\n00:00:03,000 --> 00:00:06,000\r\n兄弟们且住。\r\n\r\n"
                             "2\r\n00:00:06,000 --> 00:00:07,500\r\n哥哥！\r\n\r\n"
                             "3\r\n00:00:07,500 --> 00:00:07,776\r\n<i>此事蹊跷</i>\r\n\r\n"
                             "4\r\n00:00:07,776 --> 00:00:09,500\r\n"
                             "<i><script>alert(1)</script></i>\r\n\r\n"
                             "5\r\n00:00:09,500 --> 00:00:11,000\r\n无名\r\n\r\n");
    free(srt);

    /* hours, blank lines inside a line, empty lines skipped */
    srt = render("srt", "{'chapters':[{'scenes':[{'shots':[{'duration':600},{'duration':600},"
                        "{'duration':600},{'duration':600},{'duration':600},{'duration':600},"
                        "{'duration':2,'dialogue':[{'text':''},{'text':'上\\n\\n下'}]}]}]}]}");
    assert_string_equal(srt, "1\r\n01:00:00,000 --> 01:00:02,000\r\n上\r\n下\r\n\r\n");
    free(srt);
}

static void test_html(void **state)
{
    char *html = render("storyboard-html", DOC);

    (void)state;
    assert_true(strncmp(html, "<!DOCTYPE html>\n<html lang=\"zh-CN\">", 34) == 0);
    assert_non_null(strstr(html, "<meta charset=\"utf-8\">"));
    assert_non_null(strstr(html, "@media print"));
    assert_non_null(strstr(html, "<title>水浒传 · 分镜脚本</title>"));
    /* escaped, never live */
    assert_null(strstr(html, "<script"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(html, "=SUM(A1:A2), &quot;x&quot;"));
    /* self-contained: no external resources */
    assert_null(strstr(html, "src="));
    assert_null(strstr(html, "href="));
    assert_null(strstr(html, "url("));
    assert_null(strstr(html, "@import"));
    /* a table per chapter, totals, names, statuses, custom columns */
    size_t tables = 0;
    for (char *p = html; (p = strstr(p, "<section class=\"chapter\">")); p++)
        tables++;
    assert_int_equal(tables, 2);
    assert_non_null(strstr(html, "镜头 4 · 总时长 0:00:11"));
    assert_non_null(strstr(html, "<h2>上部 第二回</h2>"));
    assert_non_null(strstr(html, "场次 1-1 · 已通过 · 镜头 2 · 7.5秒"));
    assert_non_null(strstr(html, "<th>灯光</th><th>fps</th>"));
    assert_non_null(strstr(html, "<td>宋江、李逵</td>"));
    assert_non_null(strstr(html, "<b>宋江（独白）</b>：此事蹊跷"));
    assert_non_null(strstr(html, "-注意<br>换行"));
    assert_non_null(strstr(html, "<td>公明、及时雨</td>"));
    assert_true(strlen(html) > 1000 && strcmp(html + strlen(html) - 8, "</html>\n") == 0);
    free(html);
}

static void test_json(void **state)
{
    json_t *doc = parse_q(DOC), *back;
    char *text = render("storyboard-json", DOC);

    (void)state;
    back = json_loads(text, 0, NULL);
    assert_non_null(back);
    assert_true(json_equal(doc, back));
    json_decref(back);
    json_decref(doc);
    free(text);
}

/* Documents of the wrong shape render (empty where the data is missing). */
static void test_wrong_shapes(void **state)
{
    static const char *const docs[] = {
        "null",
        "[]",
        "'text'",
        "{}",
        "{'chapters':{}}",
        "{'chapters':[1,null,[],{'scenes':3}]}",
        "{'chapters':[{'scenes':[{'shots':[1,'x',null,{}]}]}]}",
        ("{'characters':[1,{'id':3},{'id':'a','name':null}],'chapters':[{'index':'1','title':5,"
         "'scenes':[{'scene':[],'status':7,'shots':[{'id':1,'size':2,'duration':-3,"
         "'dialogue':[1,{'speaker':{},'kind':[],'text':null}],'characters':[1,null],"
         "'custom':[],'source':'x'}]}]}],'project':{'custom_fields':[1,{'name':5},{}]}}"),
        ("{'chapters':[{'scenes':[{'shots':[{'duration':1e300,'dialogue':[{'text':'x'}]},"
         "{'duration':1e-300,'dialogue':[{'text':'y'}]}]}]}]}"),
    };
    const char *const *f;

    (void)state;
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        json_t *doc = parse_q(docs[i]);
        for (f = story_export_formats(); *f; f++) {
            struct buf out;
            buf_init(&out, 0);
            assert_int_equal(story_export(*f, doc, &out), 0);
            buf_release(&out);
        }
        json_decref(doc);
    }
    for (f = story_export_formats(); *f; f++) {
        struct buf out;
        buf_init(&out, 0);
        assert_int_equal(story_export(*f, NULL, &out), 0);
        buf_release(&out);
    }
}

/* Accepted media: the CSV's last column, the HTML thumbnail only as a data: image URI. */
static void test_media(void **state)
{
    const char *doc = "{'chapters':[{'index':1,'title':'t','scenes':[{'scene':1,'shots':["
                      "{'id':'a','media':[{'id':'c1ip','kind':'clip'},{'id':'f1','kind':'first_frame',"
                      "'thumbnail':'data:image/jpeg;base64,/9j/AA=='}]},"
                      "{'id':'b','media':[{'id':'f2','kind':'first_frame','thumbnail':'javascript:alert(1)'}]},"
                      "{'id':'c','media':[{'id':'f3','kind':'first_frame',"
                      "'thumbnail':'data:image/png;base64,AA\\\" onerror=\\\"x'}]}]}]}]}";
    char *csv = render("storyboard-csv", doc);
    char *html = render("storyboard-html", doc);

    (void)state;
    assert_non_null(strstr(csv, ",参考图\r\n"));
    assert_non_null(strstr(csv, ",a,\"f1\nc1ip\"\r\n")); /* frames first */
    assert_non_null(strstr(csv, ",b,f2\r\n"));
    assert_non_null(strstr(html, "<th>参考图</th>"));
    assert_non_null(strstr(html, "<img class=\"frame\" alt=\"首帧\" src=\"data:image/jpeg;base64,/9j/AA==\">"));
    /* one image: the others are not data: image URIs and are dropped */
    assert_null(strstr(strstr(html, "<img") + 1, "<img"));
    assert_null(strstr(html, "javascript"));
    assert_null(strstr(html, "onerror"));
    free(csv);
    free(html);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_csv_guard),
        cmocka_unit_test(test_fountain),
        cmocka_unit_test(test_fountain_escapes),
        cmocka_unit_test(test_srt),
        cmocka_unit_test(test_html),
        cmocka_unit_test(test_media),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_wrong_shapes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
