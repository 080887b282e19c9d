/*
 * scale - what a person sees of Docket at a million cases: a store of
 * 1,000,000 bench-sales-order cases with 10,000,000 history entries,
 * served by the real docketd, read through its socket and through the
 * `docket` command line (docs/performance.md, "Scale").
 *
 *   build/bench/scale [--cases N] [--history-per-case H] [--reps N]
 *                     [--cli-reps N] [--dir DIR] [--keep] [--check]
 *
 * 1. Preload through the engine library into a new home in a temporary
 *    directory: the store opened without fsync (MDB_NOSYNC) and synced
 *    once at the end, batches of up to 5000 operations on an injected
 *    clock.  Cases are created over the past year, oldest first; about
 *    90% walk the sales-order route to `closed` (a tenth of those are
 *    cancelled early), about 10% stay open at some stage of the route,
 *    most of them recent; the old open ones are past their SLA.  Open
 *    cases and half the closed ones have one of eight assignees; notes
 *    bring the history to H entries per case on average.
 * 2. Start docketd on that home and time exec to the first answered
 *    `status`, then time `show`, `history`, `list --stage` (first page,
 *    each stage that holds open cases), `stuck` (first page) and `stats`
 *    over the socket; read the daemon's RSS; time whole `docket show` and
 *    `docket stuck` processes.
 * 3. Print a table and one `scale ...` line for scripts; stop the daemon
 *    and remove the directory (also on Ctrl-C; --keep leaves it).
 *
 * --check asserts what the daemon answers (counts per stage, each page's
 * stage, the length of histories) against the plan: the quick self-check
 * of the test suite.  It asserts nothing about time.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "dclient.h"
#include "internal.h"
#include "versus.h"

#define WF "bench-sales-order"
#define DAY_MS INT64_C(86400000)
#define HOUR_MS INT64_C(3600000)
#define CHUNK_MAX 5000          /* cases per round of batches */
#define NASSIGNEES 8
#define BUDGET_NS INT64_C(30000000000)  /* at most this long per read kind */

extern char **environ;

/* The stage a case is in after k steps of versus_route: received .. closed. */
static const char *const route_stage[VERSUS_STEPS + 1] = {
	"received", "stock_check", "short_supply", "new_date", "production_order",
	"in_production", "shipping", "tracking_sent", "invoicing", "collection", "closed",
};
#define COLLECTION 9            /* route_stage index with a 30-day timer */

/* The SLA of each stage of the route, in hours (the workflow's). */
static const int route_sla_h[VERSUS_STEPS] = {24, 4, 24, 24, 4, 21 * 24, 48, 4, 24, 30 * 24};

static const char *const assignees[NASSIGNEES] = {
	"ana", "ben", "chloe", "dev", "eva", "farid", "grace", "hugo",
};
static const char *const customers[] = {
	"Acme Fasteners Ltd", "Borealis Tooling", "Castellan Hardware", "Delta Marine Supply",
	"Eastgate Builders", "Fjord Industrial", "Granite & Sons", "Harbour Fixings",
	"Ironbridge Works", "Juniper Plant Hire", "Keystone Contractors", "Lindqvist AB",
};
#define NCUSTOMERS (sizeof customers / sizeof *customers)

enum { END_OPEN, END_PAID, END_CANCEL };

/* What one case goes through, decided before anything is written. */
typedef struct plan {
	uint8_t steps;          /* route steps fired */
	uint8_t end;            /* END_* */
	uint8_t notes;
	uint8_t assignee;       /* 0: none, else assignees[assignee - 1] */
	int64_t last_at;        /* 0, or when the last step is fired (after every round) */
} plan;

typedef struct config {
	long cases;
	long hist_per_case;
	int reps, cli_reps;
	const char *base, *docketd, *docket, *workflows;
	bool keep, check;
} config;

static volatile sig_atomic_t interrupted;
static int64_t fake_now;
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int64_t fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double unit(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* --- the plan ------------------------------------------------------------ */

typedef struct layout {
	long chunk;             /* cases per round */
	int64_t now;            /* the real clock when planning */
	int64_t t_end;          /* the last round's batches end before this */
	int64_t span;           /* creation times cover [t_end - span, t_end) */
	int64_t step;           /* clock advance between batches of a round */
} layout;

static int64_t chunk_start(const layout *l, long ncases, long first)
{
	long nchunks = (ncases + l->chunk - 1) / l->chunk;
	long k = first / l->chunk;
	return l->t_end - (nchunks - k) * (l->span / nchunks);
}

/* A recent open case entered its stage some time within 1.5 times the
 * stage's SLA before now (so about a third of them are late), never
 * before its round: 0 when that leaves it where its round put it. */
static int64_t last_step_at(const layout *l, long n, long i, int steps)
{
	int64_t ago = (int64_t)(unit() * 1.5 * route_sla_h[steps] * (double)HOUR_MS);

	if (steps == COLLECTION && ago > 25 * DAY_MS)
		ago = 25 * DAY_MS;   /* its 30-day timer not yet due */
	int64_t at = l->now - 60000 - ago;
	return at > chunk_start(l, n, i) + 40 * l->step ? at : 0;
}

/* Open cases are mostly the recent ones: 60% of the newest 5%, 35% of the
 * next 15%, 2% of the rest (10% in all).  An open case stands at a random
 * stage of the route; a closed one is paid (80%) or cancelled before
 * production (20%).  The old open cases are the backlog `stuck` finds.
 * Returns the total history entries before notes. */
static long make_plan(plan *p, long n, const layout *l)
{
	long total = 0;

	for (long i = 0; i < n; i++) {
		double age = 1.0 - ((double)i + 0.5) / (double)n;
		double p_open = age < 0.05 ? 0.60 : age < 0.20 ? 0.35 : 0.02;
		plan *c = &p[i];

		memset(c, 0, sizeof *c);
		if (unit() < p_open) {
			c->end = END_OPEN;
			c->steps = (uint8_t)(rnd() % VERSUS_STEPS);
			/* An open case in collection a month after its entry has a
			 * due timer the daemon would fire at start: keep it one
			 * stage short, as the store would look after the timer. */
			if (c->steps == COLLECTION && chunk_start(l, n, i) < l->t_end - 25 * DAY_MS)
				c->steps--;
			c->assignee = (uint8_t)(1 + rnd() % NASSIGNEES);
			if (age < 0.2 && c->steps > 0)
				c->last_at = last_step_at(l, n, i, c->steps);
			total += 1 + c->steps + 1;
		} else if (unit() < 0.8) {
			c->end = END_PAID;
			c->steps = VERSUS_STEPS;
			c->assignee = unit() < 0.5 ? (uint8_t)(1 + rnd() % NASSIGNEES) : 0;
			total += 1 + c->steps + (c->assignee != 0);
		} else {
			c->end = END_CANCEL;
			c->steps = (uint8_t)(rnd() % 4);
			c->assignee = unit() < 0.5 ? (uint8_t)(1 + rnd() % NASSIGNEES) : 0;
			total += 1 + c->steps + 1 + (c->assignee != 0);
		}
	}
	return total;
}

/* Spread `extra` notes evenly over the cases (at most 255 each). */
static void spread_notes(plan *p, long n, long extra)
{
	long per = extra / n, rest = extra % n;

	for (long i = 0; i < n; i++) {
		long k = per + ((i + 1) * rest / n - i * rest / n);
		p[i].notes = (uint8_t)(k > 255 ? 255 : k);
	}
}

static long plan_entries(const plan *c)
{
	return 1 + c->steps + (c->end == END_CANCEL) + (c->assignee != 0) + c->notes;
}

/* --- preload ------------------------------------------------------------- */

typedef struct preload {
	docket_engine *eng;
	docket_op *ops;
	docket_result *res;
	char (*ids)[DOCKET_ID_MAX];
	json_t **fields;        /* creation fields of the round's cases */
	json_t *step_fields[VERSUS_STEPS];
	json_t *cancel_fields;
	docket_actor staff[NASSIGNEES];
	long batches, ops_done;
} preload;

static int apply(preload *pl, size_t n, const char *what)
{
	if (n == 0)
		return 0;
	int rc = docket_engine_apply(pl->eng, pl->ops, n, pl->res);
	if (rc) {
		fprintf(stderr, "scale: %s batch failed: %s\n", what, pl->res[0].err.msg);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (pl->res[i].code) {
			fprintf(stderr, "scale: %s refused for %s: %s\n", what,
				pl->ops[i].case_id ? pl->ops[i].case_id : "a new case",
				pl->res[i].err.msg);
			return -1;
		}
	}
	pl->batches++;
	pl->ops_done += (long)n;
	return 0;
}

static json_t *new_fields(void)
{
	json_t *f = json_loads(versus_new_fields, 0, NULL);

	json_object_set_new(f, "customer", json_string(customers[rnd() % NCUSTOMERS]));
	json_object_set_new(f, "quantity", json_integer(100 + (json_int_t)(rnd() % 9900)));
	json_object_set_new(f, "payment_terms", json_string(rnd() % 4 ? "net30" : "prepaid"));
	return f;
}

/* One round: the cases [first, first+n) from creation to where the plan
 * leaves them, one batch per kind of step, the clock moving between. */
static int preload_round(preload *pl, const plan *p, long first, size_t n, int64_t step)
{
	const plan *c = p + first;
	size_t k, i;
	int maxnotes = 0;

	for (i = 0; i < n; i++) {
		pl->fields[i] = new_fields();
		pl->ops[i] = (docket_op){.kind = DOCKET_OP_CREATE, .actor = &pl->staff[i % NASSIGNEES],
					 .workflow = WF, .fields = pl->fields[i]};
	}
	int rc = apply(pl, n, "create");
	for (i = 0; i < n; i++)
		json_decref(pl->fields[i]);
	if (rc)
		return -1;
	for (i = 0; i < n; i++) {
		memcpy(pl->ids[i], pl->res[i].id, DOCKET_ID_MAX);
		maxnotes = c[i].notes > maxnotes ? c[i].notes : maxnotes;
	}
	fake_now += step;
	for (i = k = 0; i < n; i++)
		if (c[i].assignee)
			pl->ops[k++] = (docket_op){.kind = DOCKET_OP_ASSIGN, .actor = &pl->staff[0],
				.case_id = pl->ids[i], .user = assignees[c[i].assignee - 1]};
	if (apply(pl, k, "assign"))
		return -1;
	for (int r = 0; r < maxnotes; r++) {
		fake_now += step;
		for (i = k = 0; i < n; i++)
			if (c[i].notes > r)
				pl->ops[k++] = (docket_op){.kind = DOCKET_OP_NOTE,
					.actor = &pl->staff[(i + (size_t)r) % NASSIGNEES],
					.case_id = pl->ids[i], .note = r % 2 ?
					"Customer asked for the delivery date; told them." :
					"Checked with the warehouse: on track."};
		if (apply(pl, k, "note"))
			return -1;
	}
	for (int s = 0; s < VERSUS_STEPS; s++) {
		fake_now += step;
		for (i = k = 0; i < n; i++)
			if (c[i].steps > s && !(c[i].last_at && s == c[i].steps - 1))
				pl->ops[k++] = (docket_op){.kind = DOCKET_OP_FIRE,
					.actor = &pl->staff[i % NASSIGNEES], .case_id = pl->ids[i],
					.event = versus_route[s].event, .fields = pl->step_fields[s]};
		if (apply(pl, k, versus_route[s].event))
			return -1;
	}
	fake_now += step;
	for (i = k = 0; i < n; i++)
		if (c[i].end == END_CANCEL)
			pl->ops[k++] = (docket_op){.kind = DOCKET_OP_FIRE, .actor = &pl->staff[0],
				.case_id = pl->ids[i], .event = "cancel", .fields = pl->cancel_fields};
	return apply(pl, k, "cancel");
}

typedef struct held {
	int64_t at;
	long i;
} held;

static int cmp_held(const void *a, const void *b)
{
	const held *x = a, *y = b;
	return x->at < y->at ? -1 : x->at > y->at;
}

/* The last steps held back from the rounds, in time order, 500 to a batch
 * so the clock of a batch is close to each of its cases' own time. */
static int preload_recent(preload *pl, const plan *p, long ncases)
{
	long n = 0, i;
	held *h;
	int rc = 0;

	for (i = 0; i < ncases; i++)
		n += p[i].last_at != 0;
	if (!(h = calloc((size_t)n + 1, sizeof *h)))
		return -1;
	for (i = n = 0; i < ncases; i++)
		if (p[i].last_at)
			h[n++] = (held){p[i].last_at, i};
	qsort(h, (size_t)n, sizeof *h, cmp_held);
	for (long first = 0; first < n && !rc && !interrupted; first += 500) {
		size_t k = 0;
		for (long j = first; j < n && j < first + 500; j++) {
			const plan *c = &p[h[j].i];
			snprintf(pl->ids[k], DOCKET_ID_MAX, "BSO-%ld", h[j].i + 1);
			pl->ops[k] = (docket_op){.kind = DOCKET_OP_FIRE,
				.actor = &pl->staff[k % NASSIGNEES], .case_id = pl->ids[k],
				.event = versus_route[c->steps - 1].event,
				.fields = pl->step_fields[c->steps - 1]};
			fake_now = h[j].at;
			k++;
		}
		rc = apply(pl, k, "last step");
	}
	free(h);
	return interrupted ? -1 : rc;
}

typedef struct sizes {
	uint64_t cases, history;
	double case_bytes, hist_bytes;  /* B-tree pages per entry */
	long long file_bytes;
} sizes;

/* Entries and page bytes of each B-tree: the history's per entry, the
 * rest (record and indexes) per case. */
static void measure_sizes(docket_engine *eng, const char *home, sizes *sz)
{
	docket_store *st = &eng->st;
	MDB_dbi dbs[] = {st->cases, st->history, st->bystage, st->sla, st->timers, st->byuser,
			 st->outbox, st->failed};
	uint64_t case_bytes = 0, hist_bytes = 0;
	MDB_txn *txn;
	MDB_stat s;
	char path[4300];
	struct stat fs;

	memset(sz, 0, sizeof *sz);
	if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn))
		return;
	for (size_t i = 0; i < sizeof dbs / sizeof *dbs; i++) {
		if (mdb_stat(txn, dbs[i], &s))
			continue;
		uint64_t b = (uint64_t)s.ms_psize *
			     (s.ms_branch_pages + s.ms_leaf_pages + s.ms_overflow_pages);
		if (i == 0)
			sz->cases = s.ms_entries;
		if (i == 1) {
			sz->history = s.ms_entries;
			hist_bytes = b;
		} else {
			case_bytes += b;
		}
	}
	mdb_txn_abort(txn);
	sz->case_bytes = sz->cases ? (double)case_bytes / (double)sz->cases : 0;
	sz->hist_bytes = sz->history ? (double)hist_bytes / (double)sz->history : 0;
	snprintf(path, sizeof path, "%s/%s", home, DOCKET_STORE_FILE);
	sz->file_bytes = stat(path, &fs) == 0 ? (long long)fs.st_size : -1;
}

static int install(docket_engine *eng, const char *workflows)
{
	char path[4200];
	docket_workflow *wf = NULL;
	docket_diags d;
	docket_err err;
	int rc;

	/* The very file docketd loads, so it finds these bytes installed. */
	snprintf(path, sizeof path, "%s/%s.yaml", workflows, WF);
	docket_diags_init(&d, path);
	rc = docket_workflow_load_file(path, NULL, &wf, &d);
	docket_diags_print(&d, stderr);
	docket_diags_free(&d);
	if (rc)
		return -1;
	if (docket_engine_install(eng, wf, NULL, &err)) {
		fprintf(stderr, "scale: installing %s: %s\n", path, err.msg);
		return -1;
	}
	return 0;
}

static int preload_all(const config *cfg, const char *home, const plan *p, const layout *l,
		       sizes *sz, double *seconds)
{
	docket_engine_opts o = {.now_ms = fake_clock, .nosync_for_tests = true,
				.map_size = (size_t)cfg->cases * 4096 + (64u << 20)};
	preload pl = {0};
	docket_err err;
	int rc = -1;
	int64_t t0 = versus_now_ns();

	if (docket_engine_open(home, &o, &pl.eng, &err)) {
		fprintf(stderr, "scale: %s: %s\n", home, err.msg);
		return -1;
	}
	pl.ops = calloc(CHUNK_MAX, sizeof *pl.ops);
	pl.res = calloc(CHUNK_MAX, sizeof *pl.res);
	pl.ids = calloc(CHUNK_MAX, DOCKET_ID_MAX);
	pl.fields = calloc(CHUNK_MAX, sizeof *pl.fields);
	for (int s = 0; s < VERSUS_STEPS; s++)
		pl.step_fields[s] = json_loads(versus_route[s].fields, 0, NULL);
	pl.cancel_fields = json_pack("{s:s}", "cancel_reason", "customer_request");
	for (int i = 0; i < NASSIGNEES; i++)
		pl.staff[i] = (docket_actor){.name = assignees[i], .admin = true};
	if (!pl.ops || !pl.res || !pl.ids || !pl.fields)
		goto out;
	fake_now = chunk_start(l, cfg->cases, 0);
	if (install(pl.eng, cfg->workflows))
		goto out;
	for (long first = 0; first < cfg->cases; first += l->chunk) {
		size_t n = (size_t)(cfg->cases - first < l->chunk ? cfg->cases - first : l->chunk);
		if (interrupted)
			goto out;
		fake_now = chunk_start(l, cfg->cases, first);
		if (preload_round(&pl, p, first, n, l->step))
			goto out;
		if (first / l->chunk % 20 == 19)
			fprintf(stderr, "scale: %ld cases, %ld operations, %.0f s\n",
				first + (long)n, pl.ops_done,
				(double)(versus_now_ns() - t0) / 1e9);
	}
	if (preload_recent(&pl, p, cfg->cases))
		goto out;
	/* The only fsync of the preload: everything above is durable now. */
	if ((rc = mdb_env_sync(pl.eng->st.env, 1))) {
		fprintf(stderr, "scale: sync: %s\n", mdb_strerror(rc));
		rc = -1;
		goto out;
	}
	*seconds = (double)(versus_now_ns() - t0) / 1e9;
	measure_sizes(pl.eng, home, sz);
	fprintf(stderr, "scale: preloaded %ld operations in %ld batches, %.1f s\n",
		pl.ops_done, pl.batches, *seconds);
	rc = 0;
out:
	docket_engine_close(pl.eng);
	for (int s = 0; s < VERSUS_STEPS; s++)
		json_decref(pl.step_fields[s]);
	json_decref(pl.cancel_fields);
	free(pl.ops);
	free(pl.res);
	free(pl.ids);
	free(pl.fields);
	return rc;
}

/* --- the daemon ---------------------------------------------------------- */

static pid_t start_daemon(const config *cfg, const char *home, const char *log)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	/* The daemon must not outlive us, whatever kills us. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	execl(cfg->docketd, cfg->docketd, "--home", home, "--workflows", cfg->workflows,
	      (char *)NULL);
	fprintf(stderr, "scale: exec %s: %s\n", cfg->docketd, strerror(errno));
	_exit(127);
}

/* Connect and get an answer to `status`, retrying every millisecond for
 * up to a minute.  Returns 0 with c connected. */
static int wait_ready(dclient *c, const char *sock, pid_t pid)
{
	for (int i = 0; i < 60000 && !interrupted; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		if (dclient_open(c, sock) == 0) {
			json_t *r = dclient_call(c, NULL, "status", NULL);
			bool ok = r && json_is_true(json_object_get(r, "ok"));
			json_decref(r);
			if (ok)
				return 0;
			dclient_close(c);
		}
		poll(NULL, 0, 1);
	}
	return -1;
}

static void stop_daemon(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

typedef struct timing {
	const char *name;
	int n;
	double p50_ms, p99_ms;
	const char *note;
	char buf[96];
	long long rss_kb;       /* docketd's VmRSS after these calls, -1: not read */
} timing;

static void summarize(timing *t, int64_t *ns, int n)
{
	t->n = n;
	if (n == 0)
		return;
	qsort(ns, (size_t)n, sizeof *ns, cmp64);
	t->p50_ms = (double)ns[n / 2] / 1e6;
	t->p99_ms = (double)ns[n * 99 / 100 < n ? n * 99 / 100 : n - 1] / 1e6;
}

/* One request; the reply's result (a new reference) or NULL with a message. */
static json_t *call(dclient *c, const char *op, json_t *args, int64_t *ns)
{
	int64_t t = versus_now_ns();
	json_t *r = dclient_call(c, NULL, op, args);

	*ns = versus_now_ns() - t;
	if (!r || !json_is_true(json_object_get(r, "ok"))) {
		char *dump = r ? json_dumps(r, 0) : NULL;
		fprintf(stderr, "scale: %s failed: %.300s\n", op, dump ? dump : "no reply");
		free(dump);
		json_decref(r);
		return NULL;
	}
	json_t *res = json_incref(json_object_get(r, "result"));
	json_decref(r);
	return res;
}

static int failures;

static void expect(bool ok, const char *what, ...)
{
	if (ok)
		return;
	va_list ap;
	va_start(ap, what);
	fprintf(stderr, "scale: check failed: ");
	vfprintf(stderr, what, ap);
	fputc('\n', stderr);
	va_end(ap);
	failures++;
}

typedef struct reads {
	timing show, history, list, stuck, stats;
	long stuck_count;
} reads;

static long random_case(long n)
{
	return 1 + (long)(rnd() % (uint64_t)n);
}

static int time_show(const config *cfg, dclient *c, const plan *p, int64_t *ns, timing *t,
		     bool hist)
{
	int n = 0;
	int64_t t0 = versus_now_ns();

	for (; n < cfg->reps && !interrupted && versus_now_ns() - t0 < BUDGET_NS; n++) {
		long k = random_case(cfg->cases);
		char id[32];
		snprintf(id, sizeof id, "BSO-%ld", k);
		json_t *r = call(c, hist ? "history" : "show", json_pack("{s:s}", "case", id), &ns[n]);
		if (!r)
			return -1;
		if (cfg->check && hist)
			expect((long)json_array_size(json_object_get(r, "history")) ==
			       plan_entries(&p[k - 1]), "history of %s: %zu entries, planned %ld",
			       id, json_array_size(json_object_get(r, "history")),
			       plan_entries(&p[k - 1]));
		else if (cfg->check)
			expect(!strcmp(json_string_value(json_object_get(r, "id")), id) &&
			       !strcmp(json_string_value(json_object_get(r, "stage")),
				       p[k - 1].end == END_CANCEL ? "cancelled" :
				       route_stage[p[k - 1].steps]), "show %s: wrong case or stage", id);
		json_decref(r);
	}
	summarize(t, ns, n);
	return 0;
}

/* The first page of each stage that holds open cases, round robin. */
static int time_list(const config *cfg, dclient *c, const long *open_in, int64_t *ns,
		     timing *t)
{
	const char *stages[VERSUS_STEPS];
	int nst = 0, n = 0, slowest = 0;
	int64_t t0 = versus_now_ns(), worst[VERSUS_STEPS] = {0};

	for (int s = 0; s < VERSUS_STEPS; s++)
		if (open_in[s])
			stages[nst++] = route_stage[s];
	for (; nst && n < cfg->reps && !interrupted && versus_now_ns() - t0 < BUDGET_NS; n++) {
		int s = n % nst;
		json_t *r = call(c, "list", json_pack("{s:s, s:s}", "workflow", WF, "stage", stages[s]),
				 &ns[n]);
		if (!r)
			return -1;
		worst[s] = ns[n] > worst[s] ? ns[n] : worst[s];
		slowest = worst[s] > worst[slowest] ? s : slowest;
		if (cfg->check) {
			json_t *cases = json_object_get(r, "cases"), *v;
			size_t i;
			long want = 0;
			for (int k = 0; k < VERSUS_STEPS; k++)
				if (!strcmp(route_stage[k], stages[s]))
					want = open_in[k];
			expect((long)json_array_size(cases) == (want < 50 ? want : 50),
			       "list %s: %zu cases, expected %ld", stages[s], json_array_size(cases),
			       want < 50 ? want : 50);
			json_array_foreach(cases, i, v)
				expect(!strcmp(json_string_value(json_object_get(v, "stage")), stages[s]),
				       "list %s holds a case in another stage", stages[s]);
		}
		json_decref(r);
	}
	summarize(t, ns, n);
	if (nst) {
		snprintf(t->buf, sizeof t->buf, "%d stages; slowest call %.2f ms (%s)", nst,
			 (double)worst[slowest] / 1e6, stages[slowest]);
		t->note = t->buf;
	}
	return 0;
}

static int time_stuck(const config *cfg, dclient *c, long nopen, int64_t *ns, timing *t,
		      long *count)
{
	int n = 0;
	int64_t t0 = versus_now_ns();

	for (; n < cfg->reps && !interrupted && versus_now_ns() - t0 < BUDGET_NS; n++) {
		json_t *r = call(c, "stuck", NULL, &ns[n]);
		if (!r)
			return -1;
		*count = (long)json_integer_value(json_object_get(r, "count"));
		if (cfg->check)
			expect(*count > 0 && *count <= nopen &&
			       json_array_size(json_object_get(r, "stuck")) ==
			       (size_t)(*count < 100 ? *count : 100),
			       "stuck: %ld of %ld open cases", *count, nopen);
		json_decref(r);
	}
	summarize(t, ns, n);
	snprintf(t->buf, sizeof t->buf, "%ld stuck in all, first 100", *count);
	t->note = t->buf;
	return 0;
}

/* stats costs a scan of the open cases: a tenth of the calls. */
static int time_stats(const config *cfg, dclient *c, const long *open_in, long nopen,
		      int64_t *ns, timing *t)
{
	int n = 0, reps = cfg->reps / 10 > 5 ? cfg->reps / 10 : 5;
	int64_t t0 = versus_now_ns();

	for (; n < reps && !interrupted && versus_now_ns() - t0 < BUDGET_NS; n++) {
		json_t *r = call(c, "stats", json_pack("{s:s}", "workflow", WF), &ns[n]);
		if (!r)
			return -1;
		json_t *w = json_array_get(json_object_get(r, "workflows"), 0), *st;
		size_t i;
		if (cfg->check) {
			expect(json_integer_value(json_object_get(w, "total")) == cfg->cases &&
			       json_integer_value(json_object_get(w, "open")) == nopen,
			       "stats: total %lld open %lld, planned %ld and %ld",
			       (long long)json_integer_value(json_object_get(w, "total")),
			       (long long)json_integer_value(json_object_get(w, "open")),
			       cfg->cases, nopen);
			json_array_foreach(json_object_get(w, "stages"), i, st)
				for (int k = 0; k < VERSUS_STEPS; k++)
					if (!strcmp(json_string_value(json_object_get(st, "stage")),
						    route_stage[k]))
						expect(json_integer_value(json_object_get(st, "count"))
						       == open_in[k], "stats: %s count", route_stage[k]);
		}
		json_decref(r);
	}
	summarize(t, ns, n);
	return 0;
}

/* Whole `docket --home HOME ARGS...` processes, output to /dev/null. */
static int time_cli(const config *cfg, const char *home, const char *verb, const char *arg,
		    int64_t *ns, timing *t)
{
	posix_spawn_file_actions_t fa;
	int n = 0;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	for (; n < cfg->cli_reps && !interrupted; n++) {
		char id[32];
		char *argv[] = {(char *)cfg->docket, "--home", (char *)home, (char *)verb,
				(char *)arg, NULL};
		pid_t pid;
		int st;
		if (arg == NULL) {
			snprintf(id, sizeof id, "BSO-%ld", random_case(cfg->cases));
			argv[4] = !strcmp(verb, "show") ? id : NULL;
		}
		int64_t t0 = versus_now_ns();
		if (posix_spawn(&pid, cfg->docket, &fa, NULL, argv, environ) ||
		    waitpid(pid, &st, 0) != pid) {
			fprintf(stderr, "scale: cannot run %s\n", cfg->docket);
			posix_spawn_file_actions_destroy(&fa);
			return -1;
		}
		ns[n] = versus_now_ns() - t0;
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "scale: docket %s failed (status %d)\n", verb, st);
			posix_spawn_file_actions_destroy(&fa);
			return -1;
		}
	}
	posix_spawn_file_actions_destroy(&fa);
	summarize(t, ns, n);
	return 0;
}

typedef struct mem {
	long long rss_kb, hwm_kb, anon_kb, file_kb;
} mem;

static void read_mem(pid_t pid, mem *m)
{
	char path[64], line[256];
	FILE *f;

	m->rss_kb = m->hwm_kb = m->anon_kb = m->file_kb = -1;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return;
	while (fgets(line, sizeof line, f)) {
		sscanf(line, "VmRSS: %lld", &m->rss_kb);
		sscanf(line, "VmHWM: %lld", &m->hwm_kb);
		sscanf(line, "RssAnon: %lld", &m->anon_kb);
		sscanf(line, "RssFile: %lld", &m->file_kb);
	}
	fclose(f);
}

/* --- main ---------------------------------------------------------------- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static int rss_after(pid_t pid, timing *t)
{
	mem m;
	read_mem(pid, &m);
	t->rss_kb = m.rss_kb;
	return 0;
}

static void row(const timing *t)
{
	char rss[32] = "";

	if (t->rss_kb > 0)
		snprintf(rss, sizeof rss, "%.1f", (double)t->rss_kb / 1024.0);
	printf("| %-28s | %5d | %9.3f | %9.3f | %9s | %s |\n", t->name, t->n, t->p50_ms,
	       t->p99_ms, rss, t->note ? t->note : "");
}

static int usage(void)
{
	fprintf(stderr,
		"usage: scale [--cases N] [--history-per-case H] [--reps N] [--cli-reps N]\n"
		"             [--dir DIR] [--keep] [--check] [--docketd PATH] [--docket PATH]\n"
		"             [--workflows DIR]\n"
		"Preload N cases (default 1000000) with N*H history entries (H default 10)\n"
		"into a temporary home under DIR (default $TMPDIR, else /tmp), start docketd\n"
		"on it and time start-up, show, history, list --stage, stuck and stats over\n"
		"its socket (--reps calls each, default 300) and whole `docket show` and\n"
		"`docket stuck` runs (--cli-reps, default 50).  --check asserts the answers.\n");
	return 2;
}

static int parse(int argc, char **argv, config *cfg)
{
	static const struct option opts[] = {
		{"cases", required_argument, NULL, 'n'},
		{"history-per-case", required_argument, NULL, 'H'},
		{"reps", required_argument, NULL, 'r'},
		{"cli-reps", required_argument, NULL, 'R'},
		{"dir", required_argument, NULL, 'd'},
		{"docketd", required_argument, NULL, 'D'},
		{"docket", required_argument, NULL, 'C'},
		{"workflows", required_argument, NULL, 'w'},
		{"keep", no_argument, NULL, 'k'},
		{"check", no_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int o;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'n': cfg->cases = atol(optarg); break;
		case 'H': cfg->hist_per_case = atol(optarg); break;
		case 'r': cfg->reps = atoi(optarg); break;
		case 'R': cfg->cli_reps = atoi(optarg); break;
		case 'd': cfg->base = optarg; break;
		case 'D': cfg->docketd = optarg; break;
		case 'C': cfg->docket = optarg; break;
		case 'w': cfg->workflows = optarg; break;
		case 'k': cfg->keep = true; break;
		case 'c': cfg->check = true; break;
		default: return -1;
		}
	}
	if (optind < argc || cfg->cases < 100 || cfg->hist_per_case < 1 || cfg->reps < 1 ||
	    cfg->cli_reps < 1)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	config cfg = {.cases = 1000000, .hist_per_case = 10, .reps = 300, .cli_reps = 50,
		      .base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		      .docketd = SCALE_DOCKETD, .docket = SCALE_DOCKET,
		      .workflows = SCALE_WORKFLOWS};
	char dir[4096], home[4200], sock[4300], log[4200];  /* PATH_MAX and a name */
	plan *p = NULL;
	pid_t dpid = -1;
	dclient c = {.fd = -1};
	int64_t *ns = NULL;
	long open_in[VERSUS_STEPS] = {0}, nopen = 0;
	sizes sz;
	reads rd = {.show = {.name = "show (random case)"},
		    .history = {.name = "history (random case)"},
		    .list = {.name = "list --stage, first page"},
		    .stuck = {.name = "stuck, first page"}, .stats = {.name = "stats (workflow)"}};
	timing cli_show = {.name = "docket show (whole process)"};
	timing cli_stuck = {.name = "docket stuck (process)"};
	timing start = {.name = "daemon start-up"};
	mem m0, m;
	double preload_s = 0;
	int rc = 1;

	if (parse(argc, argv, &cfg))
		return usage();
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	snprintf(dir, sizeof dir, "%s/docket-scale-XXXXXX", cfg.base);
	if (!mkdtemp(dir)) {
		fprintf(stderr, "scale: mkdtemp %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(home, sizeof home, "%s/home", dir);
	snprintf(sock, sizeof sock, "%s/docketd.sock", home);
	snprintf(log, sizeof log, "%s/docketd.log", dir);
	mkdir(home, 0750);

	/* Rounds of at most CHUNK_MAX cases; about 200 of them at full size so
	 * creation times, and so ages and lateness, spread over the year. */
	layout l = {.chunk = cfg.cases / 200 < 100 ? 100 : cfg.cases / 200 > CHUNK_MAX ?
			     CHUNK_MAX : cfg.cases / 200,
		    .now = wall_ms(), .t_end = wall_ms() - 12 * HOUR_MS, .span = 365 * DAY_MS};
	long nchunks = (cfg.cases + l.chunk - 1) / l.chunk;
	l.step = l.span / nchunks / 40 < 20 * 60000 ? l.span / nchunks / 40 : 20 * 60000;
	if (!(p = calloc((size_t)cfg.cases, sizeof *p)) ||
	    !(ns = calloc((size_t)(cfg.reps > cfg.cli_reps ? cfg.reps : cfg.cli_reps), sizeof *ns)))
		goto out;
	long base = make_plan(p, cfg.cases, &l), want = cfg.cases * cfg.hist_per_case;
	if (want > base)
		spread_notes(p, cfg.cases, want - base);
	else
		fprintf(stderr, "scale: the route alone writes %ld history entries, more than "
			"the %ld asked for\n", base, want);
	for (long i = 0; i < cfg.cases; i++)
		if (p[i].end == END_OPEN) {
			open_in[p[i].steps]++;
			nopen++;
		}
	printf("scale: %ld cases (%ld open), history %ld per case, in %s\n", cfg.cases, nopen,
	       cfg.hist_per_case, dir);
	fflush(stdout);

	if (preload_all(&cfg, home, p, &l, &sz, &preload_s))
		goto out;

	int64_t t0 = versus_now_ns();
	dpid = start_daemon(&cfg, home, log);
	if (dpid < 0 || wait_ready(&c, sock, dpid)) {
		fprintf(stderr, "scale: docketd did not answer on %s (its log: %s)\n", sock, log);
		goto out;
	}
	start.n = 1;
	start.p50_ms = start.p99_ms = (double)(versus_now_ns() - t0) / 1e6;
	start.note = "exec to the first answered status";
	read_mem(dpid, &m0);

	start.rss_kb = m0.rss_kb;
	/* VmRSS after each kind of read: mostly the store's pages it touched. */
	if (time_show(&cfg, &c, p, ns, &rd.show, false) || rss_after(dpid, &rd.show) ||
	    time_show(&cfg, &c, p, ns, &rd.history, true) || rss_after(dpid, &rd.history) ||
	    time_list(&cfg, &c, open_in, ns, &rd.list) || rss_after(dpid, &rd.list) ||
	    time_stuck(&cfg, &c, nopen, ns, &rd.stuck, &rd.stuck_count) ||
	    rss_after(dpid, &rd.stuck) ||
	    time_stats(&cfg, &c, open_in, nopen, ns, &rd.stats) || rss_after(dpid, &rd.stats))
		goto out;
	read_mem(dpid, &m);
	if (time_cli(&cfg, home, "show", NULL, ns, &cli_show) ||
	    time_cli(&cfg, home, "stuck", NULL, ns, &cli_stuck))
		goto out;
	if (interrupted)
		goto out;

	printf("\n| %-28s | %5s | %9s | %9s | %9s | %s |\n", "docketd", "calls", "median ms",
	       "p99 ms", "RSS MiB", "");
	printf("|------------------------------|-------|-----------|-----------|-----------|---|\n");
	row(&start);
	row(&rd.show);
	row(&rd.history);
	row(&rd.list);
	row(&rd.stuck);
	row(&rd.stats);
	row(&cli_show);
	row(&cli_stuck);
	printf("\npreload: %.1f s (no fsync, one sync at the end)\n", preload_s);
	printf("store: %.1f MiB for %llu cases and %llu history entries: %.0f bytes per case "
	       "with its history;\n       B-tree pages: %.0f bytes per case (record and "
	       "indexes), %.0f per history entry\n", (double)sz.file_bytes / 1048576.0,
	       (unsigned long long)sz.cases, (unsigned long long)sz.history,
	       (double)sz.file_bytes / (double)sz.cases, sz.case_bytes, sz.hist_bytes);
	printf("docketd: VmRSS %.1f MiB (%.1f anonymous, %.1f mapped store) once started,\n"
	       "         %.1f MiB (%.1f anonymous, %.1f mapped store) after the reads, "
	       "VmHWM %.1f MiB\n", m0.rss_kb / 1024.0, m0.anon_kb / 1024.0, m0.file_kb / 1024.0,
	       m.rss_kb / 1024.0, m.anon_kb / 1024.0, m.file_kb / 1024.0, m.hwm_kb / 1024.0);
	printf("\nscale cases=%llu history=%llu preload_s=%.1f start_ms=%.1f show_p50_ms=%.3f "
	       "show_p99_ms=%.3f list_p50_ms=%.3f list_p99_ms=%.3f stuck_p50_ms=%.2f "
	       "stuck_p99_ms=%.2f stats_p50_ms=%.1f cli_show_ms=%.1f cli_stuck_ms=%.1f "
	       "rss_start_kb=%lld rss_kb=%lld anon_kb=%lld hwm_kb=%lld file_bytes=%lld bytes_per_case=%.0f "
	       "bytes_per_history=%.0f stuck=%ld\n",
	       (unsigned long long)sz.cases, (unsigned long long)sz.history, preload_s,
	       start.p50_ms, rd.show.p50_ms, rd.show.p99_ms, rd.list.p50_ms, rd.list.p99_ms,
	       rd.stuck.p50_ms, rd.stuck.p99_ms, rd.stats.p50_ms, cli_show.p50_ms,
	       cli_stuck.p50_ms, m0.rss_kb, m.rss_kb, m.anon_kb, m.hwm_kb, sz.file_bytes, sz.case_bytes,
	       sz.hist_bytes, rd.stuck_count);
	if (cfg.check) {
		expect(sz.cases == (uint64_t)cfg.cases, "store holds %llu cases",
		       (unsigned long long)sz.cases);
		expect(want <= base || sz.history == (uint64_t)want, "store holds %llu history "
		       "entries, asked %ld", (unsigned long long)sz.history, want);
	}
	rc = failures ? 1 : 0;
out:
	if (interrupted)
		fprintf(stderr, "scale: interrupted\n");
	if (c.fd >= 0)
		dclient_close(&c);
	stop_daemon(dpid);
	if (rc && dpid > 0) {
		char line[512];
		FILE *f = fopen(log, "r");
		fprintf(stderr, "scale: docketd's log:\n");
		while (f && fgets(line, sizeof line, f))
			fputs(line, stderr);
		if (f)
			fclose(f);
	}
	if (!cfg.keep)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	else
		fprintf(stderr, "scale: kept %s\n", dir);
	free(p);
	free(ns);
	return interrupted ? 130 : rc;
}
