/*
 * fuzz_parse.c: the libFuzzer harness for libgdbmi's parser (`make fuzz`,
 * `make check-mi-fuzz`, mi/mi.mk); not part of the library.
 *
 * Each input is pushed through the push parser in chunks whose sizes come
 * from a generator seeded by the input itself, so line ends and escapes are
 * split at every kind of place, then parsed again whole as one line. Every
 * record is walked: each string value goes through the C-literal decoder
 * and the number readers, paths are looked up, and the typed decoders run
 * on a copy of the record. The walk is iterative and bounded in depth,
 * since the parser itself accepts any nesting.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gdbmi.h"
#include "push_pieces.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const paths[] = {
	"frame.func",
	"stack[3].line",
	"[0]",
	"bkpt.locations[0].addr",
	"memory[0].contents",
	"a.b.c[1][2]",
	"",
	"[99999999]",
	"x[",
	".y",
};

static void walk(const struct gdbmi_value *root)
{
	const struct gdbmi_value *stack[64];
	int top = 0;

	if (!root)
		return;
	stack[top++] = root;
	while (top) {
		const struct gdbmi_value *v = stack[--top];

		if (v->kind == GDBMI_STRING) {
			char *lit = NULL;
			size_t n;
			uint64_t u;
			long l;

			/* The contracts: both strings end with a NUL after their length. */
			if (v->str[v->len] != '\0')
				abort();
			if (gdbmi_c_literal(v->str, v->len, &lit, &n, NULL) == GDBMI_OK &&
			    lit[n] != '\0')
				abort();
			free(lit);
			gdbmi_get_u64(v, "", &u);
			gdbmi_get_long(v, "", &l);
			continue;
		}
		for (size_t i = 0; i < v->n; i++)
			if (top < (int)(sizeof(stack) / sizeof(stack[0])))
				stack[top++] = &v->v[i];
	}
}

static void decode_all(const struct gdbmi_record *rec)
{
	struct gdbmi_record *copy;
	struct gdbmi_frames *f;
	struct gdbmi_vars *v;
	struct gdbmi_bkpt *b;
	struct gdbmi_stop *s;

	if (!(copy = gdbmi_parse_line(rec->line, rec->line_len)))
		return;
	if (gdbmi_decode_frames(copy, &f) == GDBMI_OK) {
		gdbmi_frames_free(f);
		copy = gdbmi_parse_line(rec->line, rec->line_len);
	}
	if (copy && gdbmi_decode_vars(copy, &v) == GDBMI_OK) {
		gdbmi_vars_free(v);
		copy = gdbmi_parse_line(rec->line, rec->line_len);
	}
	if (copy && gdbmi_decode_bkpt(copy, &b) == GDBMI_OK) {
		gdbmi_bkpt_free(b);
		copy = gdbmi_parse_line(rec->line, rec->line_len);
	}
	if (copy && gdbmi_decode_stop(copy, &s) == GDBMI_OK) {
		gdbmi_stop_free(s);
		copy = NULL;
	}
	gdbmi_record_free(copy);
}

static void on_record(void *ctx, struct gdbmi_record *rec)
{
	(void)ctx;
	walk(rec->results);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		gdbmi_get_str(rec->results, paths[i]);
	if (rec->text) {
		char *lit = NULL;
		size_t n;

		gdbmi_c_literal(rec->text, rec->text_len, &lit, &n, NULL);
		free(lit);
	}
	gdbmi_error_msg(rec);
	decode_all(rec);
	gdbmi_record_free(rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gdbmi_parser *p = gdbmi_parser_new(on_record, NULL);
	uint32_t seed = 2166136261u;
	struct gdbmi_record *rec;
	char *out;

	if (!p)
		return 0;
	for (size_t i = 0; i < size && i < 8; i++)
		seed = (seed ^ data[i]) * 16777619u;
	gdbmi_push_pieces(p, data, size, &seed, 97);
	gdbmi_parser_finish(p);
	gdbmi_parser_free(p);

	rec = gdbmi_parse_line((const char *)data, size);
	if (rec)
		on_record(NULL, rec);
	out = malloc(size + 1);
	if (out) {
		size_t n, err;

		gdbmi_cstr_decode((const char *)data, size, out, &n, &err);
		free(out);
	}
	return 0;
}
