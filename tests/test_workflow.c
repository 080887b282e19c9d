/* The workflow validator: one valid workflow and the model it becomes,
 * then every kind of mistake planted in it, each asserted at its exact
 * line:col with the words a process owner reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "workflow.h"

/* A valid workflow; the planted mistakes below are edits of it. */
static const char base[] =
	"workflow: sales-order\n"
	"version: 1\n"
	"title: Sales order\n"
	"description: From order to cash.\n"
	"prefix: SO\n"
	"roles: [sales, ops, finance, director]\n"
	"fields:\n"
	"  customer: {type: string, required: true, min: 1, max: 200}\n"
	"  quantity: {type: integer, min: 1, required: true}\n"
	"  unit_price: {type: number, min: 0}\n"
	"  in_stock: {type: integer}\n"
	"  payment_terms: {type: enum, values: [prepaid, net30, net60], default: net30}\n"
	"  delivery_date: {type: date, default: 2030-01-31}\n"
	"  rush: {type: boolean, default: false}\n"
	"  contact_phone: {type: string, visible_to: [sales, director], title: Phone}\n"
	"start: received\n"
	"stages:\n"
	"  received:\n"
	"    title: Order received\n"
	"    owner: sales\n"
	"    sla: 1d\n"
	"    on:\n"
	"      confirm: {to: stock_check, roles: [sales], require: [unit_price]}\n"
	"      cancel: {to: cancelled, roles: [sales, director]}\n"
	"  stock_check:\n"
	"    owner: ops\n"
	"    sla: 4h\n"
	"    action: {plugin: stock, with: {warehouse: main, limit: 5, ratio: 0.5, ok: true, none: ~, tags: [a, \"b\"], deep: {k: v}}, timeout: 1m, retry: {max: 5, backoff: 2s}}\n"
	"    on:\n"
	"      checked:\n"
	"        - {to: shipping, when: \"in_stock >= quantity\"}\n"
	"        - {to: collection}\n"
	"  shipping:\n"
	"    owner: ops\n"
	"    sla: 2d\n"
	"    action: {plugin: ship}\n"
	"    on:\n"
	"      shipped: {to: collection}\n"
	"  collection:\n"
	"    owner: finance\n"
	"    sla: 30d\n"
	"    timers:\n"
	"      - {after: 30d, event: overdue}\n"
	"    on:\n"
	"      paid: {to: closed, roles: [finance]}\n"
	"      overdue: {to: collection}\n"
	"      write_off: {to: cancelled, roles: [director]}\n"
	"  closed: {terminal: true}\n"
	"  cancelled: {terminal: true, title: Cancelled}\n";

static docket_workflow *load(const char *text, size_t len, const docket_load_opts *opts,
			     docket_diags *d, int *rc)
{
	docket_workflow *wf = NULL;
	docket_diags_init(d, "wf.yaml");
	*rc = docket_workflow_load_buf("wf.yaml", text, len, opts, &wf, d);
	return wf;
}

static char *print(const docket_diags *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	docket_diags_print(d, f);
	fclose(f);
	return buf;
}

/* base with the first `old` replaced by `new`; caller frees. */
static char *edit(const char *old, const char *new)
{
	const char *at = strstr(base, old);
	assert_non_null(at);    /* the planted edit must fit the base */
	size_t pre = (size_t)(at - base), lo = strlen(old), ln = strlen(new);
	char *out = malloc(sizeof base - lo + ln);
	memcpy(out, base, pre);
	memcpy(out + pre, new, ln);
	strcpy(out + pre + ln, at + lo);
	return out;
}

/* The diagnostic at line:col of severity sev whose message holds frag. */
static const docket_diag *find(const docket_diags *d, docket_severity sev, int line, int col,
			       const char *frag)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].sev == sev && d->v[i].line == line && d->v[i].col == col &&
		    strstr(d->v[i].msg, frag))
			return &d->v[i];
	return NULL;
}

/* ---- the valid workflow and its model ---- */

static void valid_workflow_model(void **state)
{
	(void)state;
	docket_diags d;
	int rc;
	docket_workflow *wf = load(base, sizeof base - 1, NULL, &d, &rc);

	assert_int_equal(rc, 0);
	assert_non_null(wf);
	assert_int_equal(d.errors, 0);
	assert_int_equal(d.warnings, 0);
	assert_string_equal(wf->name, "sales-order");
	assert_int_equal(wf->version, 1);
	assert_string_equal(wf->title, "Sales order");
	assert_string_equal(wf->prefix, "SO");
	assert_string_equal(wf->path, "wf.yaml");

	/* Roles, fields and stages in file order, looked up by name. */
	assert_int_equal(wf->nroles, 4);
	assert_int_equal(docket_workflow_role(wf, "finance"), 2);
	assert_int_equal(docket_workflow_role(wf, "legal"), -1);
	assert_int_equal(wf->nfields, 8);
	assert_int_equal(docket_workflow_field(wf, "in_stock"), 3);
	assert_int_equal(docket_workflow_field(wf, "nope"), -1);
	assert_int_equal(wf->nstages, 6);
	assert_int_equal(wf->start, 0);
	assert_int_equal(docket_workflow_stage(wf, "collection"), 3);
	assert_int_equal(docket_workflow_stage(wf, "dunning"), -1);

	const docket_field *cust = &wf->fields[0];
	assert_int_equal(cust->type, DOCKET_FT_STRING);
	assert_true(cust->required);
	assert_true(cust->has_min && cust->min == 1.0);
	assert_true(cust->has_max && cust->max == 200.0);
	assert_int_equal(cust->line, 8);
	assert_int_equal(cust->col, 3);
	const docket_field *terms = &wf->fields[4];
	assert_int_equal(terms->type, DOCKET_FT_ENUM);
	assert_int_equal(terms->nvalues, 3);
	assert_string_equal(terms->values[2], "net60");
	assert_true(terms->has_default);
	assert_int_equal(terms->def.t, DOCKET_V_STR);
	assert_int_equal(terms->def.s.len, 5);
	assert_memory_equal(terms->def.s.p, "net30", 5);
	const docket_field *date = &wf->fields[5];
	int32_t day;
	assert_int_equal(docket_date_parse("2030-01-31", 10, &day), 0);
	assert_int_equal(date->def.t, DOCKET_V_DATE);
	assert_int_equal(date->def.date, day);
	assert_int_equal(wf->fields[6].def.t, DOCKET_V_BOOL);
	assert_false(wf->fields[6].def.b);
	assert_false(wf->fields[3].has_default);
	const docket_field *phone = &wf->fields[7];
	assert_int_equal(phone->visible_to, (1u << 0) | (1u << 3));
	assert_string_equal(phone->title, "Phone");

	/* received: owner, sla, two events with roles and require. */
	const docket_stage *rec = &wf->stages[0];
	assert_string_equal(rec->name, "received");
	assert_string_equal(rec->title, "Order received");
	assert_int_equal(rec->owner, 0);
	assert_int_equal(rec->sla_s, 86400);
	assert_false(rec->terminal);
	assert_null(rec->action);
	assert_int_equal(rec->nevents, 2);
	assert_int_equal(docket_stage_event(rec, "cancel"), 1);
	assert_int_equal(docket_stage_event(rec, "paid"), -1);
	const docket_transition *confirm = &rec->events[0].tr[0];
	assert_int_equal(rec->events[0].ntr, 1);
	assert_int_equal(confirm->to, 1);
	assert_null(confirm->when);
	assert_int_equal(confirm->roles, 1u << 0);
	assert_int_equal(confirm->nrequire, 1);
	assert_int_equal(confirm->require[0], 2);
	assert_int_equal(rec->events[1].tr[0].roles, (1u << 0) | (1u << 3));
	assert_int_equal(rec->events[1].tr[0].to, 5);

	/* stock_check: the action, its JSON configuration, a guarded list. */
	const docket_stage *sc = &wf->stages[1];
	assert_int_equal(sc->owner, 1);
	assert_non_null(sc->action);
	assert_string_equal(sc->action->plugin, "stock");
	assert_int_equal(sc->action->timeout_s, 60);
	assert_int_equal(sc->action->retry_max, 5);
	assert_int_equal(sc->action->backoff_s, 2);
	char *json = json_dumps(sc->action->with, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(json,
		"{\"deep\":{\"k\":\"v\"},\"limit\":5,\"none\":null,\"ok\":true,\"ratio\":0.5,"
		"\"tags\":[\"a\",\"b\"],\"warehouse\":\"main\"}");
	free(json);
	const docket_event *checked = &sc->events[0];
	assert_string_equal(checked->name, "checked");
	assert_int_equal(checked->ntr, 2);
	assert_non_null(checked->tr[0].when);
	assert_string_equal(docket_guard_source(checked->tr[0].when), "in_stock >= quantity");
	assert_int_equal(checked->tr[0].to, 2);
	assert_null(checked->tr[1].when);
	assert_int_equal(checked->tr[1].to, 3);
	assert_int_equal(checked->tr[1].line, 32);
	assert_int_equal(checked->tr[1].col, 11);

	/* shipping: an action with every default. */
	const docket_action *ship = wf->stages[2].action;
	assert_string_equal(ship->plugin, "ship");
	assert_int_equal(ship->timeout_s, 30);
	assert_int_equal(ship->retry_max, 3);
	assert_int_equal(ship->backoff_s, 5);
	assert_true(json_is_object(ship->with));
	assert_int_equal(json_object_size(ship->with), 0);
	assert_int_equal(ship->line, 36);
	assert_int_equal(ship->col, 13);

	/* collection: a timer firing its own event. */
	const docket_stage *col = &wf->stages[3];
	assert_int_equal(col->ntimers, 1);
	assert_int_equal(col->timers[0].after_s, 30 * 86400);
	assert_int_equal(col->timers[0].event, docket_stage_event(col, "overdue"));
	assert_int_equal(col->timers[0].line, 43);
	assert_int_equal(col->events[1].tr[0].to, 3);

	assert_true(wf->stages[4].terminal);
	assert_int_equal(wf->stages[4].owner, -1);
	assert_int_equal(wf->stages[4].sla_s, 0);
	assert_string_equal(wf->stages[5].title, "Cancelled");
	assert_int_equal(wf->stages[5].line, 49);
	assert_int_equal(wf->stages[5].col, 3);

	/* The exact bytes, and their sha256. */
	assert_int_equal(wf->source_len, sizeof base - 1);
	assert_memory_equal(wf->source, base, sizeof base - 1);
	assert_string_equal(wf->hash,
		"936397cd46a922bf527ce666ad5205c9d863cad052d7a692d63472046f8d3cdd");
	docket_workflow_free(wf);
	docket_diags_free(&d);
}

static void check_count_is_counted(void **state)
{
	(void)state;
	assert_int_equal(docket_workflow_check_count(), 40);
}

/* ---- planted mistakes ---- */

struct planted {
	const char *name;
	const char *old, *new;
	int line, col;
	docket_severity sev;
	const char *frag;       /* in the message */
	const char *hint;       /* the "did you mean", or NULL for none */
	int errors;             /* errors in all: the planted one, no echo */
};

static const struct planted planted[] = {
	{"unknown key at the top",
	 "title: Sales order\n",
	 "titel: Sales order\n",
	 3, 1, DOCKET_DIAG_ERROR, "unknown key 'titel'", "did you mean 'title'?", 1},
	{"unknown key in a stage",
	 "    owner: sales\n",
	 "    owmer: sales\n",
	 20, 5, DOCKET_DIAG_ERROR, "unknown key 'owmer'", "did you mean 'owner'?", 1},
	{"unknown key in a field",
	 "{type: integer, min: 1, required: true}",
	 "{type: integer, min: 1, requird: true}",
	 9, 37, DOCKET_DIAG_ERROR, "unknown key 'requird'", "did you mean 'required'?", 1},
	{"unknown key in a transition",
	 "cancel: {to: cancelled, roles: [sales, director]}",
	 "cancel: {to: cancelled, role: [sales, director]}",
	 24, 31, DOCKET_DIAG_ERROR, "unknown key 'role'", "did you mean 'roles'?", 1},
	{"unknown key in an action",
	 "timeout: 1m",
	 "timout: 1m",
	 28, 125, DOCKET_DIAG_ERROR, "unknown key 'timout'", "did you mean 'timeout'?", 1},
	{"unknown key in a retry",
	 "retry: {max: 5, backoff: 2s}",
	 "retry: {max: 5, backof: 2s}",
	 28, 154, DOCKET_DIAG_ERROR, "unknown key 'backof'", "did you mean 'backoff'?", 1},
	{"missing required key",
	 "version: 1\n",
	 "",
	 1, 1, DOCKET_DIAG_ERROR, "missing required key 'version'", NULL, 1},
	{"transition without to",
	 "shipped: {to: collection}",
	 "shipped: {roles: [ops]}",
	 38, 16, DOCKET_DIAG_ERROR, "transition has no 'to'", NULL, 1},
	{"field without type",
	 "rush: {type: boolean, default: false}",
	 "rush: {default: false}",
	 14, 3, DOCKET_DIAG_ERROR, "field 'rush' has no 'type'", NULL, 1},
	{"timer without event",
	 "{after: 30d, event: overdue}",
	 "{after: 30d}",
	 43, 9, DOCKET_DIAG_ERROR, "timer has no 'event'", NULL, 1},
	{"action without plugin",
	 "action: {plugin: ship}",
	 "action: {timeout: 1m}",
	 36, 13, DOCKET_DIAG_ERROR, "action has no 'plugin'", NULL, 1},
	{"roles not a list",
	 "roles: [sales, ops, finance, director]",
	 "roles: sales",
	 6, 8, DOCKET_DIAG_ERROR, "'roles' must be a list, not a string", NULL, 1},
	{"stage not a mapping",
	 "  closed: {terminal: true}",
	 "  closed: yes",
	 48, 11, DOCKET_DIAG_ERROR, "stage 'closed' must be a mapping, not a string", NULL, 1},
	{"on not a mapping",
	 "    on:\n      shipped: {to: collection}\n",
	 "    on: [shipped]\n",
	 37, 9, DOCKET_DIAG_ERROR, "'on' must be a mapping, not a list", NULL, 1},
	{"terminal not a boolean",
	 "closed: {terminal: true}",
	 "closed: {terminal: yes}",
	 48, 22, DOCKET_DIAG_ERROR, "'terminal' must be true or false, not a string", NULL, 1},
	{"title not text",
	 "title: Order received",
	 "title: [Order, received]",
	 19, 12, DOCKET_DIAG_ERROR, "'title' must be a value, not a list", NULL, 1},
	{"workflow name",
	 "workflow: sales-order",
	 "workflow: Sales_Order",
	 1, 11, DOCKET_DIAG_ERROR, "workflow name 'Sales_Order' must be lowercase letters, digits and '-'", NULL, 1},
	{"version zero",
	 "version: 1\n",
	 "version: 0\n",
	 2, 10, DOCKET_DIAG_ERROR, "version must be an integer >= 1, not '0'", NULL, 1},
	{"version not an integer",
	 "version: 1\n",
	 "version: \"1\"\n",
	 2, 10, DOCKET_DIAG_ERROR, "version must be an integer >= 1", NULL, 1},
	{"prefix",
	 "prefix: SO",
	 "prefix: so",
	 5, 9, DOCKET_DIAG_ERROR, "prefix 'so' must be 1 to 8 capital letters or digits", NULL, 1},
	{"prefix too long",
	 "prefix: SO",
	 "prefix: SALESORDER",
	 5, 9, DOCKET_DIAG_ERROR, "prefix 'SALESORDER' must be 1 to 8", NULL, 1},
	{"role name",
	 "roles: [sales, ops, finance, director]",
	 "roles: [sales, ops, finance, director, Boss]",
	 6, 40, DOCKET_DIAG_ERROR, "role 'Boss' must be lowercase letters, digits, '_' and '-'", NULL, 1},
	{"role declared twice",
	 "roles: [sales, ops, finance, director]",
	 "roles: [sales, ops, finance, director, ops]",
	 6, 40, DOCKET_DIAG_ERROR, "role 'ops' is declared twice", NULL, 1},
	{"owner not declared",
	 "    owner: sales\n",
	 "    owner: sale\n",
	 20, 12, DOCKET_DIAG_ERROR, "role 'sale' is not declared in 'roles'", "did you mean 'sales'?", 1},
	{"transition role not declared",
	 "roles: [finance]}",
	 "roles: [fnance]}",
	 45, 34, DOCKET_DIAG_ERROR, "role 'fnance' is not declared", "did you mean 'finance'?", 1},
	{"visible_to role not declared",
	 "visible_to: [sales, director]",
	 "visible_to: [sales, directors]",
	 15, 53, DOCKET_DIAG_ERROR, "role 'directors' is not declared", "did you mean 'director'?", 1},
	{"role listed twice in a transition",
	 "roles: [sales, director]",
	 "roles: [sales, director, sales]",
	 24, 56, DOCKET_DIAG_ERROR, "role 'sales' is listed twice", NULL, 1},
	{"field name",
	 "  rush: {type",
	 "  Rush: {type",
	 14, 3, DOCKET_DIAG_ERROR, "field name 'Rush' must be lowercase letters, digits and '_'", NULL, 1},
	{"field type",
	 "rush: {type: boolean",
	 "rush: {type: bool",
	 14, 16, DOCKET_DIAG_ERROR, "unknown field type 'bool'", NULL, 1},
	{"field type typo",
	 "rush: {type: boolean",
	 "rush: {type: boolen",
	 14, 16, DOCKET_DIAG_ERROR, "unknown field type 'boolen'", "did you mean 'boolean'?", 1},
	{"min above max",
	 "min: 1, max: 200}",
	 "min: 10, max: 2}",
	 8, 58, DOCKET_DIAG_ERROR, "max 2 is below min 10", NULL, 1},
	{"min on a date",
	 "{type: date, default",
	 "{type: date, min: 1, default",
	 13, 36, DOCKET_DIAG_ERROR, "'min' applies to integer, number and string fields, not date", NULL, 1},
	{"fractional min on an integer",
	 "quantity: {type: integer, min: 1,",
	 "quantity: {type: integer, min: 1.5,",
	 9, 34, DOCKET_DIAG_ERROR, "'min' of an integer field must be an integer, not a number", NULL, 1},
	{"string length bound",
	 "min: 1, max: 200}",
	 "min: 1, max: -3}",
	 8, 57, DOCKET_DIAG_ERROR, "'max' of a string field must be a length in bytes", NULL, 1},
	{"enum value twice",
	 "values: [prepaid, net30, net60]",
	 "values: [prepaid, net30, net30]",
	 12, 56, DOCKET_DIAG_ERROR, "enum value 'net30' is listed twice", NULL, 1},
	{"enum value not a string",
	 "values: [prepaid, net30, net60]",
	 "values: [prepaid, net30, 60]",
	 12, 56, DOCKET_DIAG_ERROR, "enum value must be a string, not an integer", NULL, 1},
	{"enum without values",
	 "{type: enum, values: [prepaid, net30, net60], default: net30}",
	 "{type: enum}",
	 12, 19, DOCKET_DIAG_ERROR, "enum field 'payment_terms' needs 'values'", NULL, 1},
	{"enum with no values",
	 "values: [prepaid, net30, net60], default: net30",
	 "values: []",
	 12, 39, DOCKET_DIAG_ERROR, "an enum has 1 to 1000 values, not 0", NULL, 1},
	{"values on a string",
	 "{type: string, required: true,",
	 "{type: string, values: [a], required: true,",
	 8, 36, DOCKET_DIAG_ERROR, "'values' applies to enum fields only, not string", NULL, 1},
	{"enum default not a value",
	 "default: net30",
	 "default: net90",
	 12, 73, DOCKET_DIAG_ERROR, "default: field 'payment_terms': 'net90' is not one of prepaid, net30, net60", NULL, 1},
	{"boolean default quoted",
	 "default: false}",
	 "default: \"false\"}",
	 14, 34, DOCKET_DIAG_ERROR, "default of boolean field 'rush' must be true or false, not a string", NULL, 1},
	{"date default",
	 "default: 2030-01-31",
	 "default: 2030-02-30",
	 13, 40, DOCKET_DIAG_ERROR, "default of date field 'delivery_date' must be a date (YYYY-MM-DD), not '2030-02-30'", NULL, 1},
	{"default below min",
	 "quantity: {type: integer, min: 1,",
	 "quantity: {type: integer, default: 0, min: 1,",
	 9, 38, DOCKET_DIAG_ERROR, "default: field 'quantity': 0 is below the minimum 1", NULL, 1},
	{"stage name",
	 "  closed: {terminal: true}\n",
	 "  closed: {terminal: true}\n  Archive: {terminal: true}\n",
	 49, 3, DOCKET_DIAG_ERROR, "stage name 'Archive' must be lowercase letters, digits and '_'", NULL, 1},
	{"bad sla",
	 "    sla: 1d\n",
	 "    sla: 1 day\n",
	 21, 10, DOCKET_DIAG_ERROR, "sla: bad duration '1 day'", NULL, 1},
	{"bad timer duration",
	 "{after: 30d,",
	 "{after: 30,",
	 43, 17, DOCKET_DIAG_ERROR, "after: bad duration '30': the unit is missing", NULL, 1},
	{"bad timeout",
	 "timeout: 1m",
	 "timeout: 1.5m",
	 28, 134, DOCKET_DIAG_ERROR, "timeout: bad duration '1.5m'", NULL, 1},
	{"bad backoff",
	 "backoff: 2s",
	 "backoff: 0s",
	 28, 163, DOCKET_DIAG_ERROR, "backoff: bad duration '0s': a duration must be longer than zero", NULL, 1},
	{"terminal stage with sla",
	 "closed: {terminal: true}",
	 "closed: {terminal: true, sla: 1d}",
	 48, 28, DOCKET_DIAG_ERROR, "terminal stage 'closed' cannot have 'sla'", NULL, 1},
	{"terminal stage with on",
	 "closed: {terminal: true}",
	 "closed: {terminal: true, on: {reopen: {to: received}}}",
	 48, 28, DOCKET_DIAG_ERROR, "terminal stage 'closed' cannot have 'on'", NULL, 1},
	{"terminal stage with action",
	 "closed: {terminal: true}",
	 "closed: {terminal: true, action: {plugin: x}}",
	 48, 28, DOCKET_DIAG_ERROR, "terminal stage 'closed' cannot have 'action'", NULL, 1},
	{"terminal stage with timers",
	 "closed: {terminal: true}",
	 "closed: {timers: [], terminal: true}",
	 48, 12, DOCKET_DIAG_ERROR, "terminal stage 'closed' cannot have 'timers'", NULL, 1},
	{"event name",
	 "      paid: {to: closed",
	 "      Paid: {to: closed",
	 45, 7, DOCKET_DIAG_ERROR, "event name 'Paid' must be lowercase letters, digits and '_'", NULL, 1},
	{"event without transitions",
	 "overdue: {to: collection}",
	 "overdue: []",
	 46, 16, DOCKET_DIAG_ERROR, "event 'overdue' has no transitions", NULL, 1},
	{"event value not a transition",
	 "overdue: {to: collection}",
	 "overdue: collection",
	 46, 16, DOCKET_DIAG_ERROR, "event 'overdue' must map to a transition or a list of them, not a string", NULL, 1},
	{"transition can never be taken",
	 "        - {to: shipping, when: \"in_stock >= quantity\"}\n        - {to: collection}\n",
	 "        - {to: collection}\n        - {to: shipping, when: \"in_stock >= quantity\"}\n",
	 32, 11, DOCKET_DIAG_WARNING, "this transition can never be taken: the one before it (at 31:11) has no 'when'", NULL, 0},
	{"transition to undeclared stage",
	 "shipped: {to: collection}",
	 "shipped: {to: colection}",
	 38, 21, DOCKET_DIAG_ERROR, "transition to undeclared stage 'colection'", "did you mean 'collection'?", 1},
	{"require undeclared field",
	 "require: [unit_price]",
	 "require: [unit_prise]",
	 23, 60, DOCKET_DIAG_ERROR, "'require' names undeclared field 'unit_prise'", "did you mean 'unit_price'?", 1},
	{"require a field twice",
	 "require: [unit_price]",
	 "require: [unit_price, unit_price]",
	 23, 72, DOCKET_DIAG_ERROR, "field 'unit_price' is required twice", NULL, 1},
	{"timer event not declared",
	 "event: overdue}",
	 "event: overdew}",
	 43, 29, DOCKET_DIAG_ERROR, "timer fires event 'overdew', which this stage does not declare in 'on'", "did you mean 'overdue'?", 1},
	{"plugin name",
	 "plugin: ship}",
	 "plugin: Ship}",
	 36, 22, DOCKET_DIAG_ERROR, "plugin 'Ship' must be lowercase letters, digits, '_' and '-'", NULL, 1},
	{"with holds no JSON value",
	 "limit: 5,",
	 "limit: .nan,",
	 28, 60, DOCKET_DIAG_ERROR, "'.nan' cannot be passed to a plugin", NULL, 1},
	{"with holds too large an integer",
	 "limit: 5,",
	 "limit: 9223372036854775808,",
	 28, 60, DOCKET_DIAG_ERROR, "JSON has no integer that large", NULL, 1},
	{"with not a mapping",
	 "with: {warehouse: main, limit: 5, ratio: 0.5, ok: true, none: ~, tags: [a, \"b\"], deep: {k: v}}",
	 "with: [main]",
	 28, 35, DOCKET_DIAG_ERROR, "'with' must be a mapping, not a list", NULL, 1},
	{"retry max too large",
	 "retry: {max: 5,",
	 "retry: {max: 21,",
	 28, 151, DOCKET_DIAG_ERROR, "retry 'max' must be an integer from 0 to 20, not '21'", NULL, 1},
	{"retry max negative",
	 "retry: {max: 5,",
	 "retry: {max: -1,",
	 28, 151, DOCKET_DIAG_ERROR, "retry 'max' must be an integer from 0 to 20, not '-1'", NULL, 1},
	{"start undeclared",
	 "start: received",
	 "start: recieved",
	 16, 8, DOCKET_DIAG_ERROR, "start names undeclared stage 'recieved'", "did you mean 'received'?", 1},
	{"unreachable stage",
	 "  closed: {terminal: true}\n",
	 "  closed: {terminal: true}\n  orphan: {sla: 1d, on: {go: {to: closed}}}\n",
	 49, 3, DOCKET_DIAG_ERROR, "stage 'orphan' cannot be reached from start 'received'", NULL, 1},
	{"no way out",
	 "    on:\n      shipped: {to: collection}\n",
	 "",
	 33, 3, DOCKET_DIAG_ERROR, "stage 'shipping' is not terminal and has no way out", NULL, 1},
	{"empty on is no way out",
	 "    on:\n      shipped: {to: collection}\n",
	 "    on: {}\n",
	 33, 3, DOCKET_DIAG_ERROR, "stage 'shipping' is not terminal and has no way out", NULL, 1},
	{"no terminal stage reachable",
	 "  closed: {terminal: true}\n  cancelled: {terminal: true, title: Cancelled}\n",
	 "  closed: {sla: 1d, on: {x: {to: closed}}}\n  cancelled: {sla: 1d, on: {x: {to: cancelled}}}\n",
	 16, 8, DOCKET_DIAG_ERROR, "no terminal stage can be reached from 'received'", NULL, 1},
	{"stage that can never finish",
	 "      write_off: {to: cancelled, roles: [director]}\n",
	 "      write_off: {to: cancelled, roles: [director]}\n      stall: {to: limbo}\n  limbo: {sla: 1d, on: {wait: {to: limbo}}}\n",
	 49, 3, DOCKET_DIAG_WARNING, "a case in stage 'limbo' can never reach a terminal stage", NULL, 0},
	{"guard syntax error",
	 "when: \"in_stock >= quantity\"",
	 "when: \"in_stock >> quantity\"",
	 31, 43, DOCKET_DIAG_ERROR, "guard: expected a value after '>', found '>'", NULL, 1},
	{"guard unclosed parenthesis",
	 "when: \"in_stock >= quantity\"",
	 "when: \"(in_stock >= quantity\"",
	 31, 54, DOCKET_DIAG_ERROR, "guard: ", NULL, 1},
	{"guard names an unknown field",
	 "when: \"in_stock >= quantity\"",
	 "when: \"in_stok >= quantity\"",
	 31, 33, DOCKET_DIAG_ERROR, "guard: unknown field 'in_stok'", NULL, 1},
	{"guard type error",
	 "when: \"in_stock >= quantity\"",
	 "when: \"payment_terms >= quantity\"",
	 31, 47, DOCKET_DIAG_ERROR, "guard: 'payment_terms' is a string and 'quantity' is a number", NULL, 1},
	{"guard that is not boolean",
	 "when: \"in_stock >= quantity\"",
	 "when: \"in_stock + 1\"",
	 31, 33, DOCKET_DIAG_ERROR, "guard: a guard must be true or false", NULL, 1},
	{"guard in a plain scalar",
	 "when: \"in_stock >= quantity\"",
	 "when: in_stock >= quantty",
	 31, 44, DOCKET_DIAG_ERROR, "guard: unknown field 'quantty'", NULL, 1},
	{"guard in a single-quoted scalar",
	 "when: \"in_stock >= quantity\"",
	 "when: 'in_stock >= quantty'",
	 31, 45, DOCKET_DIAG_ERROR, "guard: unknown field 'quantty'", NULL, 1},
	{"stage without sla",
	 "    sla: 4h\n",
	 "",
	 25, 3, DOCKET_DIAG_WARNING, "stage 'stock_check' has no 'sla'", NULL, 0},
};

static void planted_mistake(void **state)
{
	const struct planted *p = *state;
	char *text = edit(p->old, p->new);
	docket_diags d;
	int rc;
	docket_workflow *wf = load(text, strlen(text), NULL, &d, &rc);
	const docket_diag *hit = find(&d, p->sev, p->line, p->col, p->frag);

	if (!hit) {
		char *out = print(&d);
		fail_msg("%s: no %s at %d:%d with '%s'; got:\n%s", p->name,
			 p->sev == DOCKET_DIAG_ERROR ? "error" : "warning", p->line, p->col,
			 p->frag, out);
	}
	if (p->hint)
		assert_string_equal(hit->hint, p->hint);
	else
		assert_null(hit->hint);
	if ((int)d.errors != p->errors) {
		char *out = print(&d);
		fail_msg("%s: %zu errors, expected %d:\n%s", p->name, d.errors, p->errors, out);
	}
	if (p->errors) {
		assert_int_equal(rc, DOCKET_EINVAL);
		assert_null(wf);
	} else {
		assert_int_equal(rc, 0);
		assert_non_null(wf);
	}
	docket_workflow_free(wf);
	docket_diags_free(&d);
	free(text);
}

/* ---- mistakes that need a file of their own ---- */

static void refused_with(const char *text, int line, int col, const char *frag)
{
	docket_diags d;
	int rc;
	docket_workflow *wf = load(text, strlen(text), NULL, &d, &rc);
	assert_null(wf);
	assert_int_equal(rc, DOCKET_EINVAL);
	if (!find(&d, DOCKET_DIAG_ERROR, line, col, frag)) {
		char *out = print(&d);
		fail_msg("no error at %d:%d with '%s'; got:\n%s", line, col, frag, out);
	}
	docket_diags_free(&d);
}

static void not_a_workflow_is_one_error(void **state)
{
	(void)state;
	const char *texts[] = {
		"- a\n- b\n",
		"just some words\n",
		"services:\n  web: {image: nginx}\n",
	};
	for (size_t i = 0; i < 3; i++) {
		docket_diags d;
		int rc;
		docket_workflow *wf = load(texts[i], strlen(texts[i]), NULL, &d, &rc);
		assert_null(wf);
		assert_int_equal(rc, DOCKET_EINVAL);
		assert_int_equal(d.errors, 1);
		assert_int_equal(d.v[0].line, 1);
		assert_int_equal(d.v[0].col, 1);
		assert_non_null(strstr(d.v[0].msg, "not a workflow"));
		docket_diags_free(&d);
	}
	refused_with("- a\n", 1, 1, "found a list");
	refused_with("42\n", 1, 1, "found an integer");
}

static void empty_file_is_not_a_workflow(void **state)
{
	(void)state;
	refused_with("", 1, 1, "empty file: not a workflow");
	refused_with("# just a comment\n", 1, 1, "empty file: not a workflow");
}

static void yaml_errors_come_through(void **state)
{
	(void)state;
	refused_with("workflow: x\nworkflow: y\n", 2, 1, "duplicate key 'workflow' (first at 1:1)");
	refused_with("workflow: x\nstages:\n\tnew: {}\n", 3, 1, "tab character");
	refused_with("workflow: &w x\n", 1, 11, "anchors");
}

static void stages_must_be_a_mapping(void **state)
{
	(void)state;
	static const char text[] =
		"workflow: w\nversion: 1\nprefix: W\nstart: a\nstages: 5\n";
	docket_diags d;
	int rc;
	docket_workflow *wf = load(text, sizeof text - 1, NULL, &d, &rc);
	assert_null(wf);
	char *out = print(&d);
	assert_string_equal(out, "wf.yaml:5:9: error: 'stages' must be a mapping, not an integer\n");
	free(out);
	docket_diags_free(&d);
	refused_with("workflow: w\nversion: 1\nprefix: W\nstart: a\nstages: {}\n", 5, 9,
		     "0 stages; a workflow has 1 to 4096");
}

static void too_many_roles_and_fields(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	fprintf(f, "workflow: w\nversion: 1\nprefix: W\nroles: [");
	for (int i = 0; i <= DOCKET_ROLES_MAX; i++)
		fprintf(f, "%sr%d", i ? ", " : "", i);
	fprintf(f, "]\nfields:\n");
	for (int i = 0; i <= DOCKET_FIELDS_MAX; i++)
		fprintf(f, "  f%d: {type: string}\n", i);
	fprintf(f, "start: a\nstages:\n  a: {terminal: true}\n");
	fclose(f);
	refused_with(text, 4, 8, "65 roles; at most 64 are allowed");
	refused_with(text, 6, 3, "257 fields; at most 256 are allowed");
	free(text);
}

static void long_title_is_refused(void **state)
{
	(void)state;
	char *text = malloc(6000);
	int n = snprintf(text, 6000, "workflow: w\nversion: 1\nprefix: W\ntitle: ");
	memset(text + n, 'x', 5000);
	strcpy(text + n + 5000, "\nstart: a\nstages:\n  a: {terminal: true}\n");
	refused_with(text, 4, 8, "'title' is 5000 bytes, longer than 4096");
	free(text);
}

static bool only_stock(void *ctx, const char *name)
{
	(*(int *)ctx)++;
	return !strcmp(name, "stock");
}

static void missing_plugin_when_asked(void **state)
{
	(void)state;
	int calls = 0;
	docket_load_opts opts = {.plugin_exists = only_stock, .ctx = &calls};
	docket_diags d;
	int rc;
	docket_workflow *wf = load(base, sizeof base - 1, &opts, &d, &rc);
	assert_null(wf);
	assert_int_equal(calls, 2);
	assert_int_equal(d.errors, 1);
	assert_non_null(find(&d, DOCKET_DIAG_ERROR, 36, 22, "plugin 'ship' is not installed"));
	docket_diags_free(&d);
	/* Without the callback the file is checked on its own. */
	wf = load(base, sizeof base - 1, NULL, &d, &rc);
	assert_non_null(wf);
	docket_workflow_free(wf);
	docket_diags_free(&d);
}

/* Mistakes in every part of one file: all of them are reported, each
 * where it is, and none hides another. */
static void many_mistakes_all_reported(void **state)
{
	(void)state;
	static const char text[] =
		"workflow: Orders\n"                                   /* 1 */
		"version: 0\n"
		"prefix: SO\n"
		"roles: [sales, ops]\n"
		"fields:\n"                                            /* 5 */
		"  qty: {type: integr}\n"
		"  terms: {type: enum, values: [a, b], default: c}\n"
		"start: new\n"
		"stages:\n"
		"  new:\n"                                             /* 10 */
		"    owner: sale\n"
		"    sla: 2days\n"
		"    on:\n"
		"      go: {to: shiping}\n"
		"      hold: {to: held, require: [qtty]}\n"            /* 15 */
		"  held:\n"
		"    sla: 1d\n"
		"    timers: [{after: 1h, event: wake}]\n"
		"    on: {resume: {to: new}}\n"
		"  shipping:\n"                                        /* 20 */
		"    owner: ops\n"
		"    sla: 1d\n"
		"    on: {done: {to: finished}}\n"
		"  finished: {terminal: true, sla: 1d}\n"
		"  stuck:\n"                                           /* 25 */
		"    sla: 1h\n";
	docket_diags d;
	int rc;
	docket_workflow *wf = load(text, sizeof text - 1, NULL, &d, &rc);
	assert_null(wf);
	char *out = print(&d);
	/* The typo in 'shiping' leaves the graph unknown, so reachability is
	 * not judged (it would only echo the typo); the rest all shows. */
	assert_string_equal(out,
		"wf.yaml:1:11: error: workflow name 'Orders' must be lowercase letters, digits and '-', starting with a letter\n"
		"wf.yaml:2:10: error: version must be an integer >= 1, not '0'\n"
		"wf.yaml:6:15: error: unknown field type 'integr' (string, integer, number, boolean, enum or date) \xe2\x80\x94 did you mean 'integer'?\n"
		"wf.yaml:7:48: error: default: field 'terms': 'c' is not one of a, b\n"
		"wf.yaml:11:12: error: role 'sale' is not declared in 'roles' \xe2\x80\x94 did you mean 'sales'?\n"
		"wf.yaml:12:10: error: sla: bad duration '2days': write one number and one unit, nothing else (as in 30s 15m 4h 2d 1w)\n"
		"wf.yaml:14:16: error: transition to undeclared stage 'shiping' \xe2\x80\x94 did you mean 'shipping'?\n"
		"wf.yaml:15:34: error: 'require' names undeclared field 'qtty' \xe2\x80\x94 did you mean 'qty'?\n"
		"wf.yaml:18:33: error: timer fires event 'wake', which this stage does not declare in 'on'\n"
		"wf.yaml:24:30: error: terminal stage 'finished' cannot have 'sla': no case ever leaves it\n"
		"wf.yaml:25:3: error: stage 'stuck' is not terminal and has no way out: add 'on' or 'terminal: true'\n");
	assert_int_equal(d.errors, 11);
	free(out);
	docket_diags_free(&d);
}

/* ---- size ---- */

static void thousand_stages_load(void **state)
{
	(void)state;
	enum { N = 1000 };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	fprintf(f, "workflow: big\nversion: 1\nprefix: BIG\nroles: [ops]\n"
		   "fields:\n  n: {type: integer}\nstart: s0\nstages:\n");
	/* Declared last to first, so every transition points backwards in
	 * the file and the searches cannot lean on the order. */
	for (int i = N - 1; i >= 0; i--)
		fprintf(f, "  s%d:\n    owner: ops\n    sla: 1h\n    on:\n"
			   "      next:\n        - {to: s%d, when: \"n > %d\"}\n        - {to: s%d}\n"
			   "      restart: {to: s0, roles: [ops]}\n",
			i, i + 1 < N ? i + 1 : 0, i, i + 1 < N ? i + 1 : i);
	fprintf(f, "  s%d_done: {terminal: true}\n", N - 1);
	fclose(f);
	char *fix = strstr(text, "  s999:\n");
	assert_non_null(fix);
	/* The last stage also finishes. */
	const char *tail = "      finish: {to: s999_done}\n";
	size_t at = (size_t)(strstr(fix, "      restart") - text);
	char *full = malloc(len + strlen(tail) + 1);
	memcpy(full, text, at);
	strcpy(full + at, tail);
	strcat(full, text + at);

	docket_diags d;
	int rc;
	docket_workflow *wf = load(full, strlen(full), NULL, &d, &rc);
	if (!wf) {
		char *out = print(&d);
		fail_msg("1,000 stages refused:\n%.2000s", out);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(wf->nstages, N + 1);
	assert_int_equal(docket_workflow_stage(wf, "s0"), N - 1);
	assert_int_equal(wf->start, N - 1);
	const docket_stage *s5 = &wf->stages[docket_workflow_stage(wf, "s5")];
	assert_int_equal(s5->events[0].tr[0].to, docket_workflow_stage(wf, "s6"));
	assert_int_equal(d.errors, 0);
	docket_workflow_free(wf);
	docket_diags_free(&d);
	free(full);
	free(text);
}

/* ---- files ---- */

static void loads_from_a_file(void **state)
{
	(void)state;
	char path[256];
	const char *tmp = getenv("TMPDIR");
	snprintf(path, sizeof path, "%s/docket-wf-XXXXXX", tmp ? tmp : "/tmp");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, base, sizeof base - 1), (ssize_t)(sizeof base - 1));
	close(fd);
	docket_diags d;
	docket_workflow *wf;
	docket_diags_init(&d, path);
	assert_int_equal(docket_workflow_load_file(path, NULL, &wf, &d), 0);
	assert_string_equal(wf->path, path);
	assert_string_equal(wf->hash,
		"936397cd46a922bf527ce666ad5205c9d863cad052d7a692d63472046f8d3cdd");
	docket_workflow_free(wf);
	docket_diags_free(&d);
	unlink(path);
	docket_diags_init(&d, path);
	assert_int_equal(docket_workflow_load_file(path, NULL, &wf, &d), DOCKET_EIO);
	assert_null(wf);
	assert_int_equal(d.errors, 1);
	docket_diags_free(&d);
}

int main(void)
{
	enum { NPLANTED = sizeof planted / sizeof *planted };
	const struct CMUnitTest fixed[] = {
		cmocka_unit_test(valid_workflow_model),
		cmocka_unit_test(check_count_is_counted),
		cmocka_unit_test(not_a_workflow_is_one_error),
		cmocka_unit_test(empty_file_is_not_a_workflow),
		cmocka_unit_test(yaml_errors_come_through),
		cmocka_unit_test(stages_must_be_a_mapping),
		cmocka_unit_test(too_many_roles_and_fields),
		cmocka_unit_test(long_title_is_refused),
		cmocka_unit_test(missing_plugin_when_asked),
		cmocka_unit_test(many_mistakes_all_reported),
		cmocka_unit_test(thousand_stages_load),
		cmocka_unit_test(loads_from_a_file),
	};
	enum { NFIXED = sizeof fixed / sizeof *fixed };
	struct CMUnitTest tests[NFIXED + NPLANTED];

	/* One test case per planted mistake, named for it. */
	memcpy(tests, fixed, sizeof fixed);
	for (size_t i = 0; i < NPLANTED; i++)
		tests[NFIXED + i] = (struct CMUnitTest){
			.name = planted[i].name,
			.test_func = planted_mistake,
			.initial_state = (void *)&planted[i],
		};
	return _cmocka_run_group_tests("workflow", tests, NFIXED + NPLANTED, NULL, NULL);
}
