/*
 * The debugger anchor: an exported global, `memtrace_gdb`, from which plain
 * gdb commands (gdbinit/memtrace.gdb) find and walk the agent's tables in a
 * live process or a core, with no call into the agent and no debug info
 * for it (the agent ships stripped: only its dynamic symbols are there).
 *
 * Every field of the anchor and of the descriptors it points to is 8 bytes
 * wide, on every architecture: field K of a descriptor at D is the 64-bit
 * word at D + 8 * K, and a pointer is stored zero-extended. The script reads
 * them all the same way; only what the descriptors point at (the tables)
 * has the target's pointer size, which the anchor gives. Which word holds
 * what is written once, in common/anchor.h, for the agent and the readers:
 * the structs below follow it, and agent/gdb.c checks each field's place
 * against it at compile time. docs/architecture.md ("For debuggers") draws
 * them; a change of their meaning or order bumps ANCHOR_VERSION, and new
 * fields only ever go at the end.
 */
#ifndef AGENT_GDB_H
#define AGENT_GDB_H

#include <stddef.h>
#include <stdint.h>

#include "anchor.h"

/* A pointer in a 64-bit field: zero-extended on 32-bit targets. */
struct agent_gdb_ptr {
#if __SIZEOF_POINTER__ == 4 && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	uint32_t high;
#endif
	const volatile void *p;
#if __SIZEOF_POINTER__ == 4 && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint32_t high;
#endif
} __attribute__((aligned(8)));

#define AGENT_GDB_PTR(x) { .p = (x) }

/* The block table (agent/blocks.c), fields in order: enum anchor_blocks_word. */
struct agent_gdb_blocks {
	struct agent_gdb_ptr shards;	/* array of nshards shards */
	uint64_t nshards;
	uint64_t shard_stride;		/* bytes from one shard to the next */
	uint64_t shard_cap_off;		/* uint32_t: slots in the shard's table (0: none yet) */
	uint64_t shard_count_off;	/* uint32_t: blocks in it */
	uint64_t shard_slots_off;	/* pointer: the table, cap entries */
	uint64_t entry_stride;		/* bytes per entry (struct agent_block) */
	uint64_t entry_ptr_off;		/* uint64_t: block address, 0 for an empty slot */
	uint64_t entry_seq_off;		/* uint64_t: allocation sequence number */
	uint64_t entry_ctx_size_off;	/* uint64_t: context id << size_bits | size */
	uint64_t size_bits;
};

/* The context table (agent/contexts.c), fields in order: enum anchor_contexts_word. */
struct agent_gdb_contexts {
	struct agent_gdb_ptr by_id;	/* array of nchunks pointers (NULL: not made yet)
					 * to arrays of 2^chunk_bits context pointers */
	struct agent_gdb_ptr count;	/* uint32_t: contexts made; ids run 1..count */
	uint64_t chunk_bits;		/* context id -> by_id[id >> chunk_bits][id & mask] */
	uint64_t nchunks;
	uint64_t id_off;		/* uint32_t */
	uint64_t depth_off;		/* uint16_t: frames in pcs */
	uint64_t truncated_off;		/* uint8_t */
	uint64_t peak_off;		/* int64_t: peak live bytes */
	uint64_t slot_off;		/* first counter slot */
	uint64_t slot_stride;
	uint64_t nslots;		/* a figure is the sum over the slots */
	uint64_t slot_live_blocks_off;	/* int64_t (one slot alone may be negative) */
	uint64_t slot_live_bytes_off;	/* int64_t */
	uint64_t slot_total_allocs_off;	/* uint64_t */
	uint64_t slot_total_bytes_off;	/* uint64_t */
	uint64_t pcs_off;		/* pointer-sized return addresses, innermost first */
};

/* The agent's memory counters (agent/arena.c), fields in order: enum anchor_memory_word. */
struct agent_gdb_memory {
	struct agent_gdb_ptr bytes;	/* size_t[kinds]: bytes mapped per kind */
	uint64_t kinds;
	uint64_t kind_blocks;		/* index of the block tables' counter */
	uint64_t kind_contexts;
};

/* The allocator (agent/glibc_heap.c), fields in order: enum anchor_heap_word. */
struct agent_gdb_heap {
	uint64_t kind;			/* ANCHOR_HEAP_*, written last */
	uint64_t version;
	uint64_t main_arena;
	uint64_t tcache_key;
};

/* The agent's own memory (agent/arena.c), fields in order: enum anchor_own_word. */
struct agent_gdb_own {
	struct agent_gdb_ptr maps;	/* [cap][2] pointer-sized [lo, hi) of each mapping */
	uint64_t nmaps;			/* listed now */
	uint64_t cap;
	uint64_t overflow;		/* 1: a mapping could not be listed */
	uint64_t self_lo;		/* the agent's module */
	uint64_t self_hi;
	uint64_t thread_tid;		/* the control thread, 0 before it runs */
	uint64_t thread_stack;		/* an address on its stack */
};

/*
 * Each descriptor is defined beside the table it describes (blocks.c,
 * contexts.c, arena.c, glibc_heap.c), so its layout is written where the
 * data is; gdb.c's anchor points at them.
 */
extern struct agent_gdb_blocks agent_gdb_blocks;
extern struct agent_gdb_contexts agent_gdb_contexts;
extern struct agent_gdb_memory agent_gdb_memory;
extern struct agent_gdb_heap agent_gdb_heap;
extern struct agent_gdb_own agent_gdb_own;

/*
 * The context id a debugger armed (memtrace-break), 0 when none. Hidden, so
 * the hook's check is one plain load. When the recording hook sees a block
 * of that context it calls agent_gdb_break(), which disarms and calls the
 * exported memtrace_gdb_break_hit() the debugger has a breakpoint on.
 */
extern uint32_t agent_gdb_break_ctx __attribute__((visibility("hidden")));

void agent_gdb_break(uint32_t ctx, uintptr_t ptr, uint64_t size);

/* In the recording hook, once block PTR of SIZE bytes is recorded in CTX. */
static inline void agent_gdb_break_check(uint32_t ctx, void *ptr, size_t size)
{
	if (__builtin_expect(__atomic_load_n(&agent_gdb_break_ctx, __ATOMIC_RELAXED) == ctx, 0))
		agent_gdb_break(ctx, (uintptr_t)ptr, size);
}

#endif
