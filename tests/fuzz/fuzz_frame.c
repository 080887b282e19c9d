/* Fuzz the protocol frame reader: any bytes, fed in uneven pieces, must
 * give frames, "need more", or a clean refusal - never a crash or a leak. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	docket_frame_reader r;
	size_t off = 0, step = size % 7 + 1;

	docket_frame_reader_init(&r, 4096);
	while (off < size) {
		size_t n = size - off < step ? size - off : step;
		if (docket_frame_feed(&r, data + off, n) < 0)
			break;
		off += n;
		json_t *msg;
		int rc;
		while ((rc = docket_frame_next(&r, &msg, NULL)) == 1)
			json_decref(msg);
		if (rc < 0)
			break;
	}
	docket_frame_reader_free(&r);
	return 0;
}
