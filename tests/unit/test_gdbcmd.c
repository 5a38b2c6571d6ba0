/*
 * Unit test for the gdb console's allowlist (server/gdbcmd.c).
 *
 * A table of console lines and the kind each must get, both ways: the
 * allowed commands under the abbreviations and aliases gdb 13 takes for them
 * (probed with `help ABBREV` in `gdb -nx`), and refused ones: commands that
 * run a shell, Python or scripts, write files or change the session, the
 * apply subcommands, abbreviations gdb finds ambiguous, convenience function
 * calls, control characters. Then the reasons given, the length limit, every
 * control byte, and that each command srv_gdbcmd_allowed() names is allowed.
 *
 * Exit status: 0 pass, 1 fail (one "FAIL file:line" line per failed check).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "gdbcmd.h"

#define REF SRV_GDBCMD_REFUSED
#define INS SRV_GDBCMD_INSPECT
#define RUN SRV_GDBCMD_RUN
#define CONT SRV_GDBCMD_CONTINUE
#define DET SRV_GDBCMD_DETACH

struct gdbcmd_case {
	const char *line;
	enum srv_gdbcmd_kind kind;
	const char *why; /* a refusal's reason must contain it (NULL: not checked) */
};

static const struct gdbcmd_case cases[] = {
	/* Inspection, with gdb's abbreviations and aliases. */
	{ "bt", INS, NULL },
	{ "backtrace", INS, NULL },
	{ "ba", INS, NULL },
	{ "back 3", INS, NULL },
	{ "bt full", INS, NULL },
	{ "bt -full", INS, NULL },
	{ "bt 5", INS, NULL },
	{ "bt -5", INS, NULL },
	{ "where", INS, NULL },
	{ "whe", INS, NULL },
	{ "  bt  ", INS, NULL },
	{ "\tbt\t", INS, NULL },
	{ "frame", INS, NULL },
	{ "f", INS, NULL },
	{ "fr", INS, NULL },
	{ "f 1", INS, NULL },
	{ "frame 2", INS, NULL },
	{ "frame function main", INS, NULL },
	{ "frame level 1", INS, NULL },
	{ "frame address 0x7ffc0000", INS, NULL },
	{ "frame /x", INS, NULL },
	{ "up", INS, NULL },
	{ "up 2", INS, NULL },
	{ "down", INS, NULL },
	{ "do", INS, NULL },
	{ "dow 1", INS, NULL },
	{ "print x", INS, NULL },
	{ "p x", INS, NULL },
	{ "p/x v", INS, NULL },
	{ "print/x v", INS, NULL },
	{ "p -pretty -- *s", INS, NULL },
	{ "p $rsp", INS, NULL },
	{ "print $rip", INS, NULL },
	{ "p $sp + 8", INS, NULL },
	{ "p $1", INS, NULL },
	{ "p $", INS, NULL },
	{ "p $$2", INS, NULL },
	{ "p $_siginfo", INS, NULL },
	{ "p arr[1]@3", INS, NULL },
	{ "p (char *)(p + 1)", INS, NULL },
	{ "p a || b", INS, NULL },
	{ "p \"a|b; shell\"", INS, NULL },
	{ "p \"\xc3\xa9t\xc3\xa9\"", INS, NULL },
	{ "inspect x", INS, NULL },
	{ "ins x", INS, NULL },
	{ "output x", INS, NULL },
	{ "ou x", INS, NULL },
	{ "x", INS, NULL },
	{ "x/4xg $sp", INS, NULL },
	{ "x/8xb p", INS, NULL },
	{ "x/s str", INS, NULL },
	{ "ptype x", INS, NULL },
	{ "ptype/o struct s", INS, NULL },
	{ "pt x", INS, NULL },
	{ "whatis x", INS, NULL },
	{ "wha x", INS, NULL },
	{ "list", INS, NULL },
	{ "l", INS, NULL },
	{ "li", INS, NULL },
	{ "list main", INS, NULL },
	{ "l 10,20", INS, NULL },
	{ "info", INS, NULL },
	{ "i", INS, NULL },
	{ "inf locals", INS, NULL },
	{ "info locals", INS, NULL },
	{ "i lo", INS, NULL },
	{ "info args", INS, NULL },
	{ "info ar", INS, NULL },
	{ "info frame", INS, NULL },
	{ "info f", INS, NULL },
	{ "i f", INS, NULL },
	{ "info registers", INS, NULL },
	{ "info reg", INS, NULL },
	{ "i r", INS, NULL },
	{ "i r rip rsp", INS, NULL },
	{ "info all-registers", INS, NULL },
	{ "info al", INS, NULL },
	{ "info threads", INS, NULL },
	{ "info th", INS, NULL },
	{ "info thread", INS, NULL },
	{ "info line", INS, NULL },
	{ "info li", INS, NULL },
	{ "info line *0x401000", INS, NULL },
	{ "info symbol 0x401000", INS, NULL },
	{ "info sy $pc", INS, NULL },
	{ "info source", INS, NULL },
	{ "info sharedlibrary", INS, NULL },
	{ "info sh", INS, NULL },
	{ "info shared", INS, NULL },
	{ "info dll", INS, NULL },
	{ "info\tlocals", INS, NULL },
	{ "thread", INS, NULL },
	{ "thread 2", INS, NULL },
	{ "thr 2", INS, NULL },
	{ "t 2", INS, NULL },
	{ "thread 1.2", INS, NULL },
	{ "thread name worker", INS, NULL },
	{ "thread find work", INS, NULL },
	/* gdb 13 is case-sensitive ("BT" is its error): folding only errs toward refusing. */
	{ "BT", INS, NULL },

	/* Resuming until the program stops again. */
	{ "finish", RUN, NULL },
	{ "fin", RUN, NULL },
	{ "fini", RUN, NULL },
	{ "next", RUN, NULL },
	{ "n", RUN, NULL },
	{ "n 3", RUN, NULL },
	{ "step", RUN, NULL },
	{ "s", RUN, NULL },
	{ "nexti", RUN, NULL },
	{ "ni", RUN, NULL },
	{ "stepi", RUN, NULL },
	{ "si", RUN, NULL },
	{ "si 4", RUN, NULL },
	{ "until", RUN, NULL },
	{ "u", RUN, NULL },
	{ "unt 42", RUN, NULL },
	{ "advance 42", RUN, NULL },
	{ "adv main", RUN, NULL },

	/* Leaving the console. */
	{ "continue", CONT, NULL },
	{ "cont", CONT, NULL },
	{ "c", CONT, NULL },
	{ " c ", CONT, NULL },
	{ "fg", CONT, NULL },
	{ "detach", DET, NULL },
	{ "det", DET, NULL },
	{ "detach \t", DET, NULL },
	{ "continue 3", REF, "'continue' takes no arguments" },
	{ "c -a", REF, "takes no arguments" },
	{ "detach inferiors 1", REF, "'detach' takes no arguments" },
	{ "det checkpoint 1", REF, "takes no arguments" },

	/* Empty. */
	{ "", REF, "empty command" },
	{ "   ", REF, "empty command" },
	{ " \t ", REF, "empty command" },

	/* Shells, pipes, Python, Guile, scripts, files. */
	{ "shell ls", REF, "'shell' is not allowed here: the gdb console runs only bt, frame, up, down" },
	{ "shell", REF, "'shell' is not allowed" },
	{ "SHELL ls", REF, "'SHELL' is not allowed" },
	{ "!ls", REF, "'!' is not allowed" },
	{ "! ls", REF, "'!' is not allowed" },
	{ "|bt", REF, "'|' is not allowed" },
	{ "| bt | cat", REF, "'|' is not allowed" },
	{ "pipe bt | cat", REF, "'pipe' is not allowed" },
	{ "python print(1)", REF, "'python' is not allowed" },
	{ "py print(1)", REF, "'py' is not allowed" },
	{ "pi", REF, "'pi' is not allowed" },
	{ "python-interactive", REF, "'python-interactive' is not allowed" },
	{ "guile (display 1)", REF, "'guile' is not allowed" },
	{ "gu (display 1)", REF, NULL },
	{ "source /tmp/x", REF, "'source' is not allowed" },
	{ "so /tmp/x", REF, NULL },
	{ "dump memory /tmp/x 0 1", REF, "'dump' is not allowed" },
	{ "append memory /tmp/x 0 1", REF, NULL },
	{ "restore /tmp/x", REF, NULL },
	{ "generate-core-file /tmp/c", REF, NULL },
	{ "gcore /tmp/c", REF, NULL },
	{ "save breakpoints /tmp/b", REF, NULL },
	{ "cd /", REF, NULL },
	{ "make", REF, NULL },
	{ "compile code 1", REF, NULL },
	{ "jit-reader-load /tmp/x.so", REF, NULL },
	{ "add-auto-load-safe-path /", REF, NULL },

	/* Changing the session, the target or gdb itself. */
	{ "set var x=1", REF, "'set' is not allowed" },
	{ "set x = 1", REF, NULL },
	{ "set may-call-functions on", REF, NULL },
	{ "call f()", REF, "'call' is not allowed" },
	{ "run", REF, NULL },
	{ "r", REF, NULL },
	{ "start", REF, NULL },
	{ "starti", REF, NULL },
	{ "kill", REF, NULL },
	{ "k", REF, NULL },
	{ "attach 1", REF, NULL },
	{ "target remote :1234", REF, NULL },
	{ "file /bin/ls", REF, NULL },
	{ "core /tmp/core", REF, NULL },
	{ "core-file /tmp/core", REF, NULL },
	{ "define foo", REF, NULL },
	{ "document foo", REF, NULL },
	{ "eval \"shell %s\", \"ls\"", REF, "'eval' is not allowed" },
	{ "interpreter-exec mi \"-gdb-exit\"", REF, NULL },
	{ "tbreak main", REF, NULL },
	{ "break main", REF, NULL },
	{ "b main", REF, NULL },
	{ "echo hi", REF, NULL },
	{ "with print pretty -- p x", REF, NULL },
	{ "w print pretty -- p x", REF, NULL },
	{ "alias foo = bt", REF, NULL },
	{ "maint info sections", REF, NULL },
	{ "maintenance info sections", REF, NULL },
	{ "mt info sections", REF, NULL },
	{ "monitor exit", REF, NULL },
	{ "jump 42", REF, NULL },
	{ "return", REF, NULL },
	{ "signal SIGKILL", REF, NULL },
	{ "quit", REF, NULL },
	{ "q", REF, NULL },
	{ "up-silently", REF, NULL },
	{ "select-frame 1", REF, NULL },

	/* The apply subcommands, under every spelling gdb takes. */
	{ "frame apply all p 1", REF, "'frame apply' is not allowed" },
	{ "f apply all p 1", REF, "'f apply' is not allowed" },
	{ "frame ap all shell id", REF, NULL },
	{ "frame a all p 1", REF, NULL },
	{ "FRAME APPLY all p 1", REF, NULL },
	{ "frame\tapply all p 1", REF, NULL },
	{ "frame  apply all p 1", REF, NULL },
	{ "frame ap.x all p 1", REF, NULL },
	{ "faas p 1", REF, NULL },
	{ "tfaas p 1", REF, NULL },
	{ "thread apply all bt", REF, "'thread apply' is not allowed" },
	{ "thread apply 1 shell id", REF, NULL },
	{ "t a all bt", REF, "'t a' is not allowed" },
	{ "thr ap 1 bt", REF, NULL },
	{ "t APPLY all bt", REF, NULL },
	{ "taas bt", REF, NULL },

	/* info: only the listed subcommands. */
	{ "info proc", REF, "'info proc' is not allowed" },
	{ "info proc mappings", REF, NULL },
	{ "i proc", REF, "'i proc' is not allowed" },
	{ "info s", REF, NULL },         /* info stack in gdb */
	{ "info stack", REF, NULL },
	{ "info fr", REF, NULL },        /* frame or frame-filter */
	{ "info frame-filter", REF, NULL },
	{ "info pretty-printer", REF, NULL },
	{ "info auto-load", REF, NULL },
	{ "info files", REF, NULL },
	{ "info re", REF, NULL },        /* ambiguous in gdb */
	{ "info so", REF, NULL },
	{ "info l", REF, NULL },
	{ "info reg.x", REF, NULL },
	{ "info /x", REF, "'info /' is not allowed" },
	{ "in locals", REF, NULL },      /* ambiguous in gdb */

	/* Abbreviations gdb finds ambiguous or another command's, and odd names. */
	{ "pr x", REF, NULL },
	{ "pri x", REF, NULL },
	{ "ne", REF, NULL },
	{ "nex", REF, NULL },
	{ "st", REF, NULL },
	{ "ste", REF, NULL },
	{ "th", REF, NULL },
	{ "co", REF, NULL },
	{ "con", REF, NULL },
	{ "d", REF, NULL },
	{ "de", REF, NULL },
	{ "w", REF, NULL },
	{ "wh", REF, NULL },
	{ "fi", REF, NULL },
	{ "a", REF, NULL },
	{ "ad", REF, NULL },
	{ "o x", REF, NULL },
	{ "bt.x", REF, "'bt.x' is not allowed" },
	{ "p.x", REF, NULL },
	{ "bt-full", REF, NULL },
	{ "n5", REF, NULL },
	{ "# a comment", REF, "'#' is not allowed" },
	{ "$x", REF, "'$' is not allowed" },
	{ "/x", REF, NULL },
	{ "(bt)", REF, NULL },

	/* Convenience functions: Python, or a shell with $_shell (gdb 14). */
	{ "print $_shell(\"id\")", REF, "'$_shell' runs a shell command" },
	{ "p $_SHELL(\"id\")", REF, "'$_shell' runs a shell command" },
	{ "p ($_shell)(\"id\")", REF, "$_shell" },
	{ "p $f = $_shell", REF, "$_shell" },
	{ "x/s $_shell", REF, "$_shell" },
	{ "thread name $_shell", REF, "$_shell" },
	{ "p $_as_string(x)", REF, "'$_as_string(' calls a gdb convenience function" },
	{ "p $_streq (a, \"b\")", REF, "'$_streq(' calls" },
	{ "p $_strlen\t(s)", REF, NULL },
	{ "p 1 + $_regex(s, \"x\")", REF, NULL },
	{ "p $f(1)", REF, "'$f(' calls" },
	{ "p $1(2)", REF, "'$1(' calls" },
	{ "p $(1)", REF, "'$(' calls" },
	{ "p $$2 (1)", REF, "'$$2(' calls" },
	{ "p $a$b(1)", REF, NULL },
	{ "p $\xc3\xa9(1)", REF, NULL },
	{ "up $_any_caller_matches(\"x\")", REF, NULL },
	{ "list *$_as_string(x)", REF, NULL },
	{ "info line *$_shell(\"x\")", REF, NULL },
	{ "n $_isvoid($x)", REF, NULL },
	/* Named without "(", a function is called through parentheses or a copy. */
	{ "p ($_isvoid)(1)", REF, "'$_isvoid' is a gdb convenience function" },
	{ "p $f = $_as_string", REF, "'$_as_string' is a gdb convenience function" },
	{ "p (1 ? $_streq : 0)(a, b)", REF, NULL },
	{ "p $_GDB_SETTING_STR", REF, NULL },
	{ "p $_isvoid_not", INS, NULL },
	{ "p $x_isvoid", INS, NULL },
	{ "p $_exitcode", INS, NULL },

	/* Control characters: the line becomes one MI command. */
	{ "p 1\nshell id", REF, "control character 0x0a at byte 3" },
	{ "p 1\rshell id", REF, "control character 0x0d" },
	{ "bt\n", REF, "control character 0x0a" },
	{ "\nbt", REF, NULL },
	{ "p \x1b[2J", REF, NULL },
	{ "p 1\x7f", REF, "control character 0x7f" },
	{ "p\v1", REF, NULL },
	{ "p 1\f", REF, NULL },
	{ "\x01", REF, NULL },
	{ "p\t1", INS, NULL },
};

static const char *kind_name(enum srv_gdbcmd_kind k)
{
	switch (k) {
	case SRV_GDBCMD_REFUSED:
		return "REFUSED";
	case SRV_GDBCMD_INSPECT:
		return "INSPECT";
	case SRV_GDBCMD_RUN:
		return "RUN";
	case SRV_GDBCMD_CONTINUE:
		return "CONTINUE";
	case SRV_GDBCMD_DETACH:
		return "DETACH";
	}
	return "?";
}

static int printable(const char *s)
{
	for (; *s; s++)
		if (*s < ' ' || *s >= 0x7f)
			return 0;
	return 1;
}

/* Check LINE's kind and reason; WANT_WHY (may be NULL) is part of a refusal's reason. */
static void expect_at(int line, const char *s, enum srv_gdbcmd_kind want, const char *want_why)
{
	char why[1024] = "not written";
	enum srv_gdbcmd_kind k = srv_gdbcmd_check(s, why, sizeof(why));

	check_at(k == want, __FILE__, line, "\"%s\": %s, expected %s (why: %s)", check_show(s), kind_name(k),
		 kind_name(want), why);
	if (k == SRV_GDBCMD_REFUSED) {
		check_at(why[0] && printable(why), __FILE__, line, "\"%s\": no printable reason: \"%s\"", check_show(s),
			 check_show(why));
		if (want_why)
			check_at(strstr(why, want_why) != NULL, __FILE__, line, "\"%s\": reason \"%s\" lacks \"%s\"",
				 check_show(s), why, want_why);
	} else {
		check_at(why[0] == '\0', __FILE__, line, "\"%s\" allowed, but the reason is \"%s\"", check_show(s), why);
	}
}

#define EXPECT(s, want, why) expect_at(__LINE__, s, want, why)

static void test_table(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_at(__LINE__, cases[i].line, cases[i].kind, cases[i].why);
	EXPECT(NULL, REF, "empty command");
}

/* A refusal names the command and what is allowed, from srv_gdbcmd_allowed(). */
static void test_reasons(void)
{
	char why[1024], small[8], line[1024];
	const char *allowed = srv_gdbcmd_allowed();

	CHECK(srv_gdbcmd_check("shell ls", why, sizeof(why)) == REF, "shell ls allowed");
	snprintf(line, sizeof(line), "'shell' is not allowed here: the gdb console runs only %s", allowed);
	CHECK(!strcmp(why, line), "reason \"%s\"", why);

	/* Cut to fit, always terminated; NULL or 0 bytes: nothing written. */
	memset(small, 'z', sizeof(small));
	CHECK(srv_gdbcmd_check("shell ls", small, sizeof(small)) == REF, "shell ls allowed");
	CHECK(!strcmp(small, "'shell'"), "cut reason \"%s\"", check_show(small));
	memset(small, 'z', sizeof(small));
	CHECK(srv_gdbcmd_check("shell ls", small, 1) == REF && small[0] == '\0' && small[1] == 'z',
	      "a 1-byte reason buffer");
	memset(small, 'z', sizeof(small));
	CHECK(srv_gdbcmd_check("shell ls", small, 0) == REF && small[0] == 'z', "a 0-byte reason buffer written");
	CHECK(srv_gdbcmd_check("shell ls", NULL, 100) == REF, "shell ls allowed without a reason buffer");
	CHECK(srv_gdbcmd_check("bt", NULL, 0) == INS, "bt refused without a reason buffer");

	/* A long or binary name is shown cut and printable. */
	memset(line, 'a', 100);
	line[100] = '\0';
	CHECK(srv_gdbcmd_check(line, why, sizeof(why)) == REF && strstr(why, "...' is not allowed") &&
	      strlen(why) <= 100 + strlen(allowed), "long name: \"%s\"", why);
	CHECK(srv_gdbcmd_check("\xff\xfe ls", why, sizeof(why)) == REF && printable(why) &&
	      !strncmp(why, "'?' is not allowed", 18), "binary name: \"%s\"", check_show(why));
}

/* SRV_GDBCMD_MAX bytes pass, one more does not, blanks included. */
static void test_length(void)
{
	static char line[SRV_GDBCMD_MAX + 2];
	char why[256];

	memset(line, 'x', sizeof(line) - 1);
	memcpy(line, "p ", 2);
	line[SRV_GDBCMD_MAX] = '\0';
	CHECK(srv_gdbcmd_check(line, why, sizeof(why)) == INS, "%d bytes: %s", SRV_GDBCMD_MAX, why);
	line[SRV_GDBCMD_MAX] = 'x';
	line[SRV_GDBCMD_MAX + 1] = '\0';
	CHECK(srv_gdbcmd_check(line, why, sizeof(why)) == REF && strstr(why, "longer than 1024 bytes"),
	      "%d bytes: %s", SRV_GDBCMD_MAX + 1, why);
	memset(line, ' ', sizeof(line) - 1);
	memcpy(line, "bt", 2);
	CHECK(srv_gdbcmd_check(line, why, sizeof(why)) == REF, "bt and %d blanks allowed", SRV_GDBCMD_MAX - 1);
}

static void expect_byte(int c, const char *line, enum srv_gdbcmd_kind want)
{
	char why[256];

	CHECK(srv_gdbcmd_check(line, why, sizeof(why)) == want, "byte 0x%02x in \"%s\": %s", c, check_show(line), why);
}

/* Every control byte, anywhere; tab and bytes from 0x80 up are not control bytes. */
static void test_control_bytes(void)
{
	char first[8], middle[8], last[8];
	int c;

	for (c = 1; c < 0x100; c++) {
		enum srv_gdbcmd_kind want = (c < 0x20 && c != '\t') || c == 0x7f ? REF : INS;

		snprintf(first, sizeof(first), "%cp 1", c);
		snprintf(middle, sizeof(middle), "p %c1", c);
		snprintf(last, sizeof(last), "p 1%c", c);
		/* Any other byte first is a command name of its own. */
		if (want == REF)
			expect_byte(c, first, want);
		expect_byte(c, middle, want);
		expect_byte(c, last, want);
	}
}

/* Each command of srv_gdbcmd_allowed() is allowed as written there. */
static void test_allowed_list(void)
{
	char list[512], line[64], why[256];
	char *item, *save, *sub, *save_sub;
	int n = 0;

	snprintf(list, sizeof(list), "%s", srv_gdbcmd_allowed());
	for (item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		item += strspn(item, " ");
		if (strncmp(item, "info ", 5)) {
			n++;
			CHECK(srv_gdbcmd_check(item, why, sizeof(why)) != REF, "\"%s\" refused: %s", item, why);
			continue;
		}
		for (sub = strtok_r(item + 5, "/", &save_sub); sub; sub = strtok_r(NULL, "/", &save_sub)) {
			n++;
			snprintf(line, sizeof(line), "info %s", sub);
			CHECK(srv_gdbcmd_check(line, why, sizeof(why)) == INS, "\"%s\" refused: %s", line, why);
		}
	}
	CHECK(n == 30, "srv_gdbcmd_allowed() names %d commands: %s", n, srv_gdbcmd_allowed());
}

/* inspect's operands (srv_gdbcmd_addr, srv_gdbcmd_type): what passes, its canonical text, what is refused. */
struct operand_case {
	const char *in;
	int ok;
	const char *canon; /* a symbol's or a type's canonical text; a number's value in hex for addresses */
};

static const struct operand_case addrs[] = {
	{ "0x10", 1, "10" },
	{ " 0x7ffd1234abcd\t", 1, "7ffd1234abcd" },
	{ "4096", 1, "1000" },
	{ "0xffffffffffffffff", 1, "ffffffffffffffff" },
	{ "items", 1, "items" },
	{ "&core_global", 1, "&core_global" },
	{ "& core_global", 1, "&core_global" },
	{ "ns::var", 1, "ns::var" },
	{ "_x9", 1, "_x9" },
	{ "0x10000000000000000", 0, NULL },
	{ "0x", 0, NULL },
	{ "-1", 0, NULL },
	{ "+1", 0, NULL },
	{ "0x10 + 1", 0, NULL },
	{ "12abc", 0, NULL },
	{ "$_strlen(\"abcdefghijklmnopq\")", 0, NULL },
	{ "$_shell(\"id\")", 0, NULL },
	{ "$pc", 0, NULL },
	{ "$1", 0, NULL },
	{ "items[0]", 0, NULL },
	{ "*items", 0, NULL },
	{ "&&x", 0, NULL },
	{ "f()", 0, NULL },
	{ "a = 1", 0, NULL },
	{ "sizeof", 0, NULL },
	{ "a::", 0, NULL },
	{ "::a", 0, NULL },
	{ "a:b", 0, NULL },
	{ "x\ny", 0, NULL },
	{ "", 0, NULL },
	{ "&", 0, NULL },
	{ "'file.c'::x", 0, NULL },
	{ "x@2", 0, NULL },
};

static const struct operand_case types[] = {
	{ "int", 1, "int" },
	{ "struct core_item", 1, "struct core_item" },
	{ "  struct   core_item  ", 1, "struct core_item" },
	{ "unsigned long long", 1, "unsigned long long" },
	{ "char *", 1, "char *" },
	{ "char**", 1, "char * *" },
	{ "char * const *", 1, "char * const *" },
	{ "const char *volatile", 1, "const char * volatile" },
	{ "int [4]", 1, "int [4]" },
	{ "struct foo *[2][3]", 1, "struct foo * [2] [3]" },
	{ "union u", 1, "union u" },
	{ "enum e", 1, "enum e" },
	{ "std::string", 1, "std::string" },
	{ "my_t", 1, "my_t" },
	{ "", 0, NULL },
	{ "*", 0, NULL },
	{ "struct", 0, NULL },
	{ "struct *", 0, NULL },
	{ "int) 0 + $_strlen(\"x\"", 0, NULL },
	{ "int)0;(char", 0, NULL },
	{ "$_shell", 0, NULL },
	{ "typeof(x)", 0, NULL },
	{ "typeof x", 0, NULL },
	{ "sizeof", 0, NULL },
	{ "int [x]", 0, NULL },
	{ "int []", 0, NULL },
	{ "int [12345678901]", 0, NULL },
	{ "int [4] *", 0, NULL },
	{ "int * x", 0, NULL },
	{ "int$x", 0, NULL },
	{ "int\t\n", 0, NULL },
	{ "vector<int>", 0, NULL },
	{ "int (*)[4]", 0, NULL },
	{ "int, char", 0, NULL },
	{ "'int'", 0, NULL },
};

static void test_operands(void)
{
	char canon[SRV_GDBCMD_CANON_MAX], why[300], hex[32];
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		enum srv_gdbcmd_addr_kind k = srv_gdbcmd_addr(addrs[i].in, &v, canon, sizeof(canon), why, sizeof(why));

		CHECK((k != SRV_GDBCMD_ADDR_REFUSED) == addrs[i].ok, "addr '%s': %s", addrs[i].in,
		      addrs[i].ok ? "refused" : "passed");
		if (k == SRV_GDBCMD_ADDR_REFUSED) {
			CHECK(strstr(why, "is not an address") || strstr(why, "no address"), "addr '%s': why '%s'",
			      addrs[i].in, why);
			continue;
		}
		snprintf(hex, sizeof(hex), "%llx", (unsigned long long)v);
		if (addrs[i].ok)
			CHECK(!strcmp(k == SRV_GDBCMD_ADDR_NUMBER ? hex : canon, addrs[i].canon),
			      "addr '%s': '%s', want '%s'", addrs[i].in, k == SRV_GDBCMD_ADDR_NUMBER ? hex : canon,
			      addrs[i].canon);
	}
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		int r = srv_gdbcmd_type(types[i].in, canon, sizeof(canon), why, sizeof(why));

		CHECK((r == 0) == types[i].ok, "type '%s': %s", types[i].in, types[i].ok ? "refused" : "passed");
		if (r == 0 && types[i].ok)
			CHECK(!strcmp(canon, types[i].canon), "type '%s': '%s', want '%s'", types[i].in, canon,
			      types[i].canon);
		if (r < 0)
			CHECK(strstr(why, "not a C type name") && !canon[0], "type '%s': why '%s'", types[i].in, why);
	}
	CHECK(srv_gdbcmd_addr(NULL, &v, canon, sizeof(canon), why, sizeof(why)) == SRV_GDBCMD_ADDR_REFUSED,
	      "addr NULL passed");
	CHECK(srv_gdbcmd_type(NULL, canon, sizeof(canon), why, sizeof(why)) < 0, "type NULL passed");
	CHECK(srv_gdbcmd_type("int", canon, 8, why, sizeof(why)) < 0, "type with a small buffer passed");
	memset(canon, 'a', SRV_GDBCMD_NAME_MAX + 1);
	canon[SRV_GDBCMD_NAME_MAX + 1] = '\0';
	{
		char in[SRV_GDBCMD_CANON_MAX], out[SRV_GDBCMD_CANON_MAX];

		snprintf(in, sizeof(in), "%s", canon);
		CHECK(srv_gdbcmd_addr(in, &v, out, sizeof(out), why, sizeof(why)) == SRV_GDBCMD_ADDR_REFUSED,
		      "a %d-byte symbol passed", SRV_GDBCMD_NAME_MAX + 1);
		in[SRV_GDBCMD_NAME_MAX] = '\0';
		CHECK(srv_gdbcmd_addr(in, &v, out, sizeof(out), why, sizeof(why)) == SRV_GDBCMD_ADDR_SYMBOL,
		      "a %d-byte symbol refused", SRV_GDBCMD_NAME_MAX);
	}
}

int main(void)
{
	test_table();
	test_reasons();
	test_length();
	test_control_bytes();
	test_allowed_list();
	test_operands();

	return check_done();
}
