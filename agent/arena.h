/*
 * The agent's own memory. Everything comes from mmap, never from the
 * allocator the agent replaces, and every byte is counted so `status` can
 * show what memtrace costs the target.
 */
#ifndef AGENT_ARENA_H
#define AGENT_ARENA_H

#include <stddef.h>
#include <stdint.h>

enum agent_mem_kind {
	AGENT_MEM_BLOCKS,	/* the live-block tables */
	AGENT_MEM_CONTEXTS,	/* contexts and their index */
	AGENT_MEM_OTHER,	/* buffers for requests and reports */
	AGENT_MEM_UNWIND,	/* the compact unwind tables (cfi.h) */
	AGENT_MEM_KINDS
};

/* Anonymous private mapping of SIZE bytes (rounded up to pages), zeroed.
 * NULL on failure. */
void *agent_map(size_t size, enum agent_mem_kind kind);
/* Give back a mapping from agent_map with the same SIZE and KIND. */
void agent_unmap(void *p, size_t size, enum agent_mem_kind kind);
/* Grow or shrink a mapping (may move). NULL on failure, the old one intact. */
void *agent_remap(void *p, size_t old_size, size_t new_size, enum agent_mem_kind kind);

/*
 * The whole pages inside P..P+SIZE, a zero-initialised static object (.bss)
 * whose bytes are all zero again, go back to the system; they read as
 * zeros afterwards. Only while no thread writes them.
 */
void agent_pages_zeroed(void *p, size_t size);

/* Bytes currently mapped for KIND, and in total. */
size_t agent_mem_bytes(enum agent_mem_kind kind);
size_t agent_mem_total(void);

/*
 * Bump allocation for objects that live until the tables are given back
 * (contexts). ALIGN is a power of two up to 64. Thread-safe. NULL when no
 * memory can be mapped.
 */
void *agent_arena_alloc(size_t size, size_t align, enum agent_mem_kind kind);

/*
 * Unmap everything agent_arena_alloc gave out for KIND (detach). The
 * caller makes sure nothing uses it any more; the arena starts again empty.
 */
void agent_arena_release(enum agent_mem_kind kind);

size_t agent_page_size(void);

/*
 * The rest of the agent's own memory, for the leak scan's list (arena.c):
 * the agent's module [LO, HI), and the control thread (its TID and an
 * address on its stack: memtrace leaves out that thread's registers and
 * the mapping holding its stack).
 */
void agent_mem_own_module(uintptr_t lo, uintptr_t hi);
void agent_mem_own_thread(int tid, const void *on_stack);

#endif
