/*
 * Unit test for the agent's JSON reader (agent/jsonr.c) and writer
 * (agent/jsonw.c), built with AddressSanitizer: every input handed to
 * jsonr_parse sits in a heap buffer of exactly LEN + 1 bytes, so a read
 * past the terminator it is allowed to write is reported.
 *
 * Reader: members of every type, skipped containers, each escape, UTF-16
 * surrogates, int64 limits, the byte offset of each kind of error, member
 * limits, jsonr_get. Writer: exact text for nested containers and numbers,
 * escaping of every control byte, growth to 10 MB, mapped-memory
 * accounting. Then what the writer writes the reader must read back, and
 * 100,000 seeded random mutations of valid requests must each give a
 * well-formed result.
 *
 * Exit status: 0 pass, 1 fail (one "FAIL file:line" line per failed check),
 * 99 when the harness itself cannot run.
 */
#include "arena.h"
#include "jsonr.h"
#include "jsonw.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		broken("malloc");
	return p;
}

static const char *type_name(enum jsonr_type t)
{
	switch (t) {
	case JSONR_STRING: return "STRING";
	case JSONR_INT: return "INT";
	case JSONR_BOOL: return "BOOL";
	case JSONR_NULL: return "NULL";
	case JSONR_OTHER: return "OTHER";
	}
	return "?";
}

/* ---------------------------------------------------------------- reader */

#define MAXM 16

struct parsed {
	char *buf;		/* the parsed copy; members point into it */
	size_t len;
	enum jsonr_result res;
	struct jsonr_member m[MAXM];
	int n;
	const char *err;
	size_t err_at;
};

/* Parse the LEN bytes at S from an exact-size heap copy. */
static void parse_n(struct parsed *p, const char *s, size_t len, int max)
{
	memset(p, 0, sizeof(*p));
	p->buf = xmalloc(len + 1);
	memcpy(p->buf, s, len);
	p->buf[len] = 'X';	/* must become the NUL */
	p->len = len;
	p->n = -1;
	p->err_at = (size_t)-1;
	p->res = jsonr_parse(p->buf, len, p->m, max, &p->n, &p->err, &p->err_at);
}

static void parse(struct parsed *p, const char *s)
{
	parse_n(p, s, strlen(s), MAXM);
}

static void done(struct parsed *p)
{
	free(p->buf);
	p->buf = NULL;
}

static const struct jsonr_member *member(struct parsed *p, const char *key)
{
	return jsonr_get(p->m, p->n, key);
}

/* An input that must parse: checks and returns whether it did. */
#define PARSE_OK(p, s) parse_ok_at(p, s, __LINE__)
static int parse_ok_at(struct parsed *p, const char *s, int line)
{
	parse(p, s);
	check_at(p->res == JSONR_OK, __FILE__, line, "%s: result %d (%s at %zu), want OK", check_shown(s, strlen(s)),
		 p->res, p->err ? p->err : "", p->err_at);
	check_at(p->buf[p->len] == '\0', __FILE__, line, "%s: BUF[LEN] not set to NUL", check_shown(s, strlen(s)));
	return p->res == JSONR_OK;
}

#define CHECK_STR(p, key, want, wlen) check_str_at(p, key, want, wlen, __LINE__)
static void check_str_at(struct parsed *p, const char *key, const char *want, size_t wlen, int line)
{
	const struct jsonr_member *m = member(p, key);

	if (!m) {
		check_at(0, __FILE__, line, "member \"%s\" missing", key);
		return;
	}
	check_at(m->type == JSONR_STRING, __FILE__, line, "\"%s\": type %s, want STRING", key,
		 type_name(m->type));
	if (m->type != JSONR_STRING)
		return;
	check_at(m->str_len == wlen && !memcmp(m->str, want, wlen), __FILE__, line,
		 "\"%s\" decoded to \"%s\" (%zu bytes), want \"%s\" (%zu)", key, check_shown(m->str, m->str_len),
		 m->str_len, check_shown(want, wlen), wlen);
	check_at(m->str[m->str_len] == '\0', __FILE__, line, "\"%s\": value not NUL-terminated", key);
}

/* TEXT parses, and its member KEY is the string WANT of WLEN bytes. */
#define CHECK_PARSED_STR(text, key, want, wlen) check_parsed_str_at(text, key, want, wlen, __LINE__)
static void check_parsed_str_at(const char *text, const char *key, const char *want, size_t wlen, int line)
{
	struct parsed p;

	if (parse_ok_at(&p, text, line))
		check_str_at(&p, key, want, wlen, line);
	done(&p);
}

#define CHECK_INT(p, key, want) check_int_at(p, key, want, __LINE__)
static void check_int_at(struct parsed *p, const char *key, int64_t want, int line)
{
	const struct jsonr_member *m = member(p, key);

	if (!m) {
		check_at(0, __FILE__, line, "member \"%s\" missing", key);
		return;
	}
	check_at(m->type == JSONR_INT && m->num == want, __FILE__, line, "\"%s\": %s %" PRId64 ", want INT %" PRId64,
		 key, type_name(m->type), m->num, want);
}

#define CHECK_TYPE(p, key, want) check_type_at(p, key, want, __LINE__)
static void check_type_at(struct parsed *p, const char *key, enum jsonr_type want, int line)
{
	const struct jsonr_member *m = member(p, key);

	check_at(m && m->type == want, __FILE__, line, "\"%s\": %s, want %s", key,
		 m ? type_name(m->type) : "missing", type_name(want));
}

/* An input that must fail with RES at byte offset AT (-1: anywhere in it). */
#define PARSE_BAD(s, at) parse_bad_at(s, strlen(s), at, JSONR_BAD_INPUT, MAXM, __LINE__)
static void parse_bad_at(const char *s, size_t len, long at, enum jsonr_result res, int max, int line)
{
	struct parsed p;

	parse_n(&p, s, len, max);
	check_at(p.res == res, __FILE__, line, "%s: result %d, want %d", check_shown(s, len), p.res, res);
	if (p.res != JSONR_OK) {
		check_at(p.err && *p.err, __FILE__, line, "%s: no error message", check_shown(s, len));
		if (at >= 0)
			check_at(p.err_at == (size_t)at, __FILE__, line, "%s: error \"%s\" at offset %zu, want %ld",
				 check_shown(s, len), p.err ? p.err : "", p.err_at, at);
		else
			check_at(p.err_at <= len, __FILE__, line, "%s: error offset %zu past the input (%zu bytes)",
				 check_shown(s, len), p.err_at, len);
	}
	done(&p);
}

static void test_members(void)
{
	struct parsed p;

	if (PARSE_OK(&p, "{\"s\":\"str\",\"i\":42,\"t\":true,\"f\":false,\"n\":null,\"neg\":-17,\"z\":0}")) {
		CHECK(p.n == 7, "member count %d, want 7", p.n);
		CHECK_STR(&p, "s", "str", 3);
		CHECK_INT(&p, "i", 42);
		CHECK_INT(&p, "neg", -17);
		CHECK_INT(&p, "z", 0);
		CHECK_TYPE(&p, "t", JSONR_BOOL);
		CHECK_TYPE(&p, "f", JSONR_BOOL);
		CHECK_TYPE(&p, "n", JSONR_NULL);
		CHECK(member(&p, "t") && member(&p, "t")->num == 1, "true is not num 1");
		CHECK(member(&p, "f") && member(&p, "f")->num == 0, "false is not num 0");
		/* Members come in input order. */
		CHECK(p.n == 7 && !strcmp(p.m[0].key, "s") && !strcmp(p.m[6].key, "z"),
		      "members not in input order");
		/* Keys and strings live in the caller's buffer. */
		for (int i = 0; i < p.n && i < MAXM; i++)
			CHECK(p.m[i].key >= p.buf && p.m[i].key < p.buf + p.len,
			      "key %d points outside the buffer", i);
	}
	done(&p);

	if (PARSE_OK(&p, "{}"))
		CHECK(p.n == 0, "{}: %d members", p.n);
	done(&p);
	if (PARSE_OK(&p, " \t\r\n{ \t\r\n} \t\r\n"))
		CHECK(p.n == 0, "spaced {}: %d members", p.n);
	done(&p);
	if (PARSE_OK(&p, "\n{ \"a\" :\t1 ,\r\n\"b\"\n:\n\"x\" }\n")) {
		CHECK(p.n == 2, "spaced members: %d", p.n);
		CHECK_INT(&p, "a", 1);
		CHECK_STR(&p, "b", "x", 1);
	}
	done(&p);
	if (PARSE_OK(&p, "{\"\":\"\"}")) {
		CHECK(p.n == 1, "empty key: %d members", p.n);
		CHECK_STR(&p, "", "", 0);
	}
	done(&p);

	/* Bytes >= 0x80 and DEL pass through strings as they are. */
	CHECK_PARSED_STR("{\"k\":\"caf\xc3\xa9 \x7f \xff\"}", "k", "caf\xc3\xa9 \x7f \xff", 9);

	/* Non-integer numbers are OTHER, and do not break the members around them. */
	if (PARSE_OK(&p, "{\"a\":1.5,\"b\":-2e3,\"c\":1E+2,\"d\":0.0,\"e\":7,\"f\":-0}")) {
		CHECK_TYPE(&p, "a", JSONR_OTHER);
		CHECK_TYPE(&p, "b", JSONR_OTHER);
		CHECK_TYPE(&p, "c", JSONR_OTHER);
		CHECK_TYPE(&p, "d", JSONR_OTHER);
		CHECK_INT(&p, "e", 7);
		CHECK_INT(&p, "f", 0);
	}
	done(&p);
}

static void test_skipped(void)
{
	struct parsed p;
	char deep[400], *w;

	if (PARSE_OK(&p, "{\"a\":{\"x\":[1,{\"y\":\"z\"}],\"w\":{}},\"b\":[],\"c\":2,"
			 "\"d\":[[[]],{},\"]}\",true,false,null,-1.5e-3],\"e\":{\"q\":\"}\\\"{\"},\"f\":\"end\"}")) {
		CHECK(p.n == 6, "skipped containers: %d members, want 6", p.n);
		CHECK_TYPE(&p, "a", JSONR_OTHER);
		CHECK_TYPE(&p, "b", JSONR_OTHER);
		CHECK_INT(&p, "c", 2);
		CHECK_TYPE(&p, "d", JSONR_OTHER);
		CHECK_TYPE(&p, "e", JSONR_OTHER);
		CHECK_STR(&p, "f", "end", 3);
	}
	done(&p);
	/* Twenty levels of nesting are still JSON to skip. */
	w = deep + sprintf(deep, "{\"a\":");
	for (int i = 0; i < 20; i++)
		w += sprintf(w, "%s", i & 1 ? "[" : "{\"k\":");
	*w++ = '1';
	for (int i = 19; i >= 0; i--)
		*w++ = i & 1 ? ']' : '}';
	strcpy(w, ",\"b\":3}");
	if (PARSE_OK(&p, deep))
		CHECK_INT(&p, "b", 3);
	done(&p);

	/* Broken JSON inside a skipped container is still an error. */
	PARSE_BAD("{\"a\":[1,2}", 9);
	PARSE_BAD("{\"a\":{\"x\" 1}}", 10);
	PARSE_BAD("{\"a\":{1:2}}", 6);
	PARSE_BAD("{\"a\":[1,]}", 8);
	PARSE_BAD("{\"a\":[01]}", 6);
	PARSE_BAD("{\"a\":[\"\\q\"]}", 8);
	PARSE_BAD("{\"a\":[nul]}", 6);
	PARSE_BAD("{\"a\":[", 6);
	PARSE_BAD("{\"a\":{\"b\":", 10);

	/* Nesting far past any sane request fails cleanly (no stack overflow). */
	{
		size_t n = 100000;
		char *s = xmalloc(n + 16);

		memcpy(s, "{\"a\":", 5);
		memset(s + 5, '[', n);
		s[n + 5] = '\0';
		parse_bad_at(s, n + 5, -1, JSONR_BAD_INPUT, MAXM, __LINE__);
		for (size_t i = 0; i < n / 5; i++)
			memcpy(s + 5 + i * 5, "{\"a\":", 5);
		parse_bad_at(s, 5 + (n / 5) * 5, -1, JSONR_BAD_INPUT, MAXM, __LINE__);
		free(s);
	}
}

static void test_escapes(void)
{
	struct parsed p;

	CHECK_PARSED_STR("{\"e\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}", "e", "\"\\/\b\f\n\r\t", 8);
	CHECK_PARSED_STR("{\"e\":\"a\\u0041\\u00e9\\u00E9\\u07ff\\u0800\\u20ac\\uffff z\"}", "e", "aA\xc3\xa9\xc3\xa9\xdf\xbf\xe0\xa0\x80\xe2\x82\xac\xef\xbf\xbf z", 19);
	/* Surrogate pairs: the first and last code points above the BMP, and one between. */
	CHECK_PARSED_STR("{\"e\":\"\\ud800\\udc00|\\uD83D\\uDE00|\\udbff\\udfff\"}", "e", "\xf0\x90\x80\x80|\xf0\x9f\x98\x80|\xf4\x8f\xbf\xbf", 14);
	/* \u0000 is a byte of the value (str_len counts it). */
	CHECK_PARSED_STR("{\"e\":\"a\\u0000b\"}", "e", "a\0b", 3);
	/* Keys are decoded too. */
	if (PARSE_OK(&p, "{\"a\\u0062\\n\":1,\"\\u00e9\":2}")) {
		CHECK_INT(&p, "ab\n", 1);
		CHECK_INT(&p, "\xc3\xa9", 2);
	}
	done(&p);

	/* Lone and broken surrogates, bad escapes. */
	PARSE_BAD("{\"e\":\"\\ud800\"}", 12);
	PARSE_BAD("{\"e\":\"\\ud800x\"}", 12);
	PARSE_BAD("{\"e\":\"\\udbff\\n\"}", 12);
	PARSE_BAD("{\"e\":\"\\ud800\\u0041\"}", -1);
	PARSE_BAD("{\"e\":\"\\ud800\\ud800\"}", -1);
	PARSE_BAD("{\"e\":\"\\udc00\"}", -1);
	PARSE_BAD("{\"e\":\"\\udfff\\ud800\"}", -1);
	PARSE_BAD("{\"e\":\"\\ud800", -1);
	PARSE_BAD("{\"e\":\"\\ud800\\u12", -1);
	PARSE_BAD("{\"e\":\"\\u12\"}", -1);
	PARSE_BAD("{\"e\":\"\\u12g4\"}", -1);
	PARSE_BAD("{\"e\":\"\\u", -1);
	PARSE_BAD("{\"e\":\"\\x\"}", 7);
	PARSE_BAD("{\"e\":\"\\U0041\"}", 7);
	PARSE_BAD("{\"e\":\"\\'\"}", 7);
	PARSE_BAD("{\"e\":\"\\", -1);
	PARSE_BAD("{\"a\\u0000\":1}", -1);
}

static void test_integers(void)
{
	struct parsed p;

	if (PARSE_OK(&p, "{\"max\":9223372036854775807,\"min1\":-9223372036854775807,"
			 "\"m\":-1,\"big\":1000000000000000000}")) {
		CHECK_INT(&p, "max", INT64_MAX);
		CHECK_INT(&p, "min1", -INT64_MAX);
		CHECK_INT(&p, "m", -1);
		CHECK_INT(&p, "big", INT64_C(1000000000000000000));
	}
	done(&p);
	/* INT64_MIN fits int64: the reader must not lose it. */
	if (PARSE_OK(&p, "{\"min\":-9223372036854775808}"))
		CHECK_INT(&p, "min", INT64_MIN);
	done(&p);
	/* Past the limits: still valid JSON, but not JSONR_INT. */
	if (PARSE_OK(&p, "{\"a\":9223372036854775808,\"b\":-9223372036854775809,"
			 "\"c\":18446744073709551615,\"d\":18446744073709551616,"
			 "\"e\":99999999999999999999999999999,\"f\":92233720368547758070,\"g\":5}")) {
		CHECK_TYPE(&p, "a", JSONR_OTHER);
		CHECK_TYPE(&p, "b", JSONR_OTHER);
		CHECK_TYPE(&p, "c", JSONR_OTHER);
		CHECK_TYPE(&p, "d", JSONR_OTHER);
		CHECK_TYPE(&p, "e", JSONR_OTHER);
		CHECK_TYPE(&p, "f", JSONR_OTHER);
		CHECK_INT(&p, "g", 5);
	}
	done(&p);

	PARSE_BAD("{\"a\":01}", 5);
	PARSE_BAD("{\"a\":-01}", 6);
	PARSE_BAD("{\"a\":00}", 5);
	PARSE_BAD("{\"a\":-}", 6);
	PARSE_BAD("{\"a\":+1}", 5);
	PARSE_BAD("{\"a\":.5}", 5);
	PARSE_BAD("{\"a\":1.}", 7);
	PARSE_BAD("{\"a\":1.e5}", 7);
	PARSE_BAD("{\"a\":1e}", 7);
	PARSE_BAD("{\"a\":1e+}", 8);
	PARSE_BAD("{\"a\":0x10}", 6);
	PARSE_BAD("{\"a\":1.5.3}", 8);
	PARSE_BAD("{\"a\":--1}", 6);
	PARSE_BAD("{\"a\":1", 6);
	PARSE_BAD("{\"a\":-", 6);
}

static void test_errors(void)
{
	struct parsed p;

	PARSE_BAD("", 0);
	PARSE_BAD("   ", 3);
	PARSE_BAD("[1,2]", 0);
	PARSE_BAD("\"str\"", 0);
	PARSE_BAD("42", 0);
	PARSE_BAD("null", 0);
	PARSE_BAD("{", 1);
	PARSE_BAD("{\"a\":1} x", 8);
	PARSE_BAD("{\"a\":1}}", 7);
	PARSE_BAD("{}{}", 2);
	PARSE_BAD("{} 1", 3);
	PARSE_BAD("{\"a\" 1}", 5);
	PARSE_BAD("{\"a\"", 4);
	PARSE_BAD("{\"a\":1,}", 7);
	PARSE_BAD("{\"a\":1 \"b\":2}", 7);
	PARSE_BAD("{\"a\":1,,\"b\":2}", 7);
	PARSE_BAD("{,}", 1);
	PARSE_BAD("{a:1}", 1);
	PARSE_BAD("{'a':1}", 1);
	PARSE_BAD("{\"a\":}", 5);
	PARSE_BAD("{\"a\":", 5);
	PARSE_BAD("{\"a\":1", 6);
	PARSE_BAD("{\"a\":\"abc", 9);
	PARSE_BAD("{\"abc", 5);
	PARSE_BAD("{\"a\":\"ab\ncd\"}", 8);
	PARSE_BAD("{\"a\":\"ab\tcd\"}", 8);
	PARSE_BAD("{\"a\":\"\x1f\"}", 6);
	PARSE_BAD("{\"a\nb\":1}", 3);
	PARSE_BAD("{\"a\":tru}", 5);
	PARSE_BAD("{\"a\":True}", 5);
	PARSE_BAD("{\"a\":nul}", 5);
	PARSE_BAD("{\"a\":falsey}", 10);
	PARSE_BAD("{\"a\":hello}", 5);
	PARSE_BAD("{\"a\":undefined}", 5);
	PARSE_BAD("{\"a\":NaN}", 5);
	PARSE_BAD("{\"a\":1}\v", 7);
	PARSE_BAD("\f{}", 0);
	/* A raw NUL byte is not whitespace, inside or after. */
	parse_bad_at("{\"a\":1}\0", 8, 7, JSONR_BAD_INPUT, MAXM, __LINE__);
	parse_bad_at("{\"a\":\"x\0y\"}", 11, 7, JSONR_BAD_INPUT, MAXM, __LINE__);
	parse_bad_at("{\0}", 3, 1, JSONR_BAD_INPUT, MAXM, __LINE__);

	/* The text after LEN is not read: a valid prefix is valid. */
	parse_n(&p, "{\"a\":1}garbage", 7, MAXM);
	CHECK(p.res == JSONR_OK && p.n == 1, "prefix of LEN bytes not parsed alone: %d", p.res);
	done(&p);
}

static void test_limits(void)
{
	struct parsed p;
	const char *four = "{\"a\":1,\"b\":2,\"c\":3,\"d\":4}";

	parse_n(&p, four, strlen(four), 4);
	CHECK(p.res == JSONR_OK && p.n == 4, "4 members with max 4: result %d, n %d", p.res, p.n);
	done(&p);
	parse_n(&p, four, strlen(four), 3);
	CHECK(p.res == JSONR_TOO_MANY, "4 members with max 3: result %d, want TOO_MANY", p.res);
	CHECK(p.err && p.err_at <= p.len, "TOO_MANY: error offset %zu, message %s", p.err_at,
	      p.err ? p.err : "NULL");
	done(&p);
	parse_n(&p, four, strlen(four), 0);
	CHECK(p.res == JSONR_TOO_MANY, "4 members with max 0: result %d, want TOO_MANY", p.res);
	done(&p);
	parse_n(&p, "{}", 2, 0);
	CHECK(p.res == JSONR_OK && p.n == 0, "{} with max 0: result %d", p.res);
	done(&p);
	/* OUT gets no more than MAX entries: a guard after them stays intact. */
	{
		struct jsonr_member out[3];
		char buf[64];
		const char *err = NULL;
		size_t at = 0;
		int n = -1;

		memset(out, 0x5a, sizeof(out));
		strcpy(buf, four);
		jsonr_parse(buf, strlen(buf), out, 2, &n, &err, &at);
		CHECK(n >= 0 && n <= 2, "max 2 gave n %d", n);
		for (size_t i = 0; i < sizeof(out[2]); i++)
			if (((unsigned char *)&out[2])[i] != 0x5a) {
				CHECK(0, "jsonr_parse wrote past MAX members (byte %zu of out[2])", i);
				break;
			}
	}
}

static void test_get(void)
{
	struct parsed p;

	if (PARSE_OK(&p, "{\"count\":1,\"coun\":2,\"counter\":3,\"Count\":4,\"\":5}")) {
		CHECK_INT(&p, "count", 1);
		CHECK_INT(&p, "coun", 2);
		CHECK_INT(&p, "counter", 3);
		CHECK_INT(&p, "Count", 4);
		CHECK_INT(&p, "", 5);
		CHECK(!member(&p, "cou"), "jsonr_get matched a prefix");
		CHECK(!member(&p, "counters"), "jsonr_get matched a longer key");
		CHECK(!member(&p, "COUNT"), "jsonr_get ignored case");
	}
	CHECK(jsonr_get(p.m, 0, "count") == NULL, "jsonr_get with n 0 found something");
	done(&p);
	/* Duplicate keys: a member with that name comes back. */
	if (PARSE_OK(&p, "{\"a\":1,\"a\":2}")) {
		const struct jsonr_member *m = member(&p, "a");

		CHECK(m && !strcmp(m->key, "a") && (m->num == 1 || m->num == 2),
		      "duplicate key not found");
	}
	done(&p);
}

/* ---------------------------------------------------------------- writer */

/* The writer's text as a NUL-terminated copy. */
static char *text(struct jsonw *w, size_t reserve)
{
	size_t n = w->len - reserve;
	char *s = xmalloc(n + 1);

	memcpy(s, w->buf + reserve, n);
	s[n] = '\0';
	return s;
}

#define CHECK_TEXT(w, reserve, want) check_text_at(w, reserve, want, __LINE__)
static void check_text_at(struct jsonw *w, size_t reserve, const char *want, int line)
{
	char *s = text(w, reserve);

	check_at(!w->failed, __FILE__, line, "writer failed");
	check_at(!strcmp(s, want), __FILE__, line, "writer produced %s, want %s", check_shown(s, strlen(s)),
		 check_shown(want, strlen(want)));
	free(s);
}

static void wr_init(struct jsonw *w, size_t reserve)
{
	if (jsonw_init(w, reserve) < 0)
		broken("jsonw_init");
}

static void test_writer_shapes(void)
{
	struct jsonw w;

	wr_init(&w, 0);
	jsonw_obj(&w);
	jsonw_obj_end(&w);
	CHECK_TEXT(&w, 0, "{}");
	jsonw_release(&w);

	/* The reserved header room stays in front of the text. */
	wr_init(&w, 4);
	CHECK(w.len == 4, "reserve 4: len %zu", w.len);
	jsonw_obj(&w);
	jsonw_key(&w, "a");
	jsonw_u64(&w, 1);
	jsonw_key(&w, "b");
	jsonw_arr(&w);
	jsonw_u64(&w, 1);
	jsonw_i64(&w, -2);
	jsonw_obj(&w);
	jsonw_key(&w, "c");
	jsonw_null(&w);
	jsonw_obj_end(&w);
	jsonw_arr_end(&w);
	jsonw_key(&w, "d");
	jsonw_obj(&w);
	jsonw_obj_end(&w);
	jsonw_key(&w, "e");
	jsonw_arr(&w);
	jsonw_arr_end(&w);
	jsonw_key(&w, "f");
	jsonw_bool(&w, 1);
	jsonw_key(&w, "g");
	jsonw_bool(&w, 0);
	jsonw_key(&w, "h");
	jsonw_str(&w, "s");
	jsonw_key(&w, "i");
	jsonw_obj(&w);
	jsonw_key(&w, "j");
	jsonw_obj(&w);
	jsonw_key(&w, "k");
	jsonw_arr(&w);
	jsonw_arr(&w);
	jsonw_arr_end(&w);
	jsonw_arr(&w);
	jsonw_str(&w, "x");
	jsonw_arr_end(&w);
	jsonw_arr_end(&w);
	jsonw_obj_end(&w);
	jsonw_key(&w, "l");
	jsonw_bool(&w, 7);
	jsonw_obj_end(&w);
	jsonw_obj_end(&w);
	CHECK_TEXT(&w, 4, "{\"a\":1,\"b\":[1,-2,{\"c\":null}],\"d\":{},\"e\":[],\"f\":true,\"g\":false,"
			  "\"h\":\"s\",\"i\":{\"j\":{\"k\":[[],[\"x\"]]},\"l\":true}}");
	jsonw_release(&w);
	CHECK(w.buf == NULL, "jsonw_release left buf set");

	/* Arrays of arrays and a top-level array. */
	wr_init(&w, 0);
	jsonw_arr(&w);
	for (int i = 0; i < 3; i++) {
		jsonw_arr(&w);
		for (int j = 0; j < i; j++)
			jsonw_u64(&w, (uint64_t)j);
		jsonw_arr_end(&w);
	}
	jsonw_null(&w);
	jsonw_arr_end(&w);
	CHECK_TEXT(&w, 0, "[[],[0],[0,1],null]");
	jsonw_release(&w);

	/* 15 levels fit (JSONW_MAX_NEST counts the top level), 17 do not. */
	wr_init(&w, 0);
	for (int i = 0; i < JSONW_MAX_NEST - 1; i++)
		jsonw_arr(&w);
	jsonw_u64(&w, 5);
	for (int i = 0; i < JSONW_MAX_NEST - 1; i++)
		jsonw_arr_end(&w);
	CHECK_TEXT(&w, 0, "[[[[[[[[[[[[[[[5]]]]]]]]]]]]]]]");
	jsonw_release(&w);
	wr_init(&w, 0);
	for (int i = 0; i < JSONW_MAX_NEST + 1; i++)
		jsonw_arr(&w);
	CHECK(w.failed, "%d levels of nesting did not set failed", JSONW_MAX_NEST + 1);
	jsonw_release(&w);
}

static void test_writer_numbers(void)
{
	static const struct {
		int kind;	/* 0 u64, 1 i64, 2 hex */
		uint64_t v;
		const char *want;
	} cases[] = {
		{ 0, 0, "0" },
		{ 0, 10, "10" },
		{ 0, UINT64_MAX, "18446744073709551615" },
		{ 0, (uint64_t)INT64_MAX + 1, "9223372036854775808" },
		{ 1, 0, "0" },
		{ 1, (uint64_t)-1, "-1" },
		{ 1, (uint64_t)INT64_MAX, "9223372036854775807" },
		{ 1, (uint64_t)INT64_MIN, "-9223372036854775808" },
		{ 1, (uint64_t)(INT64_MIN + 1), "-9223372036854775807" },
		{ 2, 0, "\"0x0\"" },
		{ 2, 0x1a2b, "\"0x1a2b\"" },
		{ 2, 0xdeadbeef, "\"0xdeadbeef\"" },
		{ 2, UINT64_MAX, "\"0xffffffffffffffff\"" },
		{ 2, UINT64_C(0x8000000000000000), "\"0x8000000000000000\"" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jsonw w;

		wr_init(&w, 0);
		if (cases[i].kind == 0)
			jsonw_u64(&w, cases[i].v);
		else if (cases[i].kind == 1)
			jsonw_i64(&w, (int64_t)cases[i].v);
		else
			jsonw_hex(&w, cases[i].v);
		CHECK_TEXT(&w, 0, cases[i].want);
		jsonw_release(&w);
	}
}

static void test_writer_strings(void)
{
	struct jsonw w;
	char all[256], *s;
	struct parsed p;
	size_t n;

	/* Every byte value 1..255 in one string, and a NUL through strn. */
	for (int i = 0; i < 255; i++)
		all[i] = (char)(i + 1);
	all[255] = '\0';
	wr_init(&w, 0);
	jsonw_obj(&w);
	jsonw_key(&w, "all");
	jsonw_str(&w, all);
	jsonw_key(&w, "nul");
	jsonw_strn(&w, "a\0b", 3);
	jsonw_key(&w, "k\"\\\n\x01");
	jsonw_strn(&w, "xyz", 2);
	jsonw_key(&w, "e");
	jsonw_str(&w, "");
	jsonw_obj_end(&w);
	CHECK(!w.failed, "writer failed");
	s = text(&w, 0);
	n = strlen(s);
	for (size_t i = 0; i < n; i++)
		CHECK((unsigned char)s[i] >= 0x20, "raw control byte 0x%02x at %zu in writer output",
		      (unsigned char)s[i], i);
	CHECK(strstr(s, "\\n") && strstr(s, "\\t") && strstr(s, "\\r") && strstr(s, "\\\"") &&
	      strstr(s, "\\\\") && strstr(s, "\\u0001") && strstr(s, "\\u001f") && strstr(s, "\\u0000"),
	      "expected escapes missing in %s", check_shown(s, n));
	CHECK(strstr(s, "\"nul\":\"a\\u0000b\"") != NULL, "NUL written as %s", check_shown(s, n));
	CHECK(strstr(s, "\"xy\"") != NULL, "jsonw_strn did not stop at N: %s", check_shown(s, n));
	parse_n(&p, s, n, MAXM);
	CHECK(p.res == JSONR_OK, "reader rejects writer's escaping: %s at %zu", p.err ? p.err : "",
	      p.err_at);
	if (p.res == JSONR_OK) {
		CHECK_STR(&p, "all", all, 255);
		CHECK_STR(&p, "nul", "a\0b", 3);
		CHECK_STR(&p, "k\"\\\n\x01", "xy", 2);
		CHECK_STR(&p, "e", "", 0);
	}
	done(&p);
	free(s);
	jsonw_release(&w);
}

/* 10 MB of strings: growth far past the first 64 KiB, no byte lost. */
static char big_char(size_t member, size_t i)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789\"\\\n\t/\x01";

	return alphabet[(member * 31 + i * 7 + i / 13) % (sizeof(alphabet) - 1)];
}

static void test_writer_growth(void)
{
	enum { MEMBERS = 10000, SLEN = 1000 };
	size_t before = agent_mem_bytes(AGENT_MEM_OTHER), grown;
	struct jsonr_member *m = xmalloc(MEMBERS * sizeof(*m));
	char val[SLEN], key[32];
	const char *err = NULL;
	size_t at = 0, bad = 0;
	struct jsonw w;
	int n = 0;
	enum jsonr_result r;
	char *s;

	wr_init(&w, 4);
	CHECK(agent_mem_bytes(AGENT_MEM_OTHER) == before + w.cap,
	      "jsonw_init mapped %zu bytes, counted %zu", w.cap, agent_mem_bytes(AGENT_MEM_OTHER) - before);
	jsonw_obj(&w);
	for (size_t i = 0; i < MEMBERS; i++) {
		for (size_t j = 0; j < SLEN; j++)
			val[j] = big_char(i, j);
		snprintf(key, sizeof(key), "k%zu", i);
		jsonw_key(&w, key);
		jsonw_strn(&w, val, SLEN);
	}
	jsonw_obj_end(&w);
	CHECK(!w.failed, "writer failed growing to %zu bytes", w.len);
	CHECK(w.len > 10u * 1000 * 1000, "10 MB of strings gave only %zu bytes", w.len);
	CHECK(w.cap >= w.len, "cap %zu below len %zu", w.cap, w.len);
	grown = agent_mem_bytes(AGENT_MEM_OTHER);
	CHECK(grown == before + w.cap, "after growth %zu bytes counted for a %zu-byte buffer",
	      grown - before, w.cap);

	s = xmalloc(w.len - 4 + 1);
	memcpy(s, w.buf + 4, w.len - 4);
	r = jsonr_parse(s, w.len - 4, m, MEMBERS, &n, &err, &at);
	CHECK(r == JSONR_OK && n == MEMBERS, "reading the 10 MB object back: result %d (%s at %zu), %d members",
	      r, err ? err : "", at, n);
	for (int i = 0; r == JSONR_OK && i < n; i++) {
		int ok;

		snprintf(key, sizeof(key), "k%d", i);
		for (size_t j = 0; j < SLEN; j++)
			val[j] = big_char((size_t)i, j);
		ok = !strcmp(m[i].key, key) && m[i].type == JSONR_STRING && m[i].str_len == SLEN &&
		     !memcmp(m[i].str, val, SLEN);
		if (!ok && bad++ < 3)
			CHECK(0, "10 MB object: member %d (\"%s\") corrupted", i, m[i].key);
	}
	CHECK(!bad, "10 MB object: %zu members corrupted", bad);
	free(s);
	free(m);
	jsonw_release(&w);
	CHECK(agent_mem_bytes(AGENT_MEM_OTHER) == before, "after jsonw_release %zd bytes still counted",
	      (ssize_t)(agent_mem_bytes(AGENT_MEM_OTHER) - before));
}

/* ---------------------------------------------------------------- round trip */

static uint64_t rng_state; /* main(): check_seed(), never 0 */

static uint64_t rnd(void)
{
	/* xorshift64*: seeded (check_seed: MEMTRACE_TEST_SEED), so a failure replays. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

struct want {
	char key[24];
	enum jsonr_type type;
	char str[64];
	size_t str_len;
	int64_t num;
};

static int64_t interesting_int(void)
{
	static const int64_t special[] = { 0, 1, -1, INT64_MAX, -INT64_MAX, INT32_MAX, INT32_MIN,
					    UINT32_MAX, 1000000, -1000000000000 };

	switch (rnd() % 3) {
	case 0: return special[rnd() % (sizeof(special) / sizeof(special[0]))];
	case 1: return (int64_t)(rnd() % 100000) - 50000;
	default: return (int64_t)rnd() == INT64_MIN ? 0 : (int64_t)rnd() >> (rnd() % 63);
	}
}

static void test_round_trip(void)
{
	int bad = 0;

	/* INT64_MIN on its own, so a failure says what it is. */
	{
		struct jsonw w;
		struct parsed p;
		char *s;

		wr_init(&w, 0);
		jsonw_obj(&w);
		jsonw_key(&w, "v");
		jsonw_i64(&w, INT64_MIN);
		jsonw_obj_end(&w);
		s = text(&w, 0);
		parse(&p, s);
		CHECK(p.res == JSONR_OK, "INT64_MIN round trip: %d", p.res);
		if (p.res == JSONR_OK)
			CHECK_INT(&p, "v", INT64_MIN);
		done(&p);
		free(s);
		jsonw_release(&w);
	}

	for (int iter = 0; iter < 2000 && bad < 5; iter++) {
		struct want want[MAXM];
		int nm = (int)(rnd() % (MAXM + 1));
		size_t reserve = (size_t)(rnd() % 8);
		struct jsonw w;
		struct parsed p;
		char *s;

		wr_init(&w, reserve);
		jsonw_obj(&w);
		for (int i = 0; i < nm; i++) {
			struct want *x = &want[i];
			size_t kl = 1 + rnd() % 10;

			/* Keys: random non-NUL bytes, made unique by a prefix. */
			snprintf(x->key, sizeof(x->key), "%c", 'A' + i);
			for (size_t j = 1; j < kl; j++)
				x->key[j] = (char)(1 + rnd() % 255);
			x->key[kl] = '\0';
			jsonw_key(&w, x->key);
			switch (rnd() % 5) {
			case 0:
				x->type = JSONR_STRING;
				x->str_len = rnd() % sizeof(x->str);
				for (size_t j = 0; j < x->str_len; j++)
					x->str[j] = (char)(rnd() % 256);
				jsonw_strn(&w, x->str, x->str_len);
				break;
			case 1:
				x->type = JSONR_INT;
				x->num = interesting_int();
				jsonw_i64(&w, x->num);
				break;
			case 2:
				x->type = JSONR_INT;
				x->num = (int64_t)(rnd() >> 1);
				jsonw_u64(&w, (uint64_t)x->num);
				break;
			case 3:
				x->type = JSONR_BOOL;
				x->num = (int64_t)(rnd() & 1);
				jsonw_bool(&w, (int)x->num);
				break;
			default:
				x->type = JSONR_NULL;
				jsonw_null(&w);
				break;
			}
		}
		jsonw_obj_end(&w);
		CHECK(!w.failed, "round trip %d: writer failed", iter);
		s = text(&w, reserve);
		parse_n(&p, s, strlen(s), MAXM);
		if (p.res != JSONR_OK || p.n != nm) {
			bad++;
			CHECK(0, "round trip %d: result %d (%s at %zu), %d members, want %d: %s", iter, p.res,
			      p.err ? p.err : "", p.err_at, p.n, nm, check_shown(s, strlen(s)));
		} else {
			for (int i = 0; i < nm; i++) {
				struct want *x = &want[i];
				const struct jsonr_member *m = &p.m[i];
				int ok = !strcmp(m->key, x->key) && m->type == x->type;

				if (ok && x->type == JSONR_STRING)
					ok = m->str_len == x->str_len && !memcmp(m->str, x->str, x->str_len);
				else if (ok && x->type != JSONR_NULL)
					ok = m->num == x->num;
				if (!ok) {
					bad++;
					CHECK(0, "round trip %d: member %d (%s) came back as %s %s/%" PRId64,
					      iter, i, check_shown(x->key, strlen(x->key)), type_name(m->type),
					      m->type == JSONR_STRING ? check_shown(m->str, m->str_len) : "",
					      m->num);
					break;
				}
			}
		}
		done(&p);
		free(s);
		jsonw_release(&w);
	}
}

/* ---------------------------------------------------------------- fuzz */

static const char *const seeds[] = {
	"{\"cmd\":\"report\",\"id\":7,\"count\":10}",
	"{\"cmd\":\"dump\",\"id\":-3,\"ctx\":12,\"max\":100,\"bytes\":64}",
	"{\"a\":\"x\\\"y\\\\z\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\",\"b\":-9223372036854775807,"
	"\"c\":true,\"d\":false,\"e\":null,\"f\":{\"g\":[1,2.5e3,{\"h\":null}]},\"i\":[]}",
	"{}",
	" { \"k\" : 1 } ",
	"{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9}",
	"{\"n\":[[[[[[[[1]]]]]]]],\"m\":{\"x\":{\"y\":{\"z\":\"\\u0000\"}}}}",
	"{\"big\":92233720368547758070,\"f\":-0.5E-7,\"z\":0}",
};

static const char interesting_bytes[] = "{}[]\":,\\/ubfnrt0123456789-+.eE \n\t\x01\x7f\x80\xff";

/* Apply 1..4 random edits to S (LEN bytes, room for CAP). Returns the new length. */
static size_t mutate(char *s, size_t len, size_t cap)
{
	int edits = 1 + (int)(rnd() % 4);

	for (int e = 0; e < edits; e++) {
		size_t pos = len ? rnd() % (len + 1) : 0;
		char c = rnd() & 1 ? interesting_bytes[rnd() % (sizeof(interesting_bytes) - 1)]
				   : (char)(rnd() % 256);

		switch (rnd() % 6) {
		case 0:		/* replace */
			if (pos < len)
				s[pos] = c;
			break;
		case 1:		/* insert */
			if (len < cap) {
				memmove(s + pos + 1, s + pos, len - pos);
				s[pos] = c;
				len++;
			}
			break;
		case 2:		/* delete */
			if (pos < len) {
				memmove(s + pos, s + pos + 1, len - pos - 1);
				len--;
			}
			break;
		case 3:		/* truncate */
			len = pos;
			break;
		case 4:		/* duplicate a slice */
			if (pos < len) {
				size_t n = 1 + rnd() % (len - pos);

				if (len + n <= cap) {
					memmove(s + pos + n, s + pos, len - pos);
					len += n;
				}
			}
			break;
		default:	/* flip a bit */
			if (pos < len)
				s[pos] = (char)(s[pos] ^ (1 << (rnd() % 8)));
			break;
		}
	}
	return len;
}

static void test_fuzz(void)
{
	enum { ROUNDS = 100000, CAP = 1024, MAXF = 8 };
	int counts[3] = { 0 }, bad = 0;
	char work[CAP];

	rng_state = 12345;
	for (int iter = 0; iter < ROUNDS && bad < 10; iter++) {
		const char *seed = seeds[rnd() % (sizeof(seeds) / sizeof(seeds[0]))];
		size_t len = strlen(seed);
		struct jsonr_member m[MAXF];
		const char *err = NULL;
		size_t at = (size_t)-1;
		enum jsonr_result r;
		char *buf;
		int n = -1;

		memcpy(work, seed, len);
		len = mutate(work, len, CAP);
		buf = xmalloc(len + 1);		/* exact size: ASan sees any over-read */
		memcpy(buf, work, len);
		r = jsonr_parse(buf, len, m, MAXF, &n, &err, &at);
		if (r != JSONR_OK && r != JSONR_BAD_INPUT && r != JSONR_TOO_MANY) {
			bad++;
			CHECK(0, "fuzz %d: result %d for %s", iter, r, check_shown(work, len));
		} else if (r == JSONR_OK) {
			counts[0]++;
			if (n < 0 || n > MAXF) {
				bad++;
				CHECK(0, "fuzz %d: OK with %d members", iter, n);
			}
			for (int i = 0; i < n && i < MAXF; i++) {
				const struct jsonr_member *x = &m[i];
				int ok = x->key >= buf && x->key <= buf + len &&
					 x->type >= JSONR_STRING && x->type <= JSONR_OTHER;

				if (ok && x->type == JSONR_STRING)
					ok = x->str >= buf && x->str + x->str_len <= buf + len &&
					     x->str[x->str_len] == '\0';
				if (ok && x->type == JSONR_BOOL)
					ok = x->num == 0 || x->num == 1;
				if (!ok) {
					bad++;
					CHECK(0, "fuzz %d: member %d malformed for %s", iter, i,
					      check_shown(work, len));
					break;
				}
			}
		} else {
			counts[r]++;
			if (!err || at > len) {
				bad++;
				CHECK(0, "fuzz %d: result %d with error %s at %zu (input %zu bytes): %s", iter,
				      r, err ? err : "NULL", at, len, check_shown(work, len));
			}
		}
		free(buf);
	}
	/* The mutations must reach all three outcomes, or the fuzzing is blind. */
	CHECK(counts[JSONR_OK] > 1000 && counts[JSONR_BAD_INPUT] > 1000 && counts[JSONR_TOO_MANY] > 100,
	      "fuzz outcomes too lopsided: %d OK, %d BAD_INPUT, %d TOO_MANY", counts[0], counts[1],
	      counts[2]);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	rng_state = check_seed(0x9e3779b97f4a7c15u);
	/* xorshift stays at 0 */
	if (!rng_state)
		rng_state = 1;
	test_members();
	test_skipped();
	test_escapes();
	test_integers();
	test_errors();
	test_limits();
	test_get();
	test_writer_shapes();
	test_writer_numbers();
	test_writer_strings();
	test_writer_growth();
	test_round_trip();
	test_fuzz();

	if (failures)
		printf("test_jsonr: %d of %d checks failed\n", failures, checks);
	return failures ? 1 : 0;
}
