/*
 * output.h - what `docket` prints for people: aligned tables, ages and
 * local times, colour on a terminal only.
 *
 * Nothing here talks to the daemon or reads the clock: callers pass "now",
 * so the same case prints the same way in a test and at a desk.  Text from
 * the daemon is user data (a note may hold anything), so every string goes
 * through cli_put/cli_table, which replace control characters: a case can
 * never move the cursor or recolour a clerk's terminal.
 */
#ifndef DOCKET_CLI_OUTPUT_H
#define DOCKET_CLI_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Make width computations UTF-8 aware: the user's LC_CTYPE when it is
 * UTF-8, else C.UTF-8 (the daemon always speaks UTF-8).  Call once. */
void cli_output_init(void);

/* Colour is for people: only when out is a terminal and NO_COLOR is not
 * set to a non-empty value (no-color.org). */
bool cli_colour_wanted(FILE *out);

typedef enum {
	CLI_PLAIN = 0,
	CLI_BOLD,
	CLI_DIM,
	CLI_RED,
	CLI_YELLOW,
	CLI_GREEN,
} cli_style;

/* The escape that starts a style and the one that ends it; "" when colour
 * is off. */
const char *cli_on(cli_style s, bool colour);
const char *cli_off(bool colour);

/* Terminal columns s takes: wide (CJK) characters count 2, combining
 * marks 0, bytes that are not UTF-8 one each. */
size_t cli_text_width(const char *s);

/* Write s with control characters (and DEL) shown as '?' so user data
 * cannot drive the terminal.  Returns the columns written. */
size_t cli_put(FILE *out, const char *s);

/* A span of seconds as people say it: "45s", "12m", "3h", "5d", "3w".
 * The unit is the largest that fits, rounded down; negative spans are
 * shown by their size. */
void cli_duration(char *buf, size_t n, int64_t secs);

/* How long ago (secs > 0) or how far ahead (secs < 0): "3h ago", "in 2d",
 * "just now" (under a second either way). */
void cli_age(char *buf, size_t n, int64_t secs);

/* Parse an RFC 3339 time in UTC as the daemon sends it
 * ("2024-05-01T14:03:00.123Z") to seconds since the epoch.  Returns 0, or
 * -1 when s is not such a time. */
int cli_time_parse(const char *s, int64_t *out);

/* Seconds since the epoch as local time, "2024-05-01 16:03". */
void cli_time_local(char *buf, size_t n, int64_t secs);

/* A table: a header row and rows of cells, printed with each column as
 * wide as its widest cell, two spaces apart, the last column unpadded.
 * The table owns copies of everything added to it. */
typedef struct cli_table cli_table;

/* heads: ncols column titles.  NULL when out of memory. */
cli_table *cli_table_new(size_t ncols, const char *const *heads);
void cli_table_free(cli_table *t);

/* Right-align a column (numbers, durations). */
void cli_table_right(cli_table *t, size_t col);

/* Append a row of ncols cells (NULL cells print as "-") in style s.
 * Returns 0, or -1 when out of memory. */
int cli_table_add(cli_table *t, cli_style s, const char *const *cells);

size_t cli_table_rows(const cli_table *t);

/* Print the table; the header bold and each row in its style when colour
 * is on. */
void cli_table_print(const cli_table *t, FILE *out, bool colour);

#endif
