/*
 * What is done to the tables as a whole: clear them, or give their memory
 * back once no thread is inside (quiesce.h).
 */
#include "blocks.h"
#include "contexts.h"
#include "quiesce.h"
#include "state.h"
#include "tables.h"

int agent_tables_release(const char **why)
{
	const char *reason = NULL;

	if (!__atomic_load_n(&agent_state.tables_open, __ATOMIC_ACQUIRE))
		return 0;
	__atomic_store_n(&agent_state.tables_open, 0, __ATOMIC_SEQ_CST);
	if (agent_quiesce(AGENT_QUIESCE_MS, &reason) < 0) {
		/* Better kept than pulled from under a thread. */
		__atomic_store_n(&agent_state.tables_open, 1, __ATOMIC_SEQ_CST);
		if (why)
			*why = reason;
		return -1;
	}
	agent_blocks_release();
	agent_ctx_release();
	return 0;
}

static int clear_one(struct agent_block *b, void *arg)
{
	struct agent_ctx *c = agent_ctx_by_id(agent_block_ctx(b));

	(void)arg;
	if (c)
		agent_ctx_free(c, agent_block_size(b), agent_ctx_slot_of_thread());
	return 1;
}

/* Totals first, then the blocks: a block made while this runs is then
 * either forgotten or counted in both, never live without its allocation
 * (threads allocate all the while). Peaks last, from what is left. */
void agent_tables_clear(void)
{
	agent_ctx_reset_totals();
	agent_blocks_foreach(clear_one, NULL);
	agent_ctx_reset_peaks();
}
