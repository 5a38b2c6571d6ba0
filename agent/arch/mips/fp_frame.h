/*
 * MIPS code keeps no frame record: with frame pointers gcc saves $fp and
 * $ra at offsets that depend on the frame's size. The frame-pointer walk
 * is not offered there.
 */
#ifndef AGENT_ARCH_FP_FRAME_H
#define AGENT_ARCH_FP_FRAME_H

#include <stdint.h>

#define AGENT_FP_SUPPORTED 0
/* Why, for the messages (memtrace's --unwind fp, the agent's refusal). */
#define AGENT_FP_WHY_NOT "MIPS code keeps no frame record (gcc saves $fp and $ra where the frame's size puts them)"
#define AGENT_FP_NEXT 0
#define AGENT_FP_RET 1
#define AGENT_FP_ALIGN 8

/* libunwind gives the frames above the first as their return address. */
#define AGENT_LU_RETURN_ADDRESS(pc) (pc)

#endif
