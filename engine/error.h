/*
 * error.h - the one error convention of the engine.
 *
 * Every engine function returns 0 or a negative DOCKET_E* code and, when it
 * is given a docket_err, fills it with one line that says what was refused
 * and why.  The struct is plain storage owned by the caller: nothing in it
 * needs freeing, so callers keep one on the stack and never clean up twice.
 */
#ifndef DOCKET_ERROR_H
#define DOCKET_ERROR_H

#include <stddef.h>

enum {
	DOCKET_OK = 0,
	DOCKET_EINVAL = -1,     /* malformed input: a value, a request, a file */
	DOCKET_ENOENT = -2,     /* no such case, workflow, stage, field, user */
	DOCKET_EEXIST = -3,     /* already there */
	DOCKET_EPERM = -4,      /* the actor lacks a role the rule asks for */
	DOCKET_ESTATE = -5,     /* not allowed in the case's current stage */
	DOCKET_EGUARD = -6,     /* no transition's guard held */
	DOCKET_EREQUIRED = -7,  /* a required field is not set */
	DOCKET_ENOMEM = -8,
	DOCKET_EIO = -9,        /* the operating system refused (see message) */
	DOCKET_ESTORE = -10,    /* LMDB refused (see message) */
	DOCKET_ELIMIT = -11,    /* a documented limit was exceeded */
	DOCKET_ECORRUPT = -12,  /* stored data breaks an invariant */
	DOCKET_EPROTO = -13,    /* a peer spoke the protocol wrong */
	DOCKET_EBUSY = -14,     /* someone else holds it (a second daemon) */
	DOCKET_EUNAVAIL = -15,  /* the daemon is not running */
};

/* Longest message an error may carry; longer ones are cut, never overrun. */
#define DOCKET_ERR_MAX 512

typedef struct docket_err {
	int code;                   /* the DOCKET_E* code, 0 when clear */
	char msg[DOCKET_ERR_MAX];   /* one line: what, where, why */
} docket_err;

/* Fill err (which may be NULL) and return code, so callers can write
 * `return docket_err_set(err, DOCKET_EINVAL, "...", ...);`. */
int docket_err_set(docket_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix the message already in err with more context ("field 'qty': "). */
int docket_err_prefix(docket_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A short, static name for a code ("invalid input", "not permitted"). */
const char *docket_strerror(int code);

#endif
