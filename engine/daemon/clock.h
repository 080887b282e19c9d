/*
 * clock.h - time for the daemon: the engine's clock, and the one libuv
 * timer armed for the earliest deadline in the store.
 *
 * When the timer fires (or after every commit and reload, or on SIGUSR1)
 * the due timers become DOCKET_OP_TIMER jobs in the group-commit queue, so
 * they go through the same transition path as a person's event.  A timer
 * already queued or in flight is never queued twice; one the engine
 * neither fired nor parked is left alone for a second before it is tried
 * again, so a refusal never makes the loop spin.
 *
 * For tests, `--clock-file FILE` makes the clock read milliseconds since
 * the epoch from FILE: a test writes a new time and sends SIGUSR1, and
 * what fell due fires without anyone sleeping.
 */
#ifndef DOCKETD_CLOCK_H
#define DOCKETD_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "engine.h"

typedef struct docketd docketd;

/* A timer the daemon has queued, or will not retry before `retry_at`. */
typedef struct docketd_timer_key {
	char id[DOCKET_ID_MAX];
	uint32_t entry;
	int timer;
	uint64_t retry_at;          /* loop time; 0 while queued or in flight */
} docketd_timer_key;

typedef struct docketd_clock {
	uv_timer_t timer;
	bool started;
	char *file;                 /* the clock file, or NULL: real time */
	docketd_timer_key *keys;
	size_t nkeys, cap;
	uint64_t fired, refused;
} docketd_clock;

/* The clock the engine is given (ctx: the docketd_clock).  Reads the clock
 * file when one is set, CLOCK_REALTIME otherwise.  Thread-safe: the engine
 * reads it on the worker thread too. */
int64_t docketd_clock_now(void *ctx);

int docketd_clock_start(docketd *d);

/* Queue what is due now and re-arm the timer for the next deadline. */
void docketd_clock_check(docketd *d);

/* Stop the timer (shutting down); queued timer jobs still finish. */
void docketd_clock_stop(docketd *d);

void docketd_clock_free(docketd_clock *clk);

#endif
