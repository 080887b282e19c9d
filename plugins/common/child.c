/*
 * child.c - posix_spawn with three pipes and a poll loop, so a program
 * that writes a lot before reading its input cannot deadlock with us.
 */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char **merged_env(char *const extra[])
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	while (extra && extra[k])
		k++;
	if (!(env = calloc(n + k + 1, sizeof *env)))
		return NULL;
	/* Ours first: getenv finds the first match. */
	for (size_t i = 0; i < k; i++)
		env[i] = extra[i];
	for (size_t i = 0; i < n; i++)
		env[k + i] = environ[i];
	return env;
}

static void line_out(char *buf, size_t *len, child_result *res, child_line_fn fn, void *ctx,
		     int flush)
{
	char *start = buf, *nl;

	while ((nl = memchr(start, '\n', *len - (size_t)(start - buf))) || (flush && start < buf + *len)) {
		size_t n = nl ? (size_t)(nl - start) : *len - (size_t)(start - buf);
		if (n) {
			snprintf(res->lasterr, sizeof res->lasterr, "%.*s", (int)n, start);
			if (fn)
				fn(ctx, res->lasterr);
		}
		start += n + (nl != NULL);
		if (!nl)
			break;
	}
	*len -= (size_t)(start - buf);
	memmove(buf, start, *len);
}

int child_run(char *const argv[], char *const env[], const char *input, size_t inlen,
	      size_t outmax, child_line_fn on_err, void *ctx, child_result *res,
	      char *err, size_t errlen)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	char **envp = NULL, ebuf[1024];
	size_t elen = 0, sent = 0, cap = 0;
	pid_t pid;
	int rc, ws;

	memset(res, 0, sizeof *res);
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(er, O_CLOEXEC) ||
	    !(envp = merged_env(env))) {
		snprintf(err, errlen, "cannot make pipes: %s", strerror(errno));
		goto fail;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, er[1], 2);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	free(envp);
	envp = NULL;
	if (rc) {
		snprintf(err, errlen, "cannot run %s: %s", argv[0], strerror(rc));
		goto fail;
	}
	close(in[0]);
	close(out[1]);
	close(er[1]);
	in[0] = out[1] = er[1] = -1;
	if (!inlen) {
		close(in[1]);
		in[1] = -1;
	}
	/* A program that exits without reading its input must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	while (out[0] >= 0 || er[0] >= 0) {
		struct pollfd p[3] = {{out[0], POLLIN, 0}, {er[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[2].revents) {
			ssize_t w = write(in[1], input + sent, inlen - sent);
			if (w > 0)
				sent += (size_t)w;
			if (w < 0 || sent == inlen) {
				close(in[1]);
				in[1] = -1;
			}
		}
		if (p[0].revents) {
			char buf[8192];
			ssize_t n = read(out[0], buf, sizeof buf);
			if (n <= 0) {
				close(out[0]);
				out[0] = -1;
			} else if (res->outlen + (size_t)n > outmax) {
				res->truncated = 1;
			} else {
				if (res->outlen + (size_t)n + 1 > cap) {
					cap = (res->outlen + (size_t)n + 1) * 2;
					char *nb = realloc(res->out, cap);
					if (!nb) {
						res->truncated = 1;
						continue;
					}
					res->out = nb;
				}
				memcpy(res->out + res->outlen, buf, (size_t)n);
				res->outlen += (size_t)n;
				res->out[res->outlen] = '\0';
			}
		}
		if (p[1].revents) {
			ssize_t n = read(er[0], ebuf + elen, sizeof ebuf - 1 - elen);
			if (n <= 0) {
				close(er[0]);
				er[0] = -1;
				line_out(ebuf, &elen, res, on_err, ctx, 1);
			} else {
				elen += (size_t)n;
				line_out(ebuf, &elen, res, on_err, ctx, elen == sizeof ebuf - 1);
			}
		}
	}
	if (in[1] >= 0)
		close(in[1]);
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	res->exited = WIFEXITED(ws);
	res->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 0;
	res->signal = WIFSIGNALED(ws) ? WTERMSIG(ws) : 0;
	return 0;
fail:
	free(envp);
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (er[i] >= 0)
			close(er[i]);
	}
	return -1;
}

void child_result_free(child_result *res)
{
	free(res->out);
	res->out = NULL;
}
