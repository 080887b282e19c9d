/*
 * layout_bench - what a history entry costs at commit under the two
 * layouts docs/design.md weighs, on bare LMDB with full sync:
 *
 *   append:   key = global sequence (8 bytes), written with MDB_APPEND;
 *             a case finds its entries through a chain (what the engine
 *             does).
 *   per-case: key = (case 12 bytes, seq 4 bytes), so a case's entries
 *             share a leaf and are read by one range scan.
 *
 *   build/bench/layout_bench [--cases N]
 *
 * Both start with N cases of 3 entries each, then append one entry to
 * each of B random cases per commit, for B = 1, 100, 1000.  Reported:
 * commits per second, entries per second, bytes LMDB wrote per entry.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "iocount.h"

#define VAL 70          /* a typical encoded history entry */

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 2463534242ULL;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

struct store {
	MDB_env *env;
	MDB_dbi dbi;
	uint64_t gseq;
	uint32_t *seq;          /* per case: entries so far */
	char dir[256];
};

static void ck(int rc, const char *what)
{
	if (rc) {
		fprintf(stderr, "layout_bench: %s: %s\n", what, mdb_strerror(rc));
		exit(1);
	}
}

static void put(struct store *s, MDB_txn *txn, bool append, long c)
{
	uint8_t k[16], v[VAL];
	MDB_val key, val = {VAL, v};

	memset(v, 0x5a, sizeof v);
	s->seq[c]++;
	if (append) {
		be(k, ++s->gseq, 8);
		key = (MDB_val){8, k};
		ck(mdb_put(txn, s->dbi, &key, &val, MDB_APPEND), "put");
	} else {
		be(k, 1, 4);
		be(k + 4, (uint64_t)c, 8);
		be(k + 12, s->seq[c], 4);
		key = (MDB_val){16, k};
		ck(mdb_put(txn, s->dbi, &key, &val, 0), "put");
	}
}

static void open_store(struct store *s, long ncases, bool sync)
{
	MDB_txn *txn;
	char path[300];

	snprintf(path, sizeof path, "%s/data.mdb", s->dir);
	ck(mdb_env_create(&s->env), "create");
	mdb_env_set_mapsize(s->env, (size_t)ncases * 4096);
	ck(mdb_env_open(s->env, path, MDB_NOSUBDIR | (sync ? 0 : MDB_NOSYNC), 0600), "open");
	ck(mdb_txn_begin(s->env, NULL, 0, &txn), "begin");
	ck(mdb_dbi_open(txn, NULL, 0, &s->dbi), "dbi");
	ck(mdb_txn_commit(txn), "commit");
}

static void run(bool append, long ncases)
{
	struct store s = {0};
	MDB_txn *txn;

	snprintf(s.dir, sizeof s.dir, "%s/docket-layout-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(s.dir))
		exit(1);
	s.seq = calloc((size_t)ncases, sizeof *s.seq);
	/* Fill without sync, in case order, as cases are created over time:
	 * three entries each, spread over the whole period. */
	open_store(&s, ncases, false);
	for (int round = 0; round < 3; round++) {
		ck(mdb_txn_begin(s.env, NULL, 0, &txn), "begin");
		for (long c = 0; c < ncases; c++)
			put(&s, txn, append, c);
		ck(mdb_txn_commit(txn), "commit");
	}
	mdb_env_close(s.env);
	open_store(&s, ncases, true);
	printf("| %s | ", append ? "append (global seq)" : "per case (case, seq)");
	int sizes[] = {1, 100, 1000};
	for (int i = 0; i < 3; i++) {
		int b = sizes[i], commits = b == 1 ? 200 : 20;
		unsigned long long w0 = docket_bench_written;
		double t = mono();
		for (int k = 0; k < commits; k++) {
			ck(mdb_txn_begin(s.env, NULL, 0, &txn), "begin");
			for (int j = 0; j < b; j++)
				put(&s, txn, append, (long)(rnd() % (uint64_t)ncases));
			ck(mdb_txn_commit(txn), "commit");
		}
		double dt = mono() - t;
		double per = (double)(docket_bench_written - w0) / ((double)commits * b);
		printf("%.0f entries/s, %.0f B/entry | ", (double)commits * b / dt, per);
	}
	printf("\n");
	mdb_env_close(s.env);
	char path[300];
	snprintf(path, sizeof path, "%s/data.mdb", s.dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/data.mdb-lock", s.dir);
	unlink(path);
	rmdir(s.dir);
	free(s.seq);
}

int main(int argc, char **argv)
{
	long ncases = 1000000;

	if (argc == 3 && !strcmp(argv[1], "--cases"))
		ncases = atol(argv[2]);
	printf("history of %ld cases, 3 entries each; one more entry on random cases\n\n", ncases);
	printf("| layout | 1 per commit | 100 per commit | 1000 per commit |\n|---|---|---|---|\n");
	run(true, ncases);
	run(false, ncases);
	return 0;
}
