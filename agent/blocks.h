/*
 * The live-block table: one entry per allocation the agent has seen and not
 * yet seen freed. Sharded by pointer so threads rarely meet on a lock; each
 * shard is an open-addressing table of 24-byte entries that grows by half
 * when it is 80% full, which keeps the agent under 48 bytes per live block.
 *
 * The entry layout is part of the documented table format (docs/architecture.md)
 * so a debugger can read it from a core without calling into the agent.
 */
#ifndef AGENT_BLOCKS_H
#define AGENT_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#define AGENT_BLOCK_SIZE_BITS 40
#define AGENT_BLOCK_MAX_SIZE ((UINT64_C(1) << AGENT_BLOCK_SIZE_BITS) - 1)
#define AGENT_BLOCK_MAX_CTX ((UINT32_C(1) << (64 - AGENT_BLOCK_SIZE_BITS)) - 1)

struct agent_block {
	uint64_t ptr;		/* 0: empty slot */
	uint64_t seq;		/* allocation sequence number */
	uint64_t ctx_size;	/* context id << 40 | size (sizes clamp at 2^40-1) */
};

static inline uint32_t agent_block_ctx(const struct agent_block *b)
{
	return (uint32_t)(b->ctx_size >> AGENT_BLOCK_SIZE_BITS);
}

static inline uint64_t agent_block_size(const struct agent_block *b)
{
	return b->ctx_size & AGENT_BLOCK_MAX_SIZE;
}

/* Record a block. 0, or -1 when no memory could be mapped for the table. */
int agent_blocks_insert(uintptr_t ptr, uint64_t size, uint32_t ctx, uint64_t seq);

/* Forget PTR. 1 and *OUT filled when it was there, 0 when unknown. */
int agent_blocks_remove(uintptr_t ptr, struct agent_block *out);

/*
 * Visit every block, one shard at a time with that shard's lock held, so a
 * block cannot be freed while FN looks at it (free forgets before it frees).
 * FN returns 0 to go on, 1 to drop the block from the table, -1 to stop.
 * When FN drops blocks, a block it keeps may be offered twice (deletion
 * shifts entries back); a dropped block is never offered again.
 */
typedef int (*agent_block_fn)(struct agent_block *b, void *arg);
void agent_blocks_foreach(agent_block_fn fn, void *arg);

/* Run FN on PTR's entry under its shard lock. 1 if found, 0 if not. */
int agent_blocks_with(uintptr_t ptr, agent_block_fn fn, void *arg);

/*
 * Forget every block and unmap the tables (detach): the shards are empty
 * and hold no memory, and fill again from nothing. Only when no thread can
 * be inside the table (quiesce.h): a shard lock held meanwhile is waited for,
 * but nothing stops a thread from inserting again afterwards.
 */
void agent_blocks_release(void);

/* Blocks in the table. */
size_t agent_blocks_count(void);

#endif
