/* Field values: what `-s name=value` accepts and refuses, the constraints a
 * process owner declares, the calendar, and UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "field.h"

static char *terms[] = {"prepaid", "net30", "net60"};

static docket_field fld(const char *name, docket_ftype t)
{
	docket_field f = {.name = (char *)name, .type = t};
	return f;
}

static int parse(const docket_field *f, const char *text, docket_value *v, docket_err *e)
{
	memset(e, 0, sizeof *e);
	return docket_field_parse(f, text, strlen(text), v, e);
}

/* The message a refused value gets. */
static const char *refusal(const docket_field *f, const char *text)
{
	static docket_err e;
	docket_value v;
	assert_int_equal(parse(f, text, &v, &e), DOCKET_EINVAL);
	assert_int_equal(e.code, DOCKET_EINVAL);
	return e.msg;
}

static void integers(void **state)
{
	(void)state;
	docket_field f = fld("quantity", DOCKET_FT_INTEGER);
	docket_value v;
	docket_err e;

	assert_int_equal(parse(&f, "42", &v, &e), 0);
	assert_int_equal(v.t, DOCKET_V_INT);
	assert_int_equal(v.i, 42);
	assert_int_equal(parse(&f, "-7", &v, &e), 0);
	assert_int_equal(v.i, -7);
	assert_int_equal(parse(&f, "+3", &v, &e), 0);
	assert_int_equal(v.i, 3);
	assert_int_equal(parse(&f, "9223372036854775807", &v, &e), 0);
	assert_true(v.i == INT64_MAX);
	assert_int_equal(parse(&f, "-9223372036854775808", &v, &e), 0);
	assert_true(v.i == INT64_MIN);

	assert_string_equal(refusal(&f, "1.5"),
		"field 'quantity': '1.5' is not an integer (write whole digits, as in 42 or -7)");
	refusal(&f, "12abc");
	refusal(&f, "");
	refusal(&f, "-");
	refusal(&f, " 5");
	refusal(&f, "5 ");
	refusal(&f, "0x10");
	assert_string_equal(refusal(&f, "9223372036854775808"),
		"field 'quantity': '9223372036854775808' is too large for an integer");
	refusal(&f, "-9223372036854775809");
	refusal(&f, "99999999999999999999999");
}

static void integer_bounds(void **state)
{
	(void)state;
	docket_field f = fld("quantity", DOCKET_FT_INTEGER);
	docket_value v;
	docket_err e;

	f.has_min = true, f.min = 1;
	f.has_max = true, f.max = 1000;
	assert_string_equal(refusal(&f, "0"), "field 'quantity': 0 is below the minimum 1");
	assert_string_equal(refusal(&f, "1001"), "field 'quantity': 1001 is above the maximum 1000");
	assert_int_equal(parse(&f, "1", &v, &e), 0);
	assert_int_equal(parse(&f, "1000", &v, &e), 0);
}

static void numbers(void **state)
{
	(void)state;
	docket_field f = fld("unit_price", DOCKET_FT_NUMBER);
	docket_value v;
	docket_err e;

	assert_int_equal(parse(&f, "12.5", &v, &e), 0);
	assert_int_equal(v.t, DOCKET_V_NUM);
	assert_true(v.n == 12.5);
	assert_int_equal(parse(&f, "3", &v, &e), 0);
	assert_true(v.t == DOCKET_V_NUM && v.n == 3);
	assert_int_equal(parse(&f, "-0.25", &v, &e), 0);
	assert_int_equal(parse(&f, "1e3", &v, &e), 0);
	assert_true(v.n == 1000);
	assert_int_equal(parse(&f, ".5", &v, &e), 0);
	assert_true(v.n == 0.5);

	assert_string_equal(refusal(&f, "abc"),
		"field 'unit_price': 'abc' is not a number (write digits with an optional '.', as in 12.5)");
	refusal(&f, "inf");
	refusal(&f, "nan");
	refusal(&f, "0x1p3");
	refusal(&f, " 1");
	refusal(&f, "1e");
	refusal(&f, ".");
	refusal(&f, "1,5");
	assert_string_equal(refusal(&f, "1e999"), "field 'unit_price': '1e999' is out of range");

	f.has_min = true, f.min = 0;
	f.has_max = true, f.max = 99.5;
	assert_string_equal(refusal(&f, "-0.5"),
			    "field 'unit_price': -0.5 is below the minimum 0");
	assert_string_equal(refusal(&f, "100"),
			    "field 'unit_price': 100 is above the maximum 99.5");
}

static void booleans(void **state)
{
	(void)state;
	docket_field f = fld("rush", DOCKET_FT_BOOLEAN);
	docket_value v;
	docket_err e;

	assert_int_equal(parse(&f, "true", &v, &e), 0);
	assert_true(v.t == DOCKET_V_BOOL && v.b);
	assert_int_equal(parse(&f, "false", &v, &e), 0);
	assert_true(v.t == DOCKET_V_BOOL && !v.b);
	/* The YAML 1.1 spellings are not booleans here either. */
	assert_string_equal(refusal(&f, "yes"),
			    "field 'rush': 'yes' is not a boolean (write true or false)");
	refusal(&f, "on");
	refusal(&f, "True");
	refusal(&f, "1");
	refusal(&f, "");
}

static void enums(void **state)
{
	(void)state;
	docket_field f = fld("payment_terms", DOCKET_FT_ENUM);
	docket_value v;
	docket_err e;

	f.values = terms;
	f.nvalues = 3;
	assert_int_equal(parse(&f, "net30", &v, &e), 0);
	assert_int_equal(v.t, DOCKET_V_STR);
	assert_int_equal(v.s.len, 5);
	assert_memory_equal(v.s.p, "net30", 5);
	assert_string_equal(refusal(&f, "net45"),
			    "field 'payment_terms': 'net45' is not one of prepaid, net30, net60");
	assert_string_equal(refusal(&f, "net3"),
			    "field 'payment_terms': 'net3' is not one of prepaid, net30, net60");
	refusal(&f, "NET30");
	refusal(&f, "");
}

static void strings(void **state)
{
	(void)state;
	docket_field f = fld("customer", DOCKET_FT_STRING);
	docket_value v;
	docket_err e;
	const char *text = "Acme GmbH \xc3\xbc";

	assert_int_equal(parse(&f, text, &v, &e), 0);
	assert_ptr_equal(v.s.p, text); /* borrowed, not copied */
	assert_int_equal(v.s.len, strlen(text));
	assert_int_equal(parse(&f, "", &v, &e), 0);
	assert_int_equal(v.s.len, 0);
	assert_string_equal(refusal(&f, "bad \xff byte"),
			    "field 'customer': text must be valid UTF-8 without NUL bytes");
	assert_int_equal(docket_field_parse(&f, "a\0b", 3, &v, &e), DOCKET_EINVAL);

	f.has_min = true, f.min = 3;
	f.has_max = true, f.max = 5;
	assert_string_equal(refusal(&f, "ab"),
			    "field 'customer': a length of 2 is below the minimum 3 bytes");
	assert_string_equal(refusal(&f, "abcdef"),
			    "field 'customer': a length of 6 is above the maximum 5 bytes");
	/* Length is in bytes: two characters, four bytes. */
	assert_int_equal(parse(&f, "\xc3\xbc\xc3\xbc", &v, &e), 0);
}

static void string_limit(void **state)
{
	(void)state;
	docket_field f = fld("notes", DOCKET_FT_STRING);
	size_t n = DOCKET_STRING_MAX + 1;
	char *big = malloc(n);
	docket_value v;
	docket_err e;

	memset(big, 'x', n);
	assert_int_equal(docket_field_parse(&f, big, n - 1, &v, &e), 0);
	assert_int_equal(docket_field_parse(&f, big, n, &v, &e), DOCKET_ELIMIT);
	assert_string_equal(e.msg,
		"field 'notes': 65537 bytes is longer than the limit of 65536 bytes");
	free(big);
}

static void dates(void **state)
{
	(void)state;
	docket_field f = fld("delivery_date", DOCKET_FT_DATE);
	docket_value v;
	docket_err e;

	assert_int_equal(parse(&f, "1970-01-01", &v, &e), 0);
	assert_int_equal(v.t, DOCKET_V_DATE);
	assert_int_equal(v.date, 0);
	assert_int_equal(parse(&f, "2024-02-29", &v, &e), 0);
	assert_int_equal(v.date, 19782);
	assert_string_equal(refusal(&f, "2023-02-29"),
			    "field 'delivery_date': '2023-02-29' is not a real calendar date");
	assert_string_equal(refusal(&f, "31/03/2024"),
		"field 'delivery_date': '31/03/2024' is not a date (write YYYY-MM-DD, as in 2024-03-31)");
	refusal(&f, "2024-3-31");
	refusal(&f, "2024-03-31T00:00");
	refusal(&f, "2024-13-01");
	refusal(&f, "2024-04-31");
	refusal(&f, "0000-01-01");
	refusal(&f, "2024-00-10");
	refusal(&f, "+024-01-01");
}

static void calendar(void **state)
{
	(void)state;
	static const struct { const char *s; int32_t d; } known[] = {
		{"0001-01-01", -719162}, {"1600-02-29", -135081}, {"1899-12-31", -25568},
		{"1900-03-01", -25508}, {"1969-12-31", -1}, {"2000-02-29", 11016},
		{"2000-03-01", 11017}, {"2038-01-19", 24855}, {"9999-12-31", 2932896},
	};
	char buf[11];
	int32_t d;

	for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
		assert_int_equal(docket_date_parse(known[i].s, 10, &d), 0);
		assert_int_equal(d, known[i].d);
		docket_date_format(d, buf);
		assert_string_equal(buf, known[i].s);
	}
	assert_int_equal(docket_date_parse("1900-02-29", 10, &d), DOCKET_EINVAL);
	assert_int_equal(docket_date_parse("2100-02-29", 10, &d), DOCKET_EINVAL);
	/* Every day of the range reads back as itself, one after the other. */
	for (int32_t day = -719162; day <= 2932896; day += 7) {
		docket_date_format(day, buf);
		assert_int_equal(docket_date_parse(buf, 10, &d), 0);
		assert_int_equal(d, day);
	}
	docket_date_format(-719163, buf);
	assert_string_equal(buf, "0000-00-00");
	assert_int_equal(docket_date_parse(buf, 10, &d), DOCKET_EINVAL);
	docket_date_format(2932897, buf);
	assert_string_equal(buf, "0000-00-00");
}

static void utf8(void **state)
{
	(void)state;
#define OK(s) assert_true(docket_utf8_valid(s, sizeof s - 1))
#define BAD(s) assert_false(docket_utf8_valid(s, sizeof s - 1))
	OK("");
	OK("plain");
	OK("\xc3\xa9");                 /* U+00E9 */
	OK("\xe2\x82\xac");             /* U+20AC */
	OK("\xf0\x9f\x98\x80");         /* U+1F600 */
	OK("\xf4\x8f\xbf\xbf");         /* U+10FFFF */
	OK("\xed\x9f\xbf");             /* U+D7FF */
	BAD("a\0b");
	BAD("\xc0\xaf");                /* overlong '/' */
	BAD("\xe0\x80\xaf");            /* overlong */
	BAD("\xf0\x80\x80\xaf");        /* overlong */
	BAD("\xed\xa0\x80");            /* U+D800 surrogate */
	BAD("\xed\xbf\xbf");            /* U+DFFF surrogate */
	BAD("\xf4\x90\x80\x80");        /* U+110000 */
	BAD("\xf5\x80\x80\x80");
	BAD("\x80");                    /* lone continuation */
	BAD("\xc3");                    /* truncated */
	BAD("\xe2\x82");
	BAD("\xc3\x28");
	BAD("\xff");
#undef OK
#undef BAD
}

static void check_typed_values(void **state)
{
	(void)state;
	docket_field q = fld("quantity", DOCKET_FT_INTEGER);
	docket_field p = fld("unit_price", DOCKET_FT_NUMBER);
	docket_field d = fld("delivery_date", DOCKET_FT_DATE);
	docket_value v = {.t = DOCKET_V_NULL};
	docket_err e;

	q.has_min = true, q.min = 1;
	assert_int_equal(docket_field_check(&q, &v, &e), 0); /* null: not set */
	v.t = DOCKET_V_NUM, v.n = 5;
	assert_int_equal(docket_field_check(&q, &v, &e), DOCKET_EINVAL);
	assert_string_equal(e.msg, "field 'quantity': expected an integer, got a number");
	v.t = DOCKET_V_INT, v.i = 5;
	assert_int_equal(docket_field_check(&p, &v, &e), DOCKET_EINVAL);
	assert_string_equal(e.msg, "field 'unit_price': expected a number, got an integer");
	v.t = DOCKET_V_NUM, v.n = NAN;
	assert_int_equal(docket_field_check(&p, &v, &e), DOCKET_EINVAL);
	assert_string_equal(e.msg, "field 'unit_price': numbers must be finite");
	v.n = INFINITY;
	assert_int_equal(docket_field_check(&p, &v, &e), DOCKET_EINVAL);
	v.t = DOCKET_V_DATE, v.date = 2932897;
	assert_int_equal(docket_field_check(&d, &v, &e), DOCKET_EINVAL);
	v.date = 2932896;
	assert_int_equal(docket_field_check(&d, &v, &e), 0);
}

static void equality(void **state)
{
	(void)state;
	docket_value a = {.t = DOCKET_V_STR, .s = {"net30", 5}};
	docket_value b = {.t = DOCKET_V_STR, .s = {"net30 and more", 5}};
	docket_value c = {.t = DOCKET_V_STR, .s = {"net3", 4}};
	docket_value i = {.t = DOCKET_V_INT, .i = 3};
	docket_value n = {.t = DOCKET_V_NUM, .n = 3};
	docket_value z = {.t = DOCKET_V_NULL};

	assert_true(docket_value_equal(&a, &b));
	assert_false(docket_value_equal(&a, &c));
	assert_false(docket_value_equal(&i, &n)); /* same type only */
	assert_true(docket_value_equal(&z, &z));
	assert_false(docket_value_equal(&z, &i));
}

static void type_names(void **state)
{
	(void)state;
	assert_string_equal(docket_ftype_name(DOCKET_FT_STRING), "string");
	assert_string_equal(docket_ftype_name(DOCKET_FT_INTEGER), "integer");
	assert_string_equal(docket_ftype_name(DOCKET_FT_NUMBER), "number");
	assert_string_equal(docket_ftype_name(DOCKET_FT_BOOLEAN), "boolean");
	assert_string_equal(docket_ftype_name(DOCKET_FT_ENUM), "enum");
	assert_string_equal(docket_ftype_name(DOCKET_FT_DATE), "date");
}

static void long_text_is_cut_in_messages(void **state)
{
	(void)state;
	docket_field f = fld("quantity", DOCKET_FT_INTEGER);
	char text[200];

	memset(text, 'z', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	const char *msg = refusal(&f, text);
	assert_non_null(strstr(msg, "'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz...'"));
	assert_true(strlen(msg) < 150);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(integers),
		cmocka_unit_test(integer_bounds),
		cmocka_unit_test(numbers),
		cmocka_unit_test(booleans),
		cmocka_unit_test(enums),
		cmocka_unit_test(strings),
		cmocka_unit_test(string_limit),
		cmocka_unit_test(dates),
		cmocka_unit_test(calendar),
		cmocka_unit_test(utf8),
		cmocka_unit_test(check_typed_values),
		cmocka_unit_test(equality),
		cmocka_unit_test(type_names),
		cmocka_unit_test(long_text_is_cut_in_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
