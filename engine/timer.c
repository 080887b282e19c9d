/*
 * timer.c - what the daemon's loop asks: when to wake next, which timers
 * are due, which action runs are due.
 *
 * Each answer is a range scan from the start of a time-ordered index
 * (timers, outbox), so its cost is the number of entries returned, never
 * the number of cases.  Parked timers and failed actions leave those
 * indexes (they live in `failed`), so a refusal never makes the loop spin.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

static int first_time(MDB_txn *txn, MDB_dbi dbi, int64_t *at, bool *found, docket_err *err)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, dbi, &cur);

	if (rc)
		return docket_store_err(err, rc, "reading deadlines");
	rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return docket_store_err(err, rc, "reading deadlines");
	int64_t t = docket_tval(docket_rd64(k.mv_data));
	if (!*found || t < *at)
		*at = t;
	*found = true;
	return 0;
}

int docket_engine_next_deadline(docket_engine *eng, int64_t *at_ms, docket_err *err)
{
	bool found = false;
	MDB_txn *txn;
	int rc = docket_store_begin(&eng->st, NULL, MDB_RDONLY, &txn, err);

	if (rc)
		return rc;
	rc = first_time(txn, eng->st.timers, at_ms, &found, err);
	if (rc == 0)
		rc = first_time(txn, eng->st.outbox, at_ms, &found, err);
	docket_store_end_read(&eng->st, txn);
	if (rc == 0 && !found)
		return docket_err_set(err, DOCKET_ENOENT, "nothing is scheduled");
	return rc;
}

/* One due entry of a deadline index as a JSON row, or NULL to pass over
 * it (malformed, or no longer matching its case: check reports those). */
typedef json_t *due_row(docket_engine *eng, MDB_txn *txn, const MDB_val *k,
			const MDB_val *v, int64_t at);

/* Rows for the entries of index `dbi` due at `now`, earliest first, at
 * most max (0: 100).  The index keys start with their time. */
static int scan_due(docket_engine *eng, MDB_dbi dbi, const char *what, int64_t now,
		    size_t max, due_row *row, json_t **out, docket_err *err)
{
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	json_t *arr = json_array();
	int rc;

	*out = NULL;
	if (!arr)
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	if (!max)
		max = 100;
	if ((rc = docket_store_begin(&eng->st, NULL, MDB_RDONLY, &txn, err)))
		goto out;
	if ((rc = mdb_cursor_open(txn, dbi, &cur))) {
		rc = docket_store_err(err, rc, what);
		goto done;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && json_array_size(arr) < max;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		int64_t at = docket_tval(docket_rd64(k.mv_data));
		if (at > now)
			break;
		json_t *r = row(eng, txn, &k, &v, at);
		if (r)
			json_array_append_new(arr, r);
	}
	rc = rc == 0 || rc == MDB_NOTFOUND ? 0 : docket_store_err(err, rc, what);
	mdb_cursor_close(cur);
done:
	docket_store_end_read(&eng->st, txn);
out:
	if (rc) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

static json_t *timer_row(docket_engine *eng, MDB_txn *txn, const MDB_val *k,
			 const MDB_val *v, int64_t at)
{
	const uint8_t *kp = k->mv_data;
	docket_def *d;
	char id[DOCKET_ID_MAX];

	(void)v;
	if (k->mv_size != KEY_TIMER ||
	    docket_case_load(eng, &eng->rd.rec, txn, kp + 8, &eng->rd.c, &d, NULL))
		return NULL;
	const docket_stage *st = &d->wf->stages[eng->rd.c.stage];
	if (kp[20] >= st->ntimers)
		return NULL;
	docket_id_format(d, kp + 8, id);
	return json_pack("{s:s, s:I, s:i, s:s, s:o}",
		"case", id, "entry", (json_int_t)eng->rd.c.entry, "timer", kp[20],
		"event", st->events[st->timers[kp[20]].event].name,
		"at", docket_time_json(at));
}

int docket_engine_timers_due(docket_engine *eng, int64_t now, size_t max,
			     json_t **out, docket_err *err)
{
	return scan_due(eng, eng->st.timers, "reading timers", now, max, timer_row, out, err);
}

/* The case's fields as a plain object for a plugin (every field: plugins
 * act for the system). */
static json_t *fields_json(const docket_def *d, const docket_case *c)
{
	json_t *o = json_object();

	for (uint32_t i = 0; o && i < c->nfields; i++)
		if (c->fields[i].t != DOCKET_V_NULL)
			json_object_set_new(o, d->wf->fields[i].name,
					    docket_value_json(&d->wf->fields[i], &c->fields[i]));
	return o;
}

static json_t *outbox_row(docket_engine *eng, MDB_txn *txn, const MDB_val *k,
			  const MDB_val *v, int64_t nb)
{
	const uint8_t *kp = k->mv_data;
	docket_def *d;
	char id[DOCKET_ID_MAX], key[DOCKET_ID_MAX + 16];

	if (k->mv_size != KEY_OUTBOX || v->mv_size != 12 ||
	    docket_case_load(eng, &eng->rd.rec, txn, kp + 8, &eng->rd.c, &d, NULL))
		return NULL;
	const docket_stage *st = &d->wf->stages[eng->rd.c.stage];
	const docket_action *a = st->action;
	uint32_t entry = docket_rd32((uint8_t *)v->mv_data + 4);
	if (!a || entry != eng->rd.c.entry)
		return NULL;
	docket_id_format(d, kp + 8, id);
	snprintf(key, sizeof key, "%s#%u", id, entry);
	return json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:O, s:I, s:o, s:I}",
		"case", id, "entry", (json_int_t)entry,
		"attempt", (json_int_t)docket_rd32((uint8_t *)v->mv_data + 8),
		"key", key, "workflow", d->wf->name, "stage", st->name,
		"plugin", a->plugin, "with", a->with,
		"timeout_ms", (json_int_t)(a->timeout_s * 1000),
		"fields", fields_json(d, &eng->rd.c), "at_ms", (json_int_t)nb);
}

int docket_engine_outbox_due(docket_engine *eng, int64_t now, size_t max,
			     json_t **out, docket_err *err)
{
	return scan_due(eng, eng->st.outbox, "reading the outbox", now, max, outbox_row, out, err);
}
