/* Fixture: built for a plugin ABI major this host does not speak.  The rest
 * of its block is deliberately nonsense: only the major may be reported. */
#include <docket/plugin.h>

DOCKET_PLUGIN_EXPORT const docket_plugin_info *docket_plugin_describe(void)
{
	static const docket_plugin_info info = {
		sizeof(docket_plugin_info), DOCKET_PLUGIN_ABI_MAJOR + 1, 99, 0xffff,
		"some-other-name", NULL, NULL,
	};
	return &info;
}

int docket_plugin_init(docket_plugin *p, const docket_host_api *api)
{
	(void)p;
	(void)api;
	return -1;      /* never called */
}
