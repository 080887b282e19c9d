/*
 * Crash test: what the engine acknowledged survives kill -9.
 *
 * Each round a child opens the store with full sync and applies random
 * batches; after each batch commits it reports every operation that
 * succeeded through a pipe.  The parent kills it with SIGKILL at a random
 * moment, reopens the store, and verifies that every acknowledged
 * operation is there, that check finds nothing wrong, and that new ids
 * continue above every id ever acknowledged.
 *
 * DOCKET_CRASH_ROUNDS sets the number of rounds (default 100);
 * DOCKET_CRASH_SEED replays a run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "engine_util.h"
#include "order_wf.h"

#define MAXCASES 1000000

/* Under AddressSanitizer every nested transaction (LMDB allocates ~3 MB
 * for one) is slow, so the child uses small batches to get as many
 * commits in before the kill. */
#ifdef __SANITIZE_ADDRESS__
#define CHILD_BATCH 3
#else
#define CHILD_BATCH 20
#endif

/* What the parent knows was acknowledged: per case number, the highest
 * history seq an acknowledged operation wrote. */
static uint32_t acked[MAXCASES];
static uint64_t max_acked, nacks;
/* The cases acknowledged in the current round, verified after it. */
static uint64_t fresh[MAXCASES];
static size_t nfresh;

static uint32_t rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(*s >> 33);
}

static const char *const events[] = {"confirm", "cancel", "checked", "built", "shipped", "paid"};

/* The child: random batches until killed.  Never returns. */
static void child(const char *home, uint64_t seed, int fd, uint64_t known)
{
	docket_engine_opts o = {0};   /* full sync: durability is under test */
	docket_engine *eng;
	docket_err err;
	docket_op ops[32];
	docket_result res[32];
	json_t *patch = json_pack("{s:s, s:i, s:f, s:i}", "customer", "Crash Ltd",
				  "quantity", 3, "unit_price", 1.5, "in_stock", 5);
	char ids[32][DOCKET_ID_MAX];
	char line[8192];

	if (docket_engine_open(home, &o, &eng, &err))
		_exit(2);
	for (;;) {
		size_t n = 1 + rnd(&seed) % CHILD_BATCH;
		for (size_t i = 0; i < n; i++) {
			uint32_t k = rnd(&seed) % 10;
			snprintf(ids[i], sizeof ids[i], "SO-%llu",
				 (unsigned long long)(1 + (known ? rnd(&seed) % known : 0)));
			if (k < 4 || !known)
				ops[i] = (docket_op){.kind = DOCKET_OP_CREATE, .actor = &root,
						     .workflow = "order", .fields = patch};
			else if (k < 8)
				ops[i] = (docket_op){.kind = DOCKET_OP_FIRE, .actor = &root,
						     .case_id = ids[i], .fields = patch,
						     .event = events[rnd(&seed) % 6]};
			else
				ops[i] = (docket_op){.kind = DOCKET_OP_NOTE, .actor = &root,
						     .case_id = ids[i], .note = "called"};
		}
		if (docket_engine_apply(eng, ops, n, res))
			_exit(3);
		/* Only now, after the commit, may anything be acknowledged. */
		size_t off = 0;
		for (size_t i = 0; i < n; i++) {
			if (res[i].code)
				continue;
			off += (size_t)snprintf(line + off, sizeof line - off, "%s %u\n", res[i].id,
						res[i].seq);
			if (ops[i].kind == DOCKET_OP_CREATE) {
				uint64_t num = strtoull(res[i].id + 3, NULL, 10);
				if (num > known)
					known = num;
			}
		}
		if (off && write(fd, line, off) != (ssize_t)off)
			_exit(4);
	}
}

/* Take complete lines out of buf; keep a partial last line. */
static void take_acks(char *buf, size_t *len)
{
	char *p = buf, *nl;

	while ((nl = memchr(p, '\n', *len - (size_t)(p - buf)))) {
		*nl = 0;
		unsigned long long num;
		unsigned seq;
		if (sscanf(p, "SO-%llu %u", &num, &seq) == 2 && num < MAXCASES) {
			nacks++;
			if (seq > acked[num])
				acked[num] = seq;
			if (nfresh < MAXCASES)
				fresh[nfresh++] = num;
			if (num > max_acked)
				max_acked = num;
		}
		p = nl + 1;
	}
	*len -= (size_t)(p - buf);
	memmove(buf, p, *len);
}

static int64_t ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read acks for `ms` milliseconds, then kill the child and drain. */
static void run_and_kill(pid_t pid, int fd, int ms)
{
	static char buf[1 << 16];
	size_t len = 0;
	int64_t end = ms_now() + ms;
	bool killed = false;

	for (;;) {
		int wait = killed ? -1 : (int)(end - ms_now());
		if (!killed && wait <= 0) {
			kill(pid, SIGKILL);
			killed = true;
			continue;
		}
		struct pollfd p = {fd, POLLIN, 0};
		int rc = poll(&p, 1, wait);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0)
			continue;
		ssize_t n = read(fd, buf + len, sizeof buf - len);
		if (n <= 0)
			break;  /* the child is gone and the pipe is empty */
		len += (size_t)n;
		take_acks(buf, &len);
	}
	int status;
	waitpid(pid, &status, 0);
	/* Anything but our SIGKILL means the child failed on its own. */
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void verify_one(fixture *fx, uint64_t num, uint64_t seed, int round)
{
	char id[32];

	if (!acked[num])
		return;
	snprintf(id, sizeof id, "SO-%llu", (unsigned long long)num);
	json_t *c = fx_case(fx, NULL, id);
	if (!c || jint(c, "seq") < (json_int_t)acked[num])
		fail_msg("seed %llu round %d: %s acknowledged at seq %u, store has %s",
			 (unsigned long long)seed, round, id, acked[num], c ? "less" : "no such case");
	json_decref(c);
}

/* After a round: everything it acknowledged, a sample of older
 * acknowledgements (all of them after the last round), and check. */
static void verify(fixture *fx, uint64_t seed, int round, bool last, uint64_t *rs)
{
	for (size_t i = 0; i < nfresh; i++)
		verify_one(fx, fresh[i], seed, round);
	nfresh = 0;
	for (uint64_t i = 0; i < (last ? max_acked : 200) && max_acked; i++)
		verify_one(fx, last ? i + 1 : 1 + rnd(rs) % max_acked, seed, round);
	if (fx_check(fx))
		fail_msg("seed %llu round %d: check failed", (unsigned long long)seed, round);
}

static void acknowledged_operations_survive_kill_9(void **state)
{
	(void)state;
	const char *env = getenv("DOCKET_CRASH_ROUNDS"), *senv = getenv("DOCKET_CRASH_SEED");
	int rounds = env ? atoi(env) : 100;
	uint64_t seed = senv ? strtoull(senv, NULL, 10) : (uint64_t)time(NULL);
	uint64_t rs = seed;
	fixture *fx = fx_new(ORDER_WF);
	docket_result r;

	fx->nosync = false;
	printf("# crash test: %d rounds, DOCKET_CRASH_SEED=%llu\n", rounds,
	       (unsigned long long)seed);
	for (int round = 0; round < rounds; round++) {
		/* The parent holds no environment while the child writes. */
		docket_engine_close(fx->eng);
		fx->eng = NULL;
		int p[2];
		assert_int_equal(pipe(p), 0);
		fflush(stdout);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			child(fx->home, rs + (uint64_t)round * 7919, p[1], max_acked);
		}
		close(p[1]);
		run_and_kill(pid, p[0], 2 + (int)(rnd(&rs) % 200));
		close(p[0]);

		assert_int_equal(fx_open(fx), 0);
		verify(fx, seed, round, round == rounds - 1, &rs);
		/* Ids go on above everything ever acknowledged. */
		assert_int_equal(fx_create(fx, &root, "order",
					   "{\"customer\":\"Next\",\"quantity\":1}", &r), 0);
		uint64_t num = strtoull(r.id + 3, NULL, 10);
		if (num <= max_acked)
			fail_msg("seed %llu round %d: new id %s reuses an acknowledged one",
				 (unsigned long long)seed, round, r.id);
		acked[num] = 1;
		max_acked = num;
		assert_true(max_acked < MAXCASES - 1000);
	}
	printf("# %llu operations acknowledged, %llu cases\n", (unsigned long long)nacks,
	       (unsigned long long)max_acked);
	fx_free(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(acknowledged_operations_survive_kill_9),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
