/*
 * codec.h - the byte layout of stored records: cases and history entries.
 *
 * Records are compact binary: a format byte, then LEB128 varints (signed
 * ones zigzagged), length-prefixed strings and tagged values.  Fields are
 * stored by their index in the case's own definition, and only when set,
 * so a record never names a field and never holds a null.  docs/design.md
 * has the measurements against JSON that chose this.
 *
 * Decoding never allocates: strings in a decoded record point into the
 * bytes decoded (LMDB memory, valid until the transaction ends).  A record
 * that does not decode cleanly is DOCKET_ECORRUPT, never a crash.
 */
#ifndef DOCKET_CODEC_H
#define DOCKET_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "field.h"

/* A growable output buffer.  Out of memory is remembered (oom) and
 * reported once, when the record is finished. */
typedef struct docket_buf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
} docket_buf;

void docket_buf_reset(docket_buf *b);
void docket_buf_free(docket_buf *b);
void docket_buf_put(docket_buf *b, const void *p, size_t n);
void docket_buf_u8(docket_buf *b, uint8_t v);
void docket_buf_uv(docket_buf *b, uint64_t v);
void docket_buf_sv(docket_buf *b, int64_t v);
void docket_buf_str(docket_buf *b, const char *p, size_t n);
void docket_buf_value(docket_buf *b, const docket_value *v);

/* A reader over bytes; any overrun or malformed varint sets bad. */
typedef struct docket_rd {
	const uint8_t *p, *end;
	bool bad;
} docket_rd;

uint8_t docket_rd_u8(docket_rd *r);
uint64_t docket_rd_uv(docket_rd *r);
int64_t docket_rd_sv(docket_rd *r);
const char *docket_rd_str(docket_rd *r, uint32_t *len);
void docket_rd_value(docket_rd *r, docket_value *v);

/* --- case record -------------------------------------------------------- */

#define DOCKET_CASE_FORMAT 1

enum {
	DOCKET_CF_OUTBOX = 1,   /* an action run is queued (outbox entry) */
	DOCKET_CF_FAILED = 2,   /* the stage's action failed for good */
	DOCKET_CF_PARKED = 4,   /* a timer of this stage entry was refused */
};

typedef struct docket_case {
	uint32_t defno;         /* the definition it runs under */
	uint32_t stage;         /* stage index in that definition */
	int64_t created, updated, entered;  /* ms; entered = into this stage */
	uint32_t seq;           /* last history seq (entries 1..seq exist) */
	uint32_t entry;         /* history seq that entered the stage */
	uint64_t head;          /* history key (gseq) of entry `seq` */
	uint32_t flags;         /* DOCKET_CF_* */
	int64_t notbefore;      /* outbox: when the next attempt may run */
	uint32_t attempt;       /* outbox: attempts made before this one */
	const char *assignee;   /* not NUL-terminated; NULL when unassigned */
	uint32_t assignee_len;
	uint32_t nfields;       /* entries of fields[] in use */
	docket_value fields[DOCKET_FIELDS_MAX];
} docket_case;

/* Encode c into b (reset first).  Returns 0 or DOCKET_ENOMEM. */
int docket_case_encode(const docket_case *c, docket_buf *b);

/* Decode; nfields is the definition's field count (fields past the record
 * are null).  Returns 0 or DOCKET_ECORRUPT. */
int docket_case_decode(const void *p, size_t len, uint32_t nfields, docket_case *c);

/* Only the definition number, to learn nfields before decoding. */
int docket_case_defno(const void *p, size_t len, uint32_t *defno);

/* --- history entry ------------------------------------------------------ */

#define DOCKET_HIST_FORMAT 1

typedef enum docket_hkind {
	DOCKET_H_CREATE = 1,
	DOCKET_H_EVENT,
	DOCKET_H_NOTE,
	DOCKET_H_ASSIGN,
	DOCKET_H_ACTION_DONE,
	DOCKET_H_ACTION_RETRY,
	DOCKET_H_ACTION_FAILED,
	DOCKET_H_TIMER_REFUSED,
	DOCKET_H_RETRY,
	DOCKET_H_KIND_END
} docket_hkind;

/* The name a history kind has in JSON ("create", "event", ...). */
const char *docket_hkind_name(docket_hkind k);

typedef struct docket_hist {
	uint8_t ckey[12];       /* the case */
	uint32_t seq;           /* 1, 2, ... within the case */
	uint64_t prev;          /* gseq of entry seq-1, 0 for the first */
	int64_t at;
	docket_hkind kind;
	uint32_t defno;         /* definition the stage/event/field indexes use */
	int32_t from, to;       /* stage indexes, -1 for none */
	int32_t event;          /* event index in stage `from`, -1 for none */
	const char *actor;
	uint32_t actor_len;
	const char *note;       /* NULL for none */
	uint32_t note_len;
	const char *text;       /* assignee (ASSIGN) or reason; NULL for none */
	uint32_t text_len;
	uint32_t nchanges;
	uint16_t chg_field[DOCKET_FIELDS_MAX];
	docket_value chg[DOCKET_FIELDS_MAX];  /* null: the field was unset */
} docket_hist;

int docket_hist_encode(const docket_hist *h, docket_buf *b);
int docket_hist_decode(const void *p, size_t len, docket_hist *h);

#endif
