/*
 * frame.c - length-prefixed JSON frames.  The reader keeps at most one
 * header plus one body of at most `max` bytes, so a client can never make
 * the daemon buffer more than that per connection.
 */
#include "frame.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

void docket_frame_reader_init(docket_frame_reader *r, size_t max)
{
	memset(r, 0, sizeof *r);
	r->max = max ? max : DOCKET_FRAME_MAX_DEFAULT;
}

void docket_frame_reader_free(docket_frame_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof *r);
}

int docket_frame_feed(docket_frame_reader *r, const void *data, size_t n)
{
	if (r->len + n > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		while (cap < r->len + n)
			cap *= 2;
		unsigned char *nb = realloc(r->buf, cap);
		if (!nb)
			return DOCKET_ENOMEM;
		r->buf = nb;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	return 0;
}

static uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int docket_frame_next(docket_frame_reader *r, json_t **msg, docket_err *err)
{
	json_error_t jerr;
	uint32_t n;

	*msg = NULL;
	if (r->len < 4)
		return 0;
	n = get_be32(r->buf);
	if (n > r->max)
		return docket_err_set(err, DOCKET_ELIMIT,
				      "frame of %u bytes is over the limit of %zu bytes", n, r->max);
	if (r->len < 4 + (size_t)n)
		return 0;
	/* jansson checks UTF-8 and refuses NUL bytes inside strings. */
	json_t *j = json_loadb((const char *)r->buf + 4, n, JSON_REJECT_DUPLICATES, &jerr);
	memmove(r->buf, r->buf + 4 + n, r->len - 4 - n);
	r->len -= 4 + n;
	if (!j)
		return docket_err_set(err, DOCKET_EPROTO, "bad JSON in frame at byte %d: %s",
				      jerr.position, jerr.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return docket_err_set(err, DOCKET_EPROTO, "a frame must hold a JSON object");
	}
	*msg = j;
	return 1;
}

/* The frame being built by one pass of the encoder. */
struct outbuf {
	unsigned char *p;
	size_t len, cap, max;       /* len counts the 4-byte header */
	bool over, nomem;
};

static int out_put(const char *b, size_t n, void *data)
{
	struct outbuf *o = data;

	if (o->len - 4 + n > o->max) {
		o->over = true;
		return -1;
	}
	if (o->len + n > o->cap) {
		size_t cap = o->cap;
		while (cap < o->len + n)
			cap *= 2;
		unsigned char *nb = realloc(o->p, cap);
		if (!nb) {
			o->nomem = true;
			return -1;
		}
		o->p = nb;
		o->cap = cap;
	}
	memcpy(o->p + o->len, b, n);
	o->len += n;
	return 0;
}

/* One pass over the message: encoding is a good part of what a reply
 * costs the daemon, so it is not measured first and written second. */
int docket_frame_encode(const json_t *msg, size_t max, unsigned char **out,
			size_t *len, docket_err *err)
{
	struct outbuf o = {.len = 4, .cap = 4096, .max = max ? max : DOCKET_FRAME_MAX_DEFAULT};
	size_t n;

	*out = NULL;
	if (!(o.p = malloc(o.cap)))
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	if (json_dump_callback(msg, out_put, &o, JSON_COMPACT) || o.len == 4) {
		free(o.p);
		if (o.nomem)
			return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
		if (o.over)
			return docket_err_set(err, DOCKET_ELIMIT,
				"reply is over the frame limit of %zu bytes", o.max);
		return docket_err_set(err, DOCKET_EINVAL, "message cannot be encoded");
	}
	n = o.len - 4;
	o.p[0] = (unsigned char)(n >> 24);
	o.p[1] = (unsigned char)(n >> 16);
	o.p[2] = (unsigned char)(n >> 8);
	o.p[3] = (unsigned char)n;
	*out = o.p;
	*len = o.len;
	return 0;
}

int docket_frame_write_fd(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}
