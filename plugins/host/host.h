/*
 * host.h - loading stage plugins and running one job through one.
 *
 * This is the part of docket-plugin-host that knows plugins: it finds
 * PLUGINS_DIR/NAME.so, refuses files and directories others could have
 * written, dlopens the plugin (RTLD_NOW|RTLD_LOCAL), checks its info block
 * the way plugin.h promises (size and ABI major first, then minor), calls
 * its init, and runs jobs through the host API table.  It does no I/O of
 * its own besides the plugin files, so the host program (main.c), the
 * unit tests and the benchmark all run plugins through this same path.
 *
 * A loaded plugin stays loaded for the life of the docket_phost; a plugin
 * that could not be loaded is tried again on its next job, so fixing the
 * file fixes the stage without restarting anything.
 */
#ifndef DOCKET_PHOST_H
#define DOCKET_PHOST_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "hostproto.h"

typedef struct docket_phost docket_phost;

/* A line a plugin logged (or the host logged about a plugin).  job_id is
 * -1 outside a job; plugin may be NULL.  msg is valid during the call. */
typedef void (*docket_phost_log_fn)(void *ctx, int64_t job_id, const char *plugin,
				    int level, const char *msg);

typedef struct docket_phost_opts {
	const char *plugins_dir;        /* required */
	const char *home;               /* handed to plugins; may be NULL */
	docket_phost_log_fn log;        /* NULL: lines go to stderr */
	void *log_ctx;
} docket_phost_opts;

/* Check the plugins directory (it must exist and be trusted, see
 * plugin.h) and make a host.  The strings in opts are copied. */
int docket_phost_open(const docket_phost_opts *opts, docket_phost **out, docket_err *err);

/* Release every plugin's state, dlclose them, free the host.  NULL is fine. */
void docket_phost_close(docket_phost *h);

/* Run job (loading its plugin if needed) and build the outcome message:
 * *outcome is a new "outcome" object (json_decref it) whatever happened in
 * the plugin - a plugin that cannot be loaded, gives no outcome or emits an
 * undeclared event becomes a "failed" outcome saying so.  Returns 0, or
 * DOCKET_ENOMEM with *outcome NULL. */
int docket_phost_run(docket_phost *h, const docket_host_job *job, json_t **outcome,
		     docket_err *err);

/* Load every NAME.so of the directory and describe it:
 * [{"name","version","summary","abi","path"}] for those that load,
 * [{"name","path","error"}] for those refused.  *out is a new array. */
int docket_phost_list(docket_phost *h, json_t **out, docket_err *err);

/* Check that path (a plugin file or directory) is trusted: not group- or
 * world-writable, owned by root or by this process's user.  Returns 0 or
 * DOCKET_EPERM / DOCKET_EIO with err saying which. */
int docket_phost_check_path(const char *path, bool dir, docket_err *err);

#endif
