/*
 * load.c - reading the workflow files and docket.yaml, at start and on
 * reload.  A file that does not validate is refused with its diagnostics
 * and the definition already installed stays in force; nothing a reload
 * reads can take away what is running.  Runs on the loop thread while no
 * commit is in flight (the engine installs only then).
 */
#include <dirent.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docketd.h"
#include "log.h"
#include "workflow.h"

/* The diagnostics as the lines `docket validate` prints. */
static json_t *diag_lines(const docket_diags *dg)
{
	json_t *lines = json_array();
	char *buf = NULL, *line, *save;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return lines;
	docket_diags_print(dg, f);
	fclose(f);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		json_array_append_new(lines, json_string(line));
	free(buf);
	return lines;
}

static void refuse(json_t *refused, const char *file, json_t *errors)
{
	size_t i;
	json_t *v;

	docketd_warn("refused %s:", file);
	json_array_foreach(errors, i, v)
		docketd_warn("  %s", json_string_value(v));
	json_array_append_new(refused, json_pack("{s:s, s:o}", "file", file, "errors", errors));
}

static int yaml_only(const struct dirent *e)
{
	return e->d_name[0] != '.' && (!fnmatch("*.yaml", e->d_name, 0) ||
				       !fnmatch("*.yml", e->d_name, 0));
}

static void load_one(docketd *d, const char *path, json_t *loaded, json_t *refused,
		     json_t *seen)
{
	docket_workflow *wf = NULL;
	docket_install_info info;
	docket_diags dg;
	docket_err err = {0};
	char name[DOCKET_NAME_MAX + 1], hash[DOCKET_HASH_HEX];
	int64_t version;
	int rc;

	docket_diags_init(&dg, path);
	rc = docket_workflow_load_file(path, NULL, &wf, &dg);
	if (rc) {
		if (!dg.n)
			docket_diags_add(&dg, DOCKET_DIAG_ERROR, 0, 0, NULL, "%s",
					 docket_strerror(rc));
		refuse(refused, path, diag_lines(&dg));
		docket_diags_free(&dg);
		return;
	}
	docket_diags_free(&dg);
	snprintf(name, sizeof name, "%s", wf->name);
	snprintf(hash, sizeof hash, "%s", wf->hash);
	version = wf->version;
	const char *other = json_string_value(json_object_get(seen, name));
	if (other) {
		docket_workflow_free(wf);
		refuse(refused, path, json_pack("[o]", json_sprintf(
			"%s: error: workflow '%s' is defined by %s already", path, name, other)));
		return;
	}
	/* The engine owns wf from here on, whatever it answers. */
	if ((rc = docket_engine_install(d->eng, wf, &info, &err))) {
		refuse(refused, path, json_pack("[o]", json_sprintf("%s: error: %s", path, err.msg)));
		return;
	}
	json_object_set_new(seen, name, json_string(path));
	json_object_set_new(d->wf_files, name, json_string(path));
	json_array_append_new(loaded, json_pack("{s:s, s:s, s:I, s:s, s:b}",
		"file", path, "workflow", name, "version", (json_int_t)version,
		"sha256", hash, "changed", info.became_current));
	if (info.became_current && info.previous_version >= 0)
		docketd_info("workflow %s v%lld from %s is now current (was v%lld; running "
			     "cases keep the definition they began under)", name,
			     (long long)version, path, (long long)info.previous_version);
	else if (info.became_current)
		docketd_info("workflow %s v%lld from %s installed", name, (long long)version, path);
	else
		docketd_info("workflow %s v%lld from %s", name, (long long)version, path);
}

static bool declared(docketd *d, json_t *all, const char *role)
{
	size_t i;
	json_t *v;

	json_array_foreach(all, i, v) {
		const docket_workflow *wf =
			docket_engine_workflow(d->eng, json_string_value(json_object_get(v, "name")));
		if (wf && docket_workflow_role(wf, role) >= 0)
			return true;
	}
	return false;
}

/* A role of docket.yaml that no workflow declares gives nothing: most
 * likely a typo, worth a line in the log. */
static void check_roles(docketd *d)
{
	json_t *all;
	docket_err err;

	if (!d->cfg || docket_engine_workflows(d->eng, &all, &err))
		return;
	for (size_t u = 0; u < d->cfg->nusers; u++) {
		const docketd_user *user = &d->cfg->users[u];
		for (size_t r = 0; r < user->nroles; r++)
			if (!declared(d, all, user->roles[r]))
				docketd_warn("%s: user %s has role '%s', which no workflow declares",
					     d->cfg_path, user->name, user->roles[r]);
	}
	json_decref(all);
}

int docketd_load_workflows(docketd *d, json_t **report, size_t *nloaded)
{
	json_t *loaded = json_array(), *refused = json_array(), *seen = json_object();
	struct dirent **ents;
	int n = scandir(d->workflows_dir, &ents, yaml_only, alphasort);

	*nloaded = 0;
	if (n < 0) {
		char msg[512];
		snprintf(msg, sizeof msg, "%s: cannot read the directory: %m", d->workflows_dir);
		refuse(refused, d->workflows_dir, json_pack("[s]", msg));
	}
	for (int i = 0; i < n; i++) {
		char *path;
		if (asprintf(&path, "%s/%s", d->workflows_dir, ents[i]->d_name) >= 0) {
			load_one(d, path, loaded, refused, seen);
			free(path);
		}
		free(ents[i]);
	}
	if (n >= 0)
		free(ents);
	json_decref(seen);
	check_roles(d);
	*nloaded = json_array_size(loaded);
	*report = json_pack("{s:o, s:o}", "loaded", loaded, "refused", refused);
	return 0;
}

/* docket.yaml again: the new one replaces the old only when it is sound. */
static json_t *reload_config(docketd *d)
{
	docketd_config *cfg;
	docket_diags dg;
	json_t *out;
	int rc;

	docket_diags_init(&dg, d->cfg_path);
	rc = docketd_config_load(d->cfg_path, &cfg, &dg);
	if (rc == 0) {
		if (cfg->map_size != d->cfg->map_size || cfg->plugin_hosts != d->cfg->plugin_hosts ||
		    cfg->plugin_memory_mb != d->cfg->plugin_memory_mb)
			docketd_warn("%s: map_size, plugin_hosts and plugin_memory_mb take "
				     "effect at the next start", d->cfg_path);
		docketd_config_free(d->cfg);
		d->cfg = cfg;
		out = json_pack("{s:s, s:b, s:I, s:[]}", "file", d->cfg_path, "ok", 1,
				"users", (json_int_t)cfg->nusers, "errors");
		docketd_info("reloaded %s: %zu user%s", d->cfg_path, cfg->nusers,
			     cfg->nusers == 1 ? "" : "s");
	} else {
		if (rc == DOCKET_ENOENT)
			docket_diags_add(&dg, DOCKET_DIAG_ERROR, 0, 0, NULL,
					 "the file is missing");
		else if (!dg.n)
			docket_diags_add(&dg, DOCKET_DIAG_ERROR, 0, 0, NULL, "%s",
					 docket_strerror(rc));
		json_t *lines = diag_lines(&dg);
		size_t i;
		json_t *v;
		docketd_warn("refused %s, the previous one stays in force:", d->cfg_path);
		json_array_foreach(lines, i, v)
			docketd_warn("  %s", json_string_value(v));
		out = json_pack("{s:s, s:b, s:o}", "file", d->cfg_path, "ok", 0, "errors", lines);
	}
	docket_diags_free(&dg);
	return out;
}

json_t *docketd_reload(docketd *d)
{
	json_t *report = NULL;
	size_t n;

	docketd_info("reloading %s and %s", d->cfg_path, d->workflows_dir);
	json_t *cfg = reload_config(d);
	docketd_load_workflows(d, &report, &n);
	docketd_actions_reloaded(d);
	json_object_set_new(report, "config", cfg);
	docketd_info("reload: %zu workflow file%s loaded, %zu refused", n, n == 1 ? "" : "s",
		     json_array_size(json_object_get(report, "refused")));
	return report;
}
