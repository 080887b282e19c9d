/*
 * hostproto.c - checking and building plugin host messages.  Pure: no I/O,
 * no allocation while decoding, so the fuzzer can throw anything at it.
 */
#include "hostproto.h"

#include <jansson.h>
#include <string.h>

#include "field.h"

bool docket_hostproto_plugin_name_ok(const char *s)
{
	size_t n = 0;

	if (!s || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (; s[n]; n++) {
		char c = s[n];
		if (n >= DOCKET_HOST_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

const char *docket_outcome_name(docket_outcome_kind k)
{
	switch (k) {
	case DOCKET_OUTCOME_EVENT: return "event";
	case DOCKET_OUTCOME_RETRY: return "retry";
	case DOCKET_OUTCOME_FAILED: return "failed";
	}
	return "?";
}

bool docket_hostproto_event_allowed(const docket_host_job *job, const char *event)
{
	size_t i;
	json_t *v;

	if (!job->events)
		return true;
	json_array_foreach(job->events, i, v)
		if (!strcmp(json_string_value(v), event))
			return true;
	return false;
}

/* A string member of at most max bytes (jansson already refused invalid
 * UTF-8 and NUL bytes when it parsed the frame). */
static int str(const json_t *msg, const char *key, size_t max, bool required,
	       const char **out, docket_err *err)
{
	json_t *v = json_object_get(msg, key);

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return docket_err_set(err, DOCKET_EPROTO, "'%s' is missing", key);
		return 0;
	}
	if (!json_is_string(v))
		return docket_err_set(err, DOCKET_EPROTO, "'%s' must be a string", key);
	if (json_string_length(v) == 0 || json_string_length(v) > max)
		return docket_err_set(err, DOCKET_EPROTO, "'%s' must be 1 to %zu bytes", key, max);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return docket_err_set(err, DOCKET_EPROTO, "'%s' holds a NUL byte", key);
	*out = json_string_value(v);
	return 0;
}

static int integer(const json_t *msg, const char *key, int64_t lo, int64_t hi, bool required,
		   int64_t *out, docket_err *err)
{
	json_t *v = json_object_get(msg, key);

	*out = 0;
	if (!v) {
		if (required)
			return docket_err_set(err, DOCKET_EPROTO, "'%s' is missing", key);
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return docket_err_set(err, DOCKET_EPROTO, "'%s' must be an integer from %lld to %lld",
				      key, (long long)lo, (long long)hi);
	*out = json_integer_value(v);
	return 0;
}

/* Case fields are scalars: what a workflow field can hold. */
static int scalars(const json_t *obj, const char *what, docket_err *err)
{
	const char *k;
	json_t *v;

	if (!json_is_object(obj))
		return docket_err_set(err, DOCKET_EPROTO, "'%s' must be an object", what);
	json_object_foreach((json_t *)obj, k, v) {
		if (!*k || strlen(k) > DOCKET_HOST_NAME_MAX)
			return docket_err_set(err, DOCKET_EPROTO, "'%s' has a field name of %zu bytes",
					      what, strlen(k));
		if (json_is_object(v) || json_is_array(v))
			return docket_err_set(err, DOCKET_EPROTO, "field '%.64s' of '%s' is not a scalar",
					      k, what);
		if (json_is_string(v) && (json_string_length(v) > DOCKET_STRING_MAX ||
					  strlen(json_string_value(v)) != json_string_length(v)))
			return docket_err_set(err, DOCKET_EPROTO, "field '%.64s' of '%s' is over %d bytes or holds NUL",
					      k, what, DOCKET_STRING_MAX);
	}
	return 0;
}

static int events(const json_t *v, const json_t **out, docket_err *err)
{
	size_t i;
	json_t *e;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return docket_err_set(err, DOCKET_EPROTO, "'events' must be an array");
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || json_string_length(e) == 0 ||
		    json_string_length(e) > DOCKET_HOST_NAME_MAX ||
		    strlen(json_string_value(e)) != json_string_length(e))
			return docket_err_set(err, DOCKET_EPROTO, "event %zu must be a name of 1 to %d bytes",
					      i, DOCKET_HOST_NAME_MAX);
	}
	*out = v;
	return 0;
}

static int decode_run(const json_t *msg, docket_host_job *j, docket_err *err)
{
	int64_t attempt;
	int rc;

	memset(j, 0, sizeof *j);
	if ((rc = integer(msg, "id", 0, INT64_MAX, true, &j->id, err)) ||
	    (rc = str(msg, "plugin", DOCKET_HOST_NAME_MAX, true, &j->plugin, err)) ||
	    (rc = str(msg, "case", DOCKET_HOST_ID_MAX, true, &j->case_id, err)) ||
	    (rc = str(msg, "workflow", DOCKET_HOST_NAME_MAX, false, &j->workflow, err)) ||
	    (rc = str(msg, "stage", DOCKET_HOST_NAME_MAX, false, &j->stage, err)) ||
	    (rc = str(msg, "key", DOCKET_HOST_ID_MAX, true, &j->key, err)) ||
	    (rc = integer(msg, "attempt", 0, UINT32_MAX, false, &attempt, err)) ||
	    (rc = integer(msg, "now", 0, INT64_MAX, false, &j->now_ms, err)) ||
	    (rc = integer(msg, "timeout_ms", 0, INT64_MAX, false, &j->timeout_ms, err)) ||
	    (rc = events(json_object_get(msg, "events"), &j->events, err)))
		return rc;
	if (!docket_hostproto_plugin_name_ok(j->plugin))
		return docket_err_set(err, DOCKET_EPROTO,
				      "'plugin' must be a name of [a-z0-9_-], starting with a letter or digit");
	j->attempt = (uint32_t)attempt;
	j->with = json_object_get(msg, "with");
	if (!j->with || json_is_null(j->with))
		j->with = NULL;
	else if (!json_is_object(j->with))
		return docket_err_set(err, DOCKET_EPROTO, "'with' must be an object");
	j->fields = json_object_get(msg, "fields");
	if (!j->fields)
		return docket_err_set(err, DOCKET_EPROTO, "'fields' is missing");
	return scalars(j->fields, "fields", err);
}

static int decode_outcome(const json_t *msg, docket_host_outcome *o, docket_err *err)
{
	const char *kind;
	json_t *le;
	int rc;

	memset(o, 0, sizeof *o);
	if ((rc = integer(msg, "id", 0, INT64_MAX, true, &o->id, err)) ||
	    (rc = str(msg, "outcome", 16, true, &kind, err)))
		return rc;
	le = json_object_get(msg, "load_error");
	if (le && !json_is_boolean(le))
		return docket_err_set(err, DOCKET_EPROTO, "'load_error' must be true or false");
	o->load_error = json_is_true(le);
	if (!strcmp(kind, "event")) {
		o->kind = DOCKET_OUTCOME_EVENT;
		if ((rc = str(msg, "event", DOCKET_HOST_NAME_MAX, true, &o->event, err)))
			return rc;
		o->fields = json_object_get(msg, "fields");
		if (!o->fields)
			return docket_err_set(err, DOCKET_EPROTO, "'fields' is missing");
		return scalars(o->fields, "fields", err);
	}
	if (!strcmp(kind, "retry"))
		o->kind = DOCKET_OUTCOME_RETRY;
	else if (!strcmp(kind, "failed"))
		o->kind = DOCKET_OUTCOME_FAILED;
	else
		return docket_err_set(err, DOCKET_EPROTO, "'outcome' must be event, retry or failed");
	return str(msg, "reason", DOCKET_HOST_REASON_MAX, true, &o->reason, err);
}

static int decode_log(const json_t *msg, docket_host_log *l, docket_err *err)
{
	int64_t level;
	int rc;

	memset(l, 0, sizeof *l);
	if ((rc = integer(msg, "id", -1, INT64_MAX, false, &l->id, err)) ||
	    (rc = integer(msg, "level", 0, 3, true, &level, err)) ||
	    (rc = str(msg, "plugin", DOCKET_HOST_NAME_MAX, false, &l->plugin, err)) ||
	    (rc = str(msg, "message", DOCKET_HOST_REASON_MAX, true, &l->message, err)))
		return rc;
	if (!json_object_get(msg, "id"))
		l->id = -1;
	l->level = (int)level;
	return 0;
}

int docket_hostproto_decode(const json_t *msg, docket_host_msg *m, docket_err *err)
{
	const char *type;
	int rc;

	memset(m, 0, sizeof *m);
	if (!json_is_object(msg))
		return docket_err_set(err, DOCKET_EPROTO, "a host message must be an object");
	if ((rc = str(msg, "type", 16, true, &type, err)))
		return rc;
	if (!strcmp(type, "run")) {
		m->type = DOCKET_HMSG_RUN;
		rc = decode_run(msg, &m->job, err);
	} else if (!strcmp(type, "list")) {
		m->type = DOCKET_HMSG_LIST;
	} else if (!strcmp(type, "outcome")) {
		m->type = DOCKET_HMSG_OUTCOME;
		rc = decode_outcome(msg, &m->outcome, err);
	} else if (!strcmp(type, "log")) {
		m->type = DOCKET_HMSG_LOG;
		rc = decode_log(msg, &m->log, err);
	} else if (!strcmp(type, "plugins")) {
		m->type = DOCKET_HMSG_PLUGINS;
		m->plugins = json_object_get(msg, "plugins");
		if (!json_is_array(m->plugins))
			rc = docket_err_set(err, DOCKET_EPROTO, "'plugins' must be an array");
	} else {
		rc = docket_err_set(err, DOCKET_EPROTO, "unknown message type '%.16s'", type);
	}
	if (rc)
		memset(m, 0, sizeof *m);
	return rc;
}

/* json_object_set_new that remembers a failure, so encoders check once. */
static void put(json_t *o, const char *k, json_t *v, bool *ok)
{
	if (!v || json_object_set_new(o, k, v))
		*ok = false;
}

static json_t *opt_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *docket_hostproto_job(const docket_host_job *j)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	if (!o)
		return NULL;
	put(o, "type", json_string("run"), &ok);
	put(o, "id", json_integer(j->id), &ok);
	put(o, "plugin", json_string(j->plugin), &ok);
	put(o, "case", json_string(j->case_id), &ok);
	put(o, "workflow", opt_str(j->workflow), &ok);
	put(o, "stage", opt_str(j->stage), &ok);
	put(o, "key", json_string(j->key), &ok);
	put(o, "attempt", json_integer(j->attempt), &ok);
	put(o, "now", json_integer(j->now_ms), &ok);
	put(o, "timeout_ms", json_integer(j->timeout_ms), &ok);
	put(o, "with", j->with ? json_deep_copy(j->with) : json_object(), &ok);
	put(o, "fields", json_deep_copy(j->fields), &ok);
	put(o, "events", j->events ? json_deep_copy(j->events) : json_null(), &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *docket_hostproto_outcome(const docket_host_outcome *oc)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	if (!o)
		return NULL;
	put(o, "type", json_string("outcome"), &ok);
	put(o, "id", json_integer(oc->id), &ok);
	put(o, "outcome", json_string(docket_outcome_name(oc->kind)), &ok);
	if (oc->kind == DOCKET_OUTCOME_EVENT) {
		put(o, "event", json_string(oc->event), &ok);
		put(o, "fields", oc->fields ? json_deep_copy(oc->fields) : json_object(), &ok);
	} else {
		put(o, "reason", json_string(oc->reason ? oc->reason : "no reason given"), &ok);
	}
	if (oc->load_error)
		put(o, "load_error", json_true(), &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *docket_hostproto_log(const docket_host_log *l)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	if (!o)
		return NULL;
	put(o, "type", json_string("log"), &ok);
	put(o, "id", json_integer(l->id), &ok);
	put(o, "level", json_integer(l->level), &ok);
	if (l->plugin)
		put(o, "plugin", json_string(l->plugin), &ok);
	put(o, "message", json_string(l->message), &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}
