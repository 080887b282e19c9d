/*
 * commit.h - group commit: every write waits in one queue, and whatever
 * has gathered while a commit was in flight goes into the next write
 * transaction together, so one fsync serves many clients.
 *
 * A job is what a client request, a due timer (or, later, a plugin's
 * outcome) asks the store to do.  APPLY jobs are batched into one
 * docket_engine_apply on a worker thread; a RELOAD runs on the loop thread
 * and a BACKUP on a worker thread, each alone, between two commits (the
 * engine may install workflows only while no apply is in flight, and a
 * growing map must not meet a long copy).  Jobs finish in queue order and
 * each one's `done` runs on the loop thread after its commit returned:
 * replies are only ever sent for committed writes.
 */
#ifndef DOCKETD_COMMIT_H
#define DOCKETD_COMMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pthread.h>
#include <stdatomic.h>

#include <jansson.h>
#include <uv.h>

#include "engine.h"

typedef struct docketd docketd;
typedef struct docketd_job docketd_job;

typedef enum docketd_job_kind {
	DOCKETD_JOB_APPLY,
	DOCKETD_JOB_RELOAD,
	DOCKETD_JOB_BACKUP,
} docketd_job_kind;

/* Owned by whoever submits it; must stay valid until `done` ran. */
struct docketd_job {
	docketd_job_kind kind;
	/* APPLY: the operations (borrowed until done).  results is set for
	 * the length of the done callback only: results[i] is what ops[i] did.
	 * rc is the batch's result (negative: nothing of it was written; then
	 * results is NULL when the batch could not even start). */
	const docket_op *ops;
	size_t nops;
	docket_result *results;
	int rc;
	/* BACKUP: into dir; rc and err say how it went. */
	const char *dir;
	docket_err err;
	/* RELOAD: the report ({loaded, refused, config}), owned by the job
	 * during done. */
	json_t *report;
	void (*done)(docketd *d, docketd_job *job);
	void *ctx;
	docketd_job *next;          /* the queue's */
};

#define DOCKETD_HIST_BUCKETS 16

typedef struct docketd_commit {
	docketd_job *head, *tail;   /* waiting */
	size_t waiting;             /* jobs in the queue */
	bool busy;                  /* a job is on the worker thread */
	/* The worker: one thread of its own, woken by a condition variable
	 * and answering through `finished`, so a commit costs one wake each
	 * way (libuv's shared pool took the pool lock twice per job and woke
	 * a different, cold thread each time). */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	void (*work)(docketd *d);   /* under mu: the job handed over, or NULL */
	void (*after)(docketd *d);  /* loop thread: runs once work returned */
	bool quit;                  /* under mu: the thread should end */
	bool thread_up;
	atomic_bool done;           /* work returned; set by the worker */
	uv_async_t finished;
	uv_timer_t later;           /* runs the queue after submit returned */
	docketd_job *batch;         /* jobs of the apply in flight, in order */
	/* Two sets of flattened operations and results: the next batch fills
	 * one while the done callbacks of the last one still read the other. */
	docket_op *ops, *ops2;
	docket_result *results, *results2;
	size_t n, cap, cap2;
	int rc;
	uint64_t started_ms;        /* loop time the batch started */
	/* What `status` shows. */
	uint64_t commits, ops_applied, failed_commits, backups, reloads;
	uint64_t hist[DOCKETD_HIST_BUCKETS];  /* commits by ops: 1, 2-3, 4-7, ... */
	size_t max_batch;
	uint64_t busy_ms;
} docketd_commit;

void docketd_commit_init(docketd_commit *cm);
/* Create the queue's handles on d->loop and start its worker thread.
 * Returns 0 or a libuv error. */
int docketd_commit_start(docketd *d);
/* Stop the worker thread (it must be idle: docketd_commit_idle) and free
 * the buffers; the handles are closed with the loop's. */
void docketd_commit_free(docketd_commit *cm);

/* Queue a job and start it at once if nothing is in flight.  Its done
 * callback never runs before this returns. */
void docketd_commit_submit(docketd *d, docketd_job *job);

/* Start the next batch if nothing is in flight; may finish jobs (run a
 * reload and its done callback) before it returns. */
void docketd_commit_kick(docketd *d);

/* Nothing queued and nothing in flight. */
bool docketd_commit_idle(const docketd *d);

/* {"commits","ops","avg_batch","max_batch","batches":{"1":n,"2-3":n,...},
 *  "queued","in_flight","failed_commits","busy_ms"} */
json_t *docketd_commit_status(const docketd *d);

#endif
