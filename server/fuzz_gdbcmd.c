/*
 * fuzz_gdbcmd.c: the libFuzzer harness for the gdb gate (server/gdbcmd.h;
 * `make fuzz-server`, `make check-server-fuzz`, server/server.mk): every text
 * a device can make reach the host's gdb goes through srv_gdbcmd_check (a
 * console line), srv_gdbcmd_addr or srv_gdbcmd_type (inspect's operands).
 * Not part of the server.
 *
 * The first byte picks the gate (its value modulo 3: addr, type, line), the
 * rest is the text, cut at its first NUL as the server's JSON strings are.
 * What passes is checked again here by a reader independent of the gate's
 * (its own, simpler tokenizer), and anything else is a crash:
 *   addr  a number made of digits only, or a canonical symbol that is
 *         "&"? then C identifiers joined by "::", none a gdb keyword;
 *   type  a canonical text of identifiers, "*", "[digits]" and single
 *         spaces, no gdb keyword, that the gate gives back unchanged;
 *   line  at most SRV_GDBCMD_MAX bytes, no control byte but tab, no '$'
 *         token followed by '(' or naming a gdb convenience function, and
 *         not a command outside the allowlist's first letters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gdbcmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const kw[] = {
	"sizeof", "alignof", "_Alignof", "__alignof__", "typeof", "__typeof__", "__typeof", "decltype",
	"__decltype", "typeid", "operator", "new", "delete", "this", "template", "dynamic_cast",
	"static_cast", "reinterpret_cast", "const_cast", "true", "false",
};

static const char *const fns[] = {
	"_any_caller_is", "_any_caller_matches", "_as_string", "_caller_is", "_caller_matches", "_cimag",
	"_creal", "_gdb_maint_setting", "_gdb_maint_setting_str", "_gdb_setting", "_gdb_setting_str",
	"_isvoid", "_memeq", "_regex", "_shell", "_streq", "_strlen",
};

static int alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int alnum(int c)
{
	return alpha(c) || (c >= '0' && c <= '9');
}

/* A word of identifiers joined by "::" at S, N bytes long, none of them a keyword. */
static int scoped_ident(const char *s, size_t n)
{
	size_t i = 0, b;

	while (i < n) {
		if (!alpha((unsigned char)s[i]))
			return 0;
		for (b = i; i < n && alnum((unsigned char)s[i]); i++)
			;
		for (size_t k = 0; k < sizeof(kw) / sizeof(kw[0]); k++)
			if (strlen(kw[k]) == i - b && !strncmp(s + b, kw[k], i - b))
				return 0;
		if (i == n)
			return 1;
		if (i + 2 >= n || s[i] != ':' || s[i + 1] != ':')
			return 0;
		i += 2;
	}
	return 0;
}

static void check_addr(const char *text)
{
	char canon[SRV_GDBCMD_CANON_MAX], why[256];
	uint64_t v;
	size_t i;

	switch (srv_gdbcmd_addr(text, &v, canon, sizeof(canon), why, sizeof(why))) {
	case SRV_GDBCMD_ADDR_REFUSED:
		if (!why[0])
			abort(); /* a refusal without a word of why */
		return;
	case SRV_GDBCMD_ADDR_NUMBER:
		/* blanks, then 0x and hex digits or decimal digits only, then blanks */
		for (i = 0; text[i] == ' ' || text[i] == '\t'; i++)
			;
		if (text[i] == '0' && (text[i + 1] == 'x' || text[i + 1] == 'X'))
			i += 2;
		for (; text[i] && strchr("0123456789abcdefABCDEF", text[i]); i++)
			;
		for (; text[i] == ' ' || text[i] == '\t'; i++)
			;
		if (text[i])
			abort();
		return;
	case SRV_GDBCMD_ADDR_SYMBOL:
		i = canon[0] == '&';
		if (!scoped_ident(canon + i, strlen(canon + i)) || strlen(canon + i) > SRV_GDBCMD_NAME_MAX)
			abort();
		return;
	}
	abort();
}

static void check_type(const char *text)
{
	char canon[SRV_GDBCMD_CANON_MAX], again[SRV_GDBCMD_CANON_MAX], why[256];
	const char *p, *e;

	if (srv_gdbcmd_type(text, canon, sizeof(canon), why, sizeof(why)) < 0) {
		if (!why[0] || canon[0])
			abort();
		return;
	}
	if (!canon[0] || canon[0] == ' ' || canon[strlen(canon) - 1] == ' ')
		abort();
	for (p = canon; *p; p = *e ? e + 1 : e) {
		e = strchrnul(p, ' ');
		if (e == p)
			abort(); /* two spaces */
		if (*p == '*') {
			if (e - p != 1)
				abort();
		} else if (*p == '[') {
			if (e - p < 3 || e[-1] != ']' || strspn(p + 1, "0123456789") != (size_t)(e - p - 2))
				abort();
		} else if (!scoped_ident(p, (size_t)(e - p))) {
			abort();
		}
	}
	if (srv_gdbcmd_type(canon, again, sizeof(again), why, sizeof(why)) < 0 || strcmp(canon, again))
		abort();
}

static void check_line(const char *text)
{
	char why[256];
	size_t n, i, j, t;

	if (srv_gdbcmd_check(text, why, sizeof(why)) == SRV_GDBCMD_REFUSED) {
		if (!why[0])
			abort();
		return;
	}
	n = strlen(text);
	if (n > SRV_GDBCMD_MAX)
		abort();
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			abort();
		if (c != '$')
			continue;
		for (t = i + 1; t < n && (alnum((unsigned char)text[t]) || text[t] == '$' || (unsigned char)text[t] >= 0x80); t++)
			;
		for (j = t; j < n && (text[j] == ' ' || text[j] == '\t'); j++)
			;
		if (j < n && text[j] == '(')
			abort(); /* a call of a convenience function passed */
		for (size_t k = 0; k < sizeof(fns) / sizeof(fns[0]); k++)
			if (strlen(fns[k]) == t - i - 1 && !strncasecmp(text + i + 1, fns[k], t - i - 1))
				abort(); /* one named passed */
	}
	/* the command word: one of the allowlist's (first letters only: the abbreviations are the gate's table) */
	for (i = 0; text[i] == ' ' || text[i] == '\t'; i++)
		;
	if (!strchr("bwfudpioxltnsac", text[i] | 0x20))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (!size)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0:
		check_addr(text);
		break;
	case 1:
		check_type(text);
		break;
	default:
		check_line(text);
		break;
	}
	free(text);
	return 0;
}
