/*
 * field.c - typed field values: checking them against their declaration,
 * reading them from what a person typed, and the calendar.
 *
 * Invariants: a value that passed docket_field_check has exactly the type
 * its field declares (integer fields hold DOCKET_V_INT, number fields
 * DOCKET_V_NUM, enum and string fields DOCKET_V_STR), numbers are finite,
 * strings are valid UTF-8 without NUL, and dates lie in years 1..9999.
 * Dates are proleptic Gregorian day counts computed with integer
 * arithmetic only, so no time zone, locale or libc calendar is involved.
 */
#include "field.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* User text quoted in a message is cut here so one line stays one line. */
#define PREVIEW_MAX 40

/* Length of the valid UTF-8 character at s (at most n bytes), or 0. */
static size_t char_len(const char *s, size_t n)
{
	for (size_t k = 1; k <= 4 && k <= n; k++)
		if (docket_utf8_valid(s, k))
			return k;
	return 0;
}

/* Copy at most PREVIEW_MAX bytes of s for a message: whole characters
 * only, with control and invalid bytes shown as '?', so a message is
 * always one line of valid UTF-8 whatever a person typed. */
static const char *preview(const char *s, size_t len, char out[PREVIEW_MAX + 4])
{
	size_t i = 0, o = 0;

	while (i < len) {
		size_t k = char_len(s + i, len - i);
		if (o + (k ? k : 1) > PREVIEW_MAX)
			break;
		if (k == 1 && (unsigned char)s[i] >= 0x20 && s[i] != 0x7f)
			out[o++] = s[i];
		else if (k > 1)
			memcpy(out + o, s + i, k), o += k;
		else
			out[o++] = '?';
		i += k ? k : 1;
	}
	if (i < len)
		memcpy(out + o, "...", 3), o += 3;
	out[o] = '\0';
	return out;
}

/* The shortest text that reads back as x: 1, 0.5, 1e+30. */
static const char *fmtnum(double x, char buf[32])
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, 32, "%.*g", prec, x);
		if (strtod(buf, NULL) == x)
			break;
	}
	return buf;
}

const char *docket_ftype_name(docket_ftype t)
{
	switch (t) {
	case DOCKET_FT_STRING: return "string";
	case DOCKET_FT_INTEGER: return "integer";
	case DOCKET_FT_NUMBER: return "number";
	case DOCKET_FT_BOOLEAN: return "boolean";
	case DOCKET_FT_ENUM: return "enum";
	case DOCKET_FT_DATE: return "date";
	}
	return "unknown";
}

static const char *vtype_name(docket_vtype t)
{
	switch (t) {
	case DOCKET_V_NULL: return "null";
	case DOCKET_V_BOOL: return "a boolean";
	case DOCKET_V_INT: return "an integer";
	case DOCKET_V_NUM: return "a number";
	case DOCKET_V_STR: return "a string";
	case DOCKET_V_DATE: return "a date";
	}
	return "an unknown value";
}

bool docket_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str, *end = s + len;

	while (s < end) {
		unsigned c = *s;
		if (c == 0)
			return false;
		if (c < 0x80) {
			s++;
			continue;
		}
		size_t n;
		uint32_t cp, lo;
		if (c >= 0xC2 && c <= 0xDF)
			n = 1, cp = c & 0x1F, lo = 0x80;
		else if (c >= 0xE0 && c <= 0xEF)
			n = 2, cp = c & 0x0F, lo = 0x800;
		else if (c >= 0xF0 && c <= 0xF4)
			n = 3, cp = c & 0x07, lo = 0x10000;
		else
			return false;       /* continuation, overlong lead, > U+10FFFF */
		if ((size_t)(end - s) <= n)
			return false;
		for (size_t i = 1; i <= n; i++) {
			if ((s[i] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i] & 0x3F);
		}
		if (cp < lo || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		s += n + 1;
	}
	return true;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* Howard Hinnant's days_from_civil: exact for every proleptic date. */
static int32_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	int yoe = y - era * 400;
	int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int digits(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int docket_date_parse(const char *s, size_t len, int32_t *days)
{
	if (len != 10 || s[4] != '-' || s[7] != '-')
		return DOCKET_EINVAL;
	int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > month_days(y, m))
		return DOCKET_EINVAL;
	*days = days_from_civil(y, m, d);
	return 0;
}

void docket_put_digits(char *p, int v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

void docket_date_format(int32_t days, char buf[11])
{
	if (days < DOCKET_DAY_MIN || days > DOCKET_DAY_MAX) {
		/* Never a stored value (check refuses it); print something that
		 * cannot be mistaken for a date and does not parse back. */
		memcpy(buf, "0000-00-00", 11);
		return;
	}
	int z = days + 719468;
	int era = (z >= 0 ? z : z - 146096) / 146097;
	int doe = z - era * 146097;
	int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int mp = (5 * doy + 2) / 153;
	int d = doy - (153 * mp + 2) / 5 + 1;
	int m = mp < 10 ? mp + 3 : mp - 9;
	int y = yoe + era * 400 + (m <= 2);
	/* By hand: the range check above bounds every part, which snprintf's
	 * truncation warning cannot see. */
	docket_put_digits(buf, y, 4);
	buf[4] = '-';
	docket_put_digits(buf + 5, m, 2);
	buf[7] = '-';
	docket_put_digits(buf + 8, d, 2);
	buf[10] = '\0';
}

bool docket_value_equal(const docket_value *a, const docket_value *b)
{
	if (a->t != b->t)
		return false;
	switch (a->t) {
	case DOCKET_V_NULL: return true;
	case DOCKET_V_BOOL: return a->b == b->b;
	case DOCKET_V_INT: return a->i == b->i;
	case DOCKET_V_NUM: return a->n == b->n;
	case DOCKET_V_DATE: return a->date == b->date;
	case DOCKET_V_STR:
		return a->s.len == b->s.len &&
		       (a->s.len == 0 || memcmp(a->s.p, b->s.p, a->s.len) == 0);
	}
	return false;
}

static docket_vtype value_type_of(docket_ftype t)
{
	switch (t) {
	case DOCKET_FT_STRING:
	case DOCKET_FT_ENUM: return DOCKET_V_STR;
	case DOCKET_FT_INTEGER: return DOCKET_V_INT;
	case DOCKET_FT_NUMBER: return DOCKET_V_NUM;
	case DOCKET_FT_BOOLEAN: return DOCKET_V_BOOL;
	case DOCKET_FT_DATE: return DOCKET_V_DATE;
	}
	return DOCKET_V_NULL;
}

/* "prepaid, net30, net60", cut to fit. */
static const char *value_list(const docket_field *f, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < f->nvalues && off < size; i++) {
		int n = snprintf(buf + off, size - off, "%s%s", i ? ", " : "", f->values[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	/* cut short: end on a whole character */
	while (off >= size && !docket_utf8_valid(buf, strlen(buf)))
		buf[strlen(buf) - 1] = '\0';
	return buf;
}

static bool enum_has(const docket_field *f, const char *p, size_t len)
{
	for (size_t i = 0; i < f->nvalues; i++)
		if (strlen(f->values[i]) == len && memcmp(f->values[i], p, len) == 0)
			return true;
	return false;
}

/* The whole list is the hint: enums are short, and a "did you mean" would
 * guess between values that differ by design (net30, net60). */
static int enum_error(const docket_field *f, const char *p, size_t len, docket_err *err)
{
	char pv[PREVIEW_MAX + 4], list[256];

	preview(p, len, pv);
	value_list(f, list, sizeof list);
	return docket_err_set(err, DOCKET_EINVAL, "field '%s': '%s' is not one of %s",
			      f->name, pv, list);
}

static int check_bounds(const docket_field *f, double x, const char *shown,
			docket_err *err)
{
	char b[32];

	if (f->has_min && x < f->min)
		return docket_err_set(err, DOCKET_EINVAL, "field '%s': %s is below the minimum %s",
				      f->name, shown, fmtnum(f->min, b));
	if (f->has_max && x > f->max)
		return docket_err_set(err, DOCKET_EINVAL, "field '%s': %s is above the maximum %s",
				      f->name, shown, fmtnum(f->max, b));
	return 0;
}

static int check_string(const docket_field *f, const docket_value *v, docket_err *err)
{
	char shown[64];

	if (v->s.len > DOCKET_STRING_MAX)
		return docket_err_set(err, DOCKET_ELIMIT,
			"field '%s': %" PRIu32 " bytes is longer than the limit of %d bytes",
			f->name, v->s.len, DOCKET_STRING_MAX);
	if (v->s.len && !v->s.p)
		return docket_err_set(err, DOCKET_EINVAL, "field '%s': string has no bytes", f->name);
	if (!docket_utf8_valid(v->s.p, v->s.len))
		return docket_err_set(err, DOCKET_EINVAL,
			"field '%s': text must be valid UTF-8 without NUL bytes", f->name);
	if (f->type == DOCKET_FT_ENUM) {
		if (!enum_has(f, v->s.p, v->s.len))
			return enum_error(f, v->s.p, v->s.len, err);
		return 0;
	}
	/* A string's bounds are lengths: say "shorter"/"longer", not "below". */
	char b[32];
	(void)shown;
	if (f->has_min && v->s.len < f->min)
		return docket_err_set(err, DOCKET_EINVAL,
			"field '%s': text of %" PRIu32 " bytes is shorter than the minimum of %s",
			f->name, v->s.len, fmtnum(f->min, b));
	if (f->has_max && v->s.len > f->max)
		return docket_err_set(err, DOCKET_EINVAL,
			"field '%s': text of %" PRIu32 " bytes is longer than the maximum of %s",
			f->name, v->s.len, fmtnum(f->max, b));
	return 0;
}

int docket_field_check(const docket_field *f, const docket_value *v, docket_err *err)
{
	char b[32];
	docket_vtype want = value_type_of(f->type);

	if (v->t == DOCKET_V_NULL)
		return 0;
	if (v->t != want)
		return docket_err_set(err, DOCKET_EINVAL, "field '%s': expected %s, got %s",
				      f->name, vtype_name(want), vtype_name(v->t));
	switch (v->t) {
	case DOCKET_V_INT:
		snprintf(b, sizeof b, "%" PRId64, v->i);
		return check_bounds(f, (double)v->i, b, err);
	case DOCKET_V_NUM:
		if (!isfinite(v->n))
			return docket_err_set(err, DOCKET_EINVAL,
				"field '%s': numbers must be finite", f->name);
		return check_bounds(f, v->n, fmtnum(v->n, b), err);
	case DOCKET_V_STR:
		return check_string(f, v, err);
	case DOCKET_V_DATE:
		if (v->date < DOCKET_DAY_MIN || v->date > DOCKET_DAY_MAX)
			return docket_err_set(err, DOCKET_EINVAL,
				"field '%s': date is outside the years 1 to 9999", f->name);
		return 0;
	case DOCKET_V_BOOL:
	case DOCKET_V_NULL:
		return 0;
	}
	return 0;
}

/* Integers as people type them: optional sign, decimal digits, nothing else. */
static int parse_int(const docket_field *f, const char *s, size_t len,
		     docket_value *out, docket_err *err)
{
	char pv[PREVIEW_MAX + 4];
	size_t i = 0;
	bool neg = false;
	uint64_t mag = 0, lim;

	if (len && (s[0] == '-' || s[0] == '+'))
		neg = s[0] == '-', i = 1;
	if (i == len)
		goto bad;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			goto bad;
		unsigned d = (unsigned)(s[i] - '0');
		if (mag > (lim - d) / 10)
			return docket_err_set(err, DOCKET_EINVAL,
				"field '%s': '%s' is too large for an integer",
				f->name, preview(s, len, pv));
		mag = mag * 10 + d;
	}
	out->t = DOCKET_V_INT;
	out->i = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	return 0;
bad:
	return docket_err_set(err, DOCKET_EINVAL,
		"field '%s': '%s' is not an integer (write whole digits, as in 42 or -7)",
		f->name, preview(s, len, pv));
}

/* Decimal numbers only: [+-]digits[.digits][e[+-]digits].  strtod alone
 * would also take hex, inf, nan and leading blanks. */
static bool number_syntax(const char *s, size_t len)
{
	size_t i = 0, d = 0;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		d++;
	if (i < len && s[i] == '.')
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			d++;
	if (!d)
		return false;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			i++;
		if (i == len || s[i] < '0' || s[i] > '9')
			return false;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	return i == len;
}

static int parse_num(const docket_field *f, const char *s, size_t len,
		     docket_value *out, docket_err *err)
{
	char pv[PREVIEW_MAX + 4], buf[128];

	if (len >= sizeof buf || !number_syntax(s, len))
		return docket_err_set(err, DOCKET_EINVAL,
			"field '%s': '%s' is not a number (write digits with an optional '.', as in 12.5)",
			f->name, preview(s, len, pv));
	memcpy(buf, s, len);
	buf[len] = '\0';
	double x = strtod(buf, NULL);
	if (!isfinite(x))
		return docket_err_set(err, DOCKET_EINVAL, "field '%s': '%s' is out of range",
				      f->name, preview(s, len, pv));
	out->t = DOCKET_V_NUM;
	out->n = x;
	return 0;
}

static int parse_date(const docket_field *f, const char *s, size_t len,
		      docket_value *out, docket_err *err)
{
	char pv[PREVIEW_MAX + 4];
	int32_t days;

	if (docket_date_parse(s, len, &days) < 0) {
		bool shaped = len == 10 && s[4] == '-' && s[7] == '-' &&
			      digits(s, 4) >= 0 && digits(s + 5, 2) >= 0 && digits(s + 8, 2) >= 0;
		if (shaped)
			return docket_err_set(err, DOCKET_EINVAL,
				"field '%s': '%s' is not a real calendar date", f->name, preview(s, len, pv));
		return docket_err_set(err, DOCKET_EINVAL,
			"field '%s': '%s' is not a date (write YYYY-MM-DD, as in 2024-03-31)",
			f->name, preview(s, len, pv));
	}
	out->t = DOCKET_V_DATE;
	out->date = days;
	return 0;
}

int docket_field_parse(const docket_field *f, const char *text, size_t len,
		       docket_value *out, docket_err *err)
{
	char pv[PREVIEW_MAX + 4];
	docket_value v = {.t = DOCKET_V_NULL};
	int rc = 0;

	switch (f->type) {
	case DOCKET_FT_INTEGER:
		rc = parse_int(f, text, len, &v, err);
		break;
	case DOCKET_FT_NUMBER:
		rc = parse_num(f, text, len, &v, err);
		break;
	case DOCKET_FT_DATE:
		rc = parse_date(f, text, len, &v, err);
		break;
	case DOCKET_FT_BOOLEAN:
		if (len == 4 && memcmp(text, "true", 4) == 0)
			v.t = DOCKET_V_BOOL, v.b = true;
		else if (len == 5 && memcmp(text, "false", 5) == 0)
			v.t = DOCKET_V_BOOL, v.b = false;
		else
			rc = docket_err_set(err, DOCKET_EINVAL,
				"field '%s': '%s' is not a boolean (write true or false)",
				f->name, preview(text, len, pv));
		break;
	case DOCKET_FT_STRING:
	case DOCKET_FT_ENUM:
		v.t = DOCKET_V_STR;
		v.s.p = text;
		v.s.len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
		break;
	}
	if (rc < 0)
		return rc;
	rc = docket_field_check(f, &v, err);
	if (rc < 0)
		return rc;
	*out = v;
	return 0;
}
