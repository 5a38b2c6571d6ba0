/*
 * What the compact unwind tables (agent/cfi.h) need to know of aarch64:
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

/* DWARF register numbers (DWARF for the Arm 64-bit Architecture, 4.1). */
#define AGENT_CFI_REG_SP 31
#define AGENT_CFI_REG_FP 29
#define AGENT_CFI_REG_RA 30
/* Until a prologue stores it, the return address is in x30 (a leaf never
 * stores it): the rule "x30 unchanged" means "in the link register". */
#define AGENT_CFI_RA_IN_REG 1

/*
 * The calling function's own pc, stack pointer, frame pointer and link
 * register, taken together at one instruction: the rule of that pc is the
 * rule of exactly that stack pointer. The pc is the adr's own address.
 */
#define AGENT_CFI_HERE(pc, sp, fp, lr)                                                    \
	__asm__ volatile("adr %0, .\n\tmov %1, sp\n\tmov %2, x29\n\tmov %3, x30"          \
			 : "=&r"(pc), "=&r"(sp), "=&r"(fp), "=r"(lr))

/*
 * No start at the hook's caller: the hook's frame record does not say
 * where its frame begins (GCC puts the record at the bottom of the frame),
 * so the caller's stack pointer comes from the hook's own rule.
 */
#define AGENT_CFI_FRAME_START 0
static inline void agent_cfi_frame_start(uintptr_t frame, uintptr_t *pc, uintptr_t *sp, uintptr_t *fp)
{
	(void)frame;
	*pc = *sp = *fp = 0;
}

/*
 * A return address read from the stack, without a pointer-authentication
 * code (code built with -mbranch-protection signs it before storing it).
 * XPACLRI is in the hint space: a no-op on cores without the extension.
 */
static inline uintptr_t agent_cfi_strip_ra(uintptr_t ra)
{
	register uintptr_t x30 __asm__("x30") = ra;

	__asm__("hint #7" : "+r"(x30));
	return x30;
}

#endif
