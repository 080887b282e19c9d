/*
 * versus_lmdb - the limit Docket's daemon should approach: the records and
 * indexes of one transition (docs/design.md's layout: case record, history
 * appended under a global sequence, by-stage entry, SLA deadline, id
 * counter) written straight with the LMDB API, full sync, in write
 * transactions of --batch transitions, the size the daemon achieved at the
 * same N.  No socket, no JSON, no protocol: what is left is the store.
 *
 *   versus_lmdb --file F [--preload K] [--batch B --clients N --seconds S]
 *
 * N cases are in flight along the route; each batch moves the next B of
 * them one step.  A transition's latency is its batch's, begin to commit.
 * Bytes written and peak RSS are this process's own (/proc/self).
 */
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <lmdb.h>

#include "versus.h"

#define MAXF 40
#define PREFIX 1u
#define WFNO 1u

static MDB_env *env;
static MDB_dbi cases, history, bystage, sla, counters;
static uint64_t gseq, nextno;

/* A field list: values by field index (NULL: unset). */
typedef struct fields {
	const char *v[MAXF];
	unsigned char len[MAXF];
} fields;

static const char *names[MAXF];
static int nnames;

static int field_index(const char *name)
{
	for (int i = 0; i < nnames; i++)
		if (!strcmp(names[i], name))
			return i;
	names[nnames] = strdup(name);
	return nnames < MAXF - 1 ? nnames++ : MAXF - 1;
}

/* A step's fields, parsed once; the strings live as long as the program. */
static void parse_fields(const char *json, fields *f)
{
	json_t *o = json_loads(json, 0, NULL), *v;
	const char *k;

	memset(f, 0, sizeof *f);
	json_object_foreach(o, k, v) {
		int i = field_index(k);
		char *s = json_is_string(v) ? strdup(json_string_value(v))
					    : json_dumps(v, JSON_ENCODE_ANY);
		f->v[i] = s;
		f->len[i] = (unsigned char)strlen(s);
	}
	json_decref(o);
}

static fields new_f, step_f[VERSUS_STEPS];

static void be(unsigned char *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

typedef struct rec {
	uint8_t stage;
	uint32_t seq;
	int64_t created, updated, since, due;
	uint64_t last;
} rec;

/* rec then (index, length, bytes) per set field. */
static size_t encode(unsigned char *out, const rec *r, const fields *f)
{
	size_t n = sizeof *r;
	memcpy(out, r, sizeof *r);
	for (int i = 0; i < MAXF; i++)
		if (f->v[i]) {
			out[n++] = (unsigned char)i;
			out[n++] = f->len[i];
			memcpy(out + n, f->v[i], f->len[i]);
			n += f->len[i];
		}
	return n;
}

static void decode(const MDB_val *v, rec *r, fields *f)
{
	const unsigned char *p = v->mv_data;
	size_t n = sizeof *r;

	memcpy(r, p, sizeof *r);
	memset(f, 0, sizeof *f);
	while (n + 2 <= v->mv_size) {
		f->v[p[n]] = (const char *)p + n + 2;
		f->len[p[n]] = p[n + 1];
		n += 2 + p[n + 1];
	}
}

static const char *lookup(void *ctx, const char *name)
{
	static __thread char buf[256];
	fields *f = ctx;
	for (int i = 0; i < nnames; i++)
		if (!strcmp(names[i], name) && f->v[i]) {
			snprintf(buf, sizeof buf, "%.*s", f->len[i], f->v[i]);
			return buf;
		}
	return NULL;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int put(MDB_txn *t, MDB_dbi d, void *k, size_t kn, void *v, size_t vn, unsigned fl)
{
	MDB_val key = {kn, k}, val = {vn, v};
	int rc = mdb_put(t, d, &key, &val, fl);
	if (rc)
		fprintf(stderr, "versus_lmdb: put: %s\n", mdb_strerror(rc));
	return rc;
}

static int del(MDB_txn *t, MDB_dbi d, void *k, size_t kn)
{
	MDB_val key = {kn, k};
	int rc = mdb_del(t, d, &key, NULL);
	if (rc)
		fprintf(stderr, "versus_lmdb: del: %s\n", mdb_strerror(rc));
	return rc;
}

static void ckey(unsigned char *k, uint64_t no)
{
	be(k, PREFIX, 4);
	be(k + 4, no, 8);
}

/* history entry: ckey seq prev at kind event from to, then the fields. */
static int append(MDB_txn *t, const unsigned char *ck, const rec *r, uint8_t ev,
		  uint8_t from, const fields *f, int64_t at)
{
	unsigned char key[8], v[2048];
	size_t n = 0;

	be(key, ++gseq, 8);
	memcpy(v, ck, 12);
	n = 12;
	memcpy(v + n, &r->seq, 4), n += 4;
	memcpy(v + n, &r->last, 8), n += 8;
	memcpy(v + n, &at, 8), n += 8;
	v[n++] = ev ? 'e' : 'c';
	v[n++] = ev;
	v[n++] = from;
	v[n++] = r->stage;
	rec none = {0};
	n += encode(v + n, &none, f) - sizeof none;
	return put(t, history, key, 8, v, n, MDB_APPEND);
}

static int stage_entry(MDB_txn *t, const unsigned char *ck, const rec *r, int remove)
{
	unsigned char k[20], v[16];
	be(k, WFNO, 4);
	be(k + 4, r->stage, 4);
	memcpy(k + 8, ck, 12);
	if (remove)
		return del(t, bystage, k, 20);
	memcpy(v, &r->since, 8);
	memcpy(v + 8, &r->due, 8);
	return put(t, bystage, k, 20, v, 16, 0);
}

static int deadline(MDB_txn *t, const unsigned char *ck, const rec *r, int remove)
{
	unsigned char k[20];
	uint32_t wf = WFNO;
	if (!r->due)
		return 0;
	be(k, (uint64_t)r->due ^ (1ull << 63), 8);
	memcpy(k + 8, ck, 12);
	return remove ? del(t, sla, k, 20) : put(t, sla, k, 20, &wf, 4, 0);
}

/* A new case (closed as the route leaves it when closed): number into *no. */
static int create(MDB_txn *t, int64_t now, uint64_t *no, int closed)
{
	unsigned char ck[12], v[2048], pk[4];
	rec r = {.stage = 0, .seq = 1, .created = now, .updated = now, .since = now,
		 .due = now + 86400000};
	fields f = new_f;

	*no = ++nextno;
	be(pk, PREFIX, 4);
	ckey(ck, *no);
	if (put(t, counters, pk, 4, no, 8, 0) || append(t, ck, &r, 0, 0, &new_f, now))
		return -1;
	r.last = gseq;
	if (closed) {
		for (int i = 0; i < VERSUS_STEPS; i++) {
			for (int j = 0; j < MAXF; j++)
				if (step_f[i].v[j])
					f.v[j] = step_f[i].v[j], f.len[j] = step_f[i].len[j];
			r.seq++;
			if (append(t, ck, &r, (uint8_t)(i + 1), r.stage, &step_f[i], now))
				return -1;
			r.last = gseq;
		}
		r.stage = (uint8_t)versus_stage_index("closed");
		r.due = 0;
	}
	return put(t, cases, ck, 12, v, encode(v, &r, &f), 0) || stage_entry(t, ck, &r, 0) ||
	       deadline(t, ck, &r, 0) ? -1 : 0;
}

static int advance(MDB_txn *t, uint64_t no, int step, int64_t now)
{
	unsigned char ck[12], v[2048];
	MDB_val key = {12, ck}, val;
	rec r;
	fields f;

	ckey(ck, no);
	if (mdb_get(t, cases, &key, &val)) {
		fprintf(stderr, "versus_lmdb: no case %llu\n", (unsigned long long)no);
		return -1;
	}
	decode(&val, &r, &f);
	const versus_transition *tr = versus_find(versus_stages[r.stage],
						  versus_route[step].event, lookup, &f);
	if (!tr) {
		fprintf(stderr, "versus_lmdb: %s not allowed in %s\n", versus_route[step].event,
			versus_stages[r.stage]);
		return -1;
	}
	/* f points into the map: the new record is encoded before any write. */
	for (int j = 0; j < MAXF; j++)
		if (step_f[step].v[j])
			f.v[j] = step_f[step].v[j], f.len[j] = step_f[step].len[j];
	rec old = r;
	r.stage = (uint8_t)versus_stage_index(tr->to);
	r.seq++;
	r.updated = r.since = now;
	r.due = tr->sla_s ? now + (int64_t)tr->sla_s * 1000 : 0;
	size_t n = encode(v, &r, &f);
	if (stage_entry(t, ck, &old, 1) || deadline(t, ck, &old, 1) ||
	    append(t, ck, &r, (uint8_t)(step + 1), old.stage, &step_f[step], now))
		return -1;
	r.last = gseq;
	memcpy(v + offsetof(rec, last), &r.last, 8);
	return put(t, cases, ck, 12, v, n, 0) || stage_entry(t, ck, &r, 0) ||
	       deadline(t, ck, &r, 0) ? -1 : 0;
}

static int open_env(const char *file, unsigned flags)
{
	MDB_txn *t;
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_maxdbs(env, 8)) ||
	    (rc = mdb_env_set_mapsize(env, (size_t)8 << 30)) ||
	    (rc = mdb_env_open(env, file, MDB_NOSUBDIR | flags, 0600)) ||
	    (rc = mdb_txn_begin(env, NULL, 0, &t)))
		goto err;
	if ((rc = mdb_dbi_open(t, "cases", MDB_CREATE, &cases)) ||
	    (rc = mdb_dbi_open(t, "history", MDB_CREATE, &history)) ||
	    (rc = mdb_dbi_open(t, "bystage", MDB_CREATE, &bystage)) ||
	    (rc = mdb_dbi_open(t, "sla", MDB_CREATE, &sla)) ||
	    (rc = mdb_dbi_open(t, "counters", MDB_CREATE, &counters)))
		goto err;
	if (!mdb_cursor_open(t, history, &c)) {
		if (!mdb_cursor_get(c, &k, &v, MDB_LAST))
			for (size_t i = 0; i < 8; i++)
				gseq = gseq << 8 | ((unsigned char *)k.mv_data)[i];
		mdb_cursor_close(c);
	}
	unsigned char pk[4];
	be(pk, PREFIX, 4);
	k = (MDB_val){4, pk};
	if (!mdb_get(t, counters, &k, &v))
		memcpy(&nextno, v.mv_data, 8);
	return mdb_txn_commit(t);
err:
	fprintf(stderr, "versus_lmdb: %s: %s\n", file, mdb_strerror(rc));
	return rc;
}

static int preload(long k)
{
	int64_t now = now_ms();
	for (long done = 0; done < k;) {
		MDB_txn *t;
		uint64_t no;
		if (mdb_txn_begin(env, NULL, 0, &t))
			return -1;
		for (int i = 0; i < 10000 && done < k; i++, done++)
			if (create(t, now, &no, 1)) {
				mdb_txn_abort(t);
				return -1;
			}
		if (mdb_txn_commit(t))
			return -1;
	}
	return mdb_env_sync(env, 1);
}

/* Batches of `batch` steps over n cases in flight, for the given seconds. */
static int run(int n, int batch, double seconds, versus_result *res)
{
	uint64_t *no = calloc((size_t)n, sizeof *no);
	int *step = calloc((size_t)n, sizeof *step);
	size_t cap = 1 << 16, cnt = 0;
	int64_t *ns = malloc(cap * sizeof *ns), t0 = versus_now_ns();
	int64_t end = t0 + (int64_t)(seconds * 1e9);
	int slot = 0, rc = 0;

	memset(res, 0, sizeof *res);
	for (int i = 0; i < n; i++)
		step[i] = -1;  /* next: create */
	while (!rc && versus_now_ns() < end) {
		MDB_txn *t;
		int64_t b0 = versus_now_ns(), now = now_ms();
		if (mdb_txn_begin(env, NULL, 0, &t))
			break;
		for (int i = 0; i < batch && !rc; i++, slot = (slot + 1) % n) {
			if (step[slot] < 0)
				rc = create(t, now, &no[slot], 0);
			else
				rc = advance(t, no[slot], step[slot], now);
			step[slot] = step[slot] + 1 == VERSUS_STEPS ? -1 : step[slot] + 1;
		}
		if (rc || mdb_txn_commit(t)) {
			if (rc)
				mdb_txn_abort(t);
			rc = -1;
			break;
		}
		int64_t d = versus_now_ns() - b0;
		for (int i = 0; i < batch; i++) {
			if (cnt == cap) {
				cap *= 2;
				ns = realloc(ns, cap * sizeof *ns);
			}
			ns[cnt++] = d;
		}
	}
	res->seconds = (double)(versus_now_ns() - t0) / 1e9;
	res->transitions = (long)cnt;
	res->p50_us = versus_percentile(ns, cnt, 50) / 1e3;
	res->p99_us = versus_percentile(ns, cnt, 99) / 1e3;
	res->failed = rc != 0;
	free(ns);
	free(no);
	free(step);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"file", required_argument, NULL, 'f'},
		{"preload", required_argument, NULL, 'k'},
		{"batch", required_argument, NULL, 'b'},
		{"clients", required_argument, NULL, 'n'},
		{"seconds", required_argument, NULL, 't'},
		{0},
	};
	const char *file = NULL;
	int o, clients = 0, rc = 0;
	long k = -1;
	double seconds = 10, batch = 1;
	versus_result r;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'f': file = optarg; break;
		case 'k': k = atol(optarg); break;
		case 'b': batch = atof(optarg); break;
		case 'n': clients = atoi(optarg); break;
		case 't': seconds = atof(optarg); break;
		default:
			fprintf(stderr, "usage: versus_lmdb --file F [--preload K] "
				"[--batch B --clients N --seconds S]\n");
			return 2;
		}
	}
	parse_fields(versus_new_fields, &new_f);
	for (int i = 0; i < VERSUS_STEPS; i++)
		parse_fields(versus_route[i].fields, &step_f[i]);
	if (!file || open_env(file, 0))
		return 2;
	if (k >= 0)
		rc = preload(k) ? 1 : 0;
	/* The daemon's average batch, rounded, at least 1, at most N. */
	int b = (int)(batch + 0.5);
	b = b < 1 ? 1 : b > clients ? clients : b;
	if (!rc && clients > 0) {
		long long w0 = versus_write_bytes(0);
		rc = run(clients, b, seconds, &r) ? 1 : 0;
		long long w1 = versus_write_bytes(0);
		versus_print("raw-lmdb", clients, &r,
			     r.transitions ? (double)(w1 - w0) / (double)r.transitions : -1,
			     versus_hwm_kb(0), b);
	}
	mdb_env_close(env);
	return rc;
}
