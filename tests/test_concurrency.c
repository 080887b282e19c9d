/* Reads while a batch is applied: the daemon applies batches on a worker
 * thread and answers reads on its loop thread.  A writer thread here
 * creates and moves cases, with notes large enough to make the map grow
 * several times, while this thread reads cases, lists, history, stuck and
 * stats.  Every read must succeed and see a consistent store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>

#include "engine_util.h"

static const char *flow =
	"workflow: flip\n"
	"version: 1\n"
	"prefix: FL\n"
	"roles: [ops]\n"
	"fields:\n"
	"  n: {type: integer}\n"
	"start: a\n"
	"stages:\n"
	"  a: {owner: ops, sla: 1h, on: {flip: {to: b}, stop: {to: done}}}\n"
	"  b: {owner: ops, sla: 2h, on: {flip: {to: a}, stop: {to: done}}}\n"
	"  done: {terminal: true}\n";

static const docket_actor admin = {.name = "root", .admin = true};

struct shared {
	fixture *fx;
	atomic_int created;     /* cases the writer saw committed */
	atomic_bool done;
	int batches, per_batch;
	int failures;
};

static void *writer(void *arg)
{
	struct shared *sh = arg;
	static char note[2048];
	docket_op ops[64];
	docket_result res[64];
	char ids[64][DOCKET_ID_MAX];

	memset(note, 'x', sizeof note - 1);
	for (int b = 0; b < sh->batches; b++) {
		int n = sh->per_batch, have = atomic_load(&sh->created);
		for (int i = 0; i < n; i++) {
			if (i % 2 == 0 || have == 0) {
				ops[i] = (docket_op){.kind = DOCKET_OP_CREATE, .actor = &admin,
						     .workflow = "flip", .note = note};
			} else {
				snprintf(ids[i], sizeof ids[i], "FL-%d", 1 + (b * 7 + i) % have);
				ops[i] = (docket_op){.kind = DOCKET_OP_FIRE, .actor = &admin,
						     .case_id = ids[i], .event = "flip", .note = note};
			}
		}
		if (docket_engine_apply(sh->fx->eng, ops, (size_t)n, res)) {
			sh->failures++;
			break;
		}
		int made = 0;
		for (int i = 0; i < n; i++) {
			if (res[i].code)
				sh->failures++;
			made += ops[i].kind == DOCKET_OP_CREATE;
		}
		atomic_fetch_add(&sh->created, made);
	}
	atomic_store(&sh->done, true);
	return NULL;
}

static void reads_run_beside_writes(void **state)
{
	(void)state;
	fixture *fx = calloc(1, sizeof *fx);
	struct shared sh = {.fx = fx, .batches = SANITIZED ? 40 : 300, .per_batch = 20};
	docket_engine_opts o = {.now_ms = fake_clock, .clock_ctx = fx,
				.nosync_for_tests = true, .map_size = 256 * 1024};
	docket_err err;
	pthread_t t;
	long reads = 0;

	make_home(fx->home);
	fx->now = T0;
	assert_int_equal(docket_engine_open(fx->home, &o, &fx->eng, &err), 0);
	fx_install(fx, flow);
	assert_int_equal(pthread_create(&t, NULL, writer, &sh), 0);
	while (!atomic_load(&sh.done) || reads < 50) {
		int have = atomic_load(&sh.created);
		json_t *j = NULL;
		char id[32];
		if (have) {
			snprintf(id, sizeof id, "FL-%ld", 1 + reads % have);
			assert_int_equal(docket_engine_case(fx->eng, &admin, id, &j, &err), 0);
			json_decref(j);
			assert_int_equal(docket_engine_history(fx->eng, &admin, id, &j, &err), 0);
			assert_true(json_array_size(j) >= 1);
			json_decref(j);
		}
		docket_list_query q = {.workflow = "flip", .stage = reads % 2 ? "a" : "b", .limit = 20};
		assert_int_equal(docket_engine_list(fx->eng, &admin, &q, &j, &err), 0);
		json_decref(j);
		if (reads % 16 == 0) {
			assert_int_equal(docket_engine_stuck(fx->eng, &admin, NULL, 10, &j, &err), 0);
			json_decref(j);
			assert_int_equal(docket_engine_stats(fx->eng, &admin, "flip", &j, &err), 0);
			json_decref(j);
		}
		reads++;
	}
	pthread_join(t, NULL);
	assert_int_equal(sh.failures, 0);
	/* The map started at 256 KiB: the writer grew it while reads ran. */
	assert_int_equal(fx_check(fx), 0);
	json_t *j = NULL;
	docket_list_query q = {.workflow = "flip", .limit = 1000};
	assert_int_equal(docket_engine_list(fx->eng, &admin, &q, &j, &err), 0);
	assert_true(json_array_size(json_object_get(j, "cases")) > 0);
	json_decref(j);
	fx_free(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_run_beside_writes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
