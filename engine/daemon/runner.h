/*
 * runner.h - running stage actions in plugin host processes, for docketd.
 *
 * The daemon hands the runner the action runs its outbox says are due
 * (docket_engine_outbox_due); the runner keeps a few docket-plugin-host
 * processes (uv_spawn: fork+exec, never a bare fork of the daemon), sends
 * each job to an idle one over its pipes, and reports one result per job
 * through a callback, already classified by the retry policy:
 *
 *   EVENT  the plugin emitted an event of the stage    -> ACTION_EVENT
 *   RETRY  the plugin asked to retry, timed out, or     -> ACTION_RETRY
 *          crashed its host (the engine schedules the
 *          next attempt with the stage's backoff, and
 *          marks the case failed after the last one)
 *   FAIL   the plugin failed, could not be loaded,      -> ACTION_FAIL
 *          answered nothing or an undeclared event, or
 *          is quarantined
 *
 * Isolation: a job that overruns its timeout gets its host (and whatever
 * the host started) killed; the next job gets a fresh host.  A plugin that
 * crashes its host `quarantine_after` times in a row is quarantined: one
 * log line says so, and its jobs fail at once instead of crash-looping
 * until docket_runner_unquarantine (the daemon calls it on reload).
 *
 * Retries get jitter on top of the engine's exponential backoff: a retry
 * attempt is held back a random 0..50% of the backoff it follows, so
 * cases that failed together (an outside system down) do not come back
 * together.
 *
 * Conventions are libuv's: negative DOCKET_E* codes, no callback when a
 * call fails, handles freed only in their close callbacks.  Callbacks are
 * never called from inside a runner function, only from the loop.
 */
#ifndef DOCKET_RUNNER_H
#define DOCKET_RUNNER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "error.h"

typedef struct docket_runner docket_runner;

typedef enum docket_runner_verdict {
	DOCKET_RUNNER_EVENT,
	DOCKET_RUNNER_RETRY,
	DOCKET_RUNNER_FAIL,
} docket_runner_verdict;

/* Levels of runner log lines (the same as plugin.h's DOCKET_LOG_*). */
enum { DOCKET_RLOG_ERROR, DOCKET_RLOG_WARN, DOCKET_RLOG_INFO, DOCKET_RLOG_DEBUG };

/* What one job came to.  Everything is valid only during the callback. */
typedef struct docket_runner_result {
	const char *case_id;
	uint32_t entry;             /* the stage entry the job belongs to */
	uint32_t attempt;
	const char *key;            /* the idempotency key */
	const char *plugin;
	docket_runner_verdict verdict;
	const char *event;          /* EVENT */
	const json_t *fields;       /* EVENT: the plugin's field changes (object) */
	const char *reason;         /* RETRY, FAIL: one line for `docket stuck` */
	uint64_t wait_us;           /* submitted -> sent to a host */
	uint64_t run_us;            /* sent -> outcome (or death) */
} docket_runner_result;

typedef void (*docket_runner_result_fn)(void *ctx, const docket_runner_result *res);
typedef void (*docket_runner_log_fn)(void *ctx, int level, const char *msg);

typedef struct docket_runner_opts {
	const char *host_path;      /* docket-plugin-host; required */
	const char *plugins_dir;    /* required */
	const char *home;           /* handed to plugins; may be NULL */
	unsigned hosts;             /* processes at most; 0: 2 */
	unsigned quarantine_after;  /* crashes in a row; 0: 3 */
	unsigned memory_mb;         /* address space per host; 0: 1024 */
	int64_t default_timeout_ms; /* for jobs without one; 0: 30 s */
	docket_runner_result_fn on_result;  /* required */
	docket_runner_log_fn on_log;        /* NULL: stderr */
	void *ctx;                  /* passed to both callbacks */
	/* Source of jitter; NULL: a generator seeded from the clock.  Tests
	 * pass one that returns 0 for no jitter. */
	uint64_t (*random)(void *ctx);
} docket_runner_opts;

/* Make a runner on loop.  Hosts are spawned when jobs need them.  The
 * strings of opts are copied.  Returns 0 or DOCKET_EINVAL / DOCKET_ENOMEM. */
int docket_runner_start(uv_loop_t *loop, const docket_runner_opts *opts,
			docket_runner **out, docket_err *err);

/* Queue one job: an entry of docket_engine_outbox_due, {"case", "entry",
 * "attempt", "key", "workflow", "stage", "plugin", "with", "timeout_ms",
 * "fields"}, plus what the daemon knows from the workflow: "events" (the
 * stage's events; absent: any event) and "backoff_ms" (the stage's retry
 * backoff, for jitter), and optionally "now" (the engine's clock, ms).
 * job is borrowed.  Returns 0; DOCKET_EEXIST when a job with that key is
 * queued, running, or delivered and not yet settled (so the daemon can
 * offer every due entry after every commit); DOCKET_EINVAL for a
 * malformed job; DOCKET_ESTATE once stopping. */
int docket_runner_submit(docket_runner *r, const json_t *job, docket_err *err);

/* The result for key was committed (or refused): forget the job, so a
 * later outbox entry with the same key (a retry) may run.  Until this is
 * called, submit refuses the key.  Unknown keys are ignored. */
void docket_runner_settled(docket_runner *r, const char *key);

/* Whether a job with key is queued, running or awaiting settlement. */
bool docket_runner_has(const docket_runner *r, const char *key);

/* Jobs queued or running (not those awaiting settlement). */
size_t docket_runner_active(const docket_runner *r);

/* Lift the quarantine of plugin (NULL: of every plugin) and forget its
 * crash count.  Returns how many plugins were released. */
size_t docket_runner_unquarantine(docket_runner *r, const char *plugin);

/* Whether plugin is quarantined. */
bool docket_runner_quarantined(const docket_runner *r, const char *plugin);

/* Kill every host, drop every job (they stay in the outbox and run again,
 * with the same key, next time), close every handle; then call done (may
 * be NULL) and free the runner.  No result callback runs after this. */
void docket_runner_stop(docket_runner *r, void (*done)(void *ctx), void *ctx);

#endif
