/*
 * glibc's malloc layout (2.35 and later) for one pointer size, as
 * ../shared/notes/leak-verdicts.md (4.1) measured it with libc6-dbg on
 * x86_64, aarch64, armhf and armel: written once, for the walker
 * (common/glibcheap.c) and the agent's in-process finder
 * (agent/glibc_heap.c). 32-bit is ARM's: i386 aligns to 16 and would need
 * its own (it is not a memtrace target).
 */
#ifndef MEMTRACE_GLIBCHEAP_LAYOUT_H
#define MEMTRACE_GLIBCHEAP_LAYOUT_H

#include <stdint.h>

/* Chunk header flags. */
#define GLIBCHEAP_PREV_INUSE 1u
#define GLIBCHEAP_IS_MMAPPED 2u
#define GLIBCHEAP_NON_MAIN_ARENA 4u
#define GLIBCHEAP_FLAGS 7u

#define GLIBCHEAP_NFASTBINS 10
#define GLIBCHEAP_TCACHE_BINS 64

struct glibcheap_layout {
	unsigned w;		/* SIZE_SZ */
	unsigned align;		/* MALLOC_ALIGNMENT */
	unsigned minsize;	/* MINSIZE */
	uint64_t heap_max;	/* HEAP_MAX_SIZE: 2 * DEFAULT_MMAP_THRESHOLD_MAX */
	unsigned state_size;	/* sizeof(struct malloc_state) */
	/* offsetof(struct malloc_state, ...); the mutex is word 0 (an int),
	 * flags the int after it. */
	unsigned off_fastbins, off_top, off_next, off_system_mem;
	unsigned heap_info_size;	/* sizeof(heap_info): ar_ptr, prev, size, mprotect_size, pagesize, pad */
	unsigned tcache_chunk;	/* chunk size of a tcache_perthread_struct */
};

/* The layout for pointers of PTR_SIZE bytes (4 or 8). */
static inline const struct glibcheap_layout *glibcheap_layout(unsigned ptr_size)
{
	static const struct glibcheap_layout l64 = {
		.w = 8, .align = 16, .minsize = 32, .heap_max = 64u << 20, .state_size = 2200,
		.off_fastbins = 16, .off_top = 0x60, .off_next = 0x870, .off_system_mem = 0x888,
		.heap_info_size = 48,
		.tcache_chunk = 0x290,
	};
	static const struct glibcheap_layout l32 = {
		.w = 4, .align = 8, .minsize = 16, .heap_max = 1u << 20, .state_size = 1112,
		.off_fastbins = 12, .off_top = 0x34, .off_next = 0x444, .off_system_mem = 0x450,
		.heap_info_size = 24,
		.tcache_chunk = 0x188,
	};

	return ptr_size == 8 ? &l64 : &l32;
}

#endif
