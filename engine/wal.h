/*
 * wal.h - the store's write-ahead log, HOME/store.wal: the redo records
 * that make a commit durable with one flush, and the checkpoint that says
 * which state of HOME/store.mdb they apply to.  store.c drives it;
 * docs/design.md ("Durability") explains the whole protocol.
 */
#ifndef DOCKET_WAL_H
#define DOCKET_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define DOCKET_WAL_FILE "store.wal"

/* A checkpoint: the store file was flushed with its last commit at `lsn`;
 * `metas` are its two meta pages as they were then (2 * psize bytes); the
 * records after it start at the beginning of log half `half`. */
typedef struct docket_wal_ckpt {
	uint64_t gen;           /* which write of the slot pair this is */
	uint64_t lsn;
	uint64_t ino;           /* the store file's inode then, and its size */
	uint64_t size;
	uint32_t half;
	uint64_t half_bytes;    /* read back: the halves' size when written */
	uint8_t *metas;
} docket_wal_ckpt;

typedef struct docket_wal {
	int fd;                 /* -1: closed */
	char *path;
	uint32_t psize;         /* LMDB's page size: the OS page size */
	size_t slot;            /* bytes of one checkpoint slot */
	off_t start;            /* the records: two halves of `half_bytes` */
	off_t half_bytes;
	int half;               /* the half being written */
	off_t pos;              /* where the next record goes */
	off_t filled[2];        /* each half zero-filled (or written) up to here */
	size_t pending;         /* bytes of a record written, not yet settled */
	int sys;                /* errno of the last failure */
	bool have_ckpt;
	docket_wal_ckpt ck;
	uint8_t *buf;           /* scan buffer */
	size_t bufcap;
} docket_wal;

/* Open or create HOME/store.wal with halves of half_bytes (0: 32 MiB;
 * a log with a checkpoint keeps its own) and read its newest valid
 * checkpoint (w->have_ckpt).  The file is locked
 * (flock) for this process: a second opener gets DOCKET_EBUSY. */
int docket_wal_open(docket_wal *w, const char *home, size_t half_bytes, docket_err *err);
void docket_wal_close(docket_wal *w);

/* Write record `lsn` (payload p, n bytes) at the log's end and flush it.
 * Then, if it succeeded or w->pending says it got as far as writing,
 * exactly one docket_wal_settle: committed moves the end past it;
 * otherwise its header is zeroed and flushed, so a restart cannot replay
 * a commit that did not happen. */
int docket_wal_append(docket_wal *w, uint64_t lsn, const void *p, size_t n, docket_err *err);
int docket_wal_settle(docket_wal *w, bool committed, docket_err *err);

/* Bytes written to the current half, and whether a record of n bytes
 * still fits in it. */
size_t docket_wal_used(const docket_wal *w);
bool docket_wal_fits(const docket_wal *w, size_t n);

/* Write the next records at the start of the other half.  Only when the
 * checkpoint that made its records obsolete is on disk. */
void docket_wal_switch(docket_wal *w);

/* Visit the records after the checkpoint (lsn = checkpoint + 1, + 2, ...,
 * from the start of its half) until the first torn, stale or missing one;
 * leaves the end after the last.  fn may be NULL (count only); a non-zero return from fn stops the
 * scan and is returned.  *n counts the records, *last is the last lsn
 * (the checkpoint's if none). */
typedef int (*docket_wal_fn)(void *ctx, uint64_t lsn, const uint8_t *p, size_t n,
			     docket_err *err);
int docket_wal_scan(docket_wal *w, docket_wal_fn fn, void *ctx, size_t *n,
		    uint64_t *last, docket_err *err);

/* Record a checkpoint (ck->gen is set here) and flush it: the records
 * before it are obsolete.  May run in another thread than the writer's
 * appends: it touches only the slots and w->ck. */
int docket_wal_checkpoint(docket_wal *w, docket_wal_ckpt *ck, docket_err *err);

/* --- the redo payload: one record holds a commit's writes --------------- */

enum { DOCKET_REDO_PUT = 1, DOCKET_REDO_DEL = 2 };

typedef struct docket_redo_op {
	int kind;
	unsigned db;            /* the store's database, by its number */
	const void *key, *val;
	size_t klen, vlen;
} docket_redo_op;

/* Append an operation to b (a docket_buf of codec.h); 0, or DOCKET_ENOMEM
 * with b as it was. */
struct docket_buf;
int docket_redo_add(struct docket_buf *b, const docket_redo_op *op, docket_err *err);

/* The operation at *off of payload p: 1 and *off moved past it, 0 at the
 * end, DOCKET_ECORRUPT (with err) if the bytes are not an operation. */
int docket_redo_next(const uint8_t *p, size_t n, size_t *off, docket_redo_op *op,
		     docket_err *err);

#endif
