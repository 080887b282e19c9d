/*
 * clock.c - the engine's clock and the deadline timer.
 *
 * The timer is armed for the earliest timer in the store, re-armed after
 * every commit and reload, and never for more than a minute ahead, so a
 * wall clock that jumps (NTP, a suspended machine) costs at most a minute
 * of lateness.  Due timers are read with docket_engine_timers_due and
 * queued as DOCKET_OP_TIMER jobs; the keys of those in the queue are kept
 * so a timer is never queued twice.
 *
 * The store's earliest deadline may also be an action run (the outbox),
 * which the plugin runner (next issue) serves.  Until it exists, a due
 * action must not make this timer spin: when the earliest deadline is due
 * and no timer is, the timer is armed for the earliest timer instead.
 */
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "docketd.h"
#include "log.h"

#define MAX_SLEEP_MS 60000
#define STALE_RETRY_MS 1000
#define DUE_BATCH 100

int64_t docketd_clock_now(void *ctx)
{
	docketd_clock *clk = ctx;
	struct timespec ts;

	if (clk && clk->file) {
		char buf[32];
		int fd = open(clk->file, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, buf, sizeof buf - 1);
			close(fd);
			if (n > 0) {
				char *end;
				buf[n] = 0;
				errno = 0;
				long long v = strtoll(buf, &end, 10);
				if (!errno && end != buf)
					return v;
			}
		}
		/* An unreadable clock file: fall through to real time. */
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "2024-05-01T09:30:00.000Z" (the engine's time format) to milliseconds. */
static bool parse_time(const char *s, int64_t *ms)
{
	struct tm tm;
	int msec = 0;

	memset(&tm, 0, sizeof tm);
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &msec) != 7)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*ms = (int64_t)timegm(&tm) * 1000 + msec;
	return true;
}

/* --- keys of queued and stale timers ------------------------------------ */

static docketd_timer_key *key_find(docketd_clock *clk, const char *id, uint32_t entry, int timer)
{
	for (size_t i = 0; i < clk->nkeys; i++) {
		docketd_timer_key *k = &clk->keys[i];
		if (k->entry == entry && k->timer == timer && !strcmp(k->id, id))
			return k;
	}
	return NULL;
}

static docketd_timer_key *key_add(docketd_clock *clk, const char *id, uint32_t entry, int timer)
{
	if (clk->nkeys == clk->cap) {
		size_t cap = clk->cap ? clk->cap * 2 : 32;
		docketd_timer_key *k = realloc(clk->keys, cap * sizeof *k);
		if (!k)
			return NULL;
		clk->keys = k;
		clk->cap = cap;
	}
	docketd_timer_key *k = &clk->keys[clk->nkeys++];
	size_t n = strnlen(id, sizeof k->id - 1);
	memset(k, 0, sizeof *k);
	memcpy(k->id, id, n);
	k->entry = entry;
	k->timer = timer;
	return k;
}

static void key_del(docketd_clock *clk, docketd_timer_key *k)
{
	*k = clk->keys[--clk->nkeys];
}

/* --- timer jobs ---------------------------------------------------------- */

typedef struct timer_job {
	docketd_job job;
	size_t n;
	docket_op ops[DUE_BATCH];
	char ids[DUE_BATCH][DOCKET_ID_MAX];
	char events[DUE_BATCH][DOCKET_NAME_MAX + 1];
} timer_job;

static void timers_done(docketd *d, docketd_job *job)
{
	timer_job *t = job->ctx;
	docketd_clock *clk = &d->clk;

	for (size_t i = 0; i < t->n; i++) {
		const docket_op *op = &t->ops[i];
		const docket_result *r = job->results ? &job->results[i] : NULL;
		docketd_timer_key *k = key_find(clk, op->case_id, op->entry, op->timer);
		int code = r ? r->code : job->rc;
		if (code == 0) {
			clk->fired++;
			docketd_info("timer: %s %s -> %s", op->case_id, t->events[i], r->stage);
		} else if (r && r->recorded_failure) {
			clk->refused++;
			docketd_warn("timer: %s %s refused, parked (see docket stuck): %s",
				     op->case_id, t->events[i], r->err.msg);
		} else {
			/* Neither fired nor parked: leave it a moment before the
			 * next try, so it cannot spin. */
			docketd_debug("timer: %s %s not fired: %s", op->case_id, t->events[i],
				      r ? r->err.msg : docket_strerror(code));
			if (k) {
				k->retry_at = uv_now(d->loop) + STALE_RETRY_MS;
				continue;
			}
		}
		if (k)
			key_del(clk, k);
	}
	free(t);
}

/* Queue the due timers not queued already.  Returns how many are due and
 * queued (new or not), and the earliest stale retry in *stale_ms. */
static size_t queue_due(docketd *d, int64_t now, uint64_t *stale_ms)
{
	docketd_clock *clk = &d->clk;
	docket_err err;
	json_t *due, *v;
	size_t i, busy = 0;
	timer_job *t;

	*stale_ms = 0;
	int rc = docket_engine_timers_due(d->eng, now, DUE_BATCH, &due, &err);
	if (rc) {
		docketd_warn("reading due timers: %s", err.msg);
		return 0;
	}
	if (!json_array_size(due) || !(t = calloc(1, sizeof *t))) {
		json_decref(due);
		return 0;
	}
	json_array_foreach(due, i, v) {
		const char *id = json_string_value(json_object_get(v, "case"));
		const char *ev = json_string_value(json_object_get(v, "event"));
		uint32_t entry = (uint32_t)json_integer_value(json_object_get(v, "entry"));
		int timer = (int)json_integer_value(json_object_get(v, "timer"));
		docketd_timer_key *k;
		if (!id)
			continue;
		if ((k = key_find(clk, id, entry, timer))) {
			if (k->retry_at && k->retry_at <= uv_now(d->loop)) {
				key_del(clk, k);        /* its second chance */
			} else {
				if (k->retry_at && (!*stale_ms || k->retry_at < *stale_ms))
					*stale_ms = k->retry_at;
				else if (!k->retry_at)
					busy++;
				continue;
			}
		}
		if (!key_add(clk, id, entry, timer))
			continue;
		docket_op *op = &t->ops[t->n];
		snprintf(t->ids[t->n], DOCKET_ID_MAX, "%s", id);
		snprintf(t->events[t->n], sizeof t->events[t->n], "%s", ev ? ev : "?");
		op->kind = DOCKET_OP_TIMER;
		op->case_id = t->ids[t->n];
		op->entry = entry;
		op->timer = timer;
		t->n++;
	}
	json_decref(due);
	if (!t->n) {
		free(t);
		return busy;
	}
	t->job.kind = DOCKETD_JOB_APPLY;
	t->job.ops = t->ops;
	t->job.nops = t->n;
	t->job.done = timers_done;
	t->job.ctx = t;
	docketd_debug("timer: %zu due", t->n);
	size_t n = t->n;
	docketd_commit_submit(d, &t->job);
	return busy + n;
}

/* The earliest timer in the store, due or not. */
static bool earliest_timer(docketd *d, int64_t *at)
{
	docket_err err;
	json_t *first;
	bool ok = false;

	int rc = docket_engine_timers_due(d->eng, INT64_MAX, 1, &first, &err);
	if (rc)
		return false;
	if (json_array_size(first))
		ok = parse_time(json_string_value(json_object_get(json_array_get(first, 0), "at")),
				at);
	json_decref(first);
	return ok;
}

static void timer_cb(uv_timer_t *h)
{
	docketd_clock_check(h->data);
}

static void arm(docketd *d, int64_t delay_ms)
{
	if (delay_ms < 0)
		delay_ms = 0;
	if (delay_ms > MAX_SLEEP_MS)
		delay_ms = MAX_SLEEP_MS;
	uv_timer_start(&d->clk.timer, timer_cb, (uint64_t)delay_ms, 0);
}

void docketd_clock_check(docketd *d)
{
	docket_err err;
	int64_t now, at;
	uint64_t stale;
	int rc;

	if (!d->clk.started || d->stopping)
		return;
	uv_timer_stop(&d->clk.timer);
	now = docket_engine_now(d->eng);
	rc = docket_engine_next_deadline(d->eng, &at, &err);
	if (rc == DOCKET_ENOENT)
		return;     /* nothing scheduled: the next commit re-checks */
	if (rc) {
		docketd_warn("reading the next deadline: %s", err.msg);
		arm(d, STALE_RETRY_MS);
		return;
	}
	if (at > now) {
		arm(d, at - now);
		return;
	}
	/* Something is due.  Queued timers re-check when their commit returns. */
	if (queue_due(d, now, &stale) > 0)
		return;
	if (stale) {
		arm(d, (int64_t)(stale - uv_now(d->loop)));
		return;
	}
	/* Only action runs are due: the runner's business, not this timer's. */
	if (earliest_timer(d, &at))
		arm(d, at - now);
}

int docketd_clock_start(docketd *d)
{
	int rc = uv_timer_init(d->loop, &d->clk.timer);

	if (rc)
		return rc;
	d->clk.timer.data = d;
	d->clk.started = true;
	docketd_clock_check(d);
	return 0;
}

void docketd_clock_stop(docketd *d)
{
	if (d->clk.started)
		uv_timer_stop(&d->clk.timer);
}

void docketd_clock_free(docketd_clock *clk)
{
	free(clk->keys);
	free(clk->file);
	clk->keys = NULL;
	clk->file = NULL;
}
