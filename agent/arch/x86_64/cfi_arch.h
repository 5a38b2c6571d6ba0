/*
 * What the compact unwind tables (agent/cfi.h) need to know of x86_64:
 * the DWARF numbers of the registers they follow, where the return address
 * lives, and how the walk reads its first frame's registers.
 */
#ifndef AGENT_ARCH_CFI_ARCH_H
#define AGENT_ARCH_CFI_ARCH_H

#include <stdint.h>

#define AGENT_CFI_SUPPORTED 1
#define AGENT_CFI_WHY_NOT ((const char *)0)
/* Its tables are .eh_frame (not 32-bit ARM's .ARM.exidx). */
#define AGENT_CFI_EXIDX 0

/* DWARF register numbers (System V x86-64 psABI, figure 3.36). */
#define AGENT_CFI_REG_SP 7
#define AGENT_CFI_REG_FP 6
#define AGENT_CFI_REG_RA 16
/* The return address is never in a register at a call site: the call
 * pushed it, so the walk never reads a link register. */
#define AGENT_CFI_RA_IN_REG 0

/*
 * The calling function's own pc, stack pointer, frame pointer and link
 * register, taken together at one instruction: the rule of that pc is the
 * rule of exactly that stack pointer. The pc is the mov's own address.
 */
#define AGENT_CFI_HERE(pc, sp, fp, lr)                                                    \
	do {                                                                              \
		__asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2"     \
				 : "=&r"(pc), "=&r"(sp), "=r"(fp));                       \
		(lr) = 0;                                                                 \
	} while (0)

/*
 * The walk may start at the hook's caller: the agent is built with frame
 * pointers, so the frame of the hook the application called (FRAME) holds
 * the caller's %rbp at [FRAME] and the return address at [FRAME + 8], and
 * the hook's CFA, the caller's stack pointer, is FRAME + 16. Three lookups
 * fewer a stack (the agent's own frames) than walking out of them.
 */
#define AGENT_CFI_FRAME_START 1
static inline void agent_cfi_frame_start(uintptr_t frame, uintptr_t *pc, uintptr_t *sp, uintptr_t *fp)
{
	*fp = ((const uintptr_t *)frame)[0];
	*pc = ((const uintptr_t *)frame)[1];
	*sp = frame + 2 * sizeof(uintptr_t);
}

/* A return address read from the stack, as the walk reports it. */
static inline uintptr_t agent_cfi_strip_ra(uintptr_t ra)
{
	return ra;
}

#endif
