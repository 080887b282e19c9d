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

int docket_engine_timers_due(docket_engine *eng, int64_t now, size_t max,
			     json_t **out, docket_err *err)
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
	if ((rc = mdb_cursor_open(txn, eng->st.timers, &cur))) {
		rc = docket_store_err(err, rc, "reading timers");
		goto done;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && json_array_size(arr) < max;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const uint8_t *kp = k.mv_data;
		int64_t at = docket_tval(docket_rd64(kp));
		docket_def *d;
		char id[DOCKET_ID_MAX];
		if (at > now)
			break;
		if (k.mv_size != KEY_TIMER)
			continue;
		if (docket_case_load(eng, &eng->rd.rec, txn, kp + 8, &eng->rd.c, &d, err))
			continue;   /* check reports it; the loop must go on */
		const docket_stage *st = &d->wf->stages[eng->rd.c.stage];
		if (kp[20] >= st->ntimers)
			continue;
		docket_id_format(d, kp + 8, id);
		json_array_append_new(arr, json_pack("{s:s, s:I, s:i, s:s, s:o}",
			"case", id, "entry", (json_int_t)eng->rd.c.entry, "timer", kp[20],
			"event", st->events[st->timers[kp[20]].event].name,
			"at", docket_time_json(at)));
	}
	rc = rc == 0 || rc == MDB_NOTFOUND ? 0 : docket_store_err(err, rc, "reading timers");
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

int docket_engine_outbox_due(docket_engine *eng, int64_t now, size_t max,
			     json_t **out, docket_err *err)
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
	if ((rc = mdb_cursor_open(txn, eng->st.outbox, &cur))) {
		rc = docket_store_err(err, rc, "reading the outbox");
		goto done;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && json_array_size(arr) < max;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const uint8_t *kp = k.mv_data;
		int64_t nb = docket_tval(docket_rd64(kp));
		docket_def *d;
		char id[DOCKET_ID_MAX], key[DOCKET_ID_MAX + 16];
		if (nb > now)
			break;
		if (k.mv_size != KEY_OUTBOX || v.mv_size != 12)
			continue;
		if (docket_case_load(eng, &eng->rd.rec, txn, kp + 8, &eng->rd.c, &d, err))
			continue;
		const docket_stage *st = &d->wf->stages[eng->rd.c.stage];
		const docket_action *a = st->action;
		uint32_t entry = docket_rd32((uint8_t *)v.mv_data + 4);
		if (!a || entry != eng->rd.c.entry)
			continue;
		docket_id_format(d, kp + 8, id);
		snprintf(key, sizeof key, "%s#%u", id, entry);
		json_array_append_new(arr, json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:O,"
						     " s:I, s:o, s:I}",
			"case", id, "entry", (json_int_t)entry,
			"attempt", (json_int_t)docket_rd32((uint8_t *)v.mv_data + 8),
			"key", key, "workflow", d->wf->name, "stage", st->name,
			"plugin", a->plugin, "with", a->with,
			"timeout_ms", (json_int_t)(a->timeout_s * 1000),
			"fields", fields_json(d, &eng->rd.c), "at_ms", (json_int_t)nb));
	}
	rc = rc == 0 || rc == MDB_NOTFOUND ? 0 : docket_store_err(err, rc, "reading the outbox");
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
