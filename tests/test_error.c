/* Error messages: set, prefixed, and cut without breaking UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "error.h"
#include "field.h"

static void set_returns_code_and_fills(void **state)
{
	(void)state;
	docket_err err = {0};
	assert_int_equal(docket_err_set(&err, DOCKET_EPERM, "needs role %s", "sales"), DOCKET_EPERM);
	assert_int_equal(err.code, DOCKET_EPERM);
	assert_string_equal(err.msg, "needs role sales");
	assert_int_equal(docket_err_set(NULL, DOCKET_EINVAL, "x"), DOCKET_EINVAL);
	docket_err_prefix(&err, "case %s: ", "SO-1");
	assert_string_equal(err.msg, "case SO-1: needs role sales");
	assert_string_equal(docket_strerror(DOCKET_EPERM), "not permitted");
}

static void long_messages_stay_utf8(void **state)
{
	(void)state;
	char text[2 * DOCKET_ERR_MAX];
	/* "é" is two bytes: with an odd prefix the cut falls inside one. */
	for (size_t i = 0; i + 2 < sizeof text; i += 2)
		memcpy(text + i, "\xc3\xa9", 2);
	text[sizeof text - 2] = 0;
	for (int shift = 0; shift < 4; shift++) {
		docket_err err = {0};
		docket_err_set(&err, DOCKET_EINVAL, "%.*s%s", shift, "xxx", text);
		assert_true(docket_utf8_valid(err.msg, strlen(err.msg)));
		assert_true(strlen(err.msg) >= DOCKET_ERR_MAX - 4);
		docket_err_prefix(&err, "y");
		assert_true(docket_utf8_valid(err.msg, strlen(err.msg)));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(set_returns_code_and_fills),
		cmocka_unit_test(long_messages_stay_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
