/* docket.yaml: users and roles, limits with their defaults, every mistake
 * at its line and column, and the template a new home starts with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/settings.h"

static char dir[64];

static int make_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/docket-settings-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char path[128];
	(void)state;
	snprintf(path, sizeof path, "%s/docket.yaml", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/docket.yaml.new", dir);
	unlink(path);
	return rmdir(dir);
}

/* Write text as docket.yaml and load it. */
static int load(const char *text, docketd_config **cfg, docket_diags *d)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof path, "%s/docket.yaml", dir);
	if (text) {
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(text, f);
		fclose(f);
	} else {
		unlink(path);
	}
	docket_diags_init(d, "docket.yaml");
	return docketd_config_load(path, cfg, d);
}

/* The first diagnostic, as it would be printed. */
static const char *first(docket_diags *d, char *buf, size_t size)
{
	assert_true(d->n > 0);
	snprintf(buf, size, "%d:%d: %s%s%s", d->v[0].line, d->v[0].col, d->v[0].msg,
		 d->v[0].hint ? " - " : "", d->v[0].hint ? d->v[0].hint : "");
	return buf;
}

static void users_roles_and_limits(void **state)
{
	(void)state;
	docketd_config *cfg;
	docket_diags d;

	assert_int_equal(load("users:\n  alice: [sales]\n  bob: [finance, legal]\n  carol: []\n"
			      "max_frame: 4096\nmax_connections: 10\nidle_timeout: 30s\n"
			      "map_size: 131072\nplugin_hosts: 4\nplugin_memory_mb: 256\n",
			      &cfg, &d), 0);
	assert_int_equal(cfg->nusers, 3);
	const docketd_user *bob = docketd_config_user(cfg, "bob");
	assert_non_null(bob);
	assert_int_equal(bob->nroles, 2);
	assert_string_equal(bob->roles[1], "legal");
	assert_int_equal(docketd_config_user(cfg, "carol")->nroles, 0);
	assert_null(docketd_config_user(cfg, "dave"));
	assert_int_equal(cfg->max_frame, 4096);
	assert_int_equal(cfg->max_connections, 10);
	assert_int_equal(cfg->idle_timeout_ms, 30000);
	assert_int_equal(cfg->map_size, 131072);
	assert_int_equal(cfg->plugin_hosts, 4);
	assert_int_equal(cfg->plugin_memory_mb, 256);
	docketd_config_free(cfg);
	docket_diags_free(&d);
}

static void defaults_when_left_out(void **state)
{
	(void)state;
	docketd_config *cfg;
	docket_diags d;

	assert_int_equal(load("", &cfg, &d), 0);
	assert_int_equal(cfg->nusers, 0);
	assert_int_equal(cfg->max_frame, 1u << 20);
	assert_int_equal(cfg->max_connections, DOCKETD_MAX_CONNECTIONS_DEFAULT);
	assert_int_equal(cfg->idle_timeout_ms, 300000);
	assert_int_equal(cfg->map_size, 0);
	assert_int_equal(cfg->plugin_hosts, DOCKETD_PLUGIN_HOSTS_DEFAULT);
	assert_int_equal(cfg->plugin_memory_mb, DOCKETD_PLUGIN_MEMORY_DEFAULT_MB);
	docketd_config_free(cfg);
	docket_diags_free(&d);
	/* A missing file is not an error of the file. */
	assert_int_equal(load(NULL, &cfg, &d), DOCKET_ENOENT);
	assert_null(cfg);
	docket_diags_free(&d);
}

static void mistakes_at_their_place(void **state)
{
	(void)state;
	static const struct { const char *text, *says; } cases[] = {
		{"users:\n  alice: sales\n", "2:10: roles of user 'alice' must be a list"},
		{"users:\n  alice: [sales]\nmax_conections: 5\n",
		 "3:1: unknown key 'max_conections'"},
		{"users:\n  al ice: [sales]\n", "2:3: 'al ice' is not a user name"},
		{"users:\n  system: [sales]\n", "2:3: 'system' is the name timers"},
		{"users:\n  alice: [sales, [x]]\n", "2:18: a role of user 'alice'"},
		{"idle_timeout: 5 minutes\n", "1:15: idle_timeout:"},
		{"idle_timeout: 300\n", "1:15: 'idle_timeout' must be a duration"},
		{"max_frame: 10\n", "1:12: 'max_frame' must be a whole number from 1024"},
		{"map_size: 4096\n", "1:11: 'map_size' must be a whole number from 65536"},
		{"max_connections: lots\n", "1:18: 'max_connections' must be a whole number"},
		{"plugin_hosts: 0\n", "1:15: 'plugin_hosts' must be a whole number from 1 to 64"},
		{"plugin_memory_mb: 8\n", "1:19: 'plugin_memory_mb' must be a whole number from 64"},
		{"plugin_host: 4\n", "1:1: unknown key 'plugin_host' (docket.yaml knows"},
		{"- alice\n", "1:1: docket.yaml must be a mapping"},
		{"users: [alice]\n", "1:8: 'users' must map each user name"},
	};
	char buf[512];

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		docketd_config *cfg;
		docket_diags d;
		assert_int_equal(load(cases[i].text, &cfg, &d), DOCKET_EINVAL);
		assert_null(cfg);
		if (!strstr(first(&d, buf, sizeof buf), cases[i].says)) {
			print_error("%s: got '%s', want '%s'\n", cases[i].text, buf, cases[i].says);
			fail();
		}
		docket_diags_free(&d);
	}
	/* The likely key is suggested. */
	docketd_config *cfg;
	docket_diags d;
	assert_int_equal(load("max_conections: 5\n", &cfg, &d), DOCKET_EINVAL);
	assert_non_null(strstr(first(&d, buf, sizeof buf), "did you mean 'max_connections'?"));
	docket_diags_free(&d);
}

static void the_template_loads_with_no_users(void **state)
{
	(void)state;
	char path[128];
	docket_err err;
	docketd_config *cfg;
	docket_diags d;

	snprintf(path, sizeof path, "%s/docket.yaml", dir);
	unlink(path);
	assert_int_equal(docketd_config_write_template(path, &err), 0);
	/* Never over a file someone wrote. */
	assert_int_equal(docketd_config_write_template(path, &err), DOCKET_EEXIST);
	docket_diags_init(&d, path);
	assert_int_equal(docketd_config_load(path, &cfg, &d), 0);
	assert_int_equal(cfg->nusers, 0);
	assert_int_equal(d.n, 0);
	docketd_config_free(cfg);
	docket_diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(users_roles_and_limits),
		cmocka_unit_test(defaults_when_left_out),
		cmocka_unit_test(mistakes_at_their_place),
		cmocka_unit_test(the_template_loads_with_no_users),
	};
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
