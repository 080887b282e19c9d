/*
 * invoice - numbers and writes an invoice, due by the payment terms.
 *
 *   action:
 *     plugin: invoice
 *     with:
 *       series: INV
 *       terms: {prepaid: 0d, net30: 30d, net60: 60d}
 *       currency: EUR                   # printed on the invoice (optional)
 *
 * Numbers run per series and year without gaps: SERIES-YYYY-NNNNN, kept
 * in HOME/invoices/SERIES.json, one number per idempotency key (a repeated
 * attempt reissues the same invoice, never a second one).  The document
 * HOME/invoices/SERIES/NUMBER.json holds the customer, the line, the total
 * (order_total, else quantity x unit_price) and the dates.  Sets
 * invoice_no, invoice_due (issued + the case's payment_terms) and
 * order_total when it was not set; emits `invoiced`.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include <docket/plugin.h>

#include "pstore.h"

DOCKET_PLUGIN("invoice", "1.0.0", "numbers and writes invoices due by the payment terms")

struct issue {
	docket_run *r;
	const docket_host_api *api;
	const char *series;
	char year[8];
	char number[96];
};

static int next_number(json_t *reg, void *ctx, char *err, size_t errlen)
{
	struct issue *s = ctx;
	const char *key = s->api->key(s->r);
	json_t *issued = json_object_get(reg, "issued"), *years = json_object_get(reg, "years"), *mine;

	if ((issued && !json_is_object(issued)) || (years && !json_is_object(years))) {
		snprintf(err, errlen, "\"issued\" and \"years\" must be objects");
		return -1;
	}
	if ((mine = json_object_get(issued, key)) && json_is_string(mine)) {
		snprintf(s->number, sizeof s->number, "%s", json_string_value(mine));
		return 1;
	}
	json_int_t n = json_integer_value(json_object_get(years, s->year)) + 1;
	snprintf(s->number, sizeof s->number, "%s-%s-%05lld", s->series, s->year, (long long)n);
	if (!issued && (!(issued = json_object()) || json_object_set_new(reg, "issued", issued)))
		goto nomem;
	if (!years && (!(years = json_object()) || json_object_set_new(reg, "years", years)))
		goto nomem;
	if (json_object_set_new(issued, key, json_string(s->number)) ||
	    json_object_set_new(years, s->year, json_integer(n)))
		goto nomem;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static const char *str_or(docket_run *r, const docket_host_api *api, const char *f)
{
	const char *s = NULL;
	api->field_string(r, f, &s);
	return s;
}

static int run(docket_run *r, const docket_host_api *api, void *state)
{
	const char *home = api->home(r), *terms = "net30", *currency = NULL;
	char path[PATH_MAX], tpath[96], err[PSTORE_ERR], issued[16], due[16];
	struct issue s = {.r = r, .api = api, .series = "INV"};
	int64_t qty = 0, term_s;
	double total, price;
	(void)state;

	if (!home)
		return api->fail(r, "invoice: no Docket home for the invoice register");
	api->with_string(r, "series", &s.series);
	api->with_string(r, "currency", &currency);
	if (!*s.series || strspn(s.series, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != strlen(s.series))
		return api->fail(r, "invoice: with.series must be capital letters and digits");
	api->field_string(r, "payment_terms", &terms);
	snprintf(tpath, sizeof tpath, "terms.%s", terms);
	if (api->with_duration(r, tpath, &term_s))
		return api->fail(r, "invoice: payment terms '%s' have no duration in with.terms", terms);
	api->field_int(r, "quantity", &qty);
	int has_total = api->field_number(r, "order_total", &total) == 0;
	if (!has_total) {
		if (api->field_number(r, "unit_price", &price) || qty < 1)
			return api->fail(r, "invoice: the order has neither order_total nor quantity and unit_price");
		total = round(price * (double)qty * 100) / 100;
	}
	int32_t today = pstore_day(api->now_ms(r));
	pstore_date(today, issued, sizeof issued);
	pstore_date(today + pstore_days(term_s), due, sizeof due);
	memcpy(s.year, issued, 4);
	snprintf(path, sizeof path, "%s/invoices/%s.json", home, s.series);
	if (pstore_update(path, next_number, &s, err, sizeof err))
		return api->retry(r, "invoice: %s", err);
	json_t *doc = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:I, s:f, s:s?, s:s, s:s, s:s, s:s}",
		"invoice_no", s.number, "case", api->case_id(r),
		"customer", str_or(r, api, "customer"), "customer_po", str_or(r, api, "customer_po"),
		"product", str_or(r, api, "product"), "quantity", (json_int_t)qty, "total", total,
		"currency", currency, "payment_terms", terms, "issued_on", issued, "due_on", due,
		"key", api->key(r));
	if (!doc)
		return api->retry(r, "invoice: out of memory");
	snprintf(path, sizeof path, "%s/invoices/%s/%s.json", home, s.series, s.number);
	int rc = pstore_write(path, doc, err, sizeof err);
	json_decref(doc);
	if (rc)
		return api->retry(r, "invoice: %s", err);
	api->set_string(r, "invoice_no", s.number);
	api->set_string(r, "invoice_due", due);
	if (!has_total)
		api->set_number(r, "order_total", total);
	api->log(r, DOCKET_LOG_INFO, "%s: %.2f%s%s due %s", s.number, total, currency ? " " : "",
		 currency ? currency : "", due);
	return api->emit(r, "invoiced");
}

int docket_plugin_init(docket_plugin *p, const docket_host_api *api)
{
	return api->set_run(p, run, NULL, NULL);
}
