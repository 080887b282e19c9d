/*
 * cmd_validate.c - `docket validate FILE...`: check workflow files offline.
 *
 * Every file is loaded in full and every mistake reported, in every file,
 * as file:line:col (stderr, the way compilers report).  Warnings never fail
 * the run.  Exit 0 when no file has an error, 1 otherwise.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "workflow.h"

struct checked {
	const char *path;
	docket_workflow *wf;
	docket_diags d;
};

/* A plugin is installed when DIR/NAME.so is a regular file. */
static bool plugin_in_dir(void *ctx, const char *name)
{
	char path[4096];
	struct stat st;

	if ((size_t)snprintf(path, sizeof path, "%s/%s.so", (const char *)ctx, name) >= sizeof path)
		return false;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Files loaded together must not fight over a workflow name or over the
 * prefix of case ids (two workflows numbering SO-1 would be ambiguous). */
static void check_duplicates(struct checked *c, int n)
{
	for (int i = 0; i < n; i++) {
		for (int j = 0; c[i].wf && j < i; j++) {
			if (!c[j].wf)
				continue;
			if (!strcmp(c[i].wf->name, c[j].wf->name)) {
				docket_diags_add(&c[i].d, DOCKET_DIAG_ERROR, 1, 1, NULL,
						 "workflow '%s' is also defined in %s",
						 c[i].wf->name, c[j].path);
				break;
			}
			if (!strcmp(c[i].wf->prefix, c[j].wf->prefix)) {
				docket_diags_add(&c[i].d, DOCKET_DIAG_ERROR, 1, 1, NULL,
						 "prefix '%s' is also used by workflow '%s' in %s",
						 c[i].wf->prefix, c[j].wf->name, c[j].path);
				break;
			}
		}
	}
}

static json_t *diags_json(const docket_diags *d)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < d->n; i++) {
		const docket_diag *x = &d->v[i];
		json_t *o = json_pack("{s:i, s:i, s:s, s:s}",
				      "line", x->line, "column", x->col,
				      "severity", x->sev == DOCKET_DIAG_ERROR ? "error" : "warning",
				      "message", x->msg);
		if (x->hint)
			json_object_set_new(o, "hint", json_string(x->hint));
		json_array_append_new(arr, o);
	}
	return arr;
}

static void print_json(struct checked *c, int n, size_t errors, size_t warnings)
{
	json_t *files = json_array();
	for (int i = 0; i < n; i++) {
		json_t *o = json_pack("{s:s, s:b, s:o}", "file", c[i].path,
				      "ok", c[i].d.errors == 0,
				      "diagnostics", diags_json(&c[i].d));
		if (c[i].wf) {
			json_object_set_new(o, "workflow", json_string(c[i].wf->name));
			json_object_set_new(o, "version", json_integer(c[i].wf->version));
			json_object_set_new(o, "stages", json_integer((json_int_t)c[i].wf->nstages));
			json_object_set_new(o, "sha256", json_string(c[i].wf->hash));
		}
		json_array_append_new(files, o);
	}
	json_t *doc = json_pack("{s:o, s:I, s:I}", "files", files,
				"errors", (json_int_t)errors, "warnings", (json_int_t)warnings);
	json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(doc);
}

int cmd_validate(struct cli *cli, int argc, char **argv)
{
	docket_load_opts opts = {0};
	struct checked *c;
	size_t errors = 0, warnings = 0;
	int n = 0;

	c = calloc((size_t)argc, sizeof *c);
	if (!c)
		return cli_fail(cli, "out of memory");
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--plugins")) {
			if (++i >= argc) {
				free(c);
				return cli_usage_error(cli, "--plugins needs a directory");
			}
			opts.plugin_exists = plugin_in_dir;
			opts.ctx = argv[i];
		} else if (argv[i][0] == '-' && argv[i][1] && strcmp(argv[i], "--")) {
			free(c);
			return cli_usage_error(cli, "unknown option '%s'", argv[i]);
		} else if (strcmp(argv[i], "--")) {
			c[n++].path = argv[i];
		}
	}
	if (!n) {
		free(c);
		return cli_usage_error(cli, "no workflow file given");
	}
	/* Without --plugins, check against the plugins docketd would load,
	 * when there are any to check against. */
	if (!opts.plugin_exists) {
		const char *dir = cli_plugins_dir(NULL);
		struct stat st;
		if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
			opts.plugin_exists = plugin_in_dir;
			opts.ctx = (void *)dir;
		}
	}
	for (int i = 0; i < n; i++) {
		docket_diags_init(&c[i].d, c[i].path);
		docket_workflow_load_file(c[i].path, opts.plugin_exists ? &opts : NULL,
					  &c[i].wf, &c[i].d);
	}
	check_duplicates(c, n);
	for (int i = 0; i < n; i++) {
		errors += c[i].d.errors;
		warnings += c[i].d.warnings;
		if (!cli->json) {
			docket_diags_print(&c[i].d, stderr);
			if (!c[i].d.errors && c[i].wf)
				printf("ok: %s (%s v%lld, %zu stages, %zu fields)\n", c[i].path,
				       c[i].wf->name, (long long)c[i].wf->version,
				       c[i].wf->nstages, c[i].wf->nfields);
		}
	}
	if (cli->json)
		print_json(c, n, errors, warnings);
	else if (errors || warnings)
		fprintf(stderr, "%d file%s checked: %zu error%s, %zu warning%s\n", n,
			n == 1 ? "" : "s", errors, errors == 1 ? "" : "s",
			warnings, warnings == 1 ? "" : "s");
	for (int i = 0; i < n; i++) {
		docket_workflow_free(c[i].wf);
		docket_diags_free(&c[i].d);
	}
	free(c);
	return errors ? EXIT_REFUSED : 0;
}
