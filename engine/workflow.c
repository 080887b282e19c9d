/*
 * workflow.c - a YAML node tree to a validated, immutable docket_workflow.
 *
 * This is what `docket validate` runs, so it reports every mistake it can
 * find in one pass, each at its line:col, instead of stopping at the first:
 * a bad key, stage or transition is reported and skipped, and the checks go
 * on with whatever was understood.  The model is built as the checks run;
 * when any error was found it is thrown away whole, so a docket_workflow
 * that reaches a caller has passed every check.
 *
 * Order matters because names refer to each other: roles first, then
 * fields (guards and `require` need them), then the names of all stages
 * (transitions may point forward), then each stage, then the checks over
 * the whole graph.  Stage and field names are looked up through a sorted
 * index, so a workflow of a thousand stages costs n log n, not n^2.
 *
 * Every diagnostic names one of the checks in CHECKS below; that table is
 * the list of what the validator knows, and its length is what
 * docket_workflow_check_count reports.
 */
#include "workflow.h"

#include <jansson.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "yamldoc.h"

#define CHECKS(X) \
	X(EMPTY_FILE,      "the file holds a document") \
	X(NOT_WORKFLOW,    "the document is a mapping with a 'workflow' key") \
	X(UNKNOWN_KEY,     "every key is one the format knows") \
	X(MISSING_KEY,     "required keys are present") \
	X(WRONG_KIND,      "each value has the kind its key needs") \
	X(TEXT,            "titles and descriptions are text of bounded length") \
	X(WORKFLOW_NAME,   "the workflow name is lowercase, digits and '-'") \
	X(VERSION,         "the version is an integer >= 1") \
	X(PREFIX,          "the case id prefix is [A-Z][A-Z0-9]{0,7}") \
	X(ROLE_NAME,       "role names are well formed") \
	X(ROLE_DUPLICATE,  "no role is declared twice") \
	X(ROLES_MAX,       "at most DOCKET_ROLES_MAX roles") \
	X(ROLE_UNDECLARED, "every role used is declared") \
	X(FIELD_NAME,      "field names are well formed") \
	X(FIELDS_MAX,      "at most DOCKET_FIELDS_MAX fields") \
	X(FIELD_TYPE,      "a field's type is one of the six") \
	X(FIELD_BOUNDS,    "min and max fit the type and min <= max") \
	X(ENUM_VALUES,     "enum values are given, non-empty, unique strings") \
	X(FIELD_DEFAULT,   "a default satisfies its field") \
	X(STAGE_NAME,      "stage names are well formed") \
	X(STAGES_MAX,      "at least one and at most DOCKET_STAGES_MAX stages") \
	X(DURATION,        "durations are well formed") \
	X(TERMINAL_EXTRA,  "a terminal stage has no on, action, timers or sla") \
	X(EVENT_NAME,      "event names are well formed") \
	X(NO_TRANSITIONS,  "an event has at least one transition") \
	X(SHADOWED,        "no transition follows one that always holds") \
	X(UNDECLARED_STAGE,"transitions go to declared stages") \
	X(GUARD,           "guards parse and type-check against the fields") \
	X(REQUIRE_FIELD,   "required fields are declared, each once") \
	X(TIMER_EVENT,     "a timer fires an event its stage declares") \
	X(PLUGIN_NAME,     "plugin names are well formed") \
	X(PLUGIN_MISSING,  "the plugin is installed") \
	X(ACTION_WITH,     "an action's configuration is representable in JSON") \
	X(RETRY,           "retry max is an integer in range") \
	X(START,           "start names a declared stage") \
	X(UNREACHABLE,     "every stage can be reached from start") \
	X(NO_WAY_OUT,      "a stage that is not terminal has a way out") \
	X(NO_TERMINAL,     "some terminal stage can be reached from start") \
	X(TRAPPED,         "from every stage some terminal stage can be reached") \
	X(NO_SLA,          "stages that are not terminal have an SLA")

#define AS_ENUM(id, what) CHECK_##id,
#define AS_TEXT(id, what) what,
enum check { CHECKS(AS_ENUM) NCHECKS };
static const char *const check_text[] = { CHECKS(AS_TEXT) };

/* Values in one enum: a choice people pick from, not a table. */
#define ENUM_MAX 1000
/* Longest title or description accepted. */
#define TEXT_MAX 4096
/* "Did you mean" hints in one file.  Each costs an edit distance to every
 * candidate (up to 4096 stages), so a file of thousands of bad names must
 * not cost millions of them; past a hundred hints nobody reads more. */
#define SUGGEST_MAX 100
/* Text a person wrote, quoted in a message, is cut here. */
#define CLIP 64
/* Retries double the back-off each time; past this the delay is years. */
#define RETRY_MAX 20

#define DEFAULT_TIMEOUT_S 30
#define DEFAULT_RETRY_MAX 3
#define DEFAULT_BACKOFF_S 5

/* A name sorted for lookup: index into the workflow's own array. */
struct nameref {
	const char *name;
	int idx;
};

struct loader {
	docket_diags *d;
	const docket_load_opts *opts;
	docket_workflow *wf;
	bool nomem;
	int nsuggest;
	/* source line starts, for guard columns; built on first use */
	const char *src;
	size_t srclen;
	size_t *lines;
	size_t nlines;
	int at_line, at_col;    /* the last position looked up, and its offset */
	size_t at_off;
	/* sorted indexes, and plain name lists for "did you mean" */
	struct nameref *stage_ix, *field_ix;
	const char **stage_names, **field_names;
	/* a broken section is reported once, not again at every use */
	bool roles_broken, fields_broken;
	bool fields_untyped;    /* a field's type is unusable: guards would echo it */
	/* some stage or transition was not understood: the graph-wide checks
	 * would only report echoes of that mistake, so they are skipped */
	bool graph_incomplete;
	/* per stage: its key and body nodes, and whether its body was
	 * understood well enough to judge it on its own (not terminal) */
	const docket_ynode **stage_body;
	const docket_ynode **stage_key;
	bool *stage_ok;
};

/* ---- reporting ---- */

/* Every report names its check: the table above is the validator's own
 * list of what it knows, kept next to the code that uses it. */
static void vreport(struct loader *ld, enum check c, docket_severity sev, int line, int col,
		    const char *suggest, const char *fmt, va_list ap)
{
	char msg[768], hint[DOCKET_NAME_MAX + 32];

	(void)check_text[c];
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (suggest)
		snprintf(hint, sizeof hint, "did you mean '%s'?", suggest);
	docket_diags_add(ld->d, sev, line, col, suggest ? hint : NULL, "%s", msg);
}

__attribute__((format(printf, 5, 6)))
static void error_at(struct loader *ld, enum check c, int line, int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(ld, c, DOCKET_DIAG_ERROR, line, col, NULL, fmt, ap);
	va_end(ap);
}

/* An error at node `at` (NULL: 1:1); suggest is a name for the hint. */
__attribute__((format(printf, 5, 6)))
static void error(struct loader *ld, enum check c, const docket_ynode *at,
		  const char *suggest, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(ld, c, DOCKET_DIAG_ERROR, at ? at->line : 1, at ? at->col : 1, suggest, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 5, 6)))
static void warning(struct loader *ld, enum check c, const docket_ynode *at,
		    const char *suggest, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(ld, c, DOCKET_DIAG_WARNING, at ? at->line : 1, at ? at->col : 1, suggest, fmt, ap);
	va_end(ap);
}

static void *xcalloc(struct loader *ld, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		ld->nomem = true;
	return p;
}

static char *xstrdup(struct loader *ld, const char *s)
{
	char *p = strdup(s);
	if (!p)
		ld->nomem = true;
	return p;
}

static const char *suggest(struct loader *ld, const char *word, const char *const *cands,
			   size_t n)
{
	if (ld->nsuggest >= SUGGEST_MAX)
		return NULL;
	ld->nsuggest++;
	return docket_suggest(word, cands, n);
}

/* ---- reading nodes ---- */

/* "an integer", "a list", "empty": what a node is, for messages. */
static const char *a_kind(const docket_ynode *n)
{
	const char *k = docket_ynode_describe(n);

	if (!n || !strcmp(k, "null"))
		return "empty";
	if (!strcmp(k, "sequence"))
		return "a list";
	if (!strcmp(k, "integer"))
		return "an integer";
	if (!strcmp(k, "mapping"))
		return "a mapping";
	if (!strcmp(k, "number"))
		return "a number";
	if (!strcmp(k, "boolean"))
		return "a boolean";
	return "a string";
}

/* A scalar as written ('-1'), anything else by its kind. */
static const char *shown(const docket_ynode *n, char buf[48])
{
	if (!n || n->kind != DOCKET_Y_SCALAR || docket_ynode_is_null(n))
		return a_kind(n);
	snprintf(buf, 48, "'%.40s%s'", n->str, n->len > 40 ? "..." : "");
	return buf;
}

/* Check that n is of `kind` (a scalar must not be null); otherwise say
 * what `subject` ("'stages'", "stage 'new'") must be. */
static bool expect_as(struct loader *ld, const docket_ynode *n, docket_ykind kind,
		      const char *subject)
{
	static const char *const kinds[] = {"a value", "a list", "a mapping"};

	if (n && n->kind == kind && !(kind == DOCKET_Y_SCALAR && docket_ynode_is_null(n)))
		return true;
	error(ld, CHECK_WRONG_KIND, n, NULL, "%s must be %s, not %s", subject, kinds[kind],
	      a_kind(n));
	return false;
}

static bool expect(struct loader *ld, const docket_ynode *n, docket_ykind kind, const char *key)
{
	char subject[DOCKET_NAME_MAX + 16];

	snprintf(subject, sizeof subject, "'%s'", key);
	return expect_as(ld, n, kind, subject);
}

static bool expect_named(struct loader *ld, const docket_ynode *n, docket_ykind kind,
			 const char *noun, const char *name)
{
	char subject[2 * DOCKET_NAME_MAX + 16];

	snprintf(subject, sizeof subject, "%s '%s'", noun, name);
	return expect_as(ld, n, kind, subject);
}

/* Map keys against the known ones: vals[i] gets the value of known[i] (or
 * NULL), keys[i] its key; every other key is reported with a hint. */
static void take_keys(struct loader *ld, const docket_ynode *map, const char *const *known,
		      size_t nknown, const docket_ynode **vals, const docket_ynode **keys)
{
	for (size_t k = 0; k < nknown; k++)
		vals[k] = keys[k] = NULL;
	for (size_t i = 0; i < map->n; i++) {
		const docket_ynode *key = map->keys[i];
		size_t k;
		for (k = 0; k < nknown; k++)
			if (!strcmp(key->str, known[k]))
				break;
		if (k < nknown) {
			vals[k] = map->items[i];
			keys[k] = key;
		} else {
			char cut[CLIP + 4];
			error(ld, CHECK_UNKNOWN_KEY, key, suggest(ld, key->str, known, nknown),
			      "unknown key '%s'", docket_clip(key->str, CLIP, cut));
		}
	}
}

static bool text(struct loader *ld, const docket_ynode *n, const char *what, const char **out)
{
	if (!expect(ld, n, DOCKET_Y_SCALAR, what))
		return false;
	if (n->len > TEXT_MAX) {
		error(ld, CHECK_TEXT, n, NULL, "'%s' is %zu bytes, longer than %d", what, n->len,
		      TEXT_MAX);
		return false;
	}
	*out = n->str;
	return true;
}

static bool boolean(struct loader *ld, const docket_ynode *n, const char *what, bool *out)
{
	if (n->kind == DOCKET_Y_SCALAR && docket_ynode_bool(n, out))
		return true;
	error(ld, CHECK_WRONG_KIND, n, NULL, "'%s' must be true or false, not %s", what,
	      a_kind(n));
	return false;
}

static bool duration(struct loader *ld, const docket_ynode *n, const char *what, int64_t *out)
{
	docket_err err;

	if (!expect(ld, n, DOCKET_Y_SCALAR, what))
		return false;
	if (docket_duration_parse(n->str, n->len, out, &err)) {
		error(ld, CHECK_DURATION, n, NULL, "%s: %s", what, err.msg);
		return false;
	}
	return true;
}

enum namekind { N_WORKFLOW, N_ROLE, N_SNAKE };

/* [a-z][a-z0-9-]*, [a-z][a-z0-9_-]* or [a-z][a-z0-9_]*, at most NAME_MAX. */
static bool name_ok(const char *s, enum namekind k)
{
	const char *more = k == N_WORKFLOW ? "abcdefghijklmnopqrstuvwxyz0123456789-"
		: k == N_ROLE ? "abcdefghijklmnopqrstuvwxyz0123456789_-"
			      : "abcdefghijklmnopqrstuvwxyz0123456789_";
	size_t len = strlen(s);

	return len >= 1 && len <= DOCKET_NAME_MAX && s[0] >= 'a' && s[0] <= 'z' &&
	       strspn(s, more) == len;
}

static bool check_name(struct loader *ld, enum check c, const docket_ynode *n,
		       const char *what, enum namekind k)
{
	static const char *const rule[] = {
		"lowercase letters, digits and '-'",
		"lowercase letters, digits, '_' and '-'",
		"lowercase letters, digits and '_'",
	};
	char cut[CLIP + 4];

	if (n->kind != DOCKET_Y_SCALAR) {
		error(ld, CHECK_WRONG_KIND, n, NULL, "%s must be a name, not %s", what, a_kind(n));
		return false;
	}
	if (name_ok(n->str, k))
		return true;
	if (n->len > DOCKET_NAME_MAX)
		error(ld, c, n, NULL, "%s '%s' is longer than %d bytes", what, docket_clip(n->str, 20, cut),
		      DOCKET_NAME_MAX);
	else
		error(ld, c, n, NULL, "%s '%s' must be %s, starting with a letter", what, n->str,
		      rule[k]);
	return false;
}

/* ---- name indexes ---- */

static int byname(const void *a, const void *b)
{
	return strcmp(((const struct nameref *)a)->name, ((const struct nameref *)b)->name);
}

static int ix_find(const struct nameref *ix, size_t n, const char *name)
{
	struct nameref key = {name, -1};
	const struct nameref *r;

	if (!ix)
		return -1;
	r = bsearch(&key, ix, n, sizeof *ix, byname);
	return r ? r->idx : -1;
}

/* Sorted index and plain list of n names, taken `stride` bytes apart. */
static void ix_build(struct loader *ld, const void *base, size_t stride, size_t n,
		     struct nameref **ix, const char ***names)
{
	*ix = xcalloc(ld, n, sizeof **ix);
	*names = xcalloc(ld, n, sizeof **names);
	if (!*ix || !*names)
		return;
	for (size_t i = 0; i < n; i++) {
		const char *name = *(char *const *)((const char *)base + i * stride);
		(*ix)[i].name = (*names)[i] = name ? name : "";
		(*ix)[i].idx = (int)i;
	}
	qsort(*ix, n, sizeof **ix, byname);
}

static int role_index(const docket_workflow *wf, const char *name)
{
	for (size_t i = 0; i < wf->nroles; i++)
		if (!strcmp(wf->roles[i], name))
			return (int)i;
	return -1;
}

/* A role name used somewhere: its index, or -1 after saying why. */
static int use_role(struct loader *ld, const docket_ynode *n, const char *what)
{
	int r;

	if (!check_name(ld, CHECK_ROLE_NAME, n, what, N_ROLE))
		return -1;
	r = role_index(ld->wf, n->str);
	if (r >= 0 || ld->roles_broken)
		return r;
	if (!ld->wf->nroles) {
		/* No roles at all: one line says so, not one per use. */
		error(ld, CHECK_ROLE_UNDECLARED, n, "list them at the top: roles: [...]",
		      "role '%s' is used but the workflow declares no roles", n->str);
		ld->roles_broken = true;
		return r;
	}
	error(ld, CHECK_ROLE_UNDECLARED, n,
	      suggest(ld, n->str, (const char *const *)ld->wf->roles, ld->wf->nroles),
	      "role '%s' is not declared in 'roles'", n->str);
	return r;
}

/* A list of declared roles as a bitmask. */
static uint64_t role_mask(struct loader *ld, const docket_ynode *n, const char *what)
{
	uint64_t mask = 0;

	if (!expect(ld, n, DOCKET_Y_SEQ, what))
		return 0;
	for (size_t i = 0; i < n->n; i++) {
		int r = use_role(ld, n->items[i], "role");
		if (r < 0)
			continue;
		if (mask & (UINT64_C(1) << r))
			error(ld, CHECK_ROLE_DUPLICATE, n->items[i], NULL,
			      "role '%s' is listed twice", n->items[i]->str);
		mask |= UINT64_C(1) << r;
	}
	return mask;
}

/* ---- top level: roles ---- */

static void load_roles(struct loader *ld, const docket_ynode *n)
{
	docket_workflow *wf = ld->wf;

	if (!n)
		return;
	if (!expect(ld, n, DOCKET_Y_SEQ, "roles")) {
		ld->roles_broken = true;
		return;
	}
	if (n->n > DOCKET_ROLES_MAX) {
		error(ld, CHECK_ROLES_MAX, n, NULL, "%zu roles; at most %d are allowed", n->n,
		      DOCKET_ROLES_MAX);
		ld->roles_broken = true;
		return;
	}
	wf->roles = xcalloc(ld, n->n, sizeof *wf->roles);
	if (!wf->roles)
		return;
	for (size_t i = 0; i < n->n; i++) {
		const docket_ynode *it = n->items[i];
		if (!check_name(ld, CHECK_ROLE_NAME, it, "role", N_ROLE)) {
			/* Its uses would all read as undeclared: report the
			 * declaration only. */
			ld->roles_broken = true;
			continue;
		}
		int prev = role_index(wf, it->str);
		if (prev >= 0) {
			error(ld, CHECK_ROLE_DUPLICATE, it, NULL, "role '%s' is declared twice",
			      it->str);
			continue;
		}
		if ((wf->roles[wf->nroles] = xstrdup(ld, it->str)))
			wf->nroles++;
	}
}

/* ---- top level: fields ---- */

static const char *const field_keys[] = {
	"type", "required", "min", "max", "values", "default", "visible_to", "title",
	"description",
};
enum { FK_TYPE, FK_REQUIRED, FK_MIN, FK_MAX, FK_VALUES, FK_DEFAULT, FK_VISIBLE, FK_TITLE,
       FK_DESCRIPTION, FK_N };

static bool field_type(struct loader *ld, const docket_ynode *n, docket_ftype *t)
{
	static const char *const names[] = {"string", "integer", "number", "boolean", "enum",
					    "date"};
	char cut[CLIP + 4];

	if (!expect(ld, n, DOCKET_Y_SCALAR, "type"))
		return false;
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		if (!strcmp(n->str, names[i])) {
			*t = (docket_ftype)i;
			return true;
		}
	}
	error(ld, CHECK_FIELD_TYPE, n, suggest(ld, n->str, names, 6),
	      "unknown field type '%s' (string, integer, number, boolean, enum or date)",
	      docket_clip(n->str, CLIP, cut));
	return false;
}

/* min / max: a number fitting the type; a string's are lengths in bytes. */
static bool field_bound(struct loader *ld, docket_field *f, const docket_ynode *n,
			const char *what, double *out)
{
	int64_t i;

	if (f->type != DOCKET_FT_INTEGER && f->type != DOCKET_FT_NUMBER &&
	    f->type != DOCKET_FT_STRING) {
		error(ld, CHECK_FIELD_BOUNDS, n, NULL,
		      "'%s' applies to integer, number and string fields, not %s", what,
		      docket_ftype_name(f->type));
		return false;
	}
	if (f->type != DOCKET_FT_NUMBER) {
		if (n->kind != DOCKET_Y_SCALAR || !docket_ynode_int(n, &i) ||
		    (f->type == DOCKET_FT_STRING && (i < 0 || i > DOCKET_STRING_MAX))) {
			error(ld, CHECK_FIELD_BOUNDS, n, NULL, "'%s' of %s field must be %s, not %s",
			      what, f->type == DOCKET_FT_STRING ? "a string" : "an integer",
			      f->type == DOCKET_FT_STRING ? "a length in bytes from 0 to 65536"
							  : "an integer",
			      a_kind(n));
			return false;
		}
		*out = (double)i;
		return true;
	}
	if (n->kind != DOCKET_Y_SCALAR || !docket_ynode_number(n, out) || !isfinite(*out)) {
		error(ld, CHECK_FIELD_BOUNDS, n, NULL, "'%s' must be a finite number, not %s", what,
		      a_kind(n));
		return false;
	}
	return true;
}

static void field_values(struct loader *ld, docket_field *f, const docket_ynode *n)
{
	if (f->type != DOCKET_FT_ENUM) {
		error(ld, CHECK_ENUM_VALUES, n, NULL, "'values' applies to enum fields only, not %s",
		      docket_ftype_name(f->type));
		return;
	}
	if (!expect(ld, n, DOCKET_Y_SEQ, "values"))
		return;
	if (n->n == 0 || n->n > ENUM_MAX) {
		error(ld, CHECK_ENUM_VALUES, n, NULL, "an enum has 1 to %d values, not %zu",
		      ENUM_MAX, n->n);
		return;
	}
	f->values = xcalloc(ld, n->n, sizeof *f->values);
	if (!f->values)
		return;
	for (size_t i = 0; i < n->n; i++) {
		const docket_ynode *v = n->items[i];
		if (!docket_ynode_is_string(v)) {
			error(ld, CHECK_ENUM_VALUES, v, NULL,
			      "enum value must be a string, not %s%s%s", a_kind(v),
			      v->kind == DOCKET_Y_SCALAR && v->len ? " (quote it to mean the text)" : "",
			      "");
			continue;
		}
		if (v->len == 0 || v->len > DOCKET_NAME_MAX) {
			error(ld, CHECK_ENUM_VALUES, v, NULL,
			      "enum value must be 1 to %d bytes long", DOCKET_NAME_MAX);
			continue;
		}
		bool dup = false;
		for (size_t k = 0; k < f->nvalues && !dup; k++)
			dup = !strcmp(f->values[k], v->str);
		if (dup) {
			error(ld, CHECK_ENUM_VALUES, v, NULL, "enum value '%s' is listed twice", v->str);
			continue;
		}
		if ((f->values[f->nvalues] = xstrdup(ld, v->str)))
			f->nvalues++;
	}
}

/* The YAML value as a docket_value of f's type; strings are copied so the
 * workflow owns them (freed with the field). */
static void field_default(struct loader *ld, docket_field *f, const docket_ynode *n)
{
	docket_value v = {.t = DOCKET_V_NULL};
	docket_err err;
	bool ok = false;
	char b[48];

	if (n->kind == DOCKET_Y_SCALAR) {
		switch (f->type) {
		case DOCKET_FT_STRING:
		case DOCKET_FT_ENUM:
			ok = docket_ynode_is_string(n);
			v.t = DOCKET_V_STR;
			v.s.p = n->str;
			v.s.len = (uint32_t)n->len;
			break;
		case DOCKET_FT_INTEGER:
			ok = docket_ynode_int(n, &v.i);
			v.t = DOCKET_V_INT;
			break;
		case DOCKET_FT_NUMBER:
			ok = docket_ynode_number(n, &v.n);
			v.t = DOCKET_V_NUM;
			break;
		case DOCKET_FT_BOOLEAN:
			ok = docket_ynode_bool(n, &v.b);
			v.t = DOCKET_V_BOOL;
			break;
		case DOCKET_FT_DATE:
			ok = docket_ynode_is_string(n) && !docket_date_parse(n->str, n->len, &v.date);
			v.t = DOCKET_V_DATE;
			break;
		}
	}
	if (!ok) {
		static const char *const want[] = {
			"a string", "an integer", "a number", "true or false",
			"one of its values", "a date (YYYY-MM-DD)",
		};
		error(ld, CHECK_FIELD_DEFAULT, n, NULL, "default of %s field '%s' must be %s, not %s",
		      docket_ftype_name(f->type), f->name, want[f->type],
		      f->type == DOCKET_FT_DATE ? shown(n, b) : a_kind(n));
		return;
	}
	if (docket_field_check(f, &v, &err)) {
		error(ld, CHECK_FIELD_DEFAULT, n, NULL, "default: %s", err.msg);
		return;
	}
	if (v.t == DOCKET_V_STR) {
		char *s = xstrdup(ld, n->str);
		if (!s)
			return;
		v.s.p = s;
	}
	f->def = v;
	f->has_default = true;
}

static void load_field(struct loader *ld, docket_field *f, const docket_ynode *key,
		       const docket_ynode *body)
{
	const docket_ynode *v[FK_N], *k[FK_N];
	const char *s;
	bool typed;

	f->line = key->line;
	f->col = key->col;
	if (!expect_named(ld, body, DOCKET_Y_MAP, "field", key->str))
		return;
	take_keys(ld, body, field_keys, FK_N, v, k);
	if (!v[FK_TYPE])
		error(ld, CHECK_MISSING_KEY, key, NULL, "field '%s' has no 'type'", key->str);
	typed = v[FK_TYPE] && field_type(ld, v[FK_TYPE], &f->type);
	/* A field without a usable type would make every guard that reads it
	 * fail too; say the one real mistake, not its echoes. */
	if (!typed)
		ld->fields_untyped = true;
	if (v[FK_REQUIRED])
		boolean(ld, v[FK_REQUIRED], "required", &f->required);
	if (v[FK_TITLE] && text(ld, v[FK_TITLE], "title", &s))
		f->title = xstrdup(ld, s);
	if (v[FK_DESCRIPTION])
		text(ld, v[FK_DESCRIPTION], "description", &s);
	if (v[FK_VISIBLE])
		f->visible_to = role_mask(ld, v[FK_VISIBLE], "visible_to");
	if (!typed)
		return;         /* the rest depends on the type */
	if (v[FK_MIN])
		f->has_min = field_bound(ld, f, v[FK_MIN], "min", &f->min);
	if (v[FK_MAX])
		f->has_max = field_bound(ld, f, v[FK_MAX], "max", &f->max);
	if (f->has_min && f->has_max && f->min > f->max)
		error(ld, CHECK_FIELD_BOUNDS, v[FK_MAX], NULL, "max %g is below min %g", f->max,
		      f->min);
	if (v[FK_VALUES])
		field_values(ld, f, v[FK_VALUES]);
	else if (f->type == DOCKET_FT_ENUM)
		error(ld, CHECK_ENUM_VALUES, k[FK_TYPE], NULL,
		      "enum field '%s' needs 'values', the list of what it may hold", key->str);
	if (f->type == DOCKET_FT_ENUM && !f->nvalues)
		ld->fields_untyped = true;
	if (v[FK_DEFAULT] && !docket_ynode_is_null(v[FK_DEFAULT]) &&
	    (f->type != DOCKET_FT_ENUM || f->nvalues))
		field_default(ld, f, v[FK_DEFAULT]);
}

static void load_fields(struct loader *ld, const docket_ynode *n)
{
	docket_workflow *wf = ld->wf;

	if (!n)
		return;
	if (!expect(ld, n, DOCKET_Y_MAP, "fields")) {
		ld->fields_broken = true;
		return;
	}
	if (n->n > DOCKET_FIELDS_MAX) {
		error(ld, CHECK_FIELDS_MAX, n, NULL, "%zu fields; at most %d are allowed", n->n,
		      DOCKET_FIELDS_MAX);
		ld->fields_broken = true;
		return;
	}
	wf->fields = xcalloc(ld, n->n, sizeof *wf->fields);
	if (!wf->fields)
		return;
	for (size_t i = 0; i < n->n; i++) {
		docket_field *f = &wf->fields[wf->nfields];
		if (!check_name(ld, CHECK_FIELD_NAME, n->keys[i], "field name", N_SNAKE))
			continue;
		if (!(f->name = xstrdup(ld, n->keys[i]->str)))
			return;
		wf->nfields++;
		load_field(ld, f, n->keys[i], n->items[i]);
	}
	ix_build(ld, wf->fields, sizeof *wf->fields, wf->nfields, &ld->field_ix, &ld->field_names);
}

/* ---- stages: transitions ---- */

static int stage_lookup(struct loader *ld, const char *name)
{
	return ix_find(ld->stage_ix, ld->wf->nstages, name);
}

/* Byte offset of 1-based (line, col) in the source, or SIZE_MAX.  Guards
 * are met in file order, so the walk resumes from the last position when
 * it is on the same line: a whole file on one line stays linear. */
static size_t source_offset(struct loader *ld, int line, int col)
{
	size_t off;
	int c = 1;

	if (!ld->lines) {
		size_t n = 1;
		for (size_t i = 0; i < ld->srclen; i++)
			n += ld->src[i] == '\n';
		ld->lines = xcalloc(ld, n, sizeof *ld->lines);
		if (!ld->lines)
			return SIZE_MAX;
		ld->nlines = 1;
		for (size_t i = 0; i < ld->srclen; i++)
			if (ld->src[i] == '\n')
				ld->lines[ld->nlines++] = i + 1;
	}
	if (line < 1 || (size_t)line > ld->nlines)
		return SIZE_MAX;
	off = ld->lines[line - 1];
	if (line == ld->at_line && col >= ld->at_col) {
		off = ld->at_off;
		c = ld->at_col;
	}
	for (; c < col && off < ld->srclen; c++) {
		off++;
		while (off < ld->srclen && ((unsigned char)ld->src[off] & 0xC0) == 0x80)
			off++;
	}
	ld->at_line = line;
	ld->at_col = c;
	ld->at_off = off;
	return off;
}

/* Where a guard's column `gcol` (in characters) is in the file.  Exact
 * when the scalar is written on one line as it reads (plain, or quoted
 * without escapes); for a folded or escaped one, the scalar's start, and
 * *exact is false. */
static void guard_position(struct loader *ld, const docket_ynode *n, int gcol, int *line,
			   int *col, bool *exact)
{
	size_t off = source_offset(ld, n->line, n->col);
	int q = 0;

	*line = n->line;
	*col = n->col;
	*exact = false;
	if (off == SIZE_MAX)
		return;
	if (n->quoted && off < ld->srclen && (ld->src[off] == '"' || ld->src[off] == '\''))
		q = 1;
	if (off + q + n->len > ld->srclen || memcmp(ld->src + off + q, n->str, n->len) ||
	    memchr(n->str, '\n', n->len) || (n->quoted && !q))
		return;
	/* Both count characters, as libyaml's marks do. */
	*col = n->col + q + (gcol > 0 ? gcol - 1 : 0);
	*exact = true;
}

static void load_guard(struct loader *ld, docket_transition *t, const docket_ynode *n)
{
	docket_guard_error gerr = {0, ""};
	int rc, line, col;
	bool exact;

	if (!expect(ld, n, DOCKET_Y_SCALAR, "when"))
		return;
	rc = docket_guard_compile(n->str, n->len, ld->wf->fields, ld->wf->nfields, &t->when,
				  &gerr);
	if (rc == DOCKET_ENOMEM) {
		ld->nomem = true;
		return;
	}
	if (rc == 0)
		return;
	t->when = NULL;
	if (ld->fields_broken || ld->fields_untyped)
		return;
	guard_position(ld, n, gerr.col, &line, &col, &exact);
	if (exact)
		error_at(ld, CHECK_GUARD, line, col, "guard: %s", gerr.msg);
	else
		error_at(ld, CHECK_GUARD, line, col, "guard, at its column %d: %s", gerr.col,
			 gerr.msg);
}

static void load_require(struct loader *ld, docket_transition *t, const docket_ynode *n)
{
	if (!expect(ld, n, DOCKET_Y_SEQ, "require"))
		return;
	t->require = xcalloc(ld, n->n, sizeof *t->require);
	if (!t->require)
		return;
	for (size_t i = 0; i < n->n; i++) {
		const docket_ynode *it = n->items[i];
		if (!check_name(ld, CHECK_FIELD_NAME, it, "field name", N_SNAKE))
			continue;
		int fi = ix_find(ld->field_ix, ld->wf->nfields, it->str);
		if (fi < 0) {
			if (!ld->fields_broken)
				error(ld, CHECK_REQUIRE_FIELD, it,
				      suggest(ld, it->str, ld->field_names, ld->wf->nfields),
				      "'require' names undeclared field '%s'", it->str);
			continue;
		}
		bool dup = false;
		for (size_t k = 0; k < t->nrequire && !dup; k++)
			dup = t->require[k] == fi;
		if (dup) {
			error(ld, CHECK_REQUIRE_FIELD, it, NULL, "field '%s' is required twice",
			      it->str);
			continue;
		}
		t->require[t->nrequire++] = fi;
	}
}

static const char *const transition_keys[] = {"to", "when", "roles", "require"};
enum { TK_TO, TK_WHEN, TK_ROLES, TK_REQUIRE, TK_N };

static void load_transition(struct loader *ld, docket_transition *t, const docket_ynode *n)
{
	const docket_ynode *v[TK_N], *k[TK_N];

	t->to = -1;
	t->line = n->line;
	t->col = n->col;
	if (!expect(ld, n, DOCKET_Y_MAP, "transition")) {
		ld->graph_incomplete = true;
		return;
	}
	take_keys(ld, n, transition_keys, TK_N, v, k);
	if (!v[TK_TO]) {
		error(ld, CHECK_MISSING_KEY, n, NULL, "transition has no 'to'");
	} else if (check_name(ld, CHECK_STAGE_NAME, v[TK_TO], "stage", N_SNAKE)) {
		t->to = stage_lookup(ld, v[TK_TO]->str);
		if (t->to < 0)
			error(ld, CHECK_UNDECLARED_STAGE, v[TK_TO],
			      suggest(ld, v[TK_TO]->str, ld->stage_names, ld->wf->nstages),
			      "transition to undeclared stage '%s'", v[TK_TO]->str);
	}
	if (t->to < 0)
		ld->graph_incomplete = true;
	if (v[TK_WHEN])
		load_guard(ld, t, v[TK_WHEN]);
	if (v[TK_ROLES])
		t->roles = role_mask(ld, v[TK_ROLES], "roles");
	if (v[TK_REQUIRE])
		load_require(ld, t, v[TK_REQUIRE]);
}

static void load_event(struct loader *ld, docket_event *ev, const docket_ynode *key,
		       const docket_ynode *body)
{
	const docket_ynode *const *items = &body;
	size_t n = 1;

	ev->line = key->line;
	ev->col = key->col;
	if (body->kind == DOCKET_Y_SEQ) {
		items = (const docket_ynode *const *)body->items;
		n = body->n;
		if (n == 0) {
			error(ld, CHECK_NO_TRANSITIONS, body, NULL, "event '%s' has no transitions",
			      key->str);
			ld->graph_incomplete = true;
			return;
		}
	} else if (body->kind != DOCKET_Y_MAP) {
		ld->graph_incomplete = true;
		error(ld, CHECK_WRONG_KIND, body, NULL,
		      "event '%s' must map to a transition or a list of them, not %s", key->str,
		      a_kind(body));
		return;
	}
	ev->tr = xcalloc(ld, n, sizeof *ev->tr);
	if (!ev->tr)
		return;
	const docket_ynode *always = NULL;
	for (size_t i = 0; i < n; i++) {
		load_transition(ld, &ev->tr[i], items[i]);
		ev->ntr++;
		/* Once, at the first transition that can never be taken. */
		if (always && always != items[i - 1])
			continue;
		if (always)
			warning(ld, CHECK_SHADOWED, items[i], NULL,
				"this transition can never be taken: the one before it (at %d:%d) "
				"has no 'when' and always holds", always->line, always->col);
		else if (items[i]->kind == DOCKET_Y_MAP && !docket_ynode_get(items[i], "when"))
			always = items[i];
	}
}

static bool load_on(struct loader *ld, docket_stage *st, const docket_ynode *on)
{
	if (!expect(ld, on, DOCKET_Y_MAP, "on"))
		return false;
	st->events = xcalloc(ld, on->n, sizeof *st->events);
	if (!st->events)
		return false;
	for (size_t i = 0; i < on->n; i++) {
		docket_event *ev = &st->events[st->nevents];
		if (!check_name(ld, CHECK_EVENT_NAME, on->keys[i], "event name", N_SNAKE)) {
			ld->graph_incomplete = true;
			continue;
		}
		if (!(ev->name = xstrdup(ld, on->keys[i]->str)))
			return false;
		st->nevents++;
		load_event(ld, ev, on->keys[i], on->items[i]);
	}
	return true;
}

/* ---- stages: timers and actions ---- */

static const char *const timer_keys[] = {"after", "event"};

static void load_timer(struct loader *ld, docket_stage *st, const docket_ynode *t,
		       const struct nameref *events, const char **names)
{
	const docket_ynode *v[2], *k[2];
	docket_timer *tm = &st->timers[st->ntimers];
	bool ok = true;

	if (!expect(ld, t, DOCKET_Y_MAP, "timer"))
		return;
	take_keys(ld, t, timer_keys, 2, v, k);
	tm->line = t->line;
	tm->col = t->col;
	if (!v[0] || !v[1]) {
		error(ld, CHECK_MISSING_KEY, t, NULL, "timer has no '%s'", v[0] ? "event" : "after");
		ok = false;
	}
	if (v[0] && !duration(ld, v[0], "after", &tm->after_s))
		ok = false;
	if (v[1] && check_name(ld, CHECK_EVENT_NAME, v[1], "event", N_SNAKE)) {
		tm->event = ix_find(events, st->nevents, v[1]->str);
		if (tm->event < 0) {
			error(ld, CHECK_TIMER_EVENT, v[1], suggest(ld, v[1]->str, names, st->nevents),
			      "timer fires event '%s', which this stage does not declare in 'on'",
			      v[1]->str);
			ok = false;
		}
	} else if (v[1]) {
		ok = false;
	}
	if (ok)
		st->ntimers++;
}

static void load_timers(struct loader *ld, docket_stage *st, const docket_ynode *n)
{
	struct nameref *events;
	const char **names;

	if (!expect(ld, n, DOCKET_Y_SEQ, "timers"))
		return;
	st->timers = xcalloc(ld, n->n, sizeof *st->timers);
	ix_build(ld, st->events, sizeof *st->events, st->nevents, &events, &names);
	if (st->timers && events && names)
		for (size_t i = 0; i < n->n; i++)
			load_timer(ld, st, n->items[i], events, names);
	free(events);
	free(names);
}

/* A YAML value as JSON with core-schema scalars; NULL after an error. */
static json_t *to_json(struct loader *ld, const docket_ynode *n)
{
	json_t *j;
	int64_t i;
	double x;
	bool b;
	char cut[CLIP + 4];

	if (n->kind == DOCKET_Y_MAP || n->kind == DOCKET_Y_SEQ) {
		bool bad = false;
		j = n->kind == DOCKET_Y_MAP ? json_object() : json_array();
		/* Go on past a bad item, so every one is reported. */
		for (size_t k = 0; j && k < n->n; k++) {
			json_t *item = to_json(ld, n->items[k]);
			if (!item)
				bad = true;
			else if (n->kind == DOCKET_Y_MAP ? json_object_set_new(j, n->keys[k]->str, item)
							 : json_array_append_new(j, item))
				ld->nomem = bad = true;
		}
		if (bad) {
			json_decref(j);
			return NULL;
		}
	} else if (docket_ynode_is_null(n)) {
		j = json_null();
	} else if (docket_ynode_bool(n, &b)) {
		j = json_boolean(b);
	} else if (docket_ynode_int(n, &i)) {
		j = json_integer(i);
	} else if (docket_ynode_is_string(n)) {
		j = json_stringn(n->str, n->len);
	} else if (strcmp(docket_ynode_describe(n), "integer") &&
		   docket_ynode_number(n, &x) && isfinite(x)) {
		j = json_real(x);
	} else {
		/* An integer past int64 would silently turn into a rounded
		 * real; refuse it like infinity. */
		error(ld, CHECK_ACTION_WITH, n, NULL,
		      "'%s' cannot be passed to a plugin (JSON has no %s); quote it to pass text",
		      docket_clip(n->str, CLIP, cut), !strcmp(docket_ynode_describe(n), "integer")
				      ? "integer that large" : "infinity or NaN");
		return NULL;
	}
	if (!j)
		ld->nomem = true;
	return j;
}

static const char *const action_keys[] = {"plugin", "with", "timeout", "retry"};
enum { AK_PLUGIN, AK_WITH, AK_TIMEOUT, AK_RETRY, AK_N };
static const char *const retry_keys[] = {"max", "backoff"};

static void load_retry(struct loader *ld, docket_action *a, const docket_ynode *n)
{
	const docket_ynode *v[2], *k[2];
	int64_t max;
	char b[48];

	if (!expect(ld, n, DOCKET_Y_MAP, "retry"))
		return;
	take_keys(ld, n, retry_keys, 2, v, k);
	if (v[0]) {
		if (v[0]->kind == DOCKET_Y_SCALAR && docket_ynode_int(v[0], &max) && max >= 0 &&
		    max <= RETRY_MAX)
			a->retry_max = (int)max;
		else
			error(ld, CHECK_RETRY, v[0], NULL,
			      "retry 'max' must be an integer from 0 to %d, not %s", RETRY_MAX,
			      shown(v[0], b));
	}
	if (v[1])
		duration(ld, v[1], "backoff", &a->backoff_s);
}

static void load_action(struct loader *ld, docket_stage *st, const docket_ynode *n)
{
	const docket_ynode *v[AK_N], *k[AK_N];
	docket_action *a;

	if (!expect(ld, n, DOCKET_Y_MAP, "action"))
		return;
	if (!(a = st->action = xcalloc(ld, 1, sizeof *a)))
		return;
	a->line = n->line;
	a->col = n->col;
	a->timeout_s = DEFAULT_TIMEOUT_S;
	a->retry_max = DEFAULT_RETRY_MAX;
	a->backoff_s = DEFAULT_BACKOFF_S;
	take_keys(ld, n, action_keys, AK_N, v, k);
	if (!v[AK_PLUGIN]) {
		error(ld, CHECK_MISSING_KEY, n, NULL, "action has no 'plugin'");
	} else if (check_name(ld, CHECK_PLUGIN_NAME, v[AK_PLUGIN], "plugin", N_ROLE)) {
		a->plugin = xstrdup(ld, v[AK_PLUGIN]->str);
		if (ld->opts && ld->opts->plugin_exists &&
		    !ld->opts->plugin_exists(ld->opts->ctx, v[AK_PLUGIN]->str))
			error(ld, CHECK_PLUGIN_MISSING, v[AK_PLUGIN], NULL,
			      "plugin '%s' is not installed", v[AK_PLUGIN]->str);
	}
	if (v[AK_WITH] && expect(ld, v[AK_WITH], DOCKET_Y_MAP, "with"))
		a->with = to_json(ld, v[AK_WITH]);
	else
		a->with = json_object();
	if (!a->with && !v[AK_WITH])
		ld->nomem = true;
	if (v[AK_TIMEOUT])
		duration(ld, v[AK_TIMEOUT], "timeout", &a->timeout_s);
	if (v[AK_RETRY])
		load_retry(ld, a, v[AK_RETRY]);
}

/* ---- stages ---- */

static const char *const stage_keys[] = {
	"title", "description", "owner", "sla", "terminal", "action", "timers", "on",
};
enum { SK_TITLE, SK_DESCRIPTION, SK_OWNER, SK_SLA, SK_TERMINAL, SK_ACTION, SK_TIMERS, SK_ON,
       SK_N };

static void load_stage(struct loader *ld, docket_stage *st, const docket_ynode *key,
		       const docket_ynode *body)
{
	const docket_ynode *v[SK_N], *k[SK_N];
	const char *s;

	if (!expect_named(ld, body, DOCKET_Y_MAP, "stage", key->str)) {
		ld->graph_incomplete = true;
		return;
	}
	take_keys(ld, body, stage_keys, SK_N, v, k);
	if (v[SK_TITLE] && text(ld, v[SK_TITLE], "title", &s))
		st->title = xstrdup(ld, s);
	if (v[SK_DESCRIPTION])
		text(ld, v[SK_DESCRIPTION], "description", &s);
	if (v[SK_OWNER])
		st->owner = use_role(ld, v[SK_OWNER], "owner");
	if (v[SK_TERMINAL] && !boolean(ld, v[SK_TERMINAL], "terminal", &st->terminal)) {
		ld->graph_incomplete = true;
		return;
	}
	if (st->terminal) {
		static const int extra[] = {SK_ON, SK_ACTION, SK_TIMERS, SK_SLA};
		for (size_t i = 0; i < sizeof extra / sizeof *extra; i++)
			if (k[extra[i]])
				error(ld, CHECK_TERMINAL_EXTRA, k[extra[i]], NULL,
				      "terminal stage '%s' cannot have '%s': no case ever leaves it",
				      key->str, stage_keys[extra[i]]);
		return;
	}
	/* A broken 'on' is reported once, not again as "no way out". */
	bool ok = true;
	if (v[SK_SLA] && !duration(ld, v[SK_SLA], "sla", &st->sla_s))
		st->sla_s = -1;
	if (v[SK_ON] && !(ok = load_on(ld, st, v[SK_ON])))
		ld->graph_incomplete = true;
	if (v[SK_ACTION])
		load_action(ld, st, v[SK_ACTION]);
	if (v[SK_TIMERS])
		load_timers(ld, st, v[SK_TIMERS]);
	ld->stage_ok[st - ld->wf->stages] = ok;
}

/* All names first, so a transition may point to a stage declared below. */
static void load_stages(struct loader *ld, const docket_ynode *n)
{
	docket_workflow *wf = ld->wf;

	if (!expect(ld, n, DOCKET_Y_MAP, "stages"))
		return;
	if (n->n == 0 || n->n > DOCKET_STAGES_MAX) {
		error(ld, CHECK_STAGES_MAX, n, NULL, "%zu stages; a workflow has 1 to %d", n->n,
		      DOCKET_STAGES_MAX);
		return;
	}
	wf->stages = xcalloc(ld, n->n, sizeof *wf->stages);
	ld->stage_key = xcalloc(ld, n->n, sizeof *ld->stage_key);
	ld->stage_body = xcalloc(ld, n->n, sizeof *ld->stage_body);
	ld->stage_ok = xcalloc(ld, n->n, sizeof *ld->stage_ok);
	if (ld->nomem)
		return;
	for (size_t i = 0; i < n->n; i++) {
		docket_stage *st = &wf->stages[wf->nstages];
		if (!check_name(ld, CHECK_STAGE_NAME, n->keys[i], "stage name", N_SNAKE)) {
			ld->graph_incomplete = true;
			continue;
		}
		if (!(st->name = xstrdup(ld, n->keys[i]->str)))
			return;
		st->owner = -1;
		st->line = n->keys[i]->line;
		st->col = n->keys[i]->col;
		ld->stage_key[wf->nstages] = n->keys[i];
		ld->stage_body[wf->nstages] = n->items[i];
		wf->nstages++;
	}
	ix_build(ld, wf->stages, sizeof *wf->stages, wf->nstages, &ld->stage_ix, &ld->stage_names);
	if (ld->nomem)
		return;
	for (size_t i = 0; i < wf->nstages; i++)
		load_stage(ld, &wf->stages[i], ld->stage_key[i], ld->stage_body[i]);
}

/* ---- the whole graph ---- */

/* Edges as adjacency arrays (CSR), forward or reversed, so each search
 * below is one linear pass whatever order the stages were written in. */
struct graph {
	size_t *first;          /* edges of stage i: to[first[i] .. first[i+1]) */
	int *to;
};

static bool graph_build(struct loader *ld, struct graph *g, bool reverse)
{
	const docket_workflow *wf = ld->wf;
	size_t n = wf->nstages, m = 0, *fill;

	for (size_t i = 0; i < n; i++)
		for (size_t e = 0; e < wf->stages[i].nevents; e++)
			m += wf->stages[i].events[e].ntr;
	g->first = xcalloc(ld, n + 1, sizeof *g->first);
	g->to = xcalloc(ld, m, sizeof *g->to);
	fill = xcalloc(ld, n + 1, sizeof *fill);
	if (!g->first || !g->to || !fill) {
		free(fill);
		return false;
	}
	/* Count, then place: first[] holds each stage's start. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			const docket_stage *st = &wf->stages[i];
			for (size_t e = 0; e < st->nevents; e++)
				for (size_t t = 0; t < st->events[e].ntr; t++) {
					int to = st->events[e].tr[t].to;
					if (to < 0)
						continue;
					size_t from = reverse ? (size_t)to : i;
					if (pass == 0)
						g->first[from + 1]++;
					else
						g->to[fill[from]++] = reverse ? (int)i : to;
				}
		}
		if (pass == 0) {
			for (size_t i = 0; i < n; i++)
				g->first[i + 1] += g->first[i];
			memcpy(fill, g->first, (n + 1) * sizeof *fill);
		}
	}
	free(fill);
	return true;
}

/* Breadth-first from the stages already marked in seen[]. */
static void graph_reach(const struct graph *g, size_t n, bool *seen, int *queue)
{
	size_t head = 0, tail = 0;

	for (size_t i = 0; i < n; i++)
		if (seen[i])
			queue[tail++] = (int)i;
	while (head < tail) {
		int s = queue[head++];
		for (size_t k = g->first[s]; k < g->first[s + 1]; k++)
			if (!seen[g->to[k]]) {
				seen[g->to[k]] = true;
				queue[tail++] = g->to[k];
			}
	}
}

/* Each stage on its own: a way out, and an SLA. */
static void check_stages(struct loader *ld)
{
	const docket_workflow *wf = ld->wf;

	for (size_t i = 0; i < wf->nstages; i++) {
		const docket_stage *st = &wf->stages[i];
		if (!ld->stage_ok[i])
			continue;
		if (!st->nevents)
			error(ld, CHECK_NO_WAY_OUT, ld->stage_key[i], NULL,
			      "stage '%s' is not terminal and has no way out: add 'on' or "
			      "'terminal: true'", st->name);
		if (!st->sla_s)
			warning(ld, CHECK_NO_SLA, ld->stage_key[i], NULL,
				"stage '%s' has no 'sla', so its cases are never late", st->name);
	}
}

/* From start: what can be reached, and whether cases can finish. */
static void check_graph(struct loader *ld, const docket_ynode *start)
{
	docket_workflow *wf = ld->wf;
	size_t n = wf->nstages;
	struct graph fwd = {0}, rev = {0};
	bool *seen = xcalloc(ld, n, sizeof *seen), *ends = xcalloc(ld, n, sizeof *ends);
	int *queue = xcalloc(ld, n, sizeof *queue);
	bool any_terminal = false;
	const char *from = wf->stages[wf->start].name;

	if (!seen || !ends || !queue || !graph_build(ld, &fwd, false) ||
	    !graph_build(ld, &rev, true))
		goto done;
	seen[wf->start] = true;
	graph_reach(&fwd, n, seen, queue);
	for (size_t i = 0; i < n; i++)
		ends[i] = wf->stages[i].terminal;
	graph_reach(&rev, n, ends, queue);
	for (size_t i = 0; i < n; i++) {
		const docket_stage *st = &wf->stages[i];
		any_terminal |= seen[i] && st->terminal;
		if (!seen[i])
			error(ld, CHECK_UNREACHABLE, ld->stage_key[i], NULL,
			      "stage '%s' cannot be reached from start '%s'", st->name, from);
		else if (ld->stage_ok[i] && st->nevents && !ends[i])
			warning(ld, CHECK_TRAPPED, ld->stage_key[i], NULL,
				"a case in stage '%s' can never reach a terminal stage", st->name);
	}
	if (!any_terminal)
		error(ld, CHECK_NO_TERMINAL, start, NULL,
		      "no terminal stage can be reached from '%s', so cases could never finish",
		      from);
done:
	free(fwd.first);
	free(fwd.to);
	free(rev.first);
	free(rev.to);
	free(seen);
	free(ends);
	free(queue);
}

/* ---- top level ---- */

static const char *const top_keys[] = {
	"workflow", "version", "title", "description", "prefix", "roles", "fields", "start",
	"stages",
};
enum { TOP_WORKFLOW, TOP_VERSION, TOP_TITLE, TOP_DESCRIPTION, TOP_PREFIX, TOP_ROLES,
       TOP_FIELDS, TOP_START, TOP_STAGES, TOP_N };

static bool prefix_ok(const char *s)
{
	size_t len = strlen(s);
	return len >= 1 && len <= 8 && s[0] >= 'A' && s[0] <= 'Z' &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == len;
}

static void load_header(struct loader *ld, const docket_ynode **v)
{
	docket_workflow *wf = ld->wf;
	const char *s;
	char b[48], cut[CLIP + 4];

	if (v[TOP_WORKFLOW] &&
	    check_name(ld, CHECK_WORKFLOW_NAME, v[TOP_WORKFLOW], "workflow name", N_WORKFLOW))
		wf->name = xstrdup(ld, v[TOP_WORKFLOW]->str);
	if (v[TOP_VERSION]) {
		const docket_ynode *n = v[TOP_VERSION];
		if (n->kind != DOCKET_Y_SCALAR || !docket_ynode_int(n, &wf->version) ||
		    wf->version < 1)
			error(ld, CHECK_VERSION, n, NULL, "version must be an integer >= 1, not %s",
			      shown(n, b));
	}
	if (v[TOP_TITLE] && text(ld, v[TOP_TITLE], "title", &s))
		wf->title = xstrdup(ld, s);
	if (v[TOP_DESCRIPTION])
		text(ld, v[TOP_DESCRIPTION], "description", &s);
	if (v[TOP_PREFIX] && expect(ld, v[TOP_PREFIX], DOCKET_Y_SCALAR, "prefix")) {
		if (prefix_ok(v[TOP_PREFIX]->str))
			wf->prefix = xstrdup(ld, v[TOP_PREFIX]->str);
		else
			error(ld, CHECK_PREFIX, v[TOP_PREFIX], NULL,
			      "prefix '%s' must be 1 to 8 capital letters or digits, starting with "
			      "a letter (as in SO)", docket_clip(v[TOP_PREFIX]->str, CLIP, cut));
	}
}

static void load_start(struct loader *ld, const docket_ynode *n)
{
	docket_workflow *wf = ld->wf;

	wf->start = -1;
	if (!n || !wf->nstages || !check_name(ld, CHECK_STAGE_NAME, n, "start", N_SNAKE))
		return;
	wf->start = stage_lookup(ld, n->str);
	if (wf->start < 0)
		error(ld, CHECK_START, n, suggest(ld, n->str, ld->stage_names, wf->nstages),
		      "start names undeclared stage '%s'", n->str);
}

/* Nothing here looks like a workflow: one line, not a flood of "missing". */
static bool looks_like_workflow(const docket_ynode *root)
{
	return docket_ynode_get(root, "workflow") || docket_ynode_get(root, "stages") ||
	       docket_ynode_get(root, "start");
}

static void load_root(struct loader *ld, const docket_ynode *root)
{
	const docket_ynode *v[TOP_N], *k[TOP_N];
	static const char *const required[] = {"workflow", "version", "prefix", "start", "stages"};
	static const int req_ix[] = {TOP_WORKFLOW, TOP_VERSION, TOP_PREFIX, TOP_START, TOP_STAGES};

	if (!root) {
		error(ld, CHECK_EMPTY_FILE, NULL, NULL, "empty file: not a workflow");
		return;
	}
	if (root->kind != DOCKET_Y_MAP || !looks_like_workflow(root)) {
		error(ld, CHECK_NOT_WORKFLOW, NULL, NULL,
		      "not a workflow: expected a mapping with 'workflow', 'version', 'prefix', "
		      "'start' and 'stages', found %s",
		      root->kind == DOCKET_Y_MAP ? "a mapping without them" : a_kind(root));
		return;
	}
	take_keys(ld, root, top_keys, TOP_N, v, k);
	for (size_t i = 0; i < sizeof req_ix / sizeof *req_ix; i++)
		if (!v[req_ix[i]])
			error(ld, CHECK_MISSING_KEY, NULL, NULL, "missing required key '%s'",
			      required[i]);
	load_header(ld, v);
	load_roles(ld, v[TOP_ROLES]);
	load_fields(ld, v[TOP_FIELDS]);
	if (v[TOP_STAGES])
		load_stages(ld, v[TOP_STAGES]);
	load_start(ld, v[TOP_START]);
	if (ld->wf->nstages && !ld->nomem)
		check_stages(ld);
	if (ld->wf->start >= 0 && !ld->graph_incomplete && !ld->nomem)
		check_graph(ld, v[TOP_START]);
}

/* ---- the model's own bytes ---- */

static void hash_source(struct loader *ld, docket_workflow *wf)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(wf->source, wf->source_len, md, &mdlen, EVP_sha256(), NULL)) {
		ld->nomem = true;
		return;
	}
	for (unsigned i = 0; i < mdlen && 2 * i + 2 < DOCKET_HASH_HEX; i++)
		snprintf(wf->hash + 2 * i, 3, "%02x", md[i]);
}

static int load_doc(const char *path, docket_ydoc *doc, const docket_load_opts *opts,
		    docket_workflow **out, docket_diags *d, size_t errors0)
{
	struct loader ld = {.d = d, .opts = opts};
	docket_workflow *wf;
	int rc = 0;

	ld.src = docket_ydoc_source(doc, &ld.srclen);
	wf = ld.wf = xcalloc(&ld, 1, sizeof *wf);
	if (!wf)
		goto done;
	wf->start = -1;
	wf->source = malloc(ld.srclen + 1);
	if (!wf->source || (path && !(wf->path = strdup(path)))) {
		ld.nomem = true;
		goto done;
	}
	memcpy(wf->source, ld.src, ld.srclen);
	wf->source[ld.srclen] = '\0';
	wf->source_len = ld.srclen;
	hash_source(&ld, wf);
	load_root(&ld, docket_ydoc_root(doc));
done:
	if (ld.nomem) {
		docket_diags_add(d, DOCKET_DIAG_ERROR, 0, 0, NULL, "out of memory loading workflow");
		rc = DOCKET_ENOMEM;
	} else if (d->errors > errors0) {
		rc = DOCKET_EINVAL;
	}
	if (rc) {
		docket_workflow_free(wf);
		wf = NULL;
	}
	free(ld.lines);
	free(ld.stage_ix);
	free(ld.field_ix);
	free(ld.stage_names);
	free(ld.field_names);
	free(ld.stage_key);
	free(ld.stage_body);
	free(ld.stage_ok);
	*out = wf;
	return rc;
}

/* What the YAML layer refused is a mistake in the file, except when the
 * file could not be read or memory ran out. */
static int yaml_rc(int rc)
{
	return rc == DOCKET_EIO || rc == DOCKET_ENOMEM ? rc : DOCKET_EINVAL;
}

int docket_workflow_load_file(const char *path, const docket_load_opts *opts,
			      docket_workflow **out, docket_diags *d)
{
	docket_ydoc *doc;
	size_t errors0 = d->errors;
	int rc;

	*out = NULL;
	rc = docket_ydoc_load(path, &doc, d);
	if (rc)
		return yaml_rc(rc);
	rc = load_doc(path, doc, opts, out, d, errors0);
	docket_ydoc_free(doc);
	return rc;
}

int docket_workflow_load_buf(const char *path, const char *buf, size_t len,
			     const docket_load_opts *opts, docket_workflow **out,
			     docket_diags *d)
{
	docket_ydoc *doc;
	size_t errors0 = d->errors;
	int rc;

	*out = NULL;
	rc = docket_ydoc_parse(buf, len, &doc, d);
	if (rc)
		return yaml_rc(rc);
	rc = load_doc(path, doc, opts, out, d, errors0);
	docket_ydoc_free(doc);
	return rc;
}

static void free_field(docket_field *f)
{
	free(f->name);
	free(f->title);
	for (size_t i = 0; i < f->nvalues; i++)
		free(f->values[i]);
	free(f->values);
	if (f->has_default && f->def.t == DOCKET_V_STR)
		free((char *)f->def.s.p);
}

static void free_stage(docket_stage *st)
{
	free(st->name);
	free(st->title);
	for (size_t e = 0; e < st->nevents; e++) {
		docket_event *ev = &st->events[e];
		for (size_t t = 0; t < ev->ntr; t++) {
			docket_guard_free(ev->tr[t].when);
			free(ev->tr[t].require);
		}
		free(ev->tr);
		free(ev->name);
	}
	free(st->events);
	free(st->timers);
	if (st->action) {
		free(st->action->plugin);
		json_decref(st->action->with);
		free(st->action);
	}
}

void docket_workflow_free(docket_workflow *wf)
{
	if (!wf)
		return;
	for (size_t i = 0; i < wf->nstages; i++)
		free_stage(&wf->stages[i]);
	free(wf->stages);
	for (size_t i = 0; i < wf->nfields; i++)
		free_field(&wf->fields[i]);
	free(wf->fields);
	for (size_t i = 0; i < wf->nroles; i++)
		free(wf->roles[i]);
	free(wf->roles);
	free(wf->name);
	free(wf->title);
	free(wf->prefix);
	free(wf->path);
	free(wf->source);
	free(wf);
}

/* Linear: these serve requests, one name at a time, and a loaded workflow
 * carries no index of its own so a hand-built one works the same. */
int docket_workflow_stage(const docket_workflow *wf, const char *name)
{
	for (size_t i = 0; i < wf->nstages; i++)
		if (!strcmp(wf->stages[i].name, name))
			return (int)i;
	return -1;
}

int docket_workflow_field(const docket_workflow *wf, const char *name)
{
	for (size_t i = 0; i < wf->nfields; i++)
		if (!strcmp(wf->fields[i].name, name))
			return (int)i;
	return -1;
}

int docket_workflow_role(const docket_workflow *wf, const char *name)
{
	return role_index(wf, name);
}

int docket_stage_event(const docket_stage *st, const char *name)
{
	for (size_t i = 0; i < st->nevents; i++)
		if (!strcmp(st->events[i].name, name))
			return (int)i;
	return -1;
}

size_t docket_workflow_check_count(void)
{
	return NCHECKS;
}
