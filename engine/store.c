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

int docket_store_commit(docket_store *s, MDB_txn *txn, const char *what, docket_err *err)
{
	int rc = mdb_txn_commit(txn);
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
		"written; free space and try again", what, s->path, avail / 1024,
		mdb_strerror(rc));
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

int docket_store_begin(docket_store *s, MDB_txn *parent, unsigned flags,
		       MDB_txn **txn, docket_err *err)
{
	bool cleared = false;
	int rc;

	if (!docket_store_owned(s))
		return forked(err);
	bool reader = (flags & MDB_RDONLY) && !parent;
	if (reader)
		pthread_rwlock_rdlock(&s->maplock);
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
	mdb_txn_abort(txn);
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

int docket_store_open(docket_store *s, const char *home, bool nosync, size_t mapsize,
		      unsigned maxreaders, bool exclusive, docket_err *err)
{
	unsigned flags = MDB_NOSUBDIR | (nosync ? MDB_NOSYNC : 0);
	MDB_envinfo info;
	int rc;

	memset(s, 0, sizeof *s);
	s->lockfd = -1;
	pthread_rwlock_init(&s->maplock, NULL);
	s->maplock_ready = true;
	s->pid = self();
	if (mkdir(home, 0700) < 0 && errno != EEXIST)
		return docket_err_set(err, DOCKET_EIO, "%s: %s", home, strerror(errno));
	if (asprintf(&s->path, "%s/%s", home, DOCKET_STORE_FILE) < 0) {
		s->path = NULL;
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	}
	if (exclusive && (rc = take_lock(s, home, err)))
		goto err;
	rc = mdb_env_create(&s->env);
	if (rc) {
		s->env = NULL;
		rc = docket_store_err(err, rc, "creating the LMDB environment");
		goto err;
	}
	mdb_env_set_maxdbs(s->env, MAXDBS);
	mdb_env_set_mapsize(s->env, mapsize ? mapsize : DOCKET_MAP_DEFAULT);
	mdb_env_set_maxreaders(s->env, maxreaders ? maxreaders : 126);
	rc = mdb_env_open(s->env, s->path, flags, 0600);
	if (rc) {
		rc = docket_store_err(err, rc, "opening the store");
		docket_err_prefix(err, "%s: ", s->path);
		goto err;
	}
	/* An existing store may be larger than asked: LMDB keeps its size. */
	mdb_env_info(s->env, &info);
	s->mapsize = info.me_mapsize;
	if ((rc = docket_store_reader_check(s, NULL, err)))
		goto err;
	if ((rc = init_dbs(s, err)))
		goto err;
	return 0;
err:
	docket_store_close(s);
	return rc;
}

void docket_store_close(docket_store *s)
{
	if (s->env && s->pid == self())
		mdb_env_close(s->env);
	s->env = NULL;
	if (s->lockfd >= 0)
		close(s->lockfd);
	s->lockfd = -1;
	free(s->path);
	s->path = NULL;
	if (s->maplock_ready)
		pthread_rwlock_destroy(&s->maplock);
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
