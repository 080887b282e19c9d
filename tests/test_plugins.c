/*
 * test_plugins.c - the shipped plugins, each loaded through the host's own
 * code path (docket_phost) with a scratch home: the events they emit, the
 * fields they set, the files they keep, and what a repeated attempt (the
 * same idempotency key) does.  The http plugin talks to a small HTTP
 * server this test runs on the loopback interface.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "host.h"

/* 2024-05-01T10:00:00Z */
#define NOW_MS 1714557600000LL

struct env {
	docket_phost *h;
	char home[128];
	char log[8192];
};

static void on_log(void *ctx, int64_t id, const char *plugin, int level, const char *msg)
{
	struct env *e = ctx;
	size_t n = strlen(e->log);
	(void)id;
	(void)level;
	snprintf(e->log + n, sizeof e->log - n, "%s: %s\n", plugin ? plugin : "-", msg);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof *e);
	docket_err err = {0};

	snprintf(e->home, sizeof e->home, "/tmp/docket-plugins-XXXXXX");
	if (!mkdtemp(e->home))
		return -1;
	docket_phost_opts o = {.plugins_dir = getenv("DOCKET_TEST_PLUGINS"), .home = e->home,
			       .log = on_log, .log_ctx = e};
	if (!o.plugins_dir || docket_phost_open(&o, &e->h, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	*state = e;
	return 0;
}

static void rmtree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char sub[1024];

	if (!d) {
		unlink(path);
		return;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
		rmtree(sub);
	}
	closedir(d);
	rmdir(path);
}

static int teardown(void **state)
{
	struct env *e = *state;
	docket_phost_close(e->h);
	rmtree(e->home);
	free(e);
	return 0;
}

/* Run plugin for case id/key with fields and with (both stolen); events
 * is "a,b" (NULL: any event).  Returns the outcome message. */
static json_t *run(struct env *e, const char *plugin, const char *id, const char *key,
		   const char *events, json_t *fields, json_t *with)
{
	json_t *ev = NULL, *out;
	docket_err err = {0};

	if (events) {
		char buf[256], *save, *t;
		snprintf(buf, sizeof buf, "%s", events);
		ev = json_array();
		for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
			json_array_append_new(ev, json_string(t));
	}
	docket_host_job job = {
		.id = 1, .plugin = plugin, .case_id = id, .workflow = "wf", .stage = "st",
		.key = key, .now_ms = NOW_MS, .with = with, .fields = fields, .events = ev,
	};
	e->log[0] = '\0';
	if (docket_phost_run(e->h, &job, &out, &err))
		fail_msg("%s", err.msg);
	json_decref(ev);
	json_decref(fields);
	json_decref(with);
	return out;
}

static const char *s(const json_t *o, const char *path)
{
	/* "fields.x" or "event" */
	const char *dot = strchr(path, '.');
	if (dot) {
		char k[64];
		snprintf(k, sizeof k, "%.*s", (int)(dot - path), path);
		o = json_object_get(o, k);
		path = dot + 1;
	}
	const char *v = json_string_value(json_object_get(o, path));
	return v ? v : "(none)";
}

static double num(const json_t *o, const char *field)
{
	return json_number_value(json_object_get(json_object_get(o, "fields"), field));
}

static void expect_event(json_t *o, const char *event)
{
	if (strcmp(s(o, "outcome"), "event") || strcmp(s(o, "event"), event)) {
		char *t = json_dumps(o, 0);
		fail_msg("wanted event %s, got %s", event, t);
	}
}

static void expect_outcome(json_t *o, const char *outcome, const char *reason_part)
{
	char *t = json_dumps(o, 0);
	if (strcmp(s(o, "outcome"), outcome) || !strstr(s(o, "reason"), reason_part))
		fail_msg("wanted %s with '%s', got %s", outcome, reason_part, t);
	free(t);
}

static json_t *read_json(struct env *e, const char *rel)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", e->home, rel);
	return json_load_file(path, 0, NULL);
}

static void write_file(struct env *e, const char *rel, const char *text)
{
	char path[512], dir[512];
	snprintf(path, sizeof path, "%s/%s", e->home, rel);
	snprintf(dir, sizeof dir, "%s", path);
	*strrchr(dir, '/') = '\0';
	mkdir(dir, 0755);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* --- price --------------------------------------------------------------- */

static json_t *policy(void)
{
	return json_pack("{s:s, s:[{s:i, s:i}, {s:i, s:i}, {s:i, s:i}, {s:i, s:i}], s:i, s:i, s:i, s:s}",
			 "currency", "EUR", "tiers", "min_quantity", 1, "discount_pct", 0,
			 "min_quantity", 100, "discount_pct", 5, "min_quantity", 500, "discount_pct", 8,
			 "min_quantity", 2000, "discount_pct", 12, "cost_pct", 75, "min_margin_pct", 18,
			 "max_discount_pct", 25, "valid_for", "30d");
}

static void test_price_quotes_by_tier(void **state)
{
	struct env *e = *state;
	json_t *o = run(e, "price", "LEAD-1", "LEAD-1#4", "quoted,below_margin,drop",
			json_pack("{s:i, s:f}", "quantity", 150, "unit_price", 10.0), policy());
	expect_event(o, "quoted");
	assert_float_equal(num(o, "discount_pct"), 5, 1e-9);
	assert_float_equal(num(o, "quote_total"), 1425.00, 1e-9);
	assert_float_equal(num(o, "margin_pct"), 21.1, 1e-9);
	assert_string_equal(s(o, "fields.quote_valid_until"), "2024-05-31");
	json_decref(o);
}

static void test_price_below_margin_goes_to_a_manager(void **state)
{
	struct env *e = *state;
	json_t *o = run(e, "price", "LEAD-1", "LEAD-1#4", "quoted,below_margin",
			json_pack("{s:i, s:f}", "quantity", 2500, "unit_price", 10.0), policy());
	expect_event(o, "below_margin");
	assert_float_equal(num(o, "discount_pct"), 12, 1e-9);
	assert_float_equal(num(o, "quote_total"), 22000.00, 1e-9);
	assert_float_equal(num(o, "margin_pct"), 14.8, 1e-9);
	json_decref(o);
}

static void test_price_caps_an_agreed_discount(void **state)
{
	struct env *e = *state;
	json_t *o = run(e, "price", "LEAD-1", "LEAD-1#4", "quoted,below_margin",
			json_pack("{s:i, s:f, s:f}", "quantity", 10, "unit_price", 3.0,
				  "discount_pct", 40.0), policy());
	expect_event(o, "below_margin");
	assert_float_equal(num(o, "discount_pct"), 25, 1e-9);
	assert_float_equal(num(o, "quote_total"), 22.50, 1e-9);
	json_decref(o);
}

static void test_price_without_quantity_fails(void **state)
{
	struct env *e = *state;
	json_t *o = run(e, "price", "LEAD-1", "LEAD-1#4", "quoted", json_pack("{s:f}", "unit_price", 3.0),
			policy());
	expect_outcome(o, "failed", "the case has no quantity");
	json_decref(o);
}

/* --- legal-check ------------------------------------------------------------ */

static json_t *legal_with(void)
{
	return json_pack("{s:[s, s, s], s:[s, s, {s:s, s:[s, s]}]}",
			 "fields", "company", "contract_value", "quote_total",
			 "clauses", "liability_cap", "warranty", "name", "governing_law",
			 "any_of", "governing law", "jurisdiction");
}

static void test_legal_check_complete(void **state)
{
	struct env *e = *state;
	json_t *o = run(e, "legal-check", "LEAD-2", "LEAD-2#9", "complete,incomplete",
			json_pack("{s:s, s:f, s:f, s:s, s:s}", "company", "Acme", "contract_value", 5e4,
				  "quote_total", 5e4, "contract_gaps", "old notes",
				  "contract_text", "1. Liability Cap ...\n2. WARRANTY ...\n3. Jurisdiction: Paris"),
			legal_with());
	expect_event(o, "complete");
	assert_true(json_is_null(json_object_get(json_object_get(o, "fields"), "contract_gaps")));
	json_decref(o);
}

static void test_legal_check_incomplete_says_what_is_missing(void **state)
{
	struct env *e = *state;
	json_t *o = run(e, "legal-check", "LEAD-2", "LEAD-2#9", "complete,incomplete",
			json_pack("{s:s, s:f, s:s}", "company", "Acme", "contract_value", 5e4,
				  "contract_text", "liability_cap and governing law"),
			legal_with());
	expect_event(o, "incomplete");
	assert_string_equal(s(o, "fields.contract_gaps"),
			    "missing fields: quote_total; missing clauses: warranty");
	json_decref(o);
}

/* --- archive ------------------------------------------------------------------- */

static void test_archive_files_the_case(void **state)
{
	struct env *e = *state;
	json_t *o = run(e, "archive", "LEAD-7", "LEAD-7#12", "archived",
			json_pack("{s:s, s:s}", "company", "Acme", "contract_no", "C-9"),
			json_pack("{s:s, s:s}", "collection", "contracts", "format", "json"));
	expect_event(o, "archived");
	assert_string_equal(s(o, "fields.archive_ref"), "archive/contracts/LEAD-7.12.json");
	json_t *doc = read_json(e, "archive/contracts/LEAD-7.12.json");
	assert_non_null(doc);
	assert_string_equal(s(doc, "case"), "LEAD-7");
	assert_string_equal(s(doc, "fields.contract_no"), "C-9");
	assert_string_equal(s(doc, "archived_at"), "2024-05-01T10:00:00.000Z");
	json_decref(doc);
	json_decref(o);
	o = run(e, "archive", "LEAD-7", "LEAD-7#12", "archived", json_object(),
		json_pack("{s:s, s:s}", "collection", "contracts", "format", "pdf"));
	expect_outcome(o, "failed", "format 'pdf' is not supported");
	json_decref(o);
}

/* --- stock ------------------------------------------------------------------------ */

static json_t *order(const char *product, int qty)
{
	return json_pack("{s:s, s:i}", "product", product, "quantity", qty);
}

static void test_stock_reserves_once(void **state)
{
	struct env *e = *state;
	write_file(e, "inventory/main.json",
		   "{\"items\": {\"W-1\": {\"on_hand\": 100, \"reserved\": 10}}}");
	for (int i = 0; i < 2; i++) {
		json_t *o = run(e, "stock", "SO-1", "SO-1#2", "in_stock,short", order("W-1", 50),
				json_pack("{s:s, s:b}", "warehouse", "main", "reserve", 1));
		expect_event(o, "in_stock");
		assert_float_equal(num(o, "in_stock"), 90, 0);
		assert_float_equal(num(o, "reserved"), 50, 0);
		json_decref(o);
	}
	json_t *inv = read_json(e, "inventory/main.json");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(inv, "items"), "W-1"), "reserved")), 60);
	assert_non_null(json_object_get(json_object_get(inv, "reservations"), "SO-1#2"));
	json_decref(inv);
	/* What is left is 40: a second order for 50 is short. */
	json_t *o = run(e, "stock", "SO-2", "SO-2#2", "in_stock,short", order("W-1", 50),
			json_pack("{s:s}", "warehouse", "main"));
	expect_event(o, "short");
	assert_float_equal(num(o, "in_stock"), 40, 0);
	assert_float_equal(num(o, "reserved"), 0, 0);
	json_decref(o);
}

static void test_stock_unknown_warehouse_is_empty(void **state)
{
	struct env *e = *state;
	json_t *o = run(e, "stock", "SO-1", "SO-1#2", "in_stock,short", order("W-1", 1),
			json_pack("{s:s}", "warehouse", "east"));
	expect_event(o, "short");
	assert_float_equal(num(o, "in_stock"), 0, 0);
	json_decref(o);
}

static void test_stock_broken_inventory_is_retried(void **state)
{
	struct env *e = *state;
	write_file(e, "inventory/main.json", "{\"items\": [1, 2");
	json_t *o = run(e, "stock", "SO-1", "SO-1#2", "in_stock,short", order("W-1", 1), NULL);
	expect_outcome(o, "retry", "inventory/main.json:1:");
	json_decref(o);
}

/* --- production -------------------------------------------------------------------- */

static json_t *lead_times(void)
{
	return json_pack("{s:{s:s, s:s}, s:s}", "lead_times", "default", "10d", "rush", "5d",
			 "line", "assembly");
}

static void test_production_numbers_orders_once(void **state)
{
	struct env *e = *state;
	json_t *o = run(e, "production", "SO-3", "SO-3#5", "ordered", order("W-2", 7), lead_times());
	expect_event(o, "ordered");
	assert_string_equal(s(o, "fields.production_order"), "PO-assembly-1");
	assert_string_equal(s(o, "fields.production_due"), "2024-05-11");
	json_decref(o);
	o = run(e, "production", "SO-4", "SO-4#5", "ordered", order("W-2", 7), lead_times());
	assert_string_equal(s(o, "fields.production_order"), "PO-assembly-2");
	json_decref(o);
	o = run(e, "production", "SO-3", "SO-3#5", "ordered", order("W-2", 7), lead_times());
	assert_string_equal(s(o, "fields.production_order"), "PO-assembly-1");
	json_decref(o);
	json_t *doc = read_json(e, "production/assembly/PO-assembly-2.json");
	assert_non_null(doc);
	assert_string_equal(s(doc, "case"), "SO-4");
	json_decref(doc);
}

static void test_production_rushes_for_an_early_date(void **state)
{
	struct env *e = *state;
	json_t *f = order("W-2", 7);
	json_object_set_new(f, "revised_delivery_date", json_string("2024-05-08"));
	json_t *o = run(e, "production", "SO-5", "SO-5#5", "ordered", f, lead_times());
	assert_string_equal(s(o, "fields.production_due"), "2024-05-06");
	json_decref(o);
}

/* --- shipping ---------------------------------------------------------------------- */

static json_t *ship_with(void)
{
	return json_pack("{s:s, s:s}", "check", "packing_list", "carrier", "default");
}

static void test_shipping_checks_the_packing_list(void **state)
{
	struct env *e = *state;
	write_file(e, "packing/SO-6.json", "{\"lines\": [{\"product\": \"W-1\", \"quantity\": 4}, {\"product\": \"W-1\", \"quantity\": 6}]}");
	json_t *o = run(e, "shipping", "SO-6", "SO-6#8", "shipped,mismatch", order("W-1", 10), ship_with());
	expect_event(o, "shipped");
	assert_string_equal(s(o, "fields.tracking"), "DKT-20240501-000001");
	assert_string_equal(s(o, "fields.shipped_on"), "2024-05-01");
	assert_string_equal(s(o, "fields.carrier"), "default");
	assert_true(json_is_true(json_object_get(json_object_get(o, "fields"), "packing_list_ok")));
	json_decref(o);
	/* Again for the same entry: the same number. */
	o = run(e, "shipping", "SO-6", "SO-6#8", "shipped,mismatch", order("W-1", 10), ship_with());
	assert_string_equal(s(o, "fields.tracking"), "DKT-20240501-000001");
	json_decref(o);
}

static void test_shipping_mismatch(void **state)
{
	struct env *e = *state;
	write_file(e, "packing/SO-6.json", "{\"lines\": [{\"product\": \"W-1\", \"quantity\": 9}]}");
	json_t *o = run(e, "shipping", "SO-6", "SO-6#8", "shipped,mismatch", order("W-1", 10), ship_with());
	expect_event(o, "mismatch");
	assert_true(json_is_false(json_object_get(json_object_get(o, "fields"), "packing_list_ok")));
	assert_non_null(strstr(e->log, "packed 9 of W-1, the order is for 10"));
	json_decref(o);
	/* No list at all: the tick box decides. */
	json_t *f = order("W-1", 10);
	o = run(e, "shipping", "SO-7", "SO-7#8", "shipped,mismatch", json_incref(f), ship_with());
	expect_event(o, "mismatch");
	json_decref(o);
	json_object_set_new(f, "packing_list_ok", json_true());
	o = run(e, "shipping", "SO-7", "SO-7#8", "shipped,mismatch", f, ship_with());
	expect_event(o, "shipped");
	json_decref(o);
}

/* --- invoice ------------------------------------------------------------------------- */

static json_t *terms(void)
{
	return json_pack("{s:s, s:{s:s, s:s, s:s}}", "series", "INV", "terms", "prepaid", "0d",
			 "net30", "30d", "net60", "60d");
}

static void test_invoice_numbers_without_gaps(void **state)
{
	struct env *e = *state;
	json_t *f = json_pack("{s:s, s:s, s:i, s:f, s:s}", "customer", "Acme", "product", "W-1",
			      "quantity", 4, "unit_price", 2.5, "payment_terms", "net30");
	json_t *o = run(e, "invoice", "SO-8", "SO-8#11", "invoiced", json_incref(f), terms());
	expect_event(o, "invoiced");
	assert_string_equal(s(o, "fields.invoice_no"), "INV-2024-00001");
	assert_string_equal(s(o, "fields.invoice_due"), "2024-05-31");
	assert_float_equal(num(o, "order_total"), 10.0, 1e-9);
	json_decref(o);
	o = run(e, "invoice", "SO-8", "SO-8#11", "invoiced", json_incref(f), terms());
	assert_string_equal(s(o, "fields.invoice_no"), "INV-2024-00001");
	json_decref(o);
	json_object_set_new(f, "payment_terms", json_string("net60"));
	o = run(e, "invoice", "SO-9", "SO-9#11", "invoiced", f, terms());
	assert_string_equal(s(o, "fields.invoice_no"), "INV-2024-00002");
	assert_string_equal(s(o, "fields.invoice_due"), "2024-06-30");
	json_decref(o);
	json_t *doc = read_json(e, "invoices/INV/INV-2024-00001.json");
	assert_non_null(doc);
	assert_string_equal(s(doc, "customer"), "Acme");
	assert_float_equal(json_number_value(json_object_get(doc, "total")), 10.0, 1e-9);
	json_decref(doc);
}

static void test_invoice_unknown_terms_fail(void **state)
{
	struct env *e = *state;
	json_t *o = run(e, "invoice", "SO-8", "SO-8#11", "invoiced",
			json_pack("{s:f, s:s}", "order_total", 5.0, "payment_terms", "net90"), terms());
	expect_outcome(o, "failed", "payment terms 'net90' have no duration");
	json_decref(o);
}

/* --- notify ------------------------------------------------------------------------ */

static size_t files_in(struct env *e, const char *rel)
{
	char path[512];
	size_t n = 0;
	struct dirent *de;
	snprintf(path, sizeof path, "%s/%s", e->home, rel);
	DIR *d = opendir(path);
	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.' && !strstr(de->d_name, ".tmp");
	if (d)
		closedir(d);
	return n;
}

static void test_notify_records_once(void **state)
{
	struct env *e = *state;
	for (int i = 0; i < 2; i++) {
		json_t *o = run(e, "notify", "LEAD-3", "LEAD-3#13", "notified",
				json_pack("{s:s, s:s}", "company", "Acme", "contract_no", "C-1"),
				json_pack("{s:[s, s], s:s, s:s}", "roles", "ops", "finance", "message",
					  "Contract {contract_no} with {company} ({case})", "record_field",
					  "last_notice"));
		expect_event(o, "notified");
		assert_string_equal(s(o, "fields.last_notice"), "Contract C-1 with Acme (LEAD-3)");
		json_decref(o);
	}
	assert_int_equal(files_in(e, "notifications"), 1);
	json_t *n = read_json(e, "notifications/LEAD-3.13.json");
	assert_string_equal(s(n, "message"), "Contract C-1 with Acme (LEAD-3)");
	assert_int_equal(json_array_size(json_object_get(n, "roles")), 2);
	json_decref(n);
}

static void test_notify_runs_its_command(void **state)
{
	struct env *e = *state;
	char cmd[512];
	snprintf(cmd, sizeof cmd, "cat > %s/passed.json", e->home);
	json_t *o = run(e, "notify", "SO-1", "SO-1#4", "notified", json_object(),
			json_pack("{s:[s], s:s, s:[s, s, s]}", "users", "dana", "message", "hi",
				  "command", "/bin/sh", "-c", cmd));
	expect_event(o, "notified");
	json_decref(o);
	json_t *got = read_json(e, "passed.json");
	assert_string_equal(s(got, "message"), "hi");
	json_decref(got);
	o = run(e, "notify", "SO-2", "SO-2#4", "notified", json_object(),
		json_pack("{s:[s], s:[s, s, s]}", "users", "dana", "command", "/bin/sh", "-c",
			  "echo mail server down >&2; exit 1"));
	expect_outcome(o, "retry", "exited with status 1: mail server down");
	json_decref(o);
	o = run(e, "notify", "SO-3", "SO-3#4", "notified", json_object(), json_pack("{s:s}", "message", "x"));
	expect_outcome(o, "failed", "names no roles and no users");
	json_decref(o);
}

/* --- exec ---------------------------------------------------------------------------- */

static json_t *sh(const char *script)
{
	return json_pack("{s:[s, s, s]}", "command", "/bin/sh", "-c", script);
}

static void test_exec_outcomes(void **state)
{
	struct env *e = *state;
	json_t *o = run(e, "exec", "SO-1", "SO-1#3", "go,stop", json_pack("{s:i}", "n", 1),
			sh("grep -q '\"case\":\"SO-1\"' && printf '{\"event\":\"stop\",\"fields\":{\"note\":\"%s\"}}' \"$DOCKET_KEY\""));
	expect_event(o, "stop");
	assert_string_equal(s(o, "fields.note"), "SO-1#3");
	json_decref(o);
	o = run(e, "exec", "SO-1", "SO-1#3", "go,stop", json_object(), sh("cat >/dev/null"));
	expect_event(o, "go");
	json_decref(o);
	o = run(e, "exec", "SO-1", "SO-1#3", "go,stop", json_object(),
		sh("echo 'ERP is down' >&2; exit 75"));
	expect_outcome(o, "retry", "asked to retry: ERP is down");
	json_decref(o);
	o = run(e, "exec", "SO-1", "SO-1#3", "go,stop", json_object(),
		sh("echo 'no such order' >&2; exit 2"));
	expect_outcome(o, "failed", "exited with status 2: no such order");
	assert_non_null(strstr(e->log, "no such order"));
	json_decref(o);
	o = run(e, "exec", "SO-1", "SO-1#3", "go,stop", json_object(), sh("echo hello"));
	expect_outcome(o, "failed", "which is not an outcome");
	json_decref(o);
	o = run(e, "exec", "SO-1", "SO-1#3", "go,stop", json_object(), sh("echo '{\"retry\": \"later\"}'"));
	expect_outcome(o, "retry", "later");
	json_decref(o);
	o = run(e, "exec", "SO-1", "SO-1#3", "go,stop", json_object(),
		json_pack("{s:s}", "command", "/nonexistent/program"));
	expect_outcome(o, "failed", "/nonexistent/program");
	json_decref(o);
}

/* --- http ------------------------------------------------------------------------------ */

struct server {
	int fd;
	int port;
	char request[16384];
};

/* Serve one request: the path picks the answer. */
static void *serve_one(void *arg)
{
	struct server *sv = arg;
	int c = accept(sv->fd, NULL, NULL);
	size_t n = 0;
	const char *resp;

	if (c < 0)
		return NULL;
	for (;;) {
		ssize_t k = read(c, sv->request + n, sizeof sv->request - 1 - n);
		if (k <= 0)
			break;
		n += (size_t)k;
		sv->request[n] = '\0';
		char *body = strstr(sv->request, "\r\n\r\n");
		char *cl = strcasestr(sv->request, "Content-Length:");
		if (body && (!cl || strlen(body + 4) >= (size_t)atoi(cl + 15)))
			break;
	}
	const char *status, *body;
	if (strstr(sv->request, " /ok "))
		status = "200 OK", body = "{\"event\":\"stop\",\"fields\":{\"note\":\"posted\"}}";
	else if (strstr(sv->request, " /empty "))
		status = "204 No Content", body = "";
	else if (strstr(sv->request, " /busy "))
		status = "503 Service Unavailable", body = "try later\r\n";
	else
		status = "422 Unprocessable", body = "order rejected\n";
	char out[512];
	snprintf(out, sizeof out, "HTTP/1.1 %s\r\nContent-Length: %zu\r\n\r\n%s", status,
		 strlen(body), body);
	resp = out;
	if (write(c, resp, strlen(resp)) < 0)
		perror("write");
	close(c);
	return NULL;
}

static json_t *http_to(struct env *e, struct server *sv, const char *path, pthread_t *t)
{
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", sv->port, path);
	if (t)
		pthread_create(t, NULL, serve_one, sv);
	json_t *o = run(e, "http", "SO-1", "SO-1#3", "go,stop", json_pack("{s:i}", "n", 1),
			json_pack("{s:s, s:{s:s}, s:s}", "url", url, "headers", "X-Site", "north",
				  "timeout", "5s"));
	if (t)
		pthread_join(*t, NULL);
	return o;
}

static void test_http_maps_responses(void **state)
{
	struct env *e = *state;
	struct server sv = {0};
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	pthread_t t;

	sv.fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(sv.fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(sv.fd, 4), 0);
	getsockname(sv.fd, (struct sockaddr *)&a, &al);
	sv.port = ntohs(a.sin_port);

	json_t *o = http_to(e, &sv, "/ok", &t);
	expect_event(o, "stop");
	assert_string_equal(s(o, "fields.note"), "posted");
	assert_non_null(strcasestr(sv.request, "Idempotency-Key: SO-1#3"));
	assert_non_null(strcasestr(sv.request, "X-Site: north"));
	assert_non_null(strstr(sv.request, "\"case\":\"SO-1\""));
	json_decref(o);
	o = http_to(e, &sv, "/empty", &t);
	expect_event(o, "go");
	json_decref(o);
	o = http_to(e, &sv, "/busy", &t);
	expect_outcome(o, "retry", "answered HTTP 503: try later");
	json_decref(o);
	o = http_to(e, &sv, "/reject", &t);
	expect_outcome(o, "failed", "answered HTTP 422: order rejected");
	json_decref(o);
	close(sv.fd);
	/* Nobody listening any more: retry. */
	o = http_to(e, &sv, "/ok", NULL);
	expect_outcome(o, "retry", "http: POST http://127.0.0.1:");
	json_decref(o);
	o = run(e, "http", "SO-1", "SO-1#3", "go", json_object(), json_pack("{s:s}", "url", "file:///etc/passwd"));
	expect_outcome(o, "failed", "must be an http:// or https:// URL");
	json_decref(o);
}

/* --- template --------------------------------------------------------------------- */

static void test_template_compares_with_its_limit(void **state)
{
	struct env *e = *state;
	json_t *with = json_pack("{s:s, s:i, s:s, s:s}", "field", "order_total", "limit", 100,
				 "over", "needs_approval", "under", "approved");
	json_t *o = run(e, "template", "SO-1", "SO-1#2", "approved,needs_approval",
			json_pack("{s:f}", "order_total", 250.0), json_incref(with));
	expect_event(o, "needs_approval");
	json_decref(o);
	o = run(e, "template", "SO-1", "SO-1#2", "approved,needs_approval",
		json_pack("{s:i}", "order_total", 40), json_incref(with));
	expect_event(o, "approved");
	json_decref(o);
	o = run(e, "template", "SO-1", "SO-1#2", "approved", json_object(), with);
	expect_outcome(o, "failed", "no number in 'order_total'");
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_price_quotes_by_tier),
		T(test_price_below_margin_goes_to_a_manager),
		T(test_price_caps_an_agreed_discount),
		T(test_price_without_quantity_fails),
		T(test_legal_check_complete),
		T(test_legal_check_incomplete_says_what_is_missing),
		T(test_archive_files_the_case),
		T(test_stock_reserves_once),
		T(test_stock_unknown_warehouse_is_empty),
		T(test_stock_broken_inventory_is_retried),
		T(test_production_numbers_orders_once),
		T(test_production_rushes_for_an_early_date),
		T(test_shipping_checks_the_packing_list),
		T(test_shipping_mismatch),
		T(test_invoice_numbers_without_gaps),
		T(test_invoice_unknown_terms_fail),
		T(test_notify_records_once),
		T(test_notify_runs_its_command),
		T(test_exec_outcomes),
		T(test_http_maps_responses),
		T(test_template_compares_with_its_limit),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
