/*
 * runner.c - plugin host processes and the jobs they run.
 *
 * Invariants:
 *   - A job is in r->jobs from submit until settled: QUEUED (waiting for an
 *     idle host or its jitter), RUNNING (sent to exactly one host, whose
 *     timer runs), SETTLING (result delivered, waiting for the commit).
 *   - A host runs at most one job.  A host that dies, overruns or speaks
 *     the protocol wrong is killed and never reused; its slot is refilled
 *     by a fresh spawn when a job needs it.
 *   - Every result is delivered from a libuv callback, after the runner's
 *     own state is consistent, and the job is not touched after the
 *     callback (which may settle and free it).
 *   - A host struct is freed only when its last handle's close callback ran.
 *
 * Job lookups by key walk the list: O(jobs in flight), which the daemon
 * keeps to a few hundred.  A hash would be the next step if that grows.
 */
#include "runner.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "hostproto.h"

enum jstate { J_QUEUED, J_RUNNING, J_SETTLING };

struct host;

struct job {
	struct job *next;
	enum jstate state;
	char *key, *case_id, *plugin;
	uint32_t entry, attempt;
	int64_t timeout_ms;
	int64_t id;                 /* of the run message sent */
	json_t *frame;              /* the run message, "id" set when sent */
	json_t *events;             /* borrowed from frame */
	uint64_t submitted_ns, sent_ns, not_before_ns;
	struct host *host;
};

struct plugstat {
	struct plugstat *next;
	char *name;
	unsigned crashes;           /* in a row */
	bool quarantined;
};

struct host {
	docket_runner *r;
	uv_process_t proc;
	uv_pipe_t in, out, err;
	uv_timer_t timer;
	docket_frame_reader rd;
	struct job *job;
	int open;                   /* handles not yet closed */
	int slot;
	bool exited, closing, timed_out, broken;
	char why[256];              /* what broke the protocol */
	int64_t exit_status;
	int term_signal;
	size_t linelen;
	char line[1024];            /* a partial stderr line */
	char rbuf[65536];
};

struct docket_runner {
	uv_loop_t *loop;
	char *host_path, *plugins_dir, *home;
	unsigned nhosts, quarantine_after, memory_mb;
	int64_t default_timeout_ms;
	docket_runner_result_fn on_result;
	docket_runner_log_fn on_log;
	void *ctx;
	uint64_t (*random)(void *ctx);
	uint64_t rng;
	struct host **slots;
	unsigned live;              /* host structs not yet freed */
	struct job *jobs;
	struct plugstat *stats;
	uv_timer_t kick;            /* runs dispatch: now, or at the next jitter */
	bool kick_open;
	int64_t next_id;
	bool stopping;
	void (*done)(void *ctx);
	void *done_ctx;
};

/* --- small things -------------------------------------------------------- */

static void logf_(docket_runner *r, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void logf_(docket_runner *r, int level, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (r->on_log)
		r->on_log(r->ctx, level, buf);
	else
		fprintf(stderr, "docketd: %s\n", buf);
}

static uint64_t next_random(docket_runner *r)
{
	if (r->random)
		return r->random(r->ctx);
	/* xorshift64*: plenty for spreading retries apart. */
	r->rng ^= r->rng >> 12;
	r->rng ^= r->rng << 25;
	r->rng ^= r->rng >> 27;
	return r->rng * 0x2545F4914F6CDD1DULL;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct plugstat *stat_of(docket_runner *r, const char *plugin, bool create)
{
	struct plugstat *s;

	for (s = r->stats; s; s = s->next)
		if (!strcmp(s->name, plugin))
			return s;
	if (!create || !(s = calloc(1, sizeof *s)))
		return NULL;
	if (!(s->name = strdup(plugin))) {
		free(s);
		return NULL;
	}
	s->next = r->stats;
	r->stats = s;
	return s;
}

static struct job *find_job(const docket_runner *r, const char *key)
{
	for (struct job *j = r->jobs; j; j = j->next)
		if (!strcmp(j->key, key))
			return j;
	return NULL;
}

static void job_free(struct job *j)
{
	free(j->key);
	free(j->case_id);
	free(j->plugin);
	json_decref(j->frame);
	free(j);
}

static void unlink_job(docket_runner *r, struct job *j)
{
	for (struct job **p = &r->jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			return;
		}
}

static void on_kick(uv_timer_t *t);

static void kick(docket_runner *r, uint64_t delay_ms)
{
	if (r->kick_open && !r->stopping)
		uv_timer_start(&r->kick, on_kick, delay_ms, 0);
}

/* --- results ----------------------------------------------------------- */

/* Hand the job's result to the daemon.  The job waits in SETTLING until
 * docket_runner_settled; the callback may settle (and free) it at once. */
static void deliver(docket_runner *r, struct job *j, docket_runner_verdict v, const char *event,
		    const json_t *fields, const char *reason)
{
	uint64_t now = uv_hrtime();
	docket_runner_result res = {
		.case_id = j->case_id, .entry = j->entry, .attempt = j->attempt,
		.key = j->key, .plugin = j->plugin, .verdict = v, .event = event,
		.fields = fields, .reason = reason,
		.wait_us = j->sent_ns ? (j->sent_ns - j->submitted_ns) / 1000 : (now - j->submitted_ns) / 1000,
		.run_us = j->sent_ns ? (now - j->sent_ns) / 1000 : 0,
	};

	if (r->stopping)
		return;
	j->state = J_SETTLING;
	j->host = NULL;
	r->on_result(r->ctx, &res);
}

static void deliverf(docket_runner *r, struct job *j, docket_runner_verdict v, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void deliverf(docket_runner *r, struct job *j, docket_runner_verdict v, const char *fmt, ...)
{
	char reason[DOCKET_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	deliver(r, j, v, NULL, NULL, reason);
}

/* --- hosts ------------------------------------------------------------- */

static void maybe_finish(docket_runner *r);

static void host_closed(uv_handle_t *h)
{
	struct host *hs = h->data;
	docket_runner *r = hs->r;

	if (--hs->open > 0)
		return;
	docket_frame_reader_free(&hs->rd);
	free(hs);
	r->live--;
	maybe_finish(r);
}

/* Close every handle of a host whose process is gone (or never started). */
static void host_close(struct host *hs)
{
	docket_runner *r = hs->r;

	if (hs->closing)
		return;
	hs->closing = true;
	if (hs->slot >= 0 && r->slots[hs->slot] == hs)
		r->slots[hs->slot] = NULL;
	uv_handle_t *hv[] = {(uv_handle_t *)&hs->proc, (uv_handle_t *)&hs->in,
			     (uv_handle_t *)&hs->out, (uv_handle_t *)&hs->err,
			     (uv_handle_t *)&hs->timer};
	for (size_t i = 0; i < sizeof hv / sizeof *hv; i++)
		uv_close(hv[i], host_closed);
}

/* Kill the host and anything it started (it leads its own process group).
 * The exit callback does the rest. */
static void host_kill(struct host *hs)
{
	if (hs->exited || hs->proc.pid <= 0)
		return;
	kill(-hs->proc.pid, SIGKILL);
	uv_process_kill(&hs->proc, SIGKILL);
}

static void host_broken(struct host *hs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void host_broken(struct host *hs, const char *fmt, ...)
{
	va_list ap;

	if (hs->broken)
		return;
	hs->broken = true;
	va_start(ap, fmt);
	vsnprintf(hs->why, sizeof hs->why, fmt, ap);
	va_end(ap);
	logf_(hs->r, DOCKET_RLOG_ERROR, "plugin host %d: %s; killing it", hs->proc.pid, hs->why);
	host_kill(hs);
}

static bool event_declared(const struct job *j, const char *event)
{
	docket_host_job hj = {.events = j->events};
	return docket_hostproto_event_allowed(&hj, event);
}

static void on_outcome(struct host *hs, const docket_host_outcome *o)
{
	docket_runner *r = hs->r;
	struct job *j = hs->job;
	struct plugstat *s;

	if (!j || o->id != j->id) {
		host_broken(hs, "sent an outcome for job %lld, which it was not running", (long long)o->id);
		return;
	}
	uv_timer_stop(&hs->timer);
	hs->job = NULL;
	/* The plugin answered: whatever it said, it did not crash. */
	if ((s = stat_of(r, j->plugin, false)))
		s->crashes = 0;
	kick(r, 0);
	switch (o->kind) {
	case DOCKET_OUTCOME_EVENT:
		if (!event_declared(j, o->event)) {
			deliverf(r, j, DOCKET_RUNNER_FAIL,
				 "plugin '%s' emitted event '%.64s', which its stage does not declare",
				 j->plugin, o->event);
			return;
		}
		deliver(r, j, DOCKET_RUNNER_EVENT, o->event, o->fields, NULL);
		return;
	case DOCKET_OUTCOME_RETRY:
		deliver(r, j, DOCKET_RUNNER_RETRY, NULL, NULL, o->reason);
		return;
	case DOCKET_OUTCOME_FAILED:
		deliver(r, j, DOCKET_RUNNER_FAIL, NULL, NULL, o->reason);
		return;
	}
}

static const char *level_name(int level)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	return level >= 0 && level <= 3 ? names[level] : "info";
}

static void on_frame(struct host *hs, json_t *msg)
{
	docket_host_msg m;
	docket_err err = {0};

	if (docket_hostproto_decode(msg, &m, &err)) {
		host_broken(hs, "sent a malformed message (%s)", err.msg);
		return;
	}
	switch (m.type) {
	case DOCKET_HMSG_OUTCOME:
		on_outcome(hs, &m.outcome);
		break;
	case DOCKET_HMSG_LOG: {
		const struct job *j = hs->job && hs->job->id == m.log.id ? hs->job : NULL;
		logf_(hs->r, m.log.level, "plugin %s%s%s: %s: %s", m.log.plugin ? m.log.plugin : "?",
		      j ? " on " : "", j ? j->case_id : "", level_name(m.log.level), m.log.message);
		break;
	}
	default:
		host_broken(hs, "sent an unexpected message");
	}
}

static void feed(struct host *hs, const char *buf, size_t n)
{
	docket_err err = {0};
	json_t *msg;
	int rc;

	if (hs->broken)
		return;
	if (docket_frame_feed(&hs->rd, buf, n)) {
		host_broken(hs, "out of memory reading its messages");
		return;
	}
	while (!hs->broken && (rc = docket_frame_next(&hs->rd, &msg, &err)) == 1) {
		on_frame(hs, msg);
		json_decref(msg);
	}
	if (!hs->broken && rc < 0)
		host_broken(hs, "sent a bad frame (%s)", err.msg);
}

static void alloc_out(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct host *hs = h->data;
	(void)suggested;
	*buf = uv_buf_init(hs->rbuf, sizeof hs->rbuf);
}

static void read_out(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct host *hs = s->data;

	if (n > 0)
		feed(hs, buf->base, (size_t)n);
	else if (n < 0)
		uv_read_stop(s);
}

/* Whatever the host wrote to stderr (its own complaints, a plugin's
 * printf, a sanitizer report) goes to the log a line at a time. */
static void read_err(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct host *hs = s->data;

	if (n < 0) {
		if (hs->linelen)
			logf_(hs->r, DOCKET_RLOG_WARN, "plugin host %d: %.*s", hs->proc.pid,
			      (int)hs->linelen, hs->line);
		hs->linelen = 0;
		uv_read_stop(s);
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		char c = buf->base[i];
		/* Control bytes would garble the log (and NUL end the line). */
		if ((unsigned char)c < 0x20 && c != '\n' && c != '\t')
			c = '?';
		if (c != '\n' && hs->linelen < sizeof hs->line) {
			hs->line[hs->linelen++] = c;
			continue;
		}
		logf_(hs->r, DOCKET_RLOG_WARN, "plugin host %d: %.*s", hs->proc.pid,
		      (int)hs->linelen, hs->line);
		hs->linelen = 0;
		if (c != '\n')
			hs->line[hs->linelen++] = c;
	}
}

static void crashed(struct host *hs, struct job *j)
{
	docket_runner *r = hs->r;
	char what[DOCKET_ERR_MAX];
	struct plugstat *s;

	if (hs->timed_out) {
		char t[32];
		if (j->timeout_ms % 1000)
			snprintf(t, sizeof t, "%lld ms", (long long)j->timeout_ms);
		else
			snprintf(t, sizeof t, "%lld s", (long long)(j->timeout_ms / 1000));
		logf_(r, DOCKET_RLOG_WARN, "plugin %s on %s: timed out after %s; plugin host %d killed",
		      j->plugin, j->case_id, t, hs->proc.pid);
		deliverf(r, j, DOCKET_RUNNER_RETRY, "plugin '%s' timed out after %s (its host was killed)",
			 j->plugin, t);
		return;
	}
	if (hs->broken)
		snprintf(what, sizeof what, "its host %.255s", hs->why);
	else if (hs->term_signal)
		snprintf(what, sizeof what, "killed its host with signal %d (%s)", hs->term_signal,
			 strsignal(hs->term_signal));
	else
		snprintf(what, sizeof what, "made its host exit with status %lld before an outcome",
			 (long long)hs->exit_status);
	s = stat_of(r, j->plugin, true);
	unsigned n = s ? ++s->crashes : 1;
	logf_(r, DOCKET_RLOG_ERROR, "plugin %s on %s: %s (crash %u in a row)", j->plugin, j->case_id,
	      what, n);
	if (s && n >= r->quarantine_after) {
		s->quarantined = true;
		logf_(r, DOCKET_RLOG_ERROR,
		      "plugin %s quarantined: it crashed its host %u times in a row (last: %s); "
		      "its actions fail at once until `docket reload` or a restart",
		      j->plugin, n, what);
		deliverf(r, j, DOCKET_RUNNER_FAIL,
			 "plugin '%s' is quarantined after %u crashes in a row (last: %s)", j->plugin, n, what);
		return;
	}
	deliverf(r, j, DOCKET_RUNNER_RETRY, "plugin '%s' crashed: %s", j->plugin, what);
}

static void on_exit_(uv_process_t *p, int64_t status, int sig)
{
	struct host *hs = p->data;
	docket_runner *r = hs->r;
	uv_os_fd_t fd;
	struct job *j;

	hs->exited = true;
	hs->exit_status = status;
	hs->term_signal = sig;
	/* The outcome may still sit in the pipe: read what is left before
	 * deciding the host died mid-job.  Nothing else writes that pipe. */
	if (uv_fileno((uv_handle_t *)&hs->out, &fd) == 0) {
		ssize_t n;
		while (!hs->broken && (n = read(fd, hs->rbuf, sizeof hs->rbuf)) > 0)
			feed(hs, hs->rbuf, (size_t)n);
	}
	uv_timer_stop(&hs->timer);
	j = hs->job;
	hs->job = NULL;
	if (j && !r->stopping)
		crashed(hs, j);
	else if (!j && !r->stopping && (sig || status))
		logf_(r, DOCKET_RLOG_WARN, "plugin host %d exited between jobs (status %lld, signal %d)",
		      p->pid, (long long)status, sig);
	host_close(hs);
	kick(r, 0);
}

static void on_timeout(uv_timer_t *t)
{
	struct host *hs = t->data;

	if (!hs->job)
		return;
	hs->timed_out = true;
	host_kill(hs);
}

/* Start a host in slot i.  On failure the struct is closed and freed. */
static int host_spawn(docket_runner *r, int i, struct host **out, docket_err *err)
{
	struct host *hs = calloc(1, sizeof *hs);
	char mem[24];
	int rc;

	*out = NULL;
	if (!hs)
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	hs->r = r;
	hs->slot = -1;
	docket_frame_reader_init(&hs->rd, DOCKET_HOST_FRAME_MAX);
	uv_pipe_init(r->loop, &hs->in, 0);
	uv_pipe_init(r->loop, &hs->out, 0);
	uv_pipe_init(r->loop, &hs->err, 0);
	uv_timer_init(r->loop, &hs->timer);
	hs->in.data = hs->out.data = hs->err.data = hs->timer.data = hs->proc.data = hs;
	hs->open = 5;
	r->live++;
	snprintf(mem, sizeof mem, "%u", r->memory_mb);
	char *args[] = {r->host_path, "--plugins", r->plugins_dir, "--memory", mem,
			r->home ? "--home" : NULL, r->home, NULL};
	uv_stdio_container_t stdio[3] = {
		{.flags = UV_CREATE_PIPE | UV_READABLE_PIPE, .data.stream = (uv_stream_t *)&hs->in},
		{.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&hs->out},
		{.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&hs->err},
	};
	uv_process_options_t po = {
		.exit_cb = on_exit_, .file = r->host_path, .args = args,
		.stdio_count = 3, .stdio = stdio,
		/* Its own process group, so a kill reaches what plugins start. */
		.flags = UV_PROCESS_DETACHED,
	};
	if ((rc = uv_spawn(r->loop, &hs->proc, &po))) {
		hs->exited = true;
		host_close(hs);
		return docket_err_set(err, DOCKET_EIO, "cannot start the plugin host %s: %s",
				      r->host_path, uv_strerror(rc));
	}
	hs->slot = i;
	r->slots[i] = hs;
	uv_read_start((uv_stream_t *)&hs->out, alloc_out, read_out);
	uv_read_start((uv_stream_t *)&hs->err, alloc_out, read_err);
	logf_(r, DOCKET_RLOG_DEBUG, "plugin host %d started", hs->proc.pid);
	*out = hs;
	return 0;
}

/* An idle host, spawning one into a free slot if none is idle. */
static int idle_host(docket_runner *r, struct host **out, docket_err *err)
{
	int free_slot = -1;

	*out = NULL;
	for (unsigned i = 0; i < r->nhosts; i++) {
		struct host *hs = r->slots[i];
		if (hs && !hs->job && !hs->closing && !hs->exited && !hs->broken) {
			*out = hs;
			return 0;
		}
		if (!hs && free_slot < 0)
			free_slot = (int)i;
	}
	if (free_slot < 0)
		return 0;
	return host_spawn(r, free_slot, out, err);
}

static void written(uv_write_t *w, int status)
{
	/* A failed write means the host is dying; its exit callback decides. */
	(void)status;
	free(w->data);
	free(w);
}

static int send_job(struct host *hs, struct job *j, docket_err *err)
{
	docket_runner *r = hs->r;
	unsigned char *buf;
	size_t len;
	uv_write_t *w;
	int rc;

	j->id = ++r->next_id;
	if (json_object_set_new(j->frame, "id", json_integer(j->id)))
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	if ((rc = docket_frame_encode(j->frame, DOCKET_HOST_FRAME_MAX, &buf, &len, err)))
		return rc;
	if (!(w = malloc(sizeof *w))) {
		free(buf);
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	}
	w->data = buf;
	uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
	if ((rc = uv_write(w, (uv_stream_t *)&hs->in, &b, 1, written))) {
		free(buf);
		free(w);
		return docket_err_set(err, DOCKET_EIO, "cannot write to plugin host %d: %s",
				      hs->proc.pid, uv_strerror(rc));
	}
	j->state = J_RUNNING;
	j->host = hs;
	j->sent_ns = uv_hrtime();
	hs->job = j;
	uv_timer_start(&hs->timer, on_timeout, (uint64_t)j->timeout_ms, 0);
	return 0;
}

/* Start what can start.  A delivery may re-enter the runner (submit,
 * settled), so after one the walk starts over from the head. */
static void dispatch(docket_runner *r)
{
	uint64_t now = uv_hrtime(), next = UINT64_MAX;
	bool full = false;      /* every host busy: only quarantines and jitter left */
	struct job *j;

again:
	if (r->stopping)
		return;
	for (j = r->jobs; j; j = j->next) {
		struct plugstat *s;
		struct host *hs;
		docket_err err = {0};

		if (j->state != J_QUEUED)
			continue;
		if ((s = stat_of(r, j->plugin, false)) && s->quarantined) {
			deliverf(r, j, DOCKET_RUNNER_FAIL,
				 "plugin '%s' is quarantined after crashing its host %u times in a row",
				 j->plugin, s->crashes);
			goto again;
		}
		if (j->not_before_ns > now) {
			if (j->not_before_ns < next)
				next = j->not_before_ns;
			continue;
		}
		if (full)
			continue;
		if (idle_host(r, &hs, &err) == 0 && !hs) {
			full = true;    /* wait for a host to finish */
			continue;
		}
		if (!hs || send_job(hs, j, &err)) {
			logf_(r, DOCKET_RLOG_ERROR, "%s", err.msg);
			deliverf(r, j, DOCKET_RUNNER_RETRY, "%s", err.msg);
			goto again;
		}
	}
	if (next != UINT64_MAX)
		kick(r, (next - now) / 1000000 + 1);
}

static void on_kick(uv_timer_t *t)
{
	dispatch(t->data);
}

/* --- the public functions ---------------------------------------------- */

int docket_runner_start(uv_loop_t *loop, const docket_runner_opts *o, docket_runner **out,
			docket_err *err)
{
	docket_runner *r;

	*out = NULL;
	if (!loop || !o || !o->host_path || !o->plugins_dir || !o->on_result)
		return docket_err_set(err, DOCKET_EINVAL, "runner needs a loop, a host, a plugins directory and a result callback");
	r = calloc(1, sizeof *r);
	if (!r)
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	r->loop = loop;
	r->nhosts = o->hosts ? o->hosts : 2;
	r->quarantine_after = o->quarantine_after ? o->quarantine_after : 3;
	r->memory_mb = o->memory_mb ? o->memory_mb : 1024;
	r->default_timeout_ms = o->default_timeout_ms > 0 ? o->default_timeout_ms : 30000;
	r->on_result = o->on_result;
	r->on_log = o->on_log;
	r->ctx = o->ctx;
	r->random = o->random;
	r->rng = uv_hrtime() ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ULL;
	r->host_path = strdup(o->host_path);
	r->plugins_dir = strdup(o->plugins_dir);
	r->home = o->home ? strdup(o->home) : NULL;
	r->slots = calloc(r->nhosts, sizeof *r->slots);
	if (!r->host_path || !r->plugins_dir || (o->home && !r->home) || !r->slots)
		goto nomem;
	uv_timer_init(loop, &r->kick);
	r->kick.data = r;
	r->kick_open = true;
	*out = r;
	return 0;
nomem:
	free(r->host_path);
	free(r->plugins_dir);
	free(r->home);
	free(r->slots);
	free(r);
	return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
}

static int get_u32(const json_t *job, const char *k, bool required, uint32_t *out, docket_err *err)
{
	json_t *v = json_object_get(job, k);

	*out = 0;
	if (!v && !required)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
		return docket_err_set(err, DOCKET_EINVAL, "job: '%s' must be an integer from 0 to %u",
				      k, UINT32_MAX);
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

/* The run message for an outbox entry, checked by the very decoder the
 * host will use, so a job the host would refuse is refused here. */
static int make_frame(docket_runner *r, const json_t *job, struct job *j, docket_err *err)
{
	json_t *ev = json_object_get(job, "events"), *t = json_object_get(job, "timeout_ms");
	json_t *now = json_object_get(job, "now");
	docket_host_job hj = {
		.plugin = json_string_value(json_object_get(job, "plugin")),
		.case_id = json_string_value(json_object_get(job, "case")),
		.workflow = json_string_value(json_object_get(job, "workflow")),
		.stage = json_string_value(json_object_get(job, "stage")),
		.key = json_string_value(json_object_get(job, "key")),
		.attempt = j->attempt,
		.now_ms = json_is_integer(now) ? json_integer_value(now) : wall_ms(),
		.with = json_object_get(job, "with"),
		.fields = json_object_get(job, "fields"),
		.events = json_is_array(ev) ? ev : NULL,
	};
	docket_host_msg m;

	if (!hj.plugin || !hj.case_id || !hj.key || !json_is_object(hj.fields))
		return docket_err_set(err, DOCKET_EINVAL, "job: 'plugin', 'case', 'key' and 'fields' are required");
	if (hj.with && !json_is_object(hj.with))
		hj.with = NULL;
	hj.timeout_ms = json_is_integer(t) && json_integer_value(t) > 0 ? json_integer_value(t)
									 : r->default_timeout_ms;
	if (!(j->frame = docket_hostproto_job(&hj)))
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	json_object_set_new(j->frame, "id", json_integer(0));
	docket_err derr = {0};
	if (docket_hostproto_decode(j->frame, &m, &derr))
		return docket_err_set(err, DOCKET_EINVAL, "job: %s", derr.msg);
	j->timeout_ms = hj.timeout_ms;
	j->events = json_object_get(j->frame, "events");
	if (json_is_null(j->events))
		j->events = NULL;
	if (!(j->key = strdup(hj.key)) || !(j->case_id = strdup(hj.case_id)) ||
	    !(j->plugin = strdup(hj.plugin)))
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	return 0;
}

int docket_runner_submit(docket_runner *r, const json_t *job, docket_err *err)
{
	const char *key = json_string_value(json_object_get(job, "key"));
	json_t *b = json_object_get(job, "backoff_ms");
	struct job *j, **tail;
	int rc;

	if (r->stopping)
		return docket_err_set(err, DOCKET_ESTATE, "the runner is stopping");
	if (!json_is_object(job) || !key)
		return docket_err_set(err, DOCKET_EINVAL, "job: not an outbox entry with a 'key'");
	if (find_job(r, key))
		return docket_err_set(err, DOCKET_EEXIST, "job %s is already in flight", key);
	if (!(j = calloc(1, sizeof *j)))
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	if ((rc = get_u32(job, "entry", true, &j->entry, err)) ||
	    (rc = get_u32(job, "attempt", false, &j->attempt, err)) ||
	    (rc = make_frame(r, job, j, err))) {
		job_free(j);
		return rc;
	}
	j->submitted_ns = uv_hrtime();
	/* Jitter: a retry waits a further 0..50% of the backoff before it. */
	if (j->attempt > 0 && json_is_integer(b) && json_integer_value(b) > 0) {
		unsigned shift = j->attempt - 1 < 20 ? j->attempt - 1 : 20;
		uint64_t before = (uint64_t)json_integer_value(b) << shift;
		uint64_t spread = before / 2 + 1;
		j->not_before_ns = j->submitted_ns + next_random(r) % spread * 1000000;
	}
	for (tail = &r->jobs; *tail; tail = &(*tail)->next)
		;
	*tail = j;
	kick(r, 0);
	return 0;
}

void docket_runner_settled(docket_runner *r, const char *key)
{
	struct job *j = key ? find_job(r, key) : NULL;

	if (!j || j->state != J_SETTLING)
		return;
	unlink_job(r, j);
	job_free(j);
}

bool docket_runner_has(const docket_runner *r, const char *key)
{
	return key && find_job(r, key) != NULL;
}

size_t docket_runner_active(const docket_runner *r)
{
	size_t n = 0;
	for (struct job *j = r->jobs; j; j = j->next)
		n += j->state != J_SETTLING;
	return n;
}

size_t docket_runner_unquarantine(docket_runner *r, const char *plugin)
{
	size_t n = 0;

	for (struct plugstat *s = r->stats; s; s = s->next) {
		if (plugin && strcmp(s->name, plugin))
			continue;
		if (s->quarantined) {
			n++;
			logf_(r, DOCKET_RLOG_INFO, "plugin %s released from quarantine", s->name);
		}
		s->quarantined = false;
		s->crashes = 0;
	}
	return n;
}

bool docket_runner_quarantined(const docket_runner *r, const char *plugin)
{
	for (const struct plugstat *s = r->stats; s; s = s->next)
		if (!strcmp(s->name, plugin))
			return s->quarantined;
	return false;
}

static void kick_closed(uv_handle_t *h)
{
	docket_runner *r = h->data;
	r->kick_open = false;
	maybe_finish(r);
}

static void maybe_finish(docket_runner *r)
{
	if (!r->stopping || r->live || r->kick_open)
		return;
	while (r->jobs) {
		struct job *j = r->jobs;
		r->jobs = j->next;
		job_free(j);
	}
	while (r->stats) {
		struct plugstat *s = r->stats;
		r->stats = s->next;
		free(s->name);
		free(s);
	}
	void (*done)(void *) = r->done;
	void *ctx = r->done_ctx;
	free(r->host_path);
	free(r->plugins_dir);
	free(r->home);
	free(r->slots);
	free(r);
	if (done)
		done(ctx);
}

void docket_runner_stop(docket_runner *r, void (*done)(void *ctx), void *ctx)
{
	if (!r || r->stopping)
		return;
	r->stopping = true;
	r->done = done;
	r->done_ctx = ctx;
	for (struct job *j = r->jobs; j; j = j->next)
		j->host = NULL;
	for (unsigned i = 0; i < r->nhosts; i++) {
		struct host *hs = r->slots[i];
		if (!hs)
			continue;
		hs->job = NULL;
		if (hs->exited)
			host_close(hs);
		else
			host_kill(hs);  /* the exit callback closes it */
	}
	uv_timer_stop(&r->kick);
	uv_close((uv_handle_t *)&r->kick, kick_closed);
}
