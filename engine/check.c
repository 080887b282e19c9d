/*
 * check.c - fsck for the store: every invariant the engine keeps, checked
 * from one read-only snapshot, so it runs while the daemon works.
 *
 * Each case is checked against every index entry it implies (stage, SLA,
 * timers, outbox, failures, assignee) and its history chain is walked
 * back to entry 1.  Then each index's entry count is compared with the
 * number the cases imply: every implied entry exists and keys are unique,
 * so equal counts mean no index holds an entry no case accounts for.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REPORTED 1000

struct chk {
	docket_engine *eng;
	MDB_txn *txn;
	json_t *problems;
	size_t nproblems;
	/* entries the cases imply, per index */
	uint64_t bystage, sla, timers, outbox, failed, byuser, history;
	struct { uint32_t prefixno; uint64_t max; } *pfx;
	size_t npfx;
	char id[DOCKET_ID_MAX];
};

static void problem(struct chk *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct chk *k, const char *fmt, ...)
{
	char buf[DOCKET_ERR_MAX];
	va_list ap;

	k->nproblems++;
	if (k->nproblems > MAX_REPORTED)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	json_array_append_new(k->problems, json_string(buf));
}

static bool exists(struct chk *k, MDB_dbi dbi, const void *key, size_t kl, MDB_val *v)
{
	MDB_val kk = {kl, (void *)key}, vv;
	return mdb_get(k->txn, dbi, &kk, v ? v : &vv) == 0;
}

static void note_prefix(struct chk *k, const uint8_t *ckey)
{
	uint32_t p = docket_rd32(ckey);
	uint64_t n = docket_rd64(ckey + 4);

	for (size_t i = 0; i < k->npfx; i++)
		if (k->pfx[i].prefixno == p) {
			if (n > k->pfx[i].max)
				k->pfx[i].max = n;
			return;
		}
	void *v = realloc(k->pfx, (k->npfx + 1) * sizeof *k->pfx);
	if (!v)
		return;
	k->pfx = v;
	k->pfx[k->npfx].prefixno = p;
	k->pfx[k->npfx++].max = n;
}

static void check_fields(struct chk *k, const docket_def *d, const docket_case *c)
{
	for (uint32_t i = 0; i < c->nfields; i++) {
		const docket_field *f = &d->wf->fields[i];
		docket_err e;
		if (c->fields[i].t == DOCKET_V_NULL) {
			if (f->required)
				problem(k, "%s: required field '%s' is not set", k->id, f->name);
			continue;
		}
		if (docket_field_check(f, &c->fields[i], &e))
			problem(k, "%s: field '%s': %s", k->id, f->name, e.msg);
	}
}

static void check_history(struct chk *k, const docket_case *c, const uint8_t *ckey)
{
	docket_hist *h = &k->eng->rd.h;
	uint64_t g = c->head;
	uint8_t key[8];

	k->history += c->seq;
	for (uint32_t i = c->seq; i > 0; i--) {
		MDB_val kk = {8, key}, v;
		docket_be64(key, g);
		if (mdb_get(k->txn, k->eng->st.history, &kk, &v)) {
			problem(k, "%s: history entry %u is missing", k->id, i);
			return;
		}
		if (docket_hist_decode(v.mv_data, v.mv_size, h)) {
			problem(k, "%s: history entry %u does not decode", k->id, i);
			return;
		}
		if (h->seq != i || memcmp(h->ckey, ckey, DOCKET_CKEY)) {
			problem(k, "%s: history entry %u is out of sequence (found seq %u)",
				k->id, i, h->seq);
			return;
		}
		if (i == c->entry && (h->to != (int32_t)c->stage ||
				      (h->kind != DOCKET_H_CREATE && h->kind != DOCKET_H_EVENT)))
			problem(k, "%s: history entry %u did not enter the case's stage", k->id, i);
		if ((i == 1) != (h->kind == DOCKET_H_CREATE))
			problem(k, "%s: history entry %u: creation must be entry 1 only", k->id, i);
		g = h->prev;
	}
	if (g != 0)
		problem(k, "%s: history goes on before entry 1", k->id);
	if (c->entry < 1 || c->entry > c->seq)
		problem(k, "%s: stage entry %u is not in its history", k->id, c->entry);
}

static void check_indexes(struct chk *k, const docket_def *d, const docket_case *c,
			  const uint8_t *ckey)
{
	docket_store *st = &k->eng->st;
	const docket_stage *s = &d->wf->stages[c->stage];
	uint8_t key[KEY_TIMER];
	MDB_val v;
	int64_t due = docket_case_due(d, c);

	docket_key_bystage(key, d->wfno, d->sid[c->stage], ckey);
	k->bystage++;
	if (!exists(k, st->bystage, key, KEY_BYSTAGE, &v))
		problem(k, "%s: missing from the index of stage '%s'", k->id, s->name);
	else if (v.mv_size != 16 || docket_tval(docket_rd64(v.mv_data)) != c->entered ||
		 docket_rd64((uint8_t *)v.mv_data + 8) != (due ? docket_tkey(due) : 0))
		problem(k, "%s: stage index disagrees on entry time or due time", k->id);
	if (due) {
		k->sla++;
		docket_key_sla(key, due, ckey);
		if (!exists(k, st->sla, key, KEY_SLA, NULL))
			problem(k, "%s: SLA deadline missing from the deadline index", k->id);
	}
	for (size_t i = 0; i < s->ntimers && !s->terminal; i++) {
		uint8_t fk[KEY_FAILED];
		docket_key_timer(key, docket_timer_at(d, c, i), ckey, (int)i);
		docket_key_failed(fk, ckey, FAILED_TIMER, (int)i);
		bool sched = exists(k, st->timers, key, KEY_TIMER, NULL);
		bool parked = exists(k, st->failed, fk, KEY_FAILED, NULL);
		k->timers += sched;
		k->failed += parked;
		if (sched == parked)
			problem(k, "%s: timer %zu is %s", k->id, i,
				sched ? "both scheduled and parked" : "neither scheduled nor parked");
		if (parked && !(c->flags & DOCKET_CF_PARKED))
			problem(k, "%s: timer %zu parked but the case does not say so", k->id, i);
	}
	if (c->flags & DOCKET_CF_OUTBOX) {
		k->outbox++;
		docket_key_outbox(key, c->notbefore, ckey);
		if (!s->action)
			problem(k, "%s: action queued in stage '%s', which has none", k->id, s->name);
		if (!exists(k, st->outbox, key, KEY_OUTBOX, &v))
			problem(k, "%s: queued action missing from the outbox", k->id);
		else if (v.mv_size != 12 || docket_rd32((uint8_t *)v.mv_data + 4) != c->entry ||
			 docket_rd32((uint8_t *)v.mv_data + 8) != c->attempt)
			problem(k, "%s: outbox entry disagrees with the case", k->id);
	}
	if (c->flags & DOCKET_CF_FAILED) {
		k->failed++;
		docket_key_failed(key, ckey, FAILED_ACTION, 0);
		if (!exists(k, st->failed, key, KEY_FAILED, NULL))
			problem(k, "%s: failed action not recorded", k->id);
		if (c->flags & DOCKET_CF_OUTBOX)
			problem(k, "%s: action both failed and queued", k->id);
	}
	if (c->assignee) {
		uint32_t uno;
		k->byuser++;
		if (docket_intern(st, k->txn, DOCKET_N_USER, 0, c->assignee, c->assignee_len, false,
				  &uno, NULL)) {
			problem(k, "%s: assignee has no user id", k->id);
		} else {
			docket_key_byuser(key, uno, ckey);
			if (!exists(k, st->byuser, key, KEY_BYUSER, NULL))
				problem(k, "%s: missing from its assignee's index", k->id);
		}
	}
}

static void check_case(struct chk *k, const uint8_t *ckey)
{
	docket_engine *eng = k->eng;
	docket_def *d;
	docket_err e;
	int rc = docket_case_load(eng, &eng->rd.rec, k->txn, ckey, &eng->rd.c, &d, &e);

	note_prefix(k, ckey);
	if (rc) {
		docket_id_unknown(eng, k->txn, ckey, k->id);
		problem(k, "%s: %s", k->id, e.msg);
		return;
	}
	docket_id_format(d, ckey, k->id);
	if (docket_rd32(ckey) != d->prefixno)
		problem(k, "%s: id prefix differs from its workflow's", k->id);
	check_fields(k, d, &eng->rd.c);
	check_indexes(k, d, &eng->rd.c, ckey);
	check_history(k, &eng->rd.c, ckey);
}

static uint64_t count(struct chk *k, MDB_dbi dbi)
{
	MDB_stat s;
	return mdb_stat(k->txn, dbi, &s) ? 0 : s.ms_entries;
}

static void check_counts(struct chk *k)
{
	docket_store *st = &k->eng->st;
	const struct { const char *name; MDB_dbi dbi; uint64_t want; } idx[] = {
		{"stage index", st->bystage, k->bystage},
		{"SLA index", st->sla, k->sla},
		{"timer index", st->timers, k->timers},
		{"outbox", st->outbox, k->outbox},
		{"failure index", st->failed, k->failed},
		{"assignee index", st->byuser, k->byuser},
		{"history", st->history, k->history},
	};

	for (size_t i = 0; i < sizeof idx / sizeof *idx; i++) {
		uint64_t have = count(k, idx[i].dbi);
		if (have != idx[i].want)
			problem(k, "%s holds %llu entries, the cases account for %llu", idx[i].name,
				(unsigned long long)have, (unsigned long long)idx[i].want);
	}
	for (size_t i = 0; i < k->npfx; i++) {
		uint8_t pk[4];
		MDB_val v;
		const char *name = "?";
		size_t nl = 1;
		docket_be32(pk, k->pfx[i].prefixno);
		docket_intern_name(st, k->txn, k->pfx[i].prefixno, NULL, NULL, &name, &nl, NULL);
		if (!exists(k, st->counters, pk, 4, &v) || v.mv_size != 8)
			problem(k, "prefix %.*s has cases but no id counter", (int)nl, name);
		else if (docket_rd64(v.mv_data) < k->pfx[i].max)
			problem(k, "id counter of %.*s (%llu) is below its case %.*s-%llu", (int)nl,
				name, (unsigned long long)docket_rd64(v.mv_data), (int)nl, name,
				(unsigned long long)k->pfx[i].max);
	}
}

static void check_defs(struct chk *k)
{
	MDB_cursor *cur;
	MDB_val key, v;
	int rc;

	if (mdb_cursor_open(k->txn, k->eng->st.workflows, &cur))
		return;
	for (rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
		docket_def *d;
		docket_err e;
		if (v.mv_size != 4 ||
		    docket_catalog_def(&k->eng->cat, &k->eng->st, k->txn, docket_rd32(v.mv_data), &d, &e))
			problem(k, "current definition of workflow %u: %s",
				key.mv_size == 4 ? docket_rd32(key.mv_data) : 0,
				v.mv_size == 4 ? e.msg : "malformed");
	}
	mdb_cursor_close(cur);
}

int docket_engine_check(docket_engine *eng, json_t **problems, docket_err *err)
{
	struct chk k = {.eng = eng};
	MDB_cursor *cur;
	MDB_val key, v;
	int rc;

	if (problems)
		*problems = NULL;
	if ((rc = docket_store_begin(&eng->st, NULL, MDB_RDONLY, &k.txn, err)))
		return rc;
	k.problems = json_array();
	check_defs(&k);
	if ((rc = mdb_cursor_open(k.txn, eng->st.cases, &cur))) {
		rc = docket_store_err(err, rc, "reading cases");
		goto out;
	}
	for (rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
		uint8_t ckey[DOCKET_CKEY];
		if (key.mv_size != DOCKET_CKEY) {
			problem(&k, "case key of %zu bytes", key.mv_size);
			continue;
		}
		memcpy(ckey, key.mv_data, DOCKET_CKEY);
		check_case(&k, ckey);
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND) {
		rc = docket_store_err(err, rc, "reading cases");
		goto out;
	}
	check_counts(&k);
	if (k.nproblems > MAX_REPORTED)
		problem(&k, "%zu more problems not listed", k.nproblems - MAX_REPORTED);
	rc = k.nproblems ? docket_err_set(err, DOCKET_ECORRUPT, "store check found %zu problem%s",
					  k.nproblems, k.nproblems == 1 ? "" : "s") : 0;
out:
	docket_store_end_read(&eng->st, k.txn);
	free(k.pfx);
	if (problems && (rc == 0 || rc == DOCKET_ECORRUPT))
		*problems = k.problems;
	else
		json_decref(k.problems);
	return rc;
}

int docket_engine_backup(docket_engine *eng, const char *dir, docket_err *err)
{
	return docket_store_backup(&eng->st, dir, err);
}
