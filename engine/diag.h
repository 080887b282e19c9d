/*
 * diag.h - diagnostics with positions, for everything that reads a file a
 * person wrote.  Validation collects every mistake instead of stopping at
 * the first, so a process owner fixes a file in one pass.  Printed in the
 * format compilers use (file:line:column: error: message), which editors
 * know how to jump to.
 */
#ifndef DOCKET_DIAG_H
#define DOCKET_DIAG_H

#include <stdio.h>
#include <stddef.h>

typedef enum { DOCKET_DIAG_ERROR, DOCKET_DIAG_WARNING } docket_severity;

typedef struct docket_diag {
	docket_severity sev;
	int line, col;      /* 1-based; 0 when the mistake has no position */
	char *msg;          /* owned by the list */
	char *hint;         /* NULL, or "did you mean 'owner'?"; owned */
} docket_diag;

typedef struct docket_diags {
	const char *file;   /* borrowed: the name printed before each line */
	docket_diag *v;
	size_t n, cap;
	size_t errors, warnings;
	size_t max;         /* stop recording after this many (0: 1000) */
} docket_diags;

/* Start an empty list that names `file` in what it prints. */
void docket_diags_init(docket_diags *d, const char *file);

/* Record one diagnostic.  hint may be NULL.  Out of memory or past the
 * maximum, the diagnostic is counted but not kept. */
void docket_diags_add(docket_diags *d, docket_severity sev, int line, int col,
		      const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* Print every diagnostic, sorted by position, one line each:
 * "file:line:col: error: msg — hint". */
void docket_diags_print(const docket_diags *d, FILE *out);

void docket_diags_free(docket_diags *d);

/* The closest of `cands` to `word` by edit distance, or NULL when none is
 * close enough to be a plausible typo.  For "did you mean" hints. */
const char *docket_suggest(const char *word, const char *const *cands, size_t n);

/* At most `max` bytes of s for a message, cut on a character boundary
 * (messages stay valid UTF-8) and marked with "..." when cut: s itself, or
 * buf (at least max + 4 bytes) holding the cut copy. */
const char *docket_clip(const char *s, size_t max, char *buf);

#endif
