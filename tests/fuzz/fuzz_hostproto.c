/* Fuzz the plugin host protocol: any bytes, cut into frames, through the
 * message decoder.  Whatever decodes must encode again and decode to the
 * same message, so the daemon and the host never disagree on what a frame
 * said.  Never a crash, a leak or an abort. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "hostproto.h"

static json_t *encode(const docket_host_msg *m)
{
	switch (m->type) {
	case DOCKET_HMSG_RUN: return docket_hostproto_job(&m->job);
	case DOCKET_HMSG_OUTCOME: return docket_hostproto_outcome(&m->outcome);
	case DOCKET_HMSG_LOG: return docket_hostproto_log(&m->log);
	default: return NULL;
	}
}

static void same(const docket_host_msg *a, const docket_host_msg *b)
{
	if (a->type != b->type)
		abort();
	if (a->type == DOCKET_HMSG_RUN &&
	    (a->job.id != b->job.id || a->job.attempt != b->job.attempt ||
	     strcmp(a->job.plugin, b->job.plugin) || strcmp(a->job.key, b->job.key) ||
	     !json_equal((json_t *)a->job.fields, (json_t *)b->job.fields)))
		abort();
	if (a->type == DOCKET_HMSG_OUTCOME &&
	    (a->outcome.kind != b->outcome.kind || a->outcome.id != b->outcome.id ||
	     a->outcome.load_error != b->outcome.load_error))
		abort();
	if (a->type == DOCKET_HMSG_LOG && (a->log.level != b->log.level ||
					   strcmp(a->log.message, b->log.message)))
		abort();
}

static void check(const json_t *msg)
{
	docket_host_msg m, again;
	json_t *enc;

	if (docket_hostproto_decode(msg, &m, NULL))
		return;
	if (m.type == DOCKET_HMSG_RUN)
		(void)docket_hostproto_event_allowed(&m.job, "go");
	enc = encode(&m);
	if (!enc)
		return;
	if (docket_hostproto_decode(enc, &again, NULL))
		abort();
	same(&m, &again);
	json_decref(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	docket_frame_reader r;
	size_t off = 0, step = size % 13 + 1;

	docket_frame_reader_init(&r, 1 << 16);
	while (off < size) {
		size_t n = size - off < step ? size - off : step;
		if (docket_frame_feed(&r, data + off, n) < 0)
			break;
		off += n;
		json_t *msg;
		int rc;
		while ((rc = docket_frame_next(&r, &msg, NULL)) == 1) {
			check(msg);
			json_decref(msg);
		}
		if (rc < 0)
			break;
	}
	docket_frame_reader_free(&r);
	return 0;
}
