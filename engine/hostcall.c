/*
 * hostcall.c - a plugin host for one request.  The request is written and
 * the host's stdin closed at once, so the host answers and exits; we read
 * frames until the answer, forwarding log lines, and kill the host's
 * process group when the deadline passes.
 */
#include "hostcall.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "hostproto.h"

extern char **environ;

const char *docket_hostcall_default_host(const char *installed, const char *tree)
{
	const char *env = getenv("DOCKET_PLUGIN_HOST");

	if (env && *env)
		return env;
	return access(installed, X_OK) == 0 ? installed : tree;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int spawn(const docket_hostcall_opts *o, pid_t *pid, int *to, int *from, docket_err *err)
{
	int in[2], out[2], rc;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	char *argv[8];
	int k = 0;

	if (pipe2(in, O_CLOEXEC))
		return docket_err_set(err, DOCKET_EIO, "pipe: %s", strerror(errno));
	if (pipe2(out, O_CLOEXEC)) {
		close(in[0]);
		close(in[1]);
		return docket_err_set(err, DOCKET_EIO, "pipe: %s", strerror(errno));
	}
	argv[k++] = (char *)o->host_path;
	argv[k++] = "--plugins";
	argv[k++] = (char *)o->plugins_dir;
	if (o->home) {
		argv[k++] = "--home";
		argv[k++] = (char *)o->home;
	}
	argv[k] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawnattr_init(&at);
	/* Its own process group: a kill reaches what its plugin started. */
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	rc = posix_spawn(pid, o->host_path, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(in[0]);
	close(out[1]);
	if (rc) {
		close(in[1]);
		close(out[0]);
		return docket_err_set(err, DOCKET_EIO, "cannot start the plugin host %s: %s",
				      o->host_path, strerror(rc));
	}
	*to = in[1];
	*from = out[0];
	return 0;
}

/* Wait for the host (killing it and its group first if asked). */
static int reap(pid_t pid, bool kill_it)
{
	int ws = 0;

	if (kill_it) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	return ws;
}

static int death(int ws, docket_err *err)
{
	if (WIFSIGNALED(ws))
		return docket_err_set(err, DOCKET_EIO, "the plugin crashed its host: signal %d (%s)",
				      WTERMSIG(ws), strsignal(WTERMSIG(ws)));
	return docket_err_set(err, DOCKET_EIO, "the plugin host exited with status %d before answering",
			      WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
}

/* 1: m was the answer, 0: a log line (forwarded), <0: nonsense. */
static int take(const docket_hostcall_opts *o, json_t *msg, docket_err *err)
{
	docket_host_msg m;
	docket_err derr = {0};

	if (docket_hostproto_decode(msg, &m, &derr))
		return docket_err_set(err, DOCKET_EPROTO, "the plugin host sent a bad message: %s", derr.msg);
	if (m.type == DOCKET_HMSG_LOG) {
		if (o->log)
			o->log(o->ctx, m.log.level, m.log.plugin, m.log.message);
		return 0;
	}
	if (m.type == DOCKET_HMSG_OUTCOME || m.type == DOCKET_HMSG_PLUGINS)
		return 1;
	return docket_err_set(err, DOCKET_EPROTO, "the plugin host sent an unexpected message");
}

int docket_hostcall(const docket_hostcall_opts *o, const json_t *request, json_t **reply,
		    docket_err *err)
{
	int64_t deadline = mono_ms() + (o->timeout_ms > 0 ? o->timeout_ms : 30000);
	docket_frame_reader rd;
	unsigned char *buf;
	size_t len;
	void (*old)(int);
	pid_t pid;
	int to = -1, from = -1, rc;

	*reply = NULL;
	if ((rc = docket_frame_encode(request, DOCKET_HOST_FRAME_MAX, &buf, &len, err)))
		return rc;
	if ((rc = spawn(o, &pid, &to, &from, err))) {
		free(buf);
		return rc;
	}
	/* A host that dies before reading must not take us with it. */
	old = signal(SIGPIPE, SIG_IGN);
	rc = docket_frame_write_fd(to, buf, len);
	signal(SIGPIPE, old);
	free(buf);
	close(to);
	docket_frame_reader_init(&rd, DOCKET_HOST_FRAME_MAX);
	int64_t limit = o->timeout_ms > 0 ? o->timeout_ms : 30000;
	bool done = false;
	rc = 0;
	while (!done) {
		struct pollfd p = {from, POLLIN, 0};
		int64_t left = deadline - mono_ms();
		unsigned char chunk[65536];
		json_t *msg;
		ssize_t n;

		if (left <= 0) {
			reap(pid, true);
			rc = docket_err_set(err, DOCKET_ELIMIT,
					    "no answer within %lld ms; the plugin host was killed",
					    (long long)limit);
			break;
		}
		if (poll(&p, 1, (int)(left > 60000 ? 60000 : left)) <= 0)
			continue;
		n = read(from, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = death(reap(pid, false), err);
			break;
		}
		if (docket_frame_feed(&rd, chunk, (size_t)n)) {
			reap(pid, true);
			rc = docket_err_set(err, DOCKET_ENOMEM, "out of memory");
			break;
		}
		while (!done && (rc = docket_frame_next(&rd, &msg, err)) == 1) {
			rc = take(o, msg, err);
			if (rc == 1) {
				*reply = msg;
				done = true;
				rc = 0;
				/* Answered: it exits on the closed stdin. */
				reap(pid, false);
			} else {
				json_decref(msg);
			}
			if (rc < 0)
				break;
		}
		if (rc < 0) {
			reap(pid, true);
			break;
		}
	}
	close(from);
	docket_frame_reader_free(&rd);
	return rc;
}
