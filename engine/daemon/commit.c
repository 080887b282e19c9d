/*
 * commit.c - the group-commit queue.  The loop thread appends jobs; the
 * worker thread takes every APPLY job waiting (up to DOCKET_BATCH_MAX
 * operations) into one docket_engine_apply, hands the finished batch back
 * through `finished`, and at once takes what gathered meanwhile.  The
 * loop never stands between two commits: while it writes the replies of
 * one batch, the next is being committed.
 *
 * Jobs finish in queue order.  A BACKUP runs on the worker between two
 * batches.  A RELOAD must run on the loop thread with no apply in flight
 * (the engine installs workflows then), so the worker hands it over and
 * waits until the loop has run it, after the callbacks of every batch
 * before it.
 *
 * What crosses threads: a job is the loop's until it is in the queue,
 * then read (never written) by the worker until its batch comes back,
 * then the loop's again; a batch (jobs, results) is the worker's until it
 * is in the done list.  The mutex orders every hand-over.
 */
#include "commit.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "docketd.h"
#include "log.h"

/* A finished batch, on its way back to the loop. */
struct docketd_batch {
	docketd_job *jobs;          /* in order; one BACKUP job alone */
	docket_result *results;     /* n of them, or NULL if none was made */
	size_t n;
	int rc;
	uint64_t busy_ns;           /* the worker's time on it */
	docketd_batch *next;
};

void docketd_commit_init(docketd_commit *cm)
{
	memset(cm, 0, sizeof *cm);
}

static void thread_stop(docketd_commit *cm)
{
	if (!cm->thread_up)
		return;
	pthread_mutex_lock(&cm->mu);
	cm->quit = true;
	pthread_mutex_unlock(&cm->mu);
	pthread_cond_signal(&cm->cv);
	pthread_join(cm->thread, NULL);
	pthread_cond_destroy(&cm->cv);
	pthread_mutex_destroy(&cm->mu);
	cm->thread_up = false;
}

void docketd_commit_free(docketd_commit *cm)
{
	thread_stop(cm);
	free(cm->ops);
	cm->ops = NULL;
	cm->cap = 0;
}

bool docketd_commit_idle(const docketd *d)
{
	return d->cm.outstanding == 0;
}

void docketd_commit_load(docketd *d, size_t *queued, bool *in_flight)
{
	pthread_mutex_lock(&d->cm.mu);
	*queued = d->cm.waiting;
	*in_flight = d->cm.busy;
	pthread_mutex_unlock(&d->cm.mu);
}

/* --- the worker thread (mu held where it says so) ------------------------- */

static docketd_job *pop(docketd_commit *cm)
{
	docketd_job *j = cm->head;

	cm->head = j->next;
	if (!cm->head)
		cm->tail = NULL;
	j->next = NULL;
	cm->waiting--;
	return j;
}

static bool grow(docketd_commit *cm, size_t n)
{
	if (n <= cm->cap)
		return true;
	size_t cap = cm->cap ? cm->cap : 64;
	while (cap < n)
		cap *= 2;
	docket_op *ops = realloc(cm->ops, cap * sizeof *ops);
	if (!ops)
		return false;
	cm->ops = ops;
	cm->cap = cap;
	return true;
}

/* mu held: take every APPLY job at the head that fits in one batch. */
static docketd_job *take_applies(docketd_commit *cm, size_t *nops)
{
	docketd_job *jobs = NULL, **tail = &jobs;
	size_t n = 0;

	while (cm->head && cm->head->kind == DOCKETD_JOB_APPLY &&
	       (n == 0 || n + cm->head->nops <= DOCKET_BATCH_MAX)) {
		docketd_job *j = pop(cm);
		n += j->nops;
		*tail = j;
		tail = &j->next;
	}
	*nops = n;
	return jobs;
}

/* mu not held: flatten the batch's operations and apply them. */
static void run_applies(docketd *d, docketd_batch *b)
{
	docketd_commit *cm = &d->cm;
	size_t off = 0;

	b->results = grow(cm, b->n) ? malloc((b->n ? b->n : 1) * sizeof *b->results) : NULL;
	if (!b->results) {
		docketd_warn("commit: out of memory for a batch of %zu operations", b->n);
		b->rc = DOCKET_ENOMEM;
		return;
	}
	for (docketd_job *j = b->jobs; j; j = j->next) {
		memcpy(cm->ops + off, j->ops, j->nops * sizeof *j->ops);
		off += j->nops;
	}
	b->rc = docket_engine_apply(d->eng, cm->ops, b->n, b->results);
}

static void run_backup(docketd *d, docketd_batch *b)
{
	docketd_job *j = b->jobs;

	j->rc = docket_engine_backup(d->eng, j->dir, &j->err);
}

/* mu held on entry and on return. */
static void run_batch(docketd *d, docketd_batch *b)
{
	docketd_commit *cm = &d->cm;
	uint64_t t0 = uv_hrtime();

	cm->busy = true;
	pthread_mutex_unlock(&cm->mu);
	if (b->jobs->kind == DOCKETD_JOB_BACKUP)
		run_backup(d, b);
	else
		run_applies(d, b);
	b->busy_ns = uv_hrtime() - t0;
	pthread_mutex_lock(&cm->mu);
	cm->busy = false;
	if (cm->done_tail)
		cm->done_tail->next = b;
	else
		cm->done_head = b;
	cm->done_tail = b;
	uv_async_send(&cm->finished);
}

static void *worker(void *arg)
{
	docketd *d = arg;
	docketd_commit *cm = &d->cm;

	pthread_mutex_lock(&cm->mu);
	for (;;) {
		while (!cm->quit && (!cm->head || cm->reload)) {
			cm->sleeping = true;
			pthread_cond_wait(&cm->cv, &cm->mu);
			cm->sleeping = false;
		}
		if (cm->quit)
			break;
		if (cm->head->kind == DOCKETD_JOB_RELOAD) {
			cm->reload = pop(cm);
			cm->reload_taken = false;
			uv_async_send(&cm->finished);
			continue;
		}
		docketd_batch *b = calloc(1, sizeof *b);
		if (!b) {
			/* Try again once something was freed. */
			pthread_mutex_unlock(&cm->mu);
			docketd_warn("commit: out of memory for a batch; trying again");
			usleep(100000);
			pthread_mutex_lock(&cm->mu);
			continue;
		}
		if (cm->head->kind == DOCKETD_JOB_BACKUP) {
			b->jobs = pop(cm);
			b->jobs->next = NULL;
		} else {
			b->jobs = take_applies(cm, &b->n);
		}
		run_batch(d, b);
	}
	pthread_mutex_unlock(&cm->mu);
	return NULL;
}

/* --- back on the loop thread ------------------------------------------- */

static void hist_add(docketd_commit *cm, size_t n)
{
	int b = 0;

	while (n > 1 && b < DOCKETD_HIST_BUCKETS - 1) {
		n >>= 1;
		b++;
	}
	cm->hist[b]++;
}

static void job_done(docketd *d, docketd_job *j)
{
	d->cm.outstanding--;
	j->done(d, j);  /* may free j */
}

static void applies_done(docketd *d, docketd_batch *b)
{
	docketd_commit *cm = &d->cm;
	docketd_job *j, *next;
	size_t off = 0;

	cm->busy_ns += b->busy_ns;
	cm->last_ns = b->busy_ns;
	cm->last_lone = !b->jobs->next;
	if (b->rc == 0) {
		cm->commits++;
		cm->ops_applied += b->n;
		hist_add(cm, b->n);
		if (b->n > cm->max_batch)
			cm->max_batch = b->n;
		docketd_debug("commit: %zu operation%s", b->n, b->n == 1 ? "" : "s");
	} else {
		cm->failed_commits++;
		docketd_warn("commit of %zu operation%s failed, nothing written: %s", b->n,
			     b->n == 1 ? "" : "s",
			     b->results ? b->results[0].err.msg : docket_strerror(b->rc));
	}
	for (j = b->jobs; j; j = next) {
		next = j->next;
		j->next = NULL;
		j->rc = b->rc;
		j->results = b->results ? b->results + off : NULL;
		off += j->nops;
		job_done(d, j);
	}
}

static void run_reload(docketd *d, docketd_job *j)
{
	docketd_commit *cm = &d->cm;

	j->report = docketd_reload(d);
	cm->reloads++;
	job_done(d, j);
	pthread_mutex_lock(&cm->mu);
	cm->reload = NULL;
	bool wake = cm->sleeping;
	pthread_mutex_unlock(&cm->mu);
	if (wake)
		pthread_cond_signal(&cm->cv);
}

static void all_done(docketd *d)
{
	if (!d->cm.outstanding)
		uv_unref((uv_handle_t *)&d->cm.finished);
	docketd_after_commit(d);
}

static void finished_cb(uv_async_t *a)
{
	docketd *d = a->data;
	docketd_commit *cm = &d->cm;
	docketd_batch *b, *next;
	docketd_job *reload = NULL;

	pthread_mutex_lock(&cm->mu);
	b = cm->done_head;
	cm->done_head = cm->done_tail = NULL;
	if (cm->reload && !cm->reload_taken) {
		reload = cm->reload;
		cm->reload_taken = true;
	}
	pthread_mutex_unlock(&cm->mu);
	for (; b; b = next) {
		next = b->next;
		if (b->jobs->kind == DOCKETD_JOB_BACKUP) {
			cm->busy_ns += b->busy_ns;
			cm->backups++;
			job_done(d, b->jobs);
		} else {
			applies_done(d, b);
		}
		free(b->results);
		free(b);
	}
	if (reload)
		run_reload(d, reload);
	all_done(d);
}

/* --- starting, submitting, status ----------------------------------------- */

/* The worker takes no signals: they are the loop's (uv_signal_t), and a
 * handler run on the worker would only interrupt its system calls. */
static int thread_start(docketd *d)
{
	docketd_commit *cm = &d->cm;
	sigset_t all, old;
	int rc;

	if ((rc = pthread_mutex_init(&cm->mu, NULL)))
		return uv_translate_sys_error(rc);
	if ((rc = pthread_cond_init(&cm->cv, NULL))) {
		pthread_mutex_destroy(&cm->mu);
		return uv_translate_sys_error(rc);
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&cm->thread, NULL, worker, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		pthread_cond_destroy(&cm->cv);
		pthread_mutex_destroy(&cm->mu);
		return uv_translate_sys_error(rc);
	}
	cm->thread_up = true;
	return 0;
}

int docketd_commit_start(docketd *d)
{
	docketd_commit *cm = &d->cm;
	int rc = uv_async_init(d->loop, &cm->finished, finished_cb);

	if (rc || (rc = uv_check_init(d->loop, &cm->publish)) ||
	    (rc = uv_idle_init(d->loop, &cm->nowait)))
		return rc;
	cm->publish.data = d;
	cm->finished.data = d;
	uv_unref((uv_handle_t *)&cm->finished);     /* referenced while jobs are out */
	return thread_start(d);
}

/* A lone write on an idle daemon commits here, on the loop thread: handed
 * to the worker and back it would wait for two thread wake-ups, which on
 * a virtual machine cost about as much as the disk flush itself (N = 1
 * advance p50 0.24-0.52 ms here, 0.33-0.73 through the worker, in turns;
 * docs/performance.md).  Only after a lone batch, so a burst keeps its
 * pipeline (the loop reads the next batch while the worker commits this
 * one), and only while a commit takes under LOOP_COMMIT_MAX_NS: a read
 * arriving meanwhile waits for it. */
#define LOOP_COMMIT_MAX_NS 2000000

static bool commit_here(docketd *d)
{
	docketd_commit *cm = &d->cm;

	if (cm->nmine != 1 || cm->mine->kind != DOCKETD_JOB_APPLY || !cm->last_lone ||
	    cm->last_ns > LOOP_COMMIT_MAX_NS)
		return false;
	pthread_mutex_lock(&cm->mu);
	bool idle = cm->sleeping && !cm->head && !cm->done_head && !cm->reload;
	cm->busy = idle;
	pthread_mutex_unlock(&cm->mu);
	if (!idle)
		return false;
	docketd_batch b = {.jobs = cm->mine, .n = cm->mine->nops};
	uint64_t t0 = uv_hrtime();

	cm->mine = cm->mine_tail = NULL;
	cm->nmine = 0;
	run_applies(d, &b);
	b.busy_ns = uv_hrtime() - t0;
	pthread_mutex_lock(&cm->mu);
	cm->busy = false;
	pthread_mutex_unlock(&cm->mu);
	cm->loop_commits++;
	applies_done(d, &b);
	free(b.results);
	all_done(d);
	return true;
}

/* The jobs of one loop turn (every request read in it) reach the worker
 * together: handed over one by one, the first would wake the worker
 * into a commit of its own, and an fsync per handful of jobs is what
 * group commit is there to avoid. */
static void publish_cb(uv_check_t *h)
{
	docketd *d = h->data;
	docketd_commit *cm = &d->cm;

	uv_check_stop(h);
	uv_idle_stop(&cm->nowait);
	if (!cm->mine || commit_here(d))
		return;
	pthread_mutex_lock(&cm->mu);
	if (cm->tail)
		cm->tail->next = cm->mine;
	else
		cm->head = cm->mine;
	cm->tail = cm->mine_tail;
	cm->waiting += cm->nmine;
	bool wake = cm->sleeping;
	pthread_mutex_unlock(&cm->mu);
	cm->mine = cm->mine_tail = NULL;
	cm->nmine = 0;
	if (wake)
		pthread_cond_signal(&cm->cv);
}

static void nowait_cb(uv_idle_t *h)
{
	(void)h;
}

void docketd_commit_submit(docketd *d, docketd_job *job)
{
	docketd_commit *cm = &d->cm;

	job->next = NULL;
	job->results = NULL;
	if (cm->outstanding++ == 0)
		uv_ref((uv_handle_t *)&cm->finished);   /* the loop waits for it */
	if (cm->mine_tail)
		cm->mine_tail->next = job;
	else
		cm->mine = job;
	cm->mine_tail = job;
	if (cm->nmine++ == 0) {
		uv_check_start(&cm->publish, publish_cb);
		/* Submitted outside the I/O phase (a timer): the check phase
		 * must come without waiting for I/O. */
		uv_idle_start(&cm->nowait, nowait_cb);
	}
}

json_t *docketd_commit_status(docketd *d)
{
	const docketd_commit *cm = &d->cm;
	json_t *hist = json_object();
	char key[48];
	size_t queued;
	bool in_flight;

	docketd_commit_load(d, &queued, &in_flight);
	for (int b = 0; b < DOCKETD_HIST_BUCKETS; b++) {
		if (!cm->hist[b])
			continue;
		unsigned long long lo = 1ull << b, hi = (2ull << b) - 1;
		if (lo == hi)
			snprintf(key, sizeof key, "%llu", lo);
		else
			snprintf(key, sizeof key, "%llu-%llu", lo, hi);
		json_object_set_new(hist, key, json_integer((json_int_t)cm->hist[b]));
	}
	return json_pack("{s:I, s:I, s:f, s:I, s:o, s:I, s:b, s:I, s:I, s:I, s:I, s:I}",
		"commits", (json_int_t)cm->commits,
		"ops", (json_int_t)cm->ops_applied,
		"avg_batch", cm->commits ? (double)cm->ops_applied / (double)cm->commits : 0.0,
		"max_batch", (json_int_t)cm->max_batch,
		"batches", hist,
		"queued", (json_int_t)queued,
		"in_flight", in_flight,
		"failed_commits", (json_int_t)cm->failed_commits,
		"busy_ms", (json_int_t)(cm->busy_ns / 1000000),
		"reloads", (json_int_t)cm->reloads,
		"backups", (json_int_t)cm->backups,
		"loop_commits", (json_int_t)cm->loop_commits);
}
