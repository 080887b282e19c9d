/*
 * iocount.c - count the bytes LMDB writes, for store_bench.
 *
 * liblmdb calls pwrite, write and writev through the PLT, so definitions
 * in the benchmark executable (exported with -rdynamic) see every write
 * LMDB makes and pass it on to the C library's.  Terminal output (fds 0-2)
 * is not counted.
 */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "iocount.h"

unsigned long long docket_bench_written, docket_bench_writes;

static void count(int fd, ssize_t n)
{
	if (fd > 2 && n > 0) {
		docket_bench_written += (unsigned long long)n;
		docket_bench_writes++;
	}
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "pwrite");
	ssize_t r = real(fd, buf, n, off);
	count(fd, r);
	return r;
}

ssize_t write(int fd, const void *buf, size_t n)
{
	static ssize_t (*real)(int, const void *, size_t);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "write");
	ssize_t r = real(fd, buf, n);
	count(fd, r);
	return r;
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
	static ssize_t (*real)(int, const struct iovec *, int);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "writev");
	ssize_t r = real(fd, iov, n);
	count(fd, r);
	return r;
}
