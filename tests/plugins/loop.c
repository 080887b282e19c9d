/* Fixture: spins on the CPU forever. */
#include <docket/plugin.h>

DOCKET_PLUGIN("loop", "0", "loops forever")

static int run(docket_run *r, const docket_host_api *api, void *state)
{
	volatile unsigned long n = 0;
	(void)r;
	(void)api;
	(void)state;
	for (;;)
		n++;
	return 0;
}

int docket_plugin_init(docket_plugin *p, const docket_host_api *api)
{
	return api->set_run(p, run, NULL, NULL);
}
