/*
 * 32-bit ARM has no frame-record layout common to ARM and Thumb code (gcc
 * uses r11 or r7 with different save orders), so the frame-pointer walk is
 * not offered there: libunwind (with -funwind-tables) is the unwinder.
 */
#ifndef AGENT_ARCH_FP_FRAME_H
#define AGENT_ARCH_FP_FRAME_H

#include <stdint.h>

#define AGENT_FP_SUPPORTED 0
/* Why, for the messages (memtrace's --unwind fp, the agent's refusal). */
#define AGENT_FP_WHY_NOT "32-bit ARM code keeps no frame record common to ARM and Thumb code"
#define AGENT_FP_NEXT 0
#define AGENT_FP_RET 1
#define AGENT_FP_ALIGN 4

/* A return address into Thumb code has bit 0 set; the instruction is at the
 * even address (what _Unwind_GetIP, the table-driven walk here, gives). */
#define AGENT_LU_RETURN_ADDRESS(pc) ((pc) & ~(uintptr_t)1)

#endif
