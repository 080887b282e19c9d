/*
 * docket/plugin.h - the one header a Docket stage plugin includes.
 *
 * A stage plugin is a shared object that does the automatic work of a
 * workflow stage: when a case enters a stage with an `action:`, the daemon
 * hands the case to a plugin host process, which loads the plugin and runs
 * it once.  The run ends with exactly one outcome:
 *
 *   - an event of the stage, with the field changes the plugin made;
 *   - retry later, with a reason (the stage's `retry:` policy applies);
 *   - failed, with a reason (the case waits, shown by `docket stuck`).
 *
 * A run that returns without an outcome, or emits an event the stage does
 * not declare, ends as failed.  A plugin that crashes, hangs or exits only
 * takes its host process down; the daemon kills and respawns hosts and the
 * case follows its retry policy.
 *
 * THE ABI.  A plugin exports exactly two functions (dlsym is guaranteed for
 * functions, not data):
 *
 *   const docket_plugin_info *docket_plugin_describe(void);
 *   int docket_plugin_init(docket_plugin *plugin, const docket_host_api *api);
 *
 * The host calls docket_plugin_describe first and checks the info block:
 * its size and ABI major (a mismatch there is the only thing reported, as
 * the rest of the block may not have the fields this host expects), then
 * its ABI minor, and only then calls docket_plugin_init, which registers
 * the run function with api->set_run.  DOCKET_PLUGIN() below writes the
 * describe function for you.
 *
 * VERSIONING.  ABI major changes break plugins and are refused.  Minor
 * versions only add: the host API table starts with its own size and new
 * entries are only ever appended, so a plugin built against a newer minor
 * can test for them with DOCKET_API_HAS() and run on an older host if it
 * lowers `abi_minor` in its info block to the oldest minor it supports.
 *
 * OWNERSHIP.  Every string the host hands out is owned by the host and
 * valid until the run function returns, unless an entry says otherwise; do
 * not free or modify it.  Every string a plugin passes in is copied before
 * the call returns.  Error and reason strings are formatted and owned by
 * the host, so nothing a plugin allocates has to outlive its call.  Memory
 * from api->alloc is freed by the host when the run ends.
 *
 * THREADS AND STATE.  A host runs one job at a time, on one thread; the
 * host API may only be called from that thread, during init or a run.  A
 * host process lives for many runs and may be killed between any two
 * instructions: keep durable state in files written atomically, and use
 * the run's idempotency key (api->key) to make work done twice harmless.
 *
 * BUILDING.  Compile with hidden visibility so only the two entry points
 * are exported:
 *
 *   cc -shared -fPIC -fvisibility=hidden $(pkg-config --cflags docket-plugin) \
 *      my.c -o my.so
 *
 * and install my.so as PLUGINS_DIR/NAME.so, where NAME is what workflows
 * write in `action: {plugin: NAME}`.  The file and its directory must not
 * be group- or world-writable and must be owned by root or by the user the
 * daemon runs as; the host refuses them otherwise.
 */
#ifndef DOCKET_PLUGIN_H
#define DOCKET_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The ABI this header describes. */
#define DOCKET_PLUGIN_ABI_MAJOR 1
#define DOCKET_PLUGIN_ABI_MINOR 0

/** Marks the two entry points as exported from a -fvisibility=hidden build. */
#define DOCKET_PLUGIN_EXPORT __attribute__((visibility("default")))

/** Result codes of host API calls: 0, or one of these (negative). */
#define DOCKET_PLUGIN_OK        0
#define DOCKET_PLUGIN_EINVAL  (-1)   /**< a bad argument: name, value, UTF-8 */
#define DOCKET_PLUGIN_ENOENT  (-2)   /**< no such field, key or event; not set */
#define DOCKET_PLUGIN_ESTATE  (-5)   /**< not now: outcome already given, or
				          a run call made during init */
#define DOCKET_PLUGIN_ENOMEM  (-8)
#define DOCKET_PLUGIN_ELIMIT (-11)   /**< a string over DOCKET_PLUGIN_STRING_MAX */
#define DOCKET_PLUGIN_ETYPE  (-20)   /**< the value is there but of another type */

/** Longest string value a field may hold, in bytes. */
#define DOCKET_PLUGIN_STRING_MAX 65536

/** Levels for api->log. */
enum docket_log_level {
	DOCKET_LOG_ERROR = 0,
	DOCKET_LOG_WARN = 1,
	DOCKET_LOG_INFO = 2,
	DOCKET_LOG_DEBUG = 3,
};

/** The type of a value, as api->field_type and api->with_type report it.
 * Dates and enum values are strings ("2024-05-01", "net30"). */
typedef enum docket_value_type {
	DOCKET_VALUE_MISSING = 0,   /**< no such field or path */
	DOCKET_VALUE_NULL,          /**< present but not set */
	DOCKET_VALUE_BOOL,
	DOCKET_VALUE_INTEGER,
	DOCKET_VALUE_NUMBER,        /**< a non-integral number */
	DOCKET_VALUE_STRING,
	DOCKET_VALUE_ARRAY,         /**< only in with: */
	DOCKET_VALUE_OBJECT,        /**< only in with: */
} docket_value_type;

/**
 * The info block, returned by docket_plugin_describe().  Must be static:
 * the host reads it without copying for as long as the plugin is loaded.
 *
 * `size` and `abi_major` come first and keep their place in every ABI
 * version, so any host can read them from any plugin.  Fields are only
 * ever appended; the host reads no further than `size`.
 */
typedef struct docket_plugin_info {
	uint32_t size;          /**< sizeof(docket_plugin_info) as built */
	uint32_t abi_major;     /**< DOCKET_PLUGIN_ABI_MAJOR as built */
	uint32_t abi_minor;     /**< the oldest host minor this plugin runs on */
	uint32_t flags;         /**< 0; reserved */
	const char *name;       /**< the plugin's name, as workflows write it */
	const char *version;    /**< the plugin's own version, e.g. "1.2.0" */
	const char *summary;    /**< one line for `docket plugins`; may be NULL */
} docket_plugin_info;

/** The plugin being loaded; valid only during docket_plugin_init. */
typedef struct docket_plugin docket_plugin;

/** One run of the plugin on one case; valid only during the run call. */
typedef struct docket_run docket_run;

typedef struct docket_host_api docket_host_api;

/**
 * The work of the stage.  Called once per action attempt with the run, the
 * host API table (the same one init received) and the state given to
 * set_run.  Give the outcome through api->emit, api->retry, api->fail or
 * api->outcome_json before returning.  Return 0; a non-zero return without
 * an outcome ends the run as failed with the error it reported (or "run
 * returned N").
 */
typedef int (*docket_run_fn)(docket_run *run, const docket_host_api *api, void *state);

/**
 * The host API table.  It starts with its own size and only ever grows at
 * the end: test for an entry added after ABI 1.0 with DOCKET_API_HAS(api,
 * entry) before calling it.  The table is owned by the host, constant, and
 * valid for as long as the plugin is loaded.
 *
 * Unless an entry says otherwise, the run calls return 0 or a negative
 * DOCKET_PLUGIN_E* code, never touch their out-parameters on error, and
 * may be called only during a run.
 */
struct docket_host_api {
	uint32_t size;          /**< bytes of this table as the host built it */
	uint32_t abi_major;     /**< the host's ABI */
	uint32_t abi_minor;
	uint32_t reserved;

	/* --- Loading: only during docket_plugin_init ----------------------- */

	/** Register the run function, with a state pointer passed to every
	 * run and a release function (may be NULL) the host calls once on
	 * state when the plugin is unloaded, or at once if init then fails.
	 * Calling it again replaces the registration (releasing the old
	 * state).  DOCKET_PLUGIN_ESTATE outside init. */
	int (*set_run)(docket_plugin *plugin, docket_run_fn run, void *state,
		       void (*release)(void *state));

	/** Say why init is about to fail; the host copies the text and shows
	 * it in the refusal.  The last call wins. */
	void (*init_error)(docket_plugin *plugin, const char *fmt, ...)
		__attribute__((format(printf, 2, 3)));

	/** Log during init (see log below). */
	void (*init_log)(docket_plugin *plugin, int level, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));

	/* --- The run: what it is for ---------------------------------------- */

	/** The case id ("SO-12"), workflow name, and stage name. */
	const char *(*case_id)(docket_run *run);
	const char *(*workflow)(docket_run *run);
	const char *(*stage)(docket_run *run);

	/** The idempotency key: the same on every attempt of the same stage
	 * entry, different for every other entry (even into the same stage).
	 * Pass it to outside systems so an attempt repeated after a crash or
	 * a timeout does not do the work twice. */
	const char *(*key)(docket_run *run);

	/** 0 for the first attempt, 1 for the first retry, ... */
	uint32_t (*attempt)(docket_run *run);

	/** The daemon's clock when it started the run, in milliseconds since
	 * the epoch (UTC).  Use it instead of time(): tests set it. */
	int64_t (*now_ms)(docket_run *run);

	/** The Docket home directory, where plugins keep their files (each
	 * under a directory of its own), or NULL when the host has none. */
	const char *(*home)(docket_run *run);

	/** The events the stage declares, in the order of the workflow file:
	 * event_count() of them, event_name(i) each (NULL past the end).
	 * event_allowed returns 1 when emit(event) would be accepted.  When
	 * the run is outside any workflow (`docket plugin-run` without
	 * --events) the count is 0 and every event is allowed. */
	size_t (*event_count)(docket_run *run);
	const char *(*event_name)(docket_run *run, size_t i);
	int (*event_allowed)(docket_run *run, const char *event);

	/* --- The case's fields (typed getters) ------------------------------ */

	/** The type of field `name`; DOCKET_VALUE_MISSING when the case has
	 * no value for it (not sent, or not declared). */
	docket_value_type (*field_type)(docket_run *run, const char *name);

	/** Read field `name`.  DOCKET_PLUGIN_ENOENT when missing or null,
	 * DOCKET_PLUGIN_ETYPE when of another type.  field_number accepts
	 * integers too; field_int accepts a number only when it is integral.
	 * A string stays valid until the run returns, even if the field is
	 * set again. */
	int (*field_string)(docket_run *run, const char *name, const char **value);
	int (*field_int)(docket_run *run, const char *name, int64_t *value);
	int (*field_number)(docket_run *run, const char *name, double *value);
	int (*field_bool)(docket_run *run, const char *name, int *value);

	/* --- The stage's `with:` configuration ------------------------------ */

	/** The same getters over the stage's `with:` block, addressed by a
	 * path of object keys and array indexes joined by dots:
	 * "currency", "tiers.0.min_quantity", "lead_times.rush".  The empty
	 * path "" is the block itself. */
	docket_value_type (*with_type)(docket_run *run, const char *path);
	int (*with_string)(docket_run *run, const char *path, const char **value);
	int (*with_int)(docket_run *run, const char *path, int64_t *value);
	int (*with_number)(docket_run *run, const char *path, double *value);
	int (*with_bool)(docket_run *run, const char *path, int *value);

	/** A duration the way workflows write them ("30s 15m 4h 2d 1w") in
	 * seconds; DOCKET_PLUGIN_EINVAL when the string is not one. */
	int (*with_duration)(docket_run *run, const char *path, int64_t *seconds);

	/** Elements of the array or members of the object at path; 0 for any
	 * other value or a missing path. */
	size_t (*with_count)(docket_run *run, const char *path);

	/** The i-th key of the object at path (in file order), or NULL. */
	const char *(*with_key)(docket_run *run, const char *path, size_t i);

	/* --- Field changes --------------------------------------------------- */

	/** Set a field of the case.  The changes are committed with the
	 * event the run emits, through the workflow's ordinary checks (type,
	 * min/max, enum values): a change the workflow refuses refuses the
	 * event, and the case shows as stuck with that reason.  Changes are
	 * dropped when the outcome is retry or failed.  Later getters see
	 * the new value.  DOCKET_PLUGIN_EINVAL for a bad name, invalid UTF-8
	 * or a non-finite number; DOCKET_PLUGIN_ELIMIT for an overlong
	 * string; DOCKET_PLUGIN_ESTATE after the outcome is given. */
	int (*set_string)(docket_run *run, const char *name, const char *value);
	int (*set_int)(docket_run *run, const char *name, int64_t value);
	int (*set_number)(docket_run *run, const char *name, double value);
	int (*set_bool)(docket_run *run, const char *name, int value);
	int (*set_null)(docket_run *run, const char *name);

	/* --- The outcome: exactly one per run ------------------------------- */

	/** End the run with `event`.  An event the stage does not declare
	 * returns DOCKET_PLUGIN_EINVAL and ends the run as failed, saying so;
	 * check event_allowed first to choose between events.  A second
	 * outcome returns DOCKET_PLUGIN_ESTATE and changes nothing. */
	int (*emit)(docket_run *run, const char *event);

	/** End the run as "try again later" (an outside system is down, a
	 * lock is held).  The stage's retry policy decides when; after the
	 * last attempt the case is marked failed with this reason. */
	int (*retry)(docket_run *run, const char *fmt, ...)
		__attribute__((format(printf, 2, 3)));

	/** End the run as failed: retrying cannot help (bad data, refused by
	 * the outside system).  The case waits in the stage, shown by
	 * `docket stuck` with this reason, until someone runs `docket retry`
	 * or fires another event. */
	int (*fail)(docket_run *run, const char *fmt, ...)
		__attribute__((format(printf, 2, 3)));

	/** Give the outcome as JSON text, the way outside programs answer
	 * (the exec and http plugins): {"event": E, "fields": {...}},
	 * {"retry": REASON} or {"failed": REASON}.  DOCKET_PLUGIN_EINVAL
	 * (and nothing changes) when the text is not one of these. */
	int (*outcome_json)(docket_run *run, const char *json, size_t len);

	/* --- Help ------------------------------------------------------------ */

	/** Log a line for the daemon's log, tagged with the plugin and case. */
	void (*log)(docket_run *run, int level, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));

	/** The run as one JSON document, the way outside programs receive it:
	 * {"case","workflow","stage","key","attempt","now","events":[...],
	 * "with":{...},"fields":{...}} with the fields as they are now
	 * (including changes).  Valid until the next call or the end of the
	 * run; NULL when out of memory. */
	const char *(*run_json)(docket_run *run);

	/** size bytes that live until the run ends (freed by the host), or
	 * NULL.  Zeroed. */
	void *(*alloc)(docket_run *run, size_t size);

	/** A formatted string that lives until the run ends, or NULL. */
	char *(*format)(docket_run *run, const char *fmt, ...)
		__attribute__((format(printf, 2, 3)));

	/* New entries go here, at the end, and nowhere else. */
};

/** Whether the host's table has `entry` (added in a later minor). */
#define DOCKET_API_HAS(api, entry) \
	(offsetof(docket_host_api, entry) + sizeof((api)->entry) <= (api)->size)

/** The entry points, as a plugin defines them. */
DOCKET_PLUGIN_EXPORT const docket_plugin_info *docket_plugin_describe(void);
DOCKET_PLUGIN_EXPORT int docket_plugin_init(docket_plugin *plugin, const docket_host_api *api);

/** The symbol names the host looks up. */
#define DOCKET_PLUGIN_DESCRIBE_SYMBOL "docket_plugin_describe"
#define DOCKET_PLUGIN_INIT_SYMBOL "docket_plugin_init"

/**
 * Write docket_plugin_describe() with a static info block for this ABI:
 *
 *   DOCKET_PLUGIN("stock", "1.0.0", "checks and reserves stock");
 */
#define DOCKET_PLUGIN(name_, version_, summary_)                              \
	DOCKET_PLUGIN_EXPORT const docket_plugin_info *docket_plugin_describe(void) \
	{                                                                     \
		static const docket_plugin_info info = {                      \
			sizeof(docket_plugin_info), DOCKET_PLUGIN_ABI_MAJOR,   \
			DOCKET_PLUGIN_ABI_MINOR, 0, name_, version_, summary_, \
		};                                                            \
		return &info;                                                 \
	}

#ifdef __cplusplus
}
#endif

#endif
