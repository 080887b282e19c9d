/*
 * test_runner.c - the plugin runner on a uv loop of its own, against the
 * real docket-plugin-host and the bad-plugin fixtures: for each way a
 * plugin can misbehave, the runner survives, the result is the right
 * retry or failure, and the log says what happened.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <uv.h>

#include "runner.h"

struct harness {
	uv_loop_t loop;
	uv_timer_t watchdog;
	docket_runner *r;
	json_t *results;
	char *log;
	size_t loglen;
	bool settle;            /* settle each result at once */
	bool stopped;
	bool expired;
	size_t want;            /* stop the loop at this many results */
	const char *want_log;   /* ... or when a log line has this */
	uint64_t rnd;           /* what the jitter source returns */
};

static const char *env(const char *name)
{
	const char *v = getenv(name);
	if (!v) {
		fprintf(stderr, "%s is not set (run through meson test)\n", name);
		abort();
	}
	return v;
}

static void on_result(void *ctx, const docket_runner_result *res)
{
	struct harness *h = ctx;
	json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:I, s:I}", "key", res->key,
			      "verdict", (int)res->verdict, "case", res->case_id,
			      "plugin", res->plugin, "wait_us", (json_int_t)res->wait_us,
			      "run_us", (json_int_t)res->run_us);
	if (res->event)
		json_object_set_new(o, "event", json_string(res->event));
	if (res->reason)
		json_object_set_new(o, "reason", json_string(res->reason));
	if (res->fields)
		json_object_set_new(o, "fields", json_deep_copy(res->fields));
	json_array_append_new(h->results, o);
	if (json_array_size(h->results) >= h->want)
		uv_stop(&h->loop);
	if (h->settle)
		docket_runner_settled(h->r, res->key);
}

static void on_log(void *ctx, int level, const char *msg)
{
	struct harness *h = ctx;
	size_t n = strlen(msg);
	(void)level;
	h->log = realloc(h->log, h->loglen + n + 2);
	memcpy(h->log + h->loglen, msg, n);
	h->loglen += n;
	h->log[h->loglen++] = '\n';
	h->log[h->loglen] = '\0';
	if (h->want_log && strstr(msg, h->want_log))
		uv_stop(&h->loop);
}

static uint64_t fixed_random(void *ctx)
{
	return ((struct harness *)ctx)->rnd;
}

static void expire(uv_timer_t *t)
{
	struct harness *h = t->data;
	h->expired = true;
	uv_stop(&h->loop);
}

static struct harness *start_with(const docket_runner_opts *extra)
{
	struct harness *h = calloc(1, sizeof *h);
	docket_runner_opts o = *extra;
	docket_err err = {0};

	assert_int_equal(uv_loop_init(&h->loop), 0);
	uv_timer_init(&h->loop, &h->watchdog);
	h->watchdog.data = h;
	h->results = json_array();
	h->settle = true;
	h->log = calloc(1, 1);
	if (!o.host_path)
		o.host_path = env("DOCKET_TEST_HOST");
	if (!o.plugins_dir)
		o.plugins_dir = env("DOCKET_TEST_FIXTURES");
	if (!o.hosts)
		o.hosts = 1;
	o.on_result = on_result;
	o.on_log = on_log;
	o.ctx = h;
	o.random = fixed_random;
	if (!o.memory_mb)
		o.memory_mb = 256;
	if (docket_runner_start(&h->loop, &o, &h->r, &err))
		fail_msg("runner: %s", err.msg);
	return h;
}

static struct harness *start(const char *plugins_dir)
{
	docket_runner_opts o = {.plugins_dir = plugins_dir};
	return start_with(&o);
}

static void stopped(void *ctx)
{
	((struct harness *)ctx)->stopped = true;
}

static void finish(struct harness *h)
{
	docket_runner_stop(h->r, stopped, h);
	uv_close((uv_handle_t *)&h->watchdog, NULL);
	uv_run(&h->loop, UV_RUN_DEFAULT);
	assert_true(h->stopped);
	assert_int_equal(uv_loop_close(&h->loop), 0);
	json_decref(h->results);
	free(h->log);
	free(h);
}

/* A job the way the daemon builds one from an outbox entry. */
static json_t *job(const char *plugin, const char *key, int64_t timeout_ms)
{
	json_t *j = json_pack("{s:s, s:i, s:i, s:s, s:s, s:s, s:s, s:{s:s}, s:I,"
			      " s:{s:i, s:s}, s:[s, s], s:I}",
			      "case", "SO-1", "entry", 3, "attempt", 0, "key", key,
			      "workflow", "sales-order", "stage", "s", "plugin", plugin,
			      "with", "warehouse", "main", "timeout_ms", (json_int_t)timeout_ms,
			      "fields", "quantity", 5, "product", "W-1",
			      "events", "go", "stop", "now", (json_int_t)1700000000000);
	assert_non_null(j);
	return j;
}

static void submit(struct harness *h, json_t *j)
{
	docket_err err = {0};
	if (docket_runner_submit(h->r, j, &err))
		fail_msg("submit: %s", err.msg);
	json_decref(j);
}

/* Run the loop until a log line has text (at most 5 s). */
static void wait_log(struct harness *h, const char *text)
{
	h->expired = false;
	h->want_log = text;
	uv_timer_start(&h->watchdog, expire, 5000, 0);
	while (!strstr(h->log, text) && !h->expired)
		uv_run(&h->loop, UV_RUN_DEFAULT);
	uv_timer_stop(&h->watchdog);
	h->want_log = NULL;
}

/* Run the loop until n results are in (failing after 20 s). */
static void wait_results(struct harness *h, size_t n)
{
	h->expired = false;
	h->want = n;
	uv_timer_start(&h->watchdog, expire, 20000, 0);
	while (json_array_size(h->results) < n && !h->expired)
		uv_run(&h->loop, UV_RUN_DEFAULT);
	uv_timer_stop(&h->watchdog);
	if (json_array_size(h->results) < n)
		fail_msg("only %zu of %zu results after 20 s; log:\n%s", json_array_size(h->results),
			 n, h->log);
}

static json_t *result(struct harness *h, size_t i)
{
	return json_array_get(h->results, i);
}

static int verdict(struct harness *h, size_t i)
{
	return (int)json_integer_value(json_object_get(result(h, i), "verdict"));
}

static const char *reason(struct harness *h, size_t i)
{
	const char *s = json_string_value(json_object_get(result(h, i), "reason"));
	return s ? s : "";
}

#define assert_has(hay, needle)                                                     \
	do {                                                                        \
		if (!strstr((hay), (needle)))                                       \
			fail_msg("'%s' not found in:\n%s", (needle), (hay));        \
	} while (0)

/* One job of plugin through a fresh runner; the harness for more checks. */
static struct harness *run_one(const char *plugin, int64_t timeout_ms)
{
	struct harness *h = start(NULL);
	submit(h, job(plugin, "SO-1#3", timeout_ms));
	wait_results(h, 1);
	return h;
}

/* --- plugins that work ------------------------------------------------- */

static void test_noop_event(void **state)
{
	(void)state;
	struct harness *h = start(env("DOCKET_TEST_PLUGINS"));
	submit(h, job("noop", "SO-1#3", 5000));
	wait_results(h, 1);
	assert_int_equal(verdict(h, 0), DOCKET_RUNNER_EVENT);
	assert_string_equal(json_string_value(json_object_get(result(h, 0), "event")), "go");
	assert_string_equal(json_string_value(json_object_get(result(h, 0), "key")), "SO-1#3");
	assert_int_equal(json_object_size(json_object_get(result(h, 0), "fields")), 0);
	finish(h);
}

static void test_many_jobs_reuse_hosts(void **state)
{
	(void)state;
	docket_runner_opts o = {.plugins_dir = env("DOCKET_TEST_PLUGINS"), .hosts = 2};
	struct harness *h = start_with(&o);
	char key[32];
	for (int i = 0; i < 50; i++) {
		snprintf(key, sizeof key, "SO-%d#1", i);
		submit(h, job("noop", key, 5000));
	}
	wait_results(h, 50);
	for (size_t i = 0; i < 50; i++)
		assert_int_equal(verdict(h, i), DOCKET_RUNNER_EVENT);
	/* Two hosts served them all: only two were ever started. */
	size_t started = 0;
	for (const char *p = h->log; (p = strstr(p, "started")); p++)
		started++;
	assert_int_equal(started, 2);
	finish(h);
}

static void test_chatty_plugin_cannot_corrupt_protocol(void **state)
{
	(void)state;
	struct harness *h = run_one("chatty", 5000);
	assert_int_equal(verdict(h, 0), DOCKET_RUNNER_EVENT);
	assert_string_equal(json_string_value(json_object_get(result(h, 0), "event")), "go");
	/* What it printed is in the log, none of it in the protocol. */
	wait_log(h, "unflushed line");
	assert_has(h->log, "hello from chatty on SO-1");
	assert_has(h->log, "raw bytes on fd 1");
	assert_has(h->log, "unflushed line");
	finish(h);
}

/* --- plugins that crash ------------------------------------------------- */

static void test_segv_is_retried(void **state)
{
	(void)state;
	struct harness *h = run_one("segv", 5000);
	assert_int_equal(verdict(h, 0), DOCKET_RUNNER_RETRY);
	assert_has(reason(h, 0), "plugin 'segv' crashed");
	/* SIGSEGV, or under AddressSanitizer its report and exit status. */
	assert_true(strstr(reason(h, 0), "signal 11") || strstr(reason(h, 0), "exit with status"));
	assert_has(h->log, "plugin segv on SO-1:");
	assert_has(h->log, "(crash 1 in a row)");
	finish(h);
}

static void test_abort_is_retried(void **state)
{
	(void)state;
	struct harness *h = run_one("abort", 5000);
	assert_int_equal(verdict(h, 0), DOCKET_RUNNER_RETRY);
	assert_has(reason(h, 0), "signal 6");
	finish(h);
}

static void test_exit_is_retried(void **state)
{
	(void)state;
	struct harness *h = run_one("exiter", 5000);
	assert_int_equal(verdict(h, 0), DOCKET_RUNNER_RETRY);
	assert_has(reason(h, 0), "exit with status 3");
	finish(h);
}

static void test_hog_dies_alone(void **state)
{
	(void)state;
	struct harness *h = run_one("hog", 20000);
	assert_int_equal(verdict(h, 0), DOCKET_RUNNER_RETRY);
	assert_has(reason(h, 0), "plugin 'hog' crashed");
	/* The runner and a fresh host carry on. */
	finish(h);
}

static void test_crash_loop_is_quarantined(void **state)
{
	(void)state;
	struct harness *h = start(NULL);
	submit(h, job("segv", "SO-1#1", 5000));
	wait_results(h, 1);
	submit(h, job("segv", "SO-2#1", 5000));
	wait_results(h, 2);
	submit(h, job("segv", "SO-3#1", 5000));
	wait_results(h, 3);
	assert_int_equal(verdict(h, 0), DOCKET_RUNNER_RETRY);
	assert_int_equal(verdict(h, 1), DOCKET_RUNNER_RETRY);
	assert_int_equal(verdict(h, 2), DOCKET_RUNNER_FAIL);
	assert_has(reason(h, 2), "quarantined after 3 crashes in a row");
	assert_has(h->log, "plugin segv quarantined: it crashed its host 3 times in a row");
	assert_true(docket_runner_quarantined(h->r, "segv"));
	/* Its next job fails at once, without a host. */
	submit(h, job("segv", "SO-4#1", 5000));
	wait_results(h, 4);
	assert_int_equal(verdict(h, 3), DOCKET_RUNNER_FAIL);
	assert_has(reason(h, 3), "quarantined");
	assert_int_equal(json_integer_value(json_object_get(result(h, 3), "run_us")), 0);
	/* Other plugins are served meanwhile. */
	submit(h, job("recorder", "SO-5#1", 5000));
	wait_results(h, 5);
	assert_int_equal(verdict(h, 4), DOCKET_RUNNER_EVENT);
	/* Released, it runs (and crashes) again. */
	assert_int_equal(docket_runner_unquarantine(h->r, "segv"), 1);
	submit(h, job("segv", "SO-6#1", 5000));
	wait_results(h, 6);
	assert_int_equal(verdict(h, 5), DOCKET_RUNNER_RETRY);
	finish(h);
}

static void test_crash_counts_are_per_plugin(void **state)
{
	(void)state;
	struct harness *h = start(NULL);
	const char *seq[] = {"segv", "abort", "segv", "abort", "recorder"};
	char key[16];
	for (size_t i = 0; i < 5; i++) {
		snprintf(key, sizeof key, "SO-%zu#1", i);
		submit(h, job(seq[i], key, 5000));
		wait_results(h, i + 1);
	}
	assert_int_equal(verdict(h, 3), DOCKET_RUNNER_RETRY);
	assert_int_equal(verdict(h, 4), DOCKET_RUNNER_EVENT);
	assert_false(docket_runner_quarantined(h->r, "segv"));
	assert_false(docket_runner_quarantined(h->r, "abort"));
	finish(h);
}

/* --- plugins that hang -------------------------------------------------- */

static void test_loop_times_out_and_host_is_replaced(void **state)
{
	(void)state;
	struct harness *h = run_one("loop", 300);
	assert_int_equal(verdict(h, 0), DOCKET_RUNNER_RETRY);
	assert_has(reason(h, 0), "plugin 'loop' timed out after 300 ms");
	assert_has(h->log, "timed out after 300 ms; plugin host");
	submit(h, job("recorder", "SO-2#1", 5000));
	wait_results(h, 2);
	assert_int_equal(verdict(h, 1), DOCKET_RUNNER_EVENT);
	finish(h);
}

static void test_block_times_out(void **state)
{
	(void)state;
	struct harness *h = run_one("block", 300);
	assert_int_equal(verdict(h, 0), DOCKET_RUNNER_RETRY);
	assert_has(reason(h, 0), "timed out");
	assert_has(h->log, "plugin block on SO-1: info: waiting for an answer that never comes");
	finish(h);
}

static void test_hung_plugin_does_not_hold_up_others(void **state)
{
	(void)state;
	docket_runner_opts o = {.hosts = 2};
	struct harness *h = start_with(&o);
	submit(h, job("block", "SO-1#1", 10000));
	submit(h, job("recorder", "SO-2#1", 5000));
	wait_results(h, 1);
	assert_string_equal(json_string_value(json_object_get(result(h, 0), "key")), "SO-2#1");
	assert_int_equal(verdict(h, 0), DOCKET_RUNNER_EVENT);
	finish(h);      /* kills the blocked host */
}

/* --- plugins that answer wrong or cannot load ------------------------------ */

static void test_undeclared_event_fails(void **state)
{
	(void)state;
	struct harness *h = run_one("undeclared", 5000);
	assert_int_equal(verdict(h, 0), DOCKET_RUNNER_FAIL);
	assert_has(reason(h, 0), "emitted event 'teleported', which stage 's' does not declare (it declares: go, stop)");
	finish(h);
}

static void test_no_outcome_fails(void **state)
{
	(void)state;
	struct harness *h = run_one("silent", 5000);
	assert_int_equal(verdict(h, 0), DOCKET_RUNNER_FAIL);
	assert_has(reason(h, 0), "plugin 'silent' returned without an outcome");
	finish(h);
}

static void test_wrong_abi_major_reports_only_that(void **state)
{
	(void)state;
	struct harness *h = run_one("badmajor", 5000);
	assert_int_equal(verdict(h, 0), DOCKET_RUNNER_FAIL);
	assert_has(reason(h, 0), "was built for plugin ABI 2; this Docket runs ABI 1 plugins");
	assert_null(strstr(reason(h, 0), "some-other-name"));
	assert_has(h->log, "built for plugin ABI 2");
	finish(h);
}

static void test_wrong_info_size(void **state)
{
	(void)state;
	struct harness *h = run_one("badsize", 5000);
	assert_int_equal(verdict(h, 0), DOCKET_RUNNER_FAIL);
	assert_has(reason(h, 0), "info block of 16 bytes; ABI 1 needs at least");
	finish(h);
}

static void test_failing_init(void **state)
{
	(void)state;
	struct harness *h = run_one("initfail", 5000);
	assert_int_equal(verdict(h, 0), DOCKET_RUNNER_FAIL);
	assert_has(reason(h, 0), "plugin 'initfail' failed to start: no licence key in the environment");
	finish(h);
}

static void test_missing_plugin(void **state)
{
	(void)state;
	struct harness *h = run_one("nosuch", 5000);
	assert_int_equal(verdict(h, 0), DOCKET_RUNNER_FAIL);
	assert_has(reason(h, 0), "plugin 'nosuch' is not installed");
	finish(h);
}

/* A directory holding a copy of noop.so with the given mode and owner. */
static char *plugin_copy(mode_t mode, uid_t uid)
{
	char *dir = strdup("/tmp/docket-test-XXXXXX"), path[512], src[512];
	assert_non_null(mkdtemp(dir));
	snprintf(src, sizeof src, "%s/noop.so", env("DOCKET_TEST_PLUGINS"));
	snprintf(path, sizeof path, "%s/noop.so", dir);
	FILE *in = fopen(src, "rb"), *out = fopen(path, "wb");
	assert_non_null(in);
	assert_non_null(out);
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	fclose(out);
	assert_int_equal(chmod(path, mode), 0);
	if (uid != (uid_t)-1)
		assert_int_equal(chown(path, uid, (gid_t)-1), 0);
	return dir;
}

static void remove_copy(char *dir)
{
	char path[512];
	snprintf(path, sizeof path, "%s/noop.so", dir);
	unlink(path);
	rmdir(dir);
	free(dir);
}

static void test_group_writable_plugin_refused(void **state)
{
	(void)state;
	char *dir = plugin_copy(0664, (uid_t)-1);
	struct harness *h = start(dir);
	submit(h, job("noop", "SO-1#1", 5000));
	wait_results(h, 1);
	assert_int_equal(verdict(h, 0), DOCKET_RUNNER_FAIL);
	assert_has(reason(h, 0), "it is group-writable");
	finish(h);
	remove_copy(dir);
}

static void test_foreign_owned_plugin_refused(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		skip();
		return;
	}
	char *dir = plugin_copy(0644, 65534);
	struct harness *h = start(dir);
	submit(h, job("noop", "SO-1#1", 5000));
	wait_results(h, 1);
	assert_int_equal(verdict(h, 0), DOCKET_RUNNER_FAIL);
	assert_has(reason(h, 0), "owned by uid 65534, not by root");
	finish(h);
	remove_copy(dir);
}

/* --- the runner's own bookkeeping ------------------------------------------ */

static void test_key_in_flight_until_settled(void **state)
{
	(void)state;
	struct harness *h = start(env("DOCKET_TEST_PLUGINS"));
	docket_err err = {0};
	json_t *j = job("noop", "SO-1#3", 5000);

	h->settle = false;
	assert_int_equal(docket_runner_submit(h->r, j, &err), 0);
	assert_int_equal(docket_runner_submit(h->r, j, &err), DOCKET_EEXIST);
	wait_results(h, 1);
	/* Delivered but not committed: the outbox still lists it. */
	assert_true(docket_runner_has(h->r, "SO-1#3"));
	assert_int_equal(docket_runner_active(h->r), 0);
	assert_int_equal(docket_runner_submit(h->r, j, &err), DOCKET_EEXIST);
	docket_runner_settled(h->r, "SO-1#3");
	assert_false(docket_runner_has(h->r, "SO-1#3"));
	assert_int_equal(docket_runner_submit(h->r, j, &err), 0);
	wait_results(h, 2);
	json_decref(j);
	finish(h);
}

static void test_malformed_jobs_refused(void **state)
{
	(void)state;
	struct harness *h = start(NULL);
	docket_err err = {0};
	json_t *j = job("../evil", "SO-1#3", 5000);
	assert_int_equal(docket_runner_submit(h->r, j, &err), DOCKET_EINVAL);
	assert_has(err.msg, "plugin");
	json_decref(j);
	j = job("noop", "SO-1#3", 5000);
	json_object_set_new(j, "fields", json_pack("{s:[i]}", "nested", 1));
	assert_int_equal(docket_runner_submit(h->r, j, &err), DOCKET_EINVAL);
	json_object_del(j, "fields");
	assert_int_equal(docket_runner_submit(h->r, j, &err), DOCKET_EINVAL);
	json_decref(j);
	assert_int_equal(docket_runner_active(h->r), 0);
	finish(h);
}

static void test_retry_waits_for_jitter(void **state)
{
	(void)state;
	struct harness *h = start(env("DOCKET_TEST_PLUGINS"));
	json_t *j = job("noop", "SO-1#3", 5000);

	/* Attempt 2 follows a backoff of 2 x 100 ms: up to 100 ms more. */
	json_object_set_new(j, "attempt", json_integer(2));
	json_object_set_new(j, "backoff_ms", json_integer(100));
	h->rnd = 80;
	submit(h, j);
	wait_results(h, 1);
	assert_int_equal(verdict(h, 0), DOCKET_RUNNER_EVENT);
	assert_true(json_integer_value(json_object_get(result(h, 0), "wait_us")) >= 80000);
	finish(h);
}

static void test_missing_host_binary_is_retry(void **state)
{
	(void)state;
	docket_runner_opts o = {.host_path = "/nonexistent/docket-plugin-host"};
	struct harness *h = start_with(&o);
	submit(h, job("noop", "SO-1#3", 5000));
	wait_results(h, 1);
	assert_int_equal(verdict(h, 0), DOCKET_RUNNER_RETRY);
	assert_has(reason(h, 0), "cannot start the plugin host");
	finish(h);
}

static void test_stop_with_a_job_running(void **state)
{
	(void)state;
	struct harness *h = start(NULL);
	submit(h, job("block", "SO-1#1", 60000));
	wait_log(h, "waiting for an answer");
	assert_has(h->log, "waiting for an answer");
	finish(h);      /* no result, every handle closed */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_noop_event),
		cmocka_unit_test(test_many_jobs_reuse_hosts),
		cmocka_unit_test(test_chatty_plugin_cannot_corrupt_protocol),
		cmocka_unit_test(test_segv_is_retried),
		cmocka_unit_test(test_abort_is_retried),
		cmocka_unit_test(test_exit_is_retried),
		cmocka_unit_test(test_hog_dies_alone),
		cmocka_unit_test(test_crash_loop_is_quarantined),
		cmocka_unit_test(test_crash_counts_are_per_plugin),
		cmocka_unit_test(test_loop_times_out_and_host_is_replaced),
		cmocka_unit_test(test_block_times_out),
		cmocka_unit_test(test_hung_plugin_does_not_hold_up_others),
		cmocka_unit_test(test_undeclared_event_fails),
		cmocka_unit_test(test_no_outcome_fails),
		cmocka_unit_test(test_wrong_abi_major_reports_only_that),
		cmocka_unit_test(test_wrong_info_size),
		cmocka_unit_test(test_failing_init),
		cmocka_unit_test(test_missing_plugin),
		cmocka_unit_test(test_group_writable_plugin_refused),
		cmocka_unit_test(test_foreign_owned_plugin_refused),
		cmocka_unit_test(test_key_in_flight_until_settled),
		cmocka_unit_test(test_malformed_jobs_refused),
		cmocka_unit_test(test_retry_waits_for_jitter),
		cmocka_unit_test(test_missing_host_binary_is_retry),
		cmocka_unit_test(test_stop_with_a_job_running),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
