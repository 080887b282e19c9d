/* Reads: confidential fields stay hidden from readers without the role,
 * lists page with a stable cursor, stats count what the director asks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine_util.h"
#include "order_wf.h"

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

static json_t *list(fixture *fx, const docket_actor *who, docket_list_query q)
{
	json_t *l = NULL;
	docket_err err;
	int rc = docket_engine_list(fx->eng, who, &q, &l, &err);
	if (rc)
		fprintf(stderr, "list: %s\n", err.msg);
	assert_int_equal(rc, 0);
	return l;
}

static void confidential_fields_are_left_out_of_every_read(void **state)
{
	fixture *fx = *state;
	docket_result r;

	assert_int_equal(fx_create(fx, &alice, "order",
		"{\"customer\":\"Acme\",\"quantity\":5,\"phone\":\"555-0100\"}", &r), 0);
	assert_int_equal(fx_fire(fx, &alice, "SO-1", "confirm",
				 "{\"unit_price\":2,\"phone\":\"555-0199\"}", &r), 0);

	json_t *c = fx_case(fx, &oscar, "SO-1");
	assert_null(json_object_get(json_object_get(c, "fields"), "phone"));
	assert_string_equal(jstr(json_object_get(c, "fields"), "customer"), "Acme");
	json_decref(c);
	c = fx_case(fx, &dana, "SO-1");
	assert_string_equal(jstr(json_object_get(c, "fields"), "phone"), "555-0199");
	json_decref(c);
	c = fx_case(fx, &root, "SO-1");
	assert_string_equal(jstr(json_object_get(c, "fields"), "phone"), "555-0199");
	json_decref(c);

	json_t *h;
	docket_err err;
	assert_int_equal(docket_engine_history(fx->eng, &oscar, "SO-1", &h, &err), 0);
	char *s = json_dumps(h, 0);
	assert_null(strstr(s, "555-01"));
	assert_null(strstr(s, "phone"));
	free(s);
	json_decref(h);
	assert_int_equal(docket_engine_history(fx->eng, &alice, "SO-1", &h, &err), 0);
	s = json_dumps(h, 0);
	assert_non_null(strstr(s, "555-0100"));
	assert_non_null(strstr(s, "555-0199"));
	free(s);
	json_decref(h);

	json_t *l = list(fx, &oscar, (docket_list_query){.workflow = "order"});
	s = json_dumps(l, 0);
	assert_null(strstr(s, "555-01"));
	free(s);
	json_decref(l);

	/* and those who cannot see it cannot set it */
	assert_int_equal(fx_fire(fx, &oscar, "SO-1", "checked",
				 "{\"in_stock\":9,\"phone\":\"x\"}", &r), DOCKET_EPERM);
	assert_non_null(strstr(r.err.msg, "confidential"));
}

static void a_guard_refusal_does_not_reveal_hidden_values(void **state)
{
	fixture *fx = *state;
	static const char wf[] =
		"workflow: vip\nversion: 1\nprefix: V\nroles: [sales, ops]\n"
		"fields:\n"
		"  phone: {type: string, visible_to: [sales]}\n"
		"start: a\n"
		"stages:\n"
		"  a:\n"
		"    on:\n"
		"      go: {to: b, when: \"phone == \\\"secret\\\"\"}\n"
		"  b: {terminal: true}\n";
	docket_result r;

	fx_install(fx, wf);
	assert_int_equal(fx_create(fx, &alice, "vip", "{\"phone\":\"555-0100\"}", &r), 0);
	assert_int_equal(fx_fire(fx, &oscar, r.id, "go", NULL, &r), DOCKET_EGUARD);
	assert_null(strstr(r.err.msg, "555-0100"));
	assert_int_equal(fx_fire(fx, &alice, "V-1", "go", NULL, &r), DOCKET_EGUARD);
	assert_non_null(strstr(r.err.msg, "555-0100"));
}

static void lists_page_with_a_stable_cursor(void **state)
{
	fixture *fx = *state;
	docket_result r;
	char seen[40] = {0};
	char cursor[128] = "";
	int pages = 0, total = 0;

	for (int i = 0; i < 25; i++)
		assert_int_equal(fx_create(fx, &alice, "order",
					   "{\"customer\":\"Acme\",\"quantity\":1}", &r), 0);
	for (;;) {
		json_t *l = list(fx, &alice, (docket_list_query){.workflow = "order",
			.stage = "received", .limit = 10, .cursor = *cursor ? cursor : NULL});
		json_t *cases = json_object_get(l, "cases");
		for (size_t i = 0; i < json_array_size(cases); i++) {
			int n = atoi(jstr(json_array_get(cases, i), "id") + 3);
			assert_true(n >= 1 && n < 40);
			assert_int_equal(seen[n], 0);
			seen[n] = 1;
			total++;
		}
		pages++;
		if (pages == 1) {
			/* between pages: a new case appears, one already listed moves */
			assert_int_equal(fx_create(fx, &alice, "order",
						   "{\"customer\":\"Late\",\"quantity\":1}", &r), 0);
			assert_int_equal(fx_fire(fx, &alice, "SO-2", "cancel", NULL, &r), 0);
		}
		json_t *next = json_object_get(l, "next");
		if (json_is_null(next)) {
			json_decref(l);
			break;
		}
		snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
		json_decref(l);
	}
	/* 25 first, plus SO-26 created behind the cursor; none twice */
	assert_int_equal(total, 26);
	assert_int_equal(pages, 3);

	json_t *l = list(fx, &alice, (docket_list_query){.workflow = "order", .stage = "cancelled"});
	assert_int_equal(json_array_size(json_object_get(l, "cases")), 1);
	json_decref(l);
	l = list(fx, &alice, (docket_list_query){.workflow = "order", .open_only = true,
						 .limit = 1000});
	assert_int_equal(json_array_size(json_object_get(l, "cases")), 25);
	json_decref(l);
	l = list(fx, &alice, (docket_list_query){.limit = 1000});
	assert_int_equal(json_array_size(json_object_get(l, "cases")), 26);
	json_decref(l);

	/* a cursor from another list is refused, and so are unknown names */
	json_t *bad;
	docket_err err;
	docket_list_query q = {.workflow = "order", .stage = "cancelled", .cursor = "c00"};
	assert_int_equal(docket_engine_list(fx->eng, &alice, &q, &bad, &err), DOCKET_EINVAL);
	q = (docket_list_query){.workflow = "order", .stage = "nowhere"};
	assert_int_equal(docket_engine_list(fx->eng, &alice, &q, &bad, &err), DOCKET_ENOENT);
	q = (docket_list_query){.stage = "received"};
	assert_int_equal(docket_engine_list(fx->eng, &alice, &q, &bad, &err), DOCKET_EINVAL);
}

static void lists_by_assignee(void **state)
{
	fixture *fx = *state;
	docket_result r;

	for (int i = 0; i < 6; i++) {
		assert_int_equal(fx_create(fx, &alice, "order",
					   "{\"customer\":\"Acme\",\"quantity\":1}", &r), 0);
		assert_int_equal(fx_apply(fx, (docket_op){.kind = DOCKET_OP_ASSIGN, .actor = &alice,
			.case_id = r.id, .user = i % 2 ? "bob" : "carol"}, &r), 0);
	}
	json_t *l = list(fx, &alice, (docket_list_query){.assignee = "bob", .limit = 2});
	json_t *cases = json_object_get(l, "cases");
	assert_int_equal(json_array_size(cases), 2);
	assert_string_equal(jstr(json_array_get(cases, 0), "id"), "SO-2");
	assert_string_equal(jstr(json_array_get(cases, 0), "assignee"), "bob");
	json_t *next = json_deep_copy(json_object_get(l, "next"));
	json_decref(l);
	l = list(fx, &alice, (docket_list_query){.assignee = "bob", .limit = 2,
						 .cursor = json_string_value(next)});
	cases = json_object_get(l, "cases");
	assert_int_equal(json_array_size(cases), 1);
	assert_string_equal(jstr(json_array_get(cases, 0), "id"), "SO-6");
	assert_true(json_is_null(json_object_get(l, "next")));
	json_decref(l);
	json_decref(next);
	l = list(fx, &alice, (docket_list_query){.assignee = "nobody"});
	assert_int_equal(json_array_size(json_object_get(l, "cases")), 0);
	json_decref(l);
	l = list(fx, &alice, (docket_list_query){.workflow = "order", .stage = "received",
						 .assignee = "carol"});
	assert_int_equal(json_array_size(json_object_get(l, "cases")), 3);
	json_decref(l);
}

static json_t *stage_row(json_t *stats, const char *stage)
{
	json_t *stages = json_object_get(json_array_get(json_object_get(stats, "workflows"), 0),
					 "stages");
	for (size_t i = 0; i < json_array_size(stages); i++)
		if (!strcmp(jstr(json_array_get(stages, i), "stage"), stage))
			return json_array_get(stages, i);
	return NULL;
}

static void stats_count_time_in_stage_and_outcomes(void **state)
{
	fixture *fx = *state;
	docket_result r;
	docket_err err;
	json_t *s;

	/* ten cases entering `received` one hour apart */
	for (int i = 0; i < 10; i++) {
		assert_int_equal(fx_create(fx, &alice, "order",
					   "{\"customer\":\"Acme\",\"quantity\":1}", &r), 0);
		fx->now += HOUR;
	}
	assert_int_equal(fx_fire(fx, &alice, "SO-1", "cancel", NULL, &r), 0);
	assert_int_equal(fx_fire(fx, &alice, "SO-2", "cancel", NULL, &r), 0);
	fx->now = T0 + 9 * HOUR + DAY - 30 * 60 * SEC;  /* SO-3..SO-9 past the 1d SLA */

	assert_int_equal(docket_engine_stats(fx->eng, &dana, "order", &s, &err), 0);
	json_t *w = json_array_get(json_object_get(s, "workflows"), 0);
	assert_string_equal(jstr(w, "name"), "order");
	assert_int_equal(jint(w, "total"), 10);
	assert_int_equal(jint(w, "open"), 8);
	assert_int_equal(jint(w, "late"), 7);
	assert_int_equal(jint(json_object_get(w, "terminal"), "cancelled"), 2);
	json_t *rec = stage_row(s, "received");
	assert_int_equal(jint(rec, "count"), 8);
	assert_int_equal(jint(rec, "late"), 7);
	/* ages: SO-10 .. SO-3 = 23.5h up to 30.5h: median (lower) 26.5h,
	 * p90 (nearest rank) 30.5h */
	assert_int_equal(jint(rec, "median_s"), (json_int_t)(26.5 * 3600));
	assert_int_equal(jint(rec, "p90_s"), (json_int_t)(30.5 * 3600));
	json_t *cancelled = stage_row(s, "cancelled");
	assert_true(json_is_true(json_object_get(cancelled, "terminal")));
	assert_true(json_is_null(json_object_get(cancelled, "median_s")));
	assert_int_equal(jint(stage_row(s, "production"), "count"), 0);
	json_decref(s);

	assert_int_equal(docket_engine_stats(fx->eng, &dana, NULL, &s, &err), 0);
	assert_int_equal(json_array_size(json_object_get(s, "workflows")), 1);
	json_decref(s);
	assert_int_equal(docket_engine_stats(fx->eng, &dana, "x", &s, &err), DOCKET_ENOENT);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(confidential_fields_are_left_out_of_every_read),
		T(a_guard_refusal_does_not_reveal_hidden_values),
		T(lists_page_with_a_stable_cursor),
		T(lists_by_assignee),
		T(stats_count_time_in_stage_and_outcomes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
