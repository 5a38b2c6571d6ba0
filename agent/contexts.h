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

#define AGENT_CTX_NO_UNWIND_INFO 2

/* Threads are spread over this many counter slots per context. */
#define AGENT_CTX_SLOTS 4

/*
 * Counters one thread (or a few, when there are more threads than slots)
 * updates, one cache line each, so threads sharing a callstack do not pass
 * lines back and forth. Sums over the slots give the context's figures.
 */
struct agent_ctx_slot {
	int64_t live_blocks;
	int64_t live_bytes;
	uint64_t total_allocs;
	uint64_t total_bytes;
	uint64_t last_ns;
	int64_t high;			/* highest live_bytes this slot reached */
} __attribute__((aligned(64)));

struct agent_ctx {
	/* Read-mostly line: identity and stack. */
	uint32_t id;			/* 1, 2, ...: stable for the session */
	uint16_t depth;			/* frames in pcs[] */
	uint8_t truncated;		/* 1: the stack went deeper than the limit;
					 * AGENT_CTX_NO_UNWIND_INFO: it ends where
					 * code has no unwind info (unwinder.h) */
	uint8_t unused;
	uint64_t hash;
	uint64_t first_ns;		/* CLOCK_MONOTONIC of the first allocation (0: none since clear) */
	/*
	 * Highest sum of the slots' live bytes, taken whenever a slot passes its
	 * own high: exact when a single thread allocates and frees the
	 * context's blocks, otherwise a lower bound of the true peak.
	 */
	int64_t peak_live_bytes;
	struct agent_ctx_slot slot[AGENT_CTX_SLOTS];
	uintptr_t pcs[];		/* return addresses, innermost first */
} __attribute__((aligned(64)));

/* Sums over the slots of a context. */
struct agent_ctx_stats {
	int64_t live_blocks;
	int64_t live_bytes;
	uint64_t total_allocs;
	uint64_t total_bytes;
	int64_t peak_live_bytes;
	uint64_t first_ns, last_ns;
};

void agent_ctx_stats(const struct agent_ctx *c, struct agent_ctx_stats *st);

/* The calling thread's slot. */
int agent_ctx_slot_of_thread(void);

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

/*
 * Visit contexts 1 to LAST in id order: LAST is agent_ctx_count() as the
 * caller read it once (e.g. to size a table for what FN collects), so that
 * contexts created meanwhile are left out. Takes no lock (contexts are never
 * freed while recording): FN reads the counters as the threads that allocate
 * update them.
 */
typedef void (*agent_ctx_fn)(struct agent_ctx *c, void *arg);
void agent_ctx_foreach(uint32_t last, agent_ctx_fn fn, void *arg);

/* Called when a slot passed its own high: update the context's peak. */
void agent_ctx_new_high(struct agent_ctx *c);

static inline void agent_ctx_alloc(struct agent_ctx *c, uint64_t size, uint64_t now_ns, int slot)
{
	struct agent_ctx_slot *sl = &c->slot[slot];
	int64_t live = __atomic_add_fetch(&sl->live_bytes, (int64_t)size, __ATOMIC_RELAXED);

	__atomic_add_fetch(&sl->live_blocks, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&sl->total_allocs, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&sl->total_bytes, size, __ATOMIC_RELAXED);
	__atomic_store_n(&sl->last_ns, now_ns, __ATOMIC_RELAXED);
	if (__builtin_expect(live > __atomic_load_n(&sl->high, __ATOMIC_RELAXED), 0)) {
		__atomic_store_n(&sl->high, live, __ATOMIC_RELAXED);
		agent_ctx_new_high(c);
	}
	if (__builtin_expect(!__atomic_load_n(&c->first_ns, __ATOMIC_RELAXED), 0)) {
		uint64_t zero = 0;

		__atomic_compare_exchange_n(&c->first_ns, &zero, now_ns, 0,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	}
}

static inline void agent_ctx_free(struct agent_ctx *c, uint64_t size, int slot)
{
	__atomic_sub_fetch(&c->slot[slot].live_blocks, 1, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&c->slot[slot].live_bytes, (int64_t)size, __ATOMIC_RELAXED);
}

/*
 * Forget every context and unmap the index, the id chunks and the contexts
 * (detach); ids start again from 1. Only when no thread can be using a
 * context (quiesce.h): lookups take no lock.
 */
void agent_ctx_release(void);

/* Zero the cumulative statistics and times of every context (a clear). */
void agent_ctx_reset_totals(void);

/* Restart every context's peak at what it holds now (a clear, after the
 * blocks were forgotten). */
void agent_ctx_reset_peaks(void);

#endif
