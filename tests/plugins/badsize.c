/* Fixture: an info block shorter than ABI 1's (built from a mangled
 * header); only the size may be reported. */
#include <docket/plugin.h>

DOCKET_PLUGIN_EXPORT const docket_plugin_info *docket_plugin_describe(void)
{
	static const docket_plugin_info info = {
		16, DOCKET_PLUGIN_ABI_MAJOR, 0, 0, "badsize", "0", NULL,
	};
	return &info;
}

int docket_plugin_init(docket_plugin *p, const docket_host_api *api)
{
	(void)p;
	(void)api;
	return -1;      /* never called */
}
