/*
 * codec.c - encoding and decoding of stored records.  Every read is
 * bounds-checked: a truncated or garbled record sets the reader's bad flag
 * and decodes as DOCKET_ECORRUPT, so check can report it and nothing
 * reads past the record.
 */
#include "codec.h"

#include <stdlib.h>
#include <string.h>

void docket_buf_reset(docket_buf *b)
{
	b->len = 0;
	b->oom = false;
}

void docket_buf_free(docket_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

static bool reserve(docket_buf *b, size_t n)
{
	if (b->oom)
		return false;
	if (b->len + n <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + n)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void docket_buf_put(docket_buf *b, const void *p, size_t n)
{
	if (n && reserve(b, n)) {
		memcpy(b->p + b->len, p, n);
		b->len += n;
	}
}

void docket_buf_u8(docket_buf *b, uint8_t v)
{
	docket_buf_put(b, &v, 1);
}

void docket_buf_uv(docket_buf *b, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;

	do {
		t[n] = v & 0x7f;
		v >>= 7;
		if (v)
			t[n] |= 0x80;
		n++;
	} while (v);
	docket_buf_put(b, t, n);
}

void docket_buf_sv(docket_buf *b, int64_t v)
{
	docket_buf_uv(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void docket_buf_str(docket_buf *b, const char *p, size_t n)
{
	docket_buf_uv(b, n);
	docket_buf_put(b, p, n);
}

/* Value tags.  Booleans live in the tag so a set flag costs one byte. */
enum { T_NULL, T_FALSE, T_TRUE, T_INT, T_NUM, T_STR, T_DATE };

void docket_buf_value(docket_buf *b, const docket_value *v)
{
	switch (v->t) {
	case DOCKET_V_NULL:
		docket_buf_u8(b, T_NULL);
		break;
	case DOCKET_V_BOOL:
		docket_buf_u8(b, v->b ? T_TRUE : T_FALSE);
		break;
	case DOCKET_V_INT:
		docket_buf_u8(b, T_INT);
		docket_buf_sv(b, v->i);
		break;
	case DOCKET_V_NUM: {
		uint64_t bits;
		uint8_t t[8];
		memcpy(&bits, &v->n, 8);
		for (int i = 0; i < 8; i++)
			t[i] = bits >> (8 * i);
		docket_buf_u8(b, T_NUM);
		docket_buf_put(b, t, 8);
		break;
	}
	case DOCKET_V_STR:
		docket_buf_u8(b, T_STR);
		docket_buf_str(b, v->s.p, v->s.len);
		break;
	case DOCKET_V_DATE:
		docket_buf_u8(b, T_DATE);
		docket_buf_sv(b, v->date);
		break;
	}
}

uint8_t docket_rd_u8(docket_rd *r)
{
	if (r->p >= r->end) {
		r->bad = true;
		return 0;
	}
	return *r->p++;
}

uint64_t docket_rd_uv(docket_rd *r)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end)
			break;
		uint8_t c = *r->p++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
	}
	r->bad = true;
	return 0;
}

int64_t docket_rd_sv(docket_rd *r)
{
	uint64_t u = docket_rd_uv(r);
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

const char *docket_rd_str(docket_rd *r, uint32_t *len)
{
	uint64_t n = docket_rd_uv(r);
	const char *s = (const char *)r->p;

	if (r->bad || n > (uint64_t)(r->end - r->p) || n > UINT32_MAX) {
		r->bad = true;
		*len = 0;
		return NULL;
	}
	r->p += n;
	*len = (uint32_t)n;
	return s;
}

void docket_rd_value(docket_rd *r, docket_value *v)
{
	memset(v, 0, sizeof *v);
	switch (docket_rd_u8(r)) {
	case T_NULL:
		break;
	case T_FALSE:
	case T_TRUE:
		v->t = DOCKET_V_BOOL;
		v->b = r->p[-1] == T_TRUE;
		break;
	case T_INT:
		v->t = DOCKET_V_INT;
		v->i = docket_rd_sv(r);
		break;
	case T_NUM: {
		uint64_t bits = 0;
		if (r->end - r->p < 8) {
			r->bad = true;
			break;
		}
		for (int i = 0; i < 8; i++)
			bits |= (uint64_t)r->p[i] << (8 * i);
		r->p += 8;
		v->t = DOCKET_V_NUM;
		memcpy(&v->n, &bits, 8);
		break;
	}
	case T_STR:
		v->t = DOCKET_V_STR;
		v->s.p = docket_rd_str(r, &v->s.len);
		break;
	case T_DATE: {
		int64_t d = docket_rd_sv(r);
		if (d < INT32_MIN || d > INT32_MAX)
			r->bad = true;
		v->t = DOCKET_V_DATE;
		v->date = (int32_t)d;
		break;
	}
	default:
		r->bad = true;
	}
}

static int finish(const docket_buf *b)
{
	return b->oom ? DOCKET_ENOMEM : 0;
}

int docket_case_encode(const docket_case *c, docket_buf *b)
{
	uint32_t nset = 0;

	docket_buf_reset(b);
	docket_buf_u8(b, DOCKET_CASE_FORMAT);
	docket_buf_uv(b, c->defno);
	docket_buf_uv(b, c->stage);
	docket_buf_sv(b, c->created);
	/* Later times as offsets from creation: two bytes instead of six. */
	docket_buf_sv(b, c->updated - c->created);
	docket_buf_sv(b, c->entered - c->created);
	docket_buf_uv(b, c->seq);
	docket_buf_uv(b, c->entry);
	docket_buf_uv(b, c->head);
	docket_buf_uv(b, c->flags);
	if (c->flags & DOCKET_CF_OUTBOX) {
		docket_buf_sv(b, c->notbefore - c->created);
		docket_buf_uv(b, c->attempt);
	}
	docket_buf_str(b, c->assignee, c->assignee ? c->assignee_len : 0);
	for (uint32_t i = 0; i < c->nfields; i++)
		nset += c->fields[i].t != DOCKET_V_NULL;
	docket_buf_uv(b, nset);
	for (uint32_t i = 0; i < c->nfields; i++) {
		if (c->fields[i].t == DOCKET_V_NULL)
			continue;
		docket_buf_uv(b, i);
		docket_buf_value(b, &c->fields[i]);
	}
	return finish(b);
}

int docket_case_defno(const void *p, size_t len, uint32_t *defno)
{
	docket_rd r = {p, (const uint8_t *)p + len, false};

	if (docket_rd_u8(&r) != DOCKET_CASE_FORMAT)
		return DOCKET_ECORRUPT;
	uint64_t d = docket_rd_uv(&r);
	if (r.bad || d > UINT32_MAX)
		return DOCKET_ECORRUPT;
	*defno = (uint32_t)d;
	return 0;
}

/* base + a stored offset; a corrupt record whose sum overflows is bad,
 * not undefined behaviour. */
static int64_t rd_after(docket_rd *r, int64_t base)
{
	int64_t t;

	if (__builtin_add_overflow(base, docket_rd_sv(r), &t)) {
		r->bad = true;
		return 0;
	}
	return t;
}

int docket_case_decode(const void *p, size_t len, uint32_t nfields, docket_case *c)
{
	docket_rd r = {p, (const uint8_t *)p + len, false};
	uint64_t nset;

	if (nfields > DOCKET_FIELDS_MAX)
		return DOCKET_ECORRUPT;
	if (docket_rd_u8(&r) != DOCKET_CASE_FORMAT)
		return DOCKET_ECORRUPT;
	c->defno = (uint32_t)docket_rd_uv(&r);
	c->stage = (uint32_t)docket_rd_uv(&r);
	c->created = docket_rd_sv(&r);
	c->updated = rd_after(&r, c->created);
	c->entered = rd_after(&r, c->created);
	c->seq = (uint32_t)docket_rd_uv(&r);
	c->entry = (uint32_t)docket_rd_uv(&r);
	c->head = docket_rd_uv(&r);
	c->flags = (uint32_t)docket_rd_uv(&r);
	c->notbefore = 0;
	c->attempt = 0;
	if (c->flags & DOCKET_CF_OUTBOX) {
		c->notbefore = rd_after(&r, c->created);
		c->attempt = (uint32_t)docket_rd_uv(&r);
	}
	c->assignee = docket_rd_str(&r, &c->assignee_len);
	if (!c->assignee_len)
		c->assignee = NULL;
	c->nfields = nfields;
	memset(c->fields, 0, nfields * sizeof *c->fields);
	nset = docket_rd_uv(&r);
	if (nset > nfields)
		return DOCKET_ECORRUPT;
	for (uint64_t k = 0; k < nset && !r.bad; k++) {
		uint64_t i = docket_rd_uv(&r);
		if (i >= nfields || c->fields[i].t != DOCKET_V_NULL)
			return DOCKET_ECORRUPT;
		docket_rd_value(&r, &c->fields[i]);
		if (c->fields[i].t == DOCKET_V_NULL)
			return DOCKET_ECORRUPT;
	}
	return r.bad || r.p != r.end ? DOCKET_ECORRUPT : 0;
}

static const char *const hkinds[DOCKET_H_KIND_END] = {
	[DOCKET_H_CREATE] = "create",
	[DOCKET_H_EVENT] = "event",
	[DOCKET_H_NOTE] = "note",
	[DOCKET_H_ASSIGN] = "assign",
	[DOCKET_H_ACTION_DONE] = "action-done",
	[DOCKET_H_ACTION_RETRY] = "action-retry",
	[DOCKET_H_ACTION_FAILED] = "action-failed",
	[DOCKET_H_TIMER_REFUSED] = "timer-refused",
	[DOCKET_H_RETRY] = "retry",
};

const char *docket_hkind_name(docket_hkind k)
{
	return k > 0 && k < DOCKET_H_KIND_END ? hkinds[k] : "unknown";
}

int docket_hist_encode(const docket_hist *h, docket_buf *b)
{
	docket_buf_reset(b);
	docket_buf_u8(b, DOCKET_HIST_FORMAT);
	docket_buf_put(b, h->ckey, sizeof h->ckey);
	docket_buf_uv(b, h->seq);
	docket_buf_uv(b, h->prev);
	docket_buf_sv(b, h->at);
	docket_buf_u8(b, (uint8_t)h->kind);
	docket_buf_uv(b, h->defno);
	/* Indexes shifted by one so "none" (-1) is the one-byte 0. */
	docket_buf_uv(b, (uint64_t)(h->from + 1));
	docket_buf_uv(b, (uint64_t)(h->to + 1));
	docket_buf_uv(b, (uint64_t)(h->event + 1));
	docket_buf_str(b, h->actor, h->actor_len);
	docket_buf_str(b, h->note, h->note ? h->note_len : 0);
	docket_buf_str(b, h->text, h->text ? h->text_len : 0);
	docket_buf_uv(b, h->nchanges);
	for (uint32_t i = 0; i < h->nchanges; i++) {
		docket_buf_uv(b, h->chg_field[i]);
		docket_buf_value(b, &h->chg[i]);
	}
	return finish(b);
}

static int32_t rd_index(docket_rd *r)
{
	uint64_t v = docket_rd_uv(r);
	if (v > INT32_MAX) {
		r->bad = true;
		return -1;
	}
	return (int32_t)v - 1;
}

int docket_hist_decode(const void *p, size_t len, docket_hist *h)
{
	docket_rd r = {p, (const uint8_t *)p + len, false};

	if (docket_rd_u8(&r) != DOCKET_HIST_FORMAT || len < 13)
		return DOCKET_ECORRUPT;
	memcpy(h->ckey, r.p, sizeof h->ckey);
	r.p += sizeof h->ckey;
	h->seq = (uint32_t)docket_rd_uv(&r);
	h->prev = docket_rd_uv(&r);
	h->at = docket_rd_sv(&r);
	h->kind = docket_rd_u8(&r);
	if (h->kind < DOCKET_H_CREATE || h->kind >= DOCKET_H_KIND_END)
		return DOCKET_ECORRUPT;
	h->defno = (uint32_t)docket_rd_uv(&r);
	h->from = rd_index(&r);
	h->to = rd_index(&r);
	h->event = rd_index(&r);
	h->actor = docket_rd_str(&r, &h->actor_len);
	h->note = docket_rd_str(&r, &h->note_len);
	if (!h->note_len)
		h->note = NULL;
	h->text = docket_rd_str(&r, &h->text_len);
	if (!h->text_len)
		h->text = NULL;
	uint64_t n = docket_rd_uv(&r);
	if (n > DOCKET_FIELDS_MAX)
		return DOCKET_ECORRUPT;
	h->nchanges = (uint32_t)n;
	for (uint32_t i = 0; i < h->nchanges && !r.bad; i++) {
		uint64_t f = docket_rd_uv(&r);
		if (f >= DOCKET_FIELDS_MAX)
			return DOCKET_ECORRUPT;
		h->chg_field[i] = (uint16_t)f;
		docket_rd_value(&r, &h->chg[i]);
	}
	return r.bad || r.p != r.end ? DOCKET_ECORRUPT : 0;
}
