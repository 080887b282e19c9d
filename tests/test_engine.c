/* The case engine: creating cases, firing events and every refusal, notes,
 * assignment, definitions by version, batches, check, backup, fork. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "engine_util.h"
#include "internal.h"
#include "order_wf.h"

#define NEW_ORDER "{\"customer\":\"Acme\",\"quantity\":5}"

static int setup(void **state)
{
	*state = fx_new(ORDER_WF);
	return 0;
}

static int teardown(void **state)
{
	fixture *fx = *state;
	assert_int_equal(fx_check(fx), 0);
	fx_free(fx);
	return 0;
}

static void create_gives_ids_defaults_and_first_entry(void **state)
{
	fixture *fx = *state;
	docket_result r;

	assert_int_equal(fx_create(fx, &alice, "order", NEW_ORDER, &r), 0);
	assert_string_equal(r.id, "SO-1");
	assert_string_equal(r.stage, "received");
	assert_int_equal(r.seq, 1);
	assert_int_equal(r.entry, 1);
	assert_int_equal(fx_create(fx, &alice, "order", NEW_ORDER, &r), 0);
	assert_string_equal(r.id, "SO-2");

	json_t *c = fx_case(fx, NULL, "SO-1");
	assert_non_null(c);
	assert_string_equal(jstr(c, "workflow"), "order");
	assert_int_equal(jint(c, "version"), 1);
	assert_string_equal(jstr(c, "stage"), "received");
	assert_string_equal(jstr(c, "state"), "open");
	assert_string_equal(jstr(c, "created_at"), "2024-05-01T08:00:00.000Z");
	json_t *f = json_object_get(c, "fields");
	assert_string_equal(jstr(f, "customer"), "Acme");
	assert_int_equal(jint(f, "quantity"), 5);
	assert_string_equal(jstr(f, "terms"), "net30");
	assert_null(json_object_get(f, "unit_price"));
	assert_true(json_is_null(json_object_get(c, "assignee")));
	json_decref(c);

	json_t *h;
	docket_err err;
	assert_int_equal(docket_engine_history(fx->eng, &alice, "SO-1", &h, &err), 0);
	assert_int_equal(json_array_size(h), 1);
	json_t *e = json_array_get(h, 0);
	assert_int_equal(jint(e, "seq"), 1);
	assert_string_equal(jstr(e, "kind"), "create");
	assert_string_equal(jstr(e, "actor"), "alice");
	assert_true(json_is_null(json_object_get(e, "from")));
	assert_string_equal(jstr(e, "to"), "received");
	assert_string_equal(jstr(json_object_get(e, "fields"), "terms"), "net30");
	json_decref(h);
}

static void create_refuses_bad_input_and_writes_nothing(void **state)
{
	fixture *fx = *state;
	docket_result r;

	assert_int_equal(fx_create(fx, &alice, "order", "{\"customer\":\"Acme\"}", &r),
			 DOCKET_EREQUIRED);
	assert_non_null(strstr(r.err.msg, "quantity"));
	assert_int_equal(fx_create(fx, &alice, "order", "{}", &r), DOCKET_EREQUIRED);
	assert_non_null(strstr(r.err.msg, "customer, quantity"));
	assert_int_equal(fx_create(fx, &alice, "order",
				   "{\"customer\":\"Acme\",\"quantity\":0}", &r), DOCKET_EINVAL);
	assert_non_null(strstr(r.err.msg, "quantity"));
	assert_int_equal(fx_create(fx, &alice, "order",
				   "{\"customer\":\"Acme\",\"quantity\":\"many\"}", &r), DOCKET_EINVAL);
	assert_int_equal(fx_create(fx, &alice, "order",
				   "{\"customer\":\"Acme\",\"quantity\":true}", &r), DOCKET_EINVAL);
	assert_non_null(strstr(r.err.msg, "expected integer"));
	assert_int_equal(fx_create(fx, &alice, "order",
				   "{\"customer\":\"Acme\",\"quantity\":2,\"qantity\":3}", &r),
			 DOCKET_ENOENT);
	assert_non_null(strstr(r.err.msg, "did you mean 'quantity'"));
	assert_int_equal(fx_create(fx, &alice, "order",
				   "{\"customer\":\"Acme\",\"quantity\":2,\"terms\":\"net90\"}", &r),
			 DOCKET_EINVAL);
	assert_int_equal(fx_create(fx, &alice, "order",
				   "{\"customer\":\"Acme\",\"quantity\":2,\"delivery\":\"2024-02-30\"}",
				   &r), DOCKET_EINVAL);
	/* max: 40 bytes */
	assert_int_not_equal(fx_create(fx, &alice, "order",
		"{\"customer\":\"Acme Acme Acme Acme Acme Acme Acme Acme Acme\",\"quantity\":2}",
		&r), 0);
	assert_int_equal(fx_create(fx, &alice, "nosuch", NEW_ORDER, &r), DOCKET_ENOENT);

	/* Invalid UTF-8 that came through a JSON library that did not check. */
	json_t *j = json_pack("{s:o, s:i}", "customer", json_stringn_nocheck("Ac\xffme", 5),
			      "quantity", 3);
	assert_int_equal(fx_apply(fx, (docket_op){.kind = DOCKET_OP_CREATE, .actor = &alice,
						  .workflow = "order", .fields = j}, &r),
			 DOCKET_EINVAL);
	json_decref(j);

	/* Nothing was written: the next id is still the first. */
	assert_int_equal(fx_create(fx, &alice, "order", NEW_ORDER, &r), 0);
	assert_string_equal(r.id, "SO-1");
}

static void strings_from_the_command_line_are_parsed(void **state)
{
	fixture *fx = *state;
	docket_result r;

	assert_int_equal(fx_create(fx, &alice, "order",
		"{\"customer\":\"Acme\",\"quantity\":\"7\",\"unit_price\":\"2.5\","
		"\"rush\":\"true\",\"delivery\":\"2024-06-30\"}", &r), 0);
	json_t *c = fx_case(fx, NULL, r.id), *f = json_object_get(c, "fields");
	assert_int_equal(jint(f, "quantity"), 7);
	assert_true(json_real_value(json_object_get(f, "unit_price")) == 2.5);
	assert_true(json_is_true(json_object_get(f, "rush")));
	assert_string_equal(jstr(f, "delivery"), "2024-06-30");
	json_decref(c);
	/* null unsets; a required field cannot be unset */
	assert_int_equal(fx_fire(fx, &alice, r.id, "confirm", "{\"unit_price\":null}", &r),
			 DOCKET_EREQUIRED);
	assert_int_equal(fx_fire(fx, &alice, r.id, "cancel", "{\"quantity\":null}", &r),
			 DOCKET_EREQUIRED);
	assert_int_equal(fx_fire(fx, &alice, r.id, "cancel", "{\"rush\":null}", &r), 0);
	c = fx_case(fx, NULL, r.id);
	assert_null(json_object_get(json_object_get(c, "fields"), "rush"));
	json_decref(c);
}

static void create_needs_a_role_of_the_workflow(void **state)
{
	fixture *fx = *state;
	docket_result r;

	assert_int_equal(fx_create(fx, &gus, "order", NEW_ORDER, &r), DOCKET_EPERM);
	assert_non_null(strstr(r.err.msg, "gus"));
	assert_int_equal(fx_create(fx, &oscar, "order", NEW_ORDER, &r), 0);
	assert_int_equal(fx_create(fx, &root, "order", NEW_ORDER, &r), 0);
}

static void fire_moves_the_case_and_records_everything(void **state)
{
	fixture *fx = *state;
	docket_result r;
	docket_err err;
	json_t *h;

	assert_int_equal(fx_create(fx, &alice, "order", NEW_ORDER, &r), 0);
	fx->now += 90 * SEC;
	json_t *patch = json_pack("{s:f}", "unit_price", 9.5);
	assert_int_equal(fx_apply(fx, (docket_op){.kind = DOCKET_OP_FIRE, .actor = &alice,
		.case_id = "SO-1", .event = "confirm", .fields = patch,
		.note = "customer confirmed by phone"}, &r), 0);
	json_decref(patch);
	assert_string_equal(r.stage, "stock_check");
	assert_int_equal(r.seq, 2);
	assert_int_equal(r.entry, 2);

	assert_int_equal(docket_engine_history(fx->eng, &alice, "SO-1", &h, &err), 0);
	assert_int_equal(json_array_size(h), 2);
	json_t *e = json_array_get(h, 1);
	assert_int_equal(jint(e, "seq"), 2);
	assert_string_equal(jstr(e, "at"), "2024-05-01T08:01:30.000Z");
	assert_string_equal(jstr(e, "actor"), "alice");
	assert_string_equal(jstr(e, "event"), "confirm");
	assert_string_equal(jstr(e, "from"), "received");
	assert_string_equal(jstr(e, "to"), "stock_check");
	assert_string_equal(jstr(e, "note"), "customer confirmed by phone");
	json_t *chg = json_object_get(e, "fields");
	assert_int_equal(json_object_size(chg), 1);
	assert_true(json_real_value(json_object_get(chg, "unit_price")) == 9.5);
	json_decref(h);

	json_t *c = fx_case(fx, NULL, "SO-1");
	assert_string_equal(jstr(c, "stage_since"), "2024-05-01T08:01:30.000Z");
	assert_string_equal(jstr(c, "owner"), "ops");
	assert_string_equal(jstr(json_object_get(c, "action"), "state"), "pending");
	json_decref(c);
}

static void refusals_say_which_rule_and_change_nothing(void **state)
{
	fixture *fx = *state;
	docket_result r;

	assert_int_equal(fx_create(fx, &alice, "order", NEW_ORDER, &r), 0);
	assert_int_equal(fx_fire(fx, &alice, "SO-9", "confirm", NULL, &r), DOCKET_ENOENT);
	assert_non_null(strstr(r.err.msg, "SO-9"));
	assert_int_equal(fx_fire(fx, &alice, "XX-1", "confirm", NULL, &r), DOCKET_ENOENT);
	assert_int_equal(fx_fire(fx, &alice, "SO-x", "confirm", NULL, &r), DOCKET_EINVAL);
	assert_int_equal(fx_fire(fx, &alice, "SO-1", "ship", NULL, &r), DOCKET_ESTATE);
	assert_non_null(strstr(r.err.msg, "confirm, cancel"));
	assert_int_equal(fx_fire(fx, &oscar, "SO-1", "confirm", "{\"unit_price\":3}", &r),
			 DOCKET_EPERM);
	assert_non_null(strstr(r.err.msg, "sales"));
	assert_int_equal(fx_fire(fx, &alice, "SO-1", "confirm", NULL, &r), DOCKET_EREQUIRED);
	assert_non_null(strstr(r.err.msg, "unit_price"));
	assert_int_equal(fx_fire(fx, &alice, "SO-1", "confirm", "{\"unit_price\":-1}", &r),
			 DOCKET_EINVAL);

	/* After all that, the case is as it was. */
	json_t *c = fx_case(fx, NULL, "SO-1");
	assert_string_equal(jstr(c, "stage"), "received");
	assert_int_equal(jint(c, "seq"), 1);
	assert_null(json_object_get(json_object_get(c, "fields"), "unit_price"));
	json_decref(c);

	/* A guard that holds for no transition says what it read. */
	assert_int_equal(fx_fire(fx, &alice, "SO-1", "confirm", "{\"unit_price\":3}", &r), 0);
	assert_int_equal(fx_fire(fx, &oscar, "SO-1", "checked", NULL, &r), DOCKET_EGUARD);
	assert_non_null(strstr(r.err.msg, "in_stock >= quantity"));
	assert_non_null(strstr(r.err.msg, "quantity=5"));
	assert_string_equal(fx_stage(fx, "SO-1"), "stock_check");

	/* A closed case moves no more. */
	assert_int_equal(fx_fire(fx, &dana, "SO-1", "cancel", NULL, &r), 0);
	assert_int_equal(fx_fire(fx, &dana, "SO-1", "cancel", NULL, &r), DOCKET_ESTATE);
	assert_non_null(strstr(r.err.msg, "closed"));
}

static void first_guard_that_holds_wins(void **state)
{
	fixture *fx = *state;
	docket_result r;

	for (int i = 0; i < 2; i++) {
		assert_int_equal(fx_create(fx, &alice, "order", NEW_ORDER, &r), 0);
		assert_int_equal(fx_fire(fx, &alice, r.id, "confirm", "{\"unit_price\":1}", &r), 0);
	}
	assert_int_equal(fx_fire(fx, &oscar, "SO-1", "checked", "{\"in_stock\":10}", &r), 0);
	assert_string_equal(r.stage, "shipping");
	assert_int_equal(fx_fire(fx, &oscar, "SO-2", "checked", "{\"in_stock\":1}", &r), 0);
	assert_string_equal(r.stage, "production");
}

static void an_event_without_roles_is_for_any_member(void **state)
{
	fixture *fx = *state;
	docket_result r;

	assert_int_equal(fx_create(fx, &alice, "order", NEW_ORDER, &r), 0);
	assert_int_equal(fx_fire(fx, &alice, "SO-1", "confirm", "{\"unit_price\":1}", &r), 0);
	assert_int_equal(fx_fire(fx, &gus, "SO-1", "checked", "{\"in_stock\":1}", &r), DOCKET_EPERM);
	assert_int_equal(fx_fire(fx, &fiona, "SO-1", "checked", "{\"in_stock\":1}", &r), 0);
	assert_int_equal(fx_fire(fx, &gus, "SO-1", "built", NULL, &r), DOCKET_EPERM);
	assert_int_equal(fx_fire(fx, &root, "SO-1", "built", NULL, &r), 0);
	assert_string_equal(r.stage, "shipping");
}

static void notes_and_assignment_are_history(void **state)
{
	fixture *fx = *state;
	docket_result r;
	docket_err err;
	json_t *h;

	assert_int_equal(fx_create(fx, &alice, "order", NEW_ORDER, &r), 0);
	assert_int_equal(fx_apply(fx, (docket_op){.kind = DOCKET_OP_NOTE, .actor = &alice,
		.case_id = "SO-1", .note = "visited the customer"}, &r), 0);
	assert_int_equal(r.seq, 2);
	assert_int_equal(fx_apply(fx, (docket_op){.kind = DOCKET_OP_NOTE, .actor = &alice,
		.case_id = "SO-1", .note = ""}, &r), DOCKET_EINVAL);
	assert_int_equal(fx_apply(fx, (docket_op){.kind = DOCKET_OP_NOTE, .actor = &alice,
		.case_id = "SO-1", .note = "bad \xc3"}, &r), DOCKET_EINVAL);
	char *big = malloc(DOCKET_NOTE_MAX + 2);
	memset(big, 'a', DOCKET_NOTE_MAX + 1);
	big[DOCKET_NOTE_MAX + 1] = 0;
	assert_int_equal(fx_apply(fx, (docket_op){.kind = DOCKET_OP_NOTE, .actor = &alice,
		.case_id = "SO-1", .note = big}, &r), DOCKET_ELIMIT);
	big[DOCKET_NOTE_MAX] = 0;
	assert_int_equal(fx_apply(fx, (docket_op){.kind = DOCKET_OP_NOTE, .actor = &alice,
		.case_id = "SO-1", .note = big}, &r), 0);
	free(big);
	assert_int_equal(fx_apply(fx, (docket_op){.kind = DOCKET_OP_NOTE, .actor = &gus,
		.case_id = "SO-1", .note = "hi"}, &r), DOCKET_EPERM);

	assert_int_equal(fx_apply(fx, (docket_op){.kind = DOCKET_OP_ASSIGN, .actor = &alice,
		.case_id = "SO-1", .user = "bob"}, &r), 0);
	assert_int_equal(r.seq, 4);
	/* the same again changes nothing and writes nothing */
	assert_int_equal(fx_apply(fx, (docket_op){.kind = DOCKET_OP_ASSIGN, .actor = &alice,
		.case_id = "SO-1", .user = "bob"}, &r), 0);
	assert_int_equal(r.seq, 0);
	assert_int_equal(fx_apply(fx, (docket_op){.kind = DOCKET_OP_ASSIGN, .actor = &alice,
		.case_id = "SO-1", .user = "carol"}, &r), 0);
	json_t *c = fx_case(fx, NULL, "SO-1");
	assert_string_equal(jstr(c, "assignee"), "carol");
	json_decref(c);
	assert_int_equal(fx_apply(fx, (docket_op){.kind = DOCKET_OP_ASSIGN, .actor = &alice,
		.case_id = "SO-1", .user = NULL}, &r), 0);
	c = fx_case(fx, NULL, "SO-1");
	assert_true(json_is_null(json_object_get(c, "assignee")));
	json_decref(c);

	assert_int_equal(docket_engine_history(fx->eng, &alice, "SO-1", &h, &err), 0);
	assert_int_equal(json_array_size(h), 6);
	const char *kinds[] = {"create", "note", "note", "assign", "assign", "assign"};
	for (size_t i = 0; i < 6; i++) {
		json_t *e = json_array_get(h, i);
		assert_int_equal(jint(e, "seq"), (json_int_t)i + 1);
		assert_string_equal(jstr(e, "kind"), kinds[i]);
		if (i)
			assert_string_equal(jstr(e, "from"), "received");
		assert_string_equal(jstr(e, "to"), "received");
	}
	assert_string_equal(jstr(json_array_get(h, 1), "note"), "visited the customer");
	assert_string_equal(jstr(json_array_get(h, 3), "assignee"), "bob");
	assert_true(json_is_null(json_object_get(json_array_get(h, 5), "assignee")));
	json_decref(h);
}

static void a_batch_commits_each_operation_on_its_own(void **state)
{
	fixture *fx = *state;
	json_t *good = json_loads(NEW_ORDER, 0, NULL), *bad = json_loads("{}", 0, NULL);
	docket_op ops[4] = {
		{.kind = DOCKET_OP_CREATE, .actor = &alice, .workflow = "order", .fields = good},
		{.kind = DOCKET_OP_CREATE, .actor = &alice, .workflow = "order", .fields = bad},
		{.kind = DOCKET_OP_CREATE, .actor = &alice, .workflow = "order", .fields = good},
		{.kind = DOCKET_OP_FIRE, .actor = &alice, .case_id = "SO-1", .event = "cancel"},
	};
	docket_result r[4];

	assert_int_equal(docket_engine_apply(fx->eng, ops, 4, r), 0);
	assert_int_equal(r[0].code, 0);
	assert_string_equal(r[0].id, "SO-1");
	assert_int_equal(r[1].code, DOCKET_EREQUIRED);
	assert_int_equal(r[1].seq, 0);
	assert_int_equal(r[2].code, 0);
	assert_string_equal(r[2].id, "SO-2");
	/* later operations of a batch see what earlier ones wrote */
	assert_int_equal(r[3].code, 0);
	assert_string_equal(r[3].stage, "cancelled");
	json_decref(good);
	json_decref(bad);
}

/* SO-1's SLA entry at T0 + DAY, put back or taken away behind the engine. */
static void sla_entry(fixture *fx, bool present)
{
	uint8_t k[KEY_SLA], ck[DOCKET_CKEY], v[4];
	MDB_val key = {KEY_SLA, k}, val = {4, v};
	uint32_t prefixno;
	MDB_txn *txn;

	assert_int_equal(mdb_txn_begin(fx->eng->st.env, NULL, 0, &txn), 0);
	assert_int_equal(docket_intern(&fx->eng->st, txn, DOCKET_N_PREFIX, 0, "SO", 2, false,
				       &prefixno, NULL), 0);
	docket_ckey(ck, prefixno, 1);
	docket_key_sla(k, T0 + DAY, ck);
	docket_be32(v, docket_catalog_find(&fx->eng->cat, "order")->wfno);
	if (present)
		assert_int_equal(mdb_put(txn, fx->eng->st.sla, &key, &val, 0), 0);
	else
		assert_int_equal(mdb_del(txn, fx->eng->st.sla, &key, NULL), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
}

/* An event found the store damaged after its first write: that event
 * alone is refused and leaves nothing behind, its neighbours commit. */
static void a_failure_after_writing_leaves_the_batch_whole(void **state)
{
	fixture *fx = *state;
	docket_result r[3];

	assert_int_equal(fx_create(fx, &alice, "order", NEW_ORDER, &r[0]), 0);
	assert_int_equal(fx_create(fx, &alice, "order", NEW_ORDER, &r[0]), 0);
	sla_entry(fx, false);
	json_t *good = json_loads(NEW_ORDER, 0, NULL);
	docket_op ops[3] = {
		{.kind = DOCKET_OP_FIRE, .actor = &alice, .case_id = "SO-2", .event = "cancel"},
		{.kind = DOCKET_OP_FIRE, .actor = &alice, .case_id = "SO-1", .event = "cancel"},
		{.kind = DOCKET_OP_CREATE, .actor = &alice, .workflow = "order", .fields = good},
	};
	assert_int_equal(docket_engine_apply(fx->eng, ops, 3, r), 0);
	assert_int_equal(r[0].code, 0);
	assert_string_equal(r[0].stage, "cancelled");
	assert_int_equal(r[1].code, DOCKET_ECORRUPT);
	assert_int_equal(r[1].seq, 0);
	assert_int_equal(r[2].code, 0);
	assert_string_equal(r[2].id, "SO-3");
	json_decref(good);
	/* SO-1 is where it was, stage index and history untouched. */
	sla_entry(fx, true);
	assert_int_equal(fx_check(fx), 0);
	json_t *c;
	docket_err err;
	assert_int_equal(docket_engine_case(fx->eng, &alice, "SO-1", &c, &err), 0);
	assert_string_equal(json_string_value(json_object_get(c, "stage")), "received");
	assert_int_equal(json_integer_value(json_object_get(c, "seq")), 1);
	json_decref(c);
}

static const char *V2 =
	"workflow: order\n"
	"version: 2\n"
	"prefix: SO\n"
	"roles: [sales]\n"
	"fields:\n"
	"  customer: {type: string, required: true}\n"
	"  region: {type: enum, values: [north, south], required: true}\n"
	"start: intake\n"
	"stages:\n"
	"  intake:\n"
	"    on:\n"
	"      accept: {to: done}\n"
	"  done: {terminal: true}\n";

static void running_cases_keep_their_definition(void **state)
{
	fixture *fx = *state;
	docket_install_info info;
	docket_result r;
	docket_err err;

	assert_int_equal(fx_create(fx, &alice, "order", NEW_ORDER, &r), 0);
	assert_int_equal(docket_engine_install(fx->eng, wf_from(V2), &info, &err), 0);
	assert_true(info.new_definition);
	assert_true(info.became_current);
	assert_int_equal(info.previous_version, 1);
	assert_int_equal(docket_engine_workflow(fx->eng, "order")->version, 2);

	/* New cases use version 2 ... */
	assert_int_equal(fx_create(fx, &alice, "order", NEW_ORDER, &r), DOCKET_ENOENT);
	assert_int_equal(fx_create(fx, &alice, "order",
				   "{\"customer\":\"B\",\"region\":\"north\"}", &r), 0);
	assert_string_equal(r.id, "SO-2");
	assert_string_equal(r.stage, "intake");
	/* ... while SO-1 keeps version 1, its stages, fields and rules. */
	json_t *c = fx_case(fx, NULL, "SO-1");
	assert_int_equal(jint(c, "version"), 1);
	json_decref(c);
	assert_int_equal(fx_fire(fx, &alice, "SO-1", "accept", NULL, &r), DOCKET_ESTATE);
	assert_int_equal(fx_fire(fx, &alice, "SO-1", "confirm", "{\"unit_price\":2}", &r), 0);
	assert_string_equal(r.stage, "stock_check");

	/* The same bytes again store nothing new; going back to version 1
	 * makes the stored definition current again. */
	assert_int_equal(docket_engine_install(fx->eng, wf_from(V2), &info, &err), 0);
	assert_false(info.new_definition);
	assert_false(info.became_current);
	assert_int_equal(docket_engine_install(fx->eng, wf_from(ORDER_WF), &info, &err), 0);
	assert_false(info.new_definition);
	assert_true(info.became_current);
	assert_int_equal(info.previous_version, 2);

	/* Nothing is lost or reinterpreted across a restart. */
	fx_reopen(fx);
	assert_int_equal(docket_engine_workflow(fx->eng, "order")->version, 1);
	c = fx_case(fx, NULL, "SO-2");
	assert_int_equal(jint(c, "version"), 2);
	assert_string_equal(jstr(json_object_get(c, "fields"), "region"), "north");
	json_decref(c);
	assert_int_equal(fx_fire(fx, &alice, "SO-2", "accept", NULL, &r), 0);
	assert_string_equal(r.stage, "done");
	json_t *w;
	assert_int_equal(docket_engine_workflows(fx->eng, &w, &err), 0);
	assert_int_equal(json_array_size(w), 1);
	assert_int_equal(jint(json_array_get(w, 0), "definitions"), 2);
	json_decref(w);
}

static void ids_continue_after_reopen(void **state)
{
	fixture *fx = *state;
	docket_result r;

	assert_int_equal(fx_create(fx, &alice, "order", NEW_ORDER, &r), 0);
	assert_int_equal(fx_create(fx, &alice, "order", NEW_ORDER, &r), 0);
	fx_reopen(fx);
	assert_int_equal(fx_create(fx, &alice, "order", NEW_ORDER, &r), 0);
	assert_string_equal(r.id, "SO-3");
}

static void check_finds_a_broken_index(void **state)
{
	fixture *fx = *state;
	docket_result r;
	MDB_txn *txn;
	json_t *p;
	docket_err err;

	assert_int_equal(fx_create(fx, &alice, "order", NEW_ORDER, &r), 0);
	assert_int_equal(fx_check(fx), 0);
	/* Damage the store behind the engine's back: drop the SLA entry. */
	assert_int_equal(mdb_txn_begin(fx->eng->st.env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_drop(txn, fx->eng->st.sla, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	assert_int_equal(docket_engine_check(fx->eng, &p, &err), DOCKET_ECORRUPT);
	char *s = json_dumps(p, 0);
	assert_non_null(strstr(s, "SO-1: SLA deadline missing"));
	assert_non_null(strstr(s, "SLA index holds 0 entries, the cases account for 1"));
	free(s);
	json_decref(p);
	/* put it back so teardown's check passes */
	assert_int_equal(mdb_txn_begin(fx->eng->st.env, NULL, 0, &txn), 0);
	uint8_t k[KEY_SLA], ck[DOCKET_CKEY], v[4];
	MDB_val key = {KEY_SLA, k}, val = {4, v};
	uint32_t prefixno;
	assert_int_equal(docket_intern(&fx->eng->st, txn, DOCKET_N_PREFIX, 0, "SO", 2, false,
				       &prefixno, NULL), 0);
	docket_ckey(ck, prefixno, 1);
	docket_key_sla(k, T0 + DAY, ck);
	docket_be32(v, docket_catalog_find(&fx->eng->cat, "order")->wfno);
	assert_int_equal(mdb_put(txn, fx->eng->st.sla, &key, &val, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
}

static void check_finds_a_broken_history(void **state)
{
	fixture *fx = *state;
	docket_result r;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	json_t *p;
	docket_err err;

	assert_int_equal(fx_create(fx, &alice, "order", NEW_ORDER, &r), 0);
	assert_int_equal(fx_fire(fx, &alice, "SO-1", "cancel", NULL, &r), 0);
	assert_int_equal(mdb_txn_begin(fx->eng->st.env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_cursor_open(txn, fx->eng->st.history, &cur), 0);
	assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
	uint8_t key[8], *copy = malloc(v.mv_size);
	memcpy(key, k.mv_data, 8);
	memcpy(copy, v.mv_data, v.mv_size);
	size_t len = v.mv_size;
	assert_int_equal(mdb_cursor_del(cur, 0), 0);
	mdb_cursor_close(cur);
	assert_int_equal(mdb_txn_commit(txn), 0);
	assert_int_equal(docket_engine_check(fx->eng, &p, &err), DOCKET_ECORRUPT);
	char *s = json_dumps(p, 0);
	assert_non_null(strstr(s, "SO-1: history entry 1 is missing"));
	free(s);
	json_decref(p);
	assert_int_equal(docket_engine_history(fx->eng, &alice, "SO-1", &p, &err), DOCKET_ECORRUPT);
	/* restore */
	assert_int_equal(mdb_txn_begin(fx->eng->st.env, NULL, 0, &txn), 0);
	k.mv_size = 8;
	k.mv_data = key;
	v.mv_size = len;
	v.mv_data = copy;
	assert_int_equal(mdb_put(txn, fx->eng->st.history, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	free(copy);
}

static void the_map_grows_and_the_batch_survives(void **state)
{
	fixture *fx = *state;
	docket_engine_close(fx->eng);
	rm_rf(fx->home);
	make_home(fx->home);
	docket_engine_opts o = {.now_ms = fake_clock, .clock_ctx = fx, .nosync_for_tests = true,
				.map_size = SANITIZED ? 64 << 10 : 256 << 10};
	docket_err err;
	assert_int_equal(docket_engine_open(fx->home, &o, &fx->eng, &err), 0);
	fx_install(fx, ORDER_WF);
	size_t before = fx->eng->st.mapsize;

	const int N = SANITIZED ? 500 : 3000;
	docket_op *ops = calloc(N, sizeof *ops);
	docket_result *r = calloc(N, sizeof *r);
	json_t *f = json_pack("{s:s, s:i, s:s}", "customer", "Acme", "quantity", 5, "phone",
			      "+1 555 0100 0100 0100 0100 0100 0100 0100 0100 0100");
	for (int i = 0; i < N; i++)
		ops[i] = (docket_op){.kind = DOCKET_OP_CREATE, .actor = &alice, .workflow = "order",
				     .fields = f, .note = "a note long enough to fill pages quickly"};
	assert_int_equal(docket_engine_apply(fx->eng, ops, N, r), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(r[i].code, 0);
	char last[16];
	snprintf(last, sizeof last, "SO-%d", N);
	assert_string_equal(r[N - 1].id, last);
	assert_true(fx->eng->st.mapsize > before);
	json_decref(f);
	free(ops);
	free(r);
}

static void backup_is_a_home_that_checks_clean(void **state)
{
	fixture *fx = *state;
	docket_result r;
	docket_err err;
	char dir[64];

	for (int i = 0; i < 20; i++)
		assert_int_equal(fx_create(fx, &alice, "order", NEW_ORDER, &r), 0);
	assert_int_equal(fx_fire(fx, &alice, "SO-3", "cancel", NULL, &r), 0);
	snprintf(dir, sizeof dir, "%.50s/backup", fx->home);
	assert_int_equal(docket_engine_backup(fx->eng, dir, &err), 0);
	assert_int_equal(docket_engine_backup(fx->eng, dir, &err), DOCKET_EEXIST);

	fixture copy = {.now = fx->now, .nosync = true};
	snprintf(copy.home, sizeof copy.home, "%s", dir);
	assert_int_equal(fx_open(&copy), 0);
	assert_int_equal(fx_check(&copy), 0);
	assert_string_equal(fx_stage(&copy, "SO-3"), "cancelled");
	assert_int_equal(fx_create(&copy, &alice, "order", NEW_ORDER, &r), 0);
	assert_string_equal(r.id, "SO-21");
	docket_engine_close(copy.eng);
}

static void a_forked_child_must_open_its_own(void **state)
{
	fixture *fx = *state;
	docket_result r;

	assert_int_equal(fx_create(fx, &alice, "order", NEW_ORDER, &r), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		json_t *c = NULL;
		docket_err err;
		int rc = docket_engine_case(fx->eng, &alice, "SO-1", &c, &err);
		int rc2 = fx_create(fx, &alice, "order", NEW_ORDER, &r);
		docket_engine_close(fx->eng);   /* must leave the parent's slots alone */
		_exit(rc == DOCKET_ESTORE && rc2 == DOCKET_ESTORE ? 0 : 1);
	}
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(fx_create(fx, &alice, "order", NEW_ORDER, &r), 0);
	assert_string_equal(r.id, "SO-2");
}

static void one_exclusive_engine_per_home(void **state)
{
	fixture *fx = *state;
	docket_engine_opts o = {.exclusive = true, .nosync_for_tests = true};
	docket_engine *a, *b;
	docket_err err;

	/* LMDB forbids two environments on one file in one process. */
	docket_engine_close(fx->eng);
	fx->eng = NULL;
	assert_int_equal(docket_engine_open(fx->home, &o, &a, &err), 0);
	assert_int_equal(docket_engine_open(fx->home, &o, &b, &err), DOCKET_EBUSY);
	assert_null(b);
	docket_engine_close(a);
	assert_int_equal(docket_engine_open(fx->home, &o, &b, &err), 0);
	docket_engine_close(b);
	assert_int_equal(fx_open(fx), 0);
}

static void an_unknown_schema_is_refused(void **state)
{
	fixture *fx = *state;
	MDB_txn *txn;
	uint8_t v[4];
	MDB_val k = {6, "schema"}, val = {4, v};
	docket_engine *e;
	docket_err err;

	docket_be32(v, 99);
	assert_int_equal(mdb_txn_begin(fx->eng->st.env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_put(txn, fx->eng->st.meta, &k, &val, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	docket_engine_close(fx->eng);
	fx->eng = NULL;
	assert_int_equal(docket_engine_open(fx->home, NULL, &e, &err), DOCKET_ECORRUPT);
	assert_non_null(strstr(err.msg, "schema 99"));
	/* leave a store teardown can check */
	rm_rf(fx->home);
	make_home(fx->home);
	assert_int_equal(fx_open(fx), 0);
}

/* The child of a_full_disk...: open, fill the disk, report what apply said. */
static int fill_the_disk(fixture *fx)
{
	const int N = SANITIZED ? 500 : 3000;
	docket_engine_opts o = {.now_ms = fake_clock, .clock_ctx = fx};
	docket_engine *eng;
	docket_err err;
	struct stat st;
	char path[128];

	if (docket_engine_open(fx->home, &o, &eng, &err))
		return 10;
	/* The disk is full: no file may grow past its current size. */
	snprintf(path, sizeof path, "%.60s/store.mdb", fx->home);
	stat(path, &st);
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit rl = {(rlim_t)st.st_size, (rlim_t)st.st_size};
	if (setrlimit(RLIMIT_FSIZE, &rl))
		return 11;
	docket_op *ops = calloc(N, sizeof *ops);
	docket_result *r = calloc(N, sizeof *r);
	json_t *f = json_pack("{s:s, s:i}", "customer", "Acme", "quantity", 5);
	for (int i = 0; i < N; i++)
		ops[i] = (docket_op){.kind = DOCKET_OP_CREATE, .actor = &alice, .workflow = "order",
				     .fields = f, .note = "long enough a note to need new pages"};
	int rc = docket_engine_apply(eng, ops, N, r);
	int ok = rc == DOCKET_EIO && r[0].code == DOCKET_EIO && r[N - 1].code == DOCKET_EIO &&
		 strstr(r[0].err.msg, "committing");
	return ok ? 0 : 12;
}

static void a_full_disk_fails_the_batch_and_changes_nothing(void **state)
{
	fixture *fx = *state;
	docket_result r;
	int status;

	for (int i = 0; i < 3; i++)
		assert_int_equal(fx_create(fx, &alice, "order", NEW_ORDER, &r), 0);
	fflush(stdout);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fill_the_disk(fx));
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* The store is as it was: consistent, and the next id is the fourth. */
	assert_int_equal(fx_check(fx), 0);
	assert_int_equal(fx_create(fx, &alice, "order", NEW_ORDER, &r), 0);
	assert_string_equal(r.id, "SO-4");
}

static void install_refuses_more_timers_than_keys_hold(void **state)
{
	fixture *fx = *state;
	size_t cap = 20000, off = 0;
	char *y = malloc(cap);
	docket_workflow *wf = NULL;
	docket_diags d;
	docket_err err;

	off += (size_t)snprintf(y + off, cap - off,
		"workflow: many\nversion: 1\nprefix: M\nroles: [a]\nstart: s\nstages:\n"
		"  s:\n    timers:\n");
	for (int i = 0; i < 257; i++)
		off += (size_t)snprintf(y + off, cap - off, "      - {after: %dm, event: go}\n", i + 1);
	snprintf(y + off, cap - off, "    on:\n      go: {to: t}\n  t: {terminal: true}\n");
	docket_diags_init(&d, "many.yaml");
	assert_int_equal(docket_workflow_load_buf("many.yaml", y, strlen(y), NULL, &wf, &d), 0);
	docket_diags_free(&d);
	assert_int_equal(docket_engine_install(fx->eng, wf, NULL, &err), DOCKET_ELIMIT);
	assert_non_null(strstr(err.msg, "257 timers"));
	assert_null(docket_engine_workflow(fx->eng, "many"));
	free(y);
}

/* Times in views are formatted by hand: they must be what gmtime says,
 * at both ends of the date range, across leap days and before 1970, and
 * an instant outside the range must still print. */
static void times_print_as_gmtime_does(void **state)
{
	char got[64], want[64];
	struct tm tm;
	(void)state;

	int64_t edges[] = {0, -1, 999, -1000, -62135596800000, -62135596800001,
			   253402300799999, 253402300800000, 951782400000, 951868799999,
			   4107542400000, -2203891200000};
	for (size_t i = 0; i < sizeof edges / sizeof *edges + 20000; i++) {
		int64_t ms = i < sizeof edges / sizeof *edges
			? edges[i]
			: ((int64_t)rand() << 20 ^ rand()) % 253402300800000 * (rand() % 4 ? 1 : -1) / 4;
		int64_t s = ms / 1000, r = ms % 1000;
		if (r < 0) {
			r += 1000;
			s--;
		}
		time_t t = (time_t)s;
		gmtime_r(&t, &tm);
		snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, (int)r);
		docket_time_format(ms, got);
		assert_string_equal(got, want);
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(create_gives_ids_defaults_and_first_entry),
		T(create_refuses_bad_input_and_writes_nothing),
		T(strings_from_the_command_line_are_parsed),
		T(create_needs_a_role_of_the_workflow),
		T(fire_moves_the_case_and_records_everything),
		T(refusals_say_which_rule_and_change_nothing),
		T(first_guard_that_holds_wins),
		T(an_event_without_roles_is_for_any_member),
		T(notes_and_assignment_are_history),
		T(a_batch_commits_each_operation_on_its_own),
		T(running_cases_keep_their_definition),
		T(ids_continue_after_reopen),
		T(check_finds_a_broken_index),
		T(a_failure_after_writing_leaves_the_batch_whole),
		T(check_finds_a_broken_history),
		T(the_map_grows_and_the_batch_survives),
		T(backup_is_a_home_that_checks_clean),
		T(a_forked_child_must_open_its_own),
		T(one_exclusive_engine_per_home),
		T(an_unknown_schema_is_refused),
		T(install_refuses_more_timers_than_keys_hold),
		T(a_full_disk_fails_the_batch_and_changes_nothing),
		cmocka_unit_test(times_print_as_gmtime_does),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
