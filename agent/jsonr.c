/*
 * Recursive-descent reader for one flat JSON object, decoding strings in
 * place (an escape never takes more room decoded than encoded). \uXXXX is
 * decoded to UTF-8, surrogate pairs included; a lone surrogate is an error.
 */
#include <string.h>

#include "jsonr.h"

#define MAX_SKIP_NEST 32

struct rd {
	char *p;
	char *end;
	const char *err;
	char *err_at;
};

static int fail(struct rd *r, const char *msg)
{
	if (!r->err) {
		r->err = msg;
		r->err_at = r->p;
	}
	return -1;
}

static void ws(struct rd *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int hex4(struct rd *r, unsigned *v)
{
	*v = 0;
	if (r->end - r->p < 4)
		return fail(r, "truncated \\u escape");
	for (int i = 0; i < 4; i++) {
		char c = *r->p++;

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned)(c - 'A' + 10);
		else
			return fail(r, "bad hex digit in \\u escape");
	}
	return 0;
}

/* At the opening quote. Decodes in place; *OUT points at the result. */
static int string(struct rd *r, char **out, size_t *len)
{
	char *w;

	if (r->p >= r->end || *r->p != '"')
		return fail(r, "expected a string");
	w = *out = ++r->p;
	while (r->p < r->end) {
		unsigned char c = (unsigned char)*r->p;
		unsigned cp, lo;

		if (c == '"') {
			r->p++;
			*len = (size_t)(w - *out);
			*w = '\0';	/* the quote's byte or earlier: in bounds */
			return 0;
		}
		if (c < 0x20)
			return fail(r, "control character in string");
		if (c != '\\') {
			*w++ = (char)c;
			r->p++;
			continue;
		}
		if (++r->p >= r->end)
			return fail(r, "truncated escape");
		switch (*r->p++) {
		case '"': *w++ = '"'; break;
		case '\\': *w++ = '\\'; break;
		case '/': *w++ = '/'; break;
		case 'b': *w++ = '\b'; break;
		case 'f': *w++ = '\f'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case 't': *w++ = '\t'; break;
		case 'u':
			if (hex4(r, &cp) < 0)
				return -1;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return fail(r, "lone low surrogate");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
					return fail(r, "lone high surrogate");
				r->p += 2;
				if (hex4(r, &lo) < 0)
					return -1;
				if (lo < 0xdc00 || lo > 0xdfff)
					return fail(r, "bad low surrogate");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			if (cp < 0x80) {
				*w++ = (char)cp;
			} else if (cp < 0x800) {
				*w++ = (char)(0xc0 | cp >> 6);
				*w++ = (char)(0x80 | (cp & 0x3f));
			} else if (cp < 0x10000) {
				*w++ = (char)(0xe0 | cp >> 12);
				*w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
				*w++ = (char)(0x80 | (cp & 0x3f));
			} else {
				*w++ = (char)(0xf0 | cp >> 18);
				*w++ = (char)(0x80 | ((cp >> 12) & 0x3f));
				*w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
				*w++ = (char)(0x80 | (cp & 0x3f));
			}
			break;
		default:
			r->p--;
			return fail(r, "unknown escape");
		}
	}
	return fail(r, "unterminated string");
}

static int literal(struct rd *r, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n))
		return fail(r, "unexpected character");
	r->p += n;
	return 0;
}

/* A JSON number. Integers that fit int64 set *V and return 1; other numbers 0. */
static int number(struct rd *r, int64_t *v)
{
	int neg = 0, is_int = 1;
	uint64_t acc = 0;
	char *start;

	if (*r->p == '-') {
		neg = 1;
		r->p++;
	}
	start = r->p;
	if (r->p >= r->end || *r->p < '0' || *r->p > '9')
		return fail(r, "bad number");
	if (*r->p == '0' && r->end - r->p > 1 && r->p[1] >= '0' && r->p[1] <= '9')
		return fail(r, "leading zero in number");
	while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
		unsigned d = (unsigned)(*r->p++ - '0');

		/* Negative numbers reach one further: INT64_MIN is an integer. */
		if (acc > (UINT64_C(9223372036854775807) + (uint64_t)neg - d) / 10)
			is_int = 0;
		else
			acc = acc * 10 + d;
	}
	if (r->p < r->end && *r->p == '.') {
		is_int = 0;
		r->p++;
		if (r->p >= r->end || *r->p < '0' || *r->p > '9')
			return fail(r, "bad fraction");
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
		is_int = 0;
		r->p++;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (r->p >= r->end || *r->p < '0' || *r->p > '9')
			return fail(r, "bad exponent");
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	(void)start;
	*v = neg ? (int64_t)(0 - acc) : (int64_t)acc;
	return is_int;
}

static int skip_value(struct rd *r, int nest);

static int skip_container(struct rd *r, char close, int nest)
{
	if (nest > MAX_SKIP_NEST)
		return fail(r, "nested too deep");
	r->p++;
	ws(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		return 0;
	}
	for (;;) {
		ws(r);
		if (close == '}') {
			char *k;
			size_t kl;

			if (string(r, &k, &kl) < 0)
				return -1;
			ws(r);
			if (r->p >= r->end || *r->p != ':')
				return fail(r, "expected ':'");
			r->p++;
		}
		if (skip_value(r, nest + 1) < 0)
			return -1;
		ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == close) {
			r->p++;
			return 0;
		}
		return fail(r, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int skip_value(struct rd *r, int nest)
{
	char *s;
	size_t l;
	int64_t v;

	ws(r);
	if (r->p >= r->end)
		return fail(r, "expected a value");
	switch (*r->p) {
	case '{': return skip_container(r, '}', nest);
	case '[': return skip_container(r, ']', nest);
	case '"': return string(r, &s, &l);
	case 't': return literal(r, "true");
	case 'f': return literal(r, "false");
	case 'n': return literal(r, "null");
	default: return number(r, &v) < 0 ? -1 : 0;
	}
}

static int member_value(struct rd *r, struct jsonr_member *m)
{
	char *s;
	int k;

	ws(r);
	if (r->p >= r->end)
		return fail(r, "expected a value");
	switch (*r->p) {
	case '"':
		m->type = JSONR_STRING;
		if (string(r, &s, &m->str_len) < 0)
			return -1;
		m->str = s;
		return 0;
	case 't':
		m->type = JSONR_BOOL;
		m->num = 1;
		return literal(r, "true");
	case 'f':
		m->type = JSONR_BOOL;
		m->num = 0;
		return literal(r, "false");
	case 'n':
		m->type = JSONR_NULL;
		return literal(r, "null");
	case '{':
	case '[':
		m->type = JSONR_OTHER;
		return skip_value(r, 0);
	default:
		k = number(r, &m->num);
		if (k < 0)
			return -1;
		m->type = k ? JSONR_INT : JSONR_OTHER;
		return 0;
	}
}

enum jsonr_result jsonr_parse(char *buf, size_t len, struct jsonr_member *out, int max, int *n,
			      const char **err, size_t *err_at)
{
	struct rd r = { .p = buf, .end = buf + len };
	int count = 0;
	enum jsonr_result res = JSONR_BAD_INPUT;

	buf[len] = '\0';
	*n = 0;
	ws(&r);
	if (r.p >= r.end || *r.p != '{') {
		fail(&r, "expected '{'");
		goto out;
	}
	r.p++;
	ws(&r);
	if (r.p < r.end && *r.p == '}') {
		r.p++;
		goto done;
	}
	for (;;) {
		struct jsonr_member m;
		char *key;
		size_t kl;

		memset(&m, 0, sizeof(m));
		ws(&r);
		if (string(&r, &key, &kl) < 0)
			goto out;
		if (strlen(key) != kl) {
			fail(&r, "NUL in key");
			goto out;
		}
		ws(&r);
		if (r.p >= r.end || *r.p != ':') {
			fail(&r, "expected ':'");
			goto out;
		}
		r.p++;
		if (member_value(&r, &m) < 0)
			goto out;
		m.key = key;
		if (count >= max) {
			res = JSONR_TOO_MANY;
			fail(&r, "too many members");
			goto out;
		}
		out[count++] = m;
		ws(&r);
		if (r.p < r.end && *r.p == ',') {
			r.p++;
			continue;
		}
		if (r.p < r.end && *r.p == '}') {
			r.p++;
			break;
		}
		fail(&r, "expected ',' or '}'");
		goto out;
	}
done:
	ws(&r);
	if (r.p != r.end) {
		fail(&r, "trailing characters after the object");
		goto out;
	}
	*n = count;
	return JSONR_OK;
out:
	*err = r.err ? r.err : "bad input";
	*err_at = (size_t)((r.err_at ? r.err_at : r.p) - buf);
	return res;
}

const struct jsonr_member *jsonr_get(const struct jsonr_member *m, int n, const char *key)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(m[i].key, key))
			return &m[i];
	return NULL;
}
