/*
 * The unwinder backends by name (--unwind): the one file that knows them
 * all, so that no backend has to know the others.
 */
#include <string.h>

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
