/*
 * price - a quote from quantity, unit price and the price policy.
 *
 *   action:
 *     plugin: price
 *     with:
 *       currency: EUR
 *       tiers:                          # the highest min_quantity reached wins
 *         - {min_quantity: 1, discount_pct: 0}
 *         - {min_quantity: 100, discount_pct: 5}
 *       max_discount_pct: 25            # no discount beyond this
 *       cost_pct: 75                    # standard cost, % of the list price
 *       min_margin_pct: 18              # below it, a manager approves
 *       valid_for: 30d
 *
 * Reads quantity and unit_price (and discount_pct when sales already
 * agreed one: the larger of it and the tier's applies, capped); a field
 * unit_cost, when the case has one, overrides cost_pct.  Writes
 * discount_pct, quote_total, margin_pct and quote_valid_until, and emits
 * `quoted`, or `below_margin` when the margin is under min_margin_pct.
 * Pure arithmetic: running it twice gives the same quote.
 */
#include <math.h>
#include <stdio.h>

#include <docket/plugin.h>

#include "pstore.h"

DOCKET_PLUGIN("price", "1.0.0", "quotes from quantity, unit price and the price policy")

static double round_to(double v, double unit)
{
	return round(v / unit) * unit;
}

/* The discount of the highest tier whose min_quantity is reached. */
static int tier_discount(docket_run *r, const docket_host_api *api, int64_t qty, double *out)
{
	size_t n = api->with_count(r, "tiers");
	int64_t best_min = -1;
	char path[64];

	*out = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t min;
		double d;
		snprintf(path, sizeof path, "tiers.%zu.min_quantity", i);
		if (api->with_int(r, path, &min))
			return api->fail(r, "price: with.%s must be a whole number", path);
		snprintf(path, sizeof path, "tiers.%zu.discount_pct", i);
		if (api->with_number(r, path, &d) || d < 0 || d > 100)
			return api->fail(r, "price: with.%s must be a percentage", path);
		if (qty >= min && min > best_min) {
			best_min = min;
			*out = d;
		}
	}
	return 0;
}

static int run(docket_run *r, const docket_host_api *api, void *state)
{
	double price, discount, agreed, max_discount = 100, cost_pct, unit_cost, min_margin;
	int64_t qty, valid_s = 0;
	int has_cost = 0, rc;
	(void)state;

	if (api->field_int(r, "quantity", &qty) || qty < 1)
		return api->fail(r, "price: the case has no quantity (a whole number of at least 1)");
	if (api->field_number(r, "unit_price", &price) || price < 0)
		return api->fail(r, "price: the case has no unit_price");
	if ((rc = tier_discount(r, api, qty, &discount)))
		return rc;
	if (api->field_number(r, "discount_pct", &agreed) == 0 && agreed > discount)
		discount = agreed;
	api->with_number(r, "max_discount_pct", &max_discount);
	if (discount > max_discount) {
		api->log(r, DOCKET_LOG_INFO, "discount %.2f%% capped at %.2f%%", discount, max_discount);
		discount = max_discount;
	}
	double net = price * (1 - discount / 100);
	double total = round_to(net * (double)qty, 0.01);

	if (api->field_number(r, "unit_cost", &unit_cost) == 0)
		has_cost = 1;
	else if (api->with_number(r, "cost_pct", &cost_pct) == 0) {
		unit_cost = price * cost_pct / 100;
		has_cost = 1;
	}
	if (api->with_type(r, "valid_for") != DOCKET_VALUE_MISSING &&
	    api->with_duration(r, "valid_for", &valid_s))
		return api->fail(r, "price: with.valid_for must be a duration like 30d");

	api->set_number(r, "discount_pct", round_to(discount, 0.01));
	api->set_number(r, "quote_total", total);
	if (valid_s) {
		char day[16];
		pstore_date(pstore_day(api->now_ms(r)) + pstore_days(valid_s), day, sizeof day);
		api->set_string(r, "quote_valid_until", day);
	}
	const char *event = "quoted";
	if (has_cost && net > 0) {
		double margin = round_to((net - unit_cost) / net * 100, 0.1);
		if (margin < -100)
			margin = -100;
		api->set_number(r, "margin_pct", margin);
		if (api->with_number(r, "min_margin_pct", &min_margin) == 0 && margin < min_margin)
			event = "below_margin";
	} else if (api->with_type(r, "min_margin_pct") != DOCKET_VALUE_MISSING) {
		return api->fail(r, "price: with.min_margin_pct needs cost_pct in with: or a unit_cost field");
	}
	const char *currency = "";
	api->with_string(r, "currency", &currency);
	api->log(r, DOCKET_LOG_INFO, "%lld x %.2f less %.2f%% = %.2f %s: %s", (long long)qty, price,
		 discount, total, currency, event);
	return api->emit(r, event);
}

int docket_plugin_init(docket_plugin *p, const docket_host_api *api)
{
	return api->set_run(p, run, NULL, NULL);
}
