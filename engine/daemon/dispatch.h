/*
 * dispatch.h - one request of a connection, from decoded calls to its
 * reply: who acts (peer credentials, docket.yaml, `as`), reads answered at
 * once on the loop thread, writes handed to the group commit and answered
 * when it returns.
 */
#ifndef DOCKETD_DISPATCH_H
#define DOCKETD_DISPATCH_H

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

#include "commit.h"
#include "request.h"

typedef struct docketd docketd;

/* Who is on the other end of a connection, from SO_PEERCRED. */
typedef struct docketd_peer {
	uid_t uid;
	pid_t pid;
	char *name;                 /* login name, NULL when uid has none */
	bool admin;                 /* the daemon's own user */
} docketd_peer;

/* A request and its reply, in a connection's queue. */
typedef struct docketd_exchange docketd_exchange;
struct docketd_exchange {
	docketd_exchange *next;     /* the connection's queue */
	void *conn;                 /* the server's; NULL once it closed */
	docketd_request rq;
	json_t *reply;              /* set when answered */
	bool queued;                /* waiting for its commit */
	bool close_after;           /* close the connection after this reply */
	/* The dispatcher's. */
	docket_actor *actor;        /* one allocation with its strings */
	docketd_job job;
	docket_op *ops;
	size_t *opof;               /* call index -> index in ops */
};

/* Answer x: either now (x->reply is set on return) or, when it writes,
 * through the group commit (x->queued is set; once the commit returned,
 * x->reply is set and docketd_server_answered(d, x) called).  An unknown
 * user's request is answered `forbidden` with close_after set. */
void docketd_dispatch(docketd *d, docketd_exchange *x, const docketd_peer *peer);

/* A reply frame's object: {"id", "ok": true, "result"} (steals result). */
json_t *docketd_reply_ok(const json_t *id, json_t *result);
/* {"id", "ok": false, "error": {"code", "message"}}. */
json_t *docketd_reply_error(const json_t *id, int code, const char *msg);

void docketd_exchange_free(docketd_exchange *x);

#endif
