/*
 * request.h - a protocol request decoded and checked (docs/protocol.md),
 * before anything runs.
 *
 * Decoding is a pure function of the JSON object a frame held: no socket,
 * no engine, no clock.  So it is fuzzed on its own, and the dispatcher
 * works only with calls whose arguments have the right types.
 */
#ifndef DOCKETD_REQUEST_H
#define DOCKETD_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "error.h"

typedef enum docketd_opcode {
	DOCKETD_OP_HELLO,
	DOCKETD_OP_STATUS,
	DOCKETD_OP_WORKFLOWS,
	DOCKETD_OP_PLUGINS,
	DOCKETD_OP_SHOW,
	DOCKETD_OP_LIST,
	DOCKETD_OP_HISTORY,
	DOCKETD_OP_STUCK,
	DOCKETD_OP_STATS,
	DOCKETD_OP_CHECK,
	DOCKETD_OP_INBOX,
	/* Writes: applied by the group commit. */
	DOCKETD_OP_NEW,
	DOCKETD_OP_ADVANCE,
	DOCKETD_OP_NOTE,
	DOCKETD_OP_ASSIGN,
	DOCKETD_OP_RETRY,
	/* Run alone, between two commits; never part of a batch. */
	DOCKETD_OP_RELOAD,
	DOCKETD_OP_BACKUP,
} docketd_opcode;

/* One operation with its arguments.  Strings and JSON point into the
 * request's message and live as long as it does. */
typedef struct docketd_call {
	docketd_opcode op;
	const char *name;           /* the op as sent, for messages */
	int code;                   /* 0, or why this call was refused */
	docket_err err;
	const char *workflow, *case_id, *event, *note, *user, *stage,
		   *assignee, *cursor, *path, *reply;
	const json_t *fields;       /* NULL when absent */
	bool mine, open_only, unassign, all;
	bool brief;                 /* a write answered {id, stage, seq} only */
	size_t limit;               /* 0: the engine's default */
} docketd_call;

typedef struct docketd_request {
	json_t *msg;                /* own reference to the whole request */
	const json_t *id;           /* echoed in the reply; NULL when absent */
	const char *as;             /* NULL: act as the caller */
	bool batch;
	docketd_call *calls;        /* ncalls of them; one unless batch */
	size_t ncalls;
} docketd_request;

/* Decode msg (the request takes its own reference).  Returns 0 when the
 * request is well formed; a call of it may still be refused on its own
 * (calls[i].code).  Returns DOCKET_EPROTO when it is not a request at all
 * (not an op or a batch, unknown keys, an id that is neither integer nor
 * string), DOCKET_ELIMIT for a batch over DOCKET_BATCH_MAX, DOCKET_ENOMEM;
 * then err says why and req->id is still set when the id could be read.
 * Free with docketd_request_free whatever the result. */
int docketd_request_decode(json_t *msg, docketd_request *req, docket_err *err);

void docketd_request_free(docketd_request *req);

/* Whether the call writes (goes through the group commit). */
bool docketd_call_writes(const docketd_call *c);

/* Whether the request must wait its turn in the commit queue: it writes,
 * or it is a reload or a backup. */
bool docketd_request_queues(const docketd_request *req);

/* The protocol's name of an error code: "invalid", "not_found", ... */
const char *docketd_code_name(int code);

#endif
