/*
 * cmd_query.c - the verbs that look at many cases: workflows, list, stuck,
 * stats.
 *
 * All of them are reads: the daemon answers from a read transaction and
 * never makes them wait behind writes.  Human output is a table per
 * question; --json is the daemon's document untouched, for scripts.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "output.h"

/* The workflow a row names: "name" in workflow and stats rows, "workflow"
 * in case and stuck rows. */
static const char *wf_name(const json_t *o)
{
	const char *n = cli_jstr(o, "name");
	return n ? n : cli_jstr(o, "workflow");
}

/* --- workflows ---------------------------------------------------------- */

int cmd_workflows(struct cli *cli, int argc, char **argv)
{
	static const char *const heads[] = {"WORKFLOW", "VERSION", "PREFIX", "TITLE"};
	json_t *res;
	int rc;

	if ((rc = cli_args(cli, argc, argv, 0, 0, "")) || (rc = cli_call(cli, "workflows", NULL, &res)))
		return rc;
	if (cli_json_reply(cli, res))
		return 0;
	const json_t *arr = cli_jarray(res, "workflows", NULL), *w;
	cli_table *t = cli_table_new(4, heads);
	size_t i;
	json_array_foreach(arr, i, w) {
		char ver[24];
		snprintf(ver, sizeof ver, "v%lld", cli_jint(w, "version", 0));
		const char *row[] = {wf_name(w), ver, cli_jstr(w, "prefix"), cli_jstr(w, "title")};
		if (t)
			cli_table_add(t, CLI_PLAIN, row);
	}
	if (t && cli_table_rows(t))
		cli_table_print(t, stdout, cli_colour_wanted(stdout));
	else
		printf("no workflows loaded (docketd reads them from its --workflows directory)\n");
	cli_table_free(t);
	json_decref(res);
	return 0;
}

/* --- list --------------------------------------------------------------- */

static const struct option list_opts[] = {
	{"workflow", required_argument, NULL, 'w'},
	{"stage", required_argument, NULL, 'S'},
	{"mine", no_argument, NULL, 'M'},
	{"assignee", required_argument, NULL, 'a'},
	{"limit", required_argument, NULL, 'n'},
	{"cursor", required_argument, NULL, 'c'},
	{"all", no_argument, NULL, 'A'},
	{0},
};

static int parse_list(struct cli *cli, int argc, char **argv, json_t *args, bool *all)
{
	int c;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":w:n:", list_opts, NULL)) != -1) {
		switch (c) {
		case 'w': json_object_set_new(args, "workflow", json_string(optarg)); break;
		case 'S': json_object_set_new(args, "stage", json_string(optarg)); break;
		case 'M': json_object_set_new(args, "mine", json_true()); break;
		case 'a': json_object_set_new(args, "assignee", json_string(optarg)); break;
		case 'c': json_object_set_new(args, "cursor", json_string(optarg)); break;
		case 'A': *all = true; break;
		case 'n': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end || n < 1 || n > 1000)
				return cli_usage_error(cli, "--limit wants a number from 1 to 1000, "
						       "not '%s'", optarg);
			json_object_set_new(args, "limit", json_integer(n));
			break;
		}
		default:
			return cli_bad_option(cli, c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	if (json_object_get(args, "stage") && !json_object_get(args, "workflow"))
		return cli_usage_error(cli, "--stage needs -w WORKFLOW (stage names belong to a workflow)");
	if (json_object_get(args, "mine") && json_object_get(args, "assignee"))
		return cli_usage_error(cli, "--mine and --assignee do not go together");
	return 0;
}

static void list_row(cli_table *t, const json_t *cs, time_t now)
{
	char in[32] = "-", due[48] = "-";
	bool late = json_is_true(json_object_get(cs, "late"));
	const char *since = cli_jstr(cs, "stage_since");
	int64_t at;

	if (!since)
		since = cli_jstr(cs, "entered_at");
	if (since && cli_time_parse(since, &at) == 0)
		cli_duration(in, sizeof in, (int64_t)now - at);
	if (cli_time_parse(cli_jstr(cs, "due"), &at) == 0) {
		char d[32];
		cli_duration(d, sizeof d, (int64_t)now - at);
		if (late)
			snprintf(due, sizeof due, "LATE %s", d);
		else
			cli_age(due, sizeof due, (int64_t)now - at);
	}
	const char *row[] = {cli_jstr(cs, "id"), wf_name(cs), cli_jstr(cs, "stage"),
			     cli_jstr(cs, "owner"), cli_jstr(cs, "assignee"), in, due};
	cli_table_add(t, late ? CLI_RED : CLI_PLAIN, row);
}

int cmd_list(struct cli *cli, int argc, char **argv)
{
	static const char *const heads[] = {"CASE", "WORKFLOW", "STAGE", "OWNER", "ASSIGNEE",
					    "IN STAGE", "SLA"};
	json_t *args = json_object(), *res;
	bool all = false;
	int rc = parse_list(cli, argc, argv, args, &all);

	if (rc) {
		json_decref(args);
		return rc;
	}
	if (!all)
		json_object_set_new(args, "open_only", json_true());
	if ((rc = cli_call(cli, "list", args, &res)))
		return rc;
	if (cli_json_reply(cli, res))
		return 0;
	const json_t *arr = cli_jarray(res, "cases", NULL), *cs;
	cli_table *t = cli_table_new(7, heads);
	size_t i;
	json_array_foreach(arr, i, cs)
		if (t)
			list_row(t, cs, (time_t)cli_case_now(cs));
	if (t && cli_table_rows(t))
		cli_table_print(t, stdout, cli_colour_wanted(stdout));
	else
		printf("no %scases\n", all ? "" : "open ");
	if (cli_jstr(res, "next"))
		printf("more: add --cursor %s\n", cli_jstr(res, "next"));
	cli_table_free(t);
	json_decref(res);
	return 0;
}

/* --- stuck -------------------------------------------------------------- */

static long long late_by(const json_t *r)
{
	return cli_jint(r, "late_by_s", cli_jint(r, "overdue_s", 0));
}

static int worst_first(const void *a, const void *b)
{
	long long x = late_by(*(json_t *const *)a), y = late_by(*(json_t *const *)b);
	return x < y ? 1 : x > y ? -1 : 0;
}

static void stuck_table(const json_t *arr, FILE *out, bool colour)
{
	static const char *const heads[] = {"CASE", "WORKFLOW", "STAGE", "OWNER", "ASSIGNEE",
					    "LATE BY", "WHY"};
	size_t n = json_array_size(arr);
	json_t **v = calloc(n ? n : 1, sizeof *v);
	cli_table *t = cli_table_new(7, heads);

	if (!v || !t)
		goto out;
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(arr, i);
	/* The daemon sends them worst first already; say so ourselves too,
	 * since a stable sort keeps its order among equals. */
	qsort(v, n, sizeof *v, worst_first);
	cli_table_right(t, 5);
	for (size_t i = 0; i < n; i++) {
		const char *id = cli_jstr(v[i], "case"), *reason = cli_jstr(v[i], "reason");
		const char *detail = cli_jstr(v[i], "detail");
		char by[32], why[600];
		cli_duration(by, sizeof by, late_by(v[i]));
		snprintf(why, sizeof why, "%s%s%s", reason ? reason : "?",
			 detail && *detail ? ": " : "", detail ? detail : "");
		const char *row[] = {id ? id : cli_jstr(v[i], "id"), wf_name(v[i]),
				     cli_jstr(v[i], "stage"), cli_jstr(v[i], "owner"),
				     cli_jstr(v[i], "assignee"), by, why};
		cli_table_add(t, reason && strcmp(reason, "late") ? CLI_RED : CLI_PLAIN, row);
	}
	cli_table_print(t, out, colour);
out:
	cli_table_free(t);
	free(v);
}

int cmd_stuck(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"workflow", required_argument, NULL, 'w'}, {0}};
	json_t *args = json_object(), *res;
	int c, rc;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":w:", opts, NULL)) != -1) {
		if (c != 'w') {
			json_decref(args);
			return cli_bad_option(cli, c, argv);
		}
		json_object_set_new(args, "workflow", json_string(optarg));
	}
	if (optind < argc) {
		json_decref(args);
		return cli_usage_error(cli, "unexpected argument '%s' (a workflow goes after -w)",
				       argv[optind]);
	}
	if ((rc = cli_call(cli, "stuck", args, &res)))
		return rc;
	if (cli_json_reply(cli, res))
		return 0;
	const json_t *arr = cli_jarray(res, "stuck", "cases");
	size_t n = json_array_size(arr);
	long long total = cli_jint(res, "count", (long long)n);
	if (!n)
		printf("nothing is stuck\n");
	else
		stuck_table(arr, stdout, cli_colour_wanted(stdout));
	if (total > (long long)n)
		printf("%lld more not shown\n", total - (long long)n);
	json_decref(res);
	return 0;
}

/* --- stats -------------------------------------------------------------- */

static long long terminal_count(const json_t *w, const char *stage)
{
	return cli_jint(json_object_get(w, "terminal"), stage, 0);
}

/* The first number a director asks for: leads won against leads closed. */
static void conversion(const json_t *w, FILE *out, bool colour)
{
	long long won = terminal_count(w, "won"), lost = terminal_count(w, "lost");

	fprintf(out, "%sLead conversion (lead -> won):%s ", cli_on(CLI_BOLD, colour),
		cli_off(colour));
	if (won + lost)
		fprintf(out, "%.0f%%  (%lld won, %lld lost)\n", 100.0 * (double)won /
			(double)(won + lost), won, lost);
	else
		fprintf(out, "no lead closed yet\n");
}

static void secs_cell(char *buf, size_t n, const json_t *row, const char *key)
{
	const json_t *v = json_object_get(row, key);

	if (json_is_number(v))
		cli_duration(buf, n, (int64_t)json_number_value(v));
	else
		snprintf(buf, n, "-");
}

static void stats_one(const json_t *w, FILE *out, bool colour)
{
	static const char *const heads[] = {"STAGE", "CASES", "LATE", "MEDIAN", "P90"};
	const json_t *stages = json_object_get(w, "stages"), *s, *term;
	cli_table *t = cli_table_new(5, heads);
	size_t i;

	fprintf(out, "%s%s v%lld%s: %lld cases, %lld open, %lld late\n", cli_on(CLI_BOLD, colour),
		wf_name(w), cli_jint(w, "version", 0), cli_off(colour), cli_jint(w, "total", 0),
		cli_jint(w, "open", 0), cli_jint(w, "late", 0));
	if (!t)
		return;
	for (size_t c = 1; c < 5; c++)
		cli_table_right(t, c);
	json_array_foreach(stages, i, s) {
		char cnt[24], late[24], med[24], p90[24];
		/* Empty stages are noise at a glance; --json has every one. */
		if (json_is_true(json_object_get(s, "terminal")) || !cli_jint(s, "count", 0))
			continue;
		snprintf(cnt, sizeof cnt, "%lld", cli_jint(s, "count", 0));
		snprintf(late, sizeof late, "%lld", cli_jint(s, "late", 0));
		secs_cell(med, sizeof med, s, "median_s");
		secs_cell(p90, sizeof p90, s, "p90_s");
		const char *row[] = {cli_jstr(s, "stage"), cnt, late, med, p90};
		cli_table_add(t, cli_jint(s, "late", 0) ? CLI_RED : CLI_PLAIN, row);
	}
	if (cli_table_rows(t))
		cli_table_print(t, out, colour);
	else
		fprintf(out, "no open cases\n");
	cli_table_free(t);
	term = json_object_get(w, "terminal");
	if (json_object_size(term)) {
		const char *k;
		json_t *v;
		bool first = true;
		fprintf(out, "Reached:");
		json_object_foreach((json_t *)term, k, v) {
			fprintf(out, "%s %s %lld", first ? "" : ",", k, (long long)json_integer_value(v));
			first = false;
		}
		fputc('\n', out);
	}
}

int cmd_stats(struct cli *cli, int argc, char **argv)
{
	json_t *args, *res;
	int rc;

	if ((rc = cli_args(cli, argc, argv, 0, 1, "")))
		return rc;
	args = optind < argc ? json_pack("{s:s}", "workflow", argv[optind]) : NULL;
	if ((rc = cli_call(cli, "stats", args, &res)))
		return rc;
	if (cli_json_reply(cli, res))
		return 0;
	const json_t *arr = cli_jarray(res, "workflows", NULL), *w;
	bool colour = cli_colour_wanted(stdout);
	size_t i, shown = 0;
	json_array_foreach(arr, i, w) {
		if (wf_name(w) && !strcmp(wf_name(w), "sales-lead")) {
			conversion(w, stdout, colour);
			shown++;
		}
	}
	json_array_foreach(arr, i, w) {
		if (shown++)
			fputc('\n', stdout);
		stats_one(w, stdout, colour);
	}
	if (!json_array_size(arr))
		printf("no workflows loaded\n");
	json_decref(res);
	return 0;
}
