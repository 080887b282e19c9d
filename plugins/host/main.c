/*
 * main.c - docket-plugin-host: runs stage plugins on behalf of docketd.
 *
 *   docket-plugin-host --plugins DIR [--home DIR] [--memory MB] [--cpu SECONDS]
 *
 * The daemon spawns a few of these and sends them jobs, one frame at a time
 * on stdin; each job's outcome (and the plugin's log lines) go back as
 * frames on stdout (engine/hostproto.h).  Everything a plugin can do wrong
 * stays in this process:
 *
 *   - The protocol pipes are moved to descriptors of their own (close-on-
 *     exec, so programs a plugin starts never hold them) and fd 1 becomes
 *     a copy of stderr, fd 0 /dev/null: a plugin that prints or reads
 *     cannot corrupt or steal the protocol.
 *   - Address space is capped (RLIMIT_AS), so a plugin that allocates
 *     without bound fails or dies here, not the machine; CPU time is capped
 *     per job (RLIMIT_CPU, a backstop behind the daemon's timeout); no core
 *     files.
 *   - The host dies with the daemon (PR_SET_PDEATHSIG) and exits when its
 *     stdin closes, so no host outlives the daemon that started it.
 * The daemon kills and respawns a host that crashes or overruns a timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <jansson.h>

#include "frame.h"
#include "host.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#ifdef UNDER_ASAN
/* AddressSanitizer reserves terabytes of address space for its shadow, so
 * RLIMIT_AS cannot work under it; let its own RSS limit and allocator stand
 * in for the cap in sanitizer builds. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "hard_rss_limit_mb=768:allocator_may_return_null=1";
}
#endif

static int out_fd = -1;

/* Send one message to the daemon; a daemon that went away ends us. */
static void send_msg(json_t *msg)
{
	unsigned char *buf;
	size_t len;
	docket_err err;

	if (!msg)
		return;
	if (docket_frame_encode(msg, DOCKET_HOST_FRAME_MAX, &buf, &len, &err)) {
		fprintf(stderr, "docket-plugin-host: cannot send a message: %s\n", err.msg);
		json_decref(msg);
		return;
	}
	json_decref(msg);
	if (docket_frame_write_fd(out_fd, buf, len)) {
		free(buf);
		_exit(errno == EPIPE ? 0 : 1);
	}
	free(buf);
}

static void log_line(void *ctx, int64_t id, const char *plugin, int level, const char *msg)
{
	docket_host_log l = {.id = id, .level = level, .plugin = plugin, .message = msg};
	(void)ctx;
	send_msg(docket_hostproto_log(&l));
}

/* Move the protocol off fds 0 and 1 before any plugin is loaded. */
static int take_protocol_fds(int *in)
{
	int null;

	*in = fcntl(0, F_DUPFD_CLOEXEC, 3);
	out_fd = fcntl(1, F_DUPFD_CLOEXEC, 3);
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (*in < 0 || out_fd < 0 || null < 0 || dup2(null, 0) < 0 || dup2(2, 1) < 0)
		return -1;
	close(null);
	return 0;
}

static void limit_memory(long mb)
{
#ifndef UNDER_ASAN
	struct rlimit rl = {(rlim_t)mb << 20, (rlim_t)mb << 20};
	if (mb > 0 && setrlimit(RLIMIT_AS, &rl))
		fprintf(stderr, "docket-plugin-host: cannot cap memory at %ld MB: %s\n", mb,
			strerror(errno));
#else
	(void)mb;
#endif
}

/* Allow this job `secs` more seconds of CPU than used so far; past that
 * the kernel sends SIGXCPU and the host dies. */
static void limit_cpu(int64_t secs)
{
	struct rusage ru;
	struct rlimit rl;

	if (secs <= 0 || getrusage(RUSAGE_SELF, &ru) || getrlimit(RLIMIT_CPU, &rl))
		return;
	rlim_t soft = (rlim_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1 + secs);
	if (rl.rlim_max != RLIM_INFINITY && soft > rl.rlim_max)
		soft = rl.rlim_max;
	rl.rlim_cur = soft;
	setrlimit(RLIMIT_CPU, &rl);
}

static void handle(docket_phost *h, json_t *msg, long cpu_s)
{
	docket_host_msg m;
	docket_err err = {0};
	json_t *reply = NULL;

	if (docket_hostproto_decode(msg, &m, &err)) {
		fprintf(stderr, "docket-plugin-host: bad message from the daemon: %s\n", err.msg);
		exit(2);
	}
	switch (m.type) {
	case DOCKET_HMSG_RUN: {
		/* Twice the stage's timeout: the daemon kills us at the timeout
		 * itself; this only catches a host the daemon lost track of. */
		limit_cpu(m.job.timeout_ms > 0 ? (m.job.timeout_ms + 999) / 1000 * 2 : cpu_s);
		if (docket_phost_run(h, &m.job, &reply, &err)) {
			fprintf(stderr, "docket-plugin-host: %s\n", err.msg);
			exit(1);
		}
		break;
	}
	case DOCKET_HMSG_LIST: {
		json_t *arr;
		if (docket_phost_list(h, &arr, &err)) {
			fprintf(stderr, "docket-plugin-host: %s\n", err.msg);
			arr = json_array();
		}
		reply = json_pack("{s:s, s:o}", "type", "plugins", "plugins", arr);
		break;
	}
	default:
		fprintf(stderr, "docket-plugin-host: unexpected message type from the daemon\n");
		exit(2);
	}
	/* What a plugin printed goes out before its outcome, in order. */
	fflush(stdout);
	send_msg(reply);
}

static void usage(void)
{
	fprintf(stderr, "usage: docket-plugin-host --plugins DIR [--home DIR] [--memory MB] [--cpu SECONDS]\n"
			"Runs stage plugins for docketd; speaks framed JSON on stdin/stdout.\n");
}

int main(int argc, char **argv)
{
	docket_phost_opts o = {0};
	docket_frame_reader rd;
	docket_phost *h;
	docket_err err = {0};
	long memory_mb = 1024, cpu_s = 300;
	int in;

	/* Every option takes a value: they come in pairs. */
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v) {
			usage();
			return 2;
		}
		if (!strcmp(a, "--plugins"))
			o.plugins_dir = v;
		else if (!strcmp(a, "--home"))
			o.home = v;
		else if (!strcmp(a, "--memory"))
			memory_mb = strtol(v, NULL, 10);
		else if (!strcmp(a, "--cpu"))
			cpu_s = strtol(v, NULL, 10);
		else {
			usage();
			return 2;
		}
	}
	if (!o.plugins_dir) {
		usage();
		return 2;
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_IGN);
	if (take_protocol_fds(&in)) {
		fprintf(stderr, "docket-plugin-host: cannot set up the protocol pipes: %s\n", strerror(errno));
		return 1;
	}
	struct rlimit nocore = {0, 0};
	setrlimit(RLIMIT_CORE, &nocore);
	limit_memory(memory_mb);
	o.log = log_line;
	if (docket_phost_open(&o, &h, &err)) {
		fprintf(stderr, "docket-plugin-host: %s\n", err.msg);
		return 1;
	}
	docket_frame_reader_init(&rd, DOCKET_HOST_FRAME_MAX);
	for (;;) {
		unsigned char buf[65536];
		ssize_t n = read(in, buf, sizeof buf);
		json_t *msg;
		int rc;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (docket_frame_feed(&rd, buf, (size_t)n)) {
			fprintf(stderr, "docket-plugin-host: out of memory\n");
			return 1;
		}
		while ((rc = docket_frame_next(&rd, &msg, &err)) == 1) {
			handle(h, msg, cpu_s);
			json_decref(msg);
		}
		if (rc < 0) {
			fprintf(stderr, "docket-plugin-host: bad frame from the daemon: %s\n", err.msg);
			return 2;
		}
	}
	docket_frame_reader_free(&rd);
	docket_phost_close(h);
	return 0;
}
