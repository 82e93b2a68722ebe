/*
 * Time: every stored time is int64 milliseconds since the Unix epoch (UTC);
 * every time on the wire is RFC 3339 UTC with milliseconds
 * ("2026-11-28T20:00:00.000Z").
 */
#ifndef ANNOTD_CORE_CLOCK_H
#define ANNOTD_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#define CLOCK_RFC3339_LEN 24 /* "YYYY-MM-DDTHH:MM:SS.mmmZ" */

/* Wall-clock milliseconds since the epoch. */
int64_t clock_now_ms(void);

/* Monotonic milliseconds, for durations. */
int64_t clock_mono_ms(void);

/* Format ms as RFC 3339 into out (at least CLOCK_RFC3339_LEN + 1 bytes). */
void clock_format(int64_t ms, char out[static CLOCK_RFC3339_LEN + 1]);

/*
 * Parse RFC 3339 ("...Z" or "+hh:mm", fraction optional) into ms.
 * Returns 0 or -EINVAL.
 */
int clock_parse(const char *s, size_t len, int64_t *ret_ms);

#endif
