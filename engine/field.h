/*
 * field.h - typed case data: values, field declarations and their
 * constraints.
 *
 * A case's fields are an array of docket_value indexed like the workflow's
 * field declarations, so guards and checks address a field by index and
 * never look a name up at run time.  A value never owns memory: strings
 * point into whoever holds the bytes (the case record, the request), which
 * keeps values cheap to copy and guard evaluation free of allocation.
 */
#ifndef DOCKET_FIELD_H
#define DOCKET_FIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef enum {
	DOCKET_V_NULL = 0,  /* not set */
	DOCKET_V_BOOL,
	DOCKET_V_INT,
	DOCKET_V_NUM,
	DOCKET_V_STR,       /* also the value of an enum field */
	DOCKET_V_DATE,      /* days since 1970-01-01 */
} docket_vtype;

typedef struct docket_value {
	docket_vtype t;
	union {
		bool b;
		int64_t i;
		double n;
		int32_t date;
		struct {
			const char *p;  /* borrowed, not NUL-terminated */
			uint32_t len;
		} s;
	};
} docket_value;

typedef enum {
	DOCKET_FT_STRING,
	DOCKET_FT_INTEGER,
	DOCKET_FT_NUMBER,
	DOCKET_FT_BOOLEAN,
	DOCKET_FT_ENUM,
	DOCKET_FT_DATE,
} docket_ftype;

/* Limits on what a case may hold; refused beyond them, never truncated. */
#define DOCKET_STRING_MAX 65536         /* bytes in one string value */
#define DOCKET_FIELDS_MAX 256           /* fields one workflow declares */
#define DOCKET_ROLES_MAX 64             /* roles one workflow declares */
#define DOCKET_NAME_MAX 64              /* bytes in a name (field, stage, ...) */

/* A declared field.  Owned by its workflow; immutable once loaded. */
typedef struct docket_field {
	char *name;
	docket_ftype type;
	bool required;
	/* integer, number: bounds on the value; string: on its length in bytes */
	bool has_min, has_max;
	double min, max;
	char **values;          /* enum: the allowed values */
	size_t nvalues;
	bool has_default;
	docket_value def;       /* strings point into storage the workflow owns */
	uint64_t visible_to;    /* bitmask of role indexes; 0 = visible to all */
	char *title;            /* optional label for people, NULL if none */
	int line, col;          /* where it was declared */
} docket_field;

/* Check v against f's type and constraints.  A NULL value is accepted here
 * (whether a field is required is the caller's rule at create/require).
 * Strings must be valid UTF-8 without NUL and within DOCKET_STRING_MAX. */
int docket_field_check(const docket_field *f, const docket_value *v, docket_err *err);

/* Turn text a person typed (`-s quantity=5`) into a value of f's type:
 * integers, numbers, true/false, ISO 8601 dates (YYYY-MM-DD), enum values.
 * String results point into `text`, which must outlive the value.  The
 * result is also checked against the constraints. */
int docket_field_parse(const docket_field *f, const char *text, size_t len,
		       docket_value *out, docket_err *err);

/* The name of a type as written in YAML ("integer"). */
const char *docket_ftype_name(docket_ftype t);

/* Parse YYYY-MM-DD (a real calendar date, years 1..9999) to days since
 * 1970-01-01.  Returns 0 or DOCKET_EINVAL. */
int docket_date_parse(const char *s, size_t len, int32_t *days);

/* The dates a field may hold: 0001-01-01 to 9999-12-31, in days since
 * 1970-01-01. */
#define DOCKET_DAY_MIN (-719162)
#define DOCKET_DAY_MAX 2932896

/* Write days as YYYY-MM-DD plus NUL into buf (at least 11 bytes). */
void docket_date_format(int32_t days, char buf[11]);
/* v (>= 0) as exactly n decimal digits, zero-padded, no terminator. */
void docket_put_digits(char *p, int v, int n);

/* Whether s[0..len) is valid UTF-8 with no NUL byte. */
bool docket_utf8_valid(const char *s, size_t len);

/* Equality of two values of the same type (strings bytewise). */
bool docket_value_equal(const docket_value *a, const docket_value *b);

#endif
