/* Fixture: emits an event its stage does not declare. */
#include <docket/plugin.h>

DOCKET_PLUGIN("undeclared", "0", "emits an undeclared event")

static int run(docket_run *r, const docket_host_api *api, void *state)
{
	(void)state;
	api->set_int(r, "quantity", 7);
	return api->emit(r, "teleported");
}

int docket_plugin_init(docket_plugin *p, const docket_host_api *api)
{
	return api->set_run(p, run, NULL, NULL);
}
