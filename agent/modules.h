/*
 * A snapshot of the modules loaded in the process, to turn return addresses
 * into module + offset in reports. Taken from the control thread or the exit
 * path, never from a hook.
 */
#ifndef AGENT_MODULES_H
#define AGENT_MODULES_H

#include <stddef.h>
#include <stdint.h>

struct agent_module {
	uintptr_t bias;		/* load bias: address = bias + ELF vaddr */
	uintptr_t lo, hi;	/* span of its PT_LOAD segments */
	const char *path;
};

struct agent_modules {
	struct agent_module *mods;	/* sorted by lo */
	int n;
	size_t map_size;
};

/* Take a snapshot (mmap'ed). 0 or -1. */
int agent_modules_snapshot(struct agent_modules *m);
void agent_modules_release(struct agent_modules *m);
/* Index of the module holding PC, or -1. */
int agent_modules_find(const struct agent_modules *m, uintptr_t pc);

#endif
