/*
 * Frame-record layout for the frame-pointer walk on x86_64: %rbp points at
 * the saved %rbp of the caller, the return address sits just above it.
 */
#ifndef AGENT_ARCH_FP_FRAME_H
#define AGENT_ARCH_FP_FRAME_H

#include <stdint.h>

#define AGENT_FP_SUPPORTED 1
#define AGENT_FP_WHY_NOT ((const char *)0)
/* Words from the frame pointer to the caller's frame pointer and to the return address. */
#define AGENT_FP_NEXT 0
#define AGENT_FP_RET 1
/* Frame pointers are at least this aligned. */
#define AGENT_FP_ALIGN 8

/* libunwind gives return addresses as they are on x86_64. */
#define AGENT_LU_RETURN_ADDRESS(pc) (pc)

#endif
