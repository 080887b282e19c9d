/*
 * The write-ahead log: what a crash or a power cut leaves is replayed into
 * exactly the store that was acknowledged.
 *
 * A child opens the store with full durability, runs a mixed workload
 * (every kind of write the engine makes: creations, events, notes,
 * assignments, timers, plugin outcomes, retries, a new workflow version),
 * writes a dump of every database, and dies without closing.  The parent
 * then plays the disk: a power cut is the store file as it was at the
 * child's last checkpoint, or that with any mix of the later pages, the
 * meta pages included; a crash is the file as the child left it.  After
 * reopening, the dump must be byte for byte the child's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "engine_util.h"
#include "internal.h"
#include "order_wf.h"

static uint32_t rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(*s >> 33);
}

static int64_t now_ms = T0;

static int64_t clock_now(void *ctx)
{
	(void)ctx;
	return now_ms;
}

/* Checkpoints: FEW, none but at open and close (the store file after a
 * clean stop is then what the disk holds after a cut); MANY, every
 * millisecond with a small log, so the writer also waits for halves. */
enum { FEW = 0, MANY = 1 };

static docket_engine *open_durable(const char *home, int ckpt, docket_err *err)
{
	docket_engine_opts o = {.now_ms = clock_now,
				.checkpoint_ms = ckpt == MANY ? 1 : 3600 * 1000,
				.log_half = ckpt == MANY ? 64 << 10 : 0};
	docket_engine *eng = NULL;

	return docket_engine_open(home, &o, &eng, err) ? NULL : eng;
}

/* Every key and value of every database, as text. */
static char *dump(docket_engine *eng)
{
	const docket_store *s = &eng->st;
	const MDB_dbi dbis[] = {s->meta, s->names, s->defs, s->workflows, s->counters,
				s->cases, s->history, s->bystage, s->byuser, s->sla,
				s->timers, s->outbox, s->failed};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;

	assert_int_equal(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn), 0);
	for (size_t i = 0; i < sizeof dbis / sizeof *dbis; i++) {
		fprintf(f, "db %zu\n", i);
		assert_int_equal(mdb_cursor_open(txn, dbis[i], &cur), 0);
		for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			for (size_t j = 0; j < k.mv_size; j++)
				fprintf(f, "%02x", ((uint8_t *)k.mv_data)[j]);
			fputc(' ', f);
			for (size_t j = 0; j < v.mv_size; j++)
				fprintf(f, "%02x", ((uint8_t *)v.mv_data)[j]);
			fputc('\n', f);
		}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	fclose(f);
	return buf;
}

/* Answer every due plugin run, one way or another. */
static void answer_actions(docket_engine *eng, uint64_t *seed)
{
	static const int kinds[] = {DOCKET_OP_ACTION_EVENT, DOCKET_OP_ACTION_DONE,
				    DOCKET_OP_ACTION_RETRY, DOCKET_OP_ACTION_FAIL};
	json_t *due, *it;
	docket_err err;
	size_t i;

	assert_int_equal(docket_engine_outbox_due(eng, now_ms, 20, &due, &err), 0);
	json_array_foreach(due, i, it) {
		docket_op op = {.kind = kinds[rnd(seed) % 4],
				.case_id = json_string_value(json_object_get(it, "case")),
				.entry = (uint32_t)json_integer_value(json_object_get(it, "entry")),
				.event = "checked", .reason = "the warehouse is closed"};
		docket_result r;
		assert_int_equal(docket_engine_apply(eng, &op, 1, &r), 0);
	}
	json_decref(due);
}

static void fire_timers(docket_engine *eng)
{
	json_t *due, *it;
	docket_err err;
	size_t i;

	assert_int_equal(docket_engine_timers_due(eng, now_ms, 20, &due, &err), 0);
	json_array_foreach(due, i, it) {
		docket_op op = {.kind = DOCKET_OP_TIMER,
				.case_id = json_string_value(json_object_get(it, "case")),
				.entry = (uint32_t)json_integer_value(json_object_get(it, "entry")),
				.timer = (int)json_integer_value(json_object_get(it, "timer"))};
		docket_result r;
		assert_int_equal(docket_engine_apply(eng, &op, 1, &r), 0);
	}
	json_decref(due);
}

static const char *const events[] = {"confirm", "cancel", "checked", "built",
				     "shipped", "paid", "settled"};

/* `rounds` batches of everything the engine writes. */
static void workload(docket_engine *eng, uint64_t seed, int rounds)
{
	json_t *patch = json_pack("{s:s, s:i, s:f, s:i}", "customer", "Power Cut Ltd",
				  "quantity", 3, "unit_price", 1.5, "in_stock", 5);
	char ids[8][DOCKET_ID_MAX];
	docket_op ops[8];
	docket_result res[8];
	unsigned known = 0;

	for (int round = 0; round < rounds; round++) {
		size_t n = 1 + rnd(&seed) % 8;
		for (size_t i = 0; i < n; i++) {
			uint32_t k = rnd(&seed) % 12;
			snprintf(ids[i], sizeof ids[i], "SO-%u", 1 + (known ? rnd(&seed) % known : 0));
			ops[i] = (docket_op){.actor = &root, .case_id = ids[i], .fields = patch};
			if (k < 3 || !known) {
				ops[i].kind = DOCKET_OP_CREATE;
				ops[i].workflow = "order";
				known++;
			} else if (k < 8) {
				ops[i].kind = DOCKET_OP_FIRE;
				ops[i].event = events[rnd(&seed) % 7];
			} else if (k < 9) {
				ops[i].kind = DOCKET_OP_NOTE;
				ops[i].note = "called the customer";
			} else if (k < 11) {
				ops[i].kind = DOCKET_OP_ASSIGN;
				ops[i].user = k == 9 ? "oscar" : "";
			} else {
				ops[i].kind = DOCKET_OP_RETRY;
			}
		}
		assert_int_equal(docket_engine_apply(eng, ops, n, res), 0);
		if (round % 5 == 4) {
			now_ms += (int64_t)(rnd(&seed) % 20) * DAY;
			fire_timers(eng);
			answer_actions(eng, &seed);
		}
		if (round == rounds / 2) {
			docket_err err;
			char *v2 = strdup(ORDER_WF);
			memcpy(strstr(v2, "version: 1"), "version: 2", 10);
			assert_int_equal(docket_engine_install(eng, wf_from(v2), NULL, &err), 0);
			free(v2);
		}
	}
	json_decref(patch);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t r;

	assert_non_null(f);
	*len = 0;
	do {
		if (*len + 65536 > cap)
			buf = realloc(buf, cap = cap * 2 + 65536);
		r = (ssize_t)fread(buf + *len, 1, 65536, f);
		*len += (size_t)r;
	} while (r > 0);
	fclose(f);
	buf[*len] = 0;
	return buf;
}

static void spit(const char *path, const char *p, size_t n, int flags)
{
	int fd = open(path, O_WRONLY | O_CREAT | flags, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

typedef struct world {
	char home[64];
	char store[128], wal[128], dumpfile[128];
	char *image;            /* the store file at the child's checkpoint */
	size_t image_len;
	char *want;             /* the child's dump */
} world;

/* A store with the workflow installed and a first batch, stopped cleanly:
 * the file is then exactly what the next open checkpoints. */
static void world_new(world *w)
{
	docket_err err;
	docket_engine *eng;

	memset(w, 0, sizeof *w);
	make_home(w->home);
	snprintf(w->store, sizeof w->store, "%s/store.mdb", w->home);
	snprintf(w->wal, sizeof w->wal, "%s/store.wal", w->home);
	snprintf(w->dumpfile, sizeof w->dumpfile, "%s.dump", w->home);
	now_ms = T0;
	assert_non_null(eng = open_durable(w->home, FEW, &err));
	assert_int_equal(docket_engine_install(eng, wf_from(ORDER_WF), NULL, &err), 0);
	workload(eng, 1, 3);
	docket_engine_close(eng);
	w->image = slurp(w->store, &w->image_len);
}

/* The child: the workload, its dump, then death without a clean stop. */
static void world_crash(world *w, uint64_t seed, int rounds, int ckpt)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		docket_err err;
		docket_engine *eng = open_durable(w->home, ckpt, &err);
		if (!eng)
			_exit(2);
		workload(eng, seed, rounds);
		char *d = dump(eng);
		spit(w->dumpfile, d, strlen(d), O_TRUNC);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	size_t n;
	free(w->want);
	w->want = slurp(w->dumpfile, &n);
}

/* Reopen and compare with what the child acknowledged.  replays: 1 if
 * the log must have had commits to replay, 0 if not, -1 either way. */
static void world_verify(world *w, int replays)
{
	docket_err err;
	docket_engine *eng = open_durable(w->home, FEW, &err);

	if (!eng)
		fail_msg("reopen: %s", err.msg);
	if (replays >= 0)
		assert_int_equal(docket_engine_replayed(eng) > 0, replays);
	char *got = dump(eng);
	assert_string_equal(got, w->want);
	free(got);
	json_t *problems = NULL;
	assert_int_equal(docket_engine_check(eng, &problems, &err), 0);
	json_decref(problems);
	docket_engine_close(eng);
}

static void world_free(world *w)
{
	rm_rf(w->home);
	unlink(w->dumpfile);
	free(w->image);
	free(w->want);
}

/* Nothing the child wrote to the store file reached the disk: only the
 * log did. */
static void a_power_cut_before_any_page_is_written_loses_nothing(void **state)
{
	(void)state;
	world w;

	world_new(&w);
	world_crash(&w, 7, 60, FEW);
	spit(w.store, w.image, w.image_len, O_TRUNC);
	world_verify(&w, 1);
	world_free(&w);
}

/* Some pages reached the disk, some did not, in no order: the meta pages
 * may name a tree half of whose pages are old. */
static void a_power_cut_with_any_mix_of_pages_loses_nothing(void **state)
{
	(void)state;
	uint64_t seed = 42;

	for (int round = 0; round < 6; round++) {
		world w;
		size_t len;

		world_new(&w);
		world_crash(&w, 100 + (uint64_t)round, 60, FEW);
		char *now = slurp(w.store, &len);
		long ps = sysconf(_SC_PAGESIZE);
		for (size_t off = 0; off < len; off += (size_t)ps) {
			if (rnd(&seed) % 2)
				continue;
			if (off < w.image_len)
				memcpy(now + off, w.image + off, (size_t)ps);
			else
				memset(now + off, 0, (size_t)ps);
		}
		/* Both meta pages old in one round, both new in another. */
		if (round == 0)
			memcpy(now, w.image, 2 * (size_t)ps);
		spit(w.store, now, len, O_TRUNC);
		free(now);
		world_verify(&w, 1);
		world_free(&w);
	}
}

/* A process crash with many checkpoints on the way: each one must have
 * kept its pages from reuse until the next was on disk. */
static void a_crash_after_many_checkpoints_loses_nothing(void **state)
{
	(void)state;
	world w;
	struct stat st;

	world_new(&w);
	unlink(w.wal);      /* a clean stop: a new log, with small halves */
	world_crash(&w, 9, 200, MANY);
	assert_int_equal(stat(w.wal, &st), 0);
	/* Two halves, reused: the log never grows past them. */
	assert_true(st.st_size <= 2 * (64 << 10) + (1 << 20));
	/* The last checkpoint may or may not have landed before the end. */
	world_verify(&w, -1);
	world_free(&w);
}

/* The last record was torn by the cut: that commit was never
 * acknowledged, and everything before it is kept. */
static void a_torn_last_record_is_not_replayed(void **state)
{
	(void)state;
	world w;
	size_t len;
	docket_err err;

	world_new(&w);
	/* A crash, replayed at the next start, then a clean stop: `before`
	 * is the whole store now, and the store file holds all of it. */
	world_crash(&w, 11, 30, FEW);
	char *before = w.want;
	w.want = NULL;
	docket_engine *eng = open_durable(w.home, FEW, &err);
	assert_non_null(eng);
	docket_engine_close(eng);
	free(w.image);
	w.image = slurp(w.store, &w.image_len);
	/* One more commit, its record alone in the log, then a cut. */
	pid_t pid = fork();
	if (pid == 0) {
		docket_engine *e = open_durable(w.home, FEW, &err);
		docket_op op = {.kind = DOCKET_OP_NOTE, .actor = &root, .case_id = "SO-1",
				.note = "never acknowledged"};
		docket_result r;
		if (!e || docket_engine_apply(e, &op, 1, &r) || r.code)
			_exit(2);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Tear the record: its last byte never made it. */
	char *wal = slurp(w.wal, &len);
	size_t start = 2 * ((64 + 2 * (size_t)sysconf(_SC_PAGESIZE) + 4095) & ~(size_t)4095);
	size_t n = ((size_t)(uint8_t)wal[start + 4] << 24) | ((size_t)(uint8_t)wal[start + 5] << 16) |
		   ((size_t)(uint8_t)wal[start + 6] << 8) | (uint8_t)wal[start + 7];
	wal[start + 24 + n - 1] ^= 0x5a;
	spit(w.wal, wal, len, 0);
	spit(w.store, w.image, w.image_len, O_TRUNC);
	w.want = before;
	world_verify(&w, 0);
	free(wal);
	world_free(&w);
}

/* A clean stop leaves nothing to replay: the store file alone is the
 * whole store. */
static void a_clean_stop_needs_no_replay(void **state)
{
	(void)state;
	world w;
	docket_err err;

	world_new(&w);
	docket_engine *eng = open_durable(w.home, FEW, &err);
	assert_non_null(eng);
	workload(eng, 5, 20);
	char *d = dump(eng);
	docket_engine_close(eng);
	unlink(w.wal);
	w.want = d;
	world_verify(&w, 0);
	world_free(&w);
}

/* A store file that is not the one the log was written for (a backup put
 * back after an unclean stop) is refused, and left as it is. */
static void a_replaced_store_file_is_refused_untouched(void **state)
{
	(void)state;
	world w;
	docket_err err;
	char other[160];
	size_t len, len2;

	world_new(&w);
	world_crash(&w, 3, 20, FEW);
	snprintf(other, sizeof other, "%s/other.mdb", w.home);
	spit(other, w.image, w.image_len, O_TRUNC);
	assert_int_equal(rename(other, w.store), 0);
	char *was = slurp(w.store, &len);
	assert_null(open_durable(w.home, FEW, &err));
	assert_int_equal(err.code, DOCKET_ECORRUPT);
	assert_non_null(strstr(err.msg, "is not the file its log"));
	assert_non_null(strstr(err.msg, "store.wal aside"));
	char *is = slurp(w.store, &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(was, is, len);
	free(was);
	free(is);
	/* As the message says: without the log it opens as it is. */
	unlink(w.wal);
	docket_engine *eng = open_durable(w.home, FEW, &err);
	assert_non_null(eng);
	docket_engine_close(eng);
	world_free(&w);
}

static int collect(void *ctx, uint64_t lsn, const uint8_t *p, size_t n, docket_err *err)
{
	char *seen = ctx;

	(void)err;
	snprintf(seen + strlen(seen), 256 - strlen(seen), "%llu:%.*s ", (unsigned long long)lsn,
		 (int)n, (const char *)p);
	return 0;
}

/* Commits made while a checkpoint is in flight go to the other half of
 * the log; if the checkpoint never lands, the run of records a restart
 * replays goes on there.  Stale records of an earlier lap do not. */
static void a_run_of_records_crosses_into_the_other_half(void **state)
{
	(void)state;
	char home[64], seen[256] = "";
	static uint8_t metas[2 * 65536];
	docket_wal w;
	docket_wal_ckpt ck = {.lsn = 5, .metas = metas};
	docket_err err;
	size_t n;
	uint64_t last;

	make_home(home);
	assert_int_equal(docket_wal_open(&w, home, 64 << 10, &err), 0);
	/* An earlier lap left records 3 and 4 at the start of half 1. */
	docket_wal_switch(&w);
	for (uint64_t lsn = 3; lsn <= 4; lsn++) {
		assert_int_equal(docket_wal_append(&w, lsn, "old", 3, &err), 0);
		assert_int_equal(docket_wal_settle(&w, true, &err), 0);
	}
	docket_wal_switch(&w);
	ck.half = 0;
	assert_int_equal(docket_wal_checkpoint(&w, &ck, &err), 0);
	assert_int_equal(docket_wal_append(&w, 6, "six", 3, &err), 0);
	assert_int_equal(docket_wal_settle(&w, true, &err), 0);
	docket_wal_switch(&w);      /* a checkpoint taken here never landed */
	assert_int_equal(docket_wal_append(&w, 7, "seven", 5, &err), 0);
	assert_int_equal(docket_wal_settle(&w, true, &err), 0);
	/* And one that was withdrawn: not replayed. */
	assert_int_equal(docket_wal_append(&w, 8, "eight", 5, &err), 0);
	assert_int_equal(docket_wal_settle(&w, false, &err), 0);
	docket_wal_close(&w);

	assert_int_equal(docket_wal_open(&w, home, 0, &err), 0);
	assert_int_equal(docket_wal_scan(&w, collect, seen, &n, &last, &err), 0);
	assert_string_equal(seen, "6:six 7:seven ");
	assert_int_equal(n, 2);
	assert_int_equal(last, 7);
	docket_wal_close(&w);
	rm_rf(home);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_power_cut_before_any_page_is_written_loses_nothing),
		cmocka_unit_test(a_power_cut_with_any_mix_of_pages_loses_nothing),
		cmocka_unit_test(a_crash_after_many_checkpoints_loses_nothing),
		cmocka_unit_test(a_torn_last_record_is_not_replayed),
		cmocka_unit_test(a_clean_stop_needs_no_replay),
		cmocka_unit_test(a_replaced_store_file_is_refused_untouched),
		cmocka_unit_test(a_run_of_records_crosses_into_the_other_half),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
