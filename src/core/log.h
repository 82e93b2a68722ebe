/*
 * Logging for the boundary (server, CLI). Library code never logs: it
 * returns errors and the boundary logs once.
 *
 * Output goes to stderr, as text ("2026-11-28T20:00:00.000Z info msg")
 * or as JSON lines ({"time":...,"level":"info","msg":"..."}).
 * Messages: lowercase, what failed first, the subject quoted.
 */
#ifndef ANNOTD_CORE_LOG_H
#define ANNOTD_CORE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_setup(enum log_level min, int json);

/* Parse "debug|info|warn|error"; returns 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *ret);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
