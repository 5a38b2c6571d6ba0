/*
 * Unit test for string escaping (mi/cstr.c): one check per escape rule of
 * MI c-strings (the named escapes, one to three octal digits, \000, the
 * errors), every byte value through an encoder written after gdb's
 * printchar, decoding in place, the C literals of values gdb printed
 * (addresses before them, <repeats N times>, "..." for cut strings, \x and
 * \e), and quoting for gdb's input.
 *
 * Exit status: 0 pass, 1 fail (one "FAIL" line per failed check), 99 broken.
 */
#include "../../mi/gdbmi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* Decode BODY (a c-string without its quotes); its length in *N, -1 on error. */
static int decode(const char *body, char *out, size_t *n, size_t *err_at)
{
	return gdbmi_cstr_decode(body, strlen(body), out, n, err_at) == GDBMI_OK ? 0 : -1;
}

static void want(const char *body, const char *expect, size_t expect_len)
{
	char out[256];
	size_t n = 999;

	CHECK(decode(body, out, &n, NULL) == 0, "'%s' does not decode", body);
	CHECK(n == expect_len && memcmp(out, expect, n) == 0, "'%s': got %zu bytes", body, n);
}

static void refuse(const char *body, size_t at)
{
	char out[256];
	size_t n, err = 999;

	CHECK(decode(body, out, &n, &err) < 0, "'%s' decodes", body);
	CHECK(err == at, "'%s': error at %zu, want %zu", body, err, at);
}

static void test_named_escapes(void)
{
	want("\\\"", "\"", 1);
	want("\\\\", "\\", 1);
	want("\\n", "\n", 1);
	want("\\t", "\t", 1);
	want("\\r", "\r", 1);
	want("\\b", "\b", 1);
	want("\\f", "\f", 1);
	want("\\v", "\v", 1);
	want("\\a", "\a", 1);
	want("\\e", "\033", 1);
	want("\\'", "'", 1);
	want("\\?", "?", 1);
	want("plain text", "plain text", 10);
	want("", "", 0);
	want("a\\nb\\tc", "a\nb\tc", 5);
}

static void test_octal(void)
{
	want("\\000", "\0", 1);
	want("a\\000b", "a\0b", 3);
	want("\\0", "\0", 1);
	want("\\00", "\0", 1);
	want("\\1", "\1", 1);
	want("\\12", "\n", 1);
	want("\\101", "A", 1);
	want("\\377", "\377", 1);
	want("\\0000", "\0" "0", 2); /* three digits at most */
	want("\\1018", "A8", 2);
	want("\\303\\251", "\303\251", 2); /* UTF-8 é, as MI sends it */
	refuse("\\400", 0);
	refuse("ab\\777", 2);
	refuse("\\8", 0);
}

static void test_errors(void)
{
	refuse("\\q", 0);
	refuse("ok\\x41", 2); /* no hex escapes in MI */
	refuse("\\", 0);
	refuse("abc\\", 3);
	refuse("a\"b", 1); /* a lone quote inside the body */
}

/*
 * Every byte as gdb's printchar writes it with sevenbit-strings on: the
 * named escapes, octal for other control and high bytes, the rest as is.
 */
static size_t gdb_escape(const unsigned char *in, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = in[i];
		const char *named = NULL;

		switch (c) {
		case '\n': named = "\\n"; break;
		case '\b': named = "\\b"; break;
		case '\t': named = "\\t"; break;
		case '\f': named = "\\f"; break;
		case '\r': named = "\\r"; break;
		case '\033': named = "\\e"; break;
		case '\007': named = "\\a"; break;
		case '"': named = "\\\""; break;
		case '\\': named = "\\\\"; break;
		}
		if (named)
			o += (size_t)sprintf(out + o, "%s", named);
		else if (c < 0x20 || c >= 0x7f)
			o += (size_t)sprintf(out + o, "\\%03o", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
	return o;
}

static void test_every_byte(void)
{
	unsigned char all[256];
	char enc[256 * 4 + 1], dec[sizeof(enc)];
	size_t n, elen;

	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	elen = gdb_escape(all, 256, enc);
	CHECK(gdbmi_cstr_decode(enc, elen, dec, &n, NULL) == GDBMI_OK, "all bytes decode");
	CHECK(n == 256 && memcmp(dec, all, 256) == 0, "all bytes round-trip (%zu)", n);
	/* In place: the output never overtakes the input. */
	CHECK(gdbmi_cstr_decode(enc, elen, enc, &n, NULL) == GDBMI_OK && n == 256 &&
	      memcmp(enc, all, 256) == 0, "in-place decoding");
}

/* Values: the MI layer undone leaves gdb's C literal. */
static void literal(const char *value, const char *expect, size_t expect_len, int expect_cut)
{
	char *out = NULL;
	size_t n = 0;
	int cut = -1;
	enum gdbmi_status st = gdbmi_c_literal(value, strlen(value), &out, &n, &cut);

	CHECK(st == GDBMI_OK, "literal <%s>: status %d", value, st);
	if (st == GDBMI_OK) {
		CHECK(n == expect_len && memcmp(out, expect, n) == 0 && out[n] == '\0',
		      "literal <%s>: %zu bytes", value, n);
		CHECK(cut == expect_cut, "literal <%s>: truncated %d", value, cut);
	}
	free(out);
}

static void not_literal(const char *value)
{
	char *out = (char *)1;
	size_t n;

	CHECK(gdbmi_c_literal(value, strlen(value), &out, &n, NULL) == GDBMI_BAD_INPUT && !out,
	      "<%s> taken for a literal", value);
}

static void test_c_literals(void)
{
	literal("\"hello\"", "hello", 5, 0);
	literal("0x555555556004 \"hello\"", "hello", 5, 0);
	literal("0x4006f4 <greeting> \"hi\"", "hi", 2, 0);
	/* The escapes of gdb's value printer, as in tests/mi-fixtures/evaluate-bytes.mi. */
	literal("\"mi\\000\\\"\\\\\\n\\t\\033\\177\303\251 !\"", "mi\0\"\\\n\t\033\177\303\251 !", 13, 0);
	literal("\"\\e\\a\\b\\f\\r\\v\\?\\'\"", "\033\a\b\f\r\v?'", 8, 0);
	literal("\"\\x41\\x7e\\x0\"", "A~\0", 3, 0);
	literal("\"ab\", 'c' <repeats 20 times>, \"\\001d\"", "abcccccccccccccccccccc\001d", 24, 0);
	literal("'\\000' <repeats 15 times>", "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 15, 0);
	literal("'x' <repeats 3 times>, \"yz\"...", "xxxyz", 5, 1);
	literal("\"abcd\"...", "abcd", 4, 1);
	literal("104 'h'", "h", 1, 0);
	literal("\"\"", "", 0, 0);
	literal("\"ok\" <error: Cannot access memory at address 0x10>", "ok", 2, 0);
	not_literal("0x0");
	not_literal("42");
	not_literal("");
	not_literal("\"unterminated");
	not_literal("\"bad \\q\"");
	not_literal("\"\\x\"");
	not_literal("\"\\x100\"");
	not_literal("'ab'");
	not_literal("'x' <repeats 999999999999 times>");
}

static void quoted(const char *in, const char *expect)
{
	char *q = gdbmi_quote(in);

	CHECK(q && strcmp(q, expect) == 0, "quote <%s>: <%s>", in, q ? q : "NULL");
	free(q);
}

static void test_quote(void)
{
	char raw[256], *q, dec[1024];
	size_t n;

	quoted("", "\"\"");
	quoted("/path with spaces/prog", "\"/path with spaces/prog\"");
	quoted("a\"b\\c", "\"a\\\"b\\\\c\"");
	quoted("x\ny\tz\r", "\"x\\ny\\tz\\r\"");
	quoted("fichier-\303\251t\303\251", "\"fichier-\303\251t\303\251\"");
	/* What quote writes, the MI decoder reads back: every non-NUL byte. */
	for (int i = 1; i < 256; i++)
		raw[i - 1] = (char)i;
	raw[255] = '\0';
	q = gdbmi_quote(raw);
	CHECK(q && gdbmi_cstr_decode(q + 1, strlen(q) - 2, dec, &n, NULL) == GDBMI_OK && n == 255 &&
	      memcmp(dec, raw, 255) == 0, "quote then decode is the identity");
	free(q);
}

int main(void)
{
	test_named_escapes();
	test_octal();
	test_errors();
	test_every_byte();
	test_c_literals();
	test_quote();
	CHECK(strcmp(gdbmi_strstatus(GDBMI_TIMEOUT), "timeout") == 0, "gdbmi_strstatus");
	return check_done();
}
