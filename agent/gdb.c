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
};

AGENT_EXPORT struct agent_gdb_anchor memtrace_gdb = {
	.magic = AGENT_GDB_MAGIC,
	.version = AGENT_GDB_VERSION,
	.ptr_size = sizeof(void *),
	.nfields = sizeof(struct agent_gdb_anchor) / 8,
	.blocks = AGENT_GDB_PTR(&agent_gdb_blocks),
	.contexts = AGENT_GDB_PTR(&agent_gdb_contexts),
	.memory = AGENT_GDB_PTR(&agent_gdb_memory),
	.recording = AGENT_GDB_PTR(&agent_state.recording),
	.failure = AGENT_GDB_PTR(&agent_state.failure),
	.break_ctx = AGENT_GDB_PTR(&agent_gdb_break_ctx),
};

_Static_assert(sizeof(struct agent_gdb_ptr) == 8, "anchor fields are 8 bytes");
_Static_assert(sizeof(struct agent_gdb_anchor) % 8 == 0, "anchor fields are 8 bytes");

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
