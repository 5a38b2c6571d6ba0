/*
 * The unwinder backends by name (--unwind): the one file that knows them
 * all, so that no backend has to know the others.
 */
#include <string.h>

#include "agent.h"
#include "unwinder.h"

const struct agent_unwinder *agent_unwinder_find(const char *name)
{
	if (!strcmp(name, agent_unwind_fp.name))
		return &agent_unwind_fp;
	if (!strcmp(name, agent_unwind_libunwind.name))
		return &agent_unwind_libunwind;
	if (!strcmp(name, agent_unwind_tables.name))
		return &agent_unwind_tables;
	return NULL;
}

const struct agent_unwinder *agent_unwinder_start(const char *name)
{
	const struct agent_unwinder *u;

	if (!strcmp(name, AGENT_UNWIND_AUTO)) {
		if (agent_unwind_tables.init() == 0)
			return &agent_unwind_tables;
		return agent_unwind_libunwind.init() == 0 ? &agent_unwind_libunwind : NULL;
	}
	u = agent_unwinder_find(name);
	return u && u->init() == 0 ? u : NULL;
}
