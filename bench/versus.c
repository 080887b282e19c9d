/*
 * versus.c - see versus.h.  The route and the transition table are the
 * shipped sales-order workflow's (bench/workflows/bench-sales-order.yaml):
 * the longest common route, through stock check, a shortfall made by
 * production, shipping, invoicing and payment, so a case visits eleven
 * stages and one guard decides where it goes.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "versus.h"

const char versus_new_fields[] =
	"{\"customer\": \"Acme Fasteners Ltd\", \"customer_po\": \"PO-88412\","
	" \"product\": \"M8-BOLT-ZN\", \"spec\": \"M8x40 bolts, zinc plated, boxes of 200\","
	" \"quantity\": 4000, \"unit_price\": 0.12, \"delivery_date\": \"2025-07-01\","
	" \"payment_terms\": \"net30\"}";

const versus_step versus_route[VERSUS_STEPS] = {
	{"confirm", "{}"},
	{"short", "{\"in_stock\": 1500}"},
	{"plan", "{\"supply\": \"produce\", \"revised_delivery_date\": \"2025-07-15\"}"},
	{"customer_told", "{}"},
	{"ordered", "{\"production_order\": \"MO-20931\", \"production_due\": \"2025-07-10\"}"},
	{"produced", "{}"},
	{"shipped", "{\"tracking\": \"1Z999AA10123456784\", \"carrier\": \"UPS\"}"},
	{"customer_told", "{}"},
	{"invoiced", "{\"invoice_no\": \"INV-104233\", \"invoice_due\": \"2025-08-14\"}"},
	{"paid", "{\"paid_on\": \"2025-08-12\"}"},
};

#define D 86400
const versus_transition versus_transitions[] = {
	{"received", "confirm", "stock_check", NULL, NULL, 4 * 3600},
	{"received", "cancel", "cancelled", NULL, NULL, 0},
	{"stock_check", "in_stock", "shipping", NULL, NULL, 2 * D},
	{"stock_check", "short", "short_supply", NULL, NULL, D},
	{"stock_check", "cancel", "cancelled", NULL, NULL, 0},
	{"short_supply", "plan", "new_date", NULL, NULL, D},
	{"short_supply", "cancel", "cancelled", NULL, NULL, 0},
	{"new_date", "customer_told", "production_order", "supply", "produce", 4 * 3600},
	{"new_date", "customer_told", "procurement", NULL, NULL, 14 * D},
	{"new_date", "cancel", "cancelled", NULL, NULL, 0},
	{"procurement", "goods_received", "stock_check", NULL, NULL, 4 * 3600},
	{"procurement", "cancel", "cancelled", NULL, NULL, 0},
	{"production_order", "ordered", "in_production", NULL, NULL, 21 * D},
	{"production_order", "cancel", "cancelled", NULL, NULL, 0},
	{"in_production", "produced", "shipping", NULL, NULL, 2 * D},
	{"in_production", "cancel", "cancelled", NULL, NULL, 0},
	{"shipping", "shipped", "tracking_sent", NULL, NULL, 4 * 3600},
	{"shipping", "mismatch", "repack", NULL, NULL, D},
	{"repack", "repacked", "shipping", NULL, NULL, 2 * D},
	{"tracking_sent", "customer_told", "invoicing", NULL, NULL, D},
	{"invoicing", "invoiced", "collection", NULL, NULL, 30 * D},
	{"collection", "paid", "closed", NULL, NULL, 0},
	{"collection", "overdue", "collection_net60", "payment_terms", "net60", 30 * D},
	{"collection", "overdue", "dunning", NULL, NULL, 3600},
	{"collection_net60", "paid", "closed", NULL, NULL, 0},
	{"collection_net60", "overdue", "dunning", NULL, NULL, 3600},
	{"dunning", "notified", "chasing", NULL, NULL, 14 * D},
	{"dunning", "paid", "closed", NULL, NULL, 0},
	{"chasing", "promised", "chasing", NULL, NULL, 14 * D},
	{"chasing", "paid", "closed", NULL, NULL, 0},
	{"chasing", "write_off", "written_off", NULL, NULL, 0},
};
const size_t versus_ntransitions = sizeof versus_transitions / sizeof versus_transitions[0];

const char *const versus_stages[] = {
	"received", "stock_check", "short_supply", "new_date", "procurement",
	"production_order", "in_production", "shipping", "repack", "tracking_sent",
	"invoicing", "collection", "collection_net60", "dunning", "chasing",
	"closed", "cancelled", "written_off", NULL,
};

const versus_transition *versus_find(const char *stage, const char *event,
				     const char *(*field)(void *ctx, const char *name),
				     void *ctx)
{
	for (size_t i = 0; i < versus_ntransitions; i++) {
		const versus_transition *t = &versus_transitions[i];
		if (strcmp(t->from, stage) || strcmp(t->event, event))
			continue;
		if (!t->guard_field)
			return t;
		const char *v = field(ctx, t->guard_field);
		if (v && !strcmp(v, t->guard_value))
			return t;
	}
	return NULL;
}

int versus_stage_index(const char *stage)
{
	for (int i = 0; versus_stages[i]; i++)
		if (!strcmp(versus_stages[i], stage))
			return i;
	return -1;
}

int64_t versus_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

double versus_percentile(int64_t *ns, size_t n, double p)
{
	if (!n)
		return 0;
	qsort(ns, n, sizeof *ns, cmp64);
	size_t i = (size_t)(p / 100.0 * (double)n);
	return (double)ns[i < n ? i : n - 1];
}

/* One client thread's state; samples grow as it goes. */
typedef struct client {
	const versus_peer *peer;
	void *arg;
	int index;
	pthread_barrier_t *go;
	int64_t *end;
	versus_samples lat;
	long transitions;
	int failed;
} client;

int versus_sample(versus_samples *s, int64_t ns)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		int64_t *p = realloc(s->ns, cap * sizeof *p);
		if (!p)
			return -1;
		s->ns = p;
		s->cap = cap;
	}
	s->ns[s->n++] = ns;
	return 0;
}

static int timed(client *c, int64_t t0)
{
	return versus_sample(&c->lat, versus_now_ns() - t0);
}

static void *client_main(void *p)
{
	client *c = p;
	void *st = c->peer->open(c->index, c->arg);
	char id[64];

	c->failed = !st;
	pthread_barrier_wait(c->go);
	if (!st)
		return NULL;
	while (!c->failed && versus_now_ns() < *c->end) {
		int64_t t = versus_now_ns();
		if (c->peer->create(st, id, sizeof id) || timed(c, t)) {
			c->failed = 1;
			break;
		}
		c->transitions++;
		for (int i = 0; i < VERSUS_STEPS && versus_now_ns() < *c->end; i++) {
			t = versus_now_ns();
			int more = c->peer->advance(st, id, &versus_route[i]);
			if (more < 0 || more >= VERSUS_STEPS - i || timed(c, t)) {
				c->failed = 1;
				break;
			}
			c->transitions += 1 + more;
			i += more;
		}
	}
	c->peer->close(st);
	return NULL;
}

int versus_run(const versus_peer *peer, void *arg, int clients, double seconds,
	       versus_result *r)
{
	pthread_barrier_t go;
	pthread_t *th = calloc((size_t)clients, sizeof *th);
	client *cs = calloc((size_t)clients, sizeof *cs);
	int64_t end = INT64_MAX, *all = NULL;
	size_t total = 0;

	memset(r, 0, sizeof *r);
	if (!th || !cs || pthread_barrier_init(&go, NULL, (unsigned)clients + 1)) {
		free(th);
		free(cs);
		return -1;
	}
	for (int i = 0; i < clients; i++) {
		cs[i] = (client){.peer = peer, .arg = arg, .index = i, .go = &go, .end = &end};
		pthread_create(&th[i], NULL, client_main, &cs[i]);
	}
	/* Every client is connected before the clock starts. */
	end = versus_now_ns() + (int64_t)(seconds * 1e9);
	int64_t t0 = versus_now_ns();
	pthread_barrier_wait(&go);
	for (int i = 0; i < clients; i++) {
		pthread_join(th[i], NULL);
		r->failed |= cs[i].failed;
		r->transitions += cs[i].transitions;
		total += cs[i].lat.n;
	}
	r->seconds = (double)(versus_now_ns() - t0) / 1e9;
	all = malloc((total ? total : 1) * sizeof *all);
	total = 0;
	for (int i = 0; i < clients; i++) {
		if (all)
			memcpy(all + total, cs[i].lat.ns, cs[i].lat.n * sizeof *all);
		total += cs[i].lat.n;
		free(cs[i].lat.ns);
	}
	if (all) {
		r->p50_us = versus_percentile(all, total, 50) / 1e3;
		r->p99_us = versus_percentile(all, total, 99) / 1e3;
	}
	free(all);
	free(th);
	free(cs);
	pthread_barrier_destroy(&go);
	return r->failed ? -1 : 0;
}

static long long proc_field(pid_t pid, const char *file, const char *key)
{
	char path[64], line[256];
	long long v = -1;
	size_t k = strlen(key);

	if (pid)
		snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	else
		snprintf(path, sizeof path, "/proc/self/%s", file);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, key, k)) {
			v = atoll(line + k);
			break;
		}
	fclose(f);
	return v;
}

long long versus_write_bytes(pid_t pid)
{
	return proc_field(pid, "io", "write_bytes:");
}

long long versus_hwm_kb(pid_t pid)
{
	return proc_field(pid, "status", "VmHWM:");
}

void versus_print(const char *peer, int n, const versus_result *r, double bytes_per_tr,
		  long long rss_kb, double batch)
{
	printf("result peer=%s n=%d transitions=%ld seconds=%.2f tps=%.1f p50_us=%.1f "
	       "p99_us=%.1f bytes_per_tr=%.0f rss_kb=%lld batch=%.1f%s\n", peer, n,
	       r->transitions, r->seconds, r->seconds > 0 ? (double)r->transitions / r->seconds : 0,
	       r->p50_us, r->p99_us, bytes_per_tr, rss_kb, batch,
	       r->failed ? " failed=1" : "");
	fflush(stdout);
}
