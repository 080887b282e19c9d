/* The YAML reader: positions, core-schema resolution, and every file it
 * refuses, with the message and position a process owner would see. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <math.h>
#include <unistd.h>
#include <cmocka.h>

#include "error.h"
#include "yamldoc.h"

/* Parse text; return the document (or NULL) and leave diagnostics in d. */
static docket_ydoc *parse(const char *text, size_t len, docket_diags *d, int *rc)
{
	docket_ydoc *doc = NULL;
	docket_diags_init(d, "t.yaml");
	*rc = docket_ydoc_parse(text, len, &doc, d);
	return doc;
}

static char *print(const docket_diags *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	docket_diags_print(d, f);
	fclose(f);
	return buf;
}

/* Assert that text is refused with exactly one error containing `frag`
 * at line:col. */
static void refused_at(const char *text, size_t len, int line, int col, const char *frag)
{
	docket_diags d;
	int rc;
	docket_ydoc *doc = parse(text, len, &d, &rc);

	assert_null(doc);
	assert_true(rc < 0);
	assert_int_equal(d.errors, 1);
	assert_int_equal(d.v[0].line, line);
	assert_int_equal(d.v[0].col, col);
	if (!strstr(d.v[0].msg, frag))
		fail_msg("'%s' not in '%s'", frag, d.v[0].msg);
	docket_diags_free(&d);
}

#define REFUSED(text, line, col, frag) refused_at(text, sizeof(text) - 1, line, col, frag)

static void positions_are_one_based(void **state)
{
	(void)state;
	static const char text[] =
		"# comment\n"
		"workflow: x\n"
		"stages:\n"
		"  a:\n"
		"    on: {go: {to: b}}\n"
		"  list:\n"
		"    - one\n"
		"    - 'two'\n";
	docket_diags d;
	int rc;
	docket_ydoc *doc = parse(text, sizeof text - 1, &d, &rc);
	assert_int_equal(rc, 0);
	const docket_ynode *root = docket_ydoc_root(doc);
	assert_int_equal(root->kind, DOCKET_Y_MAP);
	assert_int_equal(root->n, 2);
	assert_int_equal(root->keys[0]->line, 2);
	assert_int_equal(root->keys[0]->col, 1);
	assert_int_equal(root->items[0]->col, 11);
	const docket_ynode *stages = docket_ynode_get(root, "stages");
	const docket_ynode *on = docket_ynode_get(docket_ynode_get(stages, "a"), "on");
	assert_int_equal(on->kind, DOCKET_Y_MAP);
	assert_int_equal(on->line, 5);
	assert_int_equal(on->col, 9);
	const docket_ynode *to = docket_ynode_get(docket_ynode_get(on, "go"), "to");
	assert_string_equal(to->str, "b");
	assert_int_equal(to->line, 5);
	assert_int_equal(to->col, 19);
	const docket_ynode *list = docket_ynode_get(stages, "list");
	assert_int_equal(list->kind, DOCKET_Y_SEQ);
	assert_int_equal(list->n, 2);
	assert_int_equal(list->items[1]->line, 8);
	assert_int_equal(list->items[1]->col, 7);
	assert_true(list->items[1]->quoted);
	assert_null(docket_ynode_get(root, "missing"));
	docket_ydoc_free(doc);
	docket_diags_free(&d);
}

static const docket_ynode *value_of(const docket_ydoc *doc, const char *key)
{
	const docket_ynode *n = docket_ynode_get(docket_ydoc_root(doc), key);
	if (!n)
		fail_msg("no key '%s'", key);
	return n;
}

static void core_schema_resolution(void **state)
{
	(void)state;
	static const char text[] =
		"on: yes\n"
		"off: no\n"
		"t: true\n"
		"f: FALSE\n"
		"qt: \"true\"\n"
		"hex: 0x1F\n"
		"oct: 0o17\n"
		"neg: -42\n"
		"flt: 1.5e3\n"
		"inf: -.inf\n"
		"nul: ~\n"
		"empty:\n"
		"qn: '1'\n"
		"block: |\n  7\n"
		"big: 99999999999999999999\n"
		"y: y\n"
		"ver: 1.2.3\n";
	docket_diags d;
	int rc;
	bool b;
	int64_t i;
	double x;
	docket_ydoc *doc = parse(text, sizeof text - 1, &d, &rc);
	assert_int_equal(rc, 0);

	/* `on` and `off` are keys like any other, and yes/no/y are strings. */
	assert_true(docket_ynode_is_string(value_of(doc, "on")));
	assert_false(docket_ynode_bool(value_of(doc, "on"), &b));
	assert_true(docket_ynode_is_string(value_of(doc, "off")));
	assert_true(docket_ynode_is_string(value_of(doc, "y")));
	assert_true(docket_ynode_bool(value_of(doc, "t"), &b) && b);
	assert_true(docket_ynode_bool(value_of(doc, "f"), &b) && !b);
	assert_false(docket_ynode_bool(value_of(doc, "qt"), &b));
	assert_true(docket_ynode_is_string(value_of(doc, "qt")));
	assert_true(docket_ynode_int(value_of(doc, "hex"), &i));
	assert_int_equal(i, 31);
	assert_true(docket_ynode_int(value_of(doc, "oct"), &i));
	assert_int_equal(i, 15);
	assert_true(docket_ynode_int(value_of(doc, "neg"), &i));
	assert_int_equal(i, -42);
	assert_false(docket_ynode_int(value_of(doc, "flt"), &i));
	assert_true(docket_ynode_number(value_of(doc, "flt"), &x));
	assert_true(x == 1500.0);
	assert_true(docket_ynode_number(value_of(doc, "hex"), &x) && x == 31.0);
	assert_true(docket_ynode_number(value_of(doc, "inf"), &x) && isinf(x) && x < 0);
	assert_true(docket_ynode_is_null(value_of(doc, "nul")));
	assert_true(docket_ynode_is_null(value_of(doc, "empty")));
	assert_false(docket_ynode_int(value_of(doc, "qn"), &i));
	assert_true(docket_ynode_is_string(value_of(doc, "qn")));
	assert_false(docket_ynode_int(value_of(doc, "block"), &i));
	assert_string_equal(value_of(doc, "block")->str, "7\n");
	assert_false(docket_ynode_int(value_of(doc, "big"), &i)); /* out of range */
	assert_string_equal(docket_ynode_describe(value_of(doc, "big")), "integer");
	assert_true(docket_ynode_is_string(value_of(doc, "ver")));

	assert_string_equal(docket_ynode_describe(docket_ydoc_root(doc)), "mapping");
	assert_string_equal(docket_ynode_describe(value_of(doc, "hex")), "integer");
	assert_string_equal(docket_ynode_describe(value_of(doc, "flt")), "number");
	assert_string_equal(docket_ynode_describe(value_of(doc, "t")), "boolean");
	assert_string_equal(docket_ynode_describe(value_of(doc, "nul")), "null");
	assert_string_equal(docket_ynode_describe(value_of(doc, "qt")), "string");
	docket_ydoc_free(doc);
	docket_diags_free(&d);
}

static void empty_and_comment_only_files_are_empty_documents(void **state)
{
	(void)state;
	const char *texts[] = {"", "# nothing here\n\n   # still nothing\n", "---\n", "\n\n"};
	for (size_t k = 0; k < sizeof texts / sizeof *texts; k++) {
		docket_diags d;
		int rc;
		docket_ydoc *doc = parse(texts[k], strlen(texts[k]), &d, &rc);
		assert_int_equal(rc, 0);
		assert_non_null(doc);
		assert_null(docket_ydoc_root(doc));
		assert_int_equal(d.n, 0);
		docket_ydoc_free(doc);
		docket_diags_free(&d);
	}
}

static void source_is_kept_exactly(void **state)
{
	(void)state;
	static const char text[] = "a: 1   # trailing\n\n";
	docket_diags d;
	int rc;
	size_t len;
	docket_ydoc *doc = parse(text, sizeof text - 1, &d, &rc);
	const char *src = docket_ydoc_source(doc, &len);
	assert_int_equal(len, sizeof text - 1);
	assert_memory_equal(src, text, len);
	docket_ydoc_free(doc);
	docket_diags_free(&d);
}

static void malformed_yaml_is_one_positioned_line(void **state)
{
	(void)state;
	REFUSED("a: [1, 2\nb: 3\n", 2, 2, "did not find expected ',' or ']'");
	REFUSED("a: [1, 2\nb: 3\n", 2, 2, "while parsing a flow sequence at 1:4");
	REFUSED("title: Order: received\n", 1, 13, "mapping values are not allowed");
	REFUSED("a:\n  - x\n - y\n", 3, 2, "did not find expected key");
	REFUSED("key: \"unterminated\n", 2, 1, "while scanning a quoted scalar at 1:6");
	REFUSED("a: \x01\n", 1, 4, "control characters are not allowed");
}

static void tabs_in_indentation_are_named(void **state)
{
	(void)state;
	REFUSED("stages:\n\tnew: {}\n", 2, 1, "tab character used for indentation");
	REFUSED("a:\n  b: 1\n\tc: 2\n", 3, 1, "tab character used for indentation");
}

static void binary_files_are_not_text(void **state)
{
	(void)state;
	REFUSED("workflow: x\nab\0cd\n", 2, 3, "not a text file");
	static const char elf[] = "\x7f" "ELF\x02\x01\x01\0\0\0";
	REFUSED(elf, 1, 8, "not a text file");
	/* A NUL written as an escape is refused too: strings stay C strings. */
	REFUSED("x: \"a\\0b\"\n", 1, 4, "NUL character");
}

static void invalid_utf8_is_positioned(void **state)
{
	(void)state;
	REFUSED("title: ok\nowner: caf\xe9\n", 2, 11, "invalid UTF-8 (byte 0xE9)");
	REFUSED("a: \xc3\xa9\xc3\xa9 \xc0\xaf\n", 1, 7, "invalid UTF-8");  /* overlong */
	REFUSED("a: \xed\xa0\x80\n", 1, 4, "invalid UTF-8");              /* surrogate */
	REFUSED("a: \xe2\x82", 1, 4, "invalid UTF-8");                    /* cut short */
}

static void second_document_is_refused(void **state)
{
	(void)state;
	REFUSED("---\na: 1\n---\nb: 2\n", 3, 1, "second YAML document");
	REFUSED("a: 1\n...\n---\nb: 2\n", 3, 1, "second YAML document");
}

static void duplicate_keys_name_the_first(void **state)
{
	(void)state;
	static const char text[] =
		"stages:\n"
		"  a:\n"
		"    owner: ops\n"
		"    title: A\n"
		"    owner: sales\n"
		"  b: {}\n"
		"  a: {}\n";
	docket_diags d;
	int rc;
	docket_ydoc *doc = parse(text, sizeof text - 1, &d, &rc);
	assert_null(doc);
	assert_int_equal(rc, DOCKET_EINVAL);
	/* Both duplicates, in one run. */
	char *out = print(&d);
	assert_string_equal(out,
		"t.yaml:5:5: error: duplicate key 'owner' (first at 3:5)\n"
		"t.yaml:7:3: error: duplicate key 'a' (first at 2:3)\n");
	free(out);
	docket_diags_free(&d);
}

static void keys_must_be_scalars(void **state)
{
	(void)state;
	REFUSED("? [a, b]\n: 1\n", 1, 3, "a key must be a plain name, not a sequence");
	REFUSED("{x: 1}: 2\n", 1, 1, "not a mapping");
}

static void anchors_aliases_and_tags_are_refused(void **state)
{
	(void)state;
	REFUSED("base: &b {owner: ops}\nx: *b\n", 1, 7, "anchors ('&b')");
	REFUSED("x: *b\n", 1, 4, "aliases ('*b')");
	REFUSED("x: !!int 3\n", 1, 4, "tags ('!!int')");
	REFUSED("x: !custom {}\n", 1, 4, "tags ('!custom')");
}

/* Billion laughs: refused at the first anchor, long before any expansion. */
static void alias_bomb_is_refused_at_once(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	fprintf(f, "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
	for (char c = 'b'; c <= 'i'; c++) {
		fprintf(f, "%c: &%c [", c, c);
		for (int k = 0; k < 9; k++)
			fprintf(f, "%s*%c", k ? "," : "", c - 1);
		fprintf(f, "]\n");
	}
	fclose(f);
	refused_at(text, len, 1, 4, "anchors ('&a')");
	free(text);
}

/* Refused on the way down: the parser never sees the rest. */
static void deep_nesting_is_refused_fast(void **state)
{
	(void)state;
	size_t n = 10000;
	char *text = malloc(2 * n + 1);
	memset(text, '[', n);
	memset(text + n, ']', n);
	text[2 * n] = '\0';
	refused_at(text, 2 * n, 1, DOCKET_YAML_MAX_DEPTH + 1, "nesting deeper than 64 levels");
	/* Block style too. */
	char *block = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&block, &len);
	for (int k = 0; k <= DOCKET_YAML_MAX_DEPTH; k++)
		fprintf(f, "%*sk:\n", k, "");
	fprintf(f, "%*sk: v\n", DOCKET_YAML_MAX_DEPTH + 1, "");
	fclose(f);
	refused_at(block, len, DOCKET_YAML_MAX_DEPTH + 1, DOCKET_YAML_MAX_DEPTH + 1, "nesting deeper");
	free(block);
	/* Exactly at the limit is fine. */
	int depth = DOCKET_YAML_MAX_DEPTH;
	memset(text, '[', depth);
	memset(text + depth, ']', depth);
	docket_diags d;
	int rc;
	docket_ydoc *doc = parse(text, 2 * depth, &d, &rc);
	assert_int_equal(rc, 0);
	docket_ydoc_free(doc);
	docket_diags_free(&d);
	free(text);
}

static void too_many_nodes(void **state)
{
	(void)state;
	size_t n = DOCKET_YAML_MAX_NODES + 1;
	char *text = malloc(2 * n + 2);
	text[0] = '[';
	for (size_t k = 0; k < n; k++) {
		text[1 + 2 * k] = '0';
		text[2 + 2 * k] = ',';
	}
	text[2 * n] = ']';
	text[2 * n + 1] = '\0';
	docket_diags d;
	int rc;
	docket_ydoc *doc = parse(text, 2 * n + 1, &d, &rc);
	assert_null(doc);
	assert_int_equal(rc, DOCKET_ELIMIT);
	assert_int_equal(d.errors, 1);
	assert_non_null(strstr(d.v[0].msg, "more than 200000 YAML nodes"));
	docket_diags_free(&d);
	free(text);
}

/* ---- files ---- */

static char tmpdir[256];

static int make_tmpdir(void **state)
{
	(void)state;
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/docket-yamldoc-XXXXXX", base ? base : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	(void)state;
	char path[512];
	const char *names[] = {"ok.yaml", "big.yaml"};
	for (size_t k = 0; k < 2; k++) {
		snprintf(path, sizeof path, "%s/%s", tmpdir, names[k]);
		unlink(path);
	}
	return rmdir(tmpdir);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void load_reads_a_regular_file(void **state)
{
	(void)state;
	char path[512];
	docket_diags d;
	docket_ydoc *doc;
	size_t len;

	snprintf(path, sizeof path, "%s/ok.yaml", tmpdir);
	write_file(path, "workflow: demo\n");
	docket_diags_init(&d, path);
	assert_int_equal(docket_ydoc_load(path, &doc, &d), 0);
	assert_string_equal(docket_ydoc_source(doc, &len), "workflow: demo\n");
	assert_string_equal(docket_ynode_get(docket_ydoc_root(doc), "workflow")->str, "demo");
	docket_ydoc_free(doc);
	docket_diags_free(&d);
}

static void load_refuses_missing_files_and_directories(void **state)
{
	(void)state;
	char path[512];
	docket_diags d;
	docket_ydoc *doc;

	snprintf(path, sizeof path, "%s/nope.yaml", tmpdir);
	docket_diags_init(&d, path);
	assert_int_equal(docket_ydoc_load(path, &doc, &d), DOCKET_EIO);
	assert_null(doc);
	assert_non_null(strstr(d.v[0].msg, "No such file"));
	docket_diags_free(&d);

	docket_diags_init(&d, tmpdir);
	assert_int_equal(docket_ydoc_load(tmpdir, &doc, &d), DOCKET_EINVAL);
	assert_non_null(strstr(d.v[0].msg, "is a directory"));
	docket_diags_free(&d);
}

/* A sparse 100 MB file: refused by its size, never read. */
static void load_refuses_huge_file_by_size(void **state)
{
	(void)state;
	char path[512];
	docket_diags d;
	docket_ydoc *doc;

	snprintf(path, sizeof path, "%s/big.yaml", tmpdir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 100 << 20), 0);
	close(fd);
	docket_diags_init(&d, path);
	assert_int_equal(docket_ydoc_load(path, &doc, &d), DOCKET_ELIMIT);
	assert_null(doc);
	assert_int_equal(d.errors, 1);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].msg, "file is 104857600 bytes, over the limit of 4194304 bytes");
	docket_diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(positions_are_one_based),
		cmocka_unit_test(core_schema_resolution),
		cmocka_unit_test(empty_and_comment_only_files_are_empty_documents),
		cmocka_unit_test(source_is_kept_exactly),
		cmocka_unit_test(malformed_yaml_is_one_positioned_line),
		cmocka_unit_test(tabs_in_indentation_are_named),
		cmocka_unit_test(binary_files_are_not_text),
		cmocka_unit_test(invalid_utf8_is_positioned),
		cmocka_unit_test(second_document_is_refused),
		cmocka_unit_test(duplicate_keys_name_the_first),
		cmocka_unit_test(keys_must_be_scalars),
		cmocka_unit_test(anchors_aliases_and_tags_are_refused),
		cmocka_unit_test(alias_bomb_is_refused_at_once),
		cmocka_unit_test(deep_nesting_is_refused_fast),
		cmocka_unit_test(too_many_nodes),
		cmocka_unit_test(load_reads_a_regular_file),
		cmocka_unit_test(load_refuses_missing_files_and_directories),
		cmocka_unit_test(load_refuses_huge_file_by_size),
	};
	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
