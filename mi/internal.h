/*
 * internal.h: what the files of libgdbmi share and callers never see. The
 * public contracts are in gdbmi.h; this header holds the arena, the
 * growable byte buffer and the record's private side.
 */
#ifndef GDBMI_INTERNAL_H
#define GDBMI_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

#include "gdbmi.h"

/* ---------------------------------------------------------------- arena (arena.c) */

/*
 * A bump allocator over a list of chunks, freed as one. The first chunk
 * holds the arena itself; later ones double in size.
 */
struct gdbmi_arena;

/* A new arena whose first chunk has room for about FIRST bytes; NULL: ENOMEM. */
struct gdbmi_arena *gdbmi_arena_new(size_t first);
/* Free the arena and everything allocated in it; NULL is a no-op. */
void gdbmi_arena_free(struct gdbmi_arena *a);
/* N bytes aligned for any object; NULL when out of memory. */
void *gdbmi_arena_alloc(struct gdbmi_arena *a, size_t n);
/*
 * Room for at least N bytes of characters (no alignment) at the arena's
 * end, not yet taken: write into it, then gdbmi_arena_commit() what was
 * used. Nothing else may be allocated in between. NULL when out of memory.
 */
char *gdbmi_arena_reserve(struct gdbmi_arena *a, size_t n);
void gdbmi_arena_commit(struct gdbmi_arena *a, size_t used);
/* A NUL-terminated copy of N bytes at S; NULL when out of memory. */
char *gdbmi_arena_strndup(struct gdbmi_arena *a, const char *s, size_t n);

/* ---------------------------------------------------------------- buffer (arena.c) */

/* A growable byte buffer, always NUL-terminated once anything was added. */
struct gdbmi_buf {
	char *p;
	size_t len, cap;
};

/* Append; -1 when out of memory (the buffer is kept as it was). */
int gdbmi_buf_add(struct gdbmi_buf *b, const void *data, size_t n);
/* Room for N more bytes at P + LEN (LEN unchanged); NULL when out of memory. */
char *gdbmi_buf_room(struct gdbmi_buf *b, size_t n);
int gdbmi_buf_printf(struct gdbmi_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int gdbmi_buf_vprintf(struct gdbmi_buf *b, const char *fmt, va_list ap);
/* Empty the buffer, keeping its memory. */
void gdbmi_buf_reset(struct gdbmi_buf *b);
/* Release the memory. */
void gdbmi_buf_free(struct gdbmi_buf *b);

/* ---------------------------------------------------------------- records (parse.c) */

/* The arena a record lives in: helpers put their typed results there. */
struct gdbmi_arena *gdbmi_record_arena(struct gdbmi_record *rec);

/* ---------------------------------------------------------------- c-strings (cstr.c) */

/*
 * Decode the c-string body starting at P (just after the opening quote) up
 * to its closing quote, not past END, into OUT (room for END - P bytes; OUT
 * may be P: decoding in place).
 * Returns a pointer just past the closing quote and sets *OUT_LEN, or NULL
 * on a bad escape or a missing closing quote with *ERR at the offending
 * byte and *WHY a message.
 */
const char *gdbmi_cstr_scan(const char *p, const char *end, char *out, size_t *out_len,
			    const char **err, const char **why);

#endif
