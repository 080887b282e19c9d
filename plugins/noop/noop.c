/*
 * noop - emits the stage's first event and does nothing else.  It measures
 * what running a plugin costs (bench/), and stands in for a stage whose
 * automatic work is still to be written.
 */
#include <docket/plugin.h>

DOCKET_PLUGIN("noop", "1.0.0", "emits the stage's first event; for benchmarks and placeholders")

static int run(docket_run *r, const docket_host_api *api, void *state)
{
	const char *event = api->event_name(r, 0);

	(void)state;
	return api->emit(r, event ? event : "done");
}

int docket_plugin_init(docket_plugin *p, const docket_host_api *api)
{
	return api->set_run(p, run, NULL, NULL);
}
