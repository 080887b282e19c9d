/*
 * plugin_latency - time from a stage entry committed to its plugin's
 * outcome committed, through a running docketd and its plugin hosts.
 *
 *   build/engine/docketd --home /tmp/h --workflows bench/workflows \
 *       --plugins build/plugins &
 *   build/bench/plugin_latency --socket /tmp/h/docketd.sock --cases 500
 *
 * For each case, one after the other: `new plugin-noop` (its reply comes
 * once the creation, the entry into the action stage, is committed), then
 * `show` every 100 us until the case is in `end` (reads see only committed
 * state): the difference is entry committed -> outcome committed, within
 * the polling interval.  Prints the median, p90 and p99.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "dclient.h"

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static const char *stage_of(json_t *reply)
{
	return json_string_value(json_object_get(json_object_get(reply, "result"), "stage"));
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"cases", required_argument, NULL, 'n'},
		{0},
	};
	const char *sock = NULL;
	int n = 500, o;
	dclient c;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 's')
			sock = optarg;
		else if (o == 'n')
			n = atoi(optarg);
		else
			return 2;
	}
	if (!sock || n < 1) {
		fprintf(stderr, "usage: plugin_latency --socket PATH [--cases N]\n");
		return 2;
	}
	if (dclient_open(&c, sock)) {
		fprintf(stderr, "plugin_latency: cannot connect to %s\n", sock);
		return 1;
	}
	int64_t *lat = calloc((size_t)n, sizeof *lat);
	for (int i = 0; i < n; i++) {
		json_t *r = dclient_call(&c, NULL, "new", json_pack("{s:s}", "workflow", "plugin-noop"));
		int64_t t1 = now_us();
		const char *id = json_string_value(json_object_get(json_object_get(r, "result"), "id"));
		if (!id) {
			char *t = r ? json_dumps(r, 0) : NULL;
			fprintf(stderr, "plugin_latency: new failed: %s\n", t ? t : "no reply");
			return 1;
		}
		char cid[64];
		snprintf(cid, sizeof cid, "%s", id);
		json_decref(r);
		for (;;) {
			r = dclient_call(&c, NULL, "show", json_pack("{s:s}", "case", cid));
			const char *st = stage_of(r);
			int end = st && !strcmp(st, "end");
			json_decref(r);
			if (end)
				break;
			if (now_us() - t1 > 10000000) {
				fprintf(stderr, "plugin_latency: %s never reached end\n", cid);
				return 1;
			}
			struct timespec ts = {0, 100000};
			nanosleep(&ts, NULL);
		}
		lat[i] = now_us() - t1;
	}
	dclient_close(&c);
	qsort(lat, (size_t)n, sizeof *lat, cmp);
	printf("stage entry committed -> plugin outcome committed, %d cases one at a time:\n", n);
	printf("  median %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n", lat[n / 2] / 1000.0,
	       lat[n * 9 / 10] / 1000.0, lat[n * 99 / 100] / 1000.0, lat[n - 1] / 1000.0);
	free(lat);
	return 0;
}
