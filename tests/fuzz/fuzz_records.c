/*
 * fuzz_records.c - any bytes as a stored case record or history entry.
 * The first byte picks which and how many fields the definition has; the
 * rest is the record.  Whatever decodes must encode to bytes that decode
 * again and encode to the same bytes (decoding accepts what encoding
 * never writes, such as over-long varints, so the first pass normalizes).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

static docket_case c;
static docket_hist h;

static void again_case(const docket_buf *b1, uint32_t nfields)
{
	docket_buf b2 = {0};

	if (docket_case_decode(b1->p, b1->len, nfields, &c) || docket_case_encode(&c, &b2) ||
	    b2.len != b1->len || memcmp(b1->p, b2.p, b1->len))
		abort();
	docket_buf_free(&b2);
}

static void again_hist(const docket_buf *b1)
{
	docket_buf b2 = {0};

	if (docket_hist_decode(b1->p, b1->len, &h) || docket_hist_encode(&h, &b2) ||
	    b2.len != b1->len || memcmp(b1->p, b2.p, b1->len))
		abort();
	docket_buf_free(&b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	docket_buf b = {0};

	if (size < 1)
		return 0;
	if (data[0] & 0x80) {
		if (docket_hist_decode(data + 1, size - 1, &h) == 0 && docket_hist_encode(&h, &b) == 0)
			again_hist(&b);
	} else {
		uint32_t nfields = data[0] & 0x7f;
		if (docket_case_decode(data + 1, size - 1, nfields, &c) == 0 &&
		    docket_case_encode(&c, &b) == 0)
			again_case(&b, nfields);
	}
	docket_buf_free(&b);
	return 0;
}
