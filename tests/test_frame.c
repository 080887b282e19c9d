/* Protocol framing: whole, split and coalesced frames; oversized and bad
 * frames refused from what little has arrived. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "frame.h"

static void roundtrip_byte_by_byte(void **state)
{
	(void)state;
	json_t *m = json_pack("{s:i, s:s}", "id", 7, "op", "hello");
	unsigned char *buf;
	size_t len;
	docket_frame_reader r;
	json_t *got = NULL;

	assert_int_equal(docket_frame_encode(m, 0, &buf, &len, NULL), 0);
	docket_frame_reader_init(&r, 0);
	for (size_t i = 0; i < len; i++) {
		assert_int_equal(docket_frame_next(&r, &got, NULL), 0);
		assert_int_equal(docket_frame_feed(&r, buf + i, 1), 0);
	}
	assert_int_equal(docket_frame_next(&r, &got, NULL), 1);
	assert_true(json_equal(got, m));
	assert_int_equal(r.len, 0);
	json_decref(got);
	json_decref(m);
	free(buf);
	docket_frame_reader_free(&r);
}

static void two_frames_in_one_read(void **state)
{
	(void)state;
	unsigned char *a, *b;
	size_t la, lb;
	json_t *ma = json_pack("{s:i}", "id", 1), *mb = json_pack("{s:i}", "id", 2), *got;
	docket_frame_reader r;

	docket_frame_encode(ma, 0, &a, &la, NULL);
	docket_frame_encode(mb, 0, &b, &lb, NULL);
	docket_frame_reader_init(&r, 0);
	docket_frame_feed(&r, a, la);
	docket_frame_feed(&r, b, lb);
	assert_int_equal(docket_frame_next(&r, &got, NULL), 1);
	assert_int_equal(json_integer_value(json_object_get(got, "id")), 1);
	json_decref(got);
	assert_int_equal(docket_frame_next(&r, &got, NULL), 1);
	assert_int_equal(json_integer_value(json_object_get(got, "id")), 2);
	json_decref(got);
	assert_int_equal(docket_frame_next(&r, &got, NULL), 0);
	free(a);
	free(b);
	json_decref(ma);
	json_decref(mb);
	docket_frame_reader_free(&r);
}

static void oversized_refused_from_header(void **state)
{
	(void)state;
	/* 100 MB announced: refused with four bytes received. */
	unsigned char hdr[4] = {0x06, 0x40, 0x00, 0x00};
	docket_frame_reader r;
	docket_err err = {0};
	json_t *got;

	docket_frame_reader_init(&r, 0);
	docket_frame_feed(&r, hdr, 4);
	assert_int_equal(docket_frame_next(&r, &got, &err), DOCKET_ELIMIT);
	assert_null(got);
	assert_non_null(strstr(err.msg, "over the limit"));
	docket_frame_reader_free(&r);
}

static void bad_bodies_refused(void **state)
{
	(void)state;
	const char *bodies[] = {"not json", "[1,2]", "{\"a\":1,\"a\":2}", "{\"s\":\"\xff\"}"};
	for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
		docket_frame_reader r;
		docket_err err = {0};
		json_t *got;
		uint32_t n = (uint32_t)strlen(bodies[i]);
		unsigned char hdr[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
					(unsigned char)(n >> 8), (unsigned char)n};
		docket_frame_reader_init(&r, 0);
		docket_frame_feed(&r, hdr, 4);
		docket_frame_feed(&r, bodies[i], n);
		assert_int_equal(docket_frame_next(&r, &got, &err), DOCKET_EPROTO);
		assert_null(got);
		docket_frame_reader_free(&r);
	}
}

static void encode_respects_limit(void **state)
{
	(void)state;
	char big[300];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	json_t *m = json_pack("{s:s}", "s", big);
	unsigned char *buf;
	size_t len;
	assert_int_equal(docket_frame_encode(m, 100, &buf, &len, NULL), DOCKET_ELIMIT);
	assert_null(buf);
	json_decref(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip_byte_by_byte),
		cmocka_unit_test(two_frames_in_one_read),
		cmocka_unit_test(oversized_refused_from_header),
		cmocka_unit_test(bad_bodies_refused),
		cmocka_unit_test(encode_respects_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
