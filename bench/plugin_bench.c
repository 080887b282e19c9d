/*
 * plugin_bench - what the plugin isolation costs: no-op plugin actions per
 * second run in-process (the host's own loading and API code, called
 * directly) against the same runs through docket-plugin-host processes
 * (docketd's runner: framing, pipes, a process per host).
 *
 *   build/bench/plugin_bench [--jobs N] [--hosts N]
 *
 * The in-process figure is the ceiling: the same docket_phost_run a host
 * calls for each job, with the JSON outcome built, minus the process
 * boundary.  The isolated figures submit all jobs at once to a runner with
 * 1 host, then with --hosts hosts, and count until the last result.
 * Uses the plugins and host of this build tree.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <uv.h>

#include "config.h"
#include "host.h"
#include "runner.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *fields(void)
{
	return json_pack("{s:s, s:i, s:f, s:s}", "customer", "Acme", "quantity", 12,
			 "unit_price", 9.5, "product", "W-100");
}

static double in_process(int jobs)
{
	docket_phost_opts o = {.plugins_dir = DOCKET_TREE_PLUGINS_DIR};
	docket_phost *h;
	docket_err err = {0};
	json_t *f = fields(), *ev = json_pack("[s, s]", "done", "cancel"), *with = json_object();
	char key[32];

	if (docket_phost_open(&o, &h, &err)) {
		fprintf(stderr, "plugin_bench: %s\n", err.msg);
		exit(1);
	}
	double t0 = now_s();
	for (int i = 0; i < jobs; i++) {
		json_t *out;
		snprintf(key, sizeof key, "B-%d#1", i);
		docket_host_job job = {.id = i, .plugin = "noop", .case_id = "B-1", .workflow = "bench",
				       .stage = "run", .key = key, .now_ms = 1, .with = with,
				       .fields = f, .events = ev};
		if (docket_phost_run(h, &job, &out, &err) ||
		    strcmp(json_string_value(json_object_get(out, "outcome")), "event")) {
			fprintf(stderr, "plugin_bench: in-process run failed\n");
			exit(1);
		}
		json_decref(out);
	}
	double t = now_s() - t0;
	docket_phost_close(h);
	json_decref(f);
	json_decref(ev);
	json_decref(with);
	return jobs / t;
}

#define WINDOW 128

struct iso {
	uv_loop_t loop;
	docket_runner *r;
	int want, got, bad, sent, total;
	double *lat;            /* run_us of each */
};

static json_t *fields(void);

static void submit_one(struct iso *s)
{
	docket_err err = {0};
	char key[32];

	snprintf(key, sizeof key, "B-%d#1", s->sent++);
	json_t *j = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:o, s:[s, s]}", "case", "B-1",
			      "entry", 1, "key", key, "workflow", "bench", "stage", "run",
			      "plugin", "noop", "fields", fields(), "events", "done", "cancel");
	if (docket_runner_submit(s->r, j, &err)) {
		fprintf(stderr, "plugin_bench: %s\n", err.msg);
		exit(1);
	}
	json_decref(j);
}

static void on_result(void *ctx, const docket_runner_result *res)
{
	struct iso *s = ctx;
	if (res->verdict != DOCKET_RUNNER_EVENT)
		s->bad++;
	s->lat[s->got++] = (double)res->run_us;
	docket_runner_settled(s->r, res->key);
	if (s->total && s->sent < s->total)
		submit_one(s);
	if (s->got == s->want)
		uv_stop(&s->loop);
}

static void quiet(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (level <= DOCKET_RLOG_WARN)
		fprintf(stderr, "%s\n", msg);
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void stopped(void *ctx)
{
	(void)ctx;
}

static double isolated(int jobs, unsigned hosts, double *median_us)
{
	struct iso s = {.want = jobs};
	docket_runner_opts o = {.host_path = DOCKET_TREE_PLUGIN_HOST,
				.plugins_dir = DOCKET_TREE_PLUGINS_DIR, .hosts = hosts,
				.on_result = on_result, .on_log = quiet, .ctx = &s};
	docket_err err = {0};
	char key[32];

	s.lat = calloc((size_t)jobs, sizeof *s.lat);
	uv_loop_init(&s.loop);
	if (docket_runner_start(&s.loop, &o, &s.r, &err)) {
		fprintf(stderr, "plugin_bench: %s\n", err.msg);
		exit(1);
	}
	/* Warm up: start the hosts and load the plugin in each. */
	s.want = (int)hosts;
	for (unsigned i = 0; i < hosts; i++) {
		snprintf(key, sizeof key, "W-%u#1", i);
		json_t *j = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:o, s:[s, s]}", "case", "W-1",
				      "entry", 1, "key", key, "workflow", "bench", "stage", "run",
				      "plugin", "noop", "fields", fields(), "events", "done", "cancel");
		docket_runner_submit(s.r, j, &err);
		json_decref(j);
	}
	uv_run(&s.loop, UV_RUN_DEFAULT);
	s.got = 0;
	s.want = jobs;
	s.sent = 0;
	s.total = jobs;
	double t0 = now_s();
	/* Like docketd, which offers at most a page of due entries at a time. */
	while (s.sent < jobs && s.sent < WINDOW)
		submit_one(&s);
	uv_run(&s.loop, UV_RUN_DEFAULT);
	double t = now_s() - t0;
	if (s.bad)
		fprintf(stderr, "plugin_bench: %d runs did not emit\n", s.bad);
	docket_runner_stop(s.r, stopped, NULL);
	uv_run(&s.loop, UV_RUN_DEFAULT);
	uv_loop_close(&s.loop);
	qsort(s.lat, (size_t)jobs, sizeof *s.lat, by_value);
	*median_us = s.lat[jobs / 2];
	free(s.lat);
	return jobs / t;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"jobs", required_argument, NULL, 'j'},
		{"hosts", required_argument, NULL, 'h'},
		{0},
	};
	int jobs = 20000, o;
	unsigned hosts = 2;
	double med1, medn;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'j')
			jobs = atoi(argv[optind - 1]);
		else if (o == 'h')
			hosts = (unsigned)atoi(argv[optind - 1]);
		else {
			fprintf(stderr, "usage: plugin_bench [--jobs N] [--hosts N]\n");
			return 2;
		}
	}
	if (jobs < 1 || hosts < 1)
		return 2;
	double inproc = in_process(jobs);
	double iso1 = isolated(jobs, 1, &med1);
	double ison = isolated(jobs, hosts, &medn);
	printf("no-op plugin, %d runs each\n", jobs);
	printf("  in-process (docket_phost_run):  %9.0f runs/s  %6.2f us/run\n", inproc, 1e6 / inproc);
	printf("  isolated, 1 host:               %9.0f runs/s  %6.2f us/run  (round trip median %.0f us)\n",
	       iso1, 1e6 / iso1, med1);
	printf("  isolated, %u hosts:              %9.0f runs/s  %6.2f us/run  (round trip median %.0f us)\n",
	       hosts, ison, 1e6 / ison, medn);
	printf("  isolation cost, 1 host:         %6.2f us per run (%.1fx the in-process time)\n",
	       1e6 / iso1 - 1e6 / inproc, inproc / iso1);
	return 0;
}
