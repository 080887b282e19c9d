/*
 * internal.h - what engine.c, timer.c, query.c and check.c share: the
 * engine struct, the index keys, and loading a case by id.  Not for use
 * outside engine/.
 *
 * Index layouts (all integers big-endian, times biased by docket_tkey):
 *   bystage  wfno(4) sid(4) ckey(12)        -> entered(8) due(8, 0: no sla)
 *   byuser   userno(4) ckey(12)             -> ""
 *   sla      due(8) ckey(12)                -> wfno(4)
 *   timers   at(8) ckey(12) timer(1)        -> wfno(4) entry(4)
 *   outbox   notbefore(8) ckey(12)          -> wfno(4) entry(4) attempt(4)
 *   failed   ckey(12) kind(1) n(1)          -> since(8) wfno(4) reason
 */
#ifndef DOCKET_INTERNAL_H
#define DOCKET_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <lmdb.h>

#include "catalog.h"
#include "codec.h"
#include "engine.h"
#include "store.h"

#define KEY_BYSTAGE 20
#define KEY_BYUSER 16
#define KEY_SLA 20
#define KEY_TIMER 21
#define KEY_OUTBOX 20
#define KEY_FAILED 14

/* Kinds of entries in `failed`. */
#define FAILED_ACTION 'A'
#define FAILED_TIMER 'T'

/* What a reader works on.  Writes (docket_engine_apply) use the engine's
 * own buffers and reads use these, so one thread may apply a batch while
 * another reads (engine.h states the contract). */
struct docket_scratch {
	docket_buf rec;         /* a copy of the record being read */
	docket_case c;
	docket_hist h;
};

struct docket_engine {
	docket_store st;
	docket_catalog cat;
	struct docket_scratch rd;
	int64_t (*now_ms)(void *ctx);
	void *clock_ctx;
	int64_t grace_ms;
	docket_buf rec;         /* a copy of the record being worked on */
	docket_buf out;         /* the record being encoded */
	docket_case c;          /* the case being worked on */
	docket_value old[DOCKET_FIELDS_MAX];  /* its fields before a patch */
	docket_hist h;          /* the history entry being written or read */
};

/* Keys. */
void docket_ckey(uint8_t ckey[DOCKET_CKEY], uint32_t prefixno, uint64_t n);
void docket_key_bystage(uint8_t k[KEY_BYSTAGE], uint32_t wfno, uint32_t sid, const uint8_t *ckey);
void docket_key_byuser(uint8_t k[KEY_BYUSER], uint32_t userno, const uint8_t *ckey);
void docket_key_sla(uint8_t k[KEY_SLA], int64_t due, const uint8_t *ckey);
void docket_key_timer(uint8_t k[KEY_TIMER], int64_t at, const uint8_t *ckey, int timer);
void docket_key_outbox(uint8_t k[KEY_OUTBOX], int64_t nb, const uint8_t *ckey);
void docket_key_failed(uint8_t k[KEY_FAILED], const uint8_t *ckey, int kind, int n);

/* When the SLA of the case's stage runs out, 0 when it has none. */
int64_t docket_case_due(const docket_def *d, const docket_case *c);
/* When timer i of the case's stage fires. */
int64_t docket_timer_at(const docket_def *d, const docket_case *c, size_t i);

/* "SO-17" <-> key.  Parsing looks the prefix up; an id that names no
 * prefix or is malformed is DOCKET_ENOENT / DOCKET_EINVAL. */
int docket_id_parse(docket_engine *eng, MDB_txn *txn, const char *id,
		    uint8_t ckey[DOCKET_CKEY], docket_err *err);
void docket_id_format(const docket_def *d, const uint8_t *ckey, char buf[DOCKET_ID_MAX]);
/* The id of a key whose definition is not at hand (messages of check). */
void docket_id_unknown(docket_engine *eng, MDB_txn *txn, const uint8_t *ckey,
		       char buf[DOCKET_ID_MAX]);

/* Load the case at ckey into *c with its definition.  The record is copied
 * first (into rec: the engine's own for writes, eng->rd.rec for reads):
 * strings in c stay valid across writes in the same transaction, until the
 * next load into rec.  DOCKET_ENOENT when there is none. */
int docket_case_load(docket_engine *eng, docket_buf *rec, MDB_txn *txn, const uint8_t *ckey,
		     docket_case *c, docket_def **d, docket_err *err);

/* The actor's reading rights: every field for admin and system. */
bool docket_can_see(const docket_def *d, const docket_field *f, const docket_actor *who);

/* JSON for a value of field f; dates as "YYYY-MM-DD". */
json_t *docket_value_json(const docket_field *f, const docket_value *v);

/* RFC 3339 UTC with milliseconds: "2024-05-01T09:30:00.000Z". */
void docket_time_format(int64_t ms, char buf[64]);
json_t *docket_time_json(int64_t ms);

#endif
