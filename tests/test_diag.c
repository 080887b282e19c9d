/* Diagnostics: ordering, format, and the "did you mean" hints people see. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "diag.h"

static char *print(const docket_diags *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	docket_diags_print(d, f);
	fclose(f);
	return buf;
}

static void prints_sorted_compiler_format(void **state)
{
	(void)state;
	docket_diags d;
	docket_diags_init(&d, "wf.yaml");
	docket_diags_add(&d, DOCKET_DIAG_WARNING, 9, 3, NULL, "stage '%s' has no sla", "x");
	docket_diags_add(&d, DOCKET_DIAG_ERROR, 2, 5, "did you mean 'owner'?", "unknown key 'owmer'");
	char *out = print(&d);
	assert_string_equal(out,
		"wf.yaml:2:5: error: unknown key 'owmer' \xe2\x80\x94 did you mean 'owner'?\n"
		"wf.yaml:9:3: warning: stage 'x' has no sla\n");
	assert_int_equal(d.errors, 1);
	assert_int_equal(d.warnings, 1);
	free(out);
	docket_diags_free(&d);
}

static void caps_the_list_but_counts_everything(void **state)
{
	(void)state;
	docket_diags d;
	docket_diags_init(&d, "f");
	d.max = 3;
	for (int i = 0; i < 10; i++)
		docket_diags_add(&d, DOCKET_DIAG_ERROR, i + 1, 1, NULL, "e%d", i);
	assert_int_equal(d.n, 3);
	assert_int_equal(d.errors, 10);
	char *out = print(&d);
	assert_non_null(strstr(out, "7 more diagnostics not shown"));
	free(out);
	docket_diags_free(&d);
}

static void suggests_close_names_only(void **state)
{
	(void)state;
	const char *keys[] = {"owner", "title", "sla", "action", "on", "timers", "terminal"};
	size_t n = sizeof keys / sizeof *keys;
	assert_string_equal(docket_suggest("owmer", keys, n), "owner");
	assert_string_equal(docket_suggest("timer", keys, n), "timers");
	assert_string_equal(docket_suggest("terminl", keys, n), "terminal");
	assert_null(docket_suggest("banana", keys, n));
	assert_null(docket_suggest("owner", keys, n)); /* exact is not a typo */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(prints_sorted_compiler_format),
		cmocka_unit_test(caps_the_list_but_counts_everything),
		cmocka_unit_test(suggests_close_names_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
