/*
 * output.c - tables, ages, local times and colour for people at a terminal.
 *
 * Widths come from the C library (mbrtowc, wcwidth) under a UTF-8 LC_CTYPE,
 * so a customer named "株式会社" lines up with one named "ACME".  Cells are
 * cleaned when they are added (control characters and broken UTF-8 become
 * '?'), so what is measured is exactly what is printed.
 */
#include "output.h"

#include <langinfo.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

void cli_output_init(void)
{
	if (!setlocale(LC_CTYPE, "") || strcmp(nl_langinfo(CODESET), "UTF-8"))
		setlocale(LC_CTYPE, "C.UTF-8");
}

bool cli_colour_wanted(FILE *out)
{
	const char *no = getenv("NO_COLOR");

	if (no && *no)
		return false;
	return isatty(fileno(out)) == 1;
}

const char *cli_on(cli_style s, bool colour)
{
	static const char *const esc[] = {
		[CLI_PLAIN] = "", [CLI_BOLD] = "\033[1m", [CLI_DIM] = "\033[2m",
		[CLI_RED] = "\033[31m", [CLI_YELLOW] = "\033[33m", [CLI_GREEN] = "\033[32m",
	};
	return colour && s > CLI_PLAIN && s <= CLI_GREEN ? esc[s] : "";
}

const char *cli_off(bool colour)
{
	return colour ? "\033[0m" : "";
}

static bool is_control(wchar_t wc)
{
	return wc < 0x20 || wc == 0x7f || (wc >= 0x80 && wc < 0xa0);
}

/* Walk s one character at a time: *len gets its bytes, the result its
 * columns, and *bad whether it must be shown as '?'. */
static int next_char(const char *s, size_t left, size_t *len, bool *bad)
{
	mbstate_t st;
	wchar_t wc;
	size_t n;

	memset(&st, 0, sizeof st);
	n = mbrtowc(&wc, s, left, &st);
	if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
		*len = 1;
		*bad = true;
		return 1;
	}
	*len = n;
	*bad = is_control(wc);
	if (*bad)
		return 1;
	int w = wcwidth(wc);
	return w < 0 ? 1 : w;
}

size_t cli_text_width(const char *s)
{
	size_t left = strlen(s), w = 0, len;
	bool bad;

	while (left) {
		w += (size_t)next_char(s, left, &len, &bad);
		s += len;
		left -= len;
	}
	return w;
}

/* A copy of s with every character cli_put would replace replaced. */
static char *clean(const char *s)
{
	size_t left = strlen(s), len, o = 0;
	char *out = malloc(left + 1);
	bool bad;

	if (!out)
		return NULL;
	while (left) {
		next_char(s, left, &len, &bad);
		if (bad) {
			out[o++] = '?';
		} else {
			memcpy(out + o, s, len);
			o += len;
		}
		s += len;
		left -= len;
	}
	out[o] = '\0';
	return out;
}

size_t cli_put(FILE *out, const char *s)
{
	char *c = clean(s);

	if (!c)
		return 0;
	fputs(c, out);
	size_t w = cli_text_width(c);
	free(c);
	return w;
}

void cli_duration(char *buf, size_t n, int64_t secs)
{
	static const struct { int64_t s; char u; } units[] = {
		{7 * 86400, 'w'}, {86400, 'd'}, {3600, 'h'}, {60, 'm'},
	};
	uint64_t a = secs < 0 ? (uint64_t)0 - (uint64_t)secs : (uint64_t)secs;

	for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
		/* weeks only from two of them: "10d" reads better than "1w" */
		uint64_t from = units[i].u == 'w' ? 14 * 86400 : (uint64_t)units[i].s;
		if (a >= from) {
			snprintf(buf, n, "%llu%c", (unsigned long long)(a / (uint64_t)units[i].s),
				 units[i].u);
			return;
		}
	}
	snprintf(buf, n, "%llus", (unsigned long long)a);
}

void cli_age(char *buf, size_t n, int64_t secs)
{
	char d[32];

	if (secs == 0) {
		snprintf(buf, n, "just now");
		return;
	}
	cli_duration(d, sizeof d, secs);
	if (secs > 0)
		snprintf(buf, n, "%s ago", d);
	else
		snprintf(buf, n, "in %s", d);
}

int cli_time_parse(const char *s, int64_t *out)
{
	struct tm tm;
	int used = 0;

	memset(&tm, 0, sizeof tm);
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
			 &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6 || !used)
		return -1;
	s += used;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			;
	if (strcmp(s, "Z") && strcmp(s, "+00:00"))
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

void cli_time_local(char *buf, size_t n, int64_t secs)
{
	time_t t = (time_t)secs;
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M", &tm))
		snprintf(buf, n, "?");
}

/* --- tables ------------------------------------------------------------- */

struct cli_table {
	size_t ncols, nrows, cap;
	char **cells;           /* (nrows + 1) * ncols, the header first */
	cli_style *style;       /* per row, header excluded */
	bool *right;            /* per column */
};

cli_table *cli_table_new(size_t ncols, const char *const *heads)
{
	cli_table *t = calloc(1, sizeof *t);

	if (!t)
		return NULL;
	t->ncols = ncols;
	t->right = calloc(ncols ? ncols : 1, sizeof *t->right);
	t->cells = calloc(ncols ? ncols : 1, sizeof *t->cells);
	if (!t->right || !t->cells)
		goto err;
	for (size_t i = 0; i < ncols; i++)
		if (!(t->cells[i] = clean(heads[i])))
			goto err;
	return t;
err:
	cli_table_free(t);
	return NULL;
}

void cli_table_free(cli_table *t)
{
	if (!t)
		return;
	if (t->cells)
		for (size_t i = 0; i < (t->nrows + 1) * t->ncols; i++)
			free(t->cells[i]);
	free(t->cells);
	free(t->style);
	free(t->right);
	free(t);
}

void cli_table_right(cli_table *t, size_t col)
{
	if (col < t->ncols)
		t->right[col] = true;
}

size_t cli_table_rows(const cli_table *t)
{
	return t->nrows;
}

int cli_table_add(cli_table *t, cli_style s, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **c = realloc(t->cells, (cap + 1) * t->ncols * sizeof *c);
		if (!c)
			return -1;
		t->cells = c;
		cli_style *st = realloc(t->style, cap * sizeof *st);
		if (!st)
			return -1;
		t->style = st;
		t->cap = cap;
	}
	char **row = t->cells + (t->nrows + 1) * t->ncols;
	for (size_t i = 0; i < t->ncols; i++) {
		row[i] = clean(cells[i] ? cells[i] : "-");
		if (!row[i]) {
			while (i--)
				free(row[i]);
			return -1;
		}
	}
	t->style[t->nrows++] = s;
	return 0;
}

static void pad(FILE *out, size_t n)
{
	while (n--)
		fputc(' ', out);
}

void cli_table_print(const cli_table *t, FILE *out, bool colour)
{
	size_t *w = calloc(t->ncols ? t->ncols : 1, sizeof *w);

	if (!w)
		return;
	for (size_t r = 0; r <= t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t cw = cli_text_width(t->cells[r * t->ncols + c]);
			if (cw > w[c])
				w[c] = cw;
		}
	for (size_t r = 0; r <= t->nrows; r++) {
		cli_style s = r ? t->style[r - 1] : CLI_BOLD;
		char **row = t->cells + r * t->ncols;
		size_t end = t->ncols;
		/* Empty cells at the end of a row leave no trailing blanks. */
		while (end > 1 && !*row[end - 1] && !t->right[end - 1])
			end--;
		fputs(cli_on(s, colour), out);
		for (size_t c = 0; c < end; c++) {
			const char *cell = row[c];
			size_t gap = w[c] - cli_text_width(cell);
			bool last = c + 1 == end;
			if (t->right[c])
				pad(out, gap);
			fputs(cell, out);
			if (!last && !t->right[c])
				pad(out, gap);
			if (!last)
				fputs("  ", out);
		}
		if (s != CLI_PLAIN)
			fputs(cli_off(colour), out);
		fputc('\n', out);
	}
	free(w);
}
