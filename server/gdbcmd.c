/*
 * The gdb console's allowlist (gdbcmd.h). It follows gdb's own command lookup
 * (cli/cli-decode.c, lookup_cmd_1) rather than a guess at it: blanks, then a
 * name made of letters, digits, '-', '_' and '.', or one '!' or '|'; an exact
 * name or alias wins, else a prefix that is unique among all commands. The
 * tables therefore hold every name with the shortest abbreviation gdb 13
 * resolves to it (probed with `help ABBREV` in `gdb -nx`): a shorter one is
 * ambiguous or another command's alias ("b" is break, "s" in info is stack).
 * A future gdb's new commands can only make an abbreviation ambiguous, which
 * gdb refuses by itself.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gdbcmd.h"

/* What may follow a command's name. */
enum gdbcmd_args {
	ARGS_ANY,      /* gdb parses them; only the checks on the whole line apply */
	ARGS_NONE,     /* continue and detach: the caller acts on the kind, not the text */
	ARGS_INFO,     /* an info subcommand of info_subs */
	ARGS_NO_APPLY, /* anything but the "apply" subcommand (frame, thread) */
};

struct gdbcmd_name {
	const char *name;
	unsigned char min; /* the shortest abbreviation gdb takes for it */
	unsigned char kind;
	unsigned char args;
};

static const struct gdbcmd_name commands[] = {
	{ "backtrace", 2, SRV_GDBCMD_INSPECT, ARGS_ANY },
	{ "bt", 2, SRV_GDBCMD_INSPECT, ARGS_ANY },
	{ "where", 3, SRV_GDBCMD_INSPECT, ARGS_ANY },
	{ "frame", 1, SRV_GDBCMD_INSPECT, ARGS_NO_APPLY },
	{ "up", 2, SRV_GDBCMD_INSPECT, ARGS_ANY },
	{ "down", 2, SRV_GDBCMD_INSPECT, ARGS_ANY }, /* "do" and "dow" are aliases */
	{ "print", 5, SRV_GDBCMD_INSPECT, ARGS_ANY }, /* "pr" is also printf, print-object */
	{ "p", 1, SRV_GDBCMD_INSPECT, ARGS_ANY },
	{ "inspect", 3, SRV_GDBCMD_INSPECT, ARGS_ANY },
	{ "output", 2, SRV_GDBCMD_INSPECT, ARGS_ANY },
	{ "x", 1, SRV_GDBCMD_INSPECT, ARGS_ANY },
	{ "ptype", 2, SRV_GDBCMD_INSPECT, ARGS_ANY },
	{ "whatis", 3, SRV_GDBCMD_INSPECT, ARGS_ANY },
	{ "list", 1, SRV_GDBCMD_INSPECT, ARGS_ANY },
	{ "info", 3, SRV_GDBCMD_INSPECT, ARGS_INFO },
	{ "i", 1, SRV_GDBCMD_INSPECT, ARGS_INFO },
	{ "thread", 3, SRV_GDBCMD_INSPECT, ARGS_NO_APPLY },
	{ "t", 1, SRV_GDBCMD_INSPECT, ARGS_NO_APPLY },
	{ "finish", 3, SRV_GDBCMD_RUN, ARGS_ANY },
	{ "next", 4, SRV_GDBCMD_RUN, ARGS_ANY },
	{ "n", 1, SRV_GDBCMD_RUN, ARGS_ANY },
	{ "step", 4, SRV_GDBCMD_RUN, ARGS_ANY },
	{ "s", 1, SRV_GDBCMD_RUN, ARGS_ANY },
	{ "nexti", 5, SRV_GDBCMD_RUN, ARGS_ANY },
	{ "ni", 2, SRV_GDBCMD_RUN, ARGS_ANY },
	{ "stepi", 5, SRV_GDBCMD_RUN, ARGS_ANY },
	{ "si", 2, SRV_GDBCMD_RUN, ARGS_ANY },
	/* Both stop at a temporary breakpoint or when the frame returns, like finish. */
	{ "until", 3, SRV_GDBCMD_RUN, ARGS_ANY },
	{ "u", 1, SRV_GDBCMD_RUN, ARGS_ANY },
	{ "advance", 3, SRV_GDBCMD_RUN, ARGS_ANY },
	{ "continue", 4, SRV_GDBCMD_CONTINUE, ARGS_NONE },
	{ "c", 1, SRV_GDBCMD_CONTINUE, ARGS_NONE },
	{ "fg", 2, SRV_GDBCMD_CONTINUE, ARGS_NONE },
	/* Not "detach inferiors" or "detach checkpoint": detach is a prefix command. */
	{ "detach", 3, SRV_GDBCMD_DETACH, ARGS_NONE },
};

/* Kind and args are unused here: only the names count. */
static const struct gdbcmd_name info_subs[] = {
	{ "locals", 2, 0, 0 },
	{ "args", 2, 0, 0 },
	{ "frame", 5, 0, 0 }, /* "fr" is also frame-filter */
	{ "f", 1, 0, 0 },
	{ "registers", 3, 0, 0 },
	{ "r", 1, 0, 0 },
	{ "all-registers", 2, 0, 0 },
	{ "threads", 2, 0, 0 },
	{ "line", 2, 0, 0 },
	{ "symbol", 2, 0, 0 },
	{ "source", 6, 0, 0 },
	{ "sharedlibrary", 2, 0, 0 },
	{ "dll", 2, 0, 0 },
};

static const char allowed[] =
	"bt, frame, up, down, print, output, x, ptype, whatis, list, "
	"info locals/args/frame/registers/all-registers/threads/line/symbol/source/sharedlibrary, "
	"thread, finish, next, step, nexti, stepi, until, advance, continue, detach";

const char *srv_gdbcmd_allowed(void)
{
	return allowed;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int is_ascii_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/*
 * The length of the command name at S (N bytes). Recent gdbs take '.' too,
 * older ones end the name there: WITH_DOT chooses. A word with a dot matches
 * no name, so taking the dot refuses it under both readings; where a match
 * refuses (apply), the shorter reading is the one to test.
 */
static size_t name_len(const char *s, size_t n, int with_dot)
{
	size_t i = 0;

	if (n > 0 && (s[0] == '!' || s[0] == '|'))
		return 1;
	while (i < n && (is_ascii_alnum(s[i]) || s[i] == '-' || s[i] == '_' || (with_dot && s[i] == '.')))
		i++;
	return i;
}

/*
 * Case is folded: gdb 13 matches case-sensitively, some older ones retried
 * in lower case, and a folded match errs on the side of refusing ("FRAME
 * APPLY" is refused; "BT" passes, to be gdb 13's error).
 */
static const struct gdbcmd_name *lookup(const struct gdbcmd_name *tab, size_t count, const char *w, size_t n)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (n >= tab[i].min && n <= strlen(tab[i].name) && !strncasecmp(w, tab[i].name, n))
			return &tab[i];
	return NULL;
}

static void __attribute__((format(printf, 3, 4))) say(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!why || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

/* N bytes of S for a message, in BUF (SIZE > 3): printable ASCII (the rest as '?'), cut with "...". */
static const char *shown(const char *s, size_t n, char *buf, size_t size)
{
	size_t i, cut = n < size ? n : size - 4;

	for (i = 0; i < cut; i++)
		buf[i] = s[i] >= ' ' && s[i] < 0x7f ? s[i] : '?';
	if (cut < n)
		i += (size_t)snprintf(buf + i, size - i, "...");
	buf[i] = '\0';
	return buf;
}

/* Refuse the command typed as the N bytes at S. */
static enum srv_gdbcmd_kind not_allowed(const char *s, size_t n, char *why, size_t len)
{
	char buf[44];

	say(why, len, "'%s' is not allowed here: the gdb console runs only %s", shown(s, n, buf, sizeof(buf)),
	    allowed);
	return SRV_GDBCMD_REFUSED;
}

static size_t skip_blanks(const char *s, size_t i, size_t n)
{
	while (i < n && is_blank(s[i]))
		i++;
	return i;
}

/*
 * What follows command C's name in its line (the N bytes at S, the name
 * ending at ARG): info's subcommand, apply, or arguments.
 */
static enum srv_gdbcmd_kind check_args(const struct gdbcmd_name *c, const char *s, size_t n, size_t arg,
				       char *why, size_t len)
{
	size_t sub = skip_blanks(s, arg, n), sub_len;

	switch (c->args) {
	case ARGS_NONE:
		if (sub < n) {
			say(why, len, "'%s' takes no arguments here", c->name);
			return SRV_GDBCMD_REFUSED;
		}
		break;
	case ARGS_INFO:
		/* Bare "info" lists the subcommands; "info /x" is gdb's error, refused here. */
		if (sub == n)
			break;
		sub_len = name_len(s + sub, n - sub, 1);
		if (!lookup(info_subs, sizeof(info_subs) / sizeof(info_subs[0]), s + sub, sub_len))
			return not_allowed(s, sub + (sub_len ? sub_len : 1), why, len);
		break;
	case ARGS_NO_APPLY:
		/* Every abbreviation, "a" too: apply in thread, ambiguous with address in frame. */
		sub_len = name_len(s + sub, n - sub, 0);
		if (sub_len && sub_len <= 5 && !strncasecmp(s + sub, "apply", sub_len))
			return not_allowed(s, sub + sub_len, why, len);
		break;
	}
	return c->kind;
}

/*
 * A '$' token as gdb's C lexer reads it: letters, digits, '_', '$' and
 * bytes of UTF-8 names. The convenience variable it names is the token
 * without its first '$'.
 */
static size_t dollar_len(const char *s, size_t n)
{
	size_t i = 1;

	while (i < n && (is_ascii_alnum(s[i]) || s[i] == '_' || s[i] == '$' || (unsigned char)s[i] >= 0x80))
		i++;
	return i;
}

/*
 * gdb's own convenience functions (`help function`, gdb 13, and $_shell of
 * gdb 14). Naming one is enough to call it: "($_as_string)(x)", or after
 * "$f = $_shell", "($f)(...)"; so each is refused wherever it is named.
 */
static const char *const functions[] = {
	"_any_caller_is", "_any_caller_matches", "_as_string", "_caller_is", "_caller_matches", "_cimag",
	"_creal", "_gdb_maint_setting", "_gdb_maint_setting_str", "_gdb_setting", "_gdb_setting_str",
	"_isvoid", "_memeq", "_regex", "_shell", "_streq", "_strlen",
};

static int names_function(const char *tok, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(functions) / sizeof(functions[0]); i++)
		if (strlen(functions[i]) == n && !strncasecmp(tok, functions[i], n))
			return 1;
	return 0;
}

/*
 * Convenience functions anywhere in the line: the checks on commands cannot
 * see where an expression starts (up, list, x, info line take them too), and
 * one in a string literal or a thread's name is refused as well. Beside the
 * known names, any call "$name(" ("$1(" and "$(" call a value of the
 * history, which could hold one).
 */
static int calls_function(const char *s, size_t n, char *why, size_t len)
{
	char buf[44];
	size_t i, tok, j;

	for (i = 0; i < n; i++) {
		if (s[i] != '$')
			continue;
		tok = dollar_len(s + i, n - i);
		j = skip_blanks(s, i + tok, n);
		if (tok == 7 && !strncasecmp(s + i, "$_shell", tok)) {
			say(why, len, "'$_shell' runs a shell command: not allowed here");
			return 1;
		}
		if (j < n && s[j] == '(') {
			say(why, len, "'%s(' calls a gdb convenience function, which may run Python or a shell: "
				      "not allowed here", shown(s + i, tok, buf, sizeof(buf)));
			return 1;
		}
		if (names_function(s + i + 1, tok - 1)) {
			say(why, len, "'%s' is a gdb convenience function, which may run Python or a shell: "
				      "not allowed here", shown(s + i, tok, buf, sizeof(buf)));
			return 1;
		}
		/* Not skipped past the token: "$$_shell" is checked again from its second '$'. */
	}
	return 0;
}

/* Bytes that would end or split the MI command the line becomes. */
static int control_char(const char *s, size_t n, char *why, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			say(why, len, "control character 0x%02x at byte %zu: one command per line, no control "
				      "characters", c, i);
			return 1;
		}
	}
	return 0;
}

enum srv_gdbcmd_kind srv_gdbcmd_check(const char *line, char *why, size_t len)
{
	const struct gdbcmd_name *c;
	enum srv_gdbcmd_kind kind;
	size_t n, w;

	if (why && len)
		why[0] = '\0';
	if (!line)
		line = "";
	n = strnlen(line, SRV_GDBCMD_MAX + 1);
	if (n > SRV_GDBCMD_MAX) {
		say(why, len, "the line is longer than %d bytes", SRV_GDBCMD_MAX);
		return SRV_GDBCMD_REFUSED;
	}
	if (control_char(line, n, why, len))
		return SRV_GDBCMD_REFUSED;
	while (n > 0 && is_blank(line[n - 1]))
		n--;
	w = skip_blanks(line, 0, n);
	line += w;
	n -= w;
	if (!n) {
		say(why, len, "empty command");
		return SRV_GDBCMD_REFUSED;
	}

	w = name_len(line, n, 1);
	c = lookup(commands, sizeof(commands) / sizeof(commands[0]), line, w);
	if (!c)
		return not_allowed(line, w ? w : 1, why, len);
	kind = check_args(c, line, n, w, why, len);
	if (kind == SRV_GDBCMD_REFUSED || calls_function(line, n, why, len))
		return SRV_GDBCMD_REFUSED;
	return kind;
}

/* ---------------------------------------------------------------- inspect's operands */

/*
 * Words gdb's C parser turns into operators taking an expression (or a
 * type, or a template argument): a type or a symbol made of them would be
 * parsed as more than a name.
 */
static const char *const keywords[] = {
	"sizeof", "alignof", "_Alignof", "__alignof__", "typeof", "__typeof__", "__typeof", "decltype",
	"__decltype", "typeid", "operator", "new", "delete", "this", "template", "dynamic_cast",
	"static_cast", "reinterpret_cast", "const_cast", "true", "false",
};

static int is_keyword(const char *w, size_t n)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strlen(keywords[i]) == n && !strncmp(w, keywords[i], n))
			return 1;
	return 0;
}

static int is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/*
 * The identifier at S: letters, digits and '_', C++ scopes ("a::b") inside.
 * Its length, 0 when S does not start one, a part of it is one of the
 * keywords, or it is longer than SRV_GDBCMD_NAME_MAX (*TOO_LONG set then).
 */
static size_t ident_len(const char *s, int *too_long)
{
	size_t i = 0;

	*too_long = 0;
	for (;;) {
		size_t b = i;

		if (!is_ident_start(s[i]))
			return 0;
		while (is_ascii_alnum(s[i]) || s[i] == '_')
			i++;
		if (is_keyword(s + b, i - b)) /* "this::x" too */
			return 0;
		if (s[i] != ':' || s[i + 1] != ':' || !is_ident_start(s[i + 2]))
			break;
		i += 2;
	}
	if (i > SRV_GDBCMD_NAME_MAX) {
		*too_long = 1;
		return 0;
	}
	return i;
}

/* Append N bytes of S to CANON (at *AT, SIZE), a space first unless at the start. -1 when full. */
static int canon_add(char *canon, size_t size, size_t *at, const char *s, size_t n)
{
	size_t sep = *at ? 1 : 0;

	if (*at + sep + n + 1 > size)
		return -1;
	if (sep)
		canon[(*at)++] = ' ';
	memcpy(canon + *at, s, n);
	*at += n;
	canon[*at] = '\0';
	return 0;
}

/* The text shown in a refusal: printable ASCII, cut. */
#define SHOWN(s, buf) shown((s), strnlen((s), SRV_GDBCMD_MAX + 1), (buf), sizeof(buf))

enum srv_gdbcmd_addr_kind srv_gdbcmd_addr(const char *addr, uint64_t *value, char *canon, size_t canon_len,
					  char *why, size_t len)
{
	char buf[44];
	const char *s, *e;
	size_t n, i = 0, at = 0;
	unsigned long long v;
	char *end;
	int too_long;

	if (why && len)
		why[0] = '\0';
	if (canon && canon_len)
		canon[0] = '\0';
	if (!addr) {
		say(why, len, "no address");
		return SRV_GDBCMD_ADDR_REFUSED;
	}
	n = strnlen(addr, SRV_GDBCMD_MAX + 1);
	if (n > SRV_GDBCMD_MAX) {
		say(why, len, "the address is longer than %d bytes", SRV_GDBCMD_MAX);
		return SRV_GDBCMD_ADDR_REFUSED;
	}
	for (s = addr; is_blank(*s); s++)
		;
	for (e = addr + n; e > s && is_blank(e[-1]); e--)
		;
	n = (size_t)(e - s);
	if (n && s[0] >= '0' && s[0] <= '9') {
		/* strtoull alone would take a sign, blanks and "0x" with no digit: the digits are checked first */
		int hex = n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');

		for (i = hex ? 2 : 0; i < n; i++)
			if (!(hex ? ((s[i] >= '0' && s[i] <= '9') || ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f'))
				  : (s[i] >= '0' && s[i] <= '9')))
				break;
		errno = 0;
		v = strtoull(s, &end, 0);
		if (i == n && !errno && end == e) {
			if (value)
				*value = v;
			return SRV_GDBCMD_ADDR_NUMBER;
		}
		say(why, len, "'%s' is not an address: a number (0x hex, decimal) below 2^64, or a symbol's name",
		    SHOWN(addr, buf));
		return SRV_GDBCMD_ADDR_REFUSED;
	}
	i = n && s[0] == '&' ? 1 : 0;
	while (i < n && is_blank(s[i]))
		i++;
	if (i < n && ident_len(s + i, &too_long) == n - i && !is_keyword(s + i, n - i)) {
		if (!canon || canon_len < SRV_GDBCMD_CANON_MAX) {
			say(why, len, "no room for the symbol");
			return SRV_GDBCMD_ADDR_REFUSED;
		}
		if (s[0] == '&')
			canon_add(canon, canon_len, &at, "&", 1);
		memcpy(canon + at, s + i, n - i);
		canon[at + n - i] = '\0';
		return SRV_GDBCMD_ADDR_SYMBOL;
	}
	say(why, len, "'%s' is not an address: a number (0x hex, decimal) or a symbol's name (a C identifier, "
		      "'&' before it for its address); no expressions", SHOWN(addr, buf));
	return SRV_GDBCMD_ADDR_REFUSED;
}

int srv_gdbcmd_type(const char *type, char *canon, size_t canon_len, char *why, size_t len)
{
	enum { WORDS, STARS, ARRAYS } part = WORDS;
	char buf[44];
	const char *s;
	size_t at = 0, n, words = 0;
	int too_long, tagged = 0; /* after struct/union/enum: a tag must follow */

	if (why && len)
		why[0] = '\0';
	if (canon && canon_len)
		canon[0] = '\0';
	if (!type || !canon || canon_len < SRV_GDBCMD_CANON_MAX) {
		say(why, len, type ? "no room for the type" : "no type");
		return -1;
	}
	if (strnlen(type, SRV_GDBCMD_MAX + 1) > SRV_GDBCMD_MAX) {
		say(why, len, "the type is longer than %d bytes", SRV_GDBCMD_MAX);
		return -1;
	}
	for (s = type;;) {
		while (is_blank(*s))
			s++;
		if (!*s)
			break;
		if (is_ident_start(*s)) {
			n = ident_len(s, &too_long);
			if (!n || is_keyword(s, n))
				goto bad;
			if (part == STARS && !(n == 5 && !strncmp(s, "const", 5)) &&
			    !(n == 8 && !strncmp(s, "volatile", 8)))
				goto bad;
			if (part == ARRAYS)
				goto bad;
			if (part == WORDS)
				words++;
			tagged = part == WORDS && ((n == 6 && (!strncmp(s, "struct", 6))) ||
						   (n == 5 && !strncmp(s, "union", 5)) || (n == 4 && !strncmp(s, "enum", 4)));
		} else if (*s == '*') {
			if (!words || tagged || part == ARRAYS)
				goto bad;
			part = STARS;
			n = 1;
		} else if (*s == '[') {
			n = 1;
			while (s[n] >= '0' && s[n] <= '9' && n <= 11)
				n++;
			if (n == 1 || n > 11 || s[n] != ']' || !words || tagged)
				goto bad;
			n++;
			part = ARRAYS;
		} else {
			goto bad;
		}
		if (canon_add(canon, canon_len, &at, s, n) < 0) {
			canon[0] = '\0';
			say(why, len, "the type is too long");
			return -1;
		}
		s += n;
		if (n && is_ident_start(s[-1]) == 0 && (s[-1] < '0' || s[-1] > '9') && s[-1] != '_')
			continue;
		/* a word must end at a blank, '*', '[' or the end: "int$x" is no type */
		if (*s && !is_blank(*s) && *s != '*' && *s != '[')
			goto bad;
	}
	if (words && !tagged)
		return 0;
bad:
	canon[0] = '\0';
	say(why, len, "'%s' is not a C type name: words (int, unsigned long, struct foo, my_t), then '*'s, "
		      "then [N]s; no expressions", SHOWN(type, buf));
	return -1;
}
