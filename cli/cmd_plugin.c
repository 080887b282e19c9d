/*
 * cmd_plugin.c - `docket plugin-run PLUGIN --case FILE.json [--with K=V]...`:
 * run one stage plugin on one case, outside any workflow, through the
 * same docket-plugin-host the daemon uses, and print its outcome.  The
 * way plugin authors test a stage alone (docs/plugins.md).
 *
 * The case file is a case as `docket show --json` prints it (its
 * "fields" are used, and its id, workflow, stage and entry when present)
 * or a plain object of fields.  `with:` comes from --workflow FILE
 * --stage NAME (the stage's action, as the daemon would run it) and/or
 * --with KEY=VALUE (VALUE read as JSON when it parses, else as a string;
 * dots in KEY make nested objects); --set FIELD=VALUE changes a field.  The stage's events come from the
 * workflow or --events; without either, any event is accepted.
 *
 * Exit 0 when the plugin emitted an event, 1 for retry, failed, or a
 * plugin that crashed or hung (the host is killed at --timeout).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "duration.h"
#include "hostcall.h"
#include "hostproto.h"
#include "workflow.h"

struct run_args {
	const char *plugin, *case_file, *workflow_file, *stage, *plugins, *key, *events;
	uint32_t attempt;
	int64_t timeout_ms;
	json_t *with;           /* built from --with */
	json_t *set;            /* fields from --set */
};

static void show_log(void *ctx, int level, const char *plugin, const char *msg)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	(void)ctx;
	fprintf(stderr, "plugin %s: %s: %s\n", plugin ? plugin : "?",
		level >= 0 && level <= 3 ? names[level] : "info", msg);
}

/* --with a.b=VALUE into obj. */
static int set_with(json_t *obj, const char *arg)
{
	const char *eq = strchr(arg, '='), *key = arg, *dot;
	char seg[128];
	json_t *v;

	if (!eq || eq == arg)
		return -1;
	v = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
	if (!v)
		v = json_string(eq + 1);
	if (!v)
		return -1;
	while ((dot = memchr(key, '.', (size_t)(eq - key)))) {
		if (dot == key || (size_t)(dot - key) >= sizeof seg)
			goto bad;
		snprintf(seg, sizeof seg, "%.*s", (int)(dot - key), key);
		json_t *sub = json_object_get(obj, seg);
		if (!json_is_object(sub)) {
			sub = json_object();
			json_object_set_new(obj, seg, sub);
		}
		obj = sub;
		key = dot + 1;
	}
	if (key == eq || (size_t)(eq - key) >= sizeof seg)
		goto bad;
	snprintf(seg, sizeof seg, "%.*s", (int)(eq - key), key);
	json_object_set_new(obj, seg, v);
	return 0;
bad:
	json_decref(v);
	return -1;
}

/* with: and events of a stage of a workflow file. */
static int from_workflow(struct cli *cli, const struct run_args *a, json_t **with, json_t **events)
{
	docket_workflow *wf = NULL;
	docket_diags d;
	int rc = 0;

	docket_diags_init(&d, a->workflow_file);
	if (docket_workflow_load_file(a->workflow_file, NULL, &wf, &d) < 0) {
		docket_diags_print(&d, stderr);
		docket_diags_free(&d);
		return cli_fail(cli, "%s is not a valid workflow", a->workflow_file);
	}
	docket_diags_free(&d);
	size_t i;
	for (i = 0; i < wf->nstages && strcmp(wf->stages[i].name, a->stage); i++)
		;
	if (i == wf->nstages) {
		rc = cli_fail(cli, "workflow %s has no stage '%s'", wf->name, a->stage);
	} else {
		const docket_stage *st = &wf->stages[i];
		if (st->action) {
			json_object_update(*with, st->action->with);
			if (strcmp(st->action->plugin, a->plugin))
				fprintf(stderr, "docket plugin-run: note: stage '%s' runs plugin '%s', not '%s'\n",
					st->name, st->action->plugin, a->plugin);
		}
		*events = json_array();
		for (size_t k = 0; k < st->nevents; k++)
			json_array_append_new(*events, json_string(st->events[k].name));
	}
	docket_workflow_free(wf);
	return rc;
}

const char *cli_plugins_dir(const char *given)
{
	const char *env = getenv("DOCKET_PLUGINS");
	struct stat st;

	if (given)
		return given;
	if (env && *env)
		return env;
	return stat(DOCKET_PLUGINS_DIR, &st) == 0 && S_ISDIR(st.st_mode) ? DOCKET_PLUGINS_DIR
									  : DOCKET_TREE_PLUGINS_DIR;
}

static void print_outcome(struct cli *cli, const json_t *out)
{
	const char *kind = json_string_value(json_object_get(out, "outcome"));

	if (cli->json) {
		json_t *o = json_deep_copy(out);
		json_object_del(o, "type");
		json_object_del(o, "id");
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
		json_decref(o);
		return;
	}
	if (strcmp(kind, "event")) {
		printf("%s: %s\n", kind, json_string_value(json_object_get(out, "reason")));
		return;
	}
	printf("event: %s\n", json_string_value(json_object_get(out, "event")));
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(out, "fields"), k, v) {
		if (json_is_real(v)) {
			printf("  %s = %.15g\n", k, json_real_value(v));
			continue;
		}
		char *t = json_dumps(v, JSON_ENCODE_ANY);
		printf("  %s = %s\n", k, t ? t : "?");
		free(t);
	}
}

static int parse(struct cli *cli, int argc, char **argv, struct run_args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = !strcmp(o, "--case") || !strcmp(o, "--with") || !strcmp(o, "--set") ||
			     !strcmp(o, "-s") || !strcmp(o, "--workflow") ||
			     !strcmp(o, "--stage") || !strcmp(o, "--plugins") || !strcmp(o, "--key") ||
			     !strcmp(o, "--attempt") || !strcmp(o, "--events") || !strcmp(o, "--timeout");
		if (takes && !v)
			return cli_usage_error(cli, "%s needs a value", o);
		if (!strcmp(o, "--case"))
			a->case_file = v;
		else if (!strcmp(o, "--with")) {
			if (set_with(a->with, v))
				return cli_usage_error(cli, "--with wants KEY=VALUE, not '%s'", v);
		} else if (!strcmp(o, "--set") || !strcmp(o, "-s")) {
			if (set_with(a->set, v))
				return cli_usage_error(cli, "--set wants FIELD=VALUE, not '%s'", v);
		} else if (!strcmp(o, "--workflow"))
			a->workflow_file = v;
		else if (!strcmp(o, "--stage"))
			a->stage = v;
		else if (!strcmp(o, "--plugins"))
			a->plugins = v;
		else if (!strcmp(o, "--key"))
			a->key = v;
		else if (!strcmp(o, "--events"))
			a->events = v;
		else if (!strcmp(o, "--attempt")) {
			char *end;
			unsigned long n = strtoul(v, &end, 10);
			if (*end || n > UINT32_MAX)
				return cli_usage_error(cli, "--attempt wants a whole number");
			a->attempt = (uint32_t)n;
		} else if (!strcmp(o, "--timeout")) {
			int64_t s;
			if (docket_duration_parse(v, strlen(v), &s, NULL))
				return cli_usage_error(cli, "--timeout wants a duration like 30s");
			a->timeout_ms = s * 1000;
		} else if (o[0] == '-' && o[1])
			return cli_usage_error(cli, "unknown option '%s'", o);
		else if (a->plugin)
			return cli_usage_error(cli, "one plugin at a time");
		else
			a->plugin = o;
		if (takes)
			i++;
	}
	if (!a->plugin)
		return cli_usage_error(cli, "no plugin given");
	if (!docket_hostproto_plugin_name_ok(a->plugin))
		return cli_usage_error(cli, "'%s' is not a plugin name", a->plugin);
	if (!a->case_file)
		return cli_usage_error(cli, "--case FILE.json is required");
	if (!a->workflow_file != !a->stage)
		return cli_usage_error(cli, "--workflow and --stage go together");
	return 0;
}

int cmd_plugin_run(struct cli *cli, int argc, char **argv)
{
	struct run_args a = {.timeout_ms = 30000, .with = json_object(), .set = json_object()};
	json_t *doc = NULL, *with = json_object(), *events = NULL, *fields, *req = NULL, *out = NULL;
	json_error_t jerr;
	docket_err err = {0};
	char key[DOCKET_HOST_ID_MAX + 1];
	struct stat st;
	int rc;

	if ((rc = parse(cli, argc, argv, &a)))
		goto done;
	if (!(doc = json_load_file(a.case_file, JSON_REJECT_DUPLICATES, &jerr))) {
		rc = cli_fail(cli, "%s:%d:%d: %s", a.case_file, jerr.line, jerr.column, jerr.text);
		goto done;
	}
	if (!json_is_object(doc)) {
		rc = cli_fail(cli, "%s: not a JSON object (a case, or its fields)", a.case_file);
		goto done;
	}
	if (a.workflow_file && (rc = from_workflow(cli, &a, &with, &events)))
		goto done;
	json_object_update(with, a.with);
	if (a.events) {
		char buf[1024], *save, *t;
		json_decref(events);
		events = json_array();
		snprintf(buf, sizeof buf, "%s", a.events);
		for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
			json_array_append_new(events, json_string(t));
	}
	fields = json_object_get(doc, "fields");
	if (!json_is_object(fields))
		fields = doc;
	json_object_update(fields, a.set);
	const char *id = json_string_value(json_object_get(doc, "id"));
	json_int_t entry = json_integer_value(json_object_get(doc, "entry"));
	snprintf(key, sizeof key, "%s#%lld", id ? id : "TEST-1", (long long)(entry ? entry : 1));
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	docket_host_job job = {
		.id = 1, .plugin = a.plugin, .case_id = id ? id : "TEST-1",
		.workflow = json_string_value(json_object_get(doc, "workflow")),
		.stage = a.stage ? a.stage : json_string_value(json_object_get(doc, "stage")),
		.key = a.key ? a.key : key, .attempt = a.attempt,
		.now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000,
		.timeout_ms = a.timeout_ms, .with = with, .fields = fields, .events = events,
	};
	docket_host_msg check;
	if (!(req = docket_hostproto_job(&job)) || docket_hostproto_decode(req, &check, &err)) {
		rc = cli_fail(cli, "cannot build the job: %s", err.msg[0] ? err.msg : "out of memory");
		goto done;
	}
	docket_hostcall_opts ho = {
		.host_path = docket_hostcall_default_host(DOCKET_PLUGIN_HOST, DOCKET_TREE_PLUGIN_HOST),
		.plugins_dir = cli_plugins_dir(a.plugins),
		/* Plugins that keep files (stock, invoice, ...) use the home; a
		 * home that does not exist means none. */
		.home = stat(cli->home, &st) == 0 && S_ISDIR(st.st_mode) ? cli->home : NULL,
		.timeout_ms = a.timeout_ms,
		.log = show_log,
	};
	if (docket_hostcall(&ho, req, &out, &err)) {
		rc = cli_fail(cli, "plugin '%s': %s", a.plugin, err.msg);
		goto done;
	}
	print_outcome(cli, out);
	rc = strcmp(json_string_value(json_object_get(out, "outcome")), "event") ? EXIT_REFUSED : 0;
done:
	json_decref(out);
	json_decref(req);
	json_decref(events);
	json_decref(with);
	json_decref(doc);
	json_decref(a.with);
	json_decref(a.set);
	return rc;
}
