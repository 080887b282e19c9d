/*
 * cli.h - what the verbs of `docket` share: the parsed global options, the
 * verb table entry, and small output helpers.  Each verb lives in its own
 * file as cmd_<verb>(); main.c owns the table and dispatch, so usage text
 * and --help never drift from what a verb accepts.
 */
#ifndef DOCKET_CLI_H
#define DOCKET_CLI_H

#include <stdbool.h>
#include <stdio.h>

/* Exit statuses: what scripts may rely on. */
enum { EXIT_REFUSED = 1, EXIT_USAGE = 2 };

struct cli {
	const char *home;       /* --home, DOCKET_HOME, or the default */
	const char *as_user;    /* --as, NULL if not given */
	bool json;              /* --json given to the verb */
	const struct verb *verb;
};

enum {
	VERB_OFFLINE = 1 << 0,  /* works without the daemon */
	VERB_DAEMON = 1 << 1,   /* needs a running docketd */
	VERB_JSON = 1 << 2,     /* accepts --json */
};

struct verb {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
	unsigned flags;
	const char *args;       /* "FILE..." */
	const char *summary;    /* one line */
	const char *help;       /* options, one per line, may be NULL */
	const char *example;
};

/* Print a verb's usage (to stdout for --help, stderr for mistakes). */
void cli_usage(const struct verb *v, FILE *out);

/* Report a usage mistake on stderr and return EXIT_USAGE. */
int cli_usage_error(const struct cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Report a refusal or error: "docket VERB: message" on stderr, return 1. */
int cli_fail(const struct cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Options every verb shares after its name: --help and (if the verb takes
 * it) --json.  Removes them from argv, returns the new argc, or -1 after
 * printing help (the caller exits 0). */
int cli_common_opts(struct cli *cli, int argc, char **argv);

int cmd_version(struct cli *cli, int argc, char **argv);
int cmd_validate(struct cli *cli, int argc, char **argv);
int cmd_graph(struct cli *cli, int argc, char **argv);
int cmd_plugin_run(struct cli *cli, int argc, char **argv);


#endif
