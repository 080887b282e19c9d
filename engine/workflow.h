/*
 * workflow.h - the workflow model: what a process owner's YAML means.
 *
 * Loading turns a YAML file into a docket_workflow that has passed every
 * check `docket validate` knows.  Names are resolved to indexes at load
 * (stages, fields, roles, events), so the engine never compares strings on
 * its hot path.  A loaded workflow is immutable and self-contained: it owns
 * every string and guard in it and the exact source text, so it can be
 * freed as one and stored by content hash (a case keeps the definition it
 * began under).
 */
#ifndef DOCKET_WORKFLOW_H
#define DOCKET_WORKFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "field.h"
#include "guard.h"

struct json_t;

#define DOCKET_STAGES_MAX 4096
#define DOCKET_HASH_HEX 65              /* sha256 in hex plus NUL */

/* One way out of a stage on an event. */
typedef struct docket_transition {
	int to;                 /* stage index */
	docket_guard *when;     /* NULL: always holds */
	uint64_t roles;         /* bitmask of role indexes; 0 = any workflow role */
	int *require;           /* field indexes that must be set after the patch */
	size_t nrequire;
	int line, col;
} docket_transition;

/* An event a stage declares: its transitions, tried in order, the first
 * whose guard holds is taken. */
typedef struct docket_event {
	char *name;
	docket_transition *tr;
	size_t ntr;
	int line, col;
} docket_event;

/* Fires `event` (an index into the stage's events) once a case has spent
 * `after_s` seconds in the stage; the actor is `system`. */
typedef struct docket_timer {
	int64_t after_s;
	int event;
	int line, col;
} docket_timer;

/* The automatic part of a stage: run when a case enters it. */
typedef struct docket_action {
	char *plugin;
	struct json_t *with;    /* configuration object (jansson), never NULL */
	int64_t timeout_s;      /* default 30s */
	int retry_max;          /* attempts after the first; default 3 */
	int64_t backoff_s;      /* first retry delay, doubled each time; default 5s */
	int line, col;
} docket_action;

typedef struct docket_stage {
	char *name;
	char *title;            /* NULL if none */
	int owner;              /* role index, -1 if none */
	int64_t sla_s;          /* 0: no SLA */
	bool terminal;
	docket_action *action;  /* NULL if the stage is manual */
	docket_event *events;
	size_t nevents;
	docket_timer *timers;
	size_t ntimers;
	int line, col;
} docket_stage;

typedef struct docket_workflow {
	char *name;
	int64_t version;
	char *title;
	char *prefix;
	char **roles;
	size_t nroles;
	docket_field *fields;
	size_t nfields;
	docket_stage *stages;
	size_t nstages;
	int start;              /* stage index */
	char *path;             /* the file it came from, for messages */
	char *source;           /* the exact bytes loaded */
	size_t source_len;
	char hash[DOCKET_HASH_HEX];  /* sha256 of source, lowercase hex */
} docket_workflow;

/* What the loader may check beyond the file itself. */
typedef struct docket_load_opts {
	/* Return whether a plugin of this name is installed.  NULL: do not
	 * check plugins (the file is read on its own). */
	bool (*plugin_exists)(void *ctx, const char *name);
	void *ctx;
} docket_load_opts;

/* Load and validate a workflow from a file, or from memory (`path` then only
 * names it in messages).  Every mistake found is added to d.  Returns 0 with
 * *out set when there is no error (warnings allowed), DOCKET_EINVAL when d
 * holds at least one error, DOCKET_EIO / DOCKET_ENOMEM otherwise; *out is
 * NULL on failure.  opts may be NULL. */
int docket_workflow_load_file(const char *path, const docket_load_opts *opts,
			      docket_workflow **out, docket_diags *d);
int docket_workflow_load_buf(const char *path, const char *buf, size_t len,
			     const docket_load_opts *opts,
			     docket_workflow **out, docket_diags *d);

void docket_workflow_free(docket_workflow *wf);

/* Index of the named stage / field / role / event of a stage, or -1. */
int docket_workflow_stage(const docket_workflow *wf, const char *name);
int docket_workflow_field(const docket_workflow *wf, const char *name);
int docket_workflow_role(const docket_workflow *wf, const char *name);
int docket_stage_event(const docket_stage *st, const char *name);

/* The number of distinct checks the validator performs (for docs). */
size_t docket_workflow_check_count(void);

#endif
