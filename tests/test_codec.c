/* Stored records: what is written reads back the same, and damaged bytes
 * are reported as corrupt instead of being misread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "codec.h"

static docket_case *sample_case(void)
{
	docket_case *c = calloc(1, sizeof *c);
	c->defno = 3;
	c->stage = 7;
	c->created = 1714550400000;
	c->updated = c->created + 5000;
	c->entered = c->created + 4000;
	c->seq = 12;
	c->entry = 11;
	c->head = 123456789;
	c->flags = DOCKET_CF_OUTBOX;
	c->notbefore = c->created + 9000;
	c->attempt = 2;
	c->assignee = "alice";
	c->assignee_len = 5;
	c->nfields = 6;
	c->fields[0] = (docket_value){.t = DOCKET_V_STR, .s = {"Acme \xc3\x9f", 7}};
	c->fields[1] = (docket_value){.t = DOCKET_V_INT, .i = -42};
	c->fields[2] = (docket_value){.t = DOCKET_V_NUM, .n = 19.95};
	/* fields[3] unset */
	c->fields[4] = (docket_value){.t = DOCKET_V_BOOL, .b = true};
	c->fields[5] = (docket_value){.t = DOCKET_V_DATE, .date = 19844};
	return c;
}

static void case_round_trips(void **state)
{
	(void)state;
	docket_case *c = sample_case(), *d = calloc(1, sizeof *d);
	docket_buf b = {0};
	uint32_t defno;

	assert_int_equal(docket_case_encode(c, &b), 0);
	assert_int_equal(docket_case_defno(b.p, b.len, &defno), 0);
	assert_int_equal(defno, 3);
	assert_int_equal(docket_case_decode(b.p, b.len, 6, d), 0);
	assert_int_equal(d->stage, 7);
	assert_true(d->created == c->created && d->updated == c->updated &&
		    d->entered == c->entered && d->notbefore == c->notbefore);
	assert_int_equal(d->seq, 12);
	assert_int_equal(d->entry, 11);
	assert_true(d->head == 123456789);
	assert_int_equal(d->attempt, 2);
	assert_int_equal(d->assignee_len, 5);
	assert_memory_equal(d->assignee, "alice", 5);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(d->fields[i].t, c->fields[i].t);
		if (c->fields[i].t != DOCKET_V_NULL)
			assert_true(docket_value_equal(&d->fields[i], &c->fields[i]));
	}
	docket_buf_free(&b);
	free(c);
	free(d);
}

static void case_record_is_compact(void **state)
{
	(void)state;
	docket_case *c = sample_case();
	docket_buf b = {0};

	assert_int_equal(docket_case_encode(c, &b), 0);
	/* 40 bytes of field payload plus a small fixed head. */
	assert_true(b.len < 80);
	docket_buf_free(&b);
	free(c);
}

static void case_with_more_fields_in_record_than_definition_is_corrupt(void **state)
{
	(void)state;
	docket_case *c = sample_case(), *d = calloc(1, sizeof *d);
	docket_buf b = {0};

	assert_int_equal(docket_case_encode(c, &b), 0);
	assert_int_equal(docket_case_decode(b.p, b.len, 3, d), DOCKET_ECORRUPT);
	docket_buf_free(&b);
	free(c);
	free(d);
}

static void every_truncation_is_corrupt(void **state)
{
	(void)state;
	docket_case *c = sample_case(), *d = calloc(1, sizeof *d);
	docket_buf b = {0};

	assert_int_equal(docket_case_encode(c, &b), 0);
	for (size_t n = 0; n < b.len; n++)
		assert_int_equal(docket_case_decode(b.p, n, 6, d), DOCKET_ECORRUPT);
	/* and trailing garbage too */
	docket_buf_u8(&b, 0);
	assert_int_equal(docket_case_decode(b.p, b.len, 6, d), DOCKET_ECORRUPT);
	docket_buf_free(&b);
	free(c);
	free(d);
}

static void history_round_trips(void **state)
{
	(void)state;
	docket_hist *h = calloc(1, sizeof *h), *g = calloc(1, sizeof *g);
	docket_buf b = {0};

	memset(h->ckey, 0xab, sizeof h->ckey);
	h->seq = 4;
	h->prev = 99;
	h->at = 1714550400123;
	h->kind = DOCKET_H_EVENT;
	h->defno = 2;
	h->from = 0;
	h->to = 3;
	h->event = 1;
	h->actor = "bob";
	h->actor_len = 3;
	h->note = "called the customer";
	h->note_len = 19;
	h->nchanges = 2;
	h->chg_field[0] = 1;
	h->chg[0] = (docket_value){.t = DOCKET_V_INT, .i = 5};
	h->chg_field[1] = 4;
	h->chg[1] = (docket_value){.t = DOCKET_V_NULL};
	assert_int_equal(docket_hist_encode(h, &b), 0);
	assert_int_equal(docket_hist_decode(b.p, b.len, g), 0);
	assert_memory_equal(g->ckey, h->ckey, sizeof h->ckey);
	assert_int_equal(g->seq, 4);
	assert_true(g->prev == 99 && g->at == h->at);
	assert_int_equal(g->kind, DOCKET_H_EVENT);
	assert_int_equal(g->from, 0);
	assert_int_equal(g->to, 3);
	assert_int_equal(g->event, 1);
	assert_memory_equal(g->actor, "bob", 3);
	assert_memory_equal(g->note, h->note, 19);
	assert_null(g->text);
	assert_int_equal(g->nchanges, 2);
	assert_int_equal(g->chg_field[1], 4);
	assert_int_equal(g->chg[1].t, DOCKET_V_NULL);
	assert_string_equal(docket_hkind_name(g->kind), "event");

	/* A creation entry has no "from": stored as one byte, read back -1. */
	h->kind = DOCKET_H_CREATE;
	h->from = -1;
	h->event = -1;
	assert_int_equal(docket_hist_encode(h, &b), 0);
	assert_int_equal(docket_hist_decode(b.p, b.len, g), 0);
	assert_int_equal(g->from, -1);
	assert_int_equal(g->event, -1);
	for (size_t n = 0; n < b.len; n++)
		assert_int_equal(docket_hist_decode(b.p, n, g), DOCKET_ECORRUPT);
	docket_buf_free(&b);
	free(h);
	free(g);
}

static void random_bytes_never_crash(void **state)
{
	(void)state;
	docket_case *d = calloc(1, sizeof *d);
	docket_hist *g = calloc(1, sizeof *g);
	uint8_t buf[64];
	uint32_t seed = 12345;

	for (int round = 0; round < 20000; round++) {
		size_t n = round % sizeof buf;
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245 + 12345;
			buf[i] = (uint8_t)(seed >> 16);
		}
		buf[0] = round & 1 ? DOCKET_CASE_FORMAT : buf[0];
		(void)docket_case_decode(buf, n, (uint32_t)(round % 8), d);
		(void)docket_hist_decode(buf, n, g);
	}
	free(d);
	free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(case_round_trips),
		cmocka_unit_test(case_record_is_compact),
		cmocka_unit_test(case_with_more_fields_in_record_than_definition_is_corrupt),
		cmocka_unit_test(every_truncation_is_corrupt),
		cmocka_unit_test(history_round_trips),
		cmocka_unit_test(random_bytes_never_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
