/*
 * Unit test for the GDB/MI output parser (mi/parse.c, mi/value.c): one
 * group of checks per rule of the output grammar (result, async and stream
 * records, tokens, the prompt, tuples, lists of values and of results,
 * nameless values), the line splitter (LF, CR, CR LF, split anywhere,
 * 10 MB lines), garbage (an error record with its column, and the next line
 * parsed), nesting a million deep, and path lookups.
 *
 * The lines here are written by hand; tests/mi-fixtures holds what gdb
 * really prints (test_mi_fixtures.c).
 *
 * Exit status: 0 pass, 1 fail (one "FAIL" line per failed check), 99 broken.
 */
#include "../../mi/gdbmi.h"
#include "../../mi/push_pieces.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

/* ---------------------------------------------------------------- harness */

struct collected {
	struct gdbmi_record **rec;
	size_t n, cap;
};

static void collect(void *ctx, struct gdbmi_record *rec)
{
	struct collected *c = ctx;

	c->rec = check_grow(c->rec, c->n, &c->cap, 16, sizeof(*c->rec));
	c->rec[c->n++] = rec;
}

static void release(struct collected *c)
{
	for (size_t i = 0; i < c->n; i++)
		gdbmi_record_free(c->rec[i]);
	free(c->rec);
	memset(c, 0, sizeof(*c));
}

/* Push TEXT in chunks of CHUNK bytes (0: all at once), then finish. */
static void feed(struct collected *c, const char *text, size_t len, size_t chunk)
{
	struct gdbmi_parser *p = gdbmi_parser_new(collect, c);

	if (!p)
		broken("gdbmi_parser_new");
	if (!chunk)
		chunk = len ? len : 1;
	for (size_t at = 0; at < len; at += chunk)
		CHECK(gdbmi_parser_push(p, text + at, len - at < chunk ? len - at : chunk) == GDBMI_OK,
		      "push");
	CHECK(gdbmi_parser_finish(p) == GDBMI_OK, "finish");
	gdbmi_parser_free(p);
}

/* One line, parsed alone. */
static struct gdbmi_record *line(const char *s)
{
	struct gdbmi_record *r = gdbmi_parse_line(s, strlen(s));

	if (!r)
		broken("gdbmi_parse_line");
	return r;
}

/* LINE must be a parse error at COLUMN. */
static void bad(const char *s, size_t column)
{
	struct gdbmi_record *r = line(s);

	CHECK(r->type == GDBMI_PARSE_ERROR, "'%s' is not an error", s);
	CHECK(r->column == column, "'%s': column %zu, want %zu (%s)", s, r->column, column,
	      r->text ? r->text : "");
	CHECK(r->text && r->text[0], "'%s': no message", s);
	CHECK(r->line_len == strlen(s) && memcmp(r->line, s, r->line_len) == 0,
	      "'%s': the raw line is not kept", s);
	gdbmi_record_free(r);
}

static const char *str(const struct gdbmi_record *r, const char *path)
{
	const char *s = gdbmi_get_str(r->results, path);

	return s ? s : "(absent)";
}

/* ---------------------------------------------------------------- result records */

static void test_result_classes(void)
{
	static const struct {
		const char *text;
		enum gdbmi_rclass rclass;
		const char *cls;
	} cases[] = {
		{ "^done", GDBMI_DONE, "done" },	     { "^running", GDBMI_RUNNING, "running" },
		{ "^connected", GDBMI_CONNECTED, "connected" }, { "^error,msg=\"x\"", GDBMI_ERROR, "error" },
		{ "^exit", GDBMI_EXIT, "exit" },	     { "^future-class", GDBMI_CLASS_OTHER, "future-class" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gdbmi_record *r = line(cases[i].text);

		CHECK(r->type == GDBMI_RESULT, "%s: type %d", cases[i].text, r->type);
		CHECK(r->rclass == cases[i].rclass, "%s: class %d", cases[i].text, r->rclass);
		CHECK(strcmp(r->cls, cases[i].cls) == 0, "%s: cls '%s'", cases[i].text, r->cls);
		CHECK(!r->has_token, "%s: token", cases[i].text);
		CHECK(r->results && r->results->kind == GDBMI_TUPLE, "%s: results", cases[i].text);
		CHECK(gdbmi_is(r, GDBMI_RESULT, cases[i].cls), "%s: gdbmi_is", cases[i].text);
		gdbmi_record_free(r);
	}
}

static void test_result_results(void)
{
	struct gdbmi_record *r = line("^done,value=\"42\",frame={func=\"main\",line=\"7\"}");

	CHECK(r->results->n == 2, "two results, got %zu", r->results->n);
	CHECK(strcmp(str(r, "value"), "42") == 0, "value");
	CHECK(strcmp(str(r, "frame.func"), "main") == 0, "frame.func");
	CHECK(gdbmi_record_get(r, "frame")->kind == GDBMI_TUPLE, "frame is a tuple");
	gdbmi_record_free(r);

	r = line("^error,msg=\"Undefined MI command: foo\",code=\"undefined-command\"");
	CHECK(strcmp(gdbmi_error_msg(r), "Undefined MI command: foo") == 0, "error msg");
	CHECK(strcmp(str(r, "code"), "undefined-command") == 0, "error code");
	gdbmi_record_free(r);
	r = line("^done");
	CHECK(r->results->n == 0 && strcmp(gdbmi_error_msg(r), "") == 0, "no msg in ^done");
	gdbmi_record_free(r);
}

static void test_tokens(void)
{
	struct gdbmi_record *r = line("12^done");

	CHECK(r->has_token && r->token == 12, "token 12");
	gdbmi_record_free(r);
	r = line("0^running");
	CHECK(r->has_token && r->token == 0, "token 0");
	gdbmi_record_free(r);
	r = line("18446744073709551615^done");
	CHECK(r->type == GDBMI_RESULT && r->token == 18446744073709551615ull, "largest token");
	gdbmi_record_free(r);
	bad("18446744073709551616^done", 20);
	r = line("7*stopped,reason=\"signal-received\"");
	CHECK(r->type == GDBMI_EXEC && r->has_token && r->token == 7, "token on an async record");
	gdbmi_record_free(r);
	r = line("5=thread-created,id=\"1\"");
	CHECK(r->type == GDBMI_NOTIFY && r->token == 5, "token on a notify record");
	gdbmi_record_free(r);
	bad("12", 3);
	bad("12x", 3);
	bad("3~\"text\"", 2);
	bad("3(gdb) ", 2);
}

/* ---------------------------------------------------------------- async records */

static void test_async(void)
{
	struct gdbmi_record *r = line("*stopped,reason=\"breakpoint-hit\",bkptno=\"1\",frame={addr=\"0x1\"}");

	CHECK(r->type == GDBMI_EXEC && strcmp(r->cls, "stopped") == 0, "exec stopped");
	CHECK(r->rclass == GDBMI_CLASS_NONE, "async records have no result class");
	CHECK(strcmp(str(r, "reason"), "breakpoint-hit") == 0, "reason");
	CHECK(gdbmi_is(r, GDBMI_EXEC, "stopped") && !gdbmi_is(r, GDBMI_EXEC, "running"), "gdbmi_is");
	gdbmi_record_free(r);
	r = line("*running,thread-id=\"all\"");
	CHECK(r->type == GDBMI_EXEC && strcmp(str(r, "thread-id"), "all") == 0, "exec running");
	gdbmi_record_free(r);
	r = line("+download,section=\".text\",section-size=\"6668\",total-size=\"9880\"");
	CHECK(r->type == GDBMI_STATUS && strcmp(r->cls, "download") == 0, "status record");
	CHECK(strcmp(str(r, "section-size"), "6668") == 0, "status results");
	gdbmi_record_free(r);
	r = line("=thread-group-added,id=\"i1\"");
	CHECK(r->type == GDBMI_NOTIFY && strcmp(str(r, "id"), "i1") == 0, "notify record");
	gdbmi_record_free(r);
	/* Async records without results happen (code-debug#339). */
	r = line("*stopped");
	CHECK(r->type == GDBMI_EXEC && r->results && r->results->n == 0, "async without results");
	gdbmi_record_free(r);
	bad("*", 2);
	bad("=,id=\"1\"", 2);
	bad("*stopped reason", 9);
	bad("*stopped,", 10);
}

/* ---------------------------------------------------------------- stream records */

static void test_streams(void)
{
	static const struct {
		const char *text;
		enum gdbmi_rtype type;
	} cases[] = {
		{ "~\"console\\n\"", GDBMI_CONSOLE },
		{ "@\"console\\n\"", GDBMI_TARGET },
		{ "&\"console\\n\"", GDBMI_LOG },
	};
	struct gdbmi_record *r;

	for (size_t i = 0; i < 3; i++) {
		r = line(cases[i].text);
		CHECK(r->type == cases[i].type, "%s: type %d", cases[i].text, r->type);
		CHECK(r->text_len == 8 && memcmp(r->text, "console\n", 9) == 0, "%s: text", cases[i].text);
		CHECK(r->results == NULL && strcmp(r->cls, "") == 0, "%s: no class or results",
		      cases[i].text);
		gdbmi_record_free(r);
	}
	r = line("~\"a\\000b\\\"c\\\\\"");
	CHECK(r->text_len == 6 && memcmp(r->text, "a\0b\"c\\", 7) == 0, "NUL and escapes in a stream");
	gdbmi_record_free(r);
	r = line("~\"\"");
	CHECK(r->type == GDBMI_CONSOLE && r->text_len == 0 && r->text[0] == '\0', "empty stream");
	gdbmi_record_free(r);
	bad("~text", 2);
	bad("~\"unterminated", 15);
	bad("~\"a\" b", 5);
	bad("~\"bad \\q escape\"", 7);
	bad("~\"x\",y=\"1\"", 5);
}

/* ---------------------------------------------------------------- prompt */

static void test_prompt(void)
{
	struct gdbmi_record *r = line("(gdb) ");

	CHECK(r->type == GDBMI_PROMPT, "prompt with its space");
	gdbmi_record_free(r);
	r = line("(gdb)");
	CHECK(r->type == GDBMI_PROMPT, "prompt without the space");
	gdbmi_record_free(r);
	bad("(gdb) x", 7);
	bad("(lldb) ", 1);
	bad("(gd", 1);
}

/* ---------------------------------------------------------------- tuples and lists */

static void test_tuples(void)
{
	struct gdbmi_record *r = line("^done,a={},b={x=\"1\",y={z=\"2\"}},c={x=\"3\",x=\"4\"}");
	const struct gdbmi_value *v;

	v = gdbmi_record_get(r, "a");
	CHECK(v && v->kind == GDBMI_TUPLE && v->n == 0 && strcmp(v->name, "a") == 0, "empty tuple");
	CHECK(strcmp(str(r, "b.x"), "1") == 0 && strcmp(str(r, "b.y.z"), "2") == 0, "nested tuples");
	/* Keys may repeat: a name lookup finds the first, indexes find each. */
	CHECK(strcmp(str(r, "c.x"), "3") == 0 && strcmp(str(r, "c[1]"), "4") == 0, "repeated keys");
	gdbmi_record_free(r);
	bad("^done,a={", 10);
	bad("^done,a={x=\"1\"", 15);
	bad("^done,a={x=\"1\"]", 15);
	bad("^done,a={x=\"1\",}", 16);
	bad("^done,a={,}", 10);
	bad("^done,a}", 8);
}

static void test_lists(void)
{
	struct gdbmi_record *r = line("^done,e=[],v=[\"a\",\"b\"],r=[frame={l=\"0\"},frame={l=\"1\"}],"
				      "t=[{n=\"x\"},{n=\"y\"}],l=[[\"1\"],[]]");
	const struct gdbmi_value *v;

	v = gdbmi_record_get(r, "e");
	CHECK(v && v->kind == GDBMI_LIST && v->n == 0, "empty list");
	v = gdbmi_record_get(r, "v");
	CHECK(v && v->n == 2 && !v->v[0].name && strcmp(v->v[1].str, "b") == 0, "list of values");
	v = gdbmi_record_get(r, "r");
	CHECK(v && v->n == 2 && strcmp(v->v[1].name, "frame") == 0, "list of results");
	CHECK(strcmp(str(r, "r[1].l"), "1") == 0 && strcmp(str(r, "r.frame.l"), "0") == 0,
	      "paths into a list of results");
	CHECK(strcmp(str(r, "t[1].n"), "y") == 0, "list of tuples");
	CHECK(strcmp(str(r, "l[0][0]"), "1") == 0 && gdbmi_get(r->results, "l[1]")->n == 0,
	      "list of lists");
	gdbmi_record_free(r);
	bad("^done,a=[", 10);
	bad("^done,a=[\"1\"", 13);
	bad("^done,a=[\"1\"}", 13);
	bad("^done,a=[\"1\",]", 14);
	bad("^done,a=[\"1\" \"2\"]", 13);
}

/* MI2 writes multi-location breakpoints as nameless tuples after bkpt={...}. */
static void test_nameless(void)
{
	struct gdbmi_record *r = line("^done,bkpt={number=\"1\",addr=\"<MULTIPLE>\"},"
				      "{number=\"1.1\",addr=\"0x10\"},{number=\"1.2\",addr=\"0x20\"}");

	CHECK(r->type == GDBMI_RESULT && r->results->n == 3, "three results");
	CHECK(!r->results->v[1].name && !r->results->v[2].name, "nameless values");
	CHECK(strcmp(str(r, "[2].number"), "1.2") == 0, "index into nameless values");
	gdbmi_record_free(r);
	r = line("^done,\"bare\",[\"x\"]");
	CHECK(r->type == GDBMI_RESULT && r->results->n == 2 && r->results->v[0].kind == GDBMI_STRING,
	      "nameless string and list at the top");
	gdbmi_record_free(r);
}

static void test_names_and_values(void)
{
	bad("^done,name", 11);
	bad("^done,name=", 12);
	bad("^done,name=value", 12);
	bad("^done,=\"x\"", 7);
	bad("^done,a=\"1\"b=\"2\"", 12);
	bad("^done,a=\"1\",,b=\"2\"", 13);
	bad("^done,a=\"\\", 10);
	bad("^done,a=\"x\\400\"", 11);
	/* Names are taken leniently: anything up to '=' that is not punctuation. */
	struct gdbmi_record *r = line("^done,thread-groups=[\"i1\"],has_more=\"0\",a.b=\"1\"");

	CHECK(r->type == GDBMI_RESULT && strcmp(str(r, "thread-groups[0]"), "i1") == 0,
	      "names with '-' and '_'");
	gdbmi_record_free(r);
}

static void test_garbage(void)
{
	static const char *const junk[] = {
		"Hello from the program", "^", "^^done", "{", "]", "\"", "\x01\x02\xff", "(gdb",
		"~", "&\"", "=a,b", "*a,=", "^done,a=[{]}", "^done,a={[}]",
	};
	struct collected c = { 0 };
	char buf[512];
	size_t len = 0;

	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		struct gdbmi_record *r = line(junk[i]);

		CHECK(r->type == GDBMI_PARSE_ERROR && r->column >= 1 && r->column <= strlen(junk[i]) + 1,
		      "junk '%s': type %d column %zu", junk[i], r->type, r->column);
		gdbmi_record_free(r);
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s\n^done\n", junk[i]);
	}
	/* After each bad line, the next line parses as usual. */
	feed(&c, buf, len, 3);
	CHECK(c.n == 2 * (sizeof(junk) / sizeof(junk[0])), "records %zu", c.n);
	for (size_t i = 0; i + 1 < c.n; i += 2)
		CHECK(c.rec[i]->type == GDBMI_PARSE_ERROR && c.rec[i + 1]->type == GDBMI_RESULT,
		      "pair %zu", i / 2);
	release(&c);
	bad("", 1);
}

/* Nesting is handled without recursion: deep input cannot blow the stack. */
static void test_deep_nesting(void)
{
	size_t depth = 1000000, len;
	char *s = malloc(2 * depth + 32);
	struct gdbmi_record *r;
	const struct gdbmi_value *v;

	if (!s)
		broken("malloc");
	len = (size_t)sprintf(s, "^done,a=");
	memset(s + len, '[', depth);
	r = gdbmi_parse_line(s, len + depth);
	CHECK(r && r->type == GDBMI_PARSE_ERROR && r->column == len + depth + 1,
	      "a million '[' is an error at the end");
	gdbmi_record_free(r);
	memset(s + len + depth, ']', depth);
	r = gdbmi_parse_line(s, len + 2 * depth);
	CHECK(r && r->type == GDBMI_RESULT, "a million nested lists parse");
	v = r ? gdbmi_record_get(r, "a") : NULL;
	for (size_t i = 1; v && i < depth; i++)
		v = v->n == 1 ? &v->v[0] : NULL;
	CHECK(v && v->kind == GDBMI_LIST && v->n == 0, "the innermost list is empty");
	gdbmi_record_free(r);
	free(s);
}

/* ---------------------------------------------------------------- line ends */

static void test_line_ends(void)
{
	static const char *const texts[] = {
		"^done\n~\"x\"\n(gdb) \n",
		"^done\r~\"x\"\r(gdb) \r",
		"^done\r\n~\"x\"\r\n(gdb) \r\n",
		"^done\r\n~\"x\"\n(gdb) \r",
		"\n\n^done\r\n\r\n~\"x\"\r\r(gdb) \n\n",
		"^done\n~\"x\"\n(gdb) ", /* the last line ends at the end of input */
	};

	for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
		size_t len = strlen(texts[t]);

		/* Every chunk size, so that every CR LF is split somewhere. */
		for (size_t chunk = 0; chunk <= len; chunk++) {
			struct collected c = { 0 };

			feed(&c, texts[t], len, chunk);
			CHECK(c.n == 3 && c.rec[0]->type == GDBMI_RESULT && c.rec[1]->type == GDBMI_CONSOLE &&
			      c.rec[2]->type == GDBMI_PROMPT,
			      "text %zu, chunks of %zu: %zu records", t, chunk, c.n);
			release(&c);
		}
	}
}

/* Random chunking gives the same records as one push. */
static void test_random_chunks(void)
{
	const char *text = "=thread-group-added,id=\"i1\"\r\n(gdb) \n1^done,stack=[frame={level=\"0\","
			   "func=\"f\\303\\251\",line=\"3\"}]\r&\"log\\n\"\n*stopped\r\n";
	size_t len = strlen(text);
	struct collected whole = { 0 };
	uint32_t seed = (uint32_t)check_seed(12345);

	feed(&whole, text, len, 0);
	CHECK(whole.n == 5, "5 records, got %zu", whole.n);
	for (int round = 0; round < 500; round++) {
		struct collected c = { 0 };
		struct gdbmi_parser *p = gdbmi_parser_new(collect, &c);

		if (!p)
			broken("gdbmi_parser_new");
		gdbmi_push_pieces(p, text, len, &seed, 9);
		gdbmi_parser_finish(p);
		gdbmi_parser_free(p);
		CHECK(c.n == whole.n, "round %d: %zu records", round, c.n);
		for (size_t i = 0; i < c.n && i < whole.n; i++)
			CHECK(c.rec[i]->line_len == whole.rec[i]->line_len &&
			      memcmp(c.rec[i]->line, whole.rec[i]->line, c.rec[i]->line_len) == 0 &&
			      c.rec[i]->type == whole.rec[i]->type,
			      "round %d record %zu differs", round, i);
		release(&c);
	}
	release(&whole);
}

/* A 10 MB line fed in pipe-sized pieces: no limit, linear time. */
static void test_huge_line(void)
{
	size_t n = 10u << 20, head, len;
	char *s = malloc(n + 64);
	struct collected c = { 0 };
	const struct gdbmi_value *v;
	struct timespec t0, t1;
	double secs;

	if (!s)
		broken("malloc");
	head = (size_t)sprintf(s, "5^done,memory=[{contents=\"");
	for (size_t i = 0; i < n; i++)
		s[head + i] = "0123456789abcdef"[i % 16];
	len = head + n;
	len += (size_t)sprintf(s + len, "\"}]\n(gdb) \n");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	feed(&c, s, len, 65536 - 3);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK(c.n == 2 && c.rec[0]->type == GDBMI_RESULT, "10 MB line: %zu records", c.n);
	v = c.n ? gdbmi_record_get(c.rec[0], "memory[0].contents") : NULL;
	CHECK(v && v->len == n && v->str[n] == '\0' && memcmp(v->str, s + head, n) == 0,
	      "10 MB string intact");
	CHECK(c.n && c.rec[0]->line_len == len - 8, "raw line kept");
	/* Quadratic buffering would take minutes here, even under ASan. */
	CHECK(secs < 20, "10 MB line took %.1f s", secs);
	printf("# 10 MB line in 64 KiB chunks: %.3f s\n", secs);
	release(&c);
	free(s);
}

/* ---------------------------------------------------------------- values */

static void test_paths(void)
{
	struct gdbmi_record *r = line("^done,stack=[frame={level=\"0\",func=\"a\"},frame={level=\"1\","
				      "func=\"b\"},frame={level=\"2\",func=\"c\"},frame={level=\"3\",line=\"9\"}]");
	const struct gdbmi_value *root = r->results;

	CHECK(strcmp(str(r, "stack[3].line"), "9") == 0, "stack[3].line");
	CHECK(strcmp(str(r, "stack.frame.func"), "a") == 0, "first of a name in a list");
	CHECK(gdbmi_get(root, "") == root, "empty path");
	CHECK(gdbmi_get(root, "[0]") == gdbmi_get(root, "stack"), "[0]");
	CHECK(!gdbmi_get(root, "stack[4]"), "index out of range");
	CHECK(!gdbmi_get(root, "stack[3].func"), "missing name");
	CHECK(!gdbmi_get(root, "stack[0].func[0]"), "index into a string");
	CHECK(!gdbmi_get(root, "stack[0].func.x"), "name under a string");
	CHECK(!gdbmi_get(root, "stack["), "unterminated index");
	CHECK(!gdbmi_get(root, "stack[x]"), "index that is not a number");
	CHECK(!gdbmi_get(root, "stack[99999999999999999999999]"), "index overflow");
	CHECK(!gdbmi_get(root, ".stack"), "leading dot");
	CHECK(!gdbmi_get(root, "stack..frame"), "double dot");
	CHECK(!gdbmi_get(NULL, "stack") && !gdbmi_get(root, NULL), "NULL value or path");
	CHECK(!gdbmi_get_str(root, "stack"), "gdbmi_get_str on a list");
	CHECK(!gdbmi_record_get(NULL, "x"), "gdbmi_record_get(NULL)");
	gdbmi_record_free(r);
}

static void test_numbers(void)
{
	char text[512];
	struct gdbmi_record *r;
	const struct gdbmi_value *v;

	/* The long limits as this machine has them (32-bit ARM runs this too). */
	snprintf(text, sizeof(text),
		 "^done,d=\"42\",h=\"0x00007fffABCDef01\",max=\"18446744073709551615\","
		 "over=\"18446744073709551616\",m=\"<MULTIPLE>\",e=\"\",x=\"0x\",n=\"-5\","
		 "lmin=\"%ld\",lover=\"%lu\",t={}",
		 LONG_MIN, (unsigned long)LONG_MAX + 1);
	r = line(text);
	v = r->results;
	uint64_t u = 7;
	long l = 7;

	CHECK(gdbmi_get_u64(v, "d", &u) == 0 && u == 42, "decimal");
	CHECK(gdbmi_get_u64(v, "h", &u) == 0 && u == 0x00007fffabcdef01ull, "hex");
	CHECK(gdbmi_get_u64(v, "max", &u) == 0 && u == UINT64_MAX, "max");
	u = 7;
	CHECK(gdbmi_get_u64(v, "over", &u) < 0 && u == 7, "overflow refused, value kept");
	CHECK(gdbmi_get_u64(v, "m", &u) < 0, "<MULTIPLE>");
	CHECK(gdbmi_get_u64(v, "e", &u) < 0 && gdbmi_get_u64(v, "x", &u) < 0, "empty, bare 0x");
	CHECK(gdbmi_get_u64(v, "n", &u) < 0, "negative for u64");
	CHECK(gdbmi_get_u64(v, "t", &u) < 0 && gdbmi_get_u64(v, "nope", &u) < 0, "tuple, absent");
	CHECK(gdbmi_get_long(v, "n", &l) == 0 && l == -5, "negative long");
	CHECK(gdbmi_get_long(v, "lmin", &l) == 0 && l == LONG_MIN, "LONG_MIN");
	CHECK(gdbmi_get_long(v, "lover", &l) < 0, "long overflow");
	CHECK(gdbmi_get_long(v, "h", &l) < 0, "hex refused for long");
	gdbmi_record_free(r);
}

int main(void)
{
	test_result_classes();
	test_result_results();
	test_tokens();
	test_async();
	test_streams();
	test_prompt();
	test_tuples();
	test_lists();
	test_nameless();
	test_names_and_values();
	test_garbage();
	test_deep_nesting();
	test_line_ends();
	test_random_chunks();
	test_huge_line();
	test_paths();
	test_numbers();
	gdbmi_record_free(NULL);
	gdbmi_parser_free(NULL);
	return check_done();
}
