/*
 * fuzz_range.c: the Range header parser (http_parse_range) never reads
 * out of bounds, and a part it returns lies inside the representation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint64_t total;
    memcpy(&total, data, sizeof(total));
    total %= (uint64_t)1 << 40;
    char *h = malloc(size - 8 + 1);
    if (!h)
        return 0;
    memcpy(h, data + 8, size - 8);
    h[size - 8] = '\0';
    uint64_t first = 0, last = 0;
    enum http_range k = http_parse_range(h, total, &first, &last);
    if (k == HTTP_RANGE_PART && (first > last || last >= total))
        abort();
    free(h);
    return 0;
}
