#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/json.h"

static enum log_level log_min = LOG_INFO;
static int log_json;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_setup(enum log_level min, int json)
{
    log_min = min;
    log_json = json;
}

int log_level_parse(const char *s, enum log_level *ret)
{
    for (int i = 0; i <= LOG_ERROR; i++)
        if (strcmp(s, level_names[i]) == 0) {
            *ret = (enum log_level)i;
            return 0;
        }
    return -EINVAL;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level < log_min)
        return;

    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    char now[CLOCK_RFC3339_LEN + 1];
    clock_format(clock_now_ms(), now);

    struct buf line;
    buf_init(&line, 16384);
    if (log_json) {
        buf_addf(&line, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":", now, level_names[level]);
        json_escape(&line, msg, strlen(msg));
        buf_adds(&line, "}\n");
    } else {
        buf_addf(&line, "%s %s %s\n", now, level_names[level], msg);
    }
    /* one write per line keeps lines whole between threads */
    if (!line.err)
        fwrite(line.p, 1, line.len, stderr);
    buf_release(&line);
}
