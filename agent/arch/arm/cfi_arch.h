/*
 * What the compact unwind tables (agent/cfi.h) need to know of 32-bit ARM:
 * its tables are the EHABI's .ARM.exidx (arch/arm/cfi_exidx.c compiles
 * them), the registers they follow, and how the walk reads its first
 * frame's registers.
 */
#ifndef AGENT_ARCH_CFI_ARCH_H
#define AGENT_ARCH_CFI_ARCH_H

#include <stdint.h>

#define AGENT_CFI_SUPPORTED 1
#define AGENT_CFI_WHY_NOT ((const char *)0)
#define AGENT_CFI_EXIDX 1

/*
 * Register numbers (as the EHABI's opcodes name them: r0-r15). The frame
 * pointer is the one of the agent's own instruction set, which is the
 * distribution's: r7 in Thumb code (armhf), r11 in ARM code (armel). A
 * function of the other set that computes its stack pointer from its frame
 * pointer is FALLBACK (libgcc walks it).
 */
#define AGENT_CFI_REG_SP 13
#ifdef __thumb__
#define AGENT_CFI_REG_FP 7
#define AGENT_CFI_FP_NAME "r7"
#else
#define AGENT_CFI_REG_FP 11
#define AGENT_CFI_FP_NAME "r11"
#endif
#define AGENT_CFI_REG_RA 14
/* A function that does not save lr leaves the return address in it. */
#define AGENT_CFI_RA_IN_REG 1

/*
 * The calling function's own pc, stack pointer, frame pointer and link
 * register, taken together: the rule of that pc is the rule of exactly that
 * stack pointer. The pc is the adr's own address (without the Thumb bit).
 */
#define AGENT_CFI_HERE(pc, sp, fp, lr)                                                           \
	__asm__ volatile("1: adr %0, 1b\n\tmov %1, sp\n\tmov %2, " AGENT_CFI_FP_NAME "\n\tmov %3, lr" \
			 : "=&r"(pc), "=&r"(sp), "=&r"(fp), "=r"(lr))

/* No start at the hook's caller: ARM and Thumb code keep no common frame record. */
#define AGENT_CFI_FRAME_START 0
static inline void agent_cfi_frame_start(uintptr_t frame, uintptr_t *pc, uintptr_t *sp, uintptr_t *fp)
{
	(void)frame;
	*pc = *sp = *fp = 0;
}

/* A return address as the walk reports it: without the Thumb bit, as
 * libgcc's _Unwind_GetIP gives it. */
static inline uintptr_t agent_cfi_strip_ra(uintptr_t ra)
{
	return ra & ~(uintptr_t)1;
}

#endif
