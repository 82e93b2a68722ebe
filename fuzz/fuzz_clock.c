/*
 * libFuzzer target for RFC 3339 times (src/core/clock).
 *
 * Input: any bytes.
 * - As text: when clock_parse() accepts it and the instant lies in years
 *   0000-9999, clock_format() writes a 24-byte "...Z" time that parses
 *   back to the same millisecond. clock_parse() never writes *ret_ms when
 *   it fails.
 * - The first 8 bytes, as an int64: clock_format() of any value writes a
 *   terminated 24-byte time that clock_parse() accepts, and round-trips
 *   exactly inside 0000-9999.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MS_YEAR_0    (-62167219200000LL) /* 0000-01-01T00:00:00.000Z */
#define MS_YEAR_9999 253402300799999LL   /* 9999-12-31T23:59:59.999Z */

static void check_format(int64_t ms)
{
    char out[CLOCK_RFC3339_LEN + 2];
    int64_t back = 0;

    memset(out, 'X', sizeof(out));
    clock_format(ms, out);
    if (out[CLOCK_RFC3339_LEN] != '\0' || out[CLOCK_RFC3339_LEN + 1] != 'X')
        abort();
    if (strlen(out) != CLOCK_RFC3339_LEN || out[CLOCK_RFC3339_LEN - 1] != 'Z')
        abort();
    if (clock_parse(out, CLOCK_RFC3339_LEN, &back) != 0)
        abort();
    if (ms >= MS_YEAR_0 && ms <= MS_YEAR_9999 && back != ms)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t ms = 0x5a5a5a5a5a5a5a5aLL;

    if (clock_parse((const char *)data, size, &ms) == 0) {
        /* whatever the offset, the instant is within a day of 0000..9999 */
        if (ms < MS_YEAR_0 - 86400000LL || ms > MS_YEAR_9999 + 86400000LL)
            abort();
        if (ms >= MS_YEAR_0 && ms <= MS_YEAR_9999)
            check_format(ms);
    } else if (ms != 0x5a5a5a5a5a5a5a5aLL) {
        abort();
    }

    if (size >= sizeof(int64_t)) {
        int64_t raw;
        memcpy(&raw, data, sizeof(raw));
        check_format(raw);
    }
    return 0;
}
