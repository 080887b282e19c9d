/* Fixture: returns without giving any outcome. */
#include <docket/plugin.h>

DOCKET_PLUGIN("silent", "0", "returns nothing")

static int run(docket_run *r, const docket_host_api *api, void *state)
{
	(void)state;
	api->set_string(r, "note", "forgot to emit");
	return 0;
}

int docket_plugin_init(docket_plugin *p, const docket_host_api *api)
{
	return api->set_run(p, run, NULL, NULL);
}
