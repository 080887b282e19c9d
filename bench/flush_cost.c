/*
 * flush_cost - what one durable commit costs the disk, by pattern, with
 * no database in the way: the floor under each peer's latency at N = 1
 * (docs/performance.md).  In a scratch directory on the disk to measure:
 *
 *   lmdb      PAGES random 4 KiB pwrites into a 12.5 MiB file, fdatasync,
 *             then a 120-byte meta write through an O_DSYNC descriptor:
 *             what mdb_txn_commit does with full sync (two flushes)
 *   lmdb-data the first half of that alone (one flush)
 *   wal       one 8 KiB append to a preallocated 16 MiB file, fdatasync:
 *             PostgreSQL's commit (wal_sync_method=fdatasync) and SQLite's
 *             WAL commit in synchronous=FULL (one flush)
 *
 * The patterns take turns, ROUNDS times, so a disk that slows down slows
 * all of them; the medians print in microseconds.
 *
 *   flush_cost DIR [ROUNDS [PAGES]]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define DATA_PAGES 3200         /* the bench store's size after its preload */
#define WAL_BYTES (16 << 20)

enum { LMDB, LMDB_DATA, WAL, NPAT };
static const char *const pat_name[NPAT] = {"lmdb", "lmdb-data", "wal"};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void die(const char *what)
{
	fprintf(stderr, "flush_cost: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A file of `size` bytes written out and flushed, so later writes only
 * overwrite allocated blocks (no size or extent change to journal). */
static int prefilled(const char *path, size_t size)
{
	static char buf[1 << 16];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		die(path);
	memset(buf, 1, sizeof buf);
	for (size_t off = 0; off < size; off += sizeof buf)
		if (pwrite(fd, buf, sizeof buf, (off_t)off) != (ssize_t)sizeof buf)
			die("prefilling");
	if (fsync(fd) < 0)
		die("fsync");
	return fd;
}

int main(int argc, char **argv)
{
	char data_path[4096], wal_path[4096], page[2 * PAGE];
	int rounds = argc > 2 ? atoi(argv[2]) : 300, pages = argc > 3 ? atoi(argv[3]) : 12;
	double *t[NPAT];
	off_t woff = 0;

	if (argc < 2 || rounds < 1 || pages < 1 || pages > DATA_PAGES - 2) {
		fprintf(stderr, "usage: flush_cost DIR [ROUNDS [PAGES]]\n");
		return 2;
	}
	snprintf(data_path, sizeof data_path, "%s/flush_cost.data", argv[1]);
	snprintf(wal_path, sizeof wal_path, "%s/flush_cost.wal", argv[1]);
	int fd = prefilled(data_path, (size_t)DATA_PAGES * PAGE);
	int meta = open(data_path, O_WRONLY | O_DSYNC | O_CLOEXEC);
	int wal = prefilled(wal_path, WAL_BYTES);
	if (meta < 0)
		die(data_path);
	memset(page, 'x', sizeof page);
	for (int p = 0; p < NPAT; p++)
		if (!(t[p] = calloc((size_t)rounds, sizeof *t[p])))
			die("calloc");
	srand(1);
	for (int r = 0; r < rounds; r++) {
		for (int p = 0; p < NPAT; p++) {
			double t0 = now_us();
			if (p == WAL) {
				if (pwrite(wal, page, sizeof page, woff) != (ssize_t)sizeof page ||
				    fdatasync(wal) < 0)
					die("wal");
				woff = (woff + (off_t)sizeof page) % WAL_BYTES;
			} else {
				/* Pages 0 and 1 are the meta pages, as in LMDB. */
				for (int i = 0; i < pages; i++)
					if (pwrite(fd, page, PAGE,
						   (off_t)(2 + rand() % (DATA_PAGES - 2)) * PAGE) != PAGE)
						die("data");
				if (fdatasync(fd) < 0)
					die("fdatasync");
				if (p == LMDB && pwrite(meta, page, 120, (r & 1) * PAGE + 32) != 120)
					die("meta");
			}
			t[p][r] = now_us() - t0;
		}
	}
	for (int p = 0; p < NPAT; p++) {
		qsort(t[p], (size_t)rounds, sizeof *t[p], cmp);
		printf("%s%s p50_us=%.0f", p ? " " : "", pat_name[p], t[p][rounds / 2]);
		free(t[p]);
	}
	printf(" pages=%d rounds=%d\n", pages, rounds);
	close(fd);
	close(meta);
	close(wal);
	unlink(data_path);
	unlink(wal_path);
	return 0;
}
