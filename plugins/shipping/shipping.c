/*
 * shipping - checks the packing list against the order, assigns a
 * tracking number.
 *
 *   action:
 *     plugin: shipping
 *     with:
 *       check: packing_list             # or none
 *       carrier: default                # recorded in the carrier field
 *       prefix: DKT                     # of tracking numbers (default)
 *
 * The packing list is HOME/packing/CASE.json, written by the warehouse:
 *   {"lines": [{"product": "W-100", "quantity": 10}]}
 * It matches when it holds the order's product in the order's quantity
 * and nothing else.  Without the file, the packing_list_ok field stands
 * for it (the warehouse ticked it by hand).  A mismatch emits `mismatch`
 * with packing_list_ok false and the difference in the log.  A match
 * takes the next tracking number PREFIX-YYYYMMDD-NNNNNN from HOME/
 * shipping/tracking.json (one per idempotency key: a repeated attempt gets
 * the same number) and emits `shipped` with tracking, carrier, shipped_on
 * and packing_list_ok set.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include <docket/plugin.h>

#include "pstore.h"

DOCKET_PLUGIN("shipping", "1.0.0", "checks the packing list and assigns a tracking number")

struct track {
	docket_run *r;
	const docket_host_api *api;
	const char *prefix;
	char today[16];
	char number[96];
};

static int assign(json_t *reg, void *ctx, char *err, size_t errlen)
{
	struct track *t = ctx;
	const char *key = t->api->key(t->r);
	json_t *given = json_object_get(reg, "assigned"), *mine;
	json_int_t next = json_integer_value(json_object_get(reg, "next"));
	char day[16];

	if (given && !json_is_object(given)) {
		snprintf(err, errlen, "\"assigned\" must be an object");
		return -1;
	}
	if ((mine = json_object_get(given, key)) && json_is_string(mine)) {
		snprintf(t->number, sizeof t->number, "%s", json_string_value(mine));
		return 1;
	}
	if (next < 1)
		next = 1;
	snprintf(day, sizeof day, "%.4s%.2s%.2s", t->today, t->today + 5, t->today + 8);
	snprintf(t->number, sizeof t->number, "%s-%s-%06lld", t->prefix, day, (long long)next);
	if (!given && (!(given = json_object()) || json_object_set_new(reg, "assigned", given)))
		goto nomem;
	if (json_object_set_new(given, key, json_string(t->number)) ||
	    json_object_set_new(reg, "next", json_integer(next + 1)))
		goto nomem;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* 1 when the packing list matches, 0 when not (why in `why`), -1 when it
 * cannot be read (err). */
static int check_list(docket_run *r, const docket_host_api *api, const char *home,
		      char *why, size_t whylen, char *err, size_t errlen)
{
	const char *product;
	int64_t qty;
	char file[160], path[PATH_MAX];
	json_t *doc, *lines, *l;
	size_t i;
	int ok;

	if (api->field_string(r, "product", &product) || api->field_int(r, "quantity", &qty)) {
		snprintf(why, whylen, "the order has no product or quantity");
		return 0;
	}
	pstore_file_name(api->case_id(r), file, sizeof file);
	snprintf(path, sizeof path, "%s/packing/%s.json", home, file);
	if (pstore_read(path, &doc, err, errlen))
		return -1;
	if (!doc) {
		if (api->field_bool(r, "packing_list_ok", &ok) == 0 && ok)
			return 1;
		snprintf(why, whylen, "no packing list (packing/%s.json) and packing_list_ok is not set", file);
		return 0;
	}
	int64_t packed = 0;
	why[0] = '\0';
	lines = json_object_get(doc, "lines");
	json_array_foreach(lines, i, l) {
		const char *p = json_string_value(json_object_get(l, "product"));
		json_int_t q = json_integer_value(json_object_get(l, "quantity"));
		if (p && !strcmp(p, product))
			packed += q;
		else if (!why[0])
			snprintf(why, whylen, "packed %lld of %s, which the order does not have",
				 (long long)q, p ? p : "an unnamed product");
	}
	json_decref(doc);
	if (why[0])
		return 0;
	if (packed != qty) {
		snprintf(why, whylen, "packed %lld of %s, the order is for %lld", (long long)packed,
			 product, (long long)qty);
		return 0;
	}
	return 1;
}

static int run(docket_run *r, const docket_host_api *api, void *state)
{
	const char *home = api->home(r), *check = "packing_list", *carrier = "default";
	char path[PATH_MAX], err[PSTORE_ERR], why[512];
	struct track t = {.r = r, .api = api, .prefix = "DKT"};
	(void)state;

	if (!home)
		return api->fail(r, "shipping: no Docket home for packing lists and tracking numbers");
	api->with_string(r, "check", &check);
	api->with_string(r, "carrier", &carrier);
	api->with_string(r, "prefix", &t.prefix);
	if (strcmp(check, "none")) {
		if (strcmp(check, "packing_list"))
			return api->fail(r, "shipping: with.check must be packing_list or none");
		int m = check_list(r, api, home, why, sizeof why, err, sizeof err);
		if (m < 0)
			return api->retry(r, "shipping: %s", err);
		if (m == 0) {
			api->set_bool(r, "packing_list_ok", 0);
			api->log(r, DOCKET_LOG_WARN, "packing list mismatch: %s", why);
			return api->emit(r, "mismatch");
		}
	}
	pstore_date(pstore_day(api->now_ms(r)), t.today, sizeof t.today);
	snprintf(path, sizeof path, "%s/shipping/tracking.json", home);
	if (pstore_update(path, assign, &t, err, sizeof err))
		return api->retry(r, "shipping: %s", err);
	api->set_bool(r, "packing_list_ok", 1);
	api->set_string(r, "tracking", t.number);
	api->set_string(r, "carrier", carrier);
	api->set_string(r, "shipped_on", t.today);
	api->log(r, DOCKET_LOG_INFO, "shipped with %s, tracking %s", carrier, t.number);
	return api->emit(r, "shipped");
}

int docket_plugin_init(docket_plugin *p, const docket_host_api *api)
{
	return api->set_run(p, run, NULL, NULL);
}
