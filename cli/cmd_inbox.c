/*
 * cmd_inbox.c - `docket inbox`: the notifications addressed to me.
 *
 * The notify plugin records them under the home; the daemon reads them
 * and answers only with those for the caller's name or roles, newest
 * first (docs/protocol.md, op `inbox`).  Nothing is marked read: the
 * inbox is a view, and the 20 newest are shown unless --all.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "output.h"

/* "sales, finance, dana": whom a notification was for. */
static void audience(const json_t *note, char *buf, size_t n)
{
	const char *keys[] = {"roles", "users"};
	size_t used = 0, i;
	const json_t *x;

	buf[0] = '\0';
	for (size_t k = 0; k < 2; k++)
		json_array_foreach(json_object_get(note, keys[k]), i, x) {
			int w = snprintf(buf + used, n - used, "%s%s", used ? ", " : "",
					 json_string_value(x) ? json_string_value(x) : "");
			if (w < 0 || (size_t)w >= n - used)
				return;
			used += (size_t)w;
		}
}

static void inbox_table(const json_t *arr, FILE *out, bool colour)
{
	static const char *const heads[] = {"WHEN", "CASE", "FOR", "MESSAGE"};
	cli_table *t = cli_table_new(4, heads);
	const json_t *note;
	size_t i;

	if (!t)
		return;
	json_array_foreach(arr, i, note) {
		char when[32] = "", to[256];
		int64_t at;
		if (cli_time_parse(cli_jstr(note, "at") ? cli_jstr(note, "at") : "", &at) == 0)
			cli_time_local(when, sizeof when, at);
		audience(note, to, sizeof to);
		const char *row[] = {when, cli_jstr(note, "case"), to, cli_jstr(note, "message")};
		cli_table_add(t, CLI_PLAIN, row);
	}
	cli_table_print(t, out, colour);
	cli_table_free(t);
}

int cmd_inbox(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"all", no_argument, NULL, 'A'}, {0}};
	json_t *args = json_object(), *res;
	int c, rc;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (c != 'A') {
			json_decref(args);
			return cli_bad_option(cli, c, argv);
		}
		json_object_set_new(args, "all", json_true());
	}
	if (optind < argc) {
		json_decref(args);
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	}
	if ((rc = cli_call(cli, "inbox", args, &res)))
		return rc;
	if (cli_json_reply(cli, res))
		return 0;
	const json_t *arr = cli_jarray(res, "notifications", NULL);
	size_t n = json_array_size(arr);
	long long total = cli_jint(res, "count", (long long)n);
	if (!n)
		printf("no notifications\n");
	else
		inbox_table(arr, stdout, cli_colour_wanted(stdout));
	if (total > (long long)n)
		printf("%lld older not shown (docket inbox --all)\n", total - (long long)n);
	json_decref(res);
	return 0;
}
