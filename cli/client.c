/*
 * client.c - the command line's side of the docketd protocol.
 *
 * A blocking socket with SO_SNDTIMEO bounds connect() (Linux waits on a
 * full listen backlog for the send timeout) and every send(); replies are
 * read with poll() against the same deadline.  MSG_NOSIGNAL keeps a daemon
 * that vanishes mid-request from killing us with SIGPIPE: we report it.
 */
#include "client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"

struct cli_conn {
	int fd;
	int64_t deadline_ms;    /* CLOCK_MONOTONIC */
	int timeout_ms;
	long next_id;
	docket_frame_reader rd;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t left_ms(const cli_conn *c)
{
	int64_t l = c->deadline_ms - mono_ms();
	return l > 0 ? l : 0;
}

int cli_timeout_ms(void)
{
	const char *s = getenv("DOCKET_TIMEOUT");
	char *end;

	if (!s || !*s)
		return CLI_TIMEOUT_DEFAULT_MS;
	double v = strtod(s, &end);
	if (*end || !(v > 0) || v > 86400 * 7)
		return -1;
	return v * 1000 < 1 ? 1 : (int)(v * 1000);
}

/* Bound the blocking calls still to come by what is left of the deadline. */
static void arm_timeout(cli_conn *c)
{
	int64_t l = left_ms(c);
	struct timeval tv = {(time_t)(l / 1000), (suseconds_t)(l % 1000) * 1000};

	if (!tv.tv_sec && !tv.tv_usec)
		tv.tv_usec = 1000;  /* zero would mean "wait forever" */
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

int cli_conn_open(const char *home, int timeout_ms, cli_conn **out, docket_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	cli_conn *c;

	*out = NULL;
	if ((size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", home, CLI_SOCKET_NAME) >=
	    sizeof sa.sun_path)
		return docket_err_set(err, DOCKET_EIO, "the home path %s is too long for a socket "
				      "(at most %zu bytes)", home,
				      sizeof sa.sun_path - sizeof CLI_SOCKET_NAME - 1);
	c = calloc(1, sizeof *c);
	if (!c)
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	c->timeout_ms = timeout_ms;
	c->deadline_ms = mono_ms() + timeout_ms;
	c->next_id = 1;
	docket_frame_reader_init(&c->rd, CLI_REPLY_MAX);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		docket_err_set(err, DOCKET_EIO, "cannot create a socket: %s", strerror(errno));
		goto err;
	}
	arm_timeout(c);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		if (e == ENOENT || e == ECONNREFUSED || e == ENOTDIR)
			docket_err_set(err, DOCKET_EUNAVAIL, "docketd is not running on %s", home);
		else if (e == EAGAIN || e == EWOULDBLOCK || e == EINPROGRESS)
			docket_err_set(err, DOCKET_EIO, "docketd on %s did not accept the connection "
				       "within %g s", home, timeout_ms / 1000.0);
		else if (e == EACCES || e == EPERM)
			docket_err_set(err, DOCKET_EIO, "no permission to connect to %s (ask for the "
				       "group that owns it)", sa.sun_path);
		else
			docket_err_set(err, DOCKET_EIO, "cannot connect to %s: %s", sa.sun_path,
				       strerror(e));
		goto err;
	}
	*out = c;
	return 0;
err:
	cli_conn_close(c);
	return err ? err->code : DOCKET_EIO;
}

void cli_conn_close(cli_conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	docket_frame_reader_free(&c->rd);
	free(c);
}

int cli_conn_send(cli_conn *c, const char *op, const json_t *args, const char *as,
		  docket_err *err)
{
	json_t *req = json_pack("{s:I, s:s}", "id", (json_int_t)c->next_id++, "op", op);
	unsigned char *buf = NULL;
	size_t len = 0, off = 0;
	int rc;

	if (!req)
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	if (args)
		json_object_set(req, "args", (json_t *)args);
	if (as)
		json_object_set_new(req, "as", json_string(as));
	rc = docket_frame_encode(req, 0, &buf, &len, err);
	json_decref(req);
	if (rc)
		return rc;
	arm_timeout(c);
	while (off < len) {
		ssize_t n = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			rc = docket_err_set(err, DOCKET_EIO, "docketd did not take the request "
					    "within %g s", c->timeout_ms / 1000.0);
			break;
		}
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
			rc = docket_err_set(err, DOCKET_EIO, "docketd closed the connection "
					    "before replying (its log says why)");
			break;
		}
		if (n < 0) {
			rc = docket_err_set(err, DOCKET_EIO, "sending the request failed: %s",
					    strerror(errno));
			break;
		}
		off += (size_t)n;
	}
	free(buf);
	return rc;
}

int cli_conn_recv(cli_conn *c, json_t **reply, docket_err *err)
{
	unsigned char buf[16384];
	int rc;

	*reply = NULL;
	while ((rc = docket_frame_next(&c->rd, reply, err)) == 0) {
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		int64_t l = left_ms(c);
		int n = l ? poll(&p, 1, (int)l) : 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return docket_err_set(err, DOCKET_EIO, "no reply from docketd within %g s "
					      "(DOCKET_TIMEOUT sets the limit)", c->timeout_ms / 1000.0);
		ssize_t r = n < 0 ? -1 : recv(c->fd, buf, sizeof buf, 0);
		if (r < 0 && errno == EINTR)
			continue;
		/* A reset is a hang-up with our later requests still unread. */
		if (r < 0 && errno == ECONNRESET)
			r = 0;
		if (r < 0)
			return docket_err_set(err, DOCKET_EIO, "reading the reply failed: %s",
					      strerror(errno));
		if (r == 0)
			return docket_err_set(err, DOCKET_EIO, "docketd closed the connection "
					      "before replying (its log says why)");
		if (docket_frame_feed(&c->rd, buf, (size_t)r))
			return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	}
	if (rc < 0)
		return docket_err_prefix(err, "docketd's reply: ");
	return 0;
}
