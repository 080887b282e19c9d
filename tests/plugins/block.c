/* Fixture: blocks forever without using the CPU (a hung network call). */
#include <unistd.h>

#include <docket/plugin.h>

DOCKET_PLUGIN("block", "0", "blocks forever")

static int run(docket_run *r, const docket_host_api *api, void *state)
{
	(void)state;
	api->log(r, DOCKET_LOG_INFO, "waiting for an answer that never comes");
	for (;;)
		pause();
	return 0;
}

int docket_plugin_init(docket_plugin *p, const docket_host_api *api)
{
	return api->set_run(p, run, NULL, NULL);
}
