/*
 * server.c - connections on HOME/docketd.sock.
 *
 * A connection's exchanges form one queue in arrival order.  Three things
 * move it along (progress()): complete frames are taken from the reader
 * and decoded; exchanges are dispatched in order, except that a read
 * waits while a write of the same connection before it is still
 * committing (so a client that pipelines `advance` then `show` sees its
 * own write); and replies at the head are written as soon as they are
 * ready.  Frames are taken only while the connection has fewer than
 * DOCKETD_OUTSTANDING_MAX exchanges and under DOCKETD_UNSENT_MAX reply
 * bytes in flight, and the socket is read only then: that is the
 * backpressure, and it bounds what one client can make the daemon hold.
 *
 * Reads run on the loop thread, so they take turns: a read runs only in
 * the check phase (turn_cb), at most DOCKETD_TURN_READS of each waiting
 * connection per loop turn, round robin, and only while that connection
 * has under DOCKETD_UNSENT_MAX reply bytes unsent.  One client's backlog
 * thus costs every other client at most one of its reads per turn, never
 * the whole backlog.  Writes are only queued for the group commit and go
 * there at once.
 *
 * Exchanges still waiting for a commit when their connection closes are
 * orphaned (conn = NULL) and freed when the commit returns; nothing else
 * outlives its connection: reads not yet run are dropped (counted), so a
 * client that pipelines and hangs up costs nothing more.  A connection is
 * freed in the close callback of the last of its two handles.
 */
#include "server.h"

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "docketd.h"
#include "frame.h"
#include "log.h"

#define GRACE_MS 5000

struct docketd_conn {
	uv_pipe_t pipe;
	uv_timer_t idle;
	docketd *d;
	docketd_conn *prev, *next;
	docketd_conn *rprev, *rnext;    /* the server's ready list */
	docket_frame_reader rd;
	docketd_peer peer;
	docketd_exchange *head, *tail;  /* not yet written, in arrival order */
	docketd_exchange *next_run;     /* first not yet dispatched */
	size_t outstanding;             /* exchanges in the queue */
	size_t queued;                  /* of those, waiting for a commit */
	size_t unsent;                  /* reply bytes given to uv_write */
	int handles;                    /* open handles: freed at 0 */
	bool counted;                   /* counts against max_connections */
	bool reading;
	bool ready;                     /* on the ready list: a read waits */
	bool eof;                       /* the peer sent no more */
	bool no_more;                   /* take no more requests */
	bool shutting;
	bool closing;
};

typedef struct wreq {
	uv_write_t req;
	docketd_conn *c;
	size_t len;
	unsigned char *buf;
} wreq;

static char rbuf[65536];    /* reads are consumed before the next one */

static void progress(docketd_conn *c);
static void conn_close(docketd_conn *c);
static void abandon(docketd_conn *c);
static void turn_cb(uv_check_t *h);
static void spin_cb(uv_idle_t *h);

static const char *who(const docketd_conn *c)
{
	return c->peer.name ? c->peer.name : "(no user name)";
}

static docketd_exchange *exchange_new(docketd_conn *c)
{
	docketd_exchange *x = calloc(1, sizeof *x);

	if (!x)
		return NULL;
	x->conn = c;
	if (c->tail)
		c->tail->next = x;
	else
		c->head = x;
	c->tail = x;
	if (!c->next_run)
		c->next_run = x;
	c->outstanding++;
	return x;
}

/* An answer that needs no dispatch: a refusal of the frame itself. */
static void refuse(docketd_conn *c, int code, const char *msg, bool close_after)
{
	docketd_exchange *x = exchange_new(c);

	if (!x) {
		conn_close(c);
		return;
	}
	x->reply = docketd_reply_error(NULL, code, msg);
	x->close_after = close_after;
	if (close_after)
		c->no_more = true;
}

/* --- reading ------------------------------------------------------------ */

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	(void)h;
	(void)hint;
	buf->base = rbuf;
	buf->len = sizeof rbuf;
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static bool may_take(const docketd_conn *c)
{
	return !c->no_more && !c->closing && c->outstanding < DOCKETD_OUTSTANDING_MAX &&
	       c->unsent < DOCKETD_UNSENT_MAX;
}

static void set_reading(docketd_conn *c)
{
	bool want = may_take(c) && !c->d->stopping;

	if (want == c->reading || c->closing)
		return;
	if (want) {
		if (uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb) == 0)
			c->reading = true;
	} else {
		uv_read_stop((uv_stream_t *)&c->pipe);
		c->reading = false;
		if (c->outstanding >= DOCKETD_OUTSTANDING_MAX || c->unsent >= DOCKETD_UNSENT_MAX) {
			c->d->srv.paused++;
			docketd_debug("pausing %s: %zu requests and %zu reply bytes outstanding",
				      who(c), c->outstanding, c->unsent);
		}
	}
}

/* Decode the complete frames buffered, as far as the limits allow.
 * Returns whether an exchange was added. */
static bool take_frames(docketd_conn *c)
{
	docketd *d = c->d;
	bool added = false;

	while (may_take(c) && !d->stopping) {
		docket_err err = {0};
		json_t *msg;
		int rc = docket_frame_next(&c->rd, &msg, &err);
		if (rc == 0)
			break;
		added = true;
		if (rc < 0) {
			d->srv.protocol_errors++;
			docketd_debug("closing connection of %s: %s", who(c), err.msg);
			refuse(c, rc, err.msg, true);
			break;
		}
		d->srv.requests++;
		docketd_exchange *x = exchange_new(c);
		if (!x) {
			json_decref(msg);
			conn_close(c);
			return false;
		}
		rc = docketd_request_decode(msg, &x->rq, &err);
		json_decref(msg);
		if (rc) {
			d->srv.protocol_errors++;
			docketd_debug("refused a request of %s: %s", who(c), err.msg);
			x->reply = docketd_reply_error(x->rq.id, rc, err.msg);
		}
	}
	return added;
}

/* After EOF: whether the peer closed outright rather than only shut its
 * sending side.  A Unix stream socket reports POLLHUP once both directions
 * are shut, and we shut ours only when everything owed was written. */
static bool peer_gone(docketd_conn *c)
{
	uv_os_fd_t fd;

	if (!c->eof || c->shutting || uv_fileno((uv_handle_t *)&c->pipe, &fd))
		return false;
	struct pollfd p = {.fd = fd};
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

static void idle_restart(docketd_conn *c)
{
	if (!c->closing)
		uv_timer_again(&c->idle);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	docketd_conn *c = s->data;

	if (nread == 0)
		return;
	if (nread == UV_EOF) {
		/* The client is done sending; it may still be reading. */
		c->no_more = c->eof = true;
		if (peer_gone(c)) {
			docketd_debug("closing connection of %s: it hung up", who(c));
			abandon(c);
			return;
		}
		set_reading(c);
		progress(c);
		return;
	}
	if (nread < 0) {
		docketd_debug("closing connection of %s: %s", who(c), uv_strerror((int)nread));
		abandon(c);
		return;
	}
	idle_restart(c);
	if (docket_frame_feed(&c->rd, buf->base, (size_t)nread)) {
		docketd_warn("closing connection of %s: out of memory", who(c));
		conn_close(c);
		return;
	}
	progress(c);
}

/* --- writing ------------------------------------------------------------ */

static void shutdown_cb(uv_shutdown_t *req, int status)
{
	docketd_conn *c = req->data;

	(void)status;
	free(req);
	conn_close(c);
}

/* Everything owed has been written and nothing more will come. */
static void maybe_finish(docketd_conn *c)
{
	if (c->closing || c->shutting || !c->no_more || c->outstanding || c->unsent)
		return;
	uv_shutdown_t *req = malloc(sizeof *req);
	if (!req) {
		conn_close(c);
		return;
	}
	req->data = c;
	c->shutting = true;
	if (uv_shutdown(req, (uv_stream_t *)&c->pipe, shutdown_cb)) {
		free(req);
		conn_close(c);
	}
}

static void write_cb(uv_write_t *req, int status)
{
	wreq *w = (wreq *)req;
	docketd_conn *c = w->c;

	c->unsent -= w->len;
	free(w->buf);
	free(w);
	if (c->closing)
		return;
	if (status < 0) {
		/* The client went away mid-reply: its connection only. */
		c->d->srv.write_errors++;
		docketd_debug("closing connection of %s: writing a reply: %s", who(c),
			      uv_strerror(status));
		abandon(c);
		return;
	}
	idle_restart(c);
	progress(c);
}

static int send_reply(docketd_conn *c, const json_t *reply)
{
	docket_err err = {0};
	unsigned char *buf;
	size_t len;
	int rc = docket_frame_encode(reply, DOCKETD_REPLY_MAX, &buf, &len, &err);

	if (rc == DOCKET_ELIMIT) {
		/* Too big to send: say so, in a frame that fits. */
		json_t *e = docketd_reply_error(json_object_get(reply, "id"), rc, err.msg);
		docketd_debug("reply to %s refused: %s", who(c), err.msg);
		rc = docket_frame_encode(e, DOCKETD_REPLY_MAX, &buf, &len, &err);
		json_decref(e);
	}
	if (rc)
		return rc;
	/* Most replies fit the socket's buffer at once: written now, they
	 * cost no write request, no callback and no change of the poll set
	 * (libuv re-arms the descriptor after every queued write).  libuv
	 * refuses (EAGAIN) while earlier writes are queued, so order holds;
	 * a short or failed write leaves the rest to uv_write, which reports
	 * an error as before. */
	uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
	int n = uv_try_write((uv_stream_t *)&c->pipe, &b, 1);
	if (n == (int)len) {
		free(buf);
		idle_restart(c);
		return 0;
	}
	size_t off = n > 0 ? (size_t)n : 0;
	wreq *w = malloc(sizeof *w);
	if (!w) {
		free(buf);
		return DOCKET_ENOMEM;
	}
	w->c = c;
	w->buf = buf;
	w->len = len - off;
	b = uv_buf_init((char *)buf + off, (unsigned)(len - off));
	c->unsent += w->len;
	if ((rc = uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, write_cb))) {
		c->unsent -= w->len;
		free(buf);
		free(w);
		return DOCKET_EIO;
	}
	return 0;
}

/* --- moving a connection along ------------------------------------------ */

/* Whether a read may run now, its turn aside: not before this
 * connection's writes committed, nor while its replies pile up unsent. */
static bool read_may_run(const docketd_conn *c)
{
	return !c->queued && c->unsent < DOCKETD_UNSENT_MAX;
}

/* Dispatch in order, as far as may be now: writes go to the group commit
 * at once; reads run while read_may_run and *reads (this connection's
 * share of the turn) last.  Once the daemon is stopping, every read runs
 * as soon as its connection's writes committed, turn or not: the writes
 * behind it must reach the commit before the stop waits for the last one.
 * Returns whether anything was dispatched. */
static bool run(docketd_conn *c, unsigned *reads)
{
	bool any = false;

	while (c->next_run && !c->closing) {
		docketd_exchange *x = c->next_run;
		if (!x->reply) {
			if (!docketd_request_queues(&x->rq) && !(c->d->stopping && !c->queued)) {
				if (!*reads || !read_may_run(c))
					break;
				(*reads)--;
			}
			docketd_dispatch(c->d, x, &c->peer);
			if (x->queued)
				c->queued++;
			any = true;
		}
		c->next_run = x->next;
	}
	return any;
}

/* Write the replies ready at the head.  Returns whether one was written. */
static bool flush(docketd_conn *c)
{
	bool any = false;

	while (!c->closing && c->head && c->head->reply && !c->head->queued) {
		docketd_exchange *x = c->head;
		c->head = x->next;
		if (!c->head)
			c->tail = NULL;
		if (c->next_run == x)
			c->next_run = x->next;
		c->outstanding--;
		bool last = x->close_after;
		int rc = send_reply(c, x->reply);
		docketd_exchange_free(x);
		any = true;
		if (rc) {
			docketd_debug("closing connection of %s: cannot send a reply: %s", who(c),
				      docket_strerror(rc));
			conn_close(c);
			return any;
		}
		if (last) {
			c->no_more = true;
			/* Whatever followed the refusal will not be answered. */
			while (c->head) {
				docketd_exchange *y = c->head;
				c->head = y->next;
				c->outstanding--;
				if (y->queued) {
					y->conn = NULL;
					c->queued--;
				} else {
					c->d->srv.dropped += !y->reply;
					docketd_exchange_free(y);
				}
			}
			c->tail = c->next_run = NULL;
			break;
		}
	}
	return any;
}

/* --- taking turns -------------------------------------------------------- */

static void ready_add(docketd_conn *c)
{
	docketd_server *s = &c->d->srv;

	if (c->ready || !s->turn_ready)
		return;
	c->ready = true;
	c->rnext = NULL;
	c->rprev = s->ready_tail;
	if (s->ready_tail)
		s->ready_tail->rnext = c;
	else
		s->ready = c;
	s->ready_tail = c;
	if (s->nready++ == 0) {
		uv_check_start(&s->turn, turn_cb);
		/* Nothing to wait for while reads wait: poll without blocking. */
		uv_idle_start(&s->spin, spin_cb);
	}
}

static void ready_remove(docketd_conn *c)
{
	docketd_server *s = &c->d->srv;

	if (!c->ready)
		return;
	c->ready = false;
	if (c->rprev)
		c->rprev->rnext = c->rnext;
	else
		s->ready = c->rnext;
	if (c->rnext)
		c->rnext->rprev = c->rprev;
	else
		s->ready_tail = c->rprev;
	c->rprev = c->rnext = NULL;
	s->nready--;
}

static void progress_with(docketd_conn *c, unsigned reads)
{
	bool moved;

	do {
		moved = false;
		if (c->closing)
			return;
		moved |= take_frames(c);
		moved |= run(c, &reads);
		moved |= flush(c);
	} while (moved);
	if (c->closing)
		return;
	set_reading(c);
	maybe_finish(c);
	if (c->next_run && read_may_run(c))
		ready_add(c);
}

/* Everything but reads, which wait for the connection's turn. */
static void progress(docketd_conn *c)
{
	progress_with(c, 0);
}

static void spin_cb(uv_idle_t *h)
{
	(void)h;
}

/* One turn: each connection that was waiting when it began runs its share
 * of reads and goes to the back; the next turn comes after the loop has
 * polled everyone's I/O again. */
static void turn_cb(uv_check_t *h)
{
	docketd_server *s = &((docketd *)h->data)->srv;

	for (size_t n = s->nready; n-- && s->ready;) {
		docketd_conn *c = s->ready;
		ready_remove(c);
		if (peer_gone(c)) {
			docketd_debug("closing connection of %s: it hung up", who(c));
			abandon(c);
			continue;
		}
		progress_with(c, DOCKETD_TURN_READS);
	}
	if (!s->ready) {
		uv_check_stop(&s->turn);
		uv_idle_stop(&s->spin);
	}
}

void docketd_server_answered(docketd *d, docketd_exchange *x)
{
	docketd_conn *c = x->conn;

	(void)d;
	if (!c) {
		docketd_exchange_free(x);
		return;
	}
	c->queued--;
	progress(c);
}

/* --- opening and closing ------------------------------------------------ */

static void closed_cb(uv_handle_t *h)
{
	docketd_conn *c = h->data;
	docketd *d = c->d;

	if (--c->handles)
		return;
	docket_frame_reader_free(&c->rd);
	free(c->peer.name);
	free(c);
	if (--d->srv.nopen == 0 && d->srv.all_closed) {
		void (*cb)(docketd *) = d->srv.all_closed;
		d->srv.all_closed = NULL;
		if (d->srv.grace_started)
			uv_timer_stop(&d->srv.grace);
		cb(d);
	}
}

static void conn_close(docketd_conn *c)
{
	docketd *d = c->d;

	if (c->closing)
		return;
	c->closing = true;
	ready_remove(c);
	while (c->head) {
		docketd_exchange *x = c->head;
		c->head = x->next;
		if (x->queued) {
			x->conn = NULL;     /* freed when its commit returns */
		} else {
			d->srv.dropped += !x->reply;
			docketd_exchange_free(x);
		}
	}
	c->tail = c->next_run = NULL;
	c->outstanding = c->queued = 0;
	if (c->counted)
		d->srv.nconns--;
	if (c->prev)
		c->prev->next = c->next;
	else
		d->srv.conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	uv_close((uv_handle_t *)&c->pipe, closed_cb);
	uv_close((uv_handle_t *)&c->idle, closed_cb);
}

/* The peer is gone: no reply can reach it.  Its writes still go to the
 * commit, as they would have had it waited for them; its reads are
 * dropped unrun. */
static void abandon(docketd_conn *c)
{
	for (docketd_exchange *x = c->next_run; x && !c->closing; x = x->next) {
		if (x->reply || !docketd_request_queues(&x->rq))
			continue;
		docketd_dispatch(c->d, x, &c->peer);
		if (x->queued)
			c->queued++;
	}
	conn_close(c);
}

static void idle_cb(uv_timer_t *t)
{
	docketd_conn *c = t->data;

	/* Waiting for our commit is not the client's idleness. */
	if (c->queued)
		return;
	c->d->srv.idle_closed++;
	docketd_debug("closing connection of %s: idle for %llums", who(c),
		      (unsigned long long)c->d->cfg->idle_timeout_ms);
	conn_close(c);
}

static void peer_identify(docketd *d, docketd_conn *c)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	uv_os_fd_t fd;
	struct passwd pw, *res = NULL;
	char buf[16384];

	c->peer.uid = (uid_t)-1;
	c->peer.pid = 0;
	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return;
	c->peer.uid = cr.uid;
	c->peer.pid = cr.pid;
	c->peer.admin = cr.uid == d->uid;
	if (getpwuid_r(cr.uid, &pw, buf, sizeof buf, &res) == 0 && res)
		c->peer.name = strdup(res->pw_name);
	else if (c->peer.admin)
		c->peer.name = strdup(d->admin);
}

/* libuv accepts in a loop while connections are pending, so a process
 * connecting without pause kept the loop in here for seconds while every
 * connected client waited.  After ACCEPT_BURST in one turn the listener
 * rests (a connection left unaccepted stops libuv polling it) until the
 * check phase, after everyone's I/O. */
#define ACCEPT_BURST 16

static void on_connection(uv_stream_t *server, int status);

static void resume_cb(uv_check_t *h)
{
	docketd *d = h->data;

	uv_check_stop(h);
	d->srv.burst = 0;
	if (d->srv.listening)
		on_connection((uv_stream_t *)&d->srv.listener, 0);
}

static void on_connection(uv_stream_t *server, int status)
{
	docketd *d = server->data;
	docketd_conn *c;

	if (status < 0) {
		docketd_warn("accepting a connection: %s", uv_strerror(status));
		return;
	}
	if (++d->srv.burst > ACCEPT_BURST) {
		uv_check_start(&d->srv.resume, resume_cb);
		return;
	}
	if (!(c = calloc(1, sizeof *c))) {
		docketd_warn("accepting a connection: out of memory");
		return;
	}
	c->d = d;
	uv_pipe_init(d->loop, &c->pipe, 0);
	c->pipe.data = c;
	c->handles = 1;
	d->srv.nopen++;
	if (uv_accept(server, (uv_stream_t *)&c->pipe)) {
		c->closing = true;
		uv_close((uv_handle_t *)&c->pipe, closed_cb);
		return;
	}
	uv_timer_init(d->loop, &c->idle);
	c->idle.data = c;
	c->handles = 2;
	c->next = d->srv.conns;
	if (c->next)
		c->next->prev = c;
	d->srv.conns = c;
	docket_frame_reader_init(&c->rd, d->cfg->max_frame);
	peer_identify(d, c);
	d->srv.accepted++;
	uv_timer_start(&c->idle, idle_cb, d->cfg->idle_timeout_ms, d->cfg->idle_timeout_ms);
	if (d->stopping || d->srv.nconns >= d->cfg->max_connections) {
		char msg[160];
		snprintf(msg, sizeof msg, "%u connections are open, the most docketd serves "
			 "(max_connections in docket.yaml); try again later",
			 d->cfg->max_connections);
		d->srv.refused++;
		docketd_debug("refusing a connection of %s (pid %d): %s", who(c),
			      (int)c->peer.pid, msg);
		refuse(c, DOCKET_ELIMIT, msg, true);
		progress(c);
		return;
	}
	c->counted = true;
	d->srv.nconns++;
	docketd_debug("connection of %s (uid %u, pid %d)", who(c), (unsigned)c->peer.uid,
		      (int)c->peer.pid);
	progress(c);
}

int docketd_server_listen(docketd *d, docket_err *err)
{
	docketd_server *s = &d->srv;
	struct sockaddr_un sun;
	int rc;

	if (asprintf(&s->path, "%s/%s", d->home, DOCKETD_SOCKET_FILE) < 0) {
		s->path = NULL;
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	}
	if (strlen(s->path) >= sizeof sun.sun_path)
		return docket_err_set(err, DOCKET_EINVAL,
			"%s: the socket path is longer than %zu bytes; use a shorter --home",
			s->path, sizeof sun.sun_path - 1);
	/* We hold the engine lock: a socket file here is a dead daemon's. */
	if (unlink(s->path) < 0 && errno != ENOENT)
		return docket_err_set(err, DOCKET_EIO, "%s: %s", s->path, strerror(errno));
	uv_pipe_init(d->loop, &s->listener, 0);
	s->listener.data = d;
	s->listening = true;
	/* Created 0660 from the start: no moment where others may connect. */
	mode_t old = umask(0117);
	rc = uv_pipe_bind(&s->listener, s->path);
	umask(old);
	if (rc)
		return docket_err_set(err, DOCKET_EIO, "%s: %s", s->path, uv_strerror(rc));
	if (chmod(s->path, 0660) < 0)
		return docket_err_set(err, DOCKET_EIO, "%s: %s", s->path, strerror(errno));
	uv_check_init(d->loop, &s->resume);
	s->resume.data = d;
	s->resume_ready = true;
	/* Closed with every other handle once the last connection is gone. */
	uv_check_init(d->loop, &s->turn);
	s->turn.data = d;
	uv_idle_init(d->loop, &s->spin);
	s->spin.data = d;
	s->turn_ready = true;
	if ((rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection)))
		return docket_err_set(err, DOCKET_EIO, "%s: %s", s->path, uv_strerror(rc));
	return 0;
}

void docketd_server_stop(docketd *d)
{
	docketd_server *s = &d->srv;

	if (s->listening) {
		s->listening = false;
		uv_close((uv_handle_t *)&s->listener, NULL);
		if (s->resume_ready)
			uv_close((uv_handle_t *)&s->resume, NULL);
		s->resume_ready = false;
		if (s->path)
			unlink(s->path);
	}
	for (docketd_conn *c = s->conns, *next; c; c = next) {
		next = c->next;
		c->no_more = true;
		progress(c);        /* runs what was received: see run() */
	}
}

static void grace_cb(uv_timer_t *t)
{
	docketd *d = t->data;
	docketd_conn *c;

	docketd_warn("closing %zu connection%s that did not take their replies",
		     d->srv.nconns, d->srv.nconns == 1 ? "" : "s");
	while ((c = d->srv.conns))
		conn_close(c);
}

void docketd_server_close_all(docketd *d, void (*cb)(docketd *d))
{
	docketd_server *s = &d->srv;
	docketd_conn *c, *next;

	s->all_closed = cb;
	if (s->nopen == 0) {
		s->all_closed = NULL;
		cb(d);
		return;
	}
	uv_timer_init(d->loop, &s->grace);
	s->grace.data = d;
	s->grace_started = true;
	uv_timer_start(&s->grace, grace_cb, GRACE_MS, 0);
	uv_unref((uv_handle_t *)&s->grace);
	for (c = s->conns; c; c = next) {
		next = c->next;
		c->no_more = true;
		progress(c);
	}
}

json_t *docketd_server_status(const docketd *d)
{
	const docketd_server *s = &d->srv;

	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"connections", (json_int_t)s->nconns,
		"accepted", (json_int_t)s->accepted,
		"refused", (json_int_t)s->refused,
		"idle_closed", (json_int_t)s->idle_closed,
		"protocol_errors", (json_int_t)s->protocol_errors,
		"write_errors", (json_int_t)s->write_errors,
		"requests", (json_int_t)s->requests,
		"paused", (json_int_t)s->paused,
		"dropped", (json_int_t)s->dropped);
}
