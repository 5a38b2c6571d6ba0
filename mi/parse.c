/*
 * parse.c: gdb's MI output, from bytes to records.
 *
 * Two stages. The line splitter takes chunks of any size and finds line
 * ends (LF, CR, CR LF, a CR LF split across chunks included); complete
 * lines are parsed straight from the caller's chunk and only the unfinished
 * tail is buffered, so a 10 MB line costs one copy into the buffer, not one
 * per chunk. The line parser is a hand-written loop over the grammar of the
 * manual's "GDB/MI Output Syntax", with an explicit stack of open tuples
 * and lists instead of recursion: hostile nesting cannot exhaust the C
 * stack. Anything it cannot read becomes a GDBMI_PARSE_ERROR record with
 * the column, and the next line starts afresh.
 *
 * A record's arena holds the raw line and a working copy that is parsed in
 * place: a name ends where its '=' was overwritten by a NUL, a string is
 * decoded over its own bytes and ends where its closing quote was. Strings
 * without escapes are thus never copied, and nodes are the only
 * allocations. The values of an open container wait on a scratch stack
 * that the parser keeps from line to line; when the container closes they
 * move to one array in the arena, so children are indexed in O(1).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct record_priv {
	struct gdbmi_record pub; /* first: a record pointer is a record_priv pointer */
	struct gdbmi_arena *arena;
};

struct open_container {
	enum gdbmi_kind kind;
	const char *name;
	size_t base; /* its first child on the value stack */
};

/* Reused from line to line: no allocation per line once warm. */
struct scratch {
	struct gdbmi_value *vals;
	size_t nvals, capvals;
	struct open_container *open;
	size_t nopen, capopen;
};

struct gdbmi_parser {
	gdbmi_record_fn *fn;
	void *ctx;
	struct gdbmi_buf partial; /* the start of a line whose end has not come yet */
	int skip_lf;		  /* the last line ended with CR: a LF next is part of it */
	struct scratch sc;
};

static const struct gdbmi_value empty_tuple = { .kind = GDBMI_TUPLE };

/* ---------------------------------------------------------------- records */

const char *gdbmi_strstatus(enum gdbmi_status st)
{
	switch (st) {
	case GDBMI_OK:
		return "ok";
	case GDBMI_NOMEM:
		return "out of memory";
	case GDBMI_BAD_INPUT:
		return "bad input";
	case GDBMI_GDB_ERROR:
		return "gdb reported an error";
	case GDBMI_TIMEOUT:
		return "timeout";
	case GDBMI_DEAD:
		return "gdb is gone";
	case GDBMI_IO:
		return "system error";
	}
	return "unknown status";
}

struct gdbmi_arena *gdbmi_record_arena(struct gdbmi_record *rec)
{
	return ((struct record_priv *)rec)->arena;
}

void gdbmi_record_free(struct gdbmi_record *rec)
{
	if (rec)
		gdbmi_arena_free(((struct record_priv *)rec)->arena);
}

const struct gdbmi_value *gdbmi_record_get(const struct gdbmi_record *rec, const char *path)
{
	return rec && rec->results ? gdbmi_get(rec->results, path) : NULL;
}

int gdbmi_is(const struct gdbmi_record *rec, enum gdbmi_rtype type, const char *cls)
{
	return rec && rec->type == type && (!cls || strcmp(rec->cls, cls) == 0);
}

const char *gdbmi_error_msg(const struct gdbmi_record *rec)
{
	const char *msg = gdbmi_get_str(rec ? rec->results : NULL, "msg");

	return msg ? msg : "";
}

static enum gdbmi_rclass result_class(const char *cls)
{
	static const struct {
		const char *name;
		enum gdbmi_rclass rclass;
	} classes[] = {
		{ "done", GDBMI_DONE },		  { "running", GDBMI_RUNNING },
		{ "connected", GDBMI_CONNECTED }, { "error", GDBMI_ERROR },
		{ "exit", GDBMI_EXIT },
	};

	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (strcmp(cls, classes[i].name) == 0)
			return classes[i].rclass;
	return GDBMI_CLASS_OTHER;
}

/* ---------------------------------------------------------------- line parser */

struct line_ctx {
	struct gdbmi_record *rec;
	struct gdbmi_arena *arena;
	struct scratch *sc;
	char *work; /* the working copy: same offsets as rec->line */
};

/* Turn the record into a parse error at AT (in the working copy). */
static int fail(struct line_ctx *c, const char *at, const char *why)
{
	struct gdbmi_record *rec = c->rec;

	rec->type = GDBMI_PARSE_ERROR;
	rec->text = why;
	rec->text_len = strlen(why);
	rec->column = (size_t)(at - c->work) + 1;
	rec->cls = "";
	rec->rclass = GDBMI_CLASS_NONE;
	rec->results = NULL;
	return 0;
}

static int is_class_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* Names are read leniently: anything up to '=' that is not MI punctuation. */
static int is_name_char(char c)
{
	return (unsigned char)c > ' ' && c != '=' && c != ',' && c != '{' && c != '}' && c != '[' &&
	       c != ']' && c != '"' && c != 0x7f;
}

static int push_value(struct scratch *sc, const struct gdbmi_value *v)
{
	if (sc->nvals == sc->capvals) {
		size_t cap = sc->capvals ? sc->capvals * 2 : 64;
		struct gdbmi_value *n = realloc(sc->vals, cap * sizeof(*n));

		if (!n)
			return -1;
		sc->vals = n;
		sc->capvals = cap;
	}
	sc->vals[sc->nvals++] = *v;
	return 0;
}

static int push_open(struct scratch *sc, enum gdbmi_kind kind, const char *name)
{
	if (sc->nopen == sc->capopen) {
		size_t cap = sc->capopen ? sc->capopen * 2 : 16;
		struct open_container *n = realloc(sc->open, cap * sizeof(*n));

		if (!n)
			return -1;
		sc->open = n;
		sc->capopen = cap;
	}
	sc->open[sc->nopen++] = (struct open_container){ kind, name, sc->nvals };
	return 0;
}

/* Move the values from BASE on into one arena array: *V, *N. */
static int collect(struct line_ctx *c, size_t base, const struct gdbmi_value **v, size_t *n)
{
	struct scratch *sc = c->sc;
	struct gdbmi_value *arr;

	*n = sc->nvals - base;
	*v = NULL;
	if (*n == 0)
		return 0;
	arr = gdbmi_arena_alloc(c->arena, *n * sizeof(*arr));
	if (!arr)
		return -1;
	memcpy(arr, sc->vals + base, *n * sizeof(*arr));
	sc->nvals = base;
	*v = arr;
	return 0;
}

/* Close the innermost container; its value goes on the stack. */
static int close_container(struct line_ctx *c)
{
	struct scratch *sc = c->sc;
	struct open_container o = sc->open[--sc->nopen];
	struct gdbmi_value v = { .kind = o.kind, .name = o.name };

	if (collect(c, o.base, &v.v, &v.n) < 0)
		return -1;
	return push_value(sc, &v);
}

/*
 * The results after "class," up to the end of the line (P points at the
 * first one). Returns 0 (parsed, or turned into a parse error), -1 when
 * out of memory.
 */
static int parse_results(struct line_ctx *c, char *p, char *end)
{
	struct scratch *sc = c->sc;
	struct gdbmi_value *root;
	const char *why;

	sc->nvals = 0;
	sc->nopen = 0;
	for (;;) {
		struct gdbmi_value v = { 0 };
		const char *err;
		char *s;

		/* An item: [name=]value. */
		if (p < end && *p != '"' && *p != '{' && *p != '[') {
			for (s = p; p < end && is_name_char(*p); p++)
				;
			if (p == s)
				return fail(c, p, "expected a name or a value");
			if (p == end || *p != '=')
				return fail(c, p, "expected '=' after the name");
			*p++ = '\0';
			v.name = s;
		}
		if (p == end && !v.name && sc->nopen)
			return fail(c, p,
				    sc->open[sc->nopen - 1].kind == GDBMI_TUPLE ? "missing '}'"
										: "missing ']'");
		if (p == end)
			return fail(c, p, "expected a value");
		if (*p == '"') {
			v.kind = GDBMI_STRING;
			s = p + 1;
			p = (char *)gdbmi_cstr_scan(s, end, s, &v.len, &err, &why);
			if (!p)
				return fail(c, err, why);
			s[v.len] = '\0';
			v.str = s;
			if (push_value(sc, &v) < 0)
				return -1;
		} else if (*p == '{' || *p == '[') {
			char close = *p == '{' ? '}' : ']';

			if (push_open(sc, *p == '{' ? GDBMI_TUPLE : GDBMI_LIST, v.name) < 0)
				return -1;
			p++;
			if (p == end || *p != close)
				continue; /* its first item */
			p++;
			if (close_container(c) < 0)
				return -1;
		} else {
			return fail(c, p, "expected a value");
		}

		/* After a value: close what ends here, then ',' or the end. */
		for (;;) {
			struct open_container *o;

			if (sc->nopen == 0) {
				if (p == end)
					goto done;
				if (*p == ',')
					break;
				return fail(c, p, "expected ',' or the end of the line");
			}
			o = &sc->open[sc->nopen - 1];
			if (p == end)
				return fail(c, p,
					    o->kind == GDBMI_TUPLE ? "missing '}'" : "missing ']'");
			if (*p == ',')
				break;
			if (*p != (o->kind == GDBMI_TUPLE ? '}' : ']'))
				return fail(c, p,
					    o->kind == GDBMI_TUPLE ? "expected ',' or '}'"
								   : "expected ',' or ']'");
			p++;
			if (close_container(c) < 0)
				return -1;
		}
		p++; /* the ',' */
	}
done:
	root = gdbmi_arena_alloc(c->arena, sizeof(*root));
	if (!root)
		return -1;
	*root = empty_tuple;
	if (collect(c, 0, &root->v, &root->n) < 0)
		return -1;
	c->rec->results = root;
	return 0;
}

/* Fill C->rec from the working copy [P, END). 0, or -1 when out of memory. */
static int parse_record(struct line_ctx *c, char *p, char *end)
{
	struct gdbmi_record *rec = c->rec;
	const char *err, *why;
	char *s;

	if (p == end)
		return fail(c, p, "empty line");
	if (*p >= '0' && *p <= '9') {
		unsigned long long t = 0;

		for (; p < end && *p >= '0' && *p <= '9'; p++) {
			unsigned d = (unsigned)(*p - '0');

			if (t > (~0ull - d) / 10)
				return fail(c, p, "token out of range");
			t = t * 10 + d;
		}
		rec->has_token = 1;
		rec->token = t;
		if (p == end || (*p != '^' && *p != '*' && *p != '+' && *p != '='))
			return fail(c, p, "expected ^, *, + or = after the token");
	}
	switch (*p) {
	case '^':
		rec->type = GDBMI_RESULT;
		break;
	case '*':
		rec->type = GDBMI_EXEC;
		break;
	case '+':
		rec->type = GDBMI_STATUS;
		break;
	case '=':
		rec->type = GDBMI_NOTIFY;
		break;
	case '~':
	case '@':
	case '&':
		rec->type = *p == '~' ? GDBMI_CONSOLE : *p == '@' ? GDBMI_TARGET : GDBMI_LOG;
		p++;
		if (p == end || *p != '"')
			return fail(c, p, "expected '\"' after the stream mark");
		s = p + 1;
		p = (char *)gdbmi_cstr_scan(s, end, s, &rec->text_len, &err, &why);
		if (!p)
			return fail(c, err, why);
		if (p != end)
			return fail(c, p, "text after the string");
		s[rec->text_len] = '\0';
		rec->text = s;
		return 0;
	case '(':
		if ((size_t)(end - p) < 5 || memcmp(p, "(gdb)", 5) != 0)
			return fail(c, p, "not an MI record");
		for (p += 5; p < end && *p == ' '; p++)
			;
		if (p != end)
			return fail(c, p, "text after the prompt");
		rec->type = GDBMI_PROMPT;
		return 0;
	default:
		return fail(c, p, "not an MI record");
	}

	/* Result and async records: class, then results. */
	for (s = ++p; p < end && is_class_char(*p); p++)
		;
	if (p == s)
		return fail(c, p, "missing class");
	if (p < end && *p != ',')
		return fail(c, p, "expected ',' after the class");
	rec->cls = gdbmi_arena_strndup(c->arena, s, (size_t)(p - s));
	if (!rec->cls)
		return -1;
	if (rec->type == GDBMI_RESULT)
		rec->rclass = result_class(rec->cls);
	if (p == end) {
		rec->results = &empty_tuple;
		return 0;
	}
	return parse_results(c, p + 1, end);
}

static struct gdbmi_record *parse_line(struct scratch *sc, const char *line, size_t len)
{
	struct gdbmi_arena *arena;
	struct record_priv *priv;
	struct line_ctx c;
	char *raw;

	/* Raw copy, working copy and, roughly, the nodes of a dense line. */
	if (len > ((size_t)-1) / 4 - 1024) {
		errno = ENOMEM;
		return NULL;
	}
	arena = gdbmi_arena_new(sizeof(*priv) + 2 * len + len / 2 + 64);
	if (!arena)
		return NULL;
	priv = gdbmi_arena_alloc(arena, sizeof(*priv));
	raw = gdbmi_arena_strndup(arena, line, len);
	c.work = gdbmi_arena_strndup(arena, line, len);
	if (!priv || !raw || !c.work)
		goto out_free;
	memset(priv, 0, sizeof(*priv));
	priv->arena = arena;
	c.rec = &priv->pub;
	c.arena = arena;
	c.sc = sc;
	c.rec->line = raw;
	c.rec->line_len = len;
	c.rec->cls = "";
	if (parse_record(&c, c.work, c.work + len) < 0)
		goto out_free;
	return c.rec;

out_free:
	gdbmi_arena_free(arena);
	errno = ENOMEM;
	return NULL;
}

struct gdbmi_record *gdbmi_parse_line(const char *line, size_t len)
{
	struct scratch sc = { 0 };
	struct gdbmi_record *rec = parse_line(&sc, line, len);

	free(sc.vals);
	free(sc.open);
	return rec;
}

/* ---------------------------------------------------------------- line splitter */

struct gdbmi_parser *gdbmi_parser_new(gdbmi_record_fn *fn, void *ctx)
{
	struct gdbmi_parser *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->fn = fn;
	p->ctx = ctx;
	return p;
}

void gdbmi_parser_free(struct gdbmi_parser *p)
{
	if (!p)
		return;
	gdbmi_buf_free(&p->partial);
	free(p->sc.vals);
	free(p->sc.open);
	free(p);
}

/* Parse one complete line and hand it over; empty lines give nothing. */
static enum gdbmi_status emit(struct gdbmi_parser *p, const char *line, size_t len)
{
	struct gdbmi_record *rec;

	if (len == 0)
		return GDBMI_OK;
	rec = parse_line(&p->sc, line, len);
	if (!rec)
		return GDBMI_NOMEM;
	p->fn(p->ctx, rec);
	return GDBMI_OK;
}

/* The first CR or LF in [S, END), or NULL. */
static const char *line_end(const char *s, const char *end)
{
	const char *lf = memchr(s, '\n', (size_t)(end - s));
	const char *cr = memchr(s, '\r', (size_t)((lf ? lf : end) - s));

	return cr ? cr : lf;
}

enum gdbmi_status gdbmi_parser_push(struct gdbmi_parser *p, const void *data, size_t len)
{
	const char *s = data, *end = s + len, *e;
	enum gdbmi_status st, first = GDBMI_OK;

	if (len == 0)
		return GDBMI_OK;
	if (p->skip_lf && *s == '\n')
		s++;
	p->skip_lf = 0;
	while (s < end) {
		e = line_end(s, end);
		if (!e) {
			if (gdbmi_buf_add(&p->partial, s, (size_t)(end - s)) < 0) {
				/* Drop the line: the rest of it is parsed as garbage later. */
				gdbmi_buf_reset(&p->partial);
				return GDBMI_NOMEM;
			}
			return first;
		}
		if (p->partial.len) {
			if (gdbmi_buf_add(&p->partial, s, (size_t)(e - s)) < 0)
				st = GDBMI_NOMEM;
			else
				st = emit(p, p->partial.p, p->partial.len);
			gdbmi_buf_reset(&p->partial);
		} else {
			st = emit(p, s, (size_t)(e - s));
		}
		if (st != GDBMI_OK && first == GDBMI_OK)
			first = st;
		s = e + 1;
		if (*e == '\r') {
			if (s == end)
				p->skip_lf = 1;
			else if (*s == '\n')
				s++;
		}
	}
	return first;
}

enum gdbmi_status gdbmi_parser_finish(struct gdbmi_parser *p)
{
	enum gdbmi_status st = GDBMI_OK;

	p->skip_lf = 0;
	if (p->partial.len)
		st = emit(p, p->partial.p, p->partial.len);
	gdbmi_buf_reset(&p->partial);
	return st;
}
