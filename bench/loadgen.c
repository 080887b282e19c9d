/*
 * loadgen - drives a running docketd over its socket and reports what a
 * person would ask of it: how long one request takes, and how many
 * transitions per second it commits with N clients at once.
 *
 * The daemon must serve bench/workflows (the `flip` workflow), e.g.:
 *
 *   build/engine/docketd --home /tmp/bench-home --workflows bench/workflows &
 *   build/bench/loadgen --socket /tmp/bench-home/docketd.sock --rtt 1000
 *   build/bench/loadgen --socket /tmp/bench-home/docketd.sock --clients 8 --seconds 10
 *
 * --rtt N: one client times N `show` and N `advance` requests one after
 * the other (median, p90, p99 in microseconds).  --clients N: N processes,
 * each with its own case, send `advance ... flip` back to back for the
 * given seconds; the total is divided by the wall time.  Both end with the
 * daemon's own figures from `status`: commits, operations per commit and
 * peak RSS.
 *
 * --workload sales-order: the side-by-side benchmark (bench/run.sh).
 * --preload K first stores K closed cases of bench-sales-order in batches;
 * then --clients N connections, each with one request in flight, create
 * cases and drive them along the route of versus.c to `closed` for
 * --seconds (one thread waits on all of them), and one `result` line reports
 * transitions/s, latency, the bytes docketd wrote per transition (its
 * /proc/PID/io), its peak RSS and the operations per commit it achieved.
 *
 * --workload sales-order-noop: the same route through
 * bench-sales-order-noop, whose automatic stages run the no-op plugin.
 * Clients fire only the events a person fires; the protocol has no push,
 * so after an event that enters an automatic stage the client polls
 * `show` (plugin_step says how often) until the plugin's event has moved
 * the case on, and that step is timed from its send to
 * the reply that shows the move.  The plugin's transitions count in
 * transitions/s; the result line says peer=docket-noop.
 *
 * --reply brief (the default for both workloads): every write asks for
 * the brief reply ({id, stage, seq}), as the SQL peers' clients get only
 * the new sequence number back; --reply case takes the whole case with
 * every write instead (peer=docket-case, docket-noop-case).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "dclient.h"
#include "versus.h"

static const char *sock_path;
static const char *as_user;
static bool brief = true;   /* --reply brief (the default) or case */

/* A new flip case; its id into id.  Returns 0 or -1 with a message. */
static int new_case(dclient *c, char *id, size_t size)
{
	json_t *r = dclient_call(c, as_user, "new", json_pack("{s:s}", "workflow", "flip"));
	const char *s = r ? json_string_value(json_object_get(json_object_get(r, "result"), "id"))
			  : NULL;

	if (!s) {
		char *dump = r ? json_dumps(r, 0) : NULL;
		fprintf(stderr, "loadgen: cannot create a flip case (does the daemon serve "
			"bench/workflows?): %s\n", dump ? dump : "no reply");
		free(dump);
		json_decref(r);
		return -1;
	}
	snprintf(id, size, "%s", s);
	json_decref(r);
	return 0;
}

static int request_ok(dclient *c, const char *op, json_t *args)
{
	json_t *r = dclient_call(c, as_user, op, args);
	int ok = r && json_is_true(json_object_get(r, "ok"));

	if (!ok) {
		char *dump = r ? json_dumps(r, 0) : NULL;
		fprintf(stderr, "loadgen: %s failed: %s\n", op, dump ? dump : "no reply");
		free(dump);
	}
	json_decref(r);
	return ok ? 0 : -1;
}

static void report_times(const char *what, int64_t *ns, int n)
{
	printf("%-8s n=%d  median %.1f us  p90 %.1f us  p99 %.1f us\n", what, n,
	       versus_percentile(ns, (size_t)n, 50) / 1e3,
	       versus_percentile(ns, (size_t)n, 90) / 1e3,
	       versus_percentile(ns, (size_t)n, 99) / 1e3);
}

static int rtt(int n)
{
	dclient c;
	char id[64];
	int64_t *ns = calloc((size_t)n, sizeof *ns);

	if (!ns || dclient_open(&c, sock_path)) {
		fprintf(stderr, "loadgen: cannot connect to %s\n", sock_path);
		free(ns);
		return 1;
	}
	if (new_case(&c, id, sizeof id))
		return 1;
	for (int i = 0; i < n; i++) {
		int64_t t = versus_now_ns();
		if (request_ok(&c, "show", json_pack("{s:s}", "case", id)))
			return 1;
		ns[i] = versus_now_ns() - t;
	}
	report_times("show", ns, n);
	for (int i = 0; i < n; i++) {
		int64_t t = versus_now_ns();
		if (request_ok(&c, "advance", json_pack("{s:s, s:s}", "case", id, "event", "flip")))
			return 1;
		ns[i] = versus_now_ns() - t;
	}
	report_times("advance", ns, n);
	free(ns);
	dclient_close(&c);
	return 0;
}

/* One client process: wait for the go byte, flip until the deadline,
 * write how many transitions it committed. */
static void client(int go, int out, double seconds)
{
	dclient c;
	char id[64], b;
	long n = 0;

	if (dclient_open(&c, sock_path) || new_case(&c, id, sizeof id))
		_exit(1);
	if (read(go, &b, 1) != 1)
		_exit(1);
	int64_t end = versus_now_ns() + (int64_t)(seconds * 1e9);
	while (versus_now_ns() < end) {
		if (request_ok(&c, "advance", json_pack("{s:s, s:s}", "case", id, "event", "flip")))
			_exit(1);
		n++;
	}
	if (write(out, &n, sizeof n) != sizeof n)
		_exit(1);
	dclient_close(&c);
	_exit(0);
}

static int load(int clients, double seconds)
{
	int go[2], out[2], failed = 0;
	long total = 0, n;
	pid_t *kids = calloc((size_t)clients, sizeof *kids);

	if (!kids || pipe(go) || pipe(out))
		return 1;
	for (int i = 0; i < clients; i++) {
		if ((kids[i] = fork()) == 0) {
			close(go[1]);
			close(out[0]);
			client(go[0], out[1], seconds);
		}
	}
	close(go[0]);
	close(out[1]);
	int64_t t = versus_now_ns();
	for (int i = 0; i < clients; i++)
		if (write(go[1], "g", 1) != 1)
			return 1;
	while (read(out[0], &n, sizeof n) == sizeof n)
		total += n;
	double wall = (double)(versus_now_ns() - t) / 1e9;
	for (int i = 0; i < clients; i++) {
		int st;
		waitpid(kids[i], &st, 0);
		failed += !WIFEXITED(st) || WEXITSTATUS(st);
	}
	free(kids);
	printf("clients %d  transitions %ld  in %.2f s  = %.0f transitions/s%s\n", clients, total,
	       wall, (double)total / wall, failed ? "  (some clients failed)" : "");
	return failed ? 1 : 0;
}

/* The daemon's status, or NULL. */
static json_t *daemon_status(void)
{
	dclient c;
	json_t *r, *s = NULL;

	if (dclient_open(&c, sock_path))
		return NULL;
	r = dclient_call(&c, NULL, "status", NULL);
	if (r)
		s = json_incref(json_object_get(r, "result"));
	json_decref(r);
	dclient_close(&c);
	return s;
}

static long long num(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* What the daemon did during the run, from two status documents. */
static void daemon_figures(json_t *before, json_t *after)
{
	if (!before || !after)
		return;
	long long commits = num(after, "commits") - num(before, "commits");
	long long ops = num(after, "ops") - num(before, "ops");
	printf("docketd: %lld commits of %lld operations (%.1f per commit, largest so far %lld), "
	       "peak RSS %lld KiB\n", commits, ops, commits ? (double)ops / (double)commits : 0.0,
	       num(after, "max_batch"), num(after, "rss_peak_kb"));
}


/* The workflow the sales-order clients drive; preload always stores
 * bench-sales-order cases. */
#define WF "bench-sales-order"
static const char *wf = WF;

static json_t *loads(const char *text)
{
	return json_loads(text, 0, NULL);
}

/* A reply to a batch with every result ok, or an error printed. */
static int batch_ok(json_t *r, size_t n)
{
	json_t *rs = json_object_get(r, "results");
	size_t i;
	json_t *v;

	if (!r || json_array_size(rs) != n)
		goto bad;
	json_array_foreach(rs, i, v)
		if (!json_is_true(json_object_get(v, "ok")))
			goto bad;
	return 0;
bad:;
	char *dump = r ? json_dumps(r, 0) : NULL;
	fprintf(stderr, "loadgen: preload batch failed: %.400s\n", dump ? dump : "no reply");
	free(dump);
	return -1;
}

static json_t *call_batch(dclient *c, json_t *ops)
{
	json_t *req = json_pack("{s:i, s:o}", "id", c->next_id++, "batch", ops);
	json_t *r = NULL;

	if (req && !dclient_send(c, req))
		dclient_recv(c, &r, 120000);
	json_decref(req);
	return r;
}

/* k closed cases, 1000 to a batch: a batch of `new`, then one batch per
 * step of the route for the cases it created. */
static int preload(long k)
{
	dclient c;
	char ids[1000][32];

	if (dclient_open(&c, sock_path))
		return -1;
	for (long done = 0; done < k;) {
		size_t n = (size_t)(k - done < 1000 ? k - done : 1000);
		json_t *ops = json_array(), *r, *v;
		size_t i;

		for (i = 0; i < n; i++)
			json_array_append_new(ops, json_pack("{s:s, s:{s:s, s:o}}", "op", "new",
				"args", "workflow", WF, "fields", loads(versus_new_fields)));
		r = call_batch(&c, ops);
		if (batch_ok(r, n))
			return -1;
		json_array_foreach(json_object_get(r, "results"), i, v)
			snprintf(ids[i], sizeof ids[i], "%s", json_string_value(json_object_get(
				json_object_get(v, "result"), "id")));
		json_decref(r);
		for (int s = 0; s < VERSUS_STEPS; s++) {
			ops = json_array();
			for (i = 0; i < n; i++)
				json_array_append_new(ops, json_pack("{s:s, s:{s:s, s:s, s:o}}",
					"op", "advance", "args", "case", ids[i], "event",
					versus_route[s].event, "fields", loads(versus_route[s].fields)));
			r = call_batch(&c, ops);
			if (batch_ok(r, n))
				return -1;
			json_decref(r);
		}
		done += (long)n;
	}
	dclient_close(&c);
	return 0;
}

/* The fields step i sends: the route's, or what noop_plan made of them. */
static char *step_fields[VERSUS_STEPS];

/* --- sales-order-noop: the plugin fires the events of automatic stages */

/* The stages of workflows/sales-order.yaml that run a plugin, which run
 * the no-op plugin in bench-sales-order-noop.yaml. */
static const char *const auto_stages[] = {
	"stock_check", "production_order", "shipping", "invoicing", "dunning", NULL,
};

/* by_plugin[i]: route step i is the event of an automatic stage, which
 * the plugin fires.  step_fields[i]: what a client sends with step i, a
 * person's event, plus the fields of the plugin's step after it: the
 * no-op plugin sets none, and the events it fires require some
 * (`shipped` needs tracking, `invoiced` invoice_no), so each case still
 * ends with the same fields as in the plain workload. */
static bool by_plugin[VERSUS_STEPS];
static const char *after_plugin[VERSUS_STEPS];  /* the stage step i's plugin moves to */

static bool automatic(const char *stage)
{
	for (int i = 0; auto_stages[i]; i++)
		if (!strcmp(auto_stages[i], stage))
			return true;
	return false;
}

static const char *json_field(void *ctx, const char *name)
{
	return json_string_value(json_object_get(ctx, name));
}

/* Walks the route through the workflow's table to find the plugin's
 * steps; each must follow a person's step, which waits for it. */
static int noop_plan(void)
{
	json_t *fields = loads(versus_new_fields), *send[VERSUS_STEPS];
	const char *stage = versus_stages[0];
	int i, rc = 0;

	for (i = 0; i < VERSUS_STEPS && !rc; i++) {
		json_t *f = send[i] = loads(versus_route[i].fields);
		json_object_update(fields, f);
		const versus_transition *t = versus_find(stage, versus_route[i].event,
							 json_field, fields);
		if (!t || (automatic(stage) && (i == 0 || by_plugin[i - 1]))) {
			rc = -1;
		} else if (automatic(stage)) {
			by_plugin[i] = true;
			after_plugin[i] = t->to;
			json_object_update(send[i - 1], f);
		}
		stage = t ? t->to : stage;
	}
	while (i-- > 0) {
		step_fields[i] = rc ? NULL : json_dumps(send[i], 0);
		json_decref(send[i]);
	}
	json_decref(fields);
	if (rc)
		fprintf(stderr, "loadgen: the route does not fit the workflow's table\n");
	return rc;
}

/* --- the clients: N connections, one thread ------------------------------ */

/* One client: a connection with one request in flight, creating a case
 * and driving it along the route to `closed`, then the next.  All of them
 * are driven from one thread that waits on every socket at once (epoll),
 * as load generators for servers are: a thread per client would make the
 * kernel wake one thread per reply, on the two cores the daemon runs on. */
typedef struct conn {
	dclient c;
	char id[32];
	int step;               /* the route step in flight; -1: the creation */
	int64_t sent;           /* when the step went */
	bool busy;              /* a request is in flight */
	bool polling;           /* waiting for a plugin to move the case on */
	int64_t poll_at, pause; /* then: when to ask again, and the last pause */
} conn;

typedef struct drive {
	conn *cs;
	int n;
	bool noop;
	int64_t end;
	versus_samples lat;     /* one per timed step */
	long transitions;
	json_t *new_fields, *fields[VERSUS_STEPS];
} drive;

static int send_req(conn *k, const char *op, json_t *args)
{
	json_t *req = dclient_request(&k->c, as_user, op, args);
	int rc = dclient_send(&k->c, req);

	json_decref(req);
	if (rc) {
		fprintf(stderr, "loadgen: cannot send %s: %s\n", op, strerror(-rc));
		return -1;
	}
	k->busy = true;
	return 0;
}

/* A write's args with the reply the run asks for (--reply). */
static json_t *with_reply(json_t *args)
{
	if (args && brief)
		json_object_set_new(args, "reply", json_string("brief"));
	return args;
}

/* The client's next step, a new case after the last, none after the end. */
static int next_step(drive *d, conn *k)
{
	int64_t now = versus_now_ns();

	if (now >= d->end)
		return 0;
	k->sent = now;
	if (k->step < 0 || k->step >= VERSUS_STEPS) {
		k->step = -1;
		return send_req(k, "new", with_reply(json_pack("{s:s, s:O}", "workflow", wf,
							       "fields", d->new_fields)));
	}
	return send_req(k, "advance", with_reply(json_pack("{s:s, s:s, s:O}", "case", k->id,
				"event", versus_route[k->step].event, "fields",
				d->fields[k->step])));
}

/* The step in flight is done: time it, count it and what a plugin did. */
static int step_done(drive *d, conn *k, int transitions)
{
	if (versus_sample(&d->lat, versus_now_ns() - k->sent))
		return -1;
	d->transitions += transitions;
	k->step += transitions;
	k->polling = false;
	return next_step(d, k);
}

static const char *stage_of(json_t *reply, const char **action_state)
{
	json_t *c = json_object_get(reply, "result");

	*action_state = json_string_value(json_object_get(json_object_get(c, "action"), "state"));
	return json_string_value(json_object_get(c, "stage"));
}

static int failed(conn *k, const char *what, json_t *reply)
{
	char *dump = reply ? json_dumps(reply, 0) : NULL;

	fprintf(stderr, "loadgen: %s %s failed: %.400s\n",
		k->step < 0 ? "new" : k->polling ? "waiting for the plugin after" : "advance",
		what, dump ? dump : "no reply");
	free(dump);
	return -1;
}

/* After a person's event that enters an automatic stage, the client polls
 * `show` until the plugin's event has moved the case on; that step is
 * timed from its send to the reply that shows the move.  The pause
 * doubles from 100 us up to 800 us, or a quarter of the wait so far when
 * that is longer: a step is timed within a quarter of its length, and a
 * slow plugin under load is not answered by a flood of `show`. */
static int plugin_step(drive *d, conn *k, json_t *reply)
{
	int i = k->step;
	const char *astate, *stage = stage_of(reply, &astate);
	int64_t now = versus_now_ns();

	if (stage && !strcmp(stage, after_plugin[i + 1]))
		return step_done(d, k, 2);
	if (!stage || (astate && !strcmp(astate, "failed")) ||
	    now - k->sent > (int64_t)DCLIENT_TIMEOUT_MS * 1000000)
		return failed(k, versus_route[i].event, reply);
	if (!k->polling)
		k->pause = 100000;
	else if (k->pause < 800000)
		k->pause *= 2;
	else
		k->pause = (now - k->sent) / 4 > 800000 ? (now - k->sent) / 4 : 800000;
	k->polling = true;
	k->poll_at = now + k->pause;
	return 0;
}

static int on_reply(drive *d, conn *k, json_t *reply)
{
	k->busy = false;
	if (!json_is_true(json_object_get(reply, "ok")))
		return failed(k, k->step < 0 ? wf : versus_route[k->step].event, reply);
	if (k->step < 0) {
		const char *id = json_string_value(json_object_get(json_object_get(reply,
								"result"), "id"));
		if (!id || strlen(id) >= sizeof k->id)
			return failed(k, wf, reply);
		strcpy(k->id, id);
		return step_done(d, k, 1);
	}
	if (d->noop && k->step + 1 < VERSUS_STEPS && by_plugin[k->step + 1])
		return plugin_step(d, k, reply);
	return step_done(d, k, 1);
}

/* What arrived on k's socket: one read, then every whole reply in it (the
 * socket is polled again if a read left more). */
static int readable(drive *d, conn *k)
{
	json_t *m;
	int rc = dclient_fill(&k->c);

	while (rc >= 0 && (rc = dclient_take(&k->c, &m)) == 1) {
		rc = on_reply(d, k, m);
		json_decref(m);
		if (rc)
			return -1;
	}
	if (rc < 0)
		fprintf(stderr, "loadgen: connection lost: %s\n", strerror(-rc));
	return rc < 0 ? -1 : 0;
}

/* Sends the `show` of every client whose pause is over; the time until the
 * next one's (-1: none waits, 0 when nothing is in flight either). */
static int64_t polls(drive *d, int *rc)
{
	int64_t now = versus_now_ns(), wait = -1;
	bool busy = false;

	for (int i = 0; i < d->n && !*rc; i++) {
		conn *k = &d->cs[i];
		if (k->polling && !k->busy && k->poll_at <= now)
			*rc = send_req(k, "show", json_pack("{s:s}", "case", k->id));
		if (k->polling && !k->busy && (wait < 0 || k->poll_at - now < wait))
			wait = k->poll_at - now;
		busy |= k->busy;
	}
	return wait < 0 && !busy ? 0 : wait;
}

static int drive_loop(drive *d, int ep)
{
	struct epoll_event ev[64];
	int rc = 0;

	for (;;) {
		int64_t wait = polls(d, &rc);
		if (rc || wait == 0)
			return rc;
		struct timespec ts = {wait / 1000000000, wait % 1000000000};
		int n = epoll_pwait2(ep, ev, 64, wait > 0 ? &ts : NULL, NULL);
		if (n < 0 && errno != EINTR) {
			perror("loadgen: epoll_pwait2");
			return -1;
		}
		for (int i = 0; i < n && !rc; i++)
			rc = readable(d, ev[i].data.ptr);
		if (rc)
			return rc;
	}
}

static int drive_start(drive *d, int ep)
{
	for (int i = 0; i < d->n; i++) {
		conn *k = &d->cs[i];
		if (dclient_open(&k->c, sock_path)) {
			fprintf(stderr, "loadgen: cannot connect to %s\n", sock_path);
			return -1;
		}
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = k};
		if (epoll_ctl(ep, EPOLL_CTL_ADD, k->c.fd, &ev)) {
			perror("loadgen: epoll_ctl");
			return -1;
		}
	}
	return 0;
}

/* clients connections create cases and drive them along the route for
 * the given seconds; every step timed from send to reply. */
static int drive_run(int clients, double seconds, bool noop, versus_result *r)
{
	drive d = {.n = clients, .noop = noop, .end = INT64_MAX};
	int ep = epoll_create1(EPOLL_CLOEXEC), rc = -1;

	memset(r, 0, sizeof *r);
	d.cs = calloc((size_t)clients, sizeof *d.cs);
	d.new_fields = loads(versus_new_fields);
	bool ok = ep >= 0 && d.cs && d.new_fields;
	for (int i = 0; d.cs && i < clients; i++)
		d.cs[i].c.fd = -1;  /* not connected yet */
	for (int i = 0; ok && i < VERSUS_STEPS; i++)
		ok = (d.fields[i] = loads(step_fields[i] ? step_fields[i] : versus_route[i].fields));
	if (ok && !drive_start(&d, ep)) {
		int64_t t0 = versus_now_ns();
		d.end = t0 + (int64_t)(seconds * 1e9);
		rc = 0;
		for (int i = 0; i < clients && !rc; i++) {
			d.cs[i].step = -1;
			rc = next_step(&d, &d.cs[i]);
		}
		if (!rc)
			rc = drive_loop(&d, ep);
		r->seconds = (double)(versus_now_ns() - t0) / 1e9;
	}
	r->transitions = d.transitions;
	r->p50_us = versus_percentile(d.lat.ns, d.lat.n, 50) / 1e3;
	r->p99_us = versus_percentile(d.lat.ns, d.lat.n, 99) / 1e3;
	r->failed = rc != 0;
	for (int i = 0; d.cs && i < clients; i++)
		if (d.cs[i].c.fd >= 0)
			dclient_close(&d.cs[i].c);
	for (int i = 0; i < VERSUS_STEPS; i++)
		json_decref(d.fields[i]);
	json_decref(d.new_fields);
	free(d.cs);
	free(d.lat.ns);
	if (ep >= 0)
		close(ep);
	return rc;
}


static int sales_order(long preload_k, int clients, double seconds, bool noop)
{
	versus_result r;

	if (preload_k > 0 && preload(preload_k))
		return 1;
	if (!clients)
		return 0;
	json_t *before = daemon_status();
	pid_t pid = (pid_t)num(before, "pid");
	long long w0 = versus_write_bytes(pid);
	if (noop && noop_plan())
		return 1;
	wf = noop ? WF "-noop" : WF;
	int rc = drive_run(clients, seconds, noop, &r);
	long long w1 = versus_write_bytes(pid);
	json_t *after = daemon_status();
	long long commits = num(after, "commits") - num(before, "commits");
	long long ops = num(after, "ops") - num(before, "ops");

	versus_print(noop ? (brief ? "docket-noop" : "docket-noop-case")
			  : (brief ? "docket" : "docket-case"), clients, &r,
		     r.transitions && w0 >= 0 && w1 >= 0 ? (double)(w1 - w0) / (double)r.transitions : -1,
		     num(after, "rss_peak_kb"), commits ? (double)ops / (double)commits : 0);
	json_decref(before);
	json_decref(after);
	for (int i = 0; i < VERSUS_STEPS; i++)
		free(step_fields[i]);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"clients", required_argument, NULL, 'c'},
		{"seconds", required_argument, NULL, 't'},
		{"rtt", required_argument, NULL, 'r'},
		{"as", required_argument, NULL, 'a'},
		{"workload", required_argument, NULL, 'w'},
		{"preload", required_argument, NULL, 'p'},
		{"reply", required_argument, NULL, 'y'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int clients = 0, n = 0, o, rc = 0;
	const char *workload = NULL;
	long preload_k = 0;
	double seconds = 10;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 's': sock_path = optarg; break;
		case 'c': clients = atoi(optarg); break;
		case 't': seconds = atof(optarg); break;
		case 'r': n = atoi(optarg); break;
		case 'a': as_user = optarg; break;
		case 'w': workload = optarg; break;
		case 'p': preload_k = atol(optarg); break;
		case 'y':
			if (strcmp(optarg, "brief") && strcmp(optarg, "case")) {
				fprintf(stderr, "loadgen: --reply is brief or case\n");
				return 2;
			}
			brief = !strcmp(optarg, "brief");
			break;
		default:
			fprintf(stderr, "usage: loadgen --socket PATH [--rtt N] [--clients N "
				"[--seconds S]] [--as USER] [--workload sales-order "
				"[--preload K] | --workload sales-order-noop] [--reply brief|case]\n");
			return o == 'h' ? 0 : 2;
		}
	}
	if (!sock_path || (!clients && !n && !workload) || clients < 0 || n < 0 || seconds <= 0) {
		fprintf(stderr, "loadgen: give --socket and --rtt N or --clients N\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (workload) {
		bool noop = !strcmp(workload, "sales-order-noop");
		if ((!noop && strcmp(workload, "sales-order")) || (!clients && !preload_k) ||
		    (noop && preload_k)) {
			fprintf(stderr, "loadgen: --workload sales-order needs --clients N "
				"or --preload K, sales-order-noop --clients N\n");
			return 2;
		}
		return sales_order(preload_k, clients, seconds, noop);
	}
	json_t *before = daemon_status();
	if (n)
		rc |= rtt(n);
	if (clients)
		rc |= load(clients, seconds);
	json_t *after = daemon_status();
	daemon_figures(before, after);
	json_decref(before);
	json_decref(after);
	return rc;
}
