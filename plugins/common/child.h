/*
 * child.h - running an outside program for a plugin (exec, notify): the
 * run's JSON on its stdin, its stdout collected, its stderr passed on a
 * line at a time.  The program is started with posix_spawn in its own
 * environment (the host's plus `env`), never through a shell, and
 * inherits none of the host's descriptors besides the three pipes (the
 * host opens everything close-on-exec).  A program that outlives its
 * stage's timeout dies with the host: the daemon kills the host's whole
 * process group.
 */
#ifndef DOCKET_CHILD_H
#define DOCKET_CHILD_H

#include <stddef.h>

typedef struct child_result {
	int exited;             /* 1: exited with `status`; 0: killed by `signal` */
	int status;
	int signal;
	char *out;              /* stdout, NUL-terminated (free it); NULL if none */
	size_t outlen;
	int truncated;          /* stdout was longer than the limit */
	char lasterr[512];      /* the last non-empty stderr line */
} child_result;

typedef void (*child_line_fn)(void *ctx, const char *line);

/* Run argv[0] (a path, or a name looked up in PATH) with input on stdin,
 * env (NULL-terminated "K=V" strings, may be NULL) added to the
 * environment.  stdout is kept up to outmax bytes.  Each stderr line goes
 * to on_err.  Returns 0 once the program ended (see res), or -1 with err
 * when it could not be started. */
int child_run(char *const argv[], char *const env[], const char *input, size_t inlen,
	      size_t outmax, child_line_fn on_err, void *ctx, child_result *res,
	      char *err, size_t errlen);

void child_result_free(child_result *res);

#endif
