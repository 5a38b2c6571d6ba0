/*
 * 32-bit ARM describes frames in its EHABI tables (.ARM.exidx), not in
 * .eh_frame: the compact tables (agent/cfi.h) do not compile those yet, so
 * the "tables" unwinder is not offered here; libgcc's EHABI walk ("libunwind")
 * is the unwinder.
 */
#ifndef AGENT_ARCH_CFI_ARCH_H
#define AGENT_ARCH_CFI_ARCH_H

#include <stdint.h>

#define AGENT_CFI_SUPPORTED 0
/* Why, for the messages (memtrace's --unwind tables, the agent's refusal). */
#define AGENT_CFI_WHY_NOT "32-bit ARM code is described by .ARM.exidx, which the tables do not read yet"
#define AGENT_CFI_REG_SP 13
#define AGENT_CFI_REG_FP 11
#define AGENT_CFI_REG_RA 14
#define AGENT_CFI_RA_IN_REG 1

#define AGENT_CFI_HERE(pc, sp, fp, lr) ((pc) = (sp) = (fp) = (lr) = 0)

static inline uintptr_t agent_cfi_strip_ra(uintptr_t ra)
{
	return ra;
}

#endif
