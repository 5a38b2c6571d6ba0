/*
 * arena.c: the memory of libgdbmi. A record and every value and string in
 * it come from one arena, so a record is freed with one walk over a short
 * chunk list, and parsing costs one pointer bump per node instead of one
 * malloc. The growable buffer serves the line splitter, the session's
 * queues and collected console text.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "internal.h"

struct chunk {
	struct chunk *next;
	char *p;   /* first free byte */
	char *end; /* end of the chunk */
};

struct gdbmi_arena {
	struct chunk *cur;  /* the chunk allocations come from */
	size_t grow;	    /* size of the next chunk */
	struct chunk first; /* its data follows the arena */
};

#define ALIGN alignof(max_align_t)
#define MIN_CHUNK 4096u

static size_t round_up(size_t n)
{
	return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
}

struct gdbmi_arena *gdbmi_arena_new(size_t first)
{
	size_t head = round_up(sizeof(struct gdbmi_arena));
	struct gdbmi_arena *a;

	if (first > SIZE_MAX / 2 - head) {
		errno = ENOMEM;
		return NULL;
	}
	first = round_up(first < 256 ? 256 : first);
	a = malloc(head + first);
	if (!a)
		return NULL;
	a->first.next = NULL;
	a->first.p = (char *)a + head;
	a->first.end = a->first.p + first;
	a->cur = &a->first;
	a->grow = first < MIN_CHUNK ? MIN_CHUNK : first;
	return a;
}

void gdbmi_arena_free(struct gdbmi_arena *a)
{
	struct chunk *c, *next;

	if (!a)
		return;
	/* Chunks are chained newest first; the last one is the arena itself. */
	for (c = a->cur; c != &a->first; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}

/* Make CUR a new chunk with at least N free bytes, aligned. */
static int new_chunk(struct gdbmi_arena *a, size_t n)
{
	size_t head = round_up(sizeof(struct chunk));
	size_t size = a->grow;
	struct chunk *c;

	if (n > SIZE_MAX / 2 - head) {
		errno = ENOMEM;
		return -1;
	}
	while (size < n)
		size *= 2;
	c = malloc(head + size);
	if (!c)
		return -1;
	c->p = (char *)c + head;
	c->end = c->p + size;
	c->next = a->cur;
	a->cur = c;
	if (a->grow < SIZE_MAX / 4)
		a->grow *= 2;
	return 0;
}

void *gdbmi_arena_alloc(struct gdbmi_arena *a, size_t n)
{
	struct chunk *c = a->cur;
	uintptr_t at = ((uintptr_t)c->p + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1);
	char *p;

	if (n == 0)
		n = 1;
	if (at > (uintptr_t)c->end || n > (size_t)((uintptr_t)c->end - at)) {
		if (new_chunk(a, round_up(n)) < 0)
			return NULL;
		c = a->cur;
		at = (uintptr_t)c->p;
	}
	p = (char *)at;
	c->p = p + n;
	return p;
}

char *gdbmi_arena_reserve(struct gdbmi_arena *a, size_t n)
{
	if (n >= SIZE_MAX / 2) {
		errno = ENOMEM;
		return NULL;
	}
	if ((size_t)(a->cur->end - a->cur->p) < n && new_chunk(a, n) < 0)
		return NULL;
	return a->cur->p;
}

void gdbmi_arena_commit(struct gdbmi_arena *a, size_t used)
{
	a->cur->p += used;
}

char *gdbmi_arena_strndup(struct gdbmi_arena *a, const char *s, size_t n)
{
	char *d = gdbmi_arena_reserve(a, n + 1);

	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	gdbmi_arena_commit(a, n + 1);
	return d;
}

/* ---------------------------------------------------------------- buffer */

static int buf_room(struct gdbmi_buf *b, size_t n)
{
	if (n > SIZE_MAX / 2 - b->len - 1) {
		errno = ENOMEM;
		return -1;
	}
	return grow_bytes(&b->p, &b->cap, b->len + n + 1, 256);
}

int gdbmi_buf_add(struct gdbmi_buf *b, const void *data, size_t n)
{
	if (buf_room(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

char *gdbmi_buf_room(struct gdbmi_buf *b, size_t n)
{
	if (buf_room(b, n) < 0)
		return NULL;
	return b->p + b->len;
}

int gdbmi_buf_vprintf(struct gdbmi_buf *b, const char *fmt, va_list ap)
{
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	if (n < 0 || buf_room(b, (size_t)n) < 0) {
		va_end(again);
		return -1;
	}
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, again);
	va_end(again);
	b->len += (size_t)n;
	return 0;
}

int gdbmi_buf_printf(struct gdbmi_buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = gdbmi_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

void gdbmi_buf_reset(struct gdbmi_buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

void gdbmi_buf_free(struct gdbmi_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
