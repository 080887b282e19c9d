/*
 * wal.c - HOME/store.wal: two checkpoint slots, then redo records.
 *
 * A commit is durable once its record is flushed here: one sequential
 * write and one flush, where LMDB's synchronous commit needs two flushes
 * in a row (its data pages, then the meta page that points at them).
 *
 * Invariants:
 * - A slot is {magic, version, gen, lsn, ino, size, psize, crc} then the
 *   store file's two meta pages; the valid slot with the higher gen
 *   counts, and a checkpoint writes the other one, so a torn slot write
 *   leaves the previous checkpoint standing.
 * - Records go to one of two halves.  A checkpoint names the half its
 *   successors start in (the writer switched to it when the checkpoint's
 *   state was taken), so the live records are the run from that half's
 *   start whose lsns are checkpoint + 1, + 2, ...  A torn record fails its
 *   CRC; a record of an earlier lap has a smaller lsn; either ends the run.
 *   The other half is free once the checkpoint is on disk.
 * - The file is zero-filled ahead of the writer, so flushing a record
 *   moves no file metadata: one write and one device flush.
 */
#include "wal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include "store.h"

#define SLOT_MAGIC 0x444b5743u  /* "DKWC" */
#define REC_MAGIC 0x444b5752u   /* "DKWR" */
#define VERSION 1
#define SLOT_HEAD 64
#define REC_HEAD 24
#define GROW (1 << 20)          /* zero-fill at most this much at a time */
#define GROW_MIN (64 << 10)
#define HALF_DEFAULT (32u << 20)
#define REC_MAX (1u << 30)

static int ioerr(docket_err *err, docket_wal *w, const char *what)
{
	w->sys = errno;
	return docket_err_set(err, DOCKET_EIO, "%s: %s: %s", w->path, what, strerror(errno));
}

static uint32_t crc(uint32_t c, const void *p, size_t n)
{
	while (n > 0) {
		uInt k = n > UINT_MAX ? UINT_MAX : (uInt)n;
		c = (uint32_t)crc32(c, p, k);
		p = (const uint8_t *)p + k;
		n -= k;
	}
	return c;
}

static int pread_all(int fd, void *p, size_t n, off_t off)
{
	while (n > 0) {
		ssize_t r = pread(fd, p, n, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p = (uint8_t *)p + r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

static int pwrite_all(int fd, const void *p, size_t n, off_t off)
{
	while (n > 0) {
		ssize_t r = pwrite(fd, p, n, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		p = (const uint8_t *)p + r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

/* Slot i as a checkpoint, if it is a valid one. */
static bool read_slot(docket_wal *w, int i, docket_wal_ckpt *ck, uint8_t *raw)
{
	if (pread_all(w->fd, raw, w->slot, (off_t)i * (off_t)w->slot) < 0)
		return false;
	uint32_t want = docket_rd32(raw + 44);
	memset(raw + 44, 0, 4);
	if (docket_rd32(raw) != SLOT_MAGIC || docket_rd32(raw + 4) != VERSION ||
	    docket_rd32(raw + 40) != w->psize || crc(0, raw, w->slot) != want)
		return false;
	ck->gen = docket_rd64(raw + 8);
	ck->lsn = docket_rd64(raw + 16);
	ck->ino = docket_rd64(raw + 24);
	ck->size = docket_rd64(raw + 32);
	ck->half = docket_rd32(raw + 48) & 1;
	ck->half_bytes = docket_rd64(raw + 56);
	return ck->half_bytes >= 65536 && ck->half_bytes % 65536 == 0;
}

static int read_ckpt(docket_wal *w, docket_err *err)
{
	uint8_t *raw[2] = {calloc(1, w->slot), calloc(1, w->slot)};
	docket_wal_ckpt c[2] = {{0}};
	bool ok[2];
	int rc = 0;

	if (!raw[0] || !raw[1] || !(w->ck.metas = malloc(2 * (size_t)w->psize))) {
		rc = docket_err_set(err, DOCKET_ENOMEM, "out of memory");
		goto out;
	}
	ok[0] = read_slot(w, 0, &c[0], raw[0]);
	ok[1] = read_slot(w, 1, &c[1], raw[1]);
	if (ok[0] || ok[1]) {
		int i = ok[0] && ok[1] ? c[1].gen > c[0].gen : ok[1];
		uint8_t *metas = w->ck.metas;
		w->ck = c[i];
		w->ck.metas = metas;
		memcpy(metas, raw[i] + SLOT_HEAD, 2 * (size_t)w->psize);
		w->have_ckpt = true;
	}
out:
	free(raw[0]);
	free(raw[1]);
	return rc;
}

static off_t base(const docket_wal *w, int half)
{
	return w->start + half * w->half_bytes;
}

int docket_wal_open(docket_wal *w, const char *home, size_t half_bytes, docket_err *err)
{
	struct stat st;
	long ps = sysconf(_SC_PAGESIZE);
	int rc;

	memset(w, 0, sizeof *w);
	w->fd = -1;
	w->psize = ps > 0 ? (uint32_t)ps : 4096;
	w->slot = SLOT_HEAD + 2 * (size_t)w->psize;
	w->slot = (w->slot + 4095) & ~(size_t)4095;
	w->start = w->pos = 2 * (off_t)w->slot;
	w->half_bytes = (off_t)(((half_bytes ? half_bytes : HALF_DEFAULT) + 65535) & ~(size_t)65535);
	if (asprintf(&w->path, "%s/%s", home, DOCKET_WAL_FILE) < 0) {
		w->path = NULL;
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	}
	w->fd = open(w->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (w->fd < 0)
		return ioerr(err, w, "opening the log");
	if (flock(w->fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			return docket_err_set(err, DOCKET_EBUSY,
				"%s: another process has this store open", w->path);
		return ioerr(err, w, "locking the log");
	}
	if (fstat(w->fd, &st) < 0)
		return ioerr(err, w, "opening the log");
	if ((rc = read_ckpt(w, err)))
		return rc;
	/* The records are where the halves were when they were written. */
	if (w->have_ckpt)
		w->half_bytes = (off_t)w->ck.half_bytes;
	/* A half is filled from its start up, so nothing past the file's end
	 * is; a hole before the second half only costs its first lap a
	 * metadata flush. */
	for (int h = 0; h < 2; h++) {
		off_t end = base(w, h) + w->half_bytes;
		w->filled[h] = st.st_size < end ? st.st_size : end;
		if (w->filled[h] < base(w, h))
			w->filled[h] = base(w, h);
	}
	w->half = w->have_ckpt ? (int)w->ck.half : 0;
	w->pos = base(w, w->half);
	return 0;
}

void docket_wal_close(docket_wal *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	free(w->path);
	free(w->ck.metas);
	free(w->buf);
	w->path = NULL;
	w->ck.metas = NULL;
	w->buf = NULL;
}

size_t docket_wal_used(const docket_wal *w)
{
	return (size_t)(w->pos - base(w, w->half));
}

static size_t rec_len(size_t n)
{
	return (REC_HEAD + n + 7) & ~(size_t)7;
}

bool docket_wal_fits(const docket_wal *w, size_t n)
{
	return n <= REC_MAX && w->pos + (off_t)rec_len(n) <= base(w, w->half) + w->half_bytes;
}

void docket_wal_switch(docket_wal *w)
{
	w->half ^= 1;
	w->pos = base(w, w->half);
}

/* Zero-fill so that [pos, pos + need) is inside the filled part. */
static int reserve(docket_wal *w, size_t need, docket_err *err)
{
	static const uint8_t zero[64 << 10];
	off_t *filled = &w->filled[w->half];

	while (*filled < w->pos + (off_t)need) {
		/* Grow by what the half already has, 64 KiB to 1 MiB: a home
		 * that writes little keeps a small log, and a nearly full disk
		 * can still take the next step. */
		off_t at = *filled, have = at - base(w, w->half);
		off_t end = at + (have < GROW_MIN ? GROW_MIN : have > GROW ? GROW : have);
		if (end > base(w, w->half) + w->half_bytes)
			end = base(w, w->half) + w->half_bytes;   /* never into the other */
		for (size_t k; at < end; at += (off_t)k) {
			k = end - at < (off_t)sizeof zero ? (size_t)(end - at) : sizeof zero;
			if (pwrite_all(w->fd, zero, k, at) < 0)
				return ioerr(err, w, "growing the log");
		}
		*filled = end;
	}
	return 0;
}

int docket_wal_append(docket_wal *w, uint64_t lsn, const void *p, size_t n, docket_err *err)
{
	uint8_t h[REC_HEAD] = {0};
	size_t len = rec_len(n);
	int rc;

	w->sys = 0;
	if (!docket_wal_fits(w, n))
		return docket_err_set(err, DOCKET_ELIMIT,
			"a commit of %zu bytes does not fit in the log", n);
	if ((rc = reserve(w, len, err)))
		return rc;
	docket_be32(h, REC_MAGIC);
	docket_be32(h + 4, (uint32_t)n);
	docket_be64(h + 8, lsn);
	docket_be32(h + 16, crc(crc(0, h, 16), p, n));
	struct iovec iov[2] = {{h, REC_HEAD}, {(void *)p, n}};
	/* From here a failure may leave the record on disk: the caller
	 * settles it as not committed. */
	w->pending = len;
	ssize_t r = pwritev(w->fd, iov, 2, w->pos);
	if (r != (ssize_t)(REC_HEAD + n)) {
		if (r >= 0)
			errno = ENOSPC;   /* a short write: the disk filled up */
		return ioerr(err, w, "writing the log");
	}
	if (fdatasync(w->fd) < 0)
		return ioerr(err, w, "flushing the log");
	return 0;
}

int docket_wal_settle(docket_wal *w, bool committed, docket_err *err)
{
	static const uint8_t zero[REC_HEAD];
	size_t len = w->pending;

	w->pending = 0;
	if (committed) {
		w->pos += (off_t)len;
		return 0;
	}
	if (pwrite_all(w->fd, zero, sizeof zero, w->pos) < 0 || fdatasync(w->fd) < 0)
		return ioerr(err, w, "withdrawing a record");
	return 0;
}

/* The record at w->pos if it is `lsn`: 1 (payload in w->buf), else 0. */
static int read_record(docket_wal *w, uint64_t lsn, size_t *n, docket_err *err)
{
	uint8_t h[REC_HEAD];
	uint32_t len, want;

	off_t filled = w->filled[w->half];

	if (w->pos + REC_HEAD > filled || pread_all(w->fd, h, REC_HEAD, w->pos) < 0)
		return 0;
	len = docket_rd32(h + 4);
	if (docket_rd32(h) != REC_MAGIC || docket_rd64(h + 8) != lsn || len > REC_MAX ||
	    (off_t)len > filled - w->pos - REC_HEAD)
		return 0;
	if (len > w->bufcap) {
		uint8_t *b = realloc(w->buf, len);
		if (!b)
			return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
		w->buf = b;
		w->bufcap = len;
	}
	if (pread_all(w->fd, w->buf, len, w->pos + REC_HEAD) < 0)
		return 0;
	want = docket_rd32(h + 16);
	if (crc(crc(0, h, 16), w->buf, len) != want)
		return 0;
	*n = len;
	return 1;
}

int docket_wal_scan(docket_wal *w, docket_wal_fn fn, void *ctx, size_t *n,
		    uint64_t *last, docket_err *err)
{
	uint64_t lsn = w->have_ckpt ? w->ck.lsn : 0;
	size_t len = 0;
	int rc = 0;

	*n = 0;
	w->half = w->have_ckpt ? (int)w->ck.half : 0;
	w->pos = base(w, w->half);
	while (w->have_ckpt) {
		if ((rc = read_record(w, lsn + 1, &len, err)) == 0) {
			/* Commits written while a checkpoint was in flight went to
			 * the other half: the run goes on at its start.  A record
			 * of an earlier lap there has a smaller lsn. */
			off_t was = w->pos;
			docket_wal_switch(w);
			if ((rc = read_record(w, lsn + 1, &len, err)) == 0) {
				docket_wal_switch(w);
				w->pos = was;
			}
		}
		if (rc != 1)
			break;
		if (fn && (rc = fn(ctx, lsn + 1, w->buf, len, err)))
			return rc;
		lsn++;
		(*n)++;
		w->pos += (off_t)rec_len(len);
	}
	*last = lsn;
	return w->have_ckpt && rc < 0 ? rc : 0;
}

int docket_wal_checkpoint(docket_wal *w, docket_wal_ckpt *ck, docket_err *err)
{
	uint8_t *raw = calloc(1, w->slot);

	if (!raw)
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	ck->gen = w->have_ckpt ? w->ck.gen + 1 : 1;
	docket_be32(raw, SLOT_MAGIC);
	docket_be32(raw + 4, VERSION);
	docket_be64(raw + 8, ck->gen);
	docket_be64(raw + 16, ck->lsn);
	docket_be64(raw + 24, ck->ino);
	docket_be64(raw + 32, ck->size);
	docket_be32(raw + 40, w->psize);
	docket_be32(raw + 48, ck->half);
	docket_be64(raw + 56, (uint64_t)w->half_bytes);
	memcpy(raw + SLOT_HEAD, ck->metas, 2 * (size_t)w->psize);
	docket_be32(raw + 44, crc(0, raw, w->slot));
	int rc = pwrite_all(w->fd, raw, w->slot, (off_t)(ck->gen % 2) * (off_t)w->slot);
	free(raw);
	if (rc < 0 || fdatasync(w->fd) < 0)
		return docket_err_set(err, DOCKET_EIO, "%s: writing a checkpoint: %s", w->path,
				      strerror(errno));
	memcpy(w->ck.metas, ck->metas, 2 * (size_t)w->psize);
	uint8_t *metas = w->ck.metas;
	w->ck = *ck;
	w->ck.metas = metas;
	w->have_ckpt = true;
	return 0;
}

/* --- redo payload: kind(1) db(1) klen(2) [vlen(4)] key [val] ----------- */

int docket_redo_add(docket_buf *b, const docket_redo_op *op, docket_err *err)
{
	size_t start = b->len;
	uint8_t h[8] = {(uint8_t)op->kind, (uint8_t)op->db, (uint8_t)(op->klen >> 8),
			(uint8_t)op->klen};

	if (op->kind == DOCKET_REDO_PUT)
		docket_be32(h + 4, (uint32_t)op->vlen);
	docket_buf_put(b, h, op->kind == DOCKET_REDO_PUT ? 8 : 4);
	docket_buf_put(b, op->key, op->klen);
	if (op->kind == DOCKET_REDO_PUT)
		docket_buf_put(b, op->val, op->vlen);
	if (b->oom) {
		/* The transaction's other writes stay whole. */
		b->oom = false;
		b->len = start;
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	}
	return 0;
}

int docket_redo_next(const uint8_t *p, size_t n, size_t *off, docket_redo_op *op,
		     docket_err *err)
{
	size_t o = *off;

	if (o == n)
		return 0;
	if (n - o < 4 || (p[o] != DOCKET_REDO_PUT && p[o] != DOCKET_REDO_DEL))
		goto bad;
	op->kind = p[o];
	op->db = p[o + 1];
	op->klen = (size_t)p[o + 2] << 8 | p[o + 3];
	op->vlen = 0;
	o += 4;
	if (op->kind == DOCKET_REDO_PUT) {
		if (n - o < 4)
			goto bad;
		op->vlen = docket_rd32(p + o);
		o += 4;
	}
	if (op->klen == 0 || n - o < op->klen || n - o - op->klen < op->vlen)
		goto bad;
	op->key = p + o;
	op->val = p + o + op->klen;
	*off = o + op->klen + op->vlen;
	return 1;
bad:
	return docket_err_set(err, DOCKET_ECORRUPT, "log record: malformed operation at byte %zu", o);
}
