/*
 * frame.h - the framing of the docketd protocol (docs/protocol.md): a
 * 4-byte big-endian length, then that many bytes of one JSON object.
 *
 * Pure byte handling, no sockets: the daemon feeds what libuv read, the
 * command line what read(2) returned, the fuzzer whatever it likes.  The
 * reader refuses an oversized frame from its header alone, before buffering
 * any of the body, so a 100 MB frame costs four bytes.
 */
#ifndef DOCKET_FRAME_H
#define DOCKET_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct json_t;

#define DOCKET_FRAME_MAX_DEFAULT (1u << 20)

typedef struct docket_frame_reader {
	unsigned char *buf;     /* owned; bytes received and not yet consumed */
	size_t len, cap;
	size_t max;             /* largest body accepted */
} docket_frame_reader;

/* Start a reader that accepts bodies up to max bytes (0: the default). */
void docket_frame_reader_init(docket_frame_reader *r, size_t max);
void docket_frame_reader_free(docket_frame_reader *r);

/* Append n received bytes.  Returns 0, or DOCKET_ENOMEM. */
int docket_frame_feed(docket_frame_reader *r, const void *data, size_t n);

/* Take the next complete frame.  Returns 1 and sets *msg (a new reference
 * the caller must json_decref) when one was complete, 0 when more bytes are
 * needed, DOCKET_ELIMIT when the header announces a body over the maximum,
 * DOCKET_EPROTO when the body is not one valid UTF-8 JSON object.  After an
 * error the stream cannot be resynchronised: close the connection. */
int docket_frame_next(docket_frame_reader *r, struct json_t **msg, docket_err *err);

/* Encode msg as one frame into a new buffer (*out, *len; free() it).
 * Returns 0, DOCKET_ENOMEM, or DOCKET_ELIMIT when it would exceed max. */
int docket_frame_encode(const struct json_t *msg, size_t max,
			unsigned char **out, size_t *len, docket_err *err);

/* Write all n bytes of an encoded frame to a blocking fd (pipes between
 * the daemon and a plugin host), retrying EINTR.  0, or -1 with errno. */
int docket_frame_write_fd(int fd, const unsigned char *p, size_t n);

#endif
