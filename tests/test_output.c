/* What `docket` prints for people: ages and durations as a clerk says
 * them, local times, tables that line up (also with wide characters),
 * user data that cannot drive the terminal, colour only on a terminal. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/output.h"

static void durations_use_the_largest_unit(void **state)
{
	(void)state;
	static const struct { int64_t s; const char *want; } cases[] = {
		{0, "0s"}, {59, "59s"}, {60, "1m"}, {3599, "59m"}, {3600, "1h"},
		{3 * 3600 + 59 * 60, "3h"}, {86400, "1d"}, {13 * 86400, "13d"},
		{14 * 86400, "2w"}, {30 * 86400, "4w"}, {-7200, "2h"},
	};
	char buf[32];

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		cli_duration(buf, sizeof buf, cases[i].s);
		assert_string_equal(buf, cases[i].want);
	}
}

static void ages_say_ago_or_in(void **state)
{
	(void)state;
	char buf[32];

	cli_age(buf, sizeof buf, 3 * 3600 + 120);
	assert_string_equal(buf, "3h ago");
	cli_age(buf, sizeof buf, -2 * 86400 - 5);
	assert_string_equal(buf, "in 2d");
	cli_age(buf, sizeof buf, 0);
	assert_string_equal(buf, "just now");
	cli_age(buf, sizeof buf, 45);
	assert_string_equal(buf, "45s ago");
}

static void daemon_times_parse(void **state)
{
	(void)state;
	int64_t t;

	assert_int_equal(cli_time_parse("2024-05-01T14:03:00.123Z", &t), 0);
	assert_int_equal(t, 1714572180);
	assert_int_equal(cli_time_parse("2024-05-01T14:03:00Z", &t), 0);
	assert_int_equal(t, 1714572180);
	assert_int_equal(cli_time_parse("1970-01-01T00:00:00+00:00", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(cli_time_parse("2024-05-01 14:03", &t), -1);
	assert_int_equal(cli_time_parse("2024-05-01T14:03:00+02:00", &t), -1);
	assert_int_equal(cli_time_parse("", &t), -1);
	assert_int_equal(cli_time_parse(NULL, &t), -1);
}

static void times_print_in_local_time(void **state)
{
	(void)state;
	char buf[32];
	const char *old = getenv("TZ");
	char *saved = old ? strdup(old) : NULL;

	setenv("TZ", "UTC0", 1);
	tzset();
	cli_time_local(buf, sizeof buf, 1714572180);
	assert_string_equal(buf, "2024-05-01 14:03");
	/* Central European summer time, spelled out so no tzdata is needed. */
	setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
	tzset();
	cli_time_local(buf, sizeof buf, 1714572180);
	assert_string_equal(buf, "2024-05-01 16:03");
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
}

static void widths_count_columns_not_bytes(void **state)
{
	(void)state;
	assert_int_equal(cli_text_width("ACME"), 4);
	assert_int_equal(cli_text_width("株式会社"), 8);      /* wide: 2 each */
	assert_int_equal(cli_text_width("Müller"), 6);
	assert_int_equal(cli_text_width("Mu\xcc\x88ller"), 6); /* combining diaeresis */
	assert_int_equal(cli_text_width("\xff\xfe"), 2);       /* not UTF-8: a column a byte */
	assert_int_equal(cli_text_width(""), 0);
}

/* Print t into a string. */
static char *render(const cli_table *t, bool colour)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	assert_non_null(f);
	cli_table_print(t, f, colour);
	fclose(f);
	return s;
}

static void tables_line_up(void **state)
{
	(void)state;
	static const char *const heads[] = {"CASE", "CUSTOMER", "N"};
	cli_table *t = cli_table_new(3, heads);

	assert_non_null(t);
	cli_table_right(t, 2);
	assert_int_equal(cli_table_add(t, CLI_PLAIN, (const char *[]){"SO-1", "ACME", "5"}), 0);
	assert_int_equal(cli_table_add(t, CLI_RED, (const char *[]){"SO-12", "株式会社", "40"}), 0);
	assert_int_equal(cli_table_add(t, CLI_PLAIN, (const char *[]){"SO-3", NULL, "100"}), 0);
	assert_int_equal(cli_table_rows(t), 3);
	char *s = render(t, false);
	assert_string_equal(s,
		"CASE   CUSTOMER    N\n"
		"SO-1   ACME        5\n"
		"SO-12  株式会社   40\n"
		"SO-3   -         100\n");
	free(s);
	cli_table_free(t);
}

static void tables_grow_past_their_first_allocation(void **state)
{
	(void)state;
	static const char *const heads[] = {"N"};
	cli_table *t = cli_table_new(1, heads);
	char buf[16];

	for (int i = 0; i < 100; i++) {
		snprintf(buf, sizeof buf, "%d", i);
		assert_int_equal(cli_table_add(t, CLI_PLAIN, (const char *[]){buf}), 0);
	}
	char *s = render(t, false);
	assert_non_null(strstr(s, "\n99\n"));
	free(s);
	cli_table_free(t);
}

static void control_characters_never_reach_the_terminal(void **state)
{
	(void)state;
	static const char *const heads[] = {"NOTE"};
	cli_table *t = cli_table_new(1, heads);
	char *s = NULL;
	size_t n = 0;

	cli_table_add(t, CLI_PLAIN, (const char *[]){"a\033[2Jb\tc\xc2\x9b" "d"});
	char *out = render(t, false);
	assert_string_equal(out, "NOTE\na?[2Jb?c?d\n");
	free(out);
	cli_table_free(t);

	FILE *f = open_memstream(&s, &n);
	assert_int_equal(cli_put(f, "x\ry\x7fz"), 5);
	fclose(f);
	assert_string_equal(s, "x?y?z");
	free(s);
}

static void colour_only_on_a_terminal_without_no_color(void **state)
{
	(void)state;
	char *s = NULL;
	size_t n = 0;
	FILE *mem = open_memstream(&s, &n);

	unsetenv("NO_COLOR");
	assert_false(cli_colour_wanted(mem));       /* a pipe or file: never */
	fclose(mem);
	free(s);

	int master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) || unlockpt(master)) {
		if (master >= 0)
			close(master);
		skip();
	}
	FILE *tty = fopen(ptsname(master), "w");
	assert_non_null(tty);
	assert_true(cli_colour_wanted(tty));
	setenv("NO_COLOR", "1", 1);
	assert_false(cli_colour_wanted(tty));
	setenv("NO_COLOR", "", 1);                 /* empty counts as unset */
	assert_true(cli_colour_wanted(tty));
	unsetenv("NO_COLOR");
	fclose(tty);
	close(master);
}

static void colour_off_prints_no_escapes(void **state)
{
	(void)state;
	static const char *const heads[] = {"CASE"};
	cli_table *t = cli_table_new(1, heads);

	cli_table_add(t, CLI_RED, (const char *[]){"SO-1"});
	char *plain = render(t, false), *coloured = render(t, true);
	assert_null(strchr(plain, '\033'));
	assert_non_null(strstr(coloured, "\033[1mCASE\033[0m"));
	assert_non_null(strstr(coloured, "\033[31mSO-1\033[0m"));
	assert_string_equal(cli_on(CLI_RED, false), "");
	assert_string_equal(cli_off(false), "");
	free(plain);
	free(coloured);
	cli_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(durations_use_the_largest_unit),
		cmocka_unit_test(ages_say_ago_or_in),
		cmocka_unit_test(daemon_times_parse),
		cmocka_unit_test(times_print_in_local_time),
		cmocka_unit_test(widths_count_columns_not_bytes),
		cmocka_unit_test(tables_line_up),
		cmocka_unit_test(tables_grow_past_their_first_allocation),
		cmocka_unit_test(control_characters_never_reach_the_terminal),
		cmocka_unit_test(colour_only_on_a_terminal_without_no_color),
		cmocka_unit_test(colour_off_prints_no_escapes),
	};
	cli_output_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
