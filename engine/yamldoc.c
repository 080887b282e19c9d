/*
 * yamldoc.c - libyaml events to a tree of positioned nodes.
 *
 * The event parser (never libyaml's document loader) lets us keep every
 * node's position and refuse what a workflow never needs while reading:
 * the first anchor, alias or tag stops the parse, and so does the first
 * collection opened past DOCKET_YAML_MAX_DEPTH, so neither an alias bomb
 * nor a 10,000-deep `[[[[` costs more than the bytes before it.  Nothing
 * here recurses: open collections live on a fixed stack of frames, and the
 * children of every open collection share one pending array (a child is
 * always finished before its parent goes on).
 *
 * Invariants: every node and string lives in the document's arena; every
 * string is NUL-terminated valid UTF-8 with no NUL inside; positions are
 * 1-based and count characters, like libyaml's marks.
 */
#include "yamldoc.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "error.h"

/* ---- arena ---- */

#define CHUNK_MIN 65536
/* Text quoted in a message is cut here. */
#define CLIP 64

struct chunk {
	struct chunk *next;
	size_t used, cap;
	alignas(max_align_t) unsigned char mem[];
};

struct docket_ydoc {
	struct chunk *arena;
	docket_ynode *root;
	char *src;              /* malloc'd copy of the parsed bytes */
	size_t srclen;
};

static void *arena_alloc(docket_ydoc *doc, size_t size)
{
	struct chunk *c = doc->arena;
	size = (size + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
	if (!c || c->cap - c->used < size) {
		size_t cap = size > CHUNK_MIN ? size : CHUNK_MIN;
		c = malloc(sizeof *c + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = doc->arena;
		doc->arena = c;
	}
	void *p = c->mem + c->used;
	c->used += size;
	return p;
}

static char *arena_strndup(docket_ydoc *doc, const char *s, size_t len)
{
	char *p = arena_alloc(doc, len + 1);
	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

/* ---- positions and byte checks ---- */

/* Line and column (1-based, in characters) of byte offset `off`. */
static void position(const char *buf, size_t off, int *line, int *col)
{
	int l = 1, c = 1;
	for (size_t i = 0; i < off; i++) {
		unsigned char ch = (unsigned char)buf[i];
		if (ch == '\n') {
			l++;
			c = 1;
		} else if ((ch & 0xC0) != 0x80) {
			c++;
		}
	}
	*line = l;
	*col = c;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0.  Refuses
 * overlong forms, surrogates and code points past U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned lo = 0x80, hi = 0xBF;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return len;
}

/* libyaml's own messages for these are an offset and a code; a person
 * needs the line and column, and to know that a binary file is binary. */
static int check_bytes(const char *buf, size_t len, docket_diags *d)
{
	const unsigned char *s = (const unsigned char *)buf;
	int line, col;
	const void *nul = memchr(buf, '\0', len);

	if (nul) {
		position(buf, (size_t)((const char *)nul - buf), &line, &col);
		docket_diags_add(d, DOCKET_DIAG_ERROR, line, col, NULL,
				 "not a text file (NUL byte)");
		return DOCKET_EINVAL;
	}
	for (size_t i = 0; i < len;) {
		size_t k = utf8_seq(s + i, len - i);
		if (!k) {
			position(buf, i, &line, &col);
			docket_diags_add(d, DOCKET_DIAG_ERROR, line, col, NULL,
					 "invalid UTF-8 (byte 0x%02X); save the file as UTF-8",
					 s[i]);
			return DOCKET_EINVAL;
		}
		i += k;
	}
	return 0;
}

/* ---- the builder ---- */

struct frame {
	docket_ynode *node;
	size_t base;            /* first pending child of this collection */
};

struct builder {
	docket_ydoc *doc;
	docket_diags *d;
	const char *buf;
	struct frame stack[DOCKET_YAML_MAX_DEPTH];
	int depth;
	docket_ynode **pending; /* children of every open collection */
	size_t npending, cap;
	size_t nodes;
	int documents;
};

static int oom(struct builder *b)
{
	docket_diags_add(b->d, DOCKET_DIAG_ERROR, 0, 0, NULL, "out of memory reading YAML");
	return DOCKET_ENOMEM;
}

static int push_pending(struct builder *b, docket_ynode *n)
{
	if (b->npending == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		docket_ynode **v = realloc(b->pending, cap * sizeof *v);
		if (!v)
			return oom(b);
		b->pending = v;
		b->cap = cap;
	}
	b->pending[b->npending++] = n;
	return 0;
}

static docket_ynode *new_node(struct builder *b, docket_ykind kind, yaml_mark_t m)
{
	docket_ynode *n;

	if (++b->nodes > DOCKET_YAML_MAX_NODES) {
		docket_diags_add(b->d, DOCKET_DIAG_ERROR, (int)m.line + 1, (int)m.column + 1, NULL,
				 "more than %d YAML nodes in one file", DOCKET_YAML_MAX_NODES);
		return NULL;
	}
	n = arena_alloc(b->doc, sizeof *n);
	if (!n) {
		oom(b);
		return NULL;
	}
	memset(n, 0, sizeof *n);
	n->kind = kind;
	n->line = (int)m.line + 1;
	n->col = (int)m.column + 1;
	return n;
}

/* A finished node goes to its parent, or becomes the root. */
static int attach(struct builder *b, docket_ynode *n)
{
	if (b->depth == 0) {
		b->doc->root = n;
		return 0;
	}
	return push_pending(b, n);
}

static int refuse_extras(struct builder *b, const yaml_char_t *anchor,
			 const yaml_char_t *tag, yaml_mark_t m)
{
	int line = (int)m.line + 1, col = (int)m.column + 1;
	char cut[CLIP + 4];

	if (anchor) {
		docket_diags_add(b->d, DOCKET_DIAG_ERROR, line, col, NULL,
				 "YAML anchors ('&%s') are not allowed in a workflow file",
				 docket_clip((const char *)anchor, CLIP, cut));
		return DOCKET_EINVAL;
	}
	if (tag) {
		/* libyaml hands back `!!str` expanded; show it as written. */
		const char *t = (const char *)tag, *core = "tag:yaml.org,2002:";
		bool short_form = !strncmp(t, core, strlen(core));
		docket_diags_add(b->d, DOCKET_DIAG_ERROR, line, col, NULL,
				 "YAML tags ('%s%s') are not allowed in a workflow file",
				 short_form ? "!!" : "", docket_clip(short_form ? t + strlen(core) : t, CLIP, cut));
		return DOCKET_EINVAL;
	}
	return 0;
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	docket_ynode *n;
	int rc = refuse_extras(b, ev->data.scalar.anchor, ev->data.scalar.tag, ev->start_mark);

	if (rc)
		return rc;
	if (memchr(v, '\0', len)) {
		/* Only a "\0" escape can put one there. */
		docket_diags_add(b->d, DOCKET_DIAG_ERROR, (int)ev->start_mark.line + 1,
				 (int)ev->start_mark.column + 1, NULL,
				 "a NUL character is not allowed in a string");
		return DOCKET_EINVAL;
	}
	n = new_node(b, DOCKET_Y_SCALAR, ev->start_mark);
	if (!n)
		return b->nodes > DOCKET_YAML_MAX_NODES ? DOCKET_ELIMIT : DOCKET_ENOMEM;
	n->str = arena_strndup(b->doc, v, len);
	if (!n->str)
		return oom(b);
	n->len = len;
	n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
	return attach(b, n);
}

static int on_start(struct builder *b, const yaml_event_t *ev, docket_ykind kind)
{
	const yaml_char_t *anchor, *tag;
	docket_ynode *n;
	int rc;

	if (kind == DOCKET_Y_MAP) {
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
	} else {
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
	}
	rc = refuse_extras(b, anchor, tag, ev->start_mark);
	if (rc)
		return rc;
	if (b->depth == DOCKET_YAML_MAX_DEPTH) {
		docket_diags_add(b->d, DOCKET_DIAG_ERROR, (int)ev->start_mark.line + 1,
				 (int)ev->start_mark.column + 1, NULL,
				 "nesting deeper than %d levels", DOCKET_YAML_MAX_DEPTH);
		return DOCKET_ELIMIT;
	}
	n = new_node(b, kind, ev->start_mark);
	if (!n)
		return b->nodes > DOCKET_YAML_MAX_NODES ? DOCKET_ELIMIT : DOCKET_ENOMEM;
	b->stack[b->depth].node = n;
	b->stack[b->depth].base = b->npending;
	b->depth++;
	return 0;
}

static int bykey(const void *pa, const void *pb)
{
	const docket_ynode *a = *(docket_ynode *const *)pa, *b = *(docket_ynode *const *)pb;
	size_t m = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->str, b->str, m);

	if (c)
		return c;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	/* Same text: file order, so the first written comes first. */
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return a->col < b->col ? -1 : a->col > b->col;
}

/* Sorting once keeps a 1,000-key map from costing a million compares. */
static int check_keys(struct builder *b, docket_ynode *m)
{
	docket_ynode **v;
	int bad = 0;
	char cut[CLIP + 4];

	for (size_t i = 0; i < m->n; i++) {
		if (m->keys[i]->kind != DOCKET_Y_SCALAR) {
			docket_diags_add(b->d, DOCKET_DIAG_ERROR, m->keys[i]->line, m->keys[i]->col,
					 NULL, "a key must be a plain name, not a %s",
					 docket_ynode_describe(m->keys[i]));
			bad = 1;
		}
	}
	if (bad || m->n < 2)
		return bad ? DOCKET_EINVAL : 0;
	v = malloc(m->n * sizeof *v);
	if (!v)
		return oom(b);
	memcpy(v, m->keys, m->n * sizeof *v);
	qsort(v, m->n, sizeof *v, bykey);
	for (size_t i = 1, first = 0; i < m->n; i++) {
		if (v[i]->len == v[first]->len && !memcmp(v[i]->str, v[first]->str, v[i]->len)) {
			docket_diags_add(b->d, DOCKET_DIAG_ERROR, v[i]->line, v[i]->col, NULL,
					 "duplicate key '%s' (first at %d:%d)", docket_clip(v[i]->str, CLIP, cut),
					 v[first]->line, v[first]->col);
			bad = 1;
		} else {
			first = i;
		}
	}
	free(v);
	return bad ? DOCKET_EINVAL : 0;
}

static int on_end(struct builder *b)
{
	struct frame *f = &b->stack[--b->depth];
	docket_ynode *n = f->node;
	size_t count = b->npending - f->base;
	/* No pending array before the first child anywhere: NULL + 0 is
	 * undefined. */
	docket_ynode **kids = b->pending ? b->pending + f->base : NULL;
	int rc = 0;

	if (n->kind == DOCKET_Y_SEQ) {
		n->n = count;
		n->items = arena_alloc(b->doc, (count ? count : 1) * sizeof *n->items);
		if (!n->items)
			return oom(b);
		if (count)
			memcpy(n->items, kids, count * sizeof *kids);
	} else {
		n->n = count / 2;
		n->keys = arena_alloc(b->doc, (n->n ? n->n : 1) * sizeof *n->keys);
		n->items = arena_alloc(b->doc, (n->n ? n->n : 1) * sizeof *n->items);
		if (!n->keys || !n->items)
			return oom(b);
		for (size_t i = 0; i < n->n; i++) {
			n->keys[i] = kids[2 * i];
			n->items[i] = kids[2 * i + 1];
		}
		/* A bad key is reported and the parse goes on, so every
		 * duplicate in the file shows up in one run. */
		rc = check_keys(b, n);
		if (rc == DOCKET_ENOMEM)
			return rc;
	}
	b->npending = f->base;
	int arc = attach(b, n);
	return arc ? arc : rc;
}

/* libyaml's problem and context, as one line at the problem's position,
 * with the words a person needs for the two mistakes everyone makes. */
static int yaml_failed(struct builder *b, const yaml_parser_t *p)
{
	int line, col;
	const char *problem = p->problem ? p->problem : "cannot parse";
	const char *hint = NULL;
	size_t at = p->problem_mark.index;

	if (p->error == YAML_MEMORY_ERROR)
		return oom(b);
	if (p->error == YAML_READER_ERROR) {
		position(b->buf, p->problem_offset, &line, &col);
		if (p->problem_value >= 0)
			docket_diags_add(b->d, DOCKET_DIAG_ERROR, line, col, NULL,
					 "%s (character 0x%02X)", problem,
					 (unsigned)p->problem_value);
		else
			docket_diags_add(b->d, DOCKET_DIAG_ERROR, line, col, NULL, "%s", problem);
		return DOCKET_EINVAL;
	}
	line = (int)p->problem_mark.line + 1;
	col = (int)p->problem_mark.column + 1;
	if ((at < b->doc->srclen && b->buf[at] == '\t' && strstr(problem, "cannot start any token")) ||
	    strstr(problem, "tab character")) {
		docket_diags_add(b->d, DOCKET_DIAG_ERROR, line, col, NULL,
				 "tab character used for indentation; indent with spaces");
		return DOCKET_EINVAL;
	}
	if (strstr(problem, "mapping values are not allowed"))
		hint = "put quotes around a value that contains ': '";
	if (p->context)
		docket_diags_add(b->d, DOCKET_DIAG_ERROR, line, col, hint,
				 "YAML syntax: %s (%s at %d:%d)", problem, p->context,
				 (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
	else
		docket_diags_add(b->d, DOCKET_DIAG_ERROR, line, col, hint, "YAML syntax: %s",
				 problem);
	return DOCKET_EINVAL;
}

/* One event; returns 0 to go on, 1 at the end of the stream, or an error. */
static int on_event(struct builder *b, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		if (++b->documents > 1) {
			docket_diags_add(b->d, DOCKET_DIAG_ERROR, (int)ev->start_mark.line + 1,
					 (int)ev->start_mark.column + 1, NULL,
					 "a second YAML document; a workflow file holds exactly one");
			return DOCKET_EINVAL;
		}
		return 0;
	case YAML_ALIAS_EVENT: {
		char cut[CLIP + 4];
		docket_diags_add(b->d, DOCKET_DIAG_ERROR, (int)ev->start_mark.line + 1,
				 (int)ev->start_mark.column + 1, NULL,
				 "YAML aliases ('*%s') are not allowed in a workflow file",
				 docket_clip((const char *)ev->data.alias.anchor, CLIP, cut));
		return DOCKET_EINVAL;
	}
	case YAML_SCALAR_EVENT:
		return on_scalar(b, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_start(b, ev, DOCKET_Y_SEQ);
	case YAML_MAPPING_START_EVENT:
		return on_start(b, ev, DOCKET_Y_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return on_end(b);
	default:
		return 0;
	}
}

static int run_parser(struct builder *b, const char *buf, size_t len)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int rc = 0, keyerr = 0;

	if (!yaml_parser_initialize(&p))
		return oom(b);
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
	for (;;) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = yaml_failed(b, &p);
			break;
		}
		yaml_event_type_t type = ev.type;
		rc = on_event(b, &ev);
		yaml_event_delete(&ev);
		if (rc == DOCKET_EINVAL && type == YAML_MAPPING_END_EVENT) {
			keyerr = rc;    /* duplicate or bad keys: keep looking */
			rc = 0;
		}
		if (rc)
			break;
	}
	yaml_parser_delete(&p);
	if (rc == 1)
		rc = keyerr;
	return rc;
}

/* Parse src (len bytes, malloc'd with room for a NUL), which the document
 * takes over whatever happens. */
static int parse_owned(char *src, size_t len, docket_ydoc **out, docket_diags *d)
{
	struct builder b;
	docket_ydoc *doc;
	int rc;

	*out = NULL;
	doc = calloc(1, sizeof *doc);
	if (!doc) {
		free(src);
		docket_diags_add(d, DOCKET_DIAG_ERROR, 0, 0, NULL, "out of memory reading YAML");
		return DOCKET_ENOMEM;
	}
	src[len] = '\0';
	doc->src = src;
	doc->srclen = len;
	rc = check_bytes(src, len, d);
	if (rc)
		goto err;

	memset(&b, 0, sizeof b);
	b.doc = doc;
	b.d = d;
	b.buf = src;
	rc = run_parser(&b, src, len);
	free(b.pending);
	if (rc)
		goto err;
	/* A bare `---` parses as one empty scalar: as empty as no document. */
	if (doc->root && doc->root->kind == DOCKET_Y_SCALAR && !doc->root->quoted &&
	    doc->root->len == 0)
		doc->root = NULL;
	*out = doc;
	return 0;
err:
	docket_ydoc_free(doc);
	return rc;
}

static int too_big(docket_diags *d, unsigned long long size)
{
	docket_diags_add(d, DOCKET_DIAG_ERROR, 0, 0, NULL,
			 "file is %llu bytes, over the limit of %u bytes", size,
			 (unsigned)DOCKET_YAML_MAX_SIZE);
	return DOCKET_ELIMIT;
}

int docket_ydoc_parse(const char *buf, size_t len, docket_ydoc **out, docket_diags *d)
{
	char *src;

	*out = NULL;
	if (len > DOCKET_YAML_MAX_SIZE)
		return too_big(d, len);
	src = malloc(len + 1);
	if (!src) {
		docket_diags_add(d, DOCKET_DIAG_ERROR, 0, 0, NULL, "out of memory reading YAML");
		return DOCKET_ENOMEM;
	}
	memcpy(src, buf, len);
	return parse_owned(src, len, out, d);
}

static int io_failed(docket_diags *d, const char *what, int fd)
{
	docket_diags_add(d, DOCKET_DIAG_ERROR, 0, 0, NULL, "%s: %s", what, strerror(errno));
	if (fd >= 0)
		close(fd);
	return DOCKET_EIO;
}

int docket_ydoc_load(const char *path, docket_ydoc **out, docket_diags *d)
{
	struct stat st;
	char *buf;
	size_t n = 0, want;
	int fd;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return io_failed(d, "cannot open", -1);
	if (fstat(fd, &st) < 0)
		return io_failed(d, "cannot stat", fd);
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		docket_diags_add(d, DOCKET_DIAG_ERROR, 0, 0, NULL, "%s",
				 S_ISDIR(st.st_mode) ? "is a directory, not a workflow file"
						     : "not a regular file");
		return DOCKET_EINVAL;
	}
	if (st.st_size > (off_t)DOCKET_YAML_MAX_SIZE) {
		close(fd);
		return too_big(d, (unsigned long long)st.st_size);
	}
	/* Ask for one byte more than fstat said, to notice a file that grew
	 * in between; and one more for the NUL. */
	want = (size_t)st.st_size + 1;
	buf = malloc(want + 1);
	if (!buf) {
		close(fd);
		docket_diags_add(d, DOCKET_DIAG_ERROR, 0, 0, NULL, "out of memory reading file");
		return DOCKET_ENOMEM;
	}
	while (n < want) {
		ssize_t r = read(fd, buf + n, want - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return io_failed(d, "cannot read", fd);
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > (size_t)st.st_size) {
		free(buf);
		docket_diags_add(d, DOCKET_DIAG_ERROR, 0, 0, NULL, "file changed while being read");
		return DOCKET_EIO;
	}
	return parse_owned(buf, n, out, d);
}

const docket_ynode *docket_ydoc_root(const docket_ydoc *doc)
{
	return doc ? doc->root : NULL;
}

const char *docket_ydoc_source(const docket_ydoc *doc, size_t *len)
{
	if (len)
		*len = doc->srclen;
	return doc->src;
}

void docket_ydoc_free(docket_ydoc *doc)
{
	if (!doc)
		return;
	for (struct chunk *c = doc->arena, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	free(doc->src);
	free(doc);
}

/* ---- nodes ---- */

static bool is_text(const docket_ynode *n, const char *s)
{
	size_t len = strlen(s);
	return n->len == len && !memcmp(n->str, s, len);
}

const docket_ynode *docket_ynode_get(const docket_ynode *m, const char *name)
{
	if (!m || m->kind != DOCKET_Y_MAP)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		if (m->keys[i]->kind == DOCKET_Y_SCALAR && is_text(m->keys[i], name))
			return m->items[i];
	return NULL;
}

static bool plain(const docket_ynode *n)
{
	return n && n->kind == DOCKET_Y_SCALAR && !n->quoted;
}

static bool one_of(const docket_ynode *n, const char *const *words)
{
	for (; *words; words++)
		if (is_text(n, *words))
			return true;
	return false;
}

bool docket_ynode_is_null(const docket_ynode *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
	return plain(n) && one_of(n, nulls);
}

bool docket_ynode_bool(const docket_ynode *n, bool *out)
{
	static const char *const yes[] = {"true", "True", "TRUE", NULL};
	static const char *const no[] = {"false", "False", "FALSE", NULL};

	if (!plain(n))
		return false;
	if (one_of(n, yes)) {
		*out = true;
		return true;
	}
	if (one_of(n, no)) {
		*out = false;
		return true;
	}
	return false;
}

static bool all_of(const char *s, const char *set)
{
	if (!*s)
		return false;
	return s[strspn(s, set)] == '\0';
}

/* The core schema's three integer forms: [-+]?[0-9]+, 0o[0-7]+,
 * 0x[0-9a-fA-F]+.  Sets *base and where the digits start. */
static bool int_form(const docket_ynode *n, int *base, const char **digits)
{
	const char *s = n->str;

	if (!plain(n))
		return false;
	if (s[0] == '0' && s[1] == 'o' && all_of(s + 2, "01234567")) {
		*base = 8;
		*digits = s + 2;
		return true;
	}
	if (s[0] == '0' && s[1] == 'x' && all_of(s + 2, "0123456789abcdefABCDEF")) {
		*base = 16;
		*digits = s + 2;
		return true;
	}
	if (all_of(s + (*s == '-' || *s == '+'), "0123456789")) {
		*base = 10;
		*digits = s;
		return true;
	}
	return false;
}

bool docket_ynode_int(const docket_ynode *n, int64_t *out)
{
	const char *digits;
	char *end;
	int base;

	if (!int_form(n, &base, &digits))
		return false;
	errno = 0;
	if (base == 10) {
		long long v = strtoll(digits, &end, 10);
		if (errno || *end)
			return false;
		*out = v;
	} else {
		unsigned long long v = strtoull(digits, &end, base);
		if (errno || *end || v > INT64_MAX)
			return false;
		*out = (int64_t)v;
	}
	return true;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool float_form(const char *s)
{
	size_t intd, fracd = 0;

	if (*s == '-' || *s == '+')
		s++;
	intd = strspn(s, "0123456789");
	s += intd;
	if (*s == '.') {
		s++;
		fracd = strspn(s, "0123456789");
		s += fracd;
	}
	if (!intd && !fracd)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		size_t expd = strspn(s, "0123456789");
		if (!expd)
			return false;
		s += expd;
	}
	return *s == '\0';
}

static bool special_float(const docket_ynode *n, double *out)
{
	static const char *const infs[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL};
	static const char *const ninfs[] = {"-.inf", "-.Inf", "-.INF", NULL};
	static const char *const nans[] = {".nan", ".NaN", ".NAN", NULL};

	if (one_of(n, infs))
		*out = INFINITY;
	else if (one_of(n, ninfs))
		*out = -INFINITY;
	else if (one_of(n, nans))
		*out = NAN;
	else
		return false;
	return true;
}

bool docket_ynode_number(const docket_ynode *n, double *out)
{
	int64_t i;
	int base;
	const char *digits;

	if (!plain(n))
		return false;
	if (docket_ynode_int(n, &i)) {
		*out = (double)i;
		return true;
	}
	if (int_form(n, &base, &digits) && base != 10)
		return false;   /* 0x... past int64: no float form to fall back on */
	if (special_float(n, out))
		return true;
	if (!float_form(n->str))
		return false;
	*out = strtod(n->str, NULL);
	return true;
}

bool docket_ynode_is_string(const docket_ynode *n)
{
	bool b;
	double x;
	int base;
	const char *digits;

	if (!n || n->kind != DOCKET_Y_SCALAR)
		return false;
	if (n->quoted)
		return true;
	return !docket_ynode_is_null(n) && !docket_ynode_bool(n, &b) &&
	       !int_form(n, &base, &digits) && !docket_ynode_number(n, &x);
}

const char *docket_ynode_describe(const docket_ynode *n)
{
	bool b;
	double x;
	int base;
	const char *digits;

	if (!n)
		return "nothing";
	if (n->kind == DOCKET_Y_MAP)
		return "mapping";
	if (n->kind == DOCKET_Y_SEQ)
		return "sequence";
	if (n->quoted)
		return "string";
	if (docket_ynode_is_null(n))
		return "null";
	if (docket_ynode_bool(n, &b))
		return "boolean";
	if (int_form(n, &base, &digits))
		return "integer";
	if (docket_ynode_number(n, &x))
		return "number";
	return "string";
}
