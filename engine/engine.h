/*
 * engine.h - the durable case engine: cases kept in LMDB and moved by the
 * rules of their workflow.
 *
 * Everything a user can do to a case is one of the operations below, and
 * every operation goes through docket_engine_apply: a batch of operations
 * in one LMDB write transaction (one fsync), each operation in its own
 * nested transaction so a refused one leaves nothing behind while the
 * others commit.  Reads return jansson documents with the stable keys of
 * the product contract and never take the write lock.
 *
 * Threading: one thread may run docket_engine_apply (or install) while one
 * other thread runs the reads (case, history, list, stuck, stats,
 * workflows, next_deadline, timers_due, outbox_due, check); reads never
 * wait for a batch's fsync.  Two applies, two reading threads, or install
 * beside apply are not allowed: the caller serializes those.  Backup may
 * run in a third thread.  After fork() the child must open its own engine;
 * the inherited one refuses every call.
 *
 * Ownership: strings and JSON given to the engine are borrowed for the
 * length of the call.  JSON documents returned through `json_t **out` are
 * new references owned by the caller (json_decref).  Workflows passed to
 * docket_engine_install become the engine's.
 */
#ifndef DOCKET_ENGINE_H
#define DOCKET_ENGINE_H

/* Reads may run beside an apply in another thread (see above). */
#define DOCKET_ENGINE_CONCURRENT_READS 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "field.h"
#include "workflow.h"

/* Limits (docs/design.md explains each). */
#define DOCKET_NOTE_MAX 65536           /* bytes in a note or a failure reason */
#define DOCKET_ID_MAX 96                /* "PREFIX-N" plus NUL */
#define DOCKET_BATCH_MAX 10000          /* operations in one batch */
#define DOCKET_LIST_MAX 1000            /* cases in one page of a list */
#define DOCKET_ACTOR_SYSTEM "system"    /* the actor of timers and plugins */

typedef struct docket_engine docket_engine;

/* Who acts or reads.  Roles are names; each workflow maps them to its own
 * role bits, and names it does not declare are ignored.  `admin` (the
 * daemon's own user) may do everything and sees every field. */
typedef struct docket_actor {
	const char *name;
	const char *const *roles;
	size_t nroles;
	bool admin;
} docket_actor;

typedef struct docket_engine_opts {
	/* The clock, in milliseconds since the epoch.  NULL: CLOCK_REALTIME.
	 * Tests inject a fake one; nothing in the engine sleeps. */
	int64_t (*now_ms)(void *ctx);
	void *clock_ctx;
	size_t map_size;        /* initial LMDB map, bytes; 0: 64 MiB.  Grows. */
	unsigned max_readers;   /* 0: 126 */
	/* Hold an exclusive lock on HOME/engine.lock for the engine's life, so
	 * a second daemon on the same home gets DOCKET_EBUSY. */
	bool exclusive;
	/* Open the store with MDB_NOSYNC.  Gives up durability of the last
	 * transactions on power loss or kill -9: ONLY for tests where
	 * durability is not what is tested. */
	bool nosync_for_tests;
	/* While writes go on, take a checkpoint (flush the store file in the
	 * background, so the log before it is done with) this often; 0: 1 s.
	 * And the write-ahead log's size: two halves of log_half bytes (0:
	 * 32 MiB); a half is reused once a checkpoint covers it. */
	int checkpoint_ms;
	size_t log_half;
	/* A timer still unfired this long after it was due counts as stuck.
	 * 0: 60 s. */
	int64_t timer_grace_ms;
} docket_engine_opts;

/* Open (creating if needed) the store in directory `home` (HOME/store.mdb
 * and its lock file).  Clears stale reader slots, checks the schema
 * version.  opts may be NULL.  On failure *out is NULL and err says why:
 * DOCKET_EIO (the home), DOCKET_EBUSY (exclusive and already held),
 * DOCKET_ECORRUPT (a schema this build does not know), DOCKET_ESTORE. */
int docket_engine_open(const char *home, const docket_engine_opts *opts,
		       docket_engine **out, docket_err *err);

/* Close the store and free every workflow the engine holds.  NULL is fine.
 * In a forked child it only frees memory: the parent's LMDB state is left
 * untouched. */
void docket_engine_close(docket_engine *eng);

/* The engine's clock (the injected one). */
int64_t docket_engine_now(const docket_engine *eng);

/* How many commits opening the store replayed from its write-ahead log:
 * non-zero after a crash or an unclean stop. */
size_t docket_engine_replayed(const docket_engine *eng);

/* Housekeeping the daemon runs now and then: clears reader slots left by
 * dead processes.  *dead (may be NULL) gets how many were cleared. */
int docket_engine_maintain(docket_engine *eng, int *dead, docket_err *err);

/* --- Workflows ---------------------------------------------------------- */

typedef struct docket_install_info {
	bool new_definition;    /* these exact bytes were not stored before */
	bool became_current;    /* new cases of this workflow now use it */
	int64_t previous_version;  /* version that was current, -1 if none */
} docket_install_info;

/* Store wf by content hash and make it the definition new cases of its
 * workflow use.  Running cases keep the definition they began under; a
 * definition once stored is never changed or removed.  Takes ownership of
 * wf whatever the result.  info may be NULL. */
int docket_engine_install(docket_engine *eng, docket_workflow *wf,
			  docket_install_info *info, docket_err *err);

/* The definition new cases of `name` use, or NULL.  Owned by the engine,
 * valid until it is closed. */
const docket_workflow *docket_engine_workflow(docket_engine *eng, const char *name);

/* Every workflow with its current definition: [{"name","version","title",
 * "sha256","prefix","stages":[names],"definitions" (how many stored),
 * "installed_at"}]. */
int docket_engine_workflows(docket_engine *eng, json_t **out, docket_err *err);

/* --- Operations --------------------------------------------------------- */

typedef enum docket_op_kind {
	DOCKET_OP_CREATE,         /* workflow, fields, note */
	DOCKET_OP_FIRE,           /* case_id, event, fields, note */
	DOCKET_OP_NOTE,           /* case_id, note */
	DOCKET_OP_ASSIGN,         /* case_id, user (NULL or "": unassign) */
	DOCKET_OP_RETRY,          /* case_id: re-queue a failed action, re-arm
	                           * refused timers */
	/* From the daemon, actor `system`, for the stage entry `entry`: */
	DOCKET_OP_TIMER,          /* case_id, entry, timer */
	DOCKET_OP_ACTION_EVENT,   /* case_id, entry, event, fields */
	DOCKET_OP_ACTION_DONE,    /* case_id, entry: ran, no event */
	DOCKET_OP_ACTION_RETRY,   /* case_id, entry, reason: try again later */
	DOCKET_OP_ACTION_FAIL,    /* case_id, entry, reason: give up now */
} docket_op_kind;

/* One operation.  Unused members are ignored.  `fields` is a JSON object
 * {field: value}: a typed value is checked against the field's type, a
 * string given for a non-string field is parsed as a person would type it
 * ("5", "2024-05-01", "true"), null unsets the field; unknown fields are
 * refused. */
typedef struct docket_op {
	docket_op_kind kind;
	const docket_actor *actor;  /* ignored by the system operations */
	const char *workflow;
	const char *case_id;
	const char *event;
	const json_t *fields;       /* may be NULL */
	const char *note;           /* may be NULL */
	const char *user;
	const char *reason;
	uint32_t entry;
	int timer;
} docket_op;

/* What one operation did. */
typedef struct docket_result {
	int code;                   /* 0, or the refusal (err says which rule) */
	docket_err err;
	char id[DOCKET_ID_MAX];     /* the case; the new id for CREATE */
	uint32_t seq;               /* history entry written, 0 if none */
	uint32_t entry;             /* stage entry the case is in afterwards */
	char stage[DOCKET_NAME_MAX + 1];  /* stage it is in afterwards */
	/* A system operation (timer, plugin event) refused by the workflow's
	 * rules: the refusal was recorded instead (a failed attempt, a parked
	 * timer) so the case shows up as stuck.  code still says why. */
	bool recorded_failure;
} docket_result;

/* Apply n operations (at most DOCKET_BATCH_MAX) in one write transaction:
 * each in a nested transaction, one commit and one fsync for all.  When
 * the map is full it grows (doubling) and the whole batch runs again.
 * Returns 0 when the batch committed: each results[i] then says what op i
 * did (refused ones changed nothing).  Returns a negative code when the
 * batch as a whole failed (disk full, LMDB error): nothing at all was
 * written and every results[i].code carries that code. */
int docket_engine_apply(docket_engine *eng, const docket_op *ops, size_t n,
			docket_result *results);

/* --- Reads (read-only transactions; visible_to fields left out) --------- */

/* One case: {"id","workflow","version","definition","stage","stage_title",
 * "owner","state":"open"|"closed","fields":{},"created_at","updated_at",
 * "stage_since","in_stage_s","entry","seq","assignee","late","due",
 * "action": null or {"plugin","state":"pending"|"failed"|"done",...}}.
 * DOCKET_ENOENT when there is no such case. */
int docket_engine_case(docket_engine *eng, const docket_actor *who,
		       const char *id, json_t **out, docket_err *err);

/* The history of a case, oldest first: [{"seq","at","actor","kind",
 * "event","from","to","fields","note","assignee","reason"}]. */
int docket_engine_history(docket_engine *eng, const docket_actor *who,
			  const char *id, json_t **out, docket_err *err);

typedef struct docket_list_query {
	const char *workflow;   /* NULL: every workflow */
	const char *stage;      /* NULL: every stage (needs workflow) */
	const char *assignee;   /* NULL: assigned or not */
	bool open_only;         /* leave out cases in terminal stages */
	size_t limit;           /* 0: 50; at most DOCKET_LIST_MAX */
	const char *cursor;     /* "next" of the previous page, or NULL */
} docket_list_query;

/* A page of cases: {"cases":[case...], "next": cursor or null}.  The
 * cursor is stable: a case created or moved after it was handed out never
 * makes the following page repeat or skip a case that stayed put. */
int docket_engine_list(docket_engine *eng, const docket_actor *who,
		       const docket_list_query *q, json_t **out, docket_err *err);

/* Stuck cases, most overdue first: {"count":N, "stuck":[{"case","workflow",
 * "stage","owner","assignee","reason":"late"|"action-failed"|
 * "timer-overdue"|"timer-refused","detail","since","late_by_s"}]}: one row
 * per case and reason; count is all of them, the array the first `limit`.
 * workflow may be NULL; limit 0 means 100. */
int docket_engine_stuck(docket_engine *eng, const docket_actor *who,
			const char *workflow, size_t limit, json_t **out, docket_err *err);

/* Per workflow (all when NULL): {"workflows":[{"name","version","total",
 * "open","late","stages":[{"stage","terminal","count","late","median_s",
 * "p90_s"}],"terminal":{stage:count}}]}.  Time in stage is how long the
 * cases now in the stage have been there. */
int docket_engine_stats(docket_engine *eng, const docket_actor *who,
			const char *workflow, json_t **out, docket_err *err);

/* --- Deadlines and the outbox (for the daemon's loop) ------------------- */

/* When the daemon next has something to do: the earliest timer or action
 * run.  DOCKET_ENOENT when there is nothing scheduled. */
int docket_engine_next_deadline(docket_engine *eng, int64_t *at_ms, docket_err *err);

/* Timers due at `now`, earliest first, at most max (0: 100):
 * [{"case","entry","timer","event","at"}].  Apply each as a
 * DOCKET_OP_TIMER. */
int docket_engine_timers_due(docket_engine *eng, int64_t now, size_t max,
			     json_t **out, docket_err *err);

/* Action runs due at `now`, earliest first, at most max (0: 100):
 * [{"case","entry","attempt","key","workflow","stage","plugin","with",
 * "timeout_ms","fields","at_ms"}] (at_ms: when the run became due, ms
 * since the epoch; with now = INT64_MAX the runs not yet due come last,
 * so the daemon learns when to look again).  `key` (case id and stage entry) is the same on
 * every attempt: the idempotency key.  Reading does not claim: the daemon
 * must not start a run it already has in flight.  Answer each with an
 * ACTION_EVENT, ACTION_DONE, ACTION_RETRY or ACTION_FAIL operation. */
int docket_engine_outbox_due(docket_engine *eng, int64_t now, size_t max,
			     json_t **out, docket_err *err);

/* --- Integrity and backup ----------------------------------------------- */

/* Verify every invariant of the store (docs/design.md lists them).
 * Returns 0 when clean, DOCKET_ECORRUPT when not; *problems (may be NULL)
 * gets an array of one-line descriptions either way. */
int docket_engine_check(docket_engine *eng, json_t **problems, docket_err *err);

/* A consistent, compacted copy of the store made while running
 * (mdb_env_copy2 semantics), written as a new home: DIR/store.mdb.  DIR is
 * created if missing and must not already hold a store.  The copy is
 * fsynced and renamed into place, so DIR never holds half a store. */
int docket_engine_backup(docket_engine *eng, const char *dir, docket_err *err);

#endif
