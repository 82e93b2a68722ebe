/*
 * libFuzzer target for src/story/export.c.
 *
 * Input: one JSON document (any shape: the exporters must accept any
 * json_t). Every format renders it into a capped buffer, and again into a
 * tiny buffer to exercise the -E2BIG path. Besides crashes and sanitizer
 * reports, it aborts when an exporter breaks its contract: a return other
 * than 0, -ENOMEM or -E2BIG, or a failed call that leaves bytes behind.
 */
#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "story/export.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run(const char *format, const json_t *doc, size_t cap)
{
    struct buf out;
    int r;

    buf_init(&out, cap);
    r = story_export(format, doc, &out);
    if (r != 0 && r != -ENOMEM && r != -E2BIG)
        abort();
    if (r != 0 && out.len != 0)
        abort();
    if (out.p[out.len] != '\0')
        abort();
    buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

    for (const char *const *f = story_export_formats(); *f; f++) {
        run(*f, doc, 4 << 20);
        run(*f, doc, 64);
    }
    json_decref(doc);
    return 0;
}
