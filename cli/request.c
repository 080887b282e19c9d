/*
 * request.c - how a verb asks docketd for something and reports the answer.
 *
 * Every failure ends as one line on stderr and exit status 1: the daemon's
 * own refusal message ("docket advance: event 'ship' is not declared by
 * stage 'received'"), or what went wrong on the way.  A missing daemon
 * gets the exact command that starts it.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "client.h"
#include "output.h"

static int not_running(const struct cli *cli)
{
	fprintf(stderr, "docket: docketd is not running on %s (start it with: docketd --home %s)\n",
		cli->home, cli->home);
	return EXIT_REFUSED;
}

/* The refusal in a reply, as one line. */
static int refused(struct cli *cli, const json_t *reply)
{
	const json_t *e = json_object_get(reply, "error");
	const char *msg = cli_jstr(e, "message"), *code = cli_jstr(e, "code");

	if (msg && *msg)
		return cli_fail(cli, "%s", msg);
	return cli_fail(cli, "refused by docketd (%s)", code ? code : "no reason given");
}

static void drop(size_t n, json_t **results)
{
	for (size_t i = 0; i < n; i++) {
		json_decref(results[i]);
		results[i] = NULL;
	}
}

int cli_request(struct cli *cli, size_t n, const char *const *ops,
		json_t *const *args, json_t **results)
{
	int timeout = cli_timeout_ms(), rc = 0;
	docket_err err = {0};
	cli_conn *c;

	for (size_t i = 0; i < n; i++)
		results[i] = NULL;
	if (timeout < 0)
		return cli_fail(cli, "DOCKET_TIMEOUT must be a positive number of seconds");
	if (cli_conn_open(cli->home, timeout, &c, &err))
		return err.code == DOCKET_EUNAVAIL ? not_running(cli) : cli_fail(cli, "%s", err.msg);
	for (size_t i = 0; i < n && !rc; i++)
		if (cli_conn_send(c, ops[i], args[i], cli->as_user, &err))
			rc = cli_fail(cli, "%s", err.msg);
	for (size_t i = 0; i < n && !rc; i++) {
		json_t *reply;
		if (cli_conn_recv(c, &reply, &err)) {
			rc = cli_fail(cli, "%s", err.msg);
			break;
		}
		if (!json_is_true(json_object_get(reply, "ok")))
			rc = refused(cli, reply);
		else
			results[i] = json_incref(json_object_get(reply, "result"));
		if (!rc && !results[i])
			results[i] = json_object();
		json_decref(reply);
	}
	cli_conn_close(c);
	if (rc)
		drop(n, results);
	return rc;
}

int cli_call(struct cli *cli, const char *op, json_t *args, json_t **result)
{
	const char *ops[1] = {op};
	json_t *a[1] = {args};
	int rc = cli_request(cli, 1, ops, a, result);

	json_decref(args);
	return rc;
}

bool cli_json_reply(const struct cli *cli, json_t *res)
{
	if (!cli->json)
		return false;
	cli_print_json(res);
	json_decref(res);
	return true;
}

void cli_print_json(const json_t *doc)
{
	json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	fputc('\n', stdout);
}

const char *cli_jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

long long cli_jint(const json_t *o, const char *key, long long dflt)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		return (long long)json_integer_value(v);
	if (json_is_real(v))
		return (long long)json_real_value(v);
	return dflt;
}

json_t *cli_jarray(const json_t *o, const char *k1, const char *k2)
{
	json_t *v;

	if (json_is_array(o))
		return (json_t *)o;
	if (k1 && json_is_array(v = json_object_get(o, k1)))
		return v;
	if (k2 && json_is_array(v = json_object_get(o, k2)))
		return v;
	return NULL;
}

long long cli_case_now(const json_t *cs)
{
	const json_t *in = json_object_get(cs, "in_stage_s");
	const char *since = cli_jstr(cs, "stage_since");
	int64_t entered;

	if (!since)
		since = cli_jstr(cs, "entered_at");
	if (json_is_integer(in) && cli_time_parse(since, &entered) == 0)
		return (long long)(entered + json_integer_value(in));
	return (long long)time(NULL);
}

void cli_getopt_reset(void)
{
	optind = 1;
	opterr = 0;
}

int cli_bad_option(struct cli *cli, int c, char **argv)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		return cli_usage_error(cli, "option '%s' needs a value", arg);
	if (optopt && arg[0] == '-' && arg[1] != '-')
		return cli_usage_error(cli, "unknown option '-%c'", optopt);
	return cli_usage_error(cli, "unknown option '%s'", arg);
}

int cli_args(struct cli *cli, int argc, char **argv, int min, int max, const char *what)
{
	static const struct option none[] = {{0}};
	int c;

	cli_getopt_reset();
	if ((c = getopt_long(argc, argv, ":", none, NULL)) != -1)
		return cli_bad_option(cli, c, argv);
	if (argc - optind < min)
		return cli_usage_error(cli, "missing %s", what);
	if (argc - optind > max)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind + max]);
	return 0;
}
