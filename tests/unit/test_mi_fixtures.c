/*
 * Unit test over the captured gdb output in tests/mi-fixtures (README.md
 * there gives the format). For every fixture: the header is complete, the
 * body parses with no error record, and it gives the same records whole,
 * byte by byte, in odd chunks and with its line ends turned to CR LF and
 * to CR; the command's answer is there, once. Then each case checks what
 * it is about through the decoders (frames, variables, breakpoints in both
 * shapes, stops), against what the victim (tests/victims/mi_victim.c)
 * fixes: function names, argument values, the bytes of mi_bytes.
 *
 * Fixtures are found under $TOP (the source tree; default "."). Exit
 * status: 0 pass, 1 fail, 77 when TOP has no tests/mi-fixtures (the ARM
 * VMs), 99 when the fixtures cannot be read.
 */
#include "../../mi/gdbmi.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* mi_victim's mi_bytes. */
static const unsigned char victim_bytes[32] = {
	'm', 'i', 0, '"', '\\', '\n', '\t', 0x1b, 0x7f, 0xc3, 0xa9, 0x20, 0x21, 0x22, 0x23, 0x24,
	0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34,
};

struct fixture {
	const char *name;
	char *text;        /* the whole file */
	const char *body;  /* after the header */
	size_t body_len;
	unsigned long long token;
	int has_token;
	struct gdbmi_record **rec;
	size_t n, cap;
};

/* ---------------------------------------------------------------- loading */

static void collect(void *ctx, struct gdbmi_record *rec)
{
	struct fixture *f = ctx;

	f->rec = check_grow(f->rec, f->n, &f->cap, 32, sizeof(*f->rec));
	f->rec[f->n++] = rec;
}

static void drop_records(struct fixture *f)
{
	for (size_t i = 0; i < f->n; i++)
		gdbmi_record_free(f->rec[i]);
	f->n = 0;
}

static void parse_into(struct fixture *f, const char *text, size_t len, size_t chunk)
{
	struct gdbmi_parser *p = gdbmi_parser_new(collect, f);

	if (!p)
		broken("gdbmi_parser_new");
	if (!chunk)
		chunk = len ? len : 1;
	for (size_t at = 0; at < len; at += chunk)
		gdbmi_parser_push(p, text + at, len - at < chunk ? len - at : chunk);
	gdbmi_parser_finish(p);
	gdbmi_parser_free(p);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	if (!fp)
		return NULL;
	if (fseek(fp, 0, SEEK_END) < 0 || (n = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) < 0 ||
	    !(buf = malloc((size_t)n + 1)) || fread(buf, 1, (size_t)n, fp) != (size_t)n)
		broken(path);
	fclose(fp);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* The value of header KEY, copied into OUT; 0 when absent. */
static int header(const struct fixture *f, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);

	for (const char *p = f->text; p < f->body && *p == '#';) {
		const char *eol = strchr(p, '\n');

		if (!eol)
			break;
		if (strncmp(p, "# ", 2) == 0 && strncmp(p + 2, key, klen) == 0 && p[2 + klen] == ':') {
			const char *v = p + 2 + klen + 1 + (p[3 + klen] == ' ');

			snprintf(out, size, "%.*s", (int)(eol - v), v);
			return 1;
		}
		p = eol + 1;
	}
	return 0;
}

/* Split header and body; check the header. */
static void load(struct fixture *f, size_t len)
{
	static const char *const keys[] = { "gdb", "interpreter", "command", "wait", "about", "captured" };
	char *p = f->text, v[4096];

	while (*p == '#') {
		char *eol = strchr(p, '\n');

		if (!eol)
			break;
		p = eol + 1;
	}
	CHECK(*p == '\n', "%s: the header does not end with an empty line", f->name);
	if (*p == '\n')
		p++;
	f->body = p;
	f->body_len = len - (size_t)(p - f->text);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		CHECK(header(f, keys[i], v, sizeof(v)) && v[0], "%s: header lacks '%s'", f->name, keys[i]);
	CHECK(header(f, "gdb", v, sizeof(v)) && strncmp(v, "GNU gdb", 7) == 0, "%s: gdb version '%s'",
	      f->name, v);
	if (header(f, "token", v, sizeof(v))) {
		f->has_token = 1;
		f->token = strtoull(v, NULL, 10);
	}
	CHECK(f->body_len > 0, "%s: empty body", f->name);
}

/* ---------------------------------------------------------------- generic checks */

/* The body with every LF made EOL. */
static char *with_line_ends(const struct fixture *f, const char *eol, size_t *len)
{
	size_t n = 0, el = strlen(eol);
	char *out = malloc(f->body_len * el + 1);

	if (!out)
		broken("malloc");
	for (size_t i = 0; i < f->body_len; i++) {
		if (f->body[i] == '\n') {
			memcpy(out + n, eol, el);
			n += el;
		} else {
			out[n++] = f->body[i];
		}
	}
	*len = n;
	return out;
}

static void same_records(struct fixture *f, const char *how, size_t n0,
			 struct gdbmi_record *const *ref)
{
	CHECK(f->n == n0, "%s %s: %zu records, whole: %zu", f->name, how, f->n, n0);
	for (size_t i = 0; i < f->n && i < n0; i++)
		CHECK(f->rec[i]->type == ref[i]->type && f->rec[i]->line_len == ref[i]->line_len &&
		      memcmp(f->rec[i]->line, ref[i]->line, ref[i]->line_len) == 0,
		      "%s %s: record %zu differs", f->name, how, i);
}

static void generic_checks(struct fixture *f)
{
	static const size_t chunks[] = { 1, 7, 4096 };
	static const char *const eols[] = { "\r\n", "\r" };
	struct gdbmi_record **ref;
	size_t n0, answers = 0;

	parse_into(f, f->body, f->body_len, 0);
	for (size_t i = 0; i < f->n; i++) {
		CHECK(f->rec[i]->type != GDBMI_PARSE_ERROR, "%s: line %zu: %s at column %zu", f->name,
		      i + 1, f->rec[i]->text, f->rec[i]->column);
		if (f->has_token && f->rec[i]->type == GDBMI_RESULT && f->rec[i]->has_token &&
		    f->rec[i]->token == f->token)
			answers++;
	}
	CHECK(!f->has_token || answers == 1, "%s: %zu answers with token %llu", f->name, answers,
	      f->token);
	/* Keep the whole-body records as the reference for the other feeds. */
	ref = f->rec;
	n0 = f->n;
	f->rec = NULL;
	f->n = f->cap = 0;
	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		char how[32];

		snprintf(how, sizeof(how), "in chunks of %zu", chunks[c]);
		parse_into(f, f->body, f->body_len, chunks[c]);
		same_records(f, how, n0, ref);
		drop_records(f);
	}
	for (size_t e = 0; e < sizeof(eols) / sizeof(eols[0]); e++) {
		size_t len = 0;
		char *text = with_line_ends(f, eols[e], &len);

		parse_into(f, text, len, 5);
		same_records(f, e == 0 ? "with CR LF" : "with CR", n0, ref);
		drop_records(f);
		free(text);
	}
	free(f->rec);
	f->rec = ref;
	f->n = f->cap = n0;
}

/* ---------------------------------------------------------------- case helpers */

static struct gdbmi_record *answer(const struct fixture *f)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->rec[i]->type == GDBMI_RESULT && f->rec[i]->has_token && f->rec[i]->token == f->token)
			return f->rec[i];
	return NULL;
}

/* Index of the first record of TYPE (and CLS), or -1. */
static long find(const struct fixture *f, enum gdbmi_rtype type, const char *cls)
{
	for (size_t i = 0; i < f->n; i++)
		if (gdbmi_is(f->rec[i], type, cls))
			return (long)i;
	return -1;
}

/* A fresh copy of REC, for decoders, which take the record they decode. */
static struct gdbmi_record *copy(const struct gdbmi_record *rec)
{
	struct gdbmi_record *r = rec ? gdbmi_parse_line(rec->line, rec->line_len) : NULL;

	if (rec && !r)
		broken("gdbmi_parse_line");
	return r;
}

static const char *s_or(const char *s)
{
	return s ? s : "(null)";
}

/* The C literal inside a value gdb printed equals WANT/LEN. */
static int literal_is(const char *value, const void *want, size_t len)
{
	char *out;
	size_t n;
	int ok;

	if (!value || gdbmi_c_literal(value, strlen(value), &out, &n, NULL) != GDBMI_OK)
		return 0;
	ok = n == len && memcmp(out, want, len) == 0;
	free(out);
	return ok;
}

static int ends_with(const char *s, const char *tail)
{
	size_t a = s ? strlen(s) : 0, b = strlen(tail);

	return s && a >= b && strcmp(s + a - b, tail) == 0;
}

/* ---------------------------------------------------------------- cases */

static void case_startup(struct fixture *f)
{
	long i = find(f, GDBMI_NOTIFY, "thread-group-added");

	CHECK(i >= 0 && strcmp(s_or(gdbmi_get_str(f->rec[i]->results, "id")), "i1") == 0,
	      "startup: =thread-group-added,id=\"i1\"");
	CHECK(f->n && f->rec[f->n - 1]->type == GDBMI_PROMPT, "startup: ends with the prompt");
}

static void case_list_features(struct fixture *f)
{
	const struct gdbmi_value *l = gdbmi_record_get(answer(f), "features");
	int found = 0;

	CHECK(l && l->kind == GDBMI_LIST && l->n > 3, "features: a list");
	for (size_t i = 0; l && i < l->n; i++)
		found += l->v[i].kind == GDBMI_STRING && !l->v[i].name &&
			 strcmp(l->v[i].str, "data-read-memory-bytes") == 0;
	CHECK(found == 1, "features: data-read-memory-bytes");
}

static void case_gdb_version(struct fixture *f)
{
	char text[4096] = "";
	size_t len = 0;

	for (size_t i = 0; i < f->n; i++)
		if (f->rec[i]->type == GDBMI_CONSOLE && len + f->rec[i]->text_len < sizeof(text)) {
			memcpy(text + len, f->rec[i]->text, f->rec[i]->text_len + 1);
			len += f->rec[i]->text_len;
		}
	CHECK(strncmp(text, "GNU gdb (", 9) == 0, "version: console text");
	CHECK(strstr(text, "Type \"show copying\"") && strstr(text, "\n"), "version: \\\" and \\n decoded");
	CHECK(answer(f) && answer(f)->rclass == GDBMI_DONE, "version: ^done");
}

static void case_gdb_set(struct fixture *f)
{
	struct gdbmi_record *a = answer(f);

	CHECK(a && a->rclass == GDBMI_DONE && a->results->n == 0, "gdb-set: a bare ^done");
}

static void case_file_exec(struct fixture *f)
{
	CHECK(answer(f) && answer(f)->rclass == GDBMI_DONE, "file-exec: ^done");
}

static void case_error_undefined(struct fixture *f)
{
	struct gdbmi_record *a = answer(f);

	CHECK(a && a->rclass == GDBMI_ERROR, "undefined: ^error");
	CHECK(strcmp(gdbmi_error_msg(a), "Undefined MI command: no-such-command") == 0, "undefined: msg");
	CHECK(strcmp(s_or(gdbmi_get_str(a ? a->results : NULL, "code")), "undefined-command") == 0,
	      "undefined: code");
}

static void case_error_utf8(struct fixture *f)
{
	CHECK(strstr(gdbmi_error_msg(answer(f)), "/nonexistent/fichier-\303\251t\303\251"),
	      "utf8: octal escapes give the UTF-8 bytes");
}

static void case_core_open(struct fixture *f)
{
	struct gdbmi_stop *st = NULL;
	long lib = find(f, GDBMI_NOTIFY, "library-loaded");
	uint64_t from = 0;

	CHECK(answer(f) && answer(f)->rclass == GDBMI_CONNECTED, "core: ^connected");
	CHECK(gdbmi_decode_stop(copy(answer(f)), &st) == GDBMI_OK && st && st->has_frame &&
	      st->reason == NULL && strcmp(s_or(st->frame.func), "__GI___clock_nanosleep") == 0,
	      "core: the frame it selected");
	gdbmi_stop_free(st);
	CHECK(lib >= 0 && gdbmi_get_u64(f->rec[lib]->results, "ranges[0].from", &from) == 0 && from,
	      "core: =library-loaded with ranges");
}

static void case_stack_list_frames(struct fixture *f)
{
	static const char *const want[] = { "__GI___clock_nanosleep", "__GI___nanosleep", "mi_hold",
					     "mi_descend", "mi_descend", "mi_descend", "mi_descend", "main" };
	struct gdbmi_frames *fr = NULL;

	CHECK(gdbmi_decode_frames(copy(answer(f)), &fr) == GDBMI_OK && fr, "frames: decoded");
	if (!fr)
		return;
	CHECK(fr->n == 8, "frames: %zu, want 8", fr->n);
	for (size_t i = 0; i < fr->n && i < 8; i++) {
		CHECK(strcmp(s_or(fr->frame[i].func), want[i]) == 0, "frames[%zu]: %s", i,
		      s_or(fr->frame[i].func));
		CHECK(fr->frame[i].level == i && fr->frame[i].addr && fr->frame[i].line > 0,
		      "frames[%zu]: level, addr, line", i);
	}
	CHECK(strcmp(s_or(fr->frame[2].file), "tests/victims/mi_victim.c") == 0 &&
	      ends_with(fr->frame[2].fullname, "/tests/victims/mi_victim.c") && !fr->frame[2].from,
	      "frames: file and fullname");
	gdbmi_frames_free(fr);
}

static void case_stack_deep(struct fixture *f)
{
	struct gdbmi_frames *fr = NULL;
	size_t descend = 0;

	CHECK(gdbmi_decode_frames(copy(answer(f)), &fr) == GDBMI_OK && fr, "deep: decoded");
	for (size_t i = 0; fr && i < fr->n; i++)
		descend += strcmp(s_or(fr->frame[i].func), "mi_descend") == 0;
	CHECK(descend == 201, "deep: %zu frames of mi_descend, want 201", descend);
	CHECK(fr && fr->n == 205 && fr->frame[204].level == 204, "deep: 205 frames");
	gdbmi_frames_free(fr);
}

static void case_stack_nodebug(struct fixture *f)
{
	struct gdbmi_frames *fr = NULL;

	CHECK(gdbmi_decode_frames(copy(answer(f)), &fr) == GDBMI_OK && fr && fr->n == 2,
	      "nodebug: two frames");
	if (fr && fr->n == 2)
		CHECK(ends_with(fr->frame[0].from, "/libc.so.6") && !fr->frame[0].file &&
		      fr->frame[0].line == 0 && strcmp(s_or(fr->frame[0].func), "clock_nanosleep") == 0,
		      "nodebug: from= and no file");
	gdbmi_frames_free(fr);
}

static const struct gdbmi_var *var(const struct gdbmi_vars *v, const char *name)
{
	for (size_t i = 0; v && i < v->n; i++)
		if (strcmp(v->var[i].name, name) == 0)
			return &v->var[i];
	return NULL;
}

static void case_stack_list_variables(struct fixture *f)
{
	struct gdbmi_vars *v = NULL;
	const struct gdbmi_var *x;

	CHECK(gdbmi_decode_vars(copy(answer(f)), &v) == GDBMI_OK && v, "variables: decoded");
	x = var(v, "tag");
	CHECK(x && x->is_arg && literal_is(x->value, "holding", 7) &&
	      strcmp(s_or(x->type), "const char *") == 0, "variables: tag");
	x = var(v, "rounds");
	CHECK(x && x->is_arg && strcmp(s_or(x->value), "7") == 0, "variables: rounds");
	x = var(v, "counter");
	CHECK(x && !x->is_arg && strcmp(s_or(x->type), "volatile int") == 0 && x->value,
	      "variables: counter");
	x = var(v, "label");
	CHECK(x && !x->is_arg && literal_is(x->value, "local label", 11), "variables: label");
	x = var(v, "t0");
	CHECK(x && !x->is_arg && !x->value && strcmp(s_or(x->type), "struct timespec") == 0,
	      "variables: an aggregate has no value under --simple-values");
	gdbmi_vars_free(v);
}

static void case_stack_list_locals(struct fixture *f)
{
	static const char *const want[] = { "counter", "label", "t0", "now", "tick" };
	struct gdbmi_vars *v = NULL;

	CHECK(gdbmi_decode_vars(copy(answer(f)), &v) == GDBMI_OK && v && v->n == 5,
	      "locals: five names");
	for (size_t i = 0; v && i < v->n && i < 5; i++)
		CHECK(strcmp(v->var[i].name, want[i]) == 0 && !v->var[i].value && !v->var[i].is_arg,
		      "locals[%zu]: %s", i, v->var[i].name);
	gdbmi_vars_free(v);
}

static void case_thread_info(struct fixture *f)
{
	const struct gdbmi_value *r = answer(f) ? answer(f)->results : NULL;

	CHECK(strcmp(s_or(gdbmi_get_str(r, "threads[0].frame.func")), "__GI___clock_nanosleep") == 0,
	      "threads: frame.func");
	CHECK(strcmp(s_or(gdbmi_get_str(r, "current-thread-id")), "1") == 0, "threads: current");
	CHECK(gdbmi_get(r, "threads[0].frame.args") &&
	      gdbmi_get(r, "threads[0].frame.args")->kind == GDBMI_LIST, "threads: args list");
}

static void case_read_memory(struct fixture *f)
{
	const char *hex = gdbmi_get_str(answer(f) ? answer(f)->results : NULL, "memory[0].contents");
	unsigned char got[32];
	int ok = hex && strlen(hex) == 64;

	for (size_t i = 0; ok && i < 32; i++) {
		unsigned v;

		ok = sscanf(hex + 2 * i, "%2x", &v) == 1;
		got[i] = (unsigned char)v;
	}
	CHECK(ok && memcmp(got, victim_bytes, 32) == 0, "memory: the bytes of mi_bytes");
}

static void case_read_memory_error(struct fixture *f)
{
	CHECK(strcmp(gdbmi_error_msg(answer(f)), "Unable to read memory.") == 0, "memory error: msg");
}

static void case_evaluate_bytes(struct fixture *f)
{
	CHECK(literal_is(gdbmi_get_str(answer(f) ? answer(f)->results : NULL, "value"), victim_bytes, 32),
	      "evaluate: both layers of escapes undone give mi_bytes");
}

static void case_evaluate_struct(struct fixture *f)
{
	const char *v = gdbmi_get_str(answer(f) ? answer(f)->results : NULL, "value");

	CHECK(v && strncmp(v, "{id = 42, name = 0x", 19) == 0 && literal_is(v, "pair", 4),
	      "struct: %s", s_or(v));
}

static void case_evaluate_repeats(struct fixture *f)
{
	const char *v = gdbmi_get_str(answer(f) ? answer(f)->results : NULL, "value");

	CHECK(literal_is(v, "abcccccccccccccccccccc\001d", 24), "repeats: %s", s_or(v));
}

static void case_evaluate_truncated(struct fixture *f)
{
	const char *v = gdbmi_get_str(answer(f) ? answer(f)->results : NULL, "value");
	char *out = NULL;
	size_t n = 0;
	int cut = 0;

	CHECK(v && gdbmi_c_literal(v, strlen(v), &out, &n, &cut) == GDBMI_OK && n == 4 &&
	      memcmp(out, "abcd", 4) == 0 && cut == 1, "truncated: %s", s_or(v));
	free(out);
}

static void case_console_print(struct fixture *f)
{
	long i = find(f, GDBMI_CONSOLE, NULL);

	CHECK(i >= 0 && strncmp(f->rec[i]->text, "$1 = \"", 6) == 0 &&
	      literal_is(f->rec[i]->text, victim_bytes, 32), "console: print mi_bytes");
}

static void case_break_insert(struct fixture *f)
{
	struct gdbmi_bkpt *b = NULL;

	CHECK(gdbmi_decode_bkpt(copy(answer(f)), &b) == GDBMI_OK && b, "bkpt: decoded");
	if (!b)
		return;
	CHECK(strcmp(b->number, "1") == 0 && b->enabled && !b->pending && b->nloc == 1,
	      "bkpt: one location");
	CHECK(b->nloc == 1 && strcmp(s_or(b->loc[0].func), "mi_target_fn") == 0 && b->loc[0].addr &&
	      b->loc[0].line > 0 && strcmp(s_or(b->loc[0].file), "tests/victims/mi_victim.c") == 0,
	      "bkpt: its location");
	gdbmi_bkpt_free(b);
}

static void case_break_pending(struct fixture *f)
{
	struct gdbmi_bkpt *b = NULL;
	long log = find(f, GDBMI_LOG, NULL);

	CHECK(gdbmi_decode_bkpt(copy(answer(f)), &b) == GDBMI_OK && b && b->pending && b->nloc == 0,
	      "pending: no location");
	CHECK(log >= 0 && strcmp(f->rec[log]->text, "Function \"no_such_function\" not defined.\n") == 0,
	      "pending: the log record");
	gdbmi_bkpt_free(b);
}

/* Both shapes must give the same locations. */
static size_t multi_nloc[2];

static void check_multi(struct fixture *f, int mi2)
{
	struct gdbmi_bkpt *b = NULL;
	int malloc_seen = 0;

	CHECK(gdbmi_decode_bkpt(copy(answer(f)), &b) == GDBMI_OK && b, "multi %s: decoded", f->name);
	if (!b)
		return;
	CHECK(b->nloc > 1 && !b->pending, "multi %s: %zu locations", f->name, b->nloc);
	for (size_t i = 0; i < b->nloc; i++) {
		char num[32];

		snprintf(num, sizeof(num), "1.%zu", i + 1);
		CHECK(strcmp(s_or(b->loc[i].number), num) == 0 && b->loc[i].addr, "multi %s: location %s",
		      f->name, num);
		malloc_seen += b->loc[i].func && strstr(b->loc[i].func, "malloc") != NULL;
	}
	CHECK(malloc_seen, "multi %s: a malloc location", f->name);
	multi_nloc[mi2] = b->nloc;
	gdbmi_bkpt_free(b);
}

static void case_multi_mi3(struct fixture *f)
{
	CHECK(gdbmi_get(answer(f)->results, "bkpt.locations"), "mi3: locations=[...]");
	check_multi(f, 0);
}

static void case_multi_mi2(struct fixture *f)
{
	CHECK(!gdbmi_get(answer(f)->results, "bkpt.locations") && answer(f)->results->n > 2 &&
	      !answer(f)->results->v[1].name, "mi2: nameless tuples");
	check_multi(f, 1);
}

static void case_gdb_exit(struct fixture *f)
{
	long a = find(f, GDBMI_RESULT, "exit");

	CHECK(a >= 0 && answer(f) && answer(f)->rclass == GDBMI_EXIT, "exit: ^exit");
	CHECK(a >= 0 && (size_t)a + 1 < f->n && f->rec[a + 1]->type == GDBMI_NOTIFY,
	      "exit: notify records after ^exit");
}

static struct gdbmi_stop *stop_of(struct fixture *f)
{
	long i = find(f, GDBMI_EXEC, "stopped");
	struct gdbmi_stop *st = NULL;

	CHECK(i >= 0 && gdbmi_decode_stop(copy(f->rec[i]), &st) == GDBMI_OK, "%s: *stopped", f->name);
	return st;
}

static void case_attach(struct fixture *f)
{
	struct gdbmi_stop *st = stop_of(f);

	CHECK(answer(f) && answer(f)->rclass == GDBMI_DONE, "attach: ^done");
	CHECK(st && st->has_frame && !st->reason && st->thread_id == 1 &&
	      strcmp(s_or(st->frame.func), "__GI___clock_nanosleep") == 0, "attach: where it stopped");
	gdbmi_stop_free(st);
}

static void case_exec_continue(struct fixture *f)
{
	struct gdbmi_stop *st = stop_of(f);
	const struct gdbmi_value *args;

	CHECK(answer(f) && answer(f)->rclass == GDBMI_RUNNING, "continue: ^running");
	CHECK(find(f, GDBMI_EXEC, "running") >= 0, "continue: *running");
	CHECK(st && strcmp(s_or(st->reason), "breakpoint-hit") == 0 && st->bkptno == 1 &&
	      strcmp(s_or(st->frame.func), "mi_target_fn") == 0, "continue: the breakpoint hit");
	args = st ? gdbmi_get(st->rec->results, "frame.args") : NULL;
	CHECK(args && strcmp(s_or(gdbmi_get_str(args, "[0].value")), "42") == 0 &&
	      literal_is(gdbmi_get_str(args, "[2].value"), "hello", 5), "continue: count and word");
	gdbmi_stop_free(st);
}

static void case_exec_interrupt(struct fixture *f)
{
	struct gdbmi_stop *st = stop_of(f);

	CHECK(st && strcmp(s_or(st->reason), "signal-received") == 0 &&
	      strcmp(s_or(st->signal), "SIGINT") == 0, "interrupt: SIGINT");
	gdbmi_stop_free(st);
}

static void case_remote_pipe(struct fixture *f)
{
	long log = find(f, GDBMI_LOG, NULL), stop = find(f, GDBMI_EXEC, "stopped");
	long conn = find(f, GDBMI_RESULT, "connected");

	CHECK(log >= 0 && strncmp(f->rec[log]->text, "Attached; pid = ", 16) == 0,
	      "remote: gdbserver's stderr as a log record");
	CHECK(stop >= 0 && conn > stop, "remote: *stopped before ^connected");
}

static const struct {
	const char *name;
	void (*check)(struct fixture *f);
} cases[] = {
	{ "startup", case_startup },
	{ "list-features", case_list_features },
	{ "gdb-version", case_gdb_version },
	{ "gdb-set", case_gdb_set },
	{ "error-undefined", case_error_undefined },
	{ "error-utf8", case_error_utf8 },
	{ "file-exec", case_file_exec },
	{ "core-open", case_core_open },
	{ "stack-list-frames", case_stack_list_frames },
	{ "stack-list-frames-deep", case_stack_deep },
	{ "stack-list-frames-nodebug", case_stack_nodebug },
	{ "stack-list-variables", case_stack_list_variables },
	{ "stack-list-locals", case_stack_list_locals },
	{ "thread-info", case_thread_info },
	{ "data-read-memory-bytes", case_read_memory },
	{ "data-read-memory-error", case_read_memory_error },
	{ "evaluate-bytes", case_evaluate_bytes },
	{ "evaluate-struct", case_evaluate_struct },
	{ "evaluate-repeats", case_evaluate_repeats },
	{ "evaluate-truncated", case_evaluate_truncated },
	{ "console-print", case_console_print },
	{ "break-insert", case_break_insert },
	{ "break-insert-pending", case_break_pending },
	{ "break-insert-multi-mi3", case_multi_mi3 },
	{ "break-insert-multi-mi2", case_multi_mi2 },
	{ "gdb-exit", case_gdb_exit },
	{ "attach", case_attach },
	{ "exec-continue", case_exec_continue },
	{ "exec-interrupt", case_exec_interrupt },
	{ "target-remote-pipe", case_remote_pipe },
};

int main(void)
{
	const char *top = getenv("TOP") ? getenv("TOP") : ".";
	size_t ncases = sizeof(cases) / sizeof(cases[0]), files = 0;
	char dir[4096];
	DIR *d;
	struct dirent *e;

	snprintf(dir, sizeof(dir), "%s/tests/mi-fixtures", top);
	d = opendir(dir);
	if (!d && errno == ENOENT) {
		/* The ARM test VMs get the build, not the source tree's fixtures. */
		printf("SKIP: no fixtures at %s (TOP is not a source tree)\n", dir);
		return 77;
	}
	if (!d)
		broken(dir);
	for (size_t i = 0; i < ncases; i++) {
		char path[8192];
		struct fixture f = { .name = cases[i].name };
		size_t len = 0;

		snprintf(path, sizeof(path), "%s/%s.mi", dir, cases[i].name);
		f.text = read_file(path, &len);
		CHECK(f.text, "fixture %s.mi is missing", cases[i].name);
		if (!f.text)
			continue;
		load(&f, len);
		generic_checks(&f);
		cases[i].check(&f);
		drop_records(&f);
		free(f.rec);
		free(f.text);
		files++;
	}
	/* Fixtures nobody checks would rot unnoticed. */
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name), known = 0;

		if (l < 4 || strcmp(e->d_name + l - 3, ".mi") != 0)
			continue;
		for (size_t i = 0; i < ncases; i++)
			known += strlen(cases[i].name) == l - 3 && strncmp(cases[i].name, e->d_name, l - 3) == 0;
		CHECK(known, "fixture %s has no case in test_mi_fixtures.c", e->d_name);
	}
	closedir(d);
	CHECK(multi_nloc[0] == multi_nloc[1], "mi2 and mi3 give %zu and %zu locations", multi_nloc[1],
	      multi_nloc[0]);
	printf("test_mi_fixtures: %zu fixtures, %d checks, %d failed\n", files, checks, failures);
	return failures ? 1 : 0;
}
