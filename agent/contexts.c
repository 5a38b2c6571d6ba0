/*
 * Context table. The index maps a stack hash to its context with open
 * addressing; readers follow an atomically published pointer and never
 * lock. When the index passes half full the writer publishes a copy twice
 * as big and keeps the old one mapped (a reader may still be probing it);
 * the retired copies add up to less than the live one. Everything is given
 * back at once by agent_ctx_release (detach).
 */
#include <string.h>

#include "arena.h"
#include "blocks.h"
#include "contexts.h"
#include "gdb.h"
#include "lock.h"

#define CHUNK_BITS 12
#define CHUNK_SIZE (1u << CHUNK_BITS)
#define MAX_CONTEXTS AGENT_BLOCK_MAX_CTX
#define NCHUNKS ((MAX_CONTEXTS >> CHUNK_BITS) + 1)

struct ctx_index {
	size_t cap;			/* power of two */
	struct ctx_index *older;	/* the copy this one replaced, kept mapped */
	struct agent_ctx *slots[];
};

static struct ctx_index *index_cur;

static size_t index_size(size_t cap)
{
	return sizeof(struct ctx_index) + cap * sizeof(struct agent_ctx *);
}

static agent_lock_t create_lock;
static uint32_t ctx_count;
static struct agent_ctx **by_id[NCHUNKS];

/* Where a debugger finds the contexts (agent/gdb.h). */
struct agent_gdb_contexts agent_gdb_contexts = {
	.by_id = AGENT_GDB_PTR(by_id),
	.count = AGENT_GDB_PTR(&ctx_count),
	.chunk_bits = CHUNK_BITS,
	.nchunks = NCHUNKS,
	.id_off = offsetof(struct agent_ctx, id),
	.depth_off = offsetof(struct agent_ctx, depth),
	.truncated_off = offsetof(struct agent_ctx, truncated),
	.peak_off = offsetof(struct agent_ctx, peak_live_bytes),
	.slot_off = offsetof(struct agent_ctx, slot),
	.slot_stride = sizeof(struct agent_ctx_slot),
	.nslots = AGENT_CTX_SLOTS,
	.slot_live_blocks_off = offsetof(struct agent_ctx_slot, live_blocks),
	.slot_live_bytes_off = offsetof(struct agent_ctx_slot, live_bytes),
	.slot_total_allocs_off = offsetof(struct agent_ctx_slot, total_allocs),
	.slot_total_bytes_off = offsetof(struct agent_ctx_slot, total_bytes),
	.pcs_off = offsetof(struct agent_ctx, pcs),
};

static __thread int thread_slot = -1;
static int slots_given;

int agent_ctx_slot_of_thread(void)
{
	int s = thread_slot;

	if (__builtin_expect(s < 0, 0)) {
		/* Round robin: with up to AGENT_CTX_SLOTS threads, none share. */
		s = __atomic_fetch_add(&slots_given, 1, __ATOMIC_RELAXED) % AGENT_CTX_SLOTS;
		thread_slot = s;
	}
	return s;
}

/*
 * Rotate-xor over the frames (one cycle each, no multiply chain on the hot
 * path), then one multiply to spread the bits for the index.
 */
uint64_t agent_stack_hash(const uintptr_t *pcs, int depth)
{
	uint64_t h = (uint64_t)depth;

	for (int i = 0; i < depth; i++)
		h = ((h << 7) | (h >> 57)) ^ (uint64_t)pcs[i];
	h *= UINT64_C(0x9E3779B97F4A7C15);
	h ^= h >> 31;
	return h ? h : 1;
}

void agent_ctx_new_high(struct agent_ctx *c)
{
	int64_t sum = 0;
	int64_t peak = __atomic_load_n(&c->peak_live_bytes, __ATOMIC_RELAXED);

	for (int i = 0; i < AGENT_CTX_SLOTS; i++)
		sum += __atomic_load_n(&c->slot[i].live_bytes, __ATOMIC_RELAXED);
	while (sum > peak &&
	       !__atomic_compare_exchange_n(&c->peak_live_bytes, &peak, sum, 1,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

void agent_ctx_stats(const struct agent_ctx *c, struct agent_ctx_stats *st)
{
	st->live_blocks = 0;
	st->live_bytes = 0;
	st->total_allocs = 0;
	st->total_bytes = 0;
	st->last_ns = 0;
	for (int i = 0; i < AGENT_CTX_SLOTS; i++) {
		const struct agent_ctx_slot *sl = &c->slot[i];
		uint64_t last = __atomic_load_n(&sl->last_ns, __ATOMIC_RELAXED);

		st->live_blocks += __atomic_load_n(&sl->live_blocks, __ATOMIC_RELAXED);
		st->live_bytes += __atomic_load_n(&sl->live_bytes, __ATOMIC_RELAXED);
		st->total_allocs += __atomic_load_n(&sl->total_allocs, __ATOMIC_RELAXED);
		st->total_bytes += __atomic_load_n(&sl->total_bytes, __ATOMIC_RELAXED);
		if (last > st->last_ns)
			st->last_ns = last;
	}
	st->peak_live_bytes = __atomic_load_n(&c->peak_live_bytes, __ATOMIC_RELAXED);
	st->first_ns = __atomic_load_n(&c->first_ns, __ATOMIC_RELAXED);
}

static int same_stack(const struct agent_ctx *c, const uintptr_t *pcs, int depth, uint64_t hash)
{
	return c->hash == hash && c->depth == depth &&
	       memcmp(c->pcs, pcs, (size_t)depth * sizeof(*pcs)) == 0;
}

static struct agent_ctx *lookup(struct ctx_index *ix, const uintptr_t *pcs, int depth, uint64_t hash)
{
	size_t mask;
	size_t i;

	if (!ix)
		return NULL;
	mask = ix->cap - 1;
	for (i = hash & mask;; i = (i + 1) & mask) {
		struct agent_ctx *c = __atomic_load_n(&ix->slots[i], __ATOMIC_ACQUIRE);

		if (!c)
			return NULL;
		if (same_stack(c, pcs, depth, hash))
			return c;
	}
}

static void index_put(struct ctx_index *ix, struct agent_ctx *c)
{
	size_t mask = ix->cap - 1;
	size_t i = c->hash & mask;

	while (ix->slots[i])
		i = (i + 1) & mask;
	__atomic_store_n(&ix->slots[i], c, __ATOMIC_RELEASE);
}

/* Called with create_lock held. 0 or -1. */
static int index_make_room(void)
{
	struct ctx_index *ix = index_cur;
	struct ctx_index *nix;
	size_t cap;

	if (ix && (size_t)(ctx_count + 1) * 2 <= ix->cap)
		return 0;
	cap = ix ? ix->cap * 2 : 1024;
	nix = agent_map(index_size(cap), AGENT_MEM_CONTEXTS);
	if (!nix)
		return -1;
	nix->cap = cap;
	nix->older = ix;
	if (ix)
		for (size_t i = 0; i < ix->cap; i++)
			if (ix->slots[i])
				index_put(nix, ix->slots[i]);
	__atomic_store_n(&index_cur, nix, __ATOMIC_RELEASE);
	return 0;
}

struct agent_ctx *agent_ctx_get(const uintptr_t *pcs, int depth, uint64_t hash)
{
	struct agent_ctx *c = lookup(__atomic_load_n(&index_cur, __ATOMIC_ACQUIRE), pcs, depth, hash);
	uint32_t id;
	uint32_t chunk;

	if (c)
		return c;
	agent_lock(&create_lock);
	c = lookup(index_cur, pcs, depth, hash);
	if (c)
		goto out;
	if (ctx_count >= MAX_CONTEXTS || index_make_room() < 0)
		goto out;
	id = ctx_count + 1;
	chunk = id >> CHUNK_BITS;
	if (!by_id[chunk]) {
		by_id[chunk] = agent_map(CHUNK_SIZE * sizeof(by_id[0][0]), AGENT_MEM_CONTEXTS);
		if (!by_id[chunk])
			goto out;
	}
	c = agent_arena_alloc(sizeof(*c) + (size_t)depth * sizeof(pcs[0]), 64, AGENT_MEM_CONTEXTS);
	if (!c)
		goto out;
	c->id = id;
	c->depth = (uint16_t)depth;
	c->hash = hash;
	memcpy(c->pcs, pcs, (size_t)depth * sizeof(pcs[0]));
	__atomic_store_n(&by_id[chunk][id & (CHUNK_SIZE - 1)], c, __ATOMIC_RELEASE);
	__atomic_store_n(&ctx_count, id, __ATOMIC_RELEASE);
	index_put(index_cur, c);
out:
	agent_unlock(&create_lock);
	return c;
}

struct agent_ctx *agent_ctx_by_id(uint32_t id)
{
	struct agent_ctx **chunk;

	if (id == 0 || id > __atomic_load_n(&ctx_count, __ATOMIC_ACQUIRE))
		return NULL;
	chunk = __atomic_load_n(&by_id[id >> CHUNK_BITS], __ATOMIC_ACQUIRE);
	return chunk ? __atomic_load_n(&chunk[id & (CHUNK_SIZE - 1)], __ATOMIC_ACQUIRE) : NULL;
}

uint32_t agent_ctx_count(void)
{
	return __atomic_load_n(&ctx_count, __ATOMIC_ACQUIRE);
}

void agent_ctx_release(void)
{
	struct ctx_index *ix;

	agent_lock(&create_lock);
	/* The count first: a debugger that stops the process in the middle
	 * reads no context at all, or contexts that are still mapped. */
	__atomic_store_n(&ctx_count, 0, __ATOMIC_RELEASE);
	ix = index_cur;
	__atomic_store_n(&index_cur, NULL, __ATOMIC_RELEASE);
	for (uint32_t k = 0; k < NCHUNKS; k++) {
		struct agent_ctx **chunk = by_id[k];

		if (!chunk)
			continue;
		__atomic_store_n(&by_id[k], NULL, __ATOMIC_RELEASE);
		agent_unmap(chunk, CHUNK_SIZE * sizeof(by_id[0][0]), AGENT_MEM_CONTEXTS);
	}
	while (ix) {
		struct ctx_index *older = ix->older;

		agent_unmap(ix, index_size(ix->cap), AGENT_MEM_CONTEXTS);
		ix = older;
	}
	agent_pages_zeroed(by_id, sizeof(by_id));
	/* The contexts themselves live in the arena. */
	agent_arena_release(AGENT_MEM_CONTEXTS);
	agent_unlock(&create_lock);
}

void agent_ctx_foreach(uint32_t last, agent_ctx_fn fn, void *arg)
{
	for (uint32_t id = 1; id <= last; id++) {
		struct agent_ctx *c = agent_ctx_by_id(id);

		if (c)
			fn(c, arg);
	}
}

static void reset_totals(struct agent_ctx *c, void *arg)
{
	(void)arg;
	for (int i = 0; i < AGENT_CTX_SLOTS; i++) {
		__atomic_store_n(&c->slot[i].total_allocs, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&c->slot[i].total_bytes, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&c->slot[i].last_ns, 0, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&c->first_ns, 0, __ATOMIC_RELAXED);
}

void agent_ctx_reset_totals(void)
{
	agent_ctx_foreach(agent_ctx_count(), reset_totals, NULL);
}

static void reset_peak(struct agent_ctx *c, void *arg)
{
	(void)arg;
	for (int i = 0; i < AGENT_CTX_SLOTS; i++)
		__atomic_store_n(&c->slot[i].high, __atomic_load_n(&c->slot[i].live_bytes, __ATOMIC_RELAXED),
				 __ATOMIC_RELAXED);
	__atomic_store_n(&c->peak_live_bytes, 0, __ATOMIC_RELAXED);
	agent_ctx_new_high(c);
}

void agent_ctx_reset_peaks(void)
{
	agent_ctx_foreach(agent_ctx_count(), reset_peak, NULL);
}
