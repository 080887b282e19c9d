/*
 * dclient.c - see dclient.h.  Frames are decoded with the daemon's own
 * frame reader rules (docket_frame_next) so the tests exercise one
 * definition of the wire format.
 */
#include "dclient.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"

#define REPLY_MAX (64u << 20)

int dclient_open(dclient *c, const char *path)
{
	struct sockaddr_un sun;

	memset(c, 0, sizeof *c);
	c->next_id = 1;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strncpy(sun.sun_path, path, sizeof sun.sun_path - 1);
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		int e = errno;
		close(c->fd);
		c->fd = -1;
		return -e;
	}
	return 0;
}

void dclient_close(dclient *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
	c->len = c->cap = 0;
}

int dclient_send_raw(dclient *c, const void *p, size_t n)
{
	const char *s = p;

	while (n) {
		ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int dclient_send(dclient *c, const json_t *msg)
{
	unsigned char *buf;
	size_t len;
	int rc;

	if (docket_frame_encode(msg, REPLY_MAX, &buf, &len, NULL))
		return -EINVAL;
	rc = dclient_send_raw(c, buf, len);
	free(buf);
	return rc;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A whole frame in the buffer: 1 and *msg; 0 when more is needed. */
static int take(dclient *c, json_t **msg)
{
	if (c->len < 4)
		return 0;
	uint32_t n = (uint32_t)c->buf[0] << 24 | (uint32_t)c->buf[1] << 16 |
		     (uint32_t)c->buf[2] << 8 | c->buf[3];
	if (n > REPLY_MAX)
		return -EPROTO;
	if (c->len < 4 + (size_t)n)
		return 0;
	*msg = json_loadb((const char *)c->buf + 4, n, 0, NULL);
	memmove(c->buf, c->buf + 4 + n, c->len - 4 - n);
	c->len -= 4 + n;
	return *msg ? 1 : -EPROTO;
}

/* Room for one more read of 64 KiB: 0, or -1 when out of memory. */
static int room(dclient *c)
{
	if (c->cap - c->len >= 65536)
		return 0;
	size_t cap = c->cap ? c->cap * 2 : 131072;
	unsigned char *nb = realloc(c->buf, cap);
	if (!nb)
		return -1;
	c->buf = nb;
	c->cap = cap;
	return 0;
}

int dclient_fill(dclient *c)
{
	if (room(c))
		return -ENOMEM;
	ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
	if (r == 0)
		return -ECONNRESET;
	c->len += (size_t)r;
	return (int)r;
}

int dclient_take(dclient *c, json_t **msg)
{
	*msg = NULL;
	return take(c, msg);
}

int dclient_recv(dclient *c, json_t **msg, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;

	*msg = NULL;
	for (;;) {
		int rc = take(c, msg);
		if (rc)
			return rc;
		int64_t left = end - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		rc = poll(&p, 1, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -errno;
		if (rc == 0)
			return -ETIMEDOUT;
		if (room(c))
			return -ENOMEM;
		ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == ECONNRESET ? 0 : -errno;
		if (r == 0)
			return 0;
		c->len += (size_t)r;
	}
}

int dclient_wait_eof(dclient *c, int timeout_ms)
{
	json_t *m;
	int rc;

	while ((rc = dclient_recv(c, &m, timeout_ms)) == 1)
		json_decref(m);
	return rc == 0 ? 0 : rc;
}

json_t *dclient_request(dclient *c, const char *as, const char *op, json_t *args)
{
	json_t *req = json_pack("{s:i, s:s}", "id", c->next_id++, "op", op);

	if (args)
		json_object_set_new(req, "args", args);
	if (as)
		json_object_set_new(req, "as", json_string(as));
	return req;
}

json_t *dclient_call(dclient *c, const char *as, const char *op, json_t *args)
{
	json_t *req = dclient_request(c, as, op, args), *reply = NULL;

	if (dclient_send(c, req) == 0 && dclient_recv(c, &reply, DCLIENT_TIMEOUT_MS) != 1)
		reply = NULL;
	json_decref(req);
	return reply;
}
