/*
 * fuzz_story_stats.c: storyboard_result_stats(), the tree-less scanner that
 * counts shots and sums durations in stored results, never reads past the
 * input, and agrees with jansson on every well-formed result it is given.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storyboard/storyboard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy: ASan catches any read past the end */
    char *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);
    size_t n = 0;
    double d = 0;
    storyboard_result_stats(p, size, &n, &d);
    if (!(d >= 0) || !isfinite(d))
        abort();

    /* a well-formed result: the same count as the tree */
    json_t *v = json_loadb(p, size, JSON_REJECT_DUPLICATES, NULL);
    json_t *shots = json_object_get(v, "shots");
    if (json_is_array(shots)) {
        size_t objects = 0;
        for (size_t i = 0; i < json_array_size(shots); i++)
            objects += json_is_object(json_array_get(shots, i));
        if (objects != n)
            abort();
    }
    json_decref(v);
    free(p);
    return 0;
}
