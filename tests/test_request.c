/* The request decoder: what a client sends becomes checked calls, and
 * every malformed request is refused with the code the protocol names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "daemon/request.h"
#include "engine.h"

/* Decode text; the request must be freed by the caller. */
static int decode(const char *text, docketd_request *req, docket_err *err)
{
	json_t *msg = json_loads(text, 0, NULL);
	assert_non_null(msg);
	int rc = docketd_request_decode(msg, req, err);
	json_decref(msg);
	return rc;
}

static void an_advance_decodes_with_its_arguments(void **state)
{
	(void)state;
	docketd_request req;
	docket_err err;

	assert_int_equal(decode("{\"id\": 7, \"op\": \"advance\", \"as\": \"alice\", \"args\": "
				"{\"case\": \"SO-12\", \"event\": \"confirm\", \"fields\": {\"q\": 5},"
				" \"note\": \"called\"}}", &req, &err), 0);
	assert_int_equal(req.ncalls, 1);
	assert_false(req.batch);
	assert_string_equal(req.as, "alice");
	assert_int_equal(json_integer_value(req.id), 7);
	const docketd_call *c = &req.calls[0];
	assert_int_equal(c->code, 0);
	assert_int_equal(c->op, DOCKETD_OP_ADVANCE);
	assert_string_equal(c->case_id, "SO-12");
	assert_string_equal(c->event, "confirm");
	assert_string_equal(c->note, "called");
	assert_int_equal(json_integer_value(json_object_get(c->fields, "q")), 5);
	assert_true(docketd_call_writes(c));
	assert_true(docketd_request_queues(&req));
	docketd_request_free(&req);
}

/* reply: "brief" is a write's own choice; "case" (the default) is the
 * whole case as before. */
static void writes_may_ask_for_a_brief_reply(void **state)
{
	(void)state;
	static const struct { const char *text; bool brief; } cases[] = {
		{"{\"op\": \"new\", \"args\": {\"workflow\": \"w\", \"reply\": \"brief\"}}", true},
		{"{\"op\": \"advance\", \"args\": {\"case\": \"T-1\", \"event\": \"e\","
		 " \"reply\": \"brief\"}}", true},
		{"{\"op\": \"assign\", \"args\": {\"case\": \"T-1\", \"user\": null,"
		 " \"reply\": \"brief\"}}", true},
		{"{\"op\": \"retry\", \"args\": {\"case\": \"T-1\", \"reply\": \"brief\"}}", true},
		{"{\"op\": \"note\", \"args\": {\"case\": \"T-1\", \"text\": \"t\","
		 " \"reply\": \"brief\"}}", true},
		{"{\"op\": \"advance\", \"args\": {\"case\": \"T-1\", \"event\": \"e\","
		 " \"reply\": \"case\"}}", false},
		{"{\"op\": \"advance\", \"args\": {\"case\": \"T-1\", \"event\": \"e\"}}", false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		docketd_request req;
		docket_err err;
		assert_int_equal(decode(cases[i].text, &req, &err), 0);
		assert_int_equal(req.calls[0].code, 0);
		assert_int_equal(req.calls[0].brief, cases[i].brief);
		assert_true(docketd_call_writes(&req.calls[0]));
		docketd_request_free(&req);
	}
}

static void reads_do_not_queue(void **state)
{
	(void)state;
	docketd_request req;
	docket_err err;

	assert_int_equal(decode("{\"op\": \"list\", \"args\": {\"workflow\": \"w\", \"mine\": true,"
				" \"limit\": 10}}", &req, &err), 0);
	assert_null(req.id);
	assert_int_equal(req.calls[0].code, 0);
	assert_true(req.calls[0].mine);
	assert_int_equal(req.calls[0].limit, 10);
	assert_false(docketd_request_queues(&req));
	docketd_request_free(&req);
	/* args may be left out when there are none. */
	assert_int_equal(decode("{\"id\": \"a\", \"op\": \"hello\"}", &req, &err), 0);
	assert_int_equal(req.calls[0].code, 0);
	docketd_request_free(&req);
}

static void bad_arguments_refuse_the_call(void **state)
{
	(void)state;
	static const struct { const char *text; int code; const char *msg; } cases[] = {
		{"{\"op\": \"show\"}", DOCKET_EINVAL, "'case' is missing"},
		{"{\"op\": \"show\", \"args\": {\"case\": 1}}", DOCKET_EINVAL, "must be a string"},
		{"{\"op\": \"show\", \"args\": {\"case\": \"T-1\", \"x\": 1}}", DOCKET_EINVAL,
		 "unknown argument 'x'"},
		{"{\"op\": \"fly\"}", DOCKET_EINVAL, "unknown op 'fly'"},
		{"{\"op\": 3}", DOCKET_EINVAL, "'op' must be a string"},
		{"{\"op\": \"list\", \"args\": {\"limit\": 100000}}", DOCKET_ELIMIT, "at most"},
		{"{\"op\": \"list\", \"args\": {\"limit\": -1}}", DOCKET_EINVAL, "whole number"},
		{"{\"op\": \"list\", \"args\": {\"stage\": \"s\"}}", DOCKET_EINVAL, "needs 'workflow'"},
		{"{\"op\": \"list\", \"args\": {\"mine\": true, \"assignee\": \"a\"}}", DOCKET_EINVAL,
		 "not both"},
		{"{\"op\": \"backup\", \"args\": {\"path\": \"x\"}}", DOCKET_EINVAL, "absolute"},
		{"{\"op\": \"note\", \"args\": {\"case\": \"T-1\", \"text\": \"\"}}", DOCKET_EINVAL,
		 "empty"},
		{"{\"op\": \"show\", \"args\": [1]}", DOCKET_EINVAL, "must be an object"},
		{"{\"op\": \"advance\", \"args\": {\"case\": \"T-1\", \"event\": \"e\","
		 " \"reply\": \"short\"}}", DOCKET_EINVAL,
		 "advance: argument 'reply' must be \"case\" or \"brief\", not \"short\""},
		{"{\"op\": \"new\", \"args\": {\"workflow\": \"w\", \"reply\": true}}",
		 DOCKET_EINVAL, "'reply' must be a string"},
		{"{\"op\": \"show\", \"args\": {\"case\": \"T-1\", \"reply\": \"brief\"}}",
		 DOCKET_EINVAL, "unknown argument 'reply'"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		docketd_request req;
		docket_err err;
		assert_int_equal(decode(cases[i].text, &req, &err), 0);
		assert_int_equal(req.calls[0].code, cases[i].code);
		assert_non_null(strstr(req.calls[0].err.msg, cases[i].msg));
		assert_false(docketd_call_writes(&req.calls[0]));
		docketd_request_free(&req);
	}
}

static void malformed_requests_are_protocol_errors(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"{\"id\": 1}",
		"{\"id\": [1], \"op\": \"hello\"}",
		"{\"op\": \"hello\", \"batch\": []}",
		"{\"op\": \"hello\", \"extra\": 1}",
		"{\"batch\": []}",
		"{\"batch\": {}}",
		"{\"batch\": [{\"op\": \"hello\"}], \"args\": {}}",
		"{\"op\": \"hello\", \"as\": 5}",
		"{\"op\": \"hello\", \"as\": \"\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		docketd_request req;
		docket_err err;
		assert_int_equal(decode(bad[i], &req, &err), DOCKET_EPROTO);
		docketd_request_free(&req);
	}
	/* The id still comes back with the refusal when it could be read. */
	docketd_request req;
	docket_err err;
	assert_int_equal(decode("{\"id\": 42, \"op\": \"hello\", \"zzz\": 1}", &req, &err),
			 DOCKET_EPROTO);
	assert_int_equal(json_integer_value(req.id), 42);
	assert_non_null(strstr(err.msg, "zzz"));
	docketd_request_free(&req);
}

static void a_batch_refuses_its_calls_one_by_one(void **state)
{
	(void)state;
	docketd_request req;
	docket_err err;

	assert_int_equal(decode("{\"id\": 8, \"batch\": [{\"op\": \"new\", \"args\": "
				"{\"workflow\": \"w\"}}, {\"op\": \"reload\"}, 7, "
				"{\"op\": \"show\", \"args\": {\"case\": \"T-1\"}, \"as\": \"x\"},"
				" {\"op\": \"show\", \"args\": {\"case\": \"T-1\"}}]}", &req, &err), 0);
	assert_true(req.batch);
	assert_int_equal(req.ncalls, 5);
	assert_int_equal(req.calls[0].code, 0);
	assert_non_null(strstr(req.calls[1].err.msg, "cannot be part of a batch"));
	assert_non_null(strstr(req.calls[2].err.msg, "not an object"));
	assert_non_null(strstr(req.calls[3].err.msg, "unknown key 'as'"));
	assert_int_equal(req.calls[4].code, 0);
	assert_true(docketd_request_queues(&req));
	docketd_request_free(&req);
}

static void a_batch_over_the_limit_is_refused_whole(void **state)
{
	(void)state;
	json_t *batch = json_array(), *msg;
	docketd_request req;
	docket_err err;

	for (int i = 0; i <= DOCKET_BATCH_MAX; i++)
		json_array_append_new(batch, json_pack("{s:s}", "op", "hello"));
	msg = json_pack("{s:o}", "batch", batch);
	assert_int_equal(docketd_request_decode(msg, &req, &err), DOCKET_ELIMIT);
	docketd_request_free(&req);
	json_decref(msg);
}

static void codes_have_protocol_names(void **state)
{
	(void)state;
	assert_string_equal(docketd_code_name(DOCKET_EPERM), "forbidden");
	assert_string_equal(docketd_code_name(DOCKET_ESTATE), "not_allowed");
	assert_string_equal(docketd_code_name(DOCKET_EGUARD), "guard_failed");
	assert_string_equal(docketd_code_name(DOCKET_EREQUIRED), "required");
	assert_string_equal(docketd_code_name(DOCKET_ENOENT), "not_found");
	assert_string_equal(docketd_code_name(DOCKET_ESTORE), "store");
	assert_string_equal(docketd_code_name(DOCKET_ECORRUPT), "internal");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(an_advance_decodes_with_its_arguments),
		cmocka_unit_test(writes_may_ask_for_a_brief_reply),
		cmocka_unit_test(reads_do_not_queue),
		cmocka_unit_test(bad_arguments_refuse_the_call),
		cmocka_unit_test(malformed_requests_are_protocol_errors),
		cmocka_unit_test(a_batch_refuses_its_calls_one_by_one),
		cmocka_unit_test(a_batch_over_the_limit_is_refused_whole),
		cmocka_unit_test(codes_have_protocol_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
