/*
 * store.c - the LMDB environment: opening it safely, transactions that
 * cope with a map another process grew or a reader table full of dead
 * processes, growth on demand, and hot backup.
 *
 * Invariants: the environment is used only by the process that opened it
 * (LMDB forbids use after fork, and closing it in a child would clear the
 * parent's reader slots); the map only grows, and only while this process
 * has no transaction open.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define MAXDBS 16

/* This process's id, kept current across fork() by a child handler:
 * every transaction checks it, and getpid() is a system call each time. */
static _Atomic pid_t self_pid;
static pthread_once_t self_once = PTHREAD_ONCE_INIT;

static void self_forked(void)
{
	atomic_store(&self_pid, getpid());
}

static void self_init(void)
{
	atomic_store(&self_pid, getpid());
	pthread_atfork(NULL, NULL, self_forked);
}

static pid_t self(void)
{
	pthread_once(&self_once, self_init);
	return atomic_load_explicit(&self_pid, memory_order_relaxed);
}

bool docket_store_owned(const docket_store *s)
{
	return s->env && s->pid == self();
}

int docket_store_err(docket_err *err, int rc, const char *what)
{
	if (rc == 0)
		return 0;
	if (rc == MDB_MAP_FULL)
		return docket_err_set(err, DOCKET_EMAPFULL, "%s: store map is full", what);
	if (rc == ENOSPC || rc == EIO || rc == EDQUOT || rc == EFBIG)
		return docket_err_set(err, DOCKET_EIO, "%s: %s", what, mdb_strerror(rc));
	if (rc == ENOMEM)
		return docket_err_set(err, DOCKET_ENOMEM, "%s: out of memory", what);
	if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID)
		return docket_err_set(err, DOCKET_ECORRUPT, "%s: %s", what, mdb_strerror(rc));
	return docket_err_set(err, DOCKET_ESTORE, "%s: %s", what, mdb_strerror(rc));
}

/* Below this much free space a failed write is called a full disk: LMDB
 * needs whole pages, and a commit writes several at once. */
#define FULL_BELOW (1u << 20)

/* What a failed write (LMDB's rc, or the log's errno) tells the user. */
static int write_error(docket_store *s, int rc, const char *file, const char *what,
		       docket_err *err)
{
	struct statvfs fs;
	unsigned long long avail;

	if (rc != ENOSPC && rc != EIO && rc != EDQUOT && rc != EFBIG)
		return docket_store_err(err, rc, what);
	if (statvfs(s->path, &fs) != 0)
		return docket_store_err(err, rc, what);
	avail = (unsigned long long)fs.f_bavail * fs.f_frsize;
	if (rc == EIO && avail >= FULL_BELOW)
		return docket_store_err(err, rc, what);
	return docket_err_set(err, DOCKET_EIO,
		"%s: the disk holding %s is full (%llu KiB free, %s): nothing was "
		"written; free space and try again", what, file, avail / 1024,
		mdb_strerror(rc));
}

static int commit_plain(docket_store *s, MDB_txn *txn, const char *what, docket_err *err)
{
	return write_error(s, mdb_txn_commit(txn), s->path, what, err);
}

#define CKPT_MS_DEFAULT 1000
#define WALSEQ_KEY {6, "walseq"}

static int capture(docket_store *s, docket_err *err);
static void hand_over(docket_store *s);
static void wait_idle(docket_store *s);

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The record must fit in the half being written; if not, the writer
 * moves to the other half, which is free once the checkpoint in flight
 * (if any) is on disk. */
static int make_room(docket_store *s, docket_err *err)
{
	int rc;

	if (docket_wal_fits(&s->wal, s->redo.len))
		return 0;
	wait_idle(s);
	if (atomic_load(&s->broken))
		return docket_err_set(err, DOCKET_EIO,
			"writes are refused until the daemon restarts and replays its log: %s",
			s->why_broken.msg);
	if ((rc = capture(s, err)))
		return rc;
	hand_over(s);
	return 0;
}

/* The commit's writes go to the log, flushed, before LMDB commits them
 * (unsynced): once LMDB has them, readers see them, and only durable
 * writes may be seen.  A commit LMDB then refuses is withdrawn from the
 * log, or a restart would replay it. */
static int commit_logged(docket_store *s, MDB_txn *txn, const char *what, docket_err *err)
{
	uint64_t lsn = s->lsn + 1;
	uint8_t b[8];
	MDB_val k = WALSEQ_KEY, v = {8, b};
	int rc;

	docket_be64(b, lsn);
	if ((rc = mdb_put(txn, s->meta, &k, &v, 0))) {
		mdb_txn_abort(txn);
		return docket_store_err(err, rc, what);
	}
	if ((rc = make_room(s, err)) == 0)
		rc = docket_wal_append(&s->wal, lsn, s->redo.p, s->redo.len, err);
	if (rc) {
		mdb_txn_abort(txn);
		if (s->wal.sys)
			rc = write_error(s, s->wal.sys, s->wal.path, what, err);
	} else {
		rc = commit_plain(s, txn, what, err);
	}
	if (s->wal.pending && docket_wal_settle(&s->wal, rc == 0, &s->why_broken)) {
		/* The refused commit may come back at a restart: stop here. */
		atomic_store(&s->broken, true);
		return docket_err_set(err, DOCKET_EIO, "%s; and then %s", err->msg,
				      s->why_broken.msg);
	}
	if (rc == 0)
		s->lsn = lsn;
	return rc;
}

int docket_store_commit(docket_store *s, MDB_txn *txn, const char *what, docket_err *err)
{
	int rc;

	if (!s->logged || s->redo.len == 0) {
		rc = commit_plain(s, txn, what, err);
	} else if ((rc = commit_logged(s, txn, what, err)) == 0) {
		/* Often enough that the pages the pin keeps from reuse stay
		 * few, and early enough that the next half is free in time. */
		docket_err e;
		pthread_mutex_lock(&s->cmu);
		bool idle = !s->busy;
		pthread_mutex_unlock(&s->cmu);
		/* A capture that fails is tried again after the next commit. */
		if (idle && !atomic_load(&s->broken) &&
		    (mono_ns() - s->captured_at >= s->ckpt_ns ||
		     docket_wal_used(&s->wal) >= (size_t)s->wal.half_bytes / 2) &&
		    capture(s, &e) == 0)
			hand_over(s);
	}
	s->redo.len = 0;
	pthread_mutex_unlock(&s->wlock);
	return rc;
}

int docket_store_commit_nested(docket_store *s, MDB_txn *txn, const char *what,
			       docket_err *err)
{
	int rc = mdb_txn_commit(txn);

	s->depth--;
	if (rc)
		s->redo.len = s->marks[s->depth];
	return docket_store_err(err, rc, what);
}

void docket_store_abort(docket_store *s, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	if (s->depth > 0) {
		s->redo.len = s->marks[--s->depth];
		return;
	}
	s->redo.len = 0;
	pthread_mutex_unlock(&s->wlock);
}

static int log_op(docket_store *s, int kind, MDB_dbi dbi, const MDB_val *k, const MDB_val *v)
{
	docket_redo_op op = {.kind = kind, .db = s->dbno[dbi], .key = k->mv_data,
			     .klen = k->mv_size, .val = v ? v->mv_data : NULL,
			     .vlen = v ? v->mv_size : 0};
	docket_err e;

	if (!s->logged)
		return 0;
	return docket_redo_add(&s->redo, &op, &e) ? ENOMEM : 0;
}

int docket_store_put(docket_store *s, MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v,
		     unsigned flags)
{
	int rc = mdb_put(txn, dbi, k, v, flags);

	return rc ? rc : log_op(s, DOCKET_REDO_PUT, dbi, k, v);
}

int docket_store_del(docket_store *s, MDB_txn *txn, MDB_dbi dbi, MDB_val *k)
{
	int rc = mdb_del(txn, dbi, k, NULL);

	return rc ? rc : log_op(s, DOCKET_REDO_DEL, dbi, k, NULL);
}

int docket_store_cursor_del(docket_store *s, MDB_cursor *cur)
{
	MDB_val k, v;
	int rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);

	/* Logged first: the key lives in the page the delete changes. */
	if (rc || (rc = log_op(s, DOCKET_REDO_DEL, mdb_cursor_dbi(cur), &k, NULL)))
		return rc;
	return mdb_cursor_del(cur, 0);
}

static int forked(docket_err *err)
{
	return docket_err_set(err, DOCKET_ESTORE,
		"store used after fork: a child process must open its own engine");
}

int docket_store_reader_check(docket_store *s, int *dead, docket_err *err)
{
	int n = 0, rc;

	if (!docket_store_owned(s))
		return forked(err);
	rc = mdb_reader_check(s->env, &n);
	if (dead)
		*dead = n;
	return docket_store_err(err, rc, "clearing stale readers");
}

/* A top-level write holds wlock until it ends; a nested one marks where
 * its writes begin in the redo buffer, to drop them if it aborts. */
static int write_begin(docket_store *s, MDB_txn *parent, docket_err *err)
{
	if (parent) {
		if (s->depth == (int)(sizeof s->marks / sizeof *s->marks))
			return docket_err_set(err, DOCKET_ELIMIT, "transactions nested too deep");
		s->marks[s->depth++] = s->redo.len;
		return 0;
	}
	pthread_mutex_lock(&s->wlock);
	if (atomic_load(&s->broken)) {
		pthread_mutex_unlock(&s->wlock);
		return docket_err_set(err, DOCKET_EIO,
			"writes are refused until the daemon restarts and replays its log: %s",
			s->why_broken.msg);
	}
	s->depth = 0;
	s->redo.len = 0;
	return 0;
}

int docket_store_begin(docket_store *s, MDB_txn *parent, unsigned flags,
		       MDB_txn **txn, docket_err *err)
{
	bool cleared = false;
	int rc;

	if (!docket_store_owned(s))
		return forked(err);
	bool reader = (flags & MDB_RDONLY) && !parent;
	bool writer = !(flags & MDB_RDONLY);
	if (reader)
		pthread_rwlock_rdlock(&s->maplock);
	if (writer && (rc = write_begin(s, parent, err)))
		return rc;
	for (;;) {
		rc = mdb_txn_begin(s->env, parent, flags, txn);
		if (rc == MDB_MAP_RESIZED && !parent) {
			/* Another process grew the map: adopt its size. */
			rc = mdb_env_set_mapsize(s->env, 0);
			if (rc)
				break;
			MDB_envinfo info;
			mdb_env_info(s->env, &info);
			s->mapsize = info.me_mapsize;
			continue;
		}
		if (rc == MDB_READERS_FULL && !cleared) {
			cleared = true;
			mdb_reader_check(s->env, NULL);
			continue;
		}
		break;
	}
	if (rc) {
		*txn = NULL;
		if (reader)
			pthread_rwlock_unlock(&s->maplock);
		if (writer && parent)
			s->depth--;
		else if (writer)
			pthread_mutex_unlock(&s->wlock);
	}
	return docket_store_err(err, rc, "beginning a transaction");
}

void docket_store_end_read(docket_store *s, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&s->maplock);
}

int docket_store_grow(docket_store *s, docket_err *err)
{
	size_t want = s->mapsize * 2;
	int rc;

	if (!docket_store_owned(s))
		return forked(err);
	if (atomic_load(&s->copying))
		return docket_err_set(err, DOCKET_EBUSY,
			"the store must grow but a backup is reading it; try again after it");
	if (want > DOCKET_MAP_LIMIT || want < s->mapsize)
		return docket_err_set(err, DOCKET_ELIMIT,
			"store map cannot grow past %zu bytes", s->mapsize);
	pthread_rwlock_wrlock(&s->maplock);
	rc = mdb_env_set_mapsize(s->env, want);
	pthread_rwlock_unlock(&s->maplock);
	if (rc)
		return docket_store_err(err, rc, "growing the store map");
	s->mapsize = want;
	return 0;
}

struct dbspec {
	const char *name;
	size_t off;
};

#define DB(x) {#x, offsetof(docket_store, x)}
static const struct dbspec dbs[] = {
	DB(meta), DB(names), DB(defs), DB(workflows), DB(counters), DB(cases),
	DB(history), DB(bystage), DB(byuser), DB(sla), DB(timers), DB(outbox),
	DB(failed),
};
#undef DB

/* Open every database and settle the schema version in one transaction. */
static int init_dbs(docket_store *s, docket_err *err)
{
	MDB_txn *txn;
	MDB_val k = {6, "schema"}, v;
	int rc = docket_store_begin(s, NULL, 0, &txn, err);

	if (rc)
		return rc;
	for (size_t i = 0; i < sizeof dbs / sizeof *dbs; i++) {
		MDB_dbi *dbi = (MDB_dbi *)((char *)s + dbs[i].off);
		rc = mdb_dbi_open(txn, dbs[i].name, MDB_CREATE, dbi);
		if (rc == 0 && *dbi >= sizeof s->dbno)
			rc = MDB_DBS_FULL;
		if (rc == 0)
			s->dbno[*dbi] = (uint8_t)i;
		if (rc) {
			rc = docket_store_err(err, rc, "opening database");
			docket_err_prefix(err, "%s: ", dbs[i].name);
			goto fail;
		}
	}
	rc = mdb_get(txn, s->meta, &k, &v);
	if (rc == MDB_NOTFOUND) {
		uint8_t ver[4];
		docket_be32(ver, DOCKET_SCHEMA_VERSION);
		v.mv_size = 4;
		v.mv_data = ver;
		rc = mdb_put(txn, s->meta, &k, &v, 0);
		if (rc) {
			rc = docket_store_err(err, rc, "writing the schema version");
			goto fail;
		}
	} else if (rc) {
		rc = docket_store_err(err, rc, "reading the schema version");
		goto fail;
	} else if (v.mv_size != 4 || docket_rd32(v.mv_data) != DOCKET_SCHEMA_VERSION) {
		rc = docket_err_set(err, DOCKET_ECORRUPT,
			"%s: store schema %u, this build knows %u", s->path,
			v.mv_size == 4 ? docket_rd32(v.mv_data) : 0, DOCKET_SCHEMA_VERSION);
		goto fail;
	}
	return docket_store_commit(s, txn, "creating the store", err);
fail:
	docket_store_abort(s, txn);
	return rc;
}

static int take_lock(docket_store *s, const char *home, docket_err *err)
{
	char path[PATH_MAX];

	snprintf(path, sizeof path, "%s/engine.lock", home);
	s->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lockfd < 0)
		return docket_err_set(err, DOCKET_EIO, "%s: %s", path, strerror(errno));
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(s->lockfd);
		s->lockfd = -1;
		if (e == EWOULDBLOCK)
			return docket_err_set(err, DOCKET_EBUSY,
				"%s: another process holds this home", home);
		return docket_err_set(err, DOCKET_EIO, "%s: %s", path, strerror(e));
	}
	return 0;
}

/* --- checkpoints and recovery ------------------------------------------ */

static int sys_err(docket_err *err, const char *path, const char *what)
{
	return docket_err_set(err, DOCKET_EIO, "%s: %s: %s", path, what, strerror(errno));
}

/* Take what the next checkpoint records: the last commit, pinned by a
 * read transaction, and the store file's meta pages that name it; the
 * records after it go to the other half of the log.  The writer does
 * this between commits (holding wlock, or alone at open and close), with
 * no checkpoint in flight. */
static int capture(docket_store *s, docket_err *err)
{
	size_t mlen = 2 * (size_t)s->wal.psize;
	MDB_txn *pin;
	int fd, rc;

	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &pin)))
		return docket_store_err(err, rc, "checkpoint: pinning the store");
	mdb_env_get_fd(s->env, &fd);
	if (pread(fd, s->metas, mlen, 0) != (ssize_t)mlen) {
		mdb_txn_abort(pin);
		return sys_err(err, s->path, "checkpoint: reading the meta pages");
	}
	docket_wal_switch(&s->wal);
	s->job.pin = pin;
	s->job.lsn = s->lsn;
	s->job.half = (uint32_t)s->wal.half;
	s->captured_at = mono_ns();
	return 0;
}

/* Start the store file's dirty pages on their way a slice at a time,
 * waiting for each: the disk has one queue, and a commit's log flush then
 * waits behind one slice instead of behind the whole checkpoint (p99 at 8
 * clients 8.4 -> 2.7 ms, docs/performance.md).  At most ~1000 slices, so a
 * large, mostly clean file costs little to walk.  The flush that makes it
 * durable comes after, in mdb_env_sync. */
static void write_back(int fd, off_t size)
{
	off_t step = size / 1024 < (64 << 10) ? (64 << 10) : (size / 1024 + 65535) & ~(off_t)65535;

	for (off_t off = 0; off < size; off += step)
		sync_file_range(fd, off, step, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
				SYNC_FILE_RANGE_WAIT_AFTER);
}

/* Flush the store file and record the captured checkpoint; only then
 * drop the previous pin: until the new checkpoint is on disk the old one
 * is what a restart goes back to, and its pages must stay as they are.
 * Runs in the checkpointer, concurrently with commits (they touch
 * neither the slots nor the pinned pages), which `beside_commits` spares
 * the long flush; at open and close nothing waits beside it. */
static int finish(docket_store *s, bool beside_commits, docket_err *err)
{
	docket_wal_ckpt ck = {.lsn = s->job.lsn, .half = s->job.half, .metas = s->metas};
	struct stat st;
	int fd, rc;

	mdb_env_get_fd(s->env, &fd);
	if (beside_commits && fstat(fd, &st) == 0)
		write_back(fd, st.st_size);
	if ((rc = mdb_env_sync(s->env, 1)))
		rc = docket_store_err(err, rc, "checkpoint: flushing the store");
	else if (fstat(fd, &st) < 0)
		rc = sys_err(err, s->path, "checkpoint");
	if (rc == 0) {
		ck.ino = (uint64_t)st.st_ino;
		ck.size = (uint64_t)st.st_size;
		rc = docket_wal_checkpoint(&s->wal, &ck, err);
	}
	if (rc) {
		mdb_txn_abort(s->job.pin);
	} else {
		if (s->pin)
			mdb_txn_abort(s->pin);
		s->pin = s->job.pin;
	}
	s->job.pin = NULL;
	return rc;
}

static void *checkpointer(void *arg)
{
	docket_store *s = arg;
	docket_err e;

	pthread_mutex_lock(&s->cmu);
	for (;;) {
		while (!s->busy && !s->stop)
			pthread_cond_wait(&s->ccv, &s->cmu);
		if (!s->busy)
			break;
		pthread_mutex_unlock(&s->cmu);
		int rc = finish(s, true, &e);
		pthread_mutex_lock(&s->cmu);
		if (rc) {
			/* The store file may have lost pages the kernel will not
			 * report again: only a replay from the log is safe. */
			s->why_broken = e;
			atomic_store(&s->broken, true);
		}
		s->busy = false;
		pthread_cond_broadcast(&s->ccv);
	}
	pthread_mutex_unlock(&s->cmu);
	return NULL;
}

static void hand_over(docket_store *s)
{
	pthread_mutex_lock(&s->cmu);
	s->busy = true;
	pthread_cond_broadcast(&s->ccv);
	pthread_mutex_unlock(&s->cmu);
}

static void wait_idle(docket_store *s)
{
	pthread_mutex_lock(&s->cmu);
	while (s->busy)
		pthread_cond_wait(&s->ccv, &s->cmu);
	pthread_mutex_unlock(&s->cmu);
}

/* A whole checkpoint, here and now: at open and at a clean close. */
static int checkpoint(docket_store *s, docket_err *err)
{
	int rc;

	wait_idle(s);
	if ((rc = capture(s, err)))
		return rc;
	return finish(s, false, err);
}

/* Put the checkpoint's meta pages back into the store file, keeping the
 * present ones in s->metas to undo it.  Only for the very file the
 * checkpoint was taken of, and only when no other process has it open
 * (its readers would follow the lock file's newer transaction). */
static int restore_metas(docket_store *s, docket_err *err)
{
	size_t mlen = 2 * (size_t)s->wal.psize;
	char lock[PATH_MAX];
	struct stat st;
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 1};
	int fd, lfd, rc = 0;

	snprintf(lock, sizeof lock, "%s-lock", s->path);
	if ((lfd = open(lock, O_RDWR | O_CLOEXEC)) >= 0) {
		if (fcntl(lfd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
			rc = docket_err_set(err, DOCKET_EBUSY,
				"%s: process %ld has the store open; it must exit before the "
				"log can be replayed", s->path, (long)fl.l_pid);
		close(lfd);
		if (rc)
			return rc;
	}
	if ((fd = open(s->path, O_RDWR | O_CLOEXEC)) < 0)
		return sys_err(err, s->path, "replaying the log");
	if (fstat(fd, &st) < 0) {
		rc = sys_err(err, s->path, "replaying the log");
	} else if ((uint64_t)st.st_ino != s->wal.ck.ino || (uint64_t)st.st_size < s->wal.ck.size) {
		rc = docket_err_set(err, DOCKET_ECORRUPT,
			"%s is not the file its log %s was written for (replaced after an "
			"unclean stop?); nothing was changed: move %s aside to open the "
			"store as it is", s->path, s->wal.path, s->wal.path);
	} else if (pread(fd, s->metas, mlen, 0) != (ssize_t)mlen ||
		   pwrite(fd, s->wal.ck.metas, mlen, 0) != (ssize_t)mlen || fdatasync(fd) < 0) {
		rc = sys_err(err, s->path, "replaying the log");
	}
	close(fd);
	return rc;
}

static void undo_metas(docket_store *s)
{
	size_t mlen = 2 * (size_t)s->wal.psize;
	int fd = open(s->path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	if (pwrite(fd, s->metas, mlen, 0) == (ssize_t)mlen)
		fdatasync(fd);
	close(fd);
}

struct replay {
	docket_store *s;
	MDB_txn *txn;
};

static int replay_record(void *ctx, uint64_t lsn, const uint8_t *p, size_t n, docket_err *err)
{
	struct replay *r = ctx;
	const size_t ndbs = sizeof dbs / sizeof *dbs;
	docket_redo_op op;
	size_t off = 0;
	int rc;

	while ((rc = docket_redo_next(p, n, &off, &op, err)) == 1) {
		if (op.db >= ndbs)
			return docket_err_set(err, DOCKET_ECORRUPT,
				"log record %llu: no database %u", (unsigned long long)lsn, op.db);
		MDB_dbi dbi = *(MDB_dbi *)((char *)r->s + dbs[op.db].off);
		MDB_val k = {op.klen, (void *)op.key}, v = {op.vlen, (void *)op.val};
		rc = op.kind == DOCKET_REDO_PUT ? mdb_put(r->txn, dbi, &k, &v, 0)
						: mdb_del(r->txn, dbi, &k, NULL);
		if (rc && rc != MDB_NOTFOUND)
			return docket_store_err(err, rc, "replaying the log");
	}
	return rc;
}

static int read_walseq(docket_store *s, uint64_t *lsn, docket_err *err)
{
	MDB_txn *txn;
	MDB_val k = WALSEQ_KEY, v;
	int rc = docket_store_begin(s, NULL, MDB_RDONLY, &txn, err);

	if (rc)
		return rc;
	rc = mdb_get(txn, s->meta, &k, &v);
	*lsn = rc == 0 && v.mv_size == 8 ? docket_rd64(v.mv_data) : 0;
	docket_store_end_read(s, txn);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : docket_store_err(err, rc, "reading the log position");
}

/* Apply the log's records after the checkpoint (the store file was put
 * back to it), in one transaction: a crash half way leaves the file at
 * the checkpoint still, its pages untouched, and the next start does it
 * again.  Then a checkpoint, so the records are done with. */
static int replay(docket_store *s, bool restored, docket_err *err)
{
	uint64_t cur, last = 0;
	size_t n = 0;
	int rc;

	if ((rc = read_walseq(s, &cur, err)))
		return rc;
	if (restored && cur != s->wal.ck.lsn)
		return docket_err_set(err, DOCKET_ECORRUPT,
			"%s is not the store its log %s was written for (at commit %llu, the "
			"log expects %llu); nothing was changed: move %s aside to open the "
			"store as it is", s->path, s->wal.path, (unsigned long long)cur,
			(unsigned long long)s->wal.ck.lsn, s->wal.path);
	for (;;) {
		struct replay r = {.s = s};
		uint8_t b[8];
		MDB_val k = WALSEQ_KEY, v = {8, b};

		if ((rc = docket_store_begin(s, NULL, 0, &r.txn, err)))
			return rc;
		if (restored)
			rc = docket_wal_scan(&s->wal, replay_record, &r, &n, &last, err);
		/* The sequence never goes back, even over a store file older
		 * than its log: a stale record must never match a new number. */
		s->lsn = cur > last ? cur : last;
		if (s->wal.have_ckpt && s->wal.ck.lsn > s->lsn)
			s->lsn = s->wal.ck.lsn;
		docket_be64(b, s->lsn);
		if (rc == 0 && s->lsn != cur)
			rc = docket_store_err(err, mdb_put(r.txn, s->meta, &k, &v, 0),
					      "replaying the log");
		if (rc == 0 && (rc = docket_store_commit(s, r.txn, "replaying the log", err)) == 0)
			s->committed = true;
		else if (rc)
			docket_store_abort(s, r.txn);
		if (rc != DOCKET_EMAPFULL)
			break;
		if ((rc = docket_store_grow(s, err)))
			return rc;
	}
	if (rc)
		return rc;
	s->replayed = n;
	return checkpoint(s, err);
}

/* Open the log, and if it holds commits after its checkpoint, put the
 * store file back to that checkpoint so they can be replayed on it. */
static int wal_open(docket_store *s, const char *home, size_t half, bool *restored,
		    docket_err *err)
{
	size_t n;
	uint64_t last;
	int rc;

	*restored = false;
	if ((rc = docket_wal_open(&s->wal, home, half, err)))
		return rc;
	if (!(s->metas = malloc(2 * (size_t)s->wal.psize)))
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	if (!s->wal.have_ckpt)
		return 0;
	if ((rc = docket_wal_scan(&s->wal, NULL, NULL, &n, &last, err)) || n == 0)
		return rc;
	if ((rc = restore_metas(s, err)))
		return rc;
	*restored = true;
	return 0;
}

int docket_store_open(docket_store *s, const char *home, const docket_store_opts *o,
		      docket_err *err)
{
	/* Synced by the log and its checkpoints; without one (tests only)
	 * not at all. */
	unsigned flags = MDB_NOSUBDIR | MDB_NOSYNC | MDB_NOTLS;
	bool restored = false;
	MDB_envinfo info;
	MDB_stat ms;
	int rc;

	memset(s, 0, sizeof *s);
	s->lockfd = -1;
	s->wal.fd = -1;
	s->logged = !o->nosync;
	s->ckpt_ns = (int64_t)(o->checkpoint_ms > 0 ? o->checkpoint_ms : CKPT_MS_DEFAULT) * 1000000;
	pthread_rwlock_init(&s->maplock, NULL);
	pthread_mutex_init(&s->wlock, NULL);
	pthread_mutex_init(&s->cmu, NULL);
	pthread_cond_init(&s->ccv, NULL);
	s->maplock_ready = true;
	s->pid = self();
	if (mkdir(home, 0700) < 0 && errno != EEXIST)
		return docket_err_set(err, DOCKET_EIO, "%s: %s", home, strerror(errno));
	if (asprintf(&s->path, "%s/%s", home, DOCKET_STORE_FILE) < 0) {
		s->path = NULL;
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	}
	if (o->exclusive && (rc = take_lock(s, home, err)))
		goto err;
	if (s->logged && (rc = wal_open(s, home, o->log_half, &restored, err)))
		goto err;
	rc = mdb_env_create(&s->env);
	if (rc) {
		s->env = NULL;
		rc = docket_store_err(err, rc, "creating the LMDB environment");
		goto err;
	}
	mdb_env_set_maxdbs(s->env, MAXDBS);
	mdb_env_set_mapsize(s->env, o->mapsize ? o->mapsize : DOCKET_MAP_DEFAULT);
	mdb_env_set_maxreaders(s->env, o->maxreaders ? o->maxreaders : 126);
	rc = mdb_env_open(s->env, s->path, flags, 0600);
	if (rc) {
		rc = docket_store_err(err, rc, "opening the store");
		docket_err_prefix(err, "%s: ", s->path);
		goto err;
	}
	/* An existing store may be larger than asked: LMDB keeps its size. */
	mdb_env_info(s->env, &info);
	s->mapsize = info.me_mapsize;
	mdb_env_stat(s->env, &ms);
	if (s->logged && ms.ms_psize != s->wal.psize) {
		rc = docket_err_set(err, DOCKET_ECORRUPT, "%s: pages of %u bytes, this system's "
			"are %u", s->path, ms.ms_psize, s->wal.psize);
		goto err;
	}
	if ((rc = docket_store_reader_check(s, NULL, err)))
		goto err;
	if ((rc = init_dbs(s, err)))
		goto err;
	if (s->logged && (rc = replay(s, restored, err)))
		goto err;
	if (s->logged) {
		if ((rc = pthread_create(&s->ckthread, NULL, checkpointer, s))) {
			rc = docket_err_set(err, DOCKET_ENOMEM, "starting the checkpointer: %s",
					    strerror(rc));
			goto err;
		}
		s->ckthread_on = true;
	}
	s->ready = true;
	return 0;
err:
	/* Put the store file back as it was, unless a replay is committed
	 * on top of the restored pages. */
	if (restored && !s->committed)
		undo_metas(s);
	docket_store_close(s);
	return rc;
}

void docket_store_close(docket_store *s)
{
	bool owned = s->env && s->pid == self();

	if (owned && s->ckthread_on) {
		pthread_mutex_lock(&s->cmu);
		s->stop = true;
		pthread_cond_broadcast(&s->ccv);
		pthread_mutex_unlock(&s->cmu);
		pthread_join(s->ckthread, NULL);
	}
	s->ckthread_on = false;
	/* A clean stop leaves nothing to replay: the store file alone is
	 * the whole store (a copy of it is a backup).  If this fails the
	 * next start replays the log; nothing is lost either way. */
	if (owned && s->ready && s->logged && !atomic_load(&s->broken)) {
		docket_err e;
		checkpoint(s, &e);
	}
	if (owned && s->pin)
		mdb_txn_abort(s->pin);
	s->pin = NULL;
	if (owned)
		mdb_env_close(s->env);
	s->env = NULL;
	s->ready = false;
	if (s->lockfd >= 0)
		close(s->lockfd);
	s->lockfd = -1;
	docket_wal_close(&s->wal);
	docket_buf_free(&s->redo);
	free(s->metas);
	s->metas = NULL;
	free(s->path);
	s->path = NULL;
	if (s->maplock_ready) {
		pthread_rwlock_destroy(&s->maplock);
		pthread_mutex_destroy(&s->wlock);
		pthread_mutex_destroy(&s->cmu);
		pthread_cond_destroy(&s->ccv);
	}
	s->maplock_ready = false;
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int docket_store_backup(docket_store *s, const char *dir, docket_err *err)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	struct stat st;
	int fd, rc;

	if (!docket_store_owned(s))
		return forked(err);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return docket_err_set(err, DOCKET_EIO, "%s: %s", dir, strerror(errno));
	snprintf(dst, sizeof dst, "%s/%s", dir, DOCKET_STORE_FILE);
	snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, DOCKET_STORE_FILE);
	if (stat(dst, &st) == 0)
		return docket_err_set(err, DOCKET_EEXIST, "%s already holds a store", dir);
	unlink(tmp);    /* left by a backup that died half way */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return docket_err_set(err, DOCKET_EIO, "%s: %s", tmp, strerror(errno));
	atomic_fetch_add(&s->copying, 1);
	rc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);
	atomic_fetch_sub(&s->copying, 1);
	if (rc) {
		rc = docket_store_err(err, rc, "copying the store");
		goto fail;
	}
	/* The copy must be on disk before its name says it is a store. */
	if (fsync(fd) < 0) {
		rc = docket_err_set(err, DOCKET_EIO, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	rc = close(fd);
	fd = -1;
	if (rc < 0) {
		rc = docket_err_set(err, DOCKET_EIO, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (rename(tmp, dst) < 0 || sync_dir(dir) < 0) {
		rc = docket_err_set(err, DOCKET_EIO, "%s: %s", dst, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}
