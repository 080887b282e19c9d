/*
 * store.h - the LMDB environment under the engine: its databases, their
 * key layouts, and transactions that survive the usual LMDB hazards (map
 * full, map resized by another process, reader table full, use after
 * fork).
 *
 * Keys are fixed binary layouts of big-endian integers so that LMDB's
 * bytewise order is numeric order and range scans answer the queries
 * directly.  docs/design.md draws every database.
 */
#ifndef DOCKET_STORE_H
#define DOCKET_STORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <lmdb.h>
#include <pthread.h>

#include "codec.h"
#include "error.h"
#include "wal.h"

#define DOCKET_SCHEMA_VERSION 1
#define DOCKET_STORE_FILE "store.mdb"
#define DOCKET_MAP_DEFAULT (64u << 20)
#define DOCKET_MAP_LIMIT ((size_t)1 << 40)   /* growth stops at 1 TiB */

/* Internal code: the map is full.  Never leaves the engine: the batch
 * grows the map and runs again. */
#define DOCKET_EMAPFULL (-100)

typedef struct docket_store {
	MDB_env *env;
	MDB_dbi meta;       /* "schema" and allocation counters */
	MDB_dbi names;      /* kind(1) parent(4) name -> id(4) */
	MDB_dbi defs;       /* defno(4) -> definition record */
	MDB_dbi workflows;  /* wfno(4) -> current defno(4) */
	MDB_dbi counters;   /* prefixno(4) -> last case number(8) */
	MDB_dbi cases;      /* ckey(12) -> case record */
	MDB_dbi history;    /* gseq(8) -> history entry */
	MDB_dbi bystage;    /* wfno(4) sid(4) ckey(12) -> entered(8) due(8) */
	MDB_dbi byuser;     /* userno(4) ckey(12) -> "" */
	MDB_dbi sla;        /* due(8) ckey(12) -> "" */
	MDB_dbi timers;     /* at(8) ckey(12) timer(1) -> "" */
	MDB_dbi outbox;     /* notbefore(8) ckey(12) -> entry(4) attempt(4) */
	MDB_dbi failed;     /* ckey(12) kind(1) n(1) -> since(8) reason */
	pid_t pid;          /* the process that opened it */
	size_t mapsize;
	int lockfd;         /* -1 unless exclusive */
	/* A backup (possibly in another thread) reads the map: it must not
	 * be remapped meanwhile. */
	atomic_int copying;
	/* Read transactions hold it shared; growing the map holds it alone,
	 * because mdb_env_set_mapsize needs no transaction open in the
	 * process, and reads may run in another thread than writes. */
	pthread_rwlock_t maplock;
	bool maplock_ready;
	/* Durability (docs/design.md).  With a log, LMDB runs MDB_NOSYNC:
	 * a commit's writes are collected in `redo` and flushed to the log
	 * before LMDB commits.  A checkpointer thread flushes LMDB now and
	 * then; `pin` (a read transaction) keeps the last checkpoint's pages
	 * from reuse until the next one is on disk. */
	bool logged;
	bool ready;         /* opened: closing takes a last checkpoint */
	atomic_bool broken; /* a checkpoint failed: writes refused */
	docket_err why_broken;
	bool committed;     /* at open: the replay is committed */
	size_t replayed;    /* at open: commits replayed from the log */
	docket_wal wal;
	docket_buf redo;
	size_t marks[8];    /* redo length where each nested write began */
	int depth;
	uint64_t lsn;       /* of the last logged commit */
	int64_t ckpt_ns;    /* how often to checkpoint while writes go on */
	int64_t captured_at;    /* CLOCK_MONOTONIC of the last capture */
	MDB_txn *pin;
	uint8_t *metas;     /* the captured meta pages, or the undo copy */
	pthread_mutex_t wlock;  /* one write transaction (and a capture) */
	/* The checkpointer: one checkpoint in flight at a time, handed over
	 * under cmu; `job` is what the writer captured for it. */
	pthread_mutex_t cmu;
	pthread_cond_t ccv;
	pthread_t ckthread;
	bool ckthread_on, busy, stop;
	struct {
		MDB_txn *pin;
		uint64_t lsn;
		uint32_t half;
	} job;
	uint8_t dbno[32];   /* MDB_dbi -> the database's number in the log */
	char *path;         /* HOME/store.mdb */
} docket_store;

/* Open the environment at HOME/store.mdb (MDB_NOSUBDIR) and every
 * database, creating them and writing the schema version on first use,
 * refusing an unknown schema.  mdb_reader_check runs first so slots of
 * dead processes never pin old pages. */
typedef struct docket_store_opts {
	bool nosync;        /* no log, no flushes: tests only */
	size_t mapsize;
	unsigned maxreaders;
	bool exclusive;
	int checkpoint_ms;  /* 0: 1000 */
	size_t log_half;    /* bytes of each half of the log; 0: 32 MiB */
} docket_store_opts;

int docket_store_open(docket_store *s, const char *home, const docket_store_opts *o,
		      docket_err *err);

/* Close the environment; in a forked child only memory is freed. */
void docket_store_close(docket_store *s);

/* Begin a transaction (parent may be NULL; flags MDB_RDONLY or 0).  Handles
 * MDB_MAP_RESIZED (adopt the new size, retry) and MDB_READERS_FULL (clear
 * dead readers, retry once); refuses use after fork. */
int docket_store_begin(docket_store *s, MDB_txn *parent, unsigned flags,
		       MDB_txn **txn, docket_err *err);

/* Writes in a write transaction.  Every write goes through these, so the
 * log holds all of it (MDB_RESERVE cannot be logged: not allowed).  They
 * return LMDB's code, as mdb_put and mdb_del do. */
int docket_store_put(docket_store *s, MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v,
		     unsigned flags);
int docket_store_del(docket_store *s, MDB_txn *txn, MDB_dbi dbi, MDB_val *k);
int docket_store_cursor_del(docket_store *s, MDB_cursor *cur);

/* End a write transaction other than by docket_store_commit: abort it
 * (top-level or nested), or commit a nested one into its parent. */
void docket_store_abort(docket_store *s, MDB_txn *txn);
int docket_store_commit_nested(docket_store *s, MDB_txn *txn, const char *what,
			       docket_err *err);

/* End a read transaction begun with docket_store_begin(MDB_RDONLY). */
void docket_store_end_read(docket_store *s, MDB_txn *txn);

/* Double the map.  The calling thread must have no transaction open; it
 * waits for other threads' read transactions to end.  While a backup runs
 * this is DOCKET_EBUSY. */
int docket_store_grow(docket_store *s, docket_err *err);

/* Turn an LMDB result into a DOCKET_E* code with `what` in the message:
 * MDB_MAP_FULL becomes DOCKET_EMAPFULL, ENOSPC/EIO DOCKET_EIO, the rest
 * DOCKET_ESTORE.  rc 0 returns 0 and leaves err alone. */
int docket_store_err(docket_err *err, int rc, const char *what);

/* Commit a top-level write transaction (it is gone either way).  A failed
 * write is reported as the full disk it usually is: LMDB turns a short
 * write into EIO, so on EIO/ENOSPC/EDQUOT/EFBIG the free space of the
 * store's file system is looked up and named in the message. */
int docket_store_commit(docket_store *s, MDB_txn *txn, const char *what, docket_err *err);

/* mdb_reader_check; *dead may be NULL. */
int docket_store_reader_check(docket_store *s, int *dead, docket_err *err);

/* Compacting hot copy into DIR/store.mdb (see docket_engine_backup). */
int docket_store_backup(docket_store *s, const char *dir, docket_err *err);

/* Whether this process may use s (not a forked child). */
bool docket_store_owned(const docket_store *s);

/* --- keys --------------------------------------------------------------- */

#define DOCKET_CKEY 12      /* prefixno(4) number(8) */

static inline void docket_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static inline void docket_be64(uint8_t *p, uint64_t v)
{
	docket_be32(p, v >> 32);
	docket_be32(p + 4, (uint32_t)v);
}

static inline uint32_t docket_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t docket_rd64(const uint8_t *p)
{
	return (uint64_t)docket_rd32(p) << 32 | docket_rd32(p + 4);
}

/* Times in keys are milliseconds since the epoch, biased so that the
 * unsigned order of keys is the signed order of times. */
static inline uint64_t docket_tkey(int64_t ms)
{
	return (uint64_t)ms ^ (UINT64_C(1) << 63);
}

static inline int64_t docket_tval(uint64_t k)
{
	return (int64_t)(k ^ (UINT64_C(1) << 63));
}

#endif
