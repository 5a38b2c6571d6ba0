/*
 * The debugger anchor's layout, as its readers see it: which 64-bit word of
 * `memtrace_gdb` and of the three descriptors it points at holds what
 * (docs/architecture.md, "For debuggers"). Written once here for the agent,
 * which lays its structs out to match (agent/gdb.h, checked at compile time
 * in agent/gdb.c), and for memtrace-server, which reads them from a core or
 * a live process (server/coretab.c). gdbinit/memtrace.gdb cannot include a C
 * header: its indices are these numbers, and it names this file.
 *
 * Word K of a descriptor at D is the 64-bit word at D + 8 * K. A change of
 * a word's meaning or place bumps ANCHOR_VERSION; new words only ever go at
 * the end of an enum, before its _WORDS count.
 */
#ifndef MEMTRACE_ANCHOR_H
#define MEMTRACE_ANCHOR_H

#include <stdint.h>

/* "memtrace" as a big-endian number: word ANCHOR_MAGIC_W of the anchor. */
#define ANCHOR_MAGIC UINT64_C(0x6d656d7472616365)
#define ANCHOR_VERSION 1

/* memtrace_gdb, the anchor. */
enum anchor_word {
	ANCHOR_MAGIC_W,
	ANCHOR_VERSION_W,
	ANCHOR_PTR_SIZE,	/* the target's pointer size, which the tables use */
	ANCHOR_NFIELDS,		/* words in the anchor */
	ANCHOR_BLOCKS,		/* -> the blocks descriptor */
	ANCHOR_CONTEXTS,	/* -> the contexts descriptor */
	ANCHOR_MEMORY,		/* -> the memory descriptor */
	ANCHOR_RECORDING,	/* -> int: the hooks record */
	ANCHOR_FAILURE,		/* -> const char *: why recording stopped, or NULL */
	ANCHOR_BREAK_CTX,	/* -> uint32_t: the armed context id, 0 when none */
	ANCHOR_HIT_CTX,		/* the last break: context, block, size */
	ANCHOR_HIT_PTR,
	ANCHOR_HIT_SIZE,
	ANCHOR_HEAP,		/* -> the heap descriptor; only when NFIELDS > ANCHOR_HEAP */
	ANCHOR_OWN,		/* -> the agent's own memory (leaks.h leaves it out) */
	ANCHOR_WORDS
};

/* The block table's descriptor (agent/blocks.c). */
enum anchor_blocks_word {
	ANCHOR_B_SHARDS,
	ANCHOR_B_NSHARDS,
	ANCHOR_B_SHARD_STRIDE,
	ANCHOR_B_SHARD_CAP_OFF,
	ANCHOR_B_SHARD_COUNT_OFF,
	ANCHOR_B_SHARD_SLOTS_OFF,
	ANCHOR_B_ENTRY_STRIDE,
	ANCHOR_B_ENTRY_PTR_OFF,
	ANCHOR_B_ENTRY_SEQ_OFF,
	ANCHOR_B_ENTRY_CTX_SIZE_OFF,
	ANCHOR_B_SIZE_BITS,
	ANCHOR_B_WORDS
};

/* The context table's descriptor (agent/contexts.c). */
enum anchor_contexts_word {
	ANCHOR_C_BY_ID,
	ANCHOR_C_COUNT,
	ANCHOR_C_CHUNK_BITS,
	ANCHOR_C_NCHUNKS,
	ANCHOR_C_ID_OFF,
	ANCHOR_C_DEPTH_OFF,
	ANCHOR_C_TRUNCATED_OFF,
	ANCHOR_C_PEAK_OFF,
	ANCHOR_C_SLOT_OFF,
	ANCHOR_C_SLOT_STRIDE,
	ANCHOR_C_NSLOTS,
	ANCHOR_C_SLOT_LIVE_BLOCKS_OFF,
	ANCHOR_C_SLOT_LIVE_BYTES_OFF,
	ANCHOR_C_SLOT_TOTAL_ALLOCS_OFF,
	ANCHOR_C_SLOT_TOTAL_BYTES_OFF,
	ANCHOR_C_PCS_OFF,
	ANCHOR_C_WORDS
};

/* The agent's memory counters' descriptor (agent/arena.c). */
enum anchor_memory_word {
	ANCHOR_M_BYTES,
	ANCHOR_M_KINDS,
	ANCHOR_M_KIND_BLOCKS,
	ANCHOR_M_KIND_CONTEXTS,
	ANCHOR_M_WORDS
};

/*
 * The process's allocator as the agent measured it when recording began
 * (agent/glibc_heap.c), for the heap walk of common/glibcheap.c. KIND is 0
 * until then, and stays 0 when the allocator is not glibc or did not check
 * out; ANCHOR_HEAP_SECCOMP when the agent did not measure it, the process
 * being under a seccomp filter (the measure's mincore could be a call the
 * filter kills for).
 */
enum anchor_heap_word {
	ANCHOR_H_KIND,		/* ANCHOR_HEAP_UNKNOWN, ANCHOR_HEAP_GLIBC or ANCHOR_HEAP_SECCOMP */
	ANCHOR_H_VERSION,	/* glibc's version, 100 * major + minor: 236 */
	ANCHOR_H_MAIN_ARENA,	/* &main_arena */
	ANCHOR_H_TCACHE_KEY,	/* tcache_key; 0: tcache off or not known */
	ANCHOR_H_WORDS
};

#define ANCHOR_HEAP_UNKNOWN 0
#define ANCHOR_HEAP_GLIBC 1
#define ANCHOR_HEAP_SECCOMP 2

/* The agent's own memory's descriptor (agent/arena.c). */
enum anchor_own_word {
	ANCHOR_O_MAPS,
	ANCHOR_O_NMAPS,
	ANCHOR_O_CAP,
	ANCHOR_O_OVERFLOW,
	ANCHOR_O_SELF_LO,
	ANCHOR_O_SELF_HI,
	ANCHOR_O_THREAD_TID,
	ANCHOR_O_THREAD_STACK,
	ANCHOR_O_WORDS
};

#endif
