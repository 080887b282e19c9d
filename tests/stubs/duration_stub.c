/*
 * duration_stub.c - stand-in for engine/duration.c, built only while the
 * engine has no duration.c (see tests/meson.build).  Formats as the header
 * promises: the largest unit that divides the value exactly.
 */
#include <inttypes.h>
#include <stdio.h>

#include "duration.h"

void docket_duration_format(int64_t seconds, char *buf, size_t size)
{
	static const struct { int64_t s; char u; } units[] = {
		{7 * 86400, 'w'}, {86400, 'd'}, {3600, 'h'}, {60, 'm'},
	};
	for (size_t i = 0; i < sizeof units / sizeof *units; i++)
		if (seconds > 0 && seconds % units[i].s == 0) {
			snprintf(buf, size, "%" PRId64 "%c", seconds / units[i].s, units[i].u);
			return;
		}
	snprintf(buf, size, "%" PRId64 "s", seconds);
}
