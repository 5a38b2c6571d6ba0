/*
 * Backend selection and the agent's own code range, which the libunwind
 * backend needs to drop the agent's frames from the top of each stack.
 */
#include <string.h>

#include "unwinder.h"

static uintptr_t self_lo, self_hi;

__thread int agent_in_phdr;

const struct agent_unwinder *agent_unwinder_find(const char *name)
{
	if (!strcmp(name, agent_unwind_fp.name))
		return &agent_unwind_fp;
	if (!strcmp(name, agent_unwind_libunwind.name))
		return &agent_unwind_libunwind;
	return NULL;
}

void agent_set_self_range(uintptr_t lo, uintptr_t hi)
{
	self_lo = lo;
	self_hi = hi;
}

int agent_in_self(uintptr_t pc)
{
	return pc >= self_lo && pc < self_hi;
}
