/*
 * Model-based test: random sequences of operations, in random batches,
 * against a small reference model of the order workflow's state machine
 * written independently of the engine.  Every operation's result code and
 * every case's stage and history length must agree with the model, and
 * the store must check clean at the end.
 *
 * DOCKET_MODEL_SEED replays a run; DOCKET_MODEL_RUNS sets how many.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>

#include "engine_util.h"
#include "order_wf.h"

/* Roles as bits, the actors as the model sees them. */
enum { SALES = 1, OPS = 2, FIN = 4, DIR = 8, ADMIN = 16 };
static const docket_actor *const actors[] = {&alice, &oscar, &fiona, &dana, &gus, &root};
static const int actor_bits[] = {SALES, OPS, FIN, DIR, 0, ADMIN};

enum stage { RECEIVED, STOCK, PRODUCTION, SHIPPING, COLLECTION, DUNNING, LEGAL, CLOSED,
	     CANCELLED, NSTAGES };
static const char *const stage_names[] = {"received", "stock_check", "production", "shipping",
					  "collection", "dunning", "legal", "closed", "cancelled"};
static const char *const event_names[] = {"confirm", "cancel", "checked", "built", "shipped",
					  "paid", "overdue", "escalate", "settled", "bogus"};
#define NEVENTS 10
/* Events each stage declares (indexes into event_names), to steer the
 * random walk through the whole workflow. */
static const int stage_events[NSTAGES][3] = {
	[RECEIVED] = {0, 1, -1}, [STOCK] = {2, 1, -1}, [PRODUCTION] = {3, -1, -1},
	[SHIPPING] = {4, -1, -1}, [COLLECTION] = {5, 6, -1}, [DUNNING] = {5, 7, -1},
	[LEGAL] = {8, -1, -1}, [CLOSED] = {-1, -1, -1}, [CANCELLED] = {-1, -1, -1},
};

struct mcase {
	enum stage stage;
	int quantity;
	bool has_price, has_stock;
	int in_stock;
	int seq;
	int64_t entered;        /* when it entered its stage */
	bool parked;            /* its stage's timer was refused */
};

struct patch {
	bool price, stock;
	int in_stock;
};

/* The expected result of firing ev on c by an actor with bits, and the
 * stage it leads to.  Written from the YAML, not from the engine. */
static int model_fire(const struct mcase *c, int ev, int bits, const struct patch *p,
		      enum stage *to)
{
	bool admin = bits & ADMIN, member = bits != 0;
	bool price = c->has_price || p->price;
	bool stock = p->stock ? true : c->has_stock;
	int in_stock = p->stock ? p->in_stock : c->in_stock;
	const char *e = event_names[ev];
#define ROLES(m) (admin || (bits & (m)))
#define ANY (admin || member)

	if (c->stage == CLOSED || c->stage == CANCELLED)
		return DOCKET_ESTATE;
	switch (c->stage) {
	case RECEIVED:
		if (!strcmp(e, "confirm")) {
			if (!ROLES(SALES))
				return DOCKET_EPERM;
			if (!price)
				return DOCKET_EREQUIRED;
			*to = STOCK;
			return 0;
		}
		if (!strcmp(e, "cancel")) {
			if (!ROLES(SALES | DIR))
				return DOCKET_EPERM;
			*to = CANCELLED;
			return 0;
		}
		return DOCKET_ESTATE;
	case STOCK:
		if (!strcmp(e, "checked")) {
			if (!ANY)
				return DOCKET_EPERM;
			if (!stock)
				return DOCKET_EGUARD;
			*to = in_stock >= c->quantity ? SHIPPING : PRODUCTION;
			return 0;
		}
		if (!strcmp(e, "cancel")) {
			if (!ROLES(SALES | DIR))
				return DOCKET_EPERM;
			*to = CANCELLED;
			return 0;
		}
		return DOCKET_ESTATE;
	case PRODUCTION:
		if (strcmp(e, "built"))
			return DOCKET_ESTATE;
		if (!ANY)
			return DOCKET_EPERM;
		*to = SHIPPING;
		return 0;
	case SHIPPING:
		if (strcmp(e, "shipped"))
			return DOCKET_ESTATE;
		if (!ROLES(OPS))
			return DOCKET_EPERM;
		*to = COLLECTION;
		return 0;
	case COLLECTION:
	case DUNNING:
		if (!strcmp(e, "paid")) {
			if (!ROLES(FIN))
				return DOCKET_EPERM;
			*to = CLOSED;
			return 0;
		}
		if (c->stage == COLLECTION && !strcmp(e, "overdue")) {
			if (!ANY)
				return DOCKET_EPERM;
			*to = DUNNING;
			return 0;
		}
		if (c->stage == DUNNING && !strcmp(e, "escalate")) {
			if (!ANY)
				return DOCKET_EPERM;
			if (c->quantity <= 100)
				return DOCKET_EGUARD;
			*to = LEGAL;
			return 0;
		}
		return DOCKET_ESTATE;
	case LEGAL:
		if (strcmp(e, "settled"))
			return DOCKET_ESTATE;
		if (!ROLES(DIR))
			return DOCKET_EPERM;
		*to = CLOSED;
		return 0;
	default:
		return DOCKET_ESTATE;
	}
#undef ROLES
#undef ANY
}

static uint32_t rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(*s >> 33);
}

#define MAXC 400

static unsigned long fired, parked, ops_run;
#define BATCH 16

struct planned {
	docket_op op;
	json_t *patch;
	char id[DOCKET_ID_MAX];
	int expect;
	int target;             /* case index, -1 for create */
	enum stage to;
	struct patch p;
	int quantity;
};

/* Which timers the model says are due, against what the engine says;
 * then fire them all in one batch and check each outcome. */
static void fire_timers(fixture *fx, struct mcase *m, int n, uint64_t seed, int step)
{
	json_t *due;
	docket_err err;
	int want = 0;

	for (int i = 0; i < n; i++) {
		int64_t after = m[i].stage == COLLECTION ? 30 * DAY : m[i].stage == DUNNING ? 7 * DAY : 0;
		want += after && !m[i].parked && m[i].entered + after <= fx->now;
	}
	assert_int_equal(docket_engine_timers_due(fx->eng, fx->now, 1000, &due, &err), 0);
	if ((int)json_array_size(due) != want)
		fail_msg("seed %llu step %d: %zu timers due, model says %d",
			 (unsigned long long)seed, step, json_array_size(due), want);
	size_t nd = json_array_size(due);
	docket_op *ops = calloc(nd + 1, sizeof *ops);
	docket_result *res = calloc(nd + 1, sizeof *res);
	for (size_t i = 0; i < nd; i++) {
		json_t *t = json_array_get(due, i);
		ops[i] = (docket_op){.kind = DOCKET_OP_TIMER, .case_id = jstr(t, "case"),
				     .entry = (uint32_t)jint(t, "entry"), .timer = (int)jint(t, "timer")};
	}
	assert_int_equal(docket_engine_apply(fx->eng, ops, nd, res), 0);
	for (size_t i = 0; i < nd; i++) {
		struct mcase *c = &m[atoi(ops[i].case_id + 3) - 1];
		int expect = c->stage == DUNNING && c->quantity <= 100 ? DOCKET_EGUARD : 0;
		if (res[i].code != expect)
			fail_msg("seed %llu step %d: timer of %s: engine %d (%s), model %d",
				 (unsigned long long)seed, step, ops[i].case_id, res[i].code,
				 res[i].err.msg, expect);
		c->seq++;
		fired++;
		if (expect) {
			parked++;
			assert_true(res[i].recorded_failure);
			c->parked = true;
			continue;
		}
		c->stage = c->stage == COLLECTION ? DUNNING : LEGAL;
		c->entered = fx->now;
		assert_string_equal(res[i].stage, stage_names[c->stage]);
	}
	free(ops);
	free(res);
	json_decref(due);
}

static void one_run(uint64_t seed)
{
	fixture *fx = fx_new(ORDER_WF);
	struct mcase *m = calloc(MAXC, sizeof *m);
	struct planned plan[BATCH];
	docket_result res[BATCH];
	docket_op ops[BATCH];
	int n = 0;

	for (int step = 0; step < 60; step++) {
		size_t nb = 1 + rnd(&seed) % BATCH;
		/* The model runs the batch in order, as the engine must. */
		struct mcase shadow[MAXC];
		int sn = n;
		memcpy(shadow, m, sizeof shadow);
		for (size_t i = 0; i < nb; i++) {
			struct planned *pl = &plan[i];
			int a = (int)(rnd(&seed) % 6);
			memset(pl, 0, sizeof *pl);
			pl->patch = json_object();
			if (sn == 0 || rnd(&seed) % 4 == 0) {
				pl->target = -1;
				pl->quantity = (int)(rnd(&seed) % 201);  /* 0 is refused */
				json_object_set_new(pl->patch, "customer", json_string("M"));
				json_object_set_new(pl->patch, "quantity", json_integer(pl->quantity));
				pl->op = (docket_op){.kind = DOCKET_OP_CREATE, .actor = actors[a],
						     .workflow = "order", .fields = pl->patch};
				if (!actor_bits[a])
					pl->expect = DOCKET_EPERM;
				else if (pl->quantity < 1)
					pl->expect = DOCKET_EINVAL;
				else if (sn >= MAXC)
					pl->expect = -1000;     /* not planned: skip */
				else {
					shadow[sn] = (struct mcase){.stage = RECEIVED,
								    .quantity = pl->quantity, .seq = 1,
								    .entered = fx->now};
					pl->to = RECEIVED;
					pl->target = sn++;
				}
				if (pl->expect == -1000) {
					json_decref(pl->patch);
					pl->patch = NULL;
					nb = i;
					break;
				}
				continue;
			}
			pl->target = (int)(rnd(&seed) % (uint32_t)sn);
			snprintf(pl->id, sizeof pl->id, "SO-%d", pl->target + 1);
			struct mcase *c = &shadow[pl->target];
			if (rnd(&seed) % 8 == 0) {
				pl->op = (docket_op){.kind = DOCKET_OP_NOTE, .actor = actors[a],
						     .case_id = pl->id, .note = "n"};
				pl->expect = actor_bits[a] ? 0 : DOCKET_EPERM;
				pl->to = c->stage;
				if (!pl->expect)
					c->seq++;
				continue;
			}
			int ev = (int)(rnd(&seed) % NEVENTS);
			if (rnd(&seed) % 4 && stage_events[c->stage][0] >= 0) {
				int k = (int)(rnd(&seed) % 3);
				while (stage_events[c->stage][k] < 0)
					k--;
				ev = stage_events[c->stage][k];
			}
			if (rnd(&seed) % 2) {
				pl->p.price = true;
				json_object_set_new(pl->patch, "unit_price", json_real(2.5));
			}
			if (rnd(&seed) % 2) {
				pl->p.stock = true;
				pl->p.in_stock = (int)(rnd(&seed) % 200);
				json_object_set_new(pl->patch, "in_stock", json_integer(pl->p.in_stock));
			}
			pl->op = (docket_op){.kind = DOCKET_OP_FIRE, .actor = actors[a],
					     .case_id = pl->id, .event = event_names[ev],
					     .fields = pl->patch};
			pl->expect = model_fire(c, ev, actor_bits[a], &pl->p, &pl->to);
			if (!pl->expect) {
				c->stage = pl->to;
				c->seq++;
				c->entered = fx->now;
				c->parked = false;
				c->has_price |= pl->p.price;
				if (pl->p.stock) {
					c->has_stock = true;
					c->in_stock = pl->p.in_stock;
				}
			}
		}
		for (size_t i = 0; i < nb; i++)
			ops[i] = plan[i].op;
		assert_int_equal(docket_engine_apply(fx->eng, ops, nb, res), 0);
		ops_run += nb;
		for (size_t i = 0; i < nb; i++) {
			if (res[i].code != plan[i].expect)
				fail_msg("seed %llu step %d op %zu (%s %s as %s): engine %d (%s), model %d",
					 (unsigned long long)seed, step, i,
					 plan[i].op.event ? plan[i].op.event : "create/note",
					 plan[i].id, plan[i].op.actor->name, res[i].code, res[i].err.msg,
					 plan[i].expect);
			if (!res[i].code && plan[i].target >= 0)
				assert_string_equal(res[i].stage, stage_names[plan[i].to]);
			json_decref(plan[i].patch);
		}
		memcpy(m, shadow, sizeof shadow);
		n = sn;
		fx->now += (int64_t)(rnd(&seed) % 40) * DAY;
		fire_timers(fx, m, n, seed, step);
	}
	/* Every case as the model has it. */
	for (int i = 0; i < n; i++) {
		char id[32];
		snprintf(id, sizeof id, "SO-%d", i + 1);
		json_t *c = fx_case(fx, NULL, id);
		assert_non_null(c);
		assert_string_equal(jstr(c, "stage"), stage_names[m[i].stage]);
		assert_int_equal(jint(c, "seq"), m[i].seq);
		json_decref(c);
	}
	assert_int_equal(fx_check(fx), 0);
	free(m);
	fx_free(fx);
}

static void random_operations_agree_with_the_model(void **state)
{
	(void)state;
	const char *senv = getenv("DOCKET_MODEL_SEED"), *renv = getenv("DOCKET_MODEL_RUNS");
	uint64_t seed = senv ? strtoull(senv, NULL, 10) : (uint64_t)time(NULL);
	int runs = renv ? atoi(renv) : 20;

	printf("# model test: %d runs, DOCKET_MODEL_SEED=%llu\n", runs, (unsigned long long)seed);
	for (int r = 0; r < runs; r++)
		one_run(seed + (uint64_t)r * 104729);
	printf("# %lu operations, %lu timers fired (%lu refused and parked)\n", ops_run, fired,
	       parked);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_operations_agree_with_the_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
