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

/*
 * The calling thread's stack mapping, [lo, hi) (on an alternate signal
 * stack, that stack's bounds, from sigaltstack()), and whether it is the one
 * the kernel grows downwards as it is used (the main thread's "[stack]",
 * whose lo is only how far it has grown so far): valid after agent_stack_of.
 */
extern __thread uintptr_t agent_stack_lo, agent_stack_hi;
extern __thread int agent_stack_grows;
/* The bounds are an alternate signal stack's: looked up again on every use. */
extern __thread int agent_stack_alt;

/*
 * The mapping holding ADDR, by /proc/self/maps (open and read only: no
 * allocation, no msync or mincore, which a seccomp filter may kill for):
 * 0 and [*LO, *HI), or -1 (none, or maps unreadable).
 */
int agent_maps_find(uintptr_t addr, uintptr_t *lo, uintptr_t *hi);
/* The same, and *GROWS (unless NULL) 1 when that mapping is "[stack]". */
int agent_maps_find_grows(uintptr_t addr, uintptr_t *lo, uintptr_t *hi, int *grows);

/* Look the mapping holding SP up. 0, or -1 (none found); errno kept. */
int agent_stack_find(uintptr_t sp);

/*
 * Make agent_stack_lo/hi the mapping holding SP. 0 or -1; errno kept. An
 * alternate signal stack is never taken from the cache: one freed and
 * mapped again where another was (a handler's, per thread) would leave its
 * old bounds there, and walks read inside them.
 */
static inline int agent_stack_of(uintptr_t sp)
{
	if (sp >= agent_stack_lo && sp < agent_stack_hi && !agent_stack_alt)
		return 0;
	return agent_stack_find(sp);
}

#endif
