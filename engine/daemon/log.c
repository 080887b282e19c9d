/*
 * log.c - formats each line whole and hands it to one write(2), so lines
 * never interleave with anything else written to stderr.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static docketd_level threshold = DOCKETD_INFO;

static const char *const names[] = {"debug", "info", "warn", "error"};

void docketd_log_set_level(docketd_level level)
{
	threshold = level;
}

int docketd_log_parse_level(const char *s, docketd_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (!strcmp(s, names[i])) {
			*out = (docketd_level)i;
			return 0;
		}
	}
	if (!strcmp(s, "warning")) {
		*out = DOCKETD_WARN;
		return 0;
	}
	return -1;
}

bool docketd_log_enabled(docketd_level level)
{
	return level >= threshold;
}

void docketd_log(docketd_level level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n, off;

	if (level < threshold)
		return;
	off = snprintf(line, sizeof line, "docketd: %s: ", names[level]);
	va_start(ap, fmt);
	n = vsnprintf(line + off, sizeof line - (size_t)off - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof line - (size_t)off - 2)
		n = (int)(sizeof line - (size_t)off - 2);
	n += off;
	for (int i = off; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[n++] = '\n';
	/* A log line lost to a full or closed stderr is not worth dying for. */
	ssize_t w = write(STDERR_FILENO, line, (size_t)n);
	(void)w;
}
