/*
 * catalog.h - workflow definitions by content hash, and the small numbers
 * the store's keys use instead of names.
 *
 * A definition, once stored, never changes: cases keep the number of the
 * one they began under, and their records and history index stages,
 * events and fields by position in it.  Names that appear in keys
 * (workflows, stages, prefixes, users) are interned once into 32-bit ids,
 * so keys stay short and fixed, and a stage keeps its id across versions
 * of its workflow as long as it keeps its name.
 *
 * The in-memory side caches every definition it has loaded; it is filled
 * from the store lazily and only after a transaction that wrote to it has
 * committed.
 */
#ifndef DOCKET_CATALOG_H
#define DOCKET_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>
#include <pthread.h>

#include "engine.h"
#include "store.h"
#include "workflow.h"

/* Kinds of interned names. */
enum {
	DOCKET_N_WORKFLOW = 'w',
	DOCKET_N_STAGE = 's',     /* parent: the workflow's id */
	DOCKET_N_PREFIX = 'p',
	DOCKET_N_USER = 'u',
	DOCKET_N_HASH = 'h',      /* name: 32 raw bytes of sha256 -> defno */
};

typedef struct docket_def {
	uint32_t defno;
	uint32_t wfno;
	uint32_t prefixno;
	uint32_t *sid;          /* stage index -> interned stage id */
	int64_t installed_at;
	docket_workflow *wf;
} docket_def;

typedef struct docket_wfent {
	uint32_t wfno;
	docket_def *current;
} docket_wfent;

typedef struct docket_catalog {
	docket_def **defs;      /* indexed by defno (dense from 1) */
	size_t ndefs;
	docket_wfent *wfs;
	size_t nwfs;
	/* Guards defs: a read and a write may load old definitions at once.
	 * wfs changes only on install, which the caller keeps from running
	 * beside anything else. */
	pthread_mutex_t lock;
} docket_catalog;

/* Load the current definition of every workflow.  Definitions that only
 * old cases use are loaded when first needed. */
int docket_catalog_open(docket_catalog *cat, docket_store *st, MDB_txn *txn, docket_err *err);
void docket_catalog_free(docket_catalog *cat);

/* The definition numbered defno, loading it from the store if needed. */
int docket_catalog_def(docket_catalog *cat, docket_store *st, MDB_txn *txn,
		       uint32_t defno, docket_def **out, docket_err *err);

/* The workflow called name, or NULL. */
docket_wfent *docket_catalog_find(docket_catalog *cat, const char *name);
docket_wfent *docket_catalog_wfno(docket_catalog *cat, uint32_t wfno);

/* Store wf (ownership passes to the catalog on success and on failure)
 * and make it current.  Runs its own write transaction. */
int docket_catalog_install(docket_catalog *cat, docket_store *st, docket_workflow *wf,
			   int64_t now, docket_install_info *info, docket_err *err);

/* Look a name up; with create, give it the next id if it has none.
 * DOCKET_ENOENT when absent and not creating. */
int docket_intern(docket_store *st, MDB_txn *txn, int kind, uint32_t parent,
		  const char *name, size_t len, bool create, uint32_t *id, docket_err *err);

/* The name behind an interned id (kind and parent through the out
 * pointers, which may be NULL).  The name points into the transaction's
 * memory. */
int docket_intern_name(docket_store *st, MDB_txn *txn, uint32_t id, int *kind,
		       uint32_t *parent, const char **name, size_t *len, docket_err *err);

/* The actor's role bits in wf: its role names that wf declares. */
uint64_t docket_def_roles(const docket_def *d, const docket_actor *a);

/* Role names of the bits in mask, comma-separated, into buf. */
void docket_def_role_names(const docket_def *d, uint64_t mask, char *buf, size_t size);

#endif
