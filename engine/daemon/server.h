/*
 * server.h - the Unix socket: connections, framing, replies in request
 * order, limits and backpressure.
 *
 * Each connection reads frames into a bounded reader, decodes each into an
 * exchange and keeps the exchanges in arrival order; replies go out in
 * that order whatever order they were ready in.  A connection stops being
 * read while it has too many requests outstanding or too many reply bytes
 * unsent (the client does not read), and resumes when they drain, so no
 * client can make the daemon buffer without bound.  Reads take turns
 * across connections (a few per connection per loop turn), so one client's
 * backlog does not become everyone's latency; the reads of a client that
 * hung up are dropped, not run.  A write error closes that connection only.
 */
#ifndef DOCKETD_SERVER_H
#define DOCKETD_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "dispatch.h"
#include "error.h"

#define DOCKETD_SOCKET_FILE "docketd.sock"
/* Reply bytes queued for a client before the daemon stops reading it. */
#define DOCKETD_UNSENT_MAX (4u << 20)
/* Requests of one connection decoded and not yet answered. */
#define DOCKETD_OUTSTANDING_MAX 256
/* Reads of one connection run per loop turn before the others' turn: one
 * `list` of 1000 cases is the longest another client waits for it. */
#define DOCKETD_TURN_READS 1
/* A reply may be larger than a request; past this it is refused. */
#define DOCKETD_REPLY_MAX (64u << 20)

typedef struct docketd_conn docketd_conn;

typedef struct docketd_server {
	uv_pipe_t listener;
	bool listening;
	uv_check_t resume;          /* accepts what a burst left for the next turn */
	bool resume_ready;
	unsigned burst;             /* connections accepted this turn */
	char *path;
	docketd_conn *conns;        /* every open connection */
	uv_check_t turn;            /* runs the waiting reads, round robin */
	uv_idle_t spin;             /* the loop polls, not waits, while reads wait */
	bool turn_ready;
	docketd_conn *ready, *ready_tail;   /* connections with a read waiting */
	size_t nready;
	size_t nconns;              /* served (counted against the limit) */
	size_t nopen;               /* open handles, refused ones too */
	uv_timer_t grace;           /* how long a stop waits for slow clients */
	bool grace_started;
	void (*all_closed)(docketd *d);
	uint64_t accepted, refused, idle_closed, protocol_errors, write_errors;
	uint64_t requests, paused;
	uint64_t dropped;           /* requests never run: their client hung up */
} docketd_server;

/* Bind HOME/docketd.sock (0660) and listen.  The caller holds the engine
 * lock, so a socket file already there is a stale one and is removed. */
int docketd_server_listen(docketd *d, docket_err *err);

/* A queued exchange got its reply (or was orphaned): send what is ready. */
void docketd_server_answered(docketd *d, docketd_exchange *x);

/* Stop accepting and stop reading requests; the socket file goes. */
void docketd_server_stop(docketd *d);

/* Send every reply still owed, then close each connection; cb runs when
 * the last one closed (connections that do not read are cut after a few
 * seconds). */
void docketd_server_close_all(docketd *d, void (*cb)(docketd *d));

/* {"connections","accepted","refused","idle_closed","protocol_errors",
 *  "write_errors","requests","paused","dropped"} */
json_t *docketd_server_status(const docketd *d);

#endif
