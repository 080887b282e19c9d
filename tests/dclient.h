/*
 * dclient.h - a small blocking client of the docketd protocol, for the
 * integration tests and the load generator.  Built on frame.h, with a
 * timeout on every wait so a test never hangs on a daemon that went quiet.
 */
#ifndef DOCKET_DCLIENT_H
#define DOCKET_DCLIENT_H

#include <stddef.h>

#include <jansson.h>

#define DCLIENT_TIMEOUT_MS 30000

typedef struct dclient {
	int fd;
	unsigned char *buf;     /* bytes received, not yet a whole frame */
	size_t len, cap;
	int next_id;
} dclient;

/* Connect to the socket at path.  Returns 0 or -errno. */
int dclient_open(dclient *c, const char *path);
void dclient_close(dclient *c);

/* Send one frame holding msg.  Returns 0 or -errno. */
int dclient_send(dclient *c, const json_t *msg);
/* Send raw bytes (for malformed frames). */
int dclient_send_raw(dclient *c, const void *p, size_t n);

/* Wait up to timeout_ms for one whole frame: 1 and *msg (a new reference),
 * 0 when the daemon closed the connection, -ETIMEDOUT, or -errno. */
int dclient_recv(dclient *c, json_t **msg, int timeout_ms);

/* For callers that poll many connections, without waiting: one read of
 * what has arrived (the bytes read, 0 when none were there, -ECONNRESET
 * when the daemon closed the connection, or -errno), and a whole frame of
 * those received (1 and *msg, 0 when none is complete, or -EPROTO). */
int dclient_fill(dclient *c);
int dclient_take(dclient *c, json_t **msg);

/* Wait for the daemon to close the connection, discarding frames: 0 when it
 * did, -ETIMEDOUT when it did not in time. */
int dclient_wait_eof(dclient *c, int timeout_ms);

/* {"id": next, "op": op, "args": args (stolen, may be NULL), "as": as}
 * sent and its reply returned (NULL on error or timeout). */
json_t *dclient_call(dclient *c, const char *as, const char *op, json_t *args);

/* A request object like dclient_call sends (args stolen). */
json_t *dclient_request(dclient *c, const char *as, const char *op, json_t *args);

#endif
