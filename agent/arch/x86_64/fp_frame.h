/*
 * Frame-record layout for the frame-pointer walk on x86_64: %rbp points at
 * the saved %rbp of the caller, the return address sits just above it.
 */
#ifndef AGENT_ARCH_FP_FRAME_H
#define AGENT_ARCH_FP_FRAME_H

#include <stdint.h>

#include "../fp_record.h"

/* Frame pointers are at least this aligned. */
#define AGENT_FP_ALIGN 8

/* libunwind gives return addresses as they are on x86_64. */
#define AGENT_LU_RETURN_ADDRESS(pc) (pc)

#endif
