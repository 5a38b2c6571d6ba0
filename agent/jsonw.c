/*
 * JSON text into an mremap-grown buffer. Strings are escaped per RFC 8259;
 * bytes >= 0x80 pass through (paths are UTF-8 or raw bytes; the reader on
 * the other side is lenient about invalid UTF-8).
 */
#include <string.h>

#include "arena.h"
#include "jsonw.h"

int jsonw_init(struct jsonw *w, size_t reserve)
{
	memset(w, 0, sizeof(*w));
	w->cap = 64 * 1024;
	w->buf = agent_map(w->cap, AGENT_MEM_OTHER);
	if (!w->buf)
		return -1;
	w->len = reserve;
	w->first[0] = 1;
	return 0;
}

void jsonw_release(struct jsonw *w)
{
	agent_unmap(w->buf, w->cap, AGENT_MEM_OTHER);
	w->buf = NULL;
}

static void put(struct jsonw *w, const char *s, size_t n)
{
	if (w->failed)
		return;
	if (w->len + n > w->cap) {
		size_t cap = w->cap;
		char *nb;

		while (w->len + n > cap)
			cap *= 2;
		nb = agent_remap(w->buf, w->cap, cap, AGENT_MEM_OTHER);
		if (!nb) {
			w->failed = 1;
			return;
		}
		w->buf = nb;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

/* Comma before a value unless it is the first of its container or follows a key. */
static void sep(struct jsonw *w)
{
	if (w->first[w->nest])
		w->first[w->nest] = 0;
	else
		put(w, ",", 1);
}

static void open_(struct jsonw *w, char c)
{
	sep(w);
	put(w, &c, 1);
	if (w->nest + 1 < JSONW_MAX_NEST)
		w->nest++;
	else
		w->failed = 1;
	w->first[w->nest] = 1;
}

static void close_(struct jsonw *w, char c)
{
	put(w, &c, 1);
	if (w->nest > 0)
		w->nest--;
}

void jsonw_obj(struct jsonw *w)
{
	open_(w, '{');
}

void jsonw_obj_end(struct jsonw *w)
{
	close_(w, '}');
}

void jsonw_arr(struct jsonw *w)
{
	open_(w, '[');
}

void jsonw_arr_end(struct jsonw *w)
{
	close_(w, ']');
}

static void quoted(struct jsonw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t start = 0;

	put(w, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];
		size_t elen = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(w, s + start, i - start);
		start = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\t': esc[1] = 't'; break;
		case '\r': esc[1] = 'r'; break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			elen = 6;
			break;
		}
		put(w, esc, elen);
	}
	put(w, s + start, n - start);
	put(w, "\"", 1);
}

void jsonw_key(struct jsonw *w, const char *key)
{
	sep(w);
	quoted(w, key, strlen(key));
	put(w, ":", 1);
	/* The value that follows takes no comma. */
	w->first[w->nest] = 1;
}

void jsonw_strn(struct jsonw *w, const char *s, size_t n)
{
	sep(w);
	quoted(w, s, n);
}

void jsonw_str(struct jsonw *w, const char *s)
{
	jsonw_strn(w, s, strlen(s));
}

static void number(struct jsonw *w, uint64_t v, int neg, int base16)
{
	char tmp[24];
	int i = (int)sizeof(tmp);
	unsigned div = base16 ? 16 : 10;

	do {
		tmp[--i] = "0123456789abcdef"[v % div];
		v /= div;
	} while (v);
	if (base16) {
		tmp[--i] = 'x';
		tmp[--i] = '0';
	}
	if (neg)
		tmp[--i] = '-';
	sep(w);
	if (base16)
		put(w, "\"", 1);
	put(w, tmp + i, sizeof(tmp) - (size_t)i);
	if (base16)
		put(w, "\"", 1);
}

void jsonw_u64(struct jsonw *w, uint64_t v)
{
	number(w, v, 0, 0);
}

void jsonw_i64(struct jsonw *w, int64_t v)
{
	if (v < 0)
		number(w, (uint64_t)0 - (uint64_t)v, 1, 0);
	else
		number(w, (uint64_t)v, 0, 0);
}

void jsonw_hex(struct jsonw *w, uint64_t v)
{
	number(w, v, 0, 1);
}

void jsonw_bool(struct jsonw *w, int v)
{
	sep(w);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void jsonw_null(struct jsonw *w)
{
	sep(w);
	put(w, "null", 4);
}
