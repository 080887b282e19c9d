/* Fixture for restart tests: appends "KEY ATTEMPT HOSTPID" to the file
 * named by with.log, waits with.sleep_ms, then emits the stage's first
 * event (or with.event).  A run killed in its wait has left its key
 * behind, so a test can see the same key come back after a restart; the
 * host's pid tells which runs overlapped on different hosts. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <docket/plugin.h>

DOCKET_PLUGIN("recorder", "0", "records each run's key, then answers")

static int run(docket_run *r, const docket_host_api *api, void *state)
{
	const char *log = NULL, *event = NULL;
	int64_t ms = 0;
	char line[256];
	(void)state;

	api->with_string(r, "log", &log);
	api->with_int(r, "sleep_ms", &ms);
	if (api->with_string(r, "event", &event))
		event = api->event_name(r, 0);
	if (log) {
		int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		int n = snprintf(line, sizeof line, "%s %u %ld\n", api->key(r), api->attempt(r),
				 (long)getpid());
		if (fd < 0 || write(fd, line, (size_t)n) != n)
			return api->retry(r, "cannot write %s", log);
		close(fd);
	}
	if (ms > 0) {
		struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
		nanosleep(&ts, NULL);
	}
	return api->emit(r, event ? event : "done");
}

int docket_plugin_init(docket_plugin *p, const docket_host_api *api)
{
	return api->set_run(p, run, NULL, NULL);
}
