/*
 * Sharded open-addressing hash table of live blocks. Linear probing with
 * backward-shift deletion (no tombstones, so lookups of unknown pointers stay
 * short), capacities that are not powers of two (index = hash * cap >> 32),
 * growth by 1.5x at 80% load: the table uses between 30 and 45 bytes per
 * live block.
 */
#include <string.h>

#include "arena.h"
#include "blocks.h"
#include "gdb.h"
#include "lock.h"

/*
 * Shards are picked by 64 KiB region of the address, not by the full hash:
 * allocators hand each thread memory from its own arena, so threads mostly
 * work in different shards and do not pass lock lines back and forth.
 */
#define SHARD_BITS 10
#define REGION_SHIFT 16
#define NSHARDS (1u << SHARD_BITS)
#define MIN_CAP 32

struct shard {
	agent_lock_t lock;
	uint32_t cap;
	uint32_t count;
	struct agent_block *slots;
} __attribute__((aligned(64)));

static struct shard shards[NSHARDS];

/* Where a debugger finds the shards (agent/gdb.h). */
struct agent_gdb_blocks agent_gdb_blocks = {
	.shards = AGENT_GDB_PTR(shards),
	.nshards = NSHARDS,
	.shard_stride = sizeof(struct shard),
	.shard_cap_off = offsetof(struct shard, cap),
	.shard_count_off = offsetof(struct shard, count),
	.shard_slots_off = offsetof(struct shard, slots),
	.entry_stride = sizeof(struct agent_block),
	.entry_ptr_off = offsetof(struct agent_block, ptr),
	.entry_seq_off = offsetof(struct agent_block, seq),
	.entry_ctx_size_off = offsetof(struct agent_block, ctx_size),
	.size_bits = AGENT_BLOCK_SIZE_BITS,
};

static inline uint64_t ptr_hash(uintptr_t ptr)
{
	return ((uint64_t)ptr >> 4) * UINT64_C(0x9E3779B97F4A7C15);
}

static inline struct shard *shard_of(uintptr_t ptr)
{
	uint64_t r = ((uint64_t)ptr >> REGION_SHIFT) * UINT64_C(0xD6E8FEB86659FD93);

	return &shards[r >> (64 - SHARD_BITS)];
}

static inline uint32_t home_slot(uint64_t h, uint32_t cap)
{
	return (uint32_t)(((h & 0xffffffffu) * (uint64_t)cap) >> 32);
}

static void place(struct agent_block *slots, uint32_t cap, const struct agent_block *b)
{
	uint32_t i = home_slot(ptr_hash((uintptr_t)b->ptr), cap);

	while (slots[i].ptr)
		i = i + 1 == cap ? 0 : i + 1;
	slots[i] = *b;
}

static int grow(struct shard *s)
{
	uint32_t cap = s->cap ? s->cap + s->cap / 2 : MIN_CAP;
	struct agent_block *slots;

	slots = agent_map((size_t)cap * sizeof(*slots), AGENT_MEM_BLOCKS);
	if (!slots)
		return -1;
	for (uint32_t i = 0; i < s->cap; i++)
		if (s->slots[i].ptr)
			place(slots, cap, &s->slots[i]);
	agent_unmap(s->slots, (size_t)s->cap * sizeof(*slots), AGENT_MEM_BLOCKS);
	s->slots = slots;
	s->cap = cap;
	return 0;
}

int agent_blocks_insert(uintptr_t ptr, uint64_t size, uint32_t ctx, uint64_t seq)
{
	uint64_t h = ptr_hash(ptr);
	struct shard *s = shard_of(ptr);
	struct agent_block b = {
		.ptr = ptr,
		.seq = seq,
		.ctx_size = (uint64_t)ctx << AGENT_BLOCK_SIZE_BITS |
			    (size > AGENT_BLOCK_MAX_SIZE ? AGENT_BLOCK_MAX_SIZE : size),
	};
	uint32_t i;

	agent_lock(&s->lock);
	if ((uint64_t)(s->count + 1) * 5 > (uint64_t)s->cap * 4 && grow(s) < 0) {
		agent_unlock(&s->lock);
		return -1;
	}
	i = home_slot(h, s->cap);
	while (s->slots[i].ptr && s->slots[i].ptr != ptr)
		i = i + 1 == s->cap ? 0 : i + 1;
	/* The allocator never hands out a live pointer twice; a stale entry
	 * (freed behind our back, e.g. before a clear) is simply replaced. */
	if (!s->slots[i].ptr)
		s->count++;
	s->slots[i] = b;
	agent_unlock(&s->lock);
	return 0;
}

/* Remove slot I of S, shifting later members of its probe run back. */
static void delete_slot(struct shard *s, uint32_t i)
{
	uint32_t j = i;

	for (;;) {
		uint32_t home;

		j = j + 1 == s->cap ? 0 : j + 1;
		if (!s->slots[j].ptr)
			break;
		home = home_slot(ptr_hash((uintptr_t)s->slots[j].ptr), s->cap);
		/* Move J into the hole at I unless its home lies cyclically in (I, J]. */
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			s->slots[i] = s->slots[j];
			i = j;
		}
	}
	s->slots[i].ptr = 0;
	s->count--;
}

static int find(struct shard *s, uintptr_t ptr, uint64_t h, uint32_t *idx)
{
	uint32_t i;

	if (!s->cap)
		return 0;
	i = home_slot(h, s->cap);
	while (s->slots[i].ptr) {
		if (s->slots[i].ptr == ptr) {
			*idx = i;
			return 1;
		}
		i = i + 1 == s->cap ? 0 : i + 1;
	}
	return 0;
}

/* FN on the block at PTR under its shard's lock; the slot emptied if FN says 1.
 * Always inlined, so that a constant FN (take) is a direct, inlined call. */
static inline __attribute__((always_inline)) int with_block(uintptr_t ptr, agent_block_fn fn, void *arg)
{
	uint64_t h = ptr_hash(ptr);
	struct shard *s = shard_of(ptr);
	uint32_t i;
	int found;

	agent_lock(&s->lock);
	found = find(s, ptr, h, &i);
	if (found && fn(&s->slots[i], arg) == 1)
		delete_slot(s, i);
	agent_unlock(&s->lock);
	return found;
}

int agent_blocks_with(uintptr_t ptr, agent_block_fn fn, void *arg)
{
	return with_block(ptr, fn, arg);
}

/* agent_blocks_remove's callback: the block copied out, its slot emptied. */
static int take(struct agent_block *b, void *arg)
{
	*(struct agent_block *)arg = *b;
	return 1;
}

/* The free path: with_block and take inlined, no indirect call. */
int agent_blocks_remove(uintptr_t ptr, struct agent_block *out)
{
	return with_block(ptr, take, out);
}

void agent_blocks_foreach(agent_block_fn fn, void *arg)
{
	for (unsigned k = 0; k < NSHARDS; k++) {
		struct shard *s = &shards[k];
		int stop = 0;

		agent_lock(&s->lock);
		for (uint32_t i = 0; i < s->cap;) {
			int r;

			if (!s->slots[i].ptr) {
				i++;
				continue;
			}
			r = fn(&s->slots[i], arg);
			if (r < 0) {
				stop = 1;
				break;
			}
			if (r == 1) {
				/* The shift may pull a later entry into I (visit it next)
				 * or wrap an early one past the end (already seen: fine
				 * for the callers, which drop or read, never count twice
				 * a block they dropped). */
				delete_slot(s, i);
				continue;
			}
			i++;
		}
		agent_unlock(&s->lock);
		if (stop)
			break;
	}
}

void agent_blocks_release(void)
{
	for (unsigned k = 0; k < NSHARDS; k++) {
		struct shard *s = &shards[k];
		struct agent_block *slots;
		uint32_t cap;

		agent_lock(&s->lock);
		slots = s->slots;
		cap = s->cap;
		/* cap first: a debugger that stops the process between two of
		 * these stores sees an empty shard or the old, still mapped table. */
		__atomic_store_n(&s->cap, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&s->slots, NULL, __ATOMIC_RELEASE);
		__atomic_store_n(&s->count, 0, __ATOMIC_RELEASE);
		agent_unlock(&s->lock);
		if (slots)
			agent_unmap(slots, (size_t)cap * sizeof(*slots), AGENT_MEM_BLOCKS);
	}
	/* Every shard is zeros again: their pages need not stay. */
	agent_pages_zeroed(shards, sizeof(shards));
}

size_t agent_blocks_count(void)
{
	size_t n = 0;

	for (unsigned k = 0; k < NSHARDS; k++)
		n += __atomic_load_n(&shards[k].count, __ATOMIC_RELAXED);
	return n;
}
