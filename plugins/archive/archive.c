/*
 * archive - files the case as a JSON document under the home.
 *
 *   action:
 *     plugin: archive
 *     with:
 *       collection: contracts           # HOME/archive/contracts/
 *       format: json                    # the only format so far
 *       ref_field: archive_ref          # where to record the path (default)
 *
 * Writes HOME/archive/COLLECTION/CASE.ENTRY.json ({case, workflow, stage,
 * key, archived_at, fields}) atomically, records its path relative to the
 * home in the ref field, and emits `archived`.  The file is named by the
 * idempotency key, so a repeated attempt rewrites the same document
 * instead of filing a second one.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include <docket/plugin.h>

#include "pstore.h"

DOCKET_PLUGIN("archive", "1.0.0", "archives the case as a JSON document under the home")

static int name_ok(const char *s)
{
	size_t n = strlen(s);
	return n && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static int run(docket_run *r, const docket_host_api *api, void *state)
{
	const char *home = api->home(r), *collection = "cases", *format = "json";
	const char *ref_field = "archive_ref", *text;
	char file[160], rel[512], path[PATH_MAX], err[PSTORE_ERR], at[32];
	json_t *doc, *run_doc;
	(void)state;

	if (!home)
		return api->fail(r, "archive: no Docket home to archive into");
	api->with_string(r, "collection", &collection);
	api->with_string(r, "format", &format);
	api->with_string(r, "ref_field", &ref_field);
	if (!name_ok(collection))
		return api->fail(r, "archive: with.collection must be a plain name of [a-z0-9_-]");
	if (strcmp(format, "json"))
		return api->fail(r, "archive: format '%s' is not supported (json is)", format);
	pstore_file_name(api->key(r), file, sizeof file);
	snprintf(rel, sizeof rel, "archive/%s/%s.json", collection, file);
	if ((size_t)snprintf(path, sizeof path, "%s/%s", home, rel) >= sizeof path)
		return api->fail(r, "archive: path too long");
	if (!(text = api->run_json(r)) || !(run_doc = json_loads(text, 0, NULL)))
		return api->retry(r, "archive: out of memory");
	pstore_time(api->now_ms(r), at, sizeof at);
	doc = json_pack("{s:s, s:O?, s:O?, s:s, s:s, s:O}", "case", api->case_id(r),
			"workflow", json_object_get(run_doc, "workflow"),
			"stage", json_object_get(run_doc, "stage"), "key", api->key(r),
			"archived_at", at, "fields", json_object_get(run_doc, "fields"));
	json_decref(run_doc);
	if (!doc)
		return api->retry(r, "archive: out of memory");
	int rc = pstore_write(path, doc, err, sizeof err);
	json_decref(doc);
	if (rc)
		return api->retry(r, "archive: %s", err);
	api->set_string(r, ref_field, rel);
	api->log(r, DOCKET_LOG_INFO, "archived as %s", rel);
	return api->emit(r, "archived");
}

int docket_plugin_init(docket_plugin *p, const docket_host_api *api)
{
	return api->set_run(p, run, NULL, NULL);
}
