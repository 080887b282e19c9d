/*
 * commit.c - the group-commit queue.  At most one job is on the worker
 * thread at a time; while it runs, new jobs gather in the queue, and the
 * moment it returns every APPLY job waiting (up to DOCKET_BATCH_MAX
 * operations) goes into the next docket_engine_apply together.
 *
 * The worker touches only the flattened operations and results of its
 * batch and the engine; everything else (jobs, replies, the queue) is
 * touched on the loop thread alone, before the hand-over and after the
 * `finished` callback.  The mutex orders the hand-over, the release
 * store of `done` and the async send order the way back.
 */
#include "commit.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "docketd.h"
#include "log.h"

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
	free(cm->results);
	free(cm->ops2);
	free(cm->results2);
	cm->ops = cm->ops2 = NULL;
	cm->results = cm->results2 = NULL;
	cm->cap = cm->cap2 = 0;
}

bool docketd_commit_idle(const docketd *d)
{
	return !d->cm.busy && !d->cm.head;
}

static docketd_job *pop(docketd_commit *cm)
{
	docketd_job *j = cm->head;

	if (j) {
		cm->head = j->next;
		if (!cm->head)
			cm->tail = NULL;
		j->next = NULL;
		cm->waiting--;
	}
	return j;
}

static void hist_add(docketd_commit *cm, size_t n)
{
	int b = 0;

	while (n > 1 && b < DOCKETD_HIST_BUCKETS - 1) {
		n >>= 1;
		b++;
	}
	cm->hist[b]++;
}

/* --- the worker thread -------------------------------------------------- */

static void *worker(void *arg)
{
	docketd *d = arg;
	docketd_commit *cm = &d->cm;

	pthread_mutex_lock(&cm->mu);
	for (;;) {
		while (!cm->work && !cm->quit)
			pthread_cond_wait(&cm->cv, &cm->mu);
		if (cm->quit)
			break;
		void (*work)(docketd *) = cm->work;
		cm->work = NULL;
		pthread_mutex_unlock(&cm->mu);
		work(d);
		atomic_store_explicit(&cm->done, true, memory_order_release);
		uv_async_send(&cm->finished);
		pthread_mutex_lock(&cm->mu);
	}
	pthread_mutex_unlock(&cm->mu);
	return NULL;
}

/* Loop thread: give the worker `work`, and run `after` once it returned.
 * The signal comes after the unlock so the woken worker does not block
 * at once on the mutex still held here. */
static void hand_over(docketd *d, void (*work)(docketd *), void (*after)(docketd *))
{
	docketd_commit *cm = &d->cm;

	cm->after = after;
	uv_ref((uv_handle_t *)&cm->finished);   /* the loop waits for it */
	pthread_mutex_lock(&cm->mu);
	cm->work = work;
	pthread_mutex_unlock(&cm->mu);
	pthread_cond_signal(&cm->cv);
}

static void finished_cb(uv_async_t *a)
{
	docketd *d = a->data;
	docketd_commit *cm = &d->cm;

	/* Sends may coalesce, and one may arrive after its job was seen. */
	if (!atomic_exchange_explicit(&cm->done, false, memory_order_acquire))
		return;
	uv_unref((uv_handle_t *)&cm->finished);
	cm->after(d);
}

/* --- jobs ----------------------------------------------------------------- */

static void apply_work(docketd *d)
{
	docketd_commit *cm = &d->cm;

	cm->rc = docket_engine_apply(d->eng, cm->ops, cm->n, cm->results);
}

static bool start_apply(docketd *d, bool may_finish);

/* Hand the buffers just used to the done callbacks and give the next
 * batch the other set. */
static void swap_sets(docketd_commit *cm)
{
	docket_op *ops = cm->ops;
	docket_result *res = cm->results;
	size_t cap = cm->cap;

	cm->ops = cm->ops2;
	cm->results = cm->results2;
	cm->cap = cm->cap2;
	cm->ops2 = ops;
	cm->results2 = res;
	cm->cap2 = cap;
}

/* Runs on the loop thread once the apply returned.  The next batch of
 * waiting writes goes to the worker first, so its fsync overlaps the
 * replies of this one; the done callbacks read this batch's results from
 * the other buffer set, which nothing touches until the next apply_done.
 * A reload or backup at the head waits for the kick after the callbacks,
 * so jobs still finish in queue order. */
static void apply_done(docketd *d)
{
	docketd_commit *cm = &d->cm;
	docketd_job *j, *next, *batch = cm->batch;
	docket_result *results = cm->results;
	size_t off = 0, n = cm->n;
	int rc = cm->rc;

	cm->batch = NULL;
	cm->busy_ms += uv_now(d->loop) - cm->started_ms;
	if (rc == 0) {
		cm->commits++;
		cm->ops_applied += n;
		hist_add(cm, n);
		if (n > cm->max_batch)
			cm->max_batch = n;
		docketd_debug("commit: %zu operation%s", n, n == 1 ? "" : "s");
	} else {
		cm->failed_commits++;
		docketd_warn("commit of %zu operation%s failed, nothing written: %s", n,
			     n == 1 ? "" : "s", results[0].err.msg);
	}
	cm->busy = false;
	swap_sets(cm);
	if (cm->head && cm->head->kind == DOCKETD_JOB_APPLY)
		start_apply(d, false);
	for (j = batch; j; j = next) {
		next = j->next;
		j->next = NULL;
		j->rc = rc;
		j->results = results + off;
		off += j->nops;
		j->done(d, j);  /* may free j */
	}
	docketd_after_commit(d);
	docketd_commit_kick(d);
}

static void backup_work(docketd *d)
{
	docketd_job *j = d->cm.batch;

	j->rc = docket_engine_backup(d->eng, j->dir, &j->err);
}

static void backup_done(docketd *d)
{
	docketd_job *j = d->cm.batch;

	d->cm.batch = NULL;
	d->cm.backups++;
	j->done(d, j);
	d->cm.busy = false;
	docketd_commit_kick(d);
}

static bool grow(docketd_commit *cm, size_t n)
{
	if (n <= cm->cap)
		return true;
	size_t cap = cm->cap ? cm->cap : 64;
	while (cap < n)
		cap *= 2;
	docket_op *ops = realloc(cm->ops, cap * sizeof *ops);
	if (ops)
		cm->ops = ops;
	docket_result *res = realloc(cm->results, cap * sizeof *res);
	if (res)
		cm->results = res;
	if (!ops || !res)
		return false;
	cm->cap = cap;
	return true;
}

static void defer(docketd *d);

/* Take every APPLY job at the head of the queue that fits in one batch.
 * Returns false when it could not (out of memory) and the head job must
 * be failed by a call that may finish jobs. */
static bool start_apply(docketd *d, bool may_finish)
{
	docketd_commit *cm = &d->cm;
	docketd_job **tail = &cm->batch;
	size_t n = 0;

	while (cm->head && cm->head->kind == DOCKETD_JOB_APPLY &&
	       (n == 0 || n + cm->head->nops <= DOCKET_BATCH_MAX)) {
		if (!grow(cm, n + cm->head->nops))
			break;
		docketd_job *j = pop(cm);
		memcpy(cm->ops + n, j->ops, j->nops * sizeof *j->ops);
		n += j->nops;
		*tail = j;
		tail = &j->next;
	}
	if (!cm->batch) {
		/* Out of memory for even one job: fail it rather than wedge. */
		if (!may_finish) {
			defer(d);
			return false;
		}
		docketd_job *j = pop(cm);
		j->rc = DOCKET_ENOMEM;
		j->results = NULL;
		docketd_warn("commit: out of memory for a batch of %zu operations", j->nops);
		cm->busy = true;
		j->done(d, j);
		cm->busy = false;
		return true;
	}
	cm->n = n;
	cm->busy = true;
	cm->started_ms = uv_now(d->loop);
	hand_over(d, apply_work, apply_done);
	return true;
}

/* Start what is at the head of the queue.  A job whose done callback
 * would run at once (a reload, a failure) runs only when may_finish:
 * never inside docketd_commit_submit, whose caller is not ready for its
 * job to be done before submit returns. */
static void kick(docketd *d, bool may_finish)
{
	docketd_commit *cm = &d->cm;

	while (!cm->busy && cm->head) {
		switch (cm->head->kind) {
		case DOCKETD_JOB_RELOAD: {
			if (!may_finish) {
				defer(d);
				return;
			}
			docketd_job *j = pop(cm);
			cm->busy = true;
			j->report = docketd_reload(d);
			cm->reloads++;
			j->done(d, j);
			cm->busy = false;
			docketd_after_commit(d);
			break;
		}
		case DOCKETD_JOB_BACKUP:
			cm->batch = pop(cm);
			cm->busy = true;
			hand_over(d, backup_work, backup_done);
			return;
		case DOCKETD_JOB_APPLY:
			if (!start_apply(d, may_finish))
				return;
			break;
		}
	}
	if (may_finish && !cm->busy && !cm->head && d->stopping)
		docketd_after_commit(d);
}

static void deferred_cb(uv_timer_t *t)
{
	kick(t->data, true);
}

static void defer(docketd *d)
{
	uv_timer_start(&d->cm.later, deferred_cb, 0, 0);
}

void docketd_commit_kick(docketd *d)
{
	kick(d, true);
}

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
	int rc = uv_timer_init(d->loop, &cm->later);

	cm->later.data = d;
	if (rc || (rc = uv_async_init(d->loop, &cm->finished, finished_cb)))
		return rc;
	cm->finished.data = d;
	uv_unref((uv_handle_t *)&cm->finished);     /* referenced while busy */
	return thread_start(d);
}

void docketd_commit_submit(docketd *d, docketd_job *job)
{
	docketd_commit *cm = &d->cm;

	job->next = NULL;
	job->results = NULL;
	if (cm->tail)
		cm->tail->next = job;
	else
		cm->head = job;
	cm->tail = job;
	cm->waiting++;
	kick(d, false);
}

json_t *docketd_commit_status(const docketd *d)
{
	const docketd_commit *cm = &d->cm;
	json_t *hist = json_object();
	char key[48];

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
	return json_pack("{s:I, s:I, s:f, s:I, s:o, s:I, s:b, s:I, s:I, s:I, s:I}",
		"commits", (json_int_t)cm->commits,
		"ops", (json_int_t)cm->ops_applied,
		"avg_batch", cm->commits ? (double)cm->ops_applied / (double)cm->commits : 0.0,
		"max_batch", (json_int_t)cm->max_batch,
		"batches", hist,
		"queued", (json_int_t)cm->waiting,
		"in_flight", cm->busy,
		"failed_commits", (json_int_t)cm->failed_commits,
		"busy_ms", (json_int_t)cm->busy_ms,
		"reloads", (json_int_t)cm->reloads,
		"backups", (json_int_t)cm->backups);
}
