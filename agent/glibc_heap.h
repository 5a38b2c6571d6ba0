/*
 * What a reader of glibc's heap cannot find from outside without symbols,
 * measured once inside the process (../shared/notes/leak-verdicts.md,
 * 4.3c and 4.5): where main_arena is, the process's tcache key, glibc's
 * version. Published for memtrace and memtrace-server through the debugger
 * anchor (ANCHOR_HEAP, enum anchor_heap_word), so a core carries it too;
 * common/glibcheap.c walks the heap with it.
 */
#ifndef AGENT_GLIBC_HEAP_H
#define AGENT_GLIBC_HEAP_H

#include <stddef.h>

#include "glibcheap.h"

/* The allocator to measure with: the real one, never the hooks. */
struct agent_glibc_alloc {
	void *(*malloc)(size_t);
	void (*free)(void *);
};

/*
 * Find main_arena and the tcache key with A (a few blocks allocated and
 * freed; nothing kept), and glibc's version, into *OUT. 0, or -1 when this
 * is not glibc (no gnu_get_libc_version: musl), when A is not glibc's own
 * malloc and free (a preloaded allocator), when glibc is older than 2.35
 * (another layout), or when main_arena does not check out (every candidate
 * is tested before it is read: this never faults). OUT->tcache_key is 0
 * when tcache is off or the key did not check out. Takes no lock but the
 * allocator's own; allocates only through A. Any thread, any time after
 * libc is initialised.
 */
int agent_glibc_heap_find(const struct agent_glibc_alloc *a, struct glibcheap_info *out);

/*
 * Measure with agent_real's malloc and free (the caller has agent_guard
 * set) and publish in the anchor's heap descriptor: kind 1 (glibc) with
 * the figures, or kind 0 (unknown) when the finder fails. Once per
 * process; later calls do nothing.
 */
void agent_glibc_heap_publish(void);

#endif
