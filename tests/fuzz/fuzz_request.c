/* Fuzz the request decoder: any bytes that parse as JSON become a request
 * or a clean refusal, and every call of it has the types its op needs -
 * never a crash, a leak or an unchecked argument. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "daemon/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	docketd_request req;
	docket_err err;
	json_t *msg = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);

	if (!msg)
		return 0;
	int rc = docketd_request_decode(msg, &req, &err);
	json_decref(msg);
	for (size_t i = 0; rc == 0 && i < req.ncalls; i++) {
		const docketd_call *c = &req.calls[i];
		if (c->code)
			continue;
		/* What the dispatcher relies on for a call that decoded. */
		if ((c->op == DOCKETD_OP_SHOW || c->op == DOCKETD_OP_ADVANCE) && !c->case_id)
			__builtin_trap();
		if (c->op == DOCKETD_OP_ADVANCE && !c->event)
			__builtin_trap();
		if (c->op == DOCKETD_OP_NOTE && (!c->note || !*c->note))
			__builtin_trap();
		if (c->op == DOCKETD_OP_BACKUP && (!c->path || c->path[0] != '/'))
			__builtin_trap();
		if (c->fields && !json_is_object(c->fields))
			__builtin_trap();
		(void)docketd_call_writes(c);
	}
	(void)docketd_request_queues(&req);
	docketd_request_free(&req);
	return 0;
}
