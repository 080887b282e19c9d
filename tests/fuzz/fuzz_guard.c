/*
 * fuzz_guard.c - any bytes as a `when:` guard, compiled against a field of
 * every type (and a dotted name).  What compiles is evaluated and
 * explained over value sets that include nulls, extremes and values of the
 * wrong run-time type.  Besides crashes and sanitizer reports, it aborts
 * when an error has no message, a column outside the source or a
 * message that is not valid UTF-8, or when
 * the kept source differs from the input.
 */
#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"

static char *terms[] = {"prepaid", "net30", "net60"};

static const docket_field fields[] = {
	{.name = "customer", .type = DOCKET_FT_STRING},
	{.name = "quantity", .type = DOCKET_FT_INTEGER},
	{.name = "unit_price", .type = DOCKET_FT_NUMBER},
	{.name = "rush", .type = DOCKET_FT_BOOLEAN},
	{.name = "payment_terms", .type = DOCKET_FT_ENUM, .values = terms, .nvalues = 3},
	{.name = "delivery_date", .type = DOCKET_FT_DATE},
	{.name = "order.total", .type = DOCKET_FT_NUMBER},
};
#define NF (sizeof fields / sizeof *fields)

#define I(x) {.t = DOCKET_V_INT, .i = (x)}
#define N(x) {.t = DOCKET_V_NUM, .n = (x)}
#define S(x) {.t = DOCKET_V_STR, .s = {(x), sizeof(x) - 1}}
#define B(x) {.t = DOCKET_V_BOOL, .b = (x)}
#define D(x) {.t = DOCKET_V_DATE, .date = (x)}

static const docket_value sets[][NF] = {
	{{.t = DOCKET_V_NULL}},
	{S("Acme GmbH"), I(5), N(19.5), B(true), S("net30"), D(19782), N(97.5)},
	{S(""), I(INT64_MIN), N(-0.0), B(false), S("prepaid"), D(-719162), N(DBL_MAX)},
	{S("say \"hi\" \\ \xc3\xa9"), I(INT64_MAX), N(DBL_MIN), B(true), S("net60"),
	 D(2932896), N(-1e300)},
	/* run-time types that disagree with the declarations */
	{I(1), S("5"), B(true), N(1), D(3), S("x"), I(-1)},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	docket_guard *g = NULL;
	docket_guard_error e;
	char small[7], big[512];

	if (docket_guard_compile((const char *)data, size, fields, NF, &g, &e) != 0) {
		if (g || e.col < 1 || (size_t)e.col > size + 1 || !e.msg[0] ||
		    !memchr(e.msg, '\0', sizeof e.msg) || !docket_utf8_valid(e.msg, strlen(e.msg)))
			abort();
		return 0;
	}
	const char *src = docket_guard_source(g);
	if (strlen(src) != size || memcmp(src, data, size) != 0)
		abort();
	for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) {
		bool r = docket_guard_eval(g, sets[i]);
		if (r != docket_guard_eval(g, sets[i]))
			abort();
		docket_guard_explain(g, fields, sets[i], small, sizeof small);
		docket_guard_explain(g, fields, sets[i], big, sizeof big);
		if (strlen(small) >= sizeof small || strlen(big) >= sizeof big)
			abort();
	}
	docket_guard_free(g);
	return 0;
}
