/* iocount.h - bytes and calls LMDB wrote since the program started. */
#ifndef DOCKET_BENCH_IOCOUNT_H
#define DOCKET_BENCH_IOCOUNT_H

extern unsigned long long docket_bench_written, docket_bench_writes;

#endif
