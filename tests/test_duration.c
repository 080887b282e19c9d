/* Durations as process owners write them (30s 15m 4h 2d 1w), what is
 * refused with which message, and how they print back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "duration.h"

static int64_t secs(const char *s)
{
	int64_t v = -1;
	docket_err e = {0};
	assert_int_equal(docket_duration_parse(s, strlen(s), &v, &e), 0);
	return v;
}

static const char *refusal(const char *s)
{
	static docket_err e;
	int64_t v = 12345;
	memset(&e, 0, sizeof e);
	assert_int_equal(docket_duration_parse(s, strlen(s), &v, &e), DOCKET_EINVAL);
	assert_int_equal(v, 12345); /* untouched */
	return e.msg;
}

static void accepts_each_unit(void **state)
{
	(void)state;
	assert_int_equal(secs("30s"), 30);
	assert_int_equal(secs("15m"), 900);
	assert_int_equal(secs("4h"), 14400);
	assert_int_equal(secs("2d"), 172800);
	assert_int_equal(secs("1w"), 604800);
	assert_int_equal(secs("007s"), 7);
	assert_int_equal(secs("3660d"), DOCKET_DURATION_MAX_S);
}

static void refuses_with_the_accepted_form(void **state)
{
	(void)state;
	assert_string_equal(refusal("10x"),
		"bad duration '10x': unit must be s, m, h, d or w (as in 30s 15m 4h 2d 1w)");
	assert_string_equal(refusal(""),
		"bad duration '': it is empty; write a whole number and a unit (as in 30s 15m 4h 2d 1w)");
	assert_string_equal(refusal("0s"),
		"bad duration '0s': a duration must be longer than zero");
	assert_string_equal(refusal("0w"),
		"bad duration '0w': a duration must be longer than zero");
	assert_string_equal(refusal("-5m"),
		"bad duration '-5m': a duration cannot be negative");
	assert_string_equal(refusal("1.5h"),
		"bad duration '1.5h': whole numbers only; use a smaller unit (90m, not 1.5h)");
	assert_string_equal(refusal("h"),
		"bad duration 'h': write a whole number, then the unit (as in 30s 15m 4h 2d 1w)");
	assert_string_equal(refusal("30"),
		"bad duration '30': the unit is missing; it must be s, m, h, d or w (as in 30s 15m 4h 2d 1w)");
	assert_string_equal(refusal("5 m"),
		"bad duration '5 m': no spaces; write the number and unit together (as in 30s 15m 4h 2d 1w)");
	refusal(" 5m");
	refusal("5m ");
	refusal("5\tm");
	assert_string_equal(refusal("1h30m"),
		"bad duration '1h30m': write one number and one unit, nothing else (as in 30s 15m 4h 2d 1w)");
	refusal("5H");
	refusal("5ms");
	refusal("+5m");
	refusal("1e3s");
}

static void refuses_too_long(void **state)
{
	(void)state;
	assert_string_equal(refusal("3661d"),
		"bad duration '3661d': longer than the maximum 3660d (ten years)");
	refusal("316224001s");
	refusal("523w");
	refusal("99999999999999999999999999999999w");
	refusal("9223372036854775807s");
}

static void refuses_bytes_that_are_not_text(void **state)
{
	(void)state;
	int64_t v;
	docket_err e;
	assert_int_equal(docket_duration_parse("5\0m", 3, &v, &e), DOCKET_EINVAL);
	assert_string_equal(e.msg,
		"bad duration '5?m': unit must be s, m, h, d or w (as in 30s 15m 4h 2d 1w)");
	assert_int_equal(docket_duration_parse(NULL, 0, &v, NULL), DOCKET_EINVAL);
}

static void formats_in_the_largest_exact_unit(void **state)
{
	(void)state;
	static const struct { int64_t s; const char *text; } cases[] = {
		{0, "0s"}, {1, "1s"}, {59, "59s"}, {60, "1m"}, {90, "90s"},
		{5400, "90m"}, {3600, "1h"}, {86400, "1d"}, {172800, "2d"},
		{604800, "1w"}, {1209600, "2w"}, {691200, "8d"}, {90000, "25h"},
		{DOCKET_DURATION_MAX_S, "3660d"}, {-120, "-2m"},
		{INT64_MIN, "-9223372036854775808s"},
	};
	char buf[24];

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		docket_duration_format(cases[i].s, buf, sizeof buf);
		assert_string_equal(buf, cases[i].text);
	}
	/* What format writes, parse reads back to the same seconds. */
	for (int64_t s = 1; s < 5 * 86400; s += 599) {
		docket_duration_format(s, buf, sizeof buf);
		assert_int_equal(secs(buf), s);
	}
	docket_duration_format(604800, buf, 2);
	assert_string_equal(buf, "1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepts_each_unit),
		cmocka_unit_test(refuses_with_the_accepted_form),
		cmocka_unit_test(refuses_too_long),
		cmocka_unit_test(refuses_bytes_that_are_not_text),
		cmocka_unit_test(formats_in_the_largest_exact_unit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
