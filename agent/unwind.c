/*
 * What the backends share: the agent's own code range, which the libunwind
 * backend needs to drop the agent's frames from the top of each stack, and
 * the mark of a thread inside the hooked dl_iterate_phdr. Choosing a
 * backend is unwinders.c's (it names them all; they call only this).
 */
#include "unwinder.h"

uintptr_t agent_self_lo, agent_self_hi;

__thread int agent_in_phdr;
__thread int agent_unwind_blind;

void agent_set_self_range(uintptr_t lo, uintptr_t hi)
{
	agent_self_lo = lo;
	agent_self_hi = hi;
}
