/*
 * cstr.c: the two layers of string escaping in gdb's output, and quoting
 * for its input.
 *
 * MI writes every string as a c-string: gdb's printchar escapes \" \\ \n
 * \b \t \f \r \e \a and writes every other control or high byte as exactly
 * three octal digits (MI sets sevenbit-strings), so "\000" can occur and
 * the decoded string is (pointer, length). A value gdb printed is escaped
 * twice: once by the value printer as a C literal, then again by MI; the
 * literal decoder undoes the inner layer.
 *
 * Decoding runs on every byte gdb sends, so it copies the runs between
 * backslashes with memchr and memcpy rather than byte by byte.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The longest repeat count gdbmi_c_literal accepts (2^28 bytes). */
#define MAX_REPEAT (1ul << 28)

static int is_odigit(char c)
{
	return c >= '0' && c <= '7';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode one escape at P (P[0] is the backslash, P + 1 < END) into *OUT.
 * HEX allows \xhh (C literals, not MI). Returns the byte after the escape,
 * or NULL with *WHY set.
 */
static const char *escape(const char *p, const char *end, char *out, int hex, const char **why)
{
	unsigned v;
	int n, d;

	switch (p[1]) {
	case '"':
	case '\\':
	case '\'':
	case '?':
		*out = p[1];
		return p + 2;
	case 'n':
		*out = '\n';
		return p + 2;
	case 't':
		*out = '\t';
		return p + 2;
	case 'r':
		*out = '\r';
		return p + 2;
	case 'b':
		*out = '\b';
		return p + 2;
	case 'f':
		*out = '\f';
		return p + 2;
	case 'v':
		*out = '\v';
		return p + 2;
	case 'a':
		*out = '\a';
		return p + 2;
	case 'e':
		*out = '\033';
		return p + 2;
	case 'x':
		if (!hex)
			break;
		p += 2;
		for (v = 0, n = 0; p < end && (d = hexval(*p)) >= 0; p++, n++) {
			v = v * 16 + (unsigned)d;
			if (v > 0xff) {
				*why = "hex escape above \\xff";
				return NULL;
			}
		}
		if (n == 0) {
			*why = "\\x without hex digits";
			return NULL;
		}
		*out = (char)v;
		return p;
	default:
		if (!is_odigit(p[1]))
			break;
		p++;
		for (v = 0, n = 0; n < 3 && p < end && is_odigit(*p); p++, n++)
			v = v * 8 + (unsigned)(*p - '0');
		if (v > 0377) {
			*why = "octal escape above \\377";
			return NULL;
		}
		*out = (char)v;
		return p;
	}
	*why = "unknown escape";
	return NULL;
}

/*
 * Decode from P until an unescaped '"' or END into OUT, which may be P
 * itself (decoding in place: the output never overtakes the input, and a
 * string without escapes is not copied at all). Returns where it
 * stopped (the quote, or END), or NULL with *ERR and *WHY on a bad escape.
 * Each memchr for the quote starts past the previous one, so a string full
 * of escapes is still decoded in linear time.
 */
static const char *decode(const char *p, const char *end, char *out, size_t *out_len, int hex,
			  const char **err, const char **why)
{
	const char *q = memchr(p, '"', (size_t)(end - p));
	char *o = out;

	if (!q)
		q = end;
	for (;;) {
		const char *b = memchr(p, '\\', (size_t)(q - p));
		const char *next;

		if (!b) {
			if (o != p)
				memmove(o, p, (size_t)(q - p));
			o += q - p;
			*out_len = (size_t)(o - out);
			return q;
		}
		if (o != p)
			memmove(o, p, (size_t)(b - p));
		o += b - p;
		if (b + 1 >= end) {
			*err = b;
			*why = "backslash at the end of the string";
			return NULL;
		}
		next = escape(b, end, o, hex, why);
		if (!next) {
			*err = b;
			return NULL;
		}
		o++;
		p = next;
		if (p > q) {
			q = memchr(p, '"', (size_t)(end - p));
			if (!q)
				q = end;
		}
	}
}

const char *gdbmi_cstr_scan(const char *p, const char *end, char *out, size_t *out_len,
			    const char **err, const char **why)
{
	const char *q = decode(p, end, out, out_len, 0, err, why);

	if (!q)
		return NULL;
	if (q == end) {
		*err = end;
		*why = "missing closing quote";
		return NULL;
	}
	return q + 1;
}

enum gdbmi_status gdbmi_cstr_decode(const char *in, size_t len, char *out, size_t *out_len,
				    size_t *err_at)
{
	const char *end = in + len, *err = NULL, *why;
	const char *q = decode(in, end, out, out_len, 0, &err, &why);

	if (q == end)
		return GDBMI_OK;
	if (err_at)
		*err_at = (size_t)((q ? q : err) - in);
	return GDBMI_BAD_INPUT;
}

/* ---------------------------------------------------------------- C literals */

static const char *skip_spaces(const char *p, const char *end)
{
	while (p < end && *p == ' ')
		p++;
	return p;
}

/* " <repeats N times>" at P: the count into *N and the byte after it, or P. */
static const char *repeats(const char *p, const char *end, unsigned long *n)
{
	static const char head[] = " <repeats ", tail[] = " times>";
	const char *s = p;
	unsigned long v = 0;

	if ((size_t)(end - s) < sizeof(head) - 1 || memcmp(s, head, sizeof(head) - 1) != 0)
		return p;
	s += sizeof(head) - 1;
	if (s >= end || *s < '0' || *s > '9')
		return p;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > MAX_REPEAT)
			return NULL;
	}
	if ((size_t)(end - s) < sizeof(tail) - 1 || memcmp(s, tail, sizeof(tail) - 1) != 0)
		return p;
	*n = v;
	return s + sizeof(tail) - 1;
}

/* A '...' character segment at P (P[0] is the quote): its byte in *C. */
static const char *char_segment(const char *p, const char *end, char *c)
{
	const char *why;

	p++;
	if (p >= end)
		return NULL;
	if (*p == '\\') {
		if (p + 1 >= end || !(p = escape(p, end, c, 1, &why)))
			return NULL;
	} else {
		*c = *p++;
	}
	if (p >= end || *p != '\'')
		return NULL;
	return p + 1;
}

enum gdbmi_status gdbmi_c_literal(const char *value, size_t len, char **out, size_t *out_len,
				  int *truncated)
{
	const char *p = value, *end = value + len, *err, *why;
	struct gdbmi_buf b = { 0 };
	enum gdbmi_status st = GDBMI_BAD_INPUT;
	int segments = 0;

	*out = NULL;
	if (truncated)
		*truncated = 0;
	while (p < end && *p != '"' && *p != '\'')
		p++;
	while (p < end) {
		if (*p == '"') {
			/* Decoding never grows: the rest of VALUE bounds it. */
			char *room = gdbmi_buf_room(&b, (size_t)(end - p));
			size_t n;

			if (!room)
				goto out_nomem;
			p = decode(p + 1, end, room, &n, 1, &err, &why);
			if (!p || p == end)
				goto out_free;
			b.len += n;
			p++;
		} else if (*p == '\'') {
			unsigned long count = 1, i;
			char c;

			p = char_segment(p, end, &c);
			if (!p)
				goto out_free;
			p = repeats(p, end, &count);
			if (!p)
				goto out_free;
			for (i = 0; i < count; i++)
				if (gdbmi_buf_add(&b, &c, 1) < 0)
					goto out_nomem;
		} else {
			goto out_free;
		}
		segments++;
		if (p == end)
			break;
		if ((size_t)(end - p) >= 3 && memcmp(p, "...", 3) == 0) {
			if (truncated)
				*truncated = 1;
			p = skip_spaces(p + 3, end);
			break;
		}
		if ((size_t)(end - p) >= 2 && p[0] == ',' && p[1] == ' ') {
			p += 2;
			continue;
		}
		/* Anything else ends the string part (" <error: ...>" and such). */
		break;
	}
	if (!segments)
		goto out_free;
	if (gdbmi_buf_add(&b, NULL, 0) < 0)
		goto out_nomem;
	*out = b.p;
	*out_len = b.len;
	return GDBMI_OK;

out_nomem:
	st = GDBMI_NOMEM;
out_free:
	gdbmi_buf_free(&b);
	return st;
}

/* ---------------------------------------------------------------- quoting */

char *gdbmi_quote(const char *s)
{
	size_t n = 2;
	const char *p;
	char *q, *o;

	for (p = s; *p; p++)
		n += (*p == '"' || *p == '\\' || *p == '\n' || *p == '\r' || *p == '\t') ? 2 : 1;
	q = malloc(n + 1);
	if (!q)
		return NULL;
	o = q;
	*o++ = '"';
	for (p = s; *p; p++) {
		switch (*p) {
		case '"':
		case '\\':
			*o++ = '\\';
			*o++ = *p;
			break;
		case '\n':
			*o++ = '\\';
			*o++ = 'n';
			break;
		case '\r':
			*o++ = '\\';
			*o++ = 'r';
			break;
		case '\t':
			*o++ = '\\';
			*o++ = 't';
			break;
		default:
			*o++ = *p;
		}
	}
	*o++ = '"';
	*o = '\0';
	return q;
}
