/*
 * fuzz_media_sniff.c: type detection from magic bytes reads only the bytes
 * it was given, and names only types annotd serves.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/media.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *mime = media_sniff(data, size);
    if (mime && strncmp(mime, "image/", 6) != 0 && strncmp(mime, "video/", 6) != 0 &&
        strncmp(mime, "audio/", 6) != 0)
        abort();
    return 0;
}
