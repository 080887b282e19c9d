/*
 * client.h - one connection to docketd: connect with a deadline, send
 * requests, read replies (docs/protocol.md).
 *
 * Nothing here waits without a limit: connecting, sending and every reply
 * share one deadline, so a wedged or absent daemon costs a clerk at most
 * the timeout, never a hung terminal.
 */
#ifndef DOCKET_CLI_CLIENT_H
#define DOCKET_CLI_CLIENT_H

#include <jansson.h>

#include "error.h"

#define CLI_TIMEOUT_DEFAULT_MS 30000
#define CLI_SOCKET_NAME "docketd.sock"
/* Replies may be larger than requests (a page of 1000 cases, a long
 * history): docs/protocol.md allows up to 64 MiB. */
#define CLI_REPLY_MAX (64u << 20)

typedef struct cli_conn cli_conn;

/* How long a whole call may take: DOCKET_TIMEOUT seconds (a positive
 * number, fractions allowed) or 30 s.  -1 when DOCKET_TIMEOUT is set but
 * is not such a number. */
int cli_timeout_ms(void);

/* Connect to HOME/docketd.sock.  The deadline starts now and covers every
 * later send and receive on the connection.  DOCKET_EUNAVAIL when no
 * daemon listens there (no socket, or a stale one), DOCKET_EIO for any
 * other failure (err says which); *out is then NULL. */
int cli_conn_open(const char *home, int timeout_ms, cli_conn **out, docket_err *err);

/* Send one request {"id", "op", "args", "as"}.  args (may be NULL) and as
 * (may be NULL) are borrowed.  Requests may be pipelined: replies come
 * back in order.  DOCKET_EIO, DOCKET_ELIMIT (over the frame limit). */
int cli_conn_send(cli_conn *c, const char *op, const json_t *args, const char *as,
		  docket_err *err);

/* Read the next reply, a new reference in *reply.  DOCKET_EIO when the
 * deadline passed or the daemon closed the connection, DOCKET_EPROTO when
 * what came back is not a reply. */
int cli_conn_recv(cli_conn *c, json_t **reply, docket_err *err);

void cli_conn_close(cli_conn *c);

#endif
