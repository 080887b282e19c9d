/*
 * api.c - the host API table plugins call (docket/plugin.h).
 *
 * Every entry checks that its handle is active and its arguments sane
 * before touching anything, because the caller is code we did not write:
 * a NULL name, a string that is not UTF-8 or a second outcome get an error
 * code, never a crash in the host's own code.  Values live in jansson
 * documents owned by the run; the getters hand out pointers into them.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "field.h"

#define LOG_LINE_MAX 8192

/* --- text ---------------------------------------------------------------- */

char *docket_phost_text(size_t max, const char *fmt, va_list ap)
{
	char *s = NULL;

	if (!fmt)
		fmt = "(null)";
	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	size_t n = strlen(s);
	if (n > max) {
		n = max;
		/* Back off to the start of a character. */
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
		s[n] = '\0';
	}
	/* Invalid UTF-8 cannot travel in JSON: mark the bytes instead of
	 * losing the whole line. */
	if (!docket_utf8_valid(s, n))
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)s[i] >= 0x80)
				s[i] = '?';
	return s;
}

void docket_phost_vlog(docket_phost *h, int64_t job_id, const char *plugin, int level,
		       const char *fmt, va_list ap)
{
	char *msg = docket_phost_text(LOG_LINE_MAX, fmt, ap);

	if (!msg)
		return;
	if (level < DOCKET_LOG_ERROR)
		level = DOCKET_LOG_ERROR;
	if (level > DOCKET_LOG_DEBUG)
		level = DOCKET_LOG_DEBUG;
	if (h->log)
		h->log(h->log_ctx, job_id, plugin, level, msg);
	else
		fprintf(stderr, "plugin %s: %s\n", plugin ? plugin : "-", msg);
	free(msg);
}

void docket_phost_logf(docket_phost *h, int64_t job_id, const char *plugin, int level,
		       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	docket_phost_vlog(h, job_id, plugin, level, fmt, ap);
	va_end(ap);
}

static bool field_name_ok(const char *s)
{
	size_t len;

	if (!s)
		return false;
	len = strlen(s);
	return len >= 1 && len <= DOCKET_NAME_MAX && s[0] >= 'a' && s[0] <= 'z' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == len;
}

/* --- init ---------------------------------------------------------------- */

static int set_run(docket_plugin *p, docket_run_fn fn, void *state, void (*release)(void *))
{
	if (!p || !p->active)
		return DOCKET_PLUGIN_ESTATE;
	if (!fn)
		return DOCKET_PLUGIN_EINVAL;
	struct plug *pl = p->plug;
	if (pl->release && pl->state != state)
		pl->release(pl->state);
	pl->run = fn;
	pl->state = state;
	pl->release = release;
	return 0;
}

static void init_error(docket_plugin *p, const char *fmt, ...)
{
	va_list ap;

	if (!p || !p->active)
		return;
	free(p->error);
	va_start(ap, fmt);
	p->error = docket_phost_text(DOCKET_ERR_MAX, fmt, ap);
	va_end(ap);
}

static void init_log(docket_plugin *p, int level, const char *fmt, ...)
{
	va_list ap;

	if (!p || !p->active)
		return;
	va_start(ap, fmt);
	docket_phost_vlog(p->host, -1, p->plug->name, level, fmt, ap);
	va_end(ap);
}

/* --- what the run is for ------------------------------------------------- */

#define ACTIVE(r) ((r) && (r)->active)

static const char *case_id(docket_run *r) { return ACTIVE(r) ? r->job->case_id : NULL; }
static const char *workflow(docket_run *r) { return ACTIVE(r) ? r->job->workflow : NULL; }
static const char *stage(docket_run *r) { return ACTIVE(r) ? r->job->stage : NULL; }
static const char *key(docket_run *r) { return ACTIVE(r) ? r->job->key : NULL; }
static uint32_t attempt(docket_run *r) { return ACTIVE(r) ? r->job->attempt : 0; }
static int64_t now_ms(docket_run *r) { return ACTIVE(r) ? r->job->now_ms : 0; }
static const char *home(docket_run *r) { return ACTIVE(r) ? r->host->home : NULL; }

static size_t event_count(docket_run *r)
{
	return ACTIVE(r) && r->events ? json_array_size(r->events) : 0;
}

static const char *event_name(docket_run *r, size_t i)
{
	return ACTIVE(r) && r->events ? json_string_value(json_array_get(r->events, i)) : NULL;
}

static int event_allowed(docket_run *r, const char *event)
{
	if (!ACTIVE(r) || !event)
		return 0;
	return docket_hostproto_event_allowed(r->job, event);
}

/* --- typed getters --------------------------------------------------------- */

static docket_value_type type_of(const json_t *v)
{
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_OBJECT: return DOCKET_VALUE_OBJECT;
	case JSON_ARRAY: return DOCKET_VALUE_ARRAY;
	case JSON_STRING: return DOCKET_VALUE_STRING;
	case JSON_INTEGER: return DOCKET_VALUE_INTEGER;
	case JSON_REAL: return DOCKET_VALUE_NUMBER;
	case JSON_TRUE:
	case JSON_FALSE: return DOCKET_VALUE_BOOL;
	case JSON_NULL: break;
	}
	return v ? DOCKET_VALUE_NULL : DOCKET_VALUE_MISSING;
}

static int get_string(const json_t *v, const char **out)
{
	if (!v || json_is_null(v))
		return DOCKET_PLUGIN_ENOENT;
	if (!json_is_string(v))
		return DOCKET_PLUGIN_ETYPE;
	*out = json_string_value(v);
	return 0;
}

static int get_int(const json_t *v, int64_t *out)
{
	if (!v || json_is_null(v))
		return DOCKET_PLUGIN_ENOENT;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		/* 2^63 itself does not fit; everything below it does. */
		if (d == floor(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
			*out = (int64_t)d;
			return 0;
		}
	}
	return DOCKET_PLUGIN_ETYPE;
}

static int get_number(const json_t *v, double *out)
{
	if (!v || json_is_null(v))
		return DOCKET_PLUGIN_ENOENT;
	if (!json_is_number(v))
		return DOCKET_PLUGIN_ETYPE;
	*out = json_number_value(v);
	return 0;
}

static int get_bool(const json_t *v, int *out)
{
	if (!v || json_is_null(v))
		return DOCKET_PLUGIN_ENOENT;
	if (!json_is_boolean(v))
		return DOCKET_PLUGIN_ETYPE;
	*out = json_is_true(v);
	return 0;
}

static const json_t *field(docket_run *r, const char *name)
{
	return ACTIVE(r) && name ? json_object_get(r->fields, name) : NULL;
}

static docket_value_type field_type(docket_run *r, const char *name)
{
	return type_of(field(r, name));
}

#define GETTER(fn, lookup, get, type)                                     \
	static int fn(docket_run *r, const char *name, type *out)         \
	{                                                                 \
		if (!ACTIVE(r))                                           \
			return DOCKET_PLUGIN_ESTATE;                      \
		if (!name || !out)                                        \
			return DOCKET_PLUGIN_EINVAL;                      \
		return get(lookup(r, name), out);                         \
	}

GETTER(field_string, field, get_string, const char *)
GETTER(field_int, field, get_int, int64_t)
GETTER(field_number, field, get_number, double)
GETTER(field_bool, field, get_bool, int)

/* Walk "a.0.b" through objects and arrays; NULL when any step is missing. */
static const json_t *with(docket_run *r, const char *path)
{
	const json_t *v;
	char seg[256];

	if (!ACTIVE(r) || !path || !r->job->with)
		return NULL;
	v = r->job->with;
	while (*path && v) {
		size_t n = strcspn(path, ".");
		if (n == 0 || n >= sizeof seg)
			return NULL;
		memcpy(seg, path, n);
		seg[n] = '\0';
		path += n + (path[n] == '.');
		if (json_is_object(v)) {
			v = json_object_get(v, seg);
		} else if (json_is_array(v)) {
			char *end;
			unsigned long i = strtoul(seg, &end, 10);
			v = *end || seg[0] < '0' || seg[0] > '9' ? NULL : json_array_get(v, i);
		} else {
			return NULL;
		}
	}
	return v;
}

static docket_value_type with_type(docket_run *r, const char *path)
{
	return type_of(with(r, path));
}

GETTER(with_string, with, get_string, const char *)
GETTER(with_int, with, get_int, int64_t)
GETTER(with_number, with, get_number, double)
GETTER(with_bool, with, get_bool, int)

static int with_duration(docket_run *r, const char *path, int64_t *seconds)
{
	const char *s;
	int rc = with_string(r, path, &s);

	if (rc)
		return rc;
	if (docket_duration_parse(s, strlen(s), seconds, NULL))
		return DOCKET_PLUGIN_EINVAL;
	return 0;
}

static size_t with_count(docket_run *r, const char *path)
{
	const json_t *v = with(r, path);

	if (json_is_array(v))
		return json_array_size(v);
	if (json_is_object(v))
		return json_object_size(v);
	return 0;
}

static const char *with_key(docket_run *r, const char *path, size_t i)
{
	const json_t *v = with(r, path);
	const char *k;
	json_t *x;
	size_t n = 0;

	if (!json_is_object(v))
		return NULL;
	json_object_foreach((json_t *)v, k, x)
		if (n++ == i)
			return k;
	return NULL;
}

/* --- changes --------------------------------------------------------------- */

/* Set name to v (stolen) in both the working fields and the changes. */
static int set(docket_run *r, const char *name, json_t *v)
{
	json_t *old;

	if (!ACTIVE(r)) {
		json_decref(v);
		return DOCKET_PLUGIN_ESTATE;
	}
	if (r->done) {
		json_decref(v);
		return DOCKET_PLUGIN_ESTATE;
	}
	if (!field_name_ok(name)) {
		json_decref(v);
		return DOCKET_PLUGIN_EINVAL;
	}
	if (!v)
		return DOCKET_PLUGIN_ENOMEM;
	/* Keep what we replace: the plugin may still hold its string. */
	old = json_object_get(r->fields, name);
	if (old && json_array_append(r->keep, old)) {
		json_decref(v);
		return DOCKET_PLUGIN_ENOMEM;
	}
	if (json_object_set(r->changes, name, v) || json_object_set_new(r->fields, name, v))
		return DOCKET_PLUGIN_ENOMEM;
	return 0;
}

static int set_string(docket_run *r, const char *name, const char *value)
{
	size_t n;

	if (!value)
		return ACTIVE(r) ? DOCKET_PLUGIN_EINVAL : DOCKET_PLUGIN_ESTATE;
	n = strlen(value);
	if (n > DOCKET_PLUGIN_STRING_MAX)
		return ACTIVE(r) ? DOCKET_PLUGIN_ELIMIT : DOCKET_PLUGIN_ESTATE;
	if (!docket_utf8_valid(value, n))
		return ACTIVE(r) ? DOCKET_PLUGIN_EINVAL : DOCKET_PLUGIN_ESTATE;
	return set(r, name, json_stringn(value, n));
}

static int set_int(docket_run *r, const char *name, int64_t value)
{
	return set(r, name, json_integer(value));
}

static int set_number(docket_run *r, const char *name, double value)
{
	if (!isfinite(value))
		return ACTIVE(r) ? DOCKET_PLUGIN_EINVAL : DOCKET_PLUGIN_ESTATE;
	return set(r, name, json_real(value));
}

static int set_bool(docket_run *r, const char *name, int value)
{
	return set(r, name, json_boolean(value));
}

static int set_null(docket_run *r, const char *name)
{
	return set(r, name, json_null());
}

/* --- the outcome ------------------------------------------------------------ */

static void declared(docket_run *r, char *buf, size_t size)
{
	size_t n = 0, i;
	json_t *e;

	buf[0] = '\0';
	json_array_foreach(r->events, i, e) {
		int w = snprintf(buf + n, size - n, "%s%s", i ? ", " : "", json_string_value(e));
		if (w < 0 || (size_t)w >= size - n)
			break;
		n += (size_t)w;
	}
	if (!n)
		snprintf(buf, size, "none");
}

void docket_phost_run_fail(struct docket_run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->done)
		return;
	va_start(ap, fmt);
	r->reason = docket_phost_text(DOCKET_HOST_REASON_MAX, fmt, ap);
	va_end(ap);
	r->kind = DOCKET_OUTCOME_FAILED;
	r->done = true;
}

static int emit(docket_run *r, const char *event)
{
	char list[512];

	if (!ACTIVE(r))
		return DOCKET_PLUGIN_ESTATE;
	if (r->done) {
		docket_phost_logf(r->host, r->job->id, r->plug->name, DOCKET_LOG_WARN,
				  "second outcome (event '%.64s') ignored: the run already ended",
				  event ? event : "(null)");
		return DOCKET_PLUGIN_ESTATE;
	}
	if (!event || !*event || strlen(event) > DOCKET_HOST_NAME_MAX ||
	    !docket_utf8_valid(event, strlen(event))) {
		docket_phost_run_fail(r, "plugin '%s' emitted an event with no valid name", r->plug->name);
		return DOCKET_PLUGIN_EINVAL;
	}
	if (!docket_hostproto_event_allowed(r->job, event)) {
		declared(r, list, sizeof list);
		docket_phost_run_fail(r, "plugin '%s' emitted event '%s', which stage '%s' does not declare (it declares: %s)",
				      r->plug->name, event, r->job->stage ? r->job->stage : "?", list);
		return DOCKET_PLUGIN_EINVAL;
	}
	r->event = strdup(event);
	if (!r->event)
		return DOCKET_PLUGIN_ENOMEM;
	r->kind = DOCKET_OUTCOME_EVENT;
	r->done = true;
	return 0;
}

static int end_with_reason(docket_run *r, docket_outcome_kind kind, const char *fmt, va_list ap)
{
	if (!ACTIVE(r))
		return DOCKET_PLUGIN_ESTATE;
	if (r->done) {
		docket_phost_logf(r->host, r->job->id, r->plug->name, DOCKET_LOG_WARN,
				  "second outcome (%s) ignored: the run already ended",
				  docket_outcome_name(kind));
		return DOCKET_PLUGIN_ESTATE;
	}
	r->reason = docket_phost_text(DOCKET_HOST_REASON_MAX, fmt, ap);
	if (!r->reason)
		return DOCKET_PLUGIN_ENOMEM;
	if (!*r->reason) {
		free(r->reason);
		r->reason = strdup("no reason given");
		if (!r->reason)
			return DOCKET_PLUGIN_ENOMEM;
	}
	r->kind = kind;
	r->done = true;
	return 0;
}

static int retry(docket_run *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = end_with_reason(r, DOCKET_OUTCOME_RETRY, fmt, ap);
	va_end(ap);
	return rc;
}

static int fail(docket_run *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = end_with_reason(r, DOCKET_OUTCOME_FAILED, fmt, ap);
	va_end(ap);
	return rc;
}

static int reason_of(docket_run *r, docket_outcome_kind kind, const json_t *v)
{
	if (!json_is_string(v))
		return DOCKET_PLUGIN_EINVAL;
	return kind == DOCKET_OUTCOME_RETRY ? retry(r, "%s", json_string_value(v))
					    : fail(r, "%s", json_string_value(v));
}

/* Check every change before applying any, so a bad answer changes nothing. */
static int fields_ok(const json_t *fields)
{
	const char *k;
	json_t *v;

	if (!fields)
		return 0;
	if (!json_is_object(fields))
		return DOCKET_PLUGIN_EINVAL;
	json_object_foreach((json_t *)fields, k, v) {
		if (!field_name_ok(k) || json_is_object(v) || json_is_array(v))
			return DOCKET_PLUGIN_EINVAL;
		if (json_is_string(v) && json_string_length(v) > DOCKET_PLUGIN_STRING_MAX)
			return DOCKET_PLUGIN_ELIMIT;
	}
	return 0;
}

static int outcome_json(docket_run *r, const char *text, size_t len)
{
	json_t *doc, *ev, *fields, *v;
	const char *k;
	int rc;

	if (!ACTIVE(r))
		return DOCKET_PLUGIN_ESTATE;
	if (r->done)
		return DOCKET_PLUGIN_ESTATE;
	if (!text)
		return DOCKET_PLUGIN_EINVAL;
	/* JSON_DISABLE_EOF_CHECK is not used: trailing garbage is an error. */
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return DOCKET_PLUGIN_EINVAL;
	}
	ev = json_object_get(doc, "event");
	fields = json_object_get(doc, "fields");
	if (json_is_string(ev) && (rc = fields_ok(fields)) == 0) {
		json_object_foreach(fields, k, v)
			if ((rc = set(r, k, json_incref(v))))
				break;
		if (!rc)
			rc = emit(r, json_string_value(ev));
	} else if (!ev && json_object_get(doc, "retry")) {
		rc = reason_of(r, DOCKET_OUTCOME_RETRY, json_object_get(doc, "retry"));
	} else if (!ev && json_object_get(doc, "failed")) {
		rc = reason_of(r, DOCKET_OUTCOME_FAILED, json_object_get(doc, "failed"));
	} else {
		rc = DOCKET_PLUGIN_EINVAL;
	}
	json_decref(doc);
	return rc;
}

/* --- help ------------------------------------------------------------------- */

static void run_log(docket_run *r, int level, const char *fmt, ...)
{
	va_list ap;

	if (!ACTIVE(r))
		return;
	va_start(ap, fmt);
	docket_phost_vlog(r->host, r->job->id, r->plug->name, level, fmt, ap);
	va_end(ap);
}

static const char *run_json(docket_run *r)
{
	const docket_host_job *j;
	json_t *doc;

	if (!ACTIVE(r))
		return NULL;
	j = r->job;
	doc = json_pack("{s:s, s:s?, s:s?, s:s, s:I, s:I, s:O, s:O, s:O}",
			"case", j->case_id, "workflow", j->workflow, "stage", j->stage,
			"key", j->key, "attempt", (json_int_t)j->attempt, "now", (json_int_t)j->now_ms,
			"events", r->events ? r->events : json_null(),
			"with", j->with ? (json_t *)j->with : json_object(),
			"fields", r->fields);
	if (!doc)
		return NULL;
	free(r->json);
	r->json = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return r->json;
}

static void *run_alloc(docket_run *r, size_t size)
{
	struct block *b;

	if (!ACTIVE(r) || size > SIZE_MAX - sizeof *b)
		return NULL;
	b = calloc(1, sizeof *b + size);
	if (!b)
		return NULL;
	b->next = r->blocks;
	r->blocks = b;
	return b->data;
}

static char *run_format(docket_run *r, const char *fmt, ...)
{
	va_list ap;
	char *s, *out;
	int n;

	if (!ACTIVE(r) || !fmt)
		return NULL;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	out = run_alloc(r, (size_t)n + 1);
	if (out)
		memcpy(out, s, (size_t)n + 1);
	free(s);
	return out;
}

const docket_host_api docket_phost_api = {
	.size = sizeof(docket_host_api),
	.abi_major = DOCKET_PLUGIN_ABI_MAJOR,
	.abi_minor = DOCKET_PLUGIN_ABI_MINOR,
	.set_run = set_run,
	.init_error = init_error,
	.init_log = init_log,
	.case_id = case_id,
	.workflow = workflow,
	.stage = stage,
	.key = key,
	.attempt = attempt,
	.now_ms = now_ms,
	.home = home,
	.event_count = event_count,
	.event_name = event_name,
	.event_allowed = event_allowed,
	.field_type = field_type,
	.field_string = field_string,
	.field_int = field_int,
	.field_number = field_number,
	.field_bool = field_bool,
	.with_type = with_type,
	.with_string = with_string,
	.with_int = with_int,
	.with_number = with_number,
	.with_bool = with_bool,
	.with_duration = with_duration,
	.with_count = with_count,
	.with_key = with_key,
	.set_string = set_string,
	.set_int = set_int,
	.set_number = set_number,
	.set_bool = set_bool,
	.set_null = set_null,
	.emit = emit,
	.retry = retry,
	.fail = fail,
	.outcome_json = outcome_json,
	.log = run_log,
	.run_json = run_json,
	.alloc = run_alloc,
	.format = run_format,
};
