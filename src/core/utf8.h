/*
 * UTF-8 helpers. Text offsets on the wire are Unicode code points.
 */
#ifndef ANNOTD_CORE_UTF8_H
#define ANNOTD_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when p[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
bool utf8_valid(const char *p, size_t len);

/* Number of code points in well-formed UTF-8 text. */
size_t utf8_count(const char *p, size_t len);

/*
 * Byte offset of code point `cp` in well-formed text (cp == count gives len).
 * Returns -1 when cp is past the end.
 */
long utf8_offset(const char *p, size_t len, size_t cp);

#endif
