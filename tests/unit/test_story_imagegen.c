/*
 * Unit tests for src/story/imagegen.c: base64 decoding (RFC 4648 §10 test
 * vectors), image types by magic bytes, the images answer parser, and the
 * client's refusals before any request. The transport runs against a
 * stand-in server in tests/api/test_76_shot_media.py.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "story/imagegen.h"

static const char *decode(const char *in, int *ret)
{
    static struct buf out;
    static int ready;
    if (!ready) {
        buf_init(&out, 1 << 20);
        ready = 1;
    }
    buf_clear(&out);
    *ret = story_base64_decode(in, strlen(in), &out);
    return out.p;
}

static void test_base64(void **state)
{
    static const char *const vectors[][2] = {
        { "", "" },         { "Zg==", "f" },         { "Zm8=", "fo" },         { "Zm9v", "foo" },
        { "Zm9vYg==", "foob" }, { "Zm9vYmE=", "fooba" }, { "Zm9vYmFy", "foobar" },
        /* padding optional, white space skipped */
        { "Zg", "f" },      { "Zm8", "fo" },         { "Zm9v\r\nYmFy\n", "foobar" },
        { " Zm 9v ", "foo" },
    };
    int r;

    (void)state;
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const char *got = decode(vectors[i][0], &r);
        assert_int_equal(r, 0);
        assert_string_equal(got, vectors[i][1]);
    }
    static const char *const bad[] = { "Z", "Zm9vY", "Zg=a", "Zm9v!", "Zg===", "=Zg", "Zm-_", "Z\x80g=", "Zg=\n=x" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct buf out;
        buf_init(&out, 0);
        buf_adds(&out, "x");
        assert_int_equal(story_base64_decode(bad[i], strlen(bad[i]), &out), -EBADMSG);
        assert_int_equal(out.len, 1); /* nothing appended */
        buf_release(&out);
    }
    /* binary, and the cap */
    struct buf out;
    buf_init(&out, 4);
    assert_int_equal(story_base64_decode("AP8A/w==", 8, &out), 0);
    assert_int_equal(out.len, 4);
    assert_memory_equal(out.p, "\x00\xff\x00\xff", 4);
    buf_clear(&out);
    assert_int_equal(story_base64_decode("Zm9vYmFy", 8, &out), -E2BIG);
    buf_release(&out);
}

static void test_image_type(void **state)
{
    (void)state;
    assert_string_equal(story_image_type((const unsigned char *)"\x89PNG\r\n\x1a\n....", 12), "image/png");
    assert_string_equal(story_image_type((const unsigned char *)"\xff\xd8\xff\xe0", 4), "image/jpeg");
    assert_string_equal(story_image_type((const unsigned char *)"RIFF\0\0\0\0WEBPVP8 ", 16), "image/webp");
    assert_null(story_image_type((const unsigned char *)"GIF89a", 6));
    assert_null(story_image_type((const unsigned char *)"\x89PN", 3));
    assert_null(story_image_type((const unsigned char *)"", 0));
}

/* A 1x1 PNG, base64. */
#define PNG_B64                                                                                    \
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"

static int parse(const char *answer, size_t max, struct buf *out, const char **mime, char *model, char *err)
{
    return story_imagegen_parse(answer, strlen(answer), max, out, mime, model, 64, err, 256);
}

static void test_parse(void **state)
{
    struct buf out;
    const char *mime = NULL;
    char model[64] = "", err[256] = "";

    (void)state;
    buf_init(&out, 0);
    assert_int_equal(parse("{\"created\":1,\"model\":\"sd-xl\",\"data\":[{\"b64_json\":\"" PNG_B64 "\"}]}", 0,
                           &out, &mime, model, err),
                     0);
    assert_string_equal(mime, "image/png");
    assert_string_equal(model, "sd-xl");
    assert_true(out.len > 8 && memcmp(out.p, "\x89PNG", 4) == 0);
    size_t png_len = out.len;

    /* no model in the answer: "" (the caller names its own) */
    buf_clear(&out);
    assert_int_equal(parse("{\"data\":[{\"b64_json\":\"" PNG_B64 "\"}]}", 0, &out, &mime, model, err), 0);
    assert_string_equal(model, "");

    static const struct {
        const char *answer;
        int code;
        const char *words;
    } bad[] = {
        { "not json", -EBADMSG, "not json" },
        { "{\"data\":[]}", -EBADMSG, "no data[0].b64_json" },
        { "{\"data\":[{\"url\":\"http://169.254.169.254/\"}]}", -EBADMSG, "never fetched" },
        { "{\"data\":[{\"b64_json\":\"\"}]}", -EBADMSG, "no data[0].b64_json" },
        { "{\"data\":[{\"b64_json\":5}]}", -EBADMSG, "no data[0].b64_json" },
        { "{\"data\":[{\"b64_json\":\"%%%\"}]}", -EBADMSG, "not base64" },
        { "{\"data\":[{\"b64_json\":\"aGVsbG8gd29ybGQ=\"}]}", -EBADMSG, "not a png" },
        { "{\"data\":{\"b64_json\":\"" PNG_B64 "\"}}", -EBADMSG, "no data[0].b64_json" },
        { "[1,2]", -EBADMSG, "no data[0].b64_json" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        buf_clear(&out);
        buf_adds(&out, "kept");
        err[0] = '\0';
        assert_int_equal(parse(bad[i].answer, 0, &out, &mime, model, err), bad[i].code);
        assert_int_equal(out.len, 4);
        for (char *c = err; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
        if (!strstr(err, bad[i].words))
            fail_msg("answer %zu: '%s' lacks '%s'", i, err, bad[i].words);
    }
    /* over the size cap */
    buf_clear(&out);
    assert_int_equal(parse("{\"data\":[{\"b64_json\":\"" PNG_B64 "\"}]}", png_len - 1, &out, &mime, model, err),
                     -E2BIG);
    assert_int_equal(out.len, 0);
    buf_release(&out);
}

static void test_refusals(void **state)
{
    struct buf out;
    const char *mime;
    char model[64], err[256];
    struct story_imagegen_opts o = { .base_url = "http://127.0.0.1:1/v1", .model = "m", .timeout_ms = 2000 };

    (void)state;
    buf_init(&out, 0);
    assert_int_equal(story_imagegen(&o, "", &out, &mime, model, sizeof(model), err, sizeof(err)), -EINVAL);
    assert_int_equal(story_imagegen(&o, "\xff\xfe", &out, &mime, model, sizeof(model), err, sizeof(err)), -EINVAL);
    o.base_url = "ftp://x";
    assert_int_equal(story_imagegen(&o, "画", &out, &mime, model, sizeof(model), err, sizeof(err)), -EINVAL);
    o.base_url = "http://127.0.0.1:1/v1";
    o.api_key = "a\nb";
    assert_int_equal(story_imagegen(&o, "画", &out, &mime, model, sizeof(model), err, sizeof(err)), -EINVAL);
    o.api_key = NULL;
    o.model = NULL;
    assert_int_equal(story_imagegen(&o, "画", &out, &mime, model, sizeof(model), err, sizeof(err)), -EINVAL);
    /* nothing listens on port 1 */
    o.model = "m";
    assert_int_equal(story_imagegen(&o, "画", &out, &mime, model, sizeof(model), err, sizeof(err)), -ECONNREFUSED);
    assert_non_null(strstr(err, "unreachable"));
    assert_int_equal(out.len, 0);
    buf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_image_type),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_refusals),
    };

    curl_global_init(CURL_GLOBAL_DEFAULT);
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return r;
}
