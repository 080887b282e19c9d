/*
 * diag.c - the diagnostics list.  Messages are formatted once, when added;
 * printing sorts by position so output reads top to bottom like the file,
 * whatever order the checks ran in.
 */
#include "diag.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX 1000

void docket_diags_init(docket_diags *d, const char *file)
{
	memset(d, 0, sizeof *d);
	d->file = file;
}

void docket_diags_add(docket_diags *d, docket_severity sev, int line, int col,
		      const char *hint, const char *fmt, ...)
{
	size_t max = d->max ? d->max : DEFAULT_MAX;
	char buf[1024];
	va_list ap;

	if (sev == DOCKET_DIAG_ERROR)
		d->errors++;
	else
		d->warnings++;
	if (d->n >= max)
		return;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		docket_diag *v = realloc(d->v, cap * sizeof *v);
		if (!v)
			return;
		d->v = v;
		d->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	docket_diag *x = &d->v[d->n];
	x->sev = sev;
	x->line = line;
	x->col = col;
	x->msg = strdup(buf);
	x->hint = hint ? strdup(hint) : NULL;
	if (!x->msg)
		return;
	d->n++;
}

static int bypos(const void *a, const void *b)
{
	const docket_diag *x = a, *y = b;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return 0;
}

void docket_diags_print(const docket_diags *d, FILE *out)
{
	docket_diag *v;
	size_t i;

	if (!d->n)
		return;
	/* Sort a copy: printing must not reorder what callers may inspect. */
	v = malloc(d->n * sizeof *v);
	if (v) {
		memcpy(v, d->v, d->n * sizeof *v);
		qsort(v, d->n, sizeof *v, bypos);
	} else {
		v = d->v;
	}
	for (i = 0; i < d->n; i++) {
		const docket_diag *x = &v[i];
		const char *sev = x->sev == DOCKET_DIAG_ERROR ? "error" : "warning";
		if (x->line > 0)
			fprintf(out, "%s:%d:%d: %s: %s", d->file, x->line, x->col, sev, x->msg);
		else
			fprintf(out, "%s: %s: %s", d->file, sev, x->msg);
		if (x->hint)
			fprintf(out, " \xe2\x80\x94 %s", x->hint);
		fputc('\n', out);
	}
	size_t total = d->errors + d->warnings;
	if (total > d->n)
		fprintf(out, "%s: note: %zu more diagnostics not shown\n", d->file, total - d->n);
	if (v != d->v)
		free(v);
}

void docket_diags_free(docket_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].msg);
		free(d->v[i].hint);
	}
	free(d->v);
	d->v = NULL;
	d->n = d->cap = 0;
}

/* Damerau-free Levenshtein on short words; names longer than this are not
 * typos worth guessing at. */
#define SUGGEST_MAXLEN 64

static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[SUGGEST_MAXLEN + 1];

	if (la > SUGGEST_MAXLEN || lb > SUGGEST_MAXLEN)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = diag + cost;
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *docket_suggest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t bestd = SIZE_MAX, len = strlen(word);
	/* Allow one edit in short words, about a third of the word in long ones. */
	size_t limit = len < 4 ? 1 : len / 3 + 1;

	for (size_t i = 0; i < n; i++) {
		size_t dd = distance(word, cands[i]);
		if (dd < bestd) {
			bestd = dd;
			best = cands[i];
		}
	}
	return bestd > 0 && bestd <= limit ? best : NULL;
}

const char *docket_clip(const char *s, size_t max, char *buf)
{
	size_t n = strlen(s);

	if (n <= max)
		return s;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	memcpy(buf, s, max);
	memcpy(buf + max, "...", 4);
	return buf;
}
