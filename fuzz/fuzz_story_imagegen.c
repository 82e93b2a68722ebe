/*
 * fuzz_story_imagegen.c: the images answer parser (story_imagegen_parse)
 * and the base64 decoder under it: never read past the input, never write
 * on failure, never exceed the size cap, and decode what sodium encodes.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "story/imagegen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy: ASan catches any read past the end */
    char *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);

    struct buf out;
    const char *mime = NULL;
    char model[64], err[256];
    buf_init(&out, 1 << 20);
    buf_adds(&out, "keep");
    int r = story_imagegen_parse(p, size, 1 << 16, &out, &mime, model, sizeof(model), err, sizeof(err));
    if (r < 0 && out.len != 4)
        abort(); /* failure must leave the buffer as it was */
    if (r == 0 && (!mime || out.len - 4 > (1 << 16) || !story_image_type((unsigned char *)out.p + 4, out.len - 4)))
        abort();

    /* the decoder alone, and a round trip through sodium's encoder */
    buf_clear(&out);
    r = story_base64_decode(p, size, &out);
    if (r < 0 && out.len != 0)
        abort();
    if (size <= 4096) {
        size_t cap = sodium_base64_encoded_len(size, sodium_base64_VARIANT_ORIGINAL);
        char *enc = malloc(cap);
        if (enc) {
            sodium_bin2base64(enc, cap, data, size, sodium_base64_VARIANT_ORIGINAL);
            buf_clear(&out);
            if (story_base64_decode(enc, strlen(enc), &out) != 0 || out.len != size ||
                (size && memcmp(out.p, data, size) != 0))
                abort();
            free(enc);
        }
    }
    buf_release(&out);
    free(p);
    return 0;
}
