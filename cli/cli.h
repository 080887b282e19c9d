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

/* Where plugins are looked for: `given` (--plugins), else $DOCKET_PLUGINS,
 * else the installed directory, else this build's. */
const char *cli_plugins_dir(const char *given);

/* --- Talking to docketd (request.c) ------------------------------------ */

struct json_t;

/* Send n requests on one connection (pipelined) and wait for every reply.
 * args[i] are borrowed (NULL: no arguments).  On success returns 0 and
 * results[i] holds each reply's "result" (new references).  Otherwise
 * prints one line on stderr (the daemon's refusal, or that it is not
 * running and how to start it), leaves results NULL and returns 1. */
int cli_request(struct cli *cli, size_t n, const char *const *ops,
		struct json_t *const *args, struct json_t **results);

/* One request; args is consumed (json_decref'd) whatever happens. */
int cli_call(struct cli *cli, const char *op, struct json_t *args,
	     struct json_t **result);

/* --json: the document, pretty, keys in the daemon's order, one newline. */
void cli_print_json(const struct json_t *doc);

/* With --json: print res, release it and return true (the verb is done).
 * Without: return false and leave res to the caller. */
bool cli_json_reply(const struct cli *cli, struct json_t *res);

/* Members of a reply document, tolerant of absence: a string or NULL, an
 * integer or dflt, the first array found under any of the keys. */
const char *cli_jstr(const struct json_t *o, const char *key);
long long cli_jint(const struct json_t *o, const char *key, long long dflt);
struct json_t *cli_jarray(const struct json_t *o, const char *k1, const char *k2);

/* "Now" as the daemon saw it when it wrote the case document (stage_since
 * plus in_stage_s), so ages and lateness agree with the
 * daemon's `late` even when its clock is not ours (a test clock); the
 * local clock when the document does not say. */
long long cli_case_now(const struct json_t *cs);

/* Prepare getopt_long for a verb's argv: GNU order (options may follow
 * arguments), our own messages. */
void cli_getopt_reset(void);

/* For a verb without options of its own: between min and max arguments
 * (what names the missing ones).  Returns 0 with the arguments at
 * argv[optind..argc), or the exit status of the usage error it printed. */
int cli_args(struct cli *cli, int argc, char **argv, int min, int max, const char *what);

/* The usage error for what getopt_long returned as c ('?' or ':'), with
 * the option it choked on. */
int cli_bad_option(struct cli *cli, int c, char **argv);

/* --- The verbs ---------------------------------------------------------- */

int cmd_version(struct cli *cli, int argc, char **argv);
int cmd_validate(struct cli *cli, int argc, char **argv);
int cmd_graph(struct cli *cli, int argc, char **argv);
int cmd_plugin_run(struct cli *cli, int argc, char **argv);

/* cmd_case.c: one case at a time */
int cmd_new(struct cli *cli, int argc, char **argv);
int cmd_show(struct cli *cli, int argc, char **argv);
int cmd_advance(struct cli *cli, int argc, char **argv);
int cmd_note(struct cli *cli, int argc, char **argv);
int cmd_assign(struct cli *cli, int argc, char **argv);
int cmd_history(struct cli *cli, int argc, char **argv);
int cmd_retry(struct cli *cli, int argc, char **argv);

/* cmd_query.c: many cases at once */
int cmd_workflows(struct cli *cli, int argc, char **argv);
int cmd_list(struct cli *cli, int argc, char **argv);
int cmd_stuck(struct cli *cli, int argc, char **argv);
int cmd_stats(struct cli *cli, int argc, char **argv);

/* cmd_inbox.c: notifications for me */
int cmd_inbox(struct cli *cli, int argc, char **argv);

/* cmd_admin.c: the daemon itself */
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_plugins(struct cli *cli, int argc, char **argv);
int cmd_reload(struct cli *cli, int argc, char **argv);
int cmd_backup(struct cli *cli, int argc, char **argv);
int cmd_check(struct cli *cli, int argc, char **argv);


#endif
