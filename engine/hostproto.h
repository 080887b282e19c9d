/*
 * hostproto.h - the messages between the daemon and its plugin hosts.
 *
 * The daemon talks to each docket-plugin-host process over a pair of
 * pipes, one frame.h frame (a JSON object) per message:
 *
 *   daemon -> host   {"type":"run", "id", "plugin", "case", "workflow",
 *                     "stage", "key", "attempt", "now", "timeout_ms",
 *                     "with", "fields", "events"}
 *                    {"type":"list"}
 *   host -> daemon   {"type":"outcome", "id", "outcome":"event", "event",
 *                     "fields"}  or  "outcome":"retry"|"failed", "reason"
 *                     (and "load_error": true when the plugin could not
 *                     be loaded at all)
 *                    {"type":"log", "id", "level", "plugin", "message"}
 *                    {"type":"plugins", "plugins":[...]}
 *
 * Decoding is a pure function of one parsed frame: it checks every key the
 * other side relies on (types, name syntax, sizes) and points into the
 * message without copying, so the decoded struct lives exactly as long as
 * the json_t it came from.  Whatever a crashed or hostile host writes, the
 * daemon gets a decoded message or DOCKET_EPROTO, never a half-checked one.
 */
#ifndef DOCKET_HOSTPROTO_H
#define DOCKET_HOSTPROTO_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct json_t;

/* Limits of the host protocol. */
#define DOCKET_HOST_NAME_MAX 64        /* plugin, workflow, stage, event names */
#define DOCKET_HOST_ID_MAX 128         /* case ids and idempotency keys */
#define DOCKET_HOST_REASON_MAX 65536   /* bytes in a reason or log message */
#define DOCKET_HOST_FRAME_MAX (4u << 20)  /* a job carries a whole case */

typedef enum docket_hmsg_type {
	DOCKET_HMSG_RUN,
	DOCKET_HMSG_LIST,
	DOCKET_HMSG_OUTCOME,
	DOCKET_HMSG_LOG,
	DOCKET_HMSG_PLUGINS,
} docket_hmsg_type;

typedef enum docket_outcome_kind {
	DOCKET_OUTCOME_EVENT,
	DOCKET_OUTCOME_RETRY,
	DOCKET_OUTCOME_FAILED,
} docket_outcome_kind;

/* One run of a plugin on a case.  Strings and JSON are borrowed. */
typedef struct docket_host_job {
	int64_t id;                     /* the daemon's, echoed in the outcome */
	const char *plugin;
	const char *case_id;
	const char *workflow;
	const char *stage;
	const char *key;                /* the idempotency key */
	uint32_t attempt;
	int64_t now_ms;
	int64_t timeout_ms;             /* 0: none */
	const struct json_t *with;      /* object */
	const struct json_t *fields;    /* object of scalars */
	const struct json_t *events;    /* array of names, or NULL: any event */
} docket_host_job;

typedef struct docket_host_outcome {
	int64_t id;
	docket_outcome_kind kind;
	const char *event;              /* EVENT */
	const struct json_t *fields;    /* EVENT: object of scalars, may be empty */
	const char *reason;             /* RETRY, FAILED */
	bool load_error;                /* FAILED before the plugin ever ran */
} docket_host_outcome;

typedef struct docket_host_log {
	int64_t id;                     /* the job's, -1 outside any job */
	int level;                      /* DOCKET_LOG_* of plugin.h, 0..3 */
	const char *plugin;             /* may be NULL */
	const char *message;
} docket_host_log;

typedef struct docket_host_msg {
	docket_hmsg_type type;
	union {
		docket_host_job job;
		docket_host_outcome outcome;
		docket_host_log log;
		const struct json_t *plugins;   /* PLUGINS: array of objects */
	};
} docket_host_msg;

/* Decode one frame.  Returns 0 and fills *m (pointing into msg), or
 * DOCKET_EPROTO with err saying which key is wrong. */
int docket_hostproto_decode(const struct json_t *msg, docket_host_msg *m, docket_err *err);

/* Encode.  Each returns a new JSON object (json_decref it), or NULL when
 * out of memory.  The input is assumed valid (what decode accepts). */
struct json_t *docket_hostproto_job(const docket_host_job *job);
struct json_t *docket_hostproto_outcome(const docket_host_outcome *o);
struct json_t *docket_hostproto_log(const docket_host_log *l);

/* Whether s is a plugin name: 1..64 of [a-z0-9_-], starting with a letter
 * or digit.  Plugin names become file names, so nothing else passes. */
bool docket_hostproto_plugin_name_ok(const char *s);

/* Whether event is in the job's events (always true when events is NULL). */
bool docket_hostproto_event_allowed(const docket_host_job *job, const char *event);

/* "event", "retry" or "failed". */
const char *docket_outcome_name(docket_outcome_kind k);

#endif
