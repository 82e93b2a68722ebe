/*
 * libFuzzer target for the text layer under JSON Lines import and export:
 * src/core/utf8 and json_escape().
 *
 * Input: any bytes, taken as one text.
 * - utf8_valid() agrees with jansson's own UTF-8 check (json_stringn).
 * - For valid text: utf8_offset() of code points 0..utf8_count() is
 *   strictly increasing, lands on code point starts, ends at the length,
 *   and is -1 past the end; utf8_count() of each prefix is its index.
 * - json_escape() of any input gives a quoted string with no raw control
 *   characters and no '<', '>', '&'; for valid text, jansson parses it
 *   back to exactly the input bytes (NUL included).
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_offsets(const char *p, size_t len)
{
    size_t n = utf8_count(p, len);
    long prev = -1;

    if (n > len)
        abort();
    for (size_t cp = 0; cp <= n; cp++) {
        long off = utf8_offset(p, len, cp);
        if (off <= prev || off < 0 || (size_t)off > len)
            abort();
        if ((size_t)off < len && ((unsigned char)p[off] & 0xC0) == 0x80)
            abort();
        /* checking every prefix is quadratic: sample it */
        if ((cp < 64 || cp == n) && utf8_count(p, (size_t)off) != cp)
            abort();
        prev = off;
    }
    if ((size_t)prev != len || utf8_offset(p, len, n + 1) != -1)
        abort();
}

static void check_escape(const char *p, size_t len, bool valid)
{
    struct buf b;

    buf_init(&b, 0);
    if (json_escape(&b, p, len) != 0)
        abort();
    if (b.len < 2 || b.p[0] != '"' || b.p[b.len - 1] != '"' || b.p[b.len] != '\0')
        abort();
    for (size_t i = 0; i < b.len; i++) {
        unsigned char c = (unsigned char)b.p[i];
        if (c < 0x20 || c == 0x7f || c == '<' || c == '>' || c == '&')
            abort();
    }
    if (valid) {
        json_error_t e;
        json_t *v = json_loadb(b.p, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
        if (!json_is_string(v) || json_string_length(v) != len ||
            memcmp(json_string_value(v), p, len) != 0)
            abort();
        json_decref(v);
    }
    buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;

    bool valid = utf8_valid(p, size);
    json_t *ref = json_stringn(p, size);
    if (valid != (ref != NULL))
        abort();
    json_decref(ref);

    /* counts never read out of bounds, valid or not */
    (void)utf8_count(p, size);
    (void)utf8_offset(p, size, size / 2);
    if (valid)
        check_offsets(p, size);
    check_escape(p, size, valid);
    return 0;
}
