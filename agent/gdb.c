/*
 * The debugger anchor (agent/gdb.h): `memtrace_gdb`, the one exported data
 * symbol, points at the descriptors each table module keeps beside its
 * table, and at the break hook's state. All of it is initialised data, fixed
 * at link time: it is right in a core taken at any moment, even before the
 * agent started. It is writable on purpose: writable pages are always in a
 * core, while gdb may take read-only ones from the (unrelocated) file.
 */
#include "agent.h"
#include "gdb.h"
#include "state.h"

uint32_t agent_gdb_break_ctx;

/* Fields in order: enum anchor_word. */
struct agent_gdb_anchor {
	uint64_t magic;
	uint64_t version;
	uint64_t ptr_size;
	uint64_t nfields;		/* 8-byte fields in the anchor */
	struct agent_gdb_ptr blocks;	/* struct agent_gdb_blocks */
	struct agent_gdb_ptr contexts;	/* struct agent_gdb_contexts */
	struct agent_gdb_ptr memory;	/* struct agent_gdb_memory */
	struct agent_gdb_ptr recording;	/* int: the hooks record */
	struct agent_gdb_ptr failure;	/* const char *: why recording stopped, or NULL */
	struct agent_gdb_ptr break_ctx;	/* uint32_t: armed context id, 0 when none */
	uint64_t hit_ctx;		/* the last break: context, block, size */
	uint64_t hit_ptr;
	uint64_t hit_size;
	struct agent_gdb_ptr heap;	/* struct agent_gdb_heap */
	struct agent_gdb_ptr own;	/* struct agent_gdb_own */
};

AGENT_EXPORT struct agent_gdb_anchor memtrace_gdb = {
	.magic = ANCHOR_MAGIC,
	.version = ANCHOR_VERSION,
	.ptr_size = sizeof(void *),
	.nfields = sizeof(struct agent_gdb_anchor) / 8,
	.blocks = AGENT_GDB_PTR(&agent_gdb_blocks),
	.contexts = AGENT_GDB_PTR(&agent_gdb_contexts),
	.memory = AGENT_GDB_PTR(&agent_gdb_memory),
	.recording = AGENT_GDB_PTR(&agent_state.recording),
	.failure = AGENT_GDB_PTR(&agent_state.failure),
	.break_ctx = AGENT_GDB_PTR(&agent_gdb_break_ctx),
	.heap = AGENT_GDB_PTR(&agent_gdb_heap),
	.own = AGENT_GDB_PTR(&agent_gdb_own),
};

_Static_assert(sizeof(struct agent_gdb_ptr) == 8, "anchor fields are 8 bytes");
_Static_assert(sizeof(struct agent_gdb_anchor) % 8 == 0, "anchor fields are 8 bytes");

/* Each field is the word common/anchor.h says it is: the readers use those numbers. */
#define AT(type, field, word) _Static_assert(offsetof(struct type, field) == 8 * (word), #field " is word " #word)
AT(agent_gdb_anchor, magic, ANCHOR_MAGIC_W);
AT(agent_gdb_anchor, version, ANCHOR_VERSION_W);
AT(agent_gdb_anchor, ptr_size, ANCHOR_PTR_SIZE);
AT(agent_gdb_anchor, nfields, ANCHOR_NFIELDS);
AT(agent_gdb_anchor, blocks, ANCHOR_BLOCKS);
AT(agent_gdb_anchor, contexts, ANCHOR_CONTEXTS);
AT(agent_gdb_anchor, memory, ANCHOR_MEMORY);
AT(agent_gdb_anchor, recording, ANCHOR_RECORDING);
AT(agent_gdb_anchor, failure, ANCHOR_FAILURE);
AT(agent_gdb_anchor, break_ctx, ANCHOR_BREAK_CTX);
AT(agent_gdb_anchor, hit_ctx, ANCHOR_HIT_CTX);
AT(agent_gdb_anchor, hit_ptr, ANCHOR_HIT_PTR);
AT(agent_gdb_anchor, hit_size, ANCHOR_HIT_SIZE);
AT(agent_gdb_anchor, heap, ANCHOR_HEAP);
AT(agent_gdb_anchor, own, ANCHOR_OWN);
_Static_assert(sizeof(struct agent_gdb_anchor) == 8 * ANCHOR_WORDS, "the anchor's words");

AT(agent_gdb_blocks, shards, ANCHOR_B_SHARDS);
AT(agent_gdb_blocks, nshards, ANCHOR_B_NSHARDS);
AT(agent_gdb_blocks, shard_stride, ANCHOR_B_SHARD_STRIDE);
AT(agent_gdb_blocks, shard_cap_off, ANCHOR_B_SHARD_CAP_OFF);
AT(agent_gdb_blocks, shard_count_off, ANCHOR_B_SHARD_COUNT_OFF);
AT(agent_gdb_blocks, shard_slots_off, ANCHOR_B_SHARD_SLOTS_OFF);
AT(agent_gdb_blocks, entry_stride, ANCHOR_B_ENTRY_STRIDE);
AT(agent_gdb_blocks, entry_ptr_off, ANCHOR_B_ENTRY_PTR_OFF);
AT(agent_gdb_blocks, entry_seq_off, ANCHOR_B_ENTRY_SEQ_OFF);
AT(agent_gdb_blocks, entry_ctx_size_off, ANCHOR_B_ENTRY_CTX_SIZE_OFF);
AT(agent_gdb_blocks, size_bits, ANCHOR_B_SIZE_BITS);
_Static_assert(sizeof(struct agent_gdb_blocks) == 8 * ANCHOR_B_WORDS, "the blocks descriptor's words");

AT(agent_gdb_contexts, by_id, ANCHOR_C_BY_ID);
AT(agent_gdb_contexts, count, ANCHOR_C_COUNT);
AT(agent_gdb_contexts, chunk_bits, ANCHOR_C_CHUNK_BITS);
AT(agent_gdb_contexts, nchunks, ANCHOR_C_NCHUNKS);
AT(agent_gdb_contexts, id_off, ANCHOR_C_ID_OFF);
AT(agent_gdb_contexts, depth_off, ANCHOR_C_DEPTH_OFF);
AT(agent_gdb_contexts, truncated_off, ANCHOR_C_TRUNCATED_OFF);
AT(agent_gdb_contexts, peak_off, ANCHOR_C_PEAK_OFF);
AT(agent_gdb_contexts, slot_off, ANCHOR_C_SLOT_OFF);
AT(agent_gdb_contexts, slot_stride, ANCHOR_C_SLOT_STRIDE);
AT(agent_gdb_contexts, nslots, ANCHOR_C_NSLOTS);
AT(agent_gdb_contexts, slot_live_blocks_off, ANCHOR_C_SLOT_LIVE_BLOCKS_OFF);
AT(agent_gdb_contexts, slot_live_bytes_off, ANCHOR_C_SLOT_LIVE_BYTES_OFF);
AT(agent_gdb_contexts, slot_total_allocs_off, ANCHOR_C_SLOT_TOTAL_ALLOCS_OFF);
AT(agent_gdb_contexts, slot_total_bytes_off, ANCHOR_C_SLOT_TOTAL_BYTES_OFF);
AT(agent_gdb_contexts, pcs_off, ANCHOR_C_PCS_OFF);
_Static_assert(sizeof(struct agent_gdb_contexts) == 8 * ANCHOR_C_WORDS, "the contexts descriptor's words");

AT(agent_gdb_memory, bytes, ANCHOR_M_BYTES);
AT(agent_gdb_memory, kinds, ANCHOR_M_KINDS);
AT(agent_gdb_memory, kind_blocks, ANCHOR_M_KIND_BLOCKS);
AT(agent_gdb_memory, kind_contexts, ANCHOR_M_KIND_CONTEXTS);
_Static_assert(sizeof(struct agent_gdb_memory) == 8 * ANCHOR_M_WORDS, "the memory descriptor's words");
AT(agent_gdb_heap, kind, ANCHOR_H_KIND);
AT(agent_gdb_heap, version, ANCHOR_H_VERSION);
AT(agent_gdb_heap, main_arena, ANCHOR_H_MAIN_ARENA);
AT(agent_gdb_heap, tcache_key, ANCHOR_H_TCACHE_KEY);
_Static_assert(sizeof(struct agent_gdb_heap) == 8 * ANCHOR_H_WORDS, "the heap descriptor's words");

AT(agent_gdb_own, maps, ANCHOR_O_MAPS);
AT(agent_gdb_own, nmaps, ANCHOR_O_NMAPS);
AT(agent_gdb_own, cap, ANCHOR_O_CAP);
AT(agent_gdb_own, overflow, ANCHOR_O_OVERFLOW);
AT(agent_gdb_own, self_lo, ANCHOR_O_SELF_LO);
AT(agent_gdb_own, self_hi, ANCHOR_O_SELF_HI);
AT(agent_gdb_own, thread_tid, ANCHOR_O_THREAD_TID);
AT(agent_gdb_own, thread_stack, ANCHOR_O_THREAD_STACK);
_Static_assert(sizeof(struct agent_gdb_own) == 8 * ANCHOR_O_WORDS, "the own-memory descriptor's words");
#undef AT

/*
 * What the debugger's breakpoint is on, once the hit is written down. Empty,
 * but never inlined nor dropped (the asm is a side effect the compiler must
 * keep), so there is a call to stop at.
 */
__attribute__((noinline, noclone)) static void break_hit(void)
{
	__asm__ __volatile__("" : : : "memory");
}

AGENT_EXPORT void memtrace_gdb_break_hit(void) __attribute__((alias("break_hit")));

void agent_gdb_break(uint32_t ctx, uintptr_t ptr, uint64_t size)
{
	__atomic_store_n(&agent_gdb_break_ctx, 0, __ATOMIC_RELAXED);	/* one stop per arming */
	memtrace_gdb.hit_ctx = ctx;
	memtrace_gdb.hit_ptr = ptr;
	memtrace_gdb.hit_size = size;
	break_hit();
}
