/*
 * template - a stage plugin to copy and start from (docs/plugins.md).
 *
 * It checks a number field of the case against a limit from `with:` and
 * answers with one of two events, the way most automatic stages do:
 *
 *   action:
 *     plugin: template
 *     with: {field: order_total, limit: 10000, over: needs_approval, under: approved}
 *
 * Rename it (the file, the name in DOCKET_PLUGIN, the .so), change run(),
 * and build it out of tree with
 *
 *   cc -shared -fPIC -fvisibility=hidden $(pkg-config --cflags docket-plugin) \
 *      template.c -o template.so
 *
 * Everything a plugin may do goes through `api` (docket/plugin.h).  Keep no
 * state between runs that you cannot lose: the host may be killed at any
 * moment and the run tried again with the same api->key().
 */
#include <docket/plugin.h>

/* The info block the host checks before anything else. */
DOCKET_PLUGIN("template", "1.0.0", "compares a field with a limit (a template to start from)")

static int run(docket_run *r, const docket_host_api *api, void *state)
{
	const char *field = "order_total", *over = "over", *under = "under";
	double value, limit;
	(void)state;

	/* Configuration comes from the stage's `with:`; give defaults. */
	api->with_string(r, "field", &field);
	api->with_string(r, "over", &over);
	api->with_string(r, "under", &under);
	if (api->with_number(r, "limit", &limit))
		/* A mistake in the workflow: retrying will not help. */
		return api->fail(r, "template: with.limit must be a number");

	/* Case data, through typed getters. */
	if (api->field_number(r, field, &value))
		return api->fail(r, "template: the case has no number in '%s'", field);

	api->log(r, DOCKET_LOG_INFO, "%s is %.2f, limit %.2f", field, value, limit);

	/* Field changes travel with the event and are checked by the
	 * workflow like anyone else's. */
	/* api->set_string(r, "checked_by", "template"); */

	/* Exactly one outcome: an event the stage declares, retry or fail. */
	return api->emit(r, value > limit ? over : under);
}

/* Called once when the host loads the plugin: register the run. */
int docket_plugin_init(docket_plugin *plugin, const docket_host_api *api)
{
	return api->set_run(plugin, run, NULL, NULL);
}
