/*
 * engine_util.h - what the engine tests share: a store in a fresh
 * temporary directory, a fake clock, workflows from YAML text, and one-line
 * operations.  Header-only so each test stays one file.
 */
#ifndef DOCKET_TEST_ENGINE_UTIL_H
#define DOCKET_TEST_ENGINE_UTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "workflow.h"

#define T0 INT64_C(1714550400000)   /* 2024-05-01T08:00:00Z */
#define SEC INT64_C(1000)
#define HOUR (3600 * SEC)
#define DAY (24 * HOUR)

typedef struct fixture {
	char home[64];
	docket_engine *eng;
	int64_t now;
	bool nosync;
} fixture;

static int64_t fake_clock(void *ctx)
{
	return ((fixture *)ctx)->now;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static inline void rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void make_home(char *home)
{
	const char *tmp = getenv("TMPDIR");
	char buf[64];

	snprintf(buf, sizeof buf, "%s/docket-test-XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	if (!mkdtemp(buf)) {
		perror("mkdtemp");
		abort();
	}
	memcpy(home, buf, sizeof buf);
}

/* Open (or reopen) the fixture's engine on its home with the fake clock.
 * Tests here check behaviour, not durability: they may skip fsync. */
static inline int fx_open(fixture *fx)
{
	docket_engine_opts o = {.now_ms = fake_clock, .clock_ctx = fx,
				.nosync_for_tests = fx->nosync};
	docket_err err;
	int rc = docket_engine_open(fx->home, &o, &fx->eng, &err);
	if (rc)
		fprintf(stderr, "open: %s\n", err.msg);
	return rc;
}

static inline docket_workflow *wf_from(const char *yaml)
{
	docket_workflow *wf = NULL;
	docket_diags d;

	docket_diags_init(&d, "test.yaml");
	if (docket_workflow_load_buf("test.yaml", yaml, strlen(yaml), NULL, &wf, &d)) {
		docket_diags_print(&d, stderr);
		abort();
	}
	docket_diags_free(&d);
	return wf;
}

static inline void fx_install(fixture *fx, const char *yaml)
{
	docket_err err;
	if (docket_engine_install(fx->eng, wf_from(yaml), NULL, &err)) {
		fprintf(stderr, "install: %s\n", err.msg);
		abort();
	}
}

static inline fixture *fx_new(const char *yaml)
{
	fixture *fx = calloc(1, sizeof *fx);
	if (!fx)
		abort();
	make_home(fx->home);
	fx->now = T0;
	fx->nosync = true;
	if (fx_open(fx))
		abort();
	if (yaml)
		fx_install(fx, yaml);
	return fx;
}

static inline void fx_reopen(fixture *fx)
{
	docket_engine_close(fx->eng);
	fx->eng = NULL;
	if (fx_open(fx))
		abort();
}

/* Check the store is consistent, print what is not. */
static inline int fx_check(fixture *fx)
{
	json_t *p = NULL;
	docket_err err;
	int rc = docket_engine_check(fx->eng, &p, &err);
	if (rc) {
		char *s = p ? json_dumps(p, JSON_INDENT(1)) : NULL;
		fprintf(stderr, "check: %s\n%s\n", err.msg, s ? s : "");
		free(s);
	}
	json_decref(p);
	return rc;
}

static inline void fx_free(fixture *fx)
{
	docket_engine_close(fx->eng);
	rm_rf(fx->home);
	free(fx);
}

/* Actors of the tests. */
static const char *const r_sales[] = {"sales"};
static const char *const r_ops[] = {"ops"};
static const char *const r_fin[] = {"finance"};
static const char *const r_dir[] = {"director"};
static const char *const r_other[] = {"gardener"};
static const docket_actor alice = {"alice", r_sales, 1, false};
static const docket_actor oscar = {"oscar", r_ops, 1, false};
static const docket_actor fiona = {"fiona", r_fin, 1, false};
static const docket_actor dana = {"dana", r_dir, 1, false};
static const docket_actor gus = {"gus", r_other, 1, false};
static const docket_actor root = {"root", NULL, 0, true};

/* One operation in its own batch; the result lands in *r. */
static inline int fx_apply(fixture *fx, docket_op op, docket_result *r)
{
	int rc = docket_engine_apply(fx->eng, &op, 1, r);
	if (r->code && getenv("DOCKET_TEST_VERBOSE"))
		fprintf(stderr, "op %d: %s\n", (int)op.kind, r->err.msg);
	return rc ? rc : r->code;
}

/* Create a case of `wf` with fields given as a JSON text (may be NULL). */
static inline int fx_create(fixture *fx, const docket_actor *a, const char *wf,
			    const char *fields, docket_result *r)
{
	json_t *j = fields ? json_loads(fields, 0, NULL) : NULL;
	if (fields && !j)
		abort();
	int rc = fx_apply(fx, (docket_op){.kind = DOCKET_OP_CREATE, .actor = a,
					  .workflow = wf, .fields = j}, r);
	json_decref(j);
	return rc;
}

static inline int fx_fire(fixture *fx, const docket_actor *a, const char *id,
			  const char *event, const char *fields, docket_result *r)
{
	json_t *j = fields ? json_loads(fields, 0, NULL) : NULL;
	if (fields && !j)
		abort();
	int rc = fx_apply(fx, (docket_op){.kind = DOCKET_OP_FIRE, .actor = a, .case_id = id,
					  .event = event, .fields = j}, r);
	json_decref(j);
	return rc;
}

/* A case as JSON for actor a (admin when NULL); the caller decrefs. */
static inline json_t *fx_case(fixture *fx, const docket_actor *a, const char *id)
{
	json_t *c = NULL;
	docket_err err;
	if (docket_engine_case(fx->eng, a ? a : &root, id, &c, &err))
		return NULL;
	return c;
}

static inline const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static inline json_int_t jint(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* The stage a case is in now (static buffer). */
static inline const char *fx_stage(fixture *fx, const char *id)
{
	static char buf[DOCKET_NAME_MAX + 1];
	json_t *c = fx_case(fx, NULL, id);
	snprintf(buf, sizeof buf, "%s", c ? jstr(c, "stage") : "(none)");
	json_decref(c);
	return buf;
}

#endif
