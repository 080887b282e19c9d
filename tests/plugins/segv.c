/* Fixture: dereferences NULL in its run (a crashing plugin). */
#include <docket/plugin.h>

DOCKET_PLUGIN("segv", "0", "crashes with SIGSEGV")

static int run(docket_run *r, const docket_host_api *api, void *state)
{
	(void)r;
	(void)api;
	*(volatile int *)state = 1;     /* state is NULL */
	return 0;
}

int docket_plugin_init(docket_plugin *p, const docket_host_api *api)
{
	return api->set_run(p, run, NULL, NULL);
}
