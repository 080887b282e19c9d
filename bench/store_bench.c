/*
 * store_bench - how fast and how big the case store is.
 *
 *   build/bench/store_bench [--cases N] [--dir DIR] [--keep]
 *
 * 1. Fills a fresh store with N cases (default 1,000,000), written in
 *    batches of 1000 without fsync (filling is not what is measured),
 *    created 100 ms apart on a fake clock so the oldest ones are past
 *    their 1-day SLA when measuring.
 * 2. Reopens it with full sync (LMDB defaults) and fires events on
 *    random cases: one operation per commit, then batches of 10, 100
 *    and 1000 operations per commit.  Reports operations per second and
 *    the bytes LMDB wrote per operation (counted by iocount.c).
 * 3. Times the reads at that size: the first page of a list by stage,
 *    the stuck query, one case, one history.
 * 4. Reports bytes on disk per case and per history entry, from the page
 *    counts of each B-tree.
 * 5. Compares the record encoding with JSON (size, encode and decode
 *    time) on a typical case.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "iocount.h"

static const char BENCH_WF[] =
	"workflow: bench\n"
	"version: 1\n"
	"prefix: B\n"
	"roles: [staff]\n"
	"fields:\n"
	"  customer: {type: string, required: true}\n"
	"  quantity: {type: integer, min: 1, required: true}\n"
	"  unit_price: {type: number, min: 0}\n"
	"  region: {type: enum, values: [north, south, east, west]}\n"
	"  urgent: {type: boolean}\n"
	"start: open\n"
	"stages:\n"
	"  open:\n"
	"    sla: 1d\n"
	"    on:\n"
	"      work: {to: working}\n"
	"      close: {to: done}\n"
	"  working:\n"
	"    sla: 4h\n"
	"    timers:\n"
	"      - {after: 2d, event: stall}\n"
	"    on:\n"
	"      pause: {to: open}\n"
	"      stall: {to: open}\n"
	"  done: {terminal: true}\n";

#define T0 INT64_C(1714550400000)
#define SPACING_MS 100

static int64_t fake_now;
static int64_t fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const docket_actor staff = {"bench", (const char *const[]){"staff"}, 1, false};

static docket_engine *open_engine(const char *dir, bool nosync)
{
	docket_engine_opts o = {.now_ms = fake_clock, .nosync_for_tests = nosync};
	docket_engine *eng;
	docket_err err;

	if (docket_engine_open(dir, &o, &eng, &err)) {
		fprintf(stderr, "store_bench: %s\n", err.msg);
		exit(1);
	}
	return eng;
}

static void apply(docket_engine *eng, docket_op *ops, docket_result *res, size_t n)
{
	if (docket_engine_apply(eng, ops, n, res)) {
		fprintf(stderr, "store_bench: batch failed: %s\n", res[0].err.msg);
		exit(1);
	}
}

static void fill(const char *dir, long ncases)
{
	docket_engine *eng = open_engine(dir, true);  /* filling only: no fsync */
	docket_workflow *wf = NULL;
	docket_diags d;
	docket_err err;
	enum { B = 1000 };
	docket_op ops[B];
	docket_result *res = malloc(B * sizeof *res);
	json_t *f = json_pack("{s:s, s:i, s:f, s:s}", "customer", "Acme Trading Ltd",
			      "quantity", 12, "unit_price", 19.5, "region", "north");
	double t = mono();

	docket_diags_init(&d, "bench.yaml");
	if (docket_workflow_load_buf("bench.yaml", BENCH_WF, strlen(BENCH_WF), NULL, &wf, &d) ||
	    docket_engine_install(eng, wf, NULL, &err)) {
		docket_diags_print(&d, stderr);
		exit(1);
	}
	docket_diags_free(&d);
	for (size_t i = 0; i < B; i++)
		ops[i] = (docket_op){.kind = DOCKET_OP_CREATE, .actor = &staff,
				     .workflow = "bench", .fields = f};
	for (long done = 0; done < ncases; done += B) {
		size_t n = ncases - done < B ? (size_t)(ncases - done) : B;
		/* one batch shares one clock reading: 1000 cases per 100 s */
		fake_now = T0 + done * SPACING_MS;
		apply(eng, ops, res, n);
	}
	printf("filled %ld cases in %.1f s (no fsync, batches of 1000)\n", ncases, mono() - t);
	json_decref(f);
	free(res);
	docket_engine_close(eng);
}

/* Which cases are in `working` (the rest are `open`), so every event
 * fired is one the case's stage takes: work, then pause, ... */
static uint8_t *working;

/* Fire `total` events on random cases, `per` per commit. */
static void fire_bench(docket_engine *eng, long ncases, size_t per, size_t total)
{
	docket_op *ops = calloc(per, sizeof *ops);
	docket_result *res = calloc(per, sizeof *res);
	char (*ids)[DOCKET_ID_MAX] = calloc(per, DOCKET_ID_MAX);
	unsigned long long lw0 = docket_bench_written, lc0 = docket_bench_writes;
	double t = mono();
	size_t refused = 0;

	for (size_t done = 0; done < total; done += per) {
		for (size_t i = 0; i < per; i++) {
			long n = (long)(rnd() % (uint64_t)ncases);
			snprintf(ids[i], DOCKET_ID_MAX, "B-%ld", n + 1);
			ops[i] = (docket_op){.kind = DOCKET_OP_FIRE, .actor = &staff,
					     .case_id = ids[i], .event = working[n] ? "pause" : "work"};
			working[n] ^= 1;
		}
		apply(eng, ops, res, per);
		for (size_t i = 0; i < per; i++)
			refused += res[i].code != 0;
	}
	double dt = mono() - t;
	double lw = (double)(docket_bench_written - lw0) / (double)total;
	printf("| %zu | %zu | %.0f | %.2f | %.0f (%.1f pages) | %.1f |\n", per, total,
	       (double)total / dt, dt * 1000 / ((double)total / (double)per), lw, lw / 4096,
	       (double)(docket_bench_writes - lc0) / ((double)total / (double)per));
	if (refused)
		printf("(%zu operations refused: the benchmark lost track of a stage)\n", refused);
	free(ops);
	free(res);
	free(ids);
}

/* Average wall time of f over n calls, in milliseconds. */
#define TIME_IT(n, stmt) ({ double _t = mono(); for (int _i = 0; _i < (n); _i++) { stmt; } \
			    (mono() - _t) * 1000 / (n); })

static void read_bench(docket_engine *eng, long ncases)
{
	docket_list_query q = {.workflow = "bench", .stage = "open", .limit = 50};
	docket_err err;
	json_t *j;
	char id[32];
	size_t count = 0;

	printf("\n| read at %ld cases | ms per call | result |\n|---|---|---|\n", ncases);
	double ms = TIME_IT(100, { docket_engine_list(eng, &staff, &q, &j, &err);
				   count = json_array_size(json_object_get(j, "cases"));
				   json_decref(j); });
	printf("| list --stage open, first page of 50 | %.3f | %zu cases |\n", ms, count);
	json_int_t stuck = 0;
	ms = TIME_IT(5, { docket_engine_stuck(eng, &staff, NULL, 100, &j, &err);
			  stuck = json_integer_value(json_object_get(j, "count"));
			  json_decref(j); });
	printf("| stuck, first 100 by lateness | %.2f | %lld stuck in all |\n", ms, (long long)stuck);
	ms = TIME_IT(1000, { snprintf(id, sizeof id, "B-%ld", 1 + (long)(rnd() % (uint64_t)ncases));
			     docket_engine_case(eng, &staff, id, &j, &err); json_decref(j); });
	printf("| show one case | %.3f | |\n", ms);
	ms = TIME_IT(1000, { snprintf(id, sizeof id, "B-%ld", 1 + (long)(rnd() % (uint64_t)ncases));
			     docket_engine_history(eng, &staff, id, &j, &err); json_decref(j); });
	printf("| history of one case | %.3f | |\n", ms);
	ms = TIME_IT(3, { docket_engine_stats(eng, &staff, "bench", &j, &err); json_decref(j); });
	printf("| stats of the workflow | %.1f | |\n", ms);
	int rc = 0;
	ms = TIME_IT(1, { rc = docket_engine_check(eng, NULL, &err); });
	printf("| check (every invariant of the store) | %.0f | %s |\n", ms, rc ? err.msg : "clean");
}

static void size_report(docket_engine *eng, const char *dir)
{
	docket_store *st = &eng->st;
	struct { const char *name; MDB_dbi dbi; } dbs[] = {
		{"cases", st->cases}, {"history", st->history}, {"bystage", st->bystage},
		{"sla", st->sla}, {"timers", st->timers}, {"byuser", st->byuser},
		{"outbox", st->outbox},
	};
	MDB_txn *txn;
	MDB_stat s;
	uint64_t ncases = 0, nhist = 0, case_bytes = 0, hist_bytes = 0;
	char path[4200];
	struct stat fs;

	mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	printf("\n| B-tree | entries | depth | pages | bytes per entry |\n|---|---|---|---|---|\n");
	for (size_t i = 0; i < sizeof dbs / sizeof *dbs; i++) {
		mdb_stat(txn, dbs[i].dbi, &s);
		uint64_t bytes = (uint64_t)s.ms_psize *
				 (s.ms_branch_pages + s.ms_leaf_pages + s.ms_overflow_pages);
		printf("| %s | %zu | %u | %zu | %.1f |\n", dbs[i].name, s.ms_entries, s.ms_depth,
		       s.ms_branch_pages + s.ms_leaf_pages + s.ms_overflow_pages,
		       s.ms_entries ? (double)bytes / (double)s.ms_entries : 0.0);
		if (i == 0)
			ncases = s.ms_entries;
		if (i == 1) {
			nhist = s.ms_entries;
			hist_bytes = bytes;
		} else {
			case_bytes += bytes;
		}
	}
	mdb_txn_abort(txn);
	snprintf(path, sizeof path, "%s/%s", dir, DOCKET_STORE_FILE);
	stat(path, &fs);
	printf("\nper case (record and its index entries): %.0f bytes\n",
	       (double)case_bytes / (double)ncases);
	printf("per history entry: %.0f bytes\n", (double)hist_bytes / (double)nhist);
	printf("store file: %.1f MiB for %llu cases and %llu history entries (%.0f bytes per case "
	       "with its history)\n", (double)fs.st_size / 1048576.0, (unsigned long long)ncases,
	       (unsigned long long)nhist, (double)fs.st_size / (double)ncases);
}

static void codec_bench(void)
{
	docket_case *c = calloc(1, sizeof *c), *d = calloc(1, sizeof *d);
	docket_buf b = {0};
	enum { N = 200000 };
	const char *names[] = {"customer", "quantity", "unit_price", "region", "urgent"};

	c->defno = 1;
	c->created = c->updated = c->entered = T0;
	c->seq = c->entry = 3;
	c->head = 123456;
	c->nfields = 5;
	c->fields[0] = (docket_value){.t = DOCKET_V_STR, .s = {"Acme Trading Ltd", 16}};
	c->fields[1] = (docket_value){.t = DOCKET_V_INT, .i = 12};
	c->fields[2] = (docket_value){.t = DOCKET_V_NUM, .n = 19.5};
	c->fields[3] = (docket_value){.t = DOCKET_V_STR, .s = {"north", 5}};
	c->fields[4] = (docket_value){.t = DOCKET_V_BOOL, .b = true};

	double t = mono();
	for (int i = 0; i < N; i++)
		docket_case_encode(c, &b);
	double enc = (mono() - t) * 1e9 / N;
	t = mono();
	for (int i = 0; i < N; i++)
		docket_case_decode(b.p, b.len, 5, d);
	double dec = (mono() - t) * 1e9 / N;

	/* The same case as the JSON object a schemaless store would keep. */
	json_t *fields = json_object();
	for (int i = 0; i < 5; i++)
		json_object_set_new(fields, names[i],
				    i == 0 ? json_string("Acme Trading Ltd") : i == 1 ? json_integer(12) :
				    i == 2 ? json_real(19.5) : i == 3 ? json_string("north") : json_true());
	json_t *j = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:o}",
		"workflow", "bench", "version", (json_int_t)1, "stage", "open",
		"created_at", "2024-05-01T08:00:00.000Z", "updated_at", "2024-05-01T08:00:00.000Z",
		"entered_at", "2024-05-01T08:00:00.000Z", "seq", (json_int_t)3, "entry", (json_int_t)3,
		"head", (json_int_t)123456, "fields", fields);
	char *s = NULL;
	t = mono();
	for (int i = 0; i < N; i++) {
		free(s);
		s = json_dumps(j, JSON_COMPACT);
	}
	double jenc = (mono() - t) * 1e9 / N;
	t = mono();
	for (int i = 0; i < N; i++)
		json_decref(json_loads(s, 0, NULL));
	double jdec = (mono() - t) * 1e9 / N;

	printf("\n| case record | bytes | encode ns | decode ns |\n|---|---|---|---|\n");
	printf("| binary (codec.c) | %zu | %.0f | %.0f |\n", b.len, enc, dec);
	printf("| JSON (jansson, compact) | %zu | %.0f | %.0f |\n", strlen(s), jenc, jdec);
	free(s);
	json_decref(j);
	docket_buf_free(&b);
	free(c);
	free(d);
}

int main(int argc, char **argv)
{
	long ncases = 1000000;
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	bool keep = false;
	char dir[4096];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--cases") && i + 1 < argc)
			ncases = atol(argv[++i]);
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			base = argv[++i];
		else if (!strcmp(argv[i], "--keep"))
			keep = true;
		else {
			fprintf(stderr, "usage: store_bench [--cases N] [--dir DIR] [--keep]\n");
			return 2;
		}
	}
	if (ncases < 1000)
		ncases = 1000;
	snprintf(dir, sizeof dir, "%s/docket-bench-XXXXXX", base);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	printf("store in %s\n", dir);
	fill(dir, ncases);

	/* Measuring: LMDB defaults, fsync on every commit. */
	fake_now = T0 + ncases * SPACING_MS;
	docket_engine *eng = open_engine(dir, false);
	working = calloc((size_t)ncases, 1);
	printf("\n| ops per commit | ops | ops/s | ms per commit | bytes LMDB wrote per op "
	       "| write calls per commit |\n|---|---|---|---|---|---|\n");
	fire_bench(eng, ncases, 1, 200);
	fire_bench(eng, ncases, 10, 2000);
	fire_bench(eng, ncases, 100, 10000);
	fire_bench(eng, ncases, 1000, 20000);
	read_bench(eng, ncases);
	size_report(eng, dir);
	docket_engine_close(eng);
	free(working);
	codec_bench();
	if (!keep) {
		char path[4200];
		snprintf(path, sizeof path, "%s/%s", dir, DOCKET_STORE_FILE);
		unlink(path);
		snprintf(path, sizeof path, "%s/%s-lock", dir, DOCKET_STORE_FILE);
		unlink(path);
		rmdir(dir);
	}
	return 0;
}
