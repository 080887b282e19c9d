/* Fixture: allocates and touches memory without bound, like a leak in a
 * loop.  It ignores a NULL from malloc the way careless code does. */
#include <stdlib.h>
#include <string.h>

#include <docket/plugin.h>

DOCKET_PLUGIN("hog", "0", "allocates without bound")

static int run(docket_run *r, const docket_host_api *api, void *state)
{
	(void)r;
	(void)api;
	(void)state;
	for (;;) {
		char *p = malloc(8 << 20);
		memset(p, 1, 8 << 20);
	}
	return 0;
}

int docket_plugin_init(docket_plugin *p, const docket_host_api *api)
{
	return api->set_run(p, run, NULL, NULL);
}
