/*
 * test_phost.c - the plugin host's loading and API table, in-process: the
 * same code docket-plugin-host runs, without the process around it, so
 * each promise of docket/plugin.h is checked on its own.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "host.h"

static char logbuf[8192];

static void on_log(void *ctx, int64_t id, const char *plugin, int level, const char *msg)
{
	size_t n = strlen(logbuf);
	(void)ctx;
	(void)id;
	(void)level;
	snprintf(logbuf + n, sizeof logbuf - n, "%s: %s\n", plugin ? plugin : "-", msg);
}

static docket_phost *open_dir(const char *var)
{
	docket_phost_opts o = {.plugins_dir = getenv(var), .home = "/nonexistent-home", .log = on_log};
	docket_phost *h;
	docket_err err = {0};

	assert_non_null(o.plugins_dir);
	if (docket_phost_open(&o, &h, &err))
		fail_msg("%s", err.msg);
	logbuf[0] = '\0';
	return h;
}

/* Run plugin on a job whose stage declares go and stop; the outcome. */
static json_t *run(docket_phost *h, const char *plugin, json_t *fields, json_t *with)
{
	json_t *events = json_pack("[s, s]", "go", "stop"), *out;
	docket_host_job job = {
		.id = 7, .plugin = plugin, .case_id = "SO-1", .workflow = "wf", .stage = "s",
		.key = "SO-1#2", .attempt = 1, .now_ms = 1700000000000, .with = with,
		.fields = fields ? fields : json_object(), .events = events,
	};
	docket_err err = {0};

	if (docket_phost_run(h, &job, &out, &err))
		fail_msg("%s", err.msg);
	json_decref(events);
	if (!fields)
		json_decref((json_t *)job.fields);
	/* What the daemon receives must decode. */
	docket_host_msg m;
	assert_int_equal(docket_hostproto_decode(out, &m, &err), 0);
	assert_int_equal(m.type, DOCKET_HMSG_OUTCOME);
	assert_int_equal(m.outcome.id, 7);
	return out;
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

#define assert_has(hay, needle)                                                     \
	do {                                                                        \
		if (!strstr((hay), (needle)))                                       \
			fail_msg("'%s' not found in '%s'", (needle), (hay));        \
	} while (0)

static void test_noop_emits_first_event(void **state)
{
	(void)state;
	docket_phost *h = open_dir("DOCKET_TEST_PLUGINS");
	json_t *o = run(h, "noop", NULL, NULL);
	assert_string_equal(str(o, "outcome"), "event");
	assert_string_equal(str(o, "event"), "go");
	json_decref(o);
	/* Loaded once, run again from the cache. */
	o = run(h, "noop", NULL, NULL);
	assert_string_equal(str(o, "event"), "go");
	json_decref(o);
	docket_phost_close(h);
}

static void test_undeclared_event_fails_and_drops_changes(void **state)
{
	(void)state;
	docket_phost *h = open_dir("DOCKET_TEST_FIXTURES");
	json_t *o = run(h, "undeclared", NULL, NULL);
	assert_string_equal(str(o, "outcome"), "failed");
	assert_has(str(o, "reason"), "emitted event 'teleported', which stage 's' does not declare (it declares: go, stop)");
	assert_null(json_object_get(o, "fields"));
	json_decref(o);
	docket_phost_close(h);
}

static void test_no_outcome_fails(void **state)
{
	(void)state;
	docket_phost *h = open_dir("DOCKET_TEST_FIXTURES");
	json_t *o = run(h, "silent", NULL, NULL);
	assert_string_equal(str(o, "outcome"), "failed");
	assert_has(str(o, "reason"), "returned without an outcome");
	json_decref(o);
	docket_phost_close(h);
}

static void test_abi_major_checked_first(void **state)
{
	(void)state;
	docket_phost *h = open_dir("DOCKET_TEST_FIXTURES");
	json_t *o = run(h, "badmajor", NULL, NULL);
	assert_string_equal(str(o, "outcome"), "failed");
	assert_true(json_is_true(json_object_get(o, "load_error")));
	assert_has(str(o, "reason"), "plugin 'badmajor' was built for plugin ABI 2");
	/* Only that: not its odd name, minor or size. */
	assert_null(strstr(str(o, "reason"), "name"));
	assert_null(strstr(str(o, "reason"), "1.99"));
	json_decref(o);
	docket_phost_close(h);
}

static void test_info_size_checked(void **state)
{
	(void)state;
	docket_phost *h = open_dir("DOCKET_TEST_FIXTURES");
	json_t *o = run(h, "badsize", NULL, NULL);
	assert_has(str(o, "reason"), "plugin 'badsize': info block of 16 bytes; ABI 1 needs at least");
	json_decref(o);
	docket_phost_close(h);
}

static void test_failed_init_releases_and_reports(void **state)
{
	(void)state;
	docket_phost *h = open_dir("DOCKET_TEST_FIXTURES");
	unsetenv("DOCKET_TEST_RELEASED");
	json_t *o = run(h, "initfail", NULL, NULL);
	assert_string_equal(str(o, "outcome"), "failed");
	assert_has(str(o, "reason"), "plugin 'initfail' failed to start: no licence key in the environment");
	assert_non_null(getenv("DOCKET_TEST_RELEASED"));
	json_decref(o);
	/* Not cached: the next job tries again (and fails again). */
	unsetenv("DOCKET_TEST_RELEASED");
	o = run(h, "initfail", NULL, NULL);
	assert_non_null(getenv("DOCKET_TEST_RELEASED"));
	json_decref(o);
	docket_phost_close(h);
}

static void test_bad_names_never_reach_the_disk(void **state)
{
	(void)state;
	docket_phost *h = open_dir("DOCKET_TEST_FIXTURES");
	json_t *o = run(h, "../plugins/noop", NULL, NULL);
	assert_string_equal(str(o, "outcome"), "failed");
	assert_has(str(o, "reason"), "is not a plugin name");
	json_decref(o);
	docket_phost_close(h);
}

static void test_list_describes_each_plugin(void **state)
{
	(void)state;
	docket_phost *h = open_dir("DOCKET_TEST_FIXTURES");
	json_t *arr, *v;
	docket_err err = {0};
	size_t i;
	bool saw_ok = false, saw_bad = false;

	assert_int_equal(docket_phost_list(h, &arr, &err), 0);
	json_array_foreach(arr, i, v) {
		if (!strcmp(str(v, "name"), "recorder")) {
			saw_ok = true;
			assert_string_equal(str(v, "abi"), "1.0");
			assert_string_equal(str(v, "version"), "0");
		}
		if (!strcmp(str(v, "name"), "badmajor")) {
			saw_bad = true;
			assert_has(str(v, "error"), "ABI 2");
		}
	}
	assert_true(saw_ok && saw_bad);
	json_decref(arr);
	docket_phost_close(h);
}

static void test_untrusted_directory_refused(void **state)
{
	(void)state;
	docket_phost_opts o = {.plugins_dir = "/tmp"};
	docket_phost *h;
	docket_err err = {0};

	assert_int_equal(docket_phost_open(&o, &h, &err), DOCKET_EPERM);
	assert_has(err.msg, "world-writable");
	assert_null(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_noop_emits_first_event),
		cmocka_unit_test(test_undeclared_event_fails_and_drops_changes),
		cmocka_unit_test(test_no_outcome_fails),
		cmocka_unit_test(test_abi_major_checked_first),
		cmocka_unit_test(test_info_size_checked),
		cmocka_unit_test(test_failed_init_releases_and_reports),
		cmocka_unit_test(test_bad_names_never_reach_the_disk),
		cmocka_unit_test(test_list_describes_each_plugin),
		cmocka_unit_test(test_untrusted_directory_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
