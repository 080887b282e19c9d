/*
 * docketd.h - the daemon's state, shared by its modules.  One instance
 * lives in main(); everything runs on its loop thread except the engine
 * work the group commit hands to its own worker thread (commit.c).
 */
#ifndef DOCKETD_H
#define DOCKETD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <uv.h>

#include "actions.h"
#include "clock.h"
#include "commit.h"
#include "settings.h"
#include "engine.h"
#include "server.h"

#define DOCKETD_PROTOCOL 1

struct docketd {
	uv_loop_t *loop;
	docket_engine *eng;
	docketd_config *cfg;        /* in force; replaced whole on reload */
	char *home;                 /* absolute */
	char *workflows_dir;
	char *plugins_dir;
	char *cfg_path;             /* HOME/docket.yaml */
	uid_t uid;                  /* the administrator */
	char *admin;                /* its login name */
	json_t *wf_files;           /* workflow name -> file it was loaded from */
	docketd_server srv;
	docketd_commit cm;
	docketd_clock clk;
	docketd_actions act;         /* stage plugins (actions.h) */
	uv_signal_t sigs[5];
	int nsigs;
	uint64_t started;           /* loop time at start, ms */
	bool stopping;
	bool reload_queued;         /* a SIGHUP reload is waiting its turn */
};

/* The engine's reads run on the loop thread while an apply runs on a
 * worker (engine.h: DOCKET_ENGINE_CONCURRENT_READS), so a read never waits
 * for a batch's fsync.  Installs (reload) wait for the batch in flight. */
#if !DOCKET_ENGINE_CONCURRENT_READS
#error "docketd needs an engine whose reads may run beside an apply"
#endif

/* Everything to run after a commit returned: deadlines, and the plugin
 * runner's outbox when there is one.  Called by the group commit. */
void docketd_after_commit(docketd *d);

/* Re-read docket.yaml and the workflow files (a RELOAD job, loop thread,
 * nothing in flight).  Returns the report {loaded, refused, config}. */
json_t *docketd_reload(docketd *d);

/* Load and install every *.yaml of the workflows directory.  *nloaded
 * counts the files that loaded.  The report: {"loaded":[{file, workflow,
 * version, sha256, changed}], "refused":[{file, errors:[line...]}]}. */
int docketd_load_workflows(docketd *d, json_t **report, size_t *nloaded);

#endif
