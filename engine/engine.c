/*
 * engine.c - the operations on cases and the one transition function all
 * of them go through.
 *
 * A batch runs in one LMDB write transaction.  An operation either
 * writes everything that follows from it (case record, history entry,
 * stage index, deadlines, outbox) or nothing.  Creations and events, which
 * do every check before their first write, run straight in the batch's
 * transaction (a nested one copies the dirty page list, which costs more
 * than the operation); the others run in a nested transaction of it, so a
 * refusal aborts only that operation's writes.  Should a creation or event
 * fail after it wrote, the batch is replayed with every operation nested.
 * A replay, or the map growing, aborts the whole transaction and runs the
 * batch again from the start with the same clock reading, so results do
 * not depend on how often it ran.
 */
#include "internal.h"
#include "duration.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t real_clock(void *ctx)
{
	struct timespec ts;
	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t docket_engine_now(const docket_engine *eng)
{
	return eng->now_ms(eng->clock_ctx);
}

int docket_engine_open(const char *home, const docket_engine_opts *opts,
		       docket_engine **out, docket_err *err)
{
	docket_engine_opts none = {0};
	docket_engine *eng;
	MDB_txn *txn;
	int rc;

	*out = NULL;
	if (!opts)
		opts = &none;
	eng = calloc(1, sizeof *eng);
	if (!eng)
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	eng->now_ms = opts->now_ms ? opts->now_ms : real_clock;
	eng->clock_ctx = opts->clock_ctx;
	eng->grace_ms = opts->timer_grace_ms > 0 ? opts->timer_grace_ms : 60000;
	docket_store_opts so = {.nosync = opts->nosync_for_tests, .mapsize = opts->map_size,
				.maxreaders = opts->max_readers, .exclusive = opts->exclusive,
				.checkpoint_ms = opts->checkpoint_ms, .log_half = opts->log_half};
	rc = docket_store_open(&eng->st, home, &so, err);
	if (rc)
		goto err;
	if ((rc = docket_store_begin(&eng->st, NULL, MDB_RDONLY, &txn, err)))
		goto err;
	rc = docket_catalog_open(&eng->cat, &eng->st, txn, err);
	docket_store_end_read(&eng->st, txn);
	if (rc)
		goto err;
	*out = eng;
	return 0;
err:
	docket_engine_close(eng);
	return rc;
}

size_t docket_engine_replayed(const docket_engine *eng)
{
	return eng->st.replayed;
}

void docket_engine_close(docket_engine *eng)
{
	if (!eng)
		return;
	docket_catalog_free(&eng->cat);
	docket_store_close(&eng->st);
	docket_buf_free(&eng->rec);
	docket_buf_free(&eng->out);
	docket_buf_free(&eng->rd.rec);
	free(eng);
}

int docket_engine_maintain(docket_engine *eng, int *dead, docket_err *err)
{
	return docket_store_reader_check(&eng->st, dead, err);
}

int docket_engine_install(docket_engine *eng, docket_workflow *wf,
			  docket_install_info *info, docket_err *err)
{
	if (!wf)
		return docket_err_set(err, DOCKET_EINVAL, "no workflow to install");
	/* Timer keys hold the timer's index in one byte. */
	for (size_t i = 0; i < wf->nstages; i++) {
		if (wf->stages[i].ntimers > 256) {
			docket_err_set(err, DOCKET_ELIMIT, "%s: stage '%s' has %zu timers, the limit "
				       "is 256", wf->name, wf->stages[i].name, wf->stages[i].ntimers);
			docket_workflow_free(wf);
			return DOCKET_ELIMIT;
		}
	}
	return docket_catalog_install(&eng->cat, &eng->st, wf, docket_engine_now(eng), info, err);
}

const docket_workflow *docket_engine_workflow(docket_engine *eng, const char *name)
{
	docket_wfent *e = docket_catalog_find(&eng->cat, name);
	return e ? e->current->wf : NULL;
}

/* --- keys and ids ------------------------------------------------------- */

void docket_ckey(uint8_t ckey[DOCKET_CKEY], uint32_t prefixno, uint64_t n)
{
	docket_be32(ckey, prefixno);
	docket_be64(ckey + 4, n);
}

void docket_key_bystage(uint8_t k[KEY_BYSTAGE], uint32_t wfno, uint32_t sid, const uint8_t *ckey)
{
	docket_be32(k, wfno);
	docket_be32(k + 4, sid);
	memcpy(k + 8, ckey, DOCKET_CKEY);
}

void docket_key_byuser(uint8_t k[KEY_BYUSER], uint32_t userno, const uint8_t *ckey)
{
	docket_be32(k, userno);
	memcpy(k + 4, ckey, DOCKET_CKEY);
}

void docket_key_sla(uint8_t k[KEY_SLA], int64_t due, const uint8_t *ckey)
{
	docket_be64(k, docket_tkey(due));
	memcpy(k + 8, ckey, DOCKET_CKEY);
}

void docket_key_timer(uint8_t k[KEY_TIMER], int64_t at, const uint8_t *ckey, int timer)
{
	docket_be64(k, docket_tkey(at));
	memcpy(k + 8, ckey, DOCKET_CKEY);
	k[20] = (uint8_t)timer;
}

void docket_key_outbox(uint8_t k[KEY_OUTBOX], int64_t nb, const uint8_t *ckey)
{
	docket_be64(k, docket_tkey(nb));
	memcpy(k + 8, ckey, DOCKET_CKEY);
}

void docket_key_failed(uint8_t k[KEY_FAILED], const uint8_t *ckey, int kind, int n)
{
	memcpy(k, ckey, DOCKET_CKEY);
	k[12] = (uint8_t)kind;
	k[13] = (uint8_t)n;
}

int64_t docket_case_due(const docket_def *d, const docket_case *c)
{
	const docket_stage *s = &d->wf->stages[c->stage];
	return s->sla_s > 0 && !s->terminal ? c->entered + s->sla_s * 1000 : 0;
}

int64_t docket_timer_at(const docket_def *d, const docket_case *c, size_t i)
{
	return c->entered + d->wf->stages[c->stage].timers[i].after_s * 1000;
}

int docket_id_parse(docket_engine *eng, MDB_txn *txn, const char *id,
		    uint8_t ckey[DOCKET_CKEY], docket_err *err)
{
	const char *dash = id ? strrchr(id, '-') : NULL;
	uint32_t prefixno;
	uint64_t n = 0;

	if (!dash || dash == id || !dash[1] || dash[1] == '0')
		return docket_err_set(err, DOCKET_EINVAL,
			"'%s' is not a case id (PREFIX-NUMBER, like SO-17)", id ? id : "");
	for (const char *p = dash + 1; *p; p++) {
		if (*p < '0' || *p > '9' || n > (UINT64_MAX - 9) / 10)
			return docket_err_set(err, DOCKET_EINVAL,
				"'%s' is not a case id (PREFIX-NUMBER, like SO-17)", id);
		n = n * 10 + (uint64_t)(*p - '0');
	}
	int rc = docket_intern(&eng->st, txn, DOCKET_N_PREFIX, 0, id, (size_t)(dash - id),
			       false, &prefixno, err);
	if (rc == DOCKET_ENOENT || (rc == DOCKET_EINVAL && dash - id > 256))
		return docket_err_set(err, DOCKET_ENOENT, "no case '%s'", id);
	if (rc)
		return rc;
	docket_ckey(ckey, prefixno, n);
	return 0;
}

void docket_id_format(const docket_def *d, const uint8_t *ckey, char buf[DOCKET_ID_MAX])
{
	snprintf(buf, DOCKET_ID_MAX, "%s-%llu", d->wf->prefix,
		 (unsigned long long)docket_rd64(ckey + 4));
}

int docket_case_load(docket_engine *eng, docket_buf *rec, MDB_txn *txn, const uint8_t *ckey,
		     docket_case *c, docket_def **d, docket_err *err)
{
	MDB_val k = {DOCKET_CKEY, (void *)ckey}, v;
	char id[DOCKET_ID_MAX];
	uint32_t defno;
	int rc = mdb_get(txn, eng->st.cases, &k, &v);

	if (rc == MDB_NOTFOUND)
		return DOCKET_ENOENT;
	if (rc)
		return docket_store_err(err, rc, "reading a case");
	docket_buf_reset(rec);
	docket_buf_put(rec, v.mv_data, v.mv_size);
	if (rec->oom)
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	if (docket_case_defno(rec->p, rec->len, &defno))
		goto corrupt;
	if ((rc = docket_catalog_def(&eng->cat, &eng->st, txn, defno, d, err)))
		return rc;
	if (docket_case_decode(rec->p, rec->len, (uint32_t)(*d)->wf->nfields, c) ||
	    c->stage >= (*d)->wf->nstages)
		goto corrupt;
	return 0;
corrupt:
	docket_id_unknown(eng, txn, ckey, id);
	return docket_err_set(err, DOCKET_ECORRUPT, "case record %s does not decode", id);
}

void docket_id_unknown(docket_engine *eng, MDB_txn *txn, const uint8_t *ckey,
		       char buf[DOCKET_ID_MAX])
{
	const char *p;
	size_t len;

	if (docket_intern_name(&eng->st, txn, docket_rd32(ckey), NULL, NULL, &p, &len, NULL)) {
		p = "?";
		len = 1;
	}
	snprintf(buf, DOCKET_ID_MAX, "%.*s-%llu", (int)len, p,
		 (unsigned long long)docket_rd64(ckey + 4));
}

bool docket_can_see(const docket_def *d, const docket_field *f, const docket_actor *who)
{
	if (!f->visible_to || !who || who->admin)
		return true;
	return (docket_def_roles(d, who) & f->visible_to) != 0;
}

/* --- the operation context --------------------------------------------- */

struct ctx {
	docket_engine *eng;
	MDB_txn *txn;           /* the operation's (nested or the batch's) */
	bool wrote;             /* the operation has written to txn */
	int64_t now;
	uint64_t gseq;          /* key of the next history entry */
	const docket_op *op;
	docket_result *r;
	docket_err *err;
	uint8_t ckey[DOCKET_CKEY];
	docket_def *d;
	docket_case *c;
};

static int put(struct ctx *x, MDB_dbi dbi, const void *k, size_t kl, const void *v,
	       size_t vl, unsigned flags, const char *what)
{
	MDB_val key = {kl, (void *)k}, val = {vl, (void *)v};
	x->wrote = true;
	return docket_store_err(x->err, docket_store_put(&x->eng->st, x->txn, dbi, &key, &val, flags),
				what);
}

/* Delete k; missing is corruption unless `optional`. */
static int del(struct ctx *x, MDB_dbi dbi, const void *k, size_t kl, bool optional,
	       const char *what)
{
	MDB_val key = {kl, (void *)k};
	int rc;

	x->wrote = true;
	rc = docket_store_del(&x->eng->st, x->txn, dbi, &key);

	if (rc == MDB_NOTFOUND && optional)
		return 0;
	if (rc == MDB_NOTFOUND)
		return docket_err_set(x->err, DOCKET_ECORRUPT, "%s: index entry missing", what);
	return docket_store_err(x->err, rc, what);
}

static const char *actor_name(const docket_actor *a)
{
	return a ? a->name : DOCKET_ACTOR_SYSTEM;
}

/* Start a history entry of the case in x. */
static docket_hist *hist_start(struct ctx *x, docket_hkind kind, const docket_actor *a)
{
	docket_hist *h = &x->eng->h;
	const char *name = actor_name(a);

	memcpy(h->ckey, x->ckey, DOCKET_CKEY);
	h->kind = kind;
	h->at = x->now;
	h->defno = x->d->defno;
	h->from = h->to = (int32_t)x->c->stage;
	h->event = -1;
	h->actor = name;
	h->actor_len = (uint32_t)strlen(name);
	h->note = h->text = NULL;
	h->note_len = h->text_len = 0;
	h->nchanges = 0;
	return h;
}

/* Append the entry to the global history and link it into the case. */
static int hist_write(struct ctx *x, docket_hist *h)
{
	docket_case *c = x->c;
	uint8_t key[8];
	int rc;

	if (c->seq == UINT32_MAX)
		return docket_err_set(x->err, DOCKET_ELIMIT, "case %s has the most history entries "
				      "a case may have", x->r->id);
	h->seq = c->seq + 1;
	h->prev = c->head;
	if ((rc = docket_hist_encode(h, &x->eng->out)))
		return docket_err_set(x->err, rc, "out of memory");
	docket_be64(key, x->gseq);
	rc = put(x, x->eng->st.history, key, 8, x->eng->out.p, x->eng->out.len, MDB_APPEND,
		 "writing history");
	if (rc)
		return rc;
	c->seq = h->seq;
	c->head = x->gseq++;
	c->updated = x->now;
	x->r->seq = h->seq;
	return 0;
}

static int case_write(struct ctx *x)
{
	int rc = docket_case_encode(x->c, &x->eng->out);

	if (rc)
		return docket_err_set(x->err, rc, "out of memory");
	return put(x, x->eng->st.cases, x->ckey, DOCKET_CKEY, x->eng->out.p, x->eng->out.len,
		   0, "writing the case");
}

/* --- stage entry and exit: the indexes that follow a case's stage ------ */

static int failed_clear(struct ctx *x)
{
	MDB_cursor *cur;
	MDB_val k = {DOCKET_CKEY, x->ckey}, v;
	int rc = mdb_cursor_open(x->txn, x->eng->st.failed, &cur);

	if (rc)
		return docket_store_err(x->err, rc, "clearing failures");
	x->wrote = true;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == 0 && k.mv_size == KEY_FAILED && !memcmp(k.mv_data, x->ckey, DOCKET_CKEY);
	     rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)) {
		if ((rc = docket_store_cursor_del(&x->eng->st, cur)))
			break;
		k.mv_size = DOCKET_CKEY;
		k.mv_data = x->ckey;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : docket_store_err(x->err, rc, "clearing failures");
}

static int outbox_del(struct ctx *x)
{
	uint8_t k[KEY_OUTBOX];

	docket_key_outbox(k, x->c->notbefore, x->ckey);
	x->c->flags &= ~DOCKET_CF_OUTBOX;
	return del(x, x->eng->st.outbox, k, sizeof k, false, "outbox");
}

static int outbox_put(struct ctx *x, int64_t nb, uint32_t attempt)
{
	uint8_t k[KEY_OUTBOX], v[12];

	x->c->flags |= DOCKET_CF_OUTBOX;
	x->c->notbefore = nb;
	x->c->attempt = attempt;
	docket_key_outbox(k, nb, x->ckey);
	docket_be32(v, x->d->wfno);
	docket_be32(v + 4, x->c->entry);
	docket_be32(v + 8, attempt);
	return put(x, x->eng->st.outbox, k, sizeof k, v, sizeof v, 0, "queueing the action");
}

static int failed_put(struct ctx *x, int kind, int n, const char *reason)
{
	uint8_t k[KEY_FAILED], v[12 + DOCKET_ERR_MAX];
	size_t rl = reason ? strnlen(reason, DOCKET_ERR_MAX) : 0;

	docket_key_failed(k, x->ckey, kind, n);
	docket_be64(v, docket_tkey(x->now));
	docket_be32(v + 8, x->d->wfno);
	if (rl)
		memcpy(v + 12, reason, rl);
	return put(x, x->eng->st.failed, k, sizeof k, v, 12 + rl, 0, "recording the failure");
}

static int stage_leave(struct ctx *x)
{
	const docket_stage *s = &x->d->wf->stages[x->c->stage];
	docket_case *c = x->c;
	uint8_t k[KEY_TIMER];
	int64_t due = docket_case_due(x->d, c);
	int rc;

	docket_key_bystage(k, x->d->wfno, x->d->sid[c->stage], x->ckey);
	if ((rc = del(x, x->eng->st.bystage, k, KEY_BYSTAGE, false, "stage index")))
		return rc;
	if (due) {
		docket_key_sla(k, due, x->ckey);
		if ((rc = del(x, x->eng->st.sla, k, KEY_SLA, false, "sla index")))
			return rc;
	}
	for (size_t i = 0; i < s->ntimers && !s->terminal; i++) {
		/* Fired or parked timers are gone already. */
		docket_key_timer(k, docket_timer_at(x->d, c, i), x->ckey, (int)i);
		if ((rc = del(x, x->eng->st.timers, k, KEY_TIMER, true, "timer index")))
			return rc;
	}
	if ((c->flags & DOCKET_CF_OUTBOX) && (rc = outbox_del(x)))
		return rc;
	if ((c->flags & (DOCKET_CF_FAILED | DOCKET_CF_PARKED)) && (rc = failed_clear(x)))
		return rc;
	c->flags &= ~(uint32_t)(DOCKET_CF_OUTBOX | DOCKET_CF_FAILED | DOCKET_CF_PARKED);
	return 0;
}

/* Enter `stage` by history entry `entry`: stage index, SLA, timers and
 * the action's first run, all from this moment. */
static int stage_enter(struct ctx *x, uint32_t stage, uint32_t entry)
{
	const docket_stage *s = &x->d->wf->stages[stage];
	docket_case *c = x->c;
	uint8_t k[KEY_TIMER], v[16];
	int64_t due;
	int rc;

	c->stage = stage;
	c->entry = entry;
	c->entered = x->now;
	due = docket_case_due(x->d, c);
	docket_key_bystage(k, x->d->wfno, x->d->sid[stage], x->ckey);
	docket_be64(v, docket_tkey(c->entered));
	docket_be64(v + 8, due ? docket_tkey(due) : 0);
	if ((rc = put(x, x->eng->st.bystage, k, KEY_BYSTAGE, v, 16, 0, "stage index")))
		return rc;
	docket_be32(v, x->d->wfno);
	docket_be32(v + 4, entry);
	if (due) {
		docket_key_sla(k, due, x->ckey);
		if ((rc = put(x, x->eng->st.sla, k, KEY_SLA, v, 4, 0, "sla index")))
			return rc;
	}
	for (size_t i = 0; i < s->ntimers && !s->terminal; i++) {
		docket_key_timer(k, docket_timer_at(x->d, c, i), x->ckey, (int)i);
		if ((rc = put(x, x->eng->st.timers, k, KEY_TIMER, v, 8, 0, "timer index")))
			return rc;
	}
	if (s->action)
		return outbox_put(x, x->now, 0);
	return 0;
}

/* --- field patches ------------------------------------------------------ */

static bool privileged(const docket_actor *a)
{
	return !a || a->admin;
}

/* One JSON value as a value of field f. */
static int json_value(const docket_field *f, json_t *j, docket_value *out, docket_err *err)
{
	memset(out, 0, sizeof *out);
	switch (json_typeof(j)) {
	case JSON_NULL:
		return 0;
	case JSON_STRING:
		if (f->type == DOCKET_FT_STRING || f->type == DOCKET_FT_ENUM) {
			out->t = DOCKET_V_STR;
			out->s.p = json_string_value(j);
			if (json_string_length(j) > UINT32_MAX)
				return docket_err_set(err, DOCKET_ELIMIT, "string too long");
			out->s.len = (uint32_t)json_string_length(j);
			return docket_field_check(f, out, err);
		}
		return docket_field_parse(f, json_string_value(j), json_string_length(j), out, err);
	case JSON_INTEGER:
		if (f->type == DOCKET_FT_INTEGER) {
			out->t = DOCKET_V_INT;
			out->i = json_integer_value(j);
		} else if (f->type == DOCKET_FT_NUMBER) {
			out->t = DOCKET_V_NUM;
			out->n = (double)json_integer_value(j);
		} else {
			break;
		}
		return docket_field_check(f, out, err);
	case JSON_REAL: {
		double n = json_real_value(j);
		if (f->type == DOCKET_FT_NUMBER) {
			out->t = DOCKET_V_NUM;
			out->n = n;
		} else if (f->type == DOCKET_FT_INTEGER && n >= -9.2e18 && n <= 9.2e18 &&
			   n == (double)(int64_t)n) {
			out->t = DOCKET_V_INT;
			out->i = (int64_t)n;
		} else {
			break;
		}
		return docket_field_check(f, out, err);
	}
	case JSON_TRUE:
	case JSON_FALSE:
		if (f->type != DOCKET_FT_BOOLEAN)
			break;
		out->t = DOCKET_V_BOOL;
		out->b = json_is_true(j);
		return 0;
	default:
		break;
	}
	return docket_err_set(err, DOCKET_EINVAL, "field '%s': expected %s, got a JSON %s",
			      f->name, docket_ftype_name(f->type),
			      json_is_object(j) ? "object" : json_is_array(j) ? "array" :
			      json_is_string(j) ? "string" : json_is_boolean(j) ? "boolean" :
			      "number");
}

static int patch_apply(struct ctx *x, const json_t *patch, const docket_actor *a)
{
	const docket_workflow *wf = x->d->wf;
	const char *name;
	json_t *val;

	if (!patch)
		return 0;
	if (!json_is_object(patch))
		return docket_err_set(x->err, DOCKET_EINVAL, "fields must be a JSON object");
	json_object_foreach((json_t *)patch, name, val) {
		int i = docket_workflow_field(wf, name);
		if (i < 0) {
			const char *cands[DOCKET_FIELDS_MAX];
			for (size_t j = 0; j < wf->nfields; j++)
				cands[j] = wf->fields[j].name;
			const char *hint = docket_suggest(name, cands, wf->nfields);
			return docket_err_set(x->err, DOCKET_ENOENT,
				"workflow '%s' has no field '%s'%s%s%s", wf->name, name,
				hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
		}
		const docket_field *f = &wf->fields[i];
		if (!privileged(a) && !docket_can_see(x->d, f, a))
			return docket_err_set(x->err, DOCKET_EPERM,
				"field '%s' is confidential: %s may not set it", name, a->name);
		docket_value v;
		int rc = json_value(f, val, &v, x->err);
		if (rc)
			return rc;
		if (v.t == DOCKET_V_NULL && f->required)
			return docket_err_set(x->err, DOCKET_EREQUIRED,
				"field '%s' is required and cannot be unset", name);
		x->c->fields[i] = v;
	}
	return 0;
}

/* Record in h every field that differs from eng->old. */
static void changes(struct ctx *x, docket_hist *h)
{
	for (uint32_t i = 0; i < x->c->nfields; i++) {
		const docket_value *a = &x->eng->old[i], *b = &x->c->fields[i];
		if (a->t == b->t && (a->t == DOCKET_V_NULL || docket_value_equal(a, b)))
			continue;
		h->chg_field[h->nchanges] = (uint16_t)i;
		h->chg[h->nchanges++] = *b;
	}
}

static int text_check(struct ctx *x, const char *what, const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n > max)
		return docket_err_set(x->err, DOCKET_ELIMIT, "%s is %zu bytes, the limit is %zu",
				      what, n, max);
	if (n && !docket_utf8_valid(s, n))
		return docket_err_set(x->err, DOCKET_EINVAL, "%s is not valid UTF-8", what);
	return 0;
}

/* Copy s into buf, cut at a character boundary if it does not fit: a
 * plugin's over-long reason is kept, shortened, rather than refused. */
static void text_cut(char *buf, size_t size, const char *s)
{
	size_t n = strlen(s);

	if (n >= size) {
		n = size - 1;
		while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(buf, s, n);
	buf[n] = 0;
}

/* --- permissions -------------------------------------------------------- */

/* Staff need a role of the workflow for anything that writes. */
static int need_member(struct ctx *x, const docket_actor *a, const char *doing)
{
	char names[512];

	if (privileged(a) || docket_def_roles(x->d, a))
		return 0;
	docket_def_role_names(x->d, ~UINT64_C(0), names, sizeof names);
	return docket_err_set(x->err, DOCKET_EPERM, "%s needs a role of workflow '%s' (%s); "
			      "%s has none", doing, x->d->wf->name, names, a->name);
}

static bool may_take(const docket_transition *t, uint64_t bits)
{
	/* No roles listed: anyone holding a role of the workflow. */
	return t->roles ? (t->roles & bits) != 0 : bits != 0;
}

/* --- the transition function ------------------------------------------- */

static void events_list(const docket_stage *s, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < s->nevents; i++) {
		int n = snprintf(buf + off, size - off, "%s%s", i ? ", " : "", s->events[i].name);
		if (n < 0 || (size_t)n >= size - off)
			break;
		off += (size_t)n;
	}
	if (!s->nevents)
		snprintf(buf, size, "none");
}

/* Why no guard held: each guard with the values it read, leaving out the
 * values of fields the actor may not see. */
static int guard_refusal(struct ctx *x, const docket_event *ev, const docket_actor *a)
{
	const docket_workflow *wf = x->d->wf;
	char why[DOCKET_ERR_MAX] = "", one[256];
	size_t off = 0;

	for (size_t i = 0; i < ev->ntr; i++) {
		const docket_guard *g = ev->tr[i].when;
		if (!g)
			continue;
		docket_guard_explain(g, wf->fields, x->c->fields, one, sizeof one);
		for (size_t f = 0; f < wf->nfields; f++) {
			char pat[DOCKET_NAME_MAX + 2];
			snprintf(pat, sizeof pat, "%s=", wf->fields[f].name);
			if (!docket_can_see(x->d, &wf->fields[f], a) && strstr(one, pat))
				snprintf(one, sizeof one, "confidential fields");
		}
		int n = snprintf(why + off, sizeof why - off, "%s`%s` is false (%s)",
				 off ? "; " : "", docket_guard_source(g), one);
		if (n < 0 || (size_t)n >= sizeof why - off)
			break;
		off += (size_t)n;
	}
	return docket_err_set(x->err, DOCKET_EGUARD, "event '%s' from stage '%s': no guard held: %s",
			      ev->name, wf->stages[x->c->stage].name, why);
}

/* Fire `event` on the loaded case x->c.  a is NULL for the system (timers,
 * plugins).  Validates everything first, then writes: leave the stage,
 * append the history entry, enter the new stage, store the case. */
static int transition(struct ctx *x, const char *event, const json_t *patch,
		      const docket_actor *a, const char *note)
{
	const docket_workflow *wf = x->d->wf;
	const docket_stage *st = &wf->stages[x->c->stage];
	docket_case *c = x->c;
	const docket_event *ev;
	const docket_transition *t = NULL;
	uint64_t bits = privileged(a) ? ~UINT64_C(0) : docket_def_roles(x->d, a);
	char list[512];
	int e, rc;

	if (st->terminal)
		return docket_err_set(x->err, DOCKET_ESTATE, "case %s is closed (stage '%s' is final)",
				      x->r->id, st->name);
	e = docket_stage_event(st, event);
	if (e < 0) {
		events_list(st, list, sizeof list);
		return docket_err_set(x->err, DOCKET_ESTATE,
			"stage '%s' has no event '%s' (it has: %s)", st->name, event, list);
	}
	ev = &st->events[e];
	if (!privileged(a)) {
		uint64_t any = 0;
		bool ok = false;
		for (size_t i = 0; i < ev->ntr; i++) {
			any |= ev->tr[i].roles;
			ok |= may_take(&ev->tr[i], bits);
		}
		if (!ok) {
			docket_def_role_names(x->d, any ? any : ~UINT64_C(0), list, sizeof list);
			return docket_err_set(x->err, DOCKET_EPERM,
				"event '%s' needs role %s; %s has none of them", event, list, a->name);
		}
	}
	memcpy(x->eng->old, c->fields, c->nfields * sizeof *c->fields);
	if ((rc = patch_apply(x, patch, a)) || (rc = text_check(x, "note", note, DOCKET_NOTE_MAX)))
		return rc;
	for (size_t i = 0; i < ev->ntr && !t; i++)
		if (!ev->tr[i].when || docket_guard_eval(ev->tr[i].when, c->fields))
			t = &ev->tr[i];
	if (!t)
		return guard_refusal(x, ev, a);
	if (!may_take(t, bits)) {
		docket_def_role_names(x->d, t->roles, list, sizeof list);
		return docket_err_set(x->err, DOCKET_EPERM,
			"event '%s' to stage '%s' needs role %s; %s has none of them", event,
			wf->stages[t->to].name, list, a->name);
	}
	for (size_t i = 0; i < t->nrequire; i++) {
		const docket_field *f = &wf->fields[t->require[i]];
		if (c->fields[t->require[i]].t == DOCKET_V_NULL)
			return docket_err_set(x->err, DOCKET_EREQUIRED,
				"event '%s' requires field '%s', which is not set", event, f->name);
	}

	docket_hist *h = hist_start(x, DOCKET_H_EVENT, a);
	h->to = t->to;
	h->event = e;
	h->note = note && *note ? note : NULL;
	h->note_len = h->note ? (uint32_t)strlen(note) : 0;
	changes(x, h);
	if ((rc = stage_leave(x)) || (rc = hist_write(x, h)) ||
	    (rc = stage_enter(x, (uint32_t)t->to, h->seq)))
		return rc;
	return case_write(x);
}

/* --- operations --------------------------------------------------------- */

static int load(struct ctx *x, const char *id)
{
	int rc = docket_id_parse(x->eng, x->txn, id, x->ckey, x->err);

	if (rc)
		return rc;
	x->c = &x->eng->c;
	rc = docket_case_load(x->eng, &x->eng->rec, x->txn, x->ckey, x->c, &x->d, x->err);
	if (rc == DOCKET_ENOENT)
		return docket_err_set(x->err, DOCKET_ENOENT, "no case '%s'", id);
	if (rc)
		return rc;
	docket_id_format(x->d, x->ckey, x->r->id);
	return 0;
}

static int op_create(struct ctx *x, const docket_op *op)
{
	docket_engine *eng = x->eng;
	docket_wfent *w = op->workflow ? docket_catalog_find(&eng->cat, op->workflow) : NULL;
	char missing[DOCKET_ERR_MAX] = "";
	size_t off = 0;
	uint8_t pk[4], cv[8];
	MDB_val k = {4, pk}, v;
	uint64_t n = 0;
	int rc;

	if (!w)
		return docket_err_set(x->err, DOCKET_ENOENT, "no workflow '%s'",
				      op->workflow ? op->workflow : "");
	x->d = w->current;
	x->c = &eng->c;
	const docket_workflow *wf = x->d->wf;
	if ((rc = need_member(x, op->actor, "creating a case")))
		return rc;
	memset(x->c, 0, offsetof(docket_case, fields));
	x->c->nfields = (uint32_t)wf->nfields;
	for (size_t i = 0; i < wf->nfields; i++) {
		x->c->fields[i] = wf->fields[i].has_default ? wf->fields[i].def : (docket_value){0};
		eng->old[i] = (docket_value){0};
	}
	if ((rc = patch_apply(x, op->fields, op->actor)) ||
	    (rc = text_check(x, "note", op->note, DOCKET_NOTE_MAX)))
		return rc;
	for (size_t i = 0; i < wf->nfields; i++) {
		if (!wf->fields[i].required || x->c->fields[i].t != DOCKET_V_NULL)
			continue;
		int m = snprintf(missing + off, sizeof missing - off, "%s%s", off ? ", " : "",
				 wf->fields[i].name);
		if (m > 0 && (size_t)m < sizeof missing - off)
			off += (size_t)m;
	}
	if (off)
		return docket_err_set(x->err, DOCKET_EREQUIRED, "required field%s not set: %s",
				      strchr(missing, ',') ? "s" : "", missing);

	/* The id comes from a durable counter written in this transaction: an
	 * id acknowledged once is never handed out again. */
	docket_be32(pk, x->d->prefixno);
	rc = mdb_get(x->txn, eng->st.counters, &k, &v);
	if (rc == 0 && v.mv_size == 8)
		n = docket_rd64(v.mv_data);
	else if (rc != MDB_NOTFOUND)
		return rc ? docket_store_err(x->err, rc, "reading the id counter")
			  : docket_err_set(x->err, DOCKET_ECORRUPT, "id counter is malformed");
	docket_be64(cv, ++n);
	if ((rc = put(x, eng->st.counters, pk, 4, cv, 8, 0, "writing the id counter")))
		return rc;
	docket_ckey(x->ckey, x->d->prefixno, n);
	docket_id_format(x->d, x->ckey, x->r->id);

	x->c->defno = x->d->defno;
	x->c->stage = (uint32_t)wf->start;
	x->c->created = x->c->updated = x->c->entered = x->now;
	docket_hist *h = hist_start(x, DOCKET_H_CREATE, op->actor);
	h->from = -1;
	h->to = wf->start;
	h->note = op->note && *op->note ? op->note : NULL;
	h->note_len = h->note ? (uint32_t)strlen(h->note) : 0;
	changes(x, h);
	if ((rc = hist_write(x, h)) || (rc = stage_enter(x, (uint32_t)wf->start, h->seq)))
		return rc;
	return case_write(x);
}

static int op_fire(struct ctx *x, const docket_op *op)
{
	int rc = load(x, x->r->id);

	if (rc)
		return rc;
	if (!op->event)
		return docket_err_set(x->err, DOCKET_EINVAL, "no event given");
	return transition(x, op->event, op->fields, op->actor, op->note);
}

static int op_note(struct ctx *x, const docket_op *op)
{
	int rc = load(x, x->r->id);

	if (rc || (rc = need_member(x, op->actor, "adding a note")))
		return rc;
	if (!op->note || !*op->note)
		return docket_err_set(x->err, DOCKET_EINVAL, "the note is empty");
	if ((rc = text_check(x, "note", op->note, DOCKET_NOTE_MAX)))
		return rc;
	docket_hist *h = hist_start(x, DOCKET_H_NOTE, op->actor);
	h->note = op->note;
	h->note_len = (uint32_t)strlen(op->note);
	if ((rc = hist_write(x, h)))
		return rc;
	return case_write(x);
}

static int op_assign(struct ctx *x, const docket_op *op)
{
	docket_engine *eng = x->eng;
	const char *user = op->user && *op->user ? op->user : NULL;
	size_t ul = user ? strlen(user) : 0;
	uint8_t k[KEY_BYUSER];
	uint32_t uno;
	int rc = load(x, x->r->id);

	if (rc || (rc = need_member(x, op->actor, "assigning a case")))
		return rc;
	if ((rc = text_check(x, "user name", user, DOCKET_NAME_MAX)))
		return rc;
	docket_case *c = x->c;
	/* Assigning to whoever has it already changes nothing. */
	if ((!user && !c->assignee) ||
	    (user && c->assignee && c->assignee_len == ul && !memcmp(c->assignee, user, ul)))
		return 0;
	if (c->assignee) {
		rc = docket_intern(&eng->st, x->txn, DOCKET_N_USER, 0, c->assignee, c->assignee_len,
				   false, &uno, x->err);
		if (rc == DOCKET_ENOENT)
			return docket_err_set(x->err, DOCKET_ECORRUPT, "assignee of %s not interned",
					      x->r->id);
		if (rc)
			return rc;
		docket_key_byuser(k, uno, x->ckey);
		if ((rc = del(x, eng->st.byuser, k, sizeof k, false, "assignee index")))
			return rc;
	}
	if (user) {
		if ((rc = docket_intern(&eng->st, x->txn, DOCKET_N_USER, 0, user, ul, true, &uno,
					x->err)))
			return rc;
		docket_key_byuser(k, uno, x->ckey);
		if ((rc = put(x, eng->st.byuser, k, sizeof k, "", 0, 0, "assignee index")))
			return rc;
	}
	c->assignee = user;
	c->assignee_len = (uint32_t)ul;
	docket_hist *h = hist_start(x, DOCKET_H_ASSIGN, op->actor);
	h->text = user;
	h->text_len = (uint32_t)ul;
	if ((rc = hist_write(x, h)))
		return rc;
	return case_write(x);
}

/* System operations belong to one stage entry; anything else is stale. */
static int load_entry(struct ctx *x, const docket_op *op)
{
	int rc = load(x, x->r->id);

	if (rc)
		return rc;
	if (op->entry != x->c->entry)
		return docket_err_set(x->err, DOCKET_ESTATE,
			"case %s has left stage entry %u (it is at entry %u, stage '%s')",
			x->r->id, op->entry, x->c->entry, x->d->wf->stages[x->c->stage].name);
	return 0;
}

static int need_outbox(struct ctx *x)
{
	if (x->c->flags & DOCKET_CF_OUTBOX)
		return 0;
	return docket_err_set(x->err, DOCKET_ESTATE, "case %s has no action run pending at entry %u",
			      x->r->id, x->c->entry);
}

/* A failed attempt: retry after the stage's backoff (doubling), or, past
 * retry.max or when `final`, mark the action failed. */
static int action_failed(struct ctx *x, const char *reason, bool final)
{
	const docket_action *act = x->d->wf->stages[x->c->stage].action;
	docket_case *c = x->c;
	uint32_t attempt = c->attempt;
	char buf[DOCKET_NOTE_MAX + 1];
	int rc;

	if (!reason || !*reason)
		reason = "no reason given";
	text_cut(buf, sizeof buf, reason);
	if (!docket_utf8_valid(buf, strlen(buf)))
		snprintf(buf, sizeof buf, "(reason was not valid UTF-8)");
	if ((rc = outbox_del(x)))
		return rc;
	docket_hist *h = hist_start(x, DOCKET_H_ACTION_RETRY, NULL);
	h->text = buf;
	h->text_len = (uint32_t)strlen(buf);
	if (!final && act && attempt < (uint32_t)act->retry_max) {
		int shift = attempt < 30 ? (int)attempt : 30;
		int64_t delay = act->backoff_s * 1000 * ((int64_t)1 << shift);
		if (delay > DOCKET_DURATION_MAX_S * 1000 || delay < 0)
			delay = DOCKET_DURATION_MAX_S * 1000;
		if ((rc = outbox_put(x, x->now + delay, attempt + 1)))
			return rc;
	} else {
		h->kind = DOCKET_H_ACTION_FAILED;
		c->flags |= DOCKET_CF_FAILED;
		if ((rc = failed_put(x, FAILED_ACTION, 0, buf)))
			return rc;
	}
	if ((rc = hist_write(x, h)))
		return rc;
	return case_write(x);
}

static int op_action(struct ctx *x, const docket_op *op)
{
	int rc = load_entry(x, op);

	if (rc || (rc = need_outbox(x)))
		return rc;
	switch (op->kind) {
	case DOCKET_OP_ACTION_EVENT:
		if (!op->event)
			return docket_err_set(x->err, DOCKET_EINVAL, "no event given");
		return transition(x, op->event, op->fields, NULL, NULL);
	case DOCKET_OP_ACTION_DONE: {
		if ((rc = outbox_del(x)))
			return rc;
		docket_hist *h = hist_start(x, DOCKET_H_ACTION_DONE, NULL);
		if ((rc = hist_write(x, h)))
			return rc;
		return case_write(x);
	}
	case DOCKET_OP_ACTION_RETRY:
		return action_failed(x, op->reason, false);
	default:
		return action_failed(x, op->reason, true);
	}
}

static int timer_entry(struct ctx *x, const docket_op *op, const docket_stage **st,
		       uint8_t k[KEY_TIMER])
{
	MDB_val key = {KEY_TIMER, k}, v;
	int rc = load_entry(x, op);

	if (rc)
		return rc;
	*st = &x->d->wf->stages[x->c->stage];
	if (op->timer < 0 || (size_t)op->timer >= (*st)->ntimers)
		return docket_err_set(x->err, DOCKET_ENOENT, "stage '%s' has no timer %d",
				      (*st)->name, op->timer);
	int64_t at = docket_timer_at(x->d, x->c, (size_t)op->timer);
	docket_key_timer(k, at, x->ckey, op->timer);
	rc = mdb_get(x->txn, x->eng->st.timers, &key, &v);
	if (rc == MDB_NOTFOUND)
		return docket_err_set(x->err, DOCKET_ESTATE, "timer %d of %s already fired or parked",
				      op->timer, x->r->id);
	if (rc)
		return docket_store_err(x->err, rc, "reading the timer");
	if (at > x->now)
		return docket_err_set(x->err, DOCKET_ESTATE, "timer %d of %s is not due yet",
				      op->timer, x->r->id);
	return 0;
}

static int op_timer(struct ctx *x, const docket_op *op)
{
	const docket_stage *st;
	uint8_t k[KEY_TIMER];
	int rc = timer_entry(x, op, &st, k);

	if (rc)
		return rc;
	const docket_timer *t = &st->timers[op->timer];
	return transition(x, st->events[t->event].name, NULL, NULL, NULL);
}

/* The timer's event was refused: take the timer off the schedule and
 * record why, so the case shows as stuck instead of firing in a loop. */
static int park_timer(struct ctx *x, const docket_op *op, const char *reason)
{
	const docket_stage *st;
	uint8_t k[KEY_TIMER];
	docket_err ignore;
	docket_err *keep = x->err;
	int rc;

	x->err = &ignore;
	rc = timer_entry(x, op, &st, k);
	x->err = keep;
	if (rc)
		return rc;
	if ((rc = del(x, x->eng->st.timers, k, KEY_TIMER, false, "timer index")) ||
	    (rc = failed_put(x, FAILED_TIMER, op->timer, reason)))
		return rc;
	x->c->flags |= DOCKET_CF_PARKED;
	docket_hist *h = hist_start(x, DOCKET_H_TIMER_REFUSED, NULL);
	h->event = st->timers[op->timer].event;
	h->text = reason;
	h->text_len = (uint32_t)strlen(reason);
	if ((rc = hist_write(x, h)))
		return rc;
	return case_write(x);
}

/* A plugin's event was refused: count it as a failed attempt. */
static int refuse_action_event(struct ctx *x, const docket_op *op, const char *reason)
{
	char buf[DOCKET_ERR_MAX + 64];
	docket_err ignore;
	docket_err *keep = x->err;
	int rc;

	x->err = &ignore;
	rc = load_entry(x, op);
	if (rc == 0)
		rc = need_outbox(x);
	x->err = keep;
	if (rc)
		return rc;
	snprintf(buf, sizeof buf, "plugin returned event '%s': %s", op->event, reason);
	return action_failed(x, buf, false);
}

static int op_retry(struct ctx *x, const docket_op *op)
{
	const docket_stage *st;
	MDB_cursor *cur;
	MDB_val k, v;
	uint8_t tk[KEY_TIMER], wv[8];
	int rc = load(x, x->r->id);

	if (rc || (rc = need_member(x, op->actor, "retrying")))
		return rc;
	docket_case *c = x->c;
	st = &x->d->wf->stages[c->stage];
	if (!(c->flags & (DOCKET_CF_FAILED | DOCKET_CF_PARKED)))
		return docket_err_set(x->err, DOCKET_ESTATE,
			"case %s has no failed action or refused timer to retry", x->r->id);
	/* Re-arm parked timers at their own time, which has passed. */
	if ((rc = mdb_cursor_open(x->txn, x->eng->st.failed, &cur)))
		return docket_store_err(x->err, rc, "reading failures");
	k.mv_size = DOCKET_CKEY;
	k.mv_data = x->ckey;
	docket_be32(wv, x->d->wfno);
	docket_be32(wv + 4, c->entry);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == 0 && !memcmp(k.mv_data, x->ckey, DOCKET_CKEY);
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const uint8_t *kp = k.mv_data;
		if (kp[12] != FAILED_TIMER || kp[13] >= st->ntimers)
			continue;
		docket_key_timer(tk, docket_timer_at(x->d, c, kp[13]), x->ckey, kp[13]);
		MDB_val nk = {KEY_TIMER, tk}, nv = {8, wv};
		if ((rc = docket_store_put(&x->eng->st, x->txn, x->eng->st.timers, &nk, &nv, 0)))
			break;
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return docket_store_err(x->err, rc, "re-arming timers");
	if ((rc = failed_clear(x)))
		return rc;
	bool action = c->flags & DOCKET_CF_FAILED;
	c->flags &= ~(uint32_t)(DOCKET_CF_FAILED | DOCKET_CF_PARKED);
	if (action && st->action && (rc = outbox_put(x, x->now, 0)))
		return rc;
	docket_hist *h = hist_start(x, DOCKET_H_RETRY, op->actor);
	if ((rc = hist_write(x, h)))
		return rc;
	return case_write(x);
}

static int run_op(struct ctx *x, const docket_op *op)
{
	if (op->kind <= DOCKET_OP_RETRY) {
		const char *n = op->actor ? op->actor->name : NULL;
		if (!n || !*n || strlen(n) > DOCKET_NAME_MAX || !docket_utf8_valid(n, strlen(n)))
			return docket_err_set(x->err, DOCKET_EINVAL,
				"an operation needs an actor: a name of 1 to %d bytes of UTF-8",
				DOCKET_NAME_MAX);
	}
	switch (op->kind) {
	case DOCKET_OP_CREATE: return op_create(x, op);
	case DOCKET_OP_FIRE: return op_fire(x, op);
	case DOCKET_OP_NOTE: return op_note(x, op);
	case DOCKET_OP_ASSIGN: return op_assign(x, op);
	case DOCKET_OP_RETRY: return op_retry(x, op);
	case DOCKET_OP_TIMER: return op_timer(x, op);
	case DOCKET_OP_ACTION_EVENT:
	case DOCKET_OP_ACTION_DONE:
	case DOCKET_OP_ACTION_RETRY:
	case DOCKET_OP_ACTION_FAIL:
		return op_action(x, op);
	}
	return docket_err_set(x->err, DOCKET_EINVAL, "unknown operation %d", (int)op->kind);
}

/* --- batches ------------------------------------------------------------ */

/* Codes that fail the whole batch rather than one operation. */
static bool batch_fatal(int rc)
{
	return rc == DOCKET_EMAPFULL || rc == DOCKET_ESTORE || rc == DOCKET_EIO ||
	       rc == DOCKET_ENOMEM;
}

static int next_gseq(docket_engine *eng, MDB_txn *txn, uint64_t *g, docket_err *err)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, eng->st.history, &cur);

	if (rc)
		return docket_store_err(err, rc, "reading history");
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND) {
		*g = 1;
		return 0;
	}
	if (rc)
		return docket_store_err(err, rc, "reading history");
	*g = (k.mv_size == 8 ? docket_rd64(k.mv_data) : 0) + 1;
	return 0;
}

/* The workflow refused what a timer or a plugin asked (code rc, message
 * in r): record that instead, in a second nested transaction, so the case
 * shows up as stuck.  Stale operations record nothing.  0 or a
 * batch-fatal code. */
static int record_refusal(docket_engine *eng, MDB_txn *parent, struct ctx *x,
			  const docket_op *op, docket_result *r, int rc)
{
	char reason[DOCKET_ERR_MAX];
	docket_err rec;

	if (op->kind != DOCKET_OP_TIMER && op->kind != DOCKET_OP_ACTION_EVENT)
		return 0;
	if (rc != DOCKET_ESTATE && rc != DOCKET_EGUARD && rc != DOCKET_EREQUIRED &&
	    rc != DOCKET_EINVAL && rc != DOCKET_ENOENT && rc != DOCKET_ELIMIT)
		return 0;
	snprintf(reason, sizeof reason, "%s", r->err.msg);
	x->err = &rec;
	if ((rc = docket_store_begin(&eng->st, parent, 0, &x->txn, x->err)) == 0) {
		rc = op->kind == DOCKET_OP_TIMER ? park_timer(x, op, reason)
						 : refuse_action_event(x, op, reason);
		if (rc == 0)
			rc = docket_store_commit_nested(&eng->st, x->txn, "recording a failure", &rec);
		else
			docket_store_abort(&eng->st, x->txn);
	}
	x->err = &r->err;
	if (rc == 0) {
		r->recorded_failure = true;
		r->entry = x->c->entry;
		snprintf(r->stage, sizeof r->stage, "%s", x->d->wf->stages[x->c->stage].name);
		return 0;
	}
	r->seq = 0;
	if (!batch_fatal(rc))
		return 0;   /* stale, or nothing to record: the refusal stands */
	r->err = rec;
	return rc;
}

/* What run_batch returns when an operation it ran without a nested
 * transaction failed after writing: the batch must run again, nested. */
#define REPLAY_NESTED 1

/* Operations whose every refusal comes before their first write. */
static bool checks_first(const docket_op *op)
{
	return op->kind == DOCKET_OP_CREATE || op->kind == DOCKET_OP_FIRE;
}

/* Run op in parent, or in a nested transaction of it; 0, a batch-fatal
 * code or REPLAY_NESTED. */
static int run_one(docket_engine *eng, MDB_txn *parent, bool nested, struct ctx *x,
		   const docket_op *op, docket_result *r)
{
	uint64_t gseq = x->gseq;
	char id[DOCKET_ID_MAX] = "";
	bool straight = !nested && checks_first(op);
	int rc;

	/* The caller may pass a previous result's id in the same slot. */
	if (op->case_id)
		snprintf(id, sizeof id, "%s", op->case_id);
	memset(r, 0, sizeof *r);
	x->c = NULL;
	x->d = NULL;
	x->op = op;
	x->r = r;
	x->err = &r->err;
	x->wrote = false;
	if (straight)
		x->txn = parent;
	else if ((rc = docket_store_begin(&eng->st, parent, 0, &x->txn, x->err)))
		return rc;
	memcpy(r->id, id, sizeof id);
	rc = run_op(x, op);
	if (rc == 0 && !straight)
		rc = docket_store_commit_nested(&eng->st, x->txn, "committing the operation", x->err);
	else if (rc && !straight)
		docket_store_abort(&eng->st, x->txn);
	if (rc == 0) {
		if (x->c && x->d) {
			r->entry = x->c->entry;
			snprintf(r->stage, sizeof r->stage, "%s", x->d->wf->stages[x->c->stage].name);
		}
		return 0;
	}
	x->gseq = gseq;     /* its history entry, if any, went with it */
	r->code = rc;
	r->seq = 0;
	if (batch_fatal(rc))
		return rc;
	if (straight)
		return x->wrote ? REPLAY_NESTED : 0;
	rc = record_refusal(eng, parent, x, op, r, rc);
	if (!r->recorded_failure)
		x->gseq = gseq;
	return rc;
}

static int run_batch(docket_engine *eng, const docket_op *ops, size_t n,
		     docket_result *results, int64_t now, bool nested, docket_err *err)
{
	struct ctx x = {.eng = eng, .now = now};
	MDB_txn *txn;
	int rc;

	if ((rc = docket_store_begin(&eng->st, NULL, 0, &txn, err)))
		return rc;
	if ((rc = next_gseq(eng, txn, &x.gseq, err)))
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if ((rc = run_one(eng, txn, nested, &x, &ops[i], &results[i]))) {
			if (rc != REPLAY_NESTED)
				*err = results[i].err;
			goto fail;
		}
	}
	return docket_store_commit(&eng->st, txn, "committing the batch", err);
fail:
	docket_store_abort(&eng->st, txn);
	return rc;
}

int docket_engine_apply(docket_engine *eng, const docket_op *ops, size_t n,
			docket_result *results)
{
	docket_err err = {0};
	int64_t now;
	int rc;

	if (n > DOCKET_BATCH_MAX) {
		rc = docket_err_set(&err, DOCKET_ELIMIT, "a batch holds at most %d operations",
				    DOCKET_BATCH_MAX);
		goto failed;
	}
	/* One clock reading for the batch: a replay after growing the map
	 * writes exactly what the first run would have. */
	now = docket_engine_now(eng);
	for (bool nested = false;;) {
		rc = run_batch(eng, ops, n, results, now, nested, &err);
		if (rc == REPLAY_NESTED) {
			nested = true;
			continue;
		}
		if (rc != DOCKET_EMAPFULL)
			break;
		if ((rc = docket_store_grow(&eng->st, &err)))
			break;
	}
	if (rc == 0)
		return 0;
failed:
	for (size_t i = 0; i < n; i++) {
		memset(&results[i], 0, sizeof results[i]);
		results[i].code = rc;
		results[i].err = err;
	}
	return rc;
}
