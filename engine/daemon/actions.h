/*
 * actions.h - stage actions in docketd: the outbox feeds the plugin runner
 * (runner.h), and each result goes back as an ACTION_* operation through
 * the group commit, the same transition path as a person's event.
 *
 * After every commit and at start-up the due outbox entries that are not
 * already in flight become runner jobs; a timer wakes the daemon for the
 * next retry that is not due yet.  A job stays claimed until its result is
 * committed, so a stage entry is never run twice at once, and a crash of
 * anything at any moment leaves the entry in the outbox to run again with
 * the same idempotency key.
 */
#ifndef DOCKETD_ACTIONS_H
#define DOCKETD_ACTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "runner.h"

typedef struct docketd docketd;

typedef struct docketd_actions {
	docket_runner *runner;      /* NULL before start and once stopping */
	uv_timer_t timer;           /* the next run that is not due yet */
	bool timer_open;
	bool stopped;               /* the runner and the timer are closed */
	json_t *plugins;            /* what the plugins directory holds, as
				     * a host described it at start/reload */
	uint64_t events, retries, failures;
} docketd_actions;

/* Start the runner (hosts spawn when the first job needs one). */
int docketd_actions_start(docketd *d, docket_err *err);

/* Hand due outbox entries to the runner; re-arm the timer. */
void docketd_actions_check(docketd *d);

/* Lift plugin quarantines and describe the plugins again (on reload: a
 * plugin may have been fixed or installed). */
void docketd_actions_reloaded(docketd *d);

/* The `plugins` reply: {"plugins": [{name, version, abi, summary, path,
 * quarantined} or {name, path, error}]}.  A new reference. */
json_t *docketd_actions_plugins(docketd *d);

/* For `status`: plugin_hosts, plugin_jobs (queued or running), and the
 * outcomes so far: plugin_events, plugin_retries, plugin_failures. */
json_t *docketd_actions_status(const docketd *d);

/* Kill the hosts and close the handles; docketd_after_commit runs once
 * all is closed (so shut-down can finish). */
void docketd_actions_stop(docketd *d);

/* Nothing left open: never started, or stopped and closed. */
bool docketd_actions_idle(const docketd *d);

#endif
