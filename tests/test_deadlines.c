/* Time in the engine, on a fake clock: SLAs make cases late, timers fire
 * their event as `system`, plugin runs are queued, retried with backoff,
 * failed, and shown as stuck. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine_util.h"
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

static json_t *stuck(fixture *fx)
{
	json_t *s;
	docket_err err;
	assert_int_equal(docket_engine_stuck(fx->eng, &dana, NULL, 0, &s, &err), 0);
	return s;
}

static json_t *outbox(fixture *fx, int64_t at)
{
	json_t *o;
	docket_err err;
	assert_int_equal(docket_engine_outbox_due(fx->eng, at, 0, &o, &err), 0);
	return o;
}

static json_t *timers(fixture *fx, int64_t at)
{
	json_t *o;
	docket_err err;
	assert_int_equal(docket_engine_timers_due(fx->eng, at, 0, &o, &err), 0);
	return o;
}

static int64_t next_deadline(fixture *fx)
{
	int64_t at = 0;
	docket_err err;
	int rc = docket_engine_next_deadline(fx->eng, &at, &err);
	return rc == DOCKET_ENOENT ? -1 : at;
}

static int outcome(fixture *fx, docket_op_kind kind, uint32_t entry, const char *event,
		   const char *fields, const char *reason, docket_result *r)
{
	json_t *j = fields ? json_loads(fields, 0, NULL) : NULL;
	int rc = fx_apply(fx, (docket_op){.kind = kind, .case_id = "SO-1", .entry = entry,
					  .event = event, .fields = j, .reason = reason}, r);
	json_decref(j);
	return rc;
}

/* SO-1 confirmed: in stock_check with its action queued at entry 2. */
static void to_stock_check(fixture *fx)
{
	docket_result r;
	assert_int_equal(fx_create(fx, &alice, "order", NEW_ORDER, &r), 0);
	assert_int_equal(fx_fire(fx, &alice, "SO-1", "confirm", "{\"unit_price\":2}", &r), 0);
	assert_int_equal(r.entry, 2);
}

/* SO-1 in collection (30d SLA, 30d timer). */
static uint32_t to_collection(fixture *fx)
{
	docket_result r;
	to_stock_check(fx);
	assert_int_equal(outcome(fx, DOCKET_OP_ACTION_EVENT, 2, "checked", "{\"in_stock\":9}",
				 NULL, &r), 0);
	assert_int_equal(fx_fire(fx, &oscar, "SO-1", "shipped", NULL, &r), 0);
	assert_string_equal(r.stage, "collection");
	return r.entry;
}

static void a_case_past_its_sla_is_late_and_stuck(void **state)
{
	fixture *fx = *state;
	docket_result r;

	assert_int_equal(fx_create(fx, &alice, "order", NEW_ORDER, &r), 0);
	fx->now = T0 + 23 * HOUR;
	json_t *c = fx_case(fx, NULL, "SO-1"), *s = stuck(fx);
	assert_false(json_is_true(json_object_get(c, "late")));
	assert_string_equal(jstr(c, "due"), "2024-05-02T08:00:00.000Z");
	assert_int_equal(jint(s, "count"), 0);
	json_decref(c);
	json_decref(s);

	fx->now = T0 + 25 * HOUR;
	c = fx_case(fx, NULL, "SO-1");
	s = stuck(fx);
	assert_true(json_is_true(json_object_get(c, "late")));
	assert_int_equal(jint(s, "count"), 1);
	json_t *row = json_array_get(json_object_get(s, "stuck"), 0);
	assert_string_equal(jstr(row, "case"), "SO-1");
	assert_string_equal(jstr(row, "reason"), "late");
	assert_string_equal(jstr(row, "owner"), "sales");
	assert_int_equal(jint(row, "late_by_s"), 3600);
	assert_non_null(strstr(jstr(row, "detail"), "1d SLA"));
	json_decref(c);
	json_decref(s);

	/* Leaving the stage ends it. */
	assert_int_equal(fx_fire(fx, &alice, "SO-1", "cancel", NULL, &r), 0);
	s = stuck(fx);
	assert_int_equal(jint(s, "count"), 0);
	json_decref(s);
}

static void stuck_is_sorted_by_lateness(void **state)
{
	fixture *fx = *state;
	docket_result r;

	for (int i = 0; i < 3; i++) {
		assert_int_equal(fx_create(fx, &alice, "order", NEW_ORDER, &r), 0);
		fx->now += HOUR;
	}
	fx->now = T0 + 3 * DAY;
	json_t *s = stuck(fx), *rows = json_object_get(s, "stuck");
	assert_int_equal(json_array_size(rows), 3);
	assert_string_equal(jstr(json_array_get(rows, 0), "case"), "SO-1");
	assert_string_equal(jstr(json_array_get(rows, 2), "case"), "SO-3");
	assert_true(jint(json_array_get(rows, 0), "late_by_s") >
		    jint(json_array_get(rows, 1), "late_by_s"));
	json_decref(s);
	json_t *l;
	docket_err err;
	assert_int_equal(docket_engine_stuck(fx->eng, &dana, "order", 2, &l, &err), 0);
	assert_int_equal(jint(l, "count"), 3);
	assert_int_equal(json_array_size(json_object_get(l, "stuck")), 2);
	json_decref(l);
	assert_int_equal(docket_engine_stuck(fx->eng, &dana, "nosuch", 2, &l, &err), DOCKET_ENOENT);
}

static void a_timer_fires_its_event_as_system_once(void **state)
{
	fixture *fx = *state;
	docket_result r;
	uint32_t entry = to_collection(fx);
	int64_t entered = fx->now;

	assert_true(next_deadline(fx) == entered + 30 * DAY);
	json_t *t = timers(fx, fx->now);
	assert_int_equal(json_array_size(t), 0);
	json_decref(t);
	/* Firing early is refused. */
	assert_int_equal(fx_apply(fx, (docket_op){.kind = DOCKET_OP_TIMER, .case_id = "SO-1",
						  .entry = entry, .timer = 0}, &r), DOCKET_ESTATE);
	assert_false(r.recorded_failure);

	fx->now = entered + 30 * DAY;
	t = timers(fx, fx->now);
	assert_int_equal(json_array_size(t), 1);
	json_t *e = json_array_get(t, 0);
	assert_string_equal(jstr(e, "case"), "SO-1");
	assert_int_equal(jint(e, "entry"), entry);
	assert_int_equal(jint(e, "timer"), 0);
	assert_string_equal(jstr(e, "event"), "overdue");
	json_decref(t);

	assert_int_equal(fx_apply(fx, (docket_op){.kind = DOCKET_OP_TIMER, .case_id = "SO-1",
						  .entry = entry, .timer = 0}, &r), 0);
	assert_string_equal(r.stage, "dunning");
	/* the same timer again is stale */
	assert_int_equal(fx_apply(fx, (docket_op){.kind = DOCKET_OP_TIMER, .case_id = "SO-1",
						  .entry = entry, .timer = 0}, &r), DOCKET_ESTATE);
	assert_false(r.recorded_failure);

	json_t *h;
	docket_err err;
	assert_int_equal(docket_engine_history(fx->eng, &alice, "SO-1", &h, &err), 0);
	e = json_array_get(h, json_array_size(h) - 1);
	assert_string_equal(jstr(e, "actor"), "system");
	assert_string_equal(jstr(e, "event"), "overdue");
	assert_string_equal(jstr(e, "to"), "dunning");
	json_decref(h);
	/* dunning's own timer is next */
	assert_true(next_deadline(fx) == fx->now + 7 * DAY);
}

static void a_refused_timer_is_parked_not_looped(void **state)
{
	fixture *fx = *state;
	docket_result r;
	uint32_t entry = to_collection(fx);

	fx->now += 30 * DAY;
	assert_int_equal(fx_apply(fx, (docket_op){.kind = DOCKET_OP_TIMER, .case_id = "SO-1",
						  .entry = entry, .timer = 0}, &r), 0);
	entry = r.entry;
	fx->now += 7 * DAY;
	/* escalate needs quantity > 100: refused, and recorded instead */
	assert_int_equal(fx_apply(fx, (docket_op){.kind = DOCKET_OP_TIMER, .case_id = "SO-1",
						  .entry = entry, .timer = 0}, &r), DOCKET_EGUARD);
	assert_true(r.recorded_failure);
	assert_int_not_equal(r.seq, 0);
	json_t *t = timers(fx, fx->now + 365 * DAY);
	assert_int_equal(json_array_size(t), 0);
	json_decref(t);
	assert_int_equal(next_deadline(fx), -1);

	json_t *s = stuck(fx), *row = json_array_get(json_object_get(s, "stuck"), 0);
	assert_int_equal(jint(s, "count"), 1);
	assert_string_equal(jstr(row, "reason"), "timer-refused");
	assert_non_null(strstr(jstr(row, "detail"), "quantity > 100"));
	json_decref(s);

	/* retry re-arms it; paying ends it all */
	assert_int_equal(fx_apply(fx, (docket_op){.kind = DOCKET_OP_RETRY, .actor = &fiona,
						  .case_id = "SO-1"}, &r), 0);
	t = timers(fx, fx->now);
	assert_int_equal(json_array_size(t), 1);
	json_decref(t);
	assert_int_equal(fx_apply(fx, (docket_op){.kind = DOCKET_OP_RETRY, .actor = &fiona,
						  .case_id = "SO-1"}, &r), DOCKET_ESTATE);
	assert_int_equal(fx_fire(fx, &fiona, "SO-1", "paid", NULL, &r), 0);
	assert_string_equal(r.stage, "closed");
	assert_int_equal(next_deadline(fx), -1);
}

static void an_unfired_timer_becomes_stuck_after_the_grace(void **state)
{
	fixture *fx = *state;
	to_collection(fx);
	int64_t due = fx->now + 30 * DAY;

	/* collection is also 30d SLA: look only at timer rows */
	fx->now = due + 30 * SEC;
	json_t *s = stuck(fx);
	size_t timer_rows = 0;
	for (size_t i = 0; i < json_array_size(json_object_get(s, "stuck")); i++)
		timer_rows += !strcmp(jstr(json_array_get(json_object_get(s, "stuck"), i), "reason"),
				      "timer-overdue");
	assert_int_equal(timer_rows, 0);
	json_decref(s);
	fx->now = due + 5 * 60 * SEC;
	s = stuck(fx);
	timer_rows = 0;
	for (size_t i = 0; i < json_array_size(json_object_get(s, "stuck")); i++)
		timer_rows += !strcmp(jstr(json_array_get(json_object_get(s, "stuck"), i), "reason"),
				      "timer-overdue");
	assert_int_equal(timer_rows, 1);
	json_decref(s);
}

static void an_action_is_queued_retried_with_backoff_and_fails(void **state)
{
	fixture *fx = *state;
	docket_result r;
	int64_t t0;

	to_stock_check(fx);
	t0 = fx->now;
	json_t *o = outbox(fx, fx->now), *e = json_array_get(o, 0);
	assert_int_equal(json_array_size(o), 1);
	assert_string_equal(jstr(e, "key"), "SO-1#2");
	assert_string_equal(jstr(e, "plugin"), "stock");
	assert_string_equal(jstr(e, "stage"), "stock_check");
	assert_int_equal(jint(e, "attempt"), 0);
	assert_int_equal(jint(e, "timeout_ms"), 30000);
	assert_int_equal(jint(json_object_get(e, "fields"), "quantity"), 5);
	/* plugins see confidential fields: they act for the system */
	json_decref(o);
	assert_true(next_deadline(fx) == t0);

	assert_int_equal(outcome(fx, DOCKET_OP_ACTION_RETRY, 2, NULL, NULL, "warehouse down", &r), 0);
	o = outbox(fx, fx->now);
	assert_int_equal(json_array_size(o), 0);
	json_decref(o);
	assert_true(next_deadline(fx) == t0 + 2 * SEC);
	fx->now = t0 + 2 * SEC;
	o = outbox(fx, fx->now);
	assert_int_equal(jint(json_array_get(o, 0), "attempt"), 1);
	assert_string_equal(jstr(json_array_get(o, 0), "key"), "SO-1#2");
	json_decref(o);
	assert_int_equal(outcome(fx, DOCKET_OP_ACTION_RETRY, 2, NULL, NULL, "warehouse down", &r), 0);
	/* backoff doubles: 2s, then 4s */
	assert_true(next_deadline(fx) == fx->now + 4 * SEC);
	fx->now += 4 * SEC;
	assert_int_equal(outcome(fx, DOCKET_OP_ACTION_RETRY, 2, NULL, NULL, "still down", &r), 0);
	/* retry.max 2: three attempts, then failed */
	assert_int_equal(next_deadline(fx), -1);
	json_t *c = fx_case(fx, NULL, "SO-1"), *a = json_object_get(c, "action");
	assert_string_equal(jstr(a, "state"), "failed");
	assert_string_equal(jstr(a, "reason"), "still down");
	json_decref(c);
	json_t *s = stuck(fx), *row = json_array_get(json_object_get(s, "stuck"), 0);
	assert_string_equal(jstr(row, "reason"), "action-failed");
	assert_string_equal(jstr(row, "detail"), "still down");
	json_decref(s);

	/* a failed action takes no outcome; retry queues it again */
	assert_int_equal(outcome(fx, DOCKET_OP_ACTION_DONE, 2, NULL, NULL, NULL, &r), DOCKET_ESTATE);
	assert_int_equal(fx_apply(fx, (docket_op){.kind = DOCKET_OP_RETRY, .actor = &gus,
						  .case_id = "SO-1"}, &r), DOCKET_EPERM);
	assert_int_equal(fx_apply(fx, (docket_op){.kind = DOCKET_OP_RETRY, .actor = &oscar,
						  .case_id = "SO-1"}, &r), 0);
	o = outbox(fx, fx->now);
	assert_int_equal(jint(json_array_get(o, 0), "attempt"), 0);
	json_decref(o);
	assert_int_equal(outcome(fx, DOCKET_OP_ACTION_EVENT, 2, "checked", "{\"in_stock\":1}",
				 NULL, &r), 0);
	assert_string_equal(r.stage, "production");
	s = stuck(fx);
	assert_int_equal(jint(s, "count"), 0);
	json_decref(s);

	json_t *h;
	docket_err err;
	assert_int_equal(docket_engine_history(fx->eng, &alice, "SO-1", &h, &err), 0);
	const char *kinds[] = {"create", "event", "action-retry", "action-retry", "action-failed",
			       "retry", "event"};
	assert_int_equal(json_array_size(h), 7);
	for (size_t i = 0; i < 7; i++)
		assert_string_equal(jstr(json_array_get(h, i), "kind"), kinds[i]);
	assert_string_equal(jstr(json_array_get(h, 2), "reason"), "warehouse down");
	assert_string_equal(jstr(json_array_get(h, 6), "actor"), "system");
	json_decref(h);
}

static void outcomes_for_another_stage_entry_are_refused(void **state)
{
	fixture *fx = *state;
	docket_result r;

	to_stock_check(fx);
	assert_int_equal(outcome(fx, DOCKET_OP_ACTION_EVENT, 1, "checked", "{\"in_stock\":9}",
				 NULL, &r), DOCKET_ESTATE);
	assert_false(r.recorded_failure);
	assert_int_equal(outcome(fx, DOCKET_OP_ACTION_EVENT, 2, "checked", "{\"in_stock\":9}",
				 NULL, &r), 0);
	/* the same outcome again: no double commit */
	assert_int_equal(outcome(fx, DOCKET_OP_ACTION_EVENT, 2, "checked", "{\"in_stock\":9}",
				 NULL, &r), DOCKET_ESTATE);
	assert_int_equal(outcome(fx, DOCKET_OP_ACTION_RETRY, 2, NULL, NULL, "x", &r), DOCKET_ESTATE);
	json_t *c = fx_case(fx, NULL, "SO-1");
	assert_string_equal(jstr(c, "stage"), "shipping");
	assert_int_equal(jint(c, "seq"), 3);
	json_decref(c);
}

static void a_refused_plugin_event_counts_as_a_failed_attempt(void **state)
{
	fixture *fx = *state;
	docket_result r;

	to_stock_check(fx);
	/* in_stock unset: neither guard holds */
	assert_int_equal(outcome(fx, DOCKET_OP_ACTION_EVENT, 2, "checked", NULL, NULL, &r),
			 DOCKET_EGUARD);
	assert_true(r.recorded_failure);
	json_t *c = fx_case(fx, NULL, "SO-1"), *a = json_object_get(c, "action");
	assert_string_equal(jstr(a, "state"), "pending");
	assert_int_equal(jint(a, "attempt"), 1);
	json_decref(c);
	assert_int_equal(outcome(fx, DOCKET_OP_ACTION_EVENT, 2, "nonsense", NULL, NULL, &r),
			 DOCKET_ESTATE);
	assert_true(r.recorded_failure);
	/* a plugin that gives up fails the action at once */
	assert_int_equal(outcome(fx, DOCKET_OP_ACTION_FAIL, 2, NULL, NULL, "no such SKU", &r), 0);
	c = fx_case(fx, NULL, "SO-1");
	assert_string_equal(jstr(json_object_get(c, "action"), "state"), "failed");
	json_decref(c);
	/* staff moving the case on clears the failure */
	assert_int_equal(fx_fire(fx, &alice, "SO-1", "cancel", NULL, &r), 0);
	json_t *s = stuck(fx);
	assert_int_equal(jint(s, "count"), 0);
	json_decref(s);

	json_t *h;
	docket_err err;
	assert_int_equal(docket_engine_history(fx->eng, &alice, "SO-1", &h, &err), 0);
	assert_non_null(strstr(jstr(json_array_get(h, 2), "reason"),
			       "plugin returned event 'checked'"));
	json_decref(h);
}

static void an_action_may_finish_without_an_event(void **state)
{
	fixture *fx = *state;
	docket_result r;

	to_stock_check(fx);
	assert_int_equal(outcome(fx, DOCKET_OP_ACTION_DONE, 2, NULL, NULL, NULL, &r), 0);
	assert_string_equal(r.stage, "stock_check");
	json_t *c = fx_case(fx, NULL, "SO-1");
	assert_string_equal(jstr(json_object_get(c, "action"), "state"), "done");
	json_decref(c);
	json_t *o = outbox(fx, fx->now + DAY);
	assert_int_equal(json_array_size(o), 0);
	json_decref(o);
	assert_int_equal(fx_fire(fx, &oscar, "SO-1", "checked", "{\"in_stock\":9}", &r), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(a_case_past_its_sla_is_late_and_stuck),
		T(stuck_is_sorted_by_lateness),
		T(a_timer_fires_its_event_as_system_once),
		T(a_refused_timer_is_parked_not_looped),
		T(an_unfired_timer_becomes_stuck_after_the_grace),
		T(an_action_is_queued_retried_with_backoff_and_fails),
		T(outcomes_for_another_stage_entry_are_refused),
		T(a_refused_plugin_event_counts_as_a_failed_attempt),
		T(an_action_may_finish_without_an_event),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
