/*
 * hostcall.h - one request to a docket-plugin-host of its own, blocking:
 * start the host, send one message (a run or a list), wait for its answer
 * with a deadline, stop the host.
 *
 * For the places that need one answer and no event loop: `docket
 * plugin-run` (a plugin on one case, through the same host the daemon
 * uses) and the daemon's list of installed plugins.  The plugin still
 * runs in a process of its own: a crash, a hang past the deadline or a
 * stray print costs that process only, and comes back as an error.
 */
#ifndef DOCKET_HOSTCALL_H
#define DOCKET_HOSTCALL_H

#include <stdint.h>

#include "error.h"

struct json_t;

typedef struct docket_hostcall_opts {
	const char *host_path;      /* docket-plugin-host */
	const char *plugins_dir;
	const char *home;           /* may be NULL */
	int64_t timeout_ms;         /* 0: 30 s */
	/* Each log line the plugin sends (level as in plugin.h); may be NULL. */
	void (*log)(void *ctx, int level, const char *plugin, const char *msg);
	void *ctx;
} docket_hostcall_opts;

/* Send request and return the host's answer in *reply (a new reference:
 * the "outcome" or "plugins" message).  Returns 0, or DOCKET_EIO (the
 * host could not start, or died: err says how, with the signal or exit
 * status), DOCKET_ELIMIT (no answer before the deadline; the host was
 * killed) or DOCKET_EPROTO (it answered nonsense). */
int docket_hostcall(const docket_hostcall_opts *o, const struct json_t *request,
		    struct json_t **reply, docket_err *err);

/* The host program to use: $DOCKET_PLUGIN_HOST, else installed, else the
 * build tree's (the two paths meson configured).  Never NULL. */
const char *docket_hostcall_default_host(const char *installed, const char *tree);

#endif
