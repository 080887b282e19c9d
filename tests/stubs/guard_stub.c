/*
 * guard_stub.c - stand-in for engine/guard.c in tests that only need a
 * guard's source text, built only while the engine has no guard.c (see
 * tests/meson.build).  It accepts any expression and never evaluates one.
 */
#include <stdlib.h>
#include <string.h>

#include "guard.h"

struct docket_guard {
	char *src;
};

int docket_guard_compile(const char *src, size_t len,
			 const docket_field *fields, size_t nfields,
			 docket_guard **out, docket_guard_error *gerr)
{
	(void)fields;
	(void)nfields;
	(void)gerr;
	docket_guard *g = calloc(1, sizeof *g);
	if (!g || !(g->src = strndup(src, len))) {
		free(g);
		return DOCKET_ENOMEM;
	}
	*out = g;
	return 0;
}

const char *docket_guard_source(const docket_guard *g)
{
	return g->src;
}

void docket_guard_free(docket_guard *g)
{
	if (g)
		free(g->src);
	free(g);
}
