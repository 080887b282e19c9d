/* Guards: what `when:` expressions mean over a sales order, every error a
 * process owner can get with its column, the limits, and that evaluation
 * never allocates.
 *
 * The allocation check is measured, not argued: this test is linked with
 * --wrap for malloc, calloc and realloc (see tests/meson.build), so every
 * allocation the engine library makes passes through the counters below. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "guard.h"

/* ---- allocation counter ---- */

static size_t allocs;
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n) { allocs++; return __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m) { allocs++; return __real_calloc(n, m); }
void *__wrap_realloc(void *p, size_t n) { allocs++; return __real_realloc(p, n); }

/* ---- a sales order ---- */

enum { CUSTOMER, QUANTITY, UNIT_PRICE, IN_STOCK, PAYMENT_TERMS, DELIVERY_DATE,
       ORDER_DATE, RUSH, TRACKING, NFIELDS };

static char *terms[] = {"prepaid", "net30", "net60"};

static const docket_field fields[NFIELDS] = {
	[CUSTOMER] = {.name = "customer", .type = DOCKET_FT_STRING},
	[QUANTITY] = {.name = "quantity", .type = DOCKET_FT_INTEGER},
	[UNIT_PRICE] = {.name = "unit_price", .type = DOCKET_FT_NUMBER},
	[IN_STOCK] = {.name = "in_stock", .type = DOCKET_FT_INTEGER},
	[PAYMENT_TERMS] = {.name = "payment_terms", .type = DOCKET_FT_ENUM,
			   .values = terms, .nvalues = 3},
	[DELIVERY_DATE] = {.name = "delivery_date", .type = DOCKET_FT_DATE},
	[ORDER_DATE] = {.name = "order_date", .type = DOCKET_FT_DATE},
	[RUSH] = {.name = "rush", .type = DOCKET_FT_BOOLEAN},
	[TRACKING] = {.name = "tracking", .type = DOCKET_FT_STRING},
};

#define I(x) {.t = DOCKET_V_INT, .i = (x)}
#define N(x) {.t = DOCKET_V_NUM, .n = (x)}
#define S(x) {.t = DOCKET_V_STR, .s = {(x), sizeof(x) - 1}}
#define B(x) {.t = DOCKET_V_BOOL, .b = (x)}
#define D(x) {.t = DOCKET_V_DATE, .date = (x)}
#define NUL {.t = DOCKET_V_NULL}

/* 2024-02-29 is day 19782, 2024-02-01 day 19754. */
static const docket_value order[NFIELDS] = {
	S("Acme GmbH"), I(5), N(19.5), I(3), S("net30"), D(19782), D(19754), B(true), NUL,
};
static const docket_value blank[NFIELDS];

static docket_guard *compile(const char *src)
{
	docket_guard *g = NULL;
	docket_guard_error e = {0};
	int rc = docket_guard_compile(src, strlen(src), fields, NFIELDS, &g, &e);
	if (rc != 0)
		fail_msg("'%s' did not compile: col %d: %s", src, e.col, e.msg);
	assert_non_null(g);
	return g;
}

static bool holds(const char *src, const docket_value *values)
{
	docket_guard *g = compile(src);
	bool r = docket_guard_eval(g, values);
	docket_guard_free(g);
	return r;
}

struct truth {
	const char *src;
	bool want;
};

static void check_truths(const struct truth *t, size_t n, const docket_value *values)
{
	for (size_t i = 0; i < n; i++)
		if (holds(t[i].src, values) != t[i].want)
			fail_msg("'%s' should be %s", t[i].src, t[i].want ? "true" : "false");
}

#define CHECK(table, values) check_truths(table, sizeof table / sizeof *table, values)

/* ---- meaning ---- */

static void every_operator(void **state)
{
	(void)state;
	static const struct truth t[] = {
		{"in_stock >= quantity", false}, {"in_stock < quantity", true},
		{"quantity == 5", true}, {"quantity != 5", false}, {"quantity <= 5", true},
		{"quantity >= 6", false}, {"quantity > 4", true}, {"quantity < 5", false},
		{"unit_price == 19.5", true}, {"unit_price * quantity == 97.5", true},
		{"quantity + in_stock == 8", true}, {"quantity - in_stock == 2", true},
		{"quantity * in_stock == 15", true}, {"quantity / 2 == 2.5", true},
		{"-quantity == -5", true},
		{"rush and quantity > 1", true}, {"rush and quantity > 9", false},
		{"not rush or quantity > 9", false}, {"not rush or quantity > 1", true},
		{"not rush", false},
		{"quantity in [1, 5, 9]", true}, {"quantity in [1, 2]", false},
	};
	CHECK(t, order);
}

static void precedence(void **state)
{
	(void)state;
	static const struct truth t[] = {
		{"1 + 2 * 3 == 7", true}, {"(1 + 2) * 3 == 9", true},
		{"10 - 2 - 3 == 5", true}, {"16 / 4 / 2 == 2", true},
		{"-2 * 3 == -6", true}, {"2 * -3 == -6", true}, {"-(1 + 2) == -3", true},
		{"- - 5 == 5", true}, {"7 / 2 == 3.5", true}, {"6 / 3 == 2", true},
		{"not true and false", false}, {"not (true and false)", true},
		{"true or false and false", true}, {"(true or false) and false", false},
		{"false and true or true", true}, {"not 1 == 2", true},
		{"not not true", true}, {"quantity + 1 > in_stock * 2", false},
		{"quantity > 1 and in_stock > 1 or false", true},
		{"quantity - in_stock - 1 == 1", true},
		{"1 + 1 in [2]", true}, {"not quantity in [5]", false},
	};
	CHECK(t, order);
}

static void integers_and_numbers_mix(void **state)
{
	(void)state;
	static const struct truth t[] = {
		{"quantity == 5.0", true}, {"quantity < 5.5", true}, {"5.5 > quantity", true},
		{"unit_price > quantity", true}, {"quantity in [5.0, 6]", true},
		{"1e3 == 1000", true}, {"2.5e-1 == 0.25", true},
		/* exact past 2^53, where a double can no longer hold every integer */
		{"9007199254740993 > 9007199254740992.0", true},
		{"9007199254740993 == 9007199254740992.0", false},
		{"-9007199254740993 < -9007199254740992.0", true},
		/* integer overflow carries on as a number instead of wrapping */
		{"9223372036854775807 + 1 > 9223372036854775807", true},
		{"-9223372036854775807 - 2 < -9223372036854775807", true},
		{"3037000500 * 3037000500 > 9223372036854775807", true},
		{"-(-9223372036854775807 - 1) > 0", true},
		/* a number too large to be finite is null */
		{"1e308 * 10 == null", true}, {"1e308 * 10 > 0", false},
	};
	CHECK(t, order);
}

static void null_semantics(void **state)
{
	(void)state;
	static const struct truth t[] = {
		{"quantity > 1", false}, {"quantity < 1", false}, {"quantity >= 0", false},
		{"quantity <= 0", false}, {"quantity == null", true}, {"quantity != null", false},
		{"null == quantity", true}, {"quantity + 1 == null", true},
		{"-quantity == null", true}, {"quantity * 0 == null", true},
		{"quantity == 5", false}, {"quantity != 5", true},
		{"customer != 'x'", true}, {"customer == ''", false},
		{"not rush", true}, {"rush", false}, {"rush == false", false},
		{"(rush and true) == false", true}, {"(rush or rush) == false", true},
		{"quantity in [1, 2]", false}, {"quantity in [1, null]", true},
		{"null == null", true}, {"null != null", false},
		{"delivery_date < '2030-01-01'", false}, {"delivery_date == null", true},
		{"quantity == in_stock", true}, /* both unset */
	};
	CHECK(t, blank);
	static const struct truth z[] = {
		{"quantity / 0 == null", true}, {"unit_price / 0.0 == null", true},
		{"unit_price / (quantity - 5) == null", true}, {"quantity / 0 > 0", false},
		{"tracking == null", true}, {"tracking != null", false},
		{"quantity == in_stock", false},
	};
	CHECK(z, order);
}

static void strings_compare_bytewise(void **state)
{
	(void)state;
	static const struct truth t[] = {
		{"customer == \"Acme GmbH\"", true}, {"customer != 'Acme'", true},
		{"customer > 'Acme'", true}, {"customer < 'acme'", true},
		{"'abc' < 'abd'", true}, {"'ab' < 'abc'", true}, {"'' < 'a'", true},
		{"'\xc3\xa9' > 'z'", true},
		{"\"say \\\"hi\\\"\" == 'say \"hi\"'", true},
		{"'it\\'s' == \"it's\"", true}, {"'a\\\\b' > 'a['", true},
		{"customer in ['Acme', 'Acme GmbH']", true},
	};
	CHECK(t, order);
}

static void dates(void **state)
{
	(void)state;
	static const struct truth t[] = {
		{"delivery_date > order_date", true}, {"delivery_date == '2024-02-29'", true},
		{"delivery_date < '2024-03-01'", true}, {"'2024-03-01' > delivery_date", true},
		{"delivery_date != '2024-02-28'", true},
		{"delivery_date in ['2024-02-28', '2024-02-29']", true},
		{"order_date in ['2024-02-28', null]", false},
	};
	CHECK(t, order);
}

static void enums(void **state)
{
	(void)state;
	static const struct truth t[] = {
		{"payment_terms == 'net30'", true}, {"'net30' == payment_terms", true},
		{"payment_terms != 'prepaid'", true},
		{"payment_terms in ['prepaid', 'net60']", false},
		{"payment_terms in ['net30', 'net60']", true},
		{"payment_terms == customer", false},
	};
	CHECK(t, order);
}

static void booleans(void **state)
{
	(void)state;
	static const struct truth t[] = {
		{"true", true}, {"false", false}, {"true == true", true},
		{"true != false", true}, {"rush == true", true}, {"rush != false", true},
		{"rush in [true]", true}, {"rush in [false, null]", false},
	};
	CHECK(t, order);
}

/* A string whose bytes would fault if read: the right side of a
 * short-circuited and/or must never be touched. */
static void and_or_short_circuit(void **state)
{
	(void)state;
	docket_value v[NFIELDS];
	memcpy(v, order, sizeof v);
	v[CUSTOMER].s.p = (const char *)16;
	v[CUSTOMER].s.len = 4;
	assert_false(holds("quantity > 9 and customer == 'Acme'", v));
	assert_true(holds("quantity > 1 or customer == 'Acme'", v));
	assert_false(holds("false and (true or customer < 'x')", v));
	assert_true(holds("rush or customer < 'x' and false", v));
}

/* Values whose run-time type is not the declared one (a caller's bug) give
 * a false comparison, not a crash. */
static void wrong_runtime_types_are_harmless(void **state)
{
	(void)state;
	docket_value v[NFIELDS];
	memcpy(v, order, sizeof v);
	v[QUANTITY] = (docket_value)S("five");
	v[CUSTOMER] = (docket_value)I(7);
	v[RUSH] = (docket_value)I(1);
	assert_false(holds("quantity > 1", v));
	assert_false(holds("quantity == 5", v));
	assert_true(holds("quantity != 5", v));
	assert_false(holds("customer == 'x'", v));
	assert_true(holds("quantity + 1 == null", v));
	assert_false(holds("rush", v));
	assert_true(holds("not rush", v));
}

static void constant_guards_need_no_fields(void **state)
{
	(void)state;
	docket_guard *g = NULL;
	assert_int_equal(docket_guard_compile("1 < 2", 5, NULL, 0, &g, NULL), 0);
	assert_true(docket_guard_eval(g, NULL));
	docket_guard_free(g);
	assert_int_equal(docket_guard_compile("x", 1, NULL, 0, &g, NULL), DOCKET_EINVAL);
	assert_null(g);
}

static void keeps_the_source(void **state)
{
	(void)state;
	const char text[] = "in_stock >= quantity and rush";
	docket_guard *g = NULL;
	/* not NUL-terminated where it ends */
	assert_int_equal(docket_guard_compile(text, 20, fields, NFIELDS, &g, NULL), 0);
	assert_string_equal(docket_guard_source(g), "in_stock >= quantity");
	docket_guard_free(g);
}

/* ---- errors ---- */

struct bad {
	const char *src;
	int col;
	const char *msg;
};

#define DASH " \xe2\x80\x94 "

static const struct bad bad[] = {
	/* types */
	{"customer == 5", 10, "'customer' is a string and 5 is a number: they cannot be compared"},
	{"quantity + \"x\" > 1", 12, "'+' needs numbers, but \"x\" is a string"},
	{"not quantity", 5, "'not' needs true or false, but 'quantity' is a number"},
	{"quantity", 1, "a guard must be true or false, but 'quantity' is a number"},
	{"quantity * 2", 1, "a guard must be true or false, but quantity * 2 is a number"},
	{"customer", 1, "a guard must be true or false, but 'customer' is a string"},
	{"null", 1, "a guard must be true or false, not null"},
	{"rush and quantity", 10, "'and' needs true or false, but 'quantity' is a number"},
	{"quantity or rush", 1, "'or' needs true or false, but 'quantity' is a number"},
	{"-customer == 1", 2, "'-' needs numbers, but 'customer' is a string"},
	{"null + 1 == 2", 1, "'+' needs numbers, not null"},
	{"delivery_date + 1 > 0", 1, "'+' needs numbers, but 'delivery_date' is a date"},
	{"rush + 1 > 0", 1, "'+' needs numbers, but 'rush' is a boolean"},
	{"quantity < null", 10, "'<' with null is always false: test with == null or != null"},
	{"rush < true", 6, "true and false have no order: compare them with == or !="},
	{"delivery_date == customer", 15,
	 "'delivery_date' is a date and 'customer' is a string: they cannot be compared"},
	{"rush == 1", 6, "'rush' is a boolean and 1 is a number: they cannot be compared"},
	{"quantity + 1 == 'x'", 14, "quantity + 1 is a number and 'x' is a string: they cannot be compared"},
	/* enums and dates */
	{"payment_terms == 'net45'", 18, "'net45' is not a value of payment_terms (prepaid, net30, net60)"},
	{"'net45' != payment_terms", 1, "'net45' is not a value of payment_terms (prepaid, net30, net60)"},
	{"payment_terms in ['net30', 'net45']", 28,
	 "'net45' is not a value of payment_terms (prepaid, net30, net60)"},
	{"delivery_date > '2024-13-01'", 17,
	 "'2024-13-01' is not a date: write YYYY-MM-DD, as in '2024-03-31'"},
	{"delivery_date in ['2024-02-30']", 19,
	 "'2024-02-30' is not a date: write YYYY-MM-DD, as in '2024-03-31'"},
	{"delivery_date == 'soon'", 18, "'soon' is not a date: write YYYY-MM-DD, as in '2024-03-31'"},
	/* lists */
	{"quantity in [1, 'a']", 17, "the list mixes types: 1 is a number but 'a' is a string"},
	{"null in [true, 2]", 16, "the list mixes types: true is a boolean but 2 is a number"},
	{"customer in [1, 2]", 14, "'customer' is a string and 1 is a number: they cannot be compared"},
	{"quantity in []", 14, "the list after 'in' is empty"},
	{"quantity in 5", 13, "'in' needs a list in brackets, as in [\"net30\", \"net60\"]"},
	{"quantity in [in_stock]", 14,
	 "a list after 'in' holds only plain values (numbers, strings, true, false, null)"},
	{"quantity in [-'a']", 15,
	 "a list after 'in' holds only plain values (numbers, strings, true, false, null)"},
	{"quantity in [1, 2", 18, "the list is never closed: a ']' is missing"},
	{"quantity in [1 2]", 16, "expected ',' or ']' in the list, found '2'"},
	{"quantity in [,]", 14, "expected a value after '[', found ','"},
	{") and rush", 1, "a guard cannot start with ')'"},
	/* names */
	{"qty > 1", 1, "unknown field 'qty'" DASH "did you mean 'quantity'?"},
	{"cust == 'a'", 1, "unknown field 'cust'" DASH "did you mean 'customer'?"},
	{"quantiy > 1", 1, "unknown field 'quantiy'" DASH "did you mean 'quantity'?"},
	{"Quantity > 1", 1, "unknown field 'Quantity'" DASH "did you mean 'quantity'?"},
	{"True", 1, "unknown field 'True'" DASH "did you mean 'true'?"},
	{"banana > 1", 1, "unknown field 'banana'"},
	{"rush and banana.split", 10, "unknown field 'banana.split'"},
	{"customer.name == 'x'", 1,
	 "unknown field 'customer.name': 'customer' is a string and has no parts"},
	{"quantity. > 1", 10, "a name must follow '.'"},
	/* syntax */
	{"", 1, "the guard is empty: write a condition, as in quantity > 0"},
	{"  \t ", 1, "the guard is empty: write a condition, as in quantity > 0"},
	{"quantity >", 11, "the guard ends too early: a value must follow '>'"},
	{"quantity > 1 and", 17, "the guard ends too early: a value must follow 'and'"},
	{"quantity > 1 and )", 18, "expected a value after 'and', found ')'"},
	{"(quantity > 1", 14, "the '(' at column 1 is never closed"},
	{"rush and (quantity > 1", 23, "the '(' at column 10 is never closed"},
	{"(quantity > 1 rush)", 15, "expected ')' to close the '(' at column 1, found 'rush'"},
	{"quantity > 1)", 13, "unexpected ')' with no '(' to close"},
	{"quantity 5", 10, "unexpected '5' after 'quantity': is an 'and' or 'or' missing?"},
	{"rush rush", 6, "unexpected 'rush' after 'rush': is an 'and' or 'or' missing?"},
	{"quantity < 5 < 6", 14, "comparisons do not chain: join them with 'and', as in a < b and b < c"},
	{"1 < 2 == true", 7, "comparisons do not chain: join them with 'and', as in a < b and b < c"},
	{"quantity == 5 in [true]", 15,
	 "comparisons do not chain: join them with 'and', as in a < b and b < c"},
	{"quantity not in [1]", 10, "'not' goes before a condition, as in not (x in [1, 2])"},
	{"quantity = 5", 10, "'=' is not an operator: write == to compare"},
	{"quantity > 1 && rush", 14, "write 'and' instead of '&&'"},
	{"quantity > 1 || rush", 14, "write 'or' instead of '||'"},
	{"!rush", 1, "write 'not' instead of '!'"},
	{"quantity # 1", 10, "unexpected character '#'"},
	{"quantity > 1 and \xe2\x82\xac", 18, "unexpected character '\xe2\x82\xac'"},
	{"quantity > 1 and \xff", 18, "unexpected byte 0xff"},
	{"'abc", 1, "this string is never closed (a ' is missing)"},
	{"customer == \"abc", 13, "this string is never closed (a \" is missing)"},
	{"customer == 'a\\n'", 15, "unknown escape in a string: only \\\" \\' and \\\\ are allowed"},
	{"customer == '\xc3('", 13, "a string must be valid UTF-8 text without NUL bytes"},
	{"12abc > 1", 1, "'12abc' is not a number"},
	{"quantity > 1.5.2", 12, "'1.5.2' is not a number"},
	{"quantity > 5.", 12, "'5.' is not a number"},
	{".5 > 0", 1, "write a digit before the '.', as in 0.5"},
	{"quantity > 9223372036854775808", 12,
	 "9223372036854775808 is too large for an integer (the largest is 9223372036854775807)"},
	{"quantity > 1e999", 12, "1e999 is too large for a number"},
	/* columns count characters, not bytes: the euro sign is three bytes */
	{"customer == '\xe2\x82\xac' and #", 21, "unexpected character '#'"},
};

static void compile_errors_say_where_and_why(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		docket_guard *g = (docket_guard *)1;
		docket_guard_error e = {.col = -1};
		int rc = docket_guard_compile(bad[i].src, strlen(bad[i].src), fields, NFIELDS, &g, &e);
		if (rc != DOCKET_EINVAL)
			fail_msg("'%s' compiled (rc %d)", bad[i].src, rc);
		assert_null(g);
		if (strcmp(e.msg, bad[i].msg) != 0 || e.col != bad[i].col)
			fail_msg("'%s':\n  got  %d: %s\n  want %d: %s", bad[i].src,
				 e.col, e.msg, bad[i].col, bad[i].msg);
	}
}

static void nul_bytes_are_refused(void **state)
{
	(void)state;
	docket_guard *g;
	docket_guard_error e;
	assert_int_equal(docket_guard_compile("rush\0", 5, fields, NFIELDS, &g, &e), DOCKET_EINVAL);
	assert_int_equal(e.col, 5);
	assert_string_equal(e.msg, "unexpected byte 0x00");
	assert_int_equal(docket_guard_compile("'a\0'", 4, fields, NFIELDS, &g, &e), DOCKET_EINVAL);
	assert_string_equal(e.msg, "a string must be valid UTF-8 text without NUL bytes");
}

/* ---- limits ---- */

static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(hl + ul * n + tl + 1), *p = s;
	memcpy(p, head, hl), p += hl;
	for (size_t i = 0; i < n; i++)
		memcpy(p, unit, ul), p += ul;
	memcpy(p, tail, tl + 1);
	return s;
}

static void length_limit(void **state)
{
	(void)state;
	docket_guard *g;
	docket_guard_error e;
	/* 4096 bytes exactly: fine; one more: refused before anything else. */
	char *s = repeat("rush", " or rush", 511, "    ");
	assert_int_equal(strlen(s), DOCKET_GUARD_MAX);
	assert_int_equal(docket_guard_compile(s, strlen(s), fields, NFIELDS, &g, &e), 0);
	assert_true(docket_guard_eval(g, order));
	assert_false(docket_guard_eval(g, blank));
	docket_guard_free(g);
	assert_int_equal(docket_guard_compile(s, DOCKET_GUARD_MAX + 1, fields, NFIELDS, &g, &e),
			 DOCKET_EINVAL);
	assert_int_equal(e.col, 1);
	assert_string_equal(e.msg, "the guard is longer than 4096 bytes");
	free(s);
}

/* open x n, then mid, then close x n */
static char *nest(const char *open, size_t n, const char *mid, const char *close)
{
	char *a = repeat("", open, n, mid);
	char *b = repeat(a, close, n, "");
	free(a);
	return b;
}

static void refused_at(const char *src, int col, const char *msg)
{
	docket_guard *g;
	docket_guard_error e;
	assert_int_equal(docket_guard_compile(src, strlen(src), fields, NFIELDS, &g, &e),
			 DOCKET_EINVAL);
	assert_string_equal(e.msg, msg);
	assert_int_equal(e.col, col);
}

static void nesting_limit(void **state)
{
	(void)state;
	const char *deep = "the guard is nested too deeply (more than 64 levels)";
	char *s;

	s = nest("(", 64, "rush", ")");
	assert_true(holds(s, order));
	free(s);
	s = nest("(", 65, "rush", ")");
	refused_at(s, 65, deep);
	free(s);
	s = nest("(", 2000, "rush", ")");
	refused_at(s, 65, deep);
	free(s);
	s = repeat("", "not ", 64, "rush");
	assert_true(holds(s, order));
	free(s);
	s = repeat("", "not ", 65, "rush");
	refused_at(s, 257, deep);
	free(s);
	s = repeat("", "-", 65, "1 == 1");
	refused_at(s, 65, deep);
	free(s);
	s = repeat("", "not (", 40, "rush");
	refused_at(s, 161, deep);       /* the 33rd 'not' is level 65 */
	free(s);
	/* each level leaving operands pending: still within the value stack */
	s = nest("1 + 2 * (", 64, "3", ")");
	char *g = repeat(s, "", 0, " > 0");
	assert_true(holds(g, order));
	free(g);
	free(s);
}

static void long_guards_stay_flat(void **state)
{
	(void)state;
	/* a thousand operators in a row need neither depth nor stack */
	char *s = repeat("1", " + 1", 1000, " == 1001");
	assert_true(holds(s, order));
	free(s);
	s = repeat("quantity == 0", " or quantity == 0", 200, " or quantity == 5");
	assert_true(holds(s, order));
	assert_false(holds(s, blank));
	free(s);
	s = repeat("quantity in [", "7, ", 1000, "5]");
	assert_true(holds(s, order));
	free(s);
	s = nest("1 + (", 63, "1", ")");
	char *t = repeat(s, "", 0, " == 64");
	assert_true(holds(t, order));
	free(t);
	free(s);
}

/* ---- explain ---- */

static const char *explain(const char *src, const docket_value *values, size_t size)
{
	static char buf[512];
	docket_guard *g = compile(src);
	memset(buf, 'X', sizeof buf);
	docket_guard_explain(g, fields, values, buf, size);
	docket_guard_free(g);
	return buf;
}

static void explain_shows_what_the_guard_read(void **state)
{
	(void)state;
	assert_string_equal(explain("in_stock >= quantity", order, 512), "in_stock=3, quantity=5");
	assert_string_equal(explain("quantity > 1 and quantity < in_stock + quantity", order, 512),
			    "quantity=5, in_stock=3");
	assert_string_equal(explain("in_stock >= quantity", blank, 512), "in_stock=null, quantity=null");
	assert_string_equal(explain("customer == 'x' or rush or unit_price > 1", order, 512),
			    "customer=\"Acme GmbH\", rush=true, unit_price=19.5");
	assert_string_equal(explain("delivery_date > order_date", order, 512),
			    "delivery_date=2024-02-29, order_date=2024-02-01");
	assert_string_equal(explain("payment_terms == 'net60'", order, 512),
			    "payment_terms=\"net30\"");
	assert_string_equal(explain("1 < 2", order, 512), "");

	docket_value v[NFIELDS];
	memcpy(v, order, sizeof v);
	v[CUSTOMER] = (docket_value)S("say \"hi\" \\ bye");
	assert_string_equal(explain("customer != ''", v, 512), "customer=\"say \\\"hi\\\" \\\\ bye\"");
	v[CUSTOMER] = (docket_value)S("0123456789012345678901234567890123456789 and then some");
	assert_string_equal(explain("customer != ''", v, 512),
			    "customer=\"0123456789012345678901234567890123456789...\"");
	v[UNIT_PRICE] = (docket_value)N(0.1);
	assert_string_equal(explain("unit_price > 0", v, 512), "unit_price=0.1");
}

static void explain_never_overruns(void **state)
{
	(void)state;
	const char *b = explain("in_stock >= quantity", order, 8);
	assert_string_equal(b, "in_stoc");
	assert_int_equal(b[8], 'X');
	b = explain("in_stock >= quantity", order, 1);
	assert_string_equal(b, "");
	assert_int_equal(b[1], 'X');
	b = explain("in_stock >= quantity", order, 0);
	assert_int_equal(b[0], 'X');
}

/* ---- evaluation does not allocate ---- */

static void evaluation_never_allocates(void **state)
{
	(void)state;
	static const char *const srcs[] = {
		"in_stock >= quantity",
		"(quantity * unit_price > 50 or rush) and payment_terms in ['net30', 'net60']",
		"delivery_date < '2024-03-01' and customer != 'Initech' and not (tracking == null)",
		"quantity / 0 == null or -quantity < 9223372036854775807 + 1",
	};
	docket_guard *g[4];
	docket_value v[NFIELDS];
	char buf[128];
	size_t before, n = 0;

	before = allocs;
	for (size_t i = 0; i < 4; i++)
		g[i] = compile(srcs[i]);
	assert_true(allocs > before); /* the counter sees the engine's allocations */

	before = allocs;
	for (int round = 0; round < 20000; round++) {
		memcpy(v, round % 3 ? order : blank, sizeof v);
		if (round % 3 == 1)
			v[QUANTITY].i = round;
		for (size_t i = 0; i < 4; i++)
			n += docket_guard_eval(g[i], v);
		docket_guard_explain(g[round % 4], fields, v, buf, sizeof buf);
	}
	assert_int_equal(allocs, before);
	assert_true(n > 0);
	for (size_t i = 0; i < 4; i++)
		docket_guard_free(g[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_operator),
		cmocka_unit_test(precedence),
		cmocka_unit_test(integers_and_numbers_mix),
		cmocka_unit_test(null_semantics),
		cmocka_unit_test(strings_compare_bytewise),
		cmocka_unit_test(dates),
		cmocka_unit_test(enums),
		cmocka_unit_test(booleans),
		cmocka_unit_test(and_or_short_circuit),
		cmocka_unit_test(wrong_runtime_types_are_harmless),
		cmocka_unit_test(constant_guards_need_no_fields),
		cmocka_unit_test(keeps_the_source),
		cmocka_unit_test(compile_errors_say_where_and_why),
		cmocka_unit_test(nul_bytes_are_refused),
		cmocka_unit_test(length_limit),
		cmocka_unit_test(nesting_limit),
		cmocka_unit_test(long_guards_stay_flat),
		cmocka_unit_test(explain_shows_what_the_guard_read),
		cmocka_unit_test(explain_never_overruns),
		cmocka_unit_test(evaluation_never_allocates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
