/* Fixture: writes to stdout (printf, and write(1) directly), then answers
 * properly.  The protocol must come through intact. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <docket/plugin.h>

DOCKET_PLUGIN("chatty", "0", "prints to stdout")

static int run(docket_run *r, const docket_host_api *api, void *state)
{
	static const char raw[] = "\x00\x00\x00\x05{bad}raw bytes on fd 1\n";
	(void)state;
	printf("hello from chatty on %s\n", api->case_id(r));
	fflush(stdout);
	if (write(1, raw, sizeof raw - 1) < 0)
		return -1;
	printf("unflushed line\n");
	return api->emit(r, api->event_name(r, 0));
}

int docket_plugin_init(docket_plugin *p, const docket_host_api *api)
{
	return api->set_run(p, run, NULL, NULL);
}
