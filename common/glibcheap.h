/*
 * glibc's heap as the allocator holds it, read from outside (a stopped
 * process, a core) through a struct memsrc: every chunk in use, whether or
 * not memtrace saw it allocated, so that blocks from before the attach get
 * leak verdicts too. glibc 2.35 and later (the layouts of
 * ../shared/notes/leak-verdicts.md, section 4, checked on x86_64, aarch64,
 * armhf and armel with glibc 2.36); anything else is refused with a
 * message, never guessed.
 *
 * In use is: the next chunk's PREV_INUSE bit set, minus the top chunk, the
 * fenceposts at the end of a non-main heap, the fastbin members (each
 * arena's lists, demangled: safe-linking) and the tcache members: those on
 * the lists of every tcache struct found, and on 64-bit also any chunk
 * whose word 1 is the process's tcache key (on 32-bit a key matches a
 * random word once in 2^32 chunks: only the lists count there). mmapped
 * chunks are in no list: they are found in the anonymous mappings given,
 * page by page (prev_size 0, size a page multiple with only IS_MMAPPED).
 *
 * A thread's tcache_perthread_struct is told by its shape and reported
 * with `internal` set: chunk size 0x290 (64-bit) or 0x188 (32-bit);
 * entries[i] is 0 exactly when counts[i] is; the first entry of each
 * non-empty bin a chunk of that bin's size. An all-zero one (a thread that
 * never freed) is taken as internal only where a thread's first malloc
 * puts it, the first chunk of its arena; elsewhere it is the user's block.
 *
 * The main arena's chunks run from system_mem bytes before the end of top
 * (sbrk_base, for a contiguous arena) to the end of top; each non-main
 * arena's heaps from top & ~(HEAP_MAX_SIZE - 1) through heap_info.prev.
 *
 * Not handled, refused with a message: a main arena that left brk for mmap
 * (non-contiguous), brk moved by someone else than malloc (system_mem then
 * does not fit), heaps of another size (glibc.malloc.hugetlb with pages
 * above HEAP_MAX_SIZE). Missed: mmapped chunks of memalign (their
 * prev_size is not 0). i386 (16-byte alignment on 4-byte pointers) is not
 * a memtrace target and would need its own layout.
 */
#ifndef MEMTRACE_GLIBCHEAP_H
#define MEMTRACE_GLIBCHEAP_H

#include <stddef.h>
#include <stdint.h>

#include "memsrc.h"

/* What the agent measures inside the process (agent/glibc_heap.c) and
 * publishes through the anchor; what a core's reader finds the same way. */
struct glibcheap_info {
	uint64_t main_arena;	/* &main_arena (libc's .data) */
	uint64_t tcache_key;	/* the process's tcache_key; 0: tcache off or not known */
	unsigned version;	/* glibc's version as 100 * major + minor: 236 */
};

/* A mapping of the process, as /proc/PID/maps or a core's segments give it. */
struct glibcheap_map {
	uint64_t lo, hi;
	int anon_rw;		/* private anonymous, readable and writable: may hold mmapped chunks */
};

/* One chunk in use. */
struct glibcheap_chunk {
	uint64_t mem;		/* what malloc returned: chunk + 2 words */
	uint64_t usable;	/* bytes the program may use (malloc_usable_size) */
	int internal;		/* glibc's own: a thread's tcache_perthread_struct */
};

/* A range the allocator owns (to leave out of the roots): the main heap up
 * to the end of top, every non-main heap with its reserve, each mmapped
 * chunk, the main arena's struct. */
struct glibcheap_range {
	uint64_t lo, hi;
};

struct glibcheap_walk {
	/* Called for each chunk in use, in no particular order; nonzero stops the walk. */
	int (*chunk)(void *arg, const struct glibcheap_chunk *c);
	/* Called for each range the allocator owns. */
	void (*owned)(void *arg, const struct glibcheap_range *r);
	/*
	 * Optional: called with each piece of a heap the walk read (64 KiB
	 * windows from a chunk's header on; a heap's in address order, each
	 * starting past the start of the one before), so the caller may keep what
	 * it needs of the chunks' contents (leak_words, leaks.h) instead of
	 * reading them again.
	 */
	void (*read)(void *arg, uint64_t addr, const void *buf, size_t len);
	void *arg;
	/* Figures: chunks in use, free chunks seen, arenas, heaps, mmapped chunks. */
	size_t n_used, n_free, n_arenas, n_heaps, n_mmapped;
};

/*
 * Walk the heap of the process M reads (every thread stopped), with INFO
 * and the process's mappings MAPS (N of them, sorted by lo). 0, or -1 with
 * a message for the user in ERR (ERRLEN bytes): a glibc version this does
 * not know, an arena that does not check out (a thread was stopped inside
 * malloc holding the arena: its mutex word is nonzero; the caller may let
 * the process run a moment and try again), a chunk header that makes no
 * sense (corruption; the walk stops rather than guess). W->chunk and
 * W->owned may be called before an error.
 */
int glibcheap_walk(const struct memsrc *m, const struct glibcheap_info *info,
		   const struct glibcheap_map *maps, size_t n, struct glibcheap_walk *w, char *err,
		   size_t errlen);

#endif
