/*
 * production - opens a production order with a due date from lead times.
 *
 *   action:
 *     plugin: production
 *     with:
 *       lead_times: {default: 10d, rush: 5d}
 *       line: assembly
 *
 * Numbers the order PO-LINE-N from the line's register HOME/production/
 * LINE.json (one number per stage entry: the idempotency key maps to the
 * number, so a repeated attempt gets the same order), writes the order
 * document HOME/production/LINE/PO-LINE-N.json, and sets production_order
 * and production_due.  The due date is today plus the default lead time,
 * or plus the rush one when the default would miss the date promised to
 * the customer (revised_delivery_date, else delivery_date).  Emits
 * `ordered`.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include <docket/plugin.h>

#include "pstore.h"

DOCKET_PLUGIN("production", "1.0.0", "opens a production order due by the lead times")

struct order {
	docket_run *r;
	const docket_host_api *api;
	const char *line;
	char number[96];
	char due[16];
	json_t *doc;
};

static int book(json_t *reg, void *ctx, char *err, size_t errlen)
{
	struct order *o = ctx;
	const char *key = o->api->key(o->r);
	json_t *orders = json_object_get(reg, "orders"), *mine;
	json_int_t next = json_integer_value(json_object_get(reg, "next"));

	if (orders && !json_is_object(orders)) {
		snprintf(err, errlen, "\"orders\" must be an object");
		return -1;
	}
	if ((mine = json_object_get(orders, key))) {
		snprintf(o->number, sizeof o->number, "%s", json_string_value(json_object_get(mine, "order")));
		snprintf(o->due, sizeof o->due, "%s", json_string_value(json_object_get(mine, "due")));
		json_decref(o->doc);
		o->doc = json_incref(mine);
		return 1;
	}
	if (next < 1)
		next = 1;
	snprintf(o->number, sizeof o->number, "PO-%s-%lld", o->line, (long long)next);
	json_object_set_new(o->doc, "order", json_string(o->number));
	if (!orders && (!(orders = json_object()) || json_object_set_new(reg, "orders", orders)))
		goto nomem;
	if (json_object_set(orders, key, o->doc) ||
	    json_object_set_new(reg, "next", json_integer(next + 1)))
		goto nomem;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static int run(docket_run *r, const docket_host_api *api, void *state)
{
	const char *home = api->home(r), *promised = NULL, *product = "", *spec = NULL;
	char path[PATH_MAX], err[PSTORE_ERR], created[32];
	struct order o = {.r = r, .api = api, .line = "main"};
	int64_t lead_s, rush_s, qty = 0;
	int32_t today = pstore_day(api->now_ms(r)), need, due;
	int rush = 0;
	(void)state;

	if (!home)
		return api->fail(r, "production: no Docket home for the order register");
	api->with_string(r, "line", &o.line);
	if (!*o.line || strspn(o.line, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(o.line))
		return api->fail(r, "production: with.line must be a plain name of [a-z0-9_-]");
	if (api->with_duration(r, "lead_times.default", &lead_s))
		return api->fail(r, "production: with.lead_times.default must be a duration like 10d");
	due = today + pstore_days(lead_s);
	if (api->field_string(r, "revised_delivery_date", &promised))
		api->field_string(r, "delivery_date", &promised);
	if (promised && pstore_parse_date(promised, &need) == 0 && need < due &&
	    api->with_duration(r, "lead_times.rush", &rush_s) == 0) {
		due = today + pstore_days(rush_s);
		rush = 1;
	}
	pstore_date(due, o.due, sizeof o.due);
	api->field_string(r, "product", &product);
	api->field_int(r, "quantity", &qty);
	api->field_string(r, "spec", &spec);
	pstore_time(api->now_ms(r), created, sizeof created);
	o.doc = json_pack("{s:s, s:s, s:s, s:I, s:s?, s:s, s:b, s:s, s:s}", "case", api->case_id(r),
			  "line", o.line, "product", product, "quantity", (json_int_t)qty, "spec", spec,
			  "due", o.due, "rush", rush, "created_at", created, "key", api->key(r));
	if (!o.doc)
		return api->retry(r, "production: out of memory");
	snprintf(path, sizeof path, "%s/production/%s.json", home, o.line);
	if (pstore_update(path, book, &o, err, sizeof err)) {
		json_decref(o.doc);
		return api->retry(r, "production: %s", err);
	}
	snprintf(path, sizeof path, "%s/production/%s/%s.json", home, o.line, o.number);
	int rc = pstore_write(path, o.doc, err, sizeof err);
	json_decref(o.doc);
	if (rc)
		return api->retry(r, "production: %s", err);
	api->set_string(r, "production_order", o.number);
	api->set_string(r, "production_due", o.due);
	api->log(r, DOCKET_LOG_INFO, "%s due %s%s", o.number, o.due, rush ? " (rush)" : "");
	return api->emit(r, "ordered");
}

int docket_plugin_init(docket_plugin *p, const docket_host_api *api)
{
	return api->set_run(p, run, NULL, NULL);
}
