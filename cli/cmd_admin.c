/*
 * cmd_admin.c - the verbs about the daemon itself: status, plugins,
 * reload, backup, check.
 *
 * reload and check exit 1 when something was refused or found broken,
 * even though the daemon answered: a script that reloads workflows must
 * notice that a file was kept out.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"

/* Print the result as --json, or hand it to the human printer. */
static int answer(struct cli *cli, const char *op, json_t *args,
		  int (*human)(struct cli *, const json_t *))
{
	json_t *res;
	int rc = cli_call(cli, op, args, &res);

	if (rc)
		return rc;
	if (cli->json)
		cli_print_json(res);
	else
		rc = human(cli, res);
	json_decref(res);
	return rc;
}

/* --- status ------------------------------------------------------------- */

static void status_human(struct cli *cli, const json_t *st, const json_t *me)
{
	const json_t *roles = json_object_get(me, "roles"), *v;
	char up[32], rss[32] = "?";
	size_t i;

	cli_duration(up, sizeof up, cli_jint(st, "uptime_s", 0));
	if (cli_jint(st, "rss_peak_kb", -1) >= 0)
		snprintf(rss, sizeof rss, "%.1f MiB", cli_jint(st, "rss_peak_kb", 0) / 1024.0);
	printf("%s %s running on %s (pid %lld, up %s)\n",
	       cli_jstr(st, "server") ? cli_jstr(st, "server") : "docketd",
	       cli_jstr(st, "version") ? cli_jstr(st, "version") : "?", cli->home,
	       cli_jint(st, "pid", 0), up);
	printf("you are %s", cli_jstr(me, "user") ? cli_jstr(me, "user") : "?");
	json_array_foreach(roles, i, v)
		printf("%s%s", i ? ", " : ": ", json_string_value(v));
	if (json_is_true(json_object_get(me, "admin")))
		printf(" (the administrator)");
	printf("\nconnections %lld, requests %lld, %lld writes in %lld commits, "
	       "peak memory %s\n", cli_jint(st, "connections", 0), cli_jint(st, "requests", 0),
	       cli_jint(st, "ops", 0), cli_jint(st, "commits", 0), rss);
	printf("plugins: %lld running or queued on %lld host%s; since start %lld events, "
	       "%lld retries, %lld failed\n", cli_jint(st, "plugin_jobs", 0),
	       cli_jint(st, "plugin_hosts", 0), cli_jint(st, "plugin_hosts", 0) == 1 ? "" : "s",
	       cli_jint(st, "plugin_events", 0), cli_jint(st, "plugin_retries", 0),
	       cli_jint(st, "plugin_failures", 0));
}

/* The daemon's status document, plus who it takes the caller for. */
int cmd_status(struct cli *cli, int argc, char **argv)
{
	const char *ops[] = {"status", "hello"};
	json_t *args[] = {NULL, NULL}, *res[2];
	int rc = cli_args(cli, argc, argv, 0, 0, "");

	if (rc || (rc = cli_request(cli, 2, ops, args, res)))
		return rc;
	if (cli->json) {
		static const char *const keys[] = {"user", "roles", "admin"};
		for (size_t i = 0; i < 3; i++)
			json_object_set(res[0], keys[i], json_object_get(res[1], keys[i]));
		cli_print_json(res[0]);
	} else {
		status_human(cli, res[0], res[1]);
	}
	json_decref(res[0]);
	json_decref(res[1]);
	return 0;
}

/* --- plugins ------------------------------------------------------------ */

static int plugins_human(struct cli *cli, const json_t *r)
{
	static const char *const heads[] = {"PLUGIN", "VERSION", "ABI", "PATH"};
	const json_t *arr = cli_jarray(r, "plugins", NULL), *p;
	cli_table *t = cli_table_new(4, heads);
	size_t i;

	(void)cli;
	json_array_foreach(arr, i, p) {
		char abi[24];
		const json_t *a = json_object_get(p, "abi");
		if (json_is_integer(a))
			snprintf(abi, sizeof abi, "%lld", (long long)json_integer_value(a));
		else
			snprintf(abi, sizeof abi, "%s", json_is_string(a) ? json_string_value(a) : "-");
		const char *row[] = {cli_jstr(p, "name"), cli_jstr(p, "version"), abi,
				     cli_jstr(p, "path")};
		if (t)
			cli_table_add(t, CLI_PLAIN, row);
	}
	if (t && cli_table_rows(t))
		cli_table_print(t, stdout, cli_colour_wanted(stdout));
	else
		printf("no plugins loaded\n");
	cli_table_free(t);
	return 0;
}

int cmd_plugins(struct cli *cli, int argc, char **argv)
{
	int rc = cli_args(cli, argc, argv, 0, 0, "");
	return rc ? rc : answer(cli, "plugins", NULL, plugins_human);
}

/* --- reload ------------------------------------------------------------- */

static void print_loaded(const json_t *l)
{
	if (json_is_string(l)) {
		printf("loaded: %s\n", json_string_value(l));
		return;
	}
	const char *name = cli_jstr(l, "workflow") ? cli_jstr(l, "workflow") : cli_jstr(l, "name");
	printf("loaded: %s v%lld", name ? name : "?", cli_jint(l, "version", 0));
	if (cli_jstr(l, "file"))
		printf(" from %s", cli_jstr(l, "file"));
	if (json_is_boolean(json_object_get(l, "changed")))
		printf("%s", json_is_true(json_object_get(l, "changed")) ? " (new definition)"
									 : " (unchanged)");
	fputc('\n', stdout);
}

/* Errors of refused files and of docket.yaml go to stderr, as validate
 * prints them; the count ends in the one line that says what stays. */
static int reload_result(struct cli *cli, const json_t *r, bool quiet)
{
	const json_t *refused = json_object_get(r, "refused"), *conf, *f, *e;
	size_t i, j, n = json_array_size(refused);

	if (!quiet)
		json_array_foreach(json_object_get(r, "loaded"), i, f)
			print_loaded(f);
	json_array_foreach(refused, i, f) {
		json_array_foreach(json_object_get(f, "errors"), j, e) {
			if (json_is_string(e))
				fprintf(stderr, "%s\n", json_string_value(e));
			else
				fprintf(stderr, "%s:%lld:%lld: error: %s\n", cli_jstr(f, "file"),
					cli_jint(e, "line", 0), cli_jint(e, "column", 0),
					cli_jstr(e, "message"));
		}
	}
	conf = json_object_get(r, "config");
	json_array_foreach(json_object_get(conf, "errors"), i, e)
		fprintf(stderr, "%s\n", json_is_string(e) ? json_string_value(e) : "?");
	if (n)
		return cli_fail(cli, "%zu workflow file%s refused; the definition%s in force "
				"before stay%s", n, n == 1 ? "" : "s", n == 1 ? "" : "s",
				n == 1 ? "s" : "");
	if (json_is_false(json_object_get(conf, "ok")))
		return cli_fail(cli, "%s refused; the users and limits in force before stay",
				cli_jstr(conf, "file") ? cli_jstr(conf, "file") : "docket.yaml");
	return 0;
}

int cmd_reload(struct cli *cli, int argc, char **argv)
{
	json_t *res;
	int rc = cli_args(cli, argc, argv, 0, 0, "");

	if (rc || (rc = cli_call(cli, "reload", NULL, &res)))
		return rc;
	if (cli->json)
		cli_print_json(res);
	rc = reload_result(cli, res, cli->json);
	json_decref(res);
	return rc;
}

/* --- backup ------------------------------------------------------------- */

static int backup_human(struct cli *cli, const json_t *r)
{
	(void)cli;
	printf("backup written to %s", cli_jstr(r, "path") ? cli_jstr(r, "path") : "?");
	if (json_is_integer(json_object_get(r, "bytes")))
		printf(" (%lld bytes)", cli_jint(r, "bytes", 0));
	fputc('\n', stdout);
	return 0;
}

int cmd_backup(struct cli *cli, int argc, char **argv)
{
	char *path = NULL, *cwd = NULL;
	int rc = cli_args(cli, argc, argv, 1, 1, "PATH (a directory to create)");

	if (rc)
		return rc;
	/* The daemon has its own working directory: send it an absolute path. */
	if (argv[optind][0] == '/')
		path = strdup(argv[optind]);
	else if ((cwd = getcwd(NULL, 0)) && asprintf(&path, "%s/%s", cwd, argv[optind]) < 0)
		path = NULL;
	free(cwd);
	if (!path)
		return cli_fail(cli, "cannot make %s an absolute path", argv[optind]);
	json_t *args = json_pack("{s:s}", "path", path);
	free(path);
	return answer(cli, "backup", args, backup_human);
}

/* --- check -------------------------------------------------------------- */

static int check_human(struct cli *cli, const json_t *r)
{
	const json_t *problems = json_object_get(r, "problems"), *p;
	size_t i;

	json_array_foreach(problems, i, p)
		fprintf(stderr, "%s\n", json_is_string(p) ? json_string_value(p) : "?");
	if (json_is_false(json_object_get(r, "ok")) || json_array_size(problems))
		return cli_fail(cli, "the store breaks %zu invariant%s (listed above)",
				json_array_size(problems), json_array_size(problems) == 1 ? "" : "s");
	printf("store is consistent: every invariant holds\n");
	return 0;
}

int cmd_check(struct cli *cli, int argc, char **argv)
{
	json_t *res;
	int rc = cli_args(cli, argc, argv, 0, 0, "");

	if (rc || (rc = cli_call(cli, "check", NULL, &res)))
		return rc;
	if (cli->json) {
		cli_print_json(res);
		rc = json_is_false(json_object_get(res, "ok")) ? EXIT_REFUSED : 0;
	} else {
		rc = check_human(cli, res);
	}
	json_decref(res);
	return rc;
}
