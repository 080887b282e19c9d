/*
 * guard.c - the `when:` expression language: a one-pass compiler from
 * source to a small stack bytecode, and its evaluator.
 *
 * The compiler reads tokens one at a time and emits code as it goes
 * (recursive descent, one function per precedence level), type-checking
 * each operator the moment both operands are known, so every error points
 * at the exact column that caused it.  Nesting is bounded by DEPTH_MAX,
 * which also bounds the C stack the parser uses and the value stack the
 * code needs; the compiler proves the latter fits STACK_MAX.
 *
 * A compiled guard is one allocation: header, constants, code, the list of
 * fields it reads, the source and the bytes of its string constants.  The
 * evaluator runs the code over a fixed array on the C stack: no allocation,
 * no failure, no recursion.  It dispatches on the run-time type of every
 * value, so a field holding something other than its declared type gives a
 * false comparison, never undefined behaviour.
 */
#include "guard.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

#define DEPTH_MAX 64            /* nested '(' 'not' and unary '-' */
#define STACK_MAX 256           /* values pending during evaluation */
#define FIELD_INDEX_MAX (1u << 24)
#define SHOW_MAX 40             /* source quoted in a message is cut here */

/* One instruction: the opcode in the low byte, an argument above it. */
enum {
	OP_CONST,       /* push k[arg] */
	OP_FIELD,       /* push fields[arg] */
	OP_NEG,
	OP_NOT,
	OP_BOOL,        /* null (or anything not true) becomes false */
	OP_ADD, OP_SUB, OP_MUL, OP_DIV,
	OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE,
	OP_IN,          /* top in k[arg .. arg+n), n in the next word */
	OP_AND,         /* top not true: replace by false, jump to arg; else pop */
	OP_OR,          /* top true: keep true, jump to arg; else pop */
};

struct docket_guard {
	const uint32_t *code;
	const docket_value *k;
	const uint32_t *reads;  /* field indexes read, in order of appearance */
	const char *src;
	uint32_t ncode, nk, nreads;
};

/* ---- compiling ---------------------------------------------------------- */

enum tok {
	T_END, T_NUM, T_STR, T_NAME,
	T_AND, T_OR, T_NOT, T_IN, T_TRUE, T_FALSE, T_NULL,
	T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE,
	T_PLUS, T_MINUS, T_STAR, T_SLASH,
	T_LP, T_RP, T_LB, T_RB, T_COMMA,
};

/* Static types.  Integers and numbers mix; TY_NULL is the literal null. */
enum ty { TY_BOOL, TY_INT, TY_NUM, TY_STR, TY_DATE, TY_NULL };

struct token {
	enum tok t;
	uint32_t off, len;
	docket_value v;         /* T_NUM, T_STR (points into the pool) */
};

/* What the compiler knows of an expression once its code is emitted. */
typedef struct ex {
	enum ty ty;
	bool nullable;          /* may be null at run time */
	int field;              /* exactly one field read: its index, else -1 */
	int lit;                /* exactly one constant: its index, else -1 */
	uint32_t off, end;      /* source span */
} ex;

typedef struct cc {
	const char *src;
	size_t len, pos;
	struct token tok;
	uint32_t prev_off, prev_len;    /* the token before tok */
	const docket_field *fields;
	size_t nfields;
	int depth, sp;
	/* scratch, sized from len so nothing grows */
	uint32_t *code;
	size_t ncode, capcode;
	docket_value *k;
	size_t nk, capk;
	char *pool;
	size_t npool;
	uint32_t *reads;
	size_t nreads, capreads;
	docket_guard_error *gerr;
	bool failed;
} cc;

static const char *const keywords[] = {"and", "or", "not", "in", "true", "false", "null"};
static const enum tok keyword_tok[] = {T_AND, T_OR, T_NOT, T_IN, T_TRUE, T_FALSE, T_NULL};
#define NKEYWORDS (sizeof keywords / sizeof *keywords)

/* Columns count characters, as editors do, not bytes. */
static int column(const cc *c, size_t off)
{
	int col = 1;
	for (size_t i = 0; i < off && i < c->len; i++)
		col += ((unsigned char)c->src[i] & 0xC0) != 0x80;
	return col;
}

/* Record the first error only; everything after it is a consequence. */
__attribute__((format(printf, 3, 4)))
static int fail(cc *c, size_t off, const char *fmt, ...)
{
	va_list ap;

	if (c->failed)
		return -1;
	c->failed = true;
	c->gerr->col = column(c, off);
	va_start(ap, fmt);
	vsnprintf(c->gerr->msg, sizeof c->gerr->msg, fmt, ap);
	va_end(ap);
	return -1;
}

/* Source text for a message, cut at SHOW_MAX bytes on a character edge. */
static const char *show(const char *s, size_t len, char out[SHOW_MAX + 4])
{
	size_t n = len;
	if (n > SHOW_MAX) {
		n = SHOW_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
	memcpy(out + n, n < len ? "...\0" : "\0", n < len ? 4 : 1);
	return out;
}

static const char *show_tok(const cc *c, uint32_t off, uint32_t len, char out[SHOW_MAX + 8])
{
	char s[SHOW_MAX + 4];
	if (off >= c->len)
		return "the end";
	snprintf(out, SHOW_MAX + 8, "'%s'", show(c->src + off, len, s));
	return out;
}

/* ---- lexer ---- */

static bool is_digit(int ch) { return ch >= '0' && ch <= '9'; }
static bool is_lower(int ch) { return (ch >= 'a' && ch <= 'z') || ch == '_'; }
static bool is_alpha(int ch) { return is_lower(ch) || (ch >= 'A' && ch <= 'Z'); }
static bool is_alnum(int ch) { return is_alpha(ch) || is_digit(ch); }

static int peekc(const cc *c, size_t at)
{
	return at < c->len ? (unsigned char)c->src[at] : -1;
}

static int lex_number(cc *c, struct token *t)
{
	size_t p = c->pos, start = p;
	bool frac = false;
	char buf[512];

	while (is_digit(peekc(c, p)))
		p++;
	if (peekc(c, p) == '.' && is_digit(peekc(c, p + 1))) {
		frac = true;
		for (p++; is_digit(peekc(c, p)); p++)
			;
	}
	if ((peekc(c, p) == 'e' || peekc(c, p) == 'E') &&
	    (is_digit(peekc(c, p + 1)) ||
	     ((peekc(c, p + 1) == '+' || peekc(c, p + 1) == '-') && is_digit(peekc(c, p + 2))))) {
		frac = true;
		for (p += 2; is_digit(peekc(c, p)); p++)
			;
	}
	if (is_alnum(peekc(c, p)) || peekc(c, p) == '.') {
		while (is_alnum(peekc(c, p)) || peekc(c, p) == '.')
			p++;
		return fail(c, start, "'%.*s' is not a number", (int)(p - start), c->src + start);
	}
	t->len = (uint32_t)(p - start);
	if (!frac) {
		int64_t v = 0;
		for (size_t i = start; i < p; i++) {
			int d = c->src[i] - '0';
			if (v > (INT64_MAX - d) / 10)
				return fail(c, start, "%.*s is too large for an integer (the largest is %lld)",
					    (int)(p - start), c->src + start, (long long)INT64_MAX);
			v = v * 10 + d;
		}
		t->v.t = DOCKET_V_INT;
		t->v.i = v;
	} else {
		if (p - start >= sizeof buf)
			return fail(c, start, "this number has too many digits");
		memcpy(buf, c->src + start, p - start);
		buf[p - start] = '\0';
		t->v.t = DOCKET_V_NUM;
		t->v.n = strtod(buf, NULL);
		if (!isfinite(t->v.n))
			return fail(c, start, "%s is too large for a number", buf);
	}
	c->pos = p;
	return 0;
}

static int lex_string(cc *c, struct token *t)
{
	size_t start = c->pos, p = start + 1;
	char q = c->src[start];
	char *out = c->pool + c->npool;
	size_t n = 0;

	for (;;) {
		int ch = peekc(c, p);
		if (ch < 0)
			return fail(c, start, "this string is never closed (a %c is missing)", q);
		if (ch == q)
			break;
		if (ch == '\\') {
			int e = peekc(c, p + 1);
			if (e != '"' && e != '\'' && e != '\\')
				return fail(c, p, "unknown escape in a string: only \\\" \\' and \\\\ are allowed");
			out[n++] = (char)e;
			p += 2;
			continue;
		}
		out[n++] = (char)ch;
		p++;
	}
	if (!docket_utf8_valid(out, n))
		return fail(c, start, "a string must be valid UTF-8 text without NUL bytes");
	t->v.t = DOCKET_V_STR;
	t->v.s.p = out;
	t->v.s.len = (uint32_t)n;
	c->npool += n;
	c->pos = p + 1;
	t->len = (uint32_t)(c->pos - start);
	return 0;
}

/* A name, or a dotted path of names: [a-z_][a-z0-9_]* ('.' same)*.
 * Capitals are read too, so the error can say what was meant. */
static int lex_name(cc *c, struct token *t)
{
	size_t p = c->pos;

	for (;;) {
		while (is_alnum(peekc(c, p)))
			p++;
		if (peekc(c, p) != '.')
			break;
		if (!is_alpha(peekc(c, p + 1)))
			return fail(c, p + 1, "a name must follow '.'");
		p++;
	}
	t->t = T_NAME;
	t->len = (uint32_t)(p - c->pos);
	for (size_t i = 0; i < NKEYWORDS; i++)
		if (strlen(keywords[i]) == t->len && memcmp(keywords[i], c->src + c->pos, t->len) == 0)
			t->t = keyword_tok[i];
	c->pos = p;
	return 0;
}

static int lex_op(cc *c, struct token *t)
{
	int ch = peekc(c, c->pos), nx = peekc(c, c->pos + 1);
	size_t at = c->pos;

	t->len = 1;
	switch (ch) {
	case '+': t->t = T_PLUS; break;
	case '-': t->t = T_MINUS; break;
	case '*': t->t = T_STAR; break;
	case '/': t->t = T_SLASH; break;
	case '(': t->t = T_LP; break;
	case ')': t->t = T_RP; break;
	case '[': t->t = T_LB; break;
	case ']': t->t = T_RB; break;
	case ',': t->t = T_COMMA; break;
	case '<': t->t = nx == '=' ? T_LE : T_LT; break;
	case '>': t->t = nx == '=' ? T_GE : T_GT; break;
	case '=':
		if (nx != '=')
			return fail(c, at, "'=' is not an operator: write == to compare");
		t->t = T_EQ;
		break;
	case '!':
		if (nx != '=')
			return fail(c, at, "write 'not' instead of '!'");
		t->t = T_NE;
		break;
	case '&':
		return fail(c, at, "write 'and' instead of '%s'", nx == '&' ? "&&" : "&");
	case '|':
		return fail(c, at, "write 'or' instead of '%s'", nx == '|' ? "||" : "|");
	case '.':
		if (is_digit(nx))
			return fail(c, at, "write a digit before the '.', as in 0.5");
		return fail(c, at, "unexpected '.'");
	default:
		if (ch >= 0x21 && ch < 0x7f)
			return fail(c, at, "unexpected character '%c'", ch);
		if (ch >= 0x80) {
			size_t n = 1;
			while (n < 4 && (peekc(c, at + n) & 0xC0) == 0x80)
				n++;
			if (docket_utf8_valid(c->src + at, n))
				return fail(c, at, "unexpected character '%.*s'", (int)n, c->src + at);
		}
		return fail(c, at, "unexpected byte 0x%02x", (unsigned)ch);
	}
	if ((t->t == T_LE || t->t == T_GE || t->t == T_EQ || t->t == T_NE))
		t->len = 2;
	c->pos += t->len;
	return 0;
}

/* Move to the next token; on error c->tok becomes T_END and c->failed. */
static int next(cc *c)
{
	struct token t = {0};
	int ch, rc;

	c->prev_off = c->tok.off;
	c->prev_len = c->tok.len;
	while ((ch = peekc(c, c->pos)) == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
		c->pos++;
	t.off = (uint32_t)c->pos;
	if (ch < 0)
		t.t = T_END, rc = 0;
	else if (is_digit(ch))
		t.t = T_NUM, rc = lex_number(c, &t);
	else if (ch == '"' || ch == '\'')
		t.t = T_STR, rc = lex_string(c, &t);
	else if (is_alpha(ch))
		rc = lex_name(c, &t);
	else
		rc = lex_op(c, &t);
	if (rc < 0) {
		t.t = T_END;
		t.off = (uint32_t)c->len;
	}
	c->tok = t;
	return rc;
}

/* ---- code ---- */

static int emit(cc *c, uint32_t word)
{
	if (c->ncode == c->capcode)
		return fail(c, c->tok.off, "the guard is too complex");
	c->code[c->ncode++] = word;
	return 0;
}

static int push(cc *c, uint32_t word)
{
	if (++c->sp > STACK_MAX)
		return fail(c, c->tok.off, "the guard is too complex (more than %d values pending)",
			    STACK_MAX);
	return emit(c, word);
}

static int add_const(cc *c, docket_value v)
{
	if (c->nk == c->capk || c->nk >= FIELD_INDEX_MAX)
		return fail(c, c->tok.off, "the guard has too many values");
	c->k[c->nk] = v;
	return (int)c->nk++;
}

static void add_read(cc *c, uint32_t field)
{
	for (size_t i = 0; i < c->nreads; i++)
		if (c->reads[i] == field)
			return;
	if (c->nreads < c->capreads)
		c->reads[c->nreads++] = field;
}

/* ---- types and messages ---- */

static bool numeric(enum ty t) { return t == TY_INT || t == TY_NUM; }

static const char *ty_name(enum ty t)
{
	switch (t) {
	case TY_BOOL: return "a boolean";
	case TY_INT:
	case TY_NUM: return "a number";
	case TY_STR: return "a string";
	case TY_DATE: return "a date";
	case TY_NULL: return "null";
	}
	return "?";
}

static enum ty field_ty(docket_ftype t)
{
	switch (t) {
	case DOCKET_FT_STRING:
	case DOCKET_FT_ENUM: return TY_STR;
	case DOCKET_FT_INTEGER: return TY_INT;
	case DOCKET_FT_NUMBER: return TY_NUM;
	case DOCKET_FT_BOOLEAN: return TY_BOOL;
	case DOCKET_FT_DATE: return TY_DATE;
	}
	return TY_NULL;
}

/* How an operand is named in a message: 'customer' for a field, else the
 * source as written (5, "x", quantity + 1). */
static const char *name_of(const cc *c, const ex *e, char out[SHOW_MAX + 8])
{
	char s[SHOW_MAX + 4];
	if (e->field >= 0)
		snprintf(out, SHOW_MAX + 8, "'%s'", show(c->fields[e->field].name,
			 strlen(c->fields[e->field].name), s));
	else
		snprintf(out, SHOW_MAX + 8, "%s", show(c->src + e->off, e->end - e->off, s));
	return out;
}

/* Operand e of op must be of type want (TY_BOOL, or TY_NUM for numbers). */
static int need(cc *c, const ex *e, enum ty want, const char *op)
{
	char n[SHOW_MAX + 8];
	const char *what = want == TY_BOOL ? "true or false" : "numbers";

	if (want == TY_BOOL ? e->ty == TY_BOOL : numeric(e->ty))
		return 0;
	if (e->ty == TY_NULL)
		return fail(c, e->off, "'%s' needs %s, not null", op, what);
	return fail(c, e->off, "'%s' needs %s, but %s is %s", op, what, name_of(c, e, n),
		    ty_name(e->ty));
}

static const char *op_text(enum tok t)
{
	static const char *const text[] = {
		[T_AND] = "and", [T_OR] = "or", [T_NOT] = "not", [T_IN] = "in",
		[T_EQ] = "==", [T_NE] = "!=", [T_LT] = "<", [T_LE] = "<=", [T_GT] = ">",
		[T_GE] = ">=", [T_PLUS] = "+", [T_MINUS] = "-", [T_STAR] = "*", [T_SLASH] = "/",
	};
	return t < sizeof text / sizeof *text && text[t] ? text[t] : "?";
}

/* A string constant compared with an enum field must be one of its values. */
static int check_enum(cc *c, const ex *fe, const ex *lit)
{
	const docket_field *f;
	const docket_value *v;
	char s[SHOW_MAX + 4], list[160];
	size_t off = 0;

	if (fe->field < 0 || lit->lit < 0)
		return 0;
	f = &c->fields[fe->field];
	v = &c->k[lit->lit];
	if (f->type != DOCKET_FT_ENUM || v->t != DOCKET_V_STR)
		return 0;
	for (size_t i = 0; i < f->nvalues; i++)
		if (strlen(f->values[i]) == v->s.len && memcmp(f->values[i], v->s.p, v->s.len) == 0)
			return 0;
	list[0] = '\0';
	for (size_t i = 0; i < f->nvalues && off < sizeof list; i++) {
		int n = snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "", f->values[i]);
		off += n > 0 ? (size_t)n : 0;
	}
	return fail(c, lit->off, "'%s' is not a value of %s (%s)", show(v->s.p, v->s.len, s),
		    f->name, list);
}

/* A string constant standing for a date becomes a date constant. */
static int to_date(cc *c, ex *lit)
{
	docket_value *v = &c->k[lit->lit];
	char s[SHOW_MAX + 4];
	int32_t days;

	if (docket_date_parse(v->s.p, v->s.len, &days) < 0)
		return fail(c, lit->off, "'%s' is not a date: write YYYY-MM-DD, as in '2024-03-31'",
			    show(v->s.p, v->s.len, s));
	v->t = DOCKET_V_DATE;
	v->date = days;
	lit->ty = TY_DATE;
	return 0;
}

static int mismatch(cc *c, size_t at, const ex *a, const ex *b)
{
	char x[SHOW_MAX + 8], y[SHOW_MAX + 8];
	return fail(c, at, "%s is %s and %s is %s: they cannot be compared",
		    name_of(c, a, x), ty_name(a->ty), name_of(c, b, y), ty_name(b->ty));
}

/* Whether a op b is meaningful; rewrites date literals.  `at` is where the
 * operator is, for errors that concern both sides. */
static int check_compare(cc *c, enum tok op, size_t at, ex *a, ex *b)
{
	bool order = op != T_EQ && op != T_NE && op != T_IN;

	if (a->ty == TY_NULL || b->ty == TY_NULL) {
		if (order)
			return fail(c, at, "'%s' with null is always false: test with == null or != null",
				    op_text(op));
		return 0;
	}
	if (a->ty == TY_DATE && b->ty == TY_STR && b->lit >= 0)
		return to_date(c, b);
	if (b->ty == TY_DATE && a->ty == TY_STR && a->lit >= 0)
		return to_date(c, a);
	if (!(a->ty == b->ty || (numeric(a->ty) && numeric(b->ty))))
		return mismatch(c, at, a, b);
	if (a->ty == TY_BOOL && order)
		return fail(c, at, "true and false have no order: compare them with == or !=");
	if (a->ty == TY_STR)
		return check_enum(c, a, b) < 0 || check_enum(c, b, a) < 0 ? -1 : 0;
	return 0;
}

/* ---- parser: one function per precedence level, lowest first ---- */

static int parse_or(cc *c, ex *out);

static ex ex_bool(uint32_t off, uint32_t end)
{
	return (ex){.ty = TY_BOOL, .field = -1, .lit = -1, .off = off, .end = end};
}

static int enter(cc *c)
{
	if (++c->depth > DEPTH_MAX)
		return fail(c, c->tok.off, "the guard is nested too deeply (more than %d levels)",
			    DEPTH_MAX);
	return 0;
}

/* "qty" for "quantity": too far apart for an edit distance, but a
 * shortening people write.  Only a single field that fits is offered. */
static bool shortens(const char *word, const char *name)
{
	if (word[0] != name[0] || strlen(word) >= strlen(name))
		return false;
	for (; *word; word++) {
		name = strchr(name, *word);
		if (!name++)
			return false;
	}
	return true;
}

static const char *abbreviated(const char *word, const char *const *names, size_t n)
{
	const char *found = NULL;

	if (strlen(word) < 2)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!shortens(word, names[i]))
			continue;
		if (found)
			return NULL;
		found = names[i];
	}
	return found;
}

static int unknown_name(cc *c, const struct token *t)
{
	char word[256], hint[DOCKET_NAME_MAX + 40] = "";
	const char **cands;
	const char *near = NULL, *dot;
	size_t n = 0;

	if (t->len >= sizeof word)
		return fail(c, t->off, "unknown field '%.*s...'", SHOW_MAX, c->src + t->off);
	memcpy(word, c->src + t->off, t->len);
	word[t->len] = '\0';
	dot = strchr(word, '.');
	for (size_t i = 0; dot && i < c->nfields; i++)
		if (strlen(c->fields[i].name) == (size_t)(dot - word) &&
		    memcmp(c->fields[i].name, word, (size_t)(dot - word)) == 0)
			return fail(c, t->off, "unknown field '%s': '%s' is %s and has no parts",
				    word, c->fields[i].name, ty_name(field_ty(c->fields[i].type)));
	for (char *p = word; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	cands = malloc((c->nfields + NKEYWORDS) * sizeof *cands);
	if (cands) {
		for (size_t i = 0; i < c->nfields; i++)
			cands[n++] = c->fields[i].name;
		for (size_t i = 0; i < NKEYWORDS; i++)
			cands[n++] = keywords[i];
		/* "Quantity": lowering it is an exact match, which suggest skips.
		 * A shortening ("cust") is a surer sign than a small edit distance
		 * to some other short name ("rush"), so it is tried first. */
		for (size_t i = 0; !near && i < n; i++)
			if (strcmp(cands[i], word) == 0 && memcmp(word, c->src + t->off, t->len))
				near = cands[i];
		if (!near)
			near = abbreviated(word, cands, c->nfields);
		if (!near)
			near = docket_suggest(word, cands, n);
		if (near)
			snprintf(hint, sizeof hint, " \xe2\x80\x94 did you mean '%s'?", near);
		free(cands);
	}
	return fail(c, t->off, "unknown field '%.*s'%s", (int)t->len, c->src + t->off, hint);
}

static int parse_name(cc *c, ex *out)
{
	const struct token *t = &c->tok;

	for (size_t i = 0; i < c->nfields; i++) {
		const docket_field *f = &c->fields[i];
		if (strlen(f->name) == t->len && memcmp(f->name, c->src + t->off, t->len) == 0) {
			*out = (ex){.ty = field_ty(f->type), .nullable = true, .field = (int)i,
				    .lit = -1, .off = t->off, .end = t->off + t->len};
			add_read(c, (uint32_t)i);
			if (push(c, OP_FIELD | (uint32_t)i << 8) < 0)
				return -1;
			return next(c);
		}
	}
	return unknown_name(c, t);
}

/* Anything that may not start an operand lands here. */
static int expected_value(cc *c)
{
	char a[SHOW_MAX + 8], b[SHOW_MAX + 8];

	if (c->tok.t == T_END && c->prev_len == 0)
		return fail(c, 0, "the guard is empty: write a condition, as in quantity > 0");
	if (c->tok.t == T_END)
		return fail(c, c->len, "the guard ends too early: a value must follow %s",
			    show_tok(c, c->prev_off, c->prev_len, a));
	if (c->prev_len == 0)
		return fail(c, c->tok.off, "a guard cannot start with %s",
			    show_tok(c, c->tok.off, c->tok.len, a));
	return fail(c, c->tok.off, "expected a value after %s, found %s",
		    show_tok(c, c->prev_off, c->prev_len, a), show_tok(c, c->tok.off, c->tok.len, b));
}

static int parse_literal(cc *c, ex *out)
{
	struct token t = c->tok;
	docket_value v = {.t = DOCKET_V_NULL};
	enum ty ty;

	switch (t.t) {
	case T_NUM: v = t.v; ty = v.t == DOCKET_V_INT ? TY_INT : TY_NUM; break;
	case T_STR: v = t.v; ty = TY_STR; break;
	case T_TRUE: v.t = DOCKET_V_BOOL, v.b = true, ty = TY_BOOL; break;
	case T_FALSE: v.t = DOCKET_V_BOOL, v.b = false, ty = TY_BOOL; break;
	case T_NULL: ty = TY_NULL; break;
	default: return expected_value(c);
	}
	int k = add_const(c, v);
	if (k < 0)
		return -1;
	*out = (ex){.ty = ty, .nullable = ty == TY_NULL, .field = -1, .lit = k,
		    .off = t.off, .end = t.off + t.len};
	return next(c);
}

static int parse_primary(cc *c, ex *out)
{
	char a[SHOW_MAX + 8];
	uint32_t off = c->tok.off;

	if (c->tok.t == T_NAME)
		return parse_name(c, out);
	if (c->tok.t != T_LP) {
		if (parse_literal(c, out) < 0)
			return -1;
		return push(c, OP_CONST | (uint32_t)out->lit << 8);
	}
	if (enter(c) < 0 || next(c) < 0 || parse_or(c, out) < 0)
		return -1;
	if (c->tok.t != T_RP) {
		if (c->tok.t == T_END)
			return fail(c, c->len, "the '(' at column %d is never closed", column(c, off));
		return fail(c, c->tok.off, "expected ')' to close the '(' at column %d, found %s",
			    column(c, off), show_tok(c, c->tok.off, c->tok.len, a));
	}
	c->depth--;
	out->off = off;
	out->end = c->tok.off + 1;
	return next(c);
}

/* Unary minus; on a constant it folds, so -5 is one constant. */
static int parse_unary(cc *c, ex *out)
{
	uint32_t off = c->tok.off;

	if (c->tok.t != T_MINUS)
		return parse_primary(c, out);
	if (enter(c) < 0 || next(c) < 0 || parse_unary(c, out) < 0 || need(c, out, TY_NUM, "-") < 0)
		return -1;
	c->depth--;
	out->off = off;
	if (out->lit >= 0 && c->code[c->ncode - 1] == (OP_CONST | (uint32_t)out->lit << 8)) {
		docket_value *v = &c->k[out->lit];
		if (v->t == DOCKET_V_NUM)
			v->n = -v->n;
		else
			v->i = -v->i;   /* literals are >= -INT64_MAX: no overflow */
		return 0;
	}
	out->field = out->lit = -1;
	return emit(c, OP_NEG);
}

static int arith_tail(cc *c, ex *a, const ex *b, enum tok op)
{
	static const uint32_t ops[] = {[T_PLUS] = OP_ADD, [T_MINUS] = OP_SUB,
				       [T_STAR] = OP_MUL, [T_SLASH] = OP_DIV};
	if (need(c, a, TY_NUM, op_text(op)) < 0 || need(c, b, TY_NUM, op_text(op)) < 0)
		return -1;
	a->ty = a->ty == TY_INT && b->ty == TY_INT && op != T_SLASH ? TY_INT : TY_NUM;
	a->nullable = true;     /* division by zero, and overflow of numbers */
	a->field = a->lit = -1;
	a->end = b->end;
	c->sp--;
	return emit(c, ops[op]);
}

static int parse_mul(cc *c, ex *out)
{
	ex b;
	if (parse_unary(c, out) < 0)
		return -1;
	while (c->tok.t == T_STAR || c->tok.t == T_SLASH) {
		enum tok op = c->tok.t;
		if (next(c) < 0 || parse_unary(c, &b) < 0 || arith_tail(c, out, &b, op) < 0)
			return -1;
	}
	return 0;
}

static int parse_add(cc *c, ex *out)
{
	ex b;
	if (parse_mul(c, out) < 0)
		return -1;
	while (c->tok.t == T_PLUS || c->tok.t == T_MINUS) {
		enum tok op = c->tok.t;
		if (next(c) < 0 || parse_mul(c, &b) < 0 || arith_tail(c, out, &b, op) < 0)
			return -1;
	}
	return 0;
}

/* `x in [literal, ...]`: the items are constants in a row, all of one type
 * and each comparable with x. */
static int parse_list(cc *c, ex *a)
{
	char s[SHOW_MAX + 8], t[SHOW_MAX + 8];
	uint32_t first = (uint32_t)c->nk, n = 0;
	ex item, seen = {.ty = TY_NULL};

	if (next(c) < 0)
		return -1;
	if (c->tok.t != T_LB)
		return fail(c, c->tok.off, "'in' needs a list in brackets, as in [\"net30\", \"net60\"]");
	if (next(c) < 0)
		return -1;
	while (c->tok.t != T_RB) {
		uint32_t off = c->tok.off;
		bool neg = c->tok.t == T_MINUS;
		if (neg && next(c) < 0)
			return -1;
		if (c->tok.t == T_END)
			return fail(c, c->len, "the list is never closed: a ']' is missing");
		if (c->tok.t == T_NAME || c->tok.t == T_LP || c->tok.t == T_MINUS ||
		    (neg && c->tok.t != T_NUM))
			return fail(c, c->tok.off, "a list after 'in' holds only plain values"
				    " (numbers, strings, true, false, null)");
		if (parse_literal(c, &item) < 0)
			return -1;
		if (neg) {
			docket_value *v = &c->k[item.lit];
			if (v->t == DOCKET_V_NUM)
				v->n = -v->n;
			else
				v->i = -v->i;
			item.off = off;
		}
		if (item.ty == TY_STR && a->ty == TY_DATE && to_date(c, &item) < 0)
			return -1;
		if (item.ty != TY_NULL && seen.ty != TY_NULL && item.ty != seen.ty &&
		    !(numeric(item.ty) && numeric(seen.ty)))
			return fail(c, item.off, "the list mixes types: %s is %s but %s is %s",
				    name_of(c, &seen, s), ty_name(seen.ty),
				    name_of(c, &item, t), ty_name(item.ty));
		if (item.ty != TY_NULL && seen.ty == TY_NULL)
			seen = item;
		if (check_compare(c, T_IN, item.off, a, &item) < 0)
			return -1;
		n++;
		if (c->tok.t == T_COMMA) {
			if (next(c) < 0)
				return -1;
		} else if (c->tok.t != T_RB) {
			if (c->tok.t == T_END)
				return fail(c, c->len, "the list is never closed: a ']' is missing");
			return fail(c, c->tok.off, "expected ',' or ']' in the list, found %s",
				    show_tok(c, c->tok.off, c->tok.len, s));
		}
	}
	if (n == 0)
		return fail(c, c->tok.off, "the list after 'in' is empty");
	*a = ex_bool(a->off, c->tok.off + 1);
	if (emit(c, OP_IN | first << 8) < 0 || emit(c, n) < 0)
		return -1;
	return next(c);
}

static bool is_compare(enum tok t)
{
	return t == T_EQ || t == T_NE || t == T_LT || t == T_LE || t == T_GT || t == T_GE;
}

static int parse_compare(cc *c, ex *out)
{
	static const uint32_t ops[] = {[T_EQ] = OP_EQ, [T_NE] = OP_NE, [T_LT] = OP_LT,
				       [T_LE] = OP_LE, [T_GT] = OP_GT, [T_GE] = OP_GE};
	ex b;

	if (parse_add(c, out) < 0)
		return -1;
	if (c->tok.t == T_NOT)
		return fail(c, c->tok.off, "'not' goes before a condition, as in not (x in [1, 2])");
	if (c->tok.t == T_IN) {
		if (parse_list(c, out) < 0)
			return -1;
	} else if (is_compare(c->tok.t)) {
		enum tok op = c->tok.t;
		uint32_t at = c->tok.off;
		if (next(c) < 0 || parse_add(c, &b) < 0 || check_compare(c, op, at, out, &b) < 0)
			return -1;
		*out = ex_bool(out->off, b.end);
		c->sp--;
		if (emit(c, ops[op]) < 0)
			return -1;
	} else {
		return 0;
	}
	if (is_compare(c->tok.t) || c->tok.t == T_IN)
		return fail(c, c->tok.off, "comparisons do not chain: join them with 'and',"
			    " as in a < b and b < c");
	if (c->tok.t == T_NOT)
		return fail(c, c->tok.off, "'not' goes before a condition, as in not (x in [1, 2])");
	return 0;
}

static int parse_not(cc *c, ex *out)
{
	uint32_t off = c->tok.off;

	if (c->tok.t != T_NOT)
		return parse_compare(c, out);
	if (enter(c) < 0 || next(c) < 0 || parse_not(c, out) < 0 || need(c, out, TY_BOOL, "not") < 0)
		return -1;
	c->depth--;
	*out = ex_bool(off, out->end);
	return emit(c, OP_NOT);
}

/* a and b: a's jump skips b when a is not true; OP_BOOL keeps a null b
 * from leaking out, so and/or always give true or false. */
static int logic_tail(cc *c, ex *a, enum tok op, int (*operand)(cc *, ex *))
{
	ex b;
	size_t jump = c->ncode;

	if (need(c, a, TY_BOOL, op_text(op)) < 0 || next(c) < 0)
		return -1;
	c->sp--;
	if (emit(c, op == T_AND ? OP_AND : OP_OR) < 0 || operand(c, &b) < 0 ||
	    need(c, &b, TY_BOOL, op_text(op)) < 0)
		return -1;
	if (b.nullable && emit(c, OP_BOOL) < 0)
		return -1;
	c->code[jump] |= (uint32_t)c->ncode << 8;
	*a = ex_bool(a->off, b.end);
	return 0;
}

static int parse_and(cc *c, ex *out)
{
	if (parse_not(c, out) < 0)
		return -1;
	while (c->tok.t == T_AND)
		if (logic_tail(c, out, T_AND, parse_not) < 0)
			return -1;
	return 0;
}

static int parse_or(cc *c, ex *out)
{
	if (parse_and(c, out) < 0)
		return -1;
	while (c->tok.t == T_OR)
		if (logic_tail(c, out, T_OR, parse_and) < 0)
			return -1;
	return 0;
}

static int parse_guard(cc *c)
{
	char a[SHOW_MAX + 8], b[SHOW_MAX + 8];
	ex e;

	if (next(c) < 0 || parse_or(c, &e) < 0)
		return -1;
	if (c->tok.t == T_RP)
		return fail(c, c->tok.off, "unexpected ')' with no '(' to close");
	if (c->tok.t != T_END)
		return fail(c, c->tok.off, "unexpected %s after %s: is an 'and' or 'or' missing?",
			    show_tok(c, c->tok.off, c->tok.len, a),
			    show_tok(c, c->prev_off, c->prev_len, b));
	if (e.ty == TY_NULL)
		return fail(c, e.off, "a guard must be true or false, not null");
	if (e.ty != TY_BOOL)
		return fail(c, e.off, "a guard must be true or false, but %s is %s",
			    name_of(c, &e, a), ty_name(e.ty));
	return 0;
}

/* ---- packing: everything in one allocation ---- */

static docket_guard *pack(const cc *c)
{
	size_t sz = sizeof(docket_guard);
	size_t ok = sz, ocode, oreads, osrc, opool;
	docket_guard *g;
	char *base;

	sz += c->nk * sizeof(docket_value);
	ocode = sz;
	sz += c->ncode * sizeof(uint32_t);
	oreads = sz;
	sz += c->nreads * sizeof(uint32_t);
	osrc = sz;
	sz += c->len + 1;
	opool = sz;
	sz += c->npool;
	base = malloc(sz);
	if (!base)
		return NULL;
	g = (docket_guard *)base;
	docket_value *k = (docket_value *)(base + ok);
	memcpy(base + ocode, c->code, c->ncode * sizeof(uint32_t));
	memcpy(base + oreads, c->reads, c->nreads * sizeof(uint32_t));
	memcpy(base + osrc, c->src, c->len);
	base[osrc + c->len] = '\0';
	if (c->npool)
		memcpy(base + opool, c->pool, c->npool);
	for (size_t i = 0; i < c->nk; i++) {
		k[i] = c->k[i];
		if (k[i].t == DOCKET_V_STR)
			k[i].s.p = base + opool + (k[i].s.p - c->pool);
	}
	*g = (docket_guard){
		.code = (const uint32_t *)(base + ocode), .k = k,
		.reads = (const uint32_t *)(base + oreads), .src = base + osrc,
		.ncode = (uint32_t)c->ncode, .nk = (uint32_t)c->nk, .nreads = (uint32_t)c->nreads,
	};
	return g;
}

int docket_guard_compile(const char *src, size_t len,
			 const docket_field *fields, size_t nfields,
			 docket_guard **out, docket_guard_error *gerr)
{
	docket_guard_error spare;
	cc c = {.src = src, .len = len, .fields = fields, .nfields = nfields};
	int rc = DOCKET_EINVAL;

	*out = NULL;
	c.gerr = gerr ? gerr : &spare;
	c.gerr->col = 0;
	c.gerr->msg[0] = '\0';
	if (len > DOCKET_GUARD_MAX)
		return fail(&c, 0, "the guard is longer than %d bytes", DOCKET_GUARD_MAX), rc;
	if (nfields > FIELD_INDEX_MAX)
		return fail(&c, 0, "too many fields"), rc;
	/* Every token emits at most two words and one constant, and string
	 * constants are never longer than their source: these bound it all. */
	c.capcode = 2 * len + 2;
	c.capk = len + 1;
	c.capreads = nfields < len ? nfields : len;
	c.code = malloc(c.capcode * sizeof *c.code);
	c.k = malloc(c.capk * sizeof *c.k);
	c.reads = malloc((c.capreads + 1) * sizeof *c.reads);
	c.pool = malloc(len + 1);
	if (!c.code || !c.k || !c.reads || !c.pool) {
		rc = DOCKET_ENOMEM;
		snprintf(c.gerr->msg, sizeof c.gerr->msg, "out of memory");
		goto done;
	}
	if (parse_guard(&c) < 0)
		goto done;
	*out = pack(&c);
	if (!*out) {
		rc = DOCKET_ENOMEM;
		snprintf(c.gerr->msg, sizeof c.gerr->msg, "out of memory");
		goto done;
	}
	rc = 0;
done:
	free(c.pool);
	free(c.reads);
	free(c.k);
	free(c.code);
	return rc;
}

void docket_guard_free(docket_guard *g)
{
	free(g);
}

const char *docket_guard_source(const docket_guard *g)
{
	return g->src;
}

/* ---- evaluation: no allocation, no recursion, no failure ---- */

static inline bool truthy(const docket_value *v)
{
	return v->t == DOCKET_V_BOOL && v->b;
}

static inline docket_value boolv(bool b)
{
	return (docket_value){.t = DOCKET_V_BOOL, .b = b};
}

static inline bool is_num(const docket_value *v)
{
	return v->t == DOCKET_V_INT || v->t == DOCKET_V_NUM;
}

/* Sign of i - d, exactly, even past 2^53 where (double)i rounds. */
static int cmp_int_dbl(int64_t i, double d)
{
	if (d >= 9223372036854775808.0)
		return -1;
	if (d < -9223372036854775808.0)
		return 1;
	int64_t t = (int64_t)d;     /* truncates toward zero, in range */
	if (i != t)
		return i < t ? -1 : 1;
	double frac = d - (double)t;
	return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

/* Order a and b into *r; false when they have no order (null, mixed). */
static bool compare(const docket_value *a, const docket_value *b, int *r)
{
	if (is_num(a) && is_num(b)) {
		if (a->t == DOCKET_V_INT && b->t == DOCKET_V_INT)
			*r = (a->i > b->i) - (a->i < b->i);
		else if (a->t == DOCKET_V_INT)
			*r = cmp_int_dbl(a->i, b->n);
		else if (b->t == DOCKET_V_INT)
			*r = -cmp_int_dbl(b->i, a->n);
		else if (isnan(a->n) || isnan(b->n))
			return false;
		else
			*r = (a->n > b->n) - (a->n < b->n);
		return true;
	}
	if (a->t != b->t)
		return false;
	switch (a->t) {
	case DOCKET_V_STR: {
		uint32_t n = a->s.len < b->s.len ? a->s.len : b->s.len;
		int m = n ? memcmp(a->s.p, b->s.p, n) : 0;
		*r = m ? (m > 0) - (m < 0) : (a->s.len > b->s.len) - (a->s.len < b->s.len);
		return true;
	}
	case DOCKET_V_DATE:
		*r = (a->date > b->date) - (a->date < b->date);
		return true;
	case DOCKET_V_BOOL:
		*r = (int)a->b - (int)b->b;
		return true;
	default:
		return false;
	}
}

static bool equal(const docket_value *a, const docket_value *b)
{
	int r;
	if (a->t == DOCKET_V_NULL || b->t == DOCKET_V_NULL)
		return a->t == b->t;
	return compare(a, b, &r) && r == 0;
}

static docket_value numv(double x)
{
	if (!isfinite(x))
		return (docket_value){.t = DOCKET_V_NULL};
	return (docket_value){.t = DOCKET_V_NUM, .n = x};
}

static double as_dbl(const docket_value *v)
{
	return v->t == DOCKET_V_INT ? (double)v->i : v->n;
}

/* a op b into *a.  Integers stay integers until they would overflow, then
 * continue as numbers; a result that is not finite is null. */
static void arith(uint32_t op, docket_value *a, const docket_value *b)
{
	int64_t r;

	if (!is_num(a) || !is_num(b)) {
		a->t = DOCKET_V_NULL;
		return;
	}
	if (op == OP_DIV) {
		if ((b->t == DOCKET_V_INT && b->i == 0) || (b->t == DOCKET_V_NUM && b->n == 0))
			a->t = DOCKET_V_NULL;
		else
			*a = numv(as_dbl(a) / as_dbl(b));
		return;
	}
	if (a->t == DOCKET_V_INT && b->t == DOCKET_V_INT) {
		bool over = op == OP_ADD ? __builtin_add_overflow(a->i, b->i, &r)
			  : op == OP_SUB ? __builtin_sub_overflow(a->i, b->i, &r)
			  : __builtin_mul_overflow(a->i, b->i, &r);
		if (!over) {
			a->i = r;
			return;
		}
	}
	double x = as_dbl(a), y = as_dbl(b);
	*a = numv(op == OP_ADD ? x + y : op == OP_SUB ? x - y : x * y);
}

static void negate(docket_value *v)
{
	if (v->t == DOCKET_V_INT && v->i != INT64_MIN)
		v->i = -v->i;
	else if (v->t == DOCKET_V_INT)
		*v = numv(9223372036854775808.0);
	else if (v->t == DOCKET_V_NUM)
		v->n = -v->n;
	else
		v->t = DOCKET_V_NULL;
}

bool docket_guard_eval(const docket_guard *g, const docket_value *fields)
{
	docket_value st[STACK_MAX];
	docket_value *sp = st;          /* the next free slot */
	const uint32_t *code = g->code;
	int r;

	for (uint32_t pc = 0; pc < g->ncode; pc++) {
		uint32_t ins = code[pc], arg = ins >> 8;
		switch (ins & 0xFF) {
		case OP_CONST: *sp++ = g->k[arg]; break;
		case OP_FIELD: *sp++ = fields[arg]; break;
		case OP_NEG: negate(sp - 1); break;
		case OP_NOT: sp[-1] = boolv(!truthy(sp - 1)); break;
		case OP_BOOL: sp[-1] = boolv(truthy(sp - 1)); break;
		case OP_ADD:
		case OP_SUB:
		case OP_MUL:
		case OP_DIV: arith(ins & 0xFF, sp - 2, sp - 1); sp--; break;
		case OP_EQ: sp[-2] = boolv(equal(sp - 2, sp - 1)); sp--; break;
		case OP_NE: sp[-2] = boolv(!equal(sp - 2, sp - 1)); sp--; break;
		case OP_LT: sp[-2] = boolv(compare(sp - 2, sp - 1, &r) && r < 0); sp--; break;
		case OP_LE: sp[-2] = boolv(compare(sp - 2, sp - 1, &r) && r <= 0); sp--; break;
		case OP_GT: sp[-2] = boolv(compare(sp - 2, sp - 1, &r) && r > 0); sp--; break;
		case OP_GE: sp[-2] = boolv(compare(sp - 2, sp - 1, &r) && r >= 0); sp--; break;
		case OP_IN: {
			uint32_t n = code[++pc];
			bool hit = false;
			for (uint32_t i = 0; i < n && !hit; i++)
				hit = equal(sp - 1, &g->k[arg + i]);
			sp[-1] = boolv(hit);
			break;
		}
		case OP_AND:
			/* Jumps land one past the right operand; the loop adds the one. */
			if (!truthy(sp - 1)) {
				sp[-1] = boolv(false);
				pc = arg - 1;
			} else {
				sp--;
			}
			break;
		case OP_OR:
			if (truthy(sp - 1))
				pc = arg - 1;
			else
				sp--;
			break;
		}
	}
	return sp == st + 1 && truthy(st);
}

/* ---- explain ---- */

struct out {
	char *buf;
	size_t size, len;
};

__attribute__((format(printf, 2, 3)))
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	if (o->len >= o->size)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	o->len = n < 0 ? o->size : o->len + (size_t)n;
}

static void put_value(struct out *o, const docket_value *v)
{
	char b[32];

	switch (v->t) {
	case DOCKET_V_NULL: put(o, "null"); break;
	case DOCKET_V_BOOL: put(o, v->b ? "true" : "false"); break;
	case DOCKET_V_INT: put(o, "%lld", (long long)v->i); break;
	case DOCKET_V_NUM:
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(b, sizeof b, "%.*g", prec, v->n);
			if (strtod(b, NULL) == v->n)
				break;
		}
		put(o, "%s", b);
		break;
	case DOCKET_V_DATE:
		docket_date_format(v->date, b);
		put(o, "%s", b);
		break;
	case DOCKET_V_STR: {
		uint32_t n = v->s.len > SHOW_MAX ? SHOW_MAX : v->s.len;
		while (n > 0 && n < v->s.len && ((unsigned char)v->s.p[n] & 0xC0) == 0x80)
			n--;
		put(o, "\"");
		for (uint32_t i = 0; i < n; i++) {
			char ch = v->s.p[i];
			if (ch == '"' || ch == '\\')
				put(o, "\\%c", ch);
			else
				put(o, "%c", (unsigned char)ch < 0x20 ? ' ' : ch);
		}
		put(o, n < v->s.len ? "...\"" : "\"");
		break;
	}
	}
}

void docket_guard_explain(const docket_guard *g, const docket_field *fields,
			  const docket_value *values, char *buf, size_t size)
{
	struct out o = {buf, size, 0};

	if (!size)
		return;
	buf[0] = '\0';
	for (uint32_t i = 0; i < g->nreads; i++) {
		uint32_t f = g->reads[i];
		put(&o, "%s%s=", i ? ", " : "", fields[f].name);
		put_value(&o, &values[f]);
	}
}
