/*
 * commit.h - group commit: every write waits in one queue, and whatever
 * has gathered while a commit was in flight goes into the next write
 * transaction together, so one fsync serves many clients.
 *
 * A job is what a client request, a due timer or a plugin's outcome asks
 * the store to do.  APPLY jobs are batched into one
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

typedef struct docketd_batch docketd_batch;

/* The queue lives between two threads.  The loop thread submits; the
 * worker takes every APPLY job waiting the moment its last commit
 * returned, so commits follow each other with no hand-over through the
 * loop (which may be busy writing the last batch's replies), and gives
 * finished batches back through `finished`.  Fields marked "mu" are under
 * the mutex; the rest belong to the loop thread. */
typedef struct docketd_commit {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;          /* wakes the worker: work, a reload done, quit */
	bool thread_up;
	uv_async_t finished;
	/* mu: */
	docketd_job *head, *tail;   /* waiting, in order */
	size_t waiting;             /* jobs in the queue */
	bool busy;                  /* the worker holds a batch or a backup */
	bool sleeping;              /* the worker waits for work */
	bool quit;                  /* the thread should end */
	docketd_job *reload;        /* handed to the loop; the worker waits */
	bool reload_taken;          /* the loop has it */
	docketd_batch *done_head, *done_tail;  /* finished, for the loop */
	/* the loop's: */
	size_t outstanding;         /* submitted, done not yet run */
	docketd_job *mine, *mine_tail;  /* submitted in this loop turn */
	size_t nmine;
	uv_check_t publish;         /* hands them to the worker, all at once */
	uv_idle_t nowait;           /* the loop polls without blocking meanwhile */
	bool last_lone;             /* the last batch was one job */
	uint64_t last_ns;           /* and took this long */
	/* The worker's alone: the flattened operations of its batch. */
	docket_op *ops;
	size_t cap;
	/* What `status` shows (the loop's, counted as batches come back). */
	uint64_t commits, ops_applied, failed_commits, backups, reloads, loop_commits;
	uint64_t hist[DOCKETD_HIST_BUCKETS];  /* commits by ops: 1, 2-3, 4-7, ... */
	size_t max_batch;
	uint64_t busy_ns;
} docketd_commit;

void docketd_commit_init(docketd_commit *cm);
/* Create the queue's handles on d->loop and start its worker thread.
 * Returns 0 or a libuv error. */
int docketd_commit_start(docketd *d);
/* Stop the worker thread (it must be idle: docketd_commit_idle) and free
 * the buffers; the handles are closed with the loop's. */
void docketd_commit_free(docketd_commit *cm);

/* Queue a job.  The jobs of one loop turn reach the worker together at
 * the end of the turn, and it starts them as soon as no commit is in
 * flight; a lone write on an idle daemon commits on the loop thread
 * instead, at the end of the turn.  Its done callback never runs before
 * this returns. */
void docketd_commit_submit(docketd *d, docketd_job *job);

/* Every job submitted has had its done callback. */
bool docketd_commit_idle(const docketd *d);

/* How many jobs wait, and whether a commit is in flight, as of now. */
void docketd_commit_load(docketd *d, size_t *queued, bool *in_flight);

/* {"commits","ops","avg_batch","max_batch","batches":{"1":n,"2-3":n,...},
 *  "queued","in_flight","failed_commits","busy_ms","loop_commits",...} */
json_t *docketd_commit_status(docketd *d);

#endif
