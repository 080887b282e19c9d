/* Fixture: calls exit(3) in its run, taking the host down politely. */
#include <stdlib.h>

#include <docket/plugin.h>

DOCKET_PLUGIN("exiter", "0", "exits the process")

static int run(docket_run *r, const docket_host_api *api, void *state)
{
	(void)r;
	(void)api;
	(void)state;
	exit(3);
}

int docket_plugin_init(docket_plugin *p, const docket_host_api *api)
{
	return api->set_run(p, run, NULL, NULL);
}
