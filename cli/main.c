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


static const struct verb verbs[] = {
	{"validate", cmd_validate, VERB_OFFLINE | VERB_JSON, "FILE...",
	 "check workflow files; every mistake as file:line:col",
	 "  --plugins DIR   also check that each action's plugin is installed in DIR\n"
	 "  --json          report as one JSON document",
	 "docket validate workflows/*.yaml"},
	{"graph", cmd_graph, VERB_OFFLINE, "FILE [--format dot|mermaid]",
	 "draw a workflow as Graphviz DOT or Mermaid",
	 "  --format dot|mermaid   output format (default dot)",
	 "docket graph workflows/sales-order.yaml | dot -Tsvg > order.svg"},
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
		fprintf(out, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(out,
		"\n"
		"Global options:\n"
		"  --home DIR   the Docket home (default $DOCKET_HOME, else /var/lib/docket)\n"
		"  --as USER    act as USER (the daemon's administrator only)\n"
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

	cli.home = getenv("DOCKET_HOME");
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
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
			fprintf(stderr, "docket: unknown option '%s' (global options come before the verb: --home, --as)\n", a);
			return EXIT_USAGE;
		}
	}
	if (!cli.home || !*cli.home)
		cli.home = "/var/lib/docket";
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cli.verb = find(argv[i]);
	if (!cli.verb) {
		fprintf(stderr, "docket: unknown verb '%s' (see `docket --help`)\n", argv[i]);
		return EXIT_USAGE;
	}
	int vargc = cli_common_opts(&cli, argc - i, argv + i);
	if (vargc < 0)
		return 0;
	return cli.verb->fn(&cli, vargc, argv + i);
}
