/*
 * duration.c - "<digits><unit>" durations for SLAs, timers, timeouts and
 * back-off.  Exactly one whole number and one unit: what is refused gets a
 * message naming the mistake and the accepted form.  Zero is refused too:
 * a zero SLA or timer would fire at once, which is never what was meant.
 */
#include "duration.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define FORM "(as in 30s 15m 4h 2d 1w)"
#define PREVIEW_MAX 40

static const struct {
	char c;
	int64_t s;
} units[] = {
	{'w', 7 * 24 * 3600}, {'d', 24 * 3600}, {'h', 3600}, {'m', 60}, {'s', 1},
};

static int64_t unit_seconds(char c)
{
	for (size_t i = 0; i < sizeof units / sizeof *units; i++)
		if (units[i].c == c)
			return units[i].s;
	return 0;
}

static bool isdig(char c)
{
	return c >= '0' && c <= '9';
}

static int bad(docket_err *err, const char *s, size_t len, const char *why)
{
	char pv[PREVIEW_MAX + 4];
	size_t n = len > PREVIEW_MAX ? PREVIEW_MAX : len, i;

	for (i = 0; i < n; i++)
		pv[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (n < len)
		memcpy(pv + i, "...", 3), i += 3;
	pv[i] = '\0';
	return docket_err_set(err, DOCKET_EINVAL, "bad duration '%s': %s", pv, why);
}

int docket_duration_parse(const char *s, size_t len, int64_t *seconds, docket_err *err)
{
	size_t i = 0;
	int64_t n = 0, per;
	char why[128], max[24];

	if (len == 0)
		return bad(err, s, len, "it is empty; write a whole number and a unit " FORM);
	if (memchr(s, ' ', len) || memchr(s, '\t', len))
		return bad(err, s, len, "no spaces; write the number and unit together " FORM);
	if (s[0] == '-')
		return bad(err, s, len, "a duration cannot be negative");
	if (!isdig(s[0]))
		return bad(err, s, len, "write a whole number, then the unit " FORM);
	/* Digits past the limit are counted only to say "too long". */
	for (; i < len && isdig(s[i]); i++)
		if (n <= DOCKET_DURATION_MAX_S)
			n = n * 10 + (s[i] - '0');
	if (i == len)
		return bad(err, s, len, "the unit is missing; it must be s, m, h, d or w " FORM);
	if (s[i] == '.' || s[i] == ',')
		return bad(err, s, len, "whole numbers only; use a smaller unit (90m, not 1.5h)");
	per = unit_seconds(s[i]);
	if (!per)
		return bad(err, s, len, "unit must be s, m, h, d or w " FORM);
	if (i + 1 != len)
		return bad(err, s, len, "write one number and one unit, nothing else " FORM);
	if (n == 0)
		return bad(err, s, len, "a duration must be longer than zero");
	if (n > DOCKET_DURATION_MAX_S / per) {
		docket_duration_format(DOCKET_DURATION_MAX_S, max, sizeof max);
		snprintf(why, sizeof why, "longer than the maximum %s (ten years)", max);
		return bad(err, s, len, why);
	}
	*seconds = n * per;
	return 0;
}

void docket_duration_format(int64_t seconds, char *buf, size_t size)
{
	/* Magnitude as unsigned so INT64_MIN has one. */
	uint64_t mag = seconds < 0 ? 0 - (uint64_t)seconds : (uint64_t)seconds;
	const char *sign = seconds < 0 ? "-" : "";
	size_t i = 0;

	if (mag == 0) {
		snprintf(buf, size, "0s");
		return;
	}
	while (mag % (uint64_t)units[i].s != 0)
		i++;
	snprintf(buf, size, "%s%llu%c", sign,
		 (unsigned long long)(mag / (uint64_t)units[i].s), units[i].c);
}
