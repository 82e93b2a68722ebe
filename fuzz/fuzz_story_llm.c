/*
 * fuzz_story_llm.c: the check of an LLM endpoint's answer (the part of the
 * LLM drafter that reads untrusted bytes) never crashes, and whatever it
 * accepts is a shot list within the scene: offsets inside, known enums.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "story/llm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t scene_len = (size_t)data[0] << 8 | data[1];
    char *body = malloc(size - 2 + 1);
    if (!body)
        return 0;
    memcpy(body, data + 2, size - 2);
    body[size - 2] = '\0';
    json_t *cast = json_pack("[{s:s,s:s},{s:s,s:s}]", "id", "c1", "name", "甲", "id", "c2", "name", "乙");
    json_t *result = NULL;
    char err[256];
    if (story_llm_parse_answer(body, size - 2, scene_len, cast, &result, err, sizeof(err)) == 0) {
        size_t i;
        json_t *shot;
        json_array_foreach(json_object_get(result, "shots"), i, shot)
        {
            json_t *src = json_object_get(shot, "source");
            json_int_t s = json_integer_value(json_object_get(src, "start"));
            json_int_t e = json_integer_value(json_object_get(src, "end"));
            if (s < 0 || e < s || (size_t)e > scene_len)
                abort();
        }
    }
    json_decref(result);
    json_decref(cast);
    free(body);
    return 0;
}
