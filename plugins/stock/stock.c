/*
 * stock - checks and reserves stock in an inventory kept in the home.
 *
 *   action:
 *     plugin: stock
 *     with: {warehouse: main, reserve: true}
 *
 * The inventory is HOME/inventory/WAREHOUSE.json, a file operations edit:
 *
 *   {"items": {"W-100": {"on_hand": 120, "reserved": 10}},
 *    "reservations": {"SO-7#2": {"case": "SO-7", "product": "W-100",
 *                                "quantity": 10, "at": "..."}}}
 *
 * For the case's product and quantity: when on_hand - reserved covers the
 * quantity, it is reserved (with reserve: true) and `in_stock` emitted;
 * otherwise `short`.  Either way in_stock gets what was available and
 * reserved what this order holds.  The reservation is recorded under the
 * idempotency key, so an attempt repeated after a crash finds it and does
 * not reserve twice.  The file is updated under HOME/inventory/
 * WAREHOUSE.json.lock and replaced atomically (docs/plugins.md says how to
 * edit it safely).  No file means an empty warehouse: everything is short.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include <docket/plugin.h>

#include "pstore.h"

DOCKET_PLUGIN("stock", "1.0.0", "checks and reserves stock in the home's inventory")

struct check {
	docket_run *r;
	const docket_host_api *api;
	const char *product;
	int64_t quantity;
	int reserve;
	int64_t available;
	int64_t reserved;       /* by this order */
	int repeated;
};

static int64_t num(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? json_integer_value(v) : 0;
}

static int update(json_t *doc, void *ctx, char *err, size_t errlen)
{
	struct check *c = ctx;
	const char *key = c->api->key(c->r);
	json_t *items = json_object_get(doc, "items"), *res = json_object_get(doc, "reservations");
	json_t *item, *mine;

	if ((items && !json_is_object(items)) || (res && !json_is_object(res))) {
		snprintf(err, errlen, "\"items\" and \"reservations\" must be objects");
		return -1;
	}
	item = json_object_get(items, c->product);
	if (item && !json_is_object(item)) {
		snprintf(err, errlen, "item \"%s\" must be an object {on_hand, reserved}", c->product);
		return -1;
	}
	if ((mine = json_object_get(res, key))) {
		/* This very attempt already ran: report what it did. */
		c->repeated = 1;
		c->reserved = num(mine, "quantity");
		c->available = num(item, "on_hand") - num(item, "reserved") + c->reserved;
		return 1;
	}
	c->available = num(item, "on_hand") - num(item, "reserved");
	if (c->available < 0)
		c->available = 0;
	if (c->available < c->quantity || !c->reserve)
		return 1;
	char at[32];
	pstore_time(c->api->now_ms(c->r), at, sizeof at);
	if (!res && (!(res = json_object()) || json_object_set_new(doc, "reservations", res)))
		goto nomem;
	if (json_object_set_new(item, "reserved",
				json_integer(num(item, "reserved") + c->quantity)) ||
	    json_object_set_new(res, key, json_pack("{s:s, s:s, s:I, s:s}", "case",
			c->api->case_id(c->r), "product", c->product, "quantity",
			(json_int_t)c->quantity, "at", at)))
		goto nomem;
	c->reserved = c->quantity;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static int run(docket_run *r, const docket_host_api *api, void *state)
{
	const char *home = api->home(r), *warehouse = "main";
	char path[PATH_MAX], err[PSTORE_ERR];
	struct check c = {.r = r, .api = api, .reserve = 1};
	(void)state;

	if (!home)
		return api->fail(r, "stock: no Docket home holding the inventory");
	api->with_string(r, "warehouse", &warehouse);
	api->with_bool(r, "reserve", &c.reserve);
	if (strchr(warehouse, '/') || warehouse[0] == '.' || !*warehouse)
		return api->fail(r, "stock: with.warehouse must be a plain name");
	if (api->field_string(r, "product", &c.product) || !*c.product)
		return api->fail(r, "stock: the case has no product");
	if (api->field_int(r, "quantity", &c.quantity) || c.quantity < 1)
		return api->fail(r, "stock: the case has no quantity");
	snprintf(path, sizeof path, "%s/inventory/%s.json", home, warehouse);
	if (pstore_update(path, update, &c, err, sizeof err))
		return api->retry(r, "stock: %s", err);
	api->set_int(r, "in_stock", c.available);
	api->set_int(r, "reserved", c.reserved);
	if (c.available >= c.quantity) {
		api->log(r, DOCKET_LOG_INFO, "%s %lld of %s in %s (%lld were available)",
			 c.repeated ? "already reserved" : c.reserve ? "reserved" : "found",
			 (long long)c.quantity, c.product, warehouse, (long long)c.available);
		return api->emit(r, "in_stock");
	}
	api->log(r, DOCKET_LOG_INFO, "short: %lld of %s wanted, %lld available in %s",
		 (long long)c.quantity, c.product, (long long)c.available, warehouse);
	return api->emit(r, "short");
}

int docket_plugin_init(docket_plugin *p, const docket_host_api *api)
{
	return api->set_run(p, run, NULL, NULL);
}
