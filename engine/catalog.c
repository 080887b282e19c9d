/*
 * catalog.c - definitions by hash and interned names.
 *
 * Store layout used here:
 *   names:     kind(1) parent(4) name      -> id(4)
 *              'r' id(4)                   -> kind(1) parent(4) name
 *   meta:      "names"                     -> last id given(4)
 *   defs:      defno(4)  -> sha256(32) wfno(4) prefixno(4) installed(8) source
 *   workflows: wfno(4)   -> current defno(4)
 * Ids start at 1; 0 never names anything.
 */
#include "catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFHEAD (32 + 4 + 4 + 8)

static int mdberr(docket_err *err, int rc, const char *what)
{
	return docket_store_err(err, rc, what);
}

int docket_intern(docket_store *st, MDB_txn *txn, int kind, uint32_t parent,
		  const char *name, size_t len, bool create, uint32_t *id, docket_err *err)
{
	uint8_t key[5 + 256], rkey[5], cnt[4];
	MDB_val k = {5 + len, key}, v;
	int rc;

	if (len > 256 || len == 0)
		return docket_err_set(err, DOCKET_EINVAL, "name of %zu bytes cannot be interned", len);
	key[0] = (uint8_t)kind;
	docket_be32(key + 1, parent);
	memcpy(key + 5, name, len);
	rc = mdb_get(txn, st->names, &k, &v);
	if (rc == 0) {
		if (v.mv_size != 4)
			return docket_err_set(err, DOCKET_ECORRUPT, "interned name has a bad id");
		*id = docket_rd32(v.mv_data);
		return 0;
	}
	if (rc != MDB_NOTFOUND)
		return mdberr(err, rc, "looking up a name");
	if (!create)
		return docket_err_set(err, DOCKET_ENOENT, "unknown name '%.*s'", (int)len, name);

	MDB_val ck = {5, "names"}, cv;
	uint32_t next = 1;
	rc = mdb_get(txn, st->meta, &ck, &cv);
	if (rc == 0 && cv.mv_size == 4)
		next = docket_rd32(cv.mv_data) + 1;
	else if (rc && rc != MDB_NOTFOUND)
		return mdberr(err, rc, "reading the name counter");
	docket_be32(cnt, next);
	cv.mv_size = 4;
	cv.mv_data = cnt;
	if ((rc = docket_store_put(st, txn, st->meta, &ck, &cv, 0)))
		return mdberr(err, rc, "writing the name counter");
	v.mv_size = 4;
	v.mv_data = cnt;
	if ((rc = docket_store_put(st, txn, st->names, &k, &v, 0)))
		return mdberr(err, rc, "interning a name");
	rkey[0] = 'r';
	docket_be32(rkey + 1, next);
	MDB_val rk = {5, rkey}, rv = {5 + len, key};
	if ((rc = docket_store_put(st, txn, st->names, &rk, &rv, 0)))
		return mdberr(err, rc, "interning a name");
	*id = next;
	return 0;
}

int docket_intern_name(docket_store *st, MDB_txn *txn, uint32_t id, int *kind,
		       uint32_t *parent, const char **name, size_t *len, docket_err *err)
{
	uint8_t rkey[5];
	MDB_val k = {5, rkey}, v;
	int rc;

	rkey[0] = 'r';
	docket_be32(rkey + 1, id);
	rc = mdb_get(txn, st->names, &k, &v);
	if (rc == MDB_NOTFOUND)
		return docket_err_set(err, DOCKET_ENOENT, "no name with id %u", id);
	if (rc)
		return mdberr(err, rc, "reading a name");
	if (v.mv_size < 6)
		return docket_err_set(err, DOCKET_ECORRUPT, "name %u is malformed", id);
	const uint8_t *p = v.mv_data;
	if (kind)
		*kind = p[0];
	if (parent)
		*parent = docket_rd32(p + 1);
	*name = (const char *)p + 5;
	*len = v.mv_size - 5;
	return 0;
}

static void def_free(docket_def *d)
{
	if (!d)
		return;
	docket_workflow_free(d->wf);
	free(d->sid);
	free(d);
}

void docket_catalog_free(docket_catalog *cat)
{
	for (size_t i = 0; i < cat->ndefs; i++)
		def_free(cat->defs[i]);
	free(cat->defs);
	free(cat->wfs);
	pthread_mutex_destroy(&cat->lock);
	memset(cat, 0, sizeof *cat);
}

static int unhex(const char *hex, uint8_t raw[32])
{
	for (int i = 0; i < 32; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		raw[i] = (uint8_t)v;
	}
	return 0;
}

static int cache_def(docket_catalog *cat, docket_def *d, docket_err *err)
{
	if (d->defno >= cat->ndefs) {
		size_t n = d->defno + 16;
		docket_def **v = realloc(cat->defs, n * sizeof *v);
		if (!v)
			return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
		memset(v + cat->ndefs, 0, (n - cat->ndefs) * sizeof *v);
		cat->defs = v;
		cat->ndefs = n;
	}
	cat->defs[d->defno] = d;
	return 0;
}

/* Interned ids of every stage of d, creating them when asked. */
static int stage_ids(docket_store *st, MDB_txn *txn, docket_def *d, bool create, docket_err *err)
{
	docket_workflow *wf = d->wf;

	d->sid = calloc(wf->nstages ? wf->nstages : 1, sizeof *d->sid);
	if (!d->sid)
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	for (size_t i = 0; i < wf->nstages; i++) {
		const char *n = wf->stages[i].name;
		int rc = docket_intern(st, txn, DOCKET_N_STAGE, d->wfno, n, strlen(n),
				       create, &d->sid[i], err);
		if (rc)
			return rc;
	}
	return 0;
}

static int def_get(docket_catalog *cat, docket_store *st, MDB_txn *txn,
		   uint32_t defno, docket_def **out, docket_err *err)
{
	uint8_t key[4], raw[32];
	MDB_val k = {4, key}, v;
	docket_diags dg;
	docket_def *d;
	char name[64];
	int rc;

	if (defno < cat->ndefs && cat->defs[defno]) {
		*out = cat->defs[defno];
		return 0;
	}
	docket_be32(key, defno);
	rc = mdb_get(txn, st->defs, &k, &v);
	if (rc == MDB_NOTFOUND)
		return docket_err_set(err, DOCKET_ECORRUPT, "definition %u is missing", defno);
	if (rc)
		return mdberr(err, rc, "reading a definition");
	if (v.mv_size < DEFHEAD)
		return docket_err_set(err, DOCKET_ECORRUPT, "definition %u is malformed", defno);
	d = calloc(1, sizeof *d);
	if (!d)
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	const uint8_t *p = v.mv_data;
	d->defno = defno;
	d->wfno = docket_rd32(p + 32);
	d->prefixno = docket_rd32(p + 36);
	d->installed_at = (int64_t)docket_rd64(p + 40);
	snprintf(name, sizeof name, "stored definition %u", defno);
	docket_diags_init(&dg, name);
	rc = docket_workflow_load_buf(name, (const char *)p + DEFHEAD, v.mv_size - DEFHEAD,
				      NULL, &d->wf, &dg);
	if (rc) {
		rc = docket_err_set(err, DOCKET_ECORRUPT, "%s no longer loads: %s", name,
				    dg.n ? dg.v[0].msg : docket_strerror(rc));
		docket_diags_free(&dg);
		goto fail;
	}
	docket_diags_free(&dg);
	if (unhex(d->wf->hash, raw) || memcmp(raw, p, 32)) {
		rc = docket_err_set(err, DOCKET_ECORRUPT, "%s does not match its hash", name);
		goto fail;
	}
	if ((rc = stage_ids(st, txn, d, false, err)))
		goto fail;
	if ((rc = cache_def(cat, d, err)))
		goto fail;
	*out = d;
	return 0;
fail:
	def_free(d);
	return rc;
}

int docket_catalog_def(docket_catalog *cat, docket_store *st, MDB_txn *txn,
		       uint32_t defno, docket_def **out, docket_err *err)
{
	pthread_mutex_lock(&cat->lock);
	int rc = def_get(cat, st, txn, defno, out, err);
	pthread_mutex_unlock(&cat->lock);
	return rc;
}

docket_wfent *docket_catalog_find(docket_catalog *cat, const char *name)
{
	for (size_t i = 0; i < cat->nwfs; i++)
		if (!strcmp(cat->wfs[i].current->wf->name, name))
			return &cat->wfs[i];
	return NULL;
}

docket_wfent *docket_catalog_wfno(docket_catalog *cat, uint32_t wfno)
{
	for (size_t i = 0; i < cat->nwfs; i++)
		if (cat->wfs[i].wfno == wfno)
			return &cat->wfs[i];
	return NULL;
}

static int set_current(docket_catalog *cat, uint32_t wfno, docket_def *d, docket_err *err)
{
	docket_wfent *e = docket_catalog_wfno(cat, wfno);

	if (!e) {
		e = realloc(cat->wfs, (cat->nwfs + 1) * sizeof *e);
		if (!e)
			return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
		cat->wfs = e;
		e = &cat->wfs[cat->nwfs++];
		e->wfno = wfno;
	}
	e->current = d;
	return 0;
}

int docket_catalog_open(docket_catalog *cat, docket_store *st, MDB_txn *txn, docket_err *err)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	memset(cat, 0, sizeof *cat);
	pthread_mutex_init(&cat->lock, NULL);
	if ((rc = mdb_cursor_open(txn, st->workflows, &cur)))
		return mdberr(err, rc, "reading workflows");
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		docket_def *d;
		if (k.mv_size != 4 || v.mv_size != 4) {
			rc = docket_err_set(err, DOCKET_ECORRUPT, "workflow entry is malformed");
			goto out;
		}
		if ((rc = docket_catalog_def(cat, st, txn, docket_rd32(v.mv_data), &d, err)))
			goto out;
		if ((rc = set_current(cat, docket_rd32(k.mv_data), d, err)))
			goto out;
	}
	rc = rc == MDB_NOTFOUND ? 0 : mdberr(err, rc, "reading workflows");
out:
	mdb_cursor_close(cur);
	return rc;
}

static int last_defno(docket_store *st, MDB_txn *txn, uint32_t *defno, docket_err *err)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, st->defs, &cur);

	if (rc)
		return mdberr(err, rc, "reading definitions");
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND) {
		*defno = 0;
		return 0;
	}
	if (rc)
		return mdberr(err, rc, "reading definitions");
	*defno = k.mv_size == 4 ? docket_rd32(k.mv_data) : 0;
	return 0;
}

/* The write part of install.  On success *fresh is a definition that must
 * enter the cache after commit (NULL when the bytes were stored already,
 * then *d is the cached one). */
static int install_txn(docket_catalog *cat, docket_store *st, MDB_txn *txn,
		       docket_workflow *wf, int64_t now, docket_def **fresh, docket_def **d,
		       docket_install_info *info, docket_err *err)
{
	uint8_t raw[32], key[4], cur[4];
	uint32_t defno, wfno;
	MDB_val k, v;
	int rc;

	*fresh = NULL;
	if (unhex(wf->hash, raw))
		return docket_err_set(err, DOCKET_EINVAL, "workflow has no content hash");
	rc = docket_intern(st, txn, DOCKET_N_HASH, 0, (const char *)raw, 32, false, &defno, err);
	if (rc == 0) {
		if ((rc = docket_catalog_def(cat, st, txn, defno, d, err)))
			return rc;
	} else if (rc == DOCKET_ENOENT) {
		docket_def *n = calloc(1, sizeof *n);
		if (!n)
			return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
		*fresh = n;
		n->wf = wf;
		n->installed_at = now;
		if ((rc = docket_intern(st, txn, DOCKET_N_WORKFLOW, 0, wf->name, strlen(wf->name),
					true, &n->wfno, err)) ||
		    (rc = docket_intern(st, txn, DOCKET_N_PREFIX, 0, wf->prefix, strlen(wf->prefix),
					true, &n->prefixno, err)) ||
		    (rc = stage_ids(st, txn, n, true, err)) ||
		    (rc = last_defno(st, txn, &defno, err)))
			return rc;
		n->defno = ++defno;
		/* The hash maps straight to the defno (no id of its own). */
		uint8_t hk[5 + 32], dv[4];
		hk[0] = DOCKET_N_HASH;
		docket_be32(hk + 1, 0);
		memcpy(hk + 5, raw, 32);
		docket_be32(dv, n->defno);
		k.mv_size = sizeof hk;
		k.mv_data = hk;
		v.mv_size = 4;
		v.mv_data = dv;
		if ((rc = docket_store_put(st, txn, st->names, &k, &v, 0)))
			return mdberr(err, rc, "storing the definition hash");
		docket_be32(key, n->defno);
		k.mv_size = 4;
		k.mv_data = key;
		v.mv_size = DEFHEAD + wf->source_len;
		uint8_t *p = malloc(v.mv_size);
		if (!p)
			return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
		memcpy(p, raw, 32);
		docket_be32(p + 32, n->wfno);
		docket_be32(p + 36, n->prefixno);
		docket_be64(p + 40, (uint64_t)now);
		memcpy(p + DEFHEAD, wf->source, wf->source_len);
		v.mv_data = p;
		rc = docket_store_put(st, txn, st->defs, &k, &v, 0);
		free(p);
		if (rc)
			return mdberr(err, rc, "storing the definition");
		*d = n;
		info->new_definition = true;
	} else {
		return rc;
	}

	wfno = (*d)->wfno;
	docket_be32(key, wfno);
	k.mv_size = 4;
	k.mv_data = key;
	rc = mdb_get(txn, st->workflows, &k, &v);
	if (rc == 0 && v.mv_size == 4 && docket_rd32(v.mv_data) == (*d)->defno)
		return 0;
	if (rc == 0 && v.mv_size == 4) {
		docket_def *old;
		if (docket_catalog_def(cat, st, txn, docket_rd32(v.mv_data), &old, NULL) == 0)
			info->previous_version = old->wf->version;
	} else if (rc && rc != MDB_NOTFOUND) {
		return mdberr(err, rc, "reading the current definition");
	}
	docket_be32(cur, (*d)->defno);
	v.mv_size = 4;
	v.mv_data = cur;
	if ((rc = docket_store_put(st, txn, st->workflows, &k, &v, 0)))
		return mdberr(err, rc, "making the definition current");
	info->became_current = true;
	return 0;
}

int docket_catalog_install(docket_catalog *cat, docket_store *st, docket_workflow *wf,
			   int64_t now, docket_install_info *info, docket_err *err)
{
	docket_install_info tmp;
	docket_def *fresh = NULL, *d = NULL;
	MDB_txn *txn;
	int rc;

	if (!info)
		info = &tmp;
	for (;;) {
		memset(info, 0, sizeof *info);
		info->previous_version = -1;
		if ((rc = docket_store_begin(st, NULL, 0, &txn, err)))
			break;
		rc = install_txn(cat, st, txn, wf, now, &fresh, &d, info, err);
		if (rc == 0)
			rc = docket_store_commit(st, txn, "committing the definition", err);
		else
			docket_store_abort(st, txn);
		if (rc == 0 && fresh) {
			pthread_mutex_lock(&cat->lock);
			rc = cache_def(cat, fresh, err);
			pthread_mutex_unlock(&cat->lock);
			if (rc == 0)
				fresh = NULL;   /* the cache owns it, and wf with it */
		}
		if (rc == 0 && info->became_current)
			rc = set_current(cat, d->wfno, d, err);
		if (fresh) {
			fresh->wf = NULL;
			def_free(fresh);
			fresh = NULL;
		}
		if (rc != DOCKET_EMAPFULL)
			break;
		if ((rc = docket_store_grow(st, err)))
			break;
	}
	/* wf is now either the cached definition's or a duplicate to drop. */
	if (rc || !d || d->wf != wf)
		docket_workflow_free(wf);
	return rc;
}

uint64_t docket_def_roles(const docket_def *d, const docket_actor *a)
{
	uint64_t bits = 0;

	if (!a)
		return 0;
	for (size_t i = 0; i < a->nroles; i++)
		for (size_t j = 0; j < d->wf->nroles && j < 64; j++)
			if (!strcmp(a->roles[i], d->wf->roles[j]))
				bits |= UINT64_C(1) << j;
	return bits;
}

void docket_def_role_names(const docket_def *d, uint64_t mask, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = 0;
	for (size_t j = 0; j < d->wf->nroles && j < 64; j++) {
		if (!(mask & (UINT64_C(1) << j)))
			continue;
		int n = snprintf(buf + off, size - off, "%s%s", off ? ", " : "", d->wf->roles[j]);
		if (n < 0 || (size_t)n >= size - off)
			break;
		off += (size_t)n;
	}
}
