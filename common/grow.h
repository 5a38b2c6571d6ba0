/*
 * Growing a byte buffer by doubling: the one step of the buffers that hold
 * a line, a redraw or a text being built (inject/lineedit.c, libgdbmi's
 * text buffers). Inline, like monotime.h, so that libgdbmi and the line
 * editor's unit test take it without linking anything.
 */
#ifndef MEMTRACE_GROW_H
#define MEMTRACE_GROW_H

#include <stddef.h>
#include <stdlib.h>

/*
 * Room for NEED bytes in *BUF (*CAP bytes allocated): when *CAP < NEED,
 * reallocated to FIRST bytes (when *CAP is 0) or *CAP, doubled until it
 * reaches NEED. 0; or -1 with errno ENOMEM and *BUF, *CAP as they were.
 * The caller keeps NEED far enough below SIZE_MAX for the doubling.
 */
static inline int grow_bytes(char **buf, size_t *cap, size_t need, size_t first)
{
	size_t c = *cap ? *cap : first;
	char *nb;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	nb = realloc(*buf, c);
	if (!nb)
		return -1;
	*buf = nb;
	*cap = c;
	return 0;
}

#endif
