/*
 * exec - runs a configured program: the case as JSON on its stdin, the
 * outcome as JSON from its stdout.  The way to connect any outside system
 * in any language.
 *
 *   action:
 *     plugin: exec
 *     with:
 *       command: [/opt/erp/bin/post-order, --site, north]
 *       env: {ERP_URL: "https://erp.example"}      # optional
 *
 * The program reads {"case","workflow","stage","key","attempt","now",
 * "events","with","fields"} on stdin (api->run_json) and finds
 * DOCKET_CASE, DOCKET_KEY, DOCKET_ATTEMPT, DOCKET_STAGE, DOCKET_WORKFLOW and
 * DOCKET_HOME in its environment.  It answers:
 *
 *   exit 0 and one JSON outcome on stdout:
 *       {"event": "shipped", "fields": {"tracking": "1Z..."}}
 *       {"retry": "ERP is down"}        {"failed": "order rejected: ..."}
 *   exit 0 and nothing on stdout:  the stage's first event
 *   exit 75 (EX_TEMPFAIL):         retry, with its last stderr line
 *   any other exit, or a signal:   failed, with its last stderr line
 *
 * Its stderr goes to the daemon's log.  Use DOCKET_KEY to make the outside
 * call idempotent: it is the same on every attempt of a stage entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <docket/plugin.h>

#include "child.h"

DOCKET_PLUGIN("exec", "1.0.0", "runs a program: case JSON on stdin, outcome JSON on stdout")

#define OUT_MAX (1u << 20)
#define EX_TEMPFAIL 75

static void on_err(void *ctx, const char *line)
{
	void **c = ctx;
	const docket_host_api *api = c[1];
	api->log(c[0], DOCKET_LOG_INFO, "%s", line);
}

static char **build_env(docket_run *r, const docket_host_api *api)
{
	size_t extra = api->with_count(r, "env"), k = 0;
	char **env = api->alloc(r, (extra + 8) * sizeof *env), path[128];

	if (!env)
		return NULL;
	env[k++] = api->format(r, "DOCKET_CASE=%s", api->case_id(r));
	env[k++] = api->format(r, "DOCKET_KEY=%s", api->key(r));
	env[k++] = api->format(r, "DOCKET_ATTEMPT=%u", api->attempt(r));
	env[k++] = api->format(r, "DOCKET_STAGE=%s", api->stage(r) ? api->stage(r) : "");
	env[k++] = api->format(r, "DOCKET_WORKFLOW=%s", api->workflow(r) ? api->workflow(r) : "");
	env[k++] = api->format(r, "DOCKET_HOME=%s", api->home(r) ? api->home(r) : "");
	for (size_t i = 0; i < extra; i++) {
		const char *name = api->with_key(r, "env", i), *val;
		snprintf(path, sizeof path, "env.%s", name);
		if (name && api->with_string(r, path, &val) == 0)
			env[k++] = api->format(r, "%s=%s", name, val);
	}
	env[k] = NULL;
	for (size_t i = 0; i < k; i++)
		if (!env[i])
			return NULL;
	return env;
}

static int run(docket_run *r, const docket_host_api *api, void *state)
{
	size_t n = api->with_count(r, "command");
	const char *input = api->run_json(r), *one;
	char **argv, **env, path[64], err[256];
	void *ctx[2] = {r, (void *)api};
	child_result res;
	int rc;
	(void)state;

	if (!n && api->with_string(r, "command", &one) == 0)
		n = 1;
	if (!n)
		return api->fail(r, "exec: with.command must name the program to run");
	if (!input || !(argv = api->alloc(r, (n + 1) * sizeof *argv)) || !(env = build_env(r, api)))
		return api->retry(r, "exec: out of memory");
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof path, "command.%zu", i);
		if (api->with_string(r, api->with_count(r, "command") ? path : "command",
				     (const char **)&argv[i]))
			return api->fail(r, "exec: with.command must be a program or a list of strings");
	}
	if (child_run(argv, env, input, strlen(input), OUT_MAX, on_err, ctx, &res, err, sizeof err))
		return api->fail(r, "exec: %s", err);
	if (res.exited && res.status == EX_TEMPFAIL)
		rc = api->retry(r, "%s asked to retry%s%s", argv[0], res.lasterr[0] ? ": " : "", res.lasterr);
	else if (!res.exited)
		rc = api->fail(r, "%s was killed by signal %d%s%s", argv[0], res.signal,
			       res.lasterr[0] ? ": " : "", res.lasterr);
	else if (res.status)
		rc = api->fail(r, "%s exited with status %d%s%s", argv[0], res.status,
			       res.lasterr[0] ? ": " : "", res.lasterr);
	else if (res.truncated)
		rc = api->fail(r, "%s wrote more than %u bytes", argv[0], OUT_MAX);
	else if (!res.outlen || strspn(res.out, " \t\r\n") == res.outlen) {
		const char *ev = api->event_name(r, 0);
		rc = api->emit(r, ev ? ev : "done");
	} else if (api->outcome_json(r, res.out, res.outlen)) {
		rc = api->fail(r, "%s answered %.200s%s, which is not an outcome ({\"event\"}, {\"retry\"} or {\"failed\"})",
			       argv[0], res.out, res.outlen > 200 ? "..." : "");
	} else {
		rc = 0;
	}
	child_result_free(&res);
	return rc;
}

int docket_plugin_init(docket_plugin *p, const docket_host_api *api)
{
	return api->set_run(p, run, NULL, NULL);
}
