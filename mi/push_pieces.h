/*
 * Feeding a gdb/MI parser in pieces of pseudo-random length, as a pipe may
 * cut gdb's output anywhere: for the fuzzer (mi/fuzz_parse.c) and the unit
 * tests (tests/unit/test_mi_parse.c), which both check that the cuts change
 * nothing. Not part of the library.
 */
#ifndef GDBMI_PUSH_PIECES_H
#define GDBMI_PUSH_PIECES_H

#include <stddef.h>
#include <stdint.h>

#include "gdbmi.h"

/*
 * Push the LEN bytes of DATA into P in pieces of 1 to MOST bytes, each
 * length drawn from *SEED (a linear congruential generator, advanced once a
 * piece, so the same seed cuts the same way). What the pushes return is left
 * to the parser's records and gdbmi_parser_finish.
 */
static inline void gdbmi_push_pieces(struct gdbmi_parser *p, const void *data, size_t len, uint32_t *seed,
				     size_t most)
{
	const char *c = data;
	size_t n;

	for (size_t at = 0; at < len; at += n) {
		*seed = *seed * 1103515245u + 12345u;
		n = 1 + (*seed >> 16) % most;
		if (n > len - at)
			n = len - at;
		gdbmi_parser_push(p, c + at, n);
	}
}

#endif
