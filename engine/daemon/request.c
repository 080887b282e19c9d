/*
 * request.c - from a JSON object to checked calls.  Every argument is
 * looked up in the op's table: a missing required one, one of the wrong
 * type, or one the op does not know refuses that call with `invalid`, so
 * a client's typo is reported instead of silently ignored.
 */
#include "request.h"

#include <stdlib.h>
#include <string.h>

#include "engine.h"

enum { A_STR, A_STR_OR_NULL, A_BOOL, A_COUNT, A_OBJECT };

typedef struct argspec {
	const char *key;
	int type;
	bool required;
} argspec;

typedef struct opspec {
	const char *name;
	docketd_opcode op;
	argspec args[8];
} opspec;

static const opspec ops[] = {
	{"hello", DOCKETD_OP_HELLO, {{0}}},
	{"status", DOCKETD_OP_STATUS, {{0}}},
	{"workflows", DOCKETD_OP_WORKFLOWS, {{0}}},
	{"plugins", DOCKETD_OP_PLUGINS, {{0}}},
	{"show", DOCKETD_OP_SHOW, {{"case", A_STR, true}}},
	{"list", DOCKETD_OP_LIST, {{"workflow", A_STR, false}, {"stage", A_STR, false},
				   {"assignee", A_STR, false}, {"mine", A_BOOL, false},
				   {"open_only", A_BOOL, false}, {"limit", A_COUNT, false},
				   {"cursor", A_STR, false}}},
	{"history", DOCKETD_OP_HISTORY, {{"case", A_STR, true}}},
	{"stuck", DOCKETD_OP_STUCK, {{"workflow", A_STR, false}, {"limit", A_COUNT, false}}},
	{"stats", DOCKETD_OP_STATS, {{"workflow", A_STR, false}}},
	{"check", DOCKETD_OP_CHECK, {{0}}},
	{"inbox", DOCKETD_OP_INBOX, {{"all", A_BOOL, false}}},
	{"new", DOCKETD_OP_NEW, {{"workflow", A_STR, true}, {"fields", A_OBJECT, false},
				 {"note", A_STR, false}, {"reply", A_STR, false}}},
	{"advance", DOCKETD_OP_ADVANCE, {{"case", A_STR, true}, {"event", A_STR, true},
					 {"fields", A_OBJECT, false}, {"note", A_STR, false},
					 {"reply", A_STR, false}}},
	{"note", DOCKETD_OP_NOTE, {{"case", A_STR, true}, {"text", A_STR, true},
				   {"reply", A_STR, false}}},
	{"assign", DOCKETD_OP_ASSIGN, {{"case", A_STR, true}, {"user", A_STR_OR_NULL, true},
				       {"reply", A_STR, false}}},
	{"retry", DOCKETD_OP_RETRY, {{"case", A_STR, true}, {"reply", A_STR, false}}},
	{"reload", DOCKETD_OP_RELOAD, {{0}}},
	{"backup", DOCKETD_OP_BACKUP, {{"path", A_STR, true}}},
};

static const char *const type_names[] = {
	[A_STR] = "a string", [A_STR_OR_NULL] = "a string or null", [A_BOOL] = "true or false",
	[A_COUNT] = "a whole number", [A_OBJECT] = "an object",
};

static const opspec *find_op(const char *name)
{
	for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
		if (!strcmp(ops[i].name, name))
			return &ops[i];
	return NULL;
}

static bool type_ok(int type, const json_t *v)
{
	switch (type) {
	case A_STR: return json_is_string(v);
	case A_STR_OR_NULL: return json_is_string(v) || json_is_null(v);
	case A_BOOL: return json_is_boolean(v);
	case A_COUNT: return json_is_integer(v) && json_integer_value(v) >= 0;
	case A_OBJECT: return json_is_object(v);
	}
	return false;
}

/* Put a checked argument where the call keeps it. */
static void store(docketd_call *c, const char *key, const json_t *v)
{
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;

	if (!strcmp(key, "case"))
		c->case_id = s;
	else if (!strcmp(key, "workflow"))
		c->workflow = s;
	else if (!strcmp(key, "event"))
		c->event = s;
	else if (!strcmp(key, "note") || !strcmp(key, "text"))
		c->note = s;
	else if (!strcmp(key, "user"))
		c->unassign = !(c->user = s);
	else if (!strcmp(key, "stage"))
		c->stage = s;
	else if (!strcmp(key, "assignee"))
		c->assignee = s;
	else if (!strcmp(key, "cursor"))
		c->cursor = s;
	else if (!strcmp(key, "path"))
		c->path = s;
	else if (!strcmp(key, "reply"))
		c->reply = s;
	else if (!strcmp(key, "fields"))
		c->fields = v;
	else if (!strcmp(key, "mine"))
		c->mine = json_is_true(v);
	else if (!strcmp(key, "open_only"))
		c->open_only = json_is_true(v);
	else if (!strcmp(key, "all"))
		c->all = json_is_true(v);
	else if (!strcmp(key, "limit"))
		c->limit = (size_t)json_integer_value(v);
}

static int check_args(docketd_call *c, const opspec *spec, const json_t *args)
{
	const char *key;
	const json_t *v;

	json_object_foreach((json_t *)args, key, v) {
		const argspec *a = NULL;
		for (size_t i = 0; i < 8 && spec->args[i].key && !a; i++)
			if (!strcmp(spec->args[i].key, key))
				a = &spec->args[i];
		if (!a)
			return docket_err_set(&c->err, DOCKET_EINVAL,
					      "%s: unknown argument '%s'", spec->name, key);
		if (!type_ok(a->type, v))
			return docket_err_set(&c->err, DOCKET_EINVAL,
					      "%s: argument '%s' must be %s", spec->name, key,
					      type_names[a->type]);
		store(c, key, v);
	}
	for (size_t i = 0; i < 8 && spec->args[i].key; i++)
		if (spec->args[i].required && !json_object_get(args, spec->args[i].key))
			return docket_err_set(&c->err, DOCKET_EINVAL, "%s: argument '%s' is missing",
					      spec->name, spec->args[i].key);
	return 0;
}

/* What the table cannot say. */
static int check_call(docketd_call *c)
{
	if (c->op == DOCKETD_OP_LIST) {
		if (c->limit > DOCKET_LIST_MAX)
			return docket_err_set(&c->err, DOCKET_ELIMIT,
					      "list: limit is at most %d", DOCKET_LIST_MAX);
		if (c->mine && c->assignee)
			return docket_err_set(&c->err, DOCKET_EINVAL,
					      "list: give 'mine' or 'assignee', not both");
		if (c->stage && !c->workflow)
			return docket_err_set(&c->err, DOCKET_EINVAL,
					      "list: 'stage' needs 'workflow'");
	}
	if (c->op == DOCKETD_OP_BACKUP && c->path[0] != '/')
		return docket_err_set(&c->err, DOCKET_EINVAL,
				      "backup: path '%s' must be absolute", c->path);
	if (c->op == DOCKETD_OP_NOTE && !*c->note)
		return docket_err_set(&c->err, DOCKET_EINVAL, "note: the text is empty");
	if (c->reply && strcmp(c->reply, "case") && strcmp(c->reply, "brief"))
		return docket_err_set(&c->err, DOCKET_EINVAL,
				      "%s: argument 'reply' must be \"case\" or \"brief\", not \"%s\"",
				      c->name, c->reply);
	c->brief = c->reply && !strcmp(c->reply, "brief");
	return 0;
}

/* One {op, args} object into c; refusals stay in c. */
static void decode_call(const json_t *o, bool in_batch, docketd_call *c)
{
	const json_t *op = json_object_get(o, "op"), *args = json_object_get(o, "args");
	const opspec *spec;

	memset(c, 0, sizeof *c);
	c->name = "?";
	if (!json_is_string(op)) {
		c->code = docket_err_set(&c->err, DOCKET_EINVAL, "'op' must be a string");
		return;
	}
	c->name = json_string_value(op);
	if (!(spec = find_op(c->name))) {
		c->code = docket_err_set(&c->err, DOCKET_EINVAL, "unknown op '%s'", c->name);
		return;
	}
	c->op = spec->op;
	if (in_batch && (c->op == DOCKETD_OP_RELOAD || c->op == DOCKETD_OP_BACKUP)) {
		c->code = docket_err_set(&c->err, DOCKET_EINVAL,
					 "%s cannot be part of a batch", c->name);
		return;
	}
	if (args && !json_is_null(args) && !json_is_object(args)) {
		c->code = docket_err_set(&c->err, DOCKET_EINVAL, "%s: 'args' must be an object",
					 c->name);
		return;
	}
	json_t *none = json_object();
	if (!none) {
		c->code = docket_err_set(&c->err, DOCKET_ENOMEM, "out of memory");
		return;
	}
	c->code = check_args(c, spec, json_is_object(args) ? args : none);
	json_decref(none);
	if (!c->code)
		c->code = check_call(c);
}

static bool only_keys(const json_t *o, const char *const *keys, size_t n, const char **bad)
{
	const char *key;
	const json_t *v;

	json_object_foreach((json_t *)o, key, v) {
		size_t i = 0;
		while (i < n && strcmp(keys[i], key))
			i++;
		if (i == n) {
			*bad = key;
			return false;
		}
	}
	return true;
}

int docketd_request_decode(json_t *msg, docketd_request *req, docket_err *err)
{
	static const char *const top[] = {"id", "op", "args", "as", "batch"};
	static const char *const item[] = {"op", "args"};
	const json_t *id, *as, *batch;
	const char *bad;

	memset(req, 0, sizeof *req);
	req->msg = json_incref(msg);
	if (!json_is_object(msg))
		return docket_err_set(err, DOCKET_EPROTO, "a request must be a JSON object");
	id = json_object_get(msg, "id");
	if (id && !json_is_integer(id) && !json_is_string(id) && !json_is_null(id))
		return docket_err_set(err, DOCKET_EPROTO, "'id' must be an integer or a string");
	req->id = id;
	if (!only_keys(msg, top, 5, &bad))
		return docket_err_set(err, DOCKET_EPROTO,
				      "unknown key '%s' in a request (it has id, op, args, as, batch)",
				      bad);
	as = json_object_get(msg, "as");
	if (as && !json_is_null(as)) {
		if (!json_is_string(as) || !*json_string_value(as))
			return docket_err_set(err, DOCKET_EPROTO, "'as' must be a user name");
		req->as = json_string_value(as);
	}
	batch = json_object_get(msg, "batch");
	if (batch && json_object_get(msg, "op"))
		return docket_err_set(err, DOCKET_EPROTO, "a request has 'op' or 'batch', not both");
	if (!batch && !json_object_get(msg, "op"))
		return docket_err_set(err, DOCKET_EPROTO, "a request needs 'op' (or 'batch')");
	if (!batch) {
		if (!(req->calls = calloc(1, sizeof *req->calls)))
			return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
		req->ncalls = 1;
		decode_call(msg, false, req->calls);
		return 0;
	}
	if (json_object_get(msg, "args"))
		return docket_err_set(err, DOCKET_EPROTO, "'args' belongs to each op of a batch");
	if (!json_is_array(batch) || json_array_size(batch) == 0)
		return docket_err_set(err, DOCKET_EPROTO, "'batch' must be a non-empty array");
	if (json_array_size(batch) > DOCKET_BATCH_MAX)
		return docket_err_set(err, DOCKET_ELIMIT, "a batch holds at most %d operations",
				      DOCKET_BATCH_MAX);
	req->batch = true;
	req->ncalls = json_array_size(batch);
	if (!(req->calls = calloc(req->ncalls, sizeof *req->calls)))
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	for (size_t i = 0; i < req->ncalls; i++) {
		const json_t *o = json_array_get(batch, i);
		docketd_call *c = &req->calls[i];
		if (!json_is_object(o)) {
			memset(c, 0, sizeof *c);
			c->name = "?";
			c->code = docket_err_set(&c->err, DOCKET_EINVAL,
						 "batch item %zu is not an object", i);
		} else if (!only_keys(o, item, 2, &bad)) {
			memset(c, 0, sizeof *c);
			c->name = "?";
			c->code = docket_err_set(&c->err, DOCKET_EINVAL,
				"unknown key '%s' in batch item %zu (it has op, args)", bad, i);
		} else {
			decode_call(o, true, c);
		}
	}
	return 0;
}

void docketd_request_free(docketd_request *req)
{
	free(req->calls);
	json_decref(req->msg);
	memset(req, 0, sizeof *req);
}

bool docketd_call_writes(const docketd_call *c)
{
	return c->code == 0 && c->op >= DOCKETD_OP_NEW && c->op <= DOCKETD_OP_RETRY;
}

bool docketd_request_queues(const docketd_request *req)
{
	for (size_t i = 0; i < req->ncalls; i++) {
		const docketd_call *c = &req->calls[i];
		if (docketd_call_writes(c) ||
		    (c->code == 0 && (c->op == DOCKETD_OP_RELOAD || c->op == DOCKETD_OP_BACKUP)))
			return true;
	}
	return false;
}

const char *docketd_code_name(int code)
{
	switch (code) {
	case DOCKET_EINVAL: return "invalid";
	case DOCKET_ENOENT: return "not_found";
	case DOCKET_EEXIST: return "exists";
	case DOCKET_EPERM: return "forbidden";
	case DOCKET_ESTATE: return "not_allowed";
	case DOCKET_EGUARD: return "guard_failed";
	case DOCKET_EREQUIRED: return "required";
	case DOCKET_ELIMIT: return "limit";
	case DOCKET_EIO:
	case DOCKET_ESTORE:
	case DOCKET_EBUSY: return "store";
	case DOCKET_EPROTO: return "protocol";
	}
	return "internal";
}
