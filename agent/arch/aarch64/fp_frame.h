/*
 * Frame-record layout for the frame-pointer walk on aarch64: x29 points at
 * a {previous x29, x30} pair (AAPCS64 frame record).
 */
#ifndef AGENT_ARCH_FP_FRAME_H
#define AGENT_ARCH_FP_FRAME_H

#include <stdint.h>

#include "../fp_record.h"

/* Frame pointers are at least this aligned (the stack's alignment). */
#define AGENT_FP_ALIGN 16

/*
 * libunwind on aarch64 gives the frames above the first as the return
 * address minus one (the call instruction's last byte, for its own lookups);
 * instructions are 4 bytes, so rounding up gives the return address back,
 * the value the frame-pointer walk and the other architectures report.
 */
#define AGENT_LU_RETURN_ADDRESS(pc) (((pc) + 3) & ~(uintptr_t)3)

#endif
