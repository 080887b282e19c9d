/*
 * notify - records a notification for roles or users, and optionally runs
 * a command to pass it on (mail, chat).
 *
 *   action:
 *     plugin: notify
 *     with:
 *       roles: [ops, finance]
 *       users: [dana]                   # optional
 *       message: "New contract {case} for {company}"
 *       record_field: last_notice       # optional: also set this field
 *       command: [/usr/local/bin/send-notice, --urgent]   # optional
 *
 * {case}, {workflow}, {stage} and {FIELD} in the message are replaced by
 * the case's values.  The notification is written to HOME/notifications/
 * CASE.ENTRY.json ({at, case, workflow, stage, key, roles, users,
 * message}), where `docket` shows it to those users and the holders of
 * those roles; the file is named by the idempotency key, so a repeated
 * attempt does not notify twice.  The command gets the notification as
 * JSON on stdin; when it fails the run is retried (it is marked done in
 * the file only after it succeeded, so it runs at least once).  Emits
 * `notified`.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <docket/plugin.h>

#include "child.h"
#include "pstore.h"

DOCKET_PLUGIN("notify", "1.0.0", "records notifications for roles and users, runs a command")

#define MESSAGE_MAX 4000

/* Replace {name} by the case's value of it (left as is when unknown). */
static void expand(docket_run *r, const docket_host_api *api, const char *in, char *out, size_t size)
{
	size_t n = 0;

	while (*in && n + 1 < size) {
		const char *end = *in == '{' ? strchr(in, '}') : NULL;
		char name[65], val[128];
		const char *v = NULL;
		if (end && end - in - 1 > 0 && end - in - 1 < (long)sizeof name) {
			int64_t i;
			double d;
			int b;
			memcpy(name, in + 1, (size_t)(end - in - 1));
			name[end - in - 1] = '\0';
			if (!strcmp(name, "case"))
				v = api->case_id(r);
			else if (!strcmp(name, "workflow"))
				v = api->workflow(r);
			else if (!strcmp(name, "stage"))
				v = api->stage(r);
			else if (api->field_string(r, name, &v) == 0)
				;
			else if (api->field_int(r, name, &i) == 0)
				snprintf(val, sizeof val, "%lld", (long long)i), v = val;
			else if (api->field_number(r, name, &d) == 0)
				snprintf(val, sizeof val, "%.2f", d), v = val;
			else if (api->field_bool(r, name, &b) == 0)
				v = b ? "yes" : "no";
		}
		if (v) {
			n += (size_t)snprintf(out + n, size - n, "%s", v);
			if (n >= size)
				n = size - 1;
			in = end + 1;
		} else {
			out[n++] = *in++;
		}
	}
	out[n] = '\0';
}

static json_t *names(docket_run *r, const docket_host_api *api, const char *key)
{
	json_t *arr = json_array();
	char path[64];

	for (size_t i = 0, n = api->with_count(r, key); arr && i < n; i++) {
		const char *s;
		snprintf(path, sizeof path, "%s.%zu", key, i);
		if (api->with_string(r, path, &s) == 0)
			json_array_append_new(arr, json_string(s));
	}
	return arr;
}

static void on_err(void *ctx, const char *line)
{
	void **c = ctx;
	const docket_host_api *api = c[1];
	api->log(c[0], DOCKET_LOG_WARN, "command: %s", line);
}

/* Run with.command on the notification; 0, or the run already ended. */
static int pass_on(docket_run *r, const docket_host_api *api, const json_t *note, int *ended)
{
	size_t n = api->with_count(r, "command");
	char **argv, path[64], err[256];
	child_result res;
	void *ctx[2] = {r, (void *)api};

	*ended = 0;
	if (!n)
		return 0;
	if (!(argv = api->alloc(r, (n + 1) * sizeof *argv)))
		return *ended = 1, api->retry(r, "notify: out of memory");
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof path, "command.%zu", i);
		if (api->with_string(r, path, (const char **)&argv[i]))
			return *ended = 1, api->fail(r, "notify: with.command must be a list of strings");
	}
	char *text = json_dumps(note, JSON_COMPACT);
	int rc = child_run(argv, NULL, text, text ? strlen(text) : 0, 65536, on_err, ctx, &res,
			   err, sizeof err);
	free(text);
	if (rc)
		return *ended = 1, api->retry(r, "notify: %s", err);
	child_result_free(&res);
	if (!res.exited || res.status)
		return *ended = 1, api->retry(r, "notify: %s %s %d%s%s", argv[0],
					      res.exited ? "exited with status" : "was killed by signal",
					      res.exited ? res.status : res.signal,
					      res.lasterr[0] ? ": " : "", res.lasterr);
	return 0;
}

static int run(docket_run *r, const docket_host_api *api, void *state)
{
	const char *home = api->home(r), *tmpl = "{workflow} {case}: {stage}", *field = NULL;
	char file[160], path[PATH_MAX], err[PSTORE_ERR], at[32], msg[MESSAGE_MAX];
	json_t *note;
	int ended;
	(void)state;

	if (!home)
		return api->fail(r, "notify: no Docket home to record notifications in");
	api->with_string(r, "message", &tmpl);
	api->with_string(r, "record_field", &field);
	json_t *roles = names(r, api, "roles"), *users = names(r, api, "users");
	if (!json_array_size(roles) && !json_array_size(users)) {
		json_decref(roles);
		json_decref(users);
		return api->fail(r, "notify: with: names no roles and no users to notify");
	}
	expand(r, api, tmpl, msg, sizeof msg);
	pstore_file_name(api->key(r), file, sizeof file);
	snprintf(path, sizeof path, "%s/notifications/%s.json", home, file);
	if (pstore_read(path, &note, err, sizeof err)) {
		json_decref(roles);
		json_decref(users);
		return api->retry(r, "notify: %s", err);
	}
	if (note) {
		/* Recorded by an earlier attempt: do not notify twice. */
		json_decref(roles);
		json_decref(users);
		api->log(r, DOCKET_LOG_INFO, "already notified (%s)", file);
	} else {
		pstore_time(api->now_ms(r), at, sizeof at);
		note = json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:o, s:o, s:s, s:b}", "at", at,
				 "case", api->case_id(r), "workflow", api->workflow(r), "stage",
				 api->stage(r), "key", api->key(r), "roles", roles, "users", users,
				 "message", msg, "passed_on", 0);
		if (!note || pstore_write(path, note, err, sizeof err)) {
			json_decref(note);
			return api->retry(r, "notify: %s", note ? err : "out of memory");
		}
		api->log(r, DOCKET_LOG_INFO, "notified: %s", msg);
	}
	if (!json_is_true(json_object_get(note, "passed_on"))) {
		int rc = pass_on(r, api, note, &ended);
		if (ended) {
			json_decref(note);
			return rc;
		}
		if (api->with_count(r, "command")) {
			json_object_set_new(note, "passed_on", json_true());
			pstore_write(path, note, err, sizeof err);
		}
	}
	if (field)
		api->set_string(r, field, json_string_value(json_object_get(note, "message")));
	json_decref(note);
	return api->emit(r, "notified");
}

int docket_plugin_init(docket_plugin *p, const docket_host_api *api)
{
	return api->set_run(p, run, NULL, NULL);
}
