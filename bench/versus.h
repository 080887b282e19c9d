/*
 * versus.h - what the side-by-side benchmark (bench/run.sh) shares between
 * its peers: the sales-order route every case takes, the workflow's
 * transition table for the peers that do not read YAML, a client harness
 * that times every request, and the figures read from /proc.
 *
 * Each peer program prints one line per run that run.sh turns into the
 * table:  result peer=P n=N transitions=T seconds=S tps=X p50_us=A
 *         p99_us=B bytes_per_tr=C rss_kb=D batch=E
 */
#ifndef DOCKET_BENCH_VERSUS_H
#define DOCKET_BENCH_VERSUS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One step of the route: fire event, with these fields (a JSON object). */
typedef struct versus_step {
	const char *event;
	const char *fields;
} versus_step;

/* The fields a case is created with (a JSON object), and the route from
 * `received` to `closed`: VERSUS_STEPS advances, so a case is 1 + that
 * many transitions. */
extern const char versus_new_fields[];
extern const versus_step versus_route[];
#define VERSUS_STEPS 10
#define VERSUS_PER_CASE (1 + VERSUS_STEPS)

/* The workflow's transitions, as the SQL and raw LMDB peers check them:
 * in stage `from`, `event` goes to `to` when the case's field guard_field
 * equals guard_value (NULL: always; the first row that holds wins).
 * sla_s is the SLA of `to` in seconds (0: none, a terminal stage). */
typedef struct versus_transition {
	const char *from, *event, *to, *guard_field, *guard_value;
	int sla_s;
} versus_transition;

extern const versus_transition versus_transitions[];
extern const size_t versus_ntransitions;
extern const char *const versus_stages[];  /* NULL-terminated; [0] is the start */

/* The transition for (stage, event) given the case's fields as a lookup,
 * or NULL when the event is not allowed there. */
const versus_transition *versus_find(const char *stage, const char *event,
				     const char *(*field)(void *ctx, const char *name),
				     void *ctx);
int versus_stage_index(const char *stage);  /* -1 when unknown */

/* A peer as the harness drives it.  open() makes one client's state (or
 * NULL on failure); create() makes a case and writes its id (0 or -1 after
 * printing why); advance() fires one step and returns -1 after printing
 * why, or how many of the route's next steps the server took on its own
 * before advance() returned: 0 for a peer without plugins, 1 when a
 * plugin moved the case on (docket-noop).  The harness counts those as
 * transitions, in the same timed step, and goes on after them. */
typedef struct versus_peer {
	void *(*open)(int client, void *arg);
	int (*create)(void *st, char *id, size_t size);
	int (*advance)(void *st, const char *id, const versus_step *step);
	void (*close)(void *st);
} versus_peer;

typedef struct versus_result {
	long transitions;
	double seconds;
	double p50_us, p99_us;
	int failed;
} versus_result;

/* clients threads, each opening its own client, creating cases and driving
 * them along the route back to back for the given seconds.  Every request
 * is timed from send to reply.  Returns 0, or -1 when a client failed. */
int versus_run(const versus_peer *peer, void *arg, int clients, double seconds,
	       versus_result *r);

/* Latency samples in nanoseconds, growing as they come. */
typedef struct versus_samples {
	int64_t *ns;
	size_t n, cap;
} versus_samples;

/* Append one sample: 0, or -1 when out of memory. */
int versus_sample(versus_samples *s, int64_t ns);

/* The p-th percentile (0-100) of n samples, sorted in place. */
double versus_percentile(int64_t *ns, size_t n, double p);

int64_t versus_now_ns(void);
/* write_bytes of /proc/PID/io (0 for self), or -1. */
long long versus_write_bytes(pid_t pid);
/* VmHWM of /proc/PID/status in KiB (0 for self), or -1. */
long long versus_hwm_kb(pid_t pid);

/* The line run.sh reads. */
void versus_print(const char *peer, int n, const versus_result *r, double bytes_per_tr,
		  long long rss_kb, double batch);

#endif
