/*
 * query.c - the reads: a case, its history, lists, stuck cases, stats.
 *
 * Every read runs in one read-only transaction, so what it returns is one
 * consistent snapshot, and builds a jansson document with the keys the
 * product contract promises.  Fields marked visible_to are left out for
 * readers without one of those roles, in every document that shows
 * fields (cases, history changes).
 */
#include "internal.h"
#include "duration.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_MS 86400000

static void slow_time_format(int64_t ms, char buf[64])
{
	int64_t s = ms / 1000, r = ms % 1000;
	struct tm tm;

	if (r < 0) {
		r += 1000;
		s--;
	}
	time_t t = (time_t)s;
	gmtime_r(&t, &tm);
	snprintf(buf, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)r);
}

/* By hand for the years a date field may hold: every case read formats
 * four of these, and gmtime_r with snprintf cost more than the rest of
 * the case view.  Other instants (never written by the engine) take the
 * slow road. */
void docket_time_format(int64_t ms, char buf[64])
{
	int64_t day = ms / DAY_MS, r = ms % DAY_MS;

	if (r < 0) {
		r += DAY_MS;
		day--;
	}
	if (day < DOCKET_DAY_MIN || day > DOCKET_DAY_MAX) {
		slow_time_format(ms, buf);
		return;
	}
	int t = (int)r;
	docket_date_format((int32_t)day, buf);
	buf[10] = 'T';
	docket_put_digits(buf + 11, t / 3600000, 2);
	buf[13] = ':';
	docket_put_digits(buf + 14, t / 60000 % 60, 2);
	buf[16] = ':';
	docket_put_digits(buf + 17, t / 1000 % 60, 2);
	buf[19] = '.';
	docket_put_digits(buf + 20, t % 1000, 3);
	buf[23] = 'Z';
	buf[24] = '\0';
}

json_t *docket_time_json(int64_t ms)
{
	char buf[64];
	docket_time_format(ms, buf);
	return json_string_nocheck(buf);
}

/* The strings of a view come from the engine (names, formatted times) or
 * from the store, where only checked UTF-8 is written; jansson checks
 * again when it encodes, so nothing unchecked reaches a reply. */
json_t *docket_value_json(const docket_field *f, const docket_value *v)
{
	char date[11];
	(void)f;

	switch (v->t) {
	case DOCKET_V_NULL: return json_null();
	case DOCKET_V_BOOL: return json_boolean(v->b);
	case DOCKET_V_INT: return json_integer(v->i);
	case DOCKET_V_NUM: return json_real(v->n);
	case DOCKET_V_STR: return json_stringn_nocheck(v->s.p, v->s.len);
	case DOCKET_V_DATE:
		docket_date_format(v->date, date);
		return json_stringn_nocheck(date, 10);
	}
	return json_null();
}

static json_t *str_or_null(const char *s, size_t len)
{
	return s ? json_stringn_nocheck(s, len) : json_null();
}

/* Builds an object key by key; a key whose value could not be made
 * (out of memory) marks the whole object failed. */
struct obj {
	json_t *o;
	bool failed;
};

static void put(struct obj *b, const char *key, json_t *v)
{
	if (!b->o || json_object_set_new_nocheck(b->o, key, v))
		b->failed = true;
}

static json_t *obj_done(struct obj *b)
{
	if (!b->failed)
		return b->o;
	json_decref(b->o);
	return NULL;
}

static int read_begin(docket_engine *eng, MDB_txn **txn, docket_err *err)
{
	return docket_store_begin(&eng->st, NULL, MDB_RDONLY, txn, err);
}

/* The reason a failed action gave, or NULL. */
static const char *failed_reason(docket_engine *eng, MDB_txn *txn, const uint8_t *ckey,
				 int kind, int n, size_t *len, int64_t *since)
{
	uint8_t k[KEY_FAILED];
	MDB_val key = {sizeof k, k}, v;

	docket_key_failed(k, ckey, kind, n);
	if (mdb_get(txn, eng->st.failed, &key, &v) || v.mv_size < 12)
		return NULL;
	*len = v.mv_size - 12;
	if (since)
		*since = docket_tval(docket_rd64(v.mv_data));
	return (const char *)v.mv_data + 12;
}

static json_t *action_json(docket_engine *eng, MDB_txn *txn, const docket_def *d,
			   const docket_case *c, const uint8_t *ckey)
{
	const docket_action *a = d->wf->stages[c->stage].action;
	size_t rl = 0;
	const char *reason;

	if (!a)
		return json_null();
	struct obj b = {json_object(), false};
	put(&b, "plugin", json_string_nocheck(a->plugin));
	if (c->flags & DOCKET_CF_OUTBOX) {
		put(&b, "state", json_string_nocheck("pending"));
		put(&b, "attempt", json_integer(c->attempt));
		put(&b, "not_before", docket_time_json(c->notbefore));
	} else if (c->flags & DOCKET_CF_FAILED) {
		put(&b, "state", json_string_nocheck("failed"));
		reason = failed_reason(eng, txn, ckey, FAILED_ACTION, 0, &rl, NULL);
		put(&b, "reason", str_or_null(reason, rl));
	} else {
		put(&b, "state", json_string_nocheck("done"));
	}
	return obj_done(&b);
}

/* Every read of a case goes through here (show, list, the reply to a
 * write), so it is built without json_pack's format parsing. */
static json_t *case_json(docket_engine *eng, MDB_txn *txn, const docket_actor *who,
			 const docket_def *d, const docket_case *c, const uint8_t *ckey)
{
	const docket_workflow *wf = d->wf;
	const docket_stage *st = &wf->stages[c->stage];
	int64_t due = docket_case_due(d, c), now = docket_engine_now(eng);
	char id[DOCKET_ID_MAX];
	struct obj b = {json_object(), false}, f = {json_object(), false};

	docket_id_format(d, ckey, id);
	for (uint32_t i = 0; i < c->nfields; i++) {
		const docket_field *fd = &wf->fields[i];
		if (c->fields[i].t == DOCKET_V_NULL || !docket_can_see(d, fd, who))
			continue;
		put(&f, fd->name, docket_value_json(fd, &c->fields[i]));
	}
	put(&b, "id", json_string_nocheck(id));
	put(&b, "workflow", json_string_nocheck(wf->name));
	put(&b, "version", json_integer((json_int_t)wf->version));
	put(&b, "definition", json_string_nocheck(wf->hash));
	put(&b, "stage", json_string_nocheck(st->name));
	put(&b, "stage_title", json_string_nocheck(st->title ? st->title : st->name));
	put(&b, "owner", st->owner >= 0 ? json_string_nocheck(wf->roles[st->owner]) : json_null());
	put(&b, "state", json_string_nocheck(st->terminal ? "closed" : "open"));
	put(&b, "fields", obj_done(&f));
	put(&b, "created_at", docket_time_json(c->created));
	put(&b, "updated_at", docket_time_json(c->updated));
	put(&b, "stage_since", docket_time_json(c->entered));
	put(&b, "in_stage_s", json_integer((now - c->entered) / 1000));
	put(&b, "entry", json_integer((json_int_t)c->entry));
	put(&b, "seq", json_integer((json_int_t)c->seq));
	put(&b, "assignee", str_or_null(c->assignee, c->assignee_len));
	put(&b, "late", json_boolean(due && now > due));
	put(&b, "due", due ? docket_time_json(due) : json_null());
	put(&b, "action", action_json(eng, txn, d, c, ckey));
	return obj_done(&b);
}

/* Load the case of id in a read transaction. */
static int load_id(docket_engine *eng, MDB_txn *txn, const char *id, uint8_t ckey[DOCKET_CKEY],
		   docket_def **d, docket_err *err)
{
	int rc = docket_id_parse(eng, txn, id, ckey, err);

	if (rc)
		return rc;
	rc = docket_case_load(eng, &eng->rd.rec, txn, ckey, &eng->rd.c, d, err);
	if (rc == DOCKET_ENOENT)
		return docket_err_set(err, DOCKET_ENOENT, "no case '%s'", id);
	return rc;
}

int docket_engine_case(docket_engine *eng, const docket_actor *who,
		       const char *id, json_t **out, docket_err *err)
{
	uint8_t ckey[DOCKET_CKEY];
	docket_def *d;
	MDB_txn *txn;
	int rc;

	*out = NULL;
	if ((rc = read_begin(eng, &txn, err)))
		return rc;
	if ((rc = load_id(eng, txn, id, ckey, &d, err)) == 0) {
		*out = case_json(eng, txn, who, d, &eng->rd.c, ckey);
		if (!*out)
			rc = docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	}
	docket_store_end_read(&eng->st, txn);
	return rc;
}

static json_t *stage_name(const docket_def *d, int32_t s)
{
	if (s < 0 || (size_t)s >= d->wf->nstages)
		return json_null();
	return json_string(d->wf->stages[s].name);
}

static json_t *hist_json(const docket_def *d, const docket_hist *h, const docket_actor *who)
{
	const docket_workflow *wf = d->wf;
	json_t *chg = json_object(), *ev = json_null();

	for (uint32_t i = 0; i < h->nchanges; i++) {
		if (h->chg_field[i] >= wf->nfields)
			continue;
		const docket_field *f = &wf->fields[h->chg_field[i]];
		if (docket_can_see(d, f, who))
			json_object_set_new(chg, f->name, docket_value_json(f, &h->chg[i]));
	}
	if (h->event >= 0 && h->from >= 0 && (size_t)h->from < wf->nstages &&
	    (size_t)h->event < wf->stages[h->from].nevents)
		ev = json_string(wf->stages[h->from].events[h->event].name);
	json_t *o = json_pack("{s:I, s:o, s:s%, s:s, s:o, s:o, s:o, s:o, s:o}",
		"seq", (json_int_t)h->seq,
		"at", docket_time_json(h->at),
		"actor", h->actor, (size_t)h->actor_len,
		"kind", docket_hkind_name(h->kind),
		"event", ev,
		"from", stage_name(d, h->from),
		"to", stage_name(d, h->to),
		"fields", chg,
		"note", str_or_null(h->note, h->note_len));
	if (o && h->kind == DOCKET_H_ASSIGN)
		json_object_set_new(o, "assignee", str_or_null(h->text, h->text_len));
	else if (o && h->text)
		json_object_set_new(o, "reason", json_stringn(h->text, h->text_len));
	return o;
}

int docket_engine_history(docket_engine *eng, const docket_actor *who,
			  const char *id, json_t **out, docket_err *err)
{
	uint8_t ckey[DOCKET_CKEY], key[8];
	uint64_t *keys = NULL;
	docket_def *d;
	MDB_txn *txn;
	json_t *arr = NULL;
	int rc;

	*out = NULL;
	if ((rc = read_begin(eng, &txn, err)))
		return rc;
	if ((rc = load_id(eng, txn, id, ckey, &d, err)))
		goto out;
	/* Walk the chain back from the newest entry, then emit oldest first. */
	uint32_t n = eng->rd.c.seq;
	uint64_t g = eng->rd.c.head;
	keys = malloc((n ? n : 1) * sizeof *keys);
	arr = json_array();
	if (!keys || !arr) {
		rc = docket_err_set(err, DOCKET_ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t i = n; i > 0; i--) {
		MDB_val k = {8, key}, v;
		docket_be64(key, g);
		keys[i - 1] = g;
		if (mdb_get(txn, eng->st.history, &k, &v) ||
		    docket_hist_decode(v.mv_data, v.mv_size, &eng->rd.h) || eng->rd.h.seq != i) {
			rc = docket_err_set(err, DOCKET_ECORRUPT, "history of %s is broken at %u", id, i);
			goto out;
		}
		g = eng->rd.h.prev;
	}
	for (uint32_t i = 0; i < n; i++) {
		MDB_val k = {8, key}, v;
		docket_def *hd;
		docket_be64(key, keys[i]);
		if ((rc = docket_store_err(err, mdb_get(txn, eng->st.history, &k, &v), "reading history")))
			goto out;
		docket_hist_decode(v.mv_data, v.mv_size, &eng->rd.h);
		if ((rc = docket_catalog_def(&eng->cat, &eng->st, txn, eng->rd.h.defno, &hd, err)))
			goto out;
		json_array_append_new(arr, hist_json(hd, &eng->rd.h, who));
	}
	*out = arr;
	arr = NULL;
out:
	free(keys);
	json_decref(arr);
	docket_store_end_read(&eng->st, txn);
	return rc;
}

/* --- lists -------------------------------------------------------------- */

struct scan {
	MDB_dbi dbi;
	char letter;            /* names the index in cursors */
	uint8_t prefix[8];
	size_t plen;            /* entries of interest start with prefix */
	size_t klen;            /* key length of the index */
};

static int cursor_parse(const char *s, const struct scan *sc, uint8_t *key, docket_err *err)
{
	size_t n = strlen(s);

	if (n != 1 + 2 * sc->klen || s[0] != sc->letter)
		goto bad;
	for (size_t i = 0; i < sc->klen; i++) {
		unsigned v;
		if (sscanf(s + 1 + 2 * i, "%2x", &v) != 1)
			goto bad;
		key[i] = (uint8_t)v;
	}
	if (memcmp(key, sc->prefix, sc->plen))
		goto bad;
	return 0;
bad:
	return docket_err_set(err, DOCKET_EINVAL, "cursor '%s' does not belong to this list", s);
}

static json_t *cursor_json(const struct scan *sc, const uint8_t *key)
{
	char buf[2 + 2 * 32];

	buf[0] = sc->letter;
	for (size_t i = 0; i < sc->klen; i++)
		snprintf(buf + 1 + 2 * i, 3, "%02x", key[i]);
	return json_string(buf);
}

/* Which index answers q, and the key prefix of its entries. */
static int list_plan(docket_engine *eng, MDB_txn *txn, const docket_list_query *q,
		     docket_wfent **w, struct scan *sc, bool *empty, docket_err *err)
{
	uint32_t id;
	int rc;

	*w = NULL;
	*empty = false;
	if (q->workflow && !(*w = docket_catalog_find(&eng->cat, q->workflow)))
		return docket_err_set(err, DOCKET_ENOENT, "no workflow '%s'", q->workflow);
	if (q->stage) {
		if (!*w)
			return docket_err_set(err, DOCKET_EINVAL, "listing by stage needs a workflow");
		rc = docket_intern(&eng->st, txn, DOCKET_N_STAGE, (*w)->wfno, q->stage,
				   strlen(q->stage), false, &id, err);
		if (rc == DOCKET_ENOENT || rc == DOCKET_EINVAL)
			return docket_err_set(err, DOCKET_ENOENT, "workflow '%s' has no stage '%s'",
					      q->workflow, q->stage);
		if (rc)
			return rc;
		*sc = (struct scan){eng->st.bystage, 's', {0}, 8, KEY_BYSTAGE};
		docket_be32(sc->prefix, (*w)->wfno);
		docket_be32(sc->prefix + 4, id);
		return 0;
	}
	if (q->assignee) {
		rc = docket_intern(&eng->st, txn, DOCKET_N_USER, 0, q->assignee,
				   strlen(q->assignee), false, &id, err);
		if (rc == DOCKET_ENOENT || rc == DOCKET_EINVAL) {
			*empty = true;
			return 0;
		}
		if (rc)
			return rc;
		*sc = (struct scan){eng->st.byuser, 'u', {0}, 4, KEY_BYUSER};
		docket_be32(sc->prefix, id);
		return 0;
	}
	if (*w) {
		*sc = (struct scan){eng->st.bystage, 'w', {0}, 4, KEY_BYSTAGE};
		docket_be32(sc->prefix, (*w)->wfno);
		return 0;
	}
	*sc = (struct scan){eng->st.cases, 'c', {0}, 0, DOCKET_CKEY};
	return 0;
}

static bool list_keep(const docket_list_query *q, const docket_wfent *w, const docket_def *d,
		      const docket_case *c)
{
	if (w && d->wfno != w->wfno)
		return false;
	if (q->open_only && d->wf->stages[c->stage].terminal)
		return false;
	if (q->assignee && (!c->assignee || c->assignee_len != strlen(q->assignee) ||
			    memcmp(c->assignee, q->assignee, c->assignee_len)))
		return false;
	return true;
}

int docket_engine_list(docket_engine *eng, const docket_actor *who,
		       const docket_list_query *q, json_t **out, docket_err *err)
{
	size_t limit = q->limit ? q->limit : 50;
	uint8_t last[32];
	struct scan sc;
	docket_wfent *w;
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	json_t *arr = json_array(), *next = json_null();
	bool empty, more = false, have = false;
	int rc;

	*out = NULL;
	if (limit > DOCKET_LIST_MAX)
		limit = DOCKET_LIST_MAX;
	if ((rc = read_begin(eng, &txn, err)))
		goto fail;
	if ((rc = list_plan(eng, txn, q, &w, &sc, &empty, err)) || empty)
		goto done;
	if ((rc = mdb_cursor_open(txn, sc.dbi, &cur))) {
		rc = docket_store_err(err, rc, "listing cases");
		goto done;
	}
	if (q->cursor) {
		if ((rc = cursor_parse(q->cursor, &sc, last, err)))
			goto done;
		k.mv_size = sc.klen;
		k.mv_data = last;
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (rc == 0 && k.mv_size == sc.klen && !memcmp(k.mv_data, last, sc.klen))
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	} else {
		k.mv_size = sc.plen;
		k.mv_data = sc.prefix;
		rc = mdb_cursor_get(cur, &k, &v, sc.plen ? MDB_SET_RANGE : MDB_FIRST);
	}
	for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		docket_def *d;
		if (k.mv_size != sc.klen || memcmp(k.mv_data, sc.prefix, sc.plen))
			break;
		if (json_array_size(arr) == limit) {
			more = true;
			break;
		}
		const uint8_t *ckey = (const uint8_t *)k.mv_data + sc.klen - DOCKET_CKEY;
		memcpy(last, k.mv_data, sc.klen);
		have = true;
		if (docket_case_load(eng, &eng->rd.rec, txn, ckey, &eng->rd.c, &d, NULL))
			continue;   /* check reports it; a list goes on */
		if (list_keep(q, w, d, &eng->rd.c))
			json_array_append_new(arr, case_json(eng, txn, who, d, &eng->rd.c, ckey));
	}
	rc = rc == 0 || rc == MDB_NOTFOUND ? 0 : docket_store_err(err, rc, "listing cases");
	if (more && have) {
		json_decref(next);
		next = cursor_json(&sc, last);
	}
done:
	if (cur)
		mdb_cursor_close(cur);
	docket_store_end_read(&eng->st, txn);
fail:
	if (rc) {
		json_decref(arr);
		json_decref(next);
		return rc;
	}
	*out = json_pack("{s:o, s:o}", "cases", arr, "next", next);
	return *out ? 0 : docket_err_set(err, DOCKET_ENOMEM, "out of memory");
}

/* --- stuck -------------------------------------------------------------- */

enum { S_LATE, S_TIMER_OVERDUE, S_ACTION_FAILED, S_TIMER_REFUSED };
static const char *const stuck_names[] = {"late", "timer-overdue", "action-failed",
					  "timer-refused"};

struct stuck {
	int64_t since;
	uint8_t ckey[DOCKET_CKEY];
	uint8_t why, n;
};

struct stuckv {
	struct stuck *v;
	size_t n, cap;
};

static int stuck_add(struct stuckv *s, int64_t since, const uint8_t *ckey, int why, int n)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct stuck *v = realloc(s->v, cap * sizeof *v);
		if (!v)
			return DOCKET_ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	struct stuck *e = &s->v[s->n++];
	e->since = since;
	memcpy(e->ckey, ckey, DOCKET_CKEY);
	e->why = (uint8_t)why;
	e->n = (uint8_t)n;
	return 0;
}

static int by_since(const void *a, const void *b)
{
	const struct stuck *x = a, *y = b;
	if (x->since != y->since)
		return x->since < y->since ? -1 : 1;
	int c = memcmp(x->ckey, y->ckey, DOCKET_CKEY);
	return c ? c : (int)x->why - (int)y->why;
}

/* Collect keys only, from the time-ordered indexes and `failed`: cases
 * are read for the rows shown, never for all of them. */
static int stuck_collect(docket_engine *eng, MDB_txn *txn, const docket_wfent *w,
			 int64_t now, struct stuckv *s, docket_err *err)
{
	const struct { MDB_dbi dbi; size_t klen; int why; int64_t until; } src[] = {
		{eng->st.sla, KEY_SLA, S_LATE, now},
		{eng->st.timers, KEY_TIMER, S_TIMER_OVERDUE, now - eng->grace_ms},
		{eng->st.failed, KEY_FAILED, S_ACTION_FAILED, INT64_MAX},
	};
	int rc = 0;

	for (size_t i = 0; i < 3 && !rc; i++) {
		MDB_cursor *cur;
		MDB_val k, v;
		if ((rc = mdb_cursor_open(txn, src[i].dbi, &cur)))
			return docket_store_err(err, rc, "reading deadlines");
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			const uint8_t *kp = k.mv_data, *vp = v.mv_data;
			if (k.mv_size != src[i].klen)
				continue;
			if (src[i].why == S_ACTION_FAILED) {
				if (v.mv_size < 12 || (w && docket_rd32(vp + 8) != w->wfno))
					continue;
				int why = kp[12] == FAILED_TIMER ? S_TIMER_REFUSED : S_ACTION_FAILED;
				rc = stuck_add(s, docket_tval(docket_rd64(vp)), kp, why, kp[13]);
			} else {
				int64_t at = docket_tval(docket_rd64(kp));
				if (at > src[i].until)
					break;
				if (v.mv_size < 4 || (w && docket_rd32(vp) != w->wfno))
					continue;
				rc = stuck_add(s, at, kp + 8, src[i].why,
					       src[i].why == S_TIMER_OVERDUE ? kp[20] : 0);
			}
			if (rc) {
				mdb_cursor_close(cur);
				return docket_err_set(err, rc, "out of memory");
			}
		}
		mdb_cursor_close(cur);
		rc = rc == MDB_NOTFOUND ? 0 : docket_store_err(err, rc, "reading deadlines");
	}
	return rc;
}

static json_t *stuck_row(docket_engine *eng, MDB_txn *txn, const struct stuck *e, int64_t now)
{
	docket_def *d;
	char id[DOCKET_ID_MAX], detail[DOCKET_ERR_MAX], dur[24];
	const char *reason;
	size_t rl = 0;

	if (docket_case_load(eng, &eng->rd.rec, txn, e->ckey, &eng->rd.c, &d, NULL))
		return NULL;
	const docket_case *c = &eng->rd.c;
	const docket_stage *st = &d->wf->stages[c->stage];
	docket_id_format(d, e->ckey, id);
	switch (e->why) {
	case S_LATE:
		docket_duration_format(st->sla_s, dur, sizeof dur);
		snprintf(detail, sizeof detail, "past its %s SLA in stage '%s'", dur, st->name);
		break;
	case S_TIMER_OVERDUE:
		snprintf(detail, sizeof detail, "timer for '%s' has not fired",
			 e->n < st->ntimers ? st->events[st->timers[e->n].event].name : "?");
		break;
	default:
		reason = failed_reason(eng, txn, e->ckey, e->why == S_ACTION_FAILED ? FAILED_ACTION
				       : FAILED_TIMER, e->why == S_ACTION_FAILED ? 0 : e->n, &rl, NULL);
		snprintf(detail, sizeof detail, "%.*s", (int)rl, reason ? reason : "");
	}
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:o, s:I}",
		"case", id, "workflow", d->wf->name, "stage", st->name,
		"owner", st->owner >= 0 ? json_string(d->wf->roles[st->owner]) : json_null(),
		"assignee", str_or_null(c->assignee, c->assignee_len),
		"reason", stuck_names[e->why], "detail", detail,
		"since", docket_time_json(e->since),
		"late_by_s", (json_int_t)((now - e->since) / 1000));
}

int docket_engine_stuck(docket_engine *eng, const docket_actor *who,
			const char *workflow, size_t limit, json_t **out, docket_err *err)
{
	struct stuckv s = {0};
	docket_wfent *w = NULL;
	int64_t now = docket_engine_now(eng);
	MDB_txn *txn;
	json_t *arr;
	int rc;

	(void)who;  /* stuck rows show no fields */
	*out = NULL;
	if (!limit)
		limit = 100;
	if (workflow && !(w = docket_catalog_find(&eng->cat, workflow)))
		return docket_err_set(err, DOCKET_ENOENT, "no workflow '%s'", workflow);
	if ((rc = read_begin(eng, &txn, err)))
		return rc;
	if ((rc = stuck_collect(eng, txn, w, now, &s, err)))
		goto out;
	if (s.n)
		qsort(s.v, s.n, sizeof *s.v, by_since);
	arr = json_array();
	for (size_t i = 0; i < s.n && json_array_size(arr) < limit; i++) {
		json_t *row = stuck_row(eng, txn, &s.v[i], now);
		if (row)
			json_array_append_new(arr, row);
	}
	*out = json_pack("{s:I, s:o}", "count", (json_int_t)s.n, "stuck", arr);
	if (!*out)
		rc = docket_err_set(err, DOCKET_ENOMEM, "out of memory");
out:
	free(s.v);
	docket_store_end_read(&eng->st, txn);
	return rc;
}

/* --- stats -------------------------------------------------------------- */

struct sstat {
	uint32_t sid;
	bool terminal;              /* of the current definition: no ages kept */
	uint64_t count, late;
	int64_t *age;
	size_t nage, cap;
};

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* The row of sid; *at is where the last one was found, tried first since
 * the index holds a stage's entries together. */
static struct sstat *sstat_get(struct sstat **v, size_t *n, size_t *at, uint32_t sid)
{
	if (*at < *n && (*v)[*at].sid == sid)
		return &(*v)[*at];
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].sid == sid) {
			*at = i;
			return &(*v)[i];
		}
	struct sstat *nv = realloc(*v, (*n + 1) * sizeof *nv);
	if (!nv)
		return NULL;
	*v = nv;
	memset(&nv[*n], 0, sizeof *nv);
	nv[*n].sid = sid;
	*at = *n;
	return &nv[(*n)++];
}

static json_t *stats_one(docket_engine *eng, MDB_txn *txn, const docket_wfent *w, int64_t now,
			 docket_err *err, int *rc)
{
	const docket_workflow *wf = w->current->wf;
	struct sstat *v = NULL;
	size_t n = 0, at = 0;
	uint8_t pre[4];
	MDB_cursor *cur;
	MDB_val k = {4, pre}, val;
	uint64_t total = 0, open = 0, late = 0;
	json_t *stages = json_array(), *term = json_object(), *o = NULL;

	/* Make every stage of the current definition appear, in its order.
	 * Its terminal stages are only counted: at scale they hold most
	 * entries, and their time in stage is never shown. */
	for (size_t i = 0; i < wf->nstages; i++) {
		struct sstat *s = sstat_get(&v, &n, &at, w->current->sid[i]);
		if (s)
			s->terminal = wf->stages[i].terminal;
	}
	docket_be32(pre, w->wfno);
	if ((*rc = mdb_cursor_open(txn, eng->st.bystage, &cur))) {
		*rc = docket_store_err(err, *rc, "reading stages");
		goto out;
	}
	for (*rc = mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE); *rc == 0;
	     *rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
		const uint8_t *kp = k.mv_data, *vp = val.mv_data;
		if (k.mv_size != KEY_BYSTAGE || memcmp(kp, pre, 4))
			break;
		if (val.mv_size != 16)
			continue;
		struct sstat *s = sstat_get(&v, &n, &at, docket_rd32(kp + 4));
		if (!s)
			break;
		uint64_t due = docket_rd64(vp + 8);
		s->count++;
		if (due && docket_tval(due) < now)
			s->late++;
		if (s->terminal)
			continue;
		if (s->nage == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 64;
			int64_t *a = realloc(s->age, cap * sizeof *a);
			if (!a)
				break;
			s->age = a;
			s->cap = cap;
		}
		s->age[s->nage++] = now - docket_tval(docket_rd64(vp));
	}
	mdb_cursor_close(cur);
	*rc = *rc == 0 || *rc == MDB_NOTFOUND ? 0 : docket_store_err(err, *rc, "reading stages");
	if (*rc)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct sstat *s = &v[i];
		const char *name;
		size_t nl;
		char sname[DOCKET_NAME_MAX + 1];
		if (docket_intern_name(&eng->st, txn, s->sid, NULL, NULL, &name, &nl, NULL))
			continue;
		snprintf(sname, sizeof sname, "%.*s", (int)nl, name);
		int si = docket_workflow_stage(wf, sname);
		bool terminal = si >= 0 && wf->stages[si].terminal;
		json_t *row = json_pack("{s:s, s:b, s:I, s:I}", "stage", sname, "terminal", terminal,
					"count", (json_int_t)s->count, "late", (json_int_t)s->late);
		if (!terminal && s->nage) {
			qsort(s->age, s->nage, sizeof *s->age, cmp_i64);
			size_t p90 = (s->nage * 9 + 9) / 10 - 1;
			json_object_set_new(row, "median_s", json_integer(s->age[(s->nage - 1) / 2] / 1000));
			json_object_set_new(row, "p90_s", json_integer(s->age[p90] / 1000));
		} else {
			json_object_set_new(row, "median_s", json_null());
			json_object_set_new(row, "p90_s", json_null());
		}
		json_array_append_new(stages, row);
		total += s->count;
		late += s->late;
		if (terminal)
			json_object_set_new(term, sname, json_integer((json_int_t)s->count));
		else
			open += s->count;
	}
	o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:o, s:o}", "name", wf->name,
		"version", (json_int_t)wf->version, "total", (json_int_t)total,
		"open", (json_int_t)open, "late", (json_int_t)late, "stages", stages,
		"terminal", term);
	stages = term = NULL;
out:
	for (size_t i = 0; i < n; i++)
		free(v[i].age);
	free(v);
	json_decref(stages);
	json_decref(term);
	if (!o && !*rc)
		*rc = docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	return o;
}

int docket_engine_stats(docket_engine *eng, const docket_actor *who,
			const char *workflow, json_t **out, docket_err *err)
{
	int64_t now = docket_engine_now(eng);
	docket_wfent *only = NULL;
	MDB_txn *txn;
	json_t *arr;
	int rc;

	(void)who;
	*out = NULL;
	if (workflow && !(only = docket_catalog_find(&eng->cat, workflow)))
		return docket_err_set(err, DOCKET_ENOENT, "no workflow '%s'", workflow);
	if ((rc = read_begin(eng, &txn, err)))
		return rc;
	arr = json_array();
	for (size_t i = 0; i < eng->cat.nwfs && !rc; i++) {
		if (only && &eng->cat.wfs[i] != only)
			continue;
		json_t *o = stats_one(eng, txn, &eng->cat.wfs[i], now, err, &rc);
		if (o)
			json_array_append_new(arr, o);
	}
	docket_store_end_read(&eng->st, txn);
	if (rc) {
		json_decref(arr);
		return rc;
	}
	*out = json_pack("{s:o}", "workflows", arr);
	return 0;
}

int docket_engine_workflows(docket_engine *eng, json_t **out, docket_err *err)
{
	json_t *arr = json_array();
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	*out = NULL;
	if ((rc = read_begin(eng, &txn, err))) {
		json_decref(arr);
		return rc;
	}
	for (size_t i = 0; i < eng->cat.nwfs; i++) {
		const docket_def *d = eng->cat.wfs[i].current;
		json_int_t ndefs = 0;
		if (mdb_cursor_open(txn, eng->st.defs, &cur) == 0) {
			for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
			     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
				ndefs += v.mv_size >= 36 && docket_rd32((uint8_t *)v.mv_data + 32) == d->wfno;
			mdb_cursor_close(cur);
		}
		json_t *stages = json_array();
		for (size_t j = 0; j < d->wf->nstages; j++)
			json_array_append_new(stages, json_string(d->wf->stages[j].name));
		json_array_append_new(arr, json_pack("{s:s, s:I, s:s?, s:s, s:s, s:o, s:I, s:o}",
			"name", d->wf->name, "version", (json_int_t)d->wf->version,
			"title", d->wf->title, "sha256", d->wf->hash, "prefix", d->wf->prefix,
			"stages", stages, "definitions", ndefs,
			"installed_at", docket_time_json(d->installed_at)));
	}
	docket_store_end_read(&eng->st, txn);
	*out = arr;
	return 0;
}
