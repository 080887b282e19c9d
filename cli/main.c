/*
 * main.c - `docket`: global options, the verb table, dispatch.
 *
 *   docket [--home DIR] [--as USER] VERB [VERB OPTIONS] [ARGS]
 *
 * Global options come before the verb, a verb's own options after it.
 * Exit 0 on success, 1 on a refusal or error (one line on stderr), 2 on a
 * usage mistake.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "output.h"


/* One row per verb, in the order `docket --help` lists them: the flags say
 * whether it needs the daemon, and the strings are the whole of its help. */
static const struct verb verbs[] = {
	{"validate", cmd_validate, VERB_OFFLINE | VERB_JSON, "FILE...",
	 "check workflow files; every mistake as file:line:col",
	 "  --plugins DIR   where plugins are installed (default $DOCKET_PLUGINS, else the\n"
	 "                  installed directory); each action's plugin must be there\n"
	 "  --json          report as one JSON document",
	 "docket validate workflows/*.yaml"},
	{"graph", cmd_graph, VERB_OFFLINE, "FILE|WORKFLOW [--format dot|mermaid]",
	 "draw a workflow as Graphviz DOT or Mermaid",
	 "  --format dot|mermaid   output format (default dot)",
	 "docket graph workflows/sales-order.yaml | dot -Tsvg > order.svg"},
	{"workflows", cmd_workflows, VERB_DAEMON | VERB_JSON, "",
	 "the workflows docketd has loaded, with their versions",
	 "  --json   {workflows: [{workflow, version, title, prefix, ...}]}",
	 "docket workflows"},
	{"new", cmd_new, VERB_DAEMON | VERB_JSON, "WORKFLOW [-s FIELD=VALUE]... [-m NOTE]",
	 "open a case; prints its id alone",
	 "  -s, --set FIELD=VALUE   set a field (typed by the workflow: 5, 12.5, true,\n"
	 "                          2024-05-01); FIELD= unsets, FIELD=@FILE reads FILE\n"
	 "                          (one final newline dropped; @- is standard input)\n"
	 "  -m, --note NOTE         a note for the history\n"
	 "  --json                  print the new case",
	 "id=$(docket new sales-order -s customer=ACME -s product=W-100 -s quantity=40)"},
	{"show", cmd_show, VERB_DAEMON | VERB_JSON, "CASE",
	 "a case: stage, owner, assignee, SLA, fields, recent history",
	 "  --json   the case document",
	 "docket show SO-12"},
	{"list", cmd_list, VERB_DAEMON | VERB_JSON,
	 "[-w WORKFLOW] [--stage STAGE] [--mine] [--limit N] [--cursor C] [--all]",
	 "open cases, filtered; late ones marked",
	 "  -w, --workflow WORKFLOW   only this workflow\n"
	 "  --stage STAGE             only cases in this stage (needs -w)\n"
	 "  --mine                    only cases assigned to me\n"
	 "  --assignee USER           only cases assigned to USER\n"
	 "  -n, --limit N             at most N cases (default 50, at most 1000)\n"
	 "  --cursor C                the page after C (printed under a full page)\n"
	 "  --all                     closed cases too\n"
	 "  --json                    {cases: [...], next: CURSOR or null}",
	 "docket list -w sales-order --stage collection"},
	{"advance", cmd_advance, VERB_DAEMON | VERB_JSON,
	 "CASE EVENT [-s FIELD=VALUE]... [-m NOTE]",
	 "fire an event: move a case to its next stage",
	 "  -s, --set FIELD=VALUE   set a field first (as for `docket new`)\n"
	 "  -m, --note NOTE         a note for the history\n"
	 "  --json                  print the case after the move",
	 "docket advance SO-12 confirm -s unit_price=12.50 -s delivery_date=2024-06-01 -m \"called back\""},
	{"note", cmd_note, VERB_DAEMON | VERB_JSON, "CASE TEXT...",
	 "record a note in a case's history",
	 "  --json   {seq}",
	 "docket note LEAD-7 \"visited; wants a demo in June\""},
	{"assign", cmd_assign, VERB_DAEMON | VERB_JSON, "CASE USER",
	 "give a case to a person ('' takes it back)",
	 "  --json   the case after",
	 "docket assign SO-12 alice"},
	{"history", cmd_history, VERB_DAEMON | VERB_JSON, "CASE",
	 "everything that happened to a case, oldest first",
	 "  --json   {history: [{seq, at, actor, event, from, to, fields, note}]}",
	 "docket history SO-12"},
	{"stuck", cmd_stuck, VERB_DAEMON | VERB_JSON, "[-w WORKFLOW]",
	 "late cases, failed plugins and overdue timers, worst first",
	 "  -w, --workflow WORKFLOW   only this workflow\n"
	 "  --json                    the daemon's stuck report",
	 "docket stuck"},
	{"stats", cmd_stats, VERB_DAEMON | VERB_JSON, "[WORKFLOW]",
	 "cases per stage, time in stage, late, outcomes, lead conversion",
	 "  --json   {workflows: [{workflow, stages: [...], terminal: {...}}]}",
	 "docket stats sales-lead"},
	{"inbox", cmd_inbox, VERB_DAEMON | VERB_JSON, "[--all]",
	 "notifications for me or my roles, newest first",
	 "  --all    every one, not only the 20 newest\n"
	 "  --json   {count, notifications: [{at, case, workflow, stage, key, roles,\n"
	 "           users, message}]}",
	 "docket --as fred inbox"},
	{"retry", cmd_retry, VERB_DAEMON | VERB_JSON, "CASE",
	 "run a failed stage plugin again",
	 "  --json   the case after",
	 "docket retry SO-12"},
	{"plugins", cmd_plugins, VERB_DAEMON | VERB_JSON, "",
	 "the stage plugins docketd has loaded",
	 "  --json   {plugins: [{name, version, abi, path}]}",
	 "docket plugins"},
	{"reload", cmd_reload, VERB_DAEMON | VERB_JSON, "",
	 "re-read the workflow files; a broken one is refused, the old one stays",
	 "  --json   {loaded: [...], refused: [{file, errors}]}",
	 "docket reload"},
	{"backup", cmd_backup, VERB_DAEMON | VERB_JSON, "PATH",
	 "a consistent copy of the store, made while running, as a new home",
	 "  --json   {path, bytes}",
	 "docket backup /srv/backup/docket-$(date +%F)"},
	{"check", cmd_check, VERB_DAEMON | VERB_JSON, "",
	 "verify every invariant of the store",
	 "  --json   {ok, problems: [...]}",
	 "docket check"},
	{"status", cmd_status, VERB_DAEMON | VERB_JSON, "",
	 "whether docketd runs on this home, and who you are to it",
	 "  --json   {server, version, protocol, user, roles, admin}",
	 "docket --home /srv/docket status"},
	{"plugin-run", cmd_plugin_run, VERB_OFFLINE | VERB_JSON,
	 "PLUGIN --case FILE.json [--with KEY=VALUE]... [--workflow FILE --stage STAGE]",
	 "run one plugin on a case through the plugin host, outside any workflow",
	 "  --case FILE.json         the case (as `docket show --json` prints it) or its fields\n"
	 "  -s, --set FIELD=VALUE    set a field of the case (VALUE is JSON or a string)\n"
	 "  --with KEY=VALUE         with: configuration; VALUE is JSON or a string,\n"
	 "                           dots in KEY nest (--with lead_times.rush=5d)\n"
	 "  --workflow FILE --stage STAGE   take with: and the events from that stage\n"
	 "  --events A,B             the events the stage declares (default: any)\n"
	 "  --plugins DIR            where PLUGIN.so is (default $DOCKET_PLUGINS, else installed)\n"
	 "  --key KEY, --attempt N   the idempotency key and attempt the plugin sees\n"
	 "  --timeout DURATION       kill the plugin after this long (default 30s)\n"
	 "  --json                   print the outcome as JSON\n"
	 "Exit 0 when the plugin emitted an event, 1 otherwise.  Plugins that keep files\n"
	 "use the home (--home before the verb) when that directory exists.",
	 "docket plugin-run price --case lead.json --workflow workflows/sales-lead.yaml --stage proposal"},
	{"version", cmd_version, VERB_OFFLINE | VERB_JSON, "",
	 "print the version", NULL, "docket version"},
};

#define NVERBS (sizeof verbs / sizeof *verbs)

static void usage(FILE *out)
{
	fprintf(out,
		"usage: docket [--home DIR] [--as USER] VERB [OPTIONS] [ARGS]\n"
		"\n"
		"Verbs:\n");
	for (size_t i = 0; i < NVERBS; i++)
		fprintf(out, "  %-10s %s%s\n", verbs[i].name, verbs[i].summary,
			verbs[i].flags & VERB_OFFLINE ? " (offline)" : "");
	fprintf(out,
		"\n"
		"Global options:\n"
		"  --home DIR   the Docket home (default $DOCKET_HOME, else /var/lib/docket)\n"
		"  --as USER    act as USER (the daemon's administrator only)\n"
		"  --json       print one JSON document (also accepted after the verb)\n"
		"\n"
		"Run `docket VERB --help` for a verb's options and an example.\n");
}

void cli_usage(const struct verb *v, FILE *out)
{
	fprintf(out, "usage: docket %s %s\n\n%s\n", v->name, v->args, v->summary);
	if (v->help)
		fprintf(out, "\nOptions:\n%s\n", v->help);
	if (v->example)
		fprintf(out, "\nExample:\n  %s\n", v->example);
}

int cli_usage_error(const struct cli *cli, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "docket %s: ", cli->verb ? cli->verb->name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see `docket %s --help`)\n", cli->verb ? cli->verb->name : "");
	return EXIT_USAGE;
}

int cli_fail(const struct cli *cli, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "docket %s: ", cli->verb ? cli->verb->name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_REFUSED;
}

int cli_common_opts(struct cli *cli, int argc, char **argv)
{
	int out = 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			/* keep the rest, including the "--", for the verb */
			while (i < argc)
				argv[out++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			cli_usage(cli->verb, stdout);
			return -1;
		}
		if (!strcmp(argv[i], "--json") && (cli->verb->flags & VERB_JSON)) {
			cli->json = true;
			continue;
		}
		argv[out++] = argv[i];
	}
	argv[out] = NULL;
	return out;
}

int cmd_version(struct cli *cli, int argc, char **argv)
{
	(void)argv;
	if (argc > 1)
		return cli_usage_error(cli, "takes no arguments");
	if (cli->json)
		printf("{\"version\": \"%s\"}\n", DOCKET_VERSION);
	else
		printf("docket %s\n", DOCKET_VERSION);
	return 0;
}

static const struct verb *find(const char *name)
{
	for (size_t i = 0; i < NVERBS; i++)
		if (!strcmp(verbs[i].name, name))
			return &verbs[i];
	return NULL;
}

int main(int argc, char **argv)
{
	struct cli cli = {0};
	int i;

	cli_output_init();
	cli.home = getenv("DOCKET_HOME");
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--json")) {
			/* also accepted before the verb: `docket --json list` */
			cli.json = true;
		} else if (!strcmp(a, "--version")) {
			printf("docket %s\n", DOCKET_VERSION);
			return 0;
		} else if (!strcmp(a, "--home") || !strcmp(a, "--as")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "docket: %s needs a value\n", a);
				return EXIT_USAGE;
			}
			*(a[2] == 'h' ? &cli.home : &cli.as_user) = argv[++i];
		} else if (!strncmp(a, "--home=", 7)) {
			cli.home = a + 7;
		} else if (!strncmp(a, "--as=", 5)) {
			cli.as_user = a + 5;
		} else {
			fprintf(stderr, "docket: unknown option '%s' (global options come before the verb: --home, --as, --json)\n", a);
			return EXIT_USAGE;
		}
	}
	if (!cli.home || !*cli.home)
		cli.home = "/var/lib/docket";
	if (i >= argc) {
		fprintf(stderr, "usage: docket [--home DIR] [--as USER] VERB [OPTIONS] [ARGS] "
			"(`docket --help` lists the verbs)\n");
		return EXIT_USAGE;
	}
	cli.verb = find(argv[i]);
	if (!cli.verb) {
		fprintf(stderr, "docket: unknown verb '%s' (see `docket --help`)\n", argv[i]);
		return EXIT_USAGE;
	}
	if (cli.json && !(cli.verb->flags & VERB_JSON)) {
		fprintf(stderr, "docket %s: does not print JSON (see `docket %s --help`)\n",
			cli.verb->name, cli.verb->name);
		return EXIT_USAGE;
	}
	int vargc = cli_common_opts(&cli, argc - i, argv + i);
	if (vargc < 0)
		return 0;
	return cli.verb->fn(&cli, vargc, argv + i);
}
