/*
 * actions.c - the outbox to the plugin runner, and results back as
 * operations.  Only the loop thread runs this; its reads of the outbox
 * may run beside the commit in flight (the engine allows one reader thread
 * beside the writer), and every commit calls docketd_after_commit, and so
 * this, when it returns.
 */
#include "actions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "docketd.h"
#include "hostcall.h"
#include "log.h"

#define DUE_MAX 128
#define MAX_SLEEP_MS 60000

/* One result on its way through the group commit. */
typedef struct action_job {
	docketd_job job;
	docket_op op;
	char id[DOCKET_ID_MAX];
	char key[DOCKET_ID_MAX + 16];
	char plugin[DOCKET_NAME_MAX + 1];
	char event[DOCKET_NAME_MAX + 1];
	char *reason;
	json_t *fields;
} action_job;

static void on_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	docketd_log(level == DOCKET_RLOG_DEBUG ? DOCKETD_DEBUG
		    : level == DOCKET_RLOG_INFO ? DOCKETD_INFO : DOCKETD_WARN, "%s", msg);
}

static void action_done(docketd *d, docketd_job *job)
{
	action_job *a = job->ctx;
	const docket_result *r = job->results;
	int code = r ? r->code : job->rc;

	if (code == 0)
		docketd_info("action: %s %s -> %s (now in %s)", a->id, a->plugin,
			     a->op.kind == DOCKET_OP_ACTION_EVENT ? a->event
			     : a->op.kind == DOCKET_OP_ACTION_RETRY ? "retry" : "failed", r->stage);
	else if (r && r->recorded_failure)
		docketd_warn("action: %s %s -> %s refused, recorded (see docket stuck): %s", a->id,
			     a->plugin, a->event, r->err.msg);
	else
		/* The case moved on meanwhile (someone fired an event). */
		docketd_info("action: %s %s result not applied: %s", a->id, a->plugin,
			     r ? r->err.msg : docket_strerror(code));
	if (d->act.runner)
		docket_runner_settled(d->act.runner, a->key);
	json_decref(a->fields);
	free(a->reason);
	free(a);
}

static void on_result(void *ctx, const docket_runner_result *res)
{
	docketd *d = ctx;
	action_job *a = calloc(1, sizeof *a);

	if (!a) {
		/* Left unsettled, the entry is not offered again until a restart. */
		docketd_warn("action: %s: out of memory for its result", res->key);
		return;
	}
	snprintf(a->id, sizeof a->id, "%s", res->case_id);
	snprintf(a->key, sizeof a->key, "%s", res->key);
	snprintf(a->plugin, sizeof a->plugin, "%s", res->plugin);
	a->op.case_id = a->id;
	a->op.entry = res->entry;
	switch (res->verdict) {
	case DOCKET_RUNNER_EVENT:
		d->act.events++;
		snprintf(a->event, sizeof a->event, "%s", res->event);
		a->op.kind = DOCKET_OP_ACTION_EVENT;
		a->op.event = a->event;
		a->op.fields = a->fields = json_deep_copy(res->fields);
		break;
	case DOCKET_RUNNER_RETRY:
		d->act.retries++;
		a->op.kind = DOCKET_OP_ACTION_RETRY;
		break;
	case DOCKET_RUNNER_FAIL:
		d->act.failures++;
		a->op.kind = DOCKET_OP_ACTION_FAIL;
		break;
	}
	if (res->reason) {
		a->op.reason = a->reason = strdup(res->reason);
		docketd_info("action: %s %s: %s", a->id, a->plugin, res->reason);
	}
	a->job.kind = DOCKETD_JOB_APPLY;
	a->job.ops = &a->op;
	a->job.nops = 1;
	a->job.done = action_done;
	a->job.ctx = a;
	docketd_commit_submit(d, &a->job);
}

/* What the runner needs from the workflow: the stage's events (so an
 * undeclared one fails in the host) and its backoff (for jitter). */
static void add_stage(docketd *d, json_t *e)
{
	const docket_workflow *wf = docket_engine_workflow(
		d->eng, json_string_value(json_object_get(e, "workflow")));
	const char *stage = json_string_value(json_object_get(e, "stage"));

	json_object_set_new(e, "now", json_integer(docket_engine_now(d->eng)));
	for (size_t i = 0; wf && stage && i < wf->nstages; i++) {
		const docket_stage *st = &wf->stages[i];
		if (strcmp(st->name, stage))
			continue;
		json_t *ev = json_array();
		for (size_t k = 0; k < st->nevents; k++)
			json_array_append_new(ev, json_string(st->events[k].name));
		json_object_set_new(e, "events", ev);
		if (st->action)
			json_object_set_new(e, "backoff_ms", json_integer(st->action->backoff_s * 1000));
		return;
	}
}

static void timer_cb(uv_timer_t *t)
{
	docketd_actions_check(t->data);
}

void docketd_actions_check(docketd *d)
{
	docketd_actions *a = &d->act;
	int64_t now, next = INT64_MAX;
	docket_err err;
	json_t *due, *e;
	size_t i, n;

	/* Not skipped while a commit is in flight: under load the next batch
	 * starts as soon as one returns, so there is always one, and stage
	 * entries would wait for the queue to drain.  Reads may run beside an
	 * apply (engine.h); a run whose outcome is still being committed is
	 * held by the runner, so nothing starts twice. */
	if (!a->runner || d->stopping)
		return;
	/* Every commit calls us, and each row read costs a case load: while
	 * the runner holds more jobs than it has hosts, their outcomes' commits
	 * bring us back, and reading now would rebuild rows it already has. */
	if (docket_runner_active(a->runner) > d->cfg->plugin_hosts)
		return;
	now = docket_engine_now(d->eng);
	if (docket_engine_outbox_due(d->eng, now, DUE_MAX, &due, &err)) {
		docketd_warn("reading the outbox: %s", err.msg);
		return;
	}
	json_array_foreach(due, i, e) {
		const char *key = json_string_value(json_object_get(e, "key"));
		if (!key || docket_runner_has(a->runner, key))
			continue;
		add_stage(d, e);
	}
	n = json_array_size(due);
	/* When the first run not yet due falls due; skipped while the due
	 * ones fill a page (their commits bring us back here). */
	json_t *later;
	if (n < DUE_MAX && !docket_engine_outbox_due(d->eng, INT64_MAX, n + 1, &later, &err)) {
		e = json_array_get(later, n);
		if (e)
			next = json_integer_value(json_object_get(e, "at_ms"));
		json_decref(later);
	}
	json_array_foreach(due, i, e) {
		const char *key = json_string_value(json_object_get(e, "key"));
		if (key && json_object_get(e, "now") && docket_runner_submit(a->runner, e, &err) &&
		    err.code != DOCKET_EEXIST)
			docketd_warn("action %s: %s", key, err.msg);
	}
	json_decref(due);
	uv_timer_stop(&a->timer);
	if (next != INT64_MAX) {
		int64_t ms = next > now ? next - now : 0;
		uv_timer_start(&a->timer, timer_cb, (uint64_t)(ms < MAX_SLEEP_MS ? ms : MAX_SLEEP_MS), 0);
	}
}

static const char *host_path(void)
{
	return docket_hostcall_default_host(DOCKET_PLUGIN_HOST, DOCKET_TREE_PLUGIN_HOST);
}

/* Ask a host of its own to load and describe every plugin: the daemon
 * never loads one itself.  Blocks (at start-up and reload) for at most
 * LIST_TIMEOUT_MS, the time a plugin's init may take. */
#define LIST_TIMEOUT_MS 10000

static void describe_plugins(docketd *d)
{
	docketd_actions *a = &d->act;
	docket_hostcall_opts o = {
		.host_path = host_path(), .plugins_dir = d->plugins_dir, .home = d->home,
		.timeout_ms = LIST_TIMEOUT_MS,
	};
	json_t *req = json_pack("{s:s}", "type", "list"), *reply = NULL;
	docket_err err = {0};
	size_t i;
	json_t *p;

	if (req && docket_hostcall(&o, req, &reply, &err) == 0) {
		json_decref(a->plugins);
		a->plugins = json_incref(json_object_get(reply, "plugins"));
		json_array_foreach(a->plugins, i, p)
			if (json_object_get(p, "error"))
				docketd_warn("plugin %s refused: %s", json_string_value(json_object_get(p, "name")),
					     json_string_value(json_object_get(p, "error")));
		docketd_info("%zu plugin%s in %s", json_array_size(a->plugins),
			     json_array_size(a->plugins) == 1 ? "" : "s", d->plugins_dir);
	} else {
		docketd_warn("cannot list the plugins of %s: %s", d->plugins_dir,
			     err.msg[0] ? err.msg : "out of memory");
	}
	json_decref(req);
	json_decref(reply);
}

json_t *docketd_actions_plugins(docketd *d)
{
	json_t *arr = json_deep_copy(d->act.plugins ? d->act.plugins : json_array()), *p;
	size_t i;

	json_array_foreach(arr, i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));
		if (!json_object_get(p, "error"))
			json_object_set_new(p, "quarantined", json_boolean(
				d->act.runner && name && docket_runner_quarantined(d->act.runner, name)));
	}
	return json_pack("{s:o}", "plugins", arr ? arr : json_array());
}

json_t *docketd_actions_status(const docketd *d)
{
	const docketd_actions *a = &d->act;

	return json_pack("{s:I, s:I, s:I, s:I, s:I}",
		"plugin_hosts", (json_int_t)d->cfg->plugin_hosts,
		"plugin_jobs", (json_int_t)(a->runner ? docket_runner_active(a->runner) : 0),
		"plugin_events", (json_int_t)a->events, "plugin_retries", (json_int_t)a->retries,
		"plugin_failures", (json_int_t)a->failures);
}

int docketd_actions_start(docketd *d, docket_err *err)
{
	docketd_actions *a = &d->act;
	docket_runner_opts o = {
		.host_path = host_path(),
		.plugins_dir = d->plugins_dir,
		.home = d->home,
		.hosts = d->cfg->plugin_hosts,
		.memory_mb = d->cfg->plugin_memory_mb,
		.on_result = on_result,
		.on_log = on_log,
		.ctx = d,
	};
	int rc;

	if ((rc = docket_runner_start(d->loop, &o, &a->runner, err)))
		return rc;
	uv_timer_init(d->loop, &a->timer);
	a->timer.data = d;
	a->timer_open = true;
	docketd_info("plugins from %s, run by %s (%u at once, %u MiB each)", d->plugins_dir,
		     o.host_path, d->cfg->plugin_hosts, d->cfg->plugin_memory_mb);
	describe_plugins(d);
	docketd_actions_check(d);
	return 0;
}

void docketd_actions_reloaded(docketd *d)
{
	if (d->act.runner)
		docket_runner_unquarantine(d->act.runner, NULL);
	describe_plugins(d);
}

static void maybe_stopped(docketd *d)
{
	if (!d->act.runner && !d->act.timer_open && !d->act.stopped) {
		d->act.stopped = true;
		docketd_after_commit(d);
	}
}

static void runner_stopped(void *ctx)
{
	docketd *d = ctx;
	d->act.runner = NULL;
	json_decref(d->act.plugins);
	d->act.plugins = NULL;
	maybe_stopped(d);
}

static void timer_closed(uv_handle_t *h)
{
	docketd *d = h->data;
	d->act.timer_open = false;
	maybe_stopped(d);
}

void docketd_actions_stop(docketd *d)
{
	docketd_actions *a = &d->act;

	if (a->timer_open && !uv_is_closing((uv_handle_t *)&a->timer))
		uv_close((uv_handle_t *)&a->timer, timer_closed);
	if (a->runner)
		docket_runner_stop(a->runner, runner_stopped, d);
}

bool docketd_actions_idle(const docketd *d)
{
	return !d->act.runner && !d->act.timer_open;
}
