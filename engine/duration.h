/*
 * duration.h - the durations process owners write: 30s 15m 4h 2d 1w.
 * One number and one unit; no combinations, no fractions, so there is only
 * one way to write a duration and validate can say exactly what is wrong.
 */
#ifndef DOCKET_DURATION_H
#define DOCKET_DURATION_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The longest duration accepted: about ten years, far past any SLA, and
 * small enough that deadline arithmetic in milliseconds never overflows. */
#define DOCKET_DURATION_MAX_S (10LL * 366 * 24 * 3600)

/* Parse "<digits><unit>" with unit s, m, h, d or w into seconds.
 * Returns 0, or DOCKET_EINVAL with err saying what is wrong. */
int docket_duration_parse(const char *s, size_t len, int64_t *seconds, docket_err *err);

/* Write seconds in the largest unit that divides it exactly ("2d", "90m");
 * buf must hold at least 24 bytes. */
void docket_duration_format(int64_t seconds, char *buf, size_t size);

#endif
