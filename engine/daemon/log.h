/*
 * log.h - the daemon's log: one line per event that matters, on stderr,
 * "docketd: LEVEL: message".  No timestamps: journald and container
 * runtimes add their own.  Only the loop thread logs.
 */
#ifndef DOCKETD_LOG_H
#define DOCKETD_LOG_H

#include <stdbool.h>

typedef enum docketd_level {
	DOCKETD_DEBUG,          /* every refusal, connection and commit */
	DOCKETD_INFO,           /* start, load, reload, timers fired, stop */
	DOCKETD_WARN,           /* something failed and the daemon carries on */
	DOCKETD_ERROR,          /* the daemon cannot carry on */
} docketd_level;

/* Lines below `level` are dropped.  The default is DOCKETD_INFO. */
void docketd_log_set_level(docketd_level level);

/* "debug", "info", "warn" or "error"; returns 0 or -1 for anything else. */
int docketd_log_parse_level(const char *s, docketd_level *out);

bool docketd_log_enabled(docketd_level level);

/* Write one line.  Control characters in the message (a newline in a case
 * id a client sent, say) are shown as '?', so a line is always one event. */
void docketd_log(docketd_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define docketd_debug(...) docketd_log(DOCKETD_DEBUG, __VA_ARGS__)
#define docketd_info(...) docketd_log(DOCKETD_INFO, __VA_ARGS__)
#define docketd_warn(...) docketd_log(DOCKETD_WARN, __VA_ARGS__)
#define docketd_error(...) docketd_log(DOCKETD_ERROR, __VA_ARGS__)

#endif
