/*
 * guard.h - the guard expression language of `when:`.
 *
 *   field paths, numbers, "strings", true, false, null,
 *   == != < <= > >=   and or not   + - * /   x in [a, b, ...]   ( )
 *
 * A guard is parsed and type-checked once, when its workflow loads, against
 * the workflow's declared fields; evaluation then walks a compact compiled
 * form over a case's field array without allocating.  Guards are data, never
 * code: nothing in them can call out, loop or touch anything but the fields.
 *
 * Semantics (docs/guards.md is the reference for users):
 *   - an unset field is null; arithmetic with null gives null; an ordering
 *     comparison (< <= > >=) with null is false; == and != compare null-ness;
 *   - integers and numbers mix freely (compared as numbers); strings compare
 *     bytewise; dates compare with dates or with "YYYY-MM-DD" literals;
 *   - division by zero gives null;
 *   - the whole guard must be boolean; and/or short-circuit.
 */
#ifndef DOCKET_GUARD_H
#define DOCKET_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "field.h"

#define DOCKET_GUARD_MAX 4096   /* bytes of source in one guard */

typedef struct docket_guard docket_guard;

/* Where and why a guard failed to compile.  col is 1-based within the
 * expression's source; the loader adds the expression's own position. */
typedef struct docket_guard_error {
	int col;
	char msg[256];
} docket_guard_error;

/* Compile `src` (len bytes) against the declared fields.  On success *out
 * owns a copy of the source and must be freed with docket_guard_free.
 * Returns 0, DOCKET_EINVAL (syntax, unknown field, type error; *gerr says
 * where) or DOCKET_ENOMEM. */
int docket_guard_compile(const char *src, size_t len,
			 const docket_field *fields, size_t nfields,
			 docket_guard **out, docket_guard_error *gerr);

/* Evaluate over `fields` (indexed like the declarations given to compile).
 * Never allocates, never fails: a guard whose value is null is false. */
bool docket_guard_eval(const docket_guard *g, const docket_value *fields);

/* The source text, NUL-terminated, as written in the YAML. */
const char *docket_guard_source(const docket_guard *g);

/* Write the fields a guard reads, with their current values, as
 * "in_stock=3, quantity=5" into buf (always NUL-terminated).  Used to say
 * why a guard did not hold. */
void docket_guard_explain(const docket_guard *g, const docket_field *fields,
			  const docket_value *values, char *buf, size_t size);

void docket_guard_free(docket_guard *g);

#endif
