/*
 * Contexts: one per distinct callstack, found by hashing the stack. Lookups
 * take no lock (the index is published with release stores and only ever
 * replaced by a bigger copy); creation takes one lock and is rare. The
 * statistics are updated with atomics by the threads that allocate and free.
 *
 * The layout of struct agent_ctx is documented in docs/architecture.md so a
 * debugger can read contexts from a core.
 */
#ifndef AGENT_CONTEXTS_H
#define AGENT_CONTEXTS_H

#include <stddef.h>
#include <stdint.h>

struct agent_ctx {
	uint32_t id;			/* 1, 2, ...: stable for the session */
	uint16_t depth;			/* frames in pcs[] */
	uint8_t truncated;		/* the stack went deeper than the limit */
	uint8_t unused;
	uint64_t hash;
	int64_t live_blocks;
	int64_t live_bytes;
	uint64_t total_allocs;
	uint64_t total_bytes;
	int64_t peak_live_bytes;
	uint64_t first_ns;		/* CLOCK_MONOTONIC of the first and last allocation */
	uint64_t last_ns;
	uintptr_t pcs[];		/* return addresses, innermost first */
} __attribute__((aligned(64)));

/* Hash of a stack, as agent_ctx_get expects it. */
uint64_t agent_stack_hash(const uintptr_t *pcs, int depth);

/*
 * The context of stack PCS[0..DEPTH), created if new. NULL when the table
 * is full or no memory can be mapped.
 */
struct agent_ctx *agent_ctx_get(const uintptr_t *pcs, int depth, uint64_t hash);

/* Context by id; NULL if there is none. */
struct agent_ctx *agent_ctx_by_id(uint32_t id);

/* Number of contexts created; ids run from 1 to this. */
uint32_t agent_ctx_count(void);

static inline void agent_ctx_alloc(struct agent_ctx *c, uint64_t size, uint64_t now_ns)
{
	int64_t live;
	int64_t peak;

	__atomic_add_fetch(&c->live_blocks, 1, __ATOMIC_RELAXED);
	live = __atomic_add_fetch(&c->live_bytes, (int64_t)size, __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->total_allocs, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->total_bytes, size, __ATOMIC_RELAXED);
	peak = __atomic_load_n(&c->peak_live_bytes, __ATOMIC_RELAXED);
	while (live > peak &&
	       !__atomic_compare_exchange_n(&c->peak_live_bytes, &peak, live, 1,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	if (!__atomic_load_n(&c->first_ns, __ATOMIC_RELAXED)) {
		uint64_t zero = 0;

		__atomic_compare_exchange_n(&c->first_ns, &zero, now_ns, 0,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&c->last_ns, now_ns, __ATOMIC_RELAXED);
}

static inline void agent_ctx_free(struct agent_ctx *c, uint64_t size)
{
	__atomic_sub_fetch(&c->live_blocks, 1, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&c->live_bytes, (int64_t)size, __ATOMIC_RELAXED);
}

/* Zero the cumulative statistics of every context (after a clear). */
void agent_ctx_reset_totals(void);

#endif
