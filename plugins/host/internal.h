/*
 * internal.h - what host.c (loading) and api.c (the host API table) share.
 *
 * The handles a plugin sees, docket_plugin during init and docket_run
 * during a run, are embedded in the docket_phost and reused: a host runs
 * one thing at a time, and a plugin that keeps a handle past its call gets
 * DOCKET_PLUGIN_ESTATE from the `active` flag instead of a dangling pointer.
 */
#ifndef DOCKET_PHOST_INTERNAL_H
#define DOCKET_PHOST_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>

#include <docket/plugin.h>

#include "host.h"

struct plug {
	char *name;
	char *path;
	void *dl;
	const docket_plugin_info *info;
	docket_run_fn run;
	void *state;
	void (*release)(void *state);
	struct plug *next;
};

struct docket_plugin {
	docket_phost *host;
	struct plug *plug;
	char *error;            /* init_error text, host-owned */
	bool active;
};

/* Memory from api->alloc and api->format, freed when the run ends. */
struct block {
	struct block *next;
	max_align_t data[];
};

struct docket_run {
	docket_phost *host;
	struct plug *plug;
	const docket_host_job *job;
	json_t *fields;         /* the job's fields with the changes applied */
	json_t *changes;        /* {field: value} set during the run */
	json_t *keep;           /* values replaced during the run, kept alive
				 * so strings handed out stay valid */
	json_t *events;         /* the job's events as given */
	bool done;              /* an outcome was given */
	docket_outcome_kind kind;
	char *event;
	char *reason;
	char *json;             /* the last run_json text */
	struct block *blocks;
	bool active;
};

struct docket_phost {
	char *dir;
	char *home;
	docket_phost_log_fn log;
	void *log_ctx;
	struct plug *plugs;
	struct docket_plugin loading;
	struct docket_run run;
};

extern const docket_host_api docket_phost_api;

/* Log a line through the host's log function. */
void docket_phost_vlog(docket_phost *h, int64_t job_id, const char *plugin, int level,
		       const char *fmt, va_list ap);
void docket_phost_logf(docket_phost *h, int64_t job_id, const char *plugin, int level,
		       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A malloc'd copy of fmt formatted, made valid UTF-8 and cut to max bytes
 * at a character boundary; NULL when out of memory. */
char *docket_phost_text(size_t max, const char *fmt, va_list ap);

/* End the run as failed with a host-made reason (if it has no outcome yet). */
void docket_phost_run_fail(struct docket_run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
