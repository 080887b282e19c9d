/* Fixture: registers state, then fails its init.  The host must release
 * the state (the release sets DOCKET_TEST_RELEASED, which a test can see
 * in-process) and report the plugin's reason. */
#include <stdlib.h>

#include <docket/plugin.h>

DOCKET_PLUGIN("initfail", "0", "fails to start")

static int run(docket_run *r, const docket_host_api *api, void *state)
{
	(void)state;
	return api->emit(r, "never");
}

static void release(void *state)
{
	free(state);
	setenv("DOCKET_TEST_RELEASED", "initfail", 1);
}

int docket_plugin_init(docket_plugin *p, const docket_host_api *api)
{
	int rc = api->set_run(p, run, malloc(64), release);

	if (rc)
		return rc;
	api->init_error(p, "no licence key in %s", "the environment");
	return -1;
}
