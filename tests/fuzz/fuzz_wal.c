/*
 * fuzz_wal.c - any bytes as the write-ahead log a restart reads.
 *
 * The first byte picks what the rest is:
 *   0: one record's redo payload, decoded operation by operation;
 *   1: the records part of a log file, as it is on disk (after a valid
 *      checkpoint), scanned and each record's payload decoded;
 *   2: payloads (each a length byte, then that many bytes) appended as
 *      records, then the rest as trailing garbage: the scan must return
 *      exactly those payloads, in order, whatever follows them.
 * A record's CRC is a wall a fuzzer cannot climb, so mode 2 writes them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wal.h"

static char home[64];

static void decode(const uint8_t *p, size_t n)
{
	docket_redo_op op;
	docket_err err;
	size_t off = 0, was = 0;
	int rc;

	while ((rc = docket_redo_next(p, n, &off, &op, &err)) == 1) {
		if (off <= was || off > n || op.klen == 0 ||
		    (op.kind != DOCKET_REDO_PUT && op.kind != DOCKET_REDO_DEL))
			abort();
		was = off;
	}
	if (rc != 0 && rc != DOCKET_ECORRUPT)
		abort();
}

struct want {
	const uint8_t *data;
	size_t size, at, seen, appended;
	int mode;
};

static int visit(void *ctx, uint64_t lsn, const uint8_t *p, size_t n, docket_err *err)
{
	struct want *w = ctx;

	(void)lsn;
	(void)err;
	decode(p, n);
	if (w->mode == 2 && w->seen < w->appended) {
		/* The next payload appended must be this one. */
		if (w->at >= w->size || n != w->data[w->at] || w->at + 1 + n > w->size ||
		    (n && memcmp(p, w->data + w->at + 1, n)))
			abort();
		w->at += 1 + n;
	}
	w->seen++;
	return 0;
}

static void fresh(docket_wal *w)
{
	static uint8_t metas[2 * 65536];
	docket_wal_ckpt ck = {.lsn = 5, .metas = metas};
	docket_err err;
	char path[128];

	snprintf(path, sizeof path, "%s/%s", home, DOCKET_WAL_FILE);
	unlink(path);
	if (docket_wal_open(w, home, 1 << 20, &err) || docket_wal_checkpoint(w, &ck, &err))
		abort();
}

static void reopen(docket_wal *w)
{
	docket_err err;

	docket_wal_close(w);
	if (docket_wal_open(w, home, 1 << 20, &err))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	docket_wal w;
	docket_err err;
	size_t n, appended = 0;
	uint64_t last;
	struct want want = {.data = data + 1, .size = size ? size - 1 : 0};

	if (size < 1)
		return 0;
	want.mode = data[0] % 3;
	if (want.mode == 0) {
		decode(data + 1, size - 1);
		return 0;
	}
	if (!home[0]) {
		const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		snprintf(home, sizeof home, "%s/docket-fuzz-XXXXXX", tmp);
		if (!mkdtemp(home))
			abort();
	}
	fresh(&w);
	size_t at = 0;
	if (want.mode == 2) {
		while (at < want.size && at + 1 + want.data[at] <= want.size && appended < 64) {
			if (docket_wal_append(&w, 6 + appended, want.data + at + 1, want.data[at], &err) ||
			    docket_wal_settle(&w, true, &err))
				abort();
			at += 1 + want.data[at];
			appended++;
		}
	}
	if (pwrite(w.fd, want.data + at, want.size - at, w.pos) != (ssize_t)(want.size - at))
		abort();
	want.appended = appended;
	reopen(&w);
	if (docket_wal_scan(&w, visit, &want, &n, &last, &err))
		abort();
	if (n != want.seen || last != 5 + n || (want.mode == 2 && n < appended))
		abort();
	docket_wal_close(&w);
	return 0;
}
