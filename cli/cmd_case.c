/*
 * cmd_case.c - the verbs that act on one case: new, show, advance, note,
 * assign, history, retry.
 *
 * The command line never interprets a field value: `-s FIELD=VALUE` sends
 * VALUE as a JSON string and the engine coerces it by the field's declared
 * type, so the rules live in one place and a refusal names the field.
 * `-s FIELD=` sends null (unset), `-s FIELD=@FILE` the file's text (one
 * final newline dropped; `@-` is standard input; `@@x` is the literal
 * "@x").  The same field given twice: the last one wins.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "field.h"
#include "output.h"

/* --- -s FIELD=VALUE ----------------------------------------------------- */

/* Read a whole file (or stdin for "-") as one UTF-8 string value. */
static int value_from_file(struct cli *cli, const char *path, json_t **out)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	char *buf;
	size_t n;

	*out = NULL;
	if (!f)
		return cli_fail(cli, "cannot read %s: %s", path, strerror(errno));
	buf = malloc(DOCKET_STRING_MAX + 2);
	if (!buf) {
		if (f != stdin)
			fclose(f);
		return cli_fail(cli, "out of memory");
	}
	n = fread(buf, 1, DOCKET_STRING_MAX + 2, f);
	int bad = ferror(f);
	if (f != stdin)
		fclose(f);
	if (n && buf[n - 1] == '\n')
		n -= 1 + (n > 1 && buf[n - 2] == '\r');
	if (!bad && n <= DOCKET_STRING_MAX)
		*out = json_stringn(buf, n);
	free(buf);
	if (bad)
		return cli_fail(cli, "cannot read %s", path);
	if (n > DOCKET_STRING_MAX)
		return cli_fail(cli, "%s is too long for a field (at most %d bytes)", path,
				DOCKET_STRING_MAX);
	if (!*out)
		return cli_fail(cli, "%s is not UTF-8 text", path);
	return 0;
}

/* Add one -s argument to fields.  Returns 0 or the exit status. */
static int set_field(struct cli *cli, json_t *fields, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char name[DOCKET_NAME_MAX + 1];
	json_t *v;
	int rc = 0;

	if (!eq || eq == arg)
		return cli_usage_error(cli, "-s wants FIELD=VALUE, not '%s'", arg);
	if ((size_t)(eq - arg) > DOCKET_NAME_MAX)
		return cli_usage_error(cli, "field name '%.*s...' is too long", 20, arg);
	snprintf(name, sizeof name, "%.*s", (int)(eq - arg), arg);
	const char *val = eq + 1;
	if (!*val)
		v = json_null();
	else if (val[0] == '@' && val[1] == '@')
		v = json_string(val + 1);
	else if (val[0] == '@')
		rc = value_from_file(cli, val + 1, &v);
	else
		v = json_string(val);
	if (rc)
		return rc;
	if (!v)
		return cli_fail(cli, "the value of '%s' is not UTF-8 text", name);
	json_object_set_new(fields, name, v);
	return 0;
}

/* The options new and advance share: -s (repeatable) and -m. */
struct change {
	json_t *fields;
	const char *note;
};

static const struct option change_opts[] = {
	{"set", required_argument, NULL, 's'},
	{"message", required_argument, NULL, 'm'},
	{"note", required_argument, NULL, 'm'},
	{0},
};

/* Parse -s/-m; the remaining arguments are moved to argv[optind..argc). */
static int parse_change(struct cli *cli, int argc, char **argv, struct change *ch)
{
	int c, rc;

	ch->fields = json_object();
	ch->note = NULL;
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":s:m:", change_opts, NULL)) != -1) {
		if (c == 's') {
			if ((rc = set_field(cli, ch->fields, optarg)))
				return rc;
		} else if (c == 'm') {
			ch->note = optarg;
		} else {
			return cli_bad_option(cli, c, argv);
		}
	}
	return 0;
}

/* Add fields and note to args when given. */
static void change_args(json_t *args, const struct change *ch)
{
	if (json_object_size(ch->fields))
		json_object_set(args, "fields", ch->fields);
	if (ch->note)
		json_object_set_new(args, "note", json_string(ch->note));
}

/* --- printing ----------------------------------------------------------- */

/* A field value as people read it; a new string. */
static char *value_text(const json_t *v)
{
	char *s = NULL;

	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_real(v)) {
		if (asprintf(&s, "%.15g", json_real_value(v)) < 0)
			return NULL;
		return s;
	}
	if (json_is_null(v) || !v)
		return strdup("-");
	return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

/* "2024-05-01 16:03 (3h ago)" for a time member; "-" when absent. */
static void when_text(char *buf, size_t n, const char *rfc3339, time_t now)
{
	char loc[32], age[32];
	int64_t t;

	if (cli_time_parse(rfc3339, &t)) {
		snprintf(buf, n, "-");
		return;
	}
	cli_time_local(loc, sizeof loc, t);
	cli_age(age, sizeof age, (int64_t)now - t);
	snprintf(buf, n, "%s (%s)", loc, age);
}

static void label(FILE *out, const char *l, bool colour)
{
	fprintf(out, "%s%-10s%s", cli_on(CLI_DIM, colour), l, cli_off(colour));
}

/* A string value over several lines, each continuation indented. */
static void put_lines(FILE *out, const char *s, int indent)
{
	const char *nl;

	while ((nl = strchr(s, '\n'))) {
		char *line = strndup(s, (size_t)(nl - s));
		if (line)
			cli_put(out, line);
		free(line);
		fprintf(out, "\n%*s", indent, "");
		s = nl + 1;
	}
	cli_put(out, s);
}

static void print_fields(FILE *out, const json_t *fields, bool colour)
{
	const char *k;
	json_t *v;
	size_t w = 0;

	fprintf(out, "\n%sFields%s\n", cli_on(CLI_BOLD, colour), cli_off(colour));
	if (!json_object_size(fields)) {
		fprintf(out, "  (none set)\n");
		return;
	}
	json_object_foreach((json_t *)fields, k, v)
		if (strlen(k) > w)
			w = strlen(k);
	json_object_foreach((json_t *)fields, k, v) {
		char *t = value_text(v);
		fprintf(out, "  %-*s  ", (int)w, k);
		put_lines(out, t ? t : "?", (int)w + 4);
		fputc('\n', out);
		free(t);
	}
}

/* What a history entry did, in a few words. */
static void hist_what(char *buf, size_t n, const json_t *h)
{
	const char *kind = cli_jstr(h, "kind"), *ev = cli_jstr(h, "event");
	const char *from = cli_jstr(h, "from"), *to = cli_jstr(h, "to");

	if (kind && !strcmp(kind, "create"))
		snprintf(buf, n, "created in %s", to ? to : "?");
	else if (ev && from && to)
		snprintf(buf, n, "%s: %s -> %s", ev, from, to);
	else if (ev)
		snprintf(buf, n, "%s", ev);
	else if (kind && !strcmp(kind, "assign") && cli_jstr(h, "assignee"))
		snprintf(buf, n, "assigned to %s", cli_jstr(h, "assignee"));
	else if (kind && !strcmp(kind, "assign"))
		snprintf(buf, n, "unassigned");
	else
		snprintf(buf, n, "%s", kind ? kind : "?");
}

/* Fields changed, the note and any reason, on one line; a new string. */
static char *hist_detail(const json_t *h)
{
	const json_t *fields = json_object_get(h, "fields");
	const char *k, *note = cli_jstr(h, "note"), *reason = cli_jstr(h, "reason");
	json_t *v;
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	if (!f)
		return NULL;
	json_object_foreach((json_t *)fields, k, v) {
		char *t = value_text(v);
		fprintf(f, "%s%s=%s", ftell(f) ? " " : "", k, t ? t : "?");
		free(t);
	}
	if (reason)
		fprintf(f, "%s%s", ftell(f) ? " - " : "", reason);
	if (note)
		fprintf(f, "%s\"%s\"", ftell(f) ? " " : "", note);
	fclose(f);
	for (char *p = s; p && *p; p++)
		if (*p == '\n' || *p == '\t' || *p == '\r')
			*p = ' ';
	return s;
}

/* History as a table; only the last `last` entries when last > 0. */
static void print_history(FILE *out, const json_t *hist, size_t last, bool colour)
{
	static const char *const heads[] = {"#", "WHEN", "WHO", "WHAT", "DETAILS"};
	cli_table *t = cli_table_new(5, heads);
	size_t n = json_array_size(hist), from = last && n > last ? n - last : 0;

	if (!t)
		return;
	cli_table_right(t, 0);
	for (size_t i = from; i < n; i++) {
		const json_t *h = json_array_get(hist, i);
		char seq[24], when[64], what[256];
		int64_t at;
		snprintf(seq, sizeof seq, "%lld", cli_jint(h, "seq", 0));
		if (cli_time_parse(cli_jstr(h, "at"), &at) == 0)
			cli_time_local(when, sizeof when, at);
		else
			snprintf(when, sizeof when, "-");
		hist_what(what, sizeof what, h);
		char *detail = hist_detail(h);
		const char *row[] = {seq, when, cli_jstr(h, "actor"), what, detail ? detail : ""};
		cli_table_add(t, CLI_PLAIN, row);
		free(detail);
	}
	cli_table_print(t, out, colour);
	cli_table_free(t);
}

static void print_due(FILE *out, const json_t *cs, time_t now, bool colour)
{
	const char *due = cli_jstr(cs, "due");
	bool late = json_is_true(json_object_get(cs, "late"));
	char when[96];
	int64_t t;

	if (!due || cli_time_parse(due, &t))
		return;
	when_text(when, sizeof when, due, now);
	label(out, "SLA due", colour);
	if (late) {
		char by[32];
		cli_duration(by, sizeof by, (int64_t)now - t);
		fprintf(out, "%s%s — LATE by %s%s\n", cli_on(CLI_RED, colour), when, by,
			cli_off(colour));
	} else {
		fprintf(out, "%s\n", when);
	}
}

static void print_action(FILE *out, const json_t *cs, bool colour)
{
	const json_t *a = json_object_get(cs, "action");
	const char *state = cli_jstr(a, "state"), *plugin = cli_jstr(a, "plugin");

	if (!plugin)
		return;
	label(out, "Action", colour);
	bool failed = state && !strcmp(state, "failed");
	fprintf(out, "%splugin %s: %s", cli_on(failed ? CLI_RED : CLI_PLAIN, colour), plugin,
		state ? state : "?");
	if (cli_jint(a, "attempt", 0) > 1)
		fprintf(out, " (attempt %lld)", cli_jint(a, "attempt", 0));
	if (cli_jstr(a, "reason")) {
		fputs(" — ", out);
		cli_put(out, cli_jstr(a, "reason"));
	}
	fprintf(out, "%s\n", failed ? cli_off(colour) : "");
	if (failed)
		fprintf(out, "%10s(`docket retry %s` queues it again)\n", "", cli_jstr(cs, "id"));
}

/* "Stock check (stock_check)", or the name alone when there is no title. */
static void put_stage(FILE *out, const json_t *cs)
{
	const char *stage = cli_jstr(cs, "stage"), *title = cli_jstr(cs, "stage_title");

	if (!stage)
		stage = "?";
	if (title && strcmp(title, stage)) {
		cli_put(out, title);
		fprintf(out, " (%s)", stage);
	} else {
		cli_put(out, stage);
	}
}

static void print_times(FILE *out, const json_t *cs, time_t now, bool colour)
{
	const char *since = cli_jstr(cs, "stage_since");
	char when[96], dur[32], loc[32];
	int64_t t;

	if (!since)
		since = cli_jstr(cs, "entered_at");
	if (since && cli_time_parse(since, &t) == 0) {
		cli_duration(dur, sizeof dur, (int64_t)now - t);
		cli_time_local(loc, sizeof loc, t);
		label(out, "In stage", colour);
		fprintf(out, "%s, since %s\n", dur, loc);
	}
	print_due(out, cs, now, colour);
	print_action(out, cs, colour);
	when_text(when, sizeof when, cli_jstr(cs, "created_at"), now);
	label(out, "Created", colour);
	fprintf(out, "%s\n", when);
	when_text(when, sizeof when, cli_jstr(cs, "updated_at"), now);
	label(out, "Updated", colour);
	fprintf(out, "%s\n", when);
}

/* The case view of `docket show`. */
static void print_case(FILE *out, const json_t *cs, const json_t *hist, time_t now, bool colour)
{
	const char *id = cli_jstr(cs, "id"), *owner = cli_jstr(cs, "owner");
	const char *assignee = cli_jstr(cs, "assignee"), *state = cli_jstr(cs, "state");
	size_t n = json_array_size(hist);

	fprintf(out, "%s%s%s  %s v%lld  (%s)\n", cli_on(CLI_BOLD, colour), id ? id : "?",
		cli_off(colour), cli_jstr(cs, "workflow"), cli_jint(cs, "version", 0),
		state ? state : "open");
	label(out, "Stage", colour);
	put_stage(out, cs);
	fprintf(out, "%s%s\n", owner ? ", owner " : "", owner ? owner : "");
	label(out, "Assignee", colour);
	fprintf(out, "%s\n", assignee ? assignee : "(nobody)");
	print_times(out, cs, now, colour);
	print_fields(out, json_object_get(cs, "fields"), colour);
	if (n) {
		fprintf(out, "\n%sHistory%s (last %zu of %zu; all: docket history %s)\n",
			cli_on(CLI_BOLD, colour), cli_off(colour), n < 5 ? n : 5, n, id);
		print_history(out, hist, 5, colour);
	}
}

/* What advance did: "SO-1: confirm -> stock_check (Stock check), owner
 * ops, plugin stock pending". */
static void print_moved(FILE *out, const json_t *cs, const char *event)
{
	const json_t *action = json_object_get(cs, "action");
	const char *owner = cli_jstr(cs, "owner"), *plugin = cli_jstr(action, "plugin");
	const char *stage = cli_jstr(cs, "stage"), *title = cli_jstr(cs, "stage_title");

	fprintf(out, "%s: %s -> %s", cli_jstr(cs, "id"), event, stage ? stage : "?");
	if (title && stage && strcmp(title, stage)) {
		fputs(" (", out);
		cli_put(out, title);
		fputc(')', out);
	}
	if (owner)
		fprintf(out, ", owner %s", owner);
	if (plugin)
		fprintf(out, ", plugin %s %s", plugin,
			cli_jstr(action, "state") ? cli_jstr(action, "state") : "");
	fputc('\n', out);
}

/* --- the verbs ---------------------------------------------------------- */

int cmd_new(struct cli *cli, int argc, char **argv)
{
	struct change ch;
	json_t *cs;
	int rc = parse_change(cli, argc, argv, &ch);

	if (!rc && argc == optind)
		rc = cli_usage_error(cli, "missing WORKFLOW");
	else if (!rc && argc - optind > 1)
		rc = cli_usage_error(cli, "one workflow at a time");
	if (rc) {
		json_decref(ch.fields);
		return rc;
	}
	json_t *args = json_pack("{s:s}", "workflow", argv[optind]);
	change_args(args, &ch);
	json_decref(ch.fields);
	/* A person is shown only the id: the daemon need not send the case. */
	if (!cli->json)
		json_object_set_new(args, "reply", json_string("brief"));
	if ((rc = cli_call(cli, "new", args, &cs)))
		return rc;
	if (cli->json)
		cli_print_json(cs);
	else
		printf("%s\n", cli_jstr(cs, "id") ? cli_jstr(cs, "id") : "?");
	json_decref(cs);
	return 0;
}

int cmd_show(struct cli *cli, int argc, char **argv)
{
	const char *ops[] = {"show", "history"};
	json_t *res[2];
	int rc;

	if ((rc = cli_args(cli, argc, argv, 1, 1, "CASE")))
		return rc;
	json_t *args = json_pack("{s:s}", "case", argv[optind]);
	json_t *a[] = {args, args};
	/* --json is the case document alone; people also get recent history. */
	rc = cli_request(cli, cli->json ? 1 : 2, ops, a, res);
	json_decref(args);
	if (rc)
		return rc;
	if (cli->json) {
		cli_print_json(res[0]);
	} else {
		print_case(stdout, res[0], cli_jarray(res[1], "history", NULL),
			   (time_t)cli_case_now(res[0]), cli_colour_wanted(stdout));
		json_decref(res[1]);
	}
	json_decref(res[0]);
	return 0;
}

int cmd_advance(struct cli *cli, int argc, char **argv)
{
	struct change ch;
	json_t *cs;
	int rc = parse_change(cli, argc, argv, &ch);

	if (!rc && argc - optind < 2)
		rc = cli_usage_error(cli, "needs CASE and EVENT");
	else if (!rc && argc - optind > 2)
		rc = cli_usage_error(cli, "unexpected argument '%s'", argv[optind + 2]);
	if (rc) {
		json_decref(ch.fields);
		return rc;
	}
	json_t *args = json_pack("{s:s, s:s}", "case", argv[optind], "event", argv[optind + 1]);
	change_args(args, &ch);
	json_decref(ch.fields);
	if ((rc = cli_call(cli, "advance", args, &cs)))
		return rc;
	if (cli->json)
		cli_print_json(cs);
	else
		print_moved(stdout, cs, argv[optind + 1]);
	json_decref(cs);
	return 0;
}

/* TEXT is every remaining word, so `docket note SO-1 called back` works. */
int cmd_note(struct cli *cli, int argc, char **argv)
{
	char *text = NULL;
	size_t len = 0;
	json_t *res;
	int rc;

	if ((rc = cli_args(cli, argc, argv, 2, INT_MAX, "CASE and TEXT")))
		return rc;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return cli_fail(cli, "out of memory");
	for (int i = optind + 1; i < argc; i++)
		fprintf(f, "%s%s", i > optind + 1 ? " " : "", argv[i]);
	fclose(f);
	json_t *args = json_pack("{s:s, s:s?}", "case", argv[optind], "text", text);
	free(text);
	if (!args)
		return cli_fail(cli, "the note is not UTF-8 text");
	if ((rc = cli_call(cli, "note", args, &res)))
		return rc;
	if (cli->json)
		cli_print_json(res);
	else
		printf("%s: note recorded (#%lld)\n", argv[optind], cli_jint(res, "seq", 0));
	json_decref(res);
	return 0;
}

int cmd_assign(struct cli *cli, int argc, char **argv)
{
	json_t *cs;
	int rc;

	if ((rc = cli_args(cli, argc, argv, 2, 2, "CASE and USER")))
		return rc;
	const char *user = argv[optind + 1];
	json_t *args = json_pack("{s:s, s:o}", "case", argv[optind], "user",
				 *user ? json_string(user) : json_null());
	if ((rc = cli_call(cli, "assign", args, &cs)))
		return rc;
	if (cli->json)
		cli_print_json(cs);
	else if (cli_jstr(cs, "assignee"))
		printf("%s: assigned to %s\n", argv[optind], cli_jstr(cs, "assignee"));
	else
		printf("%s: unassigned\n", argv[optind]);
	json_decref(cs);
	return 0;
}

int cmd_history(struct cli *cli, int argc, char **argv)
{
	json_t *res;
	int rc;

	if ((rc = cli_args(cli, argc, argv, 1, 1, "CASE")))
		return rc;
	if ((rc = cli_call(cli, "history", json_pack("{s:s}", "case", argv[optind]), &res)))
		return rc;
	if (cli->json)
		cli_print_json(res);
	else
		print_history(stdout, cli_jarray(res, "history", NULL), 0,
			      cli_colour_wanted(stdout));
	json_decref(res);
	return 0;
}

int cmd_retry(struct cli *cli, int argc, char **argv)
{
	json_t *cs;
	int rc;

	if ((rc = cli_args(cli, argc, argv, 1, 1, "CASE")))
		return rc;
	if ((rc = cli_call(cli, "retry", json_pack("{s:s}", "case", argv[optind]), &cs)))
		return rc;
	if (cli->json) {
		cli_print_json(cs);
	} else {
		const json_t *a = json_object_get(cs, "action");
		printf("%s: ", argv[optind]);
		if (cli_jstr(a, "plugin"))
			printf("plugin %s %s\n", cli_jstr(a, "plugin"),
			       cli_jstr(a, "state") ? cli_jstr(a, "state") : "queued");
		else
			printf("queued again\n");
	}
	json_decref(cs);
	return 0;
}
