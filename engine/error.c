/*
 * error.c - filling docket_err.  Messages are truncated, never overrun; a
 * NULL err is allowed everywhere so callers that only want the code can
 * pass none.
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A message cut at the buffer's end must stay valid UTF-8: it travels in
 * JSON replies.  Drop a trailing partial character. */
static void cut_clean(char *buf, size_t size, int wanted)
{
	size_t len, i, need;

	if (wanted < 0 || (size_t)wanted < size)
		return;
	len = strlen(buf);
	i = len;
	while (i > 0 && ((unsigned char)buf[i - 1] & 0xC0) == 0x80)
		i--;
	if (i == 0)
		return;
	unsigned char lead = (unsigned char)buf[i - 1];
	need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
	if (len - (i - 1) < need)
		buf[i - 1] = '\0';
}

int docket_err_set(docket_err *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		err->code = code;
		va_start(ap, fmt);
		int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
		cut_clean(err->msg, sizeof err->msg, n);
	}
	return code;
}

int docket_err_prefix(docket_err *err, const char *fmt, ...)
{
	char old[DOCKET_ERR_MAX], pre[DOCKET_ERR_MAX];
	va_list ap;

	if (!err)
		return 0;
	memcpy(old, err->msg, sizeof old);
	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	int n = snprintf(err->msg, sizeof err->msg, "%s%s", pre, old);
	cut_clean(err->msg, sizeof err->msg, n);
	return err->code;
}

const char *docket_strerror(int code)
{
	switch (code) {
	case DOCKET_OK: return "success";
	case DOCKET_EINVAL: return "invalid input";
	case DOCKET_ENOENT: return "not found";
	case DOCKET_EEXIST: return "already exists";
	case DOCKET_EPERM: return "not permitted";
	case DOCKET_ESTATE: return "not allowed in this stage";
	case DOCKET_EGUARD: return "no guard held";
	case DOCKET_EREQUIRED: return "required field missing";
	case DOCKET_ENOMEM: return "out of memory";
	case DOCKET_EIO: return "input/output error";
	case DOCKET_ESTORE: return "store error";
	case DOCKET_ELIMIT: return "limit exceeded";
	case DOCKET_ECORRUPT: return "store corrupt";
	case DOCKET_EPROTO: return "protocol error";
	case DOCKET_EBUSY: return "busy";
	case DOCKET_EUNAVAIL: return "daemon not running";
	}
	return "unknown error";
}
