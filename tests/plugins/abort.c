/* Fixture: aborts in its run (a failed assertion). */
#include <stdlib.h>

#include <docket/plugin.h>

DOCKET_PLUGIN("abort", "0", "calls abort()")

static int run(docket_run *r, const docket_host_api *api, void *state)
{
	(void)r;
	(void)api;
	(void)state;
	abort();
}

int docket_plugin_init(docket_plugin *p, const docket_host_api *api)
{
	return api->set_run(p, run, NULL, NULL);
}
