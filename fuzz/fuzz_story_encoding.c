/*
 * libFuzzer target for story ingest (src/story/encoding.c): detection,
 * strict conversion, normalisation, site stripping and re-flow.
 *
 * Input: any bytes; the first byte picks the re-flow mode, the rest is the
 * file. t2s is off (OpenCC's dictionaries are not what is being fuzzed).
 * Contract checks (abort on violation, besides sanitizer reports):
 * - success gives well-formed UTF-8 without "\r", ending in "\n", a known
 *   encoding name, and stripped lines with line numbers inside the input;
 * - failure gives a negative errno from the documented set, a kind, and a
 *   terminated, non-empty message.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "story/story.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct story_ingest_opts o = { .max_bytes = 1 << 20,
                                   .reflow = (enum story_reflow)(data[0] % 3) };
    struct story_text t;
    struct story_error err;
    int r = story_ingest((const char *)data + 1, size - 1, &o, &t, &err);
    if (r < 0) {
        if (r != -ENODATA && r != -E2BIG && r != -EMEDIUMTYPE && r != -EILSEQ && r != -ENOMEM)
            abort();
        if (err.kind == STORY_ERR_NONE || memchr(err.message, '\0', sizeof(err.message)) == NULL ||
            err.message[0] == '\0')
            abort();
        return 0;
    }
    if (!utf8_valid(t.text.p, t.text.len) || memchr(t.text.p, '\r', t.text.len) != NULL)
        abort();
    if (t.text.len == 0 || t.text.p[t.text.len - 1] != '\n' || t.text.p[t.text.len] != '\0')
        abort();
    if (strcmp(t.encoding, "UTF-8") && strcmp(t.encoding, "UTF-16LE") &&
        strcmp(t.encoding, "UTF-16BE") && strcmp(t.encoding, "GB18030") &&
        strcmp(t.encoding, "Big5"))
        abort();
    for (size_t i = 0; i < t.n_stripped; i++)
        if (t.stripped[i].line == 0 || t.stripped[i].line > t.input_lines ||
            !t.stripped[i].reason || !utf8_valid(t.stripped[i].text, strlen(t.stripped[i].text)))
            abort();
    story_text_release(&t);
    return 0;
}
