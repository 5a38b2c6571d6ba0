/*
 * What the compact unwind tables (agent/cfi.h) need to know of MIPS. Not
 * yet built for it: the rows' rules were written for x86_64 and the ARMs,
 * and MIPS's delay slots and $gp restores are not proven in them. The
 * default unwinder on MIPS is libunwind (with the program built with
 * -funwind-tables, which Debian's MIPS gcc leaves off). The DWARF numbers
 * and the first frame's registers are here for when it is.
 */
#ifndef AGENT_ARCH_CFI_ARCH_H
#define AGENT_ARCH_CFI_ARCH_H

#include <stdint.h>

#define AGENT_CFI_SUPPORTED 0
#define AGENT_CFI_WHY_NOT "the compact tables are not built for MIPS yet (libunwind walks the stacks)"
#define AGENT_CFI_EXIDX 0

/* DWARF register numbers: the general registers' own ($sp 29, $fp 30, $ra 31). */
#define AGENT_CFI_REG_SP 29
#define AGENT_CFI_REG_FP 30
#define AGENT_CFI_REG_RA 31
/* Until a prologue stores it, the return address is in $ra. */
#define AGENT_CFI_RA_IN_REG 1

/*
 * The calling function's own pc, stack pointer, frame pointer and $ra,
 * taken together: bal gives the address after its delay slot (the pc
 * reported), and $ra is put back as it was.
 */
#define AGENT_CFI_HERE(pc, sp, fp, lr)                                                    \
	__asm__ volatile(".set push\n\t.set noreorder\n\tmove %3, $31\n\tbal 1f\n\tnop\n"  \
			 "1:\tmove %0, $31\n\tmove $31, %3\n\t.set pop\n\t"                \
			 "move %1, $sp\n\tmove %2, $fp"                                    \
			 : "=&r"(pc), "=&r"(sp), "=&r"(fp), "=&r"(lr))

#define AGENT_CFI_FRAME_START 0
static inline void agent_cfi_frame_start(uintptr_t frame, uintptr_t *pc, uintptr_t *sp, uintptr_t *fp)
{
	(void)frame;
	*pc = *sp = *fp = 0;
}

static inline uintptr_t agent_cfi_strip_ra(uintptr_t ra)
{
	return ra;
}

#endif
