/*
 * The mapping that holds the calling thread's stack, for walks that read
 * the stack (the frame-pointer and table walks): every read is checked
 * against it first, so a broken chain or a wrong rule ends a stack instead
 * of faulting. Found from /proc/self/maps with raw reads (no stdio, no
 * allocation), once per thread and again whenever the stack pointer leaves
 * it (sigaltstack, coroutines).
 */
#ifndef AGENT_STACKMAP_H
#define AGENT_STACKMAP_H

#include <stdint.h>

/* The calling thread's stack mapping, [lo, hi): valid after agent_stack_of. */
extern __thread uintptr_t agent_stack_lo, agent_stack_hi;

/*
 * The mapping holding ADDR, by /proc/self/maps (open and read only: no
 * allocation, no msync or mincore, which a seccomp filter may kill for):
 * 0 and [*LO, *HI), or -1 (none, or maps unreadable).
 */
int agent_maps_find(uintptr_t addr, uintptr_t *lo, uintptr_t *hi);

/* Look the mapping holding SP up. 0, or -1 (none found); errno kept. */
int agent_stack_find(uintptr_t sp);

/* Make agent_stack_lo/hi the mapping holding SP. 0 or -1; errno kept. */
static inline int agent_stack_of(uintptr_t sp)
{
	if (sp >= agent_stack_lo && sp < agent_stack_hi)
		return 0;
	return agent_stack_find(sp);
}

#endif
